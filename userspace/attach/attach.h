/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach.h - mosctl's commands for processes it did not start:
 *
 *   mosctl attach PID [--tree] [--revoke] [OPTIONS]   confine PID now
 *   mosctl update PID [OPTIONS]                       add a tighter layer
 *   mosctl detach PID                                 lift it (BPF LSM only)
 *   mosctl ps                                         what was attached
 *   mosctl events [--follow] [--json]                 BPF LSM refusals
 *
 * With BPF LSM (root, or any user through mosd --controller) the process
 * enters a kernel policy domain (attach_bpf.h); without, mosctl goes
 * through ptrace (attach_landlock.h).  What was attached is recorded in
 * attach_registry.h.  Documentation/attach.md.
 */
#ifndef MOSCTL_ATTACH_H
#define MOSCTL_ATTACH_H

#include <stdbool.h>
#include <sys/types.h>

/* Whom a command acts for: mosctl's own user, or a peer of mosd --controller
 * (credentials from SO_PEERCRED). */
struct attach_actor {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool peer;
};

/* ARGV[0] is "attach" or "update". */
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_events(int argc, char **argv);

/* mosd --controller: run ARGV (attach, update, detach, ps or events) for WHO
 * with the BPF LSM; an exit status. */
int attach_serve(int argc, char **argv, const struct attach_actor *who);

#endif /* MOSCTL_ATTACH_H */
