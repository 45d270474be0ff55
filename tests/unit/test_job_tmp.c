// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_job_tmp.c - which trees of a remote job beneath the origin's /tmp the
 * worker serves (userspace/remote/worker/job_tmp.c, tmp_trees_find): every
 * spelling of the flags, relative paths from the origin's cwd, --cwd, the
 * policy file's trees and the file itself, nesting, duplicates, denied
 * trees, and /tmp itself never.  Cloning and mounting need a mosfs mount:
 * selftests/remote_tmp_test.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job_tmp.h"
#include "util.h"

static char root[PATH_MAX];

static int setup(void **state)
{
	char tmpl[] = "/tmp/mos-job-tmp-XXXXXX";

	(void)state;
	if (!mkdtemp(tmpl) || !realpath(tmpl, root))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* tmp_trees_find on ARGS (NULL-terminated) from CWD, with the view at ROOT
 * (or none); the trees as "PATH=WHAT rw|ro" lines. */
static char *find(const char *cwd, const char *view, int *r, struct mos_err *e, ...)
{
	char *args[32];
	size_t n = 0, len = 0;
	struct tmp_trees t;
	char *out = NULL;
	FILE *f = open_memstream(&out, &len);
	va_list ap;

	va_start(ap, e);
	while ((args[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	assert_non_null(f);
	*r = tmp_trees_find(args, n, cwd, view, &t, e);
	for (size_t i = 0; i < t.n; i++) {
		assert_int_equal(t.v[i].fd, -1);
		fprintf(f, "%s=%s %s\n", t.v[i].path, t.v[i].what, t.v[i].writable ? "rw" : "ro");
	}
	tmp_trees_free(&t);
	fclose(f);
	return out;
}

static void test_flags_and_cwd(void **state)
{
	struct mos_err e = { "" };
	char *got;
	int r;

	(void)state;
	/* relative paths from the origin's cwd; -C; nested and denied trees
	 * dropped; /tmp itself and trees outside /tmp never */
	got = find("/tmp/a/sub", NULL, &r, &e, "--read", "/usr", "-w", "/tmp/a", "--write=/tmp/a/b",
		   "-r", "rel", "--deny", "/tmp/d", "-w", "/tmp/d/x", "-C", "/tmp/c", "--write",
		   "/tmp/ab", "-w/tmp/e", "--write", "/tmp", NULL);
	assert_int_equal(r, 0);
	assert_string_equal(got, "/tmp/c=--cwd ro\n"
				 "/tmp/a=--write rw\n"
				 "/tmp/ab=--write rw\n"
				 "/tmp/e=--write rw\n");
	free(got);
	/* the cwd first; of equal trees the first is kept */
	got = find("/tmp/w", NULL, &r, &e, "-r", "/tmp/x", "-w", "/tmp/x", "-r", "/tmp/w/in", NULL);
	assert_int_equal(r, 0);
	assert_string_equal(got, "/tmp/w=the working directory ro\n/tmp/x=--read rw\n");
	free(got);
	/* the origin's final --write /tmp (every remote job's: its private
	 * /tmp) writes no tree, the user's own does; --write / writes them
	 * all; a write tree beneath a read one makes the outer one writable */
	got = find("/tmp/r", NULL, &r, &e, "-r", "/", "--write", "/tmp", NULL);
	assert_string_equal(got, "/tmp/r=the working directory ro\n");
	free(got);
	got = find("/tmp/r", NULL, &r, &e, "-r", "/", "--write", "/tmp", "--write", "/tmp", NULL);
	assert_string_equal(got, "/tmp/r=the working directory rw\n");
	free(got);
	got = find("/tmp/r", NULL, &r, &e, "-w", "/tmp", "-r", "/", NULL);
	assert_string_equal(got, "/tmp/r=the working directory rw\n");
	free(got);
	got = find("/tmp/r", NULL, &r, &e, "-w", "/", NULL);
	assert_string_equal(got, "/tmp/r=the working directory rw\n");
	free(got);
	got = find("/", NULL, &r, &e, "-r", "/tmp/r", "-w", "/tmp/r/o", NULL);
	assert_string_equal(got, "/tmp/r=--read rw\n");
	free(got);
	/* a denied working directory is kept: the origin refuses it */
	got = find("/tmp/q", NULL, &r, &e, "-r", "/", "--deny", "/tmp/q", NULL);
	assert_int_equal(r, 0);
	assert_string_equal(got, "/tmp/q=the working directory ro\n");
	free(got);
	/* nothing beneath /tmp: nothing served, whatever the cwd's spelling */
	got = find("/home/u/./proj/", NULL, &r, &e, "-w", "/tmp", "-w", "/tmpx/y", NULL);
	assert_int_equal(r, 0);
	assert_string_equal(got, "");
	free(got);
	got = find("/tmp/../tmp/p/./", NULL, &r, &e, NULL);
	assert_string_equal(got, "/tmp/p=the working directory ro\n");
	free(got);
}

static void test_bad_flags(void **state)
{
	struct mos_err e = { "" };
	char *got;
	int r;

	(void)state;
	got = find("/tmp/a", NULL, &r, &e, "--memory", "lots", NULL);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(e.msg, "the job's sandbox options: --memory"));
	assert_string_equal(got, "");
	free(got);
}

static void put(const char *rel, const char *content)
{
	char p[PATH_MAX + 64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void test_policy_file(void **state)
{
	char p[PATH_MAX + 64], q[PATH_MAX + 64];
	struct mos_err e = { "" };
	char *got;
	int r;

	(void)state;
	snprintf(p, sizeof(p), "%s/tmp/job", root);
	assert_int_equal(mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/w", root);
	assert_int_equal(mkdir_p(p, 0755), 0);
	put("tmp/job/p.json", "{\"fs\": {\"write\": [\"out\"], \"read\": [\"/tmp/other\", "
			      "\"/usr\"], \"deny\": [\"/tmp/other/s\"]}, \"cwd\": \"/tmp/pc\"}\n");
	/* read from the view, not from this machine's /tmp; a flag's tree
	 * beneath the file's --deny is dropped */
	got = find("/w", root, &r, &e, "--policy", "/tmp/job/p.json", "-w", "/tmp/other/s/x", NULL);
	assert_int_equal(r, 0);
	assert_string_equal(got, "/tmp/job/p.json=--policy ro\n"
				 "/tmp/pc=the policy's cwd ro\n"
				 "/tmp/other=/tmp/job/p.json:1:36 rw\n"
				 "/tmp/job/out=/tmp/job/p.json:1:19 rw\n");
	free(got);
	/* relative to the cwd, and through a symlink resolved inside the view */
	snprintf(p, sizeof(p), "%s/w/link.json", root);
	assert_int_equal(symlink("/tmp/job/p.json", p), 0);
	got = find("/w", root, &r, &e, "--policy", "link.json", NULL);
	assert_int_equal(r, 0);
	/* (relative rules from the link's directory, as the sandbox takes them) */
	assert_non_null(strstr(got, "/tmp/other="));
	assert_null(strstr(got, "link.json=--policy"));
	free(got);
	/* unreadable or malformed: no trees from it (the sandbox says why) */
	put("tmp/job/bad.json", "{\"fs\": ");
	got = find("/w", root, &r, &e, "--policy", "/tmp/job/bad.json", NULL);
	assert_int_equal(r, 0);
	assert_string_equal(got, "");
	free(got);
	snprintf(q, sizeof(q), "/tmp/job/none.json");
	got = find("/w", root, &r, &e, "--policy", q, NULL);
	assert_int_equal(r, 0);
	assert_string_equal(got, "");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags_and_cwd),
		cmocka_unit_test(test_bad_flags),
		cmocka_unit_test(test_policy_file),
	};

	return cmocka_run_group_tests_name("job_tmp", tests, setup, teardown);
}
