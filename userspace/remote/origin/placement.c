// SPDX-License-Identifier: GPL-2.0-only
/*
 * placement.c - the shared state placement reads and writes, and the
 * workers' reports asked for when the state's are stale.
 *
 * Two files in a directory only this user can change (mkdir_private):
 *
 *   worker-backoff  rewritten by rename (a reader sees the old or the new
 *                   state); two origins writing at once: the last wins,
 *                   which costs at most one retry of a dead worker.
 *   worker-status   read and rewritten under flock(LOCK_EX), held for a
 *                   parse and a write only, never while a worker is asked:
 *                   PLACED counts must not be lost between two origins.  A
 *                   stale report is first claimed (its time set to now, its
 *                   figures kept), so that other origins go on with it
 *                   rather than all asking the same worker at once.
 *
 * Both are caches: losing or damaging them costs reports asked again or a
 * dead worker tried once more, nothing else.
 */
#include "placement.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "remote_run.h"
#include "util.h"

#define STATE_MAX (256 * 1024)

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* $XDG_CACHE_HOME/mosingar/NAME (else ~/.cache/...), or NULL. */
static char *state_path(const char *name)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	_cleanup_free_ char *dir = xdg && *xdg	   ? xasprintf("%s/mosingar", xdg)
				   : home && *home ? xasprintf("%s/.cache/mosingar", home)
						   : NULL;
	char why[512];

	if (!dir || mkdir_private(dir, why, sizeof(why)) < 0)
		return NULL;
	return xasprintf("%s/%s", dir, name);
}

/* ------------------------------------------------------------------ */
/* worker-backoff                                                      */

static void backoff_load(struct pool_backoffs *bs, const char *path)
{
	_cleanup_free_ char *text = NULL;
	char why[512];

	*bs = (struct pool_backoffs){ 0 };
	if (path && read_regular(path, "backoff state", STATE_MAX, &text, why, sizeof(why)) >= 0)
		pool_backoffs_parse(bs, text);
}

static void backoff_save(const struct pool_backoffs *bs, const char *path)
{
	_cleanup_free_ char *text = pool_backoffs_format(bs, real_ms());
	_cleanup_free_ char *tmp = path ? xasprintf("%s.%d", path, (int)getpid()) : NULL;
	int fd;

	if (!tmp)
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0 ||
	    rename(tmp, path) < 0)
		unlink(tmp);
}

/* ------------------------------------------------------------------ */
/* worker-status                                                       */

/* The file opened and locked, its reports in RS; -1 when it cannot be. */
static int reports_lock(const char *path, struct pool_reports *rs)
{
	struct stat st;
	char *text;
	ssize_t n;
	int fd;

	*rs = (struct pool_reports){ 0 };
	if (!path)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STATE_MAX ||
	    flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	text = xmalloc(STATE_MAX + 1);
	n = pread(fd, text, STATE_MAX, 0);
	text[n > 0 ? n : 0] = 0;
	pool_reports_parse(rs, text);
	free(text);
	return fd;
}

/* Write RS back and unlock (closing FD releases the lock). */
static void reports_unlock(int fd, struct pool_reports *rs)
{
	_cleanup_free_ char *text = NULL;

	if (fd < 0) {
		pool_reports_free(rs);
		return;
	}
	text = pool_reports_format(rs, real_ms());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, text, strlen(text), 0);
	close(fd);
	pool_reports_free(rs);
}

/* One worker asked for its report, on a thread of its own. */
struct ask {
	const char *worker;
	size_t index; /* in the pool */
	unsigned timeout_ms;
	struct pool_report got;
	bool unreached; /* the worker cannot be reached at all: it cannot take the job */
	pthread_t t;
	bool started;
};

/* `local` is this machine: its load and CPUs, no slot count of its own. */
static void local_report(struct pool_report *r)
{
	double load;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	r->ok = true;
	r->slots = 0;
	r->running = 0;
	r->cpus = cpus > 0 ? (unsigned)cpus : 1;
	r->load1000 = getloadavg(&load, 1) == 1 && load >= 0 ? (unsigned)(load * 1000) : 0;
}

static void *ask_one(void *arg)
{
	struct ask *a = arg;
	struct mos_status st = { 0 };
	uint64_t rtt;
	char err[512];

	if (!strcmp(a->worker, "local")) {
		local_report(&a->got);
	} else {
		int r = remote_worker_status(a->worker, a->timeout_ms, &st, &rtt, err, sizeof(err));

		a->got.ok = r == 0;
		a->got.slots = st.slots;
		a->got.running = st.running;
		a->got.cpus = st.cpus;
		a->got.load1000 = st.load_milli;
		if (r < 0)
			mos_info("no report from the worker %s: %s", a->worker, err);
		a->unreached = r < 0 && r != -EOPNOTSUPP;
	}
	a->got.at_ms = real_ms();
	return NULL;
}

/* Ask the workers of P whose reports are stale (not backed off), at once;
 * one that cannot be reached is backed off here and now. */
static void refresh_reports(struct placement *pl, const struct pool *p, struct pool_load_info *info,
			    unsigned timeout_ms)
{
	struct ask *asks = xcalloc(p->n, sizeof(*asks));
	struct pool_reports rs;
	size_t nask = 0;
	uint64_t now = real_ms();
	int fd = reports_lock(pl->rpath, &rs);

	for (size_t i = 0; i < p->n; i++) {
		struct pool_report *r = pool_reports_get(&rs, p->w[i].spec);

		if (info[i].backed_off || pool_report_fresh(r, now))
			continue;
		r->at_ms = now; /* claimed: the others use its old figures meanwhile */
		asks[nask].worker = p->w[i].spec;
		asks[nask].index = i;
		asks[nask].timeout_ms = timeout_ms;
		nask++;
	}
	reports_unlock(fd, &rs);
	for (size_t i = 0; i < nask; i++)
		asks[i].started = pthread_create(&asks[i].t, NULL, ask_one, &asks[i]) == 0;
	for (size_t i = 0; i < nask; i++) {
		if (asks[i].started)
			pthread_join(asks[i].t, NULL);
		else
			ask_one(&asks[i]);
	}
	if (nask) {
		fd = reports_lock(pl->rpath, &rs);
		for (size_t i = 0; i < nask; i++) {
			if (asks[i].unreached) {
				pool_backoffs_fail(&pl->bs, asks[i].worker, real_ms());
				info[asks[i].index].backed_off = true;
			}
			struct pool_report *r = pool_reports_get(&rs, asks[i].worker);

			if (r->at_ms > asks[i].got.at_ms)
				continue; /* someone else's newer report stays */
			asks[i].got.worker = r->worker;
			*r = asks[i].got; /* PLACED starts again from 0 with the report */
		}
		reports_unlock(fd, &rs);
	}
	free(asks);
}

void placement_start(struct placement *pl, const struct pool *p, unsigned timeout_ms)
{
	struct pool_load_info *info = pl->info;
	unsigned hint[POOL_MAX_WORKERS];
	struct pool_reports rs;
	uint64_t now = real_ms();
	int fd;

	memset(pl, 0, sizeof(*pl));
	if (p->n <= 1) {
		pl->order[0] = 0;
		return;
	}
	pl->bpath = state_path("worker-backoff");
	pl->rpath = state_path("worker-status");
	backoff_load(&pl->bs, pl->bpath);
	for (size_t i = 0; i < p->n; i++) {
		hint[i] = p->w[i].slots;
		info[i].backed_off = pool_backoffs_active(&pl->bs, p->w[i].spec, now);
	}
	if (!timeout_ms || timeout_ms > PLACEMENT_REPORT_TIMEOUT_MS)
		timeout_ms = PLACEMENT_REPORT_TIMEOUT_MS;
	refresh_reports(pl, p, info, timeout_ms);

	fd = reports_lock(pl->rpath, &rs);
	for (size_t i = 0; i < p->n; i++) {
		struct pool_report *r = pool_reports_find(&rs, p->w[i].spec);

		if (r)
			pool_report_info(r, &info[i]);
	}
	pool_place(info, hint, p->n, (unsigned)getpid(), pl->order);
	if (fd >= 0) {
		struct pool_report *r = pool_reports_find(&rs, p->w[pl->order[0]].spec);

		if (r && r->ok && !info[pl->order[0]].backed_off) {
			r->placed++;
			pl->counted = xstrdup(r->worker);
			pl->counted_at = r->at_ms;
		}
	}
	reports_unlock(fd, &rs);
}

void placement_describe(const struct placement *pl, size_t i, char *buf, size_t len)
{
	const struct pool_load_info *in = &pl->info[i];

	if (in->backed_off)
		snprintf(buf, len, "backed off after a failure");
	else if (!in->reported)
		snprintf(buf, len, "no report");
	else if (in->slots)
		snprintf(buf, len, "%u/%u slots in use, load %.2f on %u CPUs", in->running,
			 in->slots, in->load1000 / 1000.0, in->cpus);
	else
		snprintf(buf, len, "%u jobs placed, load %.2f on %u CPUs", in->running,
			 in->load1000 / 1000.0, in->cpus);
}

void placement_tried(struct placement *pl, const char *worker, bool unreached)
{
	if (!pl->bpath)
		return;
	if (unreached)
		pool_backoffs_fail(&pl->bs, worker, real_ms());
	else
		pool_backoffs_ok(&pl->bs, worker);
}

void placement_done(struct placement *pl)
{
	if (pl->counted) {
		struct pool_reports rs;
		int fd = reports_lock(pl->rpath, &rs);
		struct pool_report *r = pool_reports_find(&rs, pl->counted);

		/* counted against a report still in force: uncounted; a newer
		 * report already tells whether the job is still running */
		if (r && r->at_ms == pl->counted_at && r->placed)
			r->placed--;
		reports_unlock(fd, &rs);
	}
	if (pl->bpath)
		backoff_save(&pl->bs, pl->bpath);
	pool_backoffs_free(&pl->bs);
	free(pl->bpath);
	free(pl->rpath);
	free(pl->counted);
	memset(pl, 0, sizeof(*pl));
}
