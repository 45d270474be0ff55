/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * origin_scope.h - what a worker may ask of the origin for one job: no more
 * than the job's own policy grants.
 *
 * The worker enforces the policy on the job (Landlock, mounts, seccomp);
 * this is the origin's own check, so that a compromised or buggy worker
 * cannot read the user's other files (~/.ssh...) or write outside the job's
 * --write trees through the file service:
 *
 *   list, stat    beneath a read or write tree, or on the way to one (the
 *                 ancestors of every tree and of the working directory)
 *   open (read)   beneath a read or write tree
 *   any change    beneath a write tree
 *   nothing       beneath a --deny path (or the --system set's secrets)
 *
 * Trees are taken both as written and as resolved on the origin (realpath),
 * because the worker's kernel resolves symlinks (/lib -> usr/lib) and asks
 * for the resolved paths.
 */
#ifndef MOSCTL_ORIGIN_SCOPE_H
#define MOSCTL_ORIGIN_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

enum scope_access { SCOPE_LIST, SCOPE_READ, SCOPE_WRITE };

struct origin_scope {
	char **read, **write, **deny, **traverse; /* NULL-terminated */
	size_t nread, nwrite, ndeny, ntraverse;
};

/* From P's file rules (plus --system) and the working directory CWD. */
void origin_scope_init(struct origin_scope *s, const struct mos_policy *p, const char *cwd);
void origin_scope_add(struct origin_scope *s, const char *path, enum scope_access what);
bool origin_scope_allows(const struct origin_scope *s, const char *path, enum scope_access what);
/* True when a --deny path lies strictly beneath PATH: renaming PATH would
 * give what is denied a name the text check allows. */
bool origin_scope_holds_denied(const struct origin_scope *s, const char *path);
void origin_scope_free(struct origin_scope *s);

#endif /* MOSCTL_ORIGIN_SCOPE_H */
