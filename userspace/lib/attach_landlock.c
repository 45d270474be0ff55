// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_landlock.c - Landlock and seccomp for a running process, asked for
 * by the process itself under ptrace (see attach_landlock.h).
 */
#include "attach_landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel_features.h"
#include "ptrace_inject.h"
#include "seccomp_filter.h"
#include "util.h"

int attach_policy_check(const struct mos_policy *p, struct mos_err *e)
{
	if (p->limits.memory || p->limits.procs || p->limits.open_files || p->limits.cpu_s ||
	    p->limits.timeout_ms) {
		mos_err_set(e, "limits (--memory, --max-procs, --open-files, --cpu, --timeout) "
			       "are for 'mosctl run'; attach confines files and network only");
		return -EINVAL;
	}
	if (p->env_clean || p->nenv_set || p->cwd) {
		mos_err_set(e, "--clean-env, --env and --cwd are for 'mosctl run': a running "
			       "process keeps its environment and working directory");
		return -EINVAL;
	}
	if (p->nask_fs || p->ask_net || p->permissive) {
		mos_err_set(e, "--ask and --learn need the supervisor, which only 'mosctl run' "
			       "can install");
		return -EINVAL;
	}
	return 0;
}

int attach_plan_build(const struct mos_policy *p, struct attach_plan *ap, struct mos_err *e)
{
	struct seccomp_opts so = { 0 };
	int abi = mos_landlock_abi();
	int r;

	memset(ap, 0, sizeof(*ap));
	ap->lp.ruleset_fd = -1;
	r = attach_policy_check(p, e);
	if (r < 0)
		return r;
	if (abi < 1) {
		mos_err_set(e,
			    "attach needs Landlock (CONFIG_SECURITY_LANDLOCK=y and landlock "
			    "in lsm=) or BPF LSM (CONFIG_BPF_LSM=y and bpf in lsm=); this "
			    "kernel has neither: %s",
			    mos_features()->landlock_why);
		return -EOPNOTSUPP;
	}
	report_add(&ap->rep,
		   "attach through ptrace: the process's threads call Landlock "
		   "(ABI %d) and seccomp themselves",
		   abi);
	/* No mount namespace: a deny beneath an allowed tree splits the tree. */
	r = landlock_rules_build(p, abi, false, NULL, &ap->lp, &ap->lr, &ap->rep, e);
	if (r < 0)
		return r;
	if (abi < 6) {
		report_weak(&ap->rep,
			    "signals and abstract unix sockets: Landlock ABI %d cannot scope "
			    "them (ABI 6, Linux 6.12) and a running process cannot be moved "
			    "into a pid namespace",
			    abi);
	}
	so.deny_inet = abi < 4 && !(p->nnet_allow || p->nnet_bind);
	so.allow_udp = p->allow_udp;
	so.allow_unix = p->allow_unix;
	so.deny_listen = !p->nnet_bind && !p->allow_unix;
	ap->seccomp = seccomp_program(&so);
	seccomp_describe(&so, &ap->rep);
	report_add(&ap->rep, "not changed: the process's open files, mounts, capabilities, "
			     "limits and environment (re-checking open files needs BPF LSM: "
			     "--revoke)");
	return 0;
}

void attach_plan_free(struct attach_plan *ap)
{
	landlock_rules_free(&ap->lr);
	landlock_plan_release(&ap->lp);
	report_free(&ap->rep);
}

/* Scratch layout: the ruleset attr, one rule attr, a sock_fprog, the
 * filter, then a path. */
#define AT_RULESET 0
#define AT_RULE 64
#define AT_FPROG 128
#define AT_FILTER 256

struct injector {
	struct inj_proc *p;
	struct mos_err *e;
	uint64_t path_at;
};

/* Run NR in thread T; RET the result.  A call that fails sets E with WHAT. */
static int call(struct injector *in, size_t t, long nr, const char *what, const uint64_t *a,
		size_t n, long *ret)
{
	int r = inj_syscall(in->p, t, nr, a, n, ret, in->e);

	if (r < 0)
		return r;
	if (*ret < 0 && *ret > -4096) {
		if (t)
			mos_err_set(in->e, "process %d: %s (thread %zu of %zu): %s", in->p->pid,
				    what, t + 1, in->p->n, strerror((int)-*ret));
		else
			mos_err_set(in->e, "process %d: %s: %s", in->p->pid, what,
				    strerror((int)-*ret));
		return (int)*ret;
	}
	return 0;
}

static int add_path_rule(struct injector *in, long rfd, const struct landlock_grant *g)
{
	size_t len = strlen(g->path) + 1;
	uint64_t a[4];
	long fd, ret;
	char what[96];
	int r;

	if (len > PATH_MAX) {
		mos_err_set(in->e, "%s: path too long", g->path);
		return -ENAMETOOLONG;
	}
	r = inj_write(in->p, in->path_at, g->path, len, in->e);
	if (r < 0)
		return r;
	a[0] = (uint64_t)AT_FDCWD;
	a[1] = in->path_at;
	a[2] = O_PATH | O_NOFOLLOW | O_CLOEXEC;
	a[3] = 0;
	snprintf(what, sizeof(what), "open %.80s", g->path);
	r = call(in, 0, SYS_openat, what, a, 4, &fd);
	if (r < 0)
		return r;
	struct landlock_path_beneath_attr pb = { .allowed_access = g->rights,
						 .parent_fd = (int)fd };

	r = inj_write(in->p, in->p->scratch + AT_RULE, &pb, sizeof(pb), in->e);
	if (r == 0) {
		uint64_t ar[4] = { (uint64_t)rfd, LANDLOCK_RULE_PATH_BENEATH,
				   in->p->scratch + AT_RULE, 0 };

		snprintf(what, sizeof(what), "Landlock rule for %.70s", g->path);
		r = call(in, 0, SYS_landlock_add_rule, what, ar, 4, &ret);
	}
	uint64_t ac[1] = { (uint64_t)fd };

	inj_syscall(in->p, 0, SYS_close, ac, 1, &ret, in->e);
	return r;
}

/* The ruleset, made and filled in the process: its fd there. */
static int build_ruleset(struct injector *in, const struct landlock_rules *lr, long *rfd)
{
	uint64_t a[4] = { in->p->scratch + AT_RULESET, lr->attr_size, 0, 0 };
	long ret;
	int r;

	r = inj_write(in->p, in->p->scratch + AT_RULESET, &lr->attr, lr->attr_size, in->e);
	if (r == 0)
		r = call(in, 0, SYS_landlock_create_ruleset, "landlock_create_ruleset", a, 3, rfd);
	for (size_t i = 0; r == 0 && i < lr->fs.n; i++)
		r = add_path_rule(in, *rfd, &lr->fs.v[i]);
	for (size_t i = 0; r == 0 && i < lr->nnet; i++) {
		uint64_t an[4] = { (uint64_t)*rfd, MOS_LANDLOCK_RULE_NET_PORT,
				   in->p->scratch + AT_RULE, 0 };

		r = inj_write(in->p, in->p->scratch + AT_RULE, &lr->net[i], sizeof(lr->net[i]),
			      in->e);
		if (r == 0)
			r = call(in, 0, SYS_landlock_add_rule, "Landlock TCP port rule", an, 4,
				 &ret);
	}
	return r;
}

static int install_seccomp(struct injector *in, const struct sock_fprog *prog)
{
	size_t flen = prog->len * sizeof(*prog->filter);
	struct {
		uint64_t len; /* unsigned short, padded as the kernel's sock_fprog */
		uint64_t filter;
	} fp = { prog->len, in->p->scratch + AT_FILTER };
	uint64_t a[3] = { SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
			  in->p->scratch + AT_FPROG };
	long ret;
	int r;

	r = inj_write(in->p, in->p->scratch + AT_FILTER, prog->filter, flen, in->e);
	if (r == 0)
		r = inj_write(in->p, in->p->scratch + AT_FPROG, &fp, sizeof(fp), in->e);
	if (r == 0)
		r = call(in, 0, SYS_seccomp, "seccomp filter (all threads)", a, 3, &ret);
	if (r == 0 && ret > 0) {
		mos_err_set(in->e,
			    "process %d: thread %ld has a seccomp filter of its own, so the "
			    "filter cannot be given to every thread at once",
			    in->p->pid, ret);
		r = -EBUSY;
	}
	return r;
}

int attach_landlock(pid_t pid, const struct attach_plan *ap, size_t *nthreads, struct mos_err *e)
{
	struct inj_proc p;
	struct injector in = { &p, e, 0 };
	const struct sock_fprog *prog = ap->seccomp;
	size_t flen = prog ? prog->len * sizeof(*prog->filter) : 0;
	long rfd = -1, ret;
	size_t nnp = 0;
	bool sec_done = false;
	int r;

	*nthreads = 0;
	if (!ap->lr.attr_size) {
		mos_err_set(e, "nothing to apply: Landlock is unavailable");
		return -EOPNOTSUPP;
	}
	r = inj_seize(&p, pid, e);
	if (r < 0)
		return r;
	in.path_at = AT_FILTER + ((flen + 63) & ~(size_t)63);
	r = inj_scratch(&p, in.path_at + PATH_MAX, e);
	in.path_at += p.scratch;
	if (r == 0)
		r = build_ruleset(&in, &ap->lr, &rfd);
	for (size_t t = 0; r == 0 && t < p.n; t++) {
		uint64_t a[5] = { PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0 };

		r = call(&in, t, SYS_prctl, "prctl(PR_SET_NO_NEW_PRIVS)", a, 5, &ret);
		nnp += r == 0;
	}
	if (r == 0 && prog) {
		r = install_seccomp(&in, prog);
		sec_done = r == 0;
	}
	for (size_t t = 0; r == 0 && t < p.n; t++) {
		uint64_t a[2] = { (uint64_t)rfd, 0 };

		r = call(&in, t, SYS_landlock_restrict_self, "landlock_restrict_self", a, 2, &ret);
		if (r == 0)
			(*nthreads)++;
	}
	if (r < 0 && (*nthreads || sec_done)) {
		char first[MOS_ERR_MAX];

		snprintf(first, sizeof(first), "%s", e->msg);
		mos_err_set(e,
			    "%s; the process is now only partly confined (Landlock on %zu of "
			    "%zu threads%s)",
			    first, *nthreads, p.n, sec_done ? ", seccomp on every thread" : "");
	} else if (r < 0 && nnp) {
		char first[MOS_ERR_MAX];

		snprintf(first, sizeof(first), "%s", e->msg);
		mos_err_set(e, "%s; nothing was applied but no_new_privs (%zu of %zu threads)",
			    first, nnp, p.n);
	}
	if (rfd >= 0) {
		uint64_t a[1] = { (uint64_t)rfd };
		struct mos_err ignored;

		inj_syscall(&p, 0, SYS_close, a, 1, &ret, &ignored);
	}
	inj_release(&p);
	return r;
}
