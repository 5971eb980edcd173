/**
 * The benchmark's charts, drawn from its own JSON document (so the pictures always match the
 * numbers): the latency distributions of every contender (CDF, log time axis, ping and UDP side
 * by side) and the throughput table as grouped bars. bench/main.ts writes them next to its JSON;
 * `deno run -A bench/charts.ts FILE.json [--out DIR]` redraws them from any saved run.
 *
 * @module
 */
import { barChart, cdfChart, esc, type Series, svgDocument } from "./svg.ts";
import type { LatencyDoc } from "./latency.ts";
import type { LatencyKind } from "./latency_stats.ts";

/** The parts of the benchmark document the charts read. */
export interface ChartInput {
  meta?: Record<string, unknown>;
  results?: {
    contender: string;
    mode: string;
    rx_mpps: number | null;
    fwd_mpps: number | null;
    skipped?: string;
  }[];
  latency?: LatencyDoc;
}

const COLORS: Record<string, string> = {
  "byPassRT": "#d62728",
  "C xsk_ref": "#1f77b4",
  "DPDK testpmd": "#2ca02c",
  "kernel": "#7f7f7f",
  "kernel XDP_DROP": "#7f7f7f",
  "byPassRT --pcap": "#ff7f0e",
  "TS ts_ref": "#9467bd",
  "TS ts_ref --stamp": "#9467bd",
  "C xsk_ref 2": "#17becf",
  "byPassRT --no-timestamps": "#e377c2",
};
const SPARE = ["#8c564b", "#bcbd22", "#aec7e8", "#98df8a"];

/** A fixed color per contender, the same in every chart. */
export function colorOf(name: string, i: number): string {
  return COLORS[name] ?? SPARE[i % SPARE.length];
}

/** Every sample of each contender of `kind`, all rounds pooled, in round order. */
export function pooledSamples(lat: LatencyDoc, kind: LatencyKind): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const r of lat.rounds ?? []) {
    for (const [name, s] of Object.entries(r[kind])) {
      (out[name] ??= []).push(...(s.samples_us ?? []));
    }
  }
  return out;
}

function stamp(doc: ChartInput): string {
  const m = doc.meta ?? {};
  return [m.date, m.git ? `git ${m.git}` : "", m.command].filter(Boolean).join(", ");
}

/** The latency figure (two CDF panels), or undefined without samples. */
export function latencySvg(doc: ChartInput): string | undefined {
  const lat = doc.latency;
  if (!lat?.rounds?.length) return undefined;
  const panels: [LatencyKind, string][] = [
    ["ping", "Ping round trip (respond; kernel answering itself)"],
    ["udp", "UDP round trip through l2fwd / macswap"],
  ];
  const W = 1000, H = 470, body: string[] = [];
  let drawn = 0;
  panels.forEach(([kind, title], i) => {
    const samples = pooledSamples(lat, kind);
    const series: Series[] = Object.entries(samples).filter(([, v]) => v.length).map((
      [name, v],
      j,
    ) => {
      const s = lat[kind][name];
      return {
        name: `${name} (p50 ${s?.p50_us ?? "-"}, p99 ${s?.p99_us ?? "-"} us, n=${v.length})`,
        color: colorOf(name, j),
        values: v,
      };
    });
    if (!series.length) return;
    drawn++;
    body.push(
      ...cdfChart(
        { x: 70 + i * 500, y: 50, w: 400, h: 340 },
        title,
        "round trip, us (log scale)",
        series,
      ).svg,
    );
  });
  if (!drawn) return undefined;
  const m = lat.method;
  body.push(
    `<text x="10" y="${H - 28}" font-size="11">cumulative share of round trips (nines scale); ` +
      `${
        m
          ? `${m.rounds} rounds interleaved, ${m.warmup} warm-up round trips per run, ` +
            `one frame every ${m.gapUs} us`
          : ""
      }</text>`,
    `<text x="10" y="${H - 12}" font-size="11">${esc(stamp(doc))}</text>`,
  );
  return svgDocument(W, H, "byPassRT benchmark: latency distributions", body);
}

/** The throughput figure (rx Mpps for rxdrop, forwarded Mpps for l2fwd), or undefined. */
export function throughputSvg(doc: ChartInput): string | undefined {
  const rows = (doc.results ?? []).filter((e) => !e.skipped);
  const value = (e: NonNullable<ChartInput["results"]>[number]) =>
    e.mode === "l2fwd" ? e.fwd_mpps : e.rx_mpps;
  if (!rows.some((e) => value(e) !== null)) return undefined;
  const modes = [...new Set(rows.map((e) => e.mode))];
  const names = [...new Set(rows.map((e) => e.contender))];
  const series: Series[] = names.map((name, i) => ({
    name,
    color: colorOf(name, i),
    values: modes.map((m) => {
      const e = rows.find((r) => r.contender === name && r.mode === m);
      return e ? value(e) : null;
    }),
  }));
  const groups = modes.map((m) => m === "l2fwd" ? "l2fwd (forwarded)" : `${m} (received)`);
  const body = barChart(
    { x: 70, y: 50, w: 560, h: 300 },
    "Throughput, 64-byte frames (median of repetitions)",
    "Mpps",
    groups,
    series,
  ).svg;
  body.push(`<text x="10" y="400" font-size="11">${esc(stamp(doc))}</text>`);
  return svgDocument(820, 410, "byPassRT benchmark: throughput", body);
}

/**
 * Write the charts for `doc` into `dir` as `<stem>-latency.svg` / `<stem>-throughput.svg`; a
 * chart `doc` has no data for is removed if an older one is there, so that every chart in `dir`
 * matches the same document.
 */
export async function writeCharts(doc: ChartInput, dir: string, stem: string): Promise<string[]> {
  const written: string[] = [];
  for (const [name, svg] of [["latency", latencySvg(doc)], ["throughput", throughputSvg(doc)]]) {
    const path = `${dir}/${stem ? `${stem}-` : ""}${name}.svg`;
    if (!svg) {
      await Deno.remove(path).catch(() => {});
      continue;
    }
    await Deno.writeTextFile(path, svg);
    written.push(path);
  }
  return written;
}

if (import.meta.main) {
  const [file, flag, out] = Deno.args;
  if (!file || (flag !== undefined && (flag !== "--out" || !out))) {
    console.error("usage: deno run -A bench/charts.ts FILE.json [--out DIR]");
    Deno.exit(2);
  }
  const doc = JSON.parse(await Deno.readTextFile(file)) as ChartInput;
  const dir = out ?? (file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".");
  const stem = out ? "" : file.slice(file.lastIndexOf("/") + 1).replace(/\.json$/, "");
  for (const p of await writeCharts(doc, dir, stem)) console.log(p);
}
