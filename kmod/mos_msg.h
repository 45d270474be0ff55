/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ask channel's messages (include/uapi/mosingar/ask.h): the attribute
 * policy every message from mosd is parsed against, and the encoding of a
 * question.  Pure logic over sk_buffs and attribute tables: KUnit tests it
 * in mos_ask_test.c.
 */
#ifndef _MOS_MSG_H
#define _MOS_MSG_H

#include <linux/skbuff.h>
#include <net/netlink.h>
#include <linux/types.h>

#include <mosingar/ask.h>

/* The policy of every attribute, for the family and for nla_parse. */
extern const struct nla_policy mos_ask_policy[MOS_ASK_A_MAX + 1];

/* What a question says (the asker fills it in). */
struct mos_ask_info {
	u32 domain;
	u32 pid;
	u32 kind;		/* enum mos_ask_kind */
	u32 timeout_ms;
	const char *path;	/* a file access: NUL-terminated, or NULL */
	u32 dev;		/* a file access: its inode's s_dev and number */
	u64 ino;
	u8 addr[16];		/* a connect: addr_len bytes, network order */
	u32 addr_len;		/* 4, 16, or 0 for a file access */
	u16 port;
};

/*
 * Put the attributes of question ID into SKB (after its genetlink header).
 * 0; -EINVAL for an info that is neither a file access with a path nor a
 * connect with an address, or a kind it does not fit; -EMSGSIZE when SKB
 * is too small.
 */
int mos_question_put(struct sk_buff *skb, u64 id, const struct mos_ask_info *info);

/* The size a question's attributes take (for genlmsg_new). */
size_t mos_question_size(const struct mos_ask_info *info);

/*
 * An ANSWER's attributes, parsed by the policy into TB: its ID and VERDICT.
 * 0, or -EINVAL (with EXTACK saying which attribute) when one is missing.
 */
int mos_answer_get(struct nlattr **tb, u64 *id, u32 *verdict, struct netlink_ext_ack *extack);

/*
 * A REGISTER's attributes: 0 when it speaks MOS_ASK_GENL_VERSION; -EINVAL
 * when the version is missing, -EPROTO when it is another.
 */
int mos_register_check(struct nlattr **tb, struct netlink_ext_ack *extack);

#endif /* _MOS_MSG_H */
