// SPDX-License-Identifier: GPL-2.0-only
/* listing.c - freeing a directory listing (listing.h). */

#include "listing.h"

#include <stdlib.h>

void origin_dirents_free(struct origin_dirent *ents, size_t n)
{
	if (!ents)
		return;
	for (size_t i = 0; i < n; i++) {
		free(ents[i].name);
		free(ents[i].link);
	}
	free(ents);
}
