/**
 * Built-in `inspect`: every frame goes through user space, is counted by protocol and handed back
 * to the kernel stack unchanged (`b.toKernel`), which handles it as if byPassRT were not there.
 * `--mode inspect` loads this file; with `--pcap` every frame is also captured. Counters: `arp`,
 * `ipv4_icmp`, `ipv4_tcp`, `ipv4_udp`, `ipv6`, `other` (VLAN-tagged frames included).
 *
 * @module
 */
import type { Handler } from "../engine/handler.ts";

const ARP = 0, ICMP = 1, TCP = 2, UDP = 3, IPV6 = 4, OTHER = 5;

export default {
  counters: ["arp", "ipv4_icmp", "ipv4_tcp", "ipv4_udp", "ipv6", "other"],
  toKernel: true,
  burst(b, ctx) {
    const n = b.length, m = b.bytes, c = ctx.counters;
    for (let i = 0; i < n; i++) {
      const s = b.start(i), type = b.size(i) >= 14 ? (m[s + 12] << 8) | m[s + 13] : 0;
      if (type === 0x0800 && b.size(i) >= 34) {
        const p = m[s + 23];
        c[p === 1 ? ICMP : p === 6 ? TCP : p === 17 ? UDP : OTHER]++;
      } else if (type === 0x0806) c[ARP]++;
      else if (type === 0x86dd) c[IPV6]++;
      else c[OTHER]++;
      b.toKernel(i);
    }
  },
} satisfies Handler;
