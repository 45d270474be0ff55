// SPDX-License-Identifier: GPL-2.0-only
/*
 * watch.c - inotify watches for a worker's session, and their events as
 * paths to invalidate.
 */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* What may change what a worker keeps: a directory's entries (their names
 * and attributes, a file's content included) and the object itself. */
#define DIR_MASK                                                                       \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_MODIFY | \
	 IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)
#define FILE_MASK \
	(IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW)

struct watch_set {
	int fd;
	pthread_mutex_t lock;
	int *wds;
	char **paths;
	size_t n, cap;
};

static struct watch_set *alloc_set(int fd)
{
	struct watch_set *w = xcalloc(1, sizeof(*w));

	w->fd = fd;
	pthread_mutex_init(&w->lock, NULL);
	return w;
}

struct watch_set *watch_set_new(void)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	return fd < 0 ? NULL : alloc_set(fd);
}

/* Called locked. */
static void remember(struct watch_set *w, int wd, const char *path)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->wds[i] == wd && !strcmp(w->paths[i], path))
			return;
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 64;
		w->wds = xrealloc(w->wds, w->cap * sizeof(*w->wds));
		w->paths = xrealloc(w->paths, w->cap * sizeof(*w->paths));
	}
	w->wds[w->n] = wd;
	w->paths[w->n++] = xstrdup(path);
}

bool watch_fd_is_inotify(int fd)
{
	char proc[64], link[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = 0;
	return !strcmp(link, "anon_inode:inotify") &&
	       fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0;
}

struct watch_set *watch_set_adopt(int fd, const int *wds, char *const *paths, size_t n)
{
	struct watch_set *w = alloc_set(fd);

	for (size_t i = 0; i < n; i++)
		remember(w, wds[i], paths[i]);
	return w;
}

void watch_set_free(struct watch_set *w)
{
	if (!w)
		return;
	closep(&w->fd);
	for (size_t i = 0; i < w->n; i++)
		free(w->paths[i]);
	free(w->paths);
	free(w->wds);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int watch_set_fd(const struct watch_set *w)
{
	return w->fd;
}

size_t watch_set_count(const struct watch_set *w)
{
	return w->n;
}

int watch_set_add_fd(struct watch_set *w, int fd, const char *path, bool dir)
{
	char proc[64];
	int wd;

	if (w->fd < 0)
		return -EBADF;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* the magic link is the object FD holds: no name is resolved again */
	wd = inotify_add_watch(w->fd, proc, (dir ? DIR_MASK : FILE_MASK) & ~IN_DONT_FOLLOW);
	if (wd < 0)
		return -errno;
	pthread_mutex_lock(&w->lock);
	remember(w, wd, path);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void watch_set_note(struct watch_set *w, int wd, const char *path)
{
	pthread_mutex_lock(&w->lock);
	remember(w, wd, path);
	pthread_mutex_unlock(&w->lock);
}

int watch_set_add_path(struct watch_set *w, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	struct stat st;
	int r;

	if (fd < 0)
		return -errno;
	r = fstat(fd, &st) < 0 ? -errno : watch_set_add_fd(w, fd, path, S_ISDIR(st.st_mode));
	close(fd);
	return r;
}

size_t watch_set_pairs(struct watch_set *w, const int **wds, char *const **paths)
{
	*wds = w->wds;
	*paths = w->paths;
	return w->n;
}

int watch_set_take_fd(struct watch_set *w)
{
	int fd = w->fd;

	w->fd = -1;
	return fd;
}

int watch_set_drain(struct watch_set *w, void (*fn)(const char *path, void *arg), void *arg)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int events = 0;

	for (;;) {
		ssize_t len = read(w->fd, buf, sizeof(buf));

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return errno == EAGAIN ? events : -errno;
		if (len == 0)
			return events;
		for (char *p = buf; p + sizeof(struct inotify_event) <= buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			/* (a descriptor handed over is checked to be inotify's; the
			 * bounds hold whatever it gives) */
			if (ev->len > (size_t)(buf + len - p) - sizeof(*ev))
				return -EPROTO;
			p += sizeof(*ev) + ev->len;
			if (ev->len && memchr(ev->name, 0, ev->len) == NULL)
				return -EPROTO;
			events++;
			if (ev->mask & IN_Q_OVERFLOW) {
				fn("/", arg);
				continue;
			}
			pthread_mutex_lock(&w->lock);
			for (size_t i = 0; i < w->n; i++) {
				_cleanup_free_ char *path = NULL;

				if (w->wds[i] != ev->wd)
					continue;
				if (ev->len && ev->name[0])
					path = xasprintf("%s%s%s", w->paths[i],
							 strcmp(w->paths[i], "/") ? "/" : "",
							 ev->name);
				fn(path ? path : w->paths[i], arg);
			}
			if (ev->mask & IN_IGNORED) {
				/* the watch is gone (its object removed): so are its pairs */
				for (size_t i = 0; i < w->n;) {
					if (w->wds[i] != ev->wd) {
						i++;
						continue;
					}
					free(w->paths[i]);
					w->wds[i] = w->wds[w->n - 1];
					w->paths[i] = w->paths[--w->n];
				}
			}
			pthread_mutex_unlock(&w->lock);
		}
	}
}
