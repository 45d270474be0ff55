/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * json.h - a strict RFC 8259 JSON reader that remembers where every value
 * and key came from (line and column), so a policy error can point at the
 * exact place in the user's file.  Jansson and json-c keep no positions for
 * values after parsing, which is why libmos carries this small reader.
 *
 * Strict means: no comments, no trailing commas, no duplicate keys, no NUL
 * characters inside strings, nesting at most JSON_MAX_DEPTH deep, UTF-8
 * validated.
 */
#ifndef MOS_JSON_H
#define MOS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_pos {
	unsigned int line; /* 1-based */
	unsigned int col;  /* 1-based, in bytes */
};

struct json_member;

struct json_value {
	enum json_type type;
	struct json_pos pos;
	union {
		bool boolean;
		struct {
			double value;
			bool is_integer; /* no fraction or exponent, fits int64 */
			int64_t integer;
		} number;
		struct {
			char *s; /* NUL-terminated, no embedded NUL */
			size_t len;
		} string;
		struct {
			struct json_value **items;
			size_t n;
		} array;
		struct {
			struct json_member *members;
			size_t n;
		} object;
	};
};

struct json_member {
	char *key;
	struct json_pos key_pos;
	struct json_value *value;
};

struct json_error {
	struct json_pos pos;
	char msg[160];
};

/* Parse TEXT[0..LEN).  Returns 0 and *OUT, or -EINVAL with ERR filled. */
int json_parse(const char *text, size_t len, struct json_value **out, struct json_error *err);
void json_free(struct json_value *v);
const char *json_type_name(enum json_type t);

#endif /* MOS_JSON_H */
