/**
 * The latency histograms' bucket math, percentiles, merging, and the Prometheus exposition's
 * cumulative buckets.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  bucketHigh,
  bucketLow,
  bucketOf,
  BUCKETS,
  cumulativeAt,
  H,
  MAX_VALUE_NS,
  mergedCounts,
  newLatencyBlock,
  quantile,
  recordNs,
  summarize,
  TO_HANDLER,
  TO_TX,
} from "../../engine/latency_histogram.ts";
import { latencyExposition, PROMETHEUS_BOUNDS_NS } from "../../engine/latency_metrics.ts";
import { latencySnapshot } from "../../engine/latency_report.ts";

Deno.test("buckets: exact below 16, then 16 per power of two, contiguous up to 2^32", () => {
  for (let v = 0; v < 16; v++) assert.equal(bucketOf(v), v);
  assert.equal(bucketOf(16), 16);
  assert.equal(bucketOf(17), 17);
  assert.equal(bucketOf(31), 31);
  assert.equal(bucketOf(32), 32); // [32, 34)
  assert.equal(bucketOf(33), 32);
  assert.equal(bucketOf(1000), bucketOf(1023)); // [992, 1024)
  assert.equal(bucketLow(bucketOf(1000)), 992);
  assert.equal(bucketHigh(bucketOf(1000)), 1024);
  assert.equal(bucketOf(MAX_VALUE_NS - 1), BUCKETS - 1);
  assert.equal(bucketHigh(BUCKETS - 1), MAX_VALUE_NS);
  for (let b = 0; b < BUCKETS; b++) {
    assert.equal(bucketHigh(b), b + 1 < BUCKETS ? bucketLow(b + 1) : MAX_VALUE_NS);
    assert.equal(bucketOf(bucketLow(b)), b);
    assert.equal(bucketOf(bucketHigh(b) - 1), b);
    // At most 1/16 of its lowest value wide (above the exact range).
    if (b >= 16) assert.ok(bucketHigh(b) - bucketLow(b) <= bucketLow(b) / 16);
  }
  // Random values land in a bucket that holds them.
  for (let i = 0; i < 10000; i++) {
    const v = Math.floor(Math.random() * 2 ** (Math.random() * 32));
    const b = bucketOf(v);
    assert.ok(bucketLow(b) <= v && v < bucketHigh(b), `${v} in ${b}`);
  }
});

Deno.test("percentiles: the highest value of the quantile's bucket, capped by max", () => {
  const h = newLatencyBlock();
  for (let v = 1; v <= 1000; v++) recordNs(h, TO_HANDLER, v * 1000); // 1 us .. 1 ms
  const s = summarize([h], TO_HANDLER);
  assert.equal(s.count, 1000);
  assert.equal(s.max, 1_000_000);
  assert.equal(s.sum, 500_500_000);
  assert.equal(s.mean, 500_500);
  const within = (got: number, want: number) =>
    assert.ok(got >= want && got <= want * 1.0625, `${got} vs ${want}`);
  within(s.p50, 500_000);
  within(s.p90, 900_000);
  within(s.p99, 990_000);
  within(s.p99_9, 999_000);
  assert.ok(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p99_9 && s.p99_9 <= s.max);
  // One value: every percentile is it (exact below 16 ns, capped by max above).
  const one = newLatencyBlock();
  recordNs(one, TO_TX, 1234.9);
  const o = summarize([one], TO_TX);
  assert.deepEqual([o.p50, o.p99_9, o.max], [1234, 1234, 1234]);
  assert.deepEqual(o.buckets, [[1216, 1280, 1]]);
  // Empty: zeros.
  assert.equal(quantile(new Float64Array(BUCKETS), 0, 0, 0.5), 0);
  assert.equal(summarize([newLatencyBlock()], TO_HANDLER).p50, 0);
});

Deno.test("merging queues adds counts, sums and unstamped; max is the largest", () => {
  const a = newLatencyBlock(), b = newLatencyBlock();
  recordNs(a, TO_HANDLER, 100);
  recordNs(a, TO_HANDLER, 200);
  recordNs(b, TO_HANDLER, 5000);
  b[TO_HANDLER + H.unstamped] = 3;
  const m = summarize([a, b], TO_HANDLER);
  assert.deepEqual([m.count, m.sum, m.max, m.unstamped], [3, 5300, 5000, 3]);
  assert.equal(mergedCounts([a, b], TO_HANDLER).reduce((x, y) => x + y, 0), 3);
  // The other histogram of the block is untouched.
  assert.equal(summarize([a, b], TO_TX).count, 0);
  const snap = latencySnapshot([0, 5], [a, b]);
  assert.ok(snap.enabled);
  assert.equal(snap.xdp_to_handler.count, 3);
  assert.deepEqual(snap.queues.map((q) => [q.queue, q.xdp_to_handler.count]), [[0, 2], [5, 1]]);
});

Deno.test("Prometheus buckets are cumulative, exact at their bounds, and end with the count", () => {
  const h = newLatencyBlock();
  for (const v of [255, 256, 1023, 1024, 1535, 1536, 3e9]) recordNs(h, TO_HANDLER, v);
  const counts = mergedCounts([h], TO_HANDLER);
  const cum = cumulativeAt(counts, [256, 1024, 1536, Infinity]);
  assert.deepEqual(cum, [1, 3, 5, 7]);
  const lines = latencyExposition("eth0", latencySnapshot([0], [h]));
  const le = (bound: string) =>
    Number(
      lines.find((l) =>
        l.startsWith("bypassrt_xdp_to_handler_seconds_bucket") && l.includes(`le="${bound}"`)
      )!.split(" ")[1],
    );
  assert.equal(le(String(255 / 1e9)), 1); // <= 255 ns
  assert.equal(le(String(1023 / 1e9)), 3); // <= 1023 ns
  assert.equal(le(String(1535 / 1e9)), 5);
  assert.equal(le("+Inf"), 7);
  assert.ok(lines.includes('bypassrt_xdp_to_handler_seconds_count{iface="eth0",queue="0"} 7'));
  assert.equal(PROMETHEUS_BOUNDS_NS.length, 48);
  // Clock off: nothing.
  assert.deepEqual(latencyExposition("eth0", { enabled: false, reason: "x" }), []);
});
