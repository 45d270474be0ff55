// SPDX-License-Identifier: GPL-2.0-only
/*
 * harness.c - TAP runner for the selftests (see harness.h).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bpf_lsm_probe.h"
#include "kernel_features.h"

#define T_MAX_TESTS 256

struct t_entry {
	const char *name;
	t_fn fn;
	const char *file;
	int line;
};

static struct t_entry tests[T_MAX_TESTS];
static int ntests;
static char test_dir[4096];

/* Exit codes of a test process. */
enum { T_PASS = 0, T_FAIL = 1, T_SKIP = 4 };

void t_register(const char *name, t_fn fn, const char *file, int line)
{
	if (ntests < T_MAX_TESTS)
		tests[ntests++] = (struct t_entry){ name, fn, file, line };
}

/* Tests run in the order they appear in the file. */
static int by_line(const void *a, const void *b)
{
	const struct t_entry *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c ? c : x->line - y->line;
}

static void vnote(const char *prefix, const char *fmt, va_list ap)
{
	char buf[8192];
	char *line, *save = NULL;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("# %s%s\n", prefix, line);
	fflush(stdout);
}

void t_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote("", fmt, ap);
	va_end(ap);
}

void t_skip(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* The reason travels to the parent through a file in the test dir. */
	fd = open(t_path(".skip-reason"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)!write(fd, buf, strlen(buf));
		close(fd);
	}
	_exit(T_SKIP);
}

void t_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(T_FAIL);
}

const char *t_mosctl_path(void)
{
	const char *m = getenv("MOSCTL");

	return m ? m : "build/bin/mosctl";
}

const char *t_helper(const char *name)
{
	static char buf[8][4096];
	static int slot;
	const char *dir = getenv("HELPERS");
	char *b = buf[slot++ % 8];

	if (snprintf(b, sizeof(buf[0]), "%s/%s", dir ? dir : "build/selftests/helpers", name) >=
	    (int)sizeof(buf[0]))
		t_fail("helper path too long");
	if (access(b, X_OK) != 0)
		t_fail("helper %s is missing (build it: make selftests-build)", b);
	return b;
}

/* In the test: append LINE to FILE in t_dir(), for the runner to act on. */
static void record_for_runner(const char *file, const char *line)
{
	int fd = open(t_path(file), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || dprintf(fd, "%s\n", line) < 0)
		t_fail("cannot record '%s' for after the test: %s", line, strerror(errno));
	close(fd);
}

void t_remove_later(const char *path)
{
	record_for_runner(".remove-later", path);
}

void t_run_later(const char *cmd)
{
	record_for_runner(".run-later", cmd);
}

const char *t_dir(void)
{
	return test_dir;
}

const char *t_path(const char *name)
{
	static char buf[16][4096];
	static int slot;
	char *b = buf[slot++ % 16];

	if (snprintf(b, sizeof(buf[0]), "%s/%s", test_dir, name) >= (int)sizeof(buf[0]))
		t_fail("path too long: %s/%s", test_dir, name);
	return b;
}

void t_write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		t_fail("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

char *t_strdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		t_fail("out of memory");
	return d;
}

char *t_path_kept(const char *name)
{
	return t_strdup(t_path(name));
}

void t_mkdir(const char *path)
{
	if (mkdir(path, 0755) < 0)
		t_fail("mkdir %s: %s", path, strerror(errno));
}

char *t_slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0;

	if (fd < 0)
		return NULL;
	for (;;) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		char *nb;

		if (n <= 0)
			break;
		nb = realloc(buf, len + (size_t)n + 1);
		if (!nb)
			t_fail("out of memory");
		buf = nb;
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
	}
	close(fd);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

int t_accept_data(int lfd, int ms, char *buf, size_t len)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	size_t off = 0;
	int c;

	buf[0] = '\0';
	if (poll(&p, 1, ms) <= 0)
		return 0;
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return 0;
	for (;;) {
		struct pollfd q = { .fd = c, .events = POLLIN };
		ssize_t n;

		if (off + 1 >= len || poll(&q, 1, 2000) <= 0)
			break;
		n = read(c, buf + off, len - 1 - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	close(c);
	return 1;
}

void t_copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ssize_t n;

	if (in < 0 || out < 0)
		t_fail("cannot copy %s to %s: %s", from, to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			t_fail("cannot write %s: %s", to, strerror(errno));
	if (n < 0 || fchmod(out, mode) < 0)
		t_fail("cannot copy %s: %s", from, strerror(errno));
	close(in);
	close(out);
}

bool t_is_root(void)
{
	return geteuid() == 0;
}

int t_landlock_abi(void)
{
	return mos_landlock_abi();
}

bool t_userns(void)
{
	return mos_features()->userns;
}

void t_need_embedded_worker(void)
{
	if (access("/dev/fuse", F_OK) < 0)
		t_skip("no /dev/fuse (missing CONFIG_FUSE_FS?)");
	if (access("/dev/fuse", R_OK | W_OK) < 0)
		t_skip("/dev/fuse is not open to this user (Debian's udev rule makes it 0666; "
		       "scripts/install-deps does the same where no udev runs)");
	if (!t_is_root() && !t_userns())
		t_skip("no user namespaces for an unprivileged worker "
		       "(user.max_user_namespaces=0 or CONFIG_USER_NS off?)");
}

const char *t_origin_dir(const char *name)
{
	static char odir[128];

	t_need_embedded_worker();
	if (!odir[0]) {
		snprintf(odir, sizeof(odir), "/var/tmp/%s-XXXXXX", name);
		if (!mkdtemp(odir))
			t_fail("mkdtemp %s: %s", odir, strerror(errno));
		chmod(odir, 0755);
		t_remove_later(odir);
		setenv("MOS_LOCAL_CACHE", t_path("cache"), 1);
		setenv("XDG_CACHE_HOME", t_path("xdg"), 1);
	}
	return odir;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	if (!*buf)
		abort();
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

const char *t_backend(void)
{
	const char *b = getenv("MOS_TEST_BACKEND");

	return b && *b ? b : "auto";
}

bool t_supervised(void)
{
	return !strcmp(t_backend(), "unotify");
}

bool t_bpf_lsm(void)
{
	char why[160];

	return !strcmp(t_backend(), "bpf") && t_is_root() &&
	       mos_bpf_lsm_probe(why, sizeof(why)) == MOS_BPF_LSM_USABLE;
}

/*
 * With MOS_TEST_BACKEND set (selftests/run runs the sandbox suites once per
 * backend), `mosctl run|check ...` becomes `mosctl run|check --backend B ...`
 * unless the test chose a backend itself.
 */
static char *const *with_test_backend(char *const argv[])
{
	const char *b = getenv("MOS_TEST_BACKEND");
	static char *out[260];
	int n = 0;

	if (!b || !*b || strcmp(argv[0], t_mosctl_path()) || !argv[1] ||
	    (strcmp(argv[1], "run") && strcmp(argv[1], "check")))
		return argv;
	for (int i = 2; argv[i]; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--backend") || !strncmp(argv[i], "--backend=", 10))
			return argv;
	}
	out[n++] = argv[0];
	out[n++] = argv[1];
	out[n++] = "--backend";
	out[n++] = (char *)b;
	for (int i = 2; argv[i] && n < 259; i++)
		out[n++] = argv[i];
	out[n] = NULL;
	return out;
}

int t_run_keep_fd(struct t_result *r, const char *stdin_text, char *const argv[], int keep_fd)
{
	int out[2], err[2], in[2];
	size_t in_off = 0, in_len = stdin_text ? strlen(stdin_text) : 0;
	double start = now(), deadline = start + T_TIMEOUT;
	pid_t pid;
	int st;

	memset(r, 0, sizeof(*r));
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0)
		t_fail("pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		t_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(stdin_text ? in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (keep_fd >= 0)
			fcntl(keep_fd, F_SETFD, 0);
		argv = with_test_backend(argv);
		execvp(argv[0], argv);
		fprintf(stderr, "harness: cannot exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	close(in[0]);
	if (!stdin_text) {
		close(in[1]);
		in[1] = -1;
	} else {
		fcntl(in[1], F_SETFL, O_NONBLOCK);
	}
	signal(SIGPIPE, SIG_IGN);
	for (int open_fds = 2; open_fds > 0;) {
		struct pollfd p[3] = {
			{ .fd = out[0], .events = POLLIN },
			{ .fd = err[0], .events = POLLIN },
			{ .fd = in[1], .events = POLLOUT },
		};
		double left = deadline - now();
		char buf[65536];

		if (left <= 0) {
			kill(pid, SIGKILL);
			t_note("timeout after %d s: killed %s", T_TIMEOUT, argv[0]);
			break;
		}
		if (poll(p, 3, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP))) {
				ssize_t n = read(p[i].fd, buf, sizeof(buf));

				if (n > 0) {
					if (i == 0)
						append(&r->out, &r->out_len, buf, (size_t)n);
					else
						append(&r->err, &r->err_len, buf, (size_t)n);
				} else {
					close(p[i].fd);
					if (i == 0)
						out[0] = -1;
					else
						err[0] = -1;
					open_fds--;
				}
			}
		}
		if (in[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = write(in[1], stdin_text + in_off, in_len - in_off);

			if (n > 0)
				in_off += (size_t)n;
			if (n < 0 || in_off == in_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
	}
	if (out[0] >= 0)
		close(out[0]);
	if (err[0] >= 0)
		close(err[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (waitpid(pid, &st, 0) < 0)
		t_fail("waitpid: %s", strerror(errno));
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->seconds = now() - start;
	return 0;
}

int t_run(struct t_result *r, const char *stdin_text, char *const argv[])
{
	return t_run_keep_fd(r, stdin_text, argv, -1);
}

int t_mosctlv(struct t_result *r, const char *stdin_text, char *const args[])
{
	char *argv[256];
	int n = 0;

	argv[n++] = (char *)t_mosctl_path();
	for (int i = 0; args[i] && n < 255; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return t_run(r, stdin_text, argv);
}

int t_mosctl(struct t_result *r, ...)
{
	char *args[256];
	int n = 0;
	va_list ap;

	va_start(ap, r);
	while (n < 255 && (args[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	return t_mosctlv(r, NULL, args);
}

void t_result_free(struct t_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

void t_dump(const char *what, const struct t_result *r)
{
	t_note("%s: status %d after %.2f s", what, r->status, r->seconds);
	if (r->out_len)
		t_note("stdout: %.2000s", r->out);
	if (r->err_len)
		t_note("stderr: %.2000s", r->err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? 0 : 0;
	unlink(path);
	return 0;
}

static void rm_rf(const char *dir)
{
	/* Test files may have been made read-only: give the owner access back. */
	nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

/* In the runner, after the test: FN on each line the test recorded in FILE. */
static void for_each_recorded(const char *file, void (*fn)(const char *line))
{
	char buf[8192], *line, *save = NULL;
	int fd = open(t_path(file), O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fn(line);
}

static void run_recorded(const char *cmd)
{
	if (system(cmd) != 0) {
		/* best effort: the command says what failed */
	}
}

static void remove_recorded(const char *path)
{
	if (path[0] == '/')
		rm_rf(path);
}

static int run_one(int idx, const struct t_entry *t)
{
	char reason[512] = "";
	const char *base = getenv("TMPDIR");
	double start = now();
	pid_t pid;
	int st, fd;

	if (snprintf(test_dir, sizeof(test_dir), "%s/mos-test-%s-XXXXXX", base ? base : "/tmp",
		     t->name) >= (int)sizeof(test_dir) ||
	    !mkdtemp(test_dir)) {
		printf("not ok %d %s # cannot create a test directory: %s\n", idx, t->name,
		       strerror(errno));
		return T_FAIL;
	}
	chmod(test_dir, 0755);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		alarm(T_TIMEOUT * 2 + 10);
		t->fn();
		_exit(T_PASS);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		st = T_FAIL << 8;
	kill(-pid, SIGKILL); /* leftovers of a failed test */
	fd = open(t_path(".skip-reason"), O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, reason, sizeof(reason) - 1);

		reason[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	for_each_recorded(".run-later", run_recorded);
	for_each_recorded(".remove-later", remove_recorded);
	rm_rf(test_dir);
	if (getenv("T_TIMES"))
		printf("# %s: %.2f s\n", t->name, now() - start);
	if (WIFEXITED(st) && WEXITSTATUS(st) == T_PASS) {
		printf("ok %d %s\n", idx, t->name);
		return T_PASS;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == T_SKIP) {
		printf("ok %d %s # SKIP %s\n", idx, t->name, reason);
		return T_SKIP;
	}
	if (WIFSIGNALED(st))
		printf("# test process killed by signal %d%s\n", WTERMSIG(st),
		       WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
	printf("not ok %d %s\n", idx, t->name);
	return T_FAIL;
}

int main(int argc, char **argv)
{
	int fails = 0, skips = 0, selected = 0;
	const char *only = argc > 1 ? argv[1] : getenv("T_ONLY");

	setvbuf(stdout, NULL, _IOLBF, 0);
	qsort(tests, (size_t)ntests, sizeof(tests[0]), by_line);
	for (int i = 0; i < ntests; i++)
		if (!only || strstr(tests[i].name, only))
			selected++;
	printf("TAP version 13\n1..%d\n", selected);
	for (int i = 0, n = 0; i < ntests; i++) {
		int r;

		if (only && !strstr(tests[i].name, only))
			continue;
		r = run_one(++n, &tests[i]);
		fails += r == T_FAIL;
		skips += r == T_SKIP;
	}
	printf("# %d passed, %d failed, %d skipped\n", selected - fails - skips, fails, skips);
	return fails ? 1 : 0;
}
