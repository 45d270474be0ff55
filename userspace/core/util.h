/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.h - ownership helpers, checked arithmetic and small string utilities
 * shared by every part of libmos.
 *
 * Ownership is visible in the type: a variable declared with _cleanup_free_
 * or _cleanup_close_ is released when it leaves scope; steal_pointer() and
 * take_fd() hand it on explicitly.
 */
#ifndef MOS_UTIL_H
#define MOS_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_MONOTONIC in milliseconds (deadlines and durations). */
uint64_t mono_ms(void);

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))

static inline void *steal_pointer_(void **pp)
{
	void *p = *pp;

	*pp = NULL;
	return p;
}
#define steal_pointer(pp) steal_pointer_((void **)(pp))

static inline int take_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

/* Allocation that cannot return NULL: out of memory ends the process. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Append one element to a growable array of pointers (NULL-terminated), in
 * amortised constant time.  *V must be NULL or have been grown by strv_push
 * alone (a one-slot array holding only the NULL, with *N = 0, is fine too).
 */
void strv_push(char ***v, size_t *n, char *s);
void strv_free(char **v);

/*
 * Parse a size such as "256M", "1G", "4096", "64k" (binary units, case-
 * insensitive, optional trailing "B" or "iB").  Returns 0 or -EINVAL/-ERANGE.
 */
int parse_size(const char *s, uint64_t *out);
/* Parse a non-negative decimal integer no larger than max. */
int parse_uint(const char *s, uint64_t max, uint64_t *out);
/* Parse a duration in seconds, with an optional fraction ("1.5"). */
int parse_seconds(const char *s, uint64_t *ms_out);

/* write(2)/read(2) until done or a real error; return 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* One sendmsg(2) of BUF (LEN bytes) on unix socket SOCK, with descriptor FD
 * attached (SCM_RIGHTS) when FD >= 0; no SIGPIPE, EINTR retried.  The
 * bytes sent (maybe fewer than LEN on a stream) or -errno. */
ssize_t send_with_fd(int sock, const void *buf, size_t len, int fd);
/* The same with NFDS (at most SEND_FDS_MAX) descriptors attached. */
#define SEND_FDS_MAX 8U
ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds);
/* Read up to len bytes; returns the count (short on EOF) or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);
/* Write a whole string to a file (e.g. /proc/self/uid_map); 0 or -errno. */
int write_file(const char *path, const char *s);

/* "a regular file", "a directory", "a FIFO", ... for messages. */
const char *file_type_name(mode_t mode);
/*
 * Open PATH, a file read on a user's behalf (a policy, a key, a list of
 * keys): O_NONBLOCK, so that a FIFO or a device never blocks the open,
 * O_NOCTTY and O_CLOEXEC; then only a regular file of at most MAX bytes is
 * accepted.  WHAT names the file in messages ("policy file").  Returns the
 * fd, or -errno with ERR set: -EINVAL when PATH is not a regular file (the
 * message says what it is), -EFBIG when it is larger than MAX.
 */
int open_regular(const char *path, const char *what, size_t max, char *err, size_t errlen);
/*
 * open_regular() and read the whole file into *OUT (malloc'd, NUL added).
 * A file that grows past MAX while it is read is refused as well.  Returns
 * its length or -errno with ERR set.
 */
ssize_t read_regular(const char *path, const char *what, size_t max, char **out, char *err,
		     size_t errlen);
/*
 * Open PATH to append to it (created 0666 & ~umask if missing), the same
 * way: never blocking in the open (a FIFO without a reader is refused, not
 * waited for), and only a regular file.  Returns the fd or -errno with ERR
 * set.
 */
int open_regular_append(const char *path, const char *what, char *err, size_t errlen);

/*
 * Make PATH absolute (relative to BASE, or the cwd when BASE is NULL) and
 * remove "." and ".." components and repeated slashes, without touching the
 * filesystem.  Returns a malloc'd string.
 */
char *path_join_normalize(const char *base, const char *path);
/* True when PATH equals PARENT or lies beneath it (both normalized). */
bool path_is_beneath(const char *path, const char *parent);

/* mkdir -p: create PATH and its missing parents with MODE; 0 or -errno. */
int mkdir_p(const char *path, unsigned int mode);
/*
 * mkdir -p PATH 0700 for a cache or state directory of ours, and check that
 * no one else can change what is in it: PATH (by its real path) is a
 * directory we own, and each directory above it belongs to us or to root
 * and is writable by no one else, unless sticky (/tmp).  A directory
 * beneath another user's (say /tmp/.cache made by someone else first) is
 * refused: its contents would be theirs to plant or swap.  0 or -errno
 * with ERR set.
 */
int mkdir_private(const char *path, char *err, size_t errlen);
/* rm -rf of PATH, not crossing into other mounts; 0 or the first -errno. */
int rm_rf(const char *path);

#endif /* MOS_UTIL_H */
