/**
 * bench/c_clock.ts: the C reference's per-frame histograms (xsk_ref --stamp's final line) read
 * as byPassRT's summaries.
 *
 * @module
 */
import assert from "node:assert/strict";
import { cLatency } from "../../bench/c_clock.ts";
import { bucketHigh, bucketLow, bucketOf } from "../../engine/latency_histogram.ts";

Deno.test("cLatency: xsk_ref's buckets become byPassRT's summaries; none without --stamp", () => {
  const at = (ns: number, n: number): [number, number] => [bucketOf(ns), n];
  const final = {
    final: true,
    rx_packets: 10,
    xdp_to_handler: {
      count: 10,
      sum: 7 * 1000 + 3 * 40_000,
      max: 40_000,
      unstamped: 2,
      buckets: [at(1000, 7), at(40_000, 3)],
    },
    xdp_to_tx: { count: 10, sum: 10 * 3000, max: 3000, unstamped: 2, buckets: [at(3000, 10)] },
  };
  const l = cLatency(final)!;
  assert.equal(l.enabled, true);
  assert.equal(l.xdp_to_handler.count, 10);
  assert.equal(l.xdp_to_handler.unstamped, 2);
  // p50 in 1000's bucket, p90 in 40 000's; the TX side on its own.
  const b = bucketOf(1000), c = bucketOf(40_000);
  assert.ok(l.xdp_to_handler.p50 >= bucketLow(b) && l.xdp_to_handler.p50 <= bucketHigh(b));
  assert.ok(l.xdp_to_handler.p90 >= bucketLow(c) && l.xdp_to_handler.p90 <= 40_000);
  assert.equal(l.xdp_to_tx!.count, 10);
  assert.ok(l.xdp_to_tx!.p50 >= bucketLow(bucketOf(3000)) && l.xdp_to_tx!.p50 <= 3000);
  // rxdrop --stamp: no TX histogram; no --stamp: nothing.
  assert.equal(cLatency({ ...final, xdp_to_tx: undefined })!.xdp_to_tx, undefined);
  assert.equal(cLatency({ final: true, rx_packets: 10 }), undefined);
});
