/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * job_tmp.h - the trees of a remote job beneath the origin's /tmp.
 *
 * A job's /tmp is the worker's own tmpfs, which hides the origin's /tmp: a
 * build started there, as CI systems build, could not even enter its
 * directory.  So the trees strictly beneath /tmp that the job names -- its
 * working directory, its --cwd, the --read and --write trees of its flags
 * and of its --policy file, and that file -- are cloned from the origin's
 * view (the mosfs mount) before the tmpfs goes on, and mounted at the same
 * paths in it after.  Only those: the rest of the origin's /tmp stays out
 * of sight, and the origin still answers within them only what the policy
 * grants.
 *
 * In the job process, as root (or as root of its own user namespace):
 *   tmp_trees_find     which trees (before pivot_root, the view at ROOT)
 *   tmp_trees_clone    a detached clone of each, before the tmpfs goes on
 *   tmp_trees_attach   each moved onto its path in the fresh tmpfs
 * Each returns 0, or -errno with E saying what failed on which tree.
 */
#ifndef MOSD_JOB_TMP_H
#define MOSD_JOB_TMP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy.h"

struct tmp_tree {
	char *path;    /* absolute, normalized, strictly beneath /tmp */
	char *what;    /* "--write", "the working directory", ... for messages */
	bool optional; /* a missing tree is skipped, as the sandbox skips it */
	bool writable; /* a write rule covers it or lies beneath it: else read-only */
	bool dir;
	int fd; /* the detached clone, or -1 */
};

struct tmp_trees {
	struct tmp_tree *v;
	size_t n;
};

/*
 * The trees beneath /tmp that the job's working directory CWD, its sandbox
 * flags SANDBOX (NSANDBOX of them, as the origin forwarded them) and the
 * policy file they name (read from the view at ROOT; NULL: none read) name,
 * in that order; an outer tree stands for those beneath it, and none
 * beneath a denied path is kept (the sandbox withholds it and the origin
 * refuses it) but the working directory (so the job fails as elsewhere).
 * A tree no write rule covers or lies beneath is mounted read-only, so that
 * a write fails when it is made (as Landlock would fail it outside /tmp,
 * were it not for the job's writable /tmp), not when it is written back;
 * the "--write /tmp" the origin ends every job's flags with (the private
 * /tmp's) counts for none, a "--write /tmp" of the user's for all.
 */
int tmp_trees_find(char *const *sandbox, size_t nsandbox, const char *cwd, const char *root,
		   struct tmp_trees *t, struct mos_err *e);
int tmp_trees_clone(struct tmp_trees *t, const char *root, struct mos_err *e);
/* Into the tmpfs at TMP; the directories made on the way are given to
 * OWNER:GROUP unless OWNER is -1. */
int tmp_trees_attach(struct tmp_trees *t, const char *tmp, uid_t owner, gid_t group,
		     struct mos_err *e);
void tmp_trees_free(struct tmp_trees *t);

#endif /* MOSD_JOB_TMP_H */
