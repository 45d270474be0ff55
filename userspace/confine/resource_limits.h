/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * resource_limits.h - how each resource limit of a policy is enforced here.
 *
 *   memory      RLIMIT_AS per process, plus a cgroup memory limit on the
 *               whole tree where a memory controller is usable
 *   procs       a cgroup pids.max where usable; otherwise RLIMIT_NPROC inside
 *               the sandbox's own user namespace (which counts only the
 *               sandbox's processes).  uid 0 is exempt from RLIMIT_NPROC, so
 *               root needs the cgroup.
 *   open_files  RLIMIT_NOFILE
 *   cpu         RLIMIT_CPU per process
 *   timeout     a timer in mosctl that kills the whole tree
 * Core dumps are always off (RLIMIT_CORE 0): a dump would be written outside
 * the policy's view.
 */
#ifndef MOS_RESOURCE_LIMITS_H
#define MOS_RESOURCE_LIMITS_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "policy.h"
#include "report.h"

struct limits_plan {
	struct mos_limits lim;
	bool cgroup_pids;
	bool cgroup_memory;
	bool rlimit_nproc; /* needs the user namespace */
};

/* Decide; a limit that cannot be enforced is an error (E set). */
int limits_plan(const struct mos_limits *lim, const struct mos_cgroup_caps *caps, uid_t uid,
		struct limits_plan *lp, struct mos_report *rep, struct mos_err *e);
/* In the sandboxed command, before exec.  0 or -errno. */
int limits_apply_rlimits(const struct limits_plan *lp);

#endif /* MOS_RESOURCE_LIMITS_H */
