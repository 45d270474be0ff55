// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent_probe SOCKET [BYTES] - talk to a mosctl agent as a job would
 * (AGENT_OPEN for the worker "local") and print what came back, one line:
 *
 *   READY             the agent took us
 *   ERROR <errno> <message>
 *   CONNECT <error>   the socket refused us
 *   CLOSED            the agent closed without a word
 *
 * With BYTES ("garbage"), send that text instead of a frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <mosingar/protocol.h>

static void put(uint8_t **p, const void *d, size_t n)
{
	memcpy(*p, d, n);
	*p += n;
}

static void put_str(uint8_t **p, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);

	put(p, &n, sizeof(n));
	put(p, s, n);
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint8_t buf[4096], *p = buf + sizeof(struct mos_frame_hdr);
	struct mos_frame_hdr h = { .version = MOS_PROTO_VERSION, .type = MOS_MSG_AGENT_OPEN };
	struct mos_agent_open ao = { 0 };
	struct pollfd pf;
	ssize_t n;
	int fd;

	if (argc < 2)
		return 2;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (strlen(argv[1]) < sizeof(a.sun_path)) {
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
	} else {
		/* too long: through the directory's fd, as mosctl does */
		char *slash = strrchr(argv[1], '/');
		int dfd;

		*slash = 0;
		dfd = open(argv[1], O_PATH | O_DIRECTORY);
		snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dfd, slash + 1);
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("CONNECT %s\n", strerror(errno));
		return 0;
	}
	if (argc > 2) {
		n = write(fd, argv[2], strlen(argv[2]));
	} else {
		put(&p, &ao, sizeof(ao));
		put_str(&p, "local");
		put_str(&p, "probe");
		h.len = (uint32_t)(p - buf - sizeof(h));
		memcpy(buf, &h, sizeof(h));
		n = write(fd, buf, (size_t)(p - buf));
	}
	if (n < 0) {
		printf("CLOSED\n");
		return 0;
	}
	pf = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pf, 1, 20000) <= 0 || (n = read(fd, buf, sizeof(buf))) < (ssize_t)sizeof(h)) {
		printf("CLOSED\n");
		return 0;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.type == MOS_MSG_AGENT_READY) {
		printf("READY\n");
	} else if (h.type == MOS_MSG_ERROR &&
		   n >= (ssize_t)(sizeof(h) + sizeof(struct mos_error) + 4)) {
		struct mos_error e;
		uint32_t len;

		memcpy(&e, buf + sizeof(h), sizeof(e));
		memcpy(&len, buf + sizeof(h) + sizeof(e), 4);
		if (len > (size_t)n - sizeof(h) - sizeof(e) - 4)
			len = (uint32_t)((size_t)n - sizeof(h) - sizeof(e) - 4);
		printf("ERROR %d %.*s\n", e.err, (int)len, (char *)buf + sizeof(h) + sizeof(e) + 4);
	} else {
		printf("OTHER %u\n", h.type);
	}
	return 0;
}
