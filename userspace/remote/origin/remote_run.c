// SPDX-License-Identifier: GPL-2.0-only
/*
 * remote_run.c - `mosctl run --on WORKER`: the origin's side of a remote job.
 *
 * One connection to the worker (TLS to mosd --listen; a pipe to a local or
 * ssh-started `mosd --stdio`), one loop: it sends HELLO, forwards stdin and
 * signals, writes the job's output, and returns the job's status from EXIT.
 * The file service (origin_serve) runs on a thread of its own: the job's
 * manifest preloads and its JOB go out from there, and every file request
 * the loop reads is handed to it, so that no hash, listing or read of this
 * machine's files, however long, holds up the loop.  If the connection
 * drops first: a clear error, 255.
 *
 * Nothing here waits on the worker without a bound: the connection drops a
 * worker that reads nothing we send, or (one that answers keepalives) sends
 * nothing, for the peer timeout (conn.h); `-t` runs on this machine's own
 * clock from the start, connecting included; SIGTERM and a second SIGINT end
 * mosctl whatever the worker does.  Ending early is a teardown: the job's
 * unfinished write-backs are dropped and later file requests refused (no
 * output lands after the deadline), the worker is told to kill the job, and
 * after TEARDOWN_GRACE_MS at most the connection is dropped (the worker then
 * kills the job's tree itself).  The job's output goes out through the ring
 * (conn_sink), so a stdout nobody reads stalls only the output.
 */
#include "remote_run.h"

#include <fcntl.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "conn.h"
#include "connect.h"
#include "log.h"
#include "origin_fs.h"
#include "origin_serve.h"
#include "placement.h"
#include "pool.h"
#include "sandbox.h"
#include "tls_channel.h"
#include "watch.h"
#include "util.h"

#define EXIT_CONN_LOST 255
#define IN_WINDOW (1U << 20)
/* The worker sends output while less than its 1 MiB window is uncredited,
 * up to 64 KiB at a time: more than this uncredited is a broken worker. */
#define OUT_LIMIT ((1U << 20) + MOS_DATA_CHUNK)
#define PEER_TIMEOUT_MS 60000  /* a worker silent or not reading for this long is gone */
#define TEARDOWN_GRACE_MS 1000 /* a job being ended: how long its EXIT may take */
#define SERVER_STOP_MS 500     /* the file service's thread, told to stop: its end, at most */

struct remote {
	struct conn *conn;
	/* on the heap: a file service thread stuck in the kernel keeps them */
	struct origin_service *svc;
	struct origin_scope *scope;
	struct origin_server *srv;
	uint64_t worker_features; /* its HELLO */
	struct mos_identity *id;  /* this origin's key, while the TLS channel lives */
	bool hello, have_exit;
	struct mos_exit ex;
	char *exit_msg;
	uint64_t in_unacked;
	struct conn_watch *in_watch;
	bool have_stdin, in_paused, in_done;
	int job_fd;	       /* eventfd: the file service has queued the JOB */
	pid_t helper;	       /* the local or ssh mosd we started, or 0 */
	struct conn_sink *out; /* stdout and stderr, written by the ring */
	uint64_t out_unacked;  /* output received and not yet written out */
	int clock;	       /* timerfd: the -t deadline, then the teardown's grace */
	uint64_t timeout_ms;   /* -t */
	int ending;	       /* 0, or the status mosctl ends with (124, 130, 143) */
	bool grace_over;       /* ... and the worker did not confirm it in time */
	char end_why[320];
	unsigned nsigint;
	bool passed_io;	      /* stdin consumed or output passed on: the job cannot be rerun */
	struct watch_set *ws; /* through the agent: what the session's worker keeps, watched */
};

static bool on_stdin(struct conn *c, int fd, uint32_t revents, void *arg)
{
	struct remote *rm = arg;
	uint8_t buf[65536];
	struct wire_buf b = { 0 };
	ssize_t n;

	(void)revents;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n < 0)
		n = 0;
	if (n > 0)
		rm->passed_io = true;
	wire_buf_start(&b, MOS_MSG_STDIN, 0, 0);
	wire_put_var(&b, buf, (size_t)n);
	conn_send(c, &b);
	if (n == 0) {
		rm->in_done = true;
		return false;
	}
	rm->in_unacked += (uint64_t)n;
	if (rm->in_unacked >= IN_WINDOW) {
		rm->in_paused = true;
		return false;
	}
	return true;
}

static void send_signal(struct conn *c, int sig)
{
	struct wire_buf b = { 0 };
	struct mos_signal s = { .signo = (uint32_t)sig };

	wire_buf_start(&b, MOS_MSG_SIGNAL, 0, 0);
	wire_put(&b, &s, sizeof(s));
	conn_send(c, &b);
}

static void arm_clock(int fd, uint64_t ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ms / 1000),
						.tv_nsec = (long)(ms % 1000) * 1000000L } };

	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	timerfd_settime(fd, 0, &its, NULL);
}

static void __attribute__((format(printf, 5, 6)))
teardown(struct conn *c, struct remote *rm, int status, int sig, const char *fmt, ...)
{
	va_list ap;

	if (rm->ending) {
		/* asked again (a third ^C, SIGTERM during the grace): go now */
		conn_abort(c, "ended");
		return;
	}
	rm->ending = status;
	va_start(ap, fmt);
	vsnprintf(rm->end_why, sizeof(rm->end_why), fmt, ap);
	va_end(ap);
	/* Nothing the job does from now on lands here: unfinished write-backs
	 * are dropped now (their temporaries with them), later requests refused;
	 * the worker is told, so that it stops sending them. */
	if (rm->srv)
		origin_server_cancel(rm->srv);
	if (rm->worker_features & MOS_FEAT_CANCEL) {
		struct wire_buf b = { 0 };

		wire_buf_start(&b, MOS_MSG_CANCEL, 0, 0);
		conn_send(c, &b);
	}
	send_signal(c, sig);
	arm_clock(rm->clock, TEARDOWN_GRACE_MS);
}

static char *secs_text(uint64_t ms, char buf[32])
{
	if (ms % 1000)
		snprintf(buf, 32, "%.1f", (double)ms / 1000);
	else
		snprintf(buf, 32, "%llu", (unsigned long long)(ms / 1000));
	return buf;
}

/* The -t deadline, then the end of a teardown's grace. */
static bool on_clock(struct conn *c, int fd, uint32_t revents, void *arg)
{
	struct remote *rm = arg;
	uint64_t ticks;
	char sb[32];

	(void)revents;
	if (read(fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return true;
	if (!rm->ending) {
		teardown(c, rm, MOS_EXIT_TIMEOUT, SIGKILL, "timed out after %s s (-t)",
			 secs_text(rm->timeout_ms, sb));
		return true;
	}
	rm->grace_over = true;
	conn_abort(c, "the teardown's grace is over");
	return false;
}

static bool on_signal(struct conn *c, int fd, uint32_t revents, void *arg)
{
	struct remote *rm = arg;
	struct signalfd_siginfo si;
	struct wire_buf b = { 0 };

	(void)revents;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return true;
	if (si.ssi_signo == SIGWINCH) {
		struct winsize ws;
		struct mos_winsize w = { 0 };

		if (ioctl(1, TIOCGWINSZ, &ws) < 0)
			return true;
		w.rows = ws.ws_row;
		w.cols = ws.ws_col;
		wire_buf_start(&b, MOS_MSG_WINSIZE, 0, 0);
		wire_put(&b, &w, sizeof(w));
		conn_send(c, &b);
	} else if (si.ssi_signo == SIGTERM) {
		teardown(c, rm, 128 + SIGTERM, SIGTERM, "terminated (SIGTERM)");
	} else if (si.ssi_signo == SIGINT && ++rm->nsigint >= 2) {
		teardown(c, rm, 128 + SIGINT, SIGKILL, "interrupted twice (SIGINT)");
	} else {
		/* the first ^C, SIGHUP, SIGQUIT: the job's to handle */
		send_signal(c, (int)si.ssi_signo);
	}
	return true;
}

/* The JOB is queued (after the preloads): the job's input may follow it. */
static bool on_job_queued(struct conn *c, int fd, uint32_t revents, void *arg)
{
	struct remote *rm = arg;
	uint64_t v;

	(void)revents;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return true;
	if (rm->have_stdin) {
		fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
		rm->in_watch = conn_watch(c, 0, POLLIN, on_stdin, rm);
		conn_watch_throttle(rm->in_watch);
	}
	return false;
}

/* Output written out (or dropped): credit the worker for it. */
static void on_output_done(struct conn *c, size_t n, void *arg)
{
	struct remote *rm = arg;
	struct wire_buf b = { 0 };
	struct mos_credit cr = { .bytes = (uint32_t)n };

	rm->out_unacked = n > rm->out_unacked ? 0 : rm->out_unacked - n;
	wire_buf_start(&b, MOS_MSG_CREDIT, 0, 0);
	wire_put(&b, &cr, sizeof(cr));
	conn_send(c, &b);
}

static void on_output(struct conn *c, struct remote *rm, int fd, const void *data, size_t len)
{
	if (rm->out_unacked + len > OUT_LIMIT) {
		conn_fail(c, "the worker sent more output than its window allows");
		return;
	}
	rm->out_unacked += len;
	if (len)
		rm->passed_io = true;
	conn_sink_write(c, rm->out, fd, data, len);
}

static void on_frame(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	struct remote *rm = arg;
	struct wire_reader rd;

	wire_reader_init(&rd, payload, h->len);
	if (!rm->hello && h->type != MOS_MSG_HELLO) {
		conn_fail(c, "the worker did not start with HELLO");
		goto out;
	}
	if ((rm->ending || !rm->srv) && origin_serve_is_request(h->type)) {
		/* the job is being ended: nothing more changes or leaves here */
		if (h->type != MOS_MSG_PUT_DATA)
			conn_send_error(c, h->id, ECANCELED, "the origin is ending the job");
		goto out;
	}
	if (origin_server_submit(rm->srv, h, payload))
		return; /* the file service's now */
	switch (h->type) {
	case MOS_MSG_HELLO: {
		const char *why = wire_hello_check(payload, h->len, 2);

		if (why) {
			conn_fail(c, why);
			goto out;
		}
		rm->hello = true;
		rm->worker_features = wire_hello_features(payload, h->len);
		conn_peer_keepalive(c, rm->worker_features & MOS_FEAT_KEEPALIVE);
		break;
	}
	case MOS_MSG_STDOUT:
	case MOS_MSG_STDERR: {
		const void *data;
		size_t len;

		if (!wire_get_var(&rd, &data, &len, MOS_DATA_CHUNK) || !wire_end(&rd)) {
			conn_fail(c, "malformed output frame");
			goto out;
		}
		on_output(c, rm, h->type == MOS_MSG_STDOUT ? 1 : 2, data, len);
		break;
	}
	case MOS_MSG_CREDIT: {
		struct mos_credit cr;

		if (!wire_get(&rd, &cr, sizeof(cr)) || !wire_end(&rd)) {
			conn_fail(c, "malformed CREDIT");
			goto out;
		}
		rm->in_unacked = cr.bytes > rm->in_unacked ? 0 : rm->in_unacked - cr.bytes;
		if (rm->in_paused && rm->in_unacked < IN_WINDOW) {
			rm->in_paused = false;
			conn_watch_resume(c, rm->in_watch);
		}
		break;
	}
	case MOS_MSG_EXIT:
		if (!wire_get(&rd, &rm->ex, sizeof(rm->ex)) ||
		    !wire_get_str(&rd, &rm->exit_msg, 4096 + MOS_PATH_MAX) || !wire_end(&rd)) {
			conn_fail(c, "malformed EXIT");
			goto out;
		}
		rm->have_exit = true;
		if (rm->ending)
			conn_abort(c, "the job ended"); /* nothing more to wait for */
		else
			conn_stop(c);
		break;
	default:
		conn_fail(c, "unexpected message from the worker");
	}
out:
	free(payload);
}

/* ------------------------------------------------------------------ */

char *remote_config_dir(void)
{
	const char *d = getenv("MOS_CONFIG_DIR"), *home = getenv("HOME");

	if (d && *d)
		return xstrdup(d);
	return xasprintf("%s/.config/mosingar", home && *home ? home : "/");
}

/*
 * Where the manifest of this kind of job lives: one per (working directory,
 * command), e.g. every `gcc` a `make` in this directory runs.  NULL when the
 * cache directory cannot be made (the job then simply asks as it goes).
 */
static char *manifest_path(const struct run_opts *o)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	_cleanup_free_ char *dir = NULL;
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[3];
	char why[512];

	if (!cwd || !o->ncommand)
		return NULL;
	parts[0] = cwd;
	parts[1] = o->command[0];
	parts[2] = o->on;
	for (size_t k = 0; k < 3; k++)
		for (const char *p = parts[k];; p++) {
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
			if (!*p)
				break;
		}
	/* never a shared directory (/tmp without HOME): the manifest decides
	 * what is sent ahead, so it must be nobody else's to write */
	if (xdg && *xdg)
		dir = xasprintf("%s/mosingar/manifests", xdg);
	else if (home && *home)
		dir = xasprintf("%s/.cache/mosingar/manifests", home);
	else
		return NULL;
	if (mkdir_private(dir, why, sizeof(why)) < 0) {
		mos_info("no job manifest: %s", why);
		return NULL;
	}
	return xasprintf("%s/%016llx", dir, (unsigned long long)h);
}

/* ------------------------------------------------------------------ */

static void put_strv(struct wire_buf *b, char *const *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		wire_put_str(b, v[i]);
}

/* HELLO now; the JOB frame into *JOB (the file service sends it, after
 * the preloads). */
static int send_job(struct conn *c, const struct run_opts *o, bool have_stdin, bool tty,
		    struct origin_scope *scope, struct wire_buf *job)
{
	extern char **environ;
	struct mos_job j = { .uid = getuid(),
			     .gid = getgid(),
			     .flags = (have_stdin ? MOS_JOB_STDIN : 0) | (tty ? MOS_JOB_TTY : 0) };
	struct wire_buf b = { 0 };
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	char **fwd = o->forward;
	size_t nfwd = o->nforward;
	char *extra[8];
	uint32_t nextra = 0, nenv = 0;
	mode_t um = umask(022);
	bool fs_rules = o->policy.nfs || o->policy.fs_system;

	umask(um);
	j.umask = um;
	if (tty) {
		struct winsize ws;

		if (ioctl(1, TIOCGWINSZ, &ws) == 0) {
			j.rows = ws.ws_row;
			j.cols = ws.ws_col;
		}
	}
	if (!cwd) {
		mos_err("cannot tell the working directory: %s", strerror(errno));
		return -errno;
	}
	/* The file service answers only what the job's policy grants, and the
	 * policy file itself, which the worker reads again to parse the flags. */
	origin_scope_init(scope, &o->policy, cwd);
	for (size_t i = 0; i + 1 < nfwd; i++) {
		if (!strcmp(fwd[i], "--policy")) {
			_cleanup_free_ char *pf = path_join_normalize(cwd, fwd[i + 1]);

			origin_scope_add(scope, pf, SCOPE_READ);
		}
	}
	/* No file rule at all: the whole view readable, the cwd writable (the
	 * usual remote build); the worker's private /tmp is always writable. */
	if (!fs_rules) {
		extra[nextra++] = "--read";
		extra[nextra++] = "/";
		extra[nextra++] = "--write";
		extra[nextra++] = cwd;
		origin_scope_add(scope, "/", SCOPE_READ);
		origin_scope_add(scope, cwd, SCOPE_WRITE);
	}
	extra[nextra++] = "--write";
	extra[nextra++] = "/tmp";
	while (environ && environ[nenv])
		nenv++;
	j.nargv = (uint32_t)o->ncommand;
	j.nenv = nenv;
	j.nsandbox = (uint32_t)nfwd + nextra;

	wire_hello_build(&b, 1);
	conn_send(c, &b);
	wire_buf_start(&b, MOS_MSG_JOB, 0, 0);
	wire_put(&b, &j, sizeof(j));
	put_strv(&b, o->command, j.nargv);
	put_strv(&b, environ, nenv);
	wire_put_str(&b, cwd);
	put_strv(&b, fwd, (uint32_t)nfwd);
	put_strv(&b, extra, nextra);
	if (!wire_buf_finish(&b)) {
		wire_buf_free(&b);
		mos_err("the command line and environment are too large to send (over %u bytes)",
			MOS_FRAME_MAX);
		return -E2BIG;
	}
	*job = b;
	return 0;
}

/*
 * Run the job on the one worker ON.  *UNREACHED is set when the job never
 * reached it (no connection, or the handshake failed): nothing ran, so the
 * caller may try the next worker of the pool.
 */
bool remote_run_lost_after_changes;

/* Whether this job goes through the agent: --agent (mosctl cc and make
 * add it), or MOS_AGENT=1; MOS_AGENT=0 never. */
static bool use_agent(const struct run_opts *o)
{
	const char *e = getenv("MOS_AGENT");

	if (e && *e)
		return strcmp(e, "0") && strcmp(e, "no") && strcmp(e, "off");
	return o->agent;
}

/*
 * The session a job may share: jobs of this user, in this directory, with
 * the same sandbox flags, whatever they write beneath it (mosctl cc's -w
 * for each object's directory): what a worker keeps for one of them is
 * what any of them may read.
 */
static char *session_key(const struct run_opts *o)
{
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	uint64_t h = 0xcbf29ce484222325ULL;
	uid_t ids[2] = { getuid(), getgid() };

	for (size_t i = 0; i < sizeof(ids); i++)
		h = (h ^ ((const unsigned char *)ids)[i]) * 0x100000001b3ULL;
	for (size_t i = 0; i < o->nforward; i++) {
		const char *a = o->forward[i];

		if (!strcmp(a, "--write") && i + 1 < o->nforward && cwd) {
			_cleanup_free_ char *w = path_join_normalize(cwd, o->forward[i + 1]);

			if (path_is_beneath(w, cwd)) {
				i++;
				continue;
			}
		}
		for (const char *c = a;; c++) {
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
			if (!*c)
				break;
		}
	}
	return xasprintf("%s\n%016llx", cwd ? cwd : "", (unsigned long long)h);
}

static int remote_run_on(const struct run_opts *o, const char *on, bool *unreached)
{
	struct remote rm = { .clock = -1, .job_fd = -1 };
	struct wire_buf job = { 0 };
	struct tls_channel *tls = NULL;
	char err[768] = "", sb[32];
	int fd = -1, sfd = -1, ret = EXIT_CONN_LOST, r;
	sigset_t set, old;
	struct timespec t0, t1;
	struct termios saved_tio;
	bool have_stdin, tty = false, stuck = false;
	_cleanup_free_ char *manifest = NULL;
	struct stat st;
	bool via_agent = false, warm = false;
	int hfd = -1; /* through the agent: the stream again, for the handover */
	unsigned peer_ms = conn_peer_timeout_env(PEER_TIMEOUT_MS), start_ms = peer_ms;
	uint64_t start = mono_ms();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* -t counts from here, on this machine's clock: the worker's own -t
	 * cannot cover connecting, a stalled worker, or the write-back */
	rm.timeout_ms = o->policy.limits.timeout_ms;
	rm.clock = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (rm.clock < 0) {
		mos_err("cannot make a timer: %s", strerror(errno));
		return MOS_EXIT_SETUP;
	}
	if (rm.timeout_ms) {
		arm_clock(rm.clock, rm.timeout_ms);
		if (rm.timeout_ms < start_ms)
			start_ms = (unsigned)rm.timeout_ms;
	}
	if (use_agent(o)) {
		_cleanup_free_ char *key = session_key(o);
		struct mos_agent_ready ready = { 0 };
		char aerr[768] = "";

		fd = agent_open(on, wire_features(1), key, start_ms, &ready, aerr, sizeof(aerr));
		if (fd >= 0) {
			via_agent = true;
			warm = ready.flags & MOS_AGENT_WARM;
			hfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			mos_info("through the agent: %s session (%u jobs before)",
				 warm ? "a warm" : "a new", ready.jobs);
		} else if (fd == -EHOSTUNREACH) {
			mos_err("%s", aerr);
			closep(&rm.clock);
			*unreached = true;
			return EXIT_CONN_LOST;
		} else {
			mos_info("not through the agent: %s", aerr);
		}
	}
	if (!via_agent)
		fd = connect_worker(on, start_ms, &rm.helper, &tls, &rm.id, err, sizeof(err));
	if (fd < 0) {
		if (fd == -ETIMEDOUT && rm.timeout_ms && mono_ms() - start >= rm.timeout_ms) {
			mos_err("timed out after %s s (-t) while connecting to the worker %s",
				secs_text(rm.timeout_ms, sb), on);
			closep(&rm.clock);
			return MOS_EXIT_TIMEOUT;
		}
		mos_err("%s", err[0] ? err : strerror(-fd));
		closep(&rm.clock);
		*unreached = true;
		return EXIT_CONN_LOST;
	}
	{
		const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
		_cleanup_free_ char *dir = xdg && *xdg	   ? xasprintf("%s/mosingar", xdg)
					   : home && *home ? xasprintf("%s/.cache/mosingar", home)
							   : NULL;
		_cleanup_free_ char *hc = dir ? xasprintf("%s/origin-hashes", dir) : NULL;
		_cleanup_free_ char *journal = dir ? xasprintf("%s/puts", dir) : NULL;
		char why[512];

		rm.svc = xcalloc(1, sizeof(*rm.svc));
		rm.scope = xcalloc(1, sizeof(*rm.scope));
		/*
		 * Unchanged files are never hashed twice, across runs too.  The
		 * cache says which hash each file has: it must be nobody else's
		 * to write (never /tmp for want of a HOME), or the worker would
		 * serve their content for ours.
		 */
		if (dir && mkdir_private(dir, why, sizeof(why)) < 0) {
			mos_info("no hash cache: %s", why);
			free(hc);
			hc = NULL;
			free(journal);
			journal = NULL;
		}
		r = origin_fs_new(hc, &rm.svc->fs);
		/* and a temporary file a killed origin left is removed now */
		if (r == 0 && journal)
			origin_fs_set_put_journal(rm.svc->fs, journal);
		/* what the session's worker keeps, watched before it is read */
		if (r == 0 && via_agent && (rm.ws = watch_set_new()))
			origin_fs_set_watch(rm.svc->fs, rm.ws);
	}
	if (r < 0) {
		mos_err("cannot start the file service: %s", strerror(-r));
		free(rm.svc);
		free(rm.scope);
		close(fd);
		closep(&rm.clock);
		return MOS_EXIT_SETUP;
	}
	rm.conn = conn_new(fd, fd, tls, on_frame, &rm);
	/* the handshake within the peer timeout, and within what -t has left */
	if (rm.timeout_ms) {
		uint64_t used = mono_ms() - start;

		start_ms = used >= rm.timeout_ms ? 1 : (unsigned)(rm.timeout_ms - used);
		if (start_ms > peer_ms)
			start_ms = peer_ms;
	}
	conn_set_timeouts(rm.conn, start_ms, start_ms);
	if (conn_handshake(rm.conn) < 0) {
		if (rm.timeout_ms && mono_ms() - start >= rm.timeout_ms) {
			mos_err("timed out after %s s (-t) while connecting to the worker %s",
				secs_text(rm.timeout_ms, sb), on);
			ret = MOS_EXIT_TIMEOUT;
		} else {
			mos_err("cannot reach the worker %s: %s", on, conn_error(rm.conn));
			*unreached = true;
		}
		goto out;
	}
	conn_set_timeouts(rm.conn, peer_ms, peer_ms);
	have_stdin = fstat(0, &st) == 0;
	/* Both ends of a terminal: the job gets a pty, this terminal goes raw
	 * (keys, ^C included, travel as bytes; the worker's pty interprets). */
	tty = isatty(0) && isatty(1) && tcgetattr(0, &saved_tio) == 0;
	rm.svc->scope = rm.scope;
	/* a warm session's worker has what the manifest would preload */
	manifest = warm ? NULL : manifest_path(o);
	if (send_job(rm.conn, o, have_stdin, tty, rm.scope, &job) < 0) {
		ret = MOS_EXIT_SETUP;
		goto out;
	}
	rm.job_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rm.srv = rm.job_fd >= 0 ? origin_server_start(rm.svc, rm.conn, manifest, &job, rm.job_fd)
				: NULL;
	if (!rm.srv) {
		wire_buf_free(&job);
		ret = MOS_EXIT_SETUP;
		goto out;
	}
	if (tty) {
		struct termios raw = saved_tio;

		cfmakeraw(&raw);
		tcsetattr(0, TCSADRAIN, &raw);
	}
	rm.have_stdin = have_stdin;
	conn_watch(rm.conn, rm.job_fd, POLLIN, on_job_queued, &rm);
	rm.out = conn_sink(rm.conn, on_output_done, &rm);
	conn_watch(rm.conn, rm.clock, POLLIN, on_clock, &rm);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd >= 0)
		conn_watch(rm.conn, sfd, POLLIN, on_signal, &rm);
	conn_run(rm.conn);
	/* the loop is done: so is the file service (a normal end leaves it
	 * idle; an early one, cancelled) */
	stuck = !origin_server_stop(rm.srv, SERVER_STOP_MS);
	rm.srv = NULL;
	if (tty)
		tcsetattr(0, TCSADRAIN, &saved_tio);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rm.in_watch)
		fcntl(0, F_SETFL, fcntl(0, F_GETFL) & ~O_NONBLOCK);
	if (rm.ending) {
		if (rm.have_exit)
			mos_err("%s: the job on the worker was ended", rm.end_why);
		else if (rm.grace_over)
			mos_err("%s: the worker did not confirm the job's end in time: dropped the "
				"connection (the worker kills the job when it sees that)",
				rm.end_why);
		else
			mos_err("%s: the connection ended (%s) before the worker confirmed the "
				"job's end; the worker kills the job when it sees that",
				rm.end_why, conn_error(rm.conn));
		ret = rm.ending;
		goto out;
	}
	if (!rm.have_exit) {
		mos_err("lost the worker %s before the job ended: %s", on, conn_error(rm.conn));
		if (!stuck && !rm.svc->mutations && !rm.passed_io) {
			/* nothing of it reached this machine: safe to run again */
			mos_info("the job had written nothing back: it may run again on another "
				 "worker of the pool");
			*unreached = true;
		} else if (!stuck && rm.svc->mutations) {
			mos_err("lost the worker %s after the job had asked for %llu changes here "
				"(files written back): not run again",
				on, (unsigned long long)rm.svc->mutations);
			remote_run_lost_after_changes = true;
		}
		goto out;
	}
	ret = (int)rm.ex.status;
	if (manifest && !stuck)
		origin_manifest_save(rm.svc, manifest);
	/* the session goes on: the agent watches what its worker keeps */
	if (via_agent && !stuck && hfd >= 0 &&
	    agent_handover(hfd, rm.ws, origin_fs_watch_failures(rm.svc->fs) + !rm.ws) < 0)
		mos_info("the agent did not take the session back: %s", strerror(errno));
	if (rm.exit_msg && *rm.exit_msg)
		mos_err("%s", rm.exit_msg);
	if (rm.ex.flags & MOS_EXIT_WRITEBACK_FAILED && ret == 0)
		ret = 1;
	if (o->stats && !stuck) {
		struct conn_stats cs;
		struct origin_stats os;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		conn_get_stats(rm.conn, &cs);
		origin_fs_get_stats(rm.svc->fs, &os);
		fprintf(stderr,
			"mosctl: stats: wall %.3f s, round trips %llu, requests %llu, fetched %llu "
			"bytes, written back %llu bytes, cache hits %llu misses %llu, "
			"hashed %llu files (hash cache hits %llu), refused %llu, wire in %llu out "
			"%llu bytes\n",
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
			(unsigned long long)rm.svc->requests,
			(unsigned long long)rm.ex.fuse_requests,
			(unsigned long long)rm.ex.bytes_fetched,
			(unsigned long long)rm.ex.bytes_written_back,
			(unsigned long long)rm.ex.cache_hits,
			(unsigned long long)rm.ex.cache_misses, (unsigned long long)os.files_hashed,
			(unsigned long long)os.hash_cache_hits,
			(unsigned long long)(rm.svc->refused + os.symlinks_refused),
			(unsigned long long)cs.bytes_in, (unsigned long long)cs.bytes_out);
	}
out:
	if (rm.srv)
		stuck = !origin_server_stop(rm.srv, SERVER_STOP_MS);
	if (!stuck) {
		/* (a stuck file service keeps what it may still touch: the
		 * process is about to end) */
		origin_service_free(rm.svc);
		conn_free(rm.conn);
		if (rm.id)
			mos_identity_free(rm.id);
		origin_fs_free(rm.svc->fs);
		origin_scope_free(rm.scope);
		free(rm.svc);
		free(rm.scope);
		closep(&rm.job_fd);
	}
	closep(&sfd);
	closep(&hfd);
	if (!stuck)
		watch_set_free(rm.ws);
	free(rm.exit_msg);
	closep(&rm.clock);
	if (rm.helper > 0)
		reap_helper(rm.helper);
	return ret;
}

/* A job run here for want of a worker gets the file access it would have
 * had on one: with no file rule at all, read /, write the cwd and /tmp. */
static int local_like_remote(struct run_opts *o)
{
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	struct mos_err e = { "" };

	if (o->policy.nfs || o->policy.fs_system)
		return 0;
	if (!cwd ||
	    policy_add_fs(&o->policy, NULL, "/", MOS_FS_READ | MOS_FS_EXEC, false,
			  "--on (the remote default)", &e) < 0 ||
	    policy_add_fs(&o->policy, NULL, cwd, MOS_FS_ALL, false, "--on (the remote default)",
			  &e) < 0 ||
	    policy_add_fs(&o->policy, NULL, "/tmp", MOS_FS_ALL, false, "--on (the remote default)",
			  &e) < 0) {
		mos_err("cannot run the job here: %s", cwd ? e.msg : strerror(errno));
		return -EINVAL;
	}
	return 0;
}

/*
 * The job on the pool SPEC names: the workers in placement order, the next
 * one tried when a worker cannot be reached (nothing ran there).  -t is
 * the one deadline of all the tries: each try gets what is left of it.
 */
int remote_run(struct run_opts *o)
{
	struct pool p = { 0 };
	_cleanup_free_ char *dir = remote_config_dir();
	struct placement pl;
	char err[768] = "";
	uint64_t start = mono_ms();
	int ret = EXIT_CONN_LOST;
	bool reached_none = true;

	if (pool_load(&p, o->on, dir, err, sizeof(err)) < 0) {
		mos_err("%s", err);
		return MOS_EXIT_SETUP;
	}
	/* the reports may take a quarter of -t at most */
	placement_start(
		&pl, &p,
		o->policy.limits.timeout_ms ? (unsigned)(o->policy.limits.timeout_ms / 4) + 1 : 0);
	for (size_t k = 0; k < p.n; k++) {
		struct run_opts one = *o;
		bool unreached = false;

		if (o->policy.limits.timeout_ms) {
			uint64_t used = mono_ms() - start;

			if (used >= o->policy.limits.timeout_ms) {
				mos_err("timed out (-t) before any worker of %s took the job",
					o->on);
				ret = MOS_EXIT_TIMEOUT;
				reached_none = false; /* -t is over: not here either */
				break;
			}
			one.policy.limits.timeout_ms = o->policy.limits.timeout_ms - used;
		}
		if (mos_log_level() >= MOS_LOG_INFO && p.n > 1) {
			char why[160];

			placement_describe(&pl, pl.order[k], why, sizeof(why));
			mos_info("the job goes to %s (%s)", p.w[pl.order[k]].spec, why);
		}
		ret = remote_run_on(&one, p.w[pl.order[k]].spec, &unreached);
		placement_tried(&pl, p.w[pl.order[k]].spec, unreached);
		if (!unreached) {
			reached_none = false;
			break;
		}
		if (k + 1 < p.n)
			mos_info("the worker %s could not take the job: trying the next one",
				 p.w[pl.order[k]].spec);
	}
	/* a pool (not one named worker, whose user asked for that machine)
	 * none of whose workers could be reached: the job runs here */
	if (reached_none && !o->no_local && (p.n > 1 || o->on[0] == '@')) {
		uint64_t used = mono_ms() - start;

		if (o->policy.limits.timeout_ms && used >= o->policy.limits.timeout_ms) {
			mos_err("timed out (-t) before any worker of %s took the job", o->on);
			ret = MOS_EXIT_TIMEOUT;
		} else if (local_like_remote(o) < 0) {
			ret = MOS_EXIT_SETUP;
		} else {
			mos_info("no worker could take the job: running it here");
			if (o->policy.limits.timeout_ms)
				o->policy.limits.timeout_ms -= used;
			ret = REMOTE_RUN_HERE;
		}
	}
	placement_done(&pl);
	pool_free(&p);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The worker's own report (STATUS), for `mosctl pool status`.        */

struct status_query {
	struct mos_status st;
	bool got, hello;
	uint64_t features;
};

static void status_on_frame(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload,
			    void *arg)
{
	struct status_query *q = arg;

	if (h->type == MOS_MSG_HELLO && !q->hello) {
		const char *why = wire_hello_check(payload, h->len, 2);

		q->hello = true;
		q->features = wire_hello_features(payload, h->len);
		if (why)
			conn_fail(c, why);
		else if (!(q->features & MOS_FEAT_STATUS))
			conn_abort(c, "this mosd is too old to report its load (no STATUS)");
		conn_peer_keepalive(c, q->features & MOS_FEAT_KEEPALIVE);
	}
	free(payload);
}

static int status_reply(void *arg, const struct mos_frame_hdr *h, const uint8_t *payload,
			size_t len)
{
	struct status_query *q = arg;

	(void)h;
	if (len != sizeof(q->st))
		return -EPROTO;
	memcpy(&q->st, payload, sizeof(q->st));
	q->got = true;
	return 0;
}

static bool status_deadline(struct conn *c, int fd, uint32_t revents, void *arg)
{
	(void)fd;
	(void)revents;
	(void)arg;
	conn_abort(c, "no answer in time");
	return false;
}

static void *status_loop(void *arg)
{
	conn_run(arg);
	return NULL;
}

int remote_worker_status(const char *worker, unsigned timeout_ms, struct mos_status *st,
			 uint64_t *rtt_us, char *err, size_t errlen)
{
	struct status_query q = { 0 };
	struct mos_identity *id = NULL;
	struct tls_channel *tls = NULL;
	struct wire_buf b = { 0 };
	struct conn *c;
	pthread_t loop;
	pid_t helper = 0;
	int fd, clock = -1, r;

	err[0] = '\0';
	fd = connect_worker(worker, timeout_ms, &helper, &tls, &id, err, errlen);
	if (fd < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s", strerror(-fd));
		return fd;
	}
	c = conn_new(fd, fd, tls, status_on_frame, &q);
	conn_set_timeouts(c, timeout_ms, timeout_ms);
	r = conn_handshake(c);
	if (r < 0) {
		snprintf(err, errlen, "%s", conn_error(c));
		goto out;
	}
	clock = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (clock >= 0) {
		arm_clock(clock, timeout_ms);
		conn_watch(c, clock, POLLIN, status_deadline, NULL);
	}
	wire_hello_build(&b, 1);
	conn_send(c, &b);
	if (pthread_create(&loop, NULL, status_loop, c) != 0) {
		r = -EAGAIN;
		snprintf(err, errlen, "cannot start a thread");
		goto out;
	}
	{
		struct timespec a, z;

		clock_gettime(CLOCK_MONOTONIC, &a);
		wire_buf_start(&b, MOS_MSG_STATUS, 0, 0);
		r = conn_call(c, &b, status_reply, &q);
		clock_gettime(CLOCK_MONOTONIC, &z);
		*rtt_us = (uint64_t)(z.tv_sec - a.tv_sec) * 1000000 +
			  (uint64_t)(z.tv_nsec - a.tv_nsec) / 1000;
	}
	if (r < 0 || !q.got) {
		snprintf(err, errlen, "%s", *conn_error(c) ? conn_error(c) : strerror(-r));
		if (q.hello && !(q.features & MOS_FEAT_STATUS))
			r = -EOPNOTSUPP;
		else if (r >= 0)
			r = -EPROTO;
	} else {
		*st = q.st;
	}
	conn_stop(c);
	pthread_join(loop, NULL);
out:
	conn_free(c);
	closep(&clock);
	if (id)
		mos_identity_free(id);
	if (helper > 0)
		reap_helper(helper);
	return r < 0 ? r : 0;
}
