// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_lsm_domain - in a guest with the BPF LSM (tests/vm/run): drive
 * userspace/confine/bpf/lsm_domain.c as mosctl does (load and pin, policies
 * compiled into domains, processes entered through pidfds) and check what
 * the kernel then does for each hook: allowed, or EACCES/EPERM/EXDEV, in a
 * child process entered into the domain, whose findings come back through a
 * pipe.  TAP; static; the plan comes last.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpf_lsm_probe.h"
#include "lsm_domain.h"
#include "tap.h"

static struct lsm_ctl *ctl;

/* ---- findings of a child --------------------------------------------------- */

struct findings {
	char text[1024];
	int bad;
};

static void note(struct findings *f, const char *what, int got, int want)
{
	size_t len = strlen(f->text);

	if (got == want)
		return;
	f->bad++;
	snprintf(f->text + len, sizeof(f->text) - len, "%s%s: %s (want %s)", len ? "; " : "", what,
		 got ? strerror(got) : "allowed", want ? strerror(want) : "allowed");
}

#define ERR(x) ((x) < 0 ? errno : 0)

static int open_err(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

typedef void (*child_fn)(struct findings *f, void *arg);

/* FN in a child entered into domain ID (0: left alone); true when it found nothing wrong. */
static bool in_domain(uint32_t id, child_fn fn, void *arg, char *detail, size_t dn)
{
	int p[2], st;
	pid_t pid;
	ssize_t got;

	detail[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return false;
	pid = fork();
	if (pid == 0) {
		struct findings f = { .text = "" };
		struct mos_err e;

		close(p[0]);
		if (id && lsm_domain_enter(ctl, id, getpid(), &e) < 0) {
			snprintf(f.text, sizeof(f.text), "enter: %s", e.msg);
			f.bad = 1;
		} else {
			fn(&f, arg);
		}
		if (write(p[1], f.text, strlen(f.text)) < 0)
			_exit(3);
		_exit(f.bad ? 1 : 0);
	}
	close(p[1]);
	got = read(p[0], detail, dn - 1);
	detail[got > 0 ? got : 0] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

#define CHECK(id, fn, arg, what)                                         \
	do {                                                             \
		char d_[1024];                                           \
		bool ok_ = in_domain((id), (fn), (arg), d_, sizeof(d_)); \
		result(ok_, (what), "%s", d_);                           \
	} while (0)

/* ---- setup ------------------------------------------------------------------ */

static const char *const dirs[] = { "/tmp/t",	    "/tmp/t/ro",  "/tmp/t/ro/a", "/tmp/t/ro/a/b",
				    "/tmp/t/rw",    "/tmp/t/bin", "/tmp/t/rwx",	 "/tmp/t/rw/d",
				    "/tmp/t/rw/d2", "/tmp/t/mnt" };

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out, r = 0;
	ssize_t k;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((k = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)k) != k)
			r = -EIO;
	close(in);
	close(out);
	return r;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror(path);
		close(fd);
	}
}

static int setup_files(void)
{
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
			return -errno;
	put("/tmp/t/ro/f", "readable\n");
	put("/tmp/t/ro/a/b/deep", "deep\n");
	put("/tmp/t/ro/secret", "TOPSECRET\n");
	put("/tmp/t/ro/gone", "x\n");
	put("/tmp/t/rw/f", "writable\n");
	put("/tmp/t/rw/x", "moveme\n");
	put("/tmp/t/rw/y", "unlinkme\n");
	put("/tmp/t/other", "other\n");
	unlink("/tmp/t/rw/secret-link");
	if (link("/tmp/t/ro/secret", "/tmp/t/rw/secret-link") < 0)
		return -errno;
	if (copy_file("/bin/busybox", "/tmp/t/bin/busybox", 0755) < 0 ||
	    copy_file("/bin/busybox", "/tmp/t/rw/busybox", 0755) < 0)
		return -EIO;
	return 0;
}

/* lo up: the network checks talk to listeners on 127.0.0.1 and ::1. */
static void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	strcpy(ifr.ifr_name, "lo");
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
	usleep(200000); /* ::1 needs a moment (DAD is off on lo, but the route) */
}

static uint32_t make_domain(struct mos_policy *p, uint32_t parent, uint32_t flags)
{
	struct mos_err e;
	uint32_t id = 0;

	if (lsm_domain_new(ctl, p, parent, flags, 0, &id, &e) < 0) {
		printf("Bail out! lsm_domain_new: %s\n", e.msg);
		exit(1);
	}
	return id;
}

static void add_fs(struct mos_policy *p, const char *path, uint32_t access, bool deny)
{
	struct mos_err e;

	if (policy_add_fs(p, NULL, path, access, deny, "test", &e) < 0) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}
}

static void add_net(struct mos_policy *p, const char *spec, bool bind)
{
	struct mos_err e;
	int r = bind ? policy_add_net_bind(p, spec, "test", &e)
		     : policy_add_net_allow(p, spec, "test", &e);

	if (r < 0) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}
}

/* ---- files ------------------------------------------------------------------ */

static void files_allowed(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "read ro/f", open_err("/tmp/t/ro/f", O_RDONLY), 0);
	note(f, "read ro/a/b/deep", open_err("/tmp/t/ro/a/b/deep", O_RDONLY), 0);
	note(f, "list ro", open_err("/tmp/t/ro", O_RDONLY | O_DIRECTORY), 0);
	note(f, "rw rw/f", open_err("/tmp/t/rw/f", O_RDWR), 0);
	note(f, "create rw/new", open_err("/tmp/t/rw/new", O_WRONLY | O_CREAT), 0);
	note(f, "rw /dev/null", open_err("/dev/null", O_RDWR), 0);
}

static void files_refused(struct findings *f, void *arg)
{
	char buf[64] = "";
	int fd;

	(void)arg;
	note(f, "write ro/f", open_err("/tmp/t/ro/f", O_WRONLY), EACCES);
	note(f, "read other", open_err("/tmp/t/other", O_RDONLY), EACCES);
	note(f, "read ro/secret", open_err("/tmp/t/ro/secret", O_RDONLY), EACCES);
	note(f, "read rw/secret-link (same inode)", open_err("/tmp/t/rw/secret-link", O_RDONLY),
	     EACCES);
	note(f, "create in ro", open_err("/tmp/t/ro/new", O_WRONLY | O_CREAT), EACCES);
	fd = open("/tmp/t/ro/secret", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	note(f, "the secret's bytes", strstr(buf, "TOPSECRET") ? EIO : 0, 0);
}

static void files_across_mounts(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "read /proc/version", open_err("/proc/version", O_RDONLY), 0);
	note(f, "read /tmp/t/other", open_err("/tmp/t/other", O_RDONLY), 0);
	note(f, "write /tmp/t/other", open_err("/tmp/t/other", O_WRONLY), EACCES);
}

static void path_hooks(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "mkdir rw/m", ERR(mkdir("/tmp/t/rw/m", 0755)), 0);
	note(f, "rmdir rw/m", ERR(rmdir("/tmp/t/rw/m")), 0);
	note(f, "mkdir ro/m", ERR(mkdir("/tmp/t/ro/m", 0755)), EACCES);
	note(f, "rmdir ro/a/b", ERR(rmdir("/tmp/t/ro/a/b")), EACCES);
	note(f, "unlink rw/y", ERR(unlink("/tmp/t/rw/y")), 0);
	note(f, "unlink ro/gone", ERR(unlink("/tmp/t/ro/gone")), EACCES);
	note(f, "symlink rw/l", ERR(symlink("f", "/tmp/t/rw/l")), 0);
	note(f, "symlink ro/l", ERR(symlink("f", "/tmp/t/ro/l")), EACCES);
	note(f, "mkfifo rw/p", ERR(mkfifo("/tmp/t/rw/p", 0644)), 0);
	note(f, "mkfifo ro/p", ERR(mkfifo("/tmp/t/ro/p", 0644)), EACCES);
	note(f, "truncate rw/f", ERR(truncate("/tmp/t/rw/f", 1)), 0);
	note(f, "truncate ro/f", ERR(truncate("/tmp/t/ro/f", 1)), EACCES);
	note(f, "rename rw/x rw/d/x", ERR(rename("/tmp/t/rw/x", "/tmp/t/rw/d/x")), 0);
	note(f, "rename ro/f rw/f2", ERR(rename("/tmp/t/ro/f", "/tmp/t/rw/f2")), EACCES);
	note(f, "rename rw/d/x rwx/x (gains exec)", ERR(rename("/tmp/t/rw/d/x", "/tmp/t/rwx/x")),
	     EXDEV);
	note(f, "link rw/f rw/d2/f", ERR(link("/tmp/t/rw/f", "/tmp/t/rw/d2/f")), 0);
	note(f, "chmod rw/f", ERR(chmod("/tmp/t/rw/f", 0640)), 0);
	note(f, "chmod ro/f", ERR(chmod("/tmp/t/ro/f", 0600)), EACCES);
	note(f, "chown rw/f", ERR(chown("/tmp/t/rw/f", 0, 0)), 0);
	note(f, "chown ro/f", ERR(chown("/tmp/t/ro/f", 0, 0)), EACCES);
	note(f, "link ro/f rw/f3", ERR(link("/tmp/t/ro/f", "/tmp/t/rw/f3")), EACCES);
	note(f, "link rw/secret-link rw/s3", ERR(link("/tmp/t/rw/secret-link", "/tmp/t/rw/s3")),
	     EACCES);
}

/* errno of execve(PATH true) in a child (0: it ran and exited 0). */
static int exec_err(const char *path)
{
	int p[2], err = 0, st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)"busybox", (char *)"true", NULL };

		execv(path, argv);
		err = errno;
		if (write(p[1], &err, sizeof(err)) < 0)
			_exit(126);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &err, sizeof(err)) != sizeof(err))
		err = 0;
	close(p[0]);
	if (waitpid(pid, &st, 0) < 0)
		return errno;
	if (!err && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		err = ECHILD;
	return err;
}

static void exec_hook(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "exec bin/busybox", exec_err("/tmp/t/bin/busybox"), 0);
	note(f, "exec rw/busybox", exec_err("/tmp/t/rw/busybox"), EACCES);
}

/* ---- processes ---------------------------------------------------------------- */

static void *thread_open(void *arg)
{
	(void)arg;
	return (void *)(long)open_err("/tmp/t/other", O_RDONLY);
}

struct gate {
	int go[2], done[2];
	pid_t tid;
};

/* A thread that exists before the process enters: waits, then opens. */
static void *thread_waits(void *arg)
{
	struct gate *g = arg;
	char c;
	int e;

	g->tid = (pid_t)syscall(SYS_gettid);
	if (write(g->done[1], "r", 1) < 0 || read(g->go[0], &c, 1) != 1)
		return (void *)-1L;
	e = open_err("/tmp/t/other", O_RDONLY);
	return (void *)(long)e;
}

struct enter_arg {
	uint32_t id;
};

/* Enter through a thread's id; every thread, old and new, and a child. */
static void threads_and_children(struct findings *f, void *arg)
{
	struct enter_arg *a = arg;
	struct gate g;
	struct mos_err e;
	pthread_t old, young;
	void *rv;
	char c;
	pid_t pid;
	int st;

	if (pipe(g.go) < 0 || pipe(g.done) < 0 || pthread_create(&old, NULL, thread_waits, &g)) {
		note(f, "setup", errno ? errno : EIO, 0);
		return;
	}
	if (read(g.done[0], &c, 1) != 1)
		return;
	note(f, "open other before enter", open_err("/tmp/t/other", O_RDONLY), 0);
	if (lsm_domain_enter(ctl, a->id, g.tid, &e) < 0) {
		snprintf(f->text, sizeof(f->text), "enter through tid %d: %s", (int)g.tid, e.msg);
		f->bad++;
		return;
	}
	/* (lsm_domain_of needs bpf(), refused in here now) */
	if (write(g.go[1], "g", 1) < 0)
		return;
	pthread_join(old, &rv);
	note(f, "a thread from before enter", (int)(long)rv, EACCES);
	pthread_create(&young, NULL, thread_open, NULL);
	pthread_join(young, &rv);
	note(f, "a thread created after enter", (int)(long)rv, EACCES);
	note(f, "the leader", open_err("/tmp/t/other", O_RDONLY), EACCES);
	pid = fork();
	if (pid == 0)
		_exit(open_err("/tmp/t/other", O_RDONLY));
	waitpid(pid, &st, 0);
	note(f, "a child forked after enter", WIFEXITED(st) ? WEXITSTATUS(st) : EIO, EACCES);
}

static void *thread_execs(void *arg)
{
	char *argv[] = { (char *)"busybox", (char *)"cat", (char *)"/tmp/t/other", NULL };

	(void)arg;
	execv("/tmp/t/bin/busybox", argv);
	return NULL;
}

/* execve by a thread that is not the leader: the new leader keeps the domain. */
static void exec_from_thread(struct findings *f, void *arg)
{
	pid_t pid;
	int st;

	(void)arg;
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		pthread_create(&t, NULL, thread_execs, NULL);
		pause();
		_exit(99);
	}
	waitpid(pid, &st, 0);
	/* busybox cat exits 1 when it cannot open the file */
	note(f, "busybox cat other, exec'd by a thread", WIFEXITED(st) ? WEXITSTATUS(st) : EIO, 1);
}

static void chained(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "write ro/f (the parent forbids)", open_err("/tmp/t/ro/a/b/deep", O_WRONLY),
	     EACCES);
	note(f, "read other (the parent forbids)", open_err("/tmp/t/other", O_RDONLY), EACCES);
	note(f, "read ro/f", open_err("/tmp/t/ro/a/b/deep", O_RDONLY), 0);
	note(f, "write rw/f (both allow)", open_err("/tmp/t/rw/f", O_WRONLY), 0);
}

/* Parent-side: a process in A cannot be moved to an unrelated domain. */
static bool never_loosen(uint32_t a, uint32_t b, uint32_t unrelated, char *detail, size_t dn)
{
	int p[2], st;
	pid_t pid;
	struct mos_err e;
	int r1, r2;
	char c;

	if (pipe(p) < 0)
		return false;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[0]);
	lsm_domain_enter(ctl, a, pid, &e);
	r1 = lsm_domain_enter(ctl, unrelated, pid, &e);
	snprintf(detail, dn, "to an unrelated domain: %s; ", r1 < 0 ? strerror(-r1) : "moved");
	r2 = lsm_domain_enter(ctl, b, pid, &e);
	snprintf(detail + strlen(detail), dn - strlen(detail), "beneath its own: %s; now in %u",
		 r2 < 0 ? e.msg : "moved", lsm_domain_of(ctl, pid));
	bool ok = r1 == -EPERM && r2 == 0 && lsm_domain_of(ctl, pid) == b;

	close(p[1]);
	waitpid(pid, &st, 0);
	return ok;
}

struct revoke_arg {
	uint32_t id;
};

static void revoked(struct findings *f, void *arg)
{
	struct revoke_arg *a = arg;
	int rd = open("/tmp/t/other", O_RDONLY | O_CLOEXEC);
	int rdok = open("/tmp/t/ro/a/b/deep", O_RDONLY | O_CLOEXEC);
	char buf[16];
	struct mos_err e;

	if (rd < 0 || rdok < 0 || lsm_domain_enter(ctl, a->id, getpid(), &e) < 0) {
		note(f, "setup", EIO, 0);
		return;
	}
	note(f, "read an fd of other opened before", ERR(read(rd, buf, sizeof(buf))), EACCES);
	note(f, "read an fd of a granted file", ERR(read(rdok, buf, sizeof(buf))), 0);
}

static void no_revoke(struct findings *f, void *arg)
{
	struct revoke_arg *a = arg;
	int rd = open("/tmp/t/other", O_RDONLY | O_CLOEXEC);
	char buf[16];
	struct mos_err e;

	if (rd < 0 || lsm_domain_enter(ctl, a->id, getpid(), &e) < 0) {
		note(f, "setup", EIO, 0);
		return;
	}
	note(f, "read an fd of other opened before (no revoke)", ERR(read(rd, buf, sizeof(buf))),
	     0);
	note(f, "open other again", open_err("/tmp/t/other", O_RDONLY), EACCES);
}

/* ---- network ------------------------------------------------------------------- */

#define PORT_OK 4001
#define PORT_NO 4002
#define PORT_BIND 4003
#define PORT_BIND_NO 4004

static int listeners[4];

static int listen_on(int family, const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, addr, &in->sin_addr);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;

		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
		len = sizeof(*in6);
	}
	if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, 16) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* errno of a TCP (or UDP: TYPE) connect from FAMILY to ADDR:PORT. */
static int connect_err(int family, int type, const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int s = socket(family, type | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return errno;
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *in6 = (void *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
		len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, addr, &in->sin_addr);
		len = sizeof(*in);
	}
	r = ERR(connect(s, (struct sockaddr *)&ss, len));
	close(s);
	return r;
}

static int bind_err(int family, int type, int port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int s = socket(family, type | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return errno;
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	r = ERR(bind(s, (struct sockaddr *)&ss, len));
	close(s);
	return r;
}

/* errno of listen() on a TCP socket bound to PORT (0: not bound). */
static int listen_err(int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0, one = 1;

	if (s < 0)
		return errno;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (port)
		r = ERR(bind(s, (struct sockaddr *)&in, sizeof(in)));
	if (!r)
		r = ERR(listen(s, 4));
	close(s);
	return r;
}

static int sendto_err(const char *addr, int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return errno;
	inet_pton(AF_INET, addr, &in.sin_addr);
	r = ERR(sendto(s, "x", 1, 0, (struct sockaddr *)&in, sizeof(in)));
	close(s);
	return r;
}

static int unix_connect_err(const char *path)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return errno;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	r = ERR(connect(s, (struct sockaddr *)&un, sizeof(un)));
	close(s);
	return r;
}

static void net_tcp(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "connect 127.0.0.1:4001", connect_err(AF_INET, SOCK_STREAM, "127.0.0.1", PORT_OK),
	     0);
	note(f, "connect 127.0.0.1:4002", connect_err(AF_INET, SOCK_STREAM, "127.0.0.1", PORT_NO),
	     EACCES);
	note(f, "connect [::1]:4001", connect_err(AF_INET6, SOCK_STREAM, "::1", PORT_OK), 0);
	note(f, "connect [::1]:4002", connect_err(AF_INET6, SOCK_STREAM, "::1", PORT_NO), EACCES);
	note(f, "connect [::ffff:127.0.0.1]:4001",
	     connect_err(AF_INET6, SOCK_STREAM, "::ffff:127.0.0.1", PORT_OK), 0);
	note(f, "connect [::ffff:127.0.0.1]:4002",
	     connect_err(AF_INET6, SOCK_STREAM, "::ffff:127.0.0.1", PORT_NO), EACCES);
	note(f, "bind 4003", bind_err(AF_INET, SOCK_STREAM, PORT_BIND), 0);
	note(f, "bind [::1]:4003", bind_err(AF_INET6, SOCK_STREAM, PORT_BIND), 0);
	note(f, "bind 4004", bind_err(AF_INET, SOCK_STREAM, PORT_BIND_NO), EACCES);
	note(f, "listen unbound (an ephemeral port)", listen_err(0), EACCES);
	note(f, "listen on 4003", listen_err(PORT_BIND), 0);
}

static void net_sockets(struct findings *f, void *arg)
{
	int sv[2], s;

	(void)arg;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	note(f, "socket UDP (no --allow-udp)", ERR(s), EACCES);
	s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	note(f, "socket raw", ERR(s), EACCES);
	s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	note(f, "socket AF_PACKET", ERR(s), EAFNOSUPPORT);
	note(f, "unix connect (no --allow-unix)", unix_connect_err("/tmp/t/sock"), EACCES);
	s = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	note(f, "socketpair", ERR(s), 0);
}

static void net_udp(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "sendto 127.0.0.1:4001", sendto_err("127.0.0.1", PORT_OK), 0);
	note(f, "sendto 127.0.0.1:4002", sendto_err("127.0.0.1", PORT_NO), EACCES);
	note(f, "connect udp 127.0.0.1:4002",
	     connect_err(AF_INET, SOCK_DGRAM, "127.0.0.1", PORT_NO), EACCES);
	note(f, "socket ICMP (UDP allowed)",
	     ERR(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP)), EACCES);
}

static void net_chained(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "connect 127.0.0.1:4001 (both allow)",
	     connect_err(AF_INET, SOCK_STREAM, "127.0.0.1", PORT_OK), 0);
	note(f, "connect 127.0.0.1:4002 (the parent forbids)",
	     connect_err(AF_INET, SOCK_STREAM, "127.0.0.1", PORT_NO), EACCES);
}

static void udp_anywhere(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "sendto 127.0.0.1:4002", sendto_err("127.0.0.1", PORT_NO), 0);
	note(f, "TCP connect 127.0.0.1:4001",
	     connect_err(AF_INET, SOCK_STREAM, "127.0.0.1", PORT_OK), EACCES);
}

static void net_unix(struct findings *f, void *arg)
{
	(void)arg;
	note(f, "unix connect (--allow-unix)", unix_connect_err("/tmp/t/sock"), 0);
}

/* ---- tasks ----------------------------------------------------------------------- */

static void no_bpf(struct findings *f, void *arg)
{
	union bpf_attr attr;
	struct mos_err e;

	(void)arg;
	memset(&attr, 0, sizeof(attr));
	note(f, "bpf(BPF_MAP_GET_NEXT_ID)",
	     ERR(syscall(SYS_bpf, BPF_MAP_GET_NEXT_ID, &attr, sizeof(attr))), EPERM);
	note(f, "lsm_domain_leave(self) fails", lsm_domain_leave(ctl, getpid(), &e) < 0 ? 0 : EIO,
	     0);
	note(f, "still confined", open_err("/tmp/t/other", O_RDONLY), EACCES);
}

struct tasks_arg {
	pid_t outsider;
	uint32_t inner;
};

static void tasks(struct findings *f, void *arg)
{
	struct tasks_arg *a = arg;
	char path[64];
	int go[2], st;
	pid_t kid;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)a->outsider);
	note(f, "kill(outsider, 0)", ERR(kill(a->outsider, 0)), EPERM);
	note(f, "kill(parent, 0)", ERR(kill(getppid(), 0)), EPERM);
	note(f, "open /proc/outsider/environ (ptrace read)", open_err(path, O_RDONLY), EACCES);
	note(f, "mount tmpfs", ERR(mount("none", "/tmp/t/mnt", "tmpfs", 0, NULL)), EPERM);
	note(f, "umount /tmp", ERR(umount2("/tmp", MNT_DETACH)), EPERM);
	if (pipe(go) < 0)
		return;
	kid = fork();
	if (kid == 0) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		/* moved into the inner domain meanwhile: its parent is outside it */
		_exit(kill(getppid(), 0) < 0 ? errno : 0);
	}
	close(go[0]);
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)kid);
	note(f, "kill(own child, 0)", ERR(kill(kid, 0)), 0);
	note(f, "open /proc/own child/environ", open_err(path, O_RDONLY), 0);
	note(f, "ptrace(ATTACH, own child)", ERR(ptrace(PTRACE_ATTACH, kid, 0, 0)), 0);
	waitpid(kid, &st, 0);
	ptrace(PTRACE_DETACH, kid, 0, 0);
	(void)a->inner;
	if (write(go[1], "g", 1) < 0)
		return;
	waitpid(kid, &st, 0);
	note(f, "the child kills its parent (same domain)", WIFEXITED(st) ? WEXITSTATUS(st) : EIO,
	     0);
}

/* A process of domain A signals one of B (beneath A): yes; back: no. */
static bool signals_down_not_up(uint32_t a, uint32_t b, char *detail, size_t dn)
{
	int go[2], st, stk, down;
	pid_t parent, kid;
	struct mos_err e;

	detail[0] = '\0';
	if (pipe(go) < 0)
		return false;
	parent = fork();
	if (parent == 0) {
		kid = fork();
		if (kid == 0) {
			char c;

			close(go[1]);
			if (read(go[0], &c, 1) != 1)
				_exit(2);
			_exit(kill(getppid(), 0) < 0 ? errno : 0);
		}
		close(go[0]);
		if (lsm_domain_enter(ctl, b, kid, &e) < 0 ||
		    lsm_domain_enter(ctl, a, getpid(), &e) < 0)
			_exit(100);
		down = kill(kid, 0) < 0 ? errno : 0;
		if (write(go[1], "g", 1) < 0)
			_exit(101);
		waitpid(kid, &stk, 0);
		_exit(down ? 102 : (WIFEXITED(stk) ? WEXITSTATUS(stk) : 103));
	}
	close(go[0]);
	close(go[1]);
	waitpid(parent, &st, 0);
	snprintf(detail, dn, "status %d (EPERM=%d: the inner one may not signal the outer)",
		 WIFEXITED(st) ? WEXITSTATUS(st) : -1, EPERM);
	return WIFEXITED(st) && WEXITSTATUS(st) == EPERM;
}

/* ---- events ------------------------------------------------------------------------ */

struct tally {
	uint32_t domain;
	int mine, open_ops, right_inode;
	uint64_t ino;
	uint32_t dev;
};

static void on_event(const struct lsm_event *ev, void *arg)
{
	struct tally *t = arg;

	if (!t || ev->domain != t->domain)
		return;
	t->mine++;
	t->open_ops += ev->op == MOS_LSM_OP_OPEN;
	t->right_inode += ev->ino == t->ino && ev->dev == t->dev;
}

static void three_denials(struct findings *f, void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		note(f, "read other", open_err("/tmp/t/other", O_RDONLY), EACCES);
	note(f, "read ro/f", open_err("/tmp/t/ro/f", O_RDONLY), 0);
}

static void fail_closed(struct findings *f, void *arg)
{
	int *go = arg;
	char c;

	/* returns once the domain is gone: with the byte, or refused (EACCES) */
	if (read(go[0], &c, 1) < 0 && errno != EACCES)
		note(f, "waiting", errno, 0);
	note(f, "read ro/f after its domain was deleted", open_err("/tmp/t/ro/f", O_RDONLY),
	     EACCES);
}

/* ---- main ---------------------------------------------------------------------------- */

int main(void)
{
	struct mos_policy files, root, chain_a, chain_b, unrelated, net, udp, unixp, rev;
	uint32_t d_files, d_root, d_a, d_b, d_unrelated, d_net, d_udp, d_unix, d_rev, d_norev, d_ev;
	struct lsm_ctl *again = NULL;
	char why[256], detail[1024];
	struct mos_err e;
	struct stat st;
	int r;

	printf("TAP version 13\n");
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN); /* a child refused even its pipe reads exits early */
	if (mos_bpf_lsm_probe(why, sizeof(why)) != MOS_BPF_LSM_USABLE) {
		printf("1..0 # SKIP BPF LSM: %s (missing CONFIG_BPF_LSM or lsm=...,bpf?)\n", why);
		return 0;
	}
	if ((r = setup_files()) < 0) {
		printf("Bail out! cannot make the test files: %s\n", strerror(-r));
		return 1;
	}
	loopback_up();

	r = lsm_ctl_open(&ctl, &e);
	result(r == 0 && lsm_ctl_loaded(ctl) && stat(lsm_ctl_pin_dir(ctl), &st) == 0,
	       "lsm_ctl_open loads, attaches and pins the programs", "%s",
	       r ? e.msg : lsm_ctl_pin_dir(ctl));
	if (r)
		return 1;
	r = lsm_ctl_open(&again, &e);
	result(r == 0 && !lsm_ctl_loaded(again) &&
		       !strcmp(lsm_ctl_pin_dir(again), lsm_ctl_pin_dir(ctl)),
	       "a second lsm_ctl_open reuses the pins", "%s", r ? e.msg : "");
	lsm_ctl_close(again);

	policy_init(&files);
	add_fs(&files, "/tmp/t/ro", MOS_FS_READ, false);
	add_fs(&files, "/tmp/t/rw", MOS_FS_READ | MOS_FS_WRITE, false);
	add_fs(&files, "/tmp/t/bin", MOS_FS_READ | MOS_FS_EXEC, false);
	add_fs(&files, "/tmp/t/rwx", MOS_FS_ALL, false);
	add_fs(&files, "/tmp/t/ro/secret", 0, true);
	d_files = make_domain(&files, 0, 0);

	CHECK(d_files, files_allowed, NULL,
	      "files: read beneath a granted directory (3 levels down), read+write beneath "
	      "another, the always-granted devices");
	CHECK(d_files, files_refused, NULL,
	      "files: EACCES for write where only read is granted, an ungranted file, a denied "
	      "file (also through a hard link); its bytes never read");

	policy_init(&root);
	add_fs(&root, "/", MOS_FS_READ, false);
	d_root = make_domain(&root, 0, 0);
	CHECK(d_root, files_across_mounts, NULL,
	      "files: read granted on / reaches other mounts (/proc, /tmp), write refused");
	CHECK(d_files, path_hooks, NULL,
	      "path hooks: mkdir, rmdir, unlink, symlink, mknod, truncate, chmod, chown, rename, "
	      "link need write on the directory chain; a move that gains rights is EXDEV");
	CHECK(d_files, exec_hook, NULL, "exec: allowed beneath an exec grant, EACCES elsewhere");

	{
		struct enter_arg a = { .id = d_files };

		CHECK(0, threads_and_children, &a,
		      "entered through a thread's id: every thread (from before and after) and "
		      "a child forked afterwards are confined");
	}
	CHECK(d_files, exec_from_thread, NULL,
	      "execve by a non-leader thread: the new leader keeps the domain");

	policy_init(&chain_a);
	add_fs(&chain_a, "/tmp/t/ro", MOS_FS_READ, false);
	add_fs(&chain_a, "/tmp/t/rw", MOS_FS_READ | MOS_FS_WRITE, false);
	d_a = make_domain(&chain_a, 0, 0);
	policy_init(&chain_b);
	add_fs(&chain_b, "/tmp/t/ro", MOS_FS_READ | MOS_FS_WRITE, false);
	add_fs(&chain_b, "/tmp/t/rw", MOS_FS_READ | MOS_FS_WRITE, false);
	add_fs(&chain_b, "/tmp/t/other", MOS_FS_READ, false);
	d_b = make_domain(&chain_b, d_a, 0);
	CHECK(d_b, chained, NULL,
	      "chained: a domain under a parent cannot do what the parent forbids (tighten, "
	      "never loosen)");
	policy_init(&unrelated);
	add_fs(&unrelated, "/", MOS_FS_ALL, false);
	d_unrelated = make_domain(&unrelated, 0, 0);
	result(never_loosen(d_a, d_b, d_unrelated, detail, sizeof(detail)),
	       "lsm_domain_enter: EPERM to an unrelated domain, allowed beneath the current one",
	       "%s", detail);

	policy_init(&rev);
	add_fs(&rev, "/tmp/t/ro", MOS_FS_READ, false);
	d_rev = make_domain(&rev, 0, LSM_DOMAIN_REVOKE);
	d_norev = make_domain(&rev, 0, 0);
	{
		struct revoke_arg ra = { .id = d_rev }, nr = { .id = d_norev };

		CHECK(0, revoked, &ra,
		      "revoke: a read through an fd opened before enter is EACCES");
		CHECK(0, no_revoke, &nr,
		      "without revoke, that fd still reads (only opens are checked)");
	}

	listeners[0] = listen_on(AF_INET, "127.0.0.1", PORT_OK);
	listeners[1] = listen_on(AF_INET, "127.0.0.1", PORT_NO);
	listeners[2] = listen_on(AF_INET6, "::1", PORT_OK);
	listeners[3] = listen_on(AF_INET6, "::1", PORT_NO);
	policy_init(&net);
	add_net(&net, "127.0.0.1:4001", false);
	add_net(&net, "[::1]:4001", false);
	add_net(&net, "4003", true);
	d_net = make_domain(&net, 0, 0);
	{
		int ok = listeners[0] >= 0 && listeners[1] >= 0 && listeners[2] >= 0 &&
			 listeners[3] >= 0;

		if (!ok)
			result(0, "network: listeners on 127.0.0.1 and ::1", "%s", strerror(errno));
	}
	CHECK(d_net, net_tcp, NULL,
	      "network: TCP connect to allowed host:port only (IPv4, IPv6, v4-mapped), bind to "
	      "allowed ports only, no listen on an unbound socket");
	CHECK(d_net, net_sockets, NULL,
	      "network: no UDP, raw or other families without rules; unix connect refused, "
	      "socketpair works");
	policy_init(&udp);
	udp.allow_udp = true;
	add_net(&udp, "127.0.0.1:4001", false);
	d_udp = make_domain(&udp, 0, 0);
	CHECK(d_udp, net_udp, NULL,
	      "network: with --allow-udp and --net-allow, datagrams to those destinations only");
	{
		struct mos_policy parent, child, anywhere;
		uint32_t d_parent;

		policy_init(&parent);
		add_net(&parent, "127.0.0.1:4001", false);
		d_parent = make_domain(&parent, 0, 0);
		policy_init(&child);
		add_net(&child, "127.0.0.1:4001", false);
		add_net(&child, "127.0.0.1:4002", false);
		CHECK(make_domain(&child, d_parent, 0), net_chained, NULL,
		      "network, chained: a destination the parent forbids stays forbidden");
		policy_init(&anywhere);
		anywhere.allow_udp = true;
		CHECK(make_domain(&anywhere, 0, 0), udp_anywhere, NULL,
		      "network: --allow-udp without --net-allow: datagrams anywhere, no TCP");
		policy_free(&parent);
		policy_free(&child);
		policy_free(&anywhere);
	}
	{
		struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/tmp/t/sock" };
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		unlink(un.sun_path);
		if (s < 0 || bind(s, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(s, 4) < 0)
			result(0, "network: a unix listener", "%s", strerror(errno));
		policy_init(&unixp);
		unixp.allow_unix = true;
		d_unix = make_domain(&unixp, 0, 0);
		CHECK(d_unix, net_unix, NULL, "network: with --allow-unix, unix connect works");
		CHECK(d_net, net_sockets, NULL,
		      "network: without it, the same connect is EACCES (a listener exists)");
	}

	CHECK(d_files, no_bpf, NULL,
	      "a confined process gets EPERM from bpf(), so it cannot leave its domain");
	{
		pid_t outsider = fork();
		struct tasks_arg ta;

		if (outsider == 0) {
			pause();
			_exit(0);
		}
		ta.outsider = outsider;
		ta.inner = 0;
		CHECK(d_root, tasks, &ta,
		      "tasks: signals and ptrace only within the domain; mount and umount EPERM");
		kill(outsider, SIGKILL);
		waitpid(outsider, NULL, 0);
	}
	result(signals_down_not_up(d_a, d_b, detail, sizeof(detail)),
	       "tasks: a process may signal a domain chained beneath its own, not above", "%s",
	       detail);

	/* events: one record per denial */
	while (lsm_events_poll(ctl, 0, on_event, NULL) > 0)
		;
	d_ev = make_domain(&files, 0, 0);
	{
		struct tally t = { .domain = d_ev };
		struct lsm_domain_info *v = NULL;
		uint64_t denials = 0;
		size_t nv = 0;
		bool ran;

		stat("/tmp/t/other", &st);
		t.ino = st.st_ino;
		t.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
		ran = in_domain(d_ev, three_denials, NULL, detail, sizeof(detail));
		for (int i = 0; i < 10 && lsm_events_poll(ctl, 100, on_event, &t) > 0; i++)
			;
		lsm_domain_list(ctl, &v, &nv);
		for (size_t i = 0; i < nv; i++)
			if (v[i].id == d_ev)
				denials = v[i].denials;
		free(v);
		result(ran && t.mine == 3 && t.open_ops == 3 && t.right_inode == 3 &&
			       denials == 3 && lsm_events_dropped(ctl) == 0,
		       "events: one ring-buffer record per denial (op, inode), the domain's "
		       "counter, nothing dropped",
		       "%d records (%d open, %d on the inode), counter %llu, dropped %llu; %s",
		       t.mine, t.open_ops, t.right_inode, (unsigned long long)denials,
		       (unsigned long long)lsm_events_dropped(ctl), detail);
	}

	/* leave, delete, list */
	{
		int go[2], stt;
		pid_t pid;
		uint32_t before, after;

		if (pipe(go) < 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			char c;

			close(go[1]);
			if (read(go[0], &c, 1) != 1)
				_exit(2);
			_exit(open_err("/tmp/t/other", O_RDONLY));
		}
		close(go[0]);
		lsm_domain_enter(ctl, d_files, pid, &e);
		before = lsm_domain_of(ctl, pid);
		r = lsm_domain_leave(ctl, pid, &e);
		after = lsm_domain_of(ctl, pid);
		if (write(go[1], "g", 1) < 0)
			return 1;
		waitpid(pid, &stt, 0);
		result(r == 0 && before == d_files && after == 0 && WIFEXITED(stt) &&
			       WEXITSTATUS(stt) == 0,
		       "lsm_domain_leave: out of the domain, the open works again",
		       "before %u, after %u, child %d", before, after,
		       WIFEXITED(stt) ? WEXITSTATUS(stt) : -1);
	}
	r = lsm_domain_delete(ctl, d_a, &e);
	result(r == -EBUSY, "lsm_domain_delete refuses a domain with one chained beneath", "%s",
	       r ? e.msg : "deleted");
	{
		uint32_t d_tmp = make_domain(&files, 0, 0);
		int go[2];

		if (pipe(go) < 0)
			return 1;
		{
			pid_t pid = fork();
			struct mos_err e2;
			int stt;

			if (pid == 0) {
				struct findings f = { .text = "" };

				close(go[1]);
				fail_closed(&f, go);
				_exit(f.bad ? 1 : 0);
			}
			close(go[0]);
			lsm_domain_enter(ctl, d_tmp, pid, &e2);
			r = lsm_domain_delete(ctl, d_tmp, &e2);
			/* EPIPE when the child, refused its read, is gone already */
			if (write(go[1], "g", 1) < 0 && errno != EPIPE)
				return 1;
			waitpid(pid, &stt, 0);
			result(r == 0 && WIFEXITED(stt) && WEXITSTATUS(stt) == 0,
			       "a process whose domain was deleted is refused (fail closed)",
			       "delete %d, child %d", r, WIFEXITED(stt) ? WEXITSTATUS(stt) : -1);
		}
	}
	{
		/* gc: what no process is in goes, what one is in (and its parent) stays */
		uint32_t fresh = make_domain(&files, 0, 0), kept = make_domain(&files, d_a, 0);
		int young, old, go[2], stt;
		bool fresh_gone, kept_there = false, parent_there = false;
		struct lsm_domain_info *v = NULL;
		size_t nv = 0;
		pid_t pid;

		if (pipe(go) < 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			char c;

			close(go[1]);
			_exit(read(go[0], &c, 1) == 1 ? 0 : 1);
		}
		close(go[0]);
		lsm_domain_enter(ctl, kept, pid, &e);
		young = lsm_domain_gc(ctl, 3600);
		old = lsm_domain_gc(ctl, 0);
		lsm_domain_list(ctl, &v, &nv);
		fresh_gone = true;
		for (size_t i = 0; i < nv; i++) {
			fresh_gone &= v[i].id != fresh;
			kept_there |= v[i].id == kept;
			parent_there |= v[i].id == d_a;
		}
		free(v);
		if (write(go[1], "g", 1) < 0)
			return 1;
		waitpid(pid, &stt, 0);
		result(young == 0 && old > 0 && fresh_gone && kept_there && parent_there,
		       "lsm_domain_gc: deletes the domains no process is in, keeps one in use "
		       "and its parent, spares new ones",
		       "%d young, %d deleted, %zu left", young, old, nv);
	}
	{
		uint64_t cnt[MOS_LSM_CNT_MAX];

		lsm_counters(ctl, cnt);
		printf("# counters: dropped %llu, no-domain %llu, chain-too-deep %llu, "
		       "walk-too-deep %llu, storage-failed %llu\n",
		       (unsigned long long)cnt[0], (unsigned long long)cnt[1],
		       (unsigned long long)cnt[2], (unsigned long long)cnt[3],
		       (unsigned long long)cnt[4]);
	}
	printf("1..%d\n", n);
	lsm_ctl_close(ctl);
	return failed ? 1 : 0;
}
