// SPDX-License-Identifier: GPL-2.0-only
/*
 * probe - one action inside a sandbox, one line of result on stdout.
 *
 *   probe ACTION [ARGS...]
 *
 * Prints "ok" or "ok DATA" when the action succeeded and "err ENAME" (e.g.
 * "err EACCES") when it failed, then exits 0, so that a test can tell the
 * probe's result from mosctl's own exit status.  Exit 2 means bad usage.
 *
 * Actions:
 *   read PATH              print the file's content after "ok "
 *   write PATH DATA        open O_WRONLY|O_CREAT|O_TRUNC and write DATA
 *   append PATH DATA       open O_WRONLY|O_APPEND and write DATA
 *   unlink PATH / rmdir PATH / mkdir PATH / truncate PATH LEN
 *   rename OLD NEW / link OLD NEW / symlink TARGET NEW
 *   ls DIR                 list entries (sorted, space separated)
 *   exec PATH [ARGS...]    execv (prints only on failure)
 *   connect HOST PORT      TCP connect (numeric IPv4/IPv6)
 *   bind PORT              TCP bind on 127.0.0.1:PORT and listen
 *   socket FAMILY TYPE [PROTO]   numbers, e.g. "socket 2 2 0" for UDP
 *   status FIELD           a line of /proc/self/status, e.g. CapEff
 *   fds                    open descriptors above 2
 *   env NAME               the variable's value ("err ENOENT" when unset)
 *   cwd                    the working directory
 *   sleep SECS             sleep, then "ok"
 *   echo WORDS...          "ok WORDS" (a program of our own to copy and run
 *                          elsewhere: /bin/echo may be a multi-call binary
 *                          that goes by its name, like busybox)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int result(int r)
{
	if (r < 0)
		printf("err %s\n", strerrorname_np(errno));
	else
		printf("ok\n");
	return 0;
}

static int do_read(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return result(-1);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return result(-1);
	buf[n] = '\0';
	printf("ok %s\n", buf);
	return 0;
}

static int do_write(const char *path, const char *data, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);

	if (fd < 0)
		return result(-1);
	if (write(fd, data, strlen(data)) < 0)
		return result(-1);
	return result(close(fd));
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_ls(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char *names[4096];
	int n = 0;

	if (!d)
		return result(-1);
	while ((de = readdir(d)) != NULL && n < 4096)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp);
	printf("ok");
	for (int i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\n");
	return 0;
}

static int do_connect(const char *host, const char *port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd;

	if (strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(port));
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return 2;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(port));
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return 2;
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return result(-1);
	return result(connect(fd, (struct sockaddr *)&ss, len));
}

static int do_bind(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return result(-1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return result(-1);
	return result(listen(fd, 1));
}

static int do_status(const char *field)
{
	char line[512];
	FILE *f = fopen("/proc/self/status", "re");
	size_t n = strlen(field);

	if (!f)
		return result(-1);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':') {
			char *v = line + n + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			printf("ok %s\n", v);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	errno = ENOENT;
	return result(-1);
}

static int do_fds(void)
{
	printf("ok");
	for (int fd = 3; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			printf(" %d", fd);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(a, "read") && argc == 3)
		return do_read(argv[2]);
	if (!strcmp(a, "write") && argc == 4)
		return do_write(argv[2], argv[3], O_CREAT | O_TRUNC);
	if (!strcmp(a, "append") && argc == 4)
		return do_write(argv[2], argv[3], O_APPEND);
	if (!strcmp(a, "unlink") && argc == 3)
		return result(unlink(argv[2]));
	if (!strcmp(a, "rmdir") && argc == 3)
		return result(rmdir(argv[2]));
	if (!strcmp(a, "mkdir") && argc == 3)
		return result(mkdir(argv[2], 0755));
	if (!strcmp(a, "truncate") && argc == 4)
		return result(truncate(argv[2], atol(argv[3])));
	if (!strcmp(a, "rename") && argc == 4)
		return result(rename(argv[2], argv[3]));
	if (!strcmp(a, "link") && argc == 4)
		return result(link(argv[2], argv[3]));
	if (!strcmp(a, "symlink") && argc == 4)
		return result(symlink(argv[2], argv[3]));
	if (!strcmp(a, "ls") && argc == 3)
		return do_ls(argv[2]);
	if (!strcmp(a, "echo") && argc >= 3) {
		printf("ok");
		for (int i = 2; i < argc; i++)
			printf(" %s", argv[i]);
		printf("\n");
		return 0;
	}
	if (!strcmp(a, "exec") && argc >= 3) {
		execv(argv[2], argv + 2);
		return result(-1);
	}
	if (!strcmp(a, "connect") && argc == 4)
		return do_connect(argv[2], argv[3]);
	if (!strcmp(a, "bind") && argc == 3)
		return do_bind(argv[2]);
	if (!strcmp(a, "socket") && (argc == 4 || argc == 5))
		return result(socket(atoi(argv[2]), atoi(argv[3]), argc == 5 ? atoi(argv[4]) : 0));
	if (!strcmp(a, "status") && argc == 3)
		return do_status(argv[2]);
	if (!strcmp(a, "fds") && argc == 2)
		return do_fds();
	if (!strcmp(a, "env") && argc == 3) {
		const char *v = getenv(argv[2]);

		if (!v) {
			printf("err ENOENT\n");
			return 0;
		}
		printf("ok %s\n", v);
		return 0;
	}
	if (!strcmp(a, "cwd") && argc == 2) {
		char buf[4096];

		if (!getcwd(buf, sizeof(buf)))
			return result(-1);
		printf("ok %s\n", buf);
		return 0;
	}
	if (!strcmp(a, "sleep") && argc == 3) {
		sleep((unsigned int)atoi(argv[2]));
		return result(0);
	}
	fprintf(stderr, "probe: bad usage (see selftests/helpers/probe.c)\n");
	return 2;
}
