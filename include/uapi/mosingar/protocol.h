/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * MoSingAr wire protocol between an origin (mosctl) and a worker (mosd).
 *
 * One byte stream per origin-worker pair (TLS 1.3 over TCP, or an ssh
 * channel for `mosd --stdio`), carrying frames:
 *
 *   struct mos_frame_hdr (16 bytes, little endian)  then  LEN payload bytes
 *
 * A payload is a fixed-size body (per type, below) followed by variable
 * fields, each a __u32 length then that many bytes.  Everything is checked
 * before use: an unknown type or version, a length above MOS_FRAME_MAX, a
 * body shorter than its type needs or a variable field running past the
 * frame closes the connection with a logged reason.
 *
 * Requests carry an id chosen by the sender (non-zero); the reply carries the
 * same id.  Either side may have many requests in flight.  Documented in
 * Documentation/protocol.md; numbers are never reused.
 */
#ifndef _UAPI_MOSINGAR_PROTOCOL_H
#define _UAPI_MOSINGAR_PROTOCOL_H

#include <linux/types.h>

#define MOS_PROTO_VERSION 1
#define MOS_PROTO_MAGIC 0x4d4f5331U /* "MOS1": first 4 bytes of HELLO's body */
#define MOS_FRAME_MAX (1U << 20)    /* payload bytes, at most */
#define MOS_DATA_CHUNK (256U << 10) /* file and stdio data per frame, at most */
#define MOS_PATH_MAX 4096U
#define MOS_NAME_MAX 255U

struct mos_frame_hdr {
	__u32 len;	/* payload bytes after this header */
	__u8 version;	/* MOS_PROTO_VERSION */
	__u8 type;	/* enum mos_msg */
	__u16 flags;	/* enum mos_frame_flags */
	__u32 id;	/* request id; 0 for messages that need no reply */
	__u32 reserved; /* 0 */
};
_Static_assert(sizeof(struct mos_frame_hdr) == 16, "frame header is 16 bytes");

enum mos_frame_flags {
	MOS_F_REPLY = 1U << 0, /* this frame answers request ID */
	MOS_F_MORE = 1U << 1,  /* more frames follow for the same id (streamed data) */
};

enum mos_msg {
	/* both ways, first frame */
	MOS_MSG_HELLO = 1, /* body: struct mos_hello */

	/* origin -> worker: the job and its input */
	MOS_MSG_JOB = 2,     /* struct mos_job + vars: argv..., env..., cwd, sandbox args... */
	MOS_MSG_STDIN = 3,   /* vars: data (empty = end of input) */
	MOS_MSG_SIGNAL = 4,  /* struct mos_signal */
	MOS_MSG_WINSIZE = 5, /* struct mos_winsize */
	MOS_MSG_CREDIT = 6,  /* struct mos_credit: the origin consumed output */
	/* what the previous job of this kind looked up, as of now; before JOB, no reply */
	MOS_MSG_PRELOAD_LISTDIR = 10, /* vars: path; then as a LISTDIR reply (MORE: continued) */
	MOS_MSG_PRELOAD_OPEN = 11,    /* vars: path; then struct mos_open_reply */

	/* both ways, to a peer whose HELLO has MOS_FEAT_KEEPALIVE only: a request
	 * (id non-zero, empty body) answered at once with an empty PING reply */
	MOS_MSG_PING = 12,

	/* origin -> worker, to a worker whose HELLO has MOS_FEAT_CANCEL only (no
	 * body, id 0): the origin is ending the job (-t, SIGTERM, a second ^C).
	 * It has dropped the job's unfinished write-backs and refuses every
	 * later file request: stop sending them (a SIGNAL follows). */
	MOS_MSG_CANCEL = 13,

	/* origin -> worker, to a worker whose HELLO has MOS_FEAT_STATUS only: a
	 * request (id non-zero, no body), before a JOB or alone on a connection
	 * (HELLO, STATUS, close); reply: struct mos_status */
	MOS_MSG_STATUS = 14,

	/* origin -> worker, on a session (both HELLOs have MOS_FEAT_SESSION):
	 * vars: path (no reply, id 0).  PATH, or something beneath it, may have
	 * changed on the origin: what the session keeps of PATH, of everything
	 * beneath it and of its parent's listing is dropped before the next
	 * frame is read.  "/" drops everything. */
	MOS_MSG_INVALIDATE = 15,

	/* worker -> origin: output and the end */
	MOS_MSG_STDOUT = 7, /* vars: data */
	MOS_MSG_STDERR = 8, /* vars: data */
	MOS_MSG_EXIT = 9,   /* struct mos_exit + vars: message (why the job failed, may be empty) */

	/* worker -> origin: file service requests (reply: same type | REPLY, or ERROR) */
	MOS_MSG_LISTDIR = 16,	/* vars: path.  reply: struct mos_attr (dir) + entries */
	MOS_MSG_STAT = 17,	/* vars: path.  reply: struct mos_attr + vars: link target */
	MOS_MSG_OPEN = 18,	/* vars: path.  reply: struct mos_open_reply */
	MOS_MSG_FETCH = 19,	/* struct mos_fetch.  reply: data frames with MOS_F_MORE */
	MOS_MSG_PUT_BEGIN = 20, /* struct mos_put + vars: path. reply: struct mos_put_handle */
	MOS_MSG_PUT_DATA = 21, /* struct mos_put_data + vars: data. no reply: errors wait for END */
	MOS_MSG_PUT_END = 22,  /* struct mos_put_end. reply: empty (file is on disk) */
	MOS_MSG_MKDIR = 23,    /* struct mos_mode_arg + vars: path */
	MOS_MSG_UNLINK = 24,   /* vars: path */
	MOS_MSG_RMDIR = 25,    /* vars: path */
	MOS_MSG_RENAME = 26,   /* struct mos_rename + vars: from, to */
	MOS_MSG_SYMLINK = 27,  /* vars: target, path */
	MOS_MSG_CHMOD = 28,    /* struct mos_mode_arg + vars: path */
	MOS_MSG_TRUNCATE = 29, /* struct mos_truncate + vars: path */
	MOS_MSG_UTIMENS = 30,  /* struct mos_utimens + vars: path */
	MOS_MSG_LINK = 31,     /* vars: from, to */
	/* to an origin whose HELLO has MOS_FEAT_SPARSE_FETCH only: as FETCH,
	 * but each reply frame is struct mos_fetch_extent + vars: data, the
	 * data found at that offset; what no frame covers in the range asked
	 * for is a hole (zeros).  The last frame (no MOS_F_MORE) may be empty. */
	MOS_MSG_FETCH_SPARSE = 32,

	/* mosctl <-> its agent (`mosctl agent`, a unix socket), never on a
	 * worker's connection.  First frame from mosctl: */
	MOS_MSG_AGENT_OPEN = 40, /* struct mos_agent_open + vars: worker, session key */
	/* the agent's answer: the stream now carries the protocol above, as
	 * with the worker itself (HELLO first); or ERROR (struct mos_error:
	 * ECONNREFUSED & co. when the worker cannot be reached) */
	MOS_MSG_AGENT_READY = 41, /* struct mos_agent_ready */
	/* mosctl, after the job's EXIT: the inotify watches it added for the
	 * session (the descriptor in SCM_RIGHTS with the first frame), so that
	 * the agent watches on; MORE on all but the last */
	MOS_MSG_AGENT_WATCHES = 42, /* struct mos_agent_watches + n x (__s32 wd, vars: path) */

	MOS_MSG_ERROR = 63, /* reply to any request: struct mos_error + vars: message */
};

struct mos_agent_open {
	__u64 features; /* mosctl's HELLO's, which the session's worker is told */
};

enum mos_agent_flags {
	MOS_AGENT_WARM = 1U << 0, /* the session ran jobs before: preloads are not needed */
};

struct mos_agent_ready {
	__u32 flags; /* enum mos_agent_flags */
	__u32 jobs;  /* jobs the session ran before this one */
};

struct mos_agent_watches {
	__u32 n;	/* pairs in this frame */
	__u32 failures; /* watches mosctl could not add: the session keeps nothing */
};

struct mos_hello {
	__u32 magic;	/* MOS_PROTO_MAGIC */
	__u16 version;	/* highest version the sender speaks */
	__u16 role;	/* 1 origin, 2 worker */
	__u64 features; /* enum mos_hello_features bits */
};

enum mos_hello_features {
	MOS_FEAT_PASSTHROUGH = 1ULL << 0,  /* worker serves cached content by FUSE passthrough */
	MOS_FEAT_SPARSE_PUT = 1ULL << 1,   /* origin takes PUT_BEGIN with MOS_PUT_SPARSE */
	MOS_FEAT_KEEPALIVE = 1ULL << 2,	   /* answers PING; sends one when the peer is quiet */
	MOS_FEAT_CANCEL = 1ULL << 3,	   /* worker takes CANCEL */
	MOS_FEAT_SPARSE_FETCH = 1ULL << 4, /* origin takes FETCH_SPARSE */
	MOS_FEAT_STATUS = 1ULL << 5,	   /* worker answers STATUS */
	/* a session: the origin may send another job after EXIT (PRELOAD_*,
	 * JOB...), and INVALIDATE; the worker keeps listings and OPEN answers
	 * from job to job until the origin invalidates them */
	MOS_FEAT_SESSION = 1ULL << 6,
};

/* Attributes as the origin's lstat(2) saw them. */
struct mos_attr {
	__u64 ino;
	__u64 size;
	__u64 blocks;
	__s64 atime_sec;
	__s64 mtime_sec;
	__s64 ctime_sec;
	__u32 atime_nsec;
	__u32 mtime_nsec;
	__u32 ctime_nsec;
	__u32 mode; /* S_IFMT | permission bits */
	__u32 uid;
	__u32 gid;
	__u32 nlink;
	__u32 rdev;
	__u32 pad;
};
_Static_assert(sizeof(struct mos_attr) == 88, "struct mos_attr is 88 bytes");

/* LISTDIR reply: struct mos_attr (the directory) then, per entry,
 * struct mos_dirent_hdr + name + link target (symlinks only). */
struct mos_dirent_hdr {
	struct mos_attr attr;
	__u16 name_len;
	__u16 link_len;
	__u32 pad;
};

struct mos_job {
	__u32 uid; /* the origin user's ids, mapped in the job's user namespace */
	__u32 gid;
	__u32 umask;
	__u32 flags; /* enum mos_job_flags */
	__u16 rows;  /* terminal size when MOS_JOB_TTY */
	__u16 cols;
	__u32 nargv; /* then nargv strings, nenv strings, cwd, nsandbox strings */
	__u32 nenv;
	__u32 nsandbox;
};

enum mos_job_flags {
	MOS_JOB_TTY = 1U << 0,	 /* give the job a pty on the worker */
	MOS_JOB_STDIN = 1U << 1, /* the origin will send stdin (else /dev/null) */
};

/* The worker's own report, for placement and `mosctl pool status`. */
struct mos_status {
	__u32 slots;	   /* jobs it runs at once (mosd --slots) */
	__u32 running;	   /* jobs running now, on every connection */
	__u32 load_milli;  /* 1-minute load average x 1000 */
	__u32 cpus;	   /* CPUs online */
	__u64 cache_bytes; /* content cache in use */
	__u64 cache_limit; /* its cap (--cache-size; 0: none) */
	__u64 jobs_done;   /* jobs ended since mosd started */
	__u64 cache_hits;  /* files of those jobs found in the cache */
	__u64 cache_misses;
};
_Static_assert(sizeof(struct mos_status) == 56, "struct mos_status is 56 bytes");

struct mos_signal {
	__u32 signo;
	__u32 pad;
};

struct mos_winsize {
	__u16 rows;
	__u16 cols;
	__u32 pad;
};

struct mos_credit {
	__u32 bytes; /* output bytes the origin has written out since the last CREDIT */
	__u32 pad;
};

struct mos_exit {
	__u32 status; /* as mosctl reports it: code, 128+signal, 124 timeout, 125 setup */
	__u32 flags;  /* enum mos_exit_flags */
	/* statistics, for --stats */
	__u64 fuse_requests;
	__u64 cache_hits;
	__u64 cache_misses;
	__u64 bytes_fetched;
	__u64 bytes_written_back;
};

enum mos_exit_flags {
	MOS_EXIT_WRITEBACK_FAILED = 1U << 0, /* an output could not be written on the origin */
};

struct mos_open_reply {
	struct mos_attr attr;
	__u8 sha256[32];
};

struct mos_fetch {
	__u8 sha256[32];
	__u64 offset;
	__u64 length; /* at most MOS_FETCH_MAX; sent as data frames, MOS_F_MORE on all but the last */
};

struct mos_put {
	__u32 mode;
	__u32 flags; /* enum mos_put_flags; 0 from workers before MOS_FEAT_SPARSE_PUT */
	__u64 size;  /* with MOS_PUT_SPARSE: the file's final size; else unused */
};
_Static_assert(sizeof(struct mos_put) == 16, "struct mos_put is 16 bytes");

enum mos_put_flags {
	/* SIZE is the final size; PUT_DATA frames carry only the data extents
	 * (each within SIZE), the rest is holes.  Only to an origin whose HELLO
	 * has MOS_FEAT_SPARSE_PUT. */
	MOS_PUT_SPARSE = 1U << 0,
};

struct mos_put_handle {
	__u32 handle; /* names the file being written in PUT_DATA and PUT_END */
	__u32 pad;
};

struct mos_put_data {
	__u64 offset;
	__u32 handle;
	__u32 pad;
};

struct mos_put_end {
	__s64 mtime_sec;
	__u32 mtime_nsec;
	__u32 handle;
	__u32 abort; /* 1: drop the file instead */
	__u32 pad;
};

#define MOS_FETCH_MAX (8U << 20) /* bytes per FETCH, at most; the origin clamps */

/* A FETCH_SPARSE reply frame: the data that follows is at OFFSET. */
struct mos_fetch_extent {
	__u64 offset;
};
_Static_assert(sizeof(struct mos_fetch_extent) == 8, "struct mos_fetch_extent is 8 bytes");

struct mos_mode_arg {
	__u32 mode;
	__u32 pad;
};

struct mos_rename {
	__u32 flags; /* RENAME_NOREPLACE | RENAME_EXCHANGE */
	__u32 pad;
};

struct mos_truncate {
	__u64 size;
};

struct mos_utimens {
	__s64 atime_sec;
	__s64 mtime_sec;
	__u32 atime_nsec; /* UTIME_NOW / UTIME_OMIT as in utimensat(2) */
	__u32 mtime_nsec;
};

struct mos_error {
	__s32 err; /* a positive errno value, as Linux numbers it */
	__u32 pad;
};

#endif /* _UAPI_MOSINGAR_PROTOCOL_H */
