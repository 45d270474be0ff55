// SPDX-License-Identifier: GPL-2.0-only
/*
 * backend_select.c - which backends serve a policy (backend.h): a pure
 * function, so that every combination of kernel, policy and --backend is
 * a row of tests/unit/test_backend_select.c.
 */
#include "backend.h"

#include <string.h>

#include "rules.h"
#include "unotify.h"

void mos_policy_needs_of(const struct mos_policy *p, struct mos_policy_needs *n)
{
	*n = (struct mos_policy_needs){
		.ask = p->nask_fs || p->ask_net,
		.learn = p->permissive,
		.net_rules = p->nnet_allow || p->nnet_bind,
		.host_rules = mos_policy_has_host_rules(p),
		.allow_udp = p->allow_udp,
	};
}

void mos_backend_select(const struct mos_kernel_caps *k, const struct mos_policy_needs *n,
			enum mos_backend asked, struct mos_selection *out)
{
	/* What only the supervisor does: ask a decider, learn. */
	bool only_supervisor = n->ask || n->learn;
	int abi = k->landlock_abi;

	memset(out, 0, sizeof(*out));
	out->files = out->net = MOS_MECH_NONE;
	if ((asked == MOS_BACKEND_LANDLOCK || asked == MOS_BACKEND_BPF) && only_supervisor) {
		out->refusal = n->learn ? "--learn needs the supervisor: use --backend unotify "
					  "(or auto)"
					: "asking before an access (--ask) needs the supervisor: "
					  "use --backend unotify (or auto)";
		return;
	}
	if (asked == MOS_BACKEND_UNOTIFY ||
	    (asked == MOS_BACKEND_AUTO && (abi < 1 || only_supervisor))) {
		/* The supervisor alone: every path and connect decided outside. */
		out->files = out->net = MOS_MECH_SUPERVISOR;
		out->mechs = MOS_MECH_BIT(MOS_MECH_SUPERVISOR);
		out->sup_trap = UNOTIFY_TRAP_ALL;
	} else if (asked == MOS_BACKEND_BPF && k->bpf_lsm == MOS_BPF_LSM_USABLE &&
		   !n->grants_proc) {
		/* A domain in the kernel; Landlock scopes what it has no hook for. */
		out->files = out->net = MOS_MECH_BPF_LSM;
		out->mechs = MOS_MECH_BIT(MOS_MECH_BPF_LSM);
		out->landlock_abi = abi;
		if (abi >= 6) {
			out->mechs |= MOS_MECH_BIT(MOS_MECH_LANDLOCK);
			out->landlock_scope_only = true;
		}
	} else if (asked == MOS_BACKEND_BPF) {
		/* Landlock the files, cgroup BPF the network. */
		out->files = MOS_MECH_LANDLOCK;
		out->net = MOS_MECH_NET_CGROUP;
		out->mechs = MOS_MECH_BIT(MOS_MECH_LANDLOCK) | MOS_MECH_BIT(MOS_MECH_NET_CGROUP);
		out->landlock_abi = abi;
		out->lsm_declined_proc = k->bpf_lsm == MOS_BPF_LSM_USABLE;
	} else {
		/* Landlock; with host rules under auto, the supervisor checks the
		 * addresses of connect and bind next to it. */
		out->files = MOS_MECH_LANDLOCK;
		out->mechs = MOS_MECH_BIT(MOS_MECH_LANDLOCK);
		out->landlock_abi = abi;
		if (asked == MOS_BACKEND_AUTO && n->host_rules) {
			out->net = MOS_MECH_SUPERVISOR;
			out->mechs |= MOS_MECH_BIT(MOS_MECH_SUPERVISOR);
			out->sup_trap = UNOTIFY_TRAP_NET;
		} else if (abi >= 4) {
			out->net = MOS_MECH_LANDLOCK;
		}
	}
	/* With UDP allowed the supervisor checks datagrams' destinations too. */
	if ((out->mechs & MOS_MECH_BIT(MOS_MECH_SUPERVISOR)) && n->allow_udp)
		out->sup_trap |= UNOTIFY_TRAP_SEND;
	out->pidns_for_signals = out->landlock_abi < 6;
	/* Without a rule and without a backend judging connect and bind, no IP
	 * socket may exist (the seccomp filter refuses them). */
	out->deny_inet = out->net == MOS_MECH_NONE && !n->net_rules;
}
