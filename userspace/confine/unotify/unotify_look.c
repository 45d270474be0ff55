// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_look.c - looking at files for the caller (step 5 in unotify.c).
 *
 * The stat family and readlink: performed by the supervisor on what it
 * checked, and the result written into the caller (struct stat, struct
 * statx, the link's text), as the kernel would copy it out.  Letting the
 * kernel do it after the check (CONTINUE) would let another thread of the
 * caller swap the path in between and learn the metadata or the link text
 * of a path outside the policy.  What may be looked at: the roots, and the
 * directories on the way to one (realpath() of an allowed path walks them);
 * the caller's own fds (fstat, /proc/self/fd/N), namespaces and, through
 * /proc, what the policy grants of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

/*
 * CANON (allowed, in /proc) ends at a magic link of another process whose
 * text is no path (an fd of a pipe, a socket): followed as the kernel
 * follows it, with our credentials (which pass its ptrace check only as
 * the caller's would), an O_PATH fd of what it leads to.  Where that has a
 * path, the path must pass the policy too.
 */
static int proc_magic(struct sup *s, struct req *q, const char *canon)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	_cleanup_close_ int fd = (int)sup_openat2(s->root, canon, &how);
	char real[PATH_MAX + 32];
	int err;

	if (fd < 0)
		return -errno;
	err = sup_fd_path(fd, real, sizeof(real));
	if (err)
		return err;
	if (real[0] == '/') {
		err = sup_sandbox_path(s, real);
		if (!err)
			err = sup_check_real(s, q, real, UNOTIFY_LOOK);
		if (err)
			return err;
	}
	return take_fd(&fd);
}

#define MOS_PROC_SUPER_MAGIC 0x9fa0

/* Link text TEXT read through FD as the sandbox would read it: a /proc
 * magic link's text is written from our root, the sandbox's is cut off. */
static void sandbox_link_text(const struct sup *s, int fd, char *text)
{
	struct statfs sf;

	if (text[0] == '/' && fstatfs(fd, &sf) == 0 && sf.f_type == MOS_PROC_SUPER_MAGIC) {
		char *copy = xstrdup(text);

		if (sup_sandbox_path(s, copy) == 0)
			strcpy(text, copy);
		free(copy);
	}
}

/* Write TEXT (a link's, LEN bytes) as readlink's answer. */
static int look_text(struct sup *s, struct req *q, const char *text, const struct look *l,
		     struct answer *a)
{
	size_t n = strlen(text);
	int err;

	if (n > l->size)
		n = (size_t)l->size;
	err = sup_write_child_mem(s, q, l->buf, text, n);
	if (err)
		return err;
	a->val = (__s64)n;
	return 0;
}

/* The answer for L from FD: the file itself (O_PATH), or the link. */
static int look_answer(struct sup *s, struct req *q, int fd, const struct look *l, struct answer *a)
{
	struct stat st;
	struct statx stx;
	char text[PATH_MAX + 32];
	ssize_t n;
	int err;

	switch (l->kind) {
	case LOOK_STAT:
		if (fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
			return -errno;
		err = sup_write_child_mem(s, q, l->buf, &st, sizeof(st));
		break;
	case LOOK_STATX:
		if (statx(fd, "", AT_EMPTY_PATH | l->sync, l->mask, &stx) < 0)
			return -errno;
		err = sup_write_child_mem(s, q, l->buf, &stx, sizeof(stx));
		break;
	default:
		n = readlinkat(fd, "", text, sizeof(text) - 1);
		if (n < 0 && errno == ENOENT && !l->empty)
			return -EINVAL; /* not a link: what readlink of its path says */
		if (n < 0)
			return -errno;
		text[n] = '\0';
		sandbox_link_text(s, fd, text);
		return look_text(s, q, text, l, a);
	}
	if (err)
		return err;
	a->val = 0;
	return 0;
}

/*
 * FD is our copy of one of the caller's fds (or of its cwd), about to be
 * looked at.  An O_PATH fd may be of anything: the kernel opened it after
 * our check (path_only()) and a swapped path would have given it something
 * the policy does not grant.  So an O_PATH fd (and a cwd, which fchdir() to
 * such an fd moves anywhere) is looked at only where it is allowed; any
 * other fd was opened by the supervisor (or inherited), and the caller may
 * look at what it holds.
 */
static int may_look_at(struct sup *s, struct req *q, int fd, bool is_cwd)
{
	char real[PATH_MAX + 32];
	int fl = fcntl(fd, F_GETFL), err;

	if (fl < 0)
		return -errno;
	if (!is_cwd && !(fl & O_PATH))
		return 0;
	err = sup_fd_path(fd, real, sizeof(real));
	if (err || real[0] != '/')
		return err;
	err = sup_sandbox_path(s, real);
	if (!err && !sup_above_a_root(s, q, real))
		err = sup_check_real(s, q, real, UNOTIFY_LOOK);
	return err;
}

/* An O_PATH fd of what the caller's DIRFD names (AT_FDCWD: its cwd). */
static int caller_dir_fd(struct sup *s, struct req *q, int dirfd)
{
	int err, fd;

	if (dirfd != AT_FDCWD)
		return sup_child_fd(s, q, dirfd);
	err = sup_need_proc(s, q);
	if (err)
		return err;
	fd = sup_caller_openat(s, q, "cwd", O_PATH);
	if (fd < 0)
		return -errno;
	return sup_id_valid(s, q) ? fd : (close(fd), -ESRCH);
}

/* "/proc/self" or "/proc/thread-self" not followed: the link itself. */
static int look_proc_self(struct sup *s, struct req *q, const char *abs, const struct look *l,
			  struct answer *a)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };
	_cleanup_close_ int fd = -1;
	char text[64];
	int err = sup_need_status(s, q);

	if (err)
		return err;
	if (!sup_allowed(s, q, abs, UNOTIFY_LOOK, true))
		return -EACCES;
	if (!q->cs.ns_tgid)
		return -ENOENT; /* no pid in the sandbox's /proc: no "self" */
	if (l->kind == LOOK_READLINK) {
		if (!strcmp(abs, "/proc/self"))
			snprintf(text, sizeof(text), "%d", (int)q->cs.ns_tgid);
		else
			snprintf(text, sizeof(text), "%d/task/%d", (int)q->cs.ns_tgid,
				 (int)q->cs.ns_tid);
		return look_text(s, q, text, l, a);
	}
	fd = (int)sup_openat2(s->root, abs, &how);
	if (fd < 0)
		return -errno;
	return look_answer(s, q, fd, l, a);
}

/*
 * The caller's own fd N as /proc/PID/fd/N (CANON): followed, the file
 * itself (our copy of the fd); not followed, the link (its text is where
 * the fd is; lstat looks at the link in the sandbox's /proc).
 */
static int look_own_fd(struct sup *s, struct req *q, const char *canon, int n, bool nofollow,
		       const struct look *l, struct answer *a)
{
	_cleanup_close_ int dup = sup_child_fd(s, q, n), fd = -1;
	char text[PATH_MAX + 32];
	int err;

	if (dup < 0)
		return dup == -EBADF ? -ENOENT : dup;
	sup_note_path(q, canon, UNOTIFY_LOOK);
	err = may_look_at(s, q, dup, false);
	if (err)
		return err;
	if (!nofollow)
		return look_answer(s, q, dup, l, a);
	if (l->kind == LOOK_READLINK) {
		err = sup_fd_path(dup, text, sizeof(text));
		if (err)
			return err;
		if (text[0] == '/')
			(void)sup_sandbox_path(s, text);
		return look_text(s, q, text, l, a);
	}
	{
		struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };

		fd = (int)sup_openat2(s->root, canon, &how);
		if (fd < 0)
			return -errno;
	}
	return look_answer(s, q, fd, l, a);
}

/* CANON is the caller's own /proc/PID/ns/NAME: through our /proc/TID. */
static int look_own_ns(struct sup *s, struct req *q, const char *canon, bool nofollow,
		       const struct look *l, struct answer *a)
{
	char own[64], text[128];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(own, sizeof(own), "/proc/%d/ns/", (int)q->cs.ns_tgid);
	if (!q->cs.ns_tgid || strncmp(canon, own, strlen(own)) || !canon[strlen(own)] ||
	    strchr(canon + strlen(own), '/'))
		return -ENOENT;
	if (!sup_allowed(s, q, canon, UNOTIFY_LOOK, true))
		return -EACCES;
	if (sup_need_proc(s, q) < 0)
		return -ESRCH;
	if (l->kind == LOOK_READLINK) {
		n = sup_caller_readlinkat(s, q, canon + strlen(own) - 3, text, sizeof(text) - 1);
		if (n < 0)
			return -errno;
		text[n] = '\0';
		return look_text(s, q, text, l, a);
	}
	fd = sup_caller_openat(s, q, canon + strlen(own) - 3, O_PATH | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -errno;
	return look_answer(s, q, fd, l, a);
}

int sup_do_look(struct sup *s, struct req *q, int dirfd, __u64 path_addr, bool nofollow,
		int atflags, struct look *l, struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL, *canon = NULL;
	_cleanup_close_ int fd = -1;
	int err, own;

	if (l->kind == LOOK_READLINK && (l->size == 0 || l->size > INT_MAX))
		return -EINVAL;
	err = sup_read_child_string(s, q, path_addr, path);
	if (err)
		return err;
	if (!path[0]) {
		/* fstat of the caller's own fd (or cwd): no path, nothing to check */
		if (!(atflags & AT_EMPTY_PATH))
			return -ENOENT;
		l->empty = true;
		fd = caller_dir_fd(s, q, dirfd);
		if (fd < 0)
			return fd;
		err = may_look_at(s, q, fd, dirfd == AT_FDCWD);
		return err ? err : look_answer(s, q, fd, l, a);
	}
	err = sup_child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	if (nofollow && (!strcmp(abs, "/proc/self") || !strcmp(abs, "/proc/thread-self")))
		return look_proc_self(s, q, abs, l, a);
	err = sup_canonicalize_fd(s, q, abs, !nofollow, &canon, &fd);
	if (err)
		return err;
	own = sup_own_fd_link(q, canon);
	if (own >= 0)
		return look_own_fd(s, q, canon, own, nofollow, l, a);
	err = look_own_ns(s, q, canon, nofollow, l, a);
	if (err != -ENOENT)
		return err;
	if (sup_above_a_root(s, q, canon)) {
		sup_note_path(q, canon, UNOTIFY_LOOK);
	} else if (!sup_allowed(s, q, canon, UNOTIFY_LOOK, true)) {
		return sup_not_there(s, canon) ? -ENOENT : -EACCES;
	}
	if (fd < 0) {
		/* a path with symlinks (or in /proc): open what it resolved to */
		fd = sup_open_canon(s, q, canon, UNOTIFY_LOOK,
				    O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0, false,
				    NULL);
		if (fd == -ELOOP && !nofollow && path_is_beneath(canon, "/proc"))
			fd = proc_magic(s, q, canon);
		if (fd < 0)
			return fd;
	}
	return look_answer(s, q, fd, l, a);
}
