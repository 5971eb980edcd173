/**
 * Blocklist benchmark (`deno task bench:blocklist [--reps N] [--seconds S] [--json FILE]`):
 *
 * 1. Load speed, prefixes per second. In the probe (the library, parse and insert timed apart):
 *    100,000 and 1,000,000 prefixes through the code of Engine.blockAddMany (parse each string,
 *    one batched insert) and of --block-file (read and parse the file, insert). On a running
 *    engine (busy-polling Worker beside it), through the real paths: Engine.blockAddMany
 *    in-process (100,000); `block add` requests on a CLI run's control socket, as many prefixes
 *    per request as fit under the 64 KiB line cap (100,000 and 1,000,000); a CLI run started
 *    with --block-file (time to its first report line less the same start without a list).
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
import { ControlClient } from "../engine/control_client.ts";
import { MAX_LINE_BYTES } from "../engine/control_protocol.ts";
import { benchPrefixes } from "./blocklist_prefixes.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CLI = `${ROOT}cli/main.ts`;
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
  /** `pinned`: on the app CPU (the BPF_PROG_RUN and XDP_DROP measures). */
  constructor(ns: string, iface: string, pinned = true) {
    this.proc = new Proc("probe", [
      ...(pinned ? ["taskset", "-c", APP_CPU] : []),
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

/**
 * A CLI run on `iface` in `ns` (rxdrop, steering none, `--json`) with `extra` flags, once it is
 * up: its first report line arrives after the engine started (and its control socket opened).
 * `startMs`: from spawn to that line.
 */
async function cliRun(
  ns: string,
  iface: string,
  extra: string[],
): Promise<{ proc: Proc; startMs: number }> {
  const proc = new Proc("bypassrt", [
    ...inNs(ns, Deno.execPath(), "run", "-A", CLI, "--iface", iface, "--mode", "rxdrop"),
    ...["--steer", "none", "--json", "--interval", "60", ...extra],
  ]);
  const first = await proc.waitFor(isJson, 600_000);
  return { proc, startMs: first.at - proc.started };
}

/**
 * Block `list` on the run serving `iface` through its control socket: `block add` requests of
 * as many prefixes as fit in one line under the cap (what `bypassrt ctl block add` sends).
 * Checks every reply and the final count; the time from the first request to the last reply.
 */
async function ctlLoad(iface: string, list: string[]): Promise<number> {
  const c = await ControlClient.connect(iface);
  try {
    const t0 = performance.now();
    let added = 0;
    for (let i = 0; i < list.length;) {
      // {"id":N,"cmd":"block add","args":[...]}: each prefix costs its quoted length + a comma.
      let bytes = 64, j = i;
      while (j < list.length && bytes + list[j].length + 3 <= MAX_LINE_BYTES) {
        bytes += list[j++].length + 3;
      }
      const reply = await c.request("block add", list.slice(i, j));
      if (!reply.ok) throw new Error(`block add: ${reply.error}`);
      added += (reply.result as { added: number }).added;
      i = j;
    }
    const ms = performance.now() - t0;
    const s = await c.request("stats");
    const prefixes = s.ok && (s.result as { blocklist: { prefixes: number } }).blocklist.prefixes;
    if (added !== list.length || prefixes !== list.length) {
      throw new Error(`ctl load: ${added} added, ${prefixes} in the list, of ${list.length}`);
    }
    return ms;
  } finally {
    c.close();
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
  // The same loads on a running engine, through the real paths (rxdrop, steering none, one
  // busy-polling Worker): Engine.blockAddMany in-process (a second probe, not pinned, like the
  // CLI runs below); a CLI run and `block add` requests of many prefixes on its control socket,
  // each line under the 64 KiB cap (what `bypassrt ctl block add` sends); a CLI run started with
  // --block-file (time to its first report line, less the same start without a list).
  await probe.call({ op: "detach" }); // the probe's program comes off the interface
  const engineProbe = new Probe(topo.dut, topo.dutIf, false);
  await engineProbe.ready();
  const live: Record<string, number[]> = {};
  const files = new Map<number, string>();
  const lists = new Map<number, string[]>();
  for (const n of [100_000, 1_000_000]) {
    lists.set(n, benchPrefixes(n, 0));
    const file = await Deno.makeTempFile({ prefix: "bpb-blocklist-", suffix: ".txt" });
    await Deno.writeTextFile(file, "# benchmark list\n" + lists.get(n)!.join("\n") + "\n");
    files.set(n, file);
  }
  try {
    for (let r = 0; r < reps; r++) {
      const o = await engineProbe.call({ op: "engine", v4: 100_000 });
      (live["engine 100000"] ??= []).push(o.ms);
      log(`Engine.blockAddMany 100000 in-process on a running engine: ${o.ms.toFixed(0)} ms`);
      for (const n of [100_000, 1_000_000]) {
        const plain = await cliRun(topo.dut, topo.dutIf, []);
        try {
          (live.start ??= []).push(plain.startMs);
          const ms = await ctlLoad(topo.dutIf, lists.get(n)!);
          (live[`ctl ${n}`] ??= []).push(ms);
          log(`ctl block add ${n} (requests < 64 KiB) on a CLI run: ${ms.toFixed(0)} ms`);
        } finally {
          await plain.proc.stop("SIGINT");
        }
        const withFile = await cliRun(topo.dut, topo.dutIf, ["--block-file", files.get(n)!]);
        await withFile.proc.stop("SIGINT");
        (live[`file-start ${n}`] ??= []).push(withFile.startMs);
        log(
          `CLI start with --block-file ${n}: ${withFile.startMs.toFixed(0)} ms ` +
            `(without: ${plain.startMs.toFixed(0)} ms)`,
        );
      }
    }
  } finally {
    await engineProbe.call({ op: "quit" }).catch(() => {});
    for (const f of files.values()) await Deno.remove(f).catch(() => {});
  }
  const start = median(live.start);
  const total = (n: number, ms: number) => ({
    total_ms: ms,
    prefixes_per_s: Math.round(n / ms * 1000),
  });
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
    "engine 100000": total(100_000, median(live["engine 100000"])),
    ...Object.fromEntries([100_000, 1_000_000].flatMap((n) => [
      [`ctl ${n}`, total(n, median(live[`ctl ${n}`]))],
      [`--block-file ${n}`, {
        start_ms: median(live[`file-start ${n}`]),
        start_without_ms: start,
        ...total(n, median(live[`file-start ${n}`]) - start),
      }],
    ])),
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

const LOAD_PATHS: Record<string, string> = {
  strings: "library: Engine.blockAddMany's code (parse strings, batch insert)",
  file: "library: --block-file's code (read file, parse, insert)",
  engine: "Engine.blockAddMany in-process, running engine",
  ctl: "block add on a CLI run's control socket, < 64 KiB per request",
  "--block-file": "CLI run started with --block-file",
};
const lr = result.load as Record<string, Record<string, number>>;
const lines = [
  `## Blocklist (reps ${reps}, medians)`,
  "",
  "| load path | prefixes | parse ms | insert ms | total ms | prefixes/s |",
  "|---|---|---|---|---|---|",
  ...Object.entries(lr).map(([k, v]) => {
    const [via, n] = k.split(" ");
    const what = LOAD_PATHS[via] +
      (v.start_ms === undefined
        ? ""
        : ` (start ${v.start_ms.toFixed(0)} ms, without ${v.start_without_ms.toFixed(0)} ms)`);
    return `| ${what} | ${n} | ${v.parse_ms?.toFixed(0) ?? "-"} | ${
      v.insert_ms?.toFixed(0) ?? "-"
    } | ${v.total_ms.toFixed(0)} | ${v.prefixes_per_s} |`;
  }),
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
