// SPDX-License-Identifier: GPL-2.0-only
/*
 * net_cgroup.c - cgroup BPF network rules for a sandbox (net_cgroup.h).
 */
#include "net_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "net_cgroup.skel.h"
#include "util.h"

/* The programs' map layouts (bpf/net_cgroup.bpf.c). */
struct net_rule_key {
	__u8 family;
	__u8 proto;
	__u16 port;
	__u8 addr[16];
};

struct net_config {
	__u8 udp_anywhere;
	__u8 udp;
};

static int put_rules(struct net_cgroup *nc, const struct mos_net_rules *net, bool allow_udp)
{
	struct net_config c = { .udp_anywhere = allow_udp && !net->nconnect, .udp = allow_udp };
	int conn = bpf_map__fd(nc->skel->maps.allow_connect);
	int bind = bpf_map__fd(nc->skel->maps.allow_bind);
	__u32 zero = 0;
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(nc->skel->maps.net_config), &zero, &c, BPF_ANY) < 0)
		return -errno;
	for (size_t i = 0; i < net->nconnect; i++) {
		const struct mos_connect_rule *r = &net->connect[i];
		const __u8 protos[2] = { IPPROTO_TCP, IPPROTO_UDP };

		for (int j = 0; j < 2; j++) {
			struct net_rule_key k = {
				.family = (__u8)(r->family == AF_UNSPEC ? 0 : r->family),
				.proto = protos[j],
				.port = r->port
			};

			if (r->family != AF_UNSPEC)
				memcpy(k.addr, r->addr, r->family == AF_INET ? 4 : 16);
			if (bpf_map_update_elem(conn, &k, &one, BPF_ANY) < 0)
				return -errno;
		}
	}
	for (size_t i = 0; i < net->nbind; i++) {
		__u32 key = ((__u32)IPPROTO_TCP << 16) | net->bind[i];

		if (bpf_map_update_elem(bind, &key, &one, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

/*
 * The cgroups of mosctl processes that were killed (SIGKILL leaves no one
 * to remove them): mosingar-net.PID in BASE, PID no longer running, empty
 * (rmdir only removes a cgroup without processes, so a sandbox still in
 * one keeps it).  Our own name among them is one a dead process of our pid
 * left: without this, mkdir would fail EEXIST.
 */
static void sweep_dead(const char *base)
{
	_cleanup_close_ int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d)
		return;
	fd = -1; /* the DIR owns it */
	while ((de = readdir(d))) {
		char *end;
		long pid;

		if (strncmp(de->d_name, "mosingar-net.", 13))
			continue;
		pid = strtol(de->d_name + 13, &end, 10);
		if (*end || pid <= 0 ||
		    (pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)))
			continue;
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

int net_cgroup_create(struct net_cgroup *nc, const struct mos_net_rules *net, bool allow_udp,
		      const char *in_dir, struct mos_err *e)
{
	char base[3800];
	int err;

	memset(nc, 0, sizeof(*nc));
	nc->dirfd = -1;
	if (in_dir) {
		snprintf(nc->path, sizeof(nc->path), "%s", in_dir);
	} else if (!cgroup_v2_dir(base, sizeof(base))) {
		mos_err_set(e, "--backend bpf: no cgroup v2 hierarchy is mounted (its network "
			       "rules are cgroup BPF programs)");
		return -ENOENT;
	} else {
		snprintf(nc->path, sizeof(nc->path), "%s/mosingar-net.%d", base, (int)getpid());
		sweep_dead(base);
	}
	if (!in_dir && mkdir(nc->path, 0755) < 0) {
		err = -errno;
		mos_err_set(e, "--backend bpf: cannot create the cgroup %s: %s%s", nc->path,
			    strerror(-err),
			    err == -EACCES || err == -EPERM
				    ? " (root, or a delegated cgroup v2 subtree, is needed)"
				    : "");
		nc->path[0] = '\0';
		return err;
	}
	nc->own_dir = !in_dir;
	nc->dirfd = open(nc->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	nc->skel = net_cgroup_bpf__open_and_load();
	if (nc->dirfd < 0 || !nc->skel) {
		err = -errno;
		mos_err_set(e, "--backend bpf: cannot load the cgroup network programs: %s",
			    strerror(-err));
		return err;
	}
	err = put_rules(nc, net, allow_udp);
#define ATTACH(p)                                                                         \
	do {                                                                              \
		if (!err) {                                                               \
			nc->skel->links.p =                                               \
				bpf_program__attach_cgroup(nc->skel->progs.p, nc->dirfd); \
			err = nc->skel->links.p ? 0 : -errno;                             \
		}                                                                         \
	} while (0)
	ATTACH(connect4);
	ATTACH(connect6);
	ATTACH(sendmsg4);
	ATTACH(sendmsg6);
	ATTACH(bind4);
	ATTACH(bind6);
	ATTACH(sock_create);
#undef ATTACH
	if (err)
		mos_err_set(e, "--backend bpf: cannot attach the cgroup network programs: %s",
			    strerror(-err));
	return err;
}

int net_cgroup_attach(struct net_cgroup *nc, pid_t pid, struct mos_err *e)
{
	char procs[4200], num[32];
	int r;

	if (!nc->own_dir)
		return 0; /* the limits' cgroup: the sandbox is moved there already */
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", nc->path);
	snprintf(num, sizeof(num), "%d", (int)pid);
	r = write_file(procs, num);
	if (r < 0)
		mos_err_set(e, "--backend bpf: cannot move the sandbox into %s: %s", nc->path,
			    strerror(-r));
	return r;
}

void net_cgroup_destroy(struct net_cgroup *nc)
{
	if (nc->skel)
		net_cgroup_bpf__destroy(nc->skel);
	nc->skel = NULL;
	closep(&nc->dirfd);
	if (nc->path[0] && nc->own_dir) {
		/* the sandbox's processes may take a moment to leave */
		for (int i = 0; i < 100 && rmdir(nc->path) < 0 && errno == EBUSY; i++)
			usleep(10000);
		nc->path[0] = '\0';
	}
}
