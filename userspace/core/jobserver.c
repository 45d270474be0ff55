// SPDX-License-Identifier: GPL-2.0-only
/*
 * jobserver.c - GNU make's jobserver, client side (jobserver.h).
 */
#include "jobserver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse_fds(const char *v, struct jobserver_auth *a)
{
	char *end;
	long r, w;

	errno = 0;
	r = strtol(v, &end, 10);
	if (errno || end == v || *end != ',' || r < 0 || r > INT_MAX)
		return -EINVAL;
	v = end + 1;
	w = strtol(v, &end, 10);
	if (errno || end == v || (*end && *end != ' ' && *end != '\t') || w < 0 || w > INT_MAX)
		return -EINVAL;
	a->kind = JOBSERVER_PIPE;
	a->rfd = (int)r;
	a->wfd = (int)w;
	return 1;
}

int jobserver_parse(const char *makeflags, struct jobserver_auth *a)
{
	static const char *const keys[] = { "--jobserver-auth=", "--jobserver-fds=" };
	const char *last = NULL, *p = makeflags;
	int r = 0;

	*a = (struct jobserver_auth){ .kind = JOBSERVER_NONE, .rfd = -1, .wfd = -1 };
	/* word by word: a key is only a key at the start of a word */
	while (p && *p) {
		while (*p == ' ' || *p == '\t')
			p++;
		for (size_t i = 0; i < 2; i++)
			if (!strncmp(p, keys[i], strlen(keys[i])))
				last = p + strlen(keys[i]);
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (!last)
		return 0;
	if (!strncmp(last, "fifo:", 5)) {
		size_t n = strcspn(last + 5, " \t");

		if (n == 0 || n >= sizeof(a->path) || last[5] != '/')
			return -EINVAL;
		memcpy(a->path, last + 5, n);
		a->path[n] = '\0';
		a->kind = JOBSERVER_FIFO;
		return 1;
	}
	r = parse_fds(last, a);
	return r;
}

static int reopen(int fd, int flags, char *why, size_t len)
{
	char p[64];
	struct stat st;
	int nfd;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		snprintf(why, len, "descriptor %d is not an open pipe", fd);
		return -EBADF;
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	nfd = open(p, flags | O_NONBLOCK | O_CLOEXEC);
	if (nfd < 0) {
		snprintf(why, len, "cannot reopen descriptor %d: %s", fd, strerror(errno));
		return -errno;
	}
	return nfd;
}

int jobserver_open(const struct jobserver_auth *a, struct jobserver *js, char *why, size_t len)
{
	struct stat st;

	*js = (struct jobserver){ .rfd = -1, .wfd = -1 };
	if (a->kind == JOBSERVER_PIPE) {
		js->rfd = reopen(a->rfd, O_RDONLY, why, len);
		if (js->rfd < 0)
			return js->rfd;
		js->wfd = reopen(a->wfd, O_WRONLY, why, len);
		if (js->wfd < 0) {
			int r = js->wfd;

			close(js->rfd);
			js->rfd = -1;
			return r;
		}
		return 0;
	}
	if (a->kind != JOBSERVER_FIFO) {
		snprintf(why, len, "no jobserver");
		return -ENOENT;
	}
	js->rfd = open(a->path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (js->rfd < 0 || fstat(js->rfd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		int e = js->rfd < 0 ? errno : ENOTSUP;

		snprintf(why, len, "%s: %s", a->path, js->rfd < 0 ? strerror(e) : "not a FIFO");
		if (js->rfd >= 0)
			close(js->rfd);
		js->rfd = -1;
		return -e;
	}
	js->wfd = js->rfd;
	return 0;
}

int jobserver_try_take(struct jobserver *js)
{
	char c;
	ssize_t n;

	if (js->rfd < 0 || js->held >= sizeof(js->tokens))
		return 0;
	n = read(js->rfd, &c, 1);
	if (n == 1) {
		js->tokens[js->held++] = c;
		return 1;
	}
	return n == 0 || errno == EAGAIN || errno == EINTR ? 0 : -errno;
}

void jobserver_give(struct jobserver *js)
{
	if (!js->held)
		return;
	/* the byte we took goes back (make 4.4 gives tokens meaning) */
	while (write(js->wfd, &js->tokens[js->held - 1], 1) != 1 && errno == EINTR)
		;
	js->held--;
}

void jobserver_close(struct jobserver *js)
{
	while (js->held > 0)
		jobserver_give(js);
	if (js->wfd >= 0 && js->wfd != js->rfd)
		close(js->wfd);
	if (js->rfd >= 0)
		close(js->rfd);
	js->rfd = js->wfd = -1;
}
