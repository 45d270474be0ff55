// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_policy.c - the policy model (userspace/policy/policy.c) and the JSON
 * policy file (userspace/policy/policy_json.c): rule normalization, endpoint
 * and port parsing, the environment, every key of the schema, and errors
 * that name FILE:LINE:COL.  Files are only created in a mkdtemp directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* (so that this file builds against a tree without the bounds, to show it fails there) */
#ifndef MOS_POLICY_MAX_BYTES
#define MOS_POLICY_MAX_BYTES (1U << 20)
#endif
#ifndef MOS_POLICY_MAX_ENTRIES
#define MOS_POLICY_MAX_ENTRIES 65536
#endif
#ifndef MOS_POLICY_MAX_NET_ALLOW
#define MOS_POLICY_MAX_NET_ALLOW 4096
#endif

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

/* ---- policy_add_fs -------------------------------------------------------- */

static void test_add_fs(void **state)
{
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	policy_init(&p);
	assert_int_equal(policy_add_fs(&p, "/home/u", "src", MOS_FS_READ | MOS_FS_EXEC,
				       false, "--read", &e), 0);
	assert_int_equal(policy_add_fs(&p, "/home/u", "../x", MOS_FS_ALL, false,
				       "--write", &e), 0);
	assert_int_equal(policy_add_fs(&p, "/home/u/", "a//b/./c/..", MOS_FS_READ, false,
				       "o", &e), 0);
	assert_int_equal(policy_add_fs(&p, "/home/u", "//etc//ssl/", MOS_FS_READ, false,
				       "o", &e), 0);
	assert_int_equal(policy_add_fs(&p, "/home/u", "/../../etc/..", MOS_FS_READ, false,
				       "o", &e), 0);
	/* a deny rule grants nothing, whatever access is passed */
	assert_int_equal(policy_add_fs(&p, "/home/u", "secret", MOS_FS_ALL, true,
				       "--deny", &e), 0);
	/* unknown access bits are dropped */
	assert_int_equal(policy_add_fs(&p, "/", "tmp", 0xffffffffu, false, "o", &e), 0);
	assert_int_equal(p.nfs, 7);

	assert_string_equal(p.fs[0].path, "/home/u/src");
	assert_int_equal(p.fs[0].access, MOS_FS_READ | MOS_FS_EXEC);
	assert_false(p.fs[0].deny);
	assert_false(p.fs[0].optional);
	assert_string_equal(p.fs[0].origin.text, "--read");
	assert_string_equal(p.fs[1].path, "/home/x");
	assert_int_equal(p.fs[1].access, MOS_FS_ALL);
	assert_string_equal(p.fs[1].origin.text, "--write");
	assert_string_equal(p.fs[2].path, "/home/u/a/b");
	assert_string_equal(p.fs[3].path, "/etc/ssl");
	assert_string_equal(p.fs[4].path, "/");
	assert_string_equal(p.fs[5].path, "/home/u/secret");
	assert_true(p.fs[5].deny);
	assert_int_equal(p.fs[5].access, 0);
	assert_string_equal(p.fs[6].path, "/tmp");
	assert_int_equal(p.fs[6].access, MOS_FS_ALL);
	policy_free(&p);
	assert_int_equal(p.nfs, 0);
	assert_null(p.fs);
}

static void test_add_fs_cwd(void **state)
{
	char cwd[PATH_MAX], want[PATH_MAX + 8];
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/rel", strcmp(cwd, "/") ? cwd : "");
	policy_init(&p);
	assert_int_equal(policy_add_fs(&p, NULL, "./rel/", MOS_FS_READ, false, "--read",
				       &e), 0);
	assert_string_equal(p.fs[0].path, want);
	policy_free(&p);
}

static void test_add_fs_errors(void **state)
{
	struct mos_policy p;
	struct mos_err e = { "" };
	char *longp;

	(void)state;
	policy_init(&p);
	assert_int_equal(policy_add_fs(&p, "/", "", MOS_FS_READ, false, "--read", &e),
			 -EINVAL);
	assert_contains(e.msg, "--read");
	assert_contains(e.msg, "empty path");
	e.msg[0] = '\0';
	assert_int_equal(policy_add_fs(&p, "/", NULL, MOS_FS_READ, false, "--deny", &e),
			 -EINVAL);
	assert_contains(e.msg, "--deny");
	longp = malloc(5000);
	assert_non_null(longp);
	memset(longp, 'a', 4999);
	longp[0] = '/';
	longp[4999] = '\0';
	assert_int_equal(policy_add_fs(&p, "/", longp, MOS_FS_READ, false, "--write", &e),
			 -EINVAL);
	assert_contains(e.msg, "--write");
	free(longp);
	assert_int_equal(p.nfs, 0);
	/* a NULL error sink is allowed */
	assert_int_equal(policy_add_fs(&p, "/", "", MOS_FS_READ, false, "x", NULL), -EINVAL);
	policy_free(&p);
}

/* ---- policy_add_net_allow ----------------------------------------------------- */

static void test_net_allow(void **state)
{
	struct mos_policy p;
	struct mos_err e = { "" };
	char spec[64 * 6 + 16];
	size_t n;

	(void)state;
	policy_init(&p);
	assert_int_equal(policy_add_net_allow(&p, ":443", "--net-allow", &e), 0);
	assert_int_equal(policy_add_net_allow(&p, "*:443", "--net-allow", &e), 0);
	assert_int_equal(policy_add_net_allow(&p, "example.org:80,443", "o", &e), 0);
	assert_int_equal(policy_add_net_allow(&p, "[::1]:80", "o", &e), 0);
	assert_int_equal(policy_add_net_allow(&p, "10.0.0.1:1,65535", "o", &e), 0);
	assert_int_equal(policy_add_net_allow(&p, "[2001:db8::1]:8080,8443", "o", &e), 0);
	assert_int_equal(policy_add_net_allow(&p, "my_host-1.example:22", "o", &e), 0);
	assert_int_equal(p.nnet_allow, 7);

	assert_null(p.net_allow[0].host);
	assert_int_equal(p.net_allow[0].nports, 1);
	assert_int_equal(p.net_allow[0].ports[0], 443);
	assert_string_equal(p.net_allow[0].origin.text, "--net-allow");
	assert_null(p.net_allow[1].host);
	assert_int_equal(p.net_allow[1].ports[0], 443);
	assert_string_equal(p.net_allow[2].host, "example.org");
	assert_int_equal(p.net_allow[2].nports, 2);
	assert_int_equal(p.net_allow[2].ports[0], 80);
	assert_int_equal(p.net_allow[2].ports[1], 443);
	assert_string_equal(p.net_allow[3].host, "::1");
	assert_int_equal(p.net_allow[3].nports, 1);
	assert_int_equal(p.net_allow[3].ports[0], 80);
	assert_string_equal(p.net_allow[4].host, "10.0.0.1");
	assert_int_equal(p.net_allow[4].ports[0], 1);
	assert_int_equal(p.net_allow[4].ports[1], 65535);
	assert_string_equal(p.net_allow[5].host, "2001:db8::1");
	assert_int_equal(p.net_allow[5].nports, 2);
	assert_int_equal(p.net_allow[5].ports[1], 8443);
	assert_string_equal(p.net_allow[6].host, "my_host-1.example");

	/* exactly MOS_NET_MAX_PORTS ports */
	n = (size_t)snprintf(spec, sizeof(spec), "h");
	for (int i = 0; i < MOS_NET_MAX_PORTS; i++)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%c%d", i ? ',' : ':',
				      1000 + i);
	assert_int_equal(policy_add_net_allow(&p, spec, "o", &e), 0);
	assert_int_equal(p.net_allow[7].nports, MOS_NET_MAX_PORTS);
	assert_int_equal(p.net_allow[7].ports[MOS_NET_MAX_PORTS - 1],
			 1000 + MOS_NET_MAX_PORTS - 1);
	policy_free(&p);
	assert_int_equal(p.nnet_allow, 0);
}

static void test_net_allow_errors(void **state)
{
	static const struct {
		const char *spec;
		const char *msg;
	} cases[] = {
		{ "", "empty" },
		{ "example.org", "missing port" },
		{ "443", "missing port" },
		{ "example.org:", "not a port number" },
		{ ":", "not a port number" },
		{ "h:0", "'0' is not a port number" },
		{ "h:65536", "'65536' is not a port number" },
		{ "h:99999999", "not a port number" },
		{ "h:-1", "not a port number" },
		{ "h:+80", "not a port number" },
		{ "h:80a", "not a port number" },
		{ "h:http", "not a port number" },
		{ "h: 80", "not a port number" },
		{ "h:80,", "not a port number" },
		{ "h:,80", "not a port number" },
		{ "h:80,,81", "not a port number" },
		{ "h:80,0", "'0' is not a port number" },
		{ "a:b:80", "brackets" },
		{ "::1:80", "brackets" },
		{ "[::1]80", "[IPV6]:PORT" },
		{ "[::1]", "[IPV6]:PORT" },
		{ "[::1:80", "[IPV6]:PORT" },
		{ "[::1]:", "not a port number" },
		{ "[::1]:0", "not a port number" },
		{ "exa$mple.org:80", "not a valid host" },
		{ "a b:80", "not a valid host" },
		{ "a/b:80", "not a valid host" },
		{ "h\xc3\xa9:80", "not a valid host" },
		{ "[a b]:80", "IPv6 address" },
	};
	struct mos_policy p;

	(void)state;
	policy_init(&p);
	for (size_t i = 0; i < N(cases); i++) {
		struct mos_err e = { "" };
		int r = policy_add_net_allow(&p, cases[i].spec, "--net-allow", &e);

		if (r != -EINVAL || !strstr(e.msg, cases[i].msg) ||
		    strncmp(e.msg, "--net-allow: ", 13))
			fail_msg("\"%s\": r=%d \"%s\" (expected -EINVAL and \"%s\")",
				 cases[i].spec, r, e.msg, cases[i].msg);
	}
	assert_int_equal(p.nnet_allow, 0);
	policy_free(&p);
}

static void test_net_allow_too_many_ports(void **state)
{
	char spec[(MOS_NET_MAX_PORTS + 1) * 6 + 16];
	struct mos_policy p;
	struct mos_err e = { "" };
	size_t n;

	(void)state;
	policy_init(&p);
	n = (size_t)snprintf(spec, sizeof(spec), "host.example");
	for (int i = 0; i < MOS_NET_MAX_PORTS + 1; i++)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, "%c%d", i ? ',' : ':',
				      2000 + i);
	assert_int_equal(policy_add_net_allow(&p, spec, "--net-allow", &e), -EINVAL);
	assert_contains(e.msg, "--net-allow");
	assert_contains(e.msg, "more than 64 ports");
	assert_int_equal(p.nnet_allow, 0);
	policy_free(&p);
}

/*
 * "[]:80" is neither "[V6ADDR]:PORT" nor ":PORT": an empty address in
 * brackets must not silently become "any host".
 */
static void test_net_allow_empty_brackets(void **state)
{
	static const char *const bad[] = { "[]:80", "[]:443,8443" };
	size_t bad_n = 0;

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		struct mos_policy p;
		struct mos_err e = { "" };
		int r;

		policy_init(&p);
		r = policy_add_net_allow(&p, bad[i], "--net-allow", &e);
		if (r != -EINVAL || !strstr(e.msg, "--net-allow")) {
			print_message("# \"%s\": r=%d (%zu rules, host %s) \"%s\"\n", bad[i], r,
				      p.nnet_allow,
				      p.nnet_allow && p.net_allow[0].host ?
					      p.net_allow[0].host :
					      "NULL = any host",
				      e.msg);
			bad_n++;
		}
		policy_free(&p);
	}
	assert_int_equal(bad_n, 0);
}

/* ---- policy_add_net_bind ---------------------------------------------------- */

static void test_net_bind(void **state)
{
	static const char *const bad[] = { "", "65536", "-1", "+1", "80a", "0x50", " 80",
					   "8080,8081", "99999999999" };
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	policy_init(&p);
	assert_int_equal(policy_add_net_bind(&p, "0", "--net-bind", &e), 0);
	assert_int_equal(policy_add_net_bind(&p, "8080", "--net-bind", &e), 0);
	assert_int_equal(policy_add_net_bind(&p, "65535", "--net-bind", &e), 0);
	assert_int_equal(policy_add_net_bind(&p, "08080", "--net-bind", &e), 0);
	assert_int_equal(p.nnet_bind, 4);
	assert_int_equal(p.net_bind[0], 0);
	assert_int_equal(p.net_bind[1], 8080);
	assert_int_equal(p.net_bind[2], 65535);
	assert_int_equal(p.net_bind[3], 8080);
	for (size_t i = 0; i < N(bad); i++) {
		e.msg[0] = '\0';
		if (policy_add_net_bind(&p, bad[i], "--net-bind", &e) != -EINVAL)
			fail_msg("--net-bind \"%s\" accepted", bad[i]);
		assert_contains(e.msg, "--net-bind");
		assert_contains(e.msg, "not a port number");
	}
	assert_int_equal(policy_add_net_bind(&p, NULL, "--net-bind", &e), -EINVAL);
	assert_int_equal(p.nnet_bind, 4);
	policy_free(&p);
}

/* ---- policy_add_env ------------------------------------------------------- */

static void test_env(void **state)
{
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	policy_init(&p);
	assert_int_equal(policy_add_env(&p, "AB=1", "--env", &e), 0);
	assert_int_equal(policy_add_env(&p, "A=2", "--env", &e), 0);
	assert_int_equal(policy_add_env(&p, "C=x=y", "--env", &e), 0);
	assert_int_equal(policy_add_env(&p, "EMPTY=", "--env", &e), 0);
	assert_int_equal(p.nenv_set, 4);
	/* a later KEY replaces the earlier one in place; AB is not A */
	assert_int_equal(policy_add_env(&p, "A=3", "--env", &e), 0);
	assert_int_equal(policy_add_env(&p, "AB=", "--env", &e), 0);
	assert_int_equal(p.nenv_set, 4);
	assert_string_equal(p.env_set[0], "AB=");
	assert_string_equal(p.env_set[1], "A=3");
	assert_string_equal(p.env_set[2], "C=x=y");
	assert_string_equal(p.env_set[3], "EMPTY=");
	assert_null(p.env_set[4]);

	assert_int_equal(policy_add_env(&p, "NOEQUALS", "--env", &e), -EINVAL);
	assert_contains(e.msg, "--env");
	assert_contains(e.msg, "KEY=VALUE");
	assert_int_equal(policy_add_env(&p, "=value", "--env", &e), -EINVAL);
	assert_contains(e.msg, "'=value'");
	assert_int_equal(policy_add_env(&p, "", "--env", &e), -EINVAL);
	assert_int_equal(policy_add_env(&p, NULL, "--env", &e), -EINVAL);
	assert_int_equal(p.nenv_set, 4);
	policy_free(&p);
	assert_null(p.env_set);
}

static void test_access_names(void **state)
{
	(void)state;
	assert_string_equal(policy_access_name(0), "none");
	assert_string_equal(policy_access_name(MOS_FS_READ), "read");
	assert_string_equal(policy_access_name(MOS_FS_EXEC), "exec");
	assert_string_equal(policy_access_name(MOS_FS_READ | MOS_FS_EXEC), "read+exec");
	assert_string_equal(policy_access_name(MOS_FS_WRITE), "write");
	assert_string_equal(policy_access_name(MOS_FS_READ | MOS_FS_WRITE), "read+write");
	assert_string_equal(policy_access_name(MOS_FS_EXEC | MOS_FS_WRITE), "exec+write");
	assert_string_equal(policy_access_name(MOS_FS_ALL), "read+exec+write");
	assert_string_equal(policy_access_name(MOS_FS_READ | 0x100), "read");
}

static void test_builtin_lists(void **state)
{
	const char *const *const lists[] = { mos_system_read_paths, mos_system_deny_paths,
					     mos_always_rw_devices, mos_always_ro_devices };

	(void)state;
	for (size_t l = 0; l < N(lists); l++) {
		size_t n = 0;

		for (const char *const *s = lists[l]; *s; s++, n++) {
			char *norm = path_join_normalize("/", *s);

			/* absolute and already normalized */
			assert_string_equal(norm, *s);
			free(norm);
		}
		assert_true(n > 0);
	}
	/* the secrets withheld by --system lie beneath a granted path */
	for (const char *const *d = mos_system_deny_paths; *d; d++) {
		bool covered = false;

		for (const char *const *r = mos_system_read_paths; *r; r++)
			covered |= path_is_beneath(*d, *r);
		assert_true(covered);
	}
}

/* ---- policy_load_buffer ------------------------------------------------------- */

static int load(struct mos_policy *p, const char *json, const char *base,
		struct mos_err *e)
{
	size_t len = strlen(json);
	char *buf = malloc(len ? len : 1);
	int r;

	assert_non_null(buf);
	memcpy(buf, json, len);
	r = policy_load_buffer(p, buf, len, "p.json", base, e);
	free(buf);
	return r;
}

static void test_load_full(void **state)
{
	static const char doc[] =
		"{\n"
		"  \"fs\": {\"read\": [\"src\", \"/usr/../usr/lib/\"], \"write\": [\"out\"],\n"
		"         \"deny\": [\"src/secret\"], \"system\": true},\n"
		"  \"net\": {\"allow\": [\":443\", \"example.org:80,8080\", \"[::1]:22\"],\n"
		"          \"bind\": [0, 8080], \"udp\": true, \"unix\": true},\n"
		"  \"limits\": {\"memory\": \"256M\", \"procs\": 64, \"timeout\": 1.5,\n"
		"             \"open_files\": 256, \"cpu\": 10},\n"
		"  \"env\": {\"clean\": true, \"set\": {\"CC\": \"gcc\", \"EMPTY\": \"\"}},\n"
		"  \"cwd\": \"work/..\"\n"
		"}\n";
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	policy_init(&p);
	if (load(&p, doc, "/etc/mos", &e) != 0)
		fail_msg("load failed: %s", e.msg);

	assert_int_equal(p.nfs, 4);
	assert_string_equal(p.fs[0].path, "/etc/mos/src");
	assert_int_equal(p.fs[0].access, MOS_FS_READ | MOS_FS_EXEC);
	assert_false(p.fs[0].deny);
	assert_string_equal(p.fs[0].origin.text, "p.json:2:19");
	assert_string_equal(p.fs[1].path, "/usr/lib");
	assert_int_equal(p.fs[1].access, MOS_FS_READ | MOS_FS_EXEC);
	assert_string_equal(p.fs[1].origin.text, "p.json:2:26");
	assert_string_equal(p.fs[2].path, "/etc/mos/out");
	assert_int_equal(p.fs[2].access, MOS_FS_ALL);
	assert_string_equal(p.fs[2].origin.text, "p.json:2:57");
	assert_string_equal(p.fs[3].path, "/etc/mos/src/secret");
	assert_true(p.fs[3].deny);
	assert_int_equal(p.fs[3].access, 0);
	assert_string_equal(p.fs[3].origin.text, "p.json:3:19");
	assert_true(p.fs_system);

	assert_int_equal(p.nnet_allow, 3);
	assert_null(p.net_allow[0].host);
	assert_int_equal(p.net_allow[0].nports, 1);
	assert_int_equal(p.net_allow[0].ports[0], 443);
	assert_string_equal(p.net_allow[0].origin.text, "p.json:4:21");
	assert_string_equal(p.net_allow[1].host, "example.org");
	assert_int_equal(p.net_allow[1].nports, 2);
	assert_int_equal(p.net_allow[1].ports[0], 80);
	assert_int_equal(p.net_allow[1].ports[1], 8080);
	assert_string_equal(p.net_allow[2].host, "::1");
	assert_int_equal(p.net_allow[2].ports[0], 22);
	assert_int_equal(p.nnet_bind, 2);
	assert_int_equal(p.net_bind[0], 0);
	assert_int_equal(p.net_bind[1], 8080);
	assert_true(p.allow_udp);
	assert_true(p.allow_unix);

	assert_int_equal(p.limits.memory, 256ULL << 20);
	assert_int_equal(p.limits.procs, 64);
	assert_int_equal(p.limits.timeout_ms, 1500);
	assert_int_equal(p.limits.open_files, 256);
	assert_int_equal(p.limits.cpu_s, 10);

	assert_true(p.env_clean);
	assert_int_equal(p.nenv_set, 2);
	assert_string_equal(p.env_set[0], "CC=gcc");
	assert_string_equal(p.env_set[1], "EMPTY=");
	assert_null(p.env_set[2]);

	assert_string_equal(p.cwd, "/etc/mos");
	policy_free(&p);
}

static void test_load_empty_and_defaults(void **state)
{
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	policy_init(&p);
	assert_int_equal(load(&p, "{}", "/", &e), 0);
	assert_int_equal(load(&p, " {\"fs\": {}, \"net\": {}, \"limits\": {}, \"env\": {}} ",
			      "/", &e), 0);
	assert_int_equal(load(&p, "{\"fs\": {\"read\": [], \"system\": false}, "
				  "\"net\": {\"allow\": [], \"bind\": [], \"udp\": false},"
				  "\"env\": {\"clean\": false, \"set\": {}}}",
			      "/", &e), 0);
	assert_int_equal(p.nfs, 0);
	assert_int_equal(p.nnet_allow, 0);
	assert_int_equal(p.nnet_bind, 0);
	assert_false(p.fs_system);
	assert_false(p.allow_udp);
	assert_false(p.allow_unix);
	assert_false(p.env_clean);
	assert_int_equal(p.nenv_set, 0);
	assert_null(p.cwd);
	assert_int_equal(p.limits.memory, 0);
	assert_int_equal(p.limits.procs, 0);
	assert_int_equal(p.limits.timeout_ms, 0);
	assert_int_equal(p.limits.open_files, 0);
	assert_int_equal(p.limits.cpu_s, 0);
	policy_free(&p);
}

static void test_load_relative_paths(void **state)
{
	char cwd[PATH_MAX], want[PATH_MAX + 8];
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	policy_init(&p);
	assert_int_equal(load(&p, "{\"fs\": {\"read\": [\"a\", \"./b/\", \"../c\", \"/d/../e\","
				  " \"..\", \".\"], \"deny\": [\"a//x\"]}, \"cwd\": \"sub/./dir\"}",
			      "/srv/base", &e), 0);
	assert_int_equal(p.nfs, 7);
	assert_string_equal(p.fs[0].path, "/srv/base/a");
	assert_string_equal(p.fs[1].path, "/srv/base/b");
	assert_string_equal(p.fs[2].path, "/srv/c");
	assert_string_equal(p.fs[3].path, "/e");
	assert_string_equal(p.fs[4].path, "/srv");
	assert_string_equal(p.fs[5].path, "/srv/base");
	assert_string_equal(p.fs[6].path, "/srv/base/a/x");
	assert_string_equal(p.cwd, "/srv/base/sub/dir");
	/* "cwd" is a scalar: a second one replaces the first */
	assert_int_equal(load(&p, "{\"cwd\": \"/abs//path/\"}", "/srv/base", &e), 0);
	assert_string_equal(p.cwd, "/abs/path");
	policy_free(&p);

	/* no base: the current directory */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/rel", strcmp(cwd, "/") ? cwd : "");
	policy_init(&p);
	assert_int_equal(load(&p, "{\"fs\": {\"write\": [\"rel\"]}, \"cwd\": \"rel\"}", NULL,
			      &e), 0);
	assert_string_equal(p.fs[0].path, want);
	assert_string_equal(p.cwd, want);
	policy_free(&p);
}

static void test_load_limits(void **state)
{
	static const struct {
		const char *json;
		uint64_t memory, timeout_ms, procs, open_files, cpu;
	} cases[] = {
		{ "{\"limits\": {\"memory\": 1048576}}", 1048576, 0, 0, 0, 0 },
		{ "{\"limits\": {\"memory\": 2097152}}", 2097152, 0, 0, 0, 0 },
		{ "{\"limits\": {\"memory\": \"256M\"}}", 256ULL << 20, 0, 0, 0, 0 },
		{ "{\"limits\": {\"memory\": \"2G\"}}", 2ULL << 30, 0, 0, 0, 0 },
		{ "{\"limits\": {\"memory\": \"1024KiB\"}}", 1ULL << 20, 0, 0, 0, 0 },
		{ "{\"limits\": {\"memory\": \"1M\"}}", 1ULL << 20, 0, 0, 0, 0 },
		{ "{\"limits\": {\"memory\": \"3145728\"}}", 3ULL << 20, 0, 0, 0, 0 },
		{ "{\"limits\": {\"memory\": 9223372036854775807}}", 9223372036854775807ULL, 0,
		  0, 0, 0 },
		{ "{\"limits\": {\"timeout\": 30}}", 0, 30000, 0, 0, 0 },
		{ "{\"limits\": {\"timeout\": 0.25}}", 0, 250, 0, 0, 0 },
		{ "{\"limits\": {\"timeout\": 2.5e1}}", 0, 25000, 0, 0, 0 },
		{ "{\"limits\": {\"timeout\": 0.001}}", 0, 1, 0, 0, 0 },
		/* below a millisecond: rounded up to one, never "no timeout" */
		{ "{\"limits\": {\"timeout\": 1e9}}", 0, 1000000000000ULL, 0, 0, 0 },
		{ "{\"limits\": {\"procs\": 1, \"open_files\": 3, \"cpu\": 1}}", 0, 0, 1, 3, 1 },
		{ "{\"limits\": {\"procs\": 4194304, \"open_files\": 1073741824, "
		  "\"cpu\": 4294967296}}", 0, 0, 4194304, 1073741824, 4294967296ULL },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct mos_policy p;
		struct mos_err e = { "" };

		policy_init(&p);
		if (load(&p, cases[i].json, "/", &e) != 0)
			fail_msg("%s: %s", cases[i].json, e.msg);
		if (p.limits.memory != cases[i].memory ||
		    p.limits.timeout_ms != cases[i].timeout_ms ||
		    p.limits.procs != cases[i].procs ||
		    p.limits.open_files != cases[i].open_files ||
		    p.limits.cpu_s != cases[i].cpu)
			fail_msg("%s: memory %llu timeout_ms %llu procs %llu open_files %llu "
				 "cpu %llu", cases[i].json,
				 (unsigned long long)p.limits.memory,
				 (unsigned long long)p.limits.timeout_ms,
				 (unsigned long long)p.limits.procs,
				 (unsigned long long)p.limits.open_files,
				 (unsigned long long)p.limits.cpu_s);
		policy_free(&p);
	}
}

/* Rules from a later document add to a policy; scalars replace. */
static void test_load_twice(void **state)
{
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	policy_init(&p);
	assert_int_equal(load(&p, "{\"fs\": {\"read\": [\"/a\"]}, \"limits\": {\"memory\": "
				  "\"1G\", \"procs\": 5}, \"env\": {\"set\": {\"X\": \"1\"}}}",
			      "/", &e), 0);
	assert_int_equal(load(&p, "{\"fs\": {\"read\": [\"/b\"]}, \"limits\": {\"memory\": "
				  "\"2G\"}, \"env\": {\"set\": {\"X\": \"2\", \"Y\": \"3\"}}}",
			      "/", &e), 0);
	assert_int_equal(p.nfs, 2);
	assert_string_equal(p.fs[1].path, "/b");
	assert_int_equal(p.limits.memory, 2ULL << 30);
	assert_int_equal(p.limits.procs, 5);
	assert_int_equal(p.nenv_set, 2);
	assert_string_equal(p.env_set[0], "X=2");
	assert_string_equal(p.env_set[1], "Y=3");
	policy_free(&p);
}

struct load_err_case {
	const char *json;
	const char *where; /* "p.json:L:C: " */
	const char *msg;
};

static const struct load_err_case load_errs[] = {
	/* not a policy at all */
	{ "", "p.json:1:1: ", "end of input" },
	{ "[]", "p.json:1:1: ", "a policy must be an object, not an array" },
	{ "\n  \"fs\"", "p.json:2:3: ", "a policy must be an object, not a string" },
	{ "null", "p.json:1:1: ", "must be an object, not null" },
	/* JSON syntax errors keep their position */
	{ "{\n \"fs\": {,}\n}", "p.json:2:9: ", "expected a key" },
	{ "{\"fs\": {}, \"fs\": {}}", "p.json:1:12: ", "duplicate key \"fs\"" },
	{ "{\"fs\": {\"read\": [\"/a\",]}}", "p.json:1:23: ", "trailing comma" },
	{ "{\"cwd\": \"/x\"} x", "p.json:1:15: ", "after the end" },
	/* unknown keys, top-level and nested */
	{ "{\"bogus\": 1}", "p.json:1:2: ", "unknown key \"bogus\" in the policy" },
	{ "{\"fs\": {}, \n\n   \"Fs\": {}}", "p.json:3:4: ", "unknown key \"Fs\"" },
	{ "{\n  \"fs\": {\"reed\": []}\n}", "p.json:2:10: ", "unknown key \"reed\" in \"fs\"" },
	{ "{\"net\": {\"alow\": []}}", "p.json:1:10: ", "unknown key \"alow\" in \"net\"" },
	{ "{\"limits\": {\"mem\": 1}}", "p.json:1:13: ", "unknown key \"mem\" in \"limits\"" },
	{ "{\"env\": {\"clear\": true}}", "p.json:1:10: ", "unknown key \"clear\" in \"env\"" },
	{ "{\"env\": {\"set\": {\"\xc3\xa9\": \"x\"}}, \"zz\": 1}", "p.json:1:31: ",
	  "unknown key \"zz\"" },
	/* wrong types */
	{ "{\"fs\": []}", "p.json:1:8: ", "\"fs\" must be an object, not an array" },
	{ "{\"net\": true}", "p.json:1:9: ", "\"net\" must be an object, not a boolean" },
	{ "{\"limits\": 5}", "p.json:1:12: ", "\"limits\" must be an object, not a number" },
	{ "{\"env\": \"clean\"}", "p.json:1:9: ", "\"env\" must be an object, not a string" },
	{ "{\"fs\": {\"read\": \"/x\"}}", "p.json:1:17: ", "\"fs.read\" must be an array" },
	{ "{\"fs\": {\"read\": [1]}}", "p.json:1:18: ", "\"fs.read\" entries must be non-empty strings" },
	{ "{\"fs\": {\"deny\": [\"/a\", null]}}", "p.json:1:24: ", "\"fs.deny\" entries" },
	{ "{\"fs\": {\"system\": \"yes\"}}", "p.json:1:19: ", "\"fs.system\" must be a boolean, not a string" },
	{ "{\"net\": {\"allow\": \"x:1\"}}", "p.json:1:19: ", "\"net.allow\" must be an array" },
	{ "{\"net\": {\"allow\": [443]}}", "p.json:1:20: ", "\"net.allow\" entries must be strings" },
	{ "{\"net\": {\"bind\": 80}}", "p.json:1:18: ", "\"net.bind\" must be an array" },
	{ "{\"net\": {\"bind\": [\"80\"]}}", "p.json:1:19: ", "\"net.bind\" entries must be port numbers" },
	{ "{\"net\": {\"bind\": [80.5]}}", "p.json:1:19: ", "\"net.bind\" entries" },
	{ "{\"net\": {\"udp\": 1}}", "p.json:1:17: ", "\"net.udp\" must be a boolean, not a number" },
	{ "{\"net\": {\"unix\": \"true\"}}", "p.json:1:18: ", "\"net.unix\" must be a boolean" },
	{ "{\"limits\": {\"memory\": true}}", "p.json:1:23: ", "\"limits.memory\" must be a size" },
	{ "{\"limits\": {\"memory\": 1.5}}", "p.json:1:23: ", "\"limits.memory\" must be a size" },
	{ "{\"limits\": {\"memory\": [1]}}", "p.json:1:23: ", "\"limits.memory\"" },
	{ "{\"limits\": {\"timeout\": \"30\"}}", "p.json:1:24: ", "\"limits.timeout\" must be a number of seconds from 0.001" },
	{ "{\"limits\": {\"timeout\": null}}", "p.json:1:24: ", "\"limits.timeout\"" },
	{ "{\"limits\": {\"procs\": \"64\"}}", "p.json:1:22: ", "\"limits.procs\" must be a whole number" },
	{ "{\"limits\": {\"procs\": 1.5}}", "p.json:1:22: ", "\"limits.procs\" must be a whole number" },
	{ "{\"limits\": {\"open_files\": true}}", "p.json:1:27: ", "\"limits.open_files\" must be a whole number" },
	{ "{\"limits\": {\"cpu\": 2.5}}", "p.json:1:20: ", "\"limits.cpu\" must be a whole number" },
	{ "{\"env\": {\"clean\": 1}}", "p.json:1:19: ", "\"env.clean\" must be a boolean" },
	{ "{\"env\": {\"set\": []}}", "p.json:1:17: ", "\"env.set\" must be an object, not an array" },
	{ "{\"env\": {\"set\": {\"A\": 1}}}", "p.json:1:23: ", "\"env.set.A\" must be a string" },
	{ "{\"env\": {\"set\": {\"A\": null}}}", "p.json:1:23: ", "\"env.set.A\" must be a string" },
	{ "{\"cwd\": 5}", "p.json:1:9: ", "\"cwd\" must be a non-empty path" },
	{ "{\"cwd\": [\"/\"]}", "p.json:1:9: ", "\"cwd\"" },
	/* negative numbers */
	{ "{\"limits\": {\"memory\": -1}}", "p.json:1:23: ", "\"limits.memory\" must be a size" },
	{ "{\"limits\": {\"timeout\": -1}}", "p.json:1:24: ", "\"limits.timeout\" must be a number of seconds from 0.001" },
	{ "{\"limits\": {\"procs\": -1}}", "p.json:1:22: ", "\"limits.procs\" must be a whole number" },
	{ "{\"limits\": {\"open_files\": -5}}", "p.json:1:27: ", "\"limits.open_files\"" },
	{ "{\"limits\": {\"cpu\": -1}}", "p.json:1:20: ", "\"limits.cpu\"" },
	{ "{\"net\": {\"bind\": [-1]}}", "p.json:1:19: ", "\"net.bind\" entries must be port numbers from 0 to 65535" },
	/* out of range */
	{ "{\"net\": {\"bind\": [65536]}}", "p.json:1:19: ", "\"net.bind\" entries" },
	{ "{\"limits\": {\"procs\": 4194305}}", "p.json:1:22: ", "\"limits.procs\"" },
	{ "{\"limits\": {\"open_files\": 1073741825}}", "p.json:1:27: ", "\"limits.open_files\"" },
	{ "{\"limits\": {\"cpu\": 4294967297}}", "p.json:1:20: ", "\"limits.cpu\"" },
	{ "{\"limits\": {\"procs\": 99999999999999999999}}", "p.json:1:22: ", "\"limits.procs\"" },
	{ "{\"limits\": {\"timeout\": 1000000001}}", "p.json:1:24: ", "\"limits.timeout\"" },
	{ "{\"limits\": {\"timeout\": 0.0001}}", "p.json:1:24: ", "from 0.001" },
	/* zero where zero makes no sense ("no limit" is leaving the key out) */
	{ "{\"limits\": {\"procs\": 0}}", "p.json:1:22: ", "\"limits.procs\" must be a whole number from 1" },
	{ "{\"limits\": {\"open_files\": 0}}", "p.json:1:27: ", "\"limits.open_files\"" },
	{ "{\"limits\": {\"cpu\": 0}}", "p.json:1:20: ", "\"limits.cpu\"" },
	{ "{\"limits\": {\"timeout\": 0}}", "p.json:1:24: ", "\"limits.timeout\" must be a number of seconds from 0.001" },
	{ "{\"limits\": {\"memory\": 0}}", "p.json:1:23: ", "\"limits.memory\"" },
	{ "{\"limits\": {\"memory\": \"0\"}}", "p.json:1:23: ", "'0' is not a size" },
	/* too small to run anything */
	{ "{\"limits\": {\"memory\": 4096}}", "p.json:1:23: ", "\"limits.memory\"" },
	{ "{\"limits\": {\"memory\": \"512k\"}}", "p.json:1:23: ", "'512k'" },
	/* bad sizes */
	{ "{\"limits\": {\"memory\": \"abc\"}}", "p.json:1:23: ", "\"limits.memory\": 'abc' is not a size" },
	{ "{\"limits\": {\"memory\": \"\"}}", "p.json:1:23: ", "'' is not a size" },
	{ "{\"limits\": {\"memory\": \"1.5G\"}}", "p.json:1:23: ", "'1.5G' is not a size" },
	{ "{\"limits\": {\"memory\": \"-5M\"}}", "p.json:1:23: ", "is not a size" },
	{ "{\"limits\": {\"memory\": \"256 M\"}}", "p.json:1:23: ", "is not a size" },
	{ "{\"limits\": {\"memory\": \"99999999999T\"}}", "p.json:1:23: ", "is not a size" },
	/* empty paths */
	{ "{\"fs\": {\"write\": [\"\"]}}", "p.json:1:19: ", "\"fs.write\" entries must be non-empty strings" },
	{ "{\"fs\": {\"read\": [\"/ok\",\n  \"\"]}}", "p.json:2:3: ", "\"fs.read\" entries must be non-empty" },
	{ "{\"fs\": {\"deny\": [\"\"]}}", "p.json:1:18: ", "\"fs.deny\" entries must be non-empty" },
	{ "{\"cwd\": \"\"}", "p.json:1:9: ", "\"cwd\" must be a non-empty path" },
	/* env names */
	{ "{\"env\": {\"set\": {\"A=B\": \"x\"}}}", "p.json:1:18: ", "'A=B' is not a variable name" },
	{ "{\"env\": {\"set\": {\"\": \"x\"}}}", "p.json:1:18: ", "is not a variable name" },
	{ "{\"env\": {\"set\": {\"A\": \"1\", \"A\": \"2\"}}}", "p.json:1:28: ", "duplicate key \"A\"" },
	/* rule errors carry the position of the offending string */
	{ "{\"net\": {\"allow\": [\"a:b:80\"]}}", "p.json:1:20: ", "'a:b:80': write IPv6 addresses in brackets" },
	{ "{\"net\": {\"allow\": [\"example.org\"]}}", "p.json:1:20: ", "missing port" },
	{ "{\"net\": {\"allow\": [\n\t\":0\"]}}", "p.json:2:2: ", "'0' is not a port number" },
	{ "{\"net\": {\"allow\": [\"bad host:1\"]}}", "p.json:1:20: ", "not a valid host" },
};

static void test_load_errors(void **state)
{
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < N(load_errs); i++) {
		const struct load_err_case *c = &load_errs[i];
		struct mos_policy p;
		struct mos_err e = { "" };
		int r;

		policy_init(&p);
		r = load(&p, c->json, "/base", &e);
		if (r != -EINVAL || strncmp(e.msg, c->where, strlen(c->where)) ||
		    !strstr(e.msg, c->msg)) {
			print_message("# case %zu %s:\n  got %d \"%s\"\n  expected -EINVAL "
				      "\"%s...%s...\"\n",
				      i, c->json, r, e.msg, c->where, c->msg);
			bad++;
		}
		policy_free(&p);
	}
	assert_int_equal(bad, 0);
}

/* ---- policy_load_file -------------------------------------------------------- */

static char tmpdir[PATH_MAX];

static int make_tmpdir(void **state)
{
	char tmpl[] = "/tmp/mos-policy-XXXXXX";

	(void)state;
	if (!mkdtemp(tmpl) || !realpath(tmpl, tmpdir))
		return -1;
	return 0;
}

static int remove_tmpdir(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_tmp(const char *name, const char *content, size_t len)
{
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, content, len), 0);
	close(fd);
}

static void test_load_file(void **state)
{
	static const char doc[] = "{\"fs\": {\"read\": [\"data\", \"../x\"]}, \"cwd\": \".\"}";
	char path[PATH_MAX + 64], want[PATH_MAX + 256], parent[PATH_MAX];
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	write_tmp("p.json", doc, strlen(doc));
	snprintf(path, sizeof(path), "%s/p.json", tmpdir);
	policy_init(&p);
	if (policy_load_file(&p, path, &e) != 0)
		fail_msg("%s: %s", path, e.msg);
	/* relative paths are resolved against the file's directory */
	assert_int_equal(p.nfs, 2);
	snprintf(want, sizeof(want), "%s/data", tmpdir);
	assert_string_equal(p.fs[0].path, want);
	snprintf(parent, sizeof(parent), "%s", tmpdir);
	*strrchr(parent, '/') = '\0';
	snprintf(want, sizeof(want), "%s/x", parent);
	assert_string_equal(p.fs[1].path, want);
	assert_string_equal(p.cwd, tmpdir);
	/* origins name the file as given */
	snprintf(want, sizeof(want), "%s:1:18", path);
	assert_string_equal(p.fs[0].origin.text, want);
	policy_free(&p);
}

static void test_load_file_relative_name(void **state)
{
	static const char doc[] = "{\"fs\": {\"write\": [\"out\"]},\n \"bogus\": 1}";
	char old[PATH_MAX], want[PATH_MAX + 64];
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	write_tmp("rel.json", doc, strlen(doc));
	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(tmpdir), 0);
	policy_init(&p);
	assert_int_equal(policy_load_file(&p, "rel.json", &e), -EINVAL);
	assert_contains(e.msg, "rel.json:2:2: unknown key \"bogus\"");
	policy_free(&p);

	write_tmp("rel2.json", "{\"fs\": {\"write\": [\"out\"]}}",
		  strlen("{\"fs\": {\"write\": [\"out\"]}}"));
	policy_init(&p);
	assert_int_equal(policy_load_file(&p, "./rel2.json", &e), 0);
	snprintf(want, sizeof(want), "%s/out", tmpdir);
	assert_string_equal(p.fs[0].path, want);
	policy_free(&p);
	assert_int_equal(chdir(old), 0);
}

static void test_load_file_errors(void **state)
{
	char path[PATH_MAX + 64];
	struct mos_policy p;
	struct mos_err e = { "" };
	char *big;
	size_t max = 1U << 20;

	(void)state;
	policy_init(&p);

	/* missing */
	snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
	assert_int_equal(policy_load_file(&p, path, &e), -ENOENT);
	assert_contains(e.msg, path);

	/* a directory */
	e.msg[0] = '\0';
	assert_int_equal(policy_load_file(&p, tmpdir, &e), -EINVAL);
	assert_contains(e.msg, tmpdir);
	assert_contains(e.msg, "not a regular file");

	/* a device */
	e.msg[0] = '\0';
	assert_true(policy_load_file(&p, "/dev/null", &e) < 0);
	assert_contains(e.msg, "/dev/null");

	/* larger than 1 MiB */
	big = malloc(max + 1);
	assert_non_null(big);
	memset(big, ' ', max + 1);
	big[0] = '{';
	big[max - 1] = '}';
	write_tmp("big.json", big, max + 1);
	snprintf(path, sizeof(path), "%s/big.json", tmpdir);
	e.msg[0] = '\0';
	assert_int_equal(policy_load_file(&p, path, &e), -EFBIG);
	assert_contains(e.msg, path);
	assert_contains(e.msg, "larger than");
	/* exactly 1 MiB is fine */
	write_tmp("max.json", big, max);
	snprintf(path, sizeof(path), "%s/max.json", tmpdir);
	if (policy_load_file(&p, path, &e) != 0)
		fail_msg("1 MiB policy: %s", e.msg);
	free(big);

	/* empty file */
	write_tmp("empty.json", "", 0);
	snprintf(path, sizeof(path), "%s/empty.json", tmpdir);
	assert_int_equal(policy_load_file(&p, path, &e), -EINVAL);
	assert_contains(e.msg, "empty.json:1:1: ");

	/* a syntax error is reported with the file's name */
	write_tmp("bad.json", "{\n  \"fs\": {\"read\": [\"a\",]}\n}\n",
		  strlen("{\n  \"fs\": {\"read\": [\"a\",]}\n}\n"));
	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	assert_int_equal(policy_load_file(&p, path, &e), -EINVAL);
	{
		char want[PATH_MAX + 256];

		snprintf(want, sizeof(want), "%s:2:23: trailing comma in array", path);
		assert_string_equal(e.msg, want);
	}
	assert_int_equal(p.nfs, 0);
	policy_free(&p);
}


/* ---- size: linear, and bounded ------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {"env": {"set": {"K0":"v", ...}}} with N keys, then key DUP again if < N. */
static char *env_policy(size_t n, size_t dup, size_t *len)
{
	size_t cap = 64 + (n + 1) * 24, l = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	l += (size_t)snprintf(buf, cap, "{\"env\": {\"set\": {");
	for (size_t i = 0; i < n; i++)
		l += (size_t)snprintf(buf + l, cap - l, "%s\n\"K%zu\":\"v\"", i ? "," : "", i);
	if (dup < n)
		l += (size_t)snprintf(buf + l, cap - l, ",\n\"K%zu\": \"again\"", dup);
	l += (size_t)snprintf(buf + l, cap - l, "}}}\n");
	*len = l;
	return buf;
}

/*
 * 60,000 env keys took 64 s when the JSON reader and policy_add_env each
 * compared every key with every earlier one.  Both are linear (strmap); a
 * generous bound, so a loaded machine or ASan passes.
 */
static void test_load_many_env(void **state)
{
	size_t n = 60000, len;
	char *buf = env_policy(n, n, &len);
	struct mos_policy p;
	struct mos_err e = { "" };
	double t0, dt;

	(void)state;
	assert_true(len < MOS_POLICY_MAX_BYTES);
	policy_init(&p);
	t0 = now_s();
	if (policy_load_buffer(&p, buf, len, "env.json", "/", &e) != 0)
		fail_msg("%s", e.msg);
	dt = now_s() - t0;
	print_message("# %zu env keys loaded in %.3f s\n", n, dt);
	assert_true(dt < 3.0);
	assert_int_equal(p.nenv_set, n);
	assert_string_equal(p.env_set[0], "K0=v");
	assert_string_equal(p.env_set[n - 1], "K59999=v");
	/* flags after the file: a key of the file is replaced in place, linearly too */
	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		char kv[32];

		snprintf(kv, sizeof(kv), "K%zu=flag%zu", (i * 7919) % n, i);
		assert_int_equal(policy_add_env(&p, kv, "--env", &e), 0);
	}
	assert_int_equal(policy_add_env(&p, "NEW=1", "--env", &e), 0);
	dt = now_s() - t0;
	print_message("# %zu --env replacements in %.3f s\n", n, dt);
	assert_true(dt < 3.0);
	assert_int_equal(p.nenv_set, n + 1);
	{
		size_t last = (59999 * 7919) % n;
		char want[48];

		snprintf(want, sizeof(want), "K%zu=flag59999", last);
		assert_string_equal(p.env_set[last], want);
	}
	assert_string_equal(p.env_set[n], "NEW=1");
	policy_free(&p);
	free(buf);

	/* a duplicate is still refused, where it is */
	buf = env_policy(n, 4242, &len);
	policy_init(&p);
	t0 = now_s();
	assert_int_equal(policy_load_buffer(&p, buf, len, "env.json", "/", &e), -EINVAL);
	assert_true(now_s() - t0 < 3.0);
	assert_contains(e.msg, "env.json:60002:1: duplicate key \"K4242\" (first at line 4244)");
	policy_free(&p);
	free(buf);
}

/* The bounds of Documentation/policy.md: bytes and entries, with a clear error. */
static void test_load_bounds(void **state)
{
	size_t len;
	char *buf = env_policy(MOS_POLICY_MAX_ENTRIES, SIZE_MAX, &len);
	struct mos_policy p;
	struct mos_err e = { "" };

	(void)state;
	/* MOS_POLICY_MAX_ENTRIES variables fit (the document is under the byte bound) */
	assert_true(len <= MOS_POLICY_MAX_BYTES);
	policy_init(&p);
	if (policy_load_buffer(&p, buf, len, "max.json", "/", &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(p.nenv_set, MOS_POLICY_MAX_ENTRIES);
	/* one more, from a flag, is refused; replacing one is not */
	assert_int_equal(policy_add_env(&p, "ONE_MORE=1", "--env", &e), -E2BIG);
	assert_contains(e.msg, "--env");
	assert_contains(e.msg, "65536");
	assert_int_equal(policy_add_env(&p, "K7=replaced", "--env", &e), 0);
	assert_int_equal(p.nenv_set, MOS_POLICY_MAX_ENTRIES);
	policy_free(&p);
	free(buf);

	/* file rules, net rules, bind ports and ask paths: the same bound */
	policy_init(&p);
	for (size_t i = 0; i < MOS_POLICY_MAX_ENTRIES; i++)
		assert_int_equal(policy_add_fs(&p, "/", "x", MOS_FS_READ, false, "--read", &e), 0);
	assert_int_equal(policy_add_fs(&p, "/", "x", MOS_FS_READ, false, "--read", &e), -E2BIG);
	assert_contains(e.msg, "--read");
	assert_contains(e.msg, "65536 file rules");
	for (size_t i = 0; i < MOS_POLICY_MAX_ENTRIES; i++)
		assert_int_equal(policy_add_net_bind(&p, "80", "--net-bind", &e), 0);
	assert_int_equal(policy_add_net_bind(&p, "80", "--net-bind", &e), -E2BIG);
	for (size_t i = 0; i < MOS_POLICY_MAX_NET_ALLOW; i++)
		assert_int_equal(policy_add_net_allow(&p, ":80", "--net-allow", &e), 0);
	assert_int_equal(policy_add_net_allow(&p, ":80", "--net-allow", &e), -E2BIG);
	assert_contains(e.msg, "--net-allow");
	for (size_t i = 0; i < MOS_POLICY_MAX_ENTRIES; i++)
		assert_int_equal(policy_add_ask(&p, "/", "fs:/a", "--ask", &e), 0);
	assert_int_equal(policy_add_ask(&p, "/", "fs:/a", "--ask", &e), -E2BIG);
	policy_free(&p);

	/* a buffer over the byte bound is refused before it is parsed */
	len = MOS_POLICY_MAX_BYTES + 1;
	buf = malloc(len);
	assert_non_null(buf);
	memset(buf, ' ', len);
	buf[0] = '{';
	buf[len - 1] = '}';
	policy_init(&p);
	assert_int_equal(policy_load_buffer(&p, buf, len, "big.json", "/", &e), -EFBIG);
	assert_contains(e.msg, "big.json");
	assert_contains(e.msg, "larger than 1048576 bytes");
	policy_free(&p);
	free(buf);
}

static void on_alarm(int sig)
{
	static const char msg[] = "policy_load_file blocked (alarm)\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/*
 * A FIFO, a socket, a directory, a device: refused at once with what it is.
 * A plain open() of a FIFO would wait for a writer for ever; the alarm
 * turns such a hang into a failure of this test.
 */
static void test_load_file_not_regular(void **state)
{
	char fifo[PATH_MAX + 64], sock[PATH_MAX + 64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mos_policy p;
	struct mos_err e = { "" };
	int sfd;

	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(10);
	policy_init(&p);
	snprintf(fifo, sizeof(fifo), "%s/fifo.json", tmpdir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(policy_load_file(&p, fifo, &e), -EINVAL);
	assert_contains(e.msg, fifo);
	assert_contains(e.msg, "is a FIFO, not a regular file");

	snprintf(sock, sizeof(sock), "%s/s.json", tmpdir);
	assert_true(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(sfd >= 0);
	assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(policy_load_file(&p, sock, &e), -EINVAL);
	assert_contains(e.msg, sock);
	assert_contains(e.msg, "is a socket, not a regular file");
	close(sfd);

	assert_int_equal(policy_load_file(&p, tmpdir, &e), -EINVAL);
	assert_contains(e.msg, "is a directory, not a regular file");
	assert_int_equal(policy_load_file(&p, "/dev/null", &e), -EINVAL);
	assert_contains(e.msg, "/dev/null is a character device, not a regular file");
	assert_int_equal(p.nfs, 0);
	policy_free(&p);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_fs),
		cmocka_unit_test(test_add_fs_cwd),
		cmocka_unit_test(test_add_fs_errors),
		cmocka_unit_test(test_net_allow),
		cmocka_unit_test(test_net_allow_errors),
		cmocka_unit_test(test_net_allow_too_many_ports),
		cmocka_unit_test(test_net_allow_empty_brackets),
		cmocka_unit_test(test_net_bind),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_access_names),
		cmocka_unit_test(test_builtin_lists),
		cmocka_unit_test(test_load_full),
		cmocka_unit_test(test_load_empty_and_defaults),
		cmocka_unit_test(test_load_relative_paths),
		cmocka_unit_test(test_load_limits),
		cmocka_unit_test(test_load_twice),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_file_relative_name),
		cmocka_unit_test(test_load_file_errors),
		cmocka_unit_test(test_load_file_not_regular),
		cmocka_unit_test(test_load_many_env),
		cmocka_unit_test(test_load_bounds),
	};

	return cmocka_run_group_tests_name("policy", tests, make_tmpdir, remove_tmpdir);
}
