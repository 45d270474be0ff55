// SPDX-License-Identifier: GPL-2.0-only
/*
 * escape - one escape attempt inside a sandbox, one line on stdout.
 *
 *   escape ACTION [ARGS...]
 *
 * Same convention as probe: "ok" or "ok DATA" when the attempt succeeded,
 * "err ENAME" when it failed (exit 0 either way); exit 2 on bad usage.
 * Numbers may be decimal or 0x-hex.
 *
 * Actions:
 *   ia32-creat PATH         creat(PATH, 0644) through int $0x80 (ia32 ABI)
 *   ia32-getpid             getpid through int $0x80: "ok PID"
 *   x32-creat PATH          creat(PATH, 0644) with the x32 bit (0x40000000)
 *   pid                     "ok PID PPID /proc/self" as this process sees them
 *   kill PID SIG            kill(2)
 *   kill-all SIG            kill(-1, SIG)
 *   pidfd-kill FD SIG       pidfd_send_signal(FD, SIG)
 *   pidfd-getfd FD TFD      pidfd_getfd(FD, TFD), then read it: "ok DATA"
 *   ptrace PID              PTRACE_ATTACH (detaches again when it worked)
 *   vm-read PID ADDR LEN    process_vm_readv: "ok DATA"
 *   proc-mem PID NAME       read /proc/PID/environ whole, and every readable
 *                           mapping of /proc/PID/maps through /proc/PID/mem:
 *                           "ok environ=E mem=M marker=K", E and M the bytes
 *                           read or the error's name, K 1 when "NAME=" (a
 *                           variable of PID's environment, not of our argv)
 *                           was among them
 *   unshare FLAGS           unshare(FLAGS)
 *   clone FLAGS             raw clone(FLAGS | SIGCHLD); the child exits at once
 *   clone3 FLAGS            raw clone3 with FLAGS
 *   userns-mount SRC DST    unshare(CLONE_NEWUSER), then a bind mount of SRC
 *                           on DST: "ok" when the mount worked, otherwise
 *                           "err EMOUNT unshare=ok|ENAME"
 *   mount SRC DST           bind mount
 *   chroot DIR              chroot(DIR) and chdir("/")
 *   fsopen FSTYPE           fsopen(FSTYPE) (the new mount API)
 *   open-tree PATH          open_tree(PATH, OPEN_TREE_CLONE)
 *   pivot-root NEW OLD      pivot_root(NEW, OLD)
 *   setns PATH              open PATH (a /proc/.../ns/ file) and setns() it
 *   keyctl-read SERIAL      KEYCTL_READ of a key: "ok PAYLOAD"
 *   request-key DESC        request_key("user", DESC): "ok SERIAL"
 *   add-key DESC DATA       add_key("user", ...) to the session keyring
 *   tiocsti FD              make FD's terminal our controlling tty if we can
 *                           (setsid + TIOCSCTTY in a child) and push "X"
 *                           into its input with TIOCSTI (also with high bits
 *                           in the command): "ok" if any push worked
 *   bpf                     BPF_MAP_CREATE (an array map)
 *   perf                    perf_event_open (software clock, this process)
 *   userfaultfd             userfaultfd(2)
 *   open-by-handle MNT TYPE HEX   open_by_handle_at on MNT's filesystem,
 *                           read the file: "ok DATA"
 *   personality PERSONA     personality(PERSONA), then the persona as
 *                           /proc/self/personality shows it: "... now=HEX"
 *   uring                   io_uring_setup
 *   uring-openat PATH       openat through io_uring, read: "ok DATA"
 *   exec-race GOOD BAD N    N times: fork a child whose second thread flips
 *                           a path buffer between GOOD and BAD (same length)
 *                           while the child execve()s it.  GOOD and BAD are
 *                           programs exiting 0 and 1; a failed exec exits 2:
 *                           "ok good=G bad=B refused=R"
 *   exec-creds PATH [ARGS]  exec PATH in a child killed by its first system
 *                           call (a seccomp filter), then read the zombie's
 *                           /proc status: "ok uid=R,E,S,F capeff=X name=N"
 *   as-uid UID PATH [ARGS]  (outside a sandbox, as root) drop every group and
 *                           become UID (and gid UID), then exec PATH; prints
 *                           only on failure ("err ENAME"), like setpriv
 *                           --reuid --regid --clear-groups, which busybox's
 *                           setpriv cannot do
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <liburing.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define KEY_SPEC_SESSION_KEYRING -3
#define KEYCTL_READ 11
#define X32_SYSCALL_BIT 0x40000000UL

static int result(long r)
{
	if (r < 0)
		printf("err %s\n", strerrorname_np(errno));
	else
		printf("ok\n");
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "escape: bad usage (see selftests/helpers/escape.c)\n");
	return 2;
}

static unsigned long num(const char *s)
{
	return strtoul(s, NULL, 0);
}

/* Print "ok DATA" with what FD holds. */
static int print_fd(int fd)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	if (n < 0)
		return result(-1);
	buf[n] = '\0';
	printf("ok %s\n", buf);
	return 0;
}

/* A copy of S below 2 GiB, where 32-bit syscall arguments can point. */
static char *low_copy(const char *s)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	snprintf(p, 4096, "%s", s);
	return p;
}

static long ia32_syscall(long nr, long a, long b)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static int do_ia32_creat(const char *path)
{
	char *p = low_copy(path);
	long r;

	if (!p)
		return result(-1);
	r = ia32_syscall(8 /* ia32 creat */, (long)(uintptr_t)p, 0644);
	if (r < 0) {
		errno = (int)-r;
		return result(-1);
	}
	return result(0);
}

static int do_x32_creat(const char *path)
{
	char *p = low_copy(path);

	if (!p)
		return result(-1);
	return result(syscall((long)(X32_SYSCALL_BIT | SYS_creat), p, 0644));
}

static int do_pid(void)
{
	char self[64] = "";
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);

	if (n < 0)
		snprintf(self, sizeof(self), "%s", strerrorname_np(errno));
	else
		self[n] = '\0';
	printf("ok %d %d %s\n", (int)getpid(), (int)getppid(), self);
	return 0;
}

static int do_pidfd_getfd(int pidfd, int tfd)
{
	long fd = syscall(SYS_pidfd_getfd, pidfd, tfd, 0);

	if (fd < 0)
		return result(-1);
	lseek((int)fd, 0, SEEK_SET);
	return print_fd((int)fd);
}

static int do_ptrace(pid_t pid)
{
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0)
		return result(-1);
	waitpid(pid, NULL, __WALL);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return result(0);
}

static int do_vm_read(pid_t pid, unsigned long addr, size_t len)
{
	char buf[4096] = "";
	struct iovec local = { buf, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1 };
	struct iovec remote = { (void *)addr, local.iov_len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return result(-1);
	buf[n] = '\0';
	printf("ok %s\n", buf);
	return 0;
}

/* BUF (LEN bytes, any content) holds MARKER. */
static bool holds(const char *buf, size_t len, const char *marker)
{
	return memmem(buf, len, marker, strlen(marker)) != NULL;
}

static int do_proc_mem(const char *pid, const char *name)
{
	char marker[256];
	char path[64], env[1 << 16], line[512], *buf = malloc(1 << 20);
	const char *env_err = NULL, *mem_err = NULL;
	long env_len = 0, mem_len = 0;
	bool found = false;
	FILE *maps;
	int fd;

	if (!buf)
		return result(-1);
	snprintf(marker, sizeof(marker), "%s=", name);
	snprintf(path, sizeof(path), "/proc/%s/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		env_err = strerrorname_np(errno);
	} else {
		ssize_t n;

		while ((n = read(fd, env, sizeof(env))) > 0) {
			found = found || holds(env, (size_t)n, marker);
			env_len += n;
		}
		if (n < 0)
			env_err = strerrorname_np(errno);
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	maps = fd < 0 ? NULL : fopen(path, "re");
	if (fd < 0 || !maps)
		mem_err = strerrorname_np(errno);
	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long from, to;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &from, &to, perms) != 3 || perms[0] != 'r')
			continue;
		for (unsigned long a = from; a < to; a += 1 << 20) {
			size_t len = to - a < (1UL << 20) ? to - a : 1UL << 20;
			ssize_t n = pread(fd, buf, len, (off_t)a);

			if (n <= 0)
				break;
			found = found || holds(buf, (size_t)n, marker);
			mem_len += n;
		}
	}
	if (maps)
		fclose(maps);
	if (fd >= 0)
		close(fd);
	free(buf);
	printf("ok environ=");
	env_err ? printf("%s", env_err) : printf("%ld", env_len);
	printf(" mem=");
	mem_err ? printf("%s", mem_err) : printf("%ld", mem_len);
	printf(" marker=%d\n", found);
	return 0;
}

static int do_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return result(pid);
}

static int do_clone3(unsigned long flags)
{
	struct clone_args args = { .flags = flags, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &args, sizeof(args));

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return result(pid);
}

static int do_userns_mount(const char *src, const char *dst)
{
	int ru = unshare(CLONE_NEWUSER), eu = errno;

	if (mount(src, dst, NULL, MS_BIND, NULL) == 0)
		return result(0);
	printf("err %s unshare=%s\n", strerrorname_np(errno), ru < 0 ? strerrorname_np(eu) : "ok");
	return 0;
}

static int do_chroot(const char *dir)
{
	if (chroot(dir) < 0)
		return result(-1);
	return result(chdir("/"));
}

static int do_setns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return result(-1);
	return result(setns(fd, 0));
}

static int do_keyctl_read(long serial)
{
	char buf[4096];
	long n = syscall(SYS_keyctl, KEYCTL_READ, serial, buf, sizeof(buf) - 1);

	if (n < 0)
		return result(-1);
	buf[n < (long)sizeof(buf) - 1 ? n : (long)sizeof(buf) - 1] = '\0';
	printf("ok %s\n", buf);
	return 0;
}

static int do_request_key(const char *desc)
{
	long k = syscall(SYS_request_key, "user", desc, NULL, 0);

	if (k < 0)
		return result(-1);
	printf("ok %ld\n", k);
	return 0;
}

static int do_add_key(const char *desc, const char *data)
{
	return result(
		syscall(SYS_add_key, "user", desc, data, strlen(data), KEY_SPEC_SESSION_KEYRING));
}

/*
 * The strongest TIOCSTI attempt: in a child, become a session leader, take
 * FD's terminal as controlling tty (the kernel allows TIOCSTI on one's own
 * controlling tty) and push a byte.
 */
static int do_tiocsti(int fd)
{
	int p[2], st;
	char buf[64] = "";
	pid_t pid;

	if (pipe(p) < 0)
		return result(-1);
	pid = fork();
	if (pid < 0)
		return result(-1);
	if (pid == 0) {
		char c = 'X';
		int r, err;

		close(p[0]);
		setsid();
		ioctl(fd, TIOCSCTTY, 0);
		r = ioctl(fd, TIOCSTI, &c);
		err = errno;
		if (r < 0) {
			/* the command is an unsigned int: high bits are dropped */
			r = (int)syscall(SYS_ioctl, fd, (1UL << 32) | TIOCSTI, &c);
			if (r < 0)
				r = (int)syscall(SYS_ioctl, fd, (unsigned long)TIOCSTI, &c);
		}
		if (r < 0)
			dprintf(p[1], "err %s\n", strerrorname_np(err));
		else
			dprintf(p[1], "ok\n");
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], buf, sizeof(buf) - 1) <= 0)
		snprintf(buf, sizeof(buf), "err ECHILD\n");
	waitpid(pid, &st, 0);
	printf("%s", buf);
	return 0;
}

static int do_bpf(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 8;
	attr.max_entries = 1;
	return result(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}

static int do_perf(void)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	return result(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
}

static int do_open_by_handle(const char *mnt, int type, const char *hex)
{
	size_t n = strlen(hex) / 2;
	struct file_handle *fh = calloc(1, sizeof(*fh) + n);
	int mfd, fd;

	if (!fh)
		return result(-1);
	fh->handle_bytes = (unsigned int)n;
	fh->handle_type = type;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return usage();
		fh->f_handle[i] = (unsigned char)b;
	}
	mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return result(-1);
	fd = open_by_handle_at(mfd, fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return result(-1);
	return print_fd(fd);
}

/*
 * personality(0xffffffff), the usual query, has every flag bit set and may
 * itself be refused: read the persona from /proc instead.
 */
static int do_personality(unsigned long persona)
{
	int r = personality(persona), err = errno;
	char now[32] = "?";
	int fd = open("/proc/self/personality", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, now, sizeof(now) - 1);

		now[n > 0 ? n : 0] = '\0';
		now[strcspn(now, "\n")] = '\0';
		close(fd);
	}
	if (r < 0)
		printf("err %s now=%s\n", strerrorname_np(err), now);
	else
		printf("ok now=%s\n", now);
	return 0;
}

static int do_uring(void)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	return result(syscall(__NR_io_uring_setup, 4, &p));
}

static int do_uring_openat(const char *path)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int r;

	r = io_uring_queue_init(4, &ring, 0);
	if (r < 0) {
		errno = -r;
		return result(-1);
	}
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
	io_uring_submit(&ring);
	r = io_uring_wait_cqe(&ring, &cqe);
	if (r < 0) {
		errno = -r;
		return result(-1);
	}
	r = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	if (r < 0) {
		errno = -r;
		return result(-1);
	}
	return print_fd(r);
}

/* The value of FIELD in a /proc/PID/status text, or "?" */
static void status_field(const char *status, const char *field, char *out, size_t len)
{
	const char *p = status;
	size_t n = strlen(field);

	snprintf(out, len, "?");
	while (p && *p) {
		if (!strncmp(p, field, n) && p[n] == ':') {
			const char *v = p + n + 1;
			size_t i = 0;

			v += strspn(v, " \t");
			while (v[i] && v[i] != '\n' && i + 1 < len) {
				out[i] = v[i] == '\t' ? ',' : v[i];
				i++;
			}
			out[i] = '\0';
			return;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

/*
 * Exec PATH in a child whose first system call after execve kills it, so
 * that the credentials the exec gave it can be read from its zombie.
 */
struct flip {
	char *buf;
	const char *a, *b;
	size_t len;
};

static void *flipper(void *arg)
{
	struct flip *f = arg;

	for (;;) {
		memcpy(f->buf, f->a, f->len);
		memcpy(f->buf, f->b, f->len);
	}
	return NULL;
}

static int do_exec_race(const char *good, const char *bad, const char *count)
{
	long n = strtol(count, NULL, 0), outcome[3] = { 0 };
	size_t len = strlen(good) + 1;

	if (strlen(bad) + 1 != len)
		return usage();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			return result(-1);
		if (pid == 0) {
			static char buf[4096];
			struct flip f = { buf, good, bad, len };
			char *argv[] = { buf, NULL };
			pthread_t t;

			memcpy(buf, good, len);
			if (pthread_create(&t, NULL, flipper, &f) != 0)
				_exit(3);
			execve(buf, argv, environ);
			_exit(2);
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) > 2) {
			printf("err child status %d\n", st);
			return 0;
		}
		outcome[WEXITSTATUS(st)]++;
	}
	printf("ok good=%ld bad=%ld refused=%ld\n", outcome[0], outcome[1], outcome[2]);
	return 0;
}

static int do_exec_creds(char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	char self[32] = "", path[64], status[8192], uid[128], cap[64], name[64];
	siginfo_t si;
	int p[2], fd;
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0)
		return result(-1);
	pid = fork();
	if (pid < 0)
		return result(-1);
	if (pid == 0) {
		n = readlink("/proc/self", self, sizeof(self) - 1);
		if (n < 0)
			_exit(1);
		self[n] = '\0';
		if (write(p[1], self, strlen(self)) < 0)
			_exit(1);
		close(p[1]);
		close(p[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(1);
		syscall(SYS_execve, argv[0], argv, NULL);
		_exit(1); /* the filter kills us here */
	}
	close(p[1]);
	n = read(p[0], self, sizeof(self) - 1);
	close(p[0]);
	self[n > 0 ? n : 0] = '\0';
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
		return result(-1);
	snprintf(path, sizeof(path), "/proc/%s/status", self);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return result(-1);
	n = read(fd, status, sizeof(status) - 1);
	close(fd);
	waitpid(pid, NULL, 0);
	if (n < 0)
		return result(-1);
	status[n] = '\0';
	status_field(status, "Uid", uid, sizeof(uid));
	status_field(status, "CapEff", cap, sizeof(cap));
	status_field(status, "Name", name, sizeof(name));
	printf("ok uid=%s capeff=%s name=%s\n", uid, cap, name);
	return 0;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(a, "ia32-creat") && argc == 3)
		return do_ia32_creat(argv[2]);
	if (!strcmp(a, "ia32-getpid") && argc == 2) {
		printf("ok %ld\n", ia32_syscall(20 /* ia32 getpid */, 0, 0));
		return 0;
	}
	if (!strcmp(a, "x32-creat") && argc == 3)
		return do_x32_creat(argv[2]);
	if (!strcmp(a, "pid") && argc == 2)
		return do_pid();
	if (!strcmp(a, "kill") && argc == 4)
		return result(kill((pid_t)num(argv[2]), (int)num(argv[3])));
	if (!strcmp(a, "kill-all") && argc == 3)
		return result(kill(-1, (int)num(argv[2])));
	if (!strcmp(a, "pidfd-kill") && argc == 4)
		return result(syscall(SYS_pidfd_send_signal, (int)num(argv[2]), (int)num(argv[3]),
				      NULL, 0));
	if (!strcmp(a, "pidfd-getfd") && argc == 4)
		return do_pidfd_getfd((int)num(argv[2]), (int)num(argv[3]));
	if (!strcmp(a, "ptrace") && argc == 3)
		return do_ptrace((pid_t)num(argv[2]));
	if (!strcmp(a, "vm-read") && argc == 5)
		return do_vm_read((pid_t)num(argv[2]), num(argv[3]), num(argv[4]));
	if (!strcmp(a, "proc-mem") && argc == 4)
		return do_proc_mem(argv[2], argv[3]);
	if (!strcmp(a, "unshare") && argc == 3)
		return result(unshare((int)num(argv[2])));
	if (!strcmp(a, "clone") && argc == 3)
		return do_clone(num(argv[2]));
	if (!strcmp(a, "clone3") && argc == 3)
		return do_clone3(num(argv[2]));
	if (!strcmp(a, "userns-mount") && argc == 4)
		return do_userns_mount(argv[2], argv[3]);
	if (!strcmp(a, "mount") && argc == 4)
		return result(mount(argv[2], argv[3], NULL, MS_BIND, NULL));
	if (!strcmp(a, "chroot") && argc == 3)
		return do_chroot(argv[2]);
	if (!strcmp(a, "fsopen") && argc == 3)
		return result(syscall(SYS_fsopen, argv[2], 0));
	if (!strcmp(a, "open-tree") && argc == 3)
		return result(syscall(SYS_open_tree, AT_FDCWD, argv[2], 1 /* OPEN_TREE_CLONE */));
	if (!strcmp(a, "pivot-root") && argc == 4)
		return result(syscall(SYS_pivot_root, argv[2], argv[3]));
	if (!strcmp(a, "setns") && argc == 3)
		return do_setns(argv[2]);
	if (!strcmp(a, "keyctl-read") && argc == 3)
		return do_keyctl_read((long)num(argv[2]));
	if (!strcmp(a, "request-key") && argc == 3)
		return do_request_key(argv[2]);
	if (!strcmp(a, "add-key") && argc == 4)
		return do_add_key(argv[2], argv[3]);
	if (!strcmp(a, "tiocsti") && argc == 3)
		return do_tiocsti((int)num(argv[2]));
	if (!strcmp(a, "bpf") && argc == 2)
		return do_bpf();
	if (!strcmp(a, "perf") && argc == 2)
		return do_perf();
	if (!strcmp(a, "userfaultfd") && argc == 2)
		return result(syscall(SYS_userfaultfd, O_CLOEXEC));
	if (!strcmp(a, "open-by-handle") && argc == 5)
		return do_open_by_handle(argv[2], (int)num(argv[3]), argv[4]);
	if (!strcmp(a, "personality") && argc == 3)
		return do_personality(num(argv[2]));
	if (!strcmp(a, "uring") && argc == 2)
		return do_uring();
	if (!strcmp(a, "uring-openat") && argc == 3)
		return do_uring_openat(argv[2]);
	if (!strcmp(a, "exec-race") && argc == 5)
		return do_exec_race(argv[2], argv[3], argv[4]);
	if (!strcmp(a, "as-uid") && argc >= 4) {
		uid_t uid = (uid_t)num(argv[2]);

		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			return result(-1);
		execv(argv[3], argv + 3);
		return result(-1);
	}
	if (!strcmp(a, "exec-creds") && argc >= 3)
		return do_exec_creds(argv + 2);
	return usage();
}
