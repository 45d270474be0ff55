// SPDX-License-Identifier: GPL-2.0-only
/*
 * startup_test - what mosctl needs to start.  A local run, the help, the
 * version and a policy check work with libssl, libcrypto and libbpf gone
 * (each hidden under /dev/null in a mount namespace of the test's own), so
 * no start pays for loading them; the commands that do need one end with
 * exit status 125 and a sentence naming the library and its package.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include "harness.h"

/* A static mosctl (the guests' build) has every library linked in. */
static bool mosctl_is_dynamic(void)
{
	int fd = open(t_mosctl_path(), O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	bool interp = false;

	T_ASSERT(fd >= 0);
	T_ASSERT(pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh));
	for (int i = 0; i < eh.e_phnum; i++) {
		T_ASSERT(pread(fd, &ph, sizeof(ph),
			       (off_t)(eh.e_phoff + (size_t)i * eh.e_phentsize)) ==
			 (ssize_t)sizeof(ph));
		interp |= ph.p_type == PT_INTERP;
	}
	close(fd);
	return interp;
}

static void write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/*
 * From here on this test process (and what it runs) sees /dev/null where
 * each library of NAMES is: a mount namespace of its own, in a user
 * namespace of its own when not root (where ids stay what they were).
 */
static void hide_libraries(const char *const *names)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (!mosctl_is_dynamic())
		t_skip("a static mosctl links every library in");
	if (uid == 0) {
		T_ASSERT(unshare(CLONE_NEWNS) == 0);
	} else {
		char map[64];

		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			t_skip("cannot make a user namespace to hide the libraries in");
		write_proc("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		write_proc("/proc/self/uid_map", map);
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		write_proc("/proc/self/gid_map", map);
	}
	T_ASSERT(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	for (size_t i = 0; names[i]; i++) {
		void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		struct link_map *lm = NULL;
		char real[PATH_MAX];

		if (!h)
			t_skip("%s is not installed here", names[i]);
		T_ASSERT(dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm);
		T_ASSERT(realpath(lm->l_name, real));
		if (mount("/dev/null", real, NULL, MS_BIND, NULL) < 0)
			t_fail("cannot hide %s: %s", real, strerror(errno));
	}
}

static const char *const tls_and_bpf[] = { "libssl.so.3", "libcrypto.so.3", "libbpf.so.1", NULL };

TEST(local_commands_start_without_tls_or_bpf)
{
	struct t_result r;

	hide_libraries(tls_and_bpf);
	t_mosctl(&r, "--help", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "mosctl run");
	t_mosctl(&r, "run", "-r", "/usr", "-r", "/lib", "-r", "/lib64", "--", "/bin/true", NULL);
	if (r.status)
		t_dump("run", &r);
	T_EXPECT_EQ(r.status, 0);
	t_mosctl(&r, "run", "-s", "--", "sh", "-c", "echo confined", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "confined");
	t_mosctl(&r, "check", "-r", "/usr", NULL);
	T_EXPECT_EQ(r.status, 0);
	/* the BPF LSM probe, where securityfs lists bpf, says why it stopped */
	t_mosctl(&r, "version", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "BPF LSM:");
}

TEST(keys_name_the_missing_package)
{
	static const char *const crypto[] = { "libcrypto.so.3", NULL };
	struct t_result r;

	hide_libraries(crypto);
	setenv("MOS_CONFIG_DIR", t_dir(), 1);
	t_mosctl(&r, "keygen", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "libcrypto.so.3");
	T_EXPECT_STR(r.err, "cannot be loaded");
	T_EXPECT_STR(r.err, "install Debian's libssl3 package");
}

TEST(the_bpf_backend_names_the_missing_package)
{
	static const char *const bpf[] = { "libbpf.so.1", NULL };
	char *const run[] = { "run",	"--backend", "bpf",	  "--net-allow", "127.0.0.1:9",
			      "-r",	"/usr",	     "-r",	  "/lib",	 "-r",
			      "/lib64", "--",	     "/bin/true", NULL };
	struct t_result r;

	/* cgroup BPF, which this policy needs, must work here at all */
	t_mosctlv(&r, NULL, run);
	if (r.status) {
		r.err[strcspn(r.err, "\n")] = '\0';
		t_skip("--backend bpf does not run here (%s)", r.err);
	}
	hide_libraries(bpf);
	t_mosctlv(&r, NULL, run);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "libbpf.so.1");
	T_EXPECT_STR(r.err, "install Debian's libbpf1 package");
}
