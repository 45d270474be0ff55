// SPDX-License-Identifier: GPL-2.0-only
/*
 * seeds.c - the fuzz targets' first inputs, written into DIR/TARGET/seed-*
 * (`make fuzz-seeds`, which writes fuzz/corpus): frames made by wire.c's
 * encoder as mosctl and mosd send them, the policies of Documentation/
 * (every ```json block) and of the unit tests, the flags the tests use,
 * real control requests and decider answers, and mosfs sessions that look
 * up, list, read, write and rename.  The fuzzers grow the corpora from
 * these; keeping the seeds here says what each input format is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse_compat.h"
#include "util.h"
#include "wire.h"

static const char *outdir;

static void save(const char *target, const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", outdir, target, name);
	f = fopen(path, "we");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "seeds: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* A growable byte string. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct bytes *b, const void *p, size_t n)
{
	if (!n)
		return;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put_u8(struct bytes *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_u16(struct bytes *b, uint16_t v)
{
	put(b, &v, 2);
}

static void put_frame(struct bytes *b, struct wire_buf *w)
{
	size_t n = wire_buf_finish(w);

	put(b, w->p, n);
	wire_buf_free(w);
}

/* ---- frames ---- */

#define TREE "/nonexistent-mosingar-fuzz" /* fuzz_wire.c's FUZZ_TREE */

static const uint8_t sha_hello[32] = { /* SHA-256 of "hello\n" */
				       0x58, 0x91, 0xb5, 0xb5, 0x22, 0xd5, 0xdf, 0x08,
				       0x6d, 0x0f, 0xf0, 0xb1, 0x10, 0xfb, 0xd9, 0xd2,
				       0x1b, 0xb4, 0xfc, 0x71, 0x63, 0xaf, 0x34, 0xd0,
				       0x82, 0x86, 0xa2, 0xe8, 0x46, 0xf6, 0xbe, 0x03
};
static const uint8_t sha_empty[32] = { /* SHA-256 of "" */
				       0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
				       0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
				       0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
				       0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55
};

/* Every byte set, padding included: the seeds are the same bytes each time. */
static void attr(struct mos_attr *a, uint32_t mode, uint64_t size)
{
	memset(a, 0, sizeof(*a));
	a->ino = 1000 + (mode & 0777);
	a->size = size;
	a->mode = mode;
	a->uid = 1000;
	a->gid = 1000;
	a->nlink = 1;
	a->mtime_sec = 1700000000;
}

struct ent {
	const char *name;
	uint32_t mode;
	uint64_t size;
	const char *link;
};

/* A LISTDIR reply's body (after the path, for PRELOAD_LISTDIR), as
 * origin_serve.c's send_listing writes it. */
static void put_listing(struct wire_buf *w, const struct ent *e, size_t n)
{
	struct mos_attr dir;

	attr(&dir, S_IFDIR | 0755, 4096);
	wire_put(w, &dir, sizeof(dir));
	for (size_t i = 0; i < n; i++) {
		struct mos_dirent_hdr d;

		memset(&d, 0, sizeof(d));
		attr(&d.attr, e[i].mode, e[i].size);
		d.name_len = (uint16_t)strlen(e[i].name);
		d.link_len = (uint16_t)(e[i].link ? strlen(e[i].link) : 0);
		wire_put(w, &d, sizeof(d));
		wire_put(w, e[i].name, d.name_len);
		if (e[i].link)
			wire_put(w, e[i].link, d.link_len);
	}
}

static const struct ent root_ents[] = {
	{ "dir", S_IFDIR | 0755, 4096, NULL }, { "file", S_IFREG | 0644, 6, NULL },
	{ "link", S_IFLNK | 0777, 4, "file" }, { "x.c", S_IFREG | 0644, 0, NULL },
	{ "sub", S_IFDIR | 0700, 4096, NULL }, { "abs", S_IFLNK | 0777, 8, "/etc/hosts" },
};
static const struct ent dir_ents[] = {
	{ "a", S_IFREG | 0755, 6, NULL },
	{ "b", S_IFDIR | 0755, 4096, NULL },
};

static void preload_listing(struct wire_buf *w, const char *path, const struct ent *e, size_t n,
			    bool more)
{
	wire_buf_start(w, MOS_MSG_PRELOAD_LISTDIR, more ? MOS_F_MORE : 0, 0);
	wire_put_str(w, path);
	put_listing(w, e, n);
}

static void preload_open(struct wire_buf *w, const char *path, uint64_t size, const uint8_t *sha)
{
	struct mos_open_reply o;

	attr(&o.attr, S_IFREG | 0644, size);
	memcpy(o.sha256, sha, 32);
	wire_buf_start(w, MOS_MSG_PRELOAD_OPEN, 0, 0);
	wire_put_str(w, path);
	wire_put(w, &o, sizeof(o));
}

/* As remote_run.c's send_job. */
static void job(struct wire_buf *w, char *const *argv, char *const *env, const char *cwd,
		char *const *sandbox)
{
	struct mos_job j = { .uid = 1000,
			     .gid = 1000,
			     .umask = 022,
			     .flags = MOS_JOB_STDIN,
			     .rows = 24,
			     .cols = 80 };

	for (; argv[j.nargv]; j.nargv++)
		;
	for (; env[j.nenv]; j.nenv++)
		;
	for (; sandbox[j.nsandbox]; j.nsandbox++)
		;
	wire_buf_start(w, MOS_MSG_JOB, 0, 0);
	wire_put(w, &j, sizeof(j));
	for (uint32_t i = 0; i < j.nargv; i++)
		wire_put_str(w, argv[i]);
	for (uint32_t i = 0; i < j.nenv; i++)
		wire_put_str(w, env[i]);
	wire_put_str(w, cwd);
	for (uint32_t i = 0; i < j.nsandbox; i++)
		wire_put_str(w, sandbox[i]);
}

static void path_req(struct wire_buf *w, uint8_t type, const void *body, size_t blen,
		     const char *p1, const char *p2)
{
	static uint32_t id;

	wire_buf_start(w, type, 0, ++id);
	if (blen)
		wire_put(w, body, blen);
	wire_put_str(w, p1);
	if (p2)
		wire_put_str(w, p2);
}

static void seeds_wire(void)
{
	struct bytes s = { 0 }, one;
	struct wire_buf w = { 0 };
	char *argv[] = { "cc", "-c", "x.c", "-o", "x.o", NULL };
	char *env[] = { "PATH=/usr/bin:/bin", "HOME=/home/u", NULL };
	char *sandbox[] = { "--system",	       "--write",   "/home/u/src", "--net-allow",
			    "example.org:443", "--timeout", "30",	   NULL };
	struct mos_signal sig = { .signo = 15 };
	struct mos_winsize ws = { .rows = 50, .cols = 132 };
	struct mos_credit cr = { .bytes = 4096 };
	struct mos_fetch f = { .length = 6 };
	struct mos_put p = { .mode = 0644, .size = 6 };
	struct mos_put_data pd = { .handle = 1 };
	struct mos_put_end pe = { .handle = 1, .mtime_sec = 1700000000 };
	struct mos_mode_arg m = { .mode = 0755 };
	struct mos_rename rn = { .flags = 0 };
	struct mos_truncate tr = { .size = 3 };
	struct mos_utimens ut = { .atime_nsec = UTIME_NOW, .mtime_nsec = UTIME_OMIT };
	struct mos_exit ex = { .status = 0, .fuse_requests = 12 };
	struct mos_error er = { .err = ENOENT };

	/* what the origin sends a worker */
	wire_hello_build(&w, 1);
	put_frame(&s, &w);
	preload_listing(&w, "/", root_ents, ARRAY_SIZE(root_ents), true);
	put_frame(&s, &w);
	preload_listing(&w, "/", dir_ents, 1, false);
	put_frame(&s, &w);
	preload_listing(&w, "/home/u/src", dir_ents, ARRAY_SIZE(dir_ents), false);
	put_frame(&s, &w);
	preload_open(&w, "/home/u/src/a", 6, sha_hello);
	put_frame(&s, &w);
	job(&w, argv, env, "/home/u/src", sandbox);
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_STDIN, 0, 0);
	wire_put_var(&w, "input\n", 6);
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_WINSIZE, 0, 0);
	wire_put(&w, &ws, sizeof(ws));
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_CREDIT, 0, 0);
	wire_put(&w, &cr, sizeof(cr));
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_SIGNAL, 0, 0);
	wire_put(&w, &sig, sizeof(sig));
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_PING, 0, 7);
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_STDIN, 0, 0);
	wire_put_var(&w, NULL, 0);
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_CANCEL, 0, 0);
	put_frame(&s, &w);
	save("fuzz_wire", "origin-to-worker", s.p, s.len);

	/* what a worker asks of the origin, and sends it */
	s.len = 0;
	wire_hello_build(&w, 2);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_LISTDIR, NULL, 0, TREE "/r", NULL);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_STAT, NULL, 0, TREE "/r/x", NULL);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_OPEN, NULL, 0, TREE "/r/x", NULL);
	put_frame(&s, &w);
	memcpy(f.sha256, sha_hello, 32);
	wire_buf_start(&w, MOS_MSG_FETCH, 0, 9);
	wire_put(&w, &f, sizeof(f));
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_FETCH_SPARSE, 0, 11);
	wire_put(&w, &f, sizeof(f));
	put_frame(&s, &w);
	{
		struct mos_fetch_extent x = { .offset = 4096 };

		wire_buf_start(&w, MOS_MSG_FETCH_SPARSE, MOS_F_REPLY | MOS_F_MORE, 12);
		wire_put(&w, &x, sizeof(x));
		wire_put_var(&w, "data", 4);
		put_frame(&s, &w);
		wire_buf_start(&w, MOS_MSG_PING, MOS_F_REPLY, 7);
		put_frame(&s, &w);
	}
	path_req(&w, MOS_MSG_PUT_BEGIN, &p, sizeof(p), TREE "/w/out", NULL);
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_PUT_DATA, 0, 0);
	wire_put(&w, &pd, sizeof(pd));
	wire_put_var(&w, "hello\n", 6);
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_PUT_END, 0, 10);
	wire_put(&w, &pe, sizeof(pe));
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_MKDIR, &m, sizeof(m), TREE "/w/d", NULL);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_CHMOD, &m, sizeof(m), TREE "/w/d", NULL);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_RENAME, &rn, sizeof(rn), TREE "/w/d", TREE "/w/e");
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_SYMLINK, NULL, 0, "../r/x", TREE "/w/l");
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_LINK, NULL, 0, TREE "/w/out", TREE "/w/out2");
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_TRUNCATE, &tr, sizeof(tr), TREE "/w/out", NULL);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_UTIMENS, &ut, sizeof(ut), TREE "/w/out", NULL);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_UNLINK, NULL, 0, TREE "/w/out2", NULL);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_RMDIR, NULL, 0, TREE "/w/e", NULL);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_OPEN, NULL, 0, TREE "/w/deny/secret", NULL);
	put_frame(&s, &w);
	path_req(&w, MOS_MSG_OPEN, NULL, 0, TREE "/w/../../etc/shadow", NULL);
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_STDOUT, 0, 0);
	wire_put_var(&w, "x.o\n", 4);
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_STDERR, 0, 0);
	wire_put_var(&w, "warning\n", 8);
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_ERROR, MOS_F_REPLY, 3);
	wire_put(&w, &er, sizeof(er));
	wire_put_str(&w, "");
	put_frame(&s, &w);
	wire_buf_start(&w, MOS_MSG_EXIT, 0, 0);
	wire_put(&w, &ex, sizeof(ex));
	wire_put_str(&w, "");
	put_frame(&s, &w);
	save("fuzz_wire", "worker-to-origin", s.p, s.len);

	/* the JOB alone: the biggest parser */
	one = (struct bytes){ 0 };
	job(&w, argv, env, "/", (char *[]){ NULL });
	put_frame(&one, &w);
	save("fuzz_wire", "job", one.p, one.len);
	free(one.p);
	free(s.p);
}

/* ---- mosfs sessions: origin frames, answers, FUSE requests ---- */

static void mosfs_frame(struct bytes *s, uint8_t kind, struct wire_buf *w)
{
	size_t n = wire_buf_finish(w);
	size_t plen = n - sizeof(struct mos_frame_hdr);

	put_u8(s, kind);
	put_u16(s, (uint16_t)plen);
	put(s, w->p + sizeof(struct mos_frame_hdr), plen);
	wire_buf_free(w);
}

/* A request for fuzz_mosfs.c's one_request: an index into its ops[] table
 * (OPS_*), the node (an index into the ids replies gave, 0 the root),
 * then the opcode's struct, handles and names as that table says. */
enum {
	OPS_LOOKUP = 0,
	OPS_GETATTR = 2,
	OPS_SETATTR = 3,
	OPS_READLINK = 4,
	OPS_SYMLINK = 5,
	OPS_MKDIR = 7,
	OPS_UNLINK = 8,
	OPS_RENAME = 10,
	OPS_OPEN = 13,
	OPS_READ = 14,
	OPS_WRITE = 15,
	OPS_RELEASE = 16,
	OPS_FLUSH = 18,
	OPS_OPENDIR = 19,
	OPS_READDIRPLUS = 21,
	OPS_CREATE = 24,
};

static void name(struct bytes *s, const char *n)
{
	put_u8(s, (uint8_t)strlen(n));
	put(s, n, strlen(n));
}

static void req(struct bytes *s, uint8_t op, uint8_t node, const void *fixed, size_t flen)
{
	put_u8(s, op);
	put_u8(s, node);
	put(s, fixed, flen);
}

static void seeds_mosfs(void)
{
	struct bytes s = { 0 };
	struct wire_buf w = { 0 };
	struct fuse_getattr_in ga = { 0 };
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_read_in ri = { .size = 4096 };
	struct fuse_release_in rl = { 0 };
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct fuse_create_in cr = { .flags = O_WRONLY | O_CREAT, .mode = S_IFREG | 0644 };
	struct fuse_write_in wr = { .size = 3 };
	struct fuse_flush_in fl = { 0 };
	struct fuse_rename_in rn = { 0 };
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 1 };
	uint8_t answers[8] = { 0 };

	put_u8(&s, 4); /* frames */
	preload_listing(&w, "/", root_ents, ARRAY_SIZE(root_ents), false);
	mosfs_frame(&s, 0, &w);
	preload_listing(&w, "/dir", dir_ents, ARRAY_SIZE(dir_ents), false);
	mosfs_frame(&s, 0, &w);
	preload_open(&w, "/file", 6, sha_hello);
	mosfs_frame(&s, 1, &w);
	preload_open(&w, "/x.c", 0, sha_empty);
	mosfs_frame(&s, 1, &w);
	put(&s, answers, sizeof(answers));

	/* look up, read, list */
	req(&s, OPS_LOOKUP, 0, NULL, 0); /* -> node 1 */
	name(&s, "file");
	req(&s, OPS_GETATTR, 1, &ga, sizeof(ga));
	req(&s, OPS_OPEN, 1, &oi, sizeof(oi)); /* -> fh 0 */
	req(&s, OPS_READ, 1, &ri, sizeof(ri));
	put_u8(&s, 0);
	req(&s, OPS_RELEASE, 1, &rl, sizeof(rl));
	put_u8(&s, 0);
	req(&s, OPS_LOOKUP, 0, NULL, 0); /* -> node 2 */
	name(&s, "link");
	req(&s, OPS_READLINK, 2, NULL, 0);
	req(&s, OPS_LOOKUP, 0, NULL, 0); /* -> node 3 */
	name(&s, "dir");
	req(&s, OPS_OPENDIR, 3, &oi, sizeof(oi)); /* -> dir fh 0 */
	req(&s, OPS_READDIRPLUS, 3, &ri, sizeof(ri));
	put_u8(&s, 0);
	req(&s, OPS_OPENDIR, 0, &oi, sizeof(oi)); /* -> dir fh 1 */
	req(&s, OPS_READDIRPLUS, 0, &ri, sizeof(ri));
	put_u8(&s, 1);
	/* write: create, write, flush, release; a directory; a rename */
	req(&s, OPS_CREATE, 0, &cr, sizeof(cr)); /* -> node, fh 1 */
	name(&s, "new");
	req(&s, OPS_WRITE, 0, &wr, sizeof(wr));
	put_u8(&s, 1);
	put_u8(&s, 3);
	put(&s, "abc", 3);
	req(&s, OPS_FLUSH, 0, &fl, sizeof(fl));
	put_u8(&s, 1);
	req(&s, OPS_RELEASE, 0, &rl, sizeof(rl));
	put_u8(&s, 1);
	req(&s, OPS_MKDIR, 0, &mk, sizeof(mk));
	name(&s, "made");
	req(&s, OPS_RENAME, 0, &rn, sizeof(rn));
	put_u8(&s, 0); /* newdir: the root */
	name(&s, "x.c");
	name(&s, "y.c");
	req(&s, OPS_SETATTR, 1, &sa, sizeof(sa));
	req(&s, OPS_SYMLINK, 0, NULL, 0);
	name(&s, "sl");
	name(&s, "/etc/passwd");
	req(&s, OPS_UNLINK, 0, NULL, 0);
	name(&s, "link");
	save("fuzz_mosfs", "session", s.p, s.len);

	/* a listing a hostile origin sends: "..", "/" in a name, a NUL */
	s.len = 0;
	put_u8(&s, 1);
	{
		struct mos_attr dir;
		struct mos_dirent_hdr d;

		attr(&dir, S_IFDIR | 0755, 4096);
		memset(&d, 0, sizeof(d));
		attr(&d.attr, S_IFREG | 0644, 1);
		d.name_len = 2;

		wire_buf_start(&w, MOS_MSG_PRELOAD_LISTDIR, 0, 0);
		wire_put_str(&w, "/");
		wire_put(&w, &dir, sizeof(dir));
		wire_put(&w, &d, sizeof(d));
		wire_put(&w, "..", 2);
		mosfs_frame(&s, 0, &w);
	}
	put(&s, answers, sizeof(answers));
	req(&s, OPS_OPENDIR, 0, &oi, sizeof(oi));
	req(&s, OPS_READDIRPLUS, 0, &ri, sizeof(ri));
	put_u8(&s, 0);
	save("fuzz_mosfs", "dotdot", s.p, s.len);
	free(s.p);
}

/* ---- policies ---- */

static const char *const policies[] = {
	/* tests/unit/test_policy.c, test_load_full */
	"{\n"
	"  \"fs\": {\"read\": [\"src\", \"/usr/../usr/lib/\"], \"write\": [\"out\"],\n"
	"         \"deny\": [\"src/secret\"], \"system\": true},\n"
	"  \"net\": {\"allow\": [\":443\", \"example.org:80,8080\", \"[::1]:22\"],\n"
	"          \"bind\": [0, 8080], \"udp\": true, \"unix\": true},\n"
	"  \"limits\": {\"memory\": \"256M\", \"procs\": 64, \"timeout\": 1.5,\n"
	"             \"open_files\": 256, \"cpu\": 10},\n"
	"  \"env\": {\"clean\": true, \"set\": {\"CC\": \"gcc\", \"EMPTY\": \"\"}},\n"
	"  \"cwd\": \"work/..\"\n"
	"}\n",
	"{\"ask\": {\"fs\": [\"/home/u/.config\"], \"net\": true}, \"fs\": {\"write\": [\".\"]}}",
	"{\"limits\": {\"memory\": 1048576, \"timeout\": 0.001, \"cpu\": 4294967296}}",
	("{\"s\": \"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\", \"n\": [-0.5e-3, 1E+2, 0, -0, "
	 "9007199254740993],"
	 " \"b\": [true, false, null], \"o\": {\"\": {}}}"),
};

/* Every ```json block of FILE. */
static void policies_of(const char *file, int *k)
{
	FILE *f = fopen(file, "re");
	char line[4096], name[64];
	struct bytes b = { 0 };
	bool in = false;

	if (!f) {
		fprintf(stderr, "seeds: %s: %s\n", file, strerror(errno));
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		const char *t = line + strspn(line, " ");

		if (!in && !strncmp(t, "```json", 7)) {
			in = true;
			b.len = 0;
		} else if (in && !strncmp(t, "```", 3)) {
			in = false;
			snprintf(name, sizeof(name), "doc-%d", (*k)++);
			save("fuzz_policy_json", name, b.p, b.len);
		} else if (in) {
			put(&b, line, strlen(line));
		}
	}
	fclose(f);
	free(b.p);
}

static void seeds_policy(const char *root)
{
	char path[512];
	int k = 0;

	for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
		char n[32];

		snprintf(n, sizeof(n), "test-%zu", i);
		save("fuzz_policy_json", n, policies[i], strlen(policies[i]));
	}
	snprintf(path, sizeof(path), "%s/Documentation/policy.md", root);
	policies_of(path, &k);
	snprintf(path, sizeof(path), "%s/Documentation/supervisor.md", root);
	policies_of(path, &k);
}

/* ---- flags, control requests, decider answers ---- */

static void nul_list(const char *target, const char *name, const char *const *v)
{
	struct bytes b = { 0 };

	for (size_t i = 0; v[i]; i++) {
		if (i)
			put_u8(&b, 0);
		put(&b, v[i], strlen(v[i]));
	}
	save(target, name, b.p, b.len);
	free(b.p);
}

static void seeds_flags(void)
{
	nul_list("fuzz_job_flags", "build",
		 (const char *const[]){ "--system", "--write", "/home/u/src", "--read", "/opt/x",
					"--deny", "/home/u/src/.git", "--timeout", "30", "--memory",
					"2G", "--max-procs", "64", NULL });
	nul_list("fuzz_job_flags", "net",
		 (const char *const[]){ "-s", "--net-allow", "example.org:80,443", "--net-allow",
					"[::1]:22", "--net-bind", "0", "--allow-udp",
					"--allow-unix", "--backend", "unotify", NULL });
	nul_list("fuzz_job_flags", "env",
		 (const char *const[]){ "--clean-env", "--env", "CC=gcc", "--env", "CC=clang", "-C",
					"work/..", "--open-files", "256", "--cpu", "10", "-v",
					"--allow-degraded", NULL });
	nul_list("fuzz_job_flags", "origin-only",
		 (const char *const[]){ "--ask", "fs:/home/u/.config", "--ask", "net",
					"--ask-timeout", "2.5", "--decider", "./d",
					"--audit=/tmp/a", "--json", "--learn", "p.json", "--stats",
					NULL });
	nul_list("fuzz_job_flags", "short",
		 (const char *const[]){ "-r/usr", "-w", ".", "-m256M", "-P", "8", "-t1.5", "-vv",
					"-h", NULL });
}

static void control(const char *name, uint8_t mode, const char *const *fields)
{
	struct bytes b = { 0 };

	put_u8(&b, mode);
	put(&b, "MOS1", 5);
	for (size_t i = 0; fields[i]; i++)
		put(&b, fields[i], strlen(fields[i]) + 1);
	save("fuzz_control", name, b.p, b.len);
	free(b.p);
}

static void seeds_control(void)
{
	control("attach", 3,
		(const char *const[]){ "/home/u", "attach", "4242", "--read", "/srv", "--tree",
				       NULL });
	control("update", 3 | 0x40,
		(const char *const[]){ "/", "update", "4242", "-w", "/tmp", NULL });
	control("ps", 3, (const char *const[]){ "/", "ps", NULL });
	control("no-fds", 0, (const char *const[]){ "/", "detach", "1", NULL });
	control("five-fds", 5, (const char *const[]){ "/", "events", "--json", NULL });
	control("long", 3 | 0x10, (const char *const[]){ "/", "attach", "1", "--read", NULL });
}

static void decider(const char *name, uint8_t id, const char *text)
{
	struct bytes b = { 0 };

	put_u8(&b, id);
	put(&b, text, strlen(text));
	save("fuzz_decider", name, b.p, b.len);
	free(b.p);
}

static void seeds_decider(void)
{
	/* the answers of Documentation/supervisor.md; the id byte is id - 1 */
	decider("json", 2, "{\"id\":3,\"verdict\":\"allow\"}\n");
	decider("always", 2, "{\"id\":3,\"verdict\":\"always\"}\n");
	decider("deny", 2, "{\"id\":3,\"verdict\":\"deny\"}\n");
	decider("plain", 2, "3 allow\n");
	decider("late", 3, "{\"id\":3,\"verdict\":\"allow\"}\n{\"id\":4,\"verdict\":\"deny\"}\n");
	decider("echo", 0,
		"{\"id\":1,\"syscall\":\"openat\",\"pid\":12,\"access\":\"read\","
		"\"path\":\"/home/u/always-allowed\",\"verdict\":\"deny\"}\n");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s OUTDIR REPO-ROOT\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	seeds_wire();
	seeds_mosfs();
	seeds_policy(argv[2]);
	seeds_flags();
	seeds_control();
	seeds_decider();
	return 0;
}
