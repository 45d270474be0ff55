/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * limits_util.h - shared by limits_test.c and process_test.c: mosctl run in
 * the background (to signal it, feed it, or kill it), unique markers to find
 * a sandbox's processes in /proc, and the sandbox's cgroup directories.
 *
 * Everything is static inline so that a test file may use only part of it.
 */
#ifndef MOS_SELFTEST_LIMITS_UTIL_H
#define MOS_SELFTEST_LIMITS_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* The directory of the helpers, to grant it read+exec. */
static inline const char *lu_helpers_dir(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s", t_helper("hog"));
	return dirname(buf);
}

static inline double lu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void lu_msleep(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A marker no other test run (concurrent ones included) will use. */
static inline const char *lu_marker(void)
{
	static char buf[8][64];
	static int slot;
	char *b = buf[slot++ % 8];
	unsigned long long rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (unsigned long long)lu_now() * 1000003ULL;
	snprintf(b, sizeof(buf[0]), "mosmark-%d-%d-%llx", (int)getpid(), slot, rnd);
	return b;
}

static inline bool lu_file_has(const char *path, const char *needle)
{
	char buf[65536];
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	return memmem(buf, len, needle, strlen(needle)) != NULL;
}

/*
 * Processes (other than EXCEPT and this one) with MARK in their command line
 * or, where we may read it, their environment.  Their pids go to LIST.
 */
static inline int lu_count_marked(const char *mark, pid_t except, char *list, size_t n)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;
	size_t off = 0;

	if (list && n)
		list[0] = '\0';
	if (!d)
		t_fail("opendir /proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char path[300];
		int pid = atoi(de->d_name);

		if (pid <= 0 || pid == getpid() || pid == except)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		if (!lu_file_has(path, mark)) {
			snprintf(path, sizeof(path), "/proc/%d/environ", pid);
			if (!lu_file_has(path, mark))
				continue;
		}
		count++;
		if (list && off + 16 < n)
			off += (size_t)snprintf(list + off, n - off, " %d", pid);
	}
	closedir(d);
	return count;
}

/* Wait up to SECS for every process with MARK to be gone; returns how many are left. */
static inline int lu_wait_unmarked(const char *mark, pid_t except, double secs, char *list,
				   size_t n)
{
	double end = lu_now() + secs;
	int left;

	while ((left = lu_count_marked(mark, except, list, n)) > 0 && lu_now() < end)
		lu_msleep(50);
	return left;
}

/* ---------------------------------------------------------------------- */
/* mosctl in the background                                                 */
/* ---------------------------------------------------------------------- */

struct lu_bg {
	pid_t pid;
	int out; /* its stdout, read end; -1 at EOF */
	int in; /* its stdin, write end (-1: it got /dev/null) */
	char *buf; /* stdout so far, NUL-terminated */
	size_t len;
	char errpath[4096]; /* its stderr goes to this file */
	double start;
};

static inline void lu_bg_start(struct lu_bg *b, char *const args[], bool with_stdin)
{
	static int seq;
	char *argv[256];
	int out[2], in[2] = { -1, -1 }, n = 0;

	memset(b, 0, sizeof(*b));
	argv[n++] = (char *)t_mosctl_path();
	for (int i = 0; args[i] && n < 255; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(b->errpath, sizeof(b->errpath), "%s", t_path(""));
	snprintf(b->errpath + strlen(b->errpath), sizeof(b->errpath) - strlen(b->errpath),
		 "mosctl-%d.err", seq++);
	if (pipe2(out, O_CLOEXEC) < 0 || (with_stdin && pipe2(in, O_CLOEXEC) < 0))
		t_fail("pipe: %s", strerror(errno));
	b->buf = calloc(1, 1);
	fflush(NULL);
	b->start = lu_now();
	b->pid = fork();
	if (b->pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (b->pid == 0) {
		int efd = open(b->errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		sigset_t none;

		/* A clean slate: default dispositions, nothing blocked. */
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(with_stdin ? in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
		dup2(out[1], 1);
		if (efd >= 0)
			dup2(efd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	b->out = out[0];
	if (with_stdin) {
		close(in[0]);
		b->in = in[1];
	} else {
		b->in = -1;
	}
}

/* Read what is there (waiting at most MS ms); false at EOF. */
static inline bool lu_bg_read(struct lu_bg *b, int ms)
{
	struct pollfd p = { .fd = b->out, .events = POLLIN };
	char chunk[65536];
	ssize_t n;

	if (b->out < 0)
		return false;
	if (poll(&p, 1, ms) <= 0)
		return true;
	n = read(b->out, chunk, sizeof(chunk));
	if (n <= 0) {
		close(b->out);
		b->out = -1;
		return false;
	}
	b->buf = realloc(b->buf, b->len + (size_t)n + 1);
	if (!b->buf)
		abort();
	memcpy(b->buf + b->len, chunk, (size_t)n);
	b->len += (size_t)n;
	b->buf[b->len] = '\0';
	return true;
}

/* Wait up to SECS for NEEDLE to appear COUNT times in its stdout. */
static inline bool lu_bg_wait_for(struct lu_bg *b, const char *needle, int count, double secs)
{
	double end = lu_now() + secs;

	for (;;) {
		int seen = 0;

		for (const char *s = b->buf; (s = strstr(s, needle)) != NULL; s += strlen(needle))
			seen++;
		if (seen >= count)
			return true;
		if (lu_now() >= end || !lu_bg_read(b, 50))
			return false;
	}
}

static inline void lu_bg_close_stdin(struct lu_bg *b)
{
	if (b->in >= 0)
		close(b->in);
	b->in = -1;
}

/* Its stderr so far (static buffer). */
static inline const char *lu_bg_err(const struct lu_bg *b)
{
	static char buf[8192];
	int fd = open(b->errpath, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return buf;
}

static inline void lu_bg_dump(const char *what, const struct lu_bg *b)
{
	t_note("%s: after %.2f s", what, lu_now() - b->start);
	if (b->len)
		t_note("stdout: %.2000s", b->buf);
	t_note("stderr: %.2000s", lu_bg_err(b));
}

/*
 * Wait up to SECS for mosctl to exit, reading its stdout meanwhile; returns
 * its status (code, or 128+signal) and sets *SECONDS to its run time.  On
 * timeout it is killed and the test fails.
 */
static inline int lu_bg_wait(struct lu_bg *b, double secs, double *seconds)
{
	double end = lu_now() + secs;
	int st;

	for (;;) {
		pid_t w = waitpid(b->pid, &st, WNOHANG);

		if (w == b->pid)
			break;
		if (w < 0)
			t_fail("waitpid: %s", strerror(errno));
		if (lu_now() >= end) {
			kill(b->pid, SIGKILL);
			waitpid(b->pid, &st, 0);
			lu_bg_dump("mosctl", b);
			t_fail("mosctl did not exit within %.1f s", secs);
		}
		if (!lu_bg_read(b, 20))
			lu_msleep(20);
	}
	if (seconds)
		*seconds = lu_now() - b->start;
	/* The rest of its output (it is gone; the writers should be too). */
	for (double drain_end = lu_now() + 5; b->out >= 0 && lu_now() < drain_end;)
		lu_bg_read(b, 100);
	if (b->out >= 0) {
		close(b->out);
		b->out = -1;
		t_note("stdout still open 5 s after mosctl exited (a writer outlived it)");
	}
	lu_bg_close_stdin(b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---------------------------------------------------------------------- */
/* cgroups                                                                  */
/* ---------------------------------------------------------------------- */

static char lu_cg_name[64] __attribute__((unused));
static char lu_cg_found[2048] __attribute__((unused));
static int lu_cg_count __attribute__((unused));

static inline int lu_cg_visit(const char *path, const struct stat *st, int flag,
			      struct FTW *ftw)
{
	(void)st;
	if (flag == FTW_D && !strcmp(path + ftw->base, lu_cg_name)) {
		size_t off = strlen(lu_cg_found);

		lu_cg_count++;
		snprintf(lu_cg_found + off, sizeof(lu_cg_found) - off, " %s", path);
	}
	return 0;
}

/* The cgroup directories mosctl (pid MOSCTL) made, anywhere under /sys/fs/cgroup. */
static inline int lu_cgroups_of(pid_t mosctl, char **found)
{
	snprintf(lu_cg_name, sizeof(lu_cg_name), "mosingar.%d", (int)mosctl);
	lu_cg_found[0] = '\0';
	lu_cg_count = 0;
	nftw("/sys/fs/cgroup", lu_cg_visit, 16, FTW_PHYS);
	if (found)
		*found = lu_cg_found;
	return lu_cg_count;
}

#endif /* MOS_SELFTEST_LIMITS_UTIL_H */
