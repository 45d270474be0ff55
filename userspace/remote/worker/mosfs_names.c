// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs_names.c - the requests on names: LOOKUP and FORGET, GETATTR and
 * SETATTR, READLINK, and the changes the origin makes first (MKDIR,
 * SYMLINK, LINK, UNLINK, RMDIR, RENAME), the local view changed only once
 * it agreed.  Each replies itself (0) or returns -errno.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuse_compat.h"
#include "log.h"
#include "mosfs_internal.h"
#include "mosfs_nodes.h"
#include "util.h"

int mosfs_do_lookup(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	struct fuse_entry_out e;
	struct mosfs_node *n;
	size_t off = 0;
	const char *name = mosfs_body_string(r, &off);
	int err;

	if (!name)
		return -EINVAL;
	if (strlen(name) > MOS_NAME_MAX)
		return -ENAMETOOLONG;
	if (!mosfs_name_ok(name))
		return -ENOENT;
	err = mosfs_dir_ensure_listed(fs, dir);
	if (err)
		return err;
	n = mosfs_dir_find(dir, name);
	if (n) {
		mosfs_refresh_from_scratch(fs, n);
		n->nlookup++;
	}
	mosfs_fill_entry(fs, n, &e);
	return mosfs_reply(r, &e, sizeof(e));
}

static void forget_one(struct mosfs *fs, uint64_t id, uint64_t nlookup)
{
	struct mosfs_node *n = mosfs_node_of(fs, id);

	if (!n || id == FUSE_ROOT_ID)
		return;
	n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
	mosfs_node_maybe_free(fs, n);
}

int mosfs_do_forget(struct mosfs_req *r)
{
	const struct fuse_forget_in *in = mosfs_body_fixed(r, sizeof(*in));

	if (in)
		forget_one(r->fs, r->h->nodeid, in->nlookup);
	return MOSFS_NOREPLY;
}

int mosfs_do_batch_forget(struct mosfs_req *r)
{
	const struct fuse_batch_forget_in *in = mosfs_body_fixed(r, sizeof(*in));
	const struct fuse_forget_one *one;

	if (!in || in->count > (r->len - sizeof(*in)) / sizeof(*one))
		return MOSFS_NOREPLY;
	one = (const void *)(r->body + sizeof(*in));
	for (uint32_t i = 0; i < in->count; i++) {
		struct fuse_forget_one f;

		memcpy(&f, &one[i], sizeof(f));
		forget_one(r->fs, f.nodeid, f.nlookup);
	}
	return MOSFS_NOREPLY;
}

static int reply_attr(struct mosfs_req *r, struct mosfs_node *n)
{
	struct fuse_attr_out o = { .attr_valid = MOSFS_TTL_SEC };

	mosfs_refresh_from_scratch(r->fs, n);
	mosfs_fill_attr(r->fs, n, &o.attr);
	return mosfs_reply(r, &o, sizeof(o));
}

int mosfs_do_getattr(struct mosfs_req *r, struct mosfs_node *n)
{
	if (n == r->fs->root && !n->listed) {
		int err = mosfs_dir_ensure_listed(r->fs, n);

		if (err)
			return err;
	}
	return reply_attr(r, n);
}

int mosfs_do_setattr(struct mosfs_req *r, struct mosfs_node *n)
{
	struct mosfs *fs = r->fs;
	const struct fuse_setattr_in *in = mosfs_body_fixed(r, sizeof(*in));
	const struct mosfs_backend_ops *ops = fs->c->ops;
	_cleanup_free_ char *path = NULL;
	char name[32];
	int err;

	if (!in)
		return -EINVAL;
	path = mosfs_node_path(n);
	if (!path)
		return -ENOENT;
	mosfs_scratch_name(n, name);
	if (in->valid & FATTR_UID && in->uid != mosfs_to_job_uid(fs, n->attr.uid))
		return -EPERM;
	if (in->valid & FATTR_GID && in->gid != mosfs_to_job_gid(fs, n->attr.gid))
		return -EPERM;
	if (in->valid & FATTR_MODE) {
		if (S_ISLNK(n->attr.mode))
			return -EOPNOTSUPP;
		err = UNLOCKED(fs, ops->chmod(fs->c->ctx, path, in->mode & 07777));
		if (err)
			return err;
		n->attr.mode = (n->attr.mode & S_IFMT) | (in->mode & 07777);
		mosfs_attr_now(&n->attr, false, false);
	}
	if (in->valid & FATTR_SIZE) {
		if (S_ISDIR(n->attr.mode))
			return -EISDIR;
		if (!S_ISREG(n->attr.mode))
			return -EINVAL;
		mosfs_content_drop(fs, n); /* a blob kept from its last open is not its content now */
		/* An open, written file: the change reaches the origin on close. */
		if (!(n->has_scratch && n->nwriters)) {
			err = UNLOCKED(fs, ops->truncate(fs->c->ctx, path, in->size));
			if (err)
				return err;
		}
		if (n->has_scratch && mosfs_truncateat_scratch(fs, name, in->size) < 0)
			return -errno;
		n->attr.size = in->size;
		mosfs_attr_now(&n->attr, false, true);
	}
	if (in->valid & (FATTR_ATIME | FATTR_MTIME)) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

		if (in->valid & FATTR_ATIME)
			ts[0] = in->valid & FATTR_ATIME_NOW
					? (struct timespec){ .tv_nsec = UTIME_NOW }
					: (struct timespec){ (time_t)in->atime, in->atimensec };
		if (in->valid & FATTR_MTIME)
			ts[1] = in->valid & FATTR_MTIME_NOW
					? (struct timespec){ .tv_nsec = UTIME_NOW }
					: (struct timespec){ (time_t)in->mtime, in->mtimensec };
		err = UNLOCKED(fs, ops->utimens(fs->c->ctx, path, ts));
		if (err)
			return err;
		if (n->has_scratch)
			utimensat(fs->scratch_dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
		mosfs_attr_now(&n->attr, ts[0].tv_nsec == UTIME_NOW, ts[1].tv_nsec == UTIME_NOW);
		if (ts[0].tv_nsec != UTIME_NOW && ts[0].tv_nsec != UTIME_OMIT) {
			n->attr.atime_sec = ts[0].tv_sec;
			n->attr.atime_nsec = (uint32_t)ts[0].tv_nsec;
		}
		if (ts[1].tv_nsec != UTIME_NOW && ts[1].tv_nsec != UTIME_OMIT) {
			n->attr.mtime_sec = ts[1].tv_sec;
			n->attr.mtime_nsec = (uint32_t)ts[1].tv_nsec;
		}
	}
	return reply_attr(r, n);
}

int mosfs_do_readlink(struct mosfs_req *r, struct mosfs_node *n)
{
	if (!S_ISLNK(n->attr.mode) || !n->link)
		return -EINVAL;
	return mosfs_reply(r, n->link, strlen(n->link));
}

/* Enter a node made here under DIR and answer with its entry. */
static int reply_new_entry(struct mosfs_req *r, struct mosfs_node *dir, const char *name,
			   uint32_t mode, char *link, struct mosfs_node **out)
{
	struct mosfs *fs = r->fs;
	struct fuse_entry_out e;
	struct mos_attr a;
	struct mosfs_node *n, *old;

	mosfs_attr_new(fs, &a, mode);
	if (link)
		a.size = strlen(link);
	old = mosfs_dir_find(dir, name);
	if (old)
		mosfs_node_remove(fs, old); /* the origin had it and we did not know */
	n = mosfs_node_new(&fs->nodes, xstrdup(name), &a, link);
	if (S_ISDIR(mode)) {
		n->listed = true; /* new and empty */
		dir->attr.nlink++;
	}
	mosfs_dir_insert(dir, n);
	mosfs_attr_now(&dir->attr, false, true);
	n->nlookup++;
	if (out)
		*out = n;
	mosfs_fill_entry(fs, n, &e);
	return mosfs_reply(r, &e, sizeof(e));
}

/* Check DIR can take NAME: listed, and NAME not there. */
int mosfs_dir_check_new(struct mosfs *fs, struct mosfs_node *dir, const char *name)
{
	int err;

	if (!S_ISDIR(dir->attr.mode) && dir != fs->root)
		return -ENOTDIR;
	err = mosfs_dir_ensure_listed(fs, dir);
	if (err)
		return err;
	return mosfs_dir_find(dir, name) ? -EEXIST : 0;
}

int mosfs_do_mkdir(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	const struct fuse_mkdir_in *in = mosfs_body_fixed(r, sizeof(*in));
	_cleanup_free_ char *path = NULL;
	size_t off = sizeof(*in);
	const char *name;
	int err;

	if (!in || !(name = mosfs_body_name(r, &off)))
		return -EINVAL;
	err = mosfs_dir_check_new(fs, dir, name);
	if (err)
		return err;
	path = mosfs_child_path(dir, name);
	if (!path)
		return -ENOENT;
	err = UNLOCKED(fs, fs->c->ops->mkdir(fs->c->ctx, path, in->mode & 07777));
	if (err)
		return err;
	return reply_new_entry(r, dir, name, S_IFDIR | (in->mode & 07777), NULL, NULL);
}

int mosfs_do_symlink(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	_cleanup_free_ char *path = NULL;
	size_t off = 0;
	const char *name = mosfs_body_name(r, &off);
	const char *target = mosfs_body_string(r, &off);
	int err;

	if (!name || !target || !*target || strlen(target) >= MOS_PATH_MAX)
		return -EINVAL;
	err = mosfs_dir_check_new(fs, dir, name);
	if (err)
		return err;
	path = mosfs_child_path(dir, name);
	if (!path)
		return -ENOENT;
	err = UNLOCKED(fs, fs->c->ops->symlink(fs->c->ctx, target, path));
	if (err)
		return err;
	return reply_new_entry(r, dir, name, S_IFLNK | 0777, xstrdup(target), NULL);
}

int mosfs_do_link(struct mosfs_req *r, struct mosfs_node *dir)
{
	struct mosfs *fs = r->fs;
	const struct fuse_link_in *in = mosfs_body_fixed(r, sizeof(*in));
	_cleanup_free_ char *from = NULL, *to = NULL;
	struct mosfs_node *old, *n;
	size_t off = sizeof(*in);
	const char *name;
	int err;

	if (!in || !(name = mosfs_body_name(r, &off)))
		return -EINVAL;
	old = mosfs_node_of(fs, in->oldnodeid);
	if (!old)
		return -ENOENT;
	if (S_ISDIR(old->attr.mode))
		return -EPERM;
	err = mosfs_dir_check_new(fs, dir, name);
	if (err)
		return err;
	from = mosfs_node_path(old);
	to = mosfs_child_path(dir, name);
	if (!from || !to)
		return -ENOENT;
	err = UNLOCKED(fs, fs->c->ops->link(fs->c->ctx, from, to));
	if (err)
		return err;
	/* A separate node: within the job the two names do not share
	 * written content until it is back on the origin. */
	err = reply_new_entry(r, dir, name, old->attr.mode, old->link ? xstrdup(old->link) : NULL,
			      &n);
	return err;
}

int mosfs_do_unlink_rmdir(struct mosfs_req *r, struct mosfs_node *dir, bool rmdir)
{
	struct mosfs *fs = r->fs;
	_cleanup_free_ char *path = NULL;
	struct mosfs_node *n;
	size_t off = 0;
	const char *name = mosfs_body_name(r, &off);
	int err;

	if (!name)
		return -EINVAL;
	err = mosfs_dir_ensure_listed(fs, dir);
	if (err)
		return err;
	n = mosfs_dir_find(dir, name);
	if (!n)
		return -ENOENT;
	if (rmdir && !S_ISDIR(n->attr.mode))
		return -ENOTDIR;
	if (!rmdir && S_ISDIR(n->attr.mode))
		return -EISDIR;
	path = mosfs_node_path(n);
	if (!path)
		return -ENOENT;
	err = UNLOCKED(fs, rmdir ? fs->c->ops->rmdir(fs->c->ctx, path)
				 : fs->c->ops->unlink(fs->c->ctx, path));
	if (err)
		return err;
	/* The node may have moved while the lock was dropped. */
	if (n == mosfs_dir_find(dir, name))
		mosfs_node_remove(fs, n);
	mosfs_attr_now(&dir->attr, false, true);
	return mosfs_reply(r, NULL, 0);
}

int mosfs_do_rename(struct mosfs_req *r, struct mosfs_node *olddir, bool v2)
{
	struct mosfs *fs = r->fs;
	const struct fuse_rename2_in *in2 = v2 ? mosfs_body_fixed(r, sizeof(*in2)) : NULL;
	const struct fuse_rename_in *in = mosfs_body_fixed(r, sizeof(*in));
	size_t off = v2 ? sizeof(*in2) : sizeof(*in);
	_cleanup_free_ char *from = NULL, *to = NULL;
	struct mosfs_node *newdir, *src, *dst;
	const char *oldname, *newname;
	uint32_t flags = 0;
	int err;

	if (!in || (v2 && !in2))
		return -EINVAL;
	oldname = mosfs_body_name(r, &off);
	newname = mosfs_body_name(r, &off);
	if (!oldname || !newname)
		return -EINVAL;
	if (v2)
		flags = in2->flags;
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	newdir = mosfs_node_of(fs, v2 ? in2->newdir : in->newdir);
	if (!newdir)
		return -ENOENT;
	err = mosfs_dir_ensure_listed(fs, olddir);
	if (!err)
		err = mosfs_dir_ensure_listed(fs, newdir);
	if (err)
		return err;
	src = mosfs_dir_find(olddir, oldname);
	if (!src)
		return -ENOENT;
	from = mosfs_node_path(src);
	to = mosfs_child_path(newdir, newname);
	if (!from || !to)
		return -ENOENT;
	err = UNLOCKED(fs, fs->c->ops->rename(fs->c->ctx, from, to, flags));
	if (err)
		return err;
	src = mosfs_dir_find(olddir, oldname);
	dst = mosfs_dir_find(newdir, newname);
	if (src && src != dst) {
		char *srcname = src->name;

		if (flags & RENAME_EXCHANGE && dst) {
			mosfs_dir_remove(dst);
			mosfs_dir_remove(src);
			src->name = dst->name;
			dst->name = srcname;
			mosfs_dir_insert(olddir, dst);
			mosfs_dir_insert(newdir, src);
		} else {
			if (dst)
				mosfs_node_remove(fs, dst);
			mosfs_dir_remove(src);
			src->name = xstrdup(newname);
			free(srcname);
			mosfs_dir_insert(newdir, src);
			if (S_ISDIR(src->attr.mode) && olddir != newdir) {
				olddir->attr.nlink--;
				newdir->attr.nlink++;
			}
		}
		mosfs_attr_now(&src->attr, false, false);
	}
	mosfs_attr_now(&olddir->attr, false, true);
	mosfs_attr_now(&newdir->attr, false, true);
	return mosfs_reply(r, NULL, 0);
}
