// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_kmod_ask - in a guest kernel (tests/vm/run, as root): an ask rule
 * decided in the kernel.  bpf/kmod_ask.bpf.c (lsm.s/file_open) calls the
 * module's kfunc for a child's open of one file; the module parks the
 * child and sends the question over "mosingar_ask" to this program, the
 * registered decider, which answers as each case wants:
 *
 *   allow, always    the open succeeds and the file's bytes are read
 *   deny             EACCES, and the bytes are never read
 *   no answer        EACCES after the rule's timeout; a late answer: ENOENT
 *   decider closes   EACCES at once, not after the (long) timeout
 *   child killed     a parked task dies at once on SIGKILL
 *   no decider       EACCES at once, and no question is sent
 *   a TCP connect    asked with its address and port: allowed, or EACCES
 *
 * plus: an answer from another socket is refused, processes other than the
 * target are never asked, and the module unloads when the program is gone.
 * TAP on stdout; SKIP when no module was built for this kernel.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include "kmod_ask.skel.h"
#include "nl_ask.h"
#include "tap.h"

#define TARGET "/tmp/kmod-ask-target"
#define SECRET "secret-bytes-5d1f"

static struct kmod_ask_bpf *skel;
static int decider;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the child saw. */
struct report {
	int err;	/* errno of its open, 0 when it opened */
	int read_ok;	/* it read SECRET */
	long ms;	/* how long the open took */
};

struct child {
	pid_t pid;
	int go, rep;
};

/* A child that opens TARGET when told to, and reports. */
static int start_child(struct child *c)
{
	int go[2], rep[2];

	c->pid = 0;
	if (pipe(go) < 0 || pipe(rep) < 0)
		return -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		struct report r = { 0 };
		char buf[64] = "";
		long t0;
		int fd;

		/* not the decider's socket: its close must release it */
		close(decider);
		close(go[1]);
		close(rep[0]);
		if (read(go[0], buf, 1) != 1)
			_exit(1);
		t0 = now_ms();
		fd = open(TARGET, O_RDONLY);
		r.ms = now_ms() - t0;
		r.err = fd < 0 ? errno : 0;
		if (fd >= 0) {
			ssize_t len = read(fd, buf, sizeof(buf) - 1);

			r.read_ok = len == (ssize_t)strlen(SECRET) && !memcmp(buf, SECRET, len);
			close(fd);
		}
		if (write(rep[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(rep[1]);
	c->go = go[1];
	c->rep = rep[0];
	skel->bss->target_tgid = c->pid;
	return write(c->go, "g", 1) == 1 ? 0 : -1;
}

static int finish_child(struct child *c, struct report *r)
{
	ssize_t len = read(c->rep, r, sizeof(*r));

	close(c->go);
	close(c->rep);
	waitpid(c->pid, NULL, 0);
	skel->bss->target_tgid = 0;
	return len == sizeof(*r) ? 0 : -1;
}

/* A case that failed early: its child killed, if it has one. */
static void abort_child(struct child *c)
{
	struct report r;

	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	finish_child(c, &r);
}

/*
 * A child C parked on its open, with TIMEOUT_MS for the rule, and its
 * question Q checked: 0; or -1 after a failed result, the child gone.
 */
static int parked_child(const char *what, uint32_t timeout_ms, struct child *c, struct question *q)
{
	int ret;

	skel->bss->timeout_ms = timeout_ms;
	if (start_child(c)) {
		result(0, what, "fork: %s", strerror(errno));
		abort_child(c);
		return -1;
	}
	ret = recv_question(decider, q, 20000);
	if (ret) {
		result(0, what, "no question came: %s", strerror(-ret));
	} else if ((pid_t)q->pid != c->pid || !q->has_path || strcmp(q->path, TARGET) ||
		   q->kind != MOS_ASK_KIND_READ || q->domain != 7 || q->timeout_ms != timeout_ms) {
		result(0, what, "question: pid %u (child %d), path '%s', kind %u, domain %u, timeout %u",
		       q->pid, c->pid, q->path, q->kind, q->domain, q->timeout_ms);
		ret = -1;
	}
	if (ret)
		abort_child(c);
	return ret ? -1 : 0;
}

/* The decider answers VERDICT: the child opens (or not) accordingly. */
static void answered(const char *what, uint32_t verdict)
{
	struct question q;
	struct report r;
	struct child c;
	int other, ret;

	if (parked_child(what, 20000, &c, &q))
		return;
	/* only the decider may answer */
	other = nl_open();
	ret = do_answer(other, q.id, MOS_ASK_ALLOW);
	close(other);
	if (ret != -EPERM) {
		result(0, what, "an answer from another socket got %d, not EPERM", ret);
		abort_child(&c);
		return;
	}
	ret = do_answer(decider, q.id, verdict);
	if (finish_child(&c, &r) || ret) {
		result(0, what, "answer: %s; child report missing", strerror(-ret));
		return;
	}
	if (verdict == MOS_ASK_DENY)
		result(r.err == EACCES && !r.read_ok, what, r.err == EACCES ? "" :
		       "the denied open gave errno %d, read %d", r.err, r.read_ok);
	else
		result(!r.err && r.read_ok, what, !r.err && r.read_ok ? "" :
		       "the allowed open gave errno %d, read %d", r.err, r.read_ok);
}

static void unanswered_times_out(void)
{
	const char *what = "unanswered_question_times_out_to_deny";
	struct question q;
	struct report r;
	struct child c;
	int late;

	if (parked_child(what, 500, &c, &q))
		return;
	if (finish_child(&c, &r)) {
		result(0, what, "no report from the child");
		return;
	}
	late = do_answer(decider, q.id, MOS_ASK_ALLOW);
	result(r.err == EACCES && !r.read_ok && r.ms >= 500 && r.ms < 15000 && late == -ENOENT,
	       what, "errno %d after %ld ms (timeout 500), late answer %d", r.err, r.ms, late);
}

static void decider_closing_denies_at_once(void)
{
	const char *what = "decider_closing_denies_waiters_at_once";
	struct question q;
	struct report r;
	struct child c;

	if (parked_child(what, 60000, &c, &q))
		return;
	close(decider);
	if (finish_child(&c, &r)) {
		result(0, what, "no report from the child");
	} else {
		result(r.err == EACCES && !r.read_ok && r.ms < 15000, what,
		       "errno %d after %ld ms (timeout 60000)", r.err, r.ms);
	}
	decider = nl_open();
	if (do_register(decider, MOS_ASK_GENL_VERSION))
		result(0, "register_again_after_close", "refused");
}

static void parked_task_dies_on_sigkill(void)
{
	const char *what = "parked_task_dies_on_sigkill";
	struct question q;
	struct child c;
	long t0;
	int status = 0, late;

	if (parked_child(what, 60000, &c, &q))
		return;
	t0 = now_ms();
	kill(c.pid, SIGKILL);
	waitpid(c.pid, &status, 0);
	t0 = now_ms() - t0;
	close(c.go);
	close(c.rep);
	skel->bss->target_tgid = 0;
	late = do_answer(decider, q.id, MOS_ASK_ALLOW);
	result(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && t0 < 15000 && late == -ENOENT,
	       what, "status %#x, reaped after %ld ms, answer after it %d", status, t0, late);
}

static void no_decider_denies_without_asking(void)
{
	const char *what = "no_decider_denies_at_once_without_asking";
	struct question q;
	struct report r;
	struct child c;
	int ret;

	skel->bss->timeout_ms = 60000;
	if (do_unregister(decider)) {
		result(0, what, "unregister refused");
		return;
	}
	if (start_child(&c) || finish_child(&c, &r)) {
		result(0, what, "child: %s", strerror(errno));
		return;
	}
	ret = recv_question(decider, &q, 300);
	result(r.err == EACCES && !r.read_ok && r.ms < 15000 && ret == -ETIMEDOUT, what,
	       "errno %d after %ld ms, a question: %d", r.err, r.ms, ret);
	if (do_register(decider, MOS_ASK_GENL_VERSION))
		result(0, "register_again", "refused");
}

/* A child's TCP connect to a listener here, asked and answered VERDICT. */
static void connect_answered(const char *what, uint32_t verdict)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), go[2], rep[2], err = -1, ret;
	struct question q;
	pid_t pid;
	char b;

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&sa, &len) || pipe(go) || pipe(rep)) {
		result(0, what, "listener: %s", strerror(errno));
		return;
	}
	skel->bss->timeout_ms = 20000;
	skel->bss->target_port = ntohs(sa.sin_port);
	pid = fork();
	if (pid == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0), e;

		close(decider);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		e = connect(s, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
		if (write(rep[1], &e, sizeof(e)) != sizeof(e))
			_exit(1);
		_exit(0);
	}
	skel->bss->target_tgid = pid;
	if (write(go[1], "g", 1) != 1)
		kill(pid, SIGKILL);
	ret = recv_question(decider, &q, 20000);
	if (ret == 0 && (pid_t)q.pid == pid && q.kind == MOS_ASK_KIND_CONNECT && q.addr_len == 4 &&
	    !memcmp(q.addr, "\x7f\0\0\x01", 4) && q.port == ntohs(sa.sin_port) && !q.has_path) {
		do_answer(decider, q.id, verdict);
	} else {
		result(0, what, "question %d: pid %u (child %d), kind %u, %d address bytes, port %u",
		       ret, q.pid, pid, q.kind, q.addr_len, q.port);
		kill(pid, SIGKILL);
	}
	if (read(rep[0], &err, sizeof(err)) != sizeof(err))
		err = -1;
	waitpid(pid, NULL, 0);
	skel->bss->target_tgid = 0;
	skel->bss->target_port = 0;
	close(go[0]);
	close(go[1]);
	close(rep[0]);
	close(rep[1]);
	close(l);
	if (ret == 0)
		result(err == (verdict == MOS_ASK_DENY ? EACCES : 0), what, "connect: errno %d", err);
}

int main(void)
{
	char buf[64];
	struct stat st;
	int fd, ret, i;
	uint64_t asked_before;

	decider = start_deciding("bpf_kmod_ask");
	if (decider < 0)
		return failed ? 1 : 0;

	fd = open(TARGET, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, SECRET, strlen(SECRET)) != (ssize_t)strlen(SECRET) ||
	    fstat(fd, &st)) {
		result(0, "target_file", "%s", strerror(errno));
		return 1;
	}
	close(fd);

	skel = kmod_ask_bpf__open();
	if (!skel || kmod_ask_bpf__load(skel) || kmod_ask_bpf__attach(skel)) {
		result(0, "program_calling_the_kfunc_loads", "%s", strerror(errno));
		return 1;
	}
	result(1, "program_calling_the_kfunc_loads", NULL);
	skel->bss->target_ino = st.st_ino;
	skel->bss->target_dev = (major(st.st_dev) << 20) | minor(st.st_dev);
	skel->bss->domain = 7;

	answered("allow_once_opens", MOS_ASK_ALLOW);
	answered("always_opens", MOS_ASK_ALWAYS);
	answered("deny_refuses_with_eacces", MOS_ASK_DENY);
	unanswered_times_out();
	decider_closing_denies_at_once();
	parked_task_dies_on_sigkill();
	no_decider_denies_without_asking();
	connect_answered("connect_allowed_by_the_decider", MOS_ASK_ALLOW);
	connect_answered("connect_denied_by_the_decider", MOS_ASK_DENY);
	result(skel->bss->connects_asked == 2 && skel->bss->connects_allowed == 1,
	       "connect_counters", "asked %llu, allowed %llu",
	       (unsigned long long)skel->bss->connects_asked,
	       (unsigned long long)skel->bss->connects_allowed);

	/* not the target: never asked, whatever the file */
	asked_before = skel->bss->asked;
	skel->bss->target_tgid = 1;
	fd = open(TARGET, O_RDONLY);
	ret = fd >= 0 ? (int)read(fd, buf, sizeof(buf)) : -1;
	if (fd >= 0)
		close(fd);
	result(ret == (int)strlen(SECRET) && skel->bss->asked == asked_before,
	       "other_processes_are_not_asked", "read %d, asked %llu -> %llu", ret,
	       (unsigned long long)asked_before, (unsigned long long)skel->bss->asked);
	result(skel->bss->asked == 7 && skel->bss->allowed == 2 && skel->bss->denied == 5,
	       "program_counters", "asked %llu, allowed %llu, denied %llu",
	       (unsigned long long)skel->bss->asked, (unsigned long long)skel->bss->allowed,
	       (unsigned long long)skel->bss->denied);

	kmod_ask_bpf__destroy(skel);
	do_unregister(decider);
	close(decider);
	/* the program's reference on the module goes with it, after an RCU grace period */
	for (i = 0; i < 100; i++) {
		ret = syscall(SYS_delete_module, "mosingar", O_NONBLOCK) ? -errno : 0;
		if (ret != -EWOULDBLOCK && ret != -EBUSY)
			break;
		usleep(50000);
	}
	result(ret == 0, "module_unloads_after_the_program", ret ? "%s" : "", strerror(-ret));
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
