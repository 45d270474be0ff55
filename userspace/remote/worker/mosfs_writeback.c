// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs_writeback.c - a written file's scratch copy sent back to the
 * origin (put_file): at FLUSH and FSYNC, at RELEASE if it changed since
 * (a shared mapping written after the last FLUSH), at MKNOD (the new empty
 * file); the first failure kept for the job's end; a writer being killed
 * not waited for.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse_compat.h"
#include "log.h"
#include "mosfs_internal.h"
#include "mosfs_nodes.h"
#include "util.h"

static void mark_of(const struct stat *st, struct mosfs_scratch_mark *m)
{
	m->size = (uint64_t)st->st_size;
	m->mtime_sec = st->st_mtim.tv_sec;
	m->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	m->ctime_sec = st->st_ctim.tv_sec;
	m->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
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

/* The start of /proc/TID/FILE, NUL-terminated, into BUF; false if unread. */
static bool read_task_file(uint32_t tid, const char *file, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/%s", tid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
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
	char buf[2048];
	unsigned long long flags = 0, pend;
	long long exit_code = 0;
	const char *p;

	if (!tid)
		return false;
	if (!read_task_file(tid, "stat", buf, sizeof(buf)))
		return false;
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
	if (!read_task_file(tid, "status", buf, sizeof(buf)))
		return false;
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
int mosfs_writeback(struct mosfs *fs, struct mosfs_node *n, bool only_if_changed, uint32_t tid)
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
	mosfs_scratch_name(n, name);
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
