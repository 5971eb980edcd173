/**
 * Forwarding jumbo frames between two ports: byPassRT `--iface d0,d1 --mode fwd` with MTU 9000
 * on every end (multi-buffer AF_XDP sockets, the frags-aware program in native mode) against the
 * kernel's own bridge between the same two veths (no XDP, no AF_XDP), same generator, rounds
 * alternating the order. DPDK 22.11's AF_XDP driver (the testpmd contender of `bench/fwd.ts`)
 * has no multi-buffer support, so it is not run here.
 *
 * Topology (three namespaces of our own, IPv6 off, torn down at the end): gen --veth-- dut(d0)
 * and dut(d1) --veth-- sink, MTU 9000. The generator is `bench/jumbo_gen.c` (AF_PACKET sendmmsg
 * of one SIZE-byte UDP frame, CPU 0): the live-frames XDP generator cannot send frames larger
 * than a page. The forwarded rate is the sink interface's own rx_packets over the window; the
 * offered rate the generator veth's tx_packets.
 *
 * usage: bench/fwd.sh --jumbo [--size B] [--rounds R] [--warmup S] [--duration S] [--json FILE]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { inNs } from "../topology/veth.ts";
import { APP_CPU, bypassrt } from "./contenders.ts";
import { Proc, run, sleep, stopAll } from "./proc.ts";
import {
  createFwdTopology,
  deleteFwdTopology,
  fwdNames,
  ifaceCounter as counter,
  median,
  type Started,
  withContender,
} from "./fwd_topology.ts";

const { values: a } = parseArgs({
  options: {
    jumbo: { type: "boolean" },
    size: { type: "string", default: "9000" },
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "2" },
    duration: { type: "string", default: "5" },
    json: { type: "string" },
  },
});
const size = Number(a.size), rounds = Number(a.rounds);
const warmupS = Number(a.warmup), durationS = Number(a.duration);
const names = fwdNames(), { ns, ifs } = names;
const log = (s: string) => console.error(`[fwd jumbo bench] ${s}`);
const ROOT = new URL("../", import.meta.url).pathname;

/** The kernel's bridge between d0 and d1 (the reference), removed again by `stop`. */
async function startBridge(): Promise<{ stop(): Promise<unknown> }> {
  const ip = (...x: string[]) => run(["ip", "-n", ns.dut, ...x]);
  await ip("link", "add", "bpbbr", "type", "bridge");
  await ip("link", "set", "bpbbr", "mtu", "9000");
  for (const d of [ifs.d0, ifs.d1]) await ip("link", "set", d, "master", "bpbbr");
  await ip("link", "set", "bpbbr", "up");
  return {
    async stop() {
      for (const d of [ifs.d0, ifs.d1]) await ip("link", "set", d, "nomaster");
      await ip("link", "del", "bpbbr");
    },
  };
}

interface Result {
  contender: string;
  round: number;
  fwd_kpps: number | null;
  fwd_gbps: number | null;
  offered_kpps: number | null;
  error?: string;
}

async function measure(
  name: string,
  start: () => Promise<Started>,
  dstMac: string,
  round: number,
): Promise<Result> {
  const failed = (error: string): Result => ({
    contender: name,
    round,
    fwd_kpps: null,
    fwd_gbps: null,
    offered_kpps: null,
    error,
  });
  return await withContender<Result>(start, async () => {
    const gen = new Proc("jumbo_gen", [
      "taskset",
      "-c",
      "0",
      ...inNs(
        ns.gen,
        `${ROOT}build/jumbo_gen`,
        ifs.gen,
        dstMac,
        String(size),
        String(warmupS + durationS + 1),
      ),
    ]);
    await sleep(warmupS * 1000);
    const t0 = performance.now();
    const r0 = await counter(ns.snk, ifs.snk, "rx_packets");
    const g0 = await counter(ns.gen, ifs.gen, "tx_packets");
    await sleep(durationS * 1000);
    const t1 = performance.now();
    const r1 = await counter(ns.snk, ifs.snk, "rx_packets");
    const g1 = await counter(ns.gen, ifs.gen, "tx_packets");
    await gen.status;
    const s = (t1 - t0) / 1000;
    const pps = (r1 - r0) / s;
    return {
      contender: name,
      round,
      fwd_kpps: pps / 1e3,
      fwd_gbps: pps * size * 8 / 1e9,
      offered_kpps: (g1 - g0) / s / 1e3,
    };
  }, failed);
}

const results: Result[] = [];
try {
  await run([
    "gcc",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-o",
    `${ROOT}build/jumbo_gen`,
    `${ROOT}bench/jumbo_gen.c`,
  ]);
  const { topo, sinkMac } = await createFwdTopology(names, { mtu: 9000 });
  const contenders: [string, () => Promise<Started>][] = [
    [
      "byPassRT fwd",
      () => bypassrt.start("fwd", { ...topo, dutIf: `${ifs.d0},${ifs.d1}` }, { intervalS: 0.5 }),
    ],
    ["kernel bridge", startBridge],
  ];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const [name, start] of order) {
      // To the sink's MAC: the bridge forwards it (a frame to d0's own MAC would stay local).
      const r = await measure(name, start, sinkMac, round);
      log(JSON.stringify(r));
      results.push(r);
    }
  }
} finally {
  await stopAll();
  await deleteFwdTopology(names);
}
const summary: Record<string, number> = {};
for (const name of ["byPassRT fwd", "kernel bridge"]) {
  summary[name] = median(
    results.filter((r) => r.contender === name && r.fwd_kpps !== null).map((r) => r.fwd_kpps!),
  );
}
const out = { size, fwd_kpps_median: summary, results, APP_CPU };
console.log(
  `forwarding d0 -> d1, ${size}-byte frames, MTU 9000, medians of ${rounds} rounds: byPassRT ${
    summary["byPassRT fwd"].toFixed(1)
  } kpps (${(summary["byPassRT fwd"] * size * 8 / 1e6).toFixed(2)} Gbit/s), kernel bridge ${
    summary["kernel bridge"].toFixed(1)
  } kpps`,
);
if (a.json) await Deno.writeTextFile(a.json, JSON.stringify(out, null, 2) + "\n");
