/**
 * The counters block a polling loop publishes for others to read: a Float64Array over a
 * SharedArrayBuffer with fixed slots, written by the loop's own thread only (plain stores, once
 * every few bursts) and read by the metrics printer, which never touches the fast path.
 *
 * @module
 */
import { CounterSlot } from "./port.ts";

/** Slot numbers in the counters block. */
export const Slot = {
  // 0-9: the port's counters, copied from Port.counterBlock as one block.
  ...CounterSlot,
  poolFree: 10,
  appDropped: 11,
  loops: 12,
  idlePolls: 13,
  /** First drop-reason slot: `dropReasonBase + reason code`. */
  dropReasonBase: 16,
} as const;

/** Slots in a block. */
export const STATS_SLOTS = 64;

/** Control words (Int32Array over a SharedArrayBuffer). */
export const Control = {
  /** Set to 1 by the owner to stop the loop. */
  stop: 0,
  /** 1 while the loop runs, 2 once it has finished. */
  state: 1,
} as const;

/**
 * A fresh counters block.
 *
 * @example
 * ```ts
 * import { newStatsBlock, Slot } from "./stats.ts";
 * const stats = newStatsBlock();
 * stats[Slot.rxPackets]; // 0
 * ```
 */
export function newStatsBlock(): Float64Array<SharedArrayBuffer> {
  return new Float64Array(new SharedArrayBuffer(STATS_SLOTS * 8));
}

/** A fresh control block. */
export function newControlBlock(): Int32Array<SharedArrayBuffer> {
  return new Int32Array(new SharedArrayBuffer(16));
}
