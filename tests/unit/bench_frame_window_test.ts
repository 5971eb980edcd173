/**
 * bench/frame_window.ts: a contender's per-frame histograms over the measured round trips only
 * (its final report minus the report printed after the warm-up).
 *
 * @module
 */
import assert from "node:assert/strict";
import { clockBetween, reportClock, summaryBetween } from "../../bench/frame_window.ts";
import {
  BLOCK_SLOTS,
  bucketHigh,
  bucketLow,
  bucketOf,
  recordNs,
  summarize,
  TO_HANDLER,
  TO_TX,
} from "../../engine/latency_histogram.ts";

/** byPassRT's `"latency"` object with the values `rx` (XDP-to-handler) and `tx`, ns. */
function bypassrtReport(rx: number[], tx: number[], final: boolean) {
  const block = new Float64Array(BLOCK_SLOTS);
  for (const v of rx) recordNs(block, TO_HANDLER, v);
  for (const v of tx) recordNs(block, TO_TX, v);
  return {
    final,
    latency: {
      enabled: true,
      unit: "ns",
      xdp_to_handler: summarize([block], TO_HANDLER),
      xdp_to_tx: summarize([block], TO_TX),
      queues: [],
    },
  };
}

Deno.test("summaryBetween: only the values recorded after the start, with their own percentiles", () => {
  // Warm-up: 5000 fast frames (1 us); measured: 100 slow ones (5 us), one of them 80 us.
  const warm = Array(5000).fill(1000);
  const measured = [...Array(99).fill(5000), 80_000];
  const start = bypassrtReport(warm, warm, false);
  const end = bypassrtReport([...warm, ...measured], [...warm, ...measured], true);
  const w = summaryBetween(end.latency.xdp_to_handler, start.latency.xdp_to_handler);
  assert.equal(w.count, 100);
  assert.equal(w.sum, 99 * 5000 + 80_000);
  // The whole run's p50 is the warm-up's; the window's is the measured frames'.
  assert.ok(end.latency.xdp_to_handler.p50 < bucketLow(bucketOf(5000)));
  assert.ok(w.p50 >= bucketLow(bucketOf(5000)) && w.p50 < bucketHigh(bucketOf(5000)));
  // The maximum grew in the window: it is the window's.
  assert.equal(w.max, 80_000);
  assert.equal(w.p99_9, 80_000);
});

Deno.test("summaryBetween: a maximum set before the window is not the window's", () => {
  const start = bypassrtReport([1000, 900_000], [], false);
  const end = bypassrtReport([1000, 900_000, 2000, 3000], [], true);
  const w = summaryBetween(end.latency.xdp_to_handler, start.latency.xdp_to_handler);
  assert.equal(w.count, 2);
  assert.ok(w.max < 900_000, `max ${w.max}`);
  assert.equal(w.max, bucketHigh(bucketOf(3000)) - 1);
  // Reading the histograms the wrong way round is refused.
  assert.throws(
    () => summaryBetween(start.latency.xdp_to_handler, end.latency.xdp_to_handler),
    /fewer values/,
  );
});

Deno.test("clockBetween: byPassRT's and the C reference's reports; none without a clock", () => {
  const start = bypassrtReport([1000], [2000], false);
  const end = bypassrtReport([1000, 1500, 1500], [2000, 2500, 2500], true);
  const b = clockBetween(end, start)!;
  assert.equal(b.xdp_to_handler.count, 2);
  assert.equal(b.xdp_to_tx!.count, 2);
  // xsk_ref --stamp prints [bucket, count] pairs in every line.
  const c = (n: number, final: boolean) => ({
    final,
    xdp_to_handler: {
      count: n,
      sum: n * 1200,
      max: 1200,
      unstamped: 0,
      buckets: [[bucketOf(1200), n]],
    },
    xdp_to_tx: { count: n, sum: n * 1600, max: 1600, unstamped: 0, buckets: [[bucketOf(1600), n]] },
  });
  const cw = clockBetween(c(5000 + 300, true), c(5000, false))!;
  assert.equal(cw.xdp_to_handler.count, 300);
  assert.equal(cw.xdp_to_tx!.count, 300);
  // A start line from before anything was sent has no XDP-to-TX: the end's is all the window's.
  const { xdp_to_tx: _, ...noTx } = c(5000, false);
  assert.equal(clockBetween(c(5000 + 300, true), noTx)!.xdp_to_tx!.count, 5300);
  // --no-timestamps, or C without --stamp: no clock, no window.
  const off = { final: true, latency: { enabled: false, reason: "off (--no-timestamps)" } };
  assert.equal(reportClock(off), undefined);
  assert.equal(clockBetween(off, off), undefined);
  assert.equal(clockBetween({ final: true, rx_packets: 1 }, { final: false }), undefined);
});
