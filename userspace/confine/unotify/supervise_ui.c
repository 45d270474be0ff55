// SPDX-License-Identifier: GPL-2.0-only
/*
 * supervise_ui.c - audit lines, learning and deciders for the supervisor
 * (supervise_ui.h).  The hooks run in the supervisor's thread, one request
 * at a time: nothing here needs a lock.
 */
#include "supervise_ui.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "strmap.h"
#include "util.h"

/* ---- describing an event -------------------------------------------- */

static const char *access_name(enum unotify_access a)
{
	switch (a) {
	case UNOTIFY_WRITE:
		return "write";
	case UNOTIFY_LOOK:
		return "stat";
	case UNOTIFY_EXEC:
		return "exec";
	default:
		return "read";
	}
}

/* "1.2.3.4" or "::1", and the port. */
static unsigned addr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	const struct sockaddr_in *in = (const void *)ss;
	const struct sockaddr_in6 *in6 = (const void *)ss;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)len);
		return ntohs(in->sin_port);
	}
	inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)len);
	return ntohs(in6->sin6_port);
}

/* S as a JSON string (quotes included). */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* The fields every JSON line shares: syscall, pid, and what was accessed. */
static void json_event_fields(FILE *f, const struct unotify_event *ev)
{
	fprintf(f, "\"syscall\":");
	json_string(f, ev->syscall);
	fprintf(f, ",\"pid\":%d", (int)ev->pid);
	if (ev->path) {
		fprintf(f, ",\"access\":\"%s\",\"path\":", access_name(ev->access));
		json_string(f, ev->path);
	} else if (ev->addr) {
		char a[INET6_ADDRSTRLEN] = "";
		unsigned port = addr_text(ev->addr, a, sizeof(a));

		fprintf(f, ",\"access\":\"%s\",\"address\":\"%s\",\"port\":%u",
			ev->bind ? "bind" : "connect", a, port);
	}
}

/* The same for people: "read /etc/x" or "connect 1.2.3.4 port 443". */
static void text_event(FILE *f, const struct unotify_event *ev)
{
	if (ev->path) {
		fprintf(f, "%s %s", access_name(ev->access), ev->path);
	} else if (ev->addr) {
		char a[INET6_ADDRSTRLEN] = "";
		unsigned port = addr_text(ev->addr, a, sizeof(a));

		fprintf(f, "%s %s port %u", ev->bind ? "bind" : "connect", a, port);
	}
}

/* ---- --audit -------------------------------------------------------- */

static void audit(struct sup_ui *u, const struct unotify_event *ev)
{
	const char *ename = strerrorname_np(-ev->error);

	if (u->json) {
		fputc('{', u->audit);
		json_event_fields(u->audit, ev);
		fprintf(u->audit, ",\"verdict\":\"denied\",\"errno\":\"%s\"}\n",
			ename ? ename : "?");
	} else {
		fprintf(u->audit, "mosctl: audit: denied %s ", ev->syscall);
		text_event(u->audit, ev);
		fprintf(u->audit, " pid %d (%s)\n", (int)ev->pid, ename ? ename : "?");
	}
	fflush(u->audit);
}

/* ---- --learn -------------------------------------------------------- */

/* A list of distinct strings, in the order first seen. */
struct pathset {
	char **v; /* NULL-terminated; an entry may be NULL once dropped */
	size_t n;
	struct strmap index; /* entry -> place in v */
};

static bool pathset_add(struct pathset *s, const char *p)
{
	bool added;
	size_t *i = strmap_add_str(&s->index, p, s->n, &added);

	if (added)
		strv_push(&s->v, &s->n, xstrdup(p));
	else if (!s->v[*i])
		s->v[*i] = xstrdup(p); /* dropped before, wanted again */
	return added || s->v[*i];
}

static bool pathset_has(const struct pathset *s, const char *p)
{
	size_t *i = strmap_find_str(&s->index, p);

	return i && s->v[*i];
}

static void pathset_drop(struct pathset *s, size_t i)
{
	free(s->v[i]);
	s->v[i] = NULL;
}

static void pathset_free(struct pathset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	strmap_free(&s->index);
	*s = (struct pathset){ 0 };
}

struct learned {
	struct pathset read, write, look, connect;
	uint16_t *bind;
	size_t nbind;
	struct timespec start; /* CLOCK_REALTIME_COARSE when the run began */
};

/* The directory PATH is in ("/" for "/x"). */
static char *dir_of(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	return dir;
}

static bool is_open_call(const char *syscall)
{
	return !strcmp(syscall, "open") || !strcmp(syscall, "openat") ||
	       !strcmp(syscall, "openat2") || !strcmp(syscall, "creat") || !strcmp(syscall, "?");
}

/*
 * What a write to PATH (by SYSCALL) needs granted, as narrow as what was
 * done: opening an existing file for writing needs that file, a device or a
 * FIFO is never created by open(2) (so /dev/null, not /dev), an O_TMPFILE
 * open names its directory, and truncate(2) its file; creating, removing,
 * renaming and linking need the directory the entry is in, and so does an
 * open that created its file (born since the run began, or when the file
 * system does not say when it was born).  A unix socket bound names its
 * directory already.
 */
static char *write_grant(const struct learned *l, const char *syscall, const char *path)
{
	struct statx stx;

	if (!strcmp(syscall, "bind"))
		return xstrdup(path);
	if (!is_open_call(syscall) && strcmp(syscall, "truncate"))
		return dir_of(path);
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_BTIME, &stx) < 0)
		return dir_of(path); /* gone again: what removed it is recorded too */
	if (!S_ISREG(stx.stx_mode) || !strcmp(syscall, "truncate"))
		return xstrdup(path);
	/* born before the run (a second of margin for coarse clocks): it was there */
	if ((stx.stx_mask & STATX_BTIME) && (stx.stx_btime.tv_sec < l->start.tv_sec - 1 ||
					     (stx.stx_btime.tv_sec == l->start.tv_sec - 1 &&
					      stx.stx_btime.tv_nsec < (uint32_t)l->start.tv_nsec)))
		return xstrdup(path);
	return dir_of(path);
}

static void learn(struct learned *l, const struct unotify_event *ev)
{
	struct stat st;

	if (ev->addr) {
		char a[INET6_ADDRSTRLEN] = "", spec[INET6_ADDRSTRLEN + 16];
		unsigned port = addr_text(ev->addr, a, sizeof(a));

		if (ev->bind) {
			for (size_t i = 0; i < l->nbind; i++)
				if (l->bind[i] == port)
					return;
			l->bind = xrealloc(l->bind, (l->nbind + 1) * sizeof(*l->bind));
			l->bind[l->nbind++] = (uint16_t)port;
			return;
		}
		snprintf(spec, sizeof(spec), ev->addr->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
			 a, port);
		pathset_add(&l->connect, spec);
		return;
	}
	if (!ev->path)
		return;
	if (ev->access == UNOTIFY_WRITE) {
		_cleanup_free_ char *g = write_grant(l, ev->syscall, ev->path);

		pathset_add(&l->write, g);
		return;
	}
	/*
	 * A stat, readlink or exec the supervisor let the kernel do itself
	 * reports no error here even when the path does not exist (a shell
	 * trying each directory of PATH): only what is there is a grant.
	 */
	if (lstat(ev->path, &st) < 0)
		return;
	pathset_add(ev->access == UNOTIFY_LOOK ? &l->look : &l->read, ev->path);
}

/* Granted whatever the policy says: the devices, and the system set. */
static bool always_there(const char *path)
{
	for (const char *const *d = mos_always_rw_devices; *d; d++)
		if (!strcmp(path, *d))
			return true;
	for (const char *const *d = mos_always_ro_devices; *d; d++)
		if (!strcmp(path, *d))
			return true;
	return false;
}

/* The system directories by their real paths (/lib is /usr/lib), once. */
struct system_dirs {
	char *v[16];
	size_t n;
};

static void system_dirs_init(struct system_dirs *sd)
{
	sd->n = 0;
	for (const char *const *d = mos_system_read_paths; *d && sd->n < ARRAY_SIZE(sd->v); d++) {
		char *real = realpath(*d, NULL);

		sd->v[sd->n++] = real ? real : xstrdup(*d);
	}
}

static void system_dirs_free(struct system_dirs *sd)
{
	for (size_t i = 0; i < sd->n; i++)
		free(sd->v[i]);
	sd->n = 0;
}

/* Beneath a directory --system grants. */
static bool in_system(const struct system_dirs *sd, const char *path)
{
	for (size_t i = 0; i < sd->n; i++)
		if (path_is_beneath(path, sd->v[i]))
			return true;
	return false;
}

/* "KEY": [...] of the entries left in V, after a comma unless *FIRST. */
static void json_list(FILE *f, const char *key, char *const *v, size_t n, bool *first)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		if (!k++)
			fprintf(f, "%s\"%s\": [", *first ? "" : ",\n    ", key);
		else
			fprintf(f, ",");
		fprintf(f, "\n      ");
		json_string(f, v[i]);
	}
	if (k) {
		fprintf(f, "\n    ]");
		*first = false;
	}
}

/* The entry of S that PATH lies beneath, itself excluded, or NULL: looked
 * up once per ancestor, not by a scan of S. */
static const char *covering(const struct pathset *s, const char *path)
{
	_cleanup_free_ char *up = xstrdup(path);

	for (char *slash; (slash = strrchr(up, '/')) != NULL && strcmp(up, "/");) {
		size_t *i;

		slash[slash == up ? 1 : 0] = '\0';
		i = strmap_find_str(&s->index, up);
		if (i && s->v[*i])
			return s->v[*i];
	}
	return NULL;
}

/* Drop the entries of S beneath another entry of S. */
static void drop_covered(struct pathset *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] && covering(s, s->v[i]))
			pathset_drop(s, i);
}

/* Every proper ancestor of the entries of S: the directories on the way. */
static void ancestors_of(const struct pathset *s, struct strmap *out)
{
	for (size_t i = 0; i < s->n; i++) {
		_cleanup_free_ char *up = NULL;

		if (!s->v[i])
			continue;
		up = xstrdup(s->v[i]);
		for (char *slash; (slash = strrchr(up, '/')) != NULL && strcmp(up, "/");) {
			bool added;

			slash[slash == up ? 1 : 0] = '\0';
			strmap_add_str(out, up, 0, &added);
			if (!added)
				break; /* and so are all of its own ancestors */
		}
	}
}

/*
 * Keep what is needed, each step linear in what was recorded: the system
 * set as "system": true, no entry covered by another, nothing granted
 * anyway (the devices), nothing that does not exist (any more: a grant on
 * a missing path is refused when the policy is loaded).  A path only
 * looked at (stat, readlink) becomes a read entry unless an entry covers it
 * or it is a directory on the way to one (which may be looked at anyway).
 */
static void prune(struct learned *l, bool *system)
{
	struct system_dirs sd;
	struct strmap on_the_way = { 0 };
	struct pathset *lists[] = { &l->read, &l->write, &l->look };
	struct stat st;

	system_dirs_init(&sd);
	/* /proc/N/...: the pids of another run differ; grant /proc */
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
		for (size_t i = 0; i < lists[k]->n; i++)
			if (lists[k]->v[i] && path_is_beneath(lists[k]->v[i], "/proc") &&
			    strcmp(lists[k]->v[i], "/proc")) {
				pathset_drop(lists[k], i);
				pathset_add(lists[k], "/proc");
			}
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
		for (size_t i = 0; i < lists[k]->n; i++) {
			const char *p = lists[k]->v[i];

			if (!p)
				continue;
			if (lists[k] == &l->read && in_system(&sd, p))
				*system = true;
			if ((lists[k] != &l->write && in_system(&sd, p)) || always_there(p) ||
			    lstat(p, &st) < 0)
				pathset_drop(lists[k], i);
		}
	drop_covered(&l->write);
	for (size_t i = 0; i < l->read.n; i++)
		if (l->read.v[i] &&
		    (pathset_has(&l->write, l->read.v[i]) || covering(&l->write, l->read.v[i])))
			pathset_drop(&l->read, i);
	ancestors_of(&l->read, &on_the_way);
	ancestors_of(&l->write, &on_the_way);
	for (size_t i = 0; i < l->look.n; i++) {
		const char *p = l->look.v[i];

		if (!p || strmap_find_str(&on_the_way, p) || pathset_has(&l->read, p) ||
		    pathset_has(&l->write, p) || covering(&l->read, p) || covering(&l->write, p))
			continue;
		pathset_add(&l->read, p);
	}
	drop_covered(&l->read);
	strmap_free(&on_the_way);
	system_dirs_free(&sd);
}

/*
 * Write FILE as a new file beside it, then rename it into place: never
 * through a symlink or into a FIFO someone left at the temporary name
 * (O_EXCL | O_NOFOLLOW, a random name), and FILE itself is replaced, not
 * written through.
 */
static int write_learned(struct learned *l, const char *file)
{
	_cleanup_free_ char *tmp = xasprintf("%s.XXXXXX", file);
	bool system = false, first = true;
	struct stat st;
	FILE *f;
	int fd;

	prune(l, &system);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		mos_err("--learn: cannot write %s: %s", tmp, strerror(errno));
		return -errno;
	}
	/* what a new file gets (mkostemp makes it 0600) */
	{
		mode_t um = umask(0);

		umask(um);
		(void)!fchmod(fd, 0666 & ~um);
	}
	f = fdopen(fd, "w");
	if (!f) {
		int err = errno;

		close(fd);
		unlink(tmp);
		mos_err("--learn: cannot write %s: %s", tmp, strerror(err));
		return -err;
	}
	fprintf(f, "{\n  \"fs\": {\n    ");
	if (system) {
		fprintf(f, "\"system\": true");
		first = false;
	}
	json_list(f, "read", l->read.v, l->read.n, &first);
	json_list(f, "write", l->write.v, l->write.n, &first);
	fprintf(f, "\n  },\n  \"net\": {\n    \"allow\": [");
	for (size_t i = 0; i < l->connect.n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_string(f, l->connect.v[i]);
	}
	fprintf(f, "],\n    \"bind\": [");
	for (size_t i = 0; i < l->nbind; i++)
		fprintf(f, "%s%u", i ? ", " : "", l->bind[i]);
	fprintf(f, "]\n  }\n}\n");
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
		int err = errno;

		fclose(f);
		unlink(tmp);
		mos_err("--learn: cannot write %s: %s", tmp, strerror(err));
		return -err;
	}
	if (fstat(fileno(f), &st) == 0 && st.st_size > (off_t)MOS_POLICY_MAX_BYTES)
		mos_warn("--learn: the policy is larger than %u bytes, more than a policy may be: "
			 "grant the directories it lists instead of their files",
			 MOS_POLICY_MAX_BYTES);
	fclose(f);
	if (rename(tmp, file) < 0) {
		int err = errno;

		unlink(tmp);
		mos_err("--learn: cannot write %s: %s", file, strerror(err));
		return -err;
	}
	return 0;
}

static void learned_free(struct learned *l)
{
	if (!l)
		return;
	pathset_free(&l->read);
	pathset_free(&l->write);
	pathset_free(&l->look);
	pathset_free(&l->connect);
	free(l->bind);
	free(l);
}

static void on_record(void *ctx, const struct unotify_event *ev)
{
	struct sup_ui *u = ctx;

	/* (a path outside the policy that does not exist fails with ENOENT,
	 * as on Landlock: not a denial) */
	if (u->audit && ev->by_policy && (ev->error == -EACCES || ev->error == -EPERM))
		audit(u, ev);
	if (u->learned && !ev->error)
		learn(u->learned, ev);
}

/* ---- asking --------------------------------------------------------- */

/*
 * One line from FD into LINE (without its newline, NUL-terminated, at most
 * MAX - 1 bytes) within DEADLINE, buffered in U->buf.  With PIDFD >= 0 (the
 * decider's), its end is noticed too, even while a process it left behind
 * keeps FD open.  A line longer than U->buf is dropped (STRICT false, the
 * terminal) or is -E2BIG (STRICT, a decider: nothing that long answers).
 * Returns the line's length, or -ETIMEDOUT, -EPIPE (end of file, or the
 * decider ended), -E2BIG.
 */
static ssize_t read_line(struct sup_ui *u, int fd, int pidfd, long long deadline, char *line,
			 size_t max, bool strict)
{
	for (;;) {
		char *nl = memchr(u->buf, '\n', u->len);
		struct pollfd pfd[3] = { { .fd = fd, .events = POLLIN },
					 { .fd = pidfd, .events = POLLIN },
					 { .fd = u->stop_fd, .events = POLLIN } };
		long long left = deadline - (long long)mono_ms();
		ssize_t r;

		if (nl) {
			size_t n = (size_t)(nl - u->buf);

			snprintf(line, max, "%.*s", (int)n, u->buf);
			memmove(u->buf, nl + 1, u->len - n - 1);
			u->len -= n + 1;
			return (ssize_t)n;
		}
		if (u->len == sizeof(u->buf)) {
			u->len = 0;
			if (strict)
				return -E2BIG;
			/* a line too long to be an answer: dropped */
		}
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(pfd, 3, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -ETIMEDOUT : -errno;
		if (pfd[2].revents)
			return -ECANCELED; /* mosctl is stopping: nobody waits for this */
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(fd, u->buf + u->len, sizeof(u->buf) - u->len);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0)
				return r == 0 ? -EPIPE : -errno;
			u->len += (size_t)r;
			continue;
		}
		if (pfd[1].revents)
			return -EPIPE; /* it ended; what it wrote before was read above */
	}
}

/* The verdict words of Documentation/supervisor.md: 1 always, 0 allow, -EACCES. */
static int verdict_word(const char *w, size_t n)
{
	if (n == 5 && !memcmp(w, "allow", 5))
		return 0;
	if (n == 6 && !memcmp(w, "always", 6))
		return 1;
	return -EACCES;
}

/* The first number of LINE (*AT: where it ends); false when there is none
 * or it does not fit. */
static bool first_number(const char *line, unsigned long *n, const char **at)
{
	const char *p = line;
	unsigned long v = 0;

	while (*p && (*p < '0' || *p > '9'))
		p++;
	if (!*p)
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULONG_MAX - 9) / 10)
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	*n = v;
	*at = p;
	return true;
}

int sup_decider_answer(const char *line, unsigned long id)
{
	struct json_value *doc = NULL;
	struct json_error err;
	const char *p, *w;
	unsigned long n;
	int r = -EACCES;

	if (!first_number(line, &n, &p) || n != id)
		return -ESRCH;
	/* {"id":N,"verdict":"WORD"}: the verdict member alone decides */
	if (json_parse(line, strlen(line), &doc, &err) == 0 && doc->type == JSON_OBJECT) {
		for (size_t i = 0; i < doc->object.n; i++) {
			const struct json_member *m = &doc->object.members[i];

			if (!strcmp(m->key, "verdict") && m->value->type == JSON_STRING)
				r = verdict_word(m->value->string.s, m->value->string.len);
		}
		json_free(doc);
		return r;
	}
	json_free(doc);
	/* "N WORD": the first word after the id, letters of either case (so
	 * that "3 DENY, always ask" is a deny, not an "always") */
	while (*p && !isalpha((unsigned char)*p))
		p++;
	for (w = p; isalpha((unsigned char)*p); p++)
		;
	return verdict_word(w, (size_t)(p - w));
}

/* A line that is no answer to ID may still answer an earlier question
 * (given up on): skipped.  Anything else breaks the protocol. */
static bool answers_earlier(const char *line, unsigned long id)
{
	unsigned long n;
	const char *p;

	return first_number(line, &n, &p) && n >= 1 && n < id;
}

/* The process group of the decider, its leader unreaped (so the group id
 * cannot have been given to anyone else): SIGNAL all of it. */
static void signal_decider(struct sup_ui *u, int sig)
{
	if (u->decider <= 0)
		return;
	kill(-u->decider, sig);
	if (u->decider_pidfd >= 0)
		pidfd_send_signal(u->decider_pidfd, sig, NULL, 0);
}

/* Wait up to MS for the decider's leader to end; true when it has. */
static bool decider_ended(const struct sup_ui *u, int ms)
{
	struct pollfd pfd = { .fd = u->decider_pidfd, .events = POLLIN };
	long long deadline = (long long)mono_ms() + ms;

	if (u->decider_pidfd < 0)
		return true;
	for (;;) {
		long long left = deadline - (long long)mono_ms();
		int r = poll(&pfd, 1, left > 0 ? (int)left : 0);

		if (r > 0)
			return true;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

/*
 * End the decider: close its pipes, give it GRACE_MS to leave by itself
 * (0: none), then SIGTERM, then SIGKILL, each to its whole process group,
 * and reap it.  Nothing of it is left running, whatever it does with
 * signals; only a process the kernel cannot kill (uninterruptible sleep)
 * is reported instead of waited for without end.
 */
static void decider_end(struct sup_ui *u, int grace_ms)
{
	siginfo_t si;

	closep(&u->to_decider);
	closep(&u->from_decider);
	u->to_decider = u->from_decider = -1;
	if (u->decider <= 0)
		return;
	if (!grace_ms || !decider_ended(u, grace_ms)) {
		signal_decider(u, SIGTERM);
		if (!decider_ended(u, grace_ms ? 1000 : 100))
			signal_decider(u, SIGKILL);
	}
	/* what it started and left in its group goes with it */
	signal_decider(u, SIGKILL);
	if (!decider_ended(u, 5000)) {
		mos_warn("--decider (pid %d) does not end even when killed; left to the kernel",
			 (int)u->decider);
	} else if (u->decider_pidfd >= 0) {
		(void)waitid(P_PIDFD, (id_t)u->decider_pidfd, &si, WEXITED | __WALL);
	}
	closep(&u->decider_pidfd);
	u->decider_pidfd = -1;
	u->decider = 0;
}

/* The decider broke the protocol or went away: say so once, end it, and
 * deny this and every later question without asking. */
static int decider_stop(struct sup_ui *u, const char *why, ...)
	__attribute__((format(printf, 2, 3)));

static int decider_stop(struct sup_ui *u, const char *why, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, why);
	vsnprintf(msg, sizeof(msg), why, ap);
	va_end(ap);
	mos_warn("--decider %s: stopped it; this and every later question is denied", msg);
	u->decider_stopped = true;
	decider_end(u, 0);
	return -EACCES;
}

/* Write the question Q (LEN bytes) before DEADLINE: 0, -ETIMEDOUT (its
 * input stays full: it does not read), or -errno (it closed its input). */
static int write_question(struct sup_ui *u, const char *q, size_t len, long long deadline)
{
	while (len) {
		struct pollfd pfd[2] = { { .fd = u->to_decider, .events = POLLOUT },
					 { .fd = u->stop_fd, .events = POLLIN } };
		long long left = deadline - (long long)mono_ms();
		ssize_t n = write(u->to_decider, q, len);

		if (n > 0) {
			q += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(pfd, 2, (int)left) < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents)
			return -ECANCELED;
	}
	return 0;
}

/* Lines printable in a message: at most 60 bytes, control bytes as '?'. */
static void shown(const char *line, char *out, size_t n)
{
	size_t i;

	for (i = 0; line[i] && i < 60 && i + 4 < n; i++)
		out[i] = (unsigned char)line[i] < 0x20 || line[i] == 0x7f ? '?' : line[i];
	snprintf(out + i, n - i, "%s", line[i] ? "..." : "");
}

/*
 * --decider CMD: one JSON line per question, {"id":N,...}; the answer is a
 * line naming the same id and a verdict, e.g. {"id":N,"verdict":"allow"}.
 * Answers to questions already given up on are skipped.  Every step is
 * bounded by --ask-timeout: writing the question (a decider that does not
 * read its input fills the pipe), and waiting for the answer.  A decider
 * that breaks the protocol (its output ends, a line answers no question, a
 * line longer than 4 KiB) is ended, and every later question denied.
 */
static int ask_decider(struct sup_ui *u, const struct unotify_event *ev)
{
	long long deadline = (long long)mono_ms() + u->timeout_ms;
	char *q = NULL, line[sizeof(u->buf)], text[80];
	size_t qlen = 0;
	FILE *f;
	unsigned long id;
	int r;

	if (u->decider_stopped)
		return -EACCES;
	id = ++u->id;
	f = open_memstream(&q, &qlen);
	if (!f)
		return -EACCES;
	fprintf(f, "{\"id\":%lu,", id);
	json_event_fields(f, ev);
	fprintf(f, "}\n");
	fclose(f);
	r = write_question(u, q, qlen, deadline);
	free(q);
	if (r == -ECANCELED)
		return -EACCES;
	if (r == -ETIMEDOUT)
		return decider_stop(u,
				    "did not take question %lu within %d ms (it does not read "
				    "its input)",
				    id, u->timeout_ms);
	if (r < 0 && decider_ended(u, 0))
		return decider_stop(u, "has ended");
	if (r < 0)
		return decider_stop(u, "closed its input (%s)", strerror(-r));
	for (;;) {
		ssize_t n = read_line(u, u->from_decider, u->decider_pidfd, deadline, line,
				      sizeof(line), true);

		if (n == -ECANCELED)
			return -EACCES; /* stopping: denied, the decider keeps its place */
		if (n == -ETIMEDOUT) {
			/* a slow answer is given up on; a decider that says nothing at
			 * all to two questions in a row would cost every later one its
			 * whole timeout too */
			if (++u->unanswered >= 2)
				return decider_stop(u,
						    "answered none of the last %d questions within "
						    "%d ms each",
						    u->unanswered, u->timeout_ms);
			mos_warn("--decider did not answer question %lu within %d ms: denied", id,
				 u->timeout_ms);
			return -EACCES;
		}
		if (n == -E2BIG)
			return decider_stop(u, "wrote a line longer than %zu bytes",
					    sizeof(u->buf) - 1);
		if (n == -EPIPE && decider_ended(u, 0))
			return decider_stop(u, "has ended");
		if (n < 0)
			return decider_stop(u, "closed its output (%s)",
					    n == -EPIPE ? "end of file" : strerror((int)-n));
		u->unanswered = 0; /* it speaks, if late */
		r = sup_decider_answer(line, id);
		if (r != -ESRCH)
			return r;
		if (!answers_earlier(line, id)) {
			shown(line, text, sizeof(text));
			return decider_stop(u,
					    "wrote \"%s\", which answers no question (%lu was "
					    "asked)",
					    text, id);
		}
	}
}

/* The terminal: a question on /dev/tty, a one-letter answer. */
static int ask_terminal(struct sup_ui *u, const struct unotify_event *ev)
{
	long long deadline = (long long)mono_ms() + u->timeout_ms;
	char line[256];
	FILE *f = fdopen(dup(u->tty), "w");
	ssize_t n;

	if (!f)
		return -EACCES;
	fprintf(f, "mosctl: pid %d (%s) wants to ", (int)ev->pid, ev->syscall);
	text_event(f, ev);
	fprintf(f, ". Allow? [y]es once, [a]lways, [N]o (%d s): ", u->timeout_ms / 1000);
	fflush(f);
	u->len = 0; /* nothing typed before the question counts */
	n = read_line(u, u->tty, -1, deadline, line, sizeof(line), false);
	if (n < 0)
		fprintf(f, "\nmosctl: no answer: denied\n");
	fclose(f);
	if (n < 0)
		return -EACCES;
	if (!strcmp(line, "a") || !strcmp(line, "always"))
		return 1;
	if (!strcmp(line, "y") || !strcmp(line, "yes") || !strcmp(line, "allow"))
		return 0;
	return -EACCES;
}

static int on_ask(void *ctx, const struct unotify_event *ev)
{
	struct sup_ui *u = ctx;

	u->stop_fd = ev->stop_fd;
	return u->decider > 0 || u->decider_stopped ? ask_decider(u, ev) : ask_terminal(u, ev);
}

/*
 * CMD through /bin/sh, its stdin and stdout ours, its stderr mosctl's.  It
 * is made with clone(CLONE_PIDFD) and no exit signal: so only we reap it (the
 * sandbox's waitpid(-1) does not see it), its pid and process group stay
 * ours to signal until we do, and a pidfd says when it ends.  Its own
 * process group lets mosctl end what it starts too; the parent-death
 * signal, that it ends with mosctl even when mosctl is killed.
 */
static int start_decider(struct sup_ui *u, const char *cmd, struct mos_err *e)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, pidfd = -1;
	pid_t parent = getpid(), pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		int err = errno;

		mos_err_set(e, "--decider: pipe: %s", strerror(err));
		closep(&in[0]);
		closep(&in[1]);
		return -err;
	}
	fflush(NULL);
	/*
	 * clone(2), not clone3: a mosctl inside another sandbox gets ENOSYS
	 * for clone3 (its flags are in memory seccomp cannot read).  No stack:
	 * the child runs on its copy of ours, as after fork; exit signal 0 (the
	 * low byte of the flags); the pidfd lands in the parent_tid argument.
	 */
	pid = (pid_t)syscall(SYS_clone, (unsigned long)CLONE_PIDFD, NULL, &pidfd, NULL, NULL);
	if (pid < 0) {
		int err = errno;

		mos_err_set(e, "--decider: cannot start it (clone): %s", strerror(err));
		closep(&in[0]);
		closep(&in[1]);
		closep(&out[0]);
		closep(&out[1]);
		return -err;
	}
	if (pid == 0) {
		sigset_t none;

		/* async-signal-safe calls only until execl: a copy of our memory */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid); /* also done by the child: whichever runs first */
	close(in[0]);
	close(out[1]);
	u->decider = pid;
	u->decider_pidfd = pidfd;
	u->to_decider = in[1];
	u->from_decider = out[0];
	/* a question never blocks: write_question() waits with a deadline */
	fcntl(u->to_decider, F_SETFL, O_NONBLOCK);
	/* a decider that exits must not kill us with SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int sup_ui_start(struct sup_ui *u, const struct run_opts *o, struct mos_err *e)
{
	memset(u, 0, sizeof(*u));
	u->tty = u->to_decider = u->from_decider = u->decider_pidfd = -1;
	u->hooks = (struct unotify_hooks){ .ctx = u, .ask = on_ask, .record = on_record };
	u->json = o->json;
	u->timeout_ms = (int)o->ask_timeout_ms;
	u->stop_fd = -1;
	if (o->audit && o->audit_file) {
		/* a regular file only: a FIFO nobody reads must not hang the run */
		int fd = open_regular_append(o->audit_file, "--audit file", e->msg, sizeof(e->msg));

		if (fd < 0)
			return fd;
		u->audit = fdopen(fd, "a");
		if (!u->audit) {
			int err = errno;

			close(fd);
			mos_err_set(e, "--audit: cannot open %s: %s", o->audit_file, strerror(err));
			return -err;
		}
		u->audit_close = true;
	} else if (o->audit) {
		u->audit = stderr;
	}
	if (o->learn) {
		u->learn = o->learn;
		u->learned = xcalloc(1, sizeof(*u->learned));
		clock_gettime(CLOCK_REALTIME_COARSE, &u->learned->start);
	}
	u->asks = o->policy.nask_fs || o->policy.ask_net;
	if (!u->asks)
		return 0;
	if (o->decider)
		return start_decider(u, o->decider, e);
	u->tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (u->tty < 0) {
		mos_err_set(e,
			    "--ask needs someone to answer: no terminal here (%s); give "
			    "--decider CMD",
			    strerror(errno));
		return -ENOTTY;
	}
	return 0;
}

int sup_ui_finish(struct sup_ui *u)
{
	int r = 0;

	if (u->learned) {
		r = write_learned(u->learned, u->learn);
		if (r == 0)
			mos_info("--learn: wrote the policy to %s", u->learn);
		learned_free(u->learned);
		u->learned = NULL;
	}
	if (u->audit_close)
		fclose(u->audit);
	u->audit = NULL;
	closep(&u->tty);
	u->tty = -1;
	/* its input ends: a second to leave by itself, then it is ended */
	decider_end(u, 1000);
	return r;
}
