// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * byPassRT steering program: decides, per frame, whether it goes to the AF_XDP socket bound to
 * the frame's RX queue (XDP_REDIRECT through xsks_map) or to the kernel stack (XDP_PASS).
 *
 * Steering (set by user space in `config` before attach):
 *   - steer_all = 1: every frame is redirected;
 *   - otherwise only untagged IPv4/UDP and IPv6/UDP frames whose destination port is set in
 *     `udp_ports`, plus, when respond_ip != 0, ARP frames whose target protocol address is
 *     respond_ip and ICMP echo requests addressed to respond_ip, and, when has_ip6, ICMPv6
 *     Neighbor Solicitations whose target is respond_ip6 (whatever the destination: unicast or
 *     its solicited-node group) and ICMPv6 echo requests to respond_ip6; respond's frames also
 *     behind one priority tag (802.1Q or 802.1ad, VLAN id 0). Every other ARP/ND frame (for the
 *     kernel's own addresses, replies to the kernel's requests) and every other tagged frame
 *     goes to the kernel.
 *   - vlan = 1: a frame behind one 802.1Q/802.1ad tag (any VLAN id) is steered by its inner
 *     header exactly as an untagged one (UDP ports, respond's ARP/ND/ICMP); two tags go to the
 *     kernel.
 * IPv6 extension headers: up to IP6_MAX_EXT Hop-by-Hop, Routing and Destination Options headers
 * are walked to find UDP/ICMPv6; a Fragment header, any other extension header or a longer chain
 * leaves the frame to the kernel (a non-first fragment has no port to match, and user space does
 * not reassemble).
 * A frame that should be redirected but has no socket on its queue is dropped and counted, so
 * the kernel never answers in our place. Every header read is bounds-checked against data_end.
 *
 * Blocklist (checked first, for every frame, steered or not, so it shields the kernel too): the
 * IPv4 or IPv6 source address (untagged or behind one 802.1Q/802.1ad tag) is looked up in an
 * LPM trie per family (`block_v4`, `block_v6`); a hit drops the frame and counts it in the
 * per-CPU slot `block_counts[value]` and in CNT_BLOCKED. LPM values cannot be per-CPU, so the
 * value is an index that user space allocates. Sizes are set by user space before load
 * (--block-max, default 1 << 20): the tries allocate per prefix (BPF_F_NO_PREALLOC), the counter
 * array is allocated up front: entries x (8 bytes x possible CPUs + an 8-byte pointer), so
 * 1 << 20 entries take 24 MiB on 2 CPUs, 1 GiB on 128 (the kernel's memlock figure).
 *
 * Timestamps (`stamp_frames`, read-only data set by user space before load, so the verifier
 * removes the code when it is 0): each frame about to be redirected gets 8 bytes of XDP
 * metadata (bpf_xdp_adjust_meta) holding bpf_ktime_get_ns() (CLOCK_MONOTONIC), which lands in
 * the UMEM just before the frame (user space reads the u64 at addr - 8). A driver without
 * metadata support refuses adjust_meta: the frame goes on unstamped.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_QUEUES 64
#define ICMP_ECHO 8
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_NEIGHBOR_SOLICIT 135
#define IP6_MAX_EXT 4
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_DEST 60

/* An 802.1Q/802.1ad tag after the MAC addresses (linux/if_vlan.h is not a UAPI header). */
struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

#define VLAN_VID_MASK 0x0fff

/* IPv4-over-Ethernet ARP body (RFC 826); byte arrays, so no field needs alignment. */
struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 oper;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
};

/* linux/icmp.h drags in libc headers; the first two bytes are all we read. */
struct icmp_head {
	__u8 type;
	__u8 code;
	__u16 checksum;
};

/* An IPv6 extension header's first two bytes (length in 8-octet units, not counting the first). */
struct ip6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
};

/* ICMPv6 Neighbor Solicitation (RFC 4861 4.3) up to its target address. */
struct nd_ns_head {
	__u8 type;
	__u8 code;
	__u16 checksum;
	__u32 reserved;
	__u8 target[16];
};

/* Layout checked by engine/xdp_program.ts (32 bytes). */
struct bypass_config {
	__u32 steer_all;      /* 1: redirect every frame */
	__u32 respond_ip;     /* network order; 0: no ARP/ICMP steering */
	__u32 vlan;           /* 1: steer 802.1Q/802.1ad-tagged frames by their inner header */
	__u32 has_ip6;        /* 1: steer ND/ICMPv6 echo for respond_ip6 */
	__u8 respond_ip6[16]; /* network order */
};

/* 1: stamp each redirected frame (set by engine/xdp_program.ts before load; --no-timestamps: 0). */
const volatile __u32 stamp_frames = 0;

enum { CNT_REDIRECTED = 0, CNT_PASSED = 1, CNT_DROPPED = 2, CNT_BLOCKED = 3, CNT_MAX = 4 };

/* Default blocklist capacity; user space resizes the three maps before load. */
#define BLOCK_MAX (1 << 20)

struct lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bypass_config);
} config SEC(".maps");

/* One byte per UDP destination port: 1 = steer to user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} udp_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Source prefixes to drop: value = index into block_counts. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BLOCK_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4);
	__type(value, __u32);
} block_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BLOCK_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6);
	__type(value, __u32);
} block_v6 SEC(".maps");

/* Frames dropped per blocked prefix (index from block_v4/block_v6), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BLOCK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} block_counts SEC(".maps");

static __always_inline int count(__u32 idx, int action)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
	return action;
}

/* The Ethernet header and at most one 802.1Q/802.1ad tag, parsed once per frame. */
struct l2 {
	void *l3;	  /* first byte after the Ethernet header (and the tag) */
	void *data_end;
	__be16 proto;	  /* EtherType of l3 */
	__be16 tci;	  /* the tag's TCI (network order); 0 when untagged */
	int tagged;
};

/* 0 if the frame is too short for its Ethernet header (or its tag). */
static __always_inline int parse_l2(struct xdp_md *ctx, struct l2 *l2)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__be16 proto;

	if (l3 > data_end)
		return 0;
	proto = eth->h_proto;
	l2->tci = 0;
	l2->tagged = 0;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_tag *tag = l3;

		if ((void *)(tag + 1) > data_end)
			return 0;
		l2->tci = tag->tci;
		l2->tagged = 1;
		proto = tag->proto;
		l3 = tag + 1;
	}
	l2->l3 = l3;
	l2->data_end = data_end;
	l2->proto = proto;
	return 1;
}

/* 1 if the frame's source address is in the blocklist (its prefix's counter is bumped). */
static __always_inline int blocked(const struct l2 *l2)
{
	void *l3 = l2->l3;
	void *data_end = l2->data_end;
	__be16 proto = l2->proto;
	__u32 *idx = 0;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l3;
		struct lpm_v4 key = { .prefixlen = 32 };

		if ((void *)(iph + 1) > data_end)
			return 0;
		__builtin_memcpy(key.addr, &iph->saddr, 4);
		idx = bpf_map_lookup_elem(&block_v4, &key);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		struct lpm_v6 key = { .prefixlen = 128 };

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		__builtin_memcpy(key.addr, &ip6->saddr, 16);
		idx = bpf_map_lookup_elem(&block_v6, &key);
	}
	if (!idx)
		return 0;
	{
		__u32 slot = *idx;
		__u64 *c = bpf_map_lookup_elem(&block_counts, &slot);

		if (c)
			*c += 1;
	}
	return 1;
}

static __always_inline int ip6_equal(const __u8 *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* 1 if the UDP destination port at `udp` is steered. */
static __always_inline int udp_wanted(struct udphdr *udp, void *data_end)
{
	__u8 *on;
	__u32 port;

	if ((void *)(udp + 1) > data_end)
		return 0;
	port = bpf_ntohs(udp->dest);
	on = bpf_map_lookup_elem(&udp_ports, &port);
	return on && *on;
}

/* IPv6: UDP by port (when `udp` is set), ND and echo for respond_ip6. */
static __always_inline int ip6_wanted(struct ipv6hdr *ip6, void *data_end,
				      const struct bypass_config *cfg, int udp)
{
	void *l4 = ip6 + 1;
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return 0;
	next = ip6->nexthdr;
#pragma unroll
	for (i = 0; i < IP6_MAX_EXT; i++) {
		struct ip6_ext *ext = l4;

		if (next != NEXTHDR_HOP && next != NEXTHDR_ROUTING && next != NEXTHDR_DEST)
			break;
		if ((void *)(ext + 1) > data_end)
			return 0;
		next = ext->nexthdr;
		l4 += (ext->hdrlen + 1) * 8;
	}
	if (next == IPPROTO_UDP)
		return udp && udp_wanted(l4, data_end);
	if (next != IPPROTO_ICMPV6 || !cfg->has_ip6)
		return 0;
	{
		struct nd_ns_head *ns = l4;

		if ((void *)ns + 4 > data_end)
			return 0;
		if (ns->type == ICMPV6_ECHO_REQUEST)
			return ip6_equal(ip6->daddr.in6_u.u6_addr8, cfg->respond_ip6);
		if (ns->type != ICMPV6_NEIGHBOR_SOLICIT || (void *)(ns + 1) > data_end)
			return 0;
		return ip6_equal(ns->target, cfg->respond_ip6);
	}
}

/* 1 if the frame belongs to user space under the current config. */
static __always_inline int wanted(const struct l2 *l2, const struct bypass_config *cfg)
{
	void *l3 = l2->l3;
	void *data_end = l2->data_end;
	__be16 proto = l2->proto;
	int udp = 1; /* UDP steering applies (untagged, or any tag with vlan) */
	struct iphdr *iph;

	if (cfg->steer_all)
		return 1;
	if (!l3)
		return 0;
	/*
	 * With vlan: one tag of any VLAN id, steered by the inner header. Without: one priority tag
	 * (VLAN id 0, either TPID), which the kernel takes as untagged, so respond answers it too;
	 * any other tag goes to the kernel (a VLAN device may want it).
	 */
	if (l2->tagged) {
		if (!cfg->vlan) {
			if ((!cfg->respond_ip && !cfg->has_ip6) || (l2->tci & bpf_htons(VLAN_VID_MASK)))
				return 0;
			udp = 0;
		}
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
			return 0;
	}
	if (proto == bpf_htons(ETH_P_IPV6))
		return ip6_wanted(l3, data_end, cfg, udp);
	if (proto == bpf_htons(ETH_P_ARP)) {
		struct arp_eth_ipv4 *arp = l3;
		__u32 tpa;

		/* Too short to name a target: the kernel drops it as well. */
		if (!cfg->respond_ip || (void *)(arp + 1) > data_end)
			return 0;
		__builtin_memcpy(&tpa, arp->tpa, 4);
		return tpa == cfg->respond_ip;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return 0;
	iph = l3;
	if ((void *)(iph + 1) > data_end || iph->ihl < 5)
		return 0;
	if (iph->protocol == IPPROTO_UDP)
		return udp && udp_wanted((void *)iph + iph->ihl * 4, data_end);
	if (iph->protocol == IPPROTO_ICMP && cfg->respond_ip && iph->daddr == cfg->respond_ip) {
		struct icmp_head *icmp = (void *)iph + iph->ihl * 4;

		/* Truncated ICMP still goes up: user space counts it as malformed. */
		if ((void *)(icmp + 1) > data_end)
			return 1;
		return icmp->type == ICMP_ECHO;
	}
	return 0;
}

/* Write bpf_ktime_get_ns() into 8 bytes of metadata before the frame; no-op if refused. */
static __always_inline void stamp(struct xdp_md *ctx)
{
	__u64 *meta;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u64)) != 0)
		return;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return;
	*meta = bpf_ktime_get_ns();
}

/*
 * "xdp.frags": libbpf loads the program with BPF_F_XDP_HAS_FRAGS, so it may be attached natively
 * to an interface whose frames span several buffers (veth refuses a non-frags program when the
 * peer's MTU is above 3506). The code is the same: it parses headers in the linear part
 * (ctx->data .. ctx->data_end) only, which holds at least the first chunk of every frame, and
 * never touches the fragments; a single-buffer frame takes exactly the same path as before.
 */
SEC("xdp.frags")
int bypass_steer(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct bypass_config *cfg;
	struct l2 l2 = {};

	/* A runt keeps l2.l3 == 0: never blocked, steered only under steer_all. */
	parse_l2(ctx, &l2);
#ifndef BYPASS_NO_BLOCKLIST /* defined only by the benchmark's reference build */
	if (l2.l3 && blocked(&l2))
		return count(CNT_BLOCKED, XDP_DROP);
#endif
	cfg = bpf_map_lookup_elem(&config, &key);
	if (!cfg || !wanted(&l2, cfg))
		return count(CNT_PASSED, XDP_PASS);
	if (stamp_frames)
		stamp(ctx);
	if (bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_DROP) == XDP_REDIRECT)
		return count(CNT_REDIRECTED, XDP_REDIRECT);
	return count(CNT_DROPPED, XDP_DROP);
}

char _license[] SEC("license") = "Dual BSD/GPL";
