// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroup.c - per-sandbox cgroups (see cgroup.h).
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Mount point of the hierarchy: v2 when V1_CONTROLLER is NULL. */
static bool find_mount(const char *v1_controller, char *out, size_t n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[1024], fstype[64], super[1024];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, super) != 2)
			continue;
		if (!v1_controller) {
			found = !strcmp(fstype, "cgroup2");
		} else if (!strcmp(fstype, "cgroup")) {
			for (char *tok = strtok(super, ","); tok; tok = strtok(NULL, ","))
				if (!strcmp(tok, v1_controller))
					found = true;
		}
		if (found)
			snprintf(out, n, "%s", mnt);
	}
	fclose(f);
	return found;
}

/* This process's cgroup path in the v2 hierarchy ("0::") or a v1 one. */
static bool own_path(const char *v1_controller, char *out, size_t n)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		*c2 = '\0';
		if (!v1_controller) {
			found = c1 == line + 1 && line[0] == '0' && c2 == c1 + 1; /* "0::" */
		} else {
			for (char *tok = strtok(c1 + 1, ","); tok; tok = strtok(NULL, ","))
				if (!strcmp(tok, v1_controller))
					found = true;
		}
		if (found)
			snprintf(out, n, "%s", c2 + 1);
	}
	fclose(f);
	return found;
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[1024];
	FILE *f = fopen(path, "re");
	bool found = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
			if (!strcmp(tok, word))
				found = true;
	fclose(f);
	return found;
}

/*
 * v2: a sandbox cgroup is made beside ours (a cgroup holding processes may not
 * also enable controllers for children), or under the root when we are in it.
 */
static bool probe_v2(const char *controller, char *parent, size_t n)
{
	char mnt[1024], self[2048], path[4096];

	if (!find_mount(NULL, mnt, sizeof(mnt)) || !own_path(NULL, self, sizeof(self)))
		return false;
	if (!strcmp(self, "/")) {
		snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
		if (!file_has_word(path, controller))
			return false;
		snprintf(parent, n, "%s", mnt);
	} else {
		char *slash;

		snprintf(path, sizeof(path), "%s%s/cgroup.controllers", mnt, self);
		if (!file_has_word(path, controller))
			return false;
		slash = strrchr(self, '/');
		*slash = '\0';
		snprintf(parent, n, "%s%s", mnt, self);
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", parent);
	return access(parent, W_OK) == 0 && access(path, W_OK) == 0;
}

static bool probe_v1(const char *controller, char *parent, size_t n)
{
	char mnt[1024], self[2048];

	if (!find_mount(controller, mnt, sizeof(mnt)) || !own_path(controller, self, sizeof(self)))
		return false;
	snprintf(parent, n, "%s%s", mnt, strcmp(self, "/") ? self : "");
	return access(parent, W_OK) == 0;
}

static void probe_one(const char *controller, int *version, char *parent, size_t n)
{
	if (probe_v2(controller, parent, n))
		*version = 2;
	else if (probe_v1(controller, parent, n))
		*version = 1;
	else
		*version = 0;
}

bool cgroup_v2_dir(char *out, size_t n)
{
	char mnt[1024], own[1024];

	if (!find_mount(NULL, mnt, sizeof(mnt)) || !own_path(NULL, own, sizeof(own)))
		return false;
	snprintf(out, n, "%s%s", mnt, strcmp(own, "/") ? own : "");
	return true;
}

void cgroup_probe(struct mos_cgroup_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	probe_one("pids", &caps->pids_version, caps->pids_parent, sizeof(caps->pids_parent));
	probe_one("memory", &caps->memory_version, caps->memory_parent,
		  sizeof(caps->memory_parent));
}

static int cg_write(const char *dir, const char *file, const char *val, bool optional,
		    struct mos_err *e)
{
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	r = write_file(path, val);
	if (r == -ENOENT && optional)
		return 0;
	if (r < 0)
		mos_err_set(e, "cannot write '%s' to %s: %s", val, path, strerror(-r));
	return r;
}

/*
 * Remove cgroups left by a mosctl that was killed before it could clean up:
 * "mosingar.<pid>" whose pid is gone.  rmdir only succeeds on an empty
 * cgroup, so a live sandbox of another mosctl is never touched.
 */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid;

		if (strncmp(de->d_name, "mosingar.", 9) != 0)
			continue;
		pid = strtol(de->d_name + 9, &end, 10);
		if (*end || pid <= 0 || pid == getpid() || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* Make (or reuse, for v2 where pids and memory share one) the cgroup under PARENT. */
static int make_dir(struct mos_cgroup *cg, const char *parent, struct mos_err *e, const char **dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/mosingar.%d", parent, (int)getpid());
	for (size_t i = 0; i < cg->ndirs; i++) {
		if (!strcmp(cg->dirs[i], path)) {
			*dir = cg->dirs[i];
			return 0;
		}
	}
	if (cg->ndirs == MOS_CGROUP_MAX_DIRS)
		return -ENOSPC;
	remove_stale(parent);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		mos_err_set(e, "cannot create cgroup %s: %s", path, strerror(errno));
		return -errno;
	}
	cg->dirs[cg->ndirs] = xstrdup(path);
	*dir = cg->dirs[cg->ndirs++];
	return 0;
}

static int enable_v2(const char *parent, const char *controller, struct mos_err *e)
{
	char want[32];

	snprintf(want, sizeof(want), "+%s", controller);
	return cg_write(parent, "cgroup.subtree_control", want, false, e);
}

int cgroup_create(struct mos_cgroup *cg, const struct mos_cgroup_caps *caps,
		  const struct mos_limits *lim, struct mos_err *e)
{
	char val[32];
	const char *dir;
	int r;

	memset(cg, 0, sizeof(*cg));
	if (lim->procs && caps->pids_version) {
		if (caps->pids_version == 2 && (r = enable_v2(caps->pids_parent, "pids", e)) < 0)
			goto fail;
		r = make_dir(cg, caps->pids_parent, e, &dir);
		if (r < 0)
			goto fail;
		snprintf(val, sizeof(val), "%llu", (unsigned long long)lim->procs + 1);
		r = cg_write(dir, "pids.max", val, false, e);
		if (r < 0)
			goto fail;
		cg->pids = true;
		cg->version = caps->pids_version;
		if (caps->pids_version == 2)
			cg->v2_dir = dir;
	}
	if (lim->memory && caps->memory_version) {
		bool v2 = caps->memory_version == 2;

		if (v2 && (r = enable_v2(caps->memory_parent, "memory", e)) < 0)
			goto fail;
		r = make_dir(cg, caps->memory_parent, e, &dir);
		if (r < 0)
			goto fail;
		snprintf(val, sizeof(val), "%llu", (unsigned long long)lim->memory);
		r = cg_write(dir, v2 ? "memory.max" : "memory.limit_in_bytes", val, false, e);
		if (r < 0)
			goto fail;
		/* Swap would let the tree exceed the limit: forbid it where possible. */
		r = v2 ? cg_write(dir, "memory.swap.max", "0", true, e)
		       : cg_write(dir, "memory.memsw.limit_in_bytes", val, true, e);
		if (r < 0)
			goto fail;
		cg->memory = true;
		if (v2)
			cg->v2_dir = dir;
		if (!cg->version)
			cg->version = caps->memory_version;
	}
	return 0;
fail:
	cgroup_destroy(cg);
	return r;
}

int cgroup_attach(const struct mos_cgroup *cg, pid_t pid, struct mos_err *e)
{
	char val[32];

	snprintf(val, sizeof(val), "%d", (int)pid);
	for (size_t i = 0; i < cg->ndirs; i++) {
		int r = cg_write(cg->dirs[i], "cgroup.procs", val, false, e);

		if (r < 0)
			return r;
	}
	return 0;
}

bool cgroup_oom_killed(const struct mos_cgroup *cg)
{
	for (size_t i = 0; i < cg->ndirs; i++) {
		char path[4096], line[256];
		FILE *f;
		bool hit = false;

		/* v2 counts OOM kills in memory.events, v1 in memory.oom_control. */
		snprintf(path, sizeof(path), "%s/memory.events", cg->dirs[i]);
		f = fopen(path, "re");
		if (!f) {
			snprintf(path, sizeof(path), "%s/memory.oom_control", cg->dirs[i]);
			f = fopen(path, "re");
		}
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long n;

			if (sscanf(line, "oom_kill %llu", &n) == 1 && n > 0)
				hit = true;
		}
		fclose(f);
		if (hit)
			return true;
	}
	return false;
}

static void kill_listed(const char *dir)
{
	char path[4096];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 0)
			kill(pid, SIGKILL);
	fclose(f);
}

void cgroup_destroy(struct mos_cgroup *cg)
{
	for (size_t i = 0; i < cg->ndirs; i++) {
		/* Processes leave a cgroup only when fully reaped: retry for ~2 s. */
		for (int tries = 0; tries < 200; tries++) {
			if (rmdir(cg->dirs[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY)
				break;
			/* cgroup.kill exists in v2 only; the listed pids cover v1. */
			cg_write(cg->dirs[i], "cgroup.kill", "1", true, NULL);
			kill_listed(cg->dirs[i]);
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		}
		free(cg->dirs[i]);
	}
	memset(cg, 0, sizeof(*cg));
}
