// SPDX-License-Identifier: GPL-2.0-only
/*
 * pool.c - `--on SPEC` as a list of workers, the order to try them in for
 * one job, and the backoff of workers that failed.  Everything but
 * pool_load() is pure, so that the unit tests cover it whole.
 */
#include "pool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool valid_port(const char *p, const char **why)
{
	unsigned long v = 0;

	if (!*p) {
		*why = "an empty port after ':'";
		return false;
	}
	for (const char *q = p; *q; q++) {
		if (*q < '0' || *q > '9' || v > 65535) {
			*why = "the port is not a number from 1 to 65535";
			return false;
		}
		v = v * 10 + (unsigned long)(*q - '0');
	}
	if (v < 1 || v > 65535) {
		*why = "the port is not a number from 1 to 65535";
		return false;
	}
	return true;
}

static bool valid_host(const char *h, size_t n, const char **why)
{
	if (!n) {
		*why = "an empty host name";
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == ':' || c == '%')) {
			*why = "a character a host name cannot have";
			return false;
		}
	}
	return true;
}

bool pool_worker_valid(const char *w, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	if (!w || !*w) {
		*why = "an empty worker name";
		return false;
	}
	if (strlen(w) > 255) {
		*why = "a worker name longer than 255 bytes";
		return false;
	}
	if (!strcmp(w, "local"))
		return true;
	if (!strncmp(w, "ssh://", 6)) {
		const char *h = w + 6, *at = strchr(h, '@');

		if (at) {
			if (at == h) {
				*why = "an empty user name before '@'";
				return false;
			}
			for (const char *q = h; q < at; q++)
				if (is_blank(*q) || *q == ',' || *q == '/' || *q == '@') {
					*why = "a character a user name cannot have";
					return false;
				}
			h = at + 1;
		}
		return valid_host(h, strlen(h), why);
	}
	if (strstr(w, "://")) {
		*why = "an unknown scheme (only ssh:// is known)";
		return false;
	}
	if (w[0] == '[') {
		const char *end = strchr(w, ']');

		if (!end) {
			*why = "an unterminated '['";
			return false;
		}
		if (!valid_host(w + 1, (size_t)(end - w - 1), why))
			return false;
		if (!end[1])
			return true;
		if (end[1] != ':') {
			*why = "something other than ':PORT' after ']'";
			return false;
		}
		return valid_port(end + 2, why);
	}
	{
		const char *colon = strchr(w, ':');

		if (colon && strchr(colon + 1, ':')) {
			*why = "an IPv6 address without brackets ([ADDR]:PORT)";
			return false;
		}
		if (!valid_host(w, colon ? (size_t)(colon - w) : strlen(w), why))
			return false;
		return !colon || valid_port(colon + 1, why);
	}
}

static int add_worker(struct pool *p, const char *spec, size_t len, unsigned slots, char *err,
		      size_t errlen, const char *where)
{
	_cleanup_free_ char *w = xstrndup(spec, len);
	const char *why;

	if (!pool_worker_valid(w, &why)) {
		set_err(err, errlen, "%s'%s': %s", where, w, why);
		return -EINVAL;
	}
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->w[i].spec, w)) {
			set_err(err, errlen, "%s'%s': the worker is listed twice", where, w);
			return -EINVAL;
		}
	if (p->n >= POOL_MAX_WORKERS) {
		set_err(err, errlen, "%smore than %d workers", where, POOL_MAX_WORKERS);
		return -EINVAL;
	}
	p->w = xrealloc(p->w, (p->n + 1) * sizeof(*p->w));
	p->w[p->n].spec = steal_pointer(&w);
	p->w[p->n].slots = slots;
	p->n++;
	return 0;
}

int pool_parse_list(struct pool *p, const char *list, char *err, size_t errlen)
{
	const char *s = list;

	for (;;) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);
		int r;

		if (!n) {
			set_err(err, errlen, "--on %s: an empty worker name in the list", list);
			return -EINVAL;
		}
		if (*s == '@') {
			set_err(err, errlen, "--on %s: a pool (@NAME) must be the whole --on",
				list);
			return -EINVAL;
		}
		r = add_worker(p, s, n, 0, err, errlen, "--on: ");
		if (r < 0)
			return r;
		if (!end)
			return 0;
		s = end + 1;
	}
}

int pool_parse_file(struct pool *p, const char *text, const char *file, char *err, size_t errlen)
{
	const char *s = text;
	size_t lineno = 0;

	while (*s) {
		const char *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);
		_cleanup_free_ char *line = xstrndup(s, len);
		char *hash = strchr(line, '#'), *tok[3] = { 0 }, *q = line;
		char where[64 + 4096];
		size_t ntok = 0;
		int r;

		lineno++;
		s = eol ? eol + 1 : s + len;
		if (hash)
			*hash = 0;
		while (*q && ntok < 3) {
			while (is_blank(*q))
				q++;
			if (!*q)
				break;
			tok[ntok++] = q;
			while (*q && !is_blank(*q))
				q++;
			if (*q)
				*q++ = 0;
		}
		if (!ntok)
			continue;
		snprintf(where, sizeof(where), "%s:%zu: ", file, lineno);
		if (ntok == 3) {
			set_err(err, errlen, "%smore than a worker and a slot count on the line",
				where);
			return -EINVAL;
		}
		unsigned slots = 0;

		if (ntok == 2) {
			char *e;
			unsigned long v;

			errno = 0;
			v = strtoul(tok[1], &e, 10);
			if (tok[1][0] < '0' || tok[1][0] > '9' || *e || errno || v < 1 ||
			    v > POOL_MAX_SLOTS) {
				set_err(err, errlen,
					"%sthe slot count '%s' is not a number from 1 to %d", where,
					tok[1], POOL_MAX_SLOTS);
				return -EINVAL;
			}
			slots = (unsigned)v;
		}
		if (tok[0][0] == '@') {
			set_err(err, errlen, "%sa pool file cannot name another pool ('%s')", where,
				tok[0]);
			return -EINVAL;
		}
		r = add_worker(p, tok[0], strlen(tok[0]), slots, err, errlen, where);
		if (r < 0)
			return r;
	}
	return 0;
}

bool pool_name_valid(const char *name)
{
	return name && *name && name[0] != '.' && !strchr(name, '/') && strlen(name) <= 255;
}

int pool_load(struct pool *p, const char *spec, const char *config_dir, char *err, size_t errlen)
{
	*p = (struct pool){ 0 };
	if (!spec || !*spec) {
		set_err(err, errlen, "--on: no worker given");
		return -EINVAL;
	}
	if (spec[0] == '@') {
		_cleanup_free_ char *file = NULL, *text = NULL;
		char e2[512] = "";
		ssize_t n;
		int r;

		if (!pool_name_valid(spec + 1)) {
			set_err(err, errlen,
				"--on %s: not a pool name (a file name in the pools directory, "
				"no '/', not starting with '.')",
				spec);
			return -EINVAL;
		}
		file = xasprintf("%s/pools/%s", config_dir, spec + 1);
		n = read_regular(file, "pool file", POOL_FILE_MAX, &text, e2, sizeof(e2));
		if (n < 0) {
			set_err(err, errlen, "--on %s: %s", spec, e2);
			return (int)n;
		}
		if (strlen(text) != (size_t)n) {
			set_err(err, errlen, "%s: a NUL byte in the pool file", file);
			return -EINVAL;
		}
		r = pool_parse_file(p, text, file, err, errlen);
		if (r < 0) {
			pool_free(p);
			return r;
		}
		if (!p->n) {
			set_err(err, errlen, "%s: the pool file names no worker", file);
			return -EINVAL;
		}
		return 0;
	}
	{
		int r = pool_parse_list(p, spec, err, errlen);

		if (r < 0)
			pool_free(p);
		return r;
	}
}

void pool_free(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->w[i].spec);
	free(p->w);
	*p = (struct pool){ 0 };
}

const char *pool_default_spec(void)
{
	const char *s = getenv("MOS_ON");

	return s && *s ? s : NULL;
}

/* ------------------------------------------------------------------ */

struct place_key {
	int tier;	  /* 0: free slot, 1: full or unknown-full, 2: backed off */
	uint64_t load_pc; /* load x1000 per CPU */
	unsigned running;
	size_t rot; /* position after rotation */
};

static struct place_key key_of(const struct pool_load_info *in, unsigned hint, size_t i, size_t n,
			       unsigned rotate)
{
	struct place_key k = { 0 };
	unsigned slots = in->reported && in->slots ? in->slots : hint;

	k.rot = (i + n - rotate % n) % n;
	if (in->backed_off) {
		k.tier = 2;
		k.rot = i; /* list order */
		return k;
	}
	k.tier = slots && in->running >= slots ? 1 : 0;
	if (in->reported) {
		k.load_pc = (uint64_t)in->load1000 / (in->cpus ? in->cpus : 1);
		k.running = in->running;
	} else {
		k.load_pc = UINT64_MAX; /* unknown: after every worker known to have room */
	}
	return k;
}

static bool key_less(const struct place_key *a, const struct place_key *b)
{
	if (a->tier != b->tier)
		return a->tier < b->tier;
	if (a->tier == 2)
		return a->rot < b->rot;
	if (a->load_pc != b->load_pc)
		return a->load_pc < b->load_pc;
	if (a->running != b->running)
		return a->running < b->running;
	return a->rot < b->rot;
}

void pool_place(const struct pool_load_info *info, const unsigned *slots_hint, size_t n,
		unsigned rotate, size_t *order)
{
	struct place_key keys[POOL_MAX_WORKERS];

	if (n > POOL_MAX_WORKERS)
		n = POOL_MAX_WORKERS;
	for (size_t i = 0; i < n; i++) {
		keys[i] = key_of(&info[i], slots_hint ? slots_hint[i] : 0, i, n, rotate);
		order[i] = i;
	}
	/* insertion sort: a pool is small, and the order must be stable */
	for (size_t i = 1; i < n; i++) {
		size_t v = order[i], j = i;

		while (j > 0 && key_less(&keys[v], &keys[order[j - 1]])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
}

uint64_t pool_backoff_next(uint64_t prev_ms)
{
	if (prev_ms < POOL_BACKOFF_MIN_MS)
		return POOL_BACKOFF_MIN_MS;
	if (prev_ms >= POOL_BACKOFF_MAX_MS / 2)
		return POOL_BACKOFF_MAX_MS;
	return prev_ms * 2;
}

void pool_backoffs_parse(struct pool_backoffs *bs, const char *text)
{
	const char *s = text;

	*bs = (struct pool_backoffs){ 0 };
	while (s && *s) {
		const char *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);
		_cleanup_free_ char *line = xstrndup(s, len);
		char w[256];
		unsigned long long until, delay;
		char tail;

		s = eol ? eol + 1 : s + len;
		if (sscanf(line, "%255s %llu %llu %c", w, &until, &delay, &tail) != 3)
			continue;
		if (!pool_worker_valid(w, NULL) || pool_backoffs_find(bs, w) ||
		    bs->n >= POOL_MAX_WORKERS * 4)
			continue;
		bs->b = xrealloc(bs->b, (bs->n + 1) * sizeof(*bs->b));
		bs->b[bs->n++] = (struct pool_backoff){ .worker = xstrdup(w),
							.until_ms = until,
							.delay_ms = delay > POOL_BACKOFF_MAX_MS
									    ? POOL_BACKOFF_MAX_MS
									    : delay };
	}
}

struct pool_backoff *pool_backoffs_find(struct pool_backoffs *bs, const char *worker)
{
	for (size_t i = 0; i < bs->n; i++)
		if (!strcmp(bs->b[i].worker, worker))
			return &bs->b[i];
	return NULL;
}

void pool_backoffs_fail(struct pool_backoffs *bs, const char *worker, uint64_t now_ms)
{
	struct pool_backoff *b = pool_backoffs_find(bs, worker);

	if (!b) {
		bs->b = xrealloc(bs->b, (bs->n + 1) * sizeof(*bs->b));
		b = &bs->b[bs->n++];
		*b = (struct pool_backoff){ .worker = xstrdup(worker) };
	}
	b->delay_ms = pool_backoff_next(b->delay_ms);
	b->until_ms = now_ms + b->delay_ms;
}

void pool_backoffs_ok(struct pool_backoffs *bs, const char *worker)
{
	struct pool_backoff *b = pool_backoffs_find(bs, worker);

	if (!b)
		return;
	free(b->worker);
	*b = bs->b[--bs->n];
}

bool pool_backoffs_active(struct pool_backoffs *bs, const char *worker, uint64_t now_ms)
{
	struct pool_backoff *b = pool_backoffs_find(bs, worker);

	return b && now_ms < b->until_ms;
}

/* LINE (N bytes) appended to the string *OUT of length *LEN. */
static void append_line(char **out, size_t *len, const char *line, size_t n)
{
	*out = xrealloc(*out, *len + n + 1);
	memcpy(*out + *len, line, n + 1);
	*len += n;
}

char *pool_backoffs_format(const struct pool_backoffs *bs, uint64_t now_ms)
{
	size_t len = 0;
	char *out = xstrdup("");
	for (size_t i = 0; i < bs->n; i++) {
		const struct pool_backoff *b = &bs->b[i];
		char line[400];
		int n;

		if (b->until_ms + 3600 * 1000ULL < now_ms)
			continue;
		n = snprintf(line, sizeof(line), "%s %llu %llu\n", b->worker,
			     (unsigned long long)b->until_ms, (unsigned long long)b->delay_ms);
		if (n > 0 && (size_t)n < sizeof(line))
			append_line(&out, &len, line, (size_t)n);
	}
	return out;
}

void pool_backoffs_free(struct pool_backoffs *bs)
{
	for (size_t i = 0; i < bs->n; i++)
		free(bs->b[i].worker);
	free(bs->b);
	*bs = (struct pool_backoffs){ 0 };
}

/* ------------------------------------------------------------------ */

void pool_reports_parse(struct pool_reports *rs, const char *text)
{
	const char *s = text;

	*rs = (struct pool_reports){ 0 };
	while (s && *s) {
		const char *eol = strchr(s, '\n');
		size_t len = eol ? (size_t)(eol - s) : strlen(s);
		_cleanup_free_ char *line = xstrndup(s, len);
		struct pool_report r = { 0 };
		char w[256], state[8], tail;
		unsigned long long at;
		int n;

		s = eol ? eol + 1 : s + len;
		n = sscanf(line, "%255s %llu %7s %u %u %u %u %u %c", w, &at, state, &r.slots,
			   &r.running, &r.cpus, &r.load1000, &r.placed, &tail);
		if (n == 3 && !strcmp(state, "none"))
			r.ok = false;
		else if (n == 8 && !strcmp(state, "ok"))
			r.ok = true;
		else
			continue;
		if (!pool_worker_valid(w, NULL) || pool_reports_find(rs, w) ||
		    rs->n >= POOL_MAX_WORKERS * 4 || r.slots > POOL_MAX_SLOTS ||
		    r.running > 1000000 || r.placed > 1000000)
			continue;
		r.worker = xstrdup(w);
		r.at_ms = at;
		rs->r = xrealloc(rs->r, (rs->n + 1) * sizeof(*rs->r));
		rs->r[rs->n++] = r;
	}
}

struct pool_report *pool_reports_find(struct pool_reports *rs, const char *worker)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->r[i].worker, worker))
			return &rs->r[i];
	return NULL;
}

struct pool_report *pool_reports_get(struct pool_reports *rs, const char *worker)
{
	struct pool_report *r = pool_reports_find(rs, worker);

	if (r)
		return r;
	rs->r = xrealloc(rs->r, (rs->n + 1) * sizeof(*rs->r));
	r = &rs->r[rs->n++];
	*r = (struct pool_report){ .worker = xstrdup(worker) };
	return r;
}

bool pool_report_fresh(const struct pool_report *r, uint64_t now_ms)
{
	/* a report from the future (the clock was set back) is stale too */
	return r->at_ms && r->at_ms <= now_ms && now_ms - r->at_ms < POOL_REPORT_TTL_MS;
}

void pool_report_info(const struct pool_report *r, struct pool_load_info *info)
{
	info->reported = r->ok;
	if (!r->ok)
		return;
	info->slots = r->slots;
	info->running = r->running + r->placed;
	info->cpus = r->cpus;
	info->load1000 = r->load1000;
}

char *pool_reports_format(const struct pool_reports *rs, uint64_t now_ms)
{
	size_t len = 0;
	char *out = xstrdup("");
	for (size_t i = 0; i < rs->n; i++) {
		const struct pool_report *r = &rs->r[i];
		char line[400];
		int n;

		if (!r->at_ms || r->at_ms + 3600 * 1000ULL < now_ms)
			continue;
		if (r->ok)
			n = snprintf(line, sizeof(line), "%s %llu ok %u %u %u %u %u\n", r->worker,
				     (unsigned long long)r->at_ms, r->slots, r->running, r->cpus,
				     r->load1000, r->placed);
		else
			n = snprintf(line, sizeof(line), "%s %llu none\n", r->worker,
				     (unsigned long long)r->at_ms);
		if (n > 0 && (size_t)n < sizeof(line))
			append_line(&out, &len, line, (size_t)n);
	}
	return out;
}

void pool_reports_free(struct pool_reports *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->r[i].worker);
	free(rs->r);
	*rs = (struct pool_reports){ 0 };
}
