// SPDX-License-Identifier: GPL-2.0-only
/*
 * supervisor_test - what `mosctl run --backend unotify` adds on top of the
 * rules: --audit (text, JSON, to a file), --learn and the policy it writes
 * (replayed on both backends), --ask with a --decider for files and for TCP,
 * the refusals around --ask, and races against the supervisor: a path
 * flipped in shared memory by another process, a connect() address flipped
 * by another thread, and a child that SIGKILLs every process it can see.
 *
 * Every test names --backend unotify itself: the suite checks the
 * supervisor whatever MOS_TEST_BACKEND says.  Every denial is checked
 * three ways, as in fs_test: the errno inside, the secret's bytes in
 * neither stdout nor stderr, and (for network) the listener outside seeing
 * nothing.  The deciders are /bin/sh scripts written into t_dir(); they log
 * each question they get, so the tests can count how often mosctl asked.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"

/* The bytes that must never come out of a sandbox that is denied them. */
#define SECRET "mos-secret-7c2f0a-do-not-leak"

/* ---- helpers ----------------------------------------------------------- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		t_fail("out of memory");
	va_end(ap);
	return s;
}

/* The directory of the helpers, to grant it read+exec. */
static const char *helpers_dir(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s", t_helper("probe"));
	return dirname(buf);
}

/* How many lines of TEXT contain NEEDLE. */
static int lines_with(const char *text, const char *needle)
{
	int n = 0;

	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		char *line = strndup(text, len);

		if (!line)
			t_fail("out of memory");
		n += strstr(line, needle) != NULL;
		free(line);
		text += len + (nl ? 1 : 0);
	}
	return n;
}

/* `mosctl run --backend unotify -s -r HELPERS [OPTS...] -- CMD...`. */
#define SBX(r, ...) \
	t_mosctl(r, "run", "--backend", "unotify", "-s", "-r", helpers_dir(), __VA_ARGS__, NULL)
#define PROBE() t_helper("probe")

#define EXPECT_OUT(r, want) expect_out_at(__FILE__, __LINE__, &(r), (want))
/* mosctl exited 0, stdout is exactly WANT and the secret is nowhere. */
static void expect_out_at(const char *file, int line, const struct t_result *r, const char *want)
{
	if (r->status != 0 || strcmp(r->out, want) || strstr(r->out, SECRET) ||
	    strstr(r->err, SECRET)) {
		t_dump("sandbox", r);
		t_fail_at(file, line, "expected exit 0 and stdout \"%s\", no secret", want);
	}
}

/*
 * A decider: a /bin/sh script in t_dir() that appends each question to LOG
 * and answers it with the verdict CASES (a `case "$q" in ... esac` body
 * setting v) chooses.  Returns the --decider command.
 */
static char *decider(const char *name, const char *log, const char *cases)
{
	char *path = t_path_kept(name);

	t_write_file(path, fmt("while IFS= read -r q; do\n"
			       "\tprintf '%%s\\n' \"$q\" >>'%s'\n"
			       "\tid=${q#*\\\"id\\\":}\n"
			       "\tid=${id%%%%,*}\n"
			       "\tv=deny\n"
			       "\tcase $q in\n%s\n\tesac\n"
			       "\tprintf '{\"id\":%%s,\"verdict\":\"%%s\"}\\n' \"$id\" \"$v\"\n"
			       "done\n",
			       log, cases));
	return fmt("/bin/sh %s", path);
}

/* ---- network ----------------------------------------------------------- */

static char *num(int n)
{
	return fmt("%d", n);
}

/* A non-blocking TCP listener on 127.0.0.1, ephemeral port, backlog BACKLOG. */
static int tcp_listener(int *port, int backlog)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		t_fail("cannot listen on 127.0.0.1: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Connections waiting on the non-blocking listener LFD, accepted and closed. */
static long drain(int lfd)
{
	long n = 0;
	int c;

	while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		close(c);
		n++;
	}
	return n;
}

/* ---- audit ------------------------------------------------------------- */

TEST(audit_text_and_json)
{
	char *pub = t_path_kept("pub"), *file = t_path_kept("pub/file"),
	     *secret = t_path_kept("secret");
	char *missing = t_path_kept("missing"), *log = t_path_kept("audit.log");
	char *text_line = fmt("mosctl: audit: denied openat read %s pid ", secret);
	char *json_head = fmt("{\"syscall\":\"openat\",\"pid\":");
	char *json_tail = fmt(",\"access\":\"read\",\"path\":\"%s\",\"verdict\":\"denied\","
			      "\"errno\":\"EACCES\"}\n",
			      secret);
	struct t_result r;
	char *s;

	t_mkdir(pub);
	t_write_file(file, "pub-data");
	t_write_file(secret, SECRET);

	/* Text: one line naming the syscall, the path and the errno. */
	SBX(&r, "--audit", "-r", pub, "--", PROBE(), "read", secret);
	EXPECT_OUT(r, "err EACCES\n");
	T_EXPECT_STR(r.err, text_line);
	T_EXPECT_STR(r.err, " (EACCES)\n");
	T_EXPECT_EQ(lines_with(r.err, "audit:"), 1);

	/* JSON: the same event, one object on one line. */
	SBX(&r, "--audit", "--json", "-r", pub, "--", PROBE(), "read", secret);
	EXPECT_OUT(r, "err EACCES\n");
	T_EXPECT_STR(r.err, json_head);
	T_EXPECT_STR(r.err, json_tail);
	T_EXPECT_EQ(lines_with(r.err, "\"verdict\":\"denied\""), 1);
	T_EXPECT_NO_STR(r.err, "mosctl: audit:");

	/* What the policy allows is not audited... */
	SBX(&r, "--audit", "-r", pub, "--", PROBE(), "read", file);
	EXPECT_OUT(r, "ok pub-data\n");
	T_EXPECT_NO_STR(r.err, "audit");
	SBX(&r, "--audit", "--json", "-r", pub, "--", PROBE(), "read", file);
	EXPECT_OUT(r, "ok pub-data\n");
	T_EXPECT_NO_STR(r.err, "verdict");

	/* ... nor what does not exist (ENOENT, as on Landlock: no denial). */
	SBX(&r, "--audit", "-r", pub, "--", PROBE(), "read", missing);
	EXPECT_OUT(r, "err ENOENT\n");
	T_EXPECT_NO_STR(r.err, "audit");
	T_EXPECT_NO_STR(r.err, missing);

	/* --audit=FILE appends there, and stderr stays quiet. */
	t_write_file(log, "earlier line\n");
	SBX(&r, fmt("--audit=%s", log), "-r", pub, "--", PROBE(), "read", secret);
	EXPECT_OUT(r, "err EACCES\n");
	T_EXPECT_NO_STR(r.err, "audit");
	T_EXPECT_NO_STR(r.err, secret);
	s = t_slurp(log);
	T_ASSERT(s);
	T_EXPECT_STR(s, "earlier line\n");
	T_EXPECT_STR(s, text_line);
	T_EXPECT_EQ(lines_with(s, "audit:"), 1);
	T_EXPECT_NO_STR(s, SECRET);
	SBX(&r, fmt("--audit=%s", log), "--json", "-r", pub, "--", PROBE(), "read", secret);
	EXPECT_OUT(r, "err EACCES\n");
	T_EXPECT_NO_STR(r.err, "verdict");
	s = t_slurp(log);
	T_EXPECT_STR(s, json_tail);
	T_EXPECT_EQ(lines_with(s, secret), 2);
}

/* ---- learn ------------------------------------------------------------- */

TEST(learn_round_trip)
{
	char *src = t_path_kept("src"), *in = t_path_kept("src/in.txt"), *out = t_path_kept("out"),
	     *o = t_path_kept("out/o.txt");
	char *secret = t_path_kept("secret"), *pol = t_path_kept("learned.json");
	char *script = fmt("/bin/cat %s; echo learned-output >%s; /bin/ls %s", in, o, src);
	struct t_result r, learn;
	char *s;

	t_mkdir(src);
	t_mkdir(out);
	t_write_file(in, "input-data\n");
	t_write_file(secret, SECRET);

	t_mosctl(&learn, "run", "--backend", "unotify", "--learn", pol, "--", "/bin/sh", "-c",
		 script, NULL);
	if (learn.status != 0 || strcmp(learn.out, "input-data\nin.txt\n")) {
		t_dump("--learn", &learn);
		t_fail("the permissive run did not do what the script says");
	}
	s = t_slurp(o);
	T_ASSERT(s && !strcmp(s, "learned-output\n"));

	/* The policy: valid JSON mosctl accepts, naming what the run touched. */
	s = t_slurp(pol);
	if (!s)
		t_fail("--learn wrote no %s: %s", pol, strerror(errno));
	T_EXPECT_STR(s, fmt("\"%s\"", src));
	T_EXPECT_STR(s, fmt("\"%s\"", out));
	T_EXPECT_NO_STR(s, secret);
	T_EXPECT_NO_STR(s, fmt("\"%s\"", t_dir()));
	t_mosctl(&r, "check", "--backend", "unotify", "--policy", pol, NULL);
	if (r.status != 0 || !strstr(r.out, "policy is valid")) {
		t_dump("check --policy", &r);
		t_fail("mosctl check refuses the learned policy");
	}

	/* Replayed confined by the supervisor: the same output, the same file. */
	T_ASSERT(unlink(o) == 0);
	t_mosctl(&r, "run", "--backend", "unotify", "--policy", pol, "--", "/bin/sh", "-c", script,
		 NULL);
	if (r.status != 0 || strcmp(r.out, learn.out)) {
		t_dump("--policy learned (unotify)", &r);
		t_fail("the learned policy does not let the same command run");
	}
	s = t_slurp(o);
	T_ASSERT(s && !strcmp(s, "learned-output\n"));

	/* ... and it allows nothing the run did not do. */
	t_mosctl(&r, "run", "--backend", "unotify", "--policy", pol, "-r", helpers_dir(), "--",
		 PROBE(), "read", secret, NULL);
	EXPECT_OUT(r, "err EACCES\n");
	t_mosctl(&r, "run", "--backend", "unotify", "--policy", pol, "-r", helpers_dir(), "--",
		 PROBE(), "write", t_path_kept("src/new"), "x", NULL);
	T_ASSERT(r.status == 0 && !strncmp(r.out, "err ", 4));
	T_ASSERT(access(t_path("src/new"), F_OK) < 0);

	/* The same policy on Landlock. */
	if (t_landlock_abi() <= 0) {
		t_note("no Landlock here: the learned policy was replayed on the supervisor only");
		return;
	}
	T_ASSERT(unlink(o) == 0);
	t_mosctl(&r, "run", "--backend", "landlock", "--policy", pol, "--", "/bin/sh", "-c", script,
		 NULL);
	if (r.status != 0 || strcmp(r.out, learn.out)) {
		t_dump("--policy learned (landlock)", &r);
		t_fail("the learned policy does not let the same command run on Landlock");
	}
	s = t_slurp(o);
	T_ASSERT(s && !strcmp(s, "learned-output\n"));
	t_mosctl(&r, "run", "--backend", "landlock", "--policy", pol, "-r", helpers_dir(), "--",
		 PROBE(), "read", secret, NULL);
	EXPECT_OUT(r, "err EACCES\n");
}

/* Every path of the JSON array KEY of the learned policy's "fs" object. */
static void learned_paths(const char *policy, const char *key, char ***out, size_t *n)
{
	char *text = t_slurp(policy);
	struct json_value *doc = NULL, *fs = NULL, *list = NULL;
	struct json_error err;

	*out = NULL;
	*n = 0;
	if (!text || json_parse(text, strlen(text), &doc, &err) < 0)
		t_fail("%s is no JSON: %s", policy, text ? err.msg : strerror(errno));
	for (size_t i = 0; i < doc->object.n; i++)
		if (!strcmp(doc->object.members[i].key, "fs"))
			fs = doc->object.members[i].value;
	for (size_t i = 0; fs && i < fs->object.n; i++)
		if (!strcmp(fs->object.members[i].key, key))
			list = fs->object.members[i].value;
	*out = calloc(list ? list->array.n + 1 : 1, sizeof(**out));
	for (size_t i = 0; list && i < list->array.n; i++)
		(*out)[(*n)++] = t_strdup(list->array.items[i]->string.s);
	json_free(doc);
	free(text);
}

/*
 * --learn and back for a shell job whose PATH starts with directories that
 * do not exist (or, as nobody, cannot be searched), as a build's PATH often
 * does: the shell's failed lookups of cat and ls there were written as read
 * grants (files that do not exist), and the write-open of /dev/null as the
 * writable tree /dev; the learned policy was then refused ("p.json:6:7
 * /root/.cargo/bin/cat: No such file or directory", old code).  Now every
 * grant names something that was opened and exists, devices are named one
 * by one (and the harmless ones left out), and the policy runs the job
 * again with the same output, on the supervisor and on Landlock.
 */
TEST(learn_round_trip_with_a_missing_path)
{
	char *out = t_path_kept("out"), *o = t_path_kept("out/o.txt"),
	     *pol = t_path_kept("learned.json"), *hostname = t_slurp("/etc/hostname");
	char *path = fmt("/nonexistent/bin:/root/.cargo/bin:%s:/usr/bin:/bin", t_path("no/bin"));
	char *script = fmt("cat /etc/hostname >%s; ls /dev/null 2>/dev/null", o);
	char **read, **write;
	size_t nread, nwrite;
	struct t_result learn, r;
	char *s;

	if (!hostname)
		t_skip("no readable /etc/hostname here");
	t_mkdir(out);
	if (setenv("PATH", path, 1) < 0)
		t_fail("setenv: %s", strerror(errno));
	t_mosctl(&learn, "run", "--backend", "unotify", "--learn", pol, "--", "sh", "-c", script,
		 NULL);
	if (learn.status != 0 || strcmp(learn.out, "/dev/null\n")) {
		t_dump("--learn", &learn);
		t_fail("the permissive run did not do what the script says");
	}
	s = t_slurp(o);
	T_ASSERT(s && !strcmp(s, hostname));
	s = t_slurp(pol);
	T_ASSERT(s);
	t_note("learned: %s", s);

	/* nothing that does not exist, no /dev as a tree, no failed lookup */
	learned_paths(pol, "read", &read, &nread);
	learned_paths(pol, "write", &write, &nwrite);
	for (size_t i = 0; i < nread + nwrite; i++) {
		const char *p = i < nread ? read[i] : write[i - nread];
		struct stat st;

		if (lstat(p, &st) < 0)
			t_fail("the learned policy grants %s, which does not exist", p);
		T_EXPECT_NO_STR(p, "/nonexistent");
		T_EXPECT_NO_STR(p, "/root/.cargo");
		T_EXPECT_NO_STR(p, "/no/bin");
	}
	for (size_t i = 0; i < nwrite; i++)
		if (!strcmp(write[i], "/dev") || !strcmp(write[i], "/"))
			t_fail("the learned policy grants write on %s (the run wrote /dev/null "
			       "only)",
			       write[i]);
	T_EXPECT_EQ(nwrite, 1);
	T_EXPECT_STR(write[0], out);

	t_mosctl(&r, "check", "--backend", "unotify", "--policy", pol, NULL);
	if (r.status != 0 || !strstr(r.out, "policy is valid")) {
		t_dump("check --policy", &r);
		t_fail("mosctl check refuses the learned policy");
	}
	/* replayed: the same output, the file made again */
	for (int landlock = 0; landlock < 2; landlock++) {
		if (landlock && t_landlock_abi() <= 0) {
			t_note("no Landlock here: replayed on the supervisor only");
			break;
		}
		T_ASSERT(unlink(o) == 0);
		t_mosctl(&r, "run", "--backend", landlock ? "landlock" : "unotify", "--policy", pol,
			 "--", "sh", "-c", script, NULL);
		if (r.status != 0 || strcmp(r.out, learn.out)) {
			t_dump(landlock ? "--policy learned (landlock)"
					: "--policy learned (unotify)",
			       &r);
			t_fail("the learned policy does not run the same job again");
		}
		s = t_slurp(o);
		T_ASSERT(s && !strcmp(s, hostname));
	}
}

/* ---- ask --------------------------------------------------------------- */

TEST(ask_with_decider)
{
	char *dir = t_path_kept("asked"), *ok = t_path_kept("asked/ok.txt"),
	     *secret = t_path_kept("asked/secret.txt");
	char *slow = t_path_kept("asked/slow.txt"), *log = t_path_kept("questions.log"),
	     *ask = fmt("fs:%s", dir);
	char *cmd = decider("decider.sh", log,
			    "\t*secret.txt*) v=deny ;;\n"
			    "\t*slow.txt*) sleep 3 </dev/null >/dev/null 2>&1; v=always ;;\n"
			    "\t*) v=always ;;");
	char *p = t_strdup(PROBE());
	struct t_result r;
	char *q, *ms;
	long elapsed;

	t_mkdir(dir);
	t_write_file(ok, "asked-data");
	t_write_file(secret, SECRET);
	t_write_file(slow, "slow-data");

	/* "always" for ok.txt: asked once for three reads; secret.txt: deny. */
	SBX(&r, "--ask", ask, "--ask-timeout", "1", "--decider", cmd, "--", "/bin/sh", "-c",
	    fmt("%s read %s; %s read %s; %s read %s; %s read %s", p, ok, p, ok, p, secret, p, ok));
	EXPECT_OUT(r, "ok asked-data\nok asked-data\nerr EACCES\nok asked-data\n");
	q = t_slurp(log);
	T_ASSERT(q);
	t_note("questions: %s", q);
	T_EXPECT_EQ(lines_with(q, fmt("\"path\":\"%s\"", ok)), 1);
	T_EXPECT_EQ(lines_with(q, fmt("\"path\":\"%s\"", secret)), 1);
	T_EXPECT_EQ(lines_with(q, "\"id\":"), 2);
	T_EXPECT_EQ(lines_with(q, "\"syscall\":\"openat\""), 2);
	T_EXPECT_EQ(lines_with(q, "\"access\":\"read\""), 2);
	T_EXPECT_NO_STR(q, SECRET);

	/* Unanswered within --ask-timeout: denied after about a second. */
	T_ASSERT(unlink(log) == 0);
	SBX(&r, "--ask", ask, "--ask-timeout", "1", "--decider", cmd, "--", "/bin/sh", "-c",
	    fmt("s=$(/bin/date +%%s%%N); %s read %s; e=$(/bin/date +%%s%%N); "
		"echo ms=$(((e - s) / 1000000))",
		p, slow));
	if (r.status != 0 || strncmp(r.out, "err EACCES\nms=", 14)) {
		t_dump("slow decider", &r);
		t_fail("an unanswered question must deny");
	}
	T_EXPECT_STR(r.err, "did not answer");
	T_EXPECT_NO_STR(r.out, "slow-data");
	ms = strstr(r.out, "ms=") + 3;
	elapsed = strtol(ms, NULL, 10);
	t_note("denied after %ld ms (--ask-timeout 1)", elapsed);
	T_ASSERT(elapsed >= 900 && elapsed < 2900);
	q = t_slurp(log);
	T_ASSERT(q);
	T_EXPECT_EQ(lines_with(q, fmt("\"path\":\"%s\"", slow)), 1);
}

/*
 * Only the verdict counts.  A decider that answers by echoing the question
 * with its verdict added says "deny" for a path that holds "always" and
 * "allow": the old reader found those words anywhere in the line and
 * allowed the file for the rest of the run.
 */
TEST(ask_echoed_question_denies)
{
	char *dir = t_path_kept("always-allowed"), *f = t_path_kept("always-allowed/f.txt");
	char *script = t_path_kept("echo-decider.sh"), *p = t_strdup(PROBE());
	struct t_result r;

	t_mkdir(dir);
	t_write_file(f, SECRET);
	/* the question, "}" replaced by ,"verdict":"deny"} */
	t_write_file(script, "while IFS= read -r q; do\n"
			     "\tprintf '%s,\"verdict\":\"deny\"}\\n' \"${q%\\}}\"\n"
			     "done\n");
	SBX(&r, "--ask", fmt("fs:%s", dir), "--ask-timeout", "5", "--decider",
	    fmt("/bin/sh %s", script), "--", "/bin/sh", "-c",
	    fmt("%s read %s; %s read %s", p, f, p, f));
	EXPECT_OUT(r, "err EACCES\nerr EACCES\n");
	T_EXPECT_NO_STR(r.out, SECRET);
	T_EXPECT_NO_STR(r.err, "did not answer");
}

TEST(ask_refused_without_decider_or_terminal)
{
	char *dir = t_path_kept("asked"), *marker = t_path_kept("marker");
	struct t_result r;
	char *argv[] = { "setsid",
			 "-w",
			 (char *)t_mosctl_path(),
			 "run",
			 "--backend",
			 "unotify",
			 "-s",
			 "-w",
			 (char *)t_dir(),
			 "--ask",
			 fmt("fs:%s", dir),
			 "--",
			 "/bin/sh",
			 "-c",
			 fmt("echo ran >%s", marker),
			 NULL };

	t_mkdir(dir);
	/* No controlling terminal (setsid), stdin /dev/null, no --decider. */
	t_run(&r, NULL, argv);
	if (r.status != 125) {
		t_dump("--ask without --decider", &r);
		t_fail("expected exit 125");
	}
	T_EXPECT_STR(r.err, "--decider");
	T_ASSERT(access(marker, F_OK) < 0);
}

TEST(ask_refused_on_landlock)
{
	char *dir = t_path_kept("asked"), *marker = t_path_kept("marker");
	char *script = fmt("echo ran >%s", marker);
	struct t_result r;

	t_mkdir(dir);
	t_mosctl(&r, "run", "--backend", "landlock", "-s", "-w", t_dir(), "--ask",
		 fmt("fs:%s", dir), "--decider", "/bin/cat", "--", "/bin/sh", "-c", script, NULL);
	if (r.status != 125) {
		t_dump("--ask on landlock", &r);
		t_fail("expected exit 125");
	}
	T_EXPECT_STR(r.err, "supervisor");
	T_ASSERT(access(marker, F_OK) < 0);
	/* --audit, for the same reason. */
	t_mosctl(&r, "run", "--backend", "landlock", "-s", "-w", t_dir(), "--audit", "--",
		 "/bin/sh", "-c", script, NULL);
	T_EXPECT_EQ(r.status, 125);
	T_EXPECT_STR(r.err, "supervisor");
	T_ASSERT(access(marker, F_OK) < 0);
}

TEST(ask_net_with_decider)
{
	char *log = t_path_kept("questions.log");
	char *allow = decider("allow.sh", log, "\t*) v=allow ;;");
	char *deny = decider("deny.sh", log, "\t*) v=deny ;;");
	char buf[256];
	struct t_result r;
	int port, lfd = tcp_listener(&port, 16);
	char *q;

	SBX(&r, "--ask", "net", "--decider", allow, "--", t_helper("net_probe"), "send",
	    "127.0.0.1", num(port), "asked-hello");
	EXPECT_OUT(r, "ok\n");
	if (!t_accept_data(lfd, 2000, buf, sizeof(buf)) || strcmp(buf, "asked-hello"))
		t_fail("the listener did not get \"asked-hello\" (got \"%s\")", buf);
	q = t_slurp(log);
	T_ASSERT(q);
	t_note("questions: %s", q);
	T_EXPECT_EQ(lines_with(q, "\"id\":"), 1);
	T_EXPECT_STR(q, fmt("\"syscall\":\"connect\",\"pid\":"));
	T_EXPECT_STR(q, fmt("\"access\":\"connect\",\"address\":\"127.0.0.1\",\"port\":%d}", port));

	SBX(&r, "--ask", "net", "--decider", deny, "--", t_helper("net_probe"), "send", "127.0.0.1",
	    num(port), "denied-hello");
	EXPECT_OUT(r, "err EACCES\n");
	if (t_accept_data(lfd, 200, buf, sizeof(buf)))
		t_fail("a connection the decider denied reached the listener (\"%s\")", buf);
	q = t_slurp(log);
	T_EXPECT_EQ(lines_with(q, "\"id\":"), 2);

	/* A rule that allows the port: nobody is asked. */
	SBX(&r, "--ask", "net", "--decider", deny, "--net-allow", fmt("127.0.0.1:%d", port), "--",
	    t_helper("net_probe"), "send", "127.0.0.1", num(port), "ruled-hello");
	EXPECT_OUT(r, "ok\n");
	if (!t_accept_data(lfd, 2000, buf, sizeof(buf)) || strcmp(buf, "ruled-hello"))
		t_fail("the listener did not get \"ruled-hello\" (got \"%s\")", buf);
	q = t_slurp(log);
	T_EXPECT_EQ(lines_with(q, "\"id\":"), 2);
	close(lfd);
}

/* ---- deciders that misbehave --------------------------------------------- */

/*
 * Whether a process whose environment holds MOS_DECIDER_MARK=MARK is still
 * there (the deciders below export it, and their children inherit it).
 */
static bool decider_left(const char *mark)
{
	char *want = fmt("MOS_DECIDER_MARK=%s", mark);
	bool found = false;
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		t_fail("cannot list /proc: %s", strerror(errno));
	while (!found && (de = readdir(d)) != NULL) {
		char path[300], buf[65536];
		ssize_t n;
		int fd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/environ", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(buf + i) + 1) {
			buf[n] = '\0';
			if (!strcmp(buf + i, want)) {
				t_note("left behind: pid %s", de->d_name);
				found = true;
				break;
			}
		}
	}
	closedir(d);
	return found;
}

/*
 * Run SCRIPT as the decider (marked MARK) for a command that reads N files
 * of DIR, each asked about, then exits 3.  Every read must be denied, the
 * run must end with status 3 within MAX_S seconds, and nothing of the
 * decider may be left behind.
 */
static void misbehaving_decider(const char *what, const char *mark, const char *script,
				const char *dir, const char *file, int n, const char *timeout,
				double max_s)
{
	char *path = t_path_kept(fmt("%s.sh", mark));
	char *cmd = fmt("for i in $(seq 1 %d); do %s read %s; done; exit 3", n, PROBE(), file);
	struct t_result r;
	int denied;

	t_write_file(path, fmt("export MOS_DECIDER_MARK=%s\n%s\n", mark, script));
	/* -t 20: the old code hung (or took n * --ask-timeout) until this */
	SBX(&r, "-t", "20", "--ask", fmt("fs:%s", dir), "--ask-timeout", timeout, "--decider",
	    fmt("/bin/sh %s", path), "--", "/bin/sh", "-c", cmd);
	denied = lines_with(r.out, "err EACCES");
	t_note("%s: status %d after %.2f s, %d of %d reads denied", what, r.status, r.seconds,
	       denied, n);
	if (r.status != 3 || denied != n || strstr(r.out, SECRET) || strstr(r.err, SECRET) ||
	    r.seconds > max_s) {
		t_dump(what, &r);
		t_fail("%s: expected exit 3 within %.0f s and every read denied", what, max_s);
	}
	T_ASSERT(!decider_left(mark));
}

/*
 * A decider that answers but never reads its questions: they pile up in its
 * input until the pipe is full, and mosctl then blocked writing the next one,
 * for ever, with the command waiting on it (old code: killed by -t 20, exit
 * 124).  Now a question not taken within --ask-timeout stops the decider.
 * (Its answers are the ids in order, which it can guess without reading.)
 */
TEST(decider_not_reading_questions)
{
	char *dir = t_path_kept("asked"),
	     *deep = t_path_kept(
		     "asked/a-long-name-so-that-each-question-takes-room-in-the-pipe-"
		     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	char *file = fmt("%s/secret.txt", deep);

	t_mkdir(dir);
	t_mkdir(deep);
	t_write_file(file, SECRET);
	misbehaving_decider("answers without reading", "noread",
			    "i=1\n"
			    "while [ $i -le 1000 ]; do\n"
			    "\tprintf '{\"id\":%d,\"verdict\":\"deny\"}\\n' $i\n"
			    "\ti=$((i + 1))\n"
			    "done\n"
			    "exec sleep 1000",
			    dir, file, 400, "2", 8);
}

/*
 * -t holds while a question waits: a decider that reads its questions and
 * never answers, --ask-timeout 30, -t 2.  A guard: the serving thread's wait
 * for the answer ends when the supervisor is told to stop (the event's
 * stop_fd); before, it ended only because the run's cleanup happened to end
 * the decider first (a terminal prompt would have waited --ask-timeout).
 */
TEST(timeout_holds_while_the_decider_is_silent)
{
	char *dir = t_path_kept("asked"), *file = t_path_kept("asked/secret.txt");
	char *path = t_path_kept("silent.sh");
	struct t_result r;

	t_mkdir(dir);
	t_write_file(file, SECRET);
	t_write_file(path, "export MOS_DECIDER_MARK=silent\nexec cat >/dev/null\n");
	SBX(&r, "-t", "2", "--ask", fmt("fs:%s", dir), "--ask-timeout", "30", "--decider",
	    fmt("/bin/sh %s", path), "--", PROBE(), "read", file);
	t_note("status %d after %.2f s", r.status, r.seconds);
	if (r.status != 124 || r.seconds > 6 || strstr(r.out, SECRET)) {
		t_dump("silent decider under -t 2", &r);
		t_fail("expected exit 124 within 6 s, the secret unread");
	}
	T_ASSERT(!decider_left("silent"));
}

/*
 * A decider that closes its output but goes on running, with a child that
 * ignores SIGTERM: through `sh -c` its output is still open (the shell
 * holds it), so each question waits --ask-timeout; at the end nothing of it
 * may be left running.
 */
TEST(decider_closed_output_is_ended)
{
	char *dir = t_path_kept("asked"), *file = t_path_kept("asked/secret.txt");

	t_mkdir(dir);
	t_write_file(file, SECRET);
	misbehaving_decider("closed output, stubborn child", "stubborn",
			    "trap '' TERM\n(trap '' TERM; exec sleep 1000) &\nexec 1>&-\nwait", dir,
			    file, 2, "1", 6);
}

/*
 * Deciders whose answers mosctl cannot read: lines that answer nothing, and
 * megabytes without a newline.  Each question used to wait its whole
 * --ask-timeout (old code: 10 s for 5 questions at 2 s); now the first
 * such line stops the decider and every question is denied at once.
 */
TEST(decider_unreadable_answers)
{
	char *dir = t_path_kept("asked"), *file = t_path_kept("asked/secret.txt");

	t_mkdir(dir);
	t_write_file(file, SECRET);
	misbehaving_decider("garbage lines", "garbage",
			    "while IFS= read -r q; do echo 'not an answer'; done", dir, file, 5,
			    "2", 4);
	misbehaving_decider(
		"no newline", "nonewline",
		"while :; do printf "
		"'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'; done",
		dir, file, 5, "2", 4);
	misbehaving_decider("exits at once", "exits", "exit 0", dir, file, 5, "2", 4);
	/* reads every question, answers none: two timeouts, then it is ended
	 * (old code: each of the 6 questions waited its second) */
	misbehaving_decider("never answers", "silent", "exec cat >/dev/null", dir, file, 6, "1",
			    4.5);
	misbehaving_decider("answers then exits", "answersonce",
			    "IFS= read -r q; echo 'garbage'; exit 0", dir, file, 5, "2", 4);
}

/*
 * Only the verdict counts, and only "allow" and "always" allow: the old
 * reader searched the whole line for those words, so "disallow" allowed,
 * and so did a deny that mentioned "always" anywhere (the secret leaked).
 */
TEST(decider_verdict_words)
{
	char *dir = t_path_kept("asked"), *file = t_path_kept("asked/secret.txt");
	static const char *const answers[] = {
		"{\"id\":%s,\"verdict\":\"disallow\"}",
		"{\"id\":%s,\"verdict\":\"deny\",\"note\":\"not always\"}",
		"{\"id\":%s,\"verdict\":\"deny\",\"why\":\"allow nothing\"}",
		"%s deny (allow later)",
		"{\"id\":%s,\"verdict\":\"ALLOW\"}",
		"{\"id\":%s,\"verdict\":\"allowed\"}",
	};

	t_mkdir(dir);
	t_write_file(file, SECRET);
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		char *path = t_path_kept(fmt("v%zu.sh", i)), *cmd = fmt("/bin/sh %s", path);
		struct t_result r;

		t_write_file(path, fmt("while IFS= read -r q; do\n"
				       "\tid=${q#*\\\"id\\\":}\n"
				       "\tid=${id%%%%,*}\n"
				       "\tprintf '%s\\n' \"$id\"\n"
				       "done\n",
				       answers[i]));
		SBX(&r, "-t", "20", "--ask", fmt("fs:%s", dir), "--ask-timeout", "5", "--decider",
		    cmd, "--", PROBE(), "read", file);
		if (r.status != 0 || strcmp(r.out, "err EACCES\n") || strstr(r.out, SECRET)) {
			t_dump(answers[i], &r);
			t_fail("answer '%s': expected the read denied", answers[i]);
		}
	}
}

/* ---- races ------------------------------------------------------------- */

/*
 * The path of an open flips between an allowed and a denied file of the
 * same length, written by another process through shared memory: the
 * supervisor reads the path once and opens what it checked.  First without
 * a sandbox, to show that the helper does see both files when nothing stops
 * it (so that bad=0 below means something).
 */
TEST(shared_memory_open_race)
{
	char *okd = t_path_kept("ok"), *nod = t_path_kept("no"), *good = t_path_kept("ok/f"),
	     *bad = t_path_kept("no/f");
	char *argv[] = { (char *)t_helper("race"), "open-shm", good, bad, "20000", NULL };
	long g = -1, b = -1, f = -1;
	struct t_result r;

	t_mkdir(okd);
	t_mkdir(nod);
	t_write_file(good, "GOOD");
	t_write_file(bad, "EVIL" SECRET);
	T_EXPECT_EQ(strlen(good), strlen(bad));

	t_run(&r, NULL, argv);
	if (r.status != 0 || sscanf(r.out, "ok good=%ld bad=%ld failed=%ld", &g, &b, &f) != 3) {
		t_dump("race unconfined", &r);
		t_fail("the race helper did not run");
	}
	t_note("unconfined: good=%ld bad=%ld failed=%ld", g, b, f);
	T_ASSERT(g > 0 && b > 0);

	SBX(&r, "-r", okd, "--", t_helper("race"), "open-shm", good, bad, "20000");
	if (r.status != 0 || sscanf(r.out, "ok good=%ld bad=%ld failed=%ld", &g, &b, &f) != 3) {
		t_dump("race", &r);
		t_fail("the race helper did not run");
	}
	t_note("supervised: good=%ld bad=%ld failed=%ld in %.1f s", g, b, f, r.seconds);
	T_EXPECT_NO_STR(r.out, SECRET);
	T_EXPECT_EQ(b, 0);
	T_ASSERT(g > 0);
	T_ASSERT(f > 0); /* the flips did reach the supervisor */
	T_EXPECT_EQ(g + f, 20000);
}

/*
 * stat, lstat, statx and readlink of a path that another thread flips
 * between an allowed file and one outside the policy, and fstatat(fd, "",
 * AT_EMPTY_PATH) of an allowed fd whose path flips between "" and that
 * file: the supervisor must answer from what it checked (it performs them
 * and writes the result), never let the kernel read the path again.  An
 * O_PATH open is the one the kernel still makes after the check (ADDFD
 * cannot inject O_PATH files); fstat of what it gave must not tell about
 * the outside file either.
 */
TEST(metadata_path_flip_race)
{
	char *okd = t_path_kept("ok"), *nod = t_path_kept("no");
	const char *modes[] = { "stat", "lstat", "statx", "empty", "readlink", "opath" };

	t_mkdir(okd);
	t_mkdir(nod);
	t_write_file(t_path("ok/f"), "GOOD");
	t_write_file(t_path("no/f"), "EVIL" SECRET);
	T_ASSERT(symlink("good-target", t_path("ok/l")) == 0);
	T_ASSERT(symlink("evil-target", t_path("no/l")) == 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		bool link = !strcmp(modes[i], "readlink");
		char *good = t_path_kept(link ? "ok/l" : "ok/f"),
		     *bad = t_path_kept(link ? "no/l" : "no/f");
		long g = -1, b = -1, f = -1;
		struct t_result r;

		SBX(&r, "-r", okd, "--", t_helper("race"), "meta-flip", modes[i], good, bad,
		    "5000");
		if (r.status != 0 ||
		    sscanf(r.out, "ok good=%ld bad=%ld failed=%ld", &g, &b, &f) != 3) {
			t_dump("race meta-flip", &r);
			t_fail("the race helper did not run");
		}
		t_note("%s: good=%ld bad=%ld failed=%ld in %.1f s", modes[i], g, b, f, r.seconds);
		T_EXPECT_EQ(b, 0);
		T_ASSERT(g > 0 && f > 0); /* both paths reached the supervisor */
	}
}

struct acceptor {
	int ok_fd, bad_fd;
	long ok, bad;
	volatile bool stop;
};

/* Accept (and close) on both listeners as connections come. */
static void *acceptor_thread(void *v)
{
	struct acceptor *a = v;

	while (!a->stop) {
		struct pollfd p[2] = { { .fd = a->ok_fd, .events = POLLIN },
				       { .fd = a->bad_fd, .events = POLLIN } };

		if (poll(p, 2, 50) <= 0)
			continue;
		a->ok += drain(a->ok_fd);
		a->bad += drain(a->bad_fd);
	}
	return NULL;
}

/*
 * Run `race connect-flip OK BAD N` (confined when CONFINED) while a thread
 * accepts on both listeners; the counts in *A after a final drain.
 */
static void run_connect_race(struct acceptor *a, int ok, int bad, const char *n, bool confined,
			     long *connected, long *refused, long *other)
{
	char *argv[] = {
		(char *)t_helper("race"), "connect-flip", num(ok), num(bad), (char *)n, NULL
	};
	struct t_result r;
	pthread_t t;

	a->ok = a->bad = 0;
	a->stop = false;
	T_ASSERT(pthread_create(&t, NULL, acceptor_thread, a) == 0);
	if (confined)
		SBX(&r, "--net-allow", fmt("127.0.0.1:%d", ok), "--", argv[0], argv[1], argv[2],
		    argv[3], argv[4]);
	else
		t_run(&r, NULL, argv);
	a->stop = true;
	pthread_join(t, NULL);
	a->ok += drain(a->ok_fd);
	a->bad += drain(a->bad_fd);
	if (r.status != 0 || sscanf(r.out, "ok connected=%ld refused=%ld other=%ld", connected,
				    refused, other) != 3) {
		t_dump("race connect-flip", &r);
		t_fail("the race helper did not run");
	}
	t_note("%s: connected=%ld refused=%ld other=%ld; accepted on the allowed port %ld, "
	       "on the other %ld, in %.1f s",
	       confined ? "supervised" : "unconfined", *connected, *refused, *other, a->ok, a->bad,
	       r.seconds);
}

/*
 * The port of a connect() flips between an allowed and a denied one,
 * written by another thread: the supervisor reads the address once and
 * connects with its own copy.  Unconfined first, to show both listeners are
 * reached when nothing stops it.
 */
TEST(connect_race)
{
	int ok, bad;
	struct acceptor a = { .ok_fd = tcp_listener(&ok, 4096),
			      .bad_fd = tcp_listener(&bad, 4096) };
	long c, rf, o;

	run_connect_race(&a, ok, bad, "2000", false, &c, &rf, &o);
	T_ASSERT(a.ok > 0 && a.bad > 0);

	run_connect_race(&a, ok, bad, "20000", true, &c, &rf, &o);
	T_EXPECT_EQ(a.bad, 0);
	T_ASSERT(c > 0);
	T_ASSERT(rf > 0); /* the flips did reach the supervisor */
	T_EXPECT_EQ(a.ok, c);
	T_EXPECT_EQ(c + rf + o, 20000);
	close(a.ok_fd);
	close(a.bad_fd);
}

/* A non-blocking UDP socket on 127.0.0.1, ephemeral port, with a big queue. */
static int udp_receiver(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), big = 4 << 20;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		t_fail("cannot bind a UDP socket on 127.0.0.1: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Counts the datagrams arriving on two sockets while a race runs. */
struct dgram_counter {
	int fd[2];
	long n[2];
	volatile bool stop;
};

static void drain_datagrams(struct dgram_counter *c)
{
	char buf[64];

	for (int i = 0; i < 2; i++)
		while (recv(c->fd[i], buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			c->n[i]++;
}

static void *dgram_counter_thread(void *v)
{
	struct dgram_counter *c = v;

	while (!c->stop) {
		struct pollfd p[2] = { { .fd = c->fd[0], .events = POLLIN },
				       { .fd = c->fd[1], .events = POLLIN } };

		if (poll(p, 2, 50) > 0)
			drain_datagrams(c);
	}
	return NULL;
}

/*
 * `race send-swap MODE BAD N OK` under BACKEND with --allow-udp and
 * --net-allow 127.0.0.1:OK, while a thread counts what reaches BAD and OK.
 */
static void run_send_swap(const char *backend, const char *mode, const char *n)
{
	int bad, ok;
	struct dgram_counter c = { .fd = { udp_receiver(&bad), udp_receiver(&ok) } };
	long sent = -1, refused = -1, other = -1;
	char control[64] = "";
	struct t_result r;
	pthread_t t;

	T_ASSERT(pthread_create(&t, NULL, dgram_counter_thread, &c) == 0);
	t_mosctl(&r, "run", "--backend", backend, "-s", "-r", helpers_dir(), "--allow-udp",
		 "--net-allow", fmt("127.0.0.1:%d", ok), "--", t_helper("race"), "send-swap", mode,
		 num(bad), n, num(ok), NULL);
	usleep(100 * 1000);
	c.stop = true;
	pthread_join(t, NULL);
	drain_datagrams(&c);
	if (r.status != 0 || sscanf(r.out, "ok sent=%ld refused=%ld other=%ld control=%63s", &sent,
				    &refused, &other, control) != 4) {
		t_dump("race send-swap", &r);
		t_fail("the race helper did not run");
	}
	t_note("--backend %s, %s: sent=%ld refused=%ld other=%ld control=%s; datagrams at the "
	       "denied port %ld, at the allowed one %ld, in %.1f s",
	       backend, mode, sent, refused, other, control, c.n[0], c.n[1], r.seconds);
	T_EXPECT_EQ(c.n[0], 0);
	T_EXPECT_EQ(sent, 0);
	T_ASSERT(refused > 0 && other > 0); /* both sockets were behind the number */
	T_EXPECT_STR(control, "ok");
	T_EXPECT_EQ(c.n[1], 1);
	close(c.fd[0]);
	close(c.fd[1]);
}

/*
 * A thread swaps one fd number between a unix datagram socket and a UDP
 * socket while another sends through it to a port no rule allows: the
 * supervisor must act on the socket it looked at (its pidfd_getfd copy),
 * never let the kernel look the number up again.  sendto, sendmsg and
 * sendmmsg, on the supervisor alone and layered on Landlock (auto).
 */
TEST(udp_send_fd_swap_race)
{
	run_send_swap("unotify", "sendto", "10000");
	run_send_swap("unotify", "sendmsg", "5000");
	run_send_swap("unotify", "sendmmsg", "10000");
	run_send_swap("auto", "sendto", "5000");
}

/*
 * The same swap between a TCP and a UDP socket while connect() runs: with
 * --allow-udp and no --net-allow, UDP may connect anywhere and TCP nowhere.
 * The supervisor connects the socket it checked, so the TCP listener never
 * sees a connection.
 */
TEST(connect_fd_swap_race)
{
	int bad;
	struct acceptor a = { .ok_fd = tcp_listener(&bad, 4096), .bad_fd = -1 };
	long c = -1, rf = -1, o = -1;
	struct t_result r;

	SBX(&r, "--allow-udp", "--", t_helper("race"), "connect-swap", num(bad), "5000");
	if (r.status != 0 ||
	    sscanf(r.out, "ok connected=%ld refused=%ld other=%ld", &c, &rf, &o) != 3) {
		t_dump("race connect-swap", &r);
		t_fail("the race helper did not run");
	}
	a.ok = drain(a.ok_fd);
	t_note("connected=%ld refused=%ld other=%ld; TCP connections accepted %ld, in %.1f s", c,
	       rf, o, a.ok, r.seconds);
	T_EXPECT_EQ(a.ok, 0);
	T_ASSERT(rf > 0 && c > 0); /* both sockets were behind the number */
	close(a.ok_fd);
}

/*
 * The sandbox's init is a fork of mosctl: it held mosctl's memory and the
 * caller's environment, and a root supervisor opened /proc/1/... for the
 * command with CAP_SYS_PTRACE.  With /proc granted and --clean-env, neither
 * /proc/1/environ nor /proc/1/mem may give the command anything, on the
 * supervisor alone and layered on Landlock.
 */
TEST(init_memory_and_environment_stay_unreadable)
{
	const char *backends[] = { "unotify", "auto" };

	setenv("MOS_TEST_INIT_MARKER", "the-callers-environment", 1);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		char env[64] = "", mem[64] = "";
		int marker = -1;
		struct t_result r;

		t_mosctl(&r, "run", "--backend", backends[i], "-s", "-r", helpers_dir(), "-r",
			 "/proc", "--clean-env", "--", t_helper("escape"), "proc-mem", "1",
			 "MOS_TEST_INIT_MARKER", NULL);
		if (r.status != 0 ||
		    sscanf(r.out, "ok environ=%63s mem=%63s marker=%d", env, mem, &marker) != 3) {
			t_dump("proc-mem", &r);
			t_fail("the escape helper did not run");
		}
		t_note("--backend %s: /proc/1/environ %s, /proc/1/mem %s, marker %d", backends[i],
		       env, mem, marker);
		T_EXPECT_EQ(marker, 0);
		if (strcmp(env, "EACCES") && strcmp(env, "EPERM") && strcmp(env, "ENOENT"))
			t_fail("--backend %s: /proc/1/environ gave %s bytes", backends[i], env);
		if (strcmp(mem, "EACCES") && strcmp(mem, "EPERM") && strcmp(mem, "ENOENT"))
			t_fail("--backend %s: /proc/1/mem gave %s bytes", backends[i], mem);
		T_EXPECT_NO_STR(r.out, "the-callers-environment");
	}
}

/*
 * With --allow-udp every sendmsg is performed by the supervisor, on unix
 * sockets too: what they carry keeps its meaning.  SCM_RIGHTS passes the
 * caller's fd (our copy of it), a send on a closed connection raises
 * SIGPIPE in the caller, a send that waits for a slow reader waits (in a
 * job) and all the data arrives, SCM_CREDENTIALS is refused (the kernel
 * would check it against the supervisor, not the caller), and a unix
 * destination needs --allow-unix as connect() does.
 */
TEST(unix_sends_on_behalf_keep_their_meaning)
{
	char *file = t_path_kept("file");
	long sent = -1, calls = -1, got = -1;
	struct t_result r;

	t_write_file(file, "passed-fd-data");
	SBX(&r, "--allow-udp", "-r", t_dir(), "--", t_helper("net_probe"), "pass-fd", file);
	EXPECT_OUT(r, "ok passed-fd-data\n");
	SBX(&r, "--allow-udp", "--", t_helper("net_probe"), "pass-creds");
	EXPECT_OUT(r, "err EPERM\n");
	SBX(&r, "--allow-udp", "--", "/bin/sh", "-c",
	    fmt("%s epipe; echo status=$?", t_helper("net_probe")));
	EXPECT_OUT(r, "status=141\n");
	SBX(&r, "--allow-udp", "--", t_helper("net_probe"), "bulk", "1000000");
	if (r.status != 0 || sscanf(r.out, "ok %ld %ld %ld", &sent, &calls, &got) != 3) {
		t_dump("bulk", &r);
		t_fail("the bulk send did not run");
	}
	t_note("bulk: %ld bytes in %ld sendmsg calls, %ld read, in %.1f s", sent, calls, got,
	       r.seconds);
	T_EXPECT_EQ(sent, 1000000);
	T_EXPECT_EQ(got, 1000000);
	SBX(&r, "--allow-udp", "--", t_helper("net_probe"), "bulk-mmsg", "1000000");
	if (r.status != 0 || sscanf(r.out, "ok %ld %ld %ld", &sent, &calls, &got) != 3) {
		t_dump("bulk-mmsg", &r);
		t_fail("the bulk sendmmsg did not run");
	}
	t_note("bulk-mmsg: %ld bytes in %ld sendmmsg calls, %ld read", sent, calls, got);
	T_EXPECT_EQ(sent, 1000000);
	T_EXPECT_EQ(got, 1000000);
	SBX(&r, "--allow-udp", "--", t_helper("net_probe"), "pair-sendto", "mos-test-nowhere", "x");
	EXPECT_OUT(r, "err EACCES\n");
}

/* ---- blocking steps: -t and SIGTERM always hold ------------------------- */

/*
 * `mosctl run --backend unotify -s -w BOX -t 2 -- /bin/sh -c SCRIPT`; the
 * result in *R.
 */
static void run_boxed(struct t_result *r, const char *box, const char *timeout, const char *script)
{
	t_mosctl(r, "run", "--backend", "unotify", "-s", "-r", helpers_dir(), "-w", box, "-t",
		 timeout, "--", "/bin/sh", "-c", script, NULL);
}

/*
 * The same through /bin/sh outside, which sends mosctl SIGTERM after a
 * second and prints "rc=STATUS" of mosctl.
 */
static void run_boxed_then_term(struct t_result *r, const char *box, const char *opts,
				const char *script)
{
	char *argv[] = {
		"/bin/sh", "-c",
		fmt("'%s' run --backend unotify -s -r '%s' -w '%s' %s -- /bin/sh -c '%s' & "
		    "p=$!; sleep 1; kill -TERM $p; wait $p; echo rc=$?",
		    t_mosctl_path(), helpers_dir(), box, opts, script),
		NULL
	};

	t_run(r, NULL, argv);
}

/*
 * Opening a FIFO blocks until the other end is opened: the supervisor opens
 * for the caller, so that wait must not hold a serving thread (or mosctl's
 * exit) hostage.  -t 2 ends the run in about two seconds, reader or writer.
 */
TEST(fifo_open_is_bounded_by_the_timeout)
{
	char *box = t_path_kept("box");
	struct t_result r;

	t_mkdir(box);
	run_boxed(&r, box, "2", fmt("mkfifo %s/f && exec cat %s/f", box, box));
	t_note("reader: exit %d in %.1f s", r.status, r.seconds);
	T_EXPECT_EQ(r.status, 124);
	T_ASSERT(r.seconds < 4);
	run_boxed(&r, box, "2", fmt("exec /bin/sh -c 'echo data > %s/f'", box));
	t_note("writer: exit %d in %.1f s", r.status, r.seconds);
	T_EXPECT_EQ(r.status, 124);
	T_ASSERT(r.seconds < 4);
}

TEST(fifo_open_ends_on_sigterm)
{
	char *box = t_path_kept("box");
	struct t_result r;

	t_mkdir(box);
	run_boxed_then_term(&r, box, "", fmt("mkfifo %s/f && exec cat %s/f", box, box));
	t_note("exit %s in %.1f s", r.out, r.seconds);
	T_EXPECT_STR(r.out, "rc=143");
	T_ASSERT(r.seconds < 4);
}

/*
 * A FIFO with both ends opened works, whichever end comes first, with one
 * serving thread (--audit serves from one): the first open's wait must not
 * keep the other's from being served.
 */
TEST(fifo_with_a_writer_works)
{
	char *box = t_path_kept("box");
	struct t_result r;

	t_mkdir(box);
	run_boxed(&r, box, "20",
		  fmt("cd %s && mkfifo f g || exit 1; (echo to-reader > f) & cat f; "
		      "(sleep 0.3; cat g) & echo to-writer > g; wait",
		      box));
	t_note("exit %d in %.1f s", r.status, r.seconds);
	EXPECT_OUT(r, "to-reader\nto-writer\n");
	t_mosctl(&r, "run", "--backend", "unotify", "--audit", "-s", "-w", box, "-t", "20", "--",
		 "/bin/sh", "-c", fmt("cd %s && (echo one-thread > f) & cat %s/f; wait", box, box),
		 NULL);
	t_note("one serving thread: exit %d in %.1f s", r.status, r.seconds);
	EXPECT_OUT(r, "one-thread\n");
}

/*
 * connect() blocks too: on a TCP listener whose accept queue is full (the
 * SYN is dropped and sent again for minutes) and on a unix listener whose
 * backlog is full (for ever).  The supervisor connects for the caller;
 * -t 2 and SIGTERM must still end the run at once.
 */
TEST(blocking_connect_is_bounded)
{
	char *box = t_path_kept("box");
	int port, lfd = tcp_listener(&port, 0);
	char *twice = fmt("%s connect 127.0.0.1 %d; exec %s connect 127.0.0.1 %d", PROBE(), port,
			  PROBE(), port);
	struct t_result r;

	t_mkdir(box);
	t_mosctl(&r, "run", "--backend", "unotify", "-s", "-r", helpers_dir(), "--net-allow",
		 fmt("127.0.0.1:%d", port), "-t", "2", "--", "/bin/sh", "-c", twice, NULL);
	t_note("TCP: exit %d in %.1f s: %s", r.status, r.seconds, r.out);
	T_EXPECT_EQ(r.status, 124);
	T_EXPECT_STR(r.out, "ok\n");
	T_ASSERT(r.seconds < 4);
	run_boxed_then_term(&r, box, fmt("--net-allow 127.0.0.1:%d", port), twice);
	t_note("TCP, SIGTERM: %s in %.1f s", r.out, r.seconds);
	T_EXPECT_STR(r.out, "rc=143");
	T_ASSERT(r.seconds < 4);
	close(lfd);
}

TEST(blocking_unix_connect_is_bounded)
{
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	char name[64];
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	socklen_t len;
	struct t_result r;

	snprintf(name, sizeof(name), "mos-test-backlog-%d", (int)getpid());
	memcpy(su.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&su, len) < 0 || listen(lfd, 0) < 0)
		t_fail("cannot listen on a unix socket: %s", strerror(errno));
	t_mosctl(&r, "run", "--backend", "unotify", "-s", "-r", helpers_dir(), "--allow-unix",
		 "--allow-degraded", "-t", "2", "--", "/bin/sh", "-c",
		 fmt("%s unix-connect %s; %s unix-connect %s; exec %s unix-connect %s",
		     t_helper("net_probe"), name, t_helper("net_probe"), name,
		     t_helper("net_probe"), name),
		 NULL);
	t_note("unix: exit %d in %.1f s: %s", r.status, r.seconds, r.out);
	T_EXPECT_EQ(r.status, 124);
	T_EXPECT_STR(r.out, "ok\n");
	T_ASSERT(r.seconds < 4);
	close(lfd);
}

/*
 * The command SIGKILLs every process it can see (kill -9 -1, and its pid
 * namespace's init): its background sibling dies, but mosctl and the
 * supervisor thread are outside its pid namespace, so processes started
 * afterwards are still served and still confined.
 */
TEST(child_kills_everything_it_can_see)
{
	char *pub = t_path_kept("pub"), *file = t_path_kept("pub/file"),
	     *secret = t_path_kept("secret");
	char *p = t_strdup(PROBE());
	struct t_result r;

	t_mkdir(pub);
	t_write_file(file, "pub-data");
	t_write_file(secret, SECRET);
	SBX(&r, "--audit", "-r", pub, "--", "/bin/sh", "-c",
	    fmt("%s sleep 30 & /bin/sleep 0.3; kill -9 -1; kill -9 1; "
		"%s read %s; %s read %s; wait; echo done",
		p, p, secret, p, file));
	EXPECT_OUT(r, "err EACCES\nok pub-data\ndone\n");
	T_ASSERT(r.seconds < 20); /* the sleeping sibling was killed */
	T_EXPECT_STR(r.err, fmt("mosctl: audit: denied openat read %s pid ", secret));
}
