// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_json.c - the strict JSON reader (userspace/core/json.c): every value
 * type, positions of values and keys, every error path with its line:col,
 * and a truncation / mutation sweep that must only ever parse or fail
 * cleanly (run under ASan by `make check`).
 *
 * Inputs are copied into buffers of exactly their length, without a
 * terminating NUL, so that any read past the end shows up under ASan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

/* Parse the LEN bytes of S from an exactly-sized heap copy. */
static int parse_n(const char *s, size_t len, struct json_value **out,
		   struct json_error *err)
{
	char *buf = malloc(len ? len : 1);
	int r;

	assert_non_null(buf);
	memcpy(buf, s, len);
	*out = NULL;
	r = json_parse(buf, len, out, err);
	free(buf);
	return r;
}

static struct json_value *parse_ok(const char *s)
{
	struct json_value *v = NULL;
	struct json_error err;
	int r = parse_n(s, strlen(s), &v, &err);

	if (r != 0)
		fail_msg("'%s' should parse, got %d at %u:%u: %s", s, r, err.pos.line,
			 err.pos.col, err.msg);
	assert_non_null(v);
	return v;
}

static const struct json_value *member(const struct json_value *obj, const char *key)
{
	assert_int_equal(obj->type, JSON_OBJECT);
	for (size_t i = 0; i < obj->object.n; i++)
		if (!strcmp(obj->object.members[i].key, key))
			return obj->object.members[i].value;
	fail_msg("no key \"%s\"", key);
	return NULL;
}

static const struct json_member *member_entry(const struct json_value *obj,
					      const char *key)
{
	for (size_t i = 0; i < obj->object.n; i++)
		if (!strcmp(obj->object.members[i].key, key))
			return &obj->object.members[i];
	fail_msg("no key \"%s\"", key);
	return NULL;
}

#define assert_pos(p, l, c)                                                       \
	do {                                                                      \
		assert_int_equal((p).line, (l));                                  \
		assert_int_equal((p).col, (c));                                   \
	} while (0)

/* ---- valid documents ------------------------------------------------------ */

static void test_scalars(void **state)
{
	struct json_value *v;

	(void)state;
	v = parse_ok("null");
	assert_int_equal(v->type, JSON_NULL);
	assert_pos(v->pos, 1, 1);
	json_free(v);

	v = parse_ok("true");
	assert_int_equal(v->type, JSON_BOOL);
	assert_true(v->boolean);
	json_free(v);

	v = parse_ok(" \t\r\n false \n");
	assert_int_equal(v->type, JSON_BOOL);
	assert_false(v->boolean);
	assert_pos(v->pos, 2, 2);
	json_free(v);

	v = parse_ok("\"hello\"");
	assert_int_equal(v->type, JSON_STRING);
	assert_string_equal(v->string.s, "hello");
	assert_int_equal(v->string.len, 5);
	json_free(v);

	v = parse_ok("\"\"");
	assert_int_equal(v->type, JSON_STRING);
	assert_string_equal(v->string.s, "");
	assert_int_equal(v->string.len, 0);
	json_free(v);

	v = parse_ok("[]");
	assert_int_equal(v->type, JSON_ARRAY);
	assert_int_equal(v->array.n, 0);
	json_free(v);

	v = parse_ok("{}");
	assert_int_equal(v->type, JSON_OBJECT);
	assert_int_equal(v->object.n, 0);
	json_free(v);

	v = parse_ok("[ ]");
	assert_int_equal(v->array.n, 0);
	json_free(v);

	v = parse_ok("{\n}");
	assert_int_equal(v->object.n, 0);
	json_free(v);
}

static void test_containers(void **state)
{
	struct json_value *v;
	const struct json_value *a, *o;

	(void)state;
	v = parse_ok("{\"a\": [1, \"two\", true, false, null, {\"x\": {}}, []],"
		     " \"b\": {\"c\": {\"d\": -1.5}}, \"\": 0}");
	assert_int_equal(v->type, JSON_OBJECT);
	assert_int_equal(v->object.n, 3);
	/* Members keep document order. */
	assert_string_equal(v->object.members[0].key, "a");
	assert_string_equal(v->object.members[1].key, "b");
	assert_string_equal(v->object.members[2].key, "");

	a = member(v, "a");
	assert_int_equal(a->type, JSON_ARRAY);
	assert_int_equal(a->array.n, 7);
	assert_int_equal(a->array.items[0]->type, JSON_NUMBER);
	assert_int_equal(a->array.items[0]->number.integer, 1);
	assert_int_equal(a->array.items[1]->type, JSON_STRING);
	assert_string_equal(a->array.items[1]->string.s, "two");
	assert_int_equal(a->array.items[2]->type, JSON_BOOL);
	assert_true(a->array.items[2]->boolean);
	assert_false(a->array.items[3]->boolean);
	assert_int_equal(a->array.items[4]->type, JSON_NULL);
	o = a->array.items[5];
	assert_int_equal(o->type, JSON_OBJECT);
	assert_int_equal(member(o, "x")->type, JSON_OBJECT);
	assert_int_equal(a->array.items[6]->type, JSON_ARRAY);

	o = member(member(member(v, "b"), "c"), "d");
	assert_int_equal(o->type, JSON_NUMBER);
	assert_false(o->number.is_integer);
	assert_true(o->number.value == -1.5);
	json_free(v);
}

static void test_string_escapes(void **state)
{
	struct json_value *v;

	(void)state;
	v = parse_ok("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
	assert_string_equal(v->string.s, "\" \\ / \b \f \n \r \t");
	assert_int_equal(v->string.len, 15);
	json_free(v);

	/* \u escapes become UTF-8: 1, 2, 3 and (surrogate pair) 4 bytes. */
	v = parse_ok("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"");
	assert_string_equal(v->string.s, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_int_equal(v->string.len, 10);
	json_free(v);

	v = parse_ok("\"\\u007f\\u0080\\u07ff\\u0800\\uffff\\udbff\\udfff\"");
	assert_string_equal(v->string.s, "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
					 "\xf4\x8f\xbf\xbf");
	json_free(v);

	/* Raw UTF-8 passes through unchanged (2, 3, 4 bytes; U+10FFFF). */
	v = parse_ok("\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
	assert_string_equal(v->string.s,
			    "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
	json_free(v);

	/* DEL (0x7f) is not a control character in JSON. */
	v = parse_ok("\"a\x7f\"");
	assert_int_equal(v->string.len, 2);
	json_free(v);

	/* Escaped keys are decoded too. */
	v = parse_ok("{\"k\\u0065y\": 1}");
	assert_string_equal(v->object.members[0].key, "key");
	json_free(v);
}

static void test_numbers(void **state)
{
	static const struct {
		const char *text;
		bool is_integer;
		int64_t integer;
		double value;
	} cases[] = {
		{ "0", true, 0, 0.0 },
		{ "-0", true, 0, -0.0 },
		{ "7", true, 7, 7.0 },
		{ "-42", true, -42, -42.0 },
		{ "1234567890", true, 1234567890, 1234567890.0 },
		{ "9223372036854775807", true, INT64_MAX, 9223372036854775807.0 },
		{ "-9223372036854775808", true, INT64_MIN, -9223372036854775808.0 },
		/* Past int64: still a number, but not an integer. */
		{ "9223372036854775808", false, 0, 9223372036854775808.0 },
		{ "-9223372036854775809", false, 0, -9223372036854775809.0 },
		{ "18446744073709551616", false, 0, 18446744073709551616.0 },
		{ "1.0", false, 0, 1.0 },
		{ "1.5", false, 0, 1.5 },
		{ "-0.25", false, 0, -0.25 },
		{ "0.001", false, 0, 0.001 },
		{ "1e3", false, 0, 1000.0 },
		{ "1E3", false, 0, 1000.0 },
		{ "1e+3", false, 0, 1000.0 },
		{ "25e-2", false, 0, 0.25 },
		{ "-1.5E-1", false, 0, -0.15 },
		{ "0e0", false, 0, 0.0 },
		{ "1e308", false, 0, 1e308 },
		{ "1.7976931348623157e308", false, 0, 1.7976931348623157e308 },
		/* Underflow to zero is a finite number. */
		{ "1e-400", false, 0, 0.0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_value *v = parse_ok(cases[i].text);

		assert_int_equal(v->type, JSON_NUMBER);
		if (v->number.is_integer != cases[i].is_integer)
			fail_msg("%s: is_integer %d, expected %d", cases[i].text,
				 v->number.is_integer, cases[i].is_integer);
		if (cases[i].is_integer && v->number.integer != cases[i].integer)
			fail_msg("%s: integer %lld", cases[i].text,
				 (long long)v->number.integer);
		if (v->number.value != cases[i].value)
			fail_msg("%s: value %.17g, expected %.17g", cases[i].text,
				 v->number.value, cases[i].value);
		json_free(v);
	}
}

/* ---- positions -------------------------------------------------------------- */

static void test_positions(void **state)
{
	/*
	 * line 1: {
	 * line 2:   "a": 1,
	 * line 3:   "bb": [true, null],
	 * line 4: \t"c": {"d": "x"}
	 * line 5: }
	 */
	struct json_value *v = parse_ok("{\n  \"a\": 1,\n  \"bb\": [true, null],\n"
					"\t\"c\": {\"d\": \"x\"}\n}");
	const struct json_member *m;
	const struct json_value *bb, *c;

	(void)state;
	assert_pos(v->pos, 1, 1);
	m = member_entry(v, "a");
	assert_pos(m->key_pos, 2, 3);
	assert_pos(m->value->pos, 2, 8);
	m = member_entry(v, "bb");
	assert_pos(m->key_pos, 3, 3);
	bb = m->value;
	assert_pos(bb->pos, 3, 9);
	assert_pos(bb->array.items[0]->pos, 3, 10);
	assert_pos(bb->array.items[1]->pos, 3, 16);
	m = member_entry(v, "c");
	/* A tab is one byte, one column. */
	assert_pos(m->key_pos, 4, 2);
	c = m->value;
	assert_pos(c->pos, 4, 7);
	assert_pos(member_entry(c, "d")->key_pos, 4, 8);
	assert_pos(member(c, "d")->pos, 4, 13);
	json_free(v);
}

static void test_positions_utf8(void **state)
{
	/* Columns count bytes: é and ü are two bytes each, € three. */
	struct json_value *v = parse_ok("{\"\xc3\xa9\": \"\xc3\xbc\", \"k\": 5,\n"
					"\"\xe2\x82\xac\xe2\x82\xac\": [\"\\u00e9\", 7]}");
	const struct json_member *m;
	const struct json_value *arr;

	(void)state;
	m = member_entry(v, "\xc3\xa9");
	assert_pos(m->key_pos, 1, 2);
	assert_pos(m->value->pos, 1, 8);
	m = member_entry(v, "k");
	assert_pos(m->key_pos, 1, 14);
	assert_pos(m->value->pos, 1, 19);
	m = member_entry(v, "\xe2\x82\xac\xe2\x82\xac");
	assert_pos(m->key_pos, 2, 1);
	arr = m->value;
	assert_pos(arr->pos, 2, 11);
	assert_pos(arr->array.items[0]->pos, 2, 12);
	/* "\u00e9" is eight bytes in the source, whatever it decodes to. */
	assert_pos(arr->array.items[1]->pos, 2, 22);
	json_free(v);

	/* CR LF: the CR is a column, the LF starts a line. */
	v = parse_ok("[\r\n1,\r\n  2]");
	assert_pos(v->array.items[0]->pos, 2, 1);
	assert_pos(v->array.items[1]->pos, 3, 3);
	json_free(v);

	/* A multi-line string does not exist (control chars), but escaped
	 * newlines inside a string do not move the line either. */
	v = parse_ok("[\"a\\nb\\nc\", 1]");
	assert_pos(v->array.items[1]->pos, 1, 13);
	json_free(v);
}

static void test_bom(void **state)
{
	struct json_value *v;
	struct json_error err;

	(void)state;
	v = parse_ok("\xef\xbb\xbf{\"a\": 1}");
	assert_int_equal(v->type, JSON_OBJECT);
	assert_int_equal(v->object.n, 1);
	json_free(v);
	/* Only at the very start. */
	assert_int_equal(parse_n(" \xef\xbb\xbf{}", 6, &v, &err), -EINVAL);
	assert_null(v);
}

/* ---- errors ------------------------------------------------------------------- */

struct err_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	unsigned int line, col;
	const char *msg; /* a part of the message */
};

static const struct err_case err_cases[] = {
	/* empty input */
	{ "", 0, 1, 1, "end of input" },
	{ "   ", 0, 1, 4, "end of input" },
	{ " \n\t", 0, 2, 2, "end of input" },
	/* trailing commas */
	{ "[1,]", 0, 1, 4, "trailing comma in array" },
	{ "[1,\n  ]", 0, 2, 3, "trailing comma in array" },
	{ "{\"a\": 1,}", 0, 1, 9, "trailing comma in object" },
	{ "{\"a\": 1,\n}", 0, 2, 1, "trailing comma in object" },
	{ "[,1]", 0, 1, 2, "unexpected character ','" },
	{ "{,}", 0, 1, 2, "expected a key" },
	/* duplicate keys: the error is at the second key */
	{ "{\"a\": 1, \"a\": 2}", 0, 1, 10, "duplicate key \"a\"" },
	{ "{\"a\": 1,\n  \"b\": 2,\n  \"a\": 3}", 0, 3, 3, "duplicate key \"a\" (first at line 1)" },
	{ "{\"x\": {\"k\": 1, \"k\": 1}}", 0, 1, 16, "duplicate key \"k\"" },
	/* an escaped key equal to a plain one is the same key */
	{ "{\"ab\": 1, \"a\\u0062\": 2}", 0, 1, 11, "duplicate key \"ab\"" },
	/* unterminated */
	{ "\"abc", 0, 1, 5, "unterminated string" },
	{ "\"abc\\", 0, 1, 6, "unterminated string" },
	{ "[1, 2", 0, 1, 6, "unterminated array" },
	{ "[1, 2\n", 0, 2, 1, "unterminated array" },
	{ "[", 0, 1, 2, "end of input" },
	{ "[1,", 0, 1, 4, "end of input" },
	{ "{\"a\": 1", 0, 1, 8, "unterminated object" },
	{ "{\"a\":", 0, 1, 6, "end of input" },
	{ "{\"a\"", 0, 1, 5, "expected ':'" },
	{ "{", 0, 1, 2, "expected a key" },
	{ "{\"a\" 1}", 0, 1, 6, "expected ':'" },
	{ "{1: 2}", 0, 1, 2, "expected a key" },
	{ "{'a': 2}", 0, 1, 2, "expected a key" },
	{ "[1 2]", 0, 1, 4, "expected ',' or ']'" },
	{ "{\"a\": 1 \"b\": 2}", 0, 1, 9, "expected ',' or '}'" },
	/* bad escapes */
	{ "\"\\x\"", 0, 1, 3, "unknown escape '\\x'" },
	{ "\"\\a\"", 0, 1, 3, "unknown escape" },
	{ "\"\\U0041\"", 0, 1, 3, "unknown escape" },
	{ "\"\\'\"", 0, 1, 3, "unknown escape" },
	{ "\"\\u12\"", 0, 1, 6, "bad hex digit" },
	{ "\"\\u12g4\"", 0, 1, 6, "bad hex digit" },
	{ "\"\\u12", 0, 1, 6, "unterminated \\u escape" },
	/* surrogates */
	{ "\"\\ud800\"", 0, 1, 8, "lone UTF-16 surrogate" },
	{ "\"\\ud800", 0, 1, 8, "lone UTF-16 surrogate" },
	{ "\"\\ud800x\"", 0, 1, 8, "lone UTF-16 surrogate" },
	{ "\"\\udbff\\n\"", 0, 1, 8, "lone UTF-16 surrogate" },
	{ "\"\\udc00\"", 0, 1, 8, "lone UTF-16 surrogate" },
	{ "\"\\udfff\\ud800\"", 0, 1, 8, "lone UTF-16 surrogate" },
	{ "\"\\ud800\\u0041\"", 0, 1, 14, "bad UTF-16 surrogate pair" },
	{ "\"\\ud800\\ud800\"", 0, 1, 14, "bad UTF-16 surrogate pair" },
	/* NUL */
	{ "\"\\u0000\"", 0, 1, 8, "NUL" },
	{ "\"a\0b\"", 5, 1, 3, "control character" },
	{ "[1,\0]", 5, 1, 4, "unexpected byte 0x00" },
	/* invalid UTF-8 */
	{ "\"\xff\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xfe\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"a\x80\"", 0, 1, 3, "invalid UTF-8" },
	{ "\"\xc3\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xc3", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xe2\x82\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xf0\x9f\x98\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xf0\x9f\x98", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xf8\x88\x80\x80\x80\"", 0, 1, 2, "invalid UTF-8" },
	/* overlong forms */
	{ "\"\xc0\xaf\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xc1\xbf\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xe0\x80\xaf\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xe0\x9f\xbf\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xf0\x80\x80\xaf\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xf0\x8f\xbf\xbf\"", 0, 1, 2, "invalid UTF-8" },
	/* UTF-8-encoded surrogates, and past U+10FFFF */
	{ "\"\xed\xa0\x80\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xed\xbf\xbf\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xf4\x90\x80\x80\"", 0, 1, 2, "invalid UTF-8" },
	{ "\"\xf7\xbf\xbf\xbf\"", 0, 1, 2, "invalid UTF-8" },
	/* the position is right after multi-byte characters and lines */
	{ "[\"\xc3\xa9\",\n \"\xe2\x82\xac\xff\"]", 0, 2, 6, "invalid UTF-8" },
	/* a bare invalid byte outside strings */
	{ "\xff", 0, 1, 1, "unexpected byte 0xff" },
	{ "[\xc3\xa9]", 0, 1, 2, "unexpected byte 0xc3" },
	/* control characters */
	{ "\"a\tb\"", 0, 1, 3, "control character" },
	{ "\"a\nb\"", 0, 1, 3, "control character" },
	{ "\"\x1f\"", 0, 1, 2, "control character" },
	{ "\"\r\"", 0, 1, 2, "control character" },
	{ "\n\n  {\"k\": \"v\x01\"}", 0, 3, 11, "control character" },
	/* numbers */
	{ "01", 0, 1, 2, "leading zero" },
	{ "00", 0, 1, 2, "leading zero" },
	{ "-01", 0, 1, 3, "leading zero" },
	{ "[0, 007]", 0, 1, 6, "leading zero" },
	{ "-", 0, 1, 2, "bad number" },
	{ "-a", 0, 1, 2, "bad number" },
	{ "--1", 0, 1, 2, "bad number" },
	{ "+1", 0, 1, 1, "unexpected character '+'" },
	{ ".5", 0, 1, 1, "unexpected character '.'" },
	{ "1.", 0, 1, 3, "digit expected after '.'" },
	{ "1.e5", 0, 1, 3, "digit expected after '.'" },
	{ "1e", 0, 1, 3, "digit expected in exponent" },
	{ "1e+", 0, 1, 4, "digit expected in exponent" },
	{ "1E-x", 0, 1, 4, "digit expected in exponent" },
	{ "1e400", 0, 1, 1, "out of range" },
	{ "-1e400", 0, 1, 1, "out of range" },
	{ "[1, 1e99999999999999999999]", 0, 1, 5, "out of range" },
	{ "0x10", 0, 1, 2, "after the end" },
	{ "1.5.5", 0, 1, 4, "after the end" },
	{ "NaN", 0, 1, 1, "unexpected character 'N'" },
	{ "-Infinity", 0, 1, 2, "bad number" },
	/* literals */
	{ "tru", 0, 1, 1, "expected 'true'" },
	{ "nul", 0, 1, 1, "expected 'null'" },
	{ "[fals]", 0, 1, 2, "expected 'false'" },
	{ "True", 0, 1, 1, "unexpected character 'T'" },
	{ "[truex]", 0, 1, 6, "expected ',' or ']'" },
	{ "'a'", 0, 1, 1, "unexpected character" },
	/* comments are not JSON */
	{ "// c\n1", 0, 1, 1, "unexpected character '/'" },
	{ "[1 /* c */]", 0, 1, 4, "expected ',' or ']'" },
	/* trailing garbage */
	{ "[1] x", 0, 1, 5, "after the end" },
	{ "1 2", 0, 1, 3, "after the end" },
	{ "{}}", 0, 1, 3, "after the end" },
	{ "{}\n\n  ,", 0, 3, 3, "after the end" },
	{ "\"a\"\"b\"", 0, 1, 4, "after the end" },
	{ "null\0", 5, 1, 5, "after the end" },
};

static void test_errors(void **state)
{
	size_t bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		struct json_value *v = NULL;
		struct json_error err;
		int r;

		memset(&err, 0x55, sizeof(err));
		r = parse_n(c->text, len, &v, &err);
		if (r != -EINVAL || err.pos.line != c->line || err.pos.col != c->col ||
		    !strstr(err.msg, c->msg) || memchr(err.msg, '\0', sizeof(err.msg)) == NULL) {
			print_message("# case %zu (%zu bytes) \"%.*s\": got r=%d at %u:%u \"%.*s\"; "
				      "expected -EINVAL at %u:%u \"...%s...\"\n",
				      i, len, (int)len, c->text, r, err.pos.line, err.pos.col,
				      (int)sizeof(err.msg), err.msg, c->line, c->col, c->msg);
			bad++;
		}
		if (r == 0)
			json_free(v);
	}
	assert_int_equal(bad, 0);
}

/* Nesting: JSON_MAX_DEPTH levels are fine, one more is an error at its bracket. */
static void test_depth(void **state)
{
	char buf[6 * (JSON_MAX_DEPTH + 12)];
	struct json_value *v;
	struct json_error err;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		buf[n++] = '[';
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		buf[n++] = ']';
	assert_int_equal(parse_n(buf, n, &v, &err), 0);
	json_free(v);

	n = 0;
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		buf[n++] = '[';
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		buf[n++] = ']';
	assert_int_equal(parse_n(buf, n, &v, &err), -EINVAL);
	assert_null(v);
	assert_int_equal(err.pos.line, 1);
	assert_int_equal(err.pos.col, JSON_MAX_DEPTH + 1);
	assert_non_null(strstr(err.msg, "nested deeper than 64"));

	/* Objects count too, and mixed with arrays. */
	n = 0;
	for (int i = 0; i < JSON_MAX_DEPTH / 2; i++) {
		memcpy(buf + n, "{\"\":[", 5);
		n += 5;
	}
	for (int i = 0; i < JSON_MAX_DEPTH / 2; i++) {
		memcpy(buf + n, "]}", 2);
		n += 2;
	}
	assert_int_equal(parse_n(buf, n, &v, &err), 0);
	json_free(v);

	n = 0;
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++) {
		memcpy(buf + n, "{\"\":", 4);
		n += 4;
	}
	buf[n++] = '1';
	for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
		buf[n++] = '}';
	assert_int_equal(parse_n(buf, n, &v, &err), -EINVAL);
	assert_int_equal(err.pos.col, 4 * JSON_MAX_DEPTH + 1);
	assert_non_null(strstr(err.msg, "nested deeper"));

	/* Depth is nesting, not the number of containers seen. */
	n = 0;
	for (int i = 0; i < JSON_MAX_DEPTH + 10; i++) {
		memcpy(buf + n, i ? ",[]" : "[[]", 3);
		n += 3;
	}
	buf[n++] = ']';
	assert_int_equal(parse_n(buf, n, &v, &err), 0);
	assert_int_equal(v->array.n, JSON_MAX_DEPTH + 10);
	json_free(v);
}

/* A very deep document must fail, not exhaust the stack. */
static void test_depth_huge(void **state)
{
	size_t n = 1000000;
	char *buf = malloc(n);
	struct json_value *v;
	struct json_error err;

	(void)state;
	assert_non_null(buf);
	memset(buf, '[', n);
	assert_int_equal(json_parse(buf, n, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nested deeper"));
	free(buf);
}

/* Long numbers: either parsed correctly or refused with a clear error. */
static void test_long_number(void **state)
{
	char buf[200];
	struct json_value *v;
	struct json_error err;
	int r;

	(void)state;
	memset(buf, '1', sizeof(buf));
	r = parse_n(buf, sizeof(buf), &v, &err);
	if (r == 0) {
		assert_int_equal(v->type, JSON_NUMBER);
		assert_false(v->number.is_integer);
		assert_true(v->number.value > 1e199);
		json_free(v);
	} else {
		assert_int_equal(r, -EINVAL);
		assert_int_equal(err.pos.line, 1);
		assert_int_equal(err.pos.col, 1);
		assert_true(err.msg[0] != '\0');
	}
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(json_type_name(JSON_NULL), "null");
	assert_string_equal(json_type_name(JSON_BOOL), "a boolean");
	assert_string_equal(json_type_name(JSON_NUMBER), "a number");
	assert_string_equal(json_type_name(JSON_STRING), "a string");
	assert_string_equal(json_type_name(JSON_ARRAY), "an array");
	assert_string_equal(json_type_name(JSON_OBJECT), "an object");
	json_free(NULL);
}

/* ---- truncation and mutation ------------------------------------------------------ */

static const char sample_doc[] =
	"\xef\xbb\xbf{\n"
	"  \"fs\": {\"read\": [\"/usr\", \"rel/p\\u00e9\", \"\xe2\x82\xac\"], \"deny\": []},\n"
	"  \"net\": {\"allow\": [\":443\", \"[::1]:80\"], \"bind\": [8080, 0]},\n"
	"  \"limits\": {\"memory\": \"256M\", \"timeout\": 1.5e1, \"procs\": -0,\n"
	"             \"big\": 9223372036854775807, \"neg\": -12.5E-3},\n"
	"  \"env\": {\"clean\": true, \"set\": {\"A\\n\\t\\\"\": \"\\ud83d\\ude00\"}},\n"
	"  \"x\": [null, false, true, {}, [], [[{}]]]\n"
	"}\n";

/* Parse exactly LEN bytes; accept success or a clean, positioned error. */
static void parse_clean(const char *s, size_t len)
{
	struct json_value *v;
	struct json_error err;
	unsigned int lines = 1;
	int r;

	for (size_t i = 0; i < len; i++)
		lines += s[i] == '\n';
	r = parse_n(s, len, &v, &err);
	if (r == 0) {
		assert_non_null(v);
		json_free(v);
		return;
	}
	if (r != -EINVAL)
		fail_msg("prefix of %zu bytes: returned %d", len, r);
	assert_null(v);
	assert_true(err.msg[0] != '\0');
	assert_non_null(memchr(err.msg, '\0', sizeof(err.msg)));
	if (err.pos.line < 1 || err.pos.line > lines || err.pos.col < 1 ||
	    err.pos.col > len + 1)
		fail_msg("%zu bytes: error position %u:%u out of range", len,
			 err.pos.line, err.pos.col);
}

static void test_truncation(void **state)
{
	size_t len = sizeof(sample_doc) - 1;
	struct json_value *v;
	struct json_error err;

	(void)state;
	assert_int_equal(parse_n(sample_doc, len, &v, &err), 0);
	json_free(v);
	for (size_t n = 0; n < len; n++)
		parse_clean(sample_doc, n);
	/* Every suffix as well (starts in the middle of tokens and UTF-8). */
	for (size_t n = 1; n < len; n++)
		parse_clean(sample_doc + n, len - n);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void test_mutation(void **state)
{
	static const char alphabet[] = "{}[]\",:\\u0123456789abcdefABCDEF.eE+-tfnrl \n\t"
				       "\x00\x01\x1f\x7f\x80\xbf\xc0\xc3\xe2\xed\xf0\xf4\xff";
	size_t base_len = sizeof(sample_doc) - 1;
	char *buf = malloc(base_len + 16);

	(void)state;
	assert_non_null(buf);
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = base_len;
		int edits = 1 + (int)(rng() % 4);

		memcpy(buf, sample_doc, base_len);
		for (int k = 0; k < edits; k++) {
			size_t at = (size_t)(rng() % (len ? len : 1));
			char c = alphabet[rng() % (sizeof(alphabet) - 1)];

			switch (rng() % 3) {
			case 0: /* replace */
				if (len)
					buf[at] = c;
				break;
			case 1: /* insert */
				if (len < base_len + 16) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = c;
					len++;
				}
				break;
			default: /* delete */
				if (len) {
					memmove(buf + at, buf + at + 1, len - at - 1);
					len--;
				}
				break;
			}
		}
		if (rng() % 4 == 0)
			len = (size_t)(rng() % (len + 1));
		parse_clean(buf, len);
	}
	free(buf);
}


/* ---- size: linear time and memory ------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {"k0":0,"k1":1,...} with N keys; a copy of key DUP (if < N) is appended last. */
static char *many_keys(size_t n, size_t dup, size_t *len)
{
	size_t cap = 32 + (n + 1) * 32, l = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	buf[l++] = '{';
	for (size_t i = 0; i < n; i++)
		l += (size_t)snprintf(buf + l, cap - l, "%s\n\"k%zu\":%zu", i ? "," : "", i, i);
	if (dup < n)
		l += (size_t)snprintf(buf + l, cap - l, ",\n\"k%zu\":0", dup);
	buf[l++] = '}';
	*len = l;
	return buf;
}

/*
 * Duplicate keys are found in linear time: 200,000 keys took minutes with a
 * scan of the earlier keys for each new one; a generous bound here, so that
 * a loaded machine or ASan does not fail it.
 */
static void test_many_keys(void **state)
{
	size_t n = 200000, len;
	char *buf = many_keys(n, n, &len);
	struct json_value *v = NULL;
	struct json_error err;
	double t0 = now_s(), dt;

	(void)state;
	assert_int_equal(json_parse(buf, len, &v, &err), 0);
	dt = now_s() - t0;
	print_message("# %zu keys parsed in %.3f s\n", n, dt);
	assert_true(dt < 3.0);
	assert_int_equal(v->type, JSON_OBJECT);
	assert_int_equal(v->object.n, n);
	assert_string_equal(v->object.members[n - 1].key, "k199999");
	assert_int_equal(v->object.members[n - 1].value->number.integer, 199999);
	json_free(v);
	free(buf);

	/* ... and still reported, at the second one, naming the first's line */
	buf = many_keys(n, 123456, &len);
	t0 = now_s();
	assert_int_equal(json_parse(buf, len, &v, &err), -EINVAL);
	dt = now_s() - t0;
	assert_true(dt < 3.0);
	assert_non_null(strstr(err.msg, "duplicate key \"k123456\" (first at line 123458)"));
	assert_int_equal(err.pos.line, n + 2);
	assert_int_equal(err.pos.col, 1);
	free(buf);

	/* keys that differ only after a common prefix, or by length */
	v = parse_ok("{\"a\":1,\"ab\":2,\"abc\":3,\"b\":4,\"\":5}");
	assert_int_equal(v->object.n, 5);
	json_free(v);
	assert_int_equal(parse_n("{\"\":1,\"a\":2,\"\":3}", 17, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "duplicate key \"\""));
	assert_int_equal(err.pos.col, 13);
	/* the same key in two objects is no duplicate */
	v = parse_ok("[{\"a\":1,\"b\":2},{\"a\":1,\"b\":2}]");
	json_free(v);
}

/*
 * Memory follows the document: each string is allocated for its own length.
 * The reader used to allocate, for every string, room for the whole rest
 * of the input (a 0.8 MB array of 200,000 strings took 815 MB).
 */
static void test_many_strings(void **state)
{
	size_t n = 200000, l = 0, biggest = 0;
	char *buf = malloc(n * 8 + 16);
	struct json_value *v = NULL;
	struct json_error err;
	double t0, dt;

	(void)state;
	assert_non_null(buf);
	buf[l++] = '[';
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf[l++] = ',';
		memcpy(buf + l, "\"str\"", 5);
		l += 5;
	}
	buf[l++] = ']';
	t0 = now_s();
	assert_int_equal(json_parse(buf, l, &v, &err), 0);
	dt = now_s() - t0;
	print_message("# %zu strings parsed in %.3f s\n", n, dt);
	assert_true(dt < 3.0);
	assert_int_equal(v->array.n, n);
	for (size_t i = 0; i < n; i++) {
		size_t u = malloc_usable_size(v->array.items[i]->string.s);

		if (u > biggest)
			biggest = u;
	}
	print_message("# the largest string allocation: %zu bytes\n", biggest);
	assert_true(biggest <= 64);
	json_free(v);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_positions_utf8),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_depth_huge),
		cmocka_unit_test(test_long_number),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_mutation),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_many_strings),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
