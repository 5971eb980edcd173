/**
 * The per-frame clock: the XDP program (`bpf/xdp_steer.c`) writes `bpf_ktime_get_ns()`
 * (CLOCK_MONOTONIC, ns) as a u64 into the 8 bytes of XDP metadata just before each frame it
 * redirects. On a frame's way the loop only reads the clock: {@link FrameClock.rx}, once per RX
 * burst just before the handler gets the frames (one clock read into the clock's own array,
 * nothing per frame). The TX point is the kick, the moment the frames are handed to the kernel:
 * with {@link FrameClock.kickClock} the port's kick reads CLOCK_MONOTONIC in C just before its
 * `sendto`, inside the FFI call the burst makes anyway (a burst that needed no kick, e.g.
 * zero-copy without a wake-up request, takes the clock when its frames are recorded, after its
 * descriptors were submitted). Once the burst's frames are on their way (after the kick), the
 * loop hands the burst's final arrays to {@link FrameClock.sent} (frames sent: both points) and
 * {@link FrameClock.handled} (frames dropped or given to the kernel: the RX point), which record
 * `reading - stamp` of every frame into the queue's shared histograms (see
 * `latency_histogram.ts`). So between a frame's arrival and its kick the clock costs one clock
 * read at RX and one in C inside the kick: no copy of the burst's addresses, no per-frame work,
 * and one small array touched (measured: the notes of earlier versions touched more objects,
 * and after a millisecond of empty polls each cold object cost a dependent cache miss; see
 * BENCHMARKS.md). Nothing is allocated.
 *
 * Clock: the clock reads CLOCK_MONOTONIC through the {@link MonotonicNs} reader it is given,
 * in the engine the helper's `bpx_now` (an FFI fast call into the vDSO, about 40 ns here, no
 * system call): the stamps' own clock, so there is no offset to measure and no drift to report.
 * (Deno's `performance.now()`, which an earlier version read with an offset measured through
 * FFI, took about 115 ns, and 1-3 us after a millisecond unused under V8's default flags.)
 *
 * Stamps that cannot be right are not recorded but counted as unstamped: absent (zero
 * headroom: the program did not stamp, e.g. a driver without metadata support), in the future
 * (more than {@link SKEW_NS} ahead), or 2^32 ns (4.3 s) or more in the past
 * (a stale stamp from an earlier use of the frame's memory).
 *
 * @module
 */
import { BLOCK_SLOTS, bucketOf, H, HEADER, TO_HANDLER, TO_TX } from "./latency_histogram.ts";

/** Bytes of XDP metadata the program writes before each frame (one u64). */
export const META_BYTES = 8;
/** A stamp up to this far ahead of the clock counts as 0 ns (clock reads on different CPUs). */
export const SKEW_NS = 2000;
const TWO32 = 4294967296;
/** Whether this isolate's frame clocks have been through {@link warmUp}. */
let warmed = false;

/**
 * Run a scratch clock (own memory, own histograms) over every kind of stamp, before any real
 * frame: fresh, old enough that a burst's sum of ages passes 2^31 ns, absent, in the future,
 * stale. V8 then optimises `#record` with every branch and number type already seen, instead of
 * deoptimising (and allocating while it runs unoptimised) the first time a live frame takes a
 * new branch, e.g. the first frame that arrives unstamped.
 */
function warmUp(now: MonotonicNs): void {
  const frames = 16, size = 256;
  const mem = new Uint8Array(frames * size);
  const view = new DataView(mem.buffer);
  // Scratch clocks read the live clock's own reader, so the calls V8 optimises see one target.
  const clock = new FrameClock(mem, new Float64Array(BLOCK_SLOTS), now);
  // A second scratch clock with a kick clock: its rounds alternate between a kick reading and
  // none (the TX point then reads the clock itself), as a live queue's bursts may.
  const kicked = new FrameClock(mem, new Float64Array(BLOCK_SLOTS), now);
  const kickAt = kicked.kickClock();
  const addrs = Uint32Array.from({ length: frames }, (_, i) => i * size + 128);
  const ages = [500, 3_000, 40_000, 1e6, 2e8, 3e9, 0, -1e9, 1e10];
  for (let round = 0; round < 300; round++) {
    const at = now();
    for (let i = 0; i < frames; i++) {
      const age = ages[(i + round) % ages.length];
      const stamp = age === 0 ? 0 : at - age;
      view.setUint32(addrs[i] - 8, stamp % TWO32, true);
      view.setUint32(addrs[i] - 4, Math.floor(stamp / TWO32), true);
    }
    clock.rx();
    clock.sent(addrs, frames);
    clock.handled(addrs, frames);
    kicked.rx();
    if (round % 2 === 0) kickAt[0] = now();
    kicked.sent(addrs, frames);
    kicked.handled(addrs, frames);
  }
}

/**
 * A CLOCK_MONOTONIC reader in ns, the XDP stamps' own clock: the helper's `bpx_now` (an FFI
 * fast call into the vDSO, no system call).
 */
export type MonotonicNs = () => number;

/** One queue's per-frame clock over its UMEM and its shared latency block. */
export class FrameClock {
  /** The UMEM as 32-bit words (a stamp is 8-byte aligned: two words, low first). */
  readonly #words: Uint32Array;
  readonly #h: Float64Array;
  /** Reads the clock (ns, CLOCK_MONOTONIC) at the RX point, and at the TX point without a kick. */
  readonly #now: MonotonicNs;
  /**
   * The clock (ns, CLOCK_MONOTONIC) at the last RX point [0]; at the TX point of that burst [1]
   * (-1 until its first frame sent is recorded); and, with {@link kickClock}, the reading of the
   * port's last kick [2], which {@link rx} sets to 0 (so a reading above 0 is this burst's kick).
   * One array: the only memory the clock touches on a frame's way besides its own fields.
   */
  readonly #at = Float64Array.of(0, -1, 0);
  /** The view of `#at[2]` that {@link kickClock} hands out (one for every port of the queue). */
  #kickAt: Float64Array<ArrayBuffer> | null = null;

  /**
   * Over the UMEM `umem`, recording into `block` (see {@link newLatencyBlock}), reading
   * CLOCK_MONOTONIC with `now` (in the engine the helper's `bpx_now`).
   */
  constructor(umem: Uint8Array, block: Float64Array, now: MonotonicNs) {
    if (umem.byteOffset % 4 !== 0) throw new RangeError("the UMEM must be 4-byte aligned");
    this.#words = new Uint32Array(umem.buffer, umem.byteOffset, umem.byteLength >>> 2);
    this.#h = block;
    this.#now = now;
    if (!warmed) {
      warmed = true;
      warmUp(now);
    }
  }

  /**
   * Read the clock as {@link rx} does, with no frame: the loop calls this every 64 loops when it
   * does not rehearse the whole burst path, so that a sparse frame's clock read runs warm (a
   * clock read costs a fraction of a microsecond when made often but up to a few when it has
   * not run for a millisecond: BENCHMARKS.md "Per-frame clock"). Records nothing; the next
   * burst's {@link rx} reads the clock again.
   */
  keepWarm(): void {
    this.rx();
  }

  /**
   * Take the TX point's clock from the kick: returns the array the port's clocked kick writes
   * its CLOCK_MONOTONIC reading into (`Port.clockKicks(helper.bpx_kick_at, array)`; a view of
   * the clock's own readings). From then on the TX point is the reading of the kick made since
   * the burst's {@link rx}, or, when there was none, the clock read when the burst's first frame
   * sent is recorded.
   */
  kickClock(): Float64Array<ArrayBuffer> {
    return this.#kickAt ??= new Float64Array(this.#at.buffer, 2 * 8, 1);
  }

  /**
   * The RX point of a burst: read the clock. The loop calls it once per RX burst, just before
   * the handler gets the frames; {@link sent} and {@link handled} record the burst's frames
   * against this reading once they are on their way.
   */
  rx(): void {
    const at = this.#at;
    at[0] = this.#now();
    at[1] = -1;
    at[2] = 0;
  }

  /**
   * Record the frames at `addrs[0..n)`, received since the last {@link rx} and now sent, at
   * both points: XDP-to-handler (the {@link rx} reading) and XDP-to-TX (the reading of the kick
   * that handed them to the kernel, see {@link kickClock}, else the clock read now, once per
   * burst: the TX bursts of one RX burst go out together). Call it after the burst's kick and
   * before any of these frames can be received into again (before they go back on FILL).
   */
  sent(addrs: Uint32Array, n: number): void {
    if (n <= 0) return;
    const at = this.#at;
    if (at[1] < 0) at[1] = at[2] > 0 ? at[2] : this.#now();
    this.#record(TO_HANDLER, addrs, n, 0);
    this.#record(TO_TX, addrs, n, 1);
  }

  /**
   * Record the frames at `addrs[0..n)`, received since the last {@link rx} and not sent
   * (dropped, or handed to the kernel), at the RX point only. Same timing as {@link sent}.
   */
  handled(addrs: Uint32Array, n: number): void {
    if (n > 0) this.#record(TO_HANDLER, addrs, n, 0);
  }

  /**
   * Per frame one bucket increment at the clock reading `#at[at]` (ns); count, sum,
   * max and unstamped are kept in locals and stored once per burst (a read-modify-write of the
   * same slot per frame would chain every frame on store-to-load forwarding). The reading is
   * passed as an index, not as a number: a double argument to a call V8 does not inline is
   * boxed, i.e. allocated, on every call.
   */
  #record(base: number, addrs: Uint32Array, n: number, at: number): void {
    const h = this.#h, words = this.#words;
    const now = this.#at[at];
    // The clock as two 32-bit words: each stamp is then compared and subtracted in integers.
    const nowHi = Math.floor(now / TWO32), nowLo = (now - nowHi * TWO32) >>> 0;
    const buckets = base + HEADER;
    let count = 0, sum = 0, max = h[base + H.max], unstamped = 0;
    for (let i = 0; i < n; i++) {
      const a = addrs[i];
      // A frame without room for a stamp before it, or not 4-byte aligned, has none.
      if (a < META_BYTES || (a & 3) !== 0) {
        unstamped++;
        continue;
      }
      const w = (a >>> 2) - 2;
      const lo = words[w], hi = words[w + 1];
      // age = (nowHi - hi) * 2^32 + nowLo - lo: kept when 0 <= age < 2^32, i.e. when the high
      // words differ by exactly the borrow of the low ones; its low 32 bits are then the age.
      let v = (nowLo - lo) >>> 0;
      const borrow = nowLo < lo ? 1 : 0;
      if (hi + borrow !== nowHi || (hi | lo) === 0) {
        // In the future by less than two CPUs' clock reads may differ: 0 ns. Else not plausible.
        if (hi === nowHi && lo - nowLo < SKEW_NS) v = 0;
        else {
          unstamped++;
          continue;
        }
      }
      sum += v;
      if (v > max) max = v;
      h[buckets + bucketOf(v)]++;
      count++;
    }
    h[base + H.count] += count;
    h[base + H.sum] += sum;
    h[base + H.max] = max;
    if (unstamped > 0) h[base + H.unstamped] += unstamped;
  }
}
