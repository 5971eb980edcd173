/**
 * The per-frame clock in text: table cells, the plain line's fields and the summary's lines,
 * from a snapshot's `latency` section (values there are ns; shown here in us).
 *
 * @module
 */
import type { LatencySummary } from "../engine/latency_histogram.ts";
import type { LatencySnapshot } from "../engine/latency_report.ts";

/** ns as us with two decimals (below 10 us) or one. */
export function us(ns: number): string {
  const v = ns / 1000;
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

/** "p50/p99" in us of one histogram, "-" when empty. */
function pair(h: LatencySummary): string {
  return h.count > 0 ? `${us(h.p50)}/${us(h.p99)}` : "-";
}

/** Table heads of the latency columns. */
export const LATENCY_HEADS = ["XDP>handler p50/p99 us", "XDP>TX p50/p99 us"];

/** The latency cells of queue `queue`'s row (the total's when undefined). */
export function latencyCells(l: LatencySnapshot | undefined, queue?: number): string[] {
  if (!l?.enabled) return ["n/a", "n/a"];
  const q = queue === undefined ? l : l.queues.find((x) => x.queue === queue);
  return q ? [pair(q.xdp_to_handler), pair(q.xdp_to_tx)] : ["-", "-"];
}

/** One histogram in a line: count, p50/p90/p99/p99.9/max in us, unstamped. */
export function describeHistogram(h: LatencySummary): string {
  return `${h.count} frames, p50 ${us(h.p50)} p90 ${us(h.p90)} p99 ${us(h.p99)} ` +
    `p99.9 ${us(h.p99_9)} max ${us(h.max)} us` + (h.unstamped ? `, ${h.unstamped} unstamped` : "");
}

/** The summary's latency lines. */
export function latencyLines(l: LatencySnapshot | undefined): string[] {
  if (!l) return ["  latency: not measured"];
  if (!l.enabled) return [`  latency: ${l.reason}`];
  return [
    `  latency XDP->handler: ${describeHistogram(l.xdp_to_handler)}`,
    `  latency XDP->TX: ${describeHistogram(l.xdp_to_tx)}`,
  ];
}

/** The plain line's latency fields (us). */
export function latencyFields(l: LatencySnapshot | undefined): string {
  if (!l?.enabled) return "latency=off";
  const h = l.xdp_to_handler, t = l.xdp_to_tx;
  return `lat_handler_p50_us=${us(h.p50)} lat_handler_p99_us=${us(h.p99)} ` +
    `lat_tx_p50_us=${us(t.p50)} lat_tx_p99_us=${us(t.p99)}`;
}
