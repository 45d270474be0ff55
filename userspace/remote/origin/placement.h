/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * placement.h - which worker of a pool takes one job, from what this
 * user's mosctl processes know together: the workers backed off after a
 * failure (~/.cache/mosingar/worker-backoff) and the workers' own reports
 * (STATUS), kept for a second in ~/.cache/mosingar/worker-status so that a
 * build's many jobs ask each worker about once a second, not once a job.
 *
 * The pure rules (order, backoff, the files' formats) are pool.c's; this
 * file reads and writes the shared state and asks the workers.
 */
#ifndef MOSCTL_PLACEMENT_H
#define MOSCTL_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

/* How long one job's placement waits for the workers' reports, at most. */
#define PLACEMENT_REPORT_TIMEOUT_MS 250U

struct placement {
	size_t order[POOL_MAX_WORKERS];		      /* indices into the pool, best first */
	struct pool_load_info info[POOL_MAX_WORKERS]; /* what the order was made from */
	struct pool_backoffs bs;
	char *bpath, *rpath; /* NULL: not remembered (no private cache directory) */
	char *counted;	     /* the worker this job is counted on (PLACED), or NULL */
	uint64_t counted_at; /* the report it was counted against */
};

/*
 * Order the workers of P for one job.  Reports older than a second are
 * asked for again (every such worker at once, within TIMEOUT_MS and
 * PLACEMENT_REPORT_TIMEOUT_MS; `local` reports this machine's load); the
 * first worker of the order is counted as running one more job until
 * placement_done().  A pool of one worker is not asked.
 */
void placement_start(struct placement *pl, const struct pool *p, unsigned timeout_ms);
/* (TIMEOUT_MS 0: no -t; the reports get PLACEMENT_REPORT_TIMEOUT_MS.) */
/* What placement knew of worker I, for -v: "3/4 slots in use, load 1.20 on 4
 * CPUs", "backed off", "no report". */
void placement_describe(const struct placement *pl, size_t i, char *buf, size_t len);
/* WORKER was tried: it could not be reached (backed off) or it took the job. */
void placement_tried(struct placement *pl, const char *worker, bool unreached);
/* The job is over: the backoff state saved, the job no longer counted. */
void placement_done(struct placement *pl);

#endif /* MOSCTL_PLACEMENT_H */
