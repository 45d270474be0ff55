// SPDX-License-Identifier: GPL-2.0-only
/*
 * ask_channel.c - the decider's end of the module's ask channel
 * (ask_channel.h), through libmnl.
 */
#include "ask_channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef MOS_NO_LIBMNL

/* A static build: Debian has no libmnl.a. */
int ask_channel_open(struct ask_channel **out)
{
	*out = NULL;
	return -ENOSYS;
}

int ask_channel_fd(const struct ask_channel *c)
{
	(void)c;
	return -1;
}

uint32_t ask_channel_portid(const struct ask_channel *c)
{
	(void)c;
	return 0;
}

int ask_channel_read(struct ask_channel *c, struct ask_question *q)
{
	(void)c;
	(void)q;
	return -ENOSYS;
}

int ask_channel_answer(struct ask_channel *c, uint64_t id, uint32_t verdict)
{
	(void)c;
	(void)id;
	(void)verdict;
	return -ENOSYS;
}

uint64_t ask_channel_refused(const struct ask_channel *c)
{
	(void)c;
	return 0;
}

void ask_channel_close(struct ask_channel *c)
{
	(void)c;
}

int ask_question_names_inode(const struct ask_question *q)
{
	(void)q;
	return 0;
}

int ask_question_parse(const void *attrs, size_t len, struct ask_question *q)
{
	(void)attrs;
	(void)len;
	(void)q;
	return -ENOSYS;
}

#else

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* How long register and the family lookup wait for the kernel. */
#define ASK_CHANNEL_REPLY_MS 5000

struct ask_channel {
	struct mnl_socket *nl;
	uint32_t portid;
	uint16_t family;
	uint32_t seq;
	uint64_t refused;
	/* a question is at most ~4.2 KB; the family reply a few hundred bytes */
	char buf[32768];
};

/* Bits of the attributes a question must carry. */
enum {
	HAS_ID = 1 << 0,
	HAS_DOMAIN = 1 << 1,
	HAS_PID = 1 << 2,
	HAS_KIND = 1 << 3,
	HAS_TIMEOUT = 1 << 4,
	HAS_PATH = 1 << 5,
	HAS_ADDR = 1 << 6,
	HAS_PORT = 1 << 7,
	HAS_DEV = 1 << 8,
	HAS_INO = 1 << 9,
};
#define HAS_COMMON (HAS_ID | HAS_DOMAIN | HAS_PID | HAS_KIND | HAS_TIMEOUT)
#define HAS_WHAT (HAS_PATH | HAS_DEV | HAS_INO | HAS_ADDR | HAS_PORT)

static int take_u32(const struct nlattr *a, uint32_t *v)
{
	if (mnl_attr_get_payload_len(a) != sizeof(*v))
		return -EPROTO;
	*v = mnl_attr_get_u32(a);
	return 0;
}

int ask_question_parse(const void *attrs, size_t len, struct ask_question *q)
{
	const struct nlattr *a = attrs;
	size_t left = len;
	unsigned int has = 0;
	int ret = 0;

	memset(q, 0, sizeof(*q));
	if (len > INT32_MAX)
		return -EPROTO;
	while (left > 0) {
		const void *d;
		uint16_t dlen;
		size_t step;

		if (!mnl_attr_ok(a, (int)left))
			return -EPROTO;
		d = mnl_attr_get_payload(a);
		dlen = mnl_attr_get_payload_len(a);
		switch (mnl_attr_get_type(a)) {
		case MOS_ASK_A_ID:
			if (dlen != sizeof(q->id))
				return -EPROTO;
			memcpy(&q->id, d, sizeof(q->id)); /* 4-byte aligned */
			has |= HAS_ID;
			break;
		case MOS_ASK_A_DOMAIN:
			ret = take_u32(a, &q->domain);
			has |= HAS_DOMAIN;
			break;
		case MOS_ASK_A_PID:
			ret = take_u32(a, &q->pid);
			has |= HAS_PID;
			break;
		case MOS_ASK_A_KIND:
			ret = take_u32(a, &q->kind);
			has |= HAS_KIND;
			break;
		case MOS_ASK_A_TIMEOUT_MS:
			ret = take_u32(a, &q->timeout_ms);
			has |= HAS_TIMEOUT;
			break;
		case MOS_ASK_A_PATH:
			if (dlen < 2 || dlen > MOS_ASK_PATH_MAX || ((const char *)d)[dlen - 1] ||
			    memchr(d, '\0', dlen) != (const char *)d + dlen - 1)
				return -EPROTO;
			memcpy(q->path, d, dlen);
			has |= HAS_PATH;
			break;
		case MOS_ASK_A_DEV:
			ret = take_u32(a, &q->dev);
			has |= HAS_DEV;
			break;
		case MOS_ASK_A_INO:
			if (dlen != sizeof(q->ino))
				return -EPROTO;
			memcpy(&q->ino, d, sizeof(q->ino));
			has |= HAS_INO;
			break;
		case MOS_ASK_A_ADDR:
			if (dlen != 4 && dlen != 16)
				return -EPROTO;
			memcpy(q->addr, d, dlen);
			q->addr_len = dlen;
			has |= HAS_ADDR;
			break;
		case MOS_ASK_A_PORT:
			if (dlen != sizeof(uint16_t))
				return -EPROTO;
			q->port = mnl_attr_get_u16(a);
			has |= HAS_PORT;
			break;
		default: /* a newer module's: not ours to judge */
			break;
		}
		if (ret)
			return ret;
		step = MNL_ALIGN(a->nla_len);
		if (step >= left)
			break;
		left -= step;
		a = (const struct nlattr *)((const char *)a + step);
	}
	if ((has & HAS_COMMON) != HAS_COMMON)
		return -EPROTO;
	if (q->kind == MOS_ASK_KIND_CONNECT)
		return (has & HAS_WHAT) == (HAS_ADDR | HAS_PORT) ? 0 : -EPROTO;
	if (q->kind < MOS_ASK_KIND_READ || q->kind > MOS_ASK_KIND_REMOVE)
		return -EPROTO;
	return (has & HAS_WHAT) == (HAS_PATH | HAS_DEV | HAS_INO) ? 0 : -EPROTO;
}

int ask_question_names_inode(const struct ask_question *q)
{
	struct stat st;

	if (!q->path[0] || q->path[0] != '/' ||
	    fstatat(AT_FDCWD, q->path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return st.st_ino == q->ino && major(st.st_dev) == q->dev >> 20 &&
	       minor(st.st_dev) == (q->dev & 0xfffff);
}

static struct nlmsghdr *put_request(struct ask_channel *c, uint16_t type, uint8_t cmd,
				    uint8_t version, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(c->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++c->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* Wait for the reply to NLH (its seq): run CB on it; 0, or -errno. */
static int await_reply(struct ask_channel *c, const struct nlmsghdr *nlh, mnl_cb_t cb,
		       void *data)
{
	uint32_t seq = nlh->nlmsg_seq;
	struct pollfd p = { .fd = mnl_socket_get_fd(c->nl), .events = POLLIN };

	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n;
		int ret = poll(&p, 1, ASK_CHANNEL_REPLY_MS);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return ret < 0 ? -errno : -ETIMEDOUT;
		n = mnl_socket_recvfrom(c->nl, c->buf, sizeof(c->buf));
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(c->buf, (size_t)n, seq, c->portid, cb, data);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

struct family_reply {
	uint16_t id;
	uint32_t version;
};

static int family_attr(const struct nlattr *a, void *data)
{
	struct family_reply *r = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
		r->id = mnl_attr_get_u16(a);
	else if (mnl_attr_get_type(a) == CTRL_ATTR_VERSION &&
		 mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		r->version = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int family_reply(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr, data) < 0 ? MNL_CB_ERROR
										     : MNL_CB_OK;
}

/* Bind to a random portid: not the pid a peer could bind once we close. */
static int bind_random(struct ask_channel *c)
{
	for (int i = 0; i < 16; i++) {
		uint32_t portid;

		if (getrandom(&portid, sizeof(portid), 0) != sizeof(portid))
			return -errno;
		if (!portid || portid == (uint32_t)getpid())
			continue;
		if (mnl_socket_bind(c->nl, 0, portid) == 0) {
			c->portid = mnl_socket_get_portid(c->nl);
			return 0;
		}
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EADDRINUSE;
}

int ask_channel_open(struct ask_channel **out)
{
	struct ask_channel *c = calloc(1, sizeof(*c));
	struct family_reply fam = { 0 };
	struct nlmsghdr *nlh;
	int ret;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!c->nl) {
		ret = -errno;
		free(c);
		return ret;
	}
	ret = bind_random(c);
	if (ret)
		goto fail;
	nlh = put_request(c, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MOS_ASK_GENL_NAME);
	ret = await_reply(c, nlh, family_reply, &fam);
	if (ret)
		goto fail; /* -ENOENT: no such family, the module is not loaded */
	if (!fam.id) {
		ret = -EPROTO;
		goto fail;
	}
	if (fam.version != MOS_ASK_GENL_VERSION) {
		ret = -EPROTO;
		goto fail;
	}
	c->family = fam.id;
	nlh = put_request(c, c->family, MOS_ASK_CMD_REGISTER, MOS_ASK_GENL_VERSION, NLM_F_ACK);
	mnl_attr_put_u32(nlh, MOS_ASK_A_VERSION, MOS_ASK_GENL_VERSION);
	ret = await_reply(c, nlh, NULL, NULL);
	if (ret)
		goto fail;
	*out = c;
	return 0;
fail:
	mnl_socket_close(c->nl);
	free(c);
	return ret;
}

int ask_channel_fd(const struct ask_channel *c)
{
	return mnl_socket_get_fd(c->nl);
}

uint32_t ask_channel_portid(const struct ask_channel *c)
{
	return c->portid;
}

uint64_t ask_channel_refused(const struct ask_channel *c)
{
	return c->refused;
}

int ask_channel_read(struct ask_channel *c, struct ask_question *q)
{
	struct sockaddr_nl from;
	socklen_t flen = sizeof(from);
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)c->buf;
	ssize_t n = recvfrom(mnl_socket_get_fd(c->nl), c->buf, sizeof(c->buf),
			     MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &flen);

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* from the kernel only, and whole */
	if (flen != sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0 ||
	    (size_t)n > sizeof(c->buf) || !mnl_nlmsg_ok(nlh, (int)n))
		return -EPROTO;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
			return -EPROTO;
		if (e->error)
			c->refused++;
		return 0;
	}
	if (nlh->nlmsg_type != c->family ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr) ||
	    ((const struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd != MOS_ASK_CMD_QUESTION)
		return -EPROTO;
	return ask_question_parse(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct genlmsghdr)),
				  mnl_nlmsg_get_payload_len(nlh) - sizeof(struct genlmsghdr), q) ?
		       -EPROTO :
		       1;
}

int ask_channel_answer(struct ask_channel *c, uint64_t id, uint32_t verdict)
{
	/* no ack asked: the kernel reports a refusal all the same */
	struct nlmsghdr *nlh = put_request(c, c->family, MOS_ASK_CMD_ANSWER, MOS_ASK_GENL_VERSION, 0);

	mnl_attr_put(nlh, MOS_ASK_A_ID, sizeof(id), &id);
	mnl_attr_put_u32(nlh, MOS_ASK_A_VERDICT, verdict);
	return mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

void ask_channel_close(struct ask_channel *c)
{
	struct nlmsghdr *nlh;

	if (!c)
		return;
	/* closing would do it too (the module's notifier), a moment later */
	nlh = put_request(c, c->family, MOS_ASK_CMD_UNREGISTER, MOS_ASK_GENL_VERSION, 0);
	(void)mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(c->nl);
	free(c);
}

#endif /* MOS_NO_LIBMNL */
