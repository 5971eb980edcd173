/**
 * IPv6 header constants, address parsing/formatting and the ICMPv6 pseudo-header checksum.
 * `parseIPv6`/`formatIPv6` allocate (not hot path); the rest does not.
 * @module
 */

import { foldSum, onesSum } from "./checksum.ts";

/** IPv6 header length (no extension headers). */
export const IPV6_HLEN = 40;
/** Next-header number of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;
/** Next-header numbers of the IPv6 extension headers (RFC 8200 4, RFC 7045). */
export const IPV6_EXT_HEADERS: readonly number[] = [0, 43, 44, 50, 51, 60, 135, 139, 140];

/**
 * Parses an IPv6 address in RFC 4291 2.2 text form (`2001:db8::1`, `fe80::1`,
 * `::ffff:192.0.2.1`) into 16 bytes, network order. No zone (`%eth0`), no prefix length.
 *
 * @throws {RangeError} if `s` is not such an address.
 * @example
 * ```ts
 * parseIPv6("2001:db8::1")[15]; // 1
 * ```
 */
export function parseIPv6(s: string): Uint8Array {
  const bad = () =>
    new RangeError(
      `invalid IPv6 address ${
        JSON.stringify(String(s))
      }: expected RFC 4291 text form like 2001:db8::1 (no zone, no prefix length)`,
    );
  if (typeof s !== "string" || !/^[0-9a-fA-F:.]{2,45}$/.test(s)) throw bad();
  let text = s;
  const tail: number[] = [];
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    for (let i = 2; i <= 5; i++) {
      if (!/^(0|[1-9]\d{0,2})$/.test(v4[i]) || Number(v4[i]) > 255) throw bad();
    }
    tail.push((Number(v4[2]) << 8) | Number(v4[3]), (Number(v4[4]) << 8) | Number(v4[5]));
    text = v4[1].endsWith("::") ? v4[1] : v4[1].slice(0, -1);
  } else if (text.includes(".")) throw bad();
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const words = (part: string) =>
    part === "" ? [] : part.split(":").map((w) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw bad();
      return parseInt(w, 16);
    });
  const head = words(halves[0]);
  const rest = halves.length === 2 ? words(halves[1]) : [];
  const have = head.length + rest.length + tail.length;
  if (halves.length === 1 ? have !== 8 : have > 7) throw bad();
  const all = [...head, ...new Array(8 - have).fill(0), ...rest, ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >>> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}

/**
 * Formats the 16 bytes at `buf[off]` in RFC 5952 form (lowercase, longest run of two or more
 * zero words as `::`, the first if tied).
 *
 * @example
 * ```ts
 * formatIPv6(parseIPv6("2001:0db8:0:0:0:0:0:0001")); // "2001:db8::1"
 * ```
 */
export function formatIPv6(buf: Uint8Array, off = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((buf[off + 2 * i] << 8) | buf[off + 2 * i + 1]);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** True if the 16 bytes at `buf[off]` equal `addr`. */
export function ip6Equals(buf: Uint8Array, off: number, addr: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== addr[i]) return false;
  return true;
}

/** True if the 16 bytes at `buf[off]` are the unspecified address `::`. */
export function isUnspecifiedIPv6(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/**
 * True if the 16 bytes at `buf[off]` are the solicited-node multicast address of `addr`
 * (`ff02::1:ffXX:XXXX` with the low 24 bits of `addr`, RFC 4291 2.7.1).
 */
export function isSolicitedNodeOf(buf: Uint8Array, off: number, addr: Uint8Array): boolean {
  if (buf[off] !== 0xff || buf[off + 1] !== 0x02) return false;
  for (let i = 2; i < 11; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 11] === 1 && buf[off + 12] === 0xff && buf[off + 13] === addr[13] &&
    buf[off + 14] === addr[14] && buf[off + 15] === addr[15];
}

/**
 * True if the IPv6 source address at `buf[off]` is one no host sends from and the kernel drops
 * on input or never answers: multicast, loopback `::1`, IPv4-mapped `::ffff:0:0/96`, or
 * unspecified `::` (allowed only where `unspecifiedOk`, for Duplicate Address Detection).
 */
export function isBadSourceIPv6(buf: Uint8Array, off: number, unspecifiedOk: boolean): boolean {
  if (buf[off] === 0xff) return true;
  for (let i = 0; i < 10; i++) if (buf[off + i] !== 0) return false;
  if (buf[off + 10] === 0xff && buf[off + 11] === 0xff) return true;
  if (buf[off + 10] !== 0 || buf[off + 11] !== 0) return false;
  if (buf[off + 12] !== 0 || buf[off + 13] !== 0 || buf[off + 14] !== 0) return false;
  const last = buf[off + 15];
  return last === 1 || (last === 0 && !unspecifiedOk);
}

/**
 * RFC 8200 8.1 upper-layer checksum of the IPv6 packet whose fixed header is at `buf[ip]`, for
 * the `len`-byte upper-layer message at `buf[l4]` with next header `proto`: ones complement of
 * the sum over the pseudo-header (source, destination, length, next header) and the message.
 * Over a message with a correct checksum field the result is 0.
 *
 * @example
 * ```ts
 * const ok = ip6Checksum(buf, ip, ip + 40, payloadLen, IPPROTO_ICMPV6) === 0;
 * ```
 */
export function ip6Checksum(
  buf: Uint8Array,
  ip: number,
  l4: number,
  len: number,
  proto: number,
): number {
  const pseudo = foldSum(
    onesSum(buf, ip + 8, 32, 0) + Math.floor(len / 0x10000) + (len & 0xffff) + proto,
  );
  return ~onesSum(buf, l4, len, pseudo) & 0xffff;
}
