/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mosfs_internal.h - what the parts of mosfs share: the mount's state
 * (struct mosfs, under its one lock), a request being served, the open
 * handles, and the functions one part calls in another.  mosfs.c describes
 * the threads and the lock.  Only the files of this folder include it.
 */
#ifndef MOSD_MOSFS_INTERNAL_H
#define MOSD_MOSFS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuse_compat.h"
#include "mosfs.h"
#include "mosfs_nodes.h"

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
	size_t nhandles; /* open handles (files and directories) */
	/* INVALIDATE paths not applied yet (mosfs_invalidate_apply) */
	char **inval;
	size_t ninval;
	/* closed files whose blob and passthrough backing stay open for the
	 * next open (mosfs_content.c), least recently closed first, at most
	 * MOSFS_KEEP_MAX */
	struct lru kept;
	size_t nkept;

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

/* Run a backend call on PATH without the lock. */
#define UNLOCKED(fs, call)                         \
	({                                         \
		int r_;                            \
		pthread_mutex_unlock(&(fs)->lock); \
		r_ = (call);                       \
		pthread_mutex_lock(&(fs)->lock);   \
		r_;                                \
	})

/* mosfs_request.c: a request's body, the replies, the attributes shown. */
int mosfs_reply(struct mosfs_req *r, const void *p, size_t n);
int mosfs_reply_err(struct mosfs *fs, uint64_t unique, int err);
const void *mosfs_body_fixed(const struct mosfs_req *r, size_t size);
const char *mosfs_body_string(const struct mosfs_req *r, size_t *off);
bool mosfs_name_ok(const char *s);
const char *mosfs_body_name(const struct mosfs_req *r, size_t *off);
uint32_t mosfs_to_job_uid(const struct mosfs *fs, uint32_t uid);
uint32_t mosfs_to_job_gid(const struct mosfs *fs, uint32_t gid);
void mosfs_fill_attr(const struct mosfs *fs, const struct mosfs_node *n, struct fuse_attr *o);
void mosfs_fill_entry(const struct mosfs *fs, const struct mosfs_node *n, struct fuse_entry_out *e);

/* mosfs_tree.c: the nodes' attributes, listings and life. */
void mosfs_attr_now(struct mos_attr *a, bool atime, bool mtime);
void mosfs_attr_new(const struct mosfs *fs, struct mos_attr *a, uint32_t mode);
void mosfs_scratch_name(const struct mosfs_node *n, char buf[32]);
void mosfs_refresh_from_scratch(struct mosfs *fs, struct mosfs_node *n);
void mosfs_node_drop_scratch(struct mosfs *fs, struct mosfs_node *n);
void mosfs_node_maybe_free(struct mosfs *fs, struct mosfs_node *n);
void mosfs_node_remove(struct mosfs *fs, struct mosfs_node *n);
struct mosfs_node *mosfs_node_of(struct mosfs *fs, uint64_t id);
int mosfs_dir_ensure_listed(struct mosfs *fs, struct mosfs_node *dir);
char *mosfs_child_path(const struct mosfs_node *dir, const char *name);

/* mosfs_content.c: a regular file's content, copied up for writing. */
int mosfs_file_open(struct mosfs *fs, struct mosfs_node *n, bool write, bool trunc, bool created,
		    struct mosfs_handle **out);
void mosfs_file_close(struct mosfs *fs, struct mosfs_handle *h);
/* N's content changed, or N is removed or goes: its blob (and backing) is
 * not kept for a later open, closed now if it was kept.  Lock held. */
void mosfs_content_drop(struct mosfs *fs, struct mosfs_node *n);
int mosfs_truncateat_scratch(struct mosfs *fs, const char *name, uint64_t size);

/* mosfs_writeback.c: a written file sent back to the origin. */
int mosfs_writeback(struct mosfs *fs, struct mosfs_node *n, bool only_if_changed, uint32_t tid);

/* mosfs_names.c: requests on names. */
int mosfs_do_lookup(struct mosfs_req *r, struct mosfs_node *dir);
int mosfs_do_forget(struct mosfs_req *r);
int mosfs_do_batch_forget(struct mosfs_req *r);
int mosfs_do_getattr(struct mosfs_req *r, struct mosfs_node *n);
int mosfs_do_setattr(struct mosfs_req *r, struct mosfs_node *n);
int mosfs_do_readlink(struct mosfs_req *r, struct mosfs_node *n);
int mosfs_dir_check_new(struct mosfs *fs, struct mosfs_node *dir, const char *name);
int mosfs_do_mkdir(struct mosfs_req *r, struct mosfs_node *dir);
int mosfs_do_symlink(struct mosfs_req *r, struct mosfs_node *dir);
int mosfs_do_link(struct mosfs_req *r, struct mosfs_node *dir);
int mosfs_do_unlink_rmdir(struct mosfs_req *r, struct mosfs_node *dir, bool rmdir);
int mosfs_do_rename(struct mosfs_req *r, struct mosfs_node *olddir, bool v2);

/* mosfs_handles.c: requests on open files and directories. */
void mosfs_handle_free(struct mosfs_handle *h);
int mosfs_do_open(struct mosfs_req *r, struct mosfs_node *n);
int mosfs_do_create(struct mosfs_req *r, struct mosfs_node *dir);
int mosfs_do_mknod(struct mosfs_req *r, struct mosfs_node *dir);
int mosfs_do_read(struct mosfs_req *r);
int mosfs_do_write(struct mosfs_req *r);
int mosfs_do_flush_fsync(struct mosfs_req *r, bool fsync);
int mosfs_do_release(struct mosfs_req *r);
int mosfs_do_opendir(struct mosfs_req *r, struct mosfs_node *dir);
int mosfs_do_readdir(struct mosfs_req *r, bool plus);
int mosfs_do_releasedir(struct mosfs_req *r);

#endif /* MOSD_MOSFS_INTERNAL_H */
