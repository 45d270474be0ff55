// SPDX-License-Identifier: GPL-2.0-only
#include "resource_limits.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

int limits_plan(const struct mos_limits *lim, const struct mos_cgroup_caps *caps, uid_t uid,
		struct limits_plan *lp, struct mos_report *rep, struct mos_err *e)
{
	memset(lp, 0, sizeof(*lp));
	lp->lim = *lim;
	if (lim->memory) {
		lp->cgroup_memory = caps->memory_version != 0;
		if (lp->cgroup_memory)
			report_add(rep,
				   "limits: memory %llu bytes for the whole sandbox "
				   "(cgroup v%d) and per process (RLIMIT_AS)",
				   (unsigned long long)lim->memory, caps->memory_version);
		else
			report_add(rep,
				   "limits: memory %llu bytes per process (RLIMIT_AS); "
				   "no usable cgroup memory controller, so the tree as "
				   "a whole is bounded only by procs x memory",
				   (unsigned long long)lim->memory);
	}
	if (lim->procs) {
		if (caps->pids_version) {
			lp->cgroup_pids = true;
			report_add(rep,
				   "limits: at most %llu processes and threads "
				   "(cgroup v%d pids.max)",
				   (unsigned long long)lim->procs, caps->pids_version);
		} else if (uid != 0) {
			lp->rlimit_nproc = true;
			report_add(rep,
				   "limits: at most %llu processes and threads "
				   "(RLIMIT_NPROC in the sandbox's user namespace)",
				   (unsigned long long)lim->procs);
		} else {
			mos_err_set(e, "cannot enforce a process limit for uid 0: the kernel "
				       "exempts root from RLIMIT_NPROC and no cgroup pids "
				       "controller is writable here (mount cgroup2 with the "
				       "pids controller, or run as another user)");
			return -ENOTSUP;
		}
	}
	if (lim->open_files)
		report_add(rep, "limits: at most %llu open files per process (RLIMIT_NOFILE)",
			   (unsigned long long)lim->open_files);
	if (lim->cpu_s)
		report_add(rep, "limits: %llu s of CPU time per process (RLIMIT_CPU)",
			   (unsigned long long)lim->cpu_s);
	if (lim->timeout_ms)
		report_add(rep,
			   "limits: the whole tree is killed after %llu.%03llu s "
			   "(exit status 124)",
			   (unsigned long long)(lim->timeout_ms / 1000),
			   (unsigned long long)(lim->timeout_ms % 1000));
	return 0;
}

static int set2(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { soft, hard };
	struct rlimit cur;

	/* Never raise a limit the caller already has lower. */
	if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
		if (cur.rlim_max < rl.rlim_max)
			rl.rlim_max = cur.rlim_max;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_cur = rl.rlim_max;
	}
	return setrlimit(res, &rl) < 0 ? -errno : 0;
}

static int set1(int res, rlim_t v)
{
	return set2(res, v, v);
}

int limits_apply_rlimits(const struct limits_plan *lp)
{
	int r = set1(RLIMIT_CORE, 0);

	if (r == 0 && lp->lim.memory)
		r = set1(RLIMIT_AS, lp->lim.memory);
	if (r == 0 && lp->lim.open_files)
		r = set1(RLIMIT_NOFILE, lp->lim.open_files);
	/* SIGXCPU (catchable) at the limit, SIGKILL one second later. */
	if (r == 0 && lp->lim.cpu_s)
		r = set2(RLIMIT_CPU, lp->lim.cpu_s, lp->lim.cpu_s + 1);
	/* +1: the sandbox's init is one of the user namespace's processes. */
	if (r == 0 && lp->rlimit_nproc)
		r = set1(RLIMIT_NPROC, lp->lim.procs + 1);
	return r;
}
