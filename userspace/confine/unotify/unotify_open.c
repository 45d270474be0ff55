// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_open.c - open, openat and creat performed for the caller (step 5
 * in unotify.c): the file opened beneath the root that allows it and the fd
 * injected; the caller's own /proc/self/fd/N and namespace links; O_PATH
 * opens and execve, the two the kernel performs itself after the check.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

static const char *rel_to(const char *abs, const char *root)
{
	const char *r = abs + (strcmp(root, "/") ? strlen(root) : 0);

	while (*r == '/')
		r++;
	return *r ? r : ".";
}

/* An open with FLAGS follows a symlink that is its last component: not
 * with O_NOFOLLOW, nor with O_CREAT | O_EXCL (the name must not exist). */
static bool follows_last(__u64 flags)
{
	return !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
}

/*
 * openat2() for the caller without ever waiting on someone else.  A FIFO
 * opened without O_NONBLOCK waits for its other end (for ever, if nobody
 * comes), and so do some devices and a file whose lease must be broken: a
 * serving thread must not wait with it.  So the file is opened with
 * O_NONBLOCK added, and the flag is taken off it again wherever the open
 * the caller asked for would have returned at once: a regular file, a
 * directory, a device, a FIFO opened for writing that has a reader (or for
 * reading and writing).  Where it would have waited, *WAIT is set and the
 * fd returned is the file to open in a job (unotify_jobs.c): a FIFO opened
 * for reading (the non-blocking reader is held, as the caller's waiting
 * open would be, until the job's blocking open returns), or an O_PATH fd of
 * a FIFO without a reader (ENXIO) or a file with a lease (EAGAIN).  WAIT
 * NULL: open as asked (O_PATH opens, which never wait).
 */
static int open_nb(int dirfd, const char *path, struct open_how *how, bool *wait)
{
	const __u64 want = how->flags;
	struct stat st;
	int fd, err, fl;

	if (wait)
		*wait = false;
	if (!wait || (want & (O_PATH | O_NONBLOCK)))
		return (int)sup_openat2(dirfd, path, how);
	how->flags = want | O_NONBLOCK;
	fd = (int)sup_openat2(dirfd, path, how);
	how->flags = want;
	if (fd < 0) {
		struct open_how ph = { .flags = O_PATH | O_CLOEXEC | (want & O_DIRECTORY),
				       .resolve = how->resolve };

		err = errno;
		if (err != ENXIO && err != EAGAIN)
			return -1;
		/* the file itself, to be opened blocking in a job */
		fd = (int)sup_openat2(dirfd, path, &ph);
		if (fd < 0 || fstat(fd, &st) < 0 ||
		    (!S_ISFIFO(st.st_mode) && !(err == EAGAIN && !S_ISDIR(st.st_mode)))) {
			if (fd >= 0)
				close(fd);
			errno = err;
			return -1;
		}
		*wait = true;
		return fd;
	}
	if (fstat(fd, &st) < 0)
		goto fail;
	if (S_ISFIFO(st.st_mode) && (want & O_ACCMODE) == O_RDONLY) {
		*wait = true;
		return fd;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* sup_open_beneath() of a path sup_canonicalize() gave. */
int sup_open_canon(struct sup *s, struct req *q, const char *canon, enum unotify_access access,
		   __u64 flags, __u64 mode, bool primary, bool *wait)
{
	struct open_how how = { .flags = flags,
				.mode = mode,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
					   RESOLVE_NO_SYMLINKS };
	char real[PATH_MAX + 32];
	_cleanup_close_ int fd = -1, pfd = -1;
	const struct sup_root *root;
	int err;

	if (wait)
		*wait = false;
	if (access == UNOTIFY_LOOK && sup_above_a_root(s, q, canon)) {
		if (primary)
			sup_note_path(q, canon, access);
		/* a directory above a root: looked at from the sandbox's "/" */
		how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
		how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
		fd = (int)sup_openat2(s->root, canon, &how);
		if (fd < 0)
			return -errno;
		goto opened;
	}
	root = sup_allowed(s, q, canon, access, primary);
	if (!root)
		return !(flags & O_CREAT) && sup_not_there(s, canon) ? -ENOENT : -EACCES;
	if (root->fd < 0)
		return -ENOENT;
	if (root->name) {
		/* a file root: that file, nothing beneath it */
		if (strcmp(canon, root->real))
			return -ENOTDIR;
		fd = open_nb(root->fd, root->name, &how, wait);
	} else if ((flags & O_CREAT) && strcmp(canon, root->real)) {
		_cleanup_free_ char *parent = xstrdup(canon);
		char *slash = strrchr(parent, '/');
		const char *last = strrchr(canon, '/') + 1;
		struct open_how phow = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
					 .resolve = how.resolve };

		*slash = '\0';
		if (!*parent)
			strcpy(parent, "/");
		if (!path_is_beneath(parent, root->real))
			return -EACCES; /* creating a root itself */
		pfd = (int)sup_openat2(root->fd, rel_to(parent, root->real), &phow);
		if (pfd < 0)
			return errno == EXDEV ? -EACCES : -errno;
		err = sup_fd_real(s, pfd, real, sizeof(real));
		if (err)
			return err;
		err = sup_check_real(s, q, real, UNOTIFY_WRITE);
		if (err)
			return err;
		fd = open_nb(pfd, last, &how, wait);
	} else {
		fd = open_nb(root->fd, rel_to(canon, root->real), &how, wait);
	}
	if (fd < 0)
		return errno == EXDEV ? -EACCES : -errno;
opened:
	err = sup_fd_real(s, fd, real, sizeof(real));
	if (err)
		return err;
	if ((flags & O_TMPFILE) != O_TMPFILE) {
		err = sup_check_real(s, q, real, access);
		if (err)
			return err;
	}
	return take_fd(&fd);
}

/*
 * Open ABS (as the caller names it) for ACCESS with FLAGS (the supervisor's
 * O_CLOEXEC included) and MODE: resolve its symlinks as the caller would
 * (sup_canonicalize()), find the root allowing that path, open it beneath
 * the root with no symlink allowed on the way (one appearing now is a race:
 * ELOOP), and check where the fd really is.  O_CREAT opens the parent first
 * (checked for write) and creates the last component, so nothing is created
 * before the check.  Returns the fd or -errno.
 */
int sup_open_beneath(struct sup *s, struct req *q, const char *abs, enum unotify_access access,
		     __u64 flags, __u64 mode)
{
	_cleanup_free_ char *canon = NULL;
	int err = sup_canonicalize(s, q, abs, follows_last(flags), &canon);

	return err ? err : sup_open_canon(s, q, canon, access, flags, mode, true, NULL);
}

/*
 * The caller's open of the file at FD (from open_nb(), which set *wait),
 * with FLAGS, is finished by a job: it opens /proc/self/fd/FD blocking.
 * FD stays open until then.  When it is a FIFO's non-blocking reader, that
 * is the reader the caller's waiting open would be, and the serving thread
 * watches it too: a writer that came (and wrote, or went) before the job's
 * open began waiting is one the job would not see, but the reader shows
 * it (POLLIN, POLLHUP), and then that reader is the answer.
 */
static void open_in_job(struct answer *a, int fd, __u64 flags)
{
	struct job *j = sup_job_new(JOB_OPEN);
	int fl = fcntl(fd, F_GETFL);

	j->fd = fd;
	j->flags = flags;
	j->reader = fl >= 0 && !(fl & O_PATH);
	j->newfd_flags = a->newfd_flags;
	a->job = j;
}

#define VALID_OPEN_FLAGS                                                                       \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | \
	 O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH |  \
	 O_TMPFILE | O_SYNC)

/*
 * open("/proc/self/fd/N"): the kernel would reopen the file the caller's fd
 * N refers to, wherever it is.  We do the same with our duplicate of that fd
 * (pidfd_getfd), once the file's real path passes the policy for ACCESS.  A
 * pipe or socket (no path) is the caller's own already: reopened as asked.
 */
static int reopen_child_fd(struct sup *s, struct req *q, int n, enum unotify_access access,
			   __u64 flags, struct answer *a)
{
	char real[PATH_MAX + 32], link[64];
	_cleanup_close_ int dup = sup_child_fd(s, q, n);
	int err, fd;

	if (dup < 0)
		return dup;
	err = sup_fd_path(dup, real, sizeof(real));
	if (err)
		return err;
	if (real[0] == '/') {
		err = sup_sandbox_path(s, real);
		if (!err)
			err = sup_check_real(s, q, real, access);
		if (err)
			return err;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dup);
	{
		/* a pipe or FIFO reopened waits for its other end, like any */
		struct open_how how = { .flags = flags & ~(__u64)(O_CREAT | O_EXCL | O_TMPFILE) };
		bool wait;

		fd = open_nb(AT_FDCWD, link, &how, &wait);
		if (fd < 0)
			return -errno;
		if (wait)
			open_in_job(a, fd, how.flags);
		else
			a->inject = fd;
	}
	return 0;
}

/*
 * The caller's own /proc/PID/ns/NAME: a magic link to a namespace, with no
 * path behind it.  Opened through our /proc/TID of the caller, if the policy
 * lets it read /proc.  -ENOENT when CANON is not such a link.
 */
static int own_ns_link(struct sup *s, struct req *q, const char *canon, enum unotify_access access,
		       __u64 flags)
{
	char own[64];
	const char *name;
	int fd;

	snprintf(own, sizeof(own), "/proc/%d/ns/", (int)q->cs.ns_tgid);
	if (!q->cs.ns_tgid || strncmp(canon, own, strlen(own)))
		return -ENOENT;
	name = canon + strlen(own);
	if (!*name || strchr(name, '/'))
		return -ENOENT;
	if (!sup_allowed(s, q, canon, access, true))
		return -EACCES;
	fd = sup_caller_openat(s, q, canon + strlen(own) - 3, (int)(flags & ~(__u64)O_CREAT));
	return fd < 0 ? -errno : fd;
}

/*
 * O_PATH: SECCOMP_IOCTL_NOTIF_ADDFD cannot inject an O_PATH file (EBADF), so
 * this is the one open the kernel performs itself (CONTINUE), after the path
 * passed the check (the caller's own fd and namespace links excepted).  A
 * path swapped meanwhile gets the caller an O_PATH fd of something else, and
 * that grants nothing: it cannot be read, written or mapped, and every use
 * that reaches content (openat relative to it, a reopen or link through
 * /proc/self/fd, execveat) is itself trapped and judged by where the fd
 * really is.  What is left is fstat of it, which Landlock leaves open too.
 */
static int path_only(struct sup *s, struct req *q, const char *canon, __u64 flags, struct answer *a)
{
	char own[64];

	snprintf(own, sizeof(own), "/proc/%d/ns/", (int)q->cs.ns_tgid);
	if (sup_own_fd_link(q, canon) < 0 && strncmp(canon, own, strlen(own))) {
		int fd = sup_open_canon(s, q, canon, UNOTIFY_LOOK, flags, 0, true, NULL);

		if (fd < 0)
			return fd;
		close(fd);
	}
	a->cont = true;
	return 0;
}

int sup_do_open(struct sup *s, struct req *q, int dirfd, __u64 path_addr, __u64 flags, __u64 mode,
		struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL, *canon = NULL;
	enum unotify_access access = UNOTIFY_READ;
	bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
	int err, fd;

	err = sup_read_child_string(s, q, path_addr, path);
	if (!err)
		err = sup_child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	flags &= VALID_OPEN_FLAGS;
	if (!(flags & O_PATH) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) || creates))
		access = UNOTIFY_WRITE;
	a->newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0;
	/* The supervisor's own copy: close-on-exec, never our controlling tty.
	 * openat2 refuses O_PATH with anything but these (open ignores them). */
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW;
	else
		flags |= O_NOCTTY | O_LARGEFILE;
	flags |= O_CLOEXEC;
	if (creates) {
		err = sup_need_status(s, q); /* its umask */
		if (err)
			return err;
	}
	mode = creates ? (mode & 07777 & ~(__u64)q->cs.umask) : 0;
	err = sup_canonicalize(s, q, abs, follows_last(flags), &canon);
	if (err)
		return err;
	if (flags & O_PATH)
		return path_only(s, q, canon, flags, a);
	fd = sup_own_fd_link(q, canon);
	if (fd >= 0)
		return reopen_child_fd(s, q, fd, access, flags, a);
	fd = own_ns_link(s, q, canon, access, flags);
	if (fd == -ENOENT) {
		bool wait;

		fd = sup_open_canon(s, q, canon, access, flags, mode, true, &wait);
		if (fd >= 0 && wait) {
			open_in_job(a, fd, flags & ~(__u64)(O_CREAT | O_EXCL | O_TMPFILE));
			return 0;
		}
	}
	if (fd < 0)
		return fd;
	a->inject = fd;
	return 0;
}

/*
 * execve: only the kernel can do it, and it reads the path again.  Allowed
 * when the path is beneath a read root (checked on an O_PATH open, so
 * symlinks count), and then either the sandbox's mounts make anything the
 * policy does not let run unexecutable (exec_by_mounts: mosctl's sandbox),
 * or the caller is the only thread of its process, so that no thread of it
 * can rewrite the buffer between our read and the kernel's.  Without the
 * mounts, memory shared with another process (CLONE_VM, MAP_SHARED) is not
 * covered: see Documentation/supervisor.md.
 */
int sup_do_exec(struct sup *s, struct req *q, int dirfd, __u64 path_addr, int atflags,
		struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int fd = -1;
	int err;

	err = sup_read_child_string(s, q, path_addr, path);
	if (err)
		return err;
	/*
	 * fexecve (an empty path, AT_EMPTY_PATH): refused.  The kernel would
	 * look the fd up again after the check, and another thread of the
	 * caller could have put another file behind its number by then.
	 */
	if (!path[0] || (atflags & ~AT_SYMLINK_NOFOLLOW))
		return -EACCES;
	err = sup_child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	fd = sup_open_beneath(
		s, q, abs, UNOTIFY_EXEC,
		O_PATH | O_CLOEXEC | ((atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0), 0);
	if (fd < 0)
		return fd;
	q->have_status = false; /* the thread count must be fresh */
	err = sup_need_status(s, q);
	if (err)
		return err;
	if (q->cs.threads != 1 && !s->p->exec_by_mounts)
		return -EACCES;
	a->cont = true;
	return 0;
}
