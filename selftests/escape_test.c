// SPDX-License-Identifier: GPL-2.0-only
/*
 * escape_test - the escape suite: things a confined program tries in order
 * to act outside its sandbox.  Each test asserts both the error and the
 * absence of the effect (the file was not created, the victim still lives,
 * the secret never shows up), and where the kernel allows it, a control run
 * outside the sandbox shows that the attempt would have worked there.
 *
 *   32-bit ABIs (ia32 int $0x80, x32)  kill the process (SIGSYS, 159)
 *   signals, ptrace, process_vm_readv, pidfd_getfd, /proc/PID of a process
 *   outside; kill(-1); the pid namespace and its /proc
 *   user/mount namespaces, mount, chroot, setns, pivot_root, new mount API
 *   keyrings, TIOCSTI, inherited descriptors, capabilities, setuid binaries
 *   bpf, perf_event_open, userfaultfd, open_by_handle_at, io_uring,
 *   personality, clone3
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"

#define KEY_SPEC_SESSION_KEYRING -3
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SETPERM 5
#define KEYCTL_READ 11

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

static const char *helpers_dir(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s", t_helper("probe"));
	return dirname(buf);
}

static char *num(long n)
{
	static char buf[16][24];
	static int slot;
	char *b = buf[slot++ % 16];

	snprintf(b, sizeof(buf[0]), "%ld", n);
	return b;
}

#define SBX(r, ...) t_mosctl(r, "run", "-s", "-r", helpers_dir(), __VA_ARGS__, NULL)
#define ESC() t_helper("escape")
#define PROBE() t_helper("probe")

static void expect_ok(const struct t_result *r, const char *what)
{
	if (r->status != 0 || strncmp(r->out, "ok", 2)) {
		t_dump(what, r);
		t_fail("%s: expected success", what);
	}
}

/* "err ENAME" exactly (ENAME may be followed by details). */
static void expect_err(const struct t_result *r, const char *what, const char *ename)
{
	char want[64];
	size_t n = (size_t)snprintf(want, sizeof(want), "err %s", ename);

	if (r->status != 0 || strncmp(r->out, want, n) || (r->out[n] != '\n' && r->out[n] != ' ')) {
		t_dump(what, r);
		t_fail("%s: expected \"err %s\"", what, ename);
	}
}

static void expect_any_err(const struct t_result *r, const char *what)
{
	if (r->status != 0 || strncmp(r->out, "err ", 4)) {
		t_dump(what, r);
		t_fail("%s: expected a failure", what);
	}
}

/* Either errno is an honest refusal (e.g. ESRCH in a pid namespace). */
static void expect_err2(const struct t_result *r, const char *what, const char *e1, const char *e2)
{
	char a[64], b[64];

	snprintf(a, sizeof(a), "err %s\n", e1);
	snprintf(b, sizeof(b), "err %s\n", e2);
	if (r->status != 0 || (strcmp(r->out, a) && strcmp(r->out, b))) {
		t_dump(what, r);
		t_fail("%s: expected \"err %s\" or \"err %s\"", what, e1, e2);
	}
}

static void expect_no_secret(const struct t_result *r, const char *secret)
{
	T_EXPECT_NO_STR(r->out, secret);
	T_EXPECT_NO_STR(r->err, secret);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* A victim outside the sandbox: `sleep 60` in its own process. */
static pid_t start_sleeper(void)
{
	pid_t pid = fork();

	if (pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The victim has not died (nor been stopped by a tracer). */
static void expect_alive(pid_t pid, const char *what)
{
	char path[64], buf[4096];
	int st, fd;
	ssize_t n;
	pid_t w = waitpid(pid, &st, WNOHANG | WUNTRACED);

	if (w == pid)
		t_fail("%s: the process outside the sandbox %s (status 0x%x)", what,
		       WIFSTOPPED(st) ? "was stopped" : "died", st);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_fail("%s: %s: %s", what, path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (!strstr(buf, "TracerPid:\t0\n"))
		t_fail("%s: the process outside the sandbox is being traced", what);
	if (strstr(buf, "State:\tt") || strstr(buf, "State:\tT"))
		t_fail("%s: the process outside the sandbox is stopped", what);
}

static void stop_victim(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * Run mosctl ARGS with FD as its standard input (a pidfd, a terminal):
 * `sh -c 'exec "$0" "$@" <&FD' mosctl ARGS...`.
 */
static void mosctl_stdin_fd(struct t_result *r, int fd, char *const args[])
{
	char script[64], *argv[64];
	int n = 0, keep = 9;

	if (dup2(fd, keep) < 0)
		t_fail("dup2: %s", strerror(errno));
	snprintf(script, sizeof(script), "exec \"$0\" \"$@\" <&%d %d<&-", keep, keep);
	argv[n++] = "/bin/sh";
	argv[n++] = "-c";
	argv[n++] = script;
	argv[n++] = (char *)t_mosctl_path();
	for (int i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	t_run_keep_fd(r, NULL, argv, keep);
	close(keep);
}

/* ---------------------------------------------------------------------- */
/* 32-bit system call ABIs                                                 */
/* ---------------------------------------------------------------------- */

TEST(ia32_syscall_kills_and_does_nothing)
{
	struct t_result r;
	char *ctl[] = { (char *)ESC(), "ia32-creat", (char *)t_path("control"), NULL };

	/* Control: outside, int $0x80 creat() works. */
	t_run(&r, NULL, ctl);
	if (r.status != 0 || strncmp(r.out, "ok", 2) || !exists(t_path("control"))) {
		t_dump("ia32 control", &r);
		t_skip("ia32 syscalls do not work here (CONFIG_IA32_EMULATION off or "
		       "ia32_emulation=0)");
	}
	/* Inside, in a directory the sandbox may write to. */
	SBX(&r, "-w", t_dir(), "--", ESC(), "ia32-creat", t_path("ia32-file"));
	if (r.status != 128 + SIGSYS) {
		t_dump("ia32 creat", &r);
		t_fail("an ia32 syscall must kill the process with SIGSYS (exit %d)", 128 + SIGSYS);
	}
	T_EXPECT_EQ(r.out_len, 0);
	T_ASSERT(!exists(t_path("ia32-file")));
	SBX(&r, "--", ESC(), "ia32-getpid");
	T_EXPECT_EQ(r.status, 128 + SIGSYS);
	T_EXPECT_EQ(r.out_len, 0);
	/* The same directory is writable through the native ABI. */
	SBX(&r, "-w", t_dir(), "--", PROBE(), "write", t_path("native-file"), "x");
	expect_ok(&r, "native write next to it");
	T_ASSERT(exists(t_path("native-file")));
}

TEST(x32_syscall_kills_and_does_nothing)
{
	struct t_result r;
	char *ctl[] = { (char *)ESC(), "x32-creat", (char *)t_path("control"), NULL };

	t_run(&r, NULL, ctl);
	if (!strncmp(r.out, "ok", 2))
		T_ASSERT(exists(t_path("control")));
	else
		t_note("x32 outside the sandbox: %.*s (CONFIG_X86_X32_ABI off?): the filter "
		       "must still kill",
		       (int)strcspn(r.out, "\n"), r.out);
	SBX(&r, "-w", t_dir(), "--", ESC(), "x32-creat", t_path("x32-file"));
	if (r.status != 128 + SIGSYS) {
		t_dump("x32 creat", &r);
		t_fail("an x32 syscall must kill the process with SIGSYS (exit %d)", 128 + SIGSYS);
	}
	T_EXPECT_EQ(r.out_len, 0);
	T_ASSERT(!exists(t_path("x32-file")));
}

/* ---------------------------------------------------------------------- */
/* Other processes                                                         */
/* ---------------------------------------------------------------------- */

TEST(signals_to_outside_processes_fail)
{
	struct t_result r;
	pid_t victim = start_sleeper();
	char *me = num(getpid());
	int sigs[] = { SIGKILL, SIGTERM, SIGSTOP, SIGUSR1, 0 };

	usleep(50 * 1000);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "kill(victim, %d)", sigs[i]);
		SBX(&r, "--", ESC(), "kill", num(victim), num(sigs[i]));
		expect_err2(&r, what, "ESRCH", "EPERM");
		expect_alive(victim, what);
		snprintf(what, sizeof(what), "kill(-victim, %d)", sigs[i]);
		SBX(&r, "--", ESC(), "kill", num(-(long)victim), num(sigs[i]));
		expect_err2(&r, what, "ESRCH", "EPERM");
		expect_alive(victim, what);
	}
	/* The test itself and its process group. */
	SBX(&r, "--", ESC(), "kill", me, "9");
	expect_err2(&r, "kill(test, SIGKILL)", "ESRCH", "EPERM");
	SBX(&r, "--", ESC(), "kill", num(-(long)getpgrp()), "9");
	expect_err2(&r, "kill(-test pgrp, SIGKILL)", "ESRCH", "EPERM");
	/* kill(-1) reaches only the sandbox; mosctl reports the helper's exit. */
	SBX(&r, "--", ESC(), "kill-all", "9");
	if (r.status != 0 || (strcmp(r.out, "ok\n") && strcmp(r.out, "err ESRCH\n"))) {
		t_dump("kill(-1, SIGKILL)", &r);
		t_fail("kill(-1, SIGKILL): mosctl must survive and report the command");
	}
	expect_alive(victim, "kill(-1, SIGKILL)");
	SBX(&r, "--", "sh", "-c", "kill -9 -1; kill -STOP -1; echo survived");
	T_EXPECT_STR(r.out, "survived");
	expect_alive(victim, "kill -9 -1 from a shell");
	stop_victim(victim);
}

/*
 * A pidfd names a process regardless of pid namespaces: given one as its
 * stdin, the sandbox still may not signal it (Landlock signal scoping).
 */
TEST(pidfd_signal_to_outside_process_fails)
{
	struct t_result r;
	pid_t victim = start_sleeper();
	int pidfd = (int)syscall(SYS_pidfd_open, victim, 0);
	char *args[] = { "run", "-s",	       "-r",	     (char *)helpers_dir(),
			 "--",	(char *)ESC(), "pidfd-kill", "0",
			 "9",	NULL };

	if (pidfd < 0)
		t_skip("pidfd_open: %s (kernel < 5.3?)", strerror(errno));
	if (t_landlock_abi() < 6)
		t_skip("Landlock ABI %d < 6: no signal scoping", t_landlock_abi());
	/* EINVAL: the target is outside the caller's pid namespace;
	 * EPERM: Landlock's signal scope. */
	mosctl_stdin_fd(&r, pidfd, args);
	expect_err2(&r, "pidfd_send_signal(outside, SIGKILL)", "EPERM", "EINVAL");
	expect_alive(victim, "pidfd_send_signal(outside, SIGKILL)");
	args[8] = "19"; /* SIGSTOP */
	mosctl_stdin_fd(&r, pidfd, args);
	expect_err2(&r, "pidfd_send_signal(outside, SIGSTOP)", "EPERM", "EINVAL");
	expect_alive(victim, "pidfd_send_signal(outside, SIGSTOP)");
	close(pidfd);
	stop_victim(victim);
}

/* A victim holding a secret: in memory at SECRET_BUF, in a file at fd 3. */
static char secret_buf[64];

static pid_t start_secret_holder(const char *secret, int *secret_fd)
{
	int fd;
	pid_t pid;

	snprintf(secret_buf, sizeof(secret_buf), "%s", secret);
	t_write_file(t_path("secret"), secret);
	chmod(t_path("secret"), 0600);
	fd = open(t_path("secret"), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_fail("open secret: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		fcntl(fd, F_SETFD, 0);
		setenv("MOS_VICTIM_SECRET", secret, 1);
		/* exec'd so that its environment is in /proc/PID/environ */
		execl("/bin/sh", "sh", "-c", "cd \"$0\" && exec sleep 60", t_dir(), (char *)NULL);
		_exit(127);
	}
	*secret_fd = fd; /* the same fd number in the victim (inherited, then kept by sh) */
	usleep(100 * 1000);
	return pid;
}

TEST(ptrace_and_memory_of_outside_process_fail)
{
	struct t_result r;
	char secret[64], addr[32];
	pid_t victim;

	snprintf(secret, sizeof(secret), "ptrace-secret-%d-%d", (int)getpid(), rand());
	snprintf(secret_buf, sizeof(secret_buf), "%s", secret);
	/* A forked copy of this test: SECRET_BUF lies at the same address. */
	victim = fork();
	if (victim == 0) {
		pause();
		_exit(0);
	}
	snprintf(addr, sizeof(addr), "%p", (void *)secret_buf);
	usleep(50 * 1000);

	SBX(&r, "--", ESC(), "ptrace", num(victim));
	expect_err2(&r, "PTRACE_ATTACH outside", "ESRCH", "EPERM");
	expect_alive(victim, "PTRACE_ATTACH outside");
	SBX(&r, "--", ESC(), "vm-read", num(victim), addr, "63");
	expect_err2(&r, "process_vm_readv outside", "ESRCH", "EPERM");
	expect_no_secret(&r, secret);
	/* The sandbox's own init is not fair game either (not dumpable, no caps). */
	SBX(&r, "--", ESC(), "ptrace", "1");
	expect_err(&r, "PTRACE_ATTACH of the sandbox's init", "EPERM");
	/* Control: outside, the same helper can read the victim's memory. */
	{
		char *ctl[] = { (char *)ESC(), "vm-read", num(victim), addr, "63", NULL };

		t_run(&r, NULL, ctl);
		if (strncmp(r.out, "ok ", 3))
			t_note("control process_vm_readv outside: %s", r.out);
		else
			T_EXPECT_STR(r.out, secret);
	}
	expect_alive(victim, "after the attempts");
	stop_victim(victim);
}

TEST(pidfd_getfd_of_outside_process_fails)
{
	struct t_result r;
	char secret[64];
	int sfd, pidfd;
	pid_t victim;
	char *args[] = { "run", "-s",	       "-r",	      (char *)helpers_dir(),
			 "--",	(char *)ESC(), "pidfd-getfd", "0",
			 NULL,	NULL };

	snprintf(secret, sizeof(secret), "getfd-secret-%d-%d", (int)getpid(), rand());
	victim = start_secret_holder(secret, &sfd);
	pidfd = (int)syscall(SYS_pidfd_open, victim, 0);
	if (pidfd < 0)
		t_skip("pidfd_open: %s", strerror(errno));
	args[8] = num(sfd);
	mosctl_stdin_fd(&r, pidfd, args);
	expect_err(&r, "pidfd_getfd of an outside process", "EPERM");
	expect_no_secret(&r, secret);
	expect_alive(victim, "pidfd_getfd");
	close(pidfd);
	close(sfd);
	stop_victim(victim);
}

/* /proc/PID/{environ,fd,root,cwd,mem} of a process outside stay closed. */
TEST(proc_pid_of_outside_process_is_closed)
{
	struct t_result r;
	char secret[64], p[8][256];
	int sfd, v;
	pid_t victim;

	snprintf(secret, sizeof(secret), "procpid-secret-%d-%d", (int)getpid(), rand());
	victim = start_secret_holder(secret, &sfd);
	v = (int)victim;
	snprintf(p[0], sizeof(p[0]), "/proc/%d/environ", v);
	snprintf(p[1], sizeof(p[1]), "/proc/%d/fd/%d", v, sfd);
	snprintf(p[2], sizeof(p[2]), "/proc/%d/root%s", v, t_path("secret"));
	snprintf(p[3], sizeof(p[3]), "/proc/%d/cwd/secret", v);
	snprintf(p[4], sizeof(p[4]), "/proc/%d/mem", v);
	snprintf(p[5], sizeof(p[5]), "/proc/%d/task/%d/environ", v, v);
	snprintf(p[6], sizeof(p[6]), "/proc/%d/task/%d/fd/%d", v, v, sfd);
	snprintf(p[7], sizeof(p[7]), "/proc/%d/maps", v);
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		SBX(&r, "-r", "/proc", "--", PROBE(), "read", p[i]);
		expect_any_err(&r, p[i]);
		expect_no_secret(&r, secret);
	}
	expect_alive(victim, "/proc/PID");
	close(sfd);
	stop_victim(victim);
}

TEST(pid_namespace_hides_outside_processes)
{
	struct t_result r;
	int pid, ppid;

	SBX(&r, "--", ESC(), "pid");
	expect_ok(&r, "getpid");
	if (sscanf(r.out, "ok %d %d", &pid, &ppid) != 2)
		t_fail("cannot parse \"%s\"", r.out);
	/* The command runs under the sandbox's init, pid 1 of its namespace. */
	T_EXPECT_EQ(ppid, 1);
	T_ASSERT(pid > 1 && pid < 100);
	/* The test's pid means nothing inside. */
	SBX(&r, "--", ESC(), "kill", num(getpid()), "0");
	expect_err(&r, "kill(test pid, 0)", "ESRCH");
	SBX(&r, "--", ESC(), "kill", num(getppid()), "0");
	expect_err(&r, "kill(test's parent, 0)", "ESRCH");
}

/*
 * The sandbox's /proc must describe its own pid namespace: /proc/self is
 * the pid getpid() returns, /proc/1 is the sandbox's init, and the test's
 * pid has no /proc entry.  A /proc left over from the caller's namespace
 * makes /proc/<getpid()> another process and lists every host process.
 */
TEST(proc_matches_the_pid_namespace)
{
	struct t_result r;
	char self[32], path[64];
	int pid, ppid;

	SBX(&r, "-r", "/proc", "--", ESC(), "pid");
	expect_ok(&r, "getpid");
	if (sscanf(r.out, "ok %d %d %31s", &pid, &ppid, self) != 3)
		t_fail("cannot parse \"%s\"", r.out);
	if (atoi(self) != pid)
		t_fail("inside, getpid() is %d but /proc/self is %s: /proc is not the "
		       "sandbox's pid namespace",
		       pid, self);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)getpid());
	SBX(&r, "-r", "/proc", "--", PROBE(), "read", path);
	expect_err(&r, "the test's /proc entry inside", "ENOENT");
	SBX(&r, "-r", "/proc", "--", PROBE(), "read", "/proc/1/status");
	expect_ok(&r, "/proc/1/status");
	T_EXPECT_STR(r.out, "PPid:\t0\n");
	T_EXPECT_STR(r.out, "Name:\tmosctl");
}

/* ---------------------------------------------------------------------- */
/* Namespaces, mounts, roots                                               */
/* ---------------------------------------------------------------------- */

TEST(namespaces_and_mounts_are_denied)
{
	static const struct {
		const char *flag, *name;
	} ns[] = {
		{ "0x10000000", "CLONE_NEWUSER" },
		{ "0x00020000", "CLONE_NEWNS" },
		{ "0x20000000", "CLONE_NEWPID" },
		{ "0x40000000", "CLONE_NEWNET" },
		{ "0x04000000", "CLONE_NEWUTS" },
		{ "0x08000000", "CLONE_NEWIPC" },
		{ "0x02000000", "CLONE_NEWCGROUP" },
		{ "0x00000080", "CLONE_NEWTIME" },
		{ "0x10020000", "CLONE_NEWUSER|CLONE_NEWNS" },
	};
	struct t_result r;
	char what[96];

	mkdir(t_path("src"), 0755);
	mkdir(t_path("dst"), 0755);
	t_write_file(t_path("src/marker"), "bind-mounted\n");

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(what, sizeof(what), "unshare(%s)", ns[i].name);
		SBX(&r, "--", ESC(), "unshare", ns[i].flag);
		expect_err(&r, what, "EPERM");
		if (strcmp(ns[i].name, "CLONE_NEWTIME")) { /* clone() has no NEWTIME */
			snprintf(what, sizeof(what), "clone(%s)", ns[i].name);
			SBX(&r, "--", ESC(), "clone", ns[i].flag);
			expect_err(&r, what, "EPERM");
		}
		snprintf(what, sizeof(what), "clone3(%s)", ns[i].name);
		SBX(&r, "--", ESC(), "clone3", ns[i].flag);
		expect_err(&r, what, "ENOSYS");
	}
	/* clone3 is ENOSYS even without flags (libc falls back to clone). */
	SBX(&r, "--", ESC(), "clone3", "0");
	expect_err(&r, "clone3(0)", "ENOSYS");
	SBX(&r, "--", ESC(), "clone", "0");
	expect_ok(&r, "plain clone (fork)");

	/* The classic: a user namespace, then a bind mount over something. */
	SBX(&r, "-w", t_dir(), "--", ESC(), "userns-mount", t_path("src"), t_path("dst"));
	expect_err(&r, "unshare(CLONE_NEWUSER) + bind mount", "EPERM");
	T_EXPECT_STR(r.out, "unshare=EPERM");
	T_ASSERT(!exists(t_path("dst/marker")));
	SBX(&r, "-w", t_dir(), "--", "unshare", "-Ur", "--", "mount", "--bind", t_path("src"),
	    t_path("dst"));
	T_ASSERT(r.status != 0);
	T_ASSERT(!exists(t_path("dst/marker")));
	SBX(&r, "-w", t_dir(), "--", ESC(), "mount", t_path("src"), t_path("dst"));
	expect_err(&r, "mount --bind", "EPERM");
	T_ASSERT(!exists(t_path("dst/marker")));
	SBX(&r, "-w", t_dir(), "--", ESC(), "fsopen", "tmpfs");
	expect_err(&r, "fsopen(tmpfs)", "EPERM");
	SBX(&r, "-w", t_dir(), "--", ESC(), "open-tree", t_path("src"));
	expect_err(&r, "open_tree(OPEN_TREE_CLONE)", "EPERM");
	SBX(&r, "-w", t_dir(), "--", ESC(), "pivot-root", t_path("src"), t_path("dst"));
	expect_err(&r, "pivot_root", "EPERM");
	SBX(&r, "-w", t_dir(), "--", ESC(), "chroot", t_path("src"));
	expect_err(&r, "chroot", "EPERM");
	SBX(&r, "-r", "/proc", "--", ESC(), "setns", "/proc/self/ns/user");
	expect_err(&r, "setns(own user namespace)", "EPERM");
	SBX(&r, "-r", "/proc", "--", ESC(), "setns", "/proc/self/ns/mnt");
	expect_err(&r, "setns(own mount namespace)", "EPERM");
}

/* ---------------------------------------------------------------------- */
/* Keyrings, terminals, descriptors                                        */
/* ---------------------------------------------------------------------- */

TEST(keyring_secrets_are_unreachable)
{
	struct t_result r;
	char secret[64], desc[64], buf[128];
	long key, n;

	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0)
		t_skip("keyctl: %s (CONFIG_KEYS off?)", strerror(errno));
	snprintf(secret, sizeof(secret), "key-secret-%d-%d", (int)getpid(), rand());
	snprintf(desc, sizeof(desc), "mos-escape-test-%d", (int)getpid());
	key = syscall(SYS_add_key, "user", desc, secret, strlen(secret), KEY_SPEC_SESSION_KEYRING);
	if (key < 0)
		t_fail("add_key: %s", strerror(errno));
	/* possessor: all; same uid: all -- so only the sandbox stands in the way */
	if (syscall(SYS_keyctl, KEYCTL_SETPERM, key, 0x3f3f0000) < 0)
		t_fail("keyctl setperm: %s", strerror(errno));
	n = syscall(SYS_keyctl, KEYCTL_READ, key, buf, sizeof(buf) - 1);
	T_ASSERT(n == (long)strlen(secret)); /* control */

	SBX(&r, "--", ESC(), "keyctl-read", num(key));
	expect_err(&r, "keyctl(KEYCTL_READ)", "EPERM");
	expect_no_secret(&r, secret);
	SBX(&r, "--", ESC(), "request-key", desc);
	expect_err(&r, "request_key", "EPERM");
	SBX(&r, "--", ESC(), "add-key", "mos-inside", "x");
	expect_err(&r, "add_key", "EPERM");
	SBX(&r, "-r", "/proc", "--", "cat", "/proc/keys", "/proc/key-users");
	expect_no_secret(&r, secret);
	SBX(&r, "--", "sh", "-c", "keyctl print %user:$0; keyctl show @s", desc);
	expect_no_secret(&r, secret);
	/* A control through the same helper outside reads it. */
	{
		char *ctl[] = { (char *)ESC(), "keyctl-read", num(key), NULL };

		t_run(&r, NULL, ctl);
		T_EXPECT_STR(r.out, secret);
	}
}

static int open_pty(int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios tio;
	char *name;

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m)))
		return -1;
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		return -1;
	/* raw: a single injected byte is readable at once */
	tcgetattr(*slave, &tio);
	cfmakeraw(&tio);
	tcsetattr(*slave, TCSANOW, &tio);
	return m;
}

/* What is waiting in the terminal's input queue ("" when nothing). */
static const char *pending_input(int slave)
{
	static char buf[64];
	int fl = fcntl(slave, F_GETFL);
	ssize_t n;

	fcntl(slave, F_SETFL, fl | O_NONBLOCK);
	usleep(50 * 1000);
	n = read(slave, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	fcntl(slave, F_SETFL, fl);
	return buf;
}

TEST(tiocsti_cannot_inject_input)
{
	struct t_result r;
	int slave, master = open_pty(&slave);
	char *args[] = { "run",	    "-s", "-r", (char *)helpers_dir(), "--", (char *)ESC(),
			 "tiocsti", "0",  NULL };

	if (master < 0)
		t_skip("no pseudo-terminals here: %s (CONFIG_UNIX98_PTYS, /dev/pts)",
		       strerror(errno));
	mosctl_stdin_fd(&r, slave, args);
	expect_err(&r, "TIOCSTI on the terminal given as stdin", "EPERM");
	T_EXPECT_EQ(strlen(pending_input(slave)), 0);

	/* Control: outside, the same attempt pushes a byte. */
	{
		char script[64], *ctl[] = { "/bin/sh", "-c", script, (char *)ESC(), NULL };

		dup2(slave, 9);
		snprintf(script, sizeof(script), "exec \"$0\" tiocsti 0 <&9 9<&-");
		t_run_keep_fd(&r, NULL, ctl, 9);
		close(9);
		if (!strncmp(r.out, "ok", 2))
			T_EXPECT_STR(pending_input(slave), "X");
		else
			t_note("control TIOCSTI outside failed too (%s): dev.tty.legacy_tiocsti=0?",
			       r.out);
	}
	close(slave);
	close(master);
}

TEST(inherited_fds_are_closed)
{
	struct t_result r;
	char secret[64], path[32];
	int fd;
	char *ctl[] = { (char *)PROBE(), "fds", NULL };

	snprintf(secret, sizeof(secret), "fd-secret-%d-%d", (int)getpid(), rand());
	t_write_file(t_path("secret"), secret);
	chmod(t_path("secret"), 0600);
	/* fds 5..10, without O_CLOEXEC: every exec passes them on */
	fd = open(t_path("secret"), O_RDONLY);
	if (fd < 0)
		t_fail("open: %s", strerror(errno));
	for (int i = 5; i <= 10; i++)
		if (dup2(fd, i) < 0)
			t_fail("dup2: %s", strerror(errno));
	if (fd < 5 || fd > 10)
		close(fd);

	/* Control: unconfined, the probe sees them. */
	t_run_keep_fd(&r, NULL, ctl, 7);
	T_EXPECT_STR(r.out, " 7");
	T_EXPECT_STR(r.out, " 10");

	{
		char *args[] = { (char *)t_mosctl_path(),
				 "run",
				 "-s",
				 "-r",
				 "/proc",
				 "-r",
				 (char *)helpers_dir(),
				 "--",
				 (char *)PROBE(),
				 "fds",
				 NULL };

		t_run_keep_fd(&r, NULL, args, 7);
		if (r.status != 0 || strcmp(r.out, "ok\n")) {
			t_dump("probe fds", &r);
			t_fail("the sandbox inherited descriptors above 2");
		}
	}
	for (int i = 5; i <= 10; i++) {
		char *args[] = { (char *)t_mosctl_path(),
				 "run",
				 "-s",
				 "-r",
				 "/proc",
				 "-r",
				 (char *)helpers_dir(),
				 "--",
				 (char *)PROBE(),
				 "read",
				 path,
				 NULL };

		snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		t_run_keep_fd(&r, NULL, args, i);
		expect_any_err(&r, path);
		expect_no_secret(&r, secret);
	}
	SBX(&r, "--", "sh", "-c", "cat <&7; cat /dev/fd/7; cat /proc/self/fd/7");
	expect_no_secret(&r, secret);
	for (int i = 5; i <= 10; i++)
		close(i);
}

/* ---------------------------------------------------------------------- */
/* Privileges                                                              */
/* ---------------------------------------------------------------------- */

TEST(capabilities_are_all_dropped)
{
	static const char *const caps[] = { "CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb" };
	struct t_result r;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		char what[64];

		SBX(&r, "-r", "/proc", "--", PROBE(), "status", caps[i]);
		snprintf(what, sizeof(what), "%s inside", caps[i]);
		if (r.status != 0 || strcmp(r.out, "ok 0000000000000000\n")) {
			t_dump(what, &r);
			t_fail("%s must be empty", caps[i]);
		}
	}
	SBX(&r, "-r", "/proc", "--", PROBE(), "status", "NoNewPrivs");
	if (r.status != 0 || strcmp(r.out, "ok 1\n")) {
		t_dump("NoNewPrivs", &r);
		t_fail("NoNewPrivs must be 1");
	}
	SBX(&r, "-r", "/proc", "--", PROBE(), "status", "Seccomp");
	T_EXPECT_STR(r.out, "ok 2");
	/* A shell's children inherit the same. */
	SBX(&r, "-r", "/proc", "--", "sh", "-c",
	    "grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status");
	T_EXPECT_NO_STR(r.out, "ffff");
	T_EXPECT_STR(r.out, "CapBnd:\t0000000000000000");
}

/* The first setuid-root program of the system, or NULL. */
static const char *system_setuid_root(void)
{
	static const char *const cands[] = { "/usr/bin/passwd",	 "/usr/bin/chsh",   "/usr/bin/chfn",
					     "/usr/bin/gpasswd", "/usr/bin/newgrp", "/usr/bin/su",
					     "/usr/bin/mount",	 "/usr/bin/umount", "/bin/su" };

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		struct stat st;

		if (stat(cands[i], &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
		    (st.st_mode & S_ISUID) && (st.st_mode & S_IXOTH))
			return cands[i];
	}
	return NULL;
}

/*
 * execve is the one path the kernel reads again after a supervisor checked
 * it: a second thread flips the path between a program the policy lets run
 * (exits 0) and one outside it (exits 1) during 1,000 execs.  The outside
 * one never runs, on any backend (under the supervisor, because the mounts
 * make everything outside the exec roots noexec).
 */
TEST(exec_path_race_never_runs_a_program_outside_the_policy)
{
	struct t_result r;
	char *ok = strdup(t_path("ok/p")), *no = strdup(t_path("no/p"));
	long good = -1, bad = -1, refused = -1;

	if (mkdir(t_path("ok"), 0755) < 0 || mkdir(t_path("no"), 0755) < 0)
		t_fail("mkdir: %s", strerror(errno));
	/* Scripts, not copies of /bin/true and /bin/false: those may be one
	 * multi-call binary (busybox) that goes by its name. */
	t_write_file(ok, "#!/bin/sh\nexit 0\n");
	t_write_file(no, "#!/bin/sh\nexit 1\n");
	if (chmod(ok, 0755) < 0 || chmod(no, 0755) < 0)
		t_fail("chmod: %s", strerror(errno));
	SBX(&r, "-r", t_path("ok"), "--", ESC(), "exec-race", ok, no, "1000");
	if (sscanf(r.out, "ok good=%ld bad=%ld refused=%ld", &good, &bad, &refused) != 3) {
		t_dump("exec race", &r);
		t_fail("no result from the exec race");
	}
	t_note("exec race: %ld allowed program ran, %ld outside ran, %ld refused", good, bad,
	       refused);
	T_EXPECT_EQ(bad, 0);
	T_ASSERT(good > 0);
}

TEST(setuid_binaries_gain_nothing)
{
	struct t_result r;
	const char *sys = system_setuid_root();
	char want[64];
	bool checked = false;

	/* A setuid-root program of the system, exec'd inside: same uid, no caps. */
	if (sys) {
		SBX(&r, "-r", "/proc", "--", ESC(), "exec-creds", sys, "--help");
		expect_ok(&r, "exec of a setuid-root program");
		snprintf(want, sizeof(want), "uid=%d,%d,%d,%d ", (int)getuid(), (int)getuid(),
			 (int)getuid(), (int)getuid());
		T_EXPECT_STR(r.out, want);
		T_EXPECT_STR(r.out, "capeff=0000000000000000 ");
		checked = true;
	}
	if (t_is_root()) {
		/* Our own setuid-root copy of probe, run by uid 65534. */
		char *ctl[] = { (char *)ESC(), "as-uid", "65534", (char *)t_path("suid-probe"),
				"status",      "Uid",	 NULL };
		char *in[] = { (char *)ESC(), "as-uid",
			       "65534",	      (char *)t_mosctl_path(),
			       "run",	      "-s",
			       "-r",	      "/proc",
			       "-r",	      (char *)t_dir(),
			       "--",	      (char *)t_path("suid-probe"),
			       "status",      "Uid",
			       NULL };
		char *cmd[] = { "cp", (char *)PROBE(), (char *)t_path("suid-probe"), NULL };

		t_run(&r, NULL, cmd);
		T_EXPECT_EQ(r.status, 0);
		if (chown(t_path("suid-probe"), 0, 0) < 0 || chmod(t_path("suid-probe"), 04755) < 0)
			t_fail("chmod 4755: %s", strerror(errno));
		t_run(&r, NULL, ctl);
		if (strcmp(r.out, "ok 65534\t0\t0\t0\n")) {
			t_dump("setuid control", &r);
			t_skip("setuid bits are not honoured for %s (nosuid mount?)", t_dir());
		}
		t_run(&r, NULL, in);
		if (r.status != 0 || strcmp(r.out, "ok 65534\t65534\t65534\t65534\n")) {
			t_dump("setuid-root probe run by uid 65534 inside", &r);
			t_fail("a setuid-root binary changed the sandbox's uids");
		}
		/* Run by root inside: the exec grants no capability either. */
		SBX(&r, "-r", "/proc", "-r", t_dir(), "--", t_path("suid-probe"), "status",
		    "CapPrm");
		T_EXPECT_STR(r.out, "ok 0000000000000000");
		SBX(&r, "-r", "/proc", "-r", t_dir(), "--", t_path("suid-probe"), "status",
		    "CapEff");
		T_EXPECT_STR(r.out, "ok 0000000000000000");
		checked = true;
	}
	if (!checked)
		t_skip("no setuid-root program on this system and not root to make one");
}

/* ---------------------------------------------------------------------- */
/* Kernel attack surface                                                   */
/* ---------------------------------------------------------------------- */

TEST(dangerous_syscalls_are_denied)
{
	struct t_result r;

	SBX(&r, "--", ESC(), "bpf");
	expect_err(&r, "bpf(BPF_MAP_CREATE)", "EPERM");
	SBX(&r, "--", ESC(), "perf");
	expect_err(&r, "perf_event_open", "EPERM");
	SBX(&r, "--", ESC(), "userfaultfd");
	expect_err(&r, "userfaultfd", "EPERM");
	SBX(&r, "--", ESC(), "uring");
	expect_err(&r, "io_uring_setup", "EPERM");
	t_write_file(t_path("uring-secret"), "uring-secret-data");
	SBX(&r, "--", ESC(), "uring-openat", t_path("uring-secret"));
	expect_any_err(&r, "openat through io_uring");
	expect_no_secret(&r, "uring-secret-data");
	/* personality: ASLR and W^X weakening refused; the persona unchanged */
	SBX(&r, "-r", "/proc", "--", ESC(), "personality", "0x0040000"); /* ADDR_NO_RANDOMIZE */
	expect_err(&r, "personality(ADDR_NO_RANDOMIZE)", "EPERM");
	T_EXPECT_STR(r.out, "now=00000000");
	SBX(&r, "-r", "/proc", "--", ESC(), "personality", "0x0400000"); /* READ_IMPLIES_EXEC */
	expect_err(&r, "personality(READ_IMPLIES_EXEC)", "EPERM");
	T_EXPECT_STR(r.out, "now=00000000");
	SBX(&r, "-r", "/proc", "--", ESC(), "personality", "0x0200000"); /* MMAP_PAGE_ZERO */
	expect_err(&r, "personality(MMAP_PAGE_ZERO)", "EPERM");
	SBX(&r, "-r", "/proc", "--", "setarch", "-R", "true");
	T_ASSERT(r.status != 0);
	SBX(&r, "-r", "/proc", "--", ESC(), "personality", "0");
	expect_ok(&r, "personality(PER_LINUX)");
}

TEST(open_by_handle_at_is_denied)
{
	struct file_handle *fh = calloc(1, sizeof(*fh) + 128);
	const unsigned char *bytes;
	struct t_result r;
	char hex[300], secret[64];
	int mount_id;

	snprintf(secret, sizeof(secret), "handle-secret-%d-%d", (int)getpid(), rand());
	t_write_file(t_path("secret"), secret);
	chmod(t_path("secret"), 0600);
	mkdir(t_path("pub"), 0755);
	if (!fh)
		t_fail("out of memory");
	fh->handle_bytes = 128;
	if (name_to_handle_at(AT_FDCWD, t_path("secret"), fh, &mount_id, 0) < 0)
		t_skip("name_to_handle_at: %s (the test directory's filesystem has no file "
		       "handles)",
		       strerror(errno));
	bytes = (const unsigned char *)fh + sizeof(*fh);
	for (unsigned int i = 0; i < fh->handle_bytes && i < 128; i++)
		snprintf(hex + 2 * i, 3, "%02x", bytes[i]);

	/* Only pub/ is granted: the handle names the secret next to it. */
	SBX(&r, "-r", t_path("pub"), "--", ESC(), "open-by-handle", t_path("pub"),
	    num(fh->handle_type), hex);
	expect_err(&r, "open_by_handle_at", "EPERM");
	expect_no_secret(&r, secret);
	if (t_is_root()) {
		/* Control: root outside opens it (CAP_DAC_READ_SEARCH). */
		char *ctl[] = { (char *)ESC(),
				"open-by-handle",
				(char *)t_path("pub"),
				num(fh->handle_type),
				hex,
				NULL };

		t_run(&r, NULL, ctl);
		T_EXPECT_STR(r.out, secret);
	}
	free(fh);
}
