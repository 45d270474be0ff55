// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosctl agent [--socket PATH] [--idle SECS] [-v]
 * mosctl agent --print-socket
 *
 * Serves this user's warm sessions (Documentation/farm.md): mosctl starts
 * it on demand, detached, and it exits after SECS (300) without a job or a
 * session.  Run by hand it stays in the foreground, logging to stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cmd_agent.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"

int cmd_agent(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "idle", required_argument, NULL, 'i' },
		{ "print-socket", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_free_ char *sock = NULL;
	unsigned idle = 300;
	int verbose = 0, c;
	bool print = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+v", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			free(sock);
			sock = xstrdup(optarg);
			break;
		case 'i': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || v < 1 || v > 86400) {
				mos_err("--idle: '%s' is not a number of seconds from 1 to 86400",
					optarg);
				return MOS_EXIT_SETUP;
			}
			idle = (unsigned)v;
			break;
		}
		case 'p':
			print = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			printf("usage: mosctl agent [--socket PATH] [--idle SECS] [-v]\n"
			       "       mosctl agent --print-socket\n");
			return 0;
		default:
			return MOS_EXIT_SETUP;
		}
	}
	if (optind < argc) {
		mos_err("agent: unexpected argument '%s'", argv[optind]);
		return MOS_EXIT_SETUP;
	}
	if (!sock)
		sock = agent_socket_path();
	if (!sock) {
		mos_err("agent: no private directory for the socket ($XDG_RUNTIME_DIR, "
			"$XDG_CACHE_HOME or ~/.cache)");
		return MOS_EXIT_SETUP;
	}
	if (print) {
		printf("%s\n", sock);
		return 0;
	}
	mos_log_init("mosctl agent", MOS_LOG_WARN + verbose);
	return agent_serve(sock, idle);
}
