/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sleepable kfuncs of mos_kfunc.c, registered for BPF LSM programs.
 * A kfunc set cannot be unregistered: the module's BTF goes with it.
 */
#ifndef _MOS_KFUNC_H
#define _MOS_KFUNC_H

int mos_kfunc_init(void);

#endif /* _MOS_KFUNC_H */
