/**
 * mbuf-lite: the UMEM's frames, all created up front, handed out and taken back as addresses
 * through a LIFO stack (the most recently freed frame is the warmest in cache). Alloc and free are
 * O(1) and allocation-free; a per-frame "in pool" byte catches double frees and foreign addresses.
 *
 * @module
 */
import type { CompRing, FillRing } from "../ring/xsk_ring.ts";

/** Thrown when a frame is freed twice or an address does not belong to the pool. */
export class FrameOwnershipError extends Error {
  /** Say which frame and why. */
  constructor(message: string) {
    super(message);
    this.name = "FrameOwnershipError";
  }
}

/**
 * A pool of `frames` frames of `frameSize` bytes (a power of two). A frame is named by the UMEM
 * address of its first byte; any address inside a frame can be freed (it is masked to the frame).
 *
 * @example
 * ```ts
 * import { Mempool } from "./mempool.ts";
 * const pool = new Mempool(4, 2048);
 * const got = new Uint32Array(4);
 * pool.allocBurst(got, 0, 4); // 4
 * pool.freeBurst(got, 0, 4);
 * pool.available; // 4
 * ```
 */
export class Mempool {
  /** Number of frames. */
  readonly frames: number;
  /** Bytes per frame. */
  readonly frameSize: number;
  private readonly shift: number;
  private readonly stack: Uint32Array;
  private readonly inPool: Uint8Array;
  private top: number;

  /** All `frames` frames start in the pool. */
  constructor(frames: number, frameSize: number) {
    if (!Number.isInteger(frames) || frames < 1 || frames > 1 << 20) {
      throw new RangeError(`frame count ${frames} must be between 1 and 1048576`);
    }
    if (!Number.isInteger(frameSize) || (frameSize & (frameSize - 1)) !== 0 || frameSize < 2048) {
      throw new RangeError(`frame size ${frameSize} must be a power of two >= 2048`);
    }
    if (frames * frameSize > 2 ** 32) throw new RangeError("UMEM larger than 4 GiB");
    this.frames = frames;
    this.frameSize = frameSize;
    this.shift = Math.log2(frameSize);
    this.stack = new Uint32Array(frames);
    this.inPool = new Uint8Array(frames).fill(1);
    // Frame 0 on top: allocation order is 0, 1, 2, ... on a fresh pool.
    for (let i = 0; i < frames; i++) this.stack[i] = (frames - 1 - i) * frameSize;
    this.top = frames;
  }

  /** Frames in the pool now. */
  get available(): number {
    return this.top;
  }

  /** Take up to `n` frames into `out[off..]`; returns how many (fewer when the pool runs dry). */
  allocBurst(out: Uint32Array, off: number, n: number): number {
    const k = this.top < n ? this.top : n;
    const stack = this.stack, inPool = this.inPool, shift = this.shift;
    const top = this.top;
    this.top = top - k;
    for (let i = 0; i < k; i++) {
      const addr = stack[top - 1 - i];
      inPool[addr >>> shift] = 0;
      out[off + i] = addr;
    }
    return k;
  }

  /** Take one frame; returns its address or -1 when the pool is empty. */
  alloc(): number {
    if (this.top === 0) return -1;
    const addr = this.stack[--this.top];
    this.inPool[addr >>> this.shift] = 0;
    return addr;
  }

  /** Return the frame holding `addr`. Throws {@link FrameOwnershipError} on a double free. */
  free(addr: number): void {
    const frame = addr >>> this.shift;
    if (frame >= this.frames || this.inPool[frame] !== 0) this.reject(addr);
    this.inPool[frame] = 1;
    this.stack[this.top++] = frame << this.shift;
  }

  /** Return `n` frames named by `addrs[off..]`. */
  freeBurst(addrs: Uint32Array, off: number, n: number): void {
    const stack = this.stack, inPool = this.inPool, shift = this.shift, frames = this.frames;
    let top = this.top;
    for (let i = 0; i < n; i++) {
      const frame = addrs[off + i] >>> shift;
      if (frame >= frames || inPool[frame] !== 0) {
        this.top = top;
        this.reject(addrs[off + i]);
      }
      inPool[frame] = 1;
      stack[top++] = frame << shift;
    }
    this.top = top;
  }

  /**
   * Move `n` frames (the caller checked `available >= n` and reserved `n` slots) to the FILL
   * ring's entries `fill.cursor .. fill.cursor + n - 1`.
   *
   * @internal The port's refill path.
   */
  allocToFill(fill: FillRing, n: number): void {
    const stack = this.stack, inPool = this.inPool, shift = this.shift, cursor = fill.cursor;
    // Update the property before the loop: with the store after it, the code V8 compiled on
    // stack replacement during the first (large) refill kept deoptimising later, short calls.
    const top = this.top;
    this.top = top - n;
    for (let i = 0; i < n; i++) {
      const addr = stack[top - 1 - i];
      inPool[addr >>> shift] = 0;
      fill.setAddr(cursor + i, addr);
    }
  }

  /**
   * Take back the `n` frames named by the COMPLETION ring's entries `comp.cursor ..
   * comp.cursor + n - 1` (just peeked), with the same checks as {@link Mempool.free}. Returns
   * the sum of `lenByFrame[frame]` over those frames (the port keeps each queued frame's length
   * there), so the caller needs no second pass over the ring.
   *
   * @internal The port's completion path.
   */
  freeFromComp(comp: CompRing, n: number, lenByFrame: Uint32Array): number {
    const stack = this.stack, inPool = this.inPool, shift = this.shift, frames = this.frames;
    const cursor = comp.cursor;
    let top = this.top, bytes = 0;
    for (let i = 0; i < n; i++) {
      const addr = comp.addr(cursor + i);
      const frame = addr >>> shift;
      if (frame >= frames || inPool[frame] !== 0) {
        this.top = top;
        this.reject(addr);
      }
      bytes += lenByFrame[frame];
      inPool[frame] = 1;
      stack[top++] = frame << shift;
    }
    this.top = top;
    return bytes;
  }

  /** Whether the frame holding `addr` is in the pool. */
  contains(addr: number): boolean {
    const frame = addr >>> this.shift;
    return frame < this.frames && this.inPool[frame] === 1;
  }

  /** Frame index of an address. */
  frameOf(addr: number): number {
    return addr >>> this.shift;
  }

  /** Call `visit(frame)` for every frame in the pool (audits; allocates nothing itself). */
  forEachFree(visit: (frame: number) => void): void {
    for (let i = 0; i < this.top; i++) visit(this.stack[i] >>> this.shift);
  }

  /** Throw the ownership error for `addr`. */
  private reject(addr: number): never {
    const frame = addr >>> this.shift;
    throw new FrameOwnershipError(
      frame >= this.frames
        ? `address ${addr} is outside the UMEM (${this.frames} frames of ${this.frameSize})`
        : `frame ${frame} (address ${addr}) freed twice: it is already in the pool`,
    );
  }
}
