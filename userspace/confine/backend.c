// SPDX-License-Identifier: GPL-2.0-only
/*
 * backend.c - the backends' hooks, one table (backend.h).  Each entry glues
 * a mechanism (landlock/, unotify/, bpf/) to the plan, which compiles it,
 * and to sandbox_run(), which runs it; the mechanisms themselves know
 * nothing of either.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "lsm_domain.h"
#include "plan.h"
#include "sandbox.h"
#include "sandbox_internal.h"
#include "unotify.h"
#include "util.h"

const char *mos_backend_hosts_by(enum mos_mech m)
{
	if (m == MOS_MECH_SUPERVISOR)
		return "the supervisor";
	if (m == MOS_MECH_NET_CGROUP)
		return "cgroup BPF";
	return NULL;
}

/* ---- Landlock ------------------------------------------------------------ */

/*
 * The files (the plan's grants masked to the ABI) and TCP ports, or, next
 * to the BPF LSM, the scoping of signals and abstract unix sockets alone.
 */
static int landlock_op_compile(struct mos_plan *plan, const struct mos_policy *p, struct mos_err *e)
{
	const struct mos_selection *s = &plan->sel;

	if (s->landlock_scope_only)
		return landlock_compile_scope(s->landlock_abi, &plan->landlock, &plan->rep, e);
	return landlock_compile_grants(
		p, &plan->files, &plan->files_rep, s->landlock_abi, mos_backend_hosts_by(s->net),
		plan->net.built ? &plan->net : NULL, &plan->landlock, &plan->rep, e);
}

static void landlock_op_release(struct mos_plan *plan)
{
	landlock_plan_release(&plan->landlock);
}

/* init: the rules beneath /proc again on the sandbox's own /proc (mounted
 * by now), then restrict itself. */
static const char *landlock_op_in_init(const struct sandbox_config *c, int *err)
{
	int r;

	if (!c->landlock || c->landlock->ruleset_fd < 0)
		return NULL;
	r = landlock_add_proc_rules(c->landlock);
	if (r < 0) {
		*err = -r;
		return "granting the sandbox's /proc";
	}
	r = landlock_enforce(c->landlock);
	if (r < 0) {
		*err = -r;
		return "landlock_restrict_self";
	}
	close(c->landlock->ruleset_fd);
	return NULL;
}

/* ---- the supervisor -------------------------------------------------------- */

static int sup_op_compile(struct mos_plan *plan, const struct mos_policy *p, struct mos_err *e)
{
	bool files = plan->sel.files == MOS_MECH_SUPERVISOR;

	return unotify_plan_build(p, files ? &plan->files : NULL, &plan->net, &plan->sup,
				  &plan->view, &plan->rep, e);
}

static void sup_op_release(struct mos_plan *plan)
{
	unotify_plan_free(&plan->sup);
}

/*
 * init: the supervisor's filter goes on last, when nothing of the setup is
 * left to trap: its listener and an O_PATH fd of the sandbox's "/" are
 * announced to mosctl, which takes them with pidfd_getfd (a trapped sendmsg
 * could not carry them: nobody would be serving yet) and says go once it
 * serves.  init's own copies are closed before the command exists: a
 * process that can reach the listener could answer for itself.
 */
static const char *sup_op_in_init_last(const struct sandbox_config *c,
				       const struct mos_init_fds *fds, int *err)
{
	struct init_msg msg;
	int lfd, rootfd;
	char go;

	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		*err = errno;
		return "opening the sandbox's root for the supervisor";
	}
	lfd = unotify_install_filter_for(c->plan->sel.sup_trap);
	if (lfd < 0) {
		*err = -lfd;
		return "installing the supervisor's seccomp filter";
	}
	msg = (struct init_msg){ MSG_LISTENER, lfd };
	write_all(fds->status, &msg, sizeof(msg));
	msg = (struct init_msg){ MSG_ROOT, rootfd };
	write_all(fds->status, &msg, sizeof(msg));
	if (read(fds->go, &go, 1) != 1)
		_exit(MOS_EXIT_SETUP); /* mosctl could not serve, and said why */
	close(lfd);
	close(rootfd);
	close(fds->go);
	return NULL;
}

#define MAX_SUP_THREADS 4

struct sup_serve;

/* One serving thread: its own copy of the listener, its own figures. */
struct sup_worker {
	struct sup_serve *t;
	pthread_t thread;
	int listener;
	struct unotify_stats stats;
	int result;
};

/* mosctl's side of the supervisor: a few threads serving one listener. */
struct sup_serve {
	struct unotify_policy pol; /* the plan's, with the sandbox's root */
	int listener;
	int stop; /* eventfd: stop serving */
	int ready[2];
	struct sup_worker w[MAX_SUP_THREADS];
	int nw;
	bool running;
};

static void *sup_main(void *arg)
{
	struct sup_worker *w = arg;
	struct unotify_serve_opts o = { .ready_fd = w->t->ready[1], .stop_fd = w->t->stop };

	w->result = unotify_serve_with(w->listener, &w->t->pol, &w->stats, &o);
	/* Once every copy is closed, a trapped syscall fails (ENOSYS): never
	 * unanswered. */
	closep(&w->listener);
	return NULL;
}

/*
 * How many threads serve: one per CPU (at most MAX_SUP_THREADS), so that
 * the requests of processes running side by side are answered side by
 * side; one when hooks ask, audit or learn (they keep no locks).
 */
static int sup_threads(const struct unotify_policy *pol)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (pol->hooks || cpus < 2)
		return 1;
	return cpus > MAX_SUP_THREADS ? MAX_SUP_THREADS : (int)cpus;
}

static int sup_fail(struct mos_err *e, const char *what, int err)
{
	mos_err_set(e, "%s: %s", what, strerror(err));
	return -err;
}

/*
 * init announced its listener (fd LFD) and root (fd ROOTFD): take both,
 * start serving, then tell init to go on.  On failure the caller kills the
 * sandbox before its command exists.
 */
static int sup_op_serve(struct mos_backend_run *r, int lfd, int rootfd, struct mos_err *e)
{
	const struct sandbox_config *c = r->c;
	struct sup_serve *t;
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, r->init, 0);
	int level, ready = -EIO;

	if (r->sup)
		return 0; /* announced twice: the first one serves */
	t = r->sup = xcalloc(1, sizeof(*r->sup));
	t->listener = t->stop = t->ready[0] = t->ready[1] = -1;
	t->pol.root_fd = -1;
	if (pidfd < 0)
		return sup_fail(e, "pidfd_open of the sandbox's init", errno);
	t->listener = (int)syscall(SYS_pidfd_getfd, pidfd, lfd, 0);
	if (t->listener < 0)
		return sup_fail(e, "taking the supervisor's listener from init (pidfd_getfd)",
				errno);
	t->pol = c->plan->sup.pol;
	t->pol.hooks = c->hooks;
	t->pol.in_root = true;
	t->pol.root_fd = (int)syscall(SYS_pidfd_getfd, pidfd, rootfd, 0);
	if (t->pol.root_fd < 0)
		return sup_fail(e, "taking the sandbox's root from init (pidfd_getfd)", errno);
	level = unotify_pid_level(r->init);
	if (level < 0)
		return sup_fail(e, "reading the pid namespace level of init", -level);
	t->pol.pid_level = level;
	t->pol.same_creds = !c->map_ids;
	t->pol.exec_by_mounts = r->own_mounts && c->view && c->view->noexec_outside;
	t->stop = eventfd(0, EFD_CLOEXEC);
	if (t->stop < 0 || pipe2(t->ready, O_CLOEXEC) < 0)
		return sup_fail(e, "starting the supervisor", errno);
	t->running = true;
	for (int i = 0, n = sup_threads(&t->pol); i < n; i++) {
		struct sup_worker *w = &t->w[t->nw];

		w->t = t;
		w->listener = fcntl(t->listener, F_DUPFD_CLOEXEC, 3);
		if (w->listener < 0)
			return sup_fail(e, "starting the supervisor", errno);
		errno = pthread_create(&w->thread, NULL, sup_main, w);
		if (errno) {
			closep(&w->listener);
			return sup_fail(e, "starting the supervisor thread", errno);
		}
		t->nw++;
		if (read_full(t->ready[0], &ready, sizeof(ready)) != (ssize_t)sizeof(ready) ||
		    ready < 0)
			return sup_fail(e, "preparing the supervisor", ready < 0 ? -ready : EIO);
	}
	if (write(r->gofd, "s", 1) != 1)
		return sup_fail(e, "starting the sandbox", errno);
	mos_info("supervisor serving with %d thread(s) (pid level %d)", t->nw, level);
	return 0;
}

/* Stop serving: the sandbox's processes are gone (or never ran). */
static void sup_op_cleanup(struct mos_backend_run *r)
{
	struct sup_serve *t = r->sup;

	if (!t)
		return;
	if (t->running) {
		struct unotify_stats sum = { 0 };
		uint64_t one = 1;

		(void)!write(t->stop, &one, sizeof(one));
		for (int i = 0; i < t->nw; i++) {
			struct sup_worker *w = &t->w[i];

			/*
			 * A thread blocked in a step for the sandbox (its own
			 * FIFO opens and connects run in jobs, which it ends
			 * itself, but a decider may be waited on) is
			 * interrupted until it sees the stop: -t and SIGTERM
			 * hold whatever the sandbox did last.
			 */
			for (;;) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 50 * 1000 * 1000;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				if (pthread_timedjoin_np(w->thread, NULL, &ts) != ETIMEDOUT)
					break;
				unotify_interrupt(w->thread);
			}
			if (w->result < 0)
				mos_warn("a supervisor thread stopped early: %s; the sandbox's "
					 "trapped calls were left to the others",
					 strerror(-w->result));
			sum.notifications += w->stats.notifications;
			sum.allowed += w->stats.allowed;
			sum.denied += w->stats.denied;
			sum.failed += w->stats.failed;
			sum.stale += w->stats.stale;
		}
		mos_info("supervisor: %llu requests, %llu allowed, %llu denied, %llu failed, "
			 "%llu stale",
			 (unsigned long long)sum.notifications, (unsigned long long)sum.allowed,
			 (unsigned long long)sum.denied, (unsigned long long)sum.failed,
			 (unsigned long long)sum.stale);
	}
	closep(&t->listener);
	closep(&t->pol.root_fd);
	closep(&t->stop);
	closep(&t->ready[0]);
	closep(&t->ready[1]);
	free(t);
	r->sup = NULL;
}

/* ---- cgroup BPF ----------------------------------------------------------- */

static int ncg_op_compile(struct mos_plan *plan, const struct mos_policy *p, struct mos_err *e)
{
	(void)e;
	mos_net_rules_report(&plan->net, "cgroup BPF", p->allow_udp, &plan->rep);
	return 0;
}

/* On the limits' cgroup v2 directory when there is one (a process is in
 * one v2 cgroup only), else on a cgroup of its own. */
static int ncg_op_before_clone(struct mos_backend_run *r, struct mos_err *e)
{
	return net_cgroup_create(&r->ncg, &r->c->plan->net, r->c->policy->allow_udp,
				 r->cgroup_v2_dir, e);
}

static int ncg_op_attach(struct mos_backend_run *r, struct mos_err *e)
{
	return net_cgroup_attach(&r->ncg, r->init, e);
}

static void ncg_op_cleanup(struct mos_backend_run *r)
{
	net_cgroup_destroy(&r->ncg);
}

/* ---- the BPF LSM ---------------------------------------------------------- */

/* The files were reported with the plan's grants; the network here.  The
 * domain itself is made by sandbox_run(), so that `mosctl check` leaves
 * nothing in the kernel. */
static int lsm_op_compile(struct mos_plan *plan, const struct mos_policy *p, struct mos_err *e)
{
	(void)e;
	mos_net_rules_report(&plan->net, "BPF LSM", p->allow_udp, &plan->rep);
	return 0;
}

/* The domain, from the plan's grants and network rules: what the report
 * said, host names included. */
static int lsm_op_before_clone(struct mos_backend_run *r, struct mos_err *e)
{
	const struct mos_plan *plan = r->c->plan;
	int err = lsm_ctl_open(&r->lsm, e);

	if (err == 0)
		err = lsm_domain_new_compiled(r->lsm, r->c->policy, &plan->files, &plan->net, 0, 0,
					      getuid(), NULL, &r->domain, e);
	return err;
}

/* In force from init's execve of the command: init sets itself up first. */
static int lsm_op_attach(struct mos_backend_run *r, struct mos_err *e)
{
	return lsm_domain_enter_at_exec(r->lsm, r->domain, r->init, e);
}

static void lsm_op_cleanup(struct mos_backend_run *r)
{
	struct mos_err e = { "" };

	if (r->domain) {
		/* anything of the sandbox still alive is refused everything */
		if (lsm_domain_delete(r->lsm, r->domain, &e) < 0)
			mos_warn("%s", e.msg);
		r->domain = 0;
	}
	lsm_ctl_close(r->lsm);
	r->lsm = NULL;
}

/* ---- the table -------------------------------------------------------------- */

const struct mos_backend_ops mos_backends[MOS_MECH_COUNT] = {
	[MOS_MECH_LANDLOCK] = {
		.name = "Landlock",
		.compile = landlock_op_compile,
		.release = landlock_op_release,
		.in_init = landlock_op_in_init,
	},
	[MOS_MECH_SUPERVISOR] = {
		.name = "supervisor",
		.compile = sup_op_compile,
		.release = sup_op_release,
		.in_init_last = sup_op_in_init_last,
		.serve = sup_op_serve,
		.cleanup = sup_op_cleanup,
	},
	[MOS_MECH_NET_CGROUP] = {
		.name = "cgroup BPF",
		.compile = ncg_op_compile,
		.before_clone = ncg_op_before_clone,
		.attach = ncg_op_attach,
		.cleanup = ncg_op_cleanup,
	},
	[MOS_MECH_BPF_LSM] = {
		.name = "BPF LSM",
		.compile = lsm_op_compile,
		.before_clone = lsm_op_before_clone,
		.attach = lsm_op_attach,
		.cleanup = lsm_op_cleanup,
	},
};
