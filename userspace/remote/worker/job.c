// SPDX-License-Identifier: GPL-2.0-only
/*
 * job.c - one remote job on a worker, from JOB to EXIT.
 */
#include "job.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "job_tmp.h"
#include "kernel_features.h"
#include "log.h"
#include "mosfs.h"
#include "options.h"
#include "remote_backend.h"
#include "run.h"
#include "util.h"

#define OUT_WINDOW (1U << 20)	 /* output bytes sent and not yet credited by the origin */
#define IN_MAX (4U << 20)	 /* stdin bytes buffered here, at most */
#define PRELOAD_MAX (128U << 20) /* PRELOAD_* bytes an origin may send ahead of its JOB */
#define IDLE_WAIT_MS 5000	 /* a session's mount: an ended job's files released, at most */

struct job {
	const struct job_config *jc;
	struct conn *conn;
	bool hello, started, exit_sent;
	bool session; /* both HELLOs have MOS_FEAT_SESSION: more jobs may follow EXIT */
	/* a session's mount, kept from job to job in this process's own mount
	 * namespace (each job's is a copy of it): FS, FC, DIR, ROOT, SCRATCH
	 * are the session's, and the kernel's caches outlive each job */
	bool persistent;
	bool own_userns;    /* without root: this process is in a user namespace of its own */
	bool session_tried; /* session_mount ran (once a session) */
	uint64_t fs_base;   /* FUSE requests before this job (persistent) */
	uint8_t *job_frame; /* the JOB's payload, for the job process to parse again */
	size_t job_len;
	pid_t parent; /* in the job process: the connection process */
	bool counted; /* in jc->counters->running */
	int pending_signal;
	pid_t pid;
	int pidfd; /* on PID, opened before anything reaps it: signals never reach a reused pid */
	/* a session's next job process, started while it idles (spare_start) */
	pid_t spare_pid;
	int spare_pidfd, spare_sock, spare_efd;
	int in_w, out_r, err_r;
	int pty;      /* the pty master in tty mode (output, and input through in_w) */
	int ready_fd; /* the job process's messages: mounted, then its pty master */
	struct conn_watch *out_watch, *err_watch, *in_watch, *pty_watch;
	bool out_paused, err_paused, pty_paused;
	uint8_t *inbuf;
	size_t inlen;
	bool in_eof;
	uint64_t out_unacked;
	uint64_t preloaded; /* bytes of PRELOAD_* frames so far */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool out_open, err_open, pty_open;

	int fuse_fd;
	struct mosfs *fs;
	struct mosfs_config fc;
	struct remote_backend rb;
	char dir[256], scratch[300], root[300];
	pthread_t finisher;
	bool finisher_started;
	struct job_desc d;
};

void job_desc_free(struct job_desc *d)
{
	strv_free(d->argv);
	strv_free(d->env);
	strv_free(d->sandbox);
	free(d->cwd);
	*d = (struct job_desc){ 0 };
}

static bool read_strv(struct wire_reader *rd, uint32_t n, char ***out)
{
	size_t cnt = 0;

	*out = xcalloc(1, sizeof(char *));
	for (uint32_t i = 0; i < n; i++) {
		char *s;

		if (!wire_get_str(rd, &s, 128 * 1024))
			return false;
		strv_push(out, &cnt, s);
	}
	return true;
}

bool job_desc_parse(const uint8_t *p, size_t len, struct job_desc *d, const char **why)
{
	struct wire_reader rd;

	wire_reader_init(&rd, p, len);
	if (!wire_get(&rd, &d->j, sizeof(d->j)))
		goto bad;
	if (d->j.nargv == 0 || d->j.nargv > 65536 || d->j.nenv > 65536 || d->j.nsandbox > 4096) {
		*why = "JOB with an unreasonable number of arguments";
		return false;
	}
	if (!read_strv(&rd, d->j.nargv, &d->argv) || !read_strv(&rd, d->j.nenv, &d->env) ||
	    !wire_get_str(&rd, &d->cwd, MOS_PATH_MAX) ||
	    !read_strv(&rd, d->j.nsandbox, &d->sandbox) || !wire_end(&rd))
		goto bad;
	if (d->cwd[0] != '/') {
		*why = "JOB with a relative working directory";
		return false;
	}
	return true;
bad:
	*why = wire_reader_why(&rd);
	return false;
}

/* ---------------------------------------------------------------------- */
/* Phase 2: the job process.  Root until drop_privileges().               */
/* ---------------------------------------------------------------------- */

static void __attribute__((noreturn, format(printf, 1, 2))) child_die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	(void)!write(2, "mosd: ", 6);
	(void)!write(2, msg, (size_t)n);
	_exit(MOS_EXIT_SETUP);
}

static void mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags,
			 const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		child_die("cannot mount %s on %s: %s", src ? src : type, dst, strerror(errno));
}

/* A minimal /dev: the harmless character devices, bound from the worker's. */
static void make_dev(const char *root)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },	 { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
		{ "ptmx", "pts/ptmx" },
	};
	char dev[512], p[600], host[64];

	snprintf(dev, sizeof(dev), "%s/dev", root);
	mount_or_die("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k");
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/%s", dev, nodes[i]);
		snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
		fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			child_die("cannot create %s: %s", p, strerror(errno));
		close(fd);
		mount_or_die(host, p, NULL, MS_BIND, NULL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(p, sizeof(p), "%s/%s", dev, links[i][0]);
		if (symlink(links[i][1], p) < 0)
			child_die("cannot create %s: %s", p, strerror(errno));
	}
	snprintf(p, sizeof(p), "%s/pts", dev);
	if (mkdir(p, 0755) < 0)
		child_die("cannot create %s: %s", p, strerror(errno));
	mount_or_die("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620");
	snprintf(p, sizeof(p), "%s/shm", dev);
	if (mkdir(p, 01777) < 0)
		child_die("cannot create %s: %s", p, strerror(errno));
	mount_or_die("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

static void enter_root(const char *root)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/sys", root);
	mount_or_die("/sys", p, NULL, MS_BIND | MS_REC, NULL);
	{
		struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };

		if (mount_setattr(AT_FDCWD, p, AT_RECURSIVE, &ro, sizeof(ro)) < 0)
			child_die("cannot make %s read-only: %s", p, strerror(errno));
	}
	/* A /proc of the job's own pid namespace: never the worker's processes,
	 * whatever the sandbox later does (or cannot do) about /proc. */
	snprintf(p, sizeof(p), "%s/proc", root);
	mount_or_die("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	snprintf(p, sizeof(p), "%s/tmp", root);
	mount_or_die("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	make_dev(root);
	if (chdir(root) < 0)
		child_die("cannot enter %s: %s", root, strerror(errno));
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_die("pivot_root into the origin's view: %s", strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		child_die("cannot detach the worker's root: %s", strerror(errno));
	if (chdir("/") < 0)
		child_die("chdir /: %s", strerror(errno));
}

/* One byte TAG and, if FD >= 0, the descriptor, over the ready socket. */
static int send_fd(int sock, char tag, int fd)
{
	ssize_t n = send_with_fd(sock, &tag, 1, fd);

	return n == 1 ? 0 : n < 0 ? (int)n : -EIO;
}

/*
 * Receive one byte (the tag, 0 at EOF) and up to MAX descriptors into FDS:
 * their count, or -1 at EOF or on error (nothing kept then).
 */
static int recv_fds(int sock, char *tag, int *fds, size_t max)
{
	union {
		char c[CMSG_SPACE(SEND_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = tag, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.c,
			     .msg_controllen = sizeof(cbuf.c) };
	struct cmsghdr *cm;
	size_t cnt = 0;
	ssize_t n;

	*tag = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
		int got[SEND_FDS_MAX];

		cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (cnt > SEND_FDS_MAX)
			cnt = SEND_FDS_MAX;
		memcpy(got, CMSG_DATA(cm), cnt * sizeof(int));
		if (n != 1 || cnt > max || (mh.msg_flags & MSG_CTRUNC)) {
			for (size_t i = 0; i < cnt; i++)
				close(got[i]);
			*tag = 0;
			return -1;
		}
		memcpy(fds, got, cnt * sizeof(int));
	}
	if (n != 1) {
		*tag = 0;
		return -1;
	}
	return (int)cnt;
}

/* Receive what send_fd sent: the descriptor (or -1) and the tag (0 at EOF). */
static int recv_fd(int sock, char *tag)
{
	int fd = -1;

	return recv_fds(sock, tag, &fd, 1) == 1 ? fd : -1;
}

/*
 * Tty mode: a pty from the job's own devpts instance becomes its stdio; the
 * master goes to the connection process over SOCK, which forwards it.
 */
static void make_pty(const struct job *jb, int sock)
{
	struct winsize ws = { .ws_row = jb->d.j.rows, .ws_col = jb->d.j.cols };
	int m, sl;

	m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || unlockpt(m) < 0)
		child_die("cannot make the job's pty: %s", strerror(errno));
	sl = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (sl < 0)
		child_die("cannot open the job's pty: %s", strerror(errno));
	if (ws.ws_row && ws.ws_col)
		ioctl(sl, TIOCSWINSZ, &ws);
	if (!jb->jc->unprivileged && fchown(sl, jb->jc->job_uid, jb->jc->job_gid) < 0)
		child_die("cannot hand the pty to the job's user: %s", strerror(errno));
	if (send_fd(sock, 'p', m) < 0)
		child_die("cannot pass the pty on: %s", strerror(errno));
	close(m);
	if (dup2(sl, 0) < 0 || dup2(sl, 1) < 0 || dup2(sl, 2) < 0)
		_exit(MOS_EXIT_SETUP);
	if (sl > 2)
		close(sl);
}

/*
 * Without root (mosd --stdio as a user, e.g. for --on local): a user
 * namespace in which we are root, over our own ids only, makes the mounts
 * possible; the job then runs as that namespace's root (the user itself
 * outside), and the sandbox maps the origin's ids inside it as usual.
 */
static void enter_own_userns(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int r;

	if (unshare(CLONE_NEWUSER) < 0)
		child_die("cannot create a user namespace for the job (needed without root): %s",
			  strerror(errno));
	r = write_file("/proc/self/setgroups", "deny");
	if (r < 0 && r != -ENOENT)
		child_die("setgroups deny: %s", strerror(-r));
	snprintf(map, sizeof(map), "0 %u 1\n", uid);
	r = write_file("/proc/self/uid_map", map);
	if (r == 0) {
		snprintf(map, sizeof(map), "0 %u 1\n", gid);
		r = write_file("/proc/self/gid_map", map);
	}
	if (r < 0)
		child_die("cannot map the job's user namespace: %s", strerror(-r));
}

static volatile sig_atomic_t session_idle; /* the alarm is a session's idle bound */

/* enter_own_userns for the connection process: false (and nothing done)
 * when it cannot, e.g. it has threads already. */
static bool try_own_userns(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int r;

	if (unshare(CLONE_NEWUSER) < 0)
		return false;
	r = write_file("/proc/self/setgroups", "deny");
	if (r < 0 && r != -ENOENT)
		goto bad;
	snprintf(map, sizeof(map), "0 %u 1\n", uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		goto bad;
	snprintf(map, sizeof(map), "0 %u 1\n", gid);
	if (write_file("/proc/self/gid_map", map) < 0)
		goto bad;
	return true;
bad:
	/* a namespace without a map: nothing works in it, not even the job */
	mos_err("cannot map the connection's user namespace");
	_exit(MOS_EXIT_SETUP);
}

static int relay_alive_fd = -1; /* pid 1's end of a pipe the relay holds open */
static bool relay_alive(void);

static void drop_privileges(uid_t uid, gid_t gid, pid_t parent)
{
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		child_die("cannot switch to the job's user %u:%u: %s", uid, gid, strerror(errno));
	/* Changing ids made us non-dumpable, which makes /proc/self/uid_map
	 * root's: the sandbox must write it.  Nothing outside this job can see
	 * us (our own mount namespace; the sandbox's pid namespace follows). */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		child_die("PR_SET_DUMPABLE: %s", strerror(errno));
	/* The id change also cleared the parent-death signal: set it again, so
	 * that the job dies with its connection process, crash included. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_die("PR_SET_PDEATHSIG: %s", strerror(errno));
	if (relay_alive_fd >= 0 ? !relay_alive() : getppid() != parent)
		_exit(MOS_EXIT_SETUP);
}

static int run_sandboxed(const struct job_desc *d, bool refuse_degraded)
{
	_cleanup_free_ char **av = NULL;
	size_t n = 0;
	struct run_opts o;
	struct mos_run run;
	struct mos_err e = { "" };
	extern char **environ;
	int r;

	/* "run" SANDBOX-ARGS -- ARGV: parsed exactly as mosctl parsed them. */
	av = xcalloc(2 + d->j.nsandbox + 1 + d->j.nargv + 1, sizeof(char *));
	av[n++] = "run";
	for (uint32_t i = 0; i < d->j.nsandbox; i++)
		av[n++] = d->sandbox[i];
	av[n++] = "--";
	for (uint32_t i = 0; i < d->j.nargv; i++)
		av[n++] = d->argv[i];
	/* Probe the kernel with mosd's own environment, not the origin's: a
	 * test switch such as MOS_LANDLOCK_ABI (the only one the sandbox
	 * reads) is the worker's to set.  Only that probe: the others of
	 * mos_features() (a user namespace tried in a child, io_uring, BPF
	 * LSM, mountinfo, cgroups; ~1 ms a job) serve `mosctl check`. */
	mos_landlock_abi();
	environ = d->env;
	if (options_parse((int)n, av, &o, &e) < 0)
		child_die("the job's sandbox options: %s", e.msg);
	mos_log_init("mosd", MOS_LOG_WARN + o.verbose);
	if (o.allow_degraded && refuse_degraded)
		child_die("this worker runs no job with --allow-degraded (mosd --refuse-degraded): "
			  "every rule must be enforced in full here");
	r = mos_run_prepare(&run, &o.policy,
			    &(struct mos_run_args){ .backend = o.backend,
						    .argv = o.command,
						    .allow_degraded = o.allow_degraded,
						    .verbose = o.verbose,
						    .progname = "mosd",
						    .where = "this worker" },
			    &e);
	if (r < 0) {
		if (e.msg[0])
			child_die("%s", e.msg);
		_exit(MOS_EXIT_SETUP);
	}
	/* the origin user's ids inside; signals held by pid 1 until forwarded */
	run.sc.map_ids = true;
	run.sc.inner_uid = d->j.uid;
	run.sc.inner_gid = d->j.gid;
	run.sc.tty = d->j.flags & MOS_JOB_TTY;
	run.sc.unblock_forwarded = true;
	return mos_run_exec(&run);
}

static volatile pid_t relay_to;

/* In pid 1: is the relay (our parent, outside this pid namespace) alive? */
static bool relay_alive(void)
{
	struct pollfd p = { .fd = relay_alive_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0; /* the relay never writes: only its death wakes us */
}

static void relay_signal(int sig)
{
	if (relay_to > 0)
		kill(relay_to, sig);
}

static const int relayed_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/*
 * The job gets a pid namespace of its own here, so that its /proc shows its
 * processes only.  This process stays outside as a relay: mosd signals it,
 * it signals the job's pid 1, and it exits with the job's status.  Returns
 * in the child (pid 1 of the new namespace).
 */
static void enter_own_pidns(int ready_w)
{
	pid_t child;
	int st, alive[2];

	if (pipe2(alive, O_CLOEXEC) < 0)
		child_die("pipe: %s", strerror(errno));
	if (unshare(CLONE_NEWPID) < 0)
		child_die("cannot create the job's pid namespace: %s", strerror(errno));
	child = fork();
	if (child < 0)
		child_die("fork: %s", strerror(errno));
	if (child == 0) {
		close(alive[1]);
		relay_alive_fd = alive[0];
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (!relay_alive())
			_exit(MOS_EXIT_SETUP);
		/* pid 1 would drop default-handled signals: hold them blocked
		 * (queued) until the sandbox reads and forwards them */
		{
			sigset_t set;

			sigemptyset(&set);
			for (size_t i = 0; i < ARRAY_SIZE(relayed_signals); i++)
				sigaddset(&set, relayed_signals[i]);
			sigprocmask(SIG_BLOCK, &set, NULL);
		}
		return;
	}
	close(alive[0]);
	close(ready_w);
	close(0);
	close(1);
	close(2);
	relay_to = child;
	for (size_t i = 0; i < ARRAY_SIZE(relayed_signals); i++) {
		struct sigaction sa = { .sa_handler = relay_signal, .sa_flags = SA_RESTART };

		sigaction(relayed_signals[i], &sa, NULL);
	}
	while (waitpid(child, &st, 0) < 0) {
		if (errno != EINTR)
			_exit(MOS_EXIT_SETUP);
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/*
 * The job process, in a mosd of its own (job_exec_child): stdio, the ready
 * socket (3), nothing else of the connection process.
 */
static void __attribute__((noreturn)) job_child(struct job *jb)
{
	pid_t parent = jb->parent;
	struct tmp_trees tmp = { 0 };
	struct mos_err e = { "" };
	int ready_w = 3;
	int fuse_fd, r;

	if (jb->jc->unprivileged && !jb->own_userns)
		enter_own_userns();
	if (unshare(CLONE_NEWNS) < 0)
		child_die("cannot create the job's mount namespace: %s", strerror(errno));
	mount_or_die(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (jb->persistent) {
		/* the session's mount is at the root already: this namespace's
		 * copy of it, served and cached as for the jobs before */
		if (send_fd(ready_w, 'm', -1) < 0)
			_exit(MOS_EXIT_SETUP);
		goto mounted;
	}
	/* The FUSE device is opened here: a mount in a user namespace needs a
	 * device opened in it.  mosd serves it once it has the descriptor. */
	fuse_fd = mosfs_open_device();
	if (fuse_fd < 0)
		child_die("cannot open /dev/fuse: %s (is CONFIG_FUSE_FS enabled?)",
			  strerror(-fuse_fd));
	r = mosfs_mount(fuse_fd, jb->root);
	if (r < 0)
		child_die("cannot mount the origin's view on %s: %s", jb->root, strerror(-r));
	if (send_fd(ready_w, 'm', fuse_fd) < 0)
		_exit(MOS_EXIT_SETUP);
	close(fuse_fd);
mounted:
	enter_own_pidns(ready_w);
	/* the job's trees beneath the origin's /tmp, before the tmpfs hides it */
	if (tmp_trees_find(jb->d.sandbox, jb->d.j.nsandbox, jb->d.cwd, jb->root, &tmp, &e) < 0 ||
	    tmp_trees_clone(&tmp, jb->root, &e) < 0)
		child_die("%s", e.msg);
	enter_root(jb->root);
	if (tmp_trees_attach(&tmp, "/tmp", jb->jc->unprivileged ? (uid_t)-1 : jb->jc->job_uid,
			     jb->jc->unprivileged ? (gid_t)-1 : jb->jc->job_gid, &e) < 0)
		child_die("%s", e.msg);
	tmp_trees_free(&tmp);
	if (jb->d.j.flags & MOS_JOB_TTY)
		make_pty(jb, ready_w);
	close(ready_w);
	if (chdir(jb->d.cwd) < 0)
		child_die("cannot enter the origin's working directory %s: %s", jb->d.cwd,
			  strerror(errno));
	umask(jb->d.j.umask & 0777);
	if (!jb->jc->unprivileged)
		drop_privileges(jb->jc->job_uid, jb->jc->job_gid, parent);
	_exit(run_sandboxed(&jb->d, jb->jc->refuse_degraded));
}

/* ---------------------------------------------------------------------- */
/* Phase 1: the connection process.                                       */
/* ---------------------------------------------------------------------- */

static void send_data(struct job *jb, uint8_t type, const void *data, size_t len)
{
	struct wire_buf b = { 0 };

	wire_buf_start(&b, type, 0, 0);
	wire_put_var(&b, data, len);
	conn_send(jb->conn, &b);
}

static void close_output(struct job *jb, int *fd, bool *open)
{
	closep(fd);
	*fd = -1;
	pthread_mutex_lock(&jb->lock);
	*open = false;
	pthread_cond_broadcast(&jb->cond);
	pthread_mutex_unlock(&jb->lock);
}

/* The job's stdout, stderr or pty is readable: forward while the window allows. */
static bool on_output(struct conn *c, int fd, uint32_t revents, void *arg)
{
	struct job *jb = arg;
	uint8_t buf[65536];
	ssize_t n;
	int *fdp;
	bool *open, *paused;

	(void)c;
	(void)revents;
	if (fd == jb->out_r) {
		fdp = &jb->out_r, open = &jb->out_open, paused = &jb->out_paused;
	} else if (fd == jb->err_r) {
		fdp = &jb->err_r, open = &jb->err_open, paused = &jb->err_paused;
	} else {
		fdp = &jb->pty, open = &jb->pty_open, paused = &jb->pty_paused;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) { /* EOF; EIO from a pty master once the job's side is closed */
		close_output(jb, fdp, open);
		return false;
	}
	send_data(jb, fd == jb->err_r ? MOS_MSG_STDERR : MOS_MSG_STDOUT, buf, (size_t)n);
	jb->out_unacked += (uint64_t)n;
	if (jb->out_unacked >= OUT_WINDOW) {
		*paused = true;
		return false;
	}
	return true;
}

static void credit(struct job *jb, uint32_t bytes)
{
	jb->out_unacked = bytes > jb->out_unacked ? 0 : jb->out_unacked - bytes;
	if (jb->out_unacked >= OUT_WINDOW)
		return;
	if (jb->out_paused && jb->out_r >= 0) {
		jb->out_paused = false;
		conn_watch_resume(jb->conn, jb->out_watch);
	}
	if (jb->err_paused && jb->err_r >= 0) {
		jb->err_paused = false;
		conn_watch_resume(jb->conn, jb->err_watch);
	}
	if (jb->pty_paused && jb->pty >= 0) {
		jb->pty_paused = false;
		conn_watch_resume(jb->conn, jb->pty_watch);
	}
}

/* Write buffered stdin to the job; true while more remains. */
static bool flush_stdin(struct job *jb)
{
	size_t done = 0;

	while (jb->in_w >= 0 && done < jb->inlen) {
		ssize_t n = write(jb->in_w, jb->inbuf + done, jb->inlen - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) { /* the job closed its stdin: drop the rest */
			closep(&jb->in_w);
			jb->in_w = -1;
			done = jb->inlen;
			break;
		}
		done += (size_t)n;
	}
	if (done) {
		struct wire_buf b = { 0 };
		struct mos_credit cr = { .bytes = (uint32_t)done };

		memmove(jb->inbuf, jb->inbuf + done, jb->inlen - done);
		jb->inlen -= done;
		wire_buf_start(&b, MOS_MSG_CREDIT, 0, 0);
		wire_put(&b, &cr, sizeof(cr));
		conn_send(jb->conn, &b);
	}
	if (!jb->inlen && jb->in_eof && jb->in_w >= 0) {
		closep(&jb->in_w);
		jb->in_w = -1;
	}
	return jb->inlen > 0 && jb->in_w >= 0;
}

static bool on_stdin_writable(struct conn *c, int fd, uint32_t revents, void *arg)
{
	(void)c;
	(void)fd;
	(void)revents;
	return flush_stdin(arg);
}

/* Write what is buffered; watch for room when the job's input is full. */
static void stdin_kick(struct job *jb)
{
	if (!flush_stdin(jb))
		return;
	if (!jb->in_watch)
		jb->in_watch = conn_watch(jb->conn, jb->in_w, POLLOUT, on_stdin_writable, jb);
	else
		conn_watch_resume(jb->conn, jb->in_watch);
}

static void on_stdin(struct job *jb, const void *data, size_t len)
{
	if (!len) {
		jb->in_eof = true;
	} else if (jb->in_w >= 0 || jb->pty_open) { /* tty mode: kept until the pty exists */
		if (jb->inlen + len > IN_MAX) {
			conn_fail(jb->conn, "the origin sent more input than its window allows");
			return;
		}
		jb->inbuf = xrealloc(jb->inbuf, jb->inlen + len);
		memcpy(jb->inbuf + jb->inlen, data, len);
		jb->inlen += len;
	}
	stdin_kick(jb);
}

/* The job process sends its pty master (or dies first: EOF). */
static bool on_pty_master(struct conn *c, int fd, uint32_t revents, void *arg)
{
	struct job *jb = arg;
	char tag;
	int m = recv_fd(fd, &tag);

	(void)revents;
	if (m >= 0 && tag == 'p') {
		jb->pty = m;
		fcntl(jb->pty, F_SETFL, O_NONBLOCK);
		jb->pty_watch = conn_watch(c, jb->pty, POLLIN, on_output, jb);
		conn_watch_throttle(jb->pty_watch);
		/* keyboard input goes to the master */
		closep(&jb->in_w);
		jb->in_w = fcntl(jb->pty, F_DUPFD_CLOEXEC, 3);
		jb->in_watch = NULL; /* a new fd: a new watch */
		stdin_kick(jb);
	} else {
		closep(&m);
		close_output(jb, &jb->pty, &jb->pty_open);
	}
	closep(&jb->ready_fd);
	jb->ready_fd = -1;
	return false;
}

/* The job no longer takes a slot (once, whichever end comes first). */
static void uncount(struct job *jb)
{
	if (jb->jc->counters && __atomic_exchange_n(&jb->counted, false, __ATOMIC_SEQ_CST))
		__atomic_sub_fetch(&jb->jc->counters->running, 1, __ATOMIC_SEQ_CST);
}

static void send_status(struct job *jb, uint32_t id)
{
	struct mos_status st = { .slots = jb->jc->slots };
	struct cas_stats cs = { 0 };
	struct wire_buf b = { 0 };
	double load;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (jb->jc->counters) {
		st.running = __atomic_load_n(&jb->jc->counters->running, __ATOMIC_SEQ_CST);
		st.jobs_done = __atomic_load_n(&jb->jc->counters->jobs_done, __ATOMIC_RELAXED);
		st.cache_hits = __atomic_load_n(&jb->jc->counters->cache_hits, __ATOMIC_RELAXED);
		st.cache_misses =
			__atomic_load_n(&jb->jc->counters->cache_misses, __ATOMIC_RELAXED);
	} else {
		st.running = jb->started && !__atomic_load_n(&jb->exit_sent, __ATOMIC_SEQ_CST);
	}
	st.cpus = cpus > 0 ? (uint32_t)cpus : 1;
	if (!st.slots)
		st.slots = st.cpus;
	if (getloadavg(&load, 1) == 1 && load >= 0)
		st.load_milli = (uint32_t)(load * 1000);
	if (jb->jc->cas)
		cas_get_stats(jb->jc->cas, &cs);
	st.cache_bytes = cs.bytes;
	st.cache_limit = jb->jc->cache_limit;
	wire_buf_start(&b, MOS_MSG_STATUS, MOS_F_REPLY, id);
	wire_put(&b, &st, sizeof(st));
	conn_send(jb->conn, &b);
}

static void send_exit(struct job *jb, int status, uint32_t flags, const char *msg)
{
	struct wire_buf b = { 0 };
	struct mos_exit e = { .status = (uint32_t)status, .flags = flags };

	if (jb->fs) {
		struct mosfs_stats fs;

		mosfs_get_stats(jb->fs, &fs);
		e.fuse_requests = fs.requests - jb->fs_base;
	}
	pthread_mutex_lock(&jb->rb.lock);
	e.cache_hits = jb->rb.cache_hits;
	e.cache_misses = jb->rb.cache_misses;
	e.bytes_fetched = jb->rb.bytes_fetched;
	e.bytes_written_back = jb->rb.bytes_written;
	pthread_mutex_unlock(&jb->rb.lock);
	if (jb->jc->counters) {
		__atomic_add_fetch(&jb->jc->counters->jobs_done, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&jb->jc->counters->cache_hits, e.cache_hits, __ATOMIC_RELAXED);
		__atomic_add_fetch(&jb->jc->counters->cache_misses, e.cache_misses,
				   __ATOMIC_RELAXED);
	}
	uncount(jb);
	wire_buf_start(&b, MOS_MSG_EXIT, 0, 0);
	wire_put(&b, &e, sizeof(e));
	wire_put_str(&b, msg);
	/* Before sending: the origin may close as soon as it has EXIT, and the
	 * loop thread must then know that this was the end, not a loss. */
	__atomic_store_n(&jb->exit_sent, true, __ATOMIC_SEQ_CST);
	conn_send(jb->conn, &b);
	if (jb->session) {
		session_idle = 1;
		alarm(jb->jc->session_idle_s ? jb->jc->session_idle_s : 300);
	} else
		conn_stop(jb->conn);
}

/* Signal the job's process, if it has not been reaped yet. */
static void job_kill(struct job *jb, int sig)
{
	if (jb->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, jb->pidfd, sig, NULL, 0);
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return MOS_EXIT_SETUP;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/*
 * The job's end: its process, then its mount (every close, so every
 * write-back, is done once the kernel ends the FUSE connection), then its
 * output.  Only then is EXIT sent.
 */
static void *finisher(void *arg)
{
	struct job *jb = arg;
	int status = wait_status(jb->pid);
	char path[MOS_PATH_MAX + 1] = "", msg[MOS_PATH_MAX + 128] = "";
	uint32_t flags = 0;
	int werr;

	if (jb->persistent) {
		/* the mount stays: the job is over once its last file is
		 * released (every close, so every write-back, done) */
		if (mosfs_wait_idle(jb->fs, IDLE_WAIT_MS) < 0)
			mos_warn("a file of the ended job is still open on the session's mount");
		{
			/* pages a mapping dirtied in the kernel's cache (no
			 * passthrough) reach the scratch copies first, as at an
			 * unmount; served by mosfs's threads, locally */
			int rfd = open(jb->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (rfd >= 0) {
				syncfs(rfd);
				close(rfd);
			}
		}
		mosfs_writeback_changed(jb->fs);
	} else if (jb->fs) {
		mosfs_wait(jb->fs);
	}
	pthread_mutex_lock(&jb->lock);
	while (jb->out_open || jb->err_open || jb->pty_open)
		pthread_cond_wait(&jb->cond, &jb->lock);
	pthread_mutex_unlock(&jb->lock);
	werr = jb->fs ? mosfs_writeback_error(jb->fs, path, sizeof(path)) : 0;
	if (werr) {
		flags |= MOS_EXIT_WRITEBACK_FAILED;
		snprintf(msg, sizeof(msg), "an output could not be written on the origin: %s: %s",
			 path, strerror(werr < 0 ? -werr : werr));
	}
	if (jb->persistent)
		mosfs_job_done(jb->fs);
	send_exit(jb, status, flags, msg);
	/* a session idles now, and may be dropped idle (an _exit): what the
	 * job left in its directory goes at once, not at the next job (a
	 * session's mount keeps its own until the session ends) */
	if (jb->session && !jb->persistent && jb->dir[0])
		rm_rf(jb->dir);
	if (jb->persistent && jb->spare_efd >= 0) {
		uint64_t one = 1;

		/* the next job's process, while the origin reads the EXIT */
		if (write(jb->spare_efd, &one, sizeof(one)) < 0)
			mos_debug("no spare job process: %s", strerror(errno));
	}
	return NULL;
}

/*
 * The job process is a fresh mosd image (`mosd --job-child`): the
 * connection process has threads (mosfs's, on a session's mount), and a
 * fork of a process with threads may only make async-signal-safe calls
 * until it execs, while the job process parses options, allocates and
 * logs.  What it needs comes on fd 4, a memfd: this header, the root's
 * path, the JOB frame's payload.
 */
#define JOB_EXEC_MAGIC 0x4d4f534aU /* "MOSJ" */
enum { JX_UNPRIVILEGED = 1, JX_REFUSE_DEGRADED = 2, JX_PERSISTENT = 4, JX_OWN_USERNS = 8 };
struct job_exec_hdr {
	uint32_t magic, flags;
	uint32_t job_uid, job_gid;
	int32_t parent;
	uint32_t root_len, frame_len;
};

static int exe_fd = -1; /* mosd's own image, opened before any job */

static int job_exec_blob(const struct job *jb)
{
	struct job_exec_hdr h = {
		.magic = JOB_EXEC_MAGIC,
		.flags = (jb->jc->unprivileged ? JX_UNPRIVILEGED : 0) |
			 (jb->jc->refuse_degraded ? JX_REFUSE_DEGRADED : 0) |
			 (jb->persistent ? JX_PERSISTENT : 0) |
			 (jb->own_userns ? JX_OWN_USERNS : 0),
		.job_uid = jb->jc->job_uid,
		.job_gid = jb->jc->job_gid,
		.parent = (int32_t)getpid(),
		.root_len = (uint32_t)strlen(jb->root),
		.frame_len = (uint32_t)jb->job_len,
	};
	int fd = (int)syscall(SYS_memfd_create, "mosd-job", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write_all(fd, &h, sizeof(h)) < 0 || write_all(fd, jb->root, h.root_len) < 0 ||
	    write_all(fd, jb->job_frame, jb->job_len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/*
 * FDS become descriptors 0..N-1 (the last close-on-exec if LAST_CLOEXEC),
 * and every other descriptor is closed; _exit on failure.  Only
 * async-signal-safe calls: it runs between a fork and an exec too.
 */
static void place_fds(const int *fds_in, int n, bool last_cloexec)
{
	int fds[8];

	if (n > 8)
		_exit(MOS_EXIT_SETUP);
	/* out of the way first: an input may sit where another goes */
	for (int i = 0; i < n; i++) {
		fds[i] = fcntl(fds_in[i], F_DUPFD_CLOEXEC, 100);
		if (fds[i] < 0)
			_exit(MOS_EXIT_SETUP);
	}
	for (int i = 0; i < n; i++) {
		if (dup3(fds[i], i, last_cloexec && i == n - 1 ? O_CLOEXEC : 0) < 0)
			_exit(MOS_EXIT_SETUP);
	}
	syscall(SYS_close_range, n, ~0U, 0);
}

/*
 * In a forked child: async-signal-safe calls only, then `mosd MODE`.  FDS
 * become descriptors 0..N-1; the last is mosd's image (exe_fd), which the
 * exec closes.  Nothing else of the connection process survives (socket,
 * ring, eventfd).
 */
static void __attribute__((noreturn)) exec_mosd(const int *fds, int n, const char *mode)
{
	char *const argv[] = { "mosd", (char *)mode, NULL };
	extern char **environ;

	place_fds(fds, n, true);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	syscall(SYS_execveat, n - 1, "", argv, environ, AT_EMPTY_PATH);
	_exit(MOS_EXIT_SETUP);
}

/* The job process: stdio, the ready socket (3) and the blob (4). */
static void __attribute__((noreturn))
job_exec(int in_r, int out_w, int err_w, int ready_w, int blob)
{
	exec_mosd((const int[]){ in_r, out_w, err_w, ready_w, blob, exe_fd }, 6, "--job-child");
}

/*
 * A session's spare job process: `mosd --job-spare`, started while the
 * session idles after a job's EXIT, so that the next job does not wait
 * for a fork of the connection process, an exec and the dynamic linker
 * (~2 ms of a warm job's ~10).  It waits on SOCK (its descriptor 3) for
 * the job's five descriptors (stdio, the ready socket, the blob), puts
 * them where `--job-child` has them, and goes on as one.  It holds
 * nothing of the job's before that, and dies with the connection process
 * (PDEATHSIG) or when the socket closes (the session's end).
 */
static void spare_start(struct job *jb)
{
	int sp[2], null_fd;
	pid_t pid;

	if (!jb->persistent || jb->spare_pid > 0 || exe_fd < 0)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0) {
		close(sp[0]);
		close(sp[1]);
		return;
	}
	pid = fork();
	if (pid == 0)
		exec_mosd((const int[]){ null_fd, null_fd, 2, sp[1], exe_fd }, 5, "--job-spare");
	close(null_fd);
	close(sp[1]);
	if (pid < 0) {
		close(sp[0]);
		return;
	}
	jb->spare_pid = pid;
	jb->spare_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	jb->spare_sock = sp[0];
}

/* The spare goes, killed and reaped (a failed hand-over, the session's end). */
static void spare_drop(struct job *jb)
{
	if (jb->spare_pid <= 0)
		return;
	closep(&jb->spare_sock);
	if (jb->spare_pidfd >= 0)
		syscall(SYS_pidfd_send_signal, jb->spare_pidfd, SIGKILL, NULL, 0);
	wait_status(jb->spare_pid);
	closep(&jb->spare_pidfd);
	jb->spare_pid = 0;
}

/* The job's descriptors to the spare, which becomes the job's process:
 * false (and no spare any more) when there is none or it is gone. */
static bool spare_take(struct job *jb, int in_r, int out_w, int err_w, int ready_w, int blob)
{
	const int fds[5] = { in_r, out_w, err_w, ready_w, blob };

	if (jb->spare_pid <= 0)
		return false;
	if (send_with_fds(jb->spare_sock, "j", 1, fds, 5) != 1) {
		spare_drop(jb); /* EPIPE: it died waiting */
		return false;
	}
	jb->pid = jb->spare_pid;
	jb->pidfd = jb->spare_pidfd;
	closep(&jb->spare_sock);
	jb->spare_pid = 0;
	jb->spare_pidfd = -1;
	return true;
}

/* The finisher said a session's job has ended: the spare for the next one
 * (loop thread: the one whose mount namespace the jobs copy). */
static bool on_spare_due(struct conn *c, int fd, uint32_t revents, void *arg)
{
	struct job *jb = arg;
	uint64_t v;

	(void)c;
	(void)revents;
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		spare_start(jb);
	return true;
}

int job_spare_child(void)
{
	int fds[5];
	char tag;

	/* its job, or the session's end (EOF) */
	if (recv_fds(3, &tag, fds, 5) != 5 || tag != 'j')
		_exit(0);
	/* where --job-child has them (3: the ready socket, in the spare's
	 * socket's place); nothing else stays */
	place_fds(fds, 5, false);
	job_exec_child();
}

int job_exec_child(void)
{
	struct job_exec_hdr h;
	struct job_config jc = { 0 };
	struct job jb = { .jc = &jc };
	const char *why = "truncated";
	uint8_t *frame = NULL;
	int fd = 4;

	/* the ready socket is the job process's, not its command's */
	fcntl(3, F_SETFD, FD_CLOEXEC);
	if (read_full(fd, &h, sizeof(h)) != sizeof(h) || h.magic != JOB_EXEC_MAGIC ||
	    h.root_len >= sizeof(jb.root) || h.frame_len > MOS_FRAME_MAX)
		child_die("the job's description did not come whole");
	if (read_full(fd, jb.root, h.root_len) != (ssize_t)h.root_len)
		child_die("the job's description did not come whole");
	frame = xmalloc(h.frame_len ? h.frame_len : 1);
	if (read_full(fd, frame, h.frame_len) != (ssize_t)h.frame_len ||
	    !job_desc_parse(frame, h.frame_len, &jb.d, &why))
		child_die("the job's description: %s", why);
	close(fd);
	jc.unprivileged = h.flags & JX_UNPRIVILEGED;
	jc.refuse_degraded = h.flags & JX_REFUSE_DEGRADED;
	jc.job_uid = h.job_uid;
	jc.job_gid = h.job_gid;
	jb.persistent = h.flags & JX_PERSISTENT;
	jb.own_userns = h.flags & JX_OWN_USERNS;
	jb.parent = (pid_t)h.parent;
	if (getppid() != jb.parent)
		_exit(MOS_EXIT_SETUP); /* the connection process is gone */
	job_child(&jb);
}

/* The job's view (the origin's ids shown as the job's), in JB->fc. */
static void set_mosfs_config(struct job *jb)
{
	jb->fc = (struct mosfs_config){
		.ops = &remote_backend_ops,
		.ctx = &jb->rb,
		.scratch_dir = jb->scratch,
		.origin_uid = jb->d.j.uid,
		.origin_gid = jb->d.j.gid,
		/* without root, the job is root of its own user namespace */
		.job_uid = jb->jc->unprivileged ? 0 : jb->jc->job_uid,
		.job_gid = jb->jc->unprivileged ? 0 : jb->jc->job_gid,
		.nthreads = jb->jc->fuse_threads,
		.passthrough = jb->jc->passthrough,
	};
}

/*
 * A session's first job: its mount goes in a mount namespace of this
 * process's own (this thread's, which forks the jobs), so that it outlives
 * the job and each later job's namespace starts as a copy of it.  Without
 * root this needs the user namespace made at the connection's start.  On
 * failure the session's jobs get mounts of their own, as without a session.
 */
static void session_mount(struct job *jb)
{
	int fd, r;

	if (jb->jc->unprivileged && !jb->own_userns)
		return;
	snprintf(jb->dir, sizeof(jb->dir), "%s/jobs/%d", jb->jc->state_dir, (int)getpid());
	snprintf(jb->scratch, sizeof(jb->scratch), "%s/scratch", jb->dir);
	snprintf(jb->root, sizeof(jb->root), "%s/root", jb->dir);
	if (mkdir_p(jb->scratch, 0700) < 0 || mkdir_p(jb->root, 0700) < 0)
		goto fail;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	fd = mosfs_open_device();
	if (fd < 0) {
		errno = -fd;
		goto fail;
	}
	r = mosfs_mount(fd, jb->root);
	if (r < 0) {
		close(fd);
		errno = -r;
		goto fail;
	}
	set_mosfs_config(jb);
	r = mosfs_start(&jb->fc, fd, &jb->fs);
	if (r < 0) {
		umount2(jb->root, MNT_DETACH);
		close(fd);
		errno = -r;
		goto fail;
	}
	jb->fuse_fd = fd;
	jb->persistent = true;
	return;
fail:
	mos_info("the session's jobs each get a mount of their own: %s", strerror(errno));
	jb->fs = NULL;
	jb->fc = (struct mosfs_config){ 0 };
}

static int start_job(struct job *jb)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, ready[2] = { -1, -1 };
	struct mosfs_stats st0;
	int blob = -1, null_in = -1;
	char c;
	int r;

	if (jb->persistent) {
		if (jb->d.j.uid != jb->fc.origin_uid || jb->d.j.gid != jb->fc.origin_gid) {
			mos_err("a session's jobs must be one origin user's");
			return -EPERM;
		}
		/* what changed on the origin, out of the kernel's caches first */
		r = mosfs_invalidate_apply(jb->fs, IDLE_WAIT_MS);
		if (r < 0) {
			mos_err("the session's mount did not forget what changed: %s",
				strerror(-r));
			conn_fail(jb->conn, "the session's mount cannot be trusted any more");
			return r;
		}
		mosfs_get_stats(jb->fs, &st0);
		jb->fs_base = st0.requests;
	} else {
		snprintf(jb->dir, sizeof(jb->dir), "%s/jobs/%d", jb->jc->state_dir, (int)getpid());
		snprintf(jb->scratch, sizeof(jb->scratch), "%s/scratch", jb->dir);
		snprintf(jb->root, sizeof(jb->root), "%s/root", jb->dir);
		if (mkdir_p(jb->scratch, 0700) < 0 || mkdir_p(jb->root, 0700) < 0) {
			r = -errno;
			mos_err("cannot create %s: %s", jb->dir, strerror(errno));
			return r;
		}
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ready) < 0) {
		r = -errno;
		goto fail;
	}
	blob = job_exec_blob(jb);
	if (blob < 0) {
		r = blob;
		goto fail;
	}
	null_in = (jb->d.j.flags & MOS_JOB_STDIN) ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!spare_take(jb, null_in >= 0 ? null_in : in[0], out[1], err[1], ready[1], blob)) {
		jb->pid = fork();
		if (jb->pid < 0) {
			r = -errno;
			closep(&blob);
			closep(&null_in);
			goto fail;
		}
		if (jb->pid == 0)
			job_exec(null_in >= 0 ? null_in : in[0], out[1], err[1], ready[1], blob);
		jb->pidfd = (int)syscall(SYS_pidfd_open, jb->pid, 0);
	}
	closep(&blob);
	closep(&null_in);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	close(ready[1]);
	in[0] = out[1] = err[1] = ready[1] = -1;
	jb->in_w = in[1];
	jb->out_r = out[0];
	jb->err_r = err[0];
	if (!(jb->d.j.flags & MOS_JOB_STDIN) || (jb->d.j.flags & MOS_JOB_TTY)) {
		closep(&jb->in_w); /* tty mode: input goes to the pty master */
		jb->in_w = -1;
	}
	fcntl(jb->out_r, F_SETFL, O_NONBLOCK);
	fcntl(jb->err_r, F_SETFL, O_NONBLOCK);
	if (jb->in_w >= 0)
		fcntl(jb->in_w, F_SETFL, O_NONBLOCK);
	jb->out_open = jb->err_open = true;
	/* the job's output waits while the origin is behind on reading, even
	 * if it keeps granting credit */
	jb->out_watch = conn_watch(jb->conn, jb->out_r, POLLIN, on_output, jb);
	jb->err_watch = conn_watch(jb->conn, jb->err_r, POLLIN, on_output, jb);
	conn_watch_throttle(jb->out_watch);
	conn_watch_throttle(jb->err_watch);

	/* Serve mosfs once the job has mounted it (or failed to). */
	jb->fuse_fd = recv_fd(ready[0], &c);
	r = c == 'm' && (jb->persistent || jb->fuse_fd >= 0) ? 1 : 0;
	if (r == 1 && (jb->d.j.flags & MOS_JOB_TTY)) {
		/* the pty master follows once the job has entered its root */
		jb->ready_fd = ready[0];
		jb->pty_open = true;
		conn_watch(jb->conn, jb->ready_fd, POLLIN, on_pty_master, jb);
	} else {
		close(ready[0]);
	}
	ready[0] = -1;
	if (jb->persistent)
		goto serving;
	set_mosfs_config(jb);
	if (r == 1) {
		r = mosfs_start(&jb->fc, jb->fuse_fd, &jb->fs);
		if (r < 0) {
			mos_err("cannot serve the job's filesystem: %s", strerror(-r));
			job_kill(jb, SIGKILL);
		}
	}
	if (!jb->fs) {
		/* The job failed before mounting; its stderr says why.  Nothing to serve. */
		closep(&jb->fuse_fd);
		jb->fuse_fd = -1;
	}
serving:
	jb->started = true;
	if (jb->pending_signal)
		job_kill(jb, jb->pending_signal);
	if (pthread_create(&jb->finisher, NULL, finisher, jb) == 0)
		jb->finisher_started = true;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		closep(&in[i]);
		closep(&out[i]);
		closep(&err[i]);
		closep(&ready[i]);
	}
	mos_err("cannot start the job: %s", strerror(-r));
	return r;
}

/*
 * A session's job has ended (EXIT sent) and the origin begins the next one:
 * what was the job's goes (its process is reaped, its mount gone, its
 * output read to the end), what the session keeps stays.  Loop thread.
 */
static void job_reset(struct job *jb)
{
	if (jb->finisher_started)
		pthread_join(jb->finisher, NULL);
	conn_unwatch(jb->conn, jb->out_watch);
	conn_unwatch(jb->conn, jb->err_watch);
	conn_unwatch(jb->conn, jb->in_watch);
	conn_unwatch(jb->conn, jb->pty_watch);
	if (jb->fs && !jb->persistent)
		mosfs_free(jb->fs);
	if (!jb->persistent)
		closep(&jb->fuse_fd);
	closep(&jb->in_w);
	closep(&jb->out_r);
	closep(&jb->err_r);
	closep(&jb->pty);
	closep(&jb->ready_fd);
	closep(&jb->pidfd);
	if (jb->dir[0] && !jb->persistent)
		rm_rf(jb->dir);
	free(jb->inbuf);
	job_desc_free(&jb->d);
	free(jb->job_frame);
	jb->job_frame = NULL;
	remote_backend_job_done(&jb->rb);
	jb->started = jb->exit_sent = jb->counted = jb->finisher_started = false;
	jb->pending_signal = 0;
	jb->pid = 0;
	jb->in_w = jb->out_r = jb->err_r = jb->pty = jb->ready_fd = jb->pidfd = -1;
	jb->out_watch = jb->err_watch = jb->in_watch = jb->pty_watch = NULL;
	jb->out_paused = jb->err_paused = jb->pty_paused = false;
	jb->out_open = jb->err_open = jb->pty_open = false;
	jb->inbuf = NULL;
	jb->inlen = 0;
	jb->in_eof = false;
	jb->out_unacked = jb->preloaded = 0;
	if (jb->persistent)
		return; /* the session's mount, and its directory, stay */
	jb->fuse_fd = -1;
	jb->fs = NULL;
	jb->fc = (struct mosfs_config){ 0 };
	jb->dir[0] = jb->scratch[0] = jb->root[0] = 0;
}

/* A frame that begins a job (PRELOAD_*, JOB): after a session's EXIT, the
 * previous job is cleared first.  False when no job may begin now. */
static bool job_begin(struct job *jb)
{
	if (jb->started && jb->session && __atomic_load_n(&jb->exit_sent, __ATOMIC_SEQ_CST))
		job_reset(jb);
	return !jb->started;
}

static void on_frame(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	struct job *jb = arg;
	struct wire_reader rd;
	const char *why = NULL;

	wire_reader_init(&rd, payload, h->len);
	if (!jb->hello && h->type != MOS_MSG_HELLO) {
		conn_fail(c, "the origin did not start with HELLO");
		goto out;
	}
	switch (h->type) {
	case MOS_MSG_HELLO:
		why = wire_hello_check(payload, h->len, 1);
		if (why) {
			conn_fail(c, why);
			goto out;
		}
		jb->rb.origin_features = wire_hello_features(payload, h->len);
		jb->session = jb->rb.session = jb->rb.origin_features & MOS_FEAT_SESSION;
		jb->hello = true;
		conn_peer_keepalive(c, wire_hello_features(payload, h->len) & MOS_FEAT_KEEPALIVE);
		break;
	case MOS_MSG_JOB:
		if (!job_begin(jb)) {
			conn_fail(c, jb->session ? "a JOB before the previous one's EXIT"
						 : "a second JOB on one connection");
			goto out;
		}
		alarm(0);
		session_idle = 0;
		if (!job_desc_parse(payload, h->len, &jb->d, &why)) {
			char m[160];

			snprintf(m, sizeof(m), "malformed JOB: %s", why);
			conn_fail(c, m);
			goto out;
		}
		free(jb->job_frame);
		jb->job_frame = steal_pointer(&payload); /* the job process parses it again */
		jb->job_len = h->len;
		if (jb->jc->counters) {
			__atomic_add_fetch(&jb->jc->counters->running, 1, __ATOMIC_SEQ_CST);
			jb->counted = true;
		}
		if (jb->session && !jb->persistent && !jb->session_tried) {
			jb->session_tried = true;
			session_mount(jb);
		}
		if (start_job(jb) < 0) {
			jb->started = true;
			send_exit(jb, MOS_EXIT_SETUP, 0, "the worker could not start the job");
		}
		break;
	case MOS_MSG_PRELOAD_LISTDIR:
	case MOS_MSG_PRELOAD_OPEN:
		/* what the origin sends ahead is kept for the whole job: bounded */
		job_begin(jb);
		jb->preloaded += h->len;
		if (jb->started || jb->preloaded > PRELOAD_MAX) {
			conn_fail(c, jb->started ? "PRELOAD after the JOB"
						 : "the origin preloaded more than 128 MiB");
			goto out;
		}
		if (h->type == MOS_MSG_PRELOAD_OPEN) {
			if (remote_backend_preload_open(&jb->rb, payload, h->len) < 0) {
				conn_fail(c, "malformed PRELOAD_OPEN");
				goto out;
			}
			break;
		}
		if (remote_backend_preload_listing(&jb->rb, payload, h->len,
						   h->flags & MOS_F_MORE) < 0) {
			conn_fail(c, "malformed PRELOAD_LISTDIR");
			goto out;
		}
		break;
	case MOS_MSG_STDIN: {
		const void *data;
		size_t len;

		if (!wire_get_var(&rd, &data, &len, MOS_DATA_CHUNK) || !wire_end(&rd)) {
			conn_fail(c, "malformed STDIN");
			goto out;
		}
		if (jb->started)
			on_stdin(jb, data, len);
		break;
	}
	case MOS_MSG_INVALIDATE: {
		_cleanup_free_ char *path = NULL;

		if (!jb->session) {
			conn_fail(c, "INVALIDATE outside a session");
			goto out;
		}
		if (h->id || !wire_get_str(&rd, &path, MOS_PATH_MAX) || path[0] != '/' ||
		    !wire_end(&rd)) {
			conn_fail(c, "malformed INVALIDATE");
			goto out;
		}
		remote_backend_invalidate(&jb->rb, path);
		if (jb->persistent)
			mosfs_invalidate_queue(jb->fs, path); /* applied before the next job */
		break;
	}
	case MOS_MSG_STATUS:
		if (h->len || !h->id) {
			conn_fail(c, "malformed STATUS");
			goto out;
		}
		send_status(jb, h->id);
		break;
	case MOS_MSG_SIGNAL: {
		struct mos_signal s;

		if (!wire_get(&rd, &s, sizeof(s)) || !wire_end(&rd) || s.signo < 1 ||
		    s.signo > 64) {
			conn_fail(c, "malformed SIGNAL");
			goto out;
		}
		if (jb->started && jb->pid > 0)
			job_kill(jb, (int)s.signo);
		else
			jb->pending_signal = (int)s.signo; /* delivered once the job exists */
		break;
	}
	case MOS_MSG_CREDIT: {
		struct mos_credit cr;

		if (!wire_get(&rd, &cr, sizeof(cr)) || !wire_end(&rd)) {
			conn_fail(c, "malformed CREDIT");
			goto out;
		}
		credit(jb, cr.bytes);
		break;
	}
	case MOS_MSG_CANCEL:
		if (h->len) {
			conn_fail(c, "malformed CANCEL");
			goto out;
		}
		/* The origin is ending the job and has dropped its write-backs:
		 * stop sending them now, so that EXIT (which waits for every
		 * close) reaches it within its grace, not after megabytes of
		 * data it throws away. */
		if (!atomic_exchange(&jb->rb.cancelled, true))
			mos_info("the origin is ending the job: its write-backs stop here");
		conn_drop_type(c, MOS_MSG_PUT_DATA);
		break;
	case MOS_MSG_WINSIZE: {
		struct mos_winsize w;

		if (!wire_get(&rd, &w, sizeof(w)) || !wire_end(&rd)) {
			conn_fail(c, "malformed WINSIZE");
			goto out;
		}
		if (jb->pty >= 0) {
			struct winsize ws = { .ws_row = w.rows, .ws_col = w.cols };

			ioctl(jb->pty, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH */
		}
		break;
	}
	default:
		conn_fail(c, "unexpected message from the origin");
	}
out:
	free(payload);
}

static void start_timeout(int sig)
{
	static const char msg[] = "mosd: dropped a connection that sent no job in time "
				  "(--start-timeout)\n";
	static const char idle[] = "mosd: closed a session idle since its last job "
				   "(--session-idle)\n";

	(void)sig;
	if (session_idle) {
		(void)!write(2, idle, sizeof(idle) - 1);
		_exit(0);
	}
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

int job_serve_connection(int rfd, int wfd, struct tls_channel *tls, const struct job_config *jc)
{
	struct job jb = { .jc = jc,
			  .in_w = -1,
			  .out_r = -1,
			  .err_r = -1,
			  .fuse_fd = -1,
			  .pty = -1,
			  .ready_fd = -1,
			  .pidfd = -1,
			  .spare_pidfd = -1,
			  .spare_sock = -1,
			  .spare_efd = -1 };
	struct wire_buf b = { 0 };
	int r;

	/* Without root, a user namespace of our own now, while this process
	 * has one thread: a session's mount lives in it, and each job's. */
	if (jc->unprivileged && try_own_userns())
		jb.own_userns = true;
	if (exe_fd < 0)
		exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	signal(SIGALRM, start_timeout);
	alarm(jc->start_timeout_s); /* cleared when the JOB arrives */
	pthread_mutex_init(&jb.lock, NULL);
	pthread_cond_init(&jb.cond, NULL);
	pthread_mutex_init(&jb.rb.lock, NULL);
	jb.conn = conn_new(rfd, wfd, tls, on_frame, &jb);
	conn_set_timeouts(jb.conn, jc->peer_timeout_ms, jc->peer_timeout_ms);
	jb.rb.conn = jb.conn;
	jb.rb.cas = jc->cas;
	jb.rb.opened = open_cache_new();
	jb.spare_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (jb.spare_efd >= 0)
		conn_watch(jb.conn, jb.spare_efd, POLLIN, on_spare_due, &jb);
	r = conn_handshake(jb.conn);
	if (r < 0) {
		mos_warn("connection refused: %s", conn_error(jb.conn));
		goto out;
	}
	wire_hello_build(&b, 2);
	conn_send(jb.conn, &b);
	r = conn_run(jb.conn);
	if (!__atomic_load_n(&jb.exit_sent, __ATOMIC_SEQ_CST)) {
		/* (an origin that only asked for STATUS sent no job: no loss) */
		if (jb.started || r < 0)
			mos_warn("the origin went away: %s", conn_error(jb.conn));
		r = jb.started || r < 0 ? -ECONNRESET : 0;
	}
	if (jb.started && jb.pid > 0)
		job_kill(&jb, SIGKILL); /* a no-op after a normal end */
	uncount(&jb);			/* a job the origin left before its EXIT */
	pthread_mutex_lock(&jb.lock);
	jb.out_open = jb.err_open = jb.pty_open = false; /* nobody reads them any more */
	pthread_cond_broadcast(&jb.cond);
	pthread_mutex_unlock(&jb.lock);
	if (jb.fs && !__atomic_load_n(&jb.exit_sent, __ATOMIC_SEQ_CST))
		mosfs_abort(jb.fs);
	if (jb.finisher_started)
		pthread_join(jb.finisher, NULL);
	else if (jb.started && jb.pid > 0)
		wait_status(jb.pid);
out:
	spare_drop(&jb);
	if (jb.persistent) {
		mosfs_abort(jb.fs); /* the session's, still serving */
		umount2(jb.root, MNT_DETACH);
	}
	if (jb.fs)
		mosfs_free(jb.fs);
	closep(&jb.fuse_fd);
	closep(&jb.in_w);
	closep(&jb.out_r);
	closep(&jb.err_r);
	closep(&jb.pty);
	closep(&jb.ready_fd);
	closep(&jb.pidfd);
	if (jb.dir[0])
		rm_rf(jb.dir);
	conn_free(jb.conn);
	closep(&jb.spare_efd);
	open_cache_free(jb.rb.opened);
	remote_backend_free_preloaded(&jb.rb);
	free(jb.inbuf);
	job_desc_free(&jb.d);
	free(jb.job_frame);
	return r;
}
