// SPDX-License-Identifier: GPL-2.0-only
/*
 * file_lsm.bpf.c - the BPF backend's file rules, first cut: a policy
 * *domain* id in task storage (set from userspace through a pidfd, copied
 * to children in task_alloc), and file_open refusing, with EACCES, the
 * inodes a domain denies.  Each denial goes to a ring buffer (a drop counter
 * when it is full).  Issue 5 grows this into the rule set of
 * shared/DESIGN.md section 4 (walking up the dentry chain against rule
 * inodes, as Landlock does).
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define EACCES 13

char LICENSE[] SEC("license") = "GPL";

/* The domain of a task: 0 (no entry) is "not confined". */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} domains SEC(".maps");

struct inode_key {
	__u32 domain;
	__u32 dev; /* the kernel's s_dev: (major << 20) | minor */
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct inode_key);
	__type(value, __u8);
} denied_inodes SEC(".maps");

struct denial {
	__u32 domain;
	__u32 pid;
	__u32 dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} denials SEC(".maps");

/* Denials the ring buffer had no room for. */
__u64 dropped = 0;

SEC("lsm/task_alloc")
int BPF_PROG(inherit_domain, struct task_struct *task, unsigned long clone_flags, int ret)
{
	__u32 *parent, *child;

	if (ret)
		return ret;
	parent = bpf_task_storage_get(&domains, bpf_get_current_task_btf(), 0, 0);
	if (!parent || !*parent)
		return 0;
	child = bpf_task_storage_get(&domains, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (child)
		*child = *parent;
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(check_open, struct file *file, int ret)
{
	struct inode_key key = {};
	struct denial *d;
	__u32 *domain;

	if (ret)
		return ret;
	domain = bpf_task_storage_get(&domains, bpf_get_current_task_btf(), 0, 0);
	if (!domain || !*domain)
		return 0;
	key.domain = *domain;
	key.ino = BPF_CORE_READ(file, f_inode, i_ino);
	key.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	if (!bpf_map_lookup_elem(&denied_inodes, &key))
		return 0;
	d = bpf_ringbuf_reserve(&denials, sizeof(*d), 0);
	if (d) {
		d->domain = key.domain;
		d->pid = bpf_get_current_pid_tgid() >> 32;
		d->dev = key.dev;
		d->ino = key.ino;
		bpf_ringbuf_submit(d, 0);
	} else {
		__sync_fetch_and_add(&dropped, 1);
	}
	return -EACCES;
}
