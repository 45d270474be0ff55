// SPDX-License-Identifier: GPL-2.0-only
/*
 * domain_ask.bpf.c - the ask rules of the policy domains, decided in the
 * kernel (Documentation/kmod.md): a sleepable file_open that judges, for a
 * domain with ask rules (MOS_LSM_ASK), every open (not an exec) as
 * domain_lsm does, and what domain_lsm's file_open leaves to it: an open
 * whose lack of access only ask rules answer (domain_common.h askable()).  For each such level of the task's chain,
 * innermost first, it looks up `ask_verdicts` (an earlier "always") and
 * otherwise asks the decider through the module's kfunc bpf_mos_ask_file;
 * "always" is kept there.  Any other answer refuses the open.
 *
 * Both programs judge every open independently, in whichever order the
 * kernel runs them, and either refusal stands: domain_lsm allows an
 * ask-only lack only in a domain marked MOS_LSM_ASK, which lsm_domain.c
 * marks only while this program is attached (its link pinned beside
 * domain_lsm's).
 *
 * Loaded only where the module's BTF provides the kfunc (libbpf 1.1
 * resolves every kfunc extern of an object at load), with domain_lsm's
 * pinned maps.  MOS_ASK_RCU (domain_ask_rcu.bpf.c, for 6.2 and later): the
 * task's domain is read under bpf_rcu_read_lock(), without which a
 * sleepable program may not follow the task's group_leader; 6.1 has no
 * such kfunc, and needs none.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "domain_common.h"

char LICENSE[] SEC("license") = "GPL";

/* The rule's timeout when a domain has none in ask_timeouts (--ask-timeout's default). */
#define ASK_TIMEOUT_MS 30000

extern int bpf_mos_ask_file(struct file *file, __u32 domain, __u32 kind,
			    __u32 timeout_ms) __ksym;
#ifdef MOS_ASK_RCU
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
#endif

SEC("lsm.s/file_open")
int BPF_PROG(mos_ask_file_open, struct file *file, int ret)
{
	struct mos_lsm_event ev = {};
	struct mos_lsm_ask_key k = {};
	struct dentry *d;
	struct chain c;
	struct walk w;
	__u32 mode, need = 0, ask, bad;
	int s;

	if (ret)
		return ret;
#ifdef MOS_ASK_RCU
	bpf_rcu_read_lock();
#endif
	s = current_chain(&c);
#ifdef MOS_ASK_RCU
	bpf_rcu_read_unlock();
#endif
	/* not confined, or not judged (domain_lsm refuses that) */
	if (s <= 0 || !c.ask || !c.files)
		return 0;
	mode = BPF_CORE_READ(file, f_mode);
	if (mode & FMODE_EXEC)
		return 0;
	if (mode & FMODE_READ)
		need |= MOS_FS_READ;
	if (mode & FMODE_WRITE)
		need |= MOS_FS_WRITE;
	d = BPF_CORE_READ(file, f_path.dentry);
	if (!need || exempt(d) || walk_up(&c, d, BPF_CORE_READ(file, f_path.mnt), &w) < 0)
		return 0; /* domain_lsm judges these */
	/*
	 * Judged again here, whole: a rename between domain_lsm's walk and this
	 * one may have moved the file out of the ask path, and a lack that is
	 * not ask-only is refused, whichever program saw what.
	 */
	ask = askable(&c, &w, need);
	bad = (w.denied | lacking(&w, need)) & c.files;
	if (!bad)
		return 0;
	file_event(&ev, d, need);
	if (bad & ~ask)
		return verdict(refuse(&c, lowest(bad & ~ask), &ev, MOS_LSM_OP_OPEN, EACCES));
	k.dev = ev.dev;
	k.ino = ev.ino;
	k.access = need;
	k.generation = BPF_CORE_READ(d, d_inode, i_generation);
	for (__u32 l = 0; l < MOS_LSM_MAX_CHAIN; l++) {
		__u32 *v, *t, id;
		int answer;

		if (!(ask & (1U << l)))
			continue;
		id = c.id[l & (MOS_LSM_MAX_CHAIN - 1)];
		k.domain = id;
		v = bpf_map_lookup_elem(&ask_verdicts, &k);
		if (v && *v == MOS_ASK_ALWAYS)
			continue;
		t = bpf_map_lookup_elem(&ask_timeouts, &id);
		answer = bpf_mos_ask_file(file, id,
					  need & MOS_FS_WRITE ? MOS_ASK_KIND_WRITE : MOS_ASK_KIND_READ,
					  t ? *t : ASK_TIMEOUT_MS);
		if (answer == MOS_ASK_ALWAYS) {
			__u32 always = MOS_ASK_ALWAYS;

			bpf_map_update_elem(&ask_verdicts, &k, &always, BPF_ANY);
			continue;
		}
		if (answer != MOS_ASK_ALLOW)
			return verdict(refuse(&c, l, &ev, MOS_LSM_OP_OPEN, EACCES));
	}
	return 0;
}
