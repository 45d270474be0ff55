// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_probe_test - the BPF LSM probe's verdict is remembered for the boot
 * (/run/mosingar/bpf-lsm-probe), so it must only be one that holds for
 * every caller on this kernel.  A root process in a mount namespace of its
 * own can put any file at /sys/kernel/security/lsm (a tmpfs there): what it
 * probes must neither be believed nor remembered for the host.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define PROBE_CACHE "/run/mosingar/bpf-lsm-probe"

/* The line of `mosctl version` that starts with WHAT, as this process sees it. */
static char *version_line(const char *what)
{
	struct t_result r;
	char *line, *end;

	t_mosctl(&r, "version", NULL);
	T_EXPECT_EQ(r.status, 0);
	line = strstr(r.out, what);
	T_ASSERT(line != NULL);
	end = strchr(line, '\n');
	line = strndup(line, end ? (size_t)(end - line) : strlen(line));
	t_result_free(&r);
	return line;
}

static char *bpf_lsm_line(void)
{
	return version_line("BPF LSM:");
}

TEST(a_fake_securityfs_in_another_mount_namespace_is_not_believed)
{
	char *host_before, *host_after;
	int p[2], st;
	pid_t pid;

	if (!t_is_root())
		t_skip("mounting over /sys/kernel/security needs root");
	unlink(PROBE_CACHE);
	host_before = bpf_lsm_line();
	T_ASSERT(pipe(p) == 0);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		char *fake;
		FILE *f;

		close(p[0]);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("fake", "/sys/kernel/security", "tmpfs", 0, "size=16k") < 0) {
			dprintf(p[1], "SKIP cannot mount a tmpfs on /sys/kernel/security: %s",
				strerror(errno));
			_exit(0);
		}
		f = fopen("/sys/kernel/security/lsm", "w");
		if (!f || fputs("capability,landlock,bpf", f) < 0 || fclose(f) != 0)
			_exit(1);
		fake = bpf_lsm_line();
		dprintf(p[1], "%s", fake);
		_exit(0);
	}
	close(p[1]);
	{
		char fake[512] = "";
		ssize_t n = read(p[0], fake, sizeof(fake) - 1);

		close(p[0]);
		T_ASSERT(waitpid(pid, &st, 0) == pid);
		T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		fake[n > 0 ? n : 0] = '\0';
		if (!strncmp(fake, "SKIP ", 5))
			t_skip("%s", fake + 5);
		t_note("under the fake securityfs: %s", fake);
		/* it says that what it read is not securityfs */
		T_EXPECT_STR(fake, "not securityfs");
	}
	/* and the host's answer is its own, as before */
	host_after = bpf_lsm_line();
	if (strcmp(host_after, host_before))
		t_fail("the host's verdict changed: '%s' before, '%s' after", host_before,
		       host_after);
	free(host_before);
	free(host_after);
}

/*
 * `mosctl version` says which path an ask rule takes here: the supervisor,
 * and what stands in the way of the module's (the kernel's own state).
 */
TEST(version_says_which_path_ask_rules_take)
{
	char *line = version_line("ask rules:");
	const char *want;

	if (access("/sys/module/mosingar", F_OK) == 0)
		want = "mosingar.ko is loaded";
	else if (access("/proc/modules", F_OK) < 0)
		want = "this kernel loads no modules (CONFIG_MODULES)";
	else
		want = "mosingar.ko is not loaded (make kmod; insmod build/kmod/";
	if (!strstr(line, "the supervisor (seccomp user notification)") || !strstr(line, want))
		t_fail("'%s' does not say '%s'", line, want);
	free(line);
}
