// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_registry.c - the record of attached processes (see
 * attach_registry.h).
 */
#include "attach_registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	const char *p;
	uint64_t start = 0;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* After "(comm)", which may hold spaces: field 3 on; start time is 22. */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

void attach_policy_summary(const struct mos_policy *p, char *out, size_t len)
{
	size_t used = 0;

#define ADD(...)                                                                       \
	do {                                                                           \
		if (used < len)                                                        \
			used += (size_t)snprintf(out + used, len - used, __VA_ARGS__); \
	} while (0)
	out[0] = 0;
	if (p->fs_system)
		ADD("system ");
	for (size_t i = 0; i < p->nfs; i++)
		ADD("%s%s ",
		    p->fs[i].deny		       ? "deny:"
		    : (p->fs[i].access & MOS_FS_WRITE) ? "w:"
						       : "r:",
		    p->fs[i].path);
	for (size_t i = 0; i < p->nnet_allow; i++) {
		ADD("connect:%s", p->net_allow[i].host ? p->net_allow[i].host : "");
		for (size_t j = 0; j < p->net_allow[i].nports; j++)
			ADD("%c%u", j ? ',' : ':', p->net_allow[i].ports[j]);
		ADD(" ");
	}
	for (size_t i = 0; i < p->nnet_bind; i++)
		ADD("bind:%u ", p->net_bind[i]);
	if (p->allow_udp)
		ADD("udp ");
	if (p->allow_unix)
		ADD("unix ");
#undef ADD
	if (used >= len && len > 4)
		strcpy(out + len - 4, "...");
	used = strlen(out);
	if (used && out[used - 1] == ' ')
		out[used - 1] = 0;
	if (!out[0])
		snprintf(out, len, "nothing allowed");
}

/*
 * mosd --controller resolves a client's paths with the client's file-system
 * identity (setfsuid); the registry is root's, so it is written with
 * fsuid 0 (a no-op when already 0, and for an unprivileged mosctl).
 */
static uid_t fs_root_begin(void)
{
	return geteuid() == 0 ? (uid_t)setfsuid(0) : 0;
}

static void fs_root_end(uid_t old)
{
	if (geteuid() == 0)
		setfsuid(old);
}

/* The registry directory, made if missing (owned by us, 0700). */
static int registry_dir(char *out, size_t len)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (geteuid() == 0)
		snprintf(out, len, "/run/mosingar/attached");
	else if (rt && *rt == '/')
		snprintf(out, len, "%s/mosingar/attached", rt);
	else
		snprintf(out, len, "/tmp/mosingar-%u/attached", (unsigned)geteuid());
	if (mkdir_p(out, 0700) < 0)
		return -errno;
	if (stat(out, &st) < 0)
		return -errno;
	if (st.st_uid != geteuid() || (st.st_mode & 077))
		return -EPERM; /* someone else's directory: do not trust it */
	return 0;
}

static int parse_entry(FILE *f, struct attach_entry *en)
{
	char line[768];

	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = 0;
		v[strcspn(v, "\n")] = 0;
		if (!strcmp(line, "start"))
			en->start = strtoull(v, NULL, 10);
		else if (!strcmp(line, "backend"))
			snprintf(en->backend, sizeof(en->backend), "%s", v);
		else if (!strcmp(line, "owner"))
			en->owner = (uid_t)strtoul(v, NULL, 10);
		else if (!strcmp(line, "layers"))
			en->layers = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(line, "threads"))
			en->threads = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(line, "domain"))
			en->domain = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(line, "since"))
			en->since = strtoll(v, NULL, 10);
		else if (!strcmp(line, "policy"))
			snprintf(en->policy, sizeof(en->policy), "%s", v);
	}
	return en->start ? 0 : -EINVAL;
}

static int read_entry(const char *dir, pid_t pid, struct attach_entry *en)
{
	char path[4200];
	FILE *f;
	int r;

	memset(en, 0, sizeof(*en));
	en->pid = pid;
	snprintf(path, sizeof(path), "%s/%d", dir, pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	r = parse_entry(f, en);
	fclose(f);
	if (r < 0 || proc_start_time(pid) != en->start) {
		unlink(path); /* the process is gone, or the file is not ours */
		return -ENOENT;
	}
	return 0;
}

static int registry_get(pid_t pid, struct attach_entry *out)
{
	char dir[4096];
	int r = registry_dir(dir, sizeof(dir));

	return r < 0 ? r : read_entry(dir, pid, out);
}

static int registry_add(pid_t pid, const char *backend, uint32_t domain, unsigned threads,
			uid_t owner, const char *policy, struct mos_err *e)
{
	char dir[4096], path[4200], tmp[4300], newpol[512];
	struct attach_entry en;
	FILE *f;
	int r = registry_dir(dir, sizeof(dir));

	if (r < 0) {
		mos_err_set(e, "the attach registry (%s): %s", dir, strerror(-r));
		return r;
	}
	if (read_entry(dir, pid, &en) < 0) {
		memset(&en, 0, sizeof(en));
		en.start = proc_start_time(pid);
		en.owner = owner;
		en.since = (long long)time(NULL);
	}
	en.layers++;
	en.threads = threads;
	en.domain = domain;
	snprintf(en.backend, sizeof(en.backend), "%s", backend);
	snprintf(newpol, sizeof(newpol), "%s", policy);
	if (en.policy[0] && strlen(newpol) + 3 < sizeof(newpol)) {
		size_t used = strlen(newpol);

		memcpy(newpol + used, " | ", 4);
		snprintf(newpol + used + 3, sizeof(newpol) - used - 3, "%.*s",
			 (int)(sizeof(newpol) - used - 4), en.policy);
	}
	snprintf(path, sizeof(path), "%s/%d", dir, pid);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		mos_err_set(e, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	fprintf(f,
		"start=%" PRIu64 "\nbackend=%s\nowner=%u\nlayers=%u\nthreads=%u\ndomain=%u\n"
		"since=%lld\npolicy=%s\n",
		en.start, en.backend, (unsigned)en.owner, en.layers, en.threads, en.domain,
		en.since, newpol);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		mos_err_set(e, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -errno;
	}
	return 0;
}

static int registry_remove(pid_t pid)
{
	char dir[4096], path[4200];
	int r = registry_dir(dir, sizeof(dir));

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%d", dir, pid);
	return unlink(path) < 0 ? -errno : 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct attach_entry *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int registry_list(struct attach_entry **v, size_t *n)
{
	char dir[4096];
	DIR *d;
	struct dirent *de;
	int r = registry_dir(dir, sizeof(dir));

	*v = NULL;
	*n = 0;
	if (r < 0)
		return r;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct attach_entry en;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (pid <= 0 || *end || read_entry(dir, (pid_t)pid, &en) < 0)
			continue;
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = en;
	}
	closedir(d);
	if (*n)
		qsort(*v, *n, sizeof(**v), by_pid);
	return 0;
}

int attach_registry_get(pid_t pid, struct attach_entry *out)
{
	uid_t old = fs_root_begin();
	int r = registry_get(pid, out);

	fs_root_end(old);
	return r;
}

int attach_registry_add(pid_t pid, const char *backend, uint32_t domain, unsigned threads,
			uid_t owner, const char *policy, struct mos_err *e)
{
	uid_t old = fs_root_begin();
	int r = registry_add(pid, backend, domain, threads, owner, policy, e);

	fs_root_end(old);
	return r;
}

int attach_registry_remove(pid_t pid)
{
	uid_t old = fs_root_begin();
	int r = registry_remove(pid);

	fs_root_end(old);
	return r;
}

int attach_registry_list(struct attach_entry **v, size_t *n)
{
	uid_t old = fs_root_begin();
	int r = registry_list(v, n);

	fs_root_end(old);
	return r;
}
