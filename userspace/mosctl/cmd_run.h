/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_run.h - `mosctl run`, which `mosctl cc` and `mosctl make` build their
 * jobs on: ARGV[0] is "run", then run's options, "--" and the command.
 * Handles --on (a list or pool, the local fallback included) as run does.
 */
#ifndef MOS_CMD_RUN_H
#define MOS_CMD_RUN_H

int cmd_run(int argc, char **argv);

#endif
