// SPDX-License-Identifier: GPL-2.0-only
/*
 * mounts.c - the sandbox's filesystem view (see mounts.h).
 */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "strmap.h"
#include "util.h"

/* Add PATH to *V unless it is there (KIND names the list in V->seen). */
static void add_once(struct mos_fs_view *fv, char kind, char ***v, size_t *n, const char *path)
{
	_cleanup_free_ char *key = xasprintf("%c:%s", kind, path);
	bool added;

	if (!fv->seen)
		fv->seen = xcalloc(1, sizeof(*fv->seen));
	strmap_add_str(fv->seen, key, 0, &added);
	if (added)
		strv_push(v, n, xstrdup(path));
}

void fs_view_add_writable(struct mos_fs_view *v, const char *path)
{
	add_once(v, 'w', &v->writable, &v->nwritable, path);
}

void fs_view_add_exec(struct mos_fs_view *v, const char *path)
{
	add_once(v, 'x', &v->exec, &v->nexec, path);
}

void fs_view_add_masked(struct mos_fs_view *v, const char *path)
{
	add_once(v, 'm', &v->masked, &v->nmasked, path);
}

void fs_view_free(struct mos_fs_view *v)
{
	strv_free(v->writable);
	strv_free(v->masked);
	strv_free(v->exec);
	free(v->hosts);
	if (v->seen) {
		strmap_free(v->seen);
		free(v->seen);
	}
	*v = (struct mos_fs_view){ 0 };
}

static bool beneath_any(char *const *v, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (path_is_beneath(path, v[i]))
			return true;
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* Set ATTR (MOUNT_ATTR_RDONLY or MOUNT_ATTR_NOEXEC) on the mount at PATH
 * (and, with RECURSIVE, those below it). */
static int set_attr(const char *path, bool recursive, uint64_t set)
{
	struct mount_attr attr = { .attr_set = set };
	struct statvfs sv;
	unsigned long flags = MS_REMOUNT | MS_BIND | (set & MOUNT_ATTR_RDONLY ? MS_RDONLY : 0) |
			      (set & MOUNT_ATTR_NOEXEC ? MS_NOEXEC : 0);

	if (mount_setattr(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | (recursive ? AT_RECURSIVE : 0),
			  &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	/*
	 * Before Linux 5.12: one mount at a time (the caller then lists every
	 * mount), and a remount must repeat the flags it keeps.
	 */
	if (statvfs(path, &sv) < 0)
		return -errno;
	if (sv.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		flags |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		flags |= MS_RDONLY;
	if (sv.f_flag & ST_NOATIME)
		flags |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		flags |= MS_RELATIME;
	return mount(NULL, path, NULL, flags, NULL) < 0 ? -errno : 0;
}

/*
 * Every mount outside the KEEP trees gets attribute SET (read-only, or
 * noexec).  A mount with no KEEP tree below it is done with its whole subtree
 * in one call; one that contains a KEEP tree (the root, usually) is done
 * alone.  Mount points are visited in mountinfo order, parents before
 * children.  One that cannot be reached (hidden under another mount) is
 * skipped: the sandbox cannot reach it either.
 */
static const char *attr_outside(char *const *keep, size_t nkeep, uint64_t set, int *err)
{
	FILE *f;
	char **done = NULL; /* subtrees already made read-only */
	size_t ndone = 0;
	bool per_mount = false; /* no mount_setattr: every mount on its own */
	char line[8192];
	const char *step = NULL;

	/*
	 * Nothing to keep: the whole tree in one call.  The loop below comes
	 * to the same on the root's line, then reads the rest of mountinfo
	 * only to skip it (some 60 us of a start here); it stays for kernels
	 * without mount_setattr and for a root that call cannot change.
	 */
	if (!nkeep) {
		struct mount_attr attr = { .attr_set = set };

		if (mount_setattr(AT_FDCWD, "/", AT_SYMLINK_NOFOLLOW | AT_RECURSIVE, &attr,
				  sizeof(attr)) == 0)
			return NULL;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		*err = errno;
		return "reading /proc/self/mountinfo";
	}
	while (!step && fgets(line, sizeof(line), f)) {
		char mp[4096];
		bool contains_writable = false;
		int r;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape_octal(mp);
		if (beneath_any(keep, nkeep, mp) || beneath_any(done, ndone, mp))
			continue;
		for (size_t i = 0; i < nkeep; i++)
			if (path_is_beneath(keep[i], mp))
				contains_writable = true;
		r = set_attr(mp, !contains_writable && !per_mount, set);
		if (r == 0 && !contains_writable && !per_mount)
			strv_push(&done, &ndone, xstrdup(mp));
		if (r == -ENOSYS)
			per_mount = true;
		if (r < 0 && r != -ENOENT && r != -EACCES && r != -ENOTDIR) {
			*err = -r;
			step = set & MOUNT_ATTR_RDONLY
				       ? "making the filesystem read-only outside the writable "
					 "paths"
				       : "making the filesystem noexec outside the exec paths";
		}
	}
	fclose(f);
	strv_free(done);
	return step;
}

/*
 * A detached tmpfs mount (nosuid, nodev, noexec) of SIZE, its root of MODE
 * (NULL: tmpfs's default): the mount fd, or -1 with errno set.
 */
static int detached_tmpfs(const char *mode, const char *size)
{
	_cleanup_close_ int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);

	if (fsfd < 0 || (mode && fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", mode, 0) < 0) ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	return fsmount(fsfd, FSMOUNT_CLOEXEC,
		       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

/*
 * A clone of NAME ("": the root) in the detached mount MNT, to move over a
 * path: the tree's fd, or -1 with errno set.  Kernels before 6.15 clone only
 * mounts attached in the caller's namespace and refuse a detached one with
 * EINVAL: there MNT is attached over ANCHOR first (once: *ATTACHED says
 * where), and the caller unmounts it from there once it holds every clone it
 * needs (clones live on without their source).  Only this thread runs in the
 * sandbox's mount namespace meanwhile, so nothing else sees ANCHOR covered.
 */
static int clone_detached(int mnt, const char *name, const char *anchor, const char **attached)
{
	unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (*name ? 0 : AT_EMPTY_PATH);
	int tree = open_tree(mnt, name, flags);

	if (tree >= 0 || errno != EINVAL || *attached || !anchor)
		return tree;
	if (move_mount(mnt, "", AT_FDCWD, anchor, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -1;
	*attached = anchor;
	return open_tree(mnt, name, flags);
}

/* Unmount what clone_detached attached over ATTACHED (NULL: nothing). */
static int detach_anchor(const char *attached)
{
	return attached ? umount2(attached, MNT_DETACH | UMOUNT_NOFOLLOW) : 0;
}

/*
 * Where clone_detached may attach the hiding tmpfs for a moment: a masked
 * directory, or the directory of a masked file, but never "/" (a mount over
 * the root is not where lookups of "/" go, so it could not be unmounted by
 * that name).  NULL when every masked path is a file directly in "/".
 */
static char *mask_anchor(const struct mos_fs_view *v)
{
	for (size_t i = 0; i < v->nmasked; i++) {
		const char *p = v->masked[i], *slash = strrchr(p, '/');
		struct stat st;

		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && strcmp(p, "/"))
			return xstrdup(p);
		if (slash && slash != p)
			return xstrndup(p, (size_t)(slash - p));
	}
	return NULL;
}

/*
 * Hide each masked path under a clone of one small tmpfs: its root
 * directory and its one file "f" have mode 000 and the mount is read-only,
 * so nobody without CAP_DAC_OVERRIDE (the sandbox has no capabilities) can
 * read, list, change or chmod them.  All clones are made before the first
 * is moved into place (see clone_detached).
 */
static const char *mask_paths(const struct mos_fs_view *v, int *err)
{
	_cleanup_close_ int mnt = -1, file = -1;
	_cleanup_free_ char *anchor = NULL;
	_cleanup_free_ int *trees = NULL;
	_cleanup_free_ const char **kinds = NULL;
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	const char *step = NULL, *attached = NULL;

	if (!v->nmasked)
		return NULL;
	if ((mnt = detached_tmpfs("0", "4k")) < 0)
		step = "creating the tmpfs that hides denied paths";
	else if ((file = openat(mnt, "f", O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0)) < 0 ||
		 fchmod(file, 0) < 0 || close(take_fd(&file)) < 0)
		step = "creating the empty file that hides denied files";
	/* (an open file would make the mount busy) */
	else if (mount_setattr(mnt, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		step = "making the hiding tmpfs read-only";
	if (step) {
		*err = errno;
		return step;
	}
	/* What to hide with what, looked up before anything covers the anchor. */
	anchor = mask_anchor(v);
	kinds = xcalloc(v->nmasked, sizeof(*kinds));
	for (size_t i = 0; i < v->nmasked; i++) {
		struct stat st;

		/* absent: gone since mosctl looked, nothing to hide */
		kinds[i] = lstat(v->masked[i], &st) < 0 ? NULL : S_ISDIR(st.st_mode) ? "" : "f";
	}
	trees = xcalloc(v->nmasked, sizeof(*trees));
	for (size_t i = 0; i < v->nmasked; i++)
		trees[i] = -1;
	for (size_t i = 0; i < v->nmasked; i++) {
		if (!kinds[i])
			continue;
		trees[i] = clone_detached(mnt, kinds[i], anchor, &attached);
		if (trees[i] < 0) {
			*err = errno;
			step = "hiding a denied path";
			break;
		}
	}
	if (detach_anchor(attached) < 0 && !step) {
		*err = errno;
		step = "unmounting the hiding tmpfs from where it was cloned";
	}
	for (size_t i = 0; i < v->nmasked; i++) {
		if (trees[i] < 0)
			continue;
		if (!step &&
		    move_mount(trees[i], "", AT_FDCWD, v->masked[i], MOVE_MOUNT_F_EMPTY_PATH) < 0) {
			*err = errno;
			step = "hiding a denied path";
		}
		close(trees[i]);
	}
	return step;
}

/*
 * /etc/hosts becomes a read-only copy with LINES first: a memfd holding
 * them and the host's file, bind-mounted over it.  No /etc/hosts (or none
 * reachable): nothing to pin over, the names go to DNS as they would.
 */
static const char *pin_hosts(const char *lines, int *err)
{
	static const char head[] = "# pinned by mosctl (--net-allow)\n";
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	_cleanup_close_ int in = open("/etc/hosts", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int mnt = -1, fd = -1, tree = -1;
	const char *attached = NULL;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return NULL;
	/* a tmpfs of its own (a memfd's mount cannot be bound here) */
	if ((mnt = detached_tmpfs(NULL, "1m")) < 0 ||
	    (fd = openat(mnt, "hosts", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444)) < 0 ||
	    write_all(fd, head, sizeof(head) - 1) < 0 || write_all(fd, lines, strlen(lines)) < 0) {
		*err = errno;
		return "writing the sandbox's /etc/hosts";
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write_all(fd, buf, (size_t)n) < 0) {
			*err = errno;
			return "writing the sandbox's /etc/hosts";
		}
	closep(&fd);
	if (mount_setattr(mnt, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0 ||
	    (tree = clone_detached(mnt, "hosts", "/etc", &attached)) < 0) {
		*err = errno;
		detach_anchor(attached);
		return "mounting the sandbox's /etc/hosts";
	}
	if (detach_anchor(attached) < 0 ||
	    move_mount(tree, "", AT_FDCWD, "/etc/hosts", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		*err = errno;
		return "mounting the sandbox's /etc/hosts";
	}
	return NULL;
}

const char *mounts_apply(const struct mos_fs_view *v, int *err)
{
	const char *step;

	/* Nothing done here may propagate back to the caller's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		*err = errno;
		return "making the sandbox's mounts private";
	}
	/*
	 * Writable trees become mounts of their own (with their submounts),
	 * so the read-only pass below leaves them alone.  Nested ones ride on
	 * their parent's bind.
	 */
	for (size_t i = 0; i < v->nwritable; i++) {
		if (beneath_any(v->writable, i, v->writable[i]))
			continue;
		if (mount(v->writable[i], v->writable[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
			*err = errno;
			return "bind-mounting a writable path";
		}
	}
	if (v->noexec_outside) {
		/* exec trees too, unless a writable tree (exec allowed) holds them */
		for (size_t i = 0; i < v->nexec; i++) {
			if (beneath_any(v->writable, v->nwritable, v->exec[i]) ||
			    beneath_any(v->exec, i, v->exec[i]))
				continue;
			if (mount(v->exec[i], v->exec[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
				*err = errno;
				return "bind-mounting an exec path";
			}
		}
		/* a writable tree inside an exec tree must stay a mount of its own */
		for (size_t i = 0; i < v->nwritable; i++) {
			if (!beneath_any(v->exec, v->nexec, v->writable[i]) ||
			    beneath_any(v->writable, i, v->writable[i]))
				continue;
			if (mount(v->writable[i], v->writable[i], NULL, MS_BIND | MS_REC, NULL) <
			    0) {
				*err = errno;
				return "bind-mounting a writable path";
			}
		}
	}
	if (v->hosts) {
		step = pin_hosts(v->hosts, err);
		if (step)
			return step;
	}
	step = attr_outside(v->writable, v->nwritable, MOUNT_ATTR_RDONLY, err);
	if (!step && v->noexec_outside) {
		char **keep = NULL;
		size_t nkeep = 0;

		for (size_t i = 0; i < v->nwritable; i++)
			strv_push(&keep, &nkeep, xstrdup(v->writable[i]));
		for (size_t i = 0; i < v->nexec; i++)
			strv_push(&keep, &nkeep, xstrdup(v->exec[i]));
		step = attr_outside(keep, nkeep, MOUNT_ATTR_NOEXEC, err);
		strv_free(keep);
	}
	if (!step)
		step = mask_paths(v, err);
	return step;
}
