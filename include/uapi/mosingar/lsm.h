/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * MoSingAr BPF LSM ABI: the maps shared by bpf/domain_lsm.bpf.c and
 * userspace/confine/bpf/lsm_domain.c, and the records of the `events` ring buffer.
 *
 * Fixed-width types, explicit padding, values numbered explicitly and never
 * reused.  Any change to a layout bumps MOS_LSM_ABI_VERSION: the version
 * names the pin directory (/sys/fs/bpf/mosingar/v<N>-<hash>), so programs of
 * another layout are never mixed with these maps.
 */
#ifndef _UAPI_MOSINGAR_LSM_H
#define _UAPI_MOSINGAR_LSM_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MOS_LSM_ABI_VERSION 2

/* Chained domains: a domain and at most this many ancestors are checked. */
#define MOS_LSM_MAX_CHAIN 8

/*
 * In a process's task storage, or'ed into the domain id: the domain is
 * entered at the process's next execve (mosctl run: the sandbox's init sets
 * itself up unconfined, the command it execs is confined from its first
 * instruction).  Domain ids stay below it.
 */
#define MOS_LSM_PENDING_EXEC (1U << 31)

/* struct mos_lsm_domain.flags */
enum mos_lsm_domain_flag {
	MOS_LSM_FILES = 1U << 0,	/* file rules: only what fs_rules grants */
	MOS_LSM_NET = 1U << 1,		/* network rules: only what net_* allow */
	MOS_LSM_UDP = 1U << 2,		/* UDP sockets (--allow-udp) */
	MOS_LSM_UDP_ANYWHERE = 1U << 3, /* UDP to any destination (no --net-allow) */
	MOS_LSM_UNIX = 1U << 4,		/* unix sockets beyond socketpair() */
	MOS_LSM_REVOKE = 1U << 5,	/* also check read/write on open files */
	MOS_LSM_ASK = 1U << 6,		/* its ask rules are decided by domain_ask */
};

/* Value of the `domains` map, keyed by the domain id (never 0). */
struct mos_lsm_domain {
	__u32 parent; /* 0: none */
	__u32 flags;  /* enum mos_lsm_domain_flag */
	__u32 owner;  /* uid that created it */
	__u32 depth;  /* 0 for a root domain, parent's + 1 */
	__u64 denials;
	__u64 created_ns; /* CLOCK_BOOTTIME when made (lsm_domain_gc spares new ones) */
};

/* Key of `fs_rules`: an inode of a domain's rule. */
struct mos_lsm_inode_key {
	__u32 domain;
	__u32 dev; /* the kernel's s_dev: (major << 20) | minor */
	__u64 ino;
};

/* struct mos_lsm_inode_rule.deny */
enum mos_lsm_rule_kind {
	MOS_LSM_RULE_GRANT = 0, /* ACCESS granted, nothing more */
	MOS_LSM_RULE_DENY = 1,	/* nothing on or beneath the inode */
	MOS_LSM_RULE_ASK = 2,	/* an open beneath that no grant allows asks the decider
				 * (through the module: bpf/domain_ask.bpf.c) */
};

/* Value of `fs_rules`. */
struct mos_lsm_inode_rule {
	__u32 access; /* enum mos_fs_access granted on and beneath the inode */
	__u32 deny;   /* enum mos_lsm_rule_kind */
};

/* Key of `ask_verdicts`: an "always" answer (its value: MOS_ASK_ALWAYS). */
struct mos_lsm_ask_key {
	__u32 domain;
	__u32 dev;
	__u64 ino;
	__u32 access;	  /* enum mos_fs_access asked */
	__u32 generation; /* i_generation: an inode number used again is another file */
};

/* Key of `net_connect`: TCP connect / UDP destination. */
struct mos_lsm_net_key {
	__u32 domain;
	__u16 port;  /* host order; 0: any port */
	__u8 family; /* 2 (AF_INET), 10 (AF_INET6), or 0: any address */
	__u8 pad;
	__u8 addr[16]; /* AF_INET: 4 bytes, then zeros */
};

/* Key of `net_bind`: a TCP port a domain may bind. */
struct mos_lsm_bind_key {
	__u32 domain;
	__u32 port;
};

/* What was refused (struct mos_lsm_event.op). */
enum mos_lsm_op {
	MOS_LSM_OP_OPEN = 1,
	MOS_LSM_OP_EXEC = 2,
	MOS_LSM_OP_READ = 3,  /* file_permission on an open file (revoke) */
	MOS_LSM_OP_WRITE = 4, /* file_permission on an open file (revoke) */
	MOS_LSM_OP_MKDIR = 5,
	MOS_LSM_OP_RMDIR = 6,
	MOS_LSM_OP_UNLINK = 7,
	MOS_LSM_OP_RENAME = 8,
	MOS_LSM_OP_LINK = 9,
	MOS_LSM_OP_SYMLINK = 10,
	MOS_LSM_OP_MKNOD = 11,
	MOS_LSM_OP_TRUNCATE = 12,
	MOS_LSM_OP_CONNECT = 13,
	MOS_LSM_OP_BIND = 14,
	MOS_LSM_OP_SENDMSG = 15,
	MOS_LSM_OP_SOCKET = 16,
	MOS_LSM_OP_BPF = 17,
	MOS_LSM_OP_PTRACE = 18,
	MOS_LSM_OP_KILL = 19,
	MOS_LSM_OP_MOUNT = 20,
	MOS_LSM_OP_FORK = 21, /* task_alloc could not give the child its domain */
	MOS_LSM_OP_CHMOD = 22,
	MOS_LSM_OP_CHOWN = 23,
	MOS_LSM_OP_LISTEN = 24, /* on a TCP socket never bound (an ephemeral port) */
};

/* One record of the `events` ring buffer per refusal. */
struct mos_lsm_event {
	__u32 domain; /* the task's domain */
	__u32 level;  /* the domain of the chain that refused */
	__u32 pid;    /* tgid */
	__u32 op;     /* enum mos_lsm_op */
	__s32 err;    /* the errno returned (positive) */
	__u32 access; /* file: enum mos_fs_access asked; socket: type */
	__u64 ino;    /* file: inode; ptrace/kill: target pid */
	__u32 dev;    /* file: s_dev */
	__u16 port;   /* net: host order */
	__u8 family;  /* net: address family */
	__u8 pad;
	__u8 addr[16];
	char comm[16];
};

/* Indexes of the `counters` array map (u64 each). */
enum mos_lsm_counter {
	MOS_LSM_CNT_DROPPED = 0,	  /* events the ring buffer had no room for */
	MOS_LSM_CNT_NO_DOMAIN = 1,	  /* a task's domain id is not in `domains` */
	MOS_LSM_CNT_CHAIN_TOO_DEEP = 2,	  /* more than MOS_LSM_MAX_CHAIN ancestors */
	MOS_LSM_CNT_WALK_TOO_DEEP = 3,	  /* a path deeper than the dentry walk */
	MOS_LSM_CNT_STORAGE_FAILED = 4,	  /* task storage could not be created */
	MOS_LSM_CNT_READ_FAILED = 5,	  /* a kernel read failed */
	MOS_LSM_CNT_MAX = 8,
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct mos_lsm_domain) == 32, "mos_lsm_domain");
_Static_assert(sizeof(struct mos_lsm_inode_key) == 16, "mos_lsm_inode_key");
_Static_assert(sizeof(struct mos_lsm_inode_rule) == 8, "mos_lsm_inode_rule");
_Static_assert(sizeof(struct mos_lsm_ask_key) == 24, "mos_lsm_ask_key");
_Static_assert(sizeof(struct mos_lsm_net_key) == 24, "mos_lsm_net_key");
_Static_assert(sizeof(struct mos_lsm_bind_key) == 8, "mos_lsm_bind_key");
_Static_assert(sizeof(struct mos_lsm_event) == 72, "mos_lsm_event");
#endif

#endif /* _UAPI_MOSINGAR_LSM_H */
