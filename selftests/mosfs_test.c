// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs_test.c - mosfs served from a local directory: reads (with and
 * without passthrough), cached listings and negative lookups, write-back on
 * close and its errors, namespace changes, a program run from the mount,
 * and the ends of a mount (unmount, abort).
 *
 * Each test mounts mosfs in a private mount namespace of its own process,
 * on t_dir()/mnt, backed by a small backend that maps the job's "/" to a
 * source directory (t_dir()/src, or the real "/").  Needs root (mounting
 * FUSE) and CONFIG_FUSE_FS; the passthrough test needs
 * CONFIG_FUSE_PASSTHROUGH.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mosfs.h"

#define JOB_UID 1234
#define JOB_GID 2345

/* ---- a local backend: the job's "/" is SRC ---- */

struct src {
	char root[4096]; /* "" for the real "/" */
	pthread_mutex_t lock;
	char listed[64][256];
	int listed_count[64];
	int nlisted;
	int put_err; /* put_file answers this when non-zero */
};

static void src_path(struct src *s, const char *path, char *out)
{
	if (snprintf(out, 4096, "%s%s", s->root, path) >= 4096)
		out[0] = '\0';
}

static void attr_from_stat(const struct stat *st, struct mos_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime_sec = st->st_atim.tv_sec;
	a->atime_nsec = (uint32_t)st->st_atim.tv_nsec;
	a->mtime_sec = st->st_mtim.tv_sec;
	a->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctime_sec = st->st_ctim.tv_sec;
	a->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->nlink = (uint32_t)st->st_nlink;
	a->rdev = (uint32_t)st->st_rdev;
}

static void count_listdir(struct src *s, const char *path)
{
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nlisted; i++) {
		if (!strcmp(s->listed[i], path)) {
			s->listed_count[i]++;
			pthread_mutex_unlock(&s->lock);
			return;
		}
	}
	if (s->nlisted < 64) {
		snprintf(s->listed[s->nlisted], 256, "%s", path);
		s->listed_count[s->nlisted++] = 1;
	}
	pthread_mutex_unlock(&s->lock);
}

static int listdir_calls(struct src *s, const char *path)
{
	int n = 0;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nlisted; i++)
		if (!strcmp(s->listed[i], path))
			n = s->listed_count[i];
	pthread_mutex_unlock(&s->lock);
	return n;
}

static int b_listdir(void *ctx, const char *path, struct mos_attr *dir, struct origin_dirent **ents,
		     size_t *n)
{
	struct src *s = ctx;
	struct origin_dirent *v = NULL;
	size_t nv = 0;
	char p[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;

	count_listdir(s, path);
	src_path(s, path[1] ? path : "/", p);
	d = opendir(p);
	if (!d)
		return -errno;
	if (fstat(dirfd(d), &st) < 0) {
		closedir(d);
		return -EIO;
	}
	attr_from_stat(&st, dir);
	while ((de = readdir(d))) {
		char link[4096];
		ssize_t l;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		v = realloc(v, (nv + 1) * sizeof(*v));
		memset(&v[nv], 0, sizeof(*v));
		v[nv].name = strdup(de->d_name);
		attr_from_stat(&st, &v[nv].attr);
		if (S_ISLNK(st.st_mode)) {
			l = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
			link[l > 0 ? l : 0] = '\0';
			v[nv].link = strdup(link);
		}
		nv++;
	}
	closedir(d);
	*ents = v;
	*n = nv;
	return 0;
}

static int b_open_blob(void *ctx, const char *path, struct mos_attr *attr, int *fd)
{
	char p[4096];
	struct stat st;

	src_path(ctx, path, p);
	*fd = open(p, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	fstat(*fd, &st);
	attr_from_stat(&st, attr);
	return 0;
}

static int b_put_file(void *ctx, const char *path, int fd, uint32_t mode,
		      const struct timespec *mtime, bool (*give_up)(void *arg), void *arg)
{
	(void)give_up; /* the test's writers are not killed */
	(void)arg;
	struct src *s = ctx;
	char p[4096], tmp[4200], buf[65536];
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, *mtime };
	off_t off = 0;
	ssize_t n;
	int out;

	if (s->put_err)
		return s->put_err;
	src_path(s, path, p);
	/* temp + rename, as the real origin does: a write-back racing a reader
	 * (a RELEASE after the test's close) never shows a half-written file */
	snprintf(tmp, sizeof(tmp), "%s.put-%lx", p, (unsigned long)pthread_self());
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0)
		return -errno;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			close(out);
			unlink(tmp);
			return -EIO;
		}
		off += n;
	}
	fchmod(out, mode);
	futimens(out, ts);
	close(out);
	if (n < 0 || rename(tmp, p) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

#define SYSCALL_OP(name, call)                  \
	static int b_##name OP_ARGS_##name      \
	{                                       \
		char p[4096], q[4096];          \
		(void)q;                        \
		src_path(ctx, path, p);         \
		return (call) < 0 ? -errno : 0; \
	}

#define OP_ARGS_mkdir (void *ctx, const char *path, uint32_t mode)
#define OP_ARGS_unlink (void *ctx, const char *path)
#define OP_ARGS_rmdir (void *ctx, const char *path)
#define OP_ARGS_chmod (void *ctx, const char *path, uint32_t mode)
#define OP_ARGS_truncate (void *ctx, const char *path, uint64_t size)
#define OP_ARGS_utimens (void *ctx, const char *path, const struct timespec times[2])
SYSCALL_OP(mkdir, mkdir(p, mode))
SYSCALL_OP(unlink, unlink(p))
SYSCALL_OP(rmdir, rmdir(p))
SYSCALL_OP(chmod, chmod(p, mode))
SYSCALL_OP(truncate, truncate(p, (off_t)size))
SYSCALL_OP(utimens, utimensat(AT_FDCWD, p, times, AT_SYMLINK_NOFOLLOW))

static int b_rename(void *ctx, const char *from, const char *to, uint32_t flags)
{
	char p[4096], q[4096];

	src_path(ctx, from, p);
	src_path(ctx, to, q);
	return renameat2(AT_FDCWD, p, AT_FDCWD, q, flags) < 0 ? -errno : 0;
}

static int b_symlink(void *ctx, const char *target, const char *path)
{
	char p[4096];

	src_path(ctx, path, p);
	return symlink(target, p) < 0 ? -errno : 0;
}

static int b_link(void *ctx, const char *from, const char *to)
{
	char p[4096], q[4096];

	src_path(ctx, from, p);
	src_path(ctx, to, q);
	return link(p, q) < 0 ? -errno : 0;
}

static const struct mosfs_backend_ops local_ops = {
	.listdir = b_listdir,
	.open_blob = b_open_blob,
	.put_file = b_put_file,
	.mkdir = b_mkdir,
	.unlink = b_unlink,
	.rmdir = b_rmdir,
	.rename = b_rename,
	.symlink = b_symlink,
	.link = b_link,
	.chmod = b_chmod,
	.truncate = b_truncate,
	.utimens = b_utimens,
};

/* ---- fixture ---- */

struct fx {
	struct src src;
	struct mosfs_config cfg;
	struct mosfs *fs;
	char mnt[4096];
	bool mounted;
	int fd;
};

/* SRC_ROOT NULL: t_dir()/src.  Mounts on t_dir()/mnt and serves it. */
static void fx_setup(struct fx *f, const char *src_root, uint32_t job_uid, uint32_t job_gid)
{
	const char *scratch = t_path("scratch");
	int fd, r;

	if (!t_is_root())
		t_skip("needs root (mounting FUSE needs CAP_SYS_ADMIN)");
	if (access("/dev/fuse", F_OK) != 0)
		t_skip("no /dev/fuse: kernel without FUSE (CONFIG_FUSE_FS)");
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		t_fail("private mount namespace: %s", strerror(errno));
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->src.lock, NULL);
	if (src_root) {
		snprintf(f->src.root, sizeof(f->src.root), "%s", src_root);
	} else {
		snprintf(f->src.root, sizeof(f->src.root), "%s", t_path("src"));
		T_ASSERT(mkdir(f->src.root, 0755) == 0);
	}
	snprintf(f->mnt, sizeof(f->mnt), "%s", t_path("mnt"));
	T_ASSERT(mkdir(f->mnt, 0755) == 0);
	T_ASSERT(mkdir(scratch, 0700) == 0);
	f->cfg = (struct mosfs_config){
		.ops = &local_ops,
		.ctx = &f->src,
		.scratch_dir = scratch,
		.origin_uid = 0,
		.origin_gid = 0,
		.job_uid = job_uid,
		.job_gid = job_gid,
		.nthreads = 4,
		.passthrough = true,
	};
	fd = f->fd = mosfs_open_device();
	if (fd == -ENOENT || fd == -ENODEV)
		t_skip("cannot open /dev/fuse (%s): kernel without FUSE (CONFIG_FUSE_FS)",
		       strerror(-fd));
	T_ASSERT(fd >= 0);
	r = mosfs_mount(fd, f->mnt);
	if (r < 0)
		t_fail("mount fuse.mosfs on %s: %s", f->mnt, strerror(-r));
	f->mounted = true;
	r = mosfs_start(&f->cfg, fd, &f->fs);
	if (r < 0)
		t_fail("mosfs_start: %s", strerror(-r));
}

static void fx_teardown(struct fx *f)
{
	if (f->mounted && umount2(f->mnt, MNT_DETACH) < 0)
		t_fail("umount %s: %s", f->mnt, strerror(errno));
	f->mounted = false;
	mosfs_wait(f->fs);
	mosfs_free(f->fs);
	f->fs = NULL;
	close(f->fd);
}

static const char *mp(struct fx *f, const char *rel)
{
	static char buf[8][4096];
	static int slot;
	char *b = buf[slot++ % 8];

	if (snprintf(b, 4096, "%s/%s", f->mnt, rel) >= 4096)
		t_fail("path too long");
	return b;
}

static const char *sp(struct fx *f, const char *rel)
{
	static char buf[8][4096];
	static int slot;
	char *b = buf[slot++ % 8];

	if (snprintf(b, 4096, "%s/%s", f->src.root, rel) >= 4096)
		t_fail("path too long");
	return b;
}

static char *slurp(const char *path)
{
	static char buf[8][65536];
	static int slot;
	char *b = buf[slot++ % 8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		t_fail("open %s: %s", path, strerror(errno));
	n = read(fd, b, sizeof(buf[0]) - 1);
	if (n < 0)
		t_fail("read %s: %s", path, strerror(errno));
	b[n] = '\0';
	close(fd);
	return b;
}

static void write_str(const char *path, int flags, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);

	if (fd < 0)
		t_fail("open %s: %s", path, strerror(errno));
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		t_fail("write %s: %s", path, strerror(errno));
	if (close(fd) < 0)
		t_fail("close %s: %s", path, strerror(errno));
}

/* ---- tests ---- */

TEST(mosfs_read_content)
{
	struct fx f;

	fx_setup(&f, NULL, 0, 0);
	T_ASSERT(mkdir(sp(&f, "dir"), 0755) == 0);
	t_write_file(sp(&f, "dir/a.txt"), "hello from the origin\n");
	T_EXPECT_STR(slurp(mp(&f, "dir/a.txt")), "hello from the origin");
	/* A second open reads the same content. */
	T_EXPECT_STR(slurp(mp(&f, "dir/a.txt")), "hello from the origin");
	fx_teardown(&f);
}

TEST(mosfs_attributes)
{
	struct fx f;
	struct stat a, b;

	fx_setup(&f, NULL, JOB_UID, JOB_GID);
	t_write_file(sp(&f, "file"), "0123456789");
	T_ASSERT(chmod(sp(&f, "file"), 0640) == 0);
	T_ASSERT(lstat(sp(&f, "file"), &a) == 0);
	T_ASSERT(lstat(mp(&f, "file"), &b) == 0);
	T_EXPECT_EQ(b.st_size, 10);
	T_EXPECT_EQ(b.st_mode, S_IFREG | 0640);
	T_EXPECT_EQ(b.st_mtim.tv_sec, a.st_mtim.tv_sec);
	T_EXPECT_EQ(b.st_mtim.tv_nsec, a.st_mtim.tv_nsec);
	/* origin root -> the job's ids */
	T_EXPECT_EQ(b.st_uid, JOB_UID);
	T_EXPECT_EQ(b.st_gid, JOB_GID);
	T_ASSERT(stat(f.mnt, &b) == 0);
	T_ASSERT(S_ISDIR(b.st_mode));
	fx_teardown(&f);
}

TEST(mosfs_symlink_readlink)
{
	struct fx f;
	char buf[256];
	ssize_t n;

	fx_setup(&f, NULL, 0, 0);
	t_write_file(sp(&f, "target"), "via link");
	T_ASSERT(symlink("target", sp(&f, "lnk")) == 0);
	n = readlink(mp(&f, "lnk"), buf, sizeof(buf) - 1);
	T_ASSERT(n == 6);
	buf[n] = '\0';
	T_EXPECT_STR(buf, "target");
	T_EXPECT_STR(slurp(mp(&f, "lnk")), "via link");
	fx_teardown(&f);
}

TEST(mosfs_listing_cached_negative_lookup)
{
	struct fx f;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int seen = 0;

	fx_setup(&f, NULL, 0, 0);
	T_ASSERT(mkdir(sp(&f, "sub"), 0755) == 0);
	t_write_file(sp(&f, "sub/x"), "x");
	t_write_file(sp(&f, "sub/y"), "y");
	T_ASSERT(stat(mp(&f, "sub/missing"), &st) < 0 && errno == ENOENT);
	T_ASSERT(stat(mp(&f, "sub/missing"), &st) < 0 && errno == ENOENT);
	T_ASSERT(stat(mp(&f, "sub/other-missing"), &st) < 0 && errno == ENOENT);
	T_ASSERT(stat(mp(&f, "sub/x"), &st) == 0);
	T_EXPECT_EQ(listdir_calls(&f.src, "/sub"), 1);
	/* Created on the origin after the listing: not seen by this job. */
	t_write_file(sp(&f, "sub/late"), "late");
	T_ASSERT(stat(mp(&f, "sub/late"), &st) < 0 && errno == ENOENT);
	d = opendir(mp(&f, "sub"));
	T_ASSERT(d);
	while ((de = readdir(d)))
		seen |= !strcmp(de->d_name, "x") ? 1 : !strcmp(de->d_name, "y") ? 2 : 0;
	closedir(d);
	T_EXPECT_EQ(seen, 3);
	T_EXPECT_EQ(listdir_calls(&f.src, "/sub"), 1);
	fx_teardown(&f);
}

TEST(mosfs_passthrough_reads)
{
	struct fx f;
	struct mosfs_stats st;
	char big[200000];
	int fd;
	ssize_t n, total = 0;

	fx_setup(&f, NULL, 0, 0);
	memset(big, 'p', sizeof(big));
	fd = open(sp(&f, "big"), O_WRONLY | O_CREAT, 0644);
	T_ASSERT(fd >= 0 && write(fd, big, sizeof(big)) == (ssize_t)sizeof(big));
	close(fd);
	fd = open(mp(&f, "big"), O_RDONLY);
	T_ASSERT(fd >= 0);
	if (!mosfs_passthrough_active(f.fs)) {
		close(fd);
		fx_teardown(&f);
		t_skip("kernel without FUSE passthrough (CONFIG_FUSE_PASSTHROUGH)");
	}
	while ((n = read(fd, big, sizeof(big))) > 0)
		total += n;
	close(fd);
	T_EXPECT_EQ(total, (ssize_t)sizeof(big));
	mosfs_get_stats(f.fs, &st);
	T_EXPECT_EQ(st.reads, 0);
	T_ASSERT(st.passthrough_opens >= 1);
	fx_teardown(&f);
}

TEST(mosfs_write_back_on_close)
{
	struct fx f;
	struct mosfs_stats st;
	int fd;

	fx_setup(&f, NULL, 0, 0);
	t_write_file(sp(&f, "old.txt"), "first line\n");
	write_str(mp(&f, "new.txt"), O_CREAT | O_TRUNC, "written in the job\n");
	T_EXPECT_STR(slurp(sp(&f, "new.txt")), "written in the job");
	T_EXPECT_STR(slurp(mp(&f, "new.txt")), "written in the job");
	/* An existing file: copied up, appended to, written back. */
	T_EXPECT_STR(slurp(mp(&f, "old.txt")), "first line");
	write_str(mp(&f, "old.txt"), O_APPEND, "second line\n");
	T_EXPECT_STR(slurp(sp(&f, "old.txt")), "first line\nsecond line\n");
	/* Truncate through an open, written file applies to its copy. */
	fd = open(mp(&f, "old.txt"), O_RDWR);
	T_ASSERT(fd >= 0);
	T_ASSERT(ftruncate(fd, 5) == 0);
	T_ASSERT(close(fd) == 0);
	T_EXPECT_EQ(strlen(slurp(sp(&f, "old.txt"))), 5);
	mosfs_get_stats(f.fs, &st);
	T_ASSERT(st.writebacks >= 3);
	T_EXPECT_EQ(mosfs_writeback_error(f.fs, NULL, 0), 0);
	fx_teardown(&f);
}

TEST(mosfs_write_back_error_on_close)
{
	struct fx f;
	char path[256];
	int fd;

	fx_setup(&f, NULL, 0, 0);
	f.src.put_err = -ENOSPC;
	fd = open(mp(&f, "full.txt"), O_WRONLY | O_CREAT, 0644);
	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, "data", 4) == 4);
	errno = 0;
	T_ASSERT(close(fd) < 0);
	T_EXPECT_EQ(errno, ENOSPC);
	T_EXPECT_EQ(mosfs_writeback_error(f.fs, path, sizeof(path)), -ENOSPC);
	T_EXPECT_STR(path, "/full.txt");
	fx_teardown(&f);
}

TEST(mosfs_namespace_changes)
{
	struct fx f;
	struct stat st;
	char buf[64];
	ssize_t n;

	fx_setup(&f, NULL, 0, 0);
	t_write_file(sp(&f, "f1"), "one");
	t_write_file(sp(&f, "gone"), "bye");
	T_ASSERT(mkdir(mp(&f, "d"), 0750) == 0);
	T_ASSERT(stat(sp(&f, "d"), &st) == 0 && S_ISDIR(st.st_mode));
	T_ASSERT(rename(mp(&f, "f1"), mp(&f, "d/f2")) == 0);
	T_ASSERT(access(sp(&f, "f1"), F_OK) < 0);
	T_EXPECT_STR(slurp(sp(&f, "d/f2")), "one");
	T_EXPECT_STR(slurp(mp(&f, "d/f2")), "one");
	T_ASSERT(unlink(mp(&f, "gone")) == 0);
	T_ASSERT(access(sp(&f, "gone"), F_OK) < 0);
	T_ASSERT(access(mp(&f, "gone"), F_OK) < 0);
	T_ASSERT(symlink("d/f2", mp(&f, "sl")) == 0);
	n = readlink(sp(&f, "sl"), buf, sizeof(buf) - 1);
	T_ASSERT(n == 4);
	n = readlink(mp(&f, "sl"), buf, sizeof(buf) - 1);
	T_ASSERT(n == 4);
	T_ASSERT(chmod(mp(&f, "d/f2"), 0600) == 0);
	T_ASSERT(stat(sp(&f, "d/f2"), &st) == 0);
	T_EXPECT_EQ(st.st_mode & 07777, 0600);
	T_ASSERT(stat(mp(&f, "d/f2"), &st) == 0);
	T_EXPECT_EQ(st.st_mode & 07777, 0600);
	T_ASSERT(truncate(mp(&f, "d/f2"), 1) == 0);
	T_ASSERT(stat(sp(&f, "d/f2"), &st) == 0);
	T_EXPECT_EQ(st.st_size, 1);
	T_ASSERT(link(mp(&f, "d/f2"), mp(&f, "hl")) == 0);
	T_ASSERT(stat(sp(&f, "hl"), &st) == 0);
	T_EXPECT_EQ(st.st_nlink, 2);
	T_ASSERT(unlink(mp(&f, "hl")) == 0);
	T_ASSERT(unlink(mp(&f, "d/f2")) == 0);
	T_ASSERT(rmdir(mp(&f, "d")) == 0);
	T_ASSERT(access(sp(&f, "d"), F_OK) < 0);
	T_ASSERT(rmdir(mp(&f, "sl")) < 0 && errno == ENOTDIR);
	fx_teardown(&f);
}

TEST(mosfs_exec_from_real_root)
{
	struct fx f;
	int pipefd[2], st;
	char out[64] = "";
	ssize_t n;
	pid_t pid;

	fx_setup(&f, "", 0, 0);
	T_ASSERT(pipe(pipefd) == 0);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		if (chroot(f.mnt) < 0 || chdir("/") < 0)
			_exit(126);
		execl("/bin/sh", "sh", "-c", "echo ok", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	n = read(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	T_ASSERT(waitpid(pid, &st, 0) == pid);
	if (n > 0)
		out[n] = '\0';
	T_ASSERT(WIFEXITED(st));
	T_EXPECT_EQ(WEXITSTATUS(st), 0);
	T_EXPECT_STR(out, "ok");
	fx_teardown(&f);
}

TEST(mosfs_umount_ends_wait)
{
	struct fx f;
	struct stat st;

	fx_setup(&f, NULL, 0, 0);
	T_ASSERT(stat(mp(&f, "."), &st) == 0);
	T_ASSERT(umount2(f.mnt, MNT_DETACH) == 0);
	f.mounted = false;
	mosfs_wait(f.fs); /* returns only once the kernel ended the connection */
	mosfs_free(f.fs);
	close(f.fd);
}

TEST(mosfs_abort_unblocks)
{
	struct fx f;
	struct stat st;

	fx_setup(&f, NULL, 0, 0);
	t_write_file(sp(&f, "a"), "a");
	T_ASSERT(stat(mp(&f, "a"), &st) == 0);
	mosfs_abort(f.fs);
	mosfs_wait(f.fs);
	mosfs_free(f.fs);
	/* Closing the device ends the connection: the mount answers ENOTCONN. */
	close(f.fd);
	T_ASSERT(stat(mp(&f, "b"), &st) < 0);
	T_EXPECT_EQ(errno, ENOTCONN);
	T_ASSERT(umount2(f.mnt, MNT_DETACH) == 0);
}

struct reader {
	struct fx *f;
	int k;
	int result; /* 0, or which check failed */
};

/* One reader: threads, not forked processes, since this process also serves
 * the mount (a child forked from a threaded process may inherit a lock held
 * by a serving thread, allocator's included, and hang). */
static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	char path[4200], want[64], got[64];

	for (int it = 0; it < 50 && !r->result; it++) {
		int d = (r->k + it) % 4, i = (r->k * 7 + it) % 16;
		struct stat sb;
		DIR *dir;
		ssize_t len;
		int fd, n = 0;

		snprintf(path, sizeof(path), "%s/d%d/f%d", r->f->mnt, d, i);
		snprintf(want, sizeof(want), "content %d %d", d, i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		len = fd >= 0 ? read(fd, got, sizeof(got) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (len < 0 || (got[len] = 0, strcmp(got, want)))
			r->result = 1;
		snprintf(path, sizeof(path), "%s/d%d/nope%d", r->f->mnt, d, it);
		if (stat(path, &sb) == 0 || errno != ENOENT)
			r->result = 2;
		snprintf(path, sizeof(path), "%s/d%d", r->f->mnt, d);
		dir = opendir(path);
		if (!dir) {
			r->result = 3;
			break;
		}
		while (readdir(dir))
			n++;
		closedir(dir);
		if (n != 18)
			r->result = 4;
	}
	return NULL;
}

TEST(mosfs_parallel_readers)
{
	struct fx f;
	char name[64], want[64];
	struct reader rd[8];
	pthread_t th[8];

	fx_setup(&f, NULL, 0, 0);
	for (int d = 0; d < 4; d++) {
		snprintf(name, sizeof(name), "d%d", d);
		T_ASSERT(mkdir(sp(&f, name), 0755) == 0);
		for (int i = 0; i < 16; i++) {
			snprintf(name, sizeof(name), "d%d/f%d", d, i);
			snprintf(want, sizeof(want), "content %d %d", d, i);
			t_write_file(sp(&f, name), want);
		}
	}
	for (int k = 0; k < 8; k++) {
		rd[k] = (struct reader){ .f = &f, .k = k };
		T_ASSERT(pthread_create(&th[k], NULL, reader_thread, &rd[k]) == 0);
	}
	for (int k = 0; k < 8; k++) {
		pthread_join(th[k], NULL);
		if (rd[k].result)
			t_fail("reader %d failed check %d", k, rd[k].result);
	}
	for (int d = 0; d < 4; d++) {
		snprintf(name, sizeof(name), "/d%d", d);
		T_EXPECT_EQ(listdir_calls(&f.src, name), 1);
	}
	fx_teardown(&f);
}

TEST(mosfs_shared_mapping_written_back)
{
	struct fx f;
	char *p;
	int fd;

	fx_setup(&f, NULL, 0, 0);
	t_write_file(sp(&f, "mapped"), "aaaaaaaa");
	fd = open(mp(&f, "mapped"), O_RDWR);
	T_ASSERT(fd >= 0);
	p = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	T_ASSERT(p != MAP_FAILED);
	memcpy(p, "bbbb", 4);
	T_ASSERT(munmap(p, 8) == 0);
	T_ASSERT(close(fd) == 0);
	T_EXPECT_STR(slurp(sp(&f, "mapped")), "bbbbaaaa");
	fx_teardown(&f);
}

TEST(mosfs_write_open_while_reading)
{
	struct fx f;
	int rfd, wfd;

	fx_setup(&f, NULL, 0, 0);
	t_write_file(sp(&f, "shared"), "old");
	rfd = open(mp(&f, "shared"), O_RDONLY);
	T_ASSERT(rfd >= 0);
	wfd = open(mp(&f, "shared"), O_WRONLY | O_TRUNC);
	if (mosfs_passthrough_active(f.fs)) {
		/* One backing file per inode, and the blob is read-only. */
		T_ASSERT(wfd < 0);
		T_EXPECT_EQ(errno, EBUSY);
		close(rfd);
		write_str(mp(&f, "shared"), O_TRUNC, "new");
	} else {
		T_ASSERT(wfd >= 0);
		T_ASSERT(write(wfd, "new", 3) == 3);
		T_ASSERT(close(wfd) == 0);
		close(rfd);
	}
	T_EXPECT_STR(slurp(sp(&f, "shared")), "new");
	T_EXPECT_STR(slurp(mp(&f, "shared")), "new");
	fx_teardown(&f);
}
