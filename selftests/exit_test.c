// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit_test - mosctl's exit status follows env(1) and timeout(1): the
 * command's own code, 128+N for signal N, 124 timeout, 125 mosctl's own
 * error, 126 not executable, 127 not found.
 */
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "harness.h"

/* The directory of the helpers, to grant it read+exec. */
static const char *helpers_dir(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s", t_helper("probe"));
	return dirname(buf);
}

TEST(exit_code_passes_through)
{
	struct t_result r;

	t_mosctl(&r, "run", "-s", "--", "sh", "-c", "exit 3", NULL);
	T_EXPECT_EQ(r.status, 3);
	t_mosctl(&r, "run", "-s", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 0);
}

TEST(signal_death_is_128_plus_n)
{
	struct t_result r;

	t_mosctl(&r, "run", "-s", "--", "sh", "-c", "kill -TERM $$", NULL);
	T_EXPECT_EQ(r.status, 128 + 15);
	t_mosctl(&r, "run", "-s", "--", "sh", "-c", "kill -KILL $$", NULL);
	T_EXPECT_EQ(r.status, 128 + 9);
}

TEST(not_found_is_127)
{
	struct t_result r;

	t_mosctl(&r, "run", "-s", "--", "/nonexistent/program", NULL);
	T_EXPECT_EQ(r.status, 127);
	T_EXPECT_STR(r.err, "/nonexistent/program");
	/* PATH search: a directory we may not enter would make it EACCES (126). */
	t_mosctl(&r, "run", "-s", "--env", "PATH=/usr/bin:/bin", "--", "no-such-command-mos", NULL);
	T_EXPECT_EQ(r.status, 127);
}

TEST(not_executable_is_126)
{
	struct t_result r;

	t_write_file(t_path("script"), "#!/bin/sh\necho hi\n");
	chmod(t_path("script"), 0644);
	t_mosctl(&r, "run", "-s", "-r", t_dir(), "--", t_path("script"), NULL);
	T_EXPECT_EQ(r.status, 126);
	/* Executable bits but outside every rule: Landlock refuses the exec. */
	chmod(t_path("script"), 0755);
	t_mosctl(&r, "run", "-s", "--", t_path("script"), NULL);
	T_EXPECT_EQ(r.status, 126);
	T_EXPECT_STR(r.err, "Permission denied");
	t_mosctl(&r, "run", "-s", "-r", t_dir(), "--", t_path("script"), NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "hi");
}

TEST(timeout_is_124)
{
	struct t_result r;

	t_mosctl(&r, "run", "-s", "-t", "0.5", "--", "sleep", "30", NULL);
	T_EXPECT_EQ(r.status, 124);
	T_ASSERT(r.seconds < 10);
}

TEST(mosctl_errors_are_125)
{
	struct t_result r;

	t_mosctl(&r, "run", "--no-such-flag", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "--no-such-flag");
	t_mosctl(&r, "run", "-r", "/does/not/exist", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "/does/not/exist");
	t_mosctl(&r, "run", "-s", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "no command");
	t_mosctl(&r, "run", "--backend", "bogus", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "bogus");
	t_mosctl(&r, "run", "-m", "lots", "--", "true", NULL);
	T_EXPECT_EQ(r.status, 125);
	t_mosctl(&r, "frobnicate", NULL);
	T_EXPECT_EQ(r.status, 125);
}

TEST(stdout_and_stdin_stream)
{
	struct t_result r;
	char *argv[] = { (char *)t_mosctl_path(), "run", "-s", "--", "wc", "-l", NULL };
	size_t n = 100000, len = n * 6;
	char *in = malloc(len + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(in + i * 6, "abcde\n", 6);
	in[len] = '\0';
	t_run(&r, in, argv);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_EQ(atol(r.out), 100000);
	free(in);
}

TEST(probe_helper_runs_confined)
{
	struct t_result r;

	t_mosctl(&r, "run", "-s", "-r", helpers_dir(), "--", t_helper("probe"), "cwd", NULL);
	T_EXPECT_EQ(r.status, 0);
	T_EXPECT_STR(r.out, "ok /");
}
