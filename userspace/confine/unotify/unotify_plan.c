// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_plan.c - compile a policy for the supervisor (unotify_plan.h).
 */
#include "unotify_plan.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "kmod_probe.h"
#include "landlock_compat.h"
#include "util.h"

/* Landlock rights that mean "may change what is beneath". */
#define WRITE_RIGHTS                                                    \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |  \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR)
#define READ_RIGHTS \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_EXECUTE)

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
	if (p->nask_fs || p->ask_net) {
		char why[160];

		mos_kmod_probe(why, sizeof(why));
		report_add(rep, "ask: decided by the supervisor (the kernel module's path, "
				"Documentation/kmod.md, is not used by mosctl run yet; here: %s)",
			   why);
	}
}

int unotify_plan_build(const struct mos_policy *p, const struct landlock_grants *g,
		       const struct mos_net_rules *net, struct unotify_plan *up,
		       struct mos_fs_view *view, struct mos_report *rep, struct mos_err *e)
{
	memset(up, 0, sizeof(*up));
	if (!net->built || net->policy != p) {
		mos_err_set(e, "supervisor: the network rules were not compiled");
		return -EINVAL;
	}
	if (p->permissive) {
		/* --learn: everything, recorded */
		strv_push(&up->write, &up->nwrite, xstrdup("/"));
		fs_view_add_writable(view, "/");
		fs_view_add_exec(view, "/");
		report_add(rep, "supervisor: learning: every file and TCP access is allowed and "
				"recorded");
	}
	add_ask_paths(p, up, view, rep);
	for (size_t i = 0; g && i < g->n; i++) {
		if (g->v[i].rights & WRITE_RIGHTS)
			strv_push(&up->write, &up->nwrite, xstrdup(g->v[i].path));
		else if (g->v[i].rights & READ_RIGHTS)
			strv_push(&up->read, &up->nread, xstrdup(g->v[i].path));
	}
	for (size_t i = 0; g && i < g->ndenied; i++)
		strv_push(&up->deny, &up->ndeny, xstrdup(g->denied[i]));
	if ((g && g->n) || p->permissive)
		report_add(
			rep,
			"supervisor: every open, stat, readlink, exec, directory change, connect "
			"and bind is decided outside the sandbox, and opens, changes and connects "
			"are performed on its behalf (%zu read, %zu write roots, %zu denied "
			"paths)",
			up->nread, up->nwrite, up->ndeny);

	up->connect = xcalloc(net->nconnect ? net->nconnect : 1, sizeof(*up->connect));
	for (size_t i = 0; i < net->nconnect; i++) {
		struct unotify_net_rule *c = &up->connect[i];

		c->family = net->connect[i].family;
		memcpy(c->addr, net->connect[i].addr, sizeof(c->addr));
		c->port = net->connect[i].port;
	}
	up->nconnect = net->nconnect;
	up->bind_ports = xcalloc(net->nbind ? net->nbind : 1, sizeof(*up->bind_ports));
	if (net->nbind)
		memcpy(up->bind_ports, net->bind, net->nbind * sizeof(*up->bind_ports));
	up->nbind = net->nbind;
	mos_net_rules_report(net, "supervisor", p->allow_udp, rep);
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
		.net_only = !g,
	};
	return 0;
}

void unotify_plan_free(struct unotify_plan *up)
{
	strv_free(up->read);
	strv_free(up->write);
	strv_free(up->deny);
	strv_free(up->ask);
	free(up->connect);
	free(up->bind_ports);
	memset(up, 0, sizeof(*up));
}
