// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic netlink family "mosingar_ask": REGISTER, ANSWER, UNREGISTER
 * from mosd, QUESTION to it.
 *
 * Who may answer: every operation needs CAP_SYS_ADMIN in the initial user
 * namespace, in the sender and in the opener of its socket (netlink_capable;
 * GENL_ADMIN_PERM, CAP_NET_ADMIN, is checked first by genetlink), the
 * family lives in the initial network namespace only, and REGISTER binds
 * the sender's portid: an ANSWER or an UNREGISTER from any other portid is
 * refused with EPERM.  When that
 * socket closes (mosd exits or is killed), the netlink notifier ends the
 * registration and every waiting question is denied at once.
 */
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include "mos_ask.h"
#include "mos_genl.h"

/* More waiting questions than this are denied at once, and more of one domain. */
#define MOS_ASK_WAITING_MAX 1024
#define MOS_ASK_WAITING_PER_DOMAIN 64

static struct mos_ask_table mos_table;

/* The decider: its portid, 0 when none; written under mos_decider_lock. */
static DEFINE_MUTEX(mos_decider_lock);
static u32 mos_decider_portid;

static struct genl_family mos_family;

/* A decider decides what sandboxes may reach: more than CAP_NET_ADMIN. */
static bool mos_privileged(struct sk_buff *skb, struct genl_info *info)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return true;
	NL_SET_ERR_MSG(info->extack, "the decider needs CAP_SYS_ADMIN");
	return false;
}

static int mos_cmd_register(struct sk_buff *skb, struct genl_info *info)
{
	int ret;

	if (!mos_privileged(skb, info))
		return -EPERM;
	ret = mos_register_check(info->attrs, info->extack);
	if (ret)
		return ret;
	mutex_lock(&mos_decider_lock);
	if (mos_decider_portid && mos_decider_portid != info->snd_portid) {
		NL_SET_ERR_MSG(info->extack, "another decider is registered");
		ret = -EBUSY;
	} else {
		WRITE_ONCE(mos_decider_portid, info->snd_portid);
		mos_ask_open(&mos_table);
	}
	mutex_unlock(&mos_decider_lock);
	return ret;
}

/* Under mos_decider_lock: end the registration, deny every waiter. */
static void mos_decider_end_locked(void)
{
	unsigned int n;

	WRITE_ONCE(mos_decider_portid, 0);
	n = mos_ask_close(&mos_table);
	if (n)
		pr_info("the decider went away: %u waiting questions denied\n", n);
}

static bool mos_is_decider(struct genl_info *info)
{
	if (info->snd_portid && info->snd_portid == READ_ONCE(mos_decider_portid))
		return true;
	NL_SET_ERR_MSG(info->extack, "not the registered decider");
	return false;
}

static int mos_cmd_unregister(struct sk_buff *skb, struct genl_info *info)
{
	int ret = 0;

	if (!mos_privileged(skb, info))
		return -EPERM;
	mutex_lock(&mos_decider_lock);
	if (mos_is_decider(info))
		mos_decider_end_locked();
	else
		ret = -EPERM;
	mutex_unlock(&mos_decider_lock);
	return ret;
}

static int mos_cmd_answer(struct sk_buff *skb, struct genl_info *info)
{
	u64 id;
	u32 verdict;
	int ret;

	if (!mos_privileged(skb, info) || !mos_is_decider(info))
		return -EPERM;
	ret = mos_answer_get(info->attrs, &id, &verdict, info->extack);
	if (ret)
		return ret;
	ret = mos_ask_answer(&mos_table, id, verdict);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG(info->extack, "no such question waits (answered, or timed out)");
	return ret;
}

static const struct genl_small_ops mos_ops[] = {
	{
		.cmd = MOS_ASK_CMD_REGISTER,
		.flags = GENL_ADMIN_PERM,
		.doit = mos_cmd_register,
	},
	{
		.cmd = MOS_ASK_CMD_ANSWER,
		.flags = GENL_ADMIN_PERM,
		.doit = mos_cmd_answer,
	},
	{
		.cmd = MOS_ASK_CMD_UNREGISTER,
		.flags = GENL_ADMIN_PERM,
		.doit = mos_cmd_unregister,
	},
};

static struct genl_family mos_family __ro_after_init = {
	.name = MOS_ASK_GENL_NAME,
	.version = MOS_ASK_GENL_VERSION,
	.maxattr = MOS_ASK_A_MAX,
	.policy = mos_ask_policy,
	.netnsok = false,
	.module = THIS_MODULE,
	.small_ops = mos_ops,
	.n_small_ops = ARRAY_SIZE(mos_ops),
};

static int mos_netlink_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC ||
	    !net_eq(n->net, &init_net))
		return NOTIFY_DONE;
	mutex_lock(&mos_decider_lock);
	if (n->portid && n->portid == mos_decider_portid)
		mos_decider_end_locked();
	mutex_unlock(&mos_decider_lock);
	return NOTIFY_DONE;
}

static struct notifier_block mos_netlink_nb = {
	.notifier_call = mos_netlink_event,
};

/*
 * The question goes out under mos_decider_lock: a decider that unregisters,
 * or whose socket's release notifier runs, is gone for every question sent
 * after, so none is sent to a portid no longer the decider's.
 */
u32 mos_genl_ask(const struct mos_ask_info *info)
{
	struct mos_question q;
	struct sk_buff *skb;
	void *hdr;
	int ret;

	mutex_lock(&mos_decider_lock);
	if (!mos_decider_portid || mos_ask_post(&mos_table, &q, info->domain)) {
		mutex_unlock(&mos_decider_lock);
		return MOS_ASK_DENY;
	}
	skb = genlmsg_new(mos_question_size(info), GFP_KERNEL);
	if (!skb)
		goto withdraw;
	hdr = genlmsg_put(skb, 0, 0, &mos_family, 0, MOS_ASK_CMD_QUESTION);
	if (!hdr || mos_question_put(skb, q.id, info)) {
		nlmsg_free(skb);
		goto withdraw;
	}
	genlmsg_end(skb, hdr);
	/* consumes SKB; never waits: fails when the decider's queue is full */
	ret = genlmsg_unicast(&init_net, skb, mos_decider_portid);
	if (ret)
		goto withdraw;
	mutex_unlock(&mos_decider_lock);
	return mos_ask_wait(&mos_table, &q,
			    msecs_to_jiffies(min(info->timeout_ms, MOS_ASK_TIMEOUT_MAX_MS)));
withdraw:
	mos_ask_withdraw(&mos_table, &q);
	mutex_unlock(&mos_decider_lock);
	return MOS_ASK_DENY;
}

int mos_genl_init(void)
{
	int ret;

	mos_ask_table_init(&mos_table, MOS_ASK_WAITING_MAX, MOS_ASK_WAITING_PER_DOMAIN);
	ret = netlink_register_notifier(&mos_netlink_nb);
	if (ret)
		return ret;
	ret = genl_register_family(&mos_family);
	if (ret)
		netlink_unregister_notifier(&mos_netlink_nb);
	return ret;
}

void mos_genl_exit(void)
{
	genl_unregister_family(&mos_family);
	netlink_unregister_notifier(&mos_netlink_nb);
	mutex_lock(&mos_decider_lock);
	mos_decider_end_locked();
	mutex_unlock(&mos_decider_lock);
}
