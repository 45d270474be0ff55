// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_features - the first program tests/vm/run runs in a guest: what the
 * guest kernel offers MoSingAr, as TAP.  Built static (the guest has no
 * libraries).  Each line states a fact the BPF backend's tests rely on; a
 * missing feature is "not ok" with the reason, because the guest is booted
 * precisely to have it (lsm=...,bpf on its command line).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int n, failed;

static void result(int ok, const char *what, const char *detail)
{
	printf("%s %d %s%s%s\n", ok ? "ok" : "not ok", ++n, what, detail ? " # " : "",
	       detail ? detail : "");
	failed += !ok;
}

int main(void)
{
	char lsm[512] = "", detail[128];
	struct seccomp_notif_sizes sizes;
	int fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	ssize_t len = fd >= 0 ? read(fd, lsm, sizeof(lsm) - 1) : -1;
	long abi;

	printf("TAP version 13\n1..3\n");
	lsm[len > 0 ? len : 0] = '\0';
	snprintf(detail, sizeof(detail), "lsm=%s", len > 0 ? lsm : strerror(errno));
	result(strstr(lsm, "bpf") != NULL, "the BPF LSM is active (securityfs lists bpf)", detail);
	abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	snprintf(detail, sizeof(detail), "ABI %ld", abi);
	result(abi >= 1, "Landlock is available", abi >= 1 ? detail : strerror(errno));
	result(syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0,
	       "seccomp user notification is available", NULL);
	return failed ? 1 : 0;
}
