// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_options.c - mosctl's command line (userspace/policy/options.c): every
 * flag of `mosctl run --help`, accumulation, the --policy file merged with
 * flags, the command, and errors that name the flag.  options_parse resets
 * getopt itself, so it is called many times in one process here.
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
#include <unistd.h>

#include "options.h"
#include "util.h"

/*
 * argv as main() gets it, NULL-terminated.  It lives in a static array
 * because run_opts.command points into it after options_parse returns.
 */
static char *argv_store[64];

static int parse_argv(struct run_opts *o, struct mos_err *e, const char *const *args)
{
	int argc = 0;

	for (; args[argc]; argc++) {
		assert_true(argc < (int)(sizeof(argv_store) / sizeof(argv_store[0])) - 1);
		argv_store[argc] = (char *)args[argc];
	}
	argv_store[argc] = NULL;
	return options_parse(argc, argv_store, o, e);
}

#define PARSE(o, e, ...) parse_argv((o), (e), (const char *const[]){ "run", __VA_ARGS__, NULL })

static char tmpdir[PATH_MAX];
static char cwd[PATH_MAX];

static int setup(void **state)
{
	char tmpl[] = "/tmp/mos-options-XXXXXX";

	(void)state;
	if (!getcwd(cwd, sizeof(cwd)) || !mkdtemp(tmpl) || !realpath(tmpl, tmpdir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

static const char *write_policy(const char *name, const char *json)
{
	static char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, json, strlen(json)), 0);
	close(fd);
	return path;
}

static void test_defaults(void **state)
{
	struct run_opts o;
	struct mos_err e = { "" };

	(void)state;
	memset(&o, 0x5a, sizeof(o));
	assert_int_equal(PARSE(&o, &e, "--", "true"), 0);
	assert_int_equal(o.policy.nfs, 0);
	assert_false(o.policy.fs_system);
	assert_int_equal(o.policy.nnet_allow, 0);
	assert_int_equal(o.policy.nnet_bind, 0);
	assert_false(o.policy.allow_udp);
	assert_false(o.policy.allow_unix);
	assert_int_equal(o.policy.limits.memory, 0);
	assert_int_equal(o.policy.limits.procs, 0);
	assert_int_equal(o.policy.limits.open_files, 0);
	assert_int_equal(o.policy.limits.cpu_s, 0);
	assert_int_equal(o.policy.limits.timeout_ms, 0);
	assert_false(o.policy.env_clean);
	assert_int_equal(o.policy.nenv_set, 0);
	assert_null(o.policy.cwd);
	assert_int_equal(o.backend, MOS_BACKEND_AUTO);
	assert_int_equal(o.verbose, 0);
	assert_false(o.allow_degraded);
	assert_false(o.help);
	assert_int_equal(o.ncommand, 1);
	assert_string_equal(o.command[0], "true");
	options_free(&o);
}

/* Every flag of `mosctl run --help`, long form. */
static void test_long_flags(void **state)
{
	struct run_opts o;
	struct mos_err e = { "" };
	int r;

	(void)state;
	r = PARSE(&o, &e, "--read", "/usr", "--write", "/tmp/out", "--deny", "/usr/secret",
		  "--system", "--net-allow", "example.org:443", "--net-bind", "8080",
		  "--allow-udp", "--allow-unix", "--memory", "256M", "--max-procs", "64",
		  "--open-files", "128", "--cpu", "30", "--timeout", "1.5", "--clean-env",
		  "--env", "CC=gcc", "--cwd", "/work", "--backend", "landlock",
		  "--allow-degraded", "--verbose", "--help", "--", "make", "-j4");
	if (r != 0)
		fail_msg("%d: %s", r, e.msg);
	assert_int_equal(o.policy.nfs, 3);
	assert_string_equal(o.policy.fs[0].path, "/usr");
	assert_int_equal(o.policy.fs[0].access, MOS_FS_READ | MOS_FS_EXEC);
	assert_false(o.policy.fs[0].deny);
	assert_string_equal(o.policy.fs[0].origin.text, "--read");
	assert_string_equal(o.policy.fs[1].path, "/tmp/out");
	assert_int_equal(o.policy.fs[1].access, MOS_FS_ALL);
	assert_string_equal(o.policy.fs[1].origin.text, "--write");
	assert_string_equal(o.policy.fs[2].path, "/usr/secret");
	assert_true(o.policy.fs[2].deny);
	assert_string_equal(o.policy.fs[2].origin.text, "--deny");
	assert_true(o.policy.fs_system);
	assert_int_equal(o.policy.nnet_allow, 1);
	assert_string_equal(o.policy.net_allow[0].host, "example.org");
	assert_int_equal(o.policy.net_allow[0].ports[0], 443);
	assert_string_equal(o.policy.net_allow[0].origin.text, "--net-allow");
	assert_int_equal(o.policy.nnet_bind, 1);
	assert_int_equal(o.policy.net_bind[0], 8080);
	assert_true(o.policy.allow_udp);
	assert_true(o.policy.allow_unix);
	assert_int_equal(o.policy.limits.memory, 256ULL << 20);
	assert_int_equal(o.policy.limits.procs, 64);
	assert_int_equal(o.policy.limits.open_files, 128);
	assert_int_equal(o.policy.limits.cpu_s, 30);
	assert_int_equal(o.policy.limits.timeout_ms, 1500);
	assert_true(o.policy.env_clean);
	assert_int_equal(o.policy.nenv_set, 1);
	assert_string_equal(o.policy.env_set[0], "CC=gcc");
	assert_string_equal(o.policy.cwd, "/work");
	assert_int_equal(o.backend, MOS_BACKEND_LANDLOCK);
	assert_true(o.allow_degraded);
	assert_int_equal(o.verbose, 1);
	assert_true(o.help);
	assert_int_equal(o.ncommand, 2);
	assert_string_equal(o.command[0], "make");
	assert_string_equal(o.command[1], "-j4");
	assert_null(o.command[2]);
	options_free(&o);
}

/* Short forms, attached arguments and --flag=value. */
static void test_short_flags(void **state)
{
	struct run_opts o;
	struct mos_err e = { "" };
	int r;

	(void)state;
	r = PARSE(&o, &e, "-r", "/a", "-w/b", "-s", "-m", "1G", "-P", "10", "-t", "2",
		  "-C", "/c", "-v", "-h", "ls");
	if (r != 0)
		fail_msg("%d: %s", r, e.msg);
	assert_int_equal(o.policy.nfs, 2);
	assert_string_equal(o.policy.fs[0].path, "/a");
	assert_int_equal(o.policy.fs[0].access, MOS_FS_READ | MOS_FS_EXEC);
	assert_string_equal(o.policy.fs[1].path, "/b");
	assert_int_equal(o.policy.fs[1].access, MOS_FS_ALL);
	assert_true(o.policy.fs_system);
	assert_int_equal(o.policy.limits.memory, 1ULL << 30);
	assert_int_equal(o.policy.limits.procs, 10);
	assert_int_equal(o.policy.limits.timeout_ms, 2000);
	assert_string_equal(o.policy.cwd, "/c");
	assert_int_equal(o.verbose, 1);
	assert_true(o.help);
	assert_int_equal(o.ncommand, 1);
	assert_string_equal(o.command[0], "ls");
	options_free(&o);

	r = PARSE(&o, &e, "--read=/x", "--memory=64M", "--net-bind=0", "--timeout=0.5",
		  "--backend=auto", "-vvv", "-sv", "--", "cmd");
	if (r != 0)
		fail_msg("%d: %s", r, e.msg);
	assert_string_equal(o.policy.fs[0].path, "/x");
	assert_int_equal(o.policy.limits.memory, 64ULL << 20);
	assert_int_equal(o.policy.net_bind[0], 0);
	assert_int_equal(o.policy.limits.timeout_ms, 500);
	assert_int_equal(o.backend, MOS_BACKEND_AUTO);
	assert_int_equal(o.verbose, 4);
	assert_true(o.policy.fs_system);
	options_free(&o);
}

static void test_accumulate(void **state)
{
	struct run_opts o;
	struct mos_err e = { "" };
	int r;

	(void)state;
	r = PARSE(&o, &e, "-r", "/a", "--read", "/b", "-w", "/c", "-w", "/d", "--deny",
		  "/a/x", "--deny", "/b/y", "--net-allow", ":443", "--net-allow",
		  "h:80,81", "--net-bind", "1", "--net-bind", "2", "--env", "A=1", "--env",
		  "B=2", "--env", "A=3", "-v", "--verbose", "-v", "--", "x");
	if (r != 0)
		fail_msg("%d: %s", r, e.msg);
	assert_int_equal(o.policy.nfs, 6);
	assert_string_equal(o.policy.fs[0].path, "/a");
	assert_string_equal(o.policy.fs[1].path, "/b");
	assert_string_equal(o.policy.fs[2].path, "/c");
	assert_string_equal(o.policy.fs[3].path, "/d");
	assert_string_equal(o.policy.fs[4].path, "/a/x");
	assert_string_equal(o.policy.fs[5].path, "/b/y");
	assert_int_equal(o.policy.nnet_allow, 2);
	assert_null(o.policy.net_allow[0].host);
	assert_int_equal(o.policy.net_allow[1].nports, 2);
	assert_int_equal(o.policy.nnet_bind, 2);
	assert_int_equal(o.policy.net_bind[1], 2);
	/* a later --env KEY replaces the earlier one */
	assert_int_equal(o.policy.nenv_set, 2);
	assert_string_equal(o.policy.env_set[0], "A=3");
	assert_string_equal(o.policy.env_set[1], "B=2");
	assert_int_equal(o.verbose, 3);
	options_free(&o);

	/* scalars given twice: the last one wins */
	r = PARSE(&o, &e, "-m", "1G", "-m", "2G", "-t", "5", "-t", "7", "-C", "/x", "-C",
		  "/y", "--backend", "landlock", "--backend", "auto", "-P", "3", "-P", "4",
		  "--cpu", "1", "--cpu", "9", "--open-files", "5", "--open-files", "6");
	if (r != 0)
		fail_msg("%d: %s", r, e.msg);
	assert_int_equal(o.policy.limits.memory, 2ULL << 30);
	assert_int_equal(o.policy.limits.timeout_ms, 7000);
	assert_string_equal(o.policy.cwd, "/y");
	assert_int_equal(o.backend, MOS_BACKEND_AUTO);
	assert_int_equal(o.policy.limits.procs, 4);
	assert_int_equal(o.policy.limits.cpu_s, 9);
	assert_int_equal(o.policy.limits.open_files, 6);
	assert_null(o.command);
	assert_int_equal(o.ncommand, 0);
	options_free(&o);
}

static void test_relative_paths(void **state)
{
	char want[PATH_MAX + 16];
	struct run_opts o;
	struct mos_err e = { "" };

	(void)state;
	assert_int_equal(PARSE(&o, &e, "-r", "rel/../src", "-C", "./work/", "--deny",
			       "src/x"),
			 0);
	snprintf(want, sizeof(want), "%s/src", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(o.policy.fs[0].path, want);
	snprintf(want, sizeof(want), "%s/src/x", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(o.policy.fs[1].path, want);
	snprintf(want, sizeof(want), "%s/work", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(o.policy.cwd, want);
	options_free(&o);
}

/* The command: after "--", or from the first non-option on. */
static void test_command(void **state)
{
	struct run_opts o;
	struct mos_err e = { "" };

	(void)state;
	assert_int_equal(PARSE(&o, &e, "-r", "/a", "--", "ls", "-l", "--", "x"), 0);
	assert_int_equal(o.ncommand, 4);
	assert_string_equal(o.command[0], "ls");
	assert_string_equal(o.command[1], "-l");
	assert_string_equal(o.command[2], "--");
	assert_string_equal(o.command[3], "x");
	options_free(&o);

	/* options after the command's name belong to the command */
	assert_int_equal(PARSE(&o, &e, "-r", "/a", "ls", "-r", "/b", "--write", "/c"), 0);
	assert_int_equal(o.policy.nfs, 1);
	assert_int_equal(o.ncommand, 5);
	assert_string_equal(o.command[0], "ls");
	assert_string_equal(o.command[1], "-r");
	assert_string_equal(o.command[4], "/c");
	options_free(&o);

	assert_int_equal(PARSE(&o, &e, "--", "-r"), 0);
	assert_int_equal(o.policy.nfs, 0);
	assert_int_equal(o.ncommand, 1);
	assert_string_equal(o.command[0], "-r");
	options_free(&o);

	assert_int_equal(PARSE(&o, &e, "--"), 0);
	assert_null(o.command);
	assert_int_equal(o.ncommand, 0);
	options_free(&o);

	{
		char *argv[] = { "run", NULL };

		assert_int_equal(options_parse(1, argv, &o, &e), 0);
		assert_null(o.command);
		assert_int_equal(o.ncommand, 0);
		options_free(&o);
	}

	/* "-" alone is not an option */
	assert_int_equal(PARSE(&o, &e, "-v", "-", "x"), 0);
	assert_int_equal(o.ncommand, 2);
	assert_string_equal(o.command[0], "-");
	options_free(&o);
}

/* The policy file is loaded first; flags add rules and replace scalars. */
static void test_policy_merge(void **state)
{
	const char *path = write_policy(
		"merge.json",
		"{\"fs\": {\"read\": [\"/from-file\"], \"system\": true},\n"
		" \"net\": {\"allow\": [\":443\"], \"bind\": [80]},\n"
		" \"limits\": {\"memory\": \"1G\", \"timeout\": 10, \"procs\": 5, "
		"\"open_files\": 100, \"cpu\": 50},\n"
		" \"env\": {\"clean\": true, \"set\": {\"A\": \"file\", \"B\": \"file\"}},\n"
		" \"cwd\": \"/file-cwd\"}");
	struct run_opts o;
	struct mos_err e = { "" };
	int r;

	(void)state;
	/* flags on both sides of --policy are applied after the file */
	r = PARSE(&o, &e, "-m", "2G", "-r", "/flag-a", "--policy", (char *)path, "-w",
		  "/flag-b", "-t", "5", "-P", "7", "--open-files", "200", "--cpu", "60",
		  "-C", "/flag-cwd", "--env", "A=flag", "--net-allow", ":80", "--net-bind",
		  "81", "--", "cmd");
	if (r != 0)
		fail_msg("%d: %s", r, e.msg);
	assert_int_equal(o.policy.nfs, 3);
	assert_string_equal(o.policy.fs[0].path, "/from-file");
	assert_string_equal(o.policy.fs[1].path, "/flag-a");
	assert_string_equal(o.policy.fs[2].path, "/flag-b");
	assert_true(o.policy.fs_system);
	assert_int_equal(o.policy.nnet_allow, 2);
	assert_int_equal(o.policy.net_allow[0].ports[0], 443);
	assert_int_equal(o.policy.net_allow[1].ports[0], 80);
	assert_int_equal(o.policy.nnet_bind, 2);
	assert_int_equal(o.policy.net_bind[0], 80);
	assert_int_equal(o.policy.net_bind[1], 81);
	assert_int_equal(o.policy.limits.memory, 2ULL << 30);
	assert_int_equal(o.policy.limits.timeout_ms, 5000);
	assert_int_equal(o.policy.limits.procs, 7);
	assert_int_equal(o.policy.limits.open_files, 200);
	assert_int_equal(o.policy.limits.cpu_s, 60);
	assert_string_equal(o.policy.cwd, "/flag-cwd");
	assert_true(o.policy.env_clean);
	assert_int_equal(o.policy.nenv_set, 2);
	assert_string_equal(o.policy.env_set[0], "A=flag");
	assert_string_equal(o.policy.env_set[1], "B=file");
	assert_int_equal(o.ncommand, 1);
	options_free(&o);

	/* without overriding flags the file's values stand */
	r = PARSE(&o, &e, "--policy", (char *)path);
	if (r != 0)
		fail_msg("%d: %s", r, e.msg);
	assert_int_equal(o.policy.nfs, 1);
	assert_int_equal(o.policy.limits.memory, 1ULL << 30);
	assert_int_equal(o.policy.limits.timeout_ms, 10000);
	assert_string_equal(o.policy.cwd, "/file-cwd");
	options_free(&o);

	/* --policy=FILE */
	{
		char arg[PATH_MAX + 80];

		snprintf(arg, sizeof(arg), "--policy=%s", path);
		r = PARSE(&o, &e, arg);
		assert_int_equal(r, 0);
		assert_int_equal(o.policy.limits.procs, 5);
		options_free(&o);
	}
}

static void test_policy_errors(void **state)
{
	const char *path;
	struct run_opts o;
	struct mos_err e = { "" };
	char missing[PATH_MAX + 32];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/none.json", tmpdir);
	assert_true(PARSE(&o, &e, "--policy", missing) < 0);
	assert_contains(e.msg, missing);
	options_free(&o);

	path = write_policy("bad.json", "{\"limits\": {\"procs\": -1}}");
	assert_int_equal(PARSE(&o, &e, "--policy", (char *)path, "--", "x"), -EINVAL);
	assert_contains(e.msg, "bad.json:1:22: ");
	assert_contains(e.msg, "limits.procs");
	options_free(&o);

	/* --policy twice, even the same file */
	path = write_policy("ok.json", "{}");
	assert_int_equal(PARSE(&o, &e, "--policy", (char *)path, "--policy", (char *)path),
			 -EINVAL);
	assert_contains(e.msg, "--policy");
	assert_contains(e.msg, "twice");
	options_free(&o);
}

struct err_case {
	const char *argv[6];
	const char *msg;
};

static const struct err_case err_cases[] = {
	/* unknown flags */
	{ { "--bogus" }, "--bogus" },
	{ { "--bogus=1" }, "--bogus" },
	{ { "-x" }, "-x" },
	{ { "-r", "/a", "-Z", "/b" }, "-Z" },
	{ { "--read-only", "/a" }, "--read-only" },
	{ { "--allow", "x" }, "--allow" },
	/* missing arguments */
	{ { "-r" }, "-r" },
	{ { "-w" }, "-w" },
	{ { "-m" }, "-m" },
	{ { "-P" }, "-P" },
	{ { "-t" }, "-t" },
	{ { "-C" }, "-C" },
	{ { "--read" }, "-r" },
	{ { "--write" }, "-w" },
	{ { "--memory" }, "-m" },
	{ { "--timeout" }, "-t" },
	{ { "-v", "--cwd" }, "--cwd" },
	{ { "--deny" }, "--deny" },
	{ { "--net-allow" }, "--net-allow" },
	{ { "--net-bind" }, "--net-bind" },
	{ { "--open-files" }, "--open-files" },
	{ { "--cpu" }, "--cpu" },
	{ { "--env" }, "--env" },
	{ { "--policy" }, "--policy" },
	{ { "--backend" }, "--backend" },
	/* bad numbers and sizes */
	{ { "-m", "12Q" }, "--memory" },
	{ { "--memory", "0" }, "--memory" },
	{ { "--memory", "-1G" }, "--memory" },
	{ { "-m", "" }, "--memory" },
	{ { "-m", "4096" }, "--memory" },
	{ { "-P", "abc" }, "--max-procs" },
	{ { "--max-procs", "0" }, "--max-procs" },
	{ { "-P", "-1" }, "--max-procs" },
	{ { "-P", "4194305" }, "--max-procs" },
	{ { "--open-files", "x" }, "--open-files" },
	{ { "--open-files", "1073741825" }, "--open-files" },
	{ { "--cpu", "-1" }, "--cpu" },
	{ { "--cpu", "1.5" }, "--cpu" },
	{ { "-t", "0" }, "--timeout" },
	{ { "-t", "abc" }, "--timeout" },
	{ { "--timeout", "-1" }, "--timeout" },
	{ { "--timeout", "1.5s" }, "--timeout" },
	/* beyond poll(2)'s int milliseconds: was a 0.7 s timeout, or none at all */
	{ { "--ask-timeout", "4294968" }, "--ask-timeout" },
	{ { "--ask-timeout", "2147484" }, "--ask-timeout" },
	{ { "--ask-timeout", "1000000.001" }, "--ask-timeout" },
	{ { "--ask-timeout", "0" }, "--ask-timeout" },
	/* bad values of rules */
	{ { "--net-allow", "example.org" }, "--net-allow" },
	{ { "--net-allow", "h:0" }, "--net-allow" },
	{ { "--net-bind", "65536" }, "--net-bind" },
	{ { "--net-bind", "http" }, "--net-bind" },
	{ { "--env", "NOEQ" }, "--env" },
	{ { "--env", "=x" }, "--env" },
	{ { "-r", "" }, "--read" },
	{ { "-w", "" }, "--write" },
	{ { "--deny", "" }, "--deny" },
	{ { "-C", "" }, "--cwd" },
	{ { "--backend", "ebpf" }, "--backend" },
	{ { "--backend", "Landlock" }, "--backend" },
	{ { "--backend", "" }, "--backend" },
};

/*
 * A flag given an argument it does not take: the message names the flag as
 * written, and does not call a known flag unknown.
 */
static const struct err_case noarg_cases[] = {
	{ { "--clean-env=1" }, "--clean-env" },
	{ { "--allow-udp=yes" }, "--allow-udp" },
	{ { "--system=yes" }, "--system" },
	{ { "--verbose=2" }, "--verbose" },
	{ { "--help=all" }, "--help" },
};

static void check_errors(const struct err_case *cases, size_t n, bool known)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		char *argv[8] = { "run" };
		int argc = 1, r;
		struct run_opts o;
		struct mos_err e = { "" };
		char shown[256] = "";

		for (const char *const *a = cases[i].argv; *a; a++) {
			argv[argc++] = (char *)*a;
			snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), " '%s'",
				 *a);
		}
		r = options_parse(argc, argv, &o, &e);
		if (r != -EINVAL || !strstr(e.msg, cases[i].msg) ||
		    (known && strstr(e.msg, "unknown option -"))) {
			print_message("# run%s: got %d \"%s\"; expected -EINVAL naming %s\n",
				      shown, r, e.msg, cases[i].msg);
			bad++;
		}
		options_free(&o);
	}
	assert_int_equal(bad, 0);
}

/* --ask-timeout: the default, a fraction, the largest accepted. */
static void test_ask_timeout(void **state)
{
	struct run_opts o;
	struct mos_err e = { "" };

	(void)state;
	assert_int_equal(PARSE(&o, &e, "--ask", "net", "--", "true"), 0);
	assert_int_equal(o.ask_timeout_ms, 30000);
	options_free(&o);
	assert_int_equal(PARSE(&o, &e, "--ask-timeout", "0.25", "--", "true"), 0);
	assert_int_equal(o.ask_timeout_ms, 250);
	options_free(&o);
	assert_int_equal(PARSE(&o, &e, "--ask-timeout", "1000000", "--", "true"), 0);
	assert_int_equal(o.ask_timeout_ms, 1000000000);
	options_free(&o);
}

static void test_errors(void **state)
{
	(void)state;
	check_errors(err_cases, sizeof(err_cases) / sizeof(err_cases[0]), false);
}

static void test_errors_unexpected_argument(void **state)
{
	(void)state;
	check_errors(noarg_cases, sizeof(noarg_cases) / sizeof(noarg_cases[0]), true);
}

/* getopt state must not leak from one call into the next. */
static void test_repeated_calls(void **state)
{
	struct run_opts o;
	struct mos_err e = { "" };

	(void)state;
	for (int i = 0; i < 3; i++) {
		/* an error in the middle of a group of short options... */
		assert_int_equal(PARSE(&o, &e, "-r", "/a", "-vxv", "ls"), -EINVAL);
		assert_contains(e.msg, "-x");
		options_free(&o);
		/* ...then a clean parse from the start */
		assert_int_equal(PARSE(&o, &e, "-vs", "-r", "/b", "cmd", "-v"), 0);
		assert_int_equal(o.verbose, 1);
		assert_true(o.policy.fs_system);
		assert_int_equal(o.policy.nfs, 1);
		assert_string_equal(o.policy.fs[0].path, "/b");
		assert_int_equal(o.ncommand, 2);
		assert_string_equal(o.command[0], "cmd");
		options_free(&o);
		/* a parse that stopped at the command, then a shorter argv */
		assert_int_equal(PARSE(&o, &e, "-r", "/c", "-w", "/d", "--", "x"), 0);
		assert_int_equal(o.policy.nfs, 2);
		options_free(&o);
		assert_int_equal(PARSE(&o, &e, "-v"), 0);
		assert_int_equal(o.verbose, 1);
		assert_int_equal(o.policy.nfs, 0);
		assert_null(o.command);
		options_free(&o);
		/* a missing argument at the very end */
		assert_int_equal(PARSE(&o, &e, "-v", "-m"), -EINVAL);
		options_free(&o);
	}
}

/* options_free is safe after a failed parse (which already freed). */
static void test_free_after_error(void **state)
{
	struct run_opts o;
	struct mos_err e = { "" };

	(void)state;
	assert_int_equal(PARSE(&o, &e, "-r", "/a", "--env", "A=1", "--net-allow", ":1",
			       "--net-bind", "bad"),
			 -EINVAL);
	assert_int_equal(o.policy.nfs, 0);
	assert_null(o.policy.fs);
	options_free(&o);
	options_free(&o);
}

static void test_usage(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	static const char *const flags[] = {
		"--read",      "--write",   "--deny",	      "--system",     "--net-allow",
		"--net-bind",  "--allow-udp", "--allow-unix", "--memory",     "--max-procs",
		"--open-files", "--cpu",     "--timeout",      "--clean-env",  "--env",
		"--cwd",       "--policy",  "--backend",      "--allow-degraded",
		"--verbose",   "--help",    "-r,",	      "-w,",	      "-s,",
		"-m,",	       "-P,",	    "-t,",	      "-C,",	      "-v,",
		"-h,",
	};

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	options_usage(f, "run");
	fclose(f);
	assert_contains(buf, "usage: mosctl run [OPTIONS] -- COMMAND [ARG...]");
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		assert_contains(buf, flags[i]);
	free(buf);

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	options_usage(f, "check");
	fclose(f);
	assert_contains(buf, "usage: mosctl check [OPTIONS]\n");
	free(buf);
}

/*
 * options_parse_flags: the flags' rules with relative paths taken from the
 * given base (a worker's job, whose cwd is the origin's), and a --policy
 * file neither read nor needed (it names a file this process cannot see).
 */
static void test_parse_flags_only(void **state_unused)
{
	static char *argv[] = { "run", "-r",   "/usr",	   "--write=out",
				"-w",  "../b", "--policy", "/no/such.json",
				"-C",  "sub",  "--deny",   "out/secret",
				"--",  "cc",   NULL };
	struct run_opts o;
	struct mos_err e = { "" };

	(void)state_unused;
	assert_int_equal(options_parse_flags(14, argv, "/tmp/job", &o, &e), 0);
	assert_int_equal(o.policy.nfs, 4);
	assert_string_equal(o.policy.fs[0].path, "/usr");
	assert_string_equal(o.policy.fs[1].path, "/tmp/job/out");
	assert_string_equal(o.policy.fs[1].origin.text, "--write");
	assert_int_equal(o.policy.fs[1].access, MOS_FS_ALL);
	assert_string_equal(o.policy.fs[2].path, "/tmp/b");
	assert_string_equal(o.policy.fs[3].path, "/tmp/job/out/secret");
	assert_true(o.policy.fs[3].deny);
	assert_string_equal(o.policy.cwd, "/tmp/job/sub");
	assert_int_equal(o.ncommand, 1);
	options_free(&o);
	/* the same argv through options_parse reads the file, and fails */
	assert_true(options_parse(14, argv, &o, &e) < 0);
	assert_contains(e.msg, "/no/such.json");
	/* bad flags are refused as options_parse refuses them */
	{
		static char *bad[] = { "run", "--memory", "lots", "--", "cc", NULL };

		assert_int_equal(options_parse_flags(5, bad, "/", &o, &e), -EINVAL);
		assert_contains(e.msg, "--memory");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_long_flags),
		cmocka_unit_test(test_short_flags),
		cmocka_unit_test(test_accumulate),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_policy_merge),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_ask_timeout),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_errors_unexpected_argument),
		cmocka_unit_test(test_repeated_calls),
		cmocka_unit_test(test_free_after_error),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_parse_flags_only),
	};

	return cmocka_run_group_tests_name("options", tests, setup, teardown);
}
