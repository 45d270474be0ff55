// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_open_cache.c - the per-job memory of OPEN answers: kept, replaced,
 * and forgotten for a path and everything beneath it, never for a sibling
 * that merely shares a prefix.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "open_cache.h"

static void put(struct open_cache *oc, const char *path, uint8_t tag)
{
	struct mos_attr a = { .size = tag };
	uint8_t h[32];

	memset(h, tag, sizeof(h));
	open_cache_put(oc, path, &a, h);
}

static int get(struct open_cache *oc, const char *path)
{
	struct mos_attr a;
	uint8_t h[32];

	if (!open_cache_get(oc, path, &a, h))
		return -1;
	assert_int_equal(h[31], a.size);
	return (int)a.size;
}

static void test_put_get_replace(void **state)
{
	struct open_cache *oc = open_cache_new();

	(void)state;
	assert_int_equal(get(oc, "/a"), -1);
	put(oc, "/a", 1);
	assert_int_equal(get(oc, "/a"), 1);
	put(oc, "/a", 2);
	assert_int_equal(get(oc, "/a"), 2);
	open_cache_free(oc);
}

static void test_forget_beneath(void **state)
{
	struct open_cache *oc = open_cache_new();

	(void)state;
	put(oc, "/src", 1);
	put(oc, "/src/a.c", 2);
	put(oc, "/src/sub/b.c", 3);
	put(oc, "/src2/c.c", 4);
	put(oc, "/srcfile", 5);
	open_cache_forget(oc, "/src");
	assert_int_equal(get(oc, "/src"), -1);
	assert_int_equal(get(oc, "/src/a.c"), -1);
	assert_int_equal(get(oc, "/src/sub/b.c"), -1);
	assert_int_equal(get(oc, "/src2/c.c"), 4);
	assert_int_equal(get(oc, "/srcfile"), 5);
	open_cache_forget(oc, "/");
	assert_int_equal(get(oc, "/src2/c.c"), -1);
	open_cache_free(oc);
}

static void test_many(void **state)
{
	struct open_cache *oc = open_cache_new();
	char p[64];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "/usr/include/h%d.h", i);
		put(oc, p, (uint8_t)(i % 251));
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "/usr/include/h%d.h", i);
		assert_int_equal(get(oc, p), i % 251);
	}
	open_cache_free(oc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_replace),
		cmocka_unit_test(test_forget_beneath),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests_name("open_cache", tests, NULL, NULL);
}
