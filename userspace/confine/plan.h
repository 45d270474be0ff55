/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * plan.h - a policy compiled for this kernel: the backends selected
 * (backend.h), the rules compiled once (file grants, network rules with
 * their host names resolved), each backend's mechanism prepared from them
 * (the Landlock ruleset, the supervisor's policy), the seccomp filter, the
 * limits, the environment, and a report of what enforces what.  Nothing
 * runs yet; `mosctl check` prints the plan, run.h runs it.
 */
#ifndef MOS_PLAN_H
#define MOS_PLAN_H

#include <linux/filter.h>
#include <stdbool.h>

#include "backend.h"
#include "cgroup.h"
#include "landlock.h"
#include "mounts.h"
#include "resource_limits.h"
#include "policy.h"
#include "report.h"
#include "rules.h"
#include "unotify_plan.h"

struct mos_plan {
	enum mos_backend backend;
	struct mos_selection sel;
	char bpf_lsm_why[160]; /* --backend bpf: what the BPF LSM probe found */
	struct mos_report rep;

	/*
	 * The rules, compiled once for every backend: the file grants (for
	 * the newest ABI, with the mount view; Landlock masks them to its
	 * ABI), with their report lines, and the network rules.  No file
	 * grants where only Landlock would serve them and it is unavailable.
	 */
	struct landlock_grants files;
	struct mos_report files_rep;
	bool have_files;
	struct mos_net_rules net;
	/* The sandbox's mounts (mounts.h), applied when HAVE_FILES. */
	struct mos_fs_view view;
	bool proc_visible; /* the grants reach /proc: the sandbox gets its own */

	/* What the backends compiled from them. */
	struct landlock_plan landlock; /* ruleset_fd -1 when Landlock is not used */
	struct unotify_plan sup;

	const struct sock_fprog *seccomp;
	struct mos_cgroup_caps cgcaps;
	struct limits_plan limits;
	bool need_pidns;
	char **envp;
	size_t nenv;
};

int mos_plan_build(const struct mos_policy *p, enum mos_backend b, struct mos_plan *plan,
		   struct mos_err *e);
void mos_plan_free(struct mos_plan *plan);

/* Whether backend M serves a part of PLAN. */
static inline bool mos_plan_uses(const struct mos_plan *plan, enum mos_mech m)
{
	return plan->sel.mechs & MOS_MECH_BIT(m);
}

/*
 * The environment the command gets: the caller's, or with CLEAN only PATH,
 * HOME, TERM and LANG from it; then SET applied in order.
 */
char **mos_env_build(char *const *caller, bool clean, char *const *set, size_t *n);

#endif /* MOS_PLAN_H */
