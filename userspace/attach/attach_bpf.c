// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_bpf.c - attach / update / detach / events with the BPF LSM (see
 * attach_bpf.h).
 */
#include "attach_bpf.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach_landlock.h"
#include "attach_registry.h"
#include "log.h"
#include "lsm_domain.h"
#include "ptrace_inject.h"
#include "sandbox.h"
#include "util.h"

int attach_walk(pid_t pid, bool tree, const struct attach_walk_ops *ops, void *arg, size_t *n)
{
	struct mos_err e = { "" };
	struct inj_tree t;
	int failed, r;

	*n = 0;
	r = inj_tree_seize(&t, pid, tree, ops->may, arg, &e);
	if (r < 0) {
		mos_err("%s", e.msg);
		return r;
	}
	for (size_t i = 0; i < t.nfailed; i++)
		mos_err("%s (not attached)", t.fail[i].msg);
	failed = (int)t.nfailed;
	for (size_t i = 0; ops->check && i < t.n; i++) {
		r = ops->check(t.v[i].pid, arg, &e);
		if (r < 0) {
			mos_err("%s", e.msg);
			if (t.n > 1)
				mos_err("nothing was attached (%zu processes)", t.n);
			inj_tree_release(&t);
			return r;
		}
	}
	for (size_t i = 0; i < t.n; i++) {
		r = ops->apply(&t.v[i], arg);
		if (r < 0 && i == 0) {
			/* the root: its descendants are left as they are */
			failed = r;
			break;
		}
		if (r < 0)
			failed++;
		else
			(*n)++;
	}
	inj_tree_release(&t);
	return failed;
}

/* "Uid:" or "Gid:" of /proc/PID/status: all four equal to ID? */
static bool ids_all(const char *status, const char *key, unsigned id)
{
	const char *p = strstr(status, key);
	unsigned v[4];

	return p && sscanf(p + strlen(key), "%u %u %u %u", &v[0], &v[1], &v[2], &v[3]) == 4 &&
	       v[0] == id && v[1] == id && v[2] == id && v[3] == id;
}

int attach_may_act_on(const struct attach_actor *who, pid_t pid, struct mos_err *e)
{
	char path[64], *status;
	struct stat st;
	bool ok;

	if (who->uid == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	status = NULL;
	{
		FILE *f = fopen(path, "re");
		size_t cap = 0;

		if (f) {
			ssize_t n = getdelim(&status, &cap, 0, f);

			if (n < 0) {
				free(status);
				status = NULL;
			}
			fclose(f);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d", pid);
	/* /proc/PID belongs to root while the process is not dumpable. */
	ok = status && stat(path, &st) == 0 && st.st_uid == who->uid &&
	     ids_all(status, "Uid:", who->uid) && ids_all(status, "Gid:", who->gid) &&
	     strstr(status, "CapPrm:\t0000000000000000");
	free(status);
	if (ok)
		return 0;
	mos_err_set(e,
		    "process %d: permission denied: you may act only on processes you could "
		    "ptrace (all their user and group ids yours, no capabilities, dumpable), "
		    "or any as root",
		    pid);
	return -EPERM;
}

/* The controller's own, when serving (attach_bpf_use). */
static struct lsm_ctl *shared;

void attach_bpf_use(struct lsm_ctl *c)
{
	shared = c;
}

static struct lsm_ctl *open_ctl(void)
{
	struct lsm_ctl *c = NULL;
	struct mos_err e = { "" };

	if (shared)
		return shared;
	if (lsm_ctl_open(&c, &e) < 0) {
		mos_err("%s", e.msg);
		return NULL;
	}
	return c;
}

static void close_ctl(struct lsm_ctl *c)
{
	if (c != shared)
		lsm_ctl_close(c);
}

static bool domain_info(struct lsm_ctl *c, uint32_t id, struct lsm_domain_info *out)
{
	struct lsm_domain_info *v;
	size_t n;
	bool found = false;

	if (lsm_domain_list(c, &v, &n) < 0)
		return false;
	for (size_t i = 0; i < n && !found; i++) {
		if (v[i].id == id) {
			*out = v[i];
			found = true;
		}
	}
	free(v);
	return found;
}

/* Whether WHO owns the domain ID (or is root). */
static int owns(struct lsm_ctl *c, const struct attach_actor *who, uint32_t id, pid_t pid,
		struct mos_err *e)
{
	struct lsm_domain_info di;

	if (who->uid == 0)
		return 0;
	if (domain_info(c, id, &di) && di.owner == who->uid)
		return 0;
	mos_err_set(e,
		    "process %d is confined by another user's domain %u: only they or root "
		    "may change it",
		    pid, id);
	return -EPERM;
}

/* The new domain made for processes found in OLD (0: unconfined). */
struct domain_map {
	uint32_t old, id;
};

static int enter_one(struct lsm_ctl *c, const struct attach_args *a, const struct attach_actor *who,
		     struct inj_proc *p, struct domain_map **map, size_t *nmap, const char *summary)
{
	struct mos_err e = { "" };
	struct mos_report rep = { 0 };
	pid_t pid = p->pid;
	uint32_t cur, id = 0;
	size_t ndropped;
	int r;

	cur = lsm_domain_of(c, pid);
	if (a->update && !cur) {
		mos_err_set(&e,
			    "process %d was not attached (it is not confined by the BPF LSM): "
			    "use mosctl attach",
			    pid);
		r = -ENOENT;
		goto fail;
	}
	if (cur && (r = owns(c, who, cur, pid, &e)) < 0)
		goto fail;
	for (size_t i = 0; i < *nmap; i++)
		if ((*map)[i].old == cur)
			id = (*map)[i].id;
	if (!id) {
		r = lsm_domain_new_reported(c, &a->o.policy, cur, a->revoke ? LSM_DOMAIN_REVOKE : 0,
					    who->uid, &rep, &id, &e);
		if (r < 0)
			goto fail;
		if (a->o.verbose && !*nmap)
			report_print(&rep, stderr, "mosctl: ");
		if (!report_weak_ok(&rep, a->o.allow_degraded, NULL)) {
			lsm_domain_delete(c, id, &e);
			report_free(&rep);
			return -EINVAL;
		}
		report_free(&rep);
		*map = xrealloc(*map, (*nmap + 1) * sizeof(**map));
		(*map)[(*nmap)++] = (struct domain_map){ cur, id };
	}
	/*
	 * What `mosctl run` leaves a command, before the domain: no
	 * capability (the domain does not judge what one allows: a root
	 * process would make device nodes and change any file's owner) and
	 * no_new_privs (a set-user-ID program would give it them back).  The
	 * process is stopped, so there is no window between the two.
	 */
	r = attach_privileges_drop(p, &ndropped, &e);
	if (r < 0) {
		char first[MOS_ERR_MAX];

		snprintf(first, sizeof(first), "%s", e.msg);
		mos_err_set(&e, "%s; not attached%s", first,
			    ndropped ? " (no_new_privs is set and the capabilities are dropped "
				       "in some threads)"
				     : "");
		goto fail;
	}
	r = lsm_domain_enter(c, id, pid, &e);
	if (r < 0)
		goto fail;
	if (attach_registry_add(pid, "bpf", id, 0, who->uid, summary, &e) < 0)
		mos_warn("%s (the process is confined all the same)", e.msg);
	mos_info("%s process %d: BPF LSM domain %u%s%s", a->update ? "tightened" : "attached to",
		 pid, id, cur ? " beneath " : "", cur ? "its previous one" : "");
	return 0;
fail:
	report_free(&rep);
	mos_err("%s", e.msg);
	return r;
}

struct bpf_walk {
	struct lsm_ctl *c;
	const struct attach_args *a;
	const struct attach_actor *who;
	struct domain_map *map;
	size_t nmap;
	struct landlock_grants grants; /* the policy's file grants, for the uid 0 check */
	char summary[512];
};

/* mosd --controller: stop nothing the user it serves could not ptrace. */
static int bpf_may(pid_t pid, void *arg, struct mos_err *e)
{
	struct bpf_walk *w = arg;

	return w->who->peer ? attach_may_act_on(w->who, pid, e) : 0;
}

static int bpf_check(pid_t pid, void *arg, struct mos_err *e)
{
	struct bpf_walk *w = arg;
	int r = 0;

	/*
	 * Again, now that it is stopped: between bpf_may and the stop it could
	 * have exec'd a set-user-ID program, or exited and left its pid to
	 * another user's process.  Stopped, neither can happen any more.
	 */
	if (w->who->peer)
		r = attach_may_act_on(w->who, pid, e);
	return r < 0 ? r : attach_uid0_check(pid, &w->grants, NULL, e);
}

static int bpf_one(struct inj_proc *p, void *arg)
{
	struct bpf_walk *w = arg;

	return enter_one(w->c, w->a, w->who, p, &w->map, &w->nmap, w->summary);
}

int attach_bpf(const struct attach_args *a, const struct attach_actor *who)
{
	static const struct attach_walk_ops ops = { bpf_may, bpf_check, bpf_one };
	struct bpf_walk w = { .c = open_ctl(), .a = a, .who = who };
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };
	size_t n;
	int r;

	if (!w.c)
		return MOS_EXIT_SETUP;
	/* The grants as the kernel's BPF programs will hold them (real paths). */
	if (landlock_grants_build(&a->o.policy, MOS_LANDLOCK_ABI_NEWEST, NULL, &w.grants, &rep,
				  &e) < 0) {
		report_free(&rep);
		close_ctl(w.c);
		mos_err("%s", e.msg);
		return MOS_EXIT_SETUP;
	}
	report_free(&rep);
	attach_policy_summary(&a->o.policy, w.summary, sizeof(w.summary));
	r = attach_walk(a->pid, a->tree, &ops, &w, &n);
	landlock_grants_free(&w.grants);
	free(w.map);
	close_ctl(w.c);
	/* Nothing to update is a request error, like a bad flag. */
	return r == -ENOENT ? MOS_EXIT_SETUP : r ? 1 : 0;
}

int detach_bpf(pid_t pid, const struct attach_actor *who)
{
	struct lsm_ctl *c = open_ctl();
	struct mos_err e = { "" };
	uint32_t cur;
	int r = 0;

	if (!c)
		return MOS_EXIT_SETUP;
	cur = lsm_domain_of(c, pid);
	if (!cur) {
		mos_err_set(&e, "process %d is not confined by the BPF LSM", pid);
		r = -ENOENT;
	}
	if (r == 0 && lsm_domain_of(c, who->pid)) {
		mos_err_set(&e, "a confined process may not detach anything");
		r = -EPERM;
	}
	if (r == 0)
		r = owns(c, who, cur, pid, &e);
	if (r == 0)
		r = lsm_domain_leave(c, pid, &e);
	close_ctl(c);
	if (r < 0) {
		mos_err("%s", e.msg);
		return 1;
	}
	attach_registry_remove(pid);
	mos_info("detached process %d from BPF LSM domain %u", pid, cur);
	return 0;
}

void attach_bpf_denials(const struct attach_entry *v, size_t n, long long *out)
{
	struct lsm_ctl *c = shared;
	struct lsm_domain_info *d = NULL;
	struct mos_err e;
	size_t nd = 0;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		out[i] = -1;
		any |= v[i].domain != 0;
	}
	/* One open and one listing for the whole table, and none without a domain. */
	if (!any || (!c && lsm_ctl_open(&c, &e) < 0))
		return;
	if (lsm_domain_list(c, &d, &nd) == 0)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < nd && v[i].domain; j++)
				if (d[j].id == v[i].domain)
					out[i] = (long long)d[j].denials;
	free(d);
	close_ctl(c);
}

struct events_ctx {
	struct lsm_ctl *c;
	const struct attach_actor *who;
	bool json;
};

/* What was refused, in words: a path is not known in the kernel, so the
 * file is named by device and inode; a socket by its address. */
static void describe(const struct lsm_event *ev, char *out, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "";

	if (ev->family == 2 || ev->family == 10) {
		inet_ntop(ev->family == 2 ? AF_INET : AF_INET6, ev->addr, addr, sizeof(addr));
		snprintf(out, len, "%s%s%s:%u", ev->family == 10 ? "[" : "", addr,
			 ev->family == 10 ? "]" : "", ev->port);
	} else if (ev->dev || ev->ino) {
		snprintf(out, len, "dev %u:%u inode %" PRIu64, ev->dev >> 20, ev->dev & 0xfffff,
			 ev->ino);
	} else {
		snprintf(out, len, "-");
	}
}

static void print_event(const struct lsm_event *ev, void *arg)
{
	struct events_ctx *x = arg;
	char what[96], when[32];
	time_t now = time(NULL);
	struct tm tm;

	if (x->who->uid != 0) {
		struct lsm_domain_info di;

		if (!domain_info(x->c, ev->domain, &di) || di.owner != x->who->uid)
			return; /* another user's process */
	}
	describe(ev, what, sizeof(what));
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
	if (x->json)
		printf("{\"time\":\"%s\",\"pid\":%u,\"comm\":\"%.16s\",\"domain\":%u,"
		       "\"refused_by\":%u,\"op\":\"%s\",\"target\":\"%s\",\"errno\":%d}\n",
		       when, ev->pid, ev->comm, ev->domain, ev->level, lsm_op_name(ev->op), what,
		       ev->err);
	else
		printf("%s pid %u (%.16s) domain %u: %s %s refused (%s)\n", when, ev->pid, ev->comm,
		       ev->domain, lsm_op_name(ev->op), what, strerror(ev->err));
	fflush(stdout);
}

int events_bpf(bool follow, bool json, const struct attach_actor *who)
{
	struct events_ctx x = { open_ctl(), who, json };
	uint64_t dropped0;
	int r;

	if (!x.c)
		return MOS_EXIT_SETUP;
	dropped0 = lsm_events_dropped(x.c);
	do {
		r = lsm_events_poll(x.c, follow ? 1000 : 0, print_event, &x);
		if (r < 0 && r != -EINTR) {
			mos_err("reading the BPF LSM events: %s", strerror(-r));
			break;
		}
		if (lsm_events_dropped(x.c) != dropped0) {
			mos_warn("%" PRIu64 " refusals were not recorded one by one (the ring "
				 "buffer was full)",
				 lsm_events_dropped(x.c) - dropped0);
			dropped0 = lsm_events_dropped(x.c);
		}
	} while (follow);
	close_ctl(x.c);
	return r < 0 && r != -EINTR ? 1 : 0;
}
