/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach_landlock.h - confine a process that is already running, without
 * BPF LSM: stop it (ptrace_inject.h) and make it confine itself, as `mosctl
 * run` makes a sandbox's init do:
 *
 *   one thread     landlock_create_ruleset, then openat(O_PATH) +
 *                  landlock_add_rule per rule: paths are opened by the
 *                  process itself, in its own mount namespace
 *   every thread   securebits locked, the bounding and ambient sets
 *                  emptied, capset() to nothing, PR_SET_NO_NEW_PRIVS
 *                  (capabilities are per thread), checked in
 *                  /proc/PID/task/TID/status
 *   one thread     seccomp(SET_MODE_FILTER, TSYNC, the run filter plus no
 *                  metadata changes): every thread gets it at once, or none
 *   every thread   landlock_restrict_self (Landlock restricts one thread
 *                  at a time)
 *
 * Threads and children created afterwards inherit all of it from their
 * creator.  Nothing can be lifted again (that is the point of Landlock and
 * seccomp): a second attach stacks another layer, which can only take
 * access away (`mosctl update`).  Fds the process opened before keep
 * working: re-checking them (--revoke) needs BPF LSM.
 */
#ifndef MOS_ATTACH_LANDLOCK_H
#define MOS_ATTACH_LANDLOCK_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "landlock.h"
#include "policy.h"
#include "report.h"

/* A file as the plan found it: the target's rule must land on the same one. */
struct attach_file_id {
	uint64_t dev, ino;
};

/* A policy compiled for attaching: no mount namespace, no pid namespace. */
struct attach_plan {
	struct landlock_plan lp;
	struct landlock_rules lr;
	struct mos_net_rules net;   /* host names resolved once, for the report */
	struct attach_file_id *ids; /* of each lr.fs.v[i], when the plan was made */
	const struct sock_fprog *seccomp;
	struct mos_report rep; /* what enforces what; weak rules refuse unless degraded */
};

/*
 * Refuse (-EINVAL, E set) what cannot apply to a running process, whatever
 * enforces the rest: limits, environment, working directory, --ask/--learn.
 */
int attach_policy_check(const struct mos_policy *p, struct mos_err *e);
/*
 * Compile P for attaching through ptrace (attach_policy_check() first).  Refuses (-EINVAL, E set) what
 * cannot apply to a running process: limits, environment, working
 * directory, --ask/--learn, and Landlock missing altogether.
 */
int attach_plan_build(const struct mos_policy *p, struct attach_plan *ap, struct mos_err *e);
void attach_plan_free(struct attach_plan *ap);

struct inj_proc;

/*
 * Apply AP to the stopped process P (every thread; inj_seize() or
 * inj_tree_seize()).  Returns 0 with *NTHREADS set, or -errno with E saying
 * what happened; when the failure came after some threads were confined, E
 * says so and *NTHREADS counts them.  Every thread is checked afterwards
 * (no capability, no_new_privs, the seccomp filter).
 */
int attach_landlock_apply(struct inj_proc *p, const struct attach_plan *ap, size_t *nthreads,
			  struct mos_err *e);
/*
 * The credential part alone, in every thread of the stopped process P:
 * what `mosctl run` leaves a command (every capability set empty where the
 * kernel allows it, securebits locked, no_new_privs), checked in /proc.
 * The BPF LSM path does this too; nothing of it can be lifted again.
 * *NDONE counts the threads done.
 */
int attach_privileges_drop(struct inj_proc *p, size_t *ndone, struct mos_err *e);
/*
 * When process PID runs as uid 0 (any of its uids): refuse (-EPERM, E set)
 * a directory grant of G through which uid 0 without capabilities would
 * still reach the devices (read) or the kernel's settings (write).  With
 * IDS (G's files as a plan found them), a grant whose path names another
 * file now is refused too (-ESTALE): the check must judge what is applied.
 */
int attach_uid0_check(pid_t pid, const struct landlock_grants *g, const struct attach_file_id *ids,
		      struct mos_err *e);

#endif /* MOS_ATTACH_LANDLOCK_H */
