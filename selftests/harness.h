/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * harness.h - a small kselftest-style harness producing TAP.
 *
 *   TEST(name) { ... }        one test; runs in its own forked process with
 *                             a timeout (T_TIMEOUT seconds, default 60)
 *   T_ASSERT(cond)            fail the test (with file:line) if COND is false
 *   T_EXPECT_EQ(a, b)         integers
 *   T_EXPECT_STR(s, needle)   S contains NEEDLE
 *   T_EXPECT_NO_STR(s, n)     S does not contain N (e.g. a secret's bytes)
 *   t_skip("missing X")       the test cannot run here: "ok N name # SKIP ..."
 *   t_fail("why")             fail now
 *
 * Running processes:
 *   t_mosctl(&res, "run", "-r", "/usr", "--", "cmd", NULL)   runs $MOSCTL
 *   t_run(&res, stdin_text, argv)                             any program
 *   t_helper("probe_fs")     path of a helper built from selftests/helpers/
 * Results hold the exit status as mosctl reports it (code, or 128+signal),
 * stdout and stderr (NUL-terminated).
 *
 * Each test gets a fresh private directory, t_dir(), removed afterwards.
 * With T_TIMES set in the environment, each test's wall time is noted.
 * Output is TAP version 13; the program exits 0 when nothing failed (skips
 * are not failures but are counted and listed separately by selftests/run).
 */
#ifndef MOS_SELFTEST_HARNESS_H
#define MOS_SELFTEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#ifndef T_TIMEOUT
#define T_TIMEOUT 60
#endif

typedef void (*t_fn)(void);

void t_register(const char *name, t_fn fn, const char *file, int line);

#define TEST(name)                                                  \
	static void name(void);                                     \
	__attribute__((constructor)) static void t_reg_##name(void) \
	{                                                           \
		t_register(#name, name, __FILE__, __LINE__);        \
	}                                                           \
	static void name(void)

void t_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void t_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define t_fail(...) t_fail_at(__FILE__, __LINE__, __VA_ARGS__)
/* A diagnostic line ("# ...") in the TAP stream. */
void t_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define T_ASSERT(cond)                                         \
	do {                                                   \
		if (!(cond))                                   \
			t_fail("assertion failed: %s", #cond); \
	} while (0)

#define T_EXPECT_EQ(a, b)                                                              \
	do {                                                                           \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                \
		if (t_a_ != t_b_)                                                      \
			t_fail("%s == %lld, expected %s == %lld", #a, t_a_, #b, t_b_); \
	} while (0)

#define T_EXPECT_STR(s, needle)                                                          \
	do {                                                                             \
		const char *t_s_ = (s);                                                  \
		if (!t_s_ || !strstr(t_s_, (needle)))                                    \
			t_fail("%s does not contain \"%s\"; it is \"%s\"", #s, (needle), \
			       t_s_ ? t_s_ : "(null)");                                  \
	} while (0)

#define T_EXPECT_NO_STR(s, needle)                                               \
	do {                                                                     \
		const char *t_s_ = (s);                                          \
		if (t_s_ && strstr(t_s_, (needle)))                              \
			t_fail("%s contains \"%s\" and must not", #s, (needle)); \
	} while (0)

struct t_result {
	int status; /* exit code, or 128+N when killed by signal N */
	char *out;  /* stdout, NUL-terminated */
	size_t out_len;
	char *err; /* stderr, NUL-terminated */
	size_t err_len;
	double seconds; /* wall time */
};

/*
 * Run ARGV with STDIN_TEXT (NULL: /dev/null) as standard input, capturing
 * stdout and stderr; kills it after T_TIMEOUT seconds.  Returns 0 or fails
 * the test when the program could not be started.
 */
int t_run(struct t_result *r, const char *stdin_text, char *const argv[]);
/* Like t_run with extra fds: child gets fd KEEP_FD (if >= 0) as is. */
int t_run_keep_fd(struct t_result *r, const char *stdin_text, char *const argv[], int keep_fd);
/* Run $MOSCTL with the given arguments (NULL-terminated). */
int t_mosctl(struct t_result *r, ...) __attribute__((sentinel));
/* Same with an argv array (argv[0] is the first argument to mosctl). */
int t_mosctlv(struct t_result *r, const char *stdin_text, char *const args[]);
void t_result_free(struct t_result *r);
/* Print a result as TAP diagnostics (useful before failing). */
void t_dump(const char *what, const struct t_result *r);

const char *t_mosctl_path(void);
const char *t_helper(const char *name);
/* This test's private directory (mode 0755), removed after the test. */
/* The backend the sandbox suites run on: $MOS_TEST_BACKEND, or "auto". */
const char *t_backend(void);
/* True when the supervisor (seccomp user notification) enforces the rules. */
bool t_supervised(void);
/*
 * True when the BPF LSM enforces them: --backend bpf, as root, where the
 * staged probe finds the BPF LSM usable (and the policy grants no /proc,
 * which only Landlock can grant from inside).  Else bpf means Landlock and
 * cgroup BPF.
 */
bool t_bpf_lsm(void);
const char *t_dir(void);
/* Join t_dir() and NAME into a static-lifetime string. */
const char *t_path(const char *name);
/* Remove PATH (recursively) after the test, like t_dir(): for a directory a
 * test had to make elsewhere (a remote job's /tmp is not the origin's). */
void t_remove_later(const char *path);
/* Run shell command CMD after the test, passed or failed (e.g. delete the
 * network namespaces it made). */
void t_run_later(const char *cmd);
/* Write CONTENT to PATH (mode 0644); fails the test on error. */
void t_write_file(const char *path, const char *content);
/* strdup or fail the test. */
char *t_strdup(const char *s);
/* t_path(NAME) in a string of its own (t_path() rotates a few buffers). */
char *t_path_kept(const char *name);
/* mkdir PATH 0755 or fail the test. */
void t_mkdir(const char *path);
/* The whole content of PATH (malloc'd, NUL-terminated), or NULL when it
 * cannot be read (missing). */
char *t_slurp(const char *path);
/*
 * Accept one connection waiting on listening socket LFD within MS
 * milliseconds and read what it sends into BUF (until EOF, at most LEN-1
 * bytes).  Returns 1 with a connection, 0 without.
 */
int t_accept_data(int lfd, int ms, char *buf, size_t len);
/* Copy FROM to TO with MODE (e.g. a program to run from a test's directory). */
void t_copy_file(const char *from, const char *to, mode_t mode);
/* True when running as uid 0. */
bool t_is_root(void);

/* Feature probes shared with mosctl (same answers as `mosctl version`). */
int t_landlock_abi(void);
bool t_userns(void);
/* Skip (naming what is missing) unless `mosctl run --on local` can work
 * here: /dev/fuse open to us, and user namespaces when not root. */
void t_need_embedded_worker(void);
/*
 * t_need_embedded_worker(), then a directory of the origin's files for the
 * test, /var/tmp/NAME-XXXXXX (mode 0755, removed after the test: not under
 * /tmp, which a job sees only where it names it), with the embedded
 * worker's cache and the origin's caches (MOS_LOCAL_CACHE, XDG_CACHE_HOME,
 * the agent's socket with them) in the test's own directory.  Made on the
 * first call; the same path after.
 */
const char *t_origin_dir(const char *name);

#endif /* MOS_SELFTEST_HARNESS_H */
