// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_remote_backend.c - what mosd takes from a hostile origin's listings
 * (remote_backend.c, PRELOAD_LISTDIR; the LISTDIR reply has the same
 * body): a well-formed listing reaches mosfs whole, across MORE frames; a
 * name that is empty, "." or "..", or holds "/" or NUL, and a symlink
 * without a target, refuse the frame (mosd then ends the connection).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "open_cache.h"
#include "remote_backend.h"
#include "wire.h"

struct ent {
	const char *name;
	size_t name_len; /* 0: strlen(name) */
	uint32_t mode;
	const char *link;
};

/* A PRELOAD_LISTDIR payload for PATH, as origin_serve.c writes one. */
static void listing(struct wire_buf *b, const char *path, const struct ent *e, size_t n)
{
	struct mos_attr dir = { .ino = 2, .mode = S_IFDIR | 0755, .nlink = 2 };

	wire_buf_start(b, MOS_MSG_PRELOAD_LISTDIR, 0, 0);
	wire_put_str(b, path);
	wire_put(b, &dir, sizeof(dir));
	for (size_t i = 0; i < n; i++) {
		struct mos_dirent_hdr d = { .attr = { .ino = 10 + i, .mode = e[i].mode } };

		d.name_len = (uint16_t)(e[i].name_len ? e[i].name_len : strlen(e[i].name));
		d.link_len = (uint16_t)(e[i].link ? strlen(e[i].link) : 0);
		wire_put(b, &d, sizeof(d));
		wire_put(b, e[i].name, d.name_len);
		if (d.link_len)
			wire_put(b, e[i].link, d.link_len);
	}
	wire_buf_finish(b);
}

static int feed(struct remote_backend *rb, const char *path, const struct ent *e, size_t n,
		bool more)
{
	struct wire_buf b = { 0 };
	int r;

	listing(&b, path, e, n);
	r = remote_backend_preload_listing(rb, b.p + sizeof(struct mos_frame_hdr),
					   b.len - sizeof(struct mos_frame_hdr), more);
	wire_buf_free(&b);
	return r;
}

static void rb_init(struct remote_backend *rb)
{
	*rb = (struct remote_backend){ .opened = open_cache_new() };
	pthread_mutex_init(&rb->lock, NULL);
}

static void rb_fini(struct remote_backend *rb)
{
	remote_backend_free_preloaded(rb);
	open_cache_free(rb->opened);
	pthread_mutex_destroy(&rb->lock);
}

static void test_listing_reaches_mosfs(void **state)
{
	static const struct ent first[] = {
		{ "a.c", 0, S_IFREG | 0644, NULL },
		{ "lib", 0, S_IFLNK | 0777, "usr/lib" },
	};
	static const struct ent second[] = { { "...", 0, S_IFDIR | 0755, NULL } };
	struct remote_backend rb;
	struct origin_dirent *ents = NULL;
	struct mos_attr dir;
	size_t n = 0;

	(void)state;
	rb_init(&rb);
	assert_int_equal(feed(&rb, "/src", first, 2, true), 0);
	assert_int_equal(feed(&rb, "/src", second, 1, false), 0);
	/* a listing that is complete takes no more frames */
	assert_int_equal(feed(&rb, "/src", second, 1, false), -EPROTO);
	/* complete: served from the preload, no request to the origin */
	assert_int_equal(remote_backend_ops.listdir(&rb, "/src", &dir, &ents, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ents[0].name, "a.c");
	assert_null(ents[0].link);
	assert_string_equal(ents[1].name, "lib");
	assert_string_equal(ents[1].link, "usr/lib");
	assert_string_equal(ents[2].name, "...");
	origin_dirents_free(ents, n);
	rb_fini(&rb);
}

static void test_bad_entries_are_refused(void **state)
{
	static const struct ent bad[][1] = {
		{ { "..", 0, S_IFDIR | 0755, NULL } },
		{ { ".", 0, S_IFDIR | 0755, NULL } },
		{ { "a/b", 0, S_IFREG | 0644, NULL } },
		{ { "/", 0, S_IFREG | 0644, NULL } },
		{ { "a\0b", 3, S_IFREG | 0644, NULL } },
		{ { "", 0, S_IFREG | 0644, NULL } },
		/* found by fuzz_mosfs: mosfs answered READLINK with nothing */
		{ { "empty", 0, S_IFLNK | 0777, "" } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct remote_backend rb;

		rb_init(&rb);
		print_message("# entry %zu\n", i);
		assert_int_equal(feed(&rb, "/", bad[i], 1, false), -EPROTO);
		rb_fini(&rb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listing_reaches_mosfs),
		cmocka_unit_test(test_bad_entries_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
