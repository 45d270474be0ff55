/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libbpf_load_internal.h - is libbpf there to call?
 *
 * mosd, the tests and the static build link libbpf (libbpf_linked.c: always
 * yes); mosctl loads it on first use (libbpf_dlopen.c), so that a local run
 * on Landlock does not pay for it.  A path that can do without BPF asks
 * first and says why it does without; any other call into libbpf loads it
 * or ends the program with that sentence (lazy_lib.h).
 */
#ifndef MOS_LIBBPF_LOAD_INTERNAL_H
#define MOS_LIBBPF_LOAD_INTERNAL_H

#include <stddef.h>

/*
 * 0, or -errno with a short sentence in WHY (LEN bytes) naming the library
 * and the package to install.
 */
int mos_libbpf_load(char *why, size_t len);

#endif /* MOS_LIBBPF_LOAD_INTERNAL_H */
