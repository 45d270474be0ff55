// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosctl - run commands confined, here or (later) on another machine.
 *
 *   mosctl run [OPTIONS] [--on WORKER] -- COMMAND [ARG...]
 *   mosctl check [OPTIONS]
 *   mosctl attach PID [--tree] [--revoke] [OPTIONS] | update PID [OPTIONS]
 *   mosctl detach PID | ps | events [--follow] [--json]
 *   mosctl keygen | key
 *   mosctl version
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "bpf_lsm_probe.h"
#include "kernel_features.h"
#include "log.h"
#include "options.h"
#include "supervise_ui.h"
#include "plan.h"
#include "cmd_cc.h"
#include "cmd_make.h"
#include "cmd_agent.h"
#include "cmd_pool.h"
#include "cmd_run.h"
#include "cmd_keys.h"
#include "remote_run.h"
#include "run.h"

#ifndef MOS_VERSION
#define MOS_VERSION "0.0.0-dev"
#endif

static void usage(FILE *out)
{
	fprintf(out, "usage: mosctl run [OPTIONS] -- COMMAND [ARG...]   run COMMAND confined\n"
		     "       mosctl check [OPTIONS]                   validate a policy, show "
		     "what enforces it here\n"
		     "       mosctl run --on WORKER [OPTIONS] -- COMMAND   run it on WORKER "
		     "with this machine's files\n"
		     "       mosctl attach PID [--tree] [OPTIONS]     confine a running "
		     "process\n"
		     "       mosctl update PID [OPTIONS]              tighten it (never "
		     "loosens)\n"
		     "       mosctl detach PID | mosctl ps            lift it (BPF LSM); list "
		     "attached\n"
		     "       mosctl events [--follow] [--json]        BPF LSM refusals as they "
		     "happen\n"
		     "       mosctl cc COMPILER [ARG...]              compile on MOS_ON (else "
		     "local)\n"
		     "       mosctl make [OPTS --] [MAKE ARG...]      GNU make, each recipe on "
		     "MOS_ON\n"
		     "       mosctl pool status [--on SPEC] [--watch] each worker's slots, jobs, "
		     "load, cache\n"
		     "       mosctl keygen                            create this origin's key "
		     "pair\n"
		     "       mosctl key                               print its public key line\n"
		     "       mosctl version                           version and kernel "
		     "features\n"
		     "Run 'mosctl run --help' for the options.\n");
}

/*
 * Parse the options, shared by run and check: returns -1 when O is ready
 * (the caller frees it), or an exit status after freeing it (--help, an
 * error, or a run --on WORKER, which the worker plans against its own
 * kernel).
 */
static int parse(int argc, char **argv, struct run_opts *o)
{
	struct mos_err e = { "" };

	if (options_parse(argc, argv, o, &e) < 0) {
		mos_err("%s", e.msg);
		fprintf(stderr, "Try 'mosctl %s --help'.\n", argv[0]);
		return MOS_EXIT_SETUP;
	}
	mos_log_init("mosctl", MOS_LOG_WARN + o->verbose);
	if (o->help) {
		options_usage(stdout, argv[0]);
		options_free(o);
		return 0;
	}
	if (o->on) {
		int r;

		if (strcmp(argv[0], "run")) {
			mos_err("--on is for 'mosctl run'");
			options_free(o);
			return MOS_EXIT_SETUP;
		}
		if (!o->command) {
			mos_err("run: no command given (mosctl run --on WORKER -- COMMAND "
				"[ARG...])");
			options_free(o);
			return MOS_EXIT_SETUP;
		}
		fflush(NULL);
		r = remote_run(o);
		if (r == REMOTE_RUN_HERE)
			return -1; /* the local sandbox, with the same options */
		options_free(o);
		return r;
	}
	return -1;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct mos_run run = { 0 };
	struct mos_err e = { "" };
	struct sup_ui ui;
	int r;

	r = parse(argc, argv, &o);
	if (r >= 0)
		return r;
	if (!o.command) {
		mos_err("run: no command given (mosctl run [OPTIONS] -- COMMAND [ARG...])");
		r = MOS_EXIT_SETUP;
		goto out;
	}
	r = mos_run_prepare(&run, &o.policy,
			    &(struct mos_run_args){ .backend = o.backend,
						    .argv = o.command,
						    .allow_degraded = o.allow_degraded,
						    .verbose = o.verbose,
						    .progname = "mosctl" },
			    &e);
	if (r < 0) {
		if (e.msg[0])
			mos_err("%s", e.msg);
		r = MOS_EXIT_SETUP;
		goto out;
	}
	if (mos_run_supervised(&run)) {
		if (sup_ui_start(&ui, &o, &e) < 0) {
			mos_err("%s", e.msg);
			sup_ui_finish(&ui);
			r = MOS_EXIT_SETUP;
			goto out;
		}
		if (ui.audit || ui.learned || ui.asks)
			run.sc.hooks = &ui.hooks;
	}
	r = mos_run_exec(&run);
	if (mos_run_supervised(&run) && sup_ui_finish(&ui) < 0 && r == 0)
		r = MOS_EXIT_SETUP;
out:
	mos_run_free(&run);
	options_free(&o);
	return r;
}

static int cmd_check(int argc, char **argv)
{
	struct run_opts o;
	struct mos_plan plan;
	struct mos_err e = { "" };
	int r;

	r = parse(argc, argv, &o);
	if (r >= 0)
		return r;
	if (mos_plan_build(&o.policy, o.backend, &plan, &e) < 0) {
		mos_err("%s", e.msg);
		options_free(&o);
		return MOS_EXIT_SETUP;
	}
	printf("policy is valid; on this kernel (%s) it is enforced by:\n", mos_kernel_release());
	report_print(&plan.rep, stdout, "  ");
	for (size_t i = 0; i < plan.rep.nweak; i++)
		printf("  NOT ENFORCEABLE HERE: %s\n", plan.rep.weak[i]);
	if (plan.rep.nweak)
		printf("%s\n", o.allow_degraded
				       ? "mosctl run --allow-degraded would run it with the rules "
					 "above weakened as printed."
				       : "mosctl run would refuse this policy unless given "
					 "--allow-degraded.");
	r = plan.rep.nweak && !o.allow_degraded ? MOS_EXIT_SETUP : 0;
	mos_plan_free(&plan);
	options_free(&o);
	return r;
}

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

static int cmd_version(void)
{
	const struct mos_features *f = mos_features();

	printf("mosctl %s\n", MOS_VERSION);
	printf("kernel:            %s\n", f->kernel);
	if (f->landlock_abi && f->landlock_abi < f->landlock_kernel_abi)
		printf("landlock:          ABI %d (limited by MOS_LANDLOCK_ABI; the kernel has "
		       "%d)\n",
		       f->landlock_abi, f->landlock_kernel_abi);
	else if (f->landlock_abi)
		printf("landlock:          ABI %d (errata 0x%x)\n", f->landlock_abi,
		       f->landlock_errata);
	else
		printf("landlock:          unavailable: %s\n", f->landlock_why);
	printf("seccomp filter:    %s (kill-process action: %s)\n", yes(f->seccomp_filter),
	       yes(f->seccomp_kill_process));
	printf("seccomp user notification: %s\n", yes(f->seccomp_user_notif));
	if (f->userns)
		printf("user+pid namespaces: yes\n");
	else
		printf("user+pid namespaces: no: %s\n", f->userns_why);
	printf("io_uring:          %s (always denied inside sandboxes)\n", yes(f->io_uring));
	printf("cgroup2 mounted:   %s\n", yes(f->cgroup2_mounted));
	printf("cgroup pids:       %s\n",
	       f->cgroup_pids ? (f->cgroup_pids == 2 ? "v2" : "v1") : "not writable here");
	printf("cgroup memory:     %s\n",
	       f->cgroup_memory ? (f->cgroup_memory == 2 ? "v2" : "v1") : "not writable here");
	printf("BPF LSM:           %s\n", f->bpf_lsm);
	printf("backends:          auto, landlock, unotify, bpf (%s)\n",
	       f->bpf_lsm_stage == MOS_BPF_LSM_USABLE
		       ? "files and network: the BPF LSM; Landlock and cgroup BPF for a "
			 "policy that grants /proc"
		       : "files: Landlock; network: cgroup BPF; the BPF LSM is not usable here");
	printf("attach:            %s\n",
	       f->bpf_lsm_stage == MOS_BPF_LSM_USABLE
		       ? "BPF LSM domains (detach, update, --revoke, events)"
	       : f->landlock_abi
		       ? "through ptrace: Landlock + seccomp asked for by the process (permanent; "
			 "no --revoke); with mosd --controller the BPF LSM where it runs"
		       : "no: needs Landlock or the BPF LSM");
	/* Ask rules: the supervisor; the module's path is not wired to policies yet. */
	printf("ask rules:         the supervisor (seccomp user notification); the kernel "
	       "module's path (Documentation/kmod.md) is not used by mosctl run or attach "
	       "yet; here: %s\n",
	       f->kmod_why);
	/* What `run --on local` (an embedded mosd --stdio) needs here. */
	if (access("/dev/fuse", F_OK) < 0)
		printf("remote (--on local): no: no /dev/fuse (CONFIG_FUSE_FS)\n");
	else if (access("/dev/fuse", R_OK | W_OK) < 0)
		printf("remote (--on local): no: /dev/fuse is not open to this user (Debian's "
		       "udev makes it 0666)\n");
	else if (geteuid() != 0 && !f->userns)
		printf("remote (--on local): no: an unprivileged worker needs user namespaces\n");
	else
		printf("remote (--on local): yes (%s worker; FUSE passthrough %s)\n",
		       geteuid() == 0 ? "root" : "unprivileged",
		       geteuid() == 0 ? "when the kernel has it (>= 6.9)" : "needs root");
	return 0;
}

int main(int argc, char **argv)
{
	mos_log_init("mosctl", MOS_LOG_WARN);
	if (cmd_make_is_shell_call(argc, argv))
		return cmd_make_shell(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return MOS_EXIT_SETUP;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cc"))
		return cmd_cc(argc - 1, argv + 1);
	if (!strcmp(argv[1], "make"))
		return cmd_make(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pool"))
		return cmd_pool(argc - 1, argv + 1);
	if (!strcmp(argv[1], "agent"))
		return cmd_agent(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "attach") || !strcmp(argv[1], "update"))
		return cmd_attach(argc - 1, argv + 1);
	if (!strcmp(argv[1], "detach"))
		return cmd_detach(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ps"))
		return cmd_ps(argc - 1, argv + 1);
	if (!strcmp(argv[1], "events"))
		return cmd_events(argc - 1, argv + 1);
	if (!strcmp(argv[1], "keygen"))
		return cmd_keygen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "key"))
		return cmd_key(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))
		return cmd_version();
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	mos_err("unknown command '%s'", argv[1]);
	usage(stderr);
	return MOS_EXIT_SETUP;
}
