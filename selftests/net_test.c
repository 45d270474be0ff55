// SPDX-License-Identifier: GPL-2.0-only
/*
 * net_test - the sandbox's network rules, checked against real sockets on
 * loopback: TCP connect only to --net-allow ports (and the listener outside
 * really sees only those connections), bind only to --net-bind ports, UDP
 * only with --allow-udp, no ICMP/raw/MPTCP/packet/vsock sockets, unix
 * sockets only with --allow-unix, abstract unix sockets scoped to the
 * sandbox, no io_uring, and --net-allow specs validated.
 *
 * Every listener lives outside the sandbox, in the test process, on an
 * ephemeral port, so the suite runs in parallel with itself and as any uid.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

/* The directory of the helpers, to grant it read+exec. */
static const char *helpers_dir(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s", t_helper("probe"));
	return dirname(buf);
}

static char *num(int n)
{
	static char buf[16][16];
	static int slot;
	char *b = buf[slot++ % 16];

	snprintf(b, sizeof(buf[0]), "%d", n);
	return b;
}

/* A non-blocking TCP listener on 127.0.0.1 or ::1, ephemeral port. */
static int tcp_listener(int family, int *port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					 : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static int tcp_listener_or_fail(int family, int *port)
{
	int fd = tcp_listener(family, port);

	if (fd < 0)
		t_fail("cannot listen on loopback: %s", strerror(errno));
	return fd;
}

/* ::1 usable here?  Otherwise the IPv6 half of a test is skipped. */
static bool have_ipv6(void)
{
	int port, fd = tcp_listener(AF_INET6, &port);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* A port nobody listens on (bound once, then released). */
static int free_port(void)
{
	int port, fd = tcp_listener_or_fail(AF_INET, &port);

	close(fd);
	return port;
}

/* Nothing reached LFD (connections are queued: the sandbox has ended). */
static void expect_no_connection(int lfd, const char *what)
{
	char buf[256];

	if (t_accept_data(lfd, 100, buf, sizeof(buf)))
		t_fail("%s: the listener outside saw a connection (data \"%s\")", what, buf);
}

static void expect_connection(int lfd, const char *what, const char *data)
{
	char buf[256];

	if (!t_accept_data(lfd, 2000, buf, sizeof(buf)))
		t_fail("%s: the listener outside saw no connection", what);
	if (data && strcmp(buf, data))
		t_fail("%s: the listener got \"%s\", expected \"%s\"", what, buf, data);
}

/* A bound non-blocking UDP socket on loopback, ephemeral port. */
static int udp_socket(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		t_fail("udp socket: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Receive a datagram within MS milliseconds; "" when none came. */
static const char *recv_datagram(int fd, int ms)
{
	static char buf[512];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, ms) <= 0)
		return buf;
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Abstract unix socket NAME outside the sandbox, non-blocking. */
static int abstract_socket(int type, const char *name)
{
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	memcpy(su.sun_path + 1, name, n);
	if (fd < 0 ||
	    bind(fd, (struct sockaddr *)&su,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4) < 0))
		t_fail("abstract socket @%s: %s", name, strerror(errno));
	return fd;
}

/* The probe's one line: "ok ..." or "err ENAME" and mosctl exited 0. */
static void expect_ok(const struct t_result *r, const char *what)
{
	if (r->status != 0 || strncmp(r->out, "ok", 2)) {
		t_dump(what, r);
		t_fail("%s: expected success", what);
	}
}

static void expect_err(const struct t_result *r, const char *what, const char *ename)
{
	char want[64];

	snprintf(want, sizeof(want), "err %s\n", ename);
	if (r->status != 0 || strcmp(r->out, want)) {
		t_dump(what, r);
		t_fail("%s: expected \"err %s\"", what, ename);
	}
}

/* Any failure (the sandbox must not get it; which errno is secondary). */
static void expect_any_err(const struct t_result *r, const char *what)
{
	if (r->status != 0 || strncmp(r->out, "err ", 4)) {
		t_dump(what, r);
		t_fail("%s: expected a failure", what);
	}
}

/* `mosctl run -s -r HELPERS [OPTS...] -- HELPER ARGS...`, NULL-separated. */
#define SBX(r, ...) t_mosctl(r, "run", "-s", "-r", helpers_dir(), __VA_ARGS__, NULL)
#define NP() t_helper("net_probe")
/*
 * The supervisor cannot scope abstract unix sockets, nor Landlock before
 * ABI 6: --allow-unix then needs --allow-degraded
 * (abstract_unix_sockets_are_scoped says why).
 */
#define UNIX_DEGRADED (t_supervised() || t_landlock_abi() < 6 ? "--allow-degraded" : "--allow-unix")
#define PROBE() t_helper("probe")

/* ---------------------------------------------------------------------- */
/* TCP connect                                                             */
/* ---------------------------------------------------------------------- */

static void connect_rules(int family, const char *host)
{
	struct t_result r;
	int p, q;
	int lp = tcp_listener_or_fail(family, &p), lq = tcp_listener_or_fail(family, &q);
	char allow_p[32], allow_both[48];

	snprintf(allow_p, sizeof(allow_p), ":%d", p);
	snprintf(allow_both, sizeof(allow_both), ":%d,%d", q, p);

	/* No --net-allow: no network at all. */
	SBX(&r, "--", NP(), "send", host, num(p), "denied-1");
	expect_err(&r, "connect without --net-allow", "EACCES");
	expect_no_connection(lp, "connect without --net-allow");

	/* The allowed port: the listener sees the connection and its bytes. */
	SBX(&r, "--net-allow", allow_p, "--", NP(), "send", host, num(p), "allowed");
	expect_ok(&r, "connect to the --net-allow port");
	expect_connection(lp, "connect to the --net-allow port", "allowed");

	/* Another port, while P is allowed. */
	SBX(&r, "--net-allow", allow_p, "--", NP(), "send", host, num(q), "denied-2");
	expect_err(&r, "connect to a port not in --net-allow", "EACCES");
	expect_no_connection(lq, "connect to a port not in --net-allow");

	/* probe's own connect agrees. */
	SBX(&r, "--net-allow", allow_p, "--", PROBE(), "connect", host, num(q));
	expect_err(&r, "probe connect to another port", "EACCES");
	expect_no_connection(lq, "probe connect to another port");

	/* Several ports in one flag. */
	SBX(&r, "--net-allow", allow_both, "--", NP(), "send", host, num(q), "both-q");
	expect_ok(&r, "connect to the first of two ports");
	expect_connection(lq, "connect to the first of two ports", "both-q");
	SBX(&r, "--net-allow", allow_both, "--", NP(), "send", host, num(p), "both-p");
	expect_ok(&r, "connect to the second of two ports");
	expect_connection(lp, "connect to the second of two ports", "both-p");

	/* An IPv4-mapped IPv6 address is the same port. */
	if (family == AF_INET && have_ipv6()) {
		SBX(&r, "--net-allow", allow_p, "--", NP(), "send", "::ffff:127.0.0.1", num(q),
		    "mapped");
		expect_err(&r, "connect to ::ffff:127.0.0.1, port not allowed", "EACCES");
		expect_no_connection(lq, "connect to ::ffff:127.0.0.1, port not allowed");
	}

	/* Nothing else slipped through along the way. */
	expect_no_connection(lp, "after the connect checks");
	expect_no_connection(lq, "after the connect checks");
	close(lp);
	close(lq);
}

TEST(tcp_connect_only_to_allowed_ports_ipv4)
{
	connect_rules(AF_INET, "127.0.0.1");
}

TEST(tcp_connect_only_to_allowed_ports_ipv6)
{
	if (!have_ipv6())
		t_skip("no IPv6 loopback (::1) here");
	connect_rules(AF_INET6, "::1");
}

/*
 * --net-allow HOST:PORT: exact under the supervisor (--backend unotify, and
 * auto, which layers the supervisor on Landlock for it); Landlock alone
 * filters by port only, so it refuses, or widens with --allow-degraded.
 * Before Landlock ABI 4 (Linux 6.7) it has no TCP rules at all: the refusal
 * and the warning say that instead.
 */
TEST(net_allow_with_host_is_exact_or_refused)
{
	struct t_result r;
	char spec[64];
	int p, lp = tcp_listener_or_fail(AF_INET, &p);
	const char *weaker = t_landlock_abi() >= 4 ? "port only" : "Landlock ABI 4";

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", p);
	/* exact: that address and port, and no other address */
	SBX(&r, "--net-allow", spec, "--", NP(), "send", "127.0.0.1", num(p), "exact");
	expect_ok(&r, "host:port (exact)");
	expect_connection(lp, "host:port (exact)", "exact");
	SBX(&r, "--net-allow", spec, "--", NP(), "send", "127.0.0.2", num(p), "other");
	expect_err(&r, "another address, same port", "EACCES");
	expect_no_connection(lp, "another address, same port");

	SBX(&r, "--backend", "landlock", "--net-allow", spec, "--", NP(), "send", "127.0.0.1",
	    num(p), "host-form");
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, weaker);
	T_EXPECT_STR(r.err, "--allow-degraded");
	T_EXPECT_EQ(r.out_len, 0);
	expect_no_connection(lp, "refused host:port spec");

	SBX(&r, "--backend", "landlock", "--allow-degraded", "--net-allow", spec, "--", NP(),
	    "send", "127.0.0.1", num(p), "degraded");
	expect_ok(&r, "host:port with --allow-degraded");
	T_EXPECT_STR(r.err, "warning");
	T_EXPECT_STR(r.err, weaker);
	expect_connection(lp, "host:port with --allow-degraded", "degraded");
	close(lp);

	if (have_ipv6()) {
		lp = tcp_listener_or_fail(AF_INET6, &p);
		snprintf(spec, sizeof(spec), "[::1]:%d", p);
		SBX(&r, "--net-allow", spec, "--", NP(), "send", "::1", num(p), "exact6");
		expect_ok(&r, "[::1]:port (exact)");
		expect_connection(lp, "[::1]:port (exact)", "exact6");
		SBX(&r, "--backend", "landlock", "--net-allow", spec, "--", NP(), "send", "::1",
		    num(p), "host6");
		T_EXPECT_EQ(r.status, 125);
		T_EXPECT_STR(r.err, weaker);
		expect_no_connection(lp, "refused [::1]:port spec");
		SBX(&r, "--backend", "landlock", "--allow-degraded", "--net-allow", spec, "--",
		    NP(), "send", "::1", num(p), "degraded6");
		expect_ok(&r, "[::1]:port with --allow-degraded");
		T_EXPECT_STR(r.err, "warning");
		expect_connection(lp, "[::1]:port with --allow-degraded", "degraded6");
		close(lp);
	} else {
		t_note("no IPv6 loopback: [::1]:PORT form not checked");
	}
}

/*
 * Under the supervisor, --allow-udp with --net-allow rules sends datagrams
 * to those destinations only (performed on the caller's behalf); without
 * rules, anywhere, as under Landlock.
 */
TEST(udp_destinations_follow_net_allow_under_the_supervisor)
{
	struct t_result r;
	int port, other, fd = udp_socket(&port), fd2 = udp_socket(&other);
	char spec[64];

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	SBX(&r, "--backend", "unotify", "--allow-udp", "--net-allow", spec, "--", NP(), "udp-send",
	    "127.0.0.1", num(port), "udp-to-rule");
	expect_ok(&r, "UDP to the allowed destination");
	T_EXPECT_STR(recv_datagram(fd, 2000), "udp-to-rule");
	SBX(&r, "--backend", "unotify", "--allow-udp", "--net-allow", spec, "--", NP(), "udp-send",
	    "127.0.0.1", num(other), "udp-elsewhere");
	expect_err(&r, "UDP to another port", "EACCES");
	T_EXPECT_EQ(strlen(recv_datagram(fd2, 200)), 0);
	SBX(&r, "--backend", "unotify", "--allow-udp", "--", NP(), "udp-send", "127.0.0.1",
	    num(other), "udp-anywhere");
	expect_ok(&r, "UDP without rules");
	T_EXPECT_STR(recv_datagram(fd2, 2000), "udp-anywhere");
	close(fd);
	close(fd2);
}

/*
 * --backend bpf: the network rules as cgroup BPF programs on a cgroup v2
 * directory of the sandbox's own.  Root (or a delegated subtree) may make
 * one: then a host rule is exact; anyone else is refused, saying why.
 */
TEST(bpf_backend_exact_as_root_refused_clearly_otherwise)
{
	struct t_result r;
	char spec[64];
	int p, lp = tcp_listener_or_fail(AF_INET, &p);

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", p);
	SBX(&r, "--backend", "bpf", "--net-allow", spec, "--", NP(), "send", "127.0.0.1", num(p),
	    "bpf-exact");
	if (!t_is_root()) {
		T_EXPECT_EQ(r.status, 125);
		T_EXPECT_STR(r.err, "delegated cgroup v2 subtree");
		expect_no_connection(lp, "bpf backend without the right to make a cgroup");
		close(lp);
		return;
	}
	expect_ok(&r, "bpf: host:port");
	expect_connection(lp, "bpf: host:port", "bpf-exact");
	SBX(&r, "--backend", "bpf", "--net-allow", spec, "--", NP(), "send", "127.0.0.2", num(p),
	    "other");
	expect_err(&r, "bpf: another address, same port", "EACCES");
	expect_no_connection(lp, "bpf: another address, same port");
	close(lp);
}

/* The names of host rules are pinned in the sandbox's /etc/hosts. */
TEST(net_allow_host_names_are_pinned_in_etc_hosts)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char name[256], spec[300], addr[INET6_ADDRSTRLEN], line[400];
	struct t_result r;

	if (gethostname(name, sizeof(name)) < 0 || getaddrinfo(name, NULL, &hints, &res) != 0)
		t_skip("this machine's own name does not resolve here");
	inet_ntop(res->ai_family,
		  res->ai_family == AF_INET
			  ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
			  : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr,
		  addr, sizeof(addr));
	freeaddrinfo(res);
	snprintf(spec, sizeof(spec), "%s:443", name);
	snprintf(line, sizeof(line), "\n%s %s\n", addr, name);
	SBX(&r, "--net-allow", spec, "--", "cat", "/etc/hosts");
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "# pinned by mosctl");
	T_EXPECT_STR(r.out, line);
	/* the host's own lines follow, and the file stays read-only */
	SBX(&r, "--net-allow", spec, "--", "sh", "-c", "echo x >> /etc/hosts");
	T_ASSERT(r.status != 0);
	SBX(&r, "--", "cat", "/etc/hosts");
	T_EXPECT_NO_STR(r.out, "# pinned by mosctl");
}

TEST(net_allow_bad_specs_are_refused)
{
	static const struct {
		const char *spec, *named;
	} bad[] = {
		{ "80", "'80'" },	    { ":0", "'0'" },   { ":70000", "'70000'" },
		{ "[::1]80", "'[::1]80'" }, { ":", "''" },     { ":http", "http" },
		{ ":80,", "''" },	    { ":-1", "'-1'" }, { "127.0.0.1:", "''" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct t_result r;

		t_mosctl(&r, "run", "-s", "--net-allow", bad[i].spec, "--", "echo", "RAN", NULL);
		if (r.status != 125 || !strstr(r.err, "--net-allow") ||
		    !strstr(r.err, bad[i].named) || strstr(r.out, "RAN")) {
			t_dump(bad[i].spec, &r);
			t_fail("--net-allow '%s': expected exit 125 naming %s", bad[i].spec,
			       bad[i].named);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* TCP bind                                                                */
/* ---------------------------------------------------------------------- */

TEST(tcp_bind_only_to_net_bind_ports)
{
	struct t_result r;
	int p = free_port(), q = free_port();

	/*
	 * Landlock has no rule for listen(), which binds an unbound socket to
	 * an ephemeral port: --net-bind is only partly enforceable, so mosctl
	 * refuses it unless --allow-degraded accepts that (see the next test).
	 * The BPF LSM judges listen() itself: nothing to accept there.
	 */
	SBX(&r, "--net-bind", num(p), "--", PROBE(), "bind", num(p));
	if (t_bpf_lsm()) {
		expect_ok(&r, "bind to the --net-bind port (BPF LSM)");
	} else {
		T_EXPECT_EQ(r.status, 125);
		T_EXPECT_STR(r.err, "listen()");
		T_EXPECT_STR(r.err, "--allow-degraded");
	}

	SBX(&r, "--", PROBE(), "bind", num(p));
	expect_err(&r, "bind without --net-bind", "EACCES");
	SBX(&r, "--allow-degraded", "--net-bind", num(p), "--", PROBE(), "bind", num(p));
	expect_ok(&r, "bind to the --net-bind port");
	if (q != p) {
		SBX(&r, "--allow-degraded", "--net-bind", num(p), "--", PROBE(), "bind", num(q));
		expect_err(&r, "bind to another port", "EACCES");
	}
	/* Port 0 (the kernel chooses) is a port like any other: granted only by 0. */
	SBX(&r, "--allow-degraded", "--net-bind", num(p), "--", PROBE(), "bind", "0");
	expect_err(&r, "bind to port 0 with --net-bind P", "EACCES");
	SBX(&r, "--allow-degraded", "--net-bind", "0", "--", PROBE(), "bind", "0");
	expect_ok(&r, "bind to port 0 with --net-bind 0");
	SBX(&r, "--allow-degraded", "--net-bind", "0", "--", PROBE(), "bind", num(p));
	expect_err(&r, "bind to port P with --net-bind 0", "EACCES");
	if (have_ipv6()) {
		SBX(&r, "--", NP(), "bind6", num(p));
		expect_err(&r, "bind [::1] without --net-bind", "EACCES");
		SBX(&r, "--allow-degraded", "--net-bind", num(p), "--", NP(), "bind6", num(p));
		expect_ok(&r, "bind [::1] to the --net-bind port");
	}
	/* Connecting is a different right: --net-bind does not grant it. */
	{
		int lp = tcp_listener_or_fail(AF_INET, &p);

		SBX(&r, "--allow-degraded", "--net-bind", num(p), "--", NP(), "send", "127.0.0.1",
		    num(p), "x");
		expect_err(&r, "connect with only --net-bind", "EACCES");
		expect_no_connection(lp, "connect with only --net-bind");
		close(lp);
	}
	t_mosctl(&r, "run", "-s", "--net-bind", "70000", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "70000");
	t_mosctl(&r, "run", "-s", "--net-bind", "http", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
	t_mosctl(&r, "run", "-s", "--net-bind", "-1", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
}

/*
 * listen() on a socket that was never bound makes the kernel bind it to an
 * ephemeral port, which Landlock's bind rule does not see: a listening port
 * nobody granted, reachable from outside.  Without --net-bind, seccomp
 * refuses listen() altogether; with it, mosctl says the rule is only partly
 * enforceable and runs only with --allow-degraded, printing the gap.  The
 * BPF LSM refuses that listen() itself, with or without --net-bind.
 */
TEST(listen_without_bind_gets_no_port)
{
	struct t_result r;
	int p = free_port();

	SBX(&r, "--", NP(), "listen");
	expect_any_err(&r, "listen() on an unbound socket, no --net-bind");
	if (t_bpf_lsm()) {
		SBX(&r, "--net-bind", num(p), "--", NP(), "listen");
		expect_any_err(&r, "listen() on an unbound socket with --net-bind (BPF LSM)");
		T_EXPECT_NO_STR(r.err, "only partly enforced");
		SBX(&r, "--net-bind", num(p), "--", PROBE(), "bind", num(p));
		expect_ok(&r, "bind to the --net-bind port (BPF LSM)");
		return;
	}
	SBX(&r, "--net-bind", num(p), "--", NP(), "listen");
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "listen()");
	T_EXPECT_NO_STR(r.out, "ok");
	SBX(&r, "--allow-degraded", "--net-bind", num(p), "--", PROBE(), "bind", num(p));
	expect_ok(&r, "bind to the --net-bind port with --allow-degraded");
	T_EXPECT_STR(r.err, "only partly enforced");
	T_EXPECT_STR(r.err, "listen()");
}

/* ---------------------------------------------------------------------- */
/* Connect by other ways than connect(2)                                   */
/* ---------------------------------------------------------------------- */

/*
 * TCP Fast Open connects inside sendto()/sendmsg(MSG_FASTOPEN): the same
 * port rules must hold.
 */
TEST(tcp_fast_open_follows_connect_rules)
{
	struct t_result r;
	char allow[32];
	int p, lp = tcp_listener_or_fail(AF_INET, &p);

	SBX(&r, "--", NP(), "fastopen", "127.0.0.1", num(p), "tfo-sendto");
	expect_no_connection(lp, "sendto(MSG_FASTOPEN) without --net-allow");
	expect_any_err(&r, "sendto(MSG_FASTOPEN) without --net-allow");
	SBX(&r, "--", NP(), "fastopen-msg", "127.0.0.1", num(p), "tfo-sendmsg");
	expect_no_connection(lp, "sendmsg(MSG_FASTOPEN) without --net-allow");
	expect_any_err(&r, "sendmsg(MSG_FASTOPEN) without --net-allow");
	/* With the port allowed, whatever Fast Open does must not break it. */
	snprintf(allow, sizeof(allow), ":%d", p);
	SBX(&r, "--net-allow", allow, "--", NP(), "send", "127.0.0.1", num(p), "plain");
	expect_ok(&r, "plain connect to the allowed port");
	expect_connection(lp, "plain connect to the allowed port", "plain");
	close(lp);
}

TEST(io_uring_is_denied)
{
	struct t_result r;
	int p, lp = tcp_listener_or_fail(AF_INET, &p);

	SBX(&r, "--", NP(), "uring");
	expect_err(&r, "io_uring_setup", "EPERM");
	SBX(&r, "--", NP(), "uring-connect", "127.0.0.1", num(p));
	expect_any_err(&r, "connect through io_uring");
	expect_no_connection(lp, "connect through io_uring");
	close(lp);
}

/* ---------------------------------------------------------------------- */
/* Socket types and families                                               */
/* ---------------------------------------------------------------------- */

TEST(udp_only_with_allow_udp)
{
	struct t_result r;
	int port, fd = udp_socket(&port);

	SBX(&r, "--", PROBE(), "socket", "2", "2", "0");
	expect_err(&r, "UDP socket by default", "EACCES");
	SBX(&r, "--", PROBE(), "socket", "10", "2", "0");
	expect_err(&r, "UDPv6 socket by default", "EACCES");
	SBX(&r, "--", PROBE(), "socket", "2", "2", "17");
	expect_err(&r, "UDP socket, IPPROTO_UDP", "EACCES");
	SBX(&r, "--", PROBE(), "socket", "2", "2050", "0"); /* SOCK_DGRAM|SOCK_NONBLOCK */
	expect_err(&r, "UDP socket with SOCK_NONBLOCK", "EACCES");
	SBX(&r, "--", NP(), "udp-send", "127.0.0.1", num(port), "udp-denied");
	expect_err(&r, "UDP send by default", "EACCES");
	T_EXPECT_EQ(strlen(recv_datagram(fd, 200)), 0);

	SBX(&r, "--allow-udp", "--", PROBE(), "socket", "2", "2", "0");
	expect_ok(&r, "UDP socket with --allow-udp");
	SBX(&r, "--allow-udp", "--", NP(), "udp-send", "127.0.0.1", num(port), "udp-allowed");
	expect_ok(&r, "UDP send with --allow-udp");
	T_EXPECT_STR(recv_datagram(fd, 2000), "udp-allowed");
	/* --allow-udp is not a TCP grant. */
	{
		int p, lp = tcp_listener_or_fail(AF_INET, &p);

		SBX(&r, "--allow-udp", "--", NP(), "send", "127.0.0.1", num(p), "x");
		expect_err(&r, "TCP connect with only --allow-udp", "EACCES");
		expect_no_connection(lp, "TCP connect with only --allow-udp");
		close(lp);
	}
	close(fd);
}

TEST(icmp_and_raw_sockets_denied_even_with_allow_udp)
{
	static const char *const socks[][3] = {
		{ "2", "2", "1" },    /* ICMP "ping" socket */
		{ "10", "2", "58" },  /* ICMPv6 ping socket */
		{ "2", "3", "1" },    /* raw ICMP */
		{ "2", "3", "255" },  /* raw IP */
		{ "2", "3", "6" },    /* raw TCP */
		{ "10", "3", "58" },  /* raw ICMPv6 */
		{ "2", "5", "0" },    /* SOCK_SEQPACKET */
		{ "2", "4", "0" },    /* SOCK_RDM */
		{ "2", "10", "0" },   /* SOCK_PACKET */
		{ "2", "2049", "1" }, /* SOCK_RAW|SOCK_NONBLOCK: type 3 under flags */
		{ "2", "1", "132" },  /* SCTP one-to-one: a stream socket Landlock ignores */
		{ "10", "1", "132" }, /* SCTPv6 */
		{ "2", "5", "132" },  /* SCTP one-to-many */
	};

	for (size_t i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
		for (int udp = 0; udp < 2; udp++) {
			struct t_result r;
			char what[96];

			snprintf(what, sizeof(what), "socket(%s, %s, %s)%s", socks[i][0],
				 socks[i][1], socks[i][2], udp ? " with --allow-udp" : "");
			if (udp)
				SBX(&r, "--allow-udp", "--", PROBE(), "socket", socks[i][0],
				    socks[i][1], socks[i][2]);
			else
				SBX(&r, "--", PROBE(), "socket", socks[i][0], socks[i][1],
				    socks[i][2]);
			expect_any_err(&r, what);
		}
	}
}

/*
 * socket()'s arguments are ints: bits above 31 reach a seccomp filter but
 * not the kernel.  They must not turn a denied socket into an allowed one.
 */
TEST(socket_argument_high_bits_do_not_bypass)
{
	static const char *const socks[][3] = {
		{ "0x100000002", "3", "1" },  /* raw, family with high bits */
		{ "2", "0x100000003", "1" },  /* raw, type with high bits */
		{ "0x100000011", "3", "0" },  /* AF_PACKET with high bits */
		{ "0x100000001", "1", "0" },  /* AF_UNIX with high bits */
		{ "0x100000010", "3", "9" },  /* netlink audit */
		{ "16", "3", "0x100000009" }, /* netlink audit, proto high bits */
		{ "2", "2", "0x100000000" },  /* UDP */
	};

	struct t_result r;

	for (size_t i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
		char what[96];

		snprintf(what, sizeof(what), "socket(%s, %s, %s)", socks[i][0], socks[i][1],
			 socks[i][2]);
		SBX(&r, "--", NP(), "rawsocket", socks[i][0], socks[i][1], socks[i][2]);
		expect_any_err(&r, what);
	}
	/* ICMP stays off with --allow-udp, high bits or not. */
	SBX(&r, "--allow-udp", "--", NP(), "rawsocket", "2", "2", "0x100000001");
	expect_any_err(&r, "ICMP socket, protocol high bits, --allow-udp");
	SBX(&r, "--allow-udp", "--", NP(), "rawsocket", "10", "2", "0x10000003a");
	expect_any_err(&r, "ICMPv6 socket, protocol high bits, --allow-udp");
}

TEST(mptcp_socket_denied)
{
	struct t_result r;

	SBX(&r, "--", PROBE(), "socket", "2", "1", "262");
	expect_err(&r, "MPTCP socket", "EACCES");
	SBX(&r, "--", PROBE(), "socket", "10", "1", "262");
	expect_err(&r, "MPTCPv6 socket", "EACCES");
	SBX(&r, "--", PROBE(), "socket", "2", "526337", "262"); /* |SOCK_CLOEXEC */
	expect_err(&r, "MPTCP socket with SOCK_CLOEXEC", "EACCES");
	/* Plain TCP with an explicit protocol still works (and is filtered). */
	SBX(&r, "--", PROBE(), "socket", "2", "1", "6");
	expect_ok(&r, "TCP socket, IPPROTO_TCP");
}

/*
 * Landlock's TCP rules do not apply to MPTCP sockets, so only the socket()
 * filter keeps MPTCP out.  A protocol of (1 << 32) | 262 is 262 to the
 * kernel: it must be refused too, and the listener must see nothing.
 */
TEST(mptcp_high_bits_do_not_bypass)
{
	struct t_result r;
	int p, lp = tcp_listener_or_fail(AF_INET, &p);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);

	if (fd < 0)
		t_note("MPTCP sockets unavailable outside too (%s): checking refusal only",
		       strerrorname_np(errno));
	else
		close(fd);
	SBX(&r, "--", NP(), "socket-send", "2", "1", "0x100000106", "127.0.0.1", num(p),
	    "mptcp-escape");
	expect_no_connection(lp, "MPTCP socket with protocol high bits");
	expect_any_err(&r, "MPTCP socket with protocol high bits");
	if (have_ipv6()) {
		int p6, l6 = tcp_listener_or_fail(AF_INET6, &p6);

		SBX(&r, "--", NP(), "socket-send", "10", "1", "0x100000106", "::1", num(p6),
		    "mptcp6-escape");
		expect_no_connection(l6, "MPTCPv6 socket with protocol high bits");
		expect_any_err(&r, "MPTCPv6 socket with protocol high bits");
		close(l6);
	}
	close(lp);
}

TEST(other_families_denied)
{
	static const char *const socks[][3] = {
		{ "17", "3", "0" },  /* AF_PACKET raw */
		{ "17", "2", "0" },  /* AF_PACKET dgram */
		{ "40", "1", "0" },  /* AF_VSOCK */
		{ "40", "2", "0" },  /* AF_VSOCK dgram */
		{ "38", "5", "0" },  /* AF_ALG */
		{ "44", "3", "0" },  /* AF_XDP */
		{ "15", "3", "2" },  /* AF_KEY */
		{ "31", "1", "3" },  /* AF_BLUETOOTH */
		{ "29", "3", "1" },  /* AF_CAN */
		{ "30", "5", "0" },  /* AF_TIPC */
		{ "21", "5", "0" },  /* AF_RDS */
		{ "4", "2", "0" },   /* AF_IPX */
		{ "5", "2", "0" },   /* AF_APPLETALK */
		{ "9", "2", "0" },   /* AF_X25 */
		{ "3", "2", "0" },   /* AF_AX25 */
		{ "42", "2", "0" },  /* AF_QIPCRTR */
		{ "45", "2", "0" },  /* AF_MCTP */
		{ "16", "3", "4" },  /* netlink sock_diag: lists every socket */
		{ "16", "3", "9" },  /* netlink audit */
		{ "16", "3", "12" }, /* netlink netfilter */
		{ "16", "2", "15" }, /* netlink uevents */
		{ "16", "3", "16" }, /* generic netlink */
		{ "16", "3", "10" }, /* netlink fib lookup */
	};
	struct t_result r;

	for (size_t i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
		char what[96];

		snprintf(what, sizeof(what), "socket(%s, %s, %s) with --allow-udp --allow-unix",
			 socks[i][0], socks[i][1], socks[i][2]);
		SBX(&r, "--allow-udp", "--allow-unix", UNIX_DEGRADED, "--", PROBE(), "socket",
		    socks[i][0], socks[i][1], socks[i][2]);
		expect_any_err(&r, what);
	}
	SBX(&r, "--", PROBE(), "socket", "17", "3", "0");
	expect_err(&r, "AF_PACKET", "EAFNOSUPPORT");
	SBX(&r, "--", PROBE(), "socket", "40", "1", "0");
	expect_err(&r, "AF_VSOCK", "EAFNOSUPPORT");
	/* Route netlink stays (interface lookups). */
	SBX(&r, "--", PROBE(), "socket", "16", "3", "0");
	expect_ok(&r, "netlink route");
}

/* ---------------------------------------------------------------------- */
/* Unix sockets                                                            */
/* ---------------------------------------------------------------------- */

TEST(unix_sockets_only_with_allow_unix)
{
	struct t_result r;

	SBX(&r, "--", PROBE(), "socket", "1", "1", "0");
	expect_err(&r, "AF_UNIX stream socket by default", "EAFNOSUPPORT");
	SBX(&r, "--", PROBE(), "socket", "1", "2", "0");
	expect_err(&r, "AF_UNIX datagram socket by default", "EAFNOSUPPORT");
	SBX(&r, "--", PROBE(), "socket", "1", "5", "0");
	expect_err(&r, "AF_UNIX seqpacket socket by default", "EAFNOSUPPORT");
	SBX(&r, "--", NP(), "socketpair");
	expect_ok(&r, "socketpair by default");
	SBX(&r, "--allow-unix", UNIX_DEGRADED, "--", PROBE(), "socket", "1", "1", "0");
	expect_ok(&r, "AF_UNIX socket with --allow-unix");
	SBX(&r, "--allow-unix", UNIX_DEGRADED, "--", NP(), "socketpair");
	expect_ok(&r, "socketpair with --allow-unix");
}

TEST(abstract_unix_sockets_are_scoped)
{
	struct t_result r;
	char name[64], buf[256];
	int ls, ds;
	char *ctl[] = { (char *)NP(), "unix-connect", name, NULL };

	if (t_supervised())
		t_skip("the supervisor does not scope abstract unix sockets (Landlock ABI 6 "
		       "does; with --backend unotify, --allow-unix needs --allow-degraded)");
	if (t_landlock_abi() < 6)
		t_skip("Landlock ABI %d < 6: no abstract unix socket scoping", t_landlock_abi());
	snprintf(name, sizeof(name), "mos-net-test-%d-%d", (int)getpid(), rand());
	ls = abstract_socket(SOCK_STREAM, name);
	ds = abstract_socket(SOCK_DGRAM, name);

	SBX(&r, "--allow-unix", "--", NP(), "unix-connect", name);
	expect_err(&r, "connect to an abstract socket outside", "EPERM");
	expect_no_connection(ls, "connect to an abstract socket outside");
	SBX(&r, "--allow-unix", "--", NP(), "unix-send", name, "unix-dgram-escape");
	expect_err(&r, "sendto an abstract socket outside", "EPERM");
	T_EXPECT_EQ(strlen(recv_datagram(ds, 100)), 0);
	SBX(&r, "--", NP(), "unix-connect", name);
	expect_any_err(&r, "connect to an abstract socket without --allow-unix");
	expect_no_connection(ls, "connect without --allow-unix");

	/* Control: the same helper, unconfined, reaches the listener. */
	t_run(&r, NULL, ctl);
	expect_ok(&r, "unconfined connect (control)");
	if (!t_accept_data(ls, 2000, buf, sizeof(buf)) || strcmp(buf, "unix-hello"))
		t_fail("control: the listener did not see the unconfined connection");
	close(ls);
	close(ds);
}
