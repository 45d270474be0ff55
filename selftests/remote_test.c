// SPDX-License-Identifier: GPL-2.0-only
/*
 * remote_test.c - `mosctl run --on local`: a real mosd worker (spawned over a
 * pipe, `mosd --stdio`) runs the job on a FUSE view of this machine's files
 * in its own namespaces.  Outputs must land on the origin's disk by the time
 * mosctl returns; exit codes, signals and stdin must carry over; a failed
 * write-back and a lost connection must be loud and leave nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T_TIMEOUT 120
#include "harness.h"

/*
 * The job's /tmp is the worker's private tmpfs, in which only the trees a
 * job names beneath the origin's /tmp are the origin's (remote_tmp_test.c):
 * the files these jobs share with the origin live in a directory under
 * /var/tmp, served like any other directory.
 */
static char odir[64];

static const char *o_dir(void)
{
	if (!odir[0]) {
		snprintf(odir, sizeof(odir), "/var/tmp/mos-remote-XXXXXX");
		if (!mkdtemp(odir))
			t_fail("mkdtemp %s: %s", odir, strerror(errno));
		chmod(odir, 0755);
		t_remove_later(odir);
	}
	return odir;
}

static const char *o_path(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, 512, "%s/%s", o_dir(), name);
	return b;
}

static void need_worker(void)
{
	t_need_embedded_worker();
	/* every test gets its own cache, so hits and misses are its own */
	setenv("MOS_LOCAL_CACHE", t_path("cache"), 1);
	/* and its own origin caches (hashes, job manifests) */
	setenv("XDG_CACHE_HOME", t_path("xdg"), 1);
	/* the job starts in mosctl's cwd: the origin's files, outside /tmp */
	if (chdir(o_dir()) < 0)
		t_fail("chdir %s: %s", o_dir(), strerror(errno));
}

/* need_worker(), and the mosd under test, for tests that start it themselves. */
static const char *need_mosd(void)
{
	const char *mosd = getenv("MOSD");

	need_worker();
	if (!mosd || !*mosd)
		t_skip("MOSD is not set (run through make check)");
	return mosd;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 > cap) {
			cap = cap ? 2 * cap : 8192;
			buf = realloc(buf, cap + 1);
		}
		size_t r = fread(buf + n, 1, 4096, f);

		n += r;
		if (r < 4096)
			break;
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

TEST(remote_output_lands_on_origin)
{
	struct t_result r;
	char cmd[1024];
	char *out;

	need_worker();
	t_write_file(o_path("in.txt"), "from the origin\n");
	snprintf(cmd, sizeof(cmd),
		 "cat %s && echo made remotely > %s && mkdir %s && echo x > %s/y && "
		 "ln -s in.txt %s && mv %s %s",
		 o_path("in.txt"), o_path("out.txt"), o_path("sub"), o_path("sub"), o_path("link"),
		 o_path("out.txt"), o_path("moved.txt"));
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "-w", o_dir(), "--", "/bin/sh", "-c", cmd,
		 NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "from the origin");
	out = slurp(o_path("moved.txt"), NULL);
	T_ASSERT(out);
	T_EXPECT_STR(out, "made remotely");
	free(out);
	T_ASSERT(access(o_path("out.txt"), F_OK) < 0);
	out = slurp(o_path("sub/y"), NULL);
	T_ASSERT(out && !strcmp(out, "x\n"));
	free(out);
	{
		char target[64] = "";

		T_ASSERT(readlink(o_path("link"), target, sizeof(target) - 1) > 0);
		T_ASSERT(!strcmp(target, "in.txt"));
	}
	t_result_free(&r);
}

TEST(remote_exit_status_and_signal)
{
	struct t_result r;

	need_worker();
	t_mosctl(&r, "run", "--on", "local", "--", "/bin/sh", "-c", "exit 7", NULL);
	T_EXPECT_EQ(r.status, 7);
	t_result_free(&r);
	t_mosctl(&r, "run", "--on", "local", "--", "/bin/sh", "-c", "kill -TERM $$", NULL);
	T_EXPECT_EQ(r.status, 128 + SIGTERM);
	t_result_free(&r);
	t_mosctl(&r, "run", "--on", "local", "--", "/no/such/program", NULL);
	T_EXPECT_EQ(r.status, 127);
	t_result_free(&r);
}

TEST(remote_stdin_streams_with_backpressure)
{
	struct t_result r;
	size_t n = 3 << 20;
	char *in = malloc(n + 1);
	char *argv[16];
	int i = 0;

	need_worker();
	for (size_t k = 0; k < n; k++)
		in[k] = (char)('a' + k % 26);
	in[n] = 0;
	argv[i++] = (char *)t_mosctl_path();
	argv[i++] = "run";
	argv[i++] = "--on";
	argv[i++] = "local";
	argv[i++] = "--";
	argv[i++] = "/bin/sh";
	argv[i++] = "-c";
	argv[i++] = "sleep 1; cat";
	argv[i] = NULL;
	t_run(&r, in, argv);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_EQ(r.out_len, n);
	T_ASSERT(!memcmp(r.out, in, n));
	t_result_free(&r);
	free(in);
}

TEST(remote_deny_holds)
{
	struct t_result r;
	char cmd[512];

	need_worker();
	t_write_file(o_path("secret"), "S3CR3T-BYTES\n");
	t_write_file(o_path("public"), "public\n");
	snprintf(cmd, sizeof(cmd), "cat %s; cat %s; echo rc=$?", o_path("public"),
		 o_path("secret"));
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "--deny", o_path("secret"), "--", "/bin/sh",
		 "-c", cmd, NULL);
	T_EXPECT_STR(r.out, "public");
	T_EXPECT_STR(r.out, "rc=1");
	T_EXPECT_NO_STR(r.out, "S3CR3T");
	T_EXPECT_NO_STR(r.err, "S3CR3T");
	t_result_free(&r);
	/* nothing granted outside -w: a write elsewhere fails, nothing lands */
	snprintf(cmd, sizeof(cmd), "echo x > %s", o_path("public"));
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "--", "/bin/sh", "-c", cmd, NULL);
	T_ASSERT(r.status != 0);
	t_result_free(&r);
	{
		char *p = slurp(o_path("public"), NULL);

		T_ASSERT(p && !strcmp(p, "public\n"));
		free(p);
	}
}

TEST(remote_writeback_failure_is_loud)
{
	struct t_result r;
	char cmd[512];

	need_worker();
	if (!t_is_root())
		t_skip("mounting the small tmpfs that plays a full disk needs root");
	/* a full disk on the origin: a 64 KiB tmpfs, in this test's mount namespace */
	T_ASSERT(unshare(CLONE_NEWNS) == 0);
	T_ASSERT(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	mkdir(o_path("small"), 0755);
	T_ASSERT(mount("tmpfs", o_path("small"), "tmpfs", 0, "size=64k") == 0);
	snprintf(cmd, sizeof(cmd), "head -c 1000000 /dev/zero > %s/big; echo rc=$?",
		 o_path("small"));
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "-w", o_path("small"), "--", "/bin/sh",
		 "-c", cmd, NULL);
	/* close() failed in the job, and mosctl says which file did not land */
	T_ASSERT(r.status != 0);
	T_EXPECT_NO_STR(r.out, "rc=0");
	T_EXPECT_STR(r.err, "big");
	/* no temporary left on the origin, and no partial content: the file is
	 * as the last successful close() left it (created empty by the shell's
	 * first close of a dup'ed descriptor), as a local full disk would */
	{
		char *ls;
		struct t_result l;
		char *argv[] = { "/bin/ls", "-A", (char *)o_path("small"), NULL };

		t_run(&l, NULL, argv);
		ls = l.out;
		T_EXPECT_NO_STR(ls, "mos-");
		t_result_free(&l);
	}
	{
		struct stat st;

		T_ASSERT(stat(o_path("small/big"), &st) < 0 || st.st_size == 0);
	}
	t_result_free(&r);
	umount2(o_path("small"), MNT_DETACH);
}

TEST(remote_stats_and_cache_hits)
{
	struct t_result r;

	need_worker();
	t_write_file(o_path("data"), "some content to cache\n");
	t_mosctl(&r, "run", "--on", "local", "--stats", "--", "/bin/cat", o_path("data"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "some content to cache");
	T_EXPECT_STR(r.err, "mosctl: stats: wall");
	T_EXPECT_NO_STR(r.err, "misses 0,");
	t_result_free(&r);
	/* the same files again: all from the cache, and the lookups sent ahead
	 * with the job (the manifest of this kind of job): a handful of round
	 * trips at most, where the first run needed dozens */
	t_mosctl(&r, "run", "--on", "local", "--stats", "--", "/bin/cat", o_path("data"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "some content to cache");
	T_EXPECT_STR(r.err, "fetched 0 bytes");
	T_EXPECT_STR(r.err, "misses 0,");
	{
		const char *rt = strstr(r.err, "round trips ");

		T_ASSERT(rt);
		T_ASSERT(atoi(rt + strlen("round trips ")) <= 3);
	}
	t_result_free(&r);
	/* the file changed on the origin: the job sees the new content */
	t_write_file(o_path("data"), "new content, same name\n");
	t_mosctl(&r, "run", "--on", "local", "--stats", "--", "/bin/cat", o_path("data"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "new content, same name");
	t_result_free(&r);
}

static bool marker_running(const char *marker)
{
	struct t_result r;
	char *argv[] = { "/usr/bin/pgrep", "-f", (char *)marker, NULL };
	bool found;

	t_run(&r, NULL, argv);
	found = r.status == 0;
	t_result_free(&r);
	return found;
}

static bool mosfs_mounted(void)
{
	char *m = slurp("/proc/self/mountinfo", NULL);
	bool found = m && strstr(m, "fuse.mosfs");

	free(m);
	return found;
}

TEST(remote_dropped_origin_kills_the_job)
{
	char marker[64], cache_jobs[512];
	pid_t pid;
	int st;

	need_worker();
	snprintf(marker, sizeof(marker), "sleep 86%d", (int)getpid() % 1000 + 1000);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execl(t_mosctl_path(), "mosctl", "run", "--on", "local", "--", "/bin/sh", "-c",
		      marker, NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !marker_running(marker + 6); i++)
		usleep(100000);
	T_ASSERT(marker_running(marker + 6));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	/* the worker sees the connection drop and kills the job's tree */
	for (int i = 0; i < 100 && marker_running(marker + 6); i++)
		usleep(100000);
	T_ASSERT(!marker_running(marker + 6));
	snprintf(cache_jobs, sizeof(cache_jobs), "%s/jobs", t_path("cache"));
	for (int i = 0; i < 50; i++) {
		struct t_result l;
		char *argv[] = { "/bin/ls", "-A", cache_jobs, NULL };
		bool empty;

		t_run(&l, NULL, argv);
		empty = !l.out_len;
		t_result_free(&l);
		if (empty)
			break;
		usleep(100000);
	}
	{
		struct t_result l;
		char *argv[] = { "/bin/ls", "-A", cache_jobs, NULL };

		t_run(&l, NULL, argv);
		T_EXPECT_EQ(l.out_len, 0);
		t_result_free(&l);
	}
	T_ASSERT(!mosfs_mounted());
}

TEST(remote_lost_worker_exits_255)
{
	struct t_result r;
	char pattern[512];
	pid_t killer;

	need_worker();
	/* the worker dies mid-job: the origin must say so and exit 255 */
	snprintf(pattern, sizeof(pattern), "mosd --stdio --cache=%s", t_path("cache"));
	killer = fork();
	T_ASSERT(killer >= 0);
	if (killer == 0) {
		sleep(2);
		execl("/usr/bin/pkill", "pkill", "-KILL", "-f", pattern, NULL);
		_exit(127);
	}
	t_mosctl(&r, "run", "--on", "local", "--", "/bin/sh", "-c", "sleep 30", NULL);
	waitpid(killer, NULL, 0);
	T_EXPECT_EQ(r.status, 255);
	T_EXPECT_STR(r.err, "lost the worker");
	T_ASSERT(r.seconds < 20);
	t_result_free(&r);
}

/* `--on ssh://HOST` runs `ssh ... HOST mosd --stdio`: an ssh stand-in on
 * PATH that runs the remote command here exercises everything but ssh. */
TEST(remote_over_ssh_transport)
{
	struct t_result r;
	char bin[512], script[1024], path[1200];
	const char *mosd;

	mosd = need_mosd();
	snprintf(bin, sizeof(bin), "%s", t_path("bin"));
	mkdir(bin, 0755);
	/* ssh -T -o BatchMode=yes HOST mosd --stdio  ->  $MOSD --stdio --cache=... */
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "[ \"$1 $2 $3 $4\" = \"-T -o BatchMode=yes user@worker\" ] || exit 99\n"
		 "[ \"$5\" = mosd ] || exit 98\n"
		 "shift 5\n"
		 "exec %s \"$@\" --cache=%s\n",
		 mosd, t_path("cache"));
	snprintf(path, sizeof(path), "%s/ssh", bin);
	t_write_file(path, script);
	chmod(path, 0755);
	snprintf(path, sizeof(path), "%s:%s", bin,
		 getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	t_write_file(o_path("f"), "via ssh\n");
	t_mosctl(&r, "run", "--on", "ssh://user@worker", "--", "/bin/cat", o_path("f"), NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "via ssh");
	t_result_free(&r);
}

/* A worker fed garbage says why and exits; it never crashes or hangs. */
TEST(remote_worker_rejects_malformed_stream)
{
	struct t_result r;
	const char *mosd;
	char cmd[1024];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	mosd = need_mosd();
	/* a header with a bad version */
	snprintf(cmd, sizeof(cmd),
		 "printf "
		 "'\\001\\000\\000\\000\\011\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000"
		 "' "
		 "| %s --stdio --cache=%s",
		 mosd, t_path("cache"));
	t_run(&r, NULL, argv);
	T_EXPECT_EQ(r.status, 1);
	T_EXPECT_STR(r.err, "unsupported protocol version");
	t_result_free(&r);
	/* a frame claiming more than MOS_FRAME_MAX */
	snprintf(cmd, sizeof(cmd),
		 "printf "
		 "'\\377\\377\\377\\177\\001\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000"
		 "' "
		 "| %s --stdio --cache=%s",
		 mosd, t_path("cache"));
	t_run(&r, NULL, argv);
	T_EXPECT_EQ(r.status, 1);
	T_EXPECT_STR(r.err, "MOS_FRAME_MAX");
	t_result_free(&r);
	/* a valid HELLO, then a JOB whose argv count runs past the frame */
	snprintf(cmd, sizeof(cmd),
		 "{ printf "
		 "'\\020\\000\\000\\000\\001\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000"
		 "\\061\\123\\117\\115\\001\\000\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000'"
		 "; "
		 "printf "
		 "'\\044\\000\\000\\000\\001\\002\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000"
		 "'; "
		 "head -c 36 /dev/zero | tr '\\000' '\\001'; } | %s --stdio --cache=%s",
		 mosd, t_path("cache"));
	t_run(&r, NULL, argv);
	T_EXPECT_EQ(r.status, 1);
	T_EXPECT_STR(r.err, "malformed JOB");
	t_result_free(&r);
}

/* A terminal on the origin: the job gets a pty of its own, as its
 * controlling terminal, with the origin's window size. */
TEST(remote_tty_gets_a_pty)
{
	struct t_result r;
	char cmd[1024];
	char *argv[] = { "/usr/bin/script", "-qec", cmd, "/dev/null", NULL };

	need_worker();
	if (access("/usr/bin/script", X_OK) < 0)
		t_skip("no script(1) (bsdutils) to give mosctl a terminal");
	snprintf(cmd, sizeof(cmd),
		 "stty rows 30 cols 100; MOS_LOCAL_CACHE=%s %s run --on local -- /bin/sh -c "
		 "'tty; stty size; test -t 0 && echo TTY-OK; ps -o stat= -p $$'",
		 t_path("cache"), t_mosctl_path());
	t_run(&r, NULL, argv);
	if (r.status)
		t_dump("script mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "/dev/pts/");
	T_EXPECT_STR(r.out, "30 100");
	T_EXPECT_STR(r.out, "TTY-OK");
	/* the shell leads the foreground process group of its terminal */
	T_EXPECT_STR(r.out, "+");
	t_result_free(&r);
}

/* A cached blob changed in place on the worker's disk (a byte flipped, the
 * size kept) is found on the next open, dropped and fetched again: the job
 * reads the origin's bytes, and the stats count that one file as a miss. */
TEST(remote_corrupt_blob_refetched)
{
	static const char content[] = "bytes the worker's disk must not alter\n";
	char blob[1024], hex[65] = "", b;
	char *argv[] = { "/usr/bin/sha256sum", NULL, NULL };
	struct t_result r;
	int fd;

	need_worker();
	t_write_file(o_path("kept"), content);
	t_mosctl(&r, "run", "--on", "local", "--stats", "--", "/bin/cat", o_path("kept"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, content);
	t_result_free(&r);

	/* the blob is named by the SHA-256 of the content */
	argv[1] = (char *)o_path("kept");
	t_run(&r, NULL, argv);
	T_ASSERT(r.status == 0 && r.out_len >= 64);
	memcpy(hex, r.out, 64);
	t_result_free(&r);
	snprintf(blob, sizeof(blob), "%s/cas/objects/%.2s/%s", t_path("cache"), hex, hex + 2);
	/* a clock tick first: without multigrain timestamps (Linux < 6.13) a
	 * write in the same tick as the blob's last change keeps its ctime */
	usleep(20000);
	chmod(blob, 0644); /* mode 0444: its owner (an unprivileged worker) must allow itself */
	fd = open(blob, O_RDWR | O_CLOEXEC);
	T_ASSERT(fd >= 0);
	T_ASSERT(pread(fd, &b, 1, 6) == 1);
	b ^= 0x20;
	T_ASSERT(pwrite(fd, &b, 1, 6) == 1);
	close(fd);

	t_mosctl(&r, "run", "--on", "local", "--stats", "--", "/bin/cat", o_path("kept"), NULL);
	if (r.status)
		t_dump("mosctl", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, content);
	T_EXPECT_STR(r.err, "misses 1,");
	t_result_free(&r);
	/* the copy fetched again is right, and trusted: no miss the third time */
	t_mosctl(&r, "run", "--on", "local", "--stats", "--", "/bin/cat", o_path("kept"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, content);
	T_EXPECT_STR(r.err, "misses 0,");
	t_result_free(&r);
}

/* A peer that connects and never sends a job is dropped, and says so. */
TEST(remote_worker_drops_a_stalled_peer)
{
	struct t_result r;
	const char *mosd;
	char cmd[1024];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	mosd = need_mosd();
	/* a fifo held open read-write: input that never comes and never ends */
	snprintf(cmd, sizeof(cmd),
		 "mkfifo %s && exec 3<>%s && exec %s --stdio --start-timeout 1 --cache=%s <&3 "
		 ">/dev/null",
		 t_path("fifo"), t_path("fifo"), mosd, t_path("cache"));
	t_run(&r, NULL, argv);
	T_EXPECT_EQ(r.status, 1);
	T_EXPECT_STR(r.err, "sent no job in time");
	T_ASSERT(r.seconds < 8);
	t_result_free(&r);
}

/* Read a file, then append to it, again and again: the write open must not
 * trip over the RELEASE of the read (sent by the kernel after close()). */
TEST(remote_read_then_append)
{
	struct t_result r;

	need_worker();
	t_write_file(o_path("rw.txt"), "one\n");
	t_mosctl(&r, "run", "--on", "local", "-r", "/", "-w", o_dir(), "--", "/bin/sh", "-c",
		 "for i in 1 2 3 4 5 6 7 8 9 10; do cat rw.txt >/dev/null; echo more >> rw.txt || "
		 "echo FAIL; done",
		 NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_NO_STR(r.out, "FAIL");
	T_EXPECT_NO_STR(r.err, "busy");
	t_result_free(&r);
	{
		char *c = slurp(o_path("rw.txt"), NULL);
		int lines = 0;

		for (char *p = c; p && *p; p++)
			lines += *p == '\n';
		T_EXPECT_EQ(lines, 11);
		free(c);
	}
}

/* A worker may refuse jobs that would accept a weakened sandbox. */
TEST(remote_worker_refuses_degraded_jobs)
{
	struct t_result r;
	const char *mosd;
	char wrapper[512], script[1024];

	mosd = need_mosd();
	/* the mosd that --on local starts, with the worker's own option */
	snprintf(wrapper, sizeof(wrapper), "%s", t_path("mosd-strict"));
	snprintf(script, sizeof(script), "#!/bin/sh\nexec %s --refuse-degraded \"$@\"\n", mosd);
	t_write_file(wrapper, script);
	chmod(wrapper, 0755);
	setenv("MOSD", wrapper, 1);
	t_mosctl(&r, "run", "--on", "local", "--allow-degraded", "--", "/bin/echo", "ran", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_NO_STR(r.out, "ran");
	T_EXPECT_STR(r.err, "--refuse-degraded");
	t_result_free(&r);
	t_mosctl(&r, "run", "--on", "local", "--", "/bin/echo", "ran", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ran");
	t_result_free(&r);
}
