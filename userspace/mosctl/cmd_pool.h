/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_pool.h - `mosctl pool status`: each worker's own report.
 */
#ifndef MOS_CMD_POOL_H
#define MOS_CMD_POOL_H

/* ARGV[0] is "pool", ARGV[1] "status". */
int cmd_pool(int argc, char **argv);

#endif
