/**
 * Views of the four AF_XDP rings shared with the kernel, in the manner of libxdp's `xsk.h`:
 * a producer ring (FILL, TX) has `reserve`/`submit`, a consumer ring (RX, COMPLETION) has
 * `peek`/`release`. Indices are free-running u32 counters; `cached*` fields keep the common case
 * off the shared cache lines. The shared index of the other side is read with `Atomics.load`
 * (acquire) and ours is published with a release store ({@link storeRelease}), each at most once
 * per burst.
 *
 * A burst is a (start index, count) pair: after `reserve(n)` or `peek(n)` returned `k`, the
 * entries are `cursor .. cursor + k - 1`. The four ring kinds ({@link FillRing}, {@link RxRing},
 * {@link TxRing}, {@link CompRing}) add libxdp's slot accessors (`xsk_ring_prod__fill_addr`,
 * `xsk_ring_cons__rx_desc`, ...) so no caller computes `(idx & mask) << shift` by hand.
 *
 * @module
 */

/**
 * Whether a plain store is a release store on this CPU: on x86-64 (TSO) a store is never
 * reordered with earlier loads or stores, so libxdp's `__atomic_store_n(..., __ATOMIC_RELEASE)`
 * compiles to a plain `mov`. JavaScript has no release store: `Atomics.store` is sequentially
 * consistent, which V8 emits as `xchg` on x86-64, a full fence that waits until every earlier
 * store (the descriptors just written, the burst's counters) has reached the cache. Measured on
 * a frame's way through the loop: 80-100 ns more at the RX ring's release alone (BENCHMARKS.md,
 * "The frame path at 1000 frames/s, instrumented").
 */
const STORE_IS_RELEASE = Deno.build.arch === "x86_64";

/**
 * Publish our index `v` to the kernel with release ordering: every load and store before it
 * (reading the peeked entries, writing the reserved ones) is visible before the index is. On
 * x86-64 a plain store: the CPU keeps the order (see {@link STORE_IS_RELEASE}), and V8 keeps
 * typed-array loads and stores in program order (they are effects, never moved past one
 * another). Elsewhere `Atomics.store`, at least as strong as a release (on arm64, `stlr`).
 */
function storeRelease(index: Uint32Array, v: number): void {
  if (STORE_IS_RELEASE) index[0] = v;
  else Atomics.store(index, 0, v);
}

/** Where a ring lives: the pointers libxdp filled into `struct xsk_ring_*`. */
export interface RingMemory {
  /** Shared producer index (u32). */
  producer: ArrayBuffer;
  /** Shared consumer index (u32). */
  consumer: ArrayBuffer;
  /** Shared flags word (u32; XDP_RING_NEED_WAKEUP). */
  flags: ArrayBuffer;
  /** The entry array: `size` entries of `entryWords` u32 each. */
  ring: ArrayBuffer;
  /** Number of entries, a power of two. */
  size: number;
}

/** Entry width in u32 words: FILL/COMPLETION hold u64 addresses, RX/TX hold 16-byte descs. */
export const ADDR_WORDS = 2;
/** See {@link ADDR_WORDS}: `struct xdp_desc { u64 addr; u32 len; u32 options; }`. */
export const DESC_WORDS = 4;

/** What producer and consumer rings share: the entry array, indices, mask and flags. */
export abstract class XskRing {
  /** Entry array as u32 words: address low word at `slot * words`, high word next. */
  readonly entries: Uint32Array;
  /** `size - 1`. */
  readonly mask: number;
  /** Number of entries. */
  readonly size: number;
  /** First index of the last reservation or peek. */
  cursor = 0;
  /** Our copy of the producer index. */
  cachedProd = 0;
  /** Our copy of the consumer index. */
  cachedCons = 0;
  /** The shared producer index. */
  protected readonly producer: Uint32Array;
  /** The shared consumer index. */
  protected readonly consumer: Uint32Array;
  /** The shared flags word. */
  protected readonly flags: Uint32Array;
  /** Entry width in u32 words (ADDR_WORDS or DESC_WORDS). */
  readonly words: number;

  /** View the ring in `mem`; `words` is ADDR_WORDS or DESC_WORDS. */
  constructor(mem: RingMemory, words: number) {
    if (mem.size <= 0 || (mem.size & (mem.size - 1)) !== 0) {
      throw new RangeError(`ring size ${mem.size} is not a power of two`);
    }
    if (words !== ADDR_WORDS && words !== DESC_WORDS) {
      throw new RangeError(`ring entry width ${words} must be ADDR_WORDS or DESC_WORDS`);
    }
    this.words = words;
    this.size = mem.size;
    this.mask = mem.size - 1;
    this.entries = new Uint32Array(mem.ring, 0, mem.size * words);
    this.producer = new Uint32Array(mem.producer, 0, 1);
    this.consumer = new Uint32Array(mem.consumer, 0, 1);
    this.flags = new Uint32Array(mem.flags, 0, 1);
  }

  /** True when the kernel asked to be woken up for this ring (XDP_RING_NEED_WAKEUP). */
  needsWakeup(): boolean {
    return (this.flags[0] & 1) !== 0;
  }

  /**
   * Low word of the address in entry `idx` (a free-running index), for either entry kind: the
   * address itself (FILL, COMPLETION) or the descriptor's `addr` (RX, TX). For audits and tests;
   * the typed rings have cheaper accessors.
   */
  addrAt(idx: number): number {
    return this.entries[(idx & this.mask) * this.words];
  }

  /** The shared indices right now (for audits and tests, not the fast path). */
  shared(): { producer: number; consumer: number } {
    return { producer: Atomics.load(this.producer, 0), consumer: Atomics.load(this.consumer, 0) };
  }
}

/**
 * A ring we produce into: FILL (addresses, `ADDR_WORDS`) or TX (descriptors, `DESC_WORDS`).
 *
 * @example
 * ```ts
 * import { ADDR_WORDS, ProdRing } from "./xsk_ring.ts";
 * const mem = {
 *   producer: new ArrayBuffer(4), consumer: new ArrayBuffer(4), flags: new ArrayBuffer(4),
 *   ring: new ArrayBuffer(8 * 8), size: 8,
 * };
 * const fill = new ProdRing(mem, ADDR_WORDS);
 * const k = fill.reserve(3);
 * for (let i = 0; i < k; i++) fill.entries[((fill.cursor + i) & fill.mask) * ADDR_WORDS] = i;
 * fill.submit(k);
 * ```
 */
export class ProdRing extends XskRing {
  /** View the ring in `mem`; `words` is ADDR_WORDS or DESC_WORDS. */
  constructor(mem: RingMemory, words: number) {
    super(mem, words);
    this.cachedProd = Atomics.load(this.producer, 0);
    this.cachedCons = (Atomics.load(this.consumer, 0) + this.size) >>> 0;
  }

  /** Free slots, refreshing from the consumer index only when fewer than `n` are known. */
  freeSlots(n: number): number {
    let free = (this.cachedCons - this.cachedProd) >>> 0;
    if (free >= n) return free;
    this.cachedCons = (Atomics.load(this.consumer, 0) + this.size) >>> 0;
    free = (this.cachedCons - this.cachedProd) >>> 0;
    return free;
  }

  /** Reserve up to `n` slots starting at `cursor`; returns how many (0..n). */
  reserve(n: number): number {
    const free = this.freeSlots(n);
    const k = free < n ? free : n;
    this.cursor = this.cachedProd;
    this.cachedProd = (this.cachedProd + k) >>> 0;
    return k;
  }

  /** Give back the last `n` slots of the last reservation, unwritten (before `submit`). */
  cancel(n: number): void {
    this.cachedProd = (this.cachedProd - n) >>> 0;
  }

  /** Publish `n` reserved slots to the kernel (release). */
  submit(n: number): void {
    storeRelease(this.producer, (this.producer[0] + n) >>> 0);
  }

  /**
   * Entries submitted and not yet consumed by the kernel. Only the kernel's index is read with
   * `Atomics.load`: the producer index is ours (written only by `submit`, on this thread).
   */
  pending(): number {
    return (this.producer[0] - Atomics.load(this.consumer, 0)) >>> 0;
  }
}

/**
 * A ring we consume from: RX (descriptors, `DESC_WORDS`) or COMPLETION (addresses, `ADDR_WORDS`).
 *
 * @example
 * ```ts
 * import { ConsRing, DESC_WORDS } from "./xsk_ring.ts";
 * const mem = {
 *   producer: new ArrayBuffer(4), consumer: new ArrayBuffer(4), flags: new ArrayBuffer(4),
 *   ring: new ArrayBuffer(8 * 16), size: 8,
 * };
 * const rx = new ConsRing(mem, DESC_WORDS);
 * const k = rx.peek(64); // 0: nothing produced yet
 * rx.release(k);
 * ```
 */
export class ConsRing extends XskRing {
  /** View the ring in `mem`; `words` is ADDR_WORDS or DESC_WORDS. */
  constructor(mem: RingMemory, words: number) {
    super(mem, words);
    this.cachedCons = Atomics.load(this.consumer, 0);
    this.cachedProd = Atomics.load(this.producer, 0);
  }

  /** Entries ready, refreshing from the producer index (acquire) only when none are known. */
  available(n: number): number {
    let entries = (this.cachedProd - this.cachedCons) >>> 0;
    if (entries === 0) {
      this.cachedProd = Atomics.load(this.producer, 0);
      entries = (this.cachedProd - this.cachedCons) >>> 0;
    }
    return entries < n ? entries : n;
  }

  /** Take up to `n` entries starting at `cursor`; returns how many. */
  peek(n: number): number {
    const k = this.available(n);
    this.cursor = this.cachedCons;
    this.cachedCons = (this.cachedCons + k) >>> 0;
    return k;
  }

  /**
   * Give back the last `n` of the entries just peeked, unread (libxdp: `xsk_ring_cons__cancel`):
   * the next `peek` starts with them.
   */
  cancel(n: number): void {
    this.cachedCons = (this.cachedCons - n) >>> 0;
  }

  /**
   * Read the producer index now (acquire), even though entries are known: for a consumer
   * waiting for the rest of what it saw (an incomplete multi-buffer chain).
   */
  refresh(): void {
    this.cachedProd = Atomics.load(this.producer, 0);
  }

  /** Hand `n` peeked entries back to the kernel (release). */
  release(n: number): void {
    storeRelease(this.consumer, (this.consumer[0] + n) >>> 0);
  }
}

/**
 * The FILL ring: we post empty frames (their UMEM addresses) for the kernel to receive into.
 *
 * @example
 * ```ts
 * import { FillRing } from "./xsk_ring.ts";
 * const mem = {
 *   producer: new ArrayBuffer(4), consumer: new ArrayBuffer(4), flags: new ArrayBuffer(4),
 *   ring: new ArrayBuffer(8 * 8), size: 8,
 * };
 * const fill = new FillRing(mem);
 * const k = fill.reserve(2);
 * for (let i = 0; i < k; i++) fill.setAddr(fill.cursor + i, i * 2048);
 * fill.submit(k);
 * ```
 */
export class FillRing extends ProdRing {
  /** View the FILL ring in `mem`. */
  constructor(mem: RingMemory) {
    super(mem, ADDR_WORDS);
  }

  /** Write frame address `addr` (< 2^32) into entry `idx` (libxdp: `xsk_ring_prod__fill_addr`). */
  setAddr(idx: number, addr: number): void {
    // The high word of the u64 stays 0 from creation: the UMEM is smaller than 4 GiB.
    this.entries[(idx & this.mask) << 1] = addr;
  }
}

/**
 * The TX ring: we queue descriptors `{ addr, len }` of frames for the kernel to send.
 *
 * @example
 * ```ts
 * import { TxRing } from "./xsk_ring.ts";
 * const mem = {
 *   producer: new ArrayBuffer(4), consumer: new ArrayBuffer(4), flags: new ArrayBuffer(4),
 *   ring: new ArrayBuffer(8 * 16), size: 8,
 * };
 * const tx = new TxRing(mem);
 * if (tx.reserve(1) === 1) tx.setDesc(tx.cursor, 256, 60);
 * tx.submit(1);
 * ```
 */
export class TxRing extends ProdRing {
  /** View the TX ring in `mem`. */
  constructor(mem: RingMemory) {
    super(mem, DESC_WORDS);
  }

  /** Write descriptor `{ addr, len }` into entry `idx` (libxdp: `xsk_ring_prod__tx_desc`). */
  setDesc(idx: number, addr: number, len: number): void {
    // Words 1 (address high) and 3 (options) stay 0 from creation and are never written.
    const w = (idx & this.mask) << 2;
    this.entries[w] = addr;
    this.entries[w + 2] = len;
  }

  /**
   * Write descriptor `{ addr, len, options }` into entry `idx`: a multi-buffer chain has
   * `XDP_PKT_CONTD` in every descriptor but its last. {@link TxRing.setDesc} leaves the options
   * word as it is, so a port that sends chains writes every descriptor with this one.
   */
  setDescOptions(idx: number, addr: number, len: number, options: number): void {
    const w = (idx & this.mask) << 2;
    this.entries[w] = addr;
    this.entries[w + 2] = len;
    this.entries[w + 3] = options;
  }
}

/**
 * The RX ring: the kernel hands us descriptors `{ addr, len }` of received frames.
 *
 * @example
 * ```ts
 * import { RxRing } from "./xsk_ring.ts";
 * const mem = {
 *   producer: new ArrayBuffer(4), consumer: new ArrayBuffer(4), flags: new ArrayBuffer(4),
 *   ring: new ArrayBuffer(8 * 16), size: 8,
 * };
 * const rx = new RxRing(mem);
 * const k = rx.peek(64);
 * for (let i = 0; i < k; i++) console.log(rx.descAddr(rx.cursor + i), rx.descLen(rx.cursor + i));
 * rx.release(k);
 * ```
 */
export class RxRing extends ConsRing {
  /** View the RX ring in `mem`. */
  constructor(mem: RingMemory) {
    super(mem, DESC_WORDS);
  }

  /** UMEM address of the frame in entry `idx` (libxdp: `xsk_ring_cons__rx_desc(..)->addr`). */
  descAddr(idx: number): number {
    return this.entries[(idx & this.mask) << 2];
  }

  /** Length of the frame in entry `idx` (libxdp: `xsk_ring_cons__rx_desc(..)->len`). */
  descLen(idx: number): number {
    return this.entries[((idx & this.mask) << 2) + 2];
  }

  /** Options of entry `idx` (`XDP_PKT_CONTD`: a multi-buffer frame continues in the next). */
  descOptions(idx: number): number {
    return this.entries[((idx & this.mask) << 2) + 3];
  }
}

/**
 * The COMPLETION ring: the kernel hands back the addresses of frames it has sent.
 *
 * @example
 * ```ts
 * import { CompRing } from "./xsk_ring.ts";
 * const mem = {
 *   producer: new ArrayBuffer(4), consumer: new ArrayBuffer(4), flags: new ArrayBuffer(4),
 *   ring: new ArrayBuffer(8 * 8), size: 8,
 * };
 * const comp = new CompRing(mem);
 * const k = comp.peek(64);
 * for (let i = 0; i < k; i++) console.log(comp.addr(comp.cursor + i));
 * comp.release(k);
 * ```
 */
export class CompRing extends ConsRing {
  /** View the COMPLETION ring in `mem`. */
  constructor(mem: RingMemory) {
    super(mem, ADDR_WORDS);
  }

  /** Frame address in entry `idx` (libxdp: `xsk_ring_cons__comp_addr`). */
  addr(idx: number): number {
    return this.entries[(idx & this.mask) << 1];
  }
}
