// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_decider_answer.c - the reading of a --decider's answer line
 * (sup_decider_answer in userspace/confine/unotify/supervise_ui.c), against the
 * contract of Documentation/supervisor.md: the line answers the question
 * its first number names; the verdict is the "verdict" member of a JSON
 * object, else the first word after the id; only "allow" and "always"
 * allow.  A reader that looked for those words anywhere in the line would
 * let "disallow" allow.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "supervise_ui.h"

static const struct {
	const char *line;
	unsigned long id;
	int want;
} cases[] = {
	{ "{\"id\":3,\"verdict\":\"allow\"}", 3, 0 },
	{ "{\"id\":3,\"verdict\":\"always\"}", 3, 1 },
	{ "{\"id\":3,\"verdict\":\"deny\"}", 3, -EACCES },
	{ "{\"verdict\":\"allow\",\"id\":3}", 3, 0 },
	{ "  {\"id\": 3 , \"verdict\" : \"always\" }\r", 3, 1 },
	{ "3 allow", 3, 0 },
	{ "3 always", 3, 1 },
	{ "3\tdeny", 3, -EACCES },
	{ "id=3: allow", 3, 0 },
	/* only the exact words allow */
	{ "{\"id\":3,\"verdict\":\"disallow\"}", 3, -EACCES },
	{ "{\"id\":3,\"verdict\":\"ALLOW\"}", 3, -EACCES },
	{ "{\"id\":3,\"verdict\":\"allowed\"}", 3, -EACCES },
	{ "{\"id\":3,\"verdict\":\"deny\",\"note\":\"not always\"}", 3, -EACCES },
	{ "{\"id\":3,\"why\":\"allow\"}", 3, -EACCES },
	{ "{\"id\":3,\"verdict\":true}", 3, -EACCES },
	{ "3 deny (allow later)", 3, -EACCES },
	{ "3 disallow", 3, -EACCES },
	{ "3", 3, -EACCES },
	{ "3 ALLOW always", 3, -EACCES }, /* the first word is ALLOW: not "allow" */
	{ "3 DENY, always ask", 3, -EACCES },
	{ "3: allow", 3, 0 },
	/* another question, or none */
	{ "{\"id\":2,\"verdict\":\"allow\"}", 3, -ESRCH },
	{ "{\"id\":33,\"verdict\":\"allow\"}", 3, -ESRCH },
	{ "4 allow", 3, -ESRCH },
	{ "allow", 3, -ESRCH },
	{ "", 3, -ESRCH },
	{ "99999999999999999999999999 allow", 3, -ESRCH },
};

static void test_contract(void **state)
{
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int want = cases[i].want, got = sup_decider_answer(cases[i].line, cases[i].id);

		if (got != want) {
			print_message("# '%s' for question %lu: got %d, want %d\n", cases[i].line,
				      cases[i].id, got, want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
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
		cmocka_unit_test(test_contract),
		cmocka_unit_test(test_words_elsewhere_do_not_allow),
	};

	return cmocka_run_group_tests_name("decider_answer", tests, NULL, NULL);
}
