// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_wire - a peer's byte stream, as either end of the remote protocol
 * (include/uapi/mosingar/protocol.h) receives it.  The input is the stream.
 *
 * 1. Frame assembly (wire.c, frame_asm_feed, as conn.c drives it): the
 *    stream is fed in pieces whose sizes depend on the input, and again in
 *    one piece.  Both must give the same frames and the same verdict; every
 *    frame handed on has a header wire_hdr_check accepts and exactly the
 *    payload its header announces; every call makes progress.
 * 2. Each frame goes to the parser its receiver uses, with that receiver's
 *    bounds:
 *      HELLO        wire_hello_check, as the origin and as the worker
 *      JOB          job_desc_parse (mosd); a JOB it accepts, encoded again
 *                   as mosctl encodes one, must be the same bytes
 *      PRELOAD_*    remote_backend_preload_listing / _open (mosd); what
 *                   mosfs then gets must match a reference reading of the
 *                   frames written from protocol.h, and hold only clean
 *                   names ("/" or ".." in a name would reach the kernel)
 *                   and non-empty symlink targets
 *      requests     origin_serve_frame (mosctl), as a hostile worker sends
 *                   them, over a closed connection, on a service whose
 *                   scope grants only trees that do not exist (FUZZ_TREE):
 *                   parsing, the scope, origin_fs's path checks, refusals
 *                   and the FETCH and PUT handle checks run; no file of
 *                   this machine is touched
 *      the rest     the reader calls their receivers make (job.c's and
 *                   remote_run.c's on_frame, conn.c's PING, remote_backend's
 *                   FETCH_SPARSE replies parse them inline)
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "conn.h"
#include "job.h"
#include "open_cache.h"
#include "origin_fs.h"
#include "origin_serve.h"
#include "policy.h"
#include "remote_backend.h"
#include "util.h"
#include "wire.h"

#define MAX_FRAMES 64

struct frame {
	struct mos_frame_hdr h;
	uint8_t *payload;
};

struct assembly {
	struct frame f[MAX_FRAMES];
	size_t n;
	const char *why; /* the assembler's verdict on the stream */
	size_t consumed; /* bytes taken before the end or the verdict */
};

static void assembly_free(struct assembly *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->f[i].payload);
}

/* A deterministic piece size from the input's length and a counter. */
static size_t piece(size_t size, size_t k)
{
	uint64_t x = (uint64_t)size * 0x9e3779b97f4a7c15ULL + k * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 29;
	return x % 7 == 0 ? 4096 : (size_t)(x % 23) + 1;
}

static void assemble(const uint8_t *data, size_t size, bool pieces, struct assembly *out)
{
	struct frame_asm fa = { 0 };
	size_t off = 0, k = 0;

	*out = (struct assembly){ 0 };
	while (off < size && out->n < MAX_FRAMES) {
		size_t chunk = pieces ? piece(size, k++) : size - off;

		if (chunk > size - off)
			chunk = size - off;
		while (chunk && out->n < MAX_FRAMES) {
			struct mos_frame_hdr h;
			uint8_t *payload = NULL;
			bool done;
			size_t used = frame_asm_feed(&fa, data + off, chunk, &done, &h, &payload);

			fuzz_assert(used <= chunk);
			if (fa.why) {
				fuzz_assert(used == 0 && !done);
				out->why = fa.why;
				goto end;
			}
			fuzz_assert(used > 0 || done);
			off += used;
			chunk -= used;
			if (!done)
				continue;
			fuzz_assert(payload);
			fuzz_assert(!wire_hdr_check(&h));
			out->f[out->n++] = (struct frame){ h, payload };
		}
	}
end:
	out->consumed = off;
	frame_asm_free(&fa);
}

static void check_same(const struct assembly *a, const struct assembly *b)
{
	fuzz_assert(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		fuzz_assert(!memcmp(&a->f[i].h, &b->f[i].h, sizeof(a->f[i].h)));
		fuzz_assert(!memcmp(a->f[i].payload, b->f[i].payload, a->f[i].h.len));
	}
	if (a->n == MAX_FRAMES)
		return; /* both stopped early, maybe at different bytes */
	fuzz_assert((a->why == NULL) == (b->why == NULL));
	fuzz_assert(!a->why || !strcmp(a->why, b->why));
	/* (a bad header is refused after its bytes went in: where the
	 * stream stops then depends on the pieces) */
	fuzz_assert(a->why || (a->consumed == b->consumed));
}

/* ---- JOB ---- */

static void check_job(const uint8_t *p, size_t len)
{
	struct job_desc d = { 0 };
	struct wire_buf b = { 0 };
	const char *why = NULL;

	if (job_desc_parse(p, len, &d, &why)) {
		/* as remote_run.c's send_job writes it */
		wire_buf_start(&b, MOS_MSG_JOB, 0, 0);
		wire_put(&b, &d.j, sizeof(d.j));
		for (uint32_t i = 0; i < d.j.nargv; i++)
			wire_put_str(&b, d.argv[i]);
		for (uint32_t i = 0; i < d.j.nenv; i++)
			wire_put_str(&b, d.env[i]);
		wire_put_str(&b, d.cwd);
		for (uint32_t i = 0; i < d.j.nsandbox; i++)
			wire_put_str(&b, d.sandbox[i]);
		fuzz_assert(d.cwd[0] == '/');
		fuzz_assert(d.j.nargv > 0 && !d.argv[d.j.nargv]);
		fuzz_assert(b.len - sizeof(struct mos_frame_hdr) == len);
		fuzz_assert(!memcmp(b.p + sizeof(struct mos_frame_hdr), p, len));
		wire_buf_free(&b);
	} else {
		fuzz_assert(why && *why);
	}
	job_desc_free(&d);
}

/* ---- PRELOAD_LISTDIR / PRELOAD_OPEN: the reference reading ---- */

struct ref_entry {
	char name[MOS_NAME_MAX + 1];
	struct mos_attr attr;
	bool is_link;
	char *link;
};

struct ref_listing {
	char *path;
	bool complete, bad;
	struct mos_attr dir;
	struct ref_entry *e;
	size_t n;
};

struct ref {
	struct ref_listing l[MAX_FRAMES];
	size_t n;
};

static bool ref_name_ok(const uint8_t *s, size_t n)
{
	if (n == 0 || n > MOS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == 0)
			return false;
	return !(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.');
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * protocol.h: PRELOAD_LISTDIR is vars: path, then a LISTDIR reply: a
 * struct mos_attr, then per entry a struct mos_dirent_hdr, the name and
 * the link target.  Returns whether the frame is well formed; a listing
 * that has had its last frame takes no more.
 */
static bool ref_listing_frame(struct ref *r, const uint8_t *p, size_t len, bool more)
{
	struct ref_listing *l = NULL;
	size_t off = 4, plen;

	if (len < 4)
		return false;
	plen = le32(p);
	if (plen > MOS_PATH_MAX || plen > len - 4 || plen == 0 || p[4] != '/' ||
	    memchr(p + 4, 0, plen))
		return false;
	off += plen;
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->l[i].path) == plen && !memcmp(r->l[i].path, p + 4, plen))
			l = &r->l[i];
	if (!l) {
		fuzz_assert(r->n < MAX_FRAMES);
		l = &r->l[r->n++];
		*l = (struct ref_listing){ .path = xstrndup((const char *)p + 4, plen) };
	}
	if (l->complete || l->bad)
		return false;
	if (len - off < sizeof(struct mos_attr)) {
		l->bad = true;
		return false;
	}
	memcpy(&l->dir, p + off, sizeof(l->dir));
	off += sizeof(l->dir);
	while (off < len) {
		struct mos_dirent_hdr d;
		struct ref_entry *e;

		if (len - off < sizeof(d)) {
			l->bad = true;
			return false;
		}
		memcpy(&d, p + off, sizeof(d));
		off += sizeof(d);
		if (d.name_len > len - off || d.link_len > len - off - d.name_len ||
		    d.link_len >= MOS_PATH_MAX || !ref_name_ok(p + off, d.name_len) ||
		    memchr(p + off + d.name_len, 0, d.link_len) ||
		    (S_ISLNK(d.attr.mode) && !d.link_len)) {
			l->bad = true;
			return false;
		}
		l->e = xrealloc(l->e, (l->n + 1) * sizeof(*l->e));
		e = &l->e[l->n++];
		*e = (struct ref_entry){ .attr = d.attr, .is_link = S_ISLNK(d.attr.mode) };
		memcpy(e->name, p + off, d.name_len);
		e->name[d.name_len] = 0;
		if (e->is_link)
			e->link = xstrndup((const char *)p + off + d.name_len, d.link_len);
		off += (size_t)d.name_len + d.link_len;
	}
	if (!more)
		l->complete = true;
	return true;
}

static void ref_free(struct ref *r)
{
	for (size_t i = 0; i < r->n; i++) {
		for (size_t k = 0; k < r->l[i].n; k++)
			free(r->l[i].e[k].link);
		free(r->l[i].e);
		free(r->l[i].path);
	}
	r->n = 0;
}

/*
 * mosd keeps a listing that went wrong half-way: the connection ends then
 * (conn_fail), so nothing is served from it.  Compare the listings that
 * were well formed to the end with what mosfs gets.
 */
static void check_listings(struct remote_backend *rb, struct ref *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct ref_listing *l = &r->l[i];
		struct origin_dirent *ents = NULL;
		struct mos_attr dir;
		size_t n = 0;
		int err;

		if (l->bad || !l->complete)
			continue;
		err = remote_backend_ops.listdir(rb, l->path, &dir, &ents, &n);
		fuzz_assert(err == 0);
		fuzz_assert(!memcmp(&dir, &l->dir, sizeof(dir)));
		fuzz_assert(n == l->n);
		for (size_t k = 0; k < n; k++) {
			const char *nm = ents[k].name;

			fuzz_assert(nm && *nm && strlen(nm) <= MOS_NAME_MAX && !strchr(nm, '/'));
			fuzz_assert(strcmp(nm, ".") && strcmp(nm, ".."));
			fuzz_assert(!strcmp(nm, l->e[k].name));
			fuzz_assert(!memcmp(&ents[k].attr, &l->e[k].attr, sizeof(ents[k].attr)));
			fuzz_assert(!ents[k].link == !l->e[k].is_link);
			fuzz_assert(!ents[k].link || *ents[k].link);
			fuzz_assert(!ents[k].link || !strcmp(ents[k].link, l->e[k].link));
		}
		origin_dirents_free(ents, n);
	}
}

static bool check_preload_open(struct remote_backend *rb, const uint8_t *p, size_t len)
{
	int r = remote_backend_preload_open(rb, p, len);
	struct mos_open_reply want, got;
	_cleanup_free_ char *path = NULL;
	size_t plen = len >= 4 ? le32(p) : 0;
	bool ok = len >= 4 && plen && plen <= MOS_PATH_MAX && plen <= len - 4 && p[4] == '/' &&
		  !memchr(p + 4, 0, plen) && len - 4 - plen == sizeof(want);

	fuzz_assert((r == 0) == ok);
	if (!ok)
		return false;
	path = xstrndup((const char *)p + 4, plen);
	memcpy(&want, p + 4 + plen, sizeof(want));
	fuzz_assert(open_cache_get(rb->opened, path, &got.attr, got.sha256));
	fuzz_assert(!memcmp(&got.attr, &want.attr, sizeof(want.attr)));
	fuzz_assert(!memcmp(got.sha256, want.sha256, sizeof(want.sha256)));
	return true;
}

/* ---- what the origin and the worker parse inline ---- */

static void check_inline(const struct mos_frame_hdr *h, const uint8_t *p)
{
	struct wire_reader rd;
	const void *data;
	size_t len;
	char *s = NULL;
	union {
		struct mos_signal sig;
		struct mos_credit cr;
		struct mos_winsize ws;
		struct mos_exit ex;
		struct mos_error err;
		struct mos_fetch_extent ext;
	} u;
	bool ok;

	wire_reader_init(&rd, p, h->len);
	switch (h->type) {
	case MOS_MSG_STDIN:
	case MOS_MSG_STDOUT:
	case MOS_MSG_STDERR:
		ok = wire_get_var(&rd, &data, &len, MOS_DATA_CHUNK) && wire_end(&rd);
		if (ok)
			fuzz_assert((const uint8_t *)data >= p && len <= h->len &&
				    (const uint8_t *)data + len == p + h->len);
		break;
	case MOS_MSG_SIGNAL:
		ok = wire_get(&rd, &u.sig, sizeof(u.sig)) && wire_end(&rd);
		break;
	case MOS_MSG_CREDIT:
		ok = wire_get(&rd, &u.cr, sizeof(u.cr)) && wire_end(&rd);
		break;
	case MOS_MSG_WINSIZE:
		ok = wire_get(&rd, &u.ws, sizeof(u.ws)) && wire_end(&rd);
		break;
	case MOS_MSG_EXIT:
		ok = wire_get(&rd, &u.ex, sizeof(u.ex)) &&
		     wire_get_str(&rd, &s, 4096 + MOS_PATH_MAX) && wire_end(&rd);
		break;
	case MOS_MSG_PING:
	case MOS_MSG_CANCEL:
		ok = wire_end(&rd); /* no body */
		break;
	case MOS_MSG_FETCH_SPARSE:
		if (!(h->flags & MOS_F_REPLY))
			return; /* a request: origin_serve_frame's */
		ok = wire_get(&rd, &u.ext, sizeof(u.ext)) &&
		     wire_get_var(&rd, &data, &len, MOS_DATA_CHUNK) && wire_end(&rd);
		break;
	case MOS_MSG_ERROR:
		ok = wire_get(&rd, &u.err, sizeof(u.err)) && wire_get_str(&rd, &s, MOS_FRAME_MAX) &&
		     wire_end(&rd);
		break;
	default:
		return;
	}
	fuzz_assert(rd.off <= rd.len);
	fuzz_assert(ok == (rd.off == rd.len && !rd.why));
	if (s)
		fuzz_assert(strlen(s) <= 4096 + MOS_PATH_MAX || h->type == MOS_MSG_ERROR);
	free(s);
}

/* ---- the whole stream ---- */

/* The job's trees: beneath a directory that does not exist, and whose
 * parent does not either, so that no request can create them. */
#define FUZZ_TREE "/nonexistent-mosingar-fuzz"

static struct origin_fs *ofs;
static struct origin_scope scope;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mos_policy p;
	struct mos_err e;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	fuzz_dead_conn();
	origin_fs_new(NULL, &ofs);
	policy_init(&p);
	if (policy_add_fs(&p, NULL, FUZZ_TREE "/w", MOS_FS_ALL, false, "fuzz", &e) < 0 ||
	    policy_add_fs(&p, NULL, FUZZ_TREE "/r", MOS_FS_READ, false, "fuzz", &e) < 0 ||
	    policy_add_fs(&p, NULL, FUZZ_TREE "/w/deny", 0, true, "fuzz", &e) < 0)
		fuzz_fail("policy: %s", e.msg);
	origin_scope_init(&scope, &p, FUZZ_TREE "/w");
	policy_free(&p);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct assembly whole, pieces;
	struct remote_backend rb = { .conn = fuzz_dead_conn(), .opened = open_cache_new() };
	struct origin_service svc = { .fs = ofs, .scope = &scope };
	struct ref ref = { 0 };
	bool worker_gone = false; /* mosd ended the connection (conn_fail) */

	pthread_mutex_init(&rb.lock, NULL);
	assemble(data, size, false, &whole);
	assemble(data, size, true, &pieces);
	check_same(&whole, &pieces);

	for (size_t i = 0; i < whole.n; i++) {
		const struct mos_frame_hdr *h = &whole.f[i].h;
		const uint8_t *p = whole.f[i].payload;
		bool served;
		int r;

		if (h->flags & MOS_F_REPLY) {
			/* conn.c hands replies to the waiting call, not to on_frame */
			check_inline(h, p);
			continue;
		}
		switch (h->type) {
		case MOS_MSG_HELLO:
			wire_hello_check(p, h->len, 1);
			wire_hello_check(p, h->len, 2);
			break;
		case MOS_MSG_JOB:
			check_job(p, h->len);
			break;
		case MOS_MSG_PRELOAD_LISTDIR:
			if (worker_gone)
				break;
			r = remote_backend_preload_listing(&rb, p, h->len, h->flags & MOS_F_MORE);
			fuzz_assert((r == 0) ==
				    ref_listing_frame(&ref, p, h->len, h->flags & MOS_F_MORE));
			worker_gone = r < 0;
			break;
		case MOS_MSG_PRELOAD_OPEN:
			if (!worker_gone)
				worker_gone = !check_preload_open(&rb, p, h->len);
			break;
		default:
			check_inline(h, p);
		}
		served = origin_serve_frame(fuzz_dead_conn(), &svc, h, p);
		fuzz_assert(served == origin_serve_is_request(h->type));
	}
	fuzz_assert(svc.refused <= svc.requests);
	check_listings(&rb, &ref);

	origin_service_free(&svc);
	remote_backend_free_preloaded(&rb);
	open_cache_free(rb.opened);
	pthread_mutex_destroy(&rb.lock);
	ref_free(&ref);
	assembly_free(&whole);
	assembly_free(&pieces);
	return 0;
}
