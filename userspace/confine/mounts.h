/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mounts.h - the sandbox's own view of the filesystem, in its own mount
 * namespace, set up by init before Landlock.
 *
 * Landlock decides who may open, create and remove; it does not cover
 * chmod, chown, utimes or extended attributes.  So every mount is made
 * read-only in the sandbox's namespace except the trees granted write
 * (bind-mounted onto themselves first, keeping their own flags), and a
 * denied path beneath an allowed tree is hidden by an empty, unreadable,
 * read-only mount: its parent stays listable and writable, where a pure
 * Landlock policy would have to grant the parent's other entries one by one.
 * Nothing of this reaches the caller's namespace (all mounts private).
 */
#ifndef MOS_MOUNTS_H
#define MOS_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

struct strmap;

struct mos_fs_view {
	char **writable; /* real paths granted write, outermost first */
	size_t nwritable;
	char **masked; /* real paths to hide (existing files or directories) */
	size_t nmasked;
	char **exec; /* real paths granted execute */
	size_t nexec;
	/*
	 * Also mount everything outside the exec and writable trees noexec
	 * (the supervisor backend: the kernel re-reads an execve path after
	 * the supervisor checked it, so the mounts decide what can run).
	 */
	bool noexec_outside;
	/*
	 * Lines put before the content of the sandbox's /etc/hosts ("ADDR
	 * NAME\n"): the names of host rules, pinned to the addresses resolved
	 * at start.  NULL: /etc/hosts as it is.
	 */
	char *hosts;
	/* "w:PATH", "x:PATH", "m:PATH" already in a list (fs_view_add_*) */
	struct strmap *seen;
};

void fs_view_add_writable(struct mos_fs_view *v, const char *path);
void fs_view_add_exec(struct mos_fs_view *v, const char *path);
void fs_view_add_masked(struct mos_fs_view *v, const char *path);
void fs_view_free(struct mos_fs_view *v);

/*
 * In init, in a new mount namespace where it holds CAP_SYS_ADMIN: apply V.
 * Returns NULL, or the step that failed with *ERR set to its errno.
 */
const char *mounts_apply(const struct mos_fs_view *v, int *err);

#endif /* MOS_MOUNTS_H */
