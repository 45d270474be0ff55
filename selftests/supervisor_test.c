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
#include <unistd.h>

#include "harness.h"

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
