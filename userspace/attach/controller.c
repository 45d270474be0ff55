// SPDX-License-Identifier: GPL-2.0-only
/*
 * controller.c - mosd --controller (see controller.h).
 */
#include "controller.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "attach.h"
#include "attach_bpf.h"
#include "control_proto.h"
#include "log.h"
#include "lsm_domain.h"
#include "sandbox.h"
#include "util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif
#define MAX_PEER_GROUPS 256

/*
 * A pidfd of the process that connected: SO_PEERPIDFD names it exactly
 * (Linux 6.5+); before that, pidfd_open of the SO_PEERCRED pid just after
 * accept, whose window (the client exiting and its pid being reused
 * between its connect and our accept) only its own uid's processes could
 * fill.  -1 when neither works.
 */
static int peer_pidfd(int conn, pid_t pid)
{
	socklen_t len = sizeof(int);
	int fd = -1;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0 && fd >= 0)
		return fd;
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Why PEER may not use the controller, or NULL.  PIDFD is PEER's: what was
 * read of /proc/PEER is PEER's only if it is still alive afterwards (a pid
 * is not reused while its process lives). */
static const char *confined_peer(struct lsm_ctl *c, pid_t peer, int pidfd)
{
	char path[64], line[256];
	struct stat mine, theirs;
	bool nnp = false, filtered = false;
	FILE *f;

	if (lsm_domain_of(c, peer))
		return "it is confined (a BPF LSM domain)";
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", peer);
	if (stat(path, &theirs) < 0 || stat("/proc/self/ns/pid", &mine) < 0 ||
	    theirs.st_ino != mine.st_ino || theirs.st_dev != mine.st_dev)
		return "it runs in another pid namespace (a sandbox or a container)";
	snprintf(path, sizeof(path), "/proc/%d/status", peer);
	f = fopen(path, "re");
	if (!f)
		return "its /proc entry cannot be read";
	while (fgets(line, sizeof(line), f)) {
		nnp |= !strcmp(line, "NoNewPrivs:\t1\n");
		filtered |= !strcmp(line, "Seccomp:\t2\n");
	}
	fclose(f);
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return "it went away while it was looked at";
	if (nnp && filtered)
		return "it runs under no_new_privs and a seccomp filter (a sandbox)";
	return NULL;
}

/*
 * From here on, act with the client's file credentials: fsuid, fsgid and
 * its supplementary groups (SO_PEERGROUPS), so that its working directory
 * and the policy's paths resolve with no more than its own permissions.
 * This process serves one client and exits.
 */
static int take_client_credentials(int conn, const struct ucred *cred)
{
	gid_t groups[MAX_PEER_GROUPS];
	socklen_t len = sizeof(groups);
	size_t n;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return -errno;
	n = len / sizeof(gid_t);
	if (setgroups(n, groups) < 0)
		return -errno;
	setfsgid(cred->gid);
	setfsuid(cred->uid);
	if ((uid_t)setfsuid((uid_t)-1) != cred->uid || (gid_t)setfsgid((gid_t)-1) != cred->gid)
		return -EPERM;
	return 0;
}

#define GC_INTERVAL_MS 60000
#define GC_MIN_AGE_S 60

static int conn_fd = -1;

/* The client went away (its mosctl was interrupted): stop serving it. */
static void *watch_client(void *arg)
{
	char b;

	(void)arg;
	while (recv(conn_fd, &b, 1, 0) < 0 && errno == EINTR)
		;
	_exit(1);
	return NULL;
}

static int serve_one(int conn, int pidfd, const struct ucred *cred, struct lsm_ctl *c)
{
	struct attach_actor who = { cred->uid, cred->gid, cred->pid, true };
	struct mos_err e = { "" };
	const char *why;
	char **argv, *cwd;
	int argc, fds[3], status, r;
	pthread_t th;

	if (control_recv(conn, &argv, &argc, &cwd, fds, &e) < 0) {
		mos_warn("client pid %d uid %u: %s", cred->pid, (unsigned)cred->uid, e.msg);
		control_reply(conn, MOS_EXIT_SETUP);
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		dup2(fds[i], i);
		if (fds[i] > 2)
			close(fds[i]);
	}
	mos_log_init("mosctl", MOS_LOG_WARN);
	mos_info("uid %u (pid %d): %s", (unsigned)cred->uid, cred->pid, argv[0]);
	why = confined_peer(c, cred->pid, pidfd);
	if (why) {
		mos_err("mosd --controller refuses process %d: %s", cred->pid, why);
		status = 1;
	} else if ((r = take_client_credentials(conn, cred)) < 0) {
		mos_err("mosd --controller: cannot take your credentials: %s", strerror(-r));
		status = MOS_EXIT_SETUP;
	} else if (chdir(cwd) < 0) {
		mos_err("mosd --controller: cannot enter your working directory %s: %s", cwd,
			strerror(errno));
		status = MOS_EXIT_SETUP;
	} else {
		conn_fd = conn;
		attach_bpf_use(c);
		pthread_create(&th, NULL, watch_client, NULL);
		/* Paths resolve with the client's permissions, not root's. */
		status = attach_serve(argc, argv, &who);
	}
	fflush(NULL);
	free(argv);
	control_reply(conn, status);
	return 0;
}

int controller_run(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mos_err e = { "" };
	struct lsm_ctl *c = NULL;
	char dir[sizeof(sa.sun_path)];
	int lfd;

	if (!sock)
		sock = MOS_CONTROL_SOCK;
	if (geteuid() != 0) {
		mos_err("mosd --controller runs as root: it loads BPF programs for its users");
		return MOS_EXIT_SETUP;
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		mos_err("--socket: %s is too long for a unix socket", sock);
		return MOS_EXIT_SETUP;
	}
	if (lsm_ctl_open(&c, &e) < 0) {
		mos_err("mosd --controller: %s", e.msg);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", sock);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = 0;
	if (*dir && mkdir_p(dir, 0755) < 0) {
		mos_err("%s: %s", dir, strerror(errno));
		return 1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	unlink(sock);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sock, 0666) < 0 ||
	    listen(lfd, 64) < 0) {
		mos_err("%s: %s", sock, strerror(errno));
		return 1;
	}
	signal(SIGCHLD, SIG_IGN); /* children reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);
	mos_info("controller: BPF LSM programs pinned in %s; serving %s", lsm_ctl_pin_dir(c), sock);
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct pollfd pfd = { lfd, POLLIN, 0 };
		int conn, pidfd;
		pid_t pid;

		/* Once a minute without requests: delete the domains nobody is in
		 * any more (a killed mosctl run, detached processes). */
		if (poll(&pfd, 1, GC_INTERVAL_MS) == 0) {
			int n = lsm_domain_gc(c, GC_MIN_AGE_S);

			if (n > 0)
				mos_info("deleted %d unused domain%s", n, n == 1 ? "" : "s");
			continue;
		}
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				mos_warn("accept: %s", strerror(errno));
			continue;
		}
		if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || !cred.pid) {
			close(conn);
			continue;
		}
		pidfd = peer_pidfd(conn, cred.pid);
		pid = fork();
		if (pid == 0) {
			close(lfd);
			signal(SIGPIPE, SIG_DFL);
			_exit(serve_one(conn, pidfd, &cred, c));
		}
		if (pid < 0)
			mos_warn("fork: %s", strerror(errno));
		if (pidfd >= 0)
			close(pidfd);
		close(conn);
	}
}
