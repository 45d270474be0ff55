// SPDX-License-Identifier: GPL-2.0-only
#include "plan.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bpf_lsm_probe.h"
#include "kernel_features.h"
#include "seccomp_filter.h"
#include "strmap.h"
#include "util.h"

extern char **environ;

static const char *const clean_keep[] = { "PATH", "HOME", "TERM", "LANG", NULL };

static bool key_is(const char *kv, const char *key)
{
	size_t n = strlen(key);

	return !strncmp(kv, key, n) && kv[n] == '=';
}

char **mos_env_build(char *const *caller, bool clean, char *const *set, size_t *n)
{
	struct strmap keys = { 0 }; /* KEY -> its place in env: linear in both lists */
	char **env = NULL;

	*n = 0;
	for (char *const *c = caller; c && *c; c++) {
		bool keep = !clean;

		for (const char *const *k = clean_keep; !keep && *k; k++)
			keep = key_is(*c, *k);
		if (keep && strchr(*c, '=')) {
			bool added;

			strmap_add(&keys, *c, (size_t)(strchr(*c, '=') - *c), *n, &added);
			if (added)
				strv_push(&env, n, xstrdup(*c));
		}
	}
	for (char *const *s = set; s && *s; s++) {
		size_t klen = (size_t)(strchr(*s, '=') - *s);
		bool added;
		size_t *at = strmap_add(&keys, *s, klen, *n, &added);

		if (added) {
			strv_push(&env, n, xstrdup(*s));
		} else {
			free(env[*at]);
			env[*at] = xstrdup(*s);
		}
	}
	strmap_free(&keys);
	if (!env)
		env = xcalloc(1, sizeof(*env));
	return env;
}

/* The compiled file grants, once: with the mount view, for the newest ABI. */
static int build_files(const struct mos_policy *p, struct mos_plan *plan, struct mos_err *e)
{
	int r = landlock_grants_build(p, MOS_LANDLOCK_ABI_NEWEST, &plan->view, &plan->files,
				      &plan->files_rep, e);

	if (r < 0)
		return r;
	plan->have_files = true;
	plan->proc_visible = landlock_grants_reach_proc(&plan->files);
	return 0;
}

/* The first lines of the report: which backends, and why those. */
static void report_backends(struct mos_plan *plan, const struct mos_policy_needs *n)
{
	const struct mos_selection *s = &plan->sel;
	enum mos_backend b = plan->backend;

	if (s->files == MOS_MECH_SUPERVISOR) {
		report_add(&plan->rep,
			   "backend %s: supervisor (seccomp user notification) + seccomp + "
			   "namespaces + rlimits%s",
			   mos_backend_name(b),
			   b != MOS_BACKEND_AUTO ? ""
			   : n->ask || n->learn	 ? " (asked for what only it does)"
						 : " (Landlock is unavailable here)");
	} else if (s->files == MOS_MECH_BPF_LSM) {
		report_add(
			&plan->rep,
			"backend bpf: the BPF LSM (a policy domain in the kernel for files, exec, "
			"network, signals, ptrace, mount and bpf(), in force from the command's "
			"execve) + seccomp + namespaces + rlimits");
	} else if (b == MOS_BACKEND_BPF) {
		if (s->lsm_declined_proc)
			report_add(&plan->rep,
				   "BPF LSM: not used for this policy: it grants /proc, "
				   "and the sandbox's own /proc does not exist before it "
				   "starts (Landlock grants it from inside)");
		report_add(&plan->rep,
			   "backend bpf: Landlock for the files, cgroup BPF for the "
			   "network (connect, sendmsg, bind) + seccomp + namespaces + "
			   "rlimits (BPF LSM: %s)",
			   plan->bpf_lsm_why);
	} else {
		report_add(&plan->rep, "backend %s: Landlock%s + seccomp + namespaces + rlimits",
			   mos_backend_name(b),
			   s->net == MOS_MECH_SUPERVISOR ? " + the supervisor for connect and bind"
							 : "");
	}
}

/* Compile backend M, once. */
static int compile_one(struct mos_plan *plan, const struct mos_policy *p, enum mos_mech m,
		       unsigned int *done, struct mos_err *e)
{
	if (m == MOS_MECH_NONE || !mos_plan_uses(plan, m) || (*done & MOS_MECH_BIT(m)))
		return 0;
	*done |= MOS_MECH_BIT(m);
	return mos_backends[m].compile(plan, p, e);
}

int mos_plan_build(const struct mos_policy *p, enum mos_backend b, struct mos_plan *plan,
		   struct mos_err *e)
{
	struct mos_kernel_caps k = { .landlock_abi = mos_landlock_abi() };
	struct mos_policy_needs needs;
	const struct mos_selection *s = &plan->sel;
	struct seccomp_opts so = { 0 };
	unsigned int done = 0;
	int abi, r;

	memset(plan, 0, sizeof(*plan));
	plan->landlock.ruleset_fd = -1;
	plan->backend = b;
	mos_policy_needs_of(p, &needs);
	/* The probe loads a program: only for the backend that may use it. */
	if (b == MOS_BACKEND_BPF)
		k.bpf_lsm = mos_bpf_lsm_probe(plan->bpf_lsm_why, sizeof(plan->bpf_lsm_why));
	if (b == MOS_BACKEND_BPF && k.bpf_lsm == MOS_BPF_LSM_USABLE) {
		/* The BPF LSM takes a policy unless it grants /proc. */
		r = build_files(p, plan, e);
		if (r < 0)
			goto fail;
		needs.grants_proc = plan->proc_visible;
	}
	mos_backend_select(&k, &needs, b, &plan->sel);
	if (s->refusal) {
		mos_err_set(e, "%s", s->refusal);
		r = -EINVAL;
		goto fail;
	}
	abi = s->landlock_abi;
	report_backends(plan, &needs);

	/* The rules, once, for every backend that serves them: no file grants
	 * (nor mounts) where Landlock would serve them and is unavailable. */
	if (s->files == MOS_MECH_LANDLOCK && abi < 1) {
		landlock_grants_free(&plan->files);
		report_free(&plan->files_rep);
		fs_view_free(&plan->view);
		plan->have_files = plan->proc_visible = false;
	} else if (!plan->have_files) {
		r = build_files(p, plan, e);
		if (r < 0)
			goto fail;
	}
	/* Landlock alone at ABI < 4 has no use for the addresses. */
	if ((s->mechs & ~MOS_MECH_BIT(MOS_MECH_LANDLOCK)) || abi >= 4) {
		r = mos_net_rules_build(p, &plan->net, e);
		if (r < 0)
			goto fail;
	}
	/* The supervisor re-checks nothing an execve reads: the mounts decide. */
	plan->view.noexec_outside = s->files == MOS_MECH_SUPERVISOR;
	if (s->net != MOS_MECH_LANDLOCK && s->net != MOS_MECH_NONE && plan->net.etc_hosts)
		plan->view.hosts = xstrdup(plan->net.etc_hosts);

	if (s->files == MOS_MECH_SUPERVISOR || s->files == MOS_MECH_BPF_LSM) {
		report_add(&plan->rep, "file access beneath these paths only:");
		report_append(&plan->rep, &plan->files_rep);
	}
	/* The files' backend first, then the network's, then Landlock's scoping. */
	r = compile_one(plan, p, s->files, &done, e);
	if (r == 0)
		r = compile_one(plan, p, s->net, &done, e);
	if (r == 0)
		r = compile_one(plan, p, MOS_MECH_LANDLOCK, &done, e);
	if (r < 0)
		goto fail;

	if (plan->proc_visible)
		report_add(&plan->rep, "/proc: the sandbox gets its own (new mount and pid "
				       "namespaces), showing its own processes only; grant "
				       "/proc as a whole, not /proc/self");
	so.deny_inet = s->deny_inet;
	if (s->pidns_for_signals) {
		plan->need_pidns = true;
		if (s->files == MOS_MECH_SUPERVISOR)
			report_add(&plan->rep, "signals: confined by a pid namespace");
		else
			report_add(&plan->rep,
				   "signals: confined by a pid namespace (Landlock "
				   "ABI %d cannot scope them)",
				   abi);
		if (p->allow_unix)
			report_weak(&plan->rep, "--allow-unix: abstract unix sockets outside "
						"the sandbox cannot be scoped before Landlock "
						"ABI 6 (Linux 6.12)");
	}
	if (p->allow_unix)
		report_add(&plan->rep, "--allow-unix: the sandbox may connect to any unix "
				       "socket it can name, also outside its file rules "
				       "(Landlock does not filter unix connect by path)");
	if (p->allow_udp)
		report_add(&plan->rep, "--allow-udp: UDP to any address and port (Landlock "
				       "does not filter UDP)");
	so.allow_udp = p->allow_udp;
	so.allow_unix = p->allow_unix;
	so.deny_listen = !p->nnet_bind && !p->allow_unix;
	if (p->nnet_bind && s->net != MOS_MECH_BPF_LSM) /* the BPF LSM judges listen() */
		report_weak(&plan->rep, "--net-bind: listen() on a socket that was never bound "
					"gets an ephemeral port, and Landlock has no rule for "
					"listen(), so the sandbox could also listen on a port the "
					"kernel picks");
	plan->seccomp = seccomp_program(&so);
	seccomp_describe(&so, &plan->rep);
	report_add(&plan->rep, "mounts: the sandbox's own mount namespace, read-only except the "
			       "writable paths (so chmod, chown, utimes and xattrs fail "
			       "elsewhere), denied paths hidden; its own IPC namespace");
	report_add(&plan->rep, "process: all capabilities dropped, no_new_privs, new "
			       "session and process group, fds above 2 closed, new "
			       "session keyring, core dumps off");

	/* Reading mountinfo and cgroup files costs ~0.2 ms: only when needed. */
	if (p->limits.memory || p->limits.procs)
		cgroup_probe(&plan->cgcaps);
	r = limits_plan(&p->limits, &plan->cgcaps, geteuid(), &plan->limits, &plan->rep, e);
	if (r < 0)
		goto fail;

	plan->envp = mos_env_build(environ, p->env_clean, p->env_set, &plan->nenv);
	return 0;
fail:
	mos_plan_free(plan);
	return r;
}

void mos_plan_free(struct mos_plan *plan)
{
	for (int m = 0; m < MOS_MECH_COUNT; m++)
		if (mos_backends[m].release)
			mos_backends[m].release(plan);
	landlock_grants_free(&plan->files);
	report_free(&plan->files_rep);
	mos_net_rules_free(&plan->net);
	fs_view_free(&plan->view);
	report_free(&plan->rep);
	strv_free(plan->envp);
	plan->envp = NULL;
}
