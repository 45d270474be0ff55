// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent.c - `mosctl agent`: the sessions' relay (agent.h).
 *
 * One thread runs a poll(2) loop over the listening socket, the jobs'
 * streams (clients), the sessions' worker streams (links, TLS or the pipe
 * of an embedded or ssh-started mosd) and each session's inotify watches.
 * Opening a new link (connect, TLS handshake, HELLO) takes a thread of its
 * own, bounded by LINK_OPEN_MS, so that no other session waits on it.
 *
 * A session's link is a client's for one job, from AGENT_OPEN to the
 * client's AGENT_WATCHES after EXIT; then it is idle until the next job of
 * the same worker and key.  Anything else (the client gone before the
 * handover, a frame out of place, the worker silent past LINK_SILENT_MS)
 * ends the link: the worker then kills what runs there, as when a mosctl
 * dies.  Nothing is read from a side whose other side has more than
 * RELAY_HIGH bytes queued, so a stalled peer stalls only its own session.
 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "connect.h"
#include "log.h"
#include "strmap.h"
#include "tls_channel.h"
#include "util.h"
#include "watch.h"
#include "wire.h"

#define LINK_OPEN_MS 15000   /* connect, handshake and HELLO of a new link, at most */
#define LINK_IDLE_MS 60000   /* an idle session is closed after this */
#define LINK_PING_MS 15000   /* a quiet worker is sent PING after this */
#define LINK_SILENT_MS 60000 /* ... and is gone after this without a frame */
#define CLIENT_OPEN_MS 10000 /* a client's AGENT_OPEN, and its handover after EXIT, within this */
#define RELAY_HIGH (8U << 20)
#define IDLE_LINKS_MAX 16	/* idle sessions per worker and key */
#define HANDOVER_MAX (1U << 20) /* watches one job may hand over */
#define PENDING_MAX 4096	/* paths to invalidate held for a session; past it, "/" */

struct outbuf {
	uint8_t *p;
	size_t len, off;
};

struct client;

struct link {
	struct link *next;
	char *worker, *key;
	uint64_t features; /* the origin features its worker was told */
	int fd;
	struct tls_channel *tls;
	struct mos_identity *id;
	pid_t helper;
	struct frame_asm fa;
	struct outbuf out;
	uint8_t hello[sizeof(struct mos_hello)]; /* the worker's */
	struct client *client;			 /* the job it serves now, or NULL */
	unsigned jobs;
	struct watch_set *ws; /* what the worker keeps, watched */
	bool unwatched;	      /* a watch could not be added: nothing may be kept */
	/* what changed since the worker last heard, each path once: sent
	 * before its next job (PENDING_MAX paths, then "/" for all) */
	struct strmap pending;
	bool pending_all;
	uint64_t last_rx, last_ping, idle_since;
	uint32_t ping_seq;
	bool dead;
};

enum client_state { C_OPEN, C_WAIT, C_RELAY, C_EXITED, C_DONE };

struct client {
	struct client *next;
	int fd;
	pid_t pid;
	enum client_state st;
	struct frame_asm fa;
	struct outbuf out;
	struct link *link;
	char *worker, *key;
	uint64_t features;
	bool job_begun;
	int passed_fd;		    /* an fd that came with SCM_RIGHTS, or -1 */
	struct watch_set *handover; /* AGENT_WATCHES so far */
	size_t npairs;
	uint64_t since; /* connected, and from EXIT on: since the EXIT */
	bool dead;
};

/* A link being opened by its thread; written to the loop's pipe when done. */
struct opening {
	char *worker, *key;
	uint64_t features;
	int fd;
	struct tls_channel *tls;
	struct mos_identity *id;
	pid_t helper;
	uint8_t hello[sizeof(struct mos_hello)];
	int err;
	char why[512];
	int pipe_w;
};

static struct link *links;
static struct client *clients;

/* ------------------------------------------------------------------ */
/* Bytes out                                                           */

static void out_add(struct outbuf *o, const void *p, size_t n)
{
	if (o->off && o->off == o->len)
		o->off = o->len = 0;
	o->p = xrealloc(o->p, o->len + n);
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static size_t out_pending(const struct outbuf *o)
{
	return o->len - o->off;
}

/* Write what is queued; false when the stream is broken. */
static bool out_flush(struct outbuf *o, int fd)
{
	while (o->off < o->len) {
		ssize_t n = send(fd, o->p + o->off, o->len - o->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, o->p + o->off, o->len - o->off);
		if (n <= 0)
			return n < 0 && errno == EAGAIN;
		o->off += (size_t)n;
	}
	o->off = o->len = 0;
	return true;
}

static void frame_bytes(struct wire_buf *b, uint8_t type, uint16_t flags, uint32_t id,
			const void *payload, size_t len)
{
	wire_buf_start(b, type, flags, id);
	if (len)
		wire_put(b, payload, len);
	wire_buf_finish(b);
}

static void client_send(struct client *c, uint8_t type, uint16_t flags, uint32_t id,
			const void *payload, size_t len)
{
	struct wire_buf b = { 0 };

	frame_bytes(&b, type, flags, id, payload, len);
	out_add(&c->out, b.p, b.len);
	wire_buf_free(&b);
}

static void client_error(struct client *c, int err, const char *msg)
{
	struct wire_buf b = { 0 };
	struct mos_error e = { .err = err };

	wire_buf_start(&b, MOS_MSG_ERROR, 0, 0);
	wire_put(&b, &e, sizeof(e));
	wire_put_str(&b, msg);
	wire_buf_finish(&b);
	out_add(&c->out, b.p, b.len);
	wire_buf_free(&b);
}

static void link_send_raw(struct link *l, const uint8_t *frame, size_t len)
{
	if (l->tls) {
		uint8_t buf[65536];
		size_t n;

		if (tls_channel_write(l->tls, frame, len) < 0) {
			l->dead = true;
			return;
		}
		while ((n = tls_channel_take(l->tls, buf, sizeof(buf))) > 0)
			out_add(&l->out, buf, n);
	} else {
		out_add(&l->out, frame, len);
	}
}

static void link_send(struct link *l, uint8_t type, uint16_t flags, uint32_t id,
		      const void *payload, size_t len)
{
	struct wire_buf b = { 0 };

	frame_bytes(&b, type, flags, id, payload, len);
	link_send_raw(l, b.p, b.len);
	wire_buf_free(&b);
}

static void send_invalidate(struct link *l, const char *path)
{
	struct wire_buf b = { 0 };

	wire_buf_start(&b, MOS_MSG_INVALIDATE, 0, 0);
	wire_put_str(&b, path);
	if (wire_buf_finish(&b))
		link_send_raw(l, b.p, b.len);
	wire_buf_free(&b);
}

static void pending_clear(struct link *l)
{
	strmap_free(&l->pending);
	l->pending = (struct strmap){ 0 };
}

/*
 * PATH may have changed: held, once, until the worker's next job (the
 * worker applies them only between jobs anyway), so that a file rewritten
 * a million times while the session idles costs one frame, and what the
 * agent holds is bounded.
 */
static void invalidate_cb(const char *path, void *arg)
{
	struct link *l = arg;

	if (l->pending_all)
		return;
	if (!strcmp(path, "/") || l->pending.n >= PENDING_MAX) {
		l->pending_all = true;
		pending_clear(l);
		return;
	}
	strmap_add_str(&l->pending, path, 0, NULL);
}

/* Read what the watches say into the pending set. */
static void link_watch_drain(struct link *l)
{
	if (l->ws && watch_set_drain(l->ws, invalidate_cb, l) < 0)
		invalidate_cb("/", l);
}

/* What changed since the worker saw it, to the worker now (before a job). */
static void link_invalidate(struct link *l)
{
	link_watch_drain(l);
	if (l->pending_all) {
		send_invalidate(l, "/");
	} else {
		for (size_t i = 0; i < l->pending.cap; i++)
			if (l->pending.slots[i].key)
				send_invalidate(l, l->pending.slots[i].key);
	}
	pending_clear(l);
	l->pending_all = false;
}

/* ------------------------------------------------------------------ */
/* Opening a link                                                      */

static int io_wait(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now = mono_ms();
	int r;

	if (now >= deadline)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)(deadline - now));
	return r > 0 ? 0 : r == 0 ? -ETIMEDOUT : -errno;
}

/* Plain bytes to the worker during the opening (blocking, bounded). */
static int open_write(struct opening *op, const uint8_t *p, size_t n, uint64_t deadline)
{
	uint8_t buf[65536];

	if (op->tls) {
		if (tls_channel_write(op->tls, p, n) < 0)
			return -EPROTO;
		while ((n = tls_channel_take(op->tls, buf, sizeof(buf))) > 0) {
			if (io_wait(op->fd, POLLOUT, deadline) < 0 || write_all(op->fd, buf, n) < 0)
				return -EPIPE;
		}
		return 0;
	}
	return write_all(op->fd, p, n) < 0 ? -EPIPE : 0;
}

/* Exactly N plain bytes from the worker during the opening. */
static int open_read(struct opening *op, uint8_t *p, size_t n, uint64_t deadline)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r;

		if (op->tls) {
			r = tls_channel_read(op->tls, p + got, n - got);
			if (r > 0) {
				got += (size_t)r;
				continue;
			}
			if (r == 0)
				return -ECONNRESET;
			if (r != -EAGAIN)
				return -EPROTO;
		}
		if (io_wait(op->fd, POLLIN, deadline) < 0)
			return -ETIMEDOUT;
		if (op->tls) {
			uint8_t buf[16384];

			r = read(op->fd, buf, sizeof(buf));
			if (r <= 0)
				return -ECONNRESET;
			tls_channel_feed(op->tls, buf, (size_t)r);
		} else {
			r = read(op->fd, p + got, n - got);
			if (r <= 0)
				return -ECONNRESET;
			got += (size_t)r;
		}
	}
	return 0;
}

static int open_handshake(struct opening *op, uint64_t deadline)
{
	for (;;) {
		uint8_t buf[16384];
		size_t n;
		int r = tls_channel_handshake(op->tls);

		while ((n = tls_channel_take(op->tls, buf, sizeof(buf))) > 0)
			if (write_all(op->fd, buf, n) < 0)
				return -EPIPE;
		if (r == 0)
			return 0;
		if (r != -EAGAIN) {
			snprintf(op->why, sizeof(op->why), "TLS handshake with %s failed: %s",
				 op->worker, tls_channel_error(op->tls));
			return r;
		}
		if (io_wait(op->fd, POLLIN, deadline) < 0)
			return -ETIMEDOUT;
		ssize_t got = read(op->fd, buf, sizeof(buf));

		if (got <= 0)
			return -ECONNRESET;
		tls_channel_feed(op->tls, buf, (size_t)got);
	}
}

static void *open_thread(void *arg)
{
	struct opening *op = arg;
	uint64_t deadline = mono_ms() + LINK_OPEN_MS;
	struct mos_hello he = { .magic = MOS_PROTO_MAGIC,
				.version = MOS_PROTO_VERSION,
				.role = 1,
				.features = op->features | MOS_FEAT_SESSION | MOS_FEAT_KEEPALIVE };
	struct wire_buf b = { 0 };
	struct mos_frame_hdr h;
	const char *why;
	int r;

	op->fd = connect_worker(op->worker, LINK_OPEN_MS, &op->helper, &op->tls, &op->id, op->why,
				sizeof(op->why));
	if (op->fd < 0) {
		op->err = -op->fd;
		goto done;
	}
	r = op->tls ? open_handshake(op, deadline) : 0;
	if (r == 0) {
		frame_bytes(&b, MOS_MSG_HELLO, 0, 0, &he, sizeof(he));
		r = open_write(op, b.p, b.len, deadline);
		wire_buf_free(&b);
	}
	if (r == 0)
		r = open_read(op, (uint8_t *)&h, sizeof(h), deadline);
	if (r == 0 && (wire_hdr_check(&h) || h.type != MOS_MSG_HELLO || h.len != sizeof(op->hello)))
		r = -EPROTO;
	if (r == 0)
		r = open_read(op, op->hello, sizeof(op->hello), deadline);
	if (r == 0 && (why = wire_hello_check(op->hello, sizeof(op->hello), 2))) {
		snprintf(op->why, sizeof(op->why), "%s: %s", op->worker, why);
		r = -EPROTO;
	}
	if (r == 0 && !(wire_hello_features(op->hello, sizeof(op->hello)) & MOS_FEAT_SESSION)) {
		snprintf(op->why, sizeof(op->why), "the worker %s is too old for sessions",
			 op->worker);
		r = -EOPNOTSUPP;
	}
	if (r < 0) {
		op->err = -r;
		if (!op->why[0])
			snprintf(op->why, sizeof(op->why), "cannot reach the worker %s: %s",
				 op->worker, strerror(-r));
	}
done:
	(void)!write(op->pipe_w, &op, sizeof(op));
	return NULL;
}

static void link_free(struct link *l)
{
	if (l->client)
		l->client->dead = true; /* its job's stream is gone with the worker */
	if (l->fd >= 0)
		close(l->fd);
	tls_channel_free(l->tls);
	if (l->id)
		mos_identity_free(l->id);
	if (l->helper > 0)
		kill(l->helper, SIGTERM); /* reaped by the loop */
	frame_asm_free(&l->fa);
	free(l->out.p);
	watch_set_free(l->ws);
	pending_clear(l);
	free(l->worker);
	free(l->key);
	free(l);
}

/* ------------------------------------------------------------------ */
/* The peers allowed: this user, in our namespaces, confined no more.  */

static bool status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			snprintf(out, len, "%s", line + klen + 1);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

/*
 * A job that talks to us could otherwise do through us what it cannot
 * itself: reach a worker from a sandbox without network, or from another
 * mount namespace make us watch what it does not see.  So the peer must be
 * this user, in our user, mount, network and pid namespaces, with the same
 * no_new_privs and seccomp state (a sandboxed process has a filter more).
 * Its pidfd (SO_PEERPIDFD) says the process checked is the one connected.
 */
static const char *peer_refused(int fd, pid_t *pidp)
{
	static const char *const ns[] = { "mnt", "net", "user", "pid" };
	static const char *const fields[] = { "NoNewPrivs", "Seccomp", "Seccomp_filters" };
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int pidfd = -1;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != geteuid())
		return "another user";
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
	len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = -1;
	*pidp = cr.pid;
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		char a[64], b[64];
		struct stat sa, sb;

		snprintf(a, sizeof(a), "/proc/self/ns/%s", ns[i]);
		snprintf(b, sizeof(b), "/proc/%d/ns/%s", (int)cr.pid, ns[i]);
		if (stat(a, &sa) < 0 || stat(b, &sb) < 0 || sa.st_ino != sb.st_ino ||
		    sa.st_dev != sb.st_dev) {
			closep(&pidfd);
			return "a process in other namespaces";
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		char mine[64] = "", theirs[64] = "";

		status_field(getpid(), fields[i], mine, sizeof(mine));
		if (!status_field(cr.pid, fields[i], theirs, sizeof(theirs)) ||
		    strcmp(mine, theirs)) {
			closep(&pidfd);
			return "a confined process (no_new_privs or seccomp differ from the "
			       "agent's)";
		}
	}
	/* the process read above is still the peer (no pid reuse) */
	if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
		closep(&pidfd);
		return "a process that went away";
	}
	closep(&pidfd);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Clients                                                             */

static void client_bind(struct client *c, struct link *l)
{
	struct mos_agent_ready rd = { .flags = l->jobs ? MOS_AGENT_WARM : 0, .jobs = l->jobs };

	c->link = l;
	l->client = c;
	c->st = C_RELAY;
	client_send(c, MOS_MSG_AGENT_READY, 0, 0, &rd, sizeof(rd));
}

static struct link *idle_link(const char *worker, const char *key, uint64_t features)
{
	for (struct link *l = links; l; l = l->next)
		if (!l->dead && !l->client && l->features == features &&
		    !strcmp(l->worker, worker) && !strcmp(l->key, key))
			return l;
	return NULL;
}

static int open_pipe_w = -1;

static void client_open(struct client *c, const uint8_t *payload, size_t len)
{
	struct wire_reader rd;
	struct mos_agent_open ao;
	struct link *l;
	struct opening *op;
	pthread_t t;
	pthread_attr_t attr;

	wire_reader_init(&rd, payload, len);
	if (!wire_get(&rd, &ao, sizeof(ao)) || !wire_get_str(&rd, &c->worker, 1024) ||
	    !wire_get_str(&rd, &c->key, 4096) || !wire_end(&rd)) {
		c->dead = true;
		return;
	}
	c->features = ao.features & ~(uint64_t)MOS_FEAT_SESSION;
	l = idle_link(c->worker, c->key, c->features);
	if (l) {
		client_bind(c, l);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->worker = xstrdup(c->worker);
	op->key = xstrdup(c->key);
	op->features = c->features;
	op->fd = -1;
	op->pipe_w = open_pipe_w;
	c->st = C_WAIT;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, open_thread, op) != 0) {
		client_error(c, EAGAIN, "the agent cannot start a thread");
		c->st = C_DONE;
		free(op->worker);
		free(op->key);
		free(op);
	}
	pthread_attr_destroy(&attr);
}

/* A link opened (or not): to the first client waiting for one like it. */
static void on_opened(struct opening *op)
{
	struct client *c;
	struct link *l;

	for (c = clients; c; c = c->next)
		if (c->st == C_WAIT && !c->dead && c->features == op->features &&
		    !strcmp(c->worker, op->worker) && !strcmp(c->key, op->key))
			break;
	if (op->err) {
		if (op->fd >= 0)
			close(op->fd);
		tls_channel_free(op->tls);
		if (op->id)
			mos_identity_free(op->id);
		if (op->helper > 0)
			kill(op->helper, SIGTERM);
		/* every client waiting for this worker hears it */
		for (c = clients; c; c = c->next) {
			if (c->st != C_WAIT || strcmp(c->worker, op->worker))
				continue;
			client_error(c, op->err == EOPNOTSUPP ? EOPNOTSUPP : EHOSTUNREACH, op->why);
			c->st = C_DONE;
		}
		goto out;
	}
	l = xcalloc(1, sizeof(*l));
	l->worker = xstrdup(op->worker);
	l->key = xstrdup(op->key);
	l->features = op->features;
	l->fd = op->fd;
	l->tls = op->tls;
	l->id = op->id;
	l->helper = op->helper;
	memcpy(l->hello, op->hello, sizeof(l->hello));
	l->ws = watch_set_new();
	l->unwatched = !l->ws;
	l->last_rx = l->idle_since = mono_ms();
	fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK);
	l->next = links;
	links = l;
	if (c)
		client_bind(c, l);
out:
	free(op->worker);
	free(op->key);
	free(op);
}

/* The job's watches, after its EXIT: watched on by the session. */
static void client_watches(struct client *c, const struct mos_frame_hdr *h, const uint8_t *payload)
{
	struct link *l = c->link;
	struct wire_reader rd;
	struct mos_agent_watches aw;

	wire_reader_init(&rd, payload, h->len);
	if (!wire_get(&rd, &aw, sizeof(aw)) || aw.n > h->len) {
		c->dead = true;
		return;
	}
	if (!c->handover) {
		/* the job's inotify descriptor came with the first frame; without
		 * it, what changed while the job ran is unknown */
		if (c->passed_fd < 0)
			invalidate_cb("/", l);
		c->handover = watch_set_adopt(c->passed_fd, NULL, NULL, 0);
		c->passed_fd = -1;
	}
	if (aw.failures)
		l->unwatched = true;
	c->npairs += aw.n;
	if (c->npairs > HANDOVER_MAX) {
		c->dead = true; /* more than any job reads: not a job's */
		return;
	}
	for (uint32_t i = 0; i < aw.n; i++) {
		int32_t wd;
		_cleanup_free_ char *path = NULL;

		if (!wire_get(&rd, &wd, sizeof(wd)) || !wire_get_str(&rd, &path, MOS_PATH_MAX) ||
		    path[0] != '/') {
			c->dead = true;
			return;
		}
		/* ours first, on the same path: a change from now on is ours to
		 * see; one before is in the job's queue, read below */
		if (!l->unwatched && l->ws && watch_set_add_path(l->ws, path) < 0)
			invalidate_cb(path, l);	       /* gone already, or not watchable: dropped */
		watch_set_note(c->handover, wd, path); /* the job's events name it */
	}
	if (h->flags & MOS_F_MORE)
		return;
	/* the job's queue: what changed before our watches were there */
	if (c->handover)
		watch_set_drain(c->handover, invalidate_cb, l);
	if (l->unwatched)
		invalidate_cb("/", l);
	watch_set_free(c->handover);
	c->handover = NULL;
	l->jobs++;
	l->client = NULL;
	l->idle_since = mono_ms();
	c->link = NULL;
	c->st = C_DONE;
}

/* A frame from the job's mosctl. */
static void on_client_frame(struct client *c, const struct mos_frame_hdr *h, uint8_t *payload)
{
	struct link *l = c->link;

	if (h->type == MOS_MSG_PING) {
		if (!(h->flags & MOS_F_REPLY))
			client_send(c, MOS_MSG_PING, MOS_F_REPLY, h->id, NULL, 0);
		return;
	}
	switch (c->st) {
	case C_OPEN:
		if (h->type != MOS_MSG_AGENT_OPEN) {
			c->dead = true;
			return;
		}
		client_open(c, payload, h->len);
		return;
	case C_WAIT:
	case C_DONE:
		c->dead = true; /* nothing is due from it now */
		return;
	case C_RELAY:
	case C_EXITED:
		break;
	}
	if (h->type == MOS_MSG_HELLO) {
		/* the session's worker said its HELLO once: each job hears it */
		client_send(c, MOS_MSG_HELLO, 0, 0, l->hello, sizeof(l->hello));
		return;
	}
	if (h->type == MOS_MSG_AGENT_WATCHES) {
		if (c->st != C_EXITED)
			c->dead = true;
		else
			client_watches(c, h, payload);
		return;
	}
	if (h->type >= MOS_MSG_AGENT_OPEN && h->type <= MOS_MSG_AGENT_WATCHES) {
		c->dead = true;
		return;
	}
	if (!c->job_begun && (h->type == MOS_MSG_JOB || h->type == MOS_MSG_PRELOAD_LISTDIR ||
			      h->type == MOS_MSG_PRELOAD_OPEN)) {
		/* before the job: whatever changed here since the worker saw it */
		c->job_begun = true;
		if (l->unwatched)
			invalidate_cb("/", l);
		link_invalidate(l);
	}
	link_send(l, h->type, h->flags, h->id, payload, h->len);
}

/* A frame from a session's worker. */
static void on_link_frame(struct link *l, const struct mos_frame_hdr *h, uint8_t *payload)
{
	struct client *c = l->client;

	if (h->type == MOS_MSG_PING) {
		if (!(h->flags & MOS_F_REPLY))
			link_send(l, MOS_MSG_PING, MOS_F_REPLY, h->id, NULL, 0);
		return;
	}
	if (!c || (c->st != C_RELAY && c->st != C_EXITED)) {
		l->dead = true; /* nothing is due from it between jobs */
		return;
	}
	if (h->type == MOS_MSG_EXIT) {
		c->st = C_EXITED;
		c->since = mono_ms(); /* its handover is due now */
	}
	client_send(c, h->type, h->flags, h->id, payload, h->len);
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

static void client_read(struct client *c)
{
	uint8_t buf[65536];
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	size_t off = 0;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			/* one descriptor, an inotify one, with the handover only */
			if (c->passed_fd >= 0 || c->st != C_EXITED || !watch_fd_is_inotify(fd)) {
				close(fd);
				c->dead = true;
			} else {
				c->passed_fd = fd;
			}
		}
	}
	if (n <= 0) {
		c->dead = true;
		return;
	}
	while (off < (size_t)n && !c->dead) {
		struct mos_frame_hdr h;
		uint8_t *payload = NULL;
		bool done = false;

		off += frame_asm_feed(&c->fa, buf + off, (size_t)n - off, &done, &h, &payload);
		if (c->fa.why) {
			c->dead = true;
			break;
		}
		if (done) {
			on_client_frame(c, &h, payload);
			free(payload);
		}
	}
}

static void link_frames(struct link *l, const uint8_t *buf, size_t n)
{
	size_t off = 0;

	while (off < n && !l->dead) {
		struct mos_frame_hdr h;
		uint8_t *payload = NULL;
		bool done = false;

		off += frame_asm_feed(&l->fa, buf + off, n - off, &done, &h, &payload);
		if (l->fa.why) {
			l->dead = true;
			break;
		}
		if (done) {
			on_link_frame(l, &h, payload);
			free(payload);
		}
	}
}

static void link_read(struct link *l)
{
	uint8_t buf[65536];
	ssize_t n = read(l->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		l->dead = true;
		return;
	}
	l->last_rx = mono_ms();
	if (!l->tls) {
		link_frames(l, buf, (size_t)n);
		return;
	}
	if (tls_channel_feed(l->tls, buf, (size_t)n) < 0) {
		l->dead = true;
		return;
	}
	for (;;) {
		uint8_t plain[65536];
		ssize_t m = tls_channel_read(l->tls, plain, sizeof(plain));
		size_t k;

		while ((k = tls_channel_take(l->tls, buf, sizeof(buf))) > 0)
			out_add(&l->out, buf, k);
		if (m == -EAGAIN)
			break;
		if (m <= 0) {
			l->dead = true;
			break;
		}
		link_frames(l, plain, (size_t)m);
	}
}

static void client_free(struct client *c)
{
	if (c->link) {
		/* gone before the handover: what the worker keeps may be stale,
		 * and its job is ended with the link */
		c->link->client = NULL;
		c->link->dead = true;
	}
	close(c->fd);
	closep(&c->passed_fd);
	frame_asm_free(&c->fa);
	free(c->out.p);
	watch_set_free(c->handover);
	free(c->worker);
	free(c->key);
	free(c);
}

static void accept_client(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	const char *why;
	struct client *c;
	pid_t pid = 0;

	if (fd < 0)
		return;
	why = peer_refused(fd, &pid);
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->pid = pid;
	c->passed_fd = -1;
	c->since = mono_ms();
	c->next = clients;
	clients = c;
	if (why) {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "the agent serves only its own user's unconfined processes "
			 "in its namespaces, not %s",
			 why);
		mos_warn("refused a client (pid %d): %s", (int)pid, why);
		client_error(c, EPERM, msg);
		c->st = C_DONE;
	}
}

/* Idle sessions past their time, quiet workers pinged, the dead freed. */
static void tick(void)
{
	uint64_t now = mono_ms();

	for (struct link *l = links; l; l = l->next) {
		if (l->dead)
			continue;
		if (!l->client && now - l->idle_since > LINK_IDLE_MS)
			l->dead = true;
		else if (now - l->last_rx > LINK_SILENT_MS)
			l->dead = true;
		else if (now - l->last_rx > LINK_PING_MS && now - l->last_ping > LINK_PING_MS) {
			l->last_ping = now;
			if (!++l->ping_seq)
				l->ping_seq = 1;
			link_send(l, MOS_MSG_PING, 0, l->ping_seq, NULL, 0);
		}
	}
	for (struct client *c = clients; c; c = c->next)
		if ((c->st == C_OPEN || c->st == C_EXITED) && now - c->since > CLIENT_OPEN_MS)
			c->dead = true; /* AGENT_OPEN, or the handover after EXIT, not in time */
	for (struct link **lp = &links, *l; (l = *lp);) {
		if (!l->dead) {
			lp = &l->next;
			continue;
		}
		*lp = l->next;
		if (l->client) {
			l->client->link = NULL;
			l->client->dead = true;
		}
		l->client = NULL;
		link_free(l);
	}
	for (struct client **cp = &clients, *c; (c = *cp);) {
		/* a client done with is dropped once its answer is out */
		if (!c->dead && !(c->st == C_DONE && !out_pending(&c->out))) {
			cp = &c->next;
			continue;
		}
		*cp = c->next;
		client_free(c);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		; /* the embedded and ssh mosds of ended links */
}

/* Too many idle sessions of one kind: the oldest go. */
static void trim_idle(void)
{
	for (struct link *a = links; a; a = a->next) {
		unsigned same = 0;

		if (a->dead || a->client)
			continue;
		for (struct link *b = a->next; b; b = b->next)
			if (!b->dead && !b->client && !strcmp(a->worker, b->worker) &&
			    !strcmp(a->key, b->key) && ++same >= IDLE_LINKS_MAX)
				b->dead = true;
	}
}

/* Whether FD is the file at PATH now (not one unlinked since it was opened). */
static bool still_at(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/*
 * The lock of SOCK, held: 0 with *LOCKFD, -EALREADY when a live agent
 * holds it.  A lock file a sweep (sweep_stale) unlinked while we held it
 * open is not the lock any more: open the path's again.  A sweep holds a
 * lock for a moment only: a busy one is tried again for a while before it
 * is taken for a live agent's.
 */
static int take_lock(const char *lock, int *lockfd)
{
	for (int tries = 0; tries < 50; tries++) {
		*lockfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*lockfd < 0)
			return -errno;
		if (flock(*lockfd, LOCK_EX | LOCK_NB) == 0) {
			if (still_at(*lockfd, lock))
				return 0;
		} else if (errno != EWOULDBLOCK) {
			return -errno;
		} else if (tries >= 5 && still_at(*lockfd, lock)) {
			return -EALREADY; /* another agent serves it */
		}
		closep(lockfd);
		usleep(10000);
	}
	return -EALREADY;
}

/*
 * Remove what dead agents left beside SOCK: every other agent-*.sock whose
 * .lock no process holds (an agent holds its lock for its whole life; one
 * killed leaves both files behind, one per configuration it served).  The
 * lock is held while both are unlinked, so no agent starting meanwhile can
 * take it for its own (take_lock sees it gone and opens the path anew).
 */
static void sweep_stale(const char *sock)
{
	const char *slash = strrchr(sock, '/');
	_cleanup_free_ char *dir = slash ? xstrndup(sock, (size_t)(slash - sock)) : xstrdup(".");
	const char *own = slash ? slash + 1 : sock;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char name[256];
		struct stat st;
		int fd;

		if (strncmp(de->d_name, "agent-", 6) || len < 10 || len >= sizeof(name) ||
		    strcmp(de->d_name + len - 10, ".sock.lock"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name);
		if (!strcmp(name, own))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
				unlinkat(dirfd(d), name, 0);
			unlinkat(dirfd(d), de->d_name, 0);
			mos_info("removed %s/%s, a dead agent's", dir, name);
		}
		close(fd);
	}
	closedir(d);
}

static int listen_on(const char *sock, int *lockfd)
{
	_cleanup_free_ char *lock = xasprintf("%s.lock", sock);
	struct sockaddr_un a;
	int fd, dirfd, r;

	r = take_lock(lock, lockfd);
	if (r < 0)
		return r;
	sweep_stale(sock);
	r = agent_sockaddr(sock, &a, &dirfd);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		closep(&dirfd);
		return -errno;
	}
	unlink(sock); /* a dead agent's: the lock says none lives */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(sock, 0600) < 0 ||
	    listen(fd, 128) < 0) {
		int e = errno;

		close(fd);
		closep(&dirfd);
		return -e;
	}
	closep(&dirfd);
	return fd;
}

int agent_serve(const char *sock, unsigned idle_s)
{
	int lockfd = -1, lfd, pp[2];
	uint64_t last_busy = mono_ms();
	struct stat mine;

	lfd = listen_on(sock, &lockfd);
	if (lfd == -EALREADY) {
		closep(&lockfd);
		return 0;
	}
	if (lfd < 0) {
		mos_err("cannot listen on %s: %s", sock, strerror(-lfd));
		closep(&lockfd);
		return 1;
	}
	if (stat(sock, &mine) < 0 || pipe2(pp, O_CLOEXEC | O_NONBLOCK) < 0) {
		mos_err("cannot set up the agent: %s", strerror(errno));
		return 1;
	}
	open_pipe_w = pp[1];
	signal(SIGPIPE, SIG_IGN);
	mos_info("agent listening on %s", sock);
	for (;;) {
		enum { K_CLIENT, K_LINK, K_WATCH } * kind;
		struct pollfd *p;
		void **who;
		size_t n = 2, k = 0;
		struct stat now_st;
		int r;

		for (struct client *c = clients; c; c = c->next)
			n++;
		for (struct link *l = links; l; l = l->next)
			n += 2;
		p = xcalloc(n, sizeof(*p));
		who = xcalloc(n, sizeof(*who));
		kind = xcalloc(n, sizeof(*kind));
		p[k++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		p[k++] = (struct pollfd){ .fd = pp[0], .events = POLLIN };
		for (struct client *c = clients; c; c = c->next) {
			short ev = 0;

			/* its worker's queue too full: read no more from it */
			if (!(c->link && out_pending(&c->link->out) > RELAY_HIGH))
				ev |= POLLIN;
			if (out_pending(&c->out))
				ev |= POLLOUT;
			who[k] = c;
			kind[k] = K_CLIENT;
			p[k++] = (struct pollfd){ .fd = c->fd, .events = ev };
		}
		for (struct link *l = links; l; l = l->next) {
			short ev = 0;

			if (!(l->client && out_pending(&l->client->out) > RELAY_HIGH))
				ev |= POLLIN;
			if (out_pending(&l->out))
				ev |= POLLOUT;
			who[k] = l;
			kind[k] = K_LINK;
			p[k++] = (struct pollfd){ .fd = l->fd, .events = ev };
			who[k] = l;
			kind[k] = K_WATCH;
			p[k++] = (struct pollfd){ .fd = l->ws ? watch_set_fd(l->ws) : -1,
						  .events = POLLIN };
		}
		r = poll(p, k, 1000);
		if (r < 0 && errno != EINTR) {
			mos_err("poll: %s", strerror(errno));
			free(p);
			free(who);
			free(kind);
			return 1;
		}
		/* (nothing is freed before tick(): every pointer here is good) */
		for (size_t i = 2; r > 0 && i < k; i++) {
			short re = p[i].revents;

			if (!re)
				continue;
			if (kind[i] == K_CLIENT) {
				struct client *c = who[i];

				if (!c->dead && (re & POLLOUT) && !out_flush(&c->out, c->fd))
					c->dead = true;
				if (!c->dead && (re & (POLLIN | POLLHUP | POLLERR)))
					client_read(c);
			} else if (kind[i] == K_LINK) {
				struct link *l = who[i];

				if (!l->dead && (re & POLLOUT) && !out_flush(&l->out, l->fd))
					l->dead = true;
				if (!l->dead && (re & (POLLIN | POLLHUP | POLLERR)))
					link_read(l);
			} else {
				struct link *l = who[i];

				if (!l->dead)
					link_watch_drain(l); /* held until its next job */
			}
		}
		if (r > 0 && (p[0].revents & POLLIN))
			accept_client(lfd);
		if (r > 0 && (p[1].revents & POLLIN)) {
			struct opening *op;

			while (read(pp[0], &op, sizeof(op)) == sizeof(op))
				on_opened(op);
		}
		free(p);
		free(who);
		free(kind);
		/* what the frames above queued goes out now, not at the next poll */
		for (struct client *c = clients; c; c = c->next)
			if (out_pending(&c->out) && !out_flush(&c->out, c->fd))
				c->dead = true;
		for (struct link *l = links; l; l = l->next)
			if (out_pending(&l->out) && !out_flush(&l->out, l->fd))
				l->dead = true;
		trim_idle();
		tick();
		if (clients || links)
			last_busy = mono_ms();
		else if (mono_ms() - last_busy > (uint64_t)idle_s * 1000)
			break;
		/* our socket replaced or removed: another agent serves now */
		if (stat(sock, &now_st) < 0 || now_st.st_ino != mine.st_ino)
			break;
	}
	for (struct link *l = links, *n; l; l = n) {
		n = l->next;
		l->client = NULL;
		link_free(l);
	}
	for (struct client *c = clients, *n; c; c = n) {
		n = c->next;
		c->link = NULL;
		client_free(c);
	}
	links = NULL;
	clients = NULL;
	{
		struct stat st;

		if (stat(sock, &st) == 0 && st.st_ino == mine.st_ino)
			unlink(sock);
	}
	close(lfd);
	closep(&lockfd);
	return 0;
}
