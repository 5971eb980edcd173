/**
 * Allocation-free latency histograms in shared memory: log-linear buckets with nanosecond
 * resolution, written by a polling loop (plain stores, no atomics: one writer) and read by the
 * main thread, which merges the queues and derives percentiles without touching the Worker.
 *
 * Buckets: values 0..15 ns each have their own bucket; above, every power-of-two range
 * [2^k, 2^(k+1)) (k = 4..31) is cut into {@link SUB_BUCKETS} equal parts, so a bucket is at
 * most 1/16 (6.25 %) of its value wide. Values of 2^32 ns (4.29 s) or more are not recorded
 * (the caller counts them as unstamped). A block holds {@link HISTOGRAMS} histograms:
 * XDP-to-handler and XDP-to-TX.
 *
 * @module
 */

/** Sub-buckets per power of two. */
export const SUB_BUCKETS = 16;
const SUB_BITS = 4;
/** Largest value a histogram records, exclusive: 2^32 ns. */
export const MAX_VALUE_NS = 4294967296;
/** Buckets per histogram: 16 exact ones, then 16 per power of two from 2^4 to 2^31. */
export const BUCKETS = SUB_BUCKETS + (32 - SUB_BITS) * SUB_BUCKETS;

/** Header slots of one histogram (before its buckets). */
export const H = { count: 0, sum: 1, max: 2, unstamped: 3 } as const;
/** Header slots of one histogram: its buckets start at `base + HEADER`. */
export const HEADER = 4;
/** Slots of one histogram: header and buckets. */
export const HISTOGRAM_SLOTS = HEADER + BUCKETS;
/** Histograms per block: XDP-to-handler (0) and XDP-to-TX (1). */
export const HISTOGRAMS = 2;
/** Base slot of the XDP-to-handler histogram in a block. */
export const TO_HANDLER = 0;
/** Base slot of the XDP-to-TX histogram in a block. */
export const TO_TX = HISTOGRAM_SLOTS;
/** Slots of a block. */
export const BLOCK_SLOTS = HISTOGRAMS * HISTOGRAM_SLOTS;

/**
 * A fresh, zeroed block for one queue.
 *
 * @example
 * ```ts
 * import { newLatencyBlock, recordNs, TO_HANDLER } from "./latency_histogram.ts";
 * const h = newLatencyBlock();
 * recordNs(h, TO_HANDLER, 1234);
 * ```
 */
export function newLatencyBlock(): Float64Array<SharedArrayBuffer> {
  return new Float64Array(new SharedArrayBuffer(BLOCK_SLOTS * 8));
}

/** The bucket of `v` (an integer, 0 <= v < 2^32). */
export function bucketOf(v: number): number {
  if (v < SUB_BUCKETS) return v;
  const k = 31 - Math.clz32(v);
  return SUB_BUCKETS + ((k - SUB_BITS) << SUB_BITS) + ((v >>> (k - SUB_BITS)) & (SUB_BUCKETS - 1));
}

/** Smallest value of bucket `b`. */
export function bucketLow(b: number): number {
  if (b < SUB_BUCKETS) return b;
  const k = ((b - SUB_BUCKETS) >>> SUB_BITS) + SUB_BITS;
  return (SUB_BUCKETS + ((b - SUB_BUCKETS) & (SUB_BUCKETS - 1))) * 2 ** (k - SUB_BITS);
}

/** First value above bucket `b` (its exclusive upper bound). */
export function bucketHigh(b: number): number {
  return b + 1 < BUCKETS ? bucketLow(b + 1) : MAX_VALUE_NS;
}

/**
 * Record `ns` (0 <= ns < 2^32; the fraction is dropped) in the histogram at slot `base` of
 * `h`. Allocation-free; called per frame by the loop.
 */
export function recordNs(h: Float64Array, base: number, ns: number): void {
  const v = ns >>> 0;
  h[base + H.count]++;
  h[base + H.sum] += v;
  if (v > h[base + H.max]) h[base + H.max] = v;
  h[base + HEADER + bucketOf(v)]++;
}

/** One histogram read out of one or more blocks (merged). */
export interface LatencySummary {
  /** Frames measured. */
  count: number;
  /** Frames that carried no plausible stamp (absent, stale, or the clock went backwards). */
  unstamped: number;
  /** Percentiles and maximum, in ns: the highest value of the percentile's bucket (capped by max). */
  p50: number;
  /** 90th percentile (ns). */
  p90: number;
  /** 99th percentile (ns). */
  p99: number;
  /** 99.9th percentile (ns). */
  p99_9: number;
  /** Largest value (ns). */
  max: number;
  /** Mean (ns). */
  mean: number;
  /** Sum of every value (ns). */
  sum: number;
  /** Non-empty buckets: [lowest ns, first ns above, count]. */
  buckets: [number, number, number][];
}

/** Bucket counts of histogram `base` summed over `blocks` (a fresh array: not for the loop). */
export function mergedCounts(blocks: readonly Float64Array[], base: number): Float64Array {
  const counts = new Float64Array(BUCKETS);
  for (const h of blocks) {
    for (let b = 0; b < BUCKETS; b++) counts[b] += h[base + HEADER + b];
  }
  return counts;
}

/**
 * The value at quantile `q` (0..1) of `counts` (`total` values, largest `max`): the highest
 * value of the bucket that holds the ceil(q * total)-th smallest value, never above `max`. 0
 * for an empty histogram.
 */
export function quantile(counts: Float64Array, total: number, max: number, q: number): number {
  if (total <= 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let b = 0; b < BUCKETS; b++) {
    seen += counts[b];
    if (seen >= rank) return Math.min(bucketHigh(b) - 1, max);
  }
  return max;
}

/** Histogram `base` (TO_HANDLER or TO_TX) of `blocks`, merged, with its percentiles. */
export function summarize(blocks: readonly Float64Array[], base: number): LatencySummary {
  const counts = mergedCounts(blocks, base);
  let count = 0, unstamped = 0, sum = 0, max = 0;
  for (const h of blocks) {
    count += h[base + H.count];
    unstamped += h[base + H.unstamped];
    sum += h[base + H.sum];
    max = Math.max(max, h[base + H.max]);
  }
  // A live read may see a bucket bumped before the count (or after): percentiles use the
  // buckets' own total, so they stay consistent with each other.
  let inBuckets = 0;
  const buckets: [number, number, number][] = [];
  for (let b = 0; b < BUCKETS; b++) {
    if (counts[b] === 0) continue;
    inBuckets += counts[b];
    buckets.push([bucketLow(b), bucketHigh(b), counts[b]]);
  }
  const at = (q: number) => quantile(counts, inBuckets, max, q);
  return {
    count,
    unstamped,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p99_9: at(0.999),
    max,
    mean: count > 0 ? Math.round(sum / count) : 0,
    sum,
    buckets,
  };
}

/**
 * Cumulative counts at fixed upper bounds `les` (ns, each a bucket boundary or Infinity) for
 * a Prometheus histogram: how many values were below each bound.
 */
export function cumulativeAt(counts: Float64Array, les: readonly number[]): number[] {
  const out: number[] = [];
  let b = 0, seen = 0;
  for (const le of les) {
    while (b < BUCKETS && bucketHigh(b) <= le) seen += counts[b++];
    out.push(seen);
  }
  return out;
}
