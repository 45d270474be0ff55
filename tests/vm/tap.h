/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tap.h - TAP results for the guest test programs in tests/vm/: one
 * "ok N what" / "not ok N what # detail" line per check, the detail on one
 * line; FAILED counts the failures for the exit status.
 */
#ifndef MOS_VM_TAP_H
#define MOS_VM_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int n, failed;

static void result(int ok, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), unused));

static void result(int ok, const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d %s", ok ? "ok" : "not ok", ++n, what);
	if (fmt && *fmt) {
		char text[1024];

		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		for (char *c = text; *c; c++)
			if (*c == '\n')
				*c = ' ';
		printf(" # %s", text);
	}
	printf("\n");
	fflush(stdout);
	failed += !ok;
}

#endif /* MOS_VM_TAP_H */
