/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * run.h - the one run pipeline of `mosctl run` and of a remote job on a
 * worker: policy -> plan (backends selected, rules compiled once: plan.h)
 * -> the weak-rule check (refuse, or with --allow-degraded warn) -> the
 * report with -v -> the sandbox's configuration -> sandbox_run().
 *
 * The callers keep only what is theirs: mosctl its deciders and recorders
 * for the supervisor (hooks), mosd the ids and the pty of the job (fields
 * of R->sc, set between mos_run_prepare() and mos_run_exec()).
 */
#ifndef MOS_RUN_H
#define MOS_RUN_H

#include <stdbool.h>

#include "plan.h"
#include "policy.h"
#include "sandbox.h"

struct mos_run_args {
	enum mos_backend backend;
	char *const *argv; /* the command */
	bool allow_degraded;
	bool verbose;	      /* print the report on stderr */
	const char *progname; /* "mosctl", "mosd": messages and the report's prefix */
	const char *where;    /* the machine in the weak-rule messages ("this worker");
				 NULL: this kernel */
};

struct mos_run {
	struct mos_plan plan;
	struct sandbox_config sc;
	bool planned;
};

/*
 * Compile P (which must outlive R) for this kernel and check the plan's
 * weak rules.  0: R->sc is ready to run.  -ECANCELED: a weak rule refused
 * it (each was printed, E is empty).  Any other -errno: E says why.  R is
 * freed by mos_run_free() whatever the outcome.
 */
int mos_run_prepare(struct mos_run *r, const struct mos_policy *p, const struct mos_run_args *a,
		    struct mos_err *e);
/* Whether the supervisor serves the files (so R->sc.hooks are called). */
bool mos_run_supervised(const struct mos_run *r);
/* Run the command confined; its exit status (sandbox.h). */
int mos_run_exec(struct mos_run *r);
void mos_run_free(struct mos_run *r);

#endif /* MOS_RUN_H */
