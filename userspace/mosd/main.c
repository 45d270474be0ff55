// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosd - the MoSingAr worker daemon (being built: see issue 3).
 */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "mosd: not yet implemented\n");
	return 1;
}
