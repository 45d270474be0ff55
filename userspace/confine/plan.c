// SPDX-License-Identifier: GPL-2.0-only
#include "plan.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bpf_lsm_probe.h"
#include "kernel_features.h"
#include "landlock_compat.h"
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

static bool has_host_rules(const struct mos_policy *p)
{
	for (size_t i = 0; i < p->nnet_allow; i++)
		if (p->net_allow[i].host)
			return true;
	return false;
}

/*
 * --backend bpf with a usable BPF LSM: the mount view as the supervisor has
 * it (no Landlock ruleset), the network rules resolved once, here; the
 * domain itself is made by sandbox_run(), so that `mosctl check` leaves
 * nothing in the kernel.  False (nothing planned) when the BPF LSM cannot
 * take this policy: then Landlock and cgroup BPF do, as everywhere else.
 */
static bool plan_bpf_lsm(const struct mos_policy *p, struct mos_plan *plan, int *r,
			 struct mos_err *e)
{
	struct landlock_grants g, none = { 0 };
	struct mos_report files = { 0 };
	char why[160];

	*r = 0;
	if (mos_bpf_lsm_probe(why, sizeof(why)) != MOS_BPF_LSM_USABLE)
		return false;
	*r = landlock_plan_without_ruleset(p, &plan->landlock, &g, &files, e);
	if (*r < 0)
		goto out;
	landlock_grants_free(&g);
	if (plan->landlock.proc_visible) {
		/*
		 * The sandbox's own /proc is a new filesystem: its inodes do
		 * not exist before init mounts it, so a domain made before
		 * cannot name them.  Landlock adds them from inside.
		 */
		landlock_plan_release(&plan->landlock);
		memset(&plan->landlock, 0, sizeof(plan->landlock));
		plan->landlock.ruleset_fd = -1;
		report_add(&plan->rep, "BPF LSM: not used for this policy: it grants /proc, "
				       "and the sandbox's own /proc does not exist before it "
				       "starts (Landlock grants it from inside)");
		report_free(&files);
		return false;
	}
	plan->landlock.view.noexec_outside = false;
	report_add(&plan->rep,
		   "backend bpf: the BPF LSM (a policy domain in the kernel for files, exec, "
		   "network, signals, ptrace, mount and bpf(), in force from the command's "
		   "execve) + seccomp + namespaces + rlimits");
	report_add(&plan->rep, "file access beneath these paths only:");
	for (size_t i = 0; i < files.nlines; i++)
		report_add(&plan->rep, "%s", files.lines[i]);
	for (size_t i = 0; i < files.nweak; i++)
		report_weak(&plan->rep, "%s", files.weak[i]);
	*r = unotify_plan_build(p, &none, &plan->sup, &plan->landlock.view, "BPF LSM", &plan->rep,
				e);
	plan->bpf_lsm = *r == 0;
out:
	report_free(&files);
	return true;
}

/*
 * The BPF LSM domain has no hook for abstract unix sockets, which
 * --allow-unix promises to scope to the sandbox: from Landlock ABI 6 a
 * ruleset that handles no file or network access, only scoping, does it
 * (signals too, which the domain confines as well).  Before ABI 6 the plan
 * says it cannot (below), as with Landlock alone.
 */
static int bpf_lsm_scope(struct mos_plan *plan, int abi, struct mos_err *e)
{
	struct mos_landlock_ruleset_attr attr = {
		.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL,
	};

	if (abi < 6)
		return 0;
	plan->landlock.ruleset_fd = mos_landlock_create_ruleset(&attr, sizeof(attr), 0);
	if (plan->landlock.ruleset_fd < 0) {
		mos_err_set(e, "Landlock ruleset for abstract unix socket scoping: %s",
			    strerror(errno));
		return -errno;
	}
	plan->landlock.abi = abi;
	plan->landlock.scoped = attr.scoped;
	report_add(&plan->rep,
		   "Landlock ABI %d: signals and abstract unix sockets scoped to "
		   "the sandbox (no file or network rules: the BPF LSM has those)",
		   abi);
	return 0;
}

int mos_plan_build(const struct mos_policy *p, enum mos_backend b, struct mos_plan *plan,
		   struct mos_err *e)
{
	struct seccomp_opts so = { 0 };
	int abi = mos_landlock_abi();
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->landlock.ruleset_fd = -1;
	plan->backend = b;
	/* Without Landlock, or for what only it can do, auto takes the supervisor. */
	bool only_supervisor = p->nask_fs || p->ask_net || p->permissive;

	if ((b == MOS_BACKEND_LANDLOCK || b == MOS_BACKEND_BPF) && only_supervisor) {
		mos_err_set(e, "%s needs the supervisor: use --backend unotify (or auto)",
			    p->permissive ? "--learn" : "asking before an access (--ask)");
		return -EINVAL;
	}
	plan->supervise =
		b == MOS_BACKEND_UNOTIFY || (b == MOS_BACKEND_AUTO && (abi < 1 || only_supervisor));
	/*
	 * auto with host rules: Landlock keeps the files, the supervisor the
	 * hosts; bpf: Landlock the files, cgroup BPF the network.
	 */
	bool bpf = b == MOS_BACKEND_BPF;
	bool layered = !plan->supervise && ((b == MOS_BACKEND_AUTO && has_host_rules(p)) || bpf);
	if (plan->supervise) {
		struct landlock_grants g;

		report_add(&plan->rep,
			   "backend %s: supervisor (seccomp user notification) + seccomp + "
			   "namespaces + rlimits%s",
			   mos_backend_name(b),
			   b != MOS_BACKEND_AUTO ? ""
			   : only_supervisor	 ? " (asked for what only it does)"
						 : " (Landlock is unavailable here)");
		report_add(&plan->rep, "file access beneath these paths only:");
		r = landlock_plan_without_ruleset(p, &plan->landlock, &g, &plan->rep, e);
		if (r < 0)
			goto fail;
		r = unotify_plan_build(p, &g, &plan->sup, &plan->landlock.view, "supervisor",
				       &plan->rep, e);
		landlock_grants_free(&g);
		if (r < 0)
			goto fail;
		/* Signals and abstract unix sockets: only a pid namespace scopes them. */
		abi = 0;
	} else if (bpf && plan_bpf_lsm(p, plan, &r, e)) {
		if (r < 0 || (plan->bpf_lsm && (r = bpf_lsm_scope(plan, abi, e)) < 0))
			goto fail;
	} else {
		if (bpf) {
			char why[160];

			mos_bpf_lsm_probe(why, sizeof(why));
			report_add(&plan->rep,
				   "backend bpf: Landlock for the files, cgroup BPF for the "
				   "network (connect, sendmsg, bind) + seccomp + namespaces + "
				   "rlimits (BPF LSM: %s)",
				   why);
		} else {
			report_add(&plan->rep,
				   "backend %s: Landlock%s + seccomp + namespaces + rlimits",
				   mos_backend_name(b),
				   layered ? " + the supervisor for connect and bind" : "");
		}
		/* Planned for a sandbox with its own mount namespace (the usual case). */
		r = landlock_compile(p, abi, true,
				     !layered ? NULL
				     : bpf    ? "cgroup BPF"
					      : "the supervisor",
				     &plan->landlock, &plan->rep, e);
		if (r < 0)
			goto fail;
		if (layered) {
			struct landlock_grants none = { 0 };

			r = unotify_plan_build(p, &none, &plan->sup, &plan->landlock.view,
					       bpf ? "cgroup BPF" : "supervisor", &plan->rep, e);
			if (r < 0)
				goto fail;
			plan->sup.pol.net_only = !bpf;
			plan->net_cgroup = bpf;
		}
	}
	if (plan->landlock.proc_visible)
		report_add(&plan->rep, "/proc: the sandbox gets its own (new mount and pid "
				       "namespaces), showing its own processes only; grant "
				       "/proc as a whole, not /proc/self");
	/*
	 * Without Landlock TCP rules, the supervisor, the BPF LSM or cgroup BPF
	 * (the last two refuse every connect, sendmsg and bind that no rule
	 * allows), no IP socket may exist.
	 */
	so.deny_inet = !plan->supervise && !plan->bpf_lsm && !plan->net_cgroup && abi < 4 &&
		       !(p->nnet_allow || p->nnet_bind);
	if (abi < 6) {
		plan->need_pidns = true;
		if (plan->supervise)
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
	if (p->nnet_bind && !plan->bpf_lsm) /* the BPF LSM judges listen() */
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
	landlock_plan_release(&plan->landlock);
	unotify_plan_free(&plan->sup);
	report_free(&plan->rep);
	strv_free(plan->envp);
	plan->envp = NULL;
}
