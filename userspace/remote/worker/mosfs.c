// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs.c - the worker's FUSE filesystem over raw /dev/fuse (see mosfs.h):
 * its serving threads, the checks every request passes, the dispatch to
 * the part that serves it, and the session (INIT, STATFS).  The parts:
 * mosfs_request.c (a request's body and the replies), mosfs_tree.c (the
 * nodes, listed from the origin), mosfs_names.c and mosfs_handles.c (the
 * requests), mosfs_content.c (a file's content, copied up for writing) and
 * mosfs_writeback.c (written files sent back); mosfs_nodes.c is the inode
 * table.
 *
 * Threads: NTHREADS threads read requests from the one device fd (made
 * non-blocking: an idle thread waits in its own epoll set for the device,
 * registered EPOLLEXCLUSIVE so that one request wakes one thread, and for
 * an eventfd, which mosfs_abort makes readable).  One mutex guards the node table, the
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

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "fuse_compat.h"
#include "log.h"
#include "mosfs_internal.h"
#include "mosfs_nodes.h"
#include "util.h"

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
	return mosfs_reply(r, &o, sizeof(o));
}

static int do_init(struct mosfs_req *r)
{
	struct mosfs *fs = r->fs;
	const struct fuse_init_in *in = mosfs_body_fixed(r, 16);
	struct mosfs_init_out o = { .major = MOSFS_FUSE_MAJOR, .minor = MOSFS_FUSE_MINOR };
	uint64_t kflags, want;

	if (!in)
		return -EINVAL;
	if (in->major > MOSFS_FUSE_MAJOR)
		return mosfs_reply(r, &o, 24); /* the kernel sends INIT again for 7.x */
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
	return mosfs_reply(r, &o, sizeof(o));
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
		n = mosfs_node_of(r->fs, r->h->nodeid);
		if (!n)
			return -ENOENT;
	}
	switch (op) {
	case FUSE_INIT:
		return do_init(r);
	case FUSE_DESTROY:
		return mosfs_reply(r, NULL, 0);
	case FUSE_INTERRUPT:
		return MOSFS_NOREPLY; /* requests finish quickly or not at all */
	case FUSE_FORGET:
		return mosfs_do_forget(r);
	case FUSE_BATCH_FORGET:
		return mosfs_do_batch_forget(r);
	case FUSE_LOOKUP:
		return mosfs_do_lookup(r, n);
	case FUSE_GETATTR:
		return mosfs_do_getattr(r, n);
	case FUSE_SETATTR:
		return mosfs_do_setattr(r, n);
	case FUSE_READLINK:
		return mosfs_do_readlink(r, n);
	case FUSE_SYMLINK:
		return mosfs_do_symlink(r, n);
	case FUSE_MKNOD:
		return mosfs_do_mknod(r, n);
	case FUSE_MKDIR:
		return mosfs_do_mkdir(r, n);
	case FUSE_UNLINK:
		return mosfs_do_unlink_rmdir(r, n, false);
	case FUSE_RMDIR:
		return mosfs_do_unlink_rmdir(r, n, true);
	case FUSE_RENAME:
		return mosfs_do_rename(r, n, false);
	case FUSE_RENAME2:
		return mosfs_do_rename(r, n, true);
	case FUSE_LINK:
		return mosfs_do_link(r, n);
	case FUSE_OPEN:
		return mosfs_do_open(r, n);
	case FUSE_CREATE:
		return mosfs_do_create(r, n);
	case FUSE_READ:
		return mosfs_do_read(r);
	case FUSE_WRITE:
		return mosfs_do_write(r);
	case FUSE_FLUSH:
		return mosfs_do_flush_fsync(r, false);
	case FUSE_FSYNC:
		return mosfs_do_flush_fsync(r, true);
	case FUSE_RELEASE:
		return mosfs_do_release(r);
	case FUSE_STATFS:
		return do_statfs(r);
	case FUSE_OPENDIR:
		return mosfs_do_opendir(r, n);
	case FUSE_READDIR:
		return mosfs_do_readdir(r, false);
	case FUSE_READDIRPLUS:
		return mosfs_do_readdir(r, true);
	case FUSE_RELEASEDIR:
		return mosfs_do_releasedir(r);
	case FUSE_FSYNCDIR:
		return mosfs_reply(r, NULL, 0);
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
			mosfs_reply_err(fs, h->unique, EIO);
		return;
	}
	ext = (size_t)h->total_extlen * 8;
	if (ext > n - sizeof(*h)) {
		mosfs_reply_err(fs, h->unique, EINVAL);
		return;
	}
	r.body = buf + sizeof(*h);
	r.len = n - sizeof(*h) - ext;
	atomic_fetch_add(&fs->st_requests, 1);
	pthread_mutex_lock(&fs->lock);
	err = dispatch(&r);
	pthread_mutex_unlock(&fs->lock);
	if (err < 0)
		mosfs_reply_err(fs, h->unique, -err);
}

/*
 * This thread's own epoll set: the device with EPOLLEXCLUSIVE, so that a
 * request wakes one idle thread, not all of them (with poll(2) each request
 * woke every thread, and all but one read EAGAIN), and the abort eventfd,
 * which wakes them all.  -1: poll(2) it is.
 */
static int serve_epoll(const struct mosfs *fs)
{
	struct epoll_event dev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u32 = 0 };
	struct epoll_event ab = { .events = EPOLLIN, .data.u32 = 1 };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fs->fd, &dev) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fs->abort_fd, &ab) < 0) {
		close(ep);
		return -1;
	}
	return ep;
}

/* Until the device is readable (true) or the filesystem is aborted. */
static bool serve_wait(const struct mosfs *fs, int ep)
{
	if (ep >= 0) {
		struct epoll_event ev[2];
		int n = epoll_wait(ep, ev, 2, -1);

		if (n < 0)
			return errno == EINTR;
		for (int i = 0; i < n; i++)
			if (ev[i].data.u32 == 1)
				return false;
		return true;
	} else {
		struct pollfd p[2] = { { .fd = fs->fd, .events = POLLIN },
				       { .fd = fs->abort_fd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0)
			return errno == EINTR;
		return !p[1].revents;
	}
}

static void *serve_thread(void *arg)
{
	struct mosfs *fs = arg;
	_cleanup_free_ char *buf = xmalloc(MOSFS_BUF_SIZE);
	_cleanup_free_ char *out = xmalloc(MOSFS_BUF_SIZE);
	_cleanup_close_ int ep = serve_epoll(fs);

	while (!atomic_load(&fs->aborted)) {
		ssize_t n = read(fs->fd, buf, MOSFS_BUF_SIZE);

		if (n >= 0) {
			handle_request(fs, buf, (size_t)n, out);
			continue;
		}
		if (errno == EINTR || errno == ENOENT)
			continue; /* ENOENT: the request was interrupted before we read it */
		if (errno == EAGAIN) {
			if (!serve_wait(fs, ep))
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
	mosfs_attr_new(fs, &ra, S_IFDIR | 0755);
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
			mosfs_handle_free(fs->handles[i]);
	free(fs->handles);
	mosfs_nodes_fini(&fs->nodes);
	pthread_mutex_destroy(&fs->lock);
	pthread_cond_destroy(&fs->cond);
	close(fs->abort_fd);
	close(fs->scratch_dirfd);
	free(fs->wb_path);
	for (size_t i = 0; i < fs->ninval; i++)
		free(fs->inval[i]);
	free(fs->inval);
	free(fs->threads);
	free(fs);
}
