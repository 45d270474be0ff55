// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent_client.c - a job's side of the agent: where its socket is, starting
 * it when none runs, opening a session stream, and handing the job's
 * watches over after EXIT.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "connect.h"
#include "log.h"
#include "remote_run.h"
#include "util.h"
#include "watch.h"
#include "wire.h"

#define AGENT_START_MS 2000 /* a new agent: its socket within this, else no agent */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* PATH's identity: device and inode, and with MTIME its modification time
 * (not for namespaces: their inodes' times are those of their last use). */
static uint64_t fnv_stat(uint64_t h, const char *path, bool mtime)
{
	struct stat st = { 0 };

	stat(path, &st);
	h = fnv(h, &st.st_dev, sizeof(st.st_dev));
	h = fnv(h, &st.st_ino, sizeof(st.st_ino));
	return mtime ? fnv(h, &st.st_mtim, sizeof(st.st_mtim)) : h;
}

char *agent_socket_path(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	_cleanup_free_ char *dir = NULL, *cfg = remote_config_dir(), *mosd = find_mosd();
	uint64_t h = 0xcbf29ce484222325ULL;
	char why[512];
	char *path;

	/* beside the other caches (never /tmp for want of a HOME) */
	if (xdg && *xdg)
		dir = xasprintf("%s/mosingar", xdg);
	else if (home && *home)
		dir = xasprintf("%s/.cache/mosingar", home);
	if (!dir || mkdir_private(dir, why, sizeof(why)) < 0)
		return NULL;
	/* one agent per configuration (keys, pins), mosctl and mosd build, and
	 * namespaces: what it connects to and how must be what this mosctl
	 * would have done itself */
	h = fnv_str(h, cfg);
	h = fnv_str(h, getenv("MOS_LOCAL_CACHE"));
	h = fnv_str(h, getenv("MOS_PEER_TIMEOUT_MS"));
	h = fnv_str(h, mosd);
	h = fnv_stat(h, "/proc/self/exe", true);
	h = fnv_stat(h, "/proc/self/ns/mnt", false);
	h = fnv_stat(h, "/proc/self/ns/net", false);
	h = fnv_stat(h, "/proc/self/ns/user", false);
	path = xasprintf("%s/agent-%016llx.sock", dir, (unsigned long long)h);
	return path;
}

int agent_sockaddr(const char *path, struct sockaddr_un *a, int *dirfd)
{
	const char *slash = strrchr(path, '/');

	*a = (struct sockaddr_un){ .sun_family = AF_UNIX };
	*dirfd = -1;
	if (strlen(path) < sizeof(a->sun_path)) {
		memcpy(a->sun_path, path, strlen(path) + 1);
		return 0;
	}
	/* too long for sun_path: the same socket through its directory's fd */
	if (!slash)
		return -ENAMETOOLONG;
	{
		_cleanup_free_ char *dir = xstrndup(path, (size_t)(slash - path));

		*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (*dirfd < 0)
		return -errno;
	if (snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d%s", *dirfd, slash) >=
	    (int)sizeof(a->sun_path)) {
		closep(dirfd);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un a;
	int fd, dirfd, r = agent_sockaddr(path, &a, &dirfd);

	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		closep(&dirfd);
		return -e;
	}
	closep(&dirfd);
	return fd;
}

/* `mosctl agent --socket PATH`, detached: its own session, no terminal, no
 * descriptor of ours; it exits once idle. */
static void start_agent(const char *path)
{
	pid_t pid = fork();

	if (pid < 0)
		return;
	if (pid == 0) {
		sigset_t none;
		const char *log = getenv("MOS_AGENT_LOG");
		int null;

		setsid();
		if (fork() != 0)
			_exit(0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || chdir("/") < 0)
			_exit(1);
		dup2(null, 0);
		dup2(null, 1);
		if (log && *log) {
			int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
				       0600);

			dup2(lfd >= 0 ? lfd : null, 2);
		} else {
			dup2(null, 2);
		}
		syscall(SYS_close_range, 3, ~0U, 0);
		execl("/proc/self/exe", "mosctl", "agent", "--socket", path, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}


/* Exactly LEN bytes from FD by DEADLINE (CLOCK_MONOTONIC ms). */
static int read_exact(int fd, void *buf, size_t len, uint64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

/* One frame from FD by DEADLINE, and nothing past it: what follows is the
 * protocol's, read by the connection. */
static int read_frame(int fd, uint64_t deadline, struct mos_frame_hdr *h, uint8_t **payload)
{
	int r = read_exact(fd, h, sizeof(*h), deadline);

	if (r < 0)
		return r;
	if (wire_hdr_check(h) || h->len > 64 * 1024)
		return -EPROTO;
	*payload = xmalloc(h->len ? h->len : 1);
	r = read_exact(fd, *payload, h->len, deadline);
	if (r < 0) {
		free(*payload);
		*payload = NULL;
	}
	return r;
}

int agent_open(const char *worker, uint64_t features, const char *key, unsigned timeout_ms,
	       struct mos_agent_ready *ready, char *err, size_t errlen)
{
	_cleanup_free_ char *path = agent_socket_path();
	struct mos_agent_open ao = { .features = features };
	struct wire_buf b = { 0 };
	struct mos_frame_hdr h;
	uint8_t *payload = NULL;
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	uint64_t deadline;
	size_t len;
	int fd, r;

	if (!path) {
		snprintf(err, errlen, "no private directory for the agent's socket");
		return -ENOENT;
	}
	fd = connect_unix(path);
	if (fd == -ENOENT || fd == -ECONNREFUSED) {
		uint64_t until = mono_ms() + AGENT_START_MS;

		start_agent(path);
		do {
			usleep(2000);
			fd = connect_unix(path);
		} while ((fd == -ENOENT || fd == -ECONNREFUSED) && mono_ms() < until);
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot reach the agent at %s: %s", path, strerror(-fd));
		return fd;
	}
	/* the agent relays the job's files: it must be ours */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0 || cr.uid != geteuid()) {
		snprintf(err, errlen, "the agent socket %s is not this user's", path);
		close(fd);
		return -EPERM;
	}
	wire_buf_start(&b, MOS_MSG_AGENT_OPEN, 0, 0);
	wire_put(&b, &ao, sizeof(ao));
	wire_put_str(&b, worker);
	wire_put_str(&b, key);
	len = wire_buf_finish(&b);
	r = len && write_all(fd, b.p, len) == 0 ? 0 : -EPIPE;
	wire_buf_free(&b);
	deadline = mono_ms() + (timeout_ms ? timeout_ms : 60000);
	if (r == 0)
		r = read_frame(fd, deadline, &h, &payload);
	if (r == 0 && h.type == MOS_MSG_AGENT_READY && h.len == sizeof(*ready)) {
		memcpy(ready, payload, sizeof(*ready));
		free(payload);
		return fd;
	}
	if (r == 0 && h.type == MOS_MSG_ERROR) {
		struct wire_reader rd;
		struct mos_error e = { 0 };
		_cleanup_free_ char *msg = NULL;

		wire_reader_init(&rd, payload, h.len);
		if (wire_get(&rd, &e, sizeof(e)) && wire_get_str(&rd, &msg, 1024))
			snprintf(err, errlen, "%s", msg);
		else
			snprintf(err, errlen, "a malformed answer from the agent");
		/* EHOSTUNREACH: the worker could not be reached; anything else
		 * (an older worker without sessions, the agent refusing us): go
		 * direct */
		r = e.err == EHOSTUNREACH ? -EHOSTUNREACH : -ENOTCONN;
	} else if (r == 0) {
		snprintf(err, errlen, "an unexpected answer from the agent");
		r = -EPROTO;
	} else {
		snprintf(err, errlen, "no answer from the agent: %s", strerror(-r));
	}
	free(payload);
	close(fd);
	return r;
}

int agent_handover(int fd, struct watch_set *ws, unsigned long failures)
{
	const int *wds = NULL;
	char *const *paths = NULL;
	size_t n = ws ? watch_set_pairs(ws, &wds, &paths) : 0, i = 0;
	int ifd = ws ? watch_set_fd(ws) : -1;
	bool first = true;

	do {
		struct mos_agent_watches aw = { .failures = (uint32_t)failures };
		struct wire_buf b = { 0 };
		size_t start = i, len;
		ssize_t sent;

		wire_buf_start(&b, MOS_MSG_AGENT_WATCHES, 0, 0);
		while (i < n && b.len + 8 + strlen(paths[i]) + sizeof(aw) < MOS_FRAME_MAX - 64)
			i++;
		aw.n = (uint32_t)(i - start);
		wire_put(&b, &aw, sizeof(aw));
		for (size_t k = start; k < i; k++) {
			int32_t wd = wds[k];

			wire_put(&b, &wd, sizeof(wd));
			wire_put_str(&b, paths[k]);
		}
		if (i < n) {
			struct mos_frame_hdr *h = (struct mos_frame_hdr *)b.p;

			h->flags |= MOS_F_MORE;
		}
		len = wire_buf_finish(&b);
		/* the descriptor with the first frame's bytes; the rest of a
		 * frame the stream took only in part follows plainly */
		sent = send_with_fd(fd, b.p, len, first ? ifd : -1);
		if (sent >= 0 && (size_t)sent < len)
			sent = write_all(fd, b.p + sent, len - (size_t)sent);
		wire_buf_free(&b);
		if (sent < 0)
			return (int)sent;
		first = false;
	} while (i < n);
	return 0;
}
