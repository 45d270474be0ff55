// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_open - what a trapped openat costs under the unotify supervisor.
 *
 *   unotify_open [ITERATIONS]      (built and run by bench/unotify)
 *
 * Times ITERATIONS openat+close of an allowed file in a child (pinned to CPU
 * 0): untrapped (no filter), trapped with the supervisor thread on the same
 * CPU, and trapped with it on another CPU (when there is one).  Prints
 * nanoseconds per open and the ratios to the untrapped open.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unotify.h"

static const char *const read_roots[] = { "/etc", NULL };
static const struct unotify_policy policy = { .read = read_roots };

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		fprintf(stderr, "sched_setaffinity(%d): %s\n", cpu, strerror(errno));
		exit(1);
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* In the child: the time per open, written to PIPEFD as a double. */
static void measure(long iters, int pipefd)
{
	double t0, per;

	for (long i = 0; i < iters / 10 + 1; i++) /* warm up */
		close(openat(AT_FDCWD, "/etc/hostname", O_RDONLY));
	t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		int fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY);

		if (fd < 0) {
			perror("openat /etc/hostname");
			_exit(1);
		}
		close(fd);
	}
	per = (now_ns() - t0) / (double)iters;
	if (write(pipefd, &per, sizeof(per)) != sizeof(per))
		_exit(1);
}

struct serve_arg {
	int listener, cpu;
};

static void *serve(void *v)
{
	struct serve_arg *a = v;

	pin(a->cpu);
	unotify_serve(a->listener, &policy, NULL);
	return NULL;
}

/* SUPERVISOR_CPU < 0: no filter. */
static double run(long iters, int supervisor_cpu)
{
	int sp[2], pp[2], status;
	double per = -1;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 || pipe(pp) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, c = 'L';
		struct iovec iov = { &c, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		int lfd;

		pin(0);
		if (supervisor_cpu >= 0) {
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
			    (lfd = unotify_install_filter()) < 0)
				_exit(1);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
			if (sendmsg(sp[1], &m, 0) != 1)
				_exit(1);
			close(lfd);
		}
		measure(iters, pp[1]);
		_exit(0);
	}
	close(pp[1]);
	close(sp[1]);
	if (supervisor_cpu >= 0) {
		char cbuf[CMSG_SPACE(sizeof(int))], c;
		struct iovec iov = { &c, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		struct serve_arg a = { .cpu = supervisor_cpu };
		pthread_t t;

		if (recvmsg(sp[0], &m, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&m))
			exit(1);
		memcpy(&a.listener, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
		pthread_create(&t, NULL, serve, &a);
		if (read(pp[0], &per, sizeof(per)) != sizeof(per))
			per = -1;
		waitpid(pid, &status, 0);
		pthread_join(t, NULL);
		close(a.listener);
	} else {
		if (read(pp[0], &per, sizeof(per)) != sizeof(per))
			per = -1;
		waitpid(pid, &status, 0);
	}
	close(pp[0]);
	close(sp[0]);
	return per;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 20000;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double bare = run(iters, -1), same = run(iters, 0), cross = ncpu > 1 ? run(iters, 1) : -1;

	if (bare <= 0 || same <= 0) {
		fprintf(stderr, "unotify_open: a measurement failed\n");
		return 1;
	}
	printf("openat+close, %ld iterations, child on CPU 0\n", iters);
	printf("  untrapped                  %9.0f ns\n", bare);
	printf("  trapped, supervisor CPU 0  %9.0f ns  (x%.1f)\n", same, same / bare);
	if (cross > 0)
		printf("  trapped, supervisor CPU 1  %9.0f ns  (x%.1f)\n", cross, cross / bare);
	return 0;
}
