// SPDX-License-Identifier: GPL-2.0-only
/*
 * conn.c - the connection loop: io_uring reads and writes on the stream, an
 * eventfd to wake the loop when another thread queues a frame, and
 * IORING_OP_POLL_ADD for the extra fds (stdio pipes, pidfds, signalfd).
 *
 * At most one read and one write are in flight on the stream.  Frames queued
 * by conn_send() collect in PEND under the lock; when no write is in flight
 * the loop takes all of PEND, passes it through TLS if there is a channel,
 * and writes it.  A sender blocks while PEND holds more than PEND_MAX bytes
 * (back-pressure on write-backs of big files), except the loop thread.
 */
#include "conn.h"

#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "log.h"
#include "tls_channel.h"
#include "util.h"

#define RBUF_SIZE (256U << 10)
#define PEND_MAX (8U << 20)
#define RING_ENTRIES 64

enum tag { TAG_READ = 1, TAG_WRITE = 2, TAG_WAKE = 3 };

struct conn_watch {
	struct conn_watch *next;
	int fd;
	uint32_t events;
	conn_fd_fn fn;
	void *arg;
	bool armed, dead;
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
	pthread_t loop_thread;
	bool in_loop;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* calls completed, PEND drained */
	uint8_t *pend;
	size_t pend_len, pend_cap;
	struct call *calls;
	uint32_t next_id;
	bool closed, stopping;
	char err[256];

	/* loop-thread state */
	uint8_t *rbuf, *plain;
	uint8_t *wbuf;
	size_t wlen, woff, wcap;
	bool write_busy, read_busy, wake_busy, peer_eof;
	uint64_t wake_val;
	struct frame_asm fa;
	struct conn_watch *watches;
	struct conn_stats st;
};

struct conn *conn_new(int rfd, int wfd, struct tls_channel *tls, conn_frame_fn on_frame, void *arg)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->rfd = rfd;
	c->wfd = wfd;
	c->tls = tls;
	c->on_frame = on_frame;
	c->arg = arg;
	c->next_id = 1;
	c->efd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->rbuf = xmalloc(RBUF_SIZE);
	c->plain = xmalloc(RBUF_SIZE);
	if (c->efd >= 0 && io_uring_queue_init(RING_ENTRIES, &c->ring, 0) == 0)
		c->ring_ok = true;
	return c;
}

void conn_free(struct conn *c)
{
	struct conn_watch *w, *wn;

	if (!c)
		return;
	if (c->ring_ok)
		io_uring_queue_exit(&c->ring);
	for (w = c->watches; w; w = wn) {
		wn = w->next;
		free(w);
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
	free(c->pend);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

const char *conn_error(const struct conn *c)
{
	return c->err[0] ? c->err : "connection closed";
}

static void set_err(struct conn *c, const char *fmt, const char *a)
{
	if (!c->err[0])
		snprintf(c->err, sizeof(c->err), fmt, a);
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

/* A synchronous read or write through the ring, for the handshake. */
static ssize_t ring_io(struct conn *c, bool write, int fd, void *buf, size_t len)
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
	io_uring_sqe_set_data64(sqe, 0);
	io_uring_submit(&c->ring);
	do
		r = io_uring_wait_cqe(&c->ring, &cqe);
	while (r == -EINTR);
	if (r < 0)
		return r;
	r = cqe->res;
	io_uring_cqe_seen(&c->ring, cqe);
	return r;
}

static int flush_tls_sync(struct conn *c)
{
	uint8_t buf[16384];
	size_t n;

	while ((n = tls_channel_take(c->tls, buf, sizeof(buf))) > 0) {
		for (size_t off = 0; off < n;) {
			ssize_t w = ring_io(c, true, c->wfd, buf + off, n - off);

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
	int r;

	if (!c->ring_ok) {
		set_err(c, "cannot set up io_uring%s", "");
		return -ENOSYS;
	}
	if (!c->tls)
		return 0;
	for (;;) {
		r = tls_channel_handshake(c->tls);
		if (flush_tls_sync(c) < 0 && r != 0) {
			set_err(c, "connection lost during the TLS handshake%s", "");
			return -ECONNRESET;
		}
		if (r == 0)
			return 0;
		if (r != -EAGAIN) {
			set_err(c, "TLS handshake failed: %s", tls_channel_error(c->tls));
			return r;
		}
		ssize_t n = ring_io(c, false, c->rfd, c->rbuf, RBUF_SIZE);

		if (n <= 0) {
			set_err(c, "%s",
				n == 0 ? "peer closed the connection during the TLS handshake"
				       : "read failed during the TLS handshake");
			return -ECONNRESET;
		}
		c->st.bytes_in += (uint64_t)n;
		tls_channel_feed(c->tls, c->rbuf, (size_t)n);
	}
}

static void wake(struct conn *c)
{
	uint64_t one = 1;

	if (write(c->efd, &one, sizeof(one)) < 0) {
		/* the counter saturating still wakes the loop */
	}
}

int conn_send(struct conn *c, struct wire_buf *b)
{
	size_t n = wire_buf_finish(b);
	bool self = c->in_loop && pthread_equal(pthread_self(), c->loop_thread);

	if (!n) {
		wire_buf_free(b);
		return -EMSGSIZE;
	}
	pthread_mutex_lock(&c->lock);
	while (!self && !c->closed && c->pend_len > PEND_MAX)
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->closed) {
		pthread_mutex_unlock(&c->lock);
		wire_buf_free(b);
		return -ECONNRESET;
	}
	if (c->pend_len + n > c->pend_cap) {
		while (c->pend_len + n > c->pend_cap)
			c->pend_cap = c->pend_cap ? 2 * c->pend_cap : 65536;
		c->pend = xrealloc(c->pend, c->pend_cap);
	}
	memcpy(c->pend + c->pend_len, b->p, n);
	c->pend_len += n;
	c->st.frames_out++;
	pthread_mutex_unlock(&c->lock);
	wire_buf_free(b);
	if (!self)
		wake(c);
	return 0;
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

void conn_watch_resume(struct conn *c, struct conn_watch *w)
{
	(void)c;
	w->dead = false;
}

void conn_stop(struct conn *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_mutex_unlock(&c->lock);
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

/* Plaintext stream bytes: assemble and dispatch frames. */
static int consume(struct conn *c, const uint8_t *buf, size_t len)
{
	while (len) {
		struct mos_frame_hdr h;
		uint8_t *payload = NULL;
		bool done;
		size_t used = frame_asm_feed(&c->fa, buf, len, &done, &h, &payload);

		if (c->fa.why) {
			set_err(c, "malformed frame from the peer: %s", c->fa.why);
			return -EPROTO;
		}
		buf += used;
		len -= used;
		if (!done)
			continue;
		c->st.frames_in++;
		if (h.flags & MOS_F_REPLY)
			deliver_reply(c, &h, payload);
		else
			c->on_frame(c, &h, payload, c->arg);
		if (c->err[0])
			return -EPROTO; /* the handler found the message malformed */
	}
	return 0;
}

void conn_fail(struct conn *c, const char *why)
{
	set_err(c, "%s", why);
}

static int drain_tls(struct conn *c);

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
	if (!c->tls)
		return consume(c, c->rbuf, (size_t)res);
	tls_channel_feed(c->tls, c->rbuf, (size_t)res);
	return drain_tls(c);
}

/* Records already buffered (e.g. read along with the handshake's last flight). */
static int drain_tls(struct conn *c)
{
	for (;;) {
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
}

/* Move queued frames into the write buffer (through TLS). */
static void fill_write(struct conn *c)
{
	size_t n;

	if (c->woff < c->wlen)
		return;
	c->wlen = c->woff = 0;
	pthread_mutex_lock(&c->lock);
	if (c->pend_len) {
		if (c->tls) {
			tls_channel_write(c->tls, c->pend, c->pend_len);
		} else {
			uint8_t *t = c->wbuf;
			size_t tc = c->wcap;

			c->wbuf = c->pend;
			c->wcap = c->pend_cap;
			c->wlen = c->pend_len;
			c->pend = t;
			c->pend_cap = tc;
		}
		c->pend_len = 0;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	if (c->tls && (n = tls_channel_pending(c->tls)) > 0) {
		if (n > c->wcap) {
			c->wcap = n;
			c->wbuf = xrealloc(c->wbuf, n);
		}
		c->wlen = tls_channel_take(c->tls, c->wbuf, n);
	}
}

static void arm(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (!c->read_busy && !c->peer_eof && (sqe = io_uring_get_sqe(&c->ring))) {
		io_uring_prep_read(sqe, c->rfd, c->rbuf, RBUF_SIZE, (uint64_t)-1);
		io_uring_sqe_set_data64(sqe, TAG_READ);
		c->read_busy = true;
	}
	if (!c->wake_busy && (sqe = io_uring_get_sqe(&c->ring))) {
		io_uring_prep_read(sqe, c->efd, &c->wake_val, sizeof(c->wake_val), 0);
		io_uring_sqe_set_data64(sqe, TAG_WAKE);
		c->wake_busy = true;
	}
	if (!c->write_busy) {
		fill_write(c);
		if (c->woff < c->wlen && (sqe = io_uring_get_sqe(&c->ring))) {
			io_uring_prep_write(sqe, c->wfd, c->wbuf + c->woff,
					    (unsigned)(c->wlen - c->woff), (uint64_t)-1);
			io_uring_sqe_set_data64(sqe, TAG_WRITE);
			c->write_busy = true;
		}
	}
	for (struct conn_watch *w = c->watches; w; w = w->next) {
		if (w->armed || w->dead || !(sqe = io_uring_get_sqe(&c->ring)))
			continue;
		io_uring_prep_poll_add(sqe, w->fd, w->events);
		io_uring_sqe_set_data(sqe, w);
		w->armed = true;
	}
}

static bool want_more(struct conn *c)
{
	bool stop;

	pthread_mutex_lock(&c->lock);
	stop = c->stopping && !c->pend_len;
	pthread_mutex_unlock(&c->lock);
	if (c->err[0])
		return false;
	if (stop && c->woff >= c->wlen && !(c->tls && tls_channel_pending(c->tls)))
		return false;
	return !c->peer_eof;
}

int conn_run(struct conn *c)
{
	int ret = 0;

	c->loop_thread = pthread_self();
	c->in_loop = true;
	if (c->tls && drain_tls(c) < 0)
		ret = -ECONNRESET;
	while (ret == 0 && want_more(c)) {
		struct io_uring_cqe *cqe;
		int r;

		arm(c);
		io_uring_submit(&c->ring);
		r = io_uring_wait_cqe(&c->ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			set_err(c, "io_uring: %s", strerror(-r));
			ret = r;
			break;
		}
		unsigned head, seen = 0;

		io_uring_for_each_cqe(&c->ring, head, cqe)
		{
			uint64_t tag = io_uring_cqe_get_data64(cqe);
			int res = cqe->res;

			seen++;
			if (tag == TAG_READ) {
				c->read_busy = false;
				if (on_read(c, res) < 0)
					ret = -ECONNRESET;
			} else if (tag == TAG_WRITE) {
				c->write_busy = false;
				if (res <= 0) {
					set_err(c, "write to the peer failed: %s",
						strerror(res < 0 ? -res : EPIPE));
					ret = -ECONNRESET;
				} else {
					c->woff += (size_t)res;
					c->st.bytes_out += (uint64_t)res;
				}
			} else if (tag == TAG_WAKE) {
				c->wake_busy = false;
			} else if (tag) {
				struct conn_watch *w = (struct conn_watch *)(uintptr_t)tag;

				w->armed = false;
				if (res < 0 || !w->fn(c, w->fd, (uint32_t)res, w->arg))
					w->dead = true;
			}
		}
		io_uring_cq_advance(&c->ring, seen);
		if (ret < 0)
			break;
	}
	if (c->peer_eof && !c->err[0])
		set_err(c, "%s", "the peer closed the connection");
	pthread_mutex_lock(&c->lock);
	mark_closed_locked(c);
	pthread_mutex_unlock(&c->lock);
	c->in_loop = false;
	return ret;
}
