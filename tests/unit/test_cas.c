// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cas.c - the content-addressed cache: insert and verify, concurrent
 * writers (threads and processes), LRU eviction, restart, stale temporary
 * files, misses, blobs corrupted in place (found and removed, while intact
 * ones are not rehashed), the verified log shared, torn and compacted.  Each
 * test gets its own directory under /tmp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cas.h"
#include "util.h"

struct fixture {
	char dir[64];
	struct cas *c;
};

static void sha256(const void *data, size_t len, uint8_t out[CAS_HASH_LEN])
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, CAS_HASH_LEN);
}

/* Deterministic content: SEED selects the blob. */
static uint8_t *make_data(size_t len, unsigned int seed)
{
	uint8_t *p = xmalloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
	return p;
}

/* Insert DATA in one write; the committed fd or -errno. */
static int put(struct cas *c, const void *data, size_t len)
{
	uint8_t h[CAS_HASH_LEN];
	struct cas_writer *w;
	int r;

	sha256(data, len, h);
	r = cas_writer_begin(c, h, len, &w);
	if (r < 0)
		return r;
	r = cas_writer_write(w, 0, data, len);
	if (r < 0) {
		cas_writer_abort(w);
		return r;
	}
	return cas_writer_commit(w);
}

static void assert_fd_content(int fd, const void *data, size_t len)
{
	_cleanup_free_ uint8_t *buf = xmalloc(len + 1);

	assert_int_equal(pread(fd, buf, len + 1, 0), (ssize_t)len);
	assert_memory_equal(buf, data, len);
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int count_tmp(const struct fixture *f)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/tmp", f->dir);
	return count_entries(p);
}

/* Number of files in objects/ab/ for the subdirectory of HASH. */
static int count_subdir(const struct fixture *f, const uint8_t hash[CAS_HASH_LEN])
{
	char hex[2 * CAS_HASH_LEN + 1], p[160];

	cas_hex(hash, hex);
	snprintf(p, sizeof(p), "%s/objects/%.2s", f->dir, hex);
	return count_entries(p);
}

static void object_path(const struct fixture *f, const uint8_t hash[CAS_HASH_LEN], char *p,
			size_t size)
{
	char hex[2 * CAS_HASH_LEN + 1];

	cas_hex(hash, hex);
	snprintf(p, size, "%s/objects/%.2s/%s", f->dir, hex, hex + 2);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/test_cas.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (cas_open(f->dir, 0, &f->c) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cas_close(f->c);
	rm_rf(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fixture *f, uint64_t max_bytes)
{
	cas_close(f->c);
	f->c = NULL;
	assert_int_equal(cas_open(f->dir, max_bytes, &f->c), 0);
}

static void test_hex(void **state)
{
	uint8_t h[CAS_HASH_LEN];
	char hex[2 * CAS_HASH_LEN + 1];

	(void)state;
	sha256("", 0, h);
	memset(hex, 'X', sizeof(hex));
	cas_hex(h, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	for (size_t i = 0; i < CAS_HASH_LEN; i++)
		h[i] = (uint8_t)((i % 16) * 0x11);
	cas_hex(h, hex);
	assert_string_equal(hex,
			    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
}

static void test_insert_open(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "hello, content-addressed world\n";
	uint8_t h[CAS_HASH_LEN], h2[CAS_HASH_LEN];
	struct cas_stats st;
	struct stat sb;
	char path[200];
	int fd, fd2;

	sha256(msg, sizeof(msg) - 1, h);
	fd = put(f->c, msg, sizeof(msg) - 1);
	assert_true(fd >= 0);
	assert_fd_content(fd, msg, sizeof(msg) - 1);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	/* In place at objects/ab/<62 hex>, read-only, nothing left in tmp/. */
	object_path(f, h, path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0444);
	assert_int_equal(sb.st_nlink, 1);
	assert_int_equal(count_tmp(f), 0);

	fd2 = cas_open_blob(f->c, h);
	assert_true(fd2 >= 0);
	assert_fd_content(fd2, msg, sizeof(msg) - 1);
	assert_int_equal(fcntl(fd2, F_GETFL) & O_ACCMODE, O_RDONLY);

	/* cas_hash_fd hashes from 0 and keeps the offset. */
	assert_int_equal(lseek(fd2, 5, SEEK_SET), 5);
	assert_int_equal(cas_hash_fd(fd2, h2), 0);
	assert_memory_equal(h, h2, CAS_HASH_LEN);
	assert_int_equal(lseek(fd2, 0, SEEK_CUR), 5);
	assert_int_equal(cas_hash_fd(-1, h2), -EBADF);

	cas_get_stats(f->c, &st);
	assert_int_equal(st.blobs, 1);
	assert_int_equal(st.bytes, sizeof(msg) - 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 0);
	assert_int_equal(st.evicted, 0);

	/* Inserting it again is fine and counts it once. */
	close(fd);
	fd = put(f->c, msg, sizeof(msg) - 1);
	assert_true(fd >= 0);
	cas_get_stats(f->c, &st);
	assert_int_equal(st.blobs, 1);
	assert_int_equal(st.bytes, sizeof(msg) - 1);
	assert_int_equal(count_subdir(f, h), 1);
	close(fd);
	close(fd2);
}

static void test_empty_blob(void **state)
{
	struct fixture *f = *state;
	uint8_t h[CAS_HASH_LEN];
	struct cas_writer *w;
	int fd;

	sha256("", 0, h);
	assert_int_equal(cas_writer_begin(f->c, h, 0, &w), 0);
	fd = cas_writer_commit(w);
	assert_true(fd >= 0);
	close(fd);
	fd = cas_open_blob(f->c, h);
	assert_true(fd >= 0);
	assert_fd_content(fd, "", 0);
	close(fd);
}

static void test_bad_hash(void **state)
{
	struct fixture *f = *state;
	uint8_t h[CAS_HASH_LEN];
	struct cas_writer *w;
	struct cas_stats st;

	sha256("right", 5, h);
	assert_int_equal(cas_writer_begin(f->c, h, 5, &w), 0);
	assert_int_equal(cas_writer_write(w, 0, "wrong", 5), 0);
	assert_int_equal(cas_writer_commit(w), -EBADMSG);
	assert_int_equal(cas_open_blob(f->c, h), -ENOENT);
	/* the announced blob is not there, nor the data under its own hash */
	sha256("wrong", 5, h);
	assert_int_equal(cas_open_blob(f->c, h), -ENOENT);
	assert_int_equal(count_tmp(f), 0);
	cas_get_stats(f->c, &st);
	assert_int_equal(st.blobs, 0);
	assert_int_equal(st.bytes, 0);
}

static void test_bad_size(void **state)
{
	struct fixture *f = *state;
	uint8_t h[CAS_HASH_LEN];
	struct cas_writer *w;

	/* Too short: the hash of the data written is right, the size is not. */
	sha256("hello", 5, h);
	assert_int_equal(cas_writer_begin(f->c, h, 10, &w), 0);
	assert_int_equal(cas_writer_write(w, 0, "hello", 5), 0);
	assert_int_equal(cas_writer_commit(w), -EBADMSG);
	assert_int_equal(cas_open_blob(f->c, h), -ENOENT);

	/* Past the announced size: refused at once. */
	assert_int_equal(cas_writer_begin(f->c, h, 5, &w), 0);
	assert_int_equal(cas_writer_write(w, 3, "hello", 5), -EFBIG);
	assert_int_equal(cas_writer_write(w, 6, "", 0), -EFBIG);
	assert_int_equal(cas_writer_write(w, UINT64_MAX, "h", 1), -EFBIG);
	assert_int_equal(cas_writer_write(w, 0, "hello", 5), 0);
	/* a hole at the end is a short file */
	cas_writer_abort(w);
	assert_int_equal(cas_writer_begin(f->c, h, 6, &w), 0);
	assert_int_equal(cas_writer_write(w, 0, "hello", 5), 0);
	assert_int_equal(cas_writer_commit(w), -EBADMSG);
	assert_int_equal(count_tmp(f), 0);
}

static void test_out_of_order(void **state)
{
	struct fixture *f = *state;
	const size_t len = (1U << 20) + 123, chunk = 4096;
	_cleanup_free_ uint8_t *data = make_data(len, 7);
	size_t nchunks = (len + chunk - 1) / chunk;
	uint8_t h[CAS_HASH_LEN], got[CAS_HASH_LEN];
	struct cas_writer *w;
	int fd;

	sha256(data, len, h);
	assert_int_equal(cas_writer_begin(f->c, h, len, &w), 0);
	/* odd chunks backwards, then even chunks backwards */
	for (int pass = 1; pass >= 0; pass--) {
		for (size_t i = nchunks; i-- > 0;) {
			size_t off = i * chunk, n = off + chunk > len ? len - off : chunk;

			if ((i & 1) == (size_t)pass)
				assert_int_equal(cas_writer_write(w, off, data + off, n), 0);
		}
	}
	fd = cas_writer_commit(w);
	assert_true(fd >= 0);
	assert_int_equal(cas_hash_fd(fd, got), 0);
	assert_memory_equal(got, h, CAS_HASH_LEN);
	assert_fd_content(fd, data, len);
	close(fd);
}

struct race {
	struct cas *c;
	const uint8_t *data;
	size_t len;
	pthread_barrier_t *barrier;
	int fd;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	uint8_t h[CAS_HASH_LEN];
	unsigned int n = 0;
	struct cas_writer *w;

	EVP_Digest(r->data, r->len, h, &n, EVP_sha256(), NULL);
	r->fd = cas_writer_begin(r->c, h, r->len, &w);
	if (r->fd == 0)
		r->fd = cas_writer_write(w, 0, r->data, r->len);
	pthread_barrier_wait(r->barrier);
	if (r->fd == 0)
		r->fd = cas_writer_commit(w);
	return NULL;
}

static void test_two_threads(void **state)
{
	struct fixture *f = *state;
	const size_t len = 300000;

	for (unsigned int round = 0; round < 20; round++) {
		_cleanup_free_ uint8_t *data = make_data(len, 100 + round);
		uint8_t h[CAS_HASH_LEN];
		pthread_barrier_t barrier;
		struct race r[2];
		pthread_t t[2];
		struct cas_stats st;

		pthread_barrier_init(&barrier, NULL, 2);
		for (int i = 0; i < 2; i++) {
			r[i] = (struct race){
				.c = f->c, .data = data, .len = len, .barrier = &barrier, .fd = -1
			};
			assert_int_equal(pthread_create(&t[i], NULL, race_writer, &r[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&barrier);
		for (int i = 0; i < 2; i++) {
			assert_true(r[i].fd >= 0);
			assert_fd_content(r[i].fd, data, len);
			close(r[i].fd);
		}
		sha256(data, len, h);
		cas_get_stats(f->c, &st);
		assert_int_equal(st.blobs, round + 1);
		assert_int_equal(st.bytes, (round + 1) * len);
		assert_int_equal(count_tmp(f), 0);
	}
}

struct churn {
	struct cas *c;
	uint8_t **data;
	unsigned int seed;
	int bad;
};

#define CHURN_BLOBS 16
#define CHURN_LEN 4096

/* Insert and open blobs at random while the cap forces evictions. */
static void *churn_thread(void *arg)
{
	struct churn *ch = arg;
	_cleanup_free_ uint8_t *buf = xmalloc(CHURN_LEN);

	for (int i = 0; i < 400; i++) {
		unsigned int k = (unsigned int)rand_r(&ch->seed) % CHURN_BLOBS;
		uint8_t h[CAS_HASH_LEN];
		unsigned int n = 0;
		int fd;

		EVP_Digest(ch->data[k], CHURN_LEN, h, &n, EVP_sha256(), NULL);
		fd = cas_open_blob(ch->c, h);
		if (fd == -ENOENT)
			fd = put(ch->c, ch->data[k], CHURN_LEN);
		if (fd < 0 || pread(fd, buf, CHURN_LEN, 0) != CHURN_LEN ||
		    memcmp(buf, ch->data[k], CHURN_LEN))
			ch->bad++;
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static void test_threads_churn(void **state)
{
	struct fixture *f = *state;
	uint8_t *data[CHURN_BLOBS];
	struct churn ch[4];
	pthread_t t[4];
	struct cas_stats st, st2;

	for (int i = 0; i < CHURN_BLOBS; i++)
		data[i] = make_data(CHURN_LEN, 300 + i);
	reopen(f, 5 * CHURN_LEN);
	for (int i = 0; i < 4; i++) {
		ch[i] = (struct churn){ .c = f->c, .data = data, .seed = 17 + i };
		assert_int_equal(pthread_create(&t[i], NULL, churn_thread, &ch[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(ch[i].bad, 0);
	}
	cas_get_stats(f->c, &st);
	assert_true(st.bytes <= 5 * CHURN_LEN);
	assert_int_equal(st.bytes, st.blobs * CHURN_LEN);
	assert_true(st.evicted > 0);
	assert_int_equal(st.hits + st.misses, 4 * 400);
	assert_int_equal(count_tmp(f), 0);
	/* the index agrees with the directory */
	reopen(f, 0);
	cas_get_stats(f->c, &st2);
	assert_int_equal(st2.blobs, st.blobs);
	assert_int_equal(st2.bytes, st.bytes);
	for (int i = 0; i < CHURN_BLOBS; i++)
		free(data[i]);
}

static void test_two_processes(void **state)
{
	struct fixture *f = *state;
	const size_t len = 200000;

	for (unsigned int round = 0; round < 10; round++) {
		_cleanup_free_ uint8_t *data = make_data(len, 200 + round);
		int to_child[2], to_parent[2], status, fd;
		uint8_t h[CAS_HASH_LEN];
		struct cas_writer *w;
		struct cas_stats st;
		char ch = 'x';
		pid_t pid;

		sha256(data, len, h);
		assert_int_equal(pipe(to_child), 0);
		assert_int_equal(pipe(to_parent), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			/* a second mosd: its own struct cas on the same directory */
			struct cas *c2;
			int r = cas_open(f->dir, 0, &c2);

			if (r == 0)
				r = cas_writer_begin(c2, h, len, &w);
			if (r == 0)
				r = cas_writer_write(w, 0, data, len);
			if (write(to_parent[1], &ch, 1) != 1 || read(to_child[0], &ch, 1) != 1)
				_exit(3);
			if (r == 0)
				r = cas_writer_commit(w);
			if (r < 0)
				_exit(1);
			if (pread(r, data, len, 0) != (ssize_t)len)
				_exit(2);
			_exit(0);
		}
		assert_int_equal(cas_writer_begin(f->c, h, len, &w), 0);
		assert_int_equal(cas_writer_write(w, 0, data, len), 0);
		assert_int_equal(read(to_parent[0], &ch, 1), 1);
		assert_int_equal(write(to_child[1], &ch, 1), 1);
		fd = cas_writer_commit(w);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_true(fd >= 0);
		assert_fd_content(fd, data, len);
		close(fd);
		for (int i = 0; i < 2; i++) {
			close(to_child[i]);
			close(to_parent[i]);
		}
		cas_get_stats(f->c, &st);
		assert_int_equal(st.blobs, round + 1);
		assert_int_equal(st.bytes, (round + 1) * len);
		assert_int_equal(count_tmp(f), 0);
	}
	/* one copy of each: 10 blobs in all */
	reopen(f, 0);
	{
		struct cas_stats st;

		cas_get_stats(f->c, &st);
		assert_int_equal(st.blobs, 10);
		assert_int_equal(st.bytes, 10 * len);
	}
}

static void test_evict_lru(void **state)
{
	struct fixture *f = *state;
	const size_t len = 1000;
	_cleanup_free_ uint8_t *a = make_data(len, 1);
	_cleanup_free_ uint8_t *b = make_data(len, 2);
	_cleanup_free_ uint8_t *cc = make_data(len, 3);
	_cleanup_free_ uint8_t *d = make_data(len, 4);
	_cleanup_free_ uint8_t *big = make_data(5000, 5);
	uint8_t ha[CAS_HASH_LEN], hb[CAS_HASH_LEN], hc[CAS_HASH_LEN], hd[CAS_HASH_LEN];
	uint8_t hbig[CAS_HASH_LEN];
	int fd, fd_b;
	struct cas_stats st;

	sha256(a, len, ha);
	sha256(b, len, hb);
	sha256(cc, len, hc);
	sha256(d, len, hd);
	sha256(big, 5000, hbig);
	reopen(f, 3000);

	close(put(f->c, a, len));
	fd_b = put(f->c, b, len); /* kept open across its eviction */
	assert_true(fd_b >= 0);
	close(put(f->c, cc, len));
	cas_get_stats(f->c, &st);
	assert_int_equal(st.bytes, 3000); /* at the cap, not over it */
	assert_int_equal(st.evicted, 0);

	/* A was inserted first but is now the most recently used: B goes. */
	fd = cas_open_blob(f->c, ha);
	assert_true(fd >= 0);
	close(fd);
	fd = put(f->c, d, len);
	assert_true(fd >= 0);
	close(fd);
	cas_get_stats(f->c, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.blobs, 3);
	assert_int_equal(st.bytes, 3000);
	assert_int_equal(cas_open_blob(f->c, hb), -ENOENT);
	assert_fd_content(fd_b, b, len);
	close(fd_b);
	fd = cas_open_blob(f->c, ha);
	assert_true(fd >= 0);
	close(fd);
	fd = cas_open_blob(f->c, hc);
	assert_true(fd >= 0);
	close(fd);
	fd = cas_open_blob(f->c, hd);
	assert_true(fd >= 0);
	close(fd);

	/* A blob bigger than the cap evicts everything else but stays itself. */
	fd = put(f->c, big, 5000);
	assert_true(fd >= 0);
	assert_fd_content(fd, big, 5000);
	close(fd);
	cas_get_stats(f->c, &st);
	assert_int_equal(st.blobs, 1);
	assert_int_equal(st.bytes, 5000);
	assert_int_equal(st.evicted, 4);
	fd = cas_open_blob(f->c, hbig);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cas_open_blob(f->c, ha), -ENOENT);
}

static void set_mtime(const struct fixture *f, const uint8_t hash[CAS_HASH_LEN], time_t t)
{
	struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };
	char path[200];

	object_path(f, hash, path, sizeof(path));
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_reopen(void **state)
{
	struct fixture *f = *state;
	const size_t len[3] = { 100, 2000, 30 };
	uint8_t *data[3], h[3][CAS_HASH_LEN];
	struct cas_stats st;
	time_t now = time(NULL);
	int fd;

	for (int i = 0; i < 3; i++) {
		data[i] = make_data(len[i], 10 + i);
		sha256(data[i], len[i], h[i]);
		fd = put(f->c, data[i], len[i]);
		assert_true(fd >= 0);
		close(fd);
	}
	reopen(f, 0);
	cas_get_stats(f->c, &st);
	assert_int_equal(st.blobs, 3);
	assert_int_equal(st.bytes, 2130);
	assert_int_equal(st.hits, 0);
	for (int i = 0; i < 3; i++) {
		fd = cas_open_blob(f->c, h[i]);
		assert_true(fd >= 0);
		assert_fd_content(fd, data[i], len[i]);
		close(fd);
	}

	/* The mtime orders blobs after a restart: a lower cap evicts the oldest. */
	set_mtime(f, h[0], now - 300);
	set_mtime(f, h[1], now - 100);
	set_mtime(f, h[2], now - 200);
	reopen(f, 2100);
	cas_get_stats(f->c, &st);
	assert_int_equal(st.blobs, 2);
	assert_int_equal(st.bytes, 2030);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(cas_open_blob(f->c, h[0]), -ENOENT);
	for (int i = 1; i < 3; i++) {
		fd = cas_open_blob(f->c, h[i]);
		assert_true(fd >= 0);
		close(fd);
	}
	/* and an open hands the blob out: its mtime is now */
	{
		char path[200];
		struct stat sb;

		object_path(f, h[1], path, sizeof(path));
		assert_int_equal(stat(path, &sb), 0);
		assert_true(sb.st_mtime >= now - 5);
	}
	for (int i = 0; i < 3; i++)
		free(data[i]);
}

static void test_stale_tmp(void **state)
{
	struct fixture *f = *state;
	struct timespec old[2] = { { .tv_sec = time(NULL) - 7200 },
				   { .tv_sec = time(NULL) - 7200 } };
	char p_old[128], p_new[128];
	int fd;

	snprintf(p_old, sizeof(p_old), "%s/tmp/w.99999.1.2", f->dir);
	snprintf(p_new, sizeof(p_new), "%s/tmp/w.99999.3.4", f->dir);
	fd = open(p_old, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, "partial", 7), 0);
	close(fd);
	assert_int_equal(utimensat(AT_FDCWD, p_old, old, 0), 0);
	fd = open(p_new, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);

	reopen(f, 0);
	assert_int_equal(access(p_old, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	/* a recent one may belong to a writer of another process */
	assert_int_equal(access(p_new, F_OK), 0);
	assert_int_equal(count_tmp(f), 1);
}

static void test_missing(void **state)
{
	struct fixture *f = *state;
	uint8_t h[CAS_HASH_LEN];
	struct cas_stats st;

	sha256("never inserted", 14, h);
	assert_int_equal(cas_open_blob(f->c, h), -ENOENT);
	assert_int_equal(cas_open_blob(f->c, h), -ENOENT);
	cas_get_stats(f->c, &st);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.blobs, 0);
}

static void test_abort(void **state)
{
	struct fixture *f = *state;
	uint8_t h[CAS_HASH_LEN];
	struct cas_writer *w;

	sha256("abc", 3, h);
	assert_int_equal(cas_writer_begin(f->c, h, 3, &w), 0);
	assert_int_equal(count_tmp(f), 1);
	assert_int_equal(cas_writer_write(w, 0, "abc", 3), 0);
	cas_writer_abort(w);
	cas_writer_abort(NULL);
	assert_int_equal(count_tmp(f), 0);
	assert_int_equal(cas_open_blob(f->c, h), -ENOENT);
}

/* Another process on the same directory adds and removes blobs. */
static void test_shared_dir(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "put there by someone else";
	uint8_t h[CAS_HASH_LEN];
	struct cas *other;
	struct cas_stats st;
	char path[200];
	int fd;

	sha256(msg, sizeof(msg) - 1, h);
	assert_int_equal(cas_open(f->dir, 0, &other), 0);
	fd = put(other, msg, sizeof(msg) - 1);
	assert_true(fd >= 0);
	close(fd);
	cas_close(other);

	/* not in our index: found on disk, then counted */
	fd = cas_open_blob(f->c, h);
	assert_true(fd >= 0);
	assert_fd_content(fd, msg, sizeof(msg) - 1);
	close(fd);
	cas_get_stats(f->c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.blobs, 1);
	assert_int_equal(st.bytes, sizeof(msg) - 1);

	/* removed behind our back: a miss, and it leaves the index */
	object_path(f, h, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cas_open_blob(f->c, h), -ENOENT);
	cas_get_stats(f->c, &st);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.blobs, 0);
	assert_int_equal(st.bytes, 0);
}

static void test_open_creates_dir(void **state)
{
	struct fixture *f = *state;
	struct cas *c;
	struct stat sb;
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/a/b/cache", f->dir);
	assert_int_equal(cas_open(p, 0, &c), 0);
	cas_close(c);
	snprintf(p, sizeof(p), "%s/a/b/cache/objects", f->dir);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	snprintf(p, sizeof(p), "%s/a/b/cache/tmp", f->dir);
	assert_int_equal(stat(p, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	/* a file where the directory should be */
	snprintf(p, sizeof(p), "%s/a/file", f->dir);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(cas_open(p, 0, &c), -ENOTDIR);
	assert_int_equal(cas_open("", 0, &c), -EINVAL);
}

/* ---- verification ---- */

static struct cas_stats stats(struct cas *c)
{
	struct cas_stats st;

	cas_get_stats(c, &st);
	return st;
}

static void put_closed(struct cas *c, const void *data, size_t len)
{
	int fd = put(c, data, len);

	assert_true(fd >= 0);
	close(fd);
}

/* Open the blob of DATA, check its content, close it. */
static void open_check(struct cas *c, const void *data, size_t len)
{
	uint8_t h[CAS_HASH_LEN];
	int fd;

	sha256(data, len, h);
	fd = cas_open_blob(c, h);
	assert_true(fd >= 0);
	assert_fd_content(fd, data, len);
	close(fd);
}

/*
 * Change one byte of the blob HASH in place, size kept, as a tampering admin
 * or a disk would.  The pause first: without multigrain timestamps (Linux <
 * 6.13) a change within the same clock tick as the recorded state keeps the
 * ctime, and this is about changes that move it.
 */
static void flip_byte(const struct fixture *f, const uint8_t hash[CAS_HASH_LEN], off_t off)
{
	char path[200];
	uint8_t b;
	int fd;

	usleep(20000);
	object_path(f, hash, path, sizeof(path));
	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
	assert_int_equal(chmod(path, 0444), 0);
}

static off_t log_size(const struct fixture *f)
{
	char p[128];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/verified", f->dir);
	assert_int_equal(stat(p, &sb), 0);
	return sb.st_size;
}

static void log_append_raw(const struct fixture *f, const void *data, size_t len)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/verified", f->dir);
	fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, len), 0);
	close(fd);
}

static void test_corrupt_blob_removed(void **state)
{
	struct fixture *f = *state;
	const size_t len = 100000;
	_cleanup_free_ uint8_t *data = make_data(len, 40);
	uint8_t h[CAS_HASH_LEN];
	struct cas_stats st;
	struct stat sb;
	char path[200];
	int fd;

	sha256(data, len, h);
	object_path(f, h, path, sizeof(path));
	put_closed(f->c, data, len);
	open_check(f->c, data, len);
	assert_int_equal(stats(f->c).rehashed, 0);

	flip_byte(f, h, 54321);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, (off_t)len);
	assert_int_equal(cas_open_blob(f->c, h), -ENOENT);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	st = stats(f->c);
	assert_int_equal(st.corrupt, 1);
	assert_int_equal(st.rehashed, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.blobs, 0);
	assert_int_equal(st.bytes, 0);

	/* fetched again: in place, and trusted without a second hash */
	fd = put(f->c, data, len);
	assert_true(fd >= 0);
	assert_fd_content(fd, data, len);
	close(fd);
	open_check(f->c, data, len);
	st = stats(f->c);
	assert_int_equal(st.corrupt, 1);
	assert_int_equal(st.rehashed, 1);
	assert_int_equal(st.blobs, 1);
	assert_int_equal(st.hits, 2);

	/* the same corruption after a restart: the log, not memory, is the judge */
	reopen(f, 0);
	flip_byte(f, h, 0);
	assert_int_equal(cas_open_blob(f->c, h), -ENOENT);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(stats(f->c).corrupt, 1);
}

/* A writer that meets a corrupt copy in place replaces it with its own. */
static void test_commit_replaces_corrupt_copy(void **state)
{
	struct fixture *f = *state;
	const size_t len = 5000;
	_cleanup_free_ uint8_t *data = make_data(len, 41);
	uint8_t h[CAS_HASH_LEN];

	sha256(data, len, h);
	put_closed(f->c, data, len);
	flip_byte(f, h, 10);
	put_closed(f->c, data, len);
	open_check(f->c, data, len);
	assert_int_equal(count_subdir(f, h), 1);
	assert_int_equal(stats(f->c).rehashed, 0);
}

static void test_trust_survives_reopen(void **state)
{
	struct fixture *f = *state;
	const size_t len[3] = { 1, 70000, 4096 };
	uint8_t *data[3], h[3][CAS_HASH_LEN];
	struct cas_stats st;
	time_t now = time(NULL);

	for (int i = 0; i < 3; i++) {
		data[i] = make_data(len[i], 50 + i);
		sha256(data[i], len[i], h[i]);
		put_closed(f->c, data[i], len[i]);
	}
	reopen(f, 0);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3; i++)
			open_check(f->c, data[i], len[i]);
	st = stats(f->c);
	assert_int_equal(st.hits, 6);
	assert_int_equal(st.rehashed, 0);
	assert_int_equal(log_size(f) % 64, 0);

	/*
	 * Someone else's utimensat moves the ctime: hashed once on the next
	 * open.  That open also makes the LRU touch (the mtime read at open is
	 * old), which moves the ctime again: the record it writes after the
	 * touch keeps the blob trusted, here and after a restart.
	 */
	set_mtime(f, h[1], now - 1000);
	reopen(f, 0);
	open_check(f->c, data[1], len[1]);
	assert_int_equal(stats(f->c).rehashed, 1);
	{
		char path[200];
		struct stat sb;

		object_path(f, h[1], path, sizeof(path));
		assert_int_equal(stat(path, &sb), 0);
		assert_true(sb.st_mtime >= now - 5); /* it was touched */
	}
	open_check(f->c, data[1], len[1]);
	assert_int_equal(stats(f->c).rehashed, 1);
	reopen(f, 0);
	for (int i = 0; i < 3; i++)
		open_check(f->c, data[i], len[i]);
	assert_int_equal(stats(f->c).rehashed, 0);
	for (int i = 0; i < 3; i++)
		free(data[i]);
}

/* Records one struct cas appends are found by another on the same DIR. */
static void test_log_shared_between_caches(void **state)
{
	struct fixture *f = *state;
	const size_t len = 30000;
	_cleanup_free_ uint8_t *a = make_data(len, 60);
	_cleanup_free_ uint8_t *b = make_data(len, 61);
	uint8_t ha[CAS_HASH_LEN];
	struct cas *other;
	pid_t pid;
	int status;

	sha256(a, len, ha);
	assert_int_equal(cas_open(f->dir, 0, &other), 0);
	put_closed(f->c, a, len); /* after OTHER loaded the log */
	open_check(other, a, len);
	assert_int_equal(stats(other).rehashed, 0);
	assert_int_equal(stats(other).hits, 1);

	/* and from a forked process (mosd's per-connection children) back */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = put(other, b, len);

		_exit(fd >= 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	open_check(f->c, b, len);
	open_check(other, b, len);
	assert_int_equal(stats(f->c).rehashed, 0);
	assert_int_equal(stats(other).rehashed, 0);

	/* corruption found by one is a miss for both */
	flip_byte(f, ha, 3);
	assert_int_equal(cas_open_blob(other, ha), -ENOENT);
	assert_int_equal(cas_open_blob(f->c, ha), -ENOENT);
	assert_int_equal(stats(other).corrupt, 1);
	cas_close(other);
}

static void test_log_missing_or_torn(void **state)
{
	struct fixture *f = *state;
	const size_t len = 2000;
	_cleanup_free_ uint8_t *a = make_data(len, 70);
	_cleanup_free_ uint8_t *b = make_data(len, 71);
	static const uint8_t junk[30] = { 1, 2, 3 };
	char p[128];

	put_closed(f->c, a, len);
	put_closed(f->c, b, len);

	/* torn last record (a crash mid-append): ignored, the rest holds */
	cas_close(f->c);
	f->c = NULL;
	log_append_raw(f, junk, sizeof(junk));
	assert_int_equal(cas_open(f->dir, 0, &f->c), 0);
	open_check(f->c, a, len);
	open_check(f->c, b, len);
	assert_int_equal(stats(f->c).rehashed, 0);
	/* rewritten aligned at once, so later appends are whole records */
	assert_int_equal(log_size(f), 2 * 64);

	/* no log at all: each blob is hashed once, then trusted again */
	snprintf(p, sizeof(p), "%s/verified", f->dir);
	assert_int_equal(unlink(p), 0);
	reopen(f, 0);
	for (int i = 0; i < 2; i++) {
		open_check(f->c, a, len);
		open_check(f->c, b, len);
	}
	assert_int_equal(stats(f->c).rehashed, 2);
	assert_int_equal(stats(f->c).corrupt, 0);
	reopen(f, 0);
	open_check(f->c, a, len);
	open_check(f->c, b, len);
	assert_int_equal(stats(f->c).rehashed, 0);
}

/* A damaged record in a live log: another cache rewrites it, this one follows. */
static void test_log_compacted_online(void **state)
{
	struct fixture *f = *state;
	const size_t len = 3000;
	_cleanup_free_ uint8_t *a = make_data(len, 80);
	_cleanup_free_ uint8_t *b = make_data(len, 81);
	_cleanup_free_ uint8_t *cc = make_data(len, 82);
	uint8_t junk[64], hb[CAS_HASH_LEN];
	struct cas *other;
	struct stat before, after;
	char p[128];

	memset(junk, 0xa5, sizeof(junk));
	snprintf(p, sizeof(p), "%s/verified", f->dir);
	sha256(b, len, hb);
	put_closed(f->c, a, len);
	put_closed(f->c, b, len);
	/* obsolete records (a removed blob, a blob changed since) and a bad one */
	{
		char path[200];

		object_path(f, hb, path, sizeof(path));
		assert_int_equal(unlink(path), 0);
	}
	put_closed(f->c, b, len);
	log_append_raw(f, junk, sizeof(junk));
	assert_int_equal(stat(p, &before), 0);
	assert_int_equal(before.st_size, 4 * 64);

	assert_int_equal(cas_open(f->dir, 0, &other), 0);
	/* rewritten at open: the bad record and the one of the old B are gone */
	assert_int_equal(stat(p, &after), 0);
	assert_true(after.st_ino != before.st_ino);
	assert_int_equal(after.st_size, 2 * 64);
	/* F->C still appends to the old inode until it reads again: it finds
	 * the new file when a lookup misses and reloads it */
	put_closed(other, cc, len);
	open_check(f->c, cc, len);
	open_check(f->c, a, len);
	open_check(f->c, b, len);
	assert_int_equal(stats(f->c).rehashed, 0);
	put_closed(f->c, "d", 1); /* appends to the new file now */
	assert_int_equal(log_size(f), 4 * 64);
	cas_close(other);
	assert_int_equal(access(p, F_OK), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		T(test_insert_open),
		T(test_empty_blob),
		T(test_bad_hash),
		T(test_bad_size),
		T(test_out_of_order),
		T(test_two_threads),
		T(test_threads_churn),
		T(test_two_processes),
		T(test_evict_lru),
		T(test_reopen),
		T(test_stale_tmp),
		T(test_missing),
		T(test_abort),
		T(test_shared_dir),
		T(test_open_creates_dir),
		T(test_corrupt_blob_removed),
		T(test_commit_replaces_corrupt_copy),
		T(test_trust_survives_reopen),
		T(test_log_shared_between_caches),
		T(test_log_missing_or_torn),
		T(test_log_compacted_online),
	};

	return cmocka_run_group_tests_name("cas", tests, NULL, NULL);
}
