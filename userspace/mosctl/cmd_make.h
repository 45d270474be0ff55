/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_make.h - `mosctl make`: GNU make here, each recipe a job on the pool.
 */
#ifndef MOS_CMD_MAKE_H
#define MOS_CMD_MAKE_H

#include <stdbool.h>

/* mosctl make [--on SPEC] [--no-local] [--all-remote] [--local-cmd NAME]... [-v]
 * -- [MAKE ARGS...]; ARGV[0] is "make". */
int cmd_make(int argc, char **argv);
/* Whether mosctl was started by make as its SHELL (FLAGS LINE). */
bool cmd_make_is_shell_call(int argc, char **argv);
/* Run one recipe line: on the pool, or here when marked local. */
int cmd_make_shell(int argc, char **argv);

#endif
