/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * jobserver.h - a client of GNU make's jobserver (MAKEFLAGS
 * --jobserver-auth=R,W, the older --jobserver-fds=R,W, and make 4.4's
 * --jobserver-auth=fifo:PATH), so that a process make started that runs
 * more than one job at once takes a token for each job beyond the first
 * (the one make gave it) and gives every token back.
 */
#ifndef MOS_JOBSERVER_H
#define MOS_JOBSERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum jobserver_kind { JOBSERVER_NONE, JOBSERVER_PIPE, JOBSERVER_FIFO };

struct jobserver_auth {
	enum jobserver_kind kind;
	int rfd, wfd;	     /* JOBSERVER_PIPE */
	char path[PATH_MAX]; /* JOBSERVER_FIFO */
};

/*
 * MAKEFLAGS into A (pure): the last --jobserver-auth= or --jobserver-fds=
 * word decides.  Returns 1 with A filled, 0 when MAKEFLAGS names no
 * jobserver (or is NULL), -EINVAL when the word is malformed.
 */
int jobserver_parse(const char *makeflags, struct jobserver_auth *a);

struct jobserver {
	int rfd, wfd; /* descriptions of our own, non-blocking */
	size_t held;  /* tokens taken and not yet given back */
	char tokens[256];
};

/*
 * Open what A names: the pipe's descriptors must be open FIFOs (reopened
 * through /proc/self/fd, so that O_NONBLOCK is ours and not make's), a
 * fifo path must be a FIFO.  Returns 0, or -errno with WHY set.
 */
int jobserver_open(const struct jobserver_auth *a, struct jobserver *js, char *why, size_t len);
/* Take one token if one is free now: 1 taken, 0 none free, -errno. */
int jobserver_try_take(struct jobserver *js);
/* Give one token back (a job that held it has ended). */
void jobserver_give(struct jobserver *js);
/* Give back every token held, and close. */
void jobserver_close(struct jobserver *js);

#endif
