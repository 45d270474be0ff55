// SPDX-License-Identifier: GPL-2.0-only
/*
 * pool_test.c - `mosctl run --on LIST|@POOL`: the job goes to a worker of
 * the pool that can be reached (an embedded `local` one here), a dead
 * worker in the list costs nothing but a refused connect, a pool with no
 * reachable worker fails with 255 naming each, and a malformed pool file is
 * refused with its file and line before anything runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_TIMEOUT 60
#include "harness.h"

/* The job's /tmp is the worker's own: the files it shares with the origin
 * live under /var/tmp. */
static char odir[64];

static const char *o_path(const char *name)
{
	static char bufs[4][512];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, 512, "%s/%s", odir, name);
	return b;
}

static void need_worker(void)
{
	snprintf(odir, sizeof(odir), "%s", t_origin_dir("mos-pool"));
	setenv("MOS_CONFIG_DIR", t_path("cfg"), 1);
	if (chdir(odir) < 0)
		t_fail("chdir %s: %s", odir, strerror(errno));
}

/* Port 1 on loopback: nothing listens, the connect is refused at once. */
#define DEAD1 "127.0.0.1:1"
#define DEAD2 "127.0.0.1:2"

TEST(list_skips_a_dead_worker)
{
	struct t_result r;
	char *out;

	need_worker();
	/* both orders: placement rotates, the dead one may come first */
	t_mosctl(&r, "run", "--on", DEAD1 ",local", "--", "/bin/sh", "-c", "echo made > out1.txt",
		 NULL);
	T_EXPECT_EQ(r.status, 0);
	t_mosctl(&r, "run", "--on", "local," DEAD1, "--", "/bin/sh", "-c", "echo made > out2.txt",
		 NULL);
	T_EXPECT_EQ(r.status, 0);
	out = t_slurp(o_path("out1.txt"));
	T_EXPECT_STR(out, "made\n");
	free(out);
	out = t_slurp(o_path("out2.txt"));
	T_EXPECT_STR(out, "made\n");
	free(out);
}

TEST(pool_file_places_the_job)
{
	struct t_result r;
	char *out;

	need_worker();
	t_mkdir(t_path("cfg"));
	t_mkdir(t_path("cfg/pools"));
	t_write_file(t_path("cfg/pools/farm"), "# two workers, one dead\n" DEAD1 " 4\nlocal 1\n");
	t_mosctl(&r, "run", "--on", "@farm", "--", "/bin/sh", "-c", "printf abc > p.txt", NULL);
	T_EXPECT_EQ(r.status, 0);
	out = t_slurp(o_path("p.txt"));
	T_EXPECT_STR(out, "abc");
	free(out);
}

TEST(no_reachable_worker_is_255_naming_each)
{
	struct t_result r;

	need_worker();
	t_mosctl(&r, "run", "--no-local", "--on", DEAD1 "," DEAD2, "--", "/bin/true", NULL);
	T_EXPECT_EQ(r.status, 255);
	T_EXPECT_STR(r.err, DEAD1);
	T_EXPECT_STR(r.err, DEAD2);
}

TEST(no_reachable_worker_runs_here_confined)
{
	struct t_result r;
	char *out;

	need_worker();
	t_write_file(o_path("secret"), "do not read\n");
	t_mosctl(&r, "run", "-v", "--on", DEAD1 "," DEAD2, "-r", "/", "-w", odir, "--deny",
		 o_path("secret"), "--", "/bin/sh", "-c",
		 "echo here > here.txt; cat secret || echo denied", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.err, "no worker could take the job: running it here");
	T_EXPECT_STR(r.out, "denied");
	T_EXPECT_NO_STR(r.out, "do not read");
	out = t_slurp(o_path("here.txt"));
	T_EXPECT_STR(out, "here\n");
	free(out);
}

/*
 * With no file rule, a job run here for want of a worker gets what it would
 * have had on one (read /, write the cwd and /tmp), not the local sandbox's
 * bare default; and -t is what the tries left of it, not a fresh one.
 */
TEST(local_fallback_has_the_remote_default_and_the_same_deadline)
{
	struct t_result r;
	char *out;

	need_worker();
	t_mosctl(&r, "run", "--on", DEAD1 "," DEAD2, "--", "/bin/sh", "-c",
		 "head -c 5 /etc/passwd > read.txt; echo tmp > /tmp/mos-pool-fallback.$$ && "
		 "rm /tmp/mos-pool-fallback.$$ && echo tmp-ok",
		 NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "tmp-ok");
	out = t_slurp(o_path("read.txt"));
	T_EXPECT_EQ((int)strlen(out), 5);
	free(out);
	t_mosctl(&r, "run", "-t", "1", "--on", DEAD1 "," DEAD2, "--", "/bin/sleep", "5", NULL);
	T_EXPECT_EQ(r.status, 124);
}

/* mosctl pool status: the embedded worker's own report, a dead one's reason. */
TEST(pool_status_reports_each_worker)
{
	struct t_result r;
	char want[64];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	need_worker();
	t_mosctl(&r, "pool", "status", "--on", "local," DEAD1, "--timeout", "10", NULL);
	T_EXPECT_EQ(r.status, 1); /* one worker down */
	T_EXPECT_STR(r.out, "WORKER");
	/* local: up, as many slots as CPUs, none running */
	snprintf(want, sizeof(want), "%-24s %-6s %5ld %7u", "local", "up", cpus, 0U);
	T_EXPECT_STR(r.out, want);
	T_EXPECT_STR(r.out, DEAD1);
	T_EXPECT_STR(r.out, "Connection refused");
	T_EXPECT_STR(r.out, "1 of 2 workers up");
	t_mosctl(&r, "pool", "status", "--on", "local", "--watch=1", "--count", "2", NULL);
	T_EXPECT_EQ(r.status, 0);
	/* two tables, one after the other (not a terminal) */
	T_ASSERT(strstr(r.out, "WORKER") && strstr(strstr(r.out, "WORKER") + 1, "WORKER"));
	t_mosctl(&r, "pool", "status", "--on", "w1,,w2", NULL);
	T_EXPECT_EQ(r.status, 125);
}

TEST(dead_worker_backed_off_across_runs)
{
	struct t_result r;
	char *state;

	need_worker();
	t_mosctl(&r, "run", "--no-local", "--on", DEAD1 "," DEAD2, "--", "/bin/true", NULL);
	T_EXPECT_EQ(r.status, 255);
	state = t_slurp(t_path("xdg/mosingar/worker-backoff"));
	T_EXPECT_STR(state, DEAD1 " ");
	T_EXPECT_STR(state, DEAD2 " ");
	free(state);
	/* backed off: tried after the live one, so never, and not waited on */
	for (int i = 0; i < 3; i++) {
		t_mosctl(&r, "run", "--on", DEAD1 ",local", "--", "/bin/true", NULL);
		T_EXPECT_EQ(r.status, 0);
		T_EXPECT_NO_STR(r.err, DEAD1);
	}
}

TEST(malformed_pool_file_names_file_and_line)
{
	struct t_result r;

	need_worker();
	t_mkdir(t_path("cfg"));
	t_mkdir(t_path("cfg/pools"));
	t_write_file(t_path("cfg/pools/bad"), "local\n\nw2 many\n");
	t_mosctl(&r, "run", "--on", "@bad", "--", "/bin/sh", "-c", "echo ran > ran.txt", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "pools/bad:3: the slot count 'many'");
	T_ASSERT(access(o_path("ran.txt"), F_OK) < 0);
	t_mosctl(&r, "run", "--on", "@missing", "--", "/bin/true", NULL);
	T_EXPECT_EQ(r.status, 125);
	t_mosctl(&r, "run", "--on", "w1,,w2", "--", "/bin/true", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "empty worker name");
}
