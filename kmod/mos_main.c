// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosingar.ko: ask rules decided in the kernel.  A BPF LSM program that
 * misses its verdict cache on an ask rule calls a kfunc of this module,
 * which parks the task and asks mosd over the generic netlink family
 * "mosingar_ask" (Documentation/kmod.md).
 */
#include <linux/module.h>

#include "mos_genl.h"
#include "mos_kfunc.h"

static int __init mos_init(void)
{
	int ret = mos_genl_init();

	if (ret) {
		pr_err("cannot register the generic netlink family: %d\n", ret);
		return ret;
	}
	ret = mos_kfunc_init();
	if (ret) {
		pr_err("cannot register the kfuncs for BPF LSM programs: %d\n", ret);
		mos_genl_exit();
	}
	return ret;
}

static void __exit mos_exit(void)
{
	mos_genl_exit();
}

module_init(mos_init);
module_exit(mos_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("MoSingAr: ask rules of BPF LSM programs answered by mosd over generic netlink");
MODULE_AUTHOR("The MoSingAr authors");
