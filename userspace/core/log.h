/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.h - messages to the user on stderr.
 *
 * Every message says what failed, on what, and, where there is one, what to
 * do about it.  The program name ("mosctl", "mosd") prefixes each line.
 */
#ifndef MOS_LOG_H
#define MOS_LOG_H

#include <stdarg.h>

enum mos_log_level {
	MOS_LOG_ERROR = 0,
	MOS_LOG_WARN = 1,
	MOS_LOG_INFO = 2,  /* -v */
	MOS_LOG_DEBUG = 3, /* -vv */
};

void mos_log_init(const char *progname, int level);
int mos_log_level(void);
void mos_log(enum mos_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mos_err(...) mos_log(MOS_LOG_ERROR, __VA_ARGS__)
#define mos_warn(...) mos_log(MOS_LOG_WARN, __VA_ARGS__)
#define mos_info(...) mos_log(MOS_LOG_INFO, __VA_ARGS__)
#define mos_debug(...) mos_log(MOS_LOG_DEBUG, __VA_ARGS__)

#endif /* MOS_LOG_H */
