/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unotify.h - the supervisor backend: a seccomp filter that traps path and
 * network syscalls to a listener fd (seccomp user notification), and a
 * supervisor that decides them against an allow-list policy, acting on the
 * child's behalf.
 *
 * The TOCTOU rule (shared/DESIGN.md section 2) in one line: nothing the
 * supervisor checked is read again by the kernel from the child's memory
 * where it could reach content.  Opens are performed by the supervisor and
 * the fd is injected (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND);
 * directory changes, connect, bind, sends, stat and readlink are made on
 * the child's behalf, on the supervisor's own copies of its fds and
 * buffers.  The kernel performs, after the check, only O_PATH opens (which
 * ADDFD cannot inject) and execve, which only it can do and which mosctl's
 * noexec mounts confine; see Documentation/supervisor.md.
 *
 * mosctl's --backend unotify serves it from threads (sandbox.c).
 */
#ifndef MOS_UNOTIFY_H
#define MOS_UNOTIFY_H

#include <linux/filter.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* An address a connect may go to: FAMILY AF_INET or AF_INET6 (ADDR in
 * network order; an IPv4 address also matches its v4-mapped IPv6 form), or
 * AF_UNSPEC for any address; PORT 0 for any port. */
struct unotify_net_rule {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

/* UNOTIFY_LOOK: stat or readlink, which also reach the directories on the
 * way to a root (realpath() of an allowed path walks them). */
enum unotify_access { UNOTIFY_READ = 1, UNOTIFY_WRITE = 2, UNOTIFY_LOOK = 4, UNOTIFY_EXEC = 8 };

/* One access the supervisor decided, for the hooks below. */
struct unotify_event {
	const char *syscall; /* "openat", "connect", ... */
	pid_t pid;	     /* as the sandbox's /proc shows it; 0 if unknown */
	enum unotify_access access;
	const char *path;		     /* a file access: the path, symlinks resolved */
	const struct sockaddr_storage *addr; /* a network access (IPv4/IPv6) */
	bool bind;			     /* ... and it is a bind, not a connect */
	int error;			     /* 0 allowed, or the -errno the caller got */
	bool by_policy;			     /* the error is the policy's refusal */
	/* For ask: readable once the supervisor is told to stop (-t, a
	 * signal, the command's end): stop waiting for an answer and deny.
	 * -1 when there is none. */
	int stop_fd;
};

struct unotify_hooks {
	void *ctx;
	/*
	 * An access beneath an ask root, or a connect/bind no rule allows under
	 * ask_net: return 0 to allow it once, 1 to allow it (the same access to
	 * the same path or address) for the rest of the run, -EACCES to deny.
	 * Called from the serving thread, which waits for it (so does the
	 * caller).  NULL: deny.
	 */
	int (*ask)(void *ctx, const struct unotify_event *ev);
	/* Every access decided, once answered.  May be NULL. */
	void (*record)(void *ctx, const struct unotify_event *ev);
};

/*
 * The policy.  Every list is NULL-terminated (a NULL list is empty) and holds
 * absolute paths.  Read roots allow reading and executing beneath them, write
 * roots allow reading and writing (creating) beneath them, and deny roots
 * override both; a root may be a single file.  ALLOW_NET lets every IPv4/IPv6
 * connect() through; otherwise a TCP connect must match a rule of CONNECT and
 * a TCP bind a port of BIND_PORTS, or it fails with EACCES.  Connects and
 * binds are performed on the child's behalf.
 */
struct unotify_policy {
	const char *const *read;
	const char *const *write;
	const char *const *deny;
	bool allow_net;
	const struct unotify_net_rule *connect;
	size_t nconnect;
	const uint16_t *bind_ports;
	size_t nbind;
	/* UDP sockets: connect and bind are not restricted (as under Landlock). */
	bool allow_udp;
	/* Unix sockets: abstract and unnamed ones as they are, a path if it is
	 * beneath a root (connect) or a write root (bind). */
	bool allow_unix;
	/* Ask roots: any access beneath them is allowed only if HOOKS->ask
	 * says so (the longest root wins, as for the others). */
	const char *const *ask;
	/* TCP connects and binds no rule allows are asked about, not denied. */
	bool ask_net;
	const struct unotify_hooks *hooks;
	/*
	 * The sandbox has a mount namespace of its own: every path is resolved
	 * beneath ROOT_FD (an O_PATH fd of the sandbox's "/"), and the sandbox's
	 * /proc counts pids PID_LEVEL pid namespaces below the supervisor's
	 * (unotify_pid_level()).  Without IN_ROOT, paths are the supervisor's.
	 */
	bool in_root;
	int root_fd;
	int pid_level;
	/*
	 * The sandbox's mounts decide what can run: everything outside the
	 * exec and write roots is noexec and denied paths are hidden.  An
	 * execve path rewritten after the check (by another thread, or memory
	 * shared with another process) can then only reach a program the policy
	 * lets run, so execve is let through for any caller; without it, only
	 * for a caller that is its process's only thread.
	 */
	bool exec_by_mounts;
	/*
	 * Every process under the filter has the supervisor's own uid, gid and
	 * groups (mosctl's sandbox maps only those): the supervisor then opens
	 * with its own credentials instead of reading and taking the caller's
	 * for each request.
	 */
	bool same_creds;
	/* Layered on Landlock: only connect and bind are trapped (no roots). */
	bool net_only;
};

/* How many pid namespaces below ours process PID lives (its NStgid
 * entries, less one), or -errno. */
int unotify_pid_level(pid_t pid);

struct unotify_stats {
	uint64_t notifications; /* received */
	uint64_t allowed;	/* performed on behalf (or execve continued) */
	uint64_t denied;	/* EACCES by policy */
	uint64_t failed;	/* performed, and the operation itself failed */
	uint64_t stale;		/* the caller went away (signal, death) mid-decision */
};

/* Largest filter unotify_filter_build() writes. */
#define UNOTIFY_FILTER_MAX 64

/*
 * Write the classic BPF program into PROG (room for UNOTIFY_FILTER_MAX
 * instructions): kill any architecture but x86_64 and any x32 syscall,
 * answer openat2 and landlock_* with ENOSYS and io_uring with EPERM (the
 * supervisor cannot see what they do), send the trapped syscalls to the
 * listener, allow the rest.
 * Returns the number of instructions.
 */
size_t unotify_filter_build(struct sock_filter *prog);
/*
 * The same for one use: UNOTIFY_TRAP_ALL (the supervisor alone), or
 * UNOTIFY_TRAP_NET (layered on Landlock, which keeps the files: only
 * connect and bind are trapped, Landlock stays available); either with
 * UNOTIFY_TRAP_SEND (UDP allowed: datagram destinations are checked too,
 * so sendmsg, sendmmsg and sendto with an address are trapped).
 */
enum unotify_trap { UNOTIFY_TRAP_ALL = 0, UNOTIFY_TRAP_NET = 1, UNOTIFY_TRAP_SEND = 2 };
size_t unotify_filter_build_for(struct sock_filter *prog, unsigned int what);
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
int unotify_install_filter_for(unsigned int what);

/*
 * Serve LISTENER with policy P until every process under the filter has
 * exited (returns 0) or an unrecoverable error (-errno).  Run it in a
 * thread or process the sandbox cannot signal, ptrace or read.  The calling
 * thread's filesystem attributes are unshared (umask 0: the child's umask is
 * applied by hand) and its effective capabilities reduced to CAP_SETUID and
 * CAP_SETGID, so it opens files as the child would (fsuid, fsgid and groups
 * are switched to the child's per request); CAP_SYS_PTRACE and CAP_KILL
 * stay permitted, raised only for one system call on the caller itself
 * (its memory, its fds, a signal to it) that failed without them.
 * STATS may be NULL.
 */
int unotify_serve(int listener, const struct unotify_policy *p, struct unotify_stats *stats);

/*
 * The same, for a supervisor thread of mosctl: once prepared (roots opened,
 * credentials set), it writes an int, 0 or -errno, to READY_FD (if >= 0),
 * and it returns 0 when STOP_FD (if >= 0) becomes readable.
 */
struct unotify_serve_opts {
	int ready_fd;
	int stop_fd;
};
int unotify_serve_with(int listener, const struct unotify_policy *p, struct unotify_stats *stats,
		       const struct unotify_serve_opts *o);

/*
 * The signal that interrupts what a serving thread (or one of its jobs:
 * a FIFO's open, a connect, a send that waits) is blocked in, so that a
 * supervisor told to stop stops at once (a realtime signal; the serving
 * threads install a handler for it that does nothing, without SA_RESTART).
 * unotify_interrupt(T) sends it to thread T: after writing STOP_FD, send it
 * to each serving thread until it returns.
 */
int unotify_interrupt_signal(void);
void unotify_interrupt(pthread_t thread);

/*
 * Policy check on a normalized absolute path (no ".", "..", "//"): 0 when
 * ACCESS (UNOTIFY_READ, UNOTIFY_WRITE) is allowed, -EACCES otherwise, with
 * *ROOT set to the index of the allowing root in the read list followed by
 * the write list.  Exposed for unit tests.
 */
int unotify_policy_check(const struct unotify_policy *p, const char *path,
			 enum unotify_access access, size_t *root);

#endif /* MOS_UNOTIFY_H */
