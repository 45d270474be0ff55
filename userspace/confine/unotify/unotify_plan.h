/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unotify_plan.h - a policy compiled for the supervisor backend (unotify.h):
 * the file roots and denied paths as Landlock would grant them (the same
 * grants, so both backends agree on every path), the network rules with
 * the addresses the plan resolved their host names to, once (rules.h).
 */
#ifndef MOS_UNOTIFY_PLAN_H
#define MOS_UNOTIFY_PLAN_H

#include "landlock.h"
#include "policy.h"
#include "report.h"
#include "rules.h"
#include "unotify.h"

struct unotify_plan {
	struct unotify_policy pol; /* points into the lists below */
	char **read, **write, **deny, **ask;
	size_t nread, nwrite, ndeny, nask;
	struct unotify_net_rule *connect;
	size_t nconnect;
	uint16_t *bind_ports;
	size_t nbind;
};

/*
 * Compile P for the supervisor: the file rules from G (the plan's grants,
 * built once for the newest ABI; NULL when Landlock keeps the files and
 * the supervisor judges connect and bind alone: NET_ONLY), the network
 * rules from NET (host names resolved once: rules.h).  The ask paths (and,
 * to learn, "/") are made writable and executable in VIEW: the supervisor
 * decides them.  0, or -errno with E set.
 */
int unotify_plan_build(const struct mos_policy *p, const struct landlock_grants *g,
		       const struct mos_net_rules *net, struct unotify_plan *up,
		       struct mos_fs_view *view, struct mos_report *rep, struct mos_err *e);
void unotify_plan_free(struct unotify_plan *up);

#endif /* MOS_UNOTIFY_PLAN_H */
