/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * net_cgroup.h - the bpf backend's network rules on kernels without a
 * usable BPF LSM: a cgroup v2 directory of the sandbox's own with
 * bpf/net_cgroup.bpf.c attached (connect, sendmsg, bind, socket creation;
 * IPv4 and IPv6), its maps filled from the plan's network rules (rules.h:
 * host names resolved once, at start, the addresses the report shows).
 * Needs permission to create a cgroup (root, or a delegated subtree).
 */
#ifndef MOS_NET_CGROUP_H
#define MOS_NET_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "policy.h"
#include "rules.h"

struct net_cgroup_bpf;

struct net_cgroup {
	struct net_cgroup_bpf *skel;
	int dirfd;
	bool own_dir; /* made here (else the limits' cgroup, not ours to move into or remove) */
	char path[4096];
};

/*
 * Create the cgroup and attach the programs with NET's rules (and UDP to
 * the same destinations, or anywhere when there are none, with
 * ALLOW_UDP).  IN_DIR, when
 * not NULL, is the sandbox's cgroup v2 directory for its limits (cgroup.h):
 * a process is in one v2 cgroup only, so the programs go on that one rather
 * than on a sibling that would take the sandbox out of its limits.  0 or
 * -errno with E set.
 */
int net_cgroup_create(struct net_cgroup *nc, const struct mos_net_rules *net, bool allow_udp,
		      const char *in_dir, struct mos_err *e);
/* Move PID (the sandbox's init, before it goes on) into it. */
int net_cgroup_attach(struct net_cgroup *nc, pid_t pid, struct mos_err *e);
/* Detach and remove (the sandbox's processes are gone). */
void net_cgroup_destroy(struct net_cgroup *nc);

#endif /* MOS_NET_CGROUP_H */
