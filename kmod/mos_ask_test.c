// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of the module's pure logic: the question table (mos_ask.c)
 * and the ask channel's messages (mos_msg.c).  make kunit builds it into a
 * UML kernel and prints its KTAP.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/string.h>
#include <net/netlink.h>

#include "mos_ask.h"
#include "mos_msg.h"

static void ask_without_decider_is_refused(struct kunit *test)
{
	struct mos_ask_table t;
	struct mos_question q;

	mos_ask_table_init(&t, 4, 4);
	KUNIT_EXPECT_EQ(test, mos_ask_post(&t, &q, 1), -ENOTCONN);
	KUNIT_EXPECT_EQ(test, q.end, MOS_ASK_CLOSED);
	KUNIT_EXPECT_EQ(test, q.verdict, (u32)MOS_ASK_DENY);
	KUNIT_EXPECT_EQ(test, t.count, 0U);
}

static void answer_before_wait_is_kept(struct kunit *test)
{
	struct mos_ask_table t;
	struct mos_question q;

	mos_ask_table_init(&t, 4, 4);
	mos_ask_open(&t);
	KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q, 1), 0);
	KUNIT_EXPECT_NE(test, q.id, 0ULL);
	KUNIT_EXPECT_EQ(test, t.count, 1U);
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, q.id, MOS_ASK_ALLOW), 0);
	KUNIT_EXPECT_EQ(test, t.count, 0U);
	KUNIT_EXPECT_EQ(test, mos_ask_wait(&t, &q, 0), (u32)MOS_ASK_ALLOW);
	KUNIT_EXPECT_EQ(test, q.end, MOS_ASK_ANSWERED);
	/* answered once: a second answer finds nothing */
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, q.id, MOS_ASK_DENY), -ENOENT);
}

static void bad_answers_leave_the_question_waiting(struct kunit *test)
{
	struct mos_ask_table t;
	struct mos_question q;

	mos_ask_table_init(&t, 4, 4);
	mos_ask_open(&t);
	KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q, 1), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, q.id, __MOS_ASK_VERDICT_COUNT), -EINVAL);
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, q.id, U32_MAX), -EINVAL);
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, q.id + 1, MOS_ASK_ALLOW), -ENOENT);
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, 0, MOS_ASK_ALLOW), -ENOENT);
	KUNIT_EXPECT_EQ(test, t.count, 1U);
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, q.id, MOS_ASK_ALWAYS), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_wait(&t, &q, 0), (u32)MOS_ASK_ALWAYS);
}

static void unanswered_question_times_out_to_deny(struct kunit *test)
{
	struct mos_ask_table t;
	struct mos_question q;
	unsigned long t0 = jiffies;

	mos_ask_table_init(&t, 4, 4);
	mos_ask_open(&t);
	KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q, 1), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_wait(&t, &q, msecs_to_jiffies(20)), (u32)MOS_ASK_DENY);
	KUNIT_EXPECT_EQ(test, q.end, MOS_ASK_TIMED_OUT);
	KUNIT_EXPECT_GE(test, jiffies - t0, msecs_to_jiffies(20));
	KUNIT_EXPECT_EQ(test, t.count, 0U);
	/* a late answer is refused, and changes nothing */
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, q.id, MOS_ASK_ALLOW), -ENOENT);
	KUNIT_EXPECT_EQ(test, q.verdict, (u32)MOS_ASK_DENY);
}

static void full_table_denies_at_once(struct kunit *test)
{
	struct mos_ask_table t;
	struct mos_question q[3];

	mos_ask_table_init(&t, 2, 2);
	mos_ask_open(&t);
	KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q[0], 1), 0);
	KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q[1], 1), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_post(&t, &q[2], 1), -EBUSY);
	KUNIT_EXPECT_EQ(test, q[2].end, MOS_ASK_FULL);
	mos_ask_withdraw(&t, &q[0]);
	KUNIT_EXPECT_EQ(test, t.count, 1U);
	KUNIT_EXPECT_EQ(test, mos_ask_post(&t, &q[2], 1), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_close(&t), 2U);
}

static void one_domain_cannot_fill_the_table(struct kunit *test)
{
	struct mos_ask_table t;
	struct mos_question q[5];

	mos_ask_table_init(&t, 4, 2);
	mos_ask_open(&t);
	KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q[0], 7), 0);
	KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q[1], 7), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_post(&t, &q[2], 7), -EBUSY);
	KUNIT_EXPECT_EQ(test, q[2].end, MOS_ASK_FULL);
	/* the others still ask */
	KUNIT_EXPECT_EQ(test, mos_ask_post(&t, &q[3], 8), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_post(&t, &q[4], 9), 0);
	/* and the domain again once one of its questions is answered */
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, q[0].id, MOS_ASK_ALLOW), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_post(&t, &q[2], 7), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_close(&t), 4U);
}

static void ids_are_new_every_time(struct kunit *test)
{
	struct mos_ask_table t;
	struct mos_question q;
	u64 last = 0;
	int i;

	mos_ask_table_init(&t, 1, 1);
	mos_ask_open(&t);
	for (i = 0; i < 100; i++) {
		KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q, 1), 0);
		KUNIT_EXPECT_GT(test, q.id, last);
		last = q.id;
		mos_ask_withdraw(&t, &q);
	}
	/* a withdrawn question cannot be answered */
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, last, MOS_ASK_ALLOW), -ENOENT);
}

static void close_denies_every_waiter(struct kunit *test)
{
	struct mos_ask_table t;
	struct mos_question q[3];
	int i;

	mos_ask_table_init(&t, 8, 8);
	mos_ask_open(&t);
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q[i], 1), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_answer(&t, q[1].id, MOS_ASK_ALLOW), 0);
	KUNIT_EXPECT_EQ(test, mos_ask_close(&t), 2U);
	KUNIT_EXPECT_EQ(test, mos_ask_wait(&t, &q[0], MAX_SCHEDULE_TIMEOUT), (u32)MOS_ASK_DENY);
	KUNIT_EXPECT_EQ(test, q[0].end, MOS_ASK_CLOSED);
	KUNIT_EXPECT_EQ(test, mos_ask_wait(&t, &q[1], MAX_SCHEDULE_TIMEOUT), (u32)MOS_ASK_ALLOW);
	KUNIT_EXPECT_EQ(test, mos_ask_wait(&t, &q[2], MAX_SCHEDULE_TIMEOUT), (u32)MOS_ASK_DENY);
	/* closed: no new question until a decider comes again */
	KUNIT_EXPECT_EQ(test, mos_ask_post(&t, &q[0], 1), -ENOTCONN);
	mos_ask_open(&t);
	KUNIT_EXPECT_EQ(test, mos_ask_post(&t, &q[0], 1), 0);
	mos_ask_withdraw(&t, &q[0]);
}

struct answerer {
	struct mos_ask_table *t;
	u64 id;
	u32 verdict;
	bool close;
	struct completion started;
};

static int answerer_fn(void *data)
{
	struct answerer *a = data;

	complete(&a->started);
	msleep(20);
	if (a->close)
		mos_ask_close(a->t);
	else
		mos_ask_answer(a->t, a->id, a->verdict);
	return 0;
}

/* A parked asker is woken by an answer, or by the decider's end, from another thread. */
static void waiter_is_woken_from_another_thread(struct kunit *test)
{
	struct mos_ask_table t;
	struct mos_question q;
	struct answerer a = { .t = &t, .verdict = MOS_ASK_ALWAYS };
	struct task_struct *k;
	int round;

	mos_ask_table_init(&t, 4, 4);
	for (round = 0; round < 2; round++) {
		mos_ask_open(&t);
		KUNIT_ASSERT_EQ(test, mos_ask_post(&t, &q, 1), 0);
		a.id = q.id;
		a.close = round == 1;
		init_completion(&a.started);
		k = kthread_run(answerer_fn, &a, "mos_ask_test");
		KUNIT_ASSERT_FALSE(test, IS_ERR(k));
		wait_for_completion(&a.started);
		KUNIT_EXPECT_EQ(test, mos_ask_wait(&t, &q, 10 * HZ),
				(u32)(round ? MOS_ASK_DENY : MOS_ASK_ALWAYS));
		KUNIT_EXPECT_EQ(test, q.end, round ? MOS_ASK_CLOSED : MOS_ASK_ANSWERED);
		KUNIT_EXPECT_EQ(test, t.count, 0U);
	}
}

/* A question's attributes parse back, by the same policy, to what was asked. */
static void question_round_trip(struct kunit *test)
{
	struct nlattr *tb[MOS_ASK_A_MAX + 1];
	struct mos_ask_info file = {
		.domain = 7, .pid = 4242, .kind = MOS_ASK_KIND_WRITE, .timeout_ms = 30000,
		.path = "/home/u/.ssh/id_ed25519", .dev = (8 << 20) | 1, .ino = 1ULL << 33,
	};
	struct mos_ask_info conn = {
		.domain = 9, .pid = 1, .kind = MOS_ASK_KIND_CONNECT, .timeout_ms = 5,
		.addr = { 10, 0, 0, 1 }, .addr_len = 4, .port = 5432,
	};
	struct sk_buff *skb;
	u64 id;

	skb = alloc_skb(mos_question_size(&file), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	KUNIT_ASSERT_EQ(test, mos_question_put(skb, 1ULL << 40, &file), 0);
	KUNIT_EXPECT_LE(test, skb->len, mos_question_size(&file));
	KUNIT_ASSERT_EQ(test, nla_parse(tb, MOS_ASK_A_MAX, (struct nlattr *)skb->data, skb->len,
					mos_ask_policy, NULL), 0);
	nla_memcpy(&id, tb[MOS_ASK_A_ID], sizeof(id));
	KUNIT_EXPECT_EQ(test, id, 1ULL << 40);
	KUNIT_EXPECT_EQ(test, nla_get_u32(tb[MOS_ASK_A_DOMAIN]), 7U);
	KUNIT_EXPECT_EQ(test, nla_get_u32(tb[MOS_ASK_A_PID]), 4242U);
	KUNIT_EXPECT_EQ(test, nla_get_u32(tb[MOS_ASK_A_KIND]), (u32)MOS_ASK_KIND_WRITE);
	KUNIT_EXPECT_EQ(test, nla_get_u32(tb[MOS_ASK_A_TIMEOUT_MS]), 30000U);
	KUNIT_EXPECT_STREQ(test, (char *)nla_data(tb[MOS_ASK_A_PATH]), file.path);
	KUNIT_EXPECT_EQ(test, nla_get_u32(tb[MOS_ASK_A_DEV]), (u32)((8 << 20) | 1));
	nla_memcpy(&id, tb[MOS_ASK_A_INO], sizeof(id));
	KUNIT_EXPECT_EQ(test, id, 1ULL << 33);
	KUNIT_EXPECT_NULL(test, tb[MOS_ASK_A_ADDR]);
	kfree_skb(skb);

	skb = alloc_skb(mos_question_size(&conn), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	KUNIT_ASSERT_EQ(test, mos_question_put(skb, 2, &conn), 0);
	KUNIT_ASSERT_EQ(test, nla_parse(tb, MOS_ASK_A_MAX, (struct nlattr *)skb->data, skb->len,
					mos_ask_policy, NULL), 0);
	KUNIT_EXPECT_EQ(test, nla_len(tb[MOS_ASK_A_ADDR]), 4);
	KUNIT_EXPECT_EQ(test, memcmp(nla_data(tb[MOS_ASK_A_ADDR]), conn.addr, 4), 0);
	KUNIT_EXPECT_EQ(test, nla_get_u16(tb[MOS_ASK_A_PORT]), (u16)5432);
	KUNIT_EXPECT_NULL(test, tb[MOS_ASK_A_PATH]);
	kfree_skb(skb);
}

static void malformed_questions_are_not_sent(struct kunit *test)
{
	struct mos_ask_info info = { .kind = MOS_ASK_KIND_READ, .path = "/etc/passwd" };
	struct sk_buff *skb = alloc_skb(8192, GFP_KERNEL);
	char *long_path;

	KUNIT_ASSERT_NOT_NULL(test, skb);
	info.kind = MOS_ASK_KIND_CONNECT;	/* a connect with a path */
	KUNIT_EXPECT_EQ(test, mos_question_put(skb, 1, &info), -EINVAL);
	info.kind = 0;
	KUNIT_EXPECT_EQ(test, mos_question_put(skb, 1, &info), -EINVAL);
	info.kind = __MOS_ASK_KIND_COUNT;
	KUNIT_EXPECT_EQ(test, mos_question_put(skb, 1, &info), -EINVAL);
	info.kind = MOS_ASK_KIND_READ;
	info.path = NULL;			/* a file access without one */
	KUNIT_EXPECT_EQ(test, mos_question_put(skb, 1, &info), -EINVAL);
	info.kind = MOS_ASK_KIND_CONNECT;
	info.addr_len = 5;
	KUNIT_EXPECT_EQ(test, mos_question_put(skb, 1, &info), -EINVAL);
	KUNIT_EXPECT_EQ(test, skb->len, 0U);

	long_path = kunit_kzalloc(test, MOS_ASK_PATH_MAX + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, long_path);
	memset(long_path, 'a', MOS_ASK_PATH_MAX);
	info.kind = MOS_ASK_KIND_READ;
	info.addr_len = 0;
	info.path = long_path;
	KUNIT_EXPECT_EQ(test, mos_question_put(skb, 1, &info), -EINVAL);
	kfree_skb(skb);

	/* too little room: -EMSGSIZE, not a truncated message (alloc_skb
	 * rounds its size up: fill all of the room but 16 bytes)
	 */
	skb = alloc_skb(64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put(skb, skb_tailroom(skb) - 16);
	info.path = "/etc/passwd";
	KUNIT_EXPECT_EQ(test, mos_question_put(skb, 1, &info), -EMSGSIZE);
	kfree_skb(skb);
}

/* Parse attributes put by PUT into TB by the family's strict policy. */
static int parse(struct kunit *test, struct sk_buff *skb, struct nlattr **tb)
{
	return nla_parse(tb, MOS_ASK_A_MAX, (struct nlattr *)skb->data, skb->len, mos_ask_policy,
			 NULL);
}

static void malformed_answers_are_refused(struct kunit *test)
{
	struct nlattr *tb[MOS_ASK_A_MAX + 1], *a;
	struct sk_buff *skb;
	u64 id = 5;
	u32 verdict;

	/* a good one */
	skb = alloc_skb(256, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	nla_put(skb, MOS_ASK_A_ID, sizeof(id), &id);
	nla_put_u32(skb, MOS_ASK_A_VERDICT, MOS_ASK_ALWAYS);
	KUNIT_ASSERT_EQ(test, parse(test, skb, tb), 0);
	id = 0;
	KUNIT_EXPECT_EQ(test, mos_answer_get(tb, &id, &verdict, NULL), 0);
	KUNIT_EXPECT_EQ(test, id, 5ULL);
	KUNIT_EXPECT_EQ(test, verdict, (u32)MOS_ASK_ALWAYS);
	kfree_skb(skb);

	/* an ID of 4 bytes: the length must be exact */
	skb = alloc_skb(256, GFP_KERNEL);
	nla_put_u32(skb, MOS_ASK_A_ID, 5);
	nla_put_u32(skb, MOS_ASK_A_VERDICT, MOS_ASK_ALLOW);
	KUNIT_EXPECT_EQ(test, parse(test, skb, tb), -EINVAL);
	kfree_skb(skb);

	/* a verdict that is none */
	skb = alloc_skb(256, GFP_KERNEL);
	id = 5;
	nla_put(skb, MOS_ASK_A_ID, sizeof(id), &id);
	nla_put_u32(skb, MOS_ASK_A_VERDICT, __MOS_ASK_VERDICT_COUNT);
	KUNIT_EXPECT_EQ(test, parse(test, skb, tb), -ERANGE);
	kfree_skb(skb);

	/* no verdict */
	skb = alloc_skb(256, GFP_KERNEL);
	nla_put(skb, MOS_ASK_A_ID, sizeof(id), &id);
	KUNIT_ASSERT_EQ(test, parse(test, skb, tb), 0);
	KUNIT_EXPECT_EQ(test, mos_answer_get(tb, &id, &verdict, NULL), -EINVAL);
	kfree_skb(skb);

	/* an attribute the family does not know */
	skb = alloc_skb(256, GFP_KERNEL);
	nla_put(skb, MOS_ASK_A_ID, sizeof(id), &id);
	nla_put_u32(skb, MOS_ASK_A_MAX + 1, 1);
	KUNIT_EXPECT_EQ(test, parse(test, skb, tb), -EINVAL);
	kfree_skb(skb);

	/* a path without its NUL, and one too long */
	skb = alloc_skb(2 * MOS_ASK_PATH_MAX, GFP_KERNEL);
	nla_put(skb, MOS_ASK_A_PATH, 4, "/etc");
	KUNIT_EXPECT_EQ(test, parse(test, skb, tb), -EINVAL);
	kfree_skb(skb);
	skb = alloc_skb(2 * MOS_ASK_PATH_MAX, GFP_KERNEL);
	a = nla_reserve(skb, MOS_ASK_A_PATH, MOS_ASK_PATH_MAX + 1);
	KUNIT_ASSERT_NOT_NULL(test, a);
	memset(nla_data(a), 'a', MOS_ASK_PATH_MAX);
	((char *)nla_data(a))[MOS_ASK_PATH_MAX] = '\0';
	KUNIT_EXPECT_EQ(test, parse(test, skb, tb), -EINVAL);
	kfree_skb(skb);
}

static void register_needs_this_version(struct kunit *test)
{
	struct nlattr *tb[MOS_ASK_A_MAX + 1];
	struct sk_buff *skb = alloc_skb(64, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, skb);
	KUNIT_ASSERT_EQ(test, parse(test, skb, tb), 0);
	KUNIT_EXPECT_EQ(test, mos_register_check(tb, NULL), -EINVAL);
	nla_put_u32(skb, MOS_ASK_A_VERSION, MOS_ASK_GENL_VERSION + 1);
	KUNIT_ASSERT_EQ(test, parse(test, skb, tb), 0);
	KUNIT_EXPECT_EQ(test, mos_register_check(tb, NULL), -EPROTO);
	kfree_skb(skb);
	skb = alloc_skb(64, GFP_KERNEL);
	nla_put_u32(skb, MOS_ASK_A_VERSION, MOS_ASK_GENL_VERSION);
	KUNIT_ASSERT_EQ(test, parse(test, skb, tb), 0);
	KUNIT_EXPECT_EQ(test, mos_register_check(tb, NULL), 0);
	kfree_skb(skb);
}

static struct kunit_case mos_ask_cases[] = {
	KUNIT_CASE(ask_without_decider_is_refused),
	KUNIT_CASE(answer_before_wait_is_kept),
	KUNIT_CASE(bad_answers_leave_the_question_waiting),
	KUNIT_CASE(unanswered_question_times_out_to_deny),
	KUNIT_CASE(full_table_denies_at_once),
	KUNIT_CASE(one_domain_cannot_fill_the_table),
	KUNIT_CASE(ids_are_new_every_time),
	KUNIT_CASE(close_denies_every_waiter),
	KUNIT_CASE(waiter_is_woken_from_another_thread),
	KUNIT_CASE(question_round_trip),
	KUNIT_CASE(malformed_questions_are_not_sent),
	KUNIT_CASE(malformed_answers_are_refused),
	KUNIT_CASE(register_needs_this_version),
	{}
};

static struct kunit_suite mos_ask_suite = {
	.name = "mosingar_ask",
	.test_cases = mos_ask_cases,
};

kunit_test_suite(mos_ask_suite);

MODULE_LICENSE("GPL");
