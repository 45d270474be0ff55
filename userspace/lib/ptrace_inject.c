// SPDX-License-Identifier: GPL-2.0-only
/*
 * ptrace_inject.c - system calls made by a stopped process (see
 * ptrace_inject.h).
 */
#include "ptrace_inject.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
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

	for (int waited_us = 0;;) {
		pid_t w = waitpid(t->tid, &st, __WALL | WNOHANG);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0) {
			/* 50 us at first, then 1 ms: most stops take microseconds. */
			int step = waited_us < 2000 ? 50 : 1000;

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

/* The address of a `syscall` instruction (0f 05) in the process's vDSO. */
static int find_syscall_insn(struct inj_proc *p, struct mos_err *e)
{
	char path[64], line[512];
	FILE *f;
	unsigned long lo = 0, hi = 0;

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
		ssize_t got = pread(p->memfd, buf, len, (off_t)lo);

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
	char path[64];
	size_t nnew;
	int r;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->memfd = -1;
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
	if (r == 0) {
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		p->memfd = open(path, O_RDWR | O_CLOEXEC);
		if (p->memfd < 0) {
			r = -errno;
			mos_err_set(e, "%s: %s", path, strerror(errno));
		}
	}
	if (r == 0)
		r = find_syscall_insn(p, e);
	if (r < 0)
		inj_release(p);
	return r;
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
	int r = inj_syscall(p, 0, SYS_mmap, a, 6, &ret, e);

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
	ssize_t w = pwrite(p->memfd, buf, len, (off_t)addr);

	if (w == (ssize_t)len)
		return 0;
	mos_err_set(e, "process %d: writing %zu bytes at %#llx: %s", p->pid, len,
		    (unsigned long long)addr, w < 0 ? strerror(errno) : "short write");
	return w < 0 ? -errno : -EIO;
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
	closep(&p->memfd);
	p->memfd = -1;
}

#else /* !__x86_64__ */

struct inj_thread {
	int unused;
};

int inj_seize(struct inj_proc *p, pid_t pid, struct mos_err *e)
{
	memset(p, 0, sizeof(*p));
	p->memfd = -1;
	mos_err_set(e, "attaching through ptrace is implemented for x86_64 only (process %d)", pid);
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
