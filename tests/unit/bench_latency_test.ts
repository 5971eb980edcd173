import assert from "node:assert/strict";
import {
  LATENCY_SPLITS,
  type LatencyRound,
  percentile,
  perFrameFigures,
  perRound,
  pooled,
  rotation,
  roundSpread,
  type RttStats,
  rttStats,
  verdicts,
} from "../../bench/latency_stats.ts";
import { latencyText } from "../../bench/report.ts";

/** 1..n shuffled deterministically. */
function shuffled(n: number): number[] {
  const v = Array.from({ length: n }, (_, i) => i + 1);
  let s = 12345;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

Deno.test("percentile: nearest rank over the sorted samples", () => {
  const s = Array.from({ length: 1001 }, (_, i) => i + 1);
  assert.equal(percentile(s, 0), 1);
  assert.equal(percentile(s, 50), 501);
  assert.equal(percentile(s, 90), 901);
  assert.equal(percentile(s, 99), 991);
  assert.equal(percentile(s, 99.9), 1000);
  assert.equal(percentile(s, 100), 1001);
  assert.equal(percentile([7], 99), 7);
});

Deno.test("rttStats: percentiles of unsorted samples, lost kept, nothing to measure", () => {
  const st = rttStats(shuffled(2001), 3);
  assert.deepEqual(
    [st.samples, st.lost, st.min_us, st.p50_us, st.p90_us, st.p99_us, st.p999_us, st.max_us],
    [2001, 3, 1, 1001, 1801, 1981, 1999, 2001],
  );
  assert.equal(st.mean_us, 1001);
  assert.deepEqual(rttStats([], 5), { samples: 0, lost: 5 });
});

function round(samples: number[], lost = 0): RttStats {
  return { ...rttStats(samples, lost), samples_us: samples };
}

Deno.test("pooled: every round's samples together, skipped rounds left out, errors kept", () => {
  const p = pooled([round([1, 2, 3]), round([4, 5], 1), { samples: 0, lost: 0, skipped: "x" }]);
  assert.deepEqual([p.samples, p.lost, p.min_us, p.p50_us, p.max_us], [5, 1, 1, 3, 5]);
  assert.equal(pooled([{ samples: 0, lost: 0, skipped: "no dpdk" }]).skipped, "no dpdk");
  const e = pooled([round([1]), { samples: 0, lost: 4, error: "boom" }]);
  assert.deepEqual([e.samples, e.lost, e.error], [1, 4, "boom"]);
});

Deno.test("roundSpread: min..max of each round's p50 and p99", () => {
  const a = round(Array.from({ length: 101 }, (_, i) => 10 + i)); // p50 60, p99 109
  const b = round(Array.from({ length: 101 }, (_, i) => 20 + i * 2)); // p50 120, p99 218
  const c = round([30]);
  assert.deepEqual(roundSpread([a, b, c, { samples: 0, lost: 1 }]), {
    p50_us: [30, 120],
    p99_us: [30, 218],
    rounds: 3,
  });
  assert.equal(roundSpread([{ samples: 0, lost: 0, skipped: "x" }]), undefined);
});

Deno.test("rotation: every contender once per round, each one first once in n rounds, pairs swapping", () => {
  const n = 6;
  const firsts = new Set<number>();
  for (let r = 0; r < n; r++) {
    const o = rotation(n, r);
    assert.deepEqual([...o].sort(), [0, 1, 2, 3, 4, 5]);
    firsts.add(o[0]);
    if (r) assert.notEqual(o[0], rotation(n, r - 1)[0]);
  }
  assert.equal(firsts.size, n);
  // Any two contenders run in both orders, as evenly as the rounds allow: in the 5 rounds of a
  // full run with 12 entries each pair has one first in 2 or 3 of them (a rotation alone keeps
  // e.g. byPassRT's UDP run, entry 6, before byPassRT --no-timestamps', entry 11, in all 5).
  for (let a = 0; a < 12; a++) {
    for (let b = a + 1; b < 12; b++) {
      const first = [0, 1, 2, 3, 4].filter((r) =>
        rotation(12, r).indexOf(a) < rotation(12, r).indexOf(b)
      ).length;
      assert.ok(first === 2 || first === 3, `${a} before ${b} in ${first} of 5 rounds`);
    }
  }
  assert.equal(perRound(2000, 5), 400);
  assert.equal(perRound(2001, 5), 401);
});

/** A round where each contender's samples are all `v` (so p50 = p99 = v). */
function flat(ping: Record<string, number>, udp: Record<string, number>, n: number): LatencyRound {
  const mk = (o: Record<string, number>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(Array(10).fill(v))]));
  return { round: n, order: [], ping: mk(ping), udp: mk(udp) };
}

function judge(rounds: LatencyRound[]) {
  const names = (k: "ping" | "udp") => Object.keys(rounds[0][k]);
  const pool = (k: "ping" | "udp") =>
    Object.fromEntries(names(k).map((n) => [n, pooled(rounds.map((r) => r[k][n]))]));
  return Object.fromEntries(
    verdicts(rounds, { ping: pool("ping"), udp: pool("udp") }).map((v) => [v.name, v]),
  );
}

Deno.test("verdicts: every round, pooled only, no, and n/a when a side is missing", () => {
  const ping = (b: number) => ({ "byPassRT": b, "C xsk_ref": 10, "kernel": 5 });
  const udp = (b: number) => ({ "byPassRT": b, "C xsk_ref": 20 });
  // byPassRT ping at 9, 9, 12 (C 10): p50 pooled 9 -> met, but round 3 misses; p99 (<= 11):
  // 12 > 11 in round 3 and pooled p99 12 -> no.
  const v = judge([
    flat(ping(9), udp(20), 1),
    flat(ping(9), udp(21), 2),
    flat(ping(12), udp(19), 3),
  ]);
  const p50 = v["ping respond p50 byPassRT / C"];
  assert.deepEqual(p50.rounds, [0.9, 0.9, 1.2]);
  assert.deepEqual([p50.pooled, p50.met_rounds, p50.of_rounds, p50.verdict], [
    0.9,
    2,
    3,
    "pooled only",
  ]);
  assert.equal(v["ping respond p99 byPassRT / C"].verdict, "no");
  assert.equal(v["ping respond p99 byPassRT / C"].pooled, 1.2);
  // UDP p99 within 1.1x in every round (21/20 = 1.05).
  assert.equal(v["UDP l2fwd p99 byPassRT / C"].verdict, "holds in every round");
  assert.equal(v["UDP l2fwd p99 byPassRT / C"].met_rounds, 3);
  // p50: pooled 20/20 = 1.0 met, round 2 (1.05) not.
  assert.equal(v["UDP l2fwd p50 byPassRT / C"].verdict, "pooled only");
  assert.equal(v["UDP l2fwd p99 byPassRT / C"].noisy_rounds, 0);
  // No testpmd: nothing to judge.
  const t = v["UDP l2fwd p50 byPassRT / testpmd"];
  assert.deepEqual([t.pooled, t.of_rounds, t.verdict], [null, 0, "n/a"]);
  // Stretch: 9 / 5 > 1.
  assert.equal(v["ping p50 byPassRT / kernel (stretch)"].verdict, "no");
  assert.equal(v["ping p50 byPassRT / kernel (stretch)"].stretch, true);
});

Deno.test("LATENCY_SPLITS: the TS baseline against C (runtime), byPassRT against it (engine), the clock", () => {
  // byPassRT 12, without its clock 11.5, the TS baseline (with the clock) 11, C 10, C with the
  // clock 10.5 in both rounds (ping); UDP: the baseline and both without/with-clock variants
  // missing.
  const rounds = [1, 2].map((n) =>
    flat(
      {
        "byPassRT": 12,
        "TS ts_ref --stamp": 11,
        "C xsk_ref": 10,
        "byPassRT --no-timestamps": 11.5,
        "C xsk_ref --stamp": 10.5,
      },
      { "byPassRT": 20, "C xsk_ref": 20 },
      n,
    )
  );
  const pool = (k: "ping" | "udp") =>
    Object.fromEntries(
      Object.keys(rounds[0][k]).map((n) => [n, pooled(rounds.map((r) => r[k][n]))]),
    );
  const v = Object.fromEntries(
    verdicts(rounds, { ping: pool("ping"), udp: pool("udp") }, LATENCY_SPLITS).map((
      x,
    ) => [x.name, x]),
  );
  assert.equal(Object.keys(v).length, 24);
  // 12 / 11.5 = 1.043: the clock's share, judged like the rest.
  assert.equal(v["ping respond p50 byPassRT / --no-timestamps (the clock)"].pooled, 1.043);
  assert.equal(v["ping respond p50 byPassRT / --no-timestamps (the clock)"].verdict, "no");
  assert.equal(v["UDP l2fwd p50 byPassRT / --no-timestamps (the clock)"].verdict, "n/a");
  assert.equal(v["ping respond p50 C again / C (A/A: noise)"].verdict, "n/a");
  // The clock in C (10.5 / 10), and byPassRT against C when both time every frame (12 / 10.5).
  assert.equal(v["ping respond p50 C --stamp / C (the clock, in C)"].pooled, 1.05);
  assert.equal(v["ping respond p50 byPassRT / C --stamp (both clocked)"].pooled, 1.143);
  assert.equal(v["UDP l2fwd p50 byPassRT / C --stamp (both clocked)"].verdict, "n/a");
  // The baseline against C with the same clock (11 / 10.5), byPassRT against it (12 / 11).
  const runtime = "ping respond p50 TS ts_ref / C, both clocked (runtime)";
  assert.deepEqual(v[runtime].rounds, [1.048, 1.048]);
  assert.equal(v[runtime].verdict, "no");
  assert.equal(
    v["ping respond p99 TS ts_ref / C, both clocked (runtime)"].verdict,
    "holds in every round",
  );
  assert.equal(v["ping respond p50 byPassRT / TS ts_ref, both clocked (engine)"].pooled, 1.091);
  assert.equal(v["UDP l2fwd p50 byPassRT / TS ts_ref, both clocked (engine)"].verdict, "n/a");
  const text = latencyText({
    ping: pool("ping"),
    udp: pool("udp"),
    rounds,
    splits: Object.values(v).filter((x) => x.pooled !== null),
  });
  assert.match(text, /where the gap is/);
  assert.match(
    text,
    /ping respond p50 byPassRT \/ TS ts_ref, both clocked \(engine\) .* 0\/2\s+no/,
  );
  assert.doesNotMatch(text, /UDP l2fwd p50 byPassRT \/ TS ts_ref/);
});

Deno.test("perFrameFigures: percentiles found in any shape of byPassRT's latency object", () => {
  const figs = perFrameFigures({
    queues: [{ xdp_to_handler: { p50_ns: 900, p99_ns: 2100, max_ns: 9000, buckets: [1, 2] } }],
    enabled: true,
  });
  assert.deepEqual(figs, {
    "queues.0.xdp_to_handler.p50_ns": 900,
    "queues.0.xdp_to_handler.p99_ns": 2100,
    "queues.0.xdp_to_handler.max_ns": 9000,
  });
  assert.deepEqual(perFrameFigures(undefined), {});
});

Deno.test("latencyText: each round's p50/p99, the pooled tail, the spread and the verdicts", () => {
  const rounds = [
    flat({ "byPassRT": 9, "C xsk_ref": 10 }, { "byPassRT": 20, "C xsk_ref": 20 }, 1),
    flat({ "byPassRT": 12, "C xsk_ref": 10 }, { "byPassRT": 19, "C xsk_ref": 20 }, 2),
  ];
  const names = (k: "ping" | "udp") => Object.keys(rounds[0][k]);
  const pool = (k: "ping" | "udp") =>
    Object.fromEntries(names(k).map((n) => [n, pooled(rounds.map((r) => r[k][n]))]));
  const ping = pool("ping"), udp = pool("udp");
  const text = latencyText({
    ping,
    udp,
    rounds,
    spread: {
      ping: { byPassRT: roundSpread(rounds.map((r) => r.ping.byPassRT))! },
      udp: {},
    },
    verdicts: verdicts(rounds, { ping, udp }),
    per_frame: [{ contender: "byPassRT", kind: "ping", round: 1, latency: { p50_ns: 800 } }],
  });
  const row = text.split("\n").find((l) => /^\s+byPassRT\s+9\.0\/9\.0\s+12\.0\/12\.0/.test(l));
  assert.ok(row, text);
  assert.match(row!, /9\.0\.\.12\.0/);
  assert.match(text, /UDP l2fwd p99 byPassRT \/ C .* 2\/2\s+holds in every round/);
  assert.match(text, /ping respond p50 byPassRT \/ C .* 1\/2\s+no/);
  assert.match(text, /byPassRT per-frame clock \(ping, round 1\): p50_ns 800/);
});

Deno.test("verdicts: rounds where other processes took the CPUs are counted as noisy", () => {
  const rounds = [1, 2, 3].map((n) =>
    flat({ "byPassRT": 9, "C xsk_ref": 10 }, { "byPassRT": 20, "C xsk_ref": 20 }, n)
  );
  rounds[1].ping["C xsk_ref"].foreign_cpu_share = 0.3;
  rounds[2].ping.byPassRT.foreign_cpu_share = 0.05;
  const v = judge(rounds);
  assert.equal(v["ping respond p50 byPassRT / C"].noisy_rounds, 1);
  assert.equal(v["UDP l2fwd p50 byPassRT / C"].noisy_rounds, 0);
  assert.equal(v["ping respond p50 byPassRT / C"].verdict, "holds in every round");
});
