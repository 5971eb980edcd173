/**
 * The latency benchmark's arithmetic, free of I/O: percentiles of round-trip samples, the spread
 * between rounds, the contenders' order in each round and the verdicts for issue 12's targets
 * (each checked in every round and on the pooled samples). bench/latency.ts measures, this file
 * judges; the unit tests exercise it directly.
 *
 * @module
 */

/** The two latency measurements. */
export type LatencyKind = "ping" | "udp";

/** Round-trip statistics in microseconds. */
export interface RttStats {
  samples: number;
  lost: number;
  min_us?: number;
  p50_us?: number;
  p90_us?: number;
  p99_us?: number;
  p999_us?: number;
  max_us?: number;
  mean_us?: number;
  /** The same round trips timed in the probe's user space (send() to recvmsg() returning). */
  user_p50_us?: number;
  user_p99_us?: number;
  /** Round trips timed in user space because a kernel timestamp was missing. */
  tx_fallback?: number;
  /**
   * Share of the two vCPUs other processes and the hypervisor (steal) took while the probe ran
   * (warm-up included): the noise the samples saw.
   */
  foreign_cpu_share?: number;
  /** Every sample (us, ns resolution), in the order measured: kept for charts and analysis. */
  samples_us?: number[];
  error?: string;
  skipped?: string;
}

/** Lowest and highest value of a statistic over the rounds. */
export type Range = [number, number];

/** How much a contender's p50 and p99 moved between rounds. */
export interface Spread {
  p50_us: Range;
  p99_us: Range;
  rounds: number;
}

/** One round: every contender once, in `order`. */
export interface LatencyRound {
  round: number;
  order: string[];
  ping: Record<string, RttStats>;
  udp: Record<string, RttStats>;
}

/** The verdict on one target. */
export interface Verdict {
  name: string;
  /** The target, e.g. "<= 1.0". */
  want: string;
  stretch: boolean;
  /** The ratio on the pooled samples of all rounds. */
  pooled: number | null;
  /** The ratio in each round (null: a side missing in that round). */
  rounds: (number | null)[];
  /** Rounds where the target was met, of rounds with both sides measured. */
  met_rounds: number;
  of_rounds: number;
  /**
   * Rounds where other processes or the hypervisor took more than {@link NOISY_SHARE} of the
   * CPUs while either side was measured: a verdict resting on them says more about the machine.
   */
  noisy_rounds: number;
  verdict: "holds in every round" | "pooled only" | "no" | "n/a";
}

/** A target: `subject`'s statistic over `against`'s must be at most `max`. */
export interface LatencyTarget {
  name: string;
  kind: LatencyKind;
  stat: "p50_us" | "p99_us";
  subject: string;
  against: string;
  max: number;
  stretch?: boolean;
}

/** Issue 12's latency targets (contender names as bench/contenders.ts spells them). */
export const LATENCY_TARGETS: readonly LatencyTarget[] = [
  {
    name: "UDP l2fwd p50 byPassRT / C",
    kind: "udp",
    stat: "p50_us",
    subject: "byPassRT",
    against: "C xsk_ref",
    max: 1.0,
  },
  {
    name: "UDP l2fwd p50 byPassRT / testpmd",
    kind: "udp",
    stat: "p50_us",
    subject: "byPassRT",
    against: "DPDK testpmd",
    max: 1.0,
  },
  {
    name: "UDP l2fwd p99 byPassRT / C",
    kind: "udp",
    stat: "p99_us",
    subject: "byPassRT",
    against: "C xsk_ref",
    max: 1.1,
  },
  {
    name: "ping respond p50 byPassRT / C",
    kind: "ping",
    stat: "p50_us",
    subject: "byPassRT",
    against: "C xsk_ref",
    max: 1.0,
  },
  {
    name: "ping respond p99 byPassRT / C",
    kind: "ping",
    stat: "p99_us",
    subject: "byPassRT",
    against: "C xsk_ref",
    max: 1.1,
  },
  {
    name: "ping p50 byPassRT / kernel (stretch)",
    kind: "ping",
    stat: "p50_us",
    subject: "byPassRT",
    against: "kernel",
    max: 1.0,
    stretch: true,
  },
];

/**
 * The TypeScript baseline's name in the latency rounds (bench/contenders.ts `tsrefStamp`,
 * bench/ts_ref.ts `--stamp`): with byPassRT's own per-frame clock, so that against byPassRT
 * and against the C reference with the clock it is compared clock for clock.
 */
const TS_REF = "TS ts_ref --stamp";
/** byPassRT without its per-frame clock (bench/contenders.ts `bypassrtNoTimestamps`). */
const NO_TIMESTAMPS = "byPassRT --no-timestamps";
/** The C reference with the same per-frame clock (bench/contenders.ts `crefStamp`). */
const C_STAMP = "C xsk_ref --stamp";

/**
 * Not targets: where byPassRT's distance to C lies, judged like the targets. The TypeScript
 * baseline (xsk_ref.c's loop in a Deno Worker, none of byPassRT's engine, byPassRT's per-frame
 * clock) against C with the same clock is what the runtime costs (Deno, V8, FFI); byPassRT
 * against that baseline is what its engine adds (all three time every frame alike);
 * byPassRT against itself with `--no-timestamps` is what its per-frame clock adds; C against
 * itself (`C xsk_ref 2`, the same program in the same rounds) is the machine's noise, the A/A
 * line every other ratio has to be read against.
 */
export const LATENCY_SPLITS: readonly LatencyTarget[] = [
  ["UDP l2fwd", "udp"] as const,
  ["ping respond", "ping"] as const,
].flatMap(([what, kind]) =>
  (["p50_us", "p99_us"] as const).flatMap((stat) => {
    const p = stat === "p50_us" ? "p50" : "p99", max = stat === "p50_us" ? 1.0 : 1.1;
    return [
      {
        name: `${what} ${p} TS ts_ref / C, both clocked (runtime)`,
        subject: TS_REF,
        against: C_STAMP,
      },
      {
        name: `${what} ${p} byPassRT / TS ts_ref, both clocked (engine)`,
        subject: "byPassRT",
        against: TS_REF,
      },
      {
        name: `${what} ${p} byPassRT / --no-timestamps (the clock)`,
        subject: "byPassRT",
        against: NO_TIMESTAMPS,
      },
      {
        name: `${what} ${p} C --stamp / C (the clock, in C)`,
        subject: C_STAMP,
        against: "C xsk_ref",
      },
      {
        name: `${what} ${p} byPassRT / C --stamp (both clocked)`,
        subject: "byPassRT",
        against: C_STAMP,
      },
      {
        name: `${what} ${p} C again / C (A/A: noise)`,
        subject: "C xsk_ref 2",
        against: "C xsk_ref",
      },
    ].map((t) => ({ ...t, kind, stat, max }));
  })
);

/** Foreign CPU share (0..1) above which a measurement counts as noisy. */
export const NOISY_SHARE = 0.1;

/** Nearest-rank percentile (`p` in 0..100) of ascending `sorted` values. */
export function percentile(sorted: readonly number[], p: number): number {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.round(p / 100 * (sorted.length - 1))));
  return sorted[k];
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** Statistics of round-trip samples (us); `lost` round trips got no answer. */
export function rttStats(samplesUs: readonly number[], lost: number): RttStats {
  const s = [...samplesUs].sort((a, b) => a - b);
  if (s.length === 0) return { samples: 0, lost };
  return {
    samples: s.length,
    lost,
    min_us: r2(s[0]),
    p50_us: r2(percentile(s, 50)),
    p90_us: r2(percentile(s, 90)),
    p99_us: r2(percentile(s, 99)),
    p999_us: r2(percentile(s, 99.9)),
    max_us: r2(s[s.length - 1]),
    mean_us: r2(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

/** The pooled statistics of one contender over `rounds` (its samples of every round together). */
export function pooled(rounds: readonly RttStats[]): RttStats {
  const measured = rounds.filter((r) => !r.skipped);
  if (measured.length === 0) return { samples: 0, lost: 0, skipped: rounds[0]?.skipped };
  const all = measured.flatMap((r) => r.samples_us ?? []);
  const lost = measured.reduce((a, r) => a + r.lost, 0);
  const errors = measured.filter((r) => r.error).map((r) => r.error!);
  return { ...rttStats(all, lost), ...(errors.length ? { error: errors.join("; ") } : {}) };
}

/** Min..max of each round's p50 and p99 over the rounds that have samples. */
export function roundSpread(rounds: readonly RttStats[]): Spread | undefined {
  const ok = rounds.filter((r) => r.p50_us !== undefined && r.p99_us !== undefined);
  if (ok.length === 0) return undefined;
  const range = (k: "p50_us" | "p99_us"): Range => {
    const v = ok.map((r) => r[k]!);
    return [Math.min(...v), Math.max(...v)];
  };
  return { p50_us: range("p50_us"), p99_us: range("p99_us"), rounds: ok.length };
}

/**
 * Indices of `n` contenders in round `round` (0-based): round r starts with contender r (mod n),
 * the list rotated in even rounds and reversed in odd ones, so that any two contenders swap their
 * order from one round to the next (a rotation alone keeps most pairs in the same order, and a
 * drift within a round would then always favour the same one of them).
 */
export function rotation(n: number, round: number): number[] {
  const rotated = (k: number) => Array.from({ length: n }, (_, i) => (i + k) % n);
  return round % 2 === 0 ? rotated(round % n) : rotated((round + 1) % n).reverse();
}

/** Samples per round so that `rounds` rounds give at least `total`. */
export function perRound(total: number, rounds: number): number {
  return Math.ceil(total / rounds);
}

function ratioOf(
  t: LatencyTarget,
  stats: Record<string, RttStats> | undefined,
): number | null {
  const a = stats?.[t.subject]?.[t.stat], b = stats?.[t.against]?.[t.stat];
  return a !== undefined && b !== undefined && b > 0 ? a / b : null;
}

/** The verdict on each target: met in every round, only on the pooled samples, or not. */
export function verdicts(
  rounds: readonly LatencyRound[],
  pooledStats: Record<LatencyKind, Record<string, RttStats>>,
  targets: readonly LatencyTarget[] = LATENCY_TARGETS,
): Verdict[] {
  return targets.map((t) => {
    const pooledRatio = ratioOf(t, pooledStats[t.kind]);
    const per = rounds.map((r) => ratioOf(t, r[t.kind]));
    const noisy = rounds.filter((r) =>
      [t.subject, t.against].some((n) =>
        (r[t.kind][n]?.foreign_cpu_share ?? 0) > NOISY_SHARE
      )
    ).length;
    const measured = per.filter((x): x is number => x !== null);
    const met = measured.filter((x) => x <= t.max).length;
    let verdict: Verdict["verdict"] = "n/a";
    if (pooledRatio !== null) {
      verdict = pooledRatio > t.max
        ? "no"
        : met === measured.length && measured.length === rounds.length
        ? "holds in every round"
        : "pooled only";
    }
    return {
      name: t.name,
      want: `<= ${t.max.toFixed(1)}`,
      stretch: t.stretch ?? false,
      pooled: pooledRatio === null ? null : Math.round(pooledRatio * 1000) / 1000,
      rounds: per.map((x) => x === null ? null : Math.round(x * 1000) / 1000),
      met_rounds: met,
      of_rounds: measured.length,
      noisy_rounds: noisy,
      verdict,
    };
  });
}

/**
 * Percentile figures (`p50…`) found in byPassRT's own per-frame `"latency"` object, flattened to
 * "path.key" -> value; tolerant of its exact shape (it is another module's output).
 */
export function perFrameFigures(latency: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (o: unknown, path: string, depth: number) => {
    if (!o || typeof o !== "object" || depth > 5) return;
    for (const [k, v] of Object.entries(o)) {
      const p = path ? `${path}.${k}` : k;
      if (typeof v === "number" && /^(p\d+|max|count|samples)/.test(k)) out[p] = v;
      else if (typeof v === "object") walk(v, p, depth + 1);
    }
  };
  walk(latency, "", 0);
  return out;
}
