// SPDX-License-Identifier: GPL-2.0-only
/*
 * unotify.c - the supervisor: receive trapped syscalls, decide, act on the
 * child's behalf, answer.  This file holds the serving loop, the dispatch
 * of a request to its part and the answer; the parts are unotify_caller.c
 * (step 2), unotify_path.c (step 3), unotify_policy.c (step 4),
 * unotify_open.c, unotify_look.c, unotify_change.c, unotify_net.c and
 * unotify_send.c (step 5), and unotify_jobs.c (the steps that wait).
 *
 * One request, step by step (the order is what makes it race-free):
 *
 *  1. SECCOMP_IOCTL_NOTIF_RECV gives the caller's tid (in our pid namespace)
 *     and its arguments, copied by the kernel: the numbers cannot change.
 *  2. Read the path (bounded: PATH_MAX, page by page, NUL-terminated) or
 *     the sockaddr with process_vm_readv on that tid, then NOTIF_ID_VALID.
 *     The tid cannot name another task while the notification is pending
 *     (the caller is blocked in it and must die before its tid is reused),
 *     so a valid id after the read means the bytes are the caller's.  The
 *     copy is now ours: whatever the child writes into its buffer later,
 *     nobody reads it again.  When more is needed (a relative path, /proc,
 *     a umask), /proc/TID is opened as an O_PATH directory and NOTIF_ID_VALID
 *     checked after: that fd then names the caller for good (its status,
 *     cwd, fds), never a pid number again.
 *  3. Resolve the path as the child: relative paths against the child's cwd
 *     or dirfd (the /proc/TID/{cwd,fd/N} link text, verified by comparing
 *     the inode it names with the inode the magic link opens O_PATH), "."
 *     and "//" removed, then every symlink resolved as the kernel would, in
 *     the sandbox's root (sup_canonicalize(); /proc/self as the caller's
 *     pid in the sandbox's /proc).
 *  4. Check the policy on that path (the longest root, the deny paths, the
 *     decider for an ask root), open it beneath the O_PATH fd of the
 *     allowing root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
 *     RESOLVE_NO_SYMLINKS), and check the policy again on where the fd
 *     really is (its /proc/self/fd link).  The open runs with the child's
 *     fsuid, fsgid, groups and umask.
 *  5. Inject the fd with SECCOMP_IOCTL_NOTIF_ADDFD + SECCOMP_ADDFD_FLAG_SEND
 *     (atomically installs it and answers the syscall with its number), or
 *     make the change (mkdir, rename, connect, send, ...) relative to a
 *     checked fd or on our copy of the caller's fd (pidfd_getfd, never its
 *     number again), or perform the look (stat, readlink) and write the
 *     result into the caller, or answer an error.  A step that waits on
 *     someone else (a FIFO's open, a connect, a send) runs in a job, a
 *     thread of its own (unotify_jobs.c).  SECCOMP_USER_NOTIF_FLAG_CONTINUE
 *     only where nothing can be performed for the caller: O_PATH opens (ADDFD
 *     cannot inject them; what they give is looked at only where allowed)
 *     and execve under noexec mounts outside the policy
 *     (Documentation/supervisor.md, "Exceptions").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unotify.h"
#include "unotify_internal.h"
#include "util.h"

/* Linux 6.6 uapi, not in every distribution's headers yet. */
#define MOS_SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW('!', 4, __u64)
#define MOS_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)

/* The part that performs the trapped syscall of request Q (steps 2 to 5). */
static int handle(struct sup *s, struct req *q, struct answer *a)
{
	const __u64 *g = q->n->data.args;

	switch (q->n->data.nr) {
	case __NR_open:
		return sup_do_open(s, q, AT_FDCWD, g[0], g[1], g[2], a);
	case __NR_creat:
		return sup_do_open(s, q, AT_FDCWD, g[0], O_CREAT | O_WRONLY | O_TRUNC, g[1], a);
	case __NR_openat:
		return sup_do_open(s, q, (int)g[0], g[1], g[2], g[3], a);
	case __NR_stat:
		return sup_do_look(s, q, AT_FDCWD, g[0], false, 0,
				   &(struct look){ .kind = LOOK_STAT, .buf = g[1] }, a);
	case __NR_lstat:
		return sup_do_look(s, q, AT_FDCWD, g[0], true, 0,
				   &(struct look){ .kind = LOOK_STAT, .buf = g[1] }, a);
	case __NR_newfstatat:
		if ((int)g[3] & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH))
			return -EINVAL;
		return sup_do_look(s, q, (int)g[0], g[1], g[3] & AT_SYMLINK_NOFOLLOW, (int)g[3],
				   &(struct look){ .kind = LOOK_STAT, .buf = g[2] }, a);
	case __NR_statx:
		if (((int)g[2] & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH |
				   AT_STATX_SYNC_TYPE)) ||
		    ((int)g[2] & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE ||
		    ((unsigned int)g[3] & STATX__RESERVED))
			return -EINVAL;
		return sup_do_look(s, q, (int)g[0], g[1], g[2] & AT_SYMLINK_NOFOLLOW, (int)g[2],
				   &(struct look){ .kind = LOOK_STATX,
						   .buf = g[4],
						   .mask = (unsigned int)g[3],
						   .sync = (int)g[2] & AT_STATX_SYNC_TYPE },
				   a);
	case __NR_readlink:
		return sup_do_look(
			s, q, AT_FDCWD, g[0], true, 0,
			&(struct look){ .kind = LOOK_READLINK, .buf = g[1], .size = g[2] }, a);
	case __NR_readlinkat:
		/* an empty path is the link DIRFD is (an O_PATH fd of it) */
		return sup_do_look(
			s, q, (int)g[0], g[1], true, AT_EMPTY_PATH,
			&(struct look){ .kind = LOOK_READLINK, .buf = g[2], .size = g[3] }, a);
	case __NR_execve:
		return sup_do_exec(s, q, AT_FDCWD, g[0], 0, a);
	case __NR_execveat:
		return sup_do_exec(s, q, (int)g[0], g[1], (int)g[4], a);
	case __NR_connect:
		return sup_do_addr(s, q, (int)g[0], g[1], g[2], false, a);
	case __NR_bind:
		return sup_do_addr(s, q, (int)g[0], g[1], g[2], true, a);
	case __NR_sendto:
		return sup_do_sendto(s, q, (int)g[0], g[1], g[2], (int)g[3], g[4], g[5], a);
	case __NR_sendmsg:
		return sup_do_sendmsg(s, q, (int)g[0], g[1], (int)g[2], a);
	case __NR_sendmmsg:
		return sup_do_sendmmsg(s, q, (int)g[0], g[1], g[2], (int)g[3], a);
	case __NR_mkdir:
		return sup_do_mkdir(s, q, AT_FDCWD, g[0], g[1], false, 0, a);
	case __NR_mkdirat:
		return sup_do_mkdir(s, q, (int)g[0], g[1], g[2], false, 0, a);
	case __NR_mknod:
		return sup_do_mkdir(s, q, AT_FDCWD, g[0], g[1], true, g[2], a);
	case __NR_mknodat:
		return sup_do_mkdir(s, q, (int)g[0], g[1], g[2], true, g[3], a);
	case __NR_symlink:
		return sup_do_symlink(s, q, g[0], AT_FDCWD, g[1], a);
	case __NR_symlinkat:
		return sup_do_symlink(s, q, g[0], (int)g[1], g[2], a);
	case __NR_unlink:
		return sup_do_unlink(s, q, AT_FDCWD, g[0], 0, a);
	case __NR_rmdir:
		return sup_do_unlink(s, q, AT_FDCWD, g[0], AT_REMOVEDIR, a);
	case __NR_unlinkat:
		return sup_do_unlink(s, q, (int)g[0], g[1], (int)g[2], a);
	case __NR_rename:
		return sup_do_rename(s, q, AT_FDCWD, g[0], AT_FDCWD, g[1], 0, a);
	case __NR_renameat:
		return sup_do_rename(s, q, (int)g[0], g[1], (int)g[2], g[3], 0, a);
	case __NR_renameat2:
		return sup_do_rename(s, q, (int)g[0], g[1], (int)g[2], g[3], (unsigned int)g[4], a);
	case __NR_link:
		return sup_do_link(s, q, AT_FDCWD, g[0], AT_FDCWD, g[1], 0, a);
	case __NR_linkat:
		return sup_do_link(s, q, (int)g[0], g[1], (int)g[2], g[3], (int)g[4], a);
	case __NR_truncate:
		return sup_do_truncate(s, q, g[0], g[1], a);
	default:
		return -ENOSYS;
	}
}

/* -------------------------------------------------------------------- */
/* The loop                                                              */
/* -------------------------------------------------------------------- */

/*
 * This thread's capabilities (see "Privilege phases" in unotify_caller.c):
 * CAP_SETUID and CAP_SETGID in effect, CAP_SYS_PTRACE and CAP_KILL (if
 * held) permitted only, nothing else, in this thread only.  Sets
 * S->tracer_caps.
 */
static int drop_caps(struct sup *s)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	const __u32 effective = (1U << CAP_SETUID) | (1U << CAP_SETGID);
	const __u32 tracer = (1U << CAP_SYS_PTRACE) | (1U << CAP_KILL);

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	s->tracer_caps = d[0].permitted & tracer;
	d[0].effective &= effective;
	d[0].permitted &= effective | tracer;
	d[0].inheritable = 0;
	d[1].effective = d[1].permitted = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

/* What a request holds: the caller's fds, the events for the hooks. */
void sup_req_release(struct req *q)
{
	closep(&q->procfd);
	closep(&q->memfd);
	closep(&q->pidfd);
	for (int i = 0; i < q->nev; i++)
		free(q->ev_path[i]);
	q->nev = 0;
	free(q->asked);
	q->asked = NULL;
}

/* Tell the record hook what the request was about and how it ended. */
static void record(struct sup *s, const struct req *q, int err)
{
	const struct unotify_hooks *h = s->p->hooks;
	struct unotify_event ev = { .syscall = sup_syscall_name((long)q->n->data.nr),
				    .pid = q->have_status ? q->cs.ns_tgid : 0,
				    .error = err == -MOS_ERESTARTSYS || err == -MOS_ERESTARTNOINTR
						     ? -EINTR
						     : err,
				    .by_policy = err && q->by_policy };

	if (!h || !h->record)
		return;
	for (int i = 0; i < q->nev; i++) {
		ev.path = q->ev_path[i];
		ev.access = q->ev_access[i];
		h->record(h->ctx, &ev);
	}
	if (q->have_addr) {
		ev.path = NULL;
		ev.addr = &q->ev_addr;
		ev.bind = q->ev_bind;
		h->record(h->ctx, &ev);
	}
}

void sup_reply(struct sup *s, const struct req *q, const struct answer *a, int err)
{
	struct seccomp_notif_resp resp = { .id = q->n->id };

	if (!err && a->inject >= 0) {
		struct seccomp_notif_addfd addfd = {
			.id = q->n->id,
			.flags = SECCOMP_ADDFD_FLAG_SEND,
			.srcfd = (__u32)a->inject,
			.newfd_flags = a->newfd_flags,
		};

		if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0) {
			s->st->allowed++;
			record(s, q, 0);
			return;
		}
		if (errno == ENOENT) {
			s->st->stale++;
			return;
		}
		/* Fail closed: the syscall fails with the injection's error. */
		err = -errno;
	}
	if (err == -ESRCH) {
		/* The caller went away mid-decision; answering is harmless. */
		s->st->stale++;
		err = -EACCES;
	} else if (err == -EACCES) {
		s->st->denied++;
	} else if (err) {
		s->st->failed++;
	} else {
		s->st->allowed++;
	}
	if (err) {
		resp.error = err;
	} else if (a->cont) {
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else {
		resp.val = a->val;
	}
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno == ENOENT)
		s->st->stale++;
	record(s, q, err);
}

int unotify_serve(int listener, const struct unotify_policy *p, struct unotify_stats *stats)
{
	return unotify_serve_with(listener, p, stats, NULL);
}

/* Tell O->ready_fd (if any) how the preparation went: 0 or -errno. */
static void say_ready(const struct unotify_serve_opts *o, int err)
{
	if (o && o->ready_fd >= 0)
		write_all(o->ready_fd, &err, sizeof(err));
}

int unotify_serve_with(int listener, const struct unotify_policy *p, struct unotify_stats *stats,
		       const struct unotify_serve_opts *o)
{
	struct seccomp_notif_sizes sizes;
	struct unotify_stats dummy = { 0 };
	struct sup s = {
		.listener = listener,
		.st = stats ? stats : &dummy,
		.root = -1,
		.done_efd = -1,
		.stop_fd = o ? o->stop_fd : -1,
	};
	_cleanup_free_ struct seccomp_notif *n = NULL;
	size_t nsize;
	int err, ng;

	if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) {
		err = -errno;
		goto out;
	}
	nsize = sizes.seccomp_notif > sizeof(*n) ? sizes.seccomp_notif : sizeof(*n);
	n = xmalloc(nsize);
	/* Our own umask and cwd: the child's umask is applied by hand. */
	if (unshare(CLONE_FS) < 0) {
		err = -errno;
		goto out;
	}
	umask(0);
	sup_unblock_interrupt();
	s.done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s.done_efd < 0) {
		err = -errno;
		goto out;
	}
	err = drop_caps(&s);
	if (err)
		goto out;
	s.fsuid = (uid_t)syscall(SYS_setfsuid, -1);
	s.fsgid = (gid_t)syscall(SYS_setfsgid, -1);
	ng = (int)syscall(SYS_getgroups, MAX_GROUPS, s.groups);
	s.ngroups = ng < 0 ? 0 : ng;
	err = sup_init(&s, p);
	if (err)
		goto out;
	/*
	 * Linux 6.6+: the caller, blocked on us, hands its CPU to this thread
	 * and back (a synchronous wake-up) instead of waking another CPU.
	 */
	(void)ioctl(listener, MOS_SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		    MOS_SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	say_ready(o, 0);

	for (;;) {
		struct pollfd pfd[3 + MAX_WATCHED] = { { .fd = listener, .events = POLLIN },
						       { .fd = o ? o->stop_fd : -1,
							 .events = POLLIN },
						       { .fd = s.done_efd, .events = POLLIN } };
		struct job *watched[MAX_WATCHED];
		int nw = sup_watch_readers(&s, pfd + 3, watched);
		struct answer a = { .inject = -1 };
		struct req q = { .n = n, .procfd = -1, .memfd = -1, .pidfd = -1 };
		int r = poll(pfd, 3 + (nfds_t)nw, s.jobs ? JOB_TICK_MS : -1);

		if (r < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		if (r <= 0) {
			/* a tick (or a signal): look at the jobs' callers */
			sup_tick_jobs(&s, false);
			continue;
		}
		for (int i = 0; i < nw; i++) {
			if (pfd[3 + i].revents) {
				/* a writer came: that reader is the answer */
				watched[i]->use_reader = watched[i]->interrupt = true;
				unotify_interrupt(watched[i]->thread);
			}
		}
		if (pfd[2].revents & POLLIN)
			sup_reap_jobs(&s);
		if (pfd[1].revents) {
			err = 0; /* told to stop */
			break;
		}
		if (!(pfd[0].revents & POLLIN)) {
			if (!pfd[0].revents)
				continue;
			/* POLLHUP: every task under the filter is gone. */
			err = 0;
			break;
		}
		memset(n, 0, nsize);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			err = -errno;
			break;
		}
		s.st->notifications++;
		err = handle(&s, &q, &a);
		if (a.job) {
			if (!err) {
				err = sup_job_start(&s, &q, a.job);
				if (!err)
					continue; /* the job's end answers */
			}
			sup_job_free(a.job);
		}
		sup_reply(&s, &q, &a, err);
		err = 0;
		if (a.inject >= 0)
			close(a.inject);
		sup_req_release(&q);
	}
	sup_end_jobs(&s);
	sup_free(&s);
	return err;
out:
	say_ready(o, err);
	sup_free(&s);
	return err;
}
