// SPDX-License-Identifier: GPL-2.0-only
/*
 * multihost_test.c - two "hosts" in network namespaces joined by a veth
 * pair: mosd --listen on the worker (TLS, pinned keys), mosctl run --on
 * WORKER:PORT on the origin.  The worker also gets its own mount namespace
 * in which the origin's test directory is hidden under an empty tmpfs, so
 * whatever the job reads there can only have come over the wire.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_TIMEOUT 120
#include "harness.h"

struct hosts {
	char ons[32], wns[32], vo[16], vw[16];
	char oaddr[32], waddr[32], wlisten[48];
	const char *mosd_args; /* more options for the worker's mosd, or NULL */
	pid_t mosd;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	struct t_result r;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	{
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };

		t_run(&r, NULL, argv);
	}
	st = r.status;
	if (st)
		t_note("'%s' exited %d: %s", cmd, st, r.err);
	t_result_free(&r);
	return st;
}

static char *sh_out(const char *cmd)
{
	struct t_result r;
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	char *out;

	t_run(&r, NULL, argv);
	out = r.status == 0 ? strdup(r.out) : NULL;
	t_result_free(&r);
	if (out && strchr(out, '\n'))
		*strchr(out, '\n') = 0;
	return out;
}

static void hosts_down(struct hosts *h)
{
	if (h->mosd > 0) {
		kill(h->mosd, SIGTERM);
		waitpid(h->mosd, NULL, 0);
	}
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true", h->ons, h->wns);
}

static void hosts_up(struct hosts *h)
{
	int id = (int)getpid() % 200 + 20;

	if (!t_is_root())
		t_skip("network namespaces need root");
	setenv("XDG_CACHE_HOME", t_path("xdg"), 1); /* the origin's caches: this test's own */
	/* a job's /tmp is the worker's: start where the origin's files are seen */
	if (chdir("/") < 0)
		t_fail("chdir /: %s", strerror(errno));
	if (access("/dev/fuse", R_OK | W_OK) < 0)
		t_skip("no /dev/fuse (missing CONFIG_FUSE_FS?)");
	if (sh("command -v ip >/dev/null"))
		t_skip("no ip(8) (iproute2)");
	snprintf(h->ons, sizeof(h->ons), "mos-o-%d", (int)getpid());
	snprintf(h->wns, sizeof(h->wns), "mos-w-%d", (int)getpid());
	snprintf(h->vo, sizeof(h->vo), "mvo%d", (int)getpid());
	snprintf(h->vw, sizeof(h->vw), "mvw%d", (int)getpid());
	snprintf(h->oaddr, sizeof(h->oaddr), "10.77.%d.1", id);
	snprintf(h->waddr, sizeof(h->waddr), "10.77.%d.2", id);
	snprintf(h->wlisten, sizeof(h->wlisten), "%s:4977", h->waddr);
	{
		char later[256];

		/* also when the test fails half-way: the runner deletes them */
		snprintf(later, sizeof(later),
			 "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true", h->ons,
			 h->wns);
		t_run_later(later);
	}
	if (sh("ip netns add %s && ip netns add %s && "
	       "ip link add %s netns %s type veth peer name %s netns %s && "
	       "ip -n %s addr add %s/24 dev %s && ip -n %s addr add %s/24 dev %s && "
	       "ip -n %s link set %s up && ip -n %s link set %s up && "
	       "ip -n %s link set lo up && ip -n %s link set lo up",
	       h->ons, h->wns, h->vo, h->ons, h->vw, h->wns, h->ons, h->oaddr, h->vo, h->wns,
	       h->waddr, h->vw, h->ons, h->vo, h->wns, h->vw, h->ons, h->wns)) {
		hosts_down(h);
		t_skip("cannot make network namespaces joined by veth (CONFIG_VETH, "
		       "CONFIG_NET_NS?)");
	}
}

/* The origin's files: not under /tmp, which is the job's private tmpfs. */
static char odir[64];

static const char *origin_dir(void)
{
	if (!odir[0]) {
		snprintf(odir, sizeof(odir), "/var/tmp/mos-mh-XXXXXX");
		if (!mkdtemp(odir))
			t_fail("mkdtemp: %s", strerror(errno));
		chmod(odir, 0755);
		t_remove_later(odir);
	}
	return odir;
}

static const char *mosd_path(void)
{
	const char *p = getenv("MOSD");

	return p && *p ? p : "mosd";
}

/* Keys: the origin's in ORIGIN/cfg, the worker's in WORKER/; each pins the other. */
static void make_keys(void)
{
	char cmd[2048];

	mkdir(t_path("worker"), 0700);
	snprintf(cmd, sizeof(cmd),
		 "MOS_CONFIG_DIR=%s %s keygen >/dev/null && "
		 "MOS_CONFIG_DIR=%s %s key > %s/authorized_keys && "
		 "%s --print-key --key %s/key > %s/known_workers",
		 t_path("cfg"), t_mosctl_path(), t_path("cfg"), t_mosctl_path(), t_path("worker"),
		 mosd_path(), t_path("worker"), t_path("cfg"));
	T_ASSERT(sh("%s", cmd) == 0);
}

/* Another directory of the origin's the worker must not see (or NULL). */
static const char *worker_hides_too;

static void start_worker(struct hosts *h)
{
	char cmd[2048], also[600] = "";

	if (worker_hides_too)
		snprintf(also, sizeof(also), "mount -t tmpfs hidden %s && ", worker_hides_too);
	/* The worker's mount namespace hides the origin's files. */
	snprintf(cmd, sizeof(cmd),
		 "exec ip netns exec %s unshare -m --propagation private sh -c "
		 "'mount -t tmpfs hidden %s && %sexec %s --listen %s --authorized-keys "
		 "%s/authorized_keys --key %s/key --cache %s/cache %s'",
		 h->wns, origin_dir(), also, mosd_path(), h->wlisten, t_path("worker"),
		 t_path("worker"), t_path("worker"), h->mosd_args ? h->mosd_args : "");
	h->mosd = fork();
	T_ASSERT(h->mosd >= 0);
	if (h->mosd == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execl("/bin/sh", "sh", "-c", cmd, NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		char probe[256];

		snprintf(probe, sizeof(probe), "ip netns exec %s ss -ltn | grep -q '%s'", h->wns,
			 h->wlisten);
		if (system(probe) == 0)
			return;
		usleep(100000);
	}
	hosts_down(h);
	t_fail("mosd did not start listening on %s", h->wlisten);
}

static void run_origin(struct hosts *h, struct t_result *r, const char *cfg, const char *script)
{
	char *argv[] = { "/usr/bin/env",
			 (char *)cfg,
			 "ip",
			 "netns",
			 "exec",
			 h->ons,
			 (char *)t_mosctl_path(),
			 "run",
			 "--on",
			 h->wlisten,
			 "--stats",
			 "-r",
			 "/",
			 "-w",
			 (char *)origin_dir(),
			 "--",
			 "/bin/sh",
			 "-c",
			 (char *)script,
			 NULL };

	t_run(r, NULL, argv);
}

TEST(tls_worker_runs_with_origin_files)
{
	struct hosts h = { 0 };
	struct t_result r;
	char script[1024], cfg[600];
	char *out;

	hosts_up(&h);
	make_keys();
	start_worker(&h);
	snprintf(script, sizeof(script), "%s/in.txt", origin_dir());
	t_write_file(script, "only on the origin\n");
	snprintf(script, sizeof(script), "cat %s/in.txt; echo written on the worker > %s/out.txt",
		 origin_dir(), origin_dir());
	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg"));
	run_origin(&h, &r, cfg, script);
	if (r.status)
		t_dump("mosctl --on", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "only on the origin");
	T_EXPECT_STR(r.err, "stats:");
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "cat %s/out.txt", origin_dir());
		out = sh_out(cmd);
		T_ASSERT(out && !strcmp(out, "written on the worker"));
		free(out);
	}
	t_result_free(&r);
	hosts_down(&h);
}

/* `mosctl pool status` over TLS: the worker counts the jobs of all its
 * connections (one running while a job sleeps there, none after). */
static char *pool_status(struct hosts *h)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "MOS_CONFIG_DIR=%s ip netns exec %s %s pool status --on %s | grep '^%s '",
		 t_path("cfg"), h->ons, t_mosctl_path(), h->wlisten, h->wlisten);
	return sh_out(cmd);
}

TEST(tls_pool_status_counts_the_running_job)
{
	struct hosts h = { 0 };
	struct t_result r;
	char cfg[600], want[64], *line = NULL;
	pid_t job;
	bool seen = false;

	hosts_up(&h);
	make_keys();
	start_worker(&h);
	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg"));
	line = pool_status(&h);
	T_ASSERT(line != NULL);
	t_note("idle: %s", line);
	snprintf(want, sizeof(want), "%-6s %5ld %7u", "up", sysconf(_SC_NPROCESSORS_ONLN), 0U);
	T_EXPECT_STR(line, want);
	free(line);
	job = fork();
	T_ASSERT(job >= 0);
	if (job == 0) {
		run_origin(&h, &r, cfg, "sleep 4");
		_exit(r.status);
	}
	for (int i = 0; i < 30 && !seen; i++) {
		usleep(200000);
		line = pool_status(&h);
		snprintf(want, sizeof(want), "%-6s %5ld %7u", "up", sysconf(_SC_NPROCESSORS_ONLN),
			 1U);
		seen = line && strstr(line, want);
		if (seen)
			t_note("busy: %s", line);
		free(line);
	}
	{
		int st;

		waitpid(job, &st, 0);
		T_EXPECT_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	}
	T_ASSERT(seen);
	line = pool_status(&h);
	snprintf(want, sizeof(want), "%-6s %5ld %7u", "up", sysconf(_SC_NPROCESSORS_ONLN), 0U);
	T_ASSERT(line != NULL);
	T_EXPECT_STR(line, want);
	free(line);
	hosts_down(&h);
}

/*
 * Failover: the pool is the TLS worker and the embedded one (backed off
 * beforehand, so the TLS worker is tried first).  The TLS worker's
 * connection process is killed while the job sleeps: a job that had written
 * nothing runs again on the other worker and its output lands; one that had
 * written a file fails clearly (255), not run twice.  (Without -v: the
 * sandbox's -v lines are output passed on, after which a job is not rerun.)
 */
static void run_pool_opt(struct hosts *h, struct t_result *r, const char *opt, const char *script)
{
	char pool[128], cfg[600], xdg[600];
	char *argv[] = { "/usr/bin/env",
			 cfg,
			 xdg,
			 "ip",
			 "netns",
			 "exec",
			 h->ons,
			 (char *)t_mosctl_path(),
			 "run",
			 "--on",
			 pool,
			 (char *)opt,
			 "-r",
			 "/",
			 "-w",
			 (char *)origin_dir(),
			 "--",
			 "/bin/sh",
			 "-c",
			 (char *)script,
			 NULL };

	snprintf(pool, sizeof(pool), "%s,local", h->wlisten);
	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg"));
	snprintf(xdg, sizeof(xdg), "XDG_CACHE_HOME=%s", t_path("xdg"));
	t_run(r, NULL, argv);
}

static void run_pool(struct hosts *h, struct t_result *r, const char *script)
{
	run_pool_opt(h, r, "--no-local", script);
}

static void kill_connections_soon(struct hosts *h, pid_t *killer)
{
	*killer = fork();
	T_ASSERT(*killer >= 0);
	if (*killer == 0) {
		char cmd[128];

		/* once the job sleeps there: its connection process, mosd's child */
		sleep(2);
		snprintf(cmd, sizeof(cmd), "pkill -KILL -P %d", (int)h->mosd);
		_exit(system(cmd) == 0 ? 0 : 1);
	}
}

/* The hosts and the TLS worker, and the embedded worker backed off (in
 * run_pool's XDG_CACHE_HOME) so that the TLS one is tried first. */
static void failover_pool_up(struct hosts *h)
{
	char path[600];

	hosts_up(h);
	make_keys();
	start_worker(h);
	snprintf(path, sizeof(path), "%s/mosingar", t_path("xdg"));
	T_ASSERT(mkdir(t_path("xdg"), 0700) == 0 && mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/mosingar/worker-backoff", t_path("xdg"));
	t_write_file(path, "local 99999999999999 300000\n");
}

TEST(tls_worker_lost_before_writing_runs_again_elsewhere)
{
	struct hosts h = { 0 };
	struct t_result r;
	char path[600], script[1024], *out;
	pid_t killer;
	int st;

	failover_pool_up(&h);
	/* the first run goes to the TLS worker and is lost: it runs again, on local */
	snprintf(script, sizeof(script), "sleep 4; echo ran > %s/failover.txt", origin_dir());
	kill_connections_soon(&h, &killer);
	run_pool(&h, &r, script);
	waitpid(killer, &st, 0);
	if (r.status)
		t_dump("failover", &r);
	T_EXPECT_EQ(r.status, 0);
	/* it did reach the TLS worker, and was lost there */
	T_EXPECT_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	T_EXPECT_STR(r.err, "lost the worker");
	snprintf(path, sizeof(path), "%s/failover.txt", origin_dir());
	out = t_slurp(path);
	T_EXPECT_STR(out, "ran\n");
	free(out);
	hosts_down(&h);
}

TEST(tls_worker_lost_after_writing_is_not_run_again)
{
	struct hosts h = { 0 };
	struct t_result r;
	char path[600], script[1024], *out;
	pid_t killer;
	int st;

	failover_pool_up(&h);
	snprintf(script, sizeof(script), "echo $$ >> %s/runs.txt; sleep 4; echo ran > %s/late.txt",
		 origin_dir(), origin_dir());
	kill_connections_soon(&h, &killer);
	run_pool(&h, &r, script);
	waitpid(killer, &st, 0);
	T_EXPECT_EQ(r.status, 255);
	T_EXPECT_STR(r.err, "not run again");
	snprintf(path, sizeof(path), "%s/runs.txt", origin_dir());
	out = t_slurp(path);
	/* one run only: one line */
	T_ASSERT(out && strchr(out, '\n') == out + strlen(out) - 1);
	free(out);
	snprintf(path, sizeof(path), "%s/late.txt", origin_dir());
	T_EXPECT_EQ(access(path, F_OK), -1);
	hosts_down(&h);
}

/*
 * Placement from the workers' reports: the TLS worker has one slot
 * (mosd --slots 1), taken by a job that sleeps; every job of the pool
 * "TLS worker,local" meanwhile goes to local, whatever the rotation says
 * (without the reports, about half would wait for the TLS worker's slot).
 */
TEST(tls_pool_places_by_the_workers_reports)
{
	struct hosts h = { .mosd_args = "--slots 1" };
	struct t_result r;
	char cfg[600], want[64], *line = NULL;
	pid_t job;
	bool seen = false;
	int st;

	hosts_up(&h);
	make_keys();
	start_worker(&h);
	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg"));
	job = fork();
	T_ASSERT(job >= 0);
	if (job == 0) {
		run_origin(&h, &r, cfg, "sleep 6");
		_exit(r.status);
	}
	snprintf(want, sizeof(want), "%-6s %5u %7u", "up", 1U, 1U);
	for (int i = 0; i < 30 && !seen; i++) {
		usleep(200000);
		line = pool_status(&h);
		seen = line && strstr(line, want);
		free(line);
	}
	T_ASSERT(seen);
	for (int i = 0; i < 4; i++) {
		run_pool_opt(&h, &r, "-v", "echo placed");
		if (r.status)
			t_dump("placed", &r);
		T_EXPECT_EQ(r.status, 0);
		T_EXPECT_STR(r.out, "placed\n");
		T_EXPECT_STR(r.err, "the job goes to local (");
		T_EXPECT_NO_STR(r.err, "the job goes to 10.77.");
		t_result_free(&r);
		usleep(300000); /* across the report's lifetime: asked again */
	}
	/* what the jobs knew: the TLS worker's report, its one slot in use */
	{
		char path[600], rep[128], *text;

		snprintf(path, sizeof(path), "%s/mosingar/worker-status", t_path("xdg"));
		text = t_slurp(path);
		snprintf(rep, sizeof(rep), "%s ", h.wlisten);
		T_ASSERT(text && strstr(text, rep));
		T_EXPECT_STR(strstr(text, rep), " ok 1 1 ");
		free(text);
	}
	waitpid(job, &st, 0);
	T_EXPECT_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	hosts_down(&h);
}

/*
 * A compile is the one job mosctl runs again after it wrote back: `mosctl
 * cc` whose worker is lost after the object landed (a "compiler" that
 * writes it at once, then sleeps) runs the compile once more and succeeds,
 * where `mosctl run` would fail (the test above).
 */
TEST(tls_cc_lost_after_writing_runs_again)
{
	struct hosts h = { 0 };
	struct t_result r;
	char cc[600], cmd[4096], *out;
	pid_t killer;
	int st;

	failover_pool_up(&h);
	snprintf(cc, sizeof(cc), "%s/slowcc", origin_dir());
	t_write_file(cc, "#!/bin/sh\n# slowcc -c SRC -o OBJ\necho object >> \"$4\"\n"
			 "echo run >> runs.txt\n[ -e once ] || { : > once; sleep 4; }\n");
	chmod(cc, 0755);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && : > x.c && MOS_CONFIG_DIR='%s' XDG_CACHE_HOME='%s' MOS_ON='%s,local' "
		 "MOS_AGENT=0 ip netns exec %s '%s' cc ./slowcc -c x.c -o x.o",
		 origin_dir(), t_path("cfg"), t_path("xdg"), h.wlisten, h.ons, t_mosctl_path());
	kill_connections_soon(&h, &killer);
	t_run(&r, NULL, (char *const[]){ "sh", "-c", cmd, NULL });
	waitpid(killer, &st, 0);
	if (r.status)
		t_dump("cc again", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.err, "not run again");
	T_EXPECT_STR(r.err, "running the compile again");
	snprintf(cc, sizeof(cc), "%s/runs.txt", origin_dir());
	out = t_slurp(cc);
	T_EXPECT_STR(out, "run\nrun\n");
	free(out);
	hosts_down(&h);
}

TEST(tls_unknown_origin_is_refused)
{
	struct hosts h = { 0 };
	struct t_result r;
	char cfg[600], cmd[1024];

	hosts_up(&h);
	make_keys();
	start_worker(&h);
	/* a second origin, whose key the worker does not know */
	snprintf(cmd, sizeof(cmd),
		 "MOS_CONFIG_DIR=%s %s keygen >/dev/null && cp %s/known_workers %s/",
		 t_path("cfg2"), t_mosctl_path(), t_path("cfg"), t_path("cfg2"));
	T_ASSERT(sh("%s", cmd) == 0);
	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg2"));
	run_origin(&h, &r, cfg, "echo must-not-run");
	T_EXPECT_EQ(r.status, 255);
	T_EXPECT_NO_STR(r.out, "must-not-run");
	T_EXPECT_STR(r.err, "refused our key");
	t_result_free(&r);

	/* and a worker whose key the origin does not pin */
	snprintf(cmd, sizeof(cmd), ": > %s/known_workers", t_path("cfg"));
	T_ASSERT(sh("%s", cmd) == 0);
	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg"));
	run_origin(&h, &r, cfg, "echo must-not-run");
	T_EXPECT_EQ(r.status, 255);
	T_EXPECT_NO_STR(r.out, "must-not-run");
	T_EXPECT_STR(r.err, "not authorized");
	t_result_free(&r);
	hosts_down(&h);
}

/* The origin serves with the invoking user's own rights: a job started by
 * an unprivileged user cannot read, through the worker (which runs as root),
 * a file that user could not read on the origin. */
TEST(tls_origin_serves_only_what_the_user_can_read)
{
	struct hosts h = { 0 };
	struct t_result r;
	char cmd[2048], secret[600], pub[600];

	hosts_up(&h);
	if (sh("command -v setpriv >/dev/null"))
		t_skip("no setpriv (util-linux)");
	make_keys();
	start_worker(&h);
	snprintf(secret, sizeof(secret), "%s/secret", origin_dir());
	snprintf(pub, sizeof(pub), "%s/public", origin_dir());
	t_write_file(secret, "ROOT-ONLY-BYTES\n");
	T_ASSERT(chmod(secret, 0600) == 0);
	t_write_file(pub, "readable by all\n");
	/* the origin user (nobody) must be able to read its own key */
	snprintf(cmd, sizeof(cmd), "chown -R 65534:65534 %s && chmod 0755 %s %s", t_path("cfg"),
		 t_dir(), t_path("cfg"));
	T_ASSERT(sh("%s", cmd) == 0);
	snprintf(cmd, sizeof(cmd),
		 "MOS_CONFIG_DIR=%s ip netns exec %s setpriv --reuid=65534 --regid=65534 "
		 "--clear-groups -- %s run --on %s -r / -- /bin/sh -c 'cat %s; cat %s; echo rc=$?'",
		 t_path("cfg"), h.ons, t_mosctl_path(), h.wlisten, pub, secret);
	{
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };

		t_run(&r, NULL, argv);
	}
	if (r.status)
		t_dump("mosctl as nobody", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "readable by all");
	T_EXPECT_STR(r.out, "rc=1");
	T_EXPECT_NO_STR(r.out, "ROOT-ONLY");
	T_EXPECT_NO_STR(r.err, "ROOT-ONLY");
	t_result_free(&r);
	hosts_down(&h);
}

/* An origin-only program, an origin-only source compiled with its object
 * written back, deletes and renames, 100k lines each way. */
TEST(tls_build_and_files_travel)
{
	struct hosts h = { 0 };
	struct t_result r;
	char cfg[600], cmd[4096], path[600];
	char *out;

	hosts_up(&h);
	if (sh("command -v gcc >/dev/null"))
		t_skip("no gcc");
	make_keys();
	start_worker(&h);
	snprintf(path, sizeof(path), "%s/tool.c", origin_dir());
	t_write_file(path,
		     "#include <stdio.h>\nint main(void){puts(\"origin-only tool\");return 3;}\n");
	snprintf(path, sizeof(path), "%s/lib.c", origin_dir());
	t_write_file(path, "int answer(void){return 42;}\n");
	snprintf(path, sizeof(path), "%s/gone.txt", origin_dir());
	t_write_file(path, "delete me\n");
	snprintf(path, sizeof(path), "%s/old-name.txt", origin_dir());
	t_write_file(path, "rename me\n");
	/* built here: the worker has never seen this binary */
	snprintf(cmd, sizeof(cmd), "gcc -o %s/tool %s/tool.c", origin_dir(), origin_dir());
	T_ASSERT(sh("%s", cmd) == 0);
	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg"));
	snprintf(cmd, sizeof(cmd),
		 "cd %s && ./tool; echo tool-rc=$?; gcc -c -o lib.o lib.c && echo compiled; "
		 "rm gone.txt && mv old-name.txt new-name.txt && echo moved; "
		 "seq 100000",
		 origin_dir());
	run_origin(&h, &r, cfg, cmd);
	if (r.status)
		t_dump("mosctl --on", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "origin-only tool");
	T_EXPECT_STR(r.out, "tool-rc=3");
	T_EXPECT_STR(r.out, "compiled");
	T_EXPECT_STR(r.out, "moved");
	T_EXPECT_STR(r.out, "\n99999\n100000\n");
	t_result_free(&r);
	/* the object landed here and links into a working program */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && printf 'int answer(void);\\nint main(void){return answer()!=42;}\\n' > "
		 "m.c && gcc -o m m.c lib.o && ./m && echo linked-ok",
		 origin_dir());
	out = sh_out(cmd);
	T_ASSERT(out && strstr(out, "linked-ok"));
	free(out);
	snprintf(path, sizeof(path), "%s/gone.txt", origin_dir());
	T_ASSERT(access(path, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/old-name.txt", origin_dir());
	T_ASSERT(access(path, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/new-name.txt", origin_dir());
	T_ASSERT(access(path, F_OK) == 0);
	/* 100k lines of input */
	{
		char *argv[] = { "/usr/bin/env",
				 cfg,
				 "ip",
				 "netns",
				 "exec",
				 h.ons,
				 (char *)t_mosctl_path(),
				 "run",
				 "--on",
				 h.wlisten,
				 "--",
				 "/usr/bin/wc",
				 "-l",
				 NULL };
		size_t cap = 700000, n = 0;
		char *in = malloc(cap);

		for (int i = 1; i <= 100000; i++)
			n += (size_t)snprintf(in + n, cap - n, "%d\n", i);
		t_run(&r, in, argv);
		free(in);
		T_EXPECT_EQ(r.status, 0);
		T_EXPECT_STR(r.out, "100000");
		t_result_free(&r);
	}
	hosts_down(&h);
}

/* A process whose command line starts with PATTERN (not mosctl's, which
 * contains it further on). */
static bool running(const char *pattern)
{
	struct t_result r;
	char anchored[256];
	char *argv[] = { "/usr/bin/pgrep", "-f", anchored, NULL };
	bool found;

	snprintf(anchored, sizeof(anchored), "^%s", pattern);
	/* not through a shell: its own command line would match */
	t_run(&r, NULL, argv);
	found = r.status == 0;
	t_result_free(&r);
	return found;
}

/* SIGINT to mosctl ends the job with 130 and leaves no process. */
TEST(tls_sigint_ends_the_job)
{
	struct hosts h = { 0 };
	char cfg[600], marker[64];
	pid_t pid;
	int st;

	hosts_up(&h);
	make_keys();
	start_worker(&h);
	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg"));
	snprintf(marker, sizeof(marker), "sleep 7%d", (int)getpid() % 1000 + 1000);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		setenv("MOS_CONFIG_DIR", t_path("cfg"), 1);
		execlp("ip", "ip", "netns", "exec", h.ons, t_mosctl_path(), "run", "--on",
		       h.wlisten, "--", "/bin/sh", "-c", marker, NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !running(marker); i++)
		usleep(100000);
	T_ASSERT(running(marker));
	usleep(200000);
	kill(pid, SIGINT); /* ip netns exec execs mosctl: PID is mosctl */
	T_ASSERT(waitpid(pid, &st, 0) == pid);
	T_ASSERT(WIFEXITED(st));
	T_EXPECT_EQ(WEXITSTATUS(st), 130);
	for (int i = 0; i < 50 && running(marker); i++)
		usleep(100000);
	T_ASSERT(!running(marker));
	hosts_down(&h);
}

/* The worker's process for this origin dies mid-job (as in a crash): the
 * origin says so (255), the job's tree dies with it, and a file the job was
 * writing never reaches the origin, not even in part. */
TEST(tls_worker_killed_mid_job)
{
	struct hosts h = { 0 };
	struct t_result r;
	char cfg[600], script[1024], path[600], parent[32], marker[32];
	pid_t killer;

	hosts_up(&h);
	make_keys();
	start_worker(&h);
	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg"));
	snprintf(path, sizeof(path), "%s/partial.out", origin_dir());
	/* a sleep no other test runs (limits_test leaves its own 'sleep 30's) */
	snprintf(marker, sizeof(marker), "sleep 30.%03d", (int)getpid() % 1000);
	snprintf(script, sizeof(script), "echo started; { echo PARTIAL; %s; echo END; } > %s",
		 marker, path);
	snprintf(parent, sizeof(parent), "%d", (int)h.mosd);
	killer = fork();
	T_ASSERT(killer >= 0);
	if (killer == 0) {
		sleep(3);
		/* the listener's children: the connection processes */
		execlp("pkill", "pkill", "-KILL", "-P", parent, NULL);
		_exit(127);
	}
	run_origin(&h, &r, cfg, script);
	waitpid(killer, NULL, 0);
	T_EXPECT_EQ(r.status, 255);
	T_EXPECT_STR(r.err, "lost the worker");
	T_ASSERT(r.seconds < 25);
	/* the tree dies with the connection process (parent-death signals) */
	for (int i = 0; i < 50 && running(marker); i++)
		usleep(100000);
	T_ASSERT(!running(marker));
	{
		char cmd[700];
		char *content;

		snprintf(cmd, sizeof(cmd), "cat %s 2>/dev/null; true", path);
		content = sh_out(cmd);
		T_ASSERT(!content || !strstr(content, "PARTIAL"));
		free(content);
		snprintf(cmd, sizeof(cmd), "ls -A %s", origin_dir());
		content = sh_out(cmd);
		T_ASSERT(!content || !strstr(content, ".mos-"));
		free(content);
	}
	t_result_free(&r);
	hosts_down(&h);
}

/*
 * A build under the origin's /tmp on a root worker, the job as the origin's
 * user (nobody): the cwd and a --write tree beneath /tmp come over the wire
 * (the worker's own view of the directory is hidden), the object and the
 * output land on the origin as that user's, and what the job makes on the
 * way to a served tree or in the rest of /tmp stays on the worker.
 */
TEST(tls_tmp_build_as_the_origin_user)
{
	struct hosts h = { 0 };
	struct t_result r;
	char cmd[4096], d[64], p[160];
	struct stat st;

	hosts_up(&h);
	if (sh("command -v setpriv >/dev/null && command -v gcc >/dev/null"))
		t_skip("no setpriv (util-linux) or gcc");
	snprintf(d, sizeof(d), "/tmp/mos-mh-tmp-XXXXXX");
	T_ASSERT(mkdtemp(d));
	t_remove_later(d);
	snprintf(p, sizeof(p), "%s/hello.c", d);
	t_write_file(p, "int answer(void) { return 42; }\n");
	T_ASSERT(sh("mkdir -p %s/a/b && chown -R 65534:65534 %s && chmod 0755 %s", d, d, d) == 0);
	worker_hides_too = d;
	make_keys();
	start_worker(&h);
	snprintf(cmd, sizeof(cmd), "chown -R 65534:65534 %s && chmod 0755 %s %s", t_path("cfg"),
		 t_dir(), t_path("cfg"));
	T_ASSERT(sh("%s", cmd) == 0);
	snprintf(cmd, sizeof(cmd),
		 "MOS_CONFIG_DIR=%s ip netns exec %s setpriv --reuid=65534 --regid=65534 "
		 "--clear-groups -- sh -c 'set -e; cd %s; M=%s; W=%s;"
		 " $M run --on $W -- sh -c \"gcc -O2 -c hello.c -o remote.o; id -u;"
		 " echo s > /tmp/scratch-%d\";"
		 " cd /; $M run --on $W -r / -w %s/a/b -- sh -c \"echo out > %s/a/b/out;"
		 " mkdir %s/a/on-the-worker\"'",
		 t_path("cfg"), h.ons, d, t_mosctl_path(), h.wlisten, (int)getpid(), d, d, d);
	{
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };

		t_run(&r, NULL, argv);
	}
	if (r.status)
		t_dump("mosctl as nobody", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "65534\n");
	T_ASSERT(sh("cd %s && gcc -O2 -c hello.c -o local.o && cmp remote.o local.o", d) == 0);
	snprintf(p, sizeof(p), "%s/remote.o", d);
	T_ASSERT(stat(p, &st) == 0 && st.st_uid == 65534);
	snprintf(p, sizeof(p), "%s/a/b/out", d);
	{
		char *got = t_slurp(p);

		T_ASSERT(got && !strcmp(got, "out\n"));
		free(got);
	}
	T_ASSERT(stat(p, &st) == 0 && st.st_uid == 65534);
	snprintf(p, sizeof(p), "%s/a/on-the-worker", d);
	T_ASSERT(access(p, F_OK) < 0);
	snprintf(p, sizeof(p), "/tmp/scratch-%d", (int)getpid());
	T_ASSERT(access(p, F_OK) < 0);
	t_result_free(&r);
	hosts_down(&h);
	worker_hides_too = NULL;
}
