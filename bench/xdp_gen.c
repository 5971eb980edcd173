// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * byPassRT benchmark only (never on the product path): the traffic generator's XDP programs.
 *
 *   bpb_gen   run through BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES (ffi/helper.c
 *             bpx_live_frames): counts the frame and returns XDP_TX, which the live-frames test
 *             run turns into a transmit out of the generator's veth, i.e. into the device veth.
 *   bpb_sink  attached to the generator's veth: counts and drops the benchmark's UDP frames that
 *             come back (l2fwd: destination port SINK_PORT) and passes everything else (ARP, ping,
 *             the latency probes) to the kernel. Being attached also gives this veth the NAPI
 *             context that frames XDP sends into it need.
 *
 * counters[0] = frames generated, counters[1] = benchmark frames that came back.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define SINK_PORT 9000

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

SEC("xdp")
int bpb_gen(struct xdp_md *ctx)
{
	count(0);
	return XDP_TX;
}

SEC("xdp")
int bpb_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	struct udphdr *udp;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end || iph->ihl != 5 || iph->protocol != IPPROTO_UDP)
		return XDP_PASS;
	udp = (void *)(iph + 1);
	if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(SINK_PORT))
		return XDP_PASS;
	count(1);
	return XDP_DROP;
}

char _license[] SEC("license") = "Dual BSD/GPL";
