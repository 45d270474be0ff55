/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * open_cache.h - what the origin said about each file a job opened (its
 * attributes and content hash), kept for the rest of the job: a job reads
 * the origin's files as of their first lookup (Documentation/mosfs.md), so a
 * second open of the same path needs no round trip.  Whatever the job
 * changes itself (writes back, removes, renames, chmods...) is forgotten, so
 * the next open asks the origin again.  Thread-safe.
 */
#ifndef MOSD_OPEN_CACHE_H
#define MOSD_OPEN_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <mosingar/protocol.h>

struct open_cache;

struct open_cache *open_cache_new(void);
void open_cache_free(struct open_cache *oc);
bool open_cache_get(struct open_cache *oc, const char *path, struct mos_attr *attr,
		    uint8_t sha256[32]);
void open_cache_put(struct open_cache *oc, const char *path, const struct mos_attr *attr,
		    const uint8_t sha256[32]);
/* Forget PATH and everything beneath it. */
void open_cache_forget(struct open_cache *oc, const char *path);

#endif /* MOSD_OPEN_CACHE_H */
