// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_landlock.c - Landlock and seccomp for a running process, asked for
 * by the process itself under ptrace (see attach_landlock.h).
 */
#include "attach_landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel_features.h"
#include "ptrace_inject.h"
#include "seccomp_filter.h"
#include "util.h"

int attach_policy_check(const struct mos_policy *p, struct mos_err *e)
{
	if (p->limits.memory || p->limits.procs || p->limits.open_files || p->limits.cpu_s ||
	    p->limits.timeout_ms) {
		mos_err_set(e, "limits (--memory, --max-procs, --open-files, --cpu, --timeout) "
			       "are for 'mosctl run'; attach confines files and network only");
		return -EINVAL;
	}
	if (p->env_clean || p->nenv_set || p->cwd) {
		mos_err_set(e, "--clean-env, --env and --cwd are for 'mosctl run': a running "
			       "process keeps its environment and working directory");
		return -EINVAL;
	}
	if (p->nask_fs || p->ask_net || p->permissive) {
		mos_err_set(e, "--ask and --learn need the supervisor, which only 'mosctl run' "
			       "can install");
		return -EINVAL;
	}
	return 0;
}

int attach_plan_build(const struct mos_policy *p, struct attach_plan *ap, struct mos_err *e)
{
	struct seccomp_opts so = { 0 };
	int abi = mos_landlock_abi();
	int r;

	memset(ap, 0, sizeof(*ap));
	ap->lp.ruleset_fd = -1;
	r = attach_policy_check(p, e);
	if (r < 0)
		return r;
	if (abi < 1) {
		mos_err_set(e,
			    "attach needs Landlock (CONFIG_SECURITY_LANDLOCK=y and landlock "
			    "in lsm=) or BPF LSM (CONFIG_BPF_LSM=y and bpf in lsm=); this "
			    "kernel has neither: %s",
			    mos_features()->landlock_why);
		return -EOPNOTSUPP;
	}
	report_add(&ap->rep,
		   "attach through ptrace: the process's threads call Landlock "
		   "(ABI %d) and seccomp themselves",
		   abi);
	/* Landlock filters by port only from ABI 4: the hosts are reported then. */
	if (abi >= 4) {
		r = mos_net_rules_build(p, &ap->net, e);
		if (r < 0)
			return r;
	}
	/* No mount namespace: a deny beneath an allowed tree splits the tree. */
	r = landlock_rules_build(p, abi, NULL, &ap->net, &ap->lp, &ap->lr, &ap->rep, e);
	if (r < 0)
		return r;
	/*
	 * The process opens each rule's path itself, later: what it opens must
	 * be what was resolved and checked here, or a rename or a symlink
	 * swapped in meanwhile would move the rule elsewhere.
	 */
	ap->ids = xcalloc(ap->lr.fs.n ? ap->lr.fs.n : 1, sizeof(*ap->ids));
	for (size_t i = 0; i < ap->lr.fs.n; i++) {
		struct stat st;

		if (lstat(ap->lr.fs.v[i].path, &st) < 0) {
			r = -errno;
			mos_err_set(e, "%s: %s", ap->lr.fs.v[i].path, strerror(errno));
			return r;
		}
		ap->ids[i] = (struct attach_file_id){ (uint64_t)st.st_dev, (uint64_t)st.st_ino };
	}
	if (abi < 6) {
		report_weak(&ap->rep,
			    "signals and abstract unix sockets: Landlock ABI %d cannot scope "
			    "them (ABI 6, Linux 6.12) and a running process cannot be moved "
			    "into a pid namespace",
			    abi);
	}
	so.deny_inet = abi < 4 && !(p->nnet_allow || p->nnet_bind);
	so.allow_udp = p->allow_udp;
	so.allow_unix = p->allow_unix;
	so.deny_listen = !p->nnet_bind && !p->allow_unix;
	so.deny_metadata = true;
	ap->seccomp = seccomp_program(&so);
	seccomp_describe(&so, &ap->rep);
	report_add(&ap->rep, "every thread: all capabilities dropped (effective, permitted, "
			     "inheritable, ambient; the bounding set where it can be), "
			     "securebits locked, no_new_privs");
	report_add(&ap->rep, "not changed: the process's open files, mounts, limits and "
			     "environment (re-checking open files needs BPF LSM: --revoke)");
	return 0;
}

void attach_plan_free(struct attach_plan *ap)
{
	free(ap->ids);
	ap->ids = NULL;
	landlock_rules_free(&ap->lr);
	landlock_plan_release(&ap->lp);
	mos_net_rules_free(&ap->net);
	report_free(&ap->rep);
}

/* Scratch layout: the ruleset attr, one rule attr, a sock_fprog, capset's
 * header and data, the filter, then a path. */
#define AT_RULESET 0
#define AT_RULE 64
#define AT_FPROG 128
#define AT_CAPS 192
#define AT_FILTER 256

struct injector {
	struct inj_proc *p;
	struct mos_err *e;
	uint64_t path_at;
};

/* Run NR in thread T; RET the result.  A call that fails sets E with WHAT. */
static int call(struct injector *in, size_t t, long nr, const char *what, const uint64_t *a,
		size_t n, long *ret)
{
	int r = inj_syscall(in->p, t, nr, a, n, ret, in->e);

	if (r < 0)
		return r;
	if (*ret < 0 && *ret > -4096) {
		if (t)
			mos_err_set(in->e, "process %d: %s (thread %zu of %zu): %s", in->p->pid,
				    what, t + 1, in->p->n, strerror((int)-*ret));
		else
			mos_err_set(in->e, "process %d: %s: %s", in->p->pid, what,
				    strerror((int)-*ret));
		return (int)*ret;
	}
	return 0;
}

/* The file the process holds as FD is ID: 0, or -ESTALE with E set. */
static int same_file(struct injector *in, long fd, const char *path,
		     const struct attach_file_id *id)
{
	char link[64];
	struct stat st;

	snprintf(link, sizeof(link), "/proc/%d/fd/%ld", in->p->pid, fd);
	if (stat(link, &st) < 0) {
		int err = errno;

		mos_err_set(in->e, "process %d: %s: %s", in->p->pid, link, strerror(err));
		return -err;
	}
	if ((uint64_t)st.st_dev == id->dev && (uint64_t)st.st_ino == id->ino)
		return 0;
	mos_err_set(in->e,
		    "%s changed while process %d was being attached (it names another file "
		    "now): not attached; try again, and grant no path that someone else can "
		    "rename or replace",
		    path, in->p->pid);
	return -ESTALE;
}

static int add_path_rule(struct injector *in, long rfd, const struct landlock_grant *g,
			 const struct attach_file_id *id)
{
	size_t len = strlen(g->path) + 1;
	uint64_t a[4];
	long fd, ret;
	char what[96];
	int r;

	if (len > PATH_MAX) {
		mos_err_set(in->e, "%s: path too long", g->path);
		return -ENAMETOOLONG;
	}
	r = inj_write(in->p, in->path_at, g->path, len, in->e);
	if (r < 0)
		return r;
	a[0] = (uint64_t)AT_FDCWD;
	a[1] = in->path_at;
	a[2] = O_PATH | O_NOFOLLOW | O_CLOEXEC;
	a[3] = 0;
	snprintf(what, sizeof(what), "open %.80s", g->path);
	r = call(in, 0, SYS_openat, what, a, 4, &fd);
	if (r < 0)
		return r;
	struct landlock_path_beneath_attr pb = { .allowed_access = g->rights,
						 .parent_fd = (int)fd };

	r = id ? same_file(in, fd, g->path, id) : 0;
	if (r == 0)
		r = inj_write(in->p, in->p->scratch + AT_RULE, &pb, sizeof(pb), in->e);
	if (r == 0) {
		uint64_t ar[4] = { (uint64_t)rfd, LANDLOCK_RULE_PATH_BENEATH,
				   in->p->scratch + AT_RULE, 0 };

		snprintf(what, sizeof(what), "Landlock rule for %.70s", g->path);
		r = call(in, 0, SYS_landlock_add_rule, what, ar, 4, &ret);
	}
	uint64_t ac[1] = { (uint64_t)fd };

	inj_syscall(in->p, 0, SYS_close, ac, 1, &ret, in->e);
	return r;
}

/* The ruleset, made and filled in the process: its fd there. */
static int build_ruleset(struct injector *in, const struct landlock_rules *lr,
			 const struct attach_file_id *ids, long *rfd)
{
	uint64_t a[4] = { in->p->scratch + AT_RULESET, lr->attr_size, 0, 0 };
	long ret;
	int r;

	r = inj_write(in->p, in->p->scratch + AT_RULESET, &lr->attr, lr->attr_size, in->e);
	if (r == 0)
		r = call(in, 0, SYS_landlock_create_ruleset, "landlock_create_ruleset", a, 3, rfd);
	for (size_t i = 0; r == 0 && i < lr->fs.n; i++)
		r = add_path_rule(in, *rfd, &lr->fs.v[i], ids ? &ids[i] : NULL);
	for (size_t i = 0; r == 0 && i < lr->nnet; i++) {
		uint64_t an[4] = { (uint64_t)*rfd, MOS_LANDLOCK_RULE_NET_PORT,
				   in->p->scratch + AT_RULE, 0 };

		r = inj_write(in->p, in->p->scratch + AT_RULE, &lr->net[i], sizeof(lr->net[i]),
			      in->e);
		if (r == 0)
			r = call(in, 0, SYS_landlock_add_rule, "Landlock TCP port rule", an, 4,
				 &ret);
	}
	return r;
}

static int install_seccomp(struct injector *in, const struct sock_fprog *prog)
{
	size_t flen = prog->len * sizeof(*prog->filter);
	struct {
		uint64_t len; /* unsigned short, padded as the kernel's sock_fprog */
		uint64_t filter;
	} fp = { prog->len, in->p->scratch + AT_FILTER };
	uint64_t a[3] = { SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
			  in->p->scratch + AT_FPROG };
	long ret;
	int r;

	r = inj_write(in->p, in->p->scratch + AT_FILTER, prog->filter, flen, in->e);
	if (r == 0)
		r = inj_write(in->p, in->p->scratch + AT_FPROG, &fp, sizeof(fp), in->e);
	if (r == 0)
		r = call(in, 0, SYS_seccomp, "seccomp filter (all threads)", a, 3, &ret);
	if (r == 0 && ret > 0) {
		mos_err_set(in->e,
			    "process %d: thread %ld has a seccomp filter of its own, so the "
			    "filter cannot be given to every thread at once",
			    in->p->pid, ret);
		r = -EBUSY;
	}
	return r;
}

/* ---- credentials: what `mosctl run` leaves a command ----------------- */

/* One thread's credentials as /proc/PID/task/TID/status shows them. */
struct thread_creds {
	unsigned long long inh, prm, eff, bnd, amb;
	int nnp, seccomp;
};

static int read_thread_creds(pid_t pid, pid_t tid, struct thread_creds *c)
{
	char path[96], line[256];
	FILE *f;
	int got = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(c, 0, sizeof(*c));
	c->nnp = c->seccomp = -1;
	while (fgets(line, sizeof(line), f))
		got += sscanf(line, "CapInh: %llx", &c->inh) +
		       sscanf(line, "CapPrm: %llx", &c->prm) +
		       sscanf(line, "CapEff: %llx", &c->eff) +
		       sscanf(line, "CapBnd: %llx", &c->bnd) +
		       sscanf(line, "CapAmb: %llx", &c->amb) +
		       sscanf(line, "NoNewPrivs: %d", &c->nnp) +
		       sscanf(line, "Seccomp: %d", &c->seccomp);
	fclose(f);
	return got == 7 ? 0 : -EIO;
}

/* The highest capability this kernel knows. */
static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = 63;

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = 63;
		fclose(f);
	}
	return last;
}

#define CAP_BIT(c) (1ULL << (c))

/*
 * Thread T: lock root out of capabilities (securebits, needs CAP_SETPCAP),
 * empty the bounding set (CAP_SETPCAP too), the ambient set, then every
 * other set (capset), and set no_new_privs: as sandbox.c's init does.  A
 * thread without CAP_SETPCAP cannot change its bounding set; once capset
 * has emptied the others that set is only a ceiling on what exec could
 * give, and no_new_privs keeps exec from giving anything.
 *
 * Then check what the kernel shows, not what the calls returned.
 */
static int drop_thread(struct injector *in, size_t t, int last)
{
	const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
				   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
				   SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	pid_t tid = inj_tid(in->p, t);
	struct thread_creds c;
	bool setpcap;
	long ret;
	int r;

	r = read_thread_creds(in->p->pid, tid, &c);
	if (r < 0) {
		mos_err_set(in->e, "process %d thread %d: reading its status: %s", in->p->pid, tid,
			    strerror(-r));
		return r;
	}
	setpcap = c.eff & CAP_BIT(CAP_SETPCAP);
	if (setpcap) {
		uint64_t a[5] = { PR_SET_SECUREBITS, bits, 0, 0, 0 };

		/* EPERM: bits locked otherwise already; the bounding set still goes */
		inj_syscall(in->p, t, SYS_prctl, a, 5, &ret, in->e);
		for (int cap = 0; cap <= last; cap++) {
			uint64_t b[5] = { PR_CAPBSET_DROP, (uint64_t)cap, 0, 0, 0 };

			if (!(c.bnd & CAP_BIT(cap)))
				continue;
			r = call(in, t, SYS_prctl, "prctl(PR_CAPBSET_DROP)", b, 5, &ret);
			if (r < 0)
				return r;
		}
	}
	{
		uint64_t a[5] = { PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0 };

		r = inj_syscall(in->p, t, SYS_prctl, a, 5, &ret, in->e);
		if (r < 0)
			return r;
		/* EINVAL: a kernel without ambient capabilities (before 4.3) */
		if (ret < 0 && ret != -EINVAL) {
			mos_err_set(in->e, "process %d thread %d: PR_CAP_AMBIENT_CLEAR_ALL: %s",
				    in->p->pid, tid, strerror((int)-ret));
			return (int)ret;
		}
	}
	r = inj_write(in->p, in->p->scratch + AT_CAPS, &h, sizeof(h), in->e);
	if (r == 0)
		r = inj_write(in->p, in->p->scratch + AT_CAPS + sizeof(h), d, sizeof(d), in->e);
	if (r == 0) {
		uint64_t a[2] = { in->p->scratch + AT_CAPS, in->p->scratch + AT_CAPS + sizeof(h) };

		r = call(in, t, SYS_capset, "capset (dropping every capability)", a, 2, &ret);
	}
	if (r == 0) {
		uint64_t a[5] = { PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0 };

		r = call(in, t, SYS_prctl, "prctl(PR_SET_NO_NEW_PRIVS)", a, 5, &ret);
	}
	if (r < 0)
		return r;
	r = read_thread_creds(in->p->pid, tid, &c);
	if (r == 0 && (c.inh || c.prm || c.eff || c.amb || (setpcap && c.bnd) || c.nnp != 1)) {
		mos_err_set(in->e,
			    "process %d thread %d still holds capabilities after dropping them "
			    "(CapInh %llx CapPrm %llx CapEff %llx CapBnd %llx CapAmb %llx "
			    "NoNewPrivs %d)",
			    in->p->pid, tid, c.inh, c.prm, c.eff, c.bnd, c.amb, c.nnp);
		r = -EPERM;
	}
	return r;
}

int attach_privileges_drop(struct inj_proc *p, size_t *ndone, struct mos_err *e)
{
	struct injector in = { p, e, 0 };
	int last = cap_last();
	int r;

	*ndone = 0;
	r = inj_scratch(p, AT_FILTER, e);
	for (size_t t = 0; r == 0 && t < p->n; t++) {
		r = drop_thread(&in, t, last);
		*ndone += r == 0;
	}
	return r;
}

/* After everything: what every thread shows. */
static int verify_threads(struct inj_proc *p, bool seccomp, struct mos_err *e)
{
	for (size_t t = 0; t < p->n; t++) {
		struct thread_creds c;
		pid_t tid = inj_tid(p, t);
		int r = read_thread_creds(p->pid, tid, &c);

		if (r == 0 && (c.nnp != 1 || (seccomp && c.seccomp != 2) || c.eff || c.prm)) {
			mos_err_set(e,
				    "process %d thread %d is not as attach left it (NoNewPrivs %d, "
				    "Seccomp %d, CapEff %llx, CapPrm %llx)",
				    p->pid, tid, c.nnp, c.seccomp, c.eff, c.prm);
			return -EPERM;
		}
	}
	return 0;
}

int attach_landlock_apply(struct inj_proc *p, const struct attach_plan *ap, size_t *nthreads,
			  struct mos_err *e)
{
	struct injector in = { p, e, 0 };
	const struct sock_fprog *prog = ap->seccomp;
	size_t flen = prog ? prog->len * sizeof(*prog->filter) : 0;
	long rfd = -1, ret;
	size_t ndropped = 0;
	bool sec_done = false;
	int r;

	*nthreads = 0;
	if (!ap->lr.attr_size) {
		mos_err_set(e, "nothing to apply: Landlock is unavailable");
		return -EOPNOTSUPP;
	}
	in.path_at = AT_FILTER + ((flen + 63) & ~(size_t)63);
	r = inj_scratch(p, in.path_at + PATH_MAX, e);
	in.path_at += p->scratch;
	/*
	 * The ruleset first: its paths are opened by the process itself, which
	 * as root may need its capabilities to reach them (a user's 0700 home).
	 */
	if (r == 0)
		r = build_ruleset(&in, &ap->lr, ap->ids, &rfd);
	if (r == 0)
		r = attach_privileges_drop(p, &ndropped, e);
	if (r == 0 && prog) {
		r = install_seccomp(&in, prog);
		sec_done = r == 0;
	}
	for (size_t t = 0; r == 0 && t < p->n; t++) {
		uint64_t a[2] = { (uint64_t)rfd, 0 };

		r = call(&in, t, SYS_landlock_restrict_self, "landlock_restrict_self", a, 2, &ret);
		if (r == 0)
			(*nthreads)++;
	}
	if (r == 0)
		r = verify_threads(p, prog != NULL, e);
	if (r < 0 && (*nthreads || sec_done)) {
		char first[MOS_ERR_MAX];

		snprintf(first, sizeof(first), "%s", e->msg);
		mos_err_set(e,
			    "%s; the process is now only partly confined (Landlock on %zu of "
			    "%zu threads%s)",
			    first, *nthreads, p->n, sec_done ? ", seccomp on every thread" : "");
	} else if (r < 0 && ndropped) {
		char first[MOS_ERR_MAX];

		snprintf(first, sizeof(first), "%s", e->msg);
		mos_err_set(e,
			    "%s; nothing was applied but no_new_privs and the dropping of every "
			    "capability (%zu of %zu threads)",
			    first, ndropped, p->n);
	}
	if (rfd >= 0) {
		uint64_t a[1] = { (uint64_t)rfd };
		struct mos_err ignored;

		inj_syscall(p, 0, SYS_close, a, 1, &ret, &ignored);
	}
	return r;
}

/* ---- uid 0 without capabilities ---------------------------------------- */

/*
 * Filesystems through which file permissions alone reach the kernel: root
 * owns their files, so uid 0 reads or writes them without a capability.
 * READ: devices (raw disks, input, terminals), kernel tracing and BPF pins.
 * WRITE also: kernel settings (core_pattern and modprobe run a program as
 * full root), cgroup control files (release_agent), binfmt_misc
 * interpreters, firmware variables.
 */
static const char *const uid0_read_fs[] = {
	"devtmpfs", "devpts", "debugfs", "tracefs", "bpf", NULL,
};
static const char *const uid0_write_fs[] = {
	"proc",	       "sysfs",	   "cgroup",	 "cgroup2", "securityfs", "configfs",
	"binfmt_misc", "efivarfs", "pstore",	 "fusectl", "mqueue",	  "hugetlbfs",
	"selinuxfs",   "smackfs",  "rpc_pipefs", "nfsd",    NULL,
};

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

/* A mount point of mountinfo, its \NNN escapes undone (in place). */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++, o++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*o = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o = *s;
		}
	}
	*o = 0;
}

/* PATH is DIR or beneath it. */
static bool beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

struct kmount {
	char *point;
	char fstype[32];
};

/* The mounts of mosctl's view (the target's: attach checks that they are the same). */
static size_t kernel_mounts(struct kmount **out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0, n = 0;

	*out = NULL;
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		char point[4096], fstype[32];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
		    sscanf(sep + 3, "%31s", fstype) != 1)
			continue;
		unescape(point);
		*out = xrealloc(*out, (n + 1) * sizeof(**out));
		(*out)[n].point = xstrdup(point);
		snprintf((*out)[n].fstype, sizeof((*out)[n].fstype), "%s", fstype);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* The mount PATH is on: the last one in mountinfo whose point holds it. */
static const struct kmount *mount_of(const struct kmount *m, size_t n, const char *path)
{
	const struct kmount *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (beneath(path, m[i].point) &&
		    (!best || strlen(m[i].point) >= strlen(best->point)))
			best = &m[i];
	return best;
}

static bool dangerous(const struct kmount *m, bool write)
{
	return !strcmp(m->point, "/dev") || in_list(uid0_read_fs, m->fstype) ||
	       (write && in_list(uid0_write_fs, m->fstype));
}

int attach_uid0_check(pid_t pid, const struct landlock_grants *g, const struct attach_file_id *ids,
		      struct mos_err *e)
{
	const uint64_t write_rights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
	const uint64_t any_rights = write_rights | LANDLOCK_ACCESS_FS_READ_FILE;
	char path[64], line[256];
	struct kmount *m;
	size_t nm;
	unsigned u[4];
	bool root = false;
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0; /* gone: nothing to refuse */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4)
			root = !u[0] || !u[1] || !u[2] || !u[3];
	fclose(f);
	if (!root)
		return 0;
	nm = kernel_mounts(&m);
	for (size_t i = 0; r == 0 && i < g->n; i++) {
		const struct landlock_grant *gr = &g->v[i];
		bool write = gr->rights & write_rights;
		const struct kmount *on, *hit = NULL;
		struct stat st;

		if (ids && (lstat(gr->path, &st) < 0 || (uint64_t)st.st_dev != ids[i].dev ||
			    (uint64_t)st.st_ino != ids[i].ino)) {
			mos_err_set(e,
				    "%s changed while process %d was being attached (it names "
				    "another file now): not attached",
				    gr->path, pid);
			r = -ESTALE;
			break;
		}
		/* a file named by itself (a device, a setting) is the user's choice */
		if (!(gr->rights & any_rights) || stat(gr->path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		on = mount_of(m, nm, gr->path);
		if (on && dangerous(on, write))
			hit = on;
		for (size_t k = 0; !hit && k < nm; k++)
			if (beneath(m[k].point, gr->path) && dangerous(&m[k], write))
				hit = &m[k];
		if (hit) {
			mos_err_set(e,
				    "process %d runs as uid 0, which reaches devices and kernel "
				    "settings by file ownership alone, without any capability: "
				    "the %s grant of %s reaches %s (%s) — raw disks, or a "
				    "program the kernel runs as full root (core_pattern); grant "
				    "what it needs beneath it, or add --deny %s",
				    pid, write ? "write" : "read", gr->path, hit->point,
				    hit->fstype, hit->point);
			r = -EPERM;
		}
	}
	for (size_t i = 0; i < nm; i++)
		free(m[i].point);
	free(m);
	return r;
}
