/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lsm_domain.h - policy domains enforced by the BPF LSM programs
 * (bpf/domain_lsm.bpf.c; Documentation/bpf-lsm.md).
 *
 * The one place that loads the programs and turns a policy into a kernel
 * domain.  The programs and their maps are pinned under
 * /sys/fs/bpf/mosingar/v<ABI>-<hash of the object>: the first opener loads,
 * attaches and pins them, every later one (mosctl, mosd) reuses the pins of
 * its own version, so domains outlive the process that made them.
 *
 * A domain is immutable once made.  To tighten a confined process, make a
 * domain chained under its current one (PARENT) and enter it: an access
 * must then be allowed by the new domain and by every ancestor, so a chain
 * can never loosen.  Entering a domain that is neither the process's current
 * one nor beneath it is refused; leaving is a separate, explicit call.
 *
 * Privileges: every call here uses bpf(2) (root, or CAP_BPF + CAP_SYS_ADMIN
 * for the LSM attach and pins); a confined process gets EPERM from bpf(2), so
 * it can neither read nor change any of this.  The caller decides who may
 * ask for what (owner, ptrace rights): this library only records the owner.
 *
 * Every function returns 0 or -errno, with E set to a sentence for the user
 * where it takes one.
 */
#ifndef MOS_LSM_DOMAIN_H
#define MOS_LSM_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mosingar/lsm.h>

#include "policy.h"
#include "landlock.h"
#include "report.h"
#include "rules.h"

#define LSM_PIN_ROOT "/sys/fs/bpf/mosingar"

struct lsm_ctl; /* loaded programs + maps */

/*
 * Reuse the pins of this version when present, else load, attach and pin
 * the programs (their links) and maps.  When the BPF LSM is unusable, the
 * error names the probe stage that failed (bpf_lsm_probe.h) and -EOPNOTSUPP.
 */
int lsm_ctl_open(struct lsm_ctl **c, struct mos_err *e);
void lsm_ctl_close(struct lsm_ctl *c);
/* The pin directory, and whether this open loaded the programs itself. */
const char *lsm_ctl_pin_dir(const struct lsm_ctl *c);
bool lsm_ctl_loaded(const struct lsm_ctl *c);
/*
 * Whether ask rules on files can be a domain's: the kernel module is loaded
 * and bpf/domain_ask.bpf.c attached (Documentation/kmod.md).  If not, *WHY
 * (when WHY is not NULL) says why.
 */
bool lsm_ctl_asks(struct lsm_ctl *c, const char **why);

#define LSM_DOMAIN_REVOKE 1 /* also check read/write on already-open fds */
/*
 * The caller has a decider registered on the module's ask channel
 * (ask_channel.h) that answers this domain's questions: its ask rules on
 * files become the domain's, where lsm_ctl_asks().
 */
#define LSM_DOMAIN_ASKS 2

/*
 * Compile P into a new domain, *ID.  File rules as Landlock would grant them
 * (landlock_grants_build: --system, deny rules, real paths), each real path
 * stat'ed to {s_dev as the kernel encodes it, ino}; network rules with the
 * hosts of --net-allow resolved once, here (rules.h).  PARENT != 0 chains the domain
 * under PARENT (at most MOS_LSM_MAX_CHAIN levels).  Ask rules are refused
 * (-EOPNOTSUPP): they need the supervisor backend, but for ask rules on
 * files with LSM_DOMAIN_ASKS where lsm_ctl_asks() (an open beneath that no grant allows asks
 * the registered decider through the module; other changes there are
 * refused).  REP, if not NULL, receives what is enforced.
 */
int lsm_domain_new(struct lsm_ctl *c, const struct mos_policy *p, uint32_t parent, uint32_t flags,
		   uid_t owner, uint32_t *id, struct mos_err *e);
int lsm_domain_new_reported(struct lsm_ctl *c, const struct mos_policy *p, uint32_t parent,
			    uint32_t flags, uid_t owner, struct mos_report *rep, uint32_t *id,
			    struct mos_err *e);
/*
 * The same from rules compiled already: the grants G (landlock_grants_build()
 * with a mount view, for the newest ABI) and the network rules NET (rules.h,
 * hosts resolved), so that the domain holds what a plan reported.  P gives
 * the switches (UDP, unix sockets, --learn).
 */
int lsm_domain_new_compiled(struct lsm_ctl *c, const struct mos_policy *p,
			    const struct landlock_grants *g, const struct mos_net_rules *net,
			    uint32_t parent, uint32_t flags, uid_t owner, struct mos_report *rep,
			    uint32_t *id, struct mos_err *e);
/*
 * How long domain ID's questions wait for the decider (default 30 s); only
 * where lsm_ctl_asks().
 */
int lsm_domain_set_ask_timeout(struct lsm_ctl *c, uint32_t id, uint32_t timeout_ms,
			       struct mos_err *e);

/*
 * Remove domain ID and its rules (-EBUSY while a domain is chained under
 * it).  A process still in ID is then refused everything it is asked about
 * (a domain id without a domain is never judged as "allowed").
 */
int lsm_domain_delete(struct lsm_ctl *c, uint32_t id, struct mos_err *e);

/*
 * Delete the domains no process is in (nor any domain chained beneath),
 * made at least MIN_AGE_S seconds ago (one being made and not yet entered
 * is spared): what a killed mosctl run or attach left.  Scans /proc, so it
 * sees the processes of this pid namespace and those beneath.  The number
 * deleted, or -errno.
 */
int lsm_domain_gc(struct lsm_ctl *c, unsigned int min_age_s);

/*
 * Put the process PID (a thread id is taken as its process) in domain ID:
 * every thread, existing and future, at once (the domain is kept on the
 * thread-group leader), and the children it forks from now on.  Children it
 * forked before are not: the caller enters them too (--tree).  -EPERM when
 * PID is in a domain that ID is not beneath.
 */
int lsm_domain_enter(struct lsm_ctl *c, uint32_t id, pid_t pid, struct mos_err *e);
/*
 * The same, coming into force at PID's next execve: until then PID and the
 * children it forks run unconfined (each is confined from its own execve
 * on).  mosctl run: the sandbox's init sets itself up (mounts), then execs
 * the command, which runs confined from its first instruction.
 */
int lsm_domain_enter_at_exec(struct lsm_ctl *c, uint32_t id, pid_t pid, struct mos_err *e);
/* PID's domain (also one pending an execve); 0 when not confined (or PID
 * does not exist). */
uint32_t lsm_domain_of(struct lsm_ctl *c, pid_t pid);
/* Take PID out of any domain (its children stay where they are). */
int lsm_domain_leave(struct lsm_ctl *c, pid_t pid, struct mos_err *e);

struct lsm_domain_info {
	uint32_t id, parent, flags; /* flags: enum mos_lsm_domain_flag */
	uid_t owner;
	uint64_t denials;
};

/* Every domain, in *V (malloc'ed, *N entries). */
int lsm_domain_list(struct lsm_ctl *c, struct lsm_domain_info **v, size_t *n);

/* One refusal, as the programs recorded it. */
struct lsm_event {
	uint32_t domain, pid;
	int op;		 /* enum mos_lsm_op (lsm_op_name) */
	uint32_t dev;	 /* file: the kernel's s_dev */
	uint64_t ino;	 /* file: inode; ptrace, kill: the target's pid */
	uint32_t level;	 /* the domain of the chain that refused */
	int err;	 /* errno returned */
	uint32_t access; /* file: MOS_FS_* asked; socket: type; kill: signal */
	int family;	 /* net: AF_INET, AF_INET6, AF_UNIX, or socket()'s */
	uint16_t port;	 /* net: host order (socket(): the protocol) */
	uint8_t addr[16];
	char comm[16];
};

/*
 * Wait up to TIMEOUT_MS (-1: forever) for refusals and call CB for each.
 * The number of events handled, or -errno.
 */
int lsm_events_poll(struct lsm_ctl *c, int timeout_ms, void (*cb)(const struct lsm_event *, void *),
		    void *arg);
/* Refusals the ring buffer had no room for (never reported one by one). */
uint64_t lsm_events_dropped(struct lsm_ctl *c);
/* The programs' counters (enum mos_lsm_counter), MOS_LSM_CNT_MAX of them. */
int lsm_counters(struct lsm_ctl *c, uint64_t v[MOS_LSM_CNT_MAX]);
/* "open", "connect", ...; "?" for an unknown op. */
const char *lsm_op_name(int op);

#endif /* MOS_LSM_DOMAIN_H */
