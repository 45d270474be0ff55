// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_keys.c - `mosctl keygen` creates this user's Ed25519 key (never over
 * an existing one) and prints its public line; `mosctl key` prints the
 * public line of the existing key, to be added to a worker's authorized
 * keys.
 */
#include "cmd_keys.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tls_channel.h"
#include "util.h"

#define KEY_FILE "id_ed25519"

/* $MOS_CONFIG_DIR/id_ed25519, or ~/.config/mosingar/id_ed25519; NULL if neither is known. */
static char *key_path(void)
{
	const char *dir = getenv("MOS_CONFIG_DIR");
	const char *home = getenv("HOME");
	char *p;
	size_t n;

	if (dir && *dir) {
		n = strlen(dir) + sizeof("/" KEY_FILE);
		p = xmalloc(n);
		snprintf(p, n, "%s/%s", dir, KEY_FILE);
		return p;
	}
	if (!home || !*home)
		return NULL;
	n = strlen(home) + sizeof("/.config/mosingar/" KEY_FILE);
	p = xmalloc(n);
	snprintf(p, n, "%s/.config/mosingar/%s", home, KEY_FILE);
	return p;
}

/* "user@hostname" for the public line. */
static char *default_comment(void)
{
	char host[HOST_NAME_MAX + 1] = "localhost";
	const struct passwd *pw = getpwuid(geteuid());
	const char *user = pw ? pw->pw_name : getenv("USER");
	char *s;
	size_t n;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (!user || !*user)
		user = "unknown";
	n = strlen(user) + strlen(host) + 2;
	s = xmalloc(n);
	snprintf(s, n, "%s@%s", user, host);
	return s;
}

static int print_publine(const char *path, const char *comment)
{
	struct mos_identity *id = NULL;
	_cleanup_free_ char *line = NULL;
	char err[512];
	int r;

	r = mos_identity_load(path, &id, err, sizeof(err));
	if (r == -ENOENT) {
		mos_err("no key: run 'mosctl keygen' (looked for %s)", path);
		return 1;
	}
	if (r < 0) {
		mos_err("%s", err);
		return 1;
	}
	line = mos_identity_publine(id, comment);
	mos_identity_free(id);
	printf("%s\n", line);
	return fflush(stdout) == 0 ? 0 : 1;
}

static bool no_arguments(int argc, char **argv)
{
	if (argc <= 1)
		return true;
	mos_err("%s: unexpected argument '%s' (usage: mosctl %s)", argv[0], argv[1], argv[0]);
	return false;
}

int cmd_keygen(int argc, char **argv)
{
	_cleanup_free_ char *path = key_path();
	_cleanup_free_ char *comment = default_comment();
	int r;

	if (!no_arguments(argc, argv))
		return 1;
	if (!path) {
		mos_err("keygen: no place for the key: set HOME or MOS_CONFIG_DIR");
		return 1;
	}
	r = mos_key_generate(path, comment);
	if (r == -EEXIST) {
		mos_err("keygen: a key already exists in %s; not overwriting it (its public line: "
			"'mosctl key'; to start over, remove the file first)",
			path);
		return 1;
	}
	if (r < 0) {
		mos_err("keygen: cannot create the key %s: %s", path, strerror(-r));
		return 1;
	}
	mos_info("wrote the private key %s; its public line follows", path);
	return print_publine(path, comment);
}

int cmd_key(int argc, char **argv)
{
	_cleanup_free_ char *path = key_path();
	_cleanup_free_ char *comment = default_comment();

	if (!no_arguments(argc, argv))
		return 1;
	if (!path) {
		mos_err("no key: run 'mosctl keygen' (HOME and MOS_CONFIG_DIR are not set)");
		return 1;
	}
	return print_publine(path, comment);
}
