/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lazy_lib.h - a shared library loaded the first time one of its functions
 * is called, not when the program starts.
 *
 * mosctl starts every local run, and a local run needs neither TLS nor BPF;
 * linking libssl, libcrypto and libbpf made each start load, relocate and
 * initialise them all the same (about 1 ms here, Documentation/benchmarks.md).
 * So mosctl is linked with libc alone, and a file per library
 * (remote/proto/openssl_dlopen.c, confine/bpf/libbpf_dlopen.c) defines each
 * function of it that libmos calls, under the library's own name and with
 * the prototype of the library's header, as a call through a pointer that
 * lazy_lib_need() fills on first use.  mosd, the tests and the static build
 * link the libraries themselves and none of those files.
 *
 * A library is loaded with its dependencies (RTLD_NOW, so a missing symbol
 * shows at once, not in the middle of a call) and never unloaded.  Loading
 * it reads it from the file system, so a path must make its first call
 * before it confines or re-roots the process: mosctl's uses all run in the
 * unconfined parent (the sandbox's child calls none of these libraries).
 */
#ifndef MOS_LAZY_LIB_H
#define MOS_LAZY_LIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct lazy_sym {
	const char *name;
	void **slot; /* where its address goes */
};

struct lazy_lib {
	const char *soname;  /* "libssl.so.3" */
	const char *package; /* the Debian package that ships it, for the message */
	const char *needed;  /* what needs it, plural: "TLS connections (run --on)" */
	const struct lazy_sym *syms;
	size_t nsyms;
	/* Filled once, under the lock; read after state says it is done. */
	pthread_mutex_t lock;
	int state; /* 0 not tried, 1 loaded, -errno failed */
	char why[320];
};

#define LAZY_LIB_INIT(so, pkg, need, table)                                                    \
	{                                                                                      \
		.soname = (so), .package = (pkg), .needed = (need), .syms = (table),           \
		.nsyms = sizeof(table) / sizeof((table)[0]), .lock = PTHREAD_MUTEX_INITIALIZER \
	}

/*
 * Load L and resolve all its symbols, once; later calls return the first
 * answer.  0, or -errno (-ENOENT when the library is missing, -ENOSYS when it
 * lacks a symbol) with a sentence in WHY (LEN bytes; WHY may be NULL) that
 * names the library, what needs it and the package to install.
 */
int lazy_lib_load(struct lazy_lib *l, char *why, size_t len);

/*
 * lazy_lib_load(), or, when it fails, that sentence on stderr and exit
 * status 125 (mosctl's for a failure before the command ran): what the
 * dynamic loader would have done at start had the library been linked.
 */
void lazy_lib_need(struct lazy_lib *l);

/*
 * One function of library LIB: the pointer, and a definition under the
 * library's name with its header's prototype (a mismatch does not compile).
 * PARAMS is the parameter list, ARGS the names in it: (int a, char *b), (a, b).
 */
#define LAZY_FN(lib, ret, name, params, args) \
	static __typeof__(&name) lazy_##name; \
	ret name params                       \
	{                                     \
		lazy_lib_need(&(lib));        \
		return lazy_##name args;      \
	}
#define LAZY_VOID_FN(lib, name, params, args) \
	static __typeof__(&name) lazy_##name; \
	void name params                      \
	{                                     \
		lazy_lib_need(&(lib));        \
		lazy_##name args;             \
	}
/* The table entry lazy_lib_load() fills NAME's pointer from. */
#define LAZY_SYM(name) { #name, (void **)&lazy_##name },

#endif /* MOS_LAZY_LIB_H */
