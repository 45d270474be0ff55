/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pool.h - the workers a job may run on (`--on SPEC`), where to try it
 * first, and which workers are backed off after a failure.
 *
 * SPEC is one worker (HOST[:PORT], [V6ADDR]:PORT, ssh://[USER@]HOST, local),
 * a comma list of them, or @NAME: the pool file $MOS_CONFIG_DIR/pools/NAME
 * (else ~/.config/mosingar/pools/NAME), one worker a line with an optional
 * slot count after it, '#' starting a comment.  The parsers here are pure
 * (no filesystem, no clock): pool_load() is the one that reads files.
 */
#ifndef MOSCTL_POOL_H
#define MOSCTL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_MAX_WORKERS 256
#define POOL_MAX_SLOTS 4096
#define POOL_FILE_MAX (64 * 1024)

struct pool_worker {
	char *spec;	/* as written: "w1:4977", "ssh://u@h", "local" */
	unsigned slots; /* from the pool file; 0: not said (the worker's report decides) */
};

struct pool {
	struct pool_worker *w;
	size_t n;
};

/* Whether WORKER is one worker's spelling; on false, *WHY says what is wrong. */
bool pool_worker_valid(const char *worker, const char **why);
/*
 * Add the workers of a comma list (no @NAME in it) to P.  Returns 0, or
 * -EINVAL with ERR naming the bad item (a worker listed twice included).
 */
int pool_parse_list(struct pool *p, const char *list, char *err, size_t errlen);
/*
 * Add the workers of a pool file's TEXT (named FILE in messages) to P.
 * Returns 0, or -EINVAL with ERR "FILE:LINE: what is wrong".
 */
int pool_parse_file(struct pool *p, const char *text, const char *file, char *err, size_t errlen);
/* Whether NAME may name a pool file (no '/', not starting with '.'). */
bool pool_name_valid(const char *name);
/*
 * SPEC into P: a list, or @NAME read from CONFIG_DIR/pools/NAME (a regular
 * file of at most POOL_FILE_MAX bytes, opened without blocking).  Returns 0
 * or -errno with ERR set; an empty pool is -EINVAL.
 */
int pool_load(struct pool *p, const char *spec, const char *config_dir, char *err, size_t errlen);
void pool_free(struct pool *p);

/* The default SPEC of `mosctl cc` and `mosctl make`: $MOS_ON, or NULL. */
const char *pool_default_spec(void);

/*
 * Placement.  What is known of each worker before a job: its report (from
 * STATUS) if it answered, and whether it is backed off.
 */
struct pool_load_info {
	bool backed_off; /* failed lately: tried only after every other one */
	bool reported;	 /* the fields below are from the worker's report */
	unsigned slots, running, cpus;
	unsigned load1000; /* 1-minute load average x 1000 */
};
/*
 * Order the N workers into ORDER (indices into INFO) for one job: workers
 * not backed off first; among them, those with a free slot first (slots
 * from the report, else from SLOTS_HINT[i] when nonzero, else taken as
 * free), then the lowest load per CPU (a worker without a report after
 * those with one), then the fewest running jobs; ties
 * are broken by rotating from ROTATE (e.g. this process's id), so that
 * origins starting at once do not all pick the first worker.  Backed-off
 * workers last, in list order.  Pure.
 */
void pool_place(const struct pool_load_info *info, const unsigned *slots_hint, size_t n,
		unsigned rotate, size_t *order);

/*
 * Backoff after a failure: 2 s, doubled on every failure in a row, at most
 * 5 min.  PREV_MS is the last delay (0: none).
 */
#define POOL_BACKOFF_MIN_MS 2000ULL
#define POOL_BACKOFF_MAX_MS 300000ULL
uint64_t pool_backoff_next(uint64_t prev_ms);

/*
 * The backoff state, one line per worker: "WORKER UNTIL_MS DELAY_MS" (UNTIL
 * on CLOCK_REALTIME in ms, so that it holds across processes).  Parsing
 * skips malformed lines (the file is a cache: losing it costs one retry).
 */
struct pool_backoff {
	char *worker;
	uint64_t until_ms, delay_ms;
};
struct pool_backoffs {
	struct pool_backoff *b;
	size_t n;
};
void pool_backoffs_parse(struct pool_backoffs *bs, const char *text);
/* The entry of WORKER, or NULL. */
struct pool_backoff *pool_backoffs_find(struct pool_backoffs *bs, const char *worker);
/* A failure of WORKER at NOW_MS: its delay doubles (from 2 s). */
void pool_backoffs_fail(struct pool_backoffs *bs, const char *worker, uint64_t now_ms);
/* WORKER took a job: forget its failures. */
void pool_backoffs_ok(struct pool_backoffs *bs, const char *worker);
/* Whether WORKER is backed off at NOW_MS. */
bool pool_backoffs_active(struct pool_backoffs *bs, const char *worker, uint64_t now_ms);
/* The file's text (malloc'd), entries that ended longer than 1 h ago dropped. */
char *pool_backoffs_format(const struct pool_backoffs *bs, uint64_t now_ms);
void pool_backoffs_free(struct pool_backoffs *bs);

/*
 * The workers' last reports, shared by this user's mosctl processes (a
 * cache: ~/.cache/mosingar/worker-status), one line per worker:
 *
 *   WORKER AT_MS ok SLOTS RUNNING CPUS LOAD1000 PLACED
 *   WORKER AT_MS none
 *
 * AT_MS is when the report came (CLOCK_REALTIME, ms); "none" records a
 * worker that gave no report (too old a mosd, no answer in time), so that
 * it is not asked again before the report would have been stale.  PLACED
 * counts the jobs this machine's mosctl processes sent it since the report
 * and that are still running: placement counts them as running, so that
 * origins choosing within one report's lifetime do not all pick the same
 * worker.  Parsing skips malformed lines.
 */
#define POOL_REPORT_TTL_MS 1000ULL
struct pool_report {
	char *worker;
	uint64_t at_ms;
	bool ok;
	unsigned slots, running, cpus, load1000, placed;
};
struct pool_reports {
	struct pool_report *r;
	size_t n;
};
void pool_reports_parse(struct pool_reports *rs, const char *text);
/* The entry of WORKER, or NULL. */
struct pool_report *pool_reports_find(struct pool_reports *rs, const char *worker);
/* The entry of WORKER, added empty (at_ms 0: stale) when there is none. */
struct pool_report *pool_reports_get(struct pool_reports *rs, const char *worker);
/* Whether R is younger than POOL_REPORT_TTL_MS at NOW_MS. */
bool pool_report_fresh(const struct pool_report *r, uint64_t now_ms);
/* What placement takes from R: its report, with PLACED counted as running. */
void pool_report_info(const struct pool_report *r, struct pool_load_info *info);
/* The file's text (malloc'd), reports older than 1 h dropped. */
char *pool_reports_format(const struct pool_reports *rs, uint64_t now_ms);
void pool_reports_free(struct pool_reports *rs);

#endif /* MOSCTL_POOL_H */
