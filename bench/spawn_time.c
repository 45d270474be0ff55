// SPDX-License-Identifier: GPL-2.0-only
/*
 * spawn_time - time how long commands take from spawn to reaped exit,
 * interleaved round-robin so that drift (frequency, caches, a neighbour on the
 * host) hits every command equally.
 *
 *   spawn_time ITERATIONS WARMUP ::: LABEL CMD [ARG...] ::: LABEL CMD [ARG...] ...
 *
 * Each round runs every command once; the starting command rotates from round
 * to round so that none always runs right after the same other one.  Prints
 * one line per measured run, "LABEL NANOSECONDS", to stdout; the commands'
 * own standard output goes to /dev/null (mosctl --help's would mix with the
 * samples), their errors to stderr.  A command that exits non-zero or is
 * killed stops the measurement (exit status 1): a timing of a failed start
 * is meaningless.
 *
 * The clock is read in this process immediately before posix_spawn() (which
 * uses clone(CLONE_VM|CLONE_VFORK), so no page tables are copied) and after
 * waitpid() returns, so the figure is what a caller such as make(1) waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct cmd {
	const char *label;
	char **argv;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int run_once(const struct cmd *c, const posix_spawn_file_actions_t *fa,
		    uint64_t *ns)
{
	uint64_t t0, t1;
	pid_t pid;
	int st, r;

	t0 = now_ns();
	r = posix_spawn(&pid, c->argv[0], fa, NULL, c->argv, environ);
	if (r != 0) {
		fprintf(stderr, "spawn_time: cannot run %s (%s): %s\n", c->argv[0],
			c->label, strerror(r));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			perror("spawn_time: waitpid");
			return -1;
		}
	}
	t1 = now_ns();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "spawn_time: %s (%s) failed: %s %d\n", c->argv[0], c->label,
			WIFEXITED(st) ? "exit status" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return -1;
	}
	*ns = t1 - t0;
	return 0;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct cmd *cmds = NULL;
	size_t ncmds = 0;
	long iterations, warmup;
	int i;

	if (argc < 6 || strcmp(argv[3], ":::") != 0) {
		fprintf(stderr, "usage: spawn_time ITERATIONS WARMUP ::: LABEL CMD [ARG...] "
				"[::: LABEL CMD [ARG...]]...\n");
		return 2;
	}
	iterations = strtol(argv[1], NULL, 10);
	warmup = strtol(argv[2], NULL, 10);
	if (iterations < 1 || warmup < 0) {
		fprintf(stderr, "spawn_time: bad ITERATIONS or WARMUP\n");
		return 2;
	}
	/* Split argv at ":::" in place: each command's argv ends at the next one. */
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], ":::") != 0)
			continue;
		argv[i] = NULL;
		if (i + 2 >= argc || !strcmp(argv[i + 1], ":::") || !strcmp(argv[i + 2], ":::")) {
			fprintf(stderr, "spawn_time: each ::: needs a LABEL and a CMD\n");
			return 2;
		}
		cmds = realloc(cmds, (ncmds + 1) * sizeof(*cmds));
		if (!cmds)
			return 1;
		cmds[ncmds].label = argv[i + 1];
		cmds[ncmds].argv = &argv[i + 2];
		ncmds++;
	}

	/* Children get /dev/null as stdin and stdout; stderr stays (errors show). */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);

	for (long round = -warmup; round < iterations; round++) {
		size_t start = (size_t)((round + warmup) % (long)ncmds);

		for (size_t k = 0; k < ncmds; k++) {
			const struct cmd *c = &cmds[(start + k) % ncmds];
			uint64_t ns;

			if (run_once(c, &fa, &ns) < 0)
				return 1;
			if (round >= 0)
				printf("%s %llu\n", c->label, (unsigned long long)ns);
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	free(cmds);
	return fflush(stdout) == 0 ? 0 : 1;
}
