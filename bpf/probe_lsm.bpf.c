// SPDX-License-Identifier: GPL-2.0-only
/*
 * probe_lsm.bpf.c - the smallest BPF LSM program: it changes nothing.
 * kernel_features.c loads and attaches it to tell whether this kernel runs
 * BPF LSM programs at all (listed in securityfs is not enough: a kernel may
 * refuse the program type).
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/file_open")
int BPF_PROG(probe_file_open, struct file *file, int ret)
{
	return ret;
}
