// SPDX-License-Identifier: GPL-2.0-only
/*
 * hashtab.c - the intrusive hash table (hashtab.h).  The LRU list is all
 * inline in the header.
 */
#include "hashtab.h"

#include <stdlib.h>

#include "util.h"

#define HASHTAB_MIN_BUCKETS 16

void hashtab_free(struct hashtab *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->n = 0;
	t->shift = 0;
}

/* Double the buckets.  Growing a table keeps its old buckets when the
 * memory is not there, since longer chains are still right; only the first
 * HASHTAB_MIN_BUCKETS must be had (xcalloc: out of memory ends the process,
 * as everywhere in libmos). */
static void grow(struct hashtab *t)
{
	size_t nb = t->nbuckets ? 2 * t->nbuckets : HASHTAB_MIN_BUCKETS;
	unsigned int shift = 64 - (unsigned int)__builtin_ctzll(nb);
	struct hashtab_node **b;

	if (t->nbuckets >= HASHTAB_MAX_BUCKETS)
		return;
	b = t->nbuckets ? calloc(nb, sizeof(*b)) : xcalloc(nb, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (struct hashtab_node *n = t->buckets[i], *next; n; n = next) {
			struct hashtab_node **head = &b[t->hash(n) >> shift];

			next = n->next;
			n->next = *head;
			*head = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
	t->shift = shift;
}

void hashtab_add(struct hashtab *t, struct hashtab_node *node, uint64_t hash)
{
	struct hashtab_node **head;

	if (t->n >= t->nbuckets)
		grow(t);
	head = &t->buckets[hash >> t->shift];
	node->next = *head;
	*head = node;
	t->n++;
}

void hashtab_remove(struct hashtab *t, struct hashtab_node *node)
{
	struct hashtab_node **pp = &t->buckets[t->hash(node) >> t->shift];

	while (*pp != node)
		pp = &(*pp)->next;
	*pp = node->next;
	node->next = NULL;
	t->n--;
}

struct hashtab_node *hashtab_iter_next(struct hashtab_iter *it)
{
	struct hashtab *t = it->t;

	if (it->cur) {
		it->link = &it->cur->next;
	} else if (!it->link) {
		if (!t->nbuckets)
			return NULL;
		it->bucket = 0;
		it->link = &t->buckets[0];
	}
	/* else cur was removed: *link is already the node after it */
	while (!*it->link) {
		if (it->bucket + 1 >= t->nbuckets) {
			it->cur = NULL;
			return NULL;
		}
		it->link = &t->buckets[++it->bucket];
	}
	it->cur = *it->link;
	return it->cur;
}

void hashtab_iter_remove(struct hashtab_iter *it)
{
	struct hashtab_node *n = it->cur;

	if (!n)
		return;
	*it->link = n->next;
	n->next = NULL;
	it->cur = NULL;
	it->t->n--;
}
