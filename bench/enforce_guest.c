// SPDX-License-Identifier: GPL-2.0-only
/*
 * enforce_guest - in a guest kernel with the BPF LSM (tests/vm/run; run by
 * bench/enforce --guest): what each in-kernel enforcement mechanism costs,
 * all in one run, on the same kernel.  Static: libbpf, the file_lsm
 * skeleton and libmos's supervisor are linked in.
 *
 *   enforce_guest [KEY=VALUE...]
 *
 * Parameters come from the environment (tests/vm/run --append passes
 * unknown KEY=VALUE words of the kernel command line to the guest's init,
 * and so here) or from the arguments:
 *
 *   MOS_BENCH_OPENS=5000      open+close per measurement
 *   MOS_BENCH_CONNECTS=1000   TCP connect+close per measurement
 *   MOS_BENCH_ROUNDS=3        rounds; each runs every variant once per job,
 *                             the first variant rotating from round to round
 *   MOS_BENCH_WARMUP=1        untimed rounds first (under TCG the first run
 *                             of a kernel path pays for its translation),
 *                             with one build only, none's
 *   MOS_BENCH_BUILD=1         0: leave the build job out
 *   MOS_BENCH_DIRS=16         directories of the generated tree ...
 *   MOS_BENCH_FILES=24        ... and files in each
 *   MOS_BENCH_QUICK=1         a smoke test: 1000 opens, 200 connects, 1
 *                             round after 1 warm-up, 4 directories (the
 *                             others still apply)
 *
 * Variants, each entered by a forked child that then runs the job:
 *
 *   none            nothing
 *   landlock        landlock_restrict_self() with a ruleset granting the
 *                   system set below, the tree and the output directory
 *   unotify         libmos's seccomp user-notification supervisor (a thread
 *                   of this process, on the guest's one CPU), the same roots
 *   bpf-unconfined  bench/file_lsm.bpf.c attached, the child in no domain:
 *                   what every process on the machine pays
 *   bpf-lsm         the same, the child in a domain that enforces its
 *                   rules (granted_inodes: the same roots; denied_inodes:
 *                   a few files), set through a pidfd
 *   domain-lsm      the BPF LSM backend proper: bpf/domain_lsm.bpf.c loaded,
 *                   attached and pinned by lsm_domain.c (lsm_ctl_open), a
 *                   domain made from the same rules (lsm_domain_new) and
 *                   the child put in it (lsm_domain_enter); the programs are
 *                   detached again after each measurement
 *
 * The file_lsm programs are attached only for the two bpf variants and
 * domain_lsm's only for domain-lsm, so "none" has no BPF program on its
 * path.  bench/file_lsm.bpf.c is the first BPF LSM file rules, kept for
 * the recorded figures (bpf/ has moved on to domain_lsm.bpf.c).  Jobs:
 *
 *   open      open+close of the tree's files in turn (ns per open)
 *   connect   TCP connect+close to a listener on 127.0.0.1 in another
 *             process (ns per connect); bpf-lsm is skipped: file_lsm.bpf.c
 *             has no socket_connect hook (bpf/domain_lsm.bpf.c has);
 *             landlock restricts TCP connect only from ABI 4 (6.7), below
 *             it the figure is unconfined
 *   workload  per directory of the tree: fork+exec busybox sha256sum of its
 *             files into out/dNN.sum, and busybox tar of it into out/dNN.tar
 *             (ms per whole workload): opens and execs, little computing
 *   build     when guest_root has unpacked a toolchain and a project into
 *             BUILDROOT: chroot there, then (confined) 'make -j2' of the
 *             project from a clean tree (ms), and the program it built must
 *             print the line in /proj/expected; the variants' rules name the
 *             root's /usr, /etc, /dev, /proj and /tmp instead of the tree's
 *
 * Before each job the child checks its confinement: opening an ungranted
 * file must fail with EACCES in a confined variant and succeed in the
 * others, or the benchmark fails.  Prints medians and minima, the ratio of
 * each median to none's and of each minimum to none's (on a loaded host
 * the minimum is the steadier figure).  Exit status 0 when everything ran,
 * 1 otherwise.
 * Under TCG every absolute figure is inflated many times: compare ratios.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/landlock.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "file_lsm.skel.h"
#include "landlock_compat.h"
#include "loops.h"
#include "lsm_domain.h"
#include "unotify.h"

#define BASE "/tmp/bench"
#define SRC BASE "/src/proj"
#define OUT BASE "/out"
#define SECRET BASE "/secret" /* granted to no variant */
#define DOMAIN 1
/* The build job's root, unpacked by guest_root (bench/guest_root.c). */
#define BUILDROOT "/tmp/buildroot"

enum variant { V_NONE, V_LANDLOCK, V_UNOTIFY, V_BPF_UNCONFINED, V_BPF_LSM, V_DOMAIN, NVARIANTS };
static const char *const variant_names[NVARIANTS] = { "none",		"landlock", "unotify",
						      "bpf-unconfined", "bpf-lsm",  "domain-lsm" };
enum job { J_OPEN, J_CONNECT, J_WORK, J_MAKE, NJOBS };

/* The --system set of a Debian machine, less what this guest lacks. */
static const char *const system_dirs[] = {
	"/bin",	      "/sbin",	  "/lib",	"/lib64",	"/usr",		"/usr/bin",
	"/usr/sbin",  "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/include", "/usr/share",
	"/usr/local", "/etc",	  "/opt",	"/var",		"/var/lib",	"/run",
	"/proc",      "/sys",	  NULL,
};
/* Files the bpf-lsm domain is denied (each a denied_inodes entry). */
static const char *const denied_files[] = { "/etc/shadow", "/etc/gshadow", "/etc/sudoers", NULL };

static long opt_opens = 5000, opt_connects = 1000, opt_rounds = 3, opt_warmup = 1, opt_dirs = 16,
	    opt_files = 24;

static int landlock_abi;
static bool have_build; /* BUILDROOT holds a toolchain and the project */
static unsigned short listen_port;
static struct file_lsm_bpf *skel;
static char **open_files; /* every file of the tree */
static int nopen_files;
static char ***sum_argv; /* per directory: busybox sha256sum FILES... */

struct result {
	double value; /* ns per op, or ns per workload; < 0: failed */
	int check;    /* errno of opening SECRET, 0 if it opened */
	int err;      /* entering the variant: 0 or an errno */
};

static long param(const char *name, long def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	if (*end || n <= 0) {
		fprintf(stderr, "enforce_guest: %s=%s is not a positive integer\n", name, v);
		exit(2);
	}
	return n;
}

static void die(const char *what)
{
	printf("enforce_guest: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_file(const char *path, size_t size, int seed)
{
	char buf[4096];
	size_t len = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		die(path);
	while (len + 64 < sizeof(buf) && len < size)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"static int f_%d_%zu(int x) { return x * %d; }\n", seed,
					len, seed + 7);
	if (write(fd, buf, len) != (ssize_t)len)
		die(path);
	close(fd);
}

/* The tree, the output directory, the system set and the denied files. */
static void make_tree(void)
{
	char path[256];

	for (int i = 0; system_dirs[i]; i++)
		if (mkdir(system_dirs[i], 0755) < 0 && errno != EEXIST)
			die(system_dirs[i]);
	for (int i = 0; denied_files[i]; i++)
		write_file(denied_files[i], 100, i);
	if ((mkdir(BASE, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(BASE "/src", 0755) < 0 && errno != EEXIST) ||
	    (mkdir(SRC, 0755) < 0 && errno != EEXIST) || (mkdir(OUT, 0755) < 0 && errno != EEXIST))
		die(BASE);
	write_file(SECRET, 100, 0);
	nopen_files = (int)(opt_dirs * opt_files);
	open_files = calloc((size_t)nopen_files, sizeof(*open_files));
	sum_argv = calloc((size_t)opt_dirs, sizeof(*sum_argv));
	if (!open_files || !sum_argv)
		die("calloc");
	for (int d = 0; d < opt_dirs; d++) {
		snprintf(path, sizeof(path), SRC "/d%02d", d);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die(path);
		sum_argv[d] = calloc((size_t)opt_files + 2, sizeof(char *));
		if (!sum_argv[d])
			die("calloc");
		sum_argv[d][0] = "sha256sum";
		for (int f = 0; f < opt_files; f++) {
			snprintf(path, sizeof(path), SRC "/d%02d/f%02d.c", d, f);
			write_file(path, 1024 + (size_t)(f % 4) * 1024, d * 100 + f);
			open_files[d * opt_files + f] = strdup(path);
			sum_argv[d][f + 1] = open_files[d * opt_files + f];
		}
	}
}

/* --- entering a variant (in the forked child) ------------------------------ */

static __u64 landlock_handled_fs(int abi)
{
	__u64 r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

static int landlock_allow(int ruleset, const char *path, __u64 access)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = access };
	int err = 0;

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return -errno;
	if (mos_landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		err = -errno;
	close(pb.parent_fd);
	return err;
}

/* In the build job (chrooted into BUILDROOT): the toolchain, the project. */
static int landlock_allow_build(int ruleset, __u64 fs, __u64 rx, __u64 dev)
{
	int err = landlock_allow(ruleset, "/usr", rx);

	if (!err)
		err = landlock_allow(ruleset, "/etc", rx);
	if (!err)
		err = landlock_allow(ruleset, "/dev", dev);
	if (!err)
		err = landlock_allow(ruleset, "/proj", fs);
	if (!err)
		err = landlock_allow(ruleset, "/tmp", fs);
	return err;
}

static int enter_landlock(enum job j)
{
	__u64 fs = landlock_handled_fs(landlock_abi);
	__u64 rx = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
		   LANDLOCK_ACCESS_FS_READ_DIR;
	__u64 dev = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		    LANDLOCK_ACCESS_FS_READ_DIR | (fs & LANDLOCK_ACCESS_FS_IOCTL_DEV);
	struct mos_landlock_ruleset_attr attr = { .handled_access_fs = fs };
	size_t size = sizeof(attr.handled_access_fs);
	int ruleset, err = 0;

	if (landlock_abi >= 4) {
		attr.handled_access_net = LANDLOCK_ACCESS_NET_CONNECT_TCP;
		size = offsetof(struct mos_landlock_ruleset_attr, scoped);
	}
	ruleset = mos_landlock_create_ruleset(&attr, size, 0);
	if (ruleset < 0)
		return errno;
	if (j == J_MAKE) {
		err = landlock_allow_build(ruleset, fs, rx, dev);
	} else {
		for (int i = 0; system_dirs[i] && !err; i++)
			err = landlock_allow(ruleset, system_dirs[i], rx);
		if (!err)
			err = landlock_allow(ruleset, "/dev", dev);
		if (!err)
			err = landlock_allow(ruleset, BASE "/src",
					     LANDLOCK_ACCESS_FS_READ_FILE |
						     LANDLOCK_ACCESS_FS_READ_DIR);
		if (!err)
			err = landlock_allow(ruleset, OUT, fs);
	}
	if (!err && landlock_abi >= 4) {
		struct mos_landlock_net_port_attr np = { .allowed_access =
								 LANDLOCK_ACCESS_NET_CONNECT_TCP,
							 .port = listen_port };

		if (mos_landlock_add_rule(ruleset, MOS_LANDLOCK_RULE_NET_PORT, &np, 0) < 0)
			err = -errno;
	}
	if (!err && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		     syscall(__NR_landlock_restrict_self, ruleset, 0) < 0))
		err = -errno;
	close(ruleset);
	return -err;
}

/* The listener goes to the parent over SOCK; the child never keeps it. */
static int enter_unotify(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, c = 'L';
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int lfd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errno;
	lfd = unotify_install_filter();
	if (lfd < 0)
		return -lfd;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
	if (sendmsg(sock, &m, 0) != 1)
		return errno;
	close(lfd);
	return 0;
}

static int enter_bpf_domain(void)
{
	__u32 domain = DOMAIN;
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0), err = 0;

	if (pidfd < 0)
		return errno;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.domains), &pidfd, &domain, BPF_ANY) < 0)
		err = errno;
	close(pidfd);
	return err;
}

static int enter_domain(enum job j);

static int enter(enum variant v, enum job j, int sock)
{
	switch (v) {
	case V_LANDLOCK:
		return enter_landlock(j);
	case V_UNOTIFY:
		return enter_unotify(sock);
	case V_BPF_LSM:
		return enter_bpf_domain();
	case V_DOMAIN:
		return enter_domain(j);
	default:
		return 0;
	}
}

/* --- the jobs (in the child, confined) ------------------------------------- */

/* Run busybox with ARGV, stdout to OUTPUT (or inherited): 0 if it exited 0. */
static int run_busybox(char *const *argv, const char *output)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		if (output) {
			int fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

			if (fd < 0 || dup2(fd, 1) < 0) {
				fprintf(stderr, "workload: open %s: %s\n", output, strerror(errno));
				_exit(126);
			}
		}
		execv("/bin/busybox", argv);
		fprintf(stderr, "workload: exec /bin/busybox %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "workload: busybox %s %s exited with status %d\n", argv[0], argv[1],
			WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return -1;
	}
	return 0;
}

static double workload(void)
{
	double t0 = bench_now_ns();
	char out[128], dir[16];

	for (int d = 0; d < opt_dirs; d++) {
		char *tar_argv[] = { "tar", "-cf", out, "-C", SRC, dir, NULL };

		snprintf(out, sizeof(out), OUT "/d%02d.sum", d);
		if (run_busybox(sum_argv[d], out) < 0)
			return -1;
		snprintf(out, sizeof(out), OUT "/d%02d.tar", d);
		snprintf(dir, sizeof(dir), "d%02d", d);
		if (run_busybox(tar_argv, NULL) < 0)
			return -1;
	}
	return bench_now_ns() - t0;
}

static char build_expected[128]; /* what the built program must print */

/* Remove what a build of /proj made (as 'make clean' does). */
static void build_clean(void)
{
	DIR *d = opendir("/proj");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if ((n > 2 && !strcmp(e->d_name + n - 2, ".o")) || !strcmp(e->d_name, "prog"))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* Run ARGV (an absolute path) in /proj with the build's environment, its
 * output to /tmp/build.log: 0 if it exited 0 and, with OUT, printed OUT.
 * On a failure, the log's tail goes to stderr. */
static int run_in_root(char *const *argv, const char *out)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", "TMPDIR=/tmp", "HOME=/proj", NULL };
	char buf[1024];
	int fd, st, bad;
	off_t size;
	ssize_t n;
	pid_t pid;

	fd = open("/tmp/build.log", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execve(argv[0], argv, envp);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	bad = pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st);
	size = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf) - 1,
		  out || size < (off_t)sizeof(buf) ? 0 : size - (off_t)sizeof(buf) + 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	if (bad || (out && strcmp(buf, out))) {
		fprintf(stderr, "build: %s failed; the end of its output:\n%s\n", argv[0], buf);
		return -1;
	}
	return 0;
}

/* make -j2 of the project in /proj, from a clean tree: ns, or -1. */
static double build(void)
{
	char *make_argv[] = { "/usr/bin/make", "-j2", NULL }, *prog_argv[] = { "/proj/prog", NULL };
	double t0, t;

	build_clean();
	t0 = bench_now_ns();
	if (run_in_root(make_argv, NULL) < 0)
		return -1;
	t = bench_now_ns() - t0;
	return run_in_root(prog_argv, build_expected) < 0 ? -1 : t;
}

static void child(enum variant v, enum job j, int sock, int pipefd)
{
	struct result r = { .value = -1 };
	int fd;

	/* the build job runs in the toolchain's root (before confinement, as
	 * mosctl sets up the sandbox's view before it confines) */
	if (j == J_MAKE && (chroot(BUILDROOT) < 0 || chdir("/proj") < 0))
		r.err = errno;
	if (!r.err)
		r.err = enter(v, j, sock);
	close(sock);
	if (!r.err) {
		fd = open(j == J_MAKE ? "/secret" : SECRET, O_RDONLY | O_CLOEXEC);
		r.check = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		if (j == J_OPEN)
			r.value = bench_open_loop(open_files, nopen_files, opt_opens);
		else if (j == J_CONNECT)
			r.value = bench_connect_loop(listen_port, opt_connects);
		else if (j == J_WORK)
			r.value = workload();
		else
			r.value = build();
	}
	if (write(pipefd, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	_exit(0);
}

/* --- the parent ------------------------------------------------------------ */

static const char *const unotify_read[] = {
	"/bin",	    "/sbin", "/lib",  "/lib64", "/usr",	     "/etc", "/opt",
	"/var/lib", "/run",  "/proc", "/sys",	BASE "/src", NULL,
};
static const char *const unotify_write[] = { OUT, "/dev", NULL };
static struct unotify_net_rule unotify_connect;
static struct unotify_policy unotify_policy = {
	.read = unotify_read,
	.write = unotify_write,
	.connect = &unotify_connect,
	.nconnect = 1,
};

/* The build job's, in the toolchain's root (paths as the child sees them). */
static const char *const unotify_build_read[] = { "/usr", "/etc", NULL };
static const char *const unotify_build_write[] = { "/proj", "/tmp", "/dev", NULL };
static struct unotify_policy unotify_build_policy = {
	.read = unotify_build_read,
	.write = unotify_build_write,
	.in_root = true,
	.root_fd = -1,
};

struct serve_arg {
	int listener;
	int err;
	const struct unotify_policy *policy;
};

static void *serve(void *v)
{
	struct serve_arg *a = v;

	a->err = unotify_serve(a->listener, a->policy, NULL);
	return NULL;
}

/* Receive the child's listener and serve it; -1 when the child sent none. */
static int start_supervisor(int sock, struct serve_arg *a, pthread_t *t)
{
	char cbuf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&m))
		return -1;
	memcpy(&a->listener, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	return pthread_create(t, NULL, serve, a) ? -1 : 0;
}

/*
 * domain-lsm: bpf/domain_lsm.bpf.c through lsm_domain.c, the BPF LSM backend
 * of mosctl.  lsm_ctl_open() attaches and pins the programs for good, so
 * each measurement opens them and makes its domains, and afterwards the
 * pins are removed: the other variants run with no program attached.
 */
static struct lsm_ctl *dctl;
static uint32_t dom_tree, dom_build;

static int policy_fs(struct mos_policy *p, const char *path, uint32_t access, bool deny,
		     struct mos_err *e)
{
	return policy_add_fs(p, NULL, path, access, deny, "enforce_guest", e);
}

static int domain_open(void)
{
	struct mos_policy tree, root;
	char port[16];
	struct mos_err e = { "" };
	int err;

	err = lsm_ctl_open(&dctl, &e);
	if (err)
		goto out;
	policy_init(&tree);
	policy_init(&root);
	for (int i = 0; system_dirs[i] && !err; i++)
		err = policy_fs(&tree, system_dirs[i], MOS_FS_READ | MOS_FS_EXEC, false, &e);
	if (!err)
		err = policy_fs(&tree, "/dev", MOS_FS_READ | MOS_FS_WRITE, false, &e);
	if (!err)
		err = policy_fs(&tree, BASE "/src", MOS_FS_READ, false, &e);
	if (!err)
		err = policy_fs(&tree, OUT, MOS_FS_READ | MOS_FS_WRITE, false, &e);
	for (int i = 0; denied_files[i] && !err; i++)
		err = policy_fs(&tree, denied_files[i], 0, true, &e);
	snprintf(port, sizeof(port), ":%u", listen_port);
	if (!err)
		err = policy_add_net_allow(&tree, port, "enforce_guest", &e);
	if (!err)
		err = lsm_domain_new(dctl, &tree, 0, 0, 0, &dom_tree, &e);
	if (!err && have_build) {
		err = policy_fs(&root, BUILDROOT "/usr", MOS_FS_READ | MOS_FS_EXEC, false, &e);
		if (!err)
			err = policy_fs(&root, BUILDROOT "/etc", MOS_FS_READ, false, &e);
		if (!err)
			err = policy_fs(&root, BUILDROOT "/dev", MOS_FS_READ | MOS_FS_WRITE, false,
					&e);
		if (!err)
			err = policy_fs(&root, BUILDROOT "/proj", MOS_FS_ALL, false, &e);
		if (!err)
			err = policy_fs(&root, BUILDROOT "/tmp", MOS_FS_ALL, false, &e);
		if (!err)
			err = lsm_domain_new(dctl, &root, 0, 0, 0, &dom_build, &e);
	}
	policy_free(&tree);
	policy_free(&root);
out:
	if (err)
		printf("enforce_guest: domain-lsm: %s (%s)\n", e.msg, strerror(-err));
	return err;
}

static int unpin(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/*
 * The loader of lsm_domain.c pins each link, then calls bpf_link__disconnect()
 * and bpf_link__destroy(), which in libbpf leaves the link's fd open: the
 * loading process keeps every program attached until it exits, pins or not.
 * Close those fds, so that removing the pins detaches the programs.
 */
static void close_link_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[64], target[64];

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		ssize_t n;

		if (fd <= 2 || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', !strcmp(target, "anon_inode:bpf_link")))
			close(fd);
	}
	closedir(d);
}

/* BPF links of LSM (tracing) programs attached now. */
static int lsm_links(void)
{
	__u32 id = 0;
	int n = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_TRACING)
			n++;
		close(fd);
	}
	return n;
}

static int domain_close(void)
{
	int n;

	if (dctl)
		lsm_ctl_close(dctl);
	dctl = NULL;
	if (nftw(LSM_PIN_ROOT, unpin, 16, FTW_DEPTH | FTW_PHYS) < 0)
		printf("enforce_guest: removing %s: %s\n", LSM_PIN_ROOT, strerror(errno));
	close_link_fds();
	for (int i = 0; i < 100 && (n = lsm_links()) > 0; i++)
		usleep(10000); /* links go away after an RCU grace period */
	if (n > 0)
		printf("enforce_guest: %d LSM links still attached after domain-lsm\n", n);
	return n > 0 ? -1 : 0;
}

static int enter_domain(enum job j)
{
	struct mos_err e = { "" };
	int err = lsm_domain_enter(dctl, j == J_MAKE ? dom_build : dom_tree, getpid(), &e);

	if (err)
		fprintf(stderr, "enforce_guest: lsm_domain_enter: %s\n", e.msg);
	return -err;
}

/* One measurement: the value, or < 0 after printing why it failed. */
static double run_one(enum variant v, enum job j)
{
	bool bpf = v == V_BPF_UNCONFINED || v == V_BPF_LSM, served = false;
	struct result r = { .value = -1 };
	struct serve_arg a = { .listener = -1,
			       .policy = j == J_MAKE ? &unotify_build_policy : &unotify_policy };
	int sp[2], pp[2], st, err;
	pthread_t t;
	pid_t pid;

	if (bpf && (err = file_lsm_bpf__attach(skel))) {
		printf("enforce_guest: attaching file_lsm: %s\n", strerror(-err));
		return -1;
	}
	if (v == V_DOMAIN && domain_open()) {
		domain_close();
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 || pipe2(pp, O_CLOEXEC) < 0)
		die("socketpair");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(sp[0]);
		close(pp[0]);
		child(v, j, sp[1], pp[1]);
	}
	close(sp[1]);
	close(pp[1]);
	if (v == V_UNOTIFY)
		served = start_supervisor(sp[0], &a, &t) == 0;
	if (read(pp[0], &r, sizeof(r)) != sizeof(r))
		r.value = -1;
	waitpid(pid, &st, 0);
	if (served) {
		pthread_join(t, NULL);
		close(a.listener);
	}
	close(pp[0]);
	close(sp[0]);
	if (bpf)
		file_lsm_bpf__detach(skel);
	if (v == V_DOMAIN && domain_close() < 0)
		return -1;
	if (r.err) {
		printf("enforce_guest: %s: entering the variant failed: %s\n", variant_names[v],
		       strerror(r.err));
		return -1;
	}
	if (r.check != ((v == V_NONE || v == V_BPF_UNCONFINED) ? 0 : EACCES)) {
		printf("enforce_guest: %s: opening the ungranted %s gave '%s', not '%s'\n",
		       variant_names[v], SECRET, r.check ? strerror(r.check) : "success",
		       (v == V_NONE || v == V_BPF_UNCONFINED) ? "success" : strerror(EACCES));
		return -1;
	}
	if (r.value < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		printf("enforce_guest: %s: the measurement failed (see above)\n", variant_names[v]);
	return r.value < 0 ? -1 : r.value;
}

/* The inode key file_lsm uses: the kernel's s_dev and the inode number. */
static int bpf_rule(int map_fd, const char *path, const void *value)
{
	struct stat st;
	struct {
		__u32 domain;
		__u32 dev;
		__u64 ino;
	} k = { .domain = DOMAIN };

	if (stat(path, &st) < 0)
		return -errno;
	k.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
	k.ino = st.st_ino;
	return bpf_map_update_elem(map_fd, &k, value, BPF_ANY) < 0 ? -errno : 0;
}

static int bpf_setup(void)
{
	__u32 rx = 1 | 2, r = 1, rw = 1 | 4, enforce = 1, domain = DOMAIN;
	int gfd, dfd, err = 0, n = 0;
	__u8 one = 1;

	skel = file_lsm_bpf__open_and_load();
	if (!skel)
		return -errno;
	gfd = bpf_map__fd(skel->maps.granted_inodes);
	dfd = bpf_map__fd(skel->maps.denied_inodes);
	for (int i = 0; system_dirs[i] && !err; i++, n++)
		err = bpf_rule(gfd, system_dirs[i], &rx);
	if (!err)
		err = bpf_rule(gfd, "/dev", &rw);
	if (!err)
		err = bpf_rule(gfd, BASE "/src", &r);
	if (!err)
		err = bpf_rule(gfd, OUT, &rw);
	for (int i = 0; denied_files[i] && !err; i++)
		err = bpf_rule(dfd, denied_files[i], &one);
	if (!err && have_build) {
		__u32 rwx = 1 | 2 | 4;

		err = bpf_rule(gfd, BUILDROOT "/usr", &rx);
		if (!err)
			err = bpf_rule(gfd, BUILDROOT "/etc", &rx);
		if (!err)
			err = bpf_rule(gfd, BUILDROOT "/dev", &rw);
		if (!err)
			err = bpf_rule(gfd, BUILDROOT "/proj", &rwx);
		if (!err)
			err = bpf_rule(gfd, BUILDROOT "/tmp", &rwx);
		n += 5;
	}
	if (!err && bpf_map_update_elem(bpf_map__fd(skel->maps.domain_flags), &domain, &enforce,
					BPF_ANY) < 0)
		err = -errno;
	if (!err)
		printf("# bpf-lsm domain: %d granted inodes (the system set, /dev, the tree, "
		       "the output%s), %zu denied\n",
		       n + 3, have_build ? ", the build root's 5" : "",
		       sizeof(denied_files) / sizeof(denied_files[0]) - 1);
	return err;
}

static void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("loopback");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("loopback up");
	close(s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool skipped(enum variant v, enum job j)
{
	return (j == J_CONNECT && v == V_BPF_LSM) || (j == J_MAKE && !have_build);
}

/* The build job's root, if guest_root unpacked one: what it needs besides. */
static void setup_build(void)
{
	int fd;
	ssize_t n;

	if (!param("MOS_BENCH_BUILD", 1) || access(BUILDROOT "/proj/Makefile", R_OK) < 0)
		return;
	fd = open(BUILDROOT "/proj/expected", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, build_expected, sizeof(build_expected) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		die(BUILDROOT "/proj/expected");
	build_expected[n] = '\0';
	if ((mkdir(BUILDROOT "/dev", 0755) < 0 && errno != EEXIST) ||
	    (mkdir(BUILDROOT "/tmp", 01777) < 0 && errno != EEXIST) ||
	    (mkdir(BUILDROOT "/etc", 0755) < 0 && errno != EEXIST) ||
	    (mknod(BUILDROOT "/dev/null", S_IFCHR | 0666, makedev(1, 3)) < 0 && errno != EEXIST))
		die(BUILDROOT);
	write_file(BUILDROOT "/secret", 100, 0);
	unotify_build_policy.root_fd = open(BUILDROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (unotify_build_policy.root_fd < 0)
		die(BUILDROOT);
	have_build = true;
}

int main(int argc, char **argv)
{
	static const char *const job_titles[NJOBS] = {
		"open+close of a file in the tree", "TCP connect+close to 127.0.0.1",
		"workload: busybox sha256sum + tar per directory (fork+exec)",
		"build: make -j2 of the generated C project (gcc 12, in " BUILDROOT ")"
	};
	static const char *const units[NJOBS] = { "ns", "ns", "ms", "ms" };
	double *samples[NJOBS][NVARIANTS];
	struct utsname u;
	char lsm[256] = "?";
	pid_t listener;
	int l, fd, failed = 0;

	for (int i = 1; i < argc; i++)
		if (strchr(argv[i], '=') && putenv(argv[i]) != 0)
			die("putenv");
	if (param("MOS_BENCH_QUICK", 0)) {
		opt_opens = 1000;
		opt_connects = 200;
		opt_rounds = 1;
		opt_dirs = 4;
	}
	opt_opens = param("MOS_BENCH_OPENS", opt_opens);
	opt_connects = param("MOS_BENCH_CONNECTS", opt_connects);
	opt_rounds = param("MOS_BENCH_ROUNDS", opt_rounds);
	opt_warmup = getenv("MOS_BENCH_WARMUP") && !strcmp(getenv("MOS_BENCH_WARMUP"), "0")
			     ? 0
			     : param("MOS_BENCH_WARMUP", opt_warmup);
	opt_dirs = param("MOS_BENCH_DIRS", opt_dirs);
	opt_files = param("MOS_BENCH_FILES", opt_files);
	if (opt_dirs > 99 || opt_files > 99) {
		printf("enforce_guest: at most 99 directories of 99 files\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(NULL);
	uname(&u);
	fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, lsm, sizeof(lsm) - 1);

		lsm[n > 0 ? n : 0] = 0;
		close(fd);
	}
	landlock_abi = mos_landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	printf("# enforce_guest: kernel %s, LSMs %s, Landlock ABI %d, %ld CPU(s)\n", u.release, lsm,
	       landlock_abi, sysconf(_SC_NPROCESSORS_ONLN));
	printf("# %ld rounds after %ld warm-up; %ld opens, %ld connects per measurement; tree %s: "
	       "%ld dirs x %ld "
	       "files\n",
	       opt_rounds, opt_warmup, opt_opens, opt_connects, SRC, opt_dirs, opt_files);
	if (landlock_abi < 1) {
		printf("enforce_guest: Landlock is unavailable (missing CONFIG_SECURITY_LANDLOCK "
		       "or 'landlock' in lsm=?)\n");
		return 1;
	}
	make_tree();
	setup_build();
	loopback_up();
	l = bench_listen(&listen_port);
	if (l < 0) {
		errno = -l;
		die("listen on 127.0.0.1");
	}
	listener = fork();
	if (listener == 0)
		bench_accept_forever(l);
	close(l);
	unotify_connect.family = AF_INET;
	unotify_connect.addr[0] = 127;
	unotify_connect.addr[3] = 1;
	unotify_connect.port = listen_port;
	if ((errno = -bpf_setup())) {
		printf("enforce_guest: loading file_lsm and its rules failed: %s (missing "
		       "CONFIG_BPF_LSM or 'bpf' in lsm=?)\n",
		       strerror(errno));
		kill(listener, SIGKILL);
		return 1;
	}

	for (int j = 0; j < NJOBS; j++)
		for (int v = 0; v < NVARIANTS; v++)
			samples[j][v] = calloc((size_t)opt_rounds, sizeof(double));
	for (int round = -(int)opt_warmup; round < opt_rounds && !failed; round++)
		for (int j = 0; j < NJOBS && !failed; j++)
			for (int k = 0; k < NVARIANTS && !failed; k++) {
				enum variant v = (enum variant)(
					((k + round) % NVARIANTS + NVARIANTS) % NVARIANTS);
				double x;

				/* one warm-up build only (it is long): the
				 * first build after the unpacking is ~1%
				 * slower (cold dentries and inodes) */
				if (skipped(v, (enum job)j) ||
				    (round < 0 && j == J_MAKE && v != V_NONE))
					continue;
				x = run_one(v, (enum job)j);
				failed = x < 0;
				if (round >= 0)
					samples[j][v][round] = j >= J_WORK ? x / 1e6 : x;
			}
	kill(listener, SIGKILL);
	waitpid(listener, NULL, 0);
	if (failed)
		return 1;

	for (int j = 0; j < NJOBS; j++) {
		/* median() sorts: [0] is then the minimum */
		double base = median(samples[j][V_NONE], (int)opt_rounds),
		       base_min = samples[j][V_NONE][0];
		int prec = j >= J_WORK ? 1 : 0;

		printf("\n%s, %ld rounds\n", job_titles[j], opt_rounds);
		if (j == J_MAKE && !have_build) {
			printf("  skipped: no toolchain in %s (bench/enforce --guest unpacks one "
			       "there with guest_root)\n",
			       BUILDROOT);
			continue;
		}
		printf("  %-15s %12s %12s %8s %9s\n", "variant", "median", "min", "ratio",
		       "min_ratio");
		for (int v = 0; v < NVARIANTS; v++) {
			double m;

			if (skipped((enum variant)v, (enum job)j)) {
				printf("  %-15s %12s   (skipped: file_lsm.bpf.c has no "
				       "socket_connect hook yet)\n",
				       variant_names[v], "-");
				continue;
			}
			m = median(samples[j][v], (int)opt_rounds);
			printf("  %-15s %9.*f %s %9.*f %s %8.3f %9.3f%s\n", variant_names[v], prec,
			       m, units[j], prec, samples[j][v][0], units[j], m / base,
			       samples[j][v][0] / base_min,
			       j == J_CONNECT && v == V_LANDLOCK && landlock_abi < 4
				       ? "  (ABI < 4: TCP not restricted)"
				       : "");
		}
	}
	printf("\n");
	for (int j = J_WORK; j < NJOBS; j++) {
		if (j == J_MAKE && !have_build)
			continue;
		for (int v = V_BPF_LSM; v <= V_DOMAIN; v++) {
			double w = median(samples[j][v], (int)opt_rounds) /
				   median(samples[j][V_NONE], (int)opt_rounds);

			printf("aim: %s within 3%% of none on the %s: x%.3f, %s\n",
			       variant_names[v], j == J_MAKE ? "build" : "busybox workload", w,
			       w <= 1.03 ? "met" : "NOT met");
		}
	}

	file_lsm_bpf__destroy(skel);
	return 0;
}
