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
 *   inj_tree_seize()  stop a process and all its descendants at once, so
 *                   that nothing in the tree forks, execs or exits between
 *                   the walk over it and its confinement (see below)
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
	uint64_t syscall_insn; /* address of a `syscall` instruction, 0: not found yet */
	uint64_t scratch;      /* a mapping of SCRATCH_LEN bytes, or 0 */
	size_t scratch_len;
};

/* Stop every thread of process PID.  0, or -errno with E set (nothing is
 * left stopped). */
int inj_seize(struct inj_proc *p, pid_t pid, struct mos_err *e);
/* The thread id of thread I (0..n-1; 0 is the leader). */
pid_t inj_tid(const struct inj_proc *p, size_t i);
/*
 * In thread T (0..n-1), call system call NR with ARGS (up to 6).  Returns 0
 * with *RET the call's result (-errno on failure, as the kernel returns it),
 * or -errno with E set when the injection itself failed (the thread exited,
 * ...).
 */
int inj_syscall(struct inj_proc *p, size_t t, long nr, const uint64_t *args, size_t nargs,
		long *ret, struct mos_err *e);
/* Map at least LEN bytes of scratch memory (read/write) in the process at
 * P->scratch (kept when the mapping there is large enough already). */
int inj_scratch(struct inj_proc *p, size_t len, struct mos_err *e);
/* Copy LEN bytes to / from ADDR in the process. */
int inj_write(struct inj_proc *p, uint64_t addr, const void *buf, size_t len, struct mos_err *e);
int inj_read(struct inj_proc *p, uint64_t addr, void *buf, size_t len, struct mos_err *e);
/* Unmap the scratch memory, restore every thread and detach. */
void inj_release(struct inj_proc *p);

/*
 * A process and, with --tree, every descendant, all stopped together.
 *
 * Stopped threads create no thread and no process, so once everything is
 * stopped the tree cannot change until it is released.  The walk that gets
 * there: stop the root (every thread), list the children of each stopped
 * process (every thread's), stop those, and so on, until a pass over the
 * stopped processes finds no new child.  A child that exits before it is
 * stopped orphans its own children; they would be re-parented to init (or
 * a subreaper above the root) and escape the walk, so while it runs the
 * root is made a child subreaper (PR_SET_CHILD_SUBREAPER) and such orphans
 * become its children, found by the next pass.  The root's setting is put
 * back at release; the orphans it gained stay its children.
 *
 * A descendant that cannot be stopped (another tracer, not yours), or that
 * MAY refuses before it is touched, is counted in NFAILED with its reason;
 * the root failing fails the call.
 */
struct inj_tree {
	struct inj_proc *v; /* v[0] is the root; parents before their children */
	size_t n;
	struct mos_err *fail; /* why each of NFAILED descendants was left out */
	pid_t *failed_pid;
	size_t nfailed;
	bool subreaper; /* set on the root by inj_tree_seize, cleared at release */
};

/* Refuse a tree larger than this, or one not stopped within the timeout:
 * a fork bomb is not attached in a loop for ever. */
#define INJ_TREE_MAX 4096
#define INJ_TREE_TIMEOUT_MS 20000

/* Whether a process may be stopped at all (mosd --controller: whether the
 * user it serves may act on it): 0, or -errno with E set. */
typedef int (*inj_may_fn)(pid_t pid, void *arg, struct mos_err *e);

int inj_tree_seize(struct inj_tree *t, pid_t root, bool descendants, inj_may_fn may, void *may_arg,
		   struct mos_err *e);
void inj_tree_release(struct inj_tree *t);

#endif /* MOS_PTRACE_INJECT_H */
