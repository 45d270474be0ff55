// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp_filter.c - the syscall deny-list, built with libseccomp (see
 * seccomp_filter.h).
 */
#include "seccomp_filter.h"

#include <errno.h>
#include <linux/fs.h>
#include <linux/personality.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "util.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Syscalls no confined program needs; each fails with EPERM. */
static const char *const denied_syscalls[] = {
	/* loading code into the kernel, or replacing it */
	"bpf",
	"init_module",
	"finit_module",
	"delete_module",
	"kexec_load",
	"kexec_file_load",
	/* mounts and root changes (Landlock forbids them too) */
	"mount",
	"umount2",
	"pivot_root",
	"chroot",
	"move_mount",
	"open_tree",
	"open_tree_attr",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"mount_setattr",
	/* joining other namespaces */
	"setns",
	/* the kernel keyrings: secrets of the caller's session live there */
	"keyctl",
	"add_key",
	"request_key",
	/* large attack surfaces a build or an agent does not use */
	"perf_event_open",
	"userfaultfd",
	"open_by_handle_at",
	"name_to_handle_at",
	/*
	 * io_uring: its IORING_OP_SOCKET would create sockets this filter
	 * cannot see (Landlock would still check its opens and connects).
	 */
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	/* host administration */
	"acct",
	"swapon",
	"swapoff",
	"reboot",
	"syslog",
	"vhangup",
	"quotactl",
	"quotactl_fd",
	"settimeofday",
	"clock_settime",
	"iopl",
	"ioperm",
	"uselib",
	"lookup_dcookie",
	"nfsservctl",
};

/* Namespace flags refused in unshare() and clone(). */
static const unsigned long ns_flags[] = {
	CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
	CLONE_NEWUTS, CLONE_NEWIPC,  CLONE_NEWCGROUP,
};

/* personality() bits that weaken ASLR or memory protections. */
static const unsigned long bad_personality[] = {
	ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ADDR_COMPAT_LAYOUT,
	MMAP_PAGE_ZERO,	   ADDR_LIMIT_3GB,    ADDR_LIMIT_32BIT,
};

struct sbuild {
	scmp_filter_ctx ctx;
	struct mos_err *e;
};

/*
 * The number of syscall NAME on this architecture.  libseccomp knows the
 * calls of its release only: for newer ones of x86_64 (the filter's one
 * architecture) the number is taken from this table, or a call this
 * kernel has would pass a deny-list that names it.
 */
static int syscall_nr(const char *name)
{
	static const struct {
		const char *name;
		int nr;
	} newer[] = {
#if defined(__x86_64__)
		{ "fchmodat2", 452 },
		{ "setxattrat", 463 },
		{ "removexattrat", 466 },
		{ "open_tree_attr", 467 },
		{ "file_setattr", 469 },
#endif
		{ NULL, 0 },
	};
	int nr = seccomp_syscall_resolve_name(name);

	for (size_t i = 0; nr == __NR_SCMP_ERROR && newer[i].name; i++)
		if (!strcmp(newer[i].name, name))
			nr = newer[i].nr;
	return nr;
}

static int rule(struct sbuild *b, int err, int nr, const char *what, unsigned int n,
		const struct scmp_arg_cmp *args)
{
	int r = seccomp_rule_add_array(b->ctx, SCMP_ACT_ERRNO(err), nr, n, args);

	if (r < 0)
		mos_err_set(b->e, "seccomp rule for %s: %s", what, strerror(-r));
	return r;
}

static int deny_flag_bits(struct sbuild *b, const char *name, const unsigned long *flags, size_t n)
{
	int nr = seccomp_syscall_resolve_name(name);

	for (size_t i = 0; i < n; i++) {
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_MASKED_EQ, flags[i], flags[i]);
		int r = rule(b, EPERM, nr, name, 1, &a);

		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * socket() takes ints: the kernel ignores the upper 32 bits of each register,
 * so every equality on an argument compares the low 32 bits only (a value
 * with high bits set must not slip past a rule it would match as an int).
 */
#define ARG32_EQ(n, v) SCMP_CMP(n, SCMP_CMP_MASKED_EQ, 0xffffffffULL, (scmp_datum_t)(v))

/*
 * socket(): AF_INET/AF_INET6 TCP (filtered by Landlock), UDP with
 * --allow-udp, AF_UNIX with --allow-unix, AF_NETLINK route (interface
 * lookups); every other family, type and protocol fails.
 */
static int socket_rules(struct sbuild *b, const struct seccomp_opts *o)
{
	int nr = SCMP_SYS(socket);
	int r;

	/*
	 * Families are refused one by one below AF_NETLINK (libseccomp cannot
	 * compare one argument twice in a rule) and as a range above it (a
	 * 64-bit comparison, so high garbage bits are refused too).
	 */
	for (int af = 0; af < AF_NETLINK; af++) {
		struct scmp_arg_cmp a = ARG32_EQ(0, af);

		if ((af == AF_UNIX && o->allow_unix) ||
		    ((af == AF_INET || af == AF_INET6) && !o->deny_inet))
			continue;
		r = rule(b, EAFNOSUPPORT, nr, "socket family", 1, &a);
		if (r < 0)
			return r;
	}
	{
		struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_GT, AF_NETLINK, 0);

		r = rule(b, EAFNOSUPPORT, nr, "socket family", 1, &a);
		if (r < 0)
			return r;
	}
	{
		/* netlink: only NETLINK_ROUTE (0), read by getifaddrs(). */
		struct scmp_arg_cmp a[] = {
			ARG32_EQ(0, AF_NETLINK),
			SCMP_A2(SCMP_CMP_NE, 0, 0),
		};

		r = rule(b, EPROTONOSUPPORT, nr, "netlink protocol", 2, a);
		if (r < 0)
			return r;
	}
	if (o->deny_inet)
		return 0;
	for (int fam = 0; fam < 2; fam++) {
		int af = fam ? AF_INET6 : AF_INET;

		/* Types other than STREAM (and DGRAM with --allow-udp). */
		for (int type = 2; type <= 10; type++) {
			struct scmp_arg_cmp a[] = {
				ARG32_EQ(0, af),
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (scmp_datum_t)type),
			};

			if (type == SOCK_DGRAM && o->allow_udp)
				continue;
			r = rule(b, EACCES, nr, "socket type", 2, a);
			if (r < 0)
				return r;
		}
		{
			/*
			 * Stream sockets: TCP only (protocol 0 or 6).  MPTCP (262)
			 * and SCTP (132) are not filtered by Landlock's TCP rules.
			 */
			struct scmp_arg_cmp a[] = {
				ARG32_EQ(0, af),
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM),
				SCMP_A2(SCMP_CMP_GT, IPPROTO_TCP, 0),
			};

			r = rule(b, EACCES, nr, "stream protocol", 3, a);
			if (r < 0)
				return r;
		}
		if (o->allow_udp) {
			/* ICMP "ping" sockets are datagram sockets too: still off. */
			int protos[] = { IPPROTO_ICMP, IPPROTO_ICMPV6 };

			for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
				struct scmp_arg_cmp a[] = {
					ARG32_EQ(0, af),
					ARG32_EQ(2, protos[i]),
				};

				r = rule(b, EACCES, nr, "ICMP socket", 2, a);
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

/*
 * TCP Fast Open connects inside sendto()/sendmsg() without the connect hook
 * Landlock filters on, so MSG_FASTOPEN is refused (a plain connect() with
 * TCP_FASTOPEN_CONNECT still works and is checked).  listen() on an unbound
 * socket binds an ephemeral port without Landlock's bind hook: with no bind
 * rule and no unix sockets, nothing may listen at all.
 */
static int connect_path_rules(struct sbuild *b, const struct seccomp_opts *o)
{
	static const struct {
		const char *name;
		unsigned int flags_arg;
	} sends[] = { { "sendto", 3 }, { "sendmsg", 2 }, { "sendmmsg", 3 } };
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(sends); i++) {
		struct scmp_arg_cmp a = SCMP_CMP(sends[i].flags_arg, SCMP_CMP_MASKED_EQ,
						 MSG_FASTOPEN, MSG_FASTOPEN);

		r = rule(b, EPERM, seccomp_syscall_resolve_name(sends[i].name), sends[i].name, 1,
			 &a);
		if (r < 0)
			return r;
	}
	if (o->deny_listen)
		return rule(b, EPERM, SCMP_SYS(listen), "listen", 0, NULL);
	return 0;
}

/*
 * No set-user-ID or set-group-ID file may come out of a sandbox: a root
 * caller's sandbox could otherwise leave a setuid-root binary in a writable
 * tree, and any caller's a setuid-to-itself one for other local users.
 * The mode is an argument of chmod, open with O_CREAT and mknod; openat2
 * passes it in memory seccomp cannot read, so openat2 answers ENOSYS and the
 * C library or the program falls back to openat.
 */
static int setid_rules(struct sbuild *b)
{
	static const struct {
		const char *name;
		unsigned int mode_arg;
	} calls[] = {
		{ "chmod", 1 },	    { "fchmod", 1 }, { "fchmodat", 2 },
		{ "fchmodat2", 2 }, { "open", 2 },   { "openat", 3 },
		{ "creat", 1 },	    { "mknod", 1 },  { "mknodat", 2 },
	};
	static const unsigned long bits[] = { S_ISUID, S_ISGID };
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		int nr = syscall_nr(calls[i].name);

		if (nr == __NR_SCMP_ERROR)
			continue;
		for (size_t j = 0; j < ARRAY_SIZE(bits); j++) {
			struct scmp_arg_cmp a =
				SCMP_CMP(calls[i].mode_arg, SCMP_CMP_MASKED_EQ, bits[j], bits[j]);

			r = rule(b, EPERM, nr, calls[i].name, 1, &a);
			if (r < 0)
				return r;
		}
	}
	return rule(b, ENOSYS, SCMP_SYS(openat2), "openat2", 0, NULL);
}

/*
 * No device node either: a root caller's sandbox (or an attached root
 * process) could otherwise make one of /dev/kmsg or of the disk in a
 * writable tree and open it there.  CAP_MKNOD is dropped as well; this
 * holds whatever capabilities are left.  FIFOs and sockets stay (Landlock
 * decides where).
 */
static int device_rules(struct sbuild *b)
{
	static const struct {
		const char *name;
		unsigned int mode_arg;
	} calls[] = { { "mknod", 1 }, { "mknodat", 2 } };
	static const unsigned long types[] = { S_IFCHR, S_IFBLK };
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(types); j++) {
			struct scmp_arg_cmp a =
				SCMP_CMP(calls[i].mode_arg, SCMP_CMP_MASKED_EQ, S_IFMT, types[j]);

			r = rule(b, EPERM, syscall_nr(calls[i].name), calls[i].name, 1, &a);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/*
 * deny_metadata: a running process attached through ptrace keeps its mount
 * view, so nothing makes the files outside its write trees read-only, and
 * Landlock has no right for chmod, chown, extended attributes, inode flags
 * or times.  Which file a call names is in memory or behind an fd, which
 * seccomp cannot judge, so each is refused everywhere, the write trees
 * included.  One form stays: utimensat(fd, NULL, NULL, 0), futimens(fd,
 * NULL), which sets the present time (touch(1) opens the file for writing
 * first, which Landlock decides) and sets no chosen one; both pointers are
 * compared as values, never read.
 */
static int metadata_rules(struct sbuild *b)
{
	static const char *const calls[] = {
		"chmod",	 "fchmod",	"fchmodat",	"fchmodat2",	"chown",
		"fchown",	 "lchown",	"fchownat",	"setxattr",	"lsetxattr",
		"fsetxattr",	 "removexattr", "lremovexattr", "fremovexattr", "setxattrat",
		"removexattrat", "utime",	"utimes",	"futimesat",	"file_setattr",
	};
	/* the inode flags (chattr) and the fsxattr (project id, extent size) */
	static const unsigned long ioctls[] = {
		FS_IOC_SETFLAGS,   FS_IOC32_SETFLAGS,	FS_IOC_FSSETXATTR,
		FS_IOC_SETVERSION, FS_IOC32_SETVERSION,
	};
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(calls); i++) {
		int nr = syscall_nr(calls[i]);

		if (nr != __NR_SCMP_ERROR)
			r = rule(b, EPERM, nr, calls[i], 0, NULL);
	}
	for (unsigned int arg = 1; r == 0 && arg <= 2; arg++) {
		struct scmp_arg_cmp a = SCMP_CMP(arg, SCMP_CMP_NE, 0, 0);

		r = rule(b, EPERM, SCMP_SYS(utimensat), "utimensat", 1, &a);
	}
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(ioctls); i++) {
		struct scmp_arg_cmp a = ARG32_EQ(1, ioctls[i]);

		r = rule(b, EPERM, SCMP_SYS(ioctl), "ioctl", 1, &a);
	}
	return r;
}

/*
 * personality(): refuse the flags that weaken ASLR or memory protections,
 * but keep the query (0xffffffff), which has every bit set.  As one rule
 * cannot compare an argument twice, the set is split on bit 31: below it,
 * any bad flag is refused; with it, anything but the query is refused.
 */
static int personality_rules(struct sbuild *b)
{
	int nr = SCMP_SYS(personality);
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(bad_personality); i++) {
		struct scmp_arg_cmp a = SCMP_A0(
			SCMP_CMP_MASKED_EQ, bad_personality[i] | 0x80000000UL, bad_personality[i]);

		r = rule(b, EPERM, nr, "personality", 1, &a);
		if (r < 0)
			return r;
	}
	for (int bit = 0; bit < 31; bit++) {
		struct scmp_arg_cmp a =
			SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000UL | (1UL << bit), 0x80000000UL);

		r = rule(b, EPERM, nr, "personality", 1, &a);
		if (r < 0)
			return r;
	}
	return 0;
}

int seccomp_build(const struct seccomp_opts *o, scmp_filter_ctx *out, struct mos_err *e)
{
	struct sbuild b = { .e = e };
	int r;

	b.ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!b.ctx) {
		mos_err_set(e, "seccomp_init failed (libseccomp)");
		return -ENOMEM;
	}
	/*
	 * Only the native x86-64 ABI is in the filter: an ia32 (int 0x80) or
	 * x32 syscall matches no architecture and kills the process.
	 */
	r = seccomp_attr_set(b.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = seccomp_attr_set(b.ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (r == 0)
		seccomp_attr_set(b.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0) {
		mos_err_set(e, "seccomp attributes: %s", strerror(-r));
		goto fail;
	}

	for (size_t i = 0; i < ARRAY_SIZE(denied_syscalls); i++) {
		int nr = syscall_nr(denied_syscalls[i]);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not a syscall on this architecture */
		r = rule(&b, EPERM, nr, denied_syscalls[i], 0, NULL);
		if (r < 0)
			goto fail;
	}
	r = deny_flag_bits(&b, "unshare", ns_flags, ARRAY_SIZE(ns_flags));
	if (r == 0) {
		unsigned long unshare_time = CLONE_NEWTIME;

		r = deny_flag_bits(&b, "unshare", &unshare_time, 1);
	}
	if (r == 0)
		r = deny_flag_bits(&b, "clone", ns_flags, ARRAY_SIZE(ns_flags));
	if (r == 0)
		r = personality_rules(&b);
	if (r < 0)
		goto fail;
	/* clone3 passes its flags in memory seccomp cannot read: ENOSYS makes
	 * the C library fall back to clone(), which is checked above. */
	r = rule(&b, ENOSYS, SCMP_SYS(clone3), "clone3", 0, NULL);
	if (r == 0)
		r = setid_rules(&b);
	if (r == 0)
		r = device_rules(&b);
	if (r == 0 && o->deny_metadata)
		r = metadata_rules(&b);
	if (r < 0)
		goto fail;
	{
		/* Faking terminal input into the caller's shell. */
		static const unsigned long ioctls[] = { TIOCSTI, TIOCLINUX };

		for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++) {
			struct scmp_arg_cmp a = ARG32_EQ(1, ioctls[i]);

			r = rule(&b, EPERM, SCMP_SYS(ioctl), "ioctl", 1, &a);
			if (r < 0)
				goto fail;
		}
	}
	r = socket_rules(&b, o);
	if (r == 0)
		r = connect_path_rules(&b, o);
	if (r < 0)
		goto fail;

	*out = b.ctx;
	return 0;
fail:
	seccomp_release(b.ctx);
	return r;
}

size_t seccomp_denied_syscall_count(void)
{
	return ARRAY_SIZE(denied_syscalls);
}
