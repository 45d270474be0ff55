// SPDX-License-Identifier: GPL-2.0-only
/*
 * rules.c - a policy's network rules, resolved once (see rules.h).
 */
#include "rules.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

bool mos_policy_has_host_rules(const struct mos_policy *p)
{
	for (size_t i = 0; i < p->nnet_allow; i++)
		if (p->net_allow[i].host)
			return true;
	return false;
}

static void add_connect(struct mos_net_rules *r, size_t *cap, int family, const uint8_t *addr,
			uint16_t port)
{
	struct mos_connect_rule c = { .family = family, .port = port };

	if (family == AF_INET)
		memcpy(c.addr, addr, 4);
	else if (family == AF_INET6)
		memcpy(c.addr, addr, 16);
	if (r->nconnect == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		r->connect = xrealloc(r->connect, *cap * sizeof(*r->connect));
	}
	r->connect[r->nconnect++] = c;
}

/* The /etc/hosts lines for NR's addresses (a literal address needs none). */
static void add_hosts_lines(struct mos_net_rules *r, const struct mos_net_rule *nr,
			    const struct mos_resolved *res)
{
	for (size_t i = 0; i < res->n; i++) {
		char *more;

		if (!strcmp(res->v[i].text, nr->host) || !strcmp(nr->host, "localhost"))
			continue;
		more = xasprintf("%s%s %s\n", r->etc_hosts ? r->etc_hosts : "", res->v[i].text,
				 nr->host);
		free(r->etc_hosts);
		r->etc_hosts = more;
	}
}

int mos_net_rules_build(const struct mos_policy *p, struct mos_net_rules *r, struct mos_err *e)
{
	size_t cap = 0;

	memset(r, 0, sizeof(*r));
	r->policy = p;
	r->resolved = xcalloc(p->nnet_allow ? p->nnet_allow : 1, sizeof(*r->resolved));
	for (size_t i = 0; i < p->nnet_allow; i++) {
		const struct mos_net_rule *nr = &p->net_allow[i];
		struct mos_resolved *res = &r->resolved[i];
		struct mos_host_addrs h;

		if (!nr->host) {
			for (size_t j = 0; j < nr->nports; j++)
				add_connect(r, &cap, AF_UNSPEC, NULL, nr->ports[j]);
			continue;
		}
		if (mos_resolve_host(nr, &h, e) < 0) {
			mos_net_rules_free(r);
			return -EINVAL;
		}
		res->n = h.n;
		res->v = xcalloc(h.n ? h.n : 1, sizeof(*res->v));
		memcpy(res->v, h.v, h.n * sizeof(*res->v));
		for (size_t a = 0; a < res->n; a++)
			for (size_t j = 0; j < nr->nports; j++)
				add_connect(r, &cap, res->v[a].family, res->v[a].addr,
					    nr->ports[j]);
		add_hosts_lines(r, nr, res);
	}
	if (p->nnet_bind) {
		r->bind = xcalloc(p->nnet_bind, sizeof(*r->bind));
		memcpy(r->bind, p->net_bind, p->nnet_bind * sizeof(*r->bind));
		r->nbind = p->nnet_bind;
	}
	r->built = true;
	return 0;
}

void mos_net_rules_free(struct mos_net_rules *r)
{
	if (r->resolved && r->policy)
		for (size_t i = 0; i < r->policy->nnet_allow; i++)
			free(r->resolved[i].v);
	free(r->resolved);
	free(r->connect);
	free(r->bind);
	free(r->etc_hosts);
	memset(r, 0, sizeof(*r));
}

void mos_net_rules_report_host(const struct mos_net_rules *r, size_t i, struct mos_report *rep)
{
	const struct mos_resolved *res = &r->resolved[i];

	mos_report_host(rep, r->policy->net_allow[i].host, res->v, res->n);
}

void mos_net_rules_report(const struct mos_net_rules *r, const char *who, bool allow_udp,
			  struct mos_report *rep)
{
	for (size_t i = 0; i < r->policy->nnet_allow; i++)
		if (r->policy->net_allow[i].host)
			mos_net_rules_report_host(r, i, rep);
	if (r->etc_hosts)
		report_add(rep,
			   "%s: those names are pinned in the sandbox's /etc/hosts, so it "
			   "resolves them to the addresses allowed",
			   who);
	report_add(rep,
		   "%s: TCP connect to %zu address:port rule(s) and bind to %zu "
		   "port(s); any other TCP connect or bind fails with EACCES%s",
		   who, r->nconnect, r->nbind,
		   allow_udp && r->nconnect ? "; UDP to those destinations only" : "");
}
