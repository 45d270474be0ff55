// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_path.c - paths as the sandbox names them (step 3 in unotify.c):
 * where our fds really are, cut to the sandbox's root, and a path the caller
 * gave with every symlink resolved as the kernel would resolve it for the
 * caller (sup_canonicalize()), /proc/self included.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

int sup_fd_path(int fd, char *out, size_t len)
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
 * A path as the sandbox names it, from a link text of our /proc (an fd's, a
 * cwd's): these are written from the root of the mount tree the file is in,
 * so the sandbox's own "/" (when it is not that root) is cut off.  -EACCES
 * for a file outside the sandbox's root.
 */
int sup_sandbox_path(const struct sup *s, char *path)
{
	size_t n = strlen(s->prefix);

	if (!strcmp(s->prefix, "/"))
		return 0;
	if (!path_is_beneath(path, s->prefix))
		return -EACCES;
	memmove(path, path[n] ? path + n : "/", strlen(path + n) + (path[n] ? 1 : 2));
	return 0;
}

/* The real path of our fd FD, as the sandbox names it. */
int sup_fd_real(const struct sup *s, int fd, char *out, size_t len)
{
	int err = sup_fd_path(fd, out, len);

	return err ? err : sup_sandbox_path(s, out);
}

long sup_openat2(int dirfd, const char *path, struct open_how *how)
{
	return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

/* Open absolute PATH as the sandbox would (symlinks followed in its root). */
int sup_open_as_sandbox(const struct sup *s, const char *path, __u64 flags)
{
	struct open_how how = { .flags = flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };

	if (!s->p->in_root)
		return open(path, (int)how.flags);
	return (int)sup_openat2(s->p->root_fd, path, &how);
}

#define MAX_LINKS 40

/* "/proc/self" and "/proc/thread-self" of the caller, in the sandbox's /proc
 * (NULL when the caller has no pid there: nothing is "self"). */
static const char *proc_self_of(const struct req *q, const char *cand, char *buf, size_t len)
{
	if (!q->cs.ns_tgid || !q->cs.ns_tid)
		return NULL;
	if (!strcmp(cand, "/proc/self"))
		snprintf(buf, len, "/proc/%d", (int)q->cs.ns_tgid);
	else if (!strcmp(cand, "/proc/thread-self"))
		snprintf(buf, len, "/proc/%d/task/%d", (int)q->cs.ns_tgid, (int)q->cs.ns_tid);
	else
		return NULL;
	return buf;
}

/*
 * ABS (absolute, normalized) with every symlink resolved as the kernel would
 * resolve it for the caller, in the sandbox's root: each component is
 * looked up without following (O_PATH|O_NOFOLLOW, RESOLVE_IN_ROOT and
 * RESOLVE_NO_SYMLINKS), a symlink's text is spliced in, at most 40 of them.
 * The last component is followed only with FOLLOW.  /proc/self and
 * /proc/thread-self become the caller's pid; the caller's own
 * /proc/PID/fd/N as last component is left for reopen_child_fd().  At the
 * first component that does not exist, the rest is kept as it is (the open
 * then fails or creates it).  The result is only a name: whatever is opened
 * by it is checked again by where it really is.
 */
int sup_canonicalize_fd(struct sup *s, struct req *q, const char *abs, bool follow, char **out,
			int *fdp)
{
	/* LEFT holds what is still to resolve, from NEXT on; DONE is resolved */
	_cleanup_free_ char *left = xstrdup(abs), *done = xstrdup("");
	char *next = left;
	char target[PATH_MAX], cand[PATH_MAX + NAME_MAX + 2], self[64];
	int links = 0;

	if (fdp)
		*fdp = -1;

	/*
	 * Most paths hold no symlink, and one lookup that refuses them all says
	 * so: only ELOOP needs the walk below (an error at a missing or
	 * unsearchable component leaves the path as it is there too).  Not in
	 * /proc, whose "self" must mean the caller.
	 */
	if (path_is_beneath(abs, "/proc"))
		(void)sup_need_status(s, q); /* "self" is the caller's pid (or nothing) */
	else {
		struct open_how how = { .flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
						   RESOLVE_NO_MAGICLINKS };
		int fd = (int)sup_openat2(s->root, abs, &how);

		if (fd >= 0 && fdp)
			*fdp = fd; /* that very file, for a caller that looks at it */
		else if (fd >= 0)
			close(fd);
		if (fd >= 0 || errno != ELOOP) {
			*out = xstrdup(abs);
			return 0;
		}
	}

	for (;;) {
		struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };
		_cleanup_close_ int fd = -1;
		char *comp = next, *rest;
		const char *proc;
		struct stat st;
		ssize_t n;

		while (*comp == '/')
			comp++;
		if (!*comp)
			break;
		rest = strchr(comp, '/');
		if (rest)
			*rest++ = '\0';
		else
			rest = comp + strlen(comp);
		while (*rest == '/')
			rest++;
		if (!strcmp(comp, ".")) {
			next = rest;
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *slash = strrchr(done, '/');

			if (slash)
				*slash = '\0';
			next = rest;
			continue;
		}
		if ((size_t)snprintf(cand, sizeof(cand), "%s/%s", done, comp) >= PATH_MAX)
			return -ENAMETOOLONG;
		/* a symlink led into /proc: "self" is the caller there too */
		if (!q->have_status && path_is_beneath(cand, "/proc"))
			(void)sup_need_status(s, q);
		proc = proc_self_of(q, cand, self, sizeof(self));
		if (proc) {
			free(done);
			done = xstrdup(proc);
			next = rest;
			continue;
		}
		if (!*rest && (!follow || sup_own_fd_link(q, cand) >= 0)) {
			free(done);
			done = xstrdup(cand);
			break;
		}
		fd = (int)sup_openat2(s->root, cand, &how);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode)) {
			/* not a symlink, or nothing more to learn here */
			_cleanup_free_ char *joined = xasprintf(
				"%s%s%s", cand, fd < 0 && *rest ? "/" : "", fd < 0 ? rest : "");

			free(done);
			done = steal_pointer(&joined);
			if (fd < 0)
				break;
			next = rest;
			continue;
		}
		if (++links > MAX_LINKS)
			return -ELOOP;
		n = readlinkat(fd, "", target, sizeof(target) - 1);
		if (n <= 0)
			return n < 0 ? -errno : -ENOENT;
		target[n] = '\0';
		if (!*rest && target[0] != '/' && strchr(target, ':') &&
		    (!strchr(target, '/') || strchr(target, ':') < strchr(target, '/'))) {
			/* "user:[4026531837]", "pipe:[7]": a magic link, no path */
			free(done);
			done = xstrdup(cand);
			break;
		}
		{
			char *spliced = xasprintf("%s/%s", target, rest);

			free(left);
			left = next = spliced;
		}
		if (target[0] == '/')
			done[0] = '\0';
	}
	*out = *done ? steal_pointer(&done) : xstrdup("/");
	if (strlen(*out) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The same, when nothing is looked at through it. */
int sup_canonicalize(struct sup *s, struct req *q, const char *abs, bool follow, char **out)
{
	return sup_canonicalize_fd(s, q, abs, follow, out, NULL);
}

/*
 * REAL does not exist in the sandbox.  A denied path that does not exist
 * fails with ENOENT, as under Landlock (whose checks come after the lookup):
 * existence is not a secret the policy keeps, contents are.
 */
bool sup_not_there(const struct sup *s, const char *real)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	int fd = (int)sup_openat2(s->root, real, &how);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ENOENT || errno == ENOTDIR;
}

/* N when ABS is the caller's own /proc/PID/fd/N (or task/TID/fd/N), else -1. */
int sup_own_fd_link(const struct req *q, const char *abs)
{
	char own[64];
	size_t n;
	char *end;
	long fd;

	snprintf(own, sizeof(own), "/proc/%d/fd/", (int)q->cs.ns_tgid);
	n = strlen(own);
	if (strncmp(abs, own, n)) {
		snprintf(own, sizeof(own), "/proc/%d/task/%d/fd/", (int)q->cs.ns_tgid,
			 (int)q->cs.ns_tid);
		n = strlen(own);
		if (strncmp(abs, own, n))
			return -1;
	}
	fd = strtol(abs + n, &end, 10);
	if (end == abs + n || *end || fd < 0 || fd > INT_MAX)
		return -1;
	return (int)fd;
}
