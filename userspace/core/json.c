// SPDX-License-Identifier: GPL-2.0-only
/*
 * json.c - strict JSON reader with positions (see json.h).
 *
 * A recursive-descent parser over a byte buffer.  Positions are tracked as
 * the cursor moves; each value records where its first byte was.
 */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

struct parser {
	const char *p, *end;
	struct json_pos pos;
	struct json_error *err;
	int depth;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;

	ps->err->pos = ps->pos;
	va_start(ap, fmt);
	vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void advance(struct parser *ps)
{
	if (*ps->p == '\n') {
		ps->pos.line++;
		ps->pos.col = 1;
	} else {
		ps->pos.col++;
	}
	ps->p++;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		advance(ps);
}

static struct json_value *new_value(enum json_type t, struct json_pos pos)
{
	struct json_value *v = xcalloc(1, sizeof(*v));

	v->type = t;
	v->pos = pos;
	return v;
}

static int parse_value(struct parser *ps, struct json_value **out);

static int hex4(struct parser *ps, unsigned int *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		char c;

		if (ps->p >= ps->end)
			return fail(ps, "unterminated \\u escape");
		c = *ps->p;
		*cp <<= 4;
		if (c >= '0' && c <= '9')
			*cp |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*cp |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*cp |= (unsigned int)(c - 'A' + 10);
		else
			return fail(ps, "bad hex digit in \\u escape");
		advance(ps);
	}
	return 0;
}

static size_t put_utf8(char *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of a valid UTF-8 sequence starting at P, or 0 when invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned int cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int parse_string_raw(struct parser *ps, char **out, size_t *out_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap, span = 0;

	advance(ps); /* opening quote */
	/*
	 * Decoded text is never longer than its source: find where the source
	 * ends (the first quote not escaped) and allocate that much, not the
	 * rest of the document (which made a document of many strings cost
	 * a page or more per string).
	 */
	while (ps->p + span < ps->end && ps->p[span] != '"')
		span += (ps->p[span] == '\\' && ps->p + span + 1 < ps->end) ? 2 : 1;
	cap = span + 1;
	buf = xmalloc(cap);
	for (;;) {
		unsigned char c;

		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		c = (unsigned char)*ps->p;
		if (c == '"') {
			advance(ps);
			break;
		}
		if (c < 0x20)
			return fail(ps, "control character in string (escape it)");
		if (c == '\\') {
			unsigned int cp;

			advance(ps);
			if (ps->p >= ps->end)
				return fail(ps, "unterminated string");
			c = (unsigned char)*ps->p;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				buf[len++] = (char)c;
				break;
			case 'b':
				buf[len++] = '\b';
				break;
			case 'f':
				buf[len++] = '\f';
				break;
			case 'n':
				buf[len++] = '\n';
				break;
			case 'r':
				buf[len++] = '\r';
				break;
			case 't':
				buf[len++] = '\t';
				break;
			case 'u':
				advance(ps);
				if (hex4(ps, &cp) < 0)
					return -EINVAL;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					unsigned int lo;

					if (ps->end - ps->p < 2 || ps->p[0] != '\\' ||
					    ps->p[1] != 'u')
						return fail(ps,
							    "lone UTF-16 surrogate in \\u escape");
					advance(ps);
					advance(ps);
					if (hex4(ps, &lo) < 0)
						return -EINVAL;
					if (lo < 0xdc00 || lo > 0xdfff)
						return fail(ps, "bad UTF-16 surrogate pair");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp <= 0xdfff) {
					return fail(ps, "lone UTF-16 surrogate in \\u escape");
				}
				if (cp == 0)
					return fail(ps, "NUL character (\\u0000) is not allowed");
				len += put_utf8(buf + len, cp);
				continue; /* hex4 already advanced */
			default:
				return fail(ps, "unknown escape '\\%c'", c);
			}
			advance(ps);
			continue;
		}
		{
			size_t n = utf8_len((const unsigned char *)ps->p,
					    (const unsigned char *)ps->end);

			if (n == 0)
				return fail(ps, "invalid UTF-8 in string");
			memcpy(buf + len, ps->p, n);
			len += n;
			for (size_t i = 0; i < n; i++)
				advance(ps);
		}
	}
	buf[len] = '\0';
	*out = steal_pointer(&buf);
	*out_len = len;
	return 0;
}

static int parse_number(struct parser *ps, struct json_value **out)
{
	struct json_pos start = ps->pos;
	const char *s = ps->p;
	bool integer = true;
	char tmp[64];
	size_t n;
	struct json_value *v;

	if (ps->p < ps->end && *ps->p == '-')
		advance(ps);
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return fail(ps, "bad number");
	if (*ps->p == '0') {
		advance(ps);
		if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			return fail(ps, "leading zero in number");
	} else {
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			advance(ps);
	}
	if (ps->p < ps->end && *ps->p == '.') {
		integer = false;
		advance(ps);
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "digit expected after '.'");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			advance(ps);
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		integer = false;
		advance(ps);
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			advance(ps);
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "digit expected in exponent");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			advance(ps);
	}
	n = (size_t)(ps->p - s);
	if (n >= sizeof(tmp)) {
		ps->pos = start;
		return fail(ps, "number too long");
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	v = new_value(JSON_NUMBER, start);
	v->number.value = strtod(tmp, NULL);
	if (integer) {
		char *e;

		errno = 0;
		v->number.integer = strtoll(tmp, &e, 10);
		v->number.is_integer = errno == 0 && *e == '\0';
	}
	if (!isfinite(v->number.value)) {
		free(v);
		ps->pos = start;
		return fail(ps, "number out of range");
	}
	*out = v;
	return 0;
}

static int expect_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		return fail(ps, "invalid literal (expected '%s')", w);
	for (size_t i = 0; i < n; i++)
		advance(ps);
	return 0;
}

/* Room for one more of N elements of SIZE in *V whose capacity is *CAP. */
static void *room_for_one(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 4;
	return xrealloc(v, *cap * size);
}

static int parse_array(struct parser *ps, struct json_value *v)
{
	size_t cap = 0;

	advance(ps); /* [ */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		advance(ps);
		return 0;
	}
	for (;;) {
		struct json_value *item;
		int r;

		skip_ws(ps);
		r = parse_value(ps, &item);
		if (r < 0)
			return r;
		v->array.items =
			room_for_one(v->array.items, v->array.n, &cap, sizeof(*v->array.items));
		v->array.items[v->array.n++] = item;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return fail(ps, "unterminated array (missing ']')");
		if (*ps->p == ',') {
			advance(ps);
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ']')
				return fail(ps, "trailing comma in array");
			continue;
		}
		if (*ps->p == ']') {
			advance(ps);
			return 0;
		}
		return fail(ps, "expected ',' or ']' in array");
	}
}

/*
 * Objects of up to this many members are checked for duplicate keys by a
 * scan; larger ones through a hash map of their keys, so that the check is
 * linear in the size of the object (the scan alone made 60,000 keys cost a
 * minute).
 */
#define SCAN_MEMBERS 16

static int parse_object_members(struct parser *ps, struct json_value *v, struct strmap *keys)
{
	size_t cap = 0;

	advance(ps); /* { */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		advance(ps);
		return 0;
	}
	for (;;) {
		struct json_member m = { 0 };
		size_t klen, first = SIZE_MAX;
		int r;

		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"')
			return fail(ps, "expected a key in double quotes");
		m.key_pos = ps->pos;
		r = parse_string_raw(ps, &m.key, &klen);
		if (r < 0)
			return r;
		if (v->object.n < SCAN_MEMBERS) {
			for (size_t i = 0; i < v->object.n; i++)
				if (!strcmp(v->object.members[i].key, m.key))
					first = i;
		} else {
			bool added;

			if (!keys->n)
				for (size_t i = 0; i < v->object.n; i++)
					strmap_add_str(keys, v->object.members[i].key, i, NULL);
			first = *strmap_add(keys, m.key, klen, v->object.n, &added);
			if (added)
				first = SIZE_MAX;
		}
		if (first != SIZE_MAX) {
			ps->pos = m.key_pos;
			r = fail(ps, "duplicate key \"%s\" (first at line %u)", m.key,
				 v->object.members[first].key_pos.line);
			free(m.key);
			return r;
		}
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			free(m.key);
			return fail(ps, "expected ':' after key");
		}
		advance(ps);
		skip_ws(ps);
		r = parse_value(ps, &m.value);
		if (r < 0) {
			free(m.key);
			return r;
		}
		v->object.members = room_for_one(v->object.members, v->object.n, &cap, sizeof(m));
		v->object.members[v->object.n++] = m;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return fail(ps, "unterminated object (missing '}')");
		if (*ps->p == ',') {
			advance(ps);
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == '}')
				return fail(ps, "trailing comma in object");
			continue;
		}
		if (*ps->p == '}') {
			advance(ps);
			return 0;
		}
		return fail(ps, "expected ',' or '}' in object");
	}
}

static int parse_object(struct parser *ps, struct json_value *v)
{
	struct strmap keys = { 0 };
	int r = parse_object_members(ps, v, &keys);

	strmap_free(&keys);
	return r;
}

static int parse_value(struct parser *ps, struct json_value **out)
{
	struct json_value *v;
	int r;

	*out = NULL;
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end of input");
	switch (*ps->p) {
	case '{':
	case '[':
		if (++ps->depth > JSON_MAX_DEPTH)
			return fail(ps, "nested deeper than %d levels", JSON_MAX_DEPTH);
		v = new_value(*ps->p == '{' ? JSON_OBJECT : JSON_ARRAY, ps->pos);
		r = v->type == JSON_OBJECT ? parse_object(ps, v) : parse_array(ps, v);
		ps->depth--;
		if (r < 0) {
			json_free(v);
			return r;
		}
		*out = v;
		return 0;
	case '"':
		v = new_value(JSON_STRING, ps->pos);
		r = parse_string_raw(ps, &v->string.s, &v->string.len);
		if (r < 0) {
			free(v);
			return r;
		}
		*out = v;
		return 0;
	case 't':
	case 'f':
		v = new_value(JSON_BOOL, ps->pos);
		v->boolean = *ps->p == 't';
		r = expect_word(ps, v->boolean ? "true" : "false");
		break;
	case 'n':
		v = new_value(JSON_NULL, ps->pos);
		r = expect_word(ps, "null");
		break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return parse_number(ps, out);
		if ((unsigned char)*ps->p >= 0x20 && (unsigned char)*ps->p < 0x7f)
			return fail(ps, "unexpected character '%c'", *ps->p);
		return fail(ps, "unexpected byte 0x%02x", (unsigned char)*ps->p);
	}
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	return 0;
}

int json_parse(const char *text, size_t len, struct json_value **out, struct json_error *err)
{
	struct parser ps = {
		.p = text,
		.end = text + len,
		.pos = { 1, 1 },
		.err = err,
	};
	struct json_value *v;
	int r;

	memset(err, 0, sizeof(*err));
	/* A UTF-8 byte order mark is tolerated at the very start. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		ps.p += 3;
	skip_ws(&ps);
	r = parse_value(&ps, &v);
	if (r < 0)
		return r;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		json_free(v);
		return fail(&ps, "unexpected text after the end of the document");
	}
	*out = v;
	return 0;
}

void json_free(struct json_value *v)
{
	if (!v)
		return;
	switch (v->type) {
	case JSON_STRING:
		free(v->string.s);
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->array.n; i++)
			json_free(v->array.items[i]);
		free(v->array.items);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->object.n; i++) {
			free(v->object.members[i].key);
			json_free(v->object.members[i].value);
		}
		free(v->object.members);
		break;
	default:
		break;
	}
	free(v);
}

const char *json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL:
		return "null";
	case JSON_BOOL:
		return "a boolean";
	case JSON_NUMBER:
		return "a number";
	case JSON_STRING:
		return "a string";
	case JSON_ARRAY:
		return "an array";
	case JSON_OBJECT:
		return "an object";
	}
	return "?";
}
