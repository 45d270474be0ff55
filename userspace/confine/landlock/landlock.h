/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * landlock.h - compile a policy into a Landlock ruleset, adapting to the ABI
 * the kernel offers (1..7).
 *
 * Landlock only grants.  A deny beneath an allowed tree is compiled by
 * granting, instead of the tree, every entry of each directory on the way
 * down to the denied path except the one leading to it ("splitting").  The
 * directories split this way cannot be listed and nothing new can be created
 * directly in them; Documentation/policy.md explains the limits.
 *
 * Compilation runs in mosctl before the sandbox starts (errors are reported
 * before anything runs); landlock_enforce() is the one call the sandbox's
 * init makes.
 */
#ifndef MOS_LANDLOCK_H
#define MOS_LANDLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "landlock_compat.h"
#include "mounts.h"
#include "policy.h"
#include "report.h"

/* Refuse to compile more rules than this (a split of a huge directory). */
#define MOS_LANDLOCK_MAX_RULES 65536

struct landlock_grant {
	char *path;	 /* real path */
	uint64_t rights; /* LANDLOCK_ACCESS_FS_* (masked to the file type) */
};

struct landlock_grants {
	struct landlock_grant *v;
	size_t n;
	/* The real paths every deny rule names (NULL-terminated): what the
	 * supervisor backend refuses by name. */
	char **denied;
	size_t ndenied;
};

struct landlock_plan {
	int abi;
	int ruleset_fd; /* -1 when Landlock is not used */
	uint64_t handled_fs, handled_net, scoped;
	size_t nfs_rules, nnet_rules;
	/*
	 * /proc is reachable (a rule on /proc, beneath it, or above it): the
	 * sandbox then gets its own /proc, and the rules beneath /proc are
	 * added again on that new mount (landlock_add_proc_rules).
	 */
	bool proc_visible;
	struct landlock_grants proc_grants;
	/*
	 * The mount-namespace side of the file rules (mounts.h), when the
	 * plan was made for a sandbox with its own mount namespace.
	 */
	bool with_mounts;
	struct mos_fs_view view;
};

/* Landlock rights for a mos_fs_access mask at ABI (0 when ABI is 0). */
uint64_t landlock_fs_rights(uint32_t access, int abi);
uint64_t landlock_handled_fs(int abi);

/*
 * Turn P's file rules (and --system, and the always-granted devices) into the
 * grants to add: real paths, rights masked to what each file type accepts.
 * With VIEW (the sandbox will have a mount namespace), an existing denied path
 * beneath an allowed tree goes into VIEW->masked and the tree is granted
 * whole; writable trees go into VIEW->writable.  Without VIEW, or for a denied
 * path that does not exist yet, the tree is split: its other entries are
 * granted one by one.  Touches the filesystem (realpath, readdir), not
 * Landlock.
 */
int landlock_grants_build(const struct mos_policy *p, int abi, struct mos_fs_view *view,
			  struct landlock_grants *g, struct mos_report *rep, struct mos_err *e);
void landlock_grants_free(struct landlock_grants *g);

/*
 * Build the ruleset, for a sandbox with its own mount namespace when
 * WITH_MOUNTS.  Records weak rules in REP when ABI is too old.  HOSTS_BY,
 * when not NULL, names what checks the hosts of --net-allow next to
 * Landlock's ports ("the supervisor", "cgroup BPF"), so those rules are not
 * weak.
 */
int landlock_compile(const struct mos_policy *p, int abi, bool with_mounts, const char *hosts_by,
		     struct landlock_plan *lp, struct mos_report *rep, struct mos_err *e);
/*
 * What landlock_compile() would give the kernel, without a Landlock call:
 * the ruleset's attributes, its path rules (real paths, opened by whoever
 * applies them) and its TCP port rules.  LP is filled as landlock_compile()
 * fills it, but with no ruleset fd.  `mosctl attach` applies these inside
 * another process (attach_landlock.h).
 */
struct landlock_rules {
	struct mos_landlock_ruleset_attr attr;
	size_t attr_size; /* 0 when ABI < 1: nothing to apply */
	struct landlock_grants fs;
	struct mos_landlock_net_port_attr *net;
	size_t nnet;
};
int landlock_rules_build(const struct mos_policy *p, int abi, bool with_mounts,
			 const char *hosts_by, struct landlock_plan *lp, struct landlock_rules *lr,
			 struct mos_report *rep, struct mos_err *e);
void landlock_rules_free(struct landlock_rules *lr);
/*
 * The file side of a plan with no Landlock ruleset (the supervisor backend):
 * the mount view and /proc's visibility as landlock_compile() would set
 * them, and the grants in G (computed for the newest ABI, so that the rights
 * say what each rule allows whatever this kernel's Landlock can do).
 */
int landlock_plan_without_ruleset(const struct mos_policy *p, struct landlock_plan *lp,
				  struct landlock_grants *g, struct mos_report *rep,
				  struct mos_err *e);
/*
 * In the sandbox, after mounting its own /proc: grant on the new mount what
 * the policy grants beneath /proc.  0 or -errno.
 */
int landlock_add_proc_rules(const struct landlock_plan *lp);
/* In the sandbox: restrict the calling thread (NO_NEW_PRIVS must be set). */
int landlock_enforce(const struct landlock_plan *lp);
void landlock_plan_release(struct landlock_plan *lp);

#endif /* MOS_LANDLOCK_H */
