// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosctl make [MOSCTL OPTIONS --] [MAKE ARGS...] - GNU make here, each
 * recipe it starts a job on the pool (Documentation/farm.md, "mosctl make").
 *
 * make runs every recipe line as $(SHELL) $(.SHELLFLAGS) LINE; mosctl make
 * starts make with --eval=%:SHELL=<this mosctl>, a pattern-specific SHELL
 * for every target (sub-makes inherit --eval through MAKEFLAGS; $(shell)
 * while make reads its makefiles keeps the makefile's own shell and runs
 * here), and MOS_MAKE_SHELL set, and mosctl called
 * as a shell (argv[1] the shell flags, "-c" or "-ec") sends the line to the
 * pool as `/bin/sh FLAGS LINE`: it reads this machine's whole filesystem and
 * writes beneath make's current directory.  A line stays here (exec of
 * /bin/sh, as make would have run it) when MOS_LOCAL is set in its
 * environment (`target: export MOS_LOCAL := 1`), when it runs make itself
 * (a sub-make must run here, so that its recipes go to the pool too), and
 * when it only does a shell's bookkeeping (set, trap, printf >> FILE, rm,
 * mv: bookkeeping_only).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_cc.h"
#include "cmd_make.h"
#include "cmd_run.h"
#include "log.h"
#include "pool.h"
#include "remote_run.h"
#include "sandbox.h"
#include "sh_line.h"
#include "util.h"

/* Whether LINE runs make: the word "make" or "$(MAKE)"'s usual values. */
static bool runs_make(const char *line)
{
	for (const char *p = line; (p = strstr(p, "make")); p += 4) {
		char before = p == line ? ' ' : p[-1], after = p[4];

		if ((before == ' ' || before == '\t' || before == '/' || before == ';' ||
		     before == '(' || before == '&' || before == '|' || before == '\n') &&
		    (after == '\0' || after == ' ' || after == '\t' || after == ';' ||
		     after == '\n' || after == ')'))
			return true;
	}
	return false;
}

/* Whether environment variable NAME is set, not empty and not "0". */
static bool env_on(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

/*
 * The commands a line may run and still run here: the shell's own
 * bookkeeping and the utilities that move files about.  Sent to the pool,
 * each such line is a job (a round trip and a sandbox, ~15 ms) for what
 * takes a millisecond here, and what it writes lands in the same place.
 */
static const char *const here_cmds[] = {
	":",  "true", "false", "set",   "trap",  "echo",  "printf", "test", "[",
	"exit", "cd", "export", "unset", "umask", "rm",  "rmdir",  "mv",   "cp",
	"ln", "mkdir", "touch", "cat",   "cmp",   "chmod",
};

#define HERE_MAX 64

/*
 * Whether LINE only does bookkeeping (sh_line.h): every command it runs is
 * one of here_cmds or of MOS_MAKE_LOCAL_CMDS (mosctl make --local-cmd,
 * colon-separated).  Never with MOS_MAKE_ALL_REMOTE.
 */
static bool bookkeeping_only(const char *line)
{
	const char *extra = getenv("MOS_MAKE_LOCAL_CMDS");
	const char *names[HERE_MAX];
	_cleanup_free_ char *copy = NULL;
	size_t n = 0;

	if (env_on("MOS_MAKE_ALL_REMOTE"))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(here_cmds); i++)
		names[n++] = here_cmds[i];
	if (extra && *extra) {
		char *save = NULL;

		copy = xstrdup(extra);
		for (char *w = strtok_r(copy, ":", &save); w && n < HERE_MAX;
		     w = strtok_r(NULL, ":", &save))
			names[n++] = w;
	}
	return sh_line_runs_only(line, names, n);
}

bool cmd_make_is_shell_call(int argc, char **argv)
{
	const char *m = getenv("MOS_MAKE_SHELL");

	return m && *m && argc >= 3 && argv[1][0] == '-' && strchr(argv[1], 'c');
}

/* The word of MAKEFLAGS that makes every target's SHELL this mosctl. */
#define OUR_EVAL "--eval=%:SHELL="

/*
 * MAKEFLAGS without our --eval word: words are split on spaces that make
 * did not escape with a backslash.
 */
static void strip_our_shell(void)
{
	const char *mf = getenv("MAKEFLAGS");
	char *out, *o;

	if (!mf)
		return;
	out = o = xmalloc(strlen(mf) + 1);
	for (const char *p = mf; *p;) {
		const char *w = p;

		while (*p && *p != ' ')
			p += p[0] == '\\' && p[1] ? 2 : 1;
		if (p > w && strncmp(w, OUR_EVAL, strlen(OUR_EVAL))) {
			if (o > out)
				*o++ = ' ';
			memcpy(o, w, (size_t)(p - w));
			o += p - w;
		}
		while (*p == ' ')
			p++;
	}
	*o = '\0';
	setenv("MAKEFLAGS", out, 1);
	free(out);
}

/*
 * MOS_MAKE_TRACE=FILE: one line a recipe line, "remote MS LINE" or
 * "local - LINE" (Documentation/farm.md), appended whole.
 */
static void trace(const char *where, long ms, const char *line)
{
	const char *path = getenv("MOS_MAKE_TRACE");
	char buf[4096];
	int fd, n;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (ms < 0)
		n = snprintf(buf, sizeof(buf), "%s - ", where);
	else
		n = snprintf(buf, sizeof(buf), "%s %ld ", where, ms);
	for (const char *p = line; *p && n < (int)sizeof(buf) - 2; p++)
		buf[n++] = *p == '\n' || *p == '\t' ? ' ' : *p;
	buf[n++] = '\n';
	if (write(fd, buf, (size_t)n) < 0) {
		/* a trace is best effort */
	}
	close(fd);
}

int cmd_make_shell(int argc, char **argv)
{
	char cwd[PATH_MAX];
	char *av[20];
	int n = 0;

	/* In a job already (a script there ran make, with our SHELL): the
	 * line is that job's to run, in its sandbox. */
	if (argc != 3 || getenv("MOS_MAKE_IN_JOB") || env_on("MOS_LOCAL") || runs_make(argv[2]) ||
	    bookkeeping_only(argv[2]) || !getcwd(cwd, sizeof(cwd))) {
		if (argc == 3)
			trace("local", -1, argv[2]);
		argv[0] = "/bin/sh";
		execv("/bin/sh", argv);
		mos_err("make: /bin/sh: %s", strerror(errno));
		return 127;
	}
	av[n++] = "run";
	av[n++] = "--agent"; /* a warm session from recipe to recipe (MOS_AGENT=0: not) */
	if (cc_stats_wanted())
		av[n++] = "--stats";
	av[n++] = "--on";
	av[n++] = (char *)cc_default_on(); /* MOS_ON, which mosctl make set */
	if (getenv("MOS_MAKE_NO_LOCAL"))
		av[n++] = "--no-local";
	if (getenv("MOS_MAKE_VERBOSE"))
		av[n++] = "-v";
	av[n++] = "-r";
	av[n++] = "/";
	av[n++] = "-w";
	av[n++] = cwd;
	av[n++] = "--";
	av[n++] = "/bin/sh";
	av[n++] = argv[1];
	av[n++] = argv[2];
	av[n] = NULL;
	fflush(NULL);
	/* A make the job starts itself (a script that runs make) takes make's
	 * flags from the environment: not our --eval (this mosctl's path may
	 * not even be there: a job's /tmp is the worker's), so that it runs its
	 * lines with /bin/sh in the job; MOS_MAKE_IN_JOB says the same to a
	 * mosctl it would still take as its shell. */
	strip_our_shell();
	setenv("MOS_MAKE_IN_JOB", "1", 1);
	{
		uint64_t t0 = mono_ms();
		int st = cmd_run(n, av);

		trace("remote", (long)(mono_ms() - t0), argv[2]);
		return st;
	}
}

/* The pool's slots: a worker without a slot count counts as this machine's CPUs. */
static unsigned pool_slots(const char *spec)
{
	_cleanup_free_ char *dir = remote_config_dir();
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct pool p = { 0 };
	char err[512];
	unsigned slots = 0;

	if (cpus < 1)
		cpus = 1;
	if (pool_load(&p, spec, dir, err, sizeof(err)) < 0)
		return (unsigned)cpus;
	for (size_t i = 0; i < p.n; i++)
		slots += p.w[i].slots ? p.w[i].slots : (unsigned)cpus;
	pool_free(&p);
	return slots ? slots : 1;
}

static bool has_jobs_arg(int argc, char **argv)
{
	const char *mf = getenv("MAKEFLAGS");

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strncmp(argv[i], "-j", 2) || !strncmp(argv[i], "--jobs", 6))
			return true;
	}
	return mf && (strstr(mf, "-j") || strstr(mf, "jobserver"));
}

int cmd_make(int argc, char **argv)
{
	char self[PATH_MAX], shell[PATH_MAX + 32], jobs[32];
	const char *spec = cc_default_on();
	char **av;
	int first = 1, n = 0;
	ssize_t len;

	/* mosctl's own options, up to a "--" */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--"))
			continue;
		for (int j = 1; j < i; j++) {
			if (!strcmp(argv[j], "--on") && j + 1 < i) {
				spec = argv[++j];
			} else if (!strncmp(argv[j], "--on=", 5)) {
				spec = argv[j] + 5;
			} else if (!strcmp(argv[j], "--no-local")) {
				setenv("MOS_MAKE_NO_LOCAL", "1", 1);
			} else if (!strcmp(argv[j], "-v")) {
				setenv("MOS_MAKE_VERBOSE", "1", 1);
			} else if (!strcmp(argv[j], "--all-remote")) {
				setenv("MOS_MAKE_ALL_REMOTE", "1", 1);
			} else if ((!strcmp(argv[j], "--local-cmd") && j + 1 < i) ||
				   !strncmp(argv[j], "--local-cmd=", 12)) {
				const char *v = argv[j][11] == '=' ? argv[j] + 12 : argv[++j];
				const char *old = getenv("MOS_MAKE_LOCAL_CMDS");
				_cleanup_free_ char *all = xasprintf("%s%s%s", old ? old : "",
								     old && *old ? ":" : "", v);

				if (!*v || strchr(v, ':')) {
					mos_err("make: --local-cmd takes one command name or path end, "
						"not '%s'", v);
					return MOS_EXIT_SETUP;
				}
				setenv("MOS_MAKE_LOCAL_CMDS", all, 1);
			} else {
				mos_err("make: unknown option '%s' (mosctl make [--on SPEC] "
					"[--no-local] [--all-remote] [--local-cmd NAME]... [-v] "
					"-- [MAKE ARGS...])",
					argv[j]);
				return MOS_EXIT_SETUP;
			}
		}
		first = i + 1;
		break;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0) {
		mos_err("make: cannot find this mosctl: %s", strerror(errno));
		return MOS_EXIT_SETUP;
	}
	self[len] = '\0';
	snprintf(shell, sizeof(shell), "%s%s", OUR_EVAL, self);
	setenv("MOS_ON", spec, 1);
	setenv("MOS_MAKE_SHELL", "1", 1);
	av = xcalloc((size_t)argc + 4, sizeof(*av));
	av[n++] = "make";
	if (!has_jobs_arg(argc - first, argv + first)) {
		snprintf(jobs, sizeof(jobs), "-j%u", pool_slots(spec));
		av[n++] = jobs;
	}
	av[n++] = shell;
	for (int i = first; i < argc; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	execvp("make", av);
	mos_err("make: cannot run make: %s", strerror(errno));
	free(av);
	return 127;
}
