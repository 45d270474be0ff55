// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmod_ask.bpf.c - a sleepable BPF LSM program that asks mosd through the
 * module (kmod/, its kfunc bpf_mos_ask_file) before an open it watches:
 * opens by the thread group TARGET_TGID of the inode TARGET_INO on the
 * device TARGET_DEV are allowed only when the decider says so, within
 * TIMEOUT_MS.  The module is the only way such a program loads (the kfunc
 * lives in its BTF): without it, loading fails, and ask rules take the
 * supervisor (DESIGN.md §4).  tests/vm/bpf_kmod_ask.c drives it in the
 * guest kernels.  Counters, not printk.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <mosingar/ask.h>

#define EACCES 13

char LICENSE[] SEC("license") = "GPL";

extern int bpf_mos_ask_file(struct file *file, __u32 domain, __u32 kind,
			    __u32 timeout_ms) __ksym;

/* set by the loader (.bss: writable while the program runs) */
__u32 target_tgid;
__u64 target_ino;
__u32 target_dev;
__u32 timeout_ms;
__u32 domain;

/* what happened */
__u64 asked, allowed, denied;

SEC("lsm.s/file_open")
int BPF_PROG(kmod_ask_file_open, struct file *file, int ret)
{
	struct inode *inode;
	int verdict;

	if (ret)
		return ret;
	if (!target_tgid || bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	if (BPF_CORE_READ(inode, i_ino) != target_ino ||
	    BPF_CORE_READ(inode, i_sb, s_dev) != target_dev)
		return 0;
	__sync_fetch_and_add(&asked, 1);
	verdict = bpf_mos_ask_file(file, domain, MOS_ASK_KIND_READ, timeout_ms);
	if (verdict == MOS_ASK_ALLOW || verdict == MOS_ASK_ALWAYS) {
		__sync_fetch_and_add(&allowed, 1);
		return 0;
	}
	__sync_fetch_and_add(&denied, 1);
	return -EACCES;
}
