// SPDX-License-Identifier: GPL-2.0-only
/*
 * stream_relay - stands between mosctl and the `mosd --stdio` it starts
 * (as $MOSD, through a wrapper script) and relays the frames both ways, so
 * that a test can play a slow or a hostile peer with the real programs on
 * either side:
 *
 *   stream_relay [--throttle BYTES_PER_S] [--credit-no-read] [--pidfile FILE]
 *                [--max-seconds N] -- WORKER ARGS...
 *
 *   --throttle        the worker's frames reach the origin at that rate (a
 *                     slow link: write-backs take long)
 *   --credit-no-read  from the worker's first STDOUT frame on, play an origin
 *                     that grants output credit (a CREDIT of 1 MiB every 5 ms)
 *                     but never reads the worker's stream again
 *   --pidfile         where to write the worker's pid (to watch its memory)
 *   --max-seconds     end (SIGTERM to the worker) after N s whatever happens
 *
 * Our stdin/stdout is the origin's end (a socketpair from mosctl); the
 * worker gets a socketpair of its own as stdin and stdout.  Exits with the
 * worker's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mosingar/protocol.h>

static int wfd = -1;	/* the worker's end */
static double throttle; /* bytes per second towards the origin; 0: as fast as can be */
static bool credit_no_read;
static atomic_bool hostile; /* --credit-no-read has begun */
static atomic_bool done;
static atomic_bool drained; /* all the worker sent has been passed on */

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One whole frame from FD into *BUF (grown as needed); its size, or -1. */
static ssize_t read_frame(int fd, uint8_t **buf, size_t *cap)
{
	struct mos_frame_hdr h;

	if (read_full(fd, &h, sizeof(h)) < 0 || h.len > MOS_FRAME_MAX)
		return -1;
	if (sizeof(h) + h.len > *cap) {
		*cap = sizeof(h) + h.len;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			return -1;
	}
	memcpy(*buf, &h, sizeof(h));
	if (read_full(fd, *buf + sizeof(h), h.len) < 0)
		return -1;
	return (ssize_t)(sizeof(h) + h.len);
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The origin's frames to the worker; in hostile mode, CREDITs of our own. */
static void *origin_to_worker(void *arg)
{
	uint8_t *buf = NULL;
	size_t cap = 0;

	(void)arg;
	while (!atomic_load(&done)) {
		struct pollfd p = { .fd = 0, .events = POLLIN };

		if (atomic_load(&hostile)) {
			struct {
				struct mos_frame_hdr h;
				struct mos_credit c;
			} cr = { .h = { .len = sizeof(struct mos_credit),
					.version = MOS_PROTO_VERSION,
					.type = MOS_MSG_CREDIT },
				 .c = { .bytes = 1U << 20 } };

			/* blocks once the worker stops reading: that is its right */
			if (write_full(wfd, &cr, sizeof(cr)) < 0)
				break;
			sleep_s(0.005);
			continue;
		}
		if (poll(&p, 1, 5) <= 0)
			continue;
		ssize_t n = read_frame(0, &buf, &cap);

		if (n < 0)
			break; /* the origin left */
		if (atomic_load(&hostile))
			continue; /* turned hostile while it was read: dropped */
		if (write_full(wfd, buf, (size_t)n) < 0)
			break;
	}
	free(buf);
	shutdown(wfd, SHUT_WR);
	return NULL;
}

static void *worker_to_origin(void *arg)
{
	uint8_t *buf = NULL;
	size_t cap = 0;

	(void)arg;
	for (;;) {
		ssize_t n = read_frame(wfd, &buf, &cap);

		if (n < 0)
			break;
		if (throttle > 0)
			sleep_s((double)n / throttle);
		if (write_full(1, buf, (size_t)n) < 0)
			break;
		if (credit_no_read && ((struct mos_frame_hdr *)buf)->type == MOS_MSG_STDOUT) {
			atomic_store(&hostile, true);
			while (!atomic_load(&done))
				sleep_s(0.05); /* and never read the worker again */
			break;
		}
	}
	free(buf);
	shutdown(1, SHUT_WR);
	atomic_store(&drained, true);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *pidfile = NULL;
	double max_seconds = 60;
	int sv[2], i, st = 0;
	pthread_t t1, t2;
	pid_t pid;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--throttle") && i + 1 < argc)
			throttle = atof(argv[++i]);
		else if (!strcmp(argv[i], "--credit-no-read"))
			credit_no_read = true;
		else if (!strcmp(argv[i], "--pidfile") && i + 1 < argc)
			pidfile = argv[++i];
		else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc)
			max_seconds = atof(argv[++i]);
		else
			break;
	}
	if (i >= argc - 1 || strcmp(argv[i], "--")) {
		fprintf(stderr, "usage: stream_relay [--throttle B/S] [--credit-no-read] "
				"[--pidfile F] [--max-seconds N] -- WORKER ARGS...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 2;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		execvp(argv[i + 1], argv + i + 1);
		fprintf(stderr, "stream_relay: cannot run %s: %s\n", argv[i + 1], strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	wfd = sv[0];
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (f) {
			fprintf(f, "%d\n", (int)pid);
			fclose(f);
		}
	}
	pthread_create(&t1, NULL, origin_to_worker, NULL);
	pthread_create(&t2, NULL, worker_to_origin, NULL);
	for (double waited = 0;; waited += 0.05) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (waited >= max_seconds) {
			fprintf(stderr,
				"stream_relay: the worker still runs after %.0f s: "
				"SIGTERM\n",
				max_seconds);
			kill(pid, SIGTERM);
			waitpid(pid, &st, 0);
			break;
		}
		sleep_s(0.05);
	}
	/* the worker is gone: what it sent before it went still reaches the
	 * origin (its EXIT among it, as over TCP), then the origin sees the
	 * stream end */
	while (!atomic_load(&drained) && !atomic_load(&hostile))
		sleep_s(0.01);
	atomic_store(&done, true);
	shutdown(0, SHUT_RDWR);
	shutdown(wfd, SHUT_RDWR);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
