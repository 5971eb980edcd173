/**
 * A small SVG writer for the benchmark's charts: escaping, scales (linear, log10, and the
 * "nines" scale for cumulative probabilities), axes and the two charts the benchmark draws (a
 * latency CDF on a log time axis, a grouped bar chart). Strings in, strings out; no DOM, no
 * dependency. bench/charts.ts turns the benchmark's JSON into these.
 *
 * @module
 */

/** Escape text for SVG content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/** A number for an attribute: at most two decimals. */
export function n2(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/** A scale from data to pixels and back. */
export interface Scale {
  (v: number): number;
  invert(px: number): number;
}

/** Linear scale mapping [d0, d1] onto [r0, r1]. */
export function linear(d0: number, d1: number, r0: number, r1: number): Scale {
  const k = (r1 - r0) / (d1 - d0 || 1);
  const f = ((v: number) => r0 + (v - d0) * k) as Scale;
  f.invert = (px) => d0 + (px - r0) / k;
  return f;
}

/** log10 scale mapping [d0, d1] (both > 0) onto [r0, r1]. */
export function log10(d0: number, d1: number, r0: number, r1: number): Scale {
  const l = linear(Math.log10(d0), Math.log10(d1), r0, r1);
  const f = ((v: number) => l(Math.log10(v))) as Scale;
  f.invert = (px) => 10 ** l.invert(px);
  return f;
}

/**
 * The "nines" scale for a cumulative probability p in [0, 1): -log10(1 - p), so that 0.9, 0.99
 * and 0.999 are equally spaced and the tail is as visible as the median. `maxNines` = 3 puts
 * p = 0.999 at r1.
 */
export function nines(maxNines: number, r0: number, r1: number): Scale {
  const l = linear(0, maxNines, r0, r1);
  const f = ((p: number) => l(-Math.log10(1 - p))) as Scale;
  f.invert = (px) => 1 - 10 ** -l.invert(px);
  return f;
}

/** Powers of ten within [lo, hi], with their 2x and 5x (up to 3 decades) or 3x (up to 5). */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [], decades = Math.log10(hi / lo);
  const steps = decades <= 3.01 ? [1, 2, 5] : decades <= 5.01 ? [1, 3] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of steps) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

/** "Nice" ticks from 0 to above `hi` (linear axis), about `count` of them. */
export function linearTicks(hi: number, count = 5): number[] {
  if (!(hi > 0)) return [0];
  const raw = hi / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  // Up to the first tick above `hi`: room for the value written over the highest bar.
  for (let k = 0; out.length === 0 || out.at(-1)! <= hi; k++) {
    out.push(Math.round(k * step * 1e6) / 1e6);
  }
  return out;
}

/** One series of a chart. */
export interface Series {
  name: string;
  color: string;
  /** Samples (CDF) or values per group (bars, null = missing). */
  values: (number | null)[];
}

/** The chart's box inside the figure. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A whole SVG document of `w` x `h` around `body`. */
export function svgDocument(w: number, h: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" ` +
    `viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>`,
    ...body,
    `</svg>`,
    "",
  ].join("\n");
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${n2(x)}" y="${n2(y)}"${attrs ? " " + attrs : ""}>${esc(s)}</text>`;
}

function legend(series: Series[], x: number, y: number): string[] {
  // A pale background so that lines under the legend do not cross its text.
  const w = 24 + 6.6 * Math.max(0, ...series.map((s) => s.name.length));
  const bg = `<rect x="${n2(x - 4)}" y="${n2(y - 13)}" width="${n2(w)}" ` +
    `height="${n2(series.length * 16 + 4)}" fill="#ffffff" fill-opacity="0.85"/>`;
  return [
    bg,
    ...series.flatMap((s, i) => [
      `<rect x="${n2(x)}" y="${n2(y + i * 16 - 9)}" width="12" height="10" fill="${s.color}"/>`,
      text(x + 16, y + i * 16, s.name),
    ]),
  ];
}

/** Format an axis value: 1, 2.5, 10, 1000 -> "1k". */
export function tickLabel(v: number): string {
  if (v >= 1000) return `${n2(v / 1000)}k`;
  return n2(v);
}

/** Points of one sample set's CDF as [value, cumulative probability], p = i / n for rank i. */
export function cdfPoints(samples: readonly number[]): [number, number][] {
  const s = samples.filter((v) => v > 0 && Number.isFinite(v)).sort((a, b) => a - b);
  return s.map((v, i) => [v, i / s.length]);
}

/**
 * A CDF chart in `box`: x = value on a log axis, y = cumulative share on the nines scale (50%,
 * 90%, 99%, 99.9%). Points closer than half a pixel to the previous kept one are left out (the
 * drawn line still passes through every sample's position within that half pixel).
 */
export function cdfChart(
  box: Box,
  title: string,
  xLabel: string,
  series: Series[],
): { svg: string[]; x: Scale; y: Scale } {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && v > 0));
  const lo = all.length ? Math.min(...all) : 1, hi = all.length ? Math.max(...all) : 10;
  const x = log10(
    10 ** (Math.floor(Math.log10(lo) * 2) / 2),
    10 ** (Math.ceil(Math.log10(hi) * 2) / 2),
    box.x,
    box.x + box.w,
  );
  // Up to the nines the largest series resolves (n samples: 1 - 1/n), at least 2, at most 4.
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const maxNines = Math.min(4, Math.max(2, Math.ceil(Math.log10(n))));
  const y = nines(maxNines, box.y + box.h, box.y);
  const out: string[] = [`<g>`, text(box.x, box.y - 10, title, `font-weight="bold"`)];
  out.push(
    `<rect x="${n2(box.x)}" y="${n2(box.y)}" width="${n2(box.w)}" height="${n2(box.h)}" ` +
      `fill="none" stroke="#999999"/>`,
  );
  const [d0, d1] = [x.invert(box.x), x.invert(box.x + box.w)];
  for (const t of logTicks(d0, d1)) {
    out.push(
      `<line x1="${n2(x(t))}" y1="${n2(box.y)}" x2="${n2(x(t))}" y2="${n2(box.y + box.h)}" ` +
        `stroke="#e5e5e5"/>`,
      text(x(t), box.y + box.h + 14, tickLabel(t), `text-anchor="middle"`),
    );
  }
  for (let k = 0; k <= maxNines; k++) {
    const p = 1 - 10 ** -k;
    const label = k === 0 ? "0%" : `${n2(p * 100)}%`;
    out.push(
      `<line x1="${n2(box.x)}" y1="${n2(y(p))}" x2="${n2(box.x + box.w)}" y2="${n2(y(p))}" ` +
        `stroke="#e5e5e5"/>`,
      text(box.x - 4, y(p) + 4, label, `text-anchor="end"`),
    );
  }
  const p50 = y(0.5);
  out.push(
    `<line x1="${n2(box.x)}" y1="${n2(p50)}" x2="${n2(box.x + box.w)}" y2="${n2(p50)}" ` +
      `stroke="#e5e5e5" stroke-dasharray="4 3"/>`,
    text(box.x - 4, p50 + 4, "50%", `text-anchor="end"`),
    text(box.x + box.w / 2, box.y + box.h + 30, xLabel, `text-anchor="middle"`),
  );
  for (const s of series) {
    const pts = cdfPoints(s.values.filter((v): v is number => v !== null));
    if (pts.length === 0) continue;
    const kept: string[] = [];
    let lx = -1e9, ly = -1e9;
    pts.forEach(([v, p], i) => {
      const px = x(v), py = y(p);
      if (i === pts.length - 1 || Math.abs(px - lx) >= 0.5 || Math.abs(py - ly) >= 0.5) {
        kept.push(`${n2(px)},${n2(py)}`);
        lx = px;
        ly = py;
      }
    });
    out.push(
      `<polyline data-series="${esc(s.name)}" fill="none" stroke="${s.color}" ` +
        `stroke-width="1.5" points="${kept.join(" ")}"/>`,
    );
  }
  out.push(...legend(series, box.x + 10, box.y + 16), `</g>`);
  return { svg: out, x, y };
}

/**
 * A grouped bar chart in `box`: one group per label in `groups`, one bar per series in each,
 * the value written above each bar; a missing value leaves a gap.
 */
export function barChart(
  box: Box,
  title: string,
  yLabel: string,
  groups: string[],
  series: Series[],
): { svg: string[]; y: Scale } {
  const vals = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const ticks = linearTicks(Math.max(0, ...vals) || 1);
  const y = linear(0, ticks.at(-1)!, box.y + box.h, box.y);
  const out: string[] = [`<g>`, text(box.x, box.y - 10, title, `font-weight="bold"`)];
  for (const t of ticks) {
    out.push(
      `<line x1="${n2(box.x)}" y1="${n2(y(t))}" x2="${n2(box.x + box.w)}" y2="${n2(y(t))}" ` +
        `stroke="#e5e5e5"/>`,
      text(box.x - 4, y(t) + 4, tickLabel(t), `text-anchor="end"`),
    );
  }
  out.push(
    text(
      box.x - 40,
      box.y + box.h / 2,
      yLabel,
      `text-anchor="middle" ` +
        `transform="rotate(-90 ${n2(box.x - 40)} ${n2(box.y + box.h / 2)})"`,
    ),
  );
  const gw = box.w / Math.max(1, groups.length), bw = gw * 0.8 / Math.max(1, series.length);
  groups.forEach((g, gi) => {
    const gx = box.x + gi * gw + gw * 0.1;
    out.push(text(gx + gw * 0.4, box.y + box.h + 16, g, `text-anchor="middle"`));
    series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null || v === undefined) return;
      const bx = gx + si * bw;
      out.push(
        `<rect data-series="${esc(s.name)}" data-group="${esc(g)}" data-value="${v}" ` +
          `x="${n2(bx + 1)}" y="${n2(y(v))}" width="${n2(bw - 2)}" ` +
          `height="${n2(y(0) - y(v))}" fill="${s.color}"/>`,
        text(bx + bw / 2, y(v) - 3, n2(v), `text-anchor="middle" font-size="10"`),
      );
    });
  });
  out.push(...legend(series, box.x + box.w + 12, box.y + 10), `</g>`);
  return { svg: out, y };
}
