// SPDX-License-Identifier: GPL-2.0-only
/*
 * abi_test - mosctl adapts to the Landlock ABI a kernel offers.
 *
 * MOS_LANDLOCK_ABI=N makes mosctl use at most ABI N, so the adaptation to
 * older kernels runs for real on this one: rules the lower ABI cannot
 * enforce are refused (exit 125) or, with --allow-degraded, run weakened as
 * printed; what the lower ABI can enforce still holds.
 */
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char *helpers(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s", t_helper("probe"));
	return dirname(buf);
}

/* Use at most ABI; skip when the kernel does not even have that. */
static void use_abi(int abi)
{
	char v[16];

	if (t_landlock_abi() < abi)
		t_skip("Landlock ABI %d needed, kernel has %d (CONFIG_SECURITY_LANDLOCK, lsm=)",
		       abi, t_landlock_abi());
	snprintf(v, sizeof(v), "%d", abi);
	setenv("MOS_LANDLOCK_ABI", v, 1);
}

static int listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		t_fail("listener: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

TEST(check_reports_the_abi_in_use)
{
	struct t_result r;

	use_abi(3);
	t_mosctl(&r, "check", "-s", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "Landlock ABI 3");
	T_EXPECT_STR(r.out, "ioctl on devices is not filtered");
}

TEST(file_rules_hold_at_abi_1)
{
	struct t_result r;

	use_abi(1);
	t_write_file(t_path("pub"), "pub-data");
	mkdir(t_path("no"), 0755);
	t_write_file(t_path("no/secret"), "abi1-secret-5e1f");
	t_mosctl(&r, "run", "-s", "-r", helpers(), "-r", t_path("pub"), "--", t_helper("probe"),
		 "read", t_path("pub"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok pub-data");
	t_mosctl(&r, "run", "-s", "-r", helpers(), "-r", t_path("pub"), "--", t_helper("probe"),
		 "read", t_path("no/secret"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "err EACCES");
	T_EXPECT_NO_STR(r.out, "abi1-secret-5e1f");
}

TEST(abi_1_refuses_moving_files_between_directories)
{
	struct t_result r;

	use_abi(1);
	mkdir(t_path("w"), 0755);
	mkdir(t_path("w/sub"), 0755);
	t_write_file(t_path("w/f"), "f");
	/* Landlock ABI 1 cannot grant reparenting: EXDEV, the file stays. */
	t_mosctl(&r, "run", "-s", "-r", helpers(), "-w", t_path("w"), "--", t_helper("probe"),
		 "rename", t_path("w/f"), t_path("w/sub/f"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "err EXDEV");
	T_ASSERT(access(t_path("w/f"), F_OK) == 0);
	/* Within one directory it works. */
	t_mosctl(&r, "run", "-s", "-r", helpers(), "-w", t_path("w"), "--", t_helper("probe"),
		 "rename", t_path("w/f"), t_path("w/g"), NULL);
	T_EXPECT_STR(r.out, "ok");
	T_ASSERT(access(t_path("w/g"), F_OK) == 0);
}

TEST(abi_2_refuses_read_only_rules_inside_writable_trees)
{
	struct t_result r;

	use_abi(2);
	mkdir(t_path("w"), 0755);
	mkdir(t_path("w/ro"), 0755);
	t_write_file(t_path("w/ro/f"), "keep-me");
	t_write_file(t_path("outside"), "keep-me-too");
	/* Truncate cannot be refused inside a writable tree before ABI 3. */
	t_mosctl(&r, "run", "-s", "-w", t_path("w"), "-r", t_path("w/ro"), "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "ABI 3");
	/* Outside the writable trees the read-only mounts refuse it. */
	t_mosctl(&r, "run", "-s", "-r", helpers(), "-w", t_path("w"), "-r", t_path("outside"), "--",
		 t_helper("probe"), "truncate", t_path("outside"), "0", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "err EROFS");
	{
		struct stat st;

		T_ASSERT(stat(t_path("outside"), &st) == 0 && st.st_size == 11);
	}
}

TEST(abi_3_has_no_tcp_rules)
{
	struct t_result r;
	char allow[32], port_s[16];
	int port, fd = listener(&port);

	use_abi(3);
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(allow, sizeof(allow), ":%d", port);
	/* No port rules possible: no IP socket at all. */
	t_mosctl(&r, "run", "-s", "-r", helpers(), "--", t_helper("probe"), "connect", "127.0.0.1",
		 port_s, NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "err EAFNOSUPPORT");
	/* A port rule cannot be enforced: refused, or run with every port open. */
	t_mosctl(&r, "run", "-s", "-r", helpers(), "--net-allow", allow, "--", t_helper("probe"),
		 "connect", "127.0.0.1", port_s, NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "ABI 4");
	t_mosctl(&r, "run", "-s", "-r", helpers(), "--allow-degraded", "--net-allow", allow, "--",
		 t_helper("probe"), "connect", "127.0.0.1", port_s, NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.err, "only partly enforced");
	T_EXPECT_STR(r.out, "ok");
	close(fd);
}

TEST(abi_5_cannot_scope_abstract_unix_sockets)
{
	struct t_result r;

	use_abi(5);
	t_mosctl(&r, "run", "-s", "--allow-unix", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "abstract unix");
	t_mosctl(&r, "check", "-s", NULL);
	T_EXPECT_STR(r.out, "pid namespace");
}

TEST(abi_5_signals_still_stay_inside)
{
	struct t_result r;
	char pid_s[16];
	pid_t victim;
	int st;

	use_abi(5);
	victim = fork();
	if (victim == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	snprintf(pid_s, sizeof(pid_s), "%d", (int)victim);
	/* Without Landlock's signal scope, the pid namespace keeps it out of reach. */
	t_mosctl(&r, "run", "-s", "--", "kill", "-KILL", pid_s, NULL);
	T_ASSERT(r.status != 0);
	T_EXPECT_EQ(waitpid(victim, &st, WNOHANG), 0);
	kill(victim, SIGKILL);
	waitpid(victim, &st, 0);
}
