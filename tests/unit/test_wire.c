// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_wire.c - frames: building, checked reading, assembly from a byte
 * stream in arbitrary pieces, and every way a frame can be malformed; and
 * the connection loop over a socketpair (calls routed by id, a malformed
 * frame ending the connection with a reason, a dropped peer failing calls).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "util.h"
#include "wire.h"

static size_t build_sample(struct wire_buf *b)
{
	struct mos_signal s = { .signo = 15 };

	wire_buf_start(b, MOS_MSG_SIGNAL, 0, 7);
	wire_put(b, &s, sizeof(s));
	wire_put_str(b, "hello");
	wire_put_var(b, "", 0);
	return wire_buf_finish(b);
}

static void test_build_and_read(void **state)
{
	struct wire_buf b = { 0 };
	size_t n = build_sample(&b);
	struct mos_frame_hdr h;
	struct wire_reader rd;
	struct mos_signal s;
	char *str = NULL;
	const void *d;
	size_t l;

	(void)state;
	assert_int_equal(n, sizeof(h) + sizeof(s) + 4 + 5 + 4);
	memcpy(&h, b.p, sizeof(h));
	assert_null(wire_hdr_check(&h));
	assert_int_equal(h.len, n - sizeof(h));
	assert_int_equal(h.id, 7);
	wire_reader_init(&rd, b.p + sizeof(h), h.len);
	assert_true(wire_get(&rd, &s, sizeof(s)));
	assert_int_equal(s.signo, 15);
	assert_true(wire_get_str(&rd, &str, 100));
	assert_string_equal(str, "hello");
	assert_true(wire_get_var(&rd, &d, &l, 10));
	assert_int_equal(l, 0);
	assert_true(wire_end(&rd));
	free(str);
	wire_buf_free(&b);
}

static void test_reader_bounds(void **state)
{
	uint8_t p[64] = { 0 };
	uint32_t big = 1000;
	struct wire_reader rd;
	const void *d;
	size_t l;
	char *s = NULL;
	uint8_t body[8];

	(void)state;
	/* a field claiming more bytes than the frame holds */
	memcpy(p, &big, 4);
	wire_reader_init(&rd, p, sizeof(p));
	assert_false(wire_get_var(&rd, &d, &l, 4096));
	assert_non_null(strstr(wire_reader_why(&rd), "past the end"));
	/* a field above its bound */
	wire_reader_init(&rd, p, sizeof(p));
	assert_false(wire_get_var(&rd, &d, &l, 10));
	assert_non_null(strstr(wire_reader_why(&rd), "bound"));
	/* a string with a NUL */
	big = 3;
	memcpy(p, &big, 4);
	memcpy(p + 4, "a\0b", 3);
	wire_reader_init(&rd, p, 7);
	assert_false(wire_get_str(&rd, &s, 100));
	assert_null(s);
	/* a body shorter than its type */
	wire_reader_init(&rd, p, 4);
	assert_false(wire_get(&rd, body, sizeof(body)));
	/* trailing bytes */
	wire_reader_init(&rd, p, 8);
	assert_true(wire_get(&rd, body, 4));
	assert_false(wire_end(&rd));
	/* once bad, always bad */
	assert_false(wire_get(&rd, body, 1));
}

static void test_header_checks(void **state)
{
	struct mos_frame_hdr h = { .version = MOS_PROTO_VERSION, .type = MOS_MSG_STDIN };

	(void)state;
	assert_null(wire_hdr_check(&h));
	h.version = 9;
	assert_non_null(wire_hdr_check(&h));
	h.version = MOS_PROTO_VERSION;
	h.len = MOS_FRAME_MAX + 1;
	assert_non_null(strstr(wire_hdr_check(&h), "MOS_FRAME_MAX"));
	h.len = 0;
	h.type = 200;
	assert_non_null(strstr(wire_hdr_check(&h), "unknown message"));
	h.type = MOS_MSG_STDIN;
	h.flags = 0x80;
	assert_non_null(wire_hdr_check(&h));
	h.flags = 0;
	h.reserved = 1;
	assert_non_null(wire_hdr_check(&h));
}

static void test_assembly_in_pieces(void **state)
{
	struct wire_buf b = { 0 };
	uint8_t stream[512];
	size_t n = build_sample(&b), total = 0, frames = 0;

	(void)state;
	/* three frames back to back, fed 1..7 bytes at a time */
	for (int i = 0; i < 3; i++) {
		memcpy(stream + total, b.p, n);
		total += n;
	}
	for (size_t step = 1; step <= 7; step++) {
		struct frame_asm a = { 0 };
		size_t off = 0;

		frames = 0;
		while (off < total) {
			size_t len = total - off < step ? total - off : step, used = 0;

			while (used < len) {
				struct mos_frame_hdr h;
				uint8_t *payload = NULL;
				bool done;
				size_t u = frame_asm_feed(&a, stream + off + used, len - used,
							  &done, &h, &payload);

				assert_null(a.why);
				used += u;
				if (done) {
					frames++;
					assert_int_equal(h.type, MOS_MSG_SIGNAL);
					assert_memory_equal(payload, b.p + sizeof(h), h.len);
					free(payload);
				}
			}
			off += len;
		}
		assert_int_equal(frames, 3);
		frame_asm_free(&a);
	}
	wire_buf_free(&b);
}

static void test_assembly_rejects(void **state)
{
	struct mos_frame_hdr h = { .version = MOS_PROTO_VERSION,
				   .type = MOS_MSG_STDIN,
				   .len = MOS_FRAME_MAX + 1 };
	struct frame_asm a = { 0 };
	struct mos_frame_hdr out;
	uint8_t *payload = NULL;
	bool done;

	(void)state;
	assert_int_equal(frame_asm_feed(&a, (uint8_t *)&h, sizeof(h), &done, &out, &payload), 0);
	assert_non_null(a.why);
	assert_false(done);
	/* no allocation was made for the claimed length */
	assert_null(a.payload);
	frame_asm_free(&a);
}

static void test_oversize_build_refused(void **state)
{
	struct wire_buf b = { 0 };
	uint8_t *big = calloc(1, MOS_FRAME_MAX);

	(void)state;
	wire_buf_start(&b, MOS_MSG_STDOUT, 0, 0);
	wire_put_var(&b, big, MOS_FRAME_MAX);
	assert_int_equal(wire_buf_finish(&b), 0);
	wire_buf_free(&b);
	free(big);
}

/* ---- the connection loop over a socketpair ---- */

struct echo_server {
	struct conn *c;
	int seen;
};

/* Reply to every STAT with a STAT carrying the request's payload, in two
 * frames (MORE) to exercise streamed replies; a LINK gets an ERROR. */
static void server_frame(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	struct echo_server *s = arg;
	struct wire_buf b = { 0 };

	s->seen++;
	if (h->type == MOS_MSG_LINK) {
		conn_send_error(c, h->id, ENOSPC, "full");
	} else {
		wire_buf_start(&b, MOS_MSG_STAT, MOS_F_REPLY | MOS_F_MORE, h->id);
		wire_put(&b, payload, h->len);
		conn_send(c, &b);
		wire_buf_start(&b, MOS_MSG_STAT, MOS_F_REPLY, h->id);
		wire_put(&b, payload, h->len);
		conn_send(c, &b);
	}
	free(payload);
}

static void *run_loop(void *arg)
{
	conn_run(arg);
	return NULL;
}

struct collect {
	size_t frames, bytes;
};

static int collect_reply(void *arg, const struct mos_frame_hdr *h, const uint8_t *p, size_t len)
{
	struct collect *k = arg;

	(void)h;
	(void)p;
	k->frames++;
	k->bytes += len;
	return 0;
}

struct caller {
	struct conn *c;
	int ok;
};

static void *caller_thread(void *arg)
{
	struct caller *k = arg;

	for (int i = 0; i < 200; i++) {
		struct wire_buf b = { 0 };
		struct collect col = { 0 };
		char path[64];

		snprintf(path, sizeof(path), "/path/%d", i);
		wire_buf_start(&b, MOS_MSG_STAT, 0, 0);
		wire_put_str(&b, path);
		if (conn_call(k->c, &b, collect_reply, &col) == 0 && col.frames == 2 &&
		    col.bytes == 2 * (4 + strlen(path)))
			k->ok++;
	}
	return NULL;
}

static void test_conn_calls(void **state)
{
	int sv[2];
	struct echo_server srv = { 0 };
	struct conn *cli, *sc;
	pthread_t ts, tc, callers[4];
	struct caller k[4];
	struct wire_buf b = { 0 };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	sc = conn_new(sv[0], sv[0], NULL, server_frame, &srv);
	cli = conn_new(sv[1], sv[1], NULL, server_frame, &srv);
	assert_int_equal(conn_handshake(sc), 0);
	assert_int_equal(conn_handshake(cli), 0);
	pthread_create(&ts, NULL, run_loop, sc);
	pthread_create(&tc, NULL, run_loop, cli);
	for (int i = 0; i < 4; i++) {
		k[i] = (struct caller){ .c = cli };
		pthread_create(&callers[i], NULL, caller_thread, &k[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(callers[i], NULL);
		assert_int_equal(k[i].ok, 200);
	}
	/* an ERROR reply becomes -errno */
	wire_buf_start(&b, MOS_MSG_LINK, 0, 0);
	wire_put_str(&b, "/a");
	wire_put_str(&b, "/b");
	assert_int_equal(conn_call(cli, &b, NULL, NULL), -ENOSPC);
	/* the server goes away: calls fail with ECONNRESET, the loop ends */
	conn_stop(sc);
	pthread_join(ts, NULL);
	conn_free(sc);
	pthread_join(tc, NULL);
	wire_buf_start(&b, MOS_MSG_STAT, 0, 0);
	wire_put_str(&b, "/late");
	assert_int_equal(conn_call(cli, &b, NULL, NULL), -ECONNRESET);
	conn_free(cli);
}

static void noop_frame(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	(void)c;
	(void)h;
	(void)arg;
	free(payload);
}

static void test_conn_rejects_garbage(void **state)
{
	int sv[2];
	struct conn *c;
	struct mos_frame_hdr h = { .version = 42, .type = MOS_MSG_STDIN, .len = 4 };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	c = conn_new(sv[0], sv[0], NULL, noop_frame, NULL);
	assert_int_equal(write(sv[1], &h, sizeof(h)), (ssize_t)sizeof(h));
	assert_true(conn_run(c) < 0);
	assert_non_null(strstr(conn_error(c), "unsupported protocol version"));
	conn_free(c);
	close(sv[1]);

	/* a truncated frame, then the peer hangs up */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	c = conn_new(sv[0], sv[0], NULL, noop_frame, NULL);
	h.version = MOS_PROTO_VERSION;
	h.len = 100;
	assert_int_equal(write(sv[1], &h, sizeof(h)), (ssize_t)sizeof(h));
	assert_int_equal(write(sv[1], "abc", 3), 3);
	close(sv[1]);
	assert_int_equal(conn_run(c), 0);
	assert_non_null(strstr(conn_error(c), "closed"));
	conn_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_and_read),
		cmocka_unit_test(test_reader_bounds),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_assembly_in_pieces),
		cmocka_unit_test(test_assembly_rejects),
		cmocka_unit_test(test_oversize_build_refused),
		cmocka_unit_test(test_conn_calls),
		cmocka_unit_test(test_conn_rejects_garbage),
	};

	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
