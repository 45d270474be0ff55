/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sandbox_internal.h - what init says to mosctl over the status pipe
 * (sandbox.c), shared with the backends' hooks that speak it (backend.c).
 */
#ifndef MOS_SANDBOX_INTERNAL_H
#define MOS_SANDBOX_INTERNAL_H

#include <stdint.h>

/* init -> mosctl, over the status pipe. */
enum { MSG_STARTED = 1, MSG_EXITED = 2, MSG_LISTENER = 3, MSG_ROOT = 4 };
struct init_msg {
	int32_t kind;
	int32_t value; /* pid of the command, its wait status, or an fd number of init */
};

#endif /* MOS_SANDBOX_INTERNAL_H */
