/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * domain_common.h - what the BPF LSM programs of the policy domains share:
 * bpf/domain_lsm.bpf.c (every hook) and bpf/domain_ask.bpf.c (the ask
 * rules' sleepable file_open, loaded only with the kernel module).  The
 * maps of the domains (declared in both objects; userspace gives
 * domain_ask domain_lsm's, pinned), a task's chain of domains, the walk up
 * the dentry chain that judges a file for every level at once, and the
 * refusal record.  Include after vmlinux.h and libbpf's headers.
 */
#ifndef MOS_BPF_DOMAIN_COMMON_H
#define MOS_BPF_DOMAIN_COMMON_H

#include <mosingar/ask.h>
#include <mosingar/lsm.h>
#include <mosingar/policy.h>

/* A helper of this header: each object uses some of them. */
#define DOMAIN_FN static __attribute__((unused))

#define EPERM 1
#define ENOMEM 12
#define EACCES 13
#define EXDEV 18
#define EAFNOSUPPORT 97
#define EPROTONOSUPPORT 93

#define AF_UNSPEC 0
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_IP 0
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define MSG_FASTOPEN 0x20000000

#define CLONE_THREAD 0x00010000
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define MAY_WRITE 0x2
#define MAY_READ 0x4
#define MAY_APPEND 0x8
#define RENAME_EXCHANGE 2
#define SB_NOUSER (1UL << 31)
#define S_PRIVATE 512

/* Steps of the dentry walk before a path is judged too deep (refused). */
#define MAX_WALK 512

/* The domain of a process, on its thread-group leader; none: not confined. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} task_domains SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct mos_lsm_domain);
} domains SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 262144);
	__type(key, struct mos_lsm_inode_key);
	__type(value, struct mos_lsm_inode_rule);
} fs_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MOS_LSM_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Ask rules (Documentation/kmod.md): "always" answers, by domain, inode and access */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct mos_lsm_ask_key);
	__type(value, __u32);
} ask_verdicts SEC(".maps");

/* each domain's question timeout (ms) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} ask_timeouts SEC(".maps");


DOMAIN_FN void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/*
 * The task's domain and its ancestors, innermost first, with each flag as a
 * mask of levels: bit L set when level L has it.
 */
struct chain {
	__u32 n;
	__u32 id[MOS_LSM_MAX_CHAIN];
	__u32 files, net, udp, udp_anywhere, unix_ok, revoke, ask;
};

DOMAIN_FN __u32 *leader_slot(struct task_struct *t)
{
	return bpf_task_storage_get(&task_domains, t->group_leader, 0, 0);
}

DOMAIN_FN __u32 domain_of(struct task_struct *t)
{
	__u32 *slot = leader_slot(t);

	return slot ? *slot : 0;
}

/*
 * 0: not confined.  1: confined, C filled.  -1: confined in a domain that
 * cannot be judged (C->id[0] set): the caller refuses.
 */
DOMAIN_FN int chain_of(__u32 dom, struct chain *c)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->id[0] = dom;
	if (!dom)
		return 0;
	for (__u32 i = 0; i < MOS_LSM_MAX_CHAIN; i++) {
		struct mos_lsm_domain *d = bpf_map_lookup_elem(&domains, &dom);
		__u32 bit = 1U << i;

		if (!d) {
			count(MOS_LSM_CNT_NO_DOMAIN);
			return -1;
		}
		c->id[i] = dom;
		c->n = i + 1;
		/* no branches: each would double the verifier's states per level */
		c->files |= bit & -(__u32) !!(d->flags & MOS_LSM_FILES);
		c->net |= bit & -(__u32) !!(d->flags & MOS_LSM_NET);
		c->udp |= bit & -(__u32) !!(d->flags & MOS_LSM_UDP);
		c->udp_anywhere |= bit & -(__u32) !!(d->flags & MOS_LSM_UDP_ANYWHERE);
		c->unix_ok |= bit & -(__u32) !!(d->flags & MOS_LSM_UNIX);
		c->revoke |= bit & -(__u32) !!(d->flags & MOS_LSM_REVOKE);
		c->ask |= bit & -(__u32) !!(d->flags & MOS_LSM_ASK);
		if (!d->parent)
			return 1;
		dom = d->parent;
	}
	count(MOS_LSM_CNT_CHAIN_TOO_DEEP);
	return -1;
}

DOMAIN_FN int current_chain(struct chain *c)
{
	__u32 dom = domain_of(bpf_get_current_task_btf());

	/* a domain entered at the next execve is not in force yet */
	return chain_of(dom & MOS_LSM_PENDING_EXEC ? 0 : dom, c);
}

/* Record a refusal of OP by LEVEL (an index in C) and return -ERR. */
DOMAIN_FN int refuse(struct chain *c, __u32 level, struct mos_lsm_event *ev, __u32 op, int err)
{
	struct mos_lsm_domain *d;
	__u32 self = c->id[0];

	ev->domain = self;
	ev->level = level < MOS_LSM_MAX_CHAIN ? c->id[level & (MOS_LSM_MAX_CHAIN - 1)] : self;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->op = op;
	ev->err = err;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	d = bpf_map_lookup_elem(&domains, &self);
	if (d)
		__sync_fetch_and_add(&d->denials, 1);
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), 0))
		count(MOS_LSM_CNT_DROPPED);
	return -err;
}

/*
 * What an LSM program may return, visibly to the verifier (6.12 checks the
 * range at each exit; a value from a subprogram is not known to be in it).
 */
static __always_inline int verdict(long r)
{
	/* hide what clang knows of R, or it drops the check; 64 bits wide, as
	 * the verifier checks the register */
	asm volatile("" : "+r"(r));
	if (r < -4095 || r > 0)
		return -EPERM;
	return r;
}

/* ---- files ------------------------------------------------------------- */

/*
 * A walk up the dentry chain, judged for every level of a chain at once:
 * bit L of each mask is level L's answer.
 */
struct walk {
	struct dentry *d;
	struct mount *m;
	__u32 n;
	__u32 id[MOS_LSM_MAX_CHAIN];
	__u32 denied, read, write, exec;
	__u32 ask; /* levels with an ask rule on or above */
	__u32 done;
};

DOMAIN_FN long walk_step(__u32 i, void *data)
{
	struct walk *w = data;
	struct mos_lsm_inode_key k = {};
	struct dentry *d = w->d, *parent;
	struct mount *m = w->m;

	if (!d) {
		w->done = 1;
		return 1;
	}
	k.ino = BPF_CORE_READ(d, d_inode, i_ino);
	k.dev = BPF_CORE_READ(d, d_sb, s_dev);
	for (__u32 l = 0; k.ino && l < MOS_LSM_MAX_CHAIN && l < w->n; l++) {
		struct mos_lsm_inode_rule *r;

		k.domain = w->id[l];
		r = bpf_map_lookup_elem(&fs_rules, &k);
		if (!r)
			continue;
		w->denied |= (__u32)(r->deny == MOS_LSM_RULE_DENY) << l;
		w->ask |= (__u32)(r->deny == MOS_LSM_RULE_ASK) << l;
		w->read |= (__u32) !!(r->access & MOS_FS_READ) << l;
		w->write |= (__u32) !!(r->access & MOS_FS_WRITE) << l;
		w->exec |= (__u32) !!(r->access & MOS_FS_EXEC) << l;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (d == BPF_CORE_READ(m, mnt.mnt_root) || parent == d) {
		struct mount *up = BPF_CORE_READ(m, mnt_parent);

		if (up == m) {
			w->done = 1; /* the root of the mount tree */
			return 1;
		}
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = up;
		return 0;
	}
	w->d = parent;
	return 0;
}

/* Walk from D (in the mount MNT) to the root, for the levels of C. */
DOMAIN_FN int walk_up(struct chain *c, struct dentry *d, struct vfsmount *mnt, struct walk *w)
{
	__builtin_memset(w, 0, sizeof(*w));
	w->d = d;
	/* container_of, with the offset of mnt relocated to the running kernel */
	w->m = (void *)((char *)mnt - bpf_core_field_offset(struct mount, mnt));
	w->n = c->n;
	__builtin_memcpy(w->id, c->id, sizeof(w->id));
	bpf_loop(MAX_WALK, walk_step, w, 0);
	if (!w->done) {
		count(MOS_LSM_CNT_WALK_TOO_DEEP);
		return -1;
	}
	return 0;
}

/* The levels (mask) of W that do not grant all of NEED. */
DOMAIN_FN __u32 lacking(const struct walk *w, __u32 need)
{
	__u32 ok = ~0U;

	if (need & MOS_FS_READ)
		ok &= w->read;
	if (need & MOS_FS_WRITE)
		ok &= w->write;
	if (need & MOS_FS_EXEC)
		ok &= w->exec;
	return ~ok;
}

/*
 * The levels of C whose lack of NEED on W only an ask rule answers: no deny
 * rule on or above, an ask rule on or above, the domain's ask rules decided
 * by domain_ask.  The rest of a lack is refused.
 */
DOMAIN_FN __u32 askable(const struct chain *c, const struct walk *w, __u32 need)
{
	return lacking(w, need) & w->ask & ~w->denied & c->ask & c->files;
}

/* The lowest level set in MASK. */
DOMAIN_FN __u32 lowest(__u32 mask)
{
	for (__u32 l = 0; l < MOS_LSM_MAX_CHAIN; l++)
		if (mask & (1U << l))
			return l;
	return 0;
}

/* Internal filesystems (pipes, sockets) and private inodes: not judged. */
DOMAIN_FN bool exempt(struct dentry *d)
{
	__u32 iflags = BPF_CORE_READ(d, d_inode, i_flags);

	return (BPF_CORE_READ(d, d_sb, s_flags) & SB_NOUSER) || (iflags & S_PRIVATE);
}

DOMAIN_FN void file_event(struct mos_lsm_event *ev, struct dentry *d, __u32 need)
{
	ev->ino = BPF_CORE_READ(d, d_inode, i_ino);
	ev->dev = BPF_CORE_READ(d, d_sb, s_dev);
	ev->access = need;
}

#endif /* MOS_BPF_DOMAIN_COMMON_H */
