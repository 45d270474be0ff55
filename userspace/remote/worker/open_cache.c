// SPDX-License-Identifier: GPL-2.0-only
/*
 * open_cache.c - path -> (attributes, hash) in a hash table (hashtab.h).
 *
 * The paths are the job's to choose, so they are hashed with SipHash under
 * the process's key (siphash_keyed): no set of paths can be made to share a
 * chain and turn every open into a walk of all of them.  Each entry keeps
 * its path's hash, so that growing the table hashes nothing again and a
 * lookup compares paths only when the hashes agree.
 */
#include "open_cache.h"

#include <pthread.h>
#include <string.h>

#include "hashtab.h"
#include "strmap.h"
#include "util.h"

struct entry {
	struct hashtab_node node;
	uint64_t h;
	struct mos_attr attr;
	uint8_t sha256[32];
	char path[];
};

struct open_cache {
	pthread_mutex_t lock;
	struct hashtab table; /* struct entry, by path */
};

struct key {
	const char *path;
	uint64_t h;
};

static struct entry *entry_of(const struct hashtab_node *n)
{
	return container_of(n, struct entry, node);
}

static uint64_t entry_hash(const struct hashtab_node *n)
{
	return entry_of(n)->h;
}

static bool entry_eq(const struct hashtab_node *n, const void *key)
{
	const struct key *k = key;
	const struct entry *e = entry_of(n);

	return e->h == k->h && !strcmp(e->path, k->path);
}

static struct entry *find(const struct open_cache *oc, const struct key *k)
{
	struct hashtab_node *n = hashtab_find(&oc->table, k->h, entry_eq, k);

	return n ? entry_of(n) : NULL;
}

static struct key key_of(const char *path)
{
	return (struct key){ .path = path, .h = siphash_keyed(path, strlen(path)) };
}

struct open_cache *open_cache_new(void)
{
	struct open_cache *oc = xcalloc(1, sizeof(*oc));

	pthread_mutex_init(&oc->lock, NULL);
	oc->table = HASHTAB_INIT(entry_hash);
	return oc;
}

void open_cache_free(struct open_cache *oc)
{
	struct hashtab_iter it;

	if (!oc)
		return;
	it = HASHTAB_ITER(&oc->table);
	for (struct hashtab_node *n; (n = hashtab_iter_next(&it));) {
		hashtab_iter_remove(&it);
		free(entry_of(n));
	}
	hashtab_free(&oc->table);
	pthread_mutex_destroy(&oc->lock);
	free(oc);
}

bool open_cache_get(struct open_cache *oc, const char *path, struct mos_attr *attr,
		    uint8_t sha256[32])
{
	struct key k = key_of(path);
	struct entry *e;

	pthread_mutex_lock(&oc->lock);
	e = find(oc, &k);
	if (e) {
		*attr = e->attr;
		memcpy(sha256, e->sha256, 32);
	}
	pthread_mutex_unlock(&oc->lock);
	return e != NULL;
}

void open_cache_put(struct open_cache *oc, const char *path, const struct mos_attr *attr,
		    const uint8_t sha256[32])
{
	struct key k = key_of(path);
	struct entry *e;

	pthread_mutex_lock(&oc->lock);
	e = find(oc, &k);
	if (!e) {
		size_t len = strlen(path);

		e = xcalloc(1, sizeof(*e) + len + 1);
		e->h = k.h;
		memcpy(e->path, path, len + 1);
		hashtab_add(&oc->table, &e->node, k.h);
	}
	e->attr = *attr;
	memcpy(e->sha256, sha256, 32);
	pthread_mutex_unlock(&oc->lock);
}

void open_cache_forget(struct open_cache *oc, const char *path)
{
	size_t len = strlen(path);
	bool root = len == 1 && path[0] == '/';
	struct hashtab_iter it;

	pthread_mutex_lock(&oc->lock);
	it = HASHTAB_ITER(&oc->table);
	for (struct hashtab_node *n; (n = hashtab_iter_next(&it));) {
		struct entry *e = entry_of(n);

		if (root || !strcmp(e->path, path) ||
		    (!strncmp(e->path, path, len) && e->path[len] == '/')) {
			hashtab_iter_remove(&it);
			free(e);
		}
	}
	pthread_mutex_unlock(&oc->lock);
}
