/**
 * The capture ring: a single-producer single-consumer byte ring in a SharedArrayBuffer between a
 * polling Worker (producer: copies frames in, in the fast path) and the main thread (consumer:
 * writes them to the file). Each record is a complete pcapng Enhanced Packet Block, so the
 * consumer writes ring bytes to the file as they are.
 *
 * Layout: producer byte index at byte 0, consumer byte index at byte 64, the stop word at byte
 * 128 (each on its own cache line), records from byte {@link CAPTURE_HEADER_BYTES}. Indices grow
 * modulo 2^30, so that they stay small integers (V8 keeps them untagged: no deoptimisation, no
 * allocation when they would pass 2^30 or 2^31). A record never wraps: when it does not fit
 * before the end of the ring, the producer writes a 0 word there (a wrap marker: no pcapng block
 * has type 0) and puts the record at the start. The producer publishes its index once per burst
 * (release), after the records' bytes; the consumer releases space once per drain. A full ring
 * never blocks the producer: the frame is not copied and is counted as dropped.
 *
 * @module
 */

/** Bytes before the records. */
export const CAPTURE_HEADER_BYTES = 192;
const PROD = 0, CONS = 16, STOP = 32; // u32 indices in the header (as CaptureProducer's)

/** Smallest and largest record area. */
export const MIN_CAPTURE_RING = 1 << 16, MAX_CAPTURE_RING = 1 << 28;
/** Indices run modulo 2^30 (a multiple of every ring size). */
const INDEX_MASK = 0x3fffffff;

/**
 * A SharedArrayBuffer for a capture ring with `size` bytes of records (a power of two).
 *
 * @example
 * ```ts
 * import { captureRingMemory } from "./ring.ts";
 * captureRingMemory(1 << 20).byteLength; // 1048768
 * ```
 */
export function captureRingMemory(size: number): SharedArrayBuffer {
  if (
    !Number.isInteger(size) || size < MIN_CAPTURE_RING || size > MAX_CAPTURE_RING ||
    (size & (size - 1)) !== 0
  ) {
    throw new RangeError(
      `capture ring size ${size} must be a power of two from ${MIN_CAPTURE_RING} to 2^28`,
    );
  }
  return new SharedArrayBuffer(CAPTURE_HEADER_BYTES + size);
}

/** Record bytes of a ring's memory. */
function ringSize(mem: SharedArrayBuffer): number {
  return mem.byteLength - CAPTURE_HEADER_BYTES;
}

/** Where the producer counts what it copied and dropped (e.g. slots of the stats block). */
export interface CaptureTally {
  /** Where to count. */
  block: Float64Array;
  /** Slot of frames copied into the ring. */
  captured: number;
  /** Slot of frames not copied because the ring was full. */
  dropped: number;
}

/** What the producer needs besides the ring. */
export interface CaptureProducerOptions {
  /** The frames' memory (the UMEM): frames are `umem[addr .. addr + len)`. */
  umem: Uint8Array;
  /** pcapng interface id written into every record. */
  interfaceId: number;
  /** Bytes captured per frame at most. */
  snaplen: number;
  /** Write the direction (`epb_flags`) into every record. */
  direction: boolean;
  /** Counters to add to. */
  tally: CaptureTally;
  /**
   * Multi-buffer frames (jumbo): `addrs[i]`/`lens[i]` are a frame's first segment; this gives
   * the bytes of its other segments, recorded as the original length (a truncated capture of
   * the first segment, as with a snaplen). Default none: every frame is one buffer.
   */
  chains?: { tailBytes(addr: number): number } | null;
}

/**
 * The Worker's end: copies frames into the ring, one clock read and one atomic store per burst
 * (two when the ring looks full), no allocation. Self-contained (its constants are static
 * fields, the Enhanced Packet Block is written inline): the class source alone runs in a Worker,
 * as the concurrency test does.
 *
 * @example
 * ```ts
 * import { CaptureConsumer, CaptureProducer, captureRingMemory } from "./ring.ts";
 * const mem = captureRingMemory(1 << 16), umem = new Uint8Array(4096);
 * const tally = { block: new Float64Array(2), captured: 0, dropped: 1 };
 * const opts = { umem, interfaceId: 0, snaplen: 65535, direction: false, tally };
 * const p = new CaptureProducer(mem, opts);
 * p.burst(Uint32Array.of(0, 2048), Uint32Array.of(60, 100), 2, 1);
 * let bytes = 0;
 * new CaptureConsumer(mem).drain((chunk) => bytes += chunk.length);
 * bytes; // 224: two Enhanced Packet Blocks
 * ```
 */
export class CaptureProducer {
  /** Bytes before the records (see the module doc). */
  static readonly HEADER = 192;
  /** u32 index of the producer's byte index. */
  static readonly PROD = 0;
  /** u32 index of the consumer's byte index. */
  static readonly CONS = 16;
  /** u32 index of the stop word. */
  static readonly STOP = 32;
  /** Indices run modulo 2^30. */
  static readonly INDEX_MASK = 0x3fffffff;
  /** pcapng Enhanced Packet Block type. */
  static readonly EPB = 6;
  /** Bytes of an Enhanced Packet Block before its data. */
  static readonly EPB_HEADER = 28;
  /** `epb_flags` option header (code 2, length 4) as a host-order word. */
  static readonly FLAGS_WORD = new Uint32Array(Uint16Array.of(2, 4).buffer)[0];
  /** Masks keeping the first 0..3 bytes of a host-order word: padding must be zero. */
  static readonly TAIL_MASK = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1
    ? Uint32Array.of(0xffffffff, 0xff, 0xffff, 0xffffff)
    : Uint32Array.of(0xffffffff, 0xff000000, 0xffff0000, 0xffffff00);

  readonly #idx: Int32Array;
  readonly #words: Uint32Array;
  readonly #bytes: Uint8Array;
  readonly #umem: Uint8Array;
  readonly #umem32: Uint32Array;
  readonly #size: number;
  readonly #mask: number;
  readonly #iface: number;
  readonly #snaplen: number;
  /** Bytes of a record besides the padded data: header, trailer, and the flags option. */
  readonly #extra: number;
  readonly #flags: boolean;
  readonly #tally: Float64Array;
  readonly #capturedSlot: number;
  readonly #droppedSlot: number;
  readonly #epoch: number;
  readonly #chains: { tailBytes(addr: number): number } | null;
  #prod: number;
  #cons: number;

  /** The producer end of the ring in `mem` (see {@link captureRingMemory}). */
  constructor(mem: SharedArrayBuffer, o: CaptureProducerOptions) {
    const C = CaptureProducer;
    if (o.umem.byteOffset % 4 !== 0) throw new RangeError("the UMEM must be 4-byte aligned");
    this.#size = mem.byteLength - C.HEADER;
    this.#mask = this.#size - 1;
    this.#idx = new Int32Array(mem, 0, C.HEADER / 4);
    this.#words = new Uint32Array(mem, C.HEADER, this.#size >>> 2);
    this.#bytes = new Uint8Array(mem, C.HEADER, this.#size);
    this.#umem = o.umem;
    this.#umem32 = new Uint32Array(o.umem.buffer, o.umem.byteOffset, o.umem.byteLength >>> 2);
    this.#iface = o.interfaceId;
    this.#snaplen = o.snaplen;
    this.#flags = o.direction;
    this.#extra = C.EPB_HEADER + 4 + (o.direction ? 12 : 0);
    this.#tally = o.tally.block;
    this.#capturedSlot = o.tally.captured;
    this.#droppedSlot = o.tally.dropped;
    this.#epoch = performance.timeOrigin;
    this.#chains = o.chains ?? null;
    this.#prod = Atomics.load(this.#idx, C.PROD) & C.INDEX_MASK;
    this.#cons = Atomics.load(this.#idx, C.CONS) & C.INDEX_MASK;
  }

  /**
   * Copy frames `addrs[0..n)` (lengths `lens`) into the ring as Enhanced Packet Blocks with one
   * timestamp (now, microseconds since the epoch) and direction `dir` (1 inbound, 2 outbound;
   * written only with the `direction` option). Frames that do not fit are counted as dropped.
   * Nothing at all once the consumer asked to stop (`--pcap-max-mb`).
   */
  burst(addrs: Uint32Array, lens: Uint32Array, n: number, dir: number): void {
    const C = CaptureProducer, idx = this.#idx;
    // A plain read: the stop word only needs to be seen eventually (an atomic costs ~20 ns here).
    if (n === 0 || idx[C.STOP] !== 0) return;
    const us = Math.floor((this.#epoch + performance.now()) * 1000);
    // Both halves as int32 (the low one wraps to negative: the same 32 bits in the record).
    const tsHigh = Math.floor(us / 4294967296) | 0, tsLow = (us - tsHigh * 4294967296) | 0;
    // Everything the loop touches in locals: no field loads per frame.
    const words = this.#words, umem32 = this.#umem32, tail = C.TAIL_MASK;
    const size = this.#size, mask = this.#mask, snap = this.#snaplen, extra = this.#extra;
    const iface = this.#iface, flags = this.#flags, epb = C.EPB;
    const flagsWord = C.FLAGS_WORD, im = C.INDEX_MASK, chains = this.#chains;
    let prod = this.#prod, cons = this.#cons, refreshed = false, i = 0;
    for (; i < n; i++) {
      const len = lens[i], addr = addrs[i];
      const cap = len < snap ? len : snap;
      const total = extra + ((cap + 3) & ~3);
      const pos = prod & mask;
      const room = size - pos; // bytes to the end of the ring (a multiple of 4, at least 4)
      const need = total <= room ? total : room + total;
      if (((prod - cons) & im) + need > size) {
        // Look at the consumer's index once per burst at most: then drop the rest.
        if (refreshed) break;
        refreshed = true;
        cons = Atomics.load(idx, C.CONS) & im;
        if (((prod - cons) & im) + need > size) break;
      }
      let w = pos >>> 2;
      if (total > room) {
        words[w] = 0; // wrap marker: the record goes to the start
        prod = (prod + room) & im;
        w = 0;
      }
      words[w] = epb;
      words[w + 1] = total;
      words[w + 2] = iface;
      words[w + 3] = tsHigh;
      words[w + 4] = tsLow;
      words[w + 5] = cap;
      words[w + 6] = chains === null ? len : len + chains.tailBytes(addr);
      const d = w + 7, nw = (cap + 3) >>> 2;
      if ((addr & 3) === 0) {
        const s = addr >>> 2;
        for (let j = 0; j < nw; j++) words[d + j] = umem32[s + j];
        if ((cap & 3) !== 0) words[d + nw - 1] &= tail[cap & 3];
      } else {
        this.#copyBytes(addr, d << 2, cap);
      }
      const end = w + (total >>> 2);
      if (flags) {
        words[end - 4] = flagsWord;
        words[end - 3] = dir;
        words[end - 2] = 0; // opt_endofopt
      }
      words[end - 1] = total;
      prod = (prod + total) & im;
    }
    this.#cons = cons;
    if (i > 0) {
      this.#prod = prod;
      // Release: the records' bytes are visible before the index that covers them.
      Atomics.store(idx, C.PROD, prod);
      this.#tally[this.#capturedSlot] += i;
    }
    if (i < n) this.#tally[this.#droppedSlot] += n - i;
  }

  /** An unaligned frame: byte by byte, padding zeroed (rare: frames start 4-byte aligned). */
  #copyBytes(addr: number, to: number, cap: number): void {
    const b = this.#bytes, u = this.#umem;
    for (let j = 0; j < cap; j++) b[to + j] = u[addr + j];
    for (let j = cap; (j & 3) !== 0; j++) b[to + j] = 0;
  }
}

/**
 * The main thread's end: hands out the records written since the last drain, as contiguous
 * chunks of complete Enhanced Packet Blocks, then frees their space.
 */
export class CaptureConsumer {
  readonly #idx: Int32Array;
  readonly #words: Uint32Array;
  readonly #bytes: Uint8Array;
  readonly #mask: number;
  readonly #size: number;
  #cons: number;

  /** The consumer end of the ring in `mem`. */
  constructor(mem: SharedArrayBuffer) {
    this.#size = ringSize(mem);
    this.#mask = this.#size - 1;
    this.#idx = new Int32Array(mem, 0, CAPTURE_HEADER_BYTES / 4);
    this.#words = new Uint32Array(mem, CAPTURE_HEADER_BYTES, this.#size >>> 2);
    this.#bytes = new Uint8Array(mem, CAPTURE_HEADER_BYTES, this.#size);
    this.#cons = Atomics.load(this.#idx, CONS) & INDEX_MASK;
  }

  /**
   * Pass every record written so far to `take`, in order, as chunks of whole blocks (views into
   * the ring, valid during the call) with the number of blocks in each. `take` returns how many
   * blocks of the chunk it used; fewer than offered ends the drain there (the rest is dropped
   * from the ring too: `take` stops only when it wants no more). Returns the blocks taken.
   */
  drain(take: (chunk: Uint8Array, blocks: number) => number | void): number {
    const prod = Atomics.load(this.#idx, PROD) & INDEX_MASK;
    const words = this.#words, mask = this.#mask;
    let cons = this.#cons, taken = 0, stopped = false;
    while (cons !== prod && !stopped) {
      // One contiguous run of blocks: up to the producer, the end of the ring or a wrap marker.
      const start = cons & mask;
      let p = start, blocks = 0;
      const avail = (prod - cons) & INDEX_MASK;
      const limit = start + avail < this.#size ? start + avail : this.#size;
      while (p < limit && words[p >>> 2] !== 0) {
        p += words[(p >>> 2) + 1];
        blocks++;
      }
      if (blocks > 0) {
        const used = take(this.#bytes.subarray(start, p), blocks);
        if (typeof used === "number" && used < blocks) {
          stopped = true;
          taken += used;
        } else taken += blocks;
      }
      cons = (cons + (p - start)) & INDEX_MASK;
      // A wrap marker (or the end of the ring): the next block is at the start.
      if (p < limit || p === this.#size) cons = (cons + (this.#size - p)) & INDEX_MASK;
      if (stopped) cons = prod;
    }
    this.#cons = cons;
    Atomics.store(this.#idx, CONS, cons);
    return taken;
  }

  /** Ask the producer to copy no more frames (it checks once per burst). */
  stop(): void {
    Atomics.store(this.#idx, STOP, 1);
  }

  /** Bytes of records waiting in the ring. */
  pending(): number {
    return (Atomics.load(this.#idx, PROD) - this.#cons) & INDEX_MASK;
  }
}
