/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sandbox.h - start a command confined by a compiled plan and wait for it.
 *
 * Process tree:
 *
 *   mosctl (unconfined: timeout, signal forwarding, cgroup, exit status,
 *    |      the backends' kernel objects, and the supervisor's threads)
 *    `- init   pid 1 of a new pid namespace, in a new user namespace that maps
 *        |     only the caller's uid/gid; confined like the command
 *        `- command   its own process group; rlimits; execve
 *
 * When init exits, the kernel kills everything left in the pid namespace, so
 * no process outlives the command.  Where a user namespace cannot be made,
 * root gets a pid namespace alone, and otherwise mosctl falls back to
 * reaping the tree itself as a child subreaper (said with -v).
 */
#ifndef MOS_SANDBOX_H
#define MOS_SANDBOX_H

#include <linux/filter.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "landlock.h"
#include "plan.h"
#include "resource_limits.h"
#include "unotify.h"

/* Exit statuses, after env(1) and timeout(1). */
#define MOS_EXIT_TIMEOUT 124
#define MOS_EXIT_SETUP 125
#define MOS_EXIT_NOEXEC 126
#define MOS_EXIT_NOTFOUND 127

struct sandbox_config {
	const struct mos_policy *policy; /* to recompile for the no-namespace fallback */
	/* Which backends serve the policy, and what they compiled. */
	const struct mos_plan *plan;
	char *const *argv;
	char **envp;
	const char *cwd; /* NULL: inherit */
	/* The sandbox's mounts; NULL: none (no backend serves the files). */
	const struct mos_fs_view *view;
	bool own_proc; /* the policy grants /proc: the sandbox gets its own */
	/* The Landlock ruleset to enforce (the plan's, or the fallback's). */
	const struct landlock_plan *landlock;
	/* The supervisor's deciders and recorders, or NULL. */
	const struct unotify_hooks *hooks;
	const struct sock_fprog *seccomp;
	const struct limits_plan *limits;
	const struct mos_cgroup_caps *cgcaps;
	bool need_pidns;      /* signals can be isolated only by a pid namespace */
	bool allow_degraded;  /* e.g. run with the caller's /proc if no new one can be made */
	const char *progname; /* for messages from inside the sandbox */
	/* Ids the command sees in its user namespace (a remote job: the origin
	 * user's); without MAP_IDS, the caller's own. */
	bool map_ids;
	uid_t inner_uid;
	gid_t inner_gid;
	/* stdin is a pty private to this sandbox (a remote job's): make it the
	 * controlling terminal, the command its foreground process group. */
	bool tty;
	/* The caller blocked the forwarded signals (SIGINT, SIGTERM, ...) to keep
	 * them queued until the sandbox forwards them; the command must not
	 * inherit that block. */
	bool unblock_forwarded;
};

/* A configuration that runs ARGV under PLAN, compiled from policy P; the
 * caller may then set the fields for special cases (ids, tty, ...). */
void sandbox_config_from_plan(struct sandbox_config *c, const struct mos_policy *p,
			      const struct mos_plan *plan, char *const *argv, bool allow_degraded,
			      const char *progname);

/* Run C->argv confined; returns the exit status mosctl should use. */
int sandbox_run(const struct sandbox_config *c);

#endif /* MOS_SANDBOX_H */
