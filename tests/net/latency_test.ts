/**
 * The per-frame clock over a real veth: byPassRT answers pings (`--mode respond`), our XDP
 * program stamps each echo request, and the final JSON carries the two histograms with counts
 * exactly equal to the requests received and the replies sent; with `--no-timestamps` it
 * carries none and says so.
 *
 * @module
 */
import assert from "node:assert/strict";
import { inNs, ping, serve, withTopology } from "./_netns.ts";
import type { LatencySnapshot } from "../../engine/latency_report.ts";
import type { LatencySummary } from "../../engine/latency_histogram.ts";

const PINGS = 20;

/** Percentiles positive and monotone, max their upper bound, buckets summing to the count. */
function assertShape(h: LatencySummary, count: number): void {
  assert.equal(h.count, count);
  assert.equal(h.unstamped, 0);
  assert.ok(h.p50 > 0, `p50 ${h.p50}`);
  assert.ok(h.p50 <= h.p90 && h.p90 <= h.p99 && h.p99 <= h.p99_9 && h.p99_9 <= h.max, `${h}`);
  assert.equal(h.buckets.reduce((a, b) => a + b[2], 0), count);
  assert.ok(h.sum >= h.max);
}

Deno.test("respond: the final JSON's latency histograms count every echo request and reply", async () => {
  await withTopology(async (t) => {
    // A static neighbour entry: no ARP reaches byPassRT, so every frame it gets is an echo request.
    await inNs(t.peer, "ip", "neigh", "replace", "10.0.0.1", "lladdr", t.dutMac, "dev", t.peerIf);
    let answered = 0;
    const b = await serve(t, "--mode respond --ip 10.0.0.1", async () => {
      const [, received, out] = await ping(t.peer, "10.0.0.1", PINGS);
      answered = received;
      assert.equal(received, PINGS, out);
    });
    const f = b.final() as unknown as { latency: LatencySnapshot; total: Record<string, number> };
    assert.equal(f.total.rx_packets, PINGS);
    assert.equal(f.total.tx_packets, answered);
    const l = f.latency;
    assert.ok(l.enabled, JSON.stringify(l));
    assert.equal(l.unit, "ns");
    assertShape(l.xdp_to_handler, PINGS);
    assertShape(l.xdp_to_tx, answered);
    // A frame reaches TX after it reached the handler.
    assert.ok(l.xdp_to_tx.p50 >= l.xdp_to_handler.p50);
    assert.equal(l.queues.length, 1);
    assert.deepEqual(l.queues[0].xdp_to_handler, l.xdp_to_handler);
  });
});

Deno.test("respond --no-timestamps: no histograms, and the final JSON says why", async () => {
  await withTopology(async (t) => {
    await inNs(t.peer, "ip", "neigh", "replace", "10.0.0.1", "lladdr", t.dutMac, "dev", t.peerIf);
    const b = await serve(t, "--mode respond --ip 10.0.0.1 --no-timestamps", async () => {
      const [all, , out] = await ping(t.peer, "10.0.0.1", 5);
      assert.ok(all, out);
    });
    const f = b.final() as unknown as { latency: LatencySnapshot; total: Record<string, number> };
    assert.equal(f.total.rx_packets, 5);
    assert.deepEqual(f.latency, { enabled: false, reason: "off (--no-timestamps)" });
  });
});
