/**
 * Built-in `respond`: answer ARP and ICMP echo requests for the address in `options.ip`
 * ("A.B.C.D"), and Neighbor Solicitations and ICMPv6 echo requests for `options.ip6` (RFC 4291
 * text), from user space, as the Linux kernel would (see `respondInPlace`; with `options.vlan`
 * also in any VLAN, see `respondInVlan`), and drop every other frame. Either address may be
 * absent. Its counters are the drop reasons, one per name of
 * `DROP_REASON_NAMES`. `--mode respond --ip A.B.C.D --ip6 ADDR` loads this file.
 *
 * @module
 */
import type { Handler } from "../engine/handler.ts";
import {
  DROP_REASON_NAMES,
  parseIPv4,
  parseIPv6,
  respondInPlace,
  respondInVlan,
} from "../packet/mod.ts";

let ip = 0;
let ip6: Uint8Array | undefined;
let vlan = false;

export default {
  // Reason code c (1..) counts in slot c - 1.
  counters: DROP_REASON_NAMES.slice(1),
  init(ctx) {
    ip = ctx.options.ip === undefined ? 0 : parseIPv4(String(ctx.options.ip));
    ip6 = ctx.options.ip6 === undefined ? undefined : parseIPv6(String(ctx.options.ip6));
    vlan = ctx.options.vlan === true;
  },
  burst(b, ctx) {
    const bytes = b.bytes, mac = ctx.mac, drops = ctx.counters, n = b.length;
    const frameSize = ctx.frameSize;
    for (let i = 0; i < n; i++) {
      const off = b.start(i);
      // A reply may grow up to the end of the frame's buffer (an NA answering a DAD probe).
      const cap = frameSize - (off % frameSize);
      const r = vlan
        ? respondInVlan(bytes, off, b.size(i), ip, mac, ip6, cap)
        : respondInPlace(bytes, off, b.size(i), ip, mac, ip6, cap);
      if (r > 0) {
        b.send(i, r);
      } else {
        drops[-r - 1]++;
        b.drop(i);
      }
    }
  },
} satisfies Handler;
