// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_change.c - changing a directory for the caller (step 5 in
 * unotify.c): create, remove, rename, link, each made relative to a checked
 * parent directory; and truncate.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

/* sup_open_beneath() for a directory the request works in, not on (not
 * recorded). */
static int open_parent(struct sup *s, struct req *q, const char *abs)
{
	_cleanup_free_ char *canon = NULL;
	int err = sup_canonicalize(s, q, abs, true, &canon);

	return err ? err
		   : sup_open_canon(s, q, canon, UNOTIFY_WRITE, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
				    false, NULL);
}

/* Where the caller's DIRFD + path at PATH_ADDR puts a new or removed entry. */
struct entry {
	int pfd; /* O_PATH of the parent directory, beneath a write root */
	char name[NAME_MAX + 1];
	char real[PATH_MAX]; /* the entry's real path: parent's real path + name */
};

/*
 * Resolve the entry's parent as the caller would (its last component is
 * never followed), check that the parent and the entry itself are writable
 * under the policy (a denied path cannot be created, removed or renamed,
 * even when it does not exist yet), and keep the parent open: the change is
 * then made relative to that fd, so nothing resolved after the check can
 * move it elsewhere.
 */
static int entry_open(struct sup *s, struct req *q, int dirfd, __u64 path_addr, struct entry *en)
{
	char path[PATH_MAX], preal[PATH_MAX + 32];
	_cleanup_free_ char *abs = NULL;
	char *slash;
	int err;

	en->pfd = -1;
	err = sup_read_child_string(s, q, path_addr, path);
	if (err)
		return err;
	if (!path[0])
		return -ENOENT;
	err = sup_child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	slash = strrchr(abs, '/');
	if (!slash[1] || !strcmp(slash + 1, ".") || !strcmp(slash + 1, ".."))
		return -EBUSY; /* "/" itself */
	if (strlen(slash + 1) > NAME_MAX)
		return -ENAMETOOLONG;
	snprintf(en->name, sizeof(en->name), "%s", slash + 1);
	*slash = '\0';
	en->pfd = open_parent(s, q, *abs ? abs : "/");
	if (en->pfd < 0)
		return en->pfd;
	err = sup_fd_real(s, en->pfd, preal, sizeof(preal));
	if (err)
		return err;
	if ((size_t)snprintf(en->real, sizeof(en->real), "%s/%s", strcmp(preal, "/") ? preal : "",
			     en->name) >= sizeof(en->real))
		return -ENAMETOOLONG;
	return sup_allowed(s, q, en->real, UNOTIFY_WRITE, true) ? 0 : -EACCES;
}

static int result(struct answer *a, long r)
{
	if (r < 0)
		return -errno;
	a->val = 0;
	return 0;
}

int sup_do_mkdir(struct sup *s, struct req *q, int dirfd, __u64 path_addr, __u64 mode, bool node,
		 __u64 dev, struct answer *a)
{
	struct entry en;
	int err = sup_need_status(s, q); /* its umask */
	mode_t m;

	en.pfd = -1;
	if (!err)
		err = entry_open(s, q, dirfd, path_addr, &en);

	if (!err) {
		if (node) {
			m = (mode_t)mode & ~(mode_t)07777 ? (mode_t)mode & ~(mode_t)07777 : S_IFREG;
			if (!S_ISREG(m) && !S_ISFIFO(m) && !S_ISSOCK(m))
				err = -EPERM; /* devices: never */
			else
				err = result(a, mknodat(en.pfd, en.name,
							m | ((mode_t)mode & 07777 & ~q->cs.umask),
							(dev_t)dev));
		} else {
			err = result(a,
				     mkdirat(en.pfd, en.name, (mode_t)mode & 07777 & ~q->cs.umask));
		}
	}
	closep(&en.pfd);
	return err;
}

int sup_do_symlink(struct sup *s, struct req *q, __u64 target_addr, int dirfd, __u64 path_addr,
		   struct answer *a)
{
	char target[PATH_MAX];
	struct entry en = { .pfd = -1 };
	int err = sup_read_child_string(s, q, target_addr, target);

	if (!err)
		err = entry_open(s, q, dirfd, path_addr, &en);
	if (!err)
		err = result(a, symlinkat(target, en.pfd, en.name));
	closep(&en.pfd);
	return err;
}

int sup_do_unlink(struct sup *s, struct req *q, int dirfd, __u64 path_addr, int flags,
		  struct answer *a)
{
	struct entry en;
	int err = entry_open(s, q, dirfd, path_addr, &en);

	if (!err)
		err = result(a, unlinkat(en.pfd, en.name, flags & AT_REMOVEDIR));
	closep(&en.pfd);
	return err;
}

int sup_do_rename(struct sup *s, struct req *q, int olddir, __u64 old_addr, int newdir,
		  __u64 new_addr, unsigned int flags, struct answer *a)
{
	struct entry from = { .pfd = -1 }, to = { .pfd = -1 };
	int err = entry_open(s, q, olddir, old_addr, &from);

	if (!err)
		err = entry_open(s, q, newdir, new_addr, &to);
	if (!err)
		err = result(a,
			     syscall(SYS_renameat2, from.pfd, from.name, to.pfd, to.name, flags));
	closep(&from.pfd);
	closep(&to.pfd);
	return err;
}

/*
 * link: the new name must be writable, and so must the file linked (as
 * Landlock's REFER right demands): a file outside the write roots, or
 * denied, cannot gain a name inside them.  Only the caller's own paths:
 * AT_EMPTY_PATH (linking an fd) is refused.
 */
int sup_do_link(struct sup *s, struct req *q, int olddir, __u64 old_addr, int newdir,
		__u64 new_addr, int flags, struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int src = -1;
	struct entry to = { .pfd = -1 };
	int err;

	if (flags & ~AT_SYMLINK_FOLLOW)
		return -EACCES;
	err = sup_read_child_string(s, q, old_addr, path);
	if (!err)
		err = sup_child_abs_path(s, q, olddir, path, &abs);
	if (err)
		return err;
	src = sup_open_beneath(s, q, abs, UNOTIFY_WRITE,
			       O_PATH | O_CLOEXEC | ((flags & AT_SYMLINK_FOLLOW) ? 0 : O_NOFOLLOW),
			       0);
	if (src < 0)
		return src;
	err = entry_open(s, q, newdir, new_addr, &to);
	if (!err) {
		char link[64];

		snprintf(link, sizeof(link), "/proc/self/fd/%d", src);
		err = result(a, linkat(AT_FDCWD, link, to.pfd, to.name, AT_SYMLINK_FOLLOW));
	}
	closep(&to.pfd);
	return err;
}

int sup_do_truncate(struct sup *s, struct req *q, __u64 path_addr, __u64 len, struct answer *a)
{
	char path[PATH_MAX], link[64];
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int fd = -1, wfd = -1;
	struct stat st;
	int err = sup_read_child_string(s, q, path_addr, path);

	if (!err)
		err = sup_child_abs_path(s, q, AT_FDCWD, path, &abs);
	if (err)
		return err;
	/*
	 * truncate(2) never opens the file: a FIFO (which an O_WRONLY open
	 * would wait on) or a device fails with EINVAL, a directory with
	 * EISDIR.  So the file is looked at first, and only a regular file is
	 * opened (through that very fd) for writing.
	 */
	fd = sup_open_beneath(s, q, abs, UNOTIFY_WRITE, O_PATH | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	wfd = open(link, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (wfd < 0)
		return -errno;
	return result(a, ftruncate(wfd, (off_t)len));
}
