// SPDX-License-Identifier: GPL-2.0-only
/*
 * sh_line - which commands a shell command line runs (sh_line.h).
 *
 * One pass over the line: words are split on unquoted blanks and
 * operators (; & | ( ) newline, and the redirections < >), quotes and
 * backslashes kept inside the word they belong to.  The first word of each
 * simple command that is not an assignment or a reserved word is its
 * command name, checked against the list; the word after a redirection is
 * its target, not a command.
 */
#include <string.h>

#include "sh_line.h"
#include "util.h"

#define NAME_MAX_LEN 256

struct word {
	char text[NAME_MAX_LEN];
	size_t len;
	bool any;     /* a word has started */
	bool unsure;  /* quoted, expanded or too long to name a command */
	bool digits;  /* only digits so far (a redirection's fd number) */
};

struct reader {
	const char *const *names;
	size_t n;
	bool cmd_start;     /* the next word names a command */
	bool redir_target;  /* the next word is a redirection's target */
};

static void word_add(struct word *w, char c, bool unsure)
{
	if (!w->any) {
		w->any = true;
		w->digits = true;
	}
	if (c < '0' || c > '9' || unsure)
		w->digits = false;
	if (unsure)
		w->unsure = true;
	if (w->len + 1 < sizeof(w->text))
		w->text[w->len++] = c;
	else
		w->unsure = true;
}

static bool is_assignment(const struct word *w)
{
	const char *eq = memchr(w->text, '=', w->len);

	if (!eq || eq == w->text)
		return false;
	for (const char *p = w->text; p < eq; p++) {
		bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';

		if (!alpha && (p == w->text || *p < '0' || *p > '9'))
			return false;
	}
	return true;
}

static bool name_listed(const struct reader *rd, const char *word, size_t len)
{
	for (size_t i = 0; i < rd->n; i++) {
		size_t nl = strlen(rd->names[i]);

		if (len == nl && !memcmp(word, rd->names[i], nl))
			return true;
		if (len > nl && word[len - nl - 1] == '/' && !memcmp(word + len - nl, rd->names[i], nl))
			return true;
	}
	return false;
}

/* A word ends: false when it names a command not on the list (or unsure). */
static bool word_end(struct reader *rd, struct word *w)
{
	static const char *const grouping[] = { "if", "then", "else", "elif", "while",
						"until", "do",   "!",    "{" };
	static const char *const closing[] = { "fi", "done", "}" };
	bool ok = true;

	if (!w->any)
		return true;
	w->text[w->len] = '\0';
	if (rd->redir_target) {
		rd->redir_target = false;
	} else if (rd->cmd_start) {
		bool known = false;

		if (!w->unsure && is_assignment(w)) {
			known = true; /* still the command's start */
		}
		for (size_t i = 0; !known && !w->unsure && i < ARRAY_SIZE(grouping); i++)
			known = !strcmp(w->text, grouping[i]);
		for (size_t i = 0; !known && !w->unsure && i < ARRAY_SIZE(closing); i++) {
			if (!strcmp(w->text, closing[i])) {
				known = true;
				rd->cmd_start = false;
			}
		}
		if (!known) {
			ok = !w->unsure && name_listed(rd, w->text, w->len);
			rd->cmd_start = false;
		}
	}
	*w = (struct word){ 0 };
	return ok;
}

bool sh_line_runs_only(const char *line, const char *const *names, size_t n)
{
	struct reader rd = { .names = names, .n = n, .cmd_start = true };
	struct word w = { 0 };
	const char *p = line;

	while (*p) {
		char c = *p;

		if (c == ' ' || c == '\t') {
			if (!word_end(&rd, &w))
				return false;
			p++;
		} else if (c == '\\') {
			if (p[1] == '\n') { /* a continued line */
				p += 2;
				continue;
			}
			if (!p[1])
				return false;
			word_add(&w, p[1], true);
			p += 2;
		} else if (c == '\'') {
			const char *end = strchr(p + 1, '\'');

			if (!end)
				return false;
			word_add(&w, '\'', true);
			p = end + 1;
		} else if (c == '"') {
			for (p++; *p != '"'; p++) {
				if (!*p || *p == '`' || (p[0] == '$' && p[1] == '('))
					return false;
				if (*p == '\\' && p[1])
					p++;
			}
			word_add(&w, '"', true);
			p++;
		} else if (c == '`' || (c == '$' && p[1] == '(')) {
			return false; /* a command substitution runs commands of its own */
		} else if (c == '$') {
			word_add(&w, c, true);
			p++;
		} else if (c == '#' && !w.any) {
			while (*p && *p != '\n')
				p++;
		} else if (c == '<' || c == '>') {
			if (c == '<' && p[1] == '<')
				return false; /* a here-document */
			if (w.any && !w.digits && !word_end(&rd, &w))
				return false;
			w = (struct word){ 0 }; /* an fd number, "2>" */
			if (rd.redir_target)
				return false; /* "> >" */
			p++;
			while (*p == '>' || *p == '&' || *p == '|')
				p++;
			if (p[-1] == '&' && ((*p >= '0' && *p <= '9') || *p == '-')) {
				while ((*p >= '0' && *p <= '9') || *p == '-')
					p++; /* ">&2", "2>&1", ">&-": no word follows */
			} else {
				rd.redir_target = true;
			}
		} else if (c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '\n') {
			if (!word_end(&rd, &w) || rd.redir_target)
				return false;
			rd.cmd_start = true;
			p++;
		} else {
			if (rd.cmd_start && !w.any && !rd.redir_target) {
				/* syntax this reader does not follow */
				static const char *const complex[] = { "for", "case", "select",
								       "function" };

				for (size_t i = 0; i < ARRAY_SIZE(complex); i++) {
					size_t l = strlen(complex[i]);

					/* p[l] only once p holds the whole word */
					if (!strncmp(p, complex[i], l) &&
					    (!p[l] || strchr(" \t\n;&|()<>", p[l])))
						return false;
				}
			}
			word_add(&w, c, false); /* a glob in a name matches no listed name */
			p++;
		}
	}
	return word_end(&rd, &w) && !rd.redir_target;
}
