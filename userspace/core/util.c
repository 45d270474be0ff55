// SPDX-License-Identifier: GPL-2.0-only
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

static void oom(void)
{
	static const char msg[] = "mosingar: out of memory\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(125);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		oom();
	return p;
}

void strv_push(char ***v, size_t *n, char *s)
{
	/*
	 * Room doubles when *N + 1 is a power of two (0, 1, 3, 7, ...), to
	 * 2 * (*N + 1) slots: enough until the next power, so N pushes cost
	 * O(N) (one realloc per element copied the whole list each time under
	 * ASan, and often without it: 60,000 variables took seconds).
	 */
	if (((*n + 1) & *n) == 0)
		*v = xrealloc(*v, 2 * (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	char digits[32];
	uint64_t v, mult = 1;
	size_t n = 0;
	const char *u;
	int r;

	if (!s)
		return -EINVAL;
	while (isdigit((unsigned char)s[n]))
		n++;
	if (n == 0 || n >= sizeof(digits))
		return n == 0 ? -EINVAL : -ERANGE;
	memcpy(digits, s, n);
	digits[n] = '\0';
	r = parse_uint(digits, UINT64_MAX, &v);
	if (r < 0)
		return r;
	u = s + n;
	switch (tolower((unsigned char)*u)) {
	case '\0':
		break;
	case 'k':
		mult = 1ULL << 10;
		break;
	case 'm':
		mult = 1ULL << 20;
		break;
	case 'g':
		mult = 1ULL << 30;
		break;
	case 't':
		mult = 1ULL << 40;
		break;
	case 'b':
		if (u[1] != '\0')
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (mult > 1) {
		u++;
		if (!strcasecmp(u, "ib"))
			u += 2;
		else if (tolower((unsigned char)*u) == 'b')
			u++;
		if (*u)
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int parse_seconds(const char *s, uint64_t *ms_out)
{
	char whole[32];
	const char *dot;
	uint64_t sec, ms = 0;
	size_t n;
	int r;

	if (!s || !*s)
		return -EINVAL;
	dot = strchr(s, '.');
	n = dot ? (size_t)(dot - s) : strlen(s);
	if (n == 0 || n >= sizeof(whole))
		return n == 0 ? -EINVAL : -ERANGE;
	memcpy(whole, s, n);
	whole[n] = '\0';
	r = parse_uint(whole, UINT64_MAX / 1000 - 1, &sec);
	if (r < 0)
		return r;
	if (dot) {
		const char *f = dot + 1;
		uint64_t scale = 100;

		if (!*f)
			return -EINVAL;
		for (; *f; f++) {
			if (!isdigit((unsigned char)*f))
				return -EINVAL;
			ms += (uint64_t)(*f - '0') * scale;
			scale /= 10;
		}
	}
	*ms_out = sec * 1000 + ms;
	return 0;
}

ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		char c[CMSG_SPACE(SEND_FDS_MAX * sizeof(int))];
		struct cmsghdr align; /* CMSG_FIRSTHDR's alignment */
	} cbuf = { { 0 } };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > SEND_FDS_MAX)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf.c;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t send_with_fd(int sock, const void *buf, size_t len, int fd)
{
	return send_with_fds(sock, buf, len, &fd, fd >= 0 ? 1 : 0);
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

const char *file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFLNK:
		return "a symbolic link";
	}
	return "not a file of a known type";
}

static void say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * PATH opened with OFLAGS | O_NONBLOCK | O_NOCTTY | O_CLOEXEC (MODE if it
 * creates), refused unless the very file opened is a regular one of at most
 * MAX bytes, then left with KEEP as its status flags: never a blocking open
 * of a FIFO or a device.  USE names the step in the error ("read").
 */
static int open_checked(const char *path, int oflags, mode_t mode, int keep, const char *use,
			const char *what, size_t max, char *err, size_t errlen)
{
	_cleanup_close_ int fd = open(path, oflags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
	struct stat st;
	int r;

	if (fd < 0) {
		r = -errno;
		/* a socket cannot be opened at all, a directory not for writing:
		 * say what it is */
		if ((r == -ENXIO || r == -EISDIR) && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			say(err, errlen, "%s %s is %s, not a regular file", what, path,
			    file_type_name(st.st_mode));
			return -EINVAL;
		}
		say(err, errlen, "cannot open %s %s: %s", what, path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		say(err, errlen, "cannot stat %s %s: %s", what, path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		say(err, errlen, "%s %s is %s, not a regular file", what, path,
		    file_type_name(st.st_mode));
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max) {
		say(err, errlen, "%s %s is larger than %zu bytes (%jd)", what, path, max,
		    (intmax_t)st.st_size);
		return -EFBIG;
	}
	/* reads and writes of a regular file never wait anyway: leave no
	 * surprise behind */
	if (fcntl(fd, F_SETFL, keep) < 0) {
		r = -errno;
		say(err, errlen, "cannot %s %s %s: %s", use, what, path, strerror(-r));
		return r;
	}
	return take_fd(&fd);
}

int open_regular(const char *path, const char *what, size_t max, char *err, size_t errlen)
{
	return open_checked(path, O_RDONLY, 0, 0, "read", what, max, err, errlen);
}

int open_regular_append(const char *path, const char *what, char *err, size_t errlen)
{
	return open_checked(path, O_WRONLY | O_APPEND | O_CREAT, 0666, O_APPEND, "write", what,
			    SIZE_MAX, err, errlen);
}

ssize_t read_regular(const char *path, const char *what, size_t max, char **out, char *err,
		     size_t errlen)
{
	_cleanup_close_ int fd = open_regular(path, what, max, err, errlen);
	_cleanup_free_ char *buf = NULL;
	ssize_t n;

	*out = NULL;
	if (fd < 0)
		return fd;
	/* one byte more than allowed: a file that grew since fstat is seen */
	buf = xmalloc(max + 2);
	n = read_full(fd, buf, max + 1);
	if (n < 0) {
		say(err, errlen, "cannot read %s %s: %s", what, path, strerror((int)-n));
		return n;
	}
	if ((size_t)n > max) {
		say(err, errlen, "%s %s is larger than %zu bytes", what, path, max);
		return -EFBIG;
	}
	buf[n] = '\0';
	*out = steal_pointer(&buf);
	return n;
}

int write_file(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return write_all(fd, s, strlen(s));
}

char *path_join_normalize(const char *base, const char *path)
{
	_cleanup_free_ char *joined = NULL;
	char cwd[4096];
	char *out, *o;
	size_t len;

	if (path[0] != '/') {
		if (!base) {
			if (!getcwd(cwd, sizeof(cwd)))
				strcpy(cwd, "/");
			base = cwd;
		}
		len = strlen(base) + strlen(path) + 2;
		joined = xmalloc(len);
		snprintf(joined, len, "%s/%s", base, path);
		path = joined;
	}
	out = xmalloc(strlen(path) + 2);
	o = out;
	*o = '\0';
	for (const char *p = path; *p;) {
		const char *seg;
		size_t n;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			char *slash = strrchr(out, '/');

			if (slash)
				*slash = '\0';
			o = out + strlen(out);
			continue;
		}
		*o++ = '/';
		memcpy(o, seg, n);
		o += n;
		*o = '\0';
	}
	if (out[0] == '\0')
		strcpy(out, "/");
	return out;
}

bool path_is_beneath(const char *path, const char *parent)
{
	size_t n = strlen(parent);

	if (n == 1 && parent[0] == '/')
		return path[0] == '/';
	if (strncmp(path, parent, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/';
}

int mkdir_p(const char *path, unsigned int mode)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;

		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		if (!c)
			return 0;
		*s = c;
	}
}

int mkdir_private(const char *path, char *err, size_t errlen)
{
	_cleanup_free_ char *real = NULL;
	uid_t me = geteuid();
	int r = mkdir_p(path, 0700);

	if (r < 0) {
		say(err, errlen, "cannot make %s: %s", path, strerror(-r));
		return r;
	}
	real = realpath(path, NULL);
	if (!real) {
		r = -errno;
		say(err, errlen, "cannot resolve %s: %s", path, strerror(-r));
		return r;
	}
	for (char *end = real + strlen(real);;) {
		struct stat st;
		char c = *end;
		bool writable;

		*end = '\0';
		if (stat(*real ? real : "/", &st) < 0) {
			r = -errno;
			say(err, errlen, "cannot examine %s: %s", *real ? real : "/", strerror(-r));
			return r;
		}
		*end = c;
		/* group-writable is fine for our own group (user private groups) */
		writable = (st.st_mode & 002) || ((st.st_mode & 020) && st.st_gid != getegid());
		if (!S_ISDIR(st.st_mode) || (st.st_uid != me && st.st_uid != 0) ||
		    (c == '\0' && st.st_uid != me) ||
		    (writable && !(c != '\0' && (st.st_mode & S_ISVTX)))) {
			*end = '\0';
			say(err, errlen,
			    "%s is not private: %s belongs to uid %u with mode %04o (it must be "
			    "a directory of yours or root's that no one else may write to)",
			    path, *real ? real : "/", (unsigned)st.st_uid,
			    (unsigned)(st.st_mode & 07777));
			return -EPERM;
		}
		if (end == real)
			return 0;
		while (end > real && *--end != '/')
			;
	}
}

static int rm_at(int dfd, const char *name, dev_t dev)
{
	struct stat st;
	int r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *e;

		if (!d) {
			if (fd >= 0)
				close(fd);
			return -errno;
		}
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			int q = rm_at(dirfd(d), e->d_name, dev);

			if (q < 0 && !r)
				r = q;
		}
		closedir(d);
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && !r)
			r = -errno;
		return r;
	}
	if (unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return -errno;
	return 0;
}

int rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_at(AT_FDCWD, path, st.st_dev);
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("out of memory\n", stderr);
		abort();
	}
	return s;
}

uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
