// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_tls_channel.c - Ed25519 key files, public lines, pinned-key files and
 * the TLS 1.3 channel, with a client and a server in one process: bytes are
 * pumped between their memory buffers by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tls_channel.h"
#include "util.h"

static char tmpdir[] = "/tmp/mos-tls-test.XXXXXX";
static char server_path[PATH_MAX], client_path[PATH_MAX], stranger_path[PATH_MAX];
static struct mos_identity *server_id, *client_id, *stranger_id;

static void path_in_tmp(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", tmpdir, name);
}

static struct mos_identity *make_identity(char *path, const char *name)
{
	struct mos_identity *id = NULL;
	char err[512];

	path_in_tmp(path, name);
	if (mos_key_generate(path, name) < 0)
		return NULL;
	if (mos_identity_load(path, &id, err, sizeof(err)) < 0) {
		print_message("# %s\n", err);
		return NULL;
	}
	return id;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	server_id = make_identity(server_path, "server");
	client_id = make_identity(client_path, "client");
	stranger_id = make_identity(stranger_path, "stranger");
	return server_id && client_id && stranger_id ? 0 : -1;
}

static int teardown(void **state)
{
	_cleanup_free_ char *cmd = NULL;
	size_t n = strlen(tmpdir) + 16;

	(void)state;
	mos_identity_free(server_id);
	mos_identity_free(client_id);
	mos_identity_free(stranger_id);
	cmd = xmalloc(n);
	snprintf(cmd, n, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void pin(struct mos_pinset *p, const struct mos_identity *id, const char *comment)
{
	uint8_t key[MOS_PUBKEY_LEN];

	mos_identity_pubkey(id, key);
	mos_pinset_add(p, key, comment);
}

/* ---- key files ---- */

static void test_keygen_roundtrip(void **state)
{
	char path[PATH_MAX], dir[PATH_MAX], err[512];
	uint8_t key[MOS_PUBKEY_LEN], parsed[MOS_PUBKEY_LEN];
	struct mos_identity *id = NULL;
	_cleanup_free_ char *line = NULL, *bare = NULL, *comment = NULL;
	struct stat st, st2;

	(void)state;
	/* The missing parent directories are created, mode 0700. */
	path_in_tmp(dir, "cfg/mosingar");
	path_in_tmp(path, "cfg/mosingar/id_ed25519");
	assert_int_equal(mos_key_generate(path, "alice@host"), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(mos_identity_load(path, &id, err, sizeof(err)), 0);
	mos_identity_pubkey(id, key);
	line = mos_identity_publine(id, "alice@host");
	assert_int_equal(strncmp(line, "mos-ed25519 ", 12), 0);
	assert_int_equal(strlen(line), strlen("mos-ed25519 ") + 44 + strlen(" alice@host"));
	assert_int_equal(mos_publine_parse(line, parsed, &comment), 0);
	assert_memory_equal(parsed, key, MOS_PUBKEY_LEN);
	assert_string_equal(comment, "alice@host");
	bare = mos_identity_publine(id, NULL);
	assert_int_equal(strlen(bare), strlen("mos-ed25519 ") + 44);
	mos_identity_free(id);

	/* Never overwritten. */
	assert_int_equal(mos_key_generate(path, "again"), -EEXIST);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	assert_int_equal(st2.st_size, st.st_size);
	id = NULL;
	assert_int_equal(mos_identity_load(path, &id, err, sizeof(err)), 0);
	mos_identity_pubkey(id, parsed);
	assert_memory_equal(parsed, key, MOS_PUBKEY_LEN);
	mos_identity_free(id);

	/* Two keys differ. */
	mos_identity_pubkey(server_id, parsed);
	assert_memory_not_equal(parsed, key, MOS_PUBKEY_LEN);
}

static void test_identity_load_errors(void **state)
{
	char path[PATH_MAX], err[512];
	struct mos_identity *id = (void *)1;
	EVP_PKEY *x25519;
	FILE *f;

	(void)state;
	path_in_tmp(path, "missing");
	assert_int_equal(mos_identity_load(path, &id, err, sizeof(err)), -ENOENT);
	assert_null(id);
	assert_non_null(strstr(err, path));

	path_in_tmp(path, "garbage");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a key\n", f);
	fclose(f);
	assert_int_equal(mos_identity_load(path, &id, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));

	/* A valid PEM key of another type. */
	path_in_tmp(path, "x25519");
	x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	assert_non_null(x25519);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, x25519, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(x25519);
	assert_int_equal(mos_identity_load(path, &id, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not an Ed25519 key"));
}

/* ---- public lines and pinned sets ---- */

static void test_publine_parse(void **state)
{
	static const char k[] = "IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdIDrJs=";
	static const char *const bad[] = {
		"",
		"\n",
		"mos-ed25519",
		"mos-ed25519 ",
		"mos-ed25519x IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdIDrJs=",
		"ssh-ed25519 IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdIDrJs= a@b",
		"IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdIDrJs=",
		"mos-ed25519 IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdIDrJs",	/* no padding */
		"mos-ed25519 IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdIDrJ==",	/* 31 bytes */
		"mos-ed25519 IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdIDrJt=",	/* non-canonical */
		"mos-ed25519 IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdIDrJs=x",	/* glued */
		"mos-ed25519 IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdID!Js=",	/* bad char */
		"mos-ed25519 IH3gIi1gVgSjGNeXm0lFjuNW5cA9pqQRsoxqYdIDrJsAAAA=", /* too long */
		"mos-ed25519 AAAA",
	};
	uint8_t key[MOS_PUBKEY_LEN], key2[MOS_PUBKEY_LEN];
	char line[256];
	char *comment = NULL;

	(void)state;
	snprintf(line, sizeof(line), "mos-ed25519 %s alice@host", k);
	assert_int_equal(mos_publine_parse(line, key, &comment), 0);
	assert_string_equal(comment, "alice@host");
	free(comment);
	assert_int_equal(key[0], 0x20);
	assert_int_equal(key[31], 0x9b);

	/* Blanks around, a comment with spaces, a line ending. */
	snprintf(line, sizeof(line), "  mos-ed25519\t%s   build box  (rack 4)\r\n", k);
	assert_int_equal(mos_publine_parse(line, key2, &comment), 0);
	assert_string_equal(comment, "build box  (rack 4)");
	free(comment);
	assert_memory_equal(key, key2, MOS_PUBKEY_LEN);

	/* No comment: "" */
	snprintf(line, sizeof(line), "mos-ed25519 %s\n", k);
	assert_int_equal(mos_publine_parse(line, key2, &comment), 0);
	assert_string_equal(comment, "");
	free(comment);
	assert_int_equal(mos_publine_parse(line, key2, NULL), 0);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		comment = NULL;
		if (mos_publine_parse(bad[i], key2, &comment) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(comment);
	}
}

static void test_pinset_load(void **state)
{
	char path[PATH_MAX], err[512], want[PATH_MAX + 16];
	_cleanup_free_ char *l1 = mos_identity_publine(server_id, "server one");
	_cleanup_free_ char *l2 = mos_identity_publine(client_id, NULL);
	uint8_t key[MOS_PUBKEY_LEN];
	struct mos_pinset p;
	FILE *f;

	(void)state;
	path_in_tmp(path, "authorized_keys");
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# workers allowed to connect\n\n   \n%s\n  # indented comment\n%s", l1, l2);
	fclose(f);
	assert_int_equal(mos_pinset_load(path, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 2);
	mos_identity_pubkey(server_id, key);
	assert_memory_equal(p.keys[0], key, MOS_PUBKEY_LEN);
	assert_string_equal(p.comments[0], "server one");
	mos_identity_pubkey(client_id, key);
	assert_memory_equal(p.keys[1], key, MOS_PUBKEY_LEN);
	assert_string_equal(p.comments[1], "");
	mos_pinset_free(&p);
	assert_int_equal(p.n, 0);

	/* A malformed line: the error names PATH:LINE, nothing is returned. */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# comment\n%s\n\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5 bob@host\n%s\n", l1, l2);
	fclose(f);
	assert_int_equal(mos_pinset_load(path, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: ", path);
	if (strncmp(err, want, strlen(want)))
		fail_msg("error \"%s\" does not start with \"%s\"", err, want);
	assert_int_equal(p.n, 0);
	assert_null(p.keys);

	/* An empty file is an empty set. */
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mos_pinset_load(path, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 0);
	mos_pinset_free(&p);

	path_in_tmp(path, "no-such-file");
	assert_int_equal(mos_pinset_load(path, &p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

/* ---- the channel ---- */

/* Move everything FROM has to send into TO; the number of bytes moved. */
static size_t pump(struct tls_channel *from, struct tls_channel *to)
{
	uint8_t buf[16384];
	size_t n, total = 0;

	while ((n = tls_channel_take(from, buf, sizeof(buf))) > 0) {
		assert_int_equal(tls_channel_feed(to, buf, n), 0);
		total += n;
	}
	assert_int_equal(tls_channel_pending(from), 0);
	return total;
}

static void handshake(struct tls_channel *c, struct tls_channel *s, int *rc, int *rs)
{
	*rc = *rs = -EAGAIN;
	for (int round = 0; round < 20; round++) {
		size_t moved = 0;

		if (*rc == -EAGAIN)
			*rc = tls_channel_handshake(c);
		moved += pump(c, s);
		if (*rs == -EAGAIN)
			*rs = tls_channel_handshake(s);
		moved += pump(s, c);
		if ((*rc != -EAGAIN && *rs != -EAGAIN) || !moved)
			return;
	}
	fail_msg("handshake did not finish in 20 rounds");
}

struct pair {
	struct tls_channel *c, *s;
	struct mos_pinset cpins, spins;
};

static void pair_new(struct pair *p, bool client_pins_server, bool server_pins_client)
{
	*p = (struct pair){ 0 };
	pin(&p->cpins, stranger_id, "someone else");
	pin(&p->spins, stranger_id, "someone else");
	if (client_pins_server)
		pin(&p->cpins, server_id, "the server");
	if (server_pins_client)
		pin(&p->spins, client_id, "the client");
	p->c = tls_channel_new(TLS_CLIENT, client_id, &p->cpins);
	p->s = tls_channel_new(TLS_SERVER, server_id, &p->spins);
	assert_non_null(p->c);
	assert_non_null(p->s);
	/* The channels keep their own copy of the pins. */
	mos_pinset_free(&p->cpins);
	mos_pinset_free(&p->spins);
}

static void pair_free(struct pair *p)
{
	tls_channel_free(p->c);
	tls_channel_free(p->s);
}

static void connected_pair(struct pair *p)
{
	int rc, rs;

	pair_new(p, true, true);
	handshake(p->c, p->s, &rc, &rs);
	if (rc || rs)
		fail_msg("handshake: client %d (%s), server %d (%s)", rc, tls_channel_error(p->c),
			 rs, tls_channel_error(p->s));
}

/* Read exactly LEN bytes of plaintext from CH. */
static void read_exactly(struct tls_channel *ch, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = tls_channel_read(ch, buf + got, len - got);

		if (n <= 0)
			fail_msg("read %zd after %zu of %zu bytes: %s", n, got, len,
				 tls_channel_error(ch));
		got += (size_t)n;
	}
}

static void test_handshake_and_data(void **state)
{
	uint8_t key[MOS_PUBKEY_LEN], want[MOS_PUBKEY_LEN], buf[64];
	const size_t big = 1U << 20;
	_cleanup_free_ uint8_t *out = xmalloc(big);
	_cleanup_free_ uint8_t *in = xmalloc(big);
	const char *comment = NULL;
	struct pair p;

	(void)state;
	connected_pair(&p);
	/* Each side knows who the other is, and by which pin. */
	tls_channel_peer(p.c, key, &comment);
	mos_identity_pubkey(server_id, want);
	assert_memory_equal(key, want, MOS_PUBKEY_LEN);
	assert_string_equal(comment, "the server");
	tls_channel_peer(p.s, key, &comment);
	mos_identity_pubkey(client_id, want);
	assert_memory_equal(key, want, MOS_PUBKEY_LEN);
	assert_string_equal(comment, "the client");

	/* Nothing to read yet. */
	assert_int_equal(tls_channel_read(p.s, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(tls_channel_read(p.c, buf, sizeof(buf)), -EAGAIN);

	/* Both ways; the ciphertext is not the plaintext. */
	assert_int_equal(tls_channel_write(p.c, "ping", 4), 0);
	assert_true(tls_channel_pending(p.c) > 4);
	pump(p.c, p.s);
	assert_int_equal(tls_channel_read(p.s, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(tls_channel_write(p.s, "pong!", 5), 0);
	assert_int_equal(tls_channel_write(p.s, "", 0), 0);
	pump(p.s, p.c);
	assert_int_equal(tls_channel_read(p.c, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "pong!", 5);
	assert_int_equal(tls_channel_read(p.c, buf, sizeof(buf)), -EAGAIN);

	/* 1 MiB each way, written in uneven pieces, delivered in uneven pieces. */
	for (size_t i = 0; i < big; i++)
		out[i] = (uint8_t)(i * 2654435761U >> 13);
	for (int dir = 0; dir < 2; dir++) {
		struct tls_channel *w = dir ? p.s : p.c, *r = dir ? p.c : p.s;
		size_t off = 0, piece = 1, got = 0;
		uint8_t chunk[7919];
		size_t n;

		while (off < big) {
			size_t len = piece < big - off ? piece : big - off;

			assert_int_equal(tls_channel_write(w, out + off, len), 0);
			off += len;
			piece = piece * 3 + 17;
			if (piece > 200000)
				piece = 1;
		}
		memset(in, 0, big);
		/* Ciphertext arrives in prime-sized slices that cut records anywhere. */
		while ((n = tls_channel_take(w, chunk, sizeof(chunk))) > 0) {
			assert_int_equal(tls_channel_feed(r, chunk, n), 0);
			while (got < big) {
				ssize_t m = tls_channel_read(r, in + got, big - got);

				if (m == -EAGAIN)
					break;
				assert_true(m > 0);
				got += (size_t)m;
			}
		}
		assert_int_equal(got, big);
		assert_memory_equal(in, out, big);
	}
	pair_free(&p);
}

static void test_write_before_handshake(void **state)
{
	uint8_t buf[16];
	struct pair p;

	(void)state;
	pair_new(&p, true, true);
	assert_int_equal(tls_channel_write(p.c, "x", 1), -ENOTCONN);
	/* A read before the handshake drives it: the client sends its hello. */
	assert_int_equal(tls_channel_read(p.c, buf, sizeof(buf)), -EAGAIN);
	assert_true(tls_channel_pending(p.c) > 0);
	pair_free(&p);
}

static void test_server_refuses_client(void **state)
{
	_cleanup_free_ char *line = mos_identity_publine(client_id, NULL);
	uint8_t buf[64];
	struct pair p;
	int rc, rs;

	(void)state;
	pair_new(&p, true, false);
	handshake(p.c, p.s, &rc, &rs);
	assert_int_equal(rs, -EACCES);
	/* The admin can copy the line from the message. */
	assert_non_null(strstr(tls_channel_error(p.s), "is not authorized"));
	assert_non_null(strstr(tls_channel_error(p.s), line));
	assert_int_equal(tls_channel_handshake(p.s), -EACCES);
	assert_int_equal(tls_channel_write(p.s, "x", 1), -EPROTO);
	/*
	 * TLS 1.3: the client has finished its side before the server looks at
	 * its certificate, so it learns of the refusal from the alert.
	 */
	assert_true(rc == 0 || rc == -EPROTO);
	pump(p.s, p.c);
	assert_int_equal(tls_channel_read(p.c, buf, sizeof(buf)), -EPROTO);
	assert_non_null(strstr(tls_channel_error(p.c), "refused our key"));
	assert_int_equal(tls_channel_read(p.c, buf, sizeof(buf)), -EPROTO);
	pair_free(&p);
}

static void test_client_refuses_server(void **state)
{
	_cleanup_free_ char *line = mos_identity_publine(server_id, NULL);
	struct pair p;
	int rc, rs;

	(void)state;
	pair_new(&p, false, true);
	handshake(p.c, p.s, &rc, &rs);
	assert_int_equal(rc, -EACCES);
	assert_non_null(strstr(tls_channel_error(p.c), "is not authorized"));
	assert_non_null(strstr(tls_channel_error(p.c), line));
	/* The server got the client's alert. */
	assert_int_equal(rs, -EPROTO);
	assert_non_null(strstr(tls_channel_error(p.s), "refused our key"));
	pair_free(&p);
}

static void test_tampered_record(void **state)
{
	uint8_t ct[256], buf[64];
	struct pair p;
	size_t n;

	(void)state;
	connected_pair(&p);
	assert_int_equal(tls_channel_write(p.c, "attack at dawn", 14), 0);
	n = tls_channel_take(p.c, ct, sizeof(ct));
	assert_true(n > 5 + 14);
	ct[5 + 3] ^= 0x01; /* a byte of the encrypted record, past its 5-byte header */
	assert_int_equal(tls_channel_feed(p.s, ct, n), 0);
	assert_int_equal(tls_channel_read(p.s, buf, sizeof(buf)), -EPROTO);
	assert_non_null(strstr(tls_channel_error(p.s), "bad record mac"));
	/* The channel stays failed. */
	assert_int_equal(tls_channel_read(p.s, buf, sizeof(buf)), -EPROTO);
	assert_int_equal(tls_channel_write(p.s, "x", 1), -EPROTO);
	pair_free(&p);
}

static void test_clean_shutdown(void **state)
{
	uint8_t buf[64];
	struct pair p;

	(void)state;
	connected_pair(&p);
	assert_int_equal(tls_channel_write(p.c, "last words", 10), 0);
	tls_channel_shutdown(p.c);
	pump(p.c, p.s);
	read_exactly(p.s, buf, 10);
	assert_memory_equal(buf, "last words", 10);
	assert_int_equal(tls_channel_read(p.s, buf, sizeof(buf)), 0);
	assert_int_equal(tls_channel_read(p.s, buf, sizeof(buf)), 0);
	/* The server answers with its own close_notify. */
	tls_channel_shutdown(p.s);
	pump(p.s, p.c);
	assert_int_equal(tls_channel_read(p.c, buf, sizeof(buf)), 0);
	pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen_roundtrip),
		cmocka_unit_test(test_identity_load_errors),
		cmocka_unit_test(test_publine_parse),
		cmocka_unit_test(test_pinset_load),
		cmocka_unit_test(test_handshake_and_data),
		cmocka_unit_test(test_write_before_handshake),
		cmocka_unit_test(test_server_refuses_client),
		cmocka_unit_test(test_client_refuses_server),
		cmocka_unit_test(test_tampered_record),
		cmocka_unit_test(test_clean_shutdown),
	};

	return cmocka_run_group_tests_name("tls_channel", tests, setup, teardown);
}
