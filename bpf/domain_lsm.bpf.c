// SPDX-License-Identifier: GPL-2.0-only
/*
 * domain_lsm.bpf.c - the BPF LSM enforcement of MoSingAr's policy domains
 * (Documentation/bpf-lsm.md; maps and records in include/uapi/mosingar/lsm.h;
 * loaded, pinned and filled by userspace/confine/bpf/lsm_domain.c).
 *
 * A process is in a domain when its thread-group leader's task storage
 * holds a domain id: every thread of the process shares it, task_alloc
 * copies it to each new process, bprm_check_security to a thread about to
 * become the leader through execve.  A domain may have a parent: an access
 * is allowed only when the domain AND each ancestor allow it, so a domain
 * chained under another can only be tighter.
 *
 * File rules are matched on the inode hierarchy: from the file (or the new
 * entry's directory) up the dentry chain, across mount points, to the root,
 * as Landlock does; a deny rule on or above refuses, and the accesses asked
 * must be granted on or above.  Network rules are keyed by domain, address
 * and port.  A confined task may not use bpf(), mount anything, or ptrace
 * or signal a task outside its domain and the domains beneath it.
 *
 * Every program starts with "if (ret) return ret;" (an earlier program's
 * refusal stands), refuses with -EACCES or -EPERM, writes one record per
 * refusal to `events` (counting drops) and counts failures in `counters`:
 * nothing on these paths prints.  A state it cannot judge (a domain id
 * without a domain, a chain or path too deep) is refused.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "domain_common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct mos_lsm_net_key);
	__type(value, __u8);
} net_connect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct mos_lsm_bind_key);
	__type(value, __u8);
} net_bind SEC(".maps");


/*
 * Or'ed into an op for check_entry: a lack only an ask rule answers is left
 * to domain_ask's file_open; every other check refuses it.  (BPF calls take
 * five arguments.)
 */
#define OP_ASKS 0x10000

/* NEED on the entry D of the mount MNT: 0 or the refusal of OP. */
static int check_entry(struct chain *c, struct dentry *d, struct vfsmount *mnt, __u32 need,
		       __u32 op)
{
	bool ask = op & OP_ASKS;

	struct mos_lsm_event ev = {};
	struct walk w;
	__u32 bad;

	if (!c->files || exempt(d))
		return 0;
	file_event(&ev, d, need);
	if (walk_up(c, d, mnt, &w) < 0)
		return refuse(c, 0, &ev, op, EACCES);
	bad = (w.denied | lacking(&w, need)) & c->files;
	/* an open's lack only ask rules answer: domain_ask's (the open's
	 * other program, either side of this one), which asks the decider;
	 * a domain has MOS_LSM_ASK only while domain_ask is attached */
	if (ask)
		bad &= ~askable(c, &w, need);
	return bad ? refuse(c, lowest(bad), &ev, op & ~OP_ASKS, EACCES) : 0;
}

static int check_path(struct chain *c, const struct path *p, __u32 need, __u32 op)
{
	return check_entry(c, BPF_CORE_READ(p, dentry), BPF_CORE_READ(p, mnt), need, op);
}

static int check_file(struct chain *c, struct file *f, __u32 need, __u32 op)
{
	return check_entry(c, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt), need,
			   op);
}

/* The chain of the current task, or the refusal of a domain not judged. */
#define CONFINED_OR_RETURN(c, op, err)                                                     \
	do {                                                                               \
		int s_ = current_chain(&(c));                                              \
		if (s_ == 0)                                                               \
			return 0;                                                          \
		if (s_ < 0) {                                                              \
			struct mos_lsm_event e_ = {};                                      \
			return verdict(refuse(&(c), MOS_LSM_MAX_CHAIN, &e_, (op), (err))); \
		}                                                                          \
	} while (0)

SEC("lsm/file_open")
int BPF_PROG(mos_file_open, struct file *file, int ret)
{
	struct chain c;
	__u32 mode, need = 0;

	if (ret)
		return ret;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_OPEN, EACCES);
	mode = BPF_CORE_READ(file, f_mode);
	if (mode & FMODE_READ)
		need |= MOS_FS_READ;
	if (mode & FMODE_WRITE)
		need |= MOS_FS_WRITE;
	if (mode & FMODE_EXEC)
		need |= MOS_FS_EXEC;
	return verdict(
		check_file(&c, file, need,
			   mode & FMODE_EXEC ? MOS_LSM_OP_EXEC : MOS_LSM_OP_OPEN | OP_ASKS));
}

/* Reads and writes through files already open: domains with REVOKE only. */
SEC("lsm/file_permission")
int BPF_PROG(mos_file_permission, struct file *file, int mask, int ret)
{
	struct chain c;
	__u32 need = 0;

	if (ret)
		return ret;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_READ, EACCES);
	if (!c.revoke)
		return 0;
	if (mask & MAY_READ)
		need |= MOS_FS_READ;
	if (mask & (MAY_WRITE | MAY_APPEND))
		need |= MOS_FS_WRITE;
	if (!need)
		return 0;
	return verdict(check_file(&c, file, need,
				  need & MOS_FS_WRITE ? MOS_LSM_OP_WRITE : MOS_LSM_OP_READ));
}

/* Changes beneath a directory: write access on the entry and above. */
static int check_change(const struct path *dir, struct dentry *dentry, __u32 op)
{
	struct chain c;

	CONFINED_OR_RETURN(c, op, EACCES);
	return check_entry(&c, dentry, BPF_CORE_READ(dir, mnt), MOS_FS_WRITE, op);
}

SEC("lsm/path_mkdir")
int BPF_PROG(mos_path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode, int ret)
{
	return verdict(ret ? ret : check_change(dir, dentry, MOS_LSM_OP_MKDIR));
}

SEC("lsm/path_rmdir")
int BPF_PROG(mos_path_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	return verdict(ret ? ret : check_change(dir, dentry, MOS_LSM_OP_RMDIR));
}

SEC("lsm/path_unlink")
int BPF_PROG(mos_path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	return verdict(ret ? ret : check_change(dir, dentry, MOS_LSM_OP_UNLINK));
}

SEC("lsm/path_symlink")
int BPF_PROG(mos_path_symlink, const struct path *dir, struct dentry *dentry, const char *old_name,
	     int ret)
{
	return verdict(ret ? ret : check_change(dir, dentry, MOS_LSM_OP_SYMLINK));
}

SEC("lsm/path_mknod")
int BPF_PROG(mos_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev, int ret)
{
	return verdict(ret ? ret : check_change(dir, dentry, MOS_LSM_OP_MKNOD));
}

SEC("lsm/path_truncate")
int BPF_PROG(mos_path_truncate, const struct path *path, int ret)
{
	struct chain c;

	if (ret)
		return ret;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_TRUNCATE, EACCES);
	return verdict(check_path(&c, path, MOS_FS_WRITE, MOS_LSM_OP_TRUNCATE));
}

SEC("lsm/path_chmod")
int BPF_PROG(mos_path_chmod, const struct path *path, umode_t mode, int ret)
{
	struct chain c;

	if (ret)
		return ret;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_CHMOD, EACCES);
	return verdict(check_path(&c, path, MOS_FS_WRITE, MOS_LSM_OP_CHMOD));
}

/* (path, kuid_t, kgid_t, ret): the ids are not needed, so no BPF_PROG */
SEC("lsm/path_chown")
int mos_path_chown(unsigned long long *ctx)
{
	const struct path *path = (void *)ctx[0];
	int ret = (int)ctx[3];
	struct chain c;

	if (ret)
		return ret;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_CHOWN, EACCES);
	return verdict(check_path(&c, path, MOS_FS_WRITE, MOS_LSM_OP_CHOWN));
}

#define MOVE_EXCHANGE (1U << 16) /* or'ed into OP */

/*
 * A new name for FROM at TO (link, rename): write on both, and, as with
 * Landlock's refer right, the new place may grant nothing the old one did
 * not (EXDEV then, so that mv falls back to a copy).  EXCHANGE: both ways.
 */
static int check_move(struct dentry *from, struct vfsmount *from_mnt, struct dentry *to,
		      struct vfsmount *to_mnt, __u32 op)
{
	bool exchange = op & MOVE_EXCHANGE;
	struct mos_lsm_event ev = {};
	struct walk a, b;
	struct chain c;
	__u32 bad, gain;

	op &= ~MOVE_EXCHANGE;
	CONFINED_OR_RETURN(c, op, EACCES);
	if (!c.files || (exempt(from) && exempt(to)))
		return 0;
	file_event(&ev, from, MOS_FS_WRITE);
	if (walk_up(&c, from, from_mnt, &a) < 0 || walk_up(&c, to, to_mnt, &b) < 0)
		return refuse(&c, 0, &ev, op, EACCES);
	bad = (a.denied | ~a.write | b.denied | ~b.write) & c.files;
	if (bad)
		return refuse(&c, lowest(bad), &ev, op, EACCES);
	gain = (b.read & ~a.read) | (b.write & ~a.write) | (b.exec & ~a.exec);
	if (exchange)
		gain |= (a.read & ~b.read) | (a.write & ~b.write) | (a.exec & ~b.exec);
	gain &= c.files;
	return gain ? refuse(&c, lowest(gain), &ev, op, EXDEV) : 0;
}

SEC("lsm/path_link")
int BPF_PROG(mos_path_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	struct vfsmount *mnt = BPF_CORE_READ(new_dir, mnt);

	return verdict(ret ? ret : check_move(old_dentry, mnt, new_dentry, mnt, MOS_LSM_OP_LINK));
}

SEC("lsm/path_rename")
int BPF_PROG(mos_path_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	return verdict(ret ? ret
			   : check_move(old_dentry, BPF_CORE_READ(old_dir, mnt), new_dentry,
					BPF_CORE_READ(new_dir, mnt),
					MOS_LSM_OP_RENAME |
						(flags & RENAME_EXCHANGE ? MOVE_EXCHANGE : 0)));
}

/* ---- exec -------------------------------------------------------------- */

/*
 * At execve: a domain entered "at the next execve" comes into force, and a
 * thread that is not the leader, about to become it (de_thread), gets the
 * leader's domain now and loses a stale one.
 */
static int follow_leader(struct task_struct *t)
{
	struct task_struct *leader = t->group_leader;
	__u32 *l, *mine;

	l = bpf_task_storage_get(&task_domains, leader, 0, 0);
	if (l && (*l & MOS_LSM_PENDING_EXEC))
		*l &= ~MOS_LSM_PENDING_EXEC;
	if (t == leader)
		return 0;
	if (!l || !*l) {
		bpf_task_storage_delete(&task_domains, t);
		return 0;
	}
	mine = bpf_task_storage_get(&task_domains, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!mine) {
		count(MOS_LSM_CNT_STORAGE_FAILED);
		return -ENOMEM;
	}
	*mine = *l;
	return 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(mos_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct chain c;
	int err;

	if (ret)
		return ret;
	err = follow_leader(bpf_get_current_task_btf());
	if (err)
		return verdict(err);
	CONFINED_OR_RETURN(c, MOS_LSM_OP_EXEC, EACCES);
	return verdict(check_file(&c, BPF_CORE_READ(bprm, file), MOS_FS_READ | MOS_FS_EXEC,
				  MOS_LSM_OP_EXEC));
}

/* ---- network ------------------------------------------------------------ */

struct sockaddr_any {
	__u16 family;
	__u16 port; /* network order */
	union {
		__u32 v4; /* sockaddr_in */
		struct {
			__u32 flowinfo;
			__u8 v6[16];
		};
	};
};

/*
 * The destination of a connect or datagram: FAMILY (v4-mapped IPv6 as
 * IPv4), ADDR, PORT (host order).  -1 when ADDRLEN is too short for the
 * family (the protocol refuses the call itself, EINVAL).
 */
static int read_addr(struct sockaddr *sa, int addrlen, __u8 *family, __u8 *addr, __u16 *port)
{
	struct sockaddr_any a = {};

	if (bpf_probe_read_kernel(&a, sizeof(a), sa)) {
		count(MOS_LSM_CNT_READ_FAILED);
		return -1;
	}
	*port = bpf_ntohs(a.port);
	if (a.family == AF_INET) {
		if (addrlen < 16)
			return -1;
		*family = AF_INET;
		__builtin_memcpy(addr, &a.v4, 4);
		return 0;
	}
	if (addrlen < 24)
		return -1;
	{
		__u32 w[4];

		__builtin_memcpy(w, a.v6, 16);
		if (!w[0] && !w[1] && w[2] == bpf_htonl(0xffff)) {
			*family = AF_INET;
			__builtin_memcpy(addr, &w[3], 4);
		} else {
			*family = AF_INET6;
			__builtin_memcpy(addr, a.v6, 16);
		}
	}
	return 0;
}

/* A rule of DOMAIN for (FAMILY, ADDR, PORT): exact, any port, any address. */
static bool dest_allowed(__u32 domain, __u8 family, const __u8 *addr, __u16 port)
{
	struct mos_lsm_net_key k = { .domain = domain, .port = port, .family = family };

	__builtin_memcpy(k.addr, addr, 16);
	if (bpf_map_lookup_elem(&net_connect, &k))
		return true;
	k.port = 0;
	if (bpf_map_lookup_elem(&net_connect, &k))
		return true;
	__builtin_memset(k.addr, 0, 16);
	k.family = 0;
	k.port = port;
	if (bpf_map_lookup_elem(&net_connect, &k))
		return true;
	k.port = 0;
	return bpf_map_lookup_elem(&net_connect, &k) != NULL;
}

static void net_event(struct mos_lsm_event *ev, __u8 family, const __u8 *addr, __u16 port,
		      __u32 type)
{
	ev->family = family;
	ev->port = port;
	ev->access = type;
	__builtin_memcpy(ev->addr, addr, 16);
}

/*
 * A connect (or a datagram, or a TCP Fast Open send) from SOCK to SA:
 * TCP to an allowed address and port; UDP only with the domain's UDP flag,
 * then anywhere or to the allowed destinations; unix with the UNIX flag.
 */
static int check_dest(struct socket *sock, struct sockaddr *sa, int addrlen, __u32 op)
{
	struct mos_lsm_event ev = {};
	__u8 family = 0, addr[16] = {};
	__u16 port = 0, sfam;
	__u32 type, bad = 0, check;
	struct chain c;

	CONFINED_OR_RETURN(c, op, EACCES);
	if (!c.net || addrlen < 2)
		return 0;
	sfam = BPF_CORE_READ(sa, sa_family);
	type = BPF_CORE_READ(sock, type);
	if (sfam == AF_UNIX) {
		net_event(&ev, AF_UNIX, addr, 0, type);
		bad = c.net & ~c.unix_ok;
		return bad ? refuse(&c, lowest(bad), &ev, op, EACCES) : 0;
	}
	if (sfam != AF_INET && sfam != AF_INET6)
		return 0;
	if (read_addr(sa, addrlen, &family, addr, &port) < 0)
		return 0;
	net_event(&ev, family, addr, port, type);
	if (type == SOCK_DGRAM) {
		bad = c.net & ~c.udp;
		check = c.net & ~c.udp_anywhere;
	} else if (type == SOCK_STREAM) {
		check = c.net;
	} else {
		bad = c.net;
		check = 0;
	}
	for (__u32 l = 0; !bad && l < MOS_LSM_MAX_CHAIN && l < c.n; l++)
		if ((check & (1U << l)) && !dest_allowed(c.id[l], family, addr, port))
			bad |= 1U << l;
	return bad ? refuse(&c, lowest(bad), &ev, op, EACCES) : 0;
}

SEC("lsm/socket_connect")
int BPF_PROG(mos_socket_connect, struct socket *sock, struct sockaddr *address, int addrlen,
	     int ret)
{
	return verdict(ret ? ret : check_dest(sock, address, addrlen, MOS_LSM_OP_CONNECT));
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(mos_socket_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	struct sockaddr *name;
	int len;

	if (ret)
		return ret;
	name = BPF_CORE_READ(msg, msg_name);
	len = BPF_CORE_READ(msg, msg_namelen);
	if (!name)
		return 0;
	/* a stream socket ignores the address, unless it is TCP Fast Open */
	if (BPF_CORE_READ(sock, type) == SOCK_STREAM &&
	    !(BPF_CORE_READ(msg, msg_flags) & MSG_FASTOPEN))
		return 0;
	return verdict(check_dest(sock, name, len, MOS_LSM_OP_SENDMSG));
}

/* bind: TCP to an allowed port; UDP with the UDP flag; unix with UNIX. */
SEC("lsm/socket_bind")
int BPF_PROG(mos_socket_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	struct mos_lsm_event ev = {};
	__u8 family = 0, addr[16] = {};
	__u16 port = 0, sfam;
	__u32 type, bad = 0;
	struct chain c;

	if (ret)
		return ret;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_BIND, EACCES);
	if (!c.net || addrlen < 2)
		return 0;
	sfam = BPF_CORE_READ(address, sa_family);
	type = BPF_CORE_READ(sock, type);
	if (sfam == AF_UNIX) {
		net_event(&ev, AF_UNIX, addr, 0, type);
		bad = c.net & ~c.unix_ok;
		return verdict(bad ? refuse(&c, lowest(bad), &ev, MOS_LSM_OP_BIND, EACCES) : 0);
	}
	if (sfam != AF_INET && sfam != AF_INET6)
		return 0;
	if (read_addr(address, addrlen, &family, addr, &port) < 0)
		return 0;
	net_event(&ev, family, addr, port, type);
	if (type == SOCK_DGRAM)
		bad = c.net & ~c.udp;
	else if (type != SOCK_STREAM)
		bad = c.net;
	for (__u32 l = 0; type == SOCK_STREAM && l < MOS_LSM_MAX_CHAIN && l < c.n; l++) {
		struct mos_lsm_bind_key k = { .domain = c.id[l], .port = port };

		if ((c.net & (1U << l)) && !bpf_map_lookup_elem(&net_bind, &k))
			bad |= 1U << l;
	}
	return verdict(bad ? refuse(&c, lowest(bad), &ev, MOS_LSM_OP_BIND, EACCES) : 0);
}

/*
 * listen() on a TCP socket never bound binds an ephemeral port without the
 * bind hook: refused where the network rules are enforced.
 */
SEC("lsm/socket_listen")
int BPF_PROG(mos_socket_listen, struct socket *sock, int backlog, int ret)
{
	struct mos_lsm_event ev = {};
	__u8 none[16] = {};
	__u16 family;
	struct chain c;

	if (ret)
		return ret;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_LISTEN, EACCES);
	family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	if (!c.net || (family != AF_INET && family != AF_INET6) ||
	    BPF_CORE_READ(sock, type) != SOCK_STREAM ||
	    BPF_CORE_READ(sock, sk, __sk_common.skc_num) != 0)
		return 0;
	net_event(&ev, family, none, 0, SOCK_STREAM);
	return verdict(refuse(&c, lowest(c.net), &ev, MOS_LSM_OP_LISTEN, EACCES));
}

/*
 * socket(): as the seccomp filter of the other backends has it: IPv4/IPv6
 * TCP, UDP with the UDP flag (not ICMP), unix (socketpair() needs it; its
 * connect and bind are judged), netlink route; nothing else.
 */
SEC("lsm/socket_create")
int BPF_PROG(mos_socket_create, int family, int type, int protocol, int kern, int ret)
{
	struct mos_lsm_event ev = {};
	__u8 none[16] = {};
	struct chain c;
	int t = type & 0xf, err = 0;
	__u32 bad = 0;

	if (ret)
		return ret;
	if (kern)
		return 0;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_SOCKET, EACCES);
	if (!c.net)
		return 0;
	net_event(&ev, family, none, protocol, t);
	if (family == AF_UNIX) {
		return 0;
	} else if (family == AF_NETLINK) {
		if (protocol != 0) {
			bad = c.net;
			err = EPROTONOSUPPORT;
		}
	} else if (family == AF_INET || family == AF_INET6) {
		err = EACCES;
		if (t == SOCK_STREAM && (protocol == IPPROTO_IP || protocol == IPPROTO_TCP))
			bad = 0;
		else if (t == SOCK_DGRAM && (protocol == IPPROTO_IP || protocol == IPPROTO_UDP))
			bad = c.net & ~c.udp;
		else
			bad = c.net;
	} else {
		bad = c.net;
		err = EAFNOSUPPORT;
	}
	return verdict(bad ? refuse(&c, lowest(bad), &ev, MOS_LSM_OP_SOCKET, err) : 0);
}

/* ---- tasks --------------------------------------------------------------- */

SEC("lsm/task_alloc")
int BPF_PROG(mos_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	__u32 dom, *child;

	if (ret)
		return ret;
	if (clone_flags & CLONE_THREAD)
		return 0; /* a thread: its leader's domain is its own */
	dom = domain_of(bpf_get_current_task_btf());
	if (!dom)
		return 0;
	child = bpf_task_storage_get(&task_domains, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!child) {
		struct mos_lsm_event ev = {};
		struct chain c = { .n = 1, .id = { dom } };

		count(MOS_LSM_CNT_STORAGE_FAILED);
		return verdict(refuse(&c, 0, &ev, MOS_LSM_OP_FORK, ENOMEM));
	}
	*child = dom;
	return 0;
}

/* TARGET's domain is C's innermost or beneath it. */
static bool within(struct chain *c, struct task_struct *target)
{
	struct chain t;
	__u32 dom = domain_of(target);

	if (dom == c->id[0])
		return true;
	/* not confined yet, or not at all: outside */
	if ((dom & MOS_LSM_PENDING_EXEC) || chain_of(dom, &t) <= 0)
		return false;
	for (int l = 1; l < MOS_LSM_MAX_CHAIN; l++) {
		if (l >= t.n)
			break;
		if (t.id[l] == c->id[0])
			return true;
	}
	return false;
}

SEC("lsm/bpf")
int BPF_PROG(mos_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	struct mos_lsm_event ev = { .access = cmd };
	struct chain c;

	if (ret)
		return ret;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_BPF, EPERM);
	return verdict(refuse(&c, 0, &ev, MOS_LSM_OP_BPF, EPERM));
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(mos_ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	struct mos_lsm_event ev = { .access = mode };
	struct chain c;

	if (ret)
		return ret;
	CONFINED_OR_RETURN(c, MOS_LSM_OP_PTRACE, EPERM);
	if (within(&c, child))
		return 0;
	ev.ino = BPF_CORE_READ(child, tgid);
	return verdict(refuse(&c, 0, &ev, MOS_LSM_OP_PTRACE, EPERM));
}

SEC("lsm/task_kill")
int BPF_PROG(mos_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	struct mos_lsm_event ev = { .access = sig };
	struct chain c;

	if (ret)
		return ret;
	/*
	 * CRED is not a "signal on behalf of someone else" marker to rely on:
	 * 6.12 passes one for a plain kill(2).  The sender is current.
	 */
	CONFINED_OR_RETURN(c, MOS_LSM_OP_KILL, EPERM);
	if (within(&c, p))
		return 0;
	ev.ino = BPF_CORE_READ(p, tgid);
	return verdict(refuse(&c, 0, &ev, MOS_LSM_OP_KILL, EPERM));
}

static int no_mount(void)
{
	struct mos_lsm_event ev = {};
	struct chain c;

	CONFINED_OR_RETURN(c, MOS_LSM_OP_MOUNT, EPERM);
	return refuse(&c, 0, &ev, MOS_LSM_OP_MOUNT, EPERM);
}

SEC("lsm/sb_mount")
int BPF_PROG(mos_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	return verdict(ret ? ret : no_mount());
}

SEC("lsm/sb_umount")
int BPF_PROG(mos_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	return verdict(ret ? ret : no_mount());
}

SEC("lsm/move_mount")
int BPF_PROG(mos_move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	return verdict(ret ? ret : no_mount());
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(mos_sb_pivotroot, const struct path *old_path, const struct path *new_path, int ret)
{
	return verdict(ret ? ret : no_mount());
}
