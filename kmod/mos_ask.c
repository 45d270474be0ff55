// SPDX-License-Identifier: GPL-2.0-only
/*
 * The question table (mos_ask.h): post, wait, answer, close.
 */
#include <linux/errno.h>
#include <linux/sched/signal.h>

#include <mosingar/ask.h>

#include "mos_ask.h"

void mos_ask_table_init(struct mos_ask_table *t, unsigned int max, unsigned int per_domain)
{
	spin_lock_init(&t->lock);
	INIT_LIST_HEAD(&t->waiting);
	t->next_id = 1;
	t->count = 0;
	t->max = max;
	t->max_per_domain = per_domain;
	t->open = false;
}

void mos_ask_open(struct mos_ask_table *t)
{
	spin_lock(&t->lock);
	t->open = true;
	spin_unlock(&t->lock);
}

/* Off the list with VERDICT and END, its asker woken; under the lock. */
static void mos_ask_end_locked(struct mos_ask_table *t, struct mos_question *q, u32 verdict,
			       enum mos_ask_end end)
{
	list_del_init(&q->node);
	t->count--;
	q->verdict = verdict;
	q->end = end;
	complete(&q->done);
}

unsigned int mos_ask_close(struct mos_ask_table *t)
{
	struct mos_question *q, *tmp;
	unsigned int n = 0;

	spin_lock(&t->lock);
	t->open = false;
	list_for_each_entry_safe(q, tmp, &t->waiting, node) {
		mos_ask_end_locked(t, q, MOS_ASK_DENY, MOS_ASK_CLOSED);
		n++;
	}
	spin_unlock(&t->lock);
	return n;
}

/* Under the lock: how many questions of DOMAIN wait (at most t->max). */
static unsigned int mos_ask_waiting_of(struct mos_ask_table *t, u32 domain)
{
	struct mos_question *w;
	unsigned int n = 0;

	list_for_each_entry(w, &t->waiting, node)
		n += w->domain == domain;
	return n;
}

int mos_ask_post(struct mos_ask_table *t, struct mos_question *q, u32 domain)
{
	int ret = 0;

	INIT_LIST_HEAD(&q->node);
	init_completion(&q->done);
	q->verdict = MOS_ASK_DENY;
	q->id = 0;
	q->domain = domain;
	spin_lock(&t->lock);
	if (!t->open) {
		q->end = MOS_ASK_CLOSED;
		ret = -ENOTCONN;
	} else if (t->count >= t->max ||
		   mos_ask_waiting_of(t, domain) >= t->max_per_domain) {
		q->end = MOS_ASK_FULL;
		ret = -EBUSY;
	} else {
		q->id = t->next_id++;
		q->end = MOS_ASK_TIMED_OUT;
		list_add_tail(&q->node, &t->waiting);
		t->count++;
	}
	spin_unlock(&t->lock);
	return ret;
}

void mos_ask_withdraw(struct mos_ask_table *t, struct mos_question *q)
{
	spin_lock(&t->lock);
	if (!list_empty(&q->node)) {
		list_del_init(&q->node);
		t->count--;
	}
	q->verdict = MOS_ASK_DENY;
	q->end = MOS_ASK_CLOSED;
	spin_unlock(&t->lock);
}

u32 mos_ask_wait(struct mos_ask_table *t, struct mos_question *q, unsigned long timeout)
{
	long left = wait_for_completion_killable_timeout(&q->done, timeout);
	u32 verdict;

	spin_lock(&t->lock);
	if (!list_empty(&q->node)) {
		/* nobody ended it: the wait did */
		list_del_init(&q->node);
		t->count--;
		q->verdict = MOS_ASK_DENY;
		q->end = left < 0 ? MOS_ASK_KILLED : MOS_ASK_TIMED_OUT;
	}
	verdict = q->verdict;
	spin_unlock(&t->lock);
	return verdict;
}

int mos_ask_answer(struct mos_ask_table *t, u64 id, u32 verdict)
{
	struct mos_question *q;
	int ret = -ENOENT;

	if (verdict >= __MOS_ASK_VERDICT_COUNT)
		return -EINVAL;
	spin_lock(&t->lock);
	list_for_each_entry(q, &t->waiting, node) {
		if (q->id == id) {
			mos_ask_end_locked(t, q, verdict, MOS_ASK_ANSWERED);
			ret = 0;
			break;
		}
	}
	spin_unlock(&t->lock);
	return ret;
}
