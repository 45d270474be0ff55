// SPDX-License-Identifier: GPL-2.0-only
/*
 * process_test - the sandbox's process tree lives and dies with mosctl:
 * the timeout kills the whole tree (daemons that did setsid() and forked
 * twice included), background processes do not outlive the command,
 * signals sent to mosctl reach the command, killing mosctl kills the
 * sandbox, a command's own death by signal N is 128+N, and stdout arrives
 * complete under back-pressure.
 *
 * Every sandboxed process carries a unique marker in its argv (and its
 * environment), and "nothing left" means no process in /proc has it.
 */
#include "limits_util.h"

#define HOG_RUN(...) "run", "-s", "-r", (char *)lu_helpers_dir(), __VA_ARGS__

static char env_mark[128];

/* "--env" "MOS_MARK=<mark>" */
static char *env_arg(const char *mark)
{
	snprintf(env_mark, sizeof(env_mark), "MOS_MARK=%s", mark);
	return env_mark;
}

/*
 * The marker the scripts below give their helpers ("$1-in"): found only in
 * processes inside the sandbox, not in mosctl's argv (which init shares).
 */
static const char *inner_mark(const char *mark)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s-in", mark);
	return buf;
}

static void expect_none_left(const char *mark, const char *when)
{
	char left[512];
	int n = lu_count_marked(mark, 0, left, sizeof(left));

	if (n) {
		int later = lu_wait_unmarked(mark, 0, 3, NULL, 0);

		t_fail("%s: %d sandboxed processes outlived mosctl (pids%s); %d still there 3 s "
		       "later",
		       when, n, left, later);
	}
}

TEST(timeout_kills_daemonized_tree)
{
	const char *mark = lu_marker();
	struct t_result r;
	char *args[] = { HOG_RUN("-t", "1", "--env", env_arg(mark), "--", "sh", "-c",
				 "\"$0\" daemonize \"$1\" && \"$0\" bg \"$1\" && echo ready && "
				 "exec \"$0\" pause \"sleep-$1\"",
				 (char *)t_helper("hog"), (char *)mark),
			 NULL };

	t_mosctlv(&r, NULL, args);
	if (r.status != 124 || !strstr(r.out, "ready"))
		t_dump("mosctl -t 1", &r);
	T_EXPECT_EQ(r.status, 124);
	/* The daemon and the background child were running before the timeout. */
	T_EXPECT_STR(r.out, "ok\nok\nready");
	T_ASSERT(r.seconds >= 0.9);
	T_ASSERT(r.seconds < 5);
	expect_none_left(mark, "after the timeout");
}

TEST(background_processes_killed_after_exit)
{
	const char *mark = lu_marker();
	char *args[] = { HOG_RUN("--env", env_arg(mark), "--", "sh", "-c",
				 "m=\"$1-in\"; \"$0\" daemonize \"$m\"; \"$0\" bg \"$m\"; "
				 "echo ready; read x; exit 3",
				 (char *)t_helper("hog"), (char *)mark),
			 NULL };
	struct lu_bg b;
	char list[512];
	int n, st;

	lu_bg_start(&b, args, true);
	if (!lu_bg_wait_for(&b, "ready", 1, 20)) {
		lu_bg_dump("mosctl", &b);
		t_fail("the command did not start");
	}
	/* The daemon and the background child are there, and the scan sees them. */
	n = lu_count_marked(inner_mark(mark), b.pid, list, sizeof(list));
	t_note("running: %d helper processes:%s", n, list);
	T_EXPECT_EQ(n, 2);
	lu_bg_close_stdin(&b);
	st = lu_bg_wait(&b, 20, NULL);
	T_EXPECT_EQ(st, 3);
	expect_none_left(mark, "after a normal exit");
}

/* Start a sleeper (marked "sleep-MARK"), send SIG to mosctl, expect 128+SIG. */
static void check_forwarded_death(int sig)
{
	const char *mark = lu_marker();
	char sleeper[128];
	/* hog pause, marked "sleep-MARK" in its arguments: no bash for exec -a */
	char *args[] = { HOG_RUN("--env", env_arg(mark), "--", "sh", "-c",
				 "echo ready; exec \"$1\" pause \"sleep-$0\"", (char *)mark,
				 (char *)t_helper("hog")),
			 NULL };
	struct lu_bg b;
	double end, sent, secs;
	int st;

	snprintf(sleeper, sizeof(sleeper), "sleep-%s", mark);
	lu_bg_start(&b, args, false);
	if (!lu_bg_wait_for(&b, "ready", 1, 20)) {
		lu_bg_dump("mosctl", &b);
		t_fail("the command did not start");
	}
	/* Signal the sleep itself, not the shell before its exec. */
	for (end = lu_now() + 10; !lu_count_marked(sleeper, b.pid, NULL, 0); lu_msleep(20))
		if (lu_now() > end)
			t_fail("sleep did not start");
	sent = lu_now() - b.start;
	kill(b.pid, sig);
	st = lu_bg_wait(&b, 20, &secs);
	if (st != 128 + sig)
		lu_bg_dump("mosctl", &b);
	T_EXPECT_EQ(st, 128 + sig);
	T_ASSERT(secs - sent < 5);
	expect_none_left(mark, strsignal(sig));
	free(b.buf);
}

TEST(sigint_forwarded)
{
	check_forwarded_death(SIGINT);
}

TEST(sigterm_forwarded)
{
	check_forwarded_death(SIGTERM);
}

TEST(sighup_forwarded)
{
	check_forwarded_death(SIGHUP);
}

/* The command's own handlers run: the signals reached it, not just killed it. */
TEST(trapped_signals_reach_command)
{
	char *args[] = { "run",
			 "-s",
			 "--",
			 "sh",
			 "-c",
			 "for s in USR1 USR2 WINCH QUIT HUP TERM CONT; do "
			 "trap \"echo got-$s\" $s; done; "
			 "trap 'echo caught; exit 7' INT; "
			 "echo ready; while :; do sleep 0.1; done",
			 NULL };
	static const struct {
		int sig;
		const char *name;
	} fwd[] = {
		{ SIGUSR1, "got-USR1" }, { SIGUSR2, "got-USR2" }, { SIGWINCH, "got-WINCH" },
		{ SIGQUIT, "got-QUIT" }, { SIGHUP, "got-HUP" },	  { SIGTERM, "got-TERM" },
		{ SIGCONT, "got-CONT" },
	};
	struct lu_bg b;
	int st;

	lu_bg_start(&b, args, false);
	if (!lu_bg_wait_for(&b, "ready", 1, 20)) {
		lu_bg_dump("mosctl", &b);
		t_fail("the command did not start");
	}
	/* One at a time: the shell runs a trap after its current `sleep 0.1`. */
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++) {
		kill(b.pid, fwd[i].sig);
		if (!lu_bg_wait_for(&b, fwd[i].name, 1, 10)) {
			lu_bg_dump("mosctl", &b);
			t_fail("%s did not reach the command's handler", strsignal(fwd[i].sig));
		}
	}
	kill(b.pid, SIGINT);
	st = lu_bg_wait(&b, 20, NULL);
	if (st != 7)
		lu_bg_dump("mosctl", &b);
	T_EXPECT_EQ(st, 7);
	T_EXPECT_STR(b.buf, "caught");
	free(b.buf);
}

TEST(sigkill_of_mosctl_kills_sandbox)
{
	const char *mark = lu_marker();
	char *args[] = { HOG_RUN("--env", env_arg(mark), "--", "sh", "-c",
				 "m=\"$1-in\"; \"$0\" daemonize \"$m\"; \"$0\" bg \"$m\"; "
				 "echo ready; exec \"$0\" pause \"$m\"",
				 (char *)t_helper("hog"), (char *)mark),
			 NULL };
	struct lu_bg b;
	char list[512];
	int n, st;

	lu_bg_start(&b, args, false);
	if (!lu_bg_wait_for(&b, "ok", 3, 20)) {
		lu_bg_dump("mosctl", &b);
		t_fail("the command did not start");
	}
	/* The daemon, the background child and the command. */
	n = lu_count_marked(inner_mark(mark), b.pid, list, sizeof(list));
	t_note("running: %d helper processes:%s", n, list);
	T_EXPECT_EQ(n, 3);
	kill(b.pid, SIGKILL);
	waitpid(b.pid, &st, 0);
	n = lu_wait_unmarked(mark, 0, 5, list, sizeof(list));
	if (n)
		t_fail("5 s after mosctl was killed, %d sandboxed processes live on:%s", n, list);
	close(b.out);
	free(b.buf);
}

TEST(own_signal_death_is_128_plus_n)
{
	static const int sigs[] = { SIGSEGV, SIGABRT, SIGUSR1, SIGXCPU, SIGKILL };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct t_result r;
		char num[16];

		snprintf(num, sizeof(num), "%d", sigs[i]);
		t_mosctl(&r, HOG_RUN("--", t_helper("hog"), "raise", num), NULL);
		if (r.status != 128 + sigs[i]) {
			t_dump("hog raise", &r);
			t_fail("killed by its own %s: status %d, expected %d", strsignal(sigs[i]),
			       r.status, 128 + sigs[i]);
		}
		t_result_free(&r);
	}
}

static void check_yes_output(const char *buf, size_t len)
{
	T_EXPECT_EQ(len, 10000000);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (i % 2 ? '\n' : 'y'))
			t_fail("byte %zu is 0x%02x", i, (unsigned char)buf[i]);
}

TEST(stdout_complete_under_back_pressure)
{
	char *args[] = { "run", "-s", "--", "sh", "-c", "yes | head -c 10000000", NULL };
	struct t_result r;
	struct lu_bg b;
	int st;

	t_mosctlv(&r, NULL, args);
	T_EXPECT_EQ(r.status, 0);
	check_yes_output(r.out, r.out_len);
	/* A reader that is late: the writer blocks, nothing is dropped. */
	lu_bg_start(&b, args, false);
	lu_msleep(1500);
	st = lu_bg_wait(&b, 30, NULL);
	T_EXPECT_EQ(st, 0);
	check_yes_output(b.buf, b.len);
	free(b.buf);
}
