// SPDX-License-Identifier: GPL-2.0-only
/*
 * lazy_lib.c - load a shared library on first use (lazy_lib.h).
 */
#include "lazy_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int load_locked(struct lazy_lib *l)
{
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		const char *err = dlerror();

		snprintf(l->why, sizeof(l->why),
			 "%s need %s, which cannot be loaded (%s): install %s", l->needed,
			 l->soname, err ? err : "not found", l->package);
		return -ENOENT;
	}
	for (size_t i = 0; i < l->nsyms; i++) {
		void *p = dlsym(h, l->syms[i].name);

		if (!p) {
			snprintf(l->why, sizeof(l->why),
				 "%s need %s, which has no %s (not the version this program "
				 "was built with): reinstall %s",
				 l->needed, l->soname, l->syms[i].name, l->package);
			/* Half a table must not be used: forget the library. */
			for (size_t j = 0; j < i; j++)
				*l->syms[j].slot = NULL;
			dlclose(h);
			return -ENOSYS;
		}
		*l->syms[i].slot = p;
	}
	return 1;
}

int lazy_lib_load(struct lazy_lib *l, char *why, size_t len)
{
	int state = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);

	if (!state) {
		pthread_mutex_lock(&l->lock);
		state = l->state;
		if (!state) {
			state = load_locked(l);
			__atomic_store_n(&l->state, state, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&l->lock);
	}
	if (state > 0)
		return 0;
	if (why && len)
		snprintf(why, len, "%s", l->why);
	return state;
}

void lazy_lib_need(struct lazy_lib *l)
{
	if (lazy_lib_load(l, NULL, 0) == 0)
		return;
	mos_err("%s", l->why);
	exit(125);
}
