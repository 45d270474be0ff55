/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * job.h - serve one origin's connection on a worker: HELLO, one JOB, its
 * stdio and signals, the file service for its mosfs root, and EXIT once every
 * output is on the origin's disk.
 *
 * Privilege phases (mosd runs as root on a worker):
 *   1. the connection process (root): opens /dev/fuse, makes the job's
 *      scratch directory, serves mosfs and the stream; never runs job code.
 *   2. the job process (root, then not): a new mount namespace with mosfs as
 *      its root, the worker's /dev subset, /sys read-only, a private /tmp
 *      holding the job's trees beneath the origin's /tmp (job_tmp.h);
 *      pivot_root; then it drops to JOB_UID/JOB_GID and every capability.
 *   3. the sandbox (a local `mosctl run`'s, as JOB_UID): user (mapping the
 *      origin's ids), pid, mount and IPC namespaces, Landlock, seccomp,
 *      limits, then exec of the command.
 * Without root (mosd --stdio started by a user), phase 2 starts by entering
 * a user namespace of its own, mapping the user to its root, and does not
 * switch users: the job runs as that user.
 * A dropped connection kills the job's tree and removes its scratch files;
 * its mounts die with its mount namespace.
 */
#ifndef MOSD_JOB_H
#define MOSD_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mosingar/protocol.h>

#include "cas.h"

struct tls_channel;

/* What every connection process of one mosd counts together (a MAP_SHARED
 * page made before the first fork), for STATUS. */
struct worker_counters {
	unsigned running; /* jobs started and not yet ended (atomics only) */
	uint64_t jobs_done, cache_hits, cache_misses;
};

struct job_config {
	const char *state_dir; /* jobs' scratch directories go in STATE_DIR/jobs */
	struct cas *cas;
	uid_t job_uid;
	gid_t job_gid;
	int fuse_threads;
	bool passthrough;
	bool unprivileged;	  /* mosd is not root: each job in a user namespace of its own */
	unsigned start_timeout_s; /* connect to JOB, at most (a stalled peer holds a slot) */
	unsigned session_idle_s;  /* a session's EXIT to its next job, at most */
	unsigned peer_timeout_ms; /* an origin silent (if it answers keepalives) or not
				   * reading for this long is dropped (conn.h) */
	bool refuse_degraded;	  /* jobs asking --allow-degraded are refused */
	unsigned slots;		  /* jobs it runs at once, as STATUS reports (--slots) */
	uint64_t cache_limit;	  /* --cache-size, as STATUS reports */
	struct worker_counters *counters; /* shared by the connection processes; NULL: none */
};

/* A JOB frame's content, checked before anything acts on it. */
struct job_desc {
	struct mos_job j;
	char **argv, **env, **sandbox; /* j.nargv, j.nenv, j.nsandbox strings */
	char *cwd;		       /* absolute */
};

/* Parse a JOB frame's payload P (LEN bytes) into D (all zero before).  False
 * with *WHY set when it is malformed; free D with job_desc_free either way. */
bool job_desc_parse(const uint8_t *p, size_t len, struct job_desc *d, const char **why);
void job_desc_free(struct job_desc *d);

/* Serve the connection on RFD/WFD (closed here).  Returns 0 when a job ran
 * and EXIT was delivered, -errno otherwise (the reason is logged). */
int job_serve_connection(int rfd, int wfd, struct tls_channel *tls, const struct job_config *jc);

/* `mosd --job-child`: the job process, exec'd by the connection process
 * with its stdio, the ready socket on fd 3 and its description on fd 4.
 * Does not return. */
int job_exec_child(void) __attribute__((noreturn));
/* `mosd --job-spare`: a session's next job process, waiting for its job
 * (job.c spare_start), then as --job-child. */
int job_spare_child(void) __attribute__((noreturn));

#endif /* MOSD_JOB_H */
