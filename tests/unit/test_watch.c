// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_watch.c - the session's inotify watches: a change after the watch
 * names the path to invalidate, the watch follows the object it was added
 * on (not a name swapped in later), a watch set handed over keeps naming
 * its paths, and a descriptor that is not inotify's is refused.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"
#include "watch.h"

struct seen {
	char paths[64][512];
	int n;
};

static void collect(const char *path, void *arg)
{
	struct seen *s = arg;

	if (s->n < 64)
		snprintf(s->paths[s->n++], sizeof(s->paths[0]), "%s", path);
}

static bool saw(const struct seen *s, const char *path)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->paths[i], path))
			return true;
	return false;
}

static char dir[64];

/* Create PATH with a line in it. */
static void t_write(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("x\n", f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-watch-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

static void test_change_after_watch(void **state)
{
	struct watch_set *w = watch_set_new();
	struct seen s = { 0 };
	char sub[128], f[160], want[160];
	int fd;

	(void)state;
	assert_non_null(w);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	fd = open(sub, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(watch_set_add_fd(w, fd, sub, true), 0);
	close(fd);
	assert_int_equal(watch_set_drain(w, collect, &s), 0);
	snprintf(f, sizeof(f), "%s/new.h", sub);
	t_write(f);
	assert_true(watch_set_drain(w, collect, &s) > 0);
	snprintf(want, sizeof(want), "%s/new.h", sub);
	assert_true(saw(&s, want));
	watch_set_free(w);
}

static void test_follows_the_object(void **state)
{
	struct watch_set *w = watch_set_new();
	struct seen s = { 0 };
	char a[128], b[128], want[160];
	int fd;

	(void)state;
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	assert_int_equal(mkdir(a, 0755), 0);
	fd = open(a, O_RDONLY | O_DIRECTORY);
	assert_int_equal(watch_set_add_fd(w, fd, a, true), 0);
	close(fd);
	/* the watched directory moves away and another takes its name: the
	 * move is seen, and a change in the new one is not the old one's */
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(mkdir(a, 0755), 0);
	assert_true(watch_set_drain(w, collect, &s) > 0);
	assert_true(saw(&s, a)); /* IN_MOVE_SELF, named by the path it had */
	s.n = 0;
	snprintf(want, sizeof(want), "%s/x", a);
	t_write(want);
	watch_set_drain(w, collect, &s);
	assert_false(saw(&s, want));
	watch_set_free(w);
}

static void test_handover(void **state)
{
	struct watch_set *w = watch_set_new(), *h;
	struct seen s = { 0 };
	char c[128], f[160];
	const int *wds;
	char *const *paths;
	size_t n;
	int fd;

	(void)state;
	snprintf(c, sizeof(c), "%s/c", dir);
	assert_int_equal(mkdir(c, 0755), 0);
	fd = open(c, O_RDONLY | O_DIRECTORY);
	assert_int_equal(watch_set_add_fd(w, fd, c, true), 0);
	close(fd);
	n = watch_set_pairs(w, &wds, &paths);
	assert_int_equal(n, 1);
	/* what the agent gets: the descriptor and the pairs */
	fd = dup(watch_set_fd(w));
	assert_true(watch_fd_is_inotify(fd));
	h = watch_set_adopt(fd, NULL, NULL, 0);
	watch_set_note(h, wds[0], paths[0]);
	snprintf(f, sizeof(f), "%s/later", c);
	t_write(f);
	assert_true(watch_set_drain(h, collect, &s) > 0);
	assert_true(saw(&s, f));
	watch_set_free(h);
	watch_set_free(w);
}

static void test_not_inotify(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_false(watch_fd_is_inotify(p[0]));
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_change_after_watch),
		cmocka_unit_test(test_follows_the_object),
		cmocka_unit_test(test_handover),
		cmocka_unit_test(test_not_inotify),
	};

	return cmocka_run_group_tests_name("watch", tests, setup, teardown);
}
