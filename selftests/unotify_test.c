// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_test - the supervisor foundation (userspace/confine/unotify/unotify.c) against
 * a real child: the test forks a child that sets NO_NEW_PRIVS, installs the
 * filter and hands the listener over a socketpair (SCM_RIGHTS); the test
 * serves it from a thread (or, where the supervisor must die, from a forked
 * process) and checks what the child could and could not do.
 *
 * Layout of each test's directory:
 *   ro/file        "hello-ro"      read root
 *   ro/deny/file   "deny-secret"   deny root inside the read root
 *   ro/to-deny     -> deny/file    a symlink inside the root into the deny root
 *   rw/            write root
 *   no/file        "EVIL-SECRET"   outside every root
 *   ok/f, no/f     race pair (same length paths)
 * plus /usr, /lib, /lib64, /bin, /etc, /proc as read roots (exec, /proc/self).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "harness.h"
#include "unotify.h"

/* ---------------------------------------------------------------------- */
/* Fixture                                                                 */
/* ---------------------------------------------------------------------- */

static char p_ro[4096], p_rw[4096], p_deny[4096], p_no[4096], p_ok[4096];
static const char *read_roots[8], *write_roots[2], *deny_roots[2];
static struct unotify_policy policy = { .read = read_roots,
					.write = write_roots,
					.deny = deny_roots };

static void setup_tree(void)
{
	snprintf(p_ro, sizeof(p_ro), "%s", t_path("ro"));
	snprintf(p_rw, sizeof(p_rw), "%s", t_path("rw"));
	snprintf(p_deny, sizeof(p_deny), "%s", t_path("ro/deny"));
	snprintf(p_no, sizeof(p_no), "%s", t_path("no"));
	snprintf(p_ok, sizeof(p_ok), "%s", t_path("ok"));
	T_ASSERT(mkdir(p_ro, 0755) == 0 && mkdir(p_rw, 0755) == 0 && mkdir(p_deny, 0755) == 0 &&
		 mkdir(p_no, 0755) == 0 && mkdir(p_ok, 0755) == 0);
	t_write_file(t_path("ro/file"), "hello-ro");
	t_write_file(t_path("ro/deny/file"), "deny-secret");
	t_write_file(t_path("no/file"), "EVIL-SECRET");
	t_write_file(t_path("ok/f"), "GOOD");
	t_write_file(t_path("no/f"), "EVIL");
	T_ASSERT(symlink("deny/file", t_path("ro/to-deny")) == 0);
	read_roots[0] = p_ro;
	read_roots[1] = p_ok;
	read_roots[2] = "/usr";
	read_roots[3] = "/lib";
	read_roots[4] = "/bin";
	read_roots[5] = "/etc";
	read_roots[6] = "/proc";
	read_roots[7] = NULL;
	write_roots[0] = p_rw;
	deny_roots[0] = p_deny;
}

static int send_fd(int sock, int fd)
{
	char c = 'L', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* A check inside the confined child: report and exit 1. */
#define C_CHECK(cond)                                                                     \
	do {                                                                              \
		if (!(cond)) {                                                            \
			dprintf(2, "# child: %s:%d: %s failed (errno %d %s)\n", __FILE__, \
				__LINE__, #cond, errno, strerror(errno));                 \
			_exit(1);                                                         \
		}                                                                         \
	} while (0)

typedef int (*child_fn)(int ctl);

/*
 * Fork the confined child: NO_NEW_PRIVS, filter, listener sent on the
 * socketpair, own copy closed, then FN(ctl) (ctl: the child's end of the
 * socketpair, for tests that coordinate).  Returns the child's pid and the
 * listener (in *LISTENER) and the parent's end (in *CTL).
 */
static pid_t start_child(child_fn fn, int *listener, int *ctl)
{
	int sp[2];
	pid_t pid;

	T_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		int lfd;

		close(sp[0]);
		C_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
		lfd = unotify_install_filter();
		if (lfd < 0) {
			dprintf(2, "# child: unotify_install_filter: %s\n", strerror(-lfd));
			_exit(77);
		}
		C_CHECK(send_fd(sp[1], lfd) == 0);
		close(lfd);
		_exit(fn(sp[1]));
	}
	close(sp[1]);
	*listener = recv_fd(sp[0]);
	if (*listener < 0) {
		int st;

		waitpid(pid, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
			t_skip("seccomp user notification unavailable (CONFIG_SECCOMP_FILTER, "
			       "5.9+)");
		t_fail("no listener from the child");
	}
	*ctl = sp[0];
	return pid;
}

struct serve_arg {
	int listener;
	const struct unotify_policy *p;
	struct unotify_stats st;
	int ret;
};

static void *serve_thread(void *v)
{
	struct serve_arg *a = v;

	a->ret = unotify_serve(a->listener, a->p, &a->st);
	return NULL;
}

/* Run FN confined and served by a thread with P; returns its exit code. */
static int run_confined_p(child_fn fn, const struct unotify_policy *p, struct unotify_stats *st)
{
	struct serve_arg a = { .p = p };
	pthread_t thr;
	int ctl, status;
	pid_t pid = start_child(fn, &a.listener, &ctl);

	T_ASSERT(pthread_create(&thr, NULL, serve_thread, &a) == 0);
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	pthread_join(thr, NULL);
	close(a.listener);
	close(ctl);
	if (a.ret)
		t_fail("unotify_serve: %s", strerror(-a.ret));
	if (st)
		*st = a.st;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int run_confined(child_fn fn)
{
	return run_confined_p(fn, &policy, NULL);
}

static ssize_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static bool open_fails(const char *path, int flags, int err)
{
	int fd = open(path, flags, 0644);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == err;
}

/* ---------------------------------------------------------------------- */
/* Filter                                                                  */
/* ---------------------------------------------------------------------- */

TEST(filter_checks_arch_first_and_traps_the_set)
{
	struct sock_filter prog[UNOTIFY_FILTER_MAX];
	size_t n = unotify_filter_build(prog);

	T_ASSERT(n > 6 && n <= UNOTIFY_FILTER_MAX);
	T_EXPECT_EQ(prog[0].code, BPF_LD | BPF_W | BPF_ABS);
	T_EXPECT_EQ(prog[0].k, 4); /* offsetof(struct seccomp_data, arch) */
	T_EXPECT_EQ(prog[n - 1].k, SECCOMP_RET_KILL_PROCESS);
	T_ASSERT(unotify_traps(__NR_openat) && unotify_traps(__NR_execve) &&
		 unotify_traps(__NR_connect) && unotify_traps(__NR_newfstatat));
	T_ASSERT(!unotify_traps(__NR_read) && !unotify_traps(__NR_openat2));
}

TEST(install_needs_no_new_privs)
{
	pid_t pid = fork();
	int st;

	T_ASSERT(pid >= 0);
	if (pid == 0)
		_exit(unotify_install_filter() == -EPERM ? 0 : 1);
	T_ASSERT(waitpid(pid, &st, 0) == pid);
	T_EXPECT_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), 0);
}

static int child_x32(int ctl)
{
	(void)ctl;
	syscall(0x40000000 | __NR_getpid);
	return 1;
}

static int child_enosys(int ctl)
{
	struct {
		unsigned long long flags, mode, resolve;
	} how = { O_RDONLY, 0, 0 };
	char params[120] = { 0 };

	(void)ctl;
	C_CHECK(syscall(__NR_openat2, AT_FDCWD, "/etc/passwd", &how, sizeof(how)) < 0 &&
		errno == ENOSYS);
	C_CHECK(syscall(__NR_io_uring_setup, 4, params) < 0 && errno == EPERM);
	return 0;
}

TEST(x32_syscall_kills)
{
	setup_tree();
	T_EXPECT_EQ(run_confined(child_x32), 128 + SIGSYS);
}

TEST(openat2_gets_enosys_and_io_uring_eperm)
{
	setup_tree();
	T_EXPECT_EQ(run_confined(child_enosys), 0);
}

/* ---------------------------------------------------------------------- */
/* Opens                                                                   */
/* ---------------------------------------------------------------------- */

static int child_read(int ctl)
{
	char buf[64], path[4200];

	(void)ctl;
	snprintf(path, sizeof(path), "%s/file", p_ro);
	C_CHECK(slurp(path, buf, sizeof(buf)) == 8 && !strcmp(buf, "hello-ro"));
	/* creat() and open() (the legacy syscalls) too. */
	C_CHECK(syscall(__NR_open, path, O_RDONLY) >= 0);
	return 0;
}

TEST(read_allowed_file)
{
	struct unotify_stats st;

	setup_tree();
	T_EXPECT_EQ(run_confined_p(child_read, &policy, &st), 0);
	T_ASSERT(st.allowed >= 2);
}

static int child_denied(int ctl)
{
	char path[4200];

	(void)ctl;
	snprintf(path, sizeof(path), "%s/file", p_no);
	C_CHECK(open_fails(path, O_RDONLY, EACCES));
	C_CHECK(syscall(__NR_open, path, O_RDONLY) < 0 && errno == EACCES);
	snprintf(path, sizeof(path), "%s/deny/file", p_ro);
	C_CHECK(open_fails(path, O_RDONLY, EACCES));
	/* A symlink inside the read root that leads into the deny root. */
	snprintf(path, sizeof(path), "%s/to-deny", p_ro);
	C_CHECK(open_fails(path, O_RDONLY, EACCES));
	/* ".." leaving a root is judged on the normalized path. */
	snprintf(path, sizeof(path), "%s/../no/file", p_ro);
	C_CHECK(open_fails(path, O_RDONLY, EACCES));
	/* Write access to a read root. */
	snprintf(path, sizeof(path), "%s/file", p_ro);
	C_CHECK(open_fails(path, O_WRONLY, EACCES));
	C_CHECK(open_fails(path, O_RDONLY | O_TRUNC, EACCES));
	/* The caller's own /proc/self/cwd means its cwd (here: outside every
	 * root) and is judged as that path. */
	C_CHECK(chdir(t_dir()) == 0);
	C_CHECK(open_fails("/proc/self/cwd/no/file", O_RDONLY, EACCES));
	return 0;
}

TEST(denied_files_fail_with_eacces)
{
	char buf[64];

	setup_tree();
	T_EXPECT_EQ(run_confined(child_denied), 0);
	T_ASSERT(slurp(t_path("ro/file"), buf, sizeof(buf)) == 8); /* O_TRUNC did not truncate */
}

static int child_relative(int ctl)
{
	char buf[4096], want[64];
	int dfd, fd;

	(void)ctl;
	C_CHECK(chdir(p_ro) == 0);
	C_CHECK(slurp("file", buf, sizeof(buf)) == 8 && !strcmp(buf, "hello-ro"));
	C_CHECK(slurp("./deny/../file", buf, sizeof(buf)) == 8);
	C_CHECK(open_fails("../no/file", O_RDONLY, EACCES));
	C_CHECK(open_fails("deny/file", O_RDONLY, EACCES));
	dfd = open(p_ok, O_RDONLY | O_DIRECTORY);
	C_CHECK(dfd >= 0);
	fd = openat(dfd, "f", O_RDONLY);
	C_CHECK(fd >= 0 && read(fd, buf, 4) == 4 && !memcmp(buf, "GOOD", 4));
	C_CHECK(openat(dfd, "../no/f", O_RDONLY) < 0 && errno == EACCES);
	C_CHECK(openat(fd, "x", O_RDONLY) < 0 && errno == ENOTDIR);
	C_CHECK(openat(999, "x", O_RDONLY) < 0 && errno == EBADF);
	/* /proc/self and /proc/thread-self are the child, not the supervisor. */
	C_CHECK(slurp("/proc/self/status", buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "\nPid:\t%d\n", getpid());
	C_CHECK(strstr(buf, want));
	C_CHECK(prctl(PR_SET_NAME, "unotify-kid", 0, 0, 0) == 0);
	C_CHECK(slurp("/proc/thread-self/comm", buf, sizeof(buf)) > 0);
	C_CHECK(!strcmp(buf, "unotify-kid\n"));
	C_CHECK(chdir("/proc/self") == 0 && slurp("status", buf, sizeof(buf)) > 0);
	C_CHECK(strstr(buf, want));
	/* The supervisor's own /proc entries are never handed out. */
	snprintf(want, sizeof(want), "/proc/%d/environ", getppid());
	C_CHECK(open_fails(want, O_RDONLY, EACCES));
	return 0;
}

TEST(relative_paths_and_proc_self_resolve_as_the_child)
{
	setup_tree();
	T_EXPECT_EQ(run_confined(child_relative), 0);
}

static int child_create(int ctl)
{
	char path[4200];
	int fd;

	(void)ctl;
	umask(027);
	snprintf(path, sizeof(path), "%s/new", p_rw);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	C_CHECK(fd >= 0);
	C_CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	C_CHECK(write(fd, "made", 4) == 4);
	umask(0);
	snprintf(path, sizeof(path), "%s/new2", p_rw);
	fd = (int)syscall(__NR_creat, path, 0600);
	C_CHECK(fd >= 0);
	C_CHECK(fcntl(fd, F_GETFD) == 0);
	snprintf(path, sizeof(path), "%s/new", p_no);
	C_CHECK(open_fails(path, O_CREAT | O_WRONLY, EACCES));
	snprintf(path, sizeof(path), "%s/new", p_ro);
	C_CHECK(open_fails(path, O_CREAT | O_WRONLY, EACCES));
	snprintf(path, sizeof(path), "%s/../no/new", p_rw);
	C_CHECK(open_fails(path, O_CREAT | O_WRONLY, EACCES));
	return 0;
}

TEST(create_in_write_root_only)
{
	struct stat st;

	setup_tree();
	T_EXPECT_EQ(run_confined(child_create), 0);
	T_ASSERT(stat(t_path("rw/new"), &st) == 0);
	T_EXPECT_EQ(st.st_mode & 07777, 0640);
	T_EXPECT_EQ(st.st_uid, getuid());
	T_EXPECT_EQ(st.st_gid, getgid());
	T_EXPECT_EQ(st.st_size, 4);
	T_ASSERT(stat(t_path("rw/new2"), &st) == 0);
	T_EXPECT_EQ(st.st_mode & 07777, 0600);
	T_ASSERT(access(t_path("no/new"), F_OK) != 0);
	T_ASSERT(access(t_path("ro/new"), F_OK) != 0);
}

/* ---------------------------------------------------------------------- */
/* stat, readlink                                                          */
/* ---------------------------------------------------------------------- */

static int child_stat(int ctl)
{
	char path[4200], buf[64];
	struct statx stx;
	struct stat st;
	int fd;

	(void)ctl;
	snprintf(path, sizeof(path), "%s/file", p_ro);
	memset(&st, 0, sizeof(st));
	C_CHECK(stat(path, &st) == 0 && st.st_size == 8 && S_ISREG(st.st_mode));
	C_CHECK(syscall(__NR_stat, path, &st) == 0 && st.st_size == 8);
	C_CHECK(statx(AT_FDCWD, path, 0, STATX_SIZE, &stx) == 0 && stx.stx_size == 8);
	snprintf(path, sizeof(path), "%s/to-deny", p_ro);
	C_CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	C_CHECK(stat(path, &st) < 0 && errno == EACCES);
	C_CHECK(readlink(path, buf, sizeof(buf)) == 9 && !memcmp(buf, "deny/file", 9));
	C_CHECK(readlink(path, buf, 4) == 4 && !memcmp(buf, "deny", 4));
	snprintf(path, sizeof(path), "%s/file", p_no);
	C_CHECK(stat(path, &st) < 0 && errno == EACCES);
	C_CHECK(statx(AT_FDCWD, path, 0, STATX_SIZE, &stx) < 0 && errno == EACCES);
	snprintf(path, sizeof(path), "%s/deny", p_ro);
	C_CHECK(stat(path, &st) < 0 && errno == EACCES);
	/* fstat (newfstatat with AT_EMPTY_PATH) on the child's own fd. */
	snprintf(path, sizeof(path), "%s/file", p_ro);
	fd = open(path, O_RDONLY);
	C_CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 8);
	C_CHECK(stat(path, (struct stat *)8) < 0 && errno == EFAULT);
	return 0;
}

TEST(stat_and_readlink_on_behalf)
{
	setup_tree();
	T_EXPECT_EQ(run_confined(child_stat), 0);
}

/* ---------------------------------------------------------------------- */
/* execve                                                                  */
/* ---------------------------------------------------------------------- */

static char p_true_copy[4200];

static int child_exec_allowed(int ctl)
{
	char *argv[] = { "true", NULL };

	(void)ctl;
	execv("/bin/true", argv);
	return 100 + errno;
}

static int child_exec_denied(int ctl)
{
	char *argv[] = { "true", NULL };

	(void)ctl;
	C_CHECK(execv(p_true_copy, argv) < 0 && errno == EACCES);
	return 0;
}

static void *sleeper(void *v)
{
	(void)v;
	pause();
	return NULL;
}

static int child_exec_threaded(int ctl)
{
	char *argv[] = { "true", NULL };
	pthread_t t;

	(void)ctl;
	C_CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0);
	C_CHECK(execv("/bin/true", argv) < 0 && errno == EACCES);
	return 0;
}

static void copy_file(const char *from, const char *to)
{
	static char buf[1 << 16];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;

	T_ASSERT(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		T_ASSERT(write(out, buf, (size_t)n) == n);
	close(in);
	close(out);
}

TEST(exec_allowed_binary_single_threaded)
{
	setup_tree();
	snprintf(p_true_copy, sizeof(p_true_copy), "%s/true", p_no);
	copy_file("/bin/true", p_true_copy);
	T_EXPECT_EQ(run_confined(child_exec_allowed), 0);
	T_EXPECT_EQ(run_confined(child_exec_denied), 0);
	/* Documented limit of the foundation: multithreaded execve is refused. */
	T_EXPECT_EQ(run_confined(child_exec_threaded), 0);
}

/* ---------------------------------------------------------------------- */
/* Races                                                                   */
/* ---------------------------------------------------------------------- */

#define RACE_OPENS 20000

static char race_buf[4200];
static char race_a[4200], race_b[4200];
static volatile int race_stop;

static void *flipper(void *v)
{
	size_t len = strlen(race_a);

	(void)v;
	while (!race_stop) {
		memcpy(race_buf, race_a, len);
		memcpy(race_buf, race_b, len);
	}
	return NULL;
}

static int child_race(int ctl)
{
	int ok = 0, denied = 0, other = 0;
	pthread_t t;
	char buf[16];

	(void)ctl;
	memcpy(race_buf, race_a, strlen(race_a) + 1);
	C_CHECK(pthread_create(&t, NULL, flipper, NULL) == 0);
	for (int i = 0; i < RACE_OPENS; i++) {
		int fd = open(race_buf, O_RDONLY);
		ssize_t n;

		if (fd < 0) {
			if (errno == EACCES)
				denied++;
			else
				other++;
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n >= 4 && !memcmp(buf, "EVIL", 4)) {
			dprintf(2, "# child: open %d read the denied file\n", i);
			_exit(2);
		}
		ok++;
	}
	race_stop = 1;
	pthread_join(t, NULL);
	dprintf(2, "# race: %d opens of the allowed file, %d denied, %d other errors\n", ok, denied,
		other);
	C_CHECK(ok + denied + other == RACE_OPENS);
	return 0;
}

TEST(race_path_flip_never_opens_the_denied_file)
{
	setup_tree();
	/* Same length, so the flipper writes whole strings over each other. */
	snprintf(race_a, sizeof(race_a), "%s/f", p_ok);
	snprintf(race_b, sizeof(race_b), "%s/f", p_no);
	T_EXPECT_EQ(strlen(race_a), strlen(race_b));
	T_EXPECT_EQ(run_confined(child_race), 0);
}

/* ---------------------------------------------------------------------- */
/* Fail closed                                                             */
/* ---------------------------------------------------------------------- */

static int child_supervisor_dies(int ctl)
{
	char path[4200], c;
	struct stat st;

	snprintf(path, sizeof(path), "%s/file", p_ro);
	C_CHECK(open(path, O_RDONLY) >= 0);
	/* Step 1: the parent stops the supervisor; our open waits, then the
	 * supervisor is killed under it. */
	C_CHECK(write(ctl, "1", 1) == 1 && read(ctl, &c, 1) == 1);
	C_CHECK(open(path, O_RDONLY) < 0 && errno == ENOSYS);
	/* Step 2: no supervisor at all. */
	C_CHECK(open(path, O_RDONLY) < 0 && errno == ENOSYS);
	C_CHECK(stat(path, &st) < 0 && errno == ENOSYS);
	return 0;
}

TEST(supervisor_death_fails_trapped_syscalls_with_enosys)
{
	int listener, ctl, status;
	pid_t child, sup;
	char c;

	setup_tree();
	child = start_child(child_supervisor_dies, &listener, &ctl);
	sup = fork();
	T_ASSERT(sup >= 0);
	if (sup == 0)
		_exit(unotify_serve(listener, &policy, NULL) ? 1 : 0);
	close(listener);
	T_ASSERT(read(ctl, &c, 1) == 1);
	kill(sup, SIGSTOP);
	T_ASSERT(write(ctl, "2", 1) == 1);
	usleep(200 * 1000); /* the child is now waiting on a stopped supervisor */
	kill(sup, SIGKILL);
	T_ASSERT(waitpid(sup, &status, 0) == sup);
	T_ASSERT(waitpid(child, &status, 0) == child);
	close(ctl);
	T_EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), 0);
}

static int child_emfile(int ctl)
{
	struct rlimit rl = { 16, 16 };
	char path[4200];

	(void)ctl;
	snprintf(path, sizeof(path), "%s/file", p_ro);
	C_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	while (dup(0) >= 0)
		;
	C_CHECK(errno == EMFILE);
	C_CHECK(open(path, O_RDONLY) < 0 && errno == EMFILE);
	return 0;
}

TEST(child_at_fd_limit_gets_emfile)
{
	struct unotify_stats st;

	setup_tree();
	T_EXPECT_EQ(run_confined_p(child_emfile, &policy, &st), 0);
	T_EXPECT_EQ(st.allowed, 0);
}

/* ---------------------------------------------------------------------- */
/* connect                                                                 */
/* ---------------------------------------------------------------------- */

/* A listener made before the filter (bind is trapped too). */
static int g_listen = -1;
static struct sockaddr_in g_addr;

static void listen_loopback(void)
{
	socklen_t len = sizeof(g_addr);

	g_addr = (struct sockaddr_in){ .sin_family = AF_INET,
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_listen = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_ASSERT(g_listen >= 0 && bind(g_listen, (struct sockaddr *)&g_addr, sizeof(g_addr)) == 0 &&
		 listen(g_listen, 4) == 0 &&
		 getsockname(g_listen, (struct sockaddr *)&g_addr, &len) == 0);
}

static int child_connect(int ctl)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int r;

	(void)ctl;
	C_CHECK(c >= 0);
	r = connect(c, (struct sockaddr *)&g_addr, sizeof(g_addr));
	if (r < 0 && errno == EACCES)
		return 10;
	C_CHECK(r == 0);
	C_CHECK(accept(g_listen, NULL, NULL) >= 0);
	return 0;
}

TEST(connect_denied_or_done_on_behalf)
{
	struct unotify_policy net = policy;

	setup_tree();
	listen_loopback();
	T_EXPECT_EQ(run_confined(child_connect), 10);
	net.allow_net = true;
	T_EXPECT_EQ(run_confined_p(child_connect, &net, NULL), 0);
}

/* Exact rules: the address and the port must both match. */
TEST(connect_rules_match_address_and_port)
{
	struct unotify_policy net = policy;
	struct unotify_net_rule rule = { .family = AF_INET, .addr = { 127, 0, 0, 1 } };

	setup_tree();
	listen_loopback();
	net.connect = &rule;
	net.nconnect = 1;
	rule.port = ntohs(g_addr.sin_port);
	T_EXPECT_EQ(run_confined_p(child_connect, &net, NULL), 0);
	rule.port = (uint16_t)(ntohs(g_addr.sin_port) + 1); /* another port */
	T_EXPECT_EQ(run_confined_p(child_connect, &net, NULL), 10);
	rule.port = ntohs(g_addr.sin_port);
	rule.addr[3] = 2; /* 127.0.0.2: another address */
	T_EXPECT_EQ(run_confined_p(child_connect, &net, NULL), 10);
	rule.family = AF_UNSPEC; /* any address, that port */
	T_EXPECT_EQ(run_confined_p(child_connect, &net, NULL), 0);
}

static int child_bind(int ctl)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(47613) };
	int l = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t len = sizeof(sa);

	(void)ctl;
	C_CHECK(l >= 0);
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EACCES ? 10 : 1;
	/* bound on behalf: the socket really has the address */
	C_CHECK(getsockname(l, (struct sockaddr *)&sa, &len) == 0 && ntohs(sa.sin_port) == 47613);
	return 0;
}

TEST(bind_only_to_listed_ports)
{
	struct unotify_policy net = policy;
	const uint16_t ports[] = { 47613 };

	setup_tree();
	T_EXPECT_EQ(run_confined(child_bind), 10);
	net.bind_ports = ports;
	net.nbind = 1;
	T_EXPECT_EQ(run_confined_p(child_bind, &net, NULL), 0);
}

TEST(policy_check_longest_root_and_deny)
{
	const char *r[] = { "/a", NULL }, *w[] = { "/a/w", NULL }, *d[] = { "/a/w/d", NULL };
	struct unotify_policy p = { .read = r, .write = w, .deny = d };
	size_t root = 99;

	T_EXPECT_EQ(unotify_policy_check(&p, "/a/x", UNOTIFY_READ, &root), 0);
	T_EXPECT_EQ(root, 0);
	T_EXPECT_EQ(unotify_policy_check(&p, "/a/x", UNOTIFY_WRITE, &root), -EACCES);
	T_EXPECT_EQ(unotify_policy_check(&p, "/a/w/x", UNOTIFY_READ, &root), 0);
	T_EXPECT_EQ(root, 1);
	T_EXPECT_EQ(unotify_policy_check(&p, "/a/w/x", UNOTIFY_WRITE, &root), 0);
	T_EXPECT_EQ(unotify_policy_check(&p, "/a/w/d", UNOTIFY_READ, &root), -EACCES);
	T_EXPECT_EQ(unotify_policy_check(&p, "/a/w/d/e", UNOTIFY_READ, &root), -EACCES);
	T_EXPECT_EQ(unotify_policy_check(&p, "/ab", UNOTIFY_READ, &root), -EACCES);
	T_EXPECT_EQ(unotify_policy_check(&p, "a", UNOTIFY_READ, &root), -EACCES);
}

/* ---------------------------------------------------------------------- */
/* Confused deputy: a root supervisor opens as the (unprivileged) child    */
/* ---------------------------------------------------------------------- */

static int child_as_nobody(int ctl)
{
	char path[4200];

	(void)ctl;
	C_CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
		setresuid(65534, 65534, 65534) == 0);
	snprintf(path, sizeof(path), "%s/file", p_ro);
	C_CHECK(open(path, O_RDONLY) >= 0);
	snprintf(path, sizeof(path), "%s/root-only", p_ro);
	C_CHECK(open_fails(path, O_RDONLY, EACCES));
	/* rw/ is root's 0755 directory: the kernel refuses nobody, and so
	 * must the supervisor, though it runs as root. */
	snprintf(path, sizeof(path), "%s/by-nobody", p_rw);
	C_CHECK(open_fails(path, O_CREAT | O_WRONLY, EACCES));
	return 0;
}

static char peer_name[64];

static int child_connects_as_nobody(int ctl)
{
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(peer_name));
	int fd;

	(void)ctl;
	memcpy(su.sun_path + 1, peer_name, strlen(peer_name));
	C_CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
		setresuid(65534, 65534, 65534) == 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	C_CHECK(fd >= 0);
	/* the supervisor would connect as root: a peer would see uid 0 */
	C_CHECK(connect(fd, (struct sockaddr *)&su, len) < 0 && errno == EACCES);
	return 0;
}

/*
 * A unix peer sees the credentials of whoever connects (SO_PEERCRED): a
 * root supervisor connecting for a nobody child would lend it uid 0.  It
 * refuses instead.
 */
TEST(root_supervisor_never_lends_its_uid_to_a_unix_peer)
{
	struct unotify_policy p;
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), c;

	if (!t_is_root())
		t_skip("needs root (a root supervisor serving an unprivileged child)");
	setup_tree();
	snprintf(peer_name, sizeof(peer_name), "mos-test-peer-%d", (int)getpid());
	memcpy(su.sun_path + 1, peer_name, strlen(peer_name));
	T_ASSERT(lfd >= 0 &&
		 bind(lfd, (struct sockaddr *)&su,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				  strlen(peer_name))) == 0 &&
		 listen(lfd, 4) == 0);
	p = policy;
	p.allow_unix = true;
	T_EXPECT_EQ(run_confined_p(child_connects_as_nobody, &p, NULL), 0);
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0) {
		struct ucred uc;
		socklen_t l = sizeof(uc);

		getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &l);
		t_fail("the listener got a connection from uid %d", (int)uc.uid);
	}
	close(lfd);
}

TEST(root_supervisor_opens_with_the_childs_credentials)
{
	if (!t_is_root())
		t_skip("needs root (a root supervisor serving an unprivileged child)");
	setup_tree();
	t_write_file(t_path("ro/root-only"), "root-secret");
	T_ASSERT(chmod(t_path("ro/root-only"), 0600) == 0);
	T_EXPECT_EQ(run_confined(child_as_nobody), 0);
	T_ASSERT(access(t_path("rw/by-nobody"), F_OK) != 0);
}
