/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * common.h - what the libFuzzer targets in fuzz/ share: the entry points
 * libFuzzer calls, taking typed values off an input, a failed property
 * (an abort, which libFuzzer records as a crash with its input), and a
 * connection that is already closed.  Documentation/fuzzing.md.
 */
#ifndef MOS_FUZZ_COMMON_H
#define MOS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An input read front to back; past its end every value is 0 and
 * fuzz_in_left() is 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t len, off;
};

uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in);
uint32_t fuzz_u32(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);
/* Up to N bytes (fewer at the end): a pointer into the input. */
const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t n, size_t *got);
size_t fuzz_in_left(const struct fuzz_in *in);

/* A property of the code under test does not hold: say which, and abort. */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
#define fuzz_assert(cond)                                                  \
	do {                                                               \
		if (!(cond))                                               \
			fuzz_fail("%s:%d: %s", __FILE__, __LINE__, #cond); \
	} while (0)

/* libmos's messages off (they are expected: every input is hostile), unless
 * MOS_FUZZ_VERBOSE is set. */
void fuzz_quiet(void);

/* A connection whose peer has gone: every conn_call and conn_send fails
 * at once with -ECONNRESET, so code that would talk to the peer runs its
 * error paths and sends nothing.  One per process, made on first use. */
struct conn *fuzz_dead_conn(void);

/* Open file descriptors of this process, to find leaks. */
int fuzz_count_fds(void);

struct mos_policy;

/* What every parsed policy holds, however it was written: absolute,
 * lexically normal paths, bounded limits and port lists, one KEY=VALUE per
 * key.  Fails (fuzz_fail) on the first that does not. */
void fuzz_check_policy(const struct mos_policy *p);
/* Whether A and B grant and limit the same (origins aside). */
bool fuzz_policy_same(const struct mos_policy *a, const struct mos_policy *b);
#endif /* MOS_FUZZ_COMMON_H */
