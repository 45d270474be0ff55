/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * plan.h - a policy compiled for this kernel: every mechanism prepared (the
 * Landlock ruleset, the seccomp filter, the limits, the environment), and a
 * report of what enforces what.  Nothing runs yet; `mosctl check` prints the
 * plan, `mosctl run` hands it to sandbox_run().
 */
#ifndef MOS_PLAN_H
#define MOS_PLAN_H

#include <linux/filter.h>
#include <stdbool.h>

#include "cgroup.h"
#include "landlock.h"
#include "resource_limits.h"
#include "policy.h"
#include "report.h"
#include "unotify_plan.h"


struct mos_plan {
	enum mos_backend backend;
	struct mos_report rep;
	struct landlock_plan landlock;
	/* The supervisor (seccomp user notification) serves the file and
	 * network rules: --backend unotify, or auto without Landlock. */
	bool supervise;
	struct unotify_plan sup;
	/* --backend bpf: sup's network rules as cgroup BPF programs instead. */
	bool net_cgroup;
	/*
	 * --backend bpf where the BPF LSM is usable: a policy domain in the
	 * kernel (lsm_domain.h) enforces the file and network rules (sup holds
	 * the network rules with their hosts resolved); no Landlock ruleset.
	 */
	bool bpf_lsm;
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

/*
 * The environment the command gets: the caller's, or with CLEAN only PATH,
 * HOME, TERM and LANG from it; then SET applied in order.
 */
char **mos_env_build(char *const *caller, bool clean, char *const *set, size_t *n);

#endif /* MOS_PLAN_H */
