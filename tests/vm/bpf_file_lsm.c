// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_file_lsm - in a guest with the BPF LSM (tests/vm/run): load
 * bpf/file_lsm.bpf.c, put this process in a policy domain through a pidfd
 * (task storage), deny one file to that domain, and check what the kernel
 * then does: EACCES on that file only, the same for a child forked
 * afterwards (task_alloc copies the domain), nothing for a process outside
 * the domain, and one ring-buffer record per denial.  TAP; static.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "file_lsm.skel.h"

static int n, failed;

static void result(int ok, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result(int ok, const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d %s", ok ? "ok" : "not ok", ++n, what);
	if (fmt) {
		printf(" # ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	fflush(stdout);
	failed += !ok;
}

struct inode_key {
	__u32 domain;
	__u32 dev;
	__u64 ino;
};

struct denial {
	__u32 domain;
	__u32 pid;
	__u32 dev;
	__u64 ino;
};

static int ndenials;

static int on_denial(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	if (len >= sizeof(struct denial))
		ndenials++;
	return 0;
}

/* errno of open(PATH), 0 when it opened. */
static int open_errno(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* open_errno(PATH) in a child forked now: its exit status. */
static int child_open_errno(const char *path)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(open_errno(path));
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int main(void)
{
	const char *secret = "/tmp/secret", *other = "/tmp/other";
	struct file_lsm_bpf *skel;
	struct ring_buffer *rb = NULL;
	struct inode_key key = { .domain = 7 };
	struct stat st;
	__u32 domain = 7;
	__u8 one = 1;
	int pidfd, err, e;

	printf("TAP version 13\n1..6\n");
	fflush(stdout);
	if (open(secret, O_CREAT | O_WRONLY | O_CLOEXEC, 0644) < 0 ||
	    open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0644) < 0 || stat(secret, &st) < 0) {
		printf("Bail out! cannot make the test files: %s\n", strerror(errno));
		return 1;
	}
	skel = file_lsm_bpf__open_and_load();
	result(skel != NULL, "bpf/file_lsm.bpf.o loads (BPF LSM, task storage, ring buffer)",
	       skel ? NULL : "%s", strerror(errno));
	if (!skel)
		return 1;
	err = file_lsm_bpf__attach(skel);
	result(err == 0, "its LSM programs attach (file_open, task_alloc)", err ? "%s" : NULL,
	       strerror(-err));
	if (err)
		return 1;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.denials), on_denial, NULL, NULL);

	/* this process enters domain 7, which is denied the secret's inode */
	key.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
	key.ino = st.st_ino;
	pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	err = bpf_map_update_elem(bpf_map__fd(skel->maps.denied_inodes), &key, &one, BPF_ANY);
	if (!err)
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.domains), &pidfd, &domain,
					  BPF_ANY);
	if (err) {
		printf("Bail out! cannot set the domain: %s\n", strerror(errno));
		return 1;
	}
	e = open_errno(secret);
	result(e == EACCES && open_errno(other) == 0,
	       "in the domain: the denied file fails with EACCES, another opens", "open: %s",
	       strerror(e));
	e = child_open_errno(secret);
	result(e == EACCES && child_open_errno(other) == 0,
	       "a child forked afterwards is in the domain too (task_alloc)", "child: %s",
	       e >= 0 ? strerror(e) : "no status");
	/* leaving the domain: only from outside, as root, here by deleting the entry */
	bpf_map_delete_elem(bpf_map__fd(skel->maps.domains), &pidfd);
	e = open_errno(secret);
	result(e == 0, "outside the domain the same file opens", "open: %s", strerror(e));
	if (rb)
		ring_buffer__poll(rb, 100);
	result(ndenials == 2 && skel->bss->dropped == 0, "the ring buffer reports each denial once",
	       "%d records, %llu dropped", ndenials, (unsigned long long)skel->bss->dropped);
	ring_buffer__free(rb);
	file_lsm_bpf__destroy(skel);
	return failed ? 1 : 0;
}
