// SPDX-License-Identifier: GPL-2.0-only
/*
 * peer_test.c - hostile and stalled peers on either end of a remote job's
 * connection.  Neither side may let the other make it buffer without bound,
 * and neither may wait for the other for ever: `-t`, SIGTERM, a second ^C
 * and the silent-peer timeout always end mosctl, promptly, with the reason.
 *
 * The hostile worker here is the real thing as far as mosctl can tell: a TLS
 * server (libmos's tls_channel) with its own key, pinned in the origin's
 * known_workers, speaking frames built with libmos's wire code on loopback.
 * The hostile origin and the slow link are selftests/helpers/stream_relay,
 * standing between mosctl and the real `mosd --stdio` it starts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T_TIMEOUT 60
#include "harness.h"
#include "tls_channel.h"
#include "wire.h"

/* A job's /tmp is the worker's own: files a job shares with the origin live
 * under /var/tmp (as in remote_test.c). */
static char odir[64];

static const char *o_dir(void)
{
	if (!odir[0]) {
		snprintf(odir, sizeof(odir), "/var/tmp/mos-peer-XXXXXX");
		if (!mkdtemp(odir))
			t_fail("mkdtemp %s: %s", odir, strerror(errno));
		chmod(odir, 0755);
		t_remove_later(odir);
	}
	return odir;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------------ */
/* Processes watched while they run                                    */
/* ------------------------------------------------------------------ */

struct proc {
	pid_t pid;
	double t0;
	char out[600], err[600];
};

/*
 * ARGV with ENV (NULL-terminated "K=V" list) added; stdout, stderr to files.
 * Under ASan, freed memory is held in a quarantine (256 MiB by default) that
 * would count as resident memory here: keep it small.
 */
static int spawn_stdout = -1; /* when >= 0, the next spawn's stdout instead of a file */

static void spawn(struct proc *p, const char *tag, char *const argv[], char *const env[])
{
	static char asan[512];
	const char *old = getenv("ASAN_OPTIONS");

	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%squarantine_size_mb=4", old ? old : "",
		 old && *old ? ":" : "");
	snprintf(p->out, sizeof(p->out), "%s", t_path(tag));
	strncat(p->out, ".out", sizeof(p->out) - strlen(p->out) - 1);
	snprintf(p->err, sizeof(p->err), "%s", t_path(tag));
	strncat(p->err, ".err", sizeof(p->err) - strlen(p->err) - 1);
	fflush(NULL);
	p->t0 = now();
	p->pid = fork();
	T_ASSERT(p->pid >= 0);
	if (p->pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(p->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (in < 0 || out < 0 || err < 0)
			_exit(126);
		dup2(in, 0);
		dup2(spawn_stdout >= 0 ? spawn_stdout : out, 1);
		dup2(err, 2);
		putenv(asan);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Wait at most SECS for P, sampling the resident memory of WATCH (P itself
 * when 0) every 20 ms into *MAX_KIB.  Returns the exit status (code or
 * 128+signal); -1 when it was still running at the deadline, -2 when WATCH
 * went over LIMIT_KIB: P is then killed (so the old code fails fast, not
 * after eating the machine's memory).
 */
static int wait_proc(struct proc *p, double secs, pid_t watch, long limit_kib, long *max_kib)
{
	int st;

	if (max_kib)
		*max_kib = 0;
	for (;;) {
		pid_t w = waitpid(p->pid, &st, WNOHANG);
		long kb = rss_kib(watch ? watch : p->pid);

		if (max_kib && kb > *max_kib)
			*max_kib = kb;
		if (w == p->pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (limit_kib && kb > limit_kib) {
			kill(p->pid, SIGKILL);
			if (watch)
				kill(watch, SIGKILL);
			waitpid(p->pid, &st, 0);
			return -2;
		}
		if (now() - p->t0 > secs) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
			return -1;
		}
		sleep_s(0.02);
	}
}

static char *err_text(const struct proc *p)
{
	char *s = t_slurp(p->err);

	return s ? s : t_strdup("");
}

/* ------------------------------------------------------------------ */
/* A hostile worker: real TLS with a pinned key, frames by libmos     */
/* ------------------------------------------------------------------ */

enum hmode {
	H_SILENT,     /* HELLO (announcing keepalive), then nothing, ever */
	H_SILENT_OLD, /* the same with a HELLO of before keepalive */
	H_FETCH,      /* OPEN a big file, pipeline FETCHes for it, never read again */
};

struct hpeer {
	int fd;
	struct tls_channel *tls;
	uint8_t plain[65536];
	size_t plen, poff;
	struct frame_asm fa;
};

static void hp_flush(struct hpeer *p)
{
	uint8_t buf[16384];
	size_t n;

	while ((n = tls_channel_take(p->tls, buf, sizeof(buf))) > 0) {
		for (size_t off = 0; off < n;) {
			ssize_t w = write(p->fd, buf + off, n - off);

			if (w <= 0)
				_exit(3);
			off += (size_t)w;
		}
	}
}

static void hp_send(struct hpeer *p, struct wire_buf *b)
{
	size_t n = wire_buf_finish(b);

	if (!n || tls_channel_write(p->tls, b->p, n) < 0)
		_exit(3);
	wire_buf_free(b);
	hp_flush(p);
}

/* The next frame from the origin; -1 when the stream ends or breaks. */
static int hp_frame(struct hpeer *p, struct mos_frame_hdr *h, uint8_t **payload)
{
	for (;;) {
		while (p->poff < p->plen) {
			bool done;
			size_t used = frame_asm_feed(&p->fa, p->plain + p->poff, p->plen - p->poff,
						     &done, h, payload);

			if (p->fa.why)
				return -1;
			p->poff += used;
			if (done)
				return 0;
		}
		ssize_t n = tls_channel_read(p->tls, p->plain, sizeof(p->plain));

		if (n > 0) {
			p->plen = (size_t)n;
			p->poff = 0;
			continue;
		}
		if (n != -EAGAIN)
			return -1;
		uint8_t raw[65536];
		ssize_t r = read(p->fd, raw, sizeof(raw));

		if (r <= 0)
			return -1;
		tls_channel_feed(p->tls, raw, (size_t)r);
	}
}

static void __attribute__((noreturn)) hang(void)
{
	for (;;)
		pause();
}

static void __attribute__((noreturn))
hostile_worker(int lfd, enum hmode mode, const char *path, int nfetch, int ready_w)
{
	struct mos_identity *wid = NULL, *oid = NULL;
	struct mos_pinset pins = { 0 };
	uint8_t okey[MOS_PUBKEY_LEN];
	struct hpeer p = { .fd = -1 };
	struct wire_buf b = { 0 };
	struct mos_hello he = { .magic = MOS_PROTO_MAGIC, .version = MOS_PROTO_VERSION, .role = 2 };
	struct mos_frame_hdr h;
	uint8_t *payload;
	char err[256];

	if (mos_identity_load(t_path("wkey"), &wid, err, sizeof(err)) < 0 ||
	    mos_identity_load(t_path("cfg/id_ed25519"), &oid, err, sizeof(err)) < 0)
		_exit(2);
	mos_identity_pubkey(oid, okey);
	mos_pinset_add(&pins, okey, "origin");
	p.fd = accept(lfd, NULL, NULL);
	if (p.fd < 0)
		_exit(2);
	p.tls = tls_channel_new(TLS_SERVER, wid, &pins);
	for (;;) {
		int r = tls_channel_handshake(p.tls);
		uint8_t raw[65536];
		ssize_t n;

		hp_flush(&p);
		if (r == 0)
			break;
		if (r != -EAGAIN)
			_exit(4);
		n = read(p.fd, raw, sizeof(raw));
		if (n <= 0)
			_exit(4);
		tls_channel_feed(p.tls, raw, (size_t)n);
	}
	he.features = mode == H_SILENT_OLD ? 0 : MOS_FEAT_KEEPALIVE;
	wire_buf_start(&b, MOS_MSG_HELLO, 0, 0);
	wire_put(&b, &he, sizeof(he));
	hp_send(&p, &b);
	/* the origin's HELLO and JOB (and anything it preloads) */
	do {
		if (hp_frame(&p, &h, &payload) < 0)
			_exit(5);
		free(payload);
	} while (h.type != MOS_MSG_JOB);
	if (mode != H_FETCH) {
		(void)!write(ready_w, "r", 1);
		hang();
	}
	/* OPEN announces the file's hash; then ask for all of it, many times */
	wire_buf_start(&b, MOS_MSG_OPEN, 0, 1);
	wire_put_str(&b, path);
	hp_send(&p, &b);
	for (;;) {
		if (hp_frame(&p, &h, &payload) < 0)
			_exit(5);
		if (h.id == 1 && (h.flags & MOS_F_REPLY))
			break;
		free(payload);
	}
	if (h.type != MOS_MSG_OPEN || h.len != sizeof(struct mos_open_reply))
		_exit(6);
	for (int i = 0; i < nfetch; i++) {
		struct mos_fetch f = { .offset = 0, .length = MOS_FETCH_MAX };

		memcpy(f.sha256, ((struct mos_open_reply *)payload)->sha256, 32);
		wire_buf_start(&b, MOS_MSG_FETCH, 0, (uint32_t)i + 2);
		wire_put(&b, &f, sizeof(f));
		hp_send(&p, &b);
	}
	(void)!write(ready_w, "f", 1);
	hang(); /* and never read again */
}

struct hostile {
	pid_t pid;
	int port;
	int ready; /* readable once the worker has done its part */
	char on[32];
};

/* Keys: the origin's in cfg/ (mosctl's MOS_CONFIG_DIR), the worker's wkey,
 * each pinned by the other; a listener on loopback; the worker forked. */
static void hostile_start(struct hostile *hs, enum hmode mode, const char *path, int nfetch)
{
	struct mos_identity *wid = NULL;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	char err[256];
	int lfd, pfd[2];

	t_mkdir(t_path("cfg"));
	T_ASSERT(mos_key_generate(t_path("cfg/id_ed25519"), "origin") == 0);
	T_ASSERT(mos_key_generate(t_path("wkey"), "hostile") == 0);
	T_ASSERT(mos_identity_load(t_path("wkey"), &wid, err, sizeof(err)) == 0);
	{
		char *line = mos_identity_publine(wid, "hostile");
		char text[512];

		snprintf(text, sizeof(text), "%s\n", line);
		t_write_file(t_path("cfg/known_workers"), text);
		free(line);
	}
	mos_identity_free(wid);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_ASSERT(lfd >= 0);
	T_ASSERT(bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
	T_ASSERT(listen(lfd, 4) == 0);
	T_ASSERT(getsockname(lfd, (struct sockaddr *)&a, &alen) == 0);
	hs->port = ntohs(a.sin_port);
	snprintf(hs->on, sizeof(hs->on), "127.0.0.1:%d", hs->port);
	T_ASSERT(pipe2(pfd, O_CLOEXEC) == 0);
	fflush(NULL);
	hs->pid = fork();
	T_ASSERT(hs->pid >= 0);
	if (hs->pid == 0) {
		close(pfd[0]);
		hostile_worker(lfd, mode, path, nfetch, pfd[1]);
	}
	close(pfd[1]);
	close(lfd);
	hs->ready = pfd[0];
}

/* Wait until the hostile worker has done its part (or give up after SECS). */
static bool hostile_ready(struct hostile *hs, double secs)
{
	struct timeval tv = { .tv_sec = (time_t)secs };
	fd_set set;
	char c;

	FD_ZERO(&set);
	FD_SET(hs->ready, &set);
	if (select(hs->ready + 1, &set, NULL, NULL, &tv) <= 0)
		return false;
	return read(hs->ready, &c, 1) == 1;
}

static void hostile_stop(struct hostile *hs)
{
	kill(hs->pid, SIGKILL);
	waitpid(hs->pid, NULL, 0);
	close(hs->ready);
}

/* mosctl run --on the hostile worker, with this test's keys and caches. */
static void spawn_origin(struct proc *p, const struct hostile *hs, const char *peer_timeout,
			 char *const extra[])
{
	static char cfg[600], xdg[600], pt[64];
	char *argv[32];
	char *env[4] = { cfg, xdg, NULL, NULL };
	int n = 0;

	snprintf(cfg, sizeof(cfg), "MOS_CONFIG_DIR=%s", t_path("cfg"));
	snprintf(xdg, sizeof(xdg), "XDG_CACHE_HOME=%s", t_path("xdg"));
	if (peer_timeout) {
		snprintf(pt, sizeof(pt), "MOS_PEER_TIMEOUT=%s", peer_timeout);
		env[2] = pt;
	}
	argv[n++] = (char *)t_mosctl_path();
	argv[n++] = "run";
	argv[n++] = "--on";
	argv[n++] = (char *)hs->on;
	for (size_t i = 0; extra && extra[i] && n < 28; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	spawn(p, "mosctl", argv, env);
}

/*
 * A worker that has the origin announce an 8 MiB file, pipelines FETCHes
 * for it and stops reading.  mosctl must not buffer the replies (queued in
 * full, they would grow to gigabytes) and must drop the worker once it has
 * read nothing for the peer timeout.
 */
TEST(peer_fetch_flood_keeps_the_origin_small)
{
	struct hostile hs;
	struct proc p;
	long max_kib;
	int st;
	char *e;
	char *args[] = { "--", "/bin/true", NULL };

	{
		FILE *f = fopen(t_path("big"), "w");

		T_ASSERT(f);
		for (unsigned i = 0; i < (8U << 20) / 4; i++)
			fwrite(&i, 4, 1, f);
		fclose(f);
	}
	hostile_start(&hs, H_FETCH, t_path("big"), 64);
	spawn_origin(&p, &hs, "2", args);
	st = wait_proc(&p, 20, 0, 64 << 10, &max_kib);
	hostile_stop(&hs);
	e = err_text(&p);
	t_note("mosctl: status %d after %.1f s, resident memory at most %ld KiB", st, now() - p.t0,
	       max_kib);
	t_note("mosctl said: %s", e);
	T_ASSERT(st != -2);		 /* its memory stayed under 64 MiB */
	T_ASSERT(st != -1);		 /* and it ended by itself */
	T_EXPECT_EQ(st, 255);		 /* the worker is lost... */
	T_EXPECT_STR(e, "read nothing"); /* ...because it stopped reading */
	T_ASSERT(now() - p.t0 < 12);
	free(e);
}

/* Item 12: a worker that says HELLO and nothing more; -t must hold on the
 * origin's own clock, whatever the worker does (a worker of before
 * keepalives here: only -t can tell). */
TEST(peer_silent_worker_times_out)
{
	struct hostile hs;
	struct proc p;
	int st;
	char *e;
	char *args[] = { "-t", "2", "--", "/bin/true", NULL };

	hostile_start(&hs, H_SILENT_OLD, NULL, 0);
	spawn_origin(&p, &hs, NULL, args);
	st = wait_proc(&p, 15, 0, 0, NULL);
	hostile_stop(&hs);
	e = err_text(&p);
	t_note("mosctl: status %d after %.1f s: %s", st, now() - p.t0, e);
	T_EXPECT_EQ(st, 124);
	T_ASSERT(now() - p.t0 < 5);
	T_EXPECT_STR(e, "timed out");
	free(e);
}

/* Signal SIG (twice when TWICE) at a silent worker's origin: status WANT. */
static void silent_worker_signalled(int sig, bool twice, int want, const char *says)
{
	struct hostile hs;
	struct proc p;
	double t;
	int st;
	char *e;
	char *args[] = { "--", "/bin/true", NULL };

	hostile_start(&hs, H_SILENT, NULL, 0);
	spawn_origin(&p, &hs, NULL, args);
	T_ASSERT(hostile_ready(&hs, 10));
	sleep_s(0.5); /* into its loop: the signal is mosctl's to handle now */
	t = now();
	kill(p.pid, sig);
	if (twice) {
		sleep_s(0.2);
		kill(p.pid, sig);
	}
	st = wait_proc(&p, 15, 0, 0, NULL);
	hostile_stop(&hs);
	e = err_text(&p);
	t_note("mosctl: status %d %.1f s after the signal: %s", st, now() - t, e);
	T_EXPECT_EQ(st, want);
	T_ASSERT(now() - t < 3);
	T_EXPECT_STR(e, says);
	free(e);
}

TEST(peer_silent_worker_sigterm)
{
	silent_worker_signalled(SIGTERM, false, 128 + SIGTERM, "SIGTERM");
}

TEST(peer_silent_worker_second_sigint)
{
	silent_worker_signalled(SIGINT, true, 128 + SIGINT, "interrupted");
}

/* No -t, no signal: a worker that announced keepalives and answers none is
 * given up after the peer timeout (MOS_PEER_TIMEOUT, 2 s here). */
TEST(peer_silent_worker_given_up)
{
	struct hostile hs;
	struct proc p;
	int st;
	char *e;
	char *args[] = { "--", "/bin/true", NULL };

	hostile_start(&hs, H_SILENT, NULL, 0);
	spawn_origin(&p, &hs, "2", args);
	st = wait_proc(&p, 15, 0, 0, NULL);
	hostile_stop(&hs);
	e = err_text(&p);
	t_note("mosctl: status %d after %.1f s: %s", st, now() - p.t0, e);
	T_EXPECT_EQ(st, 255);
	T_ASSERT(now() - p.t0 < 6);
	T_EXPECT_STR(e, "silent for 2 s");
	free(e);
}

/* ------------------------------------------------------------------ */
/* The real mosd, behind stream_relay                                 */
/* ------------------------------------------------------------------ */

static const char *need_local_worker(void)
{
	const char *mosd = getenv("MOSD");

	if (!mosd || !*mosd)
		t_skip("MOSD is not set (run through make check)");
	if (access("/dev/fuse", R_OK | W_OK) < 0)
		t_skip("no /dev/fuse open to this user (missing CONFIG_FUSE_FS?)");
	if (!t_is_root() && !t_userns())
		t_skip("no user namespaces for an unprivileged worker");
	if (chdir(o_dir()) < 0)
		t_fail("chdir %s: %s", o_dir(), strerror(errno));
	return mosd;
}

/* $MOSD for mosctl: a script running stream_relay RELAY_ARGS -- the real
 * mosd, with ENV (assignments, may be "") in mosd's environment only. */
static const char *relay_wrapper(const char *mosd, const char *relay_args, const char *env)
{
	static char path[600];
	char script[2048];

	snprintf(path, sizeof(path), "%s", t_path("mosd-relay"));
	snprintf(script, sizeof(script), "#!/bin/sh\n%s exec %s %s -- %s \"$@\"\n", env,
		 t_helper("stream_relay"), relay_args, mosd);
	t_write_file(path, script);
	chmod(path, 0755);
	return path;
}

static void spawn_local(struct proc *p, const char *wrapper, const char *peer_timeout,
			char *const extra[])
{
	static char mosd[700], cache[600], xdg[600], pt[64];
	char *argv[32];
	char *env[5] = { mosd, cache, xdg, NULL, NULL };
	int n = 0;

	snprintf(mosd, sizeof(mosd), "MOSD=%s", wrapper);
	snprintf(cache, sizeof(cache), "MOS_LOCAL_CACHE=%s", t_path("cache"));
	snprintf(xdg, sizeof(xdg), "XDG_CACHE_HOME=%s", t_path("xdg"));
	if (peer_timeout) {
		snprintf(pt, sizeof(pt), "MOS_PEER_TIMEOUT=%s", peer_timeout);
		env[3] = pt;
	}
	argv[n++] = (char *)t_mosctl_path();
	argv[n++] = "run";
	argv[n++] = "--on";
	argv[n++] = "local";
	for (size_t i = 0; extra && extra[i] && n < 28; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	spawn(p, "mosctl", argv, env);
}

/*
 * The reverse of the fetch flood: an origin that keeps granting output
 * credit but never reads the worker's stream.  mosd must stop producing
 * (not buffer the job's output without bound: the old mosd grew by a
 * megabyte per CREDIT) and drop the origin once it has read nothing for the
 * peer timeout, freeing the job's slot.
 */
TEST(peer_origin_that_reads_nothing_is_dropped)
{
	const char *mosd = need_local_worker();
	char relay[700], pidtxt[32] = "";
	struct proc p, w = { 0 };
	pid_t mpid = 0;
	long max_kib;
	int st;
	char *e;
	char *args[] = { "--", "/bin/cat", "/dev/zero", NULL };

	snprintf(relay, sizeof(relay), "--credit-no-read --max-seconds 25 --pidfile %s",
		 t_path("mosd.pid"));
	/* mosd gives up after 2 s; mosctl waits longer (so it is mosd that ends it) */
	spawn_local(&p, relay_wrapper(mosd, relay, "MOS_PEER_TIMEOUT=2"), "20", args);
	for (int i = 0; i < 200 && !mpid; i++) {
		char *s = t_slurp(t_path("mosd.pid"));

		if (s) {
			snprintf(pidtxt, sizeof(pidtxt), "%s", s);
			mpid = atoi(pidtxt);
			free(s);
		}
		if (!mpid)
			sleep_s(0.05);
	}
	T_ASSERT(mpid > 0);
	/* watch mosd until it is gone (mosctl may give up on the relay first) */
	w.pid = mpid;
	w.t0 = now();
	max_kib = 0;
	for (;;) {
		long kb = rss_kib(mpid);

		if (kb < 0)
			break; /* gone */
		if (kb > max_kib)
			max_kib = kb;
		if (kb > (96 << 10) || now() - w.t0 > 15) {
			kill(mpid, SIGKILL);
			break;
		}
		sleep_s(0.02);
	}
	t_note("mosd: resident memory at most %ld KiB, ran %.1f s", max_kib, now() - w.t0);
	st = wait_proc(&p, 30, 0, 0, NULL);
	e = err_text(&p);
	t_note("mosctl: status %d: %s", st, e);
	T_ASSERT(max_kib > 0 && max_kib < (96 << 10));
	T_ASSERT(now() - w.t0 < 15);
	T_EXPECT_STR(e, "read nothing");
	free(e);
}

/*
 * Item 6 (the -t part): the job wrote a big output and ended, its write-back
 * crawls over a slow link; -t 3 must end mosctl at about 3 s with 124, not
 * after the whole write-back (the old code: 124 after 24.7 s, and the 48 MB
 * had landed after the deadline), and leave neither the output nor a
 * temporary.
 */
TEST(peer_timeout_holds_during_writeback)
{
	const char *mosd = need_local_worker();
	struct proc p;
	int st;
	char *e;
	char *args[] = { "-t", "3", "--", "/bin/sh", "-c", "head -c 48000000 /dev/urandom > wb.bin",
			 NULL };

	/* 4 MB/s from the worker to the origin: the write-back needs 12 s */
	spawn_local(&p, relay_wrapper(mosd, "--throttle 4000000 --max-seconds 40", ""), NULL, args);
	st = wait_proc(&p, 30, 0, 0, NULL);
	e = err_text(&p);
	t_note("mosctl: status %d after %.1f s: %s", st, now() - p.t0, e);
	T_EXPECT_EQ(st, 124);
	T_ASSERT(now() - p.t0 < 6.5);
	T_EXPECT_STR(e, "timed out");
	/* the worker stopped the write-back when told the job was being ended,
	 * so its EXIT came within the second mosctl waits for it (the old mosd
	 * went on sending until the connection was dropped) */
	T_EXPECT_STR(e, "the job on the worker was ended");
	{
		struct t_result l;
		char *argv[] = { "/bin/ls", "-A", (char *)o_dir(), NULL };

		t_run(&l, NULL, argv);
		t_note("left in the job's directory: %s", l.out);
		T_EXPECT_NO_STR(l.out, ".mos-"); /* no temporary */
		t_result_free(&l);
	}
	{
		/* the output as the job's last finished close() left it: absent, or
		 * empty (the shell's close of its first descriptor for it) */
		struct stat sb;
		char path[600];

		snprintf(path, sizeof(path), "%s/wb.bin", o_dir());
		T_ASSERT(stat(path, &sb) < 0 || sb.st_size == 0);
	}
	free(e);
}

/*
 * A writer killed with SIGKILL in the middle of its write-back (in the job,
 * no -t: the origin is not ending anything): nobody waits for that close
 * any more, so the worker gives the write-back up at once instead of
 * carrying 48 MB over the slow link first (the old worker: the job ended
 * after the whole write-back, about 12 s here).  The origin keeps the file
 * as the last finished close left it (the create's empty file), and no
 * temporary.
 */
TEST(peer_killed_writer_is_not_written_back)
{
	const char *mosd = need_local_worker();
	struct proc p;
	struct stat sb;
	char path[600], *out;
	int st;
	char *e;
	char *args[] = { "--", "/bin/sh", "-c",
			 "head -c 48000000 /dev/urandom > wb.bin & sleep 1; kill -9 $!; wait; "
			 "echo survived",
			 NULL };

	spawn_local(&p, relay_wrapper(mosd, "--throttle 4000000 --max-seconds 40", ""), NULL, args);
	st = wait_proc(&p, 30, 0, 0, NULL);
	e = err_text(&p);
	out = t_slurp(p.out);
	t_note("mosctl: status %d after %.1f s: %s", st, now() - p.t0, e);
	T_EXPECT_EQ(st, 0);
	T_EXPECT_STR(out, "survived");
	T_ASSERT(now() - p.t0 < 5);
	snprintf(path, sizeof(path), "%s/wb.bin", o_dir());
	T_ASSERT(stat(path, &sb) < 0 || sb.st_size == 0);
	{
		struct t_result l;
		char *argv[] = { "/bin/ls", "-A", (char *)o_dir(), NULL };

		t_run(&l, NULL, argv);
		T_EXPECT_NO_STR(l.out, ".mos-");
		t_result_free(&l);
	}
	free(out);
	free(e);
}

/*
 * A stdout nobody reads (a pipe left full): the job's output stops, mosctl
 * does not.  The old origin wrote output with a blocking write(2) in its
 * only thread, so neither -t nor a signal could end it.
 */
TEST(peer_blocked_stdout_does_not_block_the_origin)
{
	need_local_worker();
	struct proc p;
	int pfd[2], st;
	char *e;
	char *args[] = { "-t", "2", "--", "/bin/cat", "/dev/zero", NULL };

	T_ASSERT(pipe2(pfd, O_CLOEXEC) == 0);
	spawn_stdout = pfd[1];
	spawn_local(&p, getenv("MOSD"), NULL, args);
	spawn_stdout = -1;
	close(pfd[1]);
	st = wait_proc(&p, 15, 0, 0, NULL); /* and the pipe is never read */
	close(pfd[0]);
	e = err_text(&p);
	t_note("mosctl: status %d after %.1f s: %s", st, now() - p.t0, e);
	T_EXPECT_EQ(st, 124);
	T_ASSERT(now() - p.t0 < 5);
	free(e);
}

/* ------------------------------------------------------------------ */
/* Long steps of the origin's file service                            */
/* ------------------------------------------------------------------ */

/* True when PID holds PATH open. */
static bool holds_open(pid_t pid, const char *path)
{
	char fddir[64], link[4096];
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
		found = !strcmp(link, path);
	}
	closedir(d);
	return found;
}

/*
 * A file the origin must hash when a job opens it (OPEN announces its
 * SHA-256): 16 GiB, sparse, so it costs nothing on disk but all of the
 * hashing (zeros read from the holes are hashed too: OpenSSL does 4 GiB in
 * about 3 s on this machine when it is idle, and the old origin was still
 * hashing this file after 40 s with the machine loaded).
 */
static const char *huge_file(void)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/huge", o_dir());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	T_ASSERT(fd >= 0);
	T_ASSERT(ftruncate(fd, 16LL << 30) == 0);
	close(fd);
	return path;
}

/* Wait for P until it ends (its status) or SECS pass (-1, killed), noting
 * whether it ever held PATH open. */
static int wait_holding(struct proc *p, double secs, const char *path, bool *held)
{
	for (;;) {
		int st;

		if (!*held)
			*held = holds_open(p->pid, path);
		if (waitpid(p->pid, &st, WNOHANG) == p->pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (now() - p->t0 > secs) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
			return -1;
		}
		sleep_s(0.01);
	}
}

/*
 * The origin hashes a file its job opens.  Hashing 16 GiB must not hold up
 * -t: the old origin hashed in its only loop, so the deadline, like every
 * signal and keepalive, waited for the hash (still running after 40 s).
 */
TEST(peer_timeout_holds_while_the_origin_hashes)
{
	const char *mosd = need_local_worker();
	const char *huge = huge_file();
	bool held = false;
	struct proc p;
	int st;
	char *e;
	char *args[] = { "-t", "2", "--", "/bin/cat", (char *)huge, NULL };

	spawn_local(&p, mosd, NULL, args);
	st = wait_holding(&p, 40, huge, &held);
	e = err_text(&p);
	t_note("mosctl: status %d after %.1f s: %s", st, now() - p.t0, e);
	T_ASSERT(held); /* it was hashing when the deadline came */
	T_EXPECT_EQ(st, 124);
	T_EXPECT_STR(e, "timed out");
	T_ASSERT(now() - p.t0 < 3.5);
	free(e);
}

/* ... nor SIGTERM (the old origin: 143 once the hash was done). */
TEST(peer_sigterm_while_the_origin_hashes)
{
	const char *mosd = need_local_worker();
	const char *huge = huge_file();
	bool held = false;
	struct proc p;
	double t;
	int st;
	char *e;
	char *args[] = { "--", "/bin/cat", (char *)huge, NULL };

	spawn_local(&p, mosd, NULL, args);
	while (!held && now() - p.t0 < 20 && waitpid(p.pid, &st, WNOHANG) == 0) {
		held = holds_open(p.pid, huge);
		sleep_s(0.01);
	}
	T_ASSERT(held);
	sleep_s(0.2); /* well into the hash */
	t = now();
	kill(p.pid, SIGTERM);
	st = wait_proc(&p, 40, 0, 0, NULL);
	e = err_text(&p);
	t_note("mosctl: status %d %.1f s after SIGTERM: %s", st, now() - t, e);
	T_EXPECT_EQ(st, 128 + SIGTERM);
	T_EXPECT_STR(e, "SIGTERM");
	T_ASSERT(now() - t < 1.5);
	free(e);
}
