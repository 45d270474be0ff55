// SPDX-License-Identifier: GPL-2.0-only
/*
 * remote_tmp_test.c - remote jobs (`mosctl run --on local`, the embedded
 * worker) started under the origin's /tmp, as CI systems build: the working
 * directory and the --read/--write trees beneath /tmp are the origin's
 * (served by mosfs), while the rest of the job's /tmp stays the worker's
 * private tmpfs.  Outputs land on the origin with the bytes a local build
 * gives; the job's own /tmp files do not; nothing else of the origin's /tmp
 * is visible, through a symlink or otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_TIMEOUT 120
#include "harness.h"

/* A fresh directory under the origin's /tmp (never $TMPDIR: the point is
 * /tmp itself), mode 0755, removed after the test. */
static char *tmp_dir(const char *tag)
{
	char *d = malloc(64);

	if (!d)
		t_fail("out of memory");
	snprintf(d, 64, "/tmp/mos-tmpb-%s-XXXXXX", tag);
	if (!mkdtemp(d))
		t_fail("mkdtemp %s: %s", d, strerror(errno));
	chmod(d, 0755);
	t_remove_later(d);
	return d;
}

static void need_worker(void)
{
	t_need_embedded_worker();
	/* every test gets its own worker cache and origin caches */
	setenv("MOS_LOCAL_CACHE", t_path("cache"), 1);
	setenv("XDG_CACHE_HOME", t_path("xdg"), 1);
	unsetenv("MOS_ON");
}

static void enter(const char *dir)
{
	if (chdir(dir) < 0)
		t_fail("chdir %s: %s", dir, strerror(errno));
}

/* Run SCRIPT with sh in DIR, $M set to mosctl. */
static void sh_in(struct t_result *r, const char *dir, const char *script)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "set -e; cd '%s'; M='%s'; %s", dir, t_mosctl_path(), script);
	t_run(r, NULL, (char *const[]){ "sh", "-c", buf, NULL });
	if (r->status)
		t_dump("sh", r);
}

static const char hello_c[] = "int answer(void) { return 42; }\n"
			      "const char *who(void) { return \"tmp build\"; }\n";

TEST(tmp_cwd_compile_equals_local)
{
	struct t_result r;
	char *d;

	need_worker();
	d = tmp_dir("cc");
	/* as mktemp -d leaves it: the origin user's alone */
	chmod(d, 0700);
	enter(d);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/hello.c", d);
		t_write_file(p, hello_c);
	}
	/* the default policy: read everything, write the cwd (a /tmp tree) */
	t_mosctl(&r, "run", "--on", "local", "--", "gcc", "-O2", "-c", "hello.c", "-o", "remote.o",
		 NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	t_result_free(&r);
	sh_in(&r, d, "gcc -O2 -c hello.c -o local.o; cmp remote.o local.o");
	T_EXPECT_EQ(r.status, 0);
	t_result_free(&r);
}

TEST(tmp_write_tree_lands_scratch_stays)
{
	struct t_result r;
	char *a = tmp_dir("w"), *scratch, *cmd, out[128];
	char *got;

	need_worker();
	enter("/");
	scratch = malloc(256);
	cmd = malloc(1024);
	snprintf(scratch, 256, "%s-scratch", a);
	t_remove_later(scratch);
	snprintf(out, sizeof(out), "%s/out", a);
	snprintf(cmd, 1024,
		 "echo made in tmp > %s/out && mkdir %s/sub && echo deep > %s/sub/f && "
		 "mkdir -p %s && echo scratch > %s/s && echo /tmp/scratch > /tmp/scratch-%d && "
		 "cat %s/s /tmp/scratch-%d",
		 a, a, a, scratch, scratch, (int)getpid(), scratch, (int)getpid());
	/* the short form, as a user types it */
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "-w", a, "--", "/bin/sh", "-c", cmd, NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "scratch\n/tmp/scratch\n");
	got = t_slurp(out);
	T_ASSERT(got && !strcmp(got, "made in tmp\n"));
	free(got);
	snprintf(out, sizeof(out), "%s/sub/f", a);
	got = t_slurp(out);
	T_ASSERT(got && !strcmp(got, "deep\n"));
	free(got);
	/* the job's own /tmp is the worker's: none of it reached the origin */
	T_ASSERT(access(scratch, F_OK) < 0);
	snprintf(out, sizeof(out), "/tmp/scratch-%d", (int)getpid());
	T_ASSERT(access(out, F_OK) < 0);
	t_result_free(&r);
	/* the user's own -w /tmp covers the trees the job has there */
	enter(a);
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "-w", "/tmp", "--", "/bin/sh", "-c",
		 "echo under the users -w /tmp > own", NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	snprintf(out, sizeof(out), "%s/own", a);
	got = t_slurp(out);
	T_ASSERT(got && !strcmp(got, "under the users -w /tmp\n"));
	free(got);
	t_result_free(&r);
	free(scratch);
	free(cmd);
}

TEST(tmp_read_tree_long_forms_and_nested)
{
	struct t_result r;
	char *a = tmp_dir("r"), *cmd = malloc(1024), p[128], ro[160], rw[160];
	char *got;

	need_worker();
	enter("/");
	snprintf(p, sizeof(p), "%s/sub", a);
	t_mkdir(p);
	snprintf(p, sizeof(p), "%s/in.txt", a);
	t_write_file(p, "read from a /tmp tree\n");
	/* --read=PATH, and a write tree nested in it: only the outer one is
	 * mounted, the rules stay the job's */
	snprintf(ro, sizeof(ro), "--read=%s", a);
	snprintf(rw, sizeof(rw), "--write=%s/sub", a);
	snprintf(cmd, 1024, "cat %s/in.txt && echo nested > %s/sub/n && ln -s in.txt %s/sub/l", a,
		 a, a);
	t_mosctl(&r, "run", "--on", "local", "-s", ro, rw, "--", "/bin/sh", "-c", cmd, NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "read from a /tmp tree");
	snprintf(p, sizeof(p), "%s/sub/n", a);
	got = t_slurp(p);
	T_ASSERT(got && !strcmp(got, "nested\n"));
	free(got);
	t_result_free(&r);
	/* the read tree stays read-only for the job: the write fails when
	 * made, not at write-back */
	snprintf(cmd, 1024, "echo no > %s/in.txt || echo refused", a);
	t_mosctl(&r, "run", "--on", "local", "-r", "/", ro, "--", "/bin/sh", "-c", cmd, NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "refused");
	T_EXPECT_STR(r.err, "Read-only file system");
	snprintf(p, sizeof(p), "%s/in.txt", a);
	got = t_slurp(p);
	T_ASSERT(got && !strcmp(got, "read from a /tmp tree\n"));
	free(got);
	t_result_free(&r);
	free(cmd);
}

TEST(tmp_sibling_secret_invisible)
{
	struct t_result r;
	char *a = tmp_dir("x"), *other, *cmd = malloc(2048), p[160];

	need_worker();
	other = malloc(128);
	snprintf(other, 128, "%s-other", a);
	t_mkdir(other);
	t_remove_later(other);
	snprintf(p, sizeof(p), "%s/secret", other);
	t_write_file(p, "S1BLING-S3CR3T\n");
	snprintf(p, sizeof(p), "%s/mine.txt", a);
	t_write_file(p, "mine\n");
	/* symlinks in the served tree: to its own file, out of it (relative
	 * and absolute) to the sibling */
	snprintf(p, sizeof(p), "%s/to-mine", a);
	T_ASSERT(symlink("mine.txt", p) == 0);
	snprintf(p, sizeof(p), "%s/rel", a);
	{
		const char *base = strrchr(other, '/') + 1;
		char target[160];

		snprintf(target, sizeof(target), "../%s/secret", base);
		T_ASSERT(symlink(target, p) == 0);
	}
	snprintf(p, sizeof(p), "%s/abs", a);
	{
		char target[160];

		snprintf(target, sizeof(target), "%s/secret", other);
		T_ASSERT(symlink(target, p) == 0);
	}
	enter(a);
	snprintf(cmd, 2048,
		 "cat to-mine; ls -a /tmp ..; cat %s/secret; cat ../%s/secret; cat rel; cat abs; "
		 "ls %s; cd ..; ls; cat %s/secret; echo end",
		 other, strrchr(other, '/') + 1, other, strrchr(other, '/') + 1);
	/* the default policy reads all of /: only the worker keeps the sibling out */
	t_mosctl(&r, "run", "--on", "local", "--", "/bin/sh", "-c", cmd, NULL);
	T_EXPECT_STR(r.out, "mine\n");
	T_EXPECT_STR(r.out, "end");
	T_EXPECT_NO_STR(r.out, "S1BLING");
	T_EXPECT_NO_STR(r.err, "S1BLING");
	T_EXPECT_NO_STR(r.out, strrchr(other, '/') + 1);
	t_result_free(&r);
	/* a tree named through a symlink that leads to the sibling: refused,
	 * nothing of it shown */
	snprintf(p, sizeof(p), "%s-link", a);
	T_ASSERT(symlink(other, p) == 0);
	t_remove_later(p);
	enter("/");
	snprintf(cmd, 2048, "cat %s/secret", p);
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "-w", p, "--", "/bin/sh", "-c", cmd, NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, p);
	T_EXPECT_STR(r.err, "symbolic link");
	T_EXPECT_NO_STR(r.out, "S1BLING");
	T_EXPECT_NO_STR(r.err, "S1BLING");
	t_result_free(&r);
	free(other);
	free(cmd);
}

TEST(tmp_missing_tree_named)
{
	struct t_result r;
	char *a = tmp_dir("m"), p[128];

	need_worker();
	enter("/");
	snprintf(p, sizeof(p), "%s/not-there", a);
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "-w", p, "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, p);
	T_EXPECT_STR(r.err, "No such file or directory");
	t_result_free(&r);
}

TEST(tmp_mosctl_cc_project)
{
	struct t_result r;
	char *d;

	need_worker();
	d = tmp_dir("proj");
	sh_in(&r, d,
	      "mkdir inc obj; echo '#define V 9' > inc/v.h;"
	      "printf '#include \"v.h\"\\nint f(void){return V;}\\n' > f.c;"
	      "$M cc gcc -Iinc -MD -MF obj/f.d -c f.c -o obj/f.o;"
	      "gcc -Iinc -c f.c -o l.o; cmp obj/f.o l.o; grep -q 'inc/v.h' obj/f.d");
	T_EXPECT_EQ(r.status, 0);
	t_result_free(&r);
}

TEST(tmp_policy_file_trees)
{
	struct t_result r;
	char *a = tmp_dir("pa"), *b = tmp_dir("pb"), pol[128], json[512], cmd[512], p[160];
	char *got;

	need_worker();
	enter("/");
	/* the policy file lies under /tmp too, in a tree nothing else names */
	snprintf(pol, sizeof(pol), "%s/p.json", a);
	snprintf(json, sizeof(json),
		 "{\"fs\": {\"system\": true, \"read\": [\"in\"], \"write\": [\"%s\"]}}\n", b);
	t_write_file(pol, json);
	snprintf(p, sizeof(p), "%s/in", a);
	t_write_file(p, "policy-named input\n");
	snprintf(cmd, sizeof(cmd), "cat %s/in > %s/out; ls %s", a, b, a);
	t_mosctl(&r, "run", "--on", "local", "--policy", pol, "--", "/bin/sh", "-c", cmd, NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	snprintf(p, sizeof(p), "%s/out", b);
	got = t_slurp(p);
	T_ASSERT(got && !strcmp(got, "policy-named input\n"));
	free(got);
	t_result_free(&r);
}

/* mosctl make from a /tmp project: the recipes run on the embedded worker
 * (its own pid namespace), their outputs on the origin. */
TEST(tmp_mosctl_make_project)
{
	struct t_result r;
	char own[64] = "";
	char *d;

	need_worker();
	d = tmp_dir("mk");
	T_ASSERT(readlink("/proc/self/ns/pid", own, sizeof(own) - 1) > 0);
	sh_in(&r, d,
	      "printf 'all: prog where\\n\\t./prog > out.txt\\n"
	      "main.o: main.c\\n\\t$(CC) -c main.c -o main.o\\n"
	      "prog: main.o\\n\\t$(CC) main.o -o prog\\n"
	      "where:\\n\\treadlink /proc/self/ns/pid > where\\n' > Makefile;"
	      "printf '#include <stdio.h>\\nint main(void){puts(\"made in tmp\");return 0;}\\n'"
	      " > main.c; $M make -- -s -j2; cat out.txt where");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "made in tmp\npid:[");
	T_EXPECT_NO_STR(r.out, own);
	t_result_free(&r);
}

/* A denied path inside a served /tmp tree stays denied. */
TEST(tmp_deny_inside_served_tree)
{
	struct t_result r;
	char *a = tmp_dir("d"), secret[128], pub[128], cmd[512];

	need_worker();
	enter(a);
	snprintf(secret, sizeof(secret), "%s/secret", a);
	snprintf(pub, sizeof(pub), "%s/pub", a);
	t_write_file(secret, "D3NIED-BYTES\n");
	t_write_file(pub, "public\n");
	snprintf(cmd, sizeof(cmd), "cat pub; cat secret; cat %s; echo rc=$?", secret);
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "-w", a, "--deny", secret, "--", "/bin/sh",
		 "-c", cmd, NULL);
	T_EXPECT_STR(r.out, "public\n");
	T_EXPECT_STR(r.out, "rc=1");
	T_EXPECT_NO_STR(r.out, "D3NIED");
	T_EXPECT_NO_STR(r.err, "D3NIED");
	t_result_free(&r);
}
