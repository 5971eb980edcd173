/**
 * pcapng, the capture format `tcpdump -r` and Wireshark read: the blocks byPassRT writes (Section
 * Header, Interface Description, Enhanced Packet) and a reader for them. Blocks are written in
 * the host's byte order (the Section Header's byte-order magic tells readers which), every block
 * is a multiple of 4 bytes and ends with its own length repeated. Timestamps are microseconds
 * since the Unix epoch (`if_tsresol` 6). Spec: IETF draft-ietf-opsawg-pcapng.
 *
 * @module
 */

/** Block type of a Section Header Block. */
export const SHB_TYPE = 0x0a0d0d0a;
/** Block type of an Interface Description Block. */
export const IDB_TYPE = 0x00000001;
/** Block type of an Enhanced Packet Block. */
export const EPB_TYPE = 0x00000006;
/** The Section Header's byte-order magic. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** LINKTYPE_ETHERNET. */
export const LINKTYPE_ETHERNET = 1;
/** The largest snap length readers accept (libpcap's MAXIMUM_SNAPLEN). */
export const MAX_SNAPLEN = 262144;

/** `epb_flags` direction bits: received. */
export const DIR_INBOUND = 1;
/** `epb_flags` direction bits: sent. */
export const DIR_OUTBOUND = 2;

/** Bytes of an Enhanced Packet Block before the packet data. */
export const EPB_HEADER_BYTES = 28;
/** Bytes of the `epb_flags` option plus `opt_endofopt`. */
export const EPB_FLAGS_BYTES = 12;

/** Option codes used here. */
const OPT_ENDOFOPT = 0, OPT_SHB_USERAPPL = 4, OPT_IF_NAME = 2, OPT_IF_DESCRIPTION = 3;
const OPT_IF_TSRESOL = 9, OPT_EPB_FLAGS = 2;

/** `n` rounded up to a multiple of 4. */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Length of the Enhanced Packet Block for `caplen` captured bytes, with or without the
 * `epb_flags` option (direction).
 */
export function epbLength(caplen: number, flags: boolean): number {
  return EPB_HEADER_BYTES + pad4(caplen) + (flags ? EPB_FLAGS_BYTES : 0) + 4;
}

/** True on a little-endian host: blocks are written in host order. */
export const LITTLE: boolean = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

const enc = new TextEncoder();

/** Options as (code, bytes) pairs, encoded with padding and the end-of-options marker. */
function options(list: [number, Uint8Array][]): Uint8Array {
  const len = list.reduce((a, [, v]) => a + 4 + pad4(v.length), 0) + 4;
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const [code, v] of list) {
    dv.setUint16(o, code, LITTLE);
    dv.setUint16(o + 2, v.length, LITTLE);
    out.set(v, o + 4);
    o += 4 + pad4(v.length);
  }
  dv.setUint32(o, OPT_ENDOFOPT, LITTLE);
  return out;
}

/** A block of `type` with `body` (a multiple of 4 bytes), lengths before and after. */
function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + body.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type, LITTLE);
  dv.setUint32(4, total, LITTLE);
  out.set(body, 8);
  dv.setUint32(total - 4, total, LITTLE);
  return out;
}

/**
 * A Section Header Block (pcapng 1.0, section length unknown) naming the writing application.
 *
 * @example
 * ```ts
 * import { sectionHeader } from "./pcapng.ts";
 * sectionHeader("byPassRT").length % 4; // 0
 * ```
 */
export function sectionHeader(userAppl: string): Uint8Array {
  const fixed = new Uint8Array(16);
  const dv = new DataView(fixed.buffer);
  dv.setUint32(0, BYTE_ORDER_MAGIC, LITTLE);
  dv.setUint16(4, 1, LITTLE); // major
  dv.setUint16(6, 0, LITTLE); // minor
  dv.setBigInt64(8, -1n, LITTLE); // section length: not specified
  const opts = options([[OPT_SHB_USERAPPL, enc.encode(userAppl)]]);
  return block(SHB_TYPE, concat([fixed, opts]));
}

/** What an Interface Description Block says. */
export interface InterfaceDescription {
  /** `if_name`, e.g. the interface name. */
  name: string;
  /** `if_description`, e.g. "queue 0". */
  description?: string;
  /** Largest number of bytes captured per packet (1..{@link MAX_SNAPLEN}). */
  snaplen: number;
}

/**
 * An Interface Description Block: Ethernet, the snap length, microsecond timestamps.
 *
 * @example
 * ```ts
 * import { interfaceDescription } from "./pcapng.ts";
 * interfaceDescription({ name: "veth0", snaplen: 262144 }).length % 4; // 0
 * ```
 */
export function interfaceDescription(d: InterfaceDescription): Uint8Array {
  const fixed = new Uint8Array(8);
  const dv = new DataView(fixed.buffer);
  dv.setUint16(0, LINKTYPE_ETHERNET, LITTLE);
  dv.setUint32(4, d.snaplen, LITTLE);
  const list: [number, Uint8Array][] = [[OPT_IF_NAME, enc.encode(d.name)]];
  if (d.description) list.push([OPT_IF_DESCRIPTION, enc.encode(d.description)]);
  list.push([OPT_IF_TSRESOL, Uint8Array.of(6)]);
  return block(IDB_TYPE, concat([fixed, options(list)]));
}

/**
 * An Enhanced Packet Block, as one allocation (for tests and tools; the capture ring writes the
 * same layout in place, see `ring.ts`).
 *
 * @example
 * ```ts
 * import { enhancedPacket } from "./pcapng.ts";
 * enhancedPacket({ interfaceId: 0, timestampUs: 1, data: new Uint8Array(61) }).length; // 96
 * ```
 */
export function enhancedPacket(p: {
  interfaceId: number;
  timestampUs: number;
  data: Uint8Array;
  origlen?: number;
  direction?: number;
}): Uint8Array {
  const dir = p.direction ?? 0;
  const total = epbLength(p.data.length, dir !== 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const hi = Math.floor(p.timestampUs / 2 ** 32);
  dv.setUint32(0, EPB_TYPE, LITTLE);
  dv.setUint32(4, total, LITTLE);
  dv.setUint32(8, p.interfaceId, LITTLE);
  dv.setUint32(12, hi, LITTLE);
  dv.setUint32(16, p.timestampUs - hi * 2 ** 32, LITTLE);
  dv.setUint32(20, p.data.length, LITTLE);
  dv.setUint32(24, p.origlen ?? p.data.length, LITTLE);
  out.set(p.data, EPB_HEADER_BYTES);
  if (dir !== 0) {
    const o = total - 16;
    dv.setUint16(o, OPT_EPB_FLAGS, LITTLE);
    dv.setUint16(o + 2, 4, LITTLE);
    dv.setUint32(o + 4, dir, LITTLE);
    dv.setUint32(o + 8, OPT_ENDOFOPT, LITTLE);
  }
  dv.setUint32(total - 4, total, LITTLE);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A packet read back from a pcapng file. */
export interface PcapngPacket {
  /** Index of its interface (order of the Interface Description Blocks). */
  interfaceId: number;
  /** Timestamp in microseconds since the epoch (with `if_tsresol` 6). */
  timestampUs: number;
  /** Captured length. */
  caplen: number;
  /** Length on the wire. */
  origlen: number;
  /** The captured bytes. */
  data: Uint8Array;
  /** Direction from `epb_flags`: 1 inbound, 2 outbound, 0 not given. */
  direction: number;
}

/** What {@link readPcapng} found. */
export interface Pcapng {
  /** `shb_userappl` of the (first) section. */
  userAppl: string;
  /** The interfaces, in order. */
  interfaces: (InterfaceDescription & { linktype: number; tsresol: number })[];
  /** The packets, in file order. */
  packets: PcapngPacket[];
}

/**
 * Parse a pcapng file (one section, host byte order, the blocks above); throws on anything
 * malformed: a bad length, a length that is not a multiple of 4, trailing and leading lengths
 * that differ, a packet for an undeclared interface, a caplen above the snap length.
 *
 * @example
 * ```ts
 * import { enhancedPacket, interfaceDescription, readPcapng, sectionHeader } from "./pcapng.ts";
 * const file = new Uint8Array([
 *   ...sectionHeader("me"),
 *   ...interfaceDescription({ name: "veth0", snaplen: 64 }),
 *   ...enhancedPacket({ interfaceId: 0, timestampUs: 1, data: new Uint8Array(60) }),
 * ]);
 * readPcapng(file).packets.length; // 1
 * ```
 */
export function readPcapng(bytes: Uint8Array): Pcapng {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Pcapng = { userAppl: "", interfaces: [], packets: [] };
  const dec = new TextDecoder();
  let o = 0;
  const fail = (why: string): never => {
    throw new Error(`pcapng: ${why} at byte ${o}`);
  };
  const opts = (from: number, to: number, each: (code: number, v: Uint8Array) => void) => {
    let p = from;
    while (p + 4 <= to) {
      const code = dv.getUint16(p, LITTLE), len = dv.getUint16(p + 2, LITTLE);
      if (code === OPT_ENDOFOPT) return;
      if (p + 4 + len > to) fail("option runs past its block");
      each(code, bytes.subarray(p + 4, p + 4 + len));
      p += 4 + pad4(len);
    }
  };
  while (o < bytes.length) {
    if (o + 12 > bytes.length) fail("truncated block");
    const type = dv.getUint32(o, LITTLE), len = dv.getUint32(o + 4, LITTLE);
    if (len < 12 || len % 4 !== 0 || o + len > bytes.length) fail(`bad block length ${len}`);
    if (dv.getUint32(o + len - 4, LITTLE) !== len) fail("trailing block length differs");
    const end = o + len - 4;
    if (type === SHB_TYPE) {
      if (dv.getUint32(o + 8, LITTLE) !== BYTE_ORDER_MAGIC) fail("byte-order magic");
      opts(o + 24, end, (c, v) => {
        if (c === OPT_SHB_USERAPPL) out.userAppl = dec.decode(v);
      });
    } else if (o === 0) {
      fail("the file does not start with a Section Header Block");
    } else if (type === IDB_TYPE) {
      const i = {
        name: "",
        snaplen: dv.getUint32(o + 12, LITTLE),
        linktype: dv.getUint16(o + 8, LITTLE),
        tsresol: 6,
      } as Pcapng["interfaces"][number];
      opts(o + 16, end, (c, v) => {
        if (c === OPT_IF_NAME) i.name = dec.decode(v);
        else if (c === OPT_IF_DESCRIPTION) i.description = dec.decode(v);
        else if (c === OPT_IF_TSRESOL) i.tsresol = v[0];
      });
      out.interfaces.push(i);
    } else if (type === EPB_TYPE) {
      const interfaceId = dv.getUint32(o + 8, LITTLE);
      const iface = out.interfaces[interfaceId] ?? fail(`packet for interface ${interfaceId}`);
      const caplen = dv.getUint32(o + 20, LITTLE);
      if (EPB_HEADER_BYTES + pad4(caplen) + 4 > len) fail(`caplen ${caplen} exceeds its block`);
      if (iface.snaplen !== 0 && caplen > iface.snaplen) fail(`caplen ${caplen} > snaplen`);
      let direction = 0;
      opts(o + EPB_HEADER_BYTES + pad4(caplen), end, (c, v) => {
        if (c === OPT_EPB_FLAGS && v.length === 4) {
          direction = new DataView(v.buffer, v.byteOffset, 4).getUint32(0, LITTLE) & 3;
        }
      });
      out.packets.push({
        interfaceId,
        timestampUs: dv.getUint32(o + 12, LITTLE) * 2 ** 32 + dv.getUint32(o + 16, LITTLE),
        caplen,
        origlen: dv.getUint32(o + 24, LITTLE),
        data: bytes.slice(o + EPB_HEADER_BYTES, o + EPB_HEADER_BYTES + caplen),
        direction,
      });
    }
    o += len;
  }
  return out;
}
