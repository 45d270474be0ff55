// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"

#include <stdio.h>
#include <string.h>

static const char *log_prog = "mosingar";
static int log_threshold = MOS_LOG_WARN;

void mos_log_init(const char *progname, int level)
{
	log_prog = progname;
	log_threshold = level;
}

int mos_log_level(void)
{
	return log_threshold;
}

void mos_log(enum mos_log_level level, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	if ((int)level > log_threshold)
		return;
	n = snprintf(buf, sizeof(buf), "%s: %s", log_prog,
		     level == MOS_LOG_WARN ? "warning: " : "");
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	/* One write per message, so lines from several processes do not interleave. */
	n = strlen(buf);
	if (n < (int)sizeof(buf) - 1)
		buf[n++] = '\n';
	fwrite(buf, 1, n, stderr);
	fflush(stderr);
}
