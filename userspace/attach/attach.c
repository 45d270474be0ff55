// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach.c - mosctl attach / update / detach / ps: confinement for
 * processes mosctl did not start (see attach.h).
 */
#include "attach.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach_bpf.h"
#include "attach_landlock.h"
#include "attach_registry.h"
#include "bpf_lsm_probe.h"
#include "control_proto.h"
#include "log.h"
#include "options.h"
#include "ptrace_inject.h"
#include "sandbox.h"
#include "util.h"

static void attach_usage(FILE *out, const char *sub)
{
	if (!strcmp(sub, "update"))
		fprintf(out, "usage: mosctl update PID [OPTIONS]\n"
			     "Tighten the confinement of PID (attached before): its accesses "
			     "must now pass\nthese rules as well as every earlier layer; "
			     "nothing is ever loosened.\n\n");
	else
		fprintf(out, "usage: mosctl attach PID [--tree] [--revoke] [OPTIONS]\n"
			     "Confine the running process PID (every thread; its future "
			     "children inherit).\n"
			     "  --tree     its current descendants too\n"
			     "  --revoke   also re-check reads and writes through files it "
			     "opened before\n"
			     "             (needs BPF LSM)\n"
			     "You may attach only to processes you could ptrace (your own, or "
			     "any as root).\n\n");
	options_usage(out, sub);
}

/* "PID [OPTIONS]": the pid first, then --tree, --revoke and the policy flags. */
static int parse(int argc, char **argv, struct attach_args *a)
{
	struct mos_err e = { "" };
	char **rest;
	int n = 1;
	long pid;
	char *end;

	memset(a, 0, sizeof(*a));
	a->update = !strcmp(argv[0], "update");
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		attach_usage(stdout, argv[0]);
		return 0;
	}
	pid = argc >= 2 ? strtol(argv[1], &end, 10) : 0;
	if (argc < 2 || pid <= 0 || *end) {
		mos_err("%s: the first argument must be a process id (mosctl %s PID "
			"[OPTIONS])",
			argv[0], argv[0]);
		return MOS_EXIT_SETUP;
	}
	a->pid = (pid_t)pid;
	rest = xcalloc((size_t)argc, sizeof(*rest));
	rest[0] = argv[0];
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--tree") && !a->update)
			a->tree = true;
		else if (!strcmp(argv[i], "--revoke") && !a->update)
			a->revoke = true;
		else
			rest[n++] = argv[i];
	}
	if (options_parse(n, rest, &a->o, &e) < 0) {
		free(rest);
		mos_err("%s", e.msg);
		fprintf(stderr, "Try 'mosctl %s --help'.\n", argv[0]);
		return MOS_EXIT_SETUP;
	}
	mos_log_init("mosctl", MOS_LOG_WARN + a->o.verbose);
	if (a->o.help) {
		attach_usage(stdout, argv[0]);
		options_free(&a->o);
		free(rest);
		return 0;
	}
	if (a->o.command || a->o.on) {
		mos_err("%s: %s", argv[0],
			a->o.on ? "--on is for 'mosctl run'"
				: "unexpected arguments after the options (a command is for "
				  "'mosctl run')");
		options_free(&a->o);
		free(rest);
		return MOS_EXIT_SETUP;
	}
	free(rest);
	return -1;
}

/* Same mount namespace and root: the rules' paths mean the same there. */
static int same_view(pid_t pid, struct mos_err *e)
{
	const char *what[] = { "ns/mnt", "root" };

	for (size_t i = 0; i < 2; i++) {
		char mine[64], theirs[64];
		struct stat a, b;

		snprintf(mine, sizeof(mine), "/proc/self/%s", what[i]);
		snprintf(theirs, sizeof(theirs), "/proc/%d/%s", pid, what[i]);
		if (stat(theirs, &b) < 0) {
			if (errno == EACCES || errno == EPERM)
				mos_err_set(e, "cannot ptrace process %d: %s; " MOS_PTRACE_WHO, pid,
					    strerror(errno));
			else
				mos_err_set(e, "process %d: %s", pid,
					    errno == ENOENT ? "no such process" : strerror(errno));
			return -errno;
		}
		if (stat(mine, &a) == 0 && (a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
			mos_err_set(e,
				    "process %d sees other files than mosctl (another %s): "
				    "run mosctl inside it, e.g. nsenter -m -r -t %d mosctl "
				    "attach %d ...",
				    pid, i ? "root directory" : "mount namespace", pid, pid);
			return -EXDEV;
		}
	}
	return 0;
}

enum attach_path {
	PATH_PTRACE,  /* Landlock + seccomp, asked for by the process under ptrace */
	PATH_BPF,     /* a BPF LSM domain, here */
	PATH_FORWARD, /* a BPF LSM domain, by mosd --controller */
};

/* The controller's socket: $MOSINGAR_CONTROL_SOCK, or the default. */
static const char *control_sock(void)
{
	const char *s = getenv("MOSINGAR_CONTROL_SOCK");

	return s && *s ? s : MOS_CONTROL_SOCK;
}

static bool controller_present(void)
{
	return access(control_sock(), F_OK) == 0;
}

/*
 * Which mechanism: the BPF LSM where it runs (here as root, or through the
 * controller), asked for (--backend bpf, --revoke) or by default; the
 * ptrace path otherwise, or with --backend landlock.
 */
static int choose(const struct attach_args *a, enum attach_path *path, struct mos_err *e)
{
	enum mos_backend b = a->o.backend;
	bool want_bpf = b == MOS_BACKEND_BPF || a->revoke;
	struct attach_entry en;
	enum mos_bpf_lsm s;
	char why[200];

	if (b == MOS_BACKEND_UNOTIFY) {
		mos_err_set(e, "the supervisor (--backend unotify) can only be installed by "
			       "'mosctl run'");
		return -EINVAL;
	}
	if (b == MOS_BACKEND_LANDLOCK && a->revoke) {
		mos_err_set(e, "--revoke needs the BPF LSM, not --backend landlock");
		return -EINVAL;
	}
	*path = PATH_PTRACE;
	/* An update continues what the attach started. */
	if (b == MOS_BACKEND_LANDLOCK ||
	    (a->update && attach_registry_get(a->pid, &en) == 0 && !strcmp(en.backend, "landlock")))
		return 0;
	s = mos_bpf_lsm_probe(why, sizeof(why));
	if (s == MOS_BPF_LSM_USABLE) {
		*path = PATH_BPF;
		return 0;
	}
	if (s == MOS_BPF_LSM_NOT_CHECKED && controller_present()) {
		*path = PATH_FORWARD;
		return 0;
	}
	if (want_bpf) {
		mos_err_set(e, "%s needs the BPF LSM: %s%s",
			    a->revoke ? "--revoke (re-checking files opened before)"
				      : "--backend bpf",
			    why,
			    s == MOS_BPF_LSM_NOT_CHECKED ? " (run as root, or start mosd "
							   "--controller)"
							 : "");
		return -EOPNOTSUPP;
	}
	mos_debug("attaching through ptrace: BPF LSM: %s", why);
	return 0;
}

/* Run ARGV by mosd --controller; its exit status. */
static int forward(int argc, char **argv)
{
	struct mos_err e = { "" };
	int status;

	fflush(NULL);
	if (control_call(control_sock(), argc, argv, &status, &e) < 0) {
		mos_err("%s", e.msg);
		return MOS_EXIT_SETUP;
	}
	return status;
}

struct ptrace_walk {
	const struct attach_args *a;
	const struct attach_plan *ap;
	char summary[512];
};

/* Before anything is applied to any process of the tree: a grant that does
 * not hold for a root process refuses the whole attach. */
static int attach_check(pid_t pid, void *arg, struct mos_err *e)
{
	const struct ptrace_walk *w = arg;

	return attach_uid0_check(pid, &w->ap->lr.fs, w->ap->ids, e);
}

static int attach_one(struct inj_proc *p, void *arg)
{
	const struct ptrace_walk *w = arg;
	const struct attach_args *a = w->a;
	const char *summary = w->summary;
	struct mos_err e = { "" };
	pid_t pid = p->pid;
	size_t nthreads = 0;
	int r;

	r = same_view(pid, &e);
	if (r == 0)
		r = attach_landlock_apply(p, w->ap, &nthreads, &e);
	if (r < 0 && !nthreads) {
		mos_err("%s", e.msg);
		return r;
	}
	if (attach_registry_add(pid, "landlock", 0, (unsigned)nthreads, geteuid(), summary, &e) < 0)
		mos_warn("%s (the process is confined all the same; mosctl ps will not list "
			 "it)",
			 e.msg);
	if (r < 0) {
		mos_err("%s", e.msg);
		return r;
	}
	mos_info("%s process %d (%zu thread%s): Landlock + seccomp",
		 a->update ? "tightened" : "attached to", pid, nthreads, nthreads == 1 ? "" : "s");
	return 0;
}

static struct attach_actor self_actor(void)
{
	return (struct attach_actor){ geteuid(), getegid(), getpid(), false };
}

static int attach_ptrace(struct attach_args *a)
{
	static const struct attach_walk_ops ops = { NULL, attach_check, attach_one };
	struct attach_plan ap;
	struct ptrace_walk w = { .a = a, .ap = &ap };
	struct mos_err e = { "" };
	struct attach_entry en;
	size_t n;
	int r;

	r = 0;
	if (a->update && attach_registry_get(a->pid, &en) < 0) {
		mos_err_set(&e,
			    "process %d was not attached by you (mosctl ps lists what was); "
			    "use mosctl attach",
			    a->pid);
		r = -ENOENT;
	}
	/* Whether it can be reached at all, before what the kernel can enforce. */
	if (r == 0)
		r = same_view(a->pid, &e);
	if (r == 0)
		r = attach_plan_build(&a->o.policy, &ap, &e);
	if (r < 0) {
		mos_err("%s", e.msg);
		return MOS_EXIT_SETUP;
	}
	if (a->o.verbose)
		report_print(&ap.rep, stderr, "mosctl: ");
	if (!report_weak_ok(&ap.rep, a->o.allow_degraded, NULL)) {
		attach_plan_free(&ap);
		return MOS_EXIT_SETUP;
	}
	attach_policy_summary(&a->o.policy, w.summary, sizeof(w.summary));
	r = attach_walk(a->pid, a->tree, &ops, &w, &n);
	if (a->tree && r == 0)
		mos_info("%zu process%s confined", n, n == 1 ? "" : "es");
	attach_plan_free(&ap);
	return r ? 1 : 0;
}

static int attach_cmd(int argc, char **argv, const struct attach_actor *who)
{
	struct attach_args a;
	enum attach_path path = PATH_BPF;
	struct mos_err e = { "" };
	int r;

	r = parse(argc, argv, &a);
	if (r >= 0)
		return r;
	r = attach_policy_check(&a.o.policy, &e);
	if (r == 0 && !who->peer)
		r = choose(&a, &path, &e);
	if (r == 0 && kill(a.pid, 0) < 0 && errno == ESRCH) {
		mos_err_set(&e, "process %d: no such process", a.pid);
		r = -ESRCH;
	}
	if (r < 0) {
		mos_err("%s", e.msg);
		r = MOS_EXIT_SETUP;
	} else if (path == PATH_FORWARD) {
		r = forward(argc, argv);
	} else if (path == PATH_BPF) {
		r = attach_bpf(&a, who);
	} else {
		r = attach_ptrace(&a);
	}
	options_free(&a.o);
	return r;
}

int cmd_attach(int argc, char **argv)
{
	struct attach_actor me = self_actor();

	return attach_cmd(argc, argv, &me);
}

static pid_t pid_arg(int argc, char **argv)
{
	char *end;
	long pid = argc == 2 ? strtol(argv[1], &end, 10) : 0;

	if (pid <= 0 || *end) {
		mos_err("usage: mosctl %s PID", argv[0]);
		return -1;
	}
	return (pid_t)pid;
}

static int detach_cmd(int argc, char **argv, const struct attach_actor *who)
{
	struct attach_entry en;
	pid_t pid = pid_arg(argc, argv);
	bool landlock;

	if (pid < 0)
		return MOS_EXIT_SETUP;
	landlock =
		!who->peer && attach_registry_get(pid, &en) == 0 && !strcmp(en.backend, "landlock");
	if (landlock) {
		mos_err("process %d is confined by Landlock and seccomp (attached through "
			"ptrace): the kernel offers no way to lift them, they end with the "
			"process.  Detachable confinement needs the BPF LSM (CONFIG_BPF_LSM=y, "
			"bpf in lsm=).",
			pid);
		return 1;
	}
	if (who->peer || mos_bpf_lsm_probe(NULL, 0) == MOS_BPF_LSM_USABLE)
		return detach_bpf(pid, who);
	if (controller_present())
		return forward(argc, argv);
	mos_err("process %d was not attached by you (mosctl ps lists what was)", pid);
	return 1;
}

int cmd_detach(int argc, char **argv)
{
	struct attach_actor me = self_actor();

	return detach_cmd(argc, argv, &me);
}

static void print_entries(const struct attach_actor *who, bool header)
{
	struct attach_entry *v;
	long long *denials;
	size_t n;
	int r = attach_registry_list(&v, &n);

	if (r < 0) {
		mos_warn("the attach registry: %s", strerror(-r));
		return;
	}
	denials = xcalloc(n ? n : 1, sizeof(*denials));
	attach_bpf_denials(v, n, denials);
	if (header)
		printf("%-8s %-9s %-6s %-7s %-6s %-8s %-19s %s\n", "PID", "BACKEND", "DOMAIN",
		       "THREADS", "LAYERS", "DENIALS", "SINCE", "POLICY (newest layer first)");
	for (size_t i = 0; i < n; i++) {
		char since[32], threads[16] = "all", dn[24] = "-", domain[16] = "-";
		time_t t = (time_t)v[i].since;
		struct tm tm;

		if (who->uid != 0 && v[i].owner != who->uid)
			continue;
		if (v[i].threads)
			snprintf(threads, sizeof(threads), "%u", v[i].threads);
		if (v[i].domain)
			snprintf(domain, sizeof(domain), "%u", v[i].domain);
		if (denials[i] >= 0)
			snprintf(dn, sizeof(dn), "%lld", denials[i]);
		strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		printf("%-8d %-9s %-6s %-7s %-6u %-8s %-19s %s\n", v[i].pid, v[i].backend, domain,
		       threads, v[i].layers, dn, since, v[i].policy);
	}
	free(denials);
	free(v);
}

static int ps_cmd(int argc, char **argv, const struct attach_actor *who)
{
	bool entries_only = argc == 2 && !strcmp(argv[1], "--entries-only");

	if (argc > 1 && !entries_only) {
		mos_err("usage: mosctl ps");
		return MOS_EXIT_SETUP;
	}
	print_entries(who, !entries_only);
	fflush(stdout);
	/* What the controller attached for this user is in its registry. */
	if (!who->peer && who->uid != 0 && controller_present()) {
		char *fwd[] = { "ps", "--entries-only", NULL };

		return forward(2, fwd);
	}
	return 0;
}

int cmd_ps(int argc, char **argv)
{
	struct attach_actor me = self_actor();

	return ps_cmd(argc, argv, &me);
}

static int events_cmd(int argc, char **argv, const struct attach_actor *who)
{
	bool follow = false, json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f")) {
			follow = true;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			mos_err("usage: mosctl events [--follow] [--json]");
			return MOS_EXIT_SETUP;
		}
	}
	if (who->peer || mos_bpf_lsm_probe(NULL, 0) == MOS_BPF_LSM_USABLE)
		return events_bpf(follow, json, who);
	if (controller_present())
		return forward(argc, argv);
	mos_err("events come from the BPF LSM programs: run as root where they run, or "
		"through mosd --controller (processes attached through ptrace report none: "
		"Landlock keeps no record for mosctl)");
	return 1;
}

int cmd_events(int argc, char **argv)
{
	struct attach_actor me = self_actor();

	return events_cmd(argc, argv, &me);
}

int attach_serve(int argc, char **argv, const struct attach_actor *who)
{
	if (!strcmp(argv[0], "attach") || !strcmp(argv[0], "update"))
		return attach_cmd(argc, argv, who);
	if (!strcmp(argv[0], "detach"))
		return detach_cmd(argc, argv, who);
	if (!strcmp(argv[0], "ps"))
		return ps_cmd(argc, argv, who);
	if (!strcmp(argv[0], "events"))
		return events_cmd(argc, argv, who);
	mos_err("the controller does not serve '%s'", argv[0]);
	return MOS_EXIT_SETUP;
}
