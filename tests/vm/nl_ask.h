/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nl_ask.h - the guest tests' own speaker of the "mosingar_ask" generic
 * netlink family (include/uapi/mosingar/ask.h), byte by byte on a raw
 * netlink socket, independently of mosd's code: open a socket, build a
 * message, call and read the ack, resolve the family, register, answer,
 * load the module of the running kernel.
 */
#ifndef MOS_VM_NL_ASK_H
#define MOS_VM_NL_ASK_H

#include <errno.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <mosingar/ask.h>

#include "tap.h"

struct msg {
	struct nlmsghdr h;
	struct genlmsghdr g;
	char attrs[8192];
};

static int family;
static uint32_t seq;

static __attribute__((unused)) int nl_open(void)
{
	struct timeval tv = { .tv_sec = 5 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static __attribute__((unused)) void msg_init(struct msg *m, uint16_t type, uint8_t cmd, uint8_t version)
{
	memset(m, 0, sizeof(*m));
	m->h.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	m->h.nlmsg_seq = ++seq;
	m->g.cmd = cmd;
	m->g.version = version;
}

static __attribute__((unused)) void put(struct msg *m, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)m + NLMSG_ALIGN(m->h.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static __attribute__((unused)) void put_u32(struct msg *m, uint16_t type, uint32_t v)
{
	put(m, type, &v, sizeof(v));
}

static __attribute__((unused)) void put_u64(struct msg *m, uint16_t type, uint64_t v)
{
	put(m, type, &v, sizeof(v));
}

/*
 * Send M on FD and read replies up to its ack: 0, or the -errno the kernel
 * acked with; -EIO for a reply that is not one.  REPLY (if not NULL) gets
 * the first non-error reply.
 */
static __attribute__((unused)) int call(int fd, struct msg *m, struct msg *reply)
{
	char buf[16384];

	if (send(fd, m, m->h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != m->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
			if (reply && h->nlmsg_len <= sizeof(*reply))
				memcpy(reply, h, h->nlmsg_len);
		}
	}
}

/* The family's id, or -errno. */
static __attribute__((unused)) int resolve_family(void)
{
	struct msg m, r;
	struct nlattr *a;
	int fd = nl_open(), ret, left;

	if (fd < 0)
		return -errno;
	msg_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	put(&m, CTRL_ATTR_FAMILY_NAME, MOS_ASK_GENL_NAME, sizeof(MOS_ASK_GENL_NAME));
	memset(&r, 0, sizeof(r));
	ret = call(fd, &m, &r);
	close(fd);
	if (ret)
		return ret;
	left = (int)r.h.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for (a = (struct nlattr *)r.attrs; left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
					   a->nla_len <= left;
	     left -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			return *(uint16_t *)((char *)a + NLA_HDRLEN);
	return -EIO;
}

static __attribute__((unused)) int do_register(int fd, uint32_t version)
{
	struct msg m;

	msg_init(&m, family, MOS_ASK_CMD_REGISTER, MOS_ASK_GENL_VERSION);
	if (version)
		put_u32(&m, MOS_ASK_A_VERSION, version);
	return call(fd, &m, NULL);
}

static __attribute__((unused)) int do_unregister(int fd)
{
	struct msg m;

	msg_init(&m, family, MOS_ASK_CMD_UNREGISTER, MOS_ASK_GENL_VERSION);
	return call(fd, &m, NULL);
}

static __attribute__((unused)) int do_answer(int fd, uint64_t id, uint32_t verdict)
{
	struct msg m;

	msg_init(&m, family, MOS_ASK_CMD_ANSWER, MOS_ASK_GENL_VERSION);
	put_u64(&m, MOS_ASK_A_ID, id);
	put_u32(&m, MOS_ASK_A_VERDICT, verdict);
	return call(fd, &m, NULL);
}

/* A question the module asked, as the guest tests read it. */
struct question {
	uint64_t id;
	uint32_t domain, pid, kind, timeout_ms;
	char path[MOS_ASK_PATH_MAX];
	int has_path;
	uint8_t addr[16];
	int addr_len;
	uint16_t port;
};

/*
 * Wait at most TIMEOUT_MS for a QUESTION on FD and parse it into Q: 0,
 * -ETIMEDOUT, -EPROTO for a message that is not a well-formed question,
 * or -errno.
 */
static __attribute__((unused)) int recv_question(int fd, struct question *q, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };
	struct msg r;
	struct nlattr *a;
	ssize_t len;
	int left, seen = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	len = recv(fd, &r, sizeof(r), 0);
	if (len < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (!NLMSG_OK(&r.h, (size_t)len) || r.h.nlmsg_type != family ||
	    r.g.cmd != MOS_ASK_CMD_QUESTION)
		return -EPROTO;
	memset(q, 0, sizeof(*q));
	left = (int)r.h.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for (a = (struct nlattr *)r.attrs; left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
					   a->nla_len <= left;
	     left -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
		void *d = (char *)a + NLA_HDRLEN;
		int dlen = a->nla_len - NLA_HDRLEN;

		switch (a->nla_type) {
		case MOS_ASK_A_ID:
			if (dlen != 8)
				return -EPROTO;
			memcpy(&q->id, d, 8);
			seen |= 1;
			break;
		case MOS_ASK_A_DOMAIN:
		case MOS_ASK_A_PID:
		case MOS_ASK_A_KIND:
		case MOS_ASK_A_TIMEOUT_MS:
			if (dlen != 4)
				return -EPROTO;
			memcpy(a->nla_type == MOS_ASK_A_DOMAIN ? &q->domain :
			       a->nla_type == MOS_ASK_A_PID	 ? &q->pid :
			       a->nla_type == MOS_ASK_A_KIND	 ? &q->kind :
								   &q->timeout_ms,
			       d, 4);
			break;
		case MOS_ASK_A_ADDR:
			if (dlen != 4 && dlen != 16)
				return -EPROTO;
			memcpy(q->addr, d, dlen);
			q->addr_len = dlen;
			break;
		case MOS_ASK_A_PORT:
			if (dlen != 2)
				return -EPROTO;
			memcpy(&q->port, d, 2);
			break;
		case MOS_ASK_A_PATH:
			if (dlen < 1 || dlen > MOS_ASK_PATH_MAX || ((char *)d)[dlen - 1])
				return -EPROTO;
			memcpy(q->path, d, dlen);
			q->has_path = 1;
			break;
		}
	}
	return seen & 1 ? 0 : -EPROTO;
}

/* Load mosingar.ko from PATH: 0, -EEXIST when loaded already, or -errno. */
static __attribute__((unused)) int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* /mos/kmod/RELEASE.ko of the running kernel, into BUF; 0 when it is there. */
static __attribute__((unused)) int module_path(char *buf, size_t size)
{
	struct utsname u;

	uname(&u);
	snprintf(buf, size, "/mos/kmod/%s.ko", u.release);
	return access(buf, R_OK);
}

/*
 * The start of a guest test that decides: the module of this kernel loaded
 * (or already there) and a socket registered as the decider.  The socket;
 * or -1 after a SKIP line naming TEST (no module built for this kernel) or
 * after a failed result.
 */
static __attribute__((unused)) int start_deciding(const char *test)
{
	char path[512];
	int ret, fd;

	if (module_path(path, sizeof(path))) {
		printf("ok 1 %s # SKIP no %s (make kmod builds it)\n", test, path);
		return -1;
	}
	ret = load_module(path);
	result(ret == 0 || ret == -EEXIST, "module_loads", ret && ret != -EEXIST ? "%s" : "",
	       strerror(-ret));
	family = resolve_family();
	fd = nl_open();
	ret = family > 0 ? do_register(fd, MOS_ASK_GENL_VERSION) : family;
	result(ret == 0, "decider_registers", ret ? "%s" : "", strerror(-ret));
	if (ret) {
		close(fd);
		return -1;
	}
	return fd;
}

#endif /* MOS_VM_NL_ASK_H */
