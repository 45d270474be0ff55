/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sh_line - which commands a POSIX shell command line runs, read without a
 * shell: for mosctl make, whose recipe lines that only do a shell's own
 * bookkeeping (set, trap, printf >> FILE, rm -f, mv) cost more as a job on
 * the pool than they take here.
 *
 * The reading is conservative: a line it cannot be sure of (command
 * substitution, a here-document, for/case/function syntax, a command name
 * made by an expansion or by quotes, an unterminated quote) counts as
 * running something not on the list.
 */
#ifndef MOS_SH_LINE_H
#define MOS_SH_LINE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether every command LINE would run is one of NAMES (N of them): a
 * command word equal to a name, or a path ending in "/" and the name
 * ("/bin/rm" is "rm", "./scripts/x" is "scripts/x").  Assignments,
 * redirections and the reserved words that only group commands (if, then,
 * else, elif, fi, while, until, do, done, !, {, }) are not commands.  A
 * line with no command at all is within any list.
 */
bool sh_line_runs_only(const char *line, const char *const *names, size_t n);

#endif
