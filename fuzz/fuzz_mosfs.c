// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_mosfs - mosfs on a worker, fed by a hostile origin and driven by a
 * hostile job.  No mount: mosfs serves one end of a SOCK_SEQPACKET pair,
 * which reads and writes like /dev/fuse (one request per read, one reply
 * per write), and this program is the kernel on the other end.
 *
 * The input, in order:
 *   - up to 8 frames from the origin: PRELOAD_LISTDIR or PRELOAD_OPEN
 *     payloads, parsed by remote_backend.c as mosd parses them (an input
 *     whose frame mosd would refuse ends there: mosd ends the connection);
 *   - 8 bytes of the origin's answers to changes (0: agreed, else an errno);
 *   - FUSE requests (after an INIT from here), their operands taken from the
 *     input and from what earlier replies returned (node ids, handles).
 * mosfs's backend is remote_backend.c itself over a closed connection: a
 * listing or an open the origin sent ahead is served, anything else fails
 * as if the origin had gone; changes (mkdir, rename, write-back...) are
 * answered from the input, as the origin's filesystem would (a rename of a
 * directory beneath itself is EINVAL there).  File contents come from a
 * real cache (cas.c) holding two blobs, "" and "hello\n", whose SHA-256
 * the seeds' PRELOAD_OPEN frames announce.
 *
 * Properties, each a reply the kernel would refuse or a job could abuse:
 * every request but FORGET, BATCH_FORGET and INTERRUPT is answered once,
 * within 30 s, with its unique, a sane errno and a body of its opcode's
 * size; an entry names a node other than the root; a directory listing
 * holds "." and ".." first and then only names without "/", NUL, "." or
 * "..", at most MOS_NAME_MAX bytes; a symlink's target is non-empty and
 * NUL-free; and nothing leaks (memory: LeakSanitizer; fds: counted) when
 * the mount ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cas.h"
#include "common.h"
#include "fuse_compat.h"
#include "mosfs.h"
#include "open_cache.h"
#include "remote_backend.h"
#include "util.h"

#define MAX_REQUESTS 48
#define MAX_IDS 32
/* wall time, generous: the runs are nice'd on a shared machine */
#define REPLY_TIMEOUT_MS 30000
#define SENTINEL 0xf0000000ULL
#define REPLY_BUF (2U << 20)

static char tmpdir[] = "/tmp/mos-fuzz-mosfs-XXXXXX";
static bool trace; /* MOS_FUZZ_TRACE: each request and reply on stderr */
static struct cas *cas;

/* ---- the origin's answers to changes ---- */

struct origin_answers {
	struct remote_backend *rb;
	uint8_t verdict[8];
	unsigned next;
};

static int answer(void *ctx)
{
	static const int errs[] = { EACCES, EPERM, ENOENT, EEXIST, ENOTEMPTY, EIO, ENOSPC };
	struct origin_answers *a = ctx;
	uint8_t v = a->verdict[a->next++ % 8];

	return v < 128 ? 0 : -errs[v % ARRAY_SIZE(errs)];
}

static int fo_listdir(void *ctx, const char *path, struct mos_attr *dir,
		      struct origin_dirent **ents, size_t *n)
{
	return remote_backend_ops.listdir(((struct origin_answers *)ctx)->rb, path, dir, ents, n);
}

static int fo_open_blob(void *ctx, const char *path, struct mos_attr *attr, int *fd)
{
	return remote_backend_ops.open_blob(((struct origin_answers *)ctx)->rb, path, attr, fd);
}

static int fo_put_file(void *ctx, const char *path, int fd, uint32_t mode,
		       const struct timespec *mtime, bool (*give_up)(void *arg), void *arg)
{
	(void)path, (void)mode, (void)mtime, (void)give_up, (void)arg;
	fuzz_assert(fcntl(fd, F_GETFD) >= 0);
	return answer(ctx);
}

static int fo_path(void *ctx, const char *path, uint32_t mode)
{
	(void)mode;
	fuzz_assert(path[0] == '/');
	return answer(ctx);
}

static int fo_unlink(void *ctx, const char *path)
{
	return fo_path(ctx, path, 0);
}

static int fo_rename(void *ctx, const char *from, const char *to, uint32_t flags)
{
	size_t n = strlen(from);

	(void)flags;
	/* rename(2) refuses to move a directory beneath itself */
	if (!strncmp(to, from, n) && (to[n] == '/' || (n == 1 && to[1])))
		return -EINVAL;
	return answer(ctx);
}

static int fo_two(void *ctx, const char *a, const char *b)
{
	(void)a, (void)b;
	return answer(ctx);
}

static int fo_truncate(void *ctx, const char *path, uint64_t size)
{
	(void)size;
	return fo_path(ctx, path, 0);
}

static int fo_utimens(void *ctx, const char *path, const struct timespec times[2])
{
	(void)times;
	return fo_path(ctx, path, 0);
}

static const struct mosfs_backend_ops fuzz_origin_ops = {
	.listdir = fo_listdir,
	.open_blob = fo_open_blob,
	.put_file = fo_put_file,
	.mkdir = fo_path,
	.unlink = fo_unlink,
	.rmdir = fo_unlink,
	.rename = fo_rename,
	.symlink = fo_two,
	.link = fo_two,
	.chmod = fo_path,
	.truncate = fo_truncate,
	.utimens = fo_utimens,
};

/* ---- the kernel's side ---- */

struct kernel {
	int fd;
	uint64_t unique;
	uint64_t nodes[MAX_IDS], fhs[MAX_IDS], dirfhs[MAX_IDS];
	size_t nnodes, nfhs, ndirfhs;
	uint8_t *buf; /* replies */
};

static void remember(uint64_t *v, size_t *n, uint64_t id)
{
	if (*n < MAX_IDS)
		v[(*n)++] = id;
	else
		v[id % MAX_IDS] = id;
}

static void send_req(struct kernel *k, uint32_t opcode, uint64_t nodeid, uint64_t unique,
		     const void *body, size_t len, int32_t len_skew)
{
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + len + len_skew),
		.opcode = opcode,
		.unique = unique,
		.nodeid = nodeid,
		.uid = 1000,
		.gid = 1000,
		.pid = 42,
	};
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	while ((n = sendmsg(k->fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)(sizeof(h) + len))
		fuzz_fail("sending a FUSE request: %m");
}

static ssize_t recv_reply(struct kernel *k, uint32_t op)
{
	struct pollfd p = { .fd = k->fd, .events = POLLIN };
	struct timespec t0, t;
	ssize_t n;
	int r, waited = 0;

	/* libFuzzer's SIGALRM (its -timeout watch) interrupts poll */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = poll(&p, 1, REPLY_TIMEOUT_MS - waited)) < 0 && errno == EINTR) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		waited = (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (waited >= REPLY_TIMEOUT_MS)
			break;
	}
	if (r != 1)
		fuzz_fail("mosfs did not answer opcode %u within %d ms", op, REPLY_TIMEOUT_MS);
	n = recv(k->fd, k->buf, REPLY_BUF, 0);
	if (n < (ssize_t)sizeof(struct fuse_out_header))
		fuzz_fail("a reply of %zd bytes", n);
	return n;
}

static bool valid_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return true;
	}
	return false;
}

static void check_entry(struct kernel *k, const struct fuse_entry_out *e, bool negative_ok)
{
	if (!e->nodeid) {
		fuzz_assert(negative_ok);
		return;
	}
	fuzz_assert(e->nodeid != FUSE_ROOT_ID);
	fuzz_assert(e->attr.ino == e->nodeid);
	remember(k->nodes, &k->nnodes, e->nodeid);
}

static void check_dirents(struct kernel *k, const uint8_t *p, size_t len, bool plus, uint64_t first)
{
	size_t off = 0;
	uint64_t idx = first;

	while (off < len) {
		const struct fuse_entry_out *e = (const void *)(p + off);
		const struct fuse_dirent *d;
		size_t esz = plus ? sizeof(*e) : 0;

		fuzz_assert(len - off >= esz + FUSE_NAME_OFFSET);
		d = (const void *)(p + off + esz);
		fuzz_assert(d->namelen >= 1 && d->namelen <= MOS_NAME_MAX);
		fuzz_assert(len - off - esz - FUSE_NAME_OFFSET >= d->namelen);
		fuzz_assert(!memchr(d->name, '/', d->namelen) && !memchr(d->name, 0, d->namelen));
		if (idx == 0)
			fuzz_assert(d->namelen == 1 && d->name[0] == '.');
		else if (idx == 1)
			fuzz_assert(d->namelen == 2 && !memcmp(d->name, "..", 2));
		else
			fuzz_assert(!(d->namelen == 1 && d->name[0] == '.') &&
				    !(d->namelen == 2 && !memcmp(d->name, "..", 2)));
		fuzz_assert(d->off == idx + 1);
		if (plus && idx >= 2)
			check_entry(k, e, true);
		idx++;
		off += esz + FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d->namelen);
	}
	fuzz_assert(off == len);
}

/* The reply to request UNIQUE (opcode OP, body IN): checked, and what it
 * names remembered. */
static void check_reply(struct kernel *k, uint32_t op, const uint8_t *in, size_t inlen, size_t n)
{
	const struct fuse_out_header *o = (const void *)k->buf;
	const uint8_t *p = k->buf + sizeof(*o);
	size_t len = n - sizeof(*o);

	fuzz_assert(o->len == n);
	fuzz_assert(o->error <= 0 && o->error > -4096);
	if (o->error) {
		fuzz_assert(len == 0);
		return;
	}
	switch (op) {
	case FUSE_LOOKUP:
		fuzz_assert(len == sizeof(struct fuse_entry_out));
		check_entry(k, (const void *)p, true);
		break;
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_LINK:
	case FUSE_MKNOD:
		fuzz_assert(len == sizeof(struct fuse_entry_out));
		check_entry(k, (const void *)p, false);
		break;
	case FUSE_CREATE: {
		const struct mosfs_open_out *oo = (const void *)(p + sizeof(struct fuse_entry_out));

		fuzz_assert(len == sizeof(struct fuse_entry_out) + sizeof(*oo));
		check_entry(k, (const void *)p, false);
		fuzz_assert(oo->fh);
		remember(k->fhs, &k->nfhs, oo->fh);
		break;
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		const struct mosfs_open_out *oo = (const void *)p;

		fuzz_assert(len == sizeof(*oo) && oo->fh);
		if (op == FUSE_OPEN)
			remember(k->fhs, &k->nfhs, oo->fh);
		else
			remember(k->dirfhs, &k->ndirfhs, oo->fh);
		break;
	}
	case FUSE_READDIR:
	case FUSE_READDIRPLUS: {
		const struct fuse_read_in *ri = (const void *)in;

		fuzz_assert(inlen >= sizeof(*ri) && len <= ri->size);
		check_dirents(k, p, len, op == FUSE_READDIRPLUS, ri->offset);
		break;
	}
	case FUSE_READLINK:
		if (!(len > 0 && len < MOS_PATH_MAX && !memchr(p, 0, len)))
			fuzz_fail("READLINK: a target of %zu bytes%s", len,
				  memchr(p, 0, len) ? " with a NUL" : "");
		break;
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		fuzz_assert(len == sizeof(struct fuse_attr_out));
		/* (the origin's modes pass through: the kernel refuses an
		 * unknown type with EIO, no harm; mosfs's root is its own) */
		if (((const struct fuse_attr_out *)p)->attr.ino == FUSE_ROOT_ID)
			fuzz_assert(valid_type(((const struct fuse_attr_out *)p)->attr.mode));
		break;
	case FUSE_READ: {
		const struct fuse_read_in *ri = (const void *)in;

		fuzz_assert(inlen >= sizeof(*ri) && len <= ri->size);
		break;
	}
	case FUSE_WRITE:
		fuzz_assert(len == sizeof(struct fuse_write_out));
		break;
	}
}

/* One request and everything mosfs answers until the sentinel after it. */
static void exchange(struct kernel *k, uint32_t op, uint64_t nodeid, const void *body, size_t len,
		     int32_t skew)
{
	uint64_t unique = ++k->unique;
	bool answered = false;

	if (trace)
		fprintf(stderr, "fuzz_mosfs: request %llu: opcode %u node %llu, %zu bytes\n",
			(unsigned long long)unique, op, (unsigned long long)nodeid, len);
	send_req(k, op, nodeid, unique, body, len, skew);
	/* a STATFS is always answered: everything before it has been */
	send_req(k, FUSE_STATFS, FUSE_ROOT_ID, SENTINEL | unique, NULL, 0, 0);
	for (;;) {
		size_t n = (size_t)recv_reply(k, op);
		const struct fuse_out_header *o = (const void *)k->buf;

		if (o->unique == (SENTINEL | unique)) {
			fuzz_assert(o->error == 0 && o->len == n);
			break;
		}
		fuzz_assert(o->unique == unique && !answered);
		answered = true;
		if (trace)
			fprintf(stderr, "fuzz_mosfs: reply: error %d, %zu bytes\n", o->error,
				n - sizeof(*o));
		if (!skew)
			check_reply(k, op, body, len, n);
	}
	if (skew) {
		fuzz_assert(answered || len + sizeof(struct fuse_in_header) < 16);
		return;
	}
	if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET || op == FUSE_INTERRUPT)
		fuzz_assert(!answered);
	else
		fuzz_assert(answered);
}

/* ---- requests from the input ---- */

struct opdesc {
	uint32_t op;
	uint8_t fixed;	 /* bytes of the opcode's struct */
	uint8_t names;	 /* NUL-terminated names after it */
	uint8_t fh;	 /* 1: a file handle at offset 0, 2: a directory handle */
	uint8_t node_at; /* 1 + offset of a node id in the struct, or 0 */
	bool tail;	 /* raw bytes after the struct (WRITE data, BATCH_FORGET) */
};

static const struct opdesc ops[] = {
	{ FUSE_LOOKUP, 0, 1, 0, 0, false },
	{ FUSE_LOOKUP, 0, 1, 0, 0, false },
	{ FUSE_GETATTR, sizeof(struct fuse_getattr_in), 0, 0, 0, false },
	{ FUSE_SETATTR, sizeof(struct fuse_setattr_in), 0, 0, 0, false },
	{ FUSE_READLINK, 0, 0, 0, 0, false },
	{ FUSE_SYMLINK, 0, 2, 0, 0, false },
	{ FUSE_MKNOD, sizeof(struct fuse_mknod_in), 1, 0, 0, false },
	{ FUSE_MKDIR, sizeof(struct fuse_mkdir_in), 1, 0, 0, false },
	{ FUSE_UNLINK, 0, 1, 0, 0, false },
	{ FUSE_RMDIR, 0, 1, 0, 0, false },
	{ FUSE_RENAME, sizeof(struct fuse_rename_in), 2, 0, 1, false },
	{ FUSE_RENAME2, sizeof(struct fuse_rename2_in), 2, 0, 1, false },
	{ FUSE_LINK, sizeof(struct fuse_link_in), 1, 0, 1, false },
	{ FUSE_OPEN, sizeof(struct fuse_open_in), 0, 0, 0, false },
	{ FUSE_READ, sizeof(struct fuse_read_in), 0, 1, 0, false },
	{ FUSE_WRITE, sizeof(struct fuse_write_in), 0, 1, 0, true },
	{ FUSE_RELEASE, sizeof(struct fuse_release_in), 0, 1, 0, false },
	{ FUSE_FSYNC, sizeof(struct fuse_fsync_in), 0, 1, 0, false },
	{ FUSE_FLUSH, sizeof(struct fuse_flush_in), 0, 1, 0, false },
	{ FUSE_OPENDIR, sizeof(struct fuse_open_in), 0, 0, 0, false },
	{ FUSE_READDIR, sizeof(struct fuse_read_in), 0, 2, 0, false },
	{ FUSE_READDIRPLUS, sizeof(struct fuse_read_in), 0, 2, 0, false },
	{ FUSE_RELEASEDIR, sizeof(struct fuse_release_in), 0, 2, 0, false },
	{ FUSE_FSYNCDIR, sizeof(struct fuse_fsync_in), 0, 2, 0, false },
	{ FUSE_CREATE, sizeof(struct fuse_create_in), 1, 0, 0, false },
	{ FUSE_FORGET, sizeof(struct fuse_forget_in), 0, 0, 0, false },
	{ FUSE_BATCH_FORGET, sizeof(struct fuse_batch_forget_in), 0, 0, 0, true },
	{ FUSE_INTERRUPT, sizeof(struct fuse_interrupt_in), 0, 0, 0, false },
	{ FUSE_STATFS, 0, 0, 0, 0, false },
	{ FUSE_ACCESS, sizeof(struct fuse_access_in), 0, 0, 0, false },
	{ FUSE_GETXATTR, sizeof(struct fuse_getxattr_in), 1, 0, 0, false },
};

static const char *const known_names[] = { "a", "b", "dir", "file", "link", "sub", "x.c" };

static void put_name(struct fuzz_in *in, uint8_t *body, size_t *len, size_t cap)
{
	uint8_t sel = fuzz_u8(in);
	size_t n = 0;
	const uint8_t *s;
	char tmp[300];

	if (sel < 0xe0) {
		s = fuzz_bytes(in, sel % 32, &n);
		memcpy(tmp, s, n);
	} else if (sel == 0xe0) {
		n = 1, tmp[0] = '.';
	} else if (sel == 0xe1) {
		n = 2, memcpy(tmp, "..", 2);
	} else if (sel == 0xe2) {
		n = MOS_NAME_MAX + 1;
		memset(tmp, 'n', n);
	} else {
		const char *k = known_names[sel % ARRAY_SIZE(known_names)];

		n = strlen(k);
		memcpy(tmp, k, n);
	}
	if (*len + n + 1 > cap)
		return;
	memcpy(body + *len, tmp, n);
	*len += n;
	body[(*len)++] = 0;
}

static uint64_t pick(struct fuzz_in *in, const uint64_t *v, size_t n)
{
	uint8_t sel = fuzz_u8(in);

	if (sel >= 0xf8 || !n)
		return sel == 0xff ? fuzz_u64(in) : sel & 7;
	return v[sel % n];
}

static void one_request(struct kernel *k, struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in), body[4096];
	const struct opdesc *d = &ops[sel % ARRAY_SIZE(ops)];
	uint64_t nodeid;
	size_t len = 0, got;
	const uint8_t *raw;
	int32_t skew = 0;

	if (sel >= 0xf0) {
		/* anything at all: an opcode of its own, a header that lies */
		uint32_t op = fuzz_u32(in);

		nodeid = pick(in, k->nodes, k->nnodes);
		raw = fuzz_bytes(in, fuzz_u8(in), &got);
		memcpy(body, raw, got);
		skew = sel == 0xff ? (int8_t)fuzz_u8(in) : 0;
		exchange(k, op, nodeid, body, got, skew);
		return;
	}
	nodeid = pick(in, k->nodes, k->nnodes);
	raw = fuzz_bytes(in, d->fixed, &got);
	memset(body, 0, d->fixed);
	memcpy(body, raw, got);
	len = d->fixed;
	if (d->fh) {
		uint64_t fh =
			d->fh == 1 ? pick(in, k->fhs, k->nfhs) : pick(in, k->dirfhs, k->ndirfhs);

		memcpy(body, &fh, sizeof(fh));
	}
	if (d->node_at) {
		uint64_t id = pick(in, k->nodes, k->nnodes);

		memcpy(body + d->node_at - 1, &id, sizeof(id));
	}
	for (unsigned i = 0; i < d->names; i++)
		put_name(in, body, &len, sizeof(body));
	if (d->tail) {
		raw = fuzz_bytes(in, fuzz_u8(in), &got);
		memcpy(body + len, raw, got);
		if (d->op == FUSE_WRITE && !(sel & 1)) {
			uint32_t size = (uint32_t)got;

			memcpy(body + offsetof(struct fuse_write_in, size), &size, sizeof(size));
		}
		len += got;
	}
	if (d->op == FUSE_OPEN || d->op == FUSE_CREATE) {
		/* mostly the flags a program uses */
		static const uint32_t flags[] = { O_RDONLY, O_WRONLY | O_TRUNC, O_RDWR };
		uint32_t f = flags[body[0] % 3];

		if (!(body[1] & 0x80))
			memcpy(body, &f, sizeof(f)); /* flags lead both structs */
	}
	exchange(k, d->op, nodeid, body, len, 0);
}

static void fuse_init(struct kernel *k)
{
	struct fuse_init_in in = {
		.major = 7,
		.minor = 45,
		.max_readahead = 128 << 10,
		.flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS | FUSE_INIT_EXT |
			 FUSE_MAX_PAGES,
	};

	exchange(k, FUSE_INIT, 0, &in, sizeof(in), 0);
}

/* ---- the whole ---- */

static void add_blob(const char *content)
{
	uint8_t hash[CAS_HASH_LEN];
	struct cas_writer *w;
	_cleanup_close_ int fd = -1;
	char path[64];
	size_t len = strlen(content);
	int r;

	snprintf(path, sizeof(path), "%s/blob", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, content, len) < 0 || cas_hash_fd(fd, hash) < 0)
		fuzz_fail("hashing a blob: %m");
	unlink(path);
	if (cas_writer_begin(cas, hash, len, &w) < 0 ||
	    (len && cas_writer_write(w, 0, content, len) < 0))
		fuzz_fail("a cache blob");
	r = cas_writer_commit(w);
	if (r < 0)
		fuzz_fail("committing a cache blob: %s", strerror(-r));
	close(r);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	remove(path);
	return 0;
}

/* At the end of a run (not after a crash, whose state may help). */
static void remove_tmpdir(void)
{
	nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[64];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	fuzz_dead_conn();
	trace = getenv("MOS_FUZZ_TRACE");
	if (!mkdtemp(tmpdir))
		fuzz_fail("mkdtemp: %m");
	atexit(remove_tmpdir);
	snprintf(dir, sizeof(dir), "%s/cas", tmpdir);
	if (cas_open(dir, 64 << 20, &cas) < 0)
		fuzz_fail("cas_open %s", dir);
	add_blob("");
	add_blob("hello\n");
	return 0;
}

static void empty_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(dup(fd)) : NULL;
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(fd, de->d_name, 0);
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	struct remote_backend rb = { .conn = fuzz_dead_conn(), .cas = cas };
	struct origin_answers oa = { .rb = &rb };
	struct mosfs_config cfg = {
		.ops = &fuzz_origin_ops,
		.ctx = &oa,
		.origin_uid = 1000,
		.origin_gid = 1000,
		.job_uid = 1000,
		.job_gid = 1000,
		.nthreads = 1,
	};
	struct kernel k = { 0 };
	struct mosfs *fs = NULL;
	char scratch[64];
	int sv[2], before, nframes;
	bool refused = false;

	before = fuzz_count_fds();
	rb.opened = open_cache_new();
	pthread_mutex_init(&rb.lock, NULL);

	nframes = fuzz_u8(&in) % 9;
	for (int i = 0; i < nframes && !refused; i++) {
		uint8_t kind = fuzz_u8(&in);
		size_t len;
		const uint8_t *p = fuzz_bytes(&in, fuzz_u16(&in) % 4096, &len);

		refused = (kind & 1 ? remote_backend_preload_open(&rb, p, len)
				    : remote_backend_preload_listing(&rb, p, len, kind & 2)) < 0;
	}
	if (refused)
		goto out;
	for (int i = 0; i < 8; i++)
		oa.verdict[i] = fuzz_u8(&in);

	snprintf(scratch, sizeof(scratch), "%s/scratch", tmpdir);
	if (mkdir(scratch, 0700) < 0 && errno != EEXIST)
		fuzz_fail("mkdir %s: %m", scratch);
	cfg.scratch_dir = scratch;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair: %m");
	if (mosfs_start(&cfg, sv[1], &fs) < 0)
		fuzz_fail("mosfs_start");
	k.fd = sv[0];
	k.buf = xmalloc(REPLY_BUF);
	remember(k.nodes, &k.nnodes, FUSE_ROOT_ID);
	fuse_init(&k);
	for (int i = 0; i < MAX_REQUESTS && fuzz_in_left(&in); i++)
		one_request(&k, &in);

	/* the mount ends */
	mosfs_free(fs);
	close(sv[0]);
	close(sv[1]);
	free(k.buf);
	empty_dir(scratch);
out:
	remote_backend_free_preloaded(&rb);
	open_cache_free(rb.opened);
	pthread_mutex_destroy(&rb.lock);
	if (fuzz_count_fds() != before)
		fuzz_fail("%d fds more than before", fuzz_count_fds() - before);
	return 0;
}
