import assert from "node:assert/strict";
import { barChart, cdfChart, log10, nines } from "../../bench/svg.ts";
import { type ChartInput, latencySvg, pooledSamples, throughputSvg } from "../../bench/charts.ts";
import { rttStats } from "../../bench/latency_stats.ts";
import type { LatencyDoc } from "../../bench/latency.ts";
import { allElements, parseXml, type XmlElement } from "./_xml.ts";

/** Deterministic "latencies": a log-normal-ish spread around `mid` us, with a tail. */
function samples(n: number, mid: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const u = (s + 1) / 2 ** 31;
    return Math.round(mid * Math.exp(-Math.log(1 - u * 0.999) * 0.5) * 1000) / 1000;
  });
}

function doc(): ChartInput {
  const rounds = [1, 2].map((r) => ({
    round: r,
    order: [],
    ping: {
      "kernel": { ...rttStats([], 0), samples_us: samples(150, 8, r) },
      "byPassRT": { ...rttStats([], 0), samples_us: samples(150, 12, 10 + r) },
    },
    udp: { 'C xsk_ref <&">': { ...rttStats([], 0), samples_us: samples(150, 15, 20 + r) } },
  }));
  const lat: LatencyDoc = { ping: {}, udp: {}, rounds };
  for (const k of ["ping", "udp"] as const) {
    for (const [n, v] of Object.entries(pooledSamples(lat, k))) lat[k][n] = rttStats(v, 0);
  }
  return {
    meta: { date: "2026-11-28", command: "bench/run.sh --quick" },
    latency: lat,
    results: [
      { contender: "byPassRT", mode: "rxdrop", rx_mpps: 2.75, fwd_mpps: null },
      { contender: "C xsk_ref", mode: "rxdrop", rx_mpps: 2.81, fwd_mpps: null },
      { contender: "byPassRT", mode: "l2fwd", rx_mpps: 0.76, fwd_mpps: 0.38 },
      { contender: "C xsk_ref", mode: "l2fwd", rx_mpps: 0.86, fwd_mpps: 0.44 },
      { contender: "DPDK testpmd", mode: "l2fwd", rx_mpps: 0.5, fwd_mpps: null, skipped: "x" },
    ],
  };
}

function points(el: XmlElement): [number, number][] {
  return el.attrs.points.trim().split(/\s+/).map((p) =>
    p.split(",").map(Number) as [number, number]
  );
}

Deno.test("latencySvg: well-formed SVG, one CDF line per contender, names escaped", () => {
  const d = doc();
  const svg = latencySvg(d)!;
  const root = parseXml(svg);
  assert.equal(root.name, "svg");
  assert.equal(root.attrs.xmlns, "http://www.w3.org/2000/svg");
  const lines = allElements(root).filter((e) => e.name === "polyline");
  assert.deepEqual(lines.map((l) => l.attrs["data-series"].replace(/ \(.*/, "")), [
    "kernel",
    "byPassRT",
    'C xsk_ref <&">',
  ]);
  // The legend carries the pooled figures of the JSON.
  const p = d.latency!.ping.byPassRT;
  assert.ok(svg.includes(`byPassRT (p50 ${p.p50_us}, p99 ${p.p99_us} us, n=300)`));
  assert.equal(latencySvg({ latency: { ping: {}, udp: {} } }), undefined);
});

Deno.test("cdfChart: every point maps back to a sample and its rank; first and last exact", () => {
  const values = samples(2000, 20, 7);
  const box = { x: 50, y: 40, w: 400, h: 300 };
  const { svg, x, y } = cdfChart(box, "t", "us", [{ name: "a", color: "#000", values }]);
  const root = parseXml(`<svg xmlns="http://www.w3.org/2000/svg">${svg.join("")}</svg>`);
  const line = allElements(root).find((e) => e.name === "polyline")!;
  const pts = points(line);
  const sorted = [...values].sort((a, b) => a - b), n = sorted.length;
  assert.ok(pts.length > 20 && pts.length <= n, `${pts.length} points`);
  let lastRank = -1;
  for (const [px, py] of pts) {
    assert.ok(px >= box.x - 0.01 && px <= box.x + box.w + 0.01, `x ${px} inside the box`);
    assert.ok(py >= box.y - 0.01 && py <= box.y + box.h + 0.01, `y ${py} inside the box`);
    // The ranks the point's height allows and a sample of such a rank at the point's x (the
    // coordinates are rounded to 0.01 px: allow that much either way).
    const v = x.invert(px), tol = Math.abs(x.invert(px + 0.006) - v) + 1e-9;
    const lo = Math.ceil(y.invert(py + 0.006) * n - 1e-9);
    const hi = Math.floor(y.invert(py - 0.006) * n + 1e-9);
    let rank = -1;
    for (let r = Math.max(lo, lastRank + 1); r <= hi && rank < 0; r++) {
      if (Math.abs(sorted[r] - v) <= tol) rank = r;
    }
    assert.ok(rank >= 0, `no sample of rank ${lo}..${hi} at ${v} (after rank ${lastRank})`);
    lastRank = rank;
  }
  assert.ok(Math.abs(x.invert(pts[0][0]) - sorted[0]) < 0.01, "first point: the minimum");
  assert.equal(lastRank, n - 1, "last point: the maximum");
  assert.ok(Math.abs(x.invert(pts.at(-1)![0]) - sorted[n - 1]) / sorted[n - 1] < 1e-3);
});

Deno.test("scales: log10 and nines invert, nines spaces 90/99/99.9% evenly", () => {
  const x = log10(1, 1000, 0, 300);
  assert.equal(x(10), 100);
  assert.ok(Math.abs(x.invert(200) - 100) < 1e-9);
  const y = nines(3, 300, 0);
  assert.equal(y(0), 300);
  assert.ok(Math.abs(y(0.9) - 200) < 1e-9 && Math.abs(y(0.99) - 100) < 1e-9);
  assert.ok(Math.abs(y(0.999)) < 1e-9);
  assert.ok(Math.abs(y.invert(150) - (1 - 10 ** -1.5)) < 1e-12);
});

Deno.test("throughputSvg / barChart: one bar per measured value, heights proportional", () => {
  const root = parseXml(throughputSvg(doc())!);
  const bars = allElements(root).filter((e) => e.name === "rect" && e.attrs["data-value"]);
  assert.deepEqual(
    bars.map((b) => [b.attrs["data-series"], b.attrs["data-group"], Number(b.attrs["data-value"])]),
    [
      ["byPassRT", "rxdrop (received)", 2.75],
      ["C xsk_ref", "rxdrop (received)", 2.81],
      ["byPassRT", "l2fwd (forwarded)", 0.38],
      ["C xsk_ref", "l2fwd (forwarded)", 0.44],
    ],
  );
  const perUnit = bars.map((b) => Number(b.attrs.height) / Number(b.attrs["data-value"]));
  for (const k of perUnit) assert.ok(Math.abs(k - perUnit[0]) < 0.05, `${k} vs ${perUnit[0]}`);
  const bottoms = bars.map((b) => Number(b.attrs.y) + Number(b.attrs.height));
  for (const b of bottoms) assert.ok(Math.abs(b - bottoms[0]) < 0.02, "bars share a baseline");
  assert.equal(throughputSvg({ results: [] }), undefined);
  const { y } = barChart({ x: 0, y: 0, w: 100, h: 100 }, "t", "u", ["g"], [
    { name: "s", color: "#000", values: [3] },
  ]);
  assert.ok(y(3) > 0 && y(3) < 100 && y(0) === 100, "the top tick is above the largest bar");
});
