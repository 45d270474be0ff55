// SPDX-License-Identifier: GPL-2.0-only
/*
 * lsm_domain.c - load and pin the BPF LSM programs, compile policies into
 * domains (lsm_domain.h).
 */
#include "lsm_domain.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_lsm_probe.h"
#include "domain_ask.skel.h"
#include "domain_ask_rcu.skel.h"
#include "domain_lsm.skel.h"
#include "kmod_probe.h"
#include "landlock.h"
#include "landlock_compat.h"
#include "mounts.h"
#include "rules.h"
#include "util.h"

#define BPF_FS_MAGIC 0xcafe4a11

enum lsm_map {
	MAP_TASK_DOMAINS,
	MAP_DOMAINS,
	MAP_FS_RULES,
	MAP_NET_CONNECT,
	MAP_NET_BIND,
	MAP_EVENTS,
	MAP_COUNTERS,
	MAP_ASK_VERDICTS,
	MAP_ASK_TIMEOUTS,
	NMAPS
};

/* The maps by name, with the layout this library was built for. */
static const struct {
	const char *name;
	__u32 type, key_size, value_size;
} map_spec[NMAPS] = {
	[MAP_TASK_DOMAINS] = { "task_domains", BPF_MAP_TYPE_TASK_STORAGE, sizeof(int),
			       sizeof(__u32) },
	[MAP_DOMAINS] = { "domains", BPF_MAP_TYPE_HASH, sizeof(__u32),
			  sizeof(struct mos_lsm_domain) },
	[MAP_FS_RULES] = { "fs_rules", BPF_MAP_TYPE_HASH, sizeof(struct mos_lsm_inode_key),
			   sizeof(struct mos_lsm_inode_rule) },
	[MAP_NET_CONNECT] = { "net_connect", BPF_MAP_TYPE_HASH, sizeof(struct mos_lsm_net_key),
			      sizeof(__u8) },
	[MAP_NET_BIND] = { "net_bind", BPF_MAP_TYPE_HASH, sizeof(struct mos_lsm_bind_key),
			   sizeof(__u8) },
	[MAP_EVENTS] = { "events", BPF_MAP_TYPE_RINGBUF, 0, 0 },
	[MAP_COUNTERS] = { "counters", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(__u64) },
	[MAP_ASK_VERDICTS] = { "ask_verdicts", BPF_MAP_TYPE_HASH, sizeof(struct mos_lsm_ask_key),
			       sizeof(__u32) },
	[MAP_ASK_TIMEOUTS] = { "ask_timeouts", BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(__u32) },
};

/* domain_ask's link, pinned beside domain_lsm's (bpf/domain_ask.bpf.c). */
#define ASK_LINK "link_mos_ask_file_open"

struct lsm_ctl {
	int fd[NMAPS];
	bool ask;	    /* domain_ask is attached: ask rules can be domains' */
	char ask_why[320];  /* why not */
	char dir[256];
	bool loaded;
	struct ring_buffer *rb;
	void (*cb)(const struct lsm_event *, void *);
	void *arg;
};

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* ---- pins ---------------------------------------------------------------- */

/* v<ABI>-<FNV-1a of the BPF object>: programs of another build never mix. */
static void version_tag(char *out, size_t n)
{
	size_t sz[3] = { 0 };
	const unsigned char *p[3] = { domain_lsm_bpf__elf_bytes(&sz[0]),
				      domain_ask_bpf__elf_bytes(&sz[1]),
				      domain_ask_rcu_bpf__elf_bytes(&sz[2]) };
	uint64_t h = 0xcbf29ce484222325ULL;

	/* every object: domain_ask is pinned beside domain_lsm, on its maps */
	for (int o = 0; o < 3; o++)
		for (size_t i = 0; i < sz[o]; i++)
			h = (h ^ p[o][i]) * 0x100000001b3ULL;
	snprintf(out, n, "v%d-%016llx", MOS_LSM_ABI_VERSION, (unsigned long long)h);
}

/* A pinned map of this layout, or -errno. */
static int open_pinned_map(const char *dir, int i)
{
	char path[PATH_MAX];
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, map_spec[i].name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || info.type != map_spec[i].type ||
	    info.key_size != map_spec[i].key_size || info.value_size != map_spec[i].value_size) {
		close(fd);
		return -EPROTO;
	}
	return fd;
}

/* Every map and every program's link pinned in DIR: the maps' fds in C. */
static int reuse_pins(struct lsm_ctl *c, const struct domain_lsm_bpf *skel_for_names)
{
	struct bpf_program *prog;
	char path[PATH_MAX];
	struct stat st;

	bpf_object__for_each_program(prog, skel_for_names->obj)
	{
		snprintf(path, sizeof(path), "%s/link_%s", c->dir, bpf_program__name(prog));
		if (stat(path, &st) < 0)
			return -ENOENT;
	}
	for (int i = 0; i < NMAPS; i++) {
		c->fd[i] = open_pinned_map(c->dir, i);
		if (c->fd[i] < 0) {
			int r = c->fd[i];

			for (int j = 0; j < i; j++)
				closep(&c->fd[j]);
			for (int j = 0; j < NMAPS; j++)
				c->fd[j] = -1;
			return r;
		}
	}
	return 0;
}

/* A `domains` map pinned in DIR, of whatever layout, holds a domain. */
static bool pins_in_use(const char *dir)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	unsigned char key[64];
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	snprintf(path, sizeof(path), "%s/%s", dir, map_spec[MAP_DOMAINS].name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || info.key_size > sizeof(key))
		return true; /* cannot tell: assume so */
	return bpf_map_get_next_key(fd, NULL, key) == 0;
}

/* Remove what a failed load left in DIR (never another version's pins). */
static void remove_pins(const char *dir, const struct domain_lsm_bpf *skel)
{
	struct bpf_program *prog;
	char path[PATH_MAX];

	bpf_object__for_each_program(prog, skel->obj)
	{
		snprintf(path, sizeof(path), "%s/link_%s", dir, bpf_program__name(prog));
		unlink(path);
	}
	for (int i = 0; i < NMAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, map_spec[i].name);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, ASK_LINK);
	unlink(path);
}

/* Load, attach, pin: the maps' fds in C.  SKEL is opened, not loaded. */
static int load_and_pin(struct lsm_ctl *c, struct domain_lsm_bpf *skel, struct mos_err *e)
{
	struct bpf_program *prog;
	char path[PATH_MAX];
	int err;

	err = domain_lsm_bpf__load(skel);
	if (err) {
		mos_err_set(e, "BPF LSM: cannot load bpf/domain_lsm.bpf.o on this kernel: %s",
			    strerror(-err));
		return err;
	}
	for (int i = 0; i < NMAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, map_spec[i].name);

		snprintf(path, sizeof(path), "%s/%s", c->dir, map_spec[i].name);
		err = m ? bpf_map__pin(m, path) : -ENOENT;
		if (err) {
			mos_err_set(e, "BPF LSM: cannot pin the map %s at %s: %s", map_spec[i].name,
				    path, strerror(-err));
			goto fail;
		}
	}
	bpf_object__for_each_program(prog, skel->obj)
	{
		struct bpf_link *link = bpf_program__attach(prog);

		if (!link) {
			err = -errno;
			mos_err_set(e, "BPF LSM: cannot attach %s: %s", bpf_program__name(prog),
				    strerror(-err));
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/link_%s", c->dir, bpf_program__name(prog));
		err = bpf_link__pin(link, path);
		if (err) {
			mos_err_set(e, "BPF LSM: cannot pin the link of %s at %s: %s",
				    bpf_program__name(prog), path, strerror(-err));
			bpf_link__destroy(link);
			goto fail;
		}
		/*
		 * The pin keeps it attached: drop our reference.  A disconnected
		 * link's fd is not closed by libbpf, which would keep the program
		 * attached as long as this process lives, pins removed or not.
		 */
		bpf_link__disconnect(link);
		close(bpf_link__fd(link));
		bpf_link__destroy(link);
	}
	for (int i = 0; i < NMAPS; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, map_spec[i].name);

		c->fd[i] = fcntl(bpf_map__fd(m), F_DUPFD_CLOEXEC, 3);
		if (c->fd[i] < 0) {
			err = -errno;
			mos_err_set(e, "BPF LSM: %s", strerror(errno));
			goto fail;
		}
	}
	c->loaded = true;
	return 0;
fail:
	remove_pins(c->dir, skel);
	return err;
}

/*
 * The pins of this version, reused under the directory's lock: 0, or
 * -ENOENT when there are none (DIRFD then holds the lock, or -1 when the
 * directory does not exist yet).
 */
static int reuse_locked(struct lsm_ctl *c, const struct domain_lsm_bpf *skel, int *dirfd,
			struct mos_err *e)
{
	*dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -ENOENT;
	/* one loader at a time: the others wait, then reuse its pins */
	if (flock(*dirfd, LOCK_EX) < 0) {
		mos_err_set(e, "BPF LSM: cannot lock %s: %s", c->dir, strerror(errno));
		return -errno;
	}
	return reuse_pins(c, skel) == 0 ? 0 : -ENOENT;
}

/* domain_ask's link pinned in C's directory: C->ask set.  0, or -ENOENT. */
static int ask_find(struct lsm_ctl *c)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", c->dir, ASK_LINK);
	if (stat(path, &st) < 0)
		return -ENOENT;
	c->ask = true;
	return 0;
}

/*
 * Load domain_ask's object S (OBJ, with its program PROG) on domain_lsm's
 * maps, attach it and pin its link: 0, or -errno with WHY set.
 */
static int ask_load(struct lsm_ctl *c, struct bpf_object_skeleton *s, struct bpf_object *obj,
		    struct bpf_program *prog, char *why, size_t len)
{
	static const int shared[] = { MAP_TASK_DOMAINS, MAP_DOMAINS,	  MAP_FS_RULES,
				      MAP_EVENTS,	MAP_COUNTERS,	  MAP_ASK_VERDICTS,
				      MAP_ASK_TIMEOUTS };
	struct bpf_link *link;
	char path[PATH_MAX];
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(shared) && !err; i++)
		err = bpf_map__reuse_fd(bpf_object__find_map_by_name(obj, map_spec[shared[i]].name),
					c->fd[shared[i]]);
	if (!err)
		err = bpf_object__load_skeleton(s);
	if (err) {
		snprintf(why, len, "cannot load it with the module's kfunc: %s", strerror(-err));
		return err;
	}
	link = bpf_program__attach(prog);
	if (!link) {
		err = -errno;
		snprintf(why, len, "cannot attach it: %s", strerror(-err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/%s", c->dir, ASK_LINK);
	err = bpf_link__pin(link, path);
	/* the pin keeps it attached (as load_and_pin's) */
	bpf_link__disconnect(link);
	close(bpf_link__fd(link));
	bpf_link__destroy(link);
	if (err)
		snprintf(why, len, "cannot pin its link: %s", strerror(-err));
	return err;
}

/*
 * domain_ask attached, the first time a domain needs it (a loaded program
 * holds the module: it is not there before one is wanted): the RCU variant
 * (6.2 and later), else the plain one (6.1), loaded on domain_lsm's maps
 * and its link pinned beside domain_lsm's, under the pin directory's lock.
 * 0, or -EOPNOTSUPP with C->ask_why saying why not (the module is not
 * loaded, its kfunc is missing).
 */
static int ask_attach(struct lsm_ctl *c)
{
	_cleanup_close_ int dirfd = -1;
	char why[160], why_rcu[160] = "";
	int err = -EOPNOTSUPP;

	if (c->ask)
		return 0;
	if (mos_kmod_probe(why, sizeof(why)) != MOS_KMOD_LOADED) {
		snprintf(c->ask_why, sizeof(c->ask_why), "%s", why);
		return -EOPNOTSUPP;
	}
	dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || flock(dirfd, LOCK_EX) < 0) {
		snprintf(c->ask_why, sizeof(c->ask_why), "cannot lock %s: %s", c->dir,
			 strerror(errno));
		return -EOPNOTSUPP;
	}
	if (ask_find(c) == 0)
		return 0; /* another opener attached it meanwhile */
	{
		struct domain_ask_rcu_bpf *skel = domain_ask_rcu_bpf__open();

		if (skel)
			err = ask_load(c, skel->skeleton, skel->obj, skel->progs.mos_ask_file_open,
				       why_rcu, sizeof(why_rcu));
		domain_ask_rcu_bpf__destroy(skel);
	}
	if (err) {
		struct domain_ask_bpf *skel = domain_ask_bpf__open();

		if (skel)
			err = ask_load(c, skel->skeleton, skel->obj, skel->progs.mos_ask_file_open,
				       why, sizeof(why));
		domain_ask_bpf__destroy(skel);
	}
	if (err) {
		snprintf(c->ask_why, sizeof(c->ask_why), "bpf/domain_ask.bpf.o: %s (with RCU: %s)",
			 why, why_rcu);
		return -EOPNOTSUPP;
	}
	c->ask = true;
	return 0;
}

bool lsm_ctl_asks(struct lsm_ctl *c, const char **why)
{
	bool can = c->ask || mos_kmod_probe(c->ask_why, sizeof(c->ask_why)) == MOS_KMOD_LOADED;

	if (why)
		*why = can ? NULL : c->ask_why;
	return can;
}

int lsm_ctl_open(struct lsm_ctl **out, struct mos_err *e)
{
	struct domain_lsm_bpf *skel = NULL;
	_cleanup_close_ int dirfd = -1;
	struct lsm_ctl *c;
	struct statfs sfs;
	char tag[64], why[256];
	int err = 0;

	*out = NULL;
	libbpf_set_print(libbpf_quiet);
	c = xcalloc(1, sizeof(*c));
	for (int i = 0; i < NMAPS; i++)
		c->fd[i] = -1;
	version_tag(tag, sizeof(tag));
	snprintf(c->dir, sizeof(c->dir), "%s/%s", LSM_PIN_ROOT, tag);
	skel = domain_lsm_bpf__open();
	if (!skel) {
		err = -errno;
		mos_err_set(e, "BPF LSM: cannot open the embedded object: %s", strerror(errno));
		goto out;
	}
	/* Phase 1: programs loaded by an earlier opener (mosd, another mosctl). */
	err = reuse_locked(c, skel, &dirfd, e);
	if (err != -ENOENT)
		goto out;
	/* Phase 2: none; can this kernel run them?  (No trace left if not.) */
	if (mos_bpf_lsm_probe(why, sizeof(why)) != MOS_BPF_LSM_USABLE) {
		mos_err_set(e, "BPF LSM: %s", why);
		err = -EOPNOTSUPP;
		goto out;
	}
	if (statfs("/sys/fs/bpf", &sfs) < 0 || sfs.f_type != BPF_FS_MAGIC) {
		mos_err_set(e, "BPF LSM: /sys/fs/bpf is not a BPF filesystem, where the programs "
			       "are pinned (mount -t bpf bpf /sys/fs/bpf)");
		err = -ENOENT;
		goto out;
	}
	/* Phase 3: load, attach, pin; unless another opener did meanwhile. */
	if (dirfd < 0) {
		if ((mkdir(LSM_PIN_ROOT, 0700) < 0 && errno != EEXIST) ||
		    (mkdir(c->dir, 0700) < 0 && errno != EEXIST)) {
			err = -errno;
			mos_err_set(e, "BPF LSM: cannot create %s: %s", c->dir, strerror(errno));
			goto out;
		}
		err = reuse_locked(c, skel, &dirfd, e);
		if (err != -ENOENT)
			goto out;
	}
	if (pins_in_use(c->dir)) {
		mos_err_set(e,
			    "BPF LSM: the pins in %s are incomplete, but domains exist in them; "
			    "not replacing programs that may still confine processes (remove "
			    "the directory to start over: that detaches them)",
			    c->dir);
		err = -EBUSY;
		goto out;
	}
	remove_pins(c->dir, skel); /* a half-done earlier load */
	err = load_and_pin(c, skel, e);
out:
	if (!err)
		ask_find(c); /* attached by an earlier opener; else when a domain asks */
	if (skel)
		domain_lsm_bpf__destroy(skel);
	if (err) {
		lsm_ctl_close(c);
		return err;
	}
	*out = c;
	return 0;
}

void lsm_ctl_close(struct lsm_ctl *c)
{
	if (!c)
		return;
	ring_buffer__free(c->rb);
	for (int i = 0; i < NMAPS; i++)
		closep(&c->fd[i]);
	free(c);
}

const char *lsm_ctl_pin_dir(const struct lsm_ctl *c)
{
	return c->dir;
}

bool lsm_ctl_loaded(const struct lsm_ctl *c)
{
	return c->loaded;
}

/* ---- domains ------------------------------------------------------------- */

static int get_domain(struct lsm_ctl *c, uint32_t id, struct mos_lsm_domain *d)
{
	return bpf_map_lookup_elem(c->fd[MAP_DOMAINS], &id, d) < 0 ? -errno : 0;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A fresh id, reserved with D as its value. */
static int add_domain(struct lsm_ctl *c, const struct mos_lsm_domain *d, uint32_t *id)
{
	for (int tries = 0; tries < 100; tries++) {
		uint32_t key, next, max = 0;
		void *prev = NULL;

		while (bpf_map_get_next_key(c->fd[MAP_DOMAINS], prev, &next) == 0) {
			if (next > max)
				max = next;
			key = next;
			prev = &key;
		}
		if (max + 1 >= MOS_LSM_PENDING_EXEC)
			return -ENOSPC;
		*id = max + 1;
		if (bpf_map_update_elem(c->fd[MAP_DOMAINS], id, d, BPF_NOEXIST) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EAGAIN;
}

/* Delete every key of MAP whose first u32 (the domain) is ID. */
static void delete_keys_of(int fd, size_t key_size, uint32_t id)
{
	_cleanup_free_ unsigned char *keys = NULL;
	unsigned char cur[64], next[64];
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint32_t dom;

		memcpy(&dom, next, sizeof(dom));
		if (dom == id) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				keys = xrealloc(keys, cap * key_size);
			}
			memcpy(keys + n++ * key_size, next, key_size);
		}
		memcpy(cur, next, key_size);
		prev = cur;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
}

static void delete_rules(struct lsm_ctl *c, uint32_t id)
{
	/* an id is used again once free: no "always" of this one may stay */
	delete_keys_of(c->fd[MAP_ASK_VERDICTS], sizeof(struct mos_lsm_ask_key), id);
	bpf_map_delete_elem(c->fd[MAP_ASK_TIMEOUTS], &id);
	delete_keys_of(c->fd[MAP_FS_RULES], sizeof(struct mos_lsm_inode_key), id);
	delete_keys_of(c->fd[MAP_NET_CONNECT], sizeof(struct mos_lsm_net_key), id);
	delete_keys_of(c->fd[MAP_NET_BIND], sizeof(struct mos_lsm_bind_key), id);
}

/* What a domain's file rules may grant: Landlock rights -> enum mos_fs_access. */
static uint32_t access_of(uint64_t rights)
{
	uint32_t a = 0;

	if (rights & (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR))
		a |= MOS_FS_READ;
	if (rights & LANDLOCK_ACCESS_FS_EXECUTE)
		a |= MOS_FS_EXEC;
	if (rights & landlock_fs_rights(MOS_FS_WRITE, MOS_LANDLOCK_ABI_NEWEST))
		a |= MOS_FS_WRITE;
	return a;
}

/* The rule on PATH's inode for domain ID: ACCESS added, KIND set (deny wins). */
static int put_inode_rule(struct lsm_ctl *c, uint32_t id, const char *path, uint32_t access,
			  enum mos_lsm_rule_kind kind)
{
	struct mos_lsm_inode_key k = { .domain = id };
	struct mos_lsm_inode_rule r = { 0 };
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	k.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
	k.ino = st.st_ino;
	(void)bpf_map_lookup_elem(c->fd[MAP_FS_RULES], &k, &r);
	r.access |= access;
	if (kind == MOS_LSM_RULE_DENY || (kind == MOS_LSM_RULE_ASK && r.deny != MOS_LSM_RULE_DENY))
		r.deny = kind;
	return bpf_map_update_elem(c->fd[MAP_FS_RULES], &k, &r, BPF_ANY) < 0 ? -errno : 0;
}

/* G's grants (built with a mount view: a denied path that exists is not
 * split around, the tree is granted whole and the deny is a rule of its
 * own) as rules on their inodes. */
static int put_file_rules(struct lsm_ctl *c, uint32_t id, const struct landlock_grants *g,
			  struct mos_report *rep, struct mos_err *e)
{
	size_t ngrants = 0, ndenied = 0;
	int r = 0;

	for (size_t i = 0; i < g->n && r == 0; i++) {
		uint32_t a = access_of(g->v[i].rights);

		if (!a)
			continue;
		r = put_inode_rule(c, id, g->v[i].path, a, MOS_LSM_RULE_GRANT);
		if (r < 0)
			mos_err_set(e, "BPF LSM: cannot add the rule for %s: %s", g->v[i].path,
				    strerror(-r));
		ngrants++;
	}
	for (size_t i = 0; i < g->ndenied && r == 0; i++) {
		int d = put_inode_rule(c, id, g->denied[i], 0, MOS_LSM_RULE_DENY);

		if (d == -ENOENT || d == -ENOTDIR || d == -EACCES) {
			report_add(rep, "  deny      %s: does not exist, nothing to deny",
				   g->denied[i]);
			continue;
		}
		if (d < 0) {
			mos_err_set(e, "BPF LSM: cannot add the deny rule for %s: %s", g->denied[i],
				    strerror(-d));
			r = d;
		}
		ndenied++;
	}
	if (r == 0)
		report_add(rep,
			   "BPF LSM: file rules on %zu inode(s) granted and %zu denied, matched up "
			   "the dentry chain in the kernel (open, exec, create, remove, rename, "
			   "link, truncate)",
			   ngrants, ndenied);
	return r;
}

static int put_connect(struct lsm_ctl *c, uint32_t id, int family, const void *addr, uint16_t port)
{
	struct mos_lsm_net_key k = { .domain = id, .port = port, .family = (__u8)family };
	__u8 one = 1;

	if (family == AF_INET)
		memcpy(k.addr, addr, 4);
	else if (family == AF_INET6)
		memcpy(k.addr, addr, 16);
	return bpf_map_update_elem(c->fd[MAP_NET_CONNECT], &k, &one, BPF_ANY) < 0 ? -errno : 0;
}

static int put_net_rules(struct lsm_ctl *c, uint32_t id, const struct mos_policy *p,
			 const struct mos_net_rules *net, struct mos_report *rep, struct mos_err *e)
{
	int r = 0;

	for (size_t i = 0; i < p->nnet_allow; i++)
		if (p->net_allow[i].host)
			mos_net_rules_report_host(net, i, rep);
	for (size_t i = 0; i < net->nconnect && r == 0; i++) {
		const struct mos_connect_rule *cr = &net->connect[i];

		r = put_connect(c, id, cr->family, cr->addr, cr->port);
		if (r < 0)
			mos_err_set(e, "BPF LSM: cannot add a network rule: %s", strerror(-r));
	}
	for (size_t i = 0; i < net->nbind && r == 0; i++) {
		struct mos_lsm_bind_key k = { .domain = id, .port = net->bind[i] };
		__u8 one = 1;

		if (bpf_map_update_elem(c->fd[MAP_NET_BIND], &k, &one, BPF_ANY) < 0) {
			r = -errno;
			mos_err_set(e, "BPF LSM: cannot add a bind rule: %s", strerror(errno));
		}
	}
	if (r == 0)
		report_add(rep,
			   "BPF LSM: TCP connect to %zu rule(s), bind to %zu port(s), IPv4, IPv6 "
			   "and v4-mapped; UDP %s; unix sockets %s; other socket families "
			   "refused",
			   p->nnet_allow, p->nnet_bind,
			   !p->allow_udp   ? "refused"
			   : p->nnet_allow ? "to those destinations only"
					   : "anywhere",
			   p->allow_unix ? "allowed" : "only from socketpair()");
	return r;
}

/*
 * Ask rules on files are the domain's where domain_ask is attached (the
 * module is loaded); on TCP, and elsewhere, they need the supervisor:
 * -EOPNOTSUPP with E set.
 */
static int refuse_ask(struct lsm_ctl *c, const struct mos_policy *p, uint32_t flags,
		      struct mos_err *e)
{
	if (!p->nask_fs && !p->ask_net)
		return 0;
	if (!(flags & LSM_DOMAIN_ASKS))
		mos_err_set(e, "ask rules are decided by the supervisor backend, not by the BPF "
			       "LSM (use --backend unotify)");
	else if (p->ask_net)
		mos_err_set(e, "ask rules on TCP are decided by the supervisor backend, not by "
			       "the BPF LSM (use --backend unotify)");
	else if (ask_attach(c) < 0)
		mos_err_set(e,
			    "ask rules are decided by the supervisor backend here, not by the "
			    "BPF LSM (use --backend unotify): %s",
			    c->ask_why);
	else
		return 0;
	return -EOPNOTSUPP;
}

/* The ask paths of P as ask rules of domain ID (a path that is not there asks nothing). */
static int put_ask_rules(struct lsm_ctl *c, uint32_t id, const struct mos_policy *p,
			 struct mos_report *rep, struct mos_err *e)
{
	for (size_t i = 0; i < p->nask_fs; i++) {
		int r = put_inode_rule(c, id, p->ask_fs[i], 0, MOS_LSM_RULE_ASK);

		if (r == -ENOENT || r == -ENOTDIR || r == -EACCES) {
			report_add(rep, "  ask       %s: does not exist, nothing to ask", p->ask_fs[i]);
			continue;
		}
		if (r < 0) {
			mos_err_set(e, "BPF LSM: cannot add the ask rule for %s: %s", p->ask_fs[i],
				    strerror(-r));
			return r;
		}
		report_add(rep,
			   "  ask       %s: an open beneath that no grant allows waits for the "
			   "decider, asked by the kernel module; other changes there are refused",
			   p->ask_fs[i]);
	}
	return 0;
}

int lsm_domain_set_ask_timeout(struct lsm_ctl *c, uint32_t id, uint32_t timeout_ms,
			       struct mos_err *e)
{
	if (!c->ask) {
		mos_err_set(e, "BPF LSM: no ask rules here: %s", c->ask_why);
		return -EOPNOTSUPP;
	}
	if (bpf_map_update_elem(c->fd[MAP_ASK_TIMEOUTS], &id, &timeout_ms, BPF_ANY) < 0) {
		mos_err_set(e, "BPF LSM: cannot set domain %u's ask timeout: %s", id,
			    strerror(errno));
		return -errno;
	}
	return 0;
}

int lsm_domain_new_reported(struct lsm_ctl *c, const struct mos_policy *p, uint32_t parent,
			    uint32_t flags, uid_t owner, struct mos_report *rep, uint32_t *id,
			    struct mos_err *e)
{
	struct landlock_grants g = { 0 };
	struct mos_fs_view view = { 0 };
	struct mos_net_rules net = { 0 };
	struct mos_report scratch = { 0 };
	int r;

	*id = 0;
	if (!rep)
		rep = &scratch;
	r = refuse_ask(c, p, flags, e);
	if (r < 0)
		return r;
	r = landlock_grants_build(p, MOS_LANDLOCK_ABI_NEWEST, &view, &g, rep, e);
	fs_view_free(&view);
	if (r == 0)
		r = mos_net_rules_build(p, &net, e);
	if (r == 0)
		r = lsm_domain_new_compiled(c, p, &g, &net, parent, flags, owner, rep, id, e);
	mos_net_rules_free(&net);
	landlock_grants_free(&g);
	report_free(&scratch);
	return r;
}

static int lsm_domain_new_rules(struct lsm_ctl *c, const struct mos_policy *p,
				const struct landlock_grants *g, const struct mos_net_rules *net,
				uint32_t parent, uint32_t flags, uid_t owner,
				struct mos_report *rep, uint32_t *id, struct mos_err *e)
{
	struct mos_lsm_domain d = { .parent = parent, .owner = (__u32)owner };
	struct mos_report scratch = { 0 };
	int r;

	*id = 0;
	if (!rep)
		rep = &scratch;
	r = refuse_ask(c, p, flags, e);
	if (r < 0)
		goto out;
	if (parent) {
		struct mos_lsm_domain pd;

		r = get_domain(c, parent, &pd);
		if (r < 0) {
			mos_err_set(e, "BPF LSM: no domain %u to chain under", parent);
			goto out;
		}
		d.depth = pd.depth + 1;
		if (d.depth >= MOS_LSM_MAX_CHAIN) {
			mos_err_set(e,
				    "BPF LSM: domain %u already has %u ancestors; a chain is at "
				    "most %d deep",
				    parent, pd.depth, MOS_LSM_MAX_CHAIN);
			r = -E2BIG;
			goto out;
		}
	}
	if (!p->permissive)
		d.flags |= MOS_LSM_FILES | MOS_LSM_NET;
	if (p->allow_udp)
		d.flags |= MOS_LSM_UDP | (p->nnet_allow ? 0 : MOS_LSM_UDP_ANYWHERE);
	if (p->allow_unix)
		d.flags |= MOS_LSM_UNIX;
	if (flags & LSM_DOMAIN_REVOKE)
		d.flags |= MOS_LSM_REVOKE;
	if (p->nask_fs)
		d.flags |= MOS_LSM_ASK;
	d.created_ns = boottime_ns();
	r = add_domain(c, &d, id);
	if (r < 0) {
		mos_err_set(e, "BPF LSM: cannot add a domain: %s", strerror(-r));
		goto out;
	}
	r = put_file_rules(c, *id, g, rep, e);
	if (r == 0)
		r = put_ask_rules(c, *id, p, rep, e);
	if (r == 0)
		r = put_net_rules(c, *id, p, net, rep, e);
	if (r < 0) {
		delete_rules(c, *id);
		bpf_map_delete_elem(c->fd[MAP_DOMAINS], id);
		*id = 0;
		goto out;
	}
	if (parent)
		report_add(rep,
			   "BPF LSM: domain %u chained under %u: every access must be "
			   "allowed by both (and by every ancestor)",
			   *id, parent);
	if (flags & LSM_DOMAIN_REVOKE)
		report_add(rep, "BPF LSM: reads and writes through files opened before are "
				"checked too (revoke)");
	report_add(rep, "BPF LSM: bpf(), mount, and ptrace or signals outside the domain are "
			"refused");
out:
	report_free(&scratch);
	return r;
}

int lsm_domain_new_compiled(struct lsm_ctl *c, const struct mos_policy *p,
			    const struct landlock_grants *g, const struct mos_net_rules *net,
			    uint32_t parent, uint32_t flags, uid_t owner, struct mos_report *rep,
			    uint32_t *id, struct mos_err *e)
{
	struct mos_report scratch = { 0 };
	int r;

	*id = 0;
	if (!net->built || net->policy != p) {
		mos_err_set(e, "BPF LSM: the network rules were not compiled");
		return -EINVAL;
	}
	r = lsm_domain_new_rules(c, p, g, net, parent, flags, owner, rep ? rep : &scratch, id, e);
	report_free(&scratch);
	return r;
}

int lsm_domain_new(struct lsm_ctl *c, const struct mos_policy *p, uint32_t parent, uint32_t flags,
		   uid_t owner, uint32_t *id, struct mos_err *e)
{
	return lsm_domain_new_reported(c, p, parent, flags, owner, NULL, id, e);
}

int lsm_domain_delete(struct lsm_ctl *c, uint32_t id, struct mos_err *e)
{
	struct lsm_domain_info *v = NULL;
	size_t n = 0;
	int r = lsm_domain_list(c, &v, &n);

	if (r < 0) {
		mos_err_set(e, "BPF LSM: cannot list the domains: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].parent == id) {
			mos_err_set(e, "BPF LSM: domain %u has domain %u chained under it", id,
				    v[i].id);
			free(v);
			return -EBUSY;
		}
	}
	free(v);
	if (bpf_map_delete_elem(c->fd[MAP_DOMAINS], &id) < 0) {
		r = -errno;
		mos_err_set(e, "BPF LSM: no domain %u", id);
		return r;
	}
	delete_rules(c, id);
	return 0;
}

/* ---- processes ----------------------------------------------------------- */

/* The process (thread-group id) of the thread PID, or -errno. */
static pid_t process_of(pid_t pid)
{
	char path[64], line[256];
	pid_t tgid = -ESRCH;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno == -ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/*
 * A pidfd of PID's process (its leader, whose task storage holds the
 * domain).  PID itself first, so that a process is named without a window
 * for its pid to be reused; a thread id (EINVAL: not a leader) through
 * /proc.
 */
static int process_pidfd(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	pid_t tgid;

	if (fd >= 0 || errno != EINVAL)
		return fd >= 0 ? fd : -errno;
	tgid = process_of(pid);
	if (tgid < 0)
		return tgid;
	fd = (int)syscall(SYS_pidfd_open, tgid, 0);
	return fd < 0 ? -errno : fd;
}

static uint32_t domain_of_pidfd(struct lsm_ctl *c, int pidfd)
{
	uint32_t id = 0;

	if (bpf_map_lookup_elem(c->fd[MAP_TASK_DOMAINS], &pidfd, &id) < 0)
		return 0;
	return id & ~MOS_LSM_PENDING_EXEC;
}

/* ID is FROM or chained (at any depth) beneath it. */
static bool beneath(struct lsm_ctl *c, uint32_t id, uint32_t from)
{
	for (int i = 0; i <= MOS_LSM_MAX_CHAIN && id; i++) {
		struct mos_lsm_domain d;

		if (id == from)
			return true;
		if (get_domain(c, id, &d) < 0)
			return false;
		id = d.parent;
	}
	return false;
}

static int enter(struct lsm_ctl *c, uint32_t id, pid_t pid, uint32_t pending, struct mos_err *e)
{
	struct mos_lsm_domain d;
	_cleanup_close_ int pidfd = -1;
	uint32_t now;
	int r;

	if (!id || get_domain(c, id, &d) < 0) {
		mos_err_set(e, "BPF LSM: no domain %u", id);
		return -ENOENT;
	}
	pidfd = process_pidfd(pid);
	if (pidfd < 0) {
		mos_err_set(e, "BPF LSM: cannot reach process %d: %s", (int)pid, strerror(-pidfd));
		return pidfd;
	}
	now = domain_of_pidfd(c, pidfd);
	if (now && now != id && !beneath(c, id, now)) {
		mos_err_set(e,
			    "BPF LSM: process %d is in domain %u, and domain %u is not chained "
			    "beneath it: a confined process may only be tightened (make the new "
			    "domain with %u as its parent)",
			    (int)pid, now, id, now);
		return -EPERM;
	}
	id |= pending;
	if (bpf_map_update_elem(c->fd[MAP_TASK_DOMAINS], &pidfd, &id, BPF_ANY) < 0) {
		r = -errno;
		mos_err_set(e, "BPF LSM: cannot put process %d in domain %u: %s", (int)pid,
			    id & ~MOS_LSM_PENDING_EXEC, strerror(errno));
		return r;
	}
	return 0;
}

int lsm_domain_enter(struct lsm_ctl *c, uint32_t id, pid_t pid, struct mos_err *e)
{
	return enter(c, id, pid, 0, e);
}

int lsm_domain_enter_at_exec(struct lsm_ctl *c, uint32_t id, pid_t pid, struct mos_err *e)
{
	return enter(c, id, pid, MOS_LSM_PENDING_EXEC, e);
}

uint32_t lsm_domain_of(struct lsm_ctl *c, pid_t pid)
{
	_cleanup_close_ int pidfd = process_pidfd(pid);

	return pidfd < 0 ? 0 : domain_of_pidfd(c, pidfd);
}

int lsm_domain_leave(struct lsm_ctl *c, pid_t pid, struct mos_err *e)
{
	_cleanup_close_ int pidfd = process_pidfd(pid);

	if (pidfd < 0) {
		mos_err_set(e, "BPF LSM: cannot reach process %d: %s", (int)pid, strerror(-pidfd));
		return pidfd;
	}
	if (bpf_map_delete_elem(c->fd[MAP_TASK_DOMAINS], &pidfd) < 0 && errno != ENOENT) {
		int r = -errno;

		mos_err_set(e, "BPF LSM: cannot take process %d out of its domain: %s", (int)pid,
			    strerror(errno));
		return r;
	}
	return 0;
}

int lsm_domain_list(struct lsm_ctl *c, struct lsm_domain_info **v, size_t *n)
{
	uint32_t key, next;
	void *prev = NULL;
	size_t cap = 0;

	*v = NULL;
	*n = 0;
	while (bpf_map_get_next_key(c->fd[MAP_DOMAINS], prev, &next) == 0) {
		struct mos_lsm_domain d;

		key = next;
		prev = &key;
		if (get_domain(c, key, &d) < 0)
			continue; /* deleted meanwhile */
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*v = xrealloc(*v, cap * sizeof(**v));
		}
		(*v)[(*n)++] = (struct lsm_domain_info){ .id = key,
							 .parent = d.parent,
							 .flags = d.flags,
							 .owner = (uid_t)d.owner,
							 .denials = d.denials };
	}
	if (errno != ENOENT) {
		int r = -errno;

		free(*v);
		*v = NULL;
		*n = 0;
		return r;
	}
	return 0;
}

struct gc_domain {
	uint32_t id, parent;
	uint64_t created_ns;
	bool used;
};

static struct gc_domain *gc_find(struct gc_domain *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

int lsm_domain_gc(struct lsm_ctl *c, unsigned int min_age_s)
{
	_cleanup_free_ struct gc_domain *v = NULL;
	uint64_t now = boottime_ns(), min_age = (uint64_t)min_age_s * 1000000000ULL;
	uint32_t key, next;
	void *prev = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int removed = 0;
	bool again;
	DIR *proc;

	while (bpf_map_get_next_key(c->fd[MAP_DOMAINS], prev, &next) == 0) {
		struct mos_lsm_domain d;

		key = next;
		prev = &key;
		if (get_domain(c, key, &d) < 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = (struct gc_domain){ key, d.parent, d.created_ns,
					     now - d.created_ns < min_age };
	}
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	/* a process in a domain keeps it and its ancestors */
	while ((de = readdir(proc)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct gc_domain *g;
		uint32_t id;

		if (*end || pid <= 0)
			continue;
		id = lsm_domain_of(c, (pid_t)pid);
		for (int depth = 0; id && depth <= MOS_LSM_MAX_CHAIN; depth++) {
			g = gc_find(v, n, id);
			if (!g)
				break;
			g->used = true;
			id = g->parent;
		}
	}
	closedir(proc);
	/* leaves first: a domain with one chained beneath is not deleted */
	do {
		again = false;
		for (size_t i = 0; i < n; i++) {
			struct mos_err e;

			if (v[i].used || !v[i].id)
				continue;
			if (lsm_domain_delete(c, v[i].id, &e) == 0) {
				v[i].id = 0;
				removed++;
				again = true;
			}
		}
	} while (again);
	return removed;
}

/* ---- events -------------------------------------------------------------- */

static int on_event(void *ctx, void *data, size_t len)
{
	struct lsm_ctl *c = ctx;
	const struct mos_lsm_event *r = data;
	struct lsm_event ev = { 0 };

	if (len < sizeof(*r))
		return 0;
	ev.domain = r->domain;
	ev.pid = r->pid;
	ev.op = (int)r->op;
	ev.dev = r->dev;
	ev.ino = r->ino;
	ev.level = r->level;
	ev.err = r->err;
	ev.access = r->access;
	ev.family = r->family;
	ev.port = r->port;
	memcpy(ev.addr, r->addr, sizeof(ev.addr));
	memcpy(ev.comm, r->comm, sizeof(ev.comm));
	ev.comm[sizeof(ev.comm) - 1] = '\0';
	c->cb(&ev, c->arg);
	return 0;
}

int lsm_events_poll(struct lsm_ctl *c, int timeout_ms, void (*cb)(const struct lsm_event *, void *),
		    void *arg)
{
	if (!c->rb) {
		c->rb = ring_buffer__new(c->fd[MAP_EVENTS], on_event, c, NULL);
		if (!c->rb)
			return -errno;
	}
	c->cb = cb;
	c->arg = arg;
	return ring_buffer__poll(c->rb, timeout_ms);
}

int lsm_counters(struct lsm_ctl *c, uint64_t v[MOS_LSM_CNT_MAX])
{
	for (__u32 i = 0; i < MOS_LSM_CNT_MAX; i++) {
		__u64 x = 0;

		if (bpf_map_lookup_elem(c->fd[MAP_COUNTERS], &i, &x) < 0)
			return -errno;
		v[i] = x;
	}
	return 0;
}

uint64_t lsm_events_dropped(struct lsm_ctl *c)
{
	uint64_t v[MOS_LSM_CNT_MAX];

	return lsm_counters(c, v) < 0 ? 0 : v[MOS_LSM_CNT_DROPPED];
}

const char *lsm_op_name(int op)
{
	static const char *const names[] = {
		[MOS_LSM_OP_OPEN] = "open",	  [MOS_LSM_OP_EXEC] = "exec",
		[MOS_LSM_OP_READ] = "read",	  [MOS_LSM_OP_WRITE] = "write",
		[MOS_LSM_OP_MKDIR] = "mkdir",	  [MOS_LSM_OP_RMDIR] = "rmdir",
		[MOS_LSM_OP_UNLINK] = "unlink",	  [MOS_LSM_OP_RENAME] = "rename",
		[MOS_LSM_OP_LINK] = "link",	  [MOS_LSM_OP_SYMLINK] = "symlink",
		[MOS_LSM_OP_MKNOD] = "mknod",	  [MOS_LSM_OP_TRUNCATE] = "truncate",
		[MOS_LSM_OP_CONNECT] = "connect", [MOS_LSM_OP_BIND] = "bind",
		[MOS_LSM_OP_SENDMSG] = "sendmsg", [MOS_LSM_OP_SOCKET] = "socket",
		[MOS_LSM_OP_BPF] = "bpf",	  [MOS_LSM_OP_PTRACE] = "ptrace",
		[MOS_LSM_OP_KILL] = "kill",	  [MOS_LSM_OP_MOUNT] = "mount",
		[MOS_LSM_OP_FORK] = "fork",	  [MOS_LSM_OP_CHMOD] = "chmod",
		[MOS_LSM_OP_CHOWN] = "chown",	  [MOS_LSM_OP_LISTEN] = "listen",
	};

	if (op <= 0 || (size_t)op >= ARRAY_SIZE(names) || !names[op])
		return "?";
	return names[op];
}
