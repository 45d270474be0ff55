// SPDX-License-Identifier: GPL-2.0-only
/*
 * file_lsm.bpf.c - the BPF LSM program bench/enforce_guest.c measures: the
 * bpf backend's first file rules, kept here as they were when the figures of
 * Documentation/benchmarks.md ("bench/enforce") were taken, after bpf/ moved
 * on to domain_lsm.bpf.c (ea219de).  Until enforce_guest drives
 * domain_lsm through lsm_domain.c, this is what it loads:
 *
 * the bpf backend's file rules: a policy *domain* id in
 * task storage (set from userspace through a pidfd, copied to children in
 * task_alloc); file_open judges the file against the domain's rules by
 * walking up the dentry chain (across mounts) as Landlock does: a deny rule
 * on the file or any directory above it refuses; with rules enforced
 * (domain_flags), the accesses asked (read, write, exec) must be granted by
 * rules on the file or the directories above it, or EACCES.  Each refusal
 * goes to a ring buffer (a drop counter when it is full).
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

/* Access granted beneath an inode: MOS_FS_READ 1, MOS_FS_EXEC 2, MOS_FS_WRITE 4. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct inode_key);
	__type(value, __u32);
} granted_inodes SEC(".maps");

#define DOMAIN_ENFORCES_RULES 1 /* nothing but what granted_inodes grants */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} domain_flags SEC(".maps");

#define FS_READ 1
#define FS_EXEC 2
#define FS_WRITE 4
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define MAX_DEPTH 64

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

/* What the walk found: a deny above, and the accesses granted above. */
struct walk {
	bool denied;
	__u32 granted;
};

static void look(__u32 domain, struct dentry *d, struct walk *w)
{
	struct inode_key k = { .domain = domain };
	__u32 *g;

	k.ino = BPF_CORE_READ(d, d_inode, i_ino);
	k.dev = BPF_CORE_READ(d, d_sb, s_dev);
	if (bpf_map_lookup_elem(&denied_inodes, &k))
		w->denied = true;
	g = bpf_map_lookup_elem(&granted_inodes, &k);
	if (g)
		w->granted |= *g;
}

/* From FILE up to the root of the mount tree, at most MAX_DEPTH steps. */
static void walk_up(__u32 domain, struct file *file, struct walk *w)
{
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
	struct vfsmount *vm = BPF_CORE_READ(file, f_path.mnt);
	/* container_of, with the offset of mnt relocated to the running kernel */
	struct mount *m = (void *)((char *)vm - bpf_core_field_offset(struct mount, mnt));

	for (int i = 0; i < MAX_DEPTH && d; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);

		look(domain, d, w);
		if (d == BPF_CORE_READ(m, mnt.mnt_root) || parent == d) {
			struct mount *up = BPF_CORE_READ(m, mnt_parent);

			if (up == m)
				break; /* the root of the tree */
			d = BPF_CORE_READ(m, mnt_mountpoint);
			m = up;
			continue;
		}
		d = parent;
	}
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
	{
		struct walk w = {};
		__u32 *flags = bpf_map_lookup_elem(&domain_flags, &key.domain);
		__u32 mode = BPF_CORE_READ(file, f_mode), need = 0;

		walk_up(key.domain, file, &w);
		if (mode & FMODE_READ)
			need |= FS_READ;
		if (mode & FMODE_WRITE)
			need |= FS_WRITE;
		if (mode & FMODE_EXEC)
			need |= FS_EXEC;
		if (!w.denied && !(flags && (*flags & DOMAIN_ENFORCES_RULES) &&
				   (w.granted & need) != need))
			return 0;
	}
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
