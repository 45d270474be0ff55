// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_root - unpack the tar archive embedded in this program into
 * /tmp/buildroot, in a guest of tests/vm/run, with busybox tar.
 *
 * bench/enforce --guest builds it around a small root filesystem (gcc,
 * binutils, make, the C library and the headers the generated project
 * includes, collected from a traced build on the host, and the project) and
 * runs it before enforce_guest, whose build job runs make in that root: the
 * guest has no compiler, and tests/vm/run copies in only the programs it
 * runs.  The archive is linked in by bench/guest_root_payload.S.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOT "/tmp/buildroot"

extern const char guest_root_tar[], guest_root_tar_end[];

int main(void)
{
	const char *p = guest_root_tar;
	size_t left = (size_t)(guest_root_tar_end - guest_root_tar);
	int fds[2], st;
	pid_t pid;

	if ((mkdir(ROOT, 0755) < 0 && errno != EEXIST) || pipe(fds) < 0) {
		printf("guest_root: %s: %s\n", ROOT, strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/busybox", "tar", "-x", "-C", ROOT, (char *)NULL);
		printf("guest_root: exec /bin/busybox tar: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	while (left > 0) {
		ssize_t n = write(fds[1], p, left);

		if (n <= 0) {
			printf("guest_root: writing to tar: %s\n", strerror(errno));
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	close(fds[1]);
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) || left) {
		printf("guest_root: unpacking into %s failed\n", ROOT);
		return 1;
	}
	printf("# guest_root: %.1f MB unpacked into %s\n",
	       (double)(guest_root_tar_end - guest_root_tar) / 1e6, ROOT);
	return 0;
}
