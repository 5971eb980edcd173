/**
 * Aggregation (medians over repetitions), ratios against the targets, the plain-text tables and
 * the JSON document.
 *
 * @module
 */
import type { RunResult, ThroughputMode } from "./contenders.ts";
import type { LatencyDoc } from "./latency.ts";
import { type LatencyKind, NOISY_SHARE, perFrameFigures, type RttStats } from "./latency_stats.ts";
import type { GcReport } from "./gc.ts";

/** One line of the results: the median over repetitions. */
export interface Entry {
  contender: string;
  mode: ThroughputMode;
  rx_mpps: number | null;
  fwd_mpps: number | null;
  cpu_ns_per_pkt: number | null;
  softirq_ns_per_pkt: number | null;
  offered_mpps: number | null;
  generator: string;
  /**
   * Median share of the two vCPUs taken from us during the runs (noise): CPU time of other
   * processes plus hypervisor steal time.
   */
  foreign_cpu_share: number | null;
  repetitions: number;
  /** Every repetition's rx_mpps (l2fwd: fwd_mpps), to show the spread. */
  runs: (number | null)[];
  skipped?: string;
  errors?: string[];
}

/** Engine-loop micro-benchmark result (bench/engine.sh). */
export interface EngineResult {
  /** The real loop (engine/loop.ts + handlers/l2fwd.ts) TS / the same loop in C: the target. */
  ratio?: number;
  /** Where `ratio` came from in engine.sh's JSON. */
  ratio_key?: string;
  /** The direct reference loop (no handler) TS / C, for information. */
  ratio_direct?: number;
  /** Real loop / direct loop in TS: what the handler indirection leaves of the rate. */
  real_vs_direct_ts?: number;
  /** The same in C. */
  real_vs_direct_c?: number;
  /** GC events in the real loop's timed sections (should be 0). */
  gc_events?: number;
  /** Interleaved rounds the medians come from. */
  rounds?: number;
  raw?: unknown;
  skipped?: string;
  error?: string;
}

/** The whole document written by --json. */
export interface BenchDocument {
  meta: Record<string, unknown>;
  results: Entry[];
  /** Every throughput run (the medians above come from these). */
  runs: unknown[];
  /** Latency: pooled figures per contender, each round with its raw samples, verdicts. */
  latency: LatencyDoc;
  gc?: GcReport;
  engine: EngineResult;
  ratios: Record<string, number | null>;
  targets: { name: string; target: string; value: number | null; met: boolean | null }[];
}

/** Median of the non-null numbers (null if none). */
export function median(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Medians per (contender, mode) over the repetitions. */
export function aggregate(runs: RunResult[], generator: string): Entry[] {
  const keys = [...new Set(runs.map((r) => `${r.contender}\u0000${r.mode}`))];
  return keys.map((k) => {
    const [contender, mode] = k.split("\u0000") as [string, ThroughputMode];
    const rs = runs.filter((r) => r.contender === contender && r.mode === mode);
    const ok = rs.filter((r) => !r.error);
    const errors = rs.filter((r) => r.error).map((r) => r.error!);
    return {
      contender,
      mode,
      rx_mpps: median(ok.map((r) => r.rx_mpps)),
      fwd_mpps: mode === "l2fwd" ? median(ok.map((r) => r.fwd_mpps)) : null,
      cpu_ns_per_pkt: median(ok.map((r) => r.cpu_ns_per_pkt)),
      softirq_ns_per_pkt: median(ok.map((r) => r.softirq_ns_per_pkt)),
      offered_mpps: median(ok.map((r) => r.offered_mpps)),
      generator,
      foreign_cpu_share: median(
        ok.map((r) =>
          r.foreign_cpu_share === null ? null : r.foreign_cpu_share + (r.steal_share ?? 0)
        ),
      ),
      repetitions: ok.length,
      runs: rs.map((r) => mode === "l2fwd" ? r.fwd_mpps : r.rx_mpps),
      ...(errors.length ? { errors } : {}),
    };
  });
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a != null && b != null && b > 0 ? a / b : null;
}

/** Ratios and target checks. */
export function ratiosAndTargets(
  entries: Entry[],
  latency: BenchDocument["latency"],
  engine: EngineResult,
  gc: GcReport | undefined,
): Pick<BenchDocument, "ratios" | "targets"> {
  const get = (c: string, m: ThroughputMode, k: "rx_mpps" | "fwd_mpps") =>
    entries.find((e) => e.contender === c && e.mode === m && !e.skipped)?.[k] ?? null;
  /** Throughput of contender `a` over contender `b` in `mode` (rx, or forwarded in l2fwd). */
  const tput = (mode: ThroughputMode, a: string, b: string) => {
    const k = mode === "l2fwd" ? "fwd_mpps" : "rx_mpps";
    return ratio(get(a, mode, k), get(b, mode, k));
  };
  const ratios: Record<string, number | null> = {
    rxdrop_bypassrt_vs_c: tput("rxdrop", "byPassRT", "C xsk_ref"),
    rxdrop_no_timestamps_vs_c: tput("rxdrop", "byPassRT --no-timestamps", "C xsk_ref"),
    rxdrop_stamp_vs_c: tput("rxdrop", "C xsk_ref --stamp", "C xsk_ref"),
    rxdrop_bypassrt_vs_c_stamp: tput("rxdrop", "byPassRT", "C xsk_ref --stamp"),
    rxdrop_bypassrt_vs_testpmd: tput("rxdrop", "byPassRT", "DPDK testpmd"),
    rxdrop_bypassrt_vs_kernel_xdp_drop: tput("rxdrop", "byPassRT", "kernel XDP_DROP"),
    l2fwd_bypassrt_vs_c: tput("l2fwd", "byPassRT", "C xsk_ref"),
    l2fwd_bypassrt_vs_testpmd: tput("l2fwd", "byPassRT", "DPDK testpmd"),
    ping_p50_bypassrt_vs_c: ratio(latency.ping.byPassRT?.p50_us, latency.ping["C xsk_ref"]?.p50_us),
    ping_p50_bypassrt_vs_kernel: ratio(latency.ping.byPassRT?.p50_us, latency.ping.kernel?.p50_us),
    ping_p99_bypassrt_vs_c: ratio(latency.ping.byPassRT?.p99_us, latency.ping["C xsk_ref"]?.p99_us),
    udp_p50_bypassrt_vs_c: ratio(latency.udp.byPassRT?.p50_us, latency.udp["C xsk_ref"]?.p50_us),
    udp_p99_bypassrt_vs_c: ratio(latency.udp.byPassRT?.p99_us, latency.udp["C xsk_ref"]?.p99_us),
    udp_p50_bypassrt_vs_testpmd: ratio(
      latency.udp.byPassRT?.p50_us,
      latency.udp["DPDK testpmd"]?.p50_us,
    ),
    engine_ts_vs_c: engine.ratio ?? null,
    engine_direct_ts_vs_c: engine.ratio_direct ?? null,
    engine_real_vs_direct_ts: engine.real_vs_direct_ts ?? null,
  };
  const at = (name: string, target: string, value: number | null, ok: (v: number) => boolean) => ({
    name,
    target,
    value,
    met: value === null ? null : ok(value),
  });
  /** A row for information: a value beside the targets, never judged. */
  const info = (name: string, value: number | null) => ({ name, target: "-", value, met: null });
  const targets = [
    at("rxdrop byPassRT / C", ">= 0.95", ratios.rxdrop_bypassrt_vs_c, (v) => v >= 0.95),
    // The same receive path without the per-frame clock: what the clock costs (not a target).
    info("rxdrop byPassRT --no-timestamps / C (info)", ratios.rxdrop_no_timestamps_vs_c),
    // The C reference with the same clock: what the clock's mechanism costs in C, and byPassRT
    // against C when both time every frame (not targets).
    info("rxdrop C --stamp / C (info)", ratios.rxdrop_stamp_vs_c),
    info("rxdrop byPassRT / C --stamp (info)", ratios.rxdrop_bypassrt_vs_c_stamp),
    at("rxdrop byPassRT / testpmd", ">= 1.0", ratios.rxdrop_bypassrt_vs_testpmd, (v) => v >= 1),
    at("l2fwd byPassRT / C", ">= 1.0", ratios.l2fwd_bypassrt_vs_c, (v) => v >= 1),
    at("l2fwd byPassRT / testpmd", ">= 1.0", ratios.l2fwd_bypassrt_vs_testpmd, (v) => v >= 1),
    // The latency targets (issue 12), judged on the pooled samples; latencyVerdicts() shows
    // whether each also holds in every round.
    ...(latency.verdicts ?? []).map((v) => ({
      name: `latency: ${v.name}`,
      target: v.want,
      value: v.pooled,
      met: v.pooled === null ? null : v.verdict !== "no",
    })),
    at("engine loop TS / C", ">= 0.6", ratios.engine_ts_vs_c, (v) => v >= 0.6),
    // The direct loop (no handler) is a reference for the handler's cost, not a target.
    info("engine loop TS / C, direct (info)", ratios.engine_direct_ts_vs_c),
    at(
      "GC events in steady state (polling loop)",
      "= 0",
      gc && !gc.error ? gc.worker_steady_gc : null,
      (v) => v === 0,
    ),
  ];
  return { ratios, targets };
}

/** The engine-loop line: the real loop's ratio (the target), then the rest for information. */
function engineLine(e: EngineResult): string {
  const parts = [`real loop (runLoop + l2fwd handler) TS/C ${fmt(e.ratio, 3)}`];
  if (e.ratio_direct !== undefined) {
    parts.push(`direct loop (no handler) TS/C ${fmt(e.ratio_direct, 3)} (for information)`);
  }
  if (e.real_vs_direct_ts !== undefined) {
    parts.push(
      `real/direct TS ${fmt(e.real_vs_direct_ts, 3)}, C ${fmt(e.real_vs_direct_c, 3)}`,
    );
  }
  if (e.gc_events !== undefined) parts.push(`GC events in the timed sections ${e.gc_events}`);
  if (e.rounds !== undefined) parts.push(`medians of ${e.rounds} rounds`);
  return parts.join("; ");
}

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === 0 || i === 1 ? c.padEnd(w[i]) : c.padStart(w[i])).join("  ")
      .trimEnd();
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

/** The plain-text report. */
export function renderText(doc: BenchDocument): string {
  const out: string[] = [];
  const m = doc.meta;
  out.push(
    `byPassRT benchmark: ${m.cpu} x${m.nproc}, kernel ${m.kernel}, deno ${m.deno}, ` +
      `${m.repetitions} repetition(s) of ${m.duration_s} s (median), ${m.frame}`,
  );
  out.push(`generator: ${m.generator}`);
  out.push(
    `machine busy before start: ${m.busy_before_pct}% (noise % below: share of the two vCPUs ` +
      `that other processes and the hypervisor (steal) took during each window)`,
  );
  out.push("");
  out.push(table(
    [
      "contender",
      "mode",
      "rx Mpps",
      "fwd Mpps",
      "offered Mpps",
      "CPU ns/pkt",
      "softirq ns/pkt",
      "noise %",
      "runs",
    ],
    doc.results.map((e) => [
      e.contender,
      e.mode,
      e.skipped ? "skipped" : fmt(e.rx_mpps),
      fmt(e.fwd_mpps),
      fmt(e.offered_mpps),
      fmt(e.cpu_ns_per_pkt, 1),
      fmt(e.softirq_ns_per_pkt, 1),
      e.foreign_cpu_share === null ? "-" : (e.foreign_cpu_share * 100).toFixed(0),
      e.skipped ? e.skipped : e.runs.map((r) => fmt(r)).join(" ") +
        (e.errors?.length ? ` (${e.errors.length} failed)` : ""),
    ]),
  ));
  out.push("");
  out.push(latencyText(doc.latency));
  out.push("");
  if (doc.gc) {
    const g = doc.gc;
    out.push(
      g.error
        ? `GC: ${g.error}`
        : `GC (rxdrop ${fmt(g.rx_mpps)} Mpps, --trace-gc, ${g.duration_s} s, steady after ` +
          `${g.steady_after_s} s): polling loop ${g.worker_steady_gc} in steady state, main thread ` +
          `${g.main_steady_gc}; ` +
          g.isolates.map((i) =>
            `${i.role} ${i.isolate}: ${i.startup} start-up + ${i.steady} steady`
          )
            .join(", ") +
          `; free frames ${g.free_frames_min}..${g.free_frames_max} of ${g.frames}`,
    );
  }
  out.push(
    `engine loop: ${doc.engine.skipped ?? doc.engine.error ?? engineLine(doc.engine)}`,
  );
  out.push("");
  out.push(table(
    ["target", "", "value", "want", "met"],
    doc.targets.map((t) => [
      t.name,
      "",
      t.value === null ? "-" : fmt(t.value, t.name.startsWith("GC") ? 0 : 3),
      t.target,
      t.met === null ? "n/a" : t.met ? "yes" : "NO",
    ]),
  ));
  return out.join("\n");
}

const KIND_TITLE: Record<LatencyKind, string> = {
  ping: "ping round trip through respond (the kernel: answering itself)",
  udp: "UDP round trip through l2fwd / macswap",
};

/** The latency tables: each round's p50/p99, pooled percentiles, spread, then the verdicts. */
export function latencyText(lat: LatencyDoc): string {
  const out: string[] = [];
  const rounds = lat.rounds ?? [];
  const m = lat.method;
  if (m) {
    out.push(
      `latency: ${m.rounds} rounds (order rotated each round, reversed every other), ` +
        `${m.warmup} warm-up round trips ` +
        `${m.warmupGapUs} us apart per contender and round` +
        (m.window_pause_ms === undefined
          ? ""
          : `, a ${m.window_pause_ms} ms pause, ${m.lead_in} untimed round trips`) +
        `, then one frame every ${m.gapUs} us; ` +
        `probe ${m.probe}; timed: ${m.timed}`,
    );
  }
  for (const kind of ["ping", "udp"] as const) {
    const names = Object.keys(lat[kind]);
    if (!names.length) continue;
    const cell = (s: RttStats | undefined) =>
      !s
        ? "-"
        : s.skipped
        ? "skipped"
        : s.error && !s.samples
        ? "failed"
        : `${fmt(s.p50_us, 1)}/${fmt(s.p99_us, 1)}`;
    const head = [
      kind === "ping" ? "ping" : "udp rtt",
      "through",
      ...rounds.map((r) => `r${r.round} p50/p99`),
      "p50",
      "p90",
      "p99",
      "p99.9",
      "max",
      "ok/lost",
      "p50 range",
      "p99 range",
      "user p50/p99",
      "noise %",
    ];
    const rows = names.map((name) => {
      const s = lat[kind][name], sp = lat.spread?.[kind]?.[name];
      const user = rounds.map((r) => r[kind][name]).filter((x) => x?.user_p50_us !== undefined);
      return [
        "",
        name,
        ...rounds.map((r) => cell(r[kind][name])),
        s.skipped ? "skipped" : fmt(s.p50_us, 1),
        fmt(s.p90_us, 1),
        fmt(s.p99_us, 1),
        fmt(s.p999_us, 1),
        fmt(s.max_us, 1),
        `${s.samples}/${s.lost}`,
        sp ? `${fmt(sp.p50_us[0], 1)}..${fmt(sp.p50_us[1], 1)}` : "-",
        sp ? `${fmt(sp.p99_us[0], 1)}..${fmt(sp.p99_us[1], 1)}` : "-",
        user.length
          ? user.map((x) => `${fmt(x.user_p50_us, 0)}/${fmt(x.user_p99_us, 0)}`).join(" ")
          : "-",
        rounds.map((r) => r[kind][name]?.foreign_cpu_share).filter((x) => x !== undefined)
          .map((x) => (x! * 100).toFixed(0)).join(" ") || "-",
      ];
    });
    out.push(`${KIND_TITLE[kind]}, us (per round p50/p99, then pooled over all rounds):`);
    out.push(table(head, rows));
    const notes = names.flatMap((n) => {
      const s = lat[kind][n];
      return s.skipped || s.error ? [`  ${n}: ${s.skipped ?? s.error}`] : [];
    });
    out.push(...notes, "");
  }
  // The targets, then where byPassRT's distance to C lies (runtime / engine; not targets).
  const judged = [["latency target", lat.verdicts], ["where the gap is", lat.splits]] as const;
  for (const [title, list] of judged) {
    if (!list?.length) continue;
    out.push(table(
      [title, "", "want", "pooled", "per round", "rounds met", "verdict", "noisy rounds"],
      list.map((v) => [
        v.name,
        "",
        v.want,
        fmt(v.pooled, 3),
        v.rounds.map((x) => x !== null && x < 0.1 ? x.toPrecision(1) : fmt(x, 2)).join(" "),
        `${v.met_rounds}/${v.of_rounds}`,
        v.verdict,
        `${v.noisy_rounds}/${v.rounds.length}`,
      ]),
    ));
  }
  if (lat.verdicts?.length) {
    const noisy = Math.max(...lat.verdicts.map((v) => v.noisy_rounds));
    if (noisy > 0) {
      out.push(
        `warning: in ${noisy} round(s) other processes or the hypervisor took more than ` +
          `${NOISY_SHARE * 100}% of the CPUs during a measurement (noise % above): those rounds ` +
          `measure the machine's load as much as the contenders; run on a quiet machine ` +
          `(--wait-quiet S) before reading the verdicts.`,
      );
    }
  }
  for (const f of lat.per_frame ?? []) {
    const figs = Object.entries(perFrameFigures(f.latency)).map(([k, v]) => `${k} ${v}`);
    out.push(
      `${f.contender} per-frame clock (${f.kind}, round ${f.round}): ${
        figs.length ? figs.join(", ") : JSON.stringify(f.latency).slice(0, 300)
      }`,
    );
  }
  return out.join("\n");
}
