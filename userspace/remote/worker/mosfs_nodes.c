// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs_nodes.c - mosfs's inode table (see mosfs_nodes.h).
 *
 * Node ids are handed out in order and never reused, so a stale id from
 * the kernel finds nothing rather than another file.
 */
#include "mosfs_nodes.h"

#include <linux/fuse.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MOSFS_NODES_MIN_BUCKETS 1024

void mosfs_nodes_init(struct mosfs_nodes *t)
{
	t->nbuckets = MOSFS_NODES_MIN_BUCKETS;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->count = 0;
	t->next_id = FUSE_ROOT_ID;
}

static void node_free(struct mosfs_node *n)
{
	if (n->content_fd >= 0)
		close(n->content_fd);
	free(n->kids);
	free(n->name);
	free(n->link);
	free(n);
}

void mosfs_nodes_fini(struct mosfs_nodes *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct mosfs_node *n = t->buckets[i], *next;

		for (; n; n = next) {
			next = n->hash_next;
			node_free(n);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->count = 0;
}

static size_t bucket_of(uint64_t id, size_t nbuckets)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 17) & (nbuckets - 1);
}

static void grow(struct mosfs_nodes *t)
{
	size_t nb = t->nbuckets * 2;
	struct mosfs_node **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct mosfs_node *n = t->buckets[i], *next;

		for (; n; n = next) {
			size_t k = bucket_of(n->id, nb);

			next = n->hash_next;
			n->hash_next = b[k];
			b[k] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
}

struct mosfs_node *mosfs_node_new(struct mosfs_nodes *t, char *name, const struct mos_attr *a,
				  char *link)
{
	struct mosfs_node *n = xcalloc(1, sizeof(*n));
	size_t k;

	if (t->count >= t->nbuckets)
		grow(t);
	n->id = t->next_id++;
	n->name = name;
	n->attr = *a;
	n->link = link;
	n->content_fd = -1;
	k = bucket_of(n->id, t->nbuckets);
	n->hash_next = t->buckets[k];
	t->buckets[k] = n;
	t->count++;
	return n;
}

struct mosfs_node *mosfs_node_get(const struct mosfs_nodes *t, uint64_t id)
{
	struct mosfs_node *n = t->buckets[bucket_of(id, t->nbuckets)];

	while (n && n->id != id)
		n = n->hash_next;
	return n;
}

void mosfs_node_destroy(struct mosfs_nodes *t, struct mosfs_node *n)
{
	struct mosfs_node **pp = &t->buckets[bucket_of(n->id, t->nbuckets)];

	while (*pp && *pp != n)
		pp = &(*pp)->hash_next;
	if (*pp) {
		*pp = n->hash_next;
		t->count--;
	}
	node_free(n);
}

/* Index of NAME in DIR's kids, or where it would go (*found false). */
static size_t dir_search(const struct mosfs_node *dir, const char *name, bool *found)
{
	size_t lo = 0, hi = dir->nkids;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(dir->kids[mid]->name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct mosfs_node *mosfs_dir_find(const struct mosfs_node *dir, const char *name)
{
	bool found;
	size_t i = dir_search(dir, name, &found);

	return found ? dir->kids[i] : NULL;
}

void mosfs_dir_insert(struct mosfs_node *dir, struct mosfs_node *kid)
{
	bool found;
	size_t i = dir_search(dir, kid->name, &found);

	if (dir->nkids == dir->kids_cap) {
		dir->kids_cap = dir->kids_cap ? dir->kids_cap * 2 : 8;
		dir->kids = xrealloc(dir->kids, dir->kids_cap * sizeof(*dir->kids));
	}
	memmove(&dir->kids[i + 1], &dir->kids[i], (dir->nkids - i) * sizeof(*dir->kids));
	dir->kids[i] = kid;
	dir->nkids++;
	kid->parent = dir;
}

void mosfs_dir_remove(struct mosfs_node *kid)
{
	struct mosfs_node *dir = kid->parent;
	bool found;
	size_t i;

	if (!dir)
		return;
	i = dir_search(dir, kid->name, &found);
	if (found && dir->kids[i] == kid) {
		memmove(&dir->kids[i], &dir->kids[i + 1],
			(dir->nkids - i - 1) * sizeof(*dir->kids));
		dir->nkids--;
	}
	kid->parent = NULL;
}

static int by_name(const void *a, const void *b)
{
	const struct mosfs_node *x = *(struct mosfs_node *const *)a;
	const struct mosfs_node *y = *(struct mosfs_node *const *)b;

	return strcmp(x->name, y->name);
}

void mosfs_dir_sort(struct mosfs_nodes *t, struct mosfs_node *dir)
{
	size_t out = 0;

	if (!dir->nkids)
		return;
	qsort(dir->kids, dir->nkids, sizeof(*dir->kids), by_name);
	for (size_t i = 0; i < dir->nkids; i++) {
		if (out && strcmp(dir->kids[out - 1]->name, dir->kids[i]->name) == 0) {
			mosfs_node_destroy(t, dir->kids[i]);
			continue;
		}
		dir->kids[out++] = dir->kids[i];
	}
	dir->nkids = out;
}

char *mosfs_node_path(const struct mosfs_node *n)
{
	size_t len = 0;
	const struct mosfs_node *p;
	char *path, *end;

	if (n->removed)
		return NULL;
	if (!n->parent)
		return n->id == FUSE_ROOT_ID ? xstrdup("/") : NULL;
	for (p = n; p->parent; p = p->parent) {
		if (p->removed)
			return NULL;
		len += 1 + strlen(p->name);
	}
	if (p->id != FUSE_ROOT_ID)
		return NULL;
	path = xmalloc(len + 1);
	end = path + len;
	*end = '\0';
	for (p = n; p->parent; p = p->parent) {
		size_t l = strlen(p->name);

		end -= l;
		memcpy(end, p->name, l);
		*--end = '/';
	}
	return path;
}
