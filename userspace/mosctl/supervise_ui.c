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
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
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

struct learned {
	char **read, **write, **look, **connect;
	size_t nread, nwrite, nlook, nconnect;
	uint16_t *bind;
	size_t nbind;
};

static void add_unique(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] && !strcmp((*v)[i], s))
			return;
	strv_push(v, n, xstrdup(s));
}

static void learn(struct learned *l, const struct unotify_event *ev)
{
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
		add_unique(&l->connect, &l->nconnect, spec);
		return;
	}
	if (!ev->path)
		return;
	if (ev->access == UNOTIFY_WRITE) {
		/* creating, removing, renaming: the directory it is in */
		_cleanup_free_ char *dir = xstrdup(ev->path);
		char *slash = strrchr(dir, '/');

		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		add_unique(&l->write, &l->nwrite, dir);
	} else if (ev->access == UNOTIFY_LOOK) {
		add_unique(&l->look, &l->nlook, ev->path);
	} else {
		add_unique(&l->read, &l->nread, ev->path);
	}
}

static bool beneath_list(char *const *v, size_t n, const char *path, const char *self)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] != self && path_is_beneath(path, v[i]))
			return true;
	return false;
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

/* Beneath a directory --system grants (by its real path: /lib is /usr/lib). */
static bool in_system(const char *path)
{
	for (const char *const *d = mos_system_read_paths; *d; d++) {
		_cleanup_free_ char *real = realpath(*d, NULL);

		if (path_is_beneath(path, real ? real : *d))
			return true;
	}
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

/* Drop (set to NULL) the entries of V beneath another entry of V. */
static void drop_covered(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; v[i] && j < n; j++)
			if (j != i && v[j] && path_is_beneath(v[i], v[j])) {
				free(v[i]);
				v[i] = NULL;
			}
}

static void drop_if(char **v, size_t n, bool (*fn)(const char *))
{
	for (size_t i = 0; i < n; i++)
		if (v[i] && fn(v[i])) {
			free(v[i]);
			v[i] = NULL;
		}
}

/* /proc/N/...: the pids of another run differ; grant /proc. */
static void proc_as_a_whole(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] && path_is_beneath(v[i], "/proc") && strcmp(v[i], "/proc")) {
			free(v[i]);
			v[i] = xstrdup("/proc");
		}
}

/* V holds an entry with P beneath it (P is on the way to it), or above it. */
static bool related(char *const *v, size_t n, const char *p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] && (path_is_beneath(v[i], p) || path_is_beneath(p, v[i])))
			return true;
	return false;
}

/*
 * Keep what is needed: the system set as "system": true, no entry covered
 * by another, nothing granted anyway (the devices).  A path only looked at
 * (stat, readlink) becomes a read entry unless an entry covers it or it is
 * a directory on the way to one (which may be looked at anyway).
 */
static void prune(struct learned *l, bool *system)
{
	proc_as_a_whole(l->read, l->nread);
	proc_as_a_whole(l->look, l->nlook);
	for (size_t i = 0; i < l->nread; i++)
		if (l->read[i] && in_system(l->read[i]))
			*system = true;
	drop_if(l->read, l->nread, in_system);
	drop_if(l->read, l->nread, always_there);
	drop_if(l->write, l->nwrite, always_there);
	drop_covered(l->write, l->nwrite);
	for (size_t i = 0; i < l->nread; i++)
		if (l->read[i] && related(l->write, l->nwrite, l->read[i]) &&
		    beneath_list(l->write, l->nwrite, l->read[i], NULL)) {
			free(l->read[i]);
			l->read[i] = NULL;
		}
	for (size_t i = 0; i < l->nlook; i++) {
		const char *p = l->look[i];

		if (always_there(p) || in_system(p) || related(l->read, l->nread, p) ||
		    related(l->write, l->nwrite, p))
			continue;
		add_unique(&l->read, &l->nread, p);
	}
	drop_covered(l->read, l->nread);
}

static int write_learned(struct learned *l, const char *file)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", file);
	bool system = false, first = true;
	FILE *f;

	prune(l, &system);
	f = fopen(tmp, "we");
	if (!f) {
		mos_err("--learn: cannot write %s: %s", tmp, strerror(errno));
		return -errno;
	}
	fprintf(f, "{\n  \"fs\": {\n    ");
	if (system) {
		fprintf(f, "\"system\": true");
		first = false;
	}
	json_list(f, "read", l->read, l->nread, &first);
	json_list(f, "write", l->write, l->nwrite, &first);
	fprintf(f, "\n  },\n  \"net\": {\n    \"allow\": [");
	for (size_t i = 0; i < l->nconnect; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_string(f, l->connect[i]);
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
	for (size_t i = 0; i < l->nread; i++)
		free(l->read[i]);
	free(l->read);
	for (size_t i = 0; i < l->nwrite; i++)
		free(l->write[i]);
	free(l->write);
	strv_free(l->look);
	strv_free(l->connect);
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

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line from FD into U->buf (without its newline) within DEADLINE;
 * returns its length, or -ETIMEDOUT, -EPIPE (the other end closed). */
static ssize_t read_line(struct sup_ui *u, int fd, long long deadline, char *line, size_t max)
{
	for (;;) {
		char *nl = memchr(u->buf, '\n', u->len);

		if (nl) {
			size_t n = (size_t)(nl - u->buf);

			snprintf(line, max, "%.*s", (int)n, u->buf);
			memmove(u->buf, nl + 1, u->len - n - 1);
			u->len -= n + 1;
			return (ssize_t)n;
		}
		if (u->len == sizeof(u->buf))
			u->len = 0; /* a line too long to be an answer: dropped */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -ETIMEDOUT : -errno;
		r = read(fd, u->buf + u->len, sizeof(u->buf) - u->len);
		if (r <= 0)
			return r == 0 ? -EPIPE : -errno;
		u->len += (size_t)r;
	}
}

/* What a verdict word says: "always" 1, "allow" 0, anything else -EACCES. */
static int verdict_word(const char *w, size_t n)
{
	if (n == 6 && !memcmp(w, "always", 6))
		return 1;
	if (n == 5 && !memcmp(w, "allow", 5))
		return 0;
	return -EACCES;
}

/* The terminal's answer, the whole line: "y", "yes", "allow" (once), "a",
 * "always"; anything else denies. */
static int verdict_of(const char *answer)
{
	if (!strcmp(answer, "y") || !strcmp(answer, "yes"))
		return 0;
	if (!strcmp(answer, "a"))
		return 1;
	return verdict_word(answer, strlen(answer));
}

/*
 * The verdict is the "verdict" member of a JSON object, or else the first
 * word after the id ("3 allow"), never a word found anywhere in the line:
 * a decider that echoes the question (its path may be /tmp/always) or
 * gives a reason ("deny: not allowed") must not allow by accident.
 */
int sup_decider_answer(const char *line, unsigned long id)
{
	struct json_value *doc = NULL;
	struct json_error err;
	const char *p = line, *w;
	char *end;
	int r = -EACCES;

	while (*p && (*p < '0' || *p > '9'))
		p++;
	if (!*p || strtoul(p, &end, 10) != id)
		return -ESRCH;
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
	/* a word is letters of either case: "3 DENY, always ask" is a deny */
	for (p = end; *p && !isalpha((unsigned char)*p); p++)
		;
	for (w = p; isalpha((unsigned char)*p); p++)
		;
	return verdict_word(w, (size_t)(p - w));
}

/*
 * --decider CMD: one JSON line per question, {"id":N,...}; the answer is a
 * line naming the same id and a verdict, e.g. {"id":N,"verdict":"allow"}.
 * Answers to questions already given up on are skipped.
 */
static int ask_decider(struct sup_ui *u, const struct unotify_event *ev)
{
	long long deadline = now_ms() + u->timeout_ms;
	char *q = NULL, line[1024];
	size_t qlen = 0;
	FILE *f = open_memstream(&q, &qlen);
	unsigned long id = ++u->id;

	if (!f)
		return -EACCES;
	fprintf(f, "{\"id\":%lu,", id);
	json_event_fields(f, ev);
	fprintf(f, "}\n");
	fclose(f);
	if (write_all(u->to_decider, q, qlen) < 0) {
		free(q);
		mos_warn("--decider is gone: denying");
		return -EACCES;
	}
	free(q);
	for (;;) {
		ssize_t n = read_line(u, u->from_decider, deadline, line, sizeof(line));
		int r;

		if (n == -ETIMEDOUT) {
			mos_warn("--decider did not answer question %lu within %d ms: denied", id,
				 u->timeout_ms);
			return -EACCES;
		}
		if (n < 0) {
			mos_warn("--decider is gone: denying");
			return -EACCES;
		}
		r = sup_decider_answer(line, id);
		if (r != -ESRCH)
			return r;
	}
}

/* The terminal: a question on /dev/tty, a one-letter answer. */
static int ask_terminal(struct sup_ui *u, const struct unotify_event *ev)
{
	long long deadline = now_ms() + u->timeout_ms;
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
	n = read_line(u, u->tty, deadline, line, sizeof(line));
	if (n < 0)
		fprintf(f, "\nmosctl: no answer: denied\n");
	fclose(f);
	return n < 0 ? -EACCES : verdict_of(line);
}

static int on_ask(void *ctx, const struct unotify_event *ev)
{
	struct sup_ui *u = ctx;

	return u->decider > 0 ? ask_decider(u, ev) : ask_terminal(u, ev);
}

/* CMD through /bin/sh, its stdin and stdout ours, its stderr mosctl's. */
static int start_decider(struct sup_ui *u, const char *cmd, struct mos_err *e)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		mos_err_set(e, "--decider: pipe: %s", strerror(errno));
		return -errno;
	}
	u->decider = fork();
	if (u->decider < 0) {
		mos_err_set(e, "--decider: fork: %s", strerror(errno));
		return -errno;
	}
	if (u->decider == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	u->to_decider = in[1];
	u->from_decider = out[0];
	/* a decider that exits must not kill us with SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int sup_ui_start(struct sup_ui *u, const struct run_opts *o, struct mos_err *e)
{
	memset(u, 0, sizeof(*u));
	u->tty = u->to_decider = u->from_decider = -1;
	u->hooks = (struct unotify_hooks){ .ctx = u, .ask = on_ask, .record = on_record };
	u->json = o->json;
	u->timeout_ms = (int)o->ask_timeout_ms;
	if (o->audit) {
		u->audit = o->audit_file ? fopen(o->audit_file, "ae") : stderr;
		if (!u->audit) {
			mos_err_set(e, "--audit: cannot open %s: %s", o->audit_file,
				    strerror(errno));
			return -errno;
		}
		u->audit_close = o->audit_file != NULL;
	}
	if (o->learn) {
		u->learn = o->learn;
		u->learned = xcalloc(1, sizeof(*u->learned));
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
	closep(&u->to_decider);
	closep(&u->from_decider);
	if (u->decider > 0) {
		/* its stdin is closed: it should end; do not wait forever */
		for (int i = 0; i < 100 && waitpid(u->decider, NULL, WNOHANG) == 0; i++)
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		if (waitpid(u->decider, NULL, WNOHANG) == 0) {
			kill(u->decider, SIGTERM);
			waitpid(u->decider, NULL, 0);
		}
		u->decider = 0;
	}
	return r;
}
