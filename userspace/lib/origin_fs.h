/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * origin_fs.h - the origin's file service: what a worker may ask of the
 * origin's filesystem on behalf of a job, done with the invoking user's own
 * credentials (mosctl runs as that user, so the kernel's permission checks
 * decide what is served: nothing the user could not read is ever sent).
 *
 * Paths are absolute, as the job sees them (the origin's "/" is the job's
 * "/"); every function rejects a path that is not absolute, contains a NUL,
 * a "." or ".." component, or is longer than MOS_PATH_MAX, with -EINVAL.
 * Symlinks are never followed in the last component (lstat semantics);
 * intermediate components resolve as the kernel resolves them for the user.
 *
 * Hashes: origin_open computes the SHA-256 of a regular file, remembered in
 * a hash cache keyed by (dev, ino, size, mtime, ctime), so an unchanged file
 * is never hashed twice.  The cache persists in a file when a path is given.
 * origin_fetch serves only a hash this origin has announced through
 * origin_open, and re-checks that the file still has that content's
 * identity (same dev/ino/size/mtime/ctime) before sending: -ESTALE if not.
 *
 * Writes land atomically: put_begin creates a temporary file next to the
 * target (".PATHNAME.mos-XXXXXX"), put_write fills it, put_end fsyncs-free
 * sets mode and mtime and renames it over the target.  Abort removes it.
 *
 * All functions return 0 or -errno.  Not thread-safe (the origin serves from
 * one loop); one struct origin_fs per job.
 */
#ifndef MOS_ORIGIN_FS_H
#define MOS_ORIGIN_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <mosingar/protocol.h>

struct origin_fs;
struct origin_put;

struct origin_dirent {
	char *name;
	struct mos_attr attr;
	char *link; /* symlink target, else NULL */
};

struct origin_stats {
	uint64_t files_hashed; /* hashed now (cache misses) */
	uint64_t hash_cache_hits;
	uint64_t bytes_served;
	uint64_t bytes_written;
};

/* HASH_CACHE_PATH may be NULL (in memory only). */
int origin_fs_new(const char *hash_cache_path, struct origin_fs **out);
/* Saves the hash cache (if any) and frees. */
void origin_fs_free(struct origin_fs *o);
void origin_fs_get_stats(const struct origin_fs *o, struct origin_stats *out);

/* Validate a path as above. */
int origin_path_check(const char *path);

void origin_attr_from_stat(const struct stat *st, struct mos_attr *a);

/* A directory's own attributes and all its entries (not "." and ".."),
 * each with lstat attributes and, for symlinks, the target. */
int origin_listdir(struct origin_fs *o, const char *path, struct mos_attr *dir,
		   struct origin_dirent **ents, size_t *n);
void origin_dirents_free(struct origin_dirent *ents, size_t n);

/* lstat; *LINK gets the target (malloc'd) for a symlink, else NULL. */
int origin_stat(struct origin_fs *o, const char *path, struct mos_attr *a, char **link);

/* A regular file's attributes and content hash (announces the hash). */
int origin_open(struct origin_fs *o, const char *path, struct mos_attr *a, uint8_t sha256[32]);

/* Up to LEN bytes of an announced blob at OFFSET: returns the count (short
 * only at the end), -ENOENT for a hash never announced, -ESTALE if changed. */
ssize_t origin_fetch(struct origin_fs *o, const uint8_t sha256[32], uint64_t offset, void *buf,
		     size_t len);

int origin_put_begin(struct origin_fs *o, const char *path, uint32_t mode, struct origin_put **out);
int origin_put_write(struct origin_put *p, uint64_t offset, const void *data, size_t len);
int origin_put_end(struct origin_put *p, int64_t mtime_sec, uint32_t mtime_nsec); /* frees P */
void origin_put_abort(struct origin_put *p);                                      /* frees P */

int origin_mkdir(struct origin_fs *o, const char *path, uint32_t mode);
int origin_unlink(struct origin_fs *o, const char *path);
int origin_rmdir(struct origin_fs *o, const char *path);
int origin_rename(struct origin_fs *o, const char *from, const char *to, uint32_t flags);
int origin_symlink(struct origin_fs *o, const char *target, const char *path);
int origin_link(struct origin_fs *o, const char *from, const char *to);
int origin_chmod(struct origin_fs *o, const char *path, uint32_t mode);
int origin_truncate(struct origin_fs *o, const char *path, uint64_t size);
int origin_utimens(struct origin_fs *o, const char *path, const struct timespec times[2]);

#endif /* MOS_ORIGIN_FS_H */
