/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * conn.h - one origin-worker connection: frames over a byte stream (a TCP
 * socket, or a pair of pipes for `mosd --stdio`), optionally inside a TLS
 * channel, driven by one io_uring loop.
 *
 * Threads: conn_run() is the loop; it reads, assembles and checks frames,
 * hands requests and unsolicited messages to ON_FRAME (in the loop thread),
 * routes replies to the thread waiting in conn_call(), writes whatever
 * conn_send() queued, and polls the extra fds given to conn_watch().  Any
 * thread may call conn_send(); conn_call() blocks, so it must never be called
 * from the loop thread.  A malformed frame or a broken stream ends the loop
 * with conn_error() saying why; every waiting call then fails -ECONNRESET.
 *
 * What a peer can make us hold is bounded (Documentation/protocol.md,
 * §6, "Back-pressure and timeouts"):
 *  - frames the loop thread queues (replies, output, keepalive answers: what
 *    the peer's own frames cause) count as the backlog; above
 *    CONN_BACKLOG_HIGH the loop stops reading the stream and pauses the
 *    watches marked with conn_watch_throttle() until the backlog is below
 *    CONN_BACKLOG_LOW.  The peer's sends then block in its kernel (TCP flow
 *    control), whatever it tries;
 *  - frames other threads queue wait in conn_send() above CONN_PEND_MAX;
 *  - a frame is at most MOS_FRAME_MAX, checked on its header before anything
 *    is allocated.
 * Nothing waits for the peer for ever: see conn_set_timeouts().
 */
#ifndef MOS_CONN_H
#define MOS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

#define CONN_BACKLOG_HIGH (4U << 20) /* the loop's own frames queued: stop reading above */
#define CONN_BACKLOG_LOW (1U << 20)  /* ... and read again below */
#define CONN_PEND_MAX (8U << 20)     /* other threads' frames queued: senders wait above */

struct conn;
struct conn_watch;
struct conn_sink;
struct tls_channel;

/* A request or message from the peer; PAYLOAD is the callee's to free. */
typedef void (*conn_frame_fn)(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload,
			      void *arg);
/* An fd watched with conn_watch became ready; return false to stop watching. */
typedef bool (*conn_fd_fn)(struct conn *c, int fd, uint32_t revents, void *arg);
/* One reply frame of a call (several with MOS_F_MORE), in the loop thread.
 * Return 0, or -errno to fail the call (later frames are dropped). */
typedef int (*conn_reply_fn)(void *arg, const struct mos_frame_hdr *h, const uint8_t *payload,
			     size_t len);
/* N bytes given to conn_sink_write are done with: written, or dropped after
 * a write error (conn_sink_error then says which). */
typedef void (*conn_sink_fn)(struct conn *c, size_t n, void *arg);

struct conn *conn_new(int rfd, int wfd, struct tls_channel *tls, conn_frame_fn on_frame, void *arg);
/* Cancels what is in flight on the ring (bounded), closes the fds given to
 * conn_new and frees TLS. */
void conn_free(struct conn *c);

/*
 * Timeouts, in milliseconds (0: none; the default is none):
 *  PEER_MS   the peer sent nothing for this long: it is gone ("silent for N
 *            s").  Also bounds conn_handshake().  Once the peer's HELLO has
 *            come, this holds only if conn_peer_keepalive() said it answers
 *            PING: such a peer is sent one after a quarter of PEER_MS of
 *            quiet.  An older peer is never sent PING (it would refuse the
 *            unknown type), and may then be quiet as long as its job is.
 *  STALL_MS  we have data for the peer and it has taken none of it for this
 *            long: it stopped reading ("read nothing we sent for N s").
 */
void conn_set_timeouts(struct conn *c, unsigned peer_ms, unsigned stall_ms);
/* What the peer's HELLO says (MOS_FEAT_KEEPALIVE): whether it answers PING. */
void conn_peer_keepalive(struct conn *c, bool answers_ping);

/* TLS handshake (nothing for a plain stream), in the calling thread; bounded
 * by PEER_MS when set. */
int conn_handshake(struct conn *c);

/* Queue B's frame (finished here) for sending; B is emptied.  0 or -errno
 * (-ECANCELED for a type given to conn_drop_type). */
int conn_send(struct conn *c, struct wire_buf *b);
/* The same, queued with the loop thread's own frames whatever the calling
 * thread, so that it keeps its order with them (a job's JOB, sent by
 * another thread, before the input the loop sends for it).  The caller
 * bounds what it queues so: it does not wait for room. */
int conn_send_as_loop(struct conn *c, struct wire_buf *b);
/*
 * Frames of TYPE are not wanted any more (the write-backs of a job the
 * origin is ending): those other threads queued and that are not being
 * written yet are dropped now, whole, and conn_send refuses later ones with
 * -ECANCELED (any thread).  What is being written (WCHUNK at most) goes on.
 */
void conn_drop_type(struct conn *c, uint8_t type);
/* FRAME (LEN bytes, header included) is one to drop. */
typedef bool (*conn_match_fn)(const uint8_t *frame, size_t len, void *arg);
/* Drop, whole, the frames other threads queued that are not being written
 * yet and that MATCH says to (a write-back given up).  Any thread. */
void conn_drop_queued(struct conn *c, conn_match_fn match, void *arg);
/*
 * HOLD: dispatch no further frame and read nothing (as above the backlog's
 * high mark), until called again with false.  For an owner that hands
 * frames to a thread of its own and must bound what waits there.  Any
 * thread.
 */
void conn_hold_input(struct conn *c, bool hold);
/* Send a reply: an ERROR frame with ERR (positive errno) for request ID. */
int conn_send_error(struct conn *c, uint32_t id, int err, const char *msg);
/* Send request B (its id is set here) and wait for the whole reply; each
 * reply frame goes to FN.  Returns 0, -ERR of an ERROR reply, the error FN
 * returned, or -ECONNRESET when the connection ended. */
int conn_call(struct conn *c, struct wire_buf *b, conn_reply_fn fn, void *arg);

/* Poll FD for POLL_EVENTS in the loop and call FN when ready; FN returning
 * false pauses the watch until conn_watch_resume (loop thread only). */
struct conn_watch *conn_watch(struct conn *c, int fd, uint32_t poll_events, conn_fd_fn fn,
			      void *arg);
void conn_watch_resume(struct conn *c, struct conn_watch *w);
/* Stop watching W for good (its fd is about to be closed): FN is not called
 * again, and W is freed by the loop (loop thread only; NULL is a no-op). */
void conn_unwatch(struct conn *c, struct conn_watch *w);
/* W's callback sends to the peer (stdin, a job's output): it is paused, like
 * reading the stream, while the backlog is above CONN_BACKLOG_HIGH. */
void conn_watch_throttle(struct conn_watch *w);

/*
 * Writes to fds (the origin's stdout and stderr) made by the ring, so that a
 * full pipe or a stopped terminal never blocks the loop.  One sink keeps the
 * order of everything written through it, across fds; FN reports bytes as
 * they are done with (written, or dropped after a write error, which
 * conn_sink_error then gives).  conn_sink_write copies DATA; the caller
 * bounds what it queues (a window).  conn_stop waits for the sinks to
 * drain.  Loop thread only.
 */
struct conn_sink *conn_sink(struct conn *c, conn_sink_fn fn, void *arg);
void conn_sink_write(struct conn *c, struct conn_sink *s, int fd, const void *data, size_t len);
int conn_sink_error(const struct conn_sink *s);

/* TCP keepalive on socket FD (idle 60 s, then 6 probes 10 s apart): a peer
 * machine that vanished without closing is noticed by the kernel, whatever
 * protocol version it speaks. */
void conn_tcp_keepalive(int fd);

/* MOS_PEER_TIMEOUT=SECS from the environment (tests, and whoever wants a
 * different bound; both mosctl and mosd read it), else FALLBACK_MS. */
unsigned conn_peer_timeout_env(unsigned fallback_ms);

/* Run the loop until the peer closes, an error, or conn_stop(). 0 when the
 * peer closed or conn_stop() was called, else -errno. */
int conn_run(struct conn *c);
/* Ask the loop to end once what is queued has been sent (thread-safe). */
void conn_stop(struct conn *c);
/* End the loop now, dropping what is queued; conn_error() is WHY (any thread). */
void conn_abort(struct conn *c, const char *why);
const char *conn_error(const struct conn *c);
/* The peer sent something malformed (found by a frame handler, or a thread
 * the frame was handed to); end the loop. */
void conn_fail(struct conn *c, const char *why);

struct conn_stats {
	uint64_t frames_in, frames_out;
	uint64_t bytes_in, bytes_out; /* on the stream, after TLS */
	uint64_t calls;		      /* round trips made with conn_call */
	uint64_t throttled;	      /* times reading stopped for the backlog */
	uint64_t pings;		      /* keepalives sent */
};
void conn_get_stats(struct conn *c, struct conn_stats *out);

#endif /* MOS_CONN_H */
