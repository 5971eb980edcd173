/**
 * Latency: ping round trips (byPassRT `respond`, the C reference `respond`, the kernel answering
 * itself) and UDP round trips through a MAC-swapping forwarder (byPassRT l2fwd, the C reference
 * l2fwd, testpmd macswap), all in one run, interleaved in rounds: in each round every contender
 * is started, warmed up with the same number of round trips, paused, measured, and stopped, in
 * an order that changes every round (rotated, and reversed every other round: see `rotation`). The
 * generator is paused; the probe (bench/rtt_probe.c) runs in the generator namespace on the
 * generator's CPU, the contenders on the application CPU.
 * The statistics and verdicts are in bench/latency_stats.ts.
 *
 * @module
 */
import { type Contender, GEN_CPU } from "./contenders.ts";
import { clockBetween } from "./frame_window.ts";
import { inNs, type Topology } from "./topology.ts";
import { cpuStatNs, foreignCpuNs, foreignDelta, type Proc, run, sleep } from "./proc.ts";
import {
  LATENCY_SPLITS,
  type LatencyKind,
  type LatencyRound,
  perRound,
  pooled,
  rotation,
  roundSpread,
  type RttStats,
  rttStats,
  type Spread,
  type Verdict,
  verdicts,
} from "./latency_stats.ts";

export type { RttStats } from "./latency_stats.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DUT_IP = "10.0.0.1";

/** How the latency part runs. */
export interface LatencyPlan {
  /** Rounds; every contender is measured once per round. */
  rounds: number;
  /** Ping samples per responder over all rounds. */
  pingCount: number;
  /** UDP round trips per forwarder over all rounds. */
  rttCount: number;
  /** Round trips before measuring, in every round, the same for every contender. */
  warmup: number;
  /** Gap between warm-up round trips (us). */
  warmupGapUs: number;
  /** Gap between measured round trips (us): 1000 = 1000 frames/s, sparse frames. */
  gapUs: number;
}

/** One latency contender: what it is measured with and how it is started. */
export interface LatencyEntry {
  kind: LatencyKind;
  name: string;
  /** The contender (started in `respond` for ping, `l2fwd` for UDP); undefined = the kernel. */
  contender?: Contender;
}

/** The latency part of the benchmark's JSON. */
export interface LatencyDoc {
  /** Pooled statistics (every round's samples together) per contender. */
  ping: Record<string, RttStats>;
  udp: Record<string, RttStats>;
  method?: LatencyPlan & {
    probe: string;
    timed: string;
    /** Untimed round trips at the measured gap first ({@link LEAD_IN}; absent before it). */
    lead_in?: number;
    /** Pause between warm-up and measurement, ms ({@link WINDOW_PAUSE_MS}; absent before it). */
    window_pause_ms?: number;
  };
  /** Each round's statistics, with the raw samples (`samples_us`). */
  rounds?: LatencyRound[];
  spread?: Record<LatencyKind, Record<string, Spread>>;
  verdicts?: Verdict[];
  /**
   * Where byPassRT's distance to C lies (not targets, judged the same way; see
   * `LATENCY_SPLITS`): the runtime, the engine, the per-frame clock, the A/A noise; a row whose
   * contenders did not run is left out.
   */
  splits?: Verdict[];
  /**
   * Per-frame figures a contender reports itself (byPassRT: the `"latency"` object of its
   * `--json` reports; the C reference with `--stamp`: its histograms), per run, over the measured
   * round trips only (the final report's histograms minus those of the report printed between
   * warm-up and measurement: bench/frame_window.ts), when it has them (absent otherwise).
   */
  per_frame?: { contender: string; kind: LatencyKind; round: number; latency: unknown }[];
}

/** What the probe timed (for the report and BENCHMARKS.md). */
export const TIMED = "veth TX software timestamp of the request to the RX software timestamp of " +
  "the answer in the generator namespace (SO_TIMESTAMPING): the probe's own system calls and " +
  "wake-up are not included; user-space times (send() to recvmsg()) kept as user_p50/user_p99; " +
  "the benchmark's own threads on the generator's CPU meanwhile";

/** The plan for a full or a --quick run. Quick: fewer rounds and samples, the same warm-up. */
export function latencyPlan(
  quick: boolean,
  o: { rounds?: number; pingCount?: number; rttCount?: number; warmup?: number; gapUs?: number },
): LatencyPlan {
  return {
    rounds: o.rounds ?? (quick ? 2 : 5),
    pingCount: o.pingCount ?? (quick ? 200 : 2000),
    rttCount: o.rttCount ?? (quick ? 200 : 2000),
    warmup: o.warmup ?? 5000,
    warmupGapUs: 10,
    gapUs: o.gapUs ?? 1000,
  };
}

/** The probe's JSON line. */
interface ProbeOut {
  samples: number;
  lost: number;
  /** It stopped early: no answer to 100 round trips in a row (the contender is gone). */
  gave_up?: boolean;
  tx_fallback: number;
  rtt_ns: number[];
  user_rtt_ns: number[];
}

/** Run bench/rtt_probe (built by bench/run.sh) in the generator namespace on the generator CPU. */
async function probe(
  topo: Topology,
  kind: LatencyKind,
  count: number,
  plan: LatencyPlan,
): Promise<RttStats> {
  const f0 = foreignCpuNs(), steal0 = cpuStatNs().steal, t0 = performance.now();
  const out = await run([
    "taskset",
    "-c",
    GEN_CPU,
    ...inNs(
      topo.gen,
      `${ROOT}build/rtt_probe`,
      "--iface",
      topo.genIf,
      "--dst-mac",
      topo.dutMac,
      "--kind",
      kind === "ping" ? "icmp" : "udp",
      "--count",
      String(count),
      "--warmup",
      String(plan.warmup),
      "--warmup-gap-us",
      String(plan.warmupGapUs),
      "--gap-us",
      String(plan.gapUs),
    ),
  ]);
  const wallNs = (performance.now() - t0) * 1e6;
  const noise = (foreignDelta(f0, foreignCpuNs()) + cpuStatNs().steal - steal0) / wallNs / 2;
  const p = JSON.parse(out.trim().split("\n").at(-1)!) as ProbeOut;
  const us = p.rtt_ns.map((n) => n / 1000);
  const user = rttStats(p.user_rtt_ns.map((n) => n / 1000), 0);
  return {
    ...rttStats(us, p.lost),
    user_p50_us: user.p50_us,
    user_p99_us: user.p99_us,
    tx_fallback: p.tx_fallback,
    foreign_cpu_share: Math.round(noise * 1000) / 1000,
    samples_us: us,
    ...(p.gave_up
      ? { error: "no answer to 100 round trips in a row: the contender stopped answering" }
      : {}),
  };
}

/** One contender's share of one round. */
async function measure(
  topo: Topology,
  e: LatencyEntry,
  count: number,
  plan: LatencyPlan,
): Promise<
  { stats: RttStats; final?: Record<string, unknown>; start?: Record<string, unknown> }
> {
  if (!e.contender) {
    // The kernel answers: the device namespace owns 10.0.0.1, no XDP program.
    await run(["ip", "-n", topo.dut, "addr", "add", `${DUT_IP}/24`, "dev", topo.dutIf]);
    try {
      await sleep(100);
      await warmUp(topo, e.kind, plan);
      return { stats: await probe(topo, e.kind, count, measuredPlan(plan)) };
    } finally {
      await run(["ip", "-n", topo.dut, "addr", "del", `${DUT_IP}/24`, "dev", topo.dutIf], true);
    }
  }
  const why = await e.contender.unavailable();
  if (why) return { stats: { samples: 0, lost: 0, skipped: why } };
  const mode = e.kind === "ping" ? "respond" : "l2fwd";
  let r;
  try {
    r = await e.contender.start(mode, topo, { intervalS: 1, ip: DUT_IP });
  } catch (err) {
    return { stats: { samples: 0, lost: 0, error: (err as Error).message } };
  }
  let stats: RttStats;
  let start: Record<string, unknown> | undefined;
  try {
    start = await warmUp(topo, e.kind, plan, r.proc);
    stats = await probe(topo, e.kind, count, measuredPlan(plan));
  } catch (err) {
    stats = { samples: 0, lost: count, error: (err as Error).message.slice(0, 300) };
  }
  const final = await r.stop();
  return { stats, final, start };
}

/**
 * Round trips of the measured probe run sent before its first timed one, at the measured gap:
 * the probe's own first frames then run warm, and the contender sees only frames at the measured
 * rate after its window's start (these few are in its per-frame window).
 */
export const LEAD_IN = 20;

/**
 * Pause between the warm-up and the measured round trips (ms), the same for every contender (the
 * kernel too): a contender reports every second, so within it a clocked one prints the report
 * whose per-frame histograms are the measured window's start (bench/frame_window.ts).
 */
export const WINDOW_PAUSE_MS = 1100;

/** The plan of the measured probe run: {@link LEAD_IN} round trips first, at the measured gap. */
function measuredPlan(plan: LatencyPlan): LatencyPlan {
  return { ...plan, warmup: LEAD_IN, warmupGapUs: plan.gapUs };
}

/**
 * Warm the contender up (`plan.warmup` round trips, `plan.warmupGapUs` apart, a probe run of
 * its own) and pause {@link WINDOW_PAUSE_MS}. Returns `proc`'s first report printed after the
 * warm-up (none for the kernel, or a contender without reports): the start of its per-frame
 * window.
 */
async function warmUp(
  topo: Topology,
  kind: LatencyKind,
  plan: LatencyPlan,
  proc?: Proc,
): Promise<Record<string, unknown> | undefined> {
  if (plan.warmup > 0) {
    await probe(topo, kind, plan.warmup, { ...plan, warmup: 0, gapUs: plan.warmupGapUs });
  }
  const after = performance.now();
  await sleep(WINDOW_PAUSE_MS);
  if (proc === undefined) return undefined;
  const line = proc.lines.find((l) => l.at >= after && isReport(l.text));
  if (line === undefined) return undefined;
  return JSON.parse(line.text) as Record<string, unknown>;
}

/** A periodic NDJSON report (byPassRT `--json`, xsk_ref, ts_ref), not the final one. */
function isReport(text: string): boolean {
  return text.startsWith("{") && text.includes('"final":false');
}

/**
 * Run every entry once per round (order rotated, and reversed every other round) and return the
 * document part: per-round figures with raw samples, pooled figures, the spread between rounds,
 * the verdicts.
 * Meanwhile the benchmark's own threads stay on the generator's CPU ({@link GEN_CPU}).
 */
export async function latencyRounds(
  topo: Topology,
  entries: readonly LatencyEntry[],
  plan: LatencyPlan,
  log: (msg: string) => void,
  pause: () => Promise<void>,
): Promise<LatencyDoc> {
  return await onCpu(GEN_CPU, () => runRounds(topo, entries, plan, log, pause));
}

/** This process's CPU list now (`taskset -cp`: "pid N's current affinity list: 0,1"). */
async function affinity(): Promise<string> {
  const out = await run(["taskset", "-cp", String(Deno.pid)]);
  return out.slice(out.lastIndexOf(":") + 1).trim();
}

/**
 * Run `f` with every thread of this process (the benchmark itself) on `cpu`, then put them back.
 * The benchmark's own work (reading the contenders' NDJSON, its timers) otherwise lands on the
 * contenders' CPU now and then and preempts the one under test: in a scheduler trace of a latency
 * run, 8 of byPassRT's 90 round trips slower than 50 us from XDP to kick had the benchmark's
 * main thread on CPU 1. Contenders are started with their own CPU (`taskset`, `--cpu`, `-l`).
 */
async function onCpu<T>(cpu: string, f: () => Promise<T>): Promise<T> {
  const before = await affinity();
  await run(["taskset", "-a", "-cp", cpu, String(Deno.pid)]);
  try {
    return await f();
  } finally {
    await run(["taskset", "-a", "-cp", before, String(Deno.pid)], true);
  }
}

async function runRounds(
  topo: Topology,
  entries: readonly LatencyEntry[],
  plan: LatencyPlan,
  log: (msg: string) => void,
  pause: () => Promise<void>,
): Promise<LatencyDoc> {
  const rounds: LatencyRound[] = [];
  const perFrame: NonNullable<LatencyDoc["per_frame"]> = [];
  for (let r = 0; r < plan.rounds; r++) {
    const order = rotation(entries.length, r).map((i) => entries[i]);
    const round: LatencyRound = {
      round: r + 1,
      order: order.map((e) => `${e.kind} ${e.name}`),
      ping: {},
      udp: {},
    };
    for (const e of order) {
      const count = perRound(e.kind === "ping" ? plan.pingCount : plan.rttCount, plan.rounds);
      const { stats, final, start } = await measure(topo, e, count, plan);
      round[e.kind][e.name] = stats;
      // byPassRT's per-frame clock, or the C or TS reference's with --stamp, over the measured
      // round trips only.
      const clock = final && start ? clockBetween(final, start) : undefined;
      if (clock !== undefined) {
        perFrame.push({ contender: e.name, kind: e.kind, round: r + 1, latency: clock });
      }
      log(
        `latency round ${r + 1}/${plan.rounds} ${e.kind} ${e.name}: ` +
          (stats.skipped ?? stats.error ??
            `p50 ${stats.p50_us} us, p99 ${stats.p99_us} us, max ${stats.max_us} us ` +
              `(${stats.samples} ok, ${stats.lost} lost)`),
      );
      await pause();
    }
    rounds.push(round);
  }
  const names = (k: LatencyKind) => entries.filter((e) => e.kind === k).map((e) => e.name);
  const pool = (k: LatencyKind) =>
    Object.fromEntries(names(k).map((n) => [n, pooled(rounds.map((r) => r[k][n]))]));
  const spread = (k: LatencyKind) =>
    Object.fromEntries(
      names(k).flatMap((n) => {
        const s = roundSpread(rounds.map((r) => r[k][n]));
        return s ? [[n, s]] : [];
      }),
    );
  const ping = pool("ping"), udp = pool("udp");
  return {
    ping,
    udp,
    method: {
      ...plan,
      probe: "bench/rtt_probe.c (AF_PACKET, 60-byte frames)",
      timed: TIMED,
      lead_in: LEAD_IN,
      window_pause_ms: WINDOW_PAUSE_MS,
    },
    rounds,
    spread: { ping: spread("ping"), udp: spread("udp") },
    verdicts: verdicts(rounds, { ping, udp }),
    splits: verdicts(rounds, { ping, udp }, LATENCY_SPLITS).filter((v) => v.pooled !== null),
    ...(perFrame.length ? { per_frame: perFrame } : {}),
  };
}
