// SPDX-License-Identifier: GPL-2.0-only
/*
 * net_probe - one network action inside a sandbox, one line on stdout.
 *
 *   net_probe ACTION [ARGS...]
 *
 * Same convention as probe: "ok" or "ok DATA" on success, "err ENAME" on
 * failure (exit 0 either way), exit 2 on bad usage.  HOST is a numeric IPv4
 * or IPv6 address.
 *
 * Actions:
 *   send HOST PORT DATA          TCP connect, write DATA
 *   socket-send FAM TYPE PROTO HOST PORT DATA
 *                                socket(FAM, TYPE, PROTO) through the raw
 *                                syscall with 64-bit arguments (hex or
 *                                decimal: high bits reach the filter but not
 *                                the kernel's int), then connect and write;
 *                                "ok PROTO" names the protocol the kernel made
 *   fastopen HOST PORT DATA      TCP Fast Open: sendto(MSG_FASTOPEN) on an
 *                                unconnected socket (an implicit connect)
 *   fastopen-msg HOST PORT DATA  the same through sendmsg()
 *   rawsocket FAM TYPE PROTO     socket() through the raw syscall with 64-bit
 *                                arguments: "ok PROTO"
 *   listen                       listen() on a socket never bound (the kernel
 *                                picks a port): "ok PORT"
 *   bind6 PORT                   TCP bind on [::1]:PORT and listen
 *   udp-send HOST PORT DATA      UDP sendto
 *   unix-connect NAME            stream connect to the abstract name NAME
 *   unix-send NAME DATA          datagram sendto the abstract name NAME
 *   socketpair                   AF_UNIX socketpair, a byte across it
 *   pass-fd PATH                 open PATH, send the fd across a socketpair
 *                                with sendmsg (SCM_RIGHTS), read what the fd
 *                                received reads: "ok DATA"
 *   pass-creds                   sendmsg of our own SCM_CREDENTIALS across a
 *                                socketpair
 *   epipe                        sendmsg on a socketpair whose other end is
 *                                closed, without MSG_NOSIGNAL and with SIGPIPE's
 *                                default action: dies of SIGPIPE
 *   pair-sendto NAME DATA        sendto the abstract name NAME from a
 *                                socketpair's datagram socket (which needs no
 *                                socket(AF_UNIX))
 *   bulk N                       sendmsg N bytes on a stream socketpair whose
 *                                reader (a child) starts after 0.3 s: "ok SENT
 *                                CALLS READ"
 *   bulk-mmsg N                  the same with sendmmsg, one message a call
 *   uring                        io_uring_setup (raw syscall)
 *   uring-connect HOST PORT      connect through io_uring (liburing)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int result(long r)
{
	if (r < 0)
		printf("err %s\n", strerrorname_np(errno));
	else
		printf("ok\n");
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "net_probe: bad usage (see selftests/helpers/net_probe.c)\n");
	return 2;
}

/* Fill SS from a numeric HOST and PORT; returns the address length or 0. */
static socklen_t addr(struct sockaddr_storage *ss, const char *host, const char *port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(port));
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return 0;
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(port));
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return 0;
		return sizeof(*s4);
	}
}

static int write_str(int fd, const char *data)
{
	return write(fd, data, strlen(data)) == (ssize_t)strlen(data) ? 0 : -1;
}

static int do_send(const char *host, const char *port, const char *data)
{
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, host, port);
	int fd;

	if (!len)
		return usage();
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0 || write_str(fd, data) < 0)
		return result(-1);
	return result(close(fd));
}

static int do_socket_send(char **a)
{
	unsigned long fam = strtoul(a[0], NULL, 0), type = strtoul(a[1], NULL, 0);
	unsigned long proto = strtoul(a[2], NULL, 0);
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, a[3], a[4]), plen;
	long fd;
	int p = -1;

	if (!len)
		return usage();
	fd = syscall(SYS_socket, fam, type, proto);
	if (fd < 0)
		return result(-1);
	plen = sizeof(p);
	getsockopt((int)fd, SOL_SOCKET, SO_PROTOCOL, &p, &plen);
	if (connect((int)fd, (struct sockaddr *)&ss, len) < 0 || write_str((int)fd, a[5]) < 0)
		return result(-1);
	close((int)fd);
	printf("ok %d\n", p);
	return 0;
}

static int do_rawsocket(char **a)
{
	long fd = syscall(SYS_socket, strtoul(a[0], NULL, 0), strtoul(a[1], NULL, 0),
			  strtoul(a[2], NULL, 0));
	socklen_t plen = sizeof(int);
	int p = -1;

	if (fd < 0)
		return result(-1);
	getsockopt((int)fd, SOL_SOCKET, SO_PROTOCOL, &p, &plen);
	printf("ok %d\n", p);
	return 0;
}

static int do_fastopen(const char *host, const char *port, const char *data, bool msg)
{
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, host, port);
	ssize_t n;
	int fd;

	if (!len)
		return usage();
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return result(-1);
	if (msg) {
		struct iovec iov = { (void *)data, strlen(data) };
		struct msghdr mh = {
			.msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1
		};

		n = sendmsg(fd, &mh, MSG_FASTOPEN);
	} else {
		n = sendto(fd, data, strlen(data), MSG_FASTOPEN, (struct sockaddr *)&ss, len);
	}
	if (n < 0)
		return result(-1);
	/* No cookie yet: the data may go after the handshake; let it. */
	usleep(200 * 1000);
	return result(close(fd));
}

static int do_listen(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || listen(fd, 1) < 0)
		return result(-1);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return result(-1);
	printf("ok %d\n", ntohs(sa.sin_port));
	return 0;
}

static int do_bind6(const char *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)atoi(port)),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return result(-1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return result(-1);
	return result(listen(fd, 1));
}

static int do_udp_send(const char *host, const char *port, const char *data)
{
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, host, port);
	int fd;

	if (!len)
		return usage();
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return result(-1);
	return result(sendto(fd, data, strlen(data), 0, (struct sockaddr *)&ss, len));
}

static socklen_t abstract(struct sockaddr_un *su, const char *name)
{
	size_t n = strlen(name);

	memset(su, 0, sizeof(*su));
	su->sun_family = AF_UNIX;
	if (n > sizeof(su->sun_path) - 1)
		n = sizeof(su->sun_path) - 1;
	memcpy(su->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int do_unix(const char *name, const char *data)
{
	struct sockaddr_un su;
	socklen_t len = abstract(&su, name);
	int fd = socket(AF_UNIX, (data ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return result(-1);
	if (data)
		return result(sendto(fd, data, strlen(data), 0, (struct sockaddr *)&su, len));
	if (connect(fd, (struct sockaddr *)&su, len) < 0)
		return result(-1);
	return result(write_str(fd, "unix-hello"));
}

static int do_socketpair(void)
{
	int sv[2];
	char c = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return result(-1);
	if (write(sv[0], "x", 1) != 1 || read(sv[1], &c, 1) != 1)
		return result(-1);
	return result(c == 'x' ? 0 : -1);
}

static int do_uring(void)
{
	struct io_uring_params p = { 0 };
	long fd = syscall(__NR_io_uring_setup, 4, &p);

	return result(fd);
}

static int do_uring_connect(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, host, port);
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int fd, r;

	if (!len)
		return usage();
	r = io_uring_queue_init(4, &ring, 0);
	if (r < 0) {
		errno = -r;
		return result(-1);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return result(-1);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&ss, len);
	io_uring_submit(&ring);
	r = io_uring_wait_cqe(&ring, &cqe);
	if (r < 0) {
		errno = -r;
		return result(-1);
	}
	r = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	if (r < 0) {
		errno = -r;
		return result(-1);
	}
	return result(write_str(fd, "uring-hello"));
}

static int do_pass_fd(const char *path)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, buf[256] = "", c = 'x';
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int sv[2], fd = open(path, O_RDONLY | O_CLOEXEC), got;
	ssize_t n;

	if (fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return result(-1);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sv[0], &m, 0) != 1)
		return result(-1);
	close(fd);
	memset(cbuf, 0, sizeof(cbuf));
	m.msg_controllen = sizeof(cbuf);
	if (recvmsg(sv[1], &m, MSG_CMSG_CLOEXEC) != 1 || !(cm = CMSG_FIRSTHDR(&m)) ||
	    cm->cmsg_type != SCM_RIGHTS)
		return result(-1);
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	n = read(got, buf, sizeof(buf) - 1);
	if (n < 0)
		return result(-1);
	buf[n] = '\0';
	printf("ok %s\n", buf);
	return 0;
}

static int do_pass_creds(void)
{
	struct ucred uc = { .pid = getpid(), .uid = getuid(), .gid = getgid() };
	char cbuf[CMSG_SPACE(sizeof(uc))] = { 0 }, c = 'x';
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return result(-1);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(uc));
	memcpy(CMSG_DATA(cm), &uc, sizeof(uc));
	return result(sendmsg(sv[0], &m, 0));
}

static int do_epipe(void)
{
	struct iovec iov = { "x", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int sv[2];

	signal(SIGPIPE, SIG_DFL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return result(-1);
	close(sv[1]);
	return result(sendmsg(sv[0], &m, 0));
}

static int do_pair_sendto(const char *name, const char *data)
{
	struct sockaddr_un su;
	socklen_t len = abstract(&su, name);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return result(-1);
	return result(sendto(sv[0], data, strlen(data), 0, (struct sockaddr *)&su, len));
}

static int do_bulk(const char *count, bool mmsg)
{
	long want = atol(count), sent = 0, calls = 0, got = 0;
	static char buf[1 << 20];
	int sv[2], p[2];
	pid_t child;

	if (want <= 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(p, O_CLOEXEC) < 0)
		return result(-1);
	child = fork();
	if (child < 0)
		return result(-1);
	if (child == 0) {
		ssize_t n;
		long total = 0;

		close(sv[0]);
		usleep(300 * 1000);
		while ((n = read(sv[1], buf, sizeof(buf))) > 0)
			total += n;
		(void)!write(p[1], &total, sizeof(total));
		_exit(0);
	}
	close(sv[1]);
	while (sent < want) {
		struct iovec iov = { buf, (size_t)(want - sent) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (iov.iov_len > sizeof(buf))
			iov.iov_len = sizeof(buf);
		if (mmsg) {
			struct mmsghdr mm = { .msg_hdr = m };

			n = sendmmsg(sv[0], &mm, 1, 0);
			if (n != 1)
				return result(-1);
			n = mm.msg_len;
		} else {
			n = sendmsg(sv[0], &m, 0);
		}
		if (n <= 0)
			return result(-1);
		sent += n;
		calls++;
	}
	close(sv[0]);
	close(p[1]);
	if (read(p[0], &got, sizeof(got)) != (ssize_t)sizeof(got))
		got = -1;
	printf("ok %ld %ld %ld\n", sent, calls, got);
	return 0;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(a, "send") && argc == 5)
		return do_send(argv[2], argv[3], argv[4]);
	if (!strcmp(a, "socket-send") && argc == 8)
		return do_socket_send(argv + 2);
	if (!strcmp(a, "rawsocket") && argc == 5)
		return do_rawsocket(argv + 2);
	if (!strcmp(a, "fastopen") && argc == 5)
		return do_fastopen(argv[2], argv[3], argv[4], false);
	if (!strcmp(a, "fastopen-msg") && argc == 5)
		return do_fastopen(argv[2], argv[3], argv[4], true);
	if (!strcmp(a, "listen") && argc == 2)
		return do_listen();
	if (!strcmp(a, "bind6") && argc == 3)
		return do_bind6(argv[2]);
	if (!strcmp(a, "udp-send") && argc == 5)
		return do_udp_send(argv[2], argv[3], argv[4]);
	if (!strcmp(a, "unix-connect") && argc == 3)
		return do_unix(argv[2], NULL);
	if (!strcmp(a, "unix-send") && argc == 4)
		return do_unix(argv[2], argv[3]);
	if (!strcmp(a, "socketpair") && argc == 2)
		return do_socketpair();
	if (!strcmp(a, "pass-fd") && argc == 3)
		return do_pass_fd(argv[2]);
	if (!strcmp(a, "pass-creds") && argc == 2)
		return do_pass_creds();
	if (!strcmp(a, "epipe") && argc == 2)
		return do_epipe();
	if (!strcmp(a, "pair-sendto") && argc == 4)
		return do_pair_sendto(argv[2], argv[3]);
	if (!strcmp(a, "bulk") && argc == 3)
		return do_bulk(argv[2], false);
	if (!strcmp(a, "bulk-mmsg") && argc == 3)
		return do_bulk(argv[2], true);
	if (!strcmp(a, "uring") && argc == 2)
		return do_uring();
	if (!strcmp(a, "uring-connect") && argc == 4)
		return do_uring_connect(argv[2], argv[3]);
	return usage();
}
