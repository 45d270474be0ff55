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

#include "attach_landlock.h"
#include "attach_registry.h"
#include "bpf_lsm_probe.h"
#include "log.h"
#include "options.h"
#include "ptrace_inject.h"
#include "sandbox.h"
#include "util.h"

struct attach_args {
	pid_t pid;
	bool tree;
	bool revoke;
	bool update;
	struct run_opts o;
};

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

/* PID's children (of every thread), appended to V. */
static void children_of(pid_t pid, pid_t **v, size_t *n)
{
	char path[64];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char cpath[300];
		FILE *f;
		int child;

		if (de->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", pid, de->d_name);
		f = fopen(cpath, "re");
		if (!f)
			continue;
		while (fscanf(f, "%d", &child) == 1) {
			*v = xrealloc(*v, (*n + 1) * sizeof(**v));
			(*v)[(*n)++] = child;
		}
		fclose(f);
	}
	closedir(d);
}

/* Which mechanism: BPF LSM only when asked for by name (until it is
 * wired), the ptrace path otherwise. */
static int choose(const struct attach_args *a, struct mos_err *e)
{
	char why[200];

	if (a->o.backend == MOS_BACKEND_UNOTIFY) {
		mos_err_set(e, "the supervisor (--backend unotify) can only be installed by "
			       "'mosctl run'");
		return -EINVAL;
	}
	if (a->o.backend == MOS_BACKEND_BPF || a->revoke) {
		enum mos_bpf_lsm s = mos_bpf_lsm_probe(why, sizeof(why));

		mos_err_set(e, "%s needs BPF LSM, and %s%s",
			    a->revoke ? "--revoke (re-checking files opened before)"
				      : "--backend bpf",
			    s == MOS_BPF_LSM_USABLE ? "attaching with it is not implemented yet"
						    : "this kernel cannot run it: ",
			    s == MOS_BPF_LSM_USABLE ? "" : why);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int attach_one(const struct attach_args *a, const struct attach_plan *ap, pid_t pid,
		      const char *summary)
{
	struct mos_err e = { "" };
	size_t nthreads = 0;
	int r;

	r = same_view(pid, &e);
	if (r == 0)
		r = attach_landlock(pid, ap, &nthreads, &e);
	if (r < 0 && !nthreads) {
		mos_err("%s", e.msg);
		return r;
	}
	if (attach_registry_add(pid, "landlock", 0, (unsigned)nthreads, summary, &e) < 0)
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

int cmd_attach(int argc, char **argv)
{
	struct attach_args a;
	struct attach_plan ap;
	struct mos_err e = { "" };
	struct attach_entry en;
	char summary[512];
	pid_t *todo = NULL;
	size_t ntodo = 0;
	int r, failed = 0;

	r = parse(argc, argv, &a);
	if (r >= 0)
		return r;
	r = choose(&a, &e);
	if (r == 0 && kill(a.pid, 0) < 0 && errno == ESRCH) {
		mos_err_set(&e, "process %d: no such process", a.pid);
		r = -ESRCH;
	}
	if (r == 0 && a.update && attach_registry_get(a.pid, &en) < 0) {
		mos_err_set(&e,
			    "process %d was not attached by you (mosctl ps lists what was); "
			    "use mosctl attach",
			    a.pid);
		r = -ENOENT;
	}
	if (r == 0)
		r = attach_plan_build(&a.o.policy, &ap, &e);
	if (r < 0) {
		mos_err("%s", e.msg);
		options_free(&a.o);
		return MOS_EXIT_SETUP;
	}
	if (a.o.verbose)
		report_print(&ap.rep, stderr, "mosctl: ");
	if (!report_weak_ok(&ap.rep, a.o.allow_degraded)) {
		attach_plan_free(&ap);
		options_free(&a.o);
		return MOS_EXIT_SETUP;
	}
	attach_policy_summary(&a.o.policy, summary, sizeof(summary));
	/* Parents before children: a child forked meanwhile inherits. */
	todo = xmalloc(sizeof(*todo));
	todo[ntodo++] = a.pid;
	for (size_t i = 0; i < ntodo; i++) {
		r = attach_one(&a, &ap, todo[i], summary);
		if (r < 0 && i > 0 && (r == -ESRCH || r == -ENOENT))
			continue; /* a descendant that exited meanwhile */
		if (r < 0) {
			failed++;
			if (i == 0)
				break;
			continue;
		}
		if (a.tree)
			children_of(todo[i], &todo, &ntodo);
	}
	if (a.tree && !failed)
		mos_info("%zu process%s confined", ntodo, ntodo == 1 ? "" : "es");
	free(todo);
	attach_plan_free(&ap);
	options_free(&a.o);
	return failed ? 1 : 0;
}

int cmd_detach(int argc, char **argv)
{
	struct attach_entry en;
	long pid = argc == 2 ? strtol(argv[1], NULL, 10) : 0;

	if (pid <= 0) {
		mos_err("usage: mosctl detach PID");
		return MOS_EXIT_SETUP;
	}
	if (attach_registry_get((pid_t)pid, &en) < 0) {
		mos_err("process %ld was not attached by you (mosctl ps lists what was)", pid);
		return 1;
	}
	if (en.owner != geteuid() && geteuid() != 0) {
		mos_err("process %ld was attached by uid %u: only they or root may detach it", pid,
			(unsigned)en.owner);
		return 1;
	}
	mos_err("process %ld is confined by Landlock and seccomp (attached through ptrace): "
		"the kernel offers no way to lift them, they end with the process.  "
		"Detachable confinement needs BPF LSM (CONFIG_BPF_LSM=y, bpf in lsm=).",
		pid);
	return 1;
}

int cmd_ps(int argc, char **argv)
{
	struct attach_entry *v;
	size_t n;
	int r;

	(void)argv;
	if (argc > 1) {
		mos_err("usage: mosctl ps");
		return MOS_EXIT_SETUP;
	}
	r = attach_registry_list(&v, &n);
	if (r < 0) {
		mos_err("the attach registry: %s", strerror(-r));
		return 1;
	}
	printf("%-8s %-9s %-7s %-6s %-8s %-19s %s\n", "PID", "BACKEND", "THREADS", "LAYERS",
	       "DENIALS", "SINCE", "POLICY (newest layer first)");
	for (size_t i = 0; i < n; i++) {
		char since[32];
		time_t t = (time_t)v[i].since;
		struct tm tm;

		strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		printf("%-8d %-9s %-7u %-6u %-8s %-19s %s\n", v[i].pid, v[i].backend, v[i].threads,
		       v[i].layers, "-", since, v[i].policy);
	}
	free(v);
	return 0;
}
