/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch.h - inotify watches on the origin's files a worker's session keeps
 * (directories listed, files opened), and what their events say may have
 * changed: the paths to INVALIDATE on the worker.
 *
 * Watches are added on the object already opened and checked (through
 * /proc/self/fd/N), before it is read: a change made after that is an
 * event, whatever was renamed meanwhile.  A set moves from the job that
 * made it to the agent that keeps the session (watch_set_export, then
 * watch_set_import on the agent's side, which watches the same paths with
 * watches of its own before it reads the job's last events).
 */
#ifndef MOSCTL_WATCH_H
#define MOSCTL_WATCH_H

#include <stdbool.h>
#include <stddef.h>

struct watch_set;

/* A new set (an inotify instance), or NULL with errno set. */
struct watch_set *watch_set_new(void);
/* A set of the inotify descriptor FD (taken over) whose watches WDS[i] are
 * on PATHS[i] (copied). */
struct watch_set *watch_set_adopt(int fd, const int *wds, char *const *paths, size_t n);
void watch_set_free(struct watch_set *w);
/* Whether FD is an inotify descriptor (made non-blocking if so). */
bool watch_fd_is_inotify(int fd);
/* The inotify descriptor, to poll. */
int watch_set_fd(const struct watch_set *w);
/* How many (watch, path) pairs the set holds. */
size_t watch_set_count(const struct watch_set *w);

/*
 * Watch FD (open on PATH, a directory when DIR) for changes.  0, or -errno
 * (-ENOSPC: the user's inotify watches are used up); thread-safe.
 */
int watch_set_add_fd(struct watch_set *w, int fd, const char *path, bool dir);
/* Note that watch WD of W's descriptor is on PATH (added by whoever gave
 * the descriptor). */
void watch_set_note(struct watch_set *w, int wd, const char *path);
/* Watch PATH as it is now (opened without following any symlink), as a
 * directory or a file as it is one. */
int watch_set_add_path(struct watch_set *w, const char *path);

/* The pairs, for export: arrays valid until the next change of W. */
size_t watch_set_pairs(struct watch_set *w, const int **wds, char *const **paths);
/* Take the inotify descriptor out (the set keeps its pairs, without fd). */
int watch_set_take_fd(struct watch_set *w);

/*
 * Read the events queued (without blocking) and call FN with each path
 * they say may have changed ("/" when the queue overflowed).  Returns the
 * number of events, or -errno.
 */
int watch_set_drain(struct watch_set *w, void (*fn)(const char *path, void *arg), void *arg);

#endif /* MOSCTL_WATCH_H */
