// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_lsm_probe.c - the staged BPF LSM probe (bpf_lsm_probe.h).
 */
#include "bpf_lsm_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

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

enum mos_bpf_lsm mos_bpf_lsm_probe(char *why, size_t len)
{
	char buf[512];
	_cleanup_close_ int fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	struct probe_lsm_bpf *skel;
	bool listed = false;
	ssize_t n;
	int err;

	if (fd < 0)
		return say(MOS_BPF_LSM_UNKNOWN, why, len,
			   "unknown (securityfs not mounted at /sys/kernel/security)");
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
	libbpf_set_print(quiet);
	skel = probe_lsm_bpf__open_and_load();
	err = skel ? 0 : errno;
	if (!skel && (err == EPERM || err == EACCES) && geteuid() != 0)
		return say(MOS_BPF_LSM_NOT_CHECKED, why, len,
			   "active; whether it runs programs was not checked (loading BPF "
			   "needs root or CAP_BPF)");
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
