// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosctl pool status [--on SPEC] [--watch[=SECS]] [--count N] [--timeout SECS]
 *
 * One line per worker of SPEC (else MOS_ON, else local): reachable or not
 * and why, its slots, jobs running, load, CPUs, cache in use and cap, the
 * cache hit rate of its jobs so far, and the round trip of the STATUS
 * request.  Every worker is asked at once (a dead one costs the timeout,
 * not one per worker).  --watch redraws the table every SECS (2) like top,
 * on a terminal in place; elsewhere tables follow one another.  Exit 0 when
 * every worker answered (the last table), 1 otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_cc.h"
#include "cmd_pool.h"
#include "log.h"
#include "pool.h"
#include "remote_run.h"
#include "sandbox.h"
#include "util.h"

struct probe {
	const char *worker;
	unsigned timeout_ms;
	struct mos_status st;
	uint64_t rtt_us;
	int r;
	char err[512];
	pthread_t t;
	bool started;
};

static void *probe_one(void *arg)
{
	struct probe *p = arg;

	p->r = remote_worker_status(p->worker, p->timeout_ms, &p->st, &p->rtt_us, p->err,
				    sizeof(p->err));
	return NULL;
}

static void human(uint64_t b, char *out, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static unsigned print_table(struct probe *pr, size_t n)
{
	unsigned slots = 0, running = 0, up = 0;

	printf("%-24s %-6s %5s %7s %6s %4s %-22s %5s %9s\n", "WORKER", "STATE", "SLOTS", "RUNNING",
	       "LOAD", "CPUS", "CACHE", "HITS", "RTT");
	for (size_t i = 0; i < n; i++) {
		const struct mos_status *s = &pr[i].st;
		char used[32], cap[32], cache[80], hits[16];
		uint64_t looked = s->cache_hits + s->cache_misses;

		if (pr[i].r < 0) {
			printf("%-24s %-6s %s\n", pr[i].worker, "down", pr[i].err);
			continue;
		}
		up++;
		slots += s->slots;
		running += s->running;
		human(s->cache_bytes, used, sizeof(used));
		if (s->cache_limit) {
			human(s->cache_limit, cap, sizeof(cap));
			snprintf(cache, sizeof(cache), "%s / %s", used, cap);
		} else {
			snprintf(cache, sizeof(cache), "%s", used);
		}
		if (looked)
			snprintf(hits, sizeof(hits), "%.0f%%",
				 100.0 * (double)s->cache_hits / (double)looked);
		else
			snprintf(hits, sizeof(hits), "-");
		printf("%-24s %-6s %5u %7u %6.2f %4u %-22s %5s %6.1f ms\n", pr[i].worker, "up",
		       s->slots, s->running, s->load_milli / 1000.0, s->cpus, cache, hits,
		       (double)pr[i].rtt_us / 1000.0);
	}
	printf("%zu of %zu workers up, %u of %u slots in use\n", (size_t)up, n, running, slots);
	fflush(stdout);
	return up;
}

int cmd_pool(int argc, char **argv)
{
	enum { O_ON = 256, O_WATCH, O_COUNT, O_TIMEOUT };
	static const struct option lo[] = {
		{ "on", required_argument, NULL, O_ON },
		{ "watch", optional_argument, NULL, O_WATCH },
		{ "count", required_argument, NULL, O_COUNT },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *spec = cc_default_on();
	_cleanup_free_ char *dir = remote_config_dir();
	unsigned watch = 0, timeout_s = 3;
	long count = -1;
	struct pool p = { 0 };
	struct probe *pr;
	char err[768];
	int c, ret = 0;

	if (argc < 2 || strcmp(argv[1], "status")) {
		mos_err("pool: usage: mosctl pool status [--on SPEC] [--watch[=SECS]] [--count N] "
			"[--timeout SECS]");
		return MOS_EXIT_SETUP;
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		char *end;
		long v;

		switch (c) {
		case O_ON:
			spec = optarg;
			break;
		case O_WATCH:
		case O_COUNT:
		case O_TIMEOUT:
			v = optarg ? strtol(optarg, &end, 10) : 2;
			if (optarg && (*end || v < 1 || v > 86400)) {
				mos_err("pool status: '%s' is not a number from 1 to 86400",
					optarg);
				return MOS_EXIT_SETUP;
			}
			if (c == O_WATCH)
				watch = (unsigned)v;
			else if (c == O_COUNT)
				count = v;
			else
				timeout_s = (unsigned)v;
			break;
		case 'h':
			printf("usage: mosctl pool status [--on SPEC] [--watch[=SECS]] [--count N] "
			       "[--timeout SECS]\n");
			return 0;
		default:
			return MOS_EXIT_SETUP;
		}
	}
	if (pool_load(&p, spec, dir, err, sizeof(err)) < 0) {
		mos_err("%s", err);
		return MOS_EXIT_SETUP;
	}
	if (!watch && count < 0)
		count = 1;
	pr = xcalloc(p.n, sizeof(*pr));
	for (long round = 0; count < 0 || round < count; round++) {
		for (size_t i = 0; i < p.n; i++) {
			pr[i] = (struct probe){ .worker = p.w[i].spec,
						.timeout_ms = timeout_s * 1000 };
			pr[i].started = pthread_create(&pr[i].t, NULL, probe_one, &pr[i]) == 0;
			if (!pr[i].started)
				probe_one(&pr[i]);
		}
		for (size_t i = 0; i < p.n; i++)
			if (pr[i].started)
				pthread_join(pr[i].t, NULL);
		if (round && isatty(1))
			printf("\033[H\033[2J"); /* in place, as top redraws */
		else if (round)
			printf("\n");
		ret = print_table(pr, p.n) == p.n ? 0 : 1;
		if (count < 0 || round + 1 < count)
			sleep(watch ? watch : 2);
	}
	free(pr);
	pool_free(&p);
	return ret;
}
