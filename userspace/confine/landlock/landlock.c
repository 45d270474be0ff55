// SPDX-License-Identifier: GPL-2.0-only
/*
 * landlock.c - policy -> Landlock ruleset (see landlock.h).
 */
#include "landlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "landlock_compat.h"
#include "rules.h"
#include "strmap.h"
#include "util.h"

#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_EXEC LANDLOCK_ACCESS_FS_EXECUTE
#define LL_WRITE                                                                                  \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                          \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |                          \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                              \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |                            \
	 LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER | \
	 LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

uint64_t landlock_handled_fs(int abi)
{
	uint64_t h;

	if (abi < 1)
		return 0;
	h = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */
	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

uint64_t landlock_fs_rights(uint32_t access, int abi)
{
	uint64_t r = 0;

	if (access & MOS_FS_READ)
		r |= LL_READ;
	if (access & MOS_FS_EXEC)
		r |= LL_EXEC;
	if (access & MOS_FS_WRITE)
		r |= LL_WRITE;
	return r & landlock_handled_fs(abi);
}

/* ---- resolving paths ---------------------------------------------------- */

/*
 * The real path of PATH; when it does not exist, the real path of its longest
 * existing ancestor with the rest appended.  *EXISTS says which.
 */
static int resolve_real(const char *path, char **out, bool *exists)
{
	char buf[PATH_MAX];
	_cleanup_free_ char *head = xstrdup(path);
	const char *tail = "";
	char *slash;

	if (realpath(path, buf)) {
		*out = xstrdup(buf);
		*exists = true;
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR)
		return -errno;
	*exists = false;
	while ((slash = strrchr(head, '/')) != NULL) {
		_cleanup_free_ char *joined = NULL;

		tail = path + (slash - head);
		*slash = '\0';
		if (realpath(*head ? head : "/", buf)) {
			size_t n = strlen(buf) + strlen(tail) + 1;

			joined = xmalloc(n);
			snprintf(joined, n, "%s%s", strcmp(buf, "/") ? buf : "", tail);
			*out = path_join_normalize("/", joined);
			return 0;
		}
		if (errno != ENOENT && errno != ENOTDIR)
			return -errno;
	}
	*out = xstrdup(path);
	return 0;
}

/* ---- building grants ---------------------------------------------------- */

/*
 * A list of denied real paths, indexed so that every question the builder
 * asks of it is answered without a scan: whether a path is denied itself
 * (a hash map), lies beneath a denied path (the map, once per ancestor) or
 * has denied paths beneath it (those are one contiguous run of the sorted
 * list: every string that starts with "DIR/").  A policy of many allows and
 * many denies used to cost their product.
 */
struct denies {
	char **v; /* in policy order */
	size_t n;
	struct strmap set; /* path -> index in v */
	size_t *sorted;	   /* indices of v, by strcmp of their paths */
};

static void denies_free(struct denies *d)
{
	strv_free(d->v);
	strmap_free(&d->set);
	free(d->sorted);
	*d = (struct denies){ 0 };
}

static int by_path(const void *a, const void *b, void *v)
{
	const char *const *paths = v;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(paths[i], paths[j]);

	return c ? c : (i > j) - (i < j);
}

static void denies_index(struct denies *d)
{
	strmap_free(&d->set);
	free(d->sorted);
	d->sorted = xcalloc(d->n ? d->n : 1, sizeof(*d->sorted));
	for (size_t i = 0; i < d->n; i++) {
		strmap_add_str(&d->set, d->v[i], i, NULL);
		d->sorted[i] = i;
	}
	qsort_r(d->sorted, d->n, sizeof(*d->sorted), by_path, d->v);
}

/* The first index of D->sorted whose path, cut to PLEN bytes, compares
 * above PREFIX (ABOVE) or not below it (!ABOVE): monotone over the sorted
 * list, so a binary search. */
static size_t denies_bound(const struct denies *d, const char *prefix, size_t plen, bool above)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(d->v[d->sorted[mid]], prefix, plen);

		if (above ? c <= 0 : c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The run [*FIRST, *END) of D->sorted holding the paths strictly beneath DIR:
 * those that start with "DIR/". */
static void denies_beneath(const struct denies *d, const char *dir, size_t *first, size_t *end)
{
	bool root = !strcmp(dir, "/");
	_cleanup_free_ char *prefix = root ? xstrdup("/") : xasprintf("%s/", dir);
	size_t plen = strlen(prefix);

	*first = denies_bound(d, prefix, plen, false);
	*end = denies_bound(d, prefix, plen, true);
	/* "/" itself starts with "/" but is not beneath "/" */
	if (root && *first < *end && !strcmp(d->v[d->sorted[*first]], "/"))
		(*first)++;
}

static bool is_denied(const struct denies *d, const char *path)
{
	return strmap_find_str(&d->set, path) != NULL;
}

static bool deny_strictly_beneath(const struct denies *d, const char *path)
{
	size_t first, end;

	denies_beneath(d, path, &first, &end);
	return first < end;
}

/* The denied path PATH is beneath (or is), or NULL. */
static const char *denied_above(const struct denies *d, const char *path)
{
	_cleanup_free_ char *up = xstrdup(path);
	size_t *i;

	for (;;) {
		char *slash;

		i = strmap_find_str(&d->set, *up ? up : "/");
		if (i)
			return d->v[*i];
		slash = strrchr(up, '/');
		if (!slash || !*up)
			return NULL;
		*slash = '\0';
	}
}

struct builder {
	struct landlock_grants *g;
	size_t gcap;	     /* room in g->v */
	struct strmap index; /* g->v[i].path -> i */
	struct mos_report *rep;
	struct mos_err *e;
	const struct denies *d;	    /* every deny: nothing beneath them is granted */
	const struct denies *split; /* the denies to split around (see below) */
	struct mos_fs_view *view;   /* NULL: no mount namespace, split every deny */
	size_t touched;		    /* grants added or widened */
	struct strmap allowed;	    /* the allows done: "ACCESS:FLAGS:REAL" */
};

/*
 * Grant RIGHTS on PATH unless that is there already: the same path is
 * widened, and a path beneath a directory granted these rights needs no rule
 * of its own.  Both are looked up in the index (the path, then each of its
 * ancestors), not by a scan of the grants so far: a policy of many files
 * used to cost the square of their number.
 */
static int add_grant(struct builder *b, const char *path, uint64_t rights)
{
	_cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *up = NULL;
	struct stat st;
	size_t *at;

	if (fd < 0 || fstat(fd, &st) < 0) {
		mos_err_set(b->e, "cannot open %s for a Landlock rule: %s", path, strerror(errno));
		return -errno;
	}
	/* A symlink's own inode grants nothing: access goes to its target. */
	if (S_ISLNK(st.st_mode))
		return 0;
	if (!S_ISDIR(st.st_mode))
		rights &= MOS_LANDLOCK_FILE_RIGHTS;
	if (!rights)
		return 0;
	at = strmap_find_str(&b->index, path);
	if (at) {
		b->g->v[*at].rights |= rights;
		b->touched++;
		return 0;
	}
	up = xstrdup(path);
	for (char *slash; (slash = strrchr(up, '/')) != NULL && strcmp(up, "/");) {
		const struct landlock_grant *o;

		slash[slash == up ? 1 : 0] = '\0';
		at = strmap_find_str(&b->index, up);
		if (!at)
			continue;
		o = &b->g->v[*at];
		if ((o->rights & rights) == rights && (o->rights & ~MOS_LANDLOCK_FILE_RIGHTS))
			return 0;
	}
	if (b->g->n >= MOS_LANDLOCK_MAX_RULES) {
		mos_err_set(b->e,
			    "more than %d Landlock rules (splitting large "
			    "directories around --deny paths); deny a path higher up",
			    MOS_LANDLOCK_MAX_RULES);
		return -E2BIG;
	}
	if (b->g->n == b->gcap) {
		b->gcap = b->gcap ? 2 * b->gcap : 64;
		b->g->v = xrealloc(b->g->v, b->gcap * sizeof(*b->g->v));
	}
	b->g->v[b->g->n].path = xstrdup(path);
	b->g->v[b->g->n].rights = rights;
	strmap_add_str(&b->index, path, b->g->n, NULL);
	b->g->n++;
	b->touched++;
	return 0;
}

/* Grant every entry of DIR except the denied ones, recursing towards them. */
static int split_dir(struct builder *b, const char *dir, uint64_t rights, int depth)
{
	DIR *dh;
	struct dirent *de;
	int r = 0;

	if (depth > 64) {
		mos_err_set(b->e, "--deny paths nested too deeply below %s", dir);
		return -ELOOP;
	}
	dh = opendir(dir);
	if (!dh) {
		mos_err_set(b->e, "cannot list %s to withhold a denied path in it: %s", dir,
			    strerror(errno));
		return -errno;
	}
	while (r == 0 && (de = readdir(dh)) != NULL) {
		_cleanup_free_ char *child = NULL;
		struct stat st;
		size_t n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		n = strlen(dir) + strlen(de->d_name) + 2;
		child = xmalloc(n);
		snprintf(child, n, "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name);
		if (is_denied(b->split, child))
			continue;
		if (deny_strictly_beneath(b->split, child) &&
		    fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			r = split_dir(b, child, rights, depth + 1);
		else
			r = add_grant(b, child, rights);
	}
	closedir(dh);
	return r;
}

struct allow {
	const char *path; /* as written (normalized) */
	uint32_t access;
	bool optional;
	const char *origin;
	bool device; /* a built-in device: writes need no writable mount */
};

/* "/etc/gshadow, /etc/shadow" for the denied paths beneath DIR (at most a
 * few, in the order of their names, and how many more). */
static void denied_beneath(const struct denies *d, const char *dir, char *out, size_t n)
{
	size_t first, end;

	out[0] = '\0';
	denies_beneath(d, dir, &first, &end);
	for (size_t i = first; i < end && i < first + 4; i++)
		snprintf(out + strlen(out), n - strlen(out), "%s%s", i > first ? ", " : "",
			 d->v[d->sorted[i]]);
	if (end - first > 4)
		snprintf(out + strlen(out), n - strlen(out), " and %zu more", end - first - 4);
}

static int grant_allow(struct builder *b, const struct allow *a, int abi)
{
	_cleanup_free_ char *real = NULL;
	uint64_t rights = landlock_fs_rights(a->access, abi);
	size_t before = b->touched;
	_cleanup_free_ char *key = NULL;
	const char *above;
	bool exists, first_time;
	struct stat st;
	int r;

	r = resolve_real(a->path, &real, &exists);
	if (r < 0 || !exists) {
		if (a->optional)
			return 0;
		mos_err_set(b->e, "%s %s: %s", a->origin, a->path, strerror(r < 0 ? -r : ENOENT));
		return r < 0 ? r : -ENOENT;
	}
	above = denied_above(b->d, real);
	if (above) {
		report_add(b->rep, "  %-9s %s: withheld, it lies beneath denied %s", "none", real,
			   above);
		return 0;
	}
	/* the same grant again changes nothing (and would repeat its report) */
	key = xasprintf("%u:%d:%s", a->access, a->optional | a->device << 1, real);
	strmap_add_str(&b->allowed, key, 0, &first_time);
	if (!first_time)
		return 0;
	if ((a->access & MOS_FS_WRITE) && !a->device && b->view)
		fs_view_add_writable(b->view, real);
	if ((a->access & MOS_FS_EXEC) && b->view)
		fs_view_add_exec(b->view, real);
	if (b->view && deny_strictly_beneath(b->d, real)) {
		char list[512];

		size_t first, end;

		/* Existing denied paths beneath are hidden by mounts (mounts.h). */
		denies_beneath(b->d, real, &first, &end);
		for (size_t i = first; i < end; i++)
			if (access(b->d->v[b->d->sorted[i]], F_OK) == 0)
				fs_view_add_masked(b->view, b->d->v[b->d->sorted[i]]);
		denied_beneath(b->d, real, list, sizeof(list));
		if (!deny_strictly_beneath(b->split, real)) {
			r = add_grant(b, real, rights);
			if (r == 0)
				report_add(b->rep, "  %-9s %s except %s (hidden by empty mounts)",
					   policy_access_name(a->access), real, list);
			return r;
		}
	}
	if (deny_strictly_beneath(b->split, real) && stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
		char list[512];

		r = split_dir(b, real, rights, 0);
		if (r == -EACCES && a->optional) {
			/*
			 * --system inside another sandbox: /etc cannot be listed,
			 * so it cannot be split around its secrets.  Grants made so
			 * far never cover a denied path; the rest is withheld.
			 */
			report_add(b->rep,
				   "  %-9s %s: withheld, it cannot be listed to "
				   "leave out its denied entries",
				   "none", real);
			return 0;
		}
		if (r < 0)
			return r;
		denied_beneath(b->d, real, list, sizeof(list));
		report_add(b->rep,
			   "  %-9s %s except %s (entries granted one by one: %zu; "
			   "the directories on the way to a %sdenied path cannot be "
			   "listed or gain new entries)",
			   policy_access_name(a->access), real, list, b->touched - before,
			   b->view ? "not yet existing " : "");
		return 0;
	}
	r = add_grant(b, real, rights);
	if (r < 0 || (a->optional && b->touched == before))
		return r;
	report_add(b->rep, "  %-9s %s%s%s%s", policy_access_name(a->access), real,
		   strcmp(real, a->path) ? " (" : "", strcmp(real, a->path) ? a->path : "",
		   strcmp(real, a->path) ? ")" : "");
	return r;
}

void landlock_grants_free(struct landlock_grants *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i].path);
	free(g->v);
	g->v = NULL;
	g->n = 0;
	strv_free(g->denied);
	g->denied = NULL;
	g->ndenied = 0;
}

int landlock_grants_build(const struct mos_policy *p, int abi, struct mos_fs_view *view,
			  struct landlock_grants *g, struct mos_report *rep, struct mos_err *e)
{
	struct denies d = { 0 }, split = { 0 };
	struct builder b = { .g = g, .rep = rep, .e = e, .d = &d, .split = &split, .view = view };
	struct allow *allows = NULL;
	size_t nallows = 0, cap = 0;
	int r = 0;

	memset(g, 0, sizeof(*g));
#define PUSH_ALLOW(p_, acc_, opt_, orig_)                                           \
	do {                                                                        \
		if (nallows == cap) {                                               \
			cap = cap ? 2 * cap : 64;                                   \
			allows = xrealloc(allows, cap * sizeof(*allows));           \
		}                                                                   \
		allows[nallows++] = (struct allow){ (p_), (acc_), (opt_), (orig_),  \
						    !strcmp((orig_), "built-in") }; \
	} while (0)

	for (size_t i = 0; i < p->nfs; i++) {
		const struct mos_fs_rule *fr = &p->fs[i];

		if (fr->deny) {
			char *real;
			bool exists;

			struct stat st;

			r = resolve_real(fr->path, &real, &exists);
			if (r < 0) {
				mos_err_set(e, "%s %s: %s", fr->origin.text, fr->path,
					    strerror(-r));
				goto out;
			}
			/* Landlock denies by path: other names of the inode stay open. */
			if (exists && stat(real, &st) == 0 && S_ISREG(st.st_mode) &&
			    st.st_nlink > 1)
				report_add(rep,
					   "  note: %s %s has %ju hard links; a deny is by "
					   "path, so its other names stay reachable where "
					   "an allowed tree contains them",
					   fr->origin.text, real, (uintmax_t)st.st_nlink);
			strv_push(&d.v, &d.n, real);
		} else {
			PUSH_ALLOW(fr->path, fr->access, fr->optional, fr->origin.text);
		}
	}
	if (p->fs_system) {
		for (const char *const *s = mos_system_read_paths; *s; s++)
			PUSH_ALLOW(*s, MOS_FS_READ | MOS_FS_EXEC, true, "--system");
		for (const char *const *s = mos_system_deny_paths; *s; s++) {
			char *real;
			bool exists;

			/*
			 * A secret that does not exist cannot appear: /etc is
			 * read-only.  One we cannot even look at (an outer
			 * sandbox hides it) is denied by its name.
			 */
			if (resolve_real(*s, &real, &exists) < 0)
				strv_push(&d.v, &d.n, xstrdup(*s));
			else if (exists)
				strv_push(&d.v, &d.n, real);
			else
				free(real);
		}
	}
	for (const char *const *s = mos_always_rw_devices; *s; s++)
		PUSH_ALLOW(*s, MOS_FS_READ | MOS_FS_WRITE, true, "built-in");
	for (const char *const *s = mos_always_ro_devices; *s; s++)
		PUSH_ALLOW(*s, MOS_FS_READ, true, "built-in");
#undef PUSH_ALLOW

	/*
	 * With a mount namespace only denies that do not exist yet need
	 * splitting (there is nothing to mount over); without one, all do.
	 */
	for (size_t i = 0; i < d.n; i++)
		if (!view || access(d.v[i], F_OK) != 0)
			strv_push(&split.v, &split.n, xstrdup(d.v[i]));
	denies_index(&d);
	denies_index(&split);
	for (size_t i = 0; i < nallows && r == 0; i++)
		r = grant_allow(&b, &allows[i], abi);
	for (size_t i = 0; i < d.n; i++)
		strv_push(&g->denied, &g->ndenied, xstrdup(d.v[i]));
out:
	free(allows);
	denies_free(&d);
	denies_free(&split);
	strmap_free(&b.index);
	strmap_free(&b.allowed);
	if (r < 0)
		landlock_grants_free(g);
	return r;
}

/* ---- the ruleset -------------------------------------------------------- */

static void push_net_rule(struct landlock_rules *lr, uint64_t access, uint16_t port)
{
	lr->net = xrealloc(lr->net, (lr->nnet + 1) * sizeof(*lr->net));
	lr->net[lr->nnet++] =
		(struct mos_landlock_net_port_attr){ .allowed_access = access, .port = port };
}

/* Landlock's TCP port rules; for a rule with a host, the addresses NET
 * resolved it to go in the report, next to who checks them. */
static int add_net_rules(const struct mos_policy *p, const struct mos_net_rules *net,
			 struct landlock_rules *lr, const char *hosts_by, struct mos_report *rep,
			 struct mos_err *e)
{
	for (size_t i = 0; i < p->nnet_allow; i++) {
		const struct mos_net_rule *nr = &p->net_allow[i];

		if (nr->host) {
			char ports[MOS_NET_MAX_PORTS * 7] = "";

			if (!net || !net->built || net->policy != p) {
				mos_err_set(e, "%s %s: its host was not resolved", nr->origin.text,
					    nr->host);
				return -EINVAL;
			}
			for (size_t j = 0; j < nr->nports; j++)
				snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports),
					 "%s%u", j ? "," : "", nr->ports[j]);
			mos_net_rules_report_host(net, i, rep);
			if (hosts_by)
				report_add(rep,
					   "%s: Landlock allows port %s; %s allows only %s's "
					   "addresses",
					   nr->origin.text, ports, hosts_by, nr->host);
			else
				report_weak(rep,
					    "%s: Landlock filters TCP by port only, so the "
					    "sandbox could reach port %s on any host, not only %s "
					    "(the unotify and bpf backends restrict hosts; use "
					    "':%s' to allow the port on every host)",
					    nr->origin.text, ports, nr->host, ports);
		}
		for (size_t j = 0; j < nr->nports; j++)
			push_net_rule(lr, LANDLOCK_ACCESS_NET_CONNECT_TCP, nr->ports[j]);
	}
	for (size_t i = 0; i < p->nnet_bind; i++)
		push_net_rule(lr, LANDLOCK_ACCESS_NET_BIND_TCP, p->net_bind[i]);
	return 0;
}

/*
 * Before ABI 3 Landlock cannot refuse truncate(2).  With the sandbox's own
 * mount namespace everything outside the writable trees is read-only, so
 * only a read-only rule nested in a writable tree is left open.
 */
static void truncate_before_abi3(const struct mos_policy *p, bool with_mounts,
				 struct mos_report *rep)
{
	struct strmap writable = { 0 };

	if (!with_mounts) {
		report_weak(rep, "truncate(2) cannot be restricted before Landlock ABI 3 "
				 "(Linux 6.2): any file the caller may write could be "
				 "truncated");
		return;
	}
	/* the write trees by path, then each read rule's ancestors: linear */
	for (size_t i = 0; i < p->nfs; i++)
		if (!p->fs[i].deny && (p->fs[i].access & MOS_FS_WRITE))
			strmap_add_str(&writable, p->fs[i].path, i, NULL);
	for (size_t i = 0; writable.n && i < p->nfs; i++) {
		const struct mos_fs_rule *ro = &p->fs[i];
		_cleanup_free_ char *up = NULL;

		if (ro->deny || (ro->access & MOS_FS_WRITE))
			continue;
		up = xstrdup(ro->path);
		for (;;) {
			size_t *w = strmap_find_str(&writable, *up ? up : "/");
			char *slash;

			if (w) {
				report_weak(rep,
					    "%s %s: read-only inside the writable %s, but "
					    "truncate(2) cannot be refused there before "
					    "Landlock ABI 3 (Linux 6.2)",
					    ro->origin.text, ro->path, p->fs[*w].path);
				strmap_free(&writable);
				return;
			}
			slash = strrchr(up, '/');
			if (!slash || !*up)
				break;
			*slash = '\0';
		}
	}
	strmap_free(&writable);
	report_add(rep, "  truncate(2): Landlock ABI < 3 cannot refuse it; the read-only "
			"mounts outside the writable paths do");
}

bool landlock_grants_reach_proc(const struct landlock_grants *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (path_is_beneath("/proc", g->v[i].path) ||
		    path_is_beneath(g->v[i].path, "/proc"))
			return true;
	return false;
}

/* Whether the grants reach /proc, and the grants beneath it, to be added
 * again on the sandbox's own /proc. */
static void note_proc(struct landlock_plan *lp, const struct landlock_grants *g)
{
	lp->proc_visible = landlock_grants_reach_proc(g);
	for (size_t i = 0; i < g->n; i++) {
		if (path_is_beneath(g->v[i].path, "/proc")) {
			struct landlock_grants *pg = &lp->proc_grants;

			pg->v = xrealloc(pg->v, (pg->n + 1) * sizeof(*pg->v));
			pg->v[pg->n].path = xstrdup(g->v[i].path);
			pg->v[pg->n++].rights = g->v[i].rights & lp->handled_fs;
		}
	}
}

void landlock_rules_free(struct landlock_rules *lr)
{
	landlock_grants_free(&lr->fs);
	free(lr->net);
	lr->net = NULL;
	lr->nnet = 0;
}

/* The attributes of a ruleset at ABI (>= 1), in LR and LP. */
static void ruleset_attr(int abi, struct landlock_plan *lp, struct landlock_rules *lr)
{
	lp->handled_fs = lr->attr.handled_access_fs = landlock_handled_fs(abi);
	lr->attr_size = sizeof(lr->attr.handled_access_fs);
	if (abi >= 4) {
		lp->handled_net = lr->attr.handled_access_net =
			LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
		lr->attr_size = offsetof(struct mos_landlock_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		lp->scoped = lr->attr.scoped =
			LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
		lr->attr_size = sizeof(lr->attr);
	}
}

/* The report and the rules that follow the file grants (in LR->fs). */
static int rules_after_grants(const struct mos_policy *p, int abi, bool with_mounts,
			      const char *hosts_by, const struct mos_net_rules *net,
			      struct landlock_plan *lp, struct landlock_rules *lr,
			      struct mos_report *rep, struct mos_err *e)
{
	bool net_rules = p->nnet_allow || p->nnet_bind;
	int r;

	lp->nfs_rules = lr->fs.n;
	note_proc(lp, &lr->fs);

	if (abi < 3)
		truncate_before_abi3(p, with_mounts, rep);
	if (abi < 2)
		report_add(rep, "  Landlock ABI 1: no file may be moved or linked into another "
				"directory, even within a writable tree");
	if (abi < 5)
		report_add(rep, "  ioctl on devices is not filtered (needs Landlock ABI 5)");

	if (abi >= 4) {
		r = add_net_rules(p, net, lr, hosts_by, rep, e);
		if (r < 0)
			return r;
		lp->nnet_rules = lr->nnet;
		char conn[256] = "", bind[256] = "";

		for (size_t i = 0; i < p->nnet_allow; i++)
			for (size_t j = 0; j < p->net_allow[i].nports; j++)
				snprintf(conn + strlen(conn), sizeof(conn) - strlen(conn), " %u",
					 p->net_allow[i].ports[j]);
		for (size_t i = 0; i < p->nnet_bind; i++)
			snprintf(bind + strlen(bind), sizeof(bind) - strlen(bind), " %u",
				 p->net_bind[i]);
		report_add(rep,
			   "Landlock: TCP connect to ports:%s; bind to ports:%s; any "
			   "other TCP connect or bind fails with EACCES",
			   *conn ? conn : " none", *bind ? bind : " none");
	} else if (net_rules && hosts_by) {
		report_add(rep,
			   "TCP rules: enforced by %s alone (Landlock ABI %d has no network rules)",
			   hosts_by, abi);
	} else if (net_rules) {
		report_weak(rep,
			    "TCP port rules need Landlock ABI 4 (Linux 6.7); this "
			    "kernel has ABI %d, so TCP could not be filtered by port",
			    abi);
	}
	if (abi >= 6)
		report_add(rep, "Landlock: signals and abstract unix sockets scoped to "
				"the sandbox");
	return 0;
}

/* ABI 0: nothing to compile; say what that leaves unenforced. */
static void without_landlock(const struct mos_policy *p, struct mos_report *rep)
{
	report_weak(rep, "file rules: Landlock is unavailable on this kernel, so "
			 "no file access would be restricted");
	if (p->nnet_allow || p->nnet_bind)
		report_weak(rep, "network port rules: Landlock is unavailable");
}

int landlock_rules_build(const struct mos_policy *p, int abi, const char *hosts_by,
			 const struct mos_net_rules *net, struct landlock_plan *lp,
			 struct landlock_rules *lr, struct mos_report *rep, struct mos_err *e)
{
	int r;

	memset(lp, 0, sizeof(*lp));
	memset(lr, 0, sizeof(*lr));
	lp->ruleset_fd = -1;
	lp->abi = abi;
	if (abi < 1) {
		without_landlock(p, rep);
		return 0;
	}
	ruleset_attr(abi, lp, lr);
	report_add(rep, "Landlock ABI %d: file access beneath these paths only:", abi);
	r = landlock_grants_build(p, abi, NULL, &lr->fs, rep, e);
	if (r == 0)
		r = rules_after_grants(p, abi, false, hosts_by, net, lp, lr, rep, e);
	if (r < 0) {
		landlock_rules_free(lr);
		landlock_plan_release(lp);
	}
	return r;
}

/* Create LP's ruleset from LR: its file rules with RIGHTS masked to what
 * the ruleset handles, its port rules. */
static int make_ruleset(struct landlock_plan *lp, const struct landlock_rules *lr,
			struct mos_err *e)
{
	int err;

	lp->ruleset_fd = mos_landlock_create_ruleset(&lr->attr, lr->attr_size, 0);
	if (lp->ruleset_fd < 0) {
		err = errno;
		mos_err_set(e, "cannot create a Landlock ruleset (ABI %d): %s", lp->abi,
			    strerror(err));
		return -err;
	}
	for (size_t i = 0; i < lr->fs.n; i++) {
		_cleanup_close_ int fd = open(lr->fs.v[i].path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct landlock_path_beneath_attr pb = {
			.allowed_access = lr->fs.v[i].rights & lp->handled_fs,
			.parent_fd = fd,
		};

		if (fd < 0 ||
		    mos_landlock_add_rule(lp->ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
			err = errno;
			mos_err_set(e, "Landlock rule for %s: %s", lr->fs.v[i].path, strerror(err));
			return -err;
		}
	}
	for (size_t i = 0; i < lr->nnet; i++) {
		if (mos_landlock_add_rule(lp->ruleset_fd, MOS_LANDLOCK_RULE_NET_PORT, &lr->net[i],
					  0) < 0) {
			err = errno;
			mos_err_set(e, "Landlock rule for TCP port %llu: %s",
				    (unsigned long long)lr->net[i].port, strerror(err));
			return -err;
		}
	}
	return 0;
}

int landlock_compile(const struct mos_policy *p, int abi, const char *hosts_by,
		     const struct mos_net_rules *net, struct landlock_plan *lp,
		     struct mos_report *rep, struct mos_err *e)
{
	struct landlock_rules lr;
	int r = landlock_rules_build(p, abi, hosts_by, net, lp, &lr, rep, e);

	if (r < 0 || abi < 1)
		return r;
	r = make_ruleset(lp, &lr, e);
	landlock_rules_free(&lr);
	if (r < 0)
		landlock_plan_release(lp);
	return r;
}

int landlock_compile_grants(const struct mos_policy *p, const struct landlock_grants *g,
			    const struct mos_report *grant_lines, int abi, const char *hosts_by,
			    const struct mos_net_rules *net, struct landlock_plan *lp,
			    struct mos_report *rep, struct mos_err *e)
{
	struct landlock_rules lr = { 0 };
	int r;

	memset(lp, 0, sizeof(*lp));
	lp->ruleset_fd = -1;
	lp->abi = abi;
	if (abi < 1) {
		without_landlock(p, rep);
		return 0;
	}
	ruleset_attr(abi, lp, &lr);
	report_add(rep, "Landlock ABI %d: file access beneath these paths only:", abi);
	report_append(rep, grant_lines);
	/* The grants are borrowed: LR's copy of the list is not freed here. */
	lr.fs = *g;
	r = rules_after_grants(p, abi, true, hosts_by, net, lp, &lr, rep, e);
	if (r == 0)
		r = make_ruleset(lp, &lr, e);
	free(lr.net);
	if (r < 0)
		landlock_plan_release(lp);
	return r;
}

int landlock_compile_scope(int abi, struct landlock_plan *lp, struct mos_report *rep,
			   struct mos_err *e)
{
	struct mos_landlock_ruleset_attr attr = {
		.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL,
	};

	memset(lp, 0, sizeof(*lp));
	lp->ruleset_fd = -1;
	if (abi < 6)
		return 0;
	lp->ruleset_fd = mos_landlock_create_ruleset(&attr, sizeof(attr), 0);
	if (lp->ruleset_fd < 0) {
		int err = errno;

		mos_err_set(e, "Landlock ruleset for abstract unix socket scoping: %s",
			    strerror(err));
		return -err;
	}
	lp->abi = abi;
	lp->scoped = attr.scoped;
	report_add(rep,
		   "Landlock ABI %d: signals and abstract unix sockets scoped to "
		   "the sandbox (no file or network rules: the BPF LSM has those)",
		   abi);
	return 0;
}

int landlock_enforce(const struct landlock_plan *lp)
{
	if (lp->ruleset_fd < 0)
		return 0;
	if (mos_landlock_restrict_self(lp->ruleset_fd, 0) < 0)
		return -errno;
	return 0;
}

int landlock_add_proc_rules(const struct landlock_plan *lp)
{
	for (size_t i = 0; i < lp->proc_grants.n; i++) {
		const struct landlock_grant *g = &lp->proc_grants.v[i];
		_cleanup_close_ int fd = open(g->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct landlock_path_beneath_attr pb = { .allowed_access = g->rights,
							 .parent_fd = fd };

		/* A per-process path of the caller's pid namespace has no twin here. */
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 ||
		    mos_landlock_add_rule(lp->ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			return -errno;
	}
	return 0;
}

void landlock_plan_release(struct landlock_plan *lp)
{
	closep(&lp->ruleset_fd);
	lp->ruleset_fd = -1;
	landlock_grants_free(&lp->proc_grants);
}
