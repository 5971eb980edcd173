/**
 * User-space ICMPv4 echo responder: answers echo requests to our IPv4 address, in place.
 * Hot path: no allocation, every read bounds-checked against `len`.
 * @module
 */

import { checksumAdjust, inetChecksum } from "./checksum.ts";
import { DropReason } from "./drop.ts";
import {
  copyMac,
  ETH_HLEN,
  ETHERTYPE_IPV4,
  isMulticastMac,
  isZeroMac,
  macEquals,
  writeMac,
} from "./ether.ts";
import {
  IP_MF,
  IP_OFFMASK,
  IPOPT_CIPSO,
  IPOPT_END,
  IPOPT_LSRR,
  IPOPT_NOOP,
  IPOPT_RA,
  IPOPT_RR,
  IPOPT_SSRR,
  IPOPT_TS,
  IPPROTO_ICMP,
  IPV4_HLEN,
  isMartianSource,
  readU32,
  writeIPv4Header,
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
 * Rewrites a valid ICMPv4 echo request to `ip` into the echo reply, in place, as the Linux kernel
 * (`icmp_echo`, `ip_options_echo`) answers it. Normally called by `respondInPlace` after its
 * ethertype dispatch; standalone calls return `-runt` for `len < 14` and `-other_ethertype` for
 * any ethertype but 0x0800 (untagged or behind one priority tag).
 *
 * The reply keeps the IP id, TOS, flags (DF as in the request), the ICMP code, id, seq and
 * payload; TTL becomes 64, the IP checksum is recomputed and the ICMP checksum is updated
 * incrementally (RFC 1624). It is always untagged: a request behind a priority tag (VLAN id 0)
 * is answered as if untagged. IP options (RFC 1122 3.2.2.6: the reply SHOULD carry them) are
 * echoed the kernel's way: only Record Route goes back, moved to the start of the options and
 * padded with End of List to a multiple of 4, with our address recorded twice, once as the
 * request's receiver and once as the reply's sender, while there is room (a full Record Route is
 * returned as it came); NOP, End of List, Router Alert and unknown options are accepted and
 * dropped from the reply, so an option-only header shrinks to 20 bytes. Options respond does not
 * answer are in `DropReason` (`ip_options`, `ip_bad_options`).
 *
 * Returns the reply length `14 + reply IPv4 total length` (the reply starts at `off`; Ethernet
 * padding is not sent), or `-reason`. When the reply is as long as the request (untagged, no
 * options dropped) the bytes after it are left untouched; when the tag or options go, the ICMP
 * message moves up and the bytes after the reply are stale. Nothing is written when the frame is
 * dropped.
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
  if (l2 < 0) return l2;
  if (len < l2 + IPV4_HLEN) return -DropReason.ip_truncated;
  const h = off + l2;
  const vihl = buf[h];
  if (vihl >>> 4 !== 4) return -DropReason.ip_bad_version;
  const hlen = (vihl & 0x0f) << 2;
  if (hlen < IPV4_HLEN) return -DropReason.ip_bad_ihl;
  const totLen = (buf[h + 2] << 8) | buf[h + 3];
  if (totLen < hlen || totLen > len - l2) return -DropReason.ip_bad_length;
  if (inetChecksum(buf, h, hlen) !== 0) return -DropReason.ip_bad_checksum;
  if ((((buf[h + 6] << 8) | buf[h + 7]) & (IP_MF | IP_OFFMASK)) !== 0) {
    return -DropReason.ip_fragment;
  }
  if (buf[h + 9] !== IPPROTO_ICMP) return -DropReason.not_icmp;
  if (readU32(buf, h + 16) !== myIp) return -DropReason.ip_not_for_us;
  const src = readU32(buf, h + 12);
  if (isMartianSource(src) || src === myIp) return -DropReason.ip_bad_source;
  const rr = hlen > IPV4_HLEN ? recordRouteToEcho(buf, h + IPV4_HLEN, h + hlen) : 0;
  if (rr < 0) return rr;
  const icmpLen = totLen - hlen;
  if (icmpLen < ICMP_HLEN) return -DropReason.icmp_truncated;
  const c = h + hlen;
  if (buf[c] !== ICMP_ECHO_REQUEST) return -DropReason.icmp_not_echo_request;
  if (inetChecksum(buf, c, icmpLen) !== 0) return -DropReason.icmp_bad_checksum;

  // The reply: untagged, IP header at r with only the Record Route option (if any), then the
  // ICMP message. Every move goes towards `off` and in increasing address order, so each source
  // is read before anything overwrites it.
  const r = off + ETH_HLEN;
  const rrLen = rr === 0 ? 0 : buf[rr + 1];
  const rhlen = IPV4_HLEN + ((rrLen + 3) & ~3);
  // Ethernet: dst = requester, src = us.
  copyMac(buf, off, off + 6);
  writeMac(buf, off + 6, mac);
  if (h !== r) {
    buf[off + 12] = ETHERTYPE_IPV4 >>> 8;
    buf[off + 13] = ETHERTYPE_IPV4 & 0xff;
    buf.copyWithin(r, h, h + IPV4_HLEN);
  }
  if (rr !== 0) {
    const o = r + IPV4_HLEN;
    buf.copyWithin(o, rr, rr + rrLen);
    for (let i = o + rrLen; i < r + rhlen; i++) buf[i] = IPOPT_END;
    recordOurAddress(buf, o, myIp);
  }
  const rc = r + rhlen;
  if (rc !== c) buf.copyWithin(rc, c, c + icmpLen);
  // IPv4: header length, total length; then addresses, TTL, checksums.
  const rtot = rhlen + icmpLen;
  buf[r] = 0x40 | (rhlen >>> 2);
  buf[r + 2] = rtot >>> 8;
  buf[r + 3] = rtot & 0xff;
  finishEchoReply(buf, r, rhlen, src, myIp);
  return ETH_HLEN + rtot;
}

/**
 * The reply's last steps, the same on both paths: IPv4 at `r` (header `rhlen` bytes, the ICMP
 * message right after it) gets dst = the requester `src`, src = us, TTL 64 and a fresh header
 * checksum; ICMP type 8 becomes 0 (the code is kept) with its checksum updated incrementally.
 */
function finishEchoReply(
  buf: Uint8Array,
  r: number,
  rhlen: number,
  src: number,
  myIp: number,
): void {
  writeU32(buf, r + 16, src);
  writeU32(buf, r + 12, myIp);
  buf[r + 8] = REPLY_TTL;
  buf[r + 10] = 0;
  buf[r + 11] = 0;
  const ipSum = inetChecksum(buf, r, rhlen);
  buf[r + 10] = ipSum >>> 8;
  buf[r + 11] = ipSum & 0xff;
  // Only the type byte of the ICMP message's first word changes.
  const rc = r + rhlen;
  const code = buf[rc + 1];
  buf[rc] = ICMP_ECHO_REPLY;
  const icmpSum = checksumAdjust(
    (buf[rc + 2] << 8) | buf[rc + 3],
    (ICMP_ECHO_REQUEST << 8) | code,
    (ICMP_ECHO_REPLY << 8) | code,
  );
  buf[rc + 2] = icmpSum >>> 8;
  buf[rc + 3] = icmpSum & 0xff;
}

/**
 * The common case of {@link respondIcmpEcho} in one small function: an untagged frame to `mac`
 * from a unicast source, a 20-byte IPv4 header (no options) with a valid checksum, not a
 * fragment, an ICMP echo request to `ip` with a valid checksum, from a plausible source. Such a
 * frame is rewritten into the same reply `respondIcmpEcho` makes and its length returned; for
 * any other frame it returns 0 and writes nothing, and the caller takes the full path (which
 * finds the drop reason or handles the tag and the options). Kept short on purpose: at a low
 * rate the reply code runs with cold caches, and every cache line of code costs there.
 *
 * @param ip our IPv4 address, host-order u32
 * @param mac our MAC, 6 bytes
 * @example
 * ```ts
 * const n = echoReplyFast(umem, off, len, 0xc0000201, ourMac) ||
 *   respondIcmpEcho(umem, off, len, 0xc0000201, ourMac);
 * ```
 */
export function echoReplyFast(
  buf: Uint8Array,
  off: number,
  len: number,
  ip: number,
  mac: Uint8Array,
): number {
  if (len < 42 || buf[off + 12] !== 0x08 || buf[off + 13] !== 0x00 || buf[off + 14] !== 0x45) {
    return 0;
  }
  const h = off + 14, c = h + 20;
  const totLen = (buf[h + 2] << 8) | buf[h + 3];
  const icmpLen = totLen - 20;
  if (
    icmpLen < ICMP_HLEN || totLen > len - 14 || buf[h + 9] !== IPPROTO_ICMP ||
    buf[c] !== ICMP_ECHO_REQUEST || (((buf[h + 6] << 8) | buf[h + 7]) & 0x3fff) !== 0
  ) return 0;
  // Ethernet: to us, from a unicast, non-zero source that is not us (checkEthernet's checks).
  const s = off + 6;
  if (
    !macEquals(buf, off, mac) || isMulticastMac(buf, s) || isZeroMac(buf, s) ||
    macEquals(buf, s, mac)
  ) return 0;
  const myIp = ip >>> 0;
  const src = readU32(buf, h + 12);
  if (readU32(buf, h + 16) !== myIp || src === myIp || isMartianSource(src)) return 0;
  // Both checksums must verify (the reply below runs inetChecksum anyway: one copy of the code).
  if (inetChecksum(buf, h, 20) !== 0 || inetChecksum(buf, c, icmpLen) !== 0) return 0;
  // The reply, as respondIcmpEcho writes it for such a frame.
  copyMac(buf, off, off + 6);
  writeMac(buf, off + 6, mac);
  finishEchoReply(buf, h, 20, src, myIp);
  return 14 + totLen;
}

/** Addresses, ids and size of a request built by {@link writeEchoRequest}. */
export interface EchoRequestOptions {
  /** Ethernet source MAC, 6 bytes. */
  srcMac: Uint8Array;
  /** Ethernet destination MAC, 6 bytes. */
  dstMac: Uint8Array;
  /** IPv4 source, host-order u32. */
  srcIp: number;
  /** IPv4 destination, host-order u32. */
  dstIp: number;
  /** ICMP identifier, 0..65535. */
  id: number;
  /** ICMP sequence number, 0..65535. */
  seq: number;
  /** Payload bytes after the ICMP header (ping's default: 56). */
  payloadLen: number;
}

/**
 * Writes an untagged Ethernet/IPv4/ICMP echo request at `buf[off, ...)`: the IPv4 header as
 * `writeUdpFrame` writes it (no options, DF, TTL 64), ICMP code 0, payload byte `i` is
 * `i & 0xff`, both checksums correct. Returns the frame length, `42 + payloadLen`. For
 * templates and tests, not per packet.
 *
 * @throws {RangeError} if the frame does not fit in `buf` at `off`, or a field is out of range.
 * @example
 * ```ts
 * const buf = new Uint8Array(98);
 * const mac = parseMac("02:00:00:00:00:01");
 * const n = writeEchoRequest(buf, 0, {
 *   srcMac: parseMac("02:00:00:00:00:02"), dstMac: mac,
 *   srcIp: parseIPv4("192.0.2.2"), dstIp: parseIPv4("192.0.2.1"), id: 1, seq: 1, payloadLen: 56,
 * }); // 98
 * respondInPlace(buf, 0, n, parseIPv4("192.0.2.1"), mac); // 98: answered
 * ```
 */
export function writeEchoRequest(buf: Uint8Array, off: number, o: EchoRequestOptions): number {
  const len = ETH_HLEN + IPV4_HLEN + ICMP_HLEN + o.payloadLen;
  const ok = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
  if (
    !ok(o.id, 0xffff) || !ok(o.seq, 0xffff) || !ok(o.payloadLen, 0xffff - 28) ||
    !ok(off, 2 ** 53) ||
    off + len > buf.length || o.srcMac.length !== 6 || o.dstMac.length !== 6
  ) {
    throw new RangeError(
      `writeEchoRequest: a ${len}-byte request at offset ${off} in a buffer of ${buf.length} ` +
        `bytes (id, seq 0..65535, 6-byte MACs)`,
    );
  }
  writeMac(buf, off, o.dstMac);
  writeMac(buf, off + 6, o.srcMac);
  buf[off + 12] = ETHERTYPE_IPV4 >>> 8;
  buf[off + 13] = ETHERTYPE_IPV4 & 0xff;
  const h = off + ETH_HLEN, c = h + IPV4_HLEN;
  writeIPv4Header(buf, h, IPPROTO_ICMP, len - ETH_HLEN, o.srcIp, o.dstIp);
  buf[c] = ICMP_ECHO_REQUEST;
  buf[c + 1] = 0;
  buf[c + 2] = 0;
  buf[c + 3] = 0;
  buf[c + 4] = o.id >>> 8;
  buf[c + 5] = o.id & 0xff;
  buf[c + 6] = o.seq >>> 8;
  buf[c + 7] = o.seq & 0xff;
  for (let i = 0; i < o.payloadLen; i++) buf[c + ICMP_HLEN + i] = i & 0xff;
  const sum = inetChecksum(buf, c, len - ETH_HLEN - IPV4_HLEN);
  buf[c + 2] = sum >>> 8;
  buf[c + 3] = sum & 0xff;
  return len;
}

/**
 * Walks the IP options in `buf[p, end)` as the kernel's `ip_options_compile` does on input.
 * Returns the offset of the Record Route option to echo, 0 when there is none, or `-reason`.
 */
function recordRouteToEcho(buf: Uint8Array, p: number, end: number): number {
  let rr = 0;
  while (p < end) {
    const type = buf[p];
    if (type === IPOPT_END) break; // whatever follows is ignored
    if (type === IPOPT_NOOP) {
      p++;
      continue;
    }
    if (end - p < 2) return -DropReason.ip_bad_options;
    const olen = buf[p + 1];
    if (olen < 2 || olen > end - p) return -DropReason.ip_bad_options;
    if (type === IPOPT_RR) {
      if (rr !== 0 || olen < 3) return -DropReason.ip_bad_options;
      const ptr = buf[p + 2];
      if (ptr < 4) return -DropReason.ip_bad_options;
      // A free slot must be whole, and so must the next one the reply would use (the kernel
      // rejects the first on input, and silently sends no reply for the second).
      if (ptr <= olen && (ptr + 3 > olen || (ptr + 4 <= olen && ptr + 7 > olen))) {
        return -DropReason.ip_bad_options;
      }
      rr = p;
    } else if (type === IPOPT_RA) {
      if (olen < 4) return -DropReason.ip_bad_options;
    } else if (
      type === IPOPT_TS || type === IPOPT_LSRR || type === IPOPT_SSRR || type === IPOPT_CIPSO
    ) {
      return -DropReason.ip_options;
    }
    p += olen;
  }
  return rr;
}

/**
 * Records `ip` in the Record Route option at `o` (already validated) in up to two free slots:
 * the kernel fills one when the request arrives and one when the reply leaves.
 */
function recordOurAddress(buf: Uint8Array, o: number, ip: number): void {
  const olen = buf[o + 1];
  let ptr = buf[o + 2];
  if (ptr <= olen) {
    writeU32(buf, o + ptr - 1, ip);
    ptr += 4;
    if (ptr <= olen) {
      writeU32(buf, o + ptr - 1, ip);
      ptr += 4;
    }
    buf[o + 2] = ptr;
  }
}
