/**
 * UDP frame template builder (start-up, may allocate) and hot-path UDP field access.
 * @module
 */

import { onesSum } from "./checksum.ts";
import { ETHERTYPE_IPV4 } from "./ether.ts";
import { IP_OFFMASK, IPPROTO_UDP, IPV4_HLEN, writeIPv4Header } from "./ipv4.ts";

/** UDP header length. */
export const UDP_HLEN = 8;
/** Length of the Ethernet + IPv4 (no options) + UDP headers. */
export const UDP_FRAME_HLEN: number = 14 + IPV4_HLEN + UDP_HLEN;
/** Largest frame `writeUdpFrame` accepts: 14 + 65535 (IPv4 total length is 16 bits). */
export const UDP_FRAME_MAX: number = 14 + 0xffff;

/** Addresses, ports and size of a frame built by `writeUdpFrame`. */
export interface UdpFrameOptions {
  /** Ethernet source MAC, 6 bytes. */
  srcMac: Uint8Array;
  /** Ethernet destination MAC, 6 bytes. */
  dstMac: Uint8Array;
  /** IPv4 source, host-order u32. */
  srcIp: number;
  /** IPv4 destination, host-order u32. */
  dstIp: number;
  /** UDP source port, 0..65535. */
  srcPort: number;
  /** UDP destination port, 0..65535. */
  dstPort: number;
  /** Total Ethernet frame length without FCS, 42..65549 (use >= 60 for real wires). */
  frameLen: number;
}

function checkInt(name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`writeUdpFrame: ${name} must be an integer ${min}..${max}, got ${v}`);
  }
}

function checkMac(name: string, v: unknown): void {
  if (!(v instanceof Uint8Array) || v.length !== 6) {
    throw new RangeError(`writeUdpFrame: ${name} must be a 6-byte Uint8Array (see parseMac)`);
  }
}

/**
 * Writes a complete untagged Ethernet/IPv4/UDP frame at `buf[off, off+frameLen)`: IPv4 with
 * no options, TOS 0, id 0, DF set, TTL 64 and a correct header checksum; UDP with a correct
 * checksum over the pseudo-header (0 is sent as 0xffff); payload byte `i` is `i & 0xff`.
 * Returns `frameLen`.
 *
 * @throws {RangeError} on a bad option or if the frame does not fit in `buf` at `off`.
 * @example
 * ```ts
 * const n = writeUdpFrame(umem, 0, {
 *   srcMac: parseMac("02:00:00:00:00:01"), dstMac: parseMac("02:00:00:00:00:02"),
 *   srcIp: parseIPv4("192.0.2.1"), dstIp: parseIPv4("192.0.2.2"),
 *   srcPort: 9000, dstPort: 9001, frameLen: 60,
 * }); // 60
 * ```
 */
export function writeUdpFrame(buf: Uint8Array, off: number, opts: UdpFrameOptions): number {
  checkMac("srcMac", opts.srcMac);
  checkMac("dstMac", opts.dstMac);
  checkInt("srcIp", opts.srcIp, 0, 0xffffffff);
  checkInt("dstIp", opts.dstIp, 0, 0xffffffff);
  checkInt("srcPort", opts.srcPort, 0, 0xffff);
  checkInt("dstPort", opts.dstPort, 0, 0xffff);
  checkInt("frameLen", opts.frameLen, UDP_FRAME_HLEN, UDP_FRAME_MAX);
  checkInt("off", off, 0, Number.MAX_SAFE_INTEGER);
  const { srcMac, dstMac, srcIp, dstIp, srcPort, dstPort, frameLen } = opts;
  if (off + frameLen > buf.length) {
    throw new RangeError(
      `writeUdpFrame: frame of ${frameLen} bytes at offset ${off} does not fit in ` +
        `a buffer of ${buf.length} bytes`,
    );
  }
  const ipLen = frameLen - 14;
  const udpLen = ipLen - IPV4_HLEN;

  buf.set(dstMac, off);
  buf.set(srcMac, off + 6);
  buf[off + 12] = ETHERTYPE_IPV4 >>> 8;
  buf[off + 13] = ETHERTYPE_IPV4 & 0xff;

  const h = off + 14;
  writeIPv4Header(buf, h, IPPROTO_UDP, ipLen, srcIp, dstIp);

  const u = h + IPV4_HLEN;
  buf[u] = srcPort >>> 8;
  buf[u + 1] = srcPort & 0xff;
  buf[u + 2] = dstPort >>> 8;
  buf[u + 3] = dstPort & 0xff;
  buf[u + 4] = udpLen >>> 8;
  buf[u + 5] = udpLen & 0xff;
  buf[u + 6] = 0;
  buf[u + 7] = 0;
  for (let i = 0; i < udpLen - UDP_HLEN; i++) buf[u + UDP_HLEN + i] = i & 0xff;

  const pseudo = (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff) +
    IPPROTO_UDP + udpLen;
  let udpSum = ~onesSum(buf, u, udpLen, pseudo) & 0xffff;
  if (udpSum === 0) udpSum = 0xffff;
  buf[u + 6] = udpSum >>> 8;
  buf[u + 7] = udpSum & 0xff;
  return frameLen;
}

/**
 * UDP destination port of an untagged Ethernet/IPv4/UDP frame (IHL honoured), or -1 if the
 * frame is not one, is a non-first fragment, or is too short to hold the full UDP header.
 * Hot path: no allocation, bounds-checked against `len`. Checksums are not verified.
 *
 * @example
 * ```ts
 * if (udpDstPort(umem, off, len) === 9001) rxCount++;
 * ```
 */
export function udpDstPort(buf: Uint8Array, off: number, len: number): number {
  if (len < UDP_FRAME_HLEN) return -1;
  if (buf[off + 12] !== ETHERTYPE_IPV4 >>> 8 || buf[off + 13] !== (ETHERTYPE_IPV4 & 0xff)) {
    return -1;
  }
  const h = off + 14;
  const vihl = buf[h];
  const ihl = (vihl & 0x0f) << 2;
  if (vihl >>> 4 !== 4 || ihl < IPV4_HLEN || buf[h + 9] !== IPPROTO_UDP) return -1;
  if ((((buf[h + 6] << 8) | buf[h + 7]) & IP_OFFMASK) !== 0) return -1;
  if (14 + ihl + UDP_HLEN > len) return -1;
  const u = h + ihl;
  return (buf[u + 2] << 8) | buf[u + 3];
}
