/**
 * Per-frame clock benchmark (`deno task bench:clock [--rounds N] [--seconds S] [--rate R]
 * [--json FILE]`, root). Builds its own two namespaces (bench/topology.ts), removes them at exit.
 *
 * 1. XDP-to-handler at a low rate: bench/paced_udp.py sends one 60-byte UDP frame every 1/R s
 *    (default 1000/s) for S s (default 8) from the generator namespace; byPassRT `--mode rxdrop`
 *    serves the device end with its Worker pinned (`--cpu 1`), busy-polling (default) and, as a
 *    comparison, sleeping in poll() when idle (`--poll-ms 1`); the final JSON's `latency` gives
 *    the distribution. byPassRT runs with its V8 flags (engine/v8_flags.ts; BPB_V8_FLAGS
 *    replaces them, BPB_BYPASSRT_ARGS adds run options, for A/B runs). Side by side, the C
 *    reference (bench/xsk_ref.c `--stamp`: our program with the stamp on, one CLOCK_MONOTONIC
 *    read per burst, the same histogram) busy-spins on the same CPU against the same generator.
 *    Each round runs every variant, in rotating order. `--only A,B` picks variants;
 *    `--no-loop` skips part 3.
 * 3. The loop's cost, in memory (no NIC): bench/engine_loop.ts `real` (engine/loop.ts with l2fwd
 *    on the fake kernel) against `clocked` (the same with the per-frame clock, every frame
 *    stamped: two records per frame, XDP-to-handler and XDP-to-TX), interleaved, pinned,
 *    with `--v8-flags=--trace-gc`: GC lines inside the timed section are counted.
 * 2. The XDP program's per-packet cost, kernel-measured: BPF_PROG_RUN (bpf_prog_test_run_opts,
 *    10^6 repeats) of bpf/xdp_steer.c loaded with the timestamp flag on and off (steering all,
 *    so the stamp is written; no socket: the redirect then fails to XDP_DROP, the same for both).
 *
 * The machine is shared (2 vCPUs, other engineers' jobs): every figure is from one run, with
 * rounds interleaved; the report says how busy the machine was.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createTopology, deleteTopology, inNs, topologyTag } from "./topology.ts";
import { foreignCpuNs, foreignDelta, Proc, run, sleep, stopAll } from "./proc.ts";
import { APP_CPU, BUILD, extraBypassrtArgs, GEN_CPU, v8Flags } from "./contenders.ts";
import { cSummary } from "./c_clock.ts";
import { loadXdpProgram } from "../engine/xdp_program.ts";
import { openLibbpf } from "../ffi/libbpf.ts";
import type { LatencySnapshot } from "../engine/latency_report.ts";
import type { LatencySummary } from "../engine/latency_histogram.ts";

const ROOT = new URL("../", import.meta.url).pathname;

if (Deno.args[0] === "testrun") {
  // Child mode, in the device namespace: one line of JSON per loaded variant.
  const [, iface, repeatS] = Deno.args;
  const repeat = Number(repeatS);
  const out: Record<string, number> = {};
  for (const on of [true, false]) {
    const prog = loadXdpProgram({
      iface,
      steering: { all: true, udpPorts: [], respondIp: 0 },
      timestamps: on,
    });
    try {
      out[on ? "on" : "off"] = testRun(prog.progId, repeat);
    } finally {
      prog.close();
    }
  }
  console.log(JSON.stringify(out));
  Deno.exit(0);
}

/** Average ns per run of program `id` over a 60-byte UDP frame, `repeat` times in the kernel. */
function testRun(id: number, repeat: number): number {
  const bpf = openLibbpf();
  const fn = Deno.dlopen("libbpf.so.1", {
    bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },
  });
  const fd = bpf.symbols.bpf_prog_get_fd_by_id(id);
  // Off V8's heap (small typed arrays may move): a 4 KiB buffer.
  const f = new Uint8Array(new ArrayBuffer(4096), 0, 60);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17]);
  f.set([10, 0, 0, 2, 10, 0, 0, 1, 0x4e, 0x20, 0x27, 0x0f, 0, 26], 26);
  const opts = new BigUint64Array(10); // struct bpf_test_run_opts, 80 bytes
  const u32 = new Uint32Array(opts.buffer);
  opts[0] = 80n;
  opts[1] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(f)));
  u32[6] = f.length; // data_size_in
  u32[15] = repeat; // repeat
  const r = fn.symbols.bpf_prog_test_run_opts(fd, new Uint8Array(opts.buffer));
  fn.close();
  bpf.close();
  if (r !== 0) throw new Error(`bpf_prog_test_run_opts: errno ${-r}`);
  return u32[16]; // duration (ns, average)
}

const { values: flags } = parseArgs({
  options: {
    "loop-packets": { type: "string", default: "4000000" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "8" },
    rate: { type: "string", default: "1000" },
    json: { type: "string" },
    only: { type: "string" },
    "no-loop": { type: "boolean", default: false },
  },
});
const rounds = Number(flags.rounds), seconds = Number(flags.seconds), rate = Number(flags.rate);
const log = (s: string) => console.error(`bench:clock: ${s}`);
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const us = (ns: number) => (ns / 1000).toFixed(2);

interface ClockRun {
  variant: string;
  round: number;
  sent: number;
  rate: number;
  rx: number;
  busy_share: number;
  xdp_to_handler: Omit<LatencySummary, "buckets"> & { buckets?: LatencySummary["buckets"] };
}

/** A variant's run options (byPassRT), or "C" for the C reference. */
const ALL_VARIANTS: [string, string[] | "C"][] = [
  ["busy-poll", []],
  ["C xsk_ref", "C"],
  ["poll-ms 1", ["--poll-ms", "1"]],
];
// A/B experiments: BPB_CLOCK_VARIANTS='[{"name": "...", "args": [...], "env": {...}, "v8": "..."}]'
// adds byPassRT variants with their own run options, environment and V8 flags.
interface ExtraVariant {
  name: string;
  args?: string[];
  env?: Record<string, string>;
  v8?: string;
}
const extraVariants: ExtraVariant[] = JSON.parse(Deno.env.get("BPB_CLOCK_VARIANTS") ?? "[]");
for (const x of extraVariants) ALL_VARIANTS.push([x.name, x.args ?? []]);
const only = flags.only?.split(",");
const VARIANTS = ALL_VARIANTS.filter(([v]) => only === undefined || only.includes(v));
if (VARIANTS.length === 0) {
  console.error(`bench:clock: --only names no variant (known: ${ALL_VARIANTS.map((v) => v[0])})`);
  Deno.exit(2);
}
const extraArgs = extraBypassrtArgs();
if (VARIANTS.some(([, x]) => x === "C")) {
  await run([
    ...["gcc", "-O2", "-g", "-Wall", "-Wextra", "-Werror", `${ROOT}bench/xsk_ref.c`],
    ...["-o", `${BUILD}xsk_ref`, "-lxdp", "-lbpf"],
  ]);
}

/** One engine_loop.ts run: ns per packet and GC lines in its timed section. */
async function loopRun(
  variant: string,
  packets: number,
): Promise<{ ns: number; gc: number; unstamped: number }> {
  const out = await run([
    // Line-buffered: the GC trace (C stdio) interleaves with the markers, as bench/engine.sh does.
    ...["taskset", "-c", APP_CPU, "stdbuf", "-oL", Deno.execPath(), "run", "-A"],
    "--v8-flags=--trace-gc",
    ...[`${ROOT}bench/engine_loop.ts`, String(packets), "64", variant],
  ]);
  const lines = out.split("\n");
  const b = lines.indexOf("== measure begin"), e = lines.indexOf("== measure end");
  const gc =
    lines.slice(b + 1, e).filter((l) => /^\[\d+:0x[0-9a-f]+\]\s+[\d.]+ ms: /.test(l)).length;
  const ns = Number(/ns_per_pkt=([\d.]+)/.exec(out)?.[1]);
  // Frames older than 4.3 s (a timed run that slow) are unstamped: a cheaper path; reported.
  const unstamped = Number(/unstamped=(\d+)/.exec(out)?.[1] ?? 0);
  return { ns, gc, unstamped };
}

const loopRuns: {
  round: number;
  real: number;
  clocked: number;
  gc_real: number;
  gc_clocked: number;
  unstamped: number;
}[] = [];
for (let round = 1; round <= (flags["no-loop"] ? 0 : rounds); round++) {
  const order = round % 2 ? ["real", "clocked"] : ["clocked", "real"];
  const r: Record<string, { ns: number; gc: number; unstamped: number }> = {};
  for (const v of order) r[v] = await loopRun(v, Number(flags["loop-packets"]));
  loopRuns.push({
    round,
    real: r.real.ns,
    clocked: r.clocked.ns,
    gc_real: r.real.gc,
    gc_clocked: r.clocked.gc,
    unstamped: r.clocked.unstamped,
  });
  log(
    `round ${round} loop (in memory, l2fwd): real ${r.real.ns} ns/pkt, clocked ${r.clocked.ns} ` +
      `ns/pkt (+${
        (r.clocked.ns - r.real.ns).toFixed(1)
      }); GC in timed section ${r.real.gc} / ${r.clocked.gc}`,
  );
}

const tag = topologyTag();
const topo = await createTopology(tag);
const runs: ClockRun[] = [];
let progCost: { on: number; off: number }[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    // Rotated each round, so no variant always runs first (or right after the same one).
    const k = (round - 1) % VARIANTS.length;
    const order = [...VARIANTS.slice(k), ...VARIANTS.slice(0, k)];
    for (const [variant, extra] of order) {
      const xv = extraVariants.find((x) => x.name === variant);
      for (const [k, v] of Object.entries(xv?.env ?? {})) Deno.env.set(k, v);
      // A variant's own flags (empty: V8's defaults), else byPassRT's as the benchmark runs it.
      const v8 = xv?.v8 === undefined ? v8Flags() : xv.v8 === "" ? [] : [`--v8-flags=${xv.v8}`];
      const proc = extra === "C"
        ? new Proc(variant, [
          ...["taskset", "-c", APP_CPU],
          ...inNs(topo.dut, `${BUILD}xsk_ref`, "--iface", topo.dutIf, "--mode", "rxdrop"),
          ...["--interval", "1", "--stamp", "--obj", `${BUILD}xdp_steer.o`],
        ])
        : new Proc("byPassRT", [
          ...inNs(topo.dut, Deno.execPath(), "run", "-A"),
          ...v8,
          ...[`${ROOT}cli/main.ts`, "--iface", topo.dutIf, "--mode", "rxdrop"],
          ...["--cpu", APP_CPU, "--json", "--interval", "1", ...extra, ...extraArgs],
        ]);
      for (const k of Object.keys(xv?.env ?? {})) Deno.env.delete(k);
      await proc.waitFor((l) => l.text.startsWith("{"), 30000);
      await sleep(500);
      const f0 = foreignCpuNs(), t0 = performance.now();
      // On the generator's CPU, away from the polling Worker's.
      const sender = new Proc("sender", [
        ...["taskset", "-c", GEN_CPU],
        ...inNs(
          topo.gen,
          "python3",
          `${ROOT}bench/paced_udp.py`,
          ...["--iface", topo.genIf, "--dst-mac", topo.dutMac],
          ...["--rate", String(rate), "--seconds", String(seconds)],
        ),
      ]);
      await sender.status;
      // CPU time of processes not ours (other engineers' jobs), as a share of the 2 vCPUs.
      const busy = foreignDelta(f0, foreignCpuNs()) / ((performance.now() - t0) * 1e6 * 2);
      await sleep(300);
      await proc.stop("SIGINT", 10000);
      const fin = proc.lines.map((l) => l.text).filter((t) => t.startsWith("{"))
        .map((t) => JSON.parse(t)).find((o) => o.final === true);
      if (!fin) throw new Error(`${variant} gave no final JSON: ${proc.stderr}`);
      const sent = JSON.parse(
        sender.lines.map((l) => l.text).filter((t) => t.startsWith("{")).pop()!,
      );
      let h: LatencySummary;
      if (extra === "C") {
        if (!fin.xdp_to_handler) throw new Error("xsk_ref --stamp gave no xdp_to_handler");
        h = cSummary(fin.xdp_to_handler);
      } else {
        const l = fin.latency as LatencySnapshot;
        if (!l.enabled) throw new Error("byPassRT ran without its per-frame clock");
        h = l.xdp_to_handler;
      }
      runs.push({
        variant,
        round,
        sent: sent.sent,
        rate: sent.rate,
        rx: extra === "C" ? fin.rx_packets : fin.total.rx_packets,
        busy_share: Math.round(busy * 1000) / 1000,
        xdp_to_handler: h,
      });
      log(
        `round ${round} ${variant}: ${h.count} frames (${sent.rate}/s, machine ` +
          `${Math.round(busy * 100)}% busy by others): p50 ${us(h.p50)} p90 ${us(h.p90)} ` +
          `p99 ${us(h.p99)} p99.9 ${us(h.p99_9)} max ${us(h.max)} us, unstamped ${h.unstamped}`,
      );
    }
    const cost = JSON.parse(
      (await run(inNs(
        topo.dut,
        Deno.execPath(),
        "run",
        "-A",
        `${ROOT}bench/clock.ts`,
        "testrun",
        topo.dutIf,
        "1000000",
      ))).trim(),
    );
    progCost.push(cost);
    log(
      `round ${round} XDP program, ns per frame (BPF_PROG_RUN): stamp on ${cost.on}, off ${cost.off}`,
    );
  }
} finally {
  await stopAll();
  await deleteTopology(topo);
}

const summary: Record<string, unknown> = {};
for (const [variant] of VARIANTS) {
  const rs = runs.filter((r) => r.variant === variant);
  const pick = (k: "p50" | "p90" | "p99" | "p99_9" | "max") => rs.map((r) => r.xdp_to_handler[k]);
  // Share of frames seen within 1.5 us (buckets wholly below 1536 ns), and the fastest bucket.
  const within = rs.map((r) => {
    const h = r.xdp_to_handler;
    const n = (h.buckets ?? []).filter((x) => x[1] <= 1536).reduce((a, x) => a + x[2], 0);
    return Math.round((n / Math.max(1, h.count)) * 1000) / 1000;
  });
  const fastest = rs.map((r) => r.xdp_to_handler.buckets?.[0]?.[0] ?? 0);
  summary[variant] = {
    share_within_1536ns: within,
    fastest_bucket_ns: fastest,
    p50_ns: pick("p50"),
    p90_ns: pick("p90"),
    p99_ns: pick("p99"),
    p99_9_ns: pick("p99_9"),
    max_ns: pick("max"),
    median_p50_ns: median(pick("p50")),
    median_p99_ns: median(pick("p99")),
  };
  console.log(
    `${variant}: XDP->handler p50 per round ${pick("p50").map(us).join(", ")} us; p99 ` +
      `${pick("p99").map(us).join(", ")} us; p99.9 ${pick("p99_9").map(us).join(", ")} us; ` +
      `share within 1.5 us ${within.join(", ")}; fastest bucket from ${fastest.join(", ")} ns`,
  );
}
progCost = progCost.filter((c) => c.on > 0);
console.log(
  `XDP program ns/frame (BPF_PROG_RUN, 10^6 repeats): stamp on ${
    progCost.map((c) => c.on).join(", ")
  }; off ${progCost.map((c) => c.off).join(", ")}`,
);
if (loopRuns.length > 0) {
  console.log(
    `loop ns/pkt (in memory, l2fwd, per round): real ${loopRuns.map((r) => r.real).join(", ")}; ` +
      `clocked ${loopRuns.map((r) => r.clocked).join(", ")}; added (median) ${
        median(loopRuns.map((r) => r.clocked - r.real)).toFixed(1)
      }; GC events in timed sections ${loopRuns.reduce((a, r) => a + r.gc_clocked, 0)} (clocked)`,
  );
}
if (flags.json) {
  await Deno.writeTextFile(
    flags.json,
    JSON.stringify(
      { rate, seconds, rounds, summary, program_ns: progCost, loop: loopRuns, runs },
      null,
      1,
    ) + "\n",
  );
}
