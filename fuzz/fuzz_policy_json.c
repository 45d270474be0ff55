// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_policy_json - a policy file's bytes (mosctl --policy, and a remote
 * job's --policy, which mosd reads from the origin through mosfs).
 *
 * 1. json_parse (json.c).  A document it accepts is written out again
 *    (canonically, below) and parsed again: the second reading must give
 *    the same document, its strings must hold no NUL, its objects no key
 *    twice, and it must nest no deeper than JSON_MAX_DEPTH.  A document it
 *    refuses must come with a message and a position inside the text.
 * 2. policy_load_buffer (policy_json.c): a parsed policy or a clean error
 *    (-EINVAL and a message); a parsed policy must hold what every policy
 *    holds (fuzz_check_policy).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json.h"
#include "policy.h"
#include "util.h"

static void put_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void write_value(FILE *f, const struct json_value *v, int depth)
{
	fuzz_assert(depth <= JSON_MAX_DEPTH);
	switch (v->type) {
	case JSON_NULL:
		fputs("null", f);
		break;
	case JSON_BOOL:
		fputs(v->boolean ? "true" : "false", f);
		break;
	case JSON_NUMBER:
		if (v->number.is_integer) {
			fuzz_assert((double)v->number.integer == v->number.value);
			fprintf(f, "%lld", (long long)v->number.integer);
		} else {
			char num[40];

			/* written so that it reads back as a fraction too ("-0e0",
			 * not "-0", which is the integer 0) */
			snprintf(num, sizeof(num), "%.17g", v->number.value);
			fprintf(f, "%s%s", num, strpbrk(num, ".e") ? "" : "e0");
		}
		break;
	case JSON_STRING:
		fuzz_assert(v->string.s && strlen(v->string.s) == v->string.len);
		put_string(f, v->string.s, v->string.len);
		break;
	case JSON_ARRAY:
		fputc('[', f);
		for (size_t i = 0; i < v->array.n; i++) {
			if (i)
				fputc(',', f);
			write_value(f, v->array.items[i], depth + 1);
		}
		fputc(']', f);
		break;
	case JSON_OBJECT:
		fputc('{', f);
		for (size_t i = 0; i < v->object.n; i++) {
			const struct json_member *m = &v->object.members[i];

			for (size_t k = 0; k < i; k++)
				fuzz_assert(strcmp(v->object.members[k].key, m->key));
			if (i)
				fputc(',', f);
			put_string(f, m->key, strlen(m->key));
			fputc(':', f);
			write_value(f, m->value, depth + 1);
		}
		fputc('}', f);
		break;
	default:
		fuzz_fail("json value of type %d", v->type);
	}
}

static char *write_doc(const struct json_value *v, size_t *len)
{
	char *s = NULL;
	FILE *f = open_memstream(&s, len);

	if (!f)
		fuzz_fail("open_memstream: %m");
	write_value(f, v, 1);
	fclose(f);
	return s;
}

static void check_json(const char *text, size_t len)
{
	struct json_value *doc = NULL, *again = NULL;
	struct json_error err = { 0 };
	_cleanup_free_ char *a = NULL, *b = NULL;
	size_t alen, blen, lines = 1;

	if (json_parse(text, len, &doc, &err) < 0) {
		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		fuzz_assert(err.msg[0]);
		fuzz_assert(err.pos.line >= 1 && err.pos.line <= lines && err.pos.col >= 1);
		fuzz_assert(err.pos.col <= len + 1);
		return;
	}
	a = write_doc(doc, &alen);
	if (json_parse(a, alen, &again, &err) < 0)
		fuzz_fail("json_parse refuses its own document written out: %s (%u:%u): %s",
			  err.msg, err.pos.line, err.pos.col, a);
	b = write_doc(again, &blen);
	if (alen != blen || memcmp(a, b, alen))
		fuzz_fail("a document read twice differs:\n%s\n%s", a, b);
	json_free(doc);
	json_free(again);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct mos_policy p;
	struct mos_err e = { "" };
	int r;

	check_json(text, size);

	policy_init(&p);
	r = policy_load_buffer(&p, text, size, "fuzz.json", "/base/dir", &e);
	if (r == 0) {
		fuzz_check_policy(&p);
	} else {
		fuzz_assert(r == -EINVAL);
		fuzz_assert(e.msg[0]);
	}
	policy_free(&p);
	return 0;
}
