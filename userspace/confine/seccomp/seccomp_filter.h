/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * seccomp_filter.h - the syscall deny-list every sandbox gets.
 *
 * Default allow; EPERM for syscalls a confined program never needs (kernel
 * and namespace administration, other mount APIs, keyrings, BPF, perf, ...),
 * for socket families and types the policy does not allow, and for TIOCSTI.
 * Syscalls of another ABI (ia32 through int 0x80, x32) kill the process.
 * Documentation/threat-model.md lists every entry and why it is there.
 *
 * The filter is written with libseccomp (seccomp_build) and depends only on
 * the four switches of struct seccomp_opts, so the build compiles all 16
 * variants to BPF once (userspace/confine/seccomp/gen_seccomp.c) and mosctl loads the
 * matching program without running libseccomp's compiler at every start
 * (seccomp_program_*).  A unit test checks the two agree.
 */
#ifndef MOS_SECCOMP_FILTER_H
#define MOS_SECCOMP_FILTER_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "report.h"

struct seccomp_opts {
	bool allow_udp;	  /* UDP sockets */
	bool allow_unix;  /* AF_UNIX socket() */
	bool deny_inet;	  /* no IPv4/IPv6 sockets: Landlock cannot filter ports here */
	bool deny_listen; /* no listen(): no bind rule and no unix sockets */
	/*
	 * No change of mode, owner, extended attributes, explicit times or
	 * inode flags of any file: for `mosctl attach`, where no read-only
	 * mount keeps them from the files outside the write trees and Landlock
	 * has no right for them (attach.md).
	 */
	bool deny_metadata;
};

#define SECCOMP_VARIANTS 32
unsigned int seccomp_variant(const struct seccomp_opts *o);
void seccomp_opts_of_variant(unsigned int v, struct seccomp_opts *o);

/* Build time and tests (libseccomp): the filter as a libseccomp context. */
#ifdef MOS_WITH_LIBSECCOMP
#include <seccomp.h>
int seccomp_build(const struct seccomp_opts *o, scmp_filter_ctx *out, struct mos_err *e);
size_t seccomp_denied_syscall_count(void);
#endif

/* Run time: the precompiled program for O, a description, and loading it. */
const struct sock_fprog *seccomp_program(const struct seccomp_opts *o);
void seccomp_describe(const struct seccomp_opts *o, struct mos_report *rep);
/* In the sandbox (NO_NEW_PRIVS set): install the program.  0 or -errno. */
int seccomp_enforce(const struct sock_fprog *prog);

#endif /* MOS_SECCOMP_FILTER_H */
