// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_hashtab.c - the intrusive hash table and LRU list
 * (userspace/core/hashtab.c): insert and lookup, removal from the head,
 * middle and tail of a chain, removal while iterating, growth keeping the
 * table at most one entry per bucket, eviction in order of use under an
 * entry bound and a byte budget, many keys, and keys built to collide in
 * the bits a bucket is taken from (as a hash of their own bytes would put
 * them in one chain) spread evenly by siphash_keyed and mulhash_keyed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "strmap.h"

struct item {
	struct hashtab_node node;
	struct lru_node use;
	uint64_t key;
	size_t bytes;
};

static struct item *item_of(const struct hashtab_node *n)
{
	return container_of(n, struct item, node);
}

static uint64_t key_hash(uint64_t key)
{
	return siphash_keyed(&key, sizeof(key));
}

static uint64_t item_hash(const struct hashtab_node *n)
{
	return key_hash(item_of(n)->key);
}

/* A hash that puts every key in one of four chains (the bucket is the
 * hash's top bits): chain surgery. */
static uint64_t mod4(uint64_t key)
{
	return (key % 4) << 62;
}

static uint64_t item_hash_mod4(const struct hashtab_node *n)
{
	return mod4(item_of(n)->key);
}

static bool item_eq(const struct hashtab_node *n, const void *key)
{
	return item_of(n)->key == *(const uint64_t *)key;
}

static struct item *find_with(const struct hashtab *t, uint64_t key)
{
	struct hashtab_node *n = hashtab_find(
		t, t->hash == item_hash_mod4 ? mod4(key) : key_hash(key), item_eq, &key);

	return n ? item_of(n) : NULL;
}

static struct item *add(struct hashtab *t, uint64_t key)
{
	struct item *it = calloc(1, sizeof(*it));

	assert_non_null(it);
	it->key = key;
	hashtab_add(t, &it->node, t->hash(&it->node));
	return it;
}

static void drop(struct hashtab *t, struct item *it)
{
	hashtab_remove(t, &it->node);
	free(it);
}

static void free_all(struct hashtab *t)
{
	struct hashtab_iter it = HASHTAB_ITER(t);

	for (struct hashtab_node *n; (n = hashtab_iter_next(&it));) {
		hashtab_iter_remove(&it);
		free(item_of(n));
	}
	assert_int_equal(t->n, 0);
	hashtab_free(t);
}

/* Every chain's length, checked against the count. */
static size_t longest_chain(const struct hashtab *t)
{
	size_t longest = 0, total = 0;

	for (size_t b = 0; b < t->nbuckets; b++) {
		size_t len = 0;

		for (struct hashtab_node *n = t->buckets[b]; n; n = n->next)
			len++;
		total += len;
		if (len > longest)
			longest = len;
	}
	assert_int_equal(total, t->n);
	return longest;
}

static void test_empty(void **state)
{
	struct hashtab t = HASHTAB_INIT(item_hash);
	struct hashtab_iter it = HASHTAB_ITER(&t);
	uint64_t k = 1;

	(void)state;
	assert_null(hashtab_chain(&t, 0));
	assert_null(hashtab_find(&t, key_hash(k), item_eq, &k));
	assert_null(hashtab_iter_next(&it));
	assert_null(hashtab_iter_next(&it)); /* still the end */
	hashtab_iter_remove(&it);	     /* nothing to remove: no-op */
	assert_int_equal(t.nbuckets, 0);     /* nothing allocated */
	hashtab_free(&t);
	hashtab_free(&t); /* twice is fine */
}

static void test_insert_lookup(void **state)
{
	struct hashtab t = HASHTAB_INIT(item_hash);
	struct item *a, *b;

	(void)state;
	a = add(&t, 1);
	b = add(&t, 2);
	assert_int_equal(t.n, 2);
	assert_ptr_equal(find_with(&t, 1), a);
	assert_ptr_equal(find_with(&t, 2), b);
	assert_null(find_with(&t, 3));
	drop(&t, a);
	assert_null(find_with(&t, 1));
	assert_ptr_equal(find_with(&t, 2), b);
	assert_int_equal(t.n, 1);
	add(&t, 1);
	assert_non_null(find_with(&t, 1));
	free_all(&t);
}

static void test_chain_surgery(void **state)
{
	struct hashtab t = HASHTAB_INIT(item_hash_mod4);
	struct item *items[12];

	(void)state;
	/* 12 keys in 16 buckets, four chains of three: keys 0,4,8 in chain 0 */
	for (uint64_t k = 0; k < 12; k++)
		items[k] = add(&t, k);
	assert_int_equal(t.nbuckets, 16);
	assert_int_equal(longest_chain(&t), 3);
	/* chains are newest first: 8 is the head of chain 0, 4 the middle, 0 the tail */
	drop(&t, items[4]);
	assert_ptr_equal(find_with(&t, 8), items[8]);
	assert_ptr_equal(find_with(&t, 0), items[0]);
	drop(&t, items[8]);
	assert_ptr_equal(find_with(&t, 0), items[0]);
	drop(&t, items[0]);
	assert_null(find_with(&t, 0));
	assert_null(hashtab_chain(&t, mod4(0)));
	assert_non_null(hashtab_chain(&t, mod4(1)));
	for (uint64_t k = 1; k < 12; k++)
		if (k % 4)
			assert_ptr_equal(find_with(&t, k), items[k]);
	assert_int_equal(t.n, 9);
	free_all(&t);
}

/* Remove every node whose key is odd, then all, while iterating, in chains
 * long and short; each node is seen exactly once. */
static void iterate_removing(hashtab_hash_fn *hash, uint64_t n)
{
	struct hashtab t = HASHTAB_INIT(hash);
	unsigned char *seen = calloc(n, 1);
	struct hashtab_iter it;
	uint64_t count = 0;

	assert_non_null(seen);
	for (uint64_t k = 0; k < n; k++)
		add(&t, k);
	it = HASHTAB_ITER(&t);
	for (struct hashtab_node *node; (node = hashtab_iter_next(&it));) {
		struct item *i = item_of(node);

		assert_true(i->key < n);
		assert_int_equal(seen[i->key]++, 0);
		count++;
		if (i->key & 1) {
			hashtab_iter_remove(&it);
			hashtab_iter_remove(&it); /* a second time: no-op */
			free(i);
		}
	}
	assert_int_equal(count, n);
	assert_int_equal(t.n, n - n / 2);
	for (uint64_t k = 0; k < n; k++) {
		if (k & 1)
			assert_null(find_with(&t, k));
		else
			assert_non_null(find_with(&t, k));
	}
	longest_chain(&t); /* the chains add up to the count */
	free(seen);
	free_all(&t);
}

static void test_remove_while_iterating(void **state)
{
	(void)state;
	iterate_removing(item_hash, 1000);
	iterate_removing(item_hash_mod4, 1000); /* chains of 250 */
	iterate_removing(item_hash_mod4, 3);
}

static void test_growth_bound(void **state)
{
	struct hashtab t = HASHTAB_INIT(item_hash);

	(void)state;
	for (uint64_t k = 0; k < 5000; k++) {
		add(&t, k);
		/* a power of two, never fewer buckets than entries, never more
		 * than twice as many (past the first 16) */
		assert_int_equal(t.nbuckets & (t.nbuckets - 1), 0);
		assert_true(t.n <= t.nbuckets);
		assert_true(t.nbuckets <= 16 || t.nbuckets < 2 * t.n);
	}
	/* it never shrinks: removing keeps the buckets */
	for (uint64_t k = 0; k < 4990; k++)
		drop(&t, find_with(&t, k));
	assert_int_equal(t.nbuckets, 8192);
	free_all(&t);
}

static void test_many_keys(void **state)
{
	struct hashtab t = HASHTAB_INIT(item_hash);
	const uint64_t n = 200000;

	(void)state;
	for (uint64_t k = 0; k < n; k++)
		add(&t, k * 7919);
	assert_int_equal(t.n, n);
	for (uint64_t k = 0; k < n; k++) {
		struct item *i = find_with(&t, k * 7919);

		assert_non_null(i);
		assert_int_equal(i->key, k * 7919);
		assert_null(find_with(&t, k * 7919 + 1));
	}
	for (uint64_t k = 0; k < n; k += 2)
		drop(&t, find_with(&t, k * 7919));
	for (uint64_t k = 0; k < n; k++)
		assert_true(!find_with(&t, k * 7919) == !(k & 1));
	free_all(&t);
}

static uint64_t item_hash_raw(const struct hashtab_node *n)
{
	return item_of(n)->key; /* the key's own bits, unkeyed */
}

static uint64_t item_hash_mul(const struct hashtab_node *n)
{
	return mulhash_keyed(item_of(n)->key);
}

/* N keys K(0..N-1) in a table hashing with HASH: its longest chain. */
static size_t chain_for(hashtab_hash_fn *hash, uint64_t (*key)(uint64_t), uint64_t n)
{
	struct hashtab t = HASHTAB_INIT(hash);
	size_t longest;

	for (uint64_t k = 0; k < n; k++)
		add(&t, key(k));
	longest = longest_chain(&t);
	free_all(&t);
	return longest;
}

static uint64_t small(uint64_t k)
{
	return k; /* agree in their top 48 bits */
}

static uint64_t shifted(uint64_t k)
{
	return k << 32; /* agree in their low 32 bits and top 16 */
}

static void test_adversarial_keys(void **state)
{
	const uint64_t n = 1 << 16;

	(void)state;
	/* keys that agree in the bits a table would take as they are (top or
	 * low) share one chain when hashed by their own bits... */
	assert_int_equal(chain_for(item_hash_raw, small, n), n);
	assert_int_equal(chain_for(item_hash_raw, shifted, n), n);
	/* ...and spread when hashed under the process's key: n balls in at
	 * least n bins, the longest chain about ln n / ln ln n for SipHash,
	 * and multiply-shift spreads these even more evenly */
	assert_true(chain_for(item_hash, small, n) <= 16);
	assert_true(chain_for(item_hash, shifted, n) <= 16);
	assert_true(chain_for(item_hash_mul, small, n) <= 16);
	assert_true(chain_for(item_hash_mul, shifted, n) <= 16);
}

struct strkey {
	struct hashtab_node node;
	char s[24];
};

static uint64_t str_hash(const struct hashtab_node *n)
{
	const struct strkey *k = container_of(n, struct strkey, node);

	return siphash_keyed(k->s, strlen(k->s));
}

static void test_adversarial_paths(void **state)
{
	struct hashtab t = HASHTAB_INIT(str_hash);
	const size_t n = 1 << 15;
	struct strkey *keys = calloc(n, sizeof(*keys));
	size_t longest = 0;

	(void)state;
	assert_non_null(keys);
	/* paths that differ only past the first 8 bytes, and by one byte */
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i].s, sizeof(keys[i].s), "/usr/include/%08zx", i);
		hashtab_add(&t, &keys[i].node, str_hash(&keys[i].node));
	}
	for (size_t b = 0; b < t.nbuckets; b++) {
		size_t len = 0;

		for (struct hashtab_node *x = t.buckets[b]; x; x = x->next)
			len++;
		if (len > longest)
			longest = len;
	}
	assert_true(longest <= 16);
	hashtab_free(&t);
	free(keys);
}

/* An LRU cache of at most MAX entries, as the origin's hash cache is. */
static void cache_put(struct hashtab *t, struct lru *l, uint64_t key, size_t max)
{
	struct item *i = find_with(t, key);

	if (i) {
		lru_touch(l, &i->use);
		return;
	}
	i = add(t, key);
	lru_add_newest(l, &i->use);
	while (t->n > max) {
		struct item *victim = container_of(lru_oldest(l), struct item, use);

		lru_del(l, &victim->use);
		drop(t, victim);
	}
}

static void test_lru_order_and_count_bound(void **state)
{
	struct hashtab t = HASHTAB_INIT(item_hash);
	struct lru l = { 0 };
	uint64_t order[4], n = 0;

	(void)state;
	assert_null(lru_oldest(&l));
	for (uint64_t k = 1; k <= 4; k++)
		cache_put(&t, &l, k, 4);
	cache_put(&t, &l, 1, 4); /* used again: now the newest */
	cache_put(&t, &l, 3, 4);
	cache_put(&t, &l, 3, 4); /* the newest already */
	for (struct lru_node *u = lru_oldest(&l); u; u = u->newer)
		order[n++] = container_of(u, struct item, use)->key;
	assert_int_equal(n, 4);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 4);
	assert_int_equal(order[2], 1);
	assert_int_equal(order[3], 3);
	assert_ptr_equal(l.newest, &find_with(&t, 3)->use);
	/* over the bound: the least recently used go first */
	cache_put(&t, &l, 5, 4);
	assert_null(find_with(&t, 2));
	cache_put(&t, &l, 6, 4);
	assert_null(find_with(&t, 4));
	assert_int_equal(t.n, 4);
	for (uint64_t k = 1; k <= 6; k++)
		assert_true(!find_with(&t, k) == (k == 2 || k == 4));
	/* a long run: the survivors are the last MAX put */
	for (uint64_t k = 100; k < 10100; k++)
		cache_put(&t, &l, k, 1000);
	assert_int_equal(t.n, 1000);
	n = 9100;
	for (struct lru_node *u = lru_oldest(&l); u; u = u->newer)
		assert_int_equal(container_of(u, struct item, use)->key, n++);
	assert_int_equal(n, 10100);
	/* unlinking from the middle, the oldest and the newest */
	lru_del(&l, &find_with(&t, 9500)->use);
	lru_del(&l, &find_with(&t, 9100)->use);
	lru_del(&l, &find_with(&t, 10099)->use);
	n = 0;
	for (struct lru_node *u = lru_oldest(&l); u; u = u->newer)
		n++;
	assert_int_equal(n, 997);
	assert_int_equal(container_of(lru_oldest(&l), struct item, use)->key, 9101);
	assert_int_equal(container_of(l.newest, struct item, use)->key, 10098);
	free_all(&t);
}

/* A byte budget with an entry that must stay (the blob just handed out)
 * and one that cannot go (its unlink fails), as the worker's cache has. */
static void test_lru_byte_budget(void **state)
{
	struct hashtab t = HASHTAB_INIT(item_hash);
	struct lru l = { 0 };
	size_t total = 0, budget = 100;
	struct item *keep, *stuck;

	(void)state;
	for (uint64_t k = 0; k < 10; k++) {
		struct item *i = add(&t, k);

		i->bytes = 20;
		total += i->bytes;
		lru_add_newest(&l, &i->use);
	}
	keep = find_with(&t, 0);  /* the oldest, but in use */
	stuck = find_with(&t, 2); /* cannot be removed */
	for (struct lru_node *u = lru_oldest(&l), *next; u && total > budget; u = next) {
		struct item *i = container_of(u, struct item, use);

		next = u->newer;
		if (i == keep || i == stuck)
			continue;
		total -= i->bytes;
		lru_del(&l, u);
		drop(&t, i);
	}
	assert_int_equal(total, 100);
	/* 0 and 2 stayed; 1 and 3..6 went, which brought 7..9 within budget */
	for (uint64_t k = 0; k < 10; k++)
		assert_true(!find_with(&t, k) == (k == 1 || (k >= 3 && k <= 6)));
	assert_int_equal(container_of(lru_oldest(&l), struct item, use)->key, 0);
	free_all(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_insert_lookup),
		cmocka_unit_test(test_chain_surgery),
		cmocka_unit_test(test_remove_while_iterating),
		cmocka_unit_test(test_growth_bound),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_adversarial_keys),
		cmocka_unit_test(test_adversarial_paths),
		cmocka_unit_test(test_lru_order_and_count_bound),
		cmocka_unit_test(test_lru_byte_budget),
	};

	return cmocka_run_group_tests_name("hashtab", tests, NULL, NULL);
}
