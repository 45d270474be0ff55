/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MOS_CMD_CC_H
#define MOS_CMD_CC_H

#include <stdbool.h>

/* The default SPEC of mosctl cc and mosctl make: MOS_ON, else "local". */
const char *cc_default_on(void);
/* mosctl cc COMPILER ARGS...: ARGV[0] is "cc". */
int cmd_cc(int argc, char **argv);

/* MOS_STATS=1: the farm commands' jobs print --stats lines (stderr). */
bool cc_stats_wanted(void);

#endif
