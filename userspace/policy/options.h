/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * options.h - mosctl's command line for `run` and `check`, turned into a
 * policy plus run settings.  Pure: no kernel, no I/O except reading a
 * --policy file, so the unit tests exercise it directly.
 */
#ifndef MOSCTL_OPTIONS_H
#define MOSCTL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

struct run_opts {
	struct mos_policy policy;
	enum mos_backend backend;
	int verbose;
	bool allow_degraded;
	bool help;
	char **command; /* argv of the command (into the caller's argv), or NULL */
	int ncommand;
	const char *on; /* --on WORKER, or NULL to run here */
	bool stats;
	bool no_local;	/* --no-local: a pool with no reachable worker fails */
	bool agent;	/* --agent: the job goes through this user's agent (a warm session) */
	char **forward; /* the sandbox flags in long form, for a worker (NULL-terminated) */
	size_t nforward;
	/* The supervisor's outputs and deciders (Documentation/supervisor.md). */
	bool audit;		 /* --audit[=FILE]: one line per denied access */
	const char *audit_file;	 /* NULL: stderr */
	bool json;		 /* --json: those lines as JSON */
	const char *learn;	 /* --learn FILE: write the policy this run needed */
	const char *decider;	 /* --decider CMD: answers --ask questions */
	uint64_t ask_timeout_ms; /* --ask-timeout SECS (default 30 s) */
};

/*
 * Parse ARGV (ARGV[0] is the subcommand name).  The policy file, if any, is
 * loaded first; flags then add rules and replace its scalar settings.
 * Returns 0, or -errno with E set (-EINVAL for a bad flag or policy, another
 * code when the policy file cannot be read).
 */
int options_parse(int argc, char **argv, struct run_opts *o, struct mos_err *e);
/*
 * options_parse without reading anything: the flags' rules only (a --policy
 * FILE is checked for but not loaded), relative paths taken relative to
 * BASE.  For a worker that must know the job's trees before it can enter
 * the job's view of the files, where the file lives.
 */
int options_parse_flags(int argc, char **argv, const char *base, struct run_opts *o,
			struct mos_err *e);
void options_free(struct run_opts *o);
void options_usage(FILE *out, const char *sub);

#endif /* MOSCTL_OPTIONS_H */
