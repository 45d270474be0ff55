// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_lsm_domain.c - what userspace/confine/bpf/lsm_domain.c does without a usable
 * BPF LSM (this host refuses LSM programs): it fails with a message naming
 * why, and leaves nothing behind; and its op names.  Its work with the BPF
 * LSM is tested in guest kernels (tests/vm/bpf_lsm_domain.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "bpf_lsm_probe.h"
#include "lsm_domain.h"

static void test_open_without_bpf_lsm(void **state)
{
	struct lsm_ctl *c = (struct lsm_ctl *)1;
	struct mos_err e = { "" };
	char why[256];
	int r;

	(void)state;
	if (mos_bpf_lsm_probe(why, sizeof(why)) == MOS_BPF_LSM_USABLE) {
		print_message("# the BPF LSM is usable here: not loading it from a unit test\n");
		skip();
	}
	r = lsm_ctl_open(&c, &e);
	assert_true(r < 0);
	assert_null(c);
	assert_int_equal(strncmp(e.msg, "BPF LSM: ", 9), 0);
	print_message("# %s\n", e.msg);
}

static void test_op_names(void **state)
{
	(void)state;
	for (int op = MOS_LSM_OP_OPEN; op <= MOS_LSM_OP_LISTEN; op++)
		assert_string_not_equal(lsm_op_name(op), "?");
	assert_string_equal(lsm_op_name(MOS_LSM_OP_CONNECT), "connect");
	assert_string_equal(lsm_op_name(0), "?");
	assert_string_equal(lsm_op_name(MOS_LSM_OP_LISTEN + 1), "?");
	assert_string_equal(lsm_op_name(-1), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_without_bpf_lsm),
		cmocka_unit_test(test_op_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
