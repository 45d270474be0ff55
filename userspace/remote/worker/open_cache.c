// SPDX-License-Identifier: GPL-2.0-only
/*
 * open_cache.c - a chained hash table of path -> (attributes, hash).
 */
#include "open_cache.h"

#include <pthread.h>
#include <string.h>

#include "util.h"

struct entry {
	struct entry *next;
	uint64_t h;
	char *path;
	struct mos_attr attr;
	uint8_t sha256[32];
};

struct open_cache {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets, n;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

struct open_cache *open_cache_new(void)
{
	struct open_cache *oc = xcalloc(1, sizeof(*oc));

	pthread_mutex_init(&oc->lock, NULL);
	oc->nbuckets = 256;
	oc->buckets = xcalloc(oc->nbuckets, sizeof(*oc->buckets));
	return oc;
}

static void entry_free(struct entry *e)
{
	free(e->path);
	free(e);
}

void open_cache_free(struct open_cache *oc)
{
	if (!oc)
		return;
	for (size_t i = 0; i < oc->nbuckets; i++) {
		for (struct entry *e = oc->buckets[i], *n; e; e = n) {
			n = e->next;
			entry_free(e);
		}
	}
	free(oc->buckets);
	pthread_mutex_destroy(&oc->lock);
	free(oc);
}

static struct entry **find(struct open_cache *oc, const char *path, uint64_t h)
{
	struct entry **pp = &oc->buckets[h % oc->nbuckets];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->h == h && !strcmp((*pp)->path, path))
			break;
	return pp;
}

bool open_cache_get(struct open_cache *oc, const char *path, struct mos_attr *attr,
		    uint8_t sha256[32])
{
	uint64_t h = fnv1a(path);
	struct entry *e;

	pthread_mutex_lock(&oc->lock);
	e = *find(oc, path, h);
	if (e) {
		*attr = e->attr;
		memcpy(sha256, e->sha256, 32);
	}
	pthread_mutex_unlock(&oc->lock);
	return e != NULL;
}

static void grow(struct open_cache *oc)
{
	size_t nb = oc->nbuckets * 2;
	struct entry **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < oc->nbuckets; i++) {
		for (struct entry *e = oc->buckets[i], *n; e; e = n) {
			n = e->next;
			e->next = b[e->h % nb];
			b[e->h % nb] = e;
		}
	}
	free(oc->buckets);
	oc->buckets = b;
	oc->nbuckets = nb;
}

void open_cache_put(struct open_cache *oc, const char *path, const struct mos_attr *attr,
		    const uint8_t sha256[32])
{
	uint64_t h = fnv1a(path);
	struct entry **pp, *e;

	pthread_mutex_lock(&oc->lock);
	pp = find(oc, path, h);
	e = *pp;
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->h = h;
		e->path = xstrdup(path);
		e->next = oc->buckets[h % oc->nbuckets];
		oc->buckets[h % oc->nbuckets] = e;
		if (++oc->n > 2 * oc->nbuckets)
			grow(oc);
	}
	e->attr = *attr;
	memcpy(e->sha256, sha256, 32);
	pthread_mutex_unlock(&oc->lock);
}

void open_cache_forget(struct open_cache *oc, const char *path)
{
	size_t len = strlen(path);
	bool root = len == 1 && path[0] == '/';

	pthread_mutex_lock(&oc->lock);
	for (size_t i = 0; i < oc->nbuckets; i++) {
		for (struct entry **pp = &oc->buckets[i]; *pp;) {
			struct entry *e = *pp;

			if (root || !strcmp(e->path, path) ||
			    (!strncmp(e->path, path, len) && e->path[len] == '/')) {
				*pp = e->next;
				entry_free(e);
				oc->n--;
			} else {
				pp = &e->next;
			}
		}
	}
	pthread_mutex_unlock(&oc->lock);
}
