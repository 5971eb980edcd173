/**
 * User-space ICMPv4 echo responder: answers echo requests to our IPv4 address, in place.
 * Hot path: no allocation, every read bounds-checked against `len`.
 * @module
 */

import { checksumAdjust, inetChecksum } from "./checksum.ts";
import { DropReason } from "./drop.ts";
import { copyMac, ETHERTYPE_IPV4, writeMac } from "./ether.ts";
import {
  IP_MF,
  IP_OFFMASK,
  IPPROTO_ICMP,
  IPV4_HLEN,
  isMartianSource,
  readU32,
  writeU32,
} from "./ipv4.ts";
import { checkEthernet } from "./_l2.ts";

/** ICMP type: echo reply. */
export const ICMP_ECHO_REPLY = 0;
/** ICMP type: echo request. */
export const ICMP_ECHO_REQUEST = 8;
/** ICMP header length (type, code, checksum, id, seq). */
export const ICMP_HLEN = 8;
/** TTL of the replies we generate. */
export const REPLY_TTL = 64;

/**
 * Rewrites a valid ICMPv4 echo request to `ip` into the echo reply, in place. Normally called by
 * `respondInPlace` after its ethertype dispatch; standalone calls return `-runt` for
 * `len < 14` and `-other_ethertype` for any ethertype but 0x0800 (untagged).
 *
 * Returns the reply length `14 + IPv4 total length` (Ethernet padding is not sent), or
 * `-reason`. Nothing is written when the frame is dropped. The reply keeps the IP id, TOS,
 * flags, ICMP id/seq and payload; TTL becomes 64, the IP checksum is recomputed and the ICMP
 * checksum is updated incrementally (RFC 1624).
 *
 * @param ip our IPv4 address, host-order u32
 * @param mac our MAC, 6 bytes
 * @example
 * ```ts
 * const n = respondIcmpEcho(umem, off, len, 0xc0000201, ourMac);
 * if (n > 0) tx(off, n);
 * ```
 */
export function respondIcmpEcho(
  buf: Uint8Array,
  off: number,
  len: number,
  ip: number,
  mac: Uint8Array,
): number {
  const myIp = ip >>> 0;
  const l2 = checkEthernet(buf, off, len, ETHERTYPE_IPV4, mac, false);
  if (l2 !== 0) return l2;
  if (len < 14 + IPV4_HLEN) return -DropReason.ip_truncated;
  const h = off + 14;
  const vihl = buf[h];
  if (vihl >>> 4 !== 4) return -DropReason.ip_bad_version;
  const ihl = vihl & 0x0f;
  if (ihl < 5) return -DropReason.ip_bad_ihl;
  if (ihl > 5) return -DropReason.ip_options;
  const totLen = (buf[h + 2] << 8) | buf[h + 3];
  if (totLen < IPV4_HLEN || totLen > len - 14) return -DropReason.ip_bad_length;
  if (inetChecksum(buf, h, IPV4_HLEN) !== 0) return -DropReason.ip_bad_checksum;
  if ((((buf[h + 6] << 8) | buf[h + 7]) & (IP_MF | IP_OFFMASK)) !== 0) {
    return -DropReason.ip_fragment;
  }
  if (buf[h + 9] !== IPPROTO_ICMP) return -DropReason.not_icmp;
  if (readU32(buf, h + 16) !== myIp) return -DropReason.ip_not_for_us;
  const src = readU32(buf, h + 12);
  if (isMartianSource(src) || src === myIp) return -DropReason.ip_bad_source;
  const icmpLen = totLen - IPV4_HLEN;
  if (icmpLen < ICMP_HLEN) return -DropReason.icmp_truncated;
  const c = h + IPV4_HLEN;
  if (buf[c] !== ICMP_ECHO_REQUEST || buf[c + 1] !== 0) return -DropReason.icmp_not_echo_request;
  if (inetChecksum(buf, c, icmpLen) !== 0) return -DropReason.icmp_bad_checksum;

  // Ethernet: dst = requester, src = us.
  copyMac(buf, off, off + 6);
  writeMac(buf, off + 6, mac);
  // IPv4: dst = old src, src = us, TTL 64, fresh header checksum.
  writeU32(buf, h + 16, src);
  writeU32(buf, h + 12, myIp);
  buf[h + 8] = REPLY_TTL;
  buf[h + 10] = 0;
  buf[h + 11] = 0;
  const ipSum = inetChecksum(buf, h, IPV4_HLEN);
  buf[h + 10] = ipSum >>> 8;
  buf[h + 11] = ipSum & 0xff;
  // ICMP: type 8 -> 0 (the type/code word goes from 0x0800 to 0x0000).
  buf[c] = ICMP_ECHO_REPLY;
  const icmpSum = checksumAdjust((buf[c + 2] << 8) | buf[c + 3], ICMP_ECHO_REQUEST << 8, 0);
  buf[c + 2] = icmpSum >>> 8;
  buf[c + 3] = icmpSum & 0xff;
  return 14 + totLen;
}
