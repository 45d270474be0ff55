/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * supervise_ui.h - what mosctl hooks into the supervisor (unotify.h): the
 * audit lines (--audit, --json), the learning recorder that writes a policy
 * (--learn FILE), and the deciders for ask rules (the terminal, or
 * --decider CMD).  Documentation/supervisor.md describes each format.
 */
#ifndef MOSCTL_SUPERVISE_UI_H
#define MOSCTL_SUPERVISE_UI_H

#include <stdio.h>
#include <sys/types.h>

#include "options.h"
#include "unotify.h"

struct learned;

struct sup_ui {
	struct unotify_hooks hooks;
	FILE *audit; /* NULL: no audit */
	bool audit_close, json;
	const char *learn;
	struct learned *learned;
	/* asking */
	bool asks;
	int tty;	      /* /dev/tty, when no decider is given */
	pid_t decider;	      /* --decider CMD's process (and process group), 0 when none */
	int decider_pidfd;    /* ... as a pidfd: readable once it ended */
	bool decider_stopped; /* it broke the protocol: every question is denied */
	int unanswered;	      /* questions in a row it let time out without a word */
	int to_decider;	      /* its stdin (non-blocking) */
	int from_decider;     /* its stdout */
	char buf[4096];	      /* what it wrote and was not yet read: the longest line */
	size_t len;
	unsigned long id; /* the last question's number */
	int timeout_ms;
	int stop_fd; /* the asking supervisor's (unotify_event.stop_fd), or -1 */
};

/*
 * Set U up for O: open the audit file, start the decider (or open the
 * terminal) when the policy asks.  Returns 0 with U->hooks ready, or -errno
 * with E set.
 */
int sup_ui_start(struct sup_ui *u, const struct run_opts *o, struct mos_err *e);
/*
 * One line a --decider wrote (its newline dropped), as the answer to question
 * ID: 1 "always", 0 "allow" (this once), -EACCES "deny" (or any other word),
 * -ESRCH when the line's first number is not ID (it answers another
 * question, or none).  The verdict is the "verdict" member when the line is
 * a JSON object, else the first word (letters of either case) after the
 * id; only the exact words allow.  Pure: the decider's
 * output is untrusted input (fuzzed).
 */
int sup_decider_answer(const char *line, unsigned long id);

/* After the run: write the learned policy (--learn), end the decider (and
 * everything in its process group) and reap it.  Returns 0, or -errno
 * after saying why. */
int sup_ui_finish(struct sup_ui *u);

#endif /* MOSCTL_SUPERVISE_UI_H */
