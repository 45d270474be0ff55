// SPDX-License-Identifier: GPL-2.0-only
/*
 * libbpf_dlopen.c - mosctl's libbpf, loaded on first use (lazy_lib.h).
 *
 * Linked into mosctl only, in place of -lbpf (which brings libelf and libz):
 * loading them cost every start about 0.2 ms, and only the BPF backend, the
 * BPF LSM probe (mosctl version, --backend bpf, attach) and attach's BPF
 * path call them.  The BPF skeletons' inline functions call libbpf through
 * these definitions too.
 *
 * Each function here is one that libmos calls: a new call to another
 * libbpf function shows as an undefined reference when mosctl links, and
 * belongs in the list below.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>

#include <errno.h>
#include <stdio.h>

#include "lazy_lib.h"
#include "libbpf_load_internal.h"
#include "log.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static struct lazy_lib libbpf;

#define LIBBPF_FNS(FN, VOID_FN)                                                                  \
	FN(int, bpf_link__destroy, (struct bpf_link * link), (link))                             \
	VOID_FN(bpf_link__disconnect, (struct bpf_link * link), (link))                          \
	FN(int, bpf_link__fd, (const struct bpf_link *link), (link))                             \
	FN(int, bpf_link__pin, (struct bpf_link * link, const char *path), (link, path))         \
	FN(int, bpf_map__fd, (const struct bpf_map *map), (map))                                 \
	FN(int, bpf_map__pin, (struct bpf_map * map, const char *path), (map, path))             \
	FN(int, bpf_map__reuse_fd, (struct bpf_map * map, int fd), (map, fd))                    \
	FN(int, bpf_map_delete_elem, (int fd, const void *key), (fd, key))                       \
	FN(int, bpf_map_get_next_key, (int fd, const void *key, void *next_key),                 \
	   (fd, key, next_key))                                                                  \
	FN(int, bpf_map_lookup_elem, (int fd, const void *key, void *value), (fd, key, value))   \
	FN(int, bpf_map_update_elem, (int fd, const void *key, const void *value, __u64 flags),  \
	   (fd, key, value, flags))                                                              \
	FN(int, bpf_obj_get, (const char *pathname), (pathname))                                 \
	FN(int, bpf_obj_get_info_by_fd, (int bpf_fd, void *info, __u32 *info_len),               \
	   (bpf_fd, info, info_len))                                                             \
	FN(int, bpf_object__attach_skeleton, (struct bpf_object_skeleton * s), (s))              \
	VOID_FN(bpf_object__destroy_skeleton, (struct bpf_object_skeleton * s), (s))             \
	FN(struct bpf_map *, bpf_object__find_map_by_name,                                       \
	   (const struct bpf_object *obj, const char *name), (obj, name))                        \
	FN(int, bpf_object__load_skeleton, (struct bpf_object_skeleton * s), (s))                \
	FN(struct bpf_program *, bpf_object__next_program,                                       \
	   (const struct bpf_object *obj, struct bpf_program *prog), (obj, prog))                \
	FN(int, bpf_object__open_skeleton,                                                       \
	   (struct bpf_object_skeleton * s, const struct bpf_object_open_opts *opts), (s, opts)) \
	FN(struct bpf_link *, bpf_program__attach, (const struct bpf_program *prog), (prog))     \
	FN(struct bpf_link *, bpf_program__attach_cgroup,                                        \
	   (const struct bpf_program *prog, int cgroup_fd), (prog, cgroup_fd))                   \
	FN(const char *, bpf_program__name, (const struct bpf_program *prog), (prog))            \
	FN(libbpf_print_fn_t, libbpf_set_print, (libbpf_print_fn_t fn), (fn))                    \
	VOID_FN(ring_buffer__free, (struct ring_buffer * rb), (rb))                              \
	FN(struct ring_buffer *, ring_buffer__new,                                               \
	   (int map_fd, ring_buffer_sample_fn sample_cb, void *ctx,                              \
	    const struct ring_buffer_opts *opts),                                                \
	   (map_fd, sample_cb, ctx, opts))                                                       \
	FN(int, ring_buffer__poll, (struct ring_buffer * rb, int timeout_ms), (rb, timeout_ms))

#define BPF_FN(ret, name, params, args) LAZY_FN(libbpf, ret, name, params, args)
#define BPF_VOID_FN(name, params, args) LAZY_VOID_FN(libbpf, name, params, args)
#define SYM(ret, name, params, args) LAZY_SYM(name)
#define VOID_SYM(name, params, args) LAZY_SYM(name)

LIBBPF_FNS(BPF_FN, BPF_VOID_FN)

static const struct lazy_sym libbpf_syms[] = { LIBBPF_FNS(SYM, VOID_SYM) };

static struct lazy_lib libbpf =
	LAZY_LIB_INIT("libbpf.so." STR(LIBBPF_MAJOR_VERSION),
		      "Debian's libbpf" STR(LIBBPF_MAJOR_VERSION) " package",
		      "the bpf backend, the BPF LSM probe and attach's BPF path", libbpf_syms);

/* A short sentence, for the probe's answer; the whole one with -vv. */
int mos_libbpf_load(char *why, size_t len)
{
	char full[sizeof(libbpf.why)];
	int r = lazy_lib_load(&libbpf, full, sizeof(full));

	if (r == 0)
		return 0;
	mos_debug("%s", full);
	if (why && len)
		snprintf(why, len,
			 r == -ENOSYS ? "%s is not the version mosctl was built with (reinstall %s)"
				      : "%s cannot be loaded (install %s)",
			 libbpf.soname, libbpf.package);
	return r;
}
