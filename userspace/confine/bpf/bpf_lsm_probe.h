/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bpf_lsm_probe.h - can this kernel run BPF LSM programs?  Probed in stages,
 * each one only if the previous passed: the BPF LSM is active (securityfs
 * lists "bpf"), an LSM program loads (bpf/probe_lsm.bpf.c), it attaches.
 * The answer names the first stage that failed and why, so that mosctl
 * version, a refusal and a selftest's SKIP say the same thing.
 */
#ifndef MOS_BPF_LSM_PROBE_H
#define MOS_BPF_LSM_PROBE_H

#include <stddef.h>

enum mos_bpf_lsm {
	MOS_BPF_LSM_UNKNOWN,	 /* securityfs not reachable, or libbpf missing */
	MOS_BPF_LSM_NOT_ACTIVE,	 /* not in lsm= */
	MOS_BPF_LSM_NOT_CHECKED, /* active, but we may not load BPF (no CAP_BPF) */
	MOS_BPF_LSM_REFUSED,	 /* active, but the program does not load */
	MOS_BPF_LSM_NO_ATTACH,	 /* it loads, but does not attach */
	MOS_BPF_LSM_USABLE,
};

/* The stage reached, with a sentence saying why in WHY (LEN bytes). */
enum mos_bpf_lsm mos_bpf_lsm_probe(char *why, size_t len);

#endif /* MOS_BPF_LSM_PROBE_H */
