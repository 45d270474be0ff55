// SPDX-License-Identifier: GPL-2.0-only
/*
 * resolve.c - the host name of a --net-allow rule, resolved (see
 * resolve.h).
 */
#include "resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int mos_resolve_host(const struct mos_net_rule *nr, struct mos_host_addrs *out, struct mos_err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int gr = getaddrinfo(nr->host, NULL, &hints, &res);

	out->n = 0;
	if (gr != 0) {
		mos_err_set(e, "%s: cannot resolve '%s': %s", nr->origin.text, nr->host,
			    gai_strerror(gr));
		return -EINVAL;
	}
	for (ai = res; ai && out->n < MOS_HOST_MAX_ADDRS; ai = ai->ai_next) {
		struct mos_host_addr *a = &out->v[out->n];
		const void *src;
		size_t len;
		bool seen = false;

		if (ai->ai_family == AF_INET) {
			src = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
			len = 4;
		} else if (ai->ai_family == AF_INET6) {
			src = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
			len = 16;
		} else {
			continue;
		}
		memset(a, 0, sizeof(*a));
		a->family = ai->ai_family;
		memcpy(a->addr, src, len);
		if (!inet_ntop(a->family, src, a->text, sizeof(a->text)))
			continue;
		for (size_t i = 0; i < out->n && !seen; i++)
			seen = !strcmp(out->v[i].text, a->text);
		if (!seen)
			out->n++;
	}
	freeaddrinfo(res);
	return 0;
}

void mos_report_host(struct mos_report *rep, const char *host, const struct mos_host_addr *v,
		     size_t n)
{
	char line[MOS_HOST_MAX_ADDRS * (INET6_ADDRSTRLEN + 1) + 1] = "";

	for (size_t i = 0; i < n && i < MOS_HOST_MAX_ADDRS; i++)
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", v[i].text);
	report_add(rep, "  %s resolved once, at start, to%s", host, line);
}
