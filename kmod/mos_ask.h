/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The question table: tasks parked on an ask rule's miss, each waiting for
 * the decider's answer, a timeout, a fatal signal or the decider's end,
 * whichever comes first.  Pure logic (no netlink, no BPF): KUnit tests it
 * in mos_ask_test.c.
 *
 * A question lives on its asker's stack.  The table's lock covers every
 * question's list node and verdict: an answer is written, and the asker
 * woken, under it; the asker takes its question off the list under it
 * before returning, so no answer can touch a question whose asker is gone.
 */
#ifndef _MOS_ASK_H
#define _MOS_ASK_H

#include <linux/completion.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

/* Why a question ended: what the caller counts. */
enum mos_ask_end {
	MOS_ASK_ANSWERED = 0,
	MOS_ASK_TIMED_OUT = 1,
	MOS_ASK_KILLED = 2,	/* a fatal signal: the task is dying anyway */
	MOS_ASK_CLOSED = 3,	/* the decider went away, or none was there */
	MOS_ASK_FULL = 4,	/* too many questions wait already */
};

struct mos_ask_table {
	spinlock_t lock;		/* all below, and every question's node and verdict */
	struct list_head waiting;	/* struct mos_question.node */
	u64 next_id;			/* never 0, never reused */
	unsigned int count;		/* questions on the list */
	unsigned int max;		/* more than this are denied at once */
	unsigned int max_per_domain;	/* and more than this of one domain */
	bool open;			/* a decider is registered */
};

struct mos_question {
	struct list_head node;
	u64 id;
	u32 domain;
	struct completion done;
	u32 verdict;			/* enum mos_ask_verdict */
	enum mos_ask_end end;
};

/*
 * At most MAX questions wait at once, at most PER_DOMAIN of one domain: a
 * sandbox that parks many threads denies its own questions, not those of
 * the others.
 */
void mos_ask_table_init(struct mos_ask_table *t, unsigned int max, unsigned int per_domain);

/* A decider came: questions are taken from now on. */
void mos_ask_open(struct mos_ask_table *t);

/*
 * The decider went: every waiting question is denied now (MOS_ASK_CLOSED),
 * and new ones are until the next mos_ask_open.  Returns how many waited.
 */
unsigned int mos_ask_close(struct mos_ask_table *t);

/*
 * Put Q, a question of DOMAIN, on the table with a new id (Q->id).  0;
 * -ENOTCONN when no decider is registered; -EBUSY when the table, or
 * DOMAIN's share of it, is full.  On 0 the caller sends the
 * question, then calls mos_ask_wait (also when sending failed: the question
 * is then withdrawn with mos_ask_withdraw instead).
 */
int mos_ask_post(struct mos_ask_table *t, struct mos_question *q, u32 domain);

/* Take a posted question off the table unanswered (its send failed). */
void mos_ask_withdraw(struct mos_ask_table *t, struct mos_question *q);

/*
 * Wait for Q's answer for at most TIMEOUT jiffies, killable.  Returns the
 * verdict (MOS_ASK_DENY unless answered), with Q->end saying why; Q is off
 * the table when it returns.
 */
u32 mos_ask_wait(struct mos_ask_table *t, struct mos_question *q, unsigned long timeout);

/*
 * The decider's answer VERDICT to question ID.  0; -EINVAL for a verdict
 * that is not one; -ENOENT when no such question waits (answered already,
 * timed out, never asked).
 */
int mos_ask_answer(struct mos_ask_table *t, u64 id, u32 verdict);

#endif /* _MOS_ASK_H */
