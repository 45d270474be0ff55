// SPDX-License-Identifier: GPL-2.0-only
/*
 * mosd - the MoSingAr worker: runs origins' jobs on this machine with the
 * origins' files.
 *
 *   mosd --listen [ADDR:]PORT --authorized-keys FILE [--key FILE] [--cache DIR]
 *        [--cache-size SIZE] [--max-jobs N] [--job-user UID[:GID]] [-v]
 *   mosd --stdio [--cache DIR] ...      one origin on stdin/stdout (ssh, --on local)
 *   mosd --print-key [--key FILE]       this worker's public key line, for origins
 *                                       to pin (created on first use)
 *   mosd --controller [--socket PATH]   keep the BPF LSM programs loaded and serve
 *                                       mosctl attach/update/detach/ps/events to users
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cas.h"
#include "conn.h"
#include "control_proto.h"
#include "controller.h"
#include "job.h"
#include "log.h"
#include "sandbox.h"
#include "tls_channel.h"
#include "util.h"

struct mosd_opts {
	const char *listen;
	const char *authorized_keys;
	const char *key;
	const char *cache;
	uint64_t cache_size;
	unsigned max_jobs;
	unsigned slots;
	unsigned start_timeout;
	unsigned session_idle;
	unsigned peer_timeout_ms;
	bool stdio, print_key, no_passthrough, cache_given, refuse_degraded, controller;
	const char *socket;
	uid_t job_uid;
	gid_t job_gid;
	int verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mosd --listen [ADDR:]PORT --authorized-keys FILE [OPTIONS]\n"
		"       mosd --stdio [OPTIONS]\n"
		"       mosd --print-key [--key FILE]\n"
		"       mosd --controller [--socket PATH]\n"
		"  --listen [ADDR:]PORT     accept origins over TLS on PORT (ADDR: default all)\n"
		"  --authorized-keys FILE   the origins' public keys allowed to run jobs\n"
		"  --key FILE               this worker's private key (default %s; made on first "
		"use)\n"
		"  --cache DIR              the content-addressed cache and job scratch (default "
		"%s;\n"
		"                           without root ~/.cache/mosingar/worker)\n"
		"  --cache-size SIZE        cap on the cache (default 10G)\n"
		"  --max-jobs N             connections at once (default 64)\n"
		"  --slots N                jobs it reports it runs at once, for placement\n"
		"                           (default: the number of CPUs)\n"
		"  --job-user UID[:GID]     whom jobs run as on this machine (default "
		"65534:65534)\n"
		"  --no-passthrough         serve cached files through mosd, not FUSE passthrough\n"
		"  --start-timeout SECS     drop a connection that sends no job within SECS (30)\n"
		"  --session-idle SECS      drop a session (mosctl agent) idle between jobs for\n"
		"                           SECS (300; the agent closes its own after 60)\n"
		"  --peer-timeout SECS      drop an origin that reads nothing we send, or (if it\n"
		"                           answers keepalives) sends nothing, for SECS (120)\n"
		"  --refuse-degraded        run no job that asks --allow-degraded\n"
		"  --stdio                  serve one origin on stdin/stdout, no TLS (the channel "
		"is ssh's or a local pipe)\n"
		"  --controller             load and pin the BPF LSM programs; serve mosctl "
		"attach,\n"
		"                           update, detach, ps, events to users on --socket\n"
		"  --socket PATH            the controller's socket (default %s)\n"
		"  -v, --verbose\n",
		"/etc/mosingar/mosd_key", "/var/cache/mosingar", MOS_CONTROL_SOCK);
}

static int parse_opts(int argc, char **argv, struct mosd_opts *o)
{
	enum {
		O_LISTEN = 256,
		O_AUTH,
		O_KEY,
		O_CACHE,
		O_CACHE_SIZE,
		O_MAX_JOBS,
		O_SLOTS,
		O_JOB_USER,
		O_STDIO,
		O_PRINT_KEY,
		O_NO_PT,
		O_START_TIMEOUT,
		O_SESSION_IDLE,
		O_PEER_TIMEOUT,
		O_REFUSE_DEGRADED,
		O_CONTROLLER,
		O_SOCKET
	};
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "authorized-keys", required_argument, NULL, O_AUTH },
		{ "key", required_argument, NULL, O_KEY },
		{ "cache", required_argument, NULL, O_CACHE },
		{ "cache-size", required_argument, NULL, O_CACHE_SIZE },
		{ "max-jobs", required_argument, NULL, O_MAX_JOBS },
		{ "slots", required_argument, NULL, O_SLOTS },
		{ "job-user", required_argument, NULL, O_JOB_USER },
		{ "stdio", no_argument, NULL, O_STDIO },
		{ "print-key", no_argument, NULL, O_PRINT_KEY },
		{ "no-passthrough", no_argument, NULL, O_NO_PT },
		{ "start-timeout", required_argument, NULL, O_START_TIMEOUT },
		{ "session-idle", required_argument, NULL, O_SESSION_IDLE },
		{ "peer-timeout", required_argument, NULL, O_PEER_TIMEOUT },
		{ "refuse-degraded", no_argument, NULL, O_REFUSE_DEGRADED },
		{ "controller", no_argument, NULL, O_CONTROLLER },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c;

	*o = (struct mosd_opts){ .key = "/etc/mosingar/mosd_key",
				 .cache = "/var/cache/mosingar",
				 .cache_size = 10ULL << 30,
				 .max_jobs = 64,
				 .start_timeout = 30,
				 .session_idle = 300,
				 /* MOS_PEER_TIMEOUT: as mosctl, which passes its
				  * environment to the `mosd --stdio` it starts */
				 .peer_timeout_ms = conn_peer_timeout_env(120000),
				 .job_uid = 65534,
				 .job_gid = 65534 };
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case O_LISTEN:
			o->listen = optarg;
			break;
		case O_AUTH:
			o->authorized_keys = optarg;
			break;
		case O_KEY:
			o->key = optarg;
			break;
		case O_CACHE:
			o->cache = optarg;
			o->cache_given = true;
			break;
		case O_CACHE_SIZE:
			if (parse_size(optarg, &o->cache_size) < 0) {
				mos_err("--cache-size: '%s' is not a size (e.g. 10G)", optarg);
				return -1;
			}
			break;
		case O_MAX_JOBS:
			if (parse_uint(optarg, 100000, &v) < 0 || !v) {
				mos_err("--max-jobs: '%s' is not a number from 1 to 100000",
					optarg);
				return -1;
			}
			o->max_jobs = (unsigned)v;
			break;
		case O_SLOTS:
			if (parse_uint(optarg, 4096, &v) < 0 || !v) {
				mos_err("--slots: '%s' is not a number from 1 to 4096", optarg);
				return -1;
			}
			o->slots = (unsigned)v;
			break;
		case O_JOB_USER: {
			char *colon = strchr(optarg, ':');
			uint64_t g;

			if (colon)
				*colon = 0;
			if (parse_uint(optarg, 4294967294ULL, &v) < 0 ||
			    (colon && parse_uint(colon + 1, 4294967294ULL, &g) < 0)) {
				mos_err("--job-user: expected UID[:GID] as numbers");
				return -1;
			}
			o->job_uid = (uid_t)v;
			o->job_gid = colon ? (gid_t)g : (gid_t)v;
			if (!o->job_uid) {
				mos_err("--job-user: jobs never run as root");
				return -1;
			}
			break;
		}
		case O_STDIO:
			o->stdio = true;
			break;
		case O_PRINT_KEY:
			o->print_key = true;
			break;
		case O_NO_PT:
			o->no_passthrough = true;
			break;
		case O_REFUSE_DEGRADED:
			o->refuse_degraded = true;
			break;
		case O_CONTROLLER:
			o->controller = true;
			break;
		case O_SOCKET:
			o->socket = optarg;
			break;
		case O_START_TIMEOUT:
			if (parse_uint(optarg, 3600, &v) < 0 || !v) {
				mos_err("--start-timeout: '%s' is not a number of seconds from 1 "
					"to "
					"3600",
					optarg);
				return -1;
			}
			o->start_timeout = (unsigned)v;
			break;
		case O_SESSION_IDLE:
			if (parse_uint(optarg, 86400, &v) < 0 || !v) {
				mos_err("--session-idle: '%s' is not a number of seconds from 1 to "
					"86400",
					optarg);
				return -1;
			}
			o->session_idle = (unsigned)v;
			break;
		case O_PEER_TIMEOUT: {
			uint64_t ms;

			if (parse_seconds(optarg, &ms) < 0 || !ms || ms > 86400000) {
				mos_err("--peer-timeout: '%s' is not a number of seconds from "
					"0.001 to 86400",
					optarg);
				return -1;
			}
			o->peer_timeout_ms = (unsigned)ms;
			break;
		}
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		mos_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!o->print_key && !o->stdio && !o->listen && !o->controller) {
		mos_err("say how origins reach this worker: --listen [ADDR:]PORT or --stdio");
		usage(stderr);
		return -1;
	}
	if (o->listen && !o->authorized_keys) {
		mos_err("--listen needs --authorized-keys FILE: the origins allowed to run jobs "
			"(their 'mosctl key' lines)");
		return -1;
	}
	return 0;
}

static struct mos_identity *load_or_make_key(const char *path)
{
	struct mos_identity *id = NULL;
	char err[256] = "";
	struct stat st;

	if (stat(path, &st) < 0 && errno == ENOENT) {
		_cleanup_free_ char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		char host[256] = "worker";
		char comment[300];

		if (slash && slash != dir) {
			*slash = 0;
			mkdir_p(dir, 0700);
		}
		gethostname(host, sizeof(host) - 1);
		snprintf(comment, sizeof(comment), "mosd@%s", host);
		int r = mos_key_generate(path, comment);

		if (r < 0 && r != -EEXIST) {
			mos_err("cannot create the worker key %s: %s", path, strerror(-r));
			return NULL;
		}
		mos_info("created the worker key %s", path);
	}
	if (mos_identity_load(path, &id, err, sizeof(err)) < 0) {
		mos_err("%s", err);
		return NULL;
	}
	return id;
}

/* Split [ADDR:]PORT (ADDR may be [v6]). */
static int listen_socket(const char *spec)
{
	_cleanup_free_ char *s = xstrdup(spec);
	char *host = NULL, *port = s, *colon = strrchr(s, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int fd = -1, one = 1, r;

	if (colon) {
		*colon = 0;
		host = s;
		port = colon + 1;
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			host[strlen(host) - 1] = 0;
			host++;
		}
		if (!*host)
			host = NULL;
	}
	r = getaddrinfo(host, port, &hints, &res);
	if (r) {
		mos_err("--listen %s: %s", spec, gai_strerror(r));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		mos_err("cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static unsigned reap(void)
{
	unsigned n = 0;

	while (waitpid(-1, NULL, WNOHANG) > 0)
		n++;
	return n;
}

/* Accept origins through io_uring; each connection gets its own process. */
static int serve_listen(const struct mosd_opts *o, const struct job_config *jc)
{
	struct mos_identity *id = load_or_make_key(o->key);
	struct mos_pinset pins = { 0 };
	struct io_uring ring;
	char err[512] = "";
	unsigned running = 0;
	int lfd, r;

	if (!id)
		return 1;
	if (mos_pinset_load(o->authorized_keys, &pins, err, sizeof(err)) < 0) {
		mos_err("%s", err);
		return 1;
	}
	if (!pins.n)
		mos_warn("%s holds no keys: every origin will be refused", o->authorized_keys);
	lfd = listen_socket(o->listen);
	if (lfd < 0)
		return 1;
	r = io_uring_queue_init(8, &ring, 0);
	if (r < 0) {
		mos_err("io_uring: %s", strerror(-r));
		return 1;
	}
	/* Orphans of a crashed connection process come back here to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	mos_info("listening on %s; %zu authorized origin key(s); cache %s", o->listen, pins.n,
		 o->cache);
	fflush(NULL);
	for (;;) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		int cfd, one = 1;
		pid_t pid;

		io_uring_prep_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
		io_uring_submit(&ring);
		r = io_uring_wait_cqe(&ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r < 0)
			break;
		cfd = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		running -= reap();
		if (cfd < 0) {
			if (cfd != -EINTR && cfd != -ECONNABORTED)
				mos_warn("accept: %s", strerror(-cfd));
			continue;
		}
		if (running >= o->max_jobs) {
			mos_warn("refusing a connection: %u jobs already running (--max-jobs)",
				 running);
			close(cfd);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		conn_tcp_keepalive(cfd);
		pid = fork();
		if (pid == 0) {
			io_uring_queue_exit(&ring);
			close(lfd);
			struct tls_channel *tls = tls_channel_new(TLS_SERVER, id, &pins);

			_exit(job_serve_connection(cfd, cfd, tls, jc) < 0 ? 1 : 0);
		}
		if (pid > 0)
			running++;
		close(cfd);
	}
	io_uring_queue_exit(&ring);
	return 1;
}

/* Scratch directories of jobs whose mosd died (named by its pid). */
static void clean_stale_jobs(const char *cache)
{
	_cleanup_free_ char *jobs = xasprintf("%s/jobs", cache);
	DIR *d = opendir(jobs);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		uint64_t pid;

		if (parse_uint(e->d_name, 1U << 22, &pid) < 0 || !pid)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", jobs, e->d_name);

		rm_rf(p);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	struct mosd_opts o;
	struct job_config jc;
	struct cas *cas = NULL;
	_cleanup_free_ char *cache_alloc = NULL;
	char dir[4096];
	int r;

	mos_log_init("mosd", MOS_LOG_WARN);
	if (argc == 2 && !strcmp(argv[1], "--job-child"))
		job_exec_child(); /* a job process (job.c), not a mosd to start */
	if (argc == 2 && !strcmp(argv[1], "--job-spare"))
		job_spare_child(); /* a session's next job process, waiting (job.c) */
	if (parse_opts(argc, argv, &o) < 0)
		return MOS_EXIT_SETUP;
	mos_log_init("mosd", MOS_LOG_INFO + o.verbose - (o.stdio ? 1 : 0));
	if (o.print_key) {
		struct mos_identity *id = load_or_make_key(o.key);
		char host[256] = "worker";

		if (!id)
			return 1;
		gethostname(host, sizeof(host) - 1);
		_cleanup_free_ char *line = mos_identity_publine(id, host);

		printf("%s\n", line);
		mos_identity_free(id);
		return 0;
	}
	if (o.controller)
		return controller_run(o.socket);
	if (geteuid() != 0 && !o.stdio) {
		mos_err("mosd --listen runs as root: it serves several origins and runs their "
			"jobs as --job-user (a user may run 'mosd --stdio', one origin at a time, "
			"each job in a user namespace of its own)");
		return MOS_EXIT_SETUP;
	}
	if (geteuid() != 0 && !o.cache_given) {
		const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

		if (xdg && *xdg) {
			cache_alloc = xasprintf("%s/mosingar/worker", xdg);
		} else if (home && *home) {
			cache_alloc = xasprintf("%s/.cache/mosingar/worker", home);
		} else {
			/* not /tmp: the cache's blobs are served to jobs as files */
			mos_err("no cache directory: set XDG_CACHE_HOME or HOME, or give --cache "
				"DIR");
			return 1;
		}
		o.cache = cache_alloc;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/cas", o.cache);
	{
		char why[512];

		/* what is in it is served to jobs as their files: ours alone */
		if (mkdir_private(o.cache, why, sizeof(why)) < 0) {
			mos_err("cannot use the cache: %s", why);
			return 1;
		}
	}
	if ((r = cas_open(dir, o.cache_size, &cas)) < 0) {
		mos_err("cannot open the cache in %s: %s", o.cache, strerror(-r));
		return 1;
	}
	clean_stale_jobs(o.cache);
	jc = (struct job_config){
		.state_dir = o.cache,
		.cas = cas,
		.job_uid = o.job_uid,
		.job_gid = o.job_gid,
		.fuse_threads = 4,
		/* passthrough needs CAP_SYS_ADMIN in the initial namespace */
		.passthrough = !o.no_passthrough && geteuid() == 0,
		.unprivileged = geteuid() != 0,
		.start_timeout_s = o.start_timeout,
		.session_idle_s = o.session_idle,
		.peer_timeout_ms = o.peer_timeout_ms,
		.refuse_degraded = o.refuse_degraded,
		.slots = o.slots,
		.cache_limit = o.cache_size,
	};
	/* counted together by every connection process (forked after this) */
	{
		void *page = mmap(NULL, sizeof(struct worker_counters), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		jc.counters = page == MAP_FAILED ? NULL : page;
	}
	if (o.stdio) {
		int rfd = fcntl(0, F_DUPFD_CLOEXEC, 3), wfd = fcntl(1, F_DUPFD_CLOEXEC, 3);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* The stream must not be the stdio of anything mosd starts. */
		dup2(null, 0);
		dup2(null, 1);
		close(null);
		r = job_serve_connection(rfd, wfd, NULL, &jc);
		cas_close(cas);
		return r < 0 ? 1 : 0;
	}
	r = serve_listen(&o, &jc);
	cas_close(cas);
	return r;
}
