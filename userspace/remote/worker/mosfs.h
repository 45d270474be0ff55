/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mosfs.h - the worker's view of the origin's filesystem: a FUSE filesystem
 * spoken over raw /dev/fuse (no libfuse: passthrough needs the raw protocol),
 * which a remote job sees as its root.
 *
 * Reads: directory listings come from the backend one whole directory at a
 * time and are kept for the life of the mount, so a lookup of a name the
 * directory does not hold is answered ENOENT at once (negative lookups are
 * cached per job), and the kernel's entry and attribute caches are used
 * (long timeouts: the origin's files are read as of their first lookup).
 * A regular file's content is an fd from the backend (a cache blob); with
 * passthrough (FUSE_PASSTHROUGH, kernel >= 6.9) the kernel reads the blob
 * directly and no read reaches userspace.
 *
 * Writes: a file opened for writing is copied up into SCRATCH_DIR (or created
 * there) and written there; on FLUSH (every close(2)) of a file with changes,
 * it is sent to the origin through put_file, synchronously, so close()
 * reports a failed write-back (EIO / ENOSPC...).  mkdir, unlink, rmdir,
 * rename, symlink, link, chmod, truncate, utimens go to the origin first and
 * change the local view only when the origin agrees.
 *
 * Ownership: the origin's ORIGIN_UID/ORIGIN_GID are shown as JOB_UID/JOB_GID
 * (the kernel ids the job runs as on the worker); other ids pass through.
 * The mount uses default_permissions, so the kernel checks mode bits.
 *
 * Life: open the device, mount it (in the job's mount namespace), then
 * mosfs_start serves it on NTHREADS threads; mosfs_wait returns when the
 * kernel ends the connection (the last user of the mount is gone: every
 * close and so every write-back has happened).
 */
#ifndef MOSD_MOSFS_H
#define MOSD_MOSFS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <mosingar/protocol.h>

#include "listing.h"

/* What mosfs needs from the origin.  Each returns 0 or -errno; called from
 * the serving threads, concurrently. */
struct mosfs_backend_ops {
	/* On success mosfs owns *ENTS: a malloc'd array whose names and link
	 * targets are malloc'd each (freed with free(3)). */
	int (*listdir)(void *ctx, const char *path, struct mos_attr *dir,
		       struct origin_dirent **ents, size_t *n);
	/* An O_RDONLY fd holding the content of regular file PATH; ATTR is
	 * updated with the origin's current attributes. */
	int (*open_blob)(void *ctx, const char *path, struct mos_attr *attr, int *fd);
	/* Send FD's whole content to PATH on the origin, with MODE and MTIME.
	 * Between chunks, GIVE_UP(ARG) true says nobody waits for it any more
	 * (its writer is being killed): drop it, -EINTR. */
	int (*put_file)(void *ctx, const char *path, int fd, uint32_t mode,
			const struct timespec *mtime, bool (*give_up)(void *arg), void *arg);
	int (*mkdir)(void *ctx, const char *path, uint32_t mode);
	int (*unlink)(void *ctx, const char *path);
	int (*rmdir)(void *ctx, const char *path);
	int (*rename)(void *ctx, const char *from, const char *to, uint32_t flags);
	int (*symlink)(void *ctx, const char *target, const char *path);
	int (*link)(void *ctx, const char *from, const char *to);
	int (*chmod)(void *ctx, const char *path, uint32_t mode);
	int (*truncate)(void *ctx, const char *path, uint64_t size);
	int (*utimens)(void *ctx, const char *path, const struct timespec times[2]);
};

struct mosfs_config {
	const struct mosfs_backend_ops *ops;
	void *ctx;
	const char *scratch_dir; /* exists, private to this job; emptied by the caller */
	uint32_t origin_uid, origin_gid;
	uint32_t job_uid, job_gid;
	int nthreads;     /* >= 1 */
	bool passthrough; /* try FUSE passthrough (falls back silently if refused at INIT) */
};

struct mosfs_stats {
	uint64_t requests;  /* FUSE requests served */
	uint64_t reads;     /* READ requests (0 with passthrough) */
	uint64_t opens;
	uint64_t passthrough_opens;
	uint64_t writebacks;
	uint64_t writeback_bytes;
};

struct mosfs;

/* open("/dev/fuse", O_RDWR | O_CLOEXEC): -errno if FUSE is missing. */
int mosfs_open_device(void);
/* mount(2) FUSE_FD at TARGET ("fuse.mosfs", allow_other, default_permissions,
 * rootmode from the root's attributes).  Call in the job's mount namespace. */
int mosfs_mount(int fuse_fd, const char *target);
/* Serve FUSE_FD (already mounted) with C, which must outlive the mosfs.
 * FUSE_FD stays the caller's (mosfs makes it O_NONBLOCK): close it after
 * mosfs_free, and keep no other copy (O_CLOEXEC), for closing the last
 * copy is what ends an aborted connection. */
int mosfs_start(const struct mosfs_config *c, int fuse_fd, struct mosfs **out);
/* Wait until the kernel ends the connection (the mount is gone) or
 * mosfs_abort runs; then join the threads.  Call from one thread only. */
void mosfs_wait(struct mosfs *fs);
/* Abort (job cancelled): every thread ends after the request it is serving
 * (each request read is answered) and mosfs_wait returns.  Requests not yet
 * read wait, killably, until the caller closes FUSE_FD, which fails them
 * and later ones with ENOTCONN.  Safe from any thread, more than once. */
void mosfs_abort(struct mosfs *fs);
/* The first write-back error seen (0 if none), with the path in PATH. */
int mosfs_writeback_error(const struct mosfs *fs, char *path, size_t len);
void mosfs_get_stats(const struct mosfs *fs, struct mosfs_stats *out);
/* Whether INIT negotiated passthrough. */
bool mosfs_passthrough_active(const struct mosfs *fs);
void mosfs_free(struct mosfs *fs);

/*
 * A mount kept from job to job (a session's, mosfs_inval.c).  Queue PATH as
 * possibly changed on the origin (any thread, any time); apply what is
 * queued, before the next job: the node tree forgets it and the kernel's
 * caches too, within TIMEOUT_MS (-ETIMEDOUT: the kernel did not let go; the
 * mount cannot be trusted any more).  A job's end: wait until its last
 * handle is released (-ETIMEDOUT after TIMEOUT_MS), then clear its
 * write-back error for the next.
 */
void mosfs_invalidate_queue(struct mosfs *fs, const char *path);
int mosfs_invalidate_apply(struct mosfs *fs, unsigned timeout_ms);
int mosfs_wait_idle(struct mosfs *fs, unsigned timeout_ms);
void mosfs_job_done(struct mosfs *fs);
/* A session's job is over (its processes gone, its files released): write
 * back what changed since its last write-back, as an unmount would. */
void mosfs_writeback_changed(struct mosfs *fs);

#endif /* MOSD_MOSFS_H */
