// SPDX-License-Identifier: GPL-2.0-only
/*
 * sandbox.c - start, confine, supervise and reap (see sandbox.h).
 */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <linux/securebits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "mounts.h"
#include "sandbox_internal.h"
#include "seccomp_filter.h"
#include "util.h"

extern char **environ;

/* Signals mosctl passes on to the command's process group. */
static const int forwarded_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT,
};

struct pipes {
	int go[2];     /* mosctl -> init: cgroup attached, go on (EOF: mosctl died) */
	int status[2]; /* init -> mosctl: struct init_msg */
	int err[2];    /* init/command -> mosctl: why setup failed, as text */
};

enum ns_mode {
	NS_USER_PID, /* user + pid namespace */
	NS_PID,	     /* pid namespace only (root without user namespaces) */
	NS_NONE,     /* no namespace: mosctl reaps the tree as subreaper */
};

/* Whether the plan uses backend M. */
static bool uses(const struct sandbox_config *c, int m)
{
	return mos_plan_uses(c->plan, (enum mos_mech)m);
}

/*
 * Whether a backend serves the sandbox from mosctl (the supervisor): init
 * then keeps its go pipe for the hand-over, and the command is dumpable
 * until its execve, so that mosctl can read the trapped calls' memory.
 */
static bool served(const struct sandbox_config *c)
{
	for (int m = 0; m < MOS_MECH_COUNT; m++)
		if (uses(c, m) && mos_backends[m].serve)
			return true;
	return false;
}

/* ---------------------------------------------------------------------- */
/* Phase 2: inside the new namespaces, still privileged there (init).      */
/* ---------------------------------------------------------------------- */

static void __attribute__((noreturn)) setup_fail(int errfd, const char *step, int err)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s: %s", step, strerror(err));

	if (n > 0)
		(void)!write(errfd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	_exit(MOS_EXIT_SETUP);
}

static int write_id_maps(uid_t inner_uid, gid_t inner_gid, uid_t uid, gid_t gid)
{
	char map[64];
	int r;

	/* setgroups must be denied before an unprivileged gid_map write. */
	r = write_file("/proc/self/setgroups", "deny");
	if (r < 0 && r != -ENOENT)
		return r;
	snprintf(map, sizeof(map), "%u %u 1\n", inner_uid, uid);
	r = write_file("/proc/self/uid_map", map);
	if (r < 0)
		return r;
	snprintf(map, sizeof(map), "%u %u 1\n", inner_gid, gid);
	return write_file("/proc/self/gid_map", map);
}

/* Close every descriptor except those in KEEP (ascending order). */
static void close_all_except(const int *keep, size_t n)
{
	unsigned int from = 3;

	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

static int cap_last(void)
{
	int last = 40;

	while (prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	while (last > 0 && prctl(PR_CAPBSET_READ, last, 0, 0, 0) < 0)
		last--;
	return last;
}

static bool caps_all_clear(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return !(d[0].effective | d[1].effective | d[0].permitted | d[1].permitted |
		 d[0].inheritable | d[1].inheritable);
}

/*
 * Lock root out of capabilities for good (securebits), empty the bounding
 * and ambient sets.  Without CAP_SETPCAP (no user namespace, not root) the
 * bounding set cannot change, but then nothing is held, and NO_NEW_PRIVS
 * (set next) keeps exec from granting anything.
 */
static const char *drop_bounding(int *err)
{
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	bool privileged = prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) == 0;

	if (!privileged && !caps_all_clear()) {
		*err = errno;
		return "PR_SET_SECUREBITS";
	}
	if (privileged) {
		for (int cap = 0, last = cap_last(); cap <= last; cap++) {
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
				*err = errno;
				return "PR_CAPBSET_DROP";
			}
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		*err = errno;
		return "PR_CAP_AMBIENT_CLEAR_ALL";
	}
	return NULL;
}

static const char *clear_caps(int *err)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (syscall(SYS_capset, &h, d) < 0 || !caps_all_clear()) {
		*err = errno ? errno : EPERM;
		return "capset";
	}
	return NULL;
}

/*
 * The filesystem view (mounts.h): read-only outside the writable trees,
 * denied paths hidden, and, when the policy grants /proc, a /proc of the
 * sandbox's own pid namespace, so that it sees its own processes only and
 * /proc/self and /proc/1 mean what they say.  Landlock rules name inodes,
 * so what the policy grants beneath /proc is granted again on the new mount
 * (Landlock's in_init hook, next).
 */
static void setup_mounts(const struct sandbox_config *c, enum ns_mode mode, int errfd)
{
	char *cwd;
	const char *step;
	int err = 0;

	if (!c->view)
		return;
	if (mode == NS_NONE) {
		/* mosctl checked --allow-degraded and rebuilt the plan without mounts */
		return;
	}
	cwd = getcwd(NULL, 0);
	step = mounts_apply(c->view, &err);
	if (step)
		setup_fail(errfd, step, err);
	/*
	 * The working directory still points into the mounts as they were:
	 * enter it again, so that a cwd inside a --write tree is on its
	 * writable bind mount (else relative writes fail with EROFS).
	 */
	if (cwd && chdir(cwd) < 0 && errno != ENOENT && errno != EACCES)
		setup_fail(errfd, "re-entering the working directory", errno);
	free(cwd);
	if (!c->own_proc)
		return;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		if (c->allow_degraded)
			return;
		setup_fail(errfd,
			   "mounting a /proc for the sandbox's pid namespace (pass "
			   "--allow-degraded to grant the caller's /proc instead)",
			   errno);
	}
}

/* Where the kernel keeps this process's argv and environment strings
 * (what /proc/PID/cmdline and /proc/PID/environ show). */
struct arg_env_blocks {
	unsigned long arg_start, arg_end, env_start, env_end;
};

/* Fields 48 to 51 of /proc/self/stat (Linux 3.5+); false if unreadable. */
static bool read_blocks(struct arg_env_blocks *b)
{
	char buf[2048], *p;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p)
		return false;
	p++;
	/* field 3 (state) comes first after the name: skip fields 3 to 47 */
	for (int field = 3; field < 48; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return false;
	}
	return sscanf(p, " %lu %lu %lu %lu", &b->arg_start, &b->arg_end, &b->env_start,
		      &b->env_end) == 4 &&
	       b->arg_start <= b->arg_end && b->env_start <= b->env_end;
}

/*
 * init is a fork of mosctl (or of mosd's job process): it holds the caller's
 * environment, which --clean-env keeps from the command.  Wipe every string
 * of it (the block the kernel shows as /proc/1/environ, and copies setenv()
 * made) before anything of the sandbox runs.  Not dumpable as well (below),
 * init's memory is out of the command's reach; this is so that there is
 * nothing to find there even so.  The command's own environment (C->envp)
 * is a copy made by the plan.
 */
static void forget_environment(const struct arg_env_blocks *b, bool have_blocks)
{
	for (char **e = environ; e && *e; e++)
		memset(*e, 0, strlen(*e));
	if (have_blocks && b->env_end > b->env_start)
		memset((void *)b->env_start, 0, b->env_end - b->env_start);
	clearenv();
}

/* Once the command is forked (with its own copy): init's argv is mosctl's
 * command line, which /proc/1/cmdline shows to anyone; name init instead. */
static void forget_arguments(const struct arg_env_blocks *b, bool have_blocks)
{
	static const char name[] = "mosctl-init";
	size_t len;

	if (!have_blocks || b->arg_end <= b->arg_start)
		return;
	len = b->arg_end - b->arg_start;
	memset((void *)b->arg_start, 0, len);
	memcpy((void *)b->arg_start, name, len > sizeof(name) ? sizeof(name) : len - 1);
}

static volatile sig_atomic_t init_cmd_pgid;

static void init_forward(int sig)
{
	int saved = errno;

	if (init_cmd_pgid > 0)
		kill(-init_cmd_pgid, sig);
	errno = saved;
}

/* Phase 4: the command.  Confined already; only rlimits and exec remain. */
static void __attribute__((noreturn))
exec_command(const struct sandbox_config *c, const sigset_t *oldmask, int errfd)
{
	int r, err;

	setpgid(0, 0);
	if (c->tty && isatty(0)) {
		/* the command is the terminal's foreground: ^C reaches it */
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(0, getpid());
		signal(SIGTTOU, SIG_DFL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		signal(forwarded_signals[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	/*
	 * Until exec, this process has init's (non-dumpable) memory, which
	 * belongs to mosctl's user namespace: an unprivileged supervisor could
	 * not read the path of the execve below.  exec gives it its own.
	 */
	if (served(c))
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	r = limits_apply_rlimits(c->limits);
	if (r < 0)
		setup_fail(errfd, "setrlimit", -r);
	environ = c->envp;
	execvp(c->argv[0], c->argv);
	err = errno;
	fprintf(stderr, "%s: cannot run '%s': %s\n", c->progname, c->argv[0], strerror(err));
	_exit(err == ENOENT || err == ENOTDIR ? MOS_EXIT_NOTFOUND : MOS_EXIT_NOEXEC);
}

/*
 * Start the command's process: its pid, or -1 with errno set.  Init's
 * signals are blocked (the child resets their handlers before it unblocks
 * them).
 *
 * Under Landlock alone it runs on init's memory until its execve, as
 * posix_spawn's child does (CLONE_VM | CLONE_VFORK, on a stack of its own):
 * copying init's page tables, and the copy-on-write faults after, for a
 * process that execs at once cost about 0.2 ms of every start
 * (Documentation/benchmarks.md).  Init sleeps until the execve or the
 * child's exit, and the child writes nothing of init's memory that init
 * reads again (environ aside, which init no longer uses).  With a
 * supervisor it is a fork: the child makes its memory dumpable for the
 * supervisor's sake, which would make init's dumpable too if shared.  Under
 * AddressSanitizer too: the child would run instrumented code on a stack
 * the sanitizer does not know.
 */
#if !defined(__SANITIZE_ADDRESS__)
struct command_start {
	const struct sandbox_config *c;
	const sigset_t *oldmask;
	int errfd;
};

static int command_main(void *arg)
{
	const struct command_start *a = arg;

	exec_command(a->c, a->oldmask, a->errfd);
}

static pid_t clone_command(const struct sandbox_config *c, const sigset_t *oldmask, int errfd)
{
	struct command_start a = { c, oldmask, errfd };
	size_t argc = 0, size, page = (size_t)sysconf(_SC_PAGESIZE);
	void *stack;
	pid_t pid;
	int err;

	while (c->argv[argc])
		argc++;
	/*
	 * execvp's PATH search copies a path and, for a script without "#!",
	 * the arguments onto the stack: room for both, and for what runs
	 * before (glibc allows itself 64 KiB of such copies).
	 */
	size = (argc + 3) * sizeof(char *) + 2 * PATH_MAX + (64 << 10);
	size = (size + page - 1) & ~(page - 1);
	stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
		     -1, 0);
	if (stack == MAP_FAILED)
		return -1;
	pid = clone(command_main, (char *)stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	err = errno;
	munmap(stack, size);
	errno = err;
	return pid;
}
#endif

static pid_t start_command(const struct sandbox_config *c, const sigset_t *oldmask, int errfd)
{
	pid_t pid;

#if !defined(__SANITIZE_ADDRESS__)
	if (!uses(c, MOS_MECH_SUPERVISOR))
		return clone_command(c, oldmask, errfd);
#endif
	pid = fork();
	if (pid == 0)
		exec_command(c, oldmask, errfd);
	return pid;
}

static void __attribute__((noreturn))
run_init(const struct sandbox_config *c, struct pipes *p, enum ns_mode mode, uid_t uid, gid_t gid,
	 const sigset_t *oldmask)
{
	int errfd = p->err[1], statusfd = p->status[1];
	struct arg_env_blocks blocks;
	bool have_blocks = read_blocks(&blocks);
	struct init_msg msg;
	const char *step;
	sigset_t fwd;
	char go;
	pid_t cmd;
	int err = 0, r;

	close(p->go[1]);
	close(p->status[0]);
	close(p->err[0]);
	/* If mosctl dies, so does the sandbox (and with init, its pid namespace). */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	forget_environment(&blocks, have_blocks);
	if (mode == NS_USER_PID) {
		r = write_id_maps(c->map_ids ? c->inner_uid : uid, c->map_ids ? c->inner_gid : gid,
				  uid, gid);
		if (r < 0)
			setup_fail(errfd, "writing the user namespace's id maps", -r);
	}
	if (read(p->go[0], &go, 1) != 1)
		_exit(MOS_EXIT_SETUP); /* mosctl gave up or died */
	if (!served(c))
		closep(&p->go[0]);
	setup_mounts(c, mode, errfd);

	/*
	 * Phase 3: shed everything inherited, then confine.  Order matters:
	 * securebits and the bounding set need CAP_SETPCAP; Landlock and seccomp
	 * need NO_NEW_PRIVS; the seccomp filter goes last so that it does not
	 * have to allow the setup itself, and only a backend's filter that
	 * traps to mosctl (the supervisor's) after it.
	 */
	if (setsid() < 0)
		setup_fail(errfd, "setsid", errno);
	/*
	 * A terminal of the sandbox's own (a remote job's pty) becomes its
	 * controlling terminal.  Never the caller's: it is not handed in as
	 * C->TTY, and this session has none otherwise.
	 */
	if (c->tty && isatty(0) && ioctl(0, TIOCSCTTY, 0) < 0)
		setup_fail(errfd, "making the job's pty its controlling terminal", errno);
	/*
	 * A fresh anonymous session keyring hides the caller's session keys.
	 * ENOSYS: no keyrings in this kernel; EPERM: an outer sandbox (mosctl
	 * nested in mosctl) already denies keyctl, so no keyring is reachable.
	 */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS &&
	    errno != EPERM)
		setup_fail(errfd, "joining a new session keyring", errno);
	if (c->cwd && chdir(c->cwd) < 0)
		setup_fail(errfd, c->cwd, errno);
	{
		int keep[4] = { errfd, statusfd, c->landlock ? c->landlock->ruleset_fd : -1,
				p->go[0] };

		/* ascending order for close_all_except */
		for (int i = 0; i < 4; i++)
			for (int j = i + 1; j < 4; j++)
				if (keep[j] < keep[i]) {
					int t = keep[i];

					keep[i] = keep[j];
					keep[j] = t;
				}
		close_all_except(keep, 4);
	}
	step = drop_bounding(&err);
	if (step)
		setup_fail(errfd, step, err);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		setup_fail(errfd, "PR_SET_NO_NEW_PRIVS", errno);
	for (int m = 0; m < MOS_MECH_COUNT; m++) {
		if (!uses(c, m) || !mos_backends[m].in_init)
			continue;
		step = mos_backends[m].in_init(c, &err);
		if (step)
			setup_fail(errfd, step, err);
	}
	step = clear_caps(&err);
	if (step)
		setup_fail(errfd, step, err);
	r = seccomp_enforce(c->seccomp);
	if (r < 0)
		setup_fail(errfd, "loading the seccomp filter", -r);
	for (int m = 0; m < MOS_MECH_COUNT; m++) {
		struct mos_init_fds fds = { p->go[0], statusfd, errfd };

		if (!uses(c, m) || !mos_backends[m].in_init_last)
			continue;
		step = mos_backends[m].in_init_last(c, &fds, &err);
		if (step)
			setup_fail(errfd, step, err);
	}
	/*
	 * Not dumpable: the command cannot ptrace init or open /proc/<init>/fd.
	 * Only now: mosctl takes the supervisor's fds from init with
	 * pidfd_getfd, which a non-dumpable init refuses to an unprivileged
	 * caller (init's mm belongs to the caller's user namespace).  Nothing
	 * else runs in the sandbox yet.
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/* Phase 4: fork the command; init forwards signals and reaps. */
	sigemptyset(&fwd);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++) {
		struct sigaction sa = { .sa_handler = init_forward, .sa_flags = SA_RESTART };

		sigaction(forwarded_signals[i], &sa, NULL);
		sigaddset(&fwd, forwarded_signals[i]);
	}
	fcntl(errfd, F_SETFD, FD_CLOEXEC);
	fcntl(statusfd, F_SETFD, FD_CLOEXEC);
	cmd = start_command(c, oldmask, errfd);
	if (cmd < 0)
		setup_fail(errfd, "fork", errno);
	setpgid(cmd, cmd); /* also done by the child: whichever runs first */
	forget_arguments(&blocks, have_blocks);
	init_cmd_pgid = cmd;
	msg = (struct init_msg){ MSG_STARTED, cmd };
	write_all(statusfd, &msg, sizeof(msg));
	close(errfd);
	sigprocmask(SIG_UNBLOCK, &fwd, NULL);
	for (;;) {
		int st;
		pid_t w = waitpid(-1, &st, 0);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			_exit(MOS_EXIT_SETUP); /* cannot happen: the command is our child */
		if (w == cmd) {
			msg = (struct init_msg){ MSG_EXITED, st };
			write_all(statusfd, &msg, sizeof(msg));
			_exit(0);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Phase 1: mosctl, unconfined.                                             */
/* ---------------------------------------------------------------------- */

/*
 * Create init in new user, pid, mount and IPC namespaces; root without user
 * namespaces gets the others alone.  Returns init's pid, or -1 with errno
 * when a namespace the policy needs cannot be made, or 0 with *MODE set to
 * NS_NONE when none can be made and the caller must decide (and fork).
 */
static pid_t clone_init(enum ns_mode *mode, bool need_pidns, bool need_userns)
{
	const unsigned long ns = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | SIGCHLD;
	pid_t pid;

	*mode = NS_USER_PID;
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | ns, NULL, NULL, NULL, NULL);
	if (pid >= 0 || need_userns)
		return pid;
	mos_info("cannot create a user namespace (%s)", strerror(errno));
	if (geteuid() == 0) {
		*mode = NS_PID;
		pid = (pid_t)syscall(SYS_clone, ns, NULL, NULL, NULL, NULL);
		if (pid >= 0 || need_pidns)
			return pid;
	}
	if (need_pidns)
		return -1;
	*mode = NS_NONE;
	return 0;
}

/*
 * Kill a process named by its pid as /proc shows it.  /proc may belong to
 * another pid namespace than ours (mosctl nested in a sandbox), so signal
 * it through its /proc directory, which pidfd_send_signal accepts.
 */
static void kill_proc_pid(int pid)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
}

/*
 * Kill and reap every remaining child (orphans come to us as subreaper).
 * thread-self, not self/task/<getpid()>: inside another pid namespace the
 * pid we know differs from /proc's.  Without a readable /proc the children
 * cannot be listed: then we wait up to a second and say what may be left.
 */
static void reap_all_children(void)
{
	const char *path = "/proc/thread-self/children";
	pid_t w;
	int st;

	/* None left, the usual end (init reaped): no need to list them. */
	while ((w = waitpid(-1, &st, WNOHANG)) > 0)
		;
	if (w < 0 && errno == ECHILD)
		return;
	for (int round = 0; round < 10000; round++) {
		FILE *f = fopen(path, "re");
		bool any = false;
		int pid;

		if (f) {
			while (fscanf(f, "%d", &pid) == 1) {
				kill_proc_pid(pid);
				any = true;
			}
			fclose(f);
		} else if (round >= 1000) {
			mos_warn("cannot list leftover processes (%s is not readable): "
				 "some may still run",
				 path);
			return;
		}
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			any = true;
		if (w < 0 && errno == ECHILD)
			return;
		if (!any)
			nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
	}
}

static int status_to_exit(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return MOS_EXIT_SETUP;
}

struct supervise {
	const struct sandbox_config *c;
	enum ns_mode mode;
	pid_t init;
	pid_t cmd; /* as init saw it: a host pid only in NS_NONE */
	bool init_done, have_exit, timed_out;
	int cmd_status, init_status;
	char err[512];
	size_t errlen;
	int gofd;	   /* mosctl -> init: go on (and again once the supervisor serves) */
	int init_listener; /* init's fd number of the listener */
	bool serving;	   /* the serving backend was handed init's fds */
	struct mos_backend_run run;
};

static void kill_tree(struct supervise *s)
{
	if (s->mode == NS_NONE && s->cmd > 0)
		kill(-s->cmd, SIGKILL);
	kill(s->init, SIGKILL);
}

/* init handed over its listener (LFD) and root (ROOTFD): the serving
 * backend takes them.  A failure kills the sandbox before its command
 * exists. */
static void serve(struct supervise *s, int lfd, int rootfd)
{
	struct mos_err e = { "" };

	s->serving = true;
	for (int m = 0; m < MOS_MECH_COUNT; m++) {
		if (!uses(s->c, m) || !mos_backends[m].serve)
			continue;
		if (mos_backends[m].serve(&s->run, lfd, rootfd, &e) < 0) {
			s->errlen = (size_t)snprintf(s->err, sizeof(s->err), "%s", e.msg);
			if (s->errlen >= sizeof(s->err))
				s->errlen = sizeof(s->err) - 1;
			kill_tree(s);
			return;
		}
	}
}

/* Undo every backend's run-time state; again is harmless. */
static void cleanup_backends(struct supervise *s)
{
	for (int m = 0; m < MOS_MECH_COUNT; m++)
		if (uses(s->c, m) && mos_backends[m].cleanup)
			mos_backends[m].cleanup(&s->run);
}

static void read_status(struct supervise *s, int fd, bool *open)
{
	struct init_msg m;
	ssize_t n = read_full(fd, &m, sizeof(m));

	if (n != (ssize_t)sizeof(m)) {
		*open = false;
		return;
	}
	if (m.kind == MSG_STARTED)
		s->cmd = m.value;
	else if (m.kind == MSG_EXITED) {
		s->have_exit = true;
		s->cmd_status = m.value;
	} else if (m.kind == MSG_LISTENER && served(s->c)) {
		s->init_listener = m.value;
	} else if (m.kind == MSG_ROOT && served(s->c) && s->init_listener >= 0 && !s->serving) {
		serve(s, s->init_listener, m.value);
	}
}

static void read_err(struct supervise *s, int fd, bool *open)
{
	ssize_t n = read(fd, s->err + s->errlen, sizeof(s->err) - 1 - s->errlen);

	if (n <= 0) {
		if (n == 0 || errno != EINTR)
			*open = false;
		return;
	}
	s->errlen += (size_t)n;
	s->err[s->errlen] = '\0';
}

static void supervise_loop(struct supervise *s, int sfd, int tfd, int statusfd, int errfd)
{
	bool status_open = true, err_open = true;

	while (!s->init_done || status_open || err_open) {
		struct pollfd pfd[4] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = tfd, .events = POLLIN },
			{ .fd = status_open ? statusfd : -1, .events = POLLIN },
			{ .fd = err_open ? errfd : -1, .events = POLLIN },
		};

		if (s->init_done) {
			/* init is gone: its pipe ends are closed, drain without waiting */
			pfd[0].fd = pfd[1].fd = -1;
		}
		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					int st;
					pid_t w;

					while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
						if (w == s->init) {
							s->init_done = true;
							s->init_status = st;
						}
					}
				} else if (s->mode != NS_NONE) {
					kill(s->init, (int)si.ssi_signo);
				} else if (s->cmd > 0) {
					kill(-s->cmd, (int)si.ssi_signo);
				}
			}
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) > 0 && !s->timed_out) {
				s->timed_out = true;
				kill_tree(s);
			}
		}
		if (pfd[2].revents & (POLLIN | POLLHUP))
			read_status(s, statusfd, &status_open);
		if (pfd[3].revents & (POLLIN | POLLHUP))
			read_err(s, errfd, &err_open);
	}
}

/*
 * No namespace could be made (nested in another sandbox, or user namespaces
 * disabled).  Without a mount namespace, chmod, chown, utimes and extended
 * attributes outside the writable paths cannot be prevented, SysV IPC is
 * shared and no private /proc exists: run only with --allow-degraded, and
 * compile the file rules again to split around denied paths instead of
 * hiding them.
 */
static int fallback_without_namespaces(const struct sandbox_config *c,
				       struct landlock_plan *fallback, struct sandbox_config *cfg)
{
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };
	int r;

	static const char what[] =
		"no user, pid or mount namespace can be made here, so files outside the "
		"writable paths could have their modes, owners, times and extended "
		"attributes changed (Landlock does not cover these), SysV IPC would be "
		"shared with the host, and the sandbox's processes are reaped by mosctl";

	if (!c->allow_degraded) {
		mos_err("cannot enforce the policy: %s; pass --allow-degraded to run anyway", what);
		return -1;
	}
	mos_warn("only partly enforced: %s", what);
	*cfg = *c;
	if (!c->view || c->plan->sel.files == MOS_MECH_SUPERVISOR)
		return 0; /* the supervisor needs no mounts: it checks every path */
	r = landlock_compile(c->policy, c->landlock->abi, mos_backend_hosts_by(c->plan->sel.net),
			     c->plan->net.built ? &c->plan->net : NULL, fallback, &rep, &e);
	for (size_t i = 0; i < rep.nweak; i++)
		mos_warn("only partly enforced: %s", rep.weak[i]);
	report_free(&rep);
	if (r < 0) {
		mos_err("%s", e.msg);
		return -1;
	}
	if (fallback->proc_visible)
		mos_warn("only partly enforced: /proc is the caller's and shows every process");
	cfg->landlock = fallback;
	return 0;
}

void sandbox_config_from_plan(struct sandbox_config *c, const struct mos_policy *p,
			      const struct mos_plan *plan, char *const *argv, bool allow_degraded,
			      const char *progname)
{
	*c = (struct sandbox_config){
		.policy = p,
		.plan = plan,
		.argv = argv,
		.envp = plan->envp,
		.cwd = p->cwd,
		.view = plan->have_files ? &plan->view : NULL,
		.own_proc = plan->have_files && plan->proc_visible,
		.landlock = &plan->landlock,
		.seccomp = plan->seccomp,
		.limits = &plan->limits,
		.cgcaps = &plan->cgcaps,
		.need_pidns = plan->need_pidns,
		.allow_degraded = allow_degraded,
		.progname = progname,
	};
}

int sandbox_run(const struct sandbox_config *c)
{
	struct landlock_plan fallback = { .ruleset_fd = -1 };
	struct sandbox_config fallback_cfg;
	struct pipes p = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	struct supervise s = {
		.c = c,
		.gofd = -1,
		.init_listener = -1,
		.run = { .c = c, .gofd = -1, .ncg = { .dirfd = -1 } },
	};
	struct mos_cgroup cg = { 0 };
	struct mos_err e = { "" };
	sigset_t set, oldmask;
	_cleanup_close_ int sfd = -1, tfd = -1;
	uid_t uid = getuid();
	gid_t gid = getgid();
	int ret = MOS_EXIT_SETUP, r;

	if (pipe2(p.go, O_CLOEXEC) < 0 || pipe2(p.status, O_CLOEXEC) < 0 ||
	    pipe2(p.err, O_CLOEXEC) < 0) {
		mos_err("cannot create pipes: %s", strerror(errno));
		goto out;
	}
	if (c->limits->cgroup_pids || c->limits->cgroup_memory) {
		struct mos_limits lim = c->limits->lim;

		if (!c->limits->cgroup_pids)
			lim.procs = 0;
		if (!c->limits->cgroup_memory)
			lim.memory = 0;
		if (cgroup_create(&cg, c->cgcaps, &lim, &e) < 0) {
			mos_err("cannot set up the sandbox's cgroup: %s", e.msg);
			goto out;
		}
	}
	/* after the limits' cgroup: on the v2 hierarchy, cgroup BPF goes there */
	s.run.cgroup_v2_dir = cg.v2_dir;
	for (int m = 0; m < MOS_MECH_COUNT; m++) {
		if (!uses(c, m) || !mos_backends[m].before_clone)
			continue;
		if (mos_backends[m].before_clone(&s.run, &e) < 0) {
			mos_err("%s", e.msg);
			goto out;
		}
	}

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		sigaddset(&set, forwarded_signals[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
	if (c->unblock_forwarded) {
		/* blocked by our caller only to hold them for us (a remote job's
		 * pid 1): the command starts with them deliverable */
		for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
			sigdelset(&oldmask, forwarded_signals[i]);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	s.init = clone_init(&s.mode, c->need_pidns, c->limits->rlimit_nproc);
	if (s.mode == NS_NONE) {
		if (fallback_without_namespaces(c, &fallback, &fallback_cfg) < 0)
			goto restore;
		c = &fallback_cfg;
		s.c = c;
		s.run.c = c;
		s.init = fork();
	}
	if (s.init < 0) {
		mos_err("cannot create the sandbox's %s namespace: %s (%s)",
			c->limits->rlimit_nproc ? "user" : "pid", strerror(errno),
			c->limits->rlimit_nproc
				? "needed to count --max-procs for this sandbox alone"
				: "needed to keep signals inside the sandbox on this kernel");
		goto restore;
	}
	if (s.init == 0)
		run_init(c, &p, s.mode, uid, gid, &oldmask);

	close(p.go[0]);
	close(p.status[1]);
	close(p.err[1]);
	p.go[0] = p.status[1] = p.err[1] = -1;
	/* init sets itself up unconfined; the command is confined from its execve */
	s.run.init = s.init;
	s.run.own_mounts = s.mode != NS_NONE;
	r = cg.ndirs ? cgroup_attach(&cg, s.init, &e) : 0;
	for (int m = 0; m < MOS_MECH_COUNT && r == 0; m++)
		if (uses(c, m) && mos_backends[m].attach)
			r = mos_backends[m].attach(&s.run, &e);
	if (r < 0) {
		mos_err("cannot move the sandbox into its cgroup: %s", e.msg);
		kill(s.init, SIGKILL);
		reap_all_children();
		goto restore;
	}
	if (write(p.go[1], "g", 1) != 1) {
		mos_err("cannot start the sandbox: %s", strerror(errno));
		kill(s.init, SIGKILL);
		reap_all_children();
		goto restore;
	}

	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (c->limits->lim.timeout_ms) {
		struct itimerspec its = {
			.it_value = { .tv_sec = (time_t)(c->limits->lim.timeout_ms / 1000),
				      .tv_nsec =
					      (long)(c->limits->lim.timeout_ms % 1000) * 1000000L },
		};

		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
			mos_err("cannot arm the timeout: %s", strerror(errno));
			kill_tree(&s);
			reap_all_children();
			goto restore;
		}
	}
	if (sfd < 0) {
		mos_err("signalfd: %s", strerror(errno));
		kill_tree(&s);
		reap_all_children();
		goto restore;
	}
	s.gofd = s.run.gofd = p.go[1];
	supervise_loop(&s, sfd, tfd, p.status[0], p.err[0]);
	if (s.mode == NS_NONE && s.cmd > 0)
		kill(-s.cmd, SIGKILL);
	reap_all_children();
	cleanup_backends(&s);

	if (s.timed_out) {
		mos_info("timeout: killed the sandbox after %llu ms",
			 (unsigned long long)c->limits->lim.timeout_ms);
		ret = MOS_EXIT_TIMEOUT;
	} else if (s.have_exit) {
		ret = status_to_exit(s.cmd_status);
		if (WIFSIGNALED(s.cmd_status) && WTERMSIG(s.cmd_status) == SIGKILL && cg.memory &&
		    cgroup_oom_killed(&cg))
			mos_warn("the sandbox hit its memory limit; the kernel killed it");
	} else if (s.errlen) {
		mos_err("cannot set up the sandbox: %s", s.err);
		ret = MOS_EXIT_SETUP;
	} else if (cg.memory && cgroup_oom_killed(&cg)) {
		mos_err("the sandbox hit its memory limit (%llu bytes) before the command "
			"could finish starting",
			(unsigned long long)c->limits->lim.memory);
		ret = status_to_exit(s.init_status);
	} else {
		mos_err("the sandbox's init ended unexpectedly (%s %d)",
			WIFSIGNALED(s.init_status) ? "signal" : "status",
			WIFSIGNALED(s.init_status) ? WTERMSIG(s.init_status)
						   : WEXITSTATUS(s.init_status));
		ret = status_to_exit(s.init_status);
		if (ret == 0)
			ret = MOS_EXIT_SETUP;
	}
restore:
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
out:
	for (int i = 0; i < 2; i++) {
		closep(&p.go[i]);
		closep(&p.status[i]);
		closep(&p.err[i]);
	}
	cleanup_backends(&s); /* cgroup BPF's programs may sit on the limits' cgroup */
	cgroup_destroy(&cg);
	landlock_plan_release(&fallback);
	return ret;
}
