// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_policy.c - the policy's side of a request (step 4 in unotify.c):
 * the roots opened once, when the supervisor starts (sup_init()), the
 * decision on a real path (the longest root, the deny paths, the decider
 * for an ask root, the answers it gave for the rest of the run), and what
 * the hooks are told about it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

static size_t list_len(const char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

static bool denied_by(const char *const *deny, const char *path)
{
	for (size_t i = 0; deny && deny[i]; i++)
		if (path_is_beneath(path, deny[i]))
			return true;
	return false;
}

int unotify_policy_check(const struct unotify_policy *p, const char *path,
			 enum unotify_access access, size_t *root)
{
	size_t nread = list_len(p->read), best_len = 0;
	bool found = false;

	if (path[0] != '/' || denied_by(p->deny, path))
		return -EACCES;
	/* The longest matching root wins (a write root inside a read root). */
	for (size_t i = 0; i < nread + list_len(p->write); i++) {
		const char *r = i < nread ? p->read[i] : p->write[i - nread];

		if (access == UNOTIFY_WRITE && i < nread)
			continue;
		if (path_is_beneath(path, r) && (!found || strlen(r) > best_len)) {
			found = true;
			best_len = strlen(r);
			*root = i;
		}
	}
	return found ? 0 : -EACCES;
}

/* REAL is a directory on the way to a root ("/", "/home" for /home/u/src). */
static bool on_the_way(const struct sup *s, const char *real)
{
	for (size_t i = 0; i < s->nroots; i++)
		if (s->roots[i].real && path_is_beneath(s->roots[i].real, real))
			return true;
	return false;
}

/* Where an fd really is (REAL, symlink-free) passes the policy for ACCESS. */
int sup_check_real(struct sup *s, struct req *q, const char *real, enum unotify_access access)
{
	char proc_self[32];
	size_t n;

	if (real[0] != '/')
		return -EACCES;
	n = strlen(real);
	if (n > 10 && !strcmp(real + n - 10, " (deleted)"))
		return -EACCES;
	snprintf(proc_self, sizeof(proc_self), "/proc/%d", (int)s->self_tgid);
	if (s->self_tgid && path_is_beneath(real, proc_self))
		return -EACCES;
	for (size_t i = 0; i < s->ndeny; i++)
		if (path_is_beneath(real, s->deny_real[i]))
			return -EACCES;
	if (access == UNOTIFY_LOOK && on_the_way(s, real))
		return 0;
	return sup_allowed(s, q, real, access, false) ? 0 : -EACCES;
}

void sup_free(struct sup *s)
{
	for (size_t i = 0; i < s->nroots; i++) {
		free(s->roots[i].real);
		free(s->roots[i].name);
		if (s->roots[i].fd >= 0)
			close(s->roots[i].fd);
	}
	free(s->roots);
	for (size_t i = 0; i < s->ndeny; i++)
		free(s->deny_real[i]);
	free(s->deny_real);
	free(s->prefix);
	strv_free(s->always);
	closep(&s->done_efd);
	if (s->root >= 0 && s->p && !s->p->in_root)
		close(s->root);
}

/* A root's real path and fds; a root that does not exist is kept with
 * fd -1 (nothing beneath it can be opened). */
static int root_open(struct sup *s, struct sup_root *r)
{
	char real[PATH_MAX + 32];
	_cleanup_close_ int fd = sup_open_as_sandbox(s, r->path, O_PATH);
	struct stat st;
	int err;

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	err = sup_fd_real(s, fd, real, sizeof(real));
	if (err)
		return err;
	if (fstat(fd, &st) < 0)
		return -errno;
	r->real = xstrdup(real);
	if (!S_ISDIR(st.st_mode)) {
		char *slash = strrchr(real, '/');

		r->name = xstrdup(slash + 1);
		*slash = '\0';
		closep(&fd);
		fd = sup_open_as_sandbox(s, *real ? real : "/", O_PATH | O_DIRECTORY);
		if (fd < 0)
			return -errno;
	}
	r->fd = take_fd(&fd);
	return 0;
}

int sup_init(struct sup *s, const struct unotify_policy *p)
{
	const char *const *lists[3] = { p->read, p->write, p->ask };
	size_t ndeny = list_len(p->deny);
	char buf[PATH_MAX + 32];
	ssize_t n;
	int err;

	s->p = p;
	s->self_tgid = getpid();
	s->root = p->in_root ? p->root_fd : open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root < 0)
		return -errno;
	if (p->in_root) {
		err = sup_fd_path(p->root_fd, buf, sizeof(buf));
		if (err)
			return err;
		s->prefix = xstrdup(buf);
		/* Our pid in the sandbox's /proc, if we have one there. */
		n = readlinkat(p->root_fd, "proc/self", buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		s->self_tgid = n > 0 ? (pid_t)strtol(buf, NULL, 10) : 0;
	} else {
		s->prefix = xstrdup("/");
	}
	s->roots = xcalloc(list_len(p->read) + list_len(p->write) + list_len(p->ask) + 1,
			   sizeof(*s->roots));
	for (int l = 0; l < 3; l++) {
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			struct sup_root *r = &s->roots[s->nroots++];

			r->fd = -1;
			r->path = lists[l][i];
			r->write = l >= 1;
			r->ask = l == 2;
			if (r->path[0] != '/')
				return -EINVAL;
			err = root_open(s, r);
			if (err)
				return err;
		}
	}
	s->deny_real = xcalloc(ndeny + 1, sizeof(char *));
	for (size_t i = 0; i < ndeny; i++) {
		_cleanup_close_ int fd = -1;

		if (p->deny[i][0] != '/')
			return -EINVAL;
		/* A deny root that does not exist yet still denies by its name. */
		fd = sup_open_as_sandbox(s, p->deny[i], O_PATH);
		if (fd < 0 || sup_fd_real(s, fd, buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "%s", p->deny[i]);
		s->deny_real[s->ndeny++] = xstrdup(buf);
	}
	return 0;
}

/* The root that allows ACCESS to real path REAL (the longest), or NULL. */
static const struct sup_root *find_root(const struct sup *s, const char *real,
					enum unotify_access access)
{
	const struct sup_root *best = NULL;

	for (size_t i = 0; i < s->ndeny; i++)
		if (path_is_beneath(real, s->deny_real[i]))
			return NULL;
	for (size_t i = 0; i < s->nroots; i++) {
		const struct sup_root *r = &s->roots[i];

		if (!r->real || (access == UNOTIFY_WRITE && !r->write))
			continue;
		if (!path_is_beneath(real, r->real))
			continue;
		/* the longest root wins; an ask root over another of its length */
		if (!best || strlen(r->real) > strlen(best->real) ||
		    (r->ask && strlen(r->real) == strlen(best->real)))
			best = r;
	}
	return best;
}

/* The caller as the sandbox sees it, for events (read only if wanted). */
pid_t sup_event_pid(struct sup *s, struct req *q)
{
	if (!q->have_status && s->p->hooks)
		(void)sup_need_status(s, q);
	return q->have_status ? q->cs.ns_tgid : 0;
}

const char *sup_syscall_name(long nr)
{
	static const struct {
		long nr;
		const char *name;
	} names[] = {
		{ __NR_open, "open" },
		{ __NR_openat, "openat" },
		{ __NR_creat, "creat" },
		{ __NR_stat, "stat" },
		{ __NR_lstat, "lstat" },
		{ __NR_newfstatat, "newfstatat" },
		{ __NR_statx, "statx" },
		{ __NR_readlink, "readlink" },
		{ __NR_readlinkat, "readlinkat" },
		{ __NR_execve, "execve" },
		{ __NR_execveat, "execveat" },
		{ __NR_connect, "connect" },
		{ __NR_bind, "bind" },
		{ __NR_mkdir, "mkdir" },
		{ __NR_mkdirat, "mkdirat" },
		{ __NR_mknod, "mknod" },
		{ __NR_mknodat, "mknodat" },
		{ __NR_symlink, "symlink" },
		{ __NR_symlinkat, "symlinkat" },
		{ __NR_unlink, "unlink" },
		{ __NR_unlinkat, "unlinkat" },
		{ __NR_rmdir, "rmdir" },
		{ __NR_rename, "rename" },
		{ __NR_renameat, "renameat" },
		{ __NR_renameat2, "renameat2" },
		{ __NR_link, "link" },
		{ __NR_linkat, "linkat" },
		{ __NR_truncate, "truncate" },
		{ __NR_sendto, "sendto" },
		{ __NR_sendmsg, "sendmsg" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].nr == nr)
			return names[i].name;
	return "?";
}

void sup_note_path(struct req *q, const char *real, enum unotify_access access)
{
	if (q->nev < MAX_EVENTS) {
		q->ev_path[q->nev] = xstrdup(real);
		q->ev_access[q->nev++] = access;
	}
}

/* ACCESS:PATH (or net:ADDRESS) was allowed for the rest of the run. */
static bool always_allowed(const struct sup *s, const char *key)
{
	for (size_t i = 0; i < s->nalways; i++)
		if (!strcmp(s->always[i], key))
			return true;
	return false;
}

/* Ask the decider about EV (KEY names it in the "always" cache). */
bool sup_ask_decider(struct sup *s, const char *key, const struct unotify_event *ev)
{
	const struct unotify_hooks *h = s->p->hooks;
	int r;

	if (always_allowed(s, key))
		return true;
	if (!h || !h->ask)
		return false;
	{
		struct unotify_event e = *ev;

		e.stop_fd = s->stop_fd;
		r = h->ask(h->ctx, &e);
	}
	if (r == 1)
		strv_push(&s->always, &s->nalways, xstrdup(key));
	return r >= 0;
}

/*
 * The policy's decision on ACCESS to REAL: the root that allows it, after
 * asking the decider if it is an ask root, or NULL.  PRIMARY: REAL is what
 * the request is about (recorded for the hooks).
 */
const struct sup_root *sup_allowed(struct sup *s, struct req *q, const char *real,
				   enum unotify_access access, bool primary)
{
	const struct sup_root *root = find_root(s, real, access);
	char key[PATH_MAX + 16];

	if (primary)
		sup_note_path(q, real, access);
	if (root && root->ask && !(q->asked && !strcmp(q->asked, real))) {
		struct unotify_event ev = { .syscall = sup_syscall_name((long)q->n->data.nr),
					    .pid = sup_event_pid(s, q),
					    .access = access,
					    .path = real };

		snprintf(key, sizeof(key), "%d:%s", (int)access, real);
		if (!sup_ask_decider(s, key, &ev))
			root = NULL;
		else if (!q->asked)
			q->asked = xstrdup(real);
	}
	if (!root) {
		q->by_policy = true;
		(void)sup_event_pid(s, q); /* for the audit line */
	}
	return root;
}

/*
 * CANON is a directory on the way to a root that no root holds and nothing
 * denies: what stat and readlink may look at besides the roots.
 */
bool sup_above_a_root(struct sup *s, struct req *q, const char *canon)
{
	return !find_root(s, canon, UNOTIFY_LOOK) && on_the_way(s, canon) &&
	       sup_check_real(s, q, canon, UNOTIFY_LOOK) == 0;
}
