// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmod_decider - in a guest kernel (tests/vm/run, as root): libmos's
 * decider end of the ask channel (userspace/confine/bpf/ask_channel.c,
 * libmnl) against the real module.  bpf/kmod_ask.bpf.c asks for a child's
 * open of one file; this program decides through ask_channel_*: it
 * registers on a random portid (not its pid), a second decider gets
 * EBUSY, a question arrives parsed (pid, path, kind, domain, timeout), allow
 * and deny reach the child, a late answer comes back refused, and closing
 * the channel denies a waiting child at once.
 *
 * Dynamically linked (libmnl has no static archive in Debian): tests/vm/run
 * copies its libraries into the guest.  TAP; SKIP without a module.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ask_channel.h"
#include "kmod_ask.skel.h"
#include "tap.h"

#define TARGET "/tmp/kmod-decider-target"
#define SECRET "decider-secret-77"

static struct kmod_ask_bpf *skel;
static struct ask_channel *chan;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A child that opens TARGET once it is the program's target; its pipe
 * (*REP) gets errno (0), the ms the open took and whether it read SECRET.
 */
#define ALIAS "/tmp/kmod-decider-alias"

/*
 * ALIAS: the child opens TARGET's inode as ALIAS, a bind mount in a mount
 * namespace of its own (in the parent's, ALIAS is another, empty file).
 */
static pid_t child_as(int *rep, int alias)
{
	int p[2], go[2];
	pid_t pid;

	if (pipe(p) < 0 || pipe(go) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		long t0, r[3] = { 0 };
		char buf[64];
		int fd;

		close(p[0]);
		close(go[1]);
		if (chan)
			close(ask_channel_fd(chan)); /* the decider's socket stays the parent's */
		if (alias && (unshare(CLONE_NEWNS) < 0 ||
			      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			      mount(TARGET, ALIAS, NULL, MS_BIND, NULL) < 0))
			_exit(2);
		if (read(go[0], buf, 1) != 1)
			_exit(1);
		t0 = now_ms();
		fd = open(alias ? ALIAS : TARGET, O_RDONLY);
		r[0] = fd < 0 ? errno : 0;
		r[1] = now_ms() - t0;
		if (fd >= 0)
			r[2] = read(fd, buf, sizeof(buf)) == (ssize_t)strlen(SECRET);
		if (write(p[1], r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	close(go[0]);
	if (pid > 0) {
		skel->bss->target_tgid = pid;
		if (write(go[1], "g", 1) != 1)
			pid = -1;
	}
	close(go[1]);
	*rep = p[0];
	return pid;
}

static pid_t child(int *rep)
{
	return child_as(rep, 0);
}

/* Wait up to MS for a question on the channel: 1, or 0 / -errno. */
static int next_question(struct ask_question *q, int ms)
{
	long end = now_ms() + ms;

	for (;;) {
		struct pollfd p = { .fd = ask_channel_fd(chan), .events = POLLIN };
		long left = end - now_ms();
		int ret;

		if (left <= 0)
			return 0;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ret = ask_channel_read(chan, q);
		if (ret != 0 && ret != -EAGAIN)
			return ret;
	}
}

/* A child's open, decided by VERDICT (or by closing the channel when CLOSE). */
static void decide(const char *what, uint32_t verdict, int close_instead)
{
	struct ask_question q;
	long r[3] = { -1, 0, 0 };
	int rep, ret, ok;
	pid_t pid;

	pid = child(&rep);
	if (pid < 0) {
		result(0, what, "fork: %s", strerror(errno));
		return;
	}
	ret = next_question(&q, 20000);
	if (ret != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(rep);
		result(0, what, "no question came (%d)", ret);
		return;
	}
	if (close_instead) {
		ask_channel_close(chan);
		chan = NULL;
	} else {
		ask_channel_answer(chan, q.id, verdict);
	}
	ok = read(rep, r, sizeof(r)) == sizeof(r);
	close(rep);
	waitpid(pid, NULL, 0);
	skel->bss->target_tgid = 0;
	if (!ok) {
		result(0, what, "no report from the child");
		return;
	}
	if ((pid_t)q.pid != pid || strcmp(q.path, TARGET) || q.kind != MOS_ASK_KIND_READ ||
	    q.domain != 9 || q.timeout_ms != skel->bss->timeout_ms || !ask_question_names_inode(&q)) {
		result(0, what, "question: pid %u (child %d), path %s, kind %u, domain %u, timeout %u",
		       q.pid, pid, q.path, q.kind, q.domain, q.timeout_ms);
		return;
	}
	if (verdict == MOS_ASK_ALLOW && !close_instead)
		result(r[0] == 0 && r[2], what, "errno %ld, read %ld", r[0], r[2]);
	else
		result(r[0] == EACCES && !r[2] && r[1] < 15000, what, "errno %ld after %ld ms", r[0],
		       r[1]);
}

/*
 * MOS_BENCH_N=N (bench/kmod-ask): COUNT (N) opens of TARGET by a child, first not
 * asked, then each asked and answered "allow" through the channel; the
 * microseconds per open of each.  0, or -1 when something failed.
 */
static int bench(long count)
{
	for (int asked = 0; asked < 2; asked++) {
		struct timespec t0, t1;
		int p[2], go[2], st;
		long answered = 0;
		char b;
		pid_t pid;

		if (pipe(p) < 0 || pipe(go) < 0)
			return -1;
		pid = fork();
		if (pid == 0) {
			close(ask_channel_fd(chan));
			if (read(go[0], &b, 1) != 1)
				_exit(1);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (long i = 0; i < count; i++) {
				int fd = open(TARGET, O_RDONLY);

				if (fd < 0)
					_exit(2);
				close(fd);
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (write(p[1], &t0, sizeof(t0)) != sizeof(t0) ||
			    write(p[1], &t1, sizeof(t1)) != sizeof(t1))
				_exit(1);
			_exit(0);
		}
		close(p[1]);
		skel->bss->target_tgid = asked ? pid : 0;
		if (write(go[1], "g", 1) != 1)
			return -1;
		while (asked && answered < count) {
			struct ask_question q;

			if (next_question(&q, 20000) != 1)
				break;
			ask_channel_answer(chan, q.id, MOS_ASK_ALLOW);
			answered++;
		}
		if (read(p[0], &t0, sizeof(t0)) != sizeof(t0) ||
		    read(p[0], &t1, sizeof(t1)) != sizeof(t1))
			return -1;
		waitpid(pid, &st, 0);
		skel->bss->target_tgid = 0;
		close(p[0]);
		close(go[0]);
		close(go[1]);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			return -1;
		printf("# bench: %ld opens %s: %.1f us each\n", count,
		       asked ? "asked, each answered allow through the channel" : "not asked",
		       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / count);
	}
	return 0;
}

int main(void)
{
	struct ask_channel *second;
	struct utsname u;
	char path[512];
	struct stat st;
	int fd, ret;

	uname(&u);
	snprintf(path, sizeof(path), "/mos/kmod/%s.ko", u.release);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("ok 1 kmod_decider # SKIP no %s (make kmod builds it)\n", path);
		return 0;
	}
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	result(ret == 0 || ret == -EEXIST, "module_loads", "%s", strerror(-ret));

	ret = ask_channel_open(&chan);
	result(ret == 0, "channel_opens", "%s", strerror(-ret));
	if (ret)
		return 1;
	result(ask_channel_portid(chan) != (uint32_t)getpid() && ask_channel_portid(chan) != 0,
	       "portid_is_not_the_pid", "portid %u, pid %d", ask_channel_portid(chan), getpid());
	ret = ask_channel_open(&second);
	result(ret == -EBUSY, "second_decider_refused", "got %d", ret);

	fd = open(TARGET, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, SECRET, strlen(SECRET)) != (ssize_t)strlen(SECRET) || fstat(fd, &st))
		return 1;
	close(fd);
	skel = kmod_ask_bpf__open();
	if (!skel || kmod_ask_bpf__load(skel) || kmod_ask_bpf__attach(skel)) {
		result(0, "program_loads", "%s", strerror(errno));
		return 1;
	}
	skel->bss->target_ino = st.st_ino;
	skel->bss->target_dev = (major(st.st_dev) << 20) | minor(st.st_dev);
	skel->bss->domain = 9;
	skel->bss->timeout_ms = 20000;

	if (getenv("MOS_BENCH_N")) {
		ret = bench(atol(getenv("MOS_BENCH_N")));
		result(ret == 0, "bench", ret ? "failed" : NULL);
	}
	decide("allow_through_the_channel", MOS_ASK_ALLOW, 0);
	decide("deny_through_the_channel", MOS_ASK_DENY, 0);

	/* a late answer: refused by the module, and counted when it comes back */
	{
		struct ask_question q;
		long r[3];
		int rep;
		pid_t pid;
		uint64_t before = ask_channel_refused(chan);

		skel->bss->timeout_ms = 300;
		pid = child(&rep);
		ret = next_question(&q, 20000);
		if (read(rep, r, sizeof(r)) != sizeof(r))
			r[0] = -1;
		close(rep);
		waitpid(pid, NULL, 0);
		skel->bss->target_tgid = 0;
		ask_channel_answer(chan, q.id, MOS_ASK_ALLOW);
		next_question(&q, 1000); /* reads the refusal */
		result(ret == 1 && r[0] == EACCES && ask_channel_refused(chan) == before + 1,
		       "late_answer_comes_back_refused", "question %d, errno %ld, refused %llu -> %llu",
		       ret, r[0], (unsigned long long)before,
		       (unsigned long long)ask_channel_refused(chan));
		skel->bss->timeout_ms = 60000;
	}

	/* the task's name for the file is not this machine's */
	{
		struct ask_question q;
		long r[3];
		int rep;
		pid_t pid;

		memset(&q, 0, sizeof(q));
		fd = open(ALIAS, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		close(fd);
		skel->bss->timeout_ms = 20000;
		pid = child_as(&rep, 1);
		ret = next_question(&q, 20000);
		if (ret == 1)
			ask_channel_answer(chan, q.id, MOS_ASK_DENY);
		if (read(rep, r, sizeof(r)) != sizeof(r))
			r[0] = -1;
		close(rep);
		waitpid(pid, NULL, 0);
		skel->bss->target_tgid = 0;
		result(ret == 1 && !strcmp(q.path, ALIAS) && q.ino == st.st_ino &&
			       !ask_question_names_inode(&q) && r[0] == EACCES,
		       "a_path_in_another_mount_namespace_is_not_this_machines",
		       "question %d, path %s, ino %llu (target %llu), names it here: %d, errno %ld",
		       ret, ret == 1 ? q.path : "-", (unsigned long long)q.ino,
		       (unsigned long long)st.st_ino, ask_question_names_inode(&q), r[0]);
		skel->bss->timeout_ms = 60000;
	}

	decide("closing_the_channel_denies_at_once", MOS_ASK_DENY, 1);
	ret = ask_channel_open(&chan);
	result(ret == 0, "channel_opens_again_after_close", "%s", strerror(-ret));
	kmod_ask_bpf__destroy(skel);
	ask_channel_close(chan);
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
