// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_target - a running process for `mosctl attach` to confine
 * (selftests/attach_test.c).
 *
 *   attach_target DIR THREADS [tree]
 *
 * Opens DIR/secret once at start (an fd from before any attach), starts
 * THREADS-1 more threads that sleep in nanosleep until asked to probe, and
 * answers commands read from stdin (the main thread blocks in read(), so an
 * attach interrupts a system call in every thread):
 *
 *   probe   every thread opens DIR/secret and DIR/ok now; one line per
 *           thread: "T<i> secret=<errno> ok=<errno> data=<secret's bytes>"
 *   fork    a child forked now does the same: "child secret=... ok=..."
 *   fd      read the fd opened at start: "fd=<errno> data=<bytes>"
 *   quit    exit 0
 *
 * and what an attacker inside would try next, each answering "<op>=<errno>"
 * (0: it worked):
 *
 *   mknod PATH c|b MAJOR MINOR   a device node; a char device made is
 *                                then read: "read=<errno> bytes=<n>"
 *   chmod PATH OCTAL | chown PATH UID GID | utimes PATH (to 1970)
 *   touch PATH                   open O_WRONLY|O_CREAT, futimens(fd, NULL)
 *   setxattr PATH NAME HEX | removexattr PATH NAME
 *   setxattrat PATH NAME HEX | fchmodat2 PATH OCTAL   the calls newer than
 *                                libseccomp (Linux 6.13, 6.6), by number
 *   setflags PATH                FS_IOC_SETFLAGS (noatime) on an O_RDONLY fd
 *   read PATH                    "read=<errno> data=<bytes, NULs as '|'>"
 *   subreaper                    "subreaper=<PR_GET_CHILD_SUBREAPER>"
 *   execcaps                     a child execs this program, which prints
 *                                its own capabilities and no_new_privs:
 *                                "caps uid=U eff=.. prm=.. bnd=.. nnp=N"
 *
 * With "tree", a child process started at the beginning writes its own
 * probe to DIR/out/child.out every 20 ms (a descendant for --tree).  With
 * "vmshare", a child process made with clone(CLONE_VM) (it shares the
 * memory, but is not a thread) watches /proc/self/maps for the memory
 * mosctl maps in to run its calls from and keeps writing there: handled
 * accesses "execute only" over the Landlock ruleset's and each rule's
 * attributes, and "allow everything" over the seccomp filter (the layout
 * of userspace/attach/attach_landlock.c).
 *
 *   attach_target DIR churn|churn-subreaper
 *
 * makes a new session (and with churn-subreaper makes itself the child
 * subreaper of its tree, so that no orphan leaves it) and, until killed,
 * forks children in a tight loop (some live a while, some fork a grandchild
 * after a few ms and exit: a double fork, whose grandchild is orphaned)
 * while two threads create and join threads: a target whose tree changes
 * under `mosctl attach --tree`.
 * Once DIR/out/check exists, every process tries DIR/secret once and, when
 * it gets the bytes, appends "LEAK <pid> <start time> <ppid>" to
 * DIR/out/leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16

static const char *dir;
static int nthreads;
static atomic_int request[MAX_THREADS];
static char result[MAX_THREADS][256];

static int try_open(const char *name, char *data, size_t len)
{
	char path[4096];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (data) {
		n = read(fd, data, len - 1);
		data[n > 0 ? n : 0] = 0;
		data[strcspn(data, "\n")] = 0;
	}
	close(fd);
	return 0;
}

static void probe(char *out, size_t len, const char *who)
{
	char data[64] = "";
	int s = try_open("secret", data, sizeof(data));
	int o = try_open("ok", NULL, 0);

	snprintf(out, len, "%s secret=%d ok=%d data=%s", who, s, o, data);
}

static void *worker(void *arg)
{
	int i = (int)(long)arg;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char who[16];

	snprintf(who, sizeof(who), "T%d", i);
	for (;;) {
		if (atomic_load(&request[i])) {
			probe(result[i], sizeof(result[i]), who);
			atomic_store(&request[i], 0);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void child_loop(pid_t parent)
{
	char out[256], path[4096], tmp[4200];

	snprintf(path, sizeof(path), "%s/out/child.out", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	for (;;) {
		FILE *f;

		probe(out, sizeof(out), "tree-child");
		f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "%s\n", out);
			fclose(f);
			rename(tmp, path);
		}
		usleep(20000);
		if (getppid() != parent)
			_exit(0); /* the target is gone: so is its tree */
	}
}

static int err_of(int r)
{
	return r < 0 ? errno : 0;
}

/* PATH's first bytes, NULs shown as '|' (environ). */
static void show_read(const char *path)
{
	char data[128] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n = fd < 0 ? -1 : read(fd, data, sizeof(data) - 1);
	int err = fd < 0 || n < 0 ? errno : 0;

	for (ssize_t i = 0; i < n; i++)
		if (data[i] == 0 || data[i] == '\n')
			data[i] = '|';
	data[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	printf("read=%d data=%s\n", err, data);
}

static void do_mknod(const char *path, char type, unsigned maj, unsigned min)
{
	mode_t m = (type == 'b' ? S_IFBLK : S_IFCHR) | 0600;
	int r = mknod(path, m, makedev(maj, min));

	printf("mknod=%d\n", err_of(r));
	if (r == 0 && type == 'c') {
		/* /dev/kmsg hands out one record per read, of at most 8 KiB */
		char buf[8192];
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

		printf("read=%d bytes=%zd\n", fd < 0 || n < 0 ? errno : 0, n);
		if (fd >= 0)
			close(fd);
	}
}

static int hexval(const char *hex, unsigned char *out, size_t max)
{
	size_t n = 0;

	for (; hex[0] && hex[1] && n < max; hex += 2)
		sscanf(hex, "%2hhx", &out[n++]);
	return (int)n;
}

/* "caps uid=... eff=... prm=... bnd=... amb=... inh=... nnp=..." of this process. */
static int print_caps(void)
{
	char line[256], out[512] = "caps";
	FILE *f = fopen("/proc/self/status", "re");
	static const char *const keys[] = { "Uid:",    "CapInh:", "CapPrm:",	"CapEff:",
					    "CapBnd:", "CapAmb:", "NoNewPrivs:" };
	static const char *const names[] = { "uid", "inh", "prm", "eff", "bnd", "amb", "nnp" };

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			char v[64];

			if (!strncmp(line, keys[i], strlen(keys[i])) &&
			    sscanf(line + strlen(keys[i]), "%63s", v) == 1)
				snprintf(out + strlen(out), sizeof(out) - strlen(out), " %s=%s",
					 names[i], v);
		}
	}
	fclose(f);
	printf("%s\n", out);
	return 0;
}

static void exec_caps(const char *self)
{
	int p[2];
	char out[512] = "";
	ssize_t n;
	pid_t pid;

	if (pipe(p) < 0) {
		printf("execcaps=%d\n", errno);
		return;
	}
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execl(self, self, "caps", (char *)NULL);
		printf("exec=%d\n", errno);
		_exit(1);
	}
	close(p[1]);
	n = read(p[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = 0;
	close(p[0]);
	waitpid(pid, NULL, 0);
	printf("%s", out);
}

/* One line of the attack commands; false when it is none of them. */
static bool attack(char *line, const char *self)
{
	char op[16], a[4096], b[256], c[64];
	unsigned maj, min;
	char type;
	int n = sscanf(line, "%15s %4095s %255s %63s", op, a, b, c);

	if (!strcmp(op, "mknod") &&
	    sscanf(line, "mknod %4095s %c %u %u", a, &type, &maj, &min) == 4) {
		do_mknod(a, type, maj, min);
	} else if (!strcmp(op, "chmod") && n == 3) {
		printf("chmod=%d\n", err_of(chmod(a, (mode_t)strtoul(b, NULL, 8))));
	} else if (!strcmp(op, "chown") && n == 4) {
		printf("chown=%d\n", err_of(chown(a, (uid_t)atoi(b), (gid_t)atoi(c))));
	} else if (!strcmp(op, "utimes") && n == 2) {
		struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };

		printf("utimes=%d\n", err_of(utimensat(AT_FDCWD, a, ts, 0)));
	} else if (!strcmp(op, "touch") && n == 2) {
		int fd = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		printf("touch=%d\n", fd < 0 ? errno : err_of(futimens(fd, NULL)));
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(op, "setxattr") && n == 4) {
		unsigned char v[128];
		int len = hexval(c, v, sizeof(v));

		printf("setxattr=%d\n", err_of(setxattr(a, b, v, (size_t)len, 0)));
	} else if (!strcmp(op, "setxattrat") && n == 4) {
		unsigned char v[128];
		struct {
			uint64_t value;
			uint32_t size, flags;
		} xa = { (uint64_t)(uintptr_t)v, (uint32_t)hexval(c, v, sizeof(v)), 0 };

		printf("setxattrat=%d\n",
		       err_of((int)syscall(463, AT_FDCWD, a, 0, b, &xa, sizeof(xa))));
	} else if (!strcmp(op, "fchmodat2") && n == 3) {
		printf("fchmodat2=%d\n",
		       err_of((int)syscall(452, AT_FDCWD, a, (mode_t)strtoul(b, NULL, 8), 0)));
	} else if (!strcmp(op, "removexattr") && n == 3) {
		printf("removexattr=%d\n", err_of(removexattr(a, b)));
	} else if (!strcmp(op, "setflags") && n == 2) {
		int fd = open(a, O_RDONLY | O_CLOEXEC), flags = 0;

		if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0)
			flags |= FS_NOATIME_FL;
		printf("setflags=%d\n",
		       fd < 0 ? errno : err_of(ioctl(fd, FS_IOC_SETFLAGS, &flags)));
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(op, "read") && n == 2) {
		show_read(a);
	} else if (!strcmp(op, "subreaper")) {
		int v = -1;

		prctl(PR_GET_CHILD_SUBREAPER, &v);
		printf("subreaper=%d\n", v);
	} else if (!strcmp(op, "execcaps")) {
		exec_caps(self);
	} else {
		return false;
	}
	return true;
}

/* ---- vmshare: a process that rewrites what mosctl writes ---- */

/*
 * It runs on the target's memory without a thread of its own for the C
 * library (no TLS of its own): raw system calls and static buffers only.
 */
static char maps_buf[1 << 16];

struct region {
	uintptr_t lo, hi;
};

static struct region seen[512], hot[64];
static int nseen, nhot;

static uintptr_t hex(const char **p)
{
	uintptr_t v = 0;

	for (;; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			v = v * 16 + (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* Anonymous read-write mappings: "lo-hi rw-p 00000000 00:00 0" and no name. */
static int anon_regions(struct region *out, int max)
{
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	long n = 0, r;
	int k = 0;

	if (fd < 0)
		return 0;
	while (n < (long)sizeof(maps_buf) - 1 &&
	       (r = syscall(SYS_read, fd, maps_buf + n, sizeof(maps_buf) - 1 - (size_t)n)) > 0)
		n += r;
	syscall(SYS_close, fd);
	maps_buf[n] = 0;
	for (const char *l = maps_buf; *l && k < max;) {
		const char *p = l, *eol = l;
		struct region g;

		while (*eol && *eol != '\n')
			eol++;
		g.lo = hex(&p);
		p++;
		g.hi = hex(&p);
		/* " rw-p 00000000 00:00 0" then nothing but spaces */
		if (eol - p >= 22 && !strncmp(p, " rw-p 00000000 00:00 0", 22)) {
			const char *q = p + 22;

			while (q < eol && *q == ' ')
				q++;
			if (q == eol)
				out[k++] = g;
		}
		l = *eol ? eol + 1 : eol;
	}
	return k;
}

/* Where a region that was not there before (or grew) begins. */
static void note_new(const struct region *now, int n)
{
	for (int i = 0; i < n; i++) {
		uintptr_t start = now[i].lo;
		bool known = false;

		for (int j = 0; j < nseen && !known; j++) {
			if (seen[j].lo == now[i].lo && seen[j].hi == now[i].hi)
				known = true;
			else if (seen[j].hi == now[i].hi && now[i].lo < seen[j].lo)
				start = now[i].lo; /* grew downwards: the new part is first */
			else if (seen[j].lo == now[i].lo && now[i].hi > seen[j].hi)
				start = seen[j].hi; /* grew upwards */
		}
		if (!known && nhot < (int)(sizeof(hot) / sizeof(hot[0])) &&
		    now[i].hi - start >= 8192)
			hot[nhot++] = (struct region){ start, now[i].hi };
	}
	for (int i = 0; i < n && i < (int)(sizeof(seen) / sizeof(seen[0])); i++)
		seen[i] = now[i];
	nseen = n < (int)(sizeof(seen) / sizeof(seen[0])) ? n
							  : (int)(sizeof(seen) / sizeof(seen[0]));
}

static int vm_racer(void *arg)
{
	static struct region now[512];

	(void)arg;
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	nseen = anon_regions(seen, 512);
	for (;;) {
		note_new(now, anon_regions(now, 512));
		for (int round = 0; round < 2000; round++) {
			for (int h = 0; h < nhot; h++) {
				volatile uint64_t *attr = (uint64_t *)hot[h].lo;
				/* BPF_RET | BPF_K, SECCOMP_RET_ALLOW */
				volatile uint64_t *insn = (uint64_t *)(hot[h].lo + 256);

				attr[0] = 1; /* LANDLOCK_ACCESS_FS_EXECUTE only */
				attr[1] = 0;
				attr[2] = 0;
				attr[8] = 1; /* each rule: execute, within that */
				*insn = 0x7fff000000000006ULL;
			}
		}
	}
	return 0;
}

static void start_vm_racer(void)
{
	size_t len = 1 << 16;
	char *stack = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (stack == MAP_FAILED || clone(vm_racer, stack + len, CLONE_VM | SIGCHLD, NULL) < 0)
		exit(3);
}

/* ---- churn: a tree that changes while it is attached ---- */

static char check_path[4200], leaks_path[4200], secret_path[4200];

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* This process's start time (field 22 of /proc/self/stat, clock ticks). */
static unsigned long long start_time(void)
{
	char buf[1024], *p;
	unsigned long long t = 0;
	FILE *f = fopen("/proc/self/stat", "re");

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		       "%*d %llu",
		       &t);
	fclose(f);
	return t;
}

/* Once the test says so (DIR/out/check), try the secret once. */
static void churn_probe(bool *done)
{
	char data[64];
	int fd;

	if (*done || access(check_path, F_OK) < 0)
		return;
	*done = true;
	fd = open(secret_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && read(fd, data, sizeof(data)) > 0) {
		int out = open(leaks_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

		if (out >= 0) {
			dprintf(out, "LEAK %d %llu %d\n", getpid(), start_time(), getppid());
			close(out);
		}
	}
	if (fd >= 0)
		close(fd);
}

static void churn_live(long ms)
{
	bool done = false;

	for (long t = 0; t < ms; t += 5) {
		churn_probe(&done);
		sleep_ms(5);
	}
	_exit(0);
}

static void *churn_short_thread(void *arg)
{
	return arg;
}

/* Threads that make threads, as fast as they can. */
static void *churn_threads(void *arg)
{
	bool done = false;

	for (;;) {
		pthread_t t;

		if (pthread_create(&t, NULL, churn_short_thread, NULL) == 0)
			pthread_join(t, NULL);
		churn_probe(&done);
		usleep(200);
	}
	return arg;
}

static int churn(bool subreaper)
{
	bool done = false;
	unsigned n = 0;
	pthread_t th;

	if (subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 1;
	snprintf(check_path, sizeof(check_path), "%s/out/check", dir);
	snprintf(leaks_path, sizeof(leaks_path), "%s/out/leaks", dir);
	snprintf(secret_path, sizeof(secret_path), "%s/secret", dir);
	if (setsid() < 0)
		return 1;
	for (int i = 0; i < 2; i++)
		pthread_create(&th, NULL, churn_threads, NULL);
	printf("ready\n");
	for (;; n++) {
		pid_t pid;

		/* reap whatever ended: children, and orphans given to us */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		churn_probe(&done);
		pid = fork();
		if (pid == 0) {
			if (n % 2 == 0)
				churn_live(100 + (n % 7) * 30);
			/*
			 * A double fork, a little later: the grandchild outlives its
			 * parent, which may still be listed as a child when it goes.
			 */
			sleep_ms(5 + (n % 5) * 10);
			if (fork() == 0)
				churn_live(300 + (n % 5) * 100);
			_exit(0);
		}
		sleep_ms(3);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char line[4200], path[4096];
	pthread_t th;
	int early_fd;

	if (argc == 2 && !strcmp(argv[1], "caps"))
		return print_caps();
	if (argc < 3)
		return 2;
	dir = argv[1];
	if (!strncmp(argv[2], "churn", 5)) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		return churn(!strcmp(argv[2], "churn-subreaper"));
	}
	nthreads = atoi(argv[2]);
	if (nthreads < 1 || nthreads > MAX_THREADS)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "%s/secret", dir);
	early_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (argc > 3 && !strcmp(argv[3], "tree")) {
		pid_t self = getpid();

		if (fork() == 0)
			child_loop(self);
	}
	if (argc > 3 && !strcmp(argv[3], "vmshare"))
		start_vm_racer();
	for (int i = 1; i < nthreads; i++)
		pthread_create(&th, NULL, worker, (void *)(long)i);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "probe", 5)) {
			probe(result[0], sizeof(result[0]), "T0");
			for (int i = 1; i < nthreads; i++)
				atomic_store(&request[i], 1);
			for (int i = 1; i < nthreads; i++)
				while (atomic_load(&request[i]))
					usleep(1000);
			for (int i = 0; i < nthreads; i++)
				printf("%s\n", result[i]);
			printf("end\n");
		} else if (!strncmp(line, "fork", 4)) {
			int p[2];
			char out[256] = "";

			if (pipe(p) < 0)
				return 1;
			if (fork() == 0) {
				probe(out, sizeof(out), "child");
				if (write(p[1], out, strlen(out)) < 0)
					_exit(1);
				_exit(0);
			}
			close(p[1]);
			if (read(p[0], out, sizeof(out) - 1) < 0)
				out[0] = 0;
			close(p[0]);
			printf("%s\nend\n", out);
		} else if (!strncmp(line, "fd", 2)) {
			char data[64] = "";
			ssize_t n = pread(early_fd, data, sizeof(data) - 1, 0);

			data[n > 0 ? n : 0] = 0;
			data[strcspn(data, "\n")] = 0;
			printf("fd=%d data=%s\nend\n", n < 0 ? errno : 0, data);
		} else if (!strncmp(line, "quit", 4)) {
			return 0;
		} else if (attack(line, argv[0])) {
			printf("end\n");
		}
	}
	return 0;
}
