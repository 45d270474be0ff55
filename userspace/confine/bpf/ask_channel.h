/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ask_channel.h - the decider's end of the module's ask channel: the
 * generic netlink family "mosingar_ask" (include/uapi/mosingar/ask.h,
 * Documentation/kmod.md), spoken through libmnl.
 *
 * One decider per machine (the module refuses a second with EBUSY); it
 * needs CAP_SYS_ADMIN and CAP_NET_ADMIN.  Its socket is bound to a random
 * portid, not the process's pid (threat-model.md, "The module").  Every
 * question is parsed into a checked struct before anything uses it.
 *
 * Linked with -lmnl: mosd and the tests link it; mosctl does not (it never
 * decides for the module).  Debian ships libmnl as a shared library only,
 * so a STATIC=1 build has no channel: ask_channel_open says so (-ENOSYS).
 */
#ifndef MOS_ASK_CHANNEL_H
#define MOS_ASK_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include <mosingar/ask.h>

struct ask_channel;

/* A question, checked: a file access has PATH, a connect ADDR and PORT. */
struct ask_question {
	uint64_t id;
	uint32_t domain;
	uint32_t pid;
	uint32_t kind; /* enum mos_ask_kind */
	uint32_t timeout_ms;
	char path[MOS_ASK_PATH_MAX]; /* "" for a connect; in the task's view */
	uint32_t dev;		     /* a file: the kernel's s_dev (major << 20 | minor) */
	uint64_t ino;		     /* a file: its inode number */
	uint8_t addr[16];
	uint32_t addr_len; /* 4 or 16 for a connect, 0 otherwise */
	uint16_t port;
};

/*
 * Become the decider: open the socket, resolve the family, register.
 * 0 with *OUT set, or -errno: -ENOENT when the module is not loaded,
 * -EPERM without the capabilities, -EBUSY when another decider is
 * registered, -EPROTO when the module speaks another version, -ENOSYS in a
 * build without libmnl.
 */
int ask_channel_open(struct ask_channel **out);

/* The socket, for poll(): readable when a message waits. */
int ask_channel_fd(const struct ask_channel *c);

/* The portid the module knows the decider by. */
uint32_t ask_channel_portid(const struct ask_channel *c);

/*
 * Read one datagram without waiting: 1 with a question in Q; 0 when it
 * held none (an answer refused, e.g. a late one: counted); -EAGAIN when
 * nothing waits; -EPROTO for a malformed one (dropped); other -errno.
 */
int ask_channel_read(struct ask_channel *c, struct ask_question *q);

/*
 * Answer question ID with VERDICT (enum mos_ask_verdict): 0 once sent, or
 * -errno.  A refusal (the question timed out meanwhile) comes back later
 * through ask_channel_read.
 */
int ask_channel_answer(struct ask_channel *c, uint64_t id, uint32_t verdict);

/* Answers the module refused so far. */
uint64_t ask_channel_refused(const struct ask_channel *c);

/*
 * Whether Q's path names, in this process's view, the inode the task
 * accessed (Q's dev and ino): 1, or 0 (another file is there now, or none,
 * or the task sees another tree: its root or mounts differ).  A decider
 * shows an unmatched path as the task's name for an unknown file, never as
 * this machine's file.
 */
int ask_question_names_inode(const struct ask_question *q);

/* Unregister (the module denies every waiting question) and close. */
void ask_channel_close(struct ask_channel *c);

/*
 * Parse the genetlink payload of a QUESTION (the attributes after the
 * genlmsghdr, LEN bytes) into Q: 0, or -EPROTO when an attribute has a
 * wrong length, a path is not NUL-terminated within MOS_ASK_PATH_MAX, a
 * required one is missing, or the kind and what it carries disagree.
 * Unknown attributes are ignored (a newer module may add some).  Pure: the
 * unit test feeds it crafted buffers.
 */
int ask_question_parse(const void *attrs, size_t len, struct ask_question *q);

#endif /* MOS_ASK_CHANNEL_H */
