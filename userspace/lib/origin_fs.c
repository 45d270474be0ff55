// SPDX-License-Identifier: GPL-2.0-only
/*
 * origin_fs.c - the origin's file service (contract in origin_fs.h).
 *
 * Privileges: everything here runs in mosctl as the invoking user, with no
 * capability; the kernel's permission checks on the user's own credentials
 * decide what may be read or written.  What this file adds is refusal of
 * what the user could do but a remote job must not make the origin do:
 * follow a symlink in the last component, open a FIFO or device, create a
 * set-user-ID or set-group-ID file.
 *
 * Choices the header leaves open, made here:
 *  - Paths: "/" alone is valid; an empty component ("//", a trailing "/")
 *    is -EINVAL, so each path has one spelling and a trailing slash cannot
 *    make the kernel follow a final symlink.  A path of MOS_PATH_MAX bytes
 *    or more is -EINVAL (it would not fit PATH_MAX with its NUL).  A NUL
 *    inside a wire string must be refused by the frame decoder: here the
 *    path is already a C string.
 *  - origin_open and the ops that need a regular file (truncate): a final
 *    symlink is -ELOOP, a directory -EISDIR, a FIFO, socket or device
 *    -EINVAL.  The type is checked with lstat before the open, and the open
 *    adds O_NONBLOCK|O_NOCTTY, so a FIFO swapped in meanwhile cannot hang
 *    the origin's single loop.  A file that changes while it is hashed is
 *    hashed again, three times at most, then -EAGAIN.
 *  - Racily clean files: inode times come from a clock that ticks every few
 *    milliseconds, so a file written again within the tick of its last
 *    change keeps the same (size, mtime, ctime).  A hash is cached only when
 *    the file's ctime is older than the start of the hashing by a margin
 *    (two ticks, at least 20 ms; two seconds on a filesystem without
 *    sub-second times), as git does for its index.  The hash is announced
 *    either way; the worker's cache verifies every blob's hash anyway.
 *  - Mode bits: put_end and chmod drop S_ISUID and S_ISGID (the job runs on
 *    another machine and must not plant set-ID files on the origin); mkdir
 *    keeps mode & 01777.  chmod on a symlink is -EOPNOTSUPP (Linux has no
 *    symlink modes).
 *  - origin_fetch: a hash may have been announced for several paths with
 *    the same content; the most recent ANN_SOURCES_MAX are tried in turn.
 *    The identity is checked before and after the read, so what is served
 *    is the announced content or -ESTALE.  FETCH_FDS open files are kept for
 *    sequential fetches of the same blob.
 *  - rename flags: RENAME_NOREPLACE and RENAME_EXCHANGE; anything else
 *    (RENAME_WHITEOUT) is -EINVAL.
 *  - A put replaces the target by rename: the new file belongs to the user,
 *    and other hard links to the old target keep the old content.
 *
 * Hash cache file (when a path is given): little endian,
 *   "MOSHASHC" | u32 version (1) | u32 count | count x 80-byte records
 *   | SHA-256 of everything before it
 * a record being dev, ino, size, mtime_sec, ctime_sec (8 bytes each),
 * mtime_nsec, ctime_nsec (4 each), sha256 (32), oldest first.  Written at
 * origin_fs_free when it changed, to a temporary file renamed over the old
 * one, without fsync: a file cut short by a crash fails its checksum and is
 * ignored like a missing one.  Two origins saving at once: the last wins.
 */
#include "origin_fs.h"

#include <endian.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <dirent.h>

#include <openssl/evp.h>

#include "log.h"
#include "util.h"

#define HASH_CACHE_MAX 100000U
#define HASH_CACHE_MAGIC "MOSHASHC"
#define HASH_CACHE_VERSION 1U
#define HASH_CACHE_HDR 16U
#define HASH_CACHE_REC 80U
#define ANN_SOURCES_MAX 4U
#define FETCH_FDS 4U
#define HASH_ATTEMPTS 3
#define HASH_BUF (256U << 10)

#if !defined(SYS_fchmodat2) && \
	(defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__riscv))
#define SYS_fchmodat2 452
#endif

/* What must not change for a hash to still describe a file's content. */
struct file_id {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
	int64_t mtime_sec;
	int64_t ctime_sec;
	uint32_t mtime_nsec;
	uint32_t ctime_nsec;
};

struct hc_entry {
	struct file_id id;
	uint8_t sha256[32];
	struct hc_entry *older, *newer; /* age list: evict from the oldest */
};

/* Where an announced hash's content may be read. */
struct ann_source {
	char *path;
	struct file_id id;
	struct ann_source *next;
};

struct announced {
	uint8_t sha256[32];
	struct ann_source *sources; /* most recent first */
};

struct fetch_fd {
	int fd; /* -1: slot free */
	uint8_t sha256[32];
	struct file_id id;
};

struct origin_fs {
	char *cache_path;
	void *hc_root; /* tsearch tree of struct hc_entry, by file_id */
	struct hc_entry *oldest, *newest;
	size_t hc_count;
	bool hc_dirty;
	void *ann_root; /* tsearch tree of struct announced, by hash */
	struct fetch_fd fds[FETCH_FDS];
	unsigned int next_fd_slot;
	int64_t racy_margin_ns;
	struct origin_stats stats;
};

struct origin_put {
	struct origin_fs *o;
	int dirfd;
	int fd;
	uint32_t mode;
	char *tmp_name;
	char *name;
};

static void id_from_stat(const struct stat *st, struct file_id *id)
{
	memset(id, 0, sizeof(*id));
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime_sec = st->st_mtim.tv_sec;
	id->mtime_nsec = st->st_mtim.tv_nsec;
	id->ctime_sec = st->st_ctim.tv_sec;
	id->ctime_nsec = st->st_ctim.tv_nsec;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int id_cmp(const struct file_id *a, const struct file_id *b)
{
	int r;

	if ((r = cmp_u64(a->dev, b->dev)) || (r = cmp_u64(a->ino, b->ino)) ||
	    (r = cmp_u64(a->size, b->size)) ||
	    (r = cmp_u64((uint64_t)a->mtime_sec, (uint64_t)b->mtime_sec)) ||
	    (r = cmp_u64(a->mtime_nsec, b->mtime_nsec)) ||
	    (r = cmp_u64((uint64_t)a->ctime_sec, (uint64_t)b->ctime_sec)))
		return r;
	return cmp_u64(a->ctime_nsec, b->ctime_nsec);
}

static bool id_equal(const struct file_id *a, const struct file_id *b)
{
	return id_cmp(a, b) == 0;
}

static int hc_cmp(const void *a, const void *b)
{
	return id_cmp(&((const struct hc_entry *)a)->id, &((const struct hc_entry *)b)->id);
}

static int ann_cmp(const void *a, const void *b)
{
	return memcmp(((const struct announced *)a)->sha256, ((const struct announced *)b)->sha256,
		      32);
}

static void noop_free(void *p)
{
	(void)p;
}

int origin_path_check(const char *path)
{
	size_t len;
	const char *c;

	if (!path)
		return -EINVAL;
	len = strnlen(path, MOS_PATH_MAX);
	if (len == 0 || len >= MOS_PATH_MAX || path[0] != '/')
		return -EINVAL;
	if (len == 1)
		return 0;
	for (c = path + 1;; c++) {
		const char *end = strchrnul(c, '/');
		size_t n = end - c;

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
		if (!*end)
			return 0;
		c = end;
	}
}

/* The kernel's 32-bit device encoding (new_encode_dev), as FUSE carries it. */
static uint32_t encode_dev(dev_t dev)
{
	uint32_t ma = major(dev), mi = minor(dev);

	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffU) << 12);
}

void origin_attr_from_stat(const struct stat *st, struct mos_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = st->st_size;
	a->blocks = st->st_blocks;
	a->atime_sec = st->st_atim.tv_sec;
	a->atime_nsec = st->st_atim.tv_nsec;
	a->mtime_sec = st->st_mtim.tv_sec;
	a->mtime_nsec = st->st_mtim.tv_nsec;
	a->ctime_sec = st->st_ctim.tv_sec;
	a->ctime_nsec = st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->nlink = st->st_nlink > UINT32_MAX ? UINT32_MAX : (uint32_t)st->st_nlink;
	a->rdev = encode_dev(st->st_rdev);
}

/* 0 for a regular file, else the errno origin_open reports for its type. */
static int require_regular(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return 0;
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	return -EINVAL;
}

static int readlink_alloc(int dirfd, const char *name, size_t hint, char **out)
{
	size_t size = hint + 1 < 64 ? 64 : hint + 1;

	for (;;) {
		_cleanup_free_ char *buf = xmalloc(size);
		ssize_t r = readlinkat(dirfd, name, buf, size);

		if (r < 0)
			return -errno;
		if ((size_t)r < size) {
			buf[r] = '\0';
			*out = steal_pointer(&buf);
			return 0;
		}
		if (size > 16 * MOS_PATH_MAX)
			return -ENAMETOOLONG;
		size *= 2;
	}
}

/* --- hash cache --------------------------------------------------------- */

static void hc_unlink_age(struct origin_fs *o, struct hc_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		o->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		o->newest = e->older;
	e->older = e->newer = NULL;
}

static void hc_push_newest(struct origin_fs *o, struct hc_entry *e)
{
	e->older = o->newest;
	e->newer = NULL;
	if (o->newest)
		o->newest->newer = e;
	else
		o->oldest = e;
	o->newest = e;
}

static struct hc_entry *hc_lookup(struct origin_fs *o, const struct file_id *id)
{
	struct hc_entry key = { .id = *id };
	void *node = tfind(&key, &o->hc_root, hc_cmp);
	struct hc_entry *e;

	if (!node)
		return NULL;
	e = *(struct hc_entry **)node;
	hc_unlink_age(o, e);
	hc_push_newest(o, e);
	return e;
}

static void hc_insert(struct origin_fs *o, const struct file_id *id, const uint8_t sha256[32])
{
	struct hc_entry *e = xcalloc(1, sizeof(*e));
	void *node;

	e->id = *id;
	memcpy(e->sha256, sha256, 32);
	node = tsearch(e, &o->hc_root, hc_cmp);
	if (!node) {
		free(e); /* out of memory: stay uncached */
		return;
	}
	if (*(struct hc_entry **)node != e) {
		struct hc_entry *old = *(struct hc_entry **)node;

		free(e);
		if (!memcmp(old->sha256, sha256, 32))
			return;
		memcpy(old->sha256, sha256, 32);
		o->hc_dirty = true;
		return;
	}
	hc_push_newest(o, e);
	o->hc_count++;
	o->hc_dirty = true;
	while (o->hc_count > HASH_CACHE_MAX) {
		struct hc_entry *victim = o->oldest;

		hc_unlink_age(o, victim);
		tdelete(victim, &o->hc_root, hc_cmp);
		free(victim);
		o->hc_count--;
	}
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static int sha256_buf(const void *buf, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	if (!EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) || n != 32)
		return -EIO;
	return 0;
}

/* Load the cache file; a missing, unreadable or corrupt one leaves it empty. */
static void hc_load(struct origin_fs *o)
{
	_cleanup_close_ int fd = open(o->cache_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t sum[32];
	struct stat st;
	uint32_t count;
	size_t len;

	if (fd < 0) {
		if (errno != ENOENT)
			mos_info("hash cache %s: cannot open: %s; starting empty", o->cache_path,
				 strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)(HASH_CACHE_HDR + (uint64_t)HASH_CACHE_MAX * HASH_CACHE_REC + 32) ||
	    st.st_size < (off_t)(HASH_CACHE_HDR + 32))
		goto corrupt;
	len = st.st_size;
	buf = xmalloc(len);
	if (read_full(fd, buf, len) != (ssize_t)len)
		goto corrupt;
	if (memcmp(buf, HASH_CACHE_MAGIC, 8) || get_le32(buf + 8) != HASH_CACHE_VERSION)
		goto corrupt;
	count = get_le32(buf + 12);
	if (count > HASH_CACHE_MAX || len != HASH_CACHE_HDR + (size_t)count * HASH_CACHE_REC + 32)
		goto corrupt;
	if (sha256_buf(buf, len - 32, sum) || memcmp(sum, buf + len - 32, 32))
		goto corrupt;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *r = buf + HASH_CACHE_HDR + (size_t)i * HASH_CACHE_REC;
		struct file_id id = {
			.dev = get_le64(r),
			.ino = get_le64(r + 8),
			.size = get_le64(r + 16),
			.mtime_sec = (int64_t)get_le64(r + 24),
			.ctime_sec = (int64_t)get_le64(r + 32),
			.mtime_nsec = get_le32(r + 40),
			.ctime_nsec = get_le32(r + 44),
		};

		hc_insert(o, &id, r + 48);
	}
	o->hc_dirty = false;
	return;
corrupt:
	mos_info("hash cache %s is not a valid version %u cache; starting empty", o->cache_path,
		 HASH_CACHE_VERSION);
}

static int hc_save(struct origin_fs *o)
{
	size_t len = HASH_CACHE_HDR + o->hc_count * HASH_CACHE_REC + 32;
	_cleanup_free_ uint8_t *buf = xcalloc(1, len);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t *r = buf + HASH_CACHE_HDR;
	int err;

	memcpy(buf, HASH_CACHE_MAGIC, 8);
	put_le32(buf + 8, HASH_CACHE_VERSION);
	put_le32(buf + 12, o->hc_count);
	for (struct hc_entry *e = o->oldest; e; e = e->newer, r += HASH_CACHE_REC) {
		put_le64(r, e->id.dev);
		put_le64(r + 8, e->id.ino);
		put_le64(r + 16, e->id.size);
		put_le64(r + 24, (uint64_t)e->id.mtime_sec);
		put_le64(r + 32, (uint64_t)e->id.ctime_sec);
		put_le32(r + 40, e->id.mtime_nsec);
		put_le32(r + 44, e->id.ctime_nsec);
		memcpy(r + 48, e->sha256, 32);
	}
	err = sha256_buf(buf, len - 32, buf + len - 32);
	if (err)
		return err;

	if (asprintf(&tmp, "%s.XXXXXX", o->cache_path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, len);
	if (!err && close(take_fd(&fd)) < 0)
		err = -errno;
	if (!err && rename(tmp, o->cache_path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* --- announced hashes and fetch ----------------------------------------- */

static struct announced *ann_find(struct origin_fs *o, const uint8_t sha256[32])
{
	struct announced key;
	void *node;

	memcpy(key.sha256, sha256, 32);
	node = tfind(&key, &o->ann_root, ann_cmp);
	return node ? *(struct announced **)node : NULL;
}

static void ann_source_free(struct ann_source *s)
{
	free(s->path);
	free(s);
}

static void announced_free(void *p)
{
	struct announced *a = p;

	while (a->sources) {
		struct ann_source *s = a->sources;

		a->sources = s->next;
		ann_source_free(s);
	}
	free(a);
}

static void announce(struct origin_fs *o, const uint8_t sha256[32], const char *path,
		     const struct file_id *id)
{
	struct announced *a = ann_find(o, sha256);
	struct ann_source *s = NULL, **pp;
	unsigned int n;

	if (!a) {
		a = xcalloc(1, sizeof(*a));
		memcpy(a->sha256, sha256, 32);
		if (!tsearch(a, &o->ann_root, ann_cmp)) {
			free(a);
			return; /* out of memory: fetch will say -ENOENT */
		}
	}
	for (pp = &a->sources; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->path, path)) {
			s = *pp;
			*pp = s->next;
			break;
		}
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->path = xstrdup(path);
	}
	s->id = *id;
	s->next = a->sources;
	a->sources = s;
	for (n = 1, pp = &s->next; *pp; n++) {
		if (n < ANN_SOURCES_MAX) {
			pp = &(*pp)->next;
			continue;
		}
		s = *pp;
		*pp = s->next;
		ann_source_free(s);
	}
}

/* Open PATH for reading if it is still the regular file ID; -ESTALE if not. */
static int open_if_unchanged(const char *path, const struct file_id *id)
{
	_cleanup_close_ int fd = -1;
	struct file_id now;
	struct stat st;

	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ESTALE : -errno;
	id_from_stat(&st, &now);
	if (!S_ISREG(st.st_mode) || !id_equal(&now, id))
		return -ESTALE;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? -ESTALE : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	id_from_stat(&st, &now);
	if (!S_ISREG(st.st_mode) || !id_equal(&now, id))
		return -ESTALE;
	return take_fd(&fd);
}

static bool fd_unchanged(int fd, const struct file_id *id)
{
	struct file_id now;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	id_from_stat(&st, &now);
	return id_equal(&now, id);
}

static void fetch_fd_drop(struct fetch_fd *f)
{
	closep(&f->fd);
	f->fd = -1;
}

/* An open fd on A's content (owned by a slot of o->fds), or -errno. */
static struct fetch_fd *fetch_fd_get(struct origin_fs *o, struct announced *a, int *err)
{
	struct ann_source **pp = &a->sources;
	struct fetch_fd *f;
	int fd = -ESTALE;

	for (unsigned int i = 0; i < FETCH_FDS; i++) {
		f = &o->fds[i];
		if (f->fd < 0 || memcmp(f->sha256, a->sha256, 32))
			continue;
		if (fd_unchanged(f->fd, &f->id))
			return f;
		fetch_fd_drop(f);
	}
	*err = -ESTALE;
	while (*pp) {
		struct ann_source *s = *pp;

		fd = open_if_unchanged(s->path, &s->id);
		if (fd >= 0)
			break;
		if (fd == -ESTALE) {
			/* A changed file never gets this identity back. */
			*pp = s->next;
			ann_source_free(s);
			continue;
		}
		*err = fd;
		pp = &s->next;
	}
	if (fd < 0)
		return NULL;
	f = &o->fds[o->next_fd_slot];
	o->next_fd_slot = (o->next_fd_slot + 1) % FETCH_FDS;
	fetch_fd_drop(f);
	f->fd = fd;
	memcpy(f->sha256, a->sha256, 32);
	f->id = (*pp)->id;
	return f;
}

ssize_t origin_fetch(struct origin_fs *o, const uint8_t sha256[32], uint64_t offset, void *buf,
		     size_t len)
{
	struct announced *a = ann_find(o, sha256);
	struct fetch_fd *f;
	size_t done = 0;
	int err = 0;

	if (!a)
		return -ENOENT;
	if (offset > INT64_MAX)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	f = fetch_fd_get(o, a, &err);
	if (!f)
		return err;
	while (done < len && offset + done <= INT64_MAX) {
		ssize_t r = pread(f->fd, (char *)buf + done, len - done, offset + done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += r;
	}
	/* Written to while read: what was read may not be the announced content. */
	if (!fd_unchanged(f->fd, &f->id)) {
		fetch_fd_drop(f);
		return -ESTALE;
	}
	o->stats.bytes_served += done;
	return done;
}

/* --- open ---------------------------------------------------------------- */

static int hash_fd(int fd, uint8_t out[32])
{
	_cleanup_free_ uint8_t *buf = xmalloc(HASH_BUF);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t off = 0;
	unsigned int n = 0;
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err = -EIO;
		goto out;
	}
	for (;;) {
		ssize_t r = pread(fd, buf, HASH_BUF, off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, r)) {
			err = -EIO;
			goto out;
		}
		off += r;
	}
	if (!EVP_DigestFinal_ex(ctx, out, &n) || n != 32)
		err = -EIO;
out:
	EVP_MD_CTX_free(ctx);
	return err;
}

/* Could the file be written again without its ctime changing? */
static bool id_is_racy(const struct origin_fs *o, const struct file_id *id,
		       const struct timespec *hash_start)
{
	int64_t margin = o->racy_margin_ns;
	int64_t dsec, dns;

	if (id->mtime_nsec == 0 && id->ctime_nsec == 0)
		margin = 2000000000; /* whole-second timestamps */
	dsec = hash_start->tv_sec - id->ctime_sec;
	dns = hash_start->tv_nsec - (int64_t)id->ctime_nsec;
	if (dsec > margin / 1000000000 + 1)
		return false;
	if (dsec < -1)
		return true;
	return dsec * 1000000000 + dns <= margin;
}

int origin_open(struct origin_fs *o, const char *path, struct mos_attr *a, uint8_t sha256[32])
{
	_cleanup_close_ int fd = -1;
	struct file_id id, after;
	struct stat st;
	int err;

	err = origin_path_check(path);
	if (err)
		return err;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	err = require_regular(&st);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (int attempt = 1;; attempt++) {
		struct hc_entry *e;
		struct timespec start;

		if (fstat(fd, &st) < 0)
			return -errno;
		err = require_regular(&st);
		if (err)
			return err;
		id_from_stat(&st, &id);
		e = hc_lookup(o, &id);
		if (e) {
			memcpy(sha256, e->sha256, 32);
			o->stats.hash_cache_hits++;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &start);
		err = hash_fd(fd, sha256);
		if (err)
			return err;
		o->stats.files_hashed++;
		if (fstat(fd, &st) < 0)
			return -errno;
		id_from_stat(&st, &after);
		if (id_equal(&id, &after)) {
			if (!id_is_racy(o, &id, &start))
				hc_insert(o, &id, sha256);
			break;
		}
		if (attempt == HASH_ATTEMPTS)
			return -EAGAIN;
	}
	origin_attr_from_stat(&st, a);
	announce(o, sha256, path, &id);
	return 0;
}

/* --- lifetime ------------------------------------------------------------ */

int origin_fs_new(const char *hash_cache_path, struct origin_fs **out)
{
	struct origin_fs *o = xcalloc(1, sizeof(*o));
	struct timespec res = { 0 };

	for (unsigned int i = 0; i < FETCH_FDS; i++)
		o->fds[i].fd = -1;
	o->racy_margin_ns = 20000000;
	if (!clock_getres(CLOCK_REALTIME_COARSE, &res) && res.tv_sec == 0 &&
	    2 * res.tv_nsec > o->racy_margin_ns)
		o->racy_margin_ns = 2 * res.tv_nsec;
	if (hash_cache_path) {
		o->cache_path = xstrdup(hash_cache_path);
		hc_load(o);
	}
	*out = o;
	return 0;
}

void origin_fs_free(struct origin_fs *o)
{
	if (!o)
		return;
	if (o->cache_path && o->hc_dirty) {
		int err = hc_save(o);

		if (err)
			mos_warn("cannot save the hash cache %s: %s; unchanged files will be "
				 "hashed again next time",
				 o->cache_path, strerror(-err));
	}
	for (unsigned int i = 0; i < FETCH_FDS; i++)
		fetch_fd_drop(&o->fds[i]);
	tdestroy(o->ann_root, announced_free);
	tdestroy(o->hc_root, noop_free);
	while (o->oldest) {
		struct hc_entry *e = o->oldest;

		o->oldest = e->newer;
		free(e);
	}
	free(o->cache_path);
	free(o);
}

void origin_fs_get_stats(const struct origin_fs *o, struct origin_stats *out)
{
	*out = o->stats;
}

/* --- reading the tree ---------------------------------------------------- */

void origin_dirents_free(struct origin_dirent *ents, size_t n)
{
	if (!ents)
		return;
	for (size_t i = 0; i < n; i++) {
		free(ents[i].name);
		free(ents[i].link);
	}
	free(ents);
}

int origin_listdir(struct origin_fs *o, const char *path, struct mos_attr *dir,
		   struct origin_dirent **ents, size_t *n)
{
	struct origin_dirent *v = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, err;

	(void)o;
	*ents = NULL;
	*n = 0;
	err = origin_path_check(path);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	origin_attr_from_stat(&st, dir);
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	for (;;) {
		char *link = NULL;

		errno = 0;
		de = readdir(d);
		if (!de) {
			err = -errno;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue; /* removed since readdir */
			err = -errno;
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			err = readlink_alloc(dirfd(d), de->d_name, st.st_size, &link);
			if (err == -ENOENT || err == -EINVAL) {
				err = 0; /* removed or replaced since fstatat */
				continue;
			}
			if (err)
				break;
		}
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[count].name = xstrdup(de->d_name);
		origin_attr_from_stat(&st, &v[count].attr);
		v[count].link = link;
		count++;
	}
	closedir(d);
	if (err) {
		origin_dirents_free(v, count);
		return err;
	}
	*ents = v;
	*n = count;
	return 0;
}

int origin_stat(struct origin_fs *o, const char *path, struct mos_attr *a, char **link)
{
	struct stat st;
	int err;

	(void)o;
	if (link)
		*link = NULL;
	err = origin_path_check(path);
	if (err)
		return err;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode) && link) {
		err = readlink_alloc(AT_FDCWD, path, st.st_size, link);
		if (err)
			return err;
	}
	origin_attr_from_stat(&st, a);
	return 0;
}

/* --- writing: put -------------------------------------------------------- */

static void put_free(struct origin_put *p)
{
	closep(&p->fd);
	closep(&p->dirfd);
	free(p->tmp_name);
	free(p->name);
	free(p);
}

int origin_put_begin(struct origin_fs *o, const char *path, uint32_t mode, struct origin_put **out)
{
	static const char alnum[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	_cleanup_free_ char *dir = NULL;
	struct origin_put *p;
	const char *slash;
	size_t name_len, x;
	int err;

	*out = NULL;
	err = origin_path_check(path);
	if (err)
		return err;
	slash = strrchr(path, '/');
	if (!slash[1])
		return -EISDIR; /* "/" */
	dir = slash == path ? xstrdup("/") : xstrndup(path, slash - path);

	p = xcalloc(1, sizeof(*p));
	p->o = o;
	p->fd = -1;
	p->mode = mode;
	p->name = xstrdup(slash + 1);
	p->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		err = -errno;
		put_free(p);
		return err;
	}
	/* ".NAME.mos-XXXXXX", NAME cut so that it fits NAME_MAX. */
	name_len = strlen(p->name);
	if (name_len > MOS_NAME_MAX - 12)
		name_len = MOS_NAME_MAX - 12;
	if (asprintf(&p->tmp_name, ".%.*s.mos-XXXXXX", (int)name_len, p->name) < 0) {
		p->tmp_name = NULL;
		put_free(p);
		return -ENOMEM;
	}
	x = strlen(p->tmp_name) - 6;
	for (int tries = 0; tries < 100; tries++) {
		uint8_t rnd[6];

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
			err = -EIO;
			break;
		}
		for (size_t i = 0; i < 6; i++)
			p->tmp_name[x + i] = alnum[rnd[i] % (sizeof(alnum) - 1)];
		p->fd = openat(p->dirfd, p->tmp_name,
			       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			       0600);
		if (p->fd >= 0 || errno != EEXIST) {
			err = p->fd < 0 ? -errno : 0;
			break;
		}
		err = -EEXIST;
	}
	if (err) {
		put_free(p);
		return err;
	}
	*out = p;
	return 0;
}

int origin_put_write(struct origin_put *p, uint64_t offset, const void *data, size_t len)
{
	size_t done = 0;

	if (offset > INT64_MAX || len > (uint64_t)INT64_MAX - offset)
		return -EFBIG;
	while (done < len) {
		ssize_t r = pwrite(p->fd, (const char *)data + done, len - done, offset + done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		done += r;
	}
	p->o->stats.bytes_written += len;
	return 0;
}

int origin_put_end(struct origin_put *p, int64_t mtime_sec, uint32_t mtime_nsec)
{
	struct timespec ts[2] = {
		{ .tv_sec = 0, .tv_nsec = UTIME_OMIT },
		{ .tv_sec = mtime_sec, .tv_nsec = mtime_nsec },
	};
	int err = 0;

	if (fchmod(p->fd, p->mode & 07777 & ~(S_ISUID | S_ISGID)) < 0)
		err = -errno;
	else if (futimens(p->fd, ts) < 0)
		err = -errno;
	else if (close(take_fd(&p->fd)) < 0) /* NFS reports write errors here */
		err = -errno;
	else if (renameat(p->dirfd, p->tmp_name, p->dirfd, p->name) < 0)
		err = -errno;
	if (err)
		unlinkat(p->dirfd, p->tmp_name, 0);
	put_free(p);
	return err;
}

void origin_put_abort(struct origin_put *p)
{
	if (!p)
		return;
	unlinkat(p->dirfd, p->tmp_name, 0);
	put_free(p);
}

/* --- writing: namespace operations --------------------------------------- */

int origin_mkdir(struct origin_fs *o, const char *path, uint32_t mode)
{
	int err = origin_path_check(path);

	(void)o;
	if (err)
		return err;
	return mkdirat(AT_FDCWD, path, mode & 01777) < 0 ? -errno : 0;
}

int origin_unlink(struct origin_fs *o, const char *path)
{
	int err = origin_path_check(path);

	(void)o;
	if (err)
		return err;
	return unlinkat(AT_FDCWD, path, 0) < 0 ? -errno : 0;
}

int origin_rmdir(struct origin_fs *o, const char *path)
{
	int err = origin_path_check(path);

	(void)o;
	if (err)
		return err;
	return unlinkat(AT_FDCWD, path, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int origin_rename(struct origin_fs *o, const char *from, const char *to, uint32_t flags)
{
	int err;

	(void)o;
	if ((err = origin_path_check(from)) || (err = origin_path_check(to)))
		return err;
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	return renameat2(AT_FDCWD, from, AT_FDCWD, to, flags) < 0 ? -errno : 0;
}

int origin_symlink(struct origin_fs *o, const char *target, const char *path)
{
	int err;

	(void)o;
	err = origin_path_check(path);
	if (err)
		return err;
	if (!target || !target[0] || strnlen(target, MOS_PATH_MAX) >= MOS_PATH_MAX)
		return -EINVAL;
	return symlinkat(target, AT_FDCWD, path) < 0 ? -errno : 0;
}

int origin_link(struct origin_fs *o, const char *from, const char *to)
{
	int err;

	(void)o;
	if ((err = origin_path_check(from)) || (err = origin_path_check(to)))
		return err;
	/* flags 0: a symlink FROM is linked itself, not its target */
	return linkat(AT_FDCWD, from, AT_FDCWD, to, 0) < 0 ? -errno : 0;
}

int origin_chmod(struct origin_fs *o, const char *path, uint32_t mode)
{
	mode_t m = mode & 07777 & ~(S_ISUID | S_ISGID);
	struct stat st;
	int err;

	(void)o;
	err = origin_path_check(path);
	if (err)
		return err;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -EOPNOTSUPP;
#ifdef SYS_fchmodat2
	if (syscall(SYS_fchmodat2, AT_FDCWD, path, m, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
#endif
	/* glibc < 2.39 emulates this through O_PATH and /proc/self/fd */
	return fchmodat(AT_FDCWD, path, m, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int origin_truncate(struct origin_fs *o, const char *path, uint64_t size)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int err;

	(void)o;
	err = origin_path_check(path);
	if (err)
		return err;
	if (size > INT64_MAX)
		return -EFBIG;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	err = require_regular(&st);
	if (err)
		return err;
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	err = require_regular(&st);
	if (err)
		return err;
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

int origin_utimens(struct origin_fs *o, const char *path, const struct timespec times[2])
{
	int err = origin_path_check(path);

	(void)o;
	if (err)
		return err;
	return utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}
