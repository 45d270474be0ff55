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
#include "rules.h"

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
 * Landlock.  Built for MOS_LANDLOCK_ABI_NEWEST, the grants are the same
 * paths as for any older ABI, with more rights: masked to an ABI's
 * landlock_handled_fs() they are what that ABI would have given.
 */
int landlock_grants_build(const struct mos_policy *p, int abi, struct mos_fs_view *view,
			  struct landlock_grants *g, struct mos_report *rep, struct mos_err *e);
void landlock_grants_free(struct landlock_grants *g);
/* Whether a grant is /proc, beneath it or above it. */
bool landlock_grants_reach_proc(const struct landlock_grants *g);

/*
 * The ruleset of a sandbox with its own mount namespace, from the plan's
 * grants G (built once, for the newest ABI, with the mount view; their
 * report lines in GRANT_LINES) masked to ABI.  Records weak rules in REP
 * when ABI is too old.  HOSTS_BY, when not NULL, names what checks the
 * hosts of --net-allow next to Landlock's ports ("the supervisor", "cgroup
 * BPF"), so those rules are not weak; NET holds those hosts' addresses
 * (rules.h), for the report.
 */
int landlock_compile_grants(const struct mos_policy *p, const struct landlock_grants *g,
			    const struct mos_report *grant_lines, int abi, const char *hosts_by,
			    const struct mos_net_rules *net, struct landlock_plan *lp,
			    struct mos_report *rep, struct mos_err *e);
/*
 * The same for a sandbox without a mount namespace of its own (the
 * fallback of sandbox.c): its grants are built here, at ABI, splitting the
 * trees around every denied path.
 */
int landlock_compile(const struct mos_policy *p, int abi, const char *hosts_by,
		     const struct mos_net_rules *net, struct landlock_plan *lp,
		     struct mos_report *rep, struct mos_err *e);
/*
 * A ruleset that handles no file or network access, only scoping of
 * signals and abstract unix sockets (from ABI 6; before, LP gets no
 * ruleset): what the BPF LSM, which has no hook for those, leaves to
 * Landlock.
 */
int landlock_compile_scope(int abi, struct landlock_plan *lp, struct mos_report *rep,
			   struct mos_err *e);
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
int landlock_rules_build(const struct mos_policy *p, int abi, const char *hosts_by,
			 const struct mos_net_rules *net, struct landlock_plan *lp,
			 struct landlock_rules *lr, struct mos_report *rep, struct mos_err *e);
void landlock_rules_free(struct landlock_rules *lr);
/*
 * In the sandbox, after mounting its own /proc: grant on the new mount what
 * the policy grants beneath /proc.  0 or -errno.
 */
int landlock_add_proc_rules(const struct landlock_plan *lp);
/* In the sandbox: restrict the calling thread (NO_NEW_PRIVS must be set). */
int landlock_enforce(const struct landlock_plan *lp);
void landlock_plan_release(struct landlock_plan *lp);

#endif /* MOS_LANDLOCK_H */
