// SPDX-License-Identifier: GPL-2.0-only
/*
 * connect.c - the stream to one worker: an embedded `mosd --stdio`, one
 * started over ssh, or TCP and then TLS with pinned keys.
 */
#include "connect.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "remote_run.h"
#include "tls_channel.h"
#include "util.h"

#define HELPER_WAIT_MS 5000 /* the local or ssh mosd we started: its exit, at most */

/* mosd next to this mosctl (a build tree or an install), else $PATH. */
char *find_mosd(void)
{
	const char *env = getenv("MOSD");
	char self[4096];
	ssize_t n;

	if (env && *env)
		return xstrdup(env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *p = xasprintf("%s/mosd", dirname(self));

		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return xstrdup("mosd");
}

/* Start ARGV with a socketpair as its stdin and stdout; returns our end. */
static int spawn_stdio(char *const argv[], pid_t *pid)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (*pid == 0) {
		/* Its own session: ^C at the terminal is for the job (forwarded by
		 * us), not for the transport. */
		setsid();
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		execvp(argv[0], argv);
		fprintf(stderr, "mosctl: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	return sv[0];
}

/* connect(2), given up after TIMEOUT_MS: -ETIMEDOUT. */
static int connect_within(int fd, const struct sockaddr *a, socklen_t alen, unsigned timeout_ms)
{
	int fl = fcntl(fd, F_GETFL), soerr = 0;
	socklen_t sl = sizeof(soerr);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	r = connect(fd, a, alen);
	if (r < 0 && errno == EINPROGRESS) {
		do
			r = poll(&p, 1, (int)timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			errno = ETIMEDOUT;
		else if (r > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0)
			errno = soerr;
		r = r > 0 && !soerr ? 0 : -1;
	}
	fcntl(fd, F_SETFL, fl); /* the ring wants a blocking socket */
	return r;
}

static int connect_tcp(const char *spec, unsigned timeout_ms, char *err, size_t errlen)
{
	_cleanup_free_ char *s = xstrdup(spec);
	char *host = s, *port = NULL, *colon;
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	int fd = -1, r, one = 1, saved = 0;

	if (host[0] == '[') {
		char *end = strchr(host, ']');

		if (!end) {
			snprintf(err, errlen, "--on %s: unterminated '['", spec);
			return -EINVAL;
		}
		*end = 0;
		host++;
		if (end[1] == ':')
			port = end + 2;
	} else if ((colon = strrchr(host, ':'))) {
		*colon = 0;
		port = colon + 1;
	}
	r = getaddrinfo(host, port && *port ? port : MOSD_DEFAULT_PORT, &hints, &res);
	if (r) {
		snprintf(err, errlen, "--on %s: %s", spec, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect_within(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to the worker %s: %s", spec,
			 strerror(saved ? saved : EHOSTUNREACH));
		return -(saved ? saved : EHOSTUNREACH);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_tcp_keepalive(fd);
	return fd;
}

/* The channel copies the pins but uses ID (its TLS context) while it lives:
 * the caller frees *IDP after the channel. */
static struct tls_channel *client_tls(struct mos_identity **idp, char *err, size_t errlen)
{
	_cleanup_free_ char *dir = remote_config_dir();
	_cleanup_free_ char *keyp = xasprintf("%s/id_ed25519", dir);
	_cleanup_free_ char *known = xasprintf("%s/known_workers", dir);
	struct mos_identity *id = NULL;
	struct mos_pinset pins = { 0 };
	char e2[512] = "";

	if (access(keyp, R_OK) < 0) {
		snprintf(err, errlen,
			 "no key in %s: run 'mosctl keygen', then add the line of "
			 "'mosctl key' to the worker's --authorized-keys file",
			 dir);
		return NULL;
	}
	if (mos_identity_load(keyp, &id, e2, sizeof(e2)) < 0) {
		snprintf(err, errlen, "%s", e2);
		return NULL;
	}
	if (mos_pinset_load(known, &pins, e2, sizeof(e2)) < 0) {
		snprintf(err, errlen,
			 "%s; put the worker's key there (on the worker: 'mosd --print-key')", e2);
		mos_identity_free(id);
		return NULL;
	}
	*idp = id;
	{
		struct tls_channel *ch = tls_channel_new(TLS_CLIENT, id, &pins);

		mos_pinset_free(&pins);
		return ch;
	}
}

/* The mosd we started: its exit, waited for HELPER_WAIT_MS at most (it
 * cleans up after the connection ends), then killed. */
void reap_helper(pid_t pid)
{
	for (int waited = 0; waited < HELPER_WAIT_MS; waited += 20) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		usleep(20000);
	}
	mos_warn("the worker process %d did not end in %d s after the connection: killed it",
		 (int)pid, HELPER_WAIT_MS / 1000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * The stream to worker ON: an embedded `mosd --stdio` for "local" (its pid
 * in *HELPER), one over ssh for "ssh://...", else TCP within TIMEOUT_MS and
 * then TLS (*TLS, with our identity in *ID).  The fd, or -errno with ERR
 * set where there is more to say than the errno.
 */
int connect_worker(const char *on, unsigned timeout_ms, pid_t *helper, struct tls_channel **tls,
		   struct mos_identity **id, char *err, size_t errlen)
{
	int fd;

	if (!strcmp(on, "local")) {
		_cleanup_free_ char *mosd = find_mosd();
		char *argv[] = { mosd, "--stdio", NULL, NULL };
		_cleanup_free_ char *cache = NULL;
		const char *env_cache = getenv("MOS_LOCAL_CACHE");

		if (env_cache && *env_cache) {
			cache = xasprintf("--cache=%s", env_cache);
			argv[2] = cache;
		}
		return spawn_stdio(argv, helper);
	}
	if (!strncmp(on, "ssh://", 6)) {
		char *argv[] = { "ssh",		 "-T",	 "-o",	    "BatchMode=yes",
				 (char *)on + 6, "mosd", "--stdio", NULL };

		return spawn_stdio(argv, helper);
	}
	fd = connect_tcp(on, timeout_ms, err, errlen);
	if (fd >= 0 && !(*tls = client_tls(id, err, errlen))) {
		close(fd);
		fd = -1;
	}
	return fd;
}
