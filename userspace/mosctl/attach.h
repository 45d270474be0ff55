/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach.h - mosctl's commands for processes it did not start:
 *
 *   mosctl attach PID [--tree] [--revoke] [OPTIONS]   confine PID now
 *   mosctl update PID [OPTIONS]                       add a tighter layer
 *   mosctl detach PID                                 lift it (BPF LSM only)
 *   mosctl ps                                         what was attached
 *
 * Without BPF LSM, attach goes through ptrace (attach_landlock.h); what was
 * attached is recorded in attach_registry.h.  Documentation/attach.md.
 */
#ifndef MOSCTL_ATTACH_H
#define MOSCTL_ATTACH_H

/* ARGV[0] is "attach" or "update". */
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_ps(int argc, char **argv);

#endif /* MOSCTL_ATTACH_H */
