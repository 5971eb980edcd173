/**
 * IPv4 header constants and address helpers. Hot path: no allocation.
 * @module
 */

import { inetChecksum } from "./checksum.ts";

/** Minimum (option-less) IPv4 header length. */
export const IPV4_HLEN = 20;
/** IP protocol number of ICMP. */
export const IPPROTO_ICMP = 1;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** Don't Fragment flag in the 16-bit flags/fragment-offset field. */
export const IP_DF = 0x4000;
/** More Fragments flag in the 16-bit flags/fragment-offset field. */
export const IP_MF = 0x2000;
/** Fragment offset mask in the 16-bit flags/fragment-offset field. */
export const IP_OFFMASK = 0x1fff;
/** IP option: End of Option List (one byte). */
export const IPOPT_END = 0;
/** IP option: No Operation (one byte). */
export const IPOPT_NOOP = 1;
/** IP option: Record Route (RFC 791). */
export const IPOPT_RR = 7;
/** IP option: Timestamp (RFC 791). */
export const IPOPT_TS = 68;
/** IP option: Loose Source and Record Route (RFC 791). */
export const IPOPT_LSRR = 131;
/** IP option: Commercial IP Security Option (CIPSO). */
export const IPOPT_CIPSO = 134;
/** IP option: Strict Source and Record Route (RFC 791). */
export const IPOPT_SSRR = 137;
/** IP option: Router Alert (RFC 2113). */
export const IPOPT_RA = 148;

/**
 * Reads a big-endian u32 (e.g. an IPv4 address) at `buf[off]` as a host-order number
 * 0..0xffffffff. Caller guarantees 4 readable bytes.
 *
 * @example
 * ```ts
 * readU32(new Uint8Array([192, 0, 2, 1]), 0); // 0xc0000201
 * ```
 */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/**
 * Writes `v` (host-order u32) big-endian at `buf[off, off+4)`.
 *
 * @example
 * ```ts
 * writeU32(umem, off + 26, 0xc0000201); // IPv4 source 192.0.2.1
 * ```
 */
export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/**
 * True if `ip` (host-order u32) can never be a legitimate unicast source to answer:
 * 0.0.0.0/8 ("this network"), 127.0.0.0/8 (loopback), 224.0.0.0/4 (multicast) and
 * 240.0.0.0/4 (reserved, includes the limited broadcast 255.255.255.255).
 *
 * @example
 * ```ts
 * isMartianSource(0xffffffff); // true
 * isMartianSource(0xc0000201); // false (192.0.2.1)
 * ```
 */
export function isMartianSource(ip: number): boolean {
  const a = ip >>> 24;
  return a === 0 || a === 127 || a >= 224;
}

/**
 * Writes an option-less IPv4 header at `buf[h, h+20)`: TOS 0, id 0, DF set, TTL 64, protocol
 * `proto`, total length `ipLen`, the two addresses (host-order u32) and a correct header
 * checksum. For building templates (`writeUdpFrame`, `writeEchoRequest`), not per packet; the
 * caller checks that the header fits.
 *
 * @example
 * ```ts
 * const buf = new Uint8Array(20);
 * writeIPv4Header(buf, 0, IPPROTO_UDP, 28, 0xc0000201, 0xc0000202);
 * inetChecksum(buf, 0, 20); // 0: the header checks
 * ```
 */
export function writeIPv4Header(
  buf: Uint8Array,
  h: number,
  proto: number,
  ipLen: number,
  srcIp: number,
  dstIp: number,
): void {
  buf.fill(0, h, h + IPV4_HLEN);
  buf[h] = 0x45;
  buf[h + 2] = ipLen >>> 8;
  buf[h + 3] = ipLen & 0xff;
  buf[h + 6] = IP_DF >>> 8;
  buf[h + 8] = 64;
  buf[h + 9] = proto;
  writeU32(buf, h + 12, srcIp);
  writeU32(buf, h + 16, dstIp);
  const sum = inetChecksum(buf, h, IPV4_HLEN);
  buf[h + 10] = sum >>> 8;
  buf[h + 11] = sum & 0xff;
}
