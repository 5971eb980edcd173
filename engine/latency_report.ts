/**
 * The `latency` section of a snapshot: the per-frame clock's two histograms (XDP-to-handler,
 * XDP-to-TX) of every queue, merged, with percentiles in ns; or, when there is no clock, why.
 *
 * @module
 */
import { type LatencySummary, summarize, TO_HANDLER, TO_TX } from "./latency_histogram.ts";

/** One queue's (or the total's) two histograms. */
export interface LatencyPair {
  /** From the XDP program's stamp to the handler getting the frame. */
  xdp_to_handler: LatencySummary;
  /** From the stamp to the frame going onto the TX ring (received frames sent; not originated). */
  xdp_to_tx: LatencySummary;
}

/** The `latency` section of a snapshot; every time in ns. */
export type LatencySnapshot =
  | (LatencyPair & {
    enabled: true;
    /** Unit of every value. */
    unit: "ns";
    /** Per queue. */
    queues: (LatencyPair & { queue: number })[];
  })
  | {
    enabled: false;
    /** Why there is no per-frame clock (`--no-timestamps`, or the XDP program is the user's). */
    reason: string;
  };

/** Why the clock is off when the run was started with `--no-timestamps`. */
export const NO_TIMESTAMPS = "off (--no-timestamps)";
/** Why the clock is not available with the user's XDP program. */
export const USER_PROGRAM_NO_TIMESTAMPS =
  "not available: the XDP program is yours (--xdp-prog) and does not stamp frames";

/** The section for `blocks` (one per queue, in `queues` order). */
export function latencySnapshot(
  queues: readonly number[],
  blocks: readonly Float64Array[],
): LatencySnapshot {
  const pair = (bs: readonly Float64Array[]): LatencyPair => ({
    xdp_to_handler: summarize(bs, TO_HANDLER),
    xdp_to_tx: summarize(bs, TO_TX),
  });
  return {
    enabled: true,
    unit: "ns",
    ...pair(blocks),
    queues: queues.map((queue, i) => ({ queue, ...pair([blocks[i]]) })),
  };
}
