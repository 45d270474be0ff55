/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * connect.h - open the stream to one worker of a pool's spelling.
 */
#ifndef MOSCTL_CONNECT_H
#define MOSCTL_CONNECT_H

#include <sys/types.h>

struct tls_channel;
struct mos_identity;

/*
 * The stream to worker ON: an embedded `mosd --stdio` for "local" (its pid
 * in *HELPER), one over ssh for "ssh://...", else TCP within TIMEOUT_MS and
 * then TLS (*TLS, not yet shaken hands, with our identity in *ID, to free
 * after the channel).  The fd, or -errno with ERR set where there is more
 * to say than the errno.
 */
int connect_worker(const char *on, unsigned timeout_ms, pid_t *helper, struct tls_channel **tls,
		   struct mos_identity **id, char *err, size_t errlen);
/* The mosd we started: its exit, waited for 5 s at most (it cleans up
 * after the connection ends), then killed. */
void reap_helper(pid_t pid);
/* mosd next to this mosctl (a build tree or an install), else $PATH; $MOSD first. */
char *find_mosd(void);

#endif /* MOSCTL_CONNECT_H */
