// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp_programs.c - the precompiled deny-list programs (see
 * seccomp_filter.h), chosen and loaded at run time without libseccomp.
 */
#include "seccomp_filter.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

unsigned int seccomp_variant(const struct seccomp_opts *o)
{
	return (o->allow_udp ? 1U : 0U) | (o->allow_unix ? 2U : 0U) | (o->deny_inet ? 4U : 0U) |
	       (o->deny_listen ? 8U : 0U) | (o->deny_metadata ? 16U : 0U);
}

void seccomp_opts_of_variant(unsigned int v, struct seccomp_opts *o)
{
	o->allow_udp = v & 1U;
	o->allow_unix = v & 2U;
	o->deny_inet = v & 4U;
	o->deny_listen = v & 8U;
	o->deny_metadata = v & 16U;
}

#ifndef MOS_SECCOMP_VARIANTS_ONLY
#include "seccomp_programs.h" /* generated in the build directory */

const struct sock_fprog *seccomp_program(const struct seccomp_opts *o)
{
	return &mos_seccomp_programs[seccomp_variant(o)];
}

void seccomp_describe(const struct seccomp_opts *o, struct mos_report *rep)
{
	report_add(rep,
		   "seccomp: %d syscalls denied (kernel modules, mount, namespaces, "
		   "keyrings, bpf, perf, io_uring, ...); ia32 and x32 syscalls kill "
		   "the process; TIOCSTI denied",
		   MOS_SECCOMP_DENIED_SYSCALLS);
	if (o->deny_inet)
		report_add(rep,
			   "seccomp: sockets: no IPv4/IPv6 at all (Landlock cannot "
			   "filter TCP ports on this kernel)%s",
			   o->allow_unix ? ", unix" : "");
	else
		report_add(rep,
			   "seccomp: sockets: TCP%s%s and netlink route only; raw, "
			   "MPTCP, SCTP, ICMP%s%s and other families fail",
			   o->allow_udp ? ", UDP" : "", o->allow_unix ? ", unix" : "",
			   o->allow_udp ? "" : ", UDP",
			   o->allow_unix ? "" : ", unix (socketpair() still works)");
	report_add(rep, "seccomp: no set-user-ID or set-group-ID bits on files (chmod, "
			"open, mknod), no device nodes (mknod); openat2 answers ENOSYS");
	if (o->deny_metadata)
		report_add(rep, "seccomp: no change of any file's mode, owner, extended "
				"attributes, inode flags or times (chmod, chown, setxattr, "
				"FS_IOC_SETFLAGS, utimes; futimens(fd, NULL) still sets the "
				"present time): nothing keeps them from the files outside the "
				"write trees otherwise");
	report_add(rep,
		   "seccomp: TCP Fast Open (MSG_FASTOPEN) refused: it connects without "
		   "the check Landlock makes on connect()%s",
		   o->deny_listen ? "; listen() refused (no bind rule)" : "");
}

int seccomp_enforce(const struct sock_fprog *prog)
{
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return -errno;
	return 0;
}
#endif /* MOS_SECCOMP_VARIANTS_ONLY */
