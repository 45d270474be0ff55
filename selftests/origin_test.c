// SPDX-License-Identifier: GPL-2.0-only
/*
 * origin_test.c - the origin's file service against what remote jobs can
 * do to it (`mosctl run --on local`, a real mosd worker per job):
 *
 *  - two concurrent jobs of one origin in one granted tree, one swapping a
 *    directory of it with a symlink to a directory outside every grant, the
 *    other working in that directory with every kind of request: nothing
 *    may ever be created, changed or removed outside, and the outside
 *    files' bytes must never reach the job;
 *  - a sparse file written by a job comes back sparse, promptly;
 *  - an origin killed in the middle of a write-back, or one whose worker
 *    is lost then, leaves no temporary file and the target as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T_TIMEOUT 120
#include "harness.h"

/* The job's /tmp is the worker's own: what a job shares with the origin
 * lives under /var/tmp (see remote_test.c). */
static char odir[64];

static const char *o_dir(void)
{
	if (!odir[0]) {
		snprintf(odir, sizeof(odir), "/var/tmp/mos-origin-XXXXXX");
		if (!mkdtemp(odir))
			t_fail("mkdtemp %s: %s", odir, strerror(errno));
		chmod(odir, 0755);
		t_remove_later(odir);
	}
	return odir;
}

static char *o_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *o_path(const char *fmt, ...)
{
	char rel[256], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (asprintf(&p, "%s/%s", o_dir(), rel) < 0)
		t_fail("out of memory");
	return p;
}

static void need_worker(void)
{
	t_need_embedded_worker();
	setenv("MOS_LOCAL_CACHE", t_path("cache"), 1);
	setenv("XDG_CACHE_HOME", t_path("xdg"), 1);
	if (chdir(o_dir()) < 0)
		t_fail("chdir %s: %s", o_dir(), strerror(errno));
}

/*
 * The racing helper as a remote job can run it: a copy beneath the shared
 * directory, since the build tree may itself be under /tmp (a fresh clone
 * there), which a job sees as the worker's own.
 */
static const char *race_helper(void)
{
	static char *copy;

	if (!copy) {
		char *dir = o_path("bin");
		char *cmd;

		copy = o_path("bin/origin_race");
		if (asprintf(&cmd, "mkdir -p '%s' && cp '%s' '%s' && chmod 0755 '%s' '%s'", dir,
			     t_helper("origin_race"), copy, dir, copy) < 0)
			t_fail("out of memory");
		if (system(cmd) != 0)
			t_fail("cannot copy the origin_race helper to %s", copy);
		free(cmd);
		free(dir);
	}
	return copy;
}

static char *helpers_dir(void)
{
	char *h = t_strdup(race_helper());

	*strrchr(h, '/') = '\0';
	return h;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A mosctl running in the background, its stdin and stdout on pipes. */
struct job {
	pid_t pid;
	int in, out;
	char buf[1 << 16];
	size_t len;
};

static void job_start(struct job *j, const char *errfile, char *const args[])
{
	char *argv[64];
	int in[2], out[2], n = 0;

	argv[n++] = (char *)t_mosctl_path();
	for (int i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	T_ASSERT(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	memset(j, 0, sizeof(*j));
	j->pid = fork();
	T_ASSERT(j->pid >= 0);
	if (j->pid == 0) {
		int err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		dup2(in[0], 0);
		dup2(out[1], 1);
		if (err >= 0)
			dup2(err, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	j->in = in[1];
	j->out = out[0];
}

/* Read J's stdout until it contains WHAT (true) or TIMEOUT seconds pass. */
static bool job_wait_for(struct job *j, const char *what, double timeout)
{
	double end = now_s() + timeout;

	while (!memmem(j->buf, j->len, what, strlen(what))) {
		struct pollfd p = { .fd = j->out, .events = POLLIN };
		ssize_t r;

		if (now_s() > end || j->len + 1 >= sizeof(j->buf))
			return false;
		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(j->out, j->buf + j->len, sizeof(j->buf) - 1 - j->len);
		if (r <= 0)
			return false;
		j->len += (size_t)r;
		j->buf[j->len] = '\0';
	}
	return true;
}

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Read the rest of J's output and reap it: its status as mosctl reports it. */
static int job_finish(struct job *j)
{
	int st;

	fd_close(&j->in);
	for (;;) {
		ssize_t r;

		if (j->len + 1 >= sizeof(j->buf))
			break;
		r = read(j->out, j->buf + j->len, sizeof(j->buf) - 1 - j->len);
		if (r <= 0)
			break;
		j->len += (size_t)r;
	}
	j->buf[j->len] = '\0';
	close(j->out);
	if (waitpid(j->pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long field(const char *out, const char *name)
{
	const char *p = strstr(out, name);

	return p ? atol(p + strlen(name)) : -1;
}

static void write_mode(const char *path, const char *content, mode_t mode)
{
	t_write_file(path, content);
	T_ASSERT(chmod(path, mode) == 0);
}

#define RACE_FILES 3000
#define RACE_SECONDS "3"
#define SECRET "OUTSIDE-SECRET-5b1e"

/*
 * Job A works in TREE/d while job B swaps TREE/d with TREE/l, a symlink to
 * OUTSIDE, through the origin (RENAME_EXCHANGE).  The origin must act on
 * what it checked: every request of A's resolves TREE/d without following
 * a symlink, or fails.  A's view of TREE/d is the directory it listed first,
 * so each of A's requests names a path under TREE/d again.
 */
TEST(origin_two_jobs_race_a_symlink_swap)
{
	char *tree = o_path("tree"), *outside = o_path("outside"), *d = o_path("tree/d"),
	     *l = o_path("tree/l"), *helpers = helpers_dir();
	static struct stat before[RACE_FILES][2];
	long created = 0, removed = 0, changed = 0, leaked;
	struct job a, b;
	int sa, sb;
	DIR *dir;
	struct dirent *de;

	need_worker();
	t_mkdir(tree);
	t_mkdir(d);
	t_mkdir(outside);
	T_ASSERT(symlink(outside, l) == 0);
	/* hard links of four files (making inodes is slow on some disks) */
	{
		static const char *const kind[] = { "tree/d/c", "tree/d/u", "outside/c",
						    "outside/u" };
		static const char *const content[] = { "public\n", "U\n", SECRET "\n", "U\n" };

		for (int k = 0; k < 4; k++) {
			char *src = o_path("%s.src", kind[k]);

			write_mode(src, content[k], 0600);
			for (int i = 0; i < RACE_FILES; i++) {
				char *p = o_path("%s%d", kind[k], i);

				T_ASSERT(link(src, p) == 0);
				if (k >= 2)
					T_ASSERT(lstat(p, &before[i][k - 2]) == 0);
				free(p);
			}
			T_ASSERT(unlink(src) == 0);
			free(src);
		}
	}

	{
		char *args[] = { "run",	   "--on", "local", "--system", "-r",
				 helpers,  "-w",   tree,    "--",	(char *)race_helper(),
				 "victim", d,	   SECRET,  "3000",	RACE_SECONDS,
				 NULL };

		job_start(&a, t_path("a.err"), args);
	}
	if (!job_wait_for(&a, "ready\n", 60)) {
		t_note("job A: %s", a.buf);
		t_note("job A stderr: %s", t_slurp(t_path("a.err")));
		t_fail("job A did not start");
	}
	{
		char *args[] = { "run",	     "--on", "local", "--system", "-r",
				 helpers,    "-w",   tree,    "--",	  (char *)race_helper(),
				 "exchange", tree,   "d",     "l",	  "20",
				 NULL };

		job_start(&b, t_path("b.err"), args);
	}
	if (!job_wait_for(&b, "ready\n", 60)) {
		t_note("job B: %s", b.buf);
		t_note("job B stderr: %s", t_slurp(t_path("b.err")));
		kill(a.pid, SIGKILL);
		t_fail("job B did not start");
	}
	T_ASSERT(write(a.in, "go\n", 3) == 3);
	sa = job_finish(&a);
	sb = job_finish(&b); /* its stdin ends: it stops swapping */
	t_note("job A: %s", a.buf);
	t_note("job B: %s", b.buf);
	/* A's write-backs refused while TREE/d is a symlink make its mosctl
	 * exit 1 (an output could not be written), never anything worse */
	if ((sa != 0 && sa != 1) || sb) {
		t_note("job A stderr: %s", t_slurp(t_path("a.err")));
		t_note("job B stderr: %s", t_slurp(t_path("b.err")));
	}
	T_ASSERT(sa == 0 || sa == 1);
	T_EXPECT_EQ(sb, 0);
	T_EXPECT_STR(a.buf, "ok iterations=");
	T_EXPECT_STR(b.buf, "ok swaps=");

	/* What happened outside: every entry must be one the test made, as it
	 * made it. */
	dir = opendir(outside);
	T_ASSERT(dir);
	while ((de = readdir(dir))) {
		char *end;
		long i;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		i = strtol(de->d_name + 1, &end, 10);
		if ((de->d_name[0] != 'c' && de->d_name[0] != 'u') || *end || i < 0 ||
		    i >= RACE_FILES)
			created++;
	}
	closedir(dir);
	/* names gone; and the two inodes (each file's RACE_FILES links) changed */
	for (int k = 0; k < 2; k++) {
		bool inode_changed = false;

		for (int i = 0; i < RACE_FILES; i++) {
			char *p = o_path("outside/%c%d", k ? 'u' : 'c', i);
			struct stat st;

			if (lstat(p, &st) < 0)
				removed++;
			else if (st.st_ino != before[i][k].st_ino ||
				 st.st_mode != before[i][k].st_mode ||
				 st.st_size != before[i][k].st_size ||
				 st.st_mtim.tv_sec != before[i][k].st_mtim.tv_sec ||
				 st.st_mtim.tv_nsec != before[i][k].st_mtim.tv_nsec)
				inode_changed = true;
			free(p);
		}
		changed += inode_changed;
	}
	leaked = field(a.buf, "leaked=");
	t_note("outside the grants: %ld entries created, %ld removed, %ld of 2 files changed; "
	       "%ld reads of job A served the outside file's content",
	       created, removed, changed, leaked);
	/* the race ran: A made progress and B kept swapping all along */
	T_ASSERT(field(a.buf, "iterations=") >= 50);
	T_ASSERT(field(b.buf, "swaps=") >= 100);
	T_EXPECT_EQ(created, 0);
	T_EXPECT_EQ(removed, 0);
	T_EXPECT_EQ(changed, 0);
	T_EXPECT_EQ(leaked, 0);
	T_EXPECT_NO_STR(a.buf, SECRET);
	T_EXPECT_NO_STR(t_slurp(t_path("a.err")), SECRET);
}

/* Data at 0, in the middle and after a 1 GiB hole: only that comes back. */
TEST(origin_sparse_writeback_keeps_holes)
{
	const long hole = 1L << 30;
	char *f = o_path("sparse"), *helpers = helpers_dir(), buf[16], hole_s[32];
	struct t_result r;
	struct stat st;
	int fd;

	need_worker();
	snprintf(hole_s, sizeof(hole_s), "%ld", hole);
	t_mosctl(&r, "run", "--on", "local", "--system", "-r", helpers, "-w", o_dir(), "--",
		 race_helper(), "sparse", f, hole_s, NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok size=");
	T_ASSERT(lstat(f, &st) == 0);
	t_note("%lld bytes back in %.2f s, %lld blocks of 512 bytes on the origin",
	       (long long)st.st_size, r.seconds, (long long)st.st_blocks);
	T_EXPECT_EQ(st.st_size, hole + 4096 + 4);
	/* three data blocks, whatever the filesystem's block size: not 1 GiB */
	T_ASSERT(st.st_blocks * 512 <= 4 << 20);
	fd = open(f, O_RDONLY | O_CLOEXEC);
	T_ASSERT(fd >= 0);
	T_ASSERT(pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "HEAD", 4));
	T_ASSERT(pread(fd, buf, 6, hole / 2) == 6 && !memcmp(buf, "MIDDLE", 6));
	T_ASSERT(pread(fd, buf, 4, hole + 4096) == 4 && !memcmp(buf, "TAIL", 4));
	T_ASSERT(pread(fd, buf, 8, 4096) == 8 && !memcmp(buf, "\0\0\0\0\0\0\0\0", 8));
	T_ASSERT(pread(fd, buf, 8, hole - 8) == 8 && !memcmp(buf, "\0\0\0\0\0\0\0\0", 8));
	close(fd);
	/* promptly: no gigabyte of zeros went over the wire */
	T_ASSERT(r.seconds < 20);
	t_result_free(&r);
}

/* The blocks (of 512 bytes) of every file beneath DIR. */
static long long blocks_beneath(const char *dir)
{
	char cmd[600], buf[64] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "find '%s' -type f -printf '%%b\\n' | awk '{s+=$1} END {print s+0}'", dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	pclose(f);
	return atoll(buf);
}

/*
 * A job that changes one byte of an existing sparse file: the holes stay
 * holes all the way (the origin sends only the data extents, the worker's
 * cache and scratch copy keep the holes, the write-back sends only data),
 * so the origin's file stays small.  The old worker fetched the 256 MiB of
 * zeros, made a dense copy and wrote it all back: 256 MiB on the origin.
 */
TEST(origin_sparse_file_changed_stays_sparse)
{
	const long hole = 256L << 20;
	char *f = o_path("sp-changed"), cmd[700], buf[8];
	struct t_result r;
	struct stat st;
	long long cached;
	int fd;

	need_worker();
	fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	T_ASSERT(fd >= 0);
	T_ASSERT(pwrite(fd, "HEAD", 4, 0) == 4);
	T_ASSERT(pwrite(fd, "TAIL", 4, hole) == 4);
	close(fd);
	snprintf(cmd, sizeof(cmd), "printf X | dd of='%s' conv=notrunc status=none", f);
	t_mosctl(&r, "run", "--on", "local", "--system", "-w", o_dir(), "--", "/bin/sh", "-c", cmd,
		 NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_ASSERT(lstat(f, &st) == 0);
	cached = blocks_beneath(t_path("cache"));
	t_note("%.2f s; on the origin %lld blocks of 512 bytes, in the worker's cache %lld",
	       r.seconds, (long long)st.st_blocks, cached);
	T_EXPECT_EQ(st.st_size, hole + 4);
	fd = open(f, O_RDONLY | O_CLOEXEC);
	T_ASSERT(fd >= 0);
	T_ASSERT(pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "XEAD", 4));
	T_ASSERT(pread(fd, buf, 4, hole) == 4 && !memcmp(buf, "TAIL", 4));
	T_ASSERT(pread(fd, buf, 4, hole / 2) == 4 && !memcmp(buf, "\0\0\0\0", 4));
	close(fd);
	T_ASSERT(st.st_blocks * 512 <= 4 << 20);
	T_ASSERT(cached >= 0 && cached * 512 <= 8 << 20);
	t_result_free(&r);
}

/* True when PID has a file open whose name starts with PREFIX. */
static bool has_open_file_under(pid_t pid, const char *prefix)
{
	char fddir[64], link[4096 + 64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(fddir, sizeof(fddir), "/proc/%d/fd", (int)pid);
	d = opendir(fddir);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char p[sizeof(fddir) + 300];
		ssize_t n;

		snprintf(p, sizeof(p), "%s/%s", fddir, de->d_name);
		n = readlink(p, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = !strncmp(link, prefix, strlen(prefix));
	}
	closedir(d);
	return found;
}

/*
 * SIGKILL of mosctl while it writes a big file back: the origin keeps the
 * target as it was and no temporary file.
 */
TEST(origin_killed_mid_writeback_leaves_nothing)
{
	char *wb = o_path("wb"), *big = o_path("wb/big"), *helpers = helpers_dir(), *prefix;
	bool seen = false;
	struct job j;
	DIR *dir;
	struct dirent *de;
	int entries = 0, st;

	need_worker();
	t_mkdir(wb);
	t_write_file(big, "ORIGINAL\n");
	T_ASSERT(asprintf(&prefix, "%s/", wb) > 0);
	{
		char *args[] = { "run",	  "--on", "local", "--system", "-r",
				 helpers, "-w",	  wb,	   "--",       (char *)race_helper(),
				 "fill",  big,	  "512",   NULL };

		job_start(&j, t_path("j.err"), args);
	}
	if (!job_wait_for(&j, "closing\n", 60)) {
		t_note("job: %s", j.buf);
		t_note("stderr: %s", t_slurp(t_path("j.err")));
		kill(j.pid, SIGKILL);
		t_fail("the job did not get to close its file");
	}
	/* the write-back has begun when mosctl holds a file in WB open */
	for (double end = now_s() + 20; !seen && now_s() < end;) {
		seen = has_open_file_under(j.pid, prefix);
		if (!seen)
			usleep(2000);
	}
	kill(j.pid, SIGKILL);
	waitpid(j.pid, &st, 0);
	fd_close(&j.in);
	close(j.out);
	T_ASSERT(seen);
	dir = opendir(wb);
	T_ASSERT(dir);
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strcmp(de->d_name, "big"))
			t_note("left behind: %s", de->d_name);
		entries++;
	}
	closedir(dir);
	T_EXPECT_EQ(entries, 1);
	T_EXPECT_STR(t_slurp(big), "ORIGINAL\n");
	free(prefix);
}

/* The pid of a child of PARENT whose command name is COMM, or -1. */
static pid_t child_named(pid_t parent, const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = -1;

	if (!d)
		return -1;
	while (found < 0 && (de = readdir(d))) {
		char path[300], buf[512], *close_paren;
		int ppid;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (close_paren = strrchr(buf, ')')) &&
		    sscanf(close_paren + 2, "%*c %d", &ppid) == 1 && ppid == parent &&
		    strstr(buf, comm))
			found = atoi(de->d_name);
		fclose(f);
	}
	closedir(d);
	return found;
}

/*
 * The connection dies mid-write-back (the worker is killed): mosctl drops
 * the file it was writing, says the worker was lost, and the target stays
 * as it was, with nothing beside it.  (mosctl's own teardown at -t takes
 * the same path.)
 */
TEST(origin_lost_worker_mid_writeback_leaves_nothing)
{
	char *wb = o_path("wb2"), *big = o_path("wb2/big"), *helpers = helpers_dir(), *prefix;
	bool seen = false;
	struct job j;
	DIR *dir;
	struct dirent *de;
	int entries = 0, st;
	pid_t mosd;

	need_worker();
	t_mkdir(wb);
	t_write_file(big, "ORIGINAL\n");
	T_ASSERT(asprintf(&prefix, "%s/", wb) > 0);
	{
		char *args[] = { "run",	  "--on", "local", "--system", "-r",
				 helpers, "-w",	  wb,	   "--",       (char *)race_helper(),
				 "fill",  big,	  "512",   NULL };

		job_start(&j, t_path("j.err"), args);
	}
	if (!job_wait_for(&j, "closing\n", 60)) {
		t_note("job: %s", j.buf);
		t_note("stderr: %s", t_slurp(t_path("j.err")));
		kill(j.pid, SIGKILL);
		t_fail("the job did not get to close its file");
	}
	for (double end = now_s() + 20; !seen && now_s() < end;) {
		seen = has_open_file_under(j.pid, prefix);
		if (!seen)
			usleep(2000);
	}
	mosd = child_named(j.pid, "(mosd)");
	T_ASSERT(mosd > 0);
	kill(mosd, SIGKILL);
	st = job_finish(&j);
	T_ASSERT(seen);
	T_EXPECT_EQ(st, 255);
	T_EXPECT_STR(t_slurp(t_path("j.err")), "lost the worker");
	dir = opendir(wb);
	T_ASSERT(dir);
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strcmp(de->d_name, "big"))
			t_note("left behind: %s", de->d_name);
		entries++;
	}
	closedir(dir);
	T_EXPECT_EQ(entries, 1);
	T_EXPECT_STR(t_slurp(big), "ORIGINAL\n");
	free(prefix);
}
