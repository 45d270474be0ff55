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
 * Locking: one mutex per struct cas guards the index and the counters;
 * eviction unlinks under it, so a thread that finds st_nlink == 0 under the
 * lock knows the blob was evicted and does not re-add it.  Hashing, writing
 * and opening run without it.
 */
#include "cas.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

#define TOUCH_INTERVAL_NS (5LL * 1000000000LL)
#define STALE_TMP_S 3600
#define HASH_CHUNK (256U << 10)
#define INSTALL_TRIES 8
#define INITIAL_BUCKETS 256
/* "ab/" + 62 hex + NUL */
#define BLOB_PATH_LEN (3 + 2 * CAS_HASH_LEN - 2 + 1)

struct cas_entry {
	struct cas_entry *hnext;
	struct cas_entry *prev, *next; /* LRU list: head is least recently used */
	uint64_t size;
	int64_t touched_ns; /* the mtime we last gave the file (or found on it) */
	uint8_t hash[CAS_HASH_LEN];
};

struct cas {
	pthread_mutex_t lock;
	int objfd; /* DIR/objects */
	int tmpfd; /* DIR/tmp */
	uint64_t max_bytes;
	struct cas_entry **buckets;
	size_t nbuckets;
	struct cas_entry *lru_head, *lru_tail;
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

/* ---- the index (caller holds c->lock) ---- */

static size_t bucket_of(const struct cas *c, const uint8_t hash[CAS_HASH_LEN])
{
	uint64_t v;

	memcpy(&v, hash, sizeof(v)); /* SHA-256 output is uniform already */
	return (size_t)(v & (c->nbuckets - 1));
}

static struct cas_entry *index_find(const struct cas *c, const uint8_t hash[CAS_HASH_LEN])
{
	for (struct cas_entry *e = c->buckets[bucket_of(c, hash)]; e; e = e->hnext)
		if (!memcmp(e->hash, hash, CAS_HASH_LEN))
			return e;
	return NULL;
}

static void index_grow(struct cas *c)
{
	struct cas_entry **old = c->buckets;
	size_t n = c->nbuckets;

	c->nbuckets = 2 * n;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	for (size_t i = 0; i < n; i++) {
		struct cas_entry *e = old[i], *next;

		for (; e; e = next) {
			size_t b = bucket_of(c, e->hash);

			next = e->hnext;
			e->hnext = c->buckets[b];
			c->buckets[b] = e;
		}
	}
	free(old);
}

static void lru_unlink(struct cas *c, struct cas_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_append(struct cas *c, struct cas_entry *e)
{
	e->prev = c->lru_tail;
	e->next = NULL;
	if (c->lru_tail)
		c->lru_tail->next = e;
	else
		c->lru_head = e;
	c->lru_tail = e;
}

/* Add a blob the index does not hold, as the most recently used. */
static struct cas_entry *index_add(struct cas *c, const uint8_t hash[CAS_HASH_LEN], uint64_t size,
				   int64_t touched_ns)
{
	struct cas_entry *e = xcalloc(1, sizeof(*e));
	size_t b;

	if (c->st.blobs >= c->nbuckets)
		index_grow(c);
	memcpy(e->hash, hash, CAS_HASH_LEN);
	e->size = size;
	e->touched_ns = touched_ns;
	b = bucket_of(c, hash);
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	lru_append(c, e);
	c->st.blobs++;
	c->st.bytes += size;
	return e;
}

static void index_remove(struct cas *c, struct cas_entry *e)
{
	struct cas_entry **pp = &c->buckets[bucket_of(c, e->hash)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->st.blobs--;
	c->st.bytes -= e->size;
	free(e);
}

/* Remove least recently used blobs until the total is within the cap. */
static void evict_locked(struct cas *c, const struct cas_entry *keep)
{
	struct cas_entry *e = c->lru_head, *next;

	for (; e && c->max_bytes && c->st.bytes > c->max_bytes; e = next) {
		char path[BLOB_PATH_LEN];

		next = e->next;
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

/*
 * FD is open on the blob HASH: record it in the index as just used, count a
 * hit if asked, evict if asked (never this blob) and refresh its mtime.
 * Returns FD, or -errno (FD closed).
 */
static int blob_handed_out(struct cas *c, const uint8_t hash[CAS_HASH_LEN], int fd, bool hit,
			   bool evict)
{
	int64_t now = now_ns();
	struct cas_entry *e;
	bool touch = false;
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
	e = index_find(c, hash);
	if (e && e->size != (uint64_t)st.st_size) {
		/* replaced by a full copy (see install_blob) */
		c->st.bytes = c->st.bytes - e->size + (uint64_t)st.st_size;
		e->size = (uint64_t)st.st_size;
	}
	/* st_nlink == 0: evicted since we opened it; the fd still reads */
	if (!e && st.st_nlink > 0)
		e = index_add(c, hash, (uint64_t)st.st_size, ts_ns(&st.st_mtim));
	if (e) {
		lru_unlink(c, e);
		lru_append(c, e);
		if (now < e->touched_ns || now - e->touched_ns >= TOUCH_INTERVAL_NS) {
			e->touched_ns = now;
			touch = true;
		}
	}
	if (hit)
		c->st.hits++;
	if (evict)
		evict_locked(c, e);
	pthread_mutex_unlock(&c->lock);
	if (touch)
		futimens(fd, NULL); /* best effort: only the order after a restart suffers */
	return fd;
}

int cas_open_blob(struct cas *c, const uint8_t hash[CAS_HASH_LEN])
{
	char path[BLOB_PATH_LEN];
	int fd;

	blob_path(hash, path);
	fd = openat(c->objfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int r = errno == ELOOP ? -ENOENT : -errno;
		struct cas_entry *e;

		pthread_mutex_lock(&c->lock);
		e = index_find(c, hash);
		if (e && r == -ENOENT)
			index_remove(c, e); /* evicted by another process */
		c->st.misses++;
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	return blob_handed_out(c, hash, fd, true, false);
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
 * Returns an O_RDONLY fd on the blob in place (RO_FD itself when ours won).
 */
static int install_blob(struct cas *c, const uint8_t hash[CAS_HASH_LEN], uint64_t size,
			const char *name, int *ro_fd)
{
	char path[BLOB_PATH_LEN];

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
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size == size)
			return take_fd(&fd);
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
	r = install_blob(c, w->hash, w->size, w->name, &ro_fd);
	if (r >= 0)
		r = blob_handed_out(c, w->hash, r, false, true);
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
	c->objfd = c->tmpfd = -1;
	c->max_bytes = max_bytes;
	c->nbuckets = INITIAL_BUCKETS;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	pthread_mutex_init(&c->lock, NULL);

	r = open_subdir(dfd, "objects");
	if (r < 0)
		goto fail;
	c->objfd = r;
	r = open_subdir(dfd, "tmp");
	if (r < 0)
		goto fail;
	c->tmpfd = r;
	r = clean_tmp(c);
	if (r < 0)
		goto fail;
	r = scan_objects(c);
	if (r < 0)
		goto fail;
	/* The cap may have been lowered since the last run. */
	evict_locked(c, NULL);
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
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct cas_entry *e = c->buckets[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			free(e);
		}
	}
	free(c->buckets);
	if (c->objfd >= 0)
		close(c->objfd);
	if (c->tmpfd >= 0)
		close(c->tmpfd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
