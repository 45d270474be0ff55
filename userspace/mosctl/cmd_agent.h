/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_agent.h - `mosctl agent`: this user's warm sessions to the workers.
 */
#ifndef MOS_CMD_AGENT_H
#define MOS_CMD_AGENT_H

/* ARGV[0] is "agent". */
int cmd_agent(int argc, char **argv);

#endif
