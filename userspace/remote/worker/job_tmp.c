// SPDX-License-Identifier: GPL-2.0-only
/*
 * job_tmp.c - the trees of a remote job beneath the origin's /tmp (job_tmp.h).
 *
 * A tree is looked up in the view without following symlinks: this runs
 * before pivot_root, where a symlink would be resolved against the worker's
 * root, and a tree reached through one would show another part of the
 * origin's /tmp than the one named.  Symlinks inside a tree are the job's to
 * follow later, in its own root, as anywhere in mosfs.
 */
#include "job_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "options.h"
#include "util.h"

static void tmp_trees_add(struct tmp_trees *t, const char *path, const char *what, bool optional)
{
	if (!path_is_beneath(path, "/tmp") || !strcmp(path, "/tmp"))
		return;
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	t->v[t->n++] = (struct tmp_tree){
		.path = xstrdup(path), .what = xstrdup(what), .optional = optional, .fd = -1
	};
}

/* The trees of P's cwd and allow rules. */
static void tmp_trees_add_policy(struct tmp_trees *t, const struct mos_policy *p,
				 const char *cwd_what)
{
	if (p->cwd)
		tmp_trees_add(t, p->cwd, cwd_what, false);
	for (size_t i = 0; i < p->nfs; i++)
		if (!p->fs[i].deny)
			tmp_trees_add(t, p->fs[i].path, p->fs[i].origin.text, p->fs[i].optional);
}

/* Does a write rule of P (but rule SKIP) cover PATH, or lie beneath it? */
static bool written_in(const struct mos_policy *p, size_t skip, const char *path)
{
	for (size_t i = 0; i < p->nfs; i++) {
		const struct mos_fs_rule *r = &p->fs[i];

		if (i != skip && !r->deny && (r->access & MOS_FS_WRITE) &&
		    (path_is_beneath(path, r->path) || path_is_beneath(r->path, path)))
			return true;
	}
	return false;
}

static bool denied_in(const struct mos_policy *p, const char *path)
{
	for (size_t i = 0; i < p->nfs; i++)
		if (p->fs[i].deny && path_is_beneath(path, p->fs[i].path))
			return true;
	return false;
}

/* Is tree I the same as, or beneath, another one still kept? */
static bool tmp_tree_covered(const struct tmp_trees *t, size_t i)
{
	for (size_t j = 0; j < t->n; j++) {
		if (j == i || !t->v[j].path || !path_is_beneath(t->v[i].path, t->v[j].path))
			continue;
		/* of two equal paths the first is kept */
		if (strcmp(t->v[i].path, t->v[j].path) || j < i)
			return true;
	}
	return false;
}

/*
 * The rules of the job's --policy FILE (named in the flags O forwarded),
 * read from the origin's view at ROOT, symlinks resolved inside it as the
 * job will resolve them, into P; the file itself into T.  Only the paths of
 * its rules are used here (read before the privileges are dropped, through
 * the file service, which answers what the policy grants whoever asks).
 * Any failure is left to the sandbox's own parse, which reads the file
 * again as the job's user and says what is wrong with it.
 */
static void tmp_trees_policy_file(const struct run_opts *o, const char *root, const char *cwd,
				  struct mos_policy *p, struct tmp_trees *t)
{
	struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_free_ char *abs = NULL, *dir = NULL, *buf = NULL;
	_cleanup_close_ int root_fd = -1, fd = -1;
	struct mos_err e = { "" };
	const char *file = NULL;
	struct stat st;
	ssize_t n;

	for (size_t i = 0; i + 1 < o->nforward; i++)
		if (!strcmp(o->forward[i], "--policy"))
			file = o->forward[i + 1];
	if (!file || !root)
		return;
	abs = path_join_normalize(cwd, file);
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || !abs[1])
		return;
	fd = (int)syscall(SYS_openat2, root_fd, abs + 1, &how, sizeof(how));
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MOS_POLICY_MAX_BYTES)
		return;
	buf = xmalloc(MOS_POLICY_MAX_BYTES + 1);
	n = read_full(fd, buf, MOS_POLICY_MAX_BYTES + 1);
	if (n < 0 || n > (ssize_t)MOS_POLICY_MAX_BYTES)
		return;
	dir = xstrdup(abs);
	if (policy_load_buffer(p, buf, (size_t)n, file, dirname(dir), &e) < 0)
		return;
	/* and the file itself, which the sandbox reads once /tmp is the job's */
	tmp_trees_add(t, abs, "--policy", false);
}

int tmp_trees_find(char *const *sandbox, size_t nsandbox, const char *cwd_in, const char *root,
		   struct tmp_trees *t, struct mos_err *e)
{
	_cleanup_free_ char **av = xcalloc(nsandbox + 3, sizeof(char *));
	_cleanup_free_ char *cwd = path_join_normalize("/", cwd_in);
	struct mos_err pe = { "" };
	struct mos_policy file;
	struct run_opts o;
	size_t n = 0, kept = 0, extra = SIZE_MAX;
	bool have_cwd;
	int r;

	*t = (struct tmp_trees){ 0 };
	av[n++] = "run";
	for (size_t i = 0; i < nsandbox; i++)
		av[n++] = sandbox[i];
	av[n++] = "--";
	r = options_parse_flags((int)n, av, cwd, &o, &pe);
	if (r < 0) {
		mos_err_set(e, "the job's sandbox options: %s", pe.msg);
		return r;
	}
	/* The origin ends every job's flags with "--write /tmp", for the job's
	 * private /tmp: that rule (the last) makes no served tree writable. */
	if (nsandbox >= 2 && !strcmp(sandbox[nsandbox - 2], "--write") &&
	    !strcmp(sandbox[nsandbox - 1], "/tmp") && o.policy.nfs)
		extra = o.policy.nfs - 1;
	policy_init(&file);
	tmp_trees_add(t, cwd, "the working directory", false);
	have_cwd = t->n == 1;
	tmp_trees_policy_file(&o, root, cwd, &file, t);
	tmp_trees_add_policy(t, &o.policy, "--cwd");
	tmp_trees_add_policy(t, &file, "the policy's cwd");
	for (size_t i = 0; i < t->n; i++) {
		bool denied = denied_in(&o.policy, t->v[i].path) || denied_in(&file, t->v[i].path);

		if ((denied && !(have_cwd && i == 0)) || tmp_tree_covered(t, i)) {
			free(t->v[i].path);
			free(t->v[i].what);
			t->v[i].path = NULL;
			continue;
		}
		t->v[i].writable = written_in(&o.policy, extra, t->v[i].path) ||
				   written_in(&file, SIZE_MAX, t->v[i].path);
	}
	options_free(&o);
	policy_free(&file);
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].path)
			t->v[kept++] = t->v[i];
	t->n = kept;
	return 0;
}

/*
 * Open PATH (absolute, normalized) beneath the directory DIRFD one component
 * at a time, refusing any symlink on the way: an O_PATH descriptor, or
 * -errno (-ELOOP for a symlink).
 */
static int open_beneath_nofollow(int dirfd, const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_close_ int at = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	char *save = NULL;

	if (at < 0)
		return -errno;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		struct stat st;
		int next;

		if (!strcmp(c, ".") || !strcmp(c, ".."))
			return -EINVAL;
		next = openat(at, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return -errno;
		closep(&at);
		at = next;
		if (fstat(at, &st) < 0)
			return -errno;
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
	}
	return take_fd(&at);
}

int tmp_trees_clone(struct tmp_trees *t, const char *root, struct mos_err *e)
{
	_cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };

	if (root_fd < 0) {
		mos_err_set(e, "cannot open the origin's view %s: %s", root, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct tmp_tree *tr = &t->v[i];
		_cleanup_close_ int fd = open_beneath_nofollow(root_fd, tr->path);
		struct stat st;

		if (fd == -ENOENT && tr->optional)
			continue;
		if (fd == -ELOOP) {
			mos_err_set(e,
				    "%s %s: a symbolic link on the way on the origin (a tree under "
				    "/tmp is served by its real path: name the directory it leads "
				    "to)",
				    tr->what, tr->path);
			return fd;
		}
		if (fd < 0) {
			mos_err_set(e, "%s %s: %s (on the origin)", tr->what, tr->path,
				    strerror(-fd));
			return fd;
		}
		if (fstat(fd, &st) < 0) {
			mos_err_set(e, "%s %s: %s", tr->what, tr->path, strerror(errno));
			return -errno;
		}
		tr->dir = S_ISDIR(st.st_mode);
		tr->fd = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (tr->fd < 0) {
			mos_err_set(e, "cannot take %s %s from the origin's view: %s", tr->what,
				    tr->path, strerror(errno));
			return -errno;
		}
		/* (before Linux 5.12, no mount_setattr: the origin refuses the
		 * write-back instead) */
		if (!tr->writable &&
		    mount_setattr(tr->fd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0 &&
		    errno != ENOSYS) {
			mos_err_set(e, "cannot make %s %s read-only: %s", tr->what, tr->path,
				    strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/*
 * Mount tree TR at its path beneath the directory AT (the tmpfs TMP): the
 * directories on the way are made there (nothing else is in this tmpfs yet,
 * so no symlink can be on the way; O_NOFOLLOW all the same).
 */
static int tmp_tree_attach(struct tmp_tree *tr, int at_in, uid_t owner, gid_t group,
			   struct mos_err *e)
{
	_cleanup_free_ char *rel = xstrdup(tr->path + strlen("/tmp/"));
	_cleanup_close_ int at = fcntl(at_in, F_DUPFD_CLOEXEC, 3);
	char *c = rel, *slash;

	if (at < 0) {
		mos_err_set(e, "cannot open the job's /tmp: %s", strerror(errno));
		return -errno;
	}
	while ((slash = strchr(c, '/'))) {
		int next;

		*slash = '\0';
		if (mkdirat(at, c, 0755) == 0 && owner != (uid_t)-1 &&
		    fchownat(at, c, owner, group, AT_SYMLINK_NOFOLLOW) < 0) {
			mos_err_set(e, "cannot give the way to %s to the job's user: %s", tr->path,
				    strerror(errno));
			return -errno;
		}
		next = openat(at, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			mos_err_set(e, "cannot make the way to %s in the job's /tmp: %s", tr->path,
				    strerror(errno));
			return -errno;
		}
		closep(&at);
		at = next;
		c = slash + 1;
	}
	if (tr->dir ? mkdirat(at, c, 0755) < 0 : mknodat(at, c, S_IFREG | 0600, 0) < 0) {
		mos_err_set(e, "cannot make the mount point %s in the job's /tmp: %s", tr->path,
			    strerror(errno));
		return -errno;
	}
	if (move_mount(tr->fd, "", at, c, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		mos_err_set(e, "cannot mount the origin's %s on the job's /tmp: %s", tr->path,
			    strerror(errno));
		return -errno;
	}
	return 0;
}

int tmp_trees_attach(struct tmp_trees *t, const char *tmp, uid_t owner, gid_t group,
		     struct mos_err *e)
{
	_cleanup_close_ int at = open(tmp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (at < 0) {
		mos_err_set(e, "cannot open the job's %s: %s", tmp, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < t->n; i++) {
		int r;

		if (t->v[i].fd < 0)
			continue;
		r = tmp_tree_attach(&t->v[i], at, owner, group, e);
		if (r < 0)
			return r;
		closep(&t->v[i].fd);
		t->v[i].fd = -1;
	}
	return 0;
}

void tmp_trees_free(struct tmp_trees *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].what);
		closep(&t->v[i].fd);
	}
	free(t->v);
	*t = (struct tmp_trees){ 0 };
}
