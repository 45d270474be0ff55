/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cas.h - the worker's content-addressed cache: file contents named by their
 * SHA-256, shared by every job and origin, surviving a mosd restart.
 *
 * Layout under DIR:   DIR/objects/ab/cdef...   (hex of the hash, 2/62 split)
 *                     DIR/tmp/                 blobs being filled
 *                     DIR/verified             log of blobs known intact (below)
 *                     DIR/verified.lock        taken while the log is rewritten
 * A blob is written to DIR/tmp under a unique name, its hash verified, then
 * renamed into place (link-or-rename: two writers filling the same blob both
 * succeed, one copy remains).  Blobs are read-only (mode 0444) once in place.
 * Size-capped: after an insert, least recently used blobs (by the mtime the
 * cache sets when it hands a blob out) are removed until the total is below
 * the cap; a blob that is open keeps its data until closed (unlink semantics).
 * Thread-safe: one struct cas may be used from several threads.
 *
 * Blobs in place are checked, not trusted: a blob changed on disk (a torn
 * write, a byte flipped by hand) must be found and fetched again, yet
 * rehashing a 30 MB compiler on every open would defeat the cache.  So the
 * cache keeps DIR/verified, an append-only log of fixed-size records
 * {sha256, st_ino, st_size, st_ctime, when hashed, checksum}, each one
 * O_APPEND write() (atomic between processes).  A record says "the file with
 * this inode, size and ctime had this hash".  Records are appended when a
 * writer's blob is in place with its metadata final (its tmp/ name gone), and
 * when the cache's own LRU touch (futimens, which moves the ctime) follows a
 * trust decision.  cas_open_blob() fstat()s the blob: a record matching its
 * (inode, size, ctime) makes it a hit at once; otherwise the whole blob is
 * hashed (counted in `rehashed`): right, a record is appended and it is a
 * hit; wrong, the blob is unlinked (counted in `corrupt`) and the call
 * returns -ENOENT, a miss, so the caller fetches it again.  A record hashed
 * more than a day ago no longer vouches: each blob in use is rehashed about
 * daily, which also catches decay that leaves the ctime alone (bit rot).
 * Every write to a file moves its ctime, so any change made through the
 * filesystem is caught - with one gap: before Linux 6.13 (no multigrain
 * timestamps) a change within the same clock tick (a few ms) as the recorded
 * state keeps the ctime and waits for the daily rehash.  A root who rewrites
 * the log as well is not caught (this guards against accidents, not against
 * the worker's own administrator).  A cache from before the log existed has
 * each blob hashed once, on its first open.
 *
 * Each struct cas holds the log in memory (a table by hash) and reads what
 * others appended since, from where it stopped, when a lookup misses.  The
 * log is compacted (rewritten with a record per blob still in place, then
 * renamed over DIR/verified, under flock(DIR/verified.lock)) when it holds
 * far more records than hashes, or has a damaged record (a torn append:
 * crash, full disk); other processes notice the new inode on their next read
 * and load it.  Records appended to the old inode in between are lost.  Any
 * loss - a missing, torn, damaged or unwritable log - only costs rehashing,
 * never a wrong answer: a record counts only if its checksum holds and it
 * matches the blob's inode, size and ctime exactly.
 */
#ifndef MOS_CAS_H
#define MOS_CAS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CAS_HASH_LEN 32

struct cas;
struct cas_writer;

struct cas_stats {
	uint64_t bytes; /* total size of the blobs in place */
	uint64_t blobs;
	uint64_t hits; /* cas_open_blob found the blob */
	uint64_t misses;
	uint64_t evicted;  /* blobs removed by the size cap */
	uint64_t corrupt;  /* blobs whose content no longer matched their name: removed */
	uint64_t rehashed; /* cas_open_blob hashed the whole blob (no record vouched) */
};

/* Open (creating DIR if needed) a cache capped at MAX_BYTES (0: no cap). */
int cas_open(const char *dir, uint64_t max_bytes, struct cas **out);
void cas_close(struct cas *c);

/* Hex form of a hash: 64 characters + NUL. */
void cas_hex(const uint8_t hash[CAS_HASH_LEN], char out[2 * CAS_HASH_LEN + 1]);

/* An O_RDONLY|O_CLOEXEC fd on the blob, or -ENOENT (also when it was there but
 * corrupt: it is removed).  Marks it recently used. */
int cas_open_blob(struct cas *c, const uint8_t hash[CAS_HASH_LEN]);

/* Fill a blob whose hash is announced as HASH (SIZE bytes, its size from
 * the start: what is never written is a hole, zeros).  Data arrives with
 * cas_writer_write in any order of offsets; commit verifies the hash and
 * size and returns an fd as cas_open_blob would (-EBADMSG on mismatch, the
 * data is dropped).  Abort drops it.  Both free W. */
int cas_writer_begin(struct cas *c, const uint8_t hash[CAS_HASH_LEN], uint64_t size,
		     struct cas_writer **out);
int cas_writer_write(struct cas_writer *w, uint64_t offset, const void *data, size_t len);
int cas_writer_commit(struct cas_writer *w);
void cas_writer_abort(struct cas_writer *w);

void cas_get_stats(struct cas *c, struct cas_stats *out);

/* SHA-256 of a whole fd's content from offset 0 (pread; the offset is kept). */
int cas_hash_fd(int fd, uint8_t hash[CAS_HASH_LEN]);

#endif /* MOS_CAS_H */
