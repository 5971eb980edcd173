/**
 * byPassRT benchmark orchestrator (`deno task bench`, via bench/run.sh which builds first).
 *
 * Builds its own two-namespace topology, starts the live-frames generator (bench/xdp_tool.ts gen)
 * and runs every contender in turn on the same veth: byPassRT, the C reference (bench/xsk_ref.c),
 * DPDK testpmd (AF_XDP PMD) and the kernel alone (XDP_DROP), in rxdrop and l2fwd; then latency
 * (ping, UDP round trip), GC under load (--trace-gc), and the engine-loop micro-benchmark
 * (bench/engine.sh, when present). Prints a plain-text report; --json FILE writes it all.
 * Needs root. Everything it creates is removed at the end, also on failure and Ctrl-C.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  bypassrt,
  bypassrtNoTimestamps,
  bypassrtPcap,
  type Contender,
  cref,
  crefAgain,
  crefStamp,
  Generator,
  kernelDrop,
  type RunResult,
  settle,
  testpmd,
  type ThroughputMode,
  throughputRun,
  tsref,
  tsrefStamp,
} from "./contenders.ts";
import { createTopology, deleteTopology, type Topology, topologyTag } from "./topology.ts";
import { type LatencyEntry, type LatencyPlan, latencyPlan, latencyRounds } from "./latency.ts";
import { writeCharts } from "./charts.ts";
import { type GcReport, gcRun } from "./gc.ts";
import {
  aggregate,
  type BenchDocument,
  type EngineResult,
  type Entry,
  ratiosAndTargets,
  renderText,
} from "./report.ts";
import { busyShare, run, stopAll } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const USAGE = `usage: bench/run.sh [options]     (or: deno task bench [options])

  --quick            short run for CI smoke: 1 x 2 s per contender, 2 latency rounds of 100
                     samples each (same warm-up as a full run), 4 s GC run, engine-loop
                     micro-benchmark on 5M packets x 2 rounds
  --json FILE        write every result (raw latency samples included) as JSON to FILE
                     (default bench/out/latest.json) and the SVG charts next to it
  --duration S       seconds measured per run (default 10; quick 2)
  --reps N           repetitions, median reported (default 3; quick 1)
  --only LIST        contenders to run, comma separated:
                     bypassrt,c,ts,c2,testpmd,kernel,pcap,nots,cstamp
                     (ts: the C reference's loop in TypeScript, bench/ts_ref.ts: the runtime
                     without byPassRT's engine; in the latency rounds with byPassRT's per-frame
                     clock, ts_ref --stamp; c2: the C reference again under another name,
                     latency only: an A/A pair with c, the machine's noise)
                     (pcap: byPassRT with --pcap to a file in BPB_PCAP_DIR or /tmp; not run
                     unless named: bench/pcap.sh runs it against bypassrt; nots: byPassRT
                     with --no-timestamps, the per-frame clock's cost side by side; cstamp:
                     the C reference with the same per-frame clock, xsk_ref --stamp: rxdrop
                     and the latency rounds)
  --modes LIST       throughput modes: rxdrop,l2fwd (default both)
  --ping-count N     ping samples per responder, over all rounds (default 2000; quick 200)
  --rtt-count N      UDP round trips per forwarder, over all rounds (default 2000; quick 200)
  --rounds N         latency rounds: every contender once per round, order rotated
                     and reversed every other round (default 5; quick 2)
  --latency-warmup N round trips before measuring, every contender, every round (default 5000,
                     quick too: the same warm-up for everyone, JIT tier-up included), 10 us
                     apart; then a 1.1 s pause and 20 untimed round trips at the measured gap
  --gap-us N         gap between measured round trips, us (default 1000: 1000 frames/s)
  --publish DIR      also copy the charts (latency.svg, throughput.svg) and the JSON (bench.json)
                     to DIR, e.g. docs/bench (what BENCHMARKS.md embeds)
  --no-throughput    skip the throughput runs
  --no-latency       skip the latency tests
  --no-gc            skip the --trace-gc run
  --wait-quiet S     first wait up to S seconds for the machine to be idle (< 10% busy)
  --no-engine        skip the engine-loop micro-benchmark (bench/engine.sh)
  -h, --help         this text

Needs root. Builds namespaces bpb-<tag>-gen / bpb-<tag>-dut joined by one veth pair and removes
them at the end. The generator and the veth receive path run on CPU 0, contenders on CPU 1.`;

interface Options {
  quick: boolean;
  json?: string;
  durationS: number;
  warmupS: number;
  reps: number;
  only: Set<string>;
  modes: ThroughputMode[];
  latencyPlan: LatencyPlan;
  publish?: string;
  throughput: boolean;
  latency: boolean;
  gc: boolean;
  gcS: number;
  engine: boolean;
  repeat: number;
  waitQuietS: number;
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      duration: { type: "string" },
      reps: { type: "string" },
      only: { type: "string" },
      modes: { type: "string" },
      "ping-count": { type: "string" },
      "rtt-count": { type: "string" },
      rounds: { type: "string" },
      "latency-warmup": { type: "string" },
      "gap-us": { type: "string" },
      publish: { type: "string" },
      "no-latency": { type: "boolean", default: false },
      "no-throughput": { type: "boolean", default: false },
      "no-gc": { type: "boolean", default: false },
      "no-engine": { type: "boolean", default: false },
      "wait-quiet": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const q = values.quick;
  const num = (name: string, v: string | undefined, def: number, min: number, max: number) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new Error(`--${name} "${v}" is invalid: give a number from ${min} to ${max}`);
    }
    return n;
  };
  const opt = (v: number) => Number.isNaN(v) ? undefined : Math.round(v);
  const all = ["bypassrt", "c", "ts", "c2", "testpmd", "kernel", "pcap", "nots", "cstamp"];
  const only = new Set(
    (values.only ?? all.filter((c) => c !== "pcap").join(",")).split(",").map((s) => s.trim()),
  );
  for (const o of only) {
    if (!all.includes(o)) throw new Error(`--only: unknown contender "${o}" (${all.join(", ")})`);
  }
  const modes = (values.modes ?? "rxdrop,l2fwd").split(",") as ThroughputMode[];
  for (const m of modes) {
    if (m !== "rxdrop" && m !== "l2fwd") throw new Error(`--modes: unknown mode "${m}"`);
  }
  return {
    quick: q,
    json: values.json,
    durationS: num("duration", values.duration, q ? 2 : 10, 1, 600),
    warmupS: q ? 0.5 : 1,
    reps: Math.round(num("reps", values.reps, q ? 1 : 3, 1, 20)),
    only,
    modes,
    latencyPlan: latencyPlan(q, {
      pingCount: opt(num("ping-count", values["ping-count"], NaN, 10, 100000)),
      rttCount: opt(num("rtt-count", values["rtt-count"], NaN, 10, 100000)),
      rounds: opt(num("rounds", values.rounds, NaN, 1, 100)),
      warmup: opt(num("latency-warmup", values["latency-warmup"], NaN, 0, 1000000)),
      gapUs: opt(num("gap-us", values["gap-us"], NaN, 0, 1000000)),
    }),
    publish: values.publish,
    throughput: !values["no-throughput"],
    latency: !values["no-latency"],
    gc: !values["no-gc"],
    gcS: q ? 4 : 10,
    engine: !values["no-engine"],
    // 2^24 frames per live-frames call (the notes: smaller calls stall on RCU syncs); a quick run
    // uses 2^21 so that pausing between contenders stays short.
    repeat: q ? 1 << 21 : 1 << 24,
    waitQuietS: num("wait-quiet", values["wait-quiet"], 0, 0, 86400),
  };
}

async function machineInfo(): Promise<Record<string, unknown>> {
  const pkg = async (p: string) =>
    (await run(["dpkg-query", "-W", "-f", "${Version}", p], true)).trim() || "not installed";
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  return {
    date: new Date().toISOString(),
    nproc: Number((await run(["nproc"])).trim()),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown",
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    libxdp: await pkg("libxdp1"),
    libbpf: await pkg("libbpf1"),
    dpdk: await pkg("dpdk"),
    loadavg_start: (await Deno.readTextFile("/proc/loadavg")).trim(),
    git: (await run(["git", "-C", ROOT, "describe", "--always", "--dirty"], true)).trim(),
  };
}

const T0 = performance.now();

function log(msg: string): void {
  console.error(`bench: [${((performance.now() - T0) / 1000).toFixed(1)}s] ${msg}`);
}

const f2 = (v: number | null | undefined) => (v == null ? "-" : v.toFixed(2));
const pct = (v: number | null | undefined) => (v == null ? "-" : `${(v * 100).toFixed(0)}%`);

function runLine(r: RunResult): string {
  return `rx ${f2(r.rx_mpps)} Mpps, fwd ${f2(r.fwd_mpps)}, offered ${f2(r.offered_mpps)}, ` +
    `cpu ${f2(r.cpu_ns_per_pkt)} ns/pkt, softirq ${f2(r.softirq_ns_per_pkt)} ns/pkt, ` +
    `app CPU ${pct(r.app_cpu_share)}, other processes ${pct(r.foreign_cpu_share)}, ` +
    `steal ${pct(r.steal_share)}`;
}

async function engineBench(quick: boolean): Promise<EngineResult> {
  const script = `${ROOT}bench/engine.sh`;
  try {
    await Deno.stat(script);
  } catch {
    return { skipped: "bench/engine.sh is not there" };
  }
  const tmp = await Deno.makeTempFile({ prefix: "bpb-engine-", suffix: ".json" });
  try {
    await run([
      "bash",
      script,
      "--json",
      tmp,
      ...(quick ? ["--packets", "5000000", "--rounds", "2"] : []),
    ]);
    const raw = JSON.parse(await Deno.readTextFile(tmp));
    const num = (k: string) => typeof raw?.[k] === "number" ? raw[k] as number : undefined;
    // "ratio" is the real loop's TS / C; older outputs without it: the first ratio-like number.
    const found = num("ratio") !== undefined ? ["ratio", num("ratio")!] as const : findRatio(raw);
    return {
      raw,
      ratio: found?.[1],
      ratio_key: found?.[0],
      ratio_direct: num("ratio_direct"),
      real_vs_direct_ts: num("real_vs_direct_ts"),
      real_vs_direct_c: num("real_vs_direct_c"),
      gc_events: num("ts_gc_events"),
      rounds: num("rounds"),
    };
  } catch (e) {
    return { error: `bench/engine.sh failed: ${(e as Error).message.slice(0, 300)}` };
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

/** The kernel's socket statistics from a contender's final report, when it has them. */
function xdpStats(final: Record<string, unknown> | undefined): unknown {
  if (!final) return undefined;
  const total = final.total as Record<string, unknown> | undefined;
  return total?.xdp_statistics ?? final.xdp_statistics;
}

/** A --pcap run's capture figures from its final report (frames written, copies dropped). */
function captureOf(final: Record<string, unknown> | undefined): Record<string, unknown> {
  const capture = final?.capture as Record<string, unknown> | undefined;
  if (!capture) return {};
  const total = final!.total as Record<string, number>;
  return {
    capture: { ...capture, pcap_captured: total.pcap_captured, pcap_dropped: total.pcap_dropped },
  };
}

/** The --trace-gc run with --pcap to a temporary file (removed after). */
async function gcPcapRun(topo: Topology, gen: Generator, seconds: number): Promise<GcReport> {
  const dir = Deno.env.get("BPB_PCAP_DIR") ?? "/tmp";
  const file = await Deno.makeTempFile({ dir, prefix: "bpb-gc-", suffix: ".pcapng" });
  try {
    return await gcRun(topo, gen, seconds, 2, ["--pcap", file]);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** The first numeric field whose key mentions "ratio", breadth first. */
export function findRatio(o: unknown): [string, number] | undefined {
  const queue: [string, unknown][] = [["", o]];
  while (queue.length) {
    const [path, v] = queue.shift()!;
    if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        const p = path ? `${path}.${k}` : k;
        if (/ratio/i.test(k) && typeof x === "number") return [p, x];
        queue.push([p, x]);
      }
    }
  }
  return undefined;
}

/**
 * The latency contenders in `only`: ping through the kernel, byPassRT and the C reference
 * (respond); UDP through every forwarding contender (l2fwd / macswap).
 */
function latencyEntries(only: Set<string>, contenders: Contender[]): LatencyEntry[] {
  const ping: LatencyEntry[] = [];
  if (only.has("kernel")) ping.push({ kind: "ping", name: "kernel" });
  if (only.has("bypassrt")) ping.push({ kind: "ping", name: "byPassRT", contender: bypassrt });
  if (only.has("c")) ping.push({ kind: "ping", name: "C xsk_ref", contender: cref });
  // The TypeScript baseline with byPassRT's per-frame clock, as byPassRT runs (and C --stamp).
  if (only.has("ts")) ping.push({ kind: "ping", name: tsrefStamp.name, contender: tsrefStamp });
  if (only.has("c2")) ping.push({ kind: "ping", name: crefAgain.name, contender: crefAgain });
  if (only.has("nots")) {
    ping.push({ kind: "ping", name: bypassrtNoTimestamps.name, contender: bypassrtNoTimestamps });
  }
  if (only.has("cstamp")) ping.push({ kind: "ping", name: crefStamp.name, contender: crefStamp });
  const udp = contenders.filter((c) =>
    (c.modes.includes("l2fwd") || c.modes.includes("udp-rtt")) && c !== bypassrtPcap
  )
    .map((c) => c === tsref ? tsrefStamp : c)
    .map((c): LatencyEntry => ({ kind: "udp", name: c.name, contender: c }));
  return [...ping, ...udp];
}

/** Write the JSON and its charts next to it; with `publish`, copy both to that folder too. */
async function writeOutputs(doc: BenchDocument, json: string, publish?: string): Promise<void> {
  const slash = json.lastIndexOf("/");
  const dir = slash >= 0 ? json.slice(0, slash) || "/" : ".";
  await Deno.mkdir(dir, { recursive: true });
  // Indented, but arrays of numbers (the raw samples) on one line each.
  const text = JSON.stringify(doc, null, 2).replace(
    /\[\n\s*(-?[\d.e+-]+(?:,\n\s*-?[\d.e+-]+)*)\n\s*\]/g,
    (_, inner: string) => `[${inner.replace(/\s+/g, "")}]`,
  );
  await Deno.writeTextFile(json, text + "\n");
  log(`wrote ${json}`);
  const stem = json.slice(slash + 1).replace(/\.json$/, "");
  for (const p of await writeCharts(doc, dir, stem)) log(`wrote ${p}`);
  if (publish) {
    await Deno.mkdir(publish, { recursive: true });
    await Deno.copyFile(json, `${publish}/bench.json`);
    for (const p of await writeCharts(doc, publish, "")) log(`published ${p}`);
  }
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(Deno.args);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (Deno.uid() !== 0) {
    console.error("bench: needs root (namespaces, XDP, AF_XDP)");
    return 1;
  }
  const tag = topologyTag();
  let topo: Topology | undefined;
  let gen: Generator | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    cleaning ??= (async () => {
      if (gen) await gen.quit().catch(() => {});
      await stopAll();
      if (topo) await deleteTopology(topo);
    })();
  const onSignal = async () => {
    log("interrupted: stopping children and removing the namespaces");
    await cleanup();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  let busy = await busyShare(2000);
  for (const until = performance.now() + opts.waitQuietS * 1000; busy > 0.1;) {
    if (performance.now() >= until) break;
    log(`machine ${(busy * 100).toFixed(0)}% busy: waiting for it to be quiet`);
    busy = await busyShare(5000);
  }
  if (busy > 0.1) log(`warning: machine ${(busy * 100).toFixed(0)}% busy before start`);
  const meta = { ...await machineInfo(), busy_before_pct: Math.round(busy * 100) };
  const all: Record<string, Contender> = {
    bypassrt,
    c: cref,
    ts: tsref,
    c2: crefAgain,
    testpmd,
    kernel: kernelDrop,
    pcap: bypassrtPcap,
    nots: bypassrtNoTimestamps,
    cstamp: crefStamp,
  };
  const contenders = Object.entries(all).filter(([k]) => opts.only.has(k)).map(([, c]) => c);
  const skip = new Map<Contender, string>();
  for (const c of contenders) {
    const why = await c.unavailable();
    if (why) skip.set(c, why);
  }
  const runs: RunResult[] = [];
  let latency: BenchDocument["latency"] = { ping: {}, udp: {} };
  let gc: GcReport | undefined, gcPcap: GcReport | undefined;
  let engine: EngineResult = { skipped: "not run (--no-engine)" };
  const t0 = performance.now();
  try {
    topo = await createTopology(tag);
    log(`topology ${topo.gen} (${topo.genIf}) <-> ${topo.dut} (${topo.dutIf} ${topo.dutMac})`);
    gen = new Generator(topo, opts.repeat);
    await gen.ready();
    log(`generator up (${gen.via}, ${gen.repeat} frames per call)`);

    for (let rep = 1; opts.throughput && rep <= opts.reps; rep++) {
      for (const mode of opts.modes) {
        for (const c of contenders) {
          if (!c.modes.includes(mode) || skip.has(c)) continue;
          const r = await throughputRun(c, mode, topo, gen, opts);
          runs.push(r);
          log(
            `[${rep}/${opts.reps}] ${mode} ${c.name}: ${
              r.error ? `FAILED: ${r.error}` : runLine(r)
            }`,
          );
          await settle();
        }
      }
    }

    if (opts.latency) {
      latency = await latencyRounds(
        topo,
        latencyEntries(opts.only, contenders),
        opts.latencyPlan,
        log,
        settle,
      );
    }

    if (opts.gc && opts.only.has("bypassrt")) {
      gc = await gcRun(topo, gen, opts.gcS, 2);
      log(
        gc.error ? `gc run failed: ${gc.error}` : `gc: ${gc.worker_steady_gc} polling-loop and ` +
          `${gc.main_steady_gc} main-thread GC events in steady state`,
      );
    }
    if (opts.gc && opts.only.has("pcap")) {
      gcPcap = await gcPcapRun(topo, gen, opts.gcS);
      log(
        gcPcap.error
          ? `gc run (--pcap) failed: ${gcPcap.error}`
          : `gc with --pcap: ${gcPcap.worker_steady_gc} polling-loop and ` +
            `${gcPcap.main_steady_gc} main-thread GC events in steady state`,
      );
    }
  } finally {
    await cleanup();
    if (gen?.proc.stderr.trim()) log(`generator stderr: ${gen.proc.stderr.trim()}`);
  }
  if (opts.engine) {
    log("engine-loop micro-benchmark (bench/engine.sh)");
    engine = await engineBench(opts.quick);
  }

  const generator = `live frames (bench/xdp_gen.c XDP_TX via BPF_PROG_RUN, ${
    gen?.via ?? "?"
  }), 64-byte frames (60 + FCS), UDP to port 9000, ${opts.repeat} per call, CPU 0`;
  const results: Entry[] = aggregate(runs, generator);
  for (const [c, why] of skip) {
    for (const mode of opts.modes.filter((m) => c.modes.includes(m))) {
      results.push({
        contender: c.name,
        mode,
        rx_mpps: null,
        fwd_mpps: null,
        cpu_ns_per_pkt: null,
        softirq_ns_per_pkt: null,
        offered_mpps: null,
        generator,
        foreign_cpu_share: null,
        repetitions: 0,
        runs: [],
        skipped: why,
      });
    }
  }
  const order = ["byPassRT", "C xsk_ref", "DPDK testpmd", "kernel XDP_DROP"];
  results.sort((a, b) =>
    a.mode === b.mode
      ? order.indexOf(a.contender) - order.indexOf(b.contender)
      : opts.modes.indexOf(a.mode) - opts.modes.indexOf(b.mode)
  );
  const doc: BenchDocument = {
    meta: {
      ...meta,
      command: `bench/run.sh ${Deno.args.join(" ")}`.trim(),
      quick: opts.quick,
      duration_s: opts.durationS,
      warmup_s: opts.warmupS,
      repetitions: opts.reps,
      frame: "64-byte frames",
      generator,
      cpus: "generator + veth receive softirq on CPU 0, contenders' application on CPU 1",
      topology: topo ? { gen: topo.gen, dut: topo.dut, threaded: topo.threaded } : undefined,
      elapsed_s: Math.round((performance.now() - t0) / 100) / 10,
      loadavg_end: (await Deno.readTextFile("/proc/loadavg")).trim(),
    },
    results,
    runs: runs.map(({ final, ...r }) => ({
      ...r,
      final_xdp_statistics: xdpStats(final),
      ...captureOf(final),
    })),
    latency,
    gc,
    ...(gcPcap ? { gc_pcap: gcPcap } : {}),
    engine,
    ...ratiosAndTargets(results, latency, engine, gc),
  };
  console.log(renderText(doc));
  await writeOutputs(doc, opts.json ?? `${ROOT}bench/out/latest.json`, opts.publish);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}
