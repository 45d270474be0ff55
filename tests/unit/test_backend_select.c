// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_backend_select.c - mos_backend_select() (confine/backend.h) as a
 * table: each row is a set of inputs (kernel: Landlock ABI, how far the
 * BPF LSM probe got; policy: ask, learn, host rules, network rules, UDP,
 * grants reaching /proc; --backend) and the selection they must give.  A
 * row's inputs may be ranges or "any"; every combination of inputs
 * (--backend x ABI 0..7 x each probe stage x each policy need) must match
 * exactly one row, so the table covers them all and no two rows overlap.
 *
 * "Root or not" enters as the probe's stage: without CAP_BPF the probe
 * stops at NOT_CHECKED (the BPF LSM is active but cannot be loaded), which
 * selects exactly what a kernel without the BPF LSM does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "unotify.h"

#define ANY -1

/* Sets of probe stages. */
#define ST(s) (1U << (s))
#define LSM_ANY 0xffU
#define LSM_USABLE ST(MOS_BPF_LSM_USABLE)
#define LSM_ABSENT (ST(MOS_BPF_LSM_UNKNOWN) | ST(MOS_BPF_LSM_NOT_ACTIVE))
#define LSM_NOT_ROOT ST(MOS_BPF_LSM_NOT_CHECKED)
#define LSM_REFUSED (ST(MOS_BPF_LSM_REFUSED) | ST(MOS_BPF_LSM_NO_ATTACH))

#define LL MOS_MECH_BIT(MOS_MECH_LANDLOCK)
#define SUP MOS_MECH_BIT(MOS_MECH_SUPERVISOR)
#define CG MOS_MECH_BIT(MOS_MECH_NET_CGROUP)
#define LSM MOS_MECH_BIT(MOS_MECH_BPF_LSM)

#define SAME -2 /* landlock_abi: the kernel's */

struct row {
	const char *name;
	/* inputs */
	int asked; /* enum mos_backend, or ANY */
	int abi_lo, abi_hi;
	unsigned int lsm;		       /* set of enum mos_bpf_lsm */
	int ask, learn, hosts, net, udp, proc; /* 0, 1 or ANY */
	/* expected */
	const char *refusal; /* a substring of it; NULL: none */
	enum mos_mech files, netm;
	unsigned int mechs;
	int landlock_abi; /* or SAME */
	bool scope_only, declined, pidns, deny_inet;
	unsigned int trap;
};

#define AUTO MOS_BACKEND_AUTO
#define LANDLOCK MOS_BACKEND_LANDLOCK
#define UNOTIFY MOS_BACKEND_UNOTIFY
#define BPF MOS_BACKEND_BPF
#define M_LL MOS_MECH_LANDLOCK
#define M_SUP MOS_MECH_SUPERVISOR
#define M_CG MOS_MECH_NET_CGROUP
#define M_LSM MOS_MECH_BPF_LSM
#define M_NONE MOS_MECH_NONE
#define T_ALL UNOTIFY_TRAP_ALL
#define T_NET UNOTIFY_TRAP_NET
#define T_SEND UNOTIFY_TRAP_SEND

/* clang-format off */
static const struct row rows[] = {
/*  name                                      asked     abi   lsm         ask  learn hosts net  udp  proc   refusal      files  net     mechs     ll-abi scope decl pidns deny  trap */
/* --learn and --ask need the supervisor: refused where it was not asked for */
{ "landlock refuses --learn",                 LANDLOCK, 0, 7, LSM_ANY,    ANY, 1,   ANY,  ANY, ANY, ANY,   "--learn",   M_NONE, M_NONE, 0,        0,    0,    0,   0,    0,    0 },
{ "landlock refuses --ask",                   LANDLOCK, 0, 7, LSM_ANY,    1,   0,   ANY,  ANY, ANY, ANY,   "--ask",     M_NONE, M_NONE, 0,        0,    0,    0,   0,    0,    0 },
{ "bpf refuses --learn",                      BPF,      0, 7, LSM_ANY,    ANY, 1,   ANY,  ANY, ANY, ANY,   "--learn",   M_NONE, M_NONE, 0,        0,    0,    0,   0,    0,    0 },
{ "bpf refuses --ask",                        BPF,      0, 7, LSM_ANY,    1,   0,   ANY,  ANY, ANY, ANY,   "--ask",     M_NONE, M_NONE, 0,        0,    0,    0,   0,    0,    0 },
/* the supervisor alone: asked for, or auto without Landlock or for what only it does */
{ "unotify",                                  UNOTIFY,  0, 7, LSM_ANY,    ANY, ANY, ANY,  ANY, 0,   ANY,   NULL,        M_SUP,  M_SUP,  SUP,      0,    0,    0,   1,    0,    T_ALL },
{ "unotify, UDP destinations checked",        UNOTIFY,  0, 7, LSM_ANY,    ANY, ANY, ANY,  ANY, 1,   ANY,   NULL,        M_SUP,  M_SUP,  SUP,      0,    0,    0,   1,    0,    T_ALL | T_SEND },
{ "auto without Landlock",                    AUTO,     0, 0, LSM_ANY,    ANY, ANY, ANY,  ANY, 0,   ANY,   NULL,        M_SUP,  M_SUP,  SUP,      0,    0,    0,   1,    0,    T_ALL },
{ "auto without Landlock, UDP",               AUTO,     0, 0, LSM_ANY,    ANY, ANY, ANY,  ANY, 1,   ANY,   NULL,        M_SUP,  M_SUP,  SUP,      0,    0,    0,   1,    0,    T_ALL | T_SEND },
{ "auto with --ask",                          AUTO,     1, 7, LSM_ANY,    1,   ANY, ANY,  ANY, 0,   ANY,   NULL,        M_SUP,  M_SUP,  SUP,      0,    0,    0,   1,    0,    T_ALL },
{ "auto with --ask, UDP",                     AUTO,     1, 7, LSM_ANY,    1,   ANY, ANY,  ANY, 1,   ANY,   NULL,        M_SUP,  M_SUP,  SUP,      0,    0,    0,   1,    0,    T_ALL | T_SEND },
{ "auto with --learn",                        AUTO,     1, 7, LSM_ANY,    0,   1,   ANY,  ANY, 0,   ANY,   NULL,        M_SUP,  M_SUP,  SUP,      0,    0,    0,   1,    0,    T_ALL },
{ "auto with --learn, UDP",                   AUTO,     1, 7, LSM_ANY,    0,   1,   ANY,  ANY, 1,   ANY,   NULL,        M_SUP,  M_SUP,  SUP,      0,    0,    0,   1,    0,    T_ALL | T_SEND },
/* Landlock alone (--backend landlock; auto without host rules): by ABI */
{ "landlock, no Landlock: weak, no IP",       LANDLOCK, 0, 0, LSM_ANY,    0,   0,   0,    0,   ANY, ANY,   NULL,        M_LL,   M_NONE, LL,       0,    0,    0,   1,    1,    0 },
{ "landlock, no Landlock, net rules: weak",   LANDLOCK, 0, 0, LSM_ANY,    0,   0,   ANY,  1,   ANY, ANY,   NULL,        M_LL,   M_NONE, LL,       0,    0,    0,   1,    0,    0 },
{ "landlock ABI 1-3, no net rules: no IP",    LANDLOCK, 1, 3, LSM_ANY,    0,   0,   0,    0,   ANY, ANY,   NULL,        M_LL,   M_NONE, LL,       SAME, 0,    0,   1,    1,    0 },
{ "landlock ABI 1-3, net rules: weak",        LANDLOCK, 1, 3, LSM_ANY,    0,   0,   ANY,  1,   ANY, ANY,   NULL,        M_LL,   M_NONE, LL,       SAME, 0,    0,   1,    0,    0 },
{ "landlock ABI 4-5: TCP ports",              LANDLOCK, 4, 5, LSM_ANY,    0,   0,   ANY,  ANY, ANY, ANY,   NULL,        M_LL,   M_LL,   LL,       SAME, 0,    0,   1,    0,    0 },
{ "landlock ABI 6-7: ports and scoping",      LANDLOCK, 6, 7, LSM_ANY,    0,   0,   ANY,  ANY, ANY, ANY,   NULL,        M_LL,   M_LL,   LL,       SAME, 0,    0,   0,    0,    0 },
{ "auto ABI 1-3, no net rules: no IP",        AUTO,     1, 3, LSM_ANY,    0,   0,   0,    0,   ANY, ANY,   NULL,        M_LL,   M_NONE, LL,       SAME, 0,    0,   1,    1,    0 },
{ "auto ABI 1-3, port rules: weak",           AUTO,     1, 3, LSM_ANY,    0,   0,   0,    1,   ANY, ANY,   NULL,        M_LL,   M_NONE, LL,       SAME, 0,    0,   1,    0,    0 },
{ "auto ABI 4-5: TCP ports",                  AUTO,     4, 5, LSM_ANY,    0,   0,   0,    ANY, ANY, ANY,   NULL,        M_LL,   M_LL,   LL,       SAME, 0,    0,   1,    0,    0 },
{ "auto ABI 6-7: ports and scoping",          AUTO,     6, 7, LSM_ANY,    0,   0,   0,    ANY, ANY, ANY,   NULL,        M_LL,   M_LL,   LL,       SAME, 0,    0,   0,    0,    0 },
/* auto with host rules: Landlock the files, the supervisor connect and bind */
{ "auto hosts ABI 1-5",                       AUTO,     1, 5, LSM_ANY,    0,   0,   1,    1,   0,   ANY,   NULL,        M_LL,   M_SUP,  LL | SUP, SAME, 0,    0,   1,    0,    T_NET },
{ "auto hosts ABI 1-5, UDP",                  AUTO,     1, 5, LSM_ANY,    0,   0,   1,    1,   1,   ANY,   NULL,        M_LL,   M_SUP,  LL | SUP, SAME, 0,    0,   1,    0,    T_NET | T_SEND },
{ "auto hosts ABI 6-7",                       AUTO,     6, 7, LSM_ANY,    0,   0,   1,    1,   0,   ANY,   NULL,        M_LL,   M_SUP,  LL | SUP, SAME, 0,    0,   0,    0,    T_NET },
{ "auto hosts ABI 6-7, UDP",                  AUTO,     6, 7, LSM_ANY,    0,   0,   1,    1,   1,   ANY,   NULL,        M_LL,   M_SUP,  LL | SUP, SAME, 0,    0,   0,    0,    T_NET | T_SEND },
/* landlock with host rules: by port only (the report's weak rule) */
/* (covered by the landlock rows above: hosts is ANY there) */
/* bpf with a usable BPF LSM (root): the domain; Landlock scopes from ABI 6 */
{ "bpf LSM, ABI 0-5",                         BPF,      0, 5, LSM_USABLE, 0,   0,   ANY,  ANY, ANY, 0,     NULL,        M_LSM,  M_LSM,  LSM,      SAME, 0,    0,   1,    0,    0 },
{ "bpf LSM, ABI 6-7: Landlock scopes",        BPF,      6, 7, LSM_USABLE, 0,   0,   ANY,  ANY, ANY, 0,     NULL,        M_LSM,  M_LSM,  LSM | LL, SAME, 1,    0,   0,    0,    0 },
/* ... unless the policy grants /proc: Landlock and cgroup BPF */
{ "bpf LSM declines /proc, ABI 0-5",          BPF,      0, 5, LSM_USABLE, 0,   0,   ANY,  ANY, ANY, 1,     NULL,        M_LL,   M_CG,   LL | CG,  SAME, 0,    1,   1,    0,    0 },
{ "bpf LSM declines /proc, ABI 6-7",          BPF,      6, 7, LSM_USABLE, 0,   0,   ANY,  ANY, ANY, 1,     NULL,        M_LL,   M_CG,   LL | CG,  SAME, 0,    1,   0,    0,    0 },
/* bpf without a usable BPF LSM: Landlock and cgroup BPF, whatever the reason */
{ "bpf, no BPF LSM, ABI 0-5",                 BPF,      0, 5, LSM_ABSENT, 0,   0,   ANY,  ANY, ANY, ANY,   NULL,        M_LL,   M_CG,   LL | CG,  SAME, 0,    0,   1,    0,    0 },
{ "bpf, no BPF LSM, ABI 6-7",                 BPF,      6, 7, LSM_ABSENT, 0,   0,   ANY,  ANY, ANY, ANY,   NULL,        M_LL,   M_CG,   LL | CG,  SAME, 0,    0,   0,    0,    0 },
{ "bpf, BPF LSM but not root, ABI 0-5",       BPF,      0, 5, LSM_NOT_ROOT,0,  0,   ANY,  ANY, ANY, ANY,   NULL,        M_LL,   M_CG,   LL | CG,  SAME, 0,    0,   1,    0,    0 },
{ "bpf, BPF LSM but not root, ABI 6-7",       BPF,      6, 7, LSM_NOT_ROOT,0,  0,   ANY,  ANY, ANY, ANY,   NULL,        M_LL,   M_CG,   LL | CG,  SAME, 0,    0,   0,    0,    0 },
{ "bpf, BPF LSM refused, ABI 0-5",            BPF,      0, 5, LSM_REFUSED,0,   0,   ANY,  ANY, ANY, ANY,   NULL,        M_LL,   M_CG,   LL | CG,  SAME, 0,    0,   1,    0,    0 },
{ "bpf, BPF LSM refused, ABI 6-7",            BPF,      6, 7, LSM_REFUSED,0,   0,   ANY,  ANY, ANY, ANY,   NULL,        M_LL,   M_CG,   LL | CG,  SAME, 0,    0,   0,    0,    0 },
};
/* clang-format on */

static bool in(int want, int v)
{
	return want == ANY || want == v;
}

static bool row_matches(const struct row *r, int asked, int abi, int lsm,
			const struct mos_policy_needs *n)
{
	return in(r->asked, asked) && abi >= r->abi_lo && abi <= r->abi_hi && (r->lsm & ST(lsm)) &&
	       in(r->ask, n->ask) && in(r->learn, n->learn) && in(r->hosts, n->host_rules) &&
	       in(r->net, n->net_rules) && in(r->udp, n->allow_udp) && in(r->proc, n->grants_proc);
}

static void check_row(const struct row *r, int asked, int abi, const struct mos_selection *s)
{
	char what[200];

	snprintf(what, sizeof(what), "row \"%s\" (--backend %s, ABI %d)", r->name,
		 mos_backend_name(asked), abi);
	if (r->refusal) {
		if (!s->refusal || !strstr(s->refusal, r->refusal))
			fail_msg("%s: expected a refusal naming %s, got %s", what, r->refusal,
				 s->refusal ? s->refusal : "none");
		return;
	}
	if (s->refusal)
		fail_msg("%s: refused: %s", what, s->refusal);
	if (s->files != r->files || s->net != r->netm || s->mechs != r->mechs)
		fail_msg("%s: files %d net %d mechs %#x, expected %d %d %#x", what, s->files,
			 s->net, s->mechs, r->files, r->netm, r->mechs);
	if (s->landlock_abi != (r->landlock_abi == SAME ? abi : r->landlock_abi))
		fail_msg("%s: Landlock ABI %d", what, s->landlock_abi);
	if (s->landlock_scope_only != r->scope_only || s->lsm_declined_proc != r->declined ||
	    s->pidns_for_signals != r->pidns || s->deny_inet != r->deny_inet ||
	    s->sup_trap != r->trap)
		fail_msg("%s: scope_only %d declined %d pidns %d deny_inet %d trap %#x", what,
			 s->landlock_scope_only, s->lsm_declined_proc, s->pidns_for_signals,
			 s->deny_inet, s->sup_trap);
}

/* Every combination of inputs matches one row, and gets what it says. */
static void test_every_combination_one_row(void **state)
{
	static const enum mos_backend backends[] = { AUTO, LANDLOCK, UNOTIFY, BPF };
	size_t used[sizeof(rows) / sizeof(rows[0])] = { 0 }, combos = 0;

	(void)state;
	for (size_t b = 0; b < 4; b++)
		for (int abi = 0; abi <= 7; abi++)
			for (int lsm = MOS_BPF_LSM_UNKNOWN; lsm <= MOS_BPF_LSM_USABLE; lsm++)
				for (unsigned int bits = 0; bits < 64; bits++) {
					struct mos_policy_needs n = {
						.ask = bits & 1,
						.learn = bits & 2,
						.host_rules = bits & 4,
						.net_rules = bits & 8,
						.allow_udp = bits & 16,
						.grants_proc = bits & 32,
					};
					struct mos_kernel_caps k = { abi, lsm };
					struct mos_selection s;
					const struct row *hit = NULL;

					if (n.host_rules && !n.net_rules)
						continue; /* a host rule is a network rule */
					combos++;
					for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]);
					     i++) {
						if (!row_matches(&rows[i], backends[b], abi, lsm,
								 &n))
							continue;
						if (hit)
							fail_msg(
								"--backend %s ABI %d stage %d "
								"needs %#x: "
								"rows \"%s\" and \"%s\" both match",
								mos_backend_name(backends[b]), abi,
								lsm, bits, hit->name, rows[i].name);
						hit = &rows[i];
						used[i]++;
					}
					if (!hit)
						fail_msg("--backend %s ABI %d stage %d needs %#x: "
							 "no "
							 "row",
							 mos_backend_name(backends[b]), abi, lsm,
							 bits);
					mos_backend_select(&k, &n, backends[b], &s);
					check_row(hit, backends[b], abi, &s);
				}
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (!used[i])
			fail_msg("row \"%s\" matches nothing", rows[i].name);
	assert_int_equal(combos, 4 * 8 * 6 * 48);
}

/* The needs as the plan reads them from a policy. */
static void test_needs_of_policy(void **state)
{
	struct mos_net_rule any_host = { .host = NULL, .ports = { 443 }, .nports = 1 };
	struct mos_net_rule named[2] = { any_host,
					 { .host = "example.org", .ports = { 80 }, .nports = 1 } };
	uint16_t bind = 8080;
	char *ask[] = { "/tmp", NULL };
	struct mos_policy p = { 0 };
	struct mos_policy_needs n;

	(void)state;
	mos_policy_needs_of(&p, &n);
	assert_false(n.ask || n.learn || n.host_rules || n.net_rules || n.allow_udp ||
		     n.grants_proc);
	p.net_allow = &any_host;
	p.nnet_allow = 1;
	mos_policy_needs_of(&p, &n);
	assert_true(n.net_rules);
	assert_false(n.host_rules);
	p.net_allow = named;
	p.nnet_allow = 2;
	mos_policy_needs_of(&p, &n);
	assert_true(n.host_rules && n.net_rules);
	p = (struct mos_policy){ .net_bind = &bind, .nnet_bind = 1, .allow_udp = true };
	mos_policy_needs_of(&p, &n);
	assert_true(n.net_rules && n.allow_udp);
	assert_false(n.host_rules);
	p = (struct mos_policy){ .ask_fs = ask, .nask_fs = 1 };
	mos_policy_needs_of(&p, &n);
	assert_true(n.ask);
	p = (struct mos_policy){ .ask_net = true, .permissive = true };
	mos_policy_needs_of(&p, &n);
	assert_true(n.ask && n.learn);
}

/* Who Landlock's report says checks the hosts next to its ports. */
static void test_hosts_by(void **state)
{
	(void)state;
	assert_string_equal(mos_backend_hosts_by(MOS_MECH_SUPERVISOR), "the supervisor");
	assert_string_equal(mos_backend_hosts_by(MOS_MECH_NET_CGROUP), "cgroup BPF");
	assert_null(mos_backend_hosts_by(MOS_MECH_LANDLOCK));
	assert_null(mos_backend_hosts_by(MOS_MECH_NONE));
}

/* Every backend the selection can name has the hooks its role needs. */
static void test_table_hooks(void **state)
{
	(void)state;
	for (int m = 0; m < MOS_MECH_COUNT; m++) {
		assert_non_null(mos_backends[m].name);
		assert_non_null(mos_backends[m].compile);
	}
	/* a kernel object made before the sandbox is undone after it */
	for (int m = 0; m < MOS_MECH_COUNT; m++)
		if (mos_backends[m].before_clone || mos_backends[m].serve)
			assert_non_null(mos_backends[m].cleanup);
	/* one backend serves from mosctl, and it hands over from init */
	assert_non_null(mos_backends[MOS_MECH_SUPERVISOR].serve);
	assert_non_null(mos_backends[MOS_MECH_SUPERVISOR].in_init_last);
	assert_null(mos_backends[MOS_MECH_LANDLOCK].serve);
	assert_non_null(mos_backends[MOS_MECH_LANDLOCK].in_init);
	assert_non_null(mos_backends[MOS_MECH_NET_CGROUP].attach);
	assert_non_null(mos_backends[MOS_MECH_BPF_LSM].attach);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_combination_one_row),
		cmocka_unit_test(test_needs_of_policy),
		cmocka_unit_test(test_hosts_by),
		cmocka_unit_test(test_table_hooks),
	};

	return cmocka_run_group_tests_name("backend_select", tests, NULL, NULL);
}
