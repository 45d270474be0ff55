// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmod_probe.c - is mosingar.ko loaded, with its BTF (kmod_probe.h).
 */
#include "kmod_probe.h"

#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

enum mos_kmod mos_kmod_probe(char *why, size_t len)
{
	struct utsname u;

	if (access("/sys/module/mosingar", F_OK) == 0) {
		if (access("/sys/kernel/btf/mosingar", F_OK) < 0) {
			snprintf(why, len, "mosingar.ko is loaded without BTF: its kfuncs cannot "
					   "be called (rebuild it with make kmod: pahole is needed)");
			return MOS_KMOD_NO_BTF;
		}
		snprintf(why, len, "mosingar.ko is loaded, with its BTF");
		return MOS_KMOD_LOADED;
	}
	if (access("/proc/modules", F_OK) < 0) {
		snprintf(why, len, "this kernel loads no modules (CONFIG_MODULES)");
		return MOS_KMOD_NO_MODULES;
	}
	uname(&u);
	snprintf(why, len, "mosingar.ko is not loaded (make kmod; insmod build/kmod/%s/mosingar.ko)",
		 u.release);
	return MOS_KMOD_NOT_LOADED;
}
