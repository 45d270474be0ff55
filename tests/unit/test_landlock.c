// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_landlock.c - Landlock rights per ABI, and the grants a policy compiles
 * to (landlock_grants_build) on a temporary directory tree: splitting around
 * --deny, file-only rights on files, symlinks, missing paths, duplicates.
 * No ruleset is created and nothing is restricted.
 *
 *   ROOT/a/b/secret/file
 *   ROOT/a/b/keep          (file)
 *   ROOT/a/c/              (empty directory)
 *   ROOT/d                 (file)
 *   ROOT/link -> a         (symlink)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "landlock.h"
#include "landlock_compat.h"
#include "util.h"

#define LL(x) LANDLOCK_ACCESS_FS_##x

#define RX_DIR (LL(READ_FILE) | LL(READ_DIR) | LL(EXECUTE))
#define RX_FILE (LL(READ_FILE) | LL(EXECUTE))
/* what -w grants on a file at ABI 7 */
#define W_FILE7 (LL(EXECUTE) | LL(WRITE_FILE) | LL(READ_FILE) | LL(TRUNCATE) | LL(IOCTL_DEV))
#define ALL_ABI1 ((LL(MAKE_SYM) << 1) - 1)
#define DIR_ONLY                                                                          \
	(LL(READ_DIR) | LL(REMOVE_DIR) | LL(REMOVE_FILE) | LL(MAKE_CHAR) | LL(MAKE_DIR) | \
	 LL(MAKE_REG) | LL(MAKE_SOCK) | LL(MAKE_FIFO) | LL(MAKE_BLOCK) | LL(MAKE_SYM) | LL(REFER))

static char root[PATH_MAX];

static void mkfile(const char *rel)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void mkdir_rel(const char *rel)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/mos-landlock-XXXXXX";
	char p[PATH_MAX + 64];

	(void)state;
	if (!mkdtemp(tmpl) || !realpath(tmpl, root))
		return -1;
	mkdir_rel("a");
	mkdir_rel("a/b");
	mkdir_rel("a/b/secret");
	mkfile("a/b/secret/file");
	mkfile("a/b/keep");
	mkdir_rel("a/c");
	mkfile("d");
	snprintf(p, sizeof(p), "%s/link", root);
	return symlink("a", p);
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- rights per ABI ---------------------------------------------------------- */

static void test_handled_per_abi(void **state)
{
	(void)state;
	assert_int_equal(landlock_handled_fs(0), 0);
	assert_int_equal(landlock_handled_fs(-1), 0);
	assert_int_equal(landlock_handled_fs(1), ALL_ABI1);
	assert_int_equal(landlock_handled_fs(1) & (LL(REFER) | LL(TRUNCATE) | LL(IOCTL_DEV)), 0);
	assert_int_equal(landlock_handled_fs(2), ALL_ABI1 | LL(REFER));
	assert_int_equal(landlock_handled_fs(3), ALL_ABI1 | LL(REFER) | LL(TRUNCATE));
	assert_int_equal(landlock_handled_fs(4), landlock_handled_fs(3));
	assert_int_equal(landlock_handled_fs(5),
			 ALL_ABI1 | LL(REFER) | LL(TRUNCATE) | LL(IOCTL_DEV));
	assert_int_equal(landlock_handled_fs(6), landlock_handled_fs(5));
	assert_int_equal(landlock_handled_fs(7), landlock_handled_fs(5));
	assert_int_equal(landlock_handled_fs(7), 0xffff);
	/* a newer kernel than this code knows: what it knows */
	assert_int_equal(landlock_handled_fs(42), landlock_handled_fs(7));
}

static void test_rights_per_abi(void **state)
{
	(void)state;
	for (int abi = 0; abi <= 8; abi++) {
		uint64_t h = landlock_handled_fs(abi);
		uint64_t r = landlock_fs_rights(MOS_FS_READ, abi);
		uint64_t x = landlock_fs_rights(MOS_FS_EXEC, abi);
		uint64_t w = landlock_fs_rights(MOS_FS_WRITE, abi);
		uint64_t all = landlock_fs_rights(MOS_FS_ALL, abi);

		if (abi == 0) {
			assert_int_equal(r | x | w | all, 0);
			continue;
		}
		assert_int_equal(r, LL(READ_FILE) | LL(READ_DIR));
		assert_int_equal(x, LL(EXECUTE));
		assert_int_equal(all, r | x | w);
		assert_int_equal(all & ~h, 0);
		/* write never implies read or exec */
		assert_int_equal(w & (LL(READ_FILE) | LL(READ_DIR) | LL(EXECUTE)), 0);
		/* read+exec+write is everything the ABI handles */
		assert_int_equal(all, h);
		assert_int_equal(!!(w & LL(REFER)), abi >= 2);
		assert_int_equal(!!(w & LL(TRUNCATE)), abi >= 3);
		assert_int_equal(!!(w & LL(IOCTL_DEV)), abi >= 5);
		assert_int_equal(w & (LL(WRITE_FILE) | LL(MAKE_REG) | LL(MAKE_DIR) |
				      LL(REMOVE_FILE) | LL(REMOVE_DIR) | LL(MAKE_SYM)),
				 LL(WRITE_FILE) | LL(MAKE_REG) | LL(MAKE_DIR) | LL(REMOVE_FILE) |
					 LL(REMOVE_DIR) | LL(MAKE_SYM));
	}
	assert_int_equal(landlock_fs_rights(0, 7), 0);
	assert_int_equal(landlock_fs_rights(MOS_FS_READ | MOS_FS_EXEC, 7), RX_DIR);
}

/* ---- grants ------------------------------------------------------------------- */

struct want {
	const char *rel; /* "" for ROOT itself */
	uint64_t rights;
};

struct rule {
	const char *rel; /* relative to ROOT; NULL ends */
	uint32_t access;
	bool deny;
};

static int build(const struct rule *rules, int abi, struct landlock_grants *g,
		 struct mos_report *rep, struct mos_err *e)
{
	struct mos_policy p;
	int r;

	policy_init(&p);
	for (const struct rule *ru = rules; ru->rel; ru++) {
		char path[PATH_MAX + 64];
		const char *origin = ru->deny			   ? "--deny"
				     : (ru->access & MOS_FS_WRITE) ? "--write"
								   : "--read";

		snprintf(path, sizeof(path), "%s%s%s", root, *ru->rel ? "/" : "", ru->rel);
		assert_int_equal(policy_add_fs(&p, NULL, path, ru->access, ru->deny, origin, e), 0);
	}
	r = landlock_grants_build(&p, abi, NULL, g, rep, e);
	policy_free(&p);
	return r;
}

static const char *rel_of(const char *path)
{
	size_t n = strlen(root);

	if (!path_is_beneath(path, root))
		return NULL;
	return path[n] ? path + n + 1 : "";
}

/* The grants beneath ROOT are exactly WANT (in any order). */
static void expect_grants(const struct rule *rules, int abi, const struct want *want)
{
	struct landlock_grants g;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };
	size_t nwant = 0, seen = 0;
	int r;

	for (const struct want *w = want; w->rel; w++)
		nwant++;
	r = build(rules, abi, &g, &rep, &e);
	if (r != 0)
		fail_msg("landlock_grants_build: %d %s", r, e.msg);
	for (size_t i = 0; i < g.n; i++) {
		const char *rel = rel_of(g.v[i].path);
		bool found = false;

		if (!rel)
			continue;
		seen++;
		for (const struct want *w = want; w->rel; w++) {
			if (strcmp(w->rel, rel))
				continue;
			found = true;
			if (g.v[i].rights != w->rights)
				fail_msg("grant \"%s\": rights 0x%llx, expected 0x%llx", rel,
					 (unsigned long long)g.v[i].rights,
					 (unsigned long long)w->rights);
		}
		if (!found)
			fail_msg("unexpected grant \"%s\" (rights 0x%llx)", rel,
				 (unsigned long long)g.v[i].rights);
	}
	if (seen != nwant) {
		for (size_t i = 0; i < g.n; i++)
			print_message("#   grant %s 0x%llx\n", g.v[i].path,
				      (unsigned long long)g.v[i].rights);
		fail_msg("%zu grants beneath the tree, expected %zu", seen, nwant);
	}
	landlock_grants_free(&g);
	assert_null(g.v);
	assert_int_equal(g.n, 0);
	report_free(&rep);
}

#define RX (MOS_FS_READ | MOS_FS_EXEC)

static void test_plain_read(void **state)
{
	static const struct rule rules[] = { { "", RX, false }, { NULL, 0, false } };
	static const struct want want[] = { { "", RX_DIR }, { NULL, 0 } };

	(void)state;
	expect_grants(rules, 7, want);
}

static void test_deny_splits(void **state)
{
	/* every sibling on the way down; not ROOT, a, a/b, the denied path, or
	 * the symlink */
	static const struct rule rules[] = { { "", RX, false },
					     { "a/b/secret", 0, true },
					     { NULL, 0, false } };
	static const struct want want[] = {
		{ "a/b/keep", RX_FILE }, { "a/c", RX_DIR }, { "d", RX_FILE }, { NULL, 0 }
	};

	(void)state;
	expect_grants(rules, 7, want);
}

/*
 * With a mount namespace (a view), an existing denied path is hidden by a
 * mount instead: the tree is granted whole, the path is listed as masked,
 * and writable trees are listed for their bind mounts.  A denied path that
 * does not exist yet still splits.
 */
static void build_view(const struct rule *rules, struct mos_fs_view *v, struct landlock_grants *g)
{
	struct mos_policy p;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };

	policy_init(&p);
	for (const struct rule *ru = rules; ru->rel; ru++) {
		char path[PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s%s%s", root, *ru->rel ? "/" : "", ru->rel);
		assert_int_equal(policy_add_fs(&p, NULL, path, ru->access, ru->deny, "--x", &e), 0);
	}
	memset(v, 0, sizeof(*v));
	if (landlock_grants_build(&p, 7, v, g, &rep, &e) != 0)
		fail_msg("landlock_grants_build: %s", e.msg);
	report_free(&rep);
	policy_free(&p);
}

static bool has(char *const *v, size_t n, const char *rel)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], path))
			return true;
	return false;
}

static void test_view_masks_existing_denies(void **state)
{
	static const struct rule rules[] = { { "", MOS_FS_ALL, false },
					     { "a/b/secret", 0, true },
					     { "a/c", 0, true },
					     { "later", 0, true },
					     { NULL, 0, false } };
	struct landlock_grants g;
	struct mos_fs_view v;
	bool root_granted = false;

	(void)state;
	build_view(rules, &v, &g);
	assert_true(has(v.masked, v.nmasked, "a/b/secret"));
	assert_true(has(v.masked, v.nmasked, "a/c"));
	assert_false(has(v.masked, v.nmasked, "later")); /* does not exist: split */
	assert_int_equal(v.nmasked, 2);
	assert_true(has(v.writable, v.nwritable, ""));
	assert_int_equal(v.nwritable, 1);
	/* "later" does not exist, so ROOT is split around it, not granted whole */
	for (size_t i = 0; i < g.n; i++)
		if (!strcmp(g.v[i].path, root))
			root_granted = true;
	assert_false(root_granted);
	landlock_grants_free(&g);
	fs_view_free(&v);
}

static void test_view_grants_whole_tree(void **state)
{
	static const struct rule rules[] = { { "", RX, false },
					     { "a/b/secret", 0, true },
					     { NULL, 0, false } };
	struct landlock_grants g;
	struct mos_fs_view v;
	size_t beneath = 0;

	(void)state;
	build_view(rules, &v, &g);
	for (size_t i = 0; i < g.n; i++) {
		if (!path_is_beneath(g.v[i].path, root))
			continue;
		beneath++;
		assert_string_equal(g.v[i].path, root);
		assert_int_equal(g.v[i].rights, RX_DIR);
	}
	assert_int_equal(beneath, 1);
	assert_true(has(v.masked, v.nmasked, "a/b/secret"));
	assert_int_equal(v.nwritable, 0); /* read-only rules need no bind mount */
	landlock_grants_free(&g);
	fs_view_free(&v);
}

static void test_deny_splits_write(void **state)
{
	static const struct rule rules[] = { { "", MOS_FS_ALL, false },
					     { "a/b/secret", 0, true },
					     { NULL, 0, false } };
	static const struct want want[] = {
		{ "a/b/keep", W_FILE7 }, { "a/c", 0xffff }, { "d", W_FILE7 }, { NULL, 0 }
	};

	(void)state;
	expect_grants(rules, 7, want);
}

static void test_deny_file(void **state)
{
	static const struct rule rules[] = { { "", RX, false },
					     { "a/b/keep", 0, true },
					     { NULL, 0, false } };
	static const struct want want[] = {
		{ "a/b/secret", RX_DIR }, { "a/c", RX_DIR }, { "d", RX_FILE }, { NULL, 0 }
	};

	(void)state;
	expect_grants(rules, 7, want);
}

static void test_deny_missing_still_splits(void **state)
{
	static const struct rule rules[] = { { "", RX, false },
					     { "a/not-there", 0, true },
					     { NULL, 0, false } };
	static const struct want want[] = {
		{ "a/b", RX_DIR }, { "a/c", RX_DIR }, { "d", RX_FILE }, { NULL, 0 }
	};
	/* two missing levels: ROOT itself is split */
	static const struct rule rules2[] = { { "", RX, false },
					      { "zz/yy", 0, true },
					      { NULL, 0, false } };
	static const struct want want2[] = { { "a", RX_DIR }, { "d", RX_FILE }, { NULL, 0 } };

	(void)state;
	expect_grants(rules, 7, want);
	expect_grants(rules2, 7, want2);
}

static void test_two_denies(void **state)
{
	static const struct rule rules[] = {
		{ "", RX, false }, { "a/b/secret", 0, true }, { "a/c", 0, true }, { NULL, 0, false }
	};
	static const struct want want[] = { { "a/b/keep", RX_FILE },
					    { "d", RX_FILE },
					    { NULL, 0 } };

	(void)state;
	expect_grants(rules, 7, want);
}

static void test_deny_through_symlink(void **state)
{
	/* ROOT/link/b/secret is ROOT/a/b/secret */
	static const struct rule rules[] = { { "", RX, false },
					     { "link/b/secret", 0, true },
					     { NULL, 0, false } };
	static const struct want want[] = {
		{ "a/b/keep", RX_FILE }, { "a/c", RX_DIR }, { "d", RX_FILE }, { NULL, 0 }
	};

	(void)state;
	expect_grants(rules, 7, want);
}

static void test_deny_above_allow(void **state)
{
	static const struct rule rules[] = { { "a", 0, true },
					     { "a/b", MOS_FS_ALL, false },
					     { "a", RX, false },
					     { "link/c", RX, false },
					     { NULL, 0, false } };
	static const struct want none[] = { { NULL, 0 } };
	static const struct rule same[] = { { "d", RX, false },
					    { "d", 0, true },
					    { NULL, 0, false } };
	struct landlock_grants g;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };
	bool said = false;

	(void)state;
	expect_grants(rules, 7, none);
	expect_grants(same, 7, none);
	/* ...and the report says why */
	assert_int_equal(build(rules, 7, &g, &rep, &e), 0);
	for (size_t i = 0; i < rep.nlines; i++)
		said |= strstr(rep.lines[i], "withheld") != NULL;
	assert_true(said);
	landlock_grants_free(&g);
	report_free(&rep);
}

static void test_file_rights(void **state)
{
	static const struct rule rules[] = { { "d", MOS_FS_ALL, false },
					     { "a/b/keep", RX, false },
					     { "a/c", MOS_FS_ALL, false },
					     { NULL, 0, false } };
	static const struct want want[] = {
		{ "d", W_FILE7 }, { "a/b/keep", RX_FILE }, { "a/c", 0xffff }, { NULL, 0 }
	};
	struct landlock_grants g;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };

	(void)state;
	expect_grants(rules, 7, want);
	/* no directory-only right on any file, at any ABI */
	for (int abi = 1; abi <= 7; abi++) {
		assert_int_equal(build(rules, abi, &g, &rep, &e), 0);
		for (size_t i = 0; i < g.n; i++) {
			struct stat st;

			assert_int_equal(lstat(g.v[i].path, &st), 0);
			if (!S_ISDIR(st.st_mode) && (g.v[i].rights & DIR_ONLY))
				fail_msg("ABI %d: file %s granted 0x%llx", abi, g.v[i].path,
					 (unsigned long long)g.v[i].rights);
			assert_int_equal(g.v[i].rights & ~landlock_handled_fs(abi), 0);
		}
		landlock_grants_free(&g);
		report_free(&rep);
	}
}

static void test_abi_masking(void **state)
{
	static const struct rule rules[] = { { "d", MOS_FS_ALL, false },
					     { "a/c", MOS_FS_ALL, false },
					     { NULL, 0, false } };
	static const struct want abi1[] = { { "d", LL(EXECUTE) | LL(WRITE_FILE) | LL(READ_FILE) },
					    { "a/c", ALL_ABI1 },
					    { NULL, 0 } };
	static const struct want abi2[] = { { "d", LL(EXECUTE) | LL(WRITE_FILE) | LL(READ_FILE) },
					    { "a/c", ALL_ABI1 | LL(REFER) },
					    { NULL, 0 } };
	static const struct want abi3[] = { { "d", LL(EXECUTE) | LL(WRITE_FILE) | LL(READ_FILE) |
							   LL(TRUNCATE) },
					    { "a/c", ALL_ABI1 | LL(REFER) | LL(TRUNCATE) },
					    { NULL, 0 } };
	static const struct want abi5[] = { { "d", W_FILE7 }, { "a/c", 0xffff }, { NULL, 0 } };

	(void)state;
	expect_grants(rules, 1, abi1);
	expect_grants(rules, 2, abi2);
	expect_grants(rules, 3, abi3);
	expect_grants(rules, 4, abi3);
	expect_grants(rules, 5, abi5);
	expect_grants(rules, 6, abi5);
}

static void test_symlinks(void **state)
{
	/* a rule on a symlink grants its target, never the link */
	static const struct rule rules[] = { { "link", RX, false }, { NULL, 0, false } };
	static const struct want want[] = { { "a", RX_DIR }, { NULL, 0 } };
	/* splitting a directory skips the symlinks in it */
	static const struct rule split[] = { { "", RX, false },
					     { "a", 0, true },
					     { NULL, 0, false } };
	static const struct want want_split[] = { { "d", RX_FILE }, { NULL, 0 } };

	(void)state;
	expect_grants(rules, 7, want);
	expect_grants(split, 7, want_split);
}

static void test_missing_path(void **state)
{
	static const struct rule rules[] = { { "a", RX, false },
					     { "missing", MOS_FS_ALL, false },
					     { NULL, 0, false } };
	static const struct rule under_file[] = { { "d/x", RX, false }, { NULL, 0, false } };
	struct landlock_grants g;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };
	char want[PATH_MAX + 32];

	(void)state;
	assert_int_equal(build(rules, 7, &g, &rep, &e), -ENOENT);
	snprintf(want, sizeof(want), "%s/missing", root);
	if (!strstr(e.msg, want) || !strstr(e.msg, "--write"))
		fail_msg("message \"%s\" should name --write and %s", e.msg, want);
	assert_int_equal(g.n, 0);
	assert_null(g.v);
	report_free(&rep);

	e.msg[0] = '\0';
	assert_true(build(under_file, 7, &g, &rep, &e) < 0);
	snprintf(want, sizeof(want), "%s/d/x", root);
	assert_non_null(strstr(e.msg, want));
	report_free(&rep);

	/* a deny of a missing path is not an error */
	{
		static const struct rule deny_missing[] = { { "a", RX, false },
							    { "nowhere/at/all", 0, true },
							    { NULL, 0, false } };
		static const struct want w[] = { { "a", RX_DIR }, { NULL, 0 } };

		expect_grants(deny_missing, 7, w);
	}
}

static void test_duplicates_merge(void **state)
{
	static const struct rule same[] = { { "a", RX, false },
					    { "a", RX, false },
					    { "a/b/../../a/", RX, false },
					    { NULL, 0, false } };
	static const struct want want_same[] = { { "a", RX_DIR }, { NULL, 0 } };
	static const struct rule widen[] = { { "a", RX, false },
					     { "a", MOS_FS_WRITE, false },
					     { "d", MOS_FS_READ, false },
					     { "d", MOS_FS_EXEC, false },
					     { NULL, 0, false } };
	static const struct want want_widen[] = { { "a", 0xffff }, { "d", RX_FILE }, { NULL, 0 } };
	/* beneath a directory already granted the same rights: nothing new */
	static const struct rule covered[] = { { "", RX, false },
					       { "a/b", RX, false },
					       { "d", MOS_FS_READ, false },
					       { NULL, 0, false } };
	static const struct want want_covered[] = { { "", RX_DIR }, { NULL, 0 } };
	/* ...but wider rights beneath it are a rule of their own */
	static const struct rule wider[] = { { "", RX, false },
					     { "a/c", MOS_FS_ALL, false },
					     { NULL, 0, false } };
	static const struct want want_wider[] = { { "", RX_DIR }, { "a/c", 0xffff }, { NULL, 0 } };
	/* the same split twice */
	static const struct rule split_twice[] = { { "", RX, false },
						   { "", RX, false },
						   { "a/b/secret", 0, true },
						   { "a/b/secret", 0, true },
						   { NULL, 0, false } };
	static const struct want want_split[] = {
		{ "a/b/keep", RX_FILE }, { "a/c", RX_DIR }, { "d", RX_FILE }, { NULL, 0 }
	};

	(void)state;
	expect_grants(same, 7, want_same);
	expect_grants(widen, 7, want_widen);
	expect_grants(covered, 7, want_covered);
	expect_grants(wider, 7, want_wider);
	expect_grants(split_twice, 7, want_split);
}

/* A deny of /usr says nothing about /usrx (prefix trap). */
static void test_prefix_trap(void **state)
{
	static const struct rule rules[] = { { "", RX, false },
					     { "usr", 0, true },
					     { "usrx", MOS_FS_ALL, false },
					     { NULL, 0, false } };
	static const struct want want[] = {
		{ "usrx", 0xffff }, { "usr-lib", RX_DIR }, { "us", RX_FILE }, { NULL, 0 }
	};
	char saved[PATH_MAX], tmpl[] = "/tmp/mos-landlock-XXXXXX";

	(void)state;
	memcpy(saved, root, sizeof(saved));
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, root));
	mkdir_rel("usr");
	mkdir_rel("usr/lib");
	mkdir_rel("usrx");
	mkdir_rel("usr-lib");
	mkfile("us");
	expect_grants(rules, 7, want);
	teardown(NULL);
	memcpy(root, saved, sizeof(root));
}

/* The always-granted devices come with every policy, file rights only. */
static void test_devices(void **state)
{
	static const struct rule none[] = { { NULL, 0, false } };
	struct landlock_grants g;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };

	(void)state;
	assert_int_equal(build(none, 7, &g, &rep, &e), 0);
	for (size_t i = 0; i < g.n; i++) {
		const char *p = g.v[i].path;

		if (!strcmp(p, "/dev/null") || !strcmp(p, "/dev/zero"))
			assert_int_equal(g.v[i].rights, LL(READ_FILE) | LL(WRITE_FILE) |
								LL(TRUNCATE) | LL(IOCTL_DEV));
		else if (!strcmp(p, "/dev/urandom") || !strcmp(p, "/dev/random"))
			assert_int_equal(g.v[i].rights, LL(READ_FILE));
		assert_int_equal(g.v[i].rights & DIR_ONLY, 0);
		assert_true(path_is_beneath(p, "/dev"));
	}
	landlock_grants_free(&g);
	report_free(&rep);
}

/* --system: the system directories, without the secrets in /etc. */
static void test_system(void **state)
{
	struct mos_policy p;
	struct landlock_grants g;
	struct mos_report rep = { 0 };
	struct mos_err e = { "" };
	char real[PATH_MAX];
	bool usr = false;

	(void)state;
	policy_init(&p);
	p.fs_system = true;
	assert_int_equal(landlock_grants_build(&p, 7, NULL, &g, &rep, &e), 0);
	assert_non_null(realpath("/usr", real));
	for (size_t i = 0; i < g.n; i++) {
		const char *path = g.v[i].path;

		if (!strcmp(path, real)) {
			usr = true;
			assert_int_equal(g.v[i].rights, RX_DIR);
		}
		for (const char *const *d = mos_system_deny_paths; *d; d++) {
			char dreal[PATH_MAX];
			const char *dp = realpath(*d, dreal) ? dreal : *d;

			/* neither the secret, nor anything above it, nor beneath it */
			if (path_is_beneath(path, dp) || path_is_beneath(dp, path))
				fail_msg("--system grants %s (denied: %s)", path, *d);
		}
		/* read and exec only */
		assert_int_equal(g.v[i].rights &
					 ~(RX_DIR | LL(WRITE_FILE) | LL(TRUNCATE) | LL(IOCTL_DEV)),
				 0);
	}
	assert_true(usr);
	landlock_grants_free(&g);
	report_free(&rep);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handled_per_abi),
		cmocka_unit_test(test_rights_per_abi),
		cmocka_unit_test(test_plain_read),
		cmocka_unit_test(test_deny_splits),
		cmocka_unit_test(test_deny_splits_write),
		cmocka_unit_test(test_view_masks_existing_denies),
		cmocka_unit_test(test_view_grants_whole_tree),
		cmocka_unit_test(test_deny_file),
		cmocka_unit_test(test_deny_missing_still_splits),
		cmocka_unit_test(test_two_denies),
		cmocka_unit_test(test_deny_through_symlink),
		cmocka_unit_test(test_deny_above_allow),
		cmocka_unit_test(test_file_rights),
		cmocka_unit_test(test_abi_masking),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_missing_path),
		cmocka_unit_test(test_duplicates_merge),
		cmocka_unit_test(test_prefix_trap),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_system),
	};

	return cmocka_run_group_tests_name("landlock", tests, setup, teardown);
}
