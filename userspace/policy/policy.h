/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * policy.h - the one policy model every backend enforces.
 *
 * A policy is built from a JSON file (policy_load_file) and from command-line
 * flags (policy_add_*), in that order: flags add rules to the file's lists and
 * replace its scalar settings.  Nothing here touches the kernel; confine/
 * and its backends (landlock/, seccomp/, unotify/, bpf/, resource_limits.c)
 * compile a policy into mechanisms.
 *
 * Every rule remembers where it came from (a flag, or file:line:col) so that
 * an error or a refusal can name it.
 */
#ifndef MOS_POLICY_H
#define MOS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mosingar/policy.h>

#define MOS_ERR_MAX 512

/*
 * How large a policy may be (Documentation/policy.md, "Size"): a policy file
 * of at most MOS_POLICY_MAX_BYTES, and at most MOS_POLICY_MAX_ENTRIES file
 * rules, bind ports, environment variables and ask paths each, and
 * MOS_POLICY_MAX_NET_ALLOW endpoint rules (each may need a name lookup),
 * counting the file's and the flags' together.  Everything that reads a
 * policy is linear in its size; the bounds keep a policy (or a --learn run's
 * output) from costing minutes or gigabytes before anything runs.
 */
#define MOS_POLICY_MAX_BYTES (1U << 20)
#define MOS_POLICY_MAX_ENTRIES 65536
#define MOS_POLICY_MAX_NET_ALLOW 4096

/* An error for the user: what failed, on what, and what to do. */
struct strmap;

struct mos_err {
	char msg[MOS_ERR_MAX];
};

void mos_err_set(struct mos_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Where a rule came from: "--read" or "policy.json:3:12". */
struct mos_origin {
	char text[160];
};

struct mos_fs_rule {
	char *path;	 /* absolute, lexically normalized */
	uint32_t access; /* enum mos_fs_access bits; 0 for a deny rule */
	bool deny;
	bool optional; /* a missing path is skipped (the --system set) */
	struct mos_origin origin;
};

#define MOS_NET_MAX_PORTS 64

struct mos_net_rule {
	char *host; /* NULL: any host */
	uint16_t ports[MOS_NET_MAX_PORTS];
	size_t nports;
	struct mos_origin origin;
};

/* Below this no program can even be executed (RLIMIT_AS). */
#define MOS_MIN_MEMORY (1ULL << 20)

struct mos_limits {
	uint64_t memory;     /* bytes; 0 = unlimited */
	uint64_t procs;	     /* 0 = unlimited */
	uint64_t open_files; /* 0 = inherited */
	uint64_t cpu_s;	     /* CPU seconds; 0 = unlimited */
	uint64_t timeout_ms; /* wall clock; 0 = none */
};

/* Which mechanisms enforce a policy: --backend. */
enum mos_backend {
	MOS_BACKEND_AUTO = 0,
	MOS_BACKEND_LANDLOCK = 1,
	MOS_BACKEND_UNOTIFY = 2,
	MOS_BACKEND_BPF = 3,
};

/* Parse "auto" / "landlock" / "unotify" / "bpf"; -EINVAL for anything else. */
int mos_backend_parse(const char *s, enum mos_backend *out);
const char *mos_backend_name(enum mos_backend b);

struct mos_policy {
	struct mos_fs_rule *fs;
	size_t nfs;
	bool fs_system; /* add the read-only system set (--system) */

	struct mos_net_rule *net_allow;
	size_t nnet_allow;
	uint16_t *net_bind;
	size_t nnet_bind;
	bool allow_udp;	 /* UDP sockets (not filtered by address under Landlock) */
	bool allow_unix; /* AF_UNIX sockets beyond socketpair() */

	struct mos_limits limits;

	bool env_clean;
	char **env_set; /* "KEY=VALUE", NULL-terminated */
	size_t nenv_set;
	struct strmap *env_index; /* KEY -> its place in env_set (policy_add_env) */

	char *cwd; /* NULL: the caller's working directory */

	/* Ask rules (the supervisor backend): accesses beneath these paths, and
	 * with ASK_NET any TCP connect or bind no rule allows, wait for a
	 * decider's answer. */
	char **ask_fs; /* absolute, lexically normalized; NULL-terminated */
	size_t nask_fs;
	bool ask_net;
	/* --learn: allow every file and TCP access (each one is recorded). */
	bool permissive;
};

void policy_init(struct mos_policy *p);
void policy_free(struct mos_policy *p);

/*
 * Add rules.  PATH is made absolute against BASE (NULL: the cwd).  Return 0
 * or -EINVAL with E set (naming ORIGIN).
 */
int policy_add_fs(struct mos_policy *p, const char *base, const char *path, uint32_t access,
		  bool deny, const char *origin, struct mos_err *e);
/* "HOST:PORT[,PORT...]", ":PORT", "[V6ADDR]:PORT". */
int policy_add_net_allow(struct mos_policy *p, const char *spec, const char *origin,
			 struct mos_err *e);
int policy_add_net_bind(struct mos_policy *p, const char *port, const char *origin,
			struct mos_err *e);
/* "fs:PATH" or "net". */
int policy_add_ask(struct mos_policy *p, const char *base, const char *spec, const char *origin,
		   struct mos_err *e);
/* "KEY=VALUE"; a later KEY replaces an earlier one. */
int policy_add_env(struct mos_policy *p, const char *kv, const char *origin, struct mos_err *e);

/* Load a JSON policy file into P (see Documentation/policy.md). */
int policy_load_file(struct mos_policy *p, const char *path, struct mos_err *e);
/* Same, from a buffer; NAME is used in messages and BASE for relative paths. */
int policy_load_buffer(struct mos_policy *p, const char *buf, size_t len, const char *name,
		       const char *base, struct mos_err *e);

/* The paths --system grants (read + exec) and withholds (deny). */
extern const char *const mos_system_read_paths[];
extern const char *const mos_system_deny_paths[];
extern const char *const mos_always_rw_devices[];
extern const char *const mos_always_ro_devices[];

/* Human summary of an access mask: "read", "read+exec", "read+exec+write". */
const char *policy_access_name(uint32_t access);

#endif /* MOS_POLICY_H */
