/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * agent.h - warm sessions: `mosctl agent`, one per user (and configuration,
 * mount and network namespace), keeps a connection to each worker open
 * across jobs, so that the worker keeps what it learnt of this machine's
 * files from job to job (MOS_FEAT_SESSION).
 *
 * A job's mosctl connects to the agent's unix socket instead of the worker
 * and speaks the same protocol over it: the agent relays every frame to
 * the session's worker and back, answers keepalives itself, and adds what
 * only it can know across jobs: INVALIDATE for whatever changed here since
 * the worker saw it (inotify: watches the jobs added before reading, taken
 * over when each job ends).  The job's own mosctl still serves the files,
 * with its own privileges; the agent reads none.
 *
 * Documentation/farm.md ("Warm sessions") says what a user sees; the
 * threat model says who may talk to an agent.
 */
#ifndef MOSCTL_AGENT_H
#define MOSCTL_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mosingar/protocol.h>

struct watch_set;

/* The agent's socket for this user, configuration and namespaces
 * (malloc'd), or NULL when there is no private directory for it. */
char *agent_socket_path(void);

/* SOCK's address in *A: the path, or when too long for sun_path, the same
 * through /proc/self/fd/N, N being *DIRFD (open on its directory; close it after
 * bind or connect).  0 or -errno. */
struct sockaddr_un;
int agent_sockaddr(const char *sock, struct sockaddr_un *a, int *dirfd);

/* `mosctl agent`: serve on SOCK until idle for IDLE_S seconds.  Returns an
 * exit status (0 also when another agent already serves SOCK). */
int agent_serve(const char *sock, unsigned idle_s);

/*
 * A job's stream to WORKER through the agent (started when none runs),
 * within TIMEOUT_MS: the fd, with *READY filled, or -errno:
 *   -EHOSTUNREACH  the agent could not reach the worker (ERR says why):
 *                  the job never reached it;
 *   other          no agent to use here (ERR says why): connect directly.
 * FEATURES are this mosctl's HELLO's; KEY names the session's scope (a job
 * shares a session only with jobs of the same key).
 */
int agent_open(const char *worker, uint64_t features, const char *key, unsigned timeout_ms,
	       struct mos_agent_ready *ready, char *err, size_t errlen);

/* After the job's EXIT, on FD: the watches of WS (its descriptor passed on)
 * and the number that could not be added.  0 or -errno. */
int agent_handover(int fd, struct watch_set *ws, unsigned long failures);

#endif /* MOSCTL_AGENT_H */
