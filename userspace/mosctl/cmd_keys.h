/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_keys.h - `mosctl keygen` and `mosctl key`: this user's Ed25519
 * identity for remote execution, kept in $MOS_CONFIG_DIR/id_ed25519
 * (default ~/.config/mosingar/id_ed25519).
 */
#ifndef MOSCTL_CMD_KEYS_H
#define MOSCTL_CMD_KEYS_H

/* ARGV[0] is the subcommand name.  Both return the process exit status. */
int cmd_keygen(int argc, char **argv);
int cmd_key(int argc, char **argv);

#endif /* MOSCTL_CMD_KEYS_H */
