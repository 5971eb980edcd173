/**
 * User-space ICMPv6 responder: answers Neighbor Solicitations for our IPv6 address with a
 * Neighbor Advertisement and echo requests to it with an echo reply, in place, as the Linux
 * kernel (`ndisc_recv_ns`/`ndisc_send_na`, `icmpv6_echo_reply`) answers them.
 * Hot path: no allocation, every read bounds-checked against `len`, every write against `cap`.
 * @module
 */

import { checksumAdjust } from "./checksum.ts";
import { DropReason } from "./drop.ts";
import {
  ETH_HLEN,
  ETHERTYPE_IPV6,
  isMulticastMac,
  isZeroMac,
  macEquals,
  writeMac,
} from "./ether.ts";
import {
  ip6Checksum,
  ip6Equals,
  IPPROTO_ICMPV6,
  IPV6_EXT_HEADERS,
  IPV6_HLEN,
  isBadSourceIPv6,
  isSolicitedNodeOf,
  isUnspecifiedIPv6,
} from "./ipv6.ts";
import { l3EtherType } from "./_l2.ts";

/** ICMPv6 type: echo request. */
export const ICMP6_ECHO_REQUEST = 128;
/** ICMPv6 type: echo reply. */
export const ICMP6_ECHO_REPLY = 129;
/** ICMPv6 type: Neighbor Solicitation. */
export const ND_NEIGHBOR_SOLICIT = 135;
/** ICMPv6 type: Neighbor Advertisement. */
export const ND_NEIGHBOR_ADVERT = 136;
/** Neighbor Advertisement flags (first byte after the checksum). */
export const ND_NA_FLAG_SOLICITED = 0x40;
/** Neighbor Advertisement flag: Override. */
export const ND_NA_FLAG_OVERRIDE = 0x20;
/** Hop limit of the echo replies we send (the kernel's default `hop_limit`). */
export const REPLY_HOP_LIMIT = 64;
/** Hop limit of Neighbor Discovery messages (RFC 4861). */
export const ND_HOP_LIMIT = 255;
/** Length of a Neighbor Advertisement frame with a Target Link-Layer Address option. */
export const NA_FRAME_LEN: number = ETH_HLEN + IPV6_HLEN + 32;

const IP6_EXT = new Uint8Array(256);
for (const n of IPV6_EXT_HEADERS) IP6_EXT[n] = 1;
// The requester's address, kept while the reply is written over the request (tagged frames
// move up by four bytes). One per module: respond runs one frame at a time per Worker.
const scratch = new Uint8Array(16);
const ALL_NODES = new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/**
 * Rewrites a Neighbor Solicitation for `ip6`, or an ICMPv6 echo request to `ip6`, into its answer
 * in place; returns the reply length (the reply starts at `off`, untagged) or `-reason` (see
 * `DropReason`; nothing is written then). Normally called by `respondInPlace` after its
 * ethertype dispatch (frames behind one priority tag are answered untagged, as the kernel does).
 *
 * Neighbor Advertisement, as `ndisc_send_na` builds it: IPv6 traffic class and flow label 0,
 * hop limit 255, source `ip6`; Solicited flag set unless the solicitation is a DAD probe (source
 * `::`), which is answered to `ff02::1` (MAC 33:33:00:00:00:01); Override flag and the Target
 * Link-Layer Address option (our MAC) only when the solicitation went to a multicast address
 * (a DAD probe always goes to one); Router flag clear. Otherwise the NA goes to the solicitation's
 * source, at the MAC of its Source Link-Layer Address option (the entry the kernel's neighbour
 * table gets), or at the frame's source MAC when the solicitation has none (the kernel sends to
 * its neighbour entry for the source, when it has one).
 *
 * Echo reply, as `icmpv6_echo_reply`: type 129, code, id, sequence and data kept, source `ip6`,
 * destination the requester, hop limit 64, traffic class and flow label of the request kept, the
 * checksum updated incrementally (the pseudo-header's addresses only swap).
 *
 * @param cap bytes writable from `off` (at least `len`): a reply may be longer than its request
 *   (an 86-byte NA for a 78-byte DAD probe)
 * @param ip6 our IPv6 address, 16 bytes
 * @param mac our MAC, 6 bytes
 * @example
 * ```ts
 * const n = respondIcmp6(umem, off, len, 2048 - 256, parseIPv6("2001:db8::1"), ourMac);
 * if (n > 0) tx(off, n);
 * ```
 */
export function respondIcmp6(
  buf: Uint8Array,
  off: number,
  len: number,
  cap: number,
  ip6: Uint8Array,
  mac: Uint8Array,
): number {
  const et = l3EtherType(buf, off, len);
  if (et < 0) return et;
  if (et !== ETHERTYPE_IPV6) return -DropReason.other_ethertype;
  const l2 = ((buf[off + 12] << 8) | buf[off + 13]) === ETHERTYPE_IPV6 ? ETH_HLEN : ETH_HLEN + 4;
  if (len < l2 + IPV6_HLEN) return -DropReason.ip6_truncated;
  const h = off + l2;
  const ns = len >= l2 + IPV6_HLEN + 1 && buf[h + 6] === IPPROTO_ICMPV6 &&
    buf[h + IPV6_HLEN] === ND_NEIGHBOR_SOLICIT;
  if (!macEquals(buf, off, mac) && !(ns && isSolicitedNodeMac(buf, off, ip6))) {
    return -DropReason.not_for_our_mac;
  }
  if (isMulticastMac(buf, off + 6) || isZeroMac(buf, off + 6) || macEquals(buf, off + 6, mac)) {
    return -DropReason.bad_source_mac;
  }
  if (buf[h] >>> 4 !== 6) return -DropReason.ip6_bad_version;
  const plen = (buf[h + 4] << 8) | buf[h + 5];
  if (plen === 0 || plen > len - l2 - IPV6_HLEN) return -DropReason.ip6_bad_length;
  const next = buf[h + 6];
  if (next !== IPPROTO_ICMPV6) {
    return IP6_EXT[next] === 1 ? -DropReason.ip6_ext_header : -DropReason.not_icmp6;
  }
  const c = h + IPV6_HLEN;
  const type = plen >= 4 ? buf[c] : -1;
  const dad = type === ND_NEIGHBOR_SOLICIT && isUnspecifiedIPv6(buf, h + 8);
  if (isBadSourceIPv6(buf, h + 8, dad) || ip6Equals(buf, h + 8, ip6)) {
    return -DropReason.ip6_bad_source;
  }
  if (type === ICMP6_ECHO_REQUEST) {
    if (plen < 8) return -DropReason.icmp6_truncated;
    if (!ip6Equals(buf, h + 24, ip6)) return -DropReason.ip6_not_for_us;
    if (ip6Checksum(buf, h, c, plen, IPPROTO_ICMPV6) !== 0) return -DropReason.icmp6_bad_checksum;
    return echoReply(buf, off, h, plen, ip6, mac);
  }
  if (type !== ND_NEIGHBOR_SOLICIT) {
    return type < 0 ? -DropReason.icmp6_truncated : -DropReason.icmp6_not_handled;
  }
  const multicastDst = buf[h + 24] === 0xff;
  if (!ip6Equals(buf, h + 24, ip6) && !isSolicitedNodeOf(buf, h + 24, ip6)) {
    return -DropReason.ip6_not_for_us;
  }
  if (ip6Checksum(buf, h, c, plen, IPPROTO_ICMPV6) !== 0) return -DropReason.icmp6_bad_checksum;
  if (buf[h + 7] !== ND_HOP_LIMIT || buf[c + 1] !== 0 || plen < 24 || buf[c + 8] === 0xff) {
    return -DropReason.nd_invalid;
  }
  if (dad && !multicastDst) return -DropReason.nd_invalid;
  // Options (RFC 4861 4.6): the first Source Link-Layer Address option counts, unknown ones
  // are skipped, a zero length or one past the end invalidates the message.
  let sll = 0;
  for (let o = c + 24, end = c + plen; o < end;) {
    if (end - o < 2 || buf[o + 1] === 0 || buf[o + 1] * 8 > end - o) return -DropReason.nd_invalid;
    if (buf[o] === 1 && sll === 0) {
      if (buf[o + 1] !== 1) return -DropReason.nd_invalid;
      sll = o + 2;
    }
    o += buf[o + 1] * 8;
  }
  if (dad && sll !== 0) return -DropReason.nd_invalid;
  if (!ip6Equals(buf, c + 8, ip6)) return -DropReason.nd_not_for_us;
  const withOpt = multicastDst;
  const rlen = ETH_HLEN + IPV6_HLEN + (withOpt ? 32 : 24);
  if (rlen > cap) return -DropReason.no_room;

  // Everything the reply needs from the request is read before the reply is written: the
  // requester's address (scratch) and its MAC (SLL option or frame source, copied first).
  for (let i = 0; i < 16; i++) scratch[i] = buf[h + 8 + i];
  if (dad) {
    buf[off] = 0x33;
    buf[off + 1] = 0x33;
    buf[off + 2] = 0;
    buf[off + 3] = 0;
    buf[off + 4] = 0;
    buf[off + 5] = 1;
  } else {
    const from = sll !== 0 ? sll : off + 6;
    for (let i = 0; i < 6; i++) buf[off + i] = buf[from + i];
  }
  writeMac(buf, off + 6, mac);
  buf[off + 12] = ETHERTYPE_IPV6 >>> 8;
  buf[off + 13] = ETHERTYPE_IPV6 & 0xff;
  const r = off + ETH_HLEN, rc = r + IPV6_HLEN, rplen = rlen - ETH_HLEN - IPV6_HLEN;
  buf[r] = 0x60;
  buf[r + 1] = 0;
  buf[r + 2] = 0;
  buf[r + 3] = 0;
  buf[r + 4] = 0;
  buf[r + 5] = rplen;
  buf[r + 6] = IPPROTO_ICMPV6;
  buf[r + 7] = ND_HOP_LIMIT;
  copy16(buf, r + 8, ip6);
  copy16(buf, r + 24, dad ? ALL_NODES : scratch);
  buf[rc] = ND_NEIGHBOR_ADVERT;
  buf[rc + 1] = 0;
  buf[rc + 2] = 0;
  buf[rc + 3] = 0;
  buf[rc + 4] = (dad ? 0 : ND_NA_FLAG_SOLICITED) | (withOpt ? ND_NA_FLAG_OVERRIDE : 0);
  buf[rc + 5] = 0;
  buf[rc + 6] = 0;
  buf[rc + 7] = 0;
  copy16(buf, rc + 8, ip6);
  if (withOpt) {
    buf[rc + 24] = 2; // Target Link-Layer Address
    buf[rc + 25] = 1;
    writeMac(buf, rc + 26, mac);
  }
  const sum = ip6Checksum(buf, r, rc, rplen, IPPROTO_ICMPV6);
  buf[rc + 2] = sum >>> 8;
  buf[rc + 3] = sum & 0xff;
  return rlen;
}

/** The echo reply, written over the validated request at `h` (see `respondIcmp6`). */
function echoReply(
  buf: Uint8Array,
  off: number,
  h: number,
  plen: number,
  ip6: Uint8Array,
  mac: Uint8Array,
): number {
  // Ethernet: dst = requester, src = us; a priority tag goes (the packet moves up four bytes).
  for (let i = 0; i < 6; i++) buf[off + i] = buf[off + 6 + i];
  writeMac(buf, off + 6, mac);
  const r = off + ETH_HLEN;
  if (h !== r) {
    buf[off + 12] = ETHERTYPE_IPV6 >>> 8;
    buf[off + 13] = ETHERTYPE_IPV6 & 0xff;
    buf.copyWithin(r, h, h + IPV6_HLEN + plen);
  }
  // IPv6: destination = old source, source = us (the old destination), hop limit 64.
  buf.copyWithin(r + 24, r + 8, r + 24);
  copy16(buf, r + 8, ip6);
  buf[r + 7] = REPLY_HOP_LIMIT;
  const c = r + IPV6_HLEN;
  const code = buf[c + 1];
  buf[c] = ICMP6_ECHO_REPLY;
  const sum = checksumAdjust(
    (buf[c + 2] << 8) | buf[c + 3],
    (ICMP6_ECHO_REQUEST << 8) | code,
    (ICMP6_ECHO_REPLY << 8) | code,
  );
  buf[c + 2] = sum >>> 8;
  buf[c + 3] = sum & 0xff;
  return ETH_HLEN + IPV6_HLEN + plen;
}

/** Writes the 16 bytes of `addr` at `buf[at]` (indexed writes only: no view, no allocation). */
function copy16(buf: Uint8Array, at: number, addr: Uint8Array): void {
  for (let i = 0; i < 16; i++) buf[at + i] = addr[i];
}

/** True if the MAC at `buf[off]` is 33:33:ff plus the low 24 bits of `ip6` (RFC 2464 7). */
function isSolicitedNodeMac(buf: Uint8Array, off: number, ip6: Uint8Array): boolean {
  return buf[off] === 0x33 && buf[off + 1] === 0x33 && buf[off + 2] === 0xff &&
    buf[off + 3] === ip6[13] && buf[off + 4] === ip6[14] && buf[off + 5] === ip6[15];
}
