// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs_handles.c - the requests on open files and directories: OPEN,
 * CREATE and MKNOD, READ and WRITE (where passthrough does not serve them),
 * FLUSH, FSYNC and RELEASE (which write back), OPENDIR, READDIR(PLUS) and
 * RELEASEDIR; and the handle table.  Each replies itself (0) or returns
 * -errno.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse_compat.h"
#include "log.h"
#include "mosfs_internal.h"
#include "mosfs_nodes.h"
#include "util.h"

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
	fs->nhandles++;
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

/* FH no longer names a handle; the handle is still counted (a job is not
 * over while one is: mosfs_wait_idle) until handle_uncount. */
static void handle_unlink(struct mosfs *fs, uint64_t fh)
{
	fs->handles[fh - 1] = NULL;
}

static void handle_uncount(struct mosfs *fs)
{
	if (fs->nhandles && !--fs->nhandles)
		pthread_cond_broadcast(&fs->cond); /* mosfs_wait_idle */
}

static void handle_del(struct mosfs *fs, uint64_t fh)
{
	handle_unlink(fs, fh);
	handle_uncount(fs);
}

void mosfs_handle_free(struct mosfs_handle *h)
{
	if (h->fd >= 0)
		close(h->fd);
	for (size_t i = 0; i < h->nents; i++)
		free(h->ents[i].name);
	free(h->ents);
	free(h);
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
	/* a read-only handle has nothing to write back: no FLUSH at each
	 * close(2) (half the requests of a compile's headers) */
	if (!h->writable)
		o->open_flags |= FOPEN_NOFLUSH;
	atomic_fetch_add(&fs->st_opens, 1);
}

int mosfs_do_open(struct mosfs_req *r, struct mosfs_node *n)
{
	struct mosfs *fs = r->fs;
	const struct fuse_open_in *in = mosfs_body_fixed(r, sizeof(*in));
	struct mosfs_handle *h = NULL;
	struct mosfs_open_out o;
	int err;

	if (!in)
		return -EINVAL;
	err = mosfs_file_open(fs, n, open_wants_write(in->flags), in->flags & O_TRUNC, false, &h);
	if (err)
		return err;
	fill_open_out(fs, h, handle_add(fs, h), &o);
	return mosfs_reply(r, &o, sizeof(o));
}

int mosfs_do_create(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	const struct fuse_create_in *in = mosfs_body_fixed(r, sizeof(*in));
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

	if (!in || !(name = mosfs_body_name(r, &off)))
		return -EINVAL;
	if (!S_ISREG(in->mode) && (in->mode & S_IFMT))
		return -EINVAL;
	err = mosfs_dir_check_new(fs, dir, name);
	if (err)
		return err;
	{
		_cleanup_free_ char *dp = mosfs_node_path(dir);

		if (!dp)
			return -ENOENT; /* the directory is gone */
	}
	/* Created on the origin by the write-back of the first close. */
	mosfs_attr_new(fs, &a, S_IFREG | (in->mode & 07777));
	n = mosfs_node_new(&fs->nodes, xstrdup(name), &a, NULL);
	mosfs_dir_insert(dir, n);
	err = mosfs_file_open(fs, n, true, true, true, &h);
	if (err) {
		mosfs_node_remove(fs, n);
		return err;
	}
	mosfs_attr_now(&dir->attr, false, true);
	n->nlookup++;
	mosfs_fill_entry(fs, n, &out.e);
	fill_open_out(fs, h, handle_add(fs, h), &out.o);
	return mosfs_reply(r, &out, sizeof(out));
}

int mosfs_do_mknod(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	const struct fuse_mknod_in *in = mosfs_body_fixed(r, sizeof(*in));
	struct mosfs_handle *h = NULL;
	struct fuse_entry_out e;
	struct mosfs_node *n;
	struct mos_attr a;
	size_t off = sizeof(*in);
	const char *name;
	int err;

	if (!in || !(name = mosfs_body_name(r, &off)))
		return -EINVAL;
	if (!S_ISREG(in->mode))
		return -EPERM; /* no device nodes, FIFOs or sockets on the origin */
	err = mosfs_dir_check_new(fs, dir, name);
	if (err)
		return err;
	mosfs_attr_new(fs, &a, S_IFREG | (in->mode & 07777));
	n = mosfs_node_new(&fs->nodes, xstrdup(name), &a, NULL);
	mosfs_dir_insert(dir, n);
	err = mosfs_file_open(fs, n, true, true, true, &h);
	if (!err) {
		mosfs_file_close(fs, h);
		n->nopen++; /* keep it while the write-back runs unlocked */
		pthread_mutex_unlock(&fs->lock);
		err = mosfs_writeback(fs, n, false, r->h->pid);
		pthread_mutex_lock(&fs->lock);
		n->nopen--;
		mosfs_handle_free(h);
	}
	if (err) {
		mosfs_node_remove(fs, n);
		return err;
	}
	n->nlookup++;
	mosfs_fill_entry(fs, n, &e);
	return mosfs_reply(r, &e, sizeof(e));
}

int mosfs_do_read(struct mosfs_req *r)
{
	struct mosfs *fs = r->fs;
	const struct fuse_read_in *in = mosfs_body_fixed(r, sizeof(*in));
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
	return mosfs_reply(r, r->buf, (size_t)n);
}

int mosfs_do_write(struct mosfs_req *r)
{
	struct mosfs *fs = r->fs;
	const struct fuse_write_in *in = mosfs_body_fixed(r, sizeof(*in));
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
	return mosfs_reply(r, &o, sizeof(o));
}

int mosfs_do_flush_fsync(struct mosfs_req *r, bool fsync)
{
	struct mosfs *fs = r->fs;
	const struct fuse_flush_in *fl = mosfs_body_fixed(r, sizeof(*fl));
	const struct fuse_fsync_in *fy = mosfs_body_fixed(r, sizeof(*fy));
	struct mosfs_handle *h;
	struct mosfs_node *n;
	int err;

	if (fsync ? !fy : !fl)
		return -EINVAL;
	h = handle_get(fs, fsync ? fy->fh : fl->fh, false);
	if (!h)
		return -EBADF;
	if (!h->writable)
		return mosfs_reply(r, NULL, 0);
	n = h->node;
	/* The handle stays until RELEASE, which follows this FLUSH. */
	err = UNLOCKED(fs, mosfs_writeback(fs, n, false, r->h->pid));
	if (err)
		return err;
	return mosfs_reply(r, NULL, 0);
}

int mosfs_do_release(struct mosfs_req *r)
{
	struct mosfs *fs = r->fs;
	const struct fuse_release_in *in = mosfs_body_fixed(r, sizeof(*in));
	struct mosfs_handle *h;

	if (!in)
		return -EINVAL;
	h = handle_get(fs, in->fh, false);
	if (!h)
		return -EBADF;
	handle_unlink(fs, in->fh);
	/* Writes through a shared mapping may come after the last FLUSH (a
	 * file mapped, closed, then written and unmapped: this RELEASE is
	 * its last close).  The handle counts until that write-back is done:
	 * a session's job ends when none is left, and its EXIT must not
	 * overtake the write-back. */
	if (h->writable)
		UNLOCKED(fs, mosfs_writeback(fs, h->node, true, r->h->pid));
	handle_uncount(fs);
	mosfs_file_close(fs, h);
	mosfs_node_maybe_free(fs, h->node);
	mosfs_handle_free(h);
	return mosfs_reply(r, NULL, 0);
}

static uint32_t dtype_of(uint32_t mode)
{
	return (mode & S_IFMT) >> 12;
}

int mosfs_do_opendir(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	struct mosfs_open_out o = { 0 };
	struct mosfs_handle *h;
	int err;

	if (!mosfs_body_fixed(r, sizeof(struct fuse_open_in)))
		return -EINVAL;
	err = mosfs_dir_ensure_listed(fs, dir);
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
	return mosfs_reply(r, &o, sizeof(o));
}

#define DIRENT_ALIGN(x) (((x) + 7) & ~(size_t)7)

int mosfs_do_readdir(struct mosfs_req *r, bool plus)
{
	struct mosfs *fs = r->fs;
	const struct fuse_read_in *in = mosfs_body_fixed(r, sizeof(*in));
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
			struct mosfs_node *n = i < 2 ? NULL : mosfs_node_of(fs, ino);

			/* "." and "..": no entry (the kernel would not take it). */
			if (n && !n->removed) {
				mosfs_refresh_from_scratch(fs, n);
				mosfs_fill_entry(fs, n, &e);
				n->nlookup++;
			}
			memcpy(p, &e, sizeof(e));
		}
		memcpy(p + esz, &d, offsetof(struct fuse_dirent, name));
		memcpy(p + esz + offsetof(struct fuse_dirent, name), name, namelen);
		used += esz + dsz;
	}
	return mosfs_reply(r, r->buf, used);
}

int mosfs_do_releasedir(struct mosfs_req *r)
{
	const struct fuse_release_in *in = mosfs_body_fixed(r, sizeof(*in));
	struct mosfs_handle *h;

	if (!in)
		return -EINVAL;
	h = handle_get(r->fs, in->fh, true);
	if (!h)
		return -EBADF;
	handle_del(r->fs, in->fh);
	mosfs_handle_free(h);
	return mosfs_reply(r, NULL, 0);
}
