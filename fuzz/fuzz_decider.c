// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_decider - what a --decider writes back (supervise_ui.c,
 * sup_decider_answer).  The decider is a program of the user's, but it
 * reads questions built from what the sandbox did (paths it chose), and may
 * echo them: its output is untrusted text.  The input's first byte picks
 * the question's id (1 to 16); the rest is the decider's output, one answer
 * per line.
 *
 * The property is Documentation/supervisor.md's contract, read here on its
 * own: a line answers question ID when its first number is ID; the verdict
 * is the "verdict" member of a JSON object ({"id":3,"verdict":"allow"}), or
 * else the first word (letters of either case) after the id ("3 allow");
 * "allow" allows once,
 * "always" for the rest of the run, and anything else denies.  Above all,
 * nothing but such a verdict may allow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json.h"
#include "supervise_ui.h"
#include "util.h"

static int word_verdict(const char *w, size_t n)
{
	if (n == 5 && !memcmp(w, "allow", 5))
		return 0;
	if (n == 6 && !memcmp(w, "always", 6))
		return 1;
	return -EACCES;
}

static int ref_answer(const char *line, unsigned long id)
{
	const char *p = line, *w;
	struct json_value *doc = NULL;
	struct json_error err;
	unsigned long long n = 0;
	bool big = false;
	int r = -EACCES;

	while (*p && (*p < '0' || *p > '9'))
		p++;
	if (!*p)
		return -ESRCH;
	for (; *p >= '0' && *p <= '9'; p++) {
		big |= n > (~0ULL - 9) / 10;
		n = n * 10 + (unsigned)(*p - '0');
	}
	if (big || n != id)
		return -ESRCH;
	if (json_parse(line, strlen(line), &doc, &err) == 0 && doc->type == JSON_OBJECT) {
		for (size_t i = 0; i < doc->object.n; i++) {
			const struct json_member *m = &doc->object.members[i];

			if (!strcmp(m->key, "verdict") && m->value->type == JSON_STRING)
				r = word_verdict(m->value->string.s, m->value->string.len);
		}
		json_free(doc);
		return r;
	}
	json_free(doc);
	/* a word: letters of either case (an upper-case DENY is a word too,
	 * not something to skip on the way to an "always") */
	while (*p && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		p++;
	for (w = p; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'); p++)
		;
	return word_verdict(w, (size_t)(p - w));
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
	unsigned long id = size ? (data[0] & 15) + 1 : 1;
	_cleanup_free_ char *text = xmalloc(size + 1);
	char *line, *next;

	if (size)
		memcpy(text, data + 1, size - 1);
	text[size ? size - 1 : 0] = 0;
	/* as read_line hands them on: split at newlines, at most 1023 bytes */
	for (line = text; line; line = next) {
		int got, want;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (strlen(line) > 1023)
			line[1023] = 0;
		got = sup_decider_answer(line, id);
		want = ref_answer(line, id);
		fuzz_assert(got == 1 || got == 0 || got == -EACCES || got == -ESRCH);
		if (got != want)
			fuzz_fail("decider line '%s' for question %lu: %d, the contract says %d",
				  line, id, got, want);
	}
	return 0;
}
