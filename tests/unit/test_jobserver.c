// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_jobserver.c - MAKEFLAGS parsed for make's jobserver (pipe, the old
 * --jobserver-fds spelling, make 4.4's fifo form, garbage refused), and
 * tokens taken from a pipe all given back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jobserver.h"

static void test_parse(void **state)
{
	struct jobserver_auth a;

	(void)state;
	assert_int_equal(jobserver_parse(NULL, &a), 0);
	assert_int_equal(jobserver_parse("", &a), 0);
	assert_int_equal(jobserver_parse(" -j2", &a), 0);
	assert_int_equal(a.kind, JOBSERVER_NONE);
	assert_int_equal(jobserver_parse(" -j4 --jobserver-auth=3,4", &a), 1);
	assert_int_equal(a.kind, JOBSERVER_PIPE);
	assert_int_equal(a.rfd, 3);
	assert_int_equal(a.wfd, 4);
	assert_int_equal(jobserver_parse("w -j --jobserver-fds=7,8 -- V=1", &a), 1);
	assert_int_equal(a.rfd, 7);
	assert_int_equal(a.wfd, 8);
	/* the last one decides (a sub-make's MAKEFLAGS may carry both) */
	assert_int_equal(jobserver_parse("--jobserver-fds=3,4 --jobserver-auth=5,6", &a), 1);
	assert_int_equal(a.rfd, 5);
	assert_int_equal(jobserver_parse(" -j8 --jobserver-auth=fifo:/tmp/GMfifo1234", &a), 1);
	assert_int_equal(a.kind, JOBSERVER_FIFO);
	assert_string_equal(a.path, "/tmp/GMfifo1234");
	/* a key is only a key at the start of a word */
	assert_int_equal(jobserver_parse("X=--jobserver-auth=3,4", &a), 0);
	assert_int_equal(jobserver_parse("--jobserver-auth=", &a), -EINVAL);
	assert_int_equal(jobserver_parse("--jobserver-auth=3", &a), -EINVAL);
	assert_int_equal(jobserver_parse("--jobserver-auth=3,", &a), -EINVAL);
	assert_int_equal(jobserver_parse("--jobserver-auth=-1,4", &a), -EINVAL);
	assert_int_equal(jobserver_parse("--jobserver-auth=3,4x", &a), -EINVAL);
	assert_int_equal(jobserver_parse("--jobserver-auth=99999999999,4", &a), -EINVAL);
	assert_int_equal(jobserver_parse("--jobserver-auth=fifo:", &a), -EINVAL);
	assert_int_equal(jobserver_parse("--jobserver-auth=fifo:rel/path", &a), -EINVAL);
}

static void test_tokens_come_back(void **state)
{
	struct jobserver_auth a = { .kind = JOBSERVER_PIPE };
	struct jobserver js;
	char why[128], buf[8];
	int p[2], fl;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "+-", 2), 2);
	a.rfd = p[0];
	a.wfd = p[1];
	assert_int_equal(jobserver_open(&a, &js, why, sizeof(why)), 0);
	assert_int_equal(jobserver_try_take(&js), 1);
	assert_int_equal(jobserver_try_take(&js), 1);
	assert_int_equal(jobserver_try_take(&js), 0); /* none left: no wait */
	/* make's own descriptors stay blocking */
	fl = fcntl(p[0], F_GETFL);
	assert_int_equal(fl & O_NONBLOCK, 0);
	jobserver_close(&js);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 2);
	/* not a pipe: refused with the reason */
	a.rfd = open("/dev/null", O_RDONLY);
	assert_true(jobserver_open(&a, &js, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "not an open pipe"));
	close(a.rfd);
	close(p[0]);
	close(p[1]);
}

static void test_fifo(void **state)
{
	char dir[] = "/tmp/test_jobserver.XXXXXX", path[64], why[128], c;
	struct jobserver_auth a = { .kind = JOBSERVER_FIFO };
	struct jobserver js;
	int keep;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	keep = open(path, O_RDWR | O_NONBLOCK);
	assert_int_equal(write(keep, "x", 1), 1);
	snprintf(a.path, sizeof(a.path), "%s", path);
	assert_int_equal(jobserver_open(&a, &js, why, sizeof(why)), 0);
	assert_int_equal(jobserver_try_take(&js), 1);
	assert_int_equal(jobserver_try_take(&js), 0);
	jobserver_close(&js);
	assert_int_equal(read(keep, &c, 1), 1);
	assert_int_equal(c, 'x');
	close(keep);
	/* a regular file named as the fifo: refused */
	unlink(path);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	assert_true(jobserver_open(&a, &js, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "not a FIFO"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_tokens_come_back),
		cmocka_unit_test(test_fifo),
	};

	return cmocka_run_group_tests_name("jobserver", tests, NULL, NULL);
}
