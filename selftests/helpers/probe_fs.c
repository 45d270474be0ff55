// SPDX-License-Identifier: GPL-2.0-only
/*
 * probe_fs - file-system escape attempts inside a sandbox, one line of result
 * on stdout (the same convention as probe.c).
 *
 *   probe_fs ACTION [ARGS...]
 *
 * Prints "ok" or "ok DATA" when the action succeeded and "err ENAME" (e.g.
 * "err EACCES") when it failed, then exits 0.  Actions made of several steps
 * print "err ENAME at STEP" so that a test can tell which step the kernel
 * refused (e.g. that an O_PATH open worked and only the reopen was denied).
 * Exit 2 means bad usage.
 *
 * Actions:
 *   opath-reopen PATH r         open PATH with O_PATH, then reopen it through
 *                               /proc/self/fd/N read-only and print the content
 *   opath-reopen PATH w DATA    same, reopened O_WRONLY|O_TRUNC, DATA written
 *   opath-at DIR NAME           open DIR with O_PATH, openat(fd, NAME) read-only
 *   opath-link PATH NEW         open PATH with O_PATH, then
 *                               linkat("/proc/self/fd/N", NEW, AT_SYMLINK_FOLLOW)
 *   openat2 DIR PATH RESOLVE    open DIR with O_PATH|O_DIRECTORY, then
 *                               openat2(fd, PATH, O_RDONLY, RESOLVE) and print
 *                               the content; RESOLVE is a comma-separated list
 *                               of beneath, in_root, no_symlinks,
 *                               no_magiclinks, no_xdev, or "none"
 *   exchange A B                renameat2(A, B, RENAME_EXCHANGE)
 *   chdir-read DIR NAME         chdir(DIR), then read NAME (relative)
 *   mmap-after-close PATH OFF DATA
 *                               open PATH read-write, map it shared, close the
 *                               fd, then write DATA at OFF through the mapping
 *                               and unmap it (scripts/sorttable's pattern: the
 *                               file's last close is the unmap)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail_at(const char *step)
{
	printf("err %s at %s\n", strerrorname_np(errno), step);
	return 0;
}

static int result(int r)
{
	if (r < 0)
		printf("err %s\n", strerrorname_np(errno));
	else
		printf("ok\n");
	return 0;
}

/* Read FD to the end (64 KiB at most) and print "ok CONTENT". */
static int print_content(int fd, const char *step)
{
	char buf[65536];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0)
			return fail_at(step);
		len += (size_t)n;
	}
	buf[len] = '\0';
	printf("ok %s\n", buf);
	return 0;
}

static int do_opath_reopen(const char *path, const char *mode, const char *data)
{
	char proc[64];
	int fd = open(path, O_PATH | O_CLOEXEC), fd2;

	if (fd < 0)
		return fail_at("opath");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!strcmp(mode, "r")) {
		fd2 = open(proc, O_RDONLY | O_CLOEXEC);
		if (fd2 < 0)
			return fail_at("reopen");
		return print_content(fd2, "read");
	}
	fd2 = open(proc, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd2 < 0)
		return fail_at("reopen");
	if (write(fd2, data, strlen(data)) < 0)
		return fail_at("write");
	if (close(fd2) < 0)
		return fail_at("close");
	printf("ok\n");
	return 0;
}

static int do_opath_at(const char *dir, const char *name)
{
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

	if (dfd < 0)
		return fail_at("opath");
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_at("openat");
	return print_content(fd, "read");
}

static int do_opath_link(const char *path, const char *newpath)
{
	char proc[64];
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return fail_at("opath");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, newpath, AT_SYMLINK_FOLLOW) < 0)
		return fail_at("link");
	printf("ok\n");
	return 0;
}

static int parse_resolve(const char *spec, unsigned long long *out)
{
	static const struct {
		const char *name;
		unsigned long long flag;
	} names[] = {
		{ "beneath", RESOLVE_BENEATH },
		{ "in_root", RESOLVE_IN_ROOT },
		{ "no_symlinks", RESOLVE_NO_SYMLINKS },
		{ "no_magiclinks", RESOLVE_NO_MAGICLINKS },
		{ "no_xdev", RESOLVE_NO_XDEV },
		{ "none", 0 },
	};
	char buf[256], *tok, *save = NULL;

	*out = 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -1;
		*out |= names[i].flag;
	}
	return 0;
}

static int do_openat2(const char *dir, const char *path, const char *resolve)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };
	int dfd, fd;

	if (parse_resolve(resolve, &how.resolve) < 0) {
		fprintf(stderr, "probe_fs: unknown RESOLVE flag in '%s'\n", resolve);
		return 2;
	}
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail_at("opath");
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd < 0)
		return fail_at("openat2");
	return print_content(fd, "read");
}

static int do_chdir_read(const char *dir, const char *name)
{
	int fd;

	if (chdir(dir) < 0)
		return fail_at("chdir");
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_at("open");
	return print_content(fd, "read");
}

static int do_mmap_after_close(const char *path, const char *off_s, const char *data)
{
	long long off = atoll(off_s);
	size_t len = strlen(data);
	struct stat st;
	char *p;
	int fd;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail_at("open");
	if (fstat(fd, &st) < 0)
		return fail_at("fstat");
	if (off < 0 || (unsigned long long)off + len > (unsigned long long)st.st_size) {
		errno = EINVAL;
		return fail_at("offset");
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail_at("mmap");
	if (close(fd) < 0)
		return fail_at("close");
	memcpy(p + off, data, len);
	if (munmap(p, (size_t)st.st_size) < 0)
		return fail_at("munmap");
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(a, "opath-reopen") && argc == 4 && !strcmp(argv[3], "r"))
		return do_opath_reopen(argv[2], "r", NULL);
	if (!strcmp(a, "opath-reopen") && argc == 5 && !strcmp(argv[3], "w"))
		return do_opath_reopen(argv[2], "w", argv[4]);
	if (!strcmp(a, "opath-at") && argc == 4)
		return do_opath_at(argv[2], argv[3]);
	if (!strcmp(a, "opath-link") && argc == 4)
		return do_opath_link(argv[2], argv[3]);
	if (!strcmp(a, "openat2") && argc == 5)
		return do_openat2(argv[2], argv[3], argv[4]);
	if (!strcmp(a, "exchange") && argc == 4)
		return result(renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE));
	if (!strcmp(a, "chdir-read") && argc == 4)
		return do_chdir_read(argv[2], argv[3]);
	if (!strcmp(a, "mmap-after-close") && argc == 5)
		return do_mmap_after_close(argv[2], argv[3], argv[4]);
	fprintf(stderr, "probe_fs: bad usage (see selftests/helpers/probe_fs.c)\n");
	return 2;
}
