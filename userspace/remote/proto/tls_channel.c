// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_channel.c - TLS 1.3 with mutual authentication by pinned Ed25519 keys,
 * over memory BIOs.
 *
 * An identity holds the Ed25519 key, a self-signed certificate made from it
 * in memory and an SSL_CTX configured once (TLS 1.3 only, peer certificate
 * required, Ed25519 signatures only, no tickets or session cache); every
 * channel is an SSL object from that context with a pair of memory BIOs:
 * RBIO takes what the caller received from the socket, WBIO collects what
 * the caller has to send.
 *
 * The certificate is only a carrier for the key.  The verify callback
 * ignores what X509 chain verification thinks of it (a self-signed
 * certificate never chains to anything) and decides on one question only:
 * is the leaf's raw public key in the channel's pinned set?  Possession of
 * that key is then proved by the TLS 1.3 CertificateVerify signature.
 */
#include "tls_channel.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "util.h"

#define PUBLINE_TYPE "mos-ed25519"
#define B64_KEY_LEN 44		 /* base64 of 32 bytes, one '=' of padding */
#define KEY_FILE_MAX (64U << 10) /* a PEM Ed25519 key is about 120 bytes */
/* a list of pinned keys: a line is about 60 bytes, so some 16,000 keys */
#define PINSET_FILE_MAX (1U << 20)
#define CERT_DAYS (100L * 365 * 86400) /* validity is not checked; keep it wide */

struct mos_identity {
	EVP_PKEY *pkey;
	X509 *cert;
	SSL_CTX *ctx;
	uint8_t pub[MOS_PUBKEY_LEN];
};

struct tls_channel {
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by SSL */
	struct mos_pinset pins;
	bool done;    /* handshake completed and the peer checked */
	bool failed;  /* fatal error: no more SSL calls */
	bool refused; /* the peer's key is not pinned */
	bool closed;  /* close_notify received */
	uint8_t peer_key[MOS_PUBKEY_LEN];
	const char *peer_comment;
	char err[512];
};

/* ---- small helpers ---- */

static void set_msg(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* The first error in OpenSSL's (per-thread) queue, as text; the queue is emptied. */
static void openssl_reason(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", fallback);
	ERR_clear_error();
}

static void b64_key(const uint8_t key[MOS_PUBKEY_LEN], char out[B64_KEY_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)out, key, MOS_PUBKEY_LEN);
}

static char *publine_format(const uint8_t key[MOS_PUBKEY_LEN], const char *comment)
{
	char b64[B64_KEY_LEN + 1];
	size_t n;
	char *s;

	b64_key(key, b64);
	n = sizeof(PUBLINE_TYPE) + B64_KEY_LEN + 2 + (comment ? strlen(comment) : 0);
	s = xmalloc(n);
	if (comment && *comment)
		snprintf(s, n, "%s %s %s", PUBLINE_TYPE, b64, comment);
	else
		snprintf(s, n, "%s %s", PUBLINE_TYPE, b64);
	return s;
}

static int raw_pubkey(EVP_PKEY *pkey, uint8_t out[MOS_PUBKEY_LEN])
{
	size_t len = MOS_PUBKEY_LEN;

	if (!pkey || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
		return -EINVAL;
	if (EVP_PKEY_get_raw_public_key(pkey, out, &len) != 1 || len != MOS_PUBKEY_LEN) {
		ERR_clear_error();
		return -EINVAL;
	}
	return 0;
}

/* Create the missing directories above PATH, mode 0700. */
static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *p = NULL;

	if (!*path)
		return -ENOENT;
	p = xstrdup(path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

/* ---- key files ---- */

int mos_key_generate(const char *priv_path, const char *comment)
{
	_cleanup_close_ int fd = -1;
	EVP_PKEY *pkey = NULL;
	BIO *mem = NULL;
	char *pem;
	long len;
	int r;

	(void)comment; /* the PEM file has no room for it; it goes on the public line */
	r = mkdir_parents(priv_path);
	if (r < 0)
		return r;
	fd = open(priv_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = -ENOMEM;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	mem = BIO_new(BIO_s_secmem()); /* cleared when freed */
	if (!pkey || !mem || !PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL))
		goto fail;
	len = BIO_get_mem_data(mem, &pem);
	if (len <= 0)
		goto fail;
	/* The umask may only have narrowed 0600; make the mode exact anyway. */
	if (fchmod(fd, 0600) < 0) {
		r = -errno;
		goto fail;
	}
	r = write_all(fd, pem, (size_t)len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0)
		goto fail;
	BIO_free(mem);
	EVP_PKEY_free(pkey);
	return 0;
fail:
	ERR_clear_error();
	BIO_free(mem);
	EVP_PKEY_free(pkey);
	unlink(priv_path); /* created above by us (O_EXCL): no half-written key stays */
	return r;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1; /* never prompt on the terminal */
}

static int make_cert(struct mos_identity *id)
{
	X509_NAME *name;
	uint64_t serial;

	id->cert = X509_new();
	if (!id->cert)
		return -ENOMEM;
	if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		serial = (uint64_t)time(NULL);
	serial &= INT64_MAX;
	name = X509_get_subject_name(id->cert);
	if (!X509_set_version(id->cert, X509_VERSION_3) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(id->cert), serial | 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(id->cert), -86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(id->cert), CERT_DAYS) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mosingar",
					-1, -1, 0) ||
	    !X509_set_issuer_name(id->cert, name) || !X509_set_pubkey(id->cert, id->pkey) ||
	    !X509_sign(id->cert, id->pkey, NULL)) /* Ed25519: no separate digest */
		return -EINVAL;
	return 0;
}

static int verify_peer(int preverify_ok, X509_STORE_CTX *xs);

static int make_ctx(struct mos_identity *id)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());

	id->ctx = ctx;
	if (!ctx)
		return -ENOMEM;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set1_sigalgs_list(ctx, "ed25519") ||
	    !SSL_CTX_set1_client_sigalgs_list(ctx, "ed25519") || !SSL_CTX_set_num_tickets(ctx, 0) ||
	    SSL_CTX_use_certificate(ctx, id->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, id->pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		return -EINVAL;
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
	return 0;
}

int mos_identity_load(const char *priv_path, struct mos_identity **out, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct mos_identity *id;
	char why[256];
	BIO *mem;
	ssize_t n;
	int r;

	*out = NULL;
	/* never blocks on a FIFO or a device; a key is a small regular file */
	fd = open_regular(priv_path, "the private key", KEY_FILE_MAX - 1, err, errlen);
	if (fd < 0)
		return fd;
	buf = xmalloc(KEY_FILE_MAX);
	n = read_full(fd, buf, KEY_FILE_MAX);
	if (n < 0) {
		set_msg(err, errlen, "cannot read the private key %s: %s", priv_path,
			strerror((int)-n));
		return (int)n;
	}
	if (n == KEY_FILE_MAX) {
		set_msg(err, errlen, "%s: too large for a private key file", priv_path);
		return -EFBIG;
	}

	id = xcalloc(1, sizeof(*id));
	mem = BIO_new_mem_buf(buf, (int)n);
	if (mem)
		id->pkey = PEM_read_bio_PrivateKey(mem, NULL, no_passphrase, NULL);
	BIO_free(mem);
	explicit_bzero(buf, KEY_FILE_MAX);
	if (!id->pkey) {
		openssl_reason(why, sizeof(why), "no PEM private key found");
		set_msg(err, errlen, "%s: not a usable private key (%s)", priv_path, why);
		r = -EINVAL;
		goto fail;
	}
	if (raw_pubkey(id->pkey, id->pub) < 0) {
		set_msg(err, errlen, "%s: not an Ed25519 key (make one with 'mosctl keygen')",
			priv_path);
		r = -EINVAL;
		goto fail;
	}
	r = make_cert(id);
	if (r == 0)
		r = make_ctx(id);
	if (r < 0) {
		openssl_reason(why, sizeof(why), "unknown error");
		set_msg(err, errlen, "%s: cannot set up TLS with this key: %s", priv_path, why);
		goto fail;
	}
	*out = id;
	return 0;
fail:
	mos_identity_free(id);
	return r;
}

void mos_identity_free(struct mos_identity *id)
{
	if (!id)
		return;
	SSL_CTX_free(id->ctx);
	X509_free(id->cert);
	EVP_PKEY_free(id->pkey);
	free(id);
}

char *mos_identity_publine(const struct mos_identity *id, const char *comment)
{
	return publine_format(id->pub, comment);
}

void mos_identity_pubkey(const struct mos_identity *id, uint8_t out[MOS_PUBKEY_LEN])
{
	memcpy(out, id->pub, MOS_PUBKEY_LEN);
}

/* ---- public lines and pinned sets ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse LINE; on failure return -EINVAL with *WHY saying what is wrong. */
static int publine_parse(const char *line, uint8_t key[MOS_PUBKEY_LEN], char **comment,
			 const char **why)
{
	unsigned char raw[B64_KEY_LEN];
	char again[B64_KEY_LEN + 1];
	const char *p = line, *b64, *end;
	size_t tlen = strlen(PUBLINE_TYPE);

	while (is_blank(*p))
		p++;
	if (strncmp(p, PUBLINE_TYPE, tlen) || !is_blank(p[tlen]) || p[tlen] == '\0') {
		*why = "expected a line 'mos-ed25519 KEY COMMENT' (from 'mosctl key')";
		return -EINVAL;
	}
	for (p += tlen; is_blank(*p);)
		p++;
	b64 = p;
	while (*p && !is_blank(*p))
		p++;
	/* Exactly one canonical encoding of 32 bytes: 43 characters and '='. */
	if (p - b64 != B64_KEY_LEN || b64[B64_KEY_LEN - 1] != '=' ||
	    EVP_DecodeBlock(raw, (const unsigned char *)b64, B64_KEY_LEN) != MOS_PUBKEY_LEN + 1) {
		*why = "the key is not the base64 of a 32-byte Ed25519 public key";
		return -EINVAL;
	}
	b64_key(raw, again);
	if (memcmp(again, b64, B64_KEY_LEN)) {
		*why = "the key is not the base64 of a 32-byte Ed25519 public key";
		return -EINVAL;
	}
	while (is_blank(*p))
		p++;
	end = p + strlen(p);
	while (end > p && is_blank(end[-1]))
		end--;
	memcpy(key, raw, MOS_PUBKEY_LEN);
	if (comment)
		*comment = xstrndup(p, (size_t)(end - p));
	return 0;
}

/* *COMMENT is "" when the line has none (malloc'd either way). */
int mos_publine_parse(const char *line, uint8_t key[MOS_PUBKEY_LEN], char **comment)
{
	const char *why;

	return publine_parse(line, key, comment, &why);
}

int mos_pinset_load(const char *path, struct mos_pinset *out, char *err, size_t errlen)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, lineno = 0, total = 0;
	FILE *f;
	int r = 0, fd;

	*out = (struct mos_pinset){ 0 };
	/* a regular file of a bounded size: a FIFO here must not hang mosctl
	 * or mosd, nor /dev/zero fill their memory */
	fd = open_regular(path, "the pinned keys", PINSET_FILE_MAX, err, errlen);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "re");
	if (!f) {
		r = -errno;
		close(fd);
		set_msg(err, errlen, "cannot open the pinned keys %s: %s", path, strerror(-r));
		return r;
	}
	for (;;) {
		uint8_t key[MOS_PUBKEY_LEN];
		_cleanup_free_ char *comment = NULL;
		const char *why, *p;
		ssize_t n;

		errno = 0;
		n = getline(&line, &cap, f);
		if (n < 0) {
			if (errno) {
				r = -errno;
				set_msg(err, errlen, "cannot read the pinned keys %s: %s", path,
					strerror(-r));
			}
			break;
		}
		lineno++;
		total += (size_t)n;
		if (total > PINSET_FILE_MAX) {
			set_msg(err, errlen, "the pinned keys %s grew past %u bytes while read",
				path, PINSET_FILE_MAX);
			r = -EFBIG;
			break;
		}
		for (p = line; is_blank(*p);)
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (strlen(line) != (size_t)n) {
			set_msg(err, errlen, "%s:%zu: NUL byte in the line", path, lineno);
			r = -EINVAL;
			break;
		}
		r = publine_parse(p, key, &comment, &why);
		if (r < 0) {
			set_msg(err, errlen, "%s:%zu: %s", path, lineno, why);
			break;
		}
		mos_pinset_add(out, key, comment);
	}
	fclose(f);
	if (r < 0)
		mos_pinset_free(out);
	return r;
}

void mos_pinset_add(struct mos_pinset *p, const uint8_t key[MOS_PUBKEY_LEN], const char *comment)
{
	p->keys = xrealloc(p->keys, (p->n + 1) * sizeof(*p->keys));
	p->comments = xrealloc(p->comments, (p->n + 1) * sizeof(*p->comments));
	memcpy(p->keys[p->n], key, MOS_PUBKEY_LEN);
	p->comments[p->n] = xstrdup(comment ? comment : "");
	p->n++;
}

void mos_pinset_free(struct mos_pinset *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->comments[i]);
	free(p->comments);
	free(p->keys);
	*p = (struct mos_pinset){ 0 };
}

/* ---- the channel ---- */

static void ch_err(struct tls_channel *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ch_err(struct tls_channel *ch, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ch->err, sizeof(ch->err), fmt, ap);
	va_end(ap);
}

static const char *pin_lookup(const struct mos_pinset *pins, const uint8_t key[MOS_PUBKEY_LEN])
{
	for (size_t i = 0; i < pins->n; i++)
		if (!CRYPTO_memcmp(pins->keys[i], key, MOS_PUBKEY_LEN))
			return pins->comments[i];
	return NULL;
}

/*
 * Check the peer's leaf key against the pins.  0 when pinned (PEER_KEY and
 * PEER_COMMENT set), -EACCES with the error message set otherwise.
 */
static int check_peer_cert(struct tls_channel *ch, X509 *cert)
{
	uint8_t key[MOS_PUBKEY_LEN];
	_cleanup_free_ char *line = NULL;
	const char *comment;

	if (!cert || raw_pubkey(X509_get0_pubkey(cert), key) < 0) {
		ch_err(ch, "the peer's certificate does not carry an Ed25519 key");
		return -EACCES;
	}
	comment = pin_lookup(&ch->pins, key);
	if (!comment) {
		line = publine_format(key, NULL);
		ch_err(ch,
		       "peer key %s is not authorized; to trust it, add that line to the "
		       "pinned keys",
		       line);
		return -EACCES;
	}
	memcpy(ch->peer_key, key, MOS_PUBKEY_LEN);
	ch->peer_comment = comment;
	return 0;
}

/*
 * Called for every chain-verification error and once per certificate at the
 * end.  Whatever PREVERIFY_OK says (a self-signed certificate is never
 * trusted by X509 rules), the answer is the pin check of the leaf.
 */
static int verify_peer(int preverify_ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_channel *ch = ssl ? SSL_get_app_data(ssl) : NULL;

	(void)preverify_ok;
	if (!ch)
		return 0;
	if (check_peer_cert(ch, X509_STORE_CTX_get0_cert(xs)) < 0) {
		ch->refused = true;
		/* sends the peer a bad_certificate alert */
		X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 1;
}

struct tls_channel *tls_channel_new(enum tls_role role, const struct mos_identity *id,
				    const struct mos_pinset *pins)
{
	struct tls_channel *ch;

	if (!id || !id->ctx || (role != TLS_CLIENT && role != TLS_SERVER))
		return NULL;
	ch = xcalloc(1, sizeof(*ch));
	for (size_t i = 0; pins && i < pins->n; i++)
		mos_pinset_add(&ch->pins, pins->keys[i], pins->comments[i]);
	ch->ssl = SSL_new(id->ctx);
	ch->rbio = BIO_new(BIO_s_mem());
	ch->wbio = BIO_new(BIO_s_mem());
	if (!ch->ssl || !ch->rbio || !ch->wbio) {
		BIO_free(ch->rbio);
		BIO_free(ch->wbio);
		SSL_free(ch->ssl);
		mos_pinset_free(&ch->pins);
		free(ch);
		ERR_clear_error();
		return NULL;
	}
	/* An empty RBIO means "wait for more", never end of stream. */
	BIO_set_mem_eof_return(ch->rbio, -1);
	BIO_set_mem_eof_return(ch->wbio, -1);
	SSL_set_bio(ch->ssl, ch->rbio, ch->wbio);
	SSL_set_app_data(ch->ssl, ch);
	if (role == TLS_CLIENT)
		SSL_set_connect_state(ch->ssl);
	else
		SSL_set_accept_state(ch->ssl);
	return ch;
}

void tls_channel_free(struct tls_channel *ch)
{
	if (!ch)
		return;
	SSL_free(ch->ssl); /* frees both BIOs */
	mos_pinset_free(&ch->pins);
	free(ch);
}

int tls_channel_feed(struct tls_channel *ch, const void *buf, size_t len)
{
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;
		int n = BIO_write(ch->rbio, buf, chunk);

		if (n <= 0) {
			ERR_clear_error();
			ch_err(ch, "out of memory buffering %zu bytes from the peer", len);
			return -ENOMEM;
		}
		buf = (const uint8_t *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

/* A failed SSL call: -EAGAIN when it only needs more input, else fatal. */
static int ssl_result(struct tls_channel *ch, int ret)
{
	char why[256];
	unsigned long e;

	switch (SSL_get_error(ch->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		ch->closed = true;
		ERR_clear_error();
		return 0;
	default:
		break;
	}
	ch->failed = true;
	if (ch->refused) {
		ERR_clear_error();
		return -EACCES; /* the message was set by the pin check */
	}
	e = ERR_peek_error();
	openssl_reason(why, sizeof(why), "TLS failure with no OpenSSL error");
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    (ERR_GET_REASON(e) == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
	     ERR_GET_REASON(e) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED))
		ch_err(ch,
		       "the peer refused our key (%s); it must pin our public line "
		       "(see 'mosctl key')",
		       why);
	else
		ch_err(ch, "%s", why);
	return -EPROTO;
}

int tls_channel_handshake(struct tls_channel *ch)
{
	X509 *cert;
	int ret, r;

	if (ch->done)
		return 0;
	if (ch->failed)
		return ch->refused ? -EACCES : -EPROTO;
	ERR_clear_error();
	ret = SSL_do_handshake(ch->ssl);
	if (ret != 1) {
		r = ssl_result(ch, ret);
		if (r == 0) {
			ch->failed = true;
			ch_err(ch, "the peer closed the TLS session during the handshake");
			return -EPROTO;
		}
		return r;
	}
	/* The verify callback has run; check again on what the handshake kept. */
	cert = SSL_get0_peer_certificate(ch->ssl);
	r = check_peer_cert(ch, cert);
	if (r < 0) {
		ch->failed = ch->refused = true;
		return r;
	}
	ch->done = true;
	return 0;
}

void tls_channel_peer(const struct tls_channel *ch, uint8_t key[MOS_PUBKEY_LEN],
		      const char **comment)
{
	if (key)
		memcpy(key, ch->peer_key, MOS_PUBKEY_LEN);
	if (comment)
		*comment = ch->peer_comment;
}

int tls_channel_write(struct tls_channel *ch, const void *buf, size_t len)
{
	size_t written;

	if (ch->failed)
		return -EPROTO;
	if (!ch->done) {
		ch_err(ch, "write before the TLS handshake completed");
		return -ENOTCONN;
	}
	if (len == 0)
		return 0;
	ERR_clear_error();
	/* Without SSL_MODE_ENABLE_PARTIAL_WRITE, success means all of BUF. */
	if (SSL_write_ex(ch->ssl, buf, len, &written) != 1) {
		int r = ssl_result(ch, 0);

		return r == 0 ? -EPIPE : r;
	}
	return 0;
}

ssize_t tls_channel_read(struct tls_channel *ch, void *buf, size_t len)
{
	size_t got;
	int r;

	if (ch->closed)
		return 0;
	if (ch->failed)
		return -EPROTO;
	if (!ch->done) {
		r = tls_channel_handshake(ch);
		if (r < 0)
			return r;
	}
	if (len == 0)
		return -EINVAL;
	ERR_clear_error();
	if (SSL_read_ex(ch->ssl, buf, len, &got) == 1)
		return (ssize_t)got;
	return ssl_result(ch, 0);
}

size_t tls_channel_pending(const struct tls_channel *ch)
{
	return BIO_ctrl_pending(ch->wbio);
}

size_t tls_channel_take(struct tls_channel *ch, void *buf, size_t len)
{
	size_t got = 0;

	if (len == 0 || BIO_ctrl_pending(ch->wbio) == 0)
		return 0;
	if (BIO_read_ex(ch->wbio, buf, len, &got) != 1) {
		ERR_clear_error();
		return 0;
	}
	return got;
}

void tls_channel_shutdown(struct tls_channel *ch)
{
	if (!ch->done || ch->failed)
		return;
	ERR_clear_error();
	SSL_shutdown(ch->ssl);
	ERR_clear_error();
}

const char *tls_channel_error(const struct tls_channel *ch)
{
	return ch->err[0] ? ch->err : "no error";
}
