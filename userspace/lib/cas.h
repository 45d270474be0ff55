/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cas.h - the worker's content-addressed cache: file contents named by their
 * SHA-256, shared by every job and origin, surviving a mosd restart.
 *
 * Layout under DIR:   DIR/objects/ab/cdef...   (hex of the hash, 2/62 split)
 *                     DIR/tmp/                 blobs being filled
 * A blob is written to DIR/tmp under a unique name, its hash verified, then
 * renamed into place (link-or-rename: two writers filling the same blob both
 * succeed, one copy remains).  Blobs are read-only (mode 0444) once in place.
 * Size-capped: after an insert, least recently used blobs (by the mtime the
 * cache sets when it hands a blob out) are removed until the total is below
 * the cap; a blob that is open keeps its data until closed (unlink semantics).
 * Thread-safe: one struct cas may be used from several threads.
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
	uint64_t bytes;   /* total size of the blobs in place */
	uint64_t blobs;
	uint64_t hits;    /* cas_open_blob found the blob */
	uint64_t misses;
	uint64_t evicted; /* blobs removed by the size cap */
};

/* Open (creating DIR if needed) a cache capped at MAX_BYTES (0: no cap). */
int cas_open(const char *dir, uint64_t max_bytes, struct cas **out);
void cas_close(struct cas *c);

/* Hex form of a hash: 64 characters + NUL. */
void cas_hex(const uint8_t hash[CAS_HASH_LEN], char out[2 * CAS_HASH_LEN + 1]);

/* An O_RDONLY|O_CLOEXEC fd on the blob, or -ENOENT.  Marks it recently used. */
int cas_open_blob(struct cas *c, const uint8_t hash[CAS_HASH_LEN]);

/* Fill a blob whose hash is announced as HASH (SIZE bytes).  Data arrives
 * with cas_writer_write in any order of offsets; commit verifies the hash
 * and size and returns an fd as cas_open_blob would (-EBADMSG on mismatch,
 * the data is dropped).  Abort drops it.  Both free W. */
int cas_writer_begin(struct cas *c, const uint8_t hash[CAS_HASH_LEN], uint64_t size,
		     struct cas_writer **out);
int cas_writer_write(struct cas_writer *w, uint64_t offset, const void *data, size_t len);
int cas_writer_commit(struct cas_writer *w);
void cas_writer_abort(struct cas_writer *w);

void cas_get_stats(struct cas *c, struct cas_stats *out);

/* SHA-256 of a whole fd's content from offset 0 (pread; the offset is kept). */
int cas_hash_fd(int fd, uint8_t hash[CAS_HASH_LEN]);

#endif /* MOS_CAS_H */
