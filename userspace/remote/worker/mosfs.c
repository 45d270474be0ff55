// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs.c - the worker's FUSE filesystem over raw /dev/fuse (see mosfs.h).
 *
 * Threads: NTHREADS threads read requests from the one device fd (made
 * non-blocking: an idle thread polls the device and an eventfd, which
 * mosfs_abort makes readable).  One mutex guards the node table, the
 * handle table and every node; it is dropped around every backend call and
 * every file copy, so a slow origin holds up only the requests that wait
 * for it.  A node whose content is being fetched or copied is marked busy;
 * a directory being listed is marked listing; other threads wait on a
 * condition variable for either to clear.
 *
 * Every request is checked before use: the header's length must match what
 * read(2) returned, the body must hold the opcode's fixed part, and names
 * must be NUL-terminated inside the body, non-empty, without '/', and not
 * "." or "..".  A request that fails a check is answered EINVAL (or EIO for
 * a malformed header) and logged.
 */
#include "mosfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>

#include "fuse_compat.h"
#include "log.h"
#include "mosfs_nodes.h"
#include "util.h"

/* The origin is read as of first lookup: entries and attributes stay valid
 * for the life of the mount (local changes update both). */
#define MOSFS_TTL_SEC (365ULL * 24 * 3600)
#define MOSFS_MAX_WRITE (1U << 20)
#define MOSFS_MAX_PAGES (MOSFS_MAX_WRITE / 4096)
#define MOSFS_BUF_SIZE (MOSFS_MAX_WRITE + 4096)
#define MOSFS_NOREPLY 1

struct mosfs_snap_ent {
	uint64_t id;
	uint32_t type; /* DT_* */
	char *name;
};

struct mosfs_handle {
	struct mosfs_node *node;
	int fd;		  /* own fd for READ/WRITE when not passthrough, else -1 */
	bool writable;	  /* flush writes the scratch copy back */
	bool passthrough; /* opened with FOPEN_PASSTHROUGH */
	bool is_dir;
	/* directories: the listing as of OPENDIR (offsets stay stable) */
	uint64_t dir_id, parent_id;
	struct mosfs_snap_ent *ents;
	size_t nents;
};

struct mosfs {
	const struct mosfs_config *c;
	int fd;
	int abort_fd; /* eventfd: readable once mosfs_abort ran */
	int scratch_dirfd;
	pthread_t *threads;
	int nthreads;
	bool joined;
	atomic_bool aborted;
	atomic_bool initialized;
	atomic_bool passthrough; /* negotiated and not refused since */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mosfs_nodes nodes;
	struct mosfs_node *root;
	struct mosfs_handle **handles;
	size_t handles_cap;

	int wb_err;
	char *wb_path;

	_Atomic uint64_t st_requests, st_reads, st_opens, st_passthrough_opens, st_writebacks,
		st_writeback_bytes;
};

struct mosfs_req {
	struct mosfs *fs;
	const struct fuse_in_header *h;
	const char *body;
	size_t len; /* body bytes */
	char *buf;  /* the thread's reply buffer, MOSFS_BUF_SIZE bytes */
};

/* ---- replies ---- */

static int reply_iov(struct mosfs *fs, uint64_t unique, int err, struct iovec *iov, int n)
{
	struct fuse_out_header out = { .error = -err, .unique = unique };
	struct iovec v[4];
	size_t len = sizeof(out);
	ssize_t w;

	v[0] = (struct iovec){ &out, sizeof(out) };
	for (int i = 0; i < n && i < 3; i++) {
		v[i + 1] = iov[i];
		len += iov[i].iov_len;
	}
	out.len = (uint32_t)len;
	w = writev(fs->fd, v, n + 1);
	/* ENOENT: the request was interrupted and is gone; nothing to do. */
	if (w < 0 && errno != ENOENT && errno != ENODEV)
		mos_warn("mosfs: cannot reply to FUSE request %llu: %s", (unsigned long long)unique,
			 strerror(errno));
	return 0;
}

static int reply(struct mosfs_req *r, const void *p, size_t n)
{
	struct iovec v = { (void *)p, n };

	return reply_iov(r->fs, r->h->unique, 0, &v, n ? 1 : 0);
}

static int reply_err(struct mosfs *fs, uint64_t unique, int err)
{
	return reply_iov(fs, unique, err, NULL, 0);
}

/* ---- attributes ---- */

/*
 * The origin user's files are the job's; an origin id that happens to be the
 * job's own kernel id (e.g. root's 0 when the job is root of its own user
 * namespace) must not make its files the job's too: it is shown as an id
 * that maps to no one ((uint32_t)-1: the kernel shows the overflow id and
 * treats the job as "other").
 */
static uint32_t to_job_uid(const struct mosfs *fs, uint32_t uid)
{
	if (uid == fs->c->origin_uid)
		return fs->c->job_uid;
	return uid == fs->c->job_uid ? UINT32_MAX : uid;
}

static uint32_t to_job_gid(const struct mosfs *fs, uint32_t gid)
{
	if (gid == fs->c->origin_gid)
		return fs->c->job_gid;
	return gid == fs->c->job_gid ? UINT32_MAX : gid;
}

static void fill_attr(const struct mosfs *fs, const struct mosfs_node *n, struct fuse_attr *o)
{
	const struct mos_attr *a = &n->attr;

	memset(o, 0, sizeof(*o));
	o->ino = n->id;
	o->size = a->size;
	o->blocks = a->blocks;
	o->atime = (uint64_t)a->atime_sec;
	o->mtime = (uint64_t)a->mtime_sec;
	o->ctime = (uint64_t)a->ctime_sec;
	o->atimensec = a->atime_nsec;
	o->mtimensec = a->mtime_nsec;
	o->ctimensec = a->ctime_nsec;
	o->mode = a->mode;
	o->nlink = a->nlink ? a->nlink : 1;
	o->uid = to_job_uid(fs, a->uid);
	o->gid = to_job_gid(fs, a->gid);
	o->rdev = a->rdev;
	o->blksize = 4096;
}

static void fill_entry(const struct mosfs *fs, const struct mosfs_node *n, struct fuse_entry_out *e)
{
	memset(e, 0, sizeof(*e));
	e->entry_valid = MOSFS_TTL_SEC;
	if (!n)
		return; /* negative entry: the kernel caches the absence */
	e->nodeid = n->id;
	e->attr_valid = MOSFS_TTL_SEC;
	fill_attr(fs, n, &e->attr);
}

static void attr_now(struct mos_attr *a, bool atime, bool mtime)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (atime) {
		a->atime_sec = ts.tv_sec;
		a->atime_nsec = (uint32_t)ts.tv_nsec;
	}
	if (mtime) {
		a->mtime_sec = ts.tv_sec;
		a->mtime_nsec = (uint32_t)ts.tv_nsec;
	}
	a->ctime_sec = ts.tv_sec;
	a->ctime_nsec = (uint32_t)ts.tv_nsec;
}

/* Attributes of a node made here (the origin agreed but sent no stat). */
static void attr_new(const struct mosfs *fs, struct mos_attr *a, uint32_t mode)
{
	memset(a, 0, sizeof(*a));
	a->mode = mode;
	a->uid = fs->c->origin_uid;
	a->gid = fs->c->origin_gid;
	a->nlink = S_ISDIR(mode) ? 2 : 1;
	a->size = S_ISDIR(mode) ? 4096 : 0;
	attr_now(a, true, true);
}

static void scratch_name(const struct mosfs_node *n, char buf[32])
{
	snprintf(buf, 32, "%llx", (unsigned long long)n->id);
}

static void mark_of(const struct stat *st, struct mosfs_scratch_mark *m)
{
	m->size = (uint64_t)st->st_size;
	m->mtime_sec = st->st_mtim.tv_sec;
	m->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	m->ctime_sec = st->st_ctim.tv_sec;
	m->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
}

/* A node with a scratch copy shows the copy's size and times. */
static void refresh_from_scratch(struct mosfs *fs, struct mosfs_node *n)
{
	char name[32];
	struct stat st;

	if (!n->has_scratch)
		return;
	scratch_name(n, name);
	if (fstatat(fs->scratch_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	n->attr.size = (uint64_t)st.st_size;
	n->attr.blocks = (uint64_t)st.st_blocks;
	n->attr.mtime_sec = st.st_mtim.tv_sec;
	n->attr.mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
	n->attr.atime_sec = st.st_atim.tv_sec;
	n->attr.atime_nsec = (uint32_t)st.st_atim.tv_nsec;
	if (st.st_ctim.tv_sec > n->attr.ctime_sec)
		n->attr.ctime_sec = st.st_ctim.tv_sec;
}

/* ---- node life ---- */

static void node_drop_scratch(struct mosfs *fs, struct mosfs_node *n)
{
	char name[32];

	if (!n->has_scratch)
		return;
	scratch_name(n, name);
	unlinkat(fs->scratch_dirfd, name, 0);
	n->has_scratch = false;
}

/* Free N once nothing refers to it: removed, forgotten, closed. */
static void node_maybe_free(struct mosfs *fs, struct mosfs_node *n)
{
	if (!n->removed || n->nlookup || n->nopen || n->busy || n->listing || n->id == FUSE_ROOT_ID)
		return;
	while (n->nkids) {
		struct mosfs_node *kid = n->kids[n->nkids - 1];

		mosfs_dir_remove(kid);
		kid->removed = true;
		node_maybe_free(fs, kid);
	}
	node_drop_scratch(fs, n);
	mosfs_node_destroy(&fs->nodes, n);
}

/* Take N out of the tree (unlinked, or replaced by a rename). */
static void node_remove(struct mosfs *fs, struct mosfs_node *n)
{
	if (n->parent && S_ISDIR(n->attr.mode) && n->parent->attr.nlink > 2)
		n->parent->attr.nlink--;
	mosfs_dir_remove(n);
	n->removed = true;
	if (n->attr.nlink)
		n->attr.nlink--;
	if (!n->nopen)
		node_drop_scratch(fs, n);
	node_maybe_free(fs, n);
}

/* A kernel node id: must name a live node. */
static struct mosfs_node *node_of(struct mosfs *fs, uint64_t id)
{
	return mosfs_node_get(&fs->nodes, id);
}

/* Load DIR's listing once.  Called and returns with fs->lock held. */
static int dir_ensure_listed(struct mosfs *fs, struct mosfs_node *dir)
{
	while (!dir->listed) {
		struct origin_dirent *ents = NULL;
		struct mos_attr da;
		_cleanup_free_ char *path = NULL;
		size_t n = 0;
		int r;

		if (dir->listing) {
			pthread_cond_wait(&fs->cond, &fs->lock);
			continue;
		}
		if (dir->list_err)
			return dir->list_err;
		if (dir != fs->root && !S_ISDIR(dir->attr.mode))
			return -ENOTDIR;
		path = mosfs_node_path(dir);
		if (!path)
			return -ENOENT;
		dir->listing = true;
		pthread_mutex_unlock(&fs->lock);
		r = fs->c->ops->listdir(fs->c->ctx, path, &da, &ents, &n);
		pthread_mutex_lock(&fs->lock);
		dir->listing = false;
		pthread_cond_broadcast(&fs->cond);
		/* A refusal holds for the job, as the listing would have: compilers
		 * probe the same refused directory again and again.  A lost
		 * connection or an I/O error is not remembered. */
		if (r == -EACCES || r == -EPERM || r == -ENOENT || r == -ENOTDIR || r == -ELOOP)
			dir->list_err = r;
		if (r < 0)
			return r;
		if (!S_ISDIR(da.mode)) {
			r = -ENOTDIR;
		} else if (!dir->removed) {
			dir->attr = da;
			for (size_t i = 0; i < n; i++) {
				const char *nm = ents[i].name;
				struct mosfs_node *kid;

				if (!nm || !*nm || strchr(nm, '/') || !strcmp(nm, ".") ||
				    !strcmp(nm, "..") || strlen(nm) > MOS_NAME_MAX)
					continue;
				if (S_ISLNK(ents[i].attr.mode) && !ents[i].link)
					continue;
				kid = mosfs_node_new(&fs->nodes, steal_pointer(&ents[i].name),
						     &ents[i].attr, steal_pointer(&ents[i].link));
				if (dir->nkids == dir->kids_cap) {
					dir->kids_cap = dir->kids_cap ? dir->kids_cap * 2 : 16;
					dir->kids = xrealloc(dir->kids,
							     dir->kids_cap * sizeof(*dir->kids));
				}
				dir->kids[dir->nkids++] = kid;
				kid->parent = dir;
			}
			mosfs_dir_sort(&fs->nodes, dir);
			dir->listed = true;
		}
		for (size_t i = 0; i < n; i++) {
			free(ents[i].name);
			free(ents[i].link);
		}
		free(ents);
		if (r < 0)
			return r;
		node_maybe_free(fs, dir);
		if (dir->removed && !dir->listed)
			return -ENOENT;
	}
	return 0;
}

/* ---- request body parsing ---- */

/* The fixed part of the body, or NULL when the body is shorter. */
static const void *body_fixed(const struct mosfs_req *r, size_t size)
{
	return r->len >= size ? r->body : NULL;
}

/* A NUL-terminated string starting at *OFF, advancing *OFF past it. */
static const char *body_string(const struct mosfs_req *r, size_t *off)
{
	const char *s = r->body + *off;
	const char *nul;

	if (*off >= r->len)
		return NULL;
	nul = memchr(s, '\0', r->len - *off);
	if (!nul)
		return NULL;
	*off += (size_t)(nul - s) + 1;
	return s;
}

static bool name_ok(const char *s)
{
	size_t l = s ? strlen(s) : 0;

	return l && l <= MOS_NAME_MAX && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static const char *body_name(const struct mosfs_req *r, size_t *off)
{
	const char *s = body_string(r, off);

	return name_ok(s) ? s : NULL;
}

/* Path of NAME under DIR, malloc'd; NULL if DIR was removed. */
static char *child_path(const struct mosfs_node *dir, const char *name)
{
	_cleanup_free_ char *p = mosfs_node_path(dir);
	char *out;
	size_t lp, ln;

	if (!p)
		return NULL;
	lp = strlen(p);
	ln = strlen(name);
	if (lp + 1 + ln + 1 > MOS_PATH_MAX)
		return NULL;
	out = xmalloc(lp + ln + 2);
	memcpy(out, p, lp);
	if (lp > 1)
		out[lp++] = '/';
	memcpy(out + lp, name, ln + 1);
	return out;
}

/* ---- handles ---- */

static uint64_t handle_add(struct mosfs *fs, struct mosfs_handle *h)
{
	size_t i;

	for (i = 0; i < fs->handles_cap; i++)
		if (!fs->handles[i])
			break;
	if (i == fs->handles_cap) {
		size_t cap = fs->handles_cap ? fs->handles_cap * 2 : 64;

		fs->handles = xrealloc(fs->handles, cap * sizeof(*fs->handles));
		memset(fs->handles + fs->handles_cap, 0,
		       (cap - fs->handles_cap) * sizeof(*fs->handles));
		fs->handles_cap = cap;
	}
	fs->handles[i] = h;
	return (uint64_t)i + 1;
}

static struct mosfs_handle *handle_get(struct mosfs *fs, uint64_t fh, bool dir)
{
	struct mosfs_handle *h;

	if (fh == 0 || fh > fs->handles_cap)
		return NULL;
	h = fs->handles[fh - 1];
	return h && h->is_dir == dir ? h : NULL;
}

static void handle_del(struct mosfs *fs, uint64_t fh)
{
	fs->handles[fh - 1] = NULL;
}

static void handle_free(struct mosfs_handle *h)
{
	if (h->fd >= 0)
		close(h->fd);
	for (size_t i = 0; i < h->nents; i++)
		free(h->ents[i].name);
	free(h->ents);
	free(h);
}

/* ---- files: content, copy-up, write-back ---- */

/* LEN bytes of IN at OFF to the same offset of OUT (fewer if IN ends). */
static int copy_range(int in, int out, off_t off, off_t len)
{
	char buf[65536];
	loff_t off_in = off, off_out = off;
	off_t end = off + len;

	while (off_in < end) {
		ssize_t n = copy_file_range(in, &off_in, out, &off_out, (size_t)(end - off_in), 0);

		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		break;
	}
	while (off_in < end) {
		size_t want =
			end - off_in < (off_t)sizeof(buf) ? (size_t)(end - off_in) : sizeof(buf);
		ssize_t n = pread(in, buf, want, off_in);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(out, buf + done, (size_t)(n - done), off_out);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			done += w;
			off_out += w;
		}
		off_in += n;
	}
	return 0;
}

/*
 * IN's content into OUT (empty), holes kept: only the data extents are
 * copied (SEEK_DATA/SEEK_HOLE; all of it where those are not supported)
 * and OUT gets IN's size, so a sparse file changed by a job is written back
 * as sparse as it came.
 */
static int copy_fd(int in, int out)
{
	struct stat st;
	off_t off = 0;

	if (fstat(in, &st) < 0)
		return -errno;
	while (off < st.st_size) {
		off_t d = lseek(in, off, SEEK_DATA), e;
		int r;

		if (d < 0 && errno == ENXIO)
			break; /* a hole up to the end */
		if (d < 0) {
			d = off;
			e = st.st_size;
		} else {
			e = lseek(in, d, SEEK_HOLE);
			if (e < 0 || e > st.st_size)
				e = st.st_size;
		}
		if (d >= st.st_size)
			break;
		r = copy_range(in, out, d, e - d);
		if (r < 0)
			return r;
		off = e;
	}
	return ftruncate(out, st.st_size) < 0 ? -errno : 0;
}

/* Make N's scratch copy (empty when EMPTY, else the origin's content).
 * Called without the lock; N is busy. */
static int copy_up(struct mosfs *fs, struct mosfs_node *n, const char *path, bool empty)
{
	_cleanup_close_ int out = -1, in = -1;
	char name[32];
	int r;

	scratch_name(n, name);
	out = openat(fs->scratch_dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	if (!empty) {
		struct mos_attr a;

		r = fs->c->ops->open_blob(fs->c->ctx, path, &a, &in);
		if (r == 0)
			r = copy_fd(in, out);
		if (r < 0) {
			unlinkat(fs->scratch_dirfd, name, 0);
			return r;
		}
	}
	return 0;
}

static void writeback_record_error(struct mosfs *fs, int err, const char *path)
{
	pthread_mutex_lock(&fs->lock);
	if (!fs->wb_err) {
		fs->wb_err = err;
		fs->wb_path = xstrdup(path);
	}
	pthread_mutex_unlock(&fs->lock);
	if (err == -ECANCELED) /* the origin is ending the job, and says why */
		mos_info("mosfs: %s is not written back: the origin ended the job", path);
	else
		mos_warn("mosfs: cannot write %s back to the origin: %s", path, strerror(-err));
}

/*
 * Whether task TID (numbered as the FUSE connection numbers its requesters:
 * in mosd's pid namespace) is being killed with SIGKILL: exiting of it (the
 * close of its files as it exits), or waiting in a close() with it pending.
 * A write-back for such a writer serves nobody (its close never returns, and
 * the job is being ended, by -t or by whoever killed it), and could hold up
 * the job's end for as long as a slow link takes to carry the file.  Other
 * deaths (SIGPIPE of a `tee log | head`, exit without a close) still write
 * back.  Where /proc cannot tell, no.
 */
static bool task_killed(void *arg)
{
	uint32_t tid = *(const uint32_t *)arg;
	char path[64], buf[2048];
	unsigned long long flags = 0, pend;
	long long exit_code = 0;
	const char *p;
	ssize_t n;
	int fd;

	if (!tid)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* after "(comm)": field 3 on; flags is field 9, exit_code field 52 */
	p = strrchr(buf, ')');
	for (int field = 3; p && field <= 52; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			break;
		if (field == 9)
			flags = strtoull(p + 1, NULL, 10);
		else if (field == 52)
			exit_code = strtoll(p + 1, NULL, 10);
	}
	if ((flags & 0x4 /* PF_EXITING */) && (exit_code & 0x7f) == SIGKILL)
		return true;
	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (const char *k = buf; (k = strstr(k, "Pnd:\t")); k += 5) {
		pend = strtoull(k + 5, NULL, 16);
		if (pend & (1ULL << (SIGKILL - 1))) /* SigPnd or ShdPnd */
			return true;
	}
	return false;
}

/* Send N's scratch copy to the origin.  ONLY_IF_CHANGED: skip it when the
 * copy is as it was at the last write-back.  TID: the task whose close (or
 * fsync) this is (0: none known).  Called without the lock. */
static int writeback(struct mosfs *fs, struct mosfs_node *n, bool only_if_changed, uint32_t tid)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	struct mosfs_scratch_mark m, last, given_up;
	char name[32];
	struct stat st;
	uint32_t mode;
	int r;

	pthread_mutex_lock(&fs->lock);
	path = n->has_scratch ? mosfs_node_path(n) : NULL;
	mode = n->attr.mode & 07777;
	last = n->mark;
	given_up = n->given_up;
	scratch_name(n, name);
	if (path)
		fd = openat(fs->scratch_dirfd, name, O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&fs->lock);
	if (!path)
		return 0; /* removed meanwhile: nothing to keep */
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		writeback_record_error(fs, r, path);
		return r;
	}
	mark_of(&st, &m);
	if (only_if_changed && (!memcmp(&m, &last, sizeof(m)) || !memcmp(&m, &given_up, sizeof(m))))
		return 0;
	r = fs->c->ops->put_file(fs->c->ctx, path, fd, mode, &st.st_mtim, task_killed, &tid);
	if (r == -EINTR && task_killed(&tid)) {
		/* as a close that never returned: the origin keeps the last one */
		mos_info("mosfs: %s is not written back: its writer was killed", path);
		pthread_mutex_lock(&fs->lock);
		n->given_up = m;
		pthread_mutex_unlock(&fs->lock);
		return r;
	}
	if (r < 0) {
		writeback_record_error(fs, r, path);
		return r;
	}
	atomic_fetch_add(&fs->st_writebacks, 1);
	atomic_fetch_add(&fs->st_writeback_bytes, (uint64_t)st.st_size);
	pthread_mutex_lock(&fs->lock);
	n->mark = m;
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

static void backing_close(struct mosfs *fs, struct mosfs_node *n)
{
	if (n->backing_id > 0) {
		uint32_t id = (uint32_t)n->backing_id;

		if (ioctl(fs->fd, MOSFS_DEV_IOC_BACKING_CLOSE, &id) < 0)
			mos_debug("mosfs: backing close %u: %s", id, strerror(errno));
	}
	n->backing_id = 0;
}

/* Register N's content as a passthrough backing file, once per content.
 * A refusal turns passthrough off for the mount, loudly, once. */
static void backing_open(struct mosfs *fs, struct mosfs_node *n)
{
	struct mosfs_backing_map map = { .fd = n->content_fd };
	int id;

	if (n->backing_id > 0 || !atomic_load(&fs->passthrough))
		return;
	id = ioctl(fs->fd, MOSFS_DEV_IOC_BACKING_OPEN, &map);
	if (id > 0) {
		n->backing_id = id;
		return;
	}
	if (atomic_exchange(&fs->passthrough, false))
		mos_warn("mosfs: the kernel refused a FUSE passthrough backing file (%s); "
			 "serving reads from userspace from now on",
			 id < 0 ? strerror(errno) : "id 0");
}

/*
 * Open regular file N for a handle.  WRITE: the handle may write (copy-up
 * first); TRUNC: the content starts empty; CREATED: N is new (empty).
 * Called and returns with the lock held.
 */
static int file_open(struct mosfs *fs, struct mosfs_node *n, bool write, bool trunc, bool created,
		     struct mosfs_handle **out)
{
	struct mosfs_handle *h;
	char name[32];
	int r = 0;

	while (n->busy)
		pthread_cond_wait(&fs->cond, &fs->lock);
	if (write && !n->has_scratch && n->nopen && n->backing_id > 0) {
		/*
		 * A reader may have just closed: the kernel sends its RELEASE
		 * after close() returns, so a program that reads a file and
		 * then opens it for writing would race it.  Give the RELEASE a
		 * moment before calling the blob busy (below).
		 */
		struct timespec deadline;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 200 * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		while ((n->busy || (n->nopen && n->backing_id > 0)) &&
		       pthread_cond_timedwait(&fs->cond, &fs->lock, &deadline) == 0)
			;
		while (n->busy)
			pthread_cond_wait(&fs->cond, &fs->lock);
	}
	if (n->removed && !created)
		return -ENOENT;
	if (!S_ISREG(n->attr.mode))
		return S_ISDIR(n->attr.mode) ? -EISDIR : -EINVAL;
	scratch_name(n, name);
	n->busy = true;

	if (write && !n->has_scratch) {
		_cleanup_free_ char *path = mosfs_node_path(n);

		/* Passthrough: every open file of an inode shares one backing
		 * file, and the blob is read-only. */
		if (n->nopen && n->backing_id > 0) {
			r = -EBUSY;
			goto out;
		}
		if (!path) {
			r = -ENOENT;
			goto out;
		}
		pthread_mutex_unlock(&fs->lock);
		r = copy_up(fs, n, path, trunc || created);
		pthread_mutex_lock(&fs->lock);
		if (r < 0)
			goto out;
		n->has_scratch = true;
		memset(&n->mark, 0xff, sizeof(n->mark)); /* never written back */
		memset(&n->given_up, 0xff, sizeof(n->given_up));
		/* Handles still reading the blob keep their own fds. */
		if (n->content_fd >= 0 && !n->content_scratch) {
			backing_close(fs, n);
			close(n->content_fd);
			n->content_fd = -1;
		}
	}

	if (n->content_fd < 0) {
		if (n->has_scratch) {
			n->content_fd = openat(fs->scratch_dirfd, name, O_RDWR | O_CLOEXEC);
			if (n->content_fd < 0) {
				r = -errno;
				goto out;
			}
			n->content_scratch = true;
		} else {
			_cleanup_free_ char *path = mosfs_node_path(n);
			struct mos_attr a;
			int fd = -1;

			if (!path) {
				r = -ENOENT;
				goto out;
			}
			pthread_mutex_unlock(&fs->lock);
			r = fs->c->ops->open_blob(fs->c->ctx, path, &a, &fd);
			pthread_mutex_lock(&fs->lock);
			if (r < 0)
				goto out;
			n->content_fd = fd;
			n->content_scratch = false;
		}
	}
	if (write && trunc && n->content_scratch && ftruncate(n->content_fd, 0) < 0) {
		r = -errno;
		goto out;
	}
	backing_open(fs, n);

	h = xcalloc(1, sizeof(*h));
	h->node = n;
	h->fd = -1;
	h->writable = write;
	h->passthrough = n->backing_id > 0;
	if (!h->passthrough) {
		h->fd = fcntl(n->content_fd, F_DUPFD_CLOEXEC, 3);
		if (h->fd < 0) {
			r = -errno;
			free(h);
			goto out;
		}
	}
	n->nopen++;
	if (write)
		n->nwriters++;
	*out = h;
out:
	n->busy = false;
	pthread_cond_broadcast(&fs->cond);
	return r;
}

/* The last close of N's handles closes its content. Lock held. */
static void file_close(struct mosfs *fs, struct mosfs_handle *h)
{
	struct mosfs_node *n = h->node;

	n->nopen--;
	if (h->writable)
		n->nwriters--;
	pthread_cond_broadcast(&fs->cond); /* an open for writing may wait for this */
	if (!n->nopen && !n->busy) {
		backing_close(fs, n);
		if (n->content_fd >= 0)
			close(n->content_fd);
		n->content_fd = -1;
		if (n->removed)
			node_drop_scratch(fs, n);
	}
}

static int truncateat_scratch(struct mosfs *fs, const char *name, uint64_t size)
{
	_cleanup_close_ int fd = openat(fs->scratch_dirfd, name, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -1;
	return 0;
}

/* ---- request handlers: each replies itself (0), or returns -errno ---- */

static int do_lookup(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	struct fuse_entry_out e;
	struct mosfs_node *n;
	size_t off = 0;
	const char *name = body_string(r, &off);
	int err;

	if (!name)
		return -EINVAL;
	if (strlen(name) > MOS_NAME_MAX)
		return -ENAMETOOLONG;
	if (!name_ok(name))
		return -ENOENT;
	err = dir_ensure_listed(fs, dir);
	if (err)
		return err;
	n = mosfs_dir_find(dir, name);
	if (n) {
		refresh_from_scratch(fs, n);
		n->nlookup++;
	}
	fill_entry(fs, n, &e);
	return reply(r, &e, sizeof(e));
}

static void forget_one(struct mosfs *fs, uint64_t id, uint64_t nlookup)
{
	struct mosfs_node *n = node_of(fs, id);

	if (!n || id == FUSE_ROOT_ID)
		return;
	n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
	node_maybe_free(fs, n);
}

static int do_forget(struct mosfs_req *r)
{
	const struct fuse_forget_in *in = body_fixed(r, sizeof(*in));

	if (in)
		forget_one(r->fs, r->h->nodeid, in->nlookup);
	return MOSFS_NOREPLY;
}

static int do_batch_forget(struct mosfs_req *r)
{
	const struct fuse_batch_forget_in *in = body_fixed(r, sizeof(*in));
	const struct fuse_forget_one *one;

	if (!in || in->count > (r->len - sizeof(*in)) / sizeof(*one))
		return MOSFS_NOREPLY;
	one = (const void *)(r->body + sizeof(*in));
	for (uint32_t i = 0; i < in->count; i++) {
		struct fuse_forget_one f;

		memcpy(&f, &one[i], sizeof(f));
		forget_one(r->fs, f.nodeid, f.nlookup);
	}
	return MOSFS_NOREPLY;
}

static int reply_attr(struct mosfs_req *r, struct mosfs_node *n)
{
	struct fuse_attr_out o = { .attr_valid = MOSFS_TTL_SEC };

	refresh_from_scratch(r->fs, n);
	fill_attr(r->fs, n, &o.attr);
	return reply(r, &o, sizeof(o));
}

static int do_getattr(struct mosfs_req *r, struct mosfs_node *n)
{
	if (n == r->fs->root && !n->listed) {
		int err = dir_ensure_listed(r->fs, n);

		if (err)
			return err;
	}
	return reply_attr(r, n);
}

/* Run a backend call on PATH without the lock. */
#define UNLOCKED(fs, call)                         \
	({                                         \
		int r_;                            \
		pthread_mutex_unlock(&(fs)->lock); \
		r_ = (call);                       \
		pthread_mutex_lock(&(fs)->lock);   \
		r_;                                \
	})

static int do_setattr(struct mosfs_req *r, struct mosfs_node *n)
{
	struct mosfs *fs = r->fs;
	const struct fuse_setattr_in *in = body_fixed(r, sizeof(*in));
	const struct mosfs_backend_ops *ops = fs->c->ops;
	_cleanup_free_ char *path = NULL;
	char name[32];
	int err;

	if (!in)
		return -EINVAL;
	path = mosfs_node_path(n);
	if (!path)
		return -ENOENT;
	scratch_name(n, name);
	if (in->valid & FATTR_UID && in->uid != to_job_uid(fs, n->attr.uid))
		return -EPERM;
	if (in->valid & FATTR_GID && in->gid != to_job_gid(fs, n->attr.gid))
		return -EPERM;
	if (in->valid & FATTR_MODE) {
		if (S_ISLNK(n->attr.mode))
			return -EOPNOTSUPP;
		err = UNLOCKED(fs, ops->chmod(fs->c->ctx, path, in->mode & 07777));
		if (err)
			return err;
		n->attr.mode = (n->attr.mode & S_IFMT) | (in->mode & 07777);
		attr_now(&n->attr, false, false);
	}
	if (in->valid & FATTR_SIZE) {
		if (S_ISDIR(n->attr.mode))
			return -EISDIR;
		if (!S_ISREG(n->attr.mode))
			return -EINVAL;
		/* An open, written file: the change reaches the origin on close. */
		if (!(n->has_scratch && n->nwriters)) {
			err = UNLOCKED(fs, ops->truncate(fs->c->ctx, path, in->size));
			if (err)
				return err;
		}
		if (n->has_scratch && truncateat_scratch(fs, name, in->size) < 0)
			return -errno;
		n->attr.size = in->size;
		attr_now(&n->attr, false, true);
	}
	if (in->valid & (FATTR_ATIME | FATTR_MTIME)) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

		if (in->valid & FATTR_ATIME)
			ts[0] = in->valid & FATTR_ATIME_NOW
					? (struct timespec){ .tv_nsec = UTIME_NOW }
					: (struct timespec){ (time_t)in->atime, in->atimensec };
		if (in->valid & FATTR_MTIME)
			ts[1] = in->valid & FATTR_MTIME_NOW
					? (struct timespec){ .tv_nsec = UTIME_NOW }
					: (struct timespec){ (time_t)in->mtime, in->mtimensec };
		err = UNLOCKED(fs, ops->utimens(fs->c->ctx, path, ts));
		if (err)
			return err;
		if (n->has_scratch)
			utimensat(fs->scratch_dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
		attr_now(&n->attr, ts[0].tv_nsec == UTIME_NOW, ts[1].tv_nsec == UTIME_NOW);
		if (ts[0].tv_nsec != UTIME_NOW && ts[0].tv_nsec != UTIME_OMIT) {
			n->attr.atime_sec = ts[0].tv_sec;
			n->attr.atime_nsec = (uint32_t)ts[0].tv_nsec;
		}
		if (ts[1].tv_nsec != UTIME_NOW && ts[1].tv_nsec != UTIME_OMIT) {
			n->attr.mtime_sec = ts[1].tv_sec;
			n->attr.mtime_nsec = (uint32_t)ts[1].tv_nsec;
		}
	}
	return reply_attr(r, n);
}

static int do_readlink(struct mosfs_req *r, struct mosfs_node *n)
{
	if (!S_ISLNK(n->attr.mode) || !n->link)
		return -EINVAL;
	return reply(r, n->link, strlen(n->link));
}

/* Enter a node made here under DIR and answer with its entry. */
static int reply_new_entry(struct mosfs_req *r, struct mosfs_node *dir, const char *name,
			   uint32_t mode, char *link, struct mosfs_node **out)
{
	struct mosfs *fs = r->fs;
	struct fuse_entry_out e;
	struct mos_attr a;
	struct mosfs_node *n, *old;

	attr_new(fs, &a, mode);
	if (link)
		a.size = strlen(link);
	old = mosfs_dir_find(dir, name);
	if (old)
		node_remove(fs, old); /* the origin had it and we did not know */
	n = mosfs_node_new(&fs->nodes, xstrdup(name), &a, link);
	if (S_ISDIR(mode)) {
		n->listed = true; /* new and empty */
		dir->attr.nlink++;
	}
	mosfs_dir_insert(dir, n);
	attr_now(&dir->attr, false, true);
	n->nlookup++;
	if (out)
		*out = n;
	fill_entry(fs, n, &e);
	return reply(r, &e, sizeof(e));
}

/* Check DIR can take NAME: listed, and NAME not there. */
static int dir_check_new(struct mosfs *fs, struct mosfs_node *dir, const char *name)
{
	int err;

	if (!S_ISDIR(dir->attr.mode) && dir != fs->root)
		return -ENOTDIR;
	err = dir_ensure_listed(fs, dir);
	if (err)
		return err;
	return mosfs_dir_find(dir, name) ? -EEXIST : 0;
}

static int do_mkdir(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	const struct fuse_mkdir_in *in = body_fixed(r, sizeof(*in));
	_cleanup_free_ char *path = NULL;
	size_t off = sizeof(*in);
	const char *name;
	int err;

	if (!in || !(name = body_name(r, &off)))
		return -EINVAL;
	err = dir_check_new(fs, dir, name);
	if (err)
		return err;
	path = child_path(dir, name);
	if (!path)
		return -ENOENT;
	err = UNLOCKED(fs, fs->c->ops->mkdir(fs->c->ctx, path, in->mode & 07777));
	if (err)
		return err;
	return reply_new_entry(r, dir, name, S_IFDIR | (in->mode & 07777), NULL, NULL);
}

static int do_symlink(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	_cleanup_free_ char *path = NULL;
	size_t off = 0;
	const char *name = body_name(r, &off);
	const char *target = body_string(r, &off);
	int err;

	if (!name || !target || !*target || strlen(target) >= MOS_PATH_MAX)
		return -EINVAL;
	err = dir_check_new(fs, dir, name);
	if (err)
		return err;
	path = child_path(dir, name);
	if (!path)
		return -ENOENT;
	err = UNLOCKED(fs, fs->c->ops->symlink(fs->c->ctx, target, path));
	if (err)
		return err;
	return reply_new_entry(r, dir, name, S_IFLNK | 0777, xstrdup(target), NULL);
}

static int do_link(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	const struct fuse_link_in *in = body_fixed(r, sizeof(*in));
	_cleanup_free_ char *from = NULL, *to = NULL;
	struct mosfs_node *old, *n;
	size_t off = sizeof(*in);
	const char *name;
	int err;

	if (!in || !(name = body_name(r, &off)))
		return -EINVAL;
	old = node_of(fs, in->oldnodeid);
	if (!old)
		return -ENOENT;
	if (S_ISDIR(old->attr.mode))
		return -EPERM;
	err = dir_check_new(fs, dir, name);
	if (err)
		return err;
	from = mosfs_node_path(old);
	to = child_path(dir, name);
	if (!from || !to)
		return -ENOENT;
	err = UNLOCKED(fs, fs->c->ops->link(fs->c->ctx, from, to));
	if (err)
		return err;
	/* A separate node: within the job the two names do not share
	 * written content until it is back on the origin. */
	err = reply_new_entry(r, dir, name, old->attr.mode, old->link ? xstrdup(old->link) : NULL,
			      &n);
	return err;
}

static int do_unlink_rmdir(struct mosfs_req *r, struct mosfs_node *dir, bool rmdir)
{
	struct mosfs *fs = r->fs;
	_cleanup_free_ char *path = NULL;
	struct mosfs_node *n;
	size_t off = 0;
	const char *name = body_name(r, &off);
	int err;

	if (!name)
		return -EINVAL;
	err = dir_ensure_listed(fs, dir);
	if (err)
		return err;
	n = mosfs_dir_find(dir, name);
	if (!n)
		return -ENOENT;
	if (rmdir && !S_ISDIR(n->attr.mode))
		return -ENOTDIR;
	if (!rmdir && S_ISDIR(n->attr.mode))
		return -EISDIR;
	path = mosfs_node_path(n);
	if (!path)
		return -ENOENT;
	err = UNLOCKED(fs, rmdir ? fs->c->ops->rmdir(fs->c->ctx, path)
				 : fs->c->ops->unlink(fs->c->ctx, path));
	if (err)
		return err;
	/* The node may have moved while the lock was dropped. */
	if (n == mosfs_dir_find(dir, name))
		node_remove(fs, n);
	attr_now(&dir->attr, false, true);
	return reply(r, NULL, 0);
}

static int do_rename(struct mosfs_req *r, struct mosfs_node *olddir, bool v2)
{
	struct mosfs *fs = r->fs;
	const struct fuse_rename2_in *in2 = v2 ? body_fixed(r, sizeof(*in2)) : NULL;
	const struct fuse_rename_in *in = body_fixed(r, sizeof(*in));
	size_t off = v2 ? sizeof(*in2) : sizeof(*in);
	_cleanup_free_ char *from = NULL, *to = NULL;
	struct mosfs_node *newdir, *src, *dst;
	const char *oldname, *newname;
	uint32_t flags = 0;
	int err;

	if (!in || (v2 && !in2))
		return -EINVAL;
	oldname = body_name(r, &off);
	newname = body_name(r, &off);
	if (!oldname || !newname)
		return -EINVAL;
	if (v2)
		flags = in2->flags;
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	newdir = node_of(fs, v2 ? in2->newdir : in->newdir);
	if (!newdir)
		return -ENOENT;
	err = dir_ensure_listed(fs, olddir);
	if (!err)
		err = dir_ensure_listed(fs, newdir);
	if (err)
		return err;
	src = mosfs_dir_find(olddir, oldname);
	if (!src)
		return -ENOENT;
	from = mosfs_node_path(src);
	to = child_path(newdir, newname);
	if (!from || !to)
		return -ENOENT;
	err = UNLOCKED(fs, fs->c->ops->rename(fs->c->ctx, from, to, flags));
	if (err)
		return err;
	src = mosfs_dir_find(olddir, oldname);
	dst = mosfs_dir_find(newdir, newname);
	if (src && src != dst) {
		char *srcname = src->name;

		if (flags & RENAME_EXCHANGE && dst) {
			mosfs_dir_remove(dst);
			mosfs_dir_remove(src);
			src->name = dst->name;
			dst->name = srcname;
			mosfs_dir_insert(olddir, dst);
			mosfs_dir_insert(newdir, src);
		} else {
			if (dst)
				node_remove(fs, dst);
			mosfs_dir_remove(src);
			src->name = xstrdup(newname);
			free(srcname);
			mosfs_dir_insert(newdir, src);
			if (S_ISDIR(src->attr.mode) && olddir != newdir) {
				olddir->attr.nlink--;
				newdir->attr.nlink++;
			}
		}
		attr_now(&src->attr, false, false);
	}
	attr_now(&olddir->attr, false, true);
	attr_now(&newdir->attr, false, true);
	return reply(r, NULL, 0);
}

static bool open_wants_write(uint32_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static void fill_open_out(struct mosfs *fs, const struct mosfs_handle *h, uint64_t fh,
			  struct mosfs_open_out *o)
{
	memset(o, 0, sizeof(*o));
	o->fh = fh;
	if (h->passthrough) {
		o->open_flags = FOPEN_PASSTHROUGH;
		o->backing_id = h->node->backing_id;
		atomic_fetch_add(&fs->st_passthrough_opens, 1);
	} else if (!h->writable && !h->node->content_scratch) {
		o->open_flags = FOPEN_KEEP_CACHE; /* the blob does not change */
	}
	atomic_fetch_add(&fs->st_opens, 1);
}

static int do_open(struct mosfs_req *r, struct mosfs_node *n)
{
	struct mosfs *fs = r->fs;
	const struct fuse_open_in *in = body_fixed(r, sizeof(*in));
	struct mosfs_handle *h = NULL;
	struct mosfs_open_out o;
	int err;

	if (!in)
		return -EINVAL;
	err = file_open(fs, n, open_wants_write(in->flags), in->flags & O_TRUNC, false, &h);
	if (err)
		return err;
	fill_open_out(fs, h, handle_add(fs, h), &o);
	return reply(r, &o, sizeof(o));
}

static int do_create(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	const struct fuse_create_in *in = body_fixed(r, sizeof(*in));
	struct {
		struct fuse_entry_out e;
		struct mosfs_open_out o;
	} out;
	struct mosfs_handle *h = NULL;
	struct mosfs_node *n;
	struct mos_attr a;
	size_t off = sizeof(*in);
	const char *name;
	int err;

	if (!in || !(name = body_name(r, &off)))
		return -EINVAL;
	if (!S_ISREG(in->mode) && (in->mode & S_IFMT))
		return -EINVAL;
	err = dir_check_new(fs, dir, name);
	if (err)
		return err;
	{
		_cleanup_free_ char *dp = mosfs_node_path(dir);

		if (!dp)
			return -ENOENT; /* the directory is gone */
	}
	/* Created on the origin by the write-back of the first close. */
	attr_new(fs, &a, S_IFREG | (in->mode & 07777));
	n = mosfs_node_new(&fs->nodes, xstrdup(name), &a, NULL);
	mosfs_dir_insert(dir, n);
	err = file_open(fs, n, true, true, true, &h);
	if (err) {
		node_remove(fs, n);
		return err;
	}
	attr_now(&dir->attr, false, true);
	n->nlookup++;
	fill_entry(fs, n, &out.e);
	fill_open_out(fs, h, handle_add(fs, h), &out.o);
	return reply(r, &out, sizeof(out));
}

static int do_mknod(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	const struct fuse_mknod_in *in = body_fixed(r, sizeof(*in));
	struct mosfs_handle *h = NULL;
	struct fuse_entry_out e;
	struct mosfs_node *n;
	struct mos_attr a;
	size_t off = sizeof(*in);
	const char *name;
	int err;

	if (!in || !(name = body_name(r, &off)))
		return -EINVAL;
	if (!S_ISREG(in->mode))
		return -EPERM; /* no device nodes, FIFOs or sockets on the origin */
	err = dir_check_new(fs, dir, name);
	if (err)
		return err;
	attr_new(fs, &a, S_IFREG | (in->mode & 07777));
	n = mosfs_node_new(&fs->nodes, xstrdup(name), &a, NULL);
	mosfs_dir_insert(dir, n);
	err = file_open(fs, n, true, true, true, &h);
	if (!err) {
		file_close(fs, h);
		n->nopen++; /* keep it while the write-back runs unlocked */
		pthread_mutex_unlock(&fs->lock);
		err = writeback(fs, n, false, r->h->pid);
		pthread_mutex_lock(&fs->lock);
		n->nopen--;
		handle_free(h);
	}
	if (err) {
		node_remove(fs, n);
		return err;
	}
	n->nlookup++;
	fill_entry(fs, n, &e);
	return reply(r, &e, sizeof(e));
}

static int do_read(struct mosfs_req *r)
{
	struct mosfs *fs = r->fs;
	const struct fuse_read_in *in = body_fixed(r, sizeof(*in));
	struct mosfs_handle *h;
	size_t size;
	ssize_t n;
	int fd;

	if (!in)
		return -EINVAL;
	h = handle_get(fs, in->fh, false);
	if (!h || h->fd < 0)
		return -EBADF;
	fd = h->fd;
	size = in->size < MOSFS_BUF_SIZE ? in->size : MOSFS_BUF_SIZE;
	atomic_fetch_add(&fs->st_reads, 1);
	pthread_mutex_unlock(&fs->lock);
	n = pread(fd, r->buf, size, (off_t)in->offset);
	if (n < 0)
		n = -errno;
	pthread_mutex_lock(&fs->lock);
	if (n < 0)
		return (int)n;
	return reply(r, r->buf, (size_t)n);
}

static int do_write(struct mosfs_req *r)
{
	struct mosfs *fs = r->fs;
	const struct fuse_write_in *in = body_fixed(r, sizeof(*in));
	struct fuse_write_out o = { 0 };
	struct mosfs_handle *h;
	ssize_t n;

	if (!in || in->size > r->len - sizeof(*in))
		return -EINVAL;
	h = handle_get(fs, in->fh, false);
	if (!h || h->fd < 0)
		return -EBADF;
	if (!h->writable)
		return -EBADF;
	n = pwrite(h->fd, r->body + sizeof(*in), in->size, (off_t)in->offset);
	if (n < 0)
		return -errno;
	o.size = (uint32_t)n;
	return reply(r, &o, sizeof(o));
}

static int do_flush_fsync(struct mosfs_req *r, bool fsync)
{
	struct mosfs *fs = r->fs;
	const struct fuse_flush_in *fl = body_fixed(r, sizeof(*fl));
	const struct fuse_fsync_in *fy = body_fixed(r, sizeof(*fy));
	struct mosfs_handle *h;
	struct mosfs_node *n;
	int err;

	if (fsync ? !fy : !fl)
		return -EINVAL;
	h = handle_get(fs, fsync ? fy->fh : fl->fh, false);
	if (!h)
		return -EBADF;
	if (!h->writable)
		return reply(r, NULL, 0);
	n = h->node;
	/* The handle stays until RELEASE, which follows this FLUSH. */
	err = UNLOCKED(fs, writeback(fs, n, false, r->h->pid));
	if (err)
		return err;
	return reply(r, NULL, 0);
}

static int do_release(struct mosfs_req *r)
{
	struct mosfs *fs = r->fs;
	const struct fuse_release_in *in = body_fixed(r, sizeof(*in));
	struct mosfs_handle *h;

	if (!in)
		return -EINVAL;
	h = handle_get(fs, in->fh, false);
	if (!h)
		return -EBADF;
	handle_del(fs, in->fh);
	/* Writes through a shared mapping may come after the last FLUSH. */
	if (h->writable)
		UNLOCKED(fs, writeback(fs, h->node, true, r->h->pid));
	file_close(fs, h);
	node_maybe_free(fs, h->node);
	handle_free(h);
	return reply(r, NULL, 0);
}

static int do_statfs(struct mosfs_req *r)
{
	struct fuse_statfs_out o = { 0 };
	struct statvfs sv;

	if (fstatvfs(r->fs->scratch_dirfd, &sv) == 0) {
		o.st.blocks = sv.f_blocks;
		o.st.bfree = sv.f_bfree;
		o.st.bavail = sv.f_bavail;
		o.st.files = sv.f_files;
		o.st.ffree = sv.f_ffree;
		o.st.bsize = (uint32_t)sv.f_bsize;
		o.st.frsize = (uint32_t)sv.f_frsize;
	}
	o.st.namelen = MOS_NAME_MAX;
	return reply(r, &o, sizeof(o));
}

static uint32_t dtype_of(uint32_t mode)
{
	return (mode & S_IFMT) >> 12;
}

static int do_opendir(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	struct mosfs_open_out o = { 0 };
	struct mosfs_handle *h;
	int err;

	if (!body_fixed(r, sizeof(struct fuse_open_in)))
		return -EINVAL;
	err = dir_ensure_listed(fs, dir);
	if (err)
		return err;
	h = xcalloc(1, sizeof(*h));
	h->fd = -1;
	h->is_dir = true;
	h->node = dir;
	h->dir_id = dir->id;
	h->parent_id = dir->parent ? dir->parent->id : dir->id;
	h->ents = xcalloc(dir->nkids ? dir->nkids : 1, sizeof(*h->ents));
	for (size_t i = 0; i < dir->nkids; i++) {
		h->ents[i].id = dir->kids[i]->id;
		h->ents[i].type = dtype_of(dir->kids[i]->attr.mode);
		h->ents[i].name = xstrdup(dir->kids[i]->name);
	}
	h->nents = dir->nkids;
	o.fh = handle_add(fs, h);
	return reply(r, &o, sizeof(o));
}

#define DIRENT_ALIGN(x) (((x) + 7) & ~(size_t)7)

static int do_readdir(struct mosfs_req *r, bool plus)
{
	struct mosfs *fs = r->fs;
	const struct fuse_read_in *in = body_fixed(r, sizeof(*in));
	struct mosfs_handle *h;
	size_t size, used = 0;

	if (!in)
		return -EINVAL;
	h = handle_get(fs, in->fh, true);
	if (!h)
		return -EBADF;
	size = in->size < MOSFS_BUF_SIZE ? in->size : MOSFS_BUF_SIZE;
	for (uint64_t i = in->offset; i < h->nents + 2; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." : h->ents[i - 2].name;
		uint64_t ino = i == 0 ? h->dir_id : i == 1 ? h->parent_id : h->ents[i - 2].id;
		uint32_t type = i < 2 ? DT_DIR : h->ents[i - 2].type;
		size_t namelen = strlen(name);
		size_t dsz = DIRENT_ALIGN(offsetof(struct fuse_dirent, name) + namelen);
		size_t esz = plus ? sizeof(struct fuse_entry_out) : 0;
		struct fuse_dirent d = {
			.ino = ino, .off = i + 1, .namelen = (uint32_t)namelen, .type = type
		};
		char *p = r->buf + used;

		if (used + esz + dsz > size)
			break;
		memset(p, 0, esz + dsz);
		if (plus) {
			struct fuse_entry_out e = { 0 };
			struct mosfs_node *n = i < 2 ? NULL : node_of(fs, ino);

			/* "." and "..": no entry (the kernel would not take it). */
			if (n && !n->removed) {
				refresh_from_scratch(fs, n);
				fill_entry(fs, n, &e);
				n->nlookup++;
			}
			memcpy(p, &e, sizeof(e));
		}
		memcpy(p + esz, &d, offsetof(struct fuse_dirent, name));
		memcpy(p + esz + offsetof(struct fuse_dirent, name), name, namelen);
		used += esz + dsz;
	}
	return reply(r, r->buf, used);
}

static int do_releasedir(struct mosfs_req *r)
{
	const struct fuse_release_in *in = body_fixed(r, sizeof(*in));
	struct mosfs_handle *h;

	if (!in)
		return -EINVAL;
	h = handle_get(r->fs, in->fh, true);
	if (!h)
		return -EBADF;
	handle_del(r->fs, in->fh);
	handle_free(h);
	return reply(r, NULL, 0);
}

static int do_init(struct mosfs_req *r)
{
	struct mosfs *fs = r->fs;
	const struct fuse_init_in *in = body_fixed(r, 16);
	struct mosfs_init_out o = { .major = MOSFS_FUSE_MAJOR, .minor = MOSFS_FUSE_MINOR };
	uint64_t kflags, want;

	if (!in)
		return -EINVAL;
	if (in->major > MOSFS_FUSE_MAJOR)
		return reply(r, &o, 24); /* the kernel sends INIT again for 7.x */
	if (in->major < MOSFS_FUSE_MAJOR || in->minor < MOSFS_FUSE_MINOR_MIN) {
		mos_err("mosfs: the kernel speaks FUSE %u.%u; mosfs needs 7.%u or later", in->major,
			in->minor, MOSFS_FUSE_MINOR_MIN);
		return -EPROTO;
	}
	kflags = in->flags;
	if (kflags & FUSE_INIT_EXT && r->len >= offsetof(struct fuse_init_in, flags2) + 4)
		kflags |= (uint64_t)in->flags2 << 32;
	want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS |
	       FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS | FUSE_INIT_EXT;
	if (fs->c->passthrough)
		want |= FUSE_PASSTHROUGH;
	want &= kflags;
	if (fs->c->passthrough && !(want & FUSE_PASSTHROUGH))
		mos_info("mosfs: the kernel offers no FUSE passthrough; reads go through mosd");
	atomic_store(&fs->passthrough, !!(want & FUSE_PASSTHROUGH));
	o.flags = (uint32_t)want;
	o.flags2 = (uint32_t)(want >> 32);
	o.max_readahead = in->max_readahead;
	o.max_background = 64;
	o.congestion_threshold = 48;
	o.max_write = MOSFS_MAX_WRITE;
	o.time_gran = 1;
	o.max_pages = MOSFS_MAX_PAGES;
	/* Backing files are on ordinary filesystems (depth 0). */
	o.max_stack_depth = want & FUSE_PASSTHROUGH ? 1 : 0;
	atomic_store(&fs->initialized, true);
	return reply(r, &o, sizeof(o));
}

/* ---- dispatch ---- */

/* Opcodes that act on a node need it; these do not. */
static bool needs_node(uint32_t op)
{
	switch (op) {
	case FUSE_INIT:
	case FUSE_DESTROY:
	case FUSE_INTERRUPT:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_READ:
	case FUSE_WRITE:
	case FUSE_FLUSH:
	case FUSE_FSYNC:
	case FUSE_RELEASE:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_RELEASEDIR:
	case FUSE_FSYNCDIR:
	case FUSE_STATFS:
		return false;
	default:
		return true;
	}
}

static int dispatch(struct mosfs_req *r)
{
	uint32_t op = r->h->opcode;
	struct mosfs_node *n = NULL;

	if (!atomic_load(&r->fs->initialized) && op != FUSE_INIT)
		return -EIO;
	if (needs_node(op)) {
		n = node_of(r->fs, r->h->nodeid);
		if (!n)
			return -ENOENT;
	}
	switch (op) {
	case FUSE_INIT:
		return do_init(r);
	case FUSE_DESTROY:
		return reply(r, NULL, 0);
	case FUSE_INTERRUPT:
		return MOSFS_NOREPLY; /* requests finish quickly or not at all */
	case FUSE_FORGET:
		return do_forget(r);
	case FUSE_BATCH_FORGET:
		return do_batch_forget(r);
	case FUSE_LOOKUP:
		return do_lookup(r, n);
	case FUSE_GETATTR:
		return do_getattr(r, n);
	case FUSE_SETATTR:
		return do_setattr(r, n);
	case FUSE_READLINK:
		return do_readlink(r, n);
	case FUSE_SYMLINK:
		return do_symlink(r, n);
	case FUSE_MKNOD:
		return do_mknod(r, n);
	case FUSE_MKDIR:
		return do_mkdir(r, n);
	case FUSE_UNLINK:
		return do_unlink_rmdir(r, n, false);
	case FUSE_RMDIR:
		return do_unlink_rmdir(r, n, true);
	case FUSE_RENAME:
		return do_rename(r, n, false);
	case FUSE_RENAME2:
		return do_rename(r, n, true);
	case FUSE_LINK:
		return do_link(r, n);
	case FUSE_OPEN:
		return do_open(r, n);
	case FUSE_CREATE:
		return do_create(r, n);
	case FUSE_READ:
		return do_read(r);
	case FUSE_WRITE:
		return do_write(r);
	case FUSE_FLUSH:
		return do_flush_fsync(r, false);
	case FUSE_FSYNC:
		return do_flush_fsync(r, true);
	case FUSE_RELEASE:
		return do_release(r);
	case FUSE_STATFS:
		return do_statfs(r);
	case FUSE_OPENDIR:
		return do_opendir(r, n);
	case FUSE_READDIR:
		return do_readdir(r, false);
	case FUSE_READDIRPLUS:
		return do_readdir(r, true);
	case FUSE_RELEASEDIR:
		return do_releasedir(r);
	case FUSE_FSYNCDIR:
		return reply(r, NULL, 0);
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_SETXATTR:
	case FUSE_REMOVEXATTR:
	case FUSE_ACCESS: /* default_permissions: the kernel checks */
	default:
		return -ENOSYS;
	}
}

static void handle_request(struct mosfs *fs, char *buf, size_t n, char *out)
{
	const struct fuse_in_header *h = (const void *)buf;
	struct mosfs_req r = { .fs = fs, .h = h, .buf = out };
	size_t ext;
	int err;

	if (n < sizeof(*h) || h->len != n) {
		mos_warn("mosfs: malformed FUSE request (%zu bytes read, header says %u)", n,
			 n >= sizeof(*h) ? h->len : 0);
		if (n >= sizeof(*h))
			reply_err(fs, h->unique, EIO);
		return;
	}
	ext = (size_t)h->total_extlen * 8;
	if (ext > n - sizeof(*h)) {
		reply_err(fs, h->unique, EINVAL);
		return;
	}
	r.body = buf + sizeof(*h);
	r.len = n - sizeof(*h) - ext;
	atomic_fetch_add(&fs->st_requests, 1);
	pthread_mutex_lock(&fs->lock);
	err = dispatch(&r);
	pthread_mutex_unlock(&fs->lock);
	if (err < 0)
		reply_err(fs, h->unique, -err);
}

static void *serve_thread(void *arg)
{
	struct mosfs *fs = arg;
	_cleanup_free_ char *buf = xmalloc(MOSFS_BUF_SIZE);
	_cleanup_free_ char *out = xmalloc(MOSFS_BUF_SIZE);

	while (!atomic_load(&fs->aborted)) {
		ssize_t n = read(fs->fd, buf, MOSFS_BUF_SIZE);

		if (n >= 0) {
			handle_request(fs, buf, (size_t)n, out);
			continue;
		}
		if (errno == EINTR || errno == ENOENT)
			continue; /* ENOENT: the request was interrupted before we read it */
		if (errno == EAGAIN) {
			struct pollfd p[2] = { { .fd = fs->fd, .events = POLLIN },
					       { .fd = fs->abort_fd, .events = POLLIN } };

			if (poll(p, 2, -1) < 0 && errno != EINTR)
				break;
			if (p[1].revents)
				break;
			continue;
		}
		if (errno != ENODEV)
			mos_err("mosfs: reading /dev/fuse: %s", strerror(errno));
		break; /* ENODEV: the connection ended (unmounted or aborted) */
	}
	return NULL;
}

/* ---- public ---- */

int mosfs_open_device(void)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int mosfs_mount(int fuse_fd, const char *target)
{
	char opts[256];

	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40755,user_id=%u,group_id=%u,allow_other,default_permissions",
		 fuse_fd, (unsigned int)geteuid(), (unsigned int)getegid());
	if (mount("mosfs", target, "fuse.mosfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return -errno;
	return 0;
}

int mosfs_start(const struct mosfs_config *c, int fuse_fd, struct mosfs **out)
{
	struct mosfs *fs;
	struct mos_attr ra;
	int flags, err;

	if (!c || !c->ops || !c->scratch_dir || c->nthreads < 1 || fuse_fd < 0)
		return -EINVAL;
	fs = xcalloc(1, sizeof(*fs));
	fs->c = c;
	fs->fd = fuse_fd;
	fs->abort_fd = -1;
	fs->scratch_dirfd = open(c->scratch_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->scratch_dirfd < 0) {
		err = -errno;
		mos_err("mosfs: cannot open scratch directory %s: %s", c->scratch_dir,
			strerror(errno));
		free(fs);
		return err;
	}
	fs->abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	flags = fcntl(fuse_fd, F_GETFL);
	if (fs->abort_fd < 0 || flags < 0 || fcntl(fuse_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		err = -errno;
		if (fs->abort_fd >= 0)
			close(fs->abort_fd);
		close(fs->scratch_dirfd);
		free(fs);
		return err;
	}
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->cond, NULL);
	mosfs_nodes_init(&fs->nodes);
	attr_new(fs, &ra, S_IFDIR | 0755);
	fs->root = mosfs_node_new(&fs->nodes, xstrdup("/"), &ra, NULL);
	fs->root->nlookup = 1;
	fs->threads = xcalloc((size_t)c->nthreads, sizeof(*fs->threads));
	for (int i = 0; i < c->nthreads; i++) {
		err = pthread_create(&fs->threads[i], NULL, serve_thread, fs);
		if (err) {
			mosfs_abort(fs);
			fs->nthreads = i;
			mosfs_free(fs);
			return -err;
		}
		fs->nthreads = i + 1;
	}
	*out = fs;
	return 0;
}

void mosfs_wait(struct mosfs *fs)
{
	if (fs->joined)
		return;
	for (int i = 0; i < fs->nthreads; i++)
		pthread_join(fs->threads[i], NULL);
	fs->joined = true;
}

void mosfs_abort(struct mosfs *fs)
{
	uint64_t one = 1;

	atomic_store(&fs->aborted, true);
	if (write(fs->abort_fd, &one, sizeof(one)) < 0)
		mos_warn("mosfs: cannot signal the serving threads: %s", strerror(errno));
}

int mosfs_writeback_error(const struct mosfs *fs, char *path, size_t len)
{
	struct mosfs *m = (struct mosfs *)fs;
	int err;

	pthread_mutex_lock(&m->lock);
	err = m->wb_err;
	if (path && len)
		snprintf(path, len, "%s", m->wb_path ? m->wb_path : "");
	pthread_mutex_unlock(&m->lock);
	return err;
}

void mosfs_get_stats(const struct mosfs *fs, struct mosfs_stats *out)
{
	out->requests = atomic_load(&fs->st_requests);
	out->reads = atomic_load(&fs->st_reads);
	out->opens = atomic_load(&fs->st_opens);
	out->passthrough_opens = atomic_load(&fs->st_passthrough_opens);
	out->writebacks = atomic_load(&fs->st_writebacks);
	out->writeback_bytes = atomic_load(&fs->st_writeback_bytes);
}

bool mosfs_passthrough_active(const struct mosfs *fs)
{
	return atomic_load(&fs->passthrough);
}

void mosfs_free(struct mosfs *fs)
{
	if (!fs)
		return;
	if (!fs->joined) {
		mosfs_abort(fs);
		mosfs_wait(fs);
	}
	for (size_t i = 0; i < fs->handles_cap; i++)
		if (fs->handles[i])
			handle_free(fs->handles[i]);
	free(fs->handles);
	mosfs_nodes_fini(&fs->nodes);
	pthread_mutex_destroy(&fs->lock);
	pthread_cond_destroy(&fs->cond);
	close(fs->abort_fd);
	close(fs->scratch_dirfd);
	free(fs->wb_path);
	free(fs->threads);
	free(fs);
}
