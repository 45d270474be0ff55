/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * report.h - what a compiled policy will enforce, and with which mechanism.
 *
 * Backends append one line per decision.  A rule a backend cannot enforce on
 * this kernel is recorded as "weak": mosctl refuses to run while any exist,
 * unless the user passed --allow-degraded (then each is printed as a warning).
 */
#ifndef MOS_REPORT_H
#define MOS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct mos_report {
	char **lines;
	size_t nlines;
	char **weak;
	size_t nweak;
};

void report_add(struct mos_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_weak(struct mos_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Add SRC's lines and weak rules after DST's, in order. */
void report_append(struct mos_report *dst, const struct mos_report *src);
void report_print(const struct mos_report *r, FILE *out, const char *prefix);
void report_free(struct mos_report *r);
/* Print the weak rules (errors, or warnings with ALLOW_DEGRADED); true when
 * going on is acceptable.  WHERE names the machine in the messages ("this
 * worker"); NULL: this kernel. */
bool report_weak_ok(const struct mos_report *r, bool allow_degraded, const char *where);

#endif /* MOS_REPORT_H */
