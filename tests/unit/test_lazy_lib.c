// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_lazy_lib.c - loading a library on first use (userspace/core/lazy_lib.c),
 * with zlib standing in for OpenSSL and libbpf: a call through a LAZY_FN
 * definition reaches the library's own function; a missing library or
 * symbol is -ENOENT or -ENOSYS with a sentence naming the library, what
 * needs it and the package, the same on every later call, and leaves no
 * pointer half filled; lazy_lib_need() then ends the process with 125.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "lazy_lib.h"

/* A definition of zlib's adler32 under its own name, as the shims make. */
static struct lazy_lib zlib;

LAZY_FN(zlib, uLong, adler32, (uLong adler, const Bytef *buf, uInt len), (adler, buf, len))

static const struct lazy_sym zlib_syms[] = { LAZY_SYM(adler32) };
static struct lazy_lib zlib = LAZY_LIB_INIT("libz.so.1", "zlib1g", "the tests", zlib_syms);

static void test_call_reaches_the_library(void **state)
{
	void *h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
	uLong (*real)(uLong, const Bytef *, uInt);
	const Bytef text[] = "Wikipedia";
	char why[320] = "";

	(void)state;
	assert_non_null(h);
	*(void **)&real = dlsym(h, "adler32");
	assert_non_null(real);
	/* the wrapper loads on the first call and forwards to the real one */
	assert_int_equal(adler32(1, text, 9), 0x11e60398);
	assert_int_equal(adler32(1, text, 9), real(1, text, 9));
	assert_ptr_equal(lazy_adler32, real);
	assert_int_equal(lazy_lib_load(&zlib, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	dlclose(h);
}

static void *missing_slot;
static const struct lazy_sym missing_syms[] = { { "zlibVersion", &missing_slot } };

static void test_missing_library(void **state)
{
	struct lazy_lib l = LAZY_LIB_INIT("libmos-no-such-library.so.9", "Debian's libmos9 package",
					  "the frobnicator", missing_syms);
	char why[320], again[320];

	(void)state;
	assert_int_equal(lazy_lib_load(&l, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "the frobnicator need libmos-no-such-library.so.9"));
	assert_non_null(strstr(why, "cannot be loaded"));
	assert_non_null(strstr(why, "install Debian's libmos9 package"));
	assert_null(missing_slot);
	/* the answer is kept: no second attempt, the same sentence */
	assert_int_equal(lazy_lib_load(&l, again, sizeof(again)), -ENOENT);
	assert_string_equal(why, again);
	/* a short buffer still ends in a NUL; no buffer at all is allowed */
	assert_int_equal(lazy_lib_load(&l, why, 8), -ENOENT);
	assert_int_equal(strlen(why), 7);
	assert_int_equal(lazy_lib_load(&l, NULL, 0), -ENOENT);
}

static void *first_slot, *second_slot;
static const struct lazy_sym partly_syms[] = {
	{ "zlibVersion", &first_slot },
	{ "mos_no_such_symbol", &second_slot },
};

static void test_missing_symbol(void **state)
{
	struct lazy_lib l = LAZY_LIB_INIT("libz.so.1", "zlib1g", "the tests", partly_syms);
	char why[320];

	(void)state;
	assert_int_equal(lazy_lib_load(&l, why, sizeof(why)), -ENOSYS);
	assert_non_null(strstr(why, "libz.so.1"));
	assert_non_null(strstr(why, "mos_no_such_symbol"));
	assert_non_null(strstr(why, "reinstall zlib1g"));
	/* the symbol found before the missing one is not left for use */
	assert_null(first_slot);
	assert_null(second_slot);
}

static void test_need_ends_the_process(void **state)
{
	struct lazy_lib l = LAZY_LIB_INIT("libmos-no-such-library.so.9", "Debian's libmos9 package",
					  "the frobnicator", missing_syms);
	int fds[2], st;
	char buf[512] = "";
	ssize_t n;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		lazy_lib_need(&l);
		_exit(0); /* not reached */
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 125);
	assert_non_null(strstr(buf, "install Debian's libmos9 package"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_reaches_the_library),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_symbol),
		cmocka_unit_test(test_need_ends_the_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
