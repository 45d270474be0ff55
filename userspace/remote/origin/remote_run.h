/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * remote_run.h - run a command on a worker with this machine's files
 * (`mosctl run --on WORKER`).  Documentation/remote.md says what a job sees.
 */
#ifndef MOSCTL_REMOTE_RUN_H
#define MOSCTL_REMOTE_RUN_H

#include <stddef.h>
#include <stdint.h>

#include <mosingar/protocol.h>

#include "options.h"

#define MOSD_DEFAULT_PORT "4977"

/* What remote_run() returns when no worker of a pool (a list or @NAME)
 * could take the job and --no-local is not given: the caller runs the job
 * here, through the local sandbox with the options as remote_run() left
 * them: -t cut to what the tries left of it, and, when no file rule was
 * given, the remote default (read /, write the cwd and /tmp) made explicit. */
#define REMOTE_RUN_HERE (-1)

/* Returns the job's exit status as mosctl reports it; 255 when the worker
 * could not be reached or was lost before the job ended; REMOTE_RUN_HERE. */
int remote_run(struct run_opts *o);
/* Set when remote_run() returned 255 because the worker was lost after the
 * job had asked for changes here: a caller that knows the job can run
 * again whatever it wrote (a compile) may run it again itself. */
extern bool remote_run_lost_after_changes;

/* Where keys, known_workers and pools/NAME are: $MOS_CONFIG_DIR, else
 * ~/.config/mosingar (malloc'd). */
char *remote_config_dir(void);

/*
 * Ask WORKER (a pool's spelling of one) for its report: connect, HELLO,
 * STATUS, close, all within TIMEOUT_MS.  0 with *ST and the STATUS round
 * trip in *RTT_US, or -errno with ERR saying why (unreachable, refused,
 * silent; -EOPNOTSUPP: reachable, but too old a mosd to report).
 */
int remote_worker_status(const char *worker, unsigned timeout_ms, struct mos_status *st,
			 uint64_t *rtt_us, char *err, size_t errlen);

#endif /* MOSCTL_REMOTE_RUN_H */
