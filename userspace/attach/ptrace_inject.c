// SPDX-License-Identifier: GPL-2.0-only
/*
 * ptrace_inject.c - system calls made by a stopped process (see
 * ptrace_inject.h).
 */
#include "ptrace_inject.h"

#include <dirent.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#if defined(__x86_64__)

struct inj_thread {
	pid_t tid;
	struct user_regs_struct saved; /* as it stopped */
	bool ran;		       /* an injected call ran: registers to restore */
	int pending_sig;	       /* a signal that stopped it meanwhile, to deliver */
};

/* The kernel's restart codes (include/linux/errno.h, not exported). */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

static struct inj_thread *find(struct inj_proc *p, pid_t tid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->t[i].tid == tid)
			return &p->t[i];
	return NULL;
}

/* How long a thread may take to stop (one in uninterruptible sleep does not). */
#define STOP_TIMEOUT_MS 10000

/*
 * Wait until thread T stops.  Returns the wait status, or -errno (-ESRCH
 * when it exited, -ETIMEDOUT when it did not stop in time).  A
 * signal-delivery stop is recorded (to be delivered at release) and
 * reported as it is, for the caller to resume past it.
 */
static int wait_stop(struct inj_thread *t)
{
	int st;

	for (int waited_us = 0, spins = 0;;) {
		pid_t w = waitpid(t->tid, &st, __WALL | WNOHANG);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0) {
			/*
			 * Most stops take microseconds, once the thread runs: yield
			 * to it first (an attach runs a few thousand calls, each
			 * waiting twice), then sleep 50 us, then 1 ms.
			 */
			int step = waited_us < 2000 ? 50 : 1000;

			if (spins < 200) {
				spins++;
				sched_yield();
				continue;
			}
			if (waited_us >= STOP_TIMEOUT_MS * 1000)
				return -ETIMEDOUT;
			usleep((useconds_t)step);
			waited_us += step;
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -ESRCH;
		if (WIFSTOPPED(st) && (st >> 16) == 0 && WSTOPSIG(st) != (SIGTRAP | 0x80))
			t->pending_sig = WSTOPSIG(st);
		return st;
	}
}

/* The pid of PID's tracer, 0 when none. */
static pid_t tracer_of(pid_t pid)
{
	char path[64], line[256];
	pid_t tracer = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	fclose(f);
	return tracer;
}

static bool stopped_at_syscall(int st)
{
	return WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80);
}

static int seize_one(struct inj_proc *p, pid_t tid, struct mos_err *e)
{
	struct inj_thread *t;
	int st;

	if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) < 0) {
		pid_t tracer;

		if (errno == ESRCH)
			return 0; /* it exited meanwhile */
		tracer = errno == EPERM ? tracer_of(tid) : 0;
		if (tracer) {
			mos_err_set(e,
				    "process %d (thread %d) is being traced by process %d (a "
				    "debugger, strace?): a thread has one tracer at a time",
				    p->pid, tid, tracer);
			return -EBUSY;
		}
		mos_err_set(e, "cannot ptrace process %d (thread %d): %s; " MOS_PTRACE_WHO, p->pid,
			    tid, strerror(errno));
		return -errno;
	}
	p->t = xrealloc(p->t, (p->n + 1) * sizeof(*p->t));
	t = &p->t[p->n++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 && errno != ESRCH) {
		mos_err_set(e, "cannot stop thread %d: %s", tid, strerror(errno));
		return -errno;
	}
	st = wait_stop(t);
	if (st == -ESRCH) {
		p->n--;
		return 0;
	}
	if (st == -ETIMEDOUT) {
		mos_err_set(e,
			    "process %d: thread %d did not stop within %d s (uninterruptible "
			    "sleep: a vfork parent, a hung file system?); try again later",
			    p->pid, tid, STOP_TIMEOUT_MS / 1000);
		return st;
	}
	if (st < 0 || ptrace(PTRACE_GETREGS, tid, 0, &t->saved) < 0) {
		mos_err_set(e, "cannot stop thread %d: %s", tid, strerror(st < 0 ? -st : errno));
		return st < 0 ? st : -errno;
	}
	return 0;
}

/* Seize the threads listed in /proc/PID/task; *NEW counts the new ones. */
static int seize_listed(struct inj_proc *p, size_t *nnew, struct mos_err *e)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", p->pid);
	d = opendir(path);
	if (!d) {
		r = -errno;
		mos_err_set(e, "process %d: %s", p->pid,
			    errno == ENOENT ? "no such process" : strerror(errno));
		return r;
	}
	while (r == 0 && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0 || find(p, tid))
			continue;
		r = seize_one(p, tid, e);
		(*nnew)++;
	}
	closedir(d);
	return r;
}

/* /proc/PID/mem, opened for one access: a frozen tree of thousands of
 * processes must not hold an fd each. */
static int mem_open(const struct inj_proc *p, struct mos_err *e)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", p->pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		mos_err_set(e, "%s: %s", path, strerror(err));
		return -err;
	}
	return fd;
}

/* The address of a `syscall` instruction (0f 05) in the process's vDSO. */
static int find_syscall_insn(struct inj_proc *p, struct mos_err *e)
{
	char path[64], line[512];
	FILE *f;
	unsigned long lo = 0, hi = 0;
	_cleanup_close_ int memfd = mem_open(p, e);

	if (memfd < 0)
		return memfd;
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	f = fopen(path, "re");
	if (!f) {
		mos_err_set(e, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			break;
	fclose(f);
	if (hi > lo && hi - lo <= (1 << 20)) {
		size_t len = hi - lo;
		unsigned char *buf = xmalloc(len);
		ssize_t got = pread(memfd, buf, len, (off_t)lo);

		for (ssize_t i = 0; i + 1 < got; i++) {
			if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
				p->syscall_insn = lo + (uint64_t)i;
				break;
			}
		}
		free(buf);
	}
	if (!p->syscall_insn) {
		mos_err_set(e,
			    "process %d has no vDSO with a syscall instruction to run calls "
			    "from (booted with vdso=0?)",
			    p->pid);
		return -ENOEXEC;
	}
	return 0;
}

int inj_seize(struct inj_proc *p, pid_t pid, struct mos_err *e)
{
	size_t nnew;
	int r;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (pid <= 0 || pid == getpid()) {
		mos_err_set(e, "process %d: cannot attach to %s", pid,
			    pid <= 0 ? "that" : "mosctl itself");
		return -EINVAL;
	}
	/* A stopped thread creates no thread: list until nothing is new. */
	do {
		nnew = 0;
		r = seize_listed(p, &nnew, e);
	} while (r == 0 && nnew);
	if (r == 0 && (!p->n || p->t[0].tid != pid)) {
		struct inj_thread *leader = find(p, pid);

		if (!leader) {
			mos_err_set(e,
				    "process %d: no such process (or it is a thread of "
				    "another; give its process id)",
				    pid);
			r = -ESRCH;
		} else {
			struct inj_thread tmp = p->t[0];

			p->t[0] = *leader;
			*leader = tmp;
		}
	}
	if (r == 0)
		r = find_syscall_insn(p, e);
	if (r < 0)
		inj_release(p);
	return r;
}

pid_t inj_tid(const struct inj_proc *p, size_t i)
{
	return i < p->n ? p->t[i].tid : -1;
}

int inj_syscall(struct inj_proc *p, size_t ti, long nr, const uint64_t *a, size_t nargs, long *ret,
		struct mos_err *e)
{
	struct inj_thread *t = &p->t[ti];
	struct user_regs_struct r = t->saved;
	uint64_t args[6] = { 0 };
	int st;

	memcpy(args, a, (nargs > 6 ? 6 : nargs) * sizeof(*args));
	r.rip = p->syscall_insn;
	r.rax = (unsigned long long)nr;
	/* Not "in a system call": resuming must not restart the interrupted one. */
	r.orig_rax = (unsigned long long)-1;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	t->ran = true;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) < 0)
		goto fail;
	/* To the call's entry (past any other stop), then to its exit. */
	for (int stage = 0; stage < 2;) {
		if (ptrace(PTRACE_SYSCALL, t->tid, 0, 0) < 0)
			goto fail;
		st = wait_stop(t);
		if (st < 0) {
			errno = -st;
			goto fail;
		}
		if (stopped_at_syscall(st))
			stage++;
	}
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) < 0)
		goto fail;
	*ret = (long)r.rax;
	return 0;
fail:
	mos_err_set(e, "process %d: cannot run system call %ld in thread %d: %s", p->pid, nr,
		    t->tid, errno == ESRCH ? "it exited" : strerror(errno));
	return -errno;
}

int inj_scratch(struct inj_proc *p, size_t len, struct mos_err *e)
{
	uint64_t a[6] = { 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1,
			  0 };
	long ret;
	int r;

	if (p->scratch && p->scratch_len >= len)
		return 0;
	if (p->scratch) {
		uint64_t u[2] = { p->scratch, p->scratch_len };

		r = inj_syscall(p, 0, SYS_munmap, u, 2, &ret, e);
		if (r < 0)
			return r;
		p->scratch = 0;
	}
	r = inj_syscall(p, 0, SYS_mmap, a, 6, &ret, e);
	if (r < 0)
		return r;
	if (ret < 0 && ret > -4096) {
		mos_err_set(e, "process %d: mmap of %zu bytes of scratch memory: %s", p->pid, len,
			    strerror((int)-ret));
		return (int)ret;
	}
	p->scratch = (uint64_t)ret;
	p->scratch_len = len;
	return 0;
}

int inj_write(struct inj_proc *p, uint64_t addr, const void *buf, size_t len, struct mos_err *e)
{
	_cleanup_close_ int memfd = mem_open(p, e);
	ssize_t w = memfd < 0 ? -1 : pwrite(memfd, buf, len, (off_t)addr);

	if (memfd < 0)
		return memfd;
	if (w == (ssize_t)len)
		return 0;
	mos_err_set(e, "process %d: writing %zu bytes at %#llx: %s", p->pid, len,
		    (unsigned long long)addr, w < 0 ? strerror(errno) : "short write");
	return w < 0 ? -errno : -EIO;
}

int inj_read(struct inj_proc *p, uint64_t addr, void *buf, size_t len, struct mos_err *e)
{
	_cleanup_close_ int memfd = mem_open(p, e);
	ssize_t got = memfd < 0 ? -1 : pread(memfd, buf, len, (off_t)addr);

	if (memfd < 0)
		return memfd;
	if (got == (ssize_t)len)
		return 0;
	mos_err_set(e, "process %d: reading %zu bytes at %#llx: %s", p->pid, len,
		    (unsigned long long)addr, got < 0 ? strerror(errno) : "short read");
	return got < 0 ? -errno : -EIO;
}

/* The registers to resume with: as stopped, with an interrupted system call
 * set up to run again, as the kernel's signal code would have. */
static struct user_regs_struct resume_regs(const struct inj_thread *t)
{
	struct user_regs_struct r = t->saved;
	long ret = (long)r.rax;

	if ((long)r.orig_rax >= 0) {
		if (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND) {
			r.rax = r.orig_rax;
			r.rip -= 2;
		} else if (ret == -ERESTART_RESTARTBLOCK) {
			r.rax = SYS_restart_syscall;
			r.rip -= 2;
		}
	}
	r.orig_rax = (unsigned long long)-1;
	return r;
}

void inj_release(struct inj_proc *p)
{
	if (p->scratch && p->n) {
		struct mos_err ignored;
		uint64_t a[2] = { p->scratch, p->scratch_len };
		long ret;

		inj_syscall(p, 0, SYS_munmap, a, 2, &ret, &ignored);
		p->scratch = 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct inj_thread *t = &p->t[i];

		if (t->ran) {
			struct user_regs_struct r = resume_regs(t);

			ptrace(PTRACE_SETREGS, t->tid, 0, &r);
		}
		ptrace(PTRACE_DETACH, t->tid, 0, t->pending_sig);
	}
	free(p->t);
	p->t = NULL;
	p->n = 0;
}

#else /* !__x86_64__ */

struct inj_thread {
	int unused;
};

int inj_seize(struct inj_proc *p, pid_t pid, struct mos_err *e)
{
	memset(p, 0, sizeof(*p));
	mos_err_set(e, "attaching through ptrace is implemented for x86_64 only (process %d)", pid);
	return -EOPNOTSUPP;
}

pid_t inj_tid(const struct inj_proc *p, size_t i)
{
	(void)p, (void)i;
	return -1;
}

int inj_read(struct inj_proc *p, uint64_t addr, void *buf, size_t len, struct mos_err *e)
{
	(void)p, (void)addr, (void)buf, (void)len;
	mos_err_set(e, "not supported");
	return -EOPNOTSUPP;
}

int inj_syscall(struct inj_proc *p, size_t t, long nr, const uint64_t *args, size_t nargs,
		long *ret, struct mos_err *e)
{
	(void)p, (void)t, (void)nr, (void)args, (void)nargs, (void)ret;
	mos_err_set(e, "not supported");
	return -EOPNOTSUPP;
}

int inj_scratch(struct inj_proc *p, size_t len, struct mos_err *e)
{
	(void)p, (void)len;
	mos_err_set(e, "not supported");
	return -EOPNOTSUPP;
}

int inj_write(struct inj_proc *p, uint64_t addr, const void *buf, size_t len, struct mos_err *e)
{
	(void)p, (void)addr, (void)buf, (void)len;
	mos_err_set(e, "not supported");
	return -EOPNOTSUPP;
}

void inj_release(struct inj_proc *p)
{
	(void)p;
}

#endif

/* ---- a tree, stopped together ------------------------------------------ */

/* Field 3 (state) and 4 (ppid) of /proc/PID/stat; false when it is gone. */
static bool proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], buf[1024], *p;
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	/* the name in parentheses may hold anything: parse after the last ')' */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		ok = sscanf(p + 1, " %c %d", state, ppid) == 2;
	fclose(f);
	return ok;
}

static bool tree_has(const struct inj_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].pid == pid)
			return true;
	return false;
}

/* Left out already (reported once, not tried again on the next pass). */
static bool tree_failed(const struct inj_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->nfailed; i++)
		if (t->failed_pid[i] == pid)
			return true;
	return false;
}

static void tree_fail(struct inj_tree *t, pid_t pid, const struct mos_err *e)
{
	t->fail = xrealloc(t->fail, (t->nfailed + 1) * sizeof(*t->fail));
	t->failed_pid = xrealloc(t->failed_pid, (t->nfailed + 1) * sizeof(*t->failed_pid));
	t->fail[t->nfailed] = *e;
	t->failed_pid[t->nfailed++] = pid;
}

/* The children of every (stopped) thread of P. */
static void children_of(const struct inj_proc *p, pid_t **v, size_t *n)
{
	for (size_t i = 0; i < p->n; i++) {
		char path[96];
		FILE *f;
		int child;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", p->pid, inj_tid(p, i));
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fscanf(f, "%d", &child) == 1) {
			*v = xrealloc(*v, (*n + 1) * sizeof(**v));
			(*v)[(*n)++] = child;
		}
		fclose(f);
	}
}

/* Stop descendant PID: 1 added, 0 nothing to do (gone, a zombie, not ours
 * after all), or a failure recorded in T. */
static int seize_descendant(struct inj_tree *t, pid_t pid, inj_may_fn may, void *may_arg)
{
	struct inj_proc p;
	struct mos_err e = { "" };
	pid_t ppid;
	char state;
	int r;

	if (!proc_stat(pid, &state, &ppid) || state == 'Z' || state == 'X')
		return 0; /* it runs nothing any more; its children went to the root */
	r = may ? may(pid, may_arg, &e) : 0;
	if (r < 0) {
		tree_fail(t, pid, &e);
		return 0;
	}
	r = inj_seize(&p, pid, &e);
	if (r < 0) {
		if (!proc_stat(pid, &state, &ppid) || state == 'Z' || state == 'X')
			return 0; /* it exited meanwhile */
		tree_fail(t, pid, &e);
		return 0;
	}
	/*
	 * Stopped, its parent is fixed: the parent is stopped, or gone and the
	 * root (a subreaper now) adopted it.  A parent outside the tree means
	 * the pid was reused by another process since it was listed.
	 */
	if (!proc_stat(pid, &state, &ppid) || !tree_has(t, ppid)) {
		inj_release(&p);
		return 0;
	}
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	t->v[t->n++] = p;
	return 1;
}

/* Make the root a child subreaper for the walk, if it is not one. */
static int root_subreaper(struct inj_tree *t, struct mos_err *e)
{
	struct inj_proc *p = &t->v[0];
	uint64_t a[2] = { PR_GET_CHILD_SUBREAPER, 0 };
	long ret;
	int cur = 0, r;

	r = inj_scratch(p, 4096, e);
	a[1] = p->scratch;
	if (r == 0)
		r = inj_syscall(p, 0, SYS_prctl, a, 2, &ret, e);
	if (r == 0 && ret == 0)
		r = inj_read(p, p->scratch, &cur, sizeof(cur), e);
	if (r < 0)
		return r;
	if (ret < 0 || cur)
		return 0; /* already one (or the question failed: then so does the set) */
	a[0] = PR_SET_CHILD_SUBREAPER;
	a[1] = 1;
	r = inj_syscall(p, 0, SYS_prctl, a, 2, &ret, e);
	if (r == 0 && ret < 0) {
		mos_err_set(e, "process %d: prctl(PR_SET_CHILD_SUBREAPER): %s", p->pid,
			    strerror((int)-ret));
		r = (int)ret;
	}
	t->subreaper = r == 0;
	return r;
}

/* Order the memory of A and B (kcmp KCMP_VM): 0 the same, 1 A before B, 2
 * after, 3 different but unordered; -errno. */
static int vm_cmp(pid_t a, pid_t b)
{
	long r = syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0);

	return r < 0 ? -errno : (int)r;
}

/* Whether task X shares the memory of one of T's processes: its index, or -1. */
static long shares_with(const struct inj_tree *t, const size_t *order, size_t n, pid_t x)
{
	size_t lo = 0, hi = n;

	/* binary search in ORDER (T's processes sorted by their memory) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = vm_cmp(x, t->v[order[mid]].pid);

		if (c < 0)
			return -1; /* gone, or not ours to compare (then not made by ours) */
		if (c == 0)
			return (long)order[mid];
		if (c == 1)
			hi = mid;
		else if (c == 2)
			lo = mid + 1;
		else
			break; /* unordered: look at each */
	}
	for (size_t i = 0; i < n && lo < hi; i++)
		if (vm_cmp(x, t->v[order[i]].pid) == 0)
			return (long)order[i];
	return -1;
}

/*
 * Refuse a process whose memory another task shares without being one of
 * its (stopped) threads: a child made with clone(CLONE_VM) and no
 * CLONE_THREAD.  It runs while the process is held, and everything mosctl
 * writes there for a call to read (the Landlock ruleset's attributes, the
 * seccomp filter, capset's data) it could rewrite between the write and the
 * call.  Stopped tasks make no new sharers, so once none is found outside,
 * none can appear.  With ADOPT (--tree), a sharer that is a child of a
 * process of T is stopped and joins T instead (*ADOPTED counts them): it
 * would be stopped later in the walk, but it must not run while the walk
 * reads what the root's calls wrote.
 */
static int check_vm_sharers(struct inj_tree *t, bool adopt, inj_may_fn may, void *may_arg,
			    size_t *adopted, struct mos_err *e)
{
	size_t *order = xcalloc(t->n, sizeof(*order)), n = 0, npending = 0;
	pid_t *pending = NULL;
	struct dirent *de;
	DIR *proc;
	int r = 0;

	*adopted = 0;
	if (vm_cmp(t->v[0].pid, t->v[0].pid) == -ENOSYS) {
		free(order);
		return 0; /* a kernel without kcmp (CONFIG_KCMP): attach.md says so */
	}
	/* T's processes sorted by their memory (insertion: a tree is small) */
	for (size_t i = 0; i < t->n; i++) {
		size_t k = n;

		while (k > 0 && vm_cmp(t->v[i].pid, t->v[order[k - 1]].pid) == 1)
			k--;
		memmove(&order[k + 1], &order[k], (n - k) * sizeof(*order));
		order[k] = i;
		n++;
	}
	proc = opendir("/proc");
	while (proc && r == 0 && (de = readdir(proc))) {
		pid_t x = atoi(de->d_name);
		char state = 0;
		pid_t ppid;
		long hit;

		if (x <= 0 || x == getpid() || tree_has(t, x))
			continue;
		hit = shares_with(t, order, n, x);
		/* a leader that exited leaves its threads running on the memory */
		if (hit < 0 && proc_stat(x, &state, &ppid) && state == 'Z') {
			char path[64];
			struct dirent *te;
			DIR *task;

			snprintf(path, sizeof(path), "/proc/%d/task", x);
			task = opendir(path);
			while (task && hit < 0 && (te = readdir(task)))
				if (atoi(te->d_name) > 0)
					hit = shares_with(t, order, n, atoi(te->d_name));
			if (task)
				closedir(task);
		}
		if (hit >= 0 && adopt && proc_stat(x, &state, &ppid) && tree_has(t, ppid)) {
			pid_t *more = xrealloc(pending, (npending + 1) * sizeof(*pending));

			pending = more;
			pending[npending++] = x;
			continue;
		}
		if (hit >= 0) {
			mos_err_set(e,
				    "process %d shares its memory with process %d, which is not "
				    "one of its threads (clone with CLONE_VM): that process could "
				    "rewrite what attach has the process read; not attached "
				    "(nothing was changed)%s",
				    t->v[hit].pid, x,
				    hit == 0 ? "; attach it with --tree if it descends from it"
					     : "");
			r = -EBUSY;
		}
	}
	if (proc)
		closedir(proc);
	free(order);
	for (size_t i = 0; r == 0 && i < npending; i++)
		if (!tree_has(t, pending[i]) && !tree_failed(t, pending[i]))
			*adopted += (size_t)seize_descendant(t, pending[i], may, may_arg);
	free(pending);
	return r;
}

/* check_vm_sharers until it adopts no more (a sharer may make sharers). */
static int no_vm_sharers(struct inj_tree *t, bool adopt, inj_may_fn may, void *may_arg,
			 struct mos_err *e)
{
	size_t adopted;
	int r;

	do
		r = check_vm_sharers(t, adopt, may, may_arg, &adopted, e);
	while (r == 0 && adopted && t->n <= INJ_TREE_MAX);
	return r;
}

int inj_tree_seize(struct inj_tree *t, pid_t root, bool descendants, inj_may_fn may, void *may_arg,
		   struct mos_err *e)
{
	long long deadline = (long long)mono_ms() + INJ_TREE_TIMEOUT_MS;
	size_t added;
	int r;

	memset(t, 0, sizeof(*t));
	r = may ? may(root, may_arg, e) : 0;
	if (r < 0)
		return r;
	t->v = xcalloc(1, sizeof(*t->v));
	r = inj_seize(&t->v[0], root, e);
	if (r < 0) {
		free(t->v);
		t->v = NULL;
		return r;
	}
	t->n = 1;
	/* before anything is written into it */
	r = no_vm_sharers(t, descendants, may, may_arg, e);
	if (r < 0 || !descendants)
		goto out;
	r = root_subreaper(t, e);
	/* Until a pass over every stopped process finds no new child. */
	do {
		added = 0;
		for (size_t i = 0; r == 0 && i < t->n; i++) {
			pid_t *kids = NULL;
			size_t nkids = 0;

			children_of(&t->v[i], &kids, &nkids);
			for (size_t k = 0; k < nkids; k++)
				if (!tree_has(t, kids[k]) && !tree_failed(t, kids[k]))
					added += (size_t)seize_descendant(t, kids[k], may, may_arg);
			free(kids);
			if (t->n > INJ_TREE_MAX) {
				mos_err_set(e,
					    "process %d has more than %d descendants: not "
					    "attached (nothing was changed)",
					    root, INJ_TREE_MAX);
				r = -E2BIG;
			} else if ((long long)mono_ms() > deadline) {
				mos_err_set(e,
					    "process %d: its tree did not stop changing within "
					    "%d s (%zu processes stopped): not attached "
					    "(nothing was changed)",
					    root, INJ_TREE_TIMEOUT_MS / 1000, t->n);
				r = -ETIMEDOUT;
			}
		}
	} while (r == 0 && added);
	if (r == 0)
		r = no_vm_sharers(t, false, NULL, NULL, e);
out:
	if (r < 0)
		inj_tree_release(t);
	return r;
}

void inj_tree_release(struct inj_tree *t)
{
	if (t->subreaper && t->n) {
		uint64_t a[2] = { PR_SET_CHILD_SUBREAPER, 0 };
		struct mos_err ignored;
		long ret;

		inj_syscall(&t->v[0], 0, SYS_prctl, a, 2, &ret, &ignored);
	}
	for (size_t i = 0; i < t->n; i++)
		inj_release(&t->v[i]);
	free(t->v);
	free(t->fail);
	free(t->failed_pid);
	memset(t, 0, sizeof(*t));
}
