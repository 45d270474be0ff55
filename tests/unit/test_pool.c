// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_pool.c - `--on` lists and pool files parsed (and refused with the
 * file and line), placement by the workers' reports, backoff doubling and
 * its state file's text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool.h"
#include "util.h"

static void test_worker_valid(void **state)
{
	const char *why;

	(void)state;
	assert_true(pool_worker_valid("local", &why));
	assert_true(pool_worker_valid("w1", &why));
	assert_true(pool_worker_valid("w1:4977", &why));
	assert_true(pool_worker_valid("10.0.0.2:1", &why));
	assert_true(pool_worker_valid("[::1]:4977", &why));
	assert_true(pool_worker_valid("[fe80::1%eth0]", &why));
	assert_true(pool_worker_valid("ssh://build@w2", &why));
	assert_true(pool_worker_valid("ssh://w2", &why));
	assert_false(pool_worker_valid("", &why));
	assert_false(pool_worker_valid("w1:", &why));
	assert_false(pool_worker_valid("w1:0", &why));
	assert_false(pool_worker_valid("w1:65536", &why));
	assert_false(pool_worker_valid("w1:http", &why));
	assert_false(pool_worker_valid("::1", &why));
	assert_string_equal(why, "an IPv6 address without brackets ([ADDR]:PORT)");
	assert_false(pool_worker_valid("[::1", &why));
	assert_false(pool_worker_valid("ssh://", &why));
	assert_false(pool_worker_valid("ssh://@w", &why));
	assert_false(pool_worker_valid("http://w", &why));
	assert_false(pool_worker_valid("w 1", &why));
	assert_false(pool_worker_valid("w/1", &why));
}

static void test_list(void **state)
{
	struct pool p = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(pool_parse_list(&p, "w1:4977,w2,local", err, sizeof(err)), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.w[0].spec, "w1:4977");
	assert_string_equal(p.w[1].spec, "w2");
	assert_string_equal(p.w[2].spec, "local");
	assert_int_equal(p.w[0].slots, 0);
	pool_free(&p);

	assert_int_equal(pool_parse_list(&p, "w1", err, sizeof(err)), 0);
	assert_int_equal(p.n, 1);
	pool_free(&p);

	assert_int_equal(pool_parse_list(&p, "w1,,w2", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty worker name"));
	pool_free(&p);
	assert_int_equal(pool_parse_list(&p, "w1,", err, sizeof(err)), -EINVAL);
	pool_free(&p);
	assert_int_equal(pool_parse_list(&p, "w1,w1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "listed twice"));
	pool_free(&p);
	assert_int_equal(pool_parse_list(&p, "w1,@farm", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "whole --on"));
	pool_free(&p);
	assert_int_equal(pool_parse_list(&p, "w1,w2:x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'w2:x'"));
	pool_free(&p);
}

static void test_file(void **state)
{
	struct pool p = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(pool_parse_file(&p,
					 "# the farm\n"
					 "w1:4977 8\n"
					 "\n"
					 "   w2\t4   # the small one\n"
					 "ssh://u@w3\n"
					 "local 1",
					 "farm", err, sizeof(err)),
			 0);
	assert_int_equal(p.n, 4);
	assert_string_equal(p.w[0].spec, "w1:4977");
	assert_int_equal(p.w[0].slots, 8);
	assert_string_equal(p.w[1].spec, "w2");
	assert_int_equal(p.w[1].slots, 4);
	assert_int_equal(p.w[2].slots, 0);
	assert_string_equal(p.w[3].spec, "local");
	assert_int_equal(p.w[3].slots, 1);
	pool_free(&p);

	assert_int_equal(pool_parse_file(&p, "w1\nw2 zero\n", "/c/pools/farm", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(
		err, "/c/pools/farm:2: the slot count 'zero' is not a number from 1 to 4096");
	pool_free(&p);
	assert_int_equal(pool_parse_file(&p, "w1 0\n", "f", err, sizeof(err)), -EINVAL);
	pool_free(&p);
	assert_int_equal(pool_parse_file(&p, "w1 -3\n", "f", err, sizeof(err)), -EINVAL);
	pool_free(&p);
	assert_int_equal(pool_parse_file(&p, "w1 5000\n", "f", err, sizeof(err)), -EINVAL);
	pool_free(&p);
	assert_int_equal(pool_parse_file(&p, "# x\n\nw1 2 3\n", "f", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "f:3: more than a worker and a slot count on the line");
	pool_free(&p);
	assert_int_equal(pool_parse_file(&p, "w1:99999\n", "f", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "f:1: 'w1:99999': the port"));
	pool_free(&p);
	assert_int_equal(pool_parse_file(&p, "@other\n", "f", err, sizeof(err)), -EINVAL);
	pool_free(&p);
	assert_int_equal(pool_parse_file(&p, "w1\nw1 2\n", "f", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "f:2: 'w1': the worker is listed twice");
	pool_free(&p);
}

static void test_load(void **state)
{
	char dir[] = "/tmp/test_pool.XXXXXX";
	struct pool p = { 0 };
	char err[512] = "";
	_cleanup_free_ char *pools = NULL, *farm = NULL, *empty = NULL, *bad = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	pools = xasprintf("%s/pools", dir);
	assert_int_equal(mkdir(pools, 0700), 0);
	farm = xasprintf("%s/farm", pools);
	f = fopen(farm, "w");
	fputs("w1 2\nw2\n", f);
	fclose(f);
	empty = xasprintf("%s/empty", pools);
	f = fopen(empty, "w");
	fputs("# nothing\n", f);
	fclose(f);
	bad = xasprintf("%s/bad", pools);
	assert_int_equal(mkfifo(bad, 0600), 0);

	assert_int_equal(pool_load(&p, "@farm", dir, err, sizeof(err)), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.w[0].slots, 2);
	pool_free(&p);
	assert_int_equal(pool_load(&p, "a,b", dir, err, sizeof(err)), 0);
	assert_int_equal(p.n, 2);
	pool_free(&p);
	assert_true(pool_load(&p, "@missing", dir, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "missing"));
	/* a FIFO is refused, not waited on */
	assert_int_equal(pool_load(&p, "@bad", dir, err, sizeof(err)), -EINVAL);
	assert_int_equal(pool_load(&p, "@empty", dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "names no worker"));
	assert_int_equal(pool_load(&p, "@../x", dir, err, sizeof(err)), -EINVAL);
	assert_int_equal(pool_load(&p, "@.hidden", dir, err, sizeof(err)), -EINVAL);
	assert_int_equal(pool_load(&p, "", dir, err, sizeof(err)), -EINVAL);

	unlink(farm);
	unlink(empty);
	unlink(bad);
	rmdir(pools);
	rmdir(dir);
}

static void test_default_spec(void **state)
{
	(void)state;
	unsetenv("MOS_ON");
	assert_null(pool_default_spec());
	setenv("MOS_ON", "", 1);
	assert_null(pool_default_spec());
	setenv("MOS_ON", "@farm", 1);
	assert_string_equal(pool_default_spec(), "@farm");
	unsetenv("MOS_ON");
}

static void test_place(void **state)
{
	struct pool_load_info in[4] = { 0 };
	size_t order[4];
	unsigned hint[4] = { 0 };

	(void)state;
	/* no reports: rotation alone spreads origins */
	pool_place(in, NULL, 3, 0, order);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2);
	pool_place(in, NULL, 3, 1, order);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 0);
	pool_place(in, NULL, 3, 5, order);
	assert_int_equal(order[0], 2);

	/* a free slot beats a lower load; the load per CPU decides next */
	in[0] = (struct pool_load_info){
		.reported = true, .slots = 2, .running = 2, .cpus = 8, .load1000 = 0
	};
	in[1] = (struct pool_load_info){
		.reported = true, .slots = 4, .running = 1, .cpus = 2, .load1000 = 2000
	};
	in[2] = (struct pool_load_info){
		.reported = true, .slots = 4, .running = 3, .cpus = 8, .load1000 = 2000
	};
	pool_place(in, NULL, 3, 0, order);
	assert_int_equal(order[0], 2); /* 250 per CPU */
	assert_int_equal(order[1], 1); /* 1000 per CPU */
	assert_int_equal(order[2], 0); /* full */

	/* backed off: last, whatever its report */
	in[2].backed_off = true;
	pool_place(in, NULL, 3, 0, order);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 0);
	assert_int_equal(order[2], 2);

	/* same load: fewer running first; then rotation */
	memset(in, 0, sizeof(in));
	for (int i = 0; i < 4; i++)
		in[i] = (struct pool_load_info){
			.reported = true, .slots = 4, .running = 1, .cpus = 4, .load1000 = 1000
		};
	in[3].running = 0;
	pool_place(in, NULL, 4, 0, order);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 0);
	pool_place(in, NULL, 4, 2, order);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 2);

	/* unreported workers: the pool file's slot count says when they are full
	 * (not from here: running is unknown, so they count as free) */
	memset(in, 0, sizeof(in));
	hint[0] = 1;
	in[1] = (struct pool_load_info){ .reported = true, .slots = 1, .running = 1, .cpus = 1 };
	pool_place(in, hint, 2, 0, order);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	/* ... but after a worker known to have room, whatever its load */
	in[1].slots = 2;
	in[1].load1000 = 5000;
	pool_place(in, hint, 2, 0, order);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 0);
}

static void test_reports(void **state)
{
	struct pool_reports rs;
	struct pool_report *r;
	struct pool_load_info info = { 0 };
	_cleanup_free_ char *text = NULL;

	(void)state;
	pool_reports_parse(&rs, "w1 5000 ok 4 1 8 1500 2\n"
				"junk\n"
				"w2 6000 none\n"
				"w3 6000 ok 4 1\n"		/* too short */
				"w4 6000 busy 4 1 8 1500 2\n"	/* unknown state */
				"w1 7000 ok 1 1 1 1 1\n"	/* twice: the first stays */
				"w5 6000 ok 99999 1 8 1500 2\n" /* slots out of range */
				"bad:port:x 6000 none\n");
	assert_int_equal(rs.n, 2);
	r = pool_reports_find(&rs, "w1");
	assert_non_null(r);
	assert_true(r->ok);
	assert_int_equal(r->at_ms, 5000);
	assert_true(pool_report_fresh(r, 5999));
	assert_false(pool_report_fresh(r, 6000));
	assert_false(pool_report_fresh(r, 4000)); /* from the future: stale */
	pool_report_info(r, &info);
	assert_true(info.reported);
	assert_int_equal(info.slots, 4);
	assert_int_equal(info.running, 3); /* 1 reported + 2 placed since */
	assert_int_equal(info.cpus, 8);
	assert_int_equal(info.load1000, 1500);
	memset(&info, 0, sizeof(info));
	pool_report_info(pool_reports_find(&rs, "w2"), &info);
	assert_false(info.reported);
	r = pool_reports_get(&rs, "w9");
	assert_int_equal(r->at_ms, 0);
	assert_false(pool_report_fresh(r, 1));
	assert_ptr_equal(pool_reports_get(&rs, "w9"), r);
	/* never-reported entries are not written; over an hour old neither */
	text = pool_reports_format(&rs, 6000);
	assert_string_equal(text, "w1 5000 ok 4 1 8 1500 2\nw2 6000 none\n");
	free(text);
	text = pool_reports_format(&rs, 5000 + 3600 * 1000 + 1);
	assert_string_equal(text, "w2 6000 none\n");
	pool_reports_free(&rs);
}

static void test_backoff(void **state)
{
	struct pool_backoffs bs;
	_cleanup_free_ char *text = NULL;

	(void)state;
	assert_int_equal(pool_backoff_next(0), 2000);
	assert_int_equal(pool_backoff_next(2000), 4000);
	assert_int_equal(pool_backoff_next(4000), 8000);
	assert_int_equal(pool_backoff_next(160000), 300000);
	assert_int_equal(pool_backoff_next(300000), 300000);

	pool_backoffs_parse(&bs, "w1 5000 2000\nthis is junk\nw2 1 2 3\n\nw3 100 4000\nw1 9 9\n");
	assert_int_equal(bs.n, 2);
	assert_true(pool_backoffs_active(&bs, "w1", 4999));
	assert_false(pool_backoffs_active(&bs, "w1", 5000));
	assert_false(pool_backoffs_active(&bs, "w2", 0));
	pool_backoffs_fail(&bs, "w1", 10000);
	assert_int_equal(pool_backoffs_find(&bs, "w1")->delay_ms, 4000);
	assert_int_equal(pool_backoffs_find(&bs, "w1")->until_ms, 14000);
	pool_backoffs_fail(&bs, "w4", 10000);
	assert_int_equal(pool_backoffs_find(&bs, "w4")->delay_ms, 2000);
	pool_backoffs_ok(&bs, "w3");
	assert_null(pool_backoffs_find(&bs, "w3"));
	text = pool_backoffs_format(&bs, 10000);
	assert_string_equal(text, "w1 14000 4000\nw4 12000 2000\n");
	pool_backoffs_free(&bs);

	/* entries over an hour old are dropped when written */
	pool_backoffs_parse(&bs, "w1 1000 2000\n");
	free(text);
	text = pool_backoffs_format(&bs, 1000 + 3600 * 1000 + 1);
	assert_string_equal(text, "");
	pool_backoffs_free(&bs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_valid), cmocka_unit_test(test_list),
		cmocka_unit_test(test_file),	     cmocka_unit_test(test_load),
		cmocka_unit_test(test_default_spec), cmocka_unit_test(test_place),
		cmocka_unit_test(test_backoff),	     cmocka_unit_test(test_reports),
	};

	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
