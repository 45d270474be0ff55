// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy.c - building a policy from rules; no kernel involved.
 */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

/*
 * --system: what a dynamically linked program from the distribution needs to
 * start and to look up users, locale and certificates.  Secrets that live in
 * /etc are withheld, which matters when the caller is root (uid 0 owns them).
 */
const char *const mos_system_read_paths[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", NULL,
};

const char *const mos_system_deny_paths[] = {
	/* password hashes and privilege configuration */
	"/etc/shadow",
	"/etc/shadow-",
	"/etc/gshadow",
	"/etc/gshadow-",
	"/etc/security/opasswd",
	"/etc/sudoers",
	"/etc/sudoers.d",
	"/etc/.pwd.lock",
	/* private keys and credentials of services */
	"/etc/ssh",
	"/etc/ssl/private",
	"/etc/letsencrypt",
	"/etc/wireguard",
	"/etc/krb5.keytab",
	"/etc/ipsec.secrets",
	"/etc/ipsec.d/private",
	"/etc/ppp/chap-secrets",
	"/etc/ppp/pap-secrets",
	"/etc/NetworkManager/system-connections",
	"/etc/openvpn",
	"/etc/docker/key.json",
	"/etc/containers/auth.json",
	NULL,
};

/* Granted to every sandbox: harmless devices that programs expect. */
const char *const mos_always_rw_devices[] = { "/dev/null", "/dev/zero", "/dev/full", NULL };
const char *const mos_always_ro_devices[] = { "/dev/random", "/dev/urandom", NULL };

void mos_err_set(struct mos_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void policy_init(struct mos_policy *p)
{
	memset(p, 0, sizeof(*p));
}

void policy_free(struct mos_policy *p)
{
	for (size_t i = 0; i < p->nfs; i++)
		free(p->fs[i].path);
	free(p->fs);
	for (size_t i = 0; i < p->nnet_allow; i++)
		free(p->net_allow[i].host);
	free(p->net_allow);
	free(p->net_bind);
	strv_free(p->env_set);
	if (p->env_index) {
		strmap_free(p->env_index);
		free(p->env_index);
	}
	free(p->cwd);
	strv_free(p->ask_fs);
	memset(p, 0, sizeof(*p));
}

/* Room for one more entry of N in a list bounded by MAX (policy.h), or -E2BIG. */
static int room(size_t n, size_t max, const char *origin, const char *what, struct mos_err *e)
{
	if (n < max)
		return 0;
	mos_err_set(e,
		    "%s: more than %zu %s in one policy (the most it may hold, "
		    "Documentation/policy.md)",
		    origin, max, what);
	return -E2BIG;
}

/* Make room in *V (N used, growing by doubling) for one more element of SIZE. */
static void *grow_for_one(void *v, size_t n, size_t size)
{
	/* the capacity is the next power of two above n: grow when n is one
	 * (or 0); every append goes through here */
	if ((n & (n - 1)) == 0)
		return xrealloc(v, (n ? 2 * n : 1) * size);
	return v;
}

static void set_origin(struct mos_origin *o, const char *text)
{
	snprintf(o->text, sizeof(o->text), "%s", text ? text : "?");
}

const char *policy_access_name(uint32_t access)
{
	switch (access & MOS_FS_ALL) {
	case 0:
		return "none";
	case MOS_FS_READ:
		return "read";
	case MOS_FS_EXEC:
		return "exec";
	case MOS_FS_READ | MOS_FS_EXEC:
		return "read+exec";
	case MOS_FS_WRITE:
		return "write";
	case MOS_FS_READ | MOS_FS_WRITE:
		return "read+write";
	case MOS_FS_EXEC | MOS_FS_WRITE:
		return "exec+write";
	default:
		return "read+exec+write";
	}
}

int policy_add_fs(struct mos_policy *p, const char *base, const char *path, uint32_t access,
		  bool deny, const char *origin, struct mos_err *e)
{
	struct mos_fs_rule *r;

	if (!path || !*path) {
		mos_err_set(e, "%s: empty path", origin);
		return -EINVAL;
	}
	if (strlen(path) >= 4096) {
		mos_err_set(e, "%s: path longer than 4095 bytes", origin);
		return -EINVAL;
	}
	if (room(p->nfs, MOS_POLICY_MAX_ENTRIES, origin, "file rules", e) < 0)
		return -E2BIG;
	p->fs = grow_for_one(p->fs, p->nfs, sizeof(*p->fs));
	r = &p->fs[p->nfs++];
	memset(r, 0, sizeof(*r));
	r->path = path_join_normalize(base, path);
	r->access = deny ? 0 : (access & MOS_FS_ALL);
	r->deny = deny;
	set_origin(&r->origin, origin);
	return 0;
}

static int parse_port(const char *s, size_t n, bool allow_zero, uint16_t *out)
{
	char buf[8];
	uint64_t v;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (parse_uint(buf, 65535, &v) < 0 || (v == 0 && !allow_zero))
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static bool valid_host(const char *h)
{
	if (!*h || strlen(h) > 253)
		return false;
	for (const char *c = h; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_' && *c != ':')
			return false;
	}
	return true;
}

int policy_add_net_allow(struct mos_policy *p, const char *spec, const char *origin,
			 struct mos_err *e)
{
	struct mos_net_rule rule = { 0 };
	const char *ports, *c;
	_cleanup_free_ char *host = NULL;

	set_origin(&rule.origin, origin);
	if (room(p->nnet_allow, MOS_POLICY_MAX_NET_ALLOW, origin, "endpoint rules", e) < 0)
		return -E2BIG;
	if (!spec || !*spec) {
		mos_err_set(e, "%s: empty endpoint (expected HOST:PORT or :PORT)", origin);
		return -EINVAL;
	}
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':') {
			mos_err_set(e, "%s: '%s': expected [IPV6]:PORT", origin, spec);
			return -EINVAL;
		}
		host = xstrndup(spec + 1, (size_t)(close - spec - 1));
		ports = close + 2;
		/* Brackets hold an IPv6 address: never empty, a name or a wildcard. */
		if (!strchr(host, ':')) {
			mos_err_set(e,
				    "%s: '%s': brackets must hold an IPv6 address, e.g. [::1]:80",
				    origin, spec);
			return -EINVAL;
		}
	} else {
		const char *colon = strrchr(spec, ':');

		if (!colon) {
			mos_err_set(e, "%s: '%s': missing port (expected HOST:PORT or :PORT)",
				    origin, spec);
			return -EINVAL;
		}
		if (memchr(spec, ':', (size_t)(colon - spec))) {
			mos_err_set(e,
				    "%s: '%s': write IPv6 addresses in brackets, "
				    "e.g. [::1]:80",
				    origin, spec);
			return -EINVAL;
		}
		host = xstrndup(spec, (size_t)(colon - spec));
		ports = colon + 1;
	}
	if (*host && strcmp(host, "*") != 0) {
		if (!valid_host(host)) {
			mos_err_set(e, "%s: '%s' is not a valid host name or address", origin,
				    host);
			return -EINVAL;
		}
		rule.host = steal_pointer(&host);
	}
	for (c = ports;;) {
		const char *comma = strchr(c, ',');
		size_t n = comma ? (size_t)(comma - c) : strlen(c);

		if (rule.nports == MOS_NET_MAX_PORTS) {
			mos_err_set(e, "%s: more than %d ports in one rule", origin,
				    MOS_NET_MAX_PORTS);
			free(rule.host);
			return -EINVAL;
		}
		if (parse_port(c, n, false, &rule.ports[rule.nports]) < 0) {
			mos_err_set(e, "%s: '%.*s' is not a port number (1-65535)", origin, (int)n,
				    c);
			free(rule.host);
			return -EINVAL;
		}
		rule.nports++;
		if (!comma)
			break;
		c = comma + 1;
	}
	p->net_allow = grow_for_one(p->net_allow, p->nnet_allow, sizeof(rule));
	p->net_allow[p->nnet_allow++] = rule;
	return 0;
}

int policy_add_net_bind(struct mos_policy *p, const char *port, const char *origin,
			struct mos_err *e)
{
	uint16_t v;

	if (!port || parse_port(port, strlen(port), true, &v) < 0) {
		mos_err_set(e, "%s: '%s' is not a port number (0-65535)", origin, port ? port : "");
		return -EINVAL;
	}
	if (room(p->nnet_bind, MOS_POLICY_MAX_ENTRIES, origin, "bind ports", e) < 0)
		return -E2BIG;
	p->net_bind = grow_for_one(p->net_bind, p->nnet_bind, sizeof(*p->net_bind));
	p->net_bind[p->nnet_bind++] = v;
	return 0;
}

int policy_add_ask(struct mos_policy *p, const char *base, const char *spec, const char *origin,
		   struct mos_err *e)
{
	if (!strcmp(spec, "net")) {
		p->ask_net = true;
		return 0;
	}
	if (strncmp(spec, "fs:", 3) || !spec[3]) {
		mos_err_set(e, "%s: '%s': expected fs:PATH or net", origin, spec);
		return -EINVAL;
	}
	if (room(p->nask_fs, MOS_POLICY_MAX_ENTRIES, origin, "ask paths", e) < 0)
		return -E2BIG;
	strv_push(&p->ask_fs, &p->nask_fs, path_join_normalize(base, spec + 3));
	return 0;
}

int policy_add_env(struct mos_policy *p, const char *kv, const char *origin, struct mos_err *e)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;
	size_t klen, *at;
	bool added;

	if (!eq || eq == kv) {
		mos_err_set(e, "%s: '%s': expected KEY=VALUE", origin, kv ? kv : "");
		return -EINVAL;
	}
	klen = (size_t)(eq - kv);
	/* an index of the keys: a later KEY replaces the earlier one in place,
	 * found in constant time (a scan of every earlier key made 60,000
	 * variables cost a minute) */
	if (!p->env_index) {
		p->env_index = xcalloc(1, sizeof(*p->env_index));
		for (size_t i = 0; i < p->nenv_set; i++)
			strmap_add(p->env_index, p->env_set[i],
				   (size_t)(strchr(p->env_set[i], '=') - p->env_set[i]), i, NULL);
	}
	at = strmap_find(p->env_index, kv, klen);
	if (at) {
		free(p->env_set[*at]);
		p->env_set[*at] = xstrdup(kv);
		return 0;
	}
	if (room(p->nenv_set, MOS_POLICY_MAX_ENTRIES, origin, "environment variables", e) < 0)
		return -E2BIG;
	strmap_add(p->env_index, kv, klen, p->nenv_set, &added);
	strv_push(&p->env_set, &p->nenv_set, xstrdup(kv));
	return 0;
}

int mos_backend_parse(const char *s, enum mos_backend *out)
{
	if (!strcmp(s, "auto"))
		*out = MOS_BACKEND_AUTO;
	else if (!strcmp(s, "landlock"))
		*out = MOS_BACKEND_LANDLOCK;
	else if (!strcmp(s, "unotify"))
		*out = MOS_BACKEND_UNOTIFY;
	else if (!strcmp(s, "bpf"))
		*out = MOS_BACKEND_BPF;
	else
		return -EINVAL;
	return 0;
}

const char *mos_backend_name(enum mos_backend b)
{
	switch (b) {
	case MOS_BACKEND_LANDLOCK:
		return "landlock";
	case MOS_BACKEND_UNOTIFY:
		return "unotify";
	case MOS_BACKEND_BPF:
		return "bpf";
	default:
		return "auto";
	}
}
