/**
 * A market-data feed handler: keeps the top of book of every instrument from a binary UDP feed,
 * detects sequence gaps and duplicates, and answers snapshot requests, all in the polling loop
 * with preallocated typed arrays (nothing allocated per packet).
 *
 * ## The feed (UDP to `port`, default 9000, to any address: usually a multicast group)
 *
 * Every number is big-endian (network order). The UDP payload is a 16-byte header and `count`
 * messages of 16 bytes:
 *
 * | offset | size | field                                                                  |
 * | ------ | ---- | ---------------------------------------------------------------------- |
 * | 0      | 8    | sequence: u64, one per packet, +1 from packet to packet (below 2^53)   |
 * | 8      | 2    | count: u16, messages in this packet                                    |
 * | 10     | 6    | padding (zero)                                                         |
 * | 16 + 16k | 16 | message k:                                                           |
 * |   +0   | 4    | instrument: u32, below the `instruments` option                        |
 * |   +4   | 1    | side: u8, 0 bid, 1 ask                                                 |
 * |   +5   | 3    | padding (zero)                                                         |
 * |   +8   | 4    | price: u32, in 1/10000 of the currency unit                            |
 * |   +12  | 4    | quantity: u32 (0: nothing on that side)                                |
 *
 * A message replaces the instrument's best bid or best ask (price and quantity) with its own.
 * The first packet starts the stream. A packet whose sequence is above the last one applied is
 * applied; if it skipped sequence numbers that is one gap (`gaps`) and the skipped numbers count
 * in `missing`. A packet whose sequence is not above the last applied one (a duplicate, or a
 * packet that arrives after a later one) is counted in `duplicates` and not applied. Feed packets
 * are dropped after processing.
 *
 * ## Snapshots (UDP to `snapshot_port`, default 9001, unicast to this interface's MAC)
 *
 * The request's payload starts with the instrument id (u32). The reply is built in place in the
 * request's frame and sent back (MACs, IPv4 addresses and UDP ports swapped, TTL 64, lengths and
 * both checksums computed); its 32-byte payload:
 *
 * | offset | size | field                                                                  |
 * | ------ | ---- | ---------------------------------------------------------------------- |
 * | 0      | 4    | instrument: u32, as requested                                          |
 * | 4      | 1    | status: u8, 0 ok, 1 unknown instrument (not below `instruments`)       |
 * | 5      | 3    | padding (zero)                                                         |
 * | 8      | 4    | best bid price: u32 (0 before any bid)                                 |
 * | 12     | 4    | best bid quantity: u32                                                 |
 * | 16     | 4    | best ask price: u32 (0 before any ask)                                 |
 * | 20     | 4    | best ask quantity: u32                                                 |
 * | 24     | 8    | last sequence applied: u64 (0 before the first packet)                 |
 *
 * Options (`--handler-options`, all optional): `{"port": 9000, "snapshot_port": 9001,
 * "instruments": 1024}` (instrument ids are 0..instruments-1; at most 1048576).
 *
 * Counters: `packets` (feed packets, duplicates included), `messages` (messages applied),
 * `gaps`, `missing`, `duplicates` (see above), `bad_messages` (instrument out of range or side
 * not 0/1: skipped), `snapshots` (replies sent), `malformed` (feed packets or requests that are
 * truncated, fragmented, have inconsistent lengths or IP options (requests), or a sequence of
 * 2^53 or more), `bad_checksum`, `other` (anything else: dropped).
 *
 * State lives in the module, and every queue's Worker loads its own copy: run it on one queue
 * (the default), or each queue keeps its own book and sequence. A reload (SIGHUP) starts a new,
 * empty book.
 *
 * Run (as root), then drive it with `examples/feed_gen.py` from the other end of the veth:
 * `deno run -A cli/main.ts --iface veth-bypass --handler examples/feed_handler.ts --steer
 * udp:9000,9001`
 *
 * @module
 */
import type { Handler } from "../mod.ts";

/** Counter slots, in the order of `counters`. */
const PACKETS = 0,
  MESSAGES = 1,
  GAPS = 2,
  MISSING = 3,
  DUPLICATES = 4,
  BAD_MESSAGES = 5,
  SNAPSHOTS = 6,
  MALFORMED = 7,
  BAD_CHECKSUM = 8,
  OTHER = 9;

const HEADER = 16, MESSAGE = 16, REPLY = 32;
/** 2^32, to read a u64 as two u32 without BigInt. */
const TWO32 = 4294967296;
/** Sequence numbers must stay below 2^53 (exact in a double): the high word below 2^21. */
const MAX_SEQ_HI = 0x200000;

let feedPort = 9000, snapshotPort = 9001, instruments = 1024;
/** The book, one slot per instrument id (made in init). */
let bidPx = new Uint32Array(0),
  bidQty = new Uint32Array(0),
  askPx = new Uint32Array(0),
  askQty = new Uint32Array(0);
/** The last sequence applied (exact up to 2^53); `started` once a packet was applied. */
let lastSeq = 0, started = false;

/**
 * One's-complement sum of the big-endian 16-bit words of `m[off, off + len)` added to `sum`,
 * folded to 16 bits (an odd last byte is padded with zero).
 */
function sum16(m: Uint8Array, off: number, len: number, sum: number): number {
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) sum += (m[i] << 8) | m[i + 1];
  if (i === end) sum += m[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The UDP pseudo-header's sum for the IPv4 header at `ip` and UDP length `ulen`. */
function pseudo(v: DataView, ip: number, ulen: number): number {
  return v.getUint16(ip + 12) + v.getUint16(ip + 14) + v.getUint16(ip + 16) +
    v.getUint16(ip + 18) + 17 + ulen;
}

/** An integer option in `lo..hi`, or `def` when absent; throws one line otherwise. */
function intOption(o: Readonly<Record<string, unknown>>, k: string, def: number, hi: number) {
  const x = o[k] ?? def;
  if (typeof x !== "number" || !Number.isInteger(x) || x < 1 || x > hi) {
    throw new Error(`feed_handler: "${k}" must be an integer 1..${hi}, got ${JSON.stringify(x)}`);
  }
  return x;
}

/** The feed handler (see the module comment). */
export default {
  counters: [
    "packets",
    "messages",
    "gaps",
    "missing",
    "duplicates",
    "bad_messages",
    "snapshots",
    "malformed",
    "bad_checksum",
    "other",
  ],
  init(ctx) {
    const o = ctx.options;
    for (const k of Object.keys(o)) {
      if (!["port", "snapshot_port", "instruments"].includes(k)) {
        throw new Error(`feed_handler: unknown option "${k}" (port, snapshot_port, instruments)`);
      }
    }
    feedPort = intOption(o, "port", 9000, 65535);
    snapshotPort = intOption(o, "snapshot_port", 9001, 65535);
    instruments = intOption(o, "instruments", 1024, 1 << 20);
    if (feedPort === snapshotPort) {
      throw new Error(`feed_handler: "port" and "snapshot_port" are both ${feedPort}`);
    }
    // A fresh book (init also runs after a reload: the new module starts empty).
    bidPx = new Uint32Array(instruments);
    bidQty = new Uint32Array(instruments);
    askPx = new Uint32Array(instruments);
    askQty = new Uint32Array(instruments);
    lastSeq = 0;
    started = false;
  },
  burst(b, ctx) {
    const m = b.bytes, v = b.view, c = ctx.counters, mac = ctx.mac;
    for (let i = 0; i < b.length; i++) {
      const s = b.start(i), n = b.size(i), ip = s + 14;
      b.drop(i); // unless it becomes a snapshot reply
      if (n < 34 || v.getUint16(s + 12) !== 0x0800 || (m[ip] >> 4) !== 4 || m[ip + 9] !== 17) {
        c[OTHER]++;
        continue;
      }
      const ihl = (m[ip] & 15) << 2, udp = ip + ihl;
      const dport = udp + 8 <= s + n && ihl >= 20 ? v.getUint16(udp + 2) : -1;
      if (dport !== feedPort && dport !== snapshotPort) {
        c[OTHER]++;
        continue;
      }
      const total = v.getUint16(ip + 2), ulen = v.getUint16(udp + 4);
      if (
        total < ihl + 8 || 14 + total > n || ulen < 8 || ulen > total - ihl ||
        (v.getUint16(ip + 6) & 0x3fff) !== 0 // MF flag or a fragment offset
      ) {
        c[MALFORMED]++;
        continue;
      }
      if (
        sum16(m, ip, ihl, 0) !== 0xffff ||
        (v.getUint16(udp + 6) !== 0 && sum16(m, udp, ulen, pseudo(v, ip, ulen)) !== 0xffff)
      ) {
        c[BAD_CHECKSUM]++;
        continue;
      }
      const p = udp + 8, plen = ulen - 8;
      if (dport === feedPort) {
        // The whole packet is checked before anything is applied.
        if (plen < HEADER) {
          c[MALFORMED]++;
          continue;
        }
        const hi = v.getUint32(p), count = v.getUint16(p + 8);
        if (HEADER + count * MESSAGE > plen || hi >= MAX_SEQ_HI) {
          c[MALFORMED]++;
          continue;
        }
        c[PACKETS]++;
        const seq = hi * TWO32 + v.getUint32(p + 4);
        if (started && seq <= lastSeq) {
          c[DUPLICATES]++;
          continue;
        }
        if (started && seq > lastSeq + 1) {
          c[GAPS]++;
          c[MISSING] += seq - lastSeq - 1;
        }
        started = true;
        lastSeq = seq;
        for (let k = 0, q = p + HEADER; k < count; k++, q += MESSAGE) {
          const id = v.getUint32(q), side = m[q + 4];
          if (id >= instruments || side > 1) {
            c[BAD_MESSAGES]++;
            continue;
          }
          if (side === 0) {
            bidPx[id] = v.getUint32(q + 8);
            bidQty[id] = v.getUint32(q + 12);
          } else {
            askPx[id] = v.getUint32(q + 8);
            askQty[id] = v.getUint32(q + 12);
          }
          c[MESSAGES]++;
        }
        continue;
      }
      // A snapshot request: unicast to us, no IP options, an instrument id, room for the reply.
      const len = 14 + 20 + 8 + REPLY;
      if (
        ihl !== 20 || plen < 4 || m[s] !== mac[0] || m[s + 1] !== mac[1] || m[s + 2] !== mac[2] ||
        m[s + 3] !== mac[3] || m[s + 4] !== mac[4] || m[s + 5] !== mac[5] ||
        (m[s + 6] & 1) !== 0 || m[ip + 12] === 0 || m[ip + 12] >= 224 || m[ip + 16] >= 224 ||
        (s & (ctx.frameSize - 1)) + len > ctx.frameSize
      ) {
        c[MALFORMED]++;
        continue;
      }
      const id = v.getUint32(p);
      // Ethernet: back to the sender, from us.
      for (let k = 0; k < 6; k++) {
        m[s + k] = m[s + 6 + k];
        m[s + 6 + k] = mac[k];
      }
      // IPv4: addresses swapped, new length and TTL, checksum computed.
      const src = v.getUint32(ip + 12);
      v.setUint32(ip + 12, v.getUint32(ip + 16));
      v.setUint32(ip + 16, src);
      v.setUint16(ip + 2, 20 + 8 + REPLY);
      m[ip + 8] = 64;
      v.setUint16(ip + 10, 0);
      v.setUint16(ip + 10, ~sum16(m, ip, 20, 0) & 0xffff);
      // UDP: ports swapped, the reply, checksum computed (0 is sent as 0xffff).
      const sport = v.getUint16(udp);
      v.setUint16(udp, snapshotPort);
      v.setUint16(udp + 2, sport);
      v.setUint16(udp + 4, 8 + REPLY);
      v.setUint16(udp + 6, 0);
      const known = id < instruments;
      v.setUint32(p, id);
      v.setUint32(p + 4, known ? 0 : 0x01000000); // status byte, then 3 bytes of padding
      v.setUint32(p + 8, known ? bidPx[id] : 0);
      v.setUint32(p + 12, known ? bidQty[id] : 0);
      v.setUint32(p + 16, known ? askPx[id] : 0);
      v.setUint32(p + 20, known ? askQty[id] : 0);
      v.setUint32(p + 24, Math.floor(lastSeq / TWO32));
      v.setUint32(p + 28, lastSeq % TWO32);
      const sum = ~sum16(m, udp, 8 + REPLY, pseudo(v, ip, 8 + REPLY)) & 0xffff;
      v.setUint16(udp + 6, sum === 0 ? 0xffff : sum);
      c[SNAPSHOTS]++;
      b.send(i, len);
    }
  },
} satisfies Handler;
