/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ptrace_inject.h - make a running process call system calls of our choice.
 *
 * `mosctl attach` confines a process it did not start.  Without BPF LSM the
 * only kernel mechanisms that can do that (Landlock, seccomp) must be asked
 * for by the process itself, so mosctl stops it with ptrace and has its
 * threads make those calls:
 *
 *   inj_seize()     PTRACE_SEIZE + PTRACE_INTERRUPT every thread, until no
 *                   new thread appears (a stopped thread creates none); save
 *                   each thread's registers
 *   inj_syscall()   run one system call in one stopped thread: registers set
 *                   to the call, resumed at a `syscall` instruction found in
 *                   the process's vDSO, stopped again at its exit
 *   inj_write()     copy bytes into the process (a scratch mapping made with
 *                   an injected mmap), through /proc/PID/mem
 *   inj_release()   put every thread's registers back (an interrupted system
 *                   call is restarted as the kernel would have restarted
 *                   it) and detach; a signal that arrived meanwhile is
 *                   delivered then
 *
 * Permission is the kernel's: whoever may ptrace the process (same user
 * without extra privileges on its side, or CAP_SYS_PTRACE; Yama may narrow
 * it further) may inject.  x86_64 only; elsewhere inj_seize() refuses.
 */
#ifndef MOS_PTRACE_INJECT_H
#define MOS_PTRACE_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

/* Who may be stopped, for error messages. */
#define MOS_PTRACE_WHO                                                                      \
	"you may attach only to processes you could ptrace: your own (not more privileged " \
	"than you), or any as root"

struct inj_thread;

struct inj_proc {
	pid_t pid;
	struct inj_thread *t; /* t[0] is the thread-group leader */
	size_t n;
	int memfd;	       /* /proc/PID/mem */
	uint64_t syscall_insn; /* address of a `syscall` instruction */
	uint64_t scratch;      /* a mapping of SCRATCH_LEN bytes, or 0 */
	size_t scratch_len;
};

/* Stop every thread of process PID.  0, or -errno with E set (nothing is
 * left stopped). */
int inj_seize(struct inj_proc *p, pid_t pid, struct mos_err *e);
/*
 * In thread T (0..n-1), call system call NR with ARGS (up to 6).  Returns 0
 * with *RET the call's result (-errno on failure, as the kernel returns it),
 * or -errno with E set when the injection itself failed (the thread exited,
 * ...).
 */
int inj_syscall(struct inj_proc *p, size_t t, long nr, const uint64_t *args, size_t nargs,
		long *ret, struct mos_err *e);
/* Map LEN bytes of scratch memory (read/write) in the process. */
int inj_scratch(struct inj_proc *p, size_t len, struct mos_err *e);
/* Copy LEN bytes to ADDR in the process. */
int inj_write(struct inj_proc *p, uint64_t addr, const void *buf, size_t len, struct mos_err *e);
/* Unmap the scratch memory, restore every thread and detach. */
void inj_release(struct inj_proc *p);

#endif /* MOS_PTRACE_INJECT_H */
