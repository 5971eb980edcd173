/**
 * Garbage collection under load: byPassRT rxdrop at full rate with `--v8-flags=--trace-gc`.
 * V8 prints one line per GC on stdout, `[pid:isolate]  <ms since that isolate started> ms: <kind>
 * ...`, mixed with our NDJSON. The first isolate to report is the main thread's (it loads the
 * CLI and collects during start-up); any other is a Worker's, i.e. a polling loop's. Steady state
 * starts `steadyAfterS` seconds after the generator starts: for the main isolate that is (time of
 * the start since spawn + steadyAfterS) on its clock; a Worker's isolate starts just before the
 * engine's first report, so its clock is shifted by the time of that report.
 *
 * @module
 */
import { APP_CPU, type Generator, v8Flags } from "./contenders.ts";
import { inNs, type Topology } from "./topology.ts";
import { Proc, sleep } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** GC events of one isolate. */
export interface IsolateGc {
  isolate: string;
  role: "main" | "worker";
  startup: number;
  steady: number;
  steady_kinds: Record<string, number>;
}

/** What the GC run found. */
export interface GcReport {
  duration_s: number;
  steady_after_s: number;
  rx_packets: number;
  rx_mpps: number;
  isolates: IsolateGc[];
  /** GC events in steady state on the polling loop's thread(s). */
  worker_steady_gc: number;
  /** GC events in steady state on the main thread (metrics printer). */
  main_steady_gc: number;
  frames: number;
  free_frames_min: number;
  free_frames_max: number;
  error?: string;
}

const GC_LINE = /^\[(\d+):(0x[0-9a-f]+)\]\s+(\d+) ms: ([A-Za-z-]+(?: \(.*?\))?)/;

/**
 * Run byPassRT rxdrop under --trace-gc for `durationS` with the generator going (`extra`: more
 * run options, e.g. `--pcap FILE`).
 */
export async function gcRun(
  topo: Topology,
  gen: Generator,
  durationS: number,
  steadyAfterS: number,
  extra: string[] = [],
): Promise<GcReport> {
  const proc = new Proc(
    "byPassRT --trace-gc",
    [
      // V8 prints the trace with C stdio: line-buffer it so lines never split.
      // --trace-gc with byPassRT's own V8 flags: the figure is the product's as run.
      ...inNs(topo.dut, "stdbuf", "-oL", Deno.execPath(), "run", "-A", ...v8Flags("--trace-gc")),
      `${ROOT}cli/main.ts`,
      "--iface",
      topo.dutIf,
      "--mode",
      "rxdrop",
      "--cpu",
      APP_CPU,
      "--json",
      "--interval",
      "0.5",
      ...extra,
    ],
  );
  const report: GcReport = {
    duration_s: durationS,
    steady_after_s: steadyAfterS,
    rx_packets: 0,
    rx_mpps: 0,
    isolates: [],
    worker_steady_gc: 0,
    main_steady_gc: 0,
    frames: 4096,
    free_frames_min: NaN,
    free_frames_max: NaN,
  };
  let first;
  try {
    first = await proc.waitFor((l) => l.text.startsWith("{"), 30000);
  } catch (e) {
    return { ...report, error: (e as Error).message };
  }
  const readyMs = first.at - proc.started;
  await gen.go();
  // Traffic starts now: steady state is `steadyAfterS` later (JIT tier-up under traffic counts
  // as start-up however long the engine took to come up).
  const goMs = performance.now() - proc.started;
  await sleep(durationS * 1000);
  await gen.pause();
  await proc.stop("SIGINT");

  const isolates = new Map<string, IsolateGc>();
  const frees: number[] = [];
  let t0: number | undefined, rx0 = 0, rxEnd = 0, tEnd = 0;
  for (const l of proc.lines) {
    const m = GC_LINE.exec(l.text);
    if (m) {
      const id = m[2];
      if (!isolates.has(id)) {
        isolates.set(id, {
          isolate: id,
          role: isolates.size === 0 ? "main" : "worker",
          startup: 0,
          steady: 0,
          steady_kinds: {},
        });
      }
      const iso = isolates.get(id)!;
      // Isolate clocks: the main one starts at spawn, a Worker's just before the first report.
      const cut = (iso.role === "main" ? goMs : goMs - readyMs) + steadyAfterS * 1000;
      if (Number(m[3]) < cut) iso.startup++;
      else {
        iso.steady++;
        const kind = m[4].split(" ")[0];
        iso.steady_kinds[kind] = (iso.steady_kinds[kind] ?? 0) + 1;
      }
      continue;
    }
    // A GC line cut by stdio buffering can share a line with our JSON: take the JSON part.
    const j = l.text.indexOf('{"'), k = l.text.lastIndexOf("}");
    if (j < 0 || k < j) continue;
    try {
      const o = JSON.parse(l.text.slice(j, k + 1));
      const t = Number(o.elapsed), total = o.total as Record<string, number>;
      if (o.final) continue;
      if (t >= steadyAfterS) {
        frees.push(total.free_frames);
        if (t0 === undefined) {
          t0 = t;
          rx0 = total.rx_packets;
        }
        tEnd = t;
        rxEnd = total.rx_packets;
      }
      report.rx_packets = total.rx_packets;
    } catch { /* not ours */ }
  }
  report.isolates = [...isolates.values()];
  report.worker_steady_gc = report.isolates.filter((i) => i.role === "worker")
    .reduce((a, i) => a + i.steady, 0);
  report.main_steady_gc = report.isolates.filter((i) => i.role === "main")
    .reduce((a, i) => a + i.steady, 0);
  report.rx_mpps = t0 !== undefined && tEnd > t0 ? (rxEnd - rx0) / (tEnd - t0) / 1e6 : 0;
  report.free_frames_min = frees.length ? Math.min(...frees) : NaN;
  report.free_frames_max = frees.length ? Math.max(...frees) : NaN;
  return report;
}
