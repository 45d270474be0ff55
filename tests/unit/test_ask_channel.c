// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ask_channel.c - the decider's parser of the module's questions
 * (userspace/confine/bpf/ask_channel.c, ask_question_parse): well-formed
 * file and connect questions come out as sent; a wrong length, a path
 * without its NUL or with one inside, a missing attribute, a kind that
 * disagrees with what it carries, a truncated attribute are refused; an
 * attribute it does not know is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ask_channel.h"

struct buf {
	size_t len;
	_Alignas(8) unsigned char b[3 * MOS_ASK_PATH_MAX];
};

static void put(struct buf *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->b + m->len);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(m->b + m->len + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(a->nla_len);
}

static void put_u32(struct buf *m, uint16_t type, uint32_t v)
{
	put(m, type, &v, sizeof(v));
}

/*
 * The attributes every question of KIND has, but the path or address:
 * without SKIP, and with BAD of the wrong width (a u64 of 4 bytes, a u32
 * of 8) when not 0.
 */
static void question(struct buf *m, uint32_t kind, uint16_t skip, uint16_t bad)
{
	const struct {
		uint16_t type;
		uint64_t v;
		int wide;
	} attrs[] = {
		{ MOS_ASK_A_ID, 0x123456789aULL, 1 }, { MOS_ASK_A_DOMAIN, 7, 0 },
		{ MOS_ASK_A_PID, 4242, 0 },	       { MOS_ASK_A_KIND, kind, 0 },
		{ MOS_ASK_A_TIMEOUT_MS, 30000, 0 },    { MOS_ASK_A_DEV, (8 << 20) | 1, 0 },
		{ MOS_ASK_A_INO, 1ULL << 33, 1 },
	};

	m->len = 0;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		int wide = attrs[i].wide ^ (attrs[i].type == bad);

		if (attrs[i].type == skip)
			continue;
		if ((attrs[i].type == MOS_ASK_A_DEV || attrs[i].type == MOS_ASK_A_INO) &&
		    kind == MOS_ASK_KIND_CONNECT)
			continue;
		if (wide)
			put(m, attrs[i].type, &attrs[i].v, sizeof(uint64_t));
		else
			put_u32(m, attrs[i].type, (uint32_t)attrs[i].v);
	}
}

static void common(struct buf *m, uint32_t kind)
{
	question(m, kind, 0, 0);
}

static struct buf m;
static struct ask_question q;

static int parse(void)
{
	return ask_question_parse(m.b, m.len, &q);
}

static void test_file_question(void **state)
{
	(void)state;
	common(&m, MOS_ASK_KIND_WRITE);
	put(&m, MOS_ASK_A_PATH, "/home/u/.ssh/id_ed25519", 24);
	assert_int_equal(parse(), 0);
	assert_true(q.id == 0x123456789aULL);
	assert_int_equal(q.domain, 7);
	assert_int_equal(q.pid, 4242);
	assert_int_equal(q.kind, MOS_ASK_KIND_WRITE);
	assert_int_equal(q.timeout_ms, 30000);
	assert_string_equal(q.path, "/home/u/.ssh/id_ed25519");
	assert_int_equal(q.dev, (8 << 20) | 1);
	assert_true(q.ino == 1ULL << 33);
	assert_int_equal(q.addr_len, 0);
}

static void test_connect_question(void **state)
{
	const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint16_t port = 443;

	(void)state;
	common(&m, MOS_ASK_KIND_CONNECT);
	put(&m, MOS_ASK_A_ADDR, v6, 16);
	put(&m, MOS_ASK_A_PORT, &port, sizeof(port));
	assert_int_equal(parse(), 0);
	assert_int_equal(q.addr_len, 16);
	assert_memory_equal(q.addr, v6, 16);
	assert_int_equal(q.port, 443);
	assert_string_equal(q.path, "");
}

static void test_unknown_attribute_is_skipped(void **state)
{
	(void)state;
	common(&m, MOS_ASK_KIND_READ);
	put_u32(&m, 200, 1);
	put(&m, MOS_ASK_A_PATH, "/etc", 5);
	assert_int_equal(parse(), 0);
	assert_string_equal(q.path, "/etc");
}

static void test_malformed_is_refused(void **state)
{
	uint8_t v4[4] = { 10, 0, 0, 1 };
	uint16_t port = 5432;

	(void)state;
	/* an id of 4 bytes, a u32 of 8, an inode number of 4 */
	question(&m, MOS_ASK_KIND_READ, 0, MOS_ASK_A_ID);
	put(&m, MOS_ASK_A_PATH, "/etc", 5);
	assert_int_equal(parse(), -EPROTO);
	question(&m, MOS_ASK_KIND_READ, 0, MOS_ASK_A_DOMAIN);
	put(&m, MOS_ASK_A_PATH, "/etc", 5);
	assert_int_equal(parse(), -EPROTO);
	question(&m, MOS_ASK_KIND_READ, 0, MOS_ASK_A_INO);
	put(&m, MOS_ASK_A_PATH, "/etc", 5);
	assert_int_equal(parse(), -EPROTO);

	/* a path without its NUL, with one inside, empty, too long */
	common(&m, MOS_ASK_KIND_READ);
	put(&m, MOS_ASK_A_PATH, "/etc", 4);
	assert_int_equal(parse(), -EPROTO);
	common(&m, MOS_ASK_KIND_READ);
	put(&m, MOS_ASK_A_PATH, "/etc\0/x", 8);
	assert_int_equal(parse(), -EPROTO);
	common(&m, MOS_ASK_KIND_READ);
	put(&m, MOS_ASK_A_PATH, "", 1);
	assert_int_equal(parse(), -EPROTO);
	{
		static char longp[MOS_ASK_PATH_MAX + 1];

		memset(longp, 'a', MOS_ASK_PATH_MAX);
		common(&m, MOS_ASK_KIND_READ);
		put(&m, MOS_ASK_A_PATH, longp, MOS_ASK_PATH_MAX + 1);
		assert_int_equal(parse(), -EPROTO);
	}

	/* missing: the path of a file access; the timeout, the device, the
	 * inode of one */
	common(&m, MOS_ASK_KIND_READ);
	assert_int_equal(parse(), -EPROTO);
	{
		const uint16_t each[] = { MOS_ASK_A_ID, MOS_ASK_A_DOMAIN, MOS_ASK_A_PID,
					  MOS_ASK_A_KIND, MOS_ASK_A_TIMEOUT_MS, MOS_ASK_A_DEV,
					  MOS_ASK_A_INO };

		for (size_t i = 0; i < sizeof(each) / sizeof(each[0]); i++) {
			question(&m, MOS_ASK_KIND_READ, each[i], 0);
			put(&m, MOS_ASK_A_PATH, "/etc", 5);
			assert_int_equal(parse(), -EPROTO);
		}
	}

	/* a kind that disagrees: a connect with a path, a file with an address */
	common(&m, MOS_ASK_KIND_CONNECT);
	put(&m, MOS_ASK_A_PATH, "/etc", 5);
	assert_int_equal(parse(), -EPROTO);
	common(&m, MOS_ASK_KIND_READ);
	put(&m, MOS_ASK_A_PATH, "/etc", 5);
	put(&m, MOS_ASK_A_ADDR, v4, 4);
	assert_int_equal(parse(), -EPROTO);
	common(&m, MOS_ASK_KIND_CONNECT);
	put(&m, MOS_ASK_A_ADDR, v4, 3);
	put(&m, MOS_ASK_A_PORT, &port, sizeof(port));
	assert_int_equal(parse(), -EPROTO);
	common(&m, 0);
	put(&m, MOS_ASK_A_PATH, "/etc", 5);
	assert_int_equal(parse(), -EPROTO);
	common(&m, __MOS_ASK_KIND_COUNT);
	put(&m, MOS_ASK_A_PATH, "/etc", 5);
	assert_int_equal(parse(), -EPROTO);

	/* truncated: the last attribute says more than there is */
	common(&m, MOS_ASK_KIND_READ);
	put(&m, MOS_ASK_A_PATH, "/etc/passwd", 12);
	m.len -= 8;
	assert_int_equal(parse(), -EPROTO);
	/* a header cut short */
	common(&m, MOS_ASK_KIND_READ);
	m.len += 2;
	assert_int_equal(parse(), -EPROTO);
	assert_int_equal(ask_question_parse(m.b, 0, &q), -EPROTO);
}

/* The path names the inode in this process's view, or it does not. */
static void test_path_must_name_the_inode(void **state)
{
	char path[] = "/tmp/test_ask_channel-XXXXXX";
	int fd = mkstemp(path);
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	memset(&q, 0, sizeof(q));
	q.kind = MOS_ASK_KIND_READ;
	snprintf(q.path, sizeof(q.path), "%s", path);
	q.ino = st.st_ino;
	q.dev = (major(st.st_dev) << 20) | minor(st.st_dev);
	assert_int_equal(ask_question_names_inode(&q), 1);
	q.ino++; /* another file than the one there */
	assert_int_equal(ask_question_names_inode(&q), 0);
	q.ino--;
	q.dev ^= 1; /* another device */
	assert_int_equal(ask_question_names_inode(&q), 0);
	q.dev ^= 1;
	unlink(path); /* nothing there now */
	assert_int_equal(ask_question_names_inode(&q), 0);
	snprintf(q.path, sizeof(q.path), "relative/path");
	assert_int_equal(ask_question_names_inode(&q), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_question),
		cmocka_unit_test(test_connect_question),
		cmocka_unit_test(test_unknown_attribute_is_skipped),
		cmocka_unit_test(test_malformed_is_refused),
		cmocka_unit_test(test_path_must_name_the_inode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
