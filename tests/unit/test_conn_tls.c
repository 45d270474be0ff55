// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_conn_tls.c - the connection loop over TLS: frames that arrive in the
 * same read as the last flight of the handshake must be delivered, not left
 * inside OpenSSL until the next read (which never comes: the peer waits for
 * an answer).  The client is driven by hand so that its Finished message and
 * its first frame reach the server in one write, every time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "tls_channel.h"
#include "util.h"

struct server {
	struct conn *c;
	pthread_mutex_t lock;
	int hellos;
	int handshake;
};

static void on_frame(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	struct server *s = arg;

	(void)c;
	pthread_mutex_lock(&s->lock);
	if (h->type == MOS_MSG_HELLO && !wire_hello_check(payload, h->len, 1))
		s->hellos++;
	pthread_mutex_unlock(&s->lock);
	free(payload);
}

static void *serve(void *arg)
{
	struct server *s = arg;

	s->handshake = conn_handshake(s->c);
	if (s->handshake == 0)
		conn_run(s->c);
	return NULL;
}

static void load(const char *dir, const char *name, struct mos_identity **id, uint8_t pub[32])
{
	char path[256], err[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mos_key_generate(path, name), 0);
	assert_int_equal(mos_identity_load(path, id, err, sizeof(err)), 0);
	mos_identity_pubkey(*id, pub);
}

static void send_pending(struct tls_channel *ch, int fd)
{
	uint8_t buf[65536];
	size_t n;

	while ((n = tls_channel_take(ch, buf, sizeof(buf))) > 0)
		assert_int_equal(write_all(fd, buf, n), 0);
}

static void test_frame_with_the_last_handshake_flight(void **state)
{
	char dir[] = "/tmp/mos-conntls-XXXXXX";
	struct mos_identity *sid, *cid;
	uint8_t spub[32], cpub[32];
	struct mos_pinset spins = { 0 }, cpins = { 0 };
	struct server s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct tls_channel *ch;
	struct wire_buf b = { 0 };
	pthread_t t;
	int sv[2], r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	load(dir, "server", &sid, spub);
	load(dir, "client", &cid, cpub);
	mos_pinset_add(&spins, cpub, "client"); /* the server trusts the client */
	mos_pinset_add(&cpins, spub, "server");
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s.c = conn_new(sv[0], sv[0], tls_channel_new(TLS_SERVER, sid, &spins), on_frame, &s);
	assert_int_equal(pthread_create(&t, NULL, serve, &s), 0);

	ch = tls_channel_new(TLS_CLIENT, cid, &cpins);
	assert_non_null(ch);
	while ((r = tls_channel_handshake(ch)) == -EAGAIN) {
		uint8_t buf[65536];
		ssize_t n;

		send_pending(ch, sv[1]);
		n = read(sv[1], buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(tls_channel_feed(ch, buf, (size_t)n), 0);
	}
	assert_int_equal(r, 0);
	/* Finished and the first frame, in one write */
	wire_hello_build(&b, 1);
	assert_true(wire_buf_finish(&b) > 0);
	assert_int_equal(tls_channel_write(ch, b.p, b.len), 0);
	wire_buf_free(&b);
	send_pending(ch, sv[1]);

	for (int i = 0; i < 200; i++) {
		int got;

		pthread_mutex_lock(&s.lock);
		got = s.hellos;
		pthread_mutex_unlock(&s.lock);
		if (got)
			break;
		usleep(10000);
	}
	assert_int_equal(s.handshake, 0);
	assert_int_equal(s.hellos, 1);

	close(sv[1]); /* the server's loop ends */
	pthread_join(t, NULL);
	conn_free(s.c);
	tls_channel_free(ch);
	mos_identity_free(sid);
	mos_identity_free(cid);
	mos_pinset_free(&spins);
	mos_pinset_free(&cpins);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_with_the_last_handshake_flight),
	};

	return cmocka_run_group_tests_name("conn_tls", tests, NULL, NULL);
}
