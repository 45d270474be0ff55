// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs_content.c - a regular file's content: one fd per node, shared by
 * its handles (the blob from the origin, read-only, or the scratch copy a
 * write made), registered as a passthrough backing file where the kernel
 * takes it; copied up into the scratch directory, holes kept, before the
 * first write.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuse_compat.h"
#include "log.h"
#include "mosfs_internal.h"
#include "mosfs_nodes.h"
#include "util.h"

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

	mosfs_scratch_name(n, name);
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
 * A read-only file's blob and its passthrough backing outlive its last
 * close, for the next open: without them each open of a header the job
 * opened before costs an openat of the blob, a BACKING_OPEN and, at its
 * RELEASE, a BACKING_CLOSE and a close (a hot compile opens ~100 files).
 * At most MOSFS_KEEP_MAX per mount (descriptors of the connection
 * process), the least recently closed going first; a node removed (an
 * unlink, a rename over it, an invalidation) drops its own at once.
 */
#define MOSFS_KEEP_MAX 256

static void keep_unlink(struct mosfs *fs, struct mosfs_node *n)
{
	if (!n->kept)
		return;
	lru_del(&fs->kept, &n->kept_age);
	n->kept = false;
	fs->nkept--;
}

static void content_close(struct mosfs *fs, struct mosfs_node *n)
{
	backing_close(fs, n);
	if (n->content_fd >= 0)
		close(n->content_fd);
	n->content_fd = -1;
	n->no_keep = false;
}

void mosfs_content_drop(struct mosfs *fs, struct mosfs_node *n)
{
	if (n->kept) {
		keep_unlink(fs, n);
		content_close(fs, n);
	} else if (n->content_fd >= 0 && !n->content_scratch) {
		n->no_keep = true; /* open: its readers keep it, the next open does not */
	}
}

static void keep(struct mosfs *fs, struct mosfs_node *n)
{
	n->kept = true;
	lru_add_newest(&fs->kept, &n->kept_age);
	fs->nkept++;
	while (fs->nkept > MOSFS_KEEP_MAX)
		mosfs_content_drop(fs, container_of(lru_oldest(&fs->kept), struct mosfs_node,
						    kept_age));
}

/*
 * Open regular file N for a handle.  WRITE: the handle may write (copy-up
 * first); TRUNC: the content starts empty; CREATED: N is new (empty).
 * Called and returns with the lock held.
 */
int mosfs_file_open(struct mosfs *fs, struct mosfs_node *n, bool write, bool trunc, bool created,
		    struct mosfs_handle **out)
{
	struct mosfs_handle *h;
	char name[32];
	int r = 0;

	while (n->busy)
		pthread_cond_wait(&fs->cond, &fs->lock);
	keep_unlink(fs, n); /* its kept blob, if any, is this handle's now */
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
	mosfs_scratch_name(n, name);
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
void mosfs_file_close(struct mosfs *fs, struct mosfs_handle *h)
{
	struct mosfs_node *n = h->node;

	n->nopen--;
	if (h->writable)
		n->nwriters--;
	pthread_cond_broadcast(&fs->cond); /* an open for writing may wait for this */
	if (!n->nopen && !n->busy) {
		if (n->content_fd >= 0 && !n->content_scratch && !n->removed && !n->no_keep) {
			keep(fs, n); /* the blob, for the next open */
			return;
		}
		content_close(fs, n);
		if (n->removed)
			mosfs_node_drop_scratch(fs, n);
	}
}

int mosfs_truncateat_scratch(struct mosfs *fs, const char *name, uint64_t size)
{
	_cleanup_close_ int fd = openat(fs->scratch_dirfd, name, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -1;
	return 0;
}
