// SPDX-License-Identifier: GPL-2.0-only
/*
 * origin_serve.c - the origin's side of the file service protocol, and the
 * thread that serves it (origin_server_*).
 *
 * The thread: one, so that origin_fs stays single-threaded (it is used by
 * nothing else while the thread runs).  Requests wait in a queue in the
 * order they came; the thread takes one at a time.  An OPEN whose file must
 * be hashed does not hold up the requests behind it: it becomes a hash job,
 * and the thread alternates between the queue and slices of the hash jobs
 * (HASH_SLICE bytes each), so a 16 GiB file is hashed while the job's other
 * processes go on being served.  A hash job's reply is sent when its hash
 * is done.  Cancel (the job is being ended) is an atomic flag, read between
 * requests and slices and inside origin_fs's long loops.
 */
#include "origin_serve.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

static void reply_err(struct conn *c, uint32_t id, int r)
{
	conn_send_error(c, id, -r, NULL);
}

static void reply_empty(struct conn *c, const struct mos_frame_hdr *h)
{
	struct wire_buf b = { 0 };

	wire_buf_start(&b, h->type, MOS_F_REPLY, h->id);
	conn_send(c, &b);
}

static void reply_status(struct conn *c, const struct mos_frame_hdr *h, int r)
{
	if (r < 0)
		reply_err(c, h->id, r);
	else
		reply_empty(c, h);
}

/*
 * A directory's listing in one or more frames of TYPE, each: [PATH when
 * preloading], the directory's attributes, then entries; MORE on all but the
 * last.  Preloads go with the loop's frames, ahead of the JOB that follows
 * them (conn_send_as_loop).  Returns the bytes sent.
 */
static size_t send_listing(struct conn *c, uint8_t type, uint16_t flags, uint32_t id,
			   const char *preload_path, const struct mos_attr *dir,
			   const struct origin_dirent *ents, size_t n)
{
	size_t i = 0, sent = 0;

	do {
		struct wire_buf b = { 0 };

		wire_buf_start(&b, type, flags, id);
		if (preload_path)
			wire_put_str(&b, preload_path);
		wire_put(&b, dir, sizeof(*dir));
		for (; i < n; i++) {
			struct mos_dirent_hdr d = { .attr = ents[i].attr };
			size_t nl = strlen(ents[i].name),
			       ll = ents[i].link ? strlen(ents[i].link) : 0;

			if (nl > MOS_NAME_MAX || ll >= MOS_PATH_MAX)
				continue;
			if (b.len + sizeof(d) + nl + ll + 64 > MOS_FRAME_MAX)
				break;
			d.name_len = (uint16_t)nl;
			d.link_len = (uint16_t)ll;
			wire_put(&b, &d, sizeof(d));
			wire_put(&b, ents[i].name, nl);
			wire_put(&b, ents[i].link, ll);
		}
		if (i < n)
			((struct mos_frame_hdr *)b.p)->flags |= MOS_F_MORE;
		sent += b.len;
		if (preload_path)
			conn_send_as_loop(c, &b);
		else
			conn_send(c, &b);
	} while (i < n);
	return sent;
}

#define HASH_SLICE (16ULL << 20) /* bytes hashed between two looks at the queue: ~15 ms */
#define HASH_JOBS 16		 /* files hashed at once, at most (each holds an fd) */
#define QUEUE_HIGH (4U << 20)	 /* request bytes waiting: the loop reads no more above */
#define QUEUE_LOW (1U << 20)	 /* ... and reads again below */
#define QUEUE_COUNT_HIGH 4096U
#define QUEUE_COUNT_LOW 1024U
#define PRELOAD_BUDGET (96U << 20) /* PRELOAD_* bytes sent, at most (a worker takes 128 MiB) */

struct serve_req {
	struct serve_req *next;
	struct mos_frame_hdr h;
	uint8_t *payload;
};

/* An OPEN whose file is being hashed. */
struct hash_job {
	struct origin_open_op *op;
	uint32_t id;
	char *path;
};

struct origin_server {
	struct origin_service *s;
	struct conn *c;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* work queued, cancel, quit; and the thread's end */
	struct serve_req *head, **tail;
	size_t bytes, count; /* what the queue holds */
	bool held;	     /* conn_hold_input(true) for a full queue */
	bool quit, ended;
	atomic_bool cancel;
	/* the thread's own */
	bool cancel_seen;
	char *manifest;
	struct wire_buf job;
	int job_fd;
	struct hash_job hashes[HASH_JOBS];
	unsigned nhash, next_hash;
};

static void remember(char ***v, size_t *n, const char *path)
{
	if (*n < ORIGIN_MANIFEST_MAX)
		strv_push(v, n, xstrdup(path));
}

static void serve_listdir(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
			  const char *path)
{
	struct origin_dirent *ents = NULL;
	struct mos_attr dir;
	size_t n = 0;
	int r = origin_listdir(s->fs, path, &dir, &ents, &n);

	if (r < 0) {
		reply_err(c, h->id, r);
		return;
	}
	send_listing(c, MOS_MSG_LISTDIR, MOS_F_REPLY, h->id, NULL, &dir, ents, n);
	origin_dirents_free(ents, n);
	remember(&s->listed, &s->nlisted, path);
}

static void serve_stat(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
		       const char *path)
{
	struct mos_attr a;
	char *link = NULL;
	int r = origin_stat(s->fs, path, &a, &link);
	struct wire_buf b = { 0 };

	if (r < 0) {
		reply_err(c, h->id, r);
		return;
	}
	wire_buf_start(&b, MOS_MSG_STAT, MOS_F_REPLY, h->id);
	wire_put(&b, &a, sizeof(a));
	wire_put_str(&b, link);
	free(link);
	conn_send(c, &b);
}

/* The reply to OPEN request ID of PATH: R and, when 0, O. */
static void open_reply(struct conn *c, struct origin_service *s, uint32_t id, const char *path,
		       int r, const struct mos_open_reply *o)
{
	struct wire_buf b = { 0 };

	if (r < 0) {
		reply_err(c, id, r);
		return;
	}
	wire_buf_start(&b, MOS_MSG_OPEN, MOS_F_REPLY, id);
	wire_put(&b, o, sizeof(*o));
	conn_send(c, &b);
	remember(&s->opened, &s->nopened, path);
}

/* One slice of the next hash job; its reply when it is done. */
static void hash_slice(struct origin_server *srv)
{
	unsigned i = srv->next_hash++ % srv->nhash;
	struct hash_job *j = &srv->hashes[i];
	struct mos_open_reply o;
	int r = origin_open_step(j->op, HASH_SLICE, &o.attr, o.sha256);

	if (r == 1)
		return;
	open_reply(srv->c, srv->s, j->id, j->path, r, &o);
	free(j->path);
	srv->hashes[i] = srv->hashes[--srv->nhash];
}

static void serve_open(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
		       const char *path)
{
	struct origin_server *srv = s->srv;
	struct origin_open_op *op = NULL;
	struct mos_open_reply o;
	int r;

	if (!srv) {
		r = origin_open(s->fs, path, &o.attr, o.sha256);
		open_reply(c, s, h->id, path, r, &o);
		return;
	}
	/* as many files as that being hashed: this request waits for one */
	while (srv->nhash == HASH_JOBS)
		hash_slice(srv);
	r = origin_open_start(s->fs, path, &o.attr, o.sha256, &op);
	if (r != 1) {
		open_reply(c, s, h->id, path, r, &o);
		return;
	}
	srv->hashes[srv->nhash++] =
		(struct hash_job){ .op = op, .id = h->id, .path = xstrdup(path) };
}

static void serve_fetch(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
			const struct mos_fetch *f)
{
	uint64_t off = f->offset, left = f->length;
	_cleanup_free_ uint8_t *buf = xmalloc(MOS_DATA_CHUNK);

	if (!left || left > MOS_FETCH_MAX)
		left = MOS_FETCH_MAX;
	for (;;) {
		size_t want = left < MOS_DATA_CHUNK ? (size_t)left : MOS_DATA_CHUNK;
		ssize_t n = origin_fetch(s->fs, f->sha256, off, buf, want);
		struct wire_buf b = { 0 };
		bool last;

		if (n < 0) {
			reply_err(c, h->id, (int)n);
			return;
		}
		off += (uint64_t)n;
		left -= (uint64_t)n;
		last = (size_t)n < want || !left;
		wire_buf_start(&b, MOS_MSG_FETCH, MOS_F_REPLY | (last ? 0 : MOS_F_MORE), h->id);
		wire_put_var(&b, buf, (size_t)n);
		conn_send(c, &b);
		if (last)
			return;
	}
}

/* FETCH_SPARSE: only the data of the range, each piece with its offset. */
static void serve_fetch_sparse(struct conn *c, struct origin_service *s,
			       const struct mos_frame_hdr *h, const struct mos_fetch *f)
{
	uint64_t off = f->offset, len = f->length, end;
	_cleanup_free_ uint8_t *buf = xmalloc(MOS_DATA_CHUNK);

	if (!len || len > MOS_FETCH_MAX)
		len = MOS_FETCH_MAX;
	end = off > INT64_MAX - len ? INT64_MAX : off + len;
	for (;;) {
		uint64_t at;
		ssize_t n =
			origin_fetch_sparse(s->fs, f->sha256, off, end, &at, buf, MOS_DATA_CHUNK);
		struct mos_fetch_extent x = { .offset = at };
		struct wire_buf b = { 0 };
		bool last;

		if (n < 0) {
			reply_err(c, h->id, (int)n);
			return;
		}
		last = n == 0 || x.offset + (uint64_t)n >= end;
		wire_buf_start(&b, MOS_MSG_FETCH_SPARSE, MOS_F_REPLY | (last ? 0 : MOS_F_MORE),
			       h->id);
		wire_put(&b, &x, sizeof(x));
		wire_put_var(&b, buf, (size_t)n);
		conn_send(c, &b);
		if (last)
			return;
		off = x.offset + (uint64_t)n;
	}
}

static int put_slot(struct origin_service *s, uint32_t handle)
{
	if (handle == 0 || handle > ORIGIN_MAX_PUTS || !s->puts[handle - 1])
		return -1;
	return (int)handle - 1;
}

static void serve_put_begin(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
			    const struct mos_put *p, const char *path)
{
	struct mos_put_handle ph = { 0 };
	struct wire_buf b = { 0 };
	int slot, r;

	for (slot = 0; slot < ORIGIN_MAX_PUTS && s->puts[slot]; slot++)
		;
	if (slot == ORIGIN_MAX_PUTS) {
		reply_err(c, h->id, -EMFILE);
		return;
	}
	if (p->flags & ~(uint32_t)MOS_PUT_SPARSE ||
	    (p->flags & MOS_PUT_SPARSE && p->size > (uint64_t)INT64_MAX)) {
		reply_err(c, h->id, -EINVAL);
		return;
	}
	r = origin_put_begin(s->fs, path, p->mode,
			     p->flags & MOS_PUT_SPARSE ? (int64_t)p->size : -1, &s->puts[slot]);
	if (r < 0) {
		s->puts[slot] = NULL;
		reply_err(c, h->id, r);
		return;
	}
	s->put_err[slot] = 0;
	ph.handle = (uint32_t)slot + 1;
	wire_buf_start(&b, MOS_MSG_PUT_BEGIN, MOS_F_REPLY, h->id);
	wire_put(&b, &ph, sizeof(ph));
	conn_send(c, &b);
}

static void serve_put_end(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
			  const struct mos_put_end *e)
{
	int slot = put_slot(s, e->handle), r;

	if (slot < 0) {
		reply_err(c, h->id, -EBADF);
		return;
	}
	r = s->put_err[slot];
	if (r < 0 || e->abort) {
		origin_put_abort(s->puts[slot]);
	} else {
		r = origin_put_end(s->puts[slot], e->mtime_sec, e->mtime_nsec);
	}
	s->puts[slot] = NULL;
	reply_status(c, h, r);
}

/*
 * The request is outside the job's policy: refuse it (EACCES) and say so.
 * The check is on the path's text; origin_fs then resolves that text
 * following no symlink, so what it acts on is what was checked.  (A worker
 * never needs one: its kernel follows the symlinks in the listings it is
 * given and asks for resolved paths.)  Renaming a directory that holds a
 * denied path would give the denied files a name the check allows: refused
 * too.
 */
static bool out_of_scope(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
			 const char *path, enum scope_access what)
{
	if (!s->scope || origin_scope_allows(s->scope, path, what))
		return false;
	s->refused++;
	mos_info("refused the worker's %s %s: outside this job's policy", wire_msg_name(h->type),
		 path);
	reply_err(c, h->id, -EACCES);
	return true;
}

/* A rename end that would carry a denied path out of its name. */
static bool moves_denied(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
			 const char *path)
{
	if (!s->scope || !origin_scope_holds_denied(s->scope, path))
		return false;
	s->refused++;
	mos_info("refused the worker's %s %s: a path this job's policy denies lies beneath it",
		 wire_msg_name(h->type), path);
	reply_err(c, h->id, -EACCES);
	return true;
}

bool origin_serve_frame(struct conn *c, struct origin_service *s, const struct mos_frame_hdr *h,
			const uint8_t *payload)
{
	struct wire_reader rd;
	_cleanup_free_ char *p1 = NULL, *p2 = NULL;
	int r;

	wire_reader_init(&rd, payload, h->len);
	switch (h->type) {
	case MOS_MSG_UNLINK:
	case MOS_MSG_RMDIR:
	case MOS_MSG_PUT_BEGIN:
	case MOS_MSG_PUT_END:
	case MOS_MSG_MKDIR:
	case MOS_MSG_CHMOD:
	case MOS_MSG_RENAME:
	case MOS_MSG_SYMLINK:
	case MOS_MSG_LINK:
	case MOS_MSG_TRUNCATE:
	case MOS_MSG_UTIMENS:
		/* asked, whether or not it is allowed or succeeds: a job that
		 * asked to change anything here is never run again elsewhere */
		s->mutations++;
		break;
	default:
		break;
	}
	switch (h->type) {
	case MOS_MSG_LISTDIR:
	case MOS_MSG_STAT:
	case MOS_MSG_OPEN:
	case MOS_MSG_UNLINK:
	case MOS_MSG_RMDIR:
		if (!wire_get_str(&rd, &p1, MOS_PATH_MAX) || !wire_end(&rd))
			break;
		s->requests++;
		if (out_of_scope(c, s, h, p1,
				 h->type == MOS_MSG_LISTDIR || h->type == MOS_MSG_STAT ? SCOPE_LIST
				 : h->type == MOS_MSG_OPEN			       ? SCOPE_READ
							   : SCOPE_WRITE))
			return true;
		if (h->type == MOS_MSG_LISTDIR)
			serve_listdir(c, s, h, p1);
		else if (h->type == MOS_MSG_STAT)
			serve_stat(c, s, h, p1);
		else if (h->type == MOS_MSG_OPEN)
			serve_open(c, s, h, p1);
		else if (h->type == MOS_MSG_UNLINK)
			reply_status(c, h, origin_unlink(s->fs, p1));
		else
			reply_status(c, h, origin_rmdir(s->fs, p1));
		return true;
	case MOS_MSG_FETCH:
	case MOS_MSG_FETCH_SPARSE: {
		struct mos_fetch f;

		if (!wire_get(&rd, &f, sizeof(f)) || !wire_end(&rd))
			break;
		s->requests++;
		if (h->type == MOS_MSG_FETCH)
			serve_fetch(c, s, h, &f);
		else
			serve_fetch_sparse(c, s, h, &f);
		return true;
	}
	case MOS_MSG_PUT_BEGIN: {
		struct mos_put p;

		if (!wire_get(&rd, &p, sizeof(p)) || !wire_get_str(&rd, &p1, MOS_PATH_MAX) ||
		    !wire_end(&rd))
			break;
		s->requests++;
		if (out_of_scope(c, s, h, p1, SCOPE_WRITE))
			return true;
		serve_put_begin(c, s, h, &p, p1);
		return true;
	}
	case MOS_MSG_PUT_DATA: {
		struct mos_put_data d;
		const void *data;
		size_t len;
		int slot;

		if (!wire_get(&rd, &d, sizeof(d)) ||
		    !wire_get_var(&rd, &data, &len, MOS_DATA_CHUNK) || !wire_end(&rd))
			break;
		slot = put_slot(s, d.handle);
		if (slot < 0) {
			conn_fail(c, "PUT_DATA for a file that is not being written");
			return true;
		}
		if (!s->put_err[slot]) {
			r = origin_put_write(s->puts[slot], d.offset, data, len);
			if (r < 0)
				s->put_err[slot] = r;
		}
		return true;
	}
	case MOS_MSG_PUT_END: {
		struct mos_put_end e;

		if (!wire_get(&rd, &e, sizeof(e)) || !wire_end(&rd))
			break;
		s->requests++;
		serve_put_end(c, s, h, &e);
		return true;
	}
	case MOS_MSG_MKDIR:
	case MOS_MSG_CHMOD: {
		struct mos_mode_arg m;

		if (!wire_get(&rd, &m, sizeof(m)) || !wire_get_str(&rd, &p1, MOS_PATH_MAX) ||
		    !wire_end(&rd))
			break;
		s->requests++;
		if (out_of_scope(c, s, h, p1, SCOPE_WRITE))
			return true;
		r = h->type == MOS_MSG_MKDIR ? origin_mkdir(s->fs, p1, m.mode)
					     : origin_chmod(s->fs, p1, m.mode);
		reply_status(c, h, r);
		return true;
	}
	case MOS_MSG_RENAME: {
		struct mos_rename m;

		if (!wire_get(&rd, &m, sizeof(m)) || !wire_get_str(&rd, &p1, MOS_PATH_MAX) ||
		    !wire_get_str(&rd, &p2, MOS_PATH_MAX) || !wire_end(&rd))
			break;
		s->requests++;
		if (out_of_scope(c, s, h, p1, SCOPE_WRITE) ||
		    out_of_scope(c, s, h, p2, SCOPE_WRITE) || moves_denied(c, s, h, p1) ||
		    moves_denied(c, s, h, p2))
			return true;
		reply_status(c, h, origin_rename(s->fs, p1, p2, m.flags));
		return true;
	}
	case MOS_MSG_SYMLINK:
	case MOS_MSG_LINK:
		if (!wire_get_str(&rd, &p1, MOS_PATH_MAX) ||
		    !wire_get_str(&rd, &p2, MOS_PATH_MAX) || !wire_end(&rd))
			break;
		s->requests++;
		if ((h->type == MOS_MSG_LINK && out_of_scope(c, s, h, p1, SCOPE_WRITE)) ||
		    out_of_scope(c, s, h, p2, SCOPE_WRITE))
			return true;
		r = h->type == MOS_MSG_SYMLINK ? origin_symlink(s->fs, p1, p2)
					       : origin_link(s->fs, p1, p2);
		reply_status(c, h, r);
		return true;
	case MOS_MSG_TRUNCATE: {
		struct mos_truncate t;

		if (!wire_get(&rd, &t, sizeof(t)) || !wire_get_str(&rd, &p1, MOS_PATH_MAX) ||
		    !wire_end(&rd))
			break;
		s->requests++;
		if (out_of_scope(c, s, h, p1, SCOPE_WRITE))
			return true;
		reply_status(c, h, origin_truncate(s->fs, p1, t.size));
		return true;
	}
	case MOS_MSG_UTIMENS: {
		struct mos_utimens u;
		struct timespec ts[2];

		if (!wire_get(&rd, &u, sizeof(u)) || !wire_get_str(&rd, &p1, MOS_PATH_MAX) ||
		    !wire_end(&rd))
			break;
		s->requests++;
		if (out_of_scope(c, s, h, p1, SCOPE_WRITE))
			return true;
		ts[0] = (struct timespec){ .tv_sec = u.atime_sec, .tv_nsec = u.atime_nsec };
		ts[1] = (struct timespec){ .tv_sec = u.mtime_sec, .tv_nsec = u.mtime_nsec };
		reply_status(c, h, origin_utimens(s->fs, p1, ts));
		return true;
	}
	default:
		return false;
	}
	{
		char why[160];

		snprintf(why, sizeof(why), "malformed %s request: %s", wire_msg_name(h->type),
			 wire_reader_why(&rd));
		conn_fail(c, why);
	}
	return true;
}

void origin_service_pin_trees(struct origin_service *s)
{
	if (!s->scope)
		return;
	/* a tree that is missing, a file or reached through a symlink stays
	 * unpinned: paths beneath it resolve from "/", following no symlink */
	for (size_t i = 0; i < s->scope->nwrite; i++)
		origin_fs_pin_tree(s->fs, s->scope->write[i]);
	for (size_t i = 0; i < s->scope->nread; i++)
		origin_fs_pin_tree(s->fs, s->scope->read[i]);
}

void origin_service_free(struct origin_service *s)
{
	origin_service_abort(s);
	strv_free(s->listed);
	strv_free(s->opened);
	s->listed = s->opened = NULL;
	s->nlisted = s->nopened = 0;
}

void origin_service_abort(struct origin_service *s)
{
	for (int i = 0; i < ORIGIN_MAX_PUTS; i++) {
		if (s->puts[i])
			origin_put_abort(s->puts[i]);
		s->puts[i] = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* The job manifest: what a job of this kind looked up last time.     */
/* ------------------------------------------------------------------ */

int origin_manifest_save(const struct origin_service *s, const char *file)
{
	/* a new file of a random name (O_EXCL, no symlink followed), renamed over FILE */
	_cleanup_free_ char *tmp = xasprintf("%s.XXXXXX", file);
	int fd = mkostemp(tmp, O_CLOEXEC);
	FILE *f;

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return -e;
	}
	for (size_t i = 0; i < s->nlisted; i++)
		fprintf(f, "D %s\n", s->listed[i]);
	for (size_t i = 0; i < s->nopened; i++)
		fprintf(f, "F %s\n", s->opened[i]);
	if (fclose(f) != 0 || rename(tmp, file) < 0) {
		int e = errno;

		unlink(tmp);
		return -e;
	}
	return 0;
}

size_t origin_manifest_send(struct conn *c, struct origin_service *s, const char *file)
{
	/* a regular file only (a FIFO must not hang the job), of a bounded size */
	int fd = open_regular(file, "job manifest",
			      (size_t)ORIGIN_MANIFEST_MAX * (MOS_PATH_MAX + 8), NULL, 0);
	char line[MOS_PATH_MAX + 8];
	size_t sent = 0, count = 0, bytes = 0;
	FILE *f;

	if (fd < 0)
		return 0;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return 0;
	}
	while (fgets(line, sizeof(line), f) && count++ < ORIGIN_MANIFEST_MAX &&
	       bytes < PRELOAD_BUDGET && !(s->srv && atomic_load(&s->srv->cancel))) {
		size_t len = strlen(line);
		const char *path = line + 2;

		if (len < 4 || line[len - 1] != '\n' || line[1] != ' ' || line[2] != '/')
			continue; /* a damaged manifest costs round trips, nothing else */
		line[len - 1] = 0;
		if (origin_path_check(path) < 0)
			continue;
		if (line[0] == 'D') {
			struct origin_dirent *ents = NULL;
			struct mos_attr dir;
			size_t n = 0;

			if (s->scope && !origin_scope_allows(s->scope, path, SCOPE_LIST))
				continue;
			if (origin_listdir(s->fs, path, &dir, &ents, &n) < 0)
				continue;
			bytes +=
				send_listing(c, MOS_MSG_PRELOAD_LISTDIR, 0, 0, path, &dir, ents, n);
			origin_dirents_free(ents, n);
			/* kept for the next job too: this one will not ask for it */
			remember(&s->listed, &s->nlisted, path);
			sent++;
		} else if (line[0] == 'F') {
			struct mos_open_reply o;
			struct wire_buf b = { 0 };

			if (s->scope && !origin_scope_allows(s->scope, path, SCOPE_READ))
				continue;
			if (origin_open(s->fs, path, &o.attr, o.sha256) < 0)
				continue;
			wire_buf_start(&b, MOS_MSG_PRELOAD_OPEN, 0, 0);
			wire_put_str(&b, path);
			wire_put(&b, &o, sizeof(o));
			bytes += b.len;
			conn_send_as_loop(c, &b);
			remember(&s->opened, &s->nopened, path);
			sent++;
		}
	}
	fclose(f);
	return sent;
}

/* ------------------------------------------------------------------ */
/* The serving thread                                                  */
/* ------------------------------------------------------------------ */

bool origin_serve_is_request(uint8_t type)
{
	return (type >= MOS_MSG_LISTDIR && type <= MOS_MSG_LINK) || type == MOS_MSG_FETCH_SPARSE;
}

/* The next request, or NULL; called with the lock held. */
static struct serve_req *pop_locked(struct origin_server *srv)
{
	struct serve_req *q = srv->head;

	if (!q)
		return NULL;
	srv->head = q->next;
	if (!srv->head)
		srv->tail = &srv->head;
	srv->bytes -= sizeof(*q) + q->h.len;
	srv->count--;
	if (srv->held && srv->bytes <= QUEUE_LOW && srv->count <= QUEUE_COUNT_LOW) {
		srv->held = false;
		conn_hold_input(srv->c, false);
	}
	return q;
}

static void serve_one(struct origin_server *srv, struct serve_req *q)
{
	if (atomic_load(&srv->cancel)) {
		/* the job is being ended: nothing more changes or leaves here */
		if (q->h.type != MOS_MSG_PUT_DATA)
			conn_send_error(srv->c, q->h.id, ECANCELED, "the origin is ending the job");
		return;
	}
	origin_serve_frame(srv->c, srv->s, &q->h, q->payload);
}

/* Cancelled: what is under way stops, the write-backs not ended are dropped. */
static void end_everything(struct origin_server *srv, bool reply)
{
	origin_service_abort(srv->s);
	while (srv->nhash) {
		struct hash_job *j = &srv->hashes[--srv->nhash];

		origin_open_abort(j->op);
		if (reply)
			conn_send_error(srv->c, j->id, ECANCELED, "the origin is ending the job");
		free(j->path);
	}
}

static void *server_main(void *arg)
{
	struct origin_server *srv = arg;

	/* the granted trees are opened first (a tree on a filesystem that does
	 * not answer holds up this thread, not the loop); then the manifest's
	 * listings and hashes go ahead of the job (protocol.md §5) */
	origin_service_pin_trees(srv->s);
	if (srv->manifest)
		origin_manifest_send(srv->c, srv->s, srv->manifest);
	if (!atomic_load(&srv->cancel)) {
		uint64_t one = 1;

		/* in the loop's queue, as the preloads: the job's input, which
		 * the loop sends once told, must not overtake it */
		conn_send_as_loop(srv->c, &srv->job);
		if (srv->job_fd >= 0 && write(srv->job_fd, &one, sizeof(one)) < 0)
			mos_warn("cannot tell the loop the job was sent: %s", strerror(errno));
	}
	wire_buf_free(&srv->job);
	for (;;) {
		struct serve_req *q;

		pthread_mutex_lock(&srv->lock);
		while (!srv->head && !srv->nhash && !srv->quit &&
		       (srv->cancel_seen || !atomic_load(&srv->cancel)))
			pthread_cond_wait(&srv->cond, &srv->lock);
		if (srv->quit) {
			pthread_mutex_unlock(&srv->lock);
			break;
		}
		q = pop_locked(srv);
		pthread_mutex_unlock(&srv->lock);
		if (atomic_load(&srv->cancel) && !srv->cancel_seen) {
			srv->cancel_seen = true;
			end_everything(srv, true);
		}
		if (q) {
			serve_one(srv, q);
			free(q->payload);
			free(q);
		}
		if (srv->nhash)
			hash_slice(srv);
	}
	end_everything(srv, false);
	pthread_mutex_lock(&srv->lock);
	srv->ended = true;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

struct origin_server *origin_server_start(struct origin_service *s, struct conn *c,
					  const char *manifest, struct wire_buf *job, int job_fd)
{
	struct origin_server *srv = xcalloc(1, sizeof(*srv));
	int err;

	srv->s = s;
	srv->job_fd = job_fd;
	srv->c = c;
	srv->tail = &srv->head;
	srv->manifest = manifest ? xstrdup(manifest) : NULL;
	srv->job = *job;
	*job = (struct wire_buf){ 0 };
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	s->srv = srv;
	origin_fs_set_cancel(s->fs, &srv->cancel);
	{
		/* signals are the loop's (a signalfd): the thread takes none, from
		 * its first instruction on (it inherits this mask) */
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		err = pthread_create(&srv->thread, NULL, server_main, srv);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (err) {
		mos_err("cannot start the file service's thread: %s", strerror(err));
		origin_fs_set_cancel(s->fs, NULL);
		s->srv = NULL;
		wire_buf_free(&srv->job);
		free(srv->manifest);
		pthread_mutex_destroy(&srv->lock);
		pthread_cond_destroy(&srv->cond);
		free(srv);
		return NULL;
	}
	return srv;
}

bool origin_server_submit(struct origin_server *srv, const struct mos_frame_hdr *h,
			  uint8_t *payload)
{
	struct serve_req *q;

	if (!origin_serve_is_request(h->type))
		return false;
	q = xcalloc(1, sizeof(*q));
	q->h = *h;
	q->payload = payload;
	pthread_mutex_lock(&srv->lock);
	*srv->tail = q;
	srv->tail = &q->next;
	srv->bytes += sizeof(*q) + h->len;
	srv->count++;
	if (!srv->held && (srv->bytes > QUEUE_HIGH || srv->count > QUEUE_COUNT_HIGH)) {
		/* bound what a worker can make us hold: it waits in its TCP */
		srv->held = true;
		conn_hold_input(srv->c, true);
	}
	pthread_cond_signal(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return true;
}

void origin_server_cancel(struct origin_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	atomic_store(&srv->cancel, true);
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

bool origin_server_stop(struct origin_server *srv, unsigned wait_ms)
{
	struct origin_service *s = srv->s;
	struct timespec deadline;
	bool ended;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&srv->lock);
	atomic_store(&srv->cancel, true);
	srv->quit = true;
	pthread_cond_broadcast(&srv->cond);
	while (!srv->ended && pthread_cond_timedwait(&srv->cond, &srv->lock, &deadline) == 0)
		;
	ended = srv->ended;
	pthread_mutex_unlock(&srv->lock);
	if (!ended) {
		/* in the kernel (a filesystem that does not answer): leave it
		 * everything it may still touch; the process ends soon */
		mos_warn("the file service did not stop within %u ms (a filesystem that does not "
			 "answer?): not waiting for it",
			 wait_ms);
		pthread_detach(srv->thread);
		return false;
	}
	pthread_join(srv->thread, NULL);
	while (srv->head) {
		struct serve_req *q = srv->head;

		srv->head = q->next;
		free(q->payload);
		free(q);
	}
	origin_fs_set_cancel(s->fs, NULL);
	s->srv = NULL;
	free(srv->manifest);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	free(srv);
	return true;
}
