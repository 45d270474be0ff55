// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmod_channel - in a guest kernel (tests/vm/run, as root): load
 * mosingar.ko (the one make kmod built for this kernel, at
 * /mos/kmod/RELEASE.ko) and check its generic netlink family
 * "mosingar_ask" on the real kernel: who may register as the decider, who
 * may answer, what malformed messages get, that the decider's socket
 * closing ends its registration, and that the module unloads and loads
 * again.  TAP on stdout; SKIP when no module was built for this kernel.
 *
 * Raw netlink here, on purpose: the test speaks the ABI of
 * include/uapi/mosingar/ask.h byte by byte, independently of mosd's
 * libmnl code.
 */
#include <grp.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "nl_ask.h"
#include "tap.h"

static void expect(int got, int want, const char *what)
{
	result(got == want, what, got == want ? "" : "got %d (%s), expected %d (%s)", got,
	       strerror(-got), want, strerror(-want));
}

/* In a child as uid 65534 (no capabilities): register, and answer. */
static void unprivileged(void)
{
	int p[2], got[2] = { 1, 1 };
	pid_t pid;

	if (pipe(p) < 0 || (pid = fork()) < 0) {
		result(0, "unprivileged_register_refused", "pipe/fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		int r[2] = { 1, 1 }, fd;

		if (setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
		    setresuid(65534, 65534, 65534) == 0 && (fd = nl_open()) >= 0) {
			r[0] = do_register(fd, MOS_ASK_GENL_VERSION);
			r[1] = do_answer(fd, 1, MOS_ASK_ALLOW);
		}
		if (write(p[1], r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], got, sizeof(got)) != sizeof(got))
		got[0] = got[1] = 1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	expect(got[0], -EPERM, "unprivileged_register_refused");
	expect(got[1], -EPERM, "unprivileged_answer_refused");
}

int main(void)
{
	char path[512];
	struct msg m;
	int a, b, c, ret;

	if (module_path(path, sizeof(path))) {
		printf("ok 1 kmod_channel # SKIP no %s (make kmod builds it)\n", path);
		return 0;
	}
	ret = load_module(path);
	if (ret == -EEXIST) /* an earlier program's */
		ret = 0;
	result(ret == 0, "module_loads", ret ? "finit_module(%s): %s" : "", path, strerror(-ret));
	if (ret)
		return 1;
	family = resolve_family();
	result(family > 0, "family_resolves", family > 0 ? "" : "%s", strerror(-family));
	if (family <= 0)
		return 1;

	a = nl_open();
	b = nl_open();
	expect(do_register(a, 0), -EINVAL, "register_without_version_refused");
	expect(do_register(a, MOS_ASK_GENL_VERSION + 1), -EPROTO, "register_of_another_version_refused");
	expect(do_register(a, MOS_ASK_GENL_VERSION), 0, "register");
	expect(do_register(a, MOS_ASK_GENL_VERSION), 0, "register_again_same_socket");
	expect(do_register(b, MOS_ASK_GENL_VERSION), -EBUSY, "second_decider_refused");
	expect(do_answer(b, 1, MOS_ASK_ALLOW), -EPERM, "answer_from_another_socket_refused");
	expect(do_unregister(b), -EPERM, "unregister_from_another_socket_refused");
	expect(do_answer(a, 12345, MOS_ASK_ALLOW), -ENOENT, "answer_to_no_question");
	expect(do_answer(a, 1, __MOS_ASK_VERDICT_COUNT), -ERANGE, "answer_with_no_verdict_refused");
	msg_init(&m, family, MOS_ASK_CMD_ANSWER, MOS_ASK_GENL_VERSION);
	put_u32(&m, MOS_ASK_A_ID, 1); /* 4 bytes, not 8 */
	put_u32(&m, MOS_ASK_A_VERDICT, MOS_ASK_ALLOW);
	expect(call(a, &m, NULL), -EINVAL, "answer_with_short_id_refused");
	msg_init(&m, family, MOS_ASK_CMD_ANSWER, MOS_ASK_GENL_VERSION);
	put_u64(&m, MOS_ASK_A_ID, 1);
	expect(call(a, &m, NULL), -EINVAL, "answer_without_verdict_refused");
	msg_init(&m, family, MOS_ASK_CMD_QUESTION, MOS_ASK_GENL_VERSION);
	expect(call(a, &m, NULL), -EOPNOTSUPP, "question_from_userspace_refused");
	unprivileged();

	/* the decider's socket closes: its registration ends with it */
	close(a);
	expect(do_register(b, MOS_ASK_GENL_VERSION), 0, "register_after_decider_closed");
	c = nl_open();
	expect(do_register(c, MOS_ASK_GENL_VERSION), -EBUSY, "third_refused_while_second_decides");
	expect(do_unregister(b), 0, "unregister");
	expect(do_register(c, MOS_ASK_GENL_VERSION), 0, "register_after_unregister");
	close(b);
	close(c);

	ret = syscall(SYS_delete_module, "mosingar", O_NONBLOCK) ? -errno : 0;
	expect(ret, 0, "module_unloads");
	expect(resolve_family(), -ENOENT, "family_gone_after_unload");
	ret = load_module(path);
	expect(ret, 0, "module_loads_again");
	family = resolve_family();
	a = nl_open();
	expect(family > 0 ? do_register(a, MOS_ASK_GENL_VERSION) : family, 0, "register_after_reload");
	close(a);
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
