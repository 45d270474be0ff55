// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_lsm_ask - in a guest kernel (tests/vm/run, as root): ask rules in a
 * BPF LSM domain, decided in the kernel.  A domain (lsm_domain.c, with
 * LSM_DOMAIN_ASKS) reads /tmp/ask-t/open and asks for /tmp/ask-t/asked;
 * a child entered in it opens files, and this program, registered as the
 * decider on the module's channel (nl_ask.h, raw netlink), answers:
 *
 *   granted file        opened, never asked
 *   asked, allow        opened, the bytes read; the question names the
 *                       path, the domain and the access
 *   asked, deny         EACCES, nothing read
 *   asked, always       opened, and the same open again (this child or
 *                       another of the domain) is not asked: the verdict
 *                       cache
 *   asked for writing   the question says "write"
 *   mkdir beneath       EACCES, never asked (only opens are asked)
 *   outside both        EACCES, never asked
 *   no decider          EACCES at once
 *   domain deleted      a new domain of the same id is asked again: no
 *                       "always" outlives its domain
 *
 * TAP on stdout; SKIP without a module for this kernel.  At the end the
 * domains, domain_ask's link (and the pins, if this program made them) and
 * the module are removed again.  MOS_BPF_LOG=1 prints libbpf's log (the
 * verifier's, when a program does not load).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <stdarg.h>

#include "lsm_domain.h"
#include "nl_ask.h"
#include "tap.h"

#define DIR_T "/tmp/ask-t"
#define OPEN_F DIR_T "/open/f"
#define ASKED_F DIR_T "/asked/f"
#define ASKED_G DIR_T "/asked/g"
#define SECRET "ask-secret-91c2"

static struct lsm_ctl *ctl;

static int print_all(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stdout, fmt, ap);
}
static int decider;

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("Bail out! %s: %s\n", path, strerror(errno));
	close(fd);
}

/* What a child does in the domain. */
enum op { OPEN_READ, OPEN_READ_TWICE, OPEN_WRITE, MKDIR };

struct report {
	int err[2]; /* errno of each step, 0 when it worked */
	int read_ok;
};

/* A child in domain ID doing OP on PATH; *REP gets its report's pipe. */
static pid_t child(uint32_t id, enum op op, const char *path, int *rep)
{
	int p[2], go[2];
	struct mos_err e;
	pid_t pid;
	char b;

	if (pipe(p) || pipe(go))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct report r = { { -1, -1 }, 0 };

		close(decider);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		for (int i = 0; i < (op == OPEN_READ_TWICE ? 2 : 1); i++) {
			int fd;

			if (op == MKDIR) {
				r.err[i] = mkdir(path, 0755) ? errno : 0;
				continue;
			}
			fd = open(path, op == OPEN_WRITE ? O_WRONLY : O_RDONLY);
			r.err[i] = fd < 0 ? errno : 0;
			if (fd >= 0 && op != OPEN_WRITE) {
				char buf[64];
				ssize_t len = read(fd, buf, sizeof(buf));

				r.read_ok = len == (ssize_t)strlen(SECRET) && !memcmp(buf, SECRET, len);
			}
			if (fd >= 0)
				close(fd);
		}
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	close(go[0]);
	if (pid > 0 && lsm_domain_enter(ctl, id, pid, &e) < 0) {
		printf("# lsm_domain_enter: %s\n", e.msg);
		kill(pid, SIGKILL);
	}
	if (pid > 0 && write(go[1], "g", 1) != 1)
		kill(pid, SIGKILL);
	close(go[1]);
	*rep = p[0];
	return pid;
}

static int finish(pid_t pid, int rep, struct report *r)
{
	ssize_t len = read(rep, r, sizeof(*r));

	close(rep);
	waitpid(pid, NULL, 0);
	return len == sizeof(*r) ? 0 : -1;
}

/*
 * A child in ID does OP on PATH; each question is answered VERDICT (after
 * checking it names PATH, ID and KIND).  The number of questions, or -1.
 */
static int decide(uint32_t id, enum op op, const char *path, uint32_t kind, uint32_t verdict,
		  struct report *r)
{
	struct question q;
	int rep, asked = 0;
	pid_t pid = child(id, op, path, &rep);

	if (pid < 0)
		return -1;
	while (recv_question(decider, &q, 1500) == 0) {
		if (strcmp(q.path, path) || q.domain != id || q.kind != kind ||
		    (pid_t)q.pid != pid) {
			printf("# question: %s, domain %u, kind %u, pid %u\n", q.path, q.domain,
			       q.kind, q.pid);
			do_answer(decider, q.id, MOS_ASK_DENY);
			asked = -1000;
			continue;
		}
		do_answer(decider, q.id, verdict);
		asked++;
	}
	return finish(pid, rep, r) ? -1 : asked;
}

static uint32_t make_domain(void)
{
	struct mos_policy p;
	struct mos_err e;
	uint32_t id = 0;

	policy_init(&p);
	if (policy_add_fs(&p, NULL, DIR_T "/open", MOS_FS_READ, false, "test", &e) < 0 ||
	    policy_add_ask(&p, NULL, "fs:" DIR_T "/asked", "test", &e) < 0 ||
	    lsm_domain_new(ctl, &p, 0, LSM_DOMAIN_ASKS, 0, &id, &e) < 0 ||
	    lsm_domain_set_ask_timeout(ctl, id, 20000, &e) < 0) {
		printf("Bail out! a domain with an ask rule: %s\n", e.msg);
		exit(1);
	}
	policy_free(&p);
	return id;
}

int main(void)
{
	struct report r;
	struct mos_err e;
	char pins[512];
	const char *why;
	uint32_t id, id2;
	int ret, asked;

	decider = start_deciding("bpf_lsm_ask");
	if (decider < 0)
		return failed ? 1 : 0;
	mkdir(DIR_T, 0755);
	mkdir(DIR_T "/open", 0755);
	mkdir(DIR_T "/asked", 0755);
	put_file(OPEN_F, SECRET);
	put_file(ASKED_F, SECRET);
	put_file(ASKED_G, SECRET);
	put_file(DIR_T "/outside", SECRET);
	rmdir(DIR_T "/asked/newdir");

	if (lsm_ctl_open(&ctl, &e) < 0) {
		printf("Bail out! lsm_ctl_open: %s\n", e.msg);
		return 1;
	}
	if (getenv("MOS_BPF_LOG"))
		libbpf_set_print(print_all);
	result(lsm_ctl_asks(ctl, &why), "ask_rules_can_be_the_domains", "%s", why ? why : "");
	{
		/* without LSM_DOMAIN_ASKS: the supervisor's, as before */
		struct mos_policy p;
		uint32_t none = 0;

		policy_init(&p);
		policy_add_ask(&p, NULL, "fs:" DIR_T "/asked", "test", &e);
		ret = lsm_domain_new(ctl, &p, 0, 0, 0, &none, &e);
		result(ret == -EOPNOTSUPP && !none, "without_a_decider_ask_rules_are_refused",
		       "%d", ret);
		policy_free(&p);
	}
	id = make_domain();
	snprintf(pins, sizeof(pins), "%s/link_mos_ask_file_open", lsm_ctl_pin_dir(ctl));
	result(access(pins, F_OK) == 0, "domain_ask_is_pinned_when_a_domain_asks", "%s", pins);

	asked = decide(id, OPEN_READ, OPEN_F, MOS_ASK_KIND_READ, MOS_ASK_DENY, &r);
	result(asked == 0 && r.err[0] == 0 && r.read_ok, "a_granted_file_is_not_asked",
	       "asked %d, errno %d", asked, r.err[0]);
	asked = decide(id, OPEN_READ, ASKED_F, MOS_ASK_KIND_READ, MOS_ASK_ALLOW, &r);
	result(asked == 1 && r.err[0] == 0 && r.read_ok, "asked_and_allowed_opens",
	       "asked %d, errno %d, read %d", asked, r.err[0], r.read_ok);
	asked = decide(id, OPEN_READ, ASKED_F, MOS_ASK_KIND_READ, MOS_ASK_DENY, &r);
	result(asked == 1 && r.err[0] == EACCES && !r.read_ok, "asked_and_denied_is_eacces",
	       "asked %d, errno %d, read %d", asked, r.err[0], r.read_ok);
	asked = decide(id, OPEN_READ_TWICE, ASKED_F, MOS_ASK_KIND_READ, MOS_ASK_ALWAYS, &r);
	result(asked == 1 && r.err[0] == 0 && r.err[1] == 0, "always_is_asked_once",
	       "asked %d, errno %d then %d", asked, r.err[0], r.err[1]);
	asked = decide(id, OPEN_READ, ASKED_F, MOS_ASK_KIND_READ, MOS_ASK_DENY, &r);
	result(asked == 0 && r.err[0] == 0 && r.read_ok, "always_holds_for_the_domains_next_process",
	       "asked %d, errno %d", asked, r.err[0]);
	asked = decide(id, OPEN_WRITE, ASKED_G, MOS_ASK_KIND_WRITE, MOS_ASK_ALLOW, &r);
	result(asked == 1 && r.err[0] == 0, "an_open_for_writing_asks_write", "asked %d, errno %d",
	       asked, r.err[0]);
	asked = decide(id, MKDIR, DIR_T "/asked/newdir", MOS_ASK_KIND_WRITE, MOS_ASK_ALLOW, &r);
	result(asked == 0 && r.err[0] == EACCES, "mkdir_beneath_is_refused_not_asked",
	       "asked %d, errno %d", asked, r.err[0]);
	asked = decide(id, OPEN_READ, DIR_T "/outside", MOS_ASK_KIND_READ, MOS_ASK_ALLOW, &r);
	result(asked == 0 && r.err[0] == EACCES, "outside_both_is_refused_not_asked", "asked %d, errno %d", asked, r.err[0]);

	do_unregister(decider);
	asked = decide(id, OPEN_READ, ASKED_G, MOS_ASK_KIND_READ, MOS_ASK_ALLOW, &r);
	result(asked == 0 && r.err[0] == EACCES, "no_decider_is_eacces", "asked %d, errno %d",
	       asked, r.err[0]);
	do_register(decider, MOS_ASK_GENL_VERSION);

	/* the domain goes, and with it its "always" */
	ret = lsm_domain_delete(ctl, id, &e);
	id2 = ret ? 0 : make_domain();
	asked = id2 ? decide(id2, OPEN_READ, ASKED_F, MOS_ASK_KIND_READ, MOS_ASK_ALLOW, &r) : -1;
	result(id2 == id && asked == 1 && r.err[0] == 0, "no_always_outlives_its_domain",
	       "domain %u then %u, asked %d, errno %d", id, id2, asked, r.err[0]);

	/* leave the guest as found: no domain, no domain_ask, no module */
	lsm_domain_delete(ctl, id2, &e);
	unlink(pins); /* domain_ask detached: it held the module */
	if (lsm_ctl_loaded(ctl)) {
		/* this program loaded domain_lsm too: unpin it all, as the
		 * guest's next programs expect to load it themselves */
		DIR *dir = opendir(lsm_ctl_pin_dir(ctl));
		struct dirent *de;

		while (dir && (de = readdir(dir)))
			if (de->d_name[0] != '.')
				unlinkat(dirfd(dir), de->d_name, 0);
		if (dir)
			closedir(dir);
		rmdir(lsm_ctl_pin_dir(ctl));
	}
	lsm_ctl_close(ctl);
	do_unregister(decider);
	close(decider);
	for (int i = 0; i < 100; i++) {
		ret = syscall(SYS_delete_module, "mosingar", O_NONBLOCK) ? -errno : 0;
		if (ret != -EWOULDBLOCK && ret != -EBUSY)
			break;
		usleep(50000);
	}
	result(ret == 0, "module_unloads_after", ret ? "%s" : "", strerror(-ret));
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
