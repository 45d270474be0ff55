// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_origin_fs.c - the origin's file service on a scratch directory:
 * path validation, listdir/stat without following symlinks, hashing and the
 * hash cache (in memory and persisted), fetch of announced blobs, atomic
 * puts, and the namespace operations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "origin_fs.h"
#include "util.h"

static char tmpdir[] = "/tmp/test_origin_fs.XXXXXX";

static const uint8_t sha_hello[32] = {
	0x58, 0x91, 0xb5, 0xb5, 0x22, 0xd5, 0xdf, 0x08, 0x6d, 0x0f, 0xf0,
	0xb1, 0x10, 0xfb, 0xd9, 0xd2, 0x1b, 0xb4, 0xfc, 0x71, 0x63, 0xaf,
	0x34, 0xd0, 0x82, 0x86, 0xa2, 0xe8, 0x46, 0xf6, 0xbe, 0x03,
}; /* "hello\n" */
static const uint8_t sha_hello_world[32] = {
	0xa9, 0x48, 0x90, 0x4f, 0x2f, 0x0f, 0x47, 0x9b, 0x8f, 0x81, 0x97,
	0x69, 0x4b, 0x30, 0x18, 0x4b, 0x0d, 0x2e, 0xd1, 0xc1, 0xcd, 0x2a,
	0x1e, 0xc0, 0xfb, 0x85, 0xd2, 0x99, 0xa1, 0x92, 0xa4, 0x47,
}; /* "hello world\n" */
static const uint8_t sha_upper[32] = {
	0x3b, 0x09, 0xae, 0xb6, 0xf5, 0xf5, 0x33, 0x6b, 0xeb, 0x20, 0x5d,
	0x7f, 0x72, 0x03, 0x71, 0xbc, 0x92, 0x7c, 0xd4, 0x6c, 0x21, 0x92,
	0x2e, 0x33, 0x4d, 0x47, 0xba, 0x26, 0x4a, 0xcb, 0x5b, 0xa4,
}; /* "HELLO\n" */

/* An absolute path under the scratch directory (a few live at once). */
static const char *P(const char *rel)
{
	static char bufs[8][PATH_MAX];
	static unsigned int i;
	char *b = bufs[i++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", tmpdir, rel);
	return b;
}

/* Create or rewrite in place (same inode). */
static void put_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, content, strlen(content)), 0);
	close(fd);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* Let files written so far stop being "racily clean" (see origin_fs.c). */
static void age(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Entries of DIR whose names start with PREFIX. */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static int count_fds(void)
{
	return count_prefixed("/proc/self/fd", "") - 2; /* less "." and ".." */
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	umask(022);
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	/* make anything a test left unwritable removable again */
	chmod(P("ro"), 0755);
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* P(REL) in a string of its own. */
static char *t_strdup_P(const char *rel)
{
	return xstrdup(P(rel));
}

static struct origin_fs *new_fs(const char *cache)
{
	struct origin_fs *o = NULL;

	assert_int_equal(origin_fs_new(cache, &o), 0);
	assert_non_null(o);
	return o;
}

static struct origin_stats stats_of(struct origin_fs *o)
{
	struct origin_stats s;

	origin_fs_get_stats(o, &s);
	return s;
}

static void test_path_check(void **state)
{
	static const struct {
		const char *p;
		int r;
	} cases[] = {
		{ "/", 0 },
		{ "/a", 0 },
		{ "/a/b/c", 0 },
		{ "/.hidden", 0 },
		{ "/..a", 0 },
		{ "/a..", 0 },
		{ "/a/...", 0 },
		{ "/a b/c\td", 0 },
		{ "", -EINVAL },
		{ "a", -EINVAL },
		{ "a/b", -EINVAL },
		{ "./a", -EINVAL },
		{ "../a", -EINVAL },
		{ "/.", -EINVAL },
		{ "/..", -EINVAL },
		{ "/a/.", -EINVAL },
		{ "/a/..", -EINVAL },
		{ "/a/./b", -EINVAL },
		{ "/a/../b", -EINVAL },
		{ "/../etc/passwd", -EINVAL },
		/* one spelling per path: no empty component, no trailing slash */
		{ "//", -EINVAL },
		{ "//a", -EINVAL },
		{ "/a//b", -EINVAL },
		{ "/a/", -EINVAL },
	};
	char *longp = xmalloc(MOS_PATH_MAX + 2);
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = origin_path_check(cases[i].p);

		if (r != cases[i].r) {
			print_message("# origin_path_check(\"%s\") = %d, expected %d\n", cases[i].p,
				      r, cases[i].r);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	assert_int_equal(origin_path_check(NULL), -EINVAL);

	/* "/aaa.../aaa..." of exactly LEN bytes, components of 200 */
	for (size_t len = MOS_PATH_MAX - 1; len <= MOS_PATH_MAX + 1; len++) {
		for (size_t i = 0; i < len; i++)
			longp[i] = i % 201 == 0 ? '/' : 'a';
		if (longp[len - 1] == '/')
			longp[len - 1] = 'a';
		longp[len] = '\0';
		assert_int_equal(origin_path_check(longp), len < MOS_PATH_MAX ? 0 : -EINVAL);
	}
	free(longp);
}

/* Every operation applies the check before touching anything. */
static void test_every_op_checks_paths(void **state)
{
	static const char *const bad[] = { "", "rel", "/x/../y", "/x/./y", "//x", "/x/" };
	struct origin_fs *o = new_fs(NULL);
	struct origin_dirent *ents = NULL;
	struct origin_put *p = NULL;
	const char *good = P("good");
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	struct mos_attr a;
	uint8_t sha[32];
	char *link = NULL;
	size_t n = 0;

	(void)state;
	put_file(good, "x");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *b = bad[i];

		assert_int_equal(origin_listdir(o, b, &a, &ents, &n), -EINVAL);
		assert_null(ents);
		assert_int_equal(origin_stat(o, b, &a, &link), -EINVAL);
		assert_null(link);
		assert_int_equal(origin_open(o, b, &a, sha), -EINVAL);
		assert_int_equal(origin_put_begin(o, b, 0644, -1, &p), -EINVAL);
		assert_null(p);
		assert_int_equal(origin_mkdir(o, b, 0755), -EINVAL);
		assert_int_equal(origin_unlink(o, b), -EINVAL);
		assert_int_equal(origin_rmdir(o, b), -EINVAL);
		assert_int_equal(origin_rename(o, b, good, 0), -EINVAL);
		assert_int_equal(origin_rename(o, good, b, 0), -EINVAL);
		assert_int_equal(origin_symlink(o, "t", b), -EINVAL);
		assert_int_equal(origin_link(o, b, good), -EINVAL);
		assert_int_equal(origin_link(o, good, b), -EINVAL);
		assert_int_equal(origin_chmod(o, b, 0644), -EINVAL);
		assert_int_equal(origin_truncate(o, b, 0), -EINVAL);
		assert_int_equal(origin_utimens(o, b, ts), -EINVAL);
	}
	assert_string_equal(slurp(good), "x");
	assert_int_equal(unlink(good), 0);
	origin_fs_free(o);
}

static const struct origin_dirent *find_ent(const struct origin_dirent *e, size_t n,
					    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return &e[i];
	return NULL;
}

static void test_listdir(void **state)
{
	struct origin_fs *o = new_fs(NULL);
	struct origin_dirent *ents = NULL;
	const struct origin_dirent *e;
	struct mos_attr dir;
	struct stat st;
	size_t n = 0;
	int r;

	(void)state;
	assert_int_equal(mkdir(P("ls"), 0755), 0);
	put_file(P("ls/f"), "abc");
	assert_int_equal(mkdir(P("ls/sub"), 0700), 0);
	assert_int_equal(symlink("f", P("ls/l")), 0);
	assert_int_equal(symlink("/nonexistent/target", P("ls/dangling")), 0);
	assert_int_equal(symlink(P("ls/sub"), P("ls/dirlink")), 0);

	assert_int_equal(origin_listdir(o, P("ls"), &dir, &ents, &n), 0);
	assert_int_equal(n, 5);
	assert_true(S_ISDIR(dir.mode));
	assert_int_equal(stat(P("ls"), &st), 0);
	assert_int_equal(dir.ino, st.st_ino);
	assert_null(find_ent(ents, n, "."));
	assert_null(find_ent(ents, n, ".."));

	e = find_ent(ents, n, "f");
	assert_non_null(e);
	assert_true(S_ISREG(e->attr.mode));
	assert_int_equal(e->attr.size, 3);
	assert_int_equal(e->attr.nlink, 1);
	assert_int_equal(e->attr.pad, 0);
	assert_null(e->link);

	e = find_ent(ents, n, "sub");
	assert_non_null(e);
	assert_true(S_ISDIR(e->attr.mode));
	assert_int_equal(e->attr.mode & 07777, 0700);
	assert_null(e->link);

	/* symlinks: the link itself, with its target, never followed */
	e = find_ent(ents, n, "l");
	assert_non_null(e);
	assert_true(S_ISLNK(e->attr.mode));
	assert_int_equal(e->attr.size, 1);
	assert_string_equal(e->link, "f");
	e = find_ent(ents, n, "dangling");
	assert_non_null(e);
	assert_true(S_ISLNK(e->attr.mode));
	assert_string_equal(e->link, "/nonexistent/target");
	e = find_ent(ents, n, "dirlink");
	assert_non_null(e);
	assert_true(S_ISLNK(e->attr.mode));
	assert_string_equal(e->link, P("ls/sub"));
	origin_dirents_free(ents, n);

	/* an empty directory */
	assert_int_equal(origin_listdir(o, P("ls/sub"), &dir, &ents, &n), 0);
	assert_int_equal(n, 0);
	origin_dirents_free(ents, n);

	/* not through a final symlink, not a file, not a missing path */
	ents = NULL;
	r = origin_listdir(o, P("ls/dirlink"), &dir, &ents, &n);
	assert_true(r == -ELOOP || r == -ENOTDIR);
	assert_null(ents);
	assert_int_equal(origin_listdir(o, P("ls/f"), &dir, &ents, &n), -ENOTDIR);
	assert_int_equal(origin_listdir(o, P("ls/missing"), &dir, &ents, &n), -ENOENT);
	/* nor through an intermediate one (test_no_symlink_in_any_component) */
	assert_int_equal(origin_listdir(o, P("ls/dirlink/sub"), &dir, &ents, &n), -ELOOP);
	assert_int_equal(symlink("ls", P("ls_link")), 0);
	assert_int_equal(origin_listdir(o, P("ls_link/sub"), &dir, &ents, &n), -ELOOP);
	assert_null(ents);

	/* the root */
	assert_int_equal(origin_listdir(o, "/", &dir, &ents, &n), 0);
	assert_true(n > 0);
	assert_non_null(find_ent(ents, n, "tmp"));
	origin_dirents_free(ents, n);
	origin_dirents_free(NULL, 0);
	origin_fs_free(o);
}

static void test_stat(void **state)
{
	struct origin_fs *o = new_fs(NULL);
	struct mos_attr a;
	struct stat st;
	char *link = (char *)"junk";

	(void)state;
	put_file(P("st_file"), "12345");
	assert_int_equal(symlink("st_file", P("st_link")), 0);

	assert_int_equal(origin_stat(o, P("st_file"), &a, &link), 0);
	assert_null(link);
	assert_int_equal(lstat(P("st_file"), &st), 0);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(a.size, 5);
	assert_int_equal(a.ino, st.st_ino);
	assert_int_equal(a.uid, st.st_uid);
	assert_int_equal(a.gid, st.st_gid);
	assert_int_equal(a.mtime_sec, st.st_mtim.tv_sec);
	assert_int_equal(a.mtime_nsec, st.st_mtim.tv_nsec);
	assert_int_equal(a.ctime_nsec, st.st_ctim.tv_nsec);
	assert_int_equal(a.blocks, st.st_blocks);

	/* a symlink: its own attributes and target */
	assert_int_equal(origin_stat(o, P("st_link"), &a, &link), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(a.size, strlen("st_file"));
	assert_string_equal(link, "st_file");
	free(link);
	assert_int_equal(origin_stat(o, P("st_link"), &a, NULL), 0);
	assert_true(S_ISLNK(a.mode));

	/* a device's rdev in the kernel's 32-bit encoding: /dev/null is 1:3 */
	if (lstat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode)) {
		assert_int_equal(origin_stat(o, "/dev/null", &a, NULL), 0);
		assert_int_equal(a.rdev, (1 << 8) | 3);
	}

	assert_int_equal(origin_stat(o, P("st_missing"), &a, &link), -ENOENT);
	assert_null(link);
	assert_int_equal(origin_stat(o, P("st_file/x"), &a, &link), -ENOTDIR);
	origin_fs_free(o);
}

static void test_open_hash_cache(void **state)
{
	struct origin_fs *o = new_fs(NULL);
	struct origin_stats s;
	struct mos_attr a;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	uint8_t sha[32];
	const char *f = P("h");
	double t0;

	(void)state;
	put_file(f, "hello\n");
	age();
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_memory_equal(sha, sha_hello, 32);
	assert_true(S_ISREG(a.mode));
	assert_int_equal(a.size, 6);
	s = stats_of(o);
	assert_int_equal(s.files_hashed, 1);
	assert_int_equal(s.hash_cache_hits, 0);

	/* unchanged: from the cache */
	memset(sha, 0, 32);
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_memory_equal(sha, sha_hello, 32);
	s = stats_of(o);
	assert_int_equal(s.files_hashed, 1);
	assert_int_equal(s.hash_cache_hits, 1);

	/* size and mtime change: hashed again */
	put_file(f, "hello world\n");
	age();
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_memory_equal(sha, sha_hello_world, 32);
	assert_int_equal(a.size, 12);
	assert_int_equal(stats_of(o).files_hashed, 2);

	/* same size, mtime put back by hand: the ctime still tells */
	put_file(f, "HELLO\n");
	age();
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_memory_equal(sha, sha_upper, 32);
	ts[1].tv_sec = a.mtime_sec;
	ts[1].tv_nsec = a.mtime_nsec;
	put_file(f, "hello\n");
	assert_int_equal(utimensat(AT_FDCWD, f, ts, 0), 0);
	age();
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_memory_equal(sha, sha_hello, 32);
	s = stats_of(o);
	assert_int_equal(s.files_hashed, 4);
	assert_int_equal(s.hash_cache_hits, 1);

	/* A file changed within the clock tick before it is hashed is not
	 * cached (it could change again without its times changing). */
	t0 = now_s();
	put_file(P("h_racy"), "hello\n");
	assert_int_equal(origin_open(o, P("h_racy"), &a, sha), 0);
	assert_int_equal(origin_open(o, P("h_racy"), &a, sha), 0);
	assert_memory_equal(sha, sha_hello, 32);
	if (now_s() - t0 < 0.015)
		assert_int_equal(stats_of(o).files_hashed, 6);
	else
		print_message("# machine too slow to check the racily-clean rule\n");
	origin_fs_free(o);
}

static void test_open_refuses(void **state)
{
	struct origin_fs *o = new_fs(NULL);
	struct mos_attr a;
	uint8_t sha[32];

	(void)state;
	put_file(P("or_target"), "hello\n");
	assert_int_equal(symlink("or_target", P("or_link")), 0);
	assert_int_equal(mkdir(P("or_dir"), 0755), 0);
	assert_int_equal(mkfifo(P("or_fifo"), 0644), 0);

	assert_int_equal(origin_open(o, P("or_link"), &a, sha), -ELOOP);
	assert_int_equal(origin_open(o, P("or_dir"), &a, sha), -EISDIR);
	assert_int_equal(origin_open(o, P("or_fifo"), &a, sha), -EINVAL); /* and no hang */
	assert_int_equal(origin_open(o, P("or_missing"), &a, sha), -ENOENT);
	assert_int_equal(origin_open(o, "/dev/null", &a, sha), -EINVAL);
	/* nor through an intermediate symlink, even one that leads back here */
	assert_int_equal(symlink(".", P("or_dot")), 0);
	assert_int_equal(origin_open(o, P("or_dot/or_target"), &a, sha), -ELOOP);
	if (geteuid() != 0) {
		put_file(P("or_secret"), "x");
		assert_int_equal(chmod(P("or_secret"), 0), 0);
		assert_int_equal(origin_open(o, P("or_secret"), &a, sha), -EACCES);
	} else {
		print_message("# running as root: permission checks not exercised\n");
	}
	origin_fs_free(o);
}

static void test_fetch(void **state)
{
	int fds_before = count_fds();
	struct origin_fs *o = new_fs(NULL);
	static const uint8_t zero[32];
	char content[101], buf[64];
	uint8_t sha[32], sha2[32];
	struct mos_attr a;

	(void)state;
	for (int i = 0; i < 100; i++)
		content[i] = 'a' + i % 26;
	content[100] = '\0';
	put_file(P("fe_a"), content);
	put_file(P("fe_b"), content);

	assert_int_equal(origin_fetch(o, zero, 0, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(origin_open(o, P("fe_a"), &a, sha), 0);
	assert_int_equal(origin_fetch(o, zero, 0, buf, sizeof(buf)), -ENOENT);

	assert_int_equal(origin_fetch(o, sha, 0, buf, 10), 10);
	assert_memory_equal(buf, content, 10);
	assert_int_equal(origin_fetch(o, sha, 10, buf, 20), 20);
	assert_memory_equal(buf, content + 10, 20);
	assert_int_equal(origin_fetch(o, sha, 90, buf, sizeof(buf)), 10); /* short at the end */
	assert_memory_equal(buf, content + 90, 10);
	assert_int_equal(origin_fetch(o, sha, 100, buf, sizeof(buf)), 0);
	assert_int_equal(origin_fetch(o, sha, 1U << 20, buf, sizeof(buf)), 0);
	assert_int_equal(origin_fetch(o, sha, 0, buf, 0), 0);
	assert_int_equal(stats_of(o).bytes_served, 40);

	/* the same content under two paths: either serves it */
	assert_int_equal(origin_open(o, P("fe_b"), &a, sha2), 0);
	assert_memory_equal(sha, sha2, 32);
	put_file(P("fe_a"), "changed");
	assert_int_equal(origin_fetch(o, sha, 0, buf, 10), 10);
	assert_memory_equal(buf, content, 10);

	/* the last one changes too: stale, not the new bytes */
	put_file(P("fe_b"), "changed as well");
	assert_int_equal(origin_fetch(o, sha, 0, buf, 10), -ESTALE);
	assert_int_equal(origin_fetch(o, sha, 0, buf, 10), -ESTALE);

	/* appended to in place while a fetch fd is open */
	put_file(P("fe_c"), "hello\n");
	assert_int_equal(origin_open(o, P("fe_c"), &a, sha), 0);
	assert_int_equal(origin_fetch(o, sha, 0, buf, 3), 3);
	{
		int fd = open(P("fe_c"), O_WRONLY | O_APPEND | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(write_all(fd, "more", 4), 0);
		close(fd);
	}
	assert_int_equal(origin_fetch(o, sha, 3, buf, 3), -ESTALE);

	/* removed */
	put_file(P("fe_d"), "hello world\n");
	assert_int_equal(origin_open(o, P("fe_d"), &a, sha), 0);
	assert_int_equal(unlink(P("fe_d")), 0);
	assert_int_equal(origin_fetch(o, sha, 0, buf, 3), -ESTALE);

	/* many blobs fetched in turn: the open files stay bounded */
	for (int i = 0; i < 20; i++) {
		char name[32], data[32];

		snprintf(name, sizeof(name), "fe_many%d", i);
		snprintf(data, sizeof(data), "blob %d\n", i);
		put_file(P(name), data);
		assert_int_equal(origin_open(o, P(name), &a, sha), 0);
		assert_int_equal(origin_fetch(o, sha, 0, buf, sizeof(buf)), strlen(data));
		assert_memory_equal(buf, data, strlen(data));
	}
	assert_true(count_fds() <= fds_before + 1 + 4); /* "/" and the fetch fds */
	origin_fs_free(o);
	assert_int_equal(count_fds(), fds_before);
}

/*
 * Puts in directory DIR (made here) with QUIRKS: NAMED when the temporary
 * has a name while it is written (no O_TMPFILE), else it has none.
 */
static void put_checks(const char *dir, unsigned int quirks)
{
	bool named = quirks & ORIGIN_FS_QUIRK_NO_TMPFILE;
	int fds_before = count_fds();
	struct origin_fs *o = new_fs(NULL);
	struct origin_put *p = NULL;
	char t[PATH_MAX], sub[PATH_MAX];
	char longname[251];
	struct stat st;

#define PD(rel) (snprintf(sub, sizeof(sub), "%s/%s", dir, rel), sub)
	origin_fs_set_quirks(o, quirks);
	snprintf(t, sizeof(t), "%s/target", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(t, "old");

	assert_int_equal(origin_put_begin(o, t, 04755, -1, &p), 0);
	assert_non_null(p);
	/* O_TMPFILE: nothing named until the end, so a crash leaves nothing */
	assert_int_equal(count_prefixed(dir, ".target.mos-"), named ? 1 : 0);
	assert_int_equal(origin_put_write(p, 5, "world", 5), 0); /* any order */
	assert_int_equal(origin_put_write(p, 0, "hello", 5), 0);
	assert_string_equal(slurp(t), "old"); /* untouched until the end */
	assert_int_equal(origin_put_end(p, 1000000000, 123456789), 0);
	assert_string_equal(slurp(t), "helloworld");
	assert_int_equal(lstat(t, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755); /* set-user-ID dropped */
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	assert_int_equal(count_prefixed(dir, ".target.mos-"), 0);
	assert_int_equal(stats_of(o).bytes_written, 10);

	/* set-group-ID dropped too; a new file */
	assert_int_equal(origin_put_begin(o, PD("sgid"), 02640, -1, &p), 0);
	assert_int_equal(origin_put_end(p, 5, 0), 0);
	assert_int_equal(lstat(PD("sgid"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_size, 0);

	/* abort: nothing left behind, the target as it was */
	assert_int_equal(origin_put_begin(o, t, 0644, -1, &p), 0);
	assert_int_equal(origin_put_write(p, 0, "junk", 4), 0);
	origin_put_abort(p);
	assert_string_equal(slurp(t), "helloworld");
	assert_int_equal(origin_put_begin(o, PD("never"), 0644, -1, &p), 0);
	origin_put_abort(p);
	assert_int_equal(access(PD("never"), F_OK), -1);
	assert_int_equal(count_prefixed(dir, "."), 2); /* "." and ".." */
	origin_put_abort(NULL);

	/* over a symlink: the link is replaced, its target untouched */
	put_file(PD("linked"), "keep");
	assert_int_equal(symlink("linked", PD("sl")), 0);
	assert_int_equal(origin_put_begin(o, PD("sl"), 0644, -1, &p), 0);
	assert_int_equal(origin_put_write(p, 0, "new", 3), 0);
	assert_int_equal(origin_put_end(p, 5, 0), 0);
	assert_int_equal(lstat(PD("sl"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(slurp(PD("sl")), "new");
	assert_string_equal(slurp(PD("linked")), "keep");

	/* a name near NAME_MAX still gets a temporary name that fits */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", dir, longname);
		assert_int_equal(origin_put_begin(o, path, 0644, -1, &p), 0);
		assert_int_equal(origin_put_write(p, 0, "x", 1), 0);
		assert_int_equal(origin_put_end(p, 5, 0), 0);
		assert_string_equal(slurp(path), "x");
	}

	/* where it cannot land */
	p = (struct origin_put *)0x1;
	assert_int_equal(origin_put_begin(o, PD("missing/f"), 0644, -1, &p), -ENOENT);
	assert_null(p);
	assert_int_equal(origin_put_begin(o, PD("target/f"), 0644, -1, &p), -ENOTDIR);
	assert_int_equal(origin_put_begin(o, "/", 0644, -1, &p), -EISDIR);
	assert_int_equal(mkdir(PD("adir"), 0755), 0);
	assert_int_equal(origin_put_begin(o, PD("adir"), 0644, -1, &p), 0);
	assert_int_equal(origin_put_end(p, 5, 0), -EISDIR); /* rename over a directory */
	assert_int_equal(count_prefixed(dir, ".adir.mos-"), 0);
	/* a bad mtime fails the put and leaves nothing behind */
	assert_int_equal(origin_put_begin(o, PD("badtime"), 0644, -1, &p), 0);
	assert_int_equal(origin_put_end(p, 5, 1000000000), -EINVAL);
	assert_int_equal(access(PD("badtime"), F_OK), -1);
	assert_int_equal(count_prefixed(dir, ".badtime.mos-"), 0);
	if (geteuid() != 0) {
		assert_int_equal(mkdir(PD("ro"), 0555), 0);
		assert_int_equal(origin_put_begin(o, PD("ro/f"), 0644, -1, &p), -EACCES);
		chmod(PD("ro"), 0755);
	}
	origin_fs_free(o);
	assert_int_equal(count_fds(), fds_before);
#undef PD
}

/* A file with data at 0 and at 4 MiB, a hole between. */
static void put_sparse(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "HEAD", 4, 0), 4);
	assert_int_equal(pwrite(fd, "TAIL", 4, 4 << 20), 4);
	if (size)
		assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

/* FETCH_SPARSE's reads: the data of a range, the holes left out. */
static void test_fetch_sparse(void **state)
{
	struct origin_fs *o = new_fs(NULL);
	uint64_t at = 1;
	struct mos_attr a;
	uint8_t sha[32];
	char buf[64];

	(void)state;
	put_sparse(P("fs_sparse"), 0);
	assert_int_equal(origin_open(o, P("fs_sparse"), &a, sha), 0);
	assert_int_equal(a.size, (4 << 20) + 4);
	assert_int_equal(origin_fetch_sparse(o, sha, 0, 8 << 20, &at, buf, sizeof(buf)), 64);
	assert_int_equal(at, 0);
	assert_memory_equal(buf, "HEAD\0\0\0\0", 8);
	/* past the first block: the next data is the tail's */
	assert_int_equal(origin_fetch_sparse(o, sha, 1 << 20, 8 << 20, &at, buf, sizeof(buf)), 4);
	assert_int_equal(at, 4 << 20);
	assert_memory_equal(buf, "TAIL", 4);
	/* nothing but a hole before the limit, nothing after the end */
	assert_int_equal(origin_fetch_sparse(o, sha, 1 << 20, 2 << 20, &at, buf, sizeof(buf)), 0);
	assert_int_equal(origin_fetch_sparse(o, sha, (4 << 20) + 4, 8 << 20, &at, buf, 64), 0);
	/* changed: stale, as with origin_fetch */
	put_sparse(P("fs_sparse"), 5 << 20);
	assert_int_equal(origin_fetch_sparse(o, sha, 0, 8 << 20, &at, buf, sizeof(buf)), -ESTALE);
	origin_fs_free(o);
}

/* origin_open in steps gives origin_open's hash; a cancel ends the steps,
 * a listing and a fetch at once. */
static void test_open_steps_and_cancel(void **state)
{
	struct origin_fs *o = new_fs(NULL), *ref = new_fs(NULL);
	struct origin_open_op *op = NULL;
	struct origin_dirent *ents = NULL;
	atomic_bool cancel = false;
	uint8_t sha[32], want[32];
	struct mos_attr a, d;
	int steps = 0, r;
	size_t n = 0;
	char buf[16];

	(void)state;
	put_sparse(P("st_big"), 64 << 20);
	age();
	assert_int_equal(origin_open(ref, P("st_big"), &a, want), 0);
	assert_int_equal(origin_open_start(o, P("st_big"), &a, sha, &op), 1);
	while ((r = origin_open_step(op, 4 << 20, &a, sha)) == 1)
		steps++;
	assert_int_equal(r, 0);
	assert_true(steps >= 15); /* 64 MiB in slices of 4 */
	assert_memory_equal(sha, want, 32);
	assert_int_equal(a.size, 64 << 20);
	/* known now: at once */
	assert_int_equal(origin_open_start(o, P("st_big"), &a, sha, &op), 0);
	assert_memory_equal(sha, want, 32);

	put_sparse(P("st_big2"), 64 << 20);
	origin_fs_set_cancel(o, &cancel);
	assert_int_equal(origin_open_start(o, P("st_big2"), &a, sha, &op), 1);
	assert_int_equal(origin_open_step(op, 1 << 20, &a, sha), 1);
	atomic_store(&cancel, true);
	assert_int_equal(origin_open_step(op, 1 << 20, &a, sha), -ECANCELED);
	assert_int_equal(origin_open(o, P("st_big2"), &a, sha), -ECANCELED);
	assert_int_equal(origin_listdir(o, tmpdir, &d, &ents, &n), -ECANCELED);
	assert_int_equal(origin_fetch(o, want, 0, buf, sizeof(buf)), -ECANCELED);
	/* the abort of a step not finished frees it (ASan would say) */
	atomic_store(&cancel, false);
	assert_int_equal(origin_open_start(o, P("st_big2"), &a, sha, &op), 1);
	origin_open_abort(op);
	origin_fs_free(o);
	origin_fs_free(ref);
}

static void test_put(void **state)
{
	(void)state;
	put_checks(P("put"), 0);
	put_checks(P("put_named"), ORIGIN_FS_QUIRK_NO_TMPFILE);
}

static void test_namespace_ops(void **state)
{
	struct origin_fs *o = new_fs(NULL);
	struct timespec ts[2] = { { 1000, 1 }, { 2000, 2 } };
	struct stat st, st2;
	char buf[64];
	ssize_t n;

	(void)state;
	/* mkdir */
	assert_int_equal(origin_mkdir(o, P("ns"), 0750), 0);
	assert_int_equal(lstat(P("ns"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(origin_mkdir(o, P("ns"), 0750), -EEXIST);
	assert_int_equal(origin_mkdir(o, P("ns/a/b"), 0750), -ENOENT);
	assert_int_equal(origin_mkdir(o, P("ns/sdir"), 07777), 0);
	assert_int_equal(lstat(P("ns/sdir"), &st), 0);
	assert_int_equal(st.st_mode & S_ISUID, 0);

	/* symlink */
	assert_int_equal(origin_symlink(o, "x/../y", P("ns/sym")), 0);
	n = readlink(P("ns/sym"), buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "x/../y", 6);
	assert_int_equal(origin_symlink(o, "z", P("ns/sym")), -EEXIST);
	assert_int_equal(origin_symlink(o, "", P("ns/sym2")), -EINVAL);
	assert_int_equal(origin_symlink(o, NULL, P("ns/sym2")), -EINVAL);
	/* mkdir over a dangling symlink does not create its target */
	assert_int_equal(origin_mkdir(o, P("ns/sym"), 0755), -EEXIST);

	/* link: of a file, and of a symlink itself */
	put_file(P("ns/f"), "0123456789");
	assert_int_equal(origin_link(o, P("ns/f"), P("ns/f2")), 0);
	assert_int_equal(lstat(P("ns/f"), &st), 0);
	assert_int_equal(st.st_nlink, 2);
	assert_int_equal(symlink("f", P("ns/fl")), 0);
	assert_int_equal(origin_link(o, P("ns/fl"), P("ns/fl2")), 0);
	assert_int_equal(lstat(P("ns/fl2"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(origin_link(o, P("ns/f"), P("ns/f2")), -EEXIST);

	/* rename */
	assert_int_equal(origin_rename(o, P("ns/f2"), P("ns/g"), 0), 0);
	assert_int_equal(access(P("ns/f2"), F_OK), -1);
	put_file(P("ns/h"), "h");
	assert_int_equal(origin_rename(o, P("ns/h"), P("ns/g"), RENAME_NOREPLACE), -EEXIST);
	assert_string_equal(slurp(P("ns/h")), "h");
	assert_int_equal(origin_rename(o, P("ns/h"), P("ns/g"), RENAME_EXCHANGE), 0);
	assert_string_equal(slurp(P("ns/g")), "h");
	assert_string_equal(slurp(P("ns/h")), "0123456789");
	assert_int_equal(origin_rename(o, P("ns/h"), P("ns/g"), RENAME_WHITEOUT), -EINVAL);
	assert_int_equal(origin_rename(o, P("ns/h"), P("ns/g"), 1U << 20), -EINVAL);
	assert_int_equal(origin_rename(o, P("ns/missing"), P("ns/g"), 0), -ENOENT);
	/* renaming a symlink moves the link */
	assert_int_equal(origin_rename(o, P("ns/fl2"), P("ns/fl3"), 0), 0);
	assert_int_equal(lstat(P("ns/fl3"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	/* chmod: set-ID bits dropped, symlinks refused and not followed */
	assert_int_equal(origin_chmod(o, P("ns/g"), 0640), 0);
	assert_int_equal(lstat(P("ns/g"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(origin_chmod(o, P("ns/g"), 06755), 0);
	assert_int_equal(lstat(P("ns/g"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(origin_chmod(o, P("ns/sdir"), 01777), 0);
	assert_int_equal(lstat(P("ns/sdir"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	assert_int_equal(chmod(P("ns/f"), 0600), 0);
	assert_int_equal(origin_chmod(o, P("ns/fl"), 0777), -EOPNOTSUPP);
	assert_int_equal(lstat(P("ns/f"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(origin_chmod(o, P("ns/missing"), 0600), -ENOENT);

	/* truncate: shrink, grow, never through a final symlink */
	assert_int_equal(origin_truncate(o, P("ns/f"), 3), 0);
	assert_string_equal(slurp(P("ns/f")), "012");
	assert_int_equal(origin_truncate(o, P("ns/f"), 4096), 0);
	assert_int_equal(lstat(P("ns/f"), &st), 0);
	assert_int_equal(st.st_size, 4096);
	assert_int_equal(origin_truncate(o, P("ns/fl"), 0), -ELOOP);
	assert_int_equal(lstat(P("ns/f"), &st), 0);
	assert_int_equal(st.st_size, 4096);
	assert_int_equal(origin_truncate(o, P("ns/sdir"), 0), -EISDIR);
	assert_int_equal(origin_truncate(o, P("ns/missing"), 0), -ENOENT);
	assert_int_equal(origin_truncate(o, P("ns/f"), UINT64_MAX), -EFBIG);

	/* utimens: the link's own times, not its target's */
	assert_int_equal(origin_utimens(o, P("ns/f"), ts), 0);
	assert_int_equal(lstat(P("ns/f"), &st), 0);
	assert_int_equal(st.st_atim.tv_sec, 1000);
	assert_int_equal(st.st_atim.tv_nsec, 1);
	assert_int_equal(st.st_mtim.tv_sec, 2000);
	assert_int_equal(st.st_mtim.tv_nsec, 2);
	ts[1].tv_sec = 3000;
	assert_int_equal(origin_utimens(o, P("ns/fl"), ts), 0);
	assert_int_equal(lstat(P("ns/fl"), &st2), 0);
	assert_int_equal(st2.st_mtim.tv_sec, 3000);
	assert_int_equal(lstat(P("ns/f"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 2000);
	assert_int_equal(origin_utimens(o, P("ns/f"), NULL), 0);
	assert_int_equal(lstat(P("ns/f"), &st), 0);
	assert_true(st.st_mtim.tv_sec > 2000);

	/* unlink and rmdir */
	assert_int_equal(origin_unlink(o, P("ns/fl")), 0); /* the link, not f */
	assert_int_equal(access(P("ns/f"), F_OK), 0);
	assert_int_equal(origin_unlink(o, P("ns/sdir")), -EISDIR);
	assert_int_equal(origin_rmdir(o, P("ns/f")), -ENOTDIR);
	assert_int_equal(origin_rmdir(o, P("ns")), -ENOTEMPTY);
	assert_int_equal(origin_rmdir(o, P("ns/sdir")), 0);
	assert_int_equal(origin_unlink(o, P("ns/missing")), -ENOENT);
	origin_fs_free(o);
}

static void test_hash_cache_persists(void **state)
{
	const char *cache = P("hc.cache");
	const char *f = P("hc_file");
	struct origin_fs *o;
	struct origin_stats s;
	struct mos_attr a;
	struct stat st;
	uint8_t sha[32];
	char buf[8];

	(void)state;
	put_file(f, "hello\n");
	put_file(P("hc_other"), "hello world\n");
	age();

	/* no file yet: empty, and saved at free */
	o = new_fs(cache);
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_int_equal(origin_open(o, P("hc_other"), &a, sha), 0);
	assert_int_equal(stats_of(o).files_hashed, 2);
	origin_fs_free(o);
	assert_int_equal(lstat(cache, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(count_prefixed(tmpdir, "hc.cache."), 0);

	/* a new origin: a hit without hashing, and the blob can be fetched */
	o = new_fs(cache);
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_memory_equal(sha, sha_hello, 32);
	s = stats_of(o);
	assert_int_equal(s.files_hashed, 0);
	assert_int_equal(s.hash_cache_hits, 1);
	assert_int_equal(origin_fetch(o, sha, 0, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "hello\n", 6);
	origin_fs_free(o);

	/* a byte flipped: ignored, the file hashed again */
	{
		int fd = open(cache, O_RDWR | O_CLOEXEC);
		char c;

		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &c, 1, 40), 1);
		c ^= 1;
		assert_int_equal(pwrite(fd, &c, 1, 40), 1);
		close(fd);
	}
	o = new_fs(cache);
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_memory_equal(sha, sha_hello, 32);
	assert_int_equal(stats_of(o).files_hashed, 1);
	origin_fs_free(o); /* rewrites a valid cache */
	o = new_fs(cache);
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_int_equal(stats_of(o).hash_cache_hits, 1);
	origin_fs_free(o);

	/* cut short, garbage, empty, a directory: ignored, never fatal */
	assert_int_equal(lstat(cache, &st), 0);
	assert_int_equal(truncate(cache, st.st_size - 1), 0);
	o = new_fs(cache);
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_int_equal(stats_of(o).files_hashed, 1);
	origin_fs_free(o);

	put_file(cache, "this is not a hash cache at all, not even close to one\n");
	o = new_fs(cache);
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_int_equal(stats_of(o).files_hashed, 1);
	origin_fs_free(o);

	put_file(cache, "");
	o = new_fs(cache);
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_int_equal(stats_of(o).files_hashed, 1);
	origin_fs_free(o);

	/* a cache in a directory that does not exist: works in memory */
	o = new_fs(P("hc_missing_dir/cache"));
	assert_int_equal(origin_open(o, f, &a, sha), 0);
	assert_memory_equal(sha, sha_hello, 32);
	origin_fs_free(o);
	assert_int_equal(access(P("hc_missing_dir"), F_OK), -1);
}

/* The names in DIR, sorted, joined by spaces. */
static char *names_in(const char *dir)
{
	static char buf[1024];
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);

	assert_true(n >= 0);
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
			if (buf[0])
				strcat(buf, " ");
			strcat(buf, list[i]->d_name);
		}
		free(list[i]);
	}
	free(list);
	return buf;
}

/*
 * Every operation, with a symlink in a directory component of its path
 * (to a directory outside, or to one inside): -ELOOP, and nothing happens
 * where the symlink leads.
 */
static void no_symlink_checks(const char *base, unsigned int quirks)
{
	struct origin_fs *o = new_fs(NULL);
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	char in[1024], out[1024], abs_link[1024], x[PATH_MAX], y[PATH_MAX];
	const char *via[3];
	struct origin_dirent *ents = NULL;
	struct origin_put *p = NULL;
	struct mos_attr a;
	struct stat before, st;
	uint8_t sha[32];
	char *link = NULL;
	size_t n = 0;
	uint64_t refused = 0;

	origin_fs_set_quirks(o, quirks);
	snprintf(in, sizeof(in), "%s/in", base);
	snprintf(out, sizeof(out), "%s/out", base);
	snprintf(abs_link, sizeof(abs_link), "%s/abs", base);
	assert_int_equal(mkdir(base, 0755), 0);
	assert_int_equal(mkdir(in, 0755), 0);
	assert_int_equal(mkdir(out, 0755), 0);
	snprintf(x, sizeof(x), "%s/f", in);
	put_file(x, "inside\n");
	snprintf(x, sizeof(x), "%s/u", in);
	put_file(x, "u\n");
	snprintf(x, sizeof(x), "%s/d", out);
	assert_int_equal(mkdir(x, 0755), 0);
	snprintf(x, sizeof(x), "%s/u", out);
	put_file(x, "u\n");
	snprintf(x, sizeof(x), "%s/f", out);
	put_file(x, "OUTSIDE\n");
	assert_int_equal(chmod(x, 0600), 0);
	assert_int_equal(lstat(x, &before), 0);
	snprintf(x, sizeof(x), "%s/link", in);
	assert_int_equal(symlink("../out", x), 0);
	assert_int_equal(symlink(out, abs_link), 0);
	snprintf(x, sizeof(x), "%s/self", in);
	assert_int_equal(symlink(".", x), 0);
	snprintf(x, sizeof(x), "%s/link", in);
	via[0] = xstrdup(x);
	via[1] = abs_link;
	snprintf(x, sizeof(x), "%s/self", in);
	via[2] = xstrdup(x);

	/* a final symlink is the link itself */
	assert_int_equal(origin_stat(o, via[0], &a, &link), 0);
	assert_true(S_ISLNK(a.mode));
	assert_string_equal(link, "../out");
	free(link);
	link = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(via); i++) {
		const char *v = via[i];
		char f[PATH_MAX];

#define V(name) (snprintf(x, sizeof(x), "%s/%s", v, name), x)
#define IN(name) (snprintf(y, sizeof(y), "%s/%s", in, name), y)
		snprintf(f, sizeof(f), "%s/f", v);
		assert_int_equal(origin_listdir(o, v, &a, &ents, &n), -ELOOP);
		assert_null(ents);
		assert_int_equal(origin_listdir(o, V("d"), &a, &ents, &n), -ELOOP);
		assert_int_equal(origin_stat(o, f, &a, &link), -ELOOP);
		assert_null(link);
		assert_int_equal(origin_open(o, f, &a, sha), -ELOOP);
		assert_int_equal(origin_put_begin(o, V("new"), 0644, -1, &p), -ELOOP);
		assert_null(p);
		assert_int_equal(origin_put_begin(o, V("new"), 0644, 100, &p), -ELOOP);
		assert_int_equal(origin_mkdir(o, V("m"), 0755), -ELOOP);
		assert_int_equal(origin_unlink(o, V("u")), -ELOOP);
		assert_int_equal(origin_rmdir(o, V("d")), -ELOOP);
		assert_int_equal(origin_rename(o, f, IN("g"), 0), -ELOOP);
		assert_int_equal(origin_rename(o, IN("u"), f, 0), -ELOOP);
		assert_int_equal(origin_rename(o, IN("u"), f, RENAME_EXCHANGE), -ELOOP);
		assert_int_equal(origin_symlink(o, "t", V("s")), -ELOOP);
		assert_int_equal(origin_link(o, f, IN("h")), -ELOOP);
		assert_int_equal(origin_link(o, IN("f"), V("h")), -ELOOP);
		assert_int_equal(origin_chmod(o, f, 0777), -ELOOP);
		assert_int_equal(origin_truncate(o, f, 0), -ELOOP);
		assert_int_equal(origin_utimens(o, f, ts), -ELOOP);
		refused += 18;
#undef V
#undef IN
	}
	assert_int_equal(stats_of(o).symlinks_refused, refused);

	/* nothing happened outside, nor inside */
	assert_string_equal(names_in(out), "d f u");
	assert_string_equal(names_in(in), "f link self u");
	snprintf(x, sizeof(x), "%s/d", out);
	assert_string_equal(names_in(x), "");
	snprintf(x, sizeof(x), "%s/f", out);
	assert_string_equal(slurp(x), "OUTSIDE\n");
	assert_int_equal(lstat(x, &st), 0);
	assert_int_equal(st.st_mode, before.st_mode);
	assert_int_equal(st.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

	/* an announced file whose directory became a symlink (to itself,
	 * moved): its blob is not read through it */
	snprintf(x, sizeof(x), "%s/f", in);
	assert_int_equal(origin_open(o, x, &a, sha), 0);
	snprintf(y, sizeof(y), "%s/in2", base);
	assert_int_equal(rename(in, y), 0);
	assert_int_equal(symlink("in2", in), 0);
	{
		char buf[16];

		assert_int_equal(origin_fetch(o, sha, 0, buf, sizeof(buf)), -ESTALE);
	}
	free((char *)via[0]);
	free((char *)via[2]);
	origin_fs_free(o);
}

static void test_no_symlink_in_any_component(void **state)
{
	(void)state;
	no_symlink_checks(P("nosym"), 0);
	/* the O_PATH walk used where openat2 is missing (or refused by seccomp) */
	no_symlink_checks(P("nosym_walk"), ORIGIN_FS_QUIRK_NO_OPENAT2);
}

/* The root itself: what can be done to "/" is done or refused sanely. */
static void test_root(void **state)
{
	struct origin_fs *o = new_fs(NULL);
	struct origin_put *p = NULL;
	struct mos_attr a;
	uint8_t sha[32];
	struct stat st;

	(void)state;
	assert_int_equal(origin_stat(o, "/", &a, NULL), 0);
	assert_int_equal(stat("/", &st), 0);
	assert_int_equal(a.ino, st.st_ino);
	assert_int_equal(origin_open(o, "/", &a, sha), -EISDIR);
	assert_int_equal(origin_put_begin(o, "/", 0644, -1, &p), -EISDIR);
	assert_int_equal(origin_mkdir(o, "/", 0755), -EEXIST);
	assert_true(origin_rmdir(o, "/") < 0);
	assert_true(origin_unlink(o, "/") < 0);
	assert_true(origin_rename(o, "/", P("root_moved"), 0) < 0);
	assert_int_equal(origin_symlink(o, "t", "/"), -EEXIST);
	assert_int_equal(origin_truncate(o, "/", 0), -EISDIR);
	assert_int_equal(access(P("root_moved"), F_OK), -1);
	origin_fs_free(o);
}

/*
 * A pinned tree answers for its paths even after its name is swapped for
 * a symlink to somewhere else; pins are only made of real directories.
 */
static void test_pinned_tree(void **state)
{
	struct origin_fs *o = new_fs(NULL), *o2 = new_fs(NULL);
	struct origin_dirent *ents = NULL;
	struct origin_put *p = NULL;
	struct mos_attr a;
	uint8_t sha[32];
	size_t n = 0;

	(void)state;
	assert_int_equal(mkdir(P("pin"), 0755), 0);
	assert_int_equal(mkdir(P("pin/tree"), 0755), 0);
	assert_int_equal(mkdir(P("pin/out"), 0755), 0);
	put_file(P("pin/tree/f"), "granted\n");
	put_file(P("pin/out/f"), "OUTSIDE!!\n");
	assert_int_equal(symlink("tree", P("pin/sl")), 0);

	assert_int_equal(origin_fs_pin_tree(o, P("pin/tree")), 0);
	assert_int_equal(origin_fs_pin_tree(o, P("pin/tree")), 0); /* once */
	assert_int_equal(origin_fs_pin_tree(o, "/"), 0);
	assert_int_equal(origin_fs_pin_tree(o, P("pin/missing")), -ENOENT);
	assert_int_equal(origin_fs_pin_tree(o, P("pin/tree/f")), -ENOTDIR);
	assert_int_equal(origin_fs_pin_tree(o, P("pin/sl")), -ELOOP);
	assert_int_equal(origin_fs_pin_tree(o, "rel"), -EINVAL);
	assert_int_equal(stats_of(o).symlinks_refused, 0); /* not a request */
	/* a bounded number of fds: past 64 trees, paths resolve from "/" */
	{
		int pinned = 1, r = 0;

		for (int i = 0; i < 70 && r == 0; i++) {
			char name[32];

			snprintf(name, sizeof(name), "pin/many%d", i);
			assert_int_equal(mkdir(P(name), 0755), 0);
			r = origin_fs_pin_tree(o, P(name));
			pinned += r == 0;
		}
		assert_int_equal(r, -EMFILE);
		assert_int_equal(pinned, 64);
	}

	/* the tree's name now leads outside: the granted directory answers */
	assert_int_equal(rename(P("pin/tree"), P("pin/moved")), 0);
	assert_int_equal(symlink("out", P("pin/tree")), 0);
	assert_int_equal(origin_open(o, P("pin/tree/f"), &a, sha), 0);
	assert_int_equal(a.size, strlen("granted\n"));
	assert_int_equal(origin_listdir(o, P("pin/tree"), &a, &ents, &n), 0);
	assert_int_equal(n, 1);
	origin_dirents_free(ents, n);
	assert_int_equal(origin_put_begin(o, P("pin/tree/new"), 0644, -1, &p), 0);
	assert_int_equal(origin_put_write(p, 0, "x", 1), 0);
	assert_int_equal(origin_put_end(p, 5, 0), 0);
	assert_int_equal(access(P("pin/moved/new"), F_OK), 0);
	assert_int_equal(access(P("pin/out/new"), F_OK), -1);
	/* the name itself is the symlink it is now */
	assert_int_equal(origin_stat(o, P("pin/tree"), &a, NULL), 0);
	assert_true(S_ISLNK(a.mode));
	/* unpinned, the same path is refused */
	assert_int_equal(origin_open(o2, P("pin/tree/f"), &a, sha), -ELOOP);
	origin_fs_free(o);
	origin_fs_free(o2);
}

/* Sizes: holes kept, the declared size and the maximum file size held. */
static void test_put_sparse_and_limits(void **state)
{
	const off_t gib = 1L << 30;
	struct origin_fs *o = new_fs(NULL);
	struct origin_put *p = NULL;
	char buf[16], big[16];
	struct stat st;
	int fd;

	(void)state;
	memset(big, 'b', sizeof(big));
	assert_int_equal(mkdir(P("sp"), 0755), 0);
	assert_int_equal(origin_put_begin(o, P("sp/big"), 0644, gib, &p), 0);
	assert_int_equal(origin_put_write(p, 0, "HEAD", 4), 0);
	assert_int_equal(origin_put_write(p, gib / 2, "MID", 3), 0);
	assert_int_equal(origin_put_write(p, gib - 4, "TAIL", 4), 0);
	/* not a byte past the declared size */
	assert_int_equal(origin_put_write(p, gib - 2, "TAIL", 4), -EFBIG);
	assert_int_equal(origin_put_write(p, UINT64_MAX - 1, "TAIL", 4), -EFBIG);
	assert_int_equal(origin_put_end(p, 5, 0), 0);
	assert_int_equal(lstat(P("sp/big"), &st), 0);
	assert_int_equal(st.st_size, gib);
	assert_true(st.st_blocks * 512 <= (1 << 20));
	fd = open(P("sp/big"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, 4, 0), 4);
	assert_memory_equal(buf, "HEAD", 4);
	assert_int_equal(pread(fd, buf, 3, gib / 2), 3);
	assert_memory_equal(buf, "MID", 3);
	assert_int_equal(pread(fd, buf, 8, gib - 8), 8);
	assert_memory_equal(buf, "\0\0\0\0TAIL", 8);
	close(fd);
	/* a declared size of 0, nothing written: an empty file */
	assert_int_equal(origin_put_begin(o, P("sp/empty"), 0644, 0, &p), 0);
	assert_int_equal(origin_put_write(p, 0, "x", 1), -EFBIG);
	assert_int_equal(origin_put_end(p, 5, 0), 0);
	assert_int_equal(lstat(P("sp/empty"), &st), 0);
	assert_int_equal(st.st_size, 0);

	/* the origin's maximum file size (RLIMIT_FSIZE by default) */
	origin_fs_set_max_file_size(o, 1000);
	p = (struct origin_put *)0x1;
	assert_int_equal(origin_put_begin(o, P("sp/over"), 0644, 1001, &p), -EFBIG);
	assert_null(p);
	assert_int_equal(origin_put_begin(o, P("sp/dense"), 0644, -1, &p), 0);
	assert_int_equal(origin_put_write(p, 990, big, 10), 0);
	assert_int_equal(origin_put_write(p, 995, big, 10), -EFBIG);
	origin_put_abort(p);
	assert_int_equal(origin_put_begin(o, P("sp/exact"), 0644, 1000, &p), 0);
	assert_int_equal(origin_put_end(p, 5, 0), 0);
	assert_int_equal(origin_truncate(o, P("sp/exact"), 1001), -EFBIG);
	assert_int_equal(origin_truncate(o, P("sp/exact"), 1000), 0);
	assert_string_equal(names_in(P("sp")), "big empty exact");
	origin_fs_free(o);
}

/* In a child: a put of DIR/NAME begun and written, then SIGKILL. */
static void die_mid_put(const char *journal, unsigned int quirks, const char *path)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct origin_fs *o;
		struct origin_put *p;

		if (origin_fs_new(NULL, &o) < 0)
			_exit(3);
		origin_fs_set_quirks(o, quirks);
		if (journal && origin_fs_set_put_journal(o, journal) < 0)
			_exit(4);
		if (origin_put_begin(o, path, 0644, -1, &p) < 0 ||
		    origin_put_write(p, 0, "partial", 7) < 0)
			_exit(5);
		kill(getpid(), SIGKILL);
		_exit(6);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/*
 * Temporaries of an origin that died: none with O_TMPFILE; named ones
 * removed by the next origin that reads the journal, never a live
 * origin's, never anything a record merely names.
 */
static void test_put_journal(void **state)
{
	const char *jdir = t_strdup_P("journal"), *dir = t_strdup_P("jw");
	struct origin_fs *live, *other;
	struct origin_put *p = NULL;
	char path[PATH_MAX];

	(void)state;
	assert_int_equal(mkdir(dir, 0755), 0);

	/* O_TMPFILE: nothing at all */
	snprintf(path, sizeof(path), "%s/t", dir);
	die_mid_put(jdir, 0, path);
	assert_string_equal(names_in(dir), "");

	/* named: left behind by the dead, removed by the next */
	snprintf(path, sizeof(path), "%s/f", dir);
	die_mid_put(jdir, ORIGIN_FS_QUIRK_NO_TMPFILE, path);
	assert_int_equal(count_prefixed(dir, ".f.mos-"), 1);
	assert_int_equal(count_prefixed(jdir, ""), 3); /* ".", ".." and its journal */
	live = new_fs(NULL);
	origin_fs_set_quirks(live, ORIGIN_FS_QUIRK_NO_TMPFILE);
	assert_int_equal(origin_fs_set_put_journal(live, jdir), 0);
	assert_int_equal(origin_fs_set_put_journal(live, jdir), -EBUSY);
	assert_int_equal(stats_of(live).temporaries_removed, 1);
	assert_string_equal(names_in(dir), "");
	assert_string_equal(names_in(jdir), "");

	/* a live origin's named temporary is left to it */
	snprintf(path, sizeof(path), "%s/g", dir);
	assert_int_equal(origin_put_begin(live, path, 0644, -1, &p), 0);
	assert_int_equal(count_prefixed(dir, ".g.mos-"), 1);
	other = new_fs(NULL);
	assert_int_equal(origin_fs_set_put_journal(other, jdir), 0);
	assert_int_equal(stats_of(other).temporaries_removed, 0);
	assert_int_equal(count_prefixed(dir, ".g.mos-"), 1);
	assert_int_equal(origin_put_write(p, 0, "g", 1), 0);
	assert_int_equal(origin_put_end(p, 5, 0), 0);
	assert_string_equal(names_in(dir), "g");
	origin_fs_free(live); /* its journal goes with it */
	assert_string_equal(names_in(jdir), "");

	/* a dead journal naming a file that is not a temporary, and a
	 * temporary's name in a directory that is not the one noted */
	{
		char rec[PATH_MAX * 2];
		struct stat st;
		int fd;

		put_file(P("jw/.x.mos-AAAAAA"), "not from that origin");
		assert_int_equal(lstat(dir, &st), 0);
		snprintf(path, sizeof(path), "%s/dead", jdir);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		snprintf(rec, sizeof(rec), "%llu %llu %zu %zu\n%s%s\n%llu %llu %zu %zu\n%s%s\n",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, strlen("g"),
			 strlen(dir), "g", dir, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino + 1, strlen(".x.mos-AAAAAA"), strlen(dir),
			 ".x.mos-AAAAAA", dir);
		assert_int_equal(write_all(fd, rec, strlen(rec)), 0);
		close(fd);
	}
	origin_fs_free(other);
	other = new_fs(NULL);
	assert_int_equal(origin_fs_set_put_journal(other, jdir), 0);
	assert_int_equal(stats_of(other).temporaries_removed, 0);
	assert_string_equal(names_in(dir), ".x.mos-AAAAAA g");
	assert_string_equal(names_in(jdir), "");
	origin_fs_free(other);
	free((char *)jdir);
	free((char *)dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_check),
		cmocka_unit_test(test_every_op_checks_paths),
		cmocka_unit_test(test_listdir),
		cmocka_unit_test(test_stat),
		cmocka_unit_test(test_open_hash_cache),
		cmocka_unit_test(test_open_refuses),
		cmocka_unit_test(test_fetch),
		cmocka_unit_test(test_fetch_sparse),
		cmocka_unit_test(test_open_steps_and_cancel),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_namespace_ops),
		cmocka_unit_test(test_hash_cache_persists),
		cmocka_unit_test(test_no_symlink_in_any_component),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_pinned_tree),
		cmocka_unit_test(test_put_sparse_and_limits),
		cmocka_unit_test(test_put_journal),
	};

	return cmocka_run_group_tests_name("origin_fs", tests, group_setup, group_teardown);
}
