// SPDX-License-Identifier: GPL-2.0-only
/*
 * wire.c - frame building, checking and assembly.
 */
#include "wire.h"

#include <endian.h>
#include <string.h>

#include "util.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the wire format is little endian and so is every host MoSingAr builds for");

static void reserve(struct wire_buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	while (b->len + more > b->cap)
		b->cap = b->cap ? 2 * b->cap : 256;
	b->p = xrealloc(b->p, b->cap);
}

void wire_buf_start(struct wire_buf *b, uint8_t type, uint16_t flags, uint32_t id)
{
	struct mos_frame_hdr h = {
		.version = MOS_PROTO_VERSION, .type = type, .flags = flags, .id = id
	};

	b->len = 0;
	wire_put(b, &h, sizeof(h));
}

void wire_put(struct wire_buf *b, const void *data, size_t len)
{
	reserve(b, len);
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

void wire_put_var(struct wire_buf *b, const void *data, size_t len)
{
	uint32_t l = (uint32_t)len;

	wire_put(b, &l, sizeof(l));
	wire_put(b, data, len);
}

void wire_put_str(struct wire_buf *b, const char *s)
{
	wire_put_var(b, s, s ? strlen(s) : 0);
}

size_t wire_buf_finish(struct wire_buf *b)
{
	struct mos_frame_hdr *h = (struct mos_frame_hdr *)b->p;
	size_t payload = b->len - sizeof(*h);

	if (payload > MOS_FRAME_MAX)
		return 0;
	h->len = (uint32_t)payload;
	return b->len;
}

void wire_buf_free(struct wire_buf *b)
{
	free(b->p);
	*b = (struct wire_buf){ 0 };
}

const char *wire_hdr_check(const struct mos_frame_hdr *h)
{
	if (h->version != MOS_PROTO_VERSION)
		return "unsupported protocol version";
	if (h->len > MOS_FRAME_MAX)
		return "frame longer than MOS_FRAME_MAX";
	if (h->reserved)
		return "reserved header field is not zero";
	if (h->flags & ~(uint16_t)(MOS_F_REPLY | MOS_F_MORE))
		return "unknown frame flags";
	if (!wire_msg_name(h->type))
		return "unknown message type";
	return NULL;
}

void wire_reader_init(struct wire_reader *r, const void *payload, size_t len)
{
	*r = (struct wire_reader){ .p = payload, .len = len };
}

static bool bad(struct wire_reader *r, const char *why)
{
	if (!r->why)
		r->why = why;
	return false;
}

bool wire_get(struct wire_reader *r, void *out, size_t size)
{
	if (r->why)
		return false;
	if (r->len - r->off < size)
		return bad(r, "message body shorter than its type needs");
	memcpy(out, r->p + r->off, size);
	r->off += size;
	return true;
}

bool wire_get_var(struct wire_reader *r, const void **data, size_t *len, size_t max)
{
	uint32_t l;

	if (!wire_get(r, &l, sizeof(l)))
		return false;
	if (l > max)
		return bad(r, "field longer than its bound");
	if (r->len - r->off < l)
		return bad(r, "field runs past the end of the frame");
	*data = r->p + r->off;
	*len = l;
	r->off += l;
	return true;
}

bool wire_get_str(struct wire_reader *r, char **out, size_t max)
{
	const void *d;
	size_t l;

	if (!wire_get_var(r, &d, &l, max))
		return false;
	if (memchr(d, 0, l))
		return bad(r, "string field holds a NUL byte");
	*out = xstrndup(d, l);
	return true;
}

bool wire_end(struct wire_reader *r)
{
	if (!r->why && r->off != r->len)
		return bad(r, "trailing bytes after the message");
	return !r->why;
}

const char *wire_reader_why(const struct wire_reader *r)
{
	return r->why ? r->why : "malformed message";
}

size_t frame_asm_feed(struct frame_asm *a, const uint8_t *buf, size_t len, bool *done,
		      struct mos_frame_hdr *hdr, uint8_t **payload)
{
	const size_t hs = sizeof(struct mos_frame_hdr);
	size_t used = 0, n;
	struct mos_frame_hdr h;

	*done = false;
	if (a->why)
		return 0;
	if (a->have < hs) {
		n = hs - a->have < len ? hs - a->have : len;
		memcpy(a->hdr + a->have, buf, n);
		a->have += n;
		used += n;
		if (a->have < hs)
			return used;
		memcpy(&h, a->hdr, hs);
		a->why = wire_hdr_check(&h);
		if (a->why)
			return 0;
		a->payload = xmalloc(h.len ? h.len : 1);
	}
	memcpy(&h, a->hdr, hs);
	n = hs + h.len - a->have;
	if (n > len - used)
		n = len - used;
	memcpy(a->payload + (a->have - hs), buf + used, n);
	a->have += n;
	used += n;
	if (a->have == hs + h.len) {
		*done = true;
		*hdr = h;
		*payload = a->payload;
		a->payload = NULL;
		a->have = 0;
	}
	return used;
}

void frame_asm_free(struct frame_asm *a)
{
	free(a->payload);
	a->payload = NULL;
	a->have = 0;
}

const char *wire_msg_name(unsigned type)
{
	static const char *const names[] = {
		[MOS_MSG_HELLO] = "HELLO",
		[MOS_MSG_JOB] = "JOB",
		[MOS_MSG_STDIN] = "STDIN",
		[MOS_MSG_SIGNAL] = "SIGNAL",
		[MOS_MSG_WINSIZE] = "WINSIZE",
		[MOS_MSG_CREDIT] = "CREDIT",
		[MOS_MSG_PRELOAD_LISTDIR] = "PRELOAD_LISTDIR",
		[MOS_MSG_PRELOAD_OPEN] = "PRELOAD_OPEN",
		[MOS_MSG_PING] = "PING",
		[MOS_MSG_CANCEL] = "CANCEL",
		[MOS_MSG_STATUS] = "STATUS",
		[MOS_MSG_INVALIDATE] = "INVALIDATE",
		[MOS_MSG_STDOUT] = "STDOUT",
		[MOS_MSG_STDERR] = "STDERR",
		[MOS_MSG_EXIT] = "EXIT",
		[MOS_MSG_LISTDIR] = "LISTDIR",
		[MOS_MSG_STAT] = "STAT",
		[MOS_MSG_OPEN] = "OPEN",
		[MOS_MSG_FETCH] = "FETCH",
		[MOS_MSG_PUT_BEGIN] = "PUT_BEGIN",
		[MOS_MSG_PUT_DATA] = "PUT_DATA",
		[MOS_MSG_PUT_END] = "PUT_END",
		[MOS_MSG_MKDIR] = "MKDIR",
		[MOS_MSG_UNLINK] = "UNLINK",
		[MOS_MSG_RMDIR] = "RMDIR",
		[MOS_MSG_RENAME] = "RENAME",
		[MOS_MSG_SYMLINK] = "SYMLINK",
		[MOS_MSG_CHMOD] = "CHMOD",
		[MOS_MSG_TRUNCATE] = "TRUNCATE",
		[MOS_MSG_UTIMENS] = "UTIMENS",
		[MOS_MSG_LINK] = "LINK",
		[MOS_MSG_FETCH_SPARSE] = "FETCH_SPARSE",
		[MOS_MSG_AGENT_OPEN] = "AGENT_OPEN",
		[MOS_MSG_AGENT_READY] = "AGENT_READY",
		[MOS_MSG_AGENT_WATCHES] = "AGENT_WATCHES",
		[MOS_MSG_ERROR] = "ERROR",
	};

	return type < ARRAY_SIZE(names) ? names[type] : NULL;
}

uint64_t wire_features(uint16_t role)
{
	/* what this implementation speaks in each role */
	return MOS_FEAT_KEEPALIVE |
	       (role == 1 ? MOS_FEAT_SPARSE_PUT | MOS_FEAT_SPARSE_FETCH
			  : MOS_FEAT_CANCEL | MOS_FEAT_STATUS | MOS_FEAT_SESSION);
}

void wire_hello_build(struct wire_buf *b, uint16_t role)
{
	struct mos_hello he = { .magic = MOS_PROTO_MAGIC,
				.version = MOS_PROTO_VERSION,
				.role = role,
				.features = wire_features(role) };

	wire_buf_start(b, MOS_MSG_HELLO, 0, 0);
	wire_put(b, &he, sizeof(he));
}

uint64_t wire_hello_features(const uint8_t *payload, size_t len)
{
	struct mos_hello he;

	if (len != sizeof(he))
		return 0;
	memcpy(&he, payload, sizeof(he));
	return he.features;
}

const char *wire_hello_check(const uint8_t *payload, size_t len, uint16_t want_role)
{
	struct wire_reader rd;
	struct mos_hello he;

	wire_reader_init(&rd, payload, len);
	if (!wire_get(&rd, &he, sizeof(he)) || !wire_end(&rd))
		return "malformed HELLO";
	if (he.magic != MOS_PROTO_MAGIC)
		return "HELLO without the MoSingAr magic: not a MoSingAr peer";
	if (he.version < MOS_PROTO_VERSION)
		return "the peer speaks an older protocol version";
	if (he.role != want_role)
		return want_role == 1 ? "HELLO from a worker where an origin was expected"
				      : "HELLO from an origin where a worker was expected";
	return NULL;
}

