/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * origin_serve.h - answer a worker's file service requests (LISTDIR, STAT,
 * OPEN, FETCH, PUT_*, MKDIR...) from the origin's filesystem through
 * origin_fs, as the invoking user.  Every request is parsed into checked
 * fields first; a malformed one ends the connection (conn_fail).
 */
#ifndef MOSCTL_ORIGIN_SERVE_H
#define MOSCTL_ORIGIN_SERVE_H

#include <stdbool.h>

#include "conn.h"
#include "origin_fs.h"
#include "origin_scope.h"

#define ORIGIN_MAX_PUTS 256	 /* files being written back at once */
#define ORIGIN_MANIFEST_MAX 8192 /* paths remembered per job kind */

struct origin_server;

struct origin_service {
	struct origin_fs *fs;
	struct origin_server *srv;	  /* the thread serving it, if any (origin_server_start) */
	const struct origin_scope *scope; /* what this job's policy lets it touch; NULL: all */
	uint64_t refused;		  /* requests outside SCOPE */
	struct origin_put *puts[ORIGIN_MAX_PUTS];
	int put_err[ORIGIN_MAX_PUTS];
	uint64_t requests;
	uint64_t mutations; /* requests to change a file here (PUT, MKDIR, UNLINK...) */
	/* what this job looked up (directories listed, files opened), for the
	 * next job of the same kind */
	char **listed, **opened;
	size_t nlisted, nopened;
};

/* Pin every read and write tree of the scope in the file service
 * (origin_fs_pin_tree): what beneath them is served resolves beneath the
 * directories granted, as they were when the job started. */
void origin_service_pin_trees(struct origin_service *s);
/* True when H is a file service request (answered or failed here), served
 * in the calling thread. */
bool origin_serve_frame(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
			const uint8_t *payload);
/* Whether a frame of TYPE is a file service request. */
bool origin_serve_is_request(uint8_t type);

/*
 * The file service on a thread of its own, so that nothing a request costs
 * (a big file to hash, a huge directory, a slow or stalled filesystem) holds
 * up the connection's loop: -t, signals and keepalives stay prompt.
 *
 * start: from now until stop, S (its fs, scope and puts) is the thread's
 *   alone.  It first pins the scope's trees (origin_service_pin_trees), sends the PRELOAD frames of MANIFEST (NULL: none), then
 *   the JOB frame (taken from JOB), both in the order of the loop's own
 *   frames, and writes 1 to eventfd JOB_FD (if >= 0): the loop may send the
 *   job's input from then on.  Then it serves what is submitted, in order; an OPEN that must hash its file is answered once the hash is
 *   done, the requests behind it meanwhile.  NULL if no thread can be made.
 * submit: from the loop's frame handler.  True for a file service request,
 *   whose PAYLOAD the server then owns.  Above 4 MiB or 4096 requests
 *   waiting, the connection reads nothing more until the thread has caught
 *   up (conn_hold_input).
 * cancel: the job is being ended: what is under way stops (a hash, a
 *   listing, a fetch), unfinished write-backs are dropped (their
 *   temporaries with them), and every request from now on is refused
 *   (ECANCELED; PUT_DATA dropped).  Any thread.
 * stop: cancel, and wait WAIT_MS at most for the thread to end: true when
 *   it did (S is the caller's again); false when it is stuck in the kernel,
 *   and S, its fs and scope must then be left alone (not freed).
 */
struct origin_server *origin_server_start(struct origin_service *s, struct conn *c,
					  const char *manifest, struct wire_buf *job, int job_fd);
bool origin_server_submit(struct origin_server *srv, const struct mos_frame_hdr *h,
			  uint8_t *payload);
void origin_server_cancel(struct origin_server *srv);
bool origin_server_stop(struct origin_server *srv, unsigned wait_ms);
/* Drop every unfinished write-back (connection gone: nothing half-written stays). */
void origin_service_abort(struct origin_service *s);
/* Abort, and free what the service remembered. */
void origin_service_free(struct origin_service *s);

/*
 * The job manifest (Documentation/protocol.md, "Round trips"): after a job,
 * save what it listed and opened to FILE; before the next job of the same
 * kind, send the current listings and hashes of those paths (within the
 * scope, as of now) as PRELOAD frames, so that the worker need not ask.
 * Returns the number of paths sent.
 */
int origin_manifest_save(const struct origin_service *s, const char *file);
size_t origin_manifest_send(struct conn *c, struct origin_service *s, const char *file);

#endif /* MOSCTL_ORIGIN_SERVE_H */
