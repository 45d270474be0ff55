// SPDX-License-Identifier: GPL-2.0-only
/*
 * session_test - warm sessions through the agent (`--agent`, mosctl cc and
 * make's default): a second job on the same session needs no preloads, and
 * still reads every change made here between the jobs (close-to-open),
 * even one that keeps a file's size and mtime; the job's own writes are
 * seen by the next; -t holds; the agent or the job's mosctl dying ends the
 * job; the agent talks to this user's unconfined processes only.
 *
 * The worker is the embedded one (`--on local`): the agent keeps its
 * `mosd --stdio` from job to job.  Each test has its own XDG_CACHE_HOME,
 * so its own agent, which ends when the test's directory goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T_TIMEOUT 120
#include "harness.h"

/* The origin's files: outside /tmp (a job's /tmp is the worker's own). */
static const char *o_dir(void)
{
	unsetenv("MOS_AGENT");
	return t_origin_dir("mos-session");
}

/* One job through the agent: `sh -c SCRIPT` in o_dir(), --stats, -v. */
static void job(struct t_result *r, const char *script)
{
	char cmd[8192];

	snprintf(
		cmd, sizeof(cmd),
		"cd '%s' && exec '%s' run -v --agent --on local --stats -r / -w '%s' -- sh -c '%s'",
		o_dir(), t_mosctl_path(), o_dir(), script);
	t_run(r, NULL, (char *const[]){ "sh", "-c", cmd, NULL });
	T_EXPECT_STR(r->err, "mosctl: through the agent: ");
}

/* The "wire ... out N bytes" of a job's --stats line. */
static long long wire_out(const struct t_result *r)
{
	const char *s = r->err ? strstr(r->err, " out ") : NULL;

	while (s && strstr(s + 1, " out "))
		s = strstr(s + 1, " out ");
	return s ? atoll(s + 5) : -1;
}

static void set_mtime(const char *path, time_t t)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "touch -d @%lld '%s'", (long long)t, path);
	T_ASSERT(system(cmd) == 0);
}

TEST(warm_session_needs_no_preloads)
{
	struct t_result r;
	long long first, second;

	o_dir();
	job(&r, "ls /usr/include >/dev/null; cat /etc/hostname >/dev/null; echo one");
	if (r.status)
		t_dump("first", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "one\n");
	T_EXPECT_STR(r.err, "a new session");
	first = wire_out(&r);
	t_result_free(&r);
	/* the same again: the manifest would preload it all, the session has it */
	job(&r, "ls /usr/include >/dev/null; cat /etc/hostname >/dev/null; echo two");
	if (r.status)
		t_dump("second", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "two\n");
	T_EXPECT_STR(r.err, "a warm session (1 jobs before)");
	second = wire_out(&r);
	t_note("bytes to the worker: first job %lld, second %lld", first, second);
	T_ASSERT(first > 0 && second > 0);
	T_EXPECT_EQ(second * 10 < first, 1);
	t_result_free(&r);
}

/*
 * Close-to-open across the jobs of a session: a header edited between two
 * jobs, same size and the same mtime, is read anew; a file made, one
 * removed, a directory renamed and another made in its place.
 */
TEST(warm_session_reads_what_changed_between_jobs)
{
	struct t_result r;
	char h[600], sub[600], cmd[1400];

	o_dir();
	snprintf(h, sizeof(h), "%s/v.h", o_dir());
	snprintf(sub, sizeof(sub), "%s/sub", o_dir());
	t_write_file(h, "#define V 1\n");
	set_mtime(h, 1600000000);
	t_mkdir(sub);
	snprintf(cmd, sizeof(cmd), "%s/old", sub);
	t_write_file(cmd, "old\n");
	job(&r, "cat v.h; ls sub");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "#define V 1\nold\n");
	t_result_free(&r);

	t_write_file(h, "#define V 2\n");
	set_mtime(h, 1600000000);
	job(&r, "cat v.h; ls sub");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.err, "a warm session");
	T_EXPECT_STR(r.out, "#define V 2\nold\n");
	t_result_free(&r);

	snprintf(cmd, sizeof(cmd), "cd '%s' && touch sub/new && rm sub/old", o_dir());
	T_ASSERT(system(cmd) == 0);
	job(&r, "ls sub");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "new\n");
	T_EXPECT_NO_STR(r.out, "old");
	t_result_free(&r);

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && mv sub sub.gone && mkdir sub && echo other > sub/other", o_dir());
	T_ASSERT(system(cmd) == 0);
	job(&r, "ls sub; cat sub/other");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "other\nother\n");
	T_EXPECT_NO_STR(r.out, "new");
	t_result_free(&r);
}

/*
 * The worker's kernel keeps what it looked up from job to job (the
 * session's mount): a second job looks nothing up again, yet a name the
 * first job found missing (a negative entry in that kernel) and that was
 * made here since is found.
 */
TEST(warm_session_keeps_the_kernel_caches)
{
	struct t_result r;
	char cmd[1400];
	long long first, second;
	const char *s;

	o_dir();
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && mkdir many && for i in $(seq 40); do echo $i > many/f$i; done",
		 o_dir());
	T_ASSERT(system(cmd) == 0);
	job(&r, "cat many/* > /dev/null; cat late.h 2>/dev/null || echo missing");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "missing\n");
	s = r.err ? strstr(r.err, "requests ") : NULL;
	first = s ? atoll(s + 9) : -1;
	t_result_free(&r);
	snprintf(cmd, sizeof(cmd), "%s/late.h", o_dir());
	t_write_file(cmd, "made later\n");
	job(&r, "cat many/* > /dev/null; cat late.h 2>/dev/null || echo missing");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "made later\n");
	s = r.err ? strstr(r.err, "requests ") : NULL;
	second = s ? atoll(s + 9) : -1;
	t_result_free(&r);
	job(&r, "cat many/* > /dev/null; cat late.h");
	T_EXPECT_EQ(r.status, 0);
	s = r.err ? strstr(r.err, "requests ") : NULL;
	t_note("FUSE requests: first job %lld, second %lld, third %lld", first, second,
	       s ? atoll(s + 9) : -1);
	/* the third looks up none of the 40 files (the second had its
	 * directory listed again: late.h was made in it) */
	T_ASSERT(first > 0 && s);
	T_EXPECT_EQ(atoll(s + 9) + 40 <= first, 1);
	t_result_free(&r);
}

/* What a job writes back, the next job of the session reads. */
TEST(warm_session_reads_the_previous_jobs_writes)
{
	struct t_result r;

	o_dir();
	job(&r, "ls; echo first > out.txt");
	T_EXPECT_EQ(r.status, 0);
	t_result_free(&r);
	job(&r, "cat out.txt; echo second > out.txt; mkdir d; echo in > d/f");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "first\n");
	t_result_free(&r);
	job(&r, "cat out.txt d/f; ls");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "second\nin\n");
	t_result_free(&r);
}

/*
 * A file's blob stays open from its last close to its next open (mosfs
 * keeps it): the job's own truncate, a rename over it and a write through
 * another name all reach the next read, in one job and in the next.
 */
TEST(kept_content_follows_the_jobs_changes)
{
	struct t_result r;
	char p[700];

	o_dir();
	snprintf(p, sizeof(p), "%s/t.txt", o_dir());
	t_write_file(p, "abcdef\n");
	snprintf(p, sizeof(p), "%s/other.txt", o_dir());
	t_write_file(p, "other\n");
	/* (perl's truncate of a name is truncate(2): a SETATTR, no open) */
	job(&r, "cat t.txt; cat t.txt; perl -e \"truncate(q(t.txt), 3) or die\"; cat t.txt; echo; "
		"cat other.txt; mv t.txt other.txt; cat other.txt; echo; "
		"ln -s other.txt l; printf xy >> l; cat other.txt; echo");
	if (r.status)
		t_dump("one job", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "abcdef\nabcdef\nabc\nother\nabc\nabcxy\n");
	t_result_free(&r);
	job(&r, "cat other.txt; echo; perl -e \"truncate(q(other.txt), 1) or die\"; cat other.txt; echo");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "abcxy\na\n");
	t_result_free(&r);
	{
		char *got = t_slurp(p);

		T_EXPECT_STR(got, "a");
		free(got);
	}
}

/*
 * A file replaced (rename over it) the moment the job that read it has
 * ended, while its watches are still on the way to the agent: the next
 * job reads the new one, every time.
 */
TEST(warm_session_sees_a_replacement_during_the_handover)
{
	struct t_result r;
	char x[700], tmp[700], want[64];

	o_dir();
	snprintf(x, sizeof(x), "%s/x", o_dir());
	snprintf(tmp, sizeof(tmp), "%s/x.new", o_dir());
	t_write_file(x, "v0\n");
	for (int i = 1; i <= 20; i++) {
		job(&r, "cat x");
		snprintf(want, sizeof(want), "v%d\n", i - 1);
		T_EXPECT_EQ(r.status, 0);
		T_EXPECT_STR(r.out, want);
		t_result_free(&r);
		/* at once: the agent may not have the job's watches yet */
		snprintf(want, sizeof(want), "v%d\n", i);
		t_write_file(tmp, want);
		T_ASSERT(rename(tmp, x) == 0);
	}
	job(&r, "cat x");
	T_EXPECT_STR(r.out, "v20\n");
	t_result_free(&r);
}

/*
 * An OPEN answer a session keeps from an earlier job, for a file no job of
 * it has read (it came ahead with that job's manifest), and whose content
 * this worker's cache lacks: the later job that opens it gets its content.
 * (Its own mosctl never announced that hash: the origin refuses to send
 * an unannounced blob, so the worker must ask it again, not fail the open
 * with ENOENT, as a kernel build showed: "linux/namei.h: No such file".)
 */
TEST(warm_session_opens_what_an_earlier_job_was_sent_ahead)
{
	struct t_result r;
	char p[700], cmd[4096];

	o_dir();
	snprintf(p, sizeof(p), "%s/ahead.txt", o_dir());
	t_write_file(p, "sent ahead\n");
	/* a job of the same kind (sh, here, this worker) opens it, without the
	 * agent and with another worker cache: its manifest names the file */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && MOS_LOCAL_CACHE='%s' exec '%s' run --on local -r / -w '%s' -- "
		 "sh -c 'cat ahead.txt'",
		 o_dir(), t_path("cache-first"), t_mosctl_path(), o_dir());
	t_run(&r, NULL, (char *const[]){ "sh", "-c", cmd, NULL });
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "sent ahead\n");
	t_result_free(&r);
	/* a new session on an empty worker cache: its first job is sent the
	 * manifest's answers and opens nothing; the second opens the file */
	setenv("MOS_LOCAL_CACHE", t_path("cache-session"), 1);
	job(&r, "echo first");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.err, "a new session");
	t_result_free(&r);
	job(&r, "cat ahead.txt");
	if (r.status)
		t_dump("the second job", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.err, "a warm session");
	T_EXPECT_STR(r.out, "sent ahead\n");
	t_result_free(&r);
}

/*
 * A file written through a shared mapping after its last close() (the
 * unmap is its last release: scripts/sorttable does this to vmlinux) is
 * on the origin when the job ends, in every job of a session: the job is
 * not over until the write-back that its release makes is done.
 */
TEST(warm_session_writes_back_a_mapping_written_after_close)
{
	enum { SIZE = 2 << 20 };
	struct t_result r;
	char p[700], sub[700], cmd[4096], tag[32], helper[700];
	char *zeros = calloc(1, SIZE), *got;
	size_t k;

	T_ASSERT(zeros != NULL);
	o_dir();
	snprintf(p, sizeof(p), "%s/mapped.bin", o_dir());
	/* the helper from the origin's tree: a job's /tmp (where a build
	 * tree may be) is the worker's own */
	snprintf(helper, sizeof(helper), "%s/probe_fs", o_dir());
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", t_helper("probe_fs"), helper);
	T_ASSERT(system(cmd) == 0);
	for (int i = 0; i < 8; i++) {
		int fd;

		/* a file of the tree, rewritten here before each job */
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		T_ASSERT(fd >= 0);
		T_ASSERT(write(fd, zeros, SIZE) == SIZE);
		close(fd);
		/* odd rounds: the first job of a new session (a working
		 * directory of its own); even ones: a warm session's next */
		snprintf(sub, sizeof(sub), "%s/s%d", o_dir(), i & 1 ? i : 0);
		mkdir(sub, 0755);
		snprintf(tag, sizeof(tag), "job%d", i);
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && exec '%s' run -v --agent --on local -r / -w '%s' -- "
			 "'%s' mmap-after-close ../mapped.bin %d %s",
			 sub, t_mosctl_path(), o_dir(), helper, SIZE - 4096 + i, tag);
		t_run(&r, NULL, (char *const[]){ "sh", "-c", cmd, NULL });
		if (r.status)
			t_dump("mmap-after-close", &r);
		T_EXPECT_EQ(r.status, 0);
		T_EXPECT_STR(r.out, "ok\n");
		t_result_free(&r);
		got = t_slurp(p);
		T_ASSERT(got != NULL);
		k = strlen(tag);
		T_EXPECT_EQ(memcmp(got + SIZE - 4096 + i, tag, k), 0);
		T_EXPECT_EQ(memcmp(got, zeros, SIZE - 4096 + i), 0);
		free(got);
	}
	free(zeros);
}

/* /proc/PID/cmdline, its NULs as spaces, into BUF ("" if gone). */
static void cmdline_of(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = '\0';
}

/* The first live process whose parent is PPID (any, if 0) and whose command
 * line holds NEEDLE; 0 if none. */
static pid_t find_proc(pid_t ppid, const char *needle)
{
	char path[64], buf[4096], line[512];
	pid_t found = 0;
	FILE *f;

	for (pid_t pid = 2; pid < 4194304 && !found; pid++) {
		long pp = -1;
		char state = 0;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "re");
		if (!f) {
			if (pid > 65536)
				break; /* (pid_max is rarely above this here) */
			continue;
		}
		if (fgets(line, sizeof(line), f)) {
			const char *p = strrchr(line, ')');

			if (p)
				sscanf(p + 1, " %c %ld", &state, &pp);
		}
		fclose(f);
		if (state == 'Z' || (ppid && pp != ppid))
			continue;
		cmdline_of(pid, buf, sizeof(buf));
		if (strstr(buf, needle))
			found = pid;
	}
	return found;
}

/* This test's session's spare job process (its agent's mosd's child,
 * `mosd --job-spare`), waited for up to 5 s: it starts after the EXIT. */
static pid_t session_spare(void)
{
	char needle[700];
	pid_t agent, mosd, spare = 0;

	snprintf(needle, sizeof(needle), "agent --socket %s/", getenv("XDG_CACHE_HOME"));
	agent = find_proc(0, needle);
	mosd = agent ? find_proc(agent, "mosd --stdio") : 0;
	for (int i = 0; mosd && !spare && i < 50; i++) {
		spare = find_proc(mosd, "mosd --job-spare");
		if (!spare)
			usleep(100 * 1000);
	}
	t_note("agent %d, its mosd %d, the spare %d", (int)agent, (int)mosd, (int)spare);
	return spare;
}

/*
 * Between a session's jobs the next job's process waits, started (so its
 * fork, exec and dynamic linking are not the next job's); it holds stdio
 * on /dev/null, mosd's stderr and its socket, nothing else; killed, it is
 * replaced by a fresh fork, and the job runs as ever.
 */
TEST(warm_session_keeps_a_spare_job_process)
{
	struct t_result r;
	char path[128], target[256];
	pid_t spare, again;
	int nfds = 0;
	ssize_t n;

	o_dir();
	job(&r, "echo one");
	T_EXPECT_EQ(r.status, 0);
	t_result_free(&r);
	job(&r, "echo two");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "two\n");
	t_result_free(&r);
	spare = session_spare();
	T_ASSERT(spare > 0);
	for (int fd = 0; fd < 64; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)spare, fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		nfds++;
		if (fd <= 1)
			T_EXPECT_STR(target, "/dev/null");
		if (fd == 3)
			T_EXPECT_STR(target, "socket:");
		T_EXPECT_EQ(fd <= 3, 1);
	}
	T_EXPECT_EQ(nfds, 4);

	T_ASSERT(kill(spare, SIGKILL) == 0);
	for (int i = 0; i < 50 && find_proc(0, "mosd --job-spare") == spare; i++)
		usleep(100 * 1000);
	job(&r, "echo three");
	if (r.status)
		t_dump("after the spare was killed", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "three\n");
	T_EXPECT_STR(r.err, "a warm session");
	t_result_free(&r);
	again = session_spare();
	T_EXPECT_EQ(again > 0 && again != spare, 1);

	/* the spare becomes the job's process: the job runs, not a fork */
	job(&r, "echo four");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "four\n");
	t_result_free(&r);
	T_EXPECT_EQ(kill(again, 0) < 0 || find_proc(0, "mosd --job-spare") != again, 1);
}

TEST(warm_session_timeout_holds)
{
	struct t_result r;
	char cmd[2048];
	struct timespec a, b;

	o_dir();
	job(&r, "true");
	t_result_free(&r);
	clock_gettime(CLOCK_MONOTONIC, &a);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && exec '%s' run --agent --on local -t 1 -r / -- sleep 30", o_dir(),
		 t_mosctl_path());
	t_run(&r, NULL, (char *const[]){ "sh", "-c", cmd, NULL });
	clock_gettime(CLOCK_MONOTONIC, &b);
	T_EXPECT_EQ(r.status, 124);
	T_EXPECT_EQ(b.tv_sec - a.tv_sec < 10, 1);
	t_result_free(&r);
	/* and the session is still good for the next job, or a new one is made */
	job(&r, "echo after");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "after\n");
	t_result_free(&r);
}

static char *agent_socket(void)
{
	struct t_result r;
	char *s;

	t_mosctl(&r, "agent", "--print-socket", NULL);
	T_ASSERT(r.status == 0 && r.out && strchr(r.out, '\n'));
	*strchr(r.out, '\n') = 0;
	s = t_strdup(r.out);
	t_result_free(&r);
	return s;
}

/* The agent killed while the job runs: the job ends with 255, promptly,
 * and the job's processes on the worker go with it. */
TEST(agent_killed_mid_job)
{
	struct t_result r;
	char pidfile[600], cmd[2048], *pid;
	pid_t killer;
	int st;

	o_dir();
	job(&r, "true");
	t_result_free(&r);
	snprintf(pidfile, sizeof(pidfile), "%s/job.pid", o_dir());
	/* ([m]: not the shell that runs pkill, whose command line has it too) */
	snprintf(cmd, sizeof(cmd), "pkill -KILL -f '[m]osctl agent --socket %s'", agent_socket());
	killer = fork();
	T_ASSERT(killer >= 0);
	if (killer == 0) {
		sleep(2);
		_exit(system(cmd) == 0 ? 0 : 1);
	}
	snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! > job.pid; wait");
	job(&r, cmd);
	waitpid(killer, &st, 0);
	if (r.status != 255)
		t_dump("killed", &r);
	T_EXPECT_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	T_EXPECT_EQ(r.status, 255);
	T_EXPECT_STR(r.err, "lost the worker");
	t_result_free(&r);
	/* (the pid is the job's own pid namespace's: only its absence from the
	 * host matters, seen through the job's command line) */
	pid = t_slurp(pidfile);
	T_ASSERT(pid != NULL);
	free(pid);
	for (int i = 0; i < 150; i++) {
		if (system("pgrep -f '^sleep 60$' >/dev/null") != 0)
			break;
		usleep(100000);
	}
	T_EXPECT_EQ(system("pgrep -f '^sleep 60$' >/dev/null") != 0, 1);
}

/* The job's mosctl killed: the agent ends that session, and the job. */
TEST(client_killed_mid_job)
{
	struct t_result r;
	char cmd[2048];

	o_dir();
	job(&r, "true");
	t_result_free(&r);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && ('%s' run --agent --on local -r / -- sleep 61 & p=$!; sleep 2; kill "
		 "-KILL $p; wait $p; echo killed $?)",
		 o_dir(), t_mosctl_path());
	t_run(&r, NULL, (char *const[]){ "sh", "-c", cmd, NULL });
	T_EXPECT_STR(r.out, "killed 137");
	t_result_free(&r);
	for (int i = 0; i < 150; i++) {
		if (system("pgrep -f '^sleep 61$' >/dev/null") != 0)
			break;
		usleep(100000);
	}
	T_EXPECT_EQ(system("pgrep -f '^sleep 61$' >/dev/null") != 0, 1);
	/* the agent goes on serving */
	job(&r, "echo still");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "still\n");
	t_result_free(&r);
}

/* Garbage on the agent's socket: that client is dropped, the agent serves on. */
TEST(agent_drops_a_malformed_client)
{
	struct t_result r;
	char *sock;

	o_dir();
	job(&r, "true");
	t_result_free(&r);
	sock = agent_socket();
	t_run(&r, NULL,
	      (char *const[]){ (char *)t_helper("agent_probe"), sock,
			       "this is not a frame of the protocol at all", NULL });
	T_EXPECT_STR(r.out, "CLOSED");
	t_result_free(&r);
	t_run(&r, NULL, (char *const[]){ (char *)t_helper("agent_probe"), sock, NULL });
	T_EXPECT_STR(r.out, "READY");
	t_result_free(&r);
	job(&r, "echo fine");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "fine\n");
	t_result_free(&r);
	free(sock);
}

/*
 * A confined process must not reach a worker through the agent (it could
 * then run jobs with a network it has not got): from inside a mosctl
 * sandbox that may even write the socket's directory, the agent refuses.
 */
TEST(agent_refuses_a_sandboxed_client)
{
	struct t_result r;
	char *sock, dir[600], cmd[4096];

	o_dir();
	job(&r, "true");
	t_result_free(&r);
	sock = agent_socket();
	snprintf(dir, sizeof(dir), "%s", sock);
	*strrchr(dir, '/') = 0;
	snprintf(cmd, sizeof(cmd), "exec '%s' run -s --allow-unix -r '%s' -w '%s' -- '%s' '%s'",
		 t_mosctl_path(), t_helper("agent_probe"), dir, t_helper("agent_probe"), sock);
	t_run(&r, NULL, (char *const[]){ "sh", "-c", cmd, NULL });
	t_note("from a sandbox: %s", r.out ? r.out : "");
	T_EXPECT_NO_STR(r.out, "READY");
	T_ASSERT(r.out &&
		 (strstr(r.out, "ERROR") || strstr(r.out, "CONNECT") || strstr(r.out, "CLOSED")));
	t_result_free(&r);
	/* nor another user */
	if (t_is_root()) {
		snprintf(cmd, sizeof(cmd),
			 "exec setpriv --reuid 65534 --regid 65534 --clear-groups '%s' '%s'",
			 t_helper("agent_probe"), sock);
		t_run(&r, NULL, (char *const[]){ "sh", "-c", cmd, NULL });
		t_note("as uid 65534: %s", r.out ? r.out : "");
		T_EXPECT_NO_STR(r.out, "READY");
		t_result_free(&r);
	}
	free(sock);
}

/*
 * A unix socket NAME bound in DIR, then closed: what a killed agent leaves
 * (bound from inside DIR: its path may be longer than sun_path).
 */
static void dead_socket(const char *dir, const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), here = open(".", O_PATH | O_DIRECTORY);

	T_ASSERT(fd >= 0 && here >= 0 && strlen(name) < sizeof(a.sun_path));
	strcpy(a.sun_path, name);
	T_ASSERT(chdir(dir) == 0);
	T_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	T_ASSERT(fchdir(here) == 0);
	close(here);
	close(fd);
}

/*
 * An agent starting removes what dead agents left beside its socket (the
 * socket and its lock, one pair per configuration), and only that: a live
 * agent's lock (held) and its socket stay, and so does a file that is not
 * a socket.
 */
TEST(agent_removes_dead_agents_sockets)
{
	struct t_result r;
	char *sock, dir[600], dead[700], deadlock[720], live[700], livelock[720], other[700],
		otherlock[720], cmd[2048];
	pid_t holder;
	int p[2], st;
	char c;

	o_dir();
	sock = agent_socket();
	snprintf(dir, sizeof(dir), "%s", sock);
	*strrchr(dir, '/') = 0;
	T_ASSERT(mkdir(dir, 0700) == 0 || errno == EEXIST);
	snprintf(dead, sizeof(dead), "%s/agent-00000000000dead1.sock", dir);
	snprintf(deadlock, sizeof(deadlock), "%s.lock", dead);
	snprintf(live, sizeof(live), "%s/agent-00000000000a11e1.sock", dir);
	snprintf(livelock, sizeof(livelock), "%s.lock", live);
	snprintf(other, sizeof(other), "%s/agent-00000000000f11e1.sock", dir);
	snprintf(otherlock, sizeof(otherlock), "%s.lock", other);
	dead_socket(dir, "agent-00000000000dead1.sock");
	dead_socket(dir, "agent-00000000000a11e1.sock");
	T_ASSERT(close(open(deadlock, O_CREAT | O_WRONLY, 0600)) == 0);
	T_ASSERT(close(open(livelock, O_CREAT | O_WRONLY, 0600)) == 0);
	T_ASSERT(close(open(other, O_CREAT | O_WRONLY, 0600)) == 0);
	T_ASSERT(close(open(otherlock, O_CREAT | O_WRONLY, 0600)) == 0);
	/* a live agent's lock: held by a process until told to let go */
	T_ASSERT(pipe(p) == 0);
	holder = fork();
	T_ASSERT(holder >= 0);
	if (holder == 0) {
		int fd = open(livelock, O_RDWR);

		close(p[1]);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		if (read(p[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[0]);
	usleep(200000); /* (the holder takes its lock) */
	job(&r, "true");
	T_EXPECT_EQ(r.status, 0);
	t_result_free(&r);
	T_EXPECT_EQ(access(dead, F_OK) < 0 && errno == ENOENT, 1);
	T_EXPECT_EQ(access(deadlock, F_OK) < 0 && errno == ENOENT, 1);
	T_EXPECT_EQ(access(live, F_OK), 0);
	T_EXPECT_EQ(access(livelock, F_OK), 0);
	T_EXPECT_EQ(access(other, F_OK), 0);
	T_EXPECT_EQ(access(sock, F_OK), 0);
	close(p[1]);
	waitpid(holder, &st, 0);
	T_EXPECT_EQ(WIFEXITED(st) && WEXITSTATUS(st) == 0, 1);
	snprintf(cmd, sizeof(cmd), "pkill -KILL -f '[m]osctl agent --socket %s'", sock);
	if (system(cmd) != 0)
		t_note("no agent to end");
	free(sock);
}
