/**
 * The per-frame clock as Prometheus histograms (text exposition 0.0.4):
 * `bypassrt_xdp_to_handler_seconds` and `bypassrt_xdp_to_tx_seconds`, per queue, with
 * `_bucket{le}` (cumulative), `_sum` and `_count`, plus `bypassrt_latency_unstamped_total`.
 * The bounds are bucket boundaries of the engine's histograms (2^k and 1.5 x 2^k ns, 256 ns to
 * 3.2 s), each minus 1 ns: values are whole ns, so "<= le" is exact. Nothing when the clock is
 * off.
 *
 * @module
 */
import type { LatencySummary } from "./latency_histogram.ts";
import type { LatencySnapshot } from "./latency_report.ts";

/** The boundaries (ns) the exposition cuts at: 2^k and 1.5 x 2^k for k = 8..31. */
export const PROMETHEUS_BOUNDS_NS: readonly number[] = (() => {
  const out: number[] = [];
  for (let k = 8; k <= 31; k++) out.push(2 ** k, 1.5 * 2 ** k);
  return out;
})();

/** `le` of a boundary: the largest whole ns below it, in seconds. */
function le(boundNs: number): string {
  return String((boundNs - 1) / 1e9);
}

const FAMILIES = [
  [
    "xdp_to_handler",
    "time from the XDP program's stamp to the handler getting the frame (per-frame clock)",
  ],
  [
    "xdp_to_tx",
    "time from the XDP program's stamp to a received frame going onto the TX ring",
  ],
] as const;

/** The lines of both histograms for `iface` (empty when the clock is off). */
export function latencyExposition(iface: string, l: LatencySnapshot): string[] {
  if (!l.enabled) return [];
  const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  const lines: string[] = [];
  for (const [key, help] of FAMILIES) {
    const name = `bypassrt_${key}_seconds`;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const q of l.queues) {
      const h: LatencySummary = q[key];
      const labels = `iface="${esc(iface)}",queue="${q.queue}"`;
      // Counts from the buckets themselves, so +Inf and _count agree even on a live read.
      let i = 0, seen = 0;
      for (const b of PROMETHEUS_BOUNDS_NS) {
        while (i < h.buckets.length && h.buckets[i][1] <= b) seen += h.buckets[i++][2];
        lines.push(`${name}_bucket{${labels},le="${le(b)}"} ${seen}`);
      }
      let total = seen;
      while (i < h.buckets.length) total += h.buckets[i++][2];
      lines.push(`${name}_bucket{${labels},le="+Inf"} ${total}`);
      lines.push(`${name}_sum{${labels}} ${h.sum / 1e9}`);
      lines.push(`${name}_count{${labels}} ${total}`);
    }
  }
  const u = "bypassrt_latency_unstamped_total";
  lines.push(
    `# HELP ${u} frames the per-frame clock skipped: no plausible stamp (absent or stale)`,
    `# TYPE ${u} counter`,
  );
  for (const q of l.queues) {
    for (const [key] of FAMILIES) {
      lines.push(
        `${u}{iface="${esc(iface)}",queue="${q.queue}",point="${key}"} ${q[key].unstamped}`,
      );
    }
  }
  return lines;
}
