// SPDX-License-Identifier: GPL-2.0-only
/*
 * open_loop - openat+close of the given files in turn, N times in all
 * (after N/10 untimed warm-up opens), and print the mean time per
 * open+close in ns.  bench/enforce runs it bare and under each backend.
 *
 *   open_loop N FILE...
 */
#include <stdio.h>
#include <stdlib.h>

#include "loops.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	double ns;

	if (argc < 3 || n <= 0) {
		fprintf(stderr, "usage: open_loop N FILE...\n");
		return 2;
	}
	ns = bench_open_loop(argv + 2, argc - 2, n);
	if (ns < 0)
		return 1;
	printf("%.0f\n", ns);
	return 0;
}
