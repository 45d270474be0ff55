// SPDX-License-Identifier: GPL-2.0-only
/*
 * net_cgroup_test - the bpf backend's cgroup programs on their own, with no
 * seccomp filter in front (under `mosctl run` the filter refuses most of
 * the same sockets first): a process moved into the cgroup may create TCP
 * sockets, UDP ones only when UDP is allowed, and no raw, ICMP or MPTCP
 * socket (EPERM from sock_create); connect goes only where a rule allows
 * (EACCES).  Root (a cgroup v2 directory of its own).
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "net_cgroup.h"
#include "rules.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* errno of socket(DOMAIN, TYPE, PROTO), 0 when it worked. */
static int sock_errno(int domain, int type, int proto)
{
	int fd = socket(domain, type, proto);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* errno of a TCP connect to 127.0.0.1:PORT (nothing listens: ECONNREFUSED
 * when allowed). */
static int connect_errno(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;

	if (fd < 0)
		return errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
	close(fd);
	return r;
}

/* In a child moved into a cgroup with the rules of --net-allow :9 (and
 * --allow-udp with UDP): the errno of each probe, as text. */
static void probe_in_cgroup(bool udp, char *out, size_t len)
{
	struct mos_policy pol;
	struct mos_net_rules net;
	struct net_cgroup nc = { .dirfd = -1 };
	struct mos_err e = { "" };
	int go[2], res[2], st;
	ssize_t n;
	pid_t pid;

	if (!t_is_root())
		t_skip("needs root: a cgroup v2 directory of its own");
	policy_init(&pol);
	if (policy_add_net_allow(&pol, ":9", "--net-allow", &e) < 0 ||
	    mos_net_rules_build(&pol, &net, &e) < 0)
		t_fail("the rules: %s", e.msg);
	if (net_cgroup_create(&nc, &net, udp, NULL, &e) < 0)
		t_skip("cannot set up the cgroup programs: %s", e.msg);
	if (pipe(go) < 0 || pipe(res) < 0)
		t_fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		char buf[256], c;

		close(go[1]);
		close(res[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		snprintf(buf, sizeof(buf),
			 "tcp=%d tcp6=%d udp=%d raw=%d icmp=%d mptcp=%d connect9=%d connect10=%d",
			 sock_errno(AF_INET, SOCK_STREAM, 0), sock_errno(AF_INET6, SOCK_STREAM, 0),
			 sock_errno(AF_INET, SOCK_DGRAM, 0),
			 sock_errno(AF_INET, SOCK_RAW, IPPROTO_ICMP),
			 sock_errno(AF_INET, SOCK_DGRAM, IPPROTO_ICMP),
			 sock_errno(AF_INET, SOCK_STREAM, IPPROTO_MPTCP), connect_errno(9),
			 connect_errno(10));
		_exit(write(res[1], buf, strlen(buf)) < 0);
	}
	close(go[0]);
	close(res[1]);
	if (net_cgroup_attach(&nc, pid, &e) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		net_cgroup_destroy(&nc);
		t_fail("moving the child into the cgroup: %s", e.msg);
	}
	if (write(go[1], "g", 1) != 1)
		t_fail("write: %s", strerror(errno));
	close(go[1]);
	n = read(res[0], out, len - 1);
	out[n > 0 ? n : 0] = 0;
	close(res[0]);
	waitpid(pid, &st, 0);
	net_cgroup_destroy(&nc);
	mos_net_rules_free(&net);
	policy_free(&pol);
	t_note("in the cgroup: %s", out);
}

/* An ICMP socket may also be refused by net.ipv4.ping_group_range (EACCES):
 * any refusal will do there. */
static void expect(const char *out, int udp)
{
	char want[160];

	snprintf(want, sizeof(want), "tcp=0 tcp6=0 udp=%d raw=%d ", udp, EPERM);
	T_EXPECT_STR(out, want);
	T_EXPECT_NO_STR(out, "icmp=0 ");
	snprintf(want, sizeof(want), "mptcp=%d connect9=%d connect10=%d", EPERM, ECONNREFUSED,
		 EACCES);
	T_EXPECT_STR(out, want);
}

TEST(only_tcp_sockets_without_allow_udp)
{
	char out[256];

	probe_in_cgroup(false, out, sizeof(out));
	expect(out, EPERM);
}

TEST(udp_sockets_with_allow_udp_and_still_no_raw)
{
	char out[256];

	probe_in_cgroup(true, out, sizeof(out));
	expect(out, 0);
}

/*
 * A mosctl killed with SIGKILL leaves its empty cgroup mosingar-net.PID
 * behind; a later process that gets the same pid must still start (it
 * failed with "cannot create the cgroup ...: File exists"), and the
 * cgroups of dead processes are removed.
 */
TEST(stale_cgroups_of_dead_processes_do_not_block_a_start)
{
	struct mos_policy pol;
	struct mos_net_rules net;
	struct net_cgroup nc = { .dirfd = -1 };
	struct mos_err e = { "" };
	char base[4096], own[4200], dead[4200], *slash;
	pid_t pid;

	if (!t_is_root())
		t_skip("needs root: a cgroup v2 directory of its own");
	policy_init(&pol);
	if (mos_net_rules_build(&pol, &net, &e) < 0)
		t_fail("the rules: %s", e.msg);
	/* where our cgroup goes: learned from a first one */
	if (net_cgroup_create(&nc, &net, false, NULL, &e) < 0)
		t_skip("cannot set up the cgroup programs: %s", e.msg);
	snprintf(base, sizeof(base), "%s", nc.path);
	net_cgroup_destroy(&nc);
	slash = strrchr(base, '/');
	T_ASSERT(slash != NULL);
	*slash = '\0';
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	snprintf(own, sizeof(own), "%s/mosingar-net.%d", base, (int)getpid());
	snprintf(dead, sizeof(dead), "%s/mosingar-net.%d", base, (int)pid);
	T_ASSERT(mkdir(own, 0755) == 0);
	T_ASSERT(mkdir(dead, 0755) == 0);
	memset(&nc, 0, sizeof(nc));
	nc.dirfd = -1;
	if (net_cgroup_create(&nc, &net, false, NULL, &e) < 0) {
		rmdir(own);
		rmdir(dead);
		t_fail("a stale cgroup of our pid blocked the start: %s", e.msg);
	}
	net_cgroup_destroy(&nc);
	T_EXPECT_EQ(access(dead, F_OK), -1);
	T_EXPECT_EQ(access(own, F_OK), -1);
	rmdir(dead);
}
