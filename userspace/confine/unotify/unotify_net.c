// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_net.c - connect and bind for the caller (step 5 in unotify.c):
 * our copy of the address, checked against the network rules (or asked
 * about), and the call made on our copy of the caller's socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

/* The port of an IPv4/IPv6 address and whether it matches rule R. */
static bool net_rule_matches(const struct unotify_net_rule *r, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *in = (const void *)ss;
	const struct sockaddr_in6 *in6 = (const void *)ss;
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint16_t port = ntohs(ss->ss_family == AF_INET ? in->sin_port : in6->sin6_port);
	const uint8_t *a6 = in6->sin6_addr.s6_addr;

	if (r->port && r->port != port)
		return false;
	switch (r->family) {
	case AF_UNSPEC:
		return true;
	case AF_INET:
		if (ss->ss_family == AF_INET)
			return !memcmp(&in->sin_addr, r->addr, 4);
		return !memcmp(a6, v4mapped, 12) && !memcmp(a6 + 12, r->addr, 4);
	case AF_INET6:
		return ss->ss_family == AF_INET6 && !memcmp(a6, r->addr, 16);
	}
	return false;
}

/* Our copy of the caller's sockaddr at ADDR (LEN bytes), if it is IPv4 or
 * IPv6 and long enough for its family. */
static int read_inet_addr(struct sup *s, struct req *q, __u64 addr, __u64 len,
			  struct sockaddr_storage *ss)
{
	int err;

	if (len < sizeof(sa_family_t) || len > sizeof(*ss))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	err = sup_read_child_mem(s, q, addr, ss, (size_t)len);
	if (err)
		return err;
	if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return 0;
	if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return 0;
	if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
		return -EINVAL;
	return -EAFNOSUPPORT;
}

/* SOCK_STREAM, SOCK_DGRAM, ... of our copy of a socket, or -errno. */
int sup_sock_type(int fd)
{
	int type;
	socklen_t tl = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return errno == ENOTSOCK ? -ENOTSOCK : -errno;
	return type;
}

/*
 * connect() our copy *SOCK of the caller's socket to SA (checked).  A
 * stream connect on a blocking socket waits for the peer (a TCP peer that
 * does not answer, a unix listener with a full backlog): a job does it
 * (VIA, an fd SA names through /proc/self/fd, goes with it).  Datagram
 * connects and non-blocking sockets return at once.
 */
static int connect_for(int *sock, const struct sockaddr *sa, socklen_t len, int *via,
		       struct answer *a)
{
	int fl = fcntl(*sock, F_GETFL), type = sup_sock_type(*sock);

	if (type < 0)
		return type;
	if (type != SOCK_DGRAM && fl >= 0 && !(fl & O_NONBLOCK)) {
		struct job *j = sup_job_new(JOB_CONNECT);

		j->fd = take_fd(sock);
		j->via = via ? take_fd(via) : -1;
		memcpy(&j->addr, sa, len);
		j->addrlen = len;
		a->job = j;
		return 0;
	}
	if (connect(*sock, sa, len) < 0)
		return -errno;
	a->val = 0;
	return 0;
}

/*
 * A unix peer learns the credentials of the task that connects or sends
 * (SO_PEERCRED, SCM_CREDENTIALS with SO_PASSCRED): ours, not the caller's.
 * Our uid and gid are the caller's in mosctl's sandbox (same_creds, or ids
 * mapped onto ours); where they are not (the library serving a child of
 * another uid), a peer that trusts them would trust the caller as us, so
 * the supervisor does not connect or send on a unix socket for it.
 */
int sup_unix_peer_sees_us(struct sup *s, struct req *q)
{
	int err;

	if (s->p->same_creds)
		return 0;
	err = sup_need_status(s, q);
	if (err)
		return err;
	return q->cs.euid == geteuid() && q->cs.egid == getegid() ? 0 : -EACCES;
}

/*
 * The unix socket file at ABS (as the caller names it, symlinks followed
 * as connect() follows them), which must be beneath a root: an O_PATH fd
 * of it, and *VIA set to the address that names it through that fd
 * ("/proc/self/fd/N", *VLEN long), so that the kernel's lookup of the
 * address finds that very file.
 */
int sup_unix_socket_file(struct sup *s, struct req *q, const char *abs, struct sockaddr_un *via,
			 socklen_t *vlen)
{
	_cleanup_close_ int fd = sup_open_beneath(s, q, abs, UNOTIFY_READ, O_PATH, 0);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ECONNREFUSED;
	*via = (struct sockaddr_un){ .sun_family = AF_UNIX };
	*vlen = (socklen_t)snprintf(via->sun_path, sizeof(via->sun_path), "/proc/self/fd/%d", fd);
	*vlen += (socklen_t)offsetof(struct sockaddr_un, sun_path) + 1;
	return take_fd(&fd);
}

/*
 * connect() or bind() of a unix socket with ALLOW_UNIX.  Abstract and unnamed
 * addresses are used as they are (the supervisor shares the sandbox's
 * network namespace).  A path is resolved as the caller would, checked, and
 * handed to the kernel as /proc/self/fd/N: for connect, N is an O_PATH fd of
 * the socket file itself (which must be beneath a root); for bind, N is the
 * directory (beneath a write root) and the name is created in it, never
 * through a symlink.
 */
static int do_unix(struct sup *s, struct req *q, int sockfd, __u64 addr, __u64 len, bool is_bind,
		   struct answer *a)
{
	struct sockaddr_un un = { 0 }, via = { .sun_family = AF_UNIX };
	char path[sizeof(un.sun_path) + 1] = "";
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int sock = -1, fd = -1;
	socklen_t vlen = 0;
	int err;

	if (!s->p->allow_unix)
		return -EACCES;
	err = sup_unix_peer_sees_us(s, q);
	if (err)
		return err;
	if (len < sizeof(sa_family_t) || len > sizeof(un))
		return -EINVAL;
	err = sup_read_child_mem(s, q, addr, &un, (size_t)len);
	if (err)
		return err;
	sock = sup_child_fd(s, q, sockfd);
	if (sock < 0)
		return sock;
	if (len == sizeof(sa_family_t) || un.sun_path[0] == '\0') {
		if (!is_bind)
			return connect_for(&sock, (struct sockaddr *)&un, (socklen_t)len, NULL, a);
		if (bind(sock, (struct sockaddr *)&un, (socklen_t)len) < 0)
			return -errno;
		a->val = 0;
		return 0;
	}
	memcpy(path, un.sun_path, len - offsetof(struct sockaddr_un, sun_path));
	err = sup_child_abs_path(s, q, AT_FDCWD, path, &abs);
	if (err)
		return err;
	if (is_bind) {
		char *slash = strrchr(abs, '/');

		if (!slash[1])
			return -EINVAL;
		*slash = '\0';
		fd = sup_open_beneath(s, q, *abs ? abs : "/", UNOTIFY_WRITE, O_PATH | O_DIRECTORY,
				      0);
		if (fd < 0)
			return fd;
		vlen = (socklen_t)snprintf(via.sun_path, sizeof(via.sun_path),
					   "/proc/self/fd/%d/%s", fd, slash + 1);
		if (vlen >= sizeof(via.sun_path))
			return -ENAMETOOLONG;
	} else {
		fd = sup_unix_socket_file(s, q, abs, &via, &vlen);
		if (fd < 0)
			return fd;
		return connect_for(&sock, (struct sockaddr *)&via, vlen, &fd, a);
	}
	vlen += (socklen_t)offsetof(struct sockaddr_un, sun_path) + 1;
	if (bind(sock, (struct sockaddr *)&via, vlen) < 0)
		return -errno;
	a->val = 0;
	return 0;
}

/*
 * The policy said OK (or not) about a connect or bind to SS: record it, and
 * with ask_net ask the decider about what no rule allows.
 */
bool sup_net_decision(struct sup *s, struct req *q, const struct sockaddr_storage *ss, bool bind,
		      bool ok)
{
	struct unotify_event ev = { .syscall = sup_syscall_name((long)q->n->data.nr),
				    .pid = sup_event_pid(s, q),
				    .addr = ss,
				    .bind = bind };
	char key[INET6_ADDRSTRLEN + 32], text[INET6_ADDRSTRLEN] = "";
	const void *a = ss->ss_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	unsigned port =
		ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					       : ((const struct sockaddr_in6 *)ss)->sin6_port);

	q->ev_addr = *ss;
	q->have_addr = true;
	q->ev_bind = bind;
	if (!ok && s->p->ask_net) {
		inet_ntop(ss->ss_family, a, text, sizeof(text));
		snprintf(key, sizeof(key), "%s:%s:%u", bind ? "bind" : "connect", text, port);
		ok = sup_ask_decider(s, key, &ev);
	}
	if (!ok)
		q->by_policy = true;
	return ok;
}

/*
 * With --allow-udp, a datagram may go anywhere, unless --net-allow names
 * destinations: then only to those (the supervisor checks UDP like TCP).
 */
bool sup_udp_dest_ok(const struct sup *s, const struct sockaddr_storage *ss)
{
	if (!s->p->nconnect)
		return true;
	for (size_t i = 0; i < s->p->nconnect; i++)
		if (net_rule_matches(&s->p->connect[i], ss))
			return true;
	return false;
}

/*
 * connect() or bind(): our copy of the address, checked, used on the
 * caller's own socket (pidfd_getfd).  TCP follows --net-allow (address and
 * port) or --net-bind (port); UDP with --allow-udp goes anywhere, or only
 * to --net-allow destinations when there are any; unix sockets: do_unix().
 */
int sup_do_addr(struct sup *s, struct req *q, int sockfd, __u64 addr, __u64 len, bool bind_,
		struct answer *a)
{
	struct sockaddr_storage ss;
	_cleanup_close_ int fd = -1;
	bool ok = s->p->allow_net;
	uint16_t port;
	int err, type;

	err = read_inet_addr(s, q, addr, len, &ss);
	if (err == -EAFNOSUPPORT && ss.ss_family == AF_UNIX)
		return do_unix(s, q, sockfd, addr, len, bind_, a);
	if (err == -EAFNOSUPPORT)
		return -EACCES;
	if (err)
		return err;
	fd = sup_child_fd(s, q, sockfd);
	if (fd < 0)
		return fd;
	type = sup_sock_type(fd);
	if (type < 0)
		return type;
	port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (type == SOCK_DGRAM && s->p->allow_udp)
		ok = ok || bind_ || sup_udp_dest_ok(s, &ss);
	for (size_t i = 0; !ok && type == SOCK_STREAM && !bind_ && i < s->p->nconnect; i++)
		ok = net_rule_matches(&s->p->connect[i], &ss);
	for (size_t i = 0; !ok && type == SOCK_STREAM && bind_ && i < s->p->nbind; i++)
		ok = s->p->bind_ports[i] == port;
	if (!sup_net_decision(s, q, &ss, bind_, ok))
		return -EACCES;
	if (!bind_)
		return connect_for(&fd, (struct sockaddr *)&ss, (socklen_t)len, NULL, a);
	if (bind(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0)
		return -errno;
	a->val = 0;
	return 0;
}
