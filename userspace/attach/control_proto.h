/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * control_proto.h - the control socket of mosd --controller
 * (/run/mosingar/control.sock, SOCK_SEQPACKET, mode 0666).
 *
 * A client sends one request and gets one reply:
 *
 *   request  "MOS1" NUL, the client's working directory NUL, then the
 *            command's arguments, each NUL-terminated ("attach" NUL "4242"
 *            NUL "--read" NUL "/srv" NUL); with it (SCM_RIGHTS) the client's
 *            stdin, stdout and stderr, which the command writes to directly
 *   reply    "MOS1" and the command's exit status (int32, host order)
 *
 * The controller learns who asks from the socket (SO_PEERCRED), never from
 * the request.  Documentation/attach.md.
 */
#ifndef MOS_CONTROL_PROTO_H
#define MOS_CONTROL_PROTO_H

#include "policy.h"

#define MOS_CONTROL_SOCK "/run/mosingar/control.sock"
#define MOS_CONTROL_MAX 65536

/* Client: send ARGV (ARGC entries) and fds 0-2 to SOCK; wait for the exit
 * status.  0 with *STATUS set, or -errno with E set. */
int control_call(const char *sock, int argc, char **argv, int *status, struct mos_err *e);

/* Server: one request from CONN: *ARGV (NULL-terminated, one allocation:
 * free(*ARGV)), *CWD (inside it), FDS[3].  0, or -errno with E set, every
 * fd that came closed and FDS all -1. */
int control_recv(int conn, char ***argv, int *argc, char **cwd, int fds[3], struct mos_err *e);
int control_reply(int conn, int status);

#endif /* MOS_CONTROL_PROTO_H */
