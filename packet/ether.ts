/**
 * Ethernet II constants and MAC helpers. Hot path: no allocation.
 * @module
 */

/** Ethernet header length (dst MAC, src MAC, ethertype), without VLAN tags. */
export const ETH_HLEN = 14;
/** Length of a MAC address in bytes. */
export const ETH_ALEN = 6;
/** Minimum Ethernet frame length without FCS (shorter frames are padded by the NIC). */
export const ETH_ZLEN = 60;
/** Ethertype of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** Ethertype of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** Ethertype of an 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** Ethertype of an 802.1ad (QinQ) service tag. */
export const ETHERTYPE_QINQ = 0x88a8;
/** Ethertype of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;

/**
 * Ethertype of the frame at `off` (bytes 12..13), or -1 if `len < ETH_HLEN`.
 *
 * @example
 * ```ts
 * if (etherType(umem, off, len) === ETHERTYPE_ARP) { ... }
 * ```
 */
export function etherType(buf: Uint8Array, off: number, len: number): number {
  if (len < ETH_HLEN) return -1;
  return (buf[off + 12] << 8) | buf[off + 13];
}

/**
 * Swaps the destination and source MAC addresses of the frame at `off` in place.
 * Caller guarantees at least 12 bytes.
 *
 * @example
 * ```ts
 * macSwap(umem, off); // dst <-> src
 * ```
 */
/**
 * Swap destination and source MAC in place through a 16-bit view of the same memory: three
 * 16-bit swaps instead of six byte swaps. `off` is a byte offset and must be even (AF_XDP
 * frames always are: they start at a frame boundary plus the 256-byte headroom).
 *
 * @example
 * ```ts
 * import { macSwap16 } from "./ether.ts";
 * const frame = new Uint8Array(14);
 * frame.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
 * macSwap16(new Uint16Array(frame.buffer), 0);
 * frame[0]; // 7
 * ```
 */
export function macSwap16(u16: Uint16Array, off: number): void {
  const i = off >>> 1;
  const a = u16[i], b = u16[i + 1], c = u16[i + 2];
  u16[i] = u16[i + 3];
  u16[i + 1] = u16[i + 4];
  u16[i + 2] = u16[i + 5];
  u16[i + 3] = a;
  u16[i + 4] = b;
  u16[i + 5] = c;
}

/**
 * Swap destination and source MAC in place through a 32-bit view of the same memory: three
 * loads and three stores. `off` must be a multiple of 4 (AF_XDP frames start at a frame boundary
 * plus the 256-byte headroom); use {@link macSwap16} otherwise. Little-endian hosts only.
 *
 * @example
 * ```ts
 * import { macSwap32 } from "./ether.ts";
 * const frame = new Uint8Array(16);
 * frame.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
 * macSwap32(new Uint32Array(frame.buffer), 0);
 * frame[0]; // 7
 * ```
 */
export function macSwap32(u32: Uint32Array, off: number): void {
  const i = off >>> 2;
  const a = u32[i], b = u32[i + 1], c = u32[i + 2];
  // bytes: a = d0 d1 d2 d3, b = d4 d5 s0 s1, c = s2 s3 s4 s5 (little-endian words)
  u32[i] = (b >>> 16) | (c << 16);
  u32[i + 1] = (c >>> 16) | (a << 16);
  u32[i + 2] = (a >>> 16) | (b << 16);
}

/**
 * Swap destination and source MAC in place with the widest access the alignment of `off`
 * allows: {@link macSwap32} on 4-byte aligned offsets (every AF_XDP frame), else
 * {@link macSwap16}. `u16` and `u32` view the same memory from byte 0; `off` must be even.
 *
 * @example
 * ```ts
 * import { macSwapAligned } from "./ether.ts";
 * const mem = new ArrayBuffer(64);
 * macSwapAligned(new Uint16Array(mem), new Uint32Array(mem), 0);
 * ```
 */
export function macSwapAligned(u16: Uint16Array, u32: Uint32Array, off: number): void {
  if ((off & 3) === 0) macSwap32(u32, off);
  else macSwap16(u16, off);
}

/**
 * Swap the destination and source MAC addresses of the frame at `buf[off]`, byte by byte (any
 * offset; {@link macSwapAligned} is faster on the UMEM's word views).
 *
 * @example
 * ```ts
 * import { macSwap } from "./ether.ts";
 * const f = new Uint8Array(14).fill(1, 0, 6).fill(2, 6, 12);
 * macSwap(f, 0); // f now starts 2,2,2,2,2,2,1,1,1,1,1,1
 * ```
 */
export function macSwap(buf: Uint8Array, off: number): void {
  for (let i = 0; i < ETH_ALEN; i++) {
    const t = buf[off + i];
    buf[off + i] = buf[off + 6 + i];
    buf[off + 6 + i] = t;
  }
}

/**
 * True if the MAC at `buf[off]` is a group (multicast) address, broadcast included
 * (I/G bit, least significant bit of the first byte).
 *
 * @example
 * ```ts
 * isMulticastMac(new Uint8Array([0x01, 0, 0x5e, 0, 0, 1]), 0); // true
 * ```
 */
export function isMulticastMac(buf: Uint8Array, off: number): boolean {
  return (buf[off] & 1) !== 0;
}

/**
 * True if the MAC at `buf[off]` is ff:ff:ff:ff:ff:ff.
 *
 * @example
 * ```ts
 * isBroadcastMac(new Uint8Array(6).fill(0xff), 0); // true
 * ```
 */
export function isBroadcastMac(buf: Uint8Array, off: number): boolean {
  return (buf[off] & buf[off + 1] & buf[off + 2] & buf[off + 3] & buf[off + 4] & buf[off + 5]) ===
    0xff;
}

/**
 * True if the MAC at `buf[off]` is 00:00:00:00:00:00.
 *
 * @example
 * ```ts
 * isZeroMac(new Uint8Array(6), 0); // true
 * ```
 */
export function isZeroMac(buf: Uint8Array, off: number): boolean {
  return (buf[off] | buf[off + 1] | buf[off + 2] | buf[off + 3] | buf[off + 4] | buf[off + 5]) ===
    0;
}

/**
 * True if the 6 bytes at `buf[off]` equal `mac[0..5]`.
 *
 * @example
 * ```ts
 * macEquals(umem, off, ourMac); // is the frame's dst MAC ours?
 * ```
 */
export function macEquals(buf: Uint8Array, off: number, mac: Uint8Array): boolean {
  return buf[off] === mac[0] && buf[off + 1] === mac[1] && buf[off + 2] === mac[2] &&
    buf[off + 3] === mac[3] && buf[off + 4] === mac[4] && buf[off + 5] === mac[5];
}

/**
 * Writes `mac[0..5]` to `buf[off, off+6)`.
 *
 * @example
 * ```ts
 * writeMac(umem, off + 6, ourMac); // set the source MAC
 * ```
 */
export function writeMac(buf: Uint8Array, off: number, mac: Uint8Array): void {
  buf[off] = mac[0];
  buf[off + 1] = mac[1];
  buf[off + 2] = mac[2];
  buf[off + 3] = mac[3];
  buf[off + 4] = mac[4];
  buf[off + 5] = mac[5];
}

/**
 * Copies the 6-byte MAC at `buf[src]` to `buf[dst]` (regions must not partially overlap).
 *
 * @example
 * ```ts
 * copyMac(umem, off, off + 6); // dst MAC := src MAC
 * ```
 */
export function copyMac(buf: Uint8Array, dst: number, src: number): void {
  buf[dst] = buf[src];
  buf[dst + 1] = buf[src + 1];
  buf[dst + 2] = buf[src + 2];
  buf[dst + 3] = buf[src + 3];
  buf[dst + 4] = buf[src + 4];
  buf[dst + 5] = buf[src + 5];
}
