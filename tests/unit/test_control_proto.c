// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_control_proto.c - the control socket's messages over a SEQPACKET
 * socketpair: a request arrives whole (arguments, working directory, three
 * fds that are the sender's own), and every malformed one (no magic, no
 * fds, not NUL-terminated, no command, truncated) is refused with a reason
 * and leaks no fd.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_proto.h"
#include "util.h"

/* Send BUF (LEN bytes) with NFDS fds (0..2 of ours) on S. */
static void send_raw(int s, const void *buf, size_t len, int nfds)
{
	static const int fds[3] = { 0, 1, 2 };

	assert_int_equal(send_with_fds(s, buf, len, fds, (size_t)nfds), (ssize_t)len);
}

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void test_request_arrives_whole(void **state)
{
	static const char req[] = "MOS1\0/home/me\0attach\0"
				  "4242\0--read\0/srv";
	int sp[2], fds[3], argc;
	char **argv, *cwd;
	struct mos_err e = { "" };
	struct stat a, b;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	send_raw(sp[0], req, sizeof(req), 3);
	assert_int_equal(control_recv(sp[1], &argv, &argc, &cwd, fds, &e), 0);
	assert_string_equal(cwd, "/home/me");
	assert_int_equal(argc, 4);
	assert_string_equal(argv[0], "attach");
	assert_string_equal(argv[1], "4242");
	assert_string_equal(argv[3], "/srv");
	assert_null(argv[4]);
	/* The fds are the sender's: the same open files. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fstat(fds[i], &a), 0);
		assert_int_equal(fstat(i, &b), 0);
		assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
		close(fds[i]);
	}
	free(argv);
	assert_int_equal(control_reply(sp[1], 7), 0);
	{
		char reply[8];
		int32_t st;

		assert_int_equal(recv(sp[0], reply, sizeof(reply), 0), 8);
		assert_memory_equal(reply, "MOS1", 4);
		memcpy(&st, reply + 4, 4);
		assert_int_equal(st, 7);
	}
	close(sp[0]);
	close(sp[1]);
}

static void expect_refused(const void *buf, size_t len, int nfds, const char *why)
{
	int sp[2], fds[3] = { 7, 7, 7 }, argc, before;
	char **argv, *cwd;
	struct mos_err e = { "" };

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	before = count_fds();
	send_raw(sp[0], buf, len, nfds);
	assert_int_equal(control_recv(sp[1], &argv, &argc, &cwd, fds, &e), -EPROTO);
	assert_non_null(strstr(e.msg, why));
	/* Whatever fds came with it were closed, and none is handed back:
	 * a caller that closes FDS after a refusal closes nothing of its own. */
	assert_int_equal(count_fds(), before);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fds[i], -1);
	close(sp[0]);
	close(sp[1]);
}

static void test_malformed_requests_are_refused(void **state)
{
	static const char good[] = "MOS1\0/\0ps";
	static const char nomagic[] = "MOS2\0/\0ps";
	static const char nocmd[] = "MOS1\0/";
	char unterminated[] = { 'M', 'O', 'S', '1', 0, '/', 0, 'p', 's' };

	(void)state;
	expect_refused(nomagic, sizeof(nomagic), 3, "malformed");
	expect_refused(good, sizeof(good), 0, "without its 3 fds");
	expect_refused(good, sizeof(good), 2, "without its 3 fds");
	expect_refused(unterminated, sizeof(unterminated), 3, "malformed");
	expect_refused(nocmd, sizeof(nocmd), 3, "without a command");
	expect_refused("MOS", 3, 3, "malformed");
}

/* The client end: a listener that never answers is a clear error, not a hang. */
static void test_call_without_controller(void **state)
{
	struct mos_err e = { "" };
	char *argv[] = { "ps", NULL };
	int status;

	(void)state;
	assert_int_equal(control_call("/nonexistent/control.sock", 1, argv, &status, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "cannot reach mosd --controller"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_arrives_whole),
		cmocka_unit_test(test_malformed_requests_are_refused),
		cmocka_unit_test(test_call_without_controller),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
