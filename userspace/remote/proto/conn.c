// SPDX-License-Identifier: GPL-2.0-only
/*
 * conn.c - the connection loop: io_uring reads and writes on the stream, an
 * eventfd to wake the loop when another thread queues a frame,
 * IORING_OP_POLL_ADD for the extra fds (stdio pipes, pidfds, signalfd), and
 * ring writes for the sinks.
 *
 * At most one read and one write are in flight on the stream.  Frames
 * queued by the loop thread (and before the loop runs) collect in LQ, those
 * of other threads in OQ, both under the lock; when no write is in flight
 * the loop takes whole frames, up to WCHUNK bytes (one frame at least), LQ
 * first, passes them through TLS if there is a channel, and writes them.
 * LQ first keeps the order that matters: a worker's STDOUT (loop) before
 * its EXIT (finisher thread).  The queues hold whole frames only, so that
 * conn_drop_type can take frames out of OQ that are no longer wanted (a
 * write-back the origin has dropped) without cutting one.
 *
 * Back-pressure, at the cause: what the loop queues is what the peer's
 * frames make it produce, so while LQ (and the write in flight of it) holds
 * more than CONN_BACKLOG_HIGH the loop dispatches no further frame: what it
 * has read is held (HELD), no read is submitted, and the peer's own sends
 * stall in TCP.  Frames of other threads do not count: they are our own
 * requests, bounded by CONN_PEND_MAX (their senders wait), and counting them
 * could make both ends stop reading each other.
 */
#include "conn.h"

#include <endian.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "tls_channel.h"
#include "util.h"

#define RBUF_SIZE (256U << 10)
#define WCHUNK (1U << 20)	  /* plaintext taken from the queues at a time */
#define WRITE_OP_MAX (256U << 10) /* bytes per write submitted: progress is seen at this grain */
#define RING_ENTRIES 64

/* user_data of the ring's entries: small constants, or a pointer (16-byte
 * aligned, from xcalloc) with its kind in the low bits */
enum tag { TAG_READ = 1, TAG_WRITE = 2, TAG_WAKE = 3, TAG_SYNC = 4, TAG_CANCEL = 5 };
enum { KIND_WATCH = 0, KIND_SINK_WRITE = 1, KIND_SINK_POLL = 2, KIND_MASK = 7 };

struct outq {
	uint8_t *p;
	size_t off, len, cap; /* queued bytes are p[off .. off+len) */
};

struct conn_watch {
	struct conn_watch *next;
	int fd;
	uint32_t events;
	conn_fd_fn fn;
	void *arg;
	bool armed, dead, throttle;
	bool released; /* conn_unwatch: freed once no poll is in flight */
};

struct sink_chunk {
	struct sink_chunk *next;
	int fd;
	size_t len, off;
	uint8_t data[];
};

struct conn_sink {
	struct conn_sink *next;
	conn_sink_fn fn;
	void *arg;
	struct sink_chunk *head, **tail;
	bool busy, polling, want_poll;
	int err;
};

struct call {
	struct call *next;
	uint32_t id;
	conn_reply_fn fn;
	void *arg;
	int err;
	bool done;
};

struct conn {
	int rfd, wfd, efd;
	struct tls_channel *tls;
	conn_frame_fn on_frame;
	void *arg;
	struct io_uring ring;
	bool ring_ok;
	unsigned inflight; /* entries submitted and not completed */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* calls completed, OQ drained */
	pthread_t loop_thread;
	bool in_loop;
	struct outq lq, oq;
	struct call *calls;
	uint32_t next_id;
	bool closed, stopping;
	uint64_t dropped_types; /* conn_drop_type: bit N set, frames of type N are not sent */
	atomic_bool failed;	/* ERR is set: the stream is done with */
	atomic_bool aborted;	/* conn_abort: the loop ends at once */
	atomic_bool input_held; /* conn_hold_input: dispatch no frame, read nothing */
	char err[256];

	/* loop-thread state */
	unsigned peer_ms, stall_ms;
	bool keepalive, silence_counts;
	uint64_t last_rx, last_tx, last_ping; /* CLOCK_MONOTONIC ms */
	uint32_t ping_seq;
	uint8_t *rbuf, *plain;
	const uint8_t *held; /* input read but not dispatched (into RBUF or PLAIN) */
	size_t held_len;
	bool throttled;
	bool swamped; /* more queued for the peer than it has read in a while */
	uint8_t *wbuf;
	size_t wlen, woff, wcap, w_loop; /* W_LOOP: bytes of LQ in the write in flight */
	bool write_busy, read_busy, wake_busy, peer_eof;
	uint64_t wake_val;
	struct frame_asm fa;
	struct conn_watch *watches;
	struct conn_sink *sinks;
	struct conn_stats st;
};

static void outq_put(struct outq *q, const void *data, size_t n)
{
	if (q->off + q->len + n > q->cap) {
		if (q->off) {
			memmove(q->p, q->p + q->off, q->len);
			q->off = 0;
		}
		if (q->len + n > q->cap) {
			size_t cap = q->cap ? q->cap : 65536;

			while (cap < q->len + n)
				cap *= 2;
			q->p = xrealloc(q->p, cap);
			q->cap = cap;
		}
	}
	memcpy(q->p + q->off + q->len, data, n);
	q->len += n;
}

static void outq_take(struct outq *q, size_t n)
{
	q->off += n;
	q->len -= n;
	if (q->len)
		return;
	q->off = 0;
	if (q->cap > WCHUNK) {
		/* a burst is over: give its memory back */
		free(q->p);
		q->p = NULL;
		q->cap = 0;
	}
}

struct conn *conn_new(int rfd, int wfd, struct tls_channel *tls, conn_frame_fn on_frame, void *arg)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->rfd = rfd;
	c->wfd = wfd;
	c->tls = tls;
	c->on_frame = on_frame;
	c->arg = arg;
	c->next_id = 1;
	c->ping_seq = 1;
	c->silence_counts = true;
	c->efd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->rbuf = xmalloc(RBUF_SIZE);
	c->plain = xmalloc(RBUF_SIZE);
	if (c->efd >= 0 && io_uring_queue_init(RING_ENTRIES, &c->ring, 0) == 0)
		c->ring_ok = true;
	return c;
}

/* Cancel everything in flight and wait (1 s at most) for it to complete, so
 * that no completion can write into buffers about to be freed. */
static void quiesce(struct conn *c)
{
	struct io_uring_sqe *sqe;
	uint64_t deadline = mono_ms() + 1000;

	if (!c->inflight || !(sqe = io_uring_get_sqe(&c->ring)))
		return;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, TAG_CANCEL);
	io_uring_submit(&c->ring);
	while (c->inflight) {
		struct io_uring_cqe *cqe;
		uint64_t t = mono_ms();
		struct __kernel_timespec ts;
		int r;

		if (t >= deadline)
			break;
		ts.tv_sec = (long long)((deadline - t) / 1000);
		ts.tv_nsec = (long long)((deadline - t) % 1000) * 1000000;
		r = io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts);
		if (r == -EINTR)
			continue;
		if (r < 0)
			break;
		if (io_uring_cqe_get_data64(cqe) != TAG_CANCEL)
			c->inflight--;
		io_uring_cqe_seen(&c->ring, cqe);
	}
}

void conn_free(struct conn *c)
{
	struct conn_watch *w, *wn;
	struct conn_sink *s, *sn;

	if (!c)
		return;
	if (c->ring_ok) {
		quiesce(c);
		io_uring_queue_exit(&c->ring);
	}
	for (w = c->watches; w; w = wn) {
		wn = w->next;
		free(w);
	}
	for (s = c->sinks; s; s = sn) {
		sn = s->next;
		while (s->head) {
			struct sink_chunk *k = s->head;

			s->head = k->next;
			free(k);
		}
		free(s);
	}
	closep(&c->efd);
	if (c->wfd != c->rfd)
		closep(&c->wfd);
	closep(&c->rfd);
	if (c->tls)
		tls_channel_free(c->tls);
	frame_asm_free(&c->fa);
	free(c->rbuf);
	free(c->plain);
	free(c->wbuf);
	free(c->lq.p);
	free(c->oq.p);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

void conn_set_timeouts(struct conn *c, unsigned peer_ms, unsigned stall_ms)
{
	c->peer_ms = peer_ms;
	c->stall_ms = stall_ms;
}

void conn_peer_keepalive(struct conn *c, bool answers_ping)
{
	c->keepalive = answers_ping;
	c->silence_counts = answers_ping;
}

const char *conn_error(const struct conn *c)
{
	return c->err[0] ? c->err : "connection closed";
}

static void set_err(struct conn *c, const char *fmt, const char *a)
{
	pthread_mutex_lock(&c->lock);
	if (!c->err[0])
		snprintf(c->err, sizeof(c->err), fmt, a);
	atomic_store(&c->failed, true);
	pthread_mutex_unlock(&c->lock);
}

/* "2", "1.5": a duration in seconds for a message. */
static const char *secs(unsigned ms, char buf[32])
{
	if (ms % 1000)
		snprintf(buf, 32, "%.1f", ms / 1000.0);
	else
		snprintf(buf, 32, "%u", ms / 1000);
	return buf;
}

/* The stream ended: fail every waiting call. Called with the lock held. */
static void mark_closed_locked(struct conn *c)
{
	c->closed = true;
	for (struct call *k = c->calls; k; k = k->next) {
		if (!k->done) {
			k->err = -ECONNRESET;
			k->done = true;
		}
	}
	pthread_cond_broadcast(&c->cond);
}

/* Wait for one completion until DEADLINE (ms; 0: for ever): -ETIME after it.
 * A deadline already past still asks the kernel (1 ms), so that what has
 * completed meanwhile is seen first: a loop that was busy (hashing a big
 * file, say) must not take the peer for silent. */
static int wait_until(struct conn *c, struct io_uring_cqe **cqe, uint64_t deadline)
{
	struct __kernel_timespec ts;
	uint64_t t, left;

	if (!deadline)
		return io_uring_wait_cqe(&c->ring, cqe);
	t = mono_ms();
	left = t < deadline ? deadline - t : 1;
	ts.tv_sec = (long long)(left / 1000);
	ts.tv_nsec = (long long)(left % 1000) * 1000000;
	return io_uring_wait_cqe_timeout(&c->ring, cqe, &ts);
}

/* A synchronous read or write through the ring, for the handshake: its
 * result, or -ETIMEDOUT at DEADLINE (the operation is then cancelled). */
static ssize_t ring_io(struct conn *c, bool write, int fd, void *buf, size_t len, uint64_t deadline)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
	struct io_uring_cqe *cqe;
	ssize_t r;

	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write(sqe, fd, buf, (unsigned)len, (uint64_t)-1);
	else
		io_uring_prep_read(sqe, fd, buf, (unsigned)len, (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, TAG_SYNC);
	c->inflight++;
	io_uring_submit(&c->ring);
	for (;;) {
		r = wait_until(c, &cqe, deadline);
		if (r == -EINTR)
			continue;
		if (r == -ETIME) {
			quiesce(c);
			return -ETIMEDOUT;
		}
		if (r < 0)
			return r;
		r = cqe->res;
		bool ours = io_uring_cqe_get_data64(cqe) == TAG_SYNC;

		io_uring_cqe_seen(&c->ring, cqe);
		if (ours) {
			c->inflight--;
			return r;
		}
	}
}

static int flush_tls_sync(struct conn *c, uint64_t deadline)
{
	uint8_t buf[16384];
	size_t n;

	while ((n = tls_channel_take(c->tls, buf, sizeof(buf))) > 0) {
		for (size_t off = 0; off < n;) {
			ssize_t w = ring_io(c, true, c->wfd, buf + off, n - off, deadline);

			if (w <= 0)
				return w < 0 ? (int)w : -EPIPE;
			off += (size_t)w;
			c->st.bytes_out += (uint64_t)w;
		}
	}
	return 0;
}

int conn_handshake(struct conn *c)
{
	uint64_t deadline = c->peer_ms ? mono_ms() + c->peer_ms : 0;
	char sb[32];
	int r;

	if (!c->ring_ok) {
		set_err(c, "cannot set up io_uring%s", "");
		return -ENOSYS;
	}
	if (!c->tls)
		return 0;
	for (;;) {
		r = tls_channel_handshake(c->tls);
		int fr = flush_tls_sync(c, deadline);

		if (fr == -ETIMEDOUT)
			goto timed_out;
		if (fr < 0 && r != 0) {
			set_err(c, "connection lost during the TLS handshake%s", "");
			return -ECONNRESET;
		}
		if (r == 0)
			return 0;
		if (r != -EAGAIN) {
			set_err(c, "TLS handshake failed: %s", tls_channel_error(c->tls));
			return r;
		}
		ssize_t n = ring_io(c, false, c->rfd, c->rbuf, RBUF_SIZE, deadline);

		if (n == -ETIMEDOUT)
			goto timed_out;
		if (n <= 0) {
			set_err(c, "%s",
				n == 0 ? "peer closed the connection during the TLS handshake"
				       : "read failed during the TLS handshake");
			return -ECONNRESET;
		}
		c->st.bytes_in += (uint64_t)n;
		tls_channel_feed(c->tls, c->rbuf, (size_t)n);
	}
timed_out:
	set_err(c, "the peer did not complete the TLS handshake within %s s", secs(c->peer_ms, sb));
	return -ETIMEDOUT;
}

static void wake(struct conn *c)
{
	uint64_t one = 1;

	if (write(c->efd, &one, sizeof(one)) < 0) {
		/* the counter saturating still wakes the loop */
	}
}

static uint8_t frame_type(const uint8_t *frame)
{
	return ((const struct mos_frame_hdr *)frame)->type;
}

/* The whole size of the frame at P: header and payload. */
static size_t frame_size(const uint8_t *p)
{
	uint32_t len;

	memcpy(&len, p + offsetof(struct mos_frame_hdr, len), sizeof(len));
	return sizeof(struct mos_frame_hdr) + le32toh(len);
}

static bool type_dropped(const struct conn *c, uint8_t type)
{
	return type < 64 && (c->dropped_types >> type & 1);
}

static int send_frame(struct conn *c, struct wire_buf *b, bool as_loop)
{
	size_t n = wire_buf_finish(b);
	bool other; /* not the loop thread, while the loop runs */

	if (!n) {
		wire_buf_free(b);
		return -EMSGSIZE;
	}
	pthread_mutex_lock(&c->lock);
	other = c->in_loop && !pthread_equal(pthread_self(), c->loop_thread);
	while (other && !as_loop && !c->closed && c->oq.len > CONN_PEND_MAX &&
	       !type_dropped(c, frame_type(b->p)))
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->closed || type_dropped(c, frame_type(b->p))) {
		int r = c->closed ? -ECONNRESET : -ECANCELED;

		pthread_mutex_unlock(&c->lock);
		wire_buf_free(b);
		return r;
	}
	outq_put(other && !as_loop ? &c->oq : &c->lq, b->p, n);
	c->st.frames_out++;
	pthread_mutex_unlock(&c->lock);
	wire_buf_free(b);
	if (other)
		wake(c);
	return 0;
}

int conn_send(struct conn *c, struct wire_buf *b)
{
	return send_frame(c, b, false);
}

int conn_send_as_loop(struct conn *c, struct wire_buf *b)
{
	return send_frame(c, b, true);
}

int conn_send_error(struct conn *c, uint32_t id, int err, const char *msg)
{
	struct wire_buf b = { 0 };
	struct mos_error e = { .err = err };

	wire_buf_start(&b, MOS_MSG_ERROR, MOS_F_REPLY, id);
	wire_put(&b, &e, sizeof(e));
	wire_put_str(&b, msg ? msg : "");
	return conn_send(c, &b);
}

int conn_call(struct conn *c, struct wire_buf *b, conn_reply_fn fn, void *arg)
{
	struct call k = { .fn = fn, .arg = arg };
	struct call **pp;
	int r;

	pthread_mutex_lock(&c->lock);
	if (c->closed) {
		pthread_mutex_unlock(&c->lock);
		wire_buf_free(b);
		return -ECONNRESET;
	}
	k.id = c->next_id++;
	if (!c->next_id)
		c->next_id = 1;
	k.next = c->calls;
	c->calls = &k;
	c->st.calls++;
	pthread_mutex_unlock(&c->lock);

	((struct mos_frame_hdr *)b->p)->id = k.id;
	r = conn_send(c, b);
	pthread_mutex_lock(&c->lock);
	if (r < 0 && !k.done) {
		k.err = r;
		k.done = true;
	}
	while (!k.done)
		pthread_cond_wait(&c->cond, &c->lock);
	for (pp = &c->calls; *pp; pp = &(*pp)->next) {
		if (*pp == &k) {
			*pp = k.next;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return k.err;
}

struct conn_watch *conn_watch(struct conn *c, int fd, uint32_t poll_events, conn_fd_fn fn,
			      void *arg)
{
	struct conn_watch *w = xcalloc(1, sizeof(*w));

	w->fd = fd;
	w->events = poll_events;
	w->fn = fn;
	w->arg = arg;
	w->next = c->watches;
	c->watches = w;
	return w;
}

void conn_unwatch(struct conn *c, struct conn_watch *w)
{
	(void)c;
	if (w)
		w->released = w->dead = true;
}

void conn_watch_resume(struct conn *c, struct conn_watch *w)
{
	(void)c;
	w->dead = false;
}

void conn_watch_throttle(struct conn_watch *w)
{
	w->throttle = true;
}

struct conn_sink *conn_sink(struct conn *c, conn_sink_fn fn, void *arg)
{
	struct conn_sink *s = xcalloc(1, sizeof(*s));

	s->fn = fn;
	s->arg = arg;
	s->tail = &s->head;
	s->next = c->sinks;
	c->sinks = s;
	return s;
}

void conn_sink_write(struct conn *c, struct conn_sink *s, int fd, const void *data, size_t len)
{
	struct sink_chunk *k;

	(void)c;
	if (!len)
		return;
	k = xmalloc(sizeof(*k) + len);
	k->next = NULL;
	k->fd = fd;
	k->len = len;
	k->off = 0;
	memcpy(k->data, data, len);
	*s->tail = k;
	s->tail = &k->next;
}

int conn_sink_error(const struct conn_sink *s)
{
	return s->err;
}

void conn_tcp_keepalive(int fd)
{
	int one = 1, idle = 60, intvl = 10, cnt = 6;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

unsigned conn_peer_timeout_env(unsigned fallback_ms)
{
	const char *v = getenv("MOS_PEER_TIMEOUT");
	uint64_t ms;

	if (!v || !*v)
		return fallback_ms;
	if (parse_seconds(v, &ms) < 0 || !ms || ms > 86400000) {
		mos_warn("MOS_PEER_TIMEOUT=%s is not a number of seconds from 0.001 to 86400: "
			 "using %u s",
			 v, fallback_ms / 1000);
		return fallback_ms;
	}
	return (unsigned)ms;
}

/* Take the frames of OQ that MATCH out of it.  Lock held. */
static void drop_locked(struct conn *c, conn_match_fn match, void *arg)
{
	struct outq *q = &c->oq;
	size_t in = 0, out = 0;

	while (in < q->len) {
		uint8_t *f = q->p + q->off + in;
		size_t n = frame_size(f);

		if (!match(f, n, arg)) {
			if (out != in)
				memmove(q->p + q->off + out, f, n);
			out += n;
		}
		in += n;
	}
	q->len = out;
	if (!q->len)
		q->off = 0;
	pthread_cond_broadcast(&c->cond); /* room for the senders that wait */
}

void conn_drop_queued(struct conn *c, conn_match_fn match, void *arg)
{
	pthread_mutex_lock(&c->lock);
	drop_locked(c, match, arg);
	pthread_mutex_unlock(&c->lock);
}

static bool type_matches(const uint8_t *frame, size_t len, void *arg)
{
	(void)len;
	return frame_type(frame) == *(const uint8_t *)arg;
}

void conn_drop_type(struct conn *c, uint8_t type)
{
	if (type >= 64)
		return;
	pthread_mutex_lock(&c->lock);
	c->dropped_types |= 1ULL << type;
	drop_locked(c, type_matches, &type);
	pthread_mutex_unlock(&c->lock);
}

void conn_hold_input(struct conn *c, bool hold)
{
	atomic_store(&c->input_held, hold);
	if (!hold)
		wake(c);
}

void conn_stop(struct conn *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_mutex_unlock(&c->lock);
	wake(c);
}

void conn_abort(struct conn *c, const char *why)
{
	set_err(c, "%s", why);
	atomic_store(&c->aborted, true);
	wake(c);
}

void conn_get_stats(struct conn *c, struct conn_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	pthread_mutex_unlock(&c->lock);
}

/* A reply frame: route it to its waiting call. */
static void deliver_reply(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload)
{
	struct call *k;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	for (k = c->calls; k && k->id != h->id; k = k->next)
		;
	pthread_mutex_unlock(&c->lock);
	if (!k || k->done) {
		free(payload);
		return; /* a late frame of a call that already failed */
	}
	if (h->type == MOS_MSG_ERROR) {
		struct wire_reader rd;
		struct mos_error e;

		wire_reader_init(&rd, payload, h->len);
		r = wire_get(&rd, &e, sizeof(e)) && e.err > 0 && e.err < 4096 ? -e.err : -EIO;
	} else if (k->fn) {
		r = k->fn(k->arg, h, payload, h->len);
	}
	free(payload);
	pthread_mutex_lock(&c->lock);
	if (r < 0 || h->type == MOS_MSG_ERROR || !(h->flags & MOS_F_MORE)) {
		k->err = r;
		k->done = true;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
}

/* What the loop has queued for the peer and not yet written. */
static size_t backlog(const struct conn *c)
{
	return c->lq.len + c->w_loop + (c->tls ? tls_channel_pending(c->tls) : 0);
}

/* Above the high mark (or while the owner holds the input), stop; below
 * the low mark, go on.  True while stopped. */
static bool throttle_check(struct conn *c)
{
	size_t b = backlog(c);
	bool held = atomic_load(&c->input_held);

	if (!c->throttled && (held || b > CONN_BACKLOG_HIGH)) {
		c->throttled = true;
		c->st.throttled++;
	} else if (c->throttled && !held && b <= CONN_BACKLOG_LOW) {
		c->throttled = false;
		c->last_rx = mono_ms(); /* the peer's silence counts from now */
	}
	return c->throttled;
}

/* PING, both ways: answered here, in the loop, whoever the owner is. */
static void on_ping(struct conn *c, const struct mos_frame_hdr *h)
{
	struct wire_buf b = { 0 };

	if (h->len) {
		set_err(c, "malformed frame from the peer: %s", "PING with a body");
		return;
	}
	if (h->flags & MOS_F_REPLY)
		return; /* the answer to ours: that it came is all */
	wire_buf_start(&b, MOS_MSG_PING, MOS_F_REPLY, h->id);
	conn_send(c, &b);
}

/* Plaintext stream bytes: assemble and dispatch frames while the backlog
 * allows; the rest is held until it has drained. */
static int consume(struct conn *c, const uint8_t *buf, size_t len)
{
	while (len) {
		struct mos_frame_hdr h;
		uint8_t *payload = NULL;
		bool done;
		size_t used;

		if (throttle_check(c)) {
			c->held = buf;
			c->held_len = len;
			return 0;
		}
		used = frame_asm_feed(&c->fa, buf, len, &done, &h, &payload);
		if (c->fa.why) {
			set_err(c, "malformed frame from the peer: %s", c->fa.why);
			return -EPROTO;
		}
		buf += used;
		len -= used;
		if (!done)
			continue;
		c->st.frames_in++;
		if (h.type == MOS_MSG_PING) {
			on_ping(c, &h);
			free(payload);
		} else if (h.flags & MOS_F_REPLY) {
			deliver_reply(c, &h, payload);
		} else {
			c->on_frame(c, &h, payload, c->arg);
		}
		if (atomic_load(&c->failed))
			return -EPROTO; /* the handler found the message malformed */
	}
	return 0;
}

void conn_fail(struct conn *c, const char *why)
{
	set_err(c, "%s", why);
	wake(c); /* from another thread, the loop must see it now */
}

/* Plaintext buffered in the TLS channel (records of one read, or read along
 * with the handshake's last flight), while nothing is held. */
static int drain_tls(struct conn *c)
{
	while (!c->held_len) {
		ssize_t n = tls_channel_read(c->tls, c->plain, RBUF_SIZE);

		if (n == -EAGAIN)
			return 0;
		if (n == 0) {
			c->peer_eof = true;
			return 0;
		}
		if (n < 0) {
			set_err(c, "TLS: %s", tls_channel_error(c->tls));
			return -EPROTO;
		}
		int r = consume(c, c->plain, (size_t)n);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Dispatch what is held, then what TLS buffered, once the backlog allows. */
static int pump_input(struct conn *c)
{
	if (c->held_len) {
		const uint8_t *p = c->held;
		size_t n = c->held_len;
		int r;

		c->held_len = 0;
		r = consume(c, p, n);
		if (r < 0 || c->held_len)
			return r;
	}
	return c->tls && !c->peer_eof ? drain_tls(c) : 0;
}

static int on_read(struct conn *c, int res)
{
	if (res < 0) {
		set_err(c, "read from the peer failed: %s", strerror(-res));
		return -ECONNRESET;
	}
	if (res == 0) {
		c->peer_eof = true;
		return 0;
	}
	c->st.bytes_in += (uint64_t)res;
	c->last_rx = mono_ms();
	if (!c->tls)
		return consume(c, c->rbuf, (size_t)res);
	if (tls_channel_feed(c->tls, c->rbuf, (size_t)res) < 0) {
		set_err(c, "TLS: %s", tls_channel_error(c->tls));
		return -ENOMEM;
	}
	return drain_tls(c);
}

/* The bytes of the whole frames at the head of Q that fit in LIMIT; the
 * first frame whatever its size when FIRST. */
static size_t whole_frames(const struct outq *q, size_t limit, bool first)
{
	size_t n = 0;

	while (n < q->len) {
		size_t f = frame_size(q->p + q->off + n);

		if (n + f > limit && (n || !first))
			break;
		n += f;
	}
	return n;
}

/* Move up to WCHUNK bytes of queued frames (one frame at least), the
 * loop's first, into the write buffer (through TLS). */
static void fill_write(struct conn *c)
{
	size_t n1, n2, n;

	if (c->woff < c->wlen)
		return;
	c->wlen = c->woff = c->w_loop = 0;
	pthread_mutex_lock(&c->lock);
	n1 = whole_frames(&c->lq, WCHUNK, true);
	n2 = whole_frames(&c->oq, n1 < WCHUNK ? WCHUNK - n1 : 0, !n1);
	if (c->tls) {
		if ((n1 && tls_channel_write(c->tls, c->lq.p + c->lq.off, n1) < 0) ||
		    (n2 && tls_channel_write(c->tls, c->oq.p + c->oq.off, n2) < 0)) {
			pthread_mutex_unlock(&c->lock);
			set_err(c, "TLS: %s", tls_channel_error(c->tls));
			return;
		}
	} else if (n1 + n2) {
		if (c->wcap < n1 + n2) {
			c->wcap = n1 + n2 > WCHUNK ? n1 + n2 : WCHUNK;
			c->wbuf = xrealloc(c->wbuf, c->wcap);
		}
		if (n1)
			memcpy(c->wbuf, c->lq.p + c->lq.off, n1);
		if (n2)
			memcpy(c->wbuf + n1, c->oq.p + c->oq.off, n2);
		c->wlen = n1 + n2;
	}
	outq_take(&c->lq, n1);
	outq_take(&c->oq, n2);
	c->w_loop = n1;
	if (n2)
		pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->tls && (n = tls_channel_pending(c->tls)) > 0) {
		if (n > c->wcap) {
			c->wcap = n;
			c->wbuf = xrealloc(c->wbuf, n);
		}
		c->wlen = tls_channel_take(c->tls, c->wbuf, n);
	}
}

static struct io_uring_sqe *get_sqe(struct conn *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);

	if (sqe)
		c->inflight++;
	return sqe;
}

/* Submit what is due; on the stream only while STREAM (it has not failed). */
static void arm(struct conn *c, bool stream)
{
	struct io_uring_sqe *sqe;

	if (stream && !c->read_busy && !c->peer_eof && !c->held_len && !c->throttled &&
	    (sqe = get_sqe(c))) {
		io_uring_prep_read(sqe, c->rfd, c->rbuf, RBUF_SIZE, (uint64_t)-1);
		io_uring_sqe_set_data64(sqe, TAG_READ);
		c->read_busy = true;
	}
	if (!c->wake_busy && (sqe = get_sqe(c))) {
		io_uring_prep_read(sqe, c->efd, &c->wake_val, sizeof(c->wake_val), 0);
		io_uring_sqe_set_data64(sqe, TAG_WAKE);
		c->wake_busy = true;
	}
	if (stream && !c->write_busy) {
		fill_write(c);
		if (c->woff < c->wlen && (sqe = get_sqe(c))) {
			size_t n = c->wlen - c->woff;

			io_uring_prep_write(sqe, c->wfd, c->wbuf + c->woff,
					    (unsigned)(n < WRITE_OP_MAX ? n : WRITE_OP_MAX),
					    (uint64_t)-1);
			io_uring_sqe_set_data64(sqe, TAG_WRITE);
			c->write_busy = true;
			c->last_tx = mono_ms(); /* the peer's reading counts from now */
		}
	}
	for (struct conn_watch **wp = &c->watches, *w; (w = *wp);) {
		if (w->released && !w->armed) {
			*wp = w->next;
			free(w);
			continue;
		}
		wp = &w->next;
		if (w->armed || w->dead || (w->throttle && c->throttled) || !(sqe = get_sqe(c)))
			continue;
		io_uring_prep_poll_add(sqe, w->fd, w->events);
		io_uring_sqe_set_data(sqe, w);
		w->armed = true;
	}
	for (struct conn_sink *s = c->sinks; s; s = s->next) {
		struct sink_chunk *k = s->head;

		if (!k || s->busy || s->polling || !(sqe = get_sqe(c)))
			continue;
		if (s->want_poll) {
			io_uring_prep_poll_add(sqe, k->fd, POLLOUT);
			io_uring_sqe_set_data64(sqe, (uintptr_t)s | KIND_SINK_POLL);
			s->polling = true;
		} else {
			size_t n = k->len - k->off;

			io_uring_prep_write(sqe, k->fd, k->data + k->off,
					    (unsigned)(n < WRITE_OP_MAX ? n : WRITE_OP_MAX),
					    (uint64_t)-1);
			io_uring_sqe_set_data64(sqe, (uintptr_t)s | KIND_SINK_WRITE);
			s->busy = true;
		}
	}
}

static void on_sink_write(struct conn *c, struct conn_sink *s, int res)
{
	struct sink_chunk *k = s->head;
	size_t n;

	s->busy = false;
	if (res == -EAGAIN || res == -EINTR) {
		s->want_poll = true; /* a non-blocking fd: wait for room */
		return;
	}
	if (res <= 0) {
		s->err = res < 0 ? -res : EPIPE;
		n = k->len - k->off; /* dropped: nowhere to write */
	} else {
		n = (size_t)res;
	}
	k->off += n;
	if (k->off >= k->len) {
		s->head = k->next;
		if (!s->head)
			s->tail = &s->head;
		free(k);
	}
	s->fn(c, n, s->arg);
}

static bool want_more(struct conn *c)
{
	bool stop;

	if (atomic_load(&c->aborted))
		return false;
	/* What the sinks hold is written out first (the job's last output),
	 * also when the stream has ended: the peer closing after its EXIT, or
	 * failing, takes nothing already received away. */
	for (struct conn_sink *s = c->sinks; s; s = s->next)
		if (s->head)
			return true;
	if (atomic_load(&c->failed))
		return false;
	pthread_mutex_lock(&c->lock);
	stop = c->stopping && !c->lq.len && !c->oq.len;
	pthread_mutex_unlock(&c->lock);
	if (stop && c->woff >= c->wlen && !(c->tls && tls_channel_pending(c->tls)))
		return false;
	return !c->peer_eof;
}

/*
 * Everything queued for the peer (both queues, the write in flight) above
 * the backlog's high mark, until it is below the low mark: the peer's
 * answers to what we sent (PING) wait behind it, so its silence does not
 * count meanwhile (its not reading does: STALL_MS), and counts from the
 * moment it has caught up.
 */
static bool swamped_check(struct conn *c, uint64_t t)
{
	size_t n = (c->wlen - c->woff) + (c->tls ? tls_channel_pending(c->tls) : 0);

	pthread_mutex_lock(&c->lock);
	n += c->lq.len + c->oq.len;
	pthread_mutex_unlock(&c->lock);
	if (!c->swamped && n > CONN_BACKLOG_HIGH) {
		c->swamped = true;
	} else if (c->swamped && n <= CONN_BACKLOG_LOW) {
		c->swamped = false;
		c->last_rx = t;
	}
	return c->swamped;
}

/*
 * The clocks: a peer that has taken nothing we sent for STALL_MS, or sent
 * nothing for PEER_MS (while we read), ends the loop; a quiet peer that
 * answers PING is sent one.  Only with EXPIRE (a wait has just run out with
 * nothing completed) can the loop end: -ETIMEDOUT.  Else 0, with *DEADLINE
 * the next time to look (0: none).
 */
static int check_clocks(struct conn *c, bool expire, uint64_t *deadline)
{
	uint64_t t = mono_ms(), next = 0;
	char sb[32];

#define SOONER(d) (next = !next || (d) < next ? (d) : next)
#define SINCE(x) (t > (x) ? t - (x) : 0)
	if (c->stall_ms && c->write_busy) {
		if (expire && SINCE(c->last_tx) >= c->stall_ms) {
			set_err(c, "it read nothing we sent for %s s", secs(c->stall_ms, sb));
			return -ETIMEDOUT;
		}
		SOONER(c->last_tx + c->stall_ms);
	}
	if (c->peer_ms && !c->throttled && !c->peer_eof && !swamped_check(c, t)) {
		unsigned iv = c->peer_ms / 4; /* the keepalive's interval */

		if (iv < 100)
			iv = 100;
		else if (iv > 15000)
			iv = 15000;
		if (c->silence_counts) {
			if (expire && SINCE(c->last_rx) >= c->peer_ms) {
				set_err(c,
					c->keepalive ? "silent for %s s (no answer to keepalives)"
						     : "silent for %s s",
					secs(c->peer_ms, sb));
				return -ETIMEDOUT;
			}
			SOONER(c->last_rx + c->peer_ms);
		}
		if (c->keepalive) {
			uint64_t due = (c->last_rx > c->last_ping ? c->last_rx : c->last_ping) + iv;

			if (t >= due) {
				struct wire_buf b = { 0 };

				wire_buf_start(&b, MOS_MSG_PING, 0, c->ping_seq++);
				if (!c->ping_seq)
					c->ping_seq = 1;
				conn_send(c, &b);
				c->last_ping = t;
				c->st.pings++;
				due = t + iv;
			}
			SOONER(due);
		}
	}
#undef SOONER
#undef SINCE
	*deadline = next;
	return 0;
}

int conn_run(struct conn *c)
{
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	c->loop_thread = pthread_self();
	c->in_loop = true;
	pthread_mutex_unlock(&c->lock);
	c->last_rx = c->last_tx = c->last_ping = mono_ms();
	if (c->tls && drain_tls(c) < 0)
		ret = -ECONNRESET;
	/* Once the stream has failed (RET), nothing more is read or written on
	 * it, but the loop goes on while the sinks hold output (want_more). */
	while (want_more(c)) {
		struct io_uring_cqe *cqe;
		uint64_t deadline = 0;
		int r;

		if (!ret && !throttle_check(c) && (c->held_len || (c->tls && !c->read_busy))) {
			if (pump_input(c) < 0)
				ret = -ECONNRESET;
			if (!want_more(c))
				break;
		}
		if (!ret)
			check_clocks(c, false, &deadline); /* a keepalive due goes out now */
		arm(c, !ret);
		if (!ret)
			check_clocks(c, false, &deadline); /* the deadlines of what is in flight */
		io_uring_submit(&c->ring);
		r = wait_until(c, &cqe, deadline);
		if (r == -ETIME) {
			/* nothing came by the deadline: now a clock may run out */
			if (!ret && check_clocks(c, true, &deadline) < 0)
				ret = -ETIMEDOUT;
			continue;
		}
		if (r == -EINTR)
			continue;
		if (r < 0) {
			set_err(c, "io_uring: %s", strerror(-r));
			ret = r;
			break;
		}
		unsigned head, seen = 0;
		uint64_t busy = mono_ms();

		io_uring_for_each_cqe(&c->ring, head, cqe)
		{
			uint64_t tag = io_uring_cqe_get_data64(cqe);
			int res = cqe->res;

			seen++;
			if (tag != TAG_CANCEL)
				c->inflight--;
			if (tag == TAG_READ) {
				c->read_busy = false;
				if (ret == 0 && on_read(c, res) < 0)
					ret = -ECONNRESET;
			} else if (tag == TAG_WRITE) {
				c->write_busy = false;
				if (ret) {
					/* the stream is gone already */
				} else if (res <= 0) {
					set_err(c, "write to the peer failed: %s",
						strerror(res < 0 ? -res : EPIPE));
					ret = -ECONNRESET;
				} else {
					c->woff += (size_t)res;
					c->st.bytes_out += (uint64_t)res;
					c->last_tx = mono_ms();
					if (c->woff >= c->wlen)
						c->w_loop = 0;
				}
			} else if (tag == TAG_WAKE) {
				c->wake_busy = false;
			} else if (tag == TAG_SYNC || tag == TAG_CANCEL) {
				/* the handshake's, cancelled: nothing to do */
			} else if ((tag & KIND_MASK) == KIND_WATCH) {
				struct conn_watch *w = (struct conn_watch *)(uintptr_t)tag;

				w->armed = false;
				if (res < 0 || w->released ||
				    !w->fn(c, w->fd, (uint32_t)res, w->arg))
					w->dead = true;
			} else {
				struct conn_sink *s =
					(struct conn_sink *)(uintptr_t)(tag & ~(uint64_t)KIND_MASK);

				if ((tag & KIND_MASK) == KIND_SINK_WRITE)
					on_sink_write(c, s, res);
				else
					s->polling = s->want_poll = false;
			}
		}
		io_uring_cq_advance(&c->ring, seen);
		if (!ret && atomic_load(&c->failed))
			ret = -EPROTO; /* a handler or another thread ended it */
		/* The clocks count time spent waiting for the peer, not time our
		 * handlers took (hashing a big file for a FETCH, say): the peer
		 * could not have been heard then. */
		{
			uint64_t t = mono_ms();

			busy = t - busy;
			c->last_rx = c->last_rx + busy < t ? c->last_rx + busy : t;
			c->last_tx = c->last_tx + busy < t ? c->last_tx + busy : t;
		}
		if (ret == 0 && deadline && mono_ms() >= deadline &&
		    check_clocks(c, true, &deadline) < 0)
			ret = -ETIMEDOUT;
	}
	if (!ret && atomic_load(&c->failed))
		ret = -EPROTO;
	if (c->peer_eof && !c->err[0])
		set_err(c, "%s", "the peer closed the connection");
	/* Nothing of ours is in flight once we return: a sink's write to a
	 * file (the origin's stderr) left running after an abort would race
	 * the caller's own writes to it for the file position, and one would
	 * overwrite the other. */
	quiesce(c);
	pthread_mutex_lock(&c->lock);
	mark_closed_locked(c);
	c->in_loop = false;
	pthread_mutex_unlock(&c->lock);
	return ret;
}
