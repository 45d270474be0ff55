// SPDX-License-Identifier: GPL-2.0-only
/*
 * fs_test - file rules: -r, -w, --deny, --system, --policy, and the escape
 * attempts around them (symlinks, hardlinks, "..", /proc/self/root,
 * /proc/PID/root, O_PATH reopen, openat2, rename out of a tree), plus the
 * working directory and environment settings.
 *
 * Every denial is checked three ways: the probe inside the sandbox reports
 * the errno, the secret's bytes appear in neither its stdout nor its stderr,
 * and the file on disk (seen from this process, outside the sandbox) is left
 * as it was.  Every allowed action is checked on disk too.  The tree each
 * test works on is created by this process, so its owner is the uid the
 * suite runs as and DAC permissions would allow everything the sandbox is
 * refused: the refusals are the sandbox's.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* The bytes that must never come out of a sandbox that is denied them. */
#define SECRET "mos-secret-4b1d9e-do-not-leak"

/* Errors a refused open / a refused link or rename may report. */
/*
 * Refusals come from Landlock (EACCES), seccomp (EPERM), the read-only
 * mounts outside the writable trees (EROFS) and the mounts that hide denied
 * paths (EACCES for their mode 000, EBUSY for moving or removing a mount
 * point).  Each test also checks the effect never happened.
 */
#define OPEN_ERRS "EACCES|EPERM|EROFS|EBUSY"
#define LINK_ERRS "EACCES|EPERM|EXDEV|EROFS|EBUSY"
/*
 * A sandbox granted /proc gets a /proc of its own pid namespace, where a
 * process outside does not exist at all (ENOENT); with the caller's /proc,
 * Landlock's ptrace scoping refuses (EACCES).
 */
#define OUTSIDE_PROC_ERRS "EACCES|EPERM|ENOENT"

/* ---- helpers ----------------------------------------------------------- */

static char *cat2(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *s = malloc(n);

	if (!s)
		t_fail("out of memory");
	snprintf(s, n, "%s%s", a, b);
	return s;
}

/* The directory of the helpers, to grant it read+exec. */
static const char *helpers_dir(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s", t_helper("probe"));
	return dirname(buf);
}

static const char *probe(void)
{
	return t_helper("probe");
}

static const char *probe_fs(void)
{
	return t_helper("probe_fs");
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	char buf[65536];
	ssize_t n;

	if (in < 0 || out < 0)
		t_fail("cannot copy %s to %s: %s", from, to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			t_fail("write %s: %s", to, strerror(errno));
	close(in);
	close(out);
	chmod(to, mode);
}

/*
 * mosctl run -s -r HELPERS ARGS...: ARGS are more flags, "--" and the
 * command.  --system is there because the helpers are dynamically linked.
 */
static void sbx(struct t_result *r, ...) __attribute__((sentinel));
static void sbx(struct t_result *r, ...)
{
	char *args[128];
	int n = 0;
	va_list ap;

	args[n++] = "run";
	args[n++] = "-s";
	args[n++] = "-r";
	args[n++] = (char *)helpers_dir();
	va_start(ap, r);
	while (n < 127 && (args[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	t_mosctlv(r, NULL, args);
}

#define EXPECT_OK(r, data) expect_ok_at(__FILE__, __LINE__, &(r), (data))
/* The sandboxed probe ran and printed "ok", followed by DATA (if not NULL). */
static void expect_ok_at(const char *file, int line, const struct t_result *r, const char *data)
{
	char want[4096];

	snprintf(want, sizeof(want), "ok%s%s\n", data ? " " : "", data ? data : "");
	if (r->status != 0 || strcmp(r->out, want)) {
		t_dump("sandbox", r);
		t_fail_at(file, line, "expected exit 0 and output \"%s\"", want);
	}
}

#define EXPECT_DENIED(r, errs) expect_denied_at(__FILE__, __LINE__, &(r), (errs))
/*
 * The sandboxed probe ran (mosctl exit 0) and failed with one of ERRS
 * ("EACCES|EPERM"), and the secret's bytes are in neither stdout nor stderr.
 */
static void expect_denied_at(const char *file, int line, const struct t_result *r, const char *errs)
{
	char name[64] = "", list[256], *tok, *save = NULL;
	bool match = false;

	if (r->status == 0 && !strncmp(r->out, "err ", 4))
		sscanf(r->out + 4, "%63[A-Z0-9]", name);
	snprintf(list, sizeof(list), "%s", errs);
	for (tok = strtok_r(list, "|", &save); tok && *name; tok = strtok_r(NULL, "|", &save))
		match |= !strcmp(tok, name);
	if (!match || strstr(r->out, SECRET) || strstr(r->err, SECRET)) {
		t_dump("sandbox", r);
		t_fail_at(file, line, "expected a denial (%s) that shows no secret", errs);
	}
}

#define EXPECT_FILE(path, content) expect_file_at(__FILE__, __LINE__, (path), (content))
/* PATH exists (seen from outside the sandbox) and holds exactly CONTENT. */
static void expect_file_at(const char *file, int line, const char *path, const char *content)
{
	char *s = t_slurp(path);

	if (!s)
		t_fail_at(file, line, "%s: %s", path, strerror(errno));
	if (strcmp(s, content))
		t_fail_at(file, line, "%s holds \"%s\", expected \"%s\"", path, s, content);
	free(s);
}

#define EXPECT_NO_FILE(path) expect_no_file_at(__FILE__, __LINE__, (path))
static void expect_no_file_at(const char *file, int line, const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 || errno != ENOENT)
		t_fail_at(file, line, "%s exists and must not", path);
}

/*
 * The tree most tests work on:
 *
 *   T/secret      SECRET, outside every rule
 *   T/a/pub       "pub"
 *   T/a/b/s       SECRET (denied by the tests that deny a/b)
 *   T/a/c/p       "p-data"
 */
struct tree {
	char *secret, *a, *pub, *b, *s, *c, *p;
};

static void make_tree(struct tree *t)
{
	t->secret = t_path_kept("secret");
	t->a = t_path_kept("a");
	t->pub = t_path_kept("a/pub");
	t->b = t_path_kept("a/b");
	t->s = t_path_kept("a/b/s");
	t->c = t_path_kept("a/c");
	t->p = t_path_kept("a/c/p");
	t_mkdir(t->a);
	t_mkdir(t->b);
	t_mkdir(t->c);
	t_write_file(t->secret, SECRET);
	t_write_file(t->pub, "pub");
	t_write_file(t->s, SECRET);
	t_write_file(t->p, "p-data");
}

/* ---- read -------------------------------------------------------------- */

TEST(read_allowed_and_denied)
{
	struct t_result r;
	struct tree t;

	make_tree(&t);
	sbx(&r, "-r", t.a, "--", probe(), "read", t.pub, NULL);
	EXPECT_OK(r, "pub");
	sbx(&r, "-r", t.a, "--", probe(), "read", t.p, NULL);
	EXPECT_OK(r, "p-data");
	sbx(&r, "-r", t.a, "--", probe(), "ls", t.a, NULL);
	EXPECT_OK(r, "b c pub");
	/* Outside every rule. */
	sbx(&r, "-r", t.a, "--", probe(), "read", t.secret, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--", probe(), "ls", t_dir(), NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* No rule at all: not even the allowed tree of the runs above. */
	sbx(&r, "--", probe(), "read", t.pub, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* A rule on one file grants that file and nothing beside it. */
	sbx(&r, "-r", t.p, "--", probe(), "read", t.p, NULL);
	EXPECT_OK(r, "p-data");
	sbx(&r, "-r", t.p, "--", probe(), "read", t.pub, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* The check is on the real path, not on the name in the rule. */
	if (symlink(t.a, t_path("alias")) < 0)
		t_fail("symlink: %s", strerror(errno));
	sbx(&r, "-r", t_path("alias"), "--", probe(), "read", t.pub, NULL);
	EXPECT_OK(r, "pub");
}

/* ---- write ------------------------------------------------------------- */

/* Everything that modifies a tree fails on a -r tree and leaves it as it was. */
TEST(write_denied_on_read_only_tree)
{
	char *ro = t_path_kept("ro"), *f = t_path_kept("ro/f"), *d = t_path_kept("ro/d"),
	     *nf = t_path_kept("ro/new");
	char *g = t_path_kept("ro/g"), *m = t_path_kept("ro/m"), *l = t_path_kept("ro/l"),
	     *h = t_path_kept("ro/h");
	struct t_result r;
	struct stat st;

	t_mkdir(ro);
	t_mkdir(d);
	t_write_file(f, "orig");
	sbx(&r, "-r", ro, "--", probe(), "write", f, "changed", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", ro, "--", probe(), "append", f, "more", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", ro, "--", probe(), "truncate", f, "0", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", ro, "--", probe_fs(), "opath-reopen", f, "w", "changed", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_FILE(f, "orig");
	sbx(&r, "-r", ro, "--", probe(), "write", nf, "x", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_NO_FILE(nf);
	sbx(&r, "-r", ro, "--", probe(), "unlink", f, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", ro, "--", probe(), "rename", f, g, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_FILE(f, "orig");
	EXPECT_NO_FILE(g);
	sbx(&r, "-r", ro, "--", probe(), "mkdir", m, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_NO_FILE(m);
	sbx(&r, "-r", ro, "--", probe(), "rmdir", d, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	T_ASSERT(stat(d, &st) == 0 && S_ISDIR(st.st_mode));
	sbx(&r, "-r", ro, "--", probe(), "symlink", f, l, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_NO_FILE(l);
	sbx(&r, "-r", ro, "--", probe(), "link", f, h, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_NO_FILE(h);
	EXPECT_FILE(f, "orig");
}

/* The same actions succeed on a -w tree, and what they did is on disk. */
TEST(write_allowed_on_write_tree)
{
	char *rw = t_path_kept("rw"), *f = t_path_kept("rw/f"), *d = t_path_kept("rw/d"),
	     *nf = t_path_kept("rw/new");
	char *g = t_path_kept("rw/g"), *m = t_path_kept("rw/m"), *l = t_path_kept("rw/l"),
	     *h = t_path_kept("rw/d2/h");
	char *u = t_path_kept("rw/u"), *d2 = t_path_kept("rw/d2");
	struct t_result r;
	struct stat st, st2;
	char target[4096];
	ssize_t n;

	t_mkdir(rw);
	t_mkdir(d);
	t_mkdir(d2);
	t_write_file(f, "orig");
	t_write_file(u, "doomed");
	sbx(&r, "-w", rw, "--", probe(), "write", f, "changed", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(f, "changed");
	sbx(&r, "-w", rw, "--", probe(), "append", f, "+more", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(f, "changed+more");
	sbx(&r, "-w", rw, "--", probe(), "truncate", f, "3", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(f, "cha");
	sbx(&r, "-w", rw, "--", probe_fs(), "opath-reopen", f, "w", "reopened", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(f, "reopened");
	sbx(&r, "-w", rw, "--", probe(), "write", nf, "created", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(nf, "created");
	sbx(&r, "-w", rw, "--", probe(), "unlink", u, NULL);
	EXPECT_OK(r, NULL);
	EXPECT_NO_FILE(u);
	sbx(&r, "-w", rw, "--", probe(), "rename", nf, g, NULL);
	EXPECT_OK(r, NULL);
	EXPECT_NO_FILE(nf);
	EXPECT_FILE(g, "created");
	sbx(&r, "-w", rw, "--", probe(), "mkdir", m, NULL);
	EXPECT_OK(r, NULL);
	T_ASSERT(stat(m, &st) == 0 && S_ISDIR(st.st_mode));
	sbx(&r, "-w", rw, "--", probe(), "rmdir", d, NULL);
	EXPECT_OK(r, NULL);
	EXPECT_NO_FILE(d);
	sbx(&r, "-w", rw, "--", probe(), "symlink", "g", l, NULL);
	EXPECT_OK(r, NULL);
	n = readlink(l, target, sizeof(target) - 1);
	T_ASSERT(n == 1 && target[0] == 'g');
	/* A hard link to another directory of the same tree (Landlock "refer"). */
	sbx(&r, "-w", rw, "--", probe(), "link", g, h, NULL);
	EXPECT_OK(r, NULL);
	T_ASSERT(stat(g, &st) == 0 && stat(h, &st2) == 0 && st.st_ino == st2.st_ino);
	/* -w includes read. */
	sbx(&r, "-w", rw, "--", probe(), "read", g, NULL);
	EXPECT_OK(r, "created");
}

/* ---- exec -------------------------------------------------------------- */

TEST(exec_allowed_and_denied)
{
	char *x = t_path_kept("x"), *bin = t_path_kept("x/myecho"),
	     *script = t_path_kept("x/script");
	struct t_result r;

	t_mkdir(x);
	/* The probe helper, not /bin/echo: that may be busybox, which runs by its name. */
	copy_file(probe(), bin, 0755);
	t_write_file(script, "#!/bin/sh\necho script-ran\n");
	chmod(script, 0755);
	/* Outside this process's sandbox both run, so a denial below is the sandbox's. */
	{
		char *argv[] = { bin, "echo", "copied-echo", NULL };

		t_run(&r, NULL, argv);
		T_EXPECT_EQ(r.status, 0);
		T_EXPECT_STR(r.out, "copied-echo");
	}
	sbx(&r, "-r", x, "--", probe(), "exec", bin, "echo", "copied-echo", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "copied-echo");
	sbx(&r, "-r", x, "--", probe(), "exec", script, NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "script-ran");
	/* A rule on the binary alone is enough to run it. */
	sbx(&r, "-r", bin, "--", probe(), "exec", bin, "echo", "copied-echo", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "copied-echo");
	/* Not granted: execve fails, nothing runs. */
	sbx(&r, "--", probe(), "exec", bin, "echo", "copied-echo", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	T_EXPECT_NO_STR(r.out, "copied-echo");
	sbx(&r, "--", probe(), "exec", script, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	T_EXPECT_NO_STR(r.out, "script-ran");
	/* Denied inside a granted tree. */
	sbx(&r, "-r", t_dir(), "--deny", x, "--", probe(), "exec", bin, "echo", "copied-echo",
	    NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	T_EXPECT_NO_STR(r.out, "copied-echo");
	/* mosctl itself: 126, as for any command that cannot be executed. */
	sbx(&r, "--", bin, "echo", "copied-echo", NULL);
	T_EXPECT_EQ(r.status, 126);
	T_EXPECT_NO_STR(r.out, "copied-echo");
}

/* ---- deny -------------------------------------------------------------- */

/*
 * --deny beneath an allowed tree: the tree is granted whole and the denied
 * path is hidden by an empty, unreadable mount in the sandbox's mount
 * namespace.  Its parent stays listable (the denied name shows, nothing
 * behind it); everything else beneath stays granted.
 */
TEST(deny_beneath_read_tree)
{
	struct t_result r;
	struct tree t;

	make_tree(&t);
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe(), "read", t.s, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe(), "ls", t.b, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe_fs(), "chdir-read", t.b, "s", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* Siblings at every level stay readable. */
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe(), "read", t.pub, NULL);
	EXPECT_OK(r, "pub");
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe(), "read", t.p, NULL);
	EXPECT_OK(r, "p-data");
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe(), "ls", t.c, NULL);
	EXPECT_OK(r, "p");
	/* The parent of the denied path can be listed. */
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe(), "ls", t.a, NULL);
	EXPECT_OK(r, "b c pub");
	/* The denied path is found by its real path however it is spelled. */
	sbx(&r, "-r", t.a, "--deny", cat2(t.c, "/../b/"), "--", probe(), "read", t.s, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	if (symlink(t.a, t_path("alias")) < 0)
		t_fail("symlink: %s", strerror(errno));
	sbx(&r, "-r", t_path("alias"), "--deny", t.b, "--", probe(), "read", t_path("alias/b/s"),
	    NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--deny", t_path("alias/b"), "--", probe(), "read", t.s, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* Denying one file: its directory is split, the files beside it stay. */
	t_write_file(t_path("a/c/q"), "q-data");
	t_write_file(t.p, SECRET);
	sbx(&r, "-r", t.a, "--deny", t.p, "--", probe(), "read", t.p, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--deny", t.p, "--", probe(), "read", t_path("a/c/q"), NULL);
	EXPECT_OK(r, "q-data");
	/* Deeper: a/c/d/e/f denied, a/c/d/g still readable. */
	t_mkdir(t_path("a/c/d"));
	t_mkdir(t_path("a/c/d/e"));
	t_write_file(t_path("a/c/d/e/f"), SECRET);
	t_write_file(t_path("a/c/d/g"), "g-data");
	sbx(&r, "-r", t.a, "--deny", t_path("a/c/d/e"), "--", probe(), "read", t_path("a/c/d/e/f"),
	    NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--deny", t_path("a/c/d/e"), "--", probe(), "read", t_path("a/c/d/g"),
	    NULL);
	EXPECT_OK(r, "g-data");
}

TEST(deny_beneath_write_tree)
{
	char *c_new, *a_new, *b_new, *moved;
	struct t_result r;
	struct tree t;

	make_tree(&t);
	c_new = t_path_kept("a/c/new");
	a_new = t_path_kept("a/new");
	b_new = t_path_kept("a/b/new");
	moved = t_path_kept("a/c/b-moved");
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "read", t.s, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "write", t.s, "overwritten", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "truncate", t.s, "0", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "unlink", t.s, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_FILE(t.s, SECRET);
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "write", b_new, "x", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_NO_FILE(b_new);
	/* Moving the denied directory from under its rule. */
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "rename", t.b, moved, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_NO_FILE(moved);
	EXPECT_FILE(t.s, SECRET);
	/* Siblings stay readable and writable, also for new files. */
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "write", t.p, "changed", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(t.p, "changed");
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "write", c_new, "new", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(c_new, "new");
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "unlink", t.p, NULL);
	EXPECT_OK(r, NULL);
	EXPECT_NO_FILE(t.p);
	/* A file directly in the split directory has its own rule: writable. */
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "write", t.pub, "pub2", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(t.pub, "pub2");
	/* The denied path's parent stays writable and listable. */
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "write", a_new, "x", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(a_new, "x");
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "ls", t.a, NULL);
	EXPECT_OK(r, "b c new pub");
}

/* A denied path that does not exist yet cannot be brought into existence. */
TEST(deny_nonexistent_path_in_write_tree)
{
	char *later = t_path_kept("a/later"), *deep = t_path_kept("a/c/later"),
	     *deep2 = t_path_kept("a/c/later/x");
	struct t_result r;
	struct tree t;

	make_tree(&t);
	sbx(&r, "-w", t.a, "--deny", later, "--", probe(), "write", later, "x", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-w", t.a, "--deny", later, "--", probe(), "mkdir", later, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-w", t.a, "--deny", later, "--", probe(), "symlink", t.secret, later, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-w", t.a, "--deny", later, "--", probe(), "rename", t.p, later, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	sbx(&r, "-w", t.a, "--deny", later, "--", probe(), "link", t.p, later, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_NO_FILE(later);
	EXPECT_FILE(t.p, "p-data");
	/* Deeper: a/c/later/x denied, a/c/later may not appear either. */
	sbx(&r, "-w", t.a, "--deny", deep2, "--", probe(), "mkdir", deep, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_NO_FILE(deep);
	/* The rest of the tree is still writable. */
	sbx(&r, "-w", t.a, "--deny", later, "--", probe(), "write", t_path("a/c/ok"), "fine", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(t_path("a/c/ok"), "fine");
	sbx(&r, "-w", t.a, "--deny", deep2, "--", probe(), "write", t.p, "changed", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(t.p, "changed");
}

/* --deny A wins over -r/-w A/B, whichever comes first. */
TEST(deny_wins_over_allow_beneath_it)
{
	char *newf = t_path_kept("a/c/new");
	struct t_result r;
	struct tree t;

	make_tree(&t);
	t_write_file(t.p, SECRET);
	sbx(&r, "--deny", t.a, "-r", t.c, "--", probe(), "read", t.p, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.c, "--deny", t.a, "--", probe(), "read", t.p, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "--deny", t.a, "-r", t.p, "--", probe(), "read", t.p, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "--deny", t.a, "-w", t.c, "--", probe(), "write", newf, "x", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_NO_FILE(newf);
	sbx(&r, "--deny", t.a, "-w", t.c, "--", probe(), "write", t.p, "x", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_FILE(t.p, SECRET);
	/* The same path allowed and denied: denied. */
	sbx(&r, "-r", t.a, "--deny", t.a, "--", probe(), "read", t.p, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* Another allowed tree is unaffected. */
	sbx(&r, "--deny", t.a, "-r", t.c, "-r", t.secret, "--", probe(), "read", t.secret, NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok " SECRET);
}

/* ---- escapes ----------------------------------------------------------- */

TEST(escape_symlink)
{
	char *abs_l = t_path_kept("a/c/abs"), *rel_l = t_path_kept("a/c/rel"),
	     *den_l = t_path_kept("a/c/den");
	char *ok_l = t_path_kept("a/c/fine"), *made = t_path_kept("a/c/made");
	struct t_result r;
	struct tree t;

	make_tree(&t);
	if (symlink(t.secret, abs_l) < 0 || symlink("../../secret", rel_l) < 0 ||
	    symlink("../b/s", den_l) < 0 || symlink("../pub", ok_l) < 0)
		t_fail("symlink: %s", strerror(errno));
	/* Control: a link inside the tree is followed. */
	sbx(&r, "-r", t.a, "--", probe(), "read", ok_l, NULL);
	EXPECT_OK(r, "pub");
	sbx(&r, "-r", t.a, "--", probe(), "read", abs_l, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--", probe(), "read", rel_l, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe(), "read", den_l, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* Writing through a link to a file outside. */
	sbx(&r, "-w", t.a, "--", probe(), "write", abs_l, "overwritten", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_FILE(t.secret, SECRET);
	/* A link the sandbox makes itself. */
	sbx(&r, "-w", t.a, "--", probe(), "symlink", t.secret, made, NULL);
	EXPECT_OK(r, NULL);
	sbx(&r, "-w", t.a, "--", probe(), "read", made, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
}

TEST(escape_hardlink)
{
	char *x = t_path_kept("a/c/x"), *y = t_path_kept("a/c/y"), *z = t_path_kept("a/c/z");
	struct t_result r;
	struct tree t;

	make_tree(&t);
	/* Linking a file outside every rule into the writable tree. */
	sbx(&r, "-w", t.a, "--", probe(), "link", t.secret, x, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_NO_FILE(x);
	/* The same through an O_PATH descriptor and /proc/self/fd. */
	sbx(&r, "-w", t.a, "-r", "/proc", "--", probe_fs(), "opath-link", t.secret, y, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	/* the O_PATH open itself worked (the supervisor refuses even that) */
	T_EXPECT_STR(r.out, t_supervised() ? "at opath" : "at link");
	EXPECT_NO_FILE(y);
	/* Linking a denied file beneath the tree to an allowed place. */
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "link", t.s, z, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	sbx(&r, "-w", t.a, "--deny", t.b, "-r", "/proc", "--", probe_fs(), "opath-link", t.s, z,
	    NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_NO_FILE(z);
	/* Control: a link within the allowed part works. */
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "link", t.p, z, NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(z, "p-data");
}

TEST(escape_dotdot)
{
	struct t_result r;
	struct tree t;

	make_tree(&t);
	sbx(&r, "-r", t.a, "--", probe(), "read", cat2(t.a, "/../secret"), NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--", probe(), "read", cat2(t.c, "/../../secret"), NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--", probe_fs(), "chdir-read", t.c, "../../secret", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe(), "read", cat2(t.c, "/../b/s"), NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "-C", t.c, "--", probe(), "read", "../../secret", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* Control: ".." that stays inside the tree. */
	sbx(&r, "-r", t.a, "--", probe(), "read", cat2(t.c, "/../pub"), NULL);
	EXPECT_OK(r, "pub");
}

TEST(escape_proc_self_root)
{
	struct t_result r;
	struct tree t;

	make_tree(&t);
	/* /proc is granted so that the magic links themselves are reachable. */
	sbx(&r, "-r", t.a, "-r", "/proc", "--", probe(), "read", cat2("/proc/self/root", t.pub),
	    NULL);
	EXPECT_OK(r, "pub");
	sbx(&r, "-r", t.a, "-r", "/proc", "--", probe(), "read", cat2("/proc/self/root", t.secret),
	    NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-r", t.a, "--deny", t.b, "-r", "/proc", "--", probe(), "read",
	    cat2("/proc/self/root", t.s), NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* The working directory is outside every rule: /proc/self/cwd does not help. */
	sbx(&r, "-r", t.a, "-r", "/proc", "-C", t_dir(), "--", probe(), "read",
	    "/proc/self/cwd/secret", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	sbx(&r, "-w", t.a, "-r", "/proc", "--", probe(), "write", cat2("/proc/self/root", t.secret),
	    "overwritten", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_FILE(t.secret, SECRET);
}

TEST(escape_proc_pid_root_outside)
{
	char *root_path, *cwd_path, pid_s[32];
	struct t_result r;
	struct tree t;
	char *s;
	pid_t pid;

	make_tree(&t);
	pid = fork();
	if (pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (chdir(t_dir()) == 0)
			execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	snprintf(pid_s, sizeof(pid_s), "/proc/%d", (int)pid);
	root_path = cat2(cat2(pid_s, "/root"), t.secret);
	cwd_path = cat2(pid_s, "/cwd/secret");
	/* Wait for the exec (cwd set), then check the way in works from outside. */
	for (int i = 0; i < 200; i++) {
		char exe[4096];
		ssize_t n = readlink(cat2(pid_s, "/exe"), exe, sizeof(exe) - 1);

		if (n > 0 && (exe[n] = '\0', strstr(exe, "sleep")))
			break;
		usleep(10000);
	}
	s = t_slurp(root_path);
	T_ASSERT(s && !strcmp(s, SECRET));
	s = t_slurp(cwd_path);
	T_ASSERT(s && !strcmp(s, SECRET));
	sbx(&r, "-r", "/proc", "-r", t.a, "--", probe(), "read", root_path, NULL);
	EXPECT_DENIED(r, OUTSIDE_PROC_ERRS);
	sbx(&r, "-r", "/proc", "-r", t.a, "--", probe(), "read", cwd_path, NULL);
	EXPECT_DENIED(r, OUTSIDE_PROC_ERRS);
	/*
	 * Even for a file the sandbox may read by its own path: it may not look
	 * into a process outside it at all (Landlock's ptrace scoping).
	 */
	sbx(&r, "-r", "/proc", "-r", t.a, "--", probe(), "read", cat2(cat2(pid_s, "/root"), t.pub),
	    NULL);
	EXPECT_DENIED(r, OUTSIDE_PROC_ERRS);
	sbx(&r, "-r", "/proc", "-r", t.a, "--", probe(), "read", t.pub, NULL);
	EXPECT_OK(r, "pub");
	sbx(&r, "-r", "/proc", "-w", t.a, "--", probe(), "write", root_path, "overwritten", NULL);
	EXPECT_DENIED(r, OUTSIDE_PROC_ERRS);
	EXPECT_FILE(t.secret, SECRET);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(escape_opath_reopen)
{
	struct t_result r;
	struct tree t;

	make_tree(&t);
	/* Control: the route works for an allowed file. */
	sbx(&r, "-r", t.a, "-r", "/proc", "--", probe_fs(), "opath-reopen", t.p, "r", NULL);
	EXPECT_OK(r, "p-data");
	/* O_PATH opens are not checked; the reopen through /proc/self/fd must be. */
	sbx(&r, "-r", t.a, "-r", "/proc", "--", probe_fs(), "opath-reopen", t.secret, "r", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	T_EXPECT_STR(r.out, t_supervised() ? "at opath" : "at reopen");
	/* The hidden directory cannot even be entered for the O_PATH open. */
	sbx(&r, "-r", t.a, "--deny", t.b, "-r", "/proc", "--", probe_fs(), "opath-reopen", t.s, "r",
	    NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* Reopening for writing a file the sandbox may only read. */
	sbx(&r, "-r", t.a, "-r", "/proc", "--", probe_fs(), "opath-reopen", t.p, "w", "changed",
	    NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	T_EXPECT_STR(r.out, "at reopen");
	EXPECT_FILE(t.p, "p-data");
	sbx(&r, "-w", t.c, "-r", "/proc", "--", probe_fs(), "opath-reopen", t.secret, "w",
	    "changed", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_FILE(t.secret, SECRET);
	/* An O_PATH descriptor of a denied directory, used as openat()'s base. */
	sbx(&r, "-r", t.a, "--deny", t.b, "--", probe_fs(), "opath-at", t.b, "s", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	T_EXPECT_STR(r.out, t_supervised() ? "at opath" : "at openat");
	sbx(&r, "-r", t.a, "--", probe_fs(), "opath-at", t_dir(), "secret", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
}

TEST(escape_openat2)
{
	static const char *const attempts[][3] = {
		{ "A", "c/p", "beneath" },
		{ "A", "/c/p", "in_root" },
		{ "A", "b/s", "beneath" },
		{ "A", "/b/s", "in_root" },
		{ "B", "s", "beneath,no_symlinks,no_magiclinks" },
		{ "A", "../secret", "none" },
		{ "D", "secret", "beneath" },
		{ "A", "../secret", "beneath" },
		{ "A", "../secret", "in_root" },
	};
	struct t_result r;
	struct tree t;

	make_tree(&t);
	/*
	 * openat2 carries its mode in memory seccomp cannot inspect, so the
	 * sandbox answers ENOSYS (callers fall back to openat, whose escapes
	 * the other tests try).  Where the kernel has openat2, that refusal is
	 * the whole defence checked here: no resolution flag reaches a file.
	 */
	if (syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0) < 0 && errno == ENOSYS)
		t_skip("openat2 not in this kernel (Linux >= 5.6)");
	for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		const char *base = attempts[i][0][0] == 'A'   ? t.a
				   : attempts[i][0][0] == 'B' ? t.b
							      : t_dir();

		sbx(&r, "-r", t.a, "--deny", t.b, "--", probe_fs(), "openat2", base, attempts[i][1],
		    attempts[i][2], NULL);
		/* the supervisor refuses the O_PATH open of a base outside first */
		if (t_supervised() && strstr(r.out, "at opath"))
			EXPECT_DENIED(r, OPEN_ERRS);
		else
			EXPECT_DENIED(r, "ENOSYS");
		T_EXPECT_NO_STR(r.out, "p-data");
	}
}

TEST(escape_rename_out_of_tree)
{
	char *out_dir = t_path_kept("out"), *c_s = t_path_kept("a/c/s"),
	     *b_p = t_path_kept("a/b/p"), *b_c = t_path_kept("a/b/c");
	char *w_f = t_path_kept("w/f"), *out_f = t_path_kept("out/f");
	struct t_result r;
	struct tree t;

	make_tree(&t);
	/* Allowed file moved into a denied directory beneath the tree. */
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "rename", t.p, b_p, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_FILE(t.p, "p-data");
	EXPECT_NO_FILE(b_p);
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "rename", t.c, b_c, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_NO_FILE(b_c);
	/* A denied file moved into the allowed part. */
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe(), "rename", t.s, c_s, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_NO_FILE(c_s);
	EXPECT_FILE(t.s, SECRET);
	sbx(&r, "-w", t.a, "--deny", t.b, "--", probe_fs(), "exchange", t.p, t.s, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_FILE(t.p, "p-data");
	EXPECT_FILE(t.s, SECRET);
	/* Out of the writable tree to a directory no rule names. */
	t_mkdir(out_dir);
	t_mkdir(t_path_kept("w"));
	t_write_file(w_f, "w-data");
	sbx(&r, "-w", t_path_kept("w"), "--", probe(), "rename", w_f, out_f, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_FILE(w_f, "w-data");
	EXPECT_NO_FILE(out_f);
	/* ... or to one that is only readable. */
	sbx(&r, "-w", t_path_kept("w"), "-r", out_dir, "--", probe(), "rename", w_f, out_f, NULL);
	EXPECT_DENIED(r, LINK_ERRS);
	EXPECT_FILE(w_f, "w-data");
	EXPECT_NO_FILE(out_f);
	/*
	 * Between two writable trees: each is a mount of its own in the
	 * sandbox, so rename(2) answers EXDEV as between filesystems (mv
	 * copies instead); within one writable tree it works.
	 */
	sbx(&r, "-w", t_path_kept("w"), "-w", out_dir, "--", probe(), "rename", w_f, out_f, NULL);
	EXPECT_DENIED(r, "EXDEV");
	EXPECT_FILE(w_f, "w-data");
	sbx(&r, "-w", t_dir(), "--", probe(), "rename", w_f, out_f, NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(out_f, "w-data");
}

/* ---- --system ----------------------------------------------------------- */

/*
 * Neither stdout nor stderr holds /etc/shadow's first line.  Checked before
 * anything that would print the output, so that a leak does not land in the
 * test log as well.
 */
#define NO_SHADOW(r, head)                                                           \
	do {                                                                         \
		if (strstr((r).out, (head)) || strstr((r).err, (head)))              \
			t_fail("the sandbox printed /etc/shadow (output withheld)"); \
	} while (0)

TEST(system_grants_and_withholds)
{
	char *newf = NULL, shadow_head[64] = "root:";
	struct t_result r;
	struct stat st;

	sbx(&r, "--", "/usr/bin/env", "printf", "sys-ok", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "sys-ok");
	sbx(&r, "--", "sh", "-c", "ls /usr/bin >/dev/null && echo listed", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "listed");
	sbx(&r, "--", probe(), "read", "/etc/passwd", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok root:");
	/*
	 * Root outside can read /etc/shadow (and so could root inside, by its
	 * mode bits): the refusal below is the sandbox's.
	 */
	if (t_is_root()) {
		char *s = t_slurp("/etc/shadow");

		T_ASSERT(s != NULL);
		snprintf(shadow_head, sizeof(shadow_head), "%.*s", (int)strcspn(s, "\n"), s);
		free(s);
	}
	if (stat("/etc/shadow", &st) == 0) {
		sbx(&r, "--", probe(), "read", "/etc/shadow", NULL);
		NO_SHADOW(r, shadow_head);
		EXPECT_DENIED(r, OPEN_ERRS);
		sbx(&r, "--", probe(), "read", "/etc/../etc/shadow", NULL);
		NO_SHADOW(r, shadow_head);
		EXPECT_DENIED(r, OPEN_ERRS);
		sbx(&r, "--", "cat", "/etc/shadow", NULL);
		NO_SHADOW(r, shadow_head);
		T_ASSERT(r.status != 0);
		/* Named in a -r rule too: --system's secrets stay withheld. */
		sbx(&r, "-r", "/etc", "--", probe(), "read", "/etc/shadow", NULL);
		NO_SHADOW(r, shadow_head);
		EXPECT_DENIED(r, OPEN_ERRS);
	}
	if (stat("/etc/gshadow", &st) == 0) {
		sbx(&r, "--", probe(), "read", "/etc/gshadow", NULL);
		EXPECT_DENIED(r, OPEN_ERRS);
	}
	if (stat("/etc/ssh", &st) == 0) {
		sbx(&r, "--", probe(), "ls", "/etc/ssh", NULL);
		EXPECT_DENIED(r, OPEN_ERRS);
	}
	if (stat("/etc/sudoers", &st) == 0) {
		sbx(&r, "--", probe(), "read", "/etc/sudoers", NULL);
		EXPECT_DENIED(r, OPEN_ERRS);
	}
	/* Read-only, also for root (who may write /etc outside). */
	newf = cat2("/etc/mos-fs-test-", strrchr(t_dir(), '-') + 1);
	sbx(&r, "--", probe(), "write", newf, "x", NULL);
	if (access(newf, F_OK) == 0) {
		unlink(newf);
		t_fail("the sandbox created %s", newf);
	}
	EXPECT_DENIED(r, OPEN_ERRS);
	/* --system grants nothing outside the system directories. */
	t_write_file(t_path("f"), SECRET);
	sbx(&r, "--", probe(), "read", t_path("f"), NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
}

/* The devices every sandbox gets, and only those. */
TEST(devices_always_granted)
{
	struct t_result r;

	sbx(&r, "--", probe(), "write", "/dev/null", "x", NULL);
	EXPECT_OK(r, NULL);
	sbx(&r, "--", probe(), "read", "/dev/null", NULL);
	EXPECT_OK(r, "");
	sbx(&r, "--", probe(), "read", "/dev/zero", NULL);
	EXPECT_OK(r, "");
	/* Opened for writing: the write itself fails as /dev/full does. */
	sbx(&r, "--", probe(), "write", "/dev/full", "x", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "err ENOSPC");
	sbx(&r, "--", probe(), "write", "/dev/urandom", "x", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* read of /dev/urandom: random bytes, only check it opened. */
	sbx(&r, "--", "sh", "-c", "head -c 8 /dev/urandom | wc -c", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "8");
	sbx(&r, "--", probe(), "ls", "/dev", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	if (access("/dev/kmsg", F_OK) == 0) {
		sbx(&r, "--", probe(), "read", "/dev/kmsg", NULL);
		EXPECT_DENIED(r, OPEN_ERRS);
	}
}

/* ---- --policy ----------------------------------------------------------- */

static char *write_policy(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static char *write_policy(const char *name, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	t_write_file(t_path(name), buf);
	return t_path_kept(name);
}

/* mosctl run --policy POLICY -- ARGS... (no other flag). */
static void pol(struct t_result *r, const char *policy, ...) __attribute__((sentinel));
static void pol(struct t_result *r, const char *policy, ...)
{
	char *args[64];
	int n = 0;
	va_list ap;

	args[n++] = "run";
	args[n++] = "--policy";
	args[n++] = (char *)policy;
	args[n++] = "--";
	va_start(ap, policy);
	while (n < 63 && (args[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	t_mosctlv(r, NULL, args);
}

/*
 * The policy file's relative paths are relative to its own directory (this
 * process runs elsewhere), and give the same outcomes as the flags.
 */
TEST(policy_file_rules)
{
	char *pf, *later = t_path_kept("rw/later"), *rwnew = t_path_kept("rw/c/new");
	struct t_result r;
	struct tree t;

	make_tree(&t);
	t_mkdir(t_path_kept("rw"));
	t_mkdir(t_path_kept("rw/b"));
	t_mkdir(t_path_kept("rw/c"));
	t_write_file(t_path("rw/b/s"), SECRET);
	t_write_file(t_path("rw/c/p"), "rw-p");
	t_mkdir(t_path_kept("d"));
	t_mkdir(t_path_kept("d/e"));
	t_write_file(t_path("d/e/f"), SECRET);
	T_ASSERT(!strchr(helpers_dir(), '"') && !strchr(helpers_dir(), '\\'));
	{
		char cwd[4096];

		/* Relative to the file, not to the working directory of mosctl. */
		T_ASSERT(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, t_dir()));
	}
	pf = write_policy("policy.json",
			  "{\n"
			  "  \"fs\": {\n"
			  "    \"read\": [\"a\", \"%s\", \"d/e\"],\n"
			  "    \"write\": [\"rw\"],\n"
			  "    \"deny\": [\"a/b\", \"./rw/b\", \"rw/later\", \"d\"],\n"
			  "    \"system\": true\n"
			  "  }\n"
			  "}\n",
			  helpers_dir());
	pol(&r, pf, probe(), "read", t.p, NULL);
	EXPECT_OK(r, "p-data");
	pol(&r, pf, probe(), "read", t.s, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	pol(&r, pf, probe(), "ls", t.a, NULL);
	EXPECT_OK(r, "b c pub");
	pol(&r, pf, probe(), "ls", t.b, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	pol(&r, pf, probe(), "write", t.p, "changed", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_FILE(t.p, "p-data");
	pol(&r, pf, probe(), "write", rwnew, "new", NULL);
	EXPECT_OK(r, NULL);
	EXPECT_FILE(rwnew, "new");
	pol(&r, pf, probe(), "read", t_path("rw/b/s"), NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	pol(&r, pf, probe(), "write", t_path("rw/b/s"), "overwritten", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_FILE(t_path("rw/b/s"), SECRET);
	pol(&r, pf, probe(), "mkdir", later, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	EXPECT_NO_FILE(later);
	/* deny d wins over read d/e */
	pol(&r, pf, probe(), "read", t_path("d/e/f"), NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* system: true */
	pol(&r, pf, "/usr/bin/env", "printf", "sys-ok", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "sys-ok");
	pol(&r, pf, probe(), "read", "/etc/shadow", NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* Outside every rule. */
	pol(&r, pf, probe(), "read", t.secret, NULL);
	EXPECT_DENIED(r, OPEN_ERRS);
	/* Flags add to the file. */
	t_write_file(t_path("extra"), "extra-data");
	{
		char *args[] = { "run",
				 "--policy",
				 pf,
				 "-r",
				 t_path_kept("extra"),
				 "--",
				 (char *)probe(),
				 "read",
				 t_path_kept("extra"),
				 NULL };

		t_mosctlv(&r, NULL, args);
		EXPECT_OK(r, "extra-data");
	}
}

/*
 * "FILE:LINE:" followed by a column number is in S.  The exact column is the
 * parser's choice (the offending token, or the one after it); the line is not.
 */
static bool has_location(const char *s, const char *file, int line)
{
	char want[4200];
	const char *p;

	snprintf(want, sizeof(want), "%s:%d:", file, line);
	for (p = strstr(s, want); p; p = strstr(p + 1, want))
		if (p[strlen(want)] >= '1' && p[strlen(want)] <= '9')
			return true;
	return false;
}

/* The start of most bad policies below: {"fs": {"write": ["."]  (left open) */
#define FSW "{\"fs\": {\"write\": [\".\"]"

/* A malformed policy is an error naming file:line:col, and nothing runs. */
TEST(policy_file_errors_exit_125)
{
	static const struct {
		int line; /* where the error is */
		const char *what, *text;
	} bad[] = {
		{ 2, "syntax: missing comma", FSW "\n  \"read\": []}}\n" },
		{ 2, "syntax: missing colon", "{\n\"fs\" {\"write\": [\".\"]}}\n" },
		{ 2, "syntax: unterminated string", FSW "},\n \"cwd\": \"/tmp}\n" },
		{ 3, "syntax: garbage after the object", FSW "}}\n\n x\n" },
		{ 2, "syntax: trailing comma in object", "{\n\"fs\": {\"write\": [\".\"]}, }\n" },
		{ 2, "syntax: trailing comma in array", "{\"fs\":\n {\"write\": [\".\", ]}}\n" },
		{ 2, "syntax: single quotes", FSW "},\n 'cwd': '.'}\n" },
		{ 3, "unknown top-level key", FSW "},\n\n  \"nope\": 1}\n" },
		{ 2, "unknown key in fs", FSW ",\n  \"exec\": [\".\"]}}\n" },
		{ 2, "unknown key in limits", FSW "},\n \"limits\": {\"memroy\": \"1G\"}}\n" },
		{ 2, "wrong type: read is a string", FSW ",\n \"read\": \".\"}}\n" },
		{ 2, "wrong type: system is a string", FSW ",\n \"system\": \"yes\"}}\n" },
		{ 2, "wrong type: procs is a string",
		  FSW "},\n \"limits\": {\"procs\": \"64\"}}\n" },
		{ 4, "wrong type: cwd is a number", FSW "},\n\n\n \"cwd\": 5}\n" },
		{ 2, "wrong type: env.set value", FSW "},\n \"env\": {\"set\": {\"K\": 1}}}\n" },
		{ 2, "wrong type: fs is an array", "{\n \"fs\": []}\n" },
		{ 2, "wrong type: top level is an array", "\n[]\n" },
		{ 1, "empty file", "" },
	};
#undef FSW
	char *marker = t_path_kept("marker"), *good;
	struct t_result r;

	/* Control: the same command with a good policy leaves the marker. */
	good = write_policy("good.json", "{\"fs\": {\"write\": [\".\"], \"system\": true}}\n");
	pol(&r, good, "touch", marker, NULL);
	T_EXPECT_EQ(r.status, 0);
	EXPECT_FILE(marker, "");
	unlink(marker);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *pf = write_policy("bad.json", "%s", bad[i].text);
		char *args[] = { "run",		  "--policy", pf,      "-s",   "-w",
				 (char *)t_dir(), "--",	      "touch", marker, NULL };

		t_mosctlv(&r, NULL, args);
		if (r.status != 125 || !has_location(r.err, pf, bad[i].line) ||
		    access(marker, F_OK) == 0) {
			t_dump(bad[i].what, &r);
			t_fail("%s: expected exit 125, \"%s:%d:COL\" in stderr and no %s",
			       bad[i].what, pf, bad[i].line, marker);
		}
	}
	/* A missing policy file is mosctl's error too. */
	{
		char *args[] = { "run", "--policy", t_path_kept("missing.json"),
				 "-s",	"-w",	    (char *)t_dir(),
				 "--",	"touch",    marker,
				 NULL };

		t_mosctlv(&r, NULL, args);
		T_EXPECT_EQ(r.status, 125);
		T_EXPECT_STR(r.err, "missing.json");
		EXPECT_NO_FILE(marker);
	}
}

/* ---- cwd and environment ------------------------------------------------ */

TEST(cwd_flag_and_policy)
{
	char real_c[4096], real_a[4096], *pf;
	struct t_result r;
	struct tree t;

	make_tree(&t);
	if (!realpath(t.c, real_c) || !realpath(t.a, real_a))
		t_fail("realpath: %s", strerror(errno));
	sbx(&r, "-r", t.a, "-C", t.c, "--", probe(), "cwd", NULL);
	EXPECT_OK(r, real_c);
	sbx(&r, "-r", t.a, "--cwd", t.a, "--", probe(), "cwd", NULL);
	EXPECT_OK(r, real_a);
	/* Relative paths in the command are relative to it. */
	sbx(&r, "-r", t.a, "-C", t.c, "--", probe(), "read", "p", NULL);
	EXPECT_OK(r, "p-data");
	sbx(&r, "-r", t.a, "-C", t.c, "--", probe(), "read", "../pub", NULL);
	EXPECT_OK(r, "pub");
	/* "cwd" in a policy, relative to the policy file's directory. */
	pf = write_policy("cwd.json",
			  "{\"fs\": {\"read\": [\"a\", \"%s\"], \"system\": true},\n"
			  " \"cwd\": \"a/c\"}\n",
			  helpers_dir());
	pol(&r, pf, probe(), "cwd", NULL);
	EXPECT_OK(r, real_c);
	pol(&r, pf, probe(), "read", "p", NULL);
	EXPECT_OK(r, "p-data");
	/* A directory that does not exist: mosctl's own error, nothing runs. */
	sbx(&r, "-w", t_dir(), "-C", t_path_kept("nonexistent"), "--", "touch",
	    t_path_kept("marker"), NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "nonexistent");
	EXPECT_NO_FILE(t_path("marker"));
}

TEST(env_clean_and_set)
{
	char *pf;
	struct t_result r;

	setenv("MOS_FS_TEST_VAR", "inherited", 1);
	setenv("PATH", "/usr/bin:/bin", 1);
	setenv("HOME", "/mos-home", 1);
	setenv("TERM", "mos-term", 1);
	setenv("LANG", "C.UTF-8", 1);
	/* Control: without --clean-env the environment passes through. */
	sbx(&r, "--", probe(), "env", "MOS_FS_TEST_VAR", NULL);
	EXPECT_OK(r, "inherited");
	sbx(&r, "--clean-env", "--", probe(), "env", "MOS_FS_TEST_VAR", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "err ENOENT");
	sbx(&r, "--clean-env", "--", probe(), "env", "PATH", NULL);
	EXPECT_OK(r, "/usr/bin:/bin");
	sbx(&r, "--clean-env", "--", probe(), "env", "HOME", NULL);
	EXPECT_OK(r, "/mos-home");
	sbx(&r, "--clean-env", "--", probe(), "env", "TERM", NULL);
	EXPECT_OK(r, "mos-term");
	sbx(&r, "--clean-env", "--", probe(), "env", "LANG", NULL);
	EXPECT_OK(r, "C.UTF-8");
	/* Exactly those four, nothing else. */
	sbx(&r, "--clean-env", "--", "env", NULL);
	T_EXPECT_EQ(r.status, 0);
	{
		char *save = NULL, *l;
		int lines = 0;

		for (l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (strncmp(l, "PATH=", 5) && strncmp(l, "HOME=", 5) &&
			    strncmp(l, "TERM=", 5) && strncmp(l, "LANG=", 5))
				t_fail("--clean-env left \"%s\" in the environment", l);
			lines++;
		}
		T_EXPECT_EQ(lines, 4);
	}
	/* --env sets, overrides, and adds to a clean environment. */
	sbx(&r, "--env", "K=V", "--", probe(), "env", "K", NULL);
	EXPECT_OK(r, "V");
	sbx(&r, "--env", "MOS_FS_TEST_VAR=replaced", "--", probe(), "env", "MOS_FS_TEST_VAR", NULL);
	EXPECT_OK(r, "replaced");
	sbx(&r, "--clean-env", "--env", "K=a=b c", "--", probe(), "env", "K", NULL);
	EXPECT_OK(r, "a=b c");
	sbx(&r, "--clean-env", "--env", "K=V", "--", probe(), "env", "MOS_FS_TEST_VAR", NULL);
	T_EXPECT_STR(r.out, "err ENOENT");
	/* The same from a policy file. */
	pf = write_policy("env.json",
			  "{\"fs\": {\"read\": [\"%s\"], \"system\": true},\n"
			  " \"env\": {\"clean\": true,\n"
			  "         \"set\": {\"CC\": \"gcc\", \"K2\": \"v2\"}}}\n",
			  helpers_dir());
	pol(&r, pf, probe(), "env", "CC", NULL);
	EXPECT_OK(r, "gcc");
	pol(&r, pf, probe(), "env", "K2", NULL);
	EXPECT_OK(r, "v2");
	pol(&r, pf, probe(), "env", "MOS_FS_TEST_VAR", NULL);
	T_EXPECT_STR(r.out, "err ENOENT");
	pol(&r, pf, probe(), "env", "TERM", NULL);
	EXPECT_OK(r, "mos-term");
	pf = write_policy("env2.json",
			  "{\"fs\": {\"read\": [\"%s\"], \"system\": true},\n"
			  " \"env\": {\"set\": {\"K3\": \"v3\"}}}\n",
			  helpers_dir());
	pol(&r, pf, probe(), "env", "MOS_FS_TEST_VAR", NULL);
	EXPECT_OK(r, "inherited");
	pol(&r, pf, probe(), "env", "K3", NULL);
	EXPECT_OK(r, "v3");
}

/* The inherited working directory inside a --write tree is writable by
 * relative paths (it is re-entered on the tree's writable bind mount). */
TEST(relative_write_in_inherited_cwd)
{
	struct t_result r;
	char *argv[] = { (char *)t_mosctl_path(),
			 "run",
			 "-s",
			 "-w",
			 (char *)t_dir(),
			 "--",
			 "/bin/sh",
			 "-c",
			 "echo rel > relative.txt && mkdir reldir && echo ok",
			 NULL };
	char old[4096];

	T_ASSERT(getcwd(old, sizeof(old)));
	T_ASSERT(chdir(t_dir()) == 0);
	t_run(&r, NULL, argv);
	T_ASSERT(chdir(old) == 0);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok");
	T_ASSERT(access(t_path("relative.txt"), F_OK) == 0);
	T_ASSERT(access(t_path("reldir"), F_OK) == 0);
	t_result_free(&r);
}
