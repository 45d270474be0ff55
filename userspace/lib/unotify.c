// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify.c - the supervisor: receive trapped syscalls, decide, act on the
 * child's behalf, answer.
 *
 * One request, step by step (the order is what makes it race-free):
 *
 *  1. SECCOMP_IOCTL_NOTIF_RECV gives the caller's tid (in our pid namespace)
 *     and its arguments, copied by the kernel: the numbers cannot change.
 *  2. Open /proc/TID as an O_PATH directory, then NOTIF_ID_VALID.  The tid
 *     cannot be reused while the notification is pending (the caller is
 *     blocked in it), so once the id is valid after the open, the directory
 *     fd names the caller for good: everything else about the caller (its
 *     memory, cwd, fds, credentials) is reached through it, never through a
 *     pid number again.  /proc/TID/mem opened through it is bound to the
 *     caller's mm.
 *  3. Read the path from that mem fd, bounded (PATH_MAX, page by page,
 *     NUL-terminated), then NOTIF_ID_VALID again.  The string is now ours:
 *     whatever the child writes into its buffer later, nobody reads it again.
 *  4. Resolve it as the child: relative paths against the child's cwd or
 *     dirfd (the /proc/TID/{cwd,fd/N} link text, verified by comparing the
 *     inode it names with the inode the magic link opens O_PATH), then
 *     ".", ".." and "//" removed lexically, then /proc/self and
 *     /proc/thread-self rewritten to the caller's tgid and tid.
 *  5. Check the policy on that string, open it beneath the O_PATH fd of the
 *     allowing root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS),
 *     and check the policy again on where the fd really is (its
 *     /proc/self/fd link): a symlink inside a root that points into a deny
 *     root, or anything under the supervisor's own /proc entries, fails.
 *     The open runs with the child's fsuid, fsgid, groups and umask.
 *  6. Inject the fd with SECCOMP_IOCTL_NOTIF_ADDFD + SECCOMP_ADDFD_FLAG_SEND
 *     (atomically installs it and answers the syscall with its number), or
 *     write the stat/readlink result into the child through the mem fd and
 *     answer, or answer an error.  Never SECCOMP_USER_NOTIF_FLAG_CONTINUE
 *     for a path syscall, except execve of a single-threaded caller
 *     (Documentation/supervisor.md says why and what is left).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unotify.h"
#include "util.h"

#define MAX_GROUPS 64

struct sup_root {
	const char *path; /* as given, normalized */
	char *real;	  /* realpath() of it */
	int fd;		  /* O_PATH of it */
	bool write;
};

struct sup {
	const struct unotify_policy *p;
	struct sup_root *roots;
	size_t nroots;
	char **deny_real;
	size_t ndeny;
	struct unotify_stats *st;
	int listener;
	pid_t self_tgid;
	/* The serving thread's current file credentials. */
	uid_t fsuid;
	gid_t fsgid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

struct child_status {
	pid_t tgid;
	long threads;
	mode_t umask;
	uid_t fsuid;
	gid_t fsgid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

struct req {
	struct seccomp_notif *n;
	int procfd;
	int memfd;
	int pidfd;
	struct child_status cs;
	bool have_status;
};

/* -------------------------------------------------------------------- */
/* Policy                                                                */
/* -------------------------------------------------------------------- */

static size_t list_len(const char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

static bool denied_by(const char *const *deny, const char *path)
{
	for (size_t i = 0; deny && deny[i]; i++)
		if (path_is_beneath(path, deny[i]))
			return true;
	return false;
}

int unotify_policy_check(const struct unotify_policy *p, const char *path,
			 enum unotify_access access, size_t *root)
{
	size_t nread = list_len(p->read), best_len = 0;
	bool found = false;

	if (path[0] != '/' || denied_by(p->deny, path))
		return -EACCES;
	/* The longest matching root wins (a write root inside a read root). */
	for (size_t i = 0; i < nread + list_len(p->write); i++) {
		const char *r = i < nread ? p->read[i] : p->write[i - nread];

		if (access == UNOTIFY_WRITE && i < nread)
			continue;
		if (path_is_beneath(path, r) && (!found || strlen(r) > best_len)) {
			found = true;
			best_len = strlen(r);
			*root = i;
		}
	}
	return found ? 0 : -EACCES;
}

/* The same check on a real (symlink-free) path, against the roots' real paths. */
static int check_real(const struct sup *s, const char *real, enum unotify_access access)
{
	char proc_self[32];
	size_t n;

	if (real[0] != '/')
		return -EACCES;
	n = strlen(real);
	if (n > 10 && !strcmp(real + n - 10, " (deleted)"))
		return -EACCES;
	snprintf(proc_self, sizeof(proc_self), "/proc/%d", (int)s->self_tgid);
	if (path_is_beneath(real, proc_self))
		return -EACCES;
	for (size_t i = 0; i < s->ndeny; i++)
		if (path_is_beneath(real, s->deny_real[i]))
			return -EACCES;
	for (size_t i = 0; i < s->nroots; i++) {
		if (access == UNOTIFY_WRITE && !s->roots[i].write)
			continue;
		if (path_is_beneath(real, s->roots[i].real))
			return 0;
	}
	return -EACCES;
}

static void sup_free(struct sup *s)
{
	for (size_t i = 0; i < s->nroots; i++) {
		free(s->roots[i].real);
		if (s->roots[i].fd >= 0)
			close(s->roots[i].fd);
	}
	free(s->roots);
	for (size_t i = 0; i < s->ndeny; i++)
		free(s->deny_real[i]);
	free(s->deny_real);
}

static int sup_init(struct sup *s, const struct unotify_policy *p)
{
	const char *const *lists[2] = { p->read, p->write };
	size_t ndeny = list_len(p->deny);

	s->p = p;
	s->roots = xcalloc(list_len(p->read) + list_len(p->write) + 1, sizeof(*s->roots));
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			struct sup_root *r = &s->roots[s->nroots++];

			r->fd = -1;
			r->path = lists[l][i];
			r->write = l == 1;
			if (r->path[0] != '/')
				return -EINVAL;
			r->real = realpath(r->path, NULL);
			if (!r->real)
				return -errno;
			r->fd = open(r->real, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (r->fd < 0)
				return -errno;
		}
	}
	s->deny_real = xcalloc(ndeny + 1, sizeof(char *));
	for (size_t i = 0; i < ndeny; i++) {
		char *real = realpath(p->deny[i], NULL);

		if (p->deny[i][0] != '/')
			return -EINVAL;
		/* A deny root that does not exist yet still denies by its name. */
		s->deny_real[s->ndeny++] = real ? real : xstrdup(p->deny[i]);
	}
	return 0;
}

/* -------------------------------------------------------------------- */
/* The caller                                                            */
/* -------------------------------------------------------------------- */

static bool id_valid(const struct sup *s, const struct req *q)
{
	__u64 id = q->n->id;

	return ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static int parse_ids(const char *line, unsigned long *fs)
{
	unsigned long r, e, sv;

	return sscanf(line, "%lu %lu %lu %lu", &r, &e, &sv, fs) == 4 ? 0 : -EINVAL;
}

/* /proc/TID/status: tgid, threads, umask, fsuid, fsgid, groups.  Call after
 * the id was validated; validate again after it returns. */
static int read_status(struct req *q)
{
	char buf[8192], *line, *save = NULL;
	_cleanup_close_ int fd = openat(q->procfd, "status", O_RDONLY | O_CLOEXEC);
	unsigned long v;
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
		} else if (!strncmp(line, "Threads:", 8)) {
			q->cs.threads = strtol(line + 8, NULL, 10);
			seen |= 2;
		} else if (!strncmp(line, "Umask:", 6)) {
			q->cs.umask = (mode_t)strtoul(line + 6, NULL, 8) & 0777;
			seen |= 4;
		} else if (!strncmp(line, "Uid:", 4)) {
			if (parse_ids(line + 4, &v) == 0) {
				q->cs.fsuid = (uid_t)v;
				seen |= 8;
			}
		} else if (!strncmp(line, "Gid:", 4)) {
			if (parse_ids(line + 4, &v) == 0) {
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

static int need_status(struct sup *s, struct req *q)
{
	int err;

	if (q->have_status)
		return 0;
	err = read_status(q);
	if (err)
		return err;
	if (!id_valid(s, q))
		return -ESRCH;
	return become_child(s, q);
}

static int need_mem(struct req *q)
{
	if (q->memfd >= 0)
		return 0;
	q->memfd = openat(q->procfd, "mem", O_RDWR | O_CLOEXEC);
	return q->memfd < 0 ? -errno : 0;
}

/* A NUL-terminated string of at most PATH_MAX bytes at ADDR in the caller. */
static int read_child_string(struct sup *s, struct req *q, __u64 addr, char *buf)
{
	size_t off = 0;
	long page = sysconf(_SC_PAGESIZE);
	int err;

	if (!addr || addr >= (1ULL << 62))
		return -EFAULT;
	err = need_mem(q);
	if (err)
		return err;
	while (off < PATH_MAX) {
		__u64 a = addr + off;
		size_t chunk = (size_t)page - (size_t)(a % (__u64)page);
		ssize_t n;
		char *nul;

		if (chunk > PATH_MAX - off)
			chunk = PATH_MAX - off;
		n = pread(q->memfd, buf + off, chunk, (off_t)a);
		if (n <= 0)
			return -EFAULT;
		nul = memchr(buf + off, '\0', (size_t)n);
		if (nul)
			return id_valid(s, q) ? 0 : -ESRCH;
		off += (size_t)n;
	}
	return -ENAMETOOLONG;
}

static int read_child_mem(struct sup *s, struct req *q, __u64 addr, void *buf, size_t len)
{
	int err = need_mem(q);

	if (err)
		return err;
	if (!addr || addr >= (1ULL << 62) || pread(q->memfd, buf, len, (off_t)addr) != (ssize_t)len)
		return -EFAULT;
	return id_valid(s, q) ? 0 : -ESRCH;
}

static int write_child_mem(struct sup *s, struct req *q, __u64 addr, const void *buf, size_t len)
{
	int err = need_mem(q);

	if (err)
		return err;
	if (!id_valid(s, q))
		return -ESRCH;
	if (!addr || addr >= (1ULL << 62) || pwrite(q->memfd, buf, len, (off_t)addr) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

/* A duplicate of the caller's fd FD (pidfd_getfd: the very same file). */
static int child_fd(struct sup *s, struct req *q, int fd)
{
	int err = need_status(s, q), dup;

	if (err)
		return err;
	if (q->pidfd < 0) {
		q->pidfd = (int)syscall(SYS_pidfd_open, q->cs.tgid, 0);
		if (q->pidfd < 0)
			return -errno;
		/* The tgid cannot be reused while one of its threads waits on us. */
		if (!id_valid(s, q))
			return -ESRCH;
	}
	dup = (int)syscall(SYS_pidfd_getfd, q->pidfd, fd, 0);
	return dup < 0 ? (errno == EBADF ? -EBADF : -errno) : dup;
}

static int fd_path(int fd, char *out, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

/*
 * The absolute path the caller means by DIRFD + PATH, normalized and with
 * /proc/self resolved as the caller.  The base directory's path is the text
 * of /proc/TID/cwd (or fd/N), accepted only if it still names the inode
 * that the magic link itself opens: a directory renamed or removed under us
 * gives ENOENT rather than a wrong answer.
 */
static int child_abs_path(struct sup *s, struct req *q, int dirfd, const char *path, char **out)
{
	char base[PATH_MAX + 1], link[32], rest[PATH_MAX + 64];
	_cleanup_free_ char *abs = NULL;
	int err;

	err = need_status(s, q);
	if (err)
		return err;
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
		bfd = openat(q->procfd, link, O_PATH | O_CLOEXEC);
		if (bfd < 0)
			return errno == ENOENT ? -EBADF : -errno;
		if (fstat(bfd, &a) < 0)
			return -errno;
		if (!S_ISDIR(a.st_mode))
			return -ENOTDIR;
		n = readlinkat(q->procfd, link, base, sizeof(base) - 1);
		if (n < 0)
			return -errno;
		if ((size_t)n >= sizeof(base) - 1)
			return -ENAMETOOLONG;
		base[n] = '\0';
		if (base[0] != '/' || stat(base, &b) < 0 || a.st_dev != b.st_dev ||
		    a.st_ino != b.st_ino)
			return -ENOENT;
		if (!id_valid(s, q))
			return -ESRCH;
	}
	abs = path_join_normalize(path[0] == '/' ? "/" : base, path);
	if (path_is_beneath(abs, "/proc/self")) {
		snprintf(rest, sizeof(rest), "/proc/%d%s", (int)q->cs.tgid, abs + 10);
		free(abs);
		abs = xstrdup(rest);
	} else if (path_is_beneath(abs, "/proc/thread-self")) {
		snprintf(rest, sizeof(rest), "/proc/%d/task/%u%s", (int)q->cs.tgid, q->n->pid,
			 abs + 17);
		free(abs);
		abs = xstrdup(rest);
	}
	if (strlen(abs) >= PATH_MAX)
		return -ENAMETOOLONG;
	*out = steal_pointer(&abs);
	return 0;
}

/* -------------------------------------------------------------------- */
/* Acting on the caller's behalf                                         */
/* -------------------------------------------------------------------- */

static long sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

static const char *rel_to(const char *abs, const char *root)
{
	const char *r = abs + (strcmp(root, "/") ? strlen(root) : 0);

	while (*r == '/')
		r++;
	return *r ? r : ".";
}

/*
 * Open ABS for ACCESS with FLAGS (the supervisor's O_CLOEXEC included) and
 * MODE beneath the allowing root, and check where the fd really is.
 * O_CREAT opens the parent first (checked for write) and creates the last
 * component without following a symlink there, so nothing is created
 * before the check.  Returns the fd or -errno.
 */
static int open_beneath(struct sup *s, const char *abs, enum unotify_access access,
			__u64 flags, __u64 mode)
{
	struct open_how how = { .flags = flags, .mode = mode,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	char real[PATH_MAX + 32];
	_cleanup_close_ int fd = -1, pfd = -1;
	size_t ri;
	int err;

	err = unotify_policy_check(s->p, abs, access, &ri);
	if (err)
		return err;
	if ((flags & O_CREAT) && strcmp(abs, s->roots[ri].path)) {
		_cleanup_free_ char *parent = xstrdup(abs);
		char *slash = strrchr(parent, '/');
		const char *last = strrchr(abs, '/') + 1;
		struct open_how phow = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
					 .resolve = how.resolve };

		*slash = '\0';
		if (!*parent)
			strcpy(parent, "/");
		if (!path_is_beneath(parent, s->roots[ri].path))
			return -EACCES; /* creating a root itself */
		pfd = (int)sys_openat2(s->roots[ri].fd, rel_to(parent, s->roots[ri].path), &phow);
		if (pfd < 0)
			return errno == EXDEV ? -EACCES : -errno;
		err = fd_path(pfd, real, sizeof(real));
		if (err)
			return err;
		err = check_real(s, real, UNOTIFY_WRITE);
		if (err)
			return err;
		how.resolve |= RESOLVE_NO_SYMLINKS;
		fd = (int)sys_openat2(pfd, last, &how);
	} else {
		fd = (int)sys_openat2(s->roots[ri].fd, rel_to(abs, s->roots[ri].path), &how);
	}
	if (fd < 0)
		return errno == EXDEV ? -EACCES : -errno;
	err = fd_path(fd, real, sizeof(real));
	if (err)
		return err;
	if ((flags & O_TMPFILE) != O_TMPFILE) {
		err = check_real(s, real, access);
		if (err)
			return err;
	}
	return take_fd(&fd);
}

struct answer {
	__s64 val;
	__s32 error;
	bool cont;   /* SECCOMP_USER_NOTIF_FLAG_CONTINUE (execve only) */
	int inject;  /* >= 0: send this fd with ADDFD_FLAG_SEND */
	__u32 newfd_flags;
};

#define VALID_OPEN_FLAGS                                                                     \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | \
	 O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH |  \
	 O_TMPFILE | O_SYNC)

static int do_open(struct sup *s, struct req *q, int dirfd, __u64 path_addr, __u64 flags,
		   __u64 mode, struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL;
	enum unotify_access access = UNOTIFY_READ;
	bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
	int err, fd;

	err = read_child_string(s, q, path_addr, path);
	if (!err)
		err = child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	flags &= VALID_OPEN_FLAGS;
	if (!(flags & O_PATH) &&
	    ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) || creates))
		access = UNOTIFY_WRITE;
	a->newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0;
	/* The supervisor's own copy: close-on-exec, never our controlling tty. */
	flags |= O_CLOEXEC | O_NOCTTY | O_LARGEFILE;
	mode = creates ? (mode & 07777 & ~(__u64)q->cs.umask) : 0;
	fd = open_beneath(s, abs, access, flags, mode);
	if (fd < 0)
		return fd;
	a->inject = fd;
	return 0;
}

static int do_stat(struct sup *s, struct req *q, int dirfd, __u64 path_addr, int atflags,
		   bool is_statx, __u64 mask, __u64 buf_addr, struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int fd = -1;
	struct statx stx;
	struct stat st;
	int err;

	err = read_child_string(s, q, path_addr, path);
	if (err)
		return err;
	if (!path[0]) {
		if (!(atflags & AT_EMPTY_PATH))
			return -ENOENT;
		err = need_status(s, q);
		if (err)
			return err;
		if (dirfd == AT_FDCWD)
			fd = openat(q->procfd, "cwd", O_PATH | O_CLOEXEC);
		else
			fd = child_fd(s, q, dirfd);
		if (fd < 0)
			return fd == -1 ? -errno : fd;
	} else {
		err = child_abs_path(s, q, dirfd, path, &abs);
		if (err)
			return err;
		fd = open_beneath(s, abs, UNOTIFY_READ,
				  O_PATH | O_CLOEXEC |
					  ((atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0),
				  0);
		if (fd < 0)
			return fd;
	}
	if (is_statx) {
		if (statx(fd, "", AT_EMPTY_PATH | (atflags & AT_STATX_SYNC_TYPE), (unsigned)mask,
			  &stx) < 0)
			return -errno;
		err = write_child_mem(s, q, buf_addr, &stx, sizeof(stx));
	} else {
		if (fstat(fd, &st) < 0)
			return -errno;
		err = write_child_mem(s, q, buf_addr, &st, sizeof(st));
	}
	if (err)
		return err;
	a->val = 0;
	return 0;
}

static int do_readlink(struct sup *s, struct req *q, int dirfd, __u64 path_addr, __u64 buf_addr,
		       __u64 size, struct answer *a)
{
	char path[PATH_MAX], target[PATH_MAX];
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int err;

	if ((__s64)size <= 0)
		return -EINVAL;
	err = read_child_string(s, q, path_addr, path);
	if (!err)
		err = child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	fd = open_beneath(s, abs, UNOTIFY_READ, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	n = readlinkat(fd, "", target, sizeof(target));
	if (n < 0)
		return -errno;
	if ((__u64)n > size)
		n = (ssize_t)size;
	err = write_child_mem(s, q, buf_addr, target, (size_t)n);
	if (err)
		return err;
	a->val = n;
	return 0;
}

/*
 * execve: only the kernel can do it, and it reads the path again.  Allowed
 * only when the path is beneath a read root (checked on an O_PATH open, so
 * symlinks count) and the caller is the only thread of its process: no
 * other thread can rewrite the buffer between our read and the kernel's.
 * Memory shared with another process (CLONE_VM, MAP_SHARED) is not
 * covered: see Documentation/supervisor.md.
 */
static int do_exec(struct sup *s, struct req *q, int dirfd, __u64 path_addr, int atflags,
		   struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int fd = -1;
	int err;

	err = read_child_string(s, q, path_addr, path);
	if (err)
		return err;
	if (!path[0] || (atflags & ~AT_SYMLINK_NOFOLLOW))
		return -EACCES; /* fexecve and friends: not yet */
	err = child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	fd = open_beneath(s, abs, UNOTIFY_READ,
			  O_PATH | O_CLOEXEC | ((atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0),
			  0);
	if (fd < 0)
		return fd;
	q->have_status = false; /* the thread count must be fresh */
	err = need_status(s, q);
	if (err)
		return err;
	if (q->cs.threads != 1)
		return -EACCES;
	a->cont = true;
	return 0;
}

static int do_connect(struct sup *s, struct req *q, int sockfd, __u64 addr, __u64 len,
		      struct answer *a)
{
	struct sockaddr_storage ss;
	_cleanup_close_ int fd = -1;
	int err;

	if (!s->p->allow_net)
		return -EACCES;
	if (len < sizeof(sa_family_t) || len > sizeof(ss))
		return -EINVAL;
	err = read_child_mem(s, q, addr, &ss, (size_t)len);
	if (err)
		return err;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return -EACCES;
	fd = child_fd(s, q, sockfd);
	if (fd < 0)
		return fd;
	/* Our copy of the address, on the caller's own socket. */
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0)
		return -errno;
	a->val = 0;
	return 0;
}

static int handle(struct sup *s, struct req *q, struct answer *a)
{
	const __u64 *g = q->n->data.args;

	switch (q->n->data.nr) {
	case __NR_open:
		return do_open(s, q, AT_FDCWD, g[0], g[1], g[2], a);
	case __NR_creat:
		return do_open(s, q, AT_FDCWD, g[0], O_CREAT | O_WRONLY | O_TRUNC, g[1], a);
	case __NR_openat:
		return do_open(s, q, (int)g[0], g[1], g[2], g[3], a);
	case __NR_stat:
		return do_stat(s, q, AT_FDCWD, g[0], 0, false, 0, g[1], a);
	case __NR_lstat:
		return do_stat(s, q, AT_FDCWD, g[0], AT_SYMLINK_NOFOLLOW, false, 0, g[1], a);
	case __NR_newfstatat:
		return do_stat(s, q, (int)g[0], g[1], (int)g[3], false, 0, g[2], a);
	case __NR_statx:
		return do_stat(s, q, (int)g[0], g[1], (int)g[2], true, g[3], g[4], a);
	case __NR_readlink:
		return do_readlink(s, q, AT_FDCWD, g[0], g[1], g[2], a);
	case __NR_readlinkat:
		return do_readlink(s, q, (int)g[0], g[1], g[2], g[3], a);
	case __NR_execve:
		return do_exec(s, q, AT_FDCWD, g[0], 0, a);
	case __NR_execveat:
		return do_exec(s, q, (int)g[0], g[1], (int)g[4], a);
	case __NR_connect:
		return do_connect(s, q, (int)g[0], g[1], g[2], a);
	default:
		return -ENOSYS;
	}
}

/* -------------------------------------------------------------------- */
/* The loop                                                              */
/* -------------------------------------------------------------------- */

/* Keep only CAP_SETUID, CAP_SETGID, CAP_SYS_PTRACE, in this thread only:
 * opens are then checked against the caller's credentials, not ours. */
static int drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	const __u32 keep = (1U << CAP_SETUID) | (1U << CAP_SETGID) | (1U << CAP_SYS_PTRACE);

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].effective &= keep;
	d[0].permitted &= keep;
	d[0].inheritable &= keep;
	d[1].effective = d[1].permitted = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

static void reply(struct sup *s, const struct req *q, const struct answer *a, int err)
{
	struct seccomp_notif_resp resp = { .id = q->n->id };

	if (!err && a->inject >= 0) {
		struct seccomp_notif_addfd addfd = {
			.id = q->n->id,
			.flags = SECCOMP_ADDFD_FLAG_SEND,
			.srcfd = (__u32)a->inject,
			.newfd_flags = a->newfd_flags,
		};

		if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0) {
			s->st->allowed++;
			return;
		}
		if (errno == ENOENT) {
			s->st->stale++;
			return;
		}
		/* Fail closed: the syscall fails with the injection's error. */
		err = -errno;
	}
	if (err == -ESRCH) {
		/* The caller went away mid-decision; answering is harmless. */
		s->st->stale++;
		err = -EACCES;
	} else if (err == -EACCES) {
		s->st->denied++;
	} else if (err) {
		s->st->failed++;
	} else {
		s->st->allowed++;
	}
	if (err) {
		resp.error = err;
	} else if (a->cont) {
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else {
		resp.val = a->val;
	}
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno == ENOENT)
		s->st->stale++;
}

int unotify_serve(int listener, const struct unotify_policy *p, struct unotify_stats *stats)
{
	struct seccomp_notif_sizes sizes;
	struct unotify_stats dummy = { 0 };
	struct sup s = { .listener = listener, .st = stats ? stats : &dummy };
	_cleanup_free_ struct seccomp_notif *n = NULL;
	size_t nsize;
	int err, ng;

	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return -errno;
	nsize = sizes.seccomp_notif > sizeof(*n) ? sizes.seccomp_notif : sizeof(*n);
	n = xmalloc(nsize);
	/* Our own umask and cwd: the child's umask is applied by hand. */
	if (unshare(CLONE_FS) < 0)
		return -errno;
	umask(0);
	err = drop_caps();
	if (err)
		return err;
	s.self_tgid = getpid();
	s.fsuid = (uid_t)syscall(SYS_setfsuid, -1);
	s.fsgid = (gid_t)syscall(SYS_setfsgid, -1);
	ng = (int)syscall(SYS_getgroups, MAX_GROUPS, s.groups);
	s.ngroups = ng < 0 ? 0 : ng;
	err = sup_init(&s, p);
	if (err)
		goto out;

	for (;;) {
		struct pollfd pfd = { .fd = listener, .events = POLLIN };
		struct answer a = { .inject = -1 };
		struct req q = { .n = n, .procfd = -1, .memfd = -1, .pidfd = -1 };
		char procpath[32];

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (!(pfd.revents & POLLIN)) {
			/* POLLHUP: every task under the filter is gone. */
			err = 0;
			break;
		}
		memset(n, 0, nsize);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			err = -errno;
			break;
		}
		s.st->notifications++;
		snprintf(procpath, sizeof(procpath), "/proc/%u", n->pid);
		q.procfd = open(procpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (q.procfd < 0 || !id_valid(&s, &q))
			err = -ESRCH;
		else
			err = handle(&s, &q, &a);
		reply(&s, &q, &a, err);
		err = 0;
		if (a.inject >= 0)
			close(a.inject);
		if (q.procfd >= 0)
			close(q.procfd);
		if (q.memfd >= 0)
			close(q.memfd);
		if (q.pidfd >= 0)
			close(q.pidfd);
	}
out:
	sup_free(&s);
	return err;
}
