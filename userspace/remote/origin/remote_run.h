/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * remote_run.h - run a command on a worker with this machine's files
 * (`mosctl run --on WORKER`).  Documentation/remote.md says what a job sees.
 */
#ifndef MOSCTL_REMOTE_RUN_H
#define MOSCTL_REMOTE_RUN_H

#include "options.h"

#define MOSD_DEFAULT_PORT "4977"

/* Returns the job's exit status as mosctl reports it; 255 when the worker
 * could not be reached or was lost before the job ended. */
int remote_run(const struct run_opts *o);

#endif /* MOSCTL_REMOTE_RUN_H */
