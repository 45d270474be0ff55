// SPDX-License-Identifier: GPL-2.0-only
/*
 * connect_loop - connect to 127.0.0.1:PORT N times (a new TCP socket each
 * time, closed at once; after N/10 untimed warm-up connects) and print the
 * mean time per connect+close in ns.
 * bench/unotify and bench/enforce run it bare and under each backend, the
 * listener outside.
 *
 *   connect_loop PORT N
 *   connect_loop listen      listen on 127.0.0.1 (a free port), print the
 *                            port, accept and close connections until killed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loops.h"

int main(int argc, char **argv)
{
	unsigned short port = 0;
	double ns;

	if (argc == 2 && !strcmp(argv[1], "listen")) {
		int l = bench_listen(&port);

		if (l < 0) {
			fprintf(stderr, "connect_loop listen: %s\n", strerror(-l));
			return 1;
		}
		printf("%u\n", port);
		fflush(stdout);
		bench_accept_forever(l);
	}
	if (argc != 3) {
		fprintf(stderr, "usage: connect_loop PORT N | connect_loop listen\n");
		return 2;
	}
	ns = bench_connect_loop((unsigned short)atoi(argv[1]), atol(argv[2]));
	if (ns < 0)
		return 1;
	printf("%.0f\n", ns);
	return 0;
}
