// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify.c - the supervisor: receive trapped syscalls, decide, act on the
 * child's behalf, answer.
 *
 * One request, step by step (the order is what makes it race-free):
 *
 *  1. SECCOMP_IOCTL_NOTIF_RECV gives the caller's tid (in our pid namespace)
 *     and its arguments, copied by the kernel: the numbers cannot change.
 *  2. Read the path (bounded: PATH_MAX, page by page, NUL-terminated) or
 *     the sockaddr with process_vm_readv on that tid, then NOTIF_ID_VALID.
 *     The tid cannot name another task while the notification is pending
 *     (the caller is blocked in it and must die before its tid is reused),
 *     so a valid id after the read means the bytes are the caller's.  The
 *     copy is now ours: whatever the child writes into its buffer later,
 *     nobody reads it again.  When more is needed (a relative path, /proc,
 *     a umask), /proc/TID is opened as an O_PATH directory and NOTIF_ID_VALID
 *     checked after: that fd then names the caller for good (its status,
 *     cwd, fds), never a pid number again.
 *  3. Resolve the path as the child: relative paths against the child's cwd
 *     or dirfd (the /proc/TID/{cwd,fd/N} link text, verified by comparing
 *     the inode it names with the inode the magic link opens O_PATH), "."
 *     and "//" removed, then every symlink resolved as the kernel would, in
 *     the sandbox's root (canonicalize(); /proc/self as the caller's pid in
 *     the sandbox's /proc).
 *  4. Check the policy on that path (the longest root, the deny paths, the
 *     decider for an ask root), open it beneath the O_PATH fd of the
 *     allowing root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
 *     RESOLVE_NO_SYMLINKS), and check the policy again on where the fd
 *     really is (its /proc/self/fd link).  The open runs with the child's
 *     fsuid, fsgid, groups and umask.
 *  5. Inject the fd with SECCOMP_IOCTL_NOTIF_ADDFD + SECCOMP_ADDFD_FLAG_SEND
 *     (atomically installs it and answers the syscall with its number), or
 *     make the change (mkdir, rename, connect, send, ...) relative to a
 *     checked fd or on our copy of the caller's fd (pidfd_getfd, never its
 *     number again), or perform the look (stat, readlink) and write the
 *     result into the caller, or answer an error.  A step that waits on
 *     someone else (a FIFO's open, a connect, a send) runs in a job, a
 *     thread of its own ("Jobs").  SECCOMP_USER_NOTIF_FLAG_CONTINUE only
 *     where nothing can be performed for the caller: O_PATH opens (ADDFD
 *     cannot inject them; what they give is looked at only where allowed)
 *     and execve under noexec mounts outside the policy
 *     (Documentation/supervisor.md, "Exceptions").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "unotify.h"
#include "util.h"

#define MAX_GROUPS 64

/* The kernel's own "restart the call" codes (include/linux/errno.h): an
 * answer of -MOS_ERESTARTSYS makes a signal handler with SA_RESTART
 * restart the call and one without see EINTR, as the kernel's waits do. */
#define MOS_ERESTARTSYS 512
#define MOS_ERESTARTNOINTR 513

/* Linux 6.6 uapi, not in every distribution's headers yet. */
#define MOS_SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW('!', 4, __u64)
#define MOS_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)

struct sup_root {
	const char *path; /* as given, normalized */
	char *real;	  /* its real path (NULL: it does not exist) */
	int fd;		  /* O_PATH of it, or of its directory for a file */
	char *name;	  /* a file root: its name in that directory */
	bool write;
	bool ask; /* an ask root: allowed only if the decider says so */
};

struct sup {
	const struct unotify_policy *p;
	struct sup_root *roots;
	size_t nroots;
	char **deny_real;
	size_t ndeny;
	struct unotify_stats *st;
	int listener;
	pid_t self_tgid; /* 0: the supervisor has no pid in the sandbox's /proc */
	char *prefix;	 /* what fd links start with for the sandbox's "/" */
	int root;	 /* the sandbox's "/" (ours without in_root) */
	char **always;	 /* "ACCESS:path" or "net:..." the decider allowed for good */
	size_t nalways;
	/* Capabilities held in the permitted set only, raised for a syscall on
	 * the caller itself that the kernel refused without them (as_tracer()). */
	__u32 tracer_caps;
	/* Steps that may block, running in threads of their own ("Jobs"). */
	struct job *jobs;
	int njobs;
	int done_efd; /* written by a job when it is done */
	int stop_fd;  /* readable once the supervisor is told to stop, or -1 */
	/* The serving thread's current file credentials. */
	uid_t fsuid;
	gid_t fsgid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

struct child_status {
	pid_t tgid;	       /* as the supervisor sees it */
	pid_t ns_tgid, ns_tid; /* as the sandbox's /proc names them */
	long threads;
	mode_t umask;
	uid_t euid, fsuid;
	gid_t egid, fsgid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

#define MAX_EVENTS 2

struct req {
	struct seccomp_notif *n;
	int procfd;
	int memfd;
	int pidfd;
	struct child_status cs;
	bool have_status;
	/* What the request was about, for the hooks: up to two paths (rename,
	 * link) or one address. */
	char *ev_path[MAX_EVENTS];
	enum unotify_access ev_access[MAX_EVENTS];
	int nev;
	struct sockaddr_storage ev_addr;
	bool have_addr, ev_bind;
	bool by_policy; /* refused by the policy (or the decider) */
	char *asked;	/* the path the decider allowed in this request */
};

/* -------------------------------------------------------------------- */
/* Policy                                                                */
/* -------------------------------------------------------------------- */

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

static const struct sup_root *allowed(struct sup *s, struct req *q, const char *real,
				      enum unotify_access access, bool primary);

/* Where an fd really is (REAL, symlink-free) passes the policy for ACCESS. */
static int check_real(struct sup *s, struct req *q, const char *real, enum unotify_access access)
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
	return allowed(s, q, real, access, false) ? 0 : -EACCES;
}

static void sup_free(struct sup *s)
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

static int fd_path(int fd, char *out, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

/*
 * A path as the sandbox names it, from a link text of our /proc (an fd's, a
 * cwd's): these are written from the root of the mount tree the file is in,
 * so the sandbox's own "/" (when it is not that root) is cut off.  -EACCES
 * for a file outside the sandbox's root.
 */
static int sandbox_path(const struct sup *s, char *path)
{
	size_t n = strlen(s->prefix);

	if (!strcmp(s->prefix, "/"))
		return 0;
	if (!path_is_beneath(path, s->prefix))
		return -EACCES;
	memmove(path, path[n] ? path + n : "/", strlen(path + n) + (path[n] ? 1 : 2));
	return 0;
}

/* The real path of our fd FD, as the sandbox names it. */
static int fd_real(const struct sup *s, int fd, char *out, size_t len)
{
	int err = fd_path(fd, out, len);

	return err ? err : sandbox_path(s, out);
}

static long sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

/* Open absolute PATH as the sandbox would (symlinks followed in its root). */
static int open_as_sandbox(const struct sup *s, const char *path, __u64 flags)
{
	struct open_how how = { .flags = flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };

	if (!s->p->in_root)
		return open(path, (int)how.flags);
	return (int)sys_openat2(s->p->root_fd, path, &how);
}

/* A root's real path and fds; a root that does not exist is kept with
 * fd -1 (nothing beneath it can be opened). */
static int root_open(struct sup *s, struct sup_root *r)
{
	char real[PATH_MAX + 32];
	_cleanup_close_ int fd = open_as_sandbox(s, r->path, O_PATH);
	struct stat st;
	int err;

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	err = fd_real(s, fd, real, sizeof(real));
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
		fd = open_as_sandbox(s, *real ? real : "/", O_PATH | O_DIRECTORY);
		if (fd < 0)
			return -errno;
	}
	r->fd = take_fd(&fd);
	return 0;
}

static int sup_init(struct sup *s, const struct unotify_policy *p)
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
		err = fd_path(p->root_fd, buf, sizeof(buf));
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
		fd = open_as_sandbox(s, p->deny[i], O_PATH);
		if (fd < 0 || fd_real(s, fd, buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "%s", p->deny[i]);
		s->deny_real[s->ndeny++] = xstrdup(buf);
	}
	return 0;
}

/* -------------------------------------------------------------------- */
/* The caller                                                            */
/* -------------------------------------------------------------------- */

/*
 * Privilege phases of a serving thread (drop_caps() sets them up):
 *
 *  - Everything the caller names (a path, a dirfd's path, an address) is
 *    resolved, opened and acted on with the caller's fsuid, fsgid and
 *    groups and no capability but CAP_SETUID and CAP_SETGID in effect
 *    (needed to switch those credentials, and useless for any access
 *    check).  A root supervisor thus opens /proc/1/environ or /proc/N/mem
 *    for the sandbox exactly as the caller could: not at all for the
 *    sandbox's init, which is not dumpable.
 *  - Only to reach the caller itself (its memory at the addresses it gave,
 *    its fd N, its /proc/TID entries, a signal to it), and only when the
 *    kernel refused that without them, CAP_SYS_PTRACE and CAP_KILL are
 *    raised from the permitted set for that one system call: a root
 *    supervisor serving a caller of another uid (the library used on its
 *    own), or a caller that made itself undumpable.  mosctl's callers have
 *    its uid, so there this never happens.
 */
static bool set_tracer_caps(const struct sup *s, bool on)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	d[0].effective = on ? d[0].effective | s->tracer_caps : d[0].effective & ~s->tracer_caps;
	return syscall(SYS_capset, &h, d) == 0;
}

/* After a system call on the caller itself failed: raise the tracer's
 * capabilities for one more try, if it failed for want of them. */
static bool as_tracer(const struct sup *s)
{
	int err = errno;
	bool ok = s->tracer_caps && (err == EPERM || err == EACCES) && set_tracer_caps(s, true);

	errno = err;
	return ok;
}

/* ... and lower them again, errno kept. */
static void end_tracer(const struct sup *s)
{
	int err = errno;

	if (!set_tracer_caps(s, false))
		abort(); /* never go on serving with them */
	errno = err;
}

/* openat() of the caller's own /proc/TID entry NAME. */
static int caller_openat(const struct sup *s, const struct req *q, const char *name, int flags)
{
	int fd = openat(q->procfd, name, flags | O_CLOEXEC);

	if (fd < 0 && as_tracer(s)) {
		fd = openat(q->procfd, name, flags | O_CLOEXEC);
		end_tracer(s);
	}
	return fd;
}

static ssize_t caller_readlinkat(const struct sup *s, const struct req *q, const char *name,
				 char *buf, size_t len)
{
	ssize_t n = readlinkat(q->procfd, name, buf, len);

	if (n < 0 && as_tracer(s)) {
		n = readlinkat(q->procfd, name, buf, len);
		end_tracer(s);
	}
	return n;
}

static bool id_valid(const struct sup *s, const struct req *q)
{
	__u64 id = q->n->id;

	return ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static int parse_ids(const char *line, unsigned long *e, unsigned long *fs)
{
	unsigned long r, sv;

	return sscanf(line, "%lu %lu %lu %lu", &r, e, &sv, fs) == 4 ? 0 : -EINVAL;
}

/* Entry LEVEL of a list of pids ("NStgid:\t12\t1"), or 0. */
static pid_t nth_pid(const char *list, int level)
{
	char *end;
	long v = 0;

	for (int i = 0; i <= level; i++) {
		v = strtol(list, &end, 10);
		if (end == list)
			return 0;
		list = end;
	}
	return (pid_t)v;
}

int unotify_pid_level(pid_t pid)
{
	char path[64], buf[8192], *line;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	int level = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	line = strstr(buf, "\nNStgid:");
	if (!line)
		return 0; /* before Linux 4.1: no pid namespaces to count */
	for (char *p = line + 8; *p && *p != '\n';) {
		char *end;

		strtol(p, &end, 10);
		if (end == p)
			break;
		level++;
		p = end;
	}
	return level < 0 ? -EIO : level;
}

/* /proc/TID/status: tgid, threads, umask, fsuid, fsgid, groups, and the
 * pids the sandbox's /proc shows.  Call after the id was validated; validate
 * again after it returns. */
static int read_status(const struct sup *s, struct req *q)
{
	char buf[8192], *line, *save = NULL;
	_cleanup_close_ int fd = openat(q->procfd, "status", O_RDONLY | O_CLOEXEC);
	unsigned long v, e;
	ssize_t n;
	int seen = 0;

	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "Tgid:", 5)) {
			q->cs.tgid = (pid_t)strtol(line + 5, NULL, 10);
			seen |= 1;
		} else if (!strncmp(line, "NStgid:", 7)) {
			q->cs.ns_tgid = nth_pid(line + 7, s->p->pid_level);
		} else if (!strncmp(line, "NSpid:", 6)) {
			q->cs.ns_tid = nth_pid(line + 6, s->p->pid_level);
		} else if (!strncmp(line, "Threads:", 8)) {
			q->cs.threads = strtol(line + 8, NULL, 10);
			seen |= 2;
		} else if (!strncmp(line, "Umask:", 6)) {
			q->cs.umask = (mode_t)strtoul(line + 6, NULL, 8) & 0777;
			seen |= 4;
		} else if (!strncmp(line, "Uid:", 4)) {
			if (parse_ids(line + 4, &e, &v) == 0) {
				q->cs.euid = (uid_t)e;
				q->cs.fsuid = (uid_t)v;
				seen |= 8;
			}
		} else if (!strncmp(line, "Gid:", 4)) {
			if (parse_ids(line + 4, &e, &v) == 0) {
				q->cs.egid = (gid_t)e;
				q->cs.fsgid = (gid_t)v;
				seen |= 16;
			}
		} else if (!strncmp(line, "Groups:", 7)) {
			char *p = line + 7, *end;

			q->cs.ngroups = 0;
			for (;;) {
				v = strtoul(p, &end, 10);
				if (end == p)
					break;
				if (q->cs.ngroups == MAX_GROUPS)
					return -E2BIG;
				q->cs.groups[q->cs.ngroups++] = (gid_t)v;
				p = end;
			}
			seen |= 32;
		}
	}
	if (seen != 63)
		return -EIO;
	if (!s->p->pid_level && !q->cs.ns_tgid) {
		q->cs.ns_tgid = q->cs.tgid;
		q->cs.ns_tid = (pid_t)q->n->pid;
	}
	q->have_status = true;
	return 0;
}

/* Make the serving thread's file credentials the caller's (per thread: raw
 * syscalls, not glibc's process-wide wrappers). */
static int become_child(struct sup *s, const struct req *q)
{
	const struct child_status *c = &q->cs;

	if (c->ngroups != s->ngroups ||
	    memcmp(c->groups, s->groups, sizeof(gid_t) * (size_t)c->ngroups)) {
		if (syscall(SYS_setgroups, (size_t)c->ngroups, c->groups) < 0)
			return -EACCES;
		memcpy(s->groups, c->groups, sizeof(gid_t) * (size_t)c->ngroups);
		s->ngroups = c->ngroups;
	}
	if (c->fsgid != s->fsgid) {
		syscall(SYS_setfsgid, c->fsgid);
		if ((gid_t)syscall(SYS_setfsgid, -1) != c->fsgid)
			return -EACCES;
		s->fsgid = c->fsgid;
	}
	if (c->fsuid != s->fsuid) {
		syscall(SYS_setfsuid, c->fsuid);
		if ((uid_t)syscall(SYS_setfsuid, -1) != c->fsuid)
			return -EACCES;
		s->fsuid = c->fsuid;
	}
	return 0;
}

/* /proc/TID of the caller, opened when first needed (step 2 above). */
static int need_proc(struct sup *s, struct req *q)
{
	char path[32];

	if (q->procfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u", q->n->pid);
	q->procfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (q->procfd < 0 || !id_valid(s, q))
		return -ESRCH;
	return 0;
}

static int need_status(struct sup *s, struct req *q)
{
	int err;

	if (q->have_status)
		return 0;
	err = need_proc(s, q);
	if (err)
		return err;
	err = read_status(s, q);
	if (err)
		return err;
	if (!id_valid(s, q))
		return -ESRCH;
	return s->p->same_creds ? 0 : become_child(s, q);
}

static int need_mem(struct sup *s, struct req *q)
{
	int err;

	if (q->memfd >= 0)
		return 0;
	err = need_proc(s, q);
	if (err)
		return err;
	q->memfd = caller_openat(s, q, "mem", O_RDWR);
	return q->memfd < 0 ? -errno : 0;
}

/*
 * Read LEN bytes at ADDR of the caller by its tid.  Sound without an fd that
 * pins the caller: the caller is blocked in the notification, so its tid
 * cannot name another task unless it died first, and the ID_VALID the
 * callers make after the read says it did not.  -ENOSYS: use the mem fd.
 */
static ssize_t vm_read(const struct sup *s, const struct req *q, __u64 addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv((pid_t)q->n->pid, &local, 1, &remote, 1, 0);

	if (n < 0 && as_tracer(s)) {
		n = process_vm_readv((pid_t)q->n->pid, &local, 1, &remote, 1, 0);
		end_tracer(s);
	}
	if (n >= 0)
		return n;
	return errno == EFAULT ? -EFAULT : errno == ESRCH ? -ESRCH : -ENOSYS;
}

/* A NUL-terminated string of at most PATH_MAX bytes at ADDR in the caller. */
static int read_child_string(struct sup *s, struct req *q, __u64 addr, char *buf)
{
	size_t off = 0;
	long page = sysconf(_SC_PAGESIZE);
	int err;

	if (!addr || addr >= (1ULL << 62))
		return -EFAULT;
	while (off < PATH_MAX) {
		__u64 a = addr + off;
		size_t chunk = (size_t)page - (size_t)(a % (__u64)page);
		ssize_t n;
		char *nul;

		if (chunk > PATH_MAX - off)
			chunk = PATH_MAX - off;
		n = q->memfd < 0 ? vm_read(s, q, a, buf + off, chunk) : -ENOSYS;
		if (n == -ENOSYS) {
			err = need_mem(s, q);
			if (err)
				return err;
			n = pread(q->memfd, buf + off, chunk, (off_t)a);
		}
		if (n <= 0)
			return -EFAULT;
		nul = memchr(buf + off, '\0', (size_t)n);
		if (nul)
			return id_valid(s, q) ? 0 : -ESRCH;
		off += (size_t)n;
	}
	return -ENAMETOOLONG;
}

static int read_child_mem(struct sup *s, struct req *q, __u64 addr, void *buf, size_t len)
{
	ssize_t n;
	int err;

	if (!addr || addr >= (1ULL << 62))
		return -EFAULT;
	n = vm_read(s, q, addr, buf, len);
	if (n == -ENOSYS) {
		err = need_mem(s, q);
		if (err)
			return err;
		n = pread(q->memfd, buf, len, (off_t)addr);
	}
	if (n != (ssize_t)len)
		return -EFAULT;
	return id_valid(s, q) ? 0 : -ESRCH;
}

/*
 * Write LEN bytes of BUF at ADDR in the caller (a result the kernel would
 * have copied out): checked with ID_VALID first, so that a tid reused by
 * another process is never written to.
 */
static int write_child_mem(struct sup *s, struct req *q, __u64 addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;
	int err;

	if (!addr || addr >= (1ULL << 62))
		return -EFAULT;
	if (!id_valid(s, q))
		return -ESRCH;
	n = process_vm_writev((pid_t)q->n->pid, &local, 1, &remote, 1, 0);
	if (n < 0 && as_tracer(s)) {
		n = process_vm_writev((pid_t)q->n->pid, &local, 1, &remote, 1, 0);
		end_tracer(s);
	}
	if (n < 0 && errno != EFAULT) {
		err = need_mem(s, q);
		if (err)
			return err;
		n = pwrite(q->memfd, buf, len, (off_t)addr);
	}
	return n == (ssize_t)len ? 0 : -EFAULT;
}

static void write_child_u32(struct sup *s, struct req *q, __u64 addr, __u32 v, int *err)
{
	int r = write_child_mem(s, q, addr, &v, sizeof(v));

	if (r && !*err)
		*err = r;
}

/*
 * Send SIG to the calling thread, as the kernel does for a call it made
 * itself (SIGPIPE for a send on a closed connection without MSG_NOSIGNAL).
 * Its tid cannot name another task while its notification is pending.
 */
static void signal_caller(struct sup *s, const struct req *q, int sig)
{
	if (!q->have_status || !id_valid(s, q))
		return;
	if (syscall(SYS_tgkill, q->cs.tgid, (pid_t)q->n->pid, sig) < 0 && as_tracer(s)) {
		syscall(SYS_tgkill, q->cs.tgid, (pid_t)q->n->pid, sig);
		end_tracer(s);
	}
}

/* A duplicate of the caller's fd FD (pidfd_getfd: the very same file). */
static int child_fd(struct sup *s, struct req *q, int fd)
{
	int err = need_status(s, q), dup;

	if (err)
		return err;
	if (q->pidfd < 0) {
		q->pidfd = (int)syscall(SYS_pidfd_open, q->cs.tgid, 0);
		if (q->pidfd < 0)
			return -errno;
		/* The tgid cannot be reused while one of its threads waits on us. */
		if (!id_valid(s, q))
			return -ESRCH;
	}
	dup = (int)syscall(SYS_pidfd_getfd, q->pidfd, fd, 0);
	if (dup < 0 && as_tracer(s)) {
		dup = (int)syscall(SYS_pidfd_getfd, q->pidfd, fd, 0);
		end_tracer(s);
	}
	return dup < 0 ? -errno : dup;
}

/*
 * The absolute path the caller means by DIRFD + PATH, normalized and with
 * /proc/self resolved as the caller.  The base directory's path is the text
 * of /proc/TID/cwd (or fd/N), accepted only if it still names the inode
 * that the magic link itself opens: a directory renamed or removed under us
 * gives ENOENT rather than a wrong answer.
 */
static int child_abs_path(struct sup *s, struct req *q, int dirfd, const char *path, char **out)
{
	char base[PATH_MAX + 1], link[32];
	_cleanup_free_ char *abs = NULL;
	int err;

	/* the caller's credentials, unless the sandbox has only ours */
	if (!s->p->same_creds || path[0] != '/') {
		err = need_status(s, q);
		if (err)
			return err;
	}
	if (path[0] != '/') {
		_cleanup_close_ int bfd = -1;
		struct stat a, b;
		ssize_t n;

		if (dirfd == AT_FDCWD)
			snprintf(link, sizeof(link), "cwd");
		else if (dirfd >= 0)
			snprintf(link, sizeof(link), "fd/%d", dirfd);
		else
			return -EBADF;
		bfd = caller_openat(s, q, link, O_PATH);
		if (bfd < 0)
			return errno == ENOENT ? -EBADF : -errno;
		if (fstat(bfd, &a) < 0)
			return -errno;
		if (!S_ISDIR(a.st_mode))
			return -ENOTDIR;
		n = caller_readlinkat(s, q, link, base, sizeof(base) - 1);
		if (n < 0)
			return -errno;
		if ((size_t)n >= sizeof(base) - 1)
			return -ENAMETOOLONG;
		base[n] = '\0';
		if (base[0] != '/' || sandbox_path(s, base) < 0)
			return -ENOENT;
		closep(&bfd);
		bfd = open_as_sandbox(s, base, O_PATH);
		if (bfd < 0 || fstat(bfd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			return -ENOENT;
		if (!id_valid(s, q))
			return -ESRCH;
	}
	abs = path_join_normalize(path[0] == '/' ? "/" : base, path);
	/* /proc/self is resolved as the caller's pid by canonicalize() */
	if (strlen(abs) >= PATH_MAX)
		return -ENAMETOOLONG;
	*out = steal_pointer(&abs);
	return 0;
}

/* -------------------------------------------------------------------- */
/* Acting on the caller's behalf                                         */
/* -------------------------------------------------------------------- */

static const char *rel_to(const char *abs, const char *root)
{
	const char *r = abs + (strcmp(root, "/") ? strlen(root) : 0);

	while (*r == '/')
		r++;
	return *r ? r : ".";
}

#define MAX_LINKS 40

/* "/proc/self" and "/proc/thread-self" of the caller, in the sandbox's /proc
 * (NULL when the caller has no pid there: nothing is "self"). */
static const char *proc_self_of(const struct req *q, const char *cand, char *buf, size_t len)
{
	if (!q->cs.ns_tgid || !q->cs.ns_tid)
		return NULL;
	if (!strcmp(cand, "/proc/self"))
		snprintf(buf, len, "/proc/%d", (int)q->cs.ns_tgid);
	else if (!strcmp(cand, "/proc/thread-self"))
		snprintf(buf, len, "/proc/%d/task/%d", (int)q->cs.ns_tgid, (int)q->cs.ns_tid);
	else
		return NULL;
	return buf;
}

static int own_fd_link(const struct req *q, const char *abs);

/*
 * ABS (absolute, normalized) with every symlink resolved as the kernel would
 * resolve it for the caller, in the sandbox's root: each component is
 * looked up without following (O_PATH|O_NOFOLLOW, RESOLVE_IN_ROOT and
 * RESOLVE_NO_SYMLINKS), a symlink's text is spliced in, at most 40 of them.
 * The last component is followed only with FOLLOW.  /proc/self and
 * /proc/thread-self become the caller's pid; the caller's own
 * /proc/PID/fd/N as last component is left for reopen_child_fd().  At the
 * first component that does not exist, the rest is kept as it is (the open
 * then fails or creates it).  The result is only a name: whatever is opened
 * by it is checked again by where it really is.
 */
static int canonicalize_fd(struct sup *s, struct req *q, const char *abs, bool follow, char **out,
			   int *fdp)
{
	/* LEFT holds what is still to resolve, from NEXT on; DONE is resolved */
	_cleanup_free_ char *left = xstrdup(abs), *done = xstrdup("");
	char *next = left;
	char target[PATH_MAX], cand[PATH_MAX + NAME_MAX + 2], self[64];
	int links = 0;

	if (fdp)
		*fdp = -1;

	/*
	 * Most paths hold no symlink, and one lookup that refuses them all says
	 * so: only ELOOP needs the walk below (an error at a missing or
	 * unsearchable component leaves the path as it is there too).  Not in
	 * /proc, whose "self" must mean the caller.
	 */
	if (path_is_beneath(abs, "/proc"))
		(void)need_status(s, q); /* "self" is the caller's pid (or nothing) */
	else {
		struct open_how how = { .flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
						   RESOLVE_NO_MAGICLINKS };
		int fd = (int)sys_openat2(s->root, abs, &how);

		if (fd >= 0 && fdp)
			*fdp = fd; /* that very file, for a caller that looks at it */
		else if (fd >= 0)
			close(fd);
		if (fd >= 0 || errno != ELOOP) {
			*out = xstrdup(abs);
			return 0;
		}
	}

	for (;;) {
		struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };
		_cleanup_close_ int fd = -1;
		char *comp = next, *rest;
		const char *proc;
		struct stat st;
		ssize_t n;

		while (*comp == '/')
			comp++;
		if (!*comp)
			break;
		rest = strchr(comp, '/');
		if (rest)
			*rest++ = '\0';
		else
			rest = comp + strlen(comp);
		while (*rest == '/')
			rest++;
		if (!strcmp(comp, ".")) {
			next = rest;
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *slash = strrchr(done, '/');

			if (slash)
				*slash = '\0';
			next = rest;
			continue;
		}
		if ((size_t)snprintf(cand, sizeof(cand), "%s/%s", done, comp) >= PATH_MAX)
			return -ENAMETOOLONG;
		/* a symlink led into /proc: "self" is the caller there too */
		if (!q->have_status && path_is_beneath(cand, "/proc"))
			(void)need_status(s, q);
		proc = proc_self_of(q, cand, self, sizeof(self));
		if (proc) {
			free(done);
			done = xstrdup(proc);
			next = rest;
			continue;
		}
		if (!*rest && (!follow || own_fd_link(q, cand) >= 0)) {
			free(done);
			done = xstrdup(cand);
			break;
		}
		fd = (int)sys_openat2(s->root, cand, &how);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode)) {
			/* not a symlink, or nothing more to learn here */
			_cleanup_free_ char *joined = xasprintf(
				"%s%s%s", cand, fd < 0 && *rest ? "/" : "", fd < 0 ? rest : "");

			free(done);
			done = steal_pointer(&joined);
			if (fd < 0)
				break;
			next = rest;
			continue;
		}
		if (++links > MAX_LINKS)
			return -ELOOP;
		n = readlinkat(fd, "", target, sizeof(target) - 1);
		if (n <= 0)
			return n < 0 ? -errno : -ENOENT;
		target[n] = '\0';
		if (!*rest && target[0] != '/' && strchr(target, ':') &&
		    (!strchr(target, '/') || strchr(target, ':') < strchr(target, '/'))) {
			/* "user:[4026531837]", "pipe:[7]": a magic link, no path */
			free(done);
			done = xstrdup(cand);
			break;
		}
		{
			char *spliced = xasprintf("%s/%s", target, rest);

			free(left);
			left = next = spliced;
		}
		if (target[0] == '/')
			done[0] = '\0';
	}
	*out = *done ? steal_pointer(&done) : xstrdup("/");
	if (strlen(*out) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* The same, when nothing is looked at through it. */
static int canonicalize(struct sup *s, struct req *q, const char *abs, bool follow, char **out)
{
	return canonicalize_fd(s, q, abs, follow, out, NULL);
}

/*
 * REAL does not exist in the sandbox.  A denied path that does not exist
 * fails with ENOENT, as under Landlock (whose checks come after the lookup):
 * existence is not a secret the policy keeps, contents are.
 */
static bool not_there(const struct sup *s, const char *real)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	int fd = (int)sys_openat2(s->root, real, &how);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ENOENT || errno == ENOTDIR;
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

static int need_status(struct sup *s, struct req *q);

/* The caller as the sandbox sees it, for events (read only if wanted). */
static pid_t event_pid(struct sup *s, struct req *q)
{
	if (!q->have_status && s->p->hooks)
		(void)need_status(s, q);
	return q->have_status ? q->cs.ns_tgid : 0;
}

static const char *syscall_name(long nr)
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

static void note_path(struct req *q, const char *real, enum unotify_access access)
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
static bool ask_decider(struct sup *s, const char *key, const struct unotify_event *ev)
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
static const struct sup_root *allowed(struct sup *s, struct req *q, const char *real,
				      enum unotify_access access, bool primary)
{
	const struct sup_root *root = find_root(s, real, access);
	char key[PATH_MAX + 16];

	if (primary)
		note_path(q, real, access);
	if (root && root->ask && !(q->asked && !strcmp(q->asked, real))) {
		struct unotify_event ev = { .syscall = syscall_name((long)q->n->data.nr),
					    .pid = event_pid(s, q),
					    .access = access,
					    .path = real };

		snprintf(key, sizeof(key), "%d:%s", (int)access, real);
		if (!ask_decider(s, key, &ev))
			root = NULL;
		else if (!q->asked)
			q->asked = xstrdup(real);
	}
	if (!root) {
		q->by_policy = true;
		(void)event_pid(s, q); /* for the audit line */
	}
	return root;
}

/*
 * Open ABS (as the caller names it) for ACCESS with FLAGS (the supervisor's
 * O_CLOEXEC included) and MODE: resolve its symlinks as the caller would
 * (canonicalize), find the root allowing that path, open it beneath the
 * root with no symlink allowed on the way (one appearing now is a race:
 * ELOOP), and check where the fd really is.  O_CREAT opens the parent first
 * (checked for write) and creates the last component, so nothing is created
 * before the check.  Returns the fd or -errno.
 */
static bool follows_last(__u64 flags)
{
	return !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
}

/*
 * CANON is a directory on the way to a root that no root holds and nothing
 * denies: what stat and readlink may look at besides the roots.
 */
static bool above_a_root(struct sup *s, struct req *q, const char *canon)
{
	return !find_root(s, canon, UNOTIFY_LOOK) && on_the_way(s, canon) &&
	       check_real(s, q, canon, UNOTIFY_LOOK) == 0;
}

/*
 * openat2() for the caller without ever waiting on someone else.  A FIFO
 * opened without O_NONBLOCK waits for its other end (for ever, if nobody
 * comes), and so do some devices and a file whose lease must be broken: a
 * serving thread must not wait with it.  So the file is opened with
 * O_NONBLOCK added, and the flag is taken off it again wherever the open
 * the caller asked for would have returned at once: a regular file, a
 * directory, a device, a FIFO opened for writing that has a reader (or for
 * reading and writing).  Where it would have waited, *WAIT is set and the
 * fd returned is the file to open in a job (see "Jobs"): a FIFO opened for
 * reading (the non-blocking reader is held, as the caller's waiting open
 * would be, until the job's blocking open returns), or an O_PATH fd of a
 * FIFO without a reader (ENXIO) or a file with a lease (EAGAIN).  WAIT
 * NULL: open as asked (O_PATH opens, which never wait).
 */
static int open_nb(int dirfd, const char *path, struct open_how *how, bool *wait)
{
	const __u64 want = how->flags;
	struct stat st;
	int fd, err, fl;

	if (wait)
		*wait = false;
	if (!wait || (want & (O_PATH | O_NONBLOCK)))
		return (int)sys_openat2(dirfd, path, how);
	how->flags = want | O_NONBLOCK;
	fd = (int)sys_openat2(dirfd, path, how);
	how->flags = want;
	if (fd < 0) {
		struct open_how ph = { .flags = O_PATH | O_CLOEXEC | (want & O_DIRECTORY),
				       .resolve = how->resolve };

		err = errno;
		if (err != ENXIO && err != EAGAIN)
			return -1;
		/* the file itself, to be opened blocking in a job */
		fd = (int)sys_openat2(dirfd, path, &ph);
		if (fd < 0 || fstat(fd, &st) < 0 ||
		    (!S_ISFIFO(st.st_mode) && !(err == EAGAIN && !S_ISDIR(st.st_mode)))) {
			if (fd >= 0)
				close(fd);
			errno = err;
			return -1;
		}
		*wait = true;
		return fd;
	}
	if (fstat(fd, &st) < 0)
		goto fail;
	if (S_ISFIFO(st.st_mode) && (want & O_ACCMODE) == O_RDONLY) {
		*wait = true;
		return fd;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* open_beneath() of a path canonicalize() gave. */
static int open_canon(struct sup *s, struct req *q, const char *canon, enum unotify_access access,
		      __u64 flags, __u64 mode, bool primary, bool *wait)
{
	struct open_how how = { .flags = flags,
				.mode = mode,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
					   RESOLVE_NO_SYMLINKS };
	char real[PATH_MAX + 32];
	_cleanup_close_ int fd = -1, pfd = -1;
	const struct sup_root *root;
	int err;

	if (wait)
		*wait = false;
	if (access == UNOTIFY_LOOK && above_a_root(s, q, canon)) {
		if (primary)
			note_path(q, canon, access);
		/* a directory above a root: looked at from the sandbox's "/" */
		how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
		how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
		fd = (int)sys_openat2(s->root, canon, &how);
		if (fd < 0)
			return -errno;
		goto opened;
	}
	root = allowed(s, q, canon, access, primary);
	if (!root)
		return !(flags & O_CREAT) && not_there(s, canon) ? -ENOENT : -EACCES;
	if (root->fd < 0)
		return -ENOENT;
	if (root->name) {
		/* a file root: that file, nothing beneath it */
		if (strcmp(canon, root->real))
			return -ENOTDIR;
		fd = open_nb(root->fd, root->name, &how, wait);
	} else if ((flags & O_CREAT) && strcmp(canon, root->real)) {
		_cleanup_free_ char *parent = xstrdup(canon);
		char *slash = strrchr(parent, '/');
		const char *last = strrchr(canon, '/') + 1;
		struct open_how phow = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
					 .resolve = how.resolve };

		*slash = '\0';
		if (!*parent)
			strcpy(parent, "/");
		if (!path_is_beneath(parent, root->real))
			return -EACCES; /* creating a root itself */
		pfd = (int)sys_openat2(root->fd, rel_to(parent, root->real), &phow);
		if (pfd < 0)
			return errno == EXDEV ? -EACCES : -errno;
		err = fd_real(s, pfd, real, sizeof(real));
		if (err)
			return err;
		err = check_real(s, q, real, UNOTIFY_WRITE);
		if (err)
			return err;
		fd = open_nb(pfd, last, &how, wait);
	} else {
		fd = open_nb(root->fd, rel_to(canon, root->real), &how, wait);
	}
	if (fd < 0)
		return errno == EXDEV ? -EACCES : -errno;
opened:
	err = fd_real(s, fd, real, sizeof(real));
	if (err)
		return err;
	if ((flags & O_TMPFILE) != O_TMPFILE) {
		err = check_real(s, q, real, access);
		if (err)
			return err;
	}
	return take_fd(&fd);
}

static int open_beneath(struct sup *s, struct req *q, const char *abs, enum unotify_access access,
			__u64 flags, __u64 mode)
{
	_cleanup_free_ char *canon = NULL;
	int err = canonicalize(s, q, abs, follows_last(flags), &canon);

	return err ? err : open_canon(s, q, canon, access, flags, mode, true, NULL);
}

/* The same for a directory the request works in, not on (not recorded). */
static int open_parent(struct sup *s, struct req *q, const char *abs)
{
	_cleanup_free_ char *canon = NULL;
	int err = canonicalize(s, q, abs, true, &canon);

	return err ? err
		   : open_canon(s, q, canon, UNOTIFY_WRITE, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
				false, NULL);
}

/*
 * A send performed for the caller: our copies of everything the kernel
 * would have read from it (the socket, the destination, the data, the fds
 * of SCM_RIGHTS), ready for sendmsg() on our side (send_op_send()).
 */
struct send_op {
	int sock;      /* our copy of the caller's socket */
	int via;       /* an O_PATH fd of the unix socket file named as destination, or -1 */
	int flags;     /* the caller's MSG_* flags */
	bool blocking; /* the caller waits for room (no MSG_DONTWAIT, no O_NONBLOCK) */
	struct sockaddr_storage name; /* the destination (NAMELEN 0: none) */
	socklen_t namelen;
	char *data; /* the data, gathered into one buffer */
	size_t len;
	char *control; /* the control messages, with our fds in SCM_RIGHTS */
	size_t controllen;
	int *fds; /* those fds */
	int nfds;
	__u64 len_addr; /* sendmmsg: where the caller's msg_len goes, or 0 */
};

enum job_kind { JOB_OPEN = 1, JOB_CONNECT, JOB_SEND };
enum { JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

/*
 * A step that may wait for as long as someone else decides, performed in a
 * thread of its own so that the serving thread goes on serving ("Jobs",
 * below).  The handler fills in what to do; the serving thread moves the
 * request in and answers the caller once the job is done.
 */
struct job {
	struct job *next;
	pthread_t thread;
	enum job_kind kind;
	atomic_int state;
	int done_fd;		      /* our own copy of the serving thread's eventfd */
	struct seccomp_notif n;	      /* the notification: id, caller's tid, syscall */
	struct req q;		      /* the request, moved here (q.n is &n) */
	__u32 newfd_flags;	      /* JOB_OPEN: O_CLOEXEC for the caller's fd */
	int restart;		      /* answer -restart for EINTR: a signal waits for the caller */
	bool interrupt;		      /* interrupt it (again) at the next tick */
	int fd;			      /* JOB_OPEN: the file to open; JOB_CONNECT: our socket */
	__u64 flags;		      /* JOB_OPEN: the open's flags */
	bool reader;		      /* JOB_OPEN: FD is a FIFO's non-blocking reader, held */
	bool use_reader;	      /* ... which has seen a writer: it is the answer */
	int via;		      /* JOB_CONNECT: as in struct send_op */
	struct sockaddr_storage addr; /* JOB_CONNECT: where to */
	socklen_t addrlen;
	struct send_op op; /* JOB_SEND */
	long ret;	   /* what came of it: >= 0 (an fd for JOB_OPEN) or -errno */
};

struct answer {
	__s64 val;
	bool cont;  /* SECCOMP_USER_NOTIF_FLAG_CONTINUE: O_PATH opens, execve */
	int inject; /* >= 0: send this fd with ADDFD_FLAG_SEND */
	__u32 newfd_flags;
	struct job *job; /* not answered now: a job will (see "Jobs") */
};

static struct job *job_new(enum job_kind kind)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	j->fd = j->via = -1;
	j->op.sock = j->op.via = -1;
	atomic_init(&j->state, JOB_RUNNING);
	return j;
}

static void send_op_release(struct send_op *op)
{
	closep(&op->sock);
	closep(&op->via);
	for (int i = 0; i < op->nfds; i++)
		close(op->fds[i]);
	free(op->fds);
	free(op->data);
	free(op->control);
	op->fds = NULL;
	op->data = op->control = NULL;
	op->nfds = 0;
}

/* sendmsg() of OP on our copy of the socket, with EXTRA flags. */
static ssize_t send_op_send(const struct send_op *op, int extra)
{
	struct iovec iov = { op->data, op->len };
	struct msghdr mh = { .msg_name = op->namelen ? (void *)&op->name : NULL,
			     .msg_namelen = op->namelen,
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = op->controllen ? op->control : NULL,
			     .msg_controllen = op->controllen };

	return sendmsg(op->sock, &mh, op->flags | MSG_NOSIGNAL | extra);
}

/*
 * The caller's open of the file at FD (from open_nb(), which set *wait),
 * with FLAGS, is finished by a job: it opens /proc/self/fd/FD blocking.
 * FD stays open until then.  When it is a FIFO's non-blocking reader, that
 * is the reader the caller's waiting open would be, and the serving thread
 * watches it too: a writer that came (and wrote, or went) before the job's
 * open began waiting is one the job would not see, but the reader shows
 * it (POLLIN, POLLHUP), and then that reader is the answer.
 */
static void open_in_job(struct answer *a, int fd, __u64 flags)
{
	struct job *j = job_new(JOB_OPEN);
	int fl = fcntl(fd, F_GETFL);

	j->fd = fd;
	j->flags = flags;
	j->reader = fl >= 0 && !(fl & O_PATH);
	j->newfd_flags = a->newfd_flags;
	a->job = j;
}

#define VALID_OPEN_FLAGS                                                                       \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | \
	 O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH |  \
	 O_TMPFILE | O_SYNC)

/* N when ABS is the caller's own /proc/PID/fd/N (or task/TID/fd/N), else -1. */
static int own_fd_link(const struct req *q, const char *abs)
{
	char own[64];
	size_t n;
	char *end;
	long fd;

	snprintf(own, sizeof(own), "/proc/%d/fd/", (int)q->cs.ns_tgid);
	n = strlen(own);
	if (strncmp(abs, own, n)) {
		snprintf(own, sizeof(own), "/proc/%d/task/%d/fd/", (int)q->cs.ns_tgid,
			 (int)q->cs.ns_tid);
		n = strlen(own);
		if (strncmp(abs, own, n))
			return -1;
	}
	fd = strtol(abs + n, &end, 10);
	if (end == abs + n || *end || fd < 0 || fd > INT_MAX)
		return -1;
	return (int)fd;
}

/*
 * open("/proc/self/fd/N"): the kernel would reopen the file the caller's fd
 * N refers to, wherever it is.  We do the same with our duplicate of that fd
 * (pidfd_getfd), once the file's real path passes the policy for ACCESS.  A
 * pipe or socket (no path) is the caller's own already: reopened as asked.
 */
static int reopen_child_fd(struct sup *s, struct req *q, int n, enum unotify_access access,
			   __u64 flags, struct answer *a)
{
	char real[PATH_MAX + 32], link[64];
	_cleanup_close_ int dup = child_fd(s, q, n);
	int err, fd;

	if (dup < 0)
		return dup;
	err = fd_path(dup, real, sizeof(real));
	if (err)
		return err;
	if (real[0] == '/') {
		err = sandbox_path(s, real);
		if (!err)
			err = check_real(s, q, real, access);
		if (err)
			return err;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dup);
	{
		/* a pipe or FIFO reopened waits for its other end, like any */
		struct open_how how = { .flags = flags & ~(__u64)(O_CREAT | O_EXCL | O_TMPFILE) };
		bool wait;

		fd = open_nb(AT_FDCWD, link, &how, &wait);
		if (fd < 0)
			return -errno;
		if (wait)
			open_in_job(a, fd, how.flags);
		else
			a->inject = fd;
	}
	return 0;
}

/*
 * The caller's own /proc/PID/ns/NAME: a magic link to a namespace, with no
 * path behind it.  Opened through our /proc/TID of the caller, if the policy
 * lets it read /proc.  -ENOENT when CANON is not such a link.
 */
static int own_ns_link(struct sup *s, struct req *q, const char *canon, enum unotify_access access,
		       __u64 flags)
{
	char own[64];
	const char *name;
	int fd;

	snprintf(own, sizeof(own), "/proc/%d/ns/", (int)q->cs.ns_tgid);
	if (!q->cs.ns_tgid || strncmp(canon, own, strlen(own)))
		return -ENOENT;
	name = canon + strlen(own);
	if (!*name || strchr(name, '/'))
		return -ENOENT;
	if (!allowed(s, q, canon, access, true))
		return -EACCES;
	fd = caller_openat(s, q, canon + strlen(own) - 3, (int)(flags & ~(__u64)O_CREAT));
	return fd < 0 ? -errno : fd;
}

/*
 * O_PATH: SECCOMP_IOCTL_NOTIF_ADDFD cannot inject an O_PATH file (EBADF), so
 * this is the one open the kernel performs itself (CONTINUE), after the path
 * passed the check (the caller's own fd and namespace links excepted).  A
 * path swapped meanwhile gets the caller an O_PATH fd of something else, and
 * that grants nothing: it cannot be read, written or mapped, and every use
 * that reaches content (openat relative to it, a reopen or link through
 * /proc/self/fd, execveat) is itself trapped and judged by where the fd
 * really is.  What is left is fstat of it, which Landlock leaves open too.
 */
static int path_only(struct sup *s, struct req *q, const char *canon, __u64 flags, struct answer *a)
{
	char own[64];

	snprintf(own, sizeof(own), "/proc/%d/ns/", (int)q->cs.ns_tgid);
	if (own_fd_link(q, canon) < 0 && strncmp(canon, own, strlen(own))) {
		int fd = open_canon(s, q, canon, UNOTIFY_LOOK, flags, 0, true, NULL);

		if (fd < 0)
			return fd;
		close(fd);
	}
	a->cont = true;
	return 0;
}

static int do_open(struct sup *s, struct req *q, int dirfd, __u64 path_addr, __u64 flags,
		   __u64 mode, struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL, *canon = NULL;
	enum unotify_access access = UNOTIFY_READ;
	bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
	int err, fd;

	err = read_child_string(s, q, path_addr, path);
	if (!err)
		err = child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	flags &= VALID_OPEN_FLAGS;
	if (!(flags & O_PATH) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) || creates))
		access = UNOTIFY_WRITE;
	a->newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0;
	/* The supervisor's own copy: close-on-exec, never our controlling tty.
	 * openat2 refuses O_PATH with anything but these (open ignores them). */
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW;
	else
		flags |= O_NOCTTY | O_LARGEFILE;
	flags |= O_CLOEXEC;
	if (creates) {
		err = need_status(s, q); /* its umask */
		if (err)
			return err;
	}
	mode = creates ? (mode & 07777 & ~(__u64)q->cs.umask) : 0;
	err = canonicalize(s, q, abs, follows_last(flags), &canon);
	if (err)
		return err;
	if (flags & O_PATH)
		return path_only(s, q, canon, flags, a);
	fd = own_fd_link(q, canon);
	if (fd >= 0)
		return reopen_child_fd(s, q, fd, access, flags, a);
	fd = own_ns_link(s, q, canon, access, flags);
	if (fd == -ENOENT) {
		bool wait;

		fd = open_canon(s, q, canon, access, flags, mode, true, &wait);
		if (fd >= 0 && wait) {
			open_in_job(a, fd, flags & ~(__u64)(O_CREAT | O_EXCL | O_TMPFILE));
			return 0;
		}
	}
	if (fd < 0)
		return fd;
	a->inject = fd;
	return 0;
}

/*
 * The stat family and readlink: performed by the supervisor on what it
 * checked, and the result written into the caller (struct stat, struct
 * statx, the link's text), as the kernel would copy it out.  Letting the
 * kernel do it after the check (CONTINUE) would let another thread of the
 * caller swap the path in between and learn the metadata or the link text
 * of a path outside the policy.  What may be looked at: the roots, and the
 * directories on the way to one (realpath() of an allowed path walks them);
 * the caller's own fds (fstat, /proc/self/fd/N), namespaces and, through
 * /proc, what the policy grants of it.
 */
/*
 * CANON (allowed, in /proc) ends at a magic link of another process whose
 * text is no path (an fd of a pipe, a socket): followed as the kernel
 * follows it, with our credentials (which pass its ptrace check only as
 * the caller's would), an O_PATH fd of what it leads to.  Where that has a
 * path, the path must pass the policy too.
 */
static int proc_magic(struct sup *s, struct req *q, const char *canon)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	_cleanup_close_ int fd = (int)sys_openat2(s->root, canon, &how);
	char real[PATH_MAX + 32];
	int err;

	if (fd < 0)
		return -errno;
	err = fd_path(fd, real, sizeof(real));
	if (err)
		return err;
	if (real[0] == '/') {
		err = sandbox_path(s, real);
		if (!err)
			err = check_real(s, q, real, UNOTIFY_LOOK);
		if (err)
			return err;
	}
	return take_fd(&fd);
}

struct look {
	enum { LOOK_STAT, LOOK_STATX, LOOK_READLINK } kind;
	__u64 buf;	   /* the caller's struct stat, struct statx or text buffer */
	__u64 size;	   /* LOOK_READLINK: its size */
	unsigned int mask; /* LOOK_STATX: what is wanted */
	int sync;	   /* LOOK_STATX: AT_STATX_* */
	bool empty;	   /* the path was empty: the call is about DIRFD itself */
};

#define MOS_PROC_SUPER_MAGIC 0x9fa0

/* Link text TEXT read through FD as the sandbox would read it: a /proc
 * magic link's text is written from our root, the sandbox's is cut off. */
static void sandbox_link_text(const struct sup *s, int fd, char *text)
{
	struct statfs sf;

	if (text[0] == '/' && fstatfs(fd, &sf) == 0 && sf.f_type == MOS_PROC_SUPER_MAGIC) {
		char *copy = xstrdup(text);

		if (sandbox_path(s, copy) == 0)
			strcpy(text, copy);
		free(copy);
	}
}

/* Write TEXT (a link's, LEN bytes) as readlink's answer. */
static int look_text(struct sup *s, struct req *q, const char *text, const struct look *l,
		     struct answer *a)
{
	size_t n = strlen(text);
	int err;

	if (n > l->size)
		n = (size_t)l->size;
	err = write_child_mem(s, q, l->buf, text, n);
	if (err)
		return err;
	a->val = (__s64)n;
	return 0;
}

/* The answer for L from FD: the file itself (O_PATH), or the link. */
static int look_answer(struct sup *s, struct req *q, int fd, const struct look *l, struct answer *a)
{
	struct stat st;
	struct statx stx;
	char text[PATH_MAX + 32];
	ssize_t n;
	int err;

	switch (l->kind) {
	case LOOK_STAT:
		if (fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
			return -errno;
		err = write_child_mem(s, q, l->buf, &st, sizeof(st));
		break;
	case LOOK_STATX:
		if (statx(fd, "", AT_EMPTY_PATH | l->sync, l->mask, &stx) < 0)
			return -errno;
		err = write_child_mem(s, q, l->buf, &stx, sizeof(stx));
		break;
	default:
		n = readlinkat(fd, "", text, sizeof(text) - 1);
		if (n < 0 && errno == ENOENT && !l->empty)
			return -EINVAL; /* not a link: what readlink of its path says */
		if (n < 0)
			return -errno;
		text[n] = '\0';
		sandbox_link_text(s, fd, text);
		return look_text(s, q, text, l, a);
	}
	if (err)
		return err;
	a->val = 0;
	return 0;
}

/*
 * FD is our copy of one of the caller's fds (or of its cwd), about to be
 * looked at.  An O_PATH fd may be of anything: the kernel opened it after
 * our check (path_only()) and a swapped path would have given it something
 * the policy does not grant.  So an O_PATH fd (and a cwd, which fchdir() to
 * such an fd moves anywhere) is looked at only where it is allowed; any
 * other fd was opened by the supervisor (or inherited), and the caller may
 * look at what it holds.
 */
static int may_look_at(struct sup *s, struct req *q, int fd, bool is_cwd)
{
	char real[PATH_MAX + 32];
	int fl = fcntl(fd, F_GETFL), err;

	if (fl < 0)
		return -errno;
	if (!is_cwd && !(fl & O_PATH))
		return 0;
	err = fd_path(fd, real, sizeof(real));
	if (err || real[0] != '/')
		return err;
	err = sandbox_path(s, real);
	if (!err && !above_a_root(s, q, real))
		err = check_real(s, q, real, UNOTIFY_LOOK);
	return err;
}

/* An O_PATH fd of what the caller's DIRFD names (AT_FDCWD: its cwd). */
static int caller_dir_fd(struct sup *s, struct req *q, int dirfd)
{
	int err, fd;

	if (dirfd != AT_FDCWD)
		return child_fd(s, q, dirfd);
	err = need_proc(s, q);
	if (err)
		return err;
	fd = caller_openat(s, q, "cwd", O_PATH);
	if (fd < 0)
		return -errno;
	return id_valid(s, q) ? fd : (close(fd), -ESRCH);
}

/* "/proc/self" or "/proc/thread-self" not followed: the link itself. */
static int look_proc_self(struct sup *s, struct req *q, const char *abs, const struct look *l,
			  struct answer *a)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };
	_cleanup_close_ int fd = -1;
	char text[64];
	int err = need_status(s, q);

	if (err)
		return err;
	if (!allowed(s, q, abs, UNOTIFY_LOOK, true))
		return -EACCES;
	if (!q->cs.ns_tgid)
		return -ENOENT; /* no pid in the sandbox's /proc: no "self" */
	if (l->kind == LOOK_READLINK) {
		if (!strcmp(abs, "/proc/self"))
			snprintf(text, sizeof(text), "%d", (int)q->cs.ns_tgid);
		else
			snprintf(text, sizeof(text), "%d/task/%d", (int)q->cs.ns_tgid,
				 (int)q->cs.ns_tid);
		return look_text(s, q, text, l, a);
	}
	fd = (int)sys_openat2(s->root, abs, &how);
	if (fd < 0)
		return -errno;
	return look_answer(s, q, fd, l, a);
}

/*
 * The caller's own fd N as /proc/PID/fd/N (CANON): followed, the file
 * itself (our copy of the fd); not followed, the link (its text is where
 * the fd is; lstat looks at the link in the sandbox's /proc).
 */
static int look_own_fd(struct sup *s, struct req *q, const char *canon, int n, bool nofollow,
		       const struct look *l, struct answer *a)
{
	_cleanup_close_ int dup = child_fd(s, q, n), fd = -1;
	char text[PATH_MAX + 32];
	int err;

	if (dup < 0)
		return dup == -EBADF ? -ENOENT : dup;
	note_path(q, canon, UNOTIFY_LOOK);
	err = may_look_at(s, q, dup, false);
	if (err)
		return err;
	if (!nofollow)
		return look_answer(s, q, dup, l, a);
	if (l->kind == LOOK_READLINK) {
		err = fd_path(dup, text, sizeof(text));
		if (err)
			return err;
		if (text[0] == '/')
			(void)sandbox_path(s, text);
		return look_text(s, q, text, l, a);
	}
	{
		struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };

		fd = (int)sys_openat2(s->root, canon, &how);
		if (fd < 0)
			return -errno;
	}
	return look_answer(s, q, fd, l, a);
}

/* CANON is the caller's own /proc/PID/ns/NAME: through our /proc/TID. */
static int look_own_ns(struct sup *s, struct req *q, const char *canon, bool nofollow,
		       const struct look *l, struct answer *a)
{
	char own[64], text[128];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(own, sizeof(own), "/proc/%d/ns/", (int)q->cs.ns_tgid);
	if (!q->cs.ns_tgid || strncmp(canon, own, strlen(own)) || !canon[strlen(own)] ||
	    strchr(canon + strlen(own), '/'))
		return -ENOENT;
	if (!allowed(s, q, canon, UNOTIFY_LOOK, true))
		return -EACCES;
	if (need_proc(s, q) < 0)
		return -ESRCH;
	if (l->kind == LOOK_READLINK) {
		n = caller_readlinkat(s, q, canon + strlen(own) - 3, text, sizeof(text) - 1);
		if (n < 0)
			return -errno;
		text[n] = '\0';
		return look_text(s, q, text, l, a);
	}
	fd = caller_openat(s, q, canon + strlen(own) - 3, O_PATH | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -errno;
	return look_answer(s, q, fd, l, a);
}

static int do_look(struct sup *s, struct req *q, int dirfd, __u64 path_addr, bool nofollow,
		   int atflags, struct look *l, struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL, *canon = NULL;
	_cleanup_close_ int fd = -1;
	int err, own;

	if (l->kind == LOOK_READLINK && (l->size == 0 || l->size > INT_MAX))
		return -EINVAL;
	err = read_child_string(s, q, path_addr, path);
	if (err)
		return err;
	if (!path[0]) {
		/* fstat of the caller's own fd (or cwd): no path, nothing to check */
		if (!(atflags & AT_EMPTY_PATH))
			return -ENOENT;
		l->empty = true;
		fd = caller_dir_fd(s, q, dirfd);
		if (fd < 0)
			return fd;
		err = may_look_at(s, q, fd, dirfd == AT_FDCWD);
		return err ? err : look_answer(s, q, fd, l, a);
	}
	err = child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	if (nofollow && (!strcmp(abs, "/proc/self") || !strcmp(abs, "/proc/thread-self")))
		return look_proc_self(s, q, abs, l, a);
	err = canonicalize_fd(s, q, abs, !nofollow, &canon, &fd);
	if (err)
		return err;
	own = own_fd_link(q, canon);
	if (own >= 0)
		return look_own_fd(s, q, canon, own, nofollow, l, a);
	err = look_own_ns(s, q, canon, nofollow, l, a);
	if (err != -ENOENT)
		return err;
	if (above_a_root(s, q, canon)) {
		note_path(q, canon, UNOTIFY_LOOK);
	} else if (!allowed(s, q, canon, UNOTIFY_LOOK, true)) {
		return not_there(s, canon) ? -ENOENT : -EACCES;
	}
	if (fd < 0) {
		/* a path with symlinks (or in /proc): open what it resolved to */
		fd = open_canon(s, q, canon, UNOTIFY_LOOK,
				O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0, false, NULL);
		if (fd == -ELOOP && !nofollow && path_is_beneath(canon, "/proc"))
			fd = proc_magic(s, q, canon);
		if (fd < 0)
			return fd;
	}
	return look_answer(s, q, fd, l, a);
}

/* ---- changing a directory: create, remove, rename, link ---- */

/* Where the caller's DIRFD + path at PATH_ADDR puts a new or removed entry. */
struct entry {
	int pfd; /* O_PATH of the parent directory, beneath a write root */
	char name[NAME_MAX + 1];
	char real[PATH_MAX]; /* the entry's real path: parent's real path + name */
};

/*
 * Resolve the entry's parent as the caller would (its last component is
 * never followed), check that the parent and the entry itself are writable
 * under the policy (a denied path cannot be created, removed or renamed,
 * even when it does not exist yet), and keep the parent open: the change is
 * then made relative to that fd, so nothing resolved after the check can
 * move it elsewhere.
 */
static int entry_open(struct sup *s, struct req *q, int dirfd, __u64 path_addr, struct entry *en)
{
	char path[PATH_MAX], preal[PATH_MAX + 32];
	_cleanup_free_ char *abs = NULL;
	char *slash;
	int err;

	en->pfd = -1;
	err = read_child_string(s, q, path_addr, path);
	if (err)
		return err;
	if (!path[0])
		return -ENOENT;
	err = child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	slash = strrchr(abs, '/');
	if (!slash[1] || !strcmp(slash + 1, ".") || !strcmp(slash + 1, ".."))
		return -EBUSY; /* "/" itself */
	if (strlen(slash + 1) > NAME_MAX)
		return -ENAMETOOLONG;
	snprintf(en->name, sizeof(en->name), "%s", slash + 1);
	*slash = '\0';
	en->pfd = open_parent(s, q, *abs ? abs : "/");
	if (en->pfd < 0)
		return en->pfd;
	err = fd_real(s, en->pfd, preal, sizeof(preal));
	if (err)
		return err;
	if ((size_t)snprintf(en->real, sizeof(en->real), "%s/%s", strcmp(preal, "/") ? preal : "",
			     en->name) >= sizeof(en->real))
		return -ENAMETOOLONG;
	return allowed(s, q, en->real, UNOTIFY_WRITE, true) ? 0 : -EACCES;
}

static int result(struct answer *a, long r)
{
	if (r < 0)
		return -errno;
	a->val = 0;
	return 0;
}

static int do_mkdir(struct sup *s, struct req *q, int dirfd, __u64 path_addr, __u64 mode, bool node,
		    __u64 dev, struct answer *a)
{
	struct entry en;
	int err = need_status(s, q); /* its umask */
	mode_t m;

	en.pfd = -1;
	if (!err)
		err = entry_open(s, q, dirfd, path_addr, &en);

	if (!err) {
		if (node) {
			m = (mode_t)mode & ~(mode_t)07777 ? (mode_t)mode & ~(mode_t)07777 : S_IFREG;
			if (!S_ISREG(m) && !S_ISFIFO(m) && !S_ISSOCK(m))
				err = -EPERM; /* devices: never */
			else
				err = result(a, mknodat(en.pfd, en.name,
							m | ((mode_t)mode & 07777 & ~q->cs.umask),
							(dev_t)dev));
		} else {
			err = result(a,
				     mkdirat(en.pfd, en.name, (mode_t)mode & 07777 & ~q->cs.umask));
		}
	}
	closep(&en.pfd);
	return err;
}

static int do_symlink(struct sup *s, struct req *q, __u64 target_addr, int dirfd, __u64 path_addr,
		      struct answer *a)
{
	char target[PATH_MAX];
	struct entry en = { .pfd = -1 };
	int err = read_child_string(s, q, target_addr, target);

	if (!err)
		err = entry_open(s, q, dirfd, path_addr, &en);
	if (!err)
		err = result(a, symlinkat(target, en.pfd, en.name));
	closep(&en.pfd);
	return err;
}

static int do_unlink(struct sup *s, struct req *q, int dirfd, __u64 path_addr, int flags,
		     struct answer *a)
{
	struct entry en;
	int err = entry_open(s, q, dirfd, path_addr, &en);

	if (!err)
		err = result(a, unlinkat(en.pfd, en.name, flags & AT_REMOVEDIR));
	closep(&en.pfd);
	return err;
}

static int do_rename(struct sup *s, struct req *q, int olddir, __u64 old_addr, int newdir,
		     __u64 new_addr, unsigned int flags, struct answer *a)
{
	struct entry from = { .pfd = -1 }, to = { .pfd = -1 };
	int err = entry_open(s, q, olddir, old_addr, &from);

	if (!err)
		err = entry_open(s, q, newdir, new_addr, &to);
	if (!err)
		err = result(a,
			     syscall(SYS_renameat2, from.pfd, from.name, to.pfd, to.name, flags));
	closep(&from.pfd);
	closep(&to.pfd);
	return err;
}

/*
 * link: the new name must be writable, and so must the file linked (as
 * Landlock's REFER right demands): a file outside the write roots, or
 * denied, cannot gain a name inside them.  Only the caller's own paths:
 * AT_EMPTY_PATH (linking an fd) is refused.
 */
static int do_link(struct sup *s, struct req *q, int olddir, __u64 old_addr, int newdir,
		   __u64 new_addr, int flags, struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int src = -1;
	struct entry to = { .pfd = -1 };
	int err;

	if (flags & ~AT_SYMLINK_FOLLOW)
		return -EACCES;
	err = read_child_string(s, q, old_addr, path);
	if (!err)
		err = child_abs_path(s, q, olddir, path, &abs);
	if (err)
		return err;
	src = open_beneath(s, q, abs, UNOTIFY_WRITE,
			   O_PATH | O_CLOEXEC | ((flags & AT_SYMLINK_FOLLOW) ? 0 : O_NOFOLLOW), 0);
	if (src < 0)
		return src;
	err = entry_open(s, q, newdir, new_addr, &to);
	if (!err) {
		char link[64];

		snprintf(link, sizeof(link), "/proc/self/fd/%d", src);
		err = result(a, linkat(AT_FDCWD, link, to.pfd, to.name, AT_SYMLINK_FOLLOW));
	}
	closep(&to.pfd);
	return err;
}

static int do_truncate(struct sup *s, struct req *q, __u64 path_addr, __u64 len, struct answer *a)
{
	char path[PATH_MAX], link[64];
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int fd = -1, wfd = -1;
	struct stat st;
	int err = read_child_string(s, q, path_addr, path);

	if (!err)
		err = child_abs_path(s, q, AT_FDCWD, path, &abs);
	if (err)
		return err;
	/*
	 * truncate(2) never opens the file: a FIFO (which an O_WRONLY open
	 * would wait on) or a device fails with EINVAL, a directory with
	 * EISDIR.  So the file is looked at first, and only a regular file is
	 * opened (through that very fd) for writing.
	 */
	fd = open_beneath(s, q, abs, UNOTIFY_WRITE, O_PATH | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	wfd = open(link, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (wfd < 0)
		return -errno;
	return result(a, ftruncate(wfd, (off_t)len));
}

/*
 * execve: only the kernel can do it, and it reads the path again.  Allowed
 * when the path is beneath a read root (checked on an O_PATH open, so
 * symlinks count), and then either the sandbox's mounts make anything the
 * policy does not let run unexecutable (exec_by_mounts: mosctl's sandbox),
 * or the caller is the only thread of its process, so that no thread of it
 * can rewrite the buffer between our read and the kernel's.  Without the
 * mounts, memory shared with another process (CLONE_VM, MAP_SHARED) is not
 * covered: see Documentation/supervisor.md.
 */
static int do_exec(struct sup *s, struct req *q, int dirfd, __u64 path_addr, int atflags,
		   struct answer *a)
{
	char path[PATH_MAX];
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int fd = -1;
	int err;

	err = read_child_string(s, q, path_addr, path);
	if (err)
		return err;
	if (!path[0] || (atflags & ~AT_SYMLINK_NOFOLLOW))
		return -EACCES; /* fexecve and friends: not yet */
	err = child_abs_path(s, q, dirfd, path, &abs);
	if (err)
		return err;
	fd = open_beneath(s, q, abs, UNOTIFY_EXEC,
			  O_PATH | O_CLOEXEC | ((atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0),
			  0);
	if (fd < 0)
		return fd;
	q->have_status = false; /* the thread count must be fresh */
	err = need_status(s, q);
	if (err)
		return err;
	if (q->cs.threads != 1 && !s->p->exec_by_mounts)
		return -EACCES;
	a->cont = true;
	return 0;
}

/* The port of an IPv4/IPv6 address and whether it matches rule R. */
static bool net_rule_matches(const struct unotify_net_rule *r, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *in = (const void *)ss;
	const struct sockaddr_in6 *in6 = (const void *)ss;
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint16_t port = ntohs(ss->ss_family == AF_INET ? in->sin_port : in6->sin6_port);
	const uint8_t *a6 = in6->sin6_addr.s6_addr;

	if (r->port && r->port != port)
		return false;
	switch (r->family) {
	case AF_UNSPEC:
		return true;
	case AF_INET:
		if (ss->ss_family == AF_INET)
			return !memcmp(&in->sin_addr, r->addr, 4);
		return !memcmp(a6, v4mapped, 12) && !memcmp(a6 + 12, r->addr, 4);
	case AF_INET6:
		return ss->ss_family == AF_INET6 && !memcmp(a6, r->addr, 16);
	}
	return false;
}

/* Our copy of the caller's sockaddr at ADDR (LEN bytes), if it is IPv4 or
 * IPv6 and long enough for its family. */
static int read_inet_addr(struct sup *s, struct req *q, __u64 addr, __u64 len,
			  struct sockaddr_storage *ss)
{
	int err;

	if (len < sizeof(sa_family_t) || len > sizeof(*ss))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	err = read_child_mem(s, q, addr, ss, (size_t)len);
	if (err)
		return err;
	if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return 0;
	if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return 0;
	if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
		return -EINVAL;
	return -EAFNOSUPPORT;
}

/* SOCK_STREAM, SOCK_DGRAM, ... of our copy of a socket, or -errno. */
static int sock_type(int fd)
{
	int type;
	socklen_t tl = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return errno == ENOTSOCK ? -ENOTSOCK : -errno;
	return type;
}

/*
 * connect() our copy *SOCK of the caller's socket to SA (checked).  A
 * stream connect on a blocking socket waits for the peer (a TCP peer that
 * does not answer, a unix listener with a full backlog): a job does it
 * (VIA, an fd SA names through /proc/self/fd, goes with it).  Datagram
 * connects and non-blocking sockets return at once.
 */
static int connect_for(int *sock, const struct sockaddr *sa, socklen_t len, int *via,
		       struct answer *a)
{
	int fl = fcntl(*sock, F_GETFL), type = sock_type(*sock);

	if (type < 0)
		return type;
	if (type != SOCK_DGRAM && fl >= 0 && !(fl & O_NONBLOCK)) {
		struct job *j = job_new(JOB_CONNECT);

		j->fd = take_fd(sock);
		j->via = via ? take_fd(via) : -1;
		memcpy(&j->addr, sa, len);
		j->addrlen = len;
		a->job = j;
		return 0;
	}
	if (connect(*sock, sa, len) < 0)
		return -errno;
	a->val = 0;
	return 0;
}

/*
 * A unix peer learns the credentials of the task that connects or sends
 * (SO_PEERCRED, SCM_CREDENTIALS with SO_PASSCRED): ours, not the caller's.
 * Our uid and gid are the caller's in mosctl's sandbox (same_creds, or ids
 * mapped onto ours); where they are not (the library serving a child of
 * another uid), a peer that trusts them would trust the caller as us, so
 * the supervisor does not connect or send on a unix socket for it.
 */
static int unix_peer_sees_us(struct sup *s, struct req *q)
{
	int err;

	if (s->p->same_creds)
		return 0;
	err = need_status(s, q);
	if (err)
		return err;
	return q->cs.euid == geteuid() && q->cs.egid == getegid() ? 0 : -EACCES;
}

/*
 * The unix socket file at ABS (as the caller names it, symlinks followed
 * as connect() follows them), which must be beneath a root: an O_PATH fd
 * of it, and *VIA set to the address that names it through that fd
 * ("/proc/self/fd/N", *VLEN long), so that the kernel's lookup of the
 * address finds that very file.
 */
static int unix_socket_file(struct sup *s, struct req *q, const char *abs, struct sockaddr_un *via,
			    socklen_t *vlen)
{
	_cleanup_close_ int fd = open_beneath(s, q, abs, UNOTIFY_READ, O_PATH, 0);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ECONNREFUSED;
	*via = (struct sockaddr_un){ .sun_family = AF_UNIX };
	*vlen = (socklen_t)snprintf(via->sun_path, sizeof(via->sun_path), "/proc/self/fd/%d", fd);
	*vlen += (socklen_t)offsetof(struct sockaddr_un, sun_path) + 1;
	return take_fd(&fd);
}

/*
 * connect() or bind() of a unix socket with ALLOW_UNIX.  Abstract and unnamed
 * addresses are used as they are (the supervisor shares the sandbox's
 * network namespace).  A path is resolved as the caller would, checked, and
 * handed to the kernel as /proc/self/fd/N: for connect, N is an O_PATH fd of
 * the socket file itself (which must be beneath a root); for bind, N is the
 * directory (beneath a write root) and the name is created in it, never
 * through a symlink.
 */
static int do_unix(struct sup *s, struct req *q, int sockfd, __u64 addr, __u64 len, bool is_bind,
		   struct answer *a)
{
	struct sockaddr_un un = { 0 }, via = { .sun_family = AF_UNIX };
	char path[sizeof(un.sun_path) + 1] = "";
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int sock = -1, fd = -1;
	socklen_t vlen = 0;
	int err;

	if (!s->p->allow_unix)
		return -EACCES;
	err = unix_peer_sees_us(s, q);
	if (err)
		return err;
	if (len < sizeof(sa_family_t) || len > sizeof(un))
		return -EINVAL;
	err = read_child_mem(s, q, addr, &un, (size_t)len);
	if (err)
		return err;
	sock = child_fd(s, q, sockfd);
	if (sock < 0)
		return sock;
	if (len == sizeof(sa_family_t) || un.sun_path[0] == '\0') {
		if (!is_bind)
			return connect_for(&sock, (struct sockaddr *)&un, (socklen_t)len, NULL, a);
		if (bind(sock, (struct sockaddr *)&un, (socklen_t)len) < 0)
			return -errno;
		a->val = 0;
		return 0;
	}
	memcpy(path, un.sun_path, len - offsetof(struct sockaddr_un, sun_path));
	err = child_abs_path(s, q, AT_FDCWD, path, &abs);
	if (err)
		return err;
	if (is_bind) {
		char *slash = strrchr(abs, '/');

		if (!slash[1])
			return -EINVAL;
		*slash = '\0';
		fd = open_beneath(s, q, *abs ? abs : "/", UNOTIFY_WRITE, O_PATH | O_DIRECTORY, 0);
		if (fd < 0)
			return fd;
		vlen = (socklen_t)snprintf(via.sun_path, sizeof(via.sun_path),
					   "/proc/self/fd/%d/%s", fd, slash + 1);
		if (vlen >= sizeof(via.sun_path))
			return -ENAMETOOLONG;
	} else {
		fd = unix_socket_file(s, q, abs, &via, &vlen);
		if (fd < 0)
			return fd;
		return connect_for(&sock, (struct sockaddr *)&via, vlen, &fd, a);
	}
	vlen += (socklen_t)offsetof(struct sockaddr_un, sun_path) + 1;
	if (bind(sock, (struct sockaddr *)&via, vlen) < 0)
		return -errno;
	a->val = 0;
	return 0;
}

/*
 * The policy said OK (or not) about a connect or bind to SS: record it, and
 * with ask_net ask the decider about what no rule allows.
 */
static bool net_decision(struct sup *s, struct req *q, const struct sockaddr_storage *ss, bool bind,
			 bool ok)
{
	struct unotify_event ev = { .syscall = syscall_name((long)q->n->data.nr),
				    .pid = event_pid(s, q),
				    .addr = ss,
				    .bind = bind };
	char key[INET6_ADDRSTRLEN + 32], text[INET6_ADDRSTRLEN] = "";
	const void *a = ss->ss_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	unsigned port =
		ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					       : ((const struct sockaddr_in6 *)ss)->sin6_port);

	q->ev_addr = *ss;
	q->have_addr = true;
	q->ev_bind = bind;
	if (!ok && s->p->ask_net) {
		inet_ntop(ss->ss_family, a, text, sizeof(text));
		snprintf(key, sizeof(key), "%s:%s:%u", bind ? "bind" : "connect", text, port);
		ok = ask_decider(s, key, &ev);
	}
	if (!ok)
		q->by_policy = true;
	return ok;
}

/*
 * With --allow-udp, a datagram may go anywhere, unless --net-allow names
 * destinations: then only to those (the supervisor checks UDP like TCP).
 */
static bool udp_dest_ok(const struct sup *s, const struct sockaddr_storage *ss)
{
	if (!s->p->nconnect)
		return true;
	for (size_t i = 0; i < s->p->nconnect; i++)
		if (net_rule_matches(&s->p->connect[i], ss))
			return true;
	return false;
}

/*
 * connect() or bind(): our copy of the address, checked, used on the
 * caller's own socket (pidfd_getfd).  TCP follows --net-allow (address and
 * port) or --net-bind (port); UDP with --allow-udp goes anywhere, or only
 * to --net-allow destinations when there are any; unix sockets: do_unix().
 */
static int do_addr(struct sup *s, struct req *q, int sockfd, __u64 addr, __u64 len, bool bind_,
		   struct answer *a)
{
	struct sockaddr_storage ss;
	_cleanup_close_ int fd = -1;
	bool ok = s->p->allow_net;
	uint16_t port;
	int err, type;

	err = read_inet_addr(s, q, addr, len, &ss);
	if (err == -EAFNOSUPPORT && ss.ss_family == AF_UNIX)
		return do_unix(s, q, sockfd, addr, len, bind_, a);
	if (err == -EAFNOSUPPORT)
		return -EACCES;
	if (err)
		return err;
	fd = child_fd(s, q, sockfd);
	if (fd < 0)
		return fd;
	type = sock_type(fd);
	if (type < 0)
		return type;
	port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (type == SOCK_DGRAM && s->p->allow_udp)
		ok = ok || bind_ || udp_dest_ok(s, &ss);
	for (size_t i = 0; !ok && type == SOCK_STREAM && !bind_ && i < s->p->nconnect; i++)
		ok = net_rule_matches(&s->p->connect[i], &ss);
	for (size_t i = 0; !ok && type == SOCK_STREAM && bind_ && i < s->p->nbind; i++)
		ok = s->p->bind_ports[i] == port;
	if (!net_decision(s, q, &ss, bind_, ok))
		return -EACCES;
	if (!bind_)
		return connect_for(&fd, (struct sockaddr *)&ss, (socklen_t)len, NULL, a);
	if (bind(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0)
		return -errno;
	a->val = 0;
	return 0;
}

/*
 * Sends.  With --allow-udp the filter traps every sendmsg and sendmmsg and
 * every sendto with an address, whatever the socket: the supervisor cannot
 * tell from the arguments.  Each is performed on our copy of the caller's
 * socket (pidfd_getfd) with our copies of the destination, the data and the
 * control messages, never let through (CONTINUE): the kernel would look the
 * fd number up again, and another thread of the caller could by then have
 * put a UDP socket behind it (dup2), or rewritten the address.  What is
 * checked depends on the socket we hold:
 *
 *  - IPv4/IPv6 datagram (UDP): the destination must pass udp_dest_ok();
 *    no control messages (IP options, source routes and the like could
 *    choose where a datagram goes);
 *  - IPv4/IPv6 stream (TCP): the kernel ignores a destination (MSG_FASTOPEN,
 *    which would connect, is refused), so ours is dropped; no control
 *    messages;
 *  - unix: a destination with a path or an abstract name only under
 *    --allow-unix, a path resolved and checked as for connect();
 *    SCM_RIGHTS carries our copies of the caller's fds; SCM_CREDENTIALS is
 *    refused (EPERM: the kernel would check it against the supervisor);
 *  - anything else (netlink): as it is, no control messages.
 *
 * Each send is first made with MSG_DONTWAIT; one that would wait on a
 * blocking socket is handed to a job.  A stream send copies at most
 * MAX_STREAM_CHUNK bytes (the caller sees a short count, as from a signal,
 * and sends the rest); a larger datagram is EMSGSIZE.  A peer reading the
 * caller's credentials (SO_PASSCRED, SO_PEERCRED) sees the supervisor's
 * process, with the caller's uid and gid.
 */
#define MAX_DATAGRAM (256 * 1024)
#define MAX_STREAM_CHUNK (256 * 1024)
#define MAX_IOV 1024 /* UIO_MAXIOV */
#define MAX_CONTROL (64 * 1024)
#define MAX_SCM_FDS 253 /* SCM_MAX_FD */

/* What a trapped send names, as pointers into the caller. */
struct send_args {
	__u64 name, namelen;
	const struct iovec *iov; /* our copy of the caller's iovec array */
	size_t iovlen;
	__u64 control, controllen;
	int flags;
};

static int sock_domain(int fd)
{
	int v;
	socklen_t l = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 ? -errno : v;
}

/* The data of the iovec array, at most MAX bytes of it. */
static int gather(struct sup *s, struct req *q, const struct send_args *g, size_t max,
		  struct send_op *op)
{
	size_t total = 0;

	for (size_t i = 0; i < g->iovlen && total < max; i++)
		total += g->iov[i].iov_len < max - total ? g->iov[i].iov_len : max - total;
	op->data = xmalloc(total ? total : 1);
	op->len = total;
	for (size_t i = 0, off = 0; i < g->iovlen && off < total; i++) {
		size_t n = g->iov[i].iov_len < total - off ? g->iov[i].iov_len : total - off;
		int err;

		if (!n)
			continue;
		err = read_child_mem(s, q, (__u64)(uintptr_t)g->iov[i].iov_base, op->data + off, n);
		if (err)
			return err;
		off += n;
	}
	return 0;
}

/* A unix destination: our copy of it in OP->name, checked. */
static int unix_destination(struct sup *s, struct req *q, struct send_op *op)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&op->name;
	char path[sizeof(un->sun_path) + 1] = "";
	_cleanup_free_ char *abs = NULL;
	int err, fd;

	if (un->sun_family != AF_UNIX || op->namelen <= offsetof(struct sockaddr_un, sun_path))
		return 0; /* the kernel refuses it (EINVAL) */
	if (!s->p->allow_unix)
		return -EACCES;
	if (op->namelen > sizeof(*un))
		return -EINVAL;
	if (un->sun_path[0] == '\0')
		return 0; /* abstract: not scoped (supervisor.md) */
	memcpy(path, un->sun_path, op->namelen - offsetof(struct sockaddr_un, sun_path));
	err = child_abs_path(s, q, AT_FDCWD, path, &abs);
	if (err)
		return err;
	fd = unix_socket_file(s, q, abs, un, &op->namelen);
	if (fd < 0)
		return fd;
	op->via = fd;
	return 0;
}

/*
 * Our copy of the control messages of a unix send, SCM_RIGHTS with our
 * copies of the caller's fds.  Walked as the kernel walks them
 * (CMSG_NXTHDR), on our copy: each header's length is checked against
 * what is left.
 */
static int unix_control(struct sup *s, struct req *q, const struct send_args *g, struct send_op *op)
{
	struct cmsghdr *c;
	size_t off = 0;
	int err;

	if (g->controllen > MAX_CONTROL)
		return -ENOBUFS;
	op->control = xcalloc(1, (size_t)g->controllen);
	op->controllen = (size_t)g->controllen;
	err = read_child_mem(s, q, g->control, op->control, op->controllen);
	if (err)
		return err;
	while (off + sizeof(struct cmsghdr) <= op->controllen) {
		size_t n;

		c = (struct cmsghdr *)(op->control + off);
		if (c->cmsg_len < sizeof(struct cmsghdr) || c->cmsg_len > op->controllen - off)
			return -EINVAL;
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
			return -EPERM;
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type != SCM_RIGHTS)
			return -EINVAL;
		if (c->cmsg_level == SOL_SOCKET) {
			int *fds = (int *)CMSG_DATA(c);

			n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (op->nfds + (int)n > MAX_SCM_FDS)
				return -EINVAL;
			op->fds = xrealloc(op->fds, ((size_t)op->nfds + n + 1) * sizeof(int));
			for (size_t i = 0; i < n; i++) {
				int dup = child_fd(s, q, fds[i]);

				if (dup < 0)
					return dup;
				op->fds[op->nfds++] = dup;
				fds[i] = dup;
			}
		}
		off += CMSG_ALIGN(c->cmsg_len);
	}
	return 0;
}

/* Read and check what the kernel would for a send on the caller's FD. */
static int send_prepare(struct sup *s, struct req *q, int fd, const struct send_args *g,
			struct send_op *op)
{
	int family, type, fl, err;

	if (g->flags & MSG_FASTOPEN)
		return -EPERM; /* a connect no rule checks (refused by the filter too) */
	if (g->flags & MSG_ZEROCOPY)
		return -ENOBUFS; /* on our copy, never notified: callers then copy */
	op->sock = child_fd(s, q, fd);
	if (op->sock < 0)
		return op->sock;
	type = sock_type(op->sock);
	if (type < 0)
		return type;
	family = sock_domain(op->sock);
	if (family < 0)
		return family;
	if (family == AF_UNIX) {
		err = unix_peer_sees_us(s, q);
		if (err)
			return err;
	}
	fl = fcntl(op->sock, F_GETFL);
	op->flags = g->flags;
	op->blocking = !(g->flags & MSG_DONTWAIT) && fl >= 0 && !(fl & O_NONBLOCK);
	if (g->name && g->namelen) {
		if (g->namelen > sizeof(op->name))
			return -EINVAL;
		op->namelen = (socklen_t)g->namelen;
		err = read_child_mem(s, q, g->name, &op->name, op->namelen);
		if (err)
			return err;
	}
	if (g->controllen && family != AF_UNIX)
		return -EINVAL;
	if (g->controllen) {
		err = unix_control(s, q, g, op);
		if (err)
			return err;
	}
	if (family == AF_INET || family == AF_INET6) {
		if (type == SOCK_STREAM) {
			op->namelen = 0;
		} else if (op->namelen) {
			struct sockaddr_storage ss = op->name;

			if (type != SOCK_DGRAM)
				return -EACCES;
			if ((ss.ss_family != AF_INET || op->namelen < sizeof(struct sockaddr_in)) &&
			    (ss.ss_family != AF_INET6 || op->namelen < sizeof(struct sockaddr_in6)))
				return -EINVAL;
			if (!net_decision(s, q, &ss, false, udp_dest_ok(s, &ss)))
				return -EACCES;
		}
	} else if (family == AF_UNIX && op->namelen) {
		err = unix_destination(s, q, op);
		if (err)
			return err;
	}
	err = gather(s, q, g, type == SOCK_STREAM ? MAX_STREAM_CHUNK : MAX_DATAGRAM + 1, op);
	if (err)
		return err;
	return type != SOCK_STREAM && op->len > MAX_DATAGRAM ? -EMSGSIZE : 0;
}

/*
 * Send OP now, or in a job if it would wait and the caller waits (then A
 * holds the job and OP is moved into it).  The number of bytes sent, or
 * -errno (SIGPIPE raised in the caller as the kernel would), or 1 with A's
 * job set.
 */
static long send_now(struct sup *s, struct req *q, struct send_op *op, struct answer *a)
{
	ssize_t n = send_op_send(op, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && op->blocking) {
		struct job *j = job_new(JOB_SEND);

		j->op = *op;
		*op = (struct send_op){ .sock = -1, .via = -1 };
		a->job = j;
		return 1;
	}
	if (n < 0 && errno == EPIPE && !(op->flags & MSG_NOSIGNAL))
		signal_caller(s, q, SIGPIPE);
	return n < 0 ? -errno : n;
}

static int send_one(struct sup *s, struct req *q, int fd, const struct send_args *g,
		    struct answer *a)
{
	struct send_op op = { .sock = -1, .via = -1 };
	int err = send_prepare(s, q, fd, g, &op);
	long n = err ? err : send_now(s, q, &op, a);

	send_op_release(&op);
	if (n < 0)
		return (int)n;
	if (!a->job)
		a->val = n;
	return 0;
}

static int do_sendto(struct sup *s, struct req *q, int fd, __u64 buf_addr, __u64 len, int flags,
		     __u64 addr, __u64 addrlen, struct answer *a)
{
	struct iovec iov = { (void *)(uintptr_t)buf_addr, (size_t)len };
	struct send_args g = {
		.name = addr, .namelen = addrlen, .iov = &iov, .iovlen = 1, .flags = flags
	};

	return send_one(s, q, fd, &g, a);
}

/* Our copy of the caller's msghdr at ADDR and of its iovec array. */
static int read_msghdr(struct sup *s, struct req *q, __u64 addr, struct send_args *g,
		       struct iovec **iov)
{
	struct msghdr mh;
	int err = read_child_mem(s, q, addr, &mh, sizeof(mh));

	if (err)
		return err;
	if (mh.msg_iovlen > MAX_IOV)
		return -EMSGSIZE;
	*iov = xcalloc(mh.msg_iovlen + 1, sizeof(**iov));
	if (mh.msg_iovlen) {
		err = read_child_mem(s, q, (__u64)(uintptr_t)mh.msg_iov, *iov,
				     mh.msg_iovlen * sizeof(**iov));
		if (err)
			return err;
	}
	g->name = (__u64)(uintptr_t)mh.msg_name;
	g->namelen = mh.msg_namelen;
	g->iov = *iov;
	g->iovlen = mh.msg_iovlen;
	g->control = (__u64)(uintptr_t)mh.msg_control;
	g->controllen = mh.msg_controllen;
	return 0;
}

static int do_sendmsg(struct sup *s, struct req *q, int fd, __u64 msg_addr, int flags,
		      struct answer *a)
{
	struct send_args g = { .flags = flags };
	_cleanup_free_ struct iovec *iov = NULL;
	int err = read_msghdr(s, q, msg_addr, &g, &iov);

	return err ? err : send_one(s, q, fd, &g, a);
}

/*
 * sendmmsg: each message as one sendmsg, its msg_len written back.  A
 * first message that must wait goes to a job; a later one ends the call
 * with the count so far, as an error after the first does.
 */
static int do_sendmmsg(struct sup *s, struct req *q, int fd, __u64 vec_addr, __u64 vlen, int flags,
		       struct answer *a)
{
	unsigned int sent = 0;
	int err = 0;

	if (vlen > MAX_IOV)
		vlen = MAX_IOV;
	for (unsigned int i = 0; i < vlen && !err; i++) {
		__u64 entry = vec_addr + i * sizeof(struct mmsghdr);
		struct send_op op = { .sock = -1, .via = -1 };
		struct send_args g = { .flags = flags };
		_cleanup_free_ struct iovec *iov = NULL;
		long n;

		err = read_msghdr(s, q, entry, &g, &iov);
		if (!err)
			err = send_prepare(s, q, fd, &g, &op);
		if (!err && i > 0)
			op.blocking = false; /* no job after the first */
		op.len_addr = entry + offsetof(struct mmsghdr, msg_len);
		n = err ? err : send_now(s, q, &op, a);
		send_op_release(&op);
		if (n < 0) {
			err = (int)n;
		} else if (a->job) {
			return 0; /* the first message, sent by a job */
		} else {
			write_child_u32(s, q, entry + offsetof(struct mmsghdr, msg_len), (__u32)n,
					&err);
			if (!err)
				sent++;
		}
	}
	if (sent || !err)
		a->val = sent;
	return sent ? 0 : err;
}

static int handle(struct sup *s, struct req *q, struct answer *a)
{
	const __u64 *g = q->n->data.args;

	switch (q->n->data.nr) {
	case __NR_open:
		return do_open(s, q, AT_FDCWD, g[0], g[1], g[2], a);
	case __NR_creat:
		return do_open(s, q, AT_FDCWD, g[0], O_CREAT | O_WRONLY | O_TRUNC, g[1], a);
	case __NR_openat:
		return do_open(s, q, (int)g[0], g[1], g[2], g[3], a);
	case __NR_stat:
		return do_look(s, q, AT_FDCWD, g[0], false, 0,
			       &(struct look){ .kind = LOOK_STAT, .buf = g[1] }, a);
	case __NR_lstat:
		return do_look(s, q, AT_FDCWD, g[0], true, 0,
			       &(struct look){ .kind = LOOK_STAT, .buf = g[1] }, a);
	case __NR_newfstatat:
		if ((int)g[3] & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH))
			return -EINVAL;
		return do_look(s, q, (int)g[0], g[1], g[3] & AT_SYMLINK_NOFOLLOW, (int)g[3],
			       &(struct look){ .kind = LOOK_STAT, .buf = g[2] }, a);
	case __NR_statx:
		if (((int)g[2] & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH |
				   AT_STATX_SYNC_TYPE)) ||
		    ((int)g[2] & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE ||
		    ((unsigned int)g[3] & STATX__RESERVED))
			return -EINVAL;
		return do_look(s, q, (int)g[0], g[1], g[2] & AT_SYMLINK_NOFOLLOW, (int)g[2],
			       &(struct look){ .kind = LOOK_STATX,
					       .buf = g[4],
					       .mask = (unsigned int)g[3],
					       .sync = (int)g[2] & AT_STATX_SYNC_TYPE },
			       a);
	case __NR_readlink:
		return do_look(s, q, AT_FDCWD, g[0], true, 0,
			       &(struct look){ .kind = LOOK_READLINK, .buf = g[1], .size = g[2] },
			       a);
	case __NR_readlinkat:
		/* an empty path is the link DIRFD is (an O_PATH fd of it) */
		return do_look(s, q, (int)g[0], g[1], true, AT_EMPTY_PATH,
			       &(struct look){ .kind = LOOK_READLINK, .buf = g[2], .size = g[3] },
			       a);
	case __NR_execve:
		return do_exec(s, q, AT_FDCWD, g[0], 0, a);
	case __NR_execveat:
		return do_exec(s, q, (int)g[0], g[1], (int)g[4], a);
	case __NR_connect:
		return do_addr(s, q, (int)g[0], g[1], g[2], false, a);
	case __NR_bind:
		return do_addr(s, q, (int)g[0], g[1], g[2], true, a);
	case __NR_sendto:
		return do_sendto(s, q, (int)g[0], g[1], g[2], (int)g[3], g[4], g[5], a);
	case __NR_sendmsg:
		return do_sendmsg(s, q, (int)g[0], g[1], (int)g[2], a);
	case __NR_sendmmsg:
		return do_sendmmsg(s, q, (int)g[0], g[1], g[2], (int)g[3], a);
	case __NR_mkdir:
		return do_mkdir(s, q, AT_FDCWD, g[0], g[1], false, 0, a);
	case __NR_mkdirat:
		return do_mkdir(s, q, (int)g[0], g[1], g[2], false, 0, a);
	case __NR_mknod:
		return do_mkdir(s, q, AT_FDCWD, g[0], g[1], true, g[2], a);
	case __NR_mknodat:
		return do_mkdir(s, q, (int)g[0], g[1], g[2], true, g[3], a);
	case __NR_symlink:
		return do_symlink(s, q, g[0], AT_FDCWD, g[1], a);
	case __NR_symlinkat:
		return do_symlink(s, q, g[0], (int)g[1], g[2], a);
	case __NR_unlink:
		return do_unlink(s, q, AT_FDCWD, g[0], 0, a);
	case __NR_rmdir:
		return do_unlink(s, q, AT_FDCWD, g[0], AT_REMOVEDIR, a);
	case __NR_unlinkat:
		return do_unlink(s, q, (int)g[0], g[1], (int)g[2], a);
	case __NR_rename:
		return do_rename(s, q, AT_FDCWD, g[0], AT_FDCWD, g[1], 0, a);
	case __NR_renameat:
		return do_rename(s, q, (int)g[0], g[1], (int)g[2], g[3], 0, a);
	case __NR_renameat2:
		return do_rename(s, q, (int)g[0], g[1], (int)g[2], g[3], (unsigned int)g[4], a);
	case __NR_link:
		return do_link(s, q, AT_FDCWD, g[0], AT_FDCWD, g[1], 0, a);
	case __NR_linkat:
		return do_link(s, q, (int)g[0], g[1], (int)g[2], g[3], (int)g[4], a);
	case __NR_truncate:
		return do_truncate(s, q, g[0], g[1], a);
	default:
		return -ENOSYS;
	}
}

/* -------------------------------------------------------------------- */
/* The loop                                                              */
/* -------------------------------------------------------------------- */

/*
 * This thread's capabilities (see "Privilege phases" above): CAP_SETUID and
 * CAP_SETGID in effect, CAP_SYS_PTRACE and CAP_KILL (if held) permitted
 * only, nothing else, in this thread only.  Sets S->tracer_caps.
 */
static int drop_caps(struct sup *s)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	const __u32 effective = (1U << CAP_SETUID) | (1U << CAP_SETGID);
	const __u32 tracer = (1U << CAP_SYS_PTRACE) | (1U << CAP_KILL);

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	s->tracer_caps = d[0].permitted & tracer;
	d[0].effective &= effective;
	d[0].permitted &= effective | tracer;
	d[0].inheritable = 0;
	d[1].effective = d[1].permitted = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

/* What a request holds: the caller's fds, the events for the hooks. */
static void req_release(struct req *q)
{
	closep(&q->procfd);
	closep(&q->memfd);
	closep(&q->pidfd);
	for (int i = 0; i < q->nev; i++)
		free(q->ev_path[i]);
	q->nev = 0;
	free(q->asked);
	q->asked = NULL;
}

/* Tell the record hook what the request was about and how it ended. */
static void record(struct sup *s, const struct req *q, int err)
{
	const struct unotify_hooks *h = s->p->hooks;
	struct unotify_event ev = { .syscall = syscall_name((long)q->n->data.nr),
				    .pid = q->have_status ? q->cs.ns_tgid : 0,
				    .error = err == -MOS_ERESTARTSYS || err == -MOS_ERESTARTNOINTR
						     ? -EINTR
						     : err,
				    .by_policy = err && q->by_policy };

	if (!h || !h->record)
		return;
	for (int i = 0; i < q->nev; i++) {
		ev.path = q->ev_path[i];
		ev.access = q->ev_access[i];
		h->record(h->ctx, &ev);
	}
	if (q->have_addr) {
		ev.path = NULL;
		ev.addr = &q->ev_addr;
		ev.bind = q->ev_bind;
		h->record(h->ctx, &ev);
	}
}

static void reply(struct sup *s, const struct req *q, const struct answer *a, int err)
{
	struct seccomp_notif_resp resp = { .id = q->n->id };

	if (!err && a->inject >= 0) {
		struct seccomp_notif_addfd addfd = {
			.id = q->n->id,
			.flags = SECCOMP_ADDFD_FLAG_SEND,
			.srcfd = (__u32)a->inject,
			.newfd_flags = a->newfd_flags,
		};

		if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0) {
			s->st->allowed++;
			record(s, q, 0);
			return;
		}
		if (errno == ENOENT) {
			s->st->stale++;
			return;
		}
		/* Fail closed: the syscall fails with the injection's error. */
		err = -errno;
	}
	if (err == -ESRCH) {
		/* The caller went away mid-decision; answering is harmless. */
		s->st->stale++;
		err = -EACCES;
	} else if (err == -EACCES) {
		s->st->denied++;
	} else if (err) {
		s->st->failed++;
	} else {
		s->st->allowed++;
	}
	if (err) {
		resp.error = err;
	} else if (a->cont) {
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else {
		resp.val = a->val;
	}
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno == ENOENT)
		s->st->stale++;
	record(s, q, err);
}

/* -------------------------------------------------------------------- */
/* Jobs                                                                  */
/* -------------------------------------------------------------------- */

/*
 * Some steps wait for as long as someone else decides: opening a FIFO (its
 * other end), connecting (a peer that does not answer, a unix listener
 * with a full backlog), sending on a full socket.  The caller would wait
 * there too, so the supervisor must, but not with a serving thread: the
 * step runs in a thread of its own (a job) with the serving thread's
 * credentials, and the serving thread goes on serving and answers the
 * caller once the job is done.  Every JOB_TICK_MS it looks at the callers
 * of its jobs; a job is interrupted (UNOTIFY_INTERRUPT_SIG, whose handler
 * does nothing, so the blocking call fails with EINTR) when
 *
 *  - its caller is gone (the notification is no longer valid: killed, as by
 *    mosctl's -t or the end of its pid namespace);
 *  - a signal waits for its caller that the caller's own wait in the kernel
 *    would have taken: one it catches (the answer is then -ERESTARTSYS, so
 *    that SA_RESTART restarts the call and anything else sees EINTR), or a
 *    stop signal (-ERESTARTNOINTR: the caller stops, and goes on with the
 *    call when continued).  Process-directed signals count only for a
 *    caller that is its process's only thread (another could take them);
 *  - the supervisor stops.
 */
#define JOB_TICK_MS 50
/* How long a stopping supervisor waits for jobs that do not end. */
#define JOB_END_MS 2000
/*
 * Jobs per serving thread: each is a thread of mosctl waiting for one task
 * of the sandbox, so the sandbox's own limits bound them; this bounds them
 * where it has none.  One more waiting call fails with EAGAIN.
 */
#define MAX_JOBS 256

static void interrupt_handler(int sig)
{
	(void)sig;
}

int unotify_interrupt_signal(void)
{
	return SIGRTMIN + 5;
}

static void install_interrupt_handler(void)
{
	struct sigaction sa = { .sa_handler = interrupt_handler }; /* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	sigaction(unotify_interrupt_signal(), &sa, NULL);
}

static void unblock_interrupt(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	sigset_t set;

	pthread_once(&once, install_interrupt_handler);
	sigemptyset(&set);
	sigaddset(&set, unotify_interrupt_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void unotify_interrupt(pthread_t thread)
{
	pthread_kill(thread, unotify_interrupt_signal());
}

/* The step itself, in the job's thread. */
static long job_run(struct job *j)
{
	char link[64];
	long r;

	switch (j->kind) {
	case JOB_OPEN:
		snprintf(link, sizeof(link), "/proc/self/fd/%d", j->fd);
		r = open(link,
			 (int)(j->flags & ~(__u64)(O_CREAT | O_EXCL | O_TMPFILE | O_NOFOLLOW)));
		break;
	case JOB_CONNECT:
		r = connect(j->fd, (struct sockaddr *)&j->addr, j->addrlen);
		break;
	case JOB_SEND:
		r = send_op_send(&j->op, 0);
		break;
	default:
		r = -1;
		errno = EINVAL;
	}
	return r < 0 ? -errno : r;
}

static void req_release(struct req *q);

static void job_free(struct job *j)
{
	closep(&j->fd);
	closep(&j->via);
	closep(&j->done_fd);
	send_op_release(&j->op);
	req_release(&j->q);
	free(j);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	uint64_t one = 1;

	j->ret = job_run(j);
	/*
	 * DONE before the serving thread hears of it (it reaps only DONE
	 * jobs, and joins this thread before freeing J); if it gave up on us,
	 * nobody else frees the job.
	 */
	if (atomic_exchange(&j->state, JOB_DONE) == JOB_ABANDONED) {
		if (j->kind == JOB_OPEN && j->ret >= 0)
			close((int)j->ret);
		job_free(j);
	} else {
		(void)!write(j->done_fd, &one, sizeof(one));
	}
	return NULL;
}

/* Hand request Q over to job J (A->job) and start it; Q is left empty. */
static int job_start(struct sup *s, struct req *q, struct job *j)
{
	pthread_attr_t attr;
	int err;

	if (s->njobs >= MAX_JOBS)
		return -EAGAIN;
	err = need_proc(s, q); /* the caller's /proc/TID: its signals */
	if (err)
		return err;
	j->n = *q->n;
	j->q = *q;
	j->q.n = &j->n;
	*q = (struct req){ .n = q->n, .procfd = -1, .memfd = -1, .pidfd = -1 };
	j->done_fd = fcntl(s->done_efd, F_DUPFD_CLOEXEC, 3);
	if (j->done_fd < 0)
		return -errno;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	err = pthread_create(&j->thread, &attr, job_main, j);
	pthread_attr_destroy(&attr);
	if (err)
		return -err;
	j->next = s->jobs;
	s->jobs = j;
	s->njobs++;
	return 0;
}

/* Bit of signal SIG in a /proc status mask. */
#define SIGBIT(sig) (1ULL << ((sig)-1))

/*
 * What to answer instead of EINTR if the caller's own wait would have been
 * cut short by a signal now pending for it (see above): -ERESTARTSYS,
 * -ERESTARTNOINTR, or 0 (none).
 */
static int pending_restart(const struct job *j)
{
	char buf[8192], *line, *save = NULL;
	unsigned long long pnd = 0, shd = 0, blk = 0, ign = 0, cgt = 0, pending;
	const unsigned long long stops =
		SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU);
	_cleanup_close_ int fd = openat(j->q.procfd, "status", O_RDONLY | O_CLOEXEC);
	long threads = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read_full(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "Threads:", 8))
			threads = strtol(line + 8, NULL, 10);
		else if (!strncmp(line, "SigPnd:", 7))
			pnd = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "ShdPnd:", 7))
			shd = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "SigBlk:", 7))
			blk = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "SigIgn:", 7))
			ign = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "SigCgt:", 7))
			cgt = strtoull(line + 7, NULL, 16);
	}
	pending = (pnd | (threads == 1 ? shd : 0)) & ~blk;
	if (pending & cgt)
		return -MOS_ERESTARTSYS;
	if (pending & stops & ~cgt & ~ign)
		return -MOS_ERESTARTNOINTR;
	return 0;
}

/* Look at the callers of the running jobs; interrupt those it is time to. */
static void tick_jobs(struct sup *s, bool stopping)
{
	for (struct job *j = s->jobs; j; j = j->next) {
		if (atomic_load(&j->state) != JOB_RUNNING)
			continue;
		if (!j->interrupt && (stopping || !id_valid(s, &j->q)))
			j->interrupt = true;
		if (!j->interrupt) {
			int r = pending_restart(j);

			if (r) {
				j->restart = -r;
				j->interrupt = true;
			}
		}
		/* again at every tick: the first may come before the job waits */
		if (j->interrupt)
			unotify_interrupt(j->thread);
	}
}

/* FIFO readers held by open jobs that the serving thread polls too. */
#define MAX_WATCHED 64

static int watch_readers(struct sup *s, struct pollfd *pfd, struct job **watched)
{
	int n = 0;

	for (struct job *j = s->jobs; j && n < MAX_WATCHED; j = j->next) {
		if (j->kind != JOB_OPEN || !j->reader || j->use_reader ||
		    atomic_load(&j->state) != JOB_RUNNING)
			continue;
		pfd[n] = (struct pollfd){ .fd = j->fd, .events = POLLIN };
		watched[n++] = j;
	}
	return n;
}

static void write_child_u32(struct sup *s, struct req *q, __u64 addr, __u32 v, int *err);
static void signal_caller(struct sup *s, const struct req *q, int sig);

/* Answer the caller of finished job J. */
static void job_answer(struct sup *s, struct job *j)
{
	struct answer a = { .inject = -1, .newfd_flags = j->newfd_flags };
	int err = 0;

	if (j->kind == JOB_OPEN && j->use_reader && j->ret == -EINTR) {
		/* the reader held is the caller's fd, blocking as it asked */
		int fl = fcntl(j->fd, F_GETFL);

		if (fl >= 0 && fcntl(j->fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
			j->ret = take_fd(&j->fd);
	}
	if (j->ret == -EINTR && j->restart)
		err = -j->restart;
	else if (j->ret < 0)
		err = (int)j->ret;
	else if (j->kind == JOB_OPEN)
		a.inject = (int)j->ret;
	else
		a.val = j->ret;
	if (j->kind == JOB_SEND && !err && j->op.len_addr) {
		/* sendmmsg's first message: its msg_len, and one message sent */
		write_child_u32(s, &j->q, j->op.len_addr, (__u32)j->ret, &err);
		a.val = 1;
	}
	if (j->kind == JOB_SEND && err == -EPIPE && !(j->op.flags & MSG_NOSIGNAL))
		signal_caller(s, &j->q, SIGPIPE);
	reply(s, &j->q, &a, err);
	if (a.inject >= 0)
		close(a.inject);
}

/* Answer and free the jobs that are done. */
static void reap_jobs(struct sup *s)
{
	uint64_t v;

	(void)!read(s->done_efd, &v, sizeof(v));
	for (struct job **pp = &s->jobs; *pp;) {
		struct job *j = *pp;

		if (atomic_load(&j->state) != JOB_DONE) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		s->njobs--;
		pthread_join(j->thread, NULL);
		job_answer(s, j);
		job_free(j);
	}
}

/*
 * The supervisor stops: interrupt every job and answer it, waiting at most
 * JOB_END_MS for those whose step does not give way to a signal; those are
 * left to free themselves.
 */
static void end_jobs(struct sup *s)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (s->jobs) {
		struct pollfd pfd = { .fd = s->done_efd, .events = POLLIN };
		long ms;

		tick_jobs(s, true);
		if (poll(&pfd, 1, 20) > 0)
			reap_jobs(s);
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= JOB_END_MS)
			break;
	}
	while (s->jobs) {
		struct job *j = s->jobs;

		s->jobs = j->next;
		s->njobs--;
		if (atomic_exchange(&j->state, JOB_ABANDONED) == JOB_DONE) {
			pthread_join(j->thread, NULL);
			job_free(j);
		} else {
			pthread_detach(j->thread);
		}
	}
}

int unotify_serve(int listener, const struct unotify_policy *p, struct unotify_stats *stats)
{
	return unotify_serve_with(listener, p, stats, NULL);
}

/* Tell O->ready_fd (if any) how the preparation went: 0 or -errno. */
static void say_ready(const struct unotify_serve_opts *o, int err)
{
	if (o && o->ready_fd >= 0)
		write_all(o->ready_fd, &err, sizeof(err));
}

int unotify_serve_with(int listener, const struct unotify_policy *p, struct unotify_stats *stats,
		       const struct unotify_serve_opts *o)
{
	struct seccomp_notif_sizes sizes;
	struct unotify_stats dummy = { 0 };
	struct sup s = {
		.listener = listener, .st = stats ? stats : &dummy, .root = -1, .done_efd = -1,
		.stop_fd = o ? o->stop_fd : -1,
	};
	_cleanup_free_ struct seccomp_notif *n = NULL;
	size_t nsize;
	int err, ng;

	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) {
		err = -errno;
		goto out;
	}
	nsize = sizes.seccomp_notif > sizeof(*n) ? sizes.seccomp_notif : sizeof(*n);
	n = xmalloc(nsize);
	/* Our own umask and cwd: the child's umask is applied by hand. */
	if (unshare(CLONE_FS) < 0) {
		err = -errno;
		goto out;
	}
	umask(0);
	unblock_interrupt();
	s.done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s.done_efd < 0) {
		err = -errno;
		goto out;
	}
	err = drop_caps(&s);
	if (err)
		goto out;
	s.fsuid = (uid_t)syscall(SYS_setfsuid, -1);
	s.fsgid = (gid_t)syscall(SYS_setfsgid, -1);
	ng = (int)syscall(SYS_getgroups, MAX_GROUPS, s.groups);
	s.ngroups = ng < 0 ? 0 : ng;
	err = sup_init(&s, p);
	if (err)
		goto out;
	/*
	 * Linux 6.6+: the caller, blocked on us, hands its CPU to this thread
	 * and back (a synchronous wake-up) instead of waking another CPU.
	 */
	(void)ioctl(listener, MOS_SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		    MOS_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	say_ready(o, 0);

	for (;;) {
		struct pollfd pfd[3 + MAX_WATCHED] = { { .fd = listener, .events = POLLIN },
						       { .fd = o ? o->stop_fd : -1,
							 .events = POLLIN },
						       { .fd = s.done_efd, .events = POLLIN } };
		struct job *watched[MAX_WATCHED];
		int nw = watch_readers(&s, pfd + 3, watched);
		struct answer a = { .inject = -1 };
		struct req q = { .n = n, .procfd = -1, .memfd = -1, .pidfd = -1 };
		int r = poll(pfd, 3 + (nfds_t)nw, s.jobs ? JOB_TICK_MS : -1);

		if (r < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (r <= 0) {
			/* a tick (or a signal): look at the jobs' callers */
			tick_jobs(&s, false);
			continue;
		}
		for (int i = 0; i < nw; i++) {
			if (pfd[3 + i].revents) {
				/* a writer came: that reader is the answer */
				watched[i]->use_reader = watched[i]->interrupt = true;
				unotify_interrupt(watched[i]->thread);
			}
		}
		if (pfd[2].revents & POLLIN)
			reap_jobs(&s);
		if (pfd[1].revents) {
			err = 0; /* told to stop */
			break;
		}
		if (!(pfd[0].revents & POLLIN)) {
			if (!pfd[0].revents)
				continue;
			/* POLLHUP: every task under the filter is gone. */
			err = 0;
			break;
		}
		memset(n, 0, nsize);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			err = -errno;
			break;
		}
		s.st->notifications++;
		err = handle(&s, &q, &a);
		if (a.job) {
			if (!err) {
				err = job_start(&s, &q, a.job);
				if (!err)
					continue; /* the job's end answers */
			}
			job_free(a.job);
		}
		reply(&s, &q, &a, err);
		err = 0;
		if (a.inject >= 0)
			close(a.inject);
		req_release(&q);
	}
	end_jobs(&s);
	sup_free(&s);
	return err;
out:
	say_ready(o, err);
	sup_free(&s);
	return err;
}
