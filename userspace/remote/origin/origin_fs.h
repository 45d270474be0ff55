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
 *
 * No symlink is ever followed, in any component: a worker asks only for
 * paths its own kernel resolved (mosfs presents symlinks as symlinks), so
 * the path's text names the object the caller's checks judged (the scope
 * of origin_scope.h) only if resolving it follows none.  Every path is
 * resolved from a directory fd with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) (an O_PATH walk with
 * O_NOFOLLOW where openat2 is missing), once: the operation then acts on
 * the fd it got (reads) or on a name in the parent directory's fd
 * (*at(dirfd, name, AT_SYMLINK_NOFOLLOW)), never on the path string again.
 * A symlink in a directory component is -ELOOP (counted in
 * symlinks_refused); a final symlink is never followed (lstat semantics).
 * The base of a resolution is the deepest pinned tree (origin_fs_pin_tree)
 * the path lies in, else "/" as opened by origin_fs_new.
 *
 * Hashes: origin_open computes the SHA-256 of a regular file, remembered in
 * a hash cache keyed by (dev, ino, size, mtime, ctime), so an unchanged file
 * is never hashed twice.  The cache persists in a file when a path is given.
 * origin_fetch serves only a hash this origin has announced through
 * origin_open, and re-checks that the file still has that content's
 * identity (same dev/ino/size/mtime/ctime) on the fd it reads: -ESTALE if
 * not.
 *
 * Writes land atomically: put_begin opens an unnamed temporary file in the
 * target's directory (O_TMPFILE), put_write fills it, put_end sets mode and
 * mtime and links it over the target (renaming it over an existing one).
 * An origin that dies meanwhile leaves nothing.  Where the filesystem has
 * no O_TMPFILE the temporary is named ".NAME.mos-XXXXXX" and noted in the
 * put journal (origin_fs_set_put_journal), so that the next origin removes
 * it if this one dies before it could.  Abort removes it.  A put whose size
 * is declared (put_begin SIZE >= 0) keeps holes: the file has that size
 * from the start and only the data written lands on disk.
 *
 * Nothing here waits for long without a way out: a big file is hashed in
 * steps (origin_open_start, origin_open_step) the caller interleaves with
 * other work, and the flag of origin_fs_set_cancel, once set, ends a hash,
 * a listing or a fetch under way with -ECANCELED (the job is being ended).
 * A stalled filesystem (a hung NFS server) can still hold a call in the
 * kernel: callers keep these calls off the thread that must stay prompt.
 *
 * All functions return 0 or -errno.  Not thread-safe (the origin serves from
 * one thread); one struct origin_fs per job.  Several origins (jobs) may work
 * in the same trees at once: each acts only on what it resolved itself.
 */
#ifndef MOS_ORIGIN_FS_H
#define MOS_ORIGIN_FS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <mosingar/protocol.h>

#include "listing.h"

struct origin_fs;
struct origin_put;
struct origin_open_op;

struct origin_stats {
	uint64_t files_hashed; /* hashed now (cache misses) */
	uint64_t hash_cache_hits;
	uint64_t bytes_served;
	uint64_t bytes_written;
	uint64_t symlinks_refused;    /* requests through a symlinked directory */
	uint64_t temporaries_removed; /* left behind by origins that died */
};

/* HASH_CACHE_PATH may be NULL (in memory only).  Opens "/" (the base of
 * every resolution outside the pinned trees). */
int origin_fs_new(const char *hash_cache_path, struct origin_fs **out);
/* Saves the hash cache (if any) and frees. */
void origin_fs_free(struct origin_fs *o);
void origin_fs_get_stats(const struct origin_fs *o, struct origin_stats *out);

/*
 * Pin a granted tree: PATH (absolute, as origin_path_check wants it) is
 * opened now, following no symlink, and every later path beneath it is
 * resolved beneath that directory, whatever its name comes to mean.  A
 * PATH that is missing, not a directory or reached through a symlink is
 * not pinned (-errno; paths beneath it then resolve from "/", following no
 * symlink either), nor any beyond the 64th (-EMFILE; likewise).  "/"
 * itself is pinned by origin_fs_new.
 */
int origin_fs_pin_tree(struct origin_fs *o, const char *path);

/*
 * The put journal: DIR (made if missing, 0700) holds one file per live
 * origin listing its named temporaries, locked while that origin lives.
 * Called once, before any put: journals whose origin has died are read,
 * the temporaries they name that are still there (same inode, owned by this
 * user) removed, and the journals deleted.  Without a journal, named
 * temporaries are not noted (O_TMPFILE needs none).
 */
int origin_fs_set_put_journal(struct origin_fs *o, const char *dir);

/* The largest file a put or truncate may make (bytes); -EFBIG beyond.
 * Starts as RLIMIT_FSIZE (the user's `ulimit -f`), unlimited by default. */
void origin_fs_set_max_file_size(struct origin_fs *o, uint64_t bytes);

/* For tests: behave as where openat2(2) or O_TMPFILE is missing. */
#define ORIGIN_FS_QUIRK_NO_OPENAT2 (1U << 0)
#define ORIGIN_FS_QUIRK_NO_TMPFILE (1U << 1)
void origin_fs_set_quirks(struct origin_fs *o, unsigned int quirks);

/* FLAG (NULL: none), read from any thread, set by another: once true,
 * hashes, listings and fetches end early with -ECANCELED. */
void origin_fs_set_cancel(struct origin_fs *o, const atomic_bool *flag);
/*
 * Watch what is read for a worker's session (watch.h): each directory
 * listed, and each file opened and its directory, before it is read.  A
 * watch that cannot be added (the user's inotify watches used up) is
 * counted in origin_fs_watch_failures: the session cannot trust what it
 * keeps then.
 */
struct watch_set;
void origin_fs_set_watch(struct origin_fs *o, struct watch_set *w);
unsigned long origin_fs_watch_failures(const struct origin_fs *o);

/* Validate a path as above. */
int origin_path_check(const char *path);

void origin_attr_from_stat(const struct stat *st, struct mos_attr *a);

/* A directory's own attributes and all its entries (not "." and ".."),
 * each with lstat attributes and, for symlinks, the target; -EFBIG beyond
 * ORIGIN_LISTDIR_MAX entries. */
int origin_listdir(struct origin_fs *o, const char *path, struct mos_attr *dir,
		   struct origin_dirent **ents, size_t *n);

/* lstat; *LINK gets the target (malloc'd) for a symlink, else NULL. */
int origin_stat(struct origin_fs *o, const char *path, struct mos_attr *a, char **link);

/* A regular file's attributes and content hash (announces the hash). */
int origin_open(struct origin_fs *o, const char *path, struct mos_attr *a, uint8_t sha256[32]);
/*
 * The same in steps.  Start: 0 when the hash is known at once (the hash
 * cache; A and SHA256 filled), 1 with *OP when it must be computed, or
 * -errno.  Step: hash up to BUDGET bytes more; 1 while more is left, else
 * the outcome (0 with A and SHA256 filled, or -errno), OP then freed.
 * Abort frees an OP not finished.  OPs do not outlive their origin_fs.
 */
int origin_open_start(struct origin_fs *o, const char *path, struct mos_attr *a, uint8_t sha256[32],
		      struct origin_open_op **op);
int origin_open_step(struct origin_open_op *op, uint64_t budget, struct mos_attr *a,
		     uint8_t sha256[32]);
void origin_open_abort(struct origin_open_op *op);

/* Up to LEN bytes of an announced blob at OFFSET: returns the count (short
 * only at the end), -ENOENT for a hash never announced, -ESTALE if changed. */
ssize_t origin_fetch(struct origin_fs *o, const uint8_t sha256[32], uint64_t offset, void *buf,
		     size_t len);

/* The same, holes left out: the next data at or after OFFSET and before
 * LIMIT, up to LEN bytes of it at *AT (SEEK_DATA/SEEK_HOLE); 0 when only a
 * hole is left before LIMIT.  Checked as origin_fetch is. */
ssize_t origin_fetch_sparse(struct origin_fs *o, const uint8_t sha256[32], uint64_t offset,
			    uint64_t limit, uint64_t *at, void *buf, size_t len);

/* SIZE: the file's final size when the writer knows it (a sparse put: only
 * data extents are written, holes stay holes), else -1 (the file is as
 * long as what is written). */
int origin_put_begin(struct origin_fs *o, const char *path, uint32_t mode, int64_t size,
		     struct origin_put **out);
/* -EFBIG beyond the declared size or the maximum file size. */
int origin_put_write(struct origin_put *p, uint64_t offset, const void *data, size_t len);
int origin_put_end(struct origin_put *p, int64_t mtime_sec, uint32_t mtime_nsec); /* frees P */
void origin_put_abort(struct origin_put *p);					  /* frees P */

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
