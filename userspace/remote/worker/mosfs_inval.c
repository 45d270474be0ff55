// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs_inval.c - a mount kept from job to job (a session's): what the
 * origin said may have changed is dropped from the node tree and from the
 * kernel's caches before the next job, and a job's end is when its last
 * handle is released, not when the mount goes.
 *
 * An invalidated path P drops the whole listing of the directory D that
 * holds it (D is P's parent; or the deepest listed directory on the way to
 * P, when P is not there: the kernel may hold a negative entry for it):
 * D's entries leave the tree (their nodes live on while the kernel or a
 * handle holds them, with no path), the kernel is told to forget each of
 * their names in D (FUSE_NOTIFY_INVAL_ENTRY, which also drops what it
 * cached beneath them), and D is listed again at its next lookup, from
 * what the worker keeps or the origin.  New nodes get new ids, so no page
 * or attribute the kernel cached for the old ones is used again.
 *
 * Invalidations are applied only between jobs (the caller's choice):
 * within a job the origin's files are read as of their first lookup, and
 * a node that a running job has open keeps its path for its write-back.
 * The notifications are written outside the lock, on a thread of their
 * own, so that a kernel lock they wait for never holds up the serving.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuse_compat.h"
#include "log.h"
#include "mosfs_internal.h"
#include "mosfs_nodes.h"
#include "util.h"

#define INVAL_MAX 65536 /* paths queued; past this, everything is dropped */

void mosfs_invalidate_queue(struct mosfs *fs, const char *path)
{
	pthread_mutex_lock(&fs->lock);
	if (fs->ninval >= INVAL_MAX) {
		for (size_t i = 0; i < fs->ninval; i++)
			free(fs->inval[i]);
		fs->ninval = 0;
		path = "/";
	}
	fs->inval = xrealloc(fs->inval, (fs->ninval + 1) * sizeof(*fs->inval));
	fs->inval[fs->ninval++] = xstrdup(path);
	pthread_mutex_unlock(&fs->lock);
}

struct note {
	uint64_t parent;
	char *name;
};

struct notes {
	struct note *v;
	size_t n;
};

static void note_add(struct notes *ns, uint64_t parent, const char *name)
{
	ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
	ns->v[ns->n++] = (struct note){ .parent = parent, .name = xstrdup(name) };
}

/* Drop DIR's listing: its entries leave the tree, each name noted. */
static void drop_listing(struct mosfs *fs, struct mosfs_node *dir, struct notes *ns)
{
	dir->inval_gen++;
	if (!dir->listed)
		return;
	while (dir->nkids) {
		struct mosfs_node *kid = dir->kids[dir->nkids - 1];

		note_add(ns, dir->id, kid->name);
		mosfs_dir_remove(kid);
		kid->removed = true;
		if (!kid->nopen)
			mosfs_node_drop_scratch(fs, kid);
		mosfs_node_maybe_free(fs, kid);
	}
	dir->listed = false;
	dir->list_err = 0;
}

/* What P's invalidation drops, under the lock. */
static void invalidate_one(struct mosfs *fs, const char *path, struct notes *ns)
{
	_cleanup_free_ char *copy = xstrdup(path);
	struct mosfs_node *node = fs->root, *dir = fs->root;
	char *save = NULL, *comp;

	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		struct mosfs_node *kid;

		if (!node->listed)
			return; /* nothing kept beneath it */
		kid = mosfs_dir_find(node, comp);
		if (!kid) {
			/* not there: the kernel may hold it as a negative entry */
			note_add(ns, node->id, comp);
			drop_listing(fs, node, ns);
			return;
		}
		dir = node;
		node = kid;
	}
	drop_listing(fs, node == fs->root ? fs->root : dir, ns);
}

struct apply {
	struct mosfs *fs;
	struct notes ns;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done, abandoned;
};

static void apply_free(struct apply *a)
{
	for (size_t i = 0; i < a->ns.n; i++)
		free(a->ns.v[i].name);
	free(a->ns.v);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}

static void *notify_thread(void *arg)
{
	struct apply *a = arg;
	bool abandoned;

	for (size_t i = 0; i < a->ns.n; i++) {
		struct {
			struct fuse_out_header h;
			struct fuse_notify_inval_entry_out e;
			char name[MOS_NAME_MAX + 1];
		} __attribute__((packed)) m = { 0 };
		size_t nlen = strlen(a->ns.v[i].name);

		if (nlen > MOS_NAME_MAX)
			continue;
		m.h.unique = 0;
		m.h.error = FUSE_NOTIFY_INVAL_ENTRY;
		m.e.parent = a->ns.v[i].parent;
		m.e.namelen = (uint32_t)nlen;
		memcpy(m.name, a->ns.v[i].name, nlen + 1);
		m.h.len = (uint32_t)(sizeof(m.h) + sizeof(m.e) + nlen + 1);
		/* ENOENT: the kernel had no such entry cached */
		if (write(a->fs->fd, &m, m.h.len) < 0 && errno != ENOENT && errno != ENOTDIR)
			mos_warn("mosfs: cannot tell the kernel to forget %s: %s", a->ns.v[i].name,
				 strerror(errno));
	}
	pthread_mutex_lock(&a->lock);
	a->done = true;
	abandoned = a->abandoned;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (abandoned)
		apply_free(a);
	return NULL;
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int mosfs_invalidate_apply(struct mosfs *fs, unsigned timeout_ms)
{
	struct apply *a = xcalloc(1, sizeof(*a));
	struct timespec ts;
	pthread_t t;
	int r = 0;

	a->fs = fs;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < fs->ninval; i++) {
		invalidate_one(fs, fs->inval[i], &a->ns);
		free(fs->inval[i]);
	}
	fs->ninval = 0;
	pthread_mutex_unlock(&fs->lock);
	if (!a->ns.n) {
		apply_free(a);
		return 0;
	}
	if (pthread_create(&t, NULL, notify_thread, a) != 0) {
		apply_free(a);
		return -EAGAIN;
	}
	pthread_detach(t);
	deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&a->lock);
	while (!a->done && r == 0)
		if (pthread_cond_timedwait(&a->cond, &a->lock, &ts) == ETIMEDOUT)
			r = -ETIMEDOUT;
	if (!a->done)
		a->abandoned = true; /* the thread frees it when the kernel lets it go */
	pthread_mutex_unlock(&a->lock);
	if (!r)
		apply_free(a);
	return r;
}

int mosfs_wait_idle(struct mosfs *fs, unsigned timeout_ms)
{
	struct timespec ts;
	int r = 0;

	deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&fs->lock);
	while (fs->nhandles && r == 0 && !atomic_load(&fs->aborted))
		if (pthread_cond_timedwait(&fs->cond, &fs->lock, &ts) == ETIMEDOUT)
			r = -ETIMEDOUT;
	pthread_mutex_unlock(&fs->lock);
	return r;
}

/*
 * After a session's job, once its processes are gone: every file it wrote
 * whose scratch copy changed since its last write-back goes now.  A file
 * written through a shared mapping after its last close (mapped, closed,
 * written, unmapped: scripts/sorttable on vmlinux) changes its scratch
 * copy with no request at all under passthrough (the mapping is of the
 * scratch file itself), so neither its FLUSH nor its RELEASE saw those
 * writes.  A job's own mount gets this from its unmount; a session's
 * mount stays, so it is done here, before EXIT.
 */
void mosfs_writeback_changed(struct mosfs *fs)
{
	struct mosfs_node **v = NULL;
	size_t n = 0;

	pthread_mutex_lock(&fs->lock);
	for (size_t b = 0; b < fs->nodes.nbuckets; b++)
		for (struct mosfs_node *x = fs->nodes.buckets[b]; x; x = x->hash_next) {
			if (!x->has_scratch || x->removed)
				continue;
			x->nopen++; /* kept while its write-back runs unlocked */
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = x;
		}
	pthread_mutex_unlock(&fs->lock);
	for (size_t i = 0; i < n; i++)
		mosfs_writeback(fs, v[i], true, 0); /* (an error is recorded for EXIT) */
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < n; i++) {
		v[i]->nopen--;
		mosfs_node_maybe_free(fs, v[i]);
	}
	pthread_mutex_unlock(&fs->lock);
	free(v);
}

void mosfs_job_done(struct mosfs *fs)
{
	pthread_mutex_lock(&fs->lock);
	fs->wb_err = 0;
	free(fs->wb_path);
	fs->wb_path = NULL;
	pthread_mutex_unlock(&fs->lock);
}
