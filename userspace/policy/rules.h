/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rules.h - a policy's network rules in the form every backend enforces:
 * the host names of --net-allow resolved once, each to its addresses, and
 * every rule expanded to one (address, port) pair per address and port.
 *
 * The plan resolves once and hands the same struct to the report and to
 * each backend that judges addresses (the supervisor, cgroup BPF, the BPF
 * LSM) and to Landlock's report, so that what `mosctl check` and `run -v`
 * print is what the kernel and the supervisor enforce, and the sandbox's
 * /etc/hosts pins each name to those same addresses.
 *
 * The file rules are compiled once too, into grants (real paths and rights:
 * confine/landlock/landlock.h), which need the Landlock rights and the mount
 * view, both of the confine layer: the plan holds them next to these.
 */
#ifndef MOS_RULES_H
#define MOS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "report.h"
#include "resolve.h"

/* One TCP (and, with --allow-udp, UDP) destination a connect may go to:
 * FAMILY AF_INET or AF_INET6 (ADDR in network order, an IPv4 address in
 * its first 4 bytes), or AF_UNSPEC for any address. */
struct mos_connect_rule {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

/* What one --net-allow HOST rule resolved to (N is 0 for a rule without a
 * host: any address). */
struct mos_resolved {
	size_t n;
	struct mos_host_addr *v;
};

struct mos_net_rules {
	const struct mos_policy *policy; /* the rules' origins and host names */
	/* In policy order: each rule's addresses times its ports. */
	struct mos_connect_rule *connect;
	size_t nconnect;
	uint16_t *bind; /* --net-bind ports */
	size_t nbind;
	/* One per policy->net_allow[i], same order. */
	struct mos_resolved *resolved;
	/* "ADDR NAME\n" for each resolved address of a name (not for a
	 * literal address nor localhost): the sandbox's /etc/hosts pins
	 * them.  NULL when there is none. */
	char *etc_hosts;
	bool built;
};

/* Resolve P's host names (each once) and expand its network rules into R.
 * R keeps a pointer to P, which must outlive it.  0, or -EINVAL with E set
 * naming the rule whose host does not resolve. */
int mos_net_rules_build(const struct mos_policy *p, struct mos_net_rules *r, struct mos_err *e);
void mos_net_rules_free(struct mos_net_rules *r);

/* Whether P has a --net-allow rule with a host. */
bool mos_policy_has_host_rules(const struct mos_policy *p);

/* "  HOST resolved once, at start, to A B" for rule I of R's policy. */
void mos_net_rules_report_host(const struct mos_net_rules *r, size_t i, struct mos_report *rep);

/*
 * What WHO ("supervisor", "cgroup BPF", "BPF LSM") enforces of R: each
 * host's addresses, that the sandbox's /etc/hosts pins them (when it
 * does), and the count of connect and bind rules.  ALLOW_UDP: UDP goes to
 * the same destinations only.
 */
void mos_net_rules_report(const struct mos_net_rules *r, const char *who, bool allow_udp,
			  struct mos_report *rep);

#endif /* MOS_RULES_H */
