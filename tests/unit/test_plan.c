// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_plan.c - the pure parts of userspace/confine/plan.c: the environment the
 * command gets (mos_env_build) and the --backend names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "plan.h"
#include "util.h"

static void assert_env(char **env, size_t n, const char *const *want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		if (i >= n || !env[i] || strcmp(env[i], want[i]))
			fail_msg("env[%zu] = \"%s\", expected \"%s\"", i,
				 i < n && env[i] ? env[i] : "(end)", want[i]);
	}
	assert_int_equal(n, i);
	assert_null(env[n]);
}

static char *caller[] = {
	"PATH=/usr/bin:/bin", "SECRET=hunter2", "HOME=/home/u", "PATHX=no",
	"TERM=xterm",	      "LANGUAGE=en",	"LANG=C.UTF-8", "LC_ALL=C",
	"NOEQUALS",	      "XPATH=no",	"HOMEDIR=/x",	NULL,
};

static void test_env_clean(void **state)
{
	static const char *const want[] = { "PATH=/usr/bin:/bin", "HOME=/home/u", "TERM=xterm",
					    "LANG=C.UTF-8", NULL };
	size_t n = 99;
	char **env = mos_env_build(caller, true, NULL, &n);

	(void)state;
	assert_env(env, n, want);
	strv_free(env);
}

static void test_env_inherit(void **state)
{
	static const char *const want[] = { "PATH=/usr/bin:/bin",
					    "SECRET=hunter2",
					    "HOME=/home/u",
					    "PATHX=no",
					    "TERM=xterm",
					    "LANGUAGE=en",
					    "LANG=C.UTF-8",
					    "LC_ALL=C",
					    "XPATH=no",
					    "HOMEDIR=/x",
					    NULL };
	size_t n = 99;
	char **env = mos_env_build(caller, false, NULL, &n);

	(void)state;
	/* entries without '=' are not passed on */
	assert_env(env, n, want);
	/* copies, not the caller's strings */
	assert_true(env[0] != caller[0]);
	strv_free(env);
}

static void test_env_set(void **state)
{
	static char *set[] = { "HOME=/new", "NEW=1", "PATH=", "NEW=2", "A=b=c", NULL };
	static const char *const want_clean[] = {
		"PATH=", "HOME=/new", "TERM=xterm", "LANG=C.UTF-8", "NEW=2", "A=b=c", NULL
	};
	static const char *const want_all[] = {
		"PATH=",       "SECRET=hunter2", "HOME=/new", "PATHX=no", "TERM=xterm",
		"LANGUAGE=en", "LANG=C.UTF-8",	 "LC_ALL=C",  "XPATH=no", "HOMEDIR=/x",
		"NEW=2",       "A=b=c",		 NULL
	};
	size_t n;
	char **env;

	(void)state;
	/* set replaces in place, or appends; later entries win */
	env = mos_env_build(caller, true, set, &n);
	assert_env(env, n, want_clean);
	strv_free(env);
	env = mos_env_build(caller, false, set, &n);
	assert_env(env, n, want_all);
	strv_free(env);
}

static void test_env_set_clean_removed(void **state)
{
	/* --clean-env drops SECRET; --env can bring a variable back */
	static char *set[] = { "SECRET=new", NULL };
	static const char *const want[] = { "PATH=/usr/bin:/bin", "HOME=/home/u", "TERM=xterm",
					    "LANG=C.UTF-8",	  "SECRET=new",	  NULL };
	size_t n;
	char **env = mos_env_build(caller, true, set, &n);

	(void)state;
	assert_env(env, n, want);
	strv_free(env);
}

static void test_env_prefix_keys(void **state)
{
	/* "A=" must not replace "AB=..." nor the other way round */
	static char *c[] = { "AB=1", "A=2", NULL };
	static char *set[] = { "A=3", "ABC=4", NULL };
	static const char *const want[] = { "AB=1", "A=3", "ABC=4", NULL };
	size_t n;
	char **env = mos_env_build(c, false, set, &n);

	(void)state;
	assert_env(env, n, want);
	strv_free(env);
}

static void test_env_empty(void **state)
{
	static const char *const none[] = { NULL };
	static char *empty[] = { NULL };
	static char *set[] = { "X=1", NULL };
	static const char *const want[] = { "X=1", NULL };
	size_t n = 99;
	char **env;

	(void)state;
	env = mos_env_build(NULL, true, NULL, &n);
	assert_non_null(env);
	assert_env(env, n, none);
	strv_free(env);
	env = mos_env_build(empty, false, empty, &n);
	assert_non_null(env);
	assert_env(env, n, none);
	strv_free(env);
	env = mos_env_build(NULL, false, set, &n);
	assert_env(env, n, want);
	strv_free(env);
}

static void test_backend(void **state)
{
	static const char *const bad[] = { "",	      "Auto",	 "LANDLOCK", "landlock ",    "ebpf",
					   "Unotify", "seccomp", "none",     "auto,landlock" };
	enum mos_backend b = (enum mos_backend)42;

	(void)state;
	assert_int_equal(mos_backend_parse("auto", &b), 0);
	assert_int_equal(b, MOS_BACKEND_AUTO);
	assert_int_equal(mos_backend_parse("landlock", &b), 0);
	assert_int_equal(b, MOS_BACKEND_LANDLOCK);
	assert_int_equal(mos_backend_parse("unotify", &b), 0);
	assert_int_equal(b, MOS_BACKEND_UNOTIFY);
	assert_int_equal(mos_backend_parse("bpf", &b), 0);
	assert_int_equal(b, MOS_BACKEND_BPF);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = (enum mos_backend)42;
		if (mos_backend_parse(bad[i], &b) != -EINVAL)
			fail_msg("backend \"%s\" accepted", bad[i]);
		assert_int_equal(b, 42);
	}
	/* names round-trip */
	assert_string_equal(mos_backend_name(MOS_BACKEND_AUTO), "auto");
	assert_string_equal(mos_backend_name(MOS_BACKEND_UNOTIFY), "unotify");
	assert_string_equal(mos_backend_name(MOS_BACKEND_BPF), "bpf");
	assert_string_equal(mos_backend_name(MOS_BACKEND_LANDLOCK), "landlock");
	for (int i = MOS_BACKEND_AUTO; i <= MOS_BACKEND_LANDLOCK; i++) {
		assert_int_equal(mos_backend_parse(mos_backend_name((enum mos_backend)i), &b), 0);
		assert_int_equal(b, i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_clean),
		cmocka_unit_test(test_env_inherit),
		cmocka_unit_test(test_env_set),
		cmocka_unit_test(test_env_set_clean_removed),
		cmocka_unit_test(test_env_prefix_keys),
		cmocka_unit_test(test_env_empty),
		cmocka_unit_test(test_backend),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
