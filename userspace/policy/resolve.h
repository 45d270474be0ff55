/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * resolve.h - a --net-allow host name resolved, at start: its distinct IPv4
 * and IPv6 addresses.  rules.h calls it once per rule and gives the answer
 * to the report and to every backend.
 */
#ifndef MOS_RESOLVE_H
#define MOS_RESOLVE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>

#include "policy.h"
#include "report.h"

#define MOS_HOST_MAX_ADDRS 32

struct mos_host_addrs {
	size_t n;
	struct mos_host_addr {
		int family;	  /* AF_INET or AF_INET6 */
		uint8_t addr[16]; /* AF_INET: 4 bytes, then zeros */
		char text[INET6_ADDRSTRLEN];
	} v[MOS_HOST_MAX_ADDRS];
};

/* Resolve NR's host (NR->host must be set).  0, or -EINVAL with E naming the
 * rule when it does not resolve. */
int mos_resolve_host(const struct mos_net_rule *nr, struct mos_host_addrs *out, struct mos_err *e);
/* "  HOST resolved once, at start, to A B C" into REP, for the N addresses
 * at V. */
void mos_report_host(struct mos_report *rep, const char *host, const struct mos_host_addr *v,
		     size_t n);

#endif /* MOS_RESOLVE_H */
