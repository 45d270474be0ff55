/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backend.h - the mechanisms that enforce a policy's file and network
 * rules, and which of them serve a given policy on a given kernel.
 *
 * Four mechanisms ("backends"): Landlock (files, TCP ports, scoping of
 * signals and abstract unix sockets), the supervisor (seccomp user
 * notification: files and network, or the network alone next to Landlock;
 * the only one for ask rules and --learn), cgroup BPF (the network, next to
 * Landlock) and the BPF LSM (files and network in the kernel).  The seccomp
 * deny-list, the namespaces, the mounts and the limits are not backends:
 * every sandbox has them.
 *
 * Which backends serve a policy is mos_backend_select(): a pure function of
 * what the kernel offers, what the policy needs and what --backend asked
 * for (tests/unit/test_backend_select.c is its table).  What each backend
 * does, and when, is its entry in mos_backends[]: one set of hooks, called
 * by the plan (compile, release) and by sandbox_run() (the rest), in the
 * table's order.
 */
#ifndef MOS_BACKEND_H
#define MOS_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpf_lsm_probe.h"
#include "net_cgroup.h"
#include "policy.h"

enum mos_mech {
	MOS_MECH_LANDLOCK = 0,
	MOS_MECH_SUPERVISOR = 1,
	MOS_MECH_NET_CGROUP = 2,
	MOS_MECH_BPF_LSM = 3,
	MOS_MECH_COUNT,
	MOS_MECH_NONE = MOS_MECH_COUNT,
};

#define MOS_MECH_BIT(m) (1U << (m))

/* What the kernel offers, as probed (kernel_features.h, bpf_lsm_probe.h). */
struct mos_kernel_caps {
	int landlock_abi;	  /* 0: no Landlock; MOS_LANDLOCK_ABI may lower it */
	enum mos_bpf_lsm bpf_lsm; /* how far the BPF LSM probe got; probed for --backend bpf
				     only (the probe costs a program load) */
};

/* What the policy needs of its backends. */
struct mos_policy_needs {
	bool ask;	  /* --ask fs:PATH or --ask net: a decider at run time */
	bool learn;	  /* --learn: everything allowed and recorded */
	bool host_rules;  /* --net-allow HOST:PORT: an address check, not a port check */
	bool net_rules;	  /* any --net-allow or --net-bind */
	bool allow_udp;	  /* --allow-udp: UDP to the connect rules' destinations */
	bool grants_proc; /* the file grants reach /proc (looked at for --backend bpf with a
			     usable BPF LSM only: its domain cannot name the sandbox's own
			     /proc, made after it) */
};

struct mos_selection {
	/* Non-NULL: this policy cannot run so here; a sentence for the user. */
	const char *refusal;
	/* Who serves the file rules: LANDLOCK (weak at ABI 0), SUPERVISOR or
	 * BPF_LSM. */
	enum mos_mech files;
	/* Who judges each TCP connect and bind by address and port:
	 * SUPERVISOR, NET_CGROUP or BPF_LSM; LANDLOCK: by port only (ABI >= 4);
	 * NONE: nobody (weak if the policy has network rules). */
	enum mos_mech net;
	unsigned int mechs;	  /* MOS_MECH_BIT() of every backend used */
	int landlock_abi;	  /* the ABI Landlock is used at; 0 with the supervisor
				      alone (it uses no Landlock at all) */
	bool landlock_scope_only; /* Landlock only scopes signals and abstract unix
				      sockets (next to the BPF LSM; ABI >= 6) */
	bool lsm_declined_proc;	  /* the BPF LSM is usable but the policy grants /proc:
				      Landlock and cgroup BPF instead */
	unsigned int sup_trap;	  /* the supervisor's filter: UNOTIFY_TRAP_* */
	bool pidns_for_signals;	  /* signals are kept in by a pid namespace (no Landlock
				      scoping) */
	bool deny_inet;		  /* no backend judges the network and the policy has no
				      network rule: no IP socket may exist */
};

/* The selection: pure, no probe, no allocation.  OUT is filled whole. */
void mos_backend_select(const struct mos_kernel_caps *k, const struct mos_policy_needs *n,
			enum mos_backend asked, struct mos_selection *out);
/* What checks the hosts of --net-allow next to Landlock's ports when NET
 * judges connect and bind ("the supervisor", "cgroup BPF"), or NULL. */
const char *mos_backend_hosts_by(enum mos_mech net);
/* The needs of P (all but grants_proc, which takes the compiled grants). */
void mos_policy_needs_of(const struct mos_policy *p, struct mos_policy_needs *n);

struct mos_plan;
struct sandbox_config;
struct lsm_ctl;
struct sup_serve;

/* A sandbox being started, as the hooks see it (sandbox_run() owns it). */
struct mos_backend_run {
	const struct sandbox_config *c;
	const char *cgroup_v2_dir; /* the limits' cgroup v2 directory, or NULL */
	pid_t init;		   /* once cloned */
	bool own_mounts;	   /* init has its own mount namespace */
	int gofd;		   /* mosctl -> init: go on (a serving backend says it again) */
	/* the backends' state */
	struct net_cgroup ncg;
	struct lsm_ctl *lsm;
	uint32_t domain;
	struct sup_serve *sup;
};

/* The sandbox's pipes as init sees them (sandbox.c). */
struct mos_init_fds {
	int go, status, err;
};

struct mos_backend_ops {
	const char *name;
	/* Plan, for `mosctl run` and `check`: compile the rules this backend
	 * serves into PLAN (the selection says which) and add to its report.
	 * Nothing is left in the kernel but a Landlock ruleset's fd. */
	int (*compile)(struct mos_plan *plan, const struct mos_policy *p, struct mos_err *e);
	/* Free what compile made. */
	void (*release)(struct mos_plan *plan);
	/* mosctl, after the limits' cgroup, before init is cloned: what
	 * must exist in the kernel before the sandbox does. */
	int (*before_clone)(struct mos_backend_run *r, struct mos_err *e);
	/* mosctl: init is cloned and waits for go; put it under this backend. */
	int (*attach)(struct mos_backend_run *r, struct mos_err *e);
	/* init, its mounts made, NO_NEW_PRIVS set, before the deny-list
	 * filter: confine itself.  NULL, or the step that failed (*ERR). */
	const char *(*in_init)(const struct sandbox_config *c, int *err);
	/* init, after the deny-list filter, last before the command: the same.
	 * May exchange messages with mosctl over FDS and wait for go. */
	const char *(*in_init_last)(const struct sandbox_config *c, const struct mos_init_fds *fds,
				    int *err);
	/* mosctl, when init hands over LFD and ROOTFD (its fd numbers: a
	 * listener and its "/"): serve them from here, then say go.  A backend
	 * with this hook keeps init's go pipe open until in_init_last. */
	int (*serve)(struct mos_backend_run *r, int lfd, int rootfd, struct mos_err *e);
	/* mosctl, the sandbox gone (or never started): undo the above. */
	void (*cleanup)(struct mos_backend_run *r);
};

extern const struct mos_backend_ops mos_backends[MOS_MECH_COUNT];

#endif /* MOS_BACKEND_H */
