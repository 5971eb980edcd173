/**
 * Built-in `respond`: answer ARP and ICMP echo requests for the address in `options.ip`
 * ("A.B.C.D") from user space, as the Linux kernel would (see `respondInPlace`), and drop every
 * other frame. Its counters are the drop reasons, one per name of `DROP_REASON_NAMES`.
 * `--mode respond --ip A.B.C.D` loads this file.
 *
 * @module
 */
import type { Handler } from "../engine/handler.ts";
import { DROP_REASON_NAMES, parseIPv4, respondInPlace } from "../packet/mod.ts";

let ip = 0;

export default {
  // Reason code c (1..) counts in slot c - 1.
  counters: DROP_REASON_NAMES.slice(1),
  init(ctx) {
    ip = parseIPv4(String(ctx.options.ip));
  },
  burst(b, ctx) {
    const bytes = b.bytes, mac = ctx.mac, drops = ctx.counters, n = b.length;
    for (let i = 0; i < n; i++) {
      const r = respondInPlace(bytes, b.start(i), b.size(i), ip, mac);
      if (r > 0) {
        b.send(i, r);
      } else {
        drops[-r - 1]++;
        b.drop(i);
      }
    }
  },
} satisfies Handler;
