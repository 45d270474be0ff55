// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_rules.c - host names resolved once (policy/rules.h), and a plan's
 * report showing the addresses its backends enforce.
 *
 * Linked with -Wl,--wrap=getaddrinfo (Makefile): every lookup of a name
 * answers a new address, 10.0.0.N for the Nth call, as a name whose DNS
 * answer changes between two queries would.  A literal address answers
 * itself.  A plan that resolved a name twice (once for Landlock's report,
 * once for the supervisor's rules) would then report one address and
 * enforce another; these tests see one call per name, and that one
 * address in the report, in the supervisor's rules, in the rules cgroup
 * BPF and the BPF LSM get, and in the sandbox's /etc/hosts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "plan.h"
#include "policy.h"
#include "rules.h"
#include "util.h"

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res);
void __wrap_freeaddrinfo(struct addrinfo *ai);

static int lookups;

struct answer {
	struct addrinfo ai;
	struct sockaddr_in sa;
};

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res)
{
	struct answer *a;

	(void)service;
	lookups++;
	if (strstr(node, ".invalid"))
		return EAI_NONAME;
	a = xcalloc(1, sizeof(*a));
	a->sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, node, &a->sa.sin_addr) != 1)
		a->sa.sin_addr.s_addr = htonl(0x0a000000U | (uint32_t)lookups);
	a->ai.ai_family = AF_INET;
	a->ai.ai_socktype = hints ? hints->ai_socktype : SOCK_STREAM;
	a->ai.ai_addr = (struct sockaddr *)&a->sa;
	a->ai.ai_addrlen = sizeof(a->sa);
	*res = &a->ai;
	return 0;
}

void __wrap_freeaddrinfo(struct addrinfo *ai)
{
	free(ai);
}

static void policy_with(struct mos_policy *p, const char *const *allow)
{
	struct mos_err e = { "" };

	policy_init(p);
	for (; *allow; allow++)
		if (policy_add_net_allow(p, *allow, "--net-allow", &e) < 0)
			fail_msg("%s: %s", *allow, e.msg);
}

static const char *addr_text(const struct mos_connect_rule *c, char *buf)
{
	return inet_ntop(c->family, c->addr, buf, INET6_ADDRSTRLEN) ? buf : "?";
}

/* Each name once, in policy order; every address times every port. */
static void test_rules_resolve_each_name_once(void **state)
{
	static const char *const allow[] = { "a.test:80,81", "192.0.2.7:22", "localhost:5",
					     ":443",	     "b.test:8443",  NULL };
	static const char *const want[] = { "10.0.0.1:80", "10.0.0.1:81", "192.0.2.7:22",
					    "10.0.0.3:5",  "*:443",	  "10.0.0.4:8443" };
	struct mos_policy p;
	struct mos_net_rules r;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };
	char buf[INET6_ADDRSTRLEN], got[64];

	(void)state;
	policy_with(&p, allow);
	lookups = 0;
	assert_int_equal(mos_net_rules_build(&p, &r, &e), 0);
	assert_int_equal(lookups, 4); /* a.test, 192.0.2.7, localhost, b.test */
	assert_int_equal(r.nconnect, 6);
	for (size_t i = 0; i < r.nconnect; i++) {
		if (r.connect[i].family == AF_UNSPEC)
			snprintf(got, sizeof(got), "*:%u", r.connect[i].port);
		else
			snprintf(got, sizeof(got), "%s:%u", addr_text(&r.connect[i], buf),
				 r.connect[i].port);
		assert_string_equal(got, want[i]);
	}
	/* names are pinned; a literal address and localhost need no line */
	assert_string_equal(r.etc_hosts, "10.0.0.1 a.test\n10.0.0.4 b.test\n");
	assert_int_equal(r.resolved[3].n, 0); /* ":443": any host */
	/* asking again answers from the rules, not the resolver */
	mos_net_rules_report(&r, "supervisor", false, &rep);
	mos_net_rules_report(&r, "cgroup BPF", false, &rep);
	assert_int_equal(lookups, 4);
	assert_string_equal(rep.lines[0], "  a.test resolved once, at start, to 10.0.0.1");
	assert_string_equal(rep.lines[3], "  b.test resolved once, at start, to 10.0.0.4");
	report_free(&rep);
	mos_net_rules_free(&r);
	policy_free(&p);
}

/* Bind ports are copied; no host, no lookup. */
static void test_rules_bind_ports_and_no_hosts(void **state)
{
	struct mos_policy p;
	struct mos_net_rules r;
	struct mos_err e = { "" };
	static const char *const none[] = { NULL };

	(void)state;
	policy_with(&p, none);
	assert_int_equal(policy_add_net_bind(&p, "8080", "--net-bind", &e), 0);
	lookups = 0;
	assert_int_equal(mos_net_rules_build(&p, &r, &e), 0);
	assert_int_equal(lookups, 0);
	assert_int_equal(r.nconnect, 0);
	assert_int_equal(r.nbind, 1);
	assert_int_equal(r.bind[0], 8080);
	assert_null(r.etc_hosts);
	mos_net_rules_free(&r);
	policy_free(&p);
}

/* A name that does not resolve is an error naming its rule. */
static void test_rules_unresolved_is_an_error(void **state)
{
	static const char *const allow[] = { "a.test:80", "gone.invalid:80", NULL };
	struct mos_policy p;
	struct mos_net_rules r;
	struct mos_err e = { "" };

	(void)state;
	policy_with(&p, allow);
	assert_int_equal(mos_net_rules_build(&p, &r, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "--net-allow"));
	assert_non_null(strstr(e.msg, "gone.invalid"));
	assert_null(r.connect); /* freed */
	policy_free(&p);
}

/* Every "NAME resolved once, at start, to ADDR" line of REP names ADDR. */
static size_t count_host_lines(const struct mos_report *rep, const char *name, const char *addr)
{
	char want[128], prefix[96];
	size_t n = 0;

	snprintf(prefix, sizeof(prefix), "  %s resolved once", name);
	snprintf(want, sizeof(want), "  %s resolved once, at start, to %s", name, addr);
	for (size_t i = 0; i < rep->nlines; i++) {
		if (strncmp(rep->lines[i], prefix, strlen(prefix)))
			continue;
		if (strcmp(rep->lines[i], want))
			fail_msg("the report says \"%s\"; enforced: %s", rep->lines[i], addr);
		n++;
	}
	return n;
}

/* Whether the N connect rules at V hold ADDR:PORT. */
static bool holds(const struct unotify_net_rule *v, size_t n, const char *addr, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < n; i++)
		if (v[i].port == port && v[i].family == AF_INET &&
		    inet_ntop(AF_INET, v[i].addr, buf, sizeof(buf)) && !strcmp(buf, addr))
			return true;
	return false;
}

/*
 * A plan on each backend: one lookup, and its one address in the report
 * (every line that names the host), in the rules of whichever backend
 * judges addresses, and in the sandbox's /etc/hosts.
 */
static void plan_one_address(enum mos_backend b)
{
	static const char *const allow[] = { "db.test:5432", NULL };
	struct mos_policy p;
	struct mos_plan plan;
	struct mos_err e = { "" };
	char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN];
	size_t lines;

	policy_with(&p, allow);
	lookups = 0;
	if (mos_plan_build(&p, b, &plan, &e) < 0)
		fail_msg("--backend %s: %s", mos_backend_name(b), e.msg);
	assert_int_equal(lookups, 1);
	snprintf(addr, sizeof(addr), "10.0.0.1");
	lines = count_host_lines(&plan.rep, "db.test", addr);
	print_message("--backend %s: %zu report line(s) name db.test, all %s\n",
		      mos_backend_name(b), lines, addr);
	assert_true(lines >= 1);
	/* the rules cgroup BPF and the BPF LSM are given (backend.c) */
	assert_true(plan.net.built);
	assert_int_equal(plan.net.nconnect, 1);
	assert_string_equal(addr_text(&plan.net.connect[0], buf), addr);
	if (mos_plan_uses(&plan, MOS_MECH_SUPERVISOR))
		assert_true(holds(plan.sup.pol.connect, plan.sup.pol.nconnect, addr, 5432));
	if (plan.sel.net != MOS_MECH_LANDLOCK && plan.sel.net != MOS_MECH_NONE)
		assert_string_equal(plan.view.hosts, "10.0.0.1 db.test\n");
	mos_plan_free(&plan);
	policy_free(&p);
}

/* auto: Landlock's ports and report, the supervisor's addresses. */
static void test_plan_auto_one_address(void **state)
{
	(void)state;
	plan_one_address(MOS_BACKEND_AUTO);
}

static void test_plan_unotify_one_address(void **state)
{
	(void)state;
	plan_one_address(MOS_BACKEND_UNOTIFY);
}

/* bpf: cgroup BPF here (or the BPF LSM where it is usable). */
static void test_plan_bpf_one_address(void **state)
{
	(void)state;
	plan_one_address(MOS_BACKEND_BPF);
}

/* --backend landlock filters by port: still one lookup for its report. */
static void test_plan_landlock_one_address(void **state)
{
	static const char *const allow[] = { "db.test:5432", NULL };
	struct mos_policy p;
	struct mos_plan plan;
	struct mos_err e = { "" };

	(void)state;
	policy_with(&p, allow);
	lookups = 0;
	assert_int_equal(mos_plan_build(&p, MOS_BACKEND_LANDLOCK, &plan, &e), 0);
	assert_true(lookups <= 1); /* none where Landlock has no port rules */
	if (lookups)
		assert_int_equal(count_host_lines(&plan.rep, "db.test", "10.0.0.1"), 1);
	assert_null(plan.view.hosts); /* nothing checks the addresses */
	mos_plan_free(&plan);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_resolve_each_name_once),
		cmocka_unit_test(test_rules_bind_ports_and_no_hosts),
		cmocka_unit_test(test_rules_unresolved_is_an_error),
		cmocka_unit_test(test_plan_auto_one_address),
		cmocka_unit_test(test_plan_unotify_one_address),
		cmocka_unit_test(test_plan_bpf_one_address),
		cmocka_unit_test(test_plan_landlock_one_address),
	};

	return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
