/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach_registry.h - what `mosctl attach` confined, for `mosctl ps`,
 * `update` and `detach`.  One small file per process, named by its pid and
 * holding its start time (so a reused pid is not mistaken for it):
 * /run/mosingar/attached/PID for root, $XDG_RUNTIME_DIR/mosingar/attached
 * (or /tmp/mosingar-UID/attached, made 0700 and checked) for others.
 *
 * The registry is a record, not the enforcement: losing it loses nothing
 * but `ps` output; the kernel keeps the confinement either way.
 */
#ifndef MOS_ATTACH_REGISTRY_H
#define MOS_ATTACH_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

struct attach_entry {
	pid_t pid;
	uint64_t start;	  /* /proc/PID/stat start time, in clock ticks */
	char backend[16]; /* "landlock" (ptrace) or "bpf" (BPF LSM) */
	uid_t owner;	  /* who attached it */
	unsigned layers;  /* attach + each update */
	unsigned threads; /* threads confined by the last layer */
	uint32_t domain;  /* the BPF LSM domain, 0 for landlock */
	long long since;  /* epoch seconds of the first attach */
	char policy[512]; /* a one-line summary of the rules, newest layer first */
};

/* The process's start time; 0 when it does not exist. */
uint64_t proc_start_time(pid_t pid);
/* A one-line summary of P's rules. */
void attach_policy_summary(const struct mos_policy *p, char *out, size_t len);

/* Record a layer added to PID for OWNER (a new entry, or LAYERS + 1).
 * 0 or -errno. */
int attach_registry_add(pid_t pid, const char *backend, uint32_t domain, unsigned threads,
			uid_t owner, const char *policy, struct mos_err *e);
/* PID's live entry: 0, -ENOENT (none, or the pid was reused), -errno. */
int attach_registry_get(pid_t pid, struct attach_entry *out);
int attach_registry_remove(pid_t pid);
/* Every live entry, pid order; stale ones are removed.  Free *V. */
int attach_registry_list(struct attach_entry **v, size_t *n);

#endif /* MOS_ATTACH_REGISTRY_H */
