// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_send.c - sendto, sendmsg and sendmmsg for the caller (step 5 in
 * unotify.c).
 *
 * Sends.  With --allow-udp the filter traps every sendmsg and sendmmsg and
 * every sendto with an address, whatever the socket: the supervisor cannot
 * tell from the arguments.  Each is performed on our copy of the caller's
 * socket (pidfd_getfd) with our copies of the destination, the data and the
 * control messages, never let through (CONTINUE): the kernel would look the
 * fd number up again, and another thread of the caller could by then have
 * put a UDP socket behind it (dup2), or rewritten the address.  What is
 * checked depends on the socket we hold:
 *
 *  - IPv4/IPv6 datagram (UDP): the destination must pass sup_udp_dest_ok();
 *    no control messages (IP options, source routes and the like could
 *    choose where a datagram goes);
 *  - IPv4/IPv6 stream (TCP): the kernel ignores a destination (MSG_FASTOPEN,
 *    which would connect, is refused), so ours is dropped; no control
 *    messages;
 *  - unix: a destination with a path or an abstract name only under
 *    --allow-unix, a path resolved and checked as for connect();
 *    SCM_RIGHTS carries our copies of the caller's fds; SCM_CREDENTIALS is
 *    refused (EPERM: the kernel would check it against the supervisor);
 *  - anything else (netlink): as it is, no control messages.
 *
 * Each send is first made with MSG_DONTWAIT; one that would wait on a
 * blocking socket is handed to a job.  A stream send copies at most
 * MAX_STREAM_CHUNK bytes (the caller sees a short count, as from a signal,
 * and sends the rest); a larger datagram is EMSGSIZE.  A peer reading the
 * caller's credentials (SO_PASSCRED, SO_PEERCRED) sees the supervisor's
 * process, with the caller's uid and gid.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

void sup_send_op_release(struct send_op *op)
{
	closep(&op->sock);
	closep(&op->via);
	for (int i = 0; i < op->nfds; i++)
		close(op->fds[i]);
	free(op->fds);
	free(op->data);
	free(op->control);
	op->fds = NULL;
	op->data = op->control = NULL;
	op->nfds = 0;
}

/* sendmsg() of OP on our copy of the socket, with EXTRA flags. */
ssize_t sup_send_op_send(const struct send_op *op, int extra)
{
	struct iovec iov = { op->data, op->len };
	struct msghdr mh = { .msg_name = op->namelen ? (void *)&op->name : NULL,
			     .msg_namelen = op->namelen,
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = op->controllen ? op->control : NULL,
			     .msg_controllen = op->controllen };

	return sendmsg(op->sock, &mh, op->flags | MSG_NOSIGNAL | extra);
}

#define MAX_DATAGRAM (256 * 1024)
#define MAX_STREAM_CHUNK (256 * 1024)
#define MAX_IOV 1024 /* UIO_MAXIOV */
#define MAX_CONTROL (64 * 1024)
#define MAX_SCM_FDS 253 /* SCM_MAX_FD */

/* What a trapped send names, as pointers into the caller. */
struct send_args {
	__u64 name, namelen;
	const struct iovec *iov; /* our copy of the caller's iovec array */
	size_t iovlen;
	__u64 control, controllen;
	int flags;
};

static int sock_domain(int fd)
{
	int v;
	socklen_t l = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 ? -errno : v;
}

/* The data of the iovec array, at most MAX bytes of it. */
static int gather(struct sup *s, struct req *q, const struct send_args *g, size_t max,
		  struct send_op *op)
{
	size_t total = 0;

	for (size_t i = 0; i < g->iovlen && total < max; i++)
		total += g->iov[i].iov_len < max - total ? g->iov[i].iov_len : max - total;
	op->data = xmalloc(total ? total : 1);
	op->len = total;
	for (size_t i = 0, off = 0; i < g->iovlen && off < total; i++) {
		size_t n = g->iov[i].iov_len < total - off ? g->iov[i].iov_len : total - off;
		int err;

		if (!n)
			continue;
		err = sup_read_child_mem(s, q, (__u64)(uintptr_t)g->iov[i].iov_base, op->data + off,
					 n);
		if (err)
			return err;
		off += n;
	}
	return 0;
}

/* A unix destination: our copy of it in OP->name, checked. */
static int unix_destination(struct sup *s, struct req *q, struct send_op *op)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&op->name;
	char path[sizeof(un->sun_path) + 1] = "";
	_cleanup_free_ char *abs = NULL;
	int err, fd;

	if (un->sun_family != AF_UNIX || op->namelen <= offsetof(struct sockaddr_un, sun_path))
		return 0; /* the kernel refuses it (EINVAL) */
	if (!s->p->allow_unix)
		return -EACCES;
	if (op->namelen > sizeof(*un))
		return -EINVAL;
	if (un->sun_path[0] == '\0')
		return 0; /* abstract: not scoped (supervisor.md) */
	memcpy(path, un->sun_path, op->namelen - offsetof(struct sockaddr_un, sun_path));
	err = sup_child_abs_path(s, q, AT_FDCWD, path, &abs);
	if (err)
		return err;
	fd = sup_unix_socket_file(s, q, abs, un, &op->namelen);
	if (fd < 0)
		return fd;
	op->via = fd;
	return 0;
}

/*
 * Our copy of the control messages of a unix send, SCM_RIGHTS with our
 * copies of the caller's fds.  Walked as the kernel walks them
 * (CMSG_NXTHDR), on our copy: each header's length is checked against
 * what is left.
 */
static int unix_control(struct sup *s, struct req *q, const struct send_args *g, struct send_op *op)
{
	struct cmsghdr *c;
	size_t off = 0;
	int err;

	if (g->controllen > MAX_CONTROL)
		return -ENOBUFS;
	op->control = xcalloc(1, (size_t)g->controllen);
	op->controllen = (size_t)g->controllen;
	err = sup_read_child_mem(s, q, g->control, op->control, op->controllen);
	if (err)
		return err;
	while (off + sizeof(struct cmsghdr) <= op->controllen) {
		size_t n;

		c = (struct cmsghdr *)(op->control + off);
		if (c->cmsg_len < sizeof(struct cmsghdr) || c->cmsg_len > op->controllen - off)
			return -EINVAL;
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
			return -EPERM;
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type != SCM_RIGHTS)
			return -EINVAL;
		if (c->cmsg_level == SOL_SOCKET) {
			int *fds = (int *)CMSG_DATA(c);

			n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (op->nfds + (int)n > MAX_SCM_FDS)
				return -EINVAL;
			op->fds = xrealloc(op->fds, ((size_t)op->nfds + n + 1) * sizeof(int));
			for (size_t i = 0; i < n; i++) {
				int dup = sup_child_fd(s, q, fds[i]);

				if (dup < 0)
					return dup;
				op->fds[op->nfds++] = dup;
				fds[i] = dup;
			}
		}
		off += CMSG_ALIGN(c->cmsg_len);
	}
	return 0;
}

/* Read and check what the kernel would for a send on the caller's FD. */
static int send_prepare(struct sup *s, struct req *q, int fd, const struct send_args *g,
			struct send_op *op)
{
	int family, type, fl, err;

	if (g->flags & MSG_FASTOPEN)
		return -EPERM; /* a connect no rule checks (refused by the filter too) */
	if (g->flags & MSG_ZEROCOPY)
		return -ENOBUFS; /* on our copy, never notified: callers then copy */
	op->sock = sup_child_fd(s, q, fd);
	if (op->sock < 0)
		return op->sock;
	type = sup_sock_type(op->sock);
	if (type < 0)
		return type;
	family = sock_domain(op->sock);
	if (family < 0)
		return family;
	if (family == AF_UNIX) {
		err = sup_unix_peer_sees_us(s, q);
		if (err)
			return err;
	}
	fl = fcntl(op->sock, F_GETFL);
	op->flags = g->flags;
	op->blocking = !(g->flags & MSG_DONTWAIT) && fl >= 0 && !(fl & O_NONBLOCK);
	if (g->name && g->namelen) {
		if (g->namelen > sizeof(op->name))
			return -EINVAL;
		op->namelen = (socklen_t)g->namelen;
		err = sup_read_child_mem(s, q, g->name, &op->name, op->namelen);
		if (err)
			return err;
	}
	if (g->controllen && family != AF_UNIX)
		return -EINVAL;
	if (g->controllen) {
		err = unix_control(s, q, g, op);
		if (err)
			return err;
	}
	if (family == AF_INET || family == AF_INET6) {
		if (type == SOCK_STREAM) {
			op->namelen = 0;
		} else if (op->namelen) {
			struct sockaddr_storage ss = op->name;

			if (type != SOCK_DGRAM)
				return -EACCES;
			if ((ss.ss_family != AF_INET || op->namelen < sizeof(struct sockaddr_in)) &&
			    (ss.ss_family != AF_INET6 || op->namelen < sizeof(struct sockaddr_in6)))
				return -EINVAL;
			if (!sup_net_decision(s, q, &ss, false, sup_udp_dest_ok(s, &ss)))
				return -EACCES;
		}
	} else if (family == AF_UNIX && op->namelen) {
		err = unix_destination(s, q, op);
		if (err)
			return err;
	}
	err = gather(s, q, g, type == SOCK_STREAM ? MAX_STREAM_CHUNK : MAX_DATAGRAM + 1, op);
	if (err)
		return err;
	return type != SOCK_STREAM && op->len > MAX_DATAGRAM ? -EMSGSIZE : 0;
}

/*
 * Send OP now, or in a job if it would wait and the caller waits (then A
 * holds the job and OP is moved into it).  The number of bytes sent, or
 * -errno (SIGPIPE raised in the caller as the kernel would), or 1 with A's
 * job set.
 */
static long send_now(struct sup *s, struct req *q, struct send_op *op, struct answer *a)
{
	ssize_t n = sup_send_op_send(op, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && op->blocking) {
		struct job *j = sup_job_new(JOB_SEND);

		j->op = *op;
		*op = (struct send_op){ .sock = -1, .via = -1 };
		a->job = j;
		return 1;
	}
	if (n < 0 && errno == EPIPE && !(op->flags & MSG_NOSIGNAL))
		sup_signal_caller(s, q, SIGPIPE);
	return n < 0 ? -errno : n;
}

static int send_one(struct sup *s, struct req *q, int fd, const struct send_args *g,
		    struct answer *a)
{
	struct send_op op = { .sock = -1, .via = -1 };
	int err = send_prepare(s, q, fd, g, &op);
	long n = err ? err : send_now(s, q, &op, a);

	sup_send_op_release(&op);
	if (n < 0)
		return (int)n;
	if (!a->job)
		a->val = n;
	return 0;
}

int sup_do_sendto(struct sup *s, struct req *q, int fd, __u64 buf_addr, __u64 len, int flags,
		  __u64 addr, __u64 addrlen, struct answer *a)
{
	struct iovec iov = { (void *)(uintptr_t)buf_addr, (size_t)len };
	struct send_args g = {
		.name = addr, .namelen = addrlen, .iov = &iov, .iovlen = 1, .flags = flags
	};

	return send_one(s, q, fd, &g, a);
}

/* Our copy of the caller's msghdr at ADDR and of its iovec array. */
static int read_msghdr(struct sup *s, struct req *q, __u64 addr, struct send_args *g,
		       struct iovec **iov)
{
	struct msghdr mh;
	int err = sup_read_child_mem(s, q, addr, &mh, sizeof(mh));

	if (err)
		return err;
	if (mh.msg_iovlen > MAX_IOV)
		return -EMSGSIZE;
	*iov = xcalloc(mh.msg_iovlen + 1, sizeof(**iov));
	if (mh.msg_iovlen) {
		err = sup_read_child_mem(s, q, (__u64)(uintptr_t)mh.msg_iov, *iov,
					 mh.msg_iovlen * sizeof(**iov));
		if (err)
			return err;
	}
	g->name = (__u64)(uintptr_t)mh.msg_name;
	g->namelen = mh.msg_namelen;
	g->iov = *iov;
	g->iovlen = mh.msg_iovlen;
	g->control = (__u64)(uintptr_t)mh.msg_control;
	g->controllen = mh.msg_controllen;
	return 0;
}

int sup_do_sendmsg(struct sup *s, struct req *q, int fd, __u64 msg_addr, int flags,
		   struct answer *a)
{
	struct send_args g = { .flags = flags };
	_cleanup_free_ struct iovec *iov = NULL;
	int err = read_msghdr(s, q, msg_addr, &g, &iov);

	return err ? err : send_one(s, q, fd, &g, a);
}

/*
 * sendmmsg: each message as one sendmsg, its msg_len written back.  A
 * first message that must wait goes to a job; a later one ends the call
 * with the count so far, as an error after the first does.
 */
int sup_do_sendmmsg(struct sup *s, struct req *q, int fd, __u64 vec_addr, __u64 vlen, int flags,
		    struct answer *a)
{
	unsigned int sent = 0;
	int err = 0;

	if (vlen > MAX_IOV)
		vlen = MAX_IOV;
	for (unsigned int i = 0; i < vlen && !err; i++) {
		__u64 entry = vec_addr + i * sizeof(struct mmsghdr);
		struct send_op op = { .sock = -1, .via = -1 };
		struct send_args g = { .flags = flags };
		_cleanup_free_ struct iovec *iov = NULL;
		long n;

		err = read_msghdr(s, q, entry, &g, &iov);
		if (!err)
			err = send_prepare(s, q, fd, &g, &op);
		if (!err && i > 0)
			op.blocking = false; /* no job after the first */
		op.len_addr = entry + offsetof(struct mmsghdr, msg_len);
		n = err ? err : send_now(s, q, &op, a);
		sup_send_op_release(&op);
		if (n < 0) {
			err = (int)n;
		} else if (a->job) {
			return 0; /* the first message, sent by a job */
		} else {
			sup_write_child_u32(s, q, entry + offsetof(struct mmsghdr, msg_len),
					    (__u32)n, &err);
			if (!err)
				sent++;
		}
	}
	if (sent || !err)
		a->val = sent;
	return sent ? 0 : err;
}
