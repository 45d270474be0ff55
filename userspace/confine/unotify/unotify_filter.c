// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_filter.c - the supervisor's seccomp filter, written by hand in
 * classic BPF (mosctl links only libc: no libseccomp at run time).
 *
 *   ld  arch            anything but x86_64: kill the process
 *   ld  nr              x32 (nr & __X32_SYSCALL_BIT): kill the process
 *   nr == openat2:      ENOSYS (the supervisor cannot see through its
 *                       struct; callers fall back to openat, which is trapped)
 *   nr == landlock_*:   ENOSYS (a domain the caller adds would not bind the
 *                       supervisor acting for it)
 *   nr == io_uring_*:   EPERM (nor into io_uring's rings), as the
 *                       sandbox's own seccomp filter answers
 *   nr in trapped set:  SECCOMP_RET_USER_NOTIF
 *   otherwise           allow
 *
 * The architecture is checked before the number is looked at: syscall
 * numbers only mean something for one ABI.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unotify.h"
#include "util.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

/* With UNOTIFY_TRAP_NET only these; Landlock has the files. */
static const long trapped_net[] = { __NR_connect, __NR_bind };

static const long trapped[] = {
	__NR_open,
	__NR_openat,
	__NR_creat,
	__NR_stat,
	__NR_lstat,
	__NR_newfstatat,
	__NR_statx,
	__NR_readlink,
	__NR_readlinkat,
	__NR_execve,
	__NR_execveat,
	__NR_connect,
	__NR_bind,
	/* changes to directories, made on behalf relative to a checked parent */
	__NR_mkdir,
	__NR_mkdirat,
	__NR_mknod,
	__NR_mknodat,
	__NR_symlink,
	__NR_symlinkat,
	__NR_unlink,
	__NR_unlinkat,
	__NR_rmdir,
	__NR_rename,
	__NR_renameat,
	__NR_renameat2,
	__NR_link,
	__NR_linkat,
	__NR_truncate,
};

/*
 * Landlock too: the supervisor opens on the caller's behalf, outside any
 * Landlock domain the caller would add to itself, so such a domain would
 * restrict nothing that is trapped.  Better that the caller sees no Landlock
 * (ENOSYS, as on a kernel without it) than one that silently does not hold.
 */
static const long enosys[] = { __NR_openat2, __NR_landlock_create_ruleset, __NR_landlock_add_rule,
			       __NR_landlock_restrict_self };
static const long eperm[] = { __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register };

bool unotify_traps(long nr)
{
	for (size_t i = 0; i < ARRAY_SIZE(trapped); i++)
		if (trapped[i] == nr)
			return true;
	return false;
}

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

size_t unotify_filter_build(struct sock_filter *prog)
{
	return unotify_filter_build_for(prog, UNOTIFY_TRAP_ALL);
}

size_t unotify_filter_build_for(struct sock_filter *prog, unsigned int what)
{
	const bool net_only = what & UNOTIFY_TRAP_NET, send = what & UNOTIFY_TRAP_SEND;
	const long *trap = net_only ? trapped_net : trapped;
	const size_t ntrap = net_only ? ARRAY_SIZE(trapped_net) : ARRAY_SIZE(trapped);
	/* landlock_* stays ENOSYS only where the supervisor opens files */
	const size_t nenosys = net_only ? 1 : ARRAY_SIZE(enosys);
	size_t n = 0, i;
	/* Index of the instructions after the checks, laid out at the end:
	 * [ja allow, the sendto block], allow, notif, enosys, eperm, kill. */
	const size_t nr_checks = nenosys + ARRAY_SIZE(eperm) + ntrap + (send ? 3 : 0);
	const size_t head = 4; /* ld arch, jeq, ld nr, jge x32 */
	const size_t sendto_block = head + nr_checks + 1;
	const size_t ret_allow = head + nr_checks + (send ? 5 : 0);
	const size_t ret_notif = ret_allow + 1;
	const size_t ret_enosys = ret_allow + 2;
	const size_t ret_eperm = ret_allow + 3;
	const size_t ret_kill = ret_allow + 4;
	const unsigned dest = offsetof(struct seccomp_data, args) + 4 * sizeof(__u64);

	_Static_assert(4 + ARRAY_SIZE(enosys) + ARRAY_SIZE(eperm) + ARRAY_SIZE(trapped) + 3 + 5 +
				       5 <=
			       UNOTIFY_FILTER_MAX,
		       "UNOTIFY_FILTER_MAX too small");

	prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	prog[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, ret_kill - (n + 1));
	n++;
	prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	prog[n] = JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, ret_kill - (n + 1), 0);
	n++;
	for (i = 0; i < nenosys; i++, n++)
		prog[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, enosys[i], ret_enosys - (n + 1), 0);
	for (i = 0; i < ARRAY_SIZE(eperm); i++, n++)
		prog[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, eperm[i], ret_eperm - (n + 1), 0);
	for (i = 0; i < ntrap; i++, n++)
		prog[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, trap[i], ret_notif - (n + 1), 0);
	if (send) {
		/* datagram destinations: every sendmsg/sendmmsg, sendto with an address */
		prog[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, ret_notif - (n + 1), 0);
		n++;
		prog[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmmsg, ret_notif - (n + 1), 0);
		n++;
		prog[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendto, sendto_block - (n + 1), 0);
		n++;
		prog[n] = STMT(BPF_JMP | BPF_JA, (__u32)(ret_allow - (n + 1)));
		n++;
		/* sendto_block: dest_addr (args[4]) NULL in both halves: allow */
		prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, dest);
		prog[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, ret_notif - (n + 1));
		n++;
		prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, dest + 4);
		prog[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, ret_allow - (n + 1),
			       ret_notif - (n + 1));
		n++;
	}
	prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
	prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	return n;
}

int unotify_install_filter(void)
{
	return unotify_install_filter_for(UNOTIFY_TRAP_ALL);
}

int unotify_install_filter_for(unsigned int what)
{
	struct sock_filter insns[UNOTIFY_FILTER_MAX];
	struct sock_fprog prog = { .filter = insns };
	long fd;

	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return -EPERM;
	prog.len = (unsigned short)unotify_filter_build_for(insns, what);
	/*
	 * WAIT_KILLABLE_RECV (Linux 5.19): once the supervisor has received a
	 * request, only a fatal signal interrupts the caller, so an open we
	 * performed (O_CREAT|O_EXCL) is never restarted behind our back.
	 */
	fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
		     SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
		     &prog);
	if (fd < 0 && errno == EINVAL)
		fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
			     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		return -errno;
	return (int)fd;
}
