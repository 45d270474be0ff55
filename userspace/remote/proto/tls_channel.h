/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_channel.h - the transport's security: TLS 1.3 (OpenSSL) with mutual
 * authentication by pinned Ed25519 keys, driven through memory buffers so
 * that the caller (an io_uring loop) does all socket I/O itself.
 *
 * Identities are Ed25519 key pairs.  Each side presents a self-signed
 * certificate made in memory from its key at start; the certificate is only
 * a carrier: the peer is accepted when its public key is in the pinned set
 * (a worker's authorized-keys file; an origin's list of known workers) and
 * refused otherwise, whatever the certificate says.  TLS 1.3 only,
 * certificate requested and required on both sides, no session resumption.
 *
 *   ch = tls_channel_new(TLS_CLIENT or TLS_SERVER, id, pins)
 *   loop: tls_channel_feed(bytes received from the socket)
 *         tls_channel_handshake() -> 0 done, -EAGAIN more I/O, -EACCES peer not pinned,
 *                                    -EPROTO other failure (tls_channel_error says why)
 *         tls_channel_pending()/tls_channel_take(): ciphertext to send
 *   then: tls_channel_write(plaintext) / tls_channel_read(plaintext out)
 */
#ifndef MOS_TLS_CHANNEL_H
#define MOS_TLS_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MOS_PUBKEY_LEN 32

struct mos_identity; /* a loaded private key and its certificate */
struct tls_channel;

/* A set of trusted public keys, e.g. parsed from an authorized-keys file. */
struct mos_pinset {
	uint8_t (*keys)[MOS_PUBKEY_LEN];
	char **comments;
	size_t n;
};

enum tls_role { TLS_CLIENT = 1, TLS_SERVER = 2 };

/*
 * Key files.  The private key is PEM (PKCS#8 Ed25519) in a file of mode 0600;
 * the public line is "mos-ed25519 BASE64(32-byte key) COMMENT".
 */
int mos_key_generate(const char *priv_path, const char *comment); /* -EEXIST if present */
int mos_identity_load(const char *priv_path, struct mos_identity **out, char *err, size_t errlen);
void mos_identity_free(struct mos_identity *id);
/* The public line for ID (malloc'd), with COMMENT. */
char *mos_identity_publine(const struct mos_identity *id, const char *comment);
void mos_identity_pubkey(const struct mos_identity *id, uint8_t out[MOS_PUBKEY_LEN]);

/* Parse one "mos-ed25519 BASE64 [COMMENT]" line. */
int mos_publine_parse(const char *line, uint8_t key[MOS_PUBKEY_LEN], char **comment);
/* Read a pinned-keys file: one public line per line, '#' comments and blank
 * lines ignored; a malformed line is an error naming PATH:LINE in ERR. */
int mos_pinset_load(const char *path, struct mos_pinset *out, char *err, size_t errlen);
void mos_pinset_add(struct mos_pinset *p, const uint8_t key[MOS_PUBKEY_LEN], const char *comment);
void mos_pinset_free(struct mos_pinset *p);

struct tls_channel *tls_channel_new(enum tls_role role, const struct mos_identity *id,
				    const struct mos_pinset *pins);
void tls_channel_free(struct tls_channel *ch);

/* Bytes received from the peer. */
int tls_channel_feed(struct tls_channel *ch, const void *buf, size_t len);
int tls_channel_handshake(struct tls_channel *ch);
/* After the handshake: the peer's public key and the comment of its pin. */
void tls_channel_peer(const struct tls_channel *ch, uint8_t key[MOS_PUBKEY_LEN], const char **comment);
/* Plaintext in; becomes ciphertext in the outgoing buffer.  0 or -errno. */
int tls_channel_write(struct tls_channel *ch, const void *buf, size_t len);
/* Plaintext out: bytes, 0 when the peer closed cleanly, -EAGAIN when more
 * input is needed, -EPROTO on a TLS error. */
ssize_t tls_channel_read(struct tls_channel *ch, void *buf, size_t len);
/* Ciphertext waiting to be sent; take copies up to LEN bytes and consumes them. */
size_t tls_channel_pending(const struct tls_channel *ch);
size_t tls_channel_take(struct tls_channel *ch, void *buf, size_t len);
/* Queue a close_notify. */
void tls_channel_shutdown(struct tls_channel *ch);
const char *tls_channel_error(const struct tls_channel *ch);

#endif /* MOS_TLS_CHANNEL_H */
