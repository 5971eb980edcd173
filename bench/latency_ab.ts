/**
 * Interleaved A/B latency rounds for byPassRT variants against the C reference: the benchmark's
 * own rounds ({@link latencyRounds}: the same probe, warm-up, rotation and statistics as
 * `deno task bench`), with UDP round trips through l2fwd and, with `--ping`, pings through
 * respond. For investigating per-frame latency; prints each round as it goes and the per-round
 * p50/p99 of every variant at the end. Needs `build/rtt_probe` and `build/xsk_ref`: a
 * `deno task bench` run builds them (or the two gcc lines of bench/run.sh).
 *
 *   deno run -A bench/latency_ab.ts [--rounds 4] [--count 2000] [--ping] [--gap-us 1000]
 *     [--trace FILE.data]         (perf-record kernel tracepoints meanwhile and print, per
 *                                  run, where a round trip's time went: bench/trace_join.ts)
 *     [--trace-light]             (with --trace: no system-call tracepoints, which slow every
 *                                  system call while recording; XDP to answer, no kick split)
 *     [--variant NAME=ARGS ...]   (byPassRT variants; ARGS go to BPB_BYPASSRT_ARGS, except
 *                                  words `v8:FLAG`, which replace byPassRT's V8 flags through
 *                                  BPB_V8_FLAGS; `v8:-` alone: V8's defaults; words
 *                                  `env:K=V` set K=V in byPassRT's environment, e.g.
 *                                  `env:BPB_BYPASSRT_ROOT=/path/to/other/checkout/` runs
 *                                  byPassRT from another checkout: two commits side by side)
 *
 * Without `--variant`: `bypassrt` (no extra args) and `c`. `--variant c` includes the C
 * reference next to named variants, `--variant ts` the C reference's loop in TypeScript
 * (`bench/ts_ref.ts`: the runtime without byPassRT's engine, its kick kept warm while idle as
 * byPassRT's is), `--variant ts-cold` the same without keeping the kick warm, `--variant c2`
 * the C reference once more under another name (an A/A pair: how far one program's rounds
 * differ from themselves), `--variant cstamp` the C reference with byPassRT's per-frame clock
 * (`xsk_ref --stamp`: what the clock costs C), `--variant tsstamp` the TypeScript loop with
 * byPassRT's own per-frame clock (`ts_ref --stamp`: byPassRT's loop against the bare one, both
 * timed by the same clock code).
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  bypassrt,
  type Contender,
  cref,
  crefAgain,
  crefStamp,
  tsref,
  tsrefCold,
  tsrefStamp,
} from "./contenders.ts";
import { stopAll } from "./proc.ts";
import { createTopology, deleteTopology, topologyTag } from "./topology.ts";
import { type LatencyEntry, latencyPlan, latencyRounds } from "./latency.ts";
import { havePerf, startTrace, type Trace } from "./trace_run.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "4" },
    count: { type: "string", default: "2000" },
    ping: { type: "boolean", default: false },
    "gap-us": { type: "string", default: "1000" },
    trace: { type: "string" },
    "trace-light": { type: "boolean", default: false },
    variant: { type: "string", multiple: true },
  },
});
const rounds = Number(values.rounds), count = Number(values.count);

/** Every environment variable some variant sets (`env:K=V`). */
const envKeys = new Set<string>();

/** byPassRT started with extra run options and V8 flags (through the bench's env hooks). */
function variant(name: string, args: string): Contender {
  const words = args.split(" ").filter((w) => w !== "");
  const v8 = words.filter((w) => w.startsWith("v8:")).map((w) => w.slice(3));
  const env = words.filter((w) => w.startsWith("env:")).map((w) => w.slice(4).split("="));
  for (const [k] of env) envKeys.add(k);
  return {
    ...bypassrt,
    name,
    start(mode, topo, opts) {
      const args = words.filter((w) => !w.startsWith("v8:") && !w.startsWith("env:"));
      Deno.env.set("BPB_BYPASSRT_ARGS", args.join(" "));
      // Only this variant's environment: what another variant set goes.
      for (const k of envKeys) Deno.env.delete(k);
      for (const [k, v] of env) Deno.env.set(k, v);
      if (v8.length > 0) Deno.env.set("BPB_V8_FLAGS", v8.filter((f) => f !== "-").join(","));
      else Deno.env.delete("BPB_V8_FLAGS");
      return bypassrt.start(mode, topo, opts);
    },
  };
}

const contenders: Contender[] = (values.variant ?? ["bypassrt=", "c"]).map((v) => {
  if (v === "c") return cref;
  if (v === "c2") return crefAgain;
  if (v === "cstamp") return crefStamp;
  if (v === "ts") return tsref;
  if (v === "ts-cold") return tsrefCold;
  if (v === "tsstamp") return tsrefStamp;
  const eq = v.indexOf("=");
  return eq < 0 ? variant(v, "") : variant(v.slice(0, eq), v.slice(eq + 1));
});
const entries: LatencyEntry[] = contenders.flatMap((c) => [
  { kind: "udp" as const, name: c.name, contender: c },
  ...(values.ping ? [{ kind: "ping" as const, name: c.name, contender: c }] : []),
]);
const plan = latencyPlan(false, {
  rounds,
  pingCount: count * rounds,
  rttCount: count * rounds,
  gapUs: Number(values["gap-us"]),
});

if (values.trace !== undefined && !(await havePerf())) {
  console.error(
    "latency_ab: --trace needs perf: install linux-perf " +
      "(BYPASSRT_BENCH_DEPS=1 bash scripts/install-deps.sh)",
  );
  Deno.exit(2);
}
const topo = await createTopology(topologyTag());
// Ctrl-C or SIGTERM: stop the contenders and remove the namespaces before leaving.
const onSignal = async () => {
  await stopAll();
  await deleteTopology(topo);
  Deno.exit(130);
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
let trace: Trace | undefined;
try {
  if (values.trace !== undefined) trace = await startTrace(values.trace, values["trace-light"]);
  const doc = await latencyRounds(topo, entries, plan, console.log, () => Promise.resolve());
  if (trace !== undefined) {
    const runs = doc.rounds!.flatMap((r) => r.order.map((o) => `round ${r.round} ${o}`));
    const t = trace;
    trace = undefined;
    for (const line of await t.report(runs, count)) console.log(line);
  }
  for (const kind of ["udp", "ping"] as const) {
    for (const e of entries.filter((x) => x.kind === kind)) {
      const per = doc.rounds!.map((r) => r[kind][e.name]);
      console.log(
        `${e.name.padEnd(12)} ${kind} p50 ${per.map((s) => s?.p50_us).join(" ")} | p99 ${
          per.map((s) => s?.p99_us).join(" ")
        }`,
      );
    }
  }
  // The per-frame clock of each run's measured round trips (XDP stamp to handler, to TX), when
  // the contender has one.
  type H = { p50: number; p99: number; count: number };
  for (const f of doc.per_frame ?? []) {
    const l = f.latency as { enabled?: boolean; xdp_to_handler?: H; xdp_to_tx?: H };
    if (!l.enabled || !l.xdp_to_handler || !l.xdp_to_tx) continue;
    const us = (ns: number) => (ns / 1000).toFixed(2);
    console.log(
      `${f.contender.padEnd(12)} ${f.kind} round ${f.round} per frame: XDP->handler p50 ${
        us(l.xdp_to_handler.p50)
      } p99 ${us(l.xdp_to_handler.p99)} us, XDP->TX p50 ${us(l.xdp_to_tx.p50)} p99 ${
        us(l.xdp_to_tx.p99)
      } us (${l.xdp_to_handler.count} frames)`,
    );
  }
} finally {
  await trace?.stop();
  await stopAll();
  await deleteTopology(topo);
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}
