// SPDX-License-Identifier: GPL-2.0-only
/*
 * kernel_features.c - probe the kernel once (see kernel_features.h).
 */
#include "kernel_features.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpf_lsm_probe.h"
#include "cgroup.h"
#include "kmod_probe.h"
#include "landlock_compat.h"
#include "util.h"

static struct mos_features feat;
static bool probed;
static int ll_abi = -1;
static int ll_kernel_abi;
static int ll_errno;

int mos_landlock_abi(void)
{
	if (ll_abi < 0) {
		int v = mos_landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
		const char *cap = getenv("MOS_LANDLOCK_ABI");
		uint64_t max;

		ll_errno = v < 0 ? errno : 0;
		ll_abi = ll_kernel_abi = v < 0 ? 0 : v;
		/*
		 * Use at most this ABI: how the tests check the adaptation to
		 * older kernels on a new one.  It can only lower what is used,
		 * and a rule the lower ABI cannot enforce is refused as on such
		 * a kernel.
		 */
		if (cap && parse_uint(cap, 1000, &max) == 0 && (int)max < ll_abi)
			ll_abi = (int)max;
	}
	return ll_abi;
}

const char *mos_kernel_release(void)
{
	static char release[sizeof(feat.kernel)];
	struct utsname u;

	if (!*release && uname(&u) == 0)
		snprintf(release, sizeof(release), "%s", u.release);
	return release;
}

static bool seccomp_action(unsigned int action)
{
	return syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

/* Can this process make a user + pid namespace?  Tried in a child. */
static bool probe_userns(const char **why)
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		*why = "fork failed";
		return false;
	}
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWPID) == 0 ? 0 : errno & 0x7f);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st)) {
		*why = "probe failed";
		return false;
	}
	switch (WEXITSTATUS(st)) {
	case 0:
		return true;
	case ENOSPC:
		*why = "user.max_user_namespaces is 0";
		return false;
	case EPERM:
	case EACCES:
		*why = "refused (kernel.unprivileged_userns_clone=0, an LSM such as "
		       "AppArmor, or a seccomp filter)";
		return false;
	default:
		*why = "not supported by this kernel (CONFIG_USER_NS, CONFIG_PID_NS)";
		return false;
	}
}

static bool probe_io_uring(void)
{
	struct io_uring_params p = { 0 };
	int fd = (int)syscall(__NR_io_uring_setup, 1, &p);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

const struct mos_features *mos_features(void)
{
	struct mos_cgroup_caps caps;
	FILE *f;

	if (probed)
		return &feat;
	probed = true;
	snprintf(feat.kernel, sizeof(feat.kernel), "%s", mos_kernel_release());

	feat.landlock_abi = mos_landlock_abi();
	feat.landlock_kernel_abi = ll_kernel_abi;
	if (feat.landlock_abi > 0) {
		int er = mos_landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_ERRATA);

		feat.landlock_errata = er < 0 ? 0 : er;
	} else if (ll_errno == EOPNOTSUPP) {
		feat.landlock_why = "built in but not enabled: add landlock to the "
				    "kernel's lsm= boot parameter";
	} else {
		feat.landlock_why = "not in this kernel (CONFIG_SECURITY_LANDLOCK, "
				    "Linux >= 5.13)";
	}

	feat.seccomp_filter = seccomp_action(SECCOMP_RET_ERRNO);
	feat.seccomp_kill_process = seccomp_action(SECCOMP_RET_KILL_PROCESS);
	feat.seccomp_user_notif = seccomp_action(SECCOMP_RET_USER_NOTIF);
	feat.userns = probe_userns(&feat.userns_why);
	feat.io_uring = probe_io_uring();
	feat.bpf_lsm_stage = mos_bpf_lsm_probe(feat.bpf_lsm_why, sizeof(feat.bpf_lsm_why));
	feat.bpf_lsm = feat.bpf_lsm_why;
	feat.kmod = mos_kmod_probe(feat.kmod_why, sizeof(feat.kmod_why));

	f = fopen("/proc/self/mountinfo", "re");
	if (f) {
		char line[4096];

		while (fgets(line, sizeof(line), f))
			if (strstr(line, " - cgroup2 "))
				feat.cgroup2_mounted = true;
		fclose(f);
	}
	cgroup_probe(&caps);
	feat.cgroup_pids = caps.pids_version;
	feat.cgroup_memory = caps.memory_version;
	return &feat;
}
