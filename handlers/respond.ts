/**
 * Built-in `respond`: answer ARP and ICMP echo requests for the address in `options.ip`
 * ("A.B.C.D"), and Neighbor Solicitations and ICMPv6 echo requests for `options.ip6` (RFC 4291
 * text), from user space, as the Linux kernel would (see `respondInPlace`; with `options.vlan`
 * also in any VLAN, see `respondInVlan`), and drop every other frame. Either address may be
 * absent. Its counters are the drop reasons, one per name of
 * `DROP_REASON_NAMES`. `--mode respond --ip A.B.C.D --ip6 ADDR` loads this file.
 *
 * While idle it keeps its reply code warm: every {@link REHEARSE_EVERY}th idle call answers a
 * ping to `options.ip` on scratch memory (no frame, no counter, nothing sent). At 1000 pings a
 * second the reply's code would otherwise run once a millisecond, after the CPU's caches lost it
 * (BENCHMARKS.md, "Keeping the frame path warm"). A handler of your own with a long per-frame
 * path can do the same in its `idle`.
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
  writeEchoRequest,
} from "../packet/mod.ts";

/** Idle calls between two rehearsals of a reply (a power of two). */
export const REHEARSE_EVERY = 64;

let ip = 0;
let ip6: Uint8Array | undefined;
let vlan = false;
/** A ping to `ip` (ping's size; built in `init`, empty without `ip`). */
let request = new Uint8Array(0);
/** Where a rehearsal answers `request`. */
const scratch = new Uint8Array(128);
let idleCalls = 0;

export default {
  // Reason code c (1..) counts in slot c - 1.
  counters: DROP_REASON_NAMES.slice(1),
  init(ctx) {
    ip = ctx.options.ip === undefined ? 0 : parseIPv4(String(ctx.options.ip));
    ip6 = ctx.options.ip6 === undefined ? undefined : parseIPv6(String(ctx.options.ip6));
    vlan = ctx.options.vlan === true;
    request = new Uint8Array(0);
    if (ip !== 0) {
      request = new Uint8Array(98);
      writeEchoRequest(request, 0, {
        srcMac: Uint8Array.of(2, 0, 0, 0, 0, 2),
        dstMac: ctx.mac,
        srcIp: ip === 0xc0000202 ? 0xc0000203 : 0xc0000202, // TEST-NET-1, not us
        dstIp: ip,
        id: 1,
        seq: 1,
        payloadLen: 56,
      });
    }
  },
  idle(ctx) {
    if (request.length === 0 || (++idleCalls & (REHEARSE_EVERY - 1)) !== 0) return;
    scratch.set(request);
    const n = request.length;
    if (vlan) respondInVlan(scratch, 0, n, ip, ctx.mac, ip6, scratch.length);
    else respondInPlace(scratch, 0, n, ip, ctx.mac, ip6, scratch.length);
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
