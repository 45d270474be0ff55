// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_target - a running process for `mosctl attach` to confine
 * (selftests/attach_test.c).
 *
 *   attach_target DIR THREADS [tree]
 *
 * Opens DIR/secret once at start (an fd from before any attach), starts
 * THREADS-1 more threads that sleep in nanosleep until asked to probe, and
 * answers commands read from stdin (the main thread blocks in read(), so an
 * attach interrupts a system call in every thread):
 *
 *   probe   every thread opens DIR/secret and DIR/ok now; one line per
 *           thread: "T<i> secret=<errno> ok=<errno> data=<secret's bytes>"
 *   fork    a child forked now does the same: "child secret=... ok=..."
 *   fd      read the fd opened at start: "fd=<errno> data=<bytes>"
 *   quit    exit 0
 *
 * With "tree", a child process started at the beginning writes its own
 * probe to DIR/out/child.out every 20 ms (a descendant for --tree).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16

static const char *dir;
static int nthreads;
static atomic_int request[MAX_THREADS];
static char result[MAX_THREADS][256];

static int try_open(const char *name, char *data, size_t len)
{
	char path[4096];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (data) {
		n = read(fd, data, len - 1);
		data[n > 0 ? n : 0] = 0;
		data[strcspn(data, "\n")] = 0;
	}
	close(fd);
	return 0;
}

static void probe(char *out, size_t len, const char *who)
{
	char data[64] = "";
	int s = try_open("secret", data, sizeof(data));
	int o = try_open("ok", NULL, 0);

	snprintf(out, len, "%s secret=%d ok=%d data=%s", who, s, o, data);
}

static void *worker(void *arg)
{
	int i = (int)(long)arg;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char who[16];

	snprintf(who, sizeof(who), "T%d", i);
	for (;;) {
		if (atomic_load(&request[i])) {
			probe(result[i], sizeof(result[i]), who);
			atomic_store(&request[i], 0);
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void child_loop(pid_t parent)
{
	char out[256], path[4096], tmp[4200];

	snprintf(path, sizeof(path), "%s/out/child.out", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	for (;;) {
		FILE *f;

		probe(out, sizeof(out), "tree-child");
		f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "%s\n", out);
			fclose(f);
			rename(tmp, path);
		}
		usleep(20000);
		if (getppid() != parent)
			_exit(0); /* the target is gone: so is its tree */
	}
}

int main(int argc, char **argv)
{
	char line[64], path[4096];
	pthread_t th;
	int early_fd;

	if (argc < 3)
		return 2;
	dir = argv[1];
	nthreads = atoi(argv[2]);
	if (nthreads < 1 || nthreads > MAX_THREADS)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "%s/secret", dir);
	early_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (argc > 3 && !strcmp(argv[3], "tree")) {
		pid_t self = getpid();

		if (fork() == 0)
			child_loop(self);
	}
	for (int i = 1; i < nthreads; i++)
		pthread_create(&th, NULL, worker, (void *)(long)i);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (!strncmp(line, "probe", 5)) {
			probe(result[0], sizeof(result[0]), "T0");
			for (int i = 1; i < nthreads; i++)
				atomic_store(&request[i], 1);
			for (int i = 1; i < nthreads; i++)
				while (atomic_load(&request[i]))
					usleep(1000);
			for (int i = 0; i < nthreads; i++)
				printf("%s\n", result[i]);
			printf("end\n");
		} else if (!strncmp(line, "fork", 4)) {
			int p[2];
			char out[256] = "";

			if (pipe(p) < 0)
				return 1;
			if (fork() == 0) {
				probe(out, sizeof(out), "child");
				if (write(p[1], out, strlen(out)) < 0)
					_exit(1);
				_exit(0);
			}
			close(p[1]);
			if (read(p[0], out, sizeof(out) - 1) < 0)
				out[0] = 0;
			close(p[0]);
			printf("%s\nend\n", out);
		} else if (!strncmp(line, "fd", 2)) {
			char data[64] = "";
			ssize_t n = pread(early_fd, data, sizeof(data) - 1, 0);

			data[n > 0 ? n : 0] = 0;
			data[strcspn(data, "\n")] = 0;
			printf("fd=%d data=%s\nend\n", n < 0 ? errno : 0, data);
		} else if (!strncmp(line, "quit", 4)) {
			return 0;
		}
	}
	return 0;
}
