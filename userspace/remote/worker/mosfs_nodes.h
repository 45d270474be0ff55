/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mosfs_nodes.h - mosfs's inode table: FUSE node ids to nodes, and each
 * directory's entries (sorted by name).  Not locked: mosfs holds its lock
 * around every call.
 */
#ifndef MOSD_MOSFS_NODES_H
#define MOSD_MOSFS_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mosingar/protocol.h>

#include "hashtab.h"

/* The scratch file's identity when it was last written back: a change of
 * any field means it has changes the origin has not seen. */
struct mosfs_scratch_mark {
	uint64_t size;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
};

struct mosfs_node {
	uint64_t id; /* FUSE node id, also the inode number shown */
	struct mosfs_node *hash_next;
	struct mosfs_node *parent; /* NULL for the root and for removed nodes */
	char *name;
	struct mos_attr attr; /* origin ids; translated when replying */
	char *link;	      /* symlink target */
	uint64_t nlookup;     /* the kernel's references (LOOKUP minus FORGET) */
	bool removed;	      /* unlinked or replaced: no path any more */

	/* directories */
	bool listed;  /* kids holds the whole directory */
	bool listing; /* a thread is calling listdir for it */
	int list_err; /* the origin refused to list it (-EACCES...): kept for the mount */
	uint32_t inval_gen; /* bumped when an invalidation drops its listing */
	struct mosfs_node **kids;
	size_t nkids, kids_cap;

	/* regular files: one content per node, shared by its open handles */
	bool busy;	       /* a thread is fetching or copying its content */
	int content_fd;	       /* blob (O_RDONLY) or scratch (O_RDWR), -1 when closed */
	bool content_scratch;  /* content_fd is the scratch copy */
	int32_t backing_id;    /* passthrough backing of content_fd, 0 if none */
	unsigned int nopen;    /* open handles */
	/* closed, its blob kept open (mosfs_content.c): on struct mosfs's
	 * kept list, at KEPT_AGE */
	bool kept;
	bool no_keep; /* its blob is not its content any more: closed at its last close */
	struct lru_node kept_age;
	unsigned int nwriters; /* of which opened for writing */
	bool has_scratch;      /* SCRATCH_DIR/<id> exists and is the content */
	struct mosfs_scratch_mark mark;
	/* as it was when a write-back of it was given up (its writer killed):
	 * the RELEASE that follows does not send it after all */
	struct mosfs_scratch_mark given_up;
};

struct mosfs_nodes {
	struct mosfs_node **buckets;
	size_t nbuckets;
	size_t count;
	uint64_t next_id;
};

void mosfs_nodes_init(struct mosfs_nodes *t);
/* Free every node. */
void mosfs_nodes_fini(struct mosfs_nodes *t);
/* A new node with the next id, in the table but in no directory.  Takes
 * NAME and LINK (malloc'd, LINK may be NULL). */
struct mosfs_node *mosfs_node_new(struct mosfs_nodes *t, char *name, const struct mos_attr *a,
				  char *link);
struct mosfs_node *mosfs_node_get(const struct mosfs_nodes *t, uint64_t id);
/* Take N out of the table and free it. */
void mosfs_node_destroy(struct mosfs_nodes *t, struct mosfs_node *n);

struct mosfs_node *mosfs_dir_find(const struct mosfs_node *dir, const char *name);
/* Add KID under DIR (its name must not be there); sets kid->parent. */
void mosfs_dir_insert(struct mosfs_node *dir, struct mosfs_node *kid);
/* Take KID out of its directory; kid->parent becomes NULL. */
void mosfs_dir_remove(struct mosfs_node *kid);
/* Sort DIR's kids after filling them unsorted; drops repeated names. */
void mosfs_dir_sort(struct mosfs_nodes *t, struct mosfs_node *dir);

/* N's absolute path ("/" for the root), malloc'd; NULL if N was removed. */
char *mosfs_node_path(const struct mosfs_node *n);

#endif /* MOSD_MOSFS_NODES_H */
