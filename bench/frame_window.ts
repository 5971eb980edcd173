/**
 * The per-frame clock of one measured window: a contender's histograms (XDP-to-handler,
 * XDP-to-TX) at the end of a run minus those of a report taken between the warm-up and the
 * measured round trips. The latency benchmark warms every contender up at 100,000 frames/s
 * and measures at 1000 frames/s; the histograms of the whole run would be mostly warm-up
 * frames, while the figure is XDP-to-handler at 1000 frames/s (BENCHMARKS.md).
 *
 * @module
 */
import { bucketHigh, bucketOf, BUCKETS, type LatencySummary } from "../engine/latency_histogram.ts";
import { cLatency, summaryOf } from "./c_clock.ts";

/** A contender's per-frame clock: both histograms (XDP-to-TX absent where nothing was sent). */
export interface FrameClockFigures {
  enabled: true;
  xdp_to_handler: LatencySummary;
  xdp_to_tx?: LatencySummary;
}

/**
 * The per-frame clock in one of a contender's reports: byPassRT's `"latency"` (when enabled),
 * or the C reference's `"xdp_to_handler"`/`"xdp_to_tx"` (`xsk_ref --stamp`); undefined when
 * the report has neither.
 */
export function reportClock(report: Record<string, unknown>): FrameClockFigures | undefined {
  const l = report.latency as Partial<FrameClockFigures> | { enabled: false } | undefined;
  if (l?.enabled === true && l.xdp_to_handler !== undefined) {
    return {
      enabled: true,
      xdp_to_handler: l.xdp_to_handler,
      ...(l.xdp_to_tx === undefined ? {} : { xdp_to_tx: l.xdp_to_tx }),
    };
  }
  return cLatency(report);
}

/**
 * The values recorded in `end` and not yet in `start` (the same histogram read twice), with
 * their percentiles. The window's maximum is `end`'s when it grew in the window; otherwise it
 * is unknown and taken as the end of the window's highest bucket (never above `end`'s).
 */
export function summaryBetween(end: LatencySummary, start: LatencySummary): LatencySummary {
  const counts = new Float64Array(BUCKETS);
  for (const [low, , n] of end.buckets) counts[bucketOf(low)] += n;
  for (const [low, , n] of start.buckets) counts[bucketOf(low)] -= n;
  const pairs: [number, number][] = [];
  for (let b = 0; b < BUCKETS; b++) {
    if (counts[b] < 0) {
      throw new RangeError(`the end's histogram has fewer values than the start's in bucket ${b}`);
    }
    if (counts[b] > 0) pairs.push([b, counts[b]]);
  }
  const top = pairs.at(-1)?.[0];
  const max = end.max > start.max
    ? end.max
    : top === undefined
    ? 0
    : Math.min(end.max, bucketHigh(top) - 1);
  const count = end.count - start.count, sum = end.sum - start.sum;
  return summaryOf({ count, sum, max, unstamped: end.unstamped - start.unstamped }, pairs);
}

/**
 * The per-frame clock of the frames between a contender's report `start` and its final report
 * `end`; undefined when either has none.
 */
export function clockBetween(
  end: Record<string, unknown>,
  start: Record<string, unknown>,
): FrameClockFigures | undefined {
  const e = reportClock(end), s = reportClock(start);
  if (e === undefined || s === undefined) return undefined;
  // No XDP-to-TX at the start (nothing sent yet): every value at the end is the window's.
  const tx = e.xdp_to_tx === undefined || s.xdp_to_tx === undefined
    ? e.xdp_to_tx
    : summaryBetween(e.xdp_to_tx, s.xdp_to_tx);
  return {
    enabled: true,
    xdp_to_handler: summaryBetween(e.xdp_to_handler, s.xdp_to_handler),
    ...(tx === undefined ? {} : { xdp_to_tx: tx }),
  };
}
