/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hashtab.h - an intrusive chained hash table, and a list of entries in
 * order of use (LRU), for the caches that own entries of their own: the
 * worker's blob index and verified table (cas.c), its open cache
 * (open_cache.c), the origin's hash cache and announced hashes
 * (origin_fs.c).
 *
 * Intrusive: the caller's entry embeds a struct hashtab_node (and a struct
 * lru_node when it is kept in order of use) and gets itself back with
 * container_of(); the caller allocates and frees entries, the table only
 * links them.  An entry costs one pointer for the table and two for the
 * list, nothing else: no copy of the key, no per-node allocation.
 *
 * The caller hashes.  It passes a key's 64-bit hash to hashtab_find and
 * hashtab_add; when the table grows or removes a node it asks the function
 * given with HASHTAB_INIT for the node's hash (which may return a hash the
 * entry stores, or hash its key again).  The bucket is the hash's top
 * bits.  Every key here is something a job or a peer can choose (a path, a
 * file's sizes and times, a file's content and so its SHA-256), so every
 * user hashes under a key drawn once per process (strmap.h), and no input
 * can be crafted to pile up in one chain: siphash_keyed() for paths and
 * file identities, mulhash_keyed() of its first 64 bits for a SHA-256 (one
 * multiplication; the top bits are the ones multiply-shift makes good).
 *
 * Chains stay short: the table doubles before it would hold more entries
 * than it has buckets (up to HASHTAB_MAX_BUCKETS; past that, or when the
 * memory for the bigger array is not there, chains just get longer) and
 * never shrinks.  A zero-initialised table with its hash function set
 * (HASHTAB_INIT) is empty and allocates nothing until the first add.
 *
 * Bounds are the caller's: the table holds what it is given.  A cache with
 * a bound (an entry count, a byte budget) evicts from lru_oldest() itself,
 * since what may be evicted and what eviction costs are its own business.
 *
 * No locking: a table and a list belong to one owner at a time.  The
 * caller's lock (cas.c's c->lock, the open cache's mutex) or its single
 * thread (origin_fs.c) covers every call, lookups included.
 */
#ifndef MOS_HASHTAB_H
#define MOS_HASHTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

/* 2^30 buckets (8 GiB of pointers): beyond any cache here. */
#define HASHTAB_MAX_BUCKETS ((size_t)1 << 30)

struct hashtab_node {
	struct hashtab_node *next;
};

/* NODE's hash, as it was when NODE was added. */
typedef uint64_t hashtab_hash_fn(const struct hashtab_node *node);

struct hashtab {
	struct hashtab_node **buckets;
	size_t nbuckets;    /* 0 or a power of two, at least 16 */
	unsigned int shift; /* 64 - log2(nbuckets): a hash's bucket is hash >> shift */
	size_t n;
	hashtab_hash_fn *hash;
};

#define HASHTAB_INIT(hash_fn) ((struct hashtab){ .hash = (hash_fn) })

/* Frees the buckets; the entries are the caller's to free (before or after,
 * the table no longer looks at them). */
void hashtab_free(struct hashtab *t);

/* The first node of the chain HASH falls in (NULL: none); the caller walks
 * ->next comparing its keys.  hashtab_find does that with EQ. */
static inline struct hashtab_node *hashtab_chain(const struct hashtab *t, uint64_t hash)
{
	return t->n ? t->buckets[hash >> t->shift] : NULL;
}

/*
 * The node whose key is KEY (EQ says), looked for in HASH's chain, or NULL.
 * Inline, so that a caller's EQ (a static function) is inlined into the
 * walk rather than called through a pointer.
 */
static inline struct hashtab_node *hashtab_find(const struct hashtab *t, uint64_t hash,
						bool (*eq)(const struct hashtab_node *node,
							   const void *key),
						const void *key)
{
	for (struct hashtab_node *n = hashtab_chain(t, hash); n; n = n->next)
		if (eq(n, key))
			return n;
	return NULL;
}

/* Link NODE, whose key hashes to HASH (the caller knows its key is not in
 * the table yet).  Never fails. */
void hashtab_add(struct hashtab *t, struct hashtab_node *node, uint64_t hash);

/* Unlink NODE, which is in T (its hash from T's hash function). */
void hashtab_remove(struct hashtab *t, struct hashtab_node *node);

/*
 * Every node once, in no particular order.  hashtab_iter_remove unlinks the
 * node just returned (the caller may free it at once); nothing may be added
 * while an iteration is under way.
 *
 *	struct hashtab_iter it = HASHTAB_ITER(&t);
 *	for (struct hashtab_node *n; (n = hashtab_iter_next(&it));)
 *		if (drop(n)) { hashtab_iter_remove(&it); free(entry_of(n)); }
 */
struct hashtab_iter {
	struct hashtab *t;
	size_t bucket;
	struct hashtab_node **link; /* what points at cur (NULL: not started) */
	struct hashtab_node *cur;   /* NULL: not started, or cur was removed */
};

#define HASHTAB_ITER(table) ((struct hashtab_iter){ .t = (table) })

struct hashtab_node *hashtab_iter_next(struct hashtab_iter *it);
void hashtab_iter_remove(struct hashtab_iter *it);

/*
 * The LRU list: entries least recently used first.  A zero-initialised
 * struct lru is empty.  A node is on at most one list at a time.
 */
struct lru_node {
	struct lru_node *older, *newer;
};

struct lru {
	struct lru_node *oldest, *newest;
};

static inline void lru_add_newest(struct lru *l, struct lru_node *n)
{
	n->older = l->newest;
	n->newer = NULL;
	if (l->newest)
		l->newest->newer = n;
	else
		l->oldest = n;
	l->newest = n;
}

static inline void lru_del(struct lru *l, struct lru_node *n)
{
	if (n->older)
		n->older->newer = n->newer;
	else
		l->oldest = n->newer;
	if (n->newer)
		n->newer->older = n->older;
	else
		l->newest = n->older;
	n->older = n->newer = NULL;
}

/* N was just used: it becomes the newest. */
static inline void lru_touch(struct lru *l, struct lru_node *n)
{
	if (l->newest == n)
		return;
	lru_del(l, n);
	lru_add_newest(l, n);
}

/* The least recently used node, NULL when the list is empty; ->newer walks
 * on towards the newest (take it before removing the node you are at). */
static inline struct lru_node *lru_oldest(const struct lru *l)
{
	return l->oldest;
}

#endif /* MOS_HASHTAB_H */
