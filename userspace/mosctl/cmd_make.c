// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosctl make [MOSCTL OPTIONS --] [MAKE ARGS...] - GNU make here, each
 * recipe it starts a job on the pool (Documentation/farm.md, "mosctl make").
 *
 * make runs every recipe line as $(SHELL) $(.SHELLFLAGS) LINE; mosctl make
 * starts make with SHELL=<this mosctl> on its command line (so sub-makes
 * inherit it through MAKEFLAGS) and MOS_MAKE_SHELL set, and mosctl called
 * as a shell (argv[1] the shell flags, "-c" or "-ec") sends the line to the
 * pool as `/bin/sh FLAGS LINE`: it reads this machine's whole filesystem and
 * writes beneath make's current directory.  A line stays here (exec of
 * /bin/sh, as make would have run it) when MOS_LOCAL is set in its
 * environment (`target: export MOS_LOCAL := 1`) or when it runs make itself
 * (a sub-make must run here, so that its recipes go to the pool too).
 */
#include <errno.h>
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

static bool local_marked(void)
{
	const char *v = getenv("MOS_LOCAL");

	return v && *v && strcmp(v, "0");
}

bool cmd_make_is_shell_call(int argc, char **argv)
{
	const char *m = getenv("MOS_MAKE_SHELL");

	return m && *m && argc >= 3 && argv[1][0] == '-' && strchr(argv[1], 'c');
}

/* MAKEFLAGS without the SHELL= word among its variables (after " -- "). */
static void strip_our_shell(void)
{
	const char *mf = getenv("MAKEFLAGS");
	const char *vars = mf ? strstr(mf, " -- ") : NULL;
	char *out, *w, *save = NULL;
	size_t len;

	if (!vars)
		return;
	len = strlen(mf);
	out = xmalloc(len + 1);
	memcpy(out, mf, (size_t)(vars - mf) + 4);
	out[vars - mf + 4] = 0;
	{
		_cleanup_free_ char *copy = xstrdup(vars + 4);

		for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (!strncmp(w, "SHELL=", 6))
				continue;
			strcat(out, w);
			strcat(out, " ");
		}
	}
	len = strlen(out);
	while (len && out[len - 1] == ' ')
		out[--len] = 0;
	if (len >= 3 && !strcmp(out + len - 3, " --"))
		out[len - 3] = 0; /* no variable left */
	setenv("MAKEFLAGS", out, 1);
	free(out);
}

int cmd_make_shell(int argc, char **argv)
{
	char cwd[PATH_MAX];
	char *av[20];
	int n = 0;

	/* In a job already (a script there ran make, with our SHELL): the
	 * line is that job's to run, in its sandbox. */
	if (argc != 3 || getenv("MOS_MAKE_IN_JOB") || local_marked() || runs_make(argv[2]) ||
	    !getcwd(cwd, sizeof(cwd))) {
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
	 * flags from the environment: not our SHELL= (this mosctl's path may
	 * not even be there: a job's /tmp is the worker's), so that it runs its
	 * lines with /bin/sh in the job; MOS_MAKE_IN_JOB says the same to a
	 * mosctl it would still take as its shell. */
	strip_our_shell();
	setenv("MOS_MAKE_IN_JOB", "1", 1);
	return cmd_run(n, av);
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
	char self[PATH_MAX], shell[PATH_MAX + 8], jobs[32];
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
			} else {
				mos_err("make: unknown option '%s' (mosctl make [--on SPEC] "
					"[--no-local] [-v] -- [MAKE ARGS...])",
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
	snprintf(shell, sizeof(shell), "SHELL=%s", self);
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
