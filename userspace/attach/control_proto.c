// SPDX-License-Identifier: GPL-2.0-only
/*
 * control_proto.c - requests and replies of the control socket (see
 * control_proto.h).
 */
#include "control_proto.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define MAGIC "MOS1"

int control_call(const char *sock, int argc, char **argv, int *status, struct mos_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *buf = xmalloc(MOS_CONTROL_MAX), cwd[4096];
	size_t len = 0;
	union {
		char c[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int fds[3] = { 0, 1, 2 }, r = 0;
	_cleanup_close_ int fd = -1;
	char reply[8];
	ssize_t n;

	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "/");
	memcpy(buf, MAGIC, 5);
	len = 5;
	for (int i = -1; i < argc; i++) {
		const char *s = i < 0 ? cwd : argv[i];
		size_t l = strlen(s) + 1;

		if (len + l > MOS_CONTROL_MAX) {
			mos_err_set(e, "the request is longer than %d bytes", MOS_CONTROL_MAX);
			free(buf);
			return -E2BIG;
		}
		memcpy(buf + len, s, l);
		len += l;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		mos_err_set(e, "cannot reach mosd --controller at %s: %s", sock, strerror(errno));
		goto out;
	}
	iov = (struct iovec){ buf, len };
	mh.msg_control = cbuf.c;
	mh.msg_controllen = sizeof(cbuf.c);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)len) {
		r = -errno;
		mos_err_set(e, "sending to mosd --controller: %s", strerror(errno));
		goto out;
	}
	do
		n = recv(fd, reply, sizeof(reply), 0);
	while (n < 0 && errno == EINTR);
	if (n != 8 || memcmp(reply, MAGIC, 4)) {
		r = n < 0 ? -errno : -EPROTO;
		mos_err_set(e, "mosd --controller %s",
			    n == 0 ? "closed the connection (see its log)"
				   : "sent a malformed reply");
		goto out;
	}
	memcpy(status, reply + 4, sizeof(*status));
out:
	free(buf);
	return r;
}

int control_recv(int conn, char ***argv, int *argc, char **cwd, int fds[3], struct mos_err *e)
{
	char *buf = xmalloc(MOS_CONTROL_MAX + 1);
	union {
		char c[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, MOS_CONTROL_MAX };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.c,
			     .msg_controllen = sizeof(cbuf.c) };
	struct cmsghdr *cm;
	size_t n, count = 0;
	ssize_t got;
	char **v, *p;

	int got_fds[3], nfds = 0;

	fds[0] = fds[1] = fds[2] = -1;
	got = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	/* Every fd that came is ours to close, however many: never leak one. */
	for (cm = got >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nfds < 3)
				got_fds[nfds] = fd;
			else
				close(fd);
			nfds++;
		}
	}
	if (got < 5 || memcmp(buf, MAGIC, 5) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    buf[got - 1] != 0 || nfds != 3) {
		mos_err_set(e, "a malformed request (%zd bytes%s)", got,
			    nfds != 3 ? ", without its 3 fds" : "");
		for (int i = 0; i < nfds && i < 3; i++)
			close(got_fds[i]);
		free(buf);
		return -EPROTO;
	}
	n = (size_t)got;
	for (size_t i = 5; i < n; i++)
		count += buf[i] == 0;
	if (count < 2) {
		mos_err_set(e, "a request without a command");
		for (int i = 0; i < 3; i++)
			close(got_fds[i]);
		free(buf);
		return -EPROTO;
	}
	memcpy(fds, got_fds, sizeof(got_fds));
	/* One block: the pointers, then the strings. */
	v = xmalloc((count + 1) * sizeof(*v) + n);
	p = (char *)(v + count + 1);
	memcpy(p, buf + 5, n - 5);
	free(buf);
	*cwd = p;
	p += strlen(p) + 1;
	*argc = (int)count - 1;
	for (int i = 0; i < *argc; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	v[*argc] = NULL;
	*argv = v;
	return 0;
}

int control_reply(int conn, int status)
{
	char reply[8];
	int32_t s = status;

	memcpy(reply, MAGIC, 4);
	memcpy(reply + 4, &s, 4);
	return send(conn, reply, sizeof(reply), MSG_NOSIGNAL) == (ssize_t)sizeof(reply) ? 0
											: -errno;
}
