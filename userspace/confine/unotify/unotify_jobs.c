// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify_jobs.c - the steps that wait, in threads of their own.
 *
 * Some steps wait for as long as someone else decides: opening a FIFO (its
 * other end), connecting (a peer that does not answer, a unix listener
 * with a full backlog), sending on a full socket.  The caller would wait
 * there too, so the supervisor must, but not with a serving thread: the
 * step runs in a thread of its own (a job) with the serving thread's
 * credentials, and the serving thread goes on serving and answers the
 * caller once the job is done.  Every JOB_TICK_MS it looks at the callers
 * of its jobs; a job is interrupted (unotify_interrupt_signal(), whose
 * handler does nothing, so the blocking call fails with EINTR) when
 *
 *  - its caller is gone (the notification is no longer valid: killed, as by
 *    mosctl's -t or the end of its pid namespace);
 *  - a signal waits for its caller that the caller's own wait in the kernel
 *    would have taken: one it catches (the answer is then -ERESTARTSYS, so
 *    that SA_RESTART restarts the call and anything else sees EINTR), or a
 *    stop signal (-ERESTARTNOINTR: the caller stops, and goes on with the
 *    call when continued).  Process-directed signals count only for a
 *    caller that is its process's only thread (another could take them);
 *  - the supervisor stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

/* How long a stopping supervisor waits for jobs that do not end. */
#define JOB_END_MS 2000
/*
 * Jobs per serving thread: each is a thread of mosctl waiting for one task
 * of the sandbox, so the sandbox's own limits bound them; this bounds them
 * where it has none.  One more waiting call fails with EAGAIN.
 */
#define MAX_JOBS 256

struct job *sup_job_new(enum job_kind kind)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	j->fd = j->via = -1;
	j->op.sock = j->op.via = -1;
	atomic_init(&j->state, JOB_RUNNING);
	return j;
}

static void interrupt_handler(int sig)
{
	(void)sig;
}

int unotify_interrupt_signal(void)
{
	return SIGRTMIN + 5;
}

static void install_interrupt_handler(void)
{
	struct sigaction sa = { .sa_handler = interrupt_handler }; /* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	sigaction(unotify_interrupt_signal(), &sa, NULL);
}

void sup_unblock_interrupt(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	sigset_t set;

	pthread_once(&once, install_interrupt_handler);
	sigemptyset(&set);
	sigaddset(&set, unotify_interrupt_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void unotify_interrupt(pthread_t thread)
{
	pthread_kill(thread, unotify_interrupt_signal());
}

/* The step itself, in the job's thread. */
static long job_run(struct job *j)
{
	char link[64];
	long r;

	switch (j->kind) {
	case JOB_OPEN:
		snprintf(link, sizeof(link), "/proc/self/fd/%d", j->fd);
		r = open(link,
			 (int)(j->flags & ~(__u64)(O_CREAT | O_EXCL | O_TMPFILE | O_NOFOLLOW)));
		break;
	case JOB_CONNECT:
		r = connect(j->fd, (struct sockaddr *)&j->addr, j->addrlen);
		break;
	case JOB_SEND:
		r = sup_send_op_send(&j->op, 0);
		break;
	default:
		r = -1;
		errno = EINVAL;
	}
	return r < 0 ? -errno : r;
}

void sup_job_free(struct job *j)
{
	closep(&j->fd);
	closep(&j->via);
	closep(&j->done_fd);
	sup_send_op_release(&j->op);
	sup_req_release(&j->q);
	free(j);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	uint64_t one = 1;

	j->ret = job_run(j);
	/*
	 * DONE before the serving thread hears of it (it reaps only DONE
	 * jobs, and joins this thread before freeing J); if it gave up on us,
	 * nobody else frees the job.
	 */
	if (atomic_exchange(&j->state, JOB_DONE) == JOB_ABANDONED) {
		if (j->kind == JOB_OPEN && j->ret >= 0)
			close((int)j->ret);
		sup_job_free(j);
	} else {
		(void)!write(j->done_fd, &one, sizeof(one));
	}
	return NULL;
}

/* Hand request Q over to job J (A->job) and start it; Q is left empty. */
int sup_job_start(struct sup *s, struct req *q, struct job *j)
{
	pthread_attr_t attr;
	int err;

	if (s->njobs >= MAX_JOBS)
		return -EAGAIN;
	err = sup_need_proc(s, q); /* the caller's /proc/TID: its signals */
	if (err)
		return err;
	j->n = *q->n;
	j->q = *q;
	j->q.n = &j->n;
	*q = (struct req){ .n = q->n, .procfd = -1, .memfd = -1, .pidfd = -1 };
	j->done_fd = fcntl(s->done_efd, F_DUPFD_CLOEXEC, 3);
	if (j->done_fd < 0)
		return -errno;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	err = pthread_create(&j->thread, &attr, job_main, j);
	pthread_attr_destroy(&attr);
	if (err)
		return -err;
	j->next = s->jobs;
	s->jobs = j;
	s->njobs++;
	return 0;
}

/* Bit of signal SIG in a /proc status mask. */
#define SIGBIT(sig) (1ULL << ((sig)-1))

/*
 * What to answer instead of EINTR if the caller's own wait would have been
 * cut short by a signal now pending for it (see above): -ERESTARTSYS,
 * -ERESTARTNOINTR, or 0 (none).
 */
static int pending_restart(const struct job *j)
{
	char buf[8192], *line, *save = NULL;
	unsigned long long pnd = 0, shd = 0, blk = 0, ign = 0, cgt = 0, pending;
	const unsigned long long stops =
		SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU);
	_cleanup_close_ int fd = openat(j->q.procfd, "status", O_RDONLY | O_CLOEXEC);
	long threads = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read_full(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "Threads:", 8))
			threads = strtol(line + 8, NULL, 10);
		else if (!strncmp(line, "SigPnd:", 7))
			pnd = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "ShdPnd:", 7))
			shd = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "SigBlk:", 7))
			blk = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "SigIgn:", 7))
			ign = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "SigCgt:", 7))
			cgt = strtoull(line + 7, NULL, 16);
	}
	pending = (pnd | (threads == 1 ? shd : 0)) & ~blk;
	if (pending & cgt)
		return -MOS_ERESTARTSYS;
	if (pending & stops & ~cgt & ~ign)
		return -MOS_ERESTARTNOINTR;
	return 0;
}

/* Look at the callers of the running jobs; interrupt those it is time to. */
void sup_tick_jobs(struct sup *s, bool stopping)
{
	for (struct job *j = s->jobs; j; j = j->next) {
		if (atomic_load(&j->state) != JOB_RUNNING)
			continue;
		if (!j->interrupt && (stopping || !sup_id_valid(s, &j->q)))
			j->interrupt = true;
		if (!j->interrupt) {
			int r = pending_restart(j);

			if (r) {
				j->restart = -r;
				j->interrupt = true;
			}
		}
		/* again at every tick: the first may come before the job waits */
		if (j->interrupt)
			unotify_interrupt(j->thread);
	}
}

int sup_watch_readers(struct sup *s, struct pollfd *pfd, struct job **watched)
{
	int n = 0;

	for (struct job *j = s->jobs; j && n < MAX_WATCHED; j = j->next) {
		if (j->kind != JOB_OPEN || !j->reader || j->use_reader ||
		    atomic_load(&j->state) != JOB_RUNNING)
			continue;
		pfd[n] = (struct pollfd){ .fd = j->fd, .events = POLLIN };
		watched[n++] = j;
	}
	return n;
}

/* Answer the caller of finished job J. */
static void job_answer(struct sup *s, struct job *j)
{
	struct answer a = { .inject = -1, .newfd_flags = j->newfd_flags };
	int err = 0;

	if (j->kind == JOB_OPEN && j->use_reader && j->ret == -EINTR) {
		/* the reader held is the caller's fd, blocking as it asked */
		int fl = fcntl(j->fd, F_GETFL);

		if (fl >= 0 && fcntl(j->fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
			j->ret = take_fd(&j->fd);
	}
	if (j->ret == -EINTR && j->restart)
		err = -j->restart;
	else if (j->ret < 0)
		err = (int)j->ret;
	else if (j->kind == JOB_OPEN)
		a.inject = (int)j->ret;
	else
		a.val = j->ret;
	if (j->kind == JOB_SEND && !err && j->op.len_addr) {
		/* sendmmsg's first message: its msg_len, and one message sent */
		sup_write_child_u32(s, &j->q, j->op.len_addr, (__u32)j->ret, &err);
		a.val = 1;
	}
	if (j->kind == JOB_SEND && err == -EPIPE && !(j->op.flags & MSG_NOSIGNAL))
		sup_signal_caller(s, &j->q, SIGPIPE);
	sup_reply(s, &j->q, &a, err);
	if (a.inject >= 0)
		close(a.inject);
}

/* Answer and free the jobs that are done. */
void sup_reap_jobs(struct sup *s)
{
	uint64_t v;

	(void)!read(s->done_efd, &v, sizeof(v));
	for (struct job **pp = &s->jobs; *pp;) {
		struct job *j = *pp;

		if (atomic_load(&j->state) != JOB_DONE) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		s->njobs--;
		pthread_join(j->thread, NULL);
		job_answer(s, j);
		sup_job_free(j);
	}
}

/*
 * The supervisor stops: interrupt every job and answer it, waiting at most
 * JOB_END_MS for those whose step does not give way to a signal; those are
 * left to free themselves.
 */
void sup_end_jobs(struct sup *s)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (s->jobs) {
		struct pollfd pfd = { .fd = s->done_efd, .events = POLLIN };
		long ms;

		sup_tick_jobs(s, true);
		if (poll(&pfd, 1, 20) > 0)
			sup_reap_jobs(s);
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= JOB_END_MS)
			break;
	}
	while (s->jobs) {
		struct job *j = s->jobs;

		s->jobs = j->next;
		s->njobs--;
		if (atomic_exchange(&j->state, JOB_ABANDONED) == JOB_DONE) {
			pthread_join(j->thread, NULL);
			sup_job_free(j);
		} else {
			pthread_detach(j->thread);
		}
	}
}
