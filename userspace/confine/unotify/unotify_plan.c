// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_plan.c - compile a policy for the supervisor (unotify_plan.h).
 */
#include "unotify_plan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "landlock_compat.h"
#include "resolve.h"
#include "util.h"

/* Landlock rights that mean "may change what is beneath". */
#define WRITE_RIGHTS                                                    \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |  \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR)
#define READ_RIGHTS \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_EXECUTE)

static void add_connect(struct unotify_plan *up, int family, const void *addr, uint16_t port)
{
	struct unotify_net_rule r = { .family = family, .port = port };

	if (family == AF_INET)
		memcpy(r.addr, addr, 4);
	else if (family == AF_INET6)
		memcpy(r.addr, addr, 16);
	up->connect = xrealloc(up->connect, (up->nconnect + 1) * sizeof(*up->connect));
	up->connect[up->nconnect++] = r;
}

/* HOST's addresses, each with every port of NR; a line for the report. */
static int add_host(struct unotify_plan *up, const struct mos_net_rule *nr, struct mos_report *rep,
		    struct mos_err *e)
{
	struct mos_host_addrs h;

	if (mos_resolve_host(nr, &h, e) < 0)
		return -EINVAL;
	for (size_t i = 0; i < h.n; i++) {
		for (size_t j = 0; j < nr->nports; j++)
			add_connect(up, h.v[i].family, h.v[i].addr, nr->ports[j]);
		/* what the sandbox's /etc/hosts will say (a literal address needs no line) */
		if (strcmp(h.v[i].text, nr->host) && strcmp(nr->host, "localhost")) {
			char *more = xasprintf("%s%s %s\n", up->hosts ? up->hosts : "", h.v[i].text,
					       nr->host);

			free(up->hosts);
			up->hosts = more;
		}
	}
	mos_report_host(rep, nr, &h);
	return 0;
}

/* The ask paths: decided by the supervisor alone, so writable in the view. */
static void add_ask_paths(const struct mos_policy *p, struct unotify_plan *up,
			  struct mos_fs_view *view, struct mos_report *rep)
{
	for (size_t i = 0; i < p->nask_fs; i++) {
		char *real = realpath(p->ask_fs[i], NULL);

		if (real) {
			fs_view_add_writable(view, real);
			fs_view_add_exec(view, real);
		}
		report_add(rep, "  ask       %s: every access waits for the decider's answer",
			   real ? real : p->ask_fs[i]);
		strv_push(&up->ask, &up->nask, real ? real : xstrdup(p->ask_fs[i]));
	}
	if (p->ask_net)
		report_add(rep, "supervisor: a TCP connect or bind no rule allows waits for the "
				"decider's answer");
}

int unotify_plan_build(const struct mos_policy *p, const struct landlock_grants *g,
		       struct unotify_plan *up, struct mos_fs_view *view, const char *who,
		       struct mos_report *rep, struct mos_err *e)
{
	int r;

	memset(up, 0, sizeof(*up));
	if (p->permissive) {
		/* --learn: everything, recorded */
		strv_push(&up->write, &up->nwrite, xstrdup("/"));
		fs_view_add_writable(view, "/");
		fs_view_add_exec(view, "/");
		report_add(rep, "supervisor: learning: every file and TCP access is allowed and "
				"recorded");
	}
	add_ask_paths(p, up, view, rep);
	for (size_t i = 0; i < g->n; i++) {
		if (g->v[i].rights & WRITE_RIGHTS)
			strv_push(&up->write, &up->nwrite, xstrdup(g->v[i].path));
		else if (g->v[i].rights & READ_RIGHTS)
			strv_push(&up->read, &up->nread, xstrdup(g->v[i].path));
	}
	for (size_t i = 0; i < g->ndenied; i++)
		strv_push(&up->deny, &up->ndeny, xstrdup(g->denied[i]));
	if (g->n || p->permissive)
		report_add(
			rep,
			"supervisor: every open, stat, readlink, exec, directory change, connect "
			"and bind is decided outside the sandbox, and opens, changes and connects "
			"are performed on its behalf (%zu read, %zu write roots, %zu denied "
			"paths)",
			up->nread, up->nwrite, up->ndeny);

	for (size_t i = 0; i < p->nnet_allow; i++) {
		const struct mos_net_rule *nr = &p->net_allow[i];

		if (nr->host) {
			r = add_host(up, nr, rep, e);
			if (r < 0)
				goto fail;
			continue;
		}
		for (size_t j = 0; j < nr->nports; j++)
			add_connect(up, AF_UNSPEC, NULL, nr->ports[j]);
	}
	for (size_t i = 0; i < p->nnet_bind; i++) {
		up->bind_ports = xrealloc(up->bind_ports, (up->nbind + 1) * sizeof(uint16_t));
		up->bind_ports[up->nbind++] = p->net_bind[i];
	}
	if (up->hosts) {
		view->hosts = xstrdup(up->hosts);
		report_add(rep,
			   "%s: those names are pinned in the sandbox's /etc/hosts, so it "
			   "resolves them to the addresses allowed",
			   who);
	}
	report_add(rep,
		   "%s: TCP connect to %zu address:port rule(s) and bind to %zu "
		   "port(s); any other TCP connect or bind fails with EACCES%s",
		   who, up->nconnect, up->nbind,
		   p->allow_udp && up->nconnect ? "; UDP to those destinations only" : "");
	up->pol = (struct unotify_policy){
		.read = (const char *const *)up->read,
		.write = (const char *const *)up->write,
		.deny = (const char *const *)up->deny,
		.connect = up->connect,
		.nconnect = up->nconnect,
		.bind_ports = up->bind_ports,
		.nbind = up->nbind,
		.allow_udp = p->allow_udp,
		.allow_unix = p->allow_unix,
		.allow_net = p->permissive,
		.ask = (const char *const *)up->ask,
		.ask_net = p->ask_net,
	};
	return 0;
fail:
	unotify_plan_free(up);
	return r;
}

void unotify_plan_free(struct unotify_plan *up)
{
	strv_free(up->read);
	strv_free(up->write);
	strv_free(up->deny);
	strv_free(up->ask);
	free(up->hosts);
	free(up->connect);
	free(up->bind_ports);
	memset(up, 0, sizeof(*up));
}
