/**
 * Multi-buffer (jumbo) frames: a frame longer than one UMEM chunk arrives on RX as a chain of
 * descriptors, `XDP_PKT_CONTD` on all but the last, and leaves on TX the same way. The burst
 * arrays keep ONE entry per frame, its first segment (`addrs[i]`, `lens[i]`); the rest of a
 * chain hangs off that frame in {@link FrameChains}, one link per UMEM frame, like DPDK's
 * `rte_mbuf.next`. Only a port bound with `XDP_USE_SG` has a `FrameChains`: a single-buffer run
 * never reaches this module.
 *
 * Invariant: `next[f] !== 0` only while frame `f` is a segment (not the last) of a chain the
 * application holds; sending or freeing the chain clears its links.
 *
 * @module
 */
import { XDP_PKT_CONTD } from "../ffi/libxdp.ts";
import type { CompRing, RxRing, TxRing } from "../ring/mod.ts";
import type { Mempool } from "../mempool/mod.ts";

/**
 * Most descriptors one frame may use: the kernel's `MAX_SKB_FRAGS` (17) plus the linear part.
 * A longer chain is dropped and counted (`chain_dropped`): the kernel would refuse to send it.
 */
export const MAX_SEGMENTS = 18;

/** What one {@link FrameChains.rx} call took from the RX ring. */
export interface ChainRx {
  /** Frames written to the burst arrays. */
  frames: number;
  /** Descriptors (buffers) taken from the RX ring, including those of dropped chains. */
  descs: number;
  /** Bytes of the frames handed out (every segment). */
  bytes: number;
  /** Of `frames`, those in more than one buffer. */
  chained: number;
  /** Chains dropped (longer than {@link MAX_SEGMENTS}); their buffers went back to the pool. */
  dropped: number;
  /** Buffers of those dropped chains. */
  droppedDescs: number;
}

/** What one {@link FrameChains.tx} call put on the TX ring. */
export interface ChainTx {
  /** Frames queued (the first ones offered; the rest stay the caller's). */
  frames: number;
  /** Descriptors queued. */
  descs: number;
  /** Of `frames`, those sent as a chain. */
  chained: number;
}

/**
 * The links of the multi-buffer frames of one UMEM (shared by every port on it).
 *
 * @example
 * ```ts
 * import { FrameChains } from "./chains.ts";
 * import { Mempool } from "../mempool/mod.ts";
 * const pool = new Mempool(8, 2048);
 * const chains = new FrameChains(pool);
 * chains.segments(256); // 1: a frame without a chain
 * ```
 */
export class FrameChains {
  /** Per UMEM frame: address + 1 of the chain's next segment, 0 at the end of a chain. */
  readonly next: Uint32Array;
  /** Per UMEM frame: length of the segment in it (set for every segment but a chain's first). */
  readonly segLen: Uint32Array;
  /** Per UMEM frame: 1 while it is on TX as a chain's second or later segment. */
  readonly txTail: Uint8Array;
  /** Chains the application holds now. */
  held = 0;
  /** The pool the segments return to. */
  readonly pool: Mempool;
  readonly #shift: number;
  readonly #rx: ChainRx = {
    frames: 0,
    descs: 0,
    bytes: 0,
    chained: 0,
    dropped: 0,
    droppedDescs: 0,
  };
  readonly #tx: ChainTx = { frames: 0, descs: 0, chained: 0 };
  /** The RX ring ended in an incomplete chain at the last {@link FrameChains.rx}. */
  #waiting = false;

  /** Links for the frames of `pool`. */
  constructor(pool: Mempool) {
    this.pool = pool;
    this.#shift = Math.log2(pool.frameSize);
    this.next = new Uint32Array(pool.frames);
    this.segLen = new Uint32Array(pool.frames);
    this.txTail = new Uint8Array(pool.frames);
  }

  /** Number of buffers of the frame whose first segment is at `addr` (1 without a chain). */
  segments(addr: number): number {
    const next = this.next, shift = this.#shift;
    let s = 1, link = next[addr >>> shift];
    while (link !== 0) {
      s++;
      link = next[(link - 1) >>> shift];
    }
    return s;
  }

  /** UMEM address of segment `s` (>= 1) of the frame starting at `addr`, or -1 if none. */
  segmentStart(addr: number, s: number): number {
    const next = this.next, shift = this.#shift;
    let a = addr;
    for (let k = 0; k < s; k++) {
      const link = next[a >>> shift];
      if (link === 0) return -1;
      a = link - 1;
    }
    return a;
  }

  /** Length of segment `s` (>= 1) of the frame starting at `addr`, or -1 if none. */
  segmentSize(addr: number, s: number): number {
    const a = this.segmentStart(addr, s);
    return a < 0 ? -1 : this.segLen[a >>> this.#shift];
  }

  /** Bytes of the segments after the first of the frame starting at `addr` (0 without one). */
  tailBytes(addr: number): number {
    const next = this.next, shift = this.#shift, segLen = this.segLen;
    let bytes = 0, link = next[addr >>> shift];
    while (link !== 0) {
      const f = (link - 1) >>> shift;
      bytes += segLen[f];
      link = next[f];
    }
    return bytes;
  }

  /**
   * Take up to `n` whole frames from `rx` into `addrs`/`lens` (first segments), linking the
   * rest of each chain. An incomplete chain at the end of the ring stays there for the next
   * call. The result object is reused: read it before the next call.
   */
  rx(rx: RxRing, addrs: Uint32Array, lens: Uint32Array, n: number): ChainRx {
    const r = this.#rx;
    r.frames =
      r.descs =
      r.bytes =
      r.chained =
      r.dropped =
      r.droppedDescs =
        0;
    const want = n * MAX_SEGMENTS;
    // The last call left an incomplete chain: look for its rest now, not only once the
    // entries already seen are used up.
    if (this.#waiting) rx.refresh();
    const k = rx.peek(want < rx.size ? want : rx.size);
    if (k === 0) return r;
    const start = rx.cursor, next = this.next, segLen = this.segLen, shift = this.#shift;
    let j = 0, f = 0, bytes = 0;
    while (f < n && j < k) {
      const h = j;
      let e = j;
      // The chain's last descriptor is the first without XDP_PKT_CONTD.
      while (e < k && (rx.descOptions(start + e) & XDP_PKT_CONTD) !== 0) e++;
      if (e === k) break; // incomplete: its rest is not on the ring yet (see #waiting)
      j = e + 1;
      const headAddr = rx.descAddr(start + h), headLen = rx.descLen(start + h);
      if (e === h) {
        addrs[f] = headAddr;
        lens[f++] = headLen;
        bytes += headLen;
        continue;
      }
      if (e - h + 1 > MAX_SEGMENTS) {
        for (let s = h; s <= e; s++) this.pool.free(rx.descAddr(start + s));
        r.dropped++;
        r.droppedDescs += e - h + 1;
        continue;
      }
      let prev = headAddr >>> shift;
      bytes += headLen;
      for (let s = h + 1; s <= e; s++) {
        const a = rx.descAddr(start + s), len = rx.descLen(start + s), fr = a >>> shift;
        next[prev] = a + 1;
        segLen[fr] = len;
        bytes += len;
        prev = fr;
      }
      next[prev] = 0;
      addrs[f] = headAddr;
      lens[f++] = headLen;
      r.chained++;
    }
    // Stopped early: at an incomplete chain (f < n), or with the burst full.
    this.#waiting = f < n && j < k;
    rx.cancel(k - j);
    if (j > 0) rx.release(j);
    this.held += r.chained;
    r.frames = f;
    r.descs = j;
    r.bytes = bytes;
    return r;
  }

  /**
   * Queue frames `0..` of `addrs`/`lens` on `tx`, each with its whole chain, in order, until the
   * next chain would not fit: a frame goes out whole or stays the caller's. Writes every
   * descriptor's options (a chain's `XDP_PKT_CONTD`), records each buffer's length in `txLen`
   * (by frame, for the COMPLETION byte count) and submits. The result object is reused.
   */
  tx(tx: TxRing, addrs: Uint32Array, lens: Uint32Array, n: number, txLen: Uint32Array): ChainTx {
    const r = this.#tx, next = this.next, segLen = this.segLen, shift = this.#shift;
    const txTail = this.txTail;
    // Descriptors the n frames need, then one reservation.
    let need = 0;
    for (let i = 0; i < n; i++) {
      const link = next[addrs[i] >>> shift];
      need += link === 0 ? 1 : this.segments(addrs[i]);
    }
    const got = tx.reserve(need), start = tx.cursor;
    let d = 0, i = 0, chained = 0;
    for (; i < n; i++) {
      const addr = addrs[i], fr = addr >>> shift;
      let link = next[fr];
      if (link === 0) {
        if (d === got) break;
        tx.setDescOptions(start + d++, addr, lens[i], 0);
        txLen[fr] = lens[i];
        continue;
      }
      const segs = this.segments(addr);
      if (d + segs > got) break;
      tx.setDescOptions(start + d++, addr, lens[i], XDP_PKT_CONTD);
      txLen[fr] = lens[i];
      next[fr] = 0;
      while (link !== 0) {
        const a = link - 1, f = a >>> shift;
        link = next[f];
        next[f] = 0;
        tx.setDescOptions(start + d++, a, segLen[f], link === 0 ? 0 : XDP_PKT_CONTD);
        txLen[f] = segLen[f];
        txTail[f] = 1;
      }
      chained++;
    }
    if (d < got) tx.cancel(got - d);
    if (d > 0) tx.submit(d);
    this.held -= chained;
    r.frames = i;
    r.descs = d;
    r.chained = chained;
    return r;
  }

  /** Give `n` frames (`addrs[off..]`) and their chains back to the pool; returns the buffers. */
  free(addrs: Uint32Array, off: number, n: number): number {
    const pool = this.pool;
    let buffers = n;
    for (let i = off; i < off + n; i++) {
      const addr = addrs[i];
      pool.free(addr);
      // The rest of its chain, if any (trim frees the other segments and unlinks them).
      buffers += this.trim(addr);
    }
    return buffers;
  }

  /**
   * Cut the frame starting at `addr` to its first segment: the other segments go back to the
   * pool. Returns how many buffers that freed (0 for a frame without a chain).
   */
  trim(addr: number): number {
    const next = this.next, shift = this.#shift, pool = this.pool;
    let link = next[addr >>> shift], buffers = 0;
    if (link === 0) return 0;
    next[addr >>> shift] = 0;
    while (link !== 0) {
      const f = (link - 1) >>> shift;
      pool.free(link - 1);
      buffers++;
      link = next[f];
      next[f] = 0;
    }
    this.held--;
    return buffers;
  }

  /**
   * Of the `k` COMPLETION entries just peeked, how many are a chain's second or later segment
   * (so `k` minus that is the frames completed); clears their marks. Call before the pool takes
   * them back.
   */
  completedTails(comp: CompRing, k: number): number {
    const txTail = this.txTail, shift = this.#shift, cursor = comp.cursor;
    let tails = 0;
    for (let i = 0; i < k; i++) {
      const f = comp.addr(cursor + i) >>> shift;
      if (txTail[f] !== 0) {
        txTail[f] = 0;
        tails++;
      }
    }
    return tails;
  }
}
