// SPDX-License-Identifier: GPL-2.0-only
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

enum {
	OPT_DENY = 256,
	OPT_NET_ALLOW,
	OPT_NET_BIND,
	OPT_ALLOW_UDP,
	OPT_ALLOW_UNIX,
	OPT_OPEN_FILES,
	OPT_CPU,
	OPT_CLEAN_ENV,
	OPT_ENV,
	OPT_POLICY,
	OPT_BACKEND,
	OPT_ALLOW_DEGRADED,
	OPT_ON,
	OPT_STATS,
	OPT_NO_LOCAL,
	OPT_AGENT,
	OPT_ASK,
	OPT_DECIDER,
	OPT_ASK_TIMEOUT,
	OPT_AUDIT,
	OPT_JSON,
	OPT_LEARN,
};

static const struct option long_opts[] = {
	{ "read", required_argument, NULL, 'r' },
	{ "write", required_argument, NULL, 'w' },
	{ "deny", required_argument, NULL, OPT_DENY },
	{ "system", no_argument, NULL, 's' },
	{ "net-allow", required_argument, NULL, OPT_NET_ALLOW },
	{ "net-bind", required_argument, NULL, OPT_NET_BIND },
	{ "allow-udp", no_argument, NULL, OPT_ALLOW_UDP },
	{ "allow-unix", no_argument, NULL, OPT_ALLOW_UNIX },
	{ "memory", required_argument, NULL, 'm' },
	{ "max-procs", required_argument, NULL, 'P' },
	{ "open-files", required_argument, NULL, OPT_OPEN_FILES },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "timeout", required_argument, NULL, 't' },
	{ "clean-env", no_argument, NULL, OPT_CLEAN_ENV },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "cwd", required_argument, NULL, 'C' },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "allow-degraded", no_argument, NULL, OPT_ALLOW_DEGRADED },
	{ "on", required_argument, NULL, OPT_ON },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "no-local", no_argument, NULL, OPT_NO_LOCAL },
	{ "agent", no_argument, NULL, OPT_AGENT },
	{ "ask", required_argument, NULL, OPT_ASK },
	{ "decider", required_argument, NULL, OPT_DECIDER },
	{ "ask-timeout", required_argument, NULL, OPT_ASK_TIMEOUT },
	{ "audit", optional_argument, NULL, OPT_AUDIT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "learn", required_argument, NULL, OPT_LEARN },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* "+": stop at the first non-option, which starts the command. */
static const char short_opts[] = "+r:w:sm:P:t:C:vh";

void options_usage(FILE *out, const char *sub)
{
	fprintf(out,
		"usage: mosctl %s [OPTIONS]%s\n"
		"\n"
		"Files (nothing is reachable unless granted; deny wins):\n"
		"  -r, --read PATH          read and execute beneath PATH (repeatable)\n"
		"  -w, --write PATH         read, write, create, delete beneath PATH\n"
		"      --deny PATH          nothing beneath PATH, even inside an allowed tree\n"
		"  -s, --system             read+exec the system: /usr /bin /sbin /lib* /etc\n"
		"                           (without /etc/shadow, /etc/ssh, /etc/sudoers, ...)\n"
		"Network (default: none):\n"
		"      --net-allow HOST:PORT[,PORT...]  outbound TCP; ':PORT' for any host\n"
		"      --net-bind PORT      allow bind/listen on a TCP port\n"
		"      --allow-udp          UDP sockets (any address: Landlock has no UDP rules)\n"
		"      --allow-unix         unix sockets beyond socketpair(), to any path\n"
		"Limits:\n"
		"  -m, --memory SIZE        memory limit, e.g. 256M\n"
		"  -P, --max-procs N        at most N processes and threads\n"
		"      --open-files N       at most N open files per process\n"
		"      --cpu SECS           CPU seconds per process\n"
		"  -t, --timeout SECS       kill the whole tree after SECS, exit 124\n"
		"Environment:\n"
		"      --clean-env          keep only PATH, HOME, TERM and LANG\n"
		"      --env KEY=VALUE      set a variable (repeatable)\n"
		"  -C, --cwd DIR            working directory\n"
		"Policy and enforcement:\n"
		"      --policy FILE        a JSON policy; flags add to it\n"
		"      --backend B          auto (Landlock, or the supervisor where the kernel\n"
		"                           has no Landlock), landlock, unotify (the\n"
		"                           supervisor: seccomp user notification), bpf\n"
		"                           (network rules as cgroup BPF; root)\n"
		"      --ask fs:PATH|net    wait for an answer before any access beneath PATH,\n"
		"                           or a TCP connect/bind no rule allows (supervisor)\n"
		"      --decider CMD        ask CMD (one JSON line per question, one answer\n"
		"                           line back) instead of the terminal\n"
		"      --ask-timeout SECS   deny what is not answered in time (default 30)\n"
		"      --audit[=FILE]       one line per denied access on stderr or FILE\n"
		"      --json               ... as JSON\n"
		"      --learn FILE         run permissively, then write to FILE the policy\n"
		"                           that allows exactly what the run did\n"
		"      --allow-degraded     run even if a rule can only be partly enforced\n"
		"                           here (each such rule is printed)\n"
		"  -v, --verbose            say which mechanism enforces what\n"
		"Remote execution (see Documentation/remote.md):\n"
		"      --on WORKER          run on WORKER with this machine's files:\n"
		"                           HOST[:PORT] (TLS, pinned keys), ssh://[USER@]HOST,\n"
		"                           or 'local' (a worker in fresh namespaces here);\n"
		"                           a comma list of them, or @NAME (a pool file)\n"
		"      --no-local           no worker of the pool reachable: fail (255)\n"
		"                           rather than run the job here\n"
		"      --agent              through this user's agent: a warm session kept\n"
		"                           with the worker from job to job (MOS_AGENT=0: never)\n"
		"      --stats              after a remote job, one line of figures on stderr\n"
		"  -h, --help               this text\n"
		"\n"
		"Exit status: the command's; 128+N if signal N killed it; 124 timeout;\n"
		"125 mosctl failed; 126 cannot execute; 127 not found.\n"
		"See mosctl(1) and Documentation/policy.md.\n",
		sub, strcmp(sub, "run") ? "" : " -- COMMAND [ARG...]");
}

struct flag {
	int opt;
	const char *arg;
};

/* --ask-timeout, at most: 11 days, well inside poll(2)'s int milliseconds. */
#define ASK_TIMEOUT_MAX_S 1000000U

static int number(const char *name, const char *arg, uint64_t max, uint64_t *out, struct mos_err *e)
{
	if (parse_uint(arg, max, out) < 0 || *out == 0) {
		mos_err_set(e, "%s: '%s' is not a number from 1 to %llu", name, arg,
			    (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

static int apply(struct run_opts *o, const struct flag *f, const char *base, struct mos_err *e)
{
	struct mos_policy *p = &o->policy;
	struct mos_limits *l = &p->limits;

	switch (f->opt) {
	case 'r':
		return policy_add_fs(p, base, f->arg, MOS_FS_READ | MOS_FS_EXEC, false, "--read",
				     e);
	case 'w':
		return policy_add_fs(p, base, f->arg, MOS_FS_ALL, false, "--write", e);
	case OPT_DENY:
		return policy_add_fs(p, base, f->arg, 0, true, "--deny", e);
	case 's':
		p->fs_system = true;
		return 0;
	case OPT_NET_ALLOW:
		return policy_add_net_allow(p, f->arg, "--net-allow", e);
	case OPT_NET_BIND:
		return policy_add_net_bind(p, f->arg, "--net-bind", e);
	case OPT_ALLOW_UDP:
		p->allow_udp = true;
		return 0;
	case OPT_ALLOW_UNIX:
		p->allow_unix = true;
		return 0;
	case 'm':
		if (parse_size(f->arg, &l->memory) < 0) {
			mos_err_set(e, "--memory: '%s' is not a size (e.g. 256M, 2G)", f->arg);
			return -EINVAL;
		}
		if (l->memory < MOS_MIN_MEMORY) {
			mos_err_set(e,
				    "--memory: '%s' is too small to run any program (at least 1M)",
				    f->arg);
			return -EINVAL;
		}
		return 0;
	case 'P':
		return number("--max-procs", f->arg, 1U << 22, &l->procs, e);
	case OPT_OPEN_FILES:
		return number("--open-files", f->arg, 1U << 30, &l->open_files, e);
	case OPT_CPU:
		return number("--cpu", f->arg, 1ULL << 32, &l->cpu_s, e);
	case 't':
		if (parse_seconds(f->arg, &l->timeout_ms) < 0 || l->timeout_ms == 0) {
			mos_err_set(e, "--timeout: '%s' is not a positive number of seconds",
				    f->arg);
			return -EINVAL;
		}
		return 0;
	case OPT_CLEAN_ENV:
		p->env_clean = true;
		return 0;
	case OPT_ENV:
		return policy_add_env(p, f->arg, "--env", e);
	case 'C':
		if (!*f->arg) {
			mos_err_set(e, "--cwd: empty path");
			return -EINVAL;
		}
		free(p->cwd);
		p->cwd = path_join_normalize(base, f->arg);
		return 0;
	case OPT_BACKEND:
		if (mos_backend_parse(f->arg, &o->backend) < 0) {
			mos_err_set(e,
				    "--backend: unknown backend '%s' (available here: "
				    "auto, landlock, unotify, bpf)",
				    f->arg);
			return -EINVAL;
		}
		return 0;
	case OPT_ALLOW_DEGRADED:
		o->allow_degraded = true;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case 'h':
		o->help = true;
		return 0;
	case OPT_ON:
		if (!*f->arg) {
			mos_err_set(e, "--on: empty worker name");
			return -EINVAL;
		}
		o->on = f->arg;
		return 0;
	case OPT_STATS:
		o->stats = true;
		return 0;
	case OPT_NO_LOCAL:
		o->no_local = true;
		return 0;
	case OPT_AGENT:
		o->agent = true;
		return 0;
	case OPT_ASK:
		return policy_add_ask(p, base, f->arg, "--ask", e);
	case OPT_DECIDER:
		if (!*f->arg) {
			mos_err_set(e, "--decider: empty command");
			return -EINVAL;
		}
		o->decider = f->arg;
		return 0;
	case OPT_ASK_TIMEOUT:
		/* The supervisor waits with poll(2), in int milliseconds. */
		if (parse_seconds(f->arg, &o->ask_timeout_ms) < 0 || o->ask_timeout_ms == 0 ||
		    o->ask_timeout_ms > ASK_TIMEOUT_MAX_S * 1000) {
			mos_err_set(e,
				    "--ask-timeout: '%s' is not a number of seconds from 0.001 "
				    "to %u",
				    f->arg, ASK_TIMEOUT_MAX_S);
			return -EINVAL;
		}
		return 0;
	case OPT_AUDIT:
		o->audit = true;
		o->audit_file = f->arg && *f->arg ? f->arg : NULL;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_LEARN:
		if (!*f->arg) {
			mos_err_set(e, "--learn: empty file name");
			return -EINVAL;
		}
		o->learn = f->arg;
		p->permissive = true;
		return 0;
	}
	return 0;
}

/* The flags a worker needs to rebuild the same sandbox, in long form. */
static void record_forward(struct run_opts *o, int c, const char *arg)
{
	/* what only the origin does: asking, auditing, learning */
	if (c == OPT_ON || c == OPT_STATS || c == OPT_NO_LOCAL || c == OPT_AGENT || c == 'h' ||
	    c == OPT_DECIDER || c == OPT_ASK_TIMEOUT || c == OPT_AUDIT || c == OPT_JSON ||
	    c == OPT_LEARN || c == OPT_ASK)
		return;
	for (const struct option *l = long_opts; l->name; l++) {
		if (l->val != c)
			continue;
		strv_push(&o->forward, &o->nforward, xasprintf("--%s", l->name));
		if (l->has_arg)
			strv_push(&o->forward, &o->nforward, xstrdup(arg));
		return;
	}
}

/* BASE: what relative paths are relative to (NULL: the cwd); the policy
 * file is loaded only with LOAD_POLICY. */
static int parse(int argc, char **argv, const char *base, bool load_policy, struct run_opts *o,
		 struct mos_err *e)
{
	struct flag *flags = NULL;
	size_t nflags = 0;
	const char *policy_file = NULL;
	int r = 0, c, idx;

	memset(o, 0, sizeof(*o));
	policy_init(&o->policy);
	optind = 0; /* full re-initialisation: options_parse may run twice */
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, &idx)) != -1) {
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			/*
			 * For a long option getopt sets optopt to its value, which
			 * may be a letter: name what the user typed instead.
			 */
			if (!strncmp(bad, "--", 2))
				mos_err_set(e,
					    "%s: unknown option, or a missing or unexpected "
					    "argument",
					    bad);
			else if (optopt && strchr("rwmPtC", optopt))
				mos_err_set(e, "option -%c needs an argument", optopt);
			else
				mos_err_set(e, "unknown option -%c", optopt ? optopt : '?');
			r = -EINVAL;
			goto out;
		}
		record_forward(o, c, optarg);
		if (c == OPT_POLICY) {
			if (policy_file) {
				mos_err_set(e, "--policy given twice");
				r = -EINVAL;
				goto out;
			}
			policy_file = optarg;
			continue;
		}
		flags = xrealloc(flags, (nflags + 1) * sizeof(*flags));
		flags[nflags++] = (struct flag){ c, optarg };
	}
	if (policy_file && load_policy) {
		r = policy_load_file(&o->policy, policy_file, e);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < nflags; i++) {
		r = apply(o, &flags[i], base, e);
		if (r < 0)
			goto out;
	}
	if (optind < argc) {
		o->command = argv + optind;
		o->ncommand = argc - optind;
	}
	if (!o->ask_timeout_ms)
		o->ask_timeout_ms = 30000;
	/* only the supervisor sees each access to audit it */
	if (o->audit && o->backend == MOS_BACKEND_LANDLOCK) {
		mos_err_set(e, "--audit needs the supervisor: use --backend unotify (or auto)");
		r = -EINVAL;
	} else if (o->audit) {
		o->backend = MOS_BACKEND_UNOTIFY;
	}
	if (o->on && (o->audit || o->learn || o->policy.nask_fs || o->policy.ask_net)) {
		mos_err_set(e, "--ask, --audit and --learn run here only, not with --on (yet)");
		r = -EINVAL;
	}
out:
	free(flags);
	if (r < 0)
		options_free(o);
	return r;
}

int options_parse(int argc, char **argv, struct run_opts *o, struct mos_err *e)
{
	return parse(argc, argv, NULL, true, o, e);
}

int options_parse_flags(int argc, char **argv, const char *base, struct run_opts *o,
			struct mos_err *e)
{
	return parse(argc, argv, base, false, o, e);
}

void options_free(struct run_opts *o)
{
	policy_free(&o->policy);
	strv_free(o->forward);
	o->forward = NULL;
	o->nforward = 0;
}
