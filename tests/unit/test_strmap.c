// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_strmap.c - the string hash map (userspace/core/strmap.c): SipHash-2-4
 * against the vector of its paper, keys that differ by a byte or by length,
 * binary keys, growth through many keys, values that stay where they were
 * put, and the per-process hash key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "strmap.h"

static void test_siphash_vector(void **state)
{
	uint8_t key[16], msg[64];

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* Appendix A of the paper: key 00..0f, message 00..0e */
	assert_true(siphash24(msg, 15, key) == 0xa129ca6149be45e5ULL);
	/* the empty message and the first full block (the reference's vectors) */
	assert_true(siphash24(msg, 0, key) == 0x726fdb47dd0e0e31ULL);
	assert_true(siphash24(msg, 8, key) == 0x93f5f5799a932462ULL);
	/* every length hashes differently (the length is part of the last block) */
	for (int n = 1; n < 64; n++)
		assert_true(siphash24(msg, (size_t)n, key) != siphash24(msg, (size_t)n - 1, key));
}

static void test_basic(void **state)
{
	struct strmap m = { 0 };
	bool added;
	size_t *v;

	(void)state;
	assert_null(strmap_find_str(&m, "a"));
	v = strmap_add_str(&m, "a", 1, &added);
	assert_true(added);
	assert_int_equal(*v, 1);
	v = strmap_add_str(&m, "a", 2, &added);
	assert_false(added);
	assert_int_equal(*v, 1); /* the first value stays */
	*v = 7;
	assert_int_equal(*strmap_find_str(&m, "a"), 7);
	/* prefixes, the empty key, and bytes past a NUL are keys of their own */
	strmap_add_str(&m, "ab", 3, &added);
	assert_true(added);
	strmap_add_str(&m, "", 4, &added);
	assert_true(added);
	strmap_add(&m, "a\0b", 3, 5, &added);
	assert_true(added);
	strmap_add(&m, "a\0c", 3, 6, &added);
	assert_true(added);
	assert_int_equal(*strmap_find(&m, "a\0b", 3), 5);
	assert_int_equal(*strmap_find(&m, "a\0c", 3), 6);
	assert_int_equal(*strmap_find_str(&m, ""), 4);
	assert_int_equal(*strmap_find(&m, "ab", 1), 7); /* "a" */
	assert_null(strmap_find_str(&m, "b"));
	assert_int_equal(m.n, 5);
	strmap_free(&m);
	assert_int_equal(m.n, 0);
	assert_null(strmap_find_str(&m, "a"));
	strmap_free(&m); /* twice is fine */
}

static void test_many(void **state)
{
	struct strmap m = { 0 };
	size_t n = 100000;
	char k[32];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		bool added;

		snprintf(k, sizeof(k), "/some/path/%zu", i);
		assert_int_equal(*strmap_add_str(&m, k, i, &added), i);
		assert_true(added);
	}
	assert_int_equal(m.n, n);
	assert_true(m.cap >= 2 * n);
	for (size_t i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "/some/path/%zu", i);
		assert_int_equal(*strmap_find_str(&m, k), i);
		snprintf(k, sizeof(k), "/some/path/%zux", i);
		assert_null(strmap_find_str(&m, k));
	}
	strmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vector),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests_name("strmap", tests, NULL, NULL);
}
