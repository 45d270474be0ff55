// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_resource_limits.c - how each limit is enforced (limits_plan), with
 * fake cgroup capabilities, and the rlimits applied in a forked child.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "resource_limits.h"

static bool report_has(const struct mos_report *rep, const char *part)
{
	for (size_t i = 0; i < rep->nlines; i++)
		if (strstr(rep->lines[i], part))
			return true;
	return false;
}

static void test_procs_root_without_cgroup(void **state)
{
	struct mos_limits lim = { .procs = 64 };
	struct mos_cgroup_caps caps = { 0 };
	struct limits_plan lp;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };
	int r;

	(void)state;
	r = limits_plan(&lim, &caps, 0, &lp, &rep, &e);
	assert_true(r < 0);
	assert_non_null(strstr(e.msg, "process limit"));
	assert_non_null(strstr(e.msg, "uid 0"));
	/* with a memory cgroup only, still no way to count root's processes */
	caps.memory_version = 2;
	e.msg[0] = '\0';
	assert_true(limits_plan(&lim, &caps, 0, &lp, &rep, &e) < 0);
	assert_non_null(strstr(e.msg, "process limit"));
	report_free(&rep);
}

static void test_procs_non_root(void **state)
{
	struct mos_limits lim = { .procs = 64 };
	struct mos_cgroup_caps caps = { 0 };
	struct limits_plan lp;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };

	(void)state;
	assert_int_equal(limits_plan(&lim, &caps, 1000, &lp, &rep, &e), 0);
	assert_true(lp.rlimit_nproc);
	assert_false(lp.cgroup_pids);
	assert_false(lp.cgroup_memory);
	assert_int_equal(lp.lim.procs, 64);
	assert_true(report_has(&rep, "RLIMIT_NPROC"));
	report_free(&rep);
}

static void test_procs_cgroup(void **state)
{
	struct mos_limits lim = { .procs = 10 };
	struct mos_cgroup_caps caps = { .pids_version = 2 };
	struct limits_plan lp;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };
	const uid_t uids[] = { 0, 1000 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(limits_plan(&lim, &caps, uids[i], &lp, &rep, &e), 0);
		assert_true(lp.cgroup_pids);
		assert_false(lp.rlimit_nproc);
		assert_true(report_has(&rep, "cgroup v2 pids.max"));
		report_free(&rep);
	}
	/* a v1 pids hierarchy serves root too */
	caps.pids_version = 1;
	assert_int_equal(limits_plan(&lim, &caps, 0, &lp, &rep, &e), 0);
	assert_true(lp.cgroup_pids);
	assert_true(report_has(&rep, "cgroup v1"));
	report_free(&rep);
}

static void test_memory(void **state)
{
	struct mos_limits lim = { .memory = 256ULL << 20 };
	struct mos_cgroup_caps caps = { 0 };
	struct limits_plan lp;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };

	(void)state;
	/* without a cgroup: RLIMIT_AS per process only, and it says so */
	assert_int_equal(limits_plan(&lim, &caps, 0, &lp, &rep, &e), 0);
	assert_false(lp.cgroup_memory);
	assert_int_equal(lp.lim.memory, 256ULL << 20);
	assert_true(report_has(&rep, "268435456 bytes per process (RLIMIT_AS)"));
	report_free(&rep);

	caps.memory_version = 2;
	assert_int_equal(limits_plan(&lim, &caps, 1000, &lp, &rep, &e), 0);
	assert_true(lp.cgroup_memory);
	assert_false(lp.cgroup_pids);
	assert_false(lp.rlimit_nproc);
	assert_true(report_has(&rep, "whole sandbox (cgroup v2)"));
	report_free(&rep);

	/* a memory cgroup is not used when no memory limit is asked for */
	lim.memory = 0;
	assert_int_equal(limits_plan(&lim, &caps, 1000, &lp, &rep, &e), 0);
	assert_false(lp.cgroup_memory);
	report_free(&rep);
}

static void test_no_limits(void **state)
{
	struct mos_limits lim = { 0 };
	struct mos_cgroup_caps caps = { .pids_version = 2, .memory_version = 2 };
	struct limits_plan lp;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };

	(void)state;
	memset(&lp, 0xff, sizeof(lp));
	/* root without a process limit needs nothing */
	assert_int_equal(limits_plan(&lim, &caps, 0, &lp, &rep, &e), 0);
	assert_false(lp.cgroup_pids);
	assert_false(lp.cgroup_memory);
	assert_false(lp.rlimit_nproc);
	assert_int_equal(rep.nlines, 0);
	assert_int_equal(rep.nweak, 0);
	report_free(&rep);
	caps.pids_version = caps.memory_version = 0;
	assert_int_equal(limits_plan(&lim, &caps, 0, &lp, &rep, &e), 0);
	report_free(&rep);
}

static void test_other_limits(void **state)
{
	struct mos_limits lim = { .open_files = 256, .cpu_s = 30, .timeout_ms = 1500 };
	struct mos_cgroup_caps caps = { 0 };
	struct limits_plan lp;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };

	(void)state;
	assert_int_equal(limits_plan(&lim, &caps, 0, &lp, &rep, &e), 0);
	assert_int_equal(lp.lim.open_files, 256);
	assert_int_equal(lp.lim.cpu_s, 30);
	assert_int_equal(lp.lim.timeout_ms, 1500);
	assert_true(report_has(&rep, "256 open files"));
	assert_true(report_has(&rep, "30 s of CPU"));
	assert_true(report_has(&rep, "1.500 s"));
	report_free(&rep);
}

/* Run FN in a child (limits_apply_rlimits changes the calling process). */
static void in_child(int (*fn)(void))
{
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		fail_msg("child check failed: %d", WEXITSTATUS(status));
}

static int apply_plain(void)
{
	struct limits_plan lp = { .lim = { .open_files = 64, .cpu_s = 100 } };
	struct rlimit rl;

	if (limits_apply_rlimits(&lp) != 0)
		return 1;
	/* core dumps are always off */
	if (getrlimit(RLIMIT_CORE, &rl) < 0 || rl.rlim_cur != 0 || rl.rlim_max != 0)
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 64 || rl.rlim_max != 64)
		return 3;
	/* the policy's CPU seconds are the soft limit; the hard one at most a
	 * second later */
	if (getrlimit(RLIMIT_CPU, &rl) < 0 || rl.rlim_cur != 100 || rl.rlim_max < 100 ||
	    rl.rlim_max > 101)
		return 4;
	return 0;
}

static int apply_keeps_lower(void)
{
	struct limits_plan lp = { .lim = { .open_files = 4096, .cpu_s = 1000 } };
	struct rlimit rl = { 500, 500 };

	/* limits the caller already has lower are kept, never raised */
	if (setrlimit(RLIMIT_CPU, &rl) < 0)
		return 1;
	rl.rlim_cur = rl.rlim_max = 32;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 2;
	if (limits_apply_rlimits(&lp) != 0)
		return 3;
	if (getrlimit(RLIMIT_CPU, &rl) < 0 || rl.rlim_cur != 500 || rl.rlim_max != 500)
		return 4;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 32 || rl.rlim_max != 32)
		return 5;
	return 0;
}

static void test_apply_rlimits(void **state)
{
	(void)state;
	in_child(apply_plain);
	in_child(apply_keeps_lower);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procs_root_without_cgroup),
		cmocka_unit_test(test_procs_non_root),
		cmocka_unit_test(test_procs_cgroup),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_no_limits),
		cmocka_unit_test(test_other_limits),
		cmocka_unit_test(test_apply_rlimits),
	};

	return cmocka_run_group_tests_name("resource_limits", tests, NULL, NULL);
}
