/**
 * Blocklist benchmark (`deno task bench:blocklist [--reps N] [--seconds S] [--json FILE]`):
 *
 * 1. Load speed: 100,000 and 1,000,000 prefixes through the path of Engine.blockAddMany (parse
 *    each string, one batched insert) and of --block-file (read and parse the file, insert),
 *    and through Engine.blockAddMany on a running engine (the control path, busy-polling worker
 *    beside it). Prefixes per second.
 * 2. Per-packet cost, kernel-measured: BPF_PROG_RUN (bpf_prog_test_run_opts, 10^6 repeats) of
 *    byPassRT's program on a crafted frame, not blocked vs blocked, empty map vs 100k vs 1M
 *    prefixes, IPv4 and IPv6, against a reference build of the same program without the
 *    blocklist check (-DBYPASS_NO_BLOCKLIST).
 * 3. XDP_DROP rate on a veth: the live-frames generator in the generator namespace sends from a
 *    blocked source (10.0.0.2); the rate of the program's `blocked` counter with 1 prefix vs
 *    100k vs 1M, and bench/xdp_drop.c (count + XDP_DROP, nothing else) as the ceiling.
 *
 * Rounds are interleaved (every case once per round) and medians reported. Builds its own two
 * namespaces (bench/topology.ts) and removes them at exit.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createTopology, deleteTopology, inNs, topologyTag } from "./topology.ts";
import { type Line, Proc, sleep, stopAll } from "./proc.ts";
import { APP_CPU, Generator } from "./contenders.ts";
import { DrivenEngine } from "../testing/engine_client.ts";
import { builtinHandler } from "../engine/modes.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const { values: flags } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    seconds: { type: "string", default: "3" },
    json: { type: "string" },
  },
});
const reps = Number(flags.reps), seconds = Number(flags.seconds);
const log = (s: string) => console.error(`bench:blocklist: ${s}`);
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const isJson = (l: Line) => l.text.startsWith("{");

/** The probe (bench/blocklist_probe.ts) in the device namespace, pinned to the app CPU. */
class Probe {
  readonly proc: Proc;
  #seen = 0;
  constructor(ns: string, iface: string) {
    this.proc = new Proc("probe", [
      "taskset",
      "-c",
      APP_CPU,
      ...inNs(ns, Deno.execPath(), "run", "-A", `${ROOT}bench/blocklist_probe.ts`, iface),
    ], { stdin: true });
  }
  async ready(): Promise<void> {
    const l = await this.proc.waitFor(isJson, 60_000);
    this.#seen = this.proc.lines.indexOf(l) + 1;
  }
  async call(req: Record<string, unknown>): Promise<Record<string, number>> {
    const after = this.#seen;
    await this.proc.send(JSON.stringify(req));
    const l = await this.proc.waitFor(
      (l) => isJson(l) && this.proc.lines.indexOf(l) >= after,
      600_000,
    );
    this.#seen = this.proc.lines.indexOf(l) + 1;
    const o = JSON.parse(l.text);
    if (o.error) throw new Error(`probe: ${o.error}`);
    return o;
  }
}

const tag = topologyTag();
const topo = await createTopology(tag);
const result: Record<string, unknown> = {};
let gen: Generator | undefined;
try {
  log(`topology ${topo.gen} <-> ${topo.dut} (${topo.dutIf})`);
  const probe = new Probe(topo.dut, topo.dutIf);
  await probe.ready();

  // 1. Load speed.
  const load: Record<string, { parse: number[]; insert: number[] }> = {};
  for (let r = 0; r < reps; r++) {
    for (const n of [100_000, 1_000_000]) {
      for (const via of ["strings", "file"]) {
        const o = await probe.call({ op: "load", v4: n, via });
        const k = `${via} ${n}`;
        (load[k] ??= { parse: [], insert: [] }).parse.push(o.parse_ms);
        load[k].insert.push(o.insert_ms);
        log(`load ${k}: parse ${o.parse_ms.toFixed(0)} ms, insert ${o.insert_ms.toFixed(0)} ms`);
      }
    }
  }
  // Engine.blockAddMany on a running engine (rxdrop, steering none, busy-polling worker).
  const live: number[] = [];
  await probe.call({ op: "detach" }); // the probe's program comes off the interface
  for (let r = 0; r < reps; r++) {
    const e = await DrivenEngine.start(topo.dut, {
      port: { iface: topo.dutIf },
      loop: { burst: 64, idlePollMs: 0, count: 0 },
      handler: builtinHandler("rxdrop"),
      steering: { all: false, udpPorts: [], respondIp: 0 },
    });
    try {
      const list: string[] = [];
      for (let i = 0; i < 100_000; i++) list.push(`11.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
      await e.blockAddMany(list);
      live.push(e.lastMs);
      log(`Engine.blockAddMany 100000 on a running engine: ${e.lastMs.toFixed(0)} ms`);
    } finally {
      await e.stop();
    }
  }
  result.load = {
    ...Object.fromEntries(
      Object.entries(load).map(([k, v]) => {
        const n = Number(k.split(" ")[1]);
        const total = median(v.parse.map((p, i) => p + v.insert[i]));
        return [k, {
          parse_ms: median(v.parse),
          insert_ms: median(v.insert),
          total_ms: total,
          prefixes_per_s: Math.round(n / total * 1000),
        }];
      }),
    ),
    "engine 100000": { total_ms: median(live), prefixes_per_s: Math.round(1e8 / median(live)) },
  };

  // 2. BPF_PROG_RUN per-packet cost.
  const ref = `${ROOT}build/xdp_steer_noblock.o`;
  const cases: { name: string; load: Record<string, unknown>; frames: string[] }[] = [
    { name: "no blocklist check (reference build)", load: { object: ref }, frames: ["v4-clear"] },
    { name: "empty blocklist", load: {}, frames: ["v4-clear", "v6-clear"] },
    {
      name: "100k IPv4 + 100k IPv6 prefixes",
      load: { v4: 100_000, v6: 100_000 },
      frames: ["v4-clear", "v4-blocked", "v6-clear", "v6-blocked"],
    },
    { name: "1M IPv4 prefixes", load: { v4: 1_000_000 }, frames: ["v4-clear", "v4-blocked"] },
  ];
  const ns: Record<string, number[]> = {};
  for (let r = 0; r < reps; r++) {
    for (const c of cases) {
      await probe.call({ op: "load", ...c.load });
      for (const f of c.frames) {
        const o = await probe.call({ op: "testrun", frame: f, repeat: 1_000_000 });
        (ns[`${c.name} | ${f}`] ??= []).push(o.ns);
      }
    }
  }
  result.testrun_ns = Object.fromEntries(Object.entries(ns).map(([k, v]) => [k, median(v)]));
  log(`BPF_PROG_RUN ns per run: ${JSON.stringify(result.testrun_ns)}`);

  // 3. XDP_DROP rate of a blocked source on the veth.
  gen = new Generator(topo, 1 << 24);
  await gen.ready();
  const rates: Record<string, number[]> = {};
  const dropCases = [
    { name: "1 prefix", load: { peer: true } },
    { name: "100k prefixes", load: { v4: 100_000 } },
    { name: "1M prefixes", load: { v4: 1_000_000 } },
  ];
  for (let r = 0; r < reps; r++) {
    for (const c of dropCases) {
      await probe.call({ op: "load", ...c.load });
      await gen.go();
      await sleep(500);
      const a = await probe.call({ op: "blocked" });
      await sleep(seconds * 1000);
      const b = await probe.call({ op: "blocked" });
      await gen.pause();
      const mpps = (b.blocked - a.blocked) / (b.at - a.at) / 1000;
      (rates[c.name] ??= []).push(mpps);
      log(`XDP_DROP, blocked source, ${c.name}: ${mpps.toFixed(2)} Mpps`);
    }
    // The ceiling: bench/xdp_drop.c alone on the interface.
    await probe.call({ op: "detach" });
    const drop = new Proc("xdp_drop", [
      "taskset",
      "-c",
      APP_CPU,
      ...inNs(
        topo.dut,
        Deno.execPath(),
        "run",
        "-A",
        `${ROOT}bench/xdp_tool.ts`,
        "drop",
        "--iface",
        topo.dutIf,
        "--interval",
        "0.25",
      ),
    ], { stdin: true }); // it runs until its stdin ends
    await drop.waitFor(isJson, 30_000);
    await gen.go();
    await sleep(500);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const samples = drop.lines.filter((l) => isJson(l) && l.at >= t0).map((l) => ({
      at: l.at,
      n: JSON.parse(l.text).rx_packets as number,
    }));
    await gen.pause();
    await drop.closeStdin();
    await drop.stop("SIGINT");
    const first = samples[0], last = samples[samples.length - 1];
    const mpps = (last.n - first.n) / (last.at - first.at) / 1000;
    (rates["xdp_drop.c (count + XDP_DROP only)"] ??= []).push(mpps);
    log(`XDP_DROP, bench/xdp_drop.c: ${mpps.toFixed(2)} Mpps`);
  }
  result.xdp_drop_mpps = Object.fromEntries(
    Object.entries(rates).map(([k, v]) => [k, Math.round(median(v) * 100) / 100]),
  );
  await probe.call({ op: "quit" }).catch(() => {});
} finally {
  await gen?.quit().catch(() => {});
  await stopAll();
  await deleteTopology(topo);
}

const lr = result.load as Record<string, Record<string, number>>;
const lines = [
  `## Blocklist (reps ${reps}, medians)`,
  "",
  "| load path | prefixes | parse ms | insert ms | total ms | prefixes/s |",
  "|---|---|---|---|---|---|",
  ...Object.entries(lr).map(([k, v]) =>
    `| ${k.split(" ")[0]} | ${k.split(" ")[1]} | ${v.parse_ms?.toFixed(0) ?? "-"} | ${
      v.insert_ms?.toFixed(0) ?? "-"
    } | ${v.total_ms.toFixed(0)} | ${v.prefixes_per_s} |`
  ),
  "",
  "| BPF_PROG_RUN case | frame | ns per run |",
  "|---|---|---|",
  ...Object.entries(result.testrun_ns as Record<string, number>).map(([k, v]) =>
    `| ${k.replace(" | ", " | ")} | ${v} |`
  ),
  "",
  "| XDP_DROP on the veth, blocked source | Mpps |",
  "|---|---|",
  ...Object.entries(result.xdp_drop_mpps as Record<string, number>).map(([k, v]) =>
    `| ${k} | ${v} |`
  ),
];
console.log(lines.join("\n"));
if (flags.json) Deno.writeTextFileSync(flags.json, JSON.stringify(result, null, 2) + "\n");
