// SPDX-License-Identifier: GPL-2.0-only
/*
 * openssl_dlopen.c - mosctl's OpenSSL, loaded on first use (lazy_lib.h).
 *
 * Linked into mosctl only, in place of -lssl -lcrypto: a local run never
 * calls OpenSSL, and loading libcrypto at start (its relocations, its CPU
 * detection) cost every start about 0.6 ms.  libcrypto is loaded by the
 * first SHA-256 or key operation (a remote run's file service, keygen),
 * libssl with it by the first TLS call (run --on HOST; keygen and key, whose
 * identity holds a TLS context).
 *
 * Each function here is one that libmos calls: a new call to another
 * OpenSSL function shows as an undefined reference when mosctl links, and
 * belongs in the lists below.
 */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "lazy_lib.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define PACKAGE "Debian's libssl" STR(OPENSSL_VERSION_MAJOR) " package"

static struct lazy_lib libcrypto, libssl;

#define CRYPTO_FNS(FN, VOID_FN)                                                                  \
	FN(int, ASN1_INTEGER_set_uint64, (ASN1_INTEGER * a, uint64_t r), (a, r))                 \
	FN(long, BIO_ctrl, (BIO * bp, int cmd, long larg, void *parg), (bp, cmd, larg, parg))    \
	FN(size_t, BIO_ctrl_pending, (BIO * b), (b))                                             \
	FN(int, BIO_free, (BIO * a), (a))                                                        \
	FN(BIO *, BIO_new, (const BIO_METHOD *type), (type))                                     \
	FN(BIO *, BIO_new_mem_buf, (const void *buf, int len), (buf, len))                       \
	FN(int, BIO_read_ex, (BIO * b, void *data, size_t dlen, size_t *readbytes),              \
	   (b, data, dlen, readbytes))                                                           \
	FN(const BIO_METHOD *, BIO_s_mem, (void), ())                                            \
	FN(const BIO_METHOD *, BIO_s_secmem, (void), ())                                         \
	FN(int, BIO_write, (BIO * b, const void *data, int dlen), (b, data, dlen))               \
	FN(int, CRYPTO_memcmp, (const void *in_a, const void *in_b, size_t len),                 \
	   (in_a, in_b, len))                                                                    \
	VOID_FN(ERR_clear_error, (void), ())                                                     \
	VOID_FN(ERR_error_string_n, (unsigned long e, char *buf, size_t len), (e, buf, len))     \
	FN(unsigned long, ERR_get_error, (void), ())                                             \
	FN(unsigned long, ERR_peek_error, (void), ())                                            \
	FN(int, EVP_DecodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))   \
	FN(int, EVP_Digest,                                                                      \
	   (const void *data, size_t count, unsigned char *md, unsigned int *size,               \
	    const EVP_MD *type, ENGINE *impl),                                                   \
	   (data, count, md, size, type, impl))                                                  \
	FN(int, EVP_DigestFinal_ex, (EVP_MD_CTX * ctx, unsigned char *md, unsigned int *s),      \
	   (ctx, md, s))                                                                         \
	FN(int, EVP_DigestInit_ex, (EVP_MD_CTX * ctx, const EVP_MD *type, ENGINE *impl),         \
	   (ctx, type, impl))                                                                    \
	FN(int, EVP_DigestUpdate, (EVP_MD_CTX * ctx, const void *d, size_t cnt), (ctx, d, cnt))  \
	FN(int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))   \
	VOID_FN(EVP_MD_CTX_free, (EVP_MD_CTX * ctx), (ctx))                                      \
	FN(EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())                                             \
	VOID_FN(EVP_PKEY_free, (EVP_PKEY * pkey), (pkey))                                        \
	FN(int, EVP_PKEY_get_id, (const EVP_PKEY *pkey), (pkey))                                 \
	FN(int, EVP_PKEY_get_raw_public_key,                                                     \
	   (const EVP_PKEY *pkey, unsigned char *pub, size_t *len), (pkey, pub, len))            \
	FN(const EVP_MD *, EVP_sha256, (void), ())                                               \
	FN(EVP_PKEY *, PEM_read_bio_PrivateKey,                                                  \
	   (BIO * bp, EVP_PKEY * *x, pem_password_cb * cb, void *u), (bp, x, cb, u))             \
	FN(int, PEM_write_bio_PrivateKey,                                                        \
	   (BIO * out, const EVP_PKEY *x, const EVP_CIPHER *enc, const unsigned char *kstr,      \
	    int klen, pem_password_cb *cb, void *u),                                             \
	   (out, x, enc, kstr, klen, cb, u))                                                     \
	FN(int, RAND_bytes, (unsigned char *buf, int num), (buf, num))                           \
	FN(int, X509_NAME_add_entry_by_txt,                                                      \
	   (X509_NAME * name, const char *field, int type, const unsigned char *bytes, int len,  \
	    int loc, int set),                                                                   \
	   (name, field, type, bytes, len, loc, set))                                            \
	FN(X509 *, X509_STORE_CTX_get0_cert, (const X509_STORE_CTX *ctx), (ctx))                 \
	FN(void *, X509_STORE_CTX_get_ex_data, (const X509_STORE_CTX *ctx, int idx), (ctx, idx)) \
	VOID_FN(X509_STORE_CTX_set_error, (X509_STORE_CTX * ctx, int s), (ctx, s))               \
	VOID_FN(X509_free, (X509 * a), (a))                                                      \
	FN(EVP_PKEY *, X509_get0_pubkey, (const X509 *x), (x))                                   \
	FN(ASN1_INTEGER *, X509_get_serialNumber, (X509 * x), (x))                               \
	FN(X509_NAME *, X509_get_subject_name, (const X509 *a), (a))                             \
	FN(ASN1_TIME *, X509_getm_notAfter, (const X509 *x), (x))                                \
	FN(ASN1_TIME *, X509_getm_notBefore, (const X509 *x), (x))                               \
	FN(ASN1_TIME *, X509_gmtime_adj, (ASN1_TIME * s, long adj), (s, adj))                    \
	FN(X509 *, X509_new, (void), ())                                                         \
	FN(int, X509_set_issuer_name, (X509 * x, const X509_NAME *name), (x, name))              \
	FN(int, X509_set_pubkey, (X509 * x, EVP_PKEY * pkey), (x, pkey))                         \
	FN(int, X509_set_version, (X509 * x, long version), (x, version))                        \
	FN(int, X509_sign, (X509 * x, EVP_PKEY * pkey, const EVP_MD *md), (x, pkey, md))

#define SSL_FNS(FN, VOID_FN)                                                                      \
	FN(int, SSL_CTX_check_private_key, (const SSL_CTX *ctx), (ctx))                           \
	FN(long, SSL_CTX_ctrl, (SSL_CTX * ctx, int cmd, long larg, void *parg),                   \
	   (ctx, cmd, larg, parg))                                                                \
	VOID_FN(SSL_CTX_free, (SSL_CTX * ctx), (ctx))                                             \
	FN(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *meth), (meth))                              \
	FN(int, SSL_CTX_set_num_tickets, (SSL_CTX * ctx, size_t num_tickets), (ctx, num_tickets)) \
	FN(uint64_t, SSL_CTX_set_options, (SSL_CTX * ctx, uint64_t op), (ctx, op))                \
	VOID_FN(SSL_CTX_set_verify, (SSL_CTX * ctx, int mode, SSL_verify_cb callback),            \
		(ctx, mode, callback))                                                            \
	FN(int, SSL_CTX_use_PrivateKey, (SSL_CTX * ctx, EVP_PKEY * pkey), (ctx, pkey))            \
	FN(int, SSL_CTX_use_certificate, (SSL_CTX * ctx, X509 * x), (ctx, x))                     \
	FN(int, SSL_do_handshake, (SSL * s), (s))                                                 \
	VOID_FN(SSL_free, (SSL * ssl), (ssl))                                                     \
	FN(X509 *, SSL_get0_peer_certificate, (const SSL *s), (s))                                \
	FN(int, SSL_get_error, (const SSL *s, int ret_code), (s, ret_code))                       \
	FN(void *, SSL_get_ex_data, (const SSL *ssl, int idx), (ssl, idx))                        \
	FN(int, SSL_get_ex_data_X509_STORE_CTX_idx, (void), ())                                   \
	FN(SSL *, SSL_new, (SSL_CTX * ctx), (ctx))                                                \
	FN(int, SSL_read_ex, (SSL * ssl, void *buf, size_t num, size_t *readbytes),               \
	   (ssl, buf, num, readbytes))                                                            \
	VOID_FN(SSL_set_accept_state, (SSL * s), (s))                                             \
	VOID_FN(SSL_set_bio, (SSL * s, BIO * rbio, BIO * wbio), (s, rbio, wbio))                  \
	VOID_FN(SSL_set_connect_state, (SSL * s), (s))                                            \
	FN(int, SSL_set_ex_data, (SSL * ssl, int idx, void *data), (ssl, idx, data))              \
	FN(int, SSL_shutdown, (SSL * s), (s))                                                     \
	FN(int, SSL_write_ex, (SSL * s, const void *buf, size_t num, size_t *written),            \
	   (s, buf, num, written))                                                                \
	FN(const SSL_METHOD *, TLS_method, (void), ())

#define CRYPTO_FN(ret, name, params, args) LAZY_FN(libcrypto, ret, name, params, args)
#define CRYPTO_VOID_FN(name, params, args) LAZY_VOID_FN(libcrypto, name, params, args)
#define SSL_FN(ret, name, params, args) LAZY_FN(libssl, ret, name, params, args)
#define SSL_VOID_FN(name, params, args) LAZY_VOID_FN(libssl, name, params, args)
#define SYM(ret, name, params, args) LAZY_SYM(name)
#define VOID_SYM(name, params, args) LAZY_SYM(name)

CRYPTO_FNS(CRYPTO_FN, CRYPTO_VOID_FN)
SSL_FNS(SSL_FN, SSL_VOID_FN)

/*
 * The one variadic function: its further arguments depend on the key type,
 * and the only type libmos makes, Ed25519, takes none.  Another type would
 * need its own call here; until then it gets no key.
 */
static __typeof__(&EVP_PKEY_Q_keygen) lazy_EVP_PKEY_Q_keygen;

EVP_PKEY *EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
	lazy_lib_need(&libcrypto);
	if (strcmp(type, "ED25519") && strcmp(type, "ED448") && strcmp(type, "X25519") &&
	    strcmp(type, "X448"))
		return NULL;
	return lazy_EVP_PKEY_Q_keygen(libctx, propq, type);
}

static const struct lazy_sym crypto_syms[] = { CRYPTO_FNS(SYM, VOID_SYM)
						       LAZY_SYM(EVP_PKEY_Q_keygen) };
static const struct lazy_sym ssl_syms[] = { SSL_FNS(SYM, VOID_SYM) };

static struct lazy_lib libcrypto =
	LAZY_LIB_INIT("libcrypto.so." STR(OPENSSL_VERSION_MAJOR), PACKAGE,
		      "remote runs and keys (SHA-256, Ed25519)", crypto_syms);
static struct lazy_lib libssl =
	LAZY_LIB_INIT("libssl.so." STR(OPENSSL_VERSION_MAJOR), PACKAGE,
		      "TLS and the keys (run --on HOST, keygen, key)", ssl_syms);
