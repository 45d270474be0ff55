// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmod_ask.bpf.c - sleepable BPF LSM programs that ask mosd through the
 * module (kmod/, its kfuncs bpf_mos_ask_file and bpf_mos_ask_connect)
 * before an access they watch: opens by the thread group TARGET_TGID of
 * the inode TARGET_INO on the device TARGET_DEV, and its IPv4 connects to
 * the port TARGET_PORT, are allowed only when the decider says so, within
 * TIMEOUT_MS.  The module is the only way such a program loads (the kfunc
 * lives in its BTF): without it, loading fails, and ask rules take the
 * supervisor (DESIGN.md §4).  tests/vm/bpf_kmod_ask.c drives it in the
 * guest kernels.  Counters, not printk.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <mosingar/ask.h>

#define EACCES 13
#define AF_INET 2

char LICENSE[] SEC("license") = "GPL";

extern int bpf_mos_ask_file(struct file *file, __u32 domain, __u32 kind,
			    __u32 timeout_ms) __ksym;
extern int bpf_mos_ask_connect(__u32 domain, const __u8 *addr, __u32 addr__sz, __u16 port,
			       __u32 timeout_ms) __ksym;

/* set by the loader (.bss: writable while the program runs) */
__u32 target_tgid;
__u64 target_ino;
__u32 target_dev;
__u16 target_port; /* host order; 0: no connect is watched */
__u32 timeout_ms;
__u32 domain;

/* what happened */
__u64 asked, allowed, denied;
__u64 connects_asked, connects_allowed;

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

SEC("lsm.s/socket_connect")
int BPF_PROG(kmod_ask_connect, struct socket *sock, struct sockaddr *address, int addrlen,
	     int ret)
{
	struct sockaddr_in sin;
	__u8 addr[4];
	int verdict;

	if (ret)
		return ret;
	if (!target_tgid || !target_port || bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	if (addrlen < (int)sizeof(sin) || bpf_probe_read_kernel(&sin, sizeof(sin), address))
		return 0;
	if (sin.sin_family != AF_INET || bpf_ntohs(sin.sin_port) != target_port)
		return 0;
	__builtin_memcpy(addr, &sin.sin_addr.s_addr, sizeof(addr));
	__sync_fetch_and_add(&connects_asked, 1);
	verdict = bpf_mos_ask_connect(domain, addr, sizeof(addr), target_port, timeout_ms);
	if (verdict == MOS_ASK_ALLOW || verdict == MOS_ASK_ALWAYS) {
		__sync_fetch_and_add(&connects_allowed, 1);
		return 0;
	}
	return -EACCES;
}
