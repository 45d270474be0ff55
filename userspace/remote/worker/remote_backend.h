/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * remote_backend.h - mosfs's backend on a worker: each operation becomes a
 * request to the origin over the job's connection; file contents come from
 * the content-addressed cache, fetched from the origin only on a miss.
 */
#ifndef MOSD_REMOTE_BACKEND_H
#define MOSD_REMOTE_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cas.h"
#include "conn.h"
#include "mosfs.h"
#include "open_cache.h"

struct preloaded_listing;

struct remote_backend {
	struct conn *conn;
	struct preloaded_listing *preloaded; /* listings sent before the job (PRELOAD_LISTDIR) */
	struct cas *cas;
	struct open_cache *opened; /* OPEN answers, kept for the job */
	pthread_mutex_t lock;
	uint64_t cache_hits, cache_misses, bytes_fetched, bytes_written;
	uint64_t open_cache_hits;
	uint64_t preload_hits;	  /* listings used from PRELOAD_LISTDIR */
	uint64_t origin_features; /* the origin's HELLO (enum mos_hello_features) */
	/* a session (MOS_FEAT_SESSION): listings and OPEN answers are kept from
	 * job to job; GEN counts invalidations, so that an answer that may
	 * predate one is used by its job only */
	bool session;
	uint64_t gen;
	size_t kept_entries;
	/* CANCEL came: the origin has dropped this job's write-backs and takes
	 * no more, so none is sent (put_file fails -ECANCELED at once) */
	atomic_bool cancelled;
};

extern const struct mosfs_backend_ops remote_backend_ops;

/* A PRELOAD_LISTDIR / PRELOAD_OPEN frame from the origin: kept, and used
 * instead of asking when the job looks there.  -EPROTO when malformed. */
int remote_backend_preload_listing(struct remote_backend *rb, const uint8_t *payload, size_t len,
				   bool more);
int remote_backend_preload_open(struct remote_backend *rb, const uint8_t *payload, size_t len);
void remote_backend_free_preloaded(struct remote_backend *rb);
/* INVALIDATE PATH: what is kept of it, beneath it and of its directory's
 * listing is dropped (listings still coming in are dropped once complete). */
void remote_backend_invalidate(struct remote_backend *rb, const char *path);
/* A session's job has ended: what it was sent and did not keep goes, and
 * the per-job counters start again. */
void remote_backend_job_done(struct remote_backend *rb);

#endif /* MOSD_REMOTE_BACKEND_H */
