// SPDX-License-Identifier: GPL-2.0-only
/*
 * connect_loop - connect to 127.0.0.1:PORT N times (a new TCP socket each
 * time, closed at once) and print the mean time per connect+close in ns.
 * bench/unotify runs it bare and under each backend, the listener outside.
 *
 *   connect_loop PORT N
 *   connect_loop listen      listen on 127.0.0.1 (a free port), print the
 *                            port, accept and close connections until killed
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timespec a, b;
	long n;

	if (argc == 2) {
		socklen_t len = sizeof(sa);
		int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4096) < 0 ||
		    getsockname(l, (struct sockaddr *)&sa, &len) < 0) {
			perror("connect_loop listen");
			return 1;
		}
		printf("%u\n", ntohs(sa.sin_port));
		fflush(stdout);
		for (;;) {
			int c = accept(l, NULL, NULL);

			if (c >= 0)
				close(c);
		}
	}
	if (argc != 3)
		return 2;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	n = atol(argv[2]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("connect_loop");
			return 1;
		}
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n);
	return 0;
}
