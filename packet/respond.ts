/**
 * The user-space ARP/ICMP/ICMPv6 responder entry point: classifies a received frame by ethertype and
 * rewrites it in place into a reply to send back out the same port, or reports why not.
 * Hot path: no allocation.
 * @module
 */

import { respondArp } from "./arp.ts";
import { DropReason } from "./drop.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ether.ts";
import { echoReplyFast, respondIcmpEcho } from "./icmp.ts";
import { respondIcmp6 } from "./icmp6.ts";
import { l3EtherType } from "./_l2.ts";

/**
 * Answers ARP requests for `ip` and ICMPv4 echo requests to `ip` by rewriting the frame at
 * `buf[off, off+len)` in place, as the Linux kernel would answer them (see `respondArp`,
 * `respondIcmpEcho`), and, when `ip6` is given, Neighbor Solicitations for `ip6` and ICMPv6 echo
 * requests to it (see `respondIcmp6`). Returns the reply length (> 0; the reply starts at `off`;
 * never more than `len` for IPv4/ARP, at most `cap` for IPv6) or `-DropReason.X` (< 0) if the
 * frame must not be answered, in which case the frame is left unmodified. Never reads outside
 * `[off, off+len)` nor writes outside `[off, off+max(len, cap))`.
 *
 * A frame behind one priority tag (802.1Q or 802.1ad, VLAN id 0) is dispatched on its inner
 * ethertype and answered untagged, as the kernel does; other tags are `-vlan`.
 *
 * Preconditions (not checked, hot path): `off`/`len` are integers with
 * `0 <= off`, `off + len <= buf.length`; `mac` holds 6 bytes; `ip` is a host-order u32 (a
 * signed int32 is normalised with `>>> 0`). See `DropReason` for exactly what is answered.
 *
 * @param ip our IPv4 address, host-order u32
 * @param mac our MAC, 6 bytes
 * @param ip6 our IPv6 address, 16 bytes (default: none, IPv6 frames are `-ipv6`)
 * @param cap bytes writable from `off` [len]
 * @example
 * ```ts
 * const drops = new Float64Array(DROP_REASON_NAMES.length);
 * const n = respondInPlace(umem, off, len, parseIPv4("192.0.2.1"), parseMac("02:00:00:00:00:01"));
 * if (n > 0) tx(off, n);
 * else drops[-n]++;
 * ```
 */
export function respondInPlace(
  buf: Uint8Array,
  off: number,
  len: number,
  ip: number,
  mac: Uint8Array,
  ip6?: Uint8Array,
  cap: number = len,
): number {
  // A plain ping to us, the commonest frame here, in a few cache lines of code.
  const fast = echoReplyFast(buf, off, len, ip, mac);
  if (fast > 0) return fast;
  const et = l3EtherType(buf, off, len);
  if (et < 0) return et;
  if (et === ETHERTYPE_IPV4) return respondIcmpEcho(buf, off, len, ip, mac);
  if (et === ETHERTYPE_ARP) return respondArp(buf, off, len, ip, mac);
  if (et === ETHERTYPE_IPV6) {
    return ip6 ? respondIcmp6(buf, off, len, cap, ip6, mac) : -DropReason.ipv6;
  }
  return -DropReason.other_ethertype;
}
