/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach_bpf.h - attach, update, detach and events through the BPF LSM
 * (lsm_domain.h): the process is put in a policy domain held by the
 * kernel's BPF programs, through a pidfd.  Used by mosctl as root, and by
 * mosd --controller for the users it serves (struct attach_actor).
 */
#ifndef MOSCTL_ATTACH_BPF_H
#define MOSCTL_ATTACH_BPF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach.h"
#include "attach_registry.h"
#include "options.h"

struct attach_args {
	pid_t pid;
	bool tree;
	bool revoke;
	bool update;
	struct run_opts o;
};

struct inj_proc;
struct mos_err;

struct attach_walk_ops {
	/* Before PID is stopped (NULL: any): 0, or -errno with E set. */
	int (*may)(pid_t pid, void *arg, struct mos_err *e);
	/* Every process of the stopped tree, before anything is applied: 0, or
	 * -errno with E set to refuse the whole attach (nothing changed). */
	int (*check)(pid_t pid, void *arg, struct mos_err *e);
	/* Confine one stopped process; prints its own errors. */
	int (*apply)(struct inj_proc *p, void *arg);
};

/*
 * Stop PID and, with TREE, every descendant, all at once (inj_tree_seize:
 * nothing in the tree forks or exits until it is released, so no process
 * created between the walk and the confinement escapes), CHECK each, then
 * APPLY to each, parents before children, and release them.  Returns the
 * error for PID itself (nothing is applied to the others), else the number
 * of descendants that could not be stopped or confined; *N counts the
 * processes done.
 */
int attach_walk(pid_t pid, bool tree, const struct attach_walk_ops *ops, void *arg, size_t *n);
/* Whether WHO may act on process PID as ptrace would allow (root: any;
 * otherwise PID's uids and gids all WHO's, and no capabilities).  0 or
 * -EPERM with E set. */
int attach_may_act_on(const struct attach_actor *who, pid_t pid, struct mos_err *e);

struct lsm_ctl;
/* Use C (mosd --controller's, opened once as root) instead of opening the
 * pins for each command. */
void attach_bpf_use(struct lsm_ctl *c);

/* attach / update (A->update) through the BPF LSM; an exit status. */
int attach_bpf(const struct attach_args *a, const struct attach_actor *who);
int detach_bpf(pid_t pid, const struct attach_actor *who);
int events_bpf(bool follow, bool json, const struct attach_actor *who);
/* OUT[i]: the denials counted for V[i]'s domain, -1 when it has none or
 * they cannot be read. */
void attach_bpf_denials(const struct attach_entry *v, size_t n, long long *out);

#endif /* MOSCTL_ATTACH_BPF_H */
