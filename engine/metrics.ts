/**
 * Prometheus text exposition (format 0.0.4) of an {@link EngineSnapshot}: pure, no I/O. Every
 * queue counter of `counters.ts` becomes `bypassrt_<key>_total{iface,queue}` (a gauge such as
 * `free_frames` keeps its name: `bypassrt_free_frames{iface,queue}`) with the definition's help
 * text; the kernel's XDP_STATISTICS of each socket `bypassrt_kernel_<name>_total{iface,queue}`;
 * every key of `snapshot.program` `bypassrt_xdp_program_<key>_total{iface}`; the handler's named
 * counters `bypassrt_handler_count_total{iface,queue,name}`; the blocklist's totals (never one
 * series per prefix) `bypassrt_blocklist_<key>...{iface}`; and `bypassrt_up`, `bypassrt_info`,
 * `bypassrt_uptime_seconds`; the per-frame clock's histograms `bypassrt_xdp_to_handler_seconds`
 * and `bypassrt_xdp_to_tx_seconds` (see `latency_metrics.ts`). With several interfaces (`--iface A,B`) each one's port counters
 * also come as `bypassrt_interface_<key>_total{iface}`. Keys added to the snapshot later
 * (program, blocklist) appear without a change here.
 *
 * @module
 */
import { PORT_COUNTERS, QUEUE_COUNTERS, snakeCase } from "./counters.ts";
import type { EngineSnapshot } from "./runtime.ts";
import { latencyExposition } from "./latency_metrics.ts";

/** Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Help text of each kernel XDP_STATISTICS field (`struct xdp_statistics`). */
const KERNEL_HELP: Record<string, string> = {
  rx_dropped: "kernel XDP_STATISTICS: frames dropped for reasons other than invalid descriptors",
  rx_invalid_descs: "kernel XDP_STATISTICS: invalid descriptors on the FILL ring",
  tx_invalid_descs: "kernel XDP_STATISTICS: invalid descriptors on the TX ring",
  rx_ring_full: "kernel XDP_STATISTICS: frames dropped because the RX ring was full",
  rx_fill_ring_empty_descs: "kernel XDP_STATISTICS: times the FILL ring was empty",
  tx_ring_empty_descs: "kernel XDP_STATISTICS: times the TX ring was empty when kicked",
};

/** Help text of the XDP program's counters we know of; others get a generic line. */
const PROGRAM_HELP: Record<string, string> = {
  redirected: "frames the XDP program redirected to an AF_XDP socket",
  passed: "frames the XDP program left to the kernel stack (XDP_PASS)",
  dropped: "frames the XDP program meant for user space but dropped: no socket on their queue",
  blocked: "frames the XDP program dropped because their source is on the blocklist",
};

/** Blocklist totals: which keys only grow (counters); every other key is a level (gauge). */
const BLOCKLIST_COUNTERS: Record<string, string> = {
  dropped: "frames the blocklist dropped, all prefixes together",
};
const BLOCKLIST_HELP: Record<string, string> = {
  prefixes: "prefixes on the blocklist",
  capacity: "prefixes the blocklist can hold",
};

/** A label value escaped for the exposition format: backslash, double quote and newline. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escaped: backslash and newline. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A key made safe for a metric name ([a-zA-Z0-9_], snake_case). */
function nameOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/[^a-zA-Z0-9_]/g, "_");
}

/** A sample value: integers as they are, NaN and infinities spelled as Prometheus wants. */
function value(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

type Labels = Record<string, string | number>;

/** Writes metric families: HELP and TYPE once, then every sample of the family together. */
class Exposition {
  readonly #lines: string[] = [];

  family(
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: [Labels, number][],
  ): void {
    if (samples.length === 0) return;
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${escapeLabel(String(x))}"`);
      this.#lines.push(`${name}{${l.join(",")}} ${value(v)}`);
    }
  }

  /** Lines written by another module's exposition (whole families). */
  raw(lines: string[]): void {
    this.#lines.push(...lines);
  }

  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/** Numeric entries of an object (anything else in it is left out). */
function numbers(o: unknown): [string, number][] {
  if (typeof o !== "object" || o === null) return [];
  return Object.entries(o).filter((e): e is [string, number] => typeof e[1] === "number");
}

/**
 * The snapshot in Prometheus text exposition format (ends with a newline).
 *
 * @example
 * ```ts ignore
 * import { prometheusText } from "./metrics.ts";
 * const text = prometheusText(engine.snapshot());
 * // # HELP bypassrt_rx_packets_total frames taken from the RX ring
 * // # TYPE bypassrt_rx_packets_total counter
 * // bypassrt_rx_packets_total{iface="veth-bypass",queue="0"} 1000
 * ```
 */
export function prometheusText(s: EngineSnapshot): string {
  const out = new Exposition();
  const iface = s.iface;
  const perQueue = (get: (q: EngineSnapshot["queues"][number]) => number) =>
    s.queues.map((q): [Labels, number] => [{ iface, queue: q.queue }, get(q)]);

  out.family("bypassrt_up", "gauge", "1 while byPassRT serves the interface", [[{ iface }, 1]]);
  out.family(
    "bypassrt_info",
    "gauge",
    "what runs: handler mode, handler file, XDP attach mode, AF_XDP bind mode (value 1)",
    [[
      { iface, mode: s.mode, handler: s.handler, xdp_mode: s.xdp_mode, bind_mode: s.bind_mode },
      1,
    ]],
  );
  out.family("bypassrt_uptime_seconds", "gauge", "seconds since the engine started", [
    [{ iface }, Math.round(s.elapsed * 1000) / 1000],
  ]);

  for (const d of QUEUE_COUNTERS) {
    const name = d.kind === "counter" ? `bypassrt_${d.key}_total` : `bypassrt_${d.key}`;
    out.family(name, d.kind, d.help, perQueue((q) => q[d.key]));
  }

  const kernelKeys = [
    ...new Set(s.queues.flatMap((q) => numbers(q.xdp_statistics).map(([k]) => k))),
  ];
  for (const k of kernelKeys) {
    out.family(
      `bypassrt_kernel_${nameOf(k)}_total`,
      "counter",
      KERNEL_HELP[k] ?? `kernel XDP_STATISTICS: ${k}`,
      perQueue((q) => (q.xdp_statistics as unknown as Record<string, number>)[k] ?? 0),
    );
  }

  for (const [k, v] of numbers(s.program)) {
    out.family(
      `bypassrt_xdp_program_${nameOf(k)}_total`,
      "counter",
      PROGRAM_HELP[k] ?? `XDP program counter ${k}`,
      [[{ iface }, v]],
    );
  }

  const blocklist = (s as { blocklist?: unknown }).blocklist;
  for (const [k, v] of numbers(blocklist)) {
    const counter = k in BLOCKLIST_COUNTERS;
    out.family(
      counter ? `bypassrt_blocklist_${nameOf(k)}_total` : `bypassrt_blocklist_${nameOf(k)}`,
      counter ? "counter" : "gauge",
      BLOCKLIST_COUNTERS[k] ?? BLOCKLIST_HELP[k] ?? `blocklist: ${k}`,
      [[{ iface }, v]],
    );
  }

  // Several interfaces (`--iface A,B`): each port's own counters, summed over the queues, by
  // interface (the per-queue series above sum the interfaces; their iface label is the first).
  for (const d of PORT_COUNTERS) {
    const key = snakeCase(d.name);
    out.family(
      `bypassrt_interface_${key}_total`,
      "counter",
      `${d.help}, per interface`,
      (s.interfaces ?? []).map((i): [Labels, number] => [{ iface: i.iface }, Number(i[key])]),
    );
  }
  for (const k of ["redirected", "passed", "dropped", "blocked"]) {
    const xs = (s.interfaces ?? []).filter((i) => typeof i[`xdp_${k}`] === "number");
    out.family(
      `bypassrt_interface_xdp_program_${k}_total`,
      "counter",
      `${PROGRAM_HELP[k] ?? `XDP program counter ${k}`}, per interface`,
      xs.map((i): [Labels, number] => [{ iface: i.iface }, Number(i[`xdp_${k}`])]),
    );
  }

  const handlerSamples = s.queues.flatMap((q) =>
    numbers(q.handler_counters).map(([name, v]): [Labels, number] => [
      { iface, queue: q.queue, name },
      v,
    ])
  );
  out.family(
    "bypassrt_handler_count_total",
    "counter",
    "the handler's named counters (for respond: its drop reasons), by name",
    handlerSamples,
  );
  // The per-frame clock's histograms (latency_metrics.ts); a snapshot without it has none.
  if (s.latency) out.raw(latencyExposition(iface, s.latency));
  return out.text();
}
