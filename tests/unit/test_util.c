// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_util.c - parse_size, parse_uint, parse_seconds, path_join_normalize,
 * path_is_beneath and the small helpers of userspace/core/util.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct u64_case {
	const char *s;
	int r;
	uint64_t v;
};

static void check_u64(const char *fn, int (*f)(const char *, uint64_t *),
		      const struct u64_case *c, size_t n)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0xdeadbeef;
		int r = f(c[i].s, &v);

		if (r != c[i].r || (r == 0 && v != c[i].v)) {
			print_message("# %s(\"%s\") = %d, %llu; expected %d, %llu\n", fn,
				      c[i].s ? c[i].s : "(null)", r, (unsigned long long)v,
				      c[i].r, (unsigned long long)c[i].v);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_parse_size(void **state)
{
	static const struct u64_case cases[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "4096", 0, 4096 },
		{ "0004096", 0, 4096 },
		{ "64k", 0, 64ULL << 10 },
		{ "64K", 0, 64ULL << 10 },
		{ "256M", 0, 256ULL << 20 },
		{ "256m", 0, 256ULL << 20 },
		{ "1G", 0, 1ULL << 30 },
		{ "3g", 0, 3ULL << 30 },
		{ "2T", 0, 2ULL << 40 },
		{ "1t", 0, 1ULL << 40 },
		/* optional B / iB suffix, any case, still binary units */
		{ "1B", 0, 1 },
		{ "12b", 0, 12 },
		{ "1KB", 0, 1024 },
		{ "1kb", 0, 1024 },
		{ "1KiB", 0, 1024 },
		{ "1kib", 0, 1024 },
		{ "1KIB", 0, 1024 },
		{ "2MB", 0, 2ULL << 20 },
		{ "2MiB", 0, 2ULL << 20 },
		{ "4GiB", 0, 4ULL << 30 },
		{ "1TiB", 0, 1ULL << 40 },
		/* limits */
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "16777216T", -ERANGE, 0 },
		{ "17179869183G", 0, 17179869183ULL << 30 },
		{ "17179869184G", -ERANGE, 0 },
		{ "17592186044416M", -ERANGE, 0 },
		{ "18014398509481984k", -ERANGE, 0 },
		{ "123456789012345678901234567890123456789", -ERANGE, 0 },
		/* garbage */
		{ NULL, -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "KiB", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1 M", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "1X", -EINVAL, 0 },
		{ "1P", -EINVAL, 0 },
		{ "1E", -EINVAL, 0 },
		{ "1Ki", -EINVAL, 0 },
		{ "1KiBs", -EINVAL, 0 },
		{ "1KBB", -EINVAL, 0 },
		{ "1MM", -EINVAL, 0 },
		{ "1Bk", -EINVAL, 0 },
		{ "1iB", -EINVAL, 0 },
		{ "1k2", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 },
	};

	(void)state;
	check_u64("parse_size", parse_size, cases, N(cases));
}

static uint64_t uint_max;

static int parse_uint_max(const char *s, uint64_t *out)
{
	return parse_uint(s, uint_max, out);
}

static void test_parse_uint(void **state)
{
	static const struct u64_case to_ten[] = {
		{ "0", 0, 0 },
		{ "7", 0, 7 },
		{ "10", 0, 10 },
		{ "010", 0, 10 },
		{ "11", -ERANGE, 0 },
		{ "100", -ERANGE, 0 },
		{ NULL, -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1a", -EINVAL, 0 },
		{ "1.0", -EINVAL, 0 },
		{ "0x1", -EINVAL, 0 },
	};
	static const struct u64_case full[] = {
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551614", 0, UINT64_MAX - 1 },
		{ "018446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "18446744073709551620", -ERANGE, 0 },
		{ "28446744073709551615", -ERANGE, 0 },
		{ "184467440737095516150", -ERANGE, 0 },
		{ "99999999999999999999999999", -ERANGE, 0 },
	};

	(void)state;
	uint_max = 10;
	check_u64("parse_uint(max 10)", parse_uint_max, to_ten, N(to_ten));
	uint_max = UINT64_MAX;
	check_u64("parse_uint(max UINT64_MAX)", parse_uint_max, full, N(full));
	uint_max = 0;
	{
		static const struct u64_case zero[] = {
			{ "0", 0, 0 },
			{ "1", -ERANGE, 0 },
		};

		check_u64("parse_uint(max 0)", parse_uint_max, zero, N(zero));
	}
}

static void test_parse_seconds(void **state)
{
	static const struct u64_case cases[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1000 },
		{ "30", 0, 30000 },
		{ "1.5", 0, 1500 },
		{ "0.5", 0, 500 },
		{ "0.25", 0, 250 },
		{ "0.001", 0, 1 },
		{ "2.050", 0, 2050 },
		{ "1.000", 0, 1000 },
		/* digits below a millisecond are dropped */
		{ "0.0001", 0, 0 },
		{ "1.9999", 0, 1999 },
		{ "1.99999999999999999999999999999", 0, 1999 },
		{ "18446744073709550", 0, 18446744073709550000ULL },
		{ "18446744073709550.999", 0, 18446744073709550999ULL },
		{ "18446744073709551", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "123456789012345678901234567890123", -ERANGE, 0 },
		{ NULL, -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ ".5", -EINVAL, 0 },
		{ "5.", -EINVAL, 0 },
		{ ".", -EINVAL, 0 },
		{ "1.2.3", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "1s", -EINVAL, 0 },
		{ "1.5s", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1.-5", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 },
		{ "inf", -EINVAL, 0 },
	};

	(void)state;
	check_u64("parse_seconds", parse_seconds, cases, N(cases));
}

static void check_norm(const char *base, const char *path, const char *want)
{
	char *got = path_join_normalize(base, path);

	if (strcmp(got, want))
		fail_msg("path_join_normalize(\"%s\", \"%s\") = \"%s\", expected \"%s\"",
			 base ? base : "(null)", path, got, want);
	free(got);
}

static void test_path_join_normalize(void **state)
{
	char cwd[PATH_MAX], want[PATH_MAX + 16];

	(void)state;
	/* absolute paths ignore the base */
	check_norm(NULL, "/a/b", "/a/b");
	check_norm("/base", "/a/b", "/a/b");
	check_norm("/base", "/", "/");
	/* relative against the base */
	check_norm("/base", "x", "/base/x");
	check_norm("/base/", "x", "/base/x");
	check_norm("/", "x", "/x");
	check_norm("/base", ".", "/base");
	check_norm("/base", "./", "/base");
	check_norm("/base/sub", "./a/./b/", "/base/sub/a/b");
	check_norm("/base/sub", "../x", "/base/x");
	check_norm("/base/sub", "../../x", "/x");
	check_norm("/base/sub", "../../../../x", "/x");
	check_norm("/base", "..", "/");
	check_norm("/a/b", "../../..", "/");
	check_norm("/base//dir/./", "x//y", "/base/dir/x/y");
	/* ".." and "//" in absolute paths */
	check_norm(NULL, "//a//b//", "/a/b");
	check_norm(NULL, "///", "/");
	check_norm(NULL, "/..", "/");
	check_norm(NULL, "/../../a", "/a");
	check_norm(NULL, "/a/b/../c", "/a/c");
	check_norm(NULL, "/a/b/../../c/", "/c");
	check_norm(NULL, "/a/./b/.", "/a/b");
	check_norm(NULL, "/a/b/c/../../../..", "/");
	/* names that only look like dots */
	check_norm(NULL, "/a/..b", "/a/..b");
	check_norm(NULL, "/a/b..", "/a/b..");
	check_norm(NULL, "/a/.b/...", "/a/.b/...");
	check_norm(NULL, "/a/.../..", "/a");

	/* no base: the current directory */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/rel", strcmp(cwd, "/") ? cwd : "");
	check_norm(NULL, "rel", want);
	check_norm(NULL, "./rel/.", want);
	check_norm(NULL, ".", cwd);
}

static void test_path_join_normalize_chdir(void **state)
{
	char old[PATH_MAX], tmpl[] = "/tmp/mos-util-XXXXXX";
	char real[PATH_MAX], want[PATH_MAX + 16], parent[PATH_MAX];

	(void)state;
	assert_non_null(getcwd(old, sizeof(old)));
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, real));
	assert_int_equal(chdir(real), 0);
	snprintf(want, sizeof(want), "%s/a", real);
	check_norm(NULL, "a", want);
	check_norm(NULL, "b/../a", want);
	/* relative to the cwd, ".." can leave it */
	snprintf(parent, sizeof(parent), "%s", real);
	*strrchr(parent, '/') = '\0';
	check_norm(NULL, "..", *parent ? parent : "/");
	check_norm(NULL, "../x/../", *parent ? parent : "/");
	assert_int_equal(chdir(old), 0);
	assert_int_equal(rmdir(real), 0);
}

static void test_path_is_beneath(void **state)
{
	static const struct {
		const char *path, *parent;
		bool want;
	} cases[] = {
		{ "/usr", "/usr", true },
		{ "/usr/lib", "/usr", true },
		{ "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr", true },
		{ "/usr/lib", "/usr/lib", true },
		{ "/usrx", "/usr", false },
		{ "/usr-local", "/usr", false },
		{ "/us", "/usr", false },
		{ "/usr", "/usr/lib", false },
		{ "/usr/libexec", "/usr/lib", false },
		{ "/etc", "/usr", false },
		{ "/", "/", true },
		{ "/anything", "/", true },
		{ "/a/b/c", "/", true },
		{ "/", "/usr", false },
		{ "/home/u/.ssh", "/home/u", true },
		{ "/home/u2/.ssh", "/home/u", false },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		if (path_is_beneath(cases[i].path, cases[i].parent) != cases[i].want)
			fail_msg("path_is_beneath(\"%s\", \"%s\") != %d", cases[i].path,
				 cases[i].parent, cases[i].want);
	}
}

static void test_strv(void **state)
{
	char **v = NULL;
	size_t n = 0;

	(void)state;
	strv_push(&v, &n, xstrdup("a"));
	assert_int_equal(n, 1);
	assert_null(v[1]);
	strv_push(&v, &n, xstrdup("b"));
	strv_push(&v, &n, xstrndup("cdef", 2));
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "cd");
	assert_null(v[3]);
	strv_free(v);
	strv_free(NULL);
}

static void test_cleanup_helpers(void **state)
{
	int fd;

	(void)state;
	{
		_cleanup_free_ char *p = xstrdup("x");
		char *q = steal_pointer(&p);

		assert_null(p);
		assert_string_equal(q, "x");
		free(q);
	}
	{
		_cleanup_close_ int f = open("/dev/null", O_RDONLY | O_CLOEXEC);

		assert_true(f >= 0);
		fd = take_fd(&f);
		assert_int_equal(f, -1);
	}
	/* take_fd kept the descriptor open through the cleanup. */
	assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
	close(fd);
	{
		_cleanup_close_ int f = open("/dev/null", O_RDONLY | O_CLOEXEC);

		fd = f;
	}
	/* ...and _cleanup_close_ closed it otherwise. */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
}

static void test_file_io(void **state)
{
	char tmpl[] = "/tmp/mos-util-XXXXXX", buf[64];
	int fd;

	(void)state;
	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(write_file(tmpl, "hello world"), 0);
	fd = open(tmpl, O_RDWR | O_CLOEXEC | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, "!!", 2), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	/* read_full: short count at end of file. */
	assert_int_equal(read_full(fd, buf, sizeof(buf)), 13);
	assert_memory_equal(buf, "hello world!!", 13);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(read_full(fd, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(read_full(fd, buf, 0), 0);
	close(fd);
	assert_int_equal(unlink(tmpl), 0);
	assert_int_equal(write_file(tmpl, "x"), -ENOENT);
	assert_int_equal(read_full(-1, buf, 1), -EBADF);
	assert_int_equal(write_all(-1, "x", 1), -EBADF);
}


static void on_alarm(int sig)
{
	static const char msg[] = "an open blocked (alarm)\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/* Files read or appended to on a user's behalf: never a hang, only regular
 * files, within a size.  (The alarm turns a blocking open into a failure.) */
static void test_regular_files(void **state)
{
	char dir[] = "/tmp/mos-util-XXXXXX", path[PATH_MAX], err[512];
	char *buf = NULL;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	signal(SIGALRM, on_alarm);
	alarm(10);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(open_regular(path, "the thing", 100, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "the thing"));
	assert_non_null(strstr(err, "/fifo is a FIFO, not a regular file"));
	assert_int_equal(read_regular(path, "x", 100, &buf, err, sizeof(err)), -EINVAL);
	assert_null(buf);
	/* appending: a FIFO without a reader is refused, not waited for */
	assert_int_equal(open_regular_append(path, "log", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a FIFO"));
	assert_int_equal(open_regular(dir, "x", 100, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a directory"));
	assert_int_equal(open_regular_append(dir, "x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a directory"));
	assert_int_equal(open_regular("/dev/zero", "x", 100, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a character device"));
	assert_int_equal(open_regular_append("/dev/null", "x", err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(open_regular(path, "x", 100, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open x"));
	alarm(0);
	signal(SIGALRM, SIG_DFL);

	/* a regular file: read whole, within the bound, NUL added */
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, "hello", 5), 0);
	close(fd);
	assert_int_equal(read_regular(path, "x", 5, &buf, err, sizeof(err)), 5);
	assert_string_equal(buf, "hello");
	free(buf);
	assert_int_equal(read_regular(path, "x", 4, &buf, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "larger than 4 bytes"));
	/* the fd blocks again (nothing surprising for the reader) */
	fd = open_regular(path, "x", 5, err, sizeof(err));
	assert_true(fd >= 0);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	/* appending creates, and appends */
	snprintf(path, sizeof(path), "%s/log", dir);
	fd = open_regular_append(path, "log", err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_APPEND);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
}

/* A cache directory must be ours and out of anyone else's reach. */
static void test_mkdir_private(void **state)
{
	char dir[] = "/tmp/mos-util-XXXXXX", path[PATH_MAX], err[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(mkdir_private(path, err, sizeof(err)), 0);
	/* beneath a directory anyone may write to (and not sticky): refused */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(mkdir_private(path, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "is not private"));
	assert_non_null(strstr(err, dir));
	/* sticky, as /tmp: fine */
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(mkdir_private(path, err, sizeof(err)), 0);
	/* the directory itself writable by others: refused */
	assert_int_equal(chmod(path, 0777), 0);
	assert_int_equal(mkdir_private(path, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(path, 0700), 0);
	/* someone else's: refused (root can make it so) */
	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "%s/a", dir);
		assert_int_equal(chown(path, 65534, 65534), 0);
		snprintf(path, sizeof(path), "%s/a/b/c", dir);
		assert_int_equal(mkdir_private(path, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "belongs to uid 65534"));
	}
	/* not a directory */
	snprintf(path, sizeof(path), "%s/file", dir);
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		assert_true(fd >= 0);
		close(fd);
	}
	assert_true(mkdir_private(path, err, sizeof(err)) < 0);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_parse_seconds),
		cmocka_unit_test(test_path_join_normalize),
		cmocka_unit_test(test_path_join_normalize_chdir),
		cmocka_unit_test(test_path_is_beneath),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_cleanup_helpers),
		cmocka_unit_test(test_file_io),
		cmocka_unit_test(test_regular_files),
		cmocka_unit_test(test_mkdir_private),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
