// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_conn.c - the connection loop's bounds, over a plain socketpair with
 * the peer played by hand: a peer that asks for more than it reads is no
 * longer read from (and every reply still arrives, whole and in order, once
 * it reads again); a peer that reads nothing, or answers no keepalive, is
 * dropped with the reason; PING is answered by the loop itself.
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "util.h"

#define REPLY_BYTES (1U << 20) /* per request: four frames of 256 KiB */

struct server {
	struct conn *c;
	pthread_t t;
	int ret;
	unsigned requests;
};

/* Every STAT request is answered with REPLY_BYTES of data in MORE frames,
 * each frame's data filled with the request id (so the peer can check). */
static void on_frame(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	struct server *s = arg;
	static uint8_t data[MOS_DATA_CHUNK];

	free(payload);
	if (h->type == MOS_MSG_MKDIR) {
		/* a handler that takes long (the origin hashing a big file) */
		struct timespec ts = { .tv_sec = 1 };

		nanosleep(&ts, NULL);
		return;
	}
	if (h->type != MOS_MSG_STAT)
		return;
	s->requests++;
	memset(data, (int)(h->id & 0xff), sizeof(data));
	for (unsigned i = 0; i < REPLY_BYTES / MOS_DATA_CHUNK; i++) {
		struct wire_buf b = { 0 };
		bool last = i + 1 == REPLY_BYTES / MOS_DATA_CHUNK;

		wire_buf_start(&b, MOS_MSG_STAT, MOS_F_REPLY | (last ? 0 : MOS_F_MORE), h->id);
		wire_put_var(&b, data, sizeof(data));
		conn_send(c, &b);
	}
}

static void *serve(void *arg)
{
	struct server *s = arg;

	s->ret = conn_run(s->c);
	return NULL;
}

static void start(struct server *s, int fd, unsigned peer_ms, unsigned stall_ms, bool keepalive)
{
	memset(s, 0, sizeof(*s));
	s->c = conn_new(fd, fd, NULL, on_frame, s);
	conn_set_timeouts(s->c, peer_ms, stall_ms);
	conn_peer_keepalive(s->c, keepalive);
	assert_int_equal(pthread_create(&s->t, NULL, serve, s), 0);
}

/* The two ends; ours (SV[1]) gives up reading after 5 s, so that a loop
 * that ended too early fails the test instead of hanging it. */
static void pair(int sv[2])
{
	struct timeval tv = { .tv_sec = 5 };

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

static void send_frame(int fd, uint8_t type, uint16_t flags, uint32_t id)
{
	struct wire_buf b = { 0 };

	wire_buf_start(&b, type, flags, id);
	if (type == MOS_MSG_STAT)
		wire_put_str(&b, "/x");
	assert_true(wire_buf_finish(&b) > 0);
	assert_int_equal(write_all(fd, b.p, b.len), 0);
	wire_buf_free(&b);
}

/* Read one whole frame (its payload into *P, malloc'd); false at EOF. */
static bool read_frame(int fd, struct mos_frame_hdr *h, uint8_t **p)
{
	uint8_t *buf;
	size_t got = 0;

	while (got < sizeof(*h)) {
		ssize_t n = read(fd, (uint8_t *)h + got, sizeof(*h) - got);

		if (n < 0 && errno == EINTR)
			continue; /* with SO_RCVTIMEO, even under SA_RESTART */
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	buf = malloc(h->len + 1);
	for (got = 0; got < h->len;) {
		ssize_t n = read(fd, buf + got, h->len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return false;
		}
		got += (size_t)n;
	}
	*p = buf;
	return true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* 64 requests of 1 MiB each, then no reading for a while: the loop stops
 * reading requests (its backlog is bounded), yet every reply arrives, whole
 * and in order, once the peer reads. */
static void test_backlog_stops_reading_and_resumes(void **state)
{
	struct server s;
	struct conn_stats st;
	int sv[2];
	uint32_t next = 1, got_bytes = 0;

	(void)state;
	pair(sv);
	start(&s, sv[0], 0, 0, false);
	for (uint32_t id = 1; id <= 64; id++)
		send_frame(sv[1], MOS_MSG_STAT, 0, id);
	sleep_ms(300);
	conn_get_stats(s.c, &st);
	/* a few requests answered, the rest not even read */
	assert_true(st.throttled >= 1);
	assert_true(s.requests < 16);
	while (next <= 64) {
		struct mos_frame_hdr h;
		uint8_t *p;

		assert_true(read_frame(sv[1], &h, &p));
		assert_int_equal(h.id, next);
		assert_int_equal(h.len, 4 + MOS_DATA_CHUNK);
		assert_int_equal(p[4], next & 0xff);
		assert_int_equal(p[4 + MOS_DATA_CHUNK - 1], next & 0xff);
		got_bytes += MOS_DATA_CHUNK;
		free(p);
		if (!(h.flags & MOS_F_MORE)) {
			assert_int_equal(got_bytes, REPLY_BYTES);
			got_bytes = 0;
			next++;
		}
	}
	assert_int_equal(s.requests, 64);
	close(sv[1]);
	pthread_join(s.t, NULL);
	conn_free(s.c);
}

/* A peer that asks and never reads: dropped after the stall timeout. */
static void test_stalled_peer_is_dropped(void **state)
{
	struct server s;
	int sv[2];
	struct timespec t0, t1;

	(void)state;
	pair(sv);
	start(&s, sv[0], 0, 300, false);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t id = 1; id <= 64; id++)
		send_frame(sv[1], MOS_MSG_STAT, 0, id);
	pthread_join(s.t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(s.ret, -ETIMEDOUT);
	assert_non_null(strstr(conn_error(s.c), "read nothing we sent for 0.3 s"));
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	conn_free(s.c);
	close(sv[1]);
}

/* A quiet peer that answers keepalives is kept; one that does not is dropped. */
static void test_keepalive(void **state)
{
	struct server s;
	int sv[2], pings = 0;
	struct mos_frame_hdr h;
	uint8_t *p;

	(void)state;
	pair(sv);
	start(&s, sv[0], 400, 0, true);
	/* answer three PINGs: well past the 0.4 s without other traffic */
	while (pings < 3) {
		assert_true(read_frame(sv[1], &h, &p));
		free(p);
		assert_int_equal(h.type, MOS_MSG_PING);
		assert_false(h.flags & MOS_F_REPLY);
		assert_int_equal(h.len, 0);
		send_frame(sv[1], MOS_MSG_PING, MOS_F_REPLY, h.id);
		pings++;
	}
	/* then silence: the loop gives up */
	pthread_join(s.t, NULL);
	assert_int_equal(s.ret, -ETIMEDOUT);
	assert_non_null(strstr(conn_error(s.c), "silent for 0.4 s"));
	conn_free(s.c);
	close(sv[1]);
}

/* Our own slow handler is no silence of the peer's: the clocks count only
 * time spent waiting for it. */
static void test_busy_loop_is_not_a_silent_peer(void **state)
{
	struct server s;
	int sv[2], pings = 0;
	struct mos_frame_hdr h;
	uint8_t *p;

	(void)state;
	pair(sv);
	start(&s, sv[0], 400, 400, true);
	send_frame(sv[1], MOS_MSG_MKDIR, 0, 5); /* keeps the loop busy for 1 s */
	while (pings < 2) {
		assert_true(read_frame(sv[1], &h, &p));
		free(p);
		assert_int_equal(h.type, MOS_MSG_PING);
		send_frame(sv[1], MOS_MSG_PING, MOS_F_REPLY, h.id);
		pings++;
	}
	close(sv[1]);
	pthread_join(s.t, NULL);
	assert_int_equal(s.ret, 0); /* ended by our close, not by a clock */
	conn_free(s.c);
}

/* A PING is answered by the loop, with its id; the owner never sees it. */
static void test_ping_is_answered(void **state)
{
	struct server s;
	int sv[2];
	struct mos_frame_hdr h;
	uint8_t *p;

	(void)state;
	pair(sv);
	start(&s, sv[0], 0, 0, false);
	send_frame(sv[1], MOS_MSG_PING, 0, 77);
	assert_true(read_frame(sv[1], &h, &p));
	free(p);
	assert_int_equal(h.type, MOS_MSG_PING);
	assert_true(h.flags & MOS_F_REPLY);
	assert_int_equal(h.id, 77);
	assert_int_equal(s.requests, 0);
	close(sv[1]);
	pthread_join(s.t, NULL);
	conn_free(s.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backlog_stops_reading_and_resumes),
		cmocka_unit_test(test_stalled_peer_is_dropped),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_busy_loop_is_not_a_silent_peer),
		cmocka_unit_test(test_ping_is_answered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
