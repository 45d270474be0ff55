/* SPDX-License-Identifier: GPL-2.0-only */
/* The archive guest_root.c unpacks: GUEST_ROOT_TAR, a path given with -D. */
	.section .rodata
	.global guest_root_tar, guest_root_tar_end
	.balign 16
guest_root_tar:
	.incbin GUEST_ROOT_TAR
guest_root_tar_end:
	.section .note.GNU-stack, "", @progbits
