/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * MoSingAr ask channel ABI: the generic netlink family "mosingar_ask" that
 * kmod/ (the kernel module) and mosd speak.  The module asks, mosd answers.
 *
 *   mosd -> kernel  MOS_ASK_CMD_REGISTER   become the decider (CAP_SYS_ADMIN
 *                                          and CAP_NET_ADMIN in the initial
 *                                          user namespace, as every command; the
 *                                          sender's netlink portid is bound:
 *                                          questions go there, answers are
 *                                          taken from there only)
 *   kernel -> mosd  MOS_ASK_CMD_QUESTION   a parked access: ID, DOMAIN, PID,
 *                                          KIND, and PATH + DEV + INO or
 *                                          ADDR + PORT.  PATH is the file's
 *                                          name in the task's view (its
 *                                          root, its mounts): the decider
 *                                          checks that it names DEV:INO in
 *                                          its own before showing it
 *   mosd -> kernel  MOS_ASK_CMD_ANSWER     ID and VERDICT
 *   mosd -> kernel  MOS_ASK_CMD_UNREGISTER stop deciding: every waiting
 *                                          question is denied at once (so is
 *                                          every one when the decider's
 *                                          socket closes)
 *
 * Attributes are numbered explicitly and never reused; every one is checked
 * against a policy (type, exact length, string bound) before anything acts
 * on it, on both sides.  A __u64 is 4-byte aligned, as every attribute
 * (read it with memcpy: mnl_attr_get_u64 does).  Any incompatible change
 * bumps MOS_ASK_GENL_VERSION, which the family carries and REGISTER repeats
 * (a decider of another version is refused with EPROTO).
 */
#ifndef _UAPI_MOSINGAR_ASK_H
#define _UAPI_MOSINGAR_ASK_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MOS_ASK_GENL_NAME "mosingar_ask"
#define MOS_ASK_GENL_VERSION 1

/* The longest PATH a question carries, its NUL included (PATH_MAX). */
#define MOS_ASK_PATH_MAX 4096

/* The longest a question waits, whatever the rule's timeout (--ask-timeout's bound). */
#define MOS_ASK_TIMEOUT_MAX_MS 1000000000U

enum mos_ask_cmd {
	MOS_ASK_CMD_UNSPEC = 0,
	MOS_ASK_CMD_REGISTER = 1,
	MOS_ASK_CMD_QUESTION = 2,
	MOS_ASK_CMD_ANSWER = 3,
	MOS_ASK_CMD_UNREGISTER = 4,
};

enum mos_ask_attr {
	MOS_ASK_A_UNSPEC = 0,
	MOS_ASK_A_VERSION = 1,	/* __u32: REGISTER */
	MOS_ASK_A_ID = 2,	/* __u64: QUESTION, ANSWER */
	MOS_ASK_A_DOMAIN = 3,	/* __u32: QUESTION */
	MOS_ASK_A_PID = 4,	/* __u32, in the initial pid namespace: QUESTION */
	MOS_ASK_A_KIND = 5,	/* __u32, enum mos_ask_kind: QUESTION */
	MOS_ASK_A_PATH = 6,	/* NUL-terminated string: QUESTION of a file access */
	MOS_ASK_A_ADDR = 7,	/* 4 or 16 bytes, network order: QUESTION of a connect */
	MOS_ASK_A_PORT = 8,	/* __u16, host order: QUESTION of a connect */
	MOS_ASK_A_VERDICT = 9,	/* __u32, enum mos_ask_verdict: ANSWER */
	MOS_ASK_A_TIMEOUT_MS = 10, /* __u32: QUESTION (how long it waits) */
	MOS_ASK_A_DEV = 11,	/* __u32, s_dev (major << 20 | minor): QUESTION of a file */
	MOS_ASK_A_INO = 12,	/* __u64: QUESTION of a file */
	__MOS_ASK_A_COUNT,
};

#define MOS_ASK_A_MAX (__MOS_ASK_A_COUNT - 1)

/* What the parked access is. */
enum mos_ask_kind {
	MOS_ASK_KIND_READ = 1,	  /* open for reading, exec, list */
	MOS_ASK_KIND_WRITE = 2,	  /* open for writing, create, truncate */
	MOS_ASK_KIND_REMOVE = 3,  /* unlink, rmdir, rename away */
	MOS_ASK_KIND_CONNECT = 4, /* TCP connect */
	__MOS_ASK_KIND_COUNT,
};

/*
 * The answer, as --decider gives it: this access only, this access to this
 * path or address for the rest of the domain's life, or no.  Anything else
 * is refused (EINVAL) and the question goes on waiting.  A question nobody
 * answers in time is denied.
 */
enum mos_ask_verdict {
	MOS_ASK_DENY = 0,
	MOS_ASK_ALLOW = 1,
	MOS_ASK_ALWAYS = 2,
	__MOS_ASK_VERDICT_COUNT,
};

#endif /* _UAPI_MOSINGAR_ASK_H */
