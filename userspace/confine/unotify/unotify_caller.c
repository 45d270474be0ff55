// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_caller.c - the caller of a request (step 2 in unotify.c): its
 * /proc/TID, opened once and checked with NOTIF_ID_VALID, its status
 * (credentials, umask, the pids the sandbox's /proc shows), its memory
 * (read and written by its tid, the id checked after every read), its fds
 * (pidfd_getfd) and the paths it names (against its cwd or a dirfd).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

/*
 * Privilege phases of a serving thread (drop_caps() in unotify.c sets them
 * up):
 *
 *  - Everything the caller names (a path, a dirfd's path, an address) is
 *    resolved, opened and acted on with the caller's fsuid, fsgid and
 *    groups and no capability but CAP_SETUID and CAP_SETGID in effect
 *    (needed to switch those credentials, and useless for any access
 *    check).  A root supervisor thus opens /proc/1/environ or /proc/N/mem
 *    for the sandbox exactly as the caller could: not at all for the
 *    sandbox's init, which is not dumpable.
 *  - Only to reach the caller itself (its memory at the addresses it gave,
 *    its fd N, its /proc/TID entries, a signal to it), and only when the
 *    kernel refused that without them, CAP_SYS_PTRACE and CAP_KILL are
 *    raised from the permitted set for that one system call: a root
 *    supervisor serving a caller of another uid (the library used on its
 *    own), or a caller that made itself undumpable.  mosctl's callers have
 *    its uid, so there this never happens.
 */
static bool set_tracer_caps(const struct sup *s, bool on)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	d[0].effective = on ? d[0].effective | s->tracer_caps : d[0].effective & ~s->tracer_caps;
	return syscall(SYS_capset, &h, d) == 0;
}

/* After a system call on the caller itself failed: raise the tracer's
 * capabilities for one more try, if it failed for want of them. */
static bool as_tracer(const struct sup *s)
{
	int err = errno;
	bool ok = s->tracer_caps && (err == EPERM || err == EACCES) && set_tracer_caps(s, true);

	errno = err;
	return ok;
}

/* ... and lower them again, errno kept. */
static void end_tracer(const struct sup *s)
{
	int err = errno;

	if (!set_tracer_caps(s, false))
		abort(); /* never go on serving with them */
	errno = err;
}

/* openat() of the caller's own /proc/TID entry NAME. */
int sup_caller_openat(const struct sup *s, const struct req *q, const char *name, int flags)
{
	int fd = openat(q->procfd, name, flags | O_CLOEXEC);

	if (fd < 0 && as_tracer(s)) {
		fd = openat(q->procfd, name, flags | O_CLOEXEC);
		end_tracer(s);
	}
	return fd;
}

ssize_t sup_caller_readlinkat(const struct sup *s, const struct req *q, const char *name, char *buf,
			      size_t len)
{
	ssize_t n = readlinkat(q->procfd, name, buf, len);

	if (n < 0 && as_tracer(s)) {
		n = readlinkat(q->procfd, name, buf, len);
		end_tracer(s);
	}
	return n;
}

bool sup_id_valid(const struct sup *s, const struct req *q)
{
	__u64 id = q->n->id;

	return ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static int parse_ids(const char *line, unsigned long *e, unsigned long *fs)
{
	unsigned long r, sv;

	return sscanf(line, "%lu %lu %lu %lu", &r, e, &sv, fs) == 4 ? 0 : -EINVAL;
}

/* Entry LEVEL of a list of pids ("NStgid:\t12\t1"), or 0. */
static pid_t nth_pid(const char *list, int level)
{
	char *end;
	long v = 0;

	for (int i = 0; i <= level; i++) {
		v = strtol(list, &end, 10);
		if (end == list)
			return 0;
		list = end;
	}
	return (pid_t)v;
}

int unotify_pid_level(pid_t pid)
{
	char path[64], buf[8192], *line;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int level = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	line = strstr(buf, "\nNStgid:");
	if (!line)
		return 0; /* before Linux 4.1: no pid namespaces to count */
	for (char *p = line + 8; *p && *p != '\n';) {
		char *end;

		strtol(p, &end, 10);
		if (end == p)
			break;
		level++;
		p = end;
	}
	return level < 0 ? -EIO : level;
}

/* /proc/TID/status: tgid, threads, umask, fsuid, fsgid, groups, and the
 * pids the sandbox's /proc shows.  Call after the id was validated; validate
 * again after it returns. */
static int read_status(const struct sup *s, struct req *q)
{
	char buf[8192], *line, *save = NULL;
	_cleanup_close_ int fd = openat(q->procfd, "status", O_RDONLY | O_CLOEXEC);
	unsigned long v, e;
	ssize_t n;
	int seen = 0;

	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "Tgid:", 5)) {
			q->cs.tgid = (pid_t)strtol(line + 5, NULL, 10);
			seen |= 1;
		} else if (!strncmp(line, "NStgid:", 7)) {
			q->cs.ns_tgid = nth_pid(line + 7, s->p->pid_level);
		} else if (!strncmp(line, "NSpid:", 6)) {
			q->cs.ns_tid = nth_pid(line + 6, s->p->pid_level);
		} else if (!strncmp(line, "Threads:", 8)) {
			q->cs.threads = strtol(line + 8, NULL, 10);
			seen |= 2;
		} else if (!strncmp(line, "Umask:", 6)) {
			q->cs.umask = (mode_t)strtoul(line + 6, NULL, 8) & 0777;
			seen |= 4;
		} else if (!strncmp(line, "Uid:", 4)) {
			if (parse_ids(line + 4, &e, &v) == 0) {
				q->cs.euid = (uid_t)e;
				q->cs.fsuid = (uid_t)v;
				seen |= 8;
			}
		} else if (!strncmp(line, "Gid:", 4)) {
			if (parse_ids(line + 4, &e, &v) == 0) {
				q->cs.egid = (gid_t)e;
				q->cs.fsgid = (gid_t)v;
				seen |= 16;
			}
		} else if (!strncmp(line, "Groups:", 7)) {
			char *p = line + 7, *end;

			q->cs.ngroups = 0;
			for (;;) {
				v = strtoul(p, &end, 10);
				if (end == p)
					break;
				if (q->cs.ngroups == MAX_GROUPS)
					return -E2BIG;
				q->cs.groups[q->cs.ngroups++] = (gid_t)v;
				p = end;
			}
			seen |= 32;
		}
	}
	if (seen != 63)
		return -EIO;
	if (!s->p->pid_level && !q->cs.ns_tgid) {
		q->cs.ns_tgid = q->cs.tgid;
		q->cs.ns_tid = (pid_t)q->n->pid;
	}
	q->have_status = true;
	return 0;
}

/* Make the serving thread's file credentials the caller's (per thread: raw
 * syscalls, not glibc's process-wide wrappers). */
static int become_child(struct sup *s, const struct req *q)
{
	const struct child_status *c = &q->cs;

	if (c->ngroups != s->ngroups ||
	    memcmp(c->groups, s->groups, sizeof(gid_t) * (size_t)c->ngroups)) {
		if (syscall(SYS_setgroups, (size_t)c->ngroups, c->groups) < 0)
			return -EACCES;
		memcpy(s->groups, c->groups, sizeof(gid_t) * (size_t)c->ngroups);
		s->ngroups = c->ngroups;
	}
	if (c->fsgid != s->fsgid) {
		syscall(SYS_setfsgid, c->fsgid);
		if ((gid_t)syscall(SYS_setfsgid, -1) != c->fsgid)
			return -EACCES;
		s->fsgid = c->fsgid;
	}
	if (c->fsuid != s->fsuid) {
		syscall(SYS_setfsuid, c->fsuid);
		if ((uid_t)syscall(SYS_setfsuid, -1) != c->fsuid)
			return -EACCES;
		s->fsuid = c->fsuid;
	}
	return 0;
}

/* /proc/TID of the caller, opened when first needed (step 2 in unotify.c). */
int sup_need_proc(struct sup *s, struct req *q)
{
	char path[32];

	if (q->procfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u", q->n->pid);
	q->procfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (q->procfd < 0 || !sup_id_valid(s, q))
		return -ESRCH;
	return 0;
}

int sup_need_status(struct sup *s, struct req *q)
{
	int err;

	if (q->have_status)
		return 0;
	err = sup_need_proc(s, q);
	if (err)
		return err;
	err = read_status(s, q);
	if (err)
		return err;
	if (!sup_id_valid(s, q))
		return -ESRCH;
	return s->p->same_creds ? 0 : become_child(s, q);
}

static int need_mem(struct sup *s, struct req *q)
{
	int err;

	if (q->memfd >= 0)
		return 0;
	err = sup_need_proc(s, q);
	if (err)
		return err;
	q->memfd = sup_caller_openat(s, q, "mem", O_RDWR);
	return q->memfd < 0 ? -errno : 0;
}

/*
 * Read LEN bytes at ADDR of the caller by its tid.  Sound without an fd that
 * pins the caller: the caller is blocked in the notification, so its tid
 * cannot name another task unless it died first, and the ID_VALID the
 * callers make after the read says it did not.  -ENOSYS: use the mem fd.
 */
static ssize_t vm_read(const struct sup *s, const struct req *q, __u64 addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv((pid_t)q->n->pid, &local, 1, &remote, 1, 0);

	if (n < 0 && as_tracer(s)) {
		n = process_vm_readv((pid_t)q->n->pid, &local, 1, &remote, 1, 0);
		end_tracer(s);
	}
	if (n >= 0)
		return n;
	return errno == EFAULT ? -EFAULT : errno == ESRCH ? -ESRCH : -ENOSYS;
}

/* A NUL-terminated string of at most PATH_MAX bytes at ADDR in the caller. */
int sup_read_child_string(struct sup *s, struct req *q, __u64 addr, char *buf)
{
	size_t off = 0;
	long page = sysconf(_SC_PAGESIZE);
	int err;

	if (!addr || addr >= (1ULL << 62))
		return -EFAULT;
	while (off < PATH_MAX) {
		__u64 a = addr + off;
		size_t chunk = (size_t)page - (size_t)(a % (__u64)page);
		ssize_t n;
		char *nul;

		if (chunk > PATH_MAX - off)
			chunk = PATH_MAX - off;
		n = q->memfd < 0 ? vm_read(s, q, a, buf + off, chunk) : -ENOSYS;
		if (n == -ENOSYS) {
			err = need_mem(s, q);
			if (err)
				return err;
			n = pread(q->memfd, buf + off, chunk, (off_t)a);
		}
		if (n <= 0)
			return -EFAULT;
		nul = memchr(buf + off, '\0', (size_t)n);
		if (nul)
			return sup_id_valid(s, q) ? 0 : -ESRCH;
		off += (size_t)n;
	}
	return -ENAMETOOLONG;
}

int sup_read_child_mem(struct sup *s, struct req *q, __u64 addr, void *buf, size_t len)
{
	ssize_t n;
	int err;

	if (!addr || addr >= (1ULL << 62))
		return -EFAULT;
	n = vm_read(s, q, addr, buf, len);
	if (n == -ENOSYS) {
		err = need_mem(s, q);
		if (err)
			return err;
		n = pread(q->memfd, buf, len, (off_t)addr);
	}
	if (n != (ssize_t)len)
		return -EFAULT;
	return sup_id_valid(s, q) ? 0 : -ESRCH;
}

/*
 * Write LEN bytes of BUF at ADDR in the caller (a result the kernel would
 * have copied out): checked with ID_VALID first, so that a tid reused by
 * another process is never written to.
 */
int sup_write_child_mem(struct sup *s, struct req *q, __u64 addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;
	int err;

	if (!addr || addr >= (1ULL << 62))
		return -EFAULT;
	if (!sup_id_valid(s, q))
		return -ESRCH;
	n = process_vm_writev((pid_t)q->n->pid, &local, 1, &remote, 1, 0);
	if (n < 0 && as_tracer(s)) {
		n = process_vm_writev((pid_t)q->n->pid, &local, 1, &remote, 1, 0);
		end_tracer(s);
	}
	if (n < 0 && errno != EFAULT) {
		err = need_mem(s, q);
		if (err)
			return err;
		n = pwrite(q->memfd, buf, len, (off_t)addr);
	}
	return n == (ssize_t)len ? 0 : -EFAULT;
}

void sup_write_child_u32(struct sup *s, struct req *q, __u64 addr, __u32 v, int *err)
{
	int r = sup_write_child_mem(s, q, addr, &v, sizeof(v));

	if (r && !*err)
		*err = r;
}

/*
 * Send SIG to the calling thread, as the kernel does for a call it made
 * itself (SIGPIPE for a send on a closed connection without MSG_NOSIGNAL).
 * Its tid cannot name another task while its notification is pending.
 */
void sup_signal_caller(struct sup *s, const struct req *q, int sig)
{
	if (!q->have_status || !sup_id_valid(s, q))
		return;
	if (syscall(SYS_tgkill, q->cs.tgid, (pid_t)q->n->pid, sig) < 0 && as_tracer(s)) {
		syscall(SYS_tgkill, q->cs.tgid, (pid_t)q->n->pid, sig);
		end_tracer(s);
	}
}

/* A duplicate of the caller's fd FD (pidfd_getfd: the very same file). */
int sup_child_fd(struct sup *s, struct req *q, int fd)
{
	int err = sup_need_status(s, q), dup;

	if (err)
		return err;
	if (q->pidfd < 0) {
		q->pidfd = (int)syscall(SYS_pidfd_open, q->cs.tgid, 0);
		if (q->pidfd < 0)
			return -errno;
		/* The tgid cannot be reused while one of its threads waits on us. */
		if (!sup_id_valid(s, q))
			return -ESRCH;
	}
	dup = (int)syscall(SYS_pidfd_getfd, q->pidfd, fd, 0);
	if (dup < 0 && as_tracer(s)) {
		dup = (int)syscall(SYS_pidfd_getfd, q->pidfd, fd, 0);
		end_tracer(s);
	}
	return dup < 0 ? -errno : dup;
}

/*
 * The absolute path the caller means by DIRFD + PATH, normalized and with
 * /proc/self resolved as the caller.  The base directory's path is the text
 * of /proc/TID/cwd (or fd/N), accepted only if it still names the inode
 * that the magic link itself opens: a directory renamed or removed under us
 * gives ENOENT rather than a wrong answer.
 */
int sup_child_abs_path(struct sup *s, struct req *q, int dirfd, const char *path, char **out)
{
	char base[PATH_MAX + 1], link[32];
	_cleanup_free_ char *abs = NULL;
	int err;

	/* the caller's credentials, unless the sandbox has only ours */
	if (!s->p->same_creds || path[0] != '/') {
		err = sup_need_status(s, q);
		if (err)
			return err;
	}
	if (path[0] != '/') {
		_cleanup_close_ int bfd = -1;
		struct stat a, b;
		ssize_t n;

		if (dirfd == AT_FDCWD)
			snprintf(link, sizeof(link), "cwd");
		else if (dirfd >= 0)
			snprintf(link, sizeof(link), "fd/%d", dirfd);
		else
			return -EBADF;
		bfd = sup_caller_openat(s, q, link, O_PATH);
		if (bfd < 0)
			return errno == ENOENT ? -EBADF : -errno;
		if (fstat(bfd, &a) < 0)
			return -errno;
		if (!S_ISDIR(a.st_mode))
			return -ENOTDIR;
		n = sup_caller_readlinkat(s, q, link, base, sizeof(base) - 1);
		if (n < 0)
			return -errno;
		if ((size_t)n >= sizeof(base) - 1)
			return -ENAMETOOLONG;
		base[n] = '\0';
		if (base[0] != '/' || sup_sandbox_path(s, base) < 0)
			return -ENOENT;
		closep(&bfd);
		bfd = sup_open_as_sandbox(s, base, O_PATH);
		if (bfd < 0 || fstat(bfd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			return -ENOENT;
		if (!sup_id_valid(s, q))
			return -ESRCH;
	}
	abs = path_join_normalize(path[0] == '/' ? "/" : base, path);
	/* /proc/self is resolved as the caller's pid by sup_canonicalize() */
	if (strlen(abs) >= PATH_MAX)
		return -ENAMETOOLONG;
	*out = steal_pointer(&abs);
	return 0;
}
