// SPDX-License-Identifier: GPL-2.0-only
/*
 * origin_race - remote jobs that race each other through the origin's file
 * service (selftests/origin_test.c); run inside `mosctl run --on local`.
 * One line on stdout per phase, "ok ..." with the figures, or "err ENAME"
 * when the job could not even start its part (exit 0 either way); exit 2
 * on bad usage.
 *
 *   origin_race exchange DIR A B SECONDS
 *       renameat2(DIR/A, DIR/B, RENAME_EXCHANGE) without pause until stdin
 *       ends, for SECONDS at most: "ready" after the first exchange, then
 *       "ok swaps=S failed=F".
 *
 *   origin_race victim DIR SECRET N SECONDS
 *       Looks DIR up (so that this job's view of it is a directory), says
 *       "ready", waits for a line on stdin, then for I = 0.. (below N, for
 *       SECONDS at most) works in DIR with every kind of request the origin
 *       serves: reads cI (and counts the reads whose content contains
 *       SECRET as "leaked"), creates and writes xI (a write-back), renames
 *       it to nI, links kI to it, touches it (utimens), makes mI (mkdir) and
 *       lI (symlink), chmods cI, truncates and unlinks uI.  Then
 *       "ok iterations=I leaked=L failed=F" (F: calls that failed, as they
 *       may while DIR is swapped).
 *
 *   origin_race sparse PATH HOLE
 *       PATH gets "HEAD" at 0, "MIDDLE" at HOLE/2 and "TAIL" at HOLE+4096,
 *       nothing in between (holes): "ok size=BYTES".
 *
 *   origin_race fill PATH MIB
 *       Writes MIB MiB of a non-zero pattern to PATH (no hole to keep),
 *       says "closing" and closes it (the write-back): "ok".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "origin_race: bad usage (see selftests/helpers/origin_race.c)\n");
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define SWAPPERS 4

struct swapper {
	const char *a, *b;
	double end;
	volatile bool *stop;
	long swaps, failed;
};

static void *swap_loop(void *arg)
{
	struct swapper *w = arg;

	while (!*w->stop && now_s() < w->end) {
		for (int i = 0; i < 64; i++) {
			if (renameat2(AT_FDCWD, w->a, AT_FDCWD, w->b, RENAME_EXCHANGE) == 0)
				w->swaps++;
			else
				w->failed++;
		}
	}
	return NULL;
}

static int do_exchange(const char *dir, const char *a, const char *b, const char *secs)
{
	long s = count_arg(secs), swaps = 1, failed = 0;
	struct swapper w[SWAPPERS];
	pthread_t t[SWAPPERS];
	volatile bool stop = false;
	char pa[4096], pb[4096];
	struct pollfd in = { .fd = 0, .events = POLLIN };
	double end;
	int n = 0;

	if (s < 0)
		return usage();
	snprintf(pa, sizeof(pa), "%s/%s", dir, a);
	snprintf(pb, sizeof(pb), "%s/%s", dir, b);
	if (renameat2(AT_FDCWD, pa, AT_FDCWD, pb, RENAME_EXCHANGE) < 0)
		return fail();
	printf("ready\n");
	/* several requests in flight keep the origin swapping without pause */
	end = now_s() + (double)s;
	for (; n < SWAPPERS; n++) {
		w[n] = (struct swapper){ .a = pa, .b = pb, .end = end, .stop = &stop };
		if (pthread_create(&t[n], NULL, swap_loop, &w[n]))
			break;
	}
	/* until stdin ends (the other job is done), SECONDS at most */
	while (now_s() < end) {
		char c;

		if (poll(&in, 1, 50) == 1 && read(0, &c, 1) <= 0)
			break;
	}
	stop = true;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		swaps += w[i].swaps;
		failed += w[i].failed;
	}
	printf("ok swaps=%ld failed=%ld\n", swaps, failed);
	return 0;
}

/* One request of the victim's loop: count it as failed when it fails. */
#define TRY(call)                 \
	do {                      \
		if ((call) < 0)   \
			failed++; \
	} while (0)

static int do_victim(const char *dir, const char *secret, const char *count, const char *secs)
{
	long n = count_arg(count), s = count_arg(secs), i, leaked = 0, failed = 0;
	struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char p[4096], q[4096], buf[256], line[16];
	struct stat st;
	double end;

	if (n < 0 || s < 0 || !*secret)
		return usage();
	snprintf(p, sizeof(p), "%s/c0", dir);
	if (stat(p, &st) < 0)
		return fail();
	printf("ready\n");
	if (!fgets(line, sizeof(line), stdin))
		return fail();
	end = now_s() + (double)s;
	for (i = 0; i < n && now_s() < end; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/c%ld", dir, i);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t r = read(fd, buf, sizeof(buf) - 1);

			if (r >= 0) {
				buf[r] = '\0';
				if (strstr(buf, secret))
					leaked++;
			} else {
				failed++;
			}
			close(fd);
		} else {
			failed++;
		}
		TRY(chmod(p, 0604));

		snprintf(p, sizeof(p), "%s/x%ld", dir, i);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			TRY(write(fd, "written by the job\n", 19));
			TRY(close(fd)); /* the write-back */
		} else {
			failed++;
		}
		snprintf(q, sizeof(q), "%s/n%ld", dir, i);
		TRY(rename(p, q));
		snprintf(p, sizeof(p), "%s/k%ld", dir, i);
		TRY(link(q, p));
		TRY(utimensat(AT_FDCWD, q, times, AT_SYMLINK_NOFOLLOW));

		snprintf(p, sizeof(p), "%s/m%ld", dir, i);
		TRY(mkdir(p, 0755));
		snprintf(p, sizeof(p), "%s/l%ld", dir, i);
		TRY(symlink("t", p));
		snprintf(p, sizeof(p), "%s/u%ld", dir, i);
		TRY(truncate(p, 0));
		TRY(unlink(p));
	}
	printf("ok iterations=%ld leaked=%ld failed=%ld\n", i, leaked, failed);
	return 0;
}

static int pwrite_str(int fd, const char *s, off_t off)
{
	size_t len = strlen(s);

	return pwrite(fd, s, len, off) == (ssize_t)len ? 0 : -1;
}

static int do_sparse(const char *path, const char *hole_s)
{
	long hole = count_arg(hole_s);
	struct stat st;
	int fd;

	if (hole < 0)
		return usage();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail();
	if (pwrite_str(fd, "HEAD", 0) < 0 || pwrite_str(fd, "MIDDLE", hole / 2) < 0 ||
	    pwrite_str(fd, "TAIL", hole + 4096) < 0 || fstat(fd, &st) < 0)
		return fail();
	if (close(fd) < 0)
		return fail();
	printf("ok size=%lld\n", (long long)st.st_size);
	return 0;
}

static int do_fill(const char *path, const char *mib_s)
{
	long mib = count_arg(mib_s);
	static char buf[1 << 20];
	int fd;

	if (mib < 0)
		return usage();
	for (size_t k = 0; k < sizeof(buf); k++)
		buf[k] = (char)('a' + k % 23);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail();
	for (long k = 0; k < mib; k++) {
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return fail();
	}
	printf("closing\n");
	if (close(fd) < 0)
		return fail();
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(a, "exchange") && argc == 6)
		return do_exchange(argv[2], argv[3], argv[4], argv[5]);
	if (!strcmp(a, "victim") && argc == 6)
		return do_victim(argv[2], argv[3], argv[4], argv[5]);
	if (!strcmp(a, "sparse") && argc == 4)
		return do_sparse(argv[2], argv[3]);
	if (!strcmp(a, "fill") && argc == 4)
		return do_fill(argv[2], argv[3]);
	return usage();
}
