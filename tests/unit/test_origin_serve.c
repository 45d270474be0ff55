// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_origin_serve.c - the origin's file service against a hostile worker:
 * requests outside the job's policy, and requests through a symlink that
 * would lead out of a granted tree, are refused; ordinary ones are served.
 * A real origin_serve loop on one end of a socketpair, a fake worker on the
 * other.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "origin_serve.h"
#include "util.h"

static char root[64], wtree[128], secret[128];

static void serve(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	if (!origin_serve_frame(c, arg, h, payload))
		conn_fail(c, "unexpected");
	free(payload);
}

static void *loop(void *arg)
{
	conn_run(arg);
	return NULL;
}

static int call_path(struct conn *c, uint8_t type, const void *body, size_t blen, const char *p)
{
	struct wire_buf b = { 0 };

	wire_buf_start(&b, type, 0, 0);
	if (blen)
		wire_put(&b, body, blen);
	wire_put_str(&b, p);
	return conn_call(c, &b, NULL, NULL);
}

static void write_file_at(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static void test_hostile_worker(void **state)
{
	int sv[2];
	struct origin_service svc = { 0 };
	struct origin_scope scope;
	struct mos_policy p;
	struct mos_err e;
	struct conn *srv, *wk;
	pthread_t t, t2;
	char path[256];
	struct mos_put put = { .mode = 0644 };

	(void)state;
	snprintf(root, sizeof(root), "/tmp/mos-serve-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(wtree, sizeof(wtree), "%s/w", root);
	snprintf(secret, sizeof(secret), "%s/secret", root);
	assert_int_equal(mkdir(wtree, 0755), 0);
	assert_int_equal(mkdir(secret, 0700), 0);
	snprintf(path, sizeof(path), "%s/key", secret);
	write_file_at(path, "PRIVATE\n");
	snprintf(path, sizeof(path), "%s/ok", wtree);
	write_file_at(path, "fine\n");
	snprintf(path, sizeof(path), "%s/x", wtree);
	assert_int_equal(symlink(secret, path), 0); /* made by a compromised worker, say */

	policy_init(&p);
	assert_int_equal(policy_add_fs(&p, NULL, wtree, MOS_FS_ALL, false, "--write", &e), 0);
	origin_scope_init(&scope, &p, NULL);
	assert_int_equal(origin_fs_new(NULL, &svc.fs), 0);
	svc.scope = &scope;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	srv = conn_new(sv[0], sv[0], NULL, serve, &svc);
	wk = conn_new(sv[1], sv[1], NULL, serve, &svc);
	pthread_create(&t, NULL, loop, srv);
	pthread_create(&t2, NULL, loop, wk);

	/* inside the write tree: served */
	snprintf(path, sizeof(path), "%s/ok", wtree);
	assert_int_equal(call_path(wk, MOS_MSG_OPEN, NULL, 0, path), 0);
	/* outside the policy: refused */
	snprintf(path, sizeof(path), "%s/key", secret);
	assert_int_equal(call_path(wk, MOS_MSG_OPEN, NULL, 0, path), -EACCES);
	assert_int_equal(call_path(wk, MOS_MSG_LISTDIR, NULL, 0, secret), -EACCES);
	/* through the symlink in the write tree: refused, read and write */
	snprintf(path, sizeof(path), "%s/x/key", wtree);
	assert_int_equal(call_path(wk, MOS_MSG_OPEN, NULL, 0, path), -ELOOP);
	snprintf(path, sizeof(path), "%s/x/planted", wtree);
	assert_int_equal(call_path(wk, MOS_MSG_PUT_BEGIN, &put, sizeof(put), path), -ELOOP);
	assert_int_equal(call_path(wk, MOS_MSG_UNLINK, NULL, 0, path), -ELOOP);
	/* the symlink itself is not followed as a directory either */
	snprintf(path, sizeof(path), "%s/x", wtree);
	assert_true(call_path(wk, MOS_MSG_LISTDIR, NULL, 0, path) < 0);
	snprintf(path, sizeof(path), "%s/planted", secret);
	assert_int_equal(access(path, F_OK), -1);
	assert_true(svc.refused >= 4);

	conn_stop(srv);
	pthread_join(t, NULL);
	conn_stop(wk);
	pthread_join(t2, NULL);
	conn_free(srv);
	conn_free(wk);
	origin_service_free(&svc);
	origin_fs_free(svc.fs);
	origin_scope_free(&scope);
	policy_free(&p);
	snprintf(path, sizeof(path), "rm -rf '%s'", root);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_worker),
	};

	return cmocka_run_group_tests_name("origin_serve", tests, NULL, NULL);
}
