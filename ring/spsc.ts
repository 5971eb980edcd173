/**
 * A single-producer single-consumer ring of u32 values over raw memory, in the spirit of DPDK's
 * `rte_ring` (SP/SC, burst mode). Put it on a `SharedArrayBuffer` to pass frame addresses between
 * Workers, or on memory from `Deno.UnsafePointerView.getArrayBuffer`.
 *
 * Layout (bytes): producer index at 0, consumer index at 64 (own cache lines), slots from 128.
 * Each side keeps a cached copy of the other's index and reads the shared one (acquire) only when
 * the cache says the ring is full/empty; it publishes its own index (release) once per burst.
 *
 * @module
 */

/** Bytes before the slots. */
export const SPSC_HEADER_BYTES = 128;

/** Bytes needed for a ring of `size` u32 slots. */
export function spscBytes(size: number): number {
  return SPSC_HEADER_BYTES + size * 4;
}

/**
 * One end-agnostic SPSC ring: the producer only calls `enqueue*`, the consumer only `dequeue*`.
 * Each side must use its own `SpscRing` object over the same memory (the caches are per side).
 *
 * @example
 * ```ts
 * import { SpscRing, spscBytes } from "./spsc.ts";
 * const mem = new SharedArrayBuffer(spscBytes(8));
 * const tx = new SpscRing(mem, 8), rx = new SpscRing(mem, 8);
 * tx.enqueueBurst(Uint32Array.of(1, 2, 3), 0, 3); // 3
 * const out = new Uint32Array(8);
 * rx.dequeueBurst(out, 0, 8); // 3: out starts 1, 2, 3
 * ```
 */
export class SpscRing {
  /** Number of slots (a power of two); the ring holds at most `size` values. */
  readonly size: number;
  /** `size - 1`. */
  readonly mask: number;
  private readonly idx: Uint32Array;
  private readonly slots: Uint32Array;
  private cachedProd = 0;
  private cachedCons = 0;
  /** u32 index of the producer counter. Class fields, not module constants, so that the class
   * source alone (`SpscRing.toString()`) runs in a Worker started without read permission. */
  private static readonly PROD = 0;
  /** u32 index of the consumer counter (byte 64). */
  private static readonly CONS = 16;

  /** View `size` slots of `mem` (length at least `spscBytes(size)`) starting at `byteOffset`. */
  constructor(mem: ArrayBufferLike, size: number, byteOffset = 0) {
    if (!Number.isInteger(size) || size < 2 || (size & (size - 1)) !== 0 || size > 2 ** 30) {
      throw new RangeError(`SPSC ring size ${size} must be a power of two between 2 and 2^30`);
    }
    if (byteOffset % 64 !== 0) throw new RangeError("SPSC ring offset must be 64-byte aligned");
    if (mem.byteLength < byteOffset + spscBytes(size)) {
      throw new RangeError(`SPSC ring of ${size} slots needs ${spscBytes(size)} bytes`);
    }
    this.size = size;
    this.mask = size - 1;
    this.idx = new Uint32Array(mem, byteOffset, SPSC_HEADER_BYTES / 4);
    this.slots = new Uint32Array(mem, byteOffset + SPSC_HEADER_BYTES, size);
    this.cachedProd = Atomics.load(this.idx, SpscRing.PROD);
    this.cachedCons = Atomics.load(this.idx, SpscRing.CONS);
  }

  /** Producer: enqueue up to `n` values from `src[off..]`; returns how many went in. */
  enqueueBurst(src: Uint32Array, off: number, n: number): number {
    const prod = this.cachedProd;
    let free = (this.size - ((prod - this.cachedCons) >>> 0)) >>> 0;
    if (free < n) {
      this.cachedCons = Atomics.load(this.idx, SpscRing.CONS);
      free = (this.size - ((prod - this.cachedCons) >>> 0)) >>> 0;
    }
    const k = free < n ? free : n;
    const slots = this.slots, mask = this.mask;
    for (let i = 0; i < k; i++) slots[(prod + i) & mask] = src[off + i];
    this.cachedProd = (prod + k) >>> 0;
    if (k > 0) Atomics.store(this.idx, SpscRing.PROD, this.cachedProd);
    return k;
  }

  /** Consumer: dequeue up to `n` values into `dst[off..]`; returns how many came out. */
  dequeueBurst(dst: Uint32Array, off: number, n: number): number {
    const cons = this.cachedCons;
    let avail = (this.cachedProd - cons) >>> 0;
    if (avail < n) {
      this.cachedProd = Atomics.load(this.idx, SpscRing.PROD);
      avail = (this.cachedProd - cons) >>> 0;
    }
    const k = avail < n ? avail : n;
    const slots = this.slots, mask = this.mask;
    for (let i = 0; i < k; i++) dst[off + i] = slots[(cons + i) & mask];
    this.cachedCons = (cons + k) >>> 0;
    if (k > 0) Atomics.store(this.idx, SpscRing.CONS, this.cachedCons);
    return k;
  }

  /** Values in the ring now, as seen from the shared indices (not for the fast path). */
  count(): number {
    return (Atomics.load(this.idx, SpscRing.PROD) - Atomics.load(this.idx, SpscRing.CONS)) >>> 0;
  }
}
