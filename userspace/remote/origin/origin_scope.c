// SPDX-License-Identifier: GPL-2.0-only
/*
 * origin_scope.c - the file service's own check of worker requests.
 */
#include "origin_scope.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static void push_both(char ***v, size_t *n, const char *path)
{
	char *real = realpath(path, NULL);

	strv_push(v, n, xstrdup(path));
	if (real && strcmp(real, path))
		strv_push(v, n, real);
	else
		free(real);
}

/* PATH and every ancestor of it become traversable. */
static void push_ancestors(struct origin_scope *s, const char *path)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (;;) {
		char *slash = strrchr(p, '/');

		if (!slash)
			return;
		if (slash == p) {
			strv_push(&s->traverse, &s->ntraverse, xstrdup("/"));
			return;
		}
		*slash = 0;
		strv_push(&s->traverse, &s->ntraverse, xstrdup(p));
	}
}

void origin_scope_add(struct origin_scope *s, const char *path, enum scope_access what)
{
	char **v;
	size_t before;

	if (what == SCOPE_WRITE) {
		before = s->nwrite;
		push_both(&s->write, &s->nwrite, path);
		v = s->write;
	} else if (what == SCOPE_READ) {
		before = s->nread;
		push_both(&s->read, &s->nread, path);
		v = s->read;
	} else {
		strv_push(&s->traverse, &s->ntraverse, xstrdup(path));
		push_ancestors(s, path);
		return;
	}
	for (size_t i = before; v[i]; i++)
		push_ancestors(s, v[i]);
}

void origin_scope_init(struct origin_scope *s, const struct mos_policy *p, const char *cwd)
{
	*s = (struct origin_scope){ 0 };
	s->read = xcalloc(1, sizeof(char *));
	s->write = xcalloc(1, sizeof(char *));
	s->deny = xcalloc(1, sizeof(char *));
	s->traverse = xcalloc(1, sizeof(char *));
	for (size_t i = 0; i < p->nfs; i++) {
		const struct mos_fs_rule *r = &p->fs[i];

		if (r->deny)
			push_both(&s->deny, &s->ndeny, r->path);
		else
			origin_scope_add(s, r->path,
					 r->access & MOS_FS_WRITE ? SCOPE_WRITE : SCOPE_READ);
	}
	if (p->fs_system) {
		for (const char *const *q = mos_system_read_paths; *q; q++)
			origin_scope_add(s, *q, SCOPE_READ);
		for (const char *const *q = mos_system_deny_paths; *q; q++)
			push_both(&s->deny, &s->ndeny, *q);
	}
	if (cwd)
		origin_scope_add(s, cwd, SCOPE_LIST);
}

static bool beneath_any(char **v, const char *path)
{
	for (size_t i = 0; v[i]; i++)
		if (path_is_beneath(path, v[i]))
			return true;
	return false;
}

static bool equals_any(char **v, const char *path)
{
	for (size_t i = 0; v[i]; i++)
		if (!strcmp(path, v[i]))
			return true;
	return false;
}

bool origin_scope_allows(const struct origin_scope *s, const char *path, enum scope_access what)
{
	if (beneath_any(s->deny, path))
		return false;
	switch (what) {
	case SCOPE_WRITE:
		return beneath_any(s->write, path);
	case SCOPE_READ:
		return beneath_any(s->write, path) || beneath_any(s->read, path);
	case SCOPE_LIST:
		return beneath_any(s->write, path) || beneath_any(s->read, path) ||
		       equals_any(s->traverse, path);
	}
	return false;
}

bool origin_scope_holds_denied(const struct origin_scope *s, const char *path)
{
	for (size_t i = 0; s->deny[i]; i++)
		if (strcmp(s->deny[i], path) && path_is_beneath(s->deny[i], path))
			return true;
	return false;
}

void origin_scope_free(struct origin_scope *s)
{
	strv_free(s->read);
	strv_free(s->write);
	strv_free(s->deny);
	strv_free(s->traverse);
	*s = (struct origin_scope){ 0 };
}
