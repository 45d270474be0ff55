/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The generic netlink family "mosingar_ask" (include/uapi/mosingar/ask.h):
 * one registered decider, bound to the netlink portid it registered from,
 * and the question table its answers end.
 */
#ifndef _MOS_GENL_H
#define _MOS_GENL_H

#include "mos_msg.h"

int mos_genl_init(void);
void mos_genl_exit(void);

/*
 * Ask the decider about INFO and wait for its answer for at most
 * INFO->timeout_ms, killable: the verdict (enum mos_ask_verdict).  Without a
 * decider, with a full table, a failed send, a timeout or a fatal signal,
 * MOS_ASK_DENY.  Sleeps: process context only.
 */
u32 mos_genl_ask(const struct mos_ask_info *info);

#endif /* _MOS_GENL_H */
