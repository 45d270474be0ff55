/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loops.h - the timed loops of the enforcement benchmarks, shared by the
 * host programs run under mosctl (open_loop.c, connect_loop.c) and the
 * guest program (enforce_guest.c), so that every variant times the same
 * code.  Each returns the mean nanoseconds per operation, or -errno when an
 * operation failed (the failing path or address is printed to stderr).
 */
#ifndef MOS_BENCH_LOOPS_H
#define MOS_BENCH_LOOPS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * openat+close of FILES[0..NFILES-1] in turn, N times in all, read-only,
 * after N/10 untimed warm-up opens (dentry cache, supervisor threads).
 */
static inline double bench_open_loop(char *const *files, int nfiles, long n)
{
	double t0;

	for (long i = 0; i < n / 10 + 1; i++) {
		int fd = openat(AT_FDCWD, files[i % nfiles], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			int e = errno;

			fprintf(stderr, "open_loop: open %s: %s\n", files[i % nfiles], strerror(e));
			return -e;
		}
		close(fd);
	}
	t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		int fd = openat(AT_FDCWD, files[i % nfiles], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			int e = errno;

			fprintf(stderr, "open_loop: open %s: %s\n", files[i % nfiles], strerror(e));
			return -e;
		}
		close(fd);
	}
	return (bench_now_ns() - t0) / (double)n;
}

/*
 * A new TCP socket connected to 127.0.0.1:PORT and closed at once, N times,
 * after N/10 untimed warm-up connects.
 */
static inline double bench_connect_loop(unsigned short port, long n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	double t0 = 0;

	for (long i = -(n / 10 + 1); i < n; i++) {
		int fd;

		if (i == 0)
			t0 = bench_now_ns();
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;

			fprintf(stderr, "connect_loop: connect 127.0.0.1:%u: %s\n", port,
				strerror(e));
			if (fd >= 0)
				close(fd);
			return -e;
		}
		close(fd);
	}
	return (bench_now_ns() - t0) / (double)n;
}

/*
 * A listener on 127.0.0.1 (a free port, written to *PORT): the fd, or
 * -errno.  bench_accept_forever() then accepts and closes until killed.
 */
static inline int bench_listen(unsigned short *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4096) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) < 0) {
		int e = errno;

		if (l >= 0)
			close(l);
		return -e;
	}
	*port = ntohs(sa.sin_port);
	return l;
}

static inline void bench_accept_forever(int l)
{
	for (;;) {
		int c = accept(l, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

#endif
