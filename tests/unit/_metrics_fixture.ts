/**
 * A fixed snapshot for the Prometheus exposition tests (unit and promtool).
 *
 * @module
 */
import { QUEUE_COUNTERS } from "../../engine/counters.ts";
import type { EngineSnapshot, QueueSnapshot } from "../../engine/runtime.ts";
import { H, newLatencyBlock, recordNs, TO_HANDLER, TO_TX } from "../../engine/latency_histogram.ts";
import { type LatencySnapshot, latencySnapshot } from "../../engine/latency_report.ts";
import { ZERO_XDP_STATISTICS } from "../../engine/xdp_stats.ts";

/** Queue `q` with counter i (definition order) = 1000 * (q + 1) + i. */
function queue(q: number, handler: Record<string, number>): QueueSnapshot {
  const s = { queue: q } as QueueSnapshot;
  QUEUE_COUNTERS.forEach((d, i) => s[d.key] = 1000 * (q + 1) + i);
  s.xdp_statistics = { ...ZERO_XDP_STATISTICS, rx_dropped: 7 + q, rx_ring_full: 3 };
  s.handler_counters = handler;
  return s;
}

/** A handler counter name that needs escaping. */
export const WEIRD = 'a "quoted" \\ back\nslash';

/** A snapshot with two queues, a blocklist, odd handler counter names and an odd handler path. */
export function fixture(): EngineSnapshot & { blocklist: Record<string, number> } {
  const queues = [queue(0, { echoed: 5, [WEIRD]: 1 }), queue(1, { echoed: 6, [WEIRD]: 0 })];
  return {
    iface: "veth-bypass",
    mode: "handler",
    handler: '/tmp/my "x".ts',
    xdp_mode: "native",
    bind_mode: "copy",
    busy_poll: null,
    elapsed: 12.3456,
    queues,
    total: {} as EngineSnapshot["total"], // not exported: Prometheus sums per-queue series
    program: { redirected: 100, passed: 20, dropped: 1, blocked: 9 } as EngineSnapshot["program"],
    handler_counters: { echoed: 11, [WEIRD]: 1 },
    blocklist: { prefixes: 2, capacity: 1048576, dropped: 9 },
    latency: latencyFixture(),
  };
}

/** Both queues' histograms with a spread of values (0 ns to 3 s), and one unstamped frame. */
export function latencyFixture(): LatencySnapshot {
  const blocks = [newLatencyBlock(), newLatencyBlock()];
  const values = [0, 15, 16, 255, 256, 1023, 1024, 1500, 2047, 65536, 3e9];
  values.forEach((v, i) => recordNs(blocks[i & 1], TO_HANDLER, v));
  values.slice(3).forEach((v) => recordNs(blocks[0], TO_TX, v));
  blocks[1][TO_TX + H.unstamped] = 1;
  return latencySnapshot([0, 1], blocks);
}
