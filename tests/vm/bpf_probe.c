// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_probe - in a guest booted with lsm=...,bpf (tests/vm/run): the staged
 * BPF LSM probe that mosctl version and the selftests use must find the BPF
 * LSM usable (on this repository's host kernel it says "refuses LSM
 * programs").  TAP; static.
 */
#include <stdio.h>
#include <string.h>

#include "bpf_lsm_probe.h"

int main(void)
{
	char why[160];
	enum mos_bpf_lsm stage = mos_bpf_lsm_probe(why, sizeof(why));

	printf("TAP version 13\n1..1\n");
	printf("%s 1 the staged probe finds the BPF LSM usable # %s\n",
	       stage == MOS_BPF_LSM_USABLE ? "ok" : "not ok", why);
	return stage == MOS_BPF_LSM_USABLE ? 0 : 1;
}
