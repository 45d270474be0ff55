// SPDX-License-Identifier: GPL-2.0-only
/*
 * origin_fs.c - the origin's file service (contract in origin_fs.h).
 *
 * Privileges: everything here runs in mosctl as the invoking user, with no
 * capability; the kernel's permission checks on the user's own credentials
 * decide what may be read or written.  What this file adds is refusal of
 * what the user could do but a remote job must not make the origin do:
 * follow a symlink (in any component), open a FIFO or device, create a
 * set-user-ID or set-group-ID file, leave a temporary file behind.
 *
 * Why no symlink at all: the caller judged the path's text (origin_scope),
 * and jobs of several origins, or several jobs of one (make -j), change the
 * same trees at once: one of them can swap a directory of the tree with a
 * symlink to anywhere between another's check and use.  Resolving with
 * RESOLVE_NO_SYMLINKS makes the object reached the one the text names at
 * the moment of the resolution, and everything after acts on the fd.
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
 *    the file service.  A file that changes while it is hashed is
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
 *    and other hard links to the old target keep the old content.  The
 *    O_TMPFILE is linked in through /proc/self/fd (linkat AT_EMPTY_PATH
 *    needs CAP_DAC_READ_SEARCH): straight under the target's name when
 *    there is none, else under a temporary name (journaled) renamed over
 *    it.  Without /proc, or where the filesystem refuses O_TMPFILE
 *    (EOPNOTSUPP; EISDIR from kernels before 3.11), the named temporary.
 *  - Sizes: a declared size above the maximum file size is refused at
 *    put_begin, data beyond the declared size (or the maximum) at put_write,
 *    both -EFBIG; the check comes first, so the origin never gets SIGXFSZ.
 *  - Put journal records, one per named temporary, written before it is
 *    made: "DEV INO NAMELEN PATHLEN\n" (decimal; the directory's st_dev and
 *    st_ino), the temporary's name, then the directory's absolute path,
 *    then "\n".  A record cut short (a crash while writing it) is ignored.
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
#include "watch.h"

#include <endian.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <dirent.h>

#include <linux/openat2.h>

#include <openssl/evp.h>

#include "hashtab.h"
#include "log.h"
#include "strmap.h"
#include "util.h"

#define HASH_CACHE_MAX 100000U
#define HASH_CACHE_MAGIC "MOSHASHC"
#define HASH_CACHE_VERSION 2U
#define HASH_CACHE_HDR 16U
#define HASH_CACHE_REC 80U
#define HASH_CACHE_SUM 8U /* the trailer: SipHash-2-4 of the rest, fixed key */
#define ANN_SOURCES_MAX 4U
#define FETCH_FDS 4U
#define HASH_ATTEMPTS 3
#define HASH_BUF (256U << 10)
/* fds held for pinned trees, at most: with ORIGIN_MAX_PUTS puts (two fds
 * each) they stay well within the usual 1024 open files */
#define PINNED_TREES_MAX 64U

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
/* hashed as bytes: no padding that could differ between equal ids */
_Static_assert(sizeof(struct file_id) == 48, "struct file_id has no padding");

struct hc_entry {
	struct hashtab_node node; /* in o->hc */
	struct lru_node age;	  /* in o->hc_age: evict from the oldest */
	struct file_id id;
	uint8_t sha256[32];
};

/* Where an announced hash's content may be read. */
struct ann_source {
	char *path;
	struct file_id id;
	struct ann_source *next;
};

struct announced {
	struct hashtab_node node; /* in o->ann */
	uint8_t sha256[32];
	struct ann_source *sources; /* most recent first */
};

struct fetch_fd {
	int fd; /* -1: slot free */
	uint8_t sha256[32];
	struct file_id id;
};

/* A granted tree, opened once: paths beneath it resolve beneath its fd. */
struct pinned_tree {
	char *path;
	size_t len;
	int fd; /* O_PATH */
};

struct origin_fs {
	int root_fd; /* O_PATH of "/" */
	struct pinned_tree *trees;
	size_t ntrees;
	unsigned int quirks;
	bool no_openat2;       /* the kernel (or a seccomp filter) said ENOSYS */
	bool tmpfile_linkable; /* /proc/self/fd is there to link an O_TMPFILE */
	uint64_t max_file_size;
	int journal_dirfd; /* the put journal's directory, or -1 */
	int journal_fd;	   /* this origin's journal (locked), or -1 until needed */
	char *journal_name;
	char *cache_path;
	struct hashtab hc; /* struct hc_entry, by file_id: at most HASH_CACHE_MAX */
	struct lru hc_age; /* the same, least recently used first */
	bool hc_dirty;
	struct hashtab ann; /* struct announced, by hash */
	struct fetch_fd fds[FETCH_FDS];
	unsigned int next_fd_slot;
	int64_t racy_margin_ns;
	const atomic_bool *cancel; /* origin_fs_set_cancel */
	struct watch_set *watch;   /* origin_fs_set_watch, or NULL */
	atomic_ulong watch_failures;
	struct origin_stats stats;
};

struct origin_put {
	struct origin_fs *o;
	int dirfd; /* the target's directory (O_PATH), resolved once */
	int fd;
	uint32_t mode;
	bool sized;	/* SIZE was declared: data beyond it is refused */
	bool warned;	/* the -EFBIG of a put_write was reported */
	uint64_t limit; /* the declared size, else the maximum file size */
	char *tmp_name; /* the named temporary, if any (NULL: unnamed O_TMPFILE) */
	char *name;
	char *path;
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

static bool id_equal(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec;
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

/*
 * By file_id, hashed with the process's SipHash key: a job can choose sizes
 * and times of the files it writes (and so the ids the origin hashes), and
 * must not be able to line them up in one chain.
 */
static uint64_t id_hash(const struct file_id *id)
{
	return siphash_keyed(id, sizeof(*id));
}

static struct hc_entry *hc_entry_of(const struct hashtab_node *n)
{
	return container_of(n, struct hc_entry, node);
}

static uint64_t hc_node_hash(const struct hashtab_node *n)
{
	return id_hash(&hc_entry_of(n)->id);
}

static bool hc_eq(const struct hashtab_node *n, const void *id)
{
	return id_equal(&hc_entry_of(n)->id, id);
}

static struct hc_entry *hc_find(const struct origin_fs *o, const struct file_id *id)
{
	struct hashtab_node *n = hashtab_find(&o->hc, id_hash(id), hc_eq, id);

	return n ? hc_entry_of(n) : NULL;
}

static struct hc_entry *hc_lookup(struct origin_fs *o, const struct file_id *id)
{
	struct hc_entry *e = hc_find(o, id);

	if (e)
		lru_touch(&o->hc_age, &e->age);
	return e;
}

static void hc_insert(struct origin_fs *o, const struct file_id *id, const uint8_t sha256[32])
{
	struct hc_entry *e = hc_find(o, id);

	if (e) {
		if (!memcmp(e->sha256, sha256, 32))
			return;
		memcpy(e->sha256, sha256, 32);
		o->hc_dirty = true;
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->id = *id;
	memcpy(e->sha256, sha256, 32);
	hashtab_add(&o->hc, &e->node, id_hash(id));
	lru_add_newest(&o->hc_age, &e->age);
	o->hc_dirty = true;
	while (o->hc.n > HASH_CACHE_MAX) {
		struct hc_entry *victim =
			container_of(lru_oldest(&o->hc_age), struct hc_entry, age);

		lru_del(&o->hc_age, &victim->age);
		hashtab_remove(&o->hc, &victim->node);
		free(victim);
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

/*
 * The cache file's checksum.  It catches a torn or truncated file, not an
 * attacker (whoever can write ~/.cache can write anything the user can),
 * and it is no SHA-256 so that a job whose files are all in the cache
 * never loads libcrypto (a third of a warm mosctl's CPU time).
 */
static void hc_sum(const uint8_t *buf, size_t len, uint8_t out[HASH_CACHE_SUM])
{
	static const uint8_t key[16] = "mosingar-hashes";

	put_le64(out, siphash24(buf, len, key));
}

/* Load the cache file; a missing, unreadable or corrupt one leaves it empty. */
static void hc_load(struct origin_fs *o)
{
	_cleanup_close_ int fd = open(o->cache_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t sum[HASH_CACHE_SUM];
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
	    st.st_size > (off_t)(HASH_CACHE_HDR + (uint64_t)HASH_CACHE_MAX * HASH_CACHE_REC +
				 HASH_CACHE_SUM) ||
	    st.st_size < (off_t)(HASH_CACHE_HDR + HASH_CACHE_SUM))
		goto corrupt;
	len = st.st_size;
	buf = xmalloc(len);
	if (read_full(fd, buf, len) != (ssize_t)len)
		goto corrupt;
	if (memcmp(buf, HASH_CACHE_MAGIC, 8) || get_le32(buf + 8) != HASH_CACHE_VERSION)
		goto corrupt;
	count = get_le32(buf + 12);
	if (count > HASH_CACHE_MAX ||
	    len != HASH_CACHE_HDR + (size_t)count * HASH_CACHE_REC + HASH_CACHE_SUM)
		goto corrupt;
	hc_sum(buf, len - HASH_CACHE_SUM, sum);
	if (memcmp(sum, buf + len - HASH_CACHE_SUM, HASH_CACHE_SUM))
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
	size_t len = HASH_CACHE_HDR + o->hc.n * HASH_CACHE_REC + HASH_CACHE_SUM;
	_cleanup_free_ uint8_t *buf = xcalloc(1, len);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	uint8_t *r = buf + HASH_CACHE_HDR;
	int err;

	memcpy(buf, HASH_CACHE_MAGIC, 8);
	put_le32(buf + 8, HASH_CACHE_VERSION);
	put_le32(buf + 12, (uint32_t)o->hc.n);
	for (struct lru_node *u = lru_oldest(&o->hc_age); u; u = u->newer, r += HASH_CACHE_REC) {
		const struct hc_entry *e = container_of(u, struct hc_entry, age);

		put_le64(r, e->id.dev);
		put_le64(r + 8, e->id.ino);
		put_le64(r + 16, e->id.size);
		put_le64(r + 24, (uint64_t)e->id.mtime_sec);
		put_le64(r + 32, (uint64_t)e->id.ctime_sec);
		put_le32(r + 40, e->id.mtime_nsec);
		put_le32(r + 44, e->id.ctime_nsec);
		memcpy(r + 48, e->sha256, 32);
	}
	hc_sum(buf, len - HASH_CACHE_SUM, buf + len - HASH_CACHE_SUM);
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

/* The job is being ended (origin_fs_set_cancel): stop what is under way. */
static bool cancelled(const struct origin_fs *o)
{
	return o->cancel && atomic_load(o->cancel);
}

/* --- resolution: no symlink, from a directory fd ------------------------- */

static const struct pinned_tree *tree_of(const struct origin_fs *o, const char *path, size_t len)
{
	const struct pinned_tree *best = NULL;

	for (size_t i = 0; i < o->ntrees; i++) {
		const struct pinned_tree *t = &o->trees[i];

		if (t->len <= len && !memcmp(path, t->path, t->len) &&
		    (len == t->len || path[t->len] == '/') && (!best || t->len > best->len))
			best = t;
	}
	return best;
}

static int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)flags, .resolve = resolve };
	long r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return r < 0 ? -errno : (int)r;
}

/*
 * Without openat2: REST (LEN bytes, no empty, "." or ".." component) from
 * BASE one component at a time, each opened with O_NOFOLLOW, so a symlink
 * anywhere ends the walk (-ELOOP).  ".." never appears, so nothing climbs
 * out of BASE.
 */
static int walk_nofollow(int base, const char *rest, size_t len, int flags)
{
	_cleanup_close_ int cur = -1;
	char name[MOS_NAME_MAX + 1];
	int at = base;
	size_t i = 0;

	if (!len) {
		int fd = openat(base, ".", flags);

		return fd < 0 ? -errno : fd;
	}
	for (;;) {
		const char *c = rest + i;
		const char *end = memchr(c, '/', len - i);
		size_t n = end ? (size_t)(end - c) : len - i;
		struct stat st;
		int fd;

		if (n > MOS_NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, c, n);
		name[n] = '\0';
		fd = openat(at, name,
			    (end ? O_PATH | O_DIRECTORY | O_CLOEXEC : flags) | O_NOFOLLOW);
		if (fd < 0) {
			int e = errno;

			/* O_NOFOLLOW|O_DIRECTORY on a symlink: ENOTDIR (ELOOP without O_PATH) */
			if ((e == ENOTDIR || e == ELOOP) &&
			    fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				return -ELOOP;
			return -e;
		}
		closep(&cur);
		cur = fd;
		at = cur;
		if (!end)
			return take_fd(&cur);
		i += n + 1;
	}
}

/*
 * The directory PATH[0..LEN) (absolute, checked; LEN 1 for "/") opened with
 * FLAGS | O_DIRECTORY, following no symlink in any component, its own name
 * included: from the deepest pinned tree it lies in, else from "/".
 */
static int resolve_dir_(struct origin_fs *o, const char *path, size_t len, int flags, bool report)
{
	const struct pinned_tree *t = tree_of(o, path, len);
	char rest[MOS_PATH_MAX];
	size_t skip = t ? t->len + 1 : 1, rlen = len > skip ? len - skip : 0;
	int base = t ? t->fd : o->root_fd, fd = -ENOSYS;

	if (len >= MOS_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(rest, rlen ? path + skip : ".", rlen ? rlen : 1);
	rest[rlen ? rlen : 1] = '\0';
	flags |= O_DIRECTORY | O_CLOEXEC;
	if (!o->no_openat2 && !(o->quirks & ORIGIN_FS_QUIRK_NO_OPENAT2)) {
		for (int tries = 0; tries < 4; tries++) {
			fd = sys_openat2(base, rest, flags,
					 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
						 RESOLVE_NO_MAGICLINKS);
			/* EAGAIN: a rename raced a scoped lookup; the kernel asks us to retry */
			if (fd != -EAGAIN)
				break;
		}
		if (fd == -ENOSYS)
			o->no_openat2 = true; /* an old kernel, or a seccomp filter */
	}
	/* EPERM: container runtimes that deny openat2 by seccomp say so */
	if (fd == -ENOSYS || fd == -EPERM)
		fd = walk_nofollow(base, rest, rlen, flags);
	if (fd == -ELOOP && report) {
		o->stats.symlinks_refused++;
		mos_info("refused %.*s: it or a directory on the way is a symlink, and the origin "
			 "follows none for a worker",
			 (int)len, path);
	}
	return fd;
}

static int resolve_dir(struct origin_fs *o, const char *path, size_t len, int flags)
{
	return resolve_dir_(o, path, len, flags, true);
}

/*
 * PATH's directory as an O_PATH fd, and in *NAME its last component ("."
 * for "/", which makes the kernel refuse what cannot be done to "/").
 */
static int resolve_parent(struct origin_fs *o, const char *path, const char **name)
{
	const char *slash;
	int err = origin_path_check(path);

	if (err)
		return err;
	if (!path[1]) {
		*name = ".";
		return resolve_dir(o, path, 1, O_PATH);
	}
	slash = strrchr(path, '/');
	*name = slash + 1;
	return resolve_dir(o, path, slash == path ? 1 : (size_t)(slash - path), O_PATH);
}

/* resolve_parent() for a path that must name a regular file: its parent's
 * fd, *NAME in it, and *ST as lstat'ed there; -ELOOP, -EISDIR or -EINVAL
 * for anything else. */
static int resolve_parent_regular(struct origin_fs *o, const char *path, const char **name,
				  struct stat *st)
{
	_cleanup_close_ int dfd = resolve_parent(o, path, name);
	int err;

	if (dfd < 0)
		return dfd;
	if (fstatat(dfd, *name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	err = require_regular(st);
	if (err)
		return err;
	return take_fd(&dfd);
}

int origin_fs_pin_tree(struct origin_fs *o, const char *path)
{
	int fd, err = origin_path_check(path);

	if (err)
		return err;
	if (!path[1])
		return 0; /* "/" is o->root_fd */
	for (size_t i = 0; i < o->ntrees; i++)
		if (!strcmp(o->trees[i].path, path))
			return 0;
	if (o->ntrees >= PINNED_TREES_MAX)
		return -EMFILE;
	fd = resolve_dir_(o, path, strlen(path), O_PATH, false);
	if (fd < 0)
		return fd;
	o->trees = xrealloc(o->trees, (o->ntrees + 1) * sizeof(*o->trees));
	o->trees[o->ntrees++] = (struct pinned_tree){
		.path = xstrdup(path),
		.len = strlen(path),
		.fd = fd,
	};
	return 0;
}

/* --- announced hashes and fetch ----------------------------------------- */

/* Keyed too: a job chooses the content of the files it writes, and with it
 * any few bits of their SHA-256 for the price of a short search each.  The
 * hash's first 64 bits times the process's secret multiplier. */
static uint64_t ann_key(const uint8_t sha256[32])
{
	uint64_t v;

	memcpy(&v, sha256, sizeof(v));
	return mulhash_keyed(v);
}

static struct announced *announced_of(const struct hashtab_node *n)
{
	return container_of(n, struct announced, node);
}

static uint64_t ann_node_hash(const struct hashtab_node *n)
{
	return ann_key(announced_of(n)->sha256);
}

static bool ann_eq(const struct hashtab_node *n, const void *sha256)
{
	return !memcmp(announced_of(n)->sha256, sha256, 32);
}

static struct announced *ann_find(const struct origin_fs *o, const uint8_t sha256[32])
{
	struct hashtab_node *n = hashtab_find(&o->ann, ann_key(sha256), ann_eq, sha256);

	return n ? announced_of(n) : NULL;
}

static void ann_source_free(struct ann_source *s)
{
	free(s->path);
	free(s);
}

static void announced_free(struct announced *a)
{
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
		hashtab_add(&o->ann, &a->node, ann_key(sha256));
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

static bool fd_unchanged(int fd, const struct file_id *id)
{
	struct file_id now;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	id_from_stat(&st, &now);
	return S_ISREG(st.st_mode) && id_equal(&now, id);
}

/*
 * Open PATH for reading if it is still the regular file ID; -ESTALE if not.
 * What is served is judged on the fd (the identity the hash was announced
 * with), whatever PATH names by then.
 */
static int open_if_unchanged(struct origin_fs *o, const char *path, const struct file_id *id)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	const char *name;

	dfd = resolve_parent(o, path, &name);
	if (dfd < 0)
		return dfd == -ENOENT || dfd == -ENOTDIR || dfd == -ELOOP ? -ESTALE : dfd;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? -ESTALE : -errno;
	if (!fd_unchanged(fd, id))
		return -ESTALE;
	return take_fd(&fd);
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

		fd = open_if_unchanged(o, s->path, &s->id);
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

/* Up to LEN bytes of F's content at OFFSET, checked to still be the
 * announced content once read. */
static ssize_t fetch_read(struct origin_fs *o, struct fetch_fd *f, uint64_t offset, void *buf,
			  size_t len)
{
	size_t done = 0;

	while (done < len && offset + done <= INT64_MAX) {
		ssize_t r;

		if (cancelled(o))
			return -ECANCELED;
		r = pread(f->fd, (char *)buf + done, len - done, (off_t)(offset + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	/* Written to while read: what was read may not be the announced content. */
	if (!fd_unchanged(f->fd, &f->id)) {
		fetch_fd_drop(f);
		return -ESTALE;
	}
	o->stats.bytes_served += done;
	return (ssize_t)done;
}

ssize_t origin_fetch(struct origin_fs *o, const uint8_t sha256[32], uint64_t offset, void *buf,
		     size_t len)
{
	struct announced *a = ann_find(o, sha256);
	struct fetch_fd *f;
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
	return fetch_read(o, f, offset, buf, len);
}

ssize_t origin_fetch_sparse(struct origin_fs *o, const uint8_t sha256[32], uint64_t offset,
			    uint64_t limit, uint64_t *at, void *buf, size_t len)
{
	struct announced *a = ann_find(o, sha256);
	struct fetch_fd *f;
	off_t d, e;
	int err = 0;

	*at = offset;
	if (!a)
		return -ENOENT;
	if (offset > INT64_MAX || limit > INT64_MAX)
		return -EINVAL;
	f = fetch_fd_get(o, a, &err);
	if (!f)
		return err;
	if (offset >= limit || offset >= f->id.size)
		return fetch_read(o, f, offset, buf, 0); /* nothing: if unchanged */
	d = lseek(f->fd, (off_t)offset, SEEK_DATA);
	if (d < 0 && errno == ENXIO)
		return fetch_read(o, f, offset, buf, 0); /* a hole up to the end */
	if (d < 0) {
		d = (off_t)offset; /* no SEEK_DATA here: all of it is data */
		e = (off_t)limit;
	} else {
		e = lseek(f->fd, d, SEEK_HOLE);
		if (e < 0)
			e = (off_t)limit;
	}
	if ((uint64_t)d >= limit)
		return fetch_read(o, f, offset, buf, 0);
	if ((uint64_t)e > limit)
		e = (off_t)limit;
	if ((uint64_t)(e - d) < len)
		len = (size_t)(e - d);
	*at = (uint64_t)d;
	return fetch_read(o, f, (uint64_t)d, buf, len);
}

/* --- open ---------------------------------------------------------------- */

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

/* A hash under way: origin_open_start, then origin_open_step. */
struct origin_open_op {
	struct origin_fs *o;
	int fd; /* what is hashed and announced is what this fd holds */
	char *path;
	EVP_MD_CTX *ctx;
	uint8_t *buf;
	uint64_t off;
	struct file_id id; /* as the hash began */
	struct timespec start;
	int attempt;
};

static void op_free(struct origin_open_op *op)
{
	closep(&op->fd);
	EVP_MD_CTX_free(op->ctx);
	free(op->buf);
	free(op->path);
	free(op);
}

/* What OP's fd holds now: its hash known (0; A and SHA256 filled, the hash
 * announced), or to be computed from the start (1). */
static int op_begin(struct origin_open_op *op, struct mos_attr *a, uint8_t sha256[32])
{
	struct hc_entry *e;
	struct stat st;
	int err;

	if (fstat(op->fd, &st) < 0)
		return -errno;
	err = require_regular(&st);
	if (err)
		return err;
	id_from_stat(&st, &op->id);
	e = hc_lookup(op->o, &op->id);
	if (e) {
		memcpy(sha256, e->sha256, 32);
		op->o->stats.hash_cache_hits++;
		origin_attr_from_stat(&st, a);
		announce(op->o, sha256, op->path, &op->id);
		return 0;
	}
	if (!op->ctx && !(op->ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	if (!EVP_DigestInit_ex(op->ctx, EVP_sha256(), NULL))
		return -EIO;
	if (!op->buf)
		op->buf = xmalloc(HASH_BUF);
	op->off = 0;
	clock_gettime(CLOCK_REALTIME, &op->start);
	return 1;
}

/* The whole content was read: 0 (announced), 1 when the file changed
 * meanwhile (hashed again from the start), or -errno. */
static int op_finish(struct origin_open_op *op, struct mos_attr *a, uint8_t sha256[32])
{
	struct file_id after;
	unsigned int n = 0;
	struct stat st;

	if (!EVP_DigestFinal_ex(op->ctx, sha256, &n) || n != 32)
		return -EIO;
	op->o->stats.files_hashed++;
	if (fstat(op->fd, &st) < 0)
		return -errno;
	id_from_stat(&st, &after);
	if (!id_equal(&op->id, &after)) {
		if (op->attempt++ == HASH_ATTEMPTS)
			return -EAGAIN;
		return op_begin(op, a, sha256);
	}
	if (!id_is_racy(op->o, &op->id, &op->start))
		hc_insert(op->o, &op->id, sha256);
	origin_attr_from_stat(&st, a);
	announce(op->o, sha256, op->path, &op->id);
	return 0;
}

/* FD (PATH) is about to be read for the session: watched first. */
static void watch_before_read(struct origin_fs *o, int fd, const char *path, bool dir)
{
	if (o->watch && watch_set_add_fd(o->watch, fd, path, dir) < 0)
		atomic_fetch_add(&o->watch_failures, 1);
}

int origin_open_start(struct origin_fs *o, const char *path, struct mos_attr *a, uint8_t sha256[32],
		      struct origin_open_op **out)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	struct origin_open_op *op;
	const char *name;
	struct stat st;
	int err;

	*out = NULL;
	if (cancelled(o))
		return -ECANCELED;
	dfd = resolve_parent_regular(o, path, &name, &st);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (o->watch) {
		_cleanup_free_ char *dir = xstrndup(path, (size_t)(name - path));

		/* (the directory's name without its last '/', "/" for the root) */
		if (strlen(dir) > 1)
			dir[strlen(dir) - 1] = 0;
		watch_before_read(o, dfd, dir, true);
		watch_before_read(o, fd, path, false);
	}
	op = xcalloc(1, sizeof(*op));
	op->o = o;
	op->fd = take_fd(&fd);
	op->path = xstrdup(path);
	op->attempt = 1;
	err = op_begin(op, a, sha256);
	if (err != 1) {
		op_free(op);
		return err;
	}
	*out = op;
	return 1;
}

int origin_open_step(struct origin_open_op *op, uint64_t budget, struct mos_attr *a,
		     uint8_t sha256[32])
{
	uint64_t done = 0;
	int r;

	for (;;) {
		ssize_t n;

		if (cancelled(op->o)) {
			r = -ECANCELED;
			break;
		}
		if (done >= budget)
			return 1;
		n = pread(op->fd, op->buf, HASH_BUF, (off_t)op->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n > 0) {
			if (!EVP_DigestUpdate(op->ctx, op->buf, (size_t)n)) {
				r = -EIO;
				break;
			}
			op->off += (uint64_t)n;
			done += (uint64_t)n;
			continue;
		}
		r = op_finish(op, a, sha256);
		if (r != 1)
			break;
	}
	op_free(op);
	return r;
}

void origin_open_abort(struct origin_open_op *op)
{
	if (op)
		op_free(op);
}

int origin_open(struct origin_fs *o, const char *path, struct mos_attr *a, uint8_t sha256[32])
{
	struct origin_open_op *op;
	int r = origin_open_start(o, path, a, sha256, &op);

	if (r == 1)
		r = origin_open_step(op, UINT64_MAX, a, sha256);
	return r;
}

/* --- lifetime ------------------------------------------------------------ */

int origin_fs_new(const char *hash_cache_path, struct origin_fs **out)
{
	struct origin_fs *o = xcalloc(1, sizeof(*o));
	struct timespec res = { 0 };
	struct rlimit rl;

	*out = NULL;
	o->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (o->root_fd < 0) {
		int err = -errno;

		free(o);
		return err;
	}
	o->journal_dirfd = o->journal_fd = -1;
	o->tmpfile_linkable = access("/proc/self/fd", X_OK) == 0;
	o->max_file_size = INT64_MAX;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < o->max_file_size)
		o->max_file_size = rl.rlim_cur;
	for (unsigned int i = 0; i < FETCH_FDS; i++)
		o->fds[i].fd = -1;
	o->hc = HASHTAB_INIT(hc_node_hash);
	o->ann = HASHTAB_INIT(ann_node_hash);
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
	/* every put has ended (the caller aborts the unfinished ones first):
	 * what the journal lists is gone */
	if (o->journal_fd >= 0)
		unlinkat(o->journal_dirfd, o->journal_name, 0);
	closep(&o->journal_fd);
	closep(&o->journal_dirfd);
	free(o->journal_name);
	for (unsigned int i = 0; i < FETCH_FDS; i++)
		fetch_fd_drop(&o->fds[i]);
	for (size_t i = 0; i < o->ntrees; i++) {
		closep(&o->trees[i].fd);
		free(o->trees[i].path);
	}
	free(o->trees);
	closep(&o->root_fd);
	for (struct hashtab_iter it = HASHTAB_ITER(&o->ann); hashtab_iter_next(&it);) {
		struct announced *a = announced_of(it.cur);

		hashtab_iter_remove(&it);
		announced_free(a);
	}
	hashtab_free(&o->ann);
	for (struct lru_node *u = lru_oldest(&o->hc_age), *next; u; u = next) {
		next = u->newer;
		free(container_of(u, struct hc_entry, age));
	}
	hashtab_free(&o->hc);
	free(o->cache_path);
	free(o);
}

void origin_fs_get_stats(const struct origin_fs *o, struct origin_stats *out)
{
	*out = o->stats;
}

void origin_fs_set_max_file_size(struct origin_fs *o, uint64_t bytes)
{
	o->max_file_size = bytes < INT64_MAX ? bytes : INT64_MAX;
}

void origin_fs_set_quirks(struct origin_fs *o, unsigned int quirks)
{
	o->quirks = quirks;
}

void origin_fs_set_cancel(struct origin_fs *o, const atomic_bool *flag)
{
	o->cancel = flag;
}

void origin_fs_set_watch(struct origin_fs *o, struct watch_set *w)
{
	o->watch = w;
}

unsigned long origin_fs_watch_failures(const struct origin_fs *o)
{
	return atomic_load(&o->watch_failures);
}

/* --- reading the tree ---------------------------------------------------- */

int origin_listdir(struct origin_fs *o, const char *path, struct mos_attr *dir,
		   struct origin_dirent **ents, size_t *n)
{
	struct origin_dirent *v = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, err;

	*ents = NULL;
	*n = 0;
	err = origin_path_check(path);
	if (err)
		return err;
	fd = resolve_dir(o, path, strlen(path), O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	watch_before_read(o, fd, path, true);
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

		if (count % 256 == 0 && cancelled(o)) {
			err = -ECANCELED;
			break;
		}
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
		if (count == ORIGIN_LISTDIR_MAX) {
			free(link);
			err = -EFBIG;
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
	_cleanup_close_ int dfd = -1;
	const char *name;
	struct stat st;
	int err;

	if (link)
		*link = NULL;
	dfd = resolve_parent(o, path, &name);
	if (dfd < 0)
		return dfd;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode) && link) {
		err = readlink_alloc(dfd, name, st.st_size, link);
		if (err)
			return err;
	}
	origin_attr_from_stat(&st, a);
	return 0;
}

/* --- the put journal ------------------------------------------------------ */

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* N random characters of ALNUM into BUF; 0 or -EIO. */
static int random_alnum(char *buf, size_t n)
{
	uint8_t rnd[16];

	if (n > sizeof(rnd) || getrandom(rnd, n, 0) != (ssize_t)n)
		return -EIO;
	for (size_t i = 0; i < n; i++)
		buf[i] = alnum[rnd[i] % (sizeof(alnum) - 1)];
	return 0;
}

/* ".NAME.mos-XXXXXX" (NAME cut so that it fits NAME_MAX), X random. */
static char *tmp_name_new(const char *name)
{
	size_t name_len = strlen(name);
	char *t;

	if (name_len > MOS_NAME_MAX - 12)
		name_len = MOS_NAME_MAX - 12;
	t = xasprintf(".%.*s.mos-XXXXXX", (int)name_len, name);
	if (random_alnum(t + strlen(t) - 6, 6) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

/* Is NAME one of ours, ".*.mos-" and six of ALNUM? */
static bool is_tmp_name(const char *name)
{
	size_t n = strlen(name);

	if (n < 12 || name[0] != '.' || memcmp(name + n - 11, ".mos-", 5))
		return false;
	return strspn(name + n - 6, alnum) == 6;
}

/* This origin's journal, made (and locked) on first use; -1 without one. */
static int journal_get(struct origin_fs *o)
{
	if (o->journal_fd >= 0 || o->journal_dirfd < 0)
		return o->journal_fd;
	for (int tries = 0; tries < 8; tries++) {
		_cleanup_close_ int fd = -1;
		char rnd[8];
		struct stat st;

		if (random_alnum(rnd, sizeof(rnd)) < 0)
			return -1;
		free(o->journal_name);
		o->journal_name = xasprintf("%d-%.8s", (int)getpid(), rnd);
		fd = openat(o->journal_dirfd, o->journal_name,
			    O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			break;
		}
		/* Another origin's recovery may have taken (and removed) the new,
		 * still unlocked file: then start again under a new name. */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 || fstat(fd, &st) < 0 || st.st_nlink == 0)
			continue;
		o->journal_fd = take_fd(&fd);
		return o->journal_fd;
	}
	mos_warn("cannot start the put journal: %s; a temporary file left by a crash would "
		 "stay",
		 strerror(errno));
	closep(&o->journal_dirfd);
	o->journal_dirfd = -1;
	return -1;
}

/* Note, before it is made, that DIRFD (DIR_PATH) gets the temporary NAME. */
static void journal_note(struct origin_fs *o, int dirfd, const char *dir_path, const char *name)
{
	int jfd = journal_get(o);
	_cleanup_free_ char *rec = NULL;
	struct stat st;

	if (jfd < 0 || fstat(dirfd, &st) < 0)
		return;
	rec = xasprintf("%llu %llu %zu %zu\n%s%s\n", (unsigned long long)st.st_dev,
			(unsigned long long)st.st_ino, strlen(name), strlen(dir_path), name,
			dir_path);
	if (write_all(jfd, rec, strlen(rec)) < 0)
		mos_warn("cannot write the put journal: %s", strerror(errno));
}

/* Remove the temporaries that the dead origin's journal BUF names. */
static void journal_replay(struct origin_fs *o, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		unsigned long long dev, ino;
		size_t name_len, path_len;
		const char *nl = memchr(buf + off, '\n', len - off), *rec;
		char name[MOS_NAME_MAX + 1], path[MOS_PATH_MAX];
		_cleanup_close_ int dfd = -1;
		struct stat st;

		if (!nl ||
		    sscanf(buf + off, "%llu %llu %zu %zu\n", &dev, &ino, &name_len, &path_len) != 4)
			return;
		rec = nl + 1;
		if (name_len > MOS_NAME_MAX || path_len >= MOS_PATH_MAX ||
		    (size_t)(buf + len - rec) < name_len + path_len + 1 ||
		    rec[name_len + path_len] != '\n')
			return; /* cut short by a crash, or not ours */
		memcpy(name, rec, name_len);
		name[name_len] = '\0';
		memcpy(path, rec + name_len, path_len);
		path[path_len] = '\0';
		off = (size_t)(rec - buf) + name_len + path_len + 1;
		if (!is_tmp_name(name) || strchr(name, '/') || origin_path_check(path) < 0)
			continue;
		dfd = resolve_dir(o, path, path_len, O_PATH);
		if (dfd < 0 || fstat(dfd, &st) < 0 || st.st_dev != dev || st.st_ino != ino)
			continue; /* that directory is gone, or another one has its name */
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid())
			continue;
		if (unlinkat(dfd, name, 0) == 0) {
			o->stats.temporaries_removed++;
			mos_info("removed %s/%s, a temporary file an origin that died left", path,
				 name);
		}
	}
}

int origin_fs_set_put_journal(struct origin_fs *o, const char *dir)
{
	_cleanup_close_ int dfd = -1, lfd = -1;
	DIR *d;
	struct dirent *de;
	int err;

	if (o->journal_dirfd >= 0)
		return -EBUSY;
	err = mkdir_p(dir, 0700);
	if (err)
		return err;
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	lfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lfd < 0)
		return -errno;
	d = fdopendir(lfd);
	if (!d)
		return -errno;
	lfd = -1;
	while ((de = readdir(d))) {
		_cleanup_close_ int fd = -1;
		_cleanup_free_ char *buf = NULL;
		struct stat st;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid() || st.st_size > (16 << 20))
			continue;
		/* locked: its origin lives and will clean up after itself */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		buf = xmalloc((size_t)st.st_size + 1);
		n = read_full(fd, buf, (size_t)st.st_size);
		if (n >= 0)
			journal_replay(o, buf, (size_t)n);
		unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
	o->journal_dirfd = take_fd(&dfd);
	return 0;
}

/* --- writing: put -------------------------------------------------------- */

static void put_free(struct origin_put *p)
{
	closep(&p->fd);
	closep(&p->dirfd);
	free(p->tmp_name);
	free(p->name);
	free(p->path);
	free(p);
}

/* The directory part of P's path (for the journal). */
static char *put_dir_path(const struct origin_put *p)
{
	const char *slash = strrchr(p->path, '/');

	return slash == p->path ? xstrdup("/") : xstrndup(p->path, (size_t)(slash - p->path));
}

/* Make P's named temporary (journaled first) and open it. */
static int put_create_named(struct origin_put *p)
{
	_cleanup_free_ char *dir = put_dir_path(p);
	int err = -EEXIST;

	for (int tries = 0; tries < 100 && err == -EEXIST; tries++) {
		free(p->tmp_name);
		p->tmp_name = tmp_name_new(p->name);
		if (!p->tmp_name)
			return -EIO;
		journal_note(p->o, p->dirfd, dir, p->tmp_name);
		p->fd = openat(p->dirfd, p->tmp_name,
			       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			       0600);
		err = p->fd < 0 ? -errno : 0;
	}
	if (err) {
		free(p->tmp_name);
		p->tmp_name = NULL; /* never made: nothing to remove */
	}
	return err;
}

int origin_put_begin(struct origin_fs *o, const char *path, uint32_t mode, int64_t size,
		     struct origin_put **out)
{
	struct origin_put *p;
	const char *name;
	int err;

	*out = NULL;
	err = origin_path_check(path);
	if (err)
		return err;
	if (!path[1])
		return -EISDIR;
	if (size >= 0 && (uint64_t)size > o->max_file_size) {
		mos_warn("refused the write-back of %s: %lld bytes, over the origin's file size "
			 "limit of %llu bytes",
			 path, (long long)size, (unsigned long long)o->max_file_size);
		return -EFBIG;
	}
	p = xcalloc(1, sizeof(*p));
	p->o = o;
	p->fd = -1;
	p->mode = mode;
	p->sized = size >= 0;
	p->limit = p->sized ? (uint64_t)size : o->max_file_size;
	p->path = xstrdup(path);
	p->dirfd = resolve_parent(o, path, &name);
	if (p->dirfd < 0) {
		err = p->dirfd;
		p->dirfd = -1;
		goto fail;
	}
	p->name = xstrdup(name);
	if (o->tmpfile_linkable && !(o->quirks & ORIGIN_FS_QUIRK_NO_TMPFILE)) {
		p->fd = openat(p->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0600);
		if (p->fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
			err = -errno;
			goto fail;
		}
	}
	if (p->fd < 0) {
		err = put_create_named(p);
		if (err)
			goto fail;
	}
	/* the whole size now: what is not written stays a hole */
	if (p->sized && ftruncate(p->fd, (off_t)size) < 0) {
		err = -errno;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	origin_put_abort(p);
	return err;
}

int origin_put_write(struct origin_put *p, uint64_t offset, const void *data, size_t len)
{
	size_t done = 0;

	if (offset > p->limit || len > p->limit - offset) {
		if (!p->warned)
			mos_warn("refused the write-back of %s: data at %llu bytes, beyond %s of "
				 "%llu bytes",
				 p->path, (unsigned long long)offset + len,
				 p->sized ? "its declared size" : "the origin's file size limit",
				 (unsigned long long)p->limit);
		p->warned = true;
		return -EFBIG;
	}
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

/*
 * Give P's unnamed file its name: linked straight in when the target is
 * absent, else linked under a temporary name (journaled) for the rename.
 */
static int put_link_tmpfile(struct origin_put *p)
{
	_cleanup_free_ char *dir = NULL;
	char proc[64];
	int err = -EEXIST;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p->fd);
	if (linkat(AT_FDCWD, proc, p->dirfd, p->name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	dir = put_dir_path(p);
	for (int tries = 0; tries < 100 && err == -EEXIST; tries++) {
		free(p->tmp_name);
		p->tmp_name = tmp_name_new(p->name);
		if (!p->tmp_name)
			return -EIO;
		journal_note(p->o, p->dirfd, dir, p->tmp_name);
		err = 0;
		if (linkat(AT_FDCWD, proc, p->dirfd, p->tmp_name, AT_SYMLINK_FOLLOW) < 0)
			err = -errno;
	}
	if (err) {
		free(p->tmp_name);
		p->tmp_name = NULL;
		return err;
	}
	if (renameat(p->dirfd, p->tmp_name, p->dirfd, p->name) < 0)
		return -errno; /* the caller removes the temporary */
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
	else if (!p->tmp_name)
		err = put_link_tmpfile(p);
	else if (close(take_fd(&p->fd)) < 0) /* NFS reports write errors here */
		err = -errno;
	else if (renameat(p->dirfd, p->tmp_name, p->dirfd, p->name) < 0)
		err = -errno;
	if (err && p->tmp_name)
		unlinkat(p->dirfd, p->tmp_name, 0);
	put_free(p);
	return err;
}

void origin_put_abort(struct origin_put *p)
{
	if (!p)
		return;
	/* an unnamed O_TMPFILE goes with its fd */
	if (p->tmp_name && p->dirfd >= 0)
		unlinkat(p->dirfd, p->tmp_name, 0);
	put_free(p);
}

/* --- writing: namespace operations --------------------------------------- */

int origin_mkdir(struct origin_fs *o, const char *path, uint32_t mode)
{
	_cleanup_close_ int dfd = -1;
	const char *name;

	dfd = resolve_parent(o, path, &name);
	if (dfd < 0)
		return dfd;
	return mkdirat(dfd, name, mode & 01777) < 0 ? -errno : 0;
}

int origin_unlink(struct origin_fs *o, const char *path)
{
	_cleanup_close_ int dfd = -1;
	const char *name;

	dfd = resolve_parent(o, path, &name);
	if (dfd < 0)
		return dfd;
	return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
}

int origin_rmdir(struct origin_fs *o, const char *path)
{
	_cleanup_close_ int dfd = -1;
	const char *name;

	dfd = resolve_parent(o, path, &name);
	if (dfd < 0)
		return dfd;
	return unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int origin_rename(struct origin_fs *o, const char *from, const char *to, uint32_t flags)
{
	_cleanup_close_ int fdfd = -1, tdfd = -1;
	const char *fname, *tname;
	int err;

	if ((err = origin_path_check(from)) || (err = origin_path_check(to)))
		return err;
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	fdfd = resolve_parent(o, from, &fname);
	if (fdfd < 0)
		return fdfd;
	tdfd = resolve_parent(o, to, &tname);
	if (tdfd < 0)
		return tdfd;
	return renameat2(fdfd, fname, tdfd, tname, flags) < 0 ? -errno : 0;
}

int origin_symlink(struct origin_fs *o, const char *target, const char *path)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int err;

	err = origin_path_check(path);
	if (err)
		return err;
	if (!target || !target[0] || strnlen(target, MOS_PATH_MAX) >= MOS_PATH_MAX)
		return -EINVAL;
	dfd = resolve_parent(o, path, &name);
	if (dfd < 0)
		return dfd;
	return symlinkat(target, dfd, name) < 0 ? -errno : 0;
}

int origin_link(struct origin_fs *o, const char *from, const char *to)
{
	_cleanup_close_ int fdfd = -1, tdfd = -1;
	const char *fname, *tname;
	int err;

	if ((err = origin_path_check(from)) || (err = origin_path_check(to)))
		return err;
	fdfd = resolve_parent(o, from, &fname);
	if (fdfd < 0)
		return fdfd;
	tdfd = resolve_parent(o, to, &tname);
	if (tdfd < 0)
		return tdfd;
	/* flags 0: a symlink FROM is linked itself, not its target */
	return linkat(fdfd, fname, tdfd, tname, 0) < 0 ? -errno : 0;
}

int origin_chmod(struct origin_fs *o, const char *path, uint32_t mode)
{
	mode_t m = mode & 07777 & ~(S_ISUID | S_ISGID);
	_cleanup_close_ int dfd = -1;
	const char *name;
	struct stat st;

	dfd = resolve_parent(o, path, &name);
	if (dfd < 0)
		return dfd;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -EOPNOTSUPP;
#ifdef SYS_fchmodat2
	/* refuses a symlink swapped in meanwhile (EOPNOTSUPP) */
	if (syscall(SYS_fchmodat2, dfd, name, m, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
#endif
	/* glibc < 2.39 emulates this: O_PATH|O_NOFOLLOW of NAME in DFD, a
	 * symlink refused, then chmod of that very object by /proc/self/fd */
	return fchmodat(dfd, name, m, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int origin_truncate(struct origin_fs *o, const char *path, uint64_t size)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	const char *name;
	struct stat st;
	int err;

	err = origin_path_check(path);
	if (err)
		return err;
	if (size > INT64_MAX)
		return -EFBIG;
	dfd = resolve_parent_regular(o, path, &name, &st);
	if (dfd < 0)
		return dfd;
	if (size > o->max_file_size) {
		mos_warn("refused to truncate %s to %llu bytes, over the origin's file size limit "
			 "of %llu bytes",
			 path, (unsigned long long)size, (unsigned long long)o->max_file_size);
		return -EFBIG;
	}
	fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
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
	_cleanup_close_ int dfd = -1;
	const char *name;

	dfd = resolve_parent(o, path, &name);
	if (dfd < 0)
		return dfd;
	return utimensat(dfd, name, times, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}
