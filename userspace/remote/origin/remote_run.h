/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * remote_run.h - run a command on a worker with this machine's files
 * (`mosctl run --on WORKER`).  Documentation/remote.md says what a job sees.
 */
#ifndef MOSCTL_REMOTE_RUN_H
#define MOSCTL_REMOTE_RUN_H

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

#endif /* MOSCTL_REMOTE_RUN_H */
