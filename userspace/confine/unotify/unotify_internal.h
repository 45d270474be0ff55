/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unotify_internal.h - what the parts of the supervisor share: its state
 * (struct sup), one request (struct req) and its answer, the jobs that
 * finish a request that waits, and the functions one part calls in another.
 * unotify.c describes a request step by step; each part says which step it
 * is.  Only the files of this folder include it.
 */
#ifndef MOS_UNOTIFY_INTERNAL_H
#define MOS_UNOTIFY_INTERNAL_H

#include <linux/seccomp.h>
#include <linux/types.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "unotify.h"

struct open_how;
struct pollfd;

#define MAX_GROUPS 64

/* The kernel's own "restart the call" codes (include/linux/errno.h): an
 * answer of -MOS_ERESTARTSYS makes a signal handler with SA_RESTART
 * restart the call and one without see EINTR, as the kernel's waits do. */
#define MOS_ERESTARTSYS 512
#define MOS_ERESTARTNOINTR 513

struct sup_root {
	const char *path; /* as given, normalized */
	char *real;	  /* its real path (NULL: it does not exist) */
	int fd;		  /* O_PATH of it, or of its directory for a file */
	char *name;	  /* a file root: its name in that directory */
	bool write;
	bool ask; /* an ask root: allowed only if the decider says so */
};

struct sup {
	const struct unotify_policy *p;
	struct sup_root *roots;
	size_t nroots;
	char **deny_real;
	size_t ndeny;
	struct unotify_stats *st;
	int listener;
	pid_t self_tgid; /* 0: the supervisor has no pid in the sandbox's /proc */
	char *prefix;	 /* what fd links start with for the sandbox's "/" */
	int root;	 /* the sandbox's "/" (ours without in_root) */
	char **always;	 /* "ACCESS:path" or "net:..." the decider allowed for good */
	size_t nalways;
	/* Capabilities held in the permitted set only, raised for a syscall on
	 * the caller itself that the kernel refused without them (as_tracer()). */
	__u32 tracer_caps;
	/* Steps that may block, running in threads of their own (unotify_jobs.c). */
	struct job *jobs;
	int njobs;
	int done_efd; /* written by a job when it is done */
	int stop_fd;  /* readable once the supervisor is told to stop, or -1 */
	/* The serving thread's current file credentials. */
	uid_t fsuid;
	gid_t fsgid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

struct child_status {
	pid_t tgid;	       /* as the supervisor sees it */
	pid_t ns_tgid, ns_tid; /* as the sandbox's /proc names them */
	long threads;
	mode_t umask;
	uid_t euid, fsuid;
	gid_t egid, fsgid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

#define MAX_EVENTS 2

/* One request: the notification, and what was learnt of its caller. */
struct req {
	struct seccomp_notif *n;
	int procfd;
	int memfd;
	int pidfd;
	struct child_status cs;
	bool have_status;
	/* What the request was about, for the hooks: up to two paths (rename,
	 * link) or one address. */
	char *ev_path[MAX_EVENTS];
	enum unotify_access ev_access[MAX_EVENTS];
	int nev;
	struct sockaddr_storage ev_addr;
	bool have_addr, ev_bind;
	bool by_policy; /* refused by the policy (or the decider) */
	char *asked;	/* the path the decider allowed in this request */
};

/*
 * A send performed for the caller: our copies of everything the kernel
 * would have read from it (the socket, the destination, the data, the fds
 * of SCM_RIGHTS), ready for sendmsg() on our side (sup_send_op_send()).
 */
struct send_op {
	int sock;      /* our copy of the caller's socket */
	int via;       /* an O_PATH fd of the unix socket file named as destination, or -1 */
	int flags;     /* the caller's MSG_* flags */
	bool blocking; /* the caller waits for room (no MSG_DONTWAIT, no O_NONBLOCK) */
	struct sockaddr_storage name; /* the destination (NAMELEN 0: none) */
	socklen_t namelen;
	char *data; /* the data, gathered into one buffer */
	size_t len;
	char *control; /* the control messages, with our fds in SCM_RIGHTS */
	size_t controllen;
	int *fds; /* those fds */
	int nfds;
	__u64 len_addr; /* sendmmsg: where the caller's msg_len goes, or 0 */
};

enum job_kind { JOB_OPEN = 1, JOB_CONNECT, JOB_SEND };
enum { JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

/*
 * A step that may wait for as long as someone else decides, performed in a
 * thread of its own so that the serving thread goes on serving
 * (unotify_jobs.c).  The handler fills in what to do; the serving thread
 * moves the request in and answers the caller once the job is done.
 */
struct job {
	struct job *next;
	pthread_t thread;
	enum job_kind kind;
	atomic_int state;
	int done_fd;		      /* our own copy of the serving thread's eventfd */
	struct seccomp_notif n;	      /* the notification: id, caller's tid, syscall */
	struct req q;		      /* the request, moved here (q.n is &n) */
	__u32 newfd_flags;	      /* JOB_OPEN: O_CLOEXEC for the caller's fd */
	int restart;		      /* answer -restart for EINTR: a signal waits for the caller */
	bool interrupt;		      /* interrupt it (again) at the next tick */
	int fd;			      /* JOB_OPEN: the file to open; JOB_CONNECT: our socket */
	__u64 flags;		      /* JOB_OPEN: the open's flags */
	bool reader;		      /* JOB_OPEN: FD is a FIFO's non-blocking reader, held */
	bool use_reader;	      /* ... which has seen a writer: it is the answer */
	int via;		      /* JOB_CONNECT: as in struct send_op */
	struct sockaddr_storage addr; /* JOB_CONNECT: where to */
	socklen_t addrlen;
	struct send_op op; /* JOB_SEND */
	long ret;	   /* what came of it: >= 0 (an fd for JOB_OPEN) or -errno */
};

/* How sup_reply() answers a request. */
struct answer {
	__s64 val;
	bool cont;  /* SECCOMP_USER_NOTIF_FLAG_CONTINUE: O_PATH opens, execve */
	int inject; /* >= 0: send this fd with ADDFD_FLAG_SEND */
	__u32 newfd_flags;
	struct job *job; /* not answered now: a job will (unotify_jobs.c) */
};

/* What a stat or readlink asks for (unotify_look.c). */
struct look {
	enum { LOOK_STAT, LOOK_STATX, LOOK_READLINK } kind;
	__u64 buf;	   /* the caller's struct stat, struct statx or text buffer */
	__u64 size;	   /* LOOK_READLINK: its size */
	unsigned int mask; /* LOOK_STATX: what is wanted */
	int sync;	   /* LOOK_STATX: AT_STATX_* */
	bool empty;	   /* the path was empty: the call is about DIRFD itself */
};

/* How often the serving thread looks at the callers of its jobs. */
#define JOB_TICK_MS 50

/* FIFO readers held by open jobs that the serving thread polls too. */
#define MAX_WATCHED 64

/* unotify_policy.c: the roots, the policy's decision, the events. */
int sup_init(struct sup *s, const struct unotify_policy *p);
void sup_free(struct sup *s);
int sup_check_real(struct sup *s, struct req *q, const char *real, enum unotify_access access);
bool sup_above_a_root(struct sup *s, struct req *q, const char *canon);
const struct sup_root *sup_allowed(struct sup *s, struct req *q, const char *real,
				   enum unotify_access access, bool primary);
bool sup_ask_decider(struct sup *s, const char *key, const struct unotify_event *ev);
void sup_note_path(struct req *q, const char *real, enum unotify_access access);
pid_t sup_event_pid(struct sup *s, struct req *q);
const char *sup_syscall_name(long nr);

/* unotify_caller.c: the caller, its memory, its fds, its paths. */
int sup_caller_openat(const struct sup *s, const struct req *q, const char *name, int flags);
ssize_t sup_caller_readlinkat(const struct sup *s, const struct req *q, const char *name, char *buf,
			      size_t len);
bool sup_id_valid(const struct sup *s, const struct req *q);
int sup_need_proc(struct sup *s, struct req *q);
int sup_need_status(struct sup *s, struct req *q);
int sup_read_child_string(struct sup *s, struct req *q, __u64 addr, char *buf);
int sup_read_child_mem(struct sup *s, struct req *q, __u64 addr, void *buf, size_t len);
int sup_write_child_mem(struct sup *s, struct req *q, __u64 addr, const void *buf, size_t len);
void sup_write_child_u32(struct sup *s, struct req *q, __u64 addr, __u32 v, int *err);
void sup_signal_caller(struct sup *s, const struct req *q, int sig);
int sup_child_fd(struct sup *s, struct req *q, int fd);
int sup_child_abs_path(struct sup *s, struct req *q, int dirfd, const char *path, char **out);

/* unotify_path.c: paths as the sandbox names them, symlinks resolved. */
long sup_openat2(int dirfd, const char *path, struct open_how *how);
int sup_fd_path(int fd, char *out, size_t len);
int sup_sandbox_path(const struct sup *s, char *path);
int sup_fd_real(const struct sup *s, int fd, char *out, size_t len);
int sup_open_as_sandbox(const struct sup *s, const char *path, __u64 flags);
int sup_canonicalize_fd(struct sup *s, struct req *q, const char *abs, bool follow, char **out,
			int *fdp);
int sup_canonicalize(struct sup *s, struct req *q, const char *abs, bool follow, char **out);
bool sup_not_there(const struct sup *s, const char *real);
int sup_own_fd_link(const struct req *q, const char *abs);

/* unotify_open.c: opens and execve. */
int sup_open_canon(struct sup *s, struct req *q, const char *canon, enum unotify_access access,
		   __u64 flags, __u64 mode, bool primary, bool *wait);
int sup_open_beneath(struct sup *s, struct req *q, const char *abs, enum unotify_access access,
		     __u64 flags, __u64 mode);
int sup_do_open(struct sup *s, struct req *q, int dirfd, __u64 path_addr, __u64 flags, __u64 mode,
		struct answer *a);
int sup_do_exec(struct sup *s, struct req *q, int dirfd, __u64 path_addr, int atflags,
		struct answer *a);

/* unotify_look.c: the stat family and readlink. */
int sup_do_look(struct sup *s, struct req *q, int dirfd, __u64 path_addr, bool nofollow,
		int atflags, struct look *l, struct answer *a);

/* unotify_change.c: changes to directories, and truncate. */
int sup_do_mkdir(struct sup *s, struct req *q, int dirfd, __u64 path_addr, __u64 mode, bool node,
		 __u64 dev, struct answer *a);
int sup_do_symlink(struct sup *s, struct req *q, __u64 target_addr, int dirfd, __u64 path_addr,
		   struct answer *a);
int sup_do_unlink(struct sup *s, struct req *q, int dirfd, __u64 path_addr, int flags,
		  struct answer *a);
int sup_do_rename(struct sup *s, struct req *q, int olddir, __u64 old_addr, int newdir,
		  __u64 new_addr, unsigned int flags, struct answer *a);
int sup_do_link(struct sup *s, struct req *q, int olddir, __u64 old_addr, int newdir,
		__u64 new_addr, int flags, struct answer *a);
int sup_do_truncate(struct sup *s, struct req *q, __u64 path_addr, __u64 len, struct answer *a);

/* unotify_net.c: connect and bind. */
int sup_do_addr(struct sup *s, struct req *q, int sockfd, __u64 addr, __u64 len, bool bind_,
		struct answer *a);
bool sup_net_decision(struct sup *s, struct req *q, const struct sockaddr_storage *ss, bool bind,
		      bool ok);
bool sup_udp_dest_ok(const struct sup *s, const struct sockaddr_storage *ss);
int sup_sock_type(int fd);
int sup_unix_peer_sees_us(struct sup *s, struct req *q);
int sup_unix_socket_file(struct sup *s, struct req *q, const char *abs, struct sockaddr_un *via,
			 socklen_t *vlen);

/* unotify_send.c: sendto, sendmsg, sendmmsg. */
int sup_do_sendto(struct sup *s, struct req *q, int fd, __u64 buf_addr, __u64 len, int flags,
		  __u64 addr, __u64 addrlen, struct answer *a);
int sup_do_sendmsg(struct sup *s, struct req *q, int fd, __u64 msg_addr, int flags,
		   struct answer *a);
int sup_do_sendmmsg(struct sup *s, struct req *q, int fd, __u64 vec_addr, __u64 vlen, int flags,
		    struct answer *a);
void sup_send_op_release(struct send_op *op);
ssize_t sup_send_op_send(const struct send_op *op, int extra);

/* unotify_jobs.c: the steps that wait, in threads of their own. */
struct job *sup_job_new(enum job_kind kind);
void sup_job_free(struct job *j);
int sup_job_start(struct sup *s, struct req *q, struct job *j);
void sup_tick_jobs(struct sup *s, bool stopping);
int sup_watch_readers(struct sup *s, struct pollfd *pfd, struct job **watched);
void sup_reap_jobs(struct sup *s);
void sup_end_jobs(struct sup *s);
void sup_unblock_interrupt(void);

/* unotify.c: the answer. */
void sup_reply(struct sup *s, const struct req *q, const struct answer *a, int err);
void sup_req_release(struct req *q);

#endif /* MOS_UNOTIFY_INTERNAL_H */
