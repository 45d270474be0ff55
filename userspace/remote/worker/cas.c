// SPDX-License-Identifier: GPL-2.0-only
/*
 * cas.c - the worker's content-addressed cache (see cas.h for the layout).
 *
 * The filesystem is the truth; the in-memory index only keeps the byte
 * total and the LRU order.  cas_open_blob() therefore always opens the path
 * (one openat) and adds a blob it did not know to the index, so blobs put in
 * place by another process sharing DIR (a second mosd) are found; blobs that
 * process evicts leave the index when an open or an eviction finds them gone.
 * With several processes on one DIR each keeps its own total, and the cap is
 * enforced per process on what it has seen.
 *
 * LRU: the index keeps blobs in a list, least recently used first; handing a
 * blob out (cas_open_blob, cas_writer_commit) moves it to the end.  The
 * blob's mtime records the same on disk, so the order survives a restart:
 * it is set to "now" when the blob is handed out, at most once every
 * TOUCH_INTERVAL_NS per blob (the in-memory order is exact, the on-disk one
 * is that coarse).  cas_open() sorts what it finds by mtime.
 *
 * Writers fill DIR/tmp/w.<pid>.<seq>.<random> (O_EXCL); commit checks size
 * and hash, makes the file 0444, fdatasync()s it (a blob in place must never
 * be a torn file: its name is a promise about its content) and link()s it
 * into objects/: EEXIST means another writer won, whose copy is used.  A
 * filesystem without hard links gets renameat2(RENAME_NOREPLACE) instead.
 *
 * Stale temporary files: an interrupted writer's file stays in DIR/tmp.
 * cas_open() removes any entry there whose mtime is more than STALE_TMP_S
 * old.  Every write moves the mtime, so only a writer idle that long loses
 * its file (its commit then fails with -ENOENT); the pid in the name is for
 * people, not trusted, since mosd instances may live in other pid namespaces.
 *
 * Verification (see cas.h): DIR/verified holds 64-byte records, host
 * endian (the log never leaves the machine), whose last field is an FNV-1a
 * checksum of the others seeded with VLOG_FORMAT: a torn, misaligned or
 * foreign-format record fails it and is skipped, and marks the log damaged so
 * it gets rewritten.  In memory a second table, by hash, keeps the latest
 * record read or written for each hash (latest in log order: a stale one only
 * costs a rehash).  Records are read at cas_open() and, when a lookup finds
 * no matching one, from c->vlog_off (always a record boundary) to the end; a
 * partial record at the end is left for the next read, but at cas_open() it
 * counts as torn.  A record is written only for a blob still linked
 * (st_nlink > 0) and only when the fstat() made after the check still shows
 * the state that was checked, so a change while hashing is never vouched
 * for.  The LRU touch leaves a window of microseconds between that fstat()
 * and futimens() in which a change would be covered by the new record.
 *
 * Compaction runs under c->lock in the process that finds the log too long
 * or damaged: it takes flock(DIR/verified.lock) (a file opened for the
 * purpose, so forked siblings, which share the log's open file, still
 * exclude each other), reads the log to its end, keeps the records whose blob
 * is in place with the same inode, size and ctime, writes them to
 * DIR/verified.new and renames that over DIR/verified.  Done online rather
 * than at cas_open() only, because a listening mosd opens the cache once and
 * runs for weeks.  Reads compare DIR/verified's inode with the open log's and
 * reload the whole (compacted) file when they differ.
 *
 * Locking: one mutex per struct cas guards the index, the verified table,
 * the log descriptor and the counters; eviction unlinks under it, so a thread
 * that finds st_nlink == 0 under the lock knows the blob was evicted and does
 * not re-add it.  Hashing, writing and opening blobs run without it; reading,
 * appending and compacting the log run under it.
 */
#include "cas.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "hashtab.h"
#include "strmap.h"
#include "util.h"

#define TOUCH_INTERVAL_NS (5LL * 1000000000LL)
#define STALE_TMP_S 3600
#define HASH_CHUNK (256U << 10)
#define INSTALL_TRIES 8
#define VLOG_NAME "verified"
#define VLOG_NEW_NAME "verified.new"
#define VLOG_LOCK_NAME "verified.lock"
#define VLOG_FORMAT 1U
#define VLOG_READ_RECS 256
/* compact when the log holds more than this plus twice the hashes it names */
#define VLOG_COMPACT_MIN_RECS 4096
/* after a failed or skipped compaction, wait for this many more records */
#define VLOG_COMPACT_RETRY_RECS 256
/* a record older than this no longer vouches for a blob: it is hashed again */
#define VERIFY_MAX_AGE_S (24 * 3600)
/* "ab/" + 62 hex + NUL */
#define BLOB_PATH_LEN (3 + 2 * CAS_HASH_LEN - 2 + 1)

struct cas_entry {
	struct hashtab_node node; /* in c->index */
	struct lru_node use;	  /* in c->lru */
	uint64_t size;
	int64_t touched_ns; /* the mtime we last gave the file (or found on it) */
	uint8_t hash[CAS_HASH_LEN];
};

/* One record of DIR/verified: "this inode, at this size and ctime, hashed to HASH". */
struct verified_rec {
	uint8_t hash[CAS_HASH_LEN];
	uint64_t ino;
	uint64_t size;
	int64_t ctime_ns;
	uint32_t verified_s; /* when its content was last hashed (CLOCK_REALTIME) */
	uint32_t check;	     /* rec_check() of the fields above */
};
_Static_assert(sizeof(struct verified_rec) == 64, "a verified record is 64 bytes, no padding");

struct verified_entry {
	struct hashtab_node node; /* in c->verified */
	struct verified_rec rec;
};

struct cas {
	pthread_mutex_t lock;
	int dirfd;   /* DIR */
	int objfd;   /* DIR/objects */
	int tmpfd;   /* DIR/tmp */
	int vlog_fd; /* DIR/verified, O_APPEND; -1: no log, every open hashes */
	dev_t vlog_dev;
	ino_t vlog_ino;
	uint64_t vlog_off;	 /* read up to here: a record boundary */
	uint64_t vlog_end;	 /* the log's size as last seen */
	uint64_t vlog_retry_end; /* no compaction attempt before the log is this long */
	bool vlog_damaged;	 /* a bad record was seen: rewrite the log */
	struct hashtab verified; /* struct verified_entry, by hash */
	uint64_t max_bytes;
	struct hashtab index; /* struct cas_entry, by hash */
	struct lru lru;	      /* the same entries, least recently used first */
	struct cas_stats st;
	uint64_t tmp_seq;
};

struct cas_writer {
	struct cas *c;
	int fd;
	uint64_t size;
	uint8_t hash[CAS_HASH_LEN];
	char name[64];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static uint32_t now_s(void)
{
	return (uint32_t)(now_ns() / 1000000000LL);
}

void cas_hex(const uint8_t hash[CAS_HASH_LEN], char out[2 * CAS_HASH_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < CAS_HASH_LEN; i++) {
		out[2 * i] = digits[hash[i] >> 4];
		out[2 * i + 1] = digits[hash[i] & 0xf];
	}
	out[2 * CAS_HASH_LEN] = '\0';
}

static void blob_path(const uint8_t hash[CAS_HASH_LEN], char out[BLOB_PATH_LEN])
{
	char hex[2 * CAS_HASH_LEN + 1];

	cas_hex(hash, hex);
	out[0] = hex[0];
	out[1] = hex[1];
	out[2] = '/';
	memcpy(out + 3, hex + 2, sizeof(hex) - 2);
}

static int hex_val(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Parse exactly LEN lowercase hex digits into LEN/2 bytes. */
static bool parse_hex(const char *s, size_t len, uint8_t *out)
{
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_val(s[i]), lo = hex_val(s[i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return s[len] == '\0';
}

int cas_hash_fd(int fd, uint8_t hash[CAS_HASH_LEN])
{
	_cleanup_free_ uint8_t *buf = xmalloc(HASH_CHUNK);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	off_t off = 0;
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = -EIO;
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, HASH_CHUNK, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			r = -EIO;
			goto out;
		}
		off += n;
	}
	if (!EVP_DigestFinal_ex(ctx, hash, &len) || len != CAS_HASH_LEN)
		r = -EIO;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

/* ---- the verified table (caller holds c->lock) ---- */

static uint32_t rec_check(const struct verified_rec *r)
{
	const uint8_t *p = (const uint8_t *)r;
	uint32_t h = 2166136261U;

	h = (h ^ VLOG_FORMAT) * 16777619U;
	for (size_t i = 0; i < offsetof(struct verified_rec, check); i++)
		h = (h ^ p[i]) * 16777619U;
	return h;
}

static bool rec_matches(const struct verified_rec *r, const struct stat *st)
{
	return r->ino == (uint64_t)st->st_ino && r->size == (uint64_t)st->st_size &&
	       r->ctime_ns == ts_ns(&st->st_ctim);
}

/*
 * What both tables hash a blob's name by: its first 64 bits, multiplied by
 * the process's secret odd key (mulhash_keyed).  The name's own bits would
 * be uniform, but an origin that wanted one long chain in a cache shared
 * with every other origin could buy the bits that pick a bucket with a
 * short search per blob; it cannot aim at a multiplier it does not know.
 */
static uint64_t table_key(const uint8_t hash[CAS_HASH_LEN])
{
	uint64_t v;

	memcpy(&v, hash, sizeof(v));
	return mulhash_keyed(v);
}

static struct verified_entry *verified_of(const struct hashtab_node *n)
{
	return container_of(n, struct verified_entry, node);
}

static uint64_t vt_node_hash(const struct hashtab_node *n)
{
	return table_key(verified_of(n)->rec.hash);
}

static bool vt_eq(const struct hashtab_node *n, const void *hash)
{
	return !memcmp(verified_of(n)->rec.hash, hash, CAS_HASH_LEN);
}

static struct verified_entry *vt_find(const struct cas *c, const uint8_t hash[CAS_HASH_LEN])
{
	struct hashtab_node *n = hashtab_find(&c->verified, table_key(hash), vt_eq, hash);

	return n ? verified_of(n) : NULL;
}

/* Remember REC as the latest word on its hash. */
static void vt_put(struct cas *c, const struct verified_rec *rec)
{
	struct verified_entry *v = vt_find(c, rec->hash);

	if (!v) {
		v = xcalloc(1, sizeof(*v));
		hashtab_add(&c->verified, &v->node, table_key(rec->hash));
	}
	v->rec = *rec;
}

static void vt_remove(struct cas *c, const uint8_t hash[CAS_HASH_LEN])
{
	struct verified_entry *v = vt_find(c, hash);

	if (!v)
		return;
	hashtab_remove(&c->verified, &v->node);
	free(v);
}

/* ---- the index (caller holds c->lock) ---- */

static struct cas_entry *entry_of(const struct hashtab_node *n)
{
	return container_of(n, struct cas_entry, node);
}

static uint64_t index_node_hash(const struct hashtab_node *n)
{
	return table_key(entry_of(n)->hash);
}

static bool index_eq(const struct hashtab_node *n, const void *hash)
{
	return !memcmp(entry_of(n)->hash, hash, CAS_HASH_LEN);
}

static struct cas_entry *index_find(const struct cas *c, const uint8_t hash[CAS_HASH_LEN])
{
	struct hashtab_node *n = hashtab_find(&c->index, table_key(hash), index_eq, hash);

	return n ? entry_of(n) : NULL;
}

/* Add a blob the index does not hold, as the most recently used. */
static struct cas_entry *index_add(struct cas *c, const uint8_t hash[CAS_HASH_LEN], uint64_t size,
				   int64_t touched_ns)
{
	struct cas_entry *e = xcalloc(1, sizeof(*e));

	memcpy(e->hash, hash, CAS_HASH_LEN);
	e->size = size;
	e->touched_ns = touched_ns;
	hashtab_add(&c->index, &e->node, table_key(hash));
	lru_add_newest(&c->lru, &e->use);
	c->st.blobs++;
	c->st.bytes += size;
	return e;
}

static void index_remove(struct cas *c, struct cas_entry *e)
{
	hashtab_remove(&c->index, &e->node);
	lru_del(&c->lru, &e->use);
	c->st.blobs--;
	c->st.bytes -= e->size;
	vt_remove(c, e->hash); /* gone from here, so its record vouches for nothing */
	free(e);
}

/* Remove least recently used blobs until the total is within the cap. */
static void evict_locked(struct cas *c, const struct cas_entry *keep)
{
	struct lru_node *u = lru_oldest(&c->lru), *next;

	for (; u && c->max_bytes && c->st.bytes > c->max_bytes; u = next) {
		struct cas_entry *e = container_of(u, struct cas_entry, use);
		char path[BLOB_PATH_LEN];

		next = u->newer;
		if (e == keep)
			continue;
		blob_path(e->hash, path);
		if (unlinkat(c->objfd, path, 0) == 0)
			c->st.evicted++;
		else if (errno != ENOENT)
			continue; /* cannot remove it; try the next one */
		/* ENOENT: another process removed it; it is gone either way */
		index_remove(c, e);
	}
}

/* ---- the verified log (caller holds c->lock) ---- */

/* (Re)open DIR/verified at its start; the old descriptor is kept on failure. */
static int vlog_open(struct cas *c)
{
	int fd = openat(c->dirfd, VLOG_NAME, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			0600);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int r = errno;

		close(fd);
		return -r;
	}
	if (c->vlog_fd >= 0)
		close(c->vlog_fd);
	c->vlog_fd = fd;
	c->vlog_dev = st.st_dev;
	c->vlog_ino = st.st_ino;
	c->vlog_off = c->vlog_end = c->vlog_retry_end = 0;
	return 0;
}

/* Take in the records from c->vlog_off to the end; stop before a partial one. */
static void vlog_read(struct cas *c)
{
	struct verified_rec buf[VLOG_READ_RECS];

	for (;;) {
		ssize_t n = pread(c->vlog_fd, buf, sizeof(buf), (off_t)c->vlog_off);
		size_t whole;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* an unreadable log only costs rehashing */
		whole = (size_t)n / sizeof(buf[0]);
		for (size_t i = 0; i < whole; i++) {
			if (buf[i].check == rec_check(&buf[i]))
				vt_put(c, &buf[i]);
			else
				c->vlog_damaged = true;
		}
		c->vlog_off += whole * sizeof(buf[0]);
		if ((size_t)n < sizeof(buf)) {
			c->vlog_end = c->vlog_off + (size_t)n % sizeof(buf[0]);
			return;
		}
	}
}

/* Read what was appended since; start over if the log was replaced. */
static void vlog_refresh(struct cas *c)
{
	struct stat st;

	if (c->vlog_fd < 0)
		return;
	if (fstatat(c->dirfd, VLOG_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    st.st_ino != c->vlog_ino || st.st_dev != c->vlog_dev)
		vlog_open(c); /* compacted (or removed) by someone else */
	vlog_read(c);
}

/*
 * Rewrite the log with one record per blob it still vouches for.  Another
 * process compacting (the lock is busy) or having just compacted is fine.
 */
static int vlog_compact(struct cas *c)
{
	_cleanup_close_ int lockfd =
		openat(c->dirfd, VLOG_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	_cleanup_close_ int fd = -1;
	struct verified_rec buf[VLOG_READ_RECS];
	struct hashtab_node *node;
	struct hashtab_iter it;
	uint64_t kept = 0;
	size_t n = 0;
	struct stat st;
	int r = 0;

	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0)
		return -errno;
	vlog_refresh(c); /* under the lock: the end we read is the end */
	if (!c->vlog_damaged &&
	    c->vlog_end / sizeof(buf[0]) <= VLOG_COMPACT_MIN_RECS + 2 * c->verified.n)
		return 0; /* someone else just did it */
	fd = openat(c->dirfd, VLOG_NEW_NAME,
		    O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	it = HASHTAB_ITER(&c->verified);
	while (r == 0 && (node = hashtab_iter_next(&it))) {
		struct verified_entry *v = verified_of(node);
		char path[BLOB_PATH_LEN];

		blob_path(v->rec.hash, path);
		if (fstatat(c->objfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !rec_matches(&v->rec, &st)) {
			hashtab_iter_remove(&it); /* gone or changed: the record is useless */
			free(v);
			continue;
		}
		buf[n++] = v->rec;
		kept++;
		if (n == VLOG_READ_RECS) {
			r = write_all(fd, buf, n * sizeof(buf[0]));
			n = 0;
		}
	}
	if (r == 0 && n)
		r = write_all(fd, buf, n * sizeof(buf[0]));
	if (r == 0 && fstat(fd, &st) < 0)
		r = -errno;
	if (r == 0 && renameat(c->dirfd, VLOG_NEW_NAME, c->dirfd, VLOG_NAME) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(c->dirfd, VLOG_NEW_NAME, 0);
		return r;
	}
	close(c->vlog_fd);
	c->vlog_fd = take_fd(&fd);
	c->vlog_dev = st.st_dev;
	c->vlog_ino = st.st_ino;
	c->vlog_off = c->vlog_end = kept * sizeof(buf[0]);
	c->vlog_damaged = false;
	return 0;
}

static void vlog_maybe_compact(struct cas *c)
{
	uint64_t recs = c->vlog_end / sizeof(struct verified_rec);

	if (c->vlog_fd < 0 || c->vlog_end < c->vlog_retry_end ||
	    (!c->vlog_damaged && recs <= VLOG_COMPACT_MIN_RECS + 2 * c->verified.n))
		return;
	if (vlog_compact(c) < 0)
		c->vlog_retry_end =
			c->vlog_end + VLOG_COMPACT_RETRY_RECS * sizeof(struct verified_rec);
}

/* Vouch for ST (the blob HASH, its content just checked as of VERIFIED_S). */
static void vlog_append(struct cas *c, const uint8_t hash[CAS_HASH_LEN], const struct stat *st,
			uint32_t verified_s)
{
	struct verified_rec rec = {
		.ino = (uint64_t)st->st_ino,
		.size = (uint64_t)st->st_size,
		.ctime_ns = ts_ns(&st->st_ctim),
		.verified_s = verified_s,
	};
	ssize_t n;

	memcpy(rec.hash, hash, CAS_HASH_LEN);
	rec.check = rec_check(&rec);
	vt_put(c, &rec); /* true whether or not the log takes it */
	if (c->vlog_fd < 0)
		return;
	n = write(c->vlog_fd, &rec, sizeof(rec)); /* one write: atomic with O_APPEND */
	if (n == (ssize_t)sizeof(rec)) {
		off_t end = lseek(c->vlog_fd, 0, SEEK_CUR);

		if (end > 0)
			c->vlog_end = (uint64_t)end;
	} else if (n > 0) {
		c->vlog_damaged = true; /* a torn record (full disk): rewrite */
	}
	vlog_maybe_compact(c);
}

/* Whether a record vouches for ST being the blob HASH; if so its VERIFIED_S. */
static bool vlog_trusts(struct cas *c, const uint8_t hash[CAS_HASH_LEN], const struct stat *st,
			uint32_t *verified_s)
{
	struct verified_entry *v = vt_find(c, hash);

	if (!v || !rec_matches(&v->rec, st)) {
		/* maybe appended by another process since we last looked */
		vlog_refresh(c);
		vlog_maybe_compact(c);
		v = vt_find(c, hash);
	}
	if (!v || !rec_matches(&v->rec, st) ||
	    (int64_t)now_s() - (int64_t)v->rec.verified_s > VERIFY_MAX_AGE_S)
		return false;
	*verified_s = v->rec.verified_s;
	return true;
}

static bool same_state(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       ts_ns(&a->st_ctim) == ts_ns(&b->st_ctim);
}

/* ---- handing blobs out ---- */

/*
 * FD is open on the blob HASH, whose content was checked when it looked like
 * CHECKED (as of VERIFIED_S; FRESH: hashed just now, not yet in the log):
 * record it in the index as just used, count a hit if asked, evict if asked
 * (never this blob), refresh its mtime and write the records that keep it
 * trusted.  Returns FD, or -errno (FD closed).
 */
static int blob_handed_out(struct cas *c, const uint8_t hash[CAS_HASH_LEN], int fd,
			   const struct stat *checked, uint32_t verified_s, bool fresh, bool hit,
			   bool evict)
{
	int64_t now = now_ns();
	struct cas_entry *e;
	bool touch = false, same;
	struct stat st;
	int r;

	pthread_mutex_lock(&c->lock);
	/* not a regular file: something that is no blob sits where one belongs */
	r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -ENOENT;
	if (r < 0) {
		c->st.misses += hit;
		pthread_mutex_unlock(&c->lock);
		close(fd);
		return r;
	}
	/* unchanged since checked, and still in place: worth vouching for */
	same = same_state(&st, checked) && st.st_nlink > 0;
	e = index_find(c, hash);
	if (e && e->size != (uint64_t)st.st_size) {
		/* replaced by a full copy (see install_blob) */
		c->st.bytes = c->st.bytes - e->size + (uint64_t)st.st_size;
		e->size = (uint64_t)st.st_size;
	}
	/* st_nlink == 0: evicted since we opened it (the fd still reads), or
	 * replaced by another process's copy before ours was vouched for
	 * (install_blob): then that copy is the blob in place, to account for */
	if (!e && st.st_nlink > 0)
		e = index_add(c, hash, (uint64_t)st.st_size, ts_ns(&st.st_mtim));
	if (!e && st.st_nlink == 0) {
		char path[BLOB_PATH_LEN];
		struct stat cur;

		blob_path(hash, path);
		if (fstatat(c->objfd, path, &cur, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(cur.st_mode) &&
		    cur.st_size == st.st_size)
			e = index_add(c, hash, (uint64_t)cur.st_size, ts_ns(&cur.st_mtim));
	}
	if (e) {
		lru_touch(&c->lru, &e->use);
		if (now < e->touched_ns || now - e->touched_ns >= TOUCH_INTERVAL_NS) {
			e->touched_ns = now;
			touch = true;
		}
	}
	if (hit)
		c->st.hits++;
	if (fresh && same && !touch)
		vlog_append(c, hash, &st, verified_s);
	if (evict)
		evict_locked(c, e);
	pthread_mutex_unlock(&c->lock);
	if (touch) {
		/* best effort: only the order after a restart suffers */
		int touched = futimens(fd, NULL) == 0;

		/* the touch moved the ctime: vouch for the new one */
		if (same && (touched || fresh) && fstat(fd, &st) == 0 && st.st_nlink > 0) {
			pthread_mutex_lock(&c->lock);
			vlog_append(c, hash, &st, verified_s);
			pthread_mutex_unlock(&c->lock);
		}
	}
	return fd;
}

/* The blob at PATH (FD, as ST) does not hash to its name: remove it. */
static int blob_corrupt(struct cas *c, const uint8_t hash[CAS_HASH_LEN], const char *path, int fd,
			const struct stat *st)
{
	struct cas_entry *e;
	struct stat now;

	pthread_mutex_lock(&c->lock);
	/* unless a good copy replaced it meanwhile (a small race: at worst a refetch) */
	if (fstatat(c->objfd, path, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st->st_ino &&
	    now.st_dev == st->st_dev)
		unlinkat(c->objfd, path, 0);
	e = index_find(c, hash);
	if (e)
		index_remove(c, e);
	else
		vt_remove(c, hash);
	c->st.corrupt++;
	c->st.misses++;
	pthread_mutex_unlock(&c->lock);
	close(fd);
	return -ENOENT;
}

int cas_open_blob(struct cas *c, const uint8_t hash[CAS_HASH_LEN])
{
	uint32_t verified_s = 0;
	char path[BLOB_PATH_LEN];
	uint8_t got[CAS_HASH_LEN];
	bool trusted;
	struct stat st;
	int fd, r;

	blob_path(hash, path);
	fd = openat(c->objfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		struct cas_entry *e;

		r = errno == ELOOP ? -ENOENT : -errno;
		pthread_mutex_lock(&c->lock);
		e = index_find(c, hash);
		if (e && r == -ENOENT)
			index_remove(c, e); /* evicted by another process */
		c->st.misses++;
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -ENOENT;
	if (r < 0) {
		/* not a regular file: something that is no blob sits where one belongs */
		pthread_mutex_lock(&c->lock);
		c->st.misses++;
		pthread_mutex_unlock(&c->lock);
		close(fd);
		return r;
	}
	pthread_mutex_lock(&c->lock);
	trusted = vlog_trusts(c, hash, &st, &verified_s);
	if (!trusted)
		c->st.rehashed++;
	pthread_mutex_unlock(&c->lock);
	if (!trusted) {
		r = cas_hash_fd(fd, got);
		if (r == 0 && memcmp(got, hash, CAS_HASH_LEN))
			return blob_corrupt(c, hash, path, fd, &st);
		if (r < 0) {
			pthread_mutex_lock(&c->lock);
			c->st.misses++;
			pthread_mutex_unlock(&c->lock);
			close(fd);
			return r;
		}
		verified_s = now_s();
	}
	return blob_handed_out(c, hash, fd, &st, verified_s, !trusted, true, false);
}

void cas_get_stats(struct cas *c, struct cas_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	pthread_mutex_unlock(&c->lock);
}

/* ---- writers ---- */

int cas_writer_begin(struct cas *c, const uint8_t hash[CAS_HASH_LEN], uint64_t size,
		     struct cas_writer **out)
{
	_cleanup_free_ struct cas_writer *w = NULL;

	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	w = xcalloc(1, sizeof(*w));
	w->c = c;
	w->size = size;
	memcpy(w->hash, hash, CAS_HASH_LEN);
	for (int tries = 0;; tries++) {
		uint64_t seq = __atomic_fetch_add(&c->tmp_seq, 1, __ATOMIC_RELAXED), rnd;

		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd = (uint64_t)now_ns();
		snprintf(w->name, sizeof(w->name), "w.%d.%llx.%llx", (int)getpid(),
			 (unsigned long long)seq, (unsigned long long)rnd);
		w->fd = openat(c->tmpfd, w->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (w->fd >= 0)
			break;
		if (errno != EEXIST || tries >= 16)
			return -errno;
	}
	/* its size from the start: what is never written (the holes of a
	 * sparse fetch) stays a hole, and reads as zeros */
	if (ftruncate(w->fd, (off_t)size) < 0) {
		int err = -errno;

		close(w->fd);
		unlinkat(c->tmpfd, w->name, 0);
		return err;
	}
	*out = steal_pointer(&w);
	return 0;
}

int cas_writer_write(struct cas_writer *w, uint64_t offset, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (offset > w->size || len > w->size - offset)
		return -EFBIG; /* past the announced size */
	while (len) {
		ssize_t n = pwrite(w->fd, p, len, (off_t)offset);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static void writer_free(struct cas_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	/* After a link the blob keeps its other name; after a rename this is ENOENT. */
	unlinkat(w->c->tmpfd, w->name, 0);
	free(w);
}

void cas_writer_abort(struct cas_writer *w)
{
	if (w)
		writer_free(w);
}

/* Link NAME in DIR/tmp into objects/ unless it is there already. */
static int try_install(struct cas *c, const char *name, const char *path)
{
	if (linkat(c->tmpfd, name, c->objfd, path, 0) == 0)
		return 0;
	if (errno == ENOENT) {
		char sub[3] = { path[0], path[1], '\0' };

		if (mkdirat(c->objfd, sub, 0700) < 0 && errno != EEXIST)
			return -errno;
		if (linkat(c->tmpfd, name, c->objfd, path, 0) == 0)
			return 0;
	}
	if (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK) {
		/* no hard links here: move it, never over another copy */
		if (renameat2(c->tmpfd, name, c->objfd, path, RENAME_NOREPLACE) == 0)
			return 0;
	}
	return -errno;
}

/*
 * Put the verified file NAME (RO_FD open on it) in place as blob HASH.
 * Returns an O_RDONLY fd on the blob in place: RO_FD itself (*OURS set), or
 * a copy already there that the log vouches for (as of *VERIFIED_S).
 */
static int install_blob(struct cas *c, const uint8_t hash[CAS_HASH_LEN], uint64_t size,
			const char *name, int *ro_fd, bool *ours, uint32_t *verified_s)
{
	char path[BLOB_PATH_LEN];

	*ours = true;
	blob_path(hash, path);
	for (int i = 0; i < INSTALL_TRIES; i++) {
		_cleanup_close_ int fd = -1;
		struct stat st;
		int r = try_install(c, name, path);

		if (r == 0)
			return take_fd(ro_fd);
		if (r != -EEXIST)
			return r;
		/* Another writer won: use its copy, unless it is torn. */
		fd = openat(c->objfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno != ENOENT)
			return -errno;
		if (fd < 0)
			continue; /* evicted in between: try again */
		if (fstat(fd, &st) < 0)
			return -errno;
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size == size) {
			bool trusted;

			pthread_mutex_lock(&c->lock);
			trusted = vlog_trusts(c, hash, &st, verified_s);
			pthread_mutex_unlock(&c->lock);
			if (trusted) {
				*ours = false;
				return take_fd(&fd);
			}
		}
		/* torn, or not known to be right (corrupt, or its writer has not
		 * vouched for it yet): ours is known right, and replaces it */
		if (renameat(c->tmpfd, name, c->objfd, path) < 0)
			return -errno;
		return take_fd(ro_fd);
	}
	return -EAGAIN;
}

int cas_writer_commit(struct cas_writer *w)
{
	struct cas *c = w->c;
	_cleanup_close_ int ro_fd = -1;
	uint8_t got[CAS_HASH_LEN];
	uint32_t verified_s;
	bool ours = true;
	struct stat st;
	int r;

	if (fstat(w->fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size != w->size) {
		r = -EBADMSG;
		goto out;
	}
	r = cas_hash_fd(w->fd, got);
	if (r < 0)
		goto out;
	if (memcmp(got, w->hash, CAS_HASH_LEN)) {
		r = -EBADMSG;
		goto out;
	}
	if (fchmod(w->fd, 0444) < 0 || fdatasync(w->fd) < 0) {
		r = -errno;
		goto out;
	}
	ro_fd = openat(c->tmpfd, w->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (ro_fd < 0) {
		r = -errno;
		goto out;
	}
	verified_s = now_s();
	r = install_blob(c, w->hash, w->size, w->name, &ro_fd, &ours, &verified_s);
	if (r >= 0) {
		int fd = r;

		/* Unlinking the tmp/ name moves the blob's ctime: do it before the
		 * state is recorded (writer_free then finds it gone). */
		unlinkat(c->tmpfd, w->name, 0);
		if (fstat(fd, &st) < 0) {
			r = -errno;
			close(fd);
			goto out;
		}
		r = blob_handed_out(c, w->hash, fd, &st, verified_s, ours, false, true);
	}
out:
	writer_free(w);
	return r;
}

/* ---- open / close ---- */

static int open_subdir(int dirfd, const char *name)
{
	int fd;

	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/* A DIR* on a fresh descriptor of DIRFD's directory (or on NAME beneath it). */
static DIR *opendir_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define _cleanup_closedir_ __attribute__((cleanup(closedirp)))

static int clean_tmp(struct cas *c)
{
	_cleanup_closedir_ DIR *d = opendir_at(c->tmpfd, ".");
	int64_t limit = now_ns() - (int64_t)STALE_TMP_S * 1000000000LL;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(c->tmpfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		if (ts_ns(&st.st_mtim) < limit)
			unlinkat(c->tmpfd, de->d_name, 0);
	}
	return 0;
}

struct scan_rec {
	uint8_t hash[CAS_HASH_LEN];
	uint64_t size;
	int64_t mtime_ns;
};

static int cmp_mtime(const void *a, const void *b)
{
	const struct scan_rec *x = a, *y = b;

	return (x->mtime_ns > y->mtime_ns) - (x->mtime_ns < y->mtime_ns);
}

static void scan_subdir(struct cas *c, const char *sub, struct scan_rec **recs, size_t *n,
			size_t *cap)
{
	_cleanup_close_ int subfd =
		openat(c->objfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (subfd < 0)
		return;
	d = opendir_at(subfd, ".");
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct scan_rec r;
		struct stat st;

		if (strlen(de->d_name) != 2 * CAS_HASH_LEN - 2 || !parse_hex(sub, 2, r.hash) ||
		    !parse_hex(de->d_name, 2 * CAS_HASH_LEN - 2, r.hash + 1))
			continue;
		if (fstatat(subfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		r.size = (uint64_t)st.st_size;
		r.mtime_ns = ts_ns(&st.st_mtim);
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 256;
			*recs = xrealloc(*recs, *cap * sizeof(**recs));
		}
		(*recs)[(*n)++] = r;
	}
}

/* Index every blob in objects/, least recently used (oldest mtime) first. */
static int scan_objects(struct cas *c)
{
	_cleanup_closedir_ DIR *d = opendir_at(c->objfd, ".");
	_cleanup_free_ struct scan_rec *recs = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint8_t b;

		if (strlen(de->d_name) == 2 && parse_hex(de->d_name, 2, &b))
			scan_subdir(c, de->d_name, &recs, &n, &cap);
	}
	if (n)
		qsort(recs, n, sizeof(*recs), cmp_mtime);
	for (size_t i = 0; i < n; i++)
		index_add(c, recs[i].hash, recs[i].size, recs[i].mtime_ns);
	return 0;
}

int cas_open(const char *dir, uint64_t max_bytes, struct cas **out)
{
	_cleanup_close_ int dfd = -1;
	struct cas *c;
	int r;

	if (!dir || !*dir)
		return -EINVAL;
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;

	c = xcalloc(1, sizeof(*c));
	c->objfd = c->tmpfd = c->vlog_fd = -1;
	c->dirfd = take_fd(&dfd);
	c->max_bytes = max_bytes;
	c->index = HASHTAB_INIT(index_node_hash);
	c->verified = HASHTAB_INIT(vt_node_hash);
	pthread_mutex_init(&c->lock, NULL);

	r = open_subdir(c->dirfd, "objects");
	if (r < 0)
		goto fail;
	c->objfd = r;
	r = open_subdir(c->dirfd, "tmp");
	if (r < 0)
		goto fail;
	c->tmpfd = r;
	r = clean_tmp(c);
	if (r < 0)
		goto fail;
	/* No log (say DIR is read-only) is no error: every open then hashes. */
	if (vlog_open(c) == 0) {
		vlog_read(c);
		if (c->vlog_end % sizeof(struct verified_rec))
			c->vlog_damaged = true; /* torn by a crash; appends would misalign */
	}
	r = scan_objects(c);
	if (r < 0)
		goto fail;
	/* The cap may have been lowered since the last run. */
	evict_locked(c, NULL);
	vlog_maybe_compact(c);
	*out = c;
	return 0;
fail:
	cas_close(c);
	return r;
}

void cas_close(struct cas *c)
{
	if (!c)
		return;
	for (struct lru_node *u = lru_oldest(&c->lru), *next; u; u = next) {
		next = u->newer;
		free(container_of(u, struct cas_entry, use));
	}
	hashtab_free(&c->index);
	for (struct hashtab_iter it = HASHTAB_ITER(&c->verified); hashtab_iter_next(&it);) {
		struct verified_entry *v = verified_of(it.cur);

		hashtab_iter_remove(&it);
		free(v);
	}
	hashtab_free(&c->verified);
	if (c->vlog_fd >= 0)
		close(c->vlog_fd);
	if (c->dirfd >= 0)
		close(c->dirfd);
	if (c->objfd >= 0)
		close(c->objfd);
	if (c->tmpfd >= 0)
		close(c->tmpfd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
