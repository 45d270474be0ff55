// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosfs_request.c - a FUSE request's body, decoded and checked (its fixed
 * part, its strings and names, each inside the body), the replies written
 * to the device, and a node's attributes as the job is shown them.
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "fuse_compat.h"
#include "log.h"
#include "mosfs_internal.h"
#include "mosfs_nodes.h"
#include "util.h"

static int reply_iov(struct mosfs *fs, uint64_t unique, int err, struct iovec *iov, int n)
{
	struct fuse_out_header out = { .error = -err, .unique = unique };
	struct iovec v[4];
	size_t len = sizeof(out);
	ssize_t w;

	v[0] = (struct iovec){ &out, sizeof(out) };
	for (int i = 0; i < n && i < 3; i++) {
		v[i + 1] = iov[i];
		len += iov[i].iov_len;
	}
	out.len = (uint32_t)len;
	w = writev(fs->fd, v, n + 1);
	/* ENOENT: the request was interrupted and is gone; nothing to do. */
	if (w < 0 && errno != ENOENT && errno != ENODEV)
		mos_warn("mosfs: cannot reply to FUSE request %llu: %s", (unsigned long long)unique,
			 strerror(errno));
	return 0;
}

int mosfs_reply(struct mosfs_req *r, const void *p, size_t n)
{
	struct iovec v = { (void *)p, n };

	return reply_iov(r->fs, r->h->unique, 0, &v, n ? 1 : 0);
}

int mosfs_reply_err(struct mosfs *fs, uint64_t unique, int err)
{
	return reply_iov(fs, unique, err, NULL, 0);
}

/*
 * The origin user's files are the job's; an origin id that happens to be the
 * job's own kernel id (e.g. root's 0 when the job is root of its own user
 * namespace) must not make its files the job's too: it is shown as an id
 * that maps to no one ((uint32_t)-1: the kernel shows the overflow id and
 * treats the job as "other").
 */
uint32_t mosfs_to_job_uid(const struct mosfs *fs, uint32_t uid)
{
	if (uid == fs->c->origin_uid)
		return fs->c->job_uid;
	return uid == fs->c->job_uid ? UINT32_MAX : uid;
}

uint32_t mosfs_to_job_gid(const struct mosfs *fs, uint32_t gid)
{
	if (gid == fs->c->origin_gid)
		return fs->c->job_gid;
	return gid == fs->c->job_gid ? UINT32_MAX : gid;
}

void mosfs_fill_attr(const struct mosfs *fs, const struct mosfs_node *n, struct fuse_attr *o)
{
	const struct mos_attr *a = &n->attr;

	memset(o, 0, sizeof(*o));
	o->ino = n->id;
	o->size = a->size;
	o->blocks = a->blocks;
	o->atime = (uint64_t)a->atime_sec;
	o->mtime = (uint64_t)a->mtime_sec;
	o->ctime = (uint64_t)a->ctime_sec;
	o->atimensec = a->atime_nsec;
	o->mtimensec = a->mtime_nsec;
	o->ctimensec = a->ctime_nsec;
	o->mode = a->mode;
	o->nlink = a->nlink ? a->nlink : 1;
	o->uid = mosfs_to_job_uid(fs, a->uid);
	o->gid = mosfs_to_job_gid(fs, a->gid);
	o->rdev = a->rdev;
	o->blksize = 4096;
}

void mosfs_fill_entry(const struct mosfs *fs, const struct mosfs_node *n, struct fuse_entry_out *e)
{
	memset(e, 0, sizeof(*e));
	e->entry_valid = MOSFS_TTL_SEC;
	if (!n)
		return; /* negative entry: the kernel caches the absence */
	e->nodeid = n->id;
	e->attr_valid = MOSFS_TTL_SEC;
	mosfs_fill_attr(fs, n, &e->attr);
}

/* The fixed part of the body, or NULL when the body is shorter. */
const void *mosfs_body_fixed(const struct mosfs_req *r, size_t size)
{
	return r->len >= size ? r->body : NULL;
}

/* A NUL-terminated string starting at *OFF, advancing *OFF past it. */
const char *mosfs_body_string(const struct mosfs_req *r, size_t *off)
{
	const char *s = r->body + *off;
	const char *nul;

	if (*off >= r->len)
		return NULL;
	nul = memchr(s, '\0', r->len - *off);
	if (!nul)
		return NULL;
	*off += (size_t)(nul - s) + 1;
	return s;
}

bool mosfs_name_ok(const char *s)
{
	size_t l = s ? strlen(s) : 0;

	return l && l <= MOS_NAME_MAX && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

const char *mosfs_body_name(const struct mosfs_req *r, size_t *off)
{
	const char *s = mosfs_body_string(r, off);

	return mosfs_name_ok(s) ? s : NULL;
}
