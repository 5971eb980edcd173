/**
 * The per-frame clock: the XDP program (`bpf/xdp_steer.c`) writes `bpf_ktime_get_ns()`
 * (CLOCK_MONOTONIC, ns) as a u64 into the 8 bytes of XDP metadata just before each frame it
 * redirects; the loop calls {@link FrameClock.rx} once per RX burst, just before the handler
 * gets the frames, and {@link FrameClock.tx} once per TX burst, just before the frames it
 * received go to the TX ring. `rx` reads the clock and notes the frames. The TX point is the
 * kick, the moment the frames are handed to the kernel: with {@link FrameClock.kickClock} the
 * port's kick reads CLOCK_MONOTONIC in C just before its `sendto`, inside the FFI call the burst
 * makes anyway, and `tx` only notes the frames (a burst that needed no kick, e.g. zero-copy
 * without a wake-up request, takes the clock at the flush, after its descriptors were
 * submitted); without it `tx` reads the clock as `rx` does. {@link FrameClock.flush}, which the
 * loop calls once the burst's frames are on their way (after the kick), records `now - stamp`
 * for every noted frame into the queue's shared histograms (see `latency_histogram.ts`). So
 * reading the stamps and counting them into buckets is not part of any frame's latency: between
 * a frame's arrival and its kick the clock costs one clock read at RX, one in C inside the kick
 * and two copies of the burst's addresses. Nothing is allocated.
 *
 * Clocks: the engine gives the clock a {@link MonotonicNs} reader, the helper's `bpx_now`:
 * CLOCK_MONOTONIC itself through an FFI fast call into the vDSO (about 40 ns here, no system
 * call), the stamps' own clock, so there is no offset to measure and no drift to report.
 * Without one (unit tests) it reads Deno's `performance.now()` (std's `Instant`, i.e.
 * clock_gettime(CLOCK_MONOTONIC), less the time origin, in ms with a sub-microsecond
 * fraction; about 115 ns here, and 1-3 us after a millisecond unused) plus an offset to
 * CLOCK_MONOTONIC measured through FFI at the start (the bracket of the tightest of 64 tries)
 * and again at the end; both go into the block, so a report shows the drift (expected 0 +- the
 * bracket: same clock).
 *
 * Stamps that cannot be right are not recorded but counted as unstamped: absent (zero
 * headroom: the program did not stamp, e.g. a driver without metadata support), in the future
 * (more than {@link SKEW_NS} ahead: a bad offset), or 2^32 ns (4.3 s) or more in the past
 * (a stale stamp from an earlier use of the frame's memory).
 *
 * @module
 */
import { BLOCK, bucketOf, H, HEADER, TO_HANDLER, TO_TX } from "./latency_histogram.ts";

/** Bytes of XDP metadata the program writes before each frame (one u64). */
export const META_BYTES = 8;
/** A stamp up to this far ahead of the clock counts as 0 ns (offset uncertainty). */
export const SKEW_NS = 2000;
const TWO32 = 4294967296;
/** Frames one flush can hold per point (the largest burst). */
const NOTE_MAX = 1024;
/** The addresses of {@link FrameClock.keepWarm}'s notes (none is read: it notes 0 frames). */
const NO_FRAMES = new Uint32Array(1);
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
  const clock = new FrameClock(mem, new Float64Array(BLOCK.offsetEnd + 1), now);
  // A second scratch clock with a kick clock: its rounds alternate between a kick reading and
  // none (the flush then reads the clock itself), as a live queue's bursts may.
  const kicked = new FrameClock(mem, new Float64Array(BLOCK.offsetEnd + 1), now);
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
    clock.rx(addrs, frames);
    clock.tx(addrs, frames);
    clock.flush();
    kicked.rx(addrs, frames);
    kicked.tx(addrs, frames);
    if (round % 2 === 0) kickAt[0] = now();
    kicked.flush();
  }
}

/**
 * A CLOCK_MONOTONIC reader in ns, the XDP stamps' own clock: the helper's `bpx_now` (an FFI
 * fast call into the vDSO, no system call).
 */
export type MonotonicNs = () => number;

let clockGettime: ((clk: number, ts: BigInt64Array<ArrayBuffer>) => number) | undefined;

/** CLOCK_MONOTONIC minus performance.now(), in ns (FFI; not for the hot path). */
export function monotonicOffsetNs(): number {
  if (clockGettime === undefined) {
    const lib = Deno.dlopen("libc.so.6", {
      clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
    });
    clockGettime = lib.symbols.clock_gettime;
  }
  const ts = new BigInt64Array(2);
  const mono = () => {
    clockGettime!(1, ts); // CLOCK_MONOTONIC
    return Number(ts[0]) * 1e9 + Number(ts[1]);
  };
  let best = Infinity, offset = 0;
  for (let i = 0; i < 64; i++) {
    const a = mono();
    const p = performance.now();
    const b = mono();
    if (b - a < best) {
      best = b - a;
      offset = (a + b) / 2 - p * 1e6;
    }
  }
  return offset;
}

/** One queue's per-frame clock over its UMEM and its shared latency block. */
export class FrameClock {
  /** The UMEM as 32-bit words (a stamp is 8-byte aligned: two words, low first). */
  readonly #words: Uint32Array;
  readonly #h: Float64Array;
  /** CLOCK_MONOTONIC minus performance.now() (ns); null with a {@link MonotonicNs} reader. */
  readonly #offsetNs: number | null;
  /** Reads the clock (ns, CLOCK_MONOTONIC) at the RX point, and at the flush without a kick. */
  readonly #now: MonotonicNs;
  /** The clock (ns, CLOCK_MONOTONIC) at the noted RX point [0] and TX point [1]. */
  readonly #at = new Float64Array(2);
  /** Frames noted since the last flush: at the RX point [0], at the TX point [1]. */
  readonly #noted = [new Uint32Array(NOTE_MAX), new Uint32Array(NOTE_MAX)];
  /** How many frames each point has noted since the last flush. */
  readonly #count = new Int32Array(2);
  /**
   * With {@link kickClock}: the CLOCK_MONOTONIC reading (ns) of the port's last kick, set to 0
   * at the first TX note after a flush (so a reading above 0 at the flush is this burst's kick).
   */
  #kickAt: Float64Array<ArrayBuffer> | null = null;

  /**
   * Over the UMEM `umem`, recording into `block` (see {@link newLatencyBlock}), reading the
   * clock with `now` (the helper's `bpx_now`: CLOCK_MONOTONIC itself, so no offset and no drift
   * to report), else with `performance.now()` plus an offset to CLOCK_MONOTONIC measured now
   * and again at {@link recheck} (both go into the block).
   */
  constructor(umem: Uint8Array, block: Float64Array, now?: MonotonicNs) {
    if (umem.byteOffset % 4 !== 0) throw new RangeError("the UMEM must be 4-byte aligned");
    this.#words = new Uint32Array(umem.buffer, umem.byteOffset, umem.byteLength >>> 2);
    this.#h = block;
    if (now !== undefined) {
      this.#offsetNs = null;
      this.#now = now;
    } else {
      const offset = this.#offsetNs = monotonicOffsetNs();
      if (block[BLOCK.offsetStart] === 0) block[BLOCK.offsetStart] = offset;
      this.#now = () => performance.now() * 1e6 + offset;
    }
    if (!warmed) {
      warmed = true;
      warmUp(this.#now);
    }
  }

  /**
   * Measure the offset again and store it as the end offset (off the hot path); nothing to
   * measure with a {@link MonotonicNs} reader.
   */
  recheck(): void {
    if (this.#offsetNs !== null) this.#h[BLOCK.offsetEnd] = monotonicOffsetNs();
  }

  /**
   * Run what a frame's burst runs on its way (both notes: the RX one with its clock read, the
   * TX one with its own read, or with a kick clock the clearing of the kick's reading) with no
   * frame: the loop calls this every 64 loops (after any burst's flush), so that the next
   * frame's notes run warm. A clock read costs a fraction of a microsecond when made often but
   * up to a few when it has not run for a millisecond (measured in a Worker here; BENCHMARKS.md
   * "Per-frame clock"), and the notes' state and code go cold as well; at a low frame rate that
   * would land inside every frame's latency. Nothing is noted or recorded: a note of no frames
   * only reads the clock, and the next real note reads it again.
   */
  keepWarm(): void {
    this.#note(0, NO_FRAMES, 0);
    this.#note(1, NO_FRAMES, 0);
  }

  /**
   * Take the TX point's clock from the kick: returns the array the port's clocked kick writes
   * its CLOCK_MONOTONIC reading into (`Port.clockKicks(helper.bpx_kick_at, array)`). From then
   * on {@link tx} reads no clock; {@link flush} uses the kick's reading when a kick was made
   * since the burst's first TX note, and reads the clock itself otherwise.
   */
  kickClock(): Float64Array<ArrayBuffer> {
    return this.#kickAt ??= new Float64Array(1);
  }

  /**
   * XDP-to-handler: read the clock and note the frames at `addrs[0..n)`; {@link flush}
   * records them. The loop calls it once per RX burst.
   */
  rx(addrs: Uint32Array, n: number): void {
    this.#note(0, addrs, n);
  }

  /**
   * XDP-to-TX: note the received frames at `addrs[0..n)`, with the clock of the kick that hands
   * them to the kernel ({@link kickClock}), else the clock read at the first call since the
   * last {@link flush} (the TX bursts of one RX burst go out together).
   */
  tx(addrs: Uint32Array, n: number): void {
    this.#note(1, addrs, n);
  }

  /**
   * Note `addrs[0..n)` at point `p` (0 RX, 1 TX); the first note since a flush reads the clock,
   * or at the TX point with a kick clock, clears the kick's reading.
   */
  #note(p: number, addrs: Uint32Array, n: number): void {
    if (this.#count[p] + n > NOTE_MAX) this.flush();
    const m = this.#count[p], dst = this.#noted[p];
    if (m === 0) {
      const kick = this.#kickAt;
      if (p === 1 && kick !== null) kick[0] = 0;
      else this.#at[p] = this.#now();
    }
    for (let i = 0; i < n; i++) dst[m + i] = addrs[i];
    this.#count[p] = m + n;
  }

  /**
   * Record every frame noted since the last flush (its age at its RX or TX point). The
   * caller flushes before a noted frame's memory can be received into again, i.e. before the
   * frames of the burst go back on FILL; the loop does it right after the burst's TX.
   */
  flush(): void {
    const count = this.#count;
    if (count[0] > 0) this.#record(TO_HANDLER, this.#noted[0], count[0], 0);
    if (count[1] > 0) {
      const kick = this.#kickAt;
      if (kick !== null) {
        // The kick's reading is CLOCK_MONOTONIC already; no kick since the note: read it now.
        this.#at[1] = kick[0] > 0 ? kick[0] : this.#now();
      }
      this.#record(TO_TX, this.#noted[1], count[1], 1);
    }
    count[0] = 0;
    count[1] = 0;
  }

  /**
   * Per frame one bucket increment at the clock reading noted in `#at[at]` (ns); count, sum,
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
        // In the future by less than the offset's uncertainty: 0 ns. Else not plausible.
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
