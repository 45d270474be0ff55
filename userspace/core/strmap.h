/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * strmap.h - a hash map from strings to numbers (usually an index into the
 * caller's own array), so that duplicate checks over lists a user or a peer
 * controls stay linear: JSON object keys, env variables, grants, learned
 * paths.
 *
 * Keys are byte strings (KEY, LEN), copied into the map.  They are hashed
 * with SipHash-2-4 under a key drawn at random once per process, so no input
 * can be crafted to collide (hash flooding would bring back the quadratic
 * time this exists to remove).  Open addressing, at most half full.
 *
 * A zero-initialised struct strmap is an empty map.  Not thread-safe: one
 * owner at a time.
 */
#ifndef MOS_STRMAP_H
#define MOS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
	char *key; /* NULL: empty */
	size_t len;
	uint64_t hash;
	size_t value;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

void strmap_free(struct strmap *m);
/* The value stored for KEY[0..LEN), or NULL when KEY is absent. */
size_t *strmap_find(const struct strmap *m, const char *key, size_t len);
/*
 * Store KEY[0..LEN) with VALUE unless it is there already.  Returns the
 * value's place (the existing one when present, so the caller can see or
 * update it); *ADDED (may be NULL) says whether KEY was new.
 */
size_t *strmap_add(struct strmap *m, const char *key, size_t len, size_t value, bool *added);
/* The same for NUL-terminated keys. */
size_t *strmap_find_str(const struct strmap *m, const char *key);
size_t *strmap_add_str(struct strmap *m, const char *key, size_t value, bool *added);

/* SipHash-2-4 of DATA[0..LEN) under KEY (exposed for its test vectors). */
uint64_t siphash24(const void *data, size_t len, const uint8_t key[16]);
/* SipHash-2-4 of DATA[0..LEN) under the process's key, the one this map
 * hashes with: for any table whose keys an input can choose (hashtab.h). */
uint64_t siphash_keyed(const void *data, size_t len);
/*
 * X through two multiplications by odd multipliers drawn once per process,
 * the first product's high half folded into its low half between them
 * (multiply-shift, Dietzfelbinger et al. 1997, twice): the top bits, which
 * are what hashtab.h takes, spread keys that share most of their bits
 * unless the multipliers are known.  Two multiplications, for keys that are
 * 64 bits of a SHA-256 already: a caller could line many of those up only
 * by finding 64-bit partial preimages.
 */
uint64_t mulhash_keyed(uint64_t x);

#endif /* MOS_STRMAP_H */
