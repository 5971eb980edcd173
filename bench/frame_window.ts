/**
 * The per-frame clock of one measured window: a contender's histograms (XDP-to-handler,
 * XDP-to-TX) at the end of a run minus those of a report taken between the warm-up and the
 * measured round trips. The latency benchmark warms every contender up at 100,000 frames/s
 * and measures at 1000 frames/s; the histograms of the whole run would be mostly warm-up
 * frames, while the figure is XDP-to-handler at 1000 frames/s (BENCHMARKS.md).
 *
 * @module
 */
import {
  BLOCK_SLOTS,
  bucketHigh,
  bucketOf,
  BUCKETS,
  H,
  HEADER,
  type LatencySummary,
  summarize,
  TO_HANDLER,
} from "../engine/latency_histogram.ts";
import { cLatency } from "./c_clock.ts";

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
  const block = new Float64Array(BLOCK_SLOTS);
  const counts = new Float64Array(BUCKETS);
  for (const [low, , n] of end.buckets) counts[bucketOf(low)] += n;
  for (const [low, , n] of start.buckets) counts[bucketOf(low)] -= n;
  let top = -1;
  for (let b = 0; b < BUCKETS; b++) {
    if (counts[b] < 0) {
      throw new RangeError(`the end's histogram has fewer values than the start's in bucket ${b}`);
    }
    block[TO_HANDLER + HEADER + b] = counts[b];
    if (counts[b] > 0) top = b;
  }
  block[TO_HANDLER + H.count] = end.count - start.count;
  block[TO_HANDLER + H.sum] = end.sum - start.sum;
  block[TO_HANDLER + H.unstamped] = end.unstamped - start.unstamped;
  block[TO_HANDLER + H.max] = end.max > start.max
    ? end.max
    : top < 0
    ? 0
    : Math.min(end.max, bucketHigh(top) - 1);
  return summarize([block], TO_HANDLER);
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
  const tx = e.xdp_to_tx === undefined
    ? undefined
    : summaryBetween(e.xdp_to_tx, s.xdp_to_tx ?? summaryOfNothing());
  return {
    enabled: true,
    xdp_to_handler: summaryBetween(e.xdp_to_handler, s.xdp_to_handler),
    ...(tx === undefined ? {} : { xdp_to_tx: tx }),
  };
}

function summaryOfNothing(): LatencySummary {
  return summarize([new Float64Array(BLOCK_SLOTS)], TO_HANDLER);
}
