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

struct origin_service {
	struct origin_fs *fs;
	const struct origin_scope *scope; /* what this job's policy lets it touch; NULL: all */
	uint64_t refused;		  /* requests outside SCOPE */
	struct origin_put *puts[ORIGIN_MAX_PUTS];
	int put_err[ORIGIN_MAX_PUTS];
	uint64_t requests;
	/* what this job looked up (directories listed, files opened), for the
	 * next job of the same kind */
	char **listed, **opened;
	size_t nlisted, nopened;
};

/* Pin every read and write tree of the scope in the file service
 * (origin_fs_pin_tree): what beneath them is served resolves beneath the
 * directories granted, as they were when the job started. */
void origin_service_pin_trees(struct origin_service *s);
/* True when H is a file service request (answered or failed here). */
bool origin_serve_frame(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
			const uint8_t *payload);
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
