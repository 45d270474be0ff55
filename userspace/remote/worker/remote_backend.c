// SPDX-License-Identifier: GPL-2.0-only
/*
 * remote_backend.c - mosfs operations as file service requests to the origin.
 */
#include "remote_backend.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static void put_path_req(struct wire_buf *b, uint8_t type, const void *body, size_t blen,
			 const char *path)
{
	wire_buf_start(b, type, 0, 0);
	if (blen)
		wire_put(b, body, blen);
	wire_put_str(b, path);
}

/* ------------------------------------------------------------------ */

/* Entries of one directory listing, at most: the origin may send a listing
 * in as many MORE frames as it likes, and each entry is kept. */
#define LISTING_MAX_ENTRIES (1U << 20)

struct listing {
	struct mos_attr dir;
	struct origin_dirent *ents;
	size_t n, cap;
};

static bool name_ok(const char *s, size_t n)
{
	if (!n || memchr(s, '/', n) || memchr(s, 0, n))
		return false;
	return !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

static int listing_frame(void *arg, const struct mos_frame_hdr *h, const uint8_t *p, size_t len)
{
	struct listing *l = arg;
	struct wire_reader rd;

	(void)h;
	wire_reader_init(&rd, p, len);
	if (!wire_get(&rd, &l->dir, sizeof(l->dir)))
		return -EPROTO;
	while (rd.off < rd.len) {
		struct mos_dirent_hdr d;
		const char *name, *link;

		if (!wire_get(&rd, &d, sizeof(d)) || d.name_len > MOS_NAME_MAX ||
		    d.link_len >= MOS_PATH_MAX || rd.len - rd.off < (size_t)d.name_len + d.link_len)
			return -EPROTO;
		name = (const char *)rd.p + rd.off;
		link = name + d.name_len;
		rd.off += (size_t)d.name_len + d.link_len;
		/* (symlink(2) makes no symlink with an empty target: only a
		 * broken or hostile origin sends one) */
		if (!name_ok(name, d.name_len) || memchr(link, 0, d.link_len) ||
		    ((d.attr.mode & S_IFMT) == S_IFLNK && !d.link_len))
			return -EPROTO;
		if (l->n >= LISTING_MAX_ENTRIES)
			return -EFBIG;
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 64;
			l->ents = xrealloc(l->ents, l->cap * sizeof(*l->ents));
		}
		l->ents[l->n++] = (struct origin_dirent){
			.name = xstrndup(name, d.name_len),
			.attr = d.attr,
			.link = (d.attr.mode & S_IFMT) == S_IFLNK ? xstrndup(link, d.link_len)
								  : NULL,
		};
	}
	return 0;
}

struct preloaded_listing {
	struct preloaded_listing *next;
	char *path;
	struct listing l;
	bool complete; /* its last frame (no MORE) has arrived */
	/* a session's: kept from job to job (taken as copies), until
	 * invalidated; else the job's own, handed over on first use */
	bool keep;
	bool poisoned; /* invalidated while it came in: dropped once complete */
	uint64_t gen;  /* rb->gen when it began */
};

/* What a session keeps, at most: past this, it starts again from nothing. */
#define SESSION_MAX_ENTRIES (2U << 20)

static void kept_free(struct preloaded_listing *p)
{
	origin_dirents_free(p->l.ents, p->l.n);
	free(p->path);
	free(p);
}

/* Whether the listing of DIR may hold what PATH's change affects: DIR is
 * PATH, beneath it, or its parent. */
static bool affected(const char *dir, const char *path)
{
	size_t n = strlen(path);
	const char *slash = strrchr(path, '/');
	size_t plen = slash ? (size_t)(slash - path) : 0;

	if (!strcmp(path, "/"))
		return true;
	if (!strncmp(dir, path, n) && (dir[n] == 0 || dir[n] == '/'))
		return true;
	if (plen == 0)
		return !strcmp(dir, "/");
	return strlen(dir) == plen && !strncmp(dir, path, plen);
}

void remote_backend_invalidate(struct remote_backend *rb, const char *path)
{
	struct preloaded_listing **pp, *p;

	pthread_mutex_lock(&rb->lock);
	rb->gen++;
	for (pp = &rb->preloaded; (p = *pp);) {
		if (!affected(p->path, path)) {
			pp = &p->next;
			continue;
		}
		if (!p->complete) {
			p->poisoned = true;
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		rb->kept_entries -= p->keep ? p->l.n : 0;
		kept_free(p);
	}
	pthread_mutex_unlock(&rb->lock);
	open_cache_forget(rb->opened, path);
}

/* Keep a copy of listing L of PATH for the session's next jobs, unless an
 * invalidation came since GEN (L may predate it).  Called locked. */
static void keep_locked(struct remote_backend *rb, const char *path, const struct listing *l,
			uint64_t gen)
{
	struct preloaded_listing *p;

	if (!rb->session || rb->gen != gen)
		return;
	for (p = rb->preloaded; p; p = p->next)
		if (!strcmp(p->path, path))
			return; /* one is there (or coming) */
	if (rb->kept_entries + l->n > SESSION_MAX_ENTRIES) {
		pthread_mutex_unlock(&rb->lock);
		remote_backend_invalidate(rb, "/");
		pthread_mutex_lock(&rb->lock);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->path = xstrdup(path);
	p->l.dir = l->dir;
	p->l.n = p->l.cap = l->n;
	p->l.ents = xcalloc(l->n ? l->n : 1, sizeof(*p->l.ents));
	for (size_t i = 0; i < l->n; i++)
		p->l.ents[i] = (struct origin_dirent){
			.name = xstrdup(l->ents[i].name),
			.attr = l->ents[i].attr,
			.link = l->ents[i].link ? xstrdup(l->ents[i].link) : NULL,
		};
	p->complete = p->keep = true;
	p->gen = gen;
	p->next = rb->preloaded;
	rb->preloaded = p;
	rb->kept_entries += l->n;
}

int remote_backend_preload_listing(struct remote_backend *rb, const uint8_t *payload, size_t len,
				   bool more)
{
	struct wire_reader rd;
	struct preloaded_listing *p;
	_cleanup_free_ char *path = NULL;
	int r;

	wire_reader_init(&rd, payload, len);
	if (!wire_get_str(&rd, &path, MOS_PATH_MAX) || path[0] != '/')
		return -EPROTO;
	pthread_mutex_lock(&rb->lock);
	for (p = rb->preloaded; p && strcmp(p->path, path); p = p->next)
		;
	if (p && p->complete && p->keep) {
		/* a session's copy, from an earlier job: this one replaces it */
		struct preloaded_listing **pp;

		for (pp = &rb->preloaded; *pp != p; pp = &(*pp)->next)
			;
		*pp = p->next;
		rb->kept_entries -= p->l.n;
		kept_free(p);
		p = NULL;
	}
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->path = steal_pointer(&path);
		p->gen = rb->gen;
		p->next = rb->preloaded;
		rb->preloaded = p;
	}
	r = p->complete ? -EPROTO : listing_frame(&p->l, NULL, rd.p + rd.off, rd.len - rd.off);
	if (r == 0 && !more) {
		p->complete = true;
		if (p->poisoned) {
			/* invalidated while it came: the job asks again */
			struct preloaded_listing **pp;

			for (pp = &rb->preloaded; *pp != p; pp = &(*pp)->next)
				;
			*pp = p->next;
			kept_free(p);
		} else if (rb->session && p->gen == rb->gen &&
			   rb->kept_entries + p->l.n <= SESSION_MAX_ENTRIES) {
			p->keep = true;
			rb->kept_entries += p->l.n;
		}
	}
	pthread_mutex_unlock(&rb->lock);
	return r;
}

int remote_backend_preload_open(struct remote_backend *rb, const uint8_t *payload, size_t len)
{
	struct wire_reader rd;
	struct mos_open_reply o;
	_cleanup_free_ char *path = NULL;

	wire_reader_init(&rd, payload, len);
	if (!wire_get_str(&rd, &path, MOS_PATH_MAX) || path[0] != '/' ||
	    !wire_get(&rd, &o, sizeof(o)) || !wire_end(&rd))
		return -EPROTO;
	open_cache_put(rb->opened, path, &o.attr, o.sha256);
	return 0;
}

void remote_backend_free_preloaded(struct remote_backend *rb)
{
	for (struct preloaded_listing *p = rb->preloaded, *n; p; p = n) {
		n = p->next;
		kept_free(p);
	}
	rb->preloaded = NULL;
	rb->kept_entries = 0;
}

void remote_backend_job_done(struct remote_backend *rb)
{
	struct preloaded_listing **pp, *p;

	/* what the job was sent ahead and did not use, and what was not yet
	 * complete, is not the next job's */
	pthread_mutex_lock(&rb->lock);
	for (pp = &rb->preloaded; (p = *pp);) {
		if (p->keep) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		kept_free(p);
	}
	rb->cache_hits = rb->cache_misses = rb->bytes_fetched = rb->bytes_written = 0;
	rb->open_cache_hits = rb->preload_hits = 0;
	atomic_store(&rb->cancelled, false);
	pthread_mutex_unlock(&rb->lock);
}

/* A listing the origin sent ahead, or a session kept: handed over to mosfs
 * (which keeps it), the session's as a copy. */
static bool take_preloaded(struct remote_backend *rb, const char *path, struct listing *out)
{
	struct preloaded_listing **pp, *p = NULL;

	pthread_mutex_lock(&rb->lock);
	for (pp = &rb->preloaded; *pp; pp = &(*pp)->next) {
		if ((*pp)->complete && !(*pp)->poisoned && !strcmp((*pp)->path, path)) {
			p = *pp;
			rb->preload_hits++;
			break;
		}
	}
	if (p && p->keep) {
		out->dir = p->l.dir;
		out->n = out->cap = p->l.n;
		out->ents = xcalloc(p->l.n ? p->l.n : 1, sizeof(*out->ents));
		for (size_t i = 0; i < p->l.n; i++)
			out->ents[i] = (struct origin_dirent){
				.name = xstrdup(p->l.ents[i].name),
				.attr = p->l.ents[i].attr,
				.link = p->l.ents[i].link ? xstrdup(p->l.ents[i].link) : NULL,
			};
		pthread_mutex_unlock(&rb->lock);
		return true;
	}
	if (p)
		*pp = p->next;
	pthread_mutex_unlock(&rb->lock);
	if (!p)
		return false;
	*out = p->l;
	free(p->path);
	free(p);
	return true;
}

static int rb_listdir(void *ctx, const char *path, struct mos_attr *dir,
		      struct origin_dirent **ents, size_t *n)
{
	struct remote_backend *rb = ctx;
	struct listing l = { 0 };
	struct wire_buf b = { 0 };
	uint64_t gen;
	int r;

	if (take_preloaded(rb, path, &l)) {
		*dir = l.dir;
		*ents = l.ents;
		*n = l.n;
		return 0;
	}

	pthread_mutex_lock(&rb->lock);
	gen = rb->gen;
	pthread_mutex_unlock(&rb->lock);
	put_path_req(&b, MOS_MSG_LISTDIR, NULL, 0, path);
	r = conn_call(rb->conn, &b, listing_frame, &l);
	if (r < 0) {
		origin_dirents_free(l.ents, l.n);
		return r;
	}
	pthread_mutex_lock(&rb->lock);
	keep_locked(rb, path, &l, gen);
	pthread_mutex_unlock(&rb->lock);
	*dir = l.dir;
	*ents = l.ents;
	*n = l.n;
	return 0;
}

/* ------------------------------------------------------------------ */

static int open_reply(void *arg, const struct mos_frame_hdr *h, const uint8_t *p, size_t len)
{
	struct wire_reader rd;

	(void)h;
	wire_reader_init(&rd, p, len);
	return wire_get(&rd, arg, sizeof(struct mos_open_reply)) && wire_end(&rd) ? 0 : -EPROTO;
}

struct fetch_state {
	struct cas_writer *w;
	uint64_t off;
	uint64_t got;
	uint64_t left; /* of the FETCH in flight: more is a broken origin */
	uint64_t end;  /* of the FETCH_SPARSE in flight: data beyond is a broken origin */
};

static int fetch_frame(void *arg, const struct mos_frame_hdr *h, const uint8_t *p, size_t len)
{
	struct fetch_state *f = arg;
	struct wire_reader rd;
	const void *data;
	size_t n;
	int r;

	(void)h;
	wire_reader_init(&rd, p, len);
	if (!wire_get_var(&rd, &data, &n, MOS_DATA_CHUNK) || !wire_end(&rd) || n > f->left)
		return -EPROTO;
	f->left -= n;
	r = cas_writer_write(f->w, f->off, data, n);
	f->off += n;
	f->got += n;
	return r;
}

/* A FETCH_SPARSE reply frame: data at the offset it names, within the range
 * asked for; the holes between stay holes in the blob (pre-sized). */
static int fetch_extent_frame(void *arg, const struct mos_frame_hdr *h, const uint8_t *p,
			      size_t len)
{
	struct fetch_state *f = arg;
	struct mos_fetch_extent x;
	struct wire_reader rd;
	const void *data;
	size_t n;

	(void)h;
	wire_reader_init(&rd, p, len);
	if (!wire_get(&rd, &x, sizeof(x)) || !wire_get_var(&rd, &data, &n, MOS_DATA_CHUNK) ||
	    !wire_end(&rd))
		return -EPROTO;
	if (!n)
		return 0;
	if (x.offset < f->off || x.offset > f->end || n > f->end - x.offset)
		return -EPROTO;
	f->got += n;
	return cas_writer_write(f->w, x.offset, data, n);
}

/* Ask the origin for PATH's attributes and hash (announcing the hash). */
static int ask_open(struct remote_backend *rb, const char *path, struct mos_open_reply *o)
{
	struct wire_buf b = { 0 };
	int r;

	uint64_t gen;

	pthread_mutex_lock(&rb->lock);
	gen = rb->gen;
	pthread_mutex_unlock(&rb->lock);
	put_path_req(&b, MOS_MSG_OPEN, NULL, 0, path);
	r = conn_call(rb->conn, &b, open_reply, o);
	if (r == 0) {
		/* a session keeps it for later jobs: not if it may predate an
		 * invalidation that came while it was asked for */
		pthread_mutex_lock(&rb->lock);
		if (!rb->session || rb->gen == gen)
			open_cache_put(rb->opened, path, &o->attr, o->sha256);
		pthread_mutex_unlock(&rb->lock);
	}
	return r;
}

/*
 * Fill the cache with blob O from the origin; an fd on it.  From an origin
 * that takes FETCH_SPARSE, only the data comes (holes of the origin's file
 * stay holes in the blob, which has its size from the start); else all of
 * it, zeros included.
 */
static int fetch_blob(struct remote_backend *rb, const struct mos_open_reply *o, int *fd)
{
	bool sparse = rb->origin_features & MOS_FEAT_SPARSE_FETCH;
	struct fetch_state f = { 0 };
	struct wire_buf b = { 0 };
	int r;

	r = cas_writer_begin(rb->cas, o->sha256, o->attr.size, &f.w);
	if (r < 0)
		return r;
	do {
		struct mos_fetch req = { .offset = f.off };
		uint64_t before = f.off;

		memcpy(req.sha256, o->sha256, sizeof(req.sha256));
		req.length =
			o->attr.size - f.off < MOS_FETCH_MAX ? o->attr.size - f.off : MOS_FETCH_MAX;
		f.left = req.length;
		f.end = f.off + req.length;
		wire_buf_start(&b, sparse ? MOS_MSG_FETCH_SPARSE : MOS_MSG_FETCH, 0, 0);
		wire_put(&b, &req, sizeof(req));
		r = conn_call(rb->conn, &b, sparse ? fetch_extent_frame : fetch_frame, &f);
		if (sparse && r == 0)
			f.off = f.end; /* covered: data, or holes */
		if (r == 0 && f.off == before)
			r = -EIO; /* the origin's file shrank: its hash will not match */
	} while (r == 0 && f.off < o->attr.size);
	if (r < 0) {
		cas_writer_abort(f.w);
		return r;
	}
	r = cas_writer_commit(f.w);
	if (r < 0)
		return r == -EBADMSG ? -EIO : r;
	pthread_mutex_lock(&rb->lock);
	rb->cache_misses++;
	rb->bytes_fetched += f.got;
	pthread_mutex_unlock(&rb->lock);
	*fd = r;
	return 0;
}

static int rb_open_blob(void *ctx, const char *path, struct mos_attr *attr, int *fd)
{
	struct remote_backend *rb = ctx;
	struct mos_open_reply o;
	bool remembered = open_cache_get(rb->opened, path, &o.attr, o.sha256);
	int r;

	if (remembered) {
		pthread_mutex_lock(&rb->lock);
		rb->open_cache_hits++;
		pthread_mutex_unlock(&rb->lock);
	} else {
		r = ask_open(rb, path, &o);
		if (r < 0)
			return r;
	}
	*attr = o.attr;
	r = cas_open_blob(rb->cas, o.sha256);
	if (r >= 0) {
		pthread_mutex_lock(&rb->lock);
		rb->cache_hits++;
		pthread_mutex_unlock(&rb->lock);
		*fd = r;
		return 0;
	}
	r = fetch_blob(rb, &o, fd);
	if ((r == -ESTALE || r == -ENOENT) && remembered) {
		/* an answer from before (this job's or, in a session, an earlier
		 * job's, maybe one sent ahead that no job read) whose content is
		 * not in the worker's cache: the origin changed it (ESTALE), or
		 * this job's origin never announced that hash (ENOENT: it sends
		 * only what it answered for itself).  Ask it now. */
		open_cache_forget(rb->opened, path);
		r = ask_open(rb, path, &o);
		if (r == 0)
			r = fetch_blob(rb, &o, fd);
		*attr = o.attr;
	}
	return r;
}

/* ------------------------------------------------------------------ */

static int handle_reply(void *arg, const struct mos_frame_hdr *h, const uint8_t *p, size_t len)
{
	struct wire_reader rd;

	(void)h;
	wire_reader_init(&rd, p, len);
	return wire_get(&rd, arg, sizeof(struct mos_put_handle)) && wire_end(&rd) ? 0 : -EPROTO;
}

/*
 * The next data extent of FD at or after *OFF, below SIZE: [*OFF, *END).
 * False when only a hole is left.  Where SEEK_DATA is not supported, all of
 * it is data.
 */
static bool next_extent(int fd, uint64_t size, uint64_t *off, uint64_t *end)
{
	off_t d, e;

	if (*off >= size)
		return false;
	d = lseek(fd, (off_t)*off, SEEK_DATA);
	if (d < 0) {
		if (errno == ENXIO)
			return false; /* a hole up to the end */
		*end = size;
		return true;
	}
	if ((uint64_t)d >= size)
		return false;
	e = lseek(fd, d, SEEK_HOLE);
	*off = (uint64_t)d;
	*end = e < 0 || (uint64_t)e > size ? size : (uint64_t)e;
	return true;
}

/*
 * Send FD's content to the origin as PATH.  To an origin that takes sparse
 * puts, the size goes with PUT_BEGIN and only the data extents follow
 * (SEEK_DATA/SEEK_HOLE), so a file with a hole of gigabytes costs what its
 * data costs; to an older one, all of it.  Once the origin has cancelled the
 * job (CANCEL), or the connection is gone, it stops at the next chunk: its
 * PUT_DATA are refused (and those still queued dropped) by conn_drop_type,
 * and no PUT_END follows (the origin dropped the file already).  When
 * GIVE_UP says so (its writer is being killed), it stops too, drops what is
 * queued of it and ends it with an aborting PUT_END: the origin keeps the
 * target as it was.
 */
/* A queued PUT_DATA of the write-back ARG (its handle), given up. */
static bool put_data_of(const uint8_t *frame, size_t len, void *arg)
{
	const struct mos_frame_hdr *h = (const void *)frame;
	struct mos_put_data d;

	if (h->type != MOS_MSG_PUT_DATA || len < sizeof(*h) + sizeof(d))
		return false;
	memcpy(&d, frame + sizeof(*h), sizeof(d));
	return d.handle == *(const uint32_t *)arg;
}

static int put_file(void *ctx, const char *path, int fd, uint32_t mode,
		    const struct timespec *mtime, bool (*give_up)(void *arg), void *arg)
{
	struct remote_backend *rb = ctx;
	struct mos_put p = { .mode = mode };
	struct mos_put_handle ph;
	struct mos_put_end e = { 0 };
	struct wire_buf b = { 0 };
	_cleanup_free_ uint8_t *buf = xmalloc(MOS_DATA_CHUNK);
	bool sparse = rb->origin_features & MOS_FEAT_SPARSE_PUT;
	uint64_t off = 0, end = UINT64_MAX, size = UINT64_MAX, sent = 0;
	struct stat st;
	int r, rerr = 0;

	if (atomic_load(&rb->cancelled))
		return -ECANCELED;
	if (sparse) {
		if (fstat(fd, &st) < 0)
			return -errno;
		size = (uint64_t)st.st_size;
		p.flags = MOS_PUT_SPARSE;
		p.size = size;
		end = 0;
	}
	open_cache_forget(rb->opened, path);
	put_path_req(&b, MOS_MSG_PUT_BEGIN, &p, sizeof(p), path);
	r = conn_call(rb->conn, &b, handle_reply, &ph);
	if (r < 0)
		return r;
	for (;;) {
		struct mos_put_data d = { .handle = ph.handle };
		size_t want = MOS_DATA_CHUNK;
		ssize_t n;

		if (atomic_load(&rb->cancelled))
			return -ECANCELED;
		if (give_up && give_up(arg)) {
			/* what is queued of it and not sent yet goes too: the
			 * PUT_END that drops it on the origin need not wait */
			conn_drop_queued(rb->conn, put_data_of, &ph.handle);
			rerr = -EINTR;
			break;
		}
		if (off >= end) {
			if (!sparse || !next_extent(fd, size, &off, &end))
				break;
		}
		if (end - off < want)
			want = (size_t)(end - off);
		n = pread(fd, buf, want, (off_t)off);
		if (n < 0) {
			rerr = -errno;
			break;
		}
		if (n == 0)
			break; /* shorter than it was (sparse: the origin keeps SIZE) */
		d.offset = off;
		wire_buf_start(&b, MOS_MSG_PUT_DATA, 0, 0);
		wire_put(&b, &d, sizeof(d));
		wire_put_var(&b, buf, (size_t)n);
		r = conn_send(rb->conn, &b);
		if (r < 0)
			return r;
		off += (uint64_t)n;
		sent += (uint64_t)n;
	}
	e.handle = ph.handle;
	e.abort = rerr ? 1 : 0;
	if (mtime) {
		e.mtime_sec = mtime->tv_sec;
		e.mtime_nsec = (uint32_t)mtime->tv_nsec;
	} else {
		e.mtime_nsec = UTIME_NOW;
	}
	wire_buf_start(&b, MOS_MSG_PUT_END, 0, 0);
	wire_put(&b, &e, sizeof(e));
	r = conn_call(rb->conn, &b, NULL, NULL);
	if (rerr)
		return rerr;
	if (r == 0) {
		pthread_mutex_lock(&rb->lock);
		rb->bytes_written += sent;
		pthread_mutex_unlock(&rb->lock);
	}
	return r;
}

static int rb_put_file(void *ctx, const char *path, int fd, uint32_t mode,
		       const struct timespec *mtime, bool (*give_up)(void *arg), void *arg)
{
	struct remote_backend *rb = ctx;
	int r = put_file(ctx, path, fd, mode, mtime, give_up, arg);

	if (rb->session)
		remote_backend_invalidate(rb, path); /* written, or maybe half */
	return r;
}

/* ------------------------------------------------------------------ */

/* A request that changes the origin: what this job remembers of the paths
 * it names is forgotten (for SYMLINK, P1 is the target text, not a path). */
static int simple(struct remote_backend *rb, uint8_t type, const void *body, size_t blen,
		  const char *p1, const char *p2)
{
	struct wire_buf b = { 0 };
	int r;

	if (type != MOS_MSG_SYMLINK)
		open_cache_forget(rb->opened, p1);
	if (p2)
		open_cache_forget(rb->opened, p2);

	wire_buf_start(&b, type, 0, 0);
	if (blen)
		wire_put(&b, body, blen);
	wire_put_str(&b, p1);
	if (p2)
		wire_put_str(&b, p2);
	r = conn_call(rb->conn, &b, NULL, NULL);
	/* once the origin has it (done or not): what a session keeps of the
	 * paths and their directories is the origin's to say again */
	if (rb->session) {
		if (type != MOS_MSG_SYMLINK)
			remote_backend_invalidate(rb, p1);
		if (p2)
			remote_backend_invalidate(rb, p2);
	}
	return r;
}

static int rb_mkdir(void *ctx, const char *path, uint32_t mode)
{
	struct mos_mode_arg m = { .mode = mode };

	return simple(ctx, MOS_MSG_MKDIR, &m, sizeof(m), path, NULL);
}

static int rb_unlink(void *ctx, const char *path)
{
	return simple(ctx, MOS_MSG_UNLINK, NULL, 0, path, NULL);
}

static int rb_rmdir(void *ctx, const char *path)
{
	return simple(ctx, MOS_MSG_RMDIR, NULL, 0, path, NULL);
}

static int rb_rename(void *ctx, const char *from, const char *to, uint32_t flags)
{
	struct mos_rename m = { .flags = flags };

	return simple(ctx, MOS_MSG_RENAME, &m, sizeof(m), from, to);
}

static int rb_symlink(void *ctx, const char *target, const char *path)
{
	return simple(ctx, MOS_MSG_SYMLINK, NULL, 0, target, path);
}

static int rb_link(void *ctx, const char *from, const char *to)
{
	return simple(ctx, MOS_MSG_LINK, NULL, 0, from, to);
}

static int rb_chmod(void *ctx, const char *path, uint32_t mode)
{
	struct mos_mode_arg m = { .mode = mode };

	return simple(ctx, MOS_MSG_CHMOD, &m, sizeof(m), path, NULL);
}

static int rb_truncate(void *ctx, const char *path, uint64_t size)
{
	struct mos_truncate t = { .size = size };

	return simple(ctx, MOS_MSG_TRUNCATE, &t, sizeof(t), path, NULL);
}

static int rb_utimens(void *ctx, const char *path, const struct timespec times[2])
{
	struct mos_utimens u = {
		.atime_sec = times[0].tv_sec,
		.atime_nsec = (uint32_t)times[0].tv_nsec,
		.mtime_sec = times[1].tv_sec,
		.mtime_nsec = (uint32_t)times[1].tv_nsec,
	};

	return simple(ctx, MOS_MSG_UTIMENS, &u, sizeof(u), path, NULL);
}

const struct mosfs_backend_ops remote_backend_ops = {
	.listdir = rb_listdir,
	.open_blob = rb_open_blob,
	.put_file = rb_put_file,
	.mkdir = rb_mkdir,
	.unlink = rb_unlink,
	.rmdir = rb_rmdir,
	.rename = rb_rename,
	.symlink = rb_symlink,
	.link = rb_link,
	.chmod = rb_chmod,
	.truncate = rb_truncate,
	.utimens = rb_utimens,
};
