// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_seccomp.c - the precompiled seccomp programs (seccomp_program) are
 * byte for byte what libseccomp builds from seccomp_build() today, for each
 * of the eight variants: this catches the build-time table drifting from
 * the filter's source.  Nothing is loaded into the kernel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seccomp_filter.h"
#include "util.h"

static void test_variant_round_trip(void **state)
{
	(void)state;
	/* a power of two: one bit per switch */
	assert_true(SECCOMP_VARIANTS >= 8);
	assert_int_equal(SECCOMP_VARIANTS & (SECCOMP_VARIANTS - 1), 0);
	for (unsigned int v = 0; v < SECCOMP_VARIANTS; v++) {
		struct seccomp_opts o, back;

		memset(&o, 0xff, sizeof(o));
		seccomp_opts_of_variant(v, &o);
		assert_int_equal(seccomp_variant(&o), v);
		/* the three original switches keep their bits */
		assert_int_equal(o.allow_udp, !!(v & 1));
		assert_int_equal(o.allow_unix, !!(v & 2));
		assert_int_equal(o.deny_inet, !!(v & 4));
		/* and opts -> variant -> opts is the identity */
		seccomp_opts_of_variant(seccomp_variant(&o), &back);
		assert_memory_equal(&o, &back, sizeof(o));
	}
	{
		struct seccomp_opts zero = { 0 };

		assert_int_equal(seccomp_variant(&zero), 0);
	}
}

/* libseccomp's program for variant V, exported through a memfd. */
static void *export_variant(unsigned int v, size_t *len)
{
	struct seccomp_opts o;
	struct mos_err e = { "" };
	scmp_filter_ctx ctx;
	struct stat st;
	void *buf;
	int fd, r;

	seccomp_opts_of_variant(v, &o);
	r = seccomp_build(&o, &ctx, &e);
	if (r != 0)
		fail_msg("seccomp_build(variant %u): %d %s", v, r, e.msg);
	fd = memfd_create("mos-seccomp-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	assert_int_equal(r, 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len ? *len : 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, *len, 0), (ssize_t)*len);
	close(fd);
	return buf;
}

static void test_programs_match_libseccomp(void **state)
{
	(void)state;
	for (unsigned int v = 0; v < SECCOMP_VARIANTS; v++) {
		struct seccomp_opts o;
		const struct sock_fprog *prog;
		size_t len;
		void *built = export_variant(v, &len);

		seccomp_opts_of_variant(v, &o);
		prog = seccomp_program(&o);
		assert_non_null(prog);
		assert_non_null(prog->filter);
		assert_true(prog->len > 0);
		if (len != prog->len * sizeof(struct sock_filter))
			fail_msg("variant %u: libseccomp builds %zu instructions, the table "
				 "has %u (rebuild gen/seccomp_programs.h)",
				 v, len / sizeof(struct sock_filter), prog->len);
		if (memcmp(built, prog->filter, len)) {
			const struct sock_filter *a = built, *b = prog->filter;

			for (size_t i = 0; i < prog->len; i++)
				if (memcmp(&a[i], &b[i], sizeof(a[i])))
					fail_msg("variant %u: instruction %zu differs: built "
						 "{0x%04x,%u,%u,0x%08x}, table "
						 "{0x%04x,%u,%u,0x%08x}",
						 v, i, a[i].code, a[i].jt, a[i].jf, a[i].k,
						 b[i].code, b[i].jt, b[i].jf, b[i].k);
		}
		free(built);
	}
}

static bool same_program(const struct sock_fprog *a, const struct sock_fprog *b)
{
	return a->len == b->len &&
	       !memcmp(a->filter, b->filter, a->len * sizeof(struct sock_filter));
}

static void test_programs_distinct(void **state)
{
	struct seccomp_opts base;
	const struct sock_fprog *p0;

	(void)state;
	for (unsigned int v = 0; v < SECCOMP_VARIANTS; v++) {
		struct seccomp_opts o;

		seccomp_opts_of_variant(v, &o);
		/* the same options always give the same program */
		assert_ptr_equal(seccomp_program(&o), seccomp_program(&o));
	}
	/* every switch changes the program (from all switches off) */
	seccomp_opts_of_variant(0, &base);
	p0 = seccomp_program(&base);
	for (unsigned int bit = 1; bit < SECCOMP_VARIANTS; bit <<= 1) {
		struct seccomp_opts o;

		seccomp_opts_of_variant(bit, &o);
		if (same_program(p0, seccomp_program(&o)))
			fail_msg("variant %u is the same program as variant 0", bit);
	}
}

static void test_program_checks_arch(void **state)
{
	struct seccomp_opts o = { 0 };
	const struct sock_fprog *prog = seccomp_program(&o);

	(void)state;
	/* first: load seccomp_data.arch (offset 4) */
	assert_int_equal(prog->filter[0].code, BPF_LD | BPF_W | BPF_ABS);
	assert_int_equal(prog->filter[0].k, 4);
}

static void test_describe(void **state)
{
	struct seccomp_opts o = { 0 };
	struct mos_report rep = { 0 };
	char want[64];

	(void)state;
	seccomp_describe(&o, &rep);
	assert_true(rep.nlines >= 1);
	/* the count compiled into the table matches the source list */
	snprintf(want, sizeof(want), "seccomp: %zu syscalls denied",
		 seccomp_denied_syscall_count());
	assert_non_null(strstr(rep.lines[0], want));
	report_free(&rep);

	o.deny_inet = true;
	seccomp_describe(&o, &rep);
	{
		bool said = false;

		for (size_t i = 0; i < rep.nlines; i++)
			said |= strstr(rep.lines[i], "no IPv4/IPv6") != NULL;
		assert_true(said);
	}
	report_free(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variant_round_trip),
		cmocka_unit_test(test_programs_match_libseccomp),
		cmocka_unit_test(test_programs_distinct),
		cmocka_unit_test(test_program_checks_arch),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
