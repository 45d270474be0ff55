// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy_test - what `mosctl check|run --policy FILE` does with a file that
 * is hostile by shape rather than by content: a FIFO (whose open used to
 * wait for a writer for ever), a socket, a directory or a device, a policy
 * at and past the size bounds of Documentation/policy.md, and valid
 * policies large enough that anything quadratic in their size shows (60,000
 * environment variables took 64 s; 30,000 file rules and 30,000 denies, most
 * of a minute).  Each refusal is exit 125 with a message naming the file,
 * promptly, and the command never runs.
 *
 * mosctl runs under timeout(1) here, so that a hang fails in seconds
 * instead of at the harness's limit.  The figures in the comments are from
 * this 2-core development machine; the bounds asserted are generous.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#define LIMIT_S "20" /* what timeout(1) gives each mosctl */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		t_fail("out of memory");
	va_end(ap);
	return s;
}

/* `timeout LIMIT_S mosctl ARGS...` (NULL-terminated). */
static void mosctl_bounded(struct t_result *r, ...) __attribute__((sentinel));
static void mosctl_bounded(struct t_result *r, ...)
{
	char *argv[64];
	int n = 0;
	va_list ap;

	argv[n++] = "timeout";
	argv[n++] = "-k";
	argv[n++] = "2";
	argv[n++] = LIMIT_S;
	argv[n++] = (char *)t_mosctl_path();
	va_start(ap, r);
	while (n < 63 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	t_run(r, NULL, argv);
}

/* Write LEN bytes of BUF to PATH. */
static void write_bytes(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t off = 0;

	if (fd < 0)
		t_fail("cannot create %s: %s", path, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n <= 0)
			t_fail("cannot write %s: %s", path, strerror(errno));
		off += (size_t)n;
	}
	close(fd);
}

/* {"env": {"set": {"K0":"v", ...}}} with N variables, as a file. */
static char *env_policy(const char *name, size_t n)
{
	size_t cap = 64 + n * 24, l = 0;
	char *buf = malloc(cap), *path = t_path_kept(name);

	if (!buf)
		t_fail("out of memory");
	l += (size_t)snprintf(buf, cap, "{\"env\": {\"set\": {");
	for (size_t i = 0; i < n; i++)
		l += (size_t)snprintf(buf + l, cap - l, "%s\n\"K%zu\":\"v\"", i ? "," : "", i);
	l += (size_t)snprintf(buf + l, cap - l, "}}}\n");
	write_bytes(path, buf, l);
	free(buf);
	return path;
}

/* mosctl refused POLICY promptly (exit 125), naming it and saying WHY, and
 * the marker command did not run. */
static void expect_refused(const struct t_result *r, const char *policy, const char *why,
			   const char *marker, const char *what)
{
	if (r->status != 125 || !strstr(r->err, policy) || !strstr(r->err, why) ||
	    access(marker, F_OK) == 0 || r->seconds > 5) {
		t_dump(what, r);
		t_fail("%s: expected exit 125 within 5 s naming %s and \"%s\" (got %d after "
		       "%.1f s)",
		       what, policy, why, r->status, r->seconds);
	}
}

/*
 * A FIFO as the policy: open(2) waited for a writer for ever, in both
 * check and run (old code: killed by timeout(1) after 20 s, exit 124).
 */
TEST(policy_fifo_is_refused)
{
	char *fifo = t_path_kept("policy.json"), *marker = t_path_kept("marker");
	struct t_result r;

	if (mkfifo(fifo, 0644) < 0)
		t_fail("mkfifo %s: %s", fifo, strerror(errno));
	mosctl_bounded(&r, "check", "--policy", fifo, NULL);
	expect_refused(&r, fifo, "is a FIFO, not a regular file", marker, "check --policy FIFO");
	mosctl_bounded(&r, "run", "--policy", fifo, "-s", "-w", t_dir(), "--", "touch", marker,
		       NULL);
	expect_refused(&r, fifo, "is a FIFO, not a regular file", marker, "run --policy FIFO");
	/* ... and the FIFO is still a FIFO: nothing was written into it */
	{
		struct stat st;

		T_ASSERT(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
	}
}

/* A socket, a directory and a device are refused as well, each by name. */
TEST(policy_not_a_regular_file)
{
	char *sock = t_path_kept("s.json"), *dir = t_path_kept("d.json"),
	     *marker = t_path_kept("marker");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct t_result r;
	int fd;

	t_mkdir(dir);
	if (strlen(sock) >= sizeof(sa.sun_path))
		t_skip("t_dir() is too long for a unix socket path");
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
		t_fail("cannot listen on %s: %s", sock, strerror(errno));
	mosctl_bounded(&r, "run", "--policy", sock, "-s", "-w", t_dir(), "--", "touch", marker,
		       NULL);
	expect_refused(&r, sock, "is a socket, not a regular file", marker, "--policy SOCKET");
	close(fd);
	mosctl_bounded(&r, "run", "--policy", dir, "-s", "-w", t_dir(), "--", "touch", marker,
		       NULL);
	expect_refused(&r, dir, "is a directory, not a regular file", marker, "--policy DIR");
	mosctl_bounded(&r, "check", "--policy", "/dev/zero", NULL);
	expect_refused(&r, "/dev/zero", "is a character device, not a regular file", marker,
		       "--policy /dev/zero");
}

/*
 * 60,000 environment variables: checked (and run) in well under a second
 * now (old code: `mosctl check` 64 s, killed by timeout(1) here).
 */
TEST(policy_many_env_vars)
{
	char *pol = env_policy("env.json", 60000);
	struct t_result r;

	mosctl_bounded(&r, "check", "--policy", pol, NULL);
	t_note("check of 60,000 variables: %.2f s", r.seconds);
	if (r.status != 0 || !strstr(r.out, "policy is valid") || r.seconds > 3) {
		t_dump("check --policy env.json", &r);
		t_fail("expected a valid policy within 3 s");
	}
	mosctl_bounded(&r, "run", "--policy", pol, "-s", "--env", "K59999=from-the-flag", "--",
		       "/bin/sh", "-c", "echo \"$K0 $K31337 $K59999\"", NULL);
	t_note("run with 60,000 variables: %.2f s", r.seconds);
	if (r.status != 0 || strcmp(r.out, "v v from-the-flag\n") || r.seconds > 5) {
		t_dump("run --policy env.json", &r);
		t_fail("expected the variables in the command's environment within 5 s");
	}
}

/*
 * 30,000 read rules on files and 30,000 denies: the Landlock compiler
 * compared each grant with every earlier one and each allow with every
 * deny (old code: 1m 9s for this check, killed by timeout(1) here).
 */
TEST(policy_many_file_rules)
{
	size_t n = 30000, cap = 64 + n * 32, l = 0;
	char *buf = malloc(cap), *pol = t_path_kept("fs.json"), *files = t_path_kept("f");
	struct t_result r;

	if (!buf)
		t_fail("out of memory");
	t_mkdir(files);
	l += (size_t)snprintf(buf, cap, "{\"fs\": {\"read\": [");
	for (size_t i = 0; i < n; i++) {
		char *f = fmt("%s/%zu", files, i);
		int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			t_fail("cannot create %s: %s", f, strerror(errno));
		close(fd);
		/* relative to the policy's directory, to stay well within 1 MiB */
		l += (size_t)snprintf(buf + l, cap - l, "%s\"f/%zu\"", i ? "," : "", i);
		free(f);
	}
	l += (size_t)snprintf(buf + l, cap - l, "],\n \"deny\": [");
	/* denies that do not exist: the ones the compiler must split around */
	for (size_t i = 0; i < n; i++)
		l += (size_t)snprintf(buf + l, cap - l, "%s\"f/none/%zu\"", i ? "," : "", i);
	l += (size_t)snprintf(buf + l, cap - l, "]}}\n");
	write_bytes(pol, buf, l);
	free(buf);
	mosctl_bounded(&r, "check", "--backend", "landlock", "--policy", pol, NULL);
	t_note("check of %zu file rules and %zu denies: %.2f s", n, n, r.seconds);
	if (r.status != 0 || !strstr(r.out, "policy is valid") || r.seconds > 3) {
		t_dump("check --policy fs.json", &r);
		t_fail("expected a valid policy within 3 s");
	}
}

/* The bounds: 65,536 variables, 1 MiB; one more is refused, clearly. */
TEST(policy_size_bounds)
{
	char *ok = env_policy("max.json", 65536), *over = env_policy("over.json", 65537);
	char *big = t_path_kept("big.json"), *dup = t_path_kept("dup.json"),
	     *marker = t_path_kept("marker");
	size_t len = 1024 * 1024 + 1;
	char *buf = malloc(len);
	struct t_result r;

	mosctl_bounded(&r, "check", "--policy", ok, NULL);
	if (r.status != 0 || r.seconds > 3) {
		t_dump("check --policy max.json", &r);
		t_fail("65,536 variables are within the bound: expected a valid policy within 3 s");
	}
	mosctl_bounded(&r, "run", "--policy", over, "-s", "-w", t_dir(), "--", "touch", marker,
		       NULL);
	expect_refused(&r, over, "more than 65536 environment variables", marker, "65,537 vars");

	if (!buf)
		t_fail("out of memory");
	memset(buf, ' ', len);
	buf[0] = '{';
	buf[len - 2] = '}';
	buf[len - 1] = '\n';
	write_bytes(big, buf, len);
	free(buf);
	mosctl_bounded(&r, "run", "--policy", big, "-s", "-w", t_dir(), "--", "touch", marker,
		       NULL);
	expect_refused(&r, big, "is larger than 1048576 bytes", marker, "1 MiB + 1");

	/* duplicates are still reported, where they are */
	t_write_file(dup,
		     "{\"env\": {\"set\": {\"A\": \"1\",\n  \"B\": \"2\",\n  \"A\": \"3\"}}}\n");
	mosctl_bounded(&r, "run", "--policy", dup, "-s", "-w", t_dir(), "--", "touch", marker,
		       NULL);
	expect_refused(&r, fmt("%s:3:3", dup), "duplicate key \"A\" (first at line 1)", marker,
		       "duplicate key");
}
