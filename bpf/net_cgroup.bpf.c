// SPDX-License-Identifier: GPL-2.0-only
/*
 * net_cgroup.bpf.c - the bpf backend's network rules where the BPF LSM is
 * not available: cgroup BPF on the sandbox's own cgroup v2 directory.
 * connect and sendmsg (unconnected UDP) must match an allowed address and
 * port (or a port on any address), bind an allowed port; a refusal is
 * EACCES, as under Landlock and the supervisor.  IPv4-mapped IPv6
 * addresses are judged as IPv4.  socket() itself (sock_create) may make
 * only TCP sockets, and UDP ones with --allow-udp: raw, ICMP, MPTCP, SCTP
 * and the rest fail with EPERM, as under the seccomp filter.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define EACCES 13
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define SOCK_STREAM_ 1 /* vmlinux.h's enum sock_type would clash with libc's names */
#define SOCK_DGRAM_ 2

char LICENSE[] SEC("license") = "GPL";

/* The same layout as userspace/confine/bpf/net_cgroup.c's, which fills the maps. */
struct net_rule_key {
	__u8 family; /* AF_INET, AF_INET6, or 0: any address */
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u16 port;  /* host order */
	__u8 addr[16];
};

struct net_config {
	__u8 udp_anywhere; /* --allow-udp without --net-allow rules */
	__u8 udp;	   /* --allow-udp */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct net_rule_key);
	__type(value, __u8);
} allow_connect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* (proto << 16) | port */
	__type(value, __u8);
} allow_bind SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_config);
} net_config SEC(".maps");

__u64 denied = 0;

static int deny(void)
{
	__sync_fetch_and_add(&denied, 1);
	bpf_set_retval(-EACCES);
	return 0;
}

static const struct net_config *cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&net_config, &zero);
}

/* PROTO to (FAMILY, ADDR) port PORT: a rule for that address, or any. */
static int allowed(__u8 family, const __u8 *addr, __u8 proto, __u16 port)
{
	struct net_rule_key k = { .family = family, .proto = proto, .port = port };
	const struct net_config *c = cfg();

	if (proto == IPPROTO_UDP && c && c->udp_anywhere)
		return 1;
	if (proto == IPPROTO_UDP && !(c && c->udp))
		return 0;
	__builtin_memcpy(k.addr, addr, 16);
	if (bpf_map_lookup_elem(&allow_connect, &k))
		return 1;
	__builtin_memset(k.addr, 0, 16);
	k.family = 0;
	return bpf_map_lookup_elem(&allow_connect, &k) != NULL;
}

static int check4(struct bpf_sock_addr *ctx)
{
	__u8 addr[16] = {};
	__u32 ip = ctx->user_ip4;

	__builtin_memcpy(addr, &ip, 4);
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return 1;
	return allowed(AF_INET, addr, ctx->protocol, bpf_ntohs(ctx->user_port)) ? 1 : deny();
}

static int check6(struct bpf_sock_addr *ctx)
{
	__u8 addr[16] = {};
	__u32 w[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };
	__u8 family = AF_INET6;

	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return 1;
	if (!w[0] && !w[1] && w[2] == bpf_htonl(0xffff)) {
		/* v4-mapped: judged as the IPv4 address */
		family = AF_INET;
		__builtin_memcpy(addr, &w[3], 4);
	} else {
		__builtin_memcpy(addr, w, 16);
	}
	return allowed(family, addr, ctx->protocol, bpf_ntohs(ctx->user_port)) ? 1 : deny();
}

static int check_bind(struct bpf_sock_addr *ctx)
{
	__u32 key = ((__u32)ctx->protocol << 16) | bpf_ntohs(ctx->user_port);
	const struct net_config *c = cfg();

	if (ctx->protocol == IPPROTO_UDP)
		return c && c->udp ? 1 : deny();
	if (ctx->protocol != IPPROTO_TCP)
		return 1;
	return bpf_map_lookup_elem(&allow_bind, &key) ? 1 : deny();
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	return check4(ctx);
}

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx)
{
	return check6(ctx);
}

SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx)
{
	return check4(ctx);
}

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx)
{
	return check6(ctx);
}

SEC("cgroup/bind4")
int bind4(struct bpf_sock_addr *ctx)
{
	return check_bind(ctx);
}

SEC("cgroup/bind6")
int bind6(struct bpf_sock_addr *ctx)
{
	return check_bind(ctx);
}

/* Which IPv4/IPv6 sockets may exist at all (other families are not seen). */
SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk)
{
	const struct net_config *c = cfg();

	if (sk->family != AF_INET && sk->family != AF_INET6)
		return 1;
	if (sk->type == SOCK_STREAM_ && sk->protocol == IPPROTO_TCP)
		return 1;
	if (sk->type == SOCK_DGRAM_ && sk->protocol == IPPROTO_UDP && c && c->udp)
		return 1;
	__sync_fetch_and_add(&denied, 1);
	return 0; /* socket() fails with EPERM */
}
