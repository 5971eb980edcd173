/**
 * Forwarding between two ports: byPassRT `--iface d0,d1 --mode fwd` against DPDK testpmd `io`
 * forwarding between two AF_XDP vdevs on the same two interfaces, same generator, same run.
 *
 * Topology (three namespaces of our own, IPv6 off, torn down at the end): gen --veth-- dut(d0)
 * and dut(d1) --veth-- sink. The generator (bench/xdp_tool.ts gen, CPU 0) sends 64-byte UDP
 * frames into d0; the contender (application side on CPU 1) forwards them out of d1; the
 * forwarded rate is the sink interface's own rx_packets counter over the window, the same
 * measure for both contenders. Rounds alternate the order.
 *
 * usage: bench/fwd.sh [--rounds R] [--warmup S] [--duration S] [--json FILE]  (as root; builds
 * the generator first, as bench/run.sh does)
 *
 * @module
 */
import { parseArgs } from "node:util";
import { inNs } from "../topology/veth.ts";
import { APP_CPU, bypassrt, Generator } from "./contenders.ts";
import { Proc, run, sleep, stopAll } from "./proc.ts";
import {
  createFwdTopology,
  deleteFwdTopology,
  fwdNames,
  ifaceCounter,
  median,
  type Started,
  withContender,
} from "./fwd_topology.ts";

const { values: a } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "2" },
    duration: { type: "string", default: "5" },
    json: { type: "string" },
  },
});
const rounds = Number(a.rounds), warmupS = Number(a.warmup), durationS = Number(a.duration);
const names = fwdNames(), { ns, ifs } = names;
const log = (s: string) => console.error(`[fwd bench] ${s}`);

/** The sink interface's received frames (the kernel's counter). */
const sinkRx = () => ifaceCounter(ns.snk, ifs.snk, "rx_packets");

/** testpmd `io` forwarding between two AF_XDP vdevs (ports 0 and 1 forward to each other). */
async function startTestpmd(): Promise<Proc> {
  const vdev = (k: number, iface: string) =>
    `--vdev net_af_xdp${k},iface=${iface},start_queue=0,queue_count=1,busy_budget=0`;
  const cmd = [
    "stdbuf -oL dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --no-huge -m 1024",
    `${vdev(0, ifs.d0)} ${vdev(1, ifs.d1)} --`,
    "--forward-mode=io --auto-start --stats-period 1 --burst=64 --rxd=2048 --txd=2048",
  ].join(" ");
  const proc = new Proc(
    "testpmd",
    inNs(ns.dut, "sh", "-c", `mount -t tmpfs bpf-dpdk /run && exec ${cmd}`),
    { stderrToo: true },
  );
  await proc.waitFor((l) => l.text.includes("NIC statistics for port"), 60000);
  return proc;
}

interface Result {
  contender: string;
  round: number;
  fwd_mpps: number | null;
  offered_mpps: number | null;
  error?: string;
}

async function measure(
  name: string,
  start: () => Promise<Started>,
  gen: Generator,
  round: number,
): Promise<Result> {
  const failed = (error: string): Result => ({
    contender: name,
    round,
    fwd_mpps: null,
    offered_mpps: null,
    error,
  });
  return await withContender<Result>(start, async () => {
    await gen.go();
    await sleep(warmupS * 1000);
    const t0 = performance.now(), r0 = await sinkRx();
    await sleep(durationS * 1000);
    const t1 = performance.now(), r1 = await sinkRx();
    const s = (t1 - t0) / 1000;
    const offered = (gen.valueAt(t1, "generated") - gen.valueAt(t0, "generated")) / s / 1e6;
    await gen.pause();
    return {
      contender: name,
      round,
      fwd_mpps: (r1 - r0) / s / 1e6,
      offered_mpps: offered,
    };
  }, failed);
}

const results: Result[] = [];
try {
  const { topo } = await createFwdTopology(names);
  const gen = new Generator(topo, 1 << 24);
  await gen.ready();
  log(`generator up (${gen.via})`);
  const contenders: [string, () => Promise<Started>][] = [
    [
      "byPassRT fwd",
      () => bypassrt.start("fwd", { ...topo, dutIf: `${ifs.d0},${ifs.d1}` }, { intervalS: 0.5 }),
    ],
    ["DPDK testpmd io", async () => {
      const p = await startTestpmd();
      return {
        async stop() {
          await p.stop("SIGINT", 15000);
          for (const i of [ifs.d0, ifs.d1]) {
            await run(["ip", "-n", ns.dut, "link", "set", i, "promisc", "off"], true);
          }
        },
      };
    }],
  ];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const [name, start] of order) {
      const r = await measure(name, start, gen, round);
      log(JSON.stringify(r));
      results.push(r);
    }
  }
  await gen.quit();
} finally {
  await stopAll();
  await deleteFwdTopology(names);
}
const summary: Record<string, number> = {};
for (const name of ["byPassRT fwd", "DPDK testpmd io"]) {
  summary[name] = median(
    results.filter((r) => r.contender === name && r.fwd_mpps !== null).map((r) => r.fwd_mpps!),
  );
}
const ratios = [...new Set(results.map((r) => r.round))].map((k) => {
  const x = results.find((r) => r.round === k && r.contender === "byPassRT fwd")?.fwd_mpps;
  const y = results.find((r) => r.round === k && r.contender === "DPDK testpmd io")?.fwd_mpps;
  return x && y ? x / y : NaN;
}).filter((x) => !Number.isNaN(x));
const out = {
  fwd_mpps_median: summary,
  ratio_bypassrt_vs_testpmd: median(ratios),
  results,
  APP_CPU,
};
console.log(
  `forwarding d0 -> d1, 64-byte frames, medians of ${rounds} rounds: byPassRT ${
    summary["byPassRT fwd"].toFixed(3)
  } Mpps, testpmd io ${summary["DPDK testpmd io"].toFixed(3)} Mpps, ratio ${
    out.ratio_bypassrt_vs_testpmd.toFixed(3)
  }`,
);
if (a.json) await Deno.writeTextFile(a.json, JSON.stringify(out, null, 2) + "\n");
