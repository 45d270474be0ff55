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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
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
	{
		struct origin_stats st;

		origin_fs_get_stats(svc.fs, &st);
		assert_true(svc.refused + st.symlinks_refused >= 4);
	}

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

static int get_handle(void *arg, const struct mos_frame_hdr *h, const uint8_t *p, size_t len)
{
	(void)h;
	if (len != sizeof(struct mos_put_handle))
		return -EPROTO;
	memcpy(arg, p, len);
	return 0;
}

/*
 * A denied path cannot be given another name by renaming a directory
 * above it; a sparse put keeps its holes; unknown put flags are refused.
 */
static void test_rename_and_sparse_put(void **state)
{
	int sv[2];
	struct origin_service svc = { 0 };
	struct origin_scope scope;
	struct mos_policy p;
	struct mos_err e;
	struct conn *srv, *wk;
	pthread_t t, t2;
	char path[256], a[256], b[256], den[256];
	struct mos_rename rn = { 0 };
	struct wire_buf wb = { 0 };
	struct mos_put put = { .mode = 0644, .flags = MOS_PUT_SPARSE, .size = 1 << 20 };
	struct mos_put_handle ph = { 0 };
	struct mos_put_data d = { 0 };
	struct mos_put_end end = { .mtime_sec = 5 };
	struct stat st;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/mos-serve-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(wtree, sizeof(wtree), "%s/w", root);
	assert_int_equal(mkdir(wtree, 0755), 0);
	snprintf(a, sizeof(a), "%s/a", wtree);
	assert_int_equal(mkdir(a, 0755), 0);
	snprintf(den, sizeof(den), "%s/a/secret", wtree);
	write_file_at(den, "PRIVATE\n");
	snprintf(path, sizeof(path), "%s/a/pub", wtree);
	write_file_at(path, "pub\n");
	snprintf(b, sizeof(b), "%s/c", wtree);
	assert_int_equal(mkdir(b, 0755), 0);

	policy_init(&p);
	assert_int_equal(policy_add_fs(&p, NULL, wtree, MOS_FS_ALL, false, "--write", &e), 0);
	assert_int_equal(policy_add_fs(&p, NULL, den, MOS_FS_ALL, true, "--deny", &e), 0);
	origin_scope_init(&scope, &p, NULL);
	assert_int_equal(origin_fs_new(NULL, &svc.fs), 0);
	svc.scope = &scope;
	origin_service_pin_trees(&svc);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	srv = conn_new(sv[0], sv[0], NULL, serve, &svc);
	wk = conn_new(sv[1], sv[1], NULL, serve, &svc);
	pthread_create(&t, NULL, loop, srv);
	pthread_create(&t2, NULL, loop, wk);

	/* W/a holds the denied W/a/secret: not renamed, not exchanged */
	snprintf(path, sizeof(path), "%s/b", wtree);
	wire_buf_start(&wb, MOS_MSG_RENAME, 0, 0);
	wire_put(&wb, &rn, sizeof(rn));
	wire_put_str(&wb, a);
	wire_put_str(&wb, path);
	assert_int_equal(conn_call(wk, &wb, NULL, NULL), -EACCES);
	rn.flags = RENAME_EXCHANGE;
	wire_buf_start(&wb, MOS_MSG_RENAME, 0, 0);
	wire_put(&wb, &rn, sizeof(rn));
	wire_put_str(&wb, b);
	wire_put_str(&wb, a);
	assert_int_equal(conn_call(wk, &wb, NULL, NULL), -EACCES);
	assert_int_equal(access(den, F_OK), 0);
	/* what is beneath it and not denied moves as usual */
	rn.flags = 0;
	snprintf(path, sizeof(path), "%s/a/pub", wtree);
	wire_buf_start(&wb, MOS_MSG_RENAME, 0, 0);
	wire_put(&wb, &rn, sizeof(rn));
	wire_put_str(&wb, path);
	snprintf(path, sizeof(path), "%s/pub", wtree);
	wire_put_str(&wb, path);
	assert_int_equal(conn_call(wk, &wb, NULL, NULL), 0);

	/* a sparse put: 1 MiB, one byte of data in the middle */
	snprintf(path, sizeof(path), "%s/sparse", wtree);
	wire_buf_start(&wb, MOS_MSG_PUT_BEGIN, 0, 0);
	wire_put(&wb, &put, sizeof(put));
	wire_put_str(&wb, path);
	assert_int_equal(conn_call(wk, &wb, get_handle, &ph), 0);
	d.handle = ph.handle;
	d.offset = 1 << 19;
	wire_buf_start(&wb, MOS_MSG_PUT_DATA, 0, 0);
	wire_put(&wb, &d, sizeof(d));
	wire_put_var(&wb, "x", 1);
	assert_int_equal(conn_send(wk, &wb), 0);
	end.handle = ph.handle;
	wire_buf_start(&wb, MOS_MSG_PUT_END, 0, 0);
	wire_put(&wb, &end, sizeof(end));
	assert_int_equal(conn_call(wk, &wb, NULL, NULL), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	assert_true(st.st_blocks * 512 <= 64 << 10);
	/* put flags this origin does not know */
	put.flags = 1U << 7;
	wire_buf_start(&wb, MOS_MSG_PUT_BEGIN, 0, 0);
	wire_put(&wb, &put, sizeof(put));
	wire_put_str(&wb, path);
	assert_int_equal(conn_call(wk, &wb, get_handle, &ph), -EINVAL);

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

/* The origin's loop, with the file service on its thread. */
static void submit(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	struct origin_server **server = arg;

	if (!origin_server_submit(*server, h, payload)) {
		conn_fail(c, "unexpected");
		free(payload);
	}
}

/* The fake worker takes what the origin sends first (the JOB) and drops it. */
static void ignore(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	(void)c;
	(void)h;
	(void)arg;
	free(payload);
}

struct async_open {
	struct conn *wk;
	char path[256];
	int r;
	atomic_bool done;
};

static void *open_thread(void *arg)
{
	struct async_open *a = arg;

	a->r = call_path(a->wk, MOS_MSG_OPEN, NULL, 0, a->path);
	atomic_store(&a->done, true);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A file that takes long to hash (64 GiB, sparse: a minute at least) holds
 * up neither the requests behind its OPEN nor the job's end: they are
 * answered while it hashes, and a cancel ends the hash at once (its OPEN
 * fails ECANCELED, as does every request after it).
 */
static void test_server_hashes_aside(void **state)
{
	int sv[2], fd;
	struct origin_service svc = { 0 };
	struct origin_server *server = NULL;
	struct conn *srv, *wk;
	struct wire_buf job = { 0 };
	struct async_open big = { 0 };
	pthread_t t, t2, t3;
	char small[256];
	double t0;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/mos-serve-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(big.path, sizeof(big.path), "%s/big", root);
	fd = open(big.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64LL << 30), 0);
	close(fd);
	snprintf(small, sizeof(small), "%s/small", root);
	write_file_at(small, "small\n");

	assert_int_equal(origin_fs_new(NULL, &svc.fs), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	srv = conn_new(sv[0], sv[0], NULL, submit, &server);
	wk = conn_new(sv[1], sv[1], NULL, ignore, NULL);
	wire_buf_start(&job, MOS_MSG_JOB, 0, 0);
	server = origin_server_start(&svc, srv, NULL, &job, -1);
	assert_non_null(server);
	pthread_create(&t, NULL, loop, srv);
	pthread_create(&t2, NULL, loop, wk);

	big.wk = wk;
	pthread_create(&t3, NULL, open_thread, &big);
	usleep(200 * 1000);
	t0 = now_s();
	assert_int_equal(call_path(wk, MOS_MSG_STAT, NULL, 0, small), 0);
	assert_int_equal(call_path(wk, MOS_MSG_OPEN, NULL, 0, small), 0);
	assert_true(now_s() - t0 < 1.0);
	assert_false(atomic_load(&big.done)); /* still hashing */

	t0 = now_s();
	origin_server_cancel(server);
	pthread_join(t3, NULL);
	assert_int_equal(big.r, -ECANCELED);
	assert_true(now_s() - t0 < 1.0);
	assert_int_equal(call_path(wk, MOS_MSG_STAT, NULL, 0, small), -ECANCELED);

	assert_true(origin_server_stop(server, 2000));
	conn_stop(srv);
	pthread_join(t, NULL);
	conn_stop(wk);
	pthread_join(t2, NULL);
	conn_free(srv);
	conn_free(wk);
	origin_service_free(&svc);
	origin_fs_free(svc.fs);
	snprintf(small, sizeof(small), "rm -rf '%s'", root);
	assert_int_equal(system(small), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_worker),
		cmocka_unit_test(test_rename_and_sparse_put),
		cmocka_unit_test(test_server_hashes_aside),
	};

	return cmocka_run_group_tests_name("origin_serve", tests, NULL, NULL);
}
