// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_run_backend - in a guest with the BPF LSM (tests/vm/run): `mosctl run
 * --backend bpf` confines the command with a BPF LSM domain (not Landlock),
 * and `mosctl version` and `check` say so.  This program is mosctl too (its
 * main, linked in as mosctl_main): run as "mosctl" it is mosctl, otherwise
 * it runs the tests, calling itself.  TAP; static.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpf_lsm_probe.h"
#include "lsm_domain.h"
#include "tap.h"

int mosctl_main(int argc, char **argv);


/* mosctl ARGS..., its output (stdout and stderr) in OUT; its exit status. */
static int mosctl(char *out, size_t len, ...)
{
	char *argv[32] = { (char *)"mosctl" };
	int p[2], st, argc = 1;
	size_t got = 0;
	ssize_t k;
	va_list ap;
	pid_t pid;

	va_start(ap, len);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[1]);
	while (got + 1 < len && (k = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)k;
	out[got] = '\0';
	close(p[0]);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One line of OUT, for a TAP comment. */
static const char *line_of(const char *out, const char *needle, char *buf, size_t size)
{
	const char *at = strstr(out, needle), *end;

	if (!at) {
		snprintf(buf, size, "no '%s' in: %.300s", needle, out);
		return buf;
	}
	while (at > out && at[-1] != '\n')
		at--;
	end = strchr(at, '\n');
	snprintf(buf, size, "%.*s", (int)(end ? end - at : (long)strlen(at)), at);
	return buf;
}

struct seen {
	uint64_t ino;
	uint32_t dev;
	int hits;
};

static void on_event(const struct lsm_event *ev, void *arg)
{
	struct seen *s = arg;

	if (ev->op == MOS_LSM_OP_OPEN && ev->ino == s->ino && ev->dev == s->dev)
		s->hits++;
}

int main(int argc, char **argv)
{
	static char out[16384];
	char why[256], buf[512];
	struct lsm_ctl *ctl = NULL;
	struct mos_err e;
	struct stat st;
	size_t before = 0;
	int r, fd;

	if (!strcmp(basename(argv[0]), "mosctl"))
		return mosctl_main(argc, argv);
	printf("TAP version 13\n");
	if (mos_bpf_lsm_probe(why, sizeof(why)) != MOS_BPF_LSM_USABLE) {
		printf("1..0 # SKIP BPF LSM: %s (missing CONFIG_BPF_LSM or lsm=...,bpf?)\n", why);
		return 0;
	}
	mkdir("/tmp/b", 0755);
	mkdir("/tmp/b/ro", 0755);
	fd = open("/tmp/b/ro/f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "hello\n", 6) != 6)
		return 1;
	close(fd);
	fd = open("/tmp/b/other", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "other\n", 6) != 6)
		return 1;
	close(fd);

	/* the domains before: the runs' own must be gone after */
	if (lsm_ctl_open(&ctl, &e) < 0) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	{
		struct lsm_domain_info *v = NULL;

		lsm_domain_list(ctl, &v, &before);
		free(v);
	}
	r = mosctl(out, sizeof(out), "version", NULL);
	result(r == 0 && strstr(out, "bpf (files and network: the BPF LSM"),
	       "mosctl version: the bpf backend's rules are enforced by the BPF LSM", "%s",
	       line_of(out, "backends:", buf, sizeof(buf)));
	r = mosctl(out, sizeof(out), "check", "--backend", "bpf", "-r", "/tmp/b/ro", "-r", "/bin",
		   "--", "true", NULL);
	result(r == 0 && strstr(out, "backend bpf: the BPF LSM"),
	       "mosctl check --backend bpf: the BPF LSM enforces the rules", "%s",
	       line_of(out, "backend bpf", buf, sizeof(buf)));
	r = mosctl(out, sizeof(out), "check", "--backend", "bpf", "-r", "/proc", "-r", "/bin", "--",
		   "true", NULL);
	result(r == 0 && strstr(out, "BPF LSM: not used for this policy") &&
		       strstr(out, "Landlock for the files"),
	       "mosctl check --backend bpf -r /proc: Landlock and cgroup BPF, and says why", "%s",
	       line_of(out, "BPF LSM: not used", buf, sizeof(buf)));
	r = mosctl(out, sizeof(out), "run", "--backend", "bpf", "-r", "/tmp/b/ro", "-r", "/bin",
		   "--", "/bin/busybox", "cat", "/tmp/b/ro/f", NULL);
	result(r == 0 && strstr(out, "hello"), "mosctl run --backend bpf: a granted file reads",
	       "status %d: %.200s", r, out);
	r = mosctl(out, sizeof(out), "run", "--backend", "bpf", "-r", "/tmp/b/ro", "-r", "/bin",
		   "--", "/bin/busybox", "cat", "/tmp/b/other", NULL);
	result(r != 0 && strstr(out, "Permission denied") && !strstr(out, "other\n"),
	       "mosctl run --backend bpf: an ungranted file is EACCES", "status %d: %.200s", r,
	       out);
	/* the refusal came from the BPF LSM: its record is in the ring buffer */
	{
		struct seen s = { 0 };
		struct lsm_domain_info *v = NULL;
		size_t nv = 0;

		stat("/tmp/b/other", &st);
		s.ino = st.st_ino;
		s.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
		for (int i = 0; i < 10 && lsm_events_poll(ctl, 100, on_event, &s) > 0; i++)
			;
		lsm_domain_list(ctl, &v, &nv);
		result(s.hits >= 1 && nv == before,
		       "the BPF LSM refused it (one record in its ring buffer), and the run's "
		       "domains are gone",
		       "%d record(s) on that inode, %zu domain(s) before, %zu after", s.hits,
		       before, nv);
		free(v);
		lsm_ctl_close(ctl);
	}
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
