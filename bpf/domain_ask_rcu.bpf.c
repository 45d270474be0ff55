// SPDX-License-Identifier: GPL-2.0-only
/*
 * domain_ask_rcu.bpf.c - domain_ask.bpf.c for kernels with bpf_rcu_read_lock
 * (6.2 and later), which a sleepable program needs to follow a task's
 * group_leader to its domain.  lsm_domain.c loads this one first, and
 * domain_ask.bpf.c where it does not load (6.1).
 */
#define MOS_ASK_RCU 1
#include "domain_ask.bpf.c"
