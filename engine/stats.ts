/**
 * The counters block a polling loop publishes for others to read: a Float64Array over a
 * SharedArrayBuffer with fixed slots, written by the loop's own thread only (plain stores, once
 * every few bursts) and read by the metrics printers, which never touch the fast path. Its layout
 * derives from the counter definitions in `counters.ts`. (The handler's own named counters live
 * in a block of their own, see the Worker.)
 *
 * @module
 */
import { CounterSlot, QUEUE_COUNTERS } from "./counters.ts";

/** Slot numbers in the counters block: every queue counter, in definition order. */
export const Slot = CounterSlot;

/** Slots in a block. */
export const STATS_SLOTS: number = QUEUE_COUNTERS.length;

/** Control words (Int32Array over a SharedArrayBuffer). */
export const Control = {
  /** Set to 1 by the owner to stop the loop. */
  stop: 0,
  /** 1 while the loop runs, 2 once it has finished. */
  state: 1,
  /** Handler generation: the owner increments it to ask for a reload of the handler module. */
  reload: 2,
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
