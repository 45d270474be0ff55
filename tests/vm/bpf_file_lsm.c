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

/* errno of open(PATH, FLAGS), 0 when it opened. */
static int open_flags_errno(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* The kernel's s_dev of PATH's filesystem and its inode, as a map key. */
static struct inode_key key_of(__u32 domain, const char *path)
{
	struct stat st;
	struct inode_key k = { .domain = domain };

	if (stat(path, &st) == 0) {
		k.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
		k.ino = st.st_ino;
	}
	return k;
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

	printf("TAP version 13\n1..9\n");
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

	/*
	 * Domain 9 enforces rules: read beneath /tmp/ro (except its secret),
	 * read and write beneath /tmp/rw, nothing else; then read on "/" too,
	 * which a file on another mount (/proc) reaches by the walk crossing
	 * mount points.
	 */
	{
		__u32 d9 = 9, enforce = 1, rd = 1, rw = 1 | 4;
		int gfd = bpf_map__fd(skel->maps.granted_inodes);
		int dfd = bpf_map__fd(skel->maps.denied_inodes);
		struct inode_key k;
		int e1, e2, e3, e4, e5, e6;

		mkdir("/tmp/ro", 0755);
		mkdir("/tmp/ro/a", 0755);
		mkdir("/tmp/ro/a/b", 0755);
		mkdir("/tmp/rw", 0755);
		close(open("/tmp/ro/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		close(open("/tmp/ro/a/b/deep", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		close(open("/tmp/ro/secret", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		close(open("/tmp/rw/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		k = key_of(9, "/tmp/ro");
		bpf_map_update_elem(gfd, &k, &rd, BPF_ANY);
		k = key_of(9, "/tmp/rw");
		bpf_map_update_elem(gfd, &k, &rw, BPF_ANY);
		k = key_of(9, "/tmp/ro/secret");
		bpf_map_update_elem(dfd, &k, &one, BPF_ANY);
		bpf_map_update_elem(bpf_map__fd(skel->maps.domain_flags), &d9, &enforce, BPF_ANY);
		bpf_map_update_elem(bpf_map__fd(skel->maps.domains), &pidfd, &d9, BPF_ANY);
		e1 = open_flags_errno("/tmp/ro/f", O_RDONLY);
		e2 = open_flags_errno("/tmp/ro/a/b/deep", O_RDONLY);
		e3 = open_flags_errno("/tmp/ro/f", O_WRONLY);
		e4 = open_flags_errno("/tmp/rw/f", O_RDWR);
		e5 = open_flags_errno("/tmp/other", O_RDONLY);
		e6 = open_flags_errno("/tmp/ro/secret", O_RDONLY);
		result(e1 == 0 && e2 == 0 && e4 == 0,
		       "rules: granted read beneath a directory (3 levels down), read+write "
		       "beneath another",
		       "%s, %s, %s", strerror(e1), strerror(e2), strerror(e4));
		result(e3 == EACCES && e5 == EACCES && e6 == EACCES,
		       "rules: no write where only read is granted, nothing ungranted, a deny "
		       "beneath a grant wins",
		       "%s, %s, %s", strerror(e3), strerror(e5), strerror(e6));
		k = key_of(9, "/");
		bpf_map_update_elem(gfd, &k, &rd, BPF_ANY);
		e1 = open_flags_errno("/proc/version", O_RDONLY);
		e2 = open_flags_errno("/tmp/other", O_RDONLY);
		e3 = open_flags_errno("/tmp/other", O_WRONLY);
		result(e1 == 0 && e2 == 0 && e3 == EACCES,
		       "rules: read granted on / reaches files on other mounts (/proc, the /tmp "
		       "tmpfs), write still refused",
		       "%s, %s, %s", strerror(e1), strerror(e2), strerror(e3));
		bpf_map_delete_elem(bpf_map__fd(skel->maps.domains), &pidfd);
	}
	ring_buffer__free(rb);
	file_lsm_bpf__destroy(skel);
	return failed ? 1 : 0;
}
