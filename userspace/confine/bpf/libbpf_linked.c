// SPDX-License-Identifier: GPL-2.0-only
/*
 * libbpf_linked.c - libbpf linked into the program (libbpf_load_internal.h).
 *
 * mosctl links libbpf_dlopen.c, whose mos_libbpf_load() comes first on its
 * link line, so this member of libmos.a is never taken for it.
 */
#include "libbpf_load_internal.h"

int mos_libbpf_load(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 0;
}
