/**
 * The C reference's per-frame clock (`xsk_ref --stamp`, bench/xsk_ref.c): its lines'
 * `"xdp_to_handler"` and `"xdp_to_tx"` ({count, sum, max, unstamped, buckets: [[bucket, count],
 * ...]}, engine/latency_histogram.ts' buckets) as byPassRT's own summaries, so the benchmark can
 * print and keep both contenders' per-frame figures the same way.
 *
 * @module
 */
import {
  BLOCK_SLOTS,
  H,
  HEADER,
  type LatencySummary,
  summarize,
  TO_HANDLER,
} from "../engine/latency_histogram.ts";

/** One histogram as xsk_ref prints it. */
export interface CHistogram {
  count: number;
  sum: number;
  max: number;
  unstamped: number;
  buckets: [number, number][];
}

/**
 * byPassRT's summary (percentiles and all) of a histogram given as its totals and its
 * `[bucket index, count]` pairs (engine/latency_histogram.ts' buckets).
 */
export function summaryOf(
  x: { count: number; sum: number; max: number; unstamped: number },
  buckets: Iterable<readonly [number, number]>,
): LatencySummary {
  const block = new Float64Array(BLOCK_SLOTS);
  block[TO_HANDLER + H.count] = x.count;
  block[TO_HANDLER + H.sum] = x.sum;
  block[TO_HANDLER + H.max] = x.max;
  block[TO_HANDLER + H.unstamped] = x.unstamped;
  for (const [b, n] of buckets) block[TO_HANDLER + HEADER + b] = n;
  return summarize([block], TO_HANDLER);
}

/** One of xsk_ref's histograms as byPassRT's summary (percentiles, buckets as byPassRT's). */
export function cSummary(x: CHistogram): LatencySummary {
  return summaryOf(x, x.buckets);
}

/**
 * One of xsk_ref's lines as a `"latency"` object shaped like byPassRT's (`enabled`,
 * `xdp_to_handler`, `xdp_to_tx` when it answered), or undefined when it ran without `--stamp`.
 */
export function cLatency(
  line: Record<string, unknown>,
): { enabled: true; xdp_to_handler: LatencySummary; xdp_to_tx?: LatencySummary } | undefined {
  const rx = line.xdp_to_handler as CHistogram | undefined;
  if (rx === undefined) return undefined;
  const tx = line.xdp_to_tx as CHistogram | undefined;
  return {
    enabled: true,
    xdp_to_handler: cSummary(rx),
    ...(tx === undefined ? {} : { xdp_to_tx: cSummary(tx) }),
  };
}
