// SPDX-License-Identifier: GPL-2.0-only
/*
 * farm_test - mosctl cc (CC="mosctl cc gcc") on the default SPEC, here
 * "local" (the embedded worker): objects, dependency files, exit status
 * and diagnostics as the bare compiler gives them, and a make -j2 build of
 * a generated project equal to a local one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_TIMEOUT 120
#include "harness.h"

/*
 * A job's /tmp is the worker's own, so the project lives under /var/tmp,
 * with its own worker cache and origin caches.
 */
static const char *o_dir(void)
{
	return t_origin_dir("mos-farm");
}

/* Run SCRIPT with sh in o_dir(), $M set to mosctl; fails on a nonzero status. */
static void sh(struct t_result *r, const char *script)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "set -e; cd '%s'; unset MOS_ON; M='%s'; %s", o_dir(),
		 t_mosctl_path(), script);
	t_run(r, NULL, (char *const[]){ "sh", "-c", buf, NULL });
	if (r->status)
		t_dump("sh", r);
}

TEST(cc_object_and_depfile_equal_local)
{
	struct t_result r;

	sh(&r, "mkdir -p inc obj abs; echo '#define V 7' > inc/v.h;"
	       "printf '#include \"v.h\"\\nint f(void){return V;}\\n' > f.c;"
	       "$M cc gcc -Iinc -MD -MF obj/f.d -c f.c -o obj/f.o;"
	       "gcc -Iinc -MD -MF l.d -c f.c -o l.o; cmp obj/f.o l.o;"
	       "grep -q 'inc/v.h' obj/f.d;"
	       "$M cc gcc -Iinc -c f.c -o \"$PWD/abs/f.o\"; cmp abs/f.o l.o;"
	       "$M cc gcc -Iinc -c f.c; cmp f.o l.o");
	T_EXPECT_EQ(r.status, 0);
}

TEST(cc_error_has_compilers_status_and_stderr_bytes)
{
	struct t_result r;

	sh(&r, "printf 'int g(void){ return nope; }\\n' > bad.c;"
	       "s=0; $M cc gcc -c bad.c 2>r.err || s=$?;"
	       "t=0; gcc -c bad.c 2>l.err || t=$?;"
	       "test $s = $t; test $s != 0; test -s l.err; cmp r.err l.err; test ! -e bad.o");
	T_EXPECT_EQ(r.status, 0);
}

/* MOS_STATS=1: each remote compile's --stats line; never without it (the
 * compiler's stderr stays the compiler's alone). */
TEST(cc_stats_only_when_asked)
{
	struct t_result r;

	sh(&r, "printf 'int g(void){return 1;}\\n' > g.c;"
	       "MOS_STATS=1 $M cc gcc -c g.c -o g.o 2> with.txt; $M cc gcc -c g.c -o g.o 2> "
	       "without.txt;"
	       "grep -q '^mosctl: stats: wall ' with.txt; test ! -s without.txt");
	T_EXPECT_EQ(r.status, 0);
}

TEST(cc_link_and_version_run_locally)
{
	struct t_result r;

	sh(&r, "printf 'int main(void){return 3;}\\n' > m.c;"
	       "$M cc gcc -c m.c -o m.o; $M cc gcc m.o -o m; s=0; ./m || s=$?; test $s = 3;"
	       "$M cc gcc --version | head -1 > v1; gcc --version | head -1 > v2; cmp v1 v2");
	T_EXPECT_EQ(r.status, 0);
}

TEST(make_j2_project_equals_local_build)
{
	struct t_result r;

	sh(&r,
	   "mkdir -p p; cd p; : > decl.h; : > main.c;"
	   "for i in 0 1 2 3 4 5 6 7 8; do"
	   "  printf 'int f%s(void){return %s;}\\n' $i $i > f$i.c;"
	   "  echo \"int f$i(void);\" >> decl.h; done;"
	   "printf '#include \"decl.h\"\\nint main(void){return f1()+f2()+f5()-8;}\\n' > main.c;"
	   "printf 'OBJS=$(patsubst %%.c,%%.o,$(wildcard *.c))\\n"
	   "prog: $(OBJS)\\n\\t$(CC) $(OBJS) -o $@\\n"
	   "%%.o: %%.c decl.h\\n\\t$(CC) -O2 -c $< -o $@\\n' > Makefile;"
	   "make -s -j2 CC=\"$M cc gcc\"; ./prog; mkdir ../o; mv *.o ../o; rm prog;"
	   "make -s -j2 CC=gcc; ./prog; for f in *.o; do cmp $f ../o/$f; done;"
	   "test $(ls *.o | wc -l) = 10");
	T_EXPECT_EQ(r.status, 0);
}

/*
 * mosctl make: a generated header, a compile, a link and a test program, each
 * recipe a job on the embedded worker (its pid namespace is not ours), one
 * marked local (export MOS_LOCAL := 1) in ours; outputs on the origin.
 */
/* A script in a remote recipe that runs make (as the kernel's
 * link-vmlinux.sh does): its make runs its lines in that job, not as jobs
 * of their own from inside the sandbox. */
TEST(mosctl_make_nested_make_in_a_recipe_script)
{
	struct t_result r;

	sh(&r, "mkdir -p nest; cd nest;"
	       "printf 'all:\n\t./build.sh\n' > Makefile;"
	       "printf '#!/bin/sh\nexec ${MAKE:-make} -f inner.mk\n' > build.sh; chmod +x build.sh;"
	       "printf 'inner:\n\techo inner ran > inner.txt\n' > inner.mk;"
	       "$M make -- -j2 -s; cat inner.txt");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "inner ran\n");
}

TEST(mosctl_make_runs_recipes_on_the_pool)
{
	struct t_result r;
	char own[64] = "";

	T_ASSERT(readlink("/proc/self/ns/pid", own, sizeof(own) - 1) > 0);
	sh(&r, "mkdir -p mk; cd mk;"
	       "printf 'all: prog where-remote where-local\\n\\t./prog > out.txt\\n"
	       "gen.h:\\n\\tprintf \"#define N 42\\\\n\" > gen.h\\n"
	       "main.o: main.c gen.h\\n\\t$(CC) -c main.c -o main.o\\n"
	       "prog: main.o\\n\\t$(CC) main.o -o prog\\n"
	       "where-remote:\\n\\treadlink /proc/self/ns/pid > where-remote\\n"
	       "where-local: export MOS_LOCAL := 1\\n"
	       "where-local:\\n\\treadlink /proc/self/ns/pid > where-local\\n' > Makefile;"
	       "printf '#include <stdio.h>\\n#include \"gen.h\"\\n"
	       "int main(void){printf(\"%%d\\\\n\",N);return 0;}\\n' > main.c;"
	       "$M make -- -j2 -s; cat out.txt where-remote where-local");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "42\n");
	{
		char *remote = strstr(r.out, "42\n") + 3, *local = strchr(remote, '\n');

		T_ASSERT(local != NULL);
		*local++ = '\0';
		t_note("recipe on the pool in %s, local-marked one in %s, this test in %s", remote,
		       local, own);
		T_EXPECT_STR(remote, "pid:[");
		T_ASSERT(strcmp(remote, own) != 0); /* the job's own pid namespace */
		T_EXPECT_STR(local, own);	    /* the marked recipe ran here */
	}
}

/*
 * $(shell ...) while make reads its makefiles is make's own work: it runs
 * here (our pid namespace), in the top make and in a sub-make, while the
 * recipes go to the pool; MOS_MAKE_TRACE lists each recipe line and where
 * it ran.
 */
TEST(mosctl_make_parse_time_shell_runs_here)
{
	struct t_result r;
	char own[64] = "", want[160];

	T_ASSERT(readlink("/proc/self/ns/pid", own, sizeof(own) - 1) > 0);
	sh(&r, "rm -rf mkp; mkdir -p mkp/sub; cd mkp;"
	       "printf 'X := $(shell readlink /proc/self/ns/pid > parse.txt)\\n"
	       ".PHONY: all sub\\nall: sub\\n\\treadlink /proc/self/ns/pid > recipe.txt\\n"
	       "sub:\\n\\t$(MAKE) -C sub\\n' > Makefile;"
	       "printf 'Y := $(shell readlink /proc/self/ns/pid > parse.txt)\\n"
	       "all:\\n\\treadlink /proc/self/ns/pid > recipe.txt\\n' > sub/Makefile;"
	       "MOS_MAKE_TRACE=$PWD/trace $M make -- -j2 -s --no-print-directory;"
	       "cat parse.txt sub/parse.txt; echo; cat recipe.txt sub/recipe.txt; echo;"
	       "sed 's/^remote [0-9]* /remote /' trace | sort");
	T_EXPECT_EQ(r.status, 0);
	snprintf(want, sizeof(want), "%s\n%s\n\n", own, own);
	T_EXPECT_STR(r.out, want); /* both $(shell) calls ran here */
	{
		const char *recipes = strstr(r.out, "\n\n");

		T_ASSERT(recipes != NULL);
		T_EXPECT_STR(recipes + 2, "pid:[");
		T_ASSERT(strncmp(recipes + 2, own, strlen(own)) != 0); /* on the pool */
	}
	T_EXPECT_STR(r.out, "\n\nlocal - make -C sub\n"
			    "remote readlink /proc/self/ns/pid > recipe.txt\n"
			    "remote readlink /proc/self/ns/pid > recipe.txt\n");
}

/*
 * A line that only does bookkeeping (set, trap, cat, printf, rm, mv) runs
 * here; one with a command not on the list (sed) goes to the pool, unless
 * --local-cmd names it; --all-remote sends them all.  Where a line ran is
 * what /proc/1/comm reads there: this machine's init, or the job's own pid
 * namespace's first process.
 */
static void make_where(struct t_result *r, const char *opts)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "rm -rf mkb; mkdir -p mkb; cd mkb;"
		 "printf 'all:\\n\\tset -e; trap \"rm -f a\" HUP; cat /proc/1/comm > a; "
		 "mv a book.txt\\n\\tcat /proc/1/comm | sed s/^/+/ > work.txt\\n' > Makefile;"
		 "$M make %s -- -s; cat book.txt work.txt",
		 opts);
	sh(r, buf);
}

TEST(mosctl_make_bookkeeping_lines_run_here)
{
	struct t_result r;
	char init[64] = "", here[160];
	int fd = open("/proc/1/comm", O_RDONLY | O_CLOEXEC);

	T_ASSERT(fd >= 0);
	T_ASSERT(read(fd, init, sizeof(init) - 1) > 0);
	close(fd);
	make_where(&r, "");
	T_EXPECT_EQ(r.status, 0);
	snprintf(here, sizeof(here), "%s+", init);
	T_EXPECT_STR(r.out, here); /* book.txt here, work.txt ... */
	T_ASSERT(strstr(r.out, here) == r.out);
	snprintf(here, sizeof(here), "+%s", init);
	T_ASSERT(strstr(r.out, here) == NULL); /* ... on the pool */

	make_where(&r, "--local-cmd sed");
	T_EXPECT_EQ(r.status, 0);
	snprintf(here, sizeof(here), "%s+%s", init, init);
	T_EXPECT_STR(r.out, here); /* both here */

	make_where(&r, "--all-remote");
	T_EXPECT_EQ(r.status, 0);
	T_ASSERT(strncmp(r.out, init, strlen(init)) != 0); /* both on the pool */
	snprintf(here, sizeof(here), "+%s", init);
	T_ASSERT(strstr(r.out, here) == NULL);

	/* a bad --local-cmd: refused, make never started */
	sh(&r, "cd mkb; rm -f book.txt; s=0; $M make --local-cmd a:b -- -s 2>err || s=$?;"
	       "test $s != 0; grep -q 'local-cmd takes one command' err; test ! -e book.txt");
	T_EXPECT_EQ(r.status, 0);
}

/* A failing recipe stops make with make's own message and status. */
TEST(mosctl_make_failing_recipe_is_makes_error)
{
	struct t_result r;

	sh(&r, "mkdir -p mkf; cd mkf;"
	       "printf 'all:\\n\\t@echo before; exit 3\\n\\t@echo never > never\\n' > Makefile;"
	       "s=0; $M make 2>err || s=$?; test $s = 2; grep -q 'Error 3' err; test ! -e never");
	T_EXPECT_EQ(r.status, 0);
}

/*
 * make's jobserver: mosctl cc with several sources runs one job per source,
 * the first on make's token and the others on tokens from the jobserver:
 * with K tokens at most K+1 compiles overlap (each logs its start and end
 * on the origin), and every token is back afterwards.  FORM: "pipe" or
 * "fifo" (make 4.4's, which Debian 12's make 4.3 does not make: this test
 * plays the jobserver itself).
 */
static void jobserver_run(const char *form, int k)
{
	struct t_result r;
	char script[4096], mf[PATH_MAX + 64], buf[16];
	int p[2] = { -1, -1 }, fd;
	ssize_t n;

	o_dir();
	if (!strcmp(form, "pipe")) {
		T_ASSERT(pipe(p) == 0);
		fd = p[0];
		T_ASSERT(write(p[1], "++++++++", (size_t)k) == k);
		snprintf(mf, sizeof(mf), " -j%d --jobserver-auth=%d,%d", k + 1, p[0], p[1]);
	} else {
		T_ASSERT(mkfifo(t_path("jobs"), 0600) == 0);
		fd = open(t_path("jobs"), O_RDWR | O_NONBLOCK);
		T_ASSERT(fd >= 0);
		T_ASSERT(write(fd, "++++++++", (size_t)k) == k);
		snprintf(mf, sizeof(mf), " -j%d --jobserver-auth=fifo:%s", k + 1, t_path("jobs"));
	}
	setenv("MAKEFLAGS", mf, 1);
	snprintf(script, sizeof(script),
		 "mkdir -p js-%s; cd js-%s;"
		 "for x in a b c d e f; do echo \"int f_$x(void){return 1;}\" > $x.c; done;"
		 "cat > slowcc <<'EOF'\n#!/bin/sh\nfor a; do last=$a; done\n"
		 "echo \"$(date +%%s%%N) 1\" > log.$last\nsleep 0.4\ngcc \"$@\" || exit $?\n"
		 "echo \"$(date +%%s%%N) -1\" >> log.$last\nEOF\nchmod +x slowcc;"
		 "$M cc ./slowcc -c a.c b.c c.c d.c e.c f.c;"
		 "for x in a b c d e f; do test -s $x.o; done;"
		 /* the most compiles running at once, from their logs */
		 "cat log.* | sort -n | awk '{ n += $2; if (n > m) m = n } END { print \"max\", m "
		 "}'",
		 form, form);
	sh(&r, script);
	unsetenv("MAKEFLAGS");
	T_EXPECT_EQ(r.status, 0);
	t_note("%s jobserver with %d tokens: %s", form, k, r.out);
	{
		const char *m = strstr(r.out, "max ");
		int max = m ? atoi(m + 4) : -1;

		/* the tokens were used (6 compiles of 0.4 s each, K >= 1) */
		T_EXPECT_NO_STR(r.err, "jobserver");
		if (max < 2)
			t_fail("the compiles ran one at a time with %d tokens free", k);
		if (max > k + 1)
			t_fail("%d compiles ran at once with %d tokens (+1 of make's)", max, k);
	}
	/* every token back, and no more */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	n = read(fd, buf, sizeof(buf));
	T_EXPECT_EQ((int)n, k);
	close(fd);
	if (p[1] >= 0)
		close(p[1]);
}

TEST(cc_sources_split_on_a_pipe_jobserver)
{
	jobserver_run("pipe", 1);
}

TEST(cc_sources_split_on_a_fifo_jobserver)
{
	jobserver_run("fifo", 2);
}
