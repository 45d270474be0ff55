/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * MoSingAr policy ABI: access classes shared by the policy compiler in
 * userspace, the BPF programs (bpf/) and the optional module (kmod/).
 *
 * Fixed-width types only; values are numbered explicitly and never reused.
 */
#ifndef _UAPI_MOSINGAR_POLICY_H
#define _UAPI_MOSINGAR_POLICY_H

#ifndef __VMLINUX_H__ /* a BPF program has the kernel's types already */
#include <linux/types.h>
#endif

#define MOS_POLICY_ABI_VERSION 1

/* File access classes a rule grants beneath a path (bit values). */
enum mos_fs_access {
	MOS_FS_READ = 1U << 0,	/* open for reading, list directories */
	MOS_FS_EXEC = 1U << 1,	/* execute files */
	MOS_FS_WRITE = 1U << 2, /* write, create, remove, rename, truncate */
};

#define MOS_FS_ALL (MOS_FS_READ | MOS_FS_EXEC | MOS_FS_WRITE)

#endif /* _UAPI_MOSINGAR_POLICY_H */
