// SPDX-License-Identifier: GPL-2.0-only
/*
 * hog - resource-hungry actions inside a sandbox, for the limits and
 * process tests.
 *
 *   hog ACTION [ARGS...] [MARKER]
 *
 * Like probe, the last line is "ok ..." on success or "err ENAME ..." when
 * the resource ran out, and the exit status is 0, so that a test can tell
 * the helper's result from mosctl's own exit status.  Exit 2 is bad usage.
 * Progress lines come first (stdout is unbuffered, so they survive a kill).
 * Trailing arguments beyond an action's own are ignored: tests pass a unique
 * marker there, to find the processes again in /proc/PID/cmdline.
 *
 * Actions:
 *   mem MIB STEP          malloc and touch MIB MiB in STEP MiB blocks, printing
 *                         "touched N" after each block
 *   memtree N MIB         fork N children that each touch MIB MiB and stay;
 *                         after 3 s: "ok ready=R alive=A killed=K" (A: ready
 *                         children still alive, K: children killed by a signal)
 *   forkbomb MS           every process forks as fast as it can for MS ms;
 *                         "ok max=M forks=F eagain=E" where M is the most
 *                         processes of the bomb that ever coexisted (none
 *                         exit before the end, so M = F + 1)
 *   threads MAX           create sleeping threads until failure or MAX:
 *                         "ok threads=N" / "err ENAME threads=N"
 *   files MAX             open /dev/null until failure or MAX:
 *                         "ok opened=N last=FD" / "err ENAME opened=N last=FD"
 *   spin                  burn CPU forever
 *   daemonize             fork, setsid, fork again: the grandchild (stdio on
 *                         /dev/null) sleeps forever; prints "ok" once it runs
 *   bg                    fork a child that sleeps forever in this session
 *                         (stdio on /dev/null); prints "ok" once it runs
 *   pause                 print "ok" and sleep forever
 *   raise SIG             kill itself with signal SIG (number)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static const char *ename(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "E?";
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void msleep(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void __attribute__((noreturn)) sleep_forever(void)
{
	for (;;)
		pause();
}

static void stdio_to_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
}

/* Touch every page so that the memory is really charged. */
static void touch(char *p, size_t len)
{
	for (size_t off = 0; off < len; off += 4096)
		p[off] = (char)off | 1;
}

static int do_mem(unsigned long mib, unsigned long step)
{
	unsigned long done = 0;

	if (!step)
		return 2;
	while (done < mib) {
		unsigned long n = step < mib - done ? step : mib - done;
		char *p = malloc(n * MIB);

		if (!p) {
			printf("err %s touched=%lu\n", ename(errno), done);
			return 0;
		}
		touch(p, n * MIB);
		done += n;
		printf("touched %lu\n", done);
	}
	printf("ok %lu\n", done);
	return 0;
}

static int do_memtree(int n, unsigned long mib)
{
	int ready = 0, alive, killed = 0, fds[2];
	pid_t pids[64];
	bool is_ready[64] = { false }, dead[64] = { false };
	double end;

	if (n < 1 || n > 64 || pipe(fds) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			printf("err %s forked=%d\n", ename(errno), i);
			return 0;
		}
		if (pids[i] == 0) {
			char *p = malloc(mib * MIB);
			unsigned char me = (unsigned char)i;

			if (!p)
				_exit(3);
			touch(p, mib * MIB);
			(void)!write(fds[1], &me, 1);
			sleep_forever();
		}
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	end = now() + 3;
	while (now() < end) {
		unsigned char who;
		int st;
		pid_t w;

		while (read(fds[0], &who, 1) == 1)
			if (who < n && !is_ready[who]) {
				is_ready[who] = true;
				ready++;
			}
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			for (int i = 0; i < n; i++)
				if (pids[i] == w) {
					dead[i] = true;
					if (WIFSIGNALED(st))
						killed++;
				}
		msleep(20);
	}
	alive = 0;
	for (int i = 0; i < n; i++)
		if (is_ready[i] && !dead[i])
			alive++;
	printf("ok ready=%d alive=%d killed=%d\n", ready, alive, killed);
	for (int i = 0; i < n; i++)
		if (!dead[i])
			kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}

struct bomb {
	atomic_int live, max, forks, eagain, other;
	atomic_int stop;
};

static void bomb_loop(struct bomb *b, double end)
{
	while (!atomic_load(&b->stop) && now() < end) {
		pid_t pid = fork();

		if (pid == 0) {
			int live = atomic_fetch_add(&b->live, 1) + 1;
			int max = atomic_load(&b->max);

			while (live > max && !atomic_compare_exchange_weak(&b->max, &max, live))
				;
			continue; /* the child bombs too */
		}
		if (pid > 0) {
			atomic_fetch_add(&b->forks, 1);
			continue;
		}
		if (errno == EAGAIN)
			atomic_fetch_add(&b->eagain, 1);
		else
			atomic_fetch_add(&b->other, 1);
		msleep(10);
	}
}

static int do_forkbomb(long ms)
{
	struct bomb *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t me = getpid();
	double end = now() + (double)ms / 1000;

	if (b == MAP_FAILED) {
		printf("err %s mmap\n", ename(errno));
		return 0;
	}
	atomic_store(&b->live, 1);
	atomic_store(&b->max, 1);
	bomb_loop(b, end);
	if (getpid() != me)
		sleep_forever(); /* stay alive: the sandbox must clean up */
	atomic_store(&b->stop, 1);
	printf("ok max=%d forks=%d eagain=%d other=%d\n", atomic_load(&b->max),
	       atomic_load(&b->forks), atomic_load(&b->eagain), atomic_load(&b->other));
	return 0;
}

static void *thread_sleep(void *arg)
{
	(void)arg;
	sleep_forever();
}

static int do_threads(int max)
{
	pthread_attr_t attr;
	int n = 0, r = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	while (n < max) {
		pthread_t t;

		r = pthread_create(&t, &attr, thread_sleep, NULL);
		if (r)
			break;
		n++;
	}
	if (r)
		printf("err %s threads=%d\n", ename(r), n);
	else
		printf("ok threads=%d\n", n);
	fflush(stdout);
	_exit(0);
}

static int do_files(int max)
{
	int n = 0, last = -1, fd = -1;

	while (n < max) {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0)
			break;
		last = fd;
		n++;
	}
	if (fd < 0)
		printf("err %s opened=%d last=%d\n", ename(errno), n, last);
	else
		printf("ok opened=%d last=%d\n", n, last);
	return 0;
}

/* Fork, setsid, fork: the classic daemon, which must not outlive the sandbox. */
static int do_daemonize(void)
{
	int fds[2];
	char c;
	pid_t pid;

	if (pipe(fds) < 0)
		return 2;
	pid = fork();
	if (pid < 0) {
		printf("err %s fork\n", ename(errno));
		return 0;
	}
	if (pid == 0) {
		close(fds[0]);
		if (setsid() < 0)
			_exit(3);
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 4 : 0);
		stdio_to_null();
		(void)!write(fds[1], "d", 1);
		close(fds[1]);
		sleep_forever();
	}
	close(fds[1]);
	waitpid(pid, NULL, 0);
	if (read(fds[0], &c, 1) != 1) {
		printf("err ECHILD daemon did not start\n");
		return 0;
	}
	printf("ok\n");
	return 0;
}

static int do_bg(void)
{
	int fds[2];
	char c;
	pid_t pid;

	if (pipe(fds) < 0)
		return 2;
	pid = fork();
	if (pid < 0) {
		printf("err %s fork\n", ename(errno));
		return 0;
	}
	if (pid == 0) {
		close(fds[0]);
		stdio_to_null();
		(void)!write(fds[1], "b", 1);
		close(fds[1]);
		sleep_forever();
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {
		printf("err ECHILD child did not start\n");
		return 0;
	}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(a, "mem") && argc >= 4)
		return do_mem(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
	if (!strcmp(a, "memtree") && argc >= 4)
		return do_memtree(atoi(argv[2]), strtoul(argv[3], NULL, 10));
	if (!strcmp(a, "forkbomb") && argc >= 3)
		return do_forkbomb(atol(argv[2]));
	if (!strcmp(a, "threads") && argc >= 3)
		return do_threads(atoi(argv[2]));
	if (!strcmp(a, "files") && argc >= 3)
		return do_files(atoi(argv[2]));
	if (!strcmp(a, "spin")) {
		for (volatile unsigned long i = 0;; i++)
			;
	}
	if (!strcmp(a, "daemonize"))
		return do_daemonize();
	if (!strcmp(a, "bg"))
		return do_bg();
	if (!strcmp(a, "pause")) {
		printf("ok\n");
		sleep_forever();
	}
	if (!strcmp(a, "raise") && argc >= 3) {
		int sig = atoi(argv[2]);

		sigset_t set;

		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		printf("err %s still alive after signal %d\n", ename(errno), sig);
		return 0;
	}
	fprintf(stderr, "hog: bad usage (see selftests/helpers/hog.c)\n");
	return 2;
}
