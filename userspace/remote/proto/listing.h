/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * listing.h - one directory listing as LISTDIR carries it (protocol.md §6):
 * the origin builds it (origin_fs.h), a worker receives it (mosfs.h).
 */
#ifndef MOS_LISTING_H
#define MOS_LISTING_H

#include <stddef.h>

#include <mosingar/protocol.h>

/* Entries of one listing, at most (a worker refuses more: protocol.md §6). */
#define ORIGIN_LISTDIR_MAX (1U << 20)

struct origin_dirent {
	char *name;
	struct mos_attr attr;
	char *link; /* symlink target, else NULL */
};

void origin_dirents_free(struct origin_dirent *ents, size_t n);

#endif /* MOS_LISTING_H */
