# SPDX-License-Identifier: GPL-2.0-only
#
# MoSingAr top-level build.
#
#   make              build build/bin/mosctl and build/bin/mosd
#   make demo         install what is missing, build, confine a real program
#   make check        install what is missing, build, run every test
#   make check-layers the components' includes follow their layering
#   make bench-build  the benchmarks' programs (bench/enforce; not in check)
#   make install PREFIX=/usr/local
#   make V=1          show the commands
#   make SANITIZE=1   AddressSanitizer + UBSan build (into build/asan)
#   make STATIC=1     static executables for the guest kernels (into build/vm-static)
#   make run-vm       tests/vm/ and the selftest matrix in qemu guests (6.1, 6.12)
#   make fuzz [FUZZ_TIME=60]  run each libFuzzer target (fuzz/) that long, in seconds
#   make fuzz-check   replay the fuzz corpora and crash reproducers, fuzz briefly
#   make kmod [KDIR=DIR]  the optional module, build/kmod/RELEASE/mosingar.ko,
#                     for the guest kernels' Debian headers (or KDIR)
#   make kunit        the module's KUnit suite in a UML kernel (KTAP)
#
# The optional kernel module (kmod/) is built by its own Kbuild against a
# kernel's headers; the BPF programs (bpf/) are built into skeletons that
# libmos embeds (bpf-build).

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= gcc

ifeq ($(SANITIZE),1)
O        ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(FUZZ),1)
# The libFuzzer targets (fuzz/) and libmos compiled for them: clang with
# coverage feedback, ASan and UBSan, into a directory of their own.
O        ?= build/fuzz
CC       := clang-14
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all
else ifeq ($(STATIC),1)
# Static executables for the guest kernels (tests/vm/run): glibc and every
# library linked in from the Debian -dev packages' archives.
O        ?= build/vm-static
SANFLAGS :=
LINKMODE := -static
else
O        ?= build
SANFLAGS :=
endif

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2)
endif

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
            -Wpointer-arith -Wvla
CFLAGS   ?= -O2 -g
# libmos is a stack of components, one folder each under userspace/ (a
# component's subfolders, such as confine's backends, are part of it), and
# each may use only the components named after it here: a source file is
# compiled with the headers of its own component and of those, nothing else,
# so a forbidden include does not compile (scripts/check-layers catches the
# rest: relative paths, private headers).  Documentation/architecture.md.
COMPONENTS := core policy confine attach remote/proto remote/origin remote/worker
USES_core          :=
USES_policy        := core
USES_confine       := core policy
USES_attach        := core policy confine
USES_remote/proto  := core
USES_remote/origin := core policy confine remote/proto
USES_remote/worker := core policy confine remote/proto
# The two programs: commands only; neither uses the other.
USES_mosctl        := $(COMPONENTS)
USES_mosd          := $(COMPONENTS)
# Each component's folders, and the -I flags a source of component C gets.
comp_dirs = $(patsubst %/,%,$(sort $(dir $(wildcard userspace/$(1)/*.[ch] userspace/$(1)/*/*.[ch]))))
comp_incs = $(foreach c,$(1) $(USES_$(1)),$(addprefix -I,$(call comp_dirs,$(c))))
ALL_COMP_INCS := $(foreach c,$(COMPONENTS),$(addprefix -I,$(call comp_dirs,$(c))))
# What the confine backends generate: the seccomp programs, the BPF skeletons.
GEN_INCS   := -I$(O)/gen -I$(O)/bpf
USES_INC   := $(ALL_COMP_INCS) $(GEN_INCS)
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DMOS_VERSION='"$(VERSION)"' $(MNL_DEFS) \
              -Iinclude/uapi $(USES_INC) \
              $(WARNINGS) $(CFLAGS) $(SANFLAGS) -MMD -MP
# OpenSSL (TLS 1.3, SHA-256), liburing (the transport's socket I/O), libbpf
# (the BPF backend's programs, and the BPF LSM probe).
# libmnl: the module's ask channel (confine/bpf/ask_channel.c; mosctl
# never calls it).
LDLIBS   := -lssl -lcrypto -luring -lbpf -lmnl -lpthread -lm
# mosctl starts every local run, which needs none of them: it links libc
# alone, loads OpenSSL and libbpf on the first call into them (the
# *_dlopen.c files, lazy_lib.h) and has liburing's few functions linked in.
# Its start-up: Documentation/benchmarks.md.  mosd links them all.
MOSCTL_LDLIBS := -Wl,--as-needed -Wl,-Bstatic -luring -Wl,-Bdynamic -lpthread -lm
ifeq ($(STATIC),1)
# libbpf's own dependencies, which a shared libbpf pulls in by itself.
# Debian ships no libmnl.a: a static build has no ask channel (it says so).
LDLIBS   := $(filter-out -lmnl,$(LDLIBS)) -lelf -lz -lzstd
MNL_DEFS := -DMOS_NO_LIBMNL
# glibc warns that getaddrinfo, gethostbyname and dlopen in a static program
# need its shared libraries at run time.  Not for name lookups through
# /etc/hosts or DNS (built into glibc since 2.34; checked in the guests),
# and libcrypto's DSO loader is never used: see Documentation/vm.md.
LINK_LOG = 2> $@.log || { cat $@.log; exit 1; }; \
	grep -v -e "requires at runtime the shared libraries" -e ": in function" $@.log || true
endif
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS) $(LINKMODE)
ifeq ($(STATIC),1)
# No dlopen in a static program: the libraries are linked in.
MOSCTL_LDLIBS := $(LDLIBS)
endif

# seccomp_filter.c (libseccomp) and gen_seccomp.c run at build time and in tests only.
SECCOMP_BUILD_SRCS := $(addprefix userspace/confine/seccomp/,seccomp_filter.c gen_seccomp.c)
# The libraries mosctl loads on first use: linked into mosctl only, before
# libmos.a, whose *_linked.c members then stay out of it.
DLOPEN_SRCS  := $(sort $(foreach c,$(COMPONENTS),$(wildcard userspace/$(c)/*_dlopen.c userspace/$(c)/*/*_dlopen.c)))
LIB_SRCS     := $(filter-out $(SECCOMP_BUILD_SRCS) $(DLOPEN_SRCS),\
                  $(sort $(foreach c,$(COMPONENTS),$(wildcard userspace/$(c)/*.c userspace/$(c)/*/*.c))))
MOSCTL_SRCS  := $(sort $(wildcard userspace/mosctl/*.c))
MOSD_SRCS    := $(sort $(wildcard userspace/mosd/*.c))
UNIT_SRCS    := $(sort $(wildcard tests/unit/test_*.c))
SELFTEST_SRCS := $(sort $(wildcard selftests/*_test.c))
HELPER_SRCS  := $(sort $(wildcard selftests/helpers/*.c))

LIB_OBJS     := $(LIB_SRCS:%.c=$(O)/obj/%.o)
DLOPEN_OBJS  := $(if $(filter 1,$(STATIC)),,$(DLOPEN_SRCS:%.c=$(O)/obj/%.o))
MOSCTL_OBJS  := $(MOSCTL_SRCS:%.c=$(O)/obj/%.o)
MOSD_OBJS    := $(MOSD_SRCS:%.c=$(O)/obj/%.o)
MOSD         := $(O)/bin/mosd
LIBMOS       := $(O)/lib/libmos.a
MOSCTL       := $(O)/bin/mosctl
UNIT_BINS    := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)
SELFTEST_BINS := $(SELFTEST_SRCS:selftests/%.c=$(O)/selftests/%)
HELPER_BINS  := $(HELPER_SRCS:selftests/helpers/%.c=$(O)/selftests/helpers/%)
# The sandbox suites that run a second time on the supervisor backend.
SUPERVISED_BINS := $(addprefix $(O)/selftests/,exit_test fs_test net_test escape_test limits_test process_test)
SELFTEST_COMMON := $(filter-out $(SELFTEST_SRCS),$(wildcard selftests/*.c))
SELFTEST_COMMON_OBJS := $(SELFTEST_COMMON:%.c=$(O)/obj/%.o)
SELFTEST_COMMON_OBJS := $(SELFTEST_COMMON:%.c=$(O)/obj/%.o)

all: $(MOSCTL) $(MOSD)

# The table as scripts/check-layers reads it: COMPONENT=USES..., in order.
LAYERS_SPEC = $(foreach c,$(COMPONENTS) mosctl mosd,"$(c)=$(USES_$(c))")

check-layers:
	$(Q)scripts/check-layers $(LAYERS_SPEC)
	$(Q)out=$$(tests/layers/run $(LAYERS_SPEC)) || { echo "$$out"; exit 1; }; \
	echo "check-layers: $$(echo "$$out" | grep -c '^ok') refusals tested (tests/layers/run)"

# A component's sources see its own headers and those of what it uses.
$(foreach c,$(COMPONENTS) mosctl mosd,\
  $(eval $(O)/obj/userspace/$(c)/%.o: USES_INC = $(call comp_incs,$(c)) \
     $(if $(filter confine,$(c)),$(GEN_INCS))))

$(O)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The seccomp programs: compiled once with libseccomp, loaded as data.
SECCOMP_GEN := $(O)/bin/gen_seccomp
$(SECCOMP_GEN): $(O)/obj/userspace/confine/seccomp/gen_seccomp.o $(O)/obj/seccomp-lib/seccomp_filter.o \
		$(addprefix $(O)/obj/userspace/,core/util.o policy/policy.o core/strmap.o) \
		$(O)/obj/userspace/confine/seccomp/seccomp_programs_build.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -lseccomp -o $@

$(O)/obj/seccomp-lib/seccomp_filter.o: userspace/confine/seccomp/seccomp_filter.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(call comp_incs,confine) -DMOS_WITH_LIBSECCOMP -c $< -o $@

$(O)/obj/userspace/confine/seccomp/gen_seccomp.o: ALL_CFLAGS += -DMOS_WITH_LIBSECCOMP

# gen_seccomp needs the variant helpers, not the generated table itself.
$(O)/obj/userspace/confine/seccomp/seccomp_programs_build.o: userspace/confine/seccomp/seccomp_programs.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -DMOS_SECCOMP_VARIANTS_ONLY -c $< -o $@

$(O)/gen/seccomp_programs.h: $(SECCOMP_GEN)
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(SECCOMP_GEN) > $@

$(O)/obj/userspace/confine/seccomp/seccomp_programs.o: $(O)/gen/seccomp_programs.h

$(LIBMOS): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(MOSCTL): $(MOSCTL_OBJS) $(DLOPEN_OBJS) $(LIBMOS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(MOSCTL_LDLIBS) -o $@ $(LINK_LOG)

$(MOSD): $(MOSD_OBJS) $(LIBMOS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@ $(LINK_LOG)

# Unit tests: cmocka, pure (no kernel), linked with libmos.  They may also
# call the libseccomp builder (to check the precompiled programs).
$(O)/obj/tests/unit/%.o: ALL_CFLAGS += -DMOS_WITH_LIBSECCOMP
# test_rules answers every name lookup itself: a new address each time.
$(O)/tests/unit/test_rules: ALL_LDFLAGS += -Wl,--wrap=getaddrinfo -Wl,--wrap=freeaddrinfo
$(O)/tests/unit/%: $(O)/obj/tests/unit/%.o $(O)/obj/seccomp-lib/seccomp_filter.o $(LIBMOS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -lseccomp -lcmocka -o $@

# Selftests: TAP programs that run mosctl on real processes.
$(O)/selftests/%_test: $(O)/obj/selftests/%_test.o $(SELFTEST_COMMON_OBJS) $(LIBMOS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@ $(LINK_LOG)

# Helpers run inside sandboxes; built without sanitizers (RLIMIT_AS, seccomp).
# They may use the wire format's header (stream_relay), nothing else of libmos.
$(O)/selftests/helpers/%: selftests/helpers/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -Iinclude/uapi $(WARNINGS) -O2 -g $(LINKMODE) \
		$< -luring -lpthread -o $@

unit: $(UNIT_BINS)
selftests-build: $(MOSCTL) $(MOSD) $(SELFTEST_BINS) $(HELPER_BINS)

deps:
	$(Q)scripts/install-deps

run-unit: unit
	$(Q)tests/run-unit $(UNIT_BINS)

run-selftests: selftests-build
	$(Q)MOSCTL=$(abspath $(MOSCTL)) MOSD=$(abspath $(MOSD)) HELPERS=$(abspath $(O)/selftests/helpers) \
		selftests/run $(SELFTEST_BINS) --backend unotify $(SUPERVISED_BINS) \
			--root-backend bpf $(SUPERVISED_BINS)

# BPF programs (bpf/*.bpf.c): CO-RE objects and their libbpf skeletons, with
# a vmlinux.h from this machine's kernel BTF (the guest kernels relocate).
BPF_SRCS  := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS  := $(BPF_SRCS:bpf/%.bpf.c=$(O)/bpf/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(O)/bpf/%.skel.h)

$(O)/bpf/vmlinux.h:
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(O)/bpf/vmlinux.h $(wildcard include/uapi/mosingar/*.h bpf/*.h)
	$(call msg,BPF,$@)
	$(Q)clang -target bpf -D__TARGET_ARCH_x86 -O2 -g -Wall -Werror -I$(O)/bpf -Iinclude/uapi -c $< -o $@
	$(Q)llvm-strip -g $@

# (domain_ask_rcu.bpf.c is domain_ask.bpf.c with bpf_rcu_read_lock)
$(O)/bpf/domain_ask_rcu.bpf.o: bpf/domain_ask.bpf.c

$(O)/bpf/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)bpftool gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# Programs run inside guest kernels by tests/vm/run: static, no libraries
# (bpf_*: with libbpf, linked in, and the skeletons).
VM_GUEST_SRCS := $(sort $(wildcard tests/vm/*.c))
VM_GUEST_BINS := $(VM_GUEST_SRCS:tests/vm/%.c=$(O)/vm/%)
VM_BPF_BINS   := $(filter $(O)/vm/bpf_%,$(VM_GUEST_BINS))
# kmod_decider drives libmos's ask channel, which needs libmnl: Debian has
# no libmnl.a, so it is dynamic (tests/vm/run copies its libraries in).
VM_DYN_BINS   := $(O)/vm/kmod_decider

bpf-build: $(BPF_SKELS)

# libmos embeds programs (their .c files include the skeletons).
$(O)/obj/userspace/confine/bpf/bpf_lsm_probe.o: $(O)/bpf/probe_lsm.skel.h
$(O)/obj/userspace/confine/bpf/net_cgroup.o: $(O)/bpf/net_cgroup.skel.h
$(O)/obj/userspace/confine/bpf/lsm_domain.o: $(O)/bpf/domain_lsm.skel.h $(O)/bpf/domain_ask.skel.h \
	$(O)/bpf/domain_ask_rcu.skel.h

# bpf_run_backend is mosctl as well (its main linked in as mosctl_main), to
# run `mosctl run --backend bpf` in the guest, which has no libraries.
# Every bpf_* program links libmos (what it calls of it: bpf_lsm_domain
# drives lsm_domain.c itself) statically.
$(O)/obj/vm/mosctl_main.o: userspace/mosctl/main.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Dmain=mosctl_main -Wno-missing-prototypes -c $< -o $@
MOSCTL_CMD_OBJS := $(filter-out %/main.o,$(MOSCTL_OBJS))
$(O)/vm/bpf_run_backend: VM_EXTRA_OBJS := $(O)/obj/vm/mosctl_main.o $(MOSCTL_CMD_OBJS)
$(O)/vm/bpf_run_backend: VM_EXTRA_LIBS := -lssl -lcrypto -luring -lm
$(O)/vm/bpf_run_backend: $(O)/obj/vm/mosctl_main.o $(MOSCTL_CMD_OBJS)

$(VM_BPF_BINS): $(O)/vm/%: tests/vm/%.c $(BPF_SKELS) $(LIBMOS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARNINGS) -O2 -static -I$(O)/bpf $(ALL_COMP_INCS) \
		-Iinclude/uapi $< $(VM_EXTRA_OBJS) $(LIBMOS) \
		$(VM_EXTRA_LIBS) -lbpf -lelf -lz -lzstd -lpthread -o $@ 2> $@.log || \
		{ cat $@.log; exit 1; }
	$(Q)grep -v -e "statically linked applications requires at runtime" -e "in function" $@.log || true
# The guest kernels: bookworm's 6.1 and bookworm-backports' 6.12, with BPF LSM.
VM_KERNELS := 6.1 6.12

$(filter-out $(VM_BPF_BINS) $(VM_DYN_BINS),$(VM_GUEST_BINS)): $(O)/vm/%: tests/vm/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARNINGS) -O2 -static -Iinclude/uapi $< -o $@

$(VM_DYN_BINS): $(O)/vm/%: tests/vm/%.c $(BPF_SKELS) $(LIBMOS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARNINGS) -O2 -I$(O)/bpf $(ALL_COMP_INCS) \
		-Iinclude/uapi $< $(LIBMOS) $(LDLIBS) -o $@

vm-build: $(VM_GUEST_BINS)

# The selftest matrix in the guests: the sandbox suites on --backend bpf, as
# root (that backend needs root, as on the host), and attach_test (the BPF
# LSM path as root, the ptrace path as nobody), with a static mosctl, mosd
# and helpers built by a make of their own into build/vm-static.  One boot
# per kernel runs tests/vm/ and the suites; make T_TIMES=1 run-vm notes each
# test's time.
VM_STATIC        := build/vm-static
VM_SELFTEST_BINS := $(SUPERVISED_BINS:$(O)/%=$(VM_STATIC)/%) $(VM_STATIC)/selftests/attach_test
VM_SELFTEST_RUN  := --with $(VM_STATIC)/bin:/mos/bin \
	--with $(VM_STATIC)/selftests/helpers:/mos/helpers \
	--env MOSCTL=/mos/bin/mosctl --env HELPERS=/mos/helpers --env MOS_TEST_BACKEND=bpf \
	$(if $(T_TIMES),--env T_TIMES=1) --program-timeout 150 --timeout 300

vm-selftests-build:
	$(Q)$(MAKE) --no-print-directory STATIC=1 O=$(VM_STATIC) vm-static-parts

# (in that make, $(O) is build/vm-static)
vm-static-parts: $(MOSCTL) $(MOSD) $(SUPERVISED_BINS) $(O)/selftests/attach_test $(HELPER_BINS)

# The module of each guest kernel goes in as /mos/kmod/RELEASE.ko
# (tests/vm/kmod_*.c load the one of the kernel they run on).
run-vm: vm-build vm-selftests-build kmod
	$(Q)st=0; kmods=; for ko in build/kmod/*/mosingar.ko; do \
		r=$${ko%/mosingar.ko}; kmods="$$kmods --with $$ko:/mos/kmod/$${r##*/}.ko"; \
	done; for k in $(VM_KERNELS); do \
		tests/vm/run --backports --kernel $$k $(VM_SELFTEST_RUN) $$kmods \
			$(VM_GUEST_BINS) $(VM_SELFTEST_BINS) \
			--uids 65534 $(VM_STATIC)/selftests/attach_test || st=1; \
	done; exit $$st

# The optional module (kmod/, Documentation/kmod.md): make kmod builds
# build/kmod/RELEASE/mosingar.ko against the Debian headers of each of
# KMOD_KERNELS (fetched once by scripts/kernel-headers), or against KDIR.
# make kunit runs its KUnit suite in a UML kernel built from Debian's
# linux-source-6.1 (scripts/kunit; the tree and build stay in the cache).
KMOD_KERNELS ?= $(VM_KERNELS)

kmod:
	$(Q)scripts/build-kmod $(if $(KDIR),--kdir $(KDIR),$(KMOD_KERNELS))

kunit:
	$(Q)scripts/kunit

# Benchmarks (bench/, not part of `make check`): the host loops that
# bench/enforce runs under mosctl, and enforce_guest, which it runs in the
# guest kernels (static, like the tests/vm/bpf_* programs: libbpf, the
# file_lsm skeleton and libmos's supervisor linked in).
BENCH_HOST_BINS := $(O)/bench/open_loop $(O)/bench/connect_loop
BENCH_GUEST_BIN := $(O)/bench/enforce_guest

$(BENCH_HOST_BINS): $(O)/bench/%: bench/%.c bench/loops.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARNINGS) -O2 $< -o $@

# The BPF LSM program enforce_guest loads: bench/file_lsm.bpf.c, the file
# rules as they were when its figures were taken (bpf/ has moved on to
# domain_lsm.bpf.c), built like bpf/'s.
BENCH_BPF_SKEL := $(O)/bench/bpf/file_lsm.skel.h

$(O)/bench/bpf/file_lsm.bpf.o: bench/file_lsm.bpf.c $(O)/bpf/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)clang -target bpf -D__TARGET_ARCH_x86 -O2 -g -Wall -Werror -I$(O)/bpf -c $< -o $@
	$(Q)llvm-strip -g $@

$(BENCH_BPF_SKEL): $(O)/bench/bpf/file_lsm.bpf.o
	$(call msg,SKEL,$@)
	$(Q)bpftool gen skeleton $< name file_lsm_bpf > $@.tmp && mv $@.tmp $@

$(BENCH_GUEST_BIN): bench/enforce_guest.c bench/loops.h $(LIBMOS) $(BENCH_BPF_SKEL) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARNINGS) -O2 -static -I$(O)/bench/bpf -I$(O)/bpf \
		-Iinclude/uapi $(ALL_COMP_INCS) -Ibench \
		$< $(LIBMOS) -lbpf -lelf -lz -lzstd -lpthread -o $@ 2> $@.log || \
		{ cat $@.log; exit 1; }
	$(Q)grep -v -e "statically linked applications requires at runtime" -e "in function" $@.log || true

# bench/unotify's part 1: the supervisor driven directly, libmos linked in.
$(O)/bench/unotify_open: bench/unotify_open.c $(LIBMOS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARNINGS) -O2 -Iinclude/uapi $(ALL_COMP_INCS) \
		$< $(LIBMOS) $(LDLIBS) -o $@

bench-build: $(BENCH_HOST_BINS) $(BENCH_GUEST_BIN) $(O)/bench/unotify_open

# Fuzzing (Documentation/fuzzing.md): one libFuzzer program per surface that
# reads untrusted bytes, fuzz/fuzz_*.c.  A make of its own (FUZZ=1) builds
# them and every object they link, libmos included, into build/fuzz with
# clang's coverage instrumentation, ASan and UBSan; the normal build is
# untouched.  Corpora: fuzz/corpus/TARGET (committed seeds and minimized
# finds); what a run finds goes to build/fuzz/corpus/TARGET until
# `make fuzz-merge` folds it into fuzz/corpus; crash reproducers, once
# fixed, live in fuzz/crashes/TARGET and must never crash again.
FUZZ_SRCS    := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS := $(FUZZ_SRCS:fuzz/%.c=%)
FUZZ_BUILD   := build/fuzz
FUZZ_TIME    ?= 60
FUZZ_CHECK_TIME ?= 8

$(O)/bin/fuzz_%: $(O)/obj/fuzz/fuzz_%.o $(O)/obj/fuzz/common.o $(LIBMOS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

# The seeds: fuzz/seeds.c writes each target's first inputs (make fuzz-seeds).
$(O)/bin/fuzz-seeds: $(O)/obj/fuzz/seeds.o $(LIBMOS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LDLIBS) -o $@

# (in that make, $(O) is build/fuzz)
fuzz-bins: $(FUZZ_TARGETS:%=$(O)/bin/%) $(O)/bin/fuzz-seeds

fuzz-build:
	$(Q)$(MAKE) --no-print-directory FUZZ=1 O=$(FUZZ_BUILD) fuzz-bins

# make fuzz [FUZZ_TIME=SECONDS] [FUZZ_TARGETS="fuzz_wire ..."]
fuzz: fuzz-build
	$(Q)scripts/fuzz run $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-seeds: fuzz-build
	$(Q)$(FUZZ_BUILD)/bin/fuzz-seeds fuzz/corpus .

fuzz-merge: fuzz-build
	$(Q)scripts/fuzz merge $(FUZZ_BUILD) 0 $(FUZZ_TARGETS)

fuzz-check: fuzz-build
	$(Q)scripts/fuzz check $(FUZZ_BUILD) $(FUZZ_CHECK_TIME) $(FUZZ_TARGETS)

# `make check`: dependencies, then every test, then the sanitizer build of
# the unit tests and of mosctl under the selftests, then the guest kernels.
check: deps
	$(Q)$(MAKE) --no-print-directory check-layers
	$(Q)$(MAKE) --no-print-directory all unit selftests-build vm-build vm-selftests-build
	$(Q)$(MAKE) --no-print-directory run-unit
	$(Q)$(MAKE) --no-print-directory run-selftests
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 run-unit run-selftests
	$(Q)$(MAKE) --no-print-directory fuzz-check
	$(Q)$(MAKE) --no-print-directory run-vm
	$(Q)$(MAKE) --no-print-directory kunit

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo $(abspath $(MOSCTL))

install: $(MOSCTL) $(MOSD)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(MOSCTL) $(DESTDIR)$(PREFIX)/bin/mosctl
	install -m 0755 $(MOSD) $(DESTDIR)$(PREFIX)/bin/mosd
	install -m 0644 Documentation/mosctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/mosctl.1
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 Documentation/mosd.8 $(DESTDIR)$(PREFIX)/share/man/man8/mosd.8

format:
	clang-format -i $(LIB_SRCS) $(DLOPEN_SRCS) $(MOSCTL_SRCS) $(MOSD_SRCS) $(shell find userspace -name '*.h') \
		$(UNIT_SRCS) $(wildcard selftests/*.c selftests/*.h selftests/helpers/*.c) \
		$(wildcard fuzz/*.c fuzz/*.h)

clean:
	rm -rf build

.PHONY: all check-layers unit selftests-build deps run-unit run-selftests check demo install vm-build run-vm bpf-build kmod kunit \
	vm-selftests-build vm-static-parts bench-build \
	fuzz fuzz-bins fuzz-build fuzz-seeds fuzz-merge fuzz-check format clean

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
