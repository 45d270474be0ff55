// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kfuncs the BPF LSM programs call on an ask rule's miss (registered
 * for BPF_PROG_TYPE_LSM, sleepable: only lsm.s programs may call them).
 *
 *   int bpf_mos_ask_file(struct file *file, u32 domain, u32 kind, u32 timeout_ms)
 *   int bpf_mos_ask_connect(u32 domain, const u8 *addr, u32 addr__sz, u16 port,
 *                           u32 timeout_ms)
 *
 * Each parks the calling task (killable) until mosd answers, at most
 * TIMEOUT_MS, and returns the verdict (enum mos_ask_verdict): MOS_ASK_DENY
 * without a decider, on a timeout, a fatal signal or a failed send.  The
 * program denies, allows, or allows and writes the verdict cache on
 * MOS_ASK_ALWAYS, so the next such access never leaves the kernel.  The
 * path is the file's as d_path gives it, in the caller's view (its root, its
 * mounts), which need not be the decider's: the inode's device and number
 * go with it, and the decider checks that the path names that inode in its
 * own view before it shows the path.
 */
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "mos_genl.h"
#include "mos_kfunc.h"

/*
 * A kfunc is __used noinline (what 6.5's __bpf_kfunc says): nothing in C
 * calls it, and its BTF must describe it as it is.  Nothing declares it
 * either: its definition needs no prototype.
 */
__diag_push();
__diag_ignore_all("-Wmissing-prototypes", "kfuncs are called from BPF programs only");

__used noinline int bpf_mos_ask_file(struct file *file, u32 domain, u32 kind, u32 timeout_ms)
{
	struct mos_ask_info info = {
		.domain = domain,
		.pid = task_tgid_nr(current),
		.kind = kind,
		.timeout_ms = timeout_ms,
	};
	char *buf, *path;
	u32 verdict;

	if (!file || kind < MOS_ASK_KIND_READ || kind > MOS_ASK_KIND_REMOVE)
		return MOS_ASK_DENY;
	buf = kmalloc(MOS_ASK_PATH_MAX, GFP_KERNEL);
	if (!buf)
		return MOS_ASK_DENY;
	path = d_path(&file->f_path, buf, MOS_ASK_PATH_MAX);
	if (IS_ERR(path)) {
		kfree(buf);
		return MOS_ASK_DENY;
	}
	info.path = path;
	info.dev = file_inode(file)->i_sb->s_dev;
	info.ino = file_inode(file)->i_ino;
	verdict = mos_genl_ask(&info);
	kfree(buf);
	return verdict;
}

__used noinline int bpf_mos_ask_connect(u32 domain, const u8 *addr, u32 addr__sz, u16 port,
					u32 timeout_ms)
{
	struct mos_ask_info info = {
		.domain = domain,
		.pid = task_tgid_nr(current),
		.kind = MOS_ASK_KIND_CONNECT,
		.timeout_ms = timeout_ms,
		.addr_len = addr__sz,
		.port = port,
	};

	if (addr__sz != 4 && addr__sz != 16)
		return MOS_ASK_DENY;
	memcpy(info.addr, addr, addr__sz);
	return mos_genl_ask(&info);
}

__diag_pop();

/*
 * 6.8 marks kfunc sets (BTF_KFUNCS_START) and takes struct pointers from
 * LSM hooks as trusted; 6.1 has plain id sets, where KF_TRUSTED_ARGS would
 * ask for a referenced pointer no hook argument is.
 */
#ifdef BTF_KFUNCS_START
BTF_KFUNCS_START(mos_kfunc_ids)
BTF_ID_FLAGS(func, bpf_mos_ask_file, KF_SLEEPABLE | KF_TRUSTED_ARGS)
BTF_ID_FLAGS(func, bpf_mos_ask_connect, KF_SLEEPABLE)
BTF_KFUNCS_END(mos_kfunc_ids)
#else
BTF_SET8_START(mos_kfunc_ids)
BTF_ID_FLAGS(func, bpf_mos_ask_file, KF_SLEEPABLE)
BTF_ID_FLAGS(func, bpf_mos_ask_connect, KF_SLEEPABLE)
BTF_SET8_END(mos_kfunc_ids)
#endif

static const struct btf_kfunc_id_set mos_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &mos_kfunc_ids,
};

int mos_kfunc_init(void)
{
	return register_btf_kfunc_id_set(BPF_PROG_TYPE_LSM, &mos_kfunc_set);
}
