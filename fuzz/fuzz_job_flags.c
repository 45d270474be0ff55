// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_job_flags - a remote job's sandbox flags, which mosd parses with
 * mosctl's own options_parse (job.c, run_sandboxed): "run" FLAGS... "--"
 * ARGV.  A hostile origin chooses every flag.  The input is the flags,
 * separated by NUL bytes (a JOB frame's strings hold none).
 *
 * Properties: options_parse returns 0 or -EINVAL with a message; a policy it
 * accepts holds what every policy holds (fuzz_check_policy); and the flags
 * an origin forwards to its worker for it (run_opts.forward) parse on the
 * worker to the same policy and settings, which is what `mosctl run --on`
 * relies on.
 *
 * Not here: --policy FILE (it reads a file; the file's content is
 * fuzz_policy_json's), so inputs naming it are skipped.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "common.h"
#include "options.h"
#include "util.h"

#define MAX_ARGS 64

/* "--policy" or an abbreviation getopt_long would take for it. */
static bool names_policy(const char *a)
{
	return !strncmp(a, "--p", 3);
}

static int parse(char **flags, size_t n, struct run_opts *o, struct mos_err *e)
{
	_cleanup_free_ char **av = xcalloc(n + 4, sizeof(*av));
	size_t k = 0;

	av[k++] = "run";
	for (size_t i = 0; i < n; i++)
		av[k++] = flags[i];
	av[k++] = "--";
	av[k++] = "cmd";
	av[k] = NULL;
	return options_parse((int)k, av, o, e);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *buf = xmalloc(size + 1);
	char *flags[MAX_ARGS];
	size_t n = 0;
	struct run_opts o, w;
	struct mos_err e = { "" };
	int r;

	memcpy(buf, data, size);
	buf[size] = 0;
	for (char *p = buf; p <= buf + size && n < MAX_ARGS; p += strlen(p) + 1) {
		if (names_policy(p))
			return 0;
		flags[n++] = p;
	}

	r = parse(flags, n, &o, &e);
	if (r < 0) {
		fuzz_assert(r == -EINVAL);
		fuzz_assert(e.msg[0]);
		return 0;
	}
	fuzz_check_policy(&o.policy);
	fuzz_assert(o.ncommand >= 1);
	/* the supervisor waits for an answer with poll(2), in int milliseconds */
	if (o.ask_timeout_ms > INT_MAX)
		fuzz_fail("--ask-timeout of %llu ms", (unsigned long long)o.ask_timeout_ms);

	/* What only the origin does (asking, auditing, learning) is not
	 * forwarded, and refused with --on. */
	if (!o.audit && !o.learn && !o.policy.nask_fs && !o.policy.ask_net) {
		r = parse(o.forward, o.nforward, &w, &e);
		if (r < 0)
			fuzz_fail("the worker refuses the flags the origin forwards: %s", e.msg);
		if (!fuzz_policy_same(&o.policy, &w.policy) || o.backend != w.backend ||
		    o.allow_degraded != w.allow_degraded || o.verbose != w.verbose)
			fuzz_fail("the forwarded flags give the worker another policy");
		options_free(&w);
	}
	options_free(&o);
	return 0;
}
