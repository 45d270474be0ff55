// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_control - requests to mosd --controller's socket, which any local
 * user may send (control_proto.h): control_recv on a real SOCK_SEQPACKET
 * pair, so that the kernel's message and SCM_RIGHTS handling is the one the
 * controller meets.
 *
 * The input's first byte says how many fds go with the message (0 to 7, in
 * one or two SCM_RIGHTS headers) and whether the message is padded to the
 * controller's limit or past it; the rest is the message.
 *
 * Properties: control_recv accepts exactly what a reference reading of
 * control_proto.h accepts ("MOS1" NUL, cwd NUL, at least one argument, each
 * NUL-terminated, within MOS_CONTROL_MAX bytes, and 3 fds), and gives the
 * same cwd and arguments; on a refusal it says why; and whatever came, no
 * fd is left open that the caller was not handed.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "control_proto.h"
#include "util.h"

#define PAD_TO_MAX 0x10	  /* the message is exactly MOS_CONTROL_MAX bytes */
#define PAD_PAST_MAX 0x20 /* one byte more */
#define TWO_HEADERS 0x40

static int sv[2] = { -1, -1 };
static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int big = 4 * MOS_CONTROL_MAX;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair: %m");
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		fuzz_fail("/dev/null: %m");
	return 0;
}

static void send_request(const uint8_t *msg, size_t len, unsigned nfds, bool two)
{
	union {
		char c[2 * CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[8];
	unsigned first = two ? nfds / 2 : nfds;
	ssize_t n;

	for (unsigned i = 0; i < nfds; i++)
		fds[i] = fcntl(devnull, F_DUPFD_CLOEXEC, 0);
	if (nfds) {
		struct cmsghdr *cm;
		size_t clen = 0;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.c;
		mh.msg_controllen = sizeof(cbuf.c);
		cm = CMSG_FIRSTHDR(&mh);
		for (unsigned part = 0, at = 0; part < 2 && at < nfds; part++) {
			unsigned k = part == 0 ? first : nfds - first;

			if (!k)
				continue;
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(k * sizeof(int));
			memcpy(CMSG_DATA(cm), fds + at, k * sizeof(int));
			clen += CMSG_SPACE(k * sizeof(int));
			at += k;
			cm = (struct cmsghdr *)((char *)cm + CMSG_SPACE(k * sizeof(int)));
		}
		mh.msg_controllen = clen;
	}
	while ((n = sendmsg(sv[0], &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		; /* libFuzzer's SIGALRM */
	if (n != (ssize_t)len)
		fuzz_fail("sendmsg of %zu bytes: %m", len);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
}

/* control_proto.h's request, read independently: how many fields (cwd and
 * the arguments), or -1 when the controller must refuse it. */
static int ref_fields(const uint8_t *m, size_t len, unsigned nfds)
{
	int n = 0;

	if (len < 5 || len > MOS_CONTROL_MAX || memcmp(m, "MOS1", 5) || m[len - 1] != 0 ||
	    nfds != 3)
		return -1;
	for (size_t i = 5; i < len; i++)
		n += m[i] == 0;
	return n >= 2 ? n : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size, 0 };
	uint8_t mode = fuzz_u8(&in);
	unsigned nfds = mode & 7;
	size_t len;
	const uint8_t *body = fuzz_bytes(&in, MOS_CONTROL_MAX + 1, &len);
	_cleanup_free_ uint8_t *msg = NULL;
	char **argv = NULL, *cwd = NULL;
	int argc = -1, fds[3] = { -2, -2, -2 }, before, r, want;
	struct mos_err e = { "" };

	if (mode & (PAD_TO_MAX | PAD_PAST_MAX)) {
		size_t to = MOS_CONTROL_MAX + !!(mode & PAD_PAST_MAX);

		msg = xmalloc(to);
		memcpy(msg, body, len < to ? len : to);
		if (len < to)
			memset(msg + len, len ? body[len - 1] : 0, to - len);
		len = to;
	} else {
		msg = xmalloc(len ? len : 1);
		memcpy(msg, body, len);
	}

	before = fuzz_count_fds();
	send_request(msg, len, nfds, mode & TWO_HEADERS);
	want = ref_fields(msg, len, nfds);
	r = control_recv(sv[1], &argv, &argc, &cwd, fds, &e);
	if (r < 0) {
		if (want >= 0)
			fuzz_fail("control_recv refused a good request: %s", e.msg);
		fuzz_assert(r == -EPROTO && e.msg[0]);
		fuzz_assert(fds[0] == -1 && fds[1] == -1 && fds[2] == -1);
	} else {
		const char *f = (const char *)msg + 5;

		if (want < 0)
			fuzz_fail("control_recv accepted a malformed request");
		fuzz_assert(argc == want - 1 && argc >= 1 && !argv[argc]);
		fuzz_assert(!strcmp(cwd, f));
		f += strlen(f) + 1;
		for (int i = 0; i < argc; i++) {
			fuzz_assert(!strcmp(argv[i], f));
			f += strlen(f) + 1;
		}
		for (int i = 0; i < 3; i++) {
			fuzz_assert(fds[i] >= 0 && fcntl(fds[i], F_GETFD) >= 0);
			close(fds[i]);
		}
		free(argv);
	}
	if (fuzz_count_fds() != before)
		fuzz_fail("control_recv left %d fds open", fuzz_count_fds() - before);
	return 0;
}
