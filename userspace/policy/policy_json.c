// SPDX-License-Identifier: GPL-2.0-only
/*
 * policy_json.c - the JSON policy file (Documentation/policy.md).
 *
 * The document is parsed with positions (json.c), then walked against a fixed
 * schema: every key is known, every value has the expected type, and an error
 * names FILE:LINE:COL of the offending key or value.
 */
#include "policy.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "util.h"

struct loader {
	struct mos_policy *p;
	const char *name; /* file name for messages */
	const char *base; /* directory for relative paths */
	struct mos_err *e;
};

static int at(struct loader *l, struct json_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int at(struct loader *l, struct json_pos pos, const char *fmt, ...)
{
	char msg[MOS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mos_err_set(l->e, "%s:%u:%u: %s", l->name, pos.line, pos.col, msg);
	return -EINVAL;
}

static void origin_of(struct loader *l, struct json_pos pos, char *buf, size_t n)
{
	snprintf(buf, n, "%s:%u:%u", l->name, pos.line, pos.col);
}

/* Reject keys outside KNOWN (a NULL-terminated list). */
static int check_keys(struct loader *l, const struct json_value *obj, const char *where,
		      const char *const *known)
{
	for (size_t i = 0; i < obj->object.n; i++) {
		const struct json_member *m = &obj->object.members[i];
		char list[256] = "";
		bool ok = false;

		for (const char *const *k = known; *k; k++) {
			if (!strcmp(m->key, *k))
				ok = true;
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 k == known ? "" : ", ", *k);
		}
		if (!ok)
			return at(l, m->key_pos, "unknown key \"%s\" in %s (known: %s)", m->key,
				  where, list);
	}
	return 0;
}

static const struct json_value *get(const struct json_value *obj, const char *key)
{
	for (size_t i = 0; i < obj->object.n; i++)
		if (!strcmp(obj->object.members[i].key, key))
			return obj->object.members[i].value;
	return NULL;
}

static int want(struct loader *l, const struct json_value *v, enum json_type t, const char *what)
{
	if (v->type != t)
		return at(l, v->pos, "%s must be %s, not %s", what, json_type_name(t),
			  json_type_name(v->type));
	return 0;
}

static int get_bool(struct loader *l, const struct json_value *obj, const char *key,
		    const char *what, bool *out)
{
	const struct json_value *v = get(obj, key);

	if (!v)
		return 0;
	if (want(l, v, JSON_BOOL, what) < 0)
		return -EINVAL;
	*out = v->boolean;
	return 0;
}

/* A positive integer: 0 would read as "no limit" in some tools, so it is refused. */
static int get_uint(struct loader *l, const struct json_value *obj, const char *key,
		    const char *what, uint64_t max, uint64_t *out)
{
	const struct json_value *v = get(obj, key);

	if (!v)
		return 0;
	if (v->type != JSON_NUMBER || !v->number.is_integer || v->number.integer < 1 ||
	    (uint64_t)v->number.integer > max)
		return at(l, v->pos,
			  "%s must be a whole number from 1 to %llu (leave it out for no limit)",
			  what, (unsigned long long)max);
	*out = (uint64_t)v->number.integer;
	return 0;
}

static int load_paths(struct loader *l, const struct json_value *fs, const char *key,
		      uint32_t access, bool deny)
{
	const struct json_value *v = get(fs, key);
	char what[32], origin[200];

	if (!v)
		return 0;
	snprintf(what, sizeof(what), "\"fs.%s\"", key);
	if (v->type != JSON_ARRAY)
		return at(l, v->pos, "%s must be an array of paths", what);
	for (size_t i = 0; i < v->array.n; i++) {
		const struct json_value *s = v->array.items[i];

		if (s->type != JSON_STRING || s->string.len == 0)
			return at(l, s->pos, "%s entries must be non-empty strings", what);
		origin_of(l, s->pos, origin, sizeof(origin));
		if (policy_add_fs(l->p, l->base, s->string.s, access, deny, origin, l->e) < 0)
			return -EINVAL;
	}
	return 0;
}

static int load_fs(struct loader *l, const struct json_value *fs)
{
	static const char *const keys[] = { "read", "write", "deny", "system", NULL };

	if (want(l, fs, JSON_OBJECT, "\"fs\"") < 0 || check_keys(l, fs, "\"fs\"", keys) < 0)
		return -EINVAL;
	if (load_paths(l, fs, "read", MOS_FS_READ | MOS_FS_EXEC, false) < 0 ||
	    load_paths(l, fs, "write", MOS_FS_ALL, false) < 0 ||
	    load_paths(l, fs, "deny", 0, true) < 0)
		return -EINVAL;
	return get_bool(l, fs, "system", "\"fs.system\"", &l->p->fs_system);
}

static int load_net(struct loader *l, const struct json_value *net)
{
	static const char *const keys[] = { "allow", "bind", "udp", "unix", NULL };
	const struct json_value *v;
	char origin[200];

	if (want(l, net, JSON_OBJECT, "\"net\"") < 0 || check_keys(l, net, "\"net\"", keys) < 0)
		return -EINVAL;
	v = get(net, "allow");
	if (v) {
		if (v->type != JSON_ARRAY)
			return at(l, v->pos,
				  "\"net.allow\" must be an array of \"host:port\" strings");
		for (size_t i = 0; i < v->array.n; i++) {
			const struct json_value *s = v->array.items[i];

			if (s->type != JSON_STRING)
				return at(l, s->pos,
					  "\"net.allow\" entries must be strings "
					  "like \"example.org:443\" or \":8080\"");
			origin_of(l, s->pos, origin, sizeof(origin));
			if (policy_add_net_allow(l->p, s->string.s, origin, l->e) < 0)
				return -EINVAL;
		}
	}
	v = get(net, "bind");
	if (v) {
		if (v->type != JSON_ARRAY)
			return at(l, v->pos, "\"net.bind\" must be an array of port numbers");
		for (size_t i = 0; i < v->array.n; i++) {
			const struct json_value *n = v->array.items[i];
			char port[24];

			if (n->type != JSON_NUMBER || !n->number.is_integer ||
			    n->number.integer < 0 || n->number.integer > 65535)
				return at(l, n->pos,
					  "\"net.bind\" entries must be port numbers "
					  "from 0 to 65535");
			snprintf(port, sizeof(port), "%lld", (long long)n->number.integer);
			origin_of(l, n->pos, origin, sizeof(origin));
			if (policy_add_net_bind(l->p, port, origin, l->e) < 0)
				return -EINVAL;
		}
	}
	if (get_bool(l, net, "udp", "\"net.udp\"", &l->p->allow_udp) < 0)
		return -EINVAL;
	return get_bool(l, net, "unix", "\"net.unix\"", &l->p->allow_unix);
}

static int load_limits(struct loader *l, const struct json_value *lim)
{
	static const char *const keys[] = {
		"memory", "procs", "timeout", "open_files", "cpu", NULL
	};
	struct mos_limits *m = &l->p->limits;
	const struct json_value *v;

	if (want(l, lim, JSON_OBJECT, "\"limits\"") < 0 ||
	    check_keys(l, lim, "\"limits\"", keys) < 0)
		return -EINVAL;
	v = get(lim, "memory");
	if (v) {
		if (v->type == JSON_STRING) {
			if (parse_size(v->string.s, &m->memory) < 0 || m->memory < MOS_MIN_MEMORY)
				return at(l, v->pos,
					  "\"limits.memory\": '%s' is not a size of at least "
					  "1M (e.g. \"256M\", \"2G\")",
					  v->string.s);
		} else if (v->type == JSON_NUMBER && v->number.is_integer &&
			   v->number.integer >= (int64_t)MOS_MIN_MEMORY) {
			m->memory = (uint64_t)v->number.integer;
		} else {
			return at(l, v->pos,
				  "\"limits.memory\" must be a size such as \"256M\" "
				  "or a number of bytes, at least 1M");
		}
	}
	v = get(lim, "timeout");
	if (v) {
		/* Milliseconds, as --timeout: less than 0.001 s is refused, not rounded up. */
		if (v->type != JSON_NUMBER || v->number.value < 0.001 || v->number.value > 1e9)
			return at(l, v->pos,
				  "\"limits.timeout\" must be a number of seconds from 0.001 "
				  "to 1e9");
		m->timeout_ms = (uint64_t)(v->number.value * 1000.0 + 0.5);
	}
	if (get_uint(l, lim, "procs", "\"limits.procs\"", 1U << 22, &m->procs) < 0 ||
	    get_uint(l, lim, "open_files", "\"limits.open_files\"", 1U << 30, &m->open_files) < 0 ||
	    get_uint(l, lim, "cpu", "\"limits.cpu\"", 1ULL << 32, &m->cpu_s) < 0)
		return -EINVAL;
	return 0;
}

static int load_env(struct loader *l, const struct json_value *env)
{
	static const char *const keys[] = { "clean", "set", NULL };
	const struct json_value *set;

	if (want(l, env, JSON_OBJECT, "\"env\"") < 0 || check_keys(l, env, "\"env\"", keys) < 0)
		return -EINVAL;
	if (get_bool(l, env, "clean", "\"env.clean\"", &l->p->env_clean) < 0)
		return -EINVAL;
	set = get(env, "set");
	if (!set)
		return 0;
	if (want(l, set, JSON_OBJECT, "\"env.set\"") < 0)
		return -EINVAL;
	for (size_t i = 0; i < set->object.n; i++) {
		const struct json_member *m = &set->object.members[i];
		_cleanup_free_ char *kv = NULL;
		char origin[200];
		size_t n;

		if (!*m->key || strchr(m->key, '='))
			return at(l, m->key_pos, "\"env.set\": '%s' is not a variable name",
				  m->key);
		if (m->value->type != JSON_STRING)
			return at(l, m->value->pos, "\"env.set.%s\" must be a string", m->key);
		n = strlen(m->key) + m->value->string.len + 2;
		kv = xmalloc(n);
		snprintf(kv, n, "%s=%s", m->key, m->value->string.s);
		origin_of(l, m->key_pos, origin, sizeof(origin));
		if (policy_add_env(l->p, kv, origin, l->e) < 0)
			return -EINVAL;
	}
	return 0;
}

/* "ask": {"fs": ["PATH", ...], "net": true} */
static int load_ask(struct loader *l, const struct json_value *ask)
{
	static const char *const keys[] = { "fs", "net", NULL };
	const struct json_value *v;

	if (want(l, ask, JSON_OBJECT, "\"ask\"") < 0 || check_keys(l, ask, "\"ask\"", keys) < 0)
		return -EINVAL;
	v = get(ask, "fs");
	if (v) {
		if (v->type != JSON_ARRAY)
			return at(l, v->pos, "\"ask.fs\" must be an array of paths");
		for (size_t i = 0; i < v->array.n; i++) {
			const struct json_value *s = v->array.items[i];

			if (s->type != JSON_STRING || s->string.len == 0)
				return at(l, s->pos,
					  "\"ask.fs\" entries must be non-empty strings");
			strv_push(&l->p->ask_fs, &l->p->nask_fs,
				  path_join_normalize(l->base, s->string.s));
		}
	}
	return get_bool(l, ask, "net", "\"ask.net\"", &l->p->ask_net);
}

int policy_load_buffer(struct mos_policy *p, const char *buf, size_t len, const char *name,
		       const char *base, struct mos_err *e)
{
	static const char *const keys[] = { "fs", "net", "limits", "env", "cwd", "ask", NULL };
	struct loader l = { .p = p, .name = name, .base = base, .e = e };
	struct json_value *doc = NULL;
	const struct json_value *v;
	struct json_error jerr;
	int r;

	if (len > MOS_POLICY_MAX_BYTES) {
		mos_err_set(e, "policy %s is larger than %u bytes", name, MOS_POLICY_MAX_BYTES);
		return -EFBIG;
	}
	if (json_parse(buf, len, &doc, &jerr) < 0)
		return at(&l, jerr.pos, "%s", jerr.msg);
	r = want(&l, doc, JSON_OBJECT, "a policy");
	if (r == 0)
		r = check_keys(&l, doc, "the policy", keys);
	if (r == 0 && (v = get(doc, "fs")))
		r = load_fs(&l, v);
	if (r == 0 && (v = get(doc, "net")))
		r = load_net(&l, v);
	if (r == 0 && (v = get(doc, "limits")))
		r = load_limits(&l, v);
	if (r == 0 && (v = get(doc, "env")))
		r = load_env(&l, v);
	if (r == 0 && (v = get(doc, "ask")))
		r = load_ask(&l, v);
	if (r == 0 && (v = get(doc, "cwd"))) {
		if (v->type != JSON_STRING || v->string.len == 0) {
			r = at(&l, v->pos, "\"cwd\" must be a non-empty path");
		} else {
			free(p->cwd);
			p->cwd = path_join_normalize(base, v->string.s);
		}
	}
	json_free(doc);
	return r;
}

int policy_load_file(struct mos_policy *p, const char *path, struct mos_err *e)
{
	_cleanup_free_ char *buf = NULL, *abs = NULL, *dir = NULL;
	ssize_t n;

	/* never blocks on a FIFO or a device: a policy is a regular file */
	n = read_regular(path, "policy file", MOS_POLICY_MAX_BYTES, &buf, e ? e->msg : NULL,
			 e ? sizeof(e->msg) : 0);
	if (n < 0)
		return (int)n;
	abs = path_join_normalize(NULL, path);
	dir = xstrdup(abs);
	return policy_load_buffer(p, buf, (size_t)n, path, dirname(dir), e);
}
