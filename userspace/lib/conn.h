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
 */
#ifndef MOS_CONN_H
#define MOS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct conn;
struct conn_watch;
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

struct conn *conn_new(int rfd, int wfd, struct tls_channel *tls, conn_frame_fn on_frame, void *arg);
/* Closes the fds given to conn_new and frees TLS. */
void conn_free(struct conn *c);

/* TLS handshake (nothing for a plain stream), in the calling thread. */
int conn_handshake(struct conn *c);

/* Queue B's frame (finished here) for sending; B is emptied.  0 or -errno. */
int conn_send(struct conn *c, struct wire_buf *b);
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
/* Run the loop until the peer closes, an error, or conn_stop(). 0 when the
 * peer closed or conn_stop() was called, else -errno. */
int conn_run(struct conn *c);
/* Ask the loop to end once what is queued has been sent (thread-safe). */
void conn_stop(struct conn *c);
const char *conn_error(const struct conn *c);
/* From a frame handler: the peer sent something malformed; end the loop. */
void conn_fail(struct conn *c, const char *why);

struct conn_stats {
	uint64_t frames_in, frames_out;
	uint64_t bytes_in, bytes_out; /* on the stream, after TLS */
	uint64_t calls;		      /* round trips made with conn_call */
};
void conn_get_stats(struct conn *c, struct conn_stats *out);

#endif /* MOS_CONN_H */
