// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs_tree.c - the tree the job sees: each directory listed from the
 * origin once, when first needed; the nodes' attributes (of a node made
 * here, of a file with a scratch copy); a node taken out of the tree and
 * freed once nothing refers to it.  Nodes change only with the lock held
 * (mosfs_dir_ensure_listed() drops it around the origin's listdir).
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

void mosfs_attr_now(struct mos_attr *a, bool atime, bool mtime)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (atime) {
		a->atime_sec = ts.tv_sec;
		a->atime_nsec = (uint32_t)ts.tv_nsec;
	}
	if (mtime) {
		a->mtime_sec = ts.tv_sec;
		a->mtime_nsec = (uint32_t)ts.tv_nsec;
	}
	a->ctime_sec = ts.tv_sec;
	a->ctime_nsec = (uint32_t)ts.tv_nsec;
}

/* Attributes of a node made here (the origin agreed but sent no stat). */
void mosfs_attr_new(const struct mosfs *fs, struct mos_attr *a, uint32_t mode)
{
	memset(a, 0, sizeof(*a));
	a->mode = mode;
	a->uid = fs->c->origin_uid;
	a->gid = fs->c->origin_gid;
	a->nlink = S_ISDIR(mode) ? 2 : 1;
	a->size = S_ISDIR(mode) ? 4096 : 0;
	mosfs_attr_now(a, true, true);
}

void mosfs_scratch_name(const struct mosfs_node *n, char buf[32])
{
	snprintf(buf, 32, "%llx", (unsigned long long)n->id);
}

/* A node with a scratch copy shows the copy's size and times. */
void mosfs_refresh_from_scratch(struct mosfs *fs, struct mosfs_node *n)
{
	char name[32];
	struct stat st;

	if (!n->has_scratch)
		return;
	mosfs_scratch_name(n, name);
	if (fstatat(fs->scratch_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	n->attr.size = (uint64_t)st.st_size;
	n->attr.blocks = (uint64_t)st.st_blocks;
	n->attr.mtime_sec = st.st_mtim.tv_sec;
	n->attr.mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
	n->attr.atime_sec = st.st_atim.tv_sec;
	n->attr.atime_nsec = (uint32_t)st.st_atim.tv_nsec;
	if (st.st_ctim.tv_sec > n->attr.ctime_sec)
		n->attr.ctime_sec = st.st_ctim.tv_sec;
}

void mosfs_node_drop_scratch(struct mosfs *fs, struct mosfs_node *n)
{
	char name[32];

	mosfs_content_drop(fs, n); /* (every caller: N is removed, or goes) */
	if (!n->has_scratch)
		return;
	mosfs_scratch_name(n, name);
	unlinkat(fs->scratch_dirfd, name, 0);
	n->has_scratch = false;
}

/* Free N once nothing refers to it: removed, forgotten, closed. */
void mosfs_node_maybe_free(struct mosfs *fs, struct mosfs_node *n)
{
	if (!n->removed || n->nlookup || n->nopen || n->busy || n->listing || n->id == FUSE_ROOT_ID)
		return;
	while (n->nkids) {
		struct mosfs_node *kid = n->kids[n->nkids - 1];

		mosfs_dir_remove(kid);
		kid->removed = true;
		mosfs_node_maybe_free(fs, kid);
	}
	mosfs_node_drop_scratch(fs, n);
	mosfs_node_destroy(&fs->nodes, n);
}

/* Take N out of the tree (unlinked, or replaced by a rename). */
void mosfs_node_remove(struct mosfs *fs, struct mosfs_node *n)
{
	if (n->parent && S_ISDIR(n->attr.mode) && n->parent->attr.nlink > 2)
		n->parent->attr.nlink--;
	mosfs_dir_remove(n);
	n->removed = true;
	if (n->attr.nlink)
		n->attr.nlink--;
	if (!n->nopen)
		mosfs_node_drop_scratch(fs, n);
	mosfs_node_maybe_free(fs, n);
}

/* A kernel node id: must name a live node. */
struct mosfs_node *mosfs_node_of(struct mosfs *fs, uint64_t id)
{
	return mosfs_node_get(&fs->nodes, id);
}

/* Load DIR's listing once.  Called and returns with fs->lock held. */
int mosfs_dir_ensure_listed(struct mosfs *fs, struct mosfs_node *dir)
{
	while (!dir->listed) {
		struct origin_dirent *ents = NULL;
		struct mos_attr da;
		_cleanup_free_ char *path = NULL;
		size_t n = 0;
		uint32_t gen;
		int r;

		if (dir->listing) {
			pthread_cond_wait(&fs->cond, &fs->lock);
			continue;
		}
		if (dir->list_err)
			return dir->list_err;
		if (dir != fs->root && !S_ISDIR(dir->attr.mode))
			return -ENOTDIR;
		path = mosfs_node_path(dir);
		if (!path)
			return -ENOENT;
		dir->listing = true;
		gen = dir->inval_gen;
		pthread_mutex_unlock(&fs->lock);
		r = fs->c->ops->listdir(fs->c->ctx, path, &da, &ents, &n);
		pthread_mutex_lock(&fs->lock);
		dir->listing = false;
		pthread_cond_broadcast(&fs->cond);
		if (dir->inval_gen != gen) {
			/* invalidated while it was asked for: ask again */
			origin_dirents_free(ents, n);
			continue;
		}
		/* A refusal holds for the job, as the listing would have: compilers
		 * probe the same refused directory again and again.  A lost
		 * connection or an I/O error is not remembered. */
		if (r == -EACCES || r == -EPERM || r == -ENOENT || r == -ENOTDIR || r == -ELOOP)
			dir->list_err = r;
		if (r < 0)
			return r;
		if (!S_ISDIR(da.mode)) {
			r = -ENOTDIR;
		} else if (!dir->removed) {
			dir->attr = da;
			for (size_t i = 0; i < n; i++) {
				const char *nm = ents[i].name;
				struct mosfs_node *kid;

				if (!nm || !*nm || strchr(nm, '/') || !strcmp(nm, ".") ||
				    !strcmp(nm, "..") || strlen(nm) > MOS_NAME_MAX)
					continue;
				if (S_ISLNK(ents[i].attr.mode) && !ents[i].link)
					continue;
				kid = mosfs_node_new(&fs->nodes, steal_pointer(&ents[i].name),
						     &ents[i].attr, steal_pointer(&ents[i].link));
				if (dir->nkids == dir->kids_cap) {
					dir->kids_cap = dir->kids_cap ? dir->kids_cap * 2 : 16;
					dir->kids = xrealloc(dir->kids,
							     dir->kids_cap * sizeof(*dir->kids));
				}
				dir->kids[dir->nkids++] = kid;
				kid->parent = dir;
			}
			mosfs_dir_sort(&fs->nodes, dir);
			dir->listed = true;
		}
		for (size_t i = 0; i < n; i++) {
			free(ents[i].name);
			free(ents[i].link);
		}
		free(ents);
		if (r < 0)
			return r;
		mosfs_node_maybe_free(fs, dir);
		if (dir->removed && !dir->listed)
			return -ENOENT;
	}
	return 0;
}

/* Path of NAME under DIR, malloc'd; NULL if DIR was removed. */
char *mosfs_child_path(const struct mosfs_node *dir, const char *name)
{
	_cleanup_free_ char *p = mosfs_node_path(dir);
	char *out;
	size_t lp, ln;

	if (!p)
		return NULL;
	lp = strlen(p);
	ln = strlen(name);
	if (lp + 1 + ln + 1 > MOS_PATH_MAX)
		return NULL;
	out = xmalloc(lp + ln + 2);
	memcpy(out, p, lp);
	if (lp > 1)
		out[lp++] = '/';
	memcpy(out + lp, name, ln + 1);
	return out;
}
