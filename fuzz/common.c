// SPDX-License-Identifier: GPL-2.0-only
/*
 * common.c - helpers of the libFuzzer targets (common.h).
 */
#include "common.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "policy.h"

static uint64_t take(struct fuzz_in *in, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && in->off < in->len; i++)
		v |= (uint64_t)in->p[in->off++] << (8 * i);
	return v;
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
	return (uint8_t)take(in, 1);
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
	return (uint16_t)take(in, 2);
}

uint32_t fuzz_u32(struct fuzz_in *in)
{
	return (uint32_t)take(in, 4);
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
	return take(in, 8);
}

const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p + in->off;

	if (n > in->len - in->off)
		n = in->len - in->off;
	in->off += n;
	*got = n;
	return p;
}

size_t fuzz_in_left(const struct fuzz_in *in)
{
	return in->len - in->off;
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: property failed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void fuzz_quiet(void)
{
	mos_log_init("fuzz", getenv("MOS_FUZZ_VERBOSE") ? MOS_LOG_DEBUG : -1);
}

static void ignore_frame(struct conn *c, const struct mos_frame_hdr *h, uint8_t *payload, void *arg)
{
	(void)c;
	(void)h;
	(void)arg;
	free(payload);
}

struct conn *fuzz_dead_conn(void)
{
	static struct conn *dead;
	int sv[2];

	if (dead)
		return dead;
	/* The loop reads end-of-stream at once and marks the connection
	 * closed: from then on nothing is queued or waited for. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair: %m");
	close(sv[1]);
	dead = conn_new(sv[0], sv[0], NULL, ignore_frame, NULL);
	conn_run(dead);
	return dead;
}

int fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		fuzz_fail("opendir /proc/self/fd: %m");
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* Absolute and lexically normal: no empty, "." or ".." component, no
 * trailing slash (but "/"). */
static bool path_normal(const char *s)
{
	const char *c;

	if (!s || s[0] != '/')
		return false;
	if (!s[1])
		return true;
	for (c = s + 1;; c++) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!*end)
			return true;
		c = end;
	}
}

void fuzz_check_policy(const struct mos_policy *p)
{
	for (size_t i = 0; i < p->nfs; i++) {
		const struct mos_fs_rule *r = &p->fs[i];

		if (!path_normal(r->path))
			fuzz_fail("file rule path '%s' is not absolute and normal", r->path);
		if (r->deny ? r->access != 0 : (r->access == 0 || r->access & ~MOS_FS_ALL))
			fuzz_fail("file rule %s: access %#x", r->path, r->access);
	}
	for (size_t i = 0; i < p->nask_fs; i++)
		if (!path_normal(p->ask_fs[i]))
			fuzz_fail("ask path '%s' is not absolute and normal", p->ask_fs[i]);
	if (p->ask_fs && p->ask_fs[p->nask_fs])
		fuzz_fail("ask_fs is not NULL-terminated");
	if (p->cwd && !path_normal(p->cwd))
		fuzz_fail("cwd '%s' is not absolute and normal", p->cwd);
	for (size_t i = 0; i < p->nnet_allow; i++) {
		const struct mos_net_rule *r = &p->net_allow[i];

		if (r->nports > MOS_NET_MAX_PORTS)
			fuzz_fail("net rule with %zu ports", r->nports);
		if (r->host && !*r->host)
			fuzz_fail("net rule with an empty host");
	}
	for (size_t i = 0; i < p->nenv_set; i++) {
		const char *kv = p->env_set[i], *eq = strchr(kv, '=');

		if (!eq || eq == kv)
			fuzz_fail("env entry '%s' is not KEY=VALUE", kv);
		for (size_t k = 0; k < i; k++)
			if (!strncmp(p->env_set[k], kv, (size_t)(eq - kv) + 1))
				fuzz_fail("env key of '%s' set twice", kv);
	}
	if (p->env_set && p->env_set[p->nenv_set])
		fuzz_fail("env_set is not NULL-terminated");
	if (p->limits.memory && p->limits.memory < MOS_MIN_MEMORY)
		fuzz_fail("memory limit %llu below the minimum",
			  (unsigned long long)p->limits.memory);
	/* (--timeout has no upper bound: the kernel's timer takes any) */
	if (p->limits.procs > 1U << 22 || p->limits.open_files > 1U << 30 ||
	    p->limits.cpu_s > 1ULL << 32)
		fuzz_fail("a limit beyond its bound");
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool fuzz_policy_same(const struct mos_policy *a, const struct mos_policy *b)
{
	if (a->nfs != b->nfs || a->fs_system != b->fs_system || a->nnet_allow != b->nnet_allow ||
	    a->nnet_bind != b->nnet_bind || a->allow_udp != b->allow_udp ||
	    a->allow_unix != b->allow_unix || memcmp(&a->limits, &b->limits, sizeof(a->limits)) ||
	    a->env_clean != b->env_clean || a->nenv_set != b->nenv_set ||
	    !str_same(a->cwd, b->cwd) || a->nask_fs != b->nask_fs || a->ask_net != b->ask_net ||
	    a->permissive != b->permissive)
		return false;
	for (size_t i = 0; i < a->nfs; i++)
		if (strcmp(a->fs[i].path, b->fs[i].path) || a->fs[i].access != b->fs[i].access ||
		    a->fs[i].deny != b->fs[i].deny || a->fs[i].optional != b->fs[i].optional)
			return false;
	for (size_t i = 0; i < a->nnet_allow; i++)
		if (!str_same(a->net_allow[i].host, b->net_allow[i].host) ||
		    a->net_allow[i].nports != b->net_allow[i].nports ||
		    memcmp(a->net_allow[i].ports, b->net_allow[i].ports,
			   a->net_allow[i].nports * sizeof(a->net_allow[i].ports[0])))
			return false;
	for (size_t i = 0; i < a->nnet_bind; i++)
		if (a->net_bind[i] != b->net_bind[i])
			return false;
	for (size_t i = 0; i < a->nenv_set; i++)
		if (strcmp(a->env_set[i], b->env_set[i]))
			return false;
	for (size_t i = 0; i < a->nask_fs; i++)
		if (strcmp(a->ask_fs[i], b->ask_fs[i]))
			return false;
	return true;
}
