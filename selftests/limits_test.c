// SPDX-License-Identifier: GPL-2.0-only
/*
 * limits_test - mosctl run's resource limits hold against real hogs:
 * memory (-m: RLIMIT_AS per process, a cgroup for the tree where one is
 * writable), processes and threads (-P), open files, CPU time; the same
 * limits from a --policy file; bad limit values are refused (125); the
 * sandbox's cgroup is removed after every kind of ending.
 *
 * The helper is selftests/helpers/hog.c.  Each test reads the plan mosctl
 * prints with -v to know whether a cgroup enforces the tree-wide limits
 * (root here) or only rlimits do (nobody), and asserts what that plan says.
 */
#include "limits_util.h"

#define HOG_RUN(...) "run", "-s", "-r", (char *)lu_helpers_dir(), __VA_ARGS__

/* The largest N of the "touched N" progress lines; -1 when there is none. */
static long max_touched(const char *out)
{
	long max = -1;

	for (const char *s = out; (s = strstr(s, "touched")) != NULL; s += 7) {
		long v = strtol(s + 7 + strspn(s + 7, " ="), NULL, 10);

		if (v > max)
			max = v;
	}
	return max;
}

/* The integer after "KEY=" in S, or -1. */
static long field(const char *s, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "%s=", key);
	p = s ? strstr(s, k) : NULL;
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

/* A run under -m 64M of "hog mem 512 16" either ran out or was OOM-killed. */
static void check_mem_hog_stopped(const struct t_result *r)
{
	long touched = max_touched(r->out);

	t_dump("memory hog under 64M", r);
	T_ASSERT(r->status == 0 || r->status == 128 + 9);
	if (r->status == 0)
		T_EXPECT_STR(r->out, "err ENOMEM");
	T_EXPECT_NO_STR(r->out, "ok ");
	/* It got going (some memory is fine), but never past the limit. */
	T_ASSERT(touched >= 16);
	T_ASSERT(touched <= 64);
}

TEST(memory_hog_stops_at_limit)
{
	struct t_result r;

	t_mosctl(&r, HOG_RUN("-m", "64M", "--", t_helper("hog"), "mem", "512", "16"), NULL);
	check_mem_hog_stopped(&r);
	/* Bytes, K and G spellings mean the same kind of limit. */
	t_mosctl(&r, HOG_RUN("-m", "65536K", "--", t_helper("hog"), "mem", "512", "16"), NULL);
	check_mem_hog_stopped(&r);
	t_mosctl(&r, HOG_RUN("-m", "67108864", "--", t_helper("hog"), "mem", "512", "16"), NULL);
	check_mem_hog_stopped(&r);
}

TEST(memory_hog_runs_without_limit)
{
	struct t_result r;

	t_mosctl(&r, HOG_RUN("--", t_helper("hog"), "mem", "128", "16"), NULL);
	if (r.status != 0)
		t_dump("hog mem 128", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok 128");
	/* A generous limit does not get in the way. */
	t_mosctl(&r, HOG_RUN("-m", "1G", "--", t_helper("hog"), "mem", "128", "16"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok 128");
}

/*
 * Four children of 40 MiB each: each fits RLIMIT_AS (64M), the four together
 * do not fit 64 MiB.  With a cgroup, at most one can be alive at the end and
 * the kernel must have killed some; without one, -v must say that the tree is
 * bounded only per process, and it is.
 */
TEST(memory_limit_bounds_the_tree)
{
	struct t_result r;
	long ready, alive, killed;

	t_mosctl(&r, HOG_RUN("-v", "-m", "64M", "--", t_helper("hog"), "memtree", "4", "40"),
		 NULL);
	t_dump("memtree 4 x 40 MiB under 64M", &r);
	ready = field(r.out, "ready");
	alive = field(r.out, "alive");
	killed = field(r.out, "killed");
	if (strstr(r.err, "for the whole sandbox (cgroup")) {
		/* The helper's parent may be the OOM victim too: then no summary. */
		T_ASSERT(r.status == 0 || r.status == 128 + 9);
		if (r.status == 0) {
			T_ASSERT(alive >= 0 && alive <= 1);
			T_ASSERT(killed >= 1);
		}
	} else {
		T_EXPECT_STR(r.err, "per process (RLIMIT_AS)");
		T_EXPECT_STR(r.err, "bounded only by");
		T_EXPECT_EQ(r.status, 0);
		T_EXPECT_EQ(ready, 4);
		T_EXPECT_EQ(alive, 4);
	}
}

TEST(memory_limit_from_policy)
{
	struct t_result r;

	t_write_file(t_path("p.json"), "{\"limits\": {\"memory\": \"64M\"}}\n");
	t_mosctl(&r, HOG_RUN("--policy", t_path("p.json"), "--", t_helper("hog"), "mem", "512",
			     "16"),
		 NULL);
	check_mem_hog_stopped(&r);
	/* A number of bytes works as well as a string. */
	t_write_file(t_path("p.json"), "{\"limits\": {\"memory\": 67108864}}\n");
	t_mosctl(&r, HOG_RUN("--policy", t_path("p.json"), "--", t_helper("hog"), "mem", "512",
			     "16"),
		 NULL);
	check_mem_hog_stopped(&r);
}

/* Every process of the bomb forks for 1.5 s; none exits until the end. */
static void check_fork_bomb(char *const args[], const char *mark)
{
	struct lu_bg b;
	double secs;
	char left[512];
	long max, eagain;
	int st, n;

	lu_bg_start(&b, args, false);
	st = lu_bg_wait(&b, 30, &secs);
	lu_bg_dump("fork bomb", &b);
	T_EXPECT_EQ(st, 0);
	max = field(b.buf, "max");
	eagain = field(b.buf, "eagain");
	/* Never more than 16 at once, and it really ran into the limit. */
	T_ASSERT(max >= 8);
	T_ASSERT(max <= 16);
	T_ASSERT(eagain > 0);
	/* mosctl returned promptly (1.5 s of bombing) with nothing left behind. */
	T_ASSERT(secs < 15);
	n = lu_count_marked(mark, 0, left, sizeof(left));
	if (n)
		t_fail("%d processes of the fork bomb outlived mosctl:%s", n, left);
}

TEST(fork_bomb_is_bounded)
{
	const char *mark = lu_marker();
	char *args[] = { HOG_RUN("-P", "16", "--", (char *)t_helper("hog"), "forkbomb", "1500",
				 (char *)mark),
			 NULL };

	check_fork_bomb(args, mark);
}

TEST(max_procs_bounds_threads)
{
	struct t_result r;
	long n;

	t_mosctl(&r, HOG_RUN("-P", "16", "--", t_helper("hog"), "threads", "200"), NULL);
	t_dump("threads under -P 16", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "err EAGAIN");
	n = field(r.out, "threads");
	/* The main thread is the 16th. */
	T_ASSERT(n >= 8);
	T_ASSERT(n <= 15);
	/* Without -P the same helper gets its 200 threads. */
	t_mosctl(&r, HOG_RUN("--", t_helper("hog"), "threads", "200"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok threads=200");
}

TEST(max_procs_from_policy)
{
	const char *mark = lu_marker();
	char *args[] = { HOG_RUN("--policy", (char *)t_path("p.json"), "--",
				 (char *)t_helper("hog"), "forkbomb", "1500", (char *)mark),
			 NULL };

	t_write_file(t_path("p.json"), "{\"limits\": {\"procs\": 16}}\n");
	check_fork_bomb(args, mark);
}

/*
 * Two bombs at once, as the same user: each sandbox has its own count (its
 * own cgroup, or RLIMIT_NPROC in its own user namespace), so both reach 16;
 * a count shared by the user would leave about 8 each.
 */
TEST(max_procs_is_per_sandbox)
{
	const char *mark = lu_marker();
	char *args[] = { HOG_RUN("-P", "16", "--", (char *)t_helper("hog"), "forkbomb", "2500",
				 (char *)mark),
			 NULL };
	struct lu_bg a, b;
	long max_a, max_b;
	int st_a, st_b;

	lu_bg_start(&a, args, false);
	lu_bg_start(&b, args, false);
	st_a = lu_bg_wait(&a, 30, NULL);
	st_b = lu_bg_wait(&b, 30, NULL);
	lu_bg_dump("bomb A", &a);
	lu_bg_dump("bomb B", &b);
	T_EXPECT_EQ(st_a, 0);
	T_EXPECT_EQ(st_b, 0);
	max_a = field(a.buf, "max");
	max_b = field(b.buf, "max");
	T_ASSERT(max_a >= 12 && max_a <= 16);
	T_ASSERT(max_b >= 12 && max_b <= 16);
	T_EXPECT_EQ(lu_count_marked(mark, 0, NULL, 0), 0);
}

TEST(open_files_limit)
{
	struct t_result r;

	t_mosctl(&r, HOG_RUN("--open-files", "20", "--", t_helper("hog"), "files", "100"), NULL);
	t_dump("files under --open-files 20", &r);
	T_EXPECT_EQ(r.status, 0);
	/* fds 0-2 are stdio: 3..19 open, the 21st descriptor fails. */
	T_EXPECT_STR(r.out, "err EMFILE opened=17 last=19");
	t_write_file(t_path("p.json"), "{\"limits\": {\"open_files\": 20}}\n");
	t_mosctl(&r, HOG_RUN("--policy", t_path("p.json"), "--", t_helper("hog"), "files", "100"),
		 NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "err EMFILE opened=17 last=19");
	t_mosctl(&r, HOG_RUN("--", t_helper("hog"), "files", "100"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok opened=100");
}

static void check_cpu_killed(const struct t_result *r)
{
	t_dump("busy loop under --cpu 1", r);
	/* SIGXCPU at the soft limit, SIGKILL at the hard one (equal here). */
	T_ASSERT(r->status == 128 + SIGXCPU || r->status == 128 + SIGKILL);
	T_ASSERT(r->seconds >= 0.9);
	T_ASSERT(r->seconds < 10);
}

TEST(cpu_limit_kills_busy_loop)
{
	struct t_result r;

	t_mosctl(&r, HOG_RUN("--cpu", "1", "--", t_helper("hog"), "spin"), NULL);
	check_cpu_killed(&r);
	t_write_file(t_path("p.json"), "{\"limits\": {\"cpu\": 1}}\n");
	t_mosctl(&r, HOG_RUN("--policy", t_path("p.json"), "--", t_helper("hog"), "spin"), NULL);
	check_cpu_killed(&r);
}

TEST(timeout_kills_sleep)
{
	struct t_result r;

	t_mosctl(&r, "run", "-s", "-t", "1", "--", "sleep", "30", NULL);
	T_EXPECT_EQ(r.status, 124);
	T_ASSERT(r.seconds >= 0.9);
	T_ASSERT(r.seconds < 5);
	t_write_file(t_path("p.json"), "{\"limits\": {\"timeout\": 1}}\n");
	t_mosctl(&r, "run", "-s", "--policy", t_path("p.json"), "--", "sleep", "30", NULL);
	T_EXPECT_EQ(r.status, 124);
	T_ASSERT(r.seconds < 5);
}

TEST(invalid_limits_are_125)
{
	static const char *const cases[][3] = {
		{ "-m", "0", "--memory" },
		{ "-m", "12Q", "--memory" },
		{ "--memory", "-5M", "--memory" },
		{ "-P", "0", "--max-procs" },
		{ "-P", "abc", "--max-procs" },
		{ "--max-procs", "-3", "--max-procs" },
		{ "--open-files", "-1", "--open-files" },
		{ "--open-files", "0", "--open-files" },
		{ "--cpu", "x", "--cpu" },
		{ "--cpu", "0", "--cpu" },
		{ "-t", "0", "--timeout" },
		{ "-t", "x", "--timeout" },
		{ "-t", "-1", "--timeout" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct t_result r;

		t_mosctl(&r, "run", "-s", cases[i][0], cases[i][1], "--", "true", NULL);
		if (r.status != 125 || !strstr(r.err, cases[i][2]) ||
		    !strstr(r.err, cases[i][1])) {
			t_dump(cases[i][0], &r);
			t_fail("mosctl run %s %s: status %d, expected 125 and a message naming %s",
			       cases[i][0], cases[i][1], r.status, cases[i][2]);
		}
		t_result_free(&r);
	}
}

TEST(invalid_policy_limits_are_125)
{
	static const char *const cases[][2] = {
		{ "{\"limits\": {\"memory\": \"12Q\"}}", "limits.memory" },
		{ "{\"limits\": {\"procs\": -1}}", "limits.procs" },
		{ "{\"limits\": {\"procs\": \"many\"}}", "limits.procs" },
		{ "{\"limits\": {\"open_files\": 1.5}}", "limits.open_files" },
		{ "{\"limits\": {\"timeout\": \"soon\"}}", "limits.timeout" },
		{ "{\"limits\": {\"nproc\": 4}}", "nproc" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct t_result r;

		t_write_file(t_path("bad.json"), cases[i][0]);
		t_mosctl(&r, "run", "-s", "--policy", t_path("bad.json"), "--", "true", NULL);
		if (r.status != 125 || !strstr(r.err, cases[i][1]) || !strstr(r.err, "bad.json")) {
			t_dump(cases[i][0], &r);
			t_fail("policy %s: status %d, expected 125 and a message naming the "
			       "file and %s",
			       cases[i][0], r.status, cases[i][1]);
		}
		t_result_free(&r);
	}
}

/*
 * One run with -m and -P: while it runs, the cgroups the plan promises exist
 * (none when it promises none); after it ends — as ENDING says — they are gone.
 */
enum ending { END_EXIT, END_TIMEOUT, END_SIGINT, END_OOM };

static void check_cgroup_cleanup(enum ending how)
{
	static const char *const names[] = { "normal exit", "timeout", "SIGINT", "OOM kill" };
	const char *hog = t_helper("hog");
	char *script = "echo ready; read x; exit 0";
	char *exit_args[] = { "run", "-s", "-v", "-m", "64M", "-P", "16", "--",
			      "sh", "-c", script, NULL };
	char *timeout_args[] = { "run", "-s", "-v", "-t", "2", "-m", "64M", "-P", "16", "--",
				 "sh", "-c", "echo ready; exec sleep 30", NULL };
	char *oom_args[] = { "run", "-s", "-v", "-r", (char *)lu_helpers_dir(), "-m", "64M",
			     "-P", "16", "--", "sh", "-c",
			     "echo ready; read x; exec \"$0\" memtree 4 40",
			     (char *)hog, NULL };
	char **args = how == END_TIMEOUT ? timeout_args : how == END_OOM ? oom_args : exit_args;
	bool planned;
	struct lu_bg b;
	char *dirs;
	int n, st;

	lu_bg_start(&b, args, true);
	if (!lu_bg_wait_for(&b, "ready", 1, 20)) {
		lu_bg_dump("mosctl", &b);
		t_fail("the command did not start");
	}
	planned = strstr(lu_bg_err(&b), "(cgroup v") != NULL;
	n = lu_cgroups_of(b.pid, &dirs);
	t_note("%s: plan %s a cgroup; %d found while running:%s", names[how],
	       planned ? "uses" : "does not use", n, dirs);
	if (planned)
		T_ASSERT(n >= 1);
	else
		T_EXPECT_EQ(n, 0);
	if (how == END_SIGINT)
		kill(b.pid, SIGINT); /* stdin stays open: only the signal ends it */
	else
		lu_bg_close_stdin(&b);
	st = lu_bg_wait(&b, 30, NULL);
	switch (how) {
	case END_EXIT:
		T_EXPECT_EQ(st, 0);
		break;
	case END_TIMEOUT:
		T_EXPECT_EQ(st, 124);
		break;
	case END_SIGINT:
		T_EXPECT_EQ(st, 130);
		break;
	case END_OOM:
		T_ASSERT(st == 0 || st == 137);
		break;
	}
	n = lu_cgroups_of(b.pid, &dirs);
	if (n) {
		lu_bg_dump("mosctl", &b);
		t_fail("after %s, %d cgroups of mosctl (pid %d) are left:%s", names[how], n,
		       (int)b.pid, dirs);
	}
	free(b.buf);
}

TEST(cgroup_removed_after_run)
{
	check_cgroup_cleanup(END_EXIT);
	check_cgroup_cleanup(END_TIMEOUT);
	check_cgroup_cleanup(END_SIGINT);
	check_cgroup_cleanup(END_OOM);
}

/* Empty the cgroup directories listed in DIRS (space separated) and remove them. */
static void remove_cgroups(char *dirs)
{
	for (char *d = strtok(dirs, " "); d; d = strtok(NULL, " "))
		if (rmdir(d) < 0)
			t_note("cannot remove %s: %s", d, strerror(errno));
}

/*
 * mosctl killed with SIGKILL cannot clean up; its sandbox dies with it
 * (PDEATHSIG), but its cgroup directories must not stay forever: at the
 * latest the next run that uses cgroups must remove the stale ones.
 */
TEST(cgroup_removed_after_mosctl_killed)
{
	char *args[] = { "run", "-s", "-v", "-m", "64M", "-P", "16", "--", "sh", "-c",
			 "echo ready; exec sleep 30", NULL };
	char before[2048], *dirs;
	struct t_result r;
	struct lu_bg b;
	bool planned;
	pid_t old;
	int n, st;

	lu_bg_start(&b, args, false);
	if (!lu_bg_wait_for(&b, "ready", 1, 20)) {
		lu_bg_dump("mosctl", &b);
		t_fail("the command did not start");
	}
	planned = strstr(lu_bg_err(&b), "(cgroup v") != NULL;
	n = lu_cgroups_of(b.pid, &dirs);
	snprintf(before, sizeof(before), "%s", dirs);
	old = b.pid;
	kill(b.pid, SIGKILL);
	waitpid(b.pid, &st, 0);
	close(b.out);
	if (!planned) {
		T_EXPECT_EQ(n, 0);
		return;
	}
	T_ASSERT(n >= 1);
	/* The sandbox dies with mosctl; give the kernel a moment to reap it. */
	lu_msleep(1000);
	t_mosctl(&r, "run", "-s", "-m", "64M", "-P", "16", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 0);
	n = lu_cgroups_of(old, &dirs);
	if (n) {
		char left[2048];

		snprintf(left, sizeof(left), "%s", dirs);
		remove_cgroups(dirs);
		t_fail("mosctl (pid %d) was killed with SIGKILL; its %d cgroups are still there "
		       "after the next run (made:%s; left:%s)",
		       (int)old, n, before, left);
	}
}
