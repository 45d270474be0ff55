// SPDX-License-Identifier: GPL-2.0-only
/*
 * strmap.c - string hash map (strmap.h).
 *
 * SipHash-2-4 is written from its paper (Aumasson and Bernstein, "SipHash:
 * a fast short-input PRF", 2012); the unit test checks the paper's vector.
 */
#include "strmap.h"

#include <endian.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* One load, not eight: SipHash is on the lookup path of every table here. */
static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = rotl(v1, 13); \
		v1 ^= v0;          \
		v0 = rotl(v0, 32); \
		v2 += v3;          \
		v3 = rotl(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = rotl(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = rotl(v1, 17); \
		v1 ^= v2;          \
		v2 = rotl(v2, 32); \
	} while (0)

uint64_t siphash24(const void *data, size_t len, const uint8_t key[16])
{
	const uint8_t *p = data;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)len << 56;
	size_t left = len & 7;

	for (const uint8_t *end = p + (len - left); p < end; p += 8) {
		uint64_t m = load_le64(p);

		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint8_t hash_key[16];
static uint64_t mul_key; /* odd once drawn; 0 before */
static uint64_t mul_key2; /* written before mul_key is published */
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
	/* GRND_NONBLOCK: never wait for the pool at boot; a weaker key then
	 * still differs per process and per run. */
	if (getrandom(hash_key, sizeof(hash_key), GRND_NONBLOCK) != (ssize_t)sizeof(hash_key)) {
		struct timespec ts;
		uint64_t a, b;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		a = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		b = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec;
		memcpy(hash_key, &a, 8);
		memcpy(hash_key + 8, &b, 8);
	}
	/* derived, so that learning it would not give the SipHash key away */
	mul_key2 = siphash24("multiply-shift, 2", 17, hash_key) | 1;
	__atomic_store_n(&mul_key, siphash24("multiply-shift", 14, hash_key) | 1, __ATOMIC_RELEASE);
}

uint64_t siphash_keyed(const void *data, size_t len)
{
	pthread_once(&hash_key_once, hash_key_init);
	return siphash24(data, len, hash_key);
}

uint64_t mulhash_keyed(uint64_t x)
{
	uint64_t k = __atomic_load_n(&mul_key, __ATOMIC_ACQUIRE);

	if (!k) {
		pthread_once(&hash_key_once, hash_key_init);
		k = __atomic_load_n(&mul_key, __ATOMIC_ACQUIRE);
	}
	/*
	 * One multiplication alone leaves keys that differ only in their high
	 * bits (X << 32) to the low half of the multiplier, which for some
	 * draws lines them up in a few buckets (test_hashtab's shifted keys:
	 * a chain over 16 in about 1 of 100 processes); folding the product's
	 * high half down and multiplying again by a second odd key spreads them.
	 */
	x *= k;
	x ^= x >> 32;
	return x * mul_key2;
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	*m = (struct strmap){ 0 };
}

/* The slot holding KEY, or the empty slot where it would go. */
static struct strmap_slot *probe(const struct strmap *m, const char *key, size_t len, uint64_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &m->slots[i];

		if (!s->key || (s->hash == h && s->len == len && !memcmp(s->key, key, len)))
			return s;
	}
}

static void grow(struct strmap *m)
{
	struct strmap old = *m;

	m->cap = old.cap ? old.cap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old.cap; i++) {
		struct strmap_slot *s = &old.slots[i];

		if (s->key)
			*probe(m, s->key, s->len, s->hash) = *s;
	}
	free(old.slots);
}

size_t *strmap_find(const struct strmap *m, const char *key, size_t len)
{
	struct strmap_slot *s;

	if (!m->n)
		return NULL;
	s = probe(m, key, len, siphash_keyed(key, len));
	return s->key ? &s->value : NULL;
}

size_t *strmap_add(struct strmap *m, const char *key, size_t len, size_t value, bool *added)
{
	uint64_t h = siphash_keyed(key, len);
	struct strmap_slot *s;

	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	s = probe(m, key, len, h);
	if (added)
		*added = !s->key;
	if (!s->key) {
		s->key = xmalloc(len + 1);
		memcpy(s->key, key, len);
		s->key[len] = '\0';
		s->len = len;
		s->hash = h;
		s->value = value;
		m->n++;
	}
	return &s->value;
}

size_t *strmap_find_str(const struct strmap *m, const char *key)
{
	return strmap_find(m, key, strlen(key));
}

size_t *strmap_add_str(struct strmap *m, const char *key, size_t value, bool *added)
{
	return strmap_add(m, key, strlen(key), value, added);
}
