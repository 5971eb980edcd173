// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * byPassRT benchmark only: the "kernel alone" ceiling. Attached to the device veth, it counts
 * every frame (counters[0]) and drops it: no AF_XDP, no user space.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
int bpb_drop(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *c = bpf_map_lookup_elem(&counters, &key);

	if (c)
		*c += 1;
	return XDP_DROP;
}

char _license[] SEC("license") = "Dual BSD/GPL";
