// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_decider_answer.c - how mosctl reads a --decider's answer lines
 * (supervise_ui.c, sup_decider_answer; Documentation/supervisor.md): the
 * first number is the question's id, the verdict is the JSON "verdict" or
 * the word after the id, and nothing else in a line may allow.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "supervise_ui.h"

static void test_documented_answers(void **state)
{
	(void)state;
	assert_int_equal(sup_decider_answer("{\"id\":3,\"verdict\":\"allow\"}", 3), 0);
	assert_int_equal(sup_decider_answer("{\"id\":3,\"verdict\":\"always\"}", 3), 1);
	assert_int_equal(sup_decider_answer("{\"id\":3,\"verdict\":\"deny\"}", 3), -EACCES);
	assert_int_equal(sup_decider_answer("{\"verdict\":\"allow\",\"id\":3}", 3), 0);
	assert_int_equal(sup_decider_answer("3 allow", 3), 0);
	assert_int_equal(sup_decider_answer("3 always", 3), 1);
	assert_int_equal(sup_decider_answer("3: deny", 3), -EACCES);
	assert_int_equal(sup_decider_answer("3", 3), -EACCES);
}

static void test_other_questions(void **state)
{
	(void)state;
	assert_int_equal(sup_decider_answer("{\"id\":2,\"verdict\":\"allow\"}", 3), -ESRCH);
	assert_int_equal(sup_decider_answer("33 allow", 3), -ESRCH);
	assert_int_equal(sup_decider_answer("allow", 3), -ESRCH);
	assert_int_equal(sup_decider_answer("", 1), -ESRCH);
	assert_int_equal(sup_decider_answer("99999999999999999999999 allow", 3), -ESRCH);
}

/* The old reader allowed any line of the right id that held "allow" or
 * "always" anywhere: in an echoed path, a reason, "disallow". */
static void test_words_elsewhere_do_not_allow(void **state)
{
	(void)state;
	assert_int_equal(sup_decider_answer("{\"id\":1,\"syscall\":\"openat\",\"pid\":12,"
					    "\"access\":\"read\",\"path\":\"/tmp/always\","
					    "\"verdict\":\"deny\"}",
					    1),
			 -EACCES);
	assert_int_equal(sup_decider_answer("{\"id\":4,\"verdict\":\"deny\",\"why\":\"not "
					    "allowed\"}",
					    4),
			 -EACCES);
	assert_int_equal(sup_decider_answer("{\"id\":4,\"verdict\":\"disallow\"}", 4), -EACCES);
	assert_int_equal(sup_decider_answer("{\"id\":4,\"verdict\":\"Allow\"}", 4), -EACCES);
	assert_int_equal(sup_decider_answer("{\"id\":4}", 4), -EACCES);
	assert_int_equal(sup_decider_answer("4 deny (always)", 4), -EACCES);
	assert_int_equal(sup_decider_answer("4 disallow", 4), -EACCES);
	/* a word in capitals is the verdict too, not skipped on the way to
	 * the next lower-case one */
	assert_int_equal(sup_decider_answer("4 DENY, always ask", 4), -EACCES);
	assert_int_equal(sup_decider_answer("4: Deny (not allow)", 4), -EACCES);
	/* a JSON object the strict reader refuses (two verdicts) is read as
	 * a plain line, whose first word after the id is no verdict */
	assert_int_equal(sup_decider_answer("{\"id\":4,\"verdict\":\"deny\",\"verdict\":"
					    "\"allow\"}",
					    4),
			 -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_answers),
		cmocka_unit_test(test_other_questions),
		cmocka_unit_test(test_words_elsewhere_do_not_allow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
