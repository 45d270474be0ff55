// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosctl cc COMPILER ARGS... - distcc's masquerade: CC="mosctl cc gcc".
 *
 * Which invocations go remote: those that compile (-c or -S) at least one
 * source file and do not only preprocess (-E). Everything else (linking,
 * -E, -M without -c, --version) runs COMPILER here, unconfined, exactly as
 * make would have run it: exec, so status and output are the compiler's.
 *
 * A remote compile reads the system (--system), the current directory's
 * tree, each -I/-iquote/-isystem/-include directory and each source file's
 * directory, and writes beneath the current directory's tree and the
 * directory of each -o and -MF file (so a relative -o beneath cwd, an
 * absolute -o elsewhere, -MD/-MF dependency files and -save-temps outputs
 * all land on the origin). Its exit status and stderr are the compiler's.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd_cc.h"
#include "cmd_run.h"
#include "jobserver.h"
#include "log.h"
#include "options.h"
#include "pool.h"
#include "remote_run.h"
#include "sandbox.h"
#include "util.h"

/* The default SPEC of mosctl cc and mosctl make: MOS_ON, else local. */
const char *cc_default_on(void)
{
	const char *on = pool_default_spec();

	return on ? on : "local";
}

bool cc_stats_wanted(void)
{
	const char *v = getenv("MOS_STATS");

	return v && !strcmp(v, "1");
}

static int is_source(const char *a)
{
	static const char *const ext[] = { ".c", ".cc", ".cpp", ".cxx", ".C",	".i", ".ii",
					   ".s", ".S",	".m",	".f",	".f90", ".F", NULL };
	const char *dot = strrchr(a, '.');

	if (a[0] == '-' || !dot)
		return 0;
	for (int i = 0; ext[i]; i++)
		if (!strcmp(dot, ext[i]))
			return 1;
	return 0;
}

/*
 * The first LEN bytes of PATH made absolute against CWD, into BUF (PATH_MAX):
 * 0, or -ENAMETOOLONG.
 */
static int absolute(char *buf, const char *cwd, const char *path, int len)
{
	int w;

	if (path[0] == '/')
		w = snprintf(buf, PATH_MAX, "%.*s", len ? len : 1, path);
	else if (!len)
		w = snprintf(buf, PATH_MAX, "%s", cwd);
	else
		w = snprintf(buf, PATH_MAX, "%s/%.*s", cwd, len, path);
	return w < 0 || w >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The directory of PATH, absolute, into BUF. */
static int dir_of(char *buf, const char *cwd, const char *path)
{
	const char *slash = strrchr(path, '/');

	return absolute(buf, cwd, path, slash ? (int)(slash - path) : 0);
}

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
	stop_sig = sig;
}

/*
 * gcc -c a.c b.c ...: one job per source, run at once as far as make's
 * jobserver lets us -- the first on the token make gave this process, each
 * other on a token taken from the jobserver and given back when it ends.
 * Without a jobserver they run one after the other, as gcc would.  The
 * status is the first failing compile's (gcc's 1 for several), output
 * files are each job's.
 */
static int cc_split(int argc, char **argv)
{
	struct jobserver_auth a;
	struct jobserver js = { .rfd = -1, .wfd = -1 };
	bool have_js = false;
	char why[256];
	int nsrc = 0, next = 0, running = 0, status = 0, r;
	char **sub;
	pid_t *pid;
	int *src;
	struct sigaction sa = { .sa_handler = on_stop }, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };

	for (int i = 2; i < argc; i++)
		nsrc += is_source(argv[i]);
	r = jobserver_parse(getenv("MAKEFLAGS"), &a);
	if (r < 0)
		mos_warn("cc: MAKEFLAGS names a malformed jobserver: running the compiles one "
			 "at a time");
	else if (r > 0 && jobserver_open(&a, &js, why, sizeof(why)) < 0)
		mos_warn("cc: the jobserver is not usable (%s): running the compiles one at a "
			 "time",
			 why);
	else
		have_js = r > 0;
	sub = xcalloc((size_t)argc + 1, sizeof(*sub));
	pid = xcalloc((size_t)nsrc, sizeof(*pid));
	src = xcalloc((size_t)nsrc, sizeof(*src));
	for (int i = 2, k = 0; i < argc; i++)
		if (is_source(argv[i]))
			src[k++] = i;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	while (next < nsrc || running > 0) {
		bool start = false, tok = false;
		int st;
		pid_t done;

		/* R jobs at once hold R-1 tokens: the first runs on make's */
		if (next < nsrc && !stop_sig) {
			if (running < 1 + (int)js.held)
				start = true;
			else if (have_js && jobserver_try_take(&js) == 1)
				start = tok = true;
		}
		if (start) {
			int n = 0;
			pid_t p;

			sub[n++] = "cc";
			for (int i = 1; i < argc; i++)
				if (!is_source(argv[i]) || i == src[next])
					sub[n++] = argv[i];
			sub[n] = NULL;
			fflush(NULL);
			p = fork();
			if (p == 0) {
				for (int i = 0; i < 3; i++)
					sigaction(sigs[i], &old[i], NULL);
				_exit(cmd_cc(n, sub) & 0xff);
			}
			if (p < 0) {
				if (tok)
					jobserver_give(&js);
				tok = false;
				if (running == 0) {
					mos_err("cc: cannot start a compile: %s", strerror(errno));
					status = status ? status : MOS_EXIT_SETUP;
					break;
				}
				start = false;
			} else {
				pid[next] = p;
				next++;
				running++;
				continue;
			}
		}
		if (stop_sig)
			for (int k = 0; k < next; k++)
				if (pid[k] > 0)
					kill(pid[k], stop_sig);
		/* a child's end, or a token coming free, whichever first */
		done = waitpid(-1, &st, have_js && next < nsrc ? WNOHANG : 0);
		if (done == 0) {
			struct pollfd pf = { .fd = js.rfd, .events = POLLIN };

			poll(&pf, 1, 20);
			continue;
		}
		if (done < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < next; k++) {
			if (pid[k] != done)
				continue;
			pid[k] = 0;
			running--;
			/* tokens beyond what the jobs left need go back now */
			while (js.held > (size_t)(running > 0 ? running - 1 : 0))
				jobserver_give(&js);
			r = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			if (r && !status)
				status = r;
		}
	}
	if (have_js)
		jobserver_close(&js);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	free(sub);
	free(pid);
	free(src);
	if (stop_sig)
		return 128 + stop_sig;
	return status;
}

int cmd_cc(int argc, char **argv)
{
	int compile = 0, preprocess = 0, sources = 0, has_output = 0, r;
	char cwd[PATH_MAX];
	char **av, (*dirs)[PATH_MAX];
	int n = 0, nd = 0;

	if (argc < 2) {
		mos_err("cc: no compiler given (mosctl cc COMPILER [ARG...])");
		return MOS_EXIT_SETUP;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "-S"))
			compile = 1;
		else if (!strcmp(argv[i], "-E"))
			preprocess = 1;
		else if (!strncmp(argv[i], "-o", 2))
			has_output = 1;
		else if (is_source(argv[i]))
			sources++;
	}
	if (!compile || preprocess || !sources || !getcwd(cwd, sizeof(cwd))) {
		execvp(argv[1], argv + 1);
		mos_err("cc: %s: %s", argv[1], strerror(errno));
		return errno == ENOENT ? 127 : 126;
	}
	if (sources > 1 && !has_output)
		return cc_split(argc, argv);
	av = calloc(2 * argc + 16, sizeof(*av));
	dirs = calloc(argc + 1, sizeof(*dirs));
	if (!av || !dirs) {
		free(av);
		free(dirs);
		return MOS_EXIT_SETUP;
	}
	av[n++] = "run";
	av[n++] = "--agent"; /* a warm session from compile to compile (MOS_AGENT=0: not) */
	if (cc_stats_wanted())
		av[n++] = "--stats";
	av[n++] = "--on";
	av[n++] = (char *)cc_default_on();
	av[n++] = "--system";
	av[n++] = "-w";
	av[n++] = cwd;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *flag = "-r";

		if ((!strcmp(a, "-o") || !strcmp(a, "-MF")) && i + 1 < argc) {
			v = argv[i + 1];
			flag = "-w";
		} else if (!strncmp(a, "-o", 2) && a[2]) {
			v = a + 2;
			flag = "-w";
		} else if ((!strcmp(a, "-I") || !strcmp(a, "-iquote") || !strcmp(a, "-isystem") ||
			    !strcmp(a, "-include")) &&
			   i + 1 < argc) {
			v = argv[i + 1];
			if (strcmp(a, "-include")) {
				if (absolute(dirs[nd], cwd, v, (int)strlen(v)) < 0)
					continue;
				av[n++] = "-r";
				av[n++] = dirs[nd++];
				continue;
			}
		} else if (!strncmp(a, "-I", 2) && a[2]) {
			if (absolute(dirs[nd], cwd, a + 2, (int)strlen(a + 2)) < 0)
				continue;
			av[n++] = "-r";
			av[n++] = dirs[nd++];
			continue;
		} else if (is_source(a)) {
			v = a;
		}
		if (!v || dir_of(dirs[nd], cwd, v) < 0)
			continue;
		av[n++] = (char *)flag;
		av[n++] = dirs[nd++];
	}
	av[n++] = "--";
	for (int i = 1; i < argc; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	fflush(NULL);
	r = cmd_run(n, av); /* --on lists, pools and the local fallback as run has them */
	free(av);
	free(dirs);
	/* A compile lost with its worker after it wrote its outputs back: it
	 * writes them whole again, so it runs once more (the dead worker is
	 * backed off: elsewhere, or here), where any other job would fail. */
	if (r == 255 && remote_run_lost_after_changes && !getenv("MOS_CC_AGAIN")) {
		mos_warn("cc: running the compile again");
		char **again = calloc((size_t)argc + 2, sizeof(*again));

		setenv("MOS_CC_AGAIN", "1", 1);
		if (again) {
			again[0] = "mosctl";
			again[1] = "cc";
			for (int i = 1; i < argc; i++)
				again[i + 1] = argv[i];
			execv("/proc/self/exe", again);
		}
		mos_err("cc: cannot run again: %s", strerror(errno));
	}
	return r;
}
