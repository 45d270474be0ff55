// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ask channel's messages (mos_msg.h).
 */
#include <linux/errno.h>
#include <linux/string.h>
#include <net/netlink.h>

#include "mos_msg.h"

const struct nla_policy mos_ask_policy[MOS_ASK_A_MAX + 1] = {
	[MOS_ASK_A_VERSION] = { .type = NLA_U32 },
	[MOS_ASK_A_ID] = { .type = NLA_U64 },
	[MOS_ASK_A_DOMAIN] = { .type = NLA_U32 },
	[MOS_ASK_A_PID] = { .type = NLA_U32 },
	[MOS_ASK_A_KIND] = NLA_POLICY_RANGE(NLA_U32, 1, __MOS_ASK_KIND_COUNT - 1),
	[MOS_ASK_A_PATH] = { .type = NLA_NUL_STRING, .len = MOS_ASK_PATH_MAX - 1 },
	[MOS_ASK_A_ADDR] = { .type = NLA_BINARY, .len = 16 },
	[MOS_ASK_A_PORT] = { .type = NLA_U16 },
	[MOS_ASK_A_VERDICT] = NLA_POLICY_MAX(NLA_U32, __MOS_ASK_VERDICT_COUNT - 1),
	[MOS_ASK_A_TIMEOUT_MS] = { .type = NLA_U32 },
	[MOS_ASK_A_DEV] = { .type = NLA_U32 },
	[MOS_ASK_A_INO] = { .type = NLA_U64 },
};

static bool mos_info_valid(const struct mos_ask_info *info)
{
	if (info->kind == MOS_ASK_KIND_CONNECT)
		return !info->path && (info->addr_len == 4 || info->addr_len == 16);
	if (info->kind < MOS_ASK_KIND_READ || info->kind > MOS_ASK_KIND_REMOVE)
		return false;
	return info->path && !info->addr_len &&
	       strnlen(info->path, MOS_ASK_PATH_MAX) < MOS_ASK_PATH_MAX;
}

size_t mos_question_size(const struct mos_ask_info *info)
{
	size_t n = nla_total_size(sizeof(u64)) + 4 * nla_total_size(sizeof(u32));

	if (info->path)
		n += nla_total_size(strnlen(info->path, MOS_ASK_PATH_MAX) + 1) +
		     nla_total_size(sizeof(u32)) + nla_total_size(sizeof(u64));
	else
		n += nla_total_size(info->addr_len) + nla_total_size(sizeof(u16));
	return n;
}

int mos_question_put(struct sk_buff *skb, u64 id, const struct mos_ask_info *info)
{
	if (!mos_info_valid(info))
		return -EINVAL;
	/* no pad attribute: the decider reads a u64 with memcpy */
	if (nla_put(skb, MOS_ASK_A_ID, sizeof(id), &id) ||
	    nla_put_u32(skb, MOS_ASK_A_DOMAIN, info->domain) ||
	    nla_put_u32(skb, MOS_ASK_A_PID, info->pid) ||
	    nla_put_u32(skb, MOS_ASK_A_KIND, info->kind) ||
	    nla_put_u32(skb, MOS_ASK_A_TIMEOUT_MS, info->timeout_ms))
		return -EMSGSIZE;
	if (info->path) {
		if (nla_put_string(skb, MOS_ASK_A_PATH, info->path) ||
		    nla_put_u32(skb, MOS_ASK_A_DEV, info->dev) ||
		    nla_put(skb, MOS_ASK_A_INO, sizeof(info->ino), &info->ino))
			return -EMSGSIZE;
		return 0;
	}
	if (nla_put(skb, MOS_ASK_A_ADDR, info->addr_len, info->addr) ||
	    nla_put_u16(skb, MOS_ASK_A_PORT, info->port))
		return -EMSGSIZE;
	return 0;
}

int mos_answer_get(struct nlattr **tb, u64 *id, u32 *verdict, struct netlink_ext_ack *extack)
{
	if (!tb[MOS_ASK_A_ID]) {
		NL_SET_ERR_MSG(extack, "an answer needs MOS_ASK_A_ID");
		return -EINVAL;
	}
	if (!tb[MOS_ASK_A_VERDICT]) {
		NL_SET_ERR_MSG(extack, "an answer needs MOS_ASK_A_VERDICT");
		return -EINVAL;
	}
	*id = nla_get_u64(tb[MOS_ASK_A_ID]);
	*verdict = nla_get_u32(tb[MOS_ASK_A_VERDICT]);
	return 0;
}

int mos_register_check(struct nlattr **tb, struct netlink_ext_ack *extack)
{
	if (!tb[MOS_ASK_A_VERSION]) {
		NL_SET_ERR_MSG(extack, "register needs MOS_ASK_A_VERSION");
		return -EINVAL;
	}
	if (nla_get_u32(tb[MOS_ASK_A_VERSION]) != MOS_ASK_GENL_VERSION) {
		NL_SET_ERR_MSG_ATTR(extack, tb[MOS_ASK_A_VERSION], "another ask channel version");
		return -EPROTO;
	}
	return 0;
}
