// SPDX-License-Identifier: GPL-2.0-only
/*
 * race - time-of-check/time-of-use races against the supervisor, run inside
 * a sandbox; one line on stdout.
 *
 *   race ACTION [ARGS...]
 *
 * Same convention as probe: "ok ..." with the figures, or "err ENAME" when
 * the race could not even be set up (exit 0 either way); exit 2 on bad
 * usage.
 *
 * Actions:
 *   open-shm GOOD BAD N     GOOD and BAD are paths of the same length.  The
 *                           path lives in a MAP_SHARED page; a forked writer
 *                           process flips it between GOOD and BAD without
 *                           pause while this process, once the writer runs,
 *                           opens and reads it N times.  A read that returned GOOD's content (read
 *                           once through a private copy of GOOD before the
 *                           race) counts as good, any other content as bad, a
 *                           failed open or read as failed:
 *                           "ok good=G bad=B failed=F"
 *   connect-flip OK BAD N   a thread flips the port of one sockaddr_in
 *                           (127.0.0.1) between OK and BAD (single 16-bit
 *                           stores); N times a new TCP socket connects with
 *                           it and is closed with a reset (no TIME_WAIT):
 *                           "ok connected=C refused=R other=O", refused
 *                           counting EACCES and EPERM, other any other error
 *   send-swap MODE BAD N OK a thread swaps one fd number between a unix
 *                           datagram socket (of a socketpair) and a UDP
 *                           socket with dup2() without pause while this
 *                           thread sends one byte N times to 127.0.0.1:BAD
 *                           through that number, with MODE sendto, sendmsg
 *                           or sendmmsg; then one datagram "control" to
 *                           127.0.0.1:OK the same way on a UDP socket of its
 *                           own: "ok sent=S refused=R other=O control=C"
 *                           (C "ok" or the error's name)
 *   connect-swap BAD N      the same swap between a fresh TCP socket and a
 *                           UDP socket while this thread connects the number
 *                           N times to 127.0.0.1:BAD:
 *                           "ok connected=C refused=R other=O"
 *   meta-flip MODE GOOD BAD N  a thread flips a path buffer between GOOD
 *                           and BAD (same length) while this one, N times,
 *                           looks at it: MODE stat (stat), lstat, statx,
 *                           readlink, opath (open O_PATH, then fstat the fd),
 *                           or empty: the buffer flips between "" and BAD,
 *                           looked at with fstatat(fd of GOOD, buf,
 *                           AT_EMPTY_PATH).  An answer that is GOOD's (its
 *                           inode, or its link text, taken before the race)
 *                           counts as good, another answer as bad, an error
 *                           as failed: "ok good=G bad=B failed=F"
 * The swap and flip loops stop after N iterations of the main thread or
 * 10 s, whichever comes first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Keeps the compiler from dropping a store that the next one overwrites. */
#define barrier() __asm__ __volatile__("" ::: "memory")

static int usage(void)
{
	fprintf(stderr, "race: bad usage (see selftests/helpers/race.c)\n");
	return 2;
}

static int fail(void)
{
	printf("err %s\n", strerrorname_np(errno));
	return 0;
}

static long count_arg(const char *s)
{
	char *end;
	long n = strtol(s, &end, 0);

	return *s && !*end && n > 0 ? n : -1;
}

/* The first bytes of PATH into BUF (NUL-terminated): length or -1. */
static ssize_t read_head(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static int do_open_shm(const char *good, const char *bad, const char *count)
{
	long n = count_arg(count), ngood = 0, nbad = 0, nfailed = 0;
	size_t len = strlen(good) + 1;
	char want[256], got[256];
	volatile unsigned long *flips;
	char *shared;
	pid_t writer;

	if (n < 0 || strlen(bad) + 1 != len || len > 2048)
		return usage();
	if (read_head(good, want, sizeof(want)) < 0)
		return fail();
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return fail();
	memcpy(shared, good, len);
	flips = (volatile unsigned long *)(shared + 4096 - sizeof(*flips));
	writer = fork();
	if (writer < 0)
		return fail();
	if (writer == 0) {
		for (;;) {
			memcpy(shared, good, len);
			barrier();
			(*flips)++;
			memcpy(shared, bad, len);
			barrier();
			(*flips)++;
		}
	}
	/* The race starts once the writer runs. */
	while (!*flips)
		sched_yield();
	for (long i = 0; i < n; i++) {
		if (read_head(shared, got, sizeof(got)) < 0)
			nfailed++;
		else if (!strcmp(got, want))
			ngood++;
		else
			nbad++;
	}
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	printf("ok good=%ld bad=%ld failed=%ld\n", ngood, nbad, nfailed);
	return 0;
}

struct port_flip {
	volatile uint16_t *port;
	uint16_t ok, bad;
	volatile bool stop;
	volatile unsigned long flips;
};

static void *port_flipper(void *arg)
{
	struct port_flip *f = arg;

	while (!f->stop) {
		*f->port = f->ok;
		f->flips++;
		*f->port = f->bad;
		f->flips++;
	}
	return NULL;
}

static int do_connect_flip(const char *ok, const char *bad, const char *count)
{
	long n = count_arg(count), port_ok = count_arg(ok), port_bad = count_arg(bad);
	long connected = 0, refused = 0, other = 0;
	static struct sockaddr_in sa = { .sin_family = AF_INET };
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	struct port_flip f;
	pthread_t t;

	if (n < 0 || port_ok < 0 || port_ok > 65535 || port_bad < 0 || port_bad > 65535)
		return usage();
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port_ok);
	f = (struct port_flip){ .port = &sa.sin_port,
				.ok = htons((uint16_t)port_ok),
				.bad = htons((uint16_t)port_bad) };
	errno = pthread_create(&t, NULL, port_flipper, &f);
	if (errno)
		return fail();
	/* The race starts once the flipper runs. */
	while (!f.flips)
		sched_yield();
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			f.stop = true;
			pthread_join(t, NULL);
			return fail();
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			connected++;
		else if (errno == EACCES || errno == EPERM)
			refused++;
		else
			other++;
		close(fd);
	}
	f.stop = true;
	pthread_join(t, NULL);
	printf("ok connected=%ld refused=%ld other=%ld\n", connected, refused, other);
	return 0;
}

/* Seconds since an arbitrary start (CLOCK_MONOTONIC). */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The fd number both threads use: high, so nothing else lands on it. */
#define SWAP_FD 200

struct fd_swap {
	int a, b; /* dup2()'d onto SWAP_FD in turn; b < 0: a fresh TCP socket */
	volatile bool stop;
	volatile unsigned long swaps;
};

static void *fd_swapper(void *arg)
{
	struct fd_swap *w = arg;

	while (!w->stop) {
		int b = w->b >= 0 ? w->b : socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		dup2(w->a, SWAP_FD);
		w->swaps++;
		if (b >= 0)
			dup2(b, SWAP_FD);
		if (w->b < 0 && b >= 0)
			close(b);
		w->swaps++;
	}
	return NULL;
}

static int start_swapper(struct fd_swap *w, pthread_t *t)
{
	dup2(w->a, SWAP_FD);
	errno = pthread_create(t, NULL, fd_swapper, w);
	if (errno)
		return -1;
	/* The race starts once the swapper runs. */
	while (!w->swaps)
		sched_yield();
	return 0;
}

static void loopback(struct sockaddr_in *sa, long port)
{
	*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* One datagram DATA to SA on FD by MODE: 0, or -1 with errno. */
static int send_by(const char *mode, int fd, const char *data, const struct sockaddr_in *sa)
{
	struct iovec iov = { (void *)data, strlen(data) };
	struct mmsghdr mm = { .msg_hdr = { .msg_name = (void *)sa,
					   .msg_namelen = sizeof(*sa),
					   .msg_iov = &iov,
					   .msg_iovlen = 1 } };
	ssize_t n;

	if (!strcmp(mode, "sendto"))
		n = sendto(fd, data, strlen(data), 0, (const struct sockaddr *)sa, sizeof(*sa));
	else if (!strcmp(mode, "sendmsg"))
		n = sendmsg(fd, &mm.msg_hdr, 0);
	else
		n = sendmmsg(fd, &mm, 1, 0) == 1 ? (ssize_t)mm.msg_len : -1;
	return n == (ssize_t)strlen(data) ? 0 : -1;
}

static int do_send_swap(const char *mode, const char *bad, const char *count, const char *ok)
{
	long n = count_arg(count), port_bad = count_arg(bad), port_ok = count_arg(ok);
	long sent = 0, refused = 0, other = 0;
	struct sockaddr_in to_bad, to_ok;
	struct fd_swap w = { .a = -1 };
	const char *control = "ok";
	int sp[2], udp, own;
	double deadline = now() + 10;
	pthread_t t;

	if (n < 0 || port_bad < 0 || port_bad > 65535 || port_ok < 0 || port_ok > 65535 ||
	    (strcmp(mode, "sendto") && strcmp(mode, "sendmsg") && strcmp(mode, "sendmmsg")))
		return usage();
	loopback(&to_bad, port_bad);
	loopback(&to_ok, port_ok);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) < 0)
		return fail();
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (udp < 0)
		return fail();
	w.a = sp[0];
	w.b = udp;
	if (start_swapper(&w, &t) < 0)
		return fail();
	for (long i = 0; i < n && (i % 256 || now() < deadline); i++) {
		if (send_by(mode, SWAP_FD, "x", &to_bad) == 0)
			sent++;
		else if (errno == EACCES || errno == EPERM)
			refused++;
		else
			other++;
	}
	w.stop = true;
	pthread_join(t, NULL);
	own = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (own < 0 || send_by(mode, own, "control", &to_ok) < 0)
		control = strerrorname_np(errno);
	printf("ok sent=%ld refused=%ld other=%ld control=%s\n", sent, refused, other, control);
	return 0;
}

static int do_connect_swap(const char *bad, const char *count)
{
	long n = count_arg(count), port_bad = count_arg(bad);
	long connected = 0, refused = 0, other = 0;
	struct sockaddr_in to_bad;
	struct fd_swap w = { .b = -1 };
	double deadline = now() + 10;
	pthread_t t;

	if (n < 0 || port_bad < 0 || port_bad > 65535)
		return usage();
	loopback(&to_bad, port_bad);
	w.a = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (w.a < 0 || start_swapper(&w, &t) < 0)
		return fail();
	for (long i = 0; i < n && (i % 256 || now() < deadline); i++) {
		if (connect(SWAP_FD, (struct sockaddr *)&to_bad, sizeof(to_bad)) == 0)
			connected++;
		else if (errno == EACCES || errno == EPERM)
			refused++;
		else
			other++;
	}
	w.stop = true;
	pthread_join(t, NULL);
	printf("ok connected=%ld refused=%ld other=%ld\n", connected, refused, other);
	return 0;
}

struct path_flip {
	char *buf;
	const char *a, *b; /* written in turn; a NULL: only the first byte flips */
	size_t len;
	volatile bool stop;
	volatile unsigned long flips;
};

static void *path_flipper(void *arg)
{
	struct path_flip *f = arg;

	while (!f->stop) {
		if (f->a)
			memcpy(f->buf, f->a, f->len);
		else
			f->buf[0] = '\0';
		barrier();
		f->flips++;
		if (f->a)
			memcpy(f->buf, f->b, f->len);
		else
			f->buf[0] = f->b[0];
		barrier();
		f->flips++;
	}
	return NULL;
}

/* One look at PATH by MODE: 1 when it is GOOD's (inode or link text), 0 when
 * it is something else's, -1 on error. */
static int look(const char *mode, int good_fd, const char *path, ino_t good_ino,
		const char *good_link)
{
	struct stat st;
	struct statx stx;
	char text[4096];
	ssize_t n;

	if (!strcmp(mode, "readlink")) {
		n = readlink(path, text, sizeof(text) - 1);
		if (n < 0)
			return -1;
		text[n] = '\0';
		return !strcmp(text, good_link);
	}
	if (!strcmp(mode, "statx")) {
		if (statx(AT_FDCWD, path, 0, STATX_INO, &stx) < 0)
			return -1;
		return stx.stx_ino == good_ino;
	}
	if (!strcmp(mode, "opath")) {
		int fd = open(path, O_PATH | O_CLOEXEC);
		int r = fd < 0 ? -1 : fstat(fd, &st);

		if (fd >= 0)
			close(fd);
		if (r < 0)
			return -1;
	} else if (!strcmp(mode, "empty")) {
		if (fstatat(good_fd, path, &st, AT_EMPTY_PATH) < 0)
			return -1;
	} else if ((!strcmp(mode, "lstat") ? lstat(path, &st) : stat(path, &st)) < 0) {
		return -1;
	}
	return st.st_ino == good_ino;
}

static int do_meta_flip(const char *mode, const char *good, const char *bad, const char *count)
{
	long n = count_arg(count), ngood = 0, nbad = 0, nfailed = 0;
	struct path_flip f = { .len = strlen(good) + 1 };
	double deadline = now() + 10;
	char good_link[4096] = "";
	static char buf[4096];
	bool empty = !strcmp(mode, "empty");
	struct stat st;
	int good_fd;
	pthread_t t;
	ssize_t k;

	if (n < 0 || strlen(bad) + 1 != f.len || f.len > sizeof(buf) ||
	    (strcmp(mode, "stat") && strcmp(mode, "lstat") && strcmp(mode, "statx") &&
	     strcmp(mode, "readlink") && strcmp(mode, "opath") && !empty))
		return usage();
	good_fd = open(good, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (good_fd < 0 || fstat(good_fd, &st) < 0)
		return fail();
	if (!strcmp(mode, "stat") && stat(good, &st) < 0)
		return fail();
	k = readlink(good, good_link, sizeof(good_link) - 1);
	good_link[k > 0 ? k : 0] = '\0';
	f.buf = buf;
	f.a = empty ? NULL : good;
	f.b = bad;
	memcpy(buf, empty ? bad : good, f.len);
	errno = pthread_create(&t, NULL, path_flipper, &f);
	if (errno)
		return fail();
	/* The race starts once the flipper runs. */
	while (!f.flips)
		sched_yield();
	for (long i = 0; i < n && (i % 256 || now() < deadline); i++) {
		int r = look(mode, good_fd, buf, st.st_ino, good_link);

		if (r < 0)
			nfailed++;
		else if (r)
			ngood++;
		else
			nbad++;
	}
	f.stop = true;
	pthread_join(t, NULL);
	printf("ok good=%ld bad=%ld failed=%ld\n", ngood, nbad, nfailed);
	return 0;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(a, "open-shm") && argc == 5)
		return do_open_shm(argv[2], argv[3], argv[4]);
	if (!strcmp(a, "connect-flip") && argc == 5)
		return do_connect_flip(argv[2], argv[3], argv[4]);
	if (!strcmp(a, "send-swap") && argc == 6)
		return do_send_swap(argv[2], argv[3], argv[4], argv[5]);
	if (!strcmp(a, "connect-swap") && argc == 4)
		return do_connect_swap(argv[2], argv[3]);
	if (!strcmp(a, "meta-flip") && argc == 6)
		return do_meta_flip(argv[2], argv[3], argv[4], argv[5]);
	return usage();
}
