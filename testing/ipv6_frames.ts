/**
 * Builders of IPv6 test frames (UDP, ICMPv6 echo request, Neighbor Solicitation), with their
 * checksums computed here, independently of packet/ (a plain RFC 1071 sum over a pseudo-header
 * copied out), so a test compares two implementations. Tests only: allocates freely.
 *
 * @module
 */

/** Bytes of a MAC "aa:bb:..." or an IPv6 address in full or `::` form. */
export function macBytes(mac: string): number[] {
  return mac.split(":").map((x) => parseInt(x, 16));
}

/** 16 bytes of an IPv6 address (text with at most one `::`, no embedded IPv4). */
export function ip6Bytes(s: string): number[] {
  const [a, b] = s.includes("::") ? s.split("::") : [s, undefined];
  const words = (p: string) => p === "" ? [] : p.split(":").map((w) => parseInt(w, 16));
  const head = words(a), tail = b === undefined ? [] : words(b);
  const all = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

/** The solicited-node multicast address of `ip6` (16 bytes). */
export function solicitedNode(ip6: number[]): number[] {
  return [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, ip6[13], ip6[14], ip6[15]];
}

/** Its multicast MAC, 33:33 plus the address's low 32 bits. */
export function multicastMac(ip6: number[]): number[] {
  return [0x33, 0x33, ip6[12], ip6[13], ip6[14], ip6[15]];
}

function sum16(b: number[]): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Fields of an IPv6 frame; the defaults make a valid packet. */
export interface Ip6Frame {
  dst: number[];
  src: number[];
  srcIp: number[];
  dstIp: number[];
  /** Next header of the upper-layer message (58 ICMPv6, 17 UDP). */
  proto: number;
  hopLimit?: number;
  /** Traffic class (8 bits). */
  tclass?: number;
  flowLabel?: number;
  /** Extension headers to put in front (each: [next header number of itself, ...body]). */
  ext?: { type: number; bytes: number[] }[];
  /** Bytes of 802.1Q tags (each the 2-byte TCI) to put after the MACs. */
  tags?: number[];
  /** Bytes of Ethernet padding after the packet. */
  pad?: number;
  /** Break the upper-layer checksum. */
  badSum?: boolean;
}

/**
 * An Ethernet frame carrying an IPv6 packet whose upper-layer message is `l4` (its checksum field
 * at `sumAt` is filled in over the RFC 8200 pseudo-header).
 */
export function ip6Frame(o: Ip6Frame, l4: number[], sumAt: number): Uint8Array {
  const msg = l4.slice();
  msg[sumAt] = msg[sumAt + 1] = 0;
  const len = msg.length;
  const pseudo = [...o.srcIp, ...o.dstIp, 0, 0, len >> 8, len & 0xff, 0, 0, 0, o.proto];
  let c = sum16([...pseudo, ...msg]);
  if (o.proto === 17 && c === 0) c = 0xffff;
  if (o.badSum) c ^= 0x0101;
  msg[sumAt] = c >> 8;
  msg[sumAt + 1] = c & 0xff;
  const ext = o.ext ?? [];
  let payload = msg;
  let next = o.proto;
  for (let i = ext.length - 1; i >= 0; i--) {
    payload = [next, ...ext[i].bytes, ...payload];
    next = ext[i].type;
  }
  const tc = o.tclass ?? 0, fl = o.flowLabel ?? 0;
  const ip = [
    0x60 | (tc >> 4),
    ((tc & 0xf) << 4) | ((fl >> 16) & 0xf),
    (fl >> 8) & 0xff,
    fl & 0xff,
    payload.length >> 8,
    payload.length & 0xff,
    next,
    o.hopLimit ?? 64,
    ...o.srcIp,
    ...o.dstIp,
  ];
  const tags = (o.tags ?? []).flatMap((tci) => [0x81, 0x00, tci >> 8, tci & 0xff]);
  return Uint8Array.from([
    ...o.dst,
    ...o.src,
    ...tags,
    0x86,
    0xdd,
    ...ip,
    ...payload,
    ...new Array(o.pad ?? 0).fill(0),
  ]);
}

/** An IPv6/UDP frame from port 20000 to `port` with `payload`. */
export function udp6Frame(o: Omit<Ip6Frame, "proto">, port: number, payload: number[]): Uint8Array {
  const len = 8 + payload.length;
  return ip6Frame({ ...o, proto: 17 }, [
    0x4e,
    0x20,
    port >> 8,
    port & 0xff,
    len >> 8,
    len & 0xff,
    0,
    0,
    ...payload,
  ], 6);
}

/** An ICMPv6 echo request (type 128) with `id`, `seq`, `code` and `data`. */
export function echo6Frame(
  o: Omit<Ip6Frame, "proto">,
  id: number,
  seq: number,
  data: number[],
  code = 0,
): Uint8Array {
  return ip6Frame({ ...o, proto: 58 }, [
    128,
    code,
    0,
    0,
    id >> 8,
    id & 0xff,
    seq >> 8,
    seq & 0xff,
    ...data,
  ], 2);
}

/**
 * A Neighbor Solicitation for `target` (hop limit 255 unless told), with a Source Link-Layer
 * Address option of `sll` when given, and `extraOpts` (raw option bytes) after it.
 */
export function nsFrame(
  o: Omit<Ip6Frame, "proto">,
  target: number[],
  sll?: number[],
  extraOpts: number[] = [],
  code = 0,
): Uint8Array {
  const opts = [...(sll ? [1, 1, ...sll] : []), ...extraOpts];
  return ip6Frame(
    { hopLimit: 255, ...o, proto: 58 },
    [135, code, 0, 0, 0, 0, 0, 0, ...target, ...opts],
    2,
  );
}

/** True if `f` (untagged) is IPv6 + ICMPv6 and its upper-layer checksum verifies. */
export function icmp6ChecksumOk(f: Uint8Array): boolean {
  if (f.length < 54 || f[12] !== 0x86 || f[13] !== 0xdd || f[20] !== 58) return false;
  const len = (f[18] << 8) | f[19];
  const pseudo = [...f.subarray(22, 54), 0, 0, len >> 8, len & 0xff, 0, 0, 0, 58];
  return sum16([...pseudo, ...f.subarray(54, 54 + len)]) === 0;
}
