/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cgroup.h - a cgroup per sandbox, for limits that rlimits cannot express:
 * the total memory of the whole tree, and the number of its processes when
 * the caller is root (the kernel exempts uid 0 from RLIMIT_NPROC).
 *
 * cgroup v2 is used where mosctl may create a sibling or child cgroup with the
 * controllers enabled (root, or a delegated subtree); cgroup v1 hierarchies
 * are used as a fallback by root on hybrid systems.
 */
#ifndef MOS_CGROUP_H
#define MOS_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "policy.h"

#define MOS_CGROUP_MAX_DIRS 2

struct mos_cgroup {
	int version;			 /* 0: none, 1 or 2 */
	char *dirs[MOS_CGROUP_MAX_DIRS]; /* created directories */
	size_t ndirs;
	const char *v2_dir; /* the one of DIRS on the v2 hierarchy, or NULL */
	bool pids;	    /* pids.max is in force */
	bool memory;	    /* a memory limit is in force */
};

struct mos_cgroup_caps {
	int pids_version; /* 0: no usable pids controller */
	int memory_version;
	char pids_parent[4096]; /* directory under which a cgroup would be made */
	char memory_parent[4096];
};

/* Find where this process could create a cgroup; no side effects. */
void cgroup_probe(struct mos_cgroup_caps *caps);
/* The directory of this process's cgroup in the v2 hierarchy, if mounted. */
bool cgroup_v2_dir(char *out, size_t n);
/*
 * Create a cgroup for a sandbox with LIM's memory and process limits (the
 * process limit counts the sandbox's init too, so pids.max is procs + 1).
 * Returns 0, or -errno with E set.
 */
int cgroup_create(struct mos_cgroup *cg, const struct mos_cgroup_caps *caps,
		  const struct mos_limits *lim, struct mos_err *e);
int cgroup_attach(const struct mos_cgroup *cg, pid_t pid, struct mos_err *e);
/* True when the memory limit was hit (an OOM kill happened). */
bool cgroup_oom_killed(const struct mos_cgroup *cg);
/* Kill what is left in the cgroup and remove it. */
void cgroup_destroy(struct mos_cgroup *cg);

#endif /* MOS_CGROUP_H */
