/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmod_probe.h - is the kernel module (kmod/, Documentation/kmod.md) there,
 * with what its kfuncs need: for `mosctl version` and `check`, which say
 * which path an ask rule takes here.  Reads sysfs and procfs only.
 */
#ifndef MOS_KMOD_PROBE_H
#define MOS_KMOD_PROBE_H

#include <stddef.h>

enum mos_kmod {
	MOS_KMOD_NO_MODULES = 0, /* the kernel loads no modules */
	MOS_KMOD_NOT_LOADED = 1,
	MOS_KMOD_NO_BTF = 2,	 /* loaded without BTF: no kfunc can be called */
	MOS_KMOD_LOADED = 3,
};

/* How far the module is here, with a sentence in WHY (LEN bytes). */
enum mos_kmod mos_kmod_probe(char *why, size_t len);

#endif /* MOS_KMOD_PROBE_H */
