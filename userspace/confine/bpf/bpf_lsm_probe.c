// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_lsm_probe.c - the staged BPF LSM probe (bpf_lsm_probe.h).
 */
#include "bpf_lsm_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <bpf/libbpf.h>

#include "libbpf_load_internal.h"
#include "probe_lsm.skel.h"
#include "util.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static enum mos_bpf_lsm say(enum mos_bpf_lsm stage, char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum mos_bpf_lsm say(enum mos_bpf_lsm stage, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return stage;
}

/*
 * The verdict holds for the whole boot (the active LSMs are fixed then),
 * and reaching it loads, attaches and detaches an LSM program: a few ms on
 * hardware, 0.3 s under TCG, for every `mosctl run --backend bpf`.  Root
 * keeps it in PROBE_CACHE as "BOOT-ID STAGE WHY" and takes it from there
 * while the boot id is the same; only a file root owns and alone may write
 * is believed.  Others probe each time (their answer stops at the load).
 *
 * Only a verdict that holds for every caller on this kernel is kept: the
 * list of active LSMs is read from a securityfs (a root process in a mount
 * namespace of its own could put a tmpfs with any "lsm" file there), a load
 * refused for want of permission says something about the caller (a
 * container's root, seccomp) and not the kernel, and the key names the user
 * namespace besides the boot, so that a root of another one (who shares
 * /run) is never taken at its word.
 */
#define PROBE_CACHE_DIR "/run/mosingar"
#define PROBE_CACHE PROBE_CACHE_DIR "/bpf-lsm-probe"

static bool boot_id(char *out, size_t len)
{
	_cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, out, len - 1);

	if (n <= 0)
		return false;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return *out != '\0';
}

/* "BOOT-ID/USERNS-INODE": who may take the verdict as its own. */
static bool cache_key(char *out, size_t len)
{
	char boot[64];
	struct stat st;

	if (!boot_id(boot, sizeof(boot)) || stat("/proc/self/ns/user", &st) < 0)
		return false;
	snprintf(out, len, "%s/%llu", boot, (unsigned long long)st.st_ino);
	return true;
}

static bool cache_read(const char *boot, enum mos_bpf_lsm *stage, char *why, size_t len)
{
	_cleanup_close_ int fd = open(PROBE_CACHE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[512], *sp1, *sp2;
	struct stat st;
	ssize_t n;
	long v;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	sp1 = strchr(buf, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp2)
		return false;
	*sp1 = *sp2 = '\0';
	v = strtol(sp1 + 1, NULL, 10);
	if (strcmp(buf, boot) || v <= MOS_BPF_LSM_UNKNOWN || v > MOS_BPF_LSM_USABLE ||
	    v == MOS_BPF_LSM_NOT_CHECKED)
		return false;
	*stage = (enum mos_bpf_lsm)v;
	snprintf(why, len, "%s", sp2 + 1);
	return true;
}

/* Best effort: a cache that cannot be written only costs the next probe. */
static void cache_write(const char *boot, enum mos_bpf_lsm stage, const char *why)
{
	char tmp[64];
	int fd;

	if (mkdir(PROBE_CACHE_DIR, 0755) < 0 && errno != EEXIST)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%d", PROBE_CACHE, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (dprintf(fd, "%s %d %s\n", boot, (int)stage, why) < 0 || close(fd) < 0 ||
	    rename(tmp, PROBE_CACHE) < 0)
		unlink(tmp);
}

static enum mos_bpf_lsm probe_stages(char *why, size_t len, bool *keep);

enum mos_bpf_lsm mos_bpf_lsm_probe(char *why, size_t len)
{
	enum mos_bpf_lsm stage;
	char boot[96];
	bool root = geteuid() == 0 && cache_key(boot, sizeof(boot)), keep = true;

	if (root && cache_read(boot, &stage, why, len))
		return stage;
	stage = probe_stages(why, len, &keep);
	/* not what depends on who asks, or on securityfs being mounted */
	if (root && keep && stage != MOS_BPF_LSM_NOT_CHECKED && stage != MOS_BPF_LSM_UNKNOWN)
		cache_write(boot, stage, why);
	return stage;
}

static enum mos_bpf_lsm probe_stages(char *why, size_t len, bool *keep)
{
	char buf[512], lib[128];
	_cleanup_close_ int fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	struct probe_lsm_bpf *skel;
	bool listed = false;
	struct statfs sfs;
	ssize_t n;
	int err;

	if (fd < 0)
		return say(MOS_BPF_LSM_UNKNOWN, why, len,
			   "unknown (securityfs not mounted at /sys/kernel/security)");
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != SECURITYFS_MAGIC)
		return say(MOS_BPF_LSM_UNKNOWN, why, len,
			   "unknown (/sys/kernel/security/lsm is not securityfs)");
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return say(MOS_BPF_LSM_UNKNOWN, why, len,
			   "unknown (cannot read /sys/kernel/security/lsm)");
	buf[n] = '\0';
	for (char *save = NULL, *tok = strtok_r(buf, ",\n", &save); tok;
	     tok = strtok_r(NULL, ",\n", &save))
		listed |= !strcmp(tok, "bpf");
	if (!listed)
		return say(MOS_BPF_LSM_NOT_ACTIVE, why, len,
			   "not in the active LSMs (boot with lsm=...,bpf)");
	/* Not cached: installing the library changes the answer. */
	if (mos_libbpf_load(lib, sizeof(lib)) < 0)
		return say(MOS_BPF_LSM_UNKNOWN, why, len,
			   "active; whether it runs programs is unknown: %s", lib);
	libbpf_set_print(quiet);
	skel = probe_lsm_bpf__open_and_load();
	err = skel ? 0 : errno;
	if (!skel && (err == EPERM || err == EACCES) && geteuid() != 0)
		return say(MOS_BPF_LSM_NOT_CHECKED, why, len,
			   "active; whether it runs programs was not checked (loading BPF "
			   "needs root or CAP_BPF)");
	/* a load refused for want of permission: the caller's verdict only */
	*keep = skel || (err != EPERM && err != EACCES);
	if (!skel)
		return say(MOS_BPF_LSM_REFUSED, why, len,
			   "listed in the active LSMs, but this kernel refuses LSM programs (%s "
			   "on load)",
			   strerrorname_np(err) ? strerrorname_np(err) : "error");
	err = probe_lsm_bpf__attach(skel);
	probe_lsm_bpf__destroy(skel);
	if (err)
		return say(MOS_BPF_LSM_NO_ATTACH, why, len,
			   "an LSM program loads but does not attach (%s)",
			   strerrorname_np(-err) ? strerrorname_np(-err) : "error");
	return say(MOS_BPF_LSM_USABLE, why, len, "usable (an LSM program loads and attaches)");
}
