/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unotify.h - the foundation of the supervisor backend: a seccomp filter
 * that traps path and connect syscalls to a listener fd (seccomp user
 * notification), and a supervisor that decides them against a small
 * allow-list policy, acting on the child's behalf.
 *
 * The TOCTOU rule (shared/DESIGN.md section 2) in one line: nothing the
 * supervisor checked is ever read again by the kernel from the child's
 * memory.  Opens are performed by the supervisor and the fd is injected
 * (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND); stat and
 * readlink are performed and their results written back; connect is done on
 * the child's socket fetched with pidfd_getfd.  The one exception is
 * execve, which only the kernel can perform: it is let through (CONTINUE)
 * only for a single-threaded caller; see Documentation/supervisor.md for
 * what that does and does not cover.
 *
 * Not yet wired into mosctl (issue 4): this is a library and its tests.
 */
#ifndef MOS_UNOTIFY_H
#define MOS_UNOTIFY_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The policy.  Every list is NULL-terminated (a NULL list is empty) and holds
 * absolute paths.  Read roots allow reading and executing beneath them, write
 * roots allow reading and writing (creating) beneath them, and deny roots
 * override both.  ALLOW_NET lets IPv4/IPv6 connect() through (performed on
 * the child's behalf); otherwise connect() fails with EACCES.
 */
struct unotify_policy {
	const char *const *read;
	const char *const *write;
	const char *const *deny;
	bool allow_net;
};

struct unotify_stats {
	uint64_t notifications; /* received */
	uint64_t allowed;	/* performed on behalf (or execve continued) */
	uint64_t denied;	/* EACCES by policy */
	uint64_t failed;	/* performed, and the operation itself failed */
	uint64_t stale;		/* the caller went away (signal, death) mid-decision */
};

/* Largest filter unotify_filter_build() writes. */
#define UNOTIFY_FILTER_MAX 32

/*
 * Write the classic BPF program into PROG (room for UNOTIFY_FILTER_MAX
 * instructions): kill any architecture but x86_64 and any x32 syscall,
 * answer openat2 and io_uring with ENOSYS (the supervisor cannot see what
 * they do), send the trapped syscalls to the listener, allow the rest.
 * Returns the number of instructions.
 */
size_t unotify_filter_build(struct sock_filter *prog);
/* True when unotify traps syscall NR (x86_64 numbering). */
bool unotify_traps(long nr);

/*
 * Install the filter in the calling thread (which must have NO_NEW_PRIVS
 * set: -EPERM otherwise) and return the listener fd (O_CLOEXEC) or -errno.
 * The caller passes the fd to the supervisor and closes its own copy: a
 * trapped syscall of a process that still holds its own listener waits on
 * itself.
 */
int unotify_install_filter(void);

/*
 * Serve LISTENER with policy P until every process under the filter has
 * exited (returns 0) or an unrecoverable error (-errno).  Run it in a
 * thread or process the sandbox cannot signal, ptrace or read.  The calling
 * thread's filesystem attributes are unshared (umask 0: the child's umask is
 * applied by hand) and its effective capabilities reduced to CAP_SETUID,
 * CAP_SETGID and CAP_SYS_PTRACE, so it opens files as the child would
 * (fsuid, fsgid and groups are switched to the child's per request).
 * STATS may be NULL.
 */
int unotify_serve(int listener, const struct unotify_policy *p, struct unotify_stats *stats);

/*
 * Policy check on a normalized absolute path (no ".", "..", "//"): 0 when
 * ACCESS (UNOTIFY_READ, UNOTIFY_WRITE) is allowed, -EACCES otherwise, with
 * *ROOT set to the index of the allowing root in the read list followed by
 * the write list.  Exposed for unit tests.
 */
enum unotify_access { UNOTIFY_READ = 1, UNOTIFY_WRITE = 2 };
int unotify_policy_check(const struct unotify_policy *p, const char *path,
			 enum unotify_access access, size_t *root);

#endif /* MOS_UNOTIFY_H */
