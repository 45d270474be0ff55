// SPDX-License-Identifier: GPL-2.0-only
#include "report.h"

#include <stdarg.h>

#include "log.h"
#include "util.h"

static void push(char ***v, size_t *n, const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup("(out of memory)");
	strv_push(v, n, s);
}

void report_add(struct mos_report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	push(&r->lines, &r->nlines, fmt, ap);
	va_end(ap);
}

void report_weak(struct mos_report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	push(&r->weak, &r->nweak, fmt, ap);
	va_end(ap);
}

void report_append(struct mos_report *dst, const struct mos_report *src)
{
	for (size_t i = 0; i < src->nlines; i++)
		strv_push(&dst->lines, &dst->nlines, xstrdup(src->lines[i]));
	for (size_t i = 0; i < src->nweak; i++)
		strv_push(&dst->weak, &dst->nweak, xstrdup(src->weak[i]));
}

void report_print(const struct mos_report *r, FILE *out, const char *prefix)
{
	for (size_t i = 0; i < r->nlines; i++)
		fprintf(out, "%s%s\n", prefix, r->lines[i]);
}

void report_free(struct mos_report *r)
{
	strv_free(r->lines);
	strv_free(r->weak);
	*r = (struct mos_report){ 0 };
}

bool report_weak_ok(const struct mos_report *r, bool allow_degraded, const char *where)
{
	for (size_t i = 0; i < r->nweak; i++) {
		if (allow_degraded)
			mos_warn("only partly enforced%s%s: %s", where ? " on " : "",
				 where ? where : "", r->weak[i]);
		else
			mos_err("cannot enforce on %s: %s", where ? where : "this kernel",
				r->weak[i]);
	}
	if (r->nweak && !allow_degraded)
		mos_err("refusing to go on with a weaker policy than asked; pass "
			"--allow-degraded to accept the rules above as printed");
	return !r->nweak || allow_degraded;
}
