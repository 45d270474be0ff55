/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kernel_features.h - what the running kernel offers, probed once and cached.
 *
 * Everything kernel-facing asks here before deciding how to enforce a rule,
 * and the selftests ask the same probe before deciding to SKIP, so a skip and
 * a refusal always name the same missing piece.
 */
#ifndef MOS_KERNEL_FEATURES_H
#define MOS_KERNEL_FEATURES_H

#include <stdbool.h>

struct mos_features {
	char kernel[128];	 /* uname release */
	int landlock_abi;	 /* 0: unavailable */
	int landlock_kernel_abi; /* what the kernel offers (MOS_LANDLOCK_ABI may use less) */
	int landlock_errata;
	const char *landlock_why; /* when unavailable: why, and what to do */
	bool seccomp_filter;
	bool seccomp_kill_process;
	bool seccomp_user_notif;
	bool userns; /* an unprivileged-style user+pid namespace can be created */
	const char *userns_why;
	bool io_uring; /* io_uring_setup works for this process */
	bool cgroup2_mounted;
	int cgroup_pids;     /* version of a pids controller mosctl can use; 0: none */
	int cgroup_memory;   /* same for memory */
	const char *bpf_lsm; /* what bpf_lsm_probe.h found, as a sentence */
	int bpf_lsm_stage;   /* enum mos_bpf_lsm */
	char bpf_lsm_why[160];
	int kmod;	     /* enum mos_kmod: the module of ask rules */
	char kmod_why[160];
};

/* Probe everything (cached after the first call). */
const struct mos_features *mos_features(void);
/* Only the cheap probes that `run` needs: Landlock ABI and seccomp. */
int mos_landlock_abi(void);
/* The uname release alone, without the probes (mosctl check). */
const char *mos_kernel_release(void);

#endif /* MOS_KERNEL_FEATURES_H */
