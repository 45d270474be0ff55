// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_origin_scope.c - what the origin's file service answers for a job:
 * list/stat on the way to granted trees, reads beneath read or write trees,
 * changes beneath write trees only, nothing beneath a deny, symlinked trees
 * taken as resolved too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "origin_scope.h"
#include "policy.h"
#include "util.h"

static void test_read_write_deny(void **state)
{
	struct mos_policy p;
	struct mos_err e;
	struct origin_scope s;

	(void)state;
	policy_init(&p);
	assert_int_equal(
		policy_add_fs(&p, NULL, "/srv/src", MOS_FS_READ | MOS_FS_EXEC, false, "--read", &e),
		0);
	assert_int_equal(policy_add_fs(&p, NULL, "/srv/out", MOS_FS_ALL, false, "--write", &e), 0);
	assert_int_equal(policy_add_fs(&p, NULL, "/srv/src/.env", 0, true, "--deny", &e), 0);
	origin_scope_init(&s, &p, "/home/u/work");

	/* on the way */
	assert_true(origin_scope_allows(&s, "/", SCOPE_LIST));
	assert_true(origin_scope_allows(&s, "/srv", SCOPE_LIST));
	assert_true(origin_scope_allows(&s, "/home/u", SCOPE_LIST));
	assert_true(origin_scope_allows(&s, "/home/u/work", SCOPE_LIST));
	assert_false(origin_scope_allows(&s, "/home/u/work/secret", SCOPE_LIST));
	assert_false(origin_scope_allows(&s, "/home/u/.ssh", SCOPE_LIST));
	assert_false(origin_scope_allows(&s, "/srv", SCOPE_READ));
	/* read tree */
	assert_true(origin_scope_allows(&s, "/srv/src/a.c", SCOPE_READ));
	assert_true(origin_scope_allows(&s, "/srv/src/sub", SCOPE_LIST));
	assert_false(origin_scope_allows(&s, "/srv/src/a.c", SCOPE_WRITE));
	assert_false(origin_scope_allows(&s, "/srv/srcx/a.c", SCOPE_READ));
	/* write tree */
	assert_true(origin_scope_allows(&s, "/srv/out/a.o", SCOPE_WRITE));
	assert_true(origin_scope_allows(&s, "/srv/out/a.o", SCOPE_READ));
	assert_false(origin_scope_allows(&s, "/srv/outside", SCOPE_WRITE));
	assert_false(origin_scope_allows(&s, "/srv", SCOPE_WRITE));
	/* deny wins */
	assert_false(origin_scope_allows(&s, "/srv/src/.env", SCOPE_READ));
	assert_false(origin_scope_allows(&s, "/srv/src/.env", SCOPE_LIST));
	assert_false(origin_scope_allows(&s, "/srv/src/.env/x", SCOPE_READ));
	origin_scope_free(&s);
	policy_free(&p);
}

static void test_symlinked_tree_resolved(void **state)
{
	char dir[] = "/tmp/mos-scope-XXXXXX", real[128], link[128], resolved[PATH_MAX];
	struct mos_policy p;
	struct mos_err e;
	struct origin_scope s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(real, sizeof(real), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(mkdir(real, 0755), 0);
	assert_int_equal(symlink("real", link), 0);
	assert_non_null(realpath(real, resolved));
	policy_init(&p);
	assert_int_equal(policy_add_fs(&p, NULL, link, MOS_FS_READ, false, "--read", &e), 0);
	origin_scope_init(&s, &p, NULL);
	strcat(resolved, "/f");
	/* the worker asks for resolved paths */
	assert_true(origin_scope_allows(&s, resolved, SCOPE_READ));
	origin_scope_free(&s);
	policy_free(&p);
	rmdir(real);
	unlink(link);
	rmdir(dir);
}

static void test_system_set(void **state)
{
	struct mos_policy p;
	struct origin_scope s;

	(void)state;
	policy_init(&p);
	p.fs_system = true;
	origin_scope_init(&s, &p, NULL);
	assert_true(origin_scope_allows(&s, "/usr/include/stdio.h", SCOPE_READ));
	assert_false(origin_scope_allows(&s, "/usr/include/stdio.h", SCOPE_WRITE));
	assert_false(origin_scope_allows(&s, "/etc/shadow", SCOPE_READ));
	assert_false(origin_scope_allows(&s, "/root/.ssh/id_ed25519", SCOPE_READ));
	origin_scope_free(&s);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_write_deny),
		cmocka_unit_test(test_symlinked_tree_resolved),
		cmocka_unit_test(test_system_set),
	};

	return cmocka_run_group_tests_name("origin_scope", tests, NULL, NULL);
}
