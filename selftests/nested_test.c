// SPDX-License-Identifier: GPL-2.0-only
/*
 * nested_test - mosctl inside mosctl.
 *
 * An inner sandbox can only tighten the outer one (Landlock domains stack,
 * seccomp filters stack).  The outer seccomp filter forbids new namespaces,
 * so the inner mosctl runs its fallback mode (no user, pid or mount
 * namespace: it splits directories around denied paths and reaps the tree
 * itself as a child subreaper), which it refuses without --allow-degraded:
 * these tests cover that path on a kernel where the normal path works.
 */
#include <libgen.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

static char *dir_of(const char *path)
{
	char *copy = strdup(path);

	return strdup(dirname(copy));
}

/* outer mosctl run -s -r <mosctl dir> -r <helpers> [OUTER...] -- mosctl run INNER... */
static void nested(struct t_result *r, char *const outer[], char *const inner[])
{
	char *args[128];
	int n = 0;

	args[n++] = "run";
	args[n++] = "-s";
	/*
	 * An ASan build's leak checker cannot work in a sandbox, and the ASan
	 * runtime reads its options from /proc/self/environ.
	 */
	args[n++] = "--env";
	args[n++] = "ASAN_OPTIONS=detect_leaks=0";
	args[n++] = "-r";
	args[n++] = "/proc";
	args[n++] = "-r";
	args[n++] = dir_of(t_mosctl_path());
	args[n++] = "-r";
	args[n++] = dir_of(t_helper("probe"));
	for (int i = 0; outer && outer[i]; i++)
		args[n++] = outer[i];
	args[n++] = "--";
	args[n++] = (char *)t_mosctl_path();
	args[n++] = "run";
	args[n++] = "--allow-degraded"; /* no namespaces inside: see the file's comment */
	for (int i = 0; inner[i]; i++)
		args[n++] = inner[i];
	args[n] = NULL;
	t_mosctlv(r, NULL, args);
}

TEST(inner_sandbox_runs_in_fallback_mode)
{
	struct t_result r;
	char *inner[] = { "-v",	 "-s",
			  "-r",	 dir_of(t_helper("probe")),
			  "--",	 (char *)t_helper("probe"),
			  "cwd", NULL };

	nested(&r, NULL, inner);
	if (r.status != 0)
		t_dump("nested", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok ");
	T_EXPECT_STR(r.err, "no user, pid or mount namespace");
}

TEST(inner_sandbox_tightens)
{
	struct t_result r;

	t_write_file(t_path("secret"), "nested-secret-91c2");
	{
		char *outer[] = { "-r", (char *)t_dir(), NULL };
		char *inner[] = { "-s",
				  "-r",
				  dir_of(t_helper("probe")),
				  "--",
				  (char *)t_helper("probe"),
				  "read",
				  (char *)t_path("secret"),
				  NULL };

		nested(&r, outer, inner);
		T_EXPECT_EQ(r.status, 0);
		T_EXPECT_STR(r.out, "err EACCES");
		T_EXPECT_NO_STR(r.out, "nested-secret-91c2");
	}
}

TEST(inner_sandbox_cannot_loosen)
{
	struct t_result r;
	char *inner[] = { "-s",
			  "-r",
			  dir_of(t_helper("probe")),
			  "-r",
			  (char *)t_dir(),
			  "--",
			  (char *)t_helper("probe"),
			  "read",
			  (char *)t_path("secret"),
			  NULL };

	t_write_file(t_path("secret"), "nested-secret-77aa");
	/* The outer sandbox does not grant t_dir(); the inner one asks for it. */
	nested(&r, NULL, inner);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "err EACCES");
	T_EXPECT_NO_STR(r.out, "nested-secret-77aa");
}

TEST(fallback_timeout_kills_the_tree)
{
	struct t_result r;
	char marker[64], script[512];

	/*
	 * Inner: a timeout of 1 s on a shell that leaves a setsid'ed sleeper.
	 * Outer: afterwards, look for the sleeper in /proc.
	 */
	snprintf(marker, sizeof(marker), "77%d", (int)getpid() % 100000);
	snprintf(script, sizeof(script),
		 "%s run --allow-degraded -s -t 1 -- sh -c 'setsid sleep %s & sleep %s'; "
		 "echo inner=$?; "
		 "sleep 0.5; for f in /proc/[0-9]*/cmdline; do "
		 "tr '\\0' ' ' < $f 2>/dev/null; echo; done | grep -c '^sleep %s' || true",
		 t_mosctl_path(), marker, marker, marker);
	{
		char *args[] = { "run",	  "-s",
				 "--env", "ASAN_OPTIONS=detect_leaks=0",
				 "-r",	  dir_of(t_mosctl_path()),
				 "-r",	  "/proc",
				 "--",	  "sh",
				 "-c",	  script,
				 NULL };

		t_mosctlv(&r, NULL, args);
	}
	if (r.status != 0)
		t_dump("nested timeout", &r);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "inner=124");
	/* anchored: the shells' own command lines mention the marker too */
	T_EXPECT_STR(r.out, "\n0\n");
}

TEST(fallback_refused_without_allow_degraded)
{
	struct t_result r;
	char *args[] = { "run",	  "-s",
			 "--env", "ASAN_OPTIONS=detect_leaks=0",
			 "-r",	  "/proc",
			 "-r",	  dir_of(t_mosctl_path()),
			 "--",	  (char *)t_mosctl_path(),
			 "run",	  "-s",
			 "--",	  "true",
			 NULL };

	t_mosctlv(&r, NULL, args);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "--allow-degraded");
	T_EXPECT_STR(r.err, "extended attributes");
}

/*
 * Under the supervisor, Landlock is hidden (the supervisor opens on the
 * caller's behalf, where a domain the caller added would not apply) and new
 * namespaces are denied: an inner mosctl has nothing to confine with, so it
 * refuses, and the outer policy still holds.  (nested_test runs on the
 * default backend only; this test asks for the supervisor itself.)
 */
TEST(inner_sandbox_refused_under_the_supervisor)
{
	struct t_result r;
	char *args[] = { "run",
			 "--backend",
			 "unotify",
			 "-s",
			 "--env",
			 "ASAN_OPTIONS=detect_leaks=0",
			 "-r",
			 "/proc",
			 "-r",
			 dir_of(t_mosctl_path()),
			 "-r",
			 dir_of(t_helper("probe")),
			 "-r",
			 (char *)t_dir(),
			 "--",
			 (char *)t_mosctl_path(),
			 "run",
			 "--allow-degraded",
			 "-s",
			 "-r",
			 dir_of(t_helper("probe")),
			 "--",
			 (char *)t_helper("probe"),
			 "read",
			 (char *)t_path("secret"),
			 NULL };

	t_write_file(t_path("secret"), "nested-secret-5e1f");
	t_mosctlv(&r, NULL, args);
	if (r.status != 125)
		t_dump("nested under the supervisor", &r);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "pid namespace");
	T_EXPECT_NO_STR(r.out, "nested-secret-5e1f");
	T_EXPECT_NO_STR(r.err, "nested-secret-5e1f");
}
