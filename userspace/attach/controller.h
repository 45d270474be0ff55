/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * controller.h - mosd --controller: keeps the BPF LSM programs loaded and
 * pinned (/sys/fs/bpf/mosingar) and serves `mosctl attach`, `update`,
 * `detach`, `ps` and `events` to users who may not use bpf(2) themselves,
 * on /run/mosingar/control.sock (control_proto.h).
 *
 * Each request runs in a child of its own, with the client's stdin,
 * stdout and stderr, its working directory, and its file-system identity
 * (setfsuid: paths resolve with the client's permissions).  Who asks comes
 * from SO_PEERCRED; a client may act only on processes it could ptrace
 * (attach_may_act_on), change only domains it owns, and see only its own
 * processes and events.  A client that is itself confined (in a BPF LSM
 * domain, or in another pid namespace, or under no_new_privs with a
 * seccomp filter: a sandbox) is refused.  Once a minute without requests
 * it deletes the domains no process is in any more (lsm_domain_gc).
 */
#ifndef MOSD_CONTROLLER_H
#define MOSD_CONTROLLER_H

/* Serve SOCK (NULL: MOS_CONTROL_SOCK) until killed; an exit status. */
int controller_run(const char *sock);

#endif /* MOSD_CONTROLLER_H */
