// The byPassRT live page: reads /events (Server-Sent Events from the byPassRT process: the recent
// history on connect, then one snapshot a second) and shows the RX/TX rate per queue over time
// (uPlot, served by byPassRT) and every counter of the snapshot. No framework, nothing fetched
// from anywhere else. Every figure carries data-metric="<path in the snapshot>" and
// data-value="<exact number>".
"use strict";

/** Loop and port counters that count frames given up, shown under "Drops by reason". */
const DROP_KEYS = [
  "app_dropped",
  "unhandled",
  "error_dropped",
  "tx_ring_full",
  "tx_kick_errors",
  "drained_at_stop",
];
/** Snapshots (and points) kept: 5 minutes at one a second. */
const KEEP = 300;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

const cells = new Map();
/** History points: { t: ms since epoch, e: engine seconds, rx: [per queue], tx: [per queue] }. */
let points = [];
let queueIds = [];
let chart = null;
let prev = null;

const $ = (id) => document.getElementById(id);

function fmt(v) {
  return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(2);
}

/** Set the cell of `path` (a row labelled `label` in `table`, made on first use). */
function setRow(table, path, label, v) {
  let td = cells.get(path);
  if (!td) {
    const tr = table.insertRow();
    const th = document.createElement("th");
    th.textContent = label;
    tr.append(th);
    td = tr.insertCell();
    td.dataset.metric = path;
    cells.set(path, td);
  }
  td.dataset.value = String(v);
  td.textContent = fmt(v);
}

function numbers(o) {
  return Object.entries(o ?? {}).filter(([, v]) => typeof v === "number");
}

function note(table, text) {
  if (table.rows.length === 0) table.insertRow().insertCell().textContent = text;
  table.classList.add("note");
}

function rates(a, b) {
  const dt = a ? b.elapsed - a.elapsed : 0;
  const d = (k) => dt > 0 ? (b.total[k] - a.total[k]) / dt : 0;
  return {
    rx_pps: Math.round(d("rx_packets")),
    tx_pps: Math.round(d("tx_packets")),
    rx_mbps: Math.round(d("rx_bytes") * 8 / 1e4) / 100,
    tx_mbps: Math.round(d("tx_bytes") * 8 / 1e4) / 100,
  };
}

function renderFigures(s) {
  const info = $("what");
  info.textContent = `${s.mode === "handler" ? s.handler : s.mode} on ${s.iface}: ` +
    `xdp ${s.xdp_mode}, bind ${s.bind_mode}`;
  const el = document.querySelector('[data-metric="elapsed"]');
  el.dataset.value = String(s.elapsed);
  el.textContent = s.elapsed.toFixed(0);

  for (const [k, v] of Object.entries(rates(prev, s))) setRow($("traffic"), `rates.${k}`, k, v);
  for (const [k, v] of numbers(s.total)) {
    if (!DROP_KEYS.includes(k)) setRow($("traffic"), `total.${k}`, k, v);
  }
  for (const k of DROP_KEYS) {
    if (typeof s.total[k] === "number") setRow($("drops"), `total.${k}`, k, s.total[k]);
  }
  const hc = numbers(s.handler_counters);
  for (const [k, v] of hc) setRow($("handler"), `handler_counters.${k}`, k, v);
  if (hc.length === 0) note($("handler"), "the handler has no counters");
  for (const [k, v] of numbers(s.program)) setRow($("program"), `program.${k}`, k, v);
  if (!s.program) note($("program"), "n/a: the XDP program is yours (--xdp-prog)");
  if (s.blocklist) {
    for (const [k, v] of numbers(s.blocklist)) setRow($("blocklist"), `blocklist.${k}`, k, v);
  } else note($("blocklist"), "no blocklist in this run");
  for (const [k, v] of numbers(s.total.xdp_statistics)) {
    setRow($("kernel"), `total.xdp_statistics.${k}`, k, v);
  }
  renderLatency(s.latency);
  renderQueues(s);
}

/** Percentiles of the per-frame clock (snapshot ns, shown in us) and their distributions. */
function renderLatency(l) {
  const table = $("latency");
  if (!l || !l.enabled) {
    note(table, l ? `per-frame clock ${l.reason}` : "not measured");
    $("latency-plot").textContent = "";
    return;
  }
  for (const [key, label] of [["xdp_to_handler", "XDP>handler"], ["xdp_to_tx", "XDP>TX"]]) {
    const h = l[key];
    setRow(table, `latency.${key}.count`, `${label} frames`, h.count);
    for (const p of ["p50", "p90", "p99", "p99_9", "max"]) {
      setRow(table, `latency.${key}.${p}`, `${label} ${p.replace("_", ".")} (us)`, h[p] / 1000);
    }
    if (h.unstamped > 0) {
      setRow(table, `latency.${key}.unstamped`, `${label} unstamped`, h.unstamped);
    }
  }
  $("latency-plot").replaceChildren(latencyPlot(l));
}

/**
 * Both distributions as step curves on one log-scale time axis (SVG): the share of frames per
 * bucket, each bucket drawn over its own width in log2(ns).
 */
function latencyPlot(l) {
  const NS = "http://www.w3.org/2000/svg";
  const W = 320, H = 120, pad = 18;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H + pad}`);
  svg.setAttribute("width", "100%");
  svg.dataset.points = "0";
  const series = [["xdp_to_handler", COLORS[0]], ["xdp_to_tx", COLORS[1]]];
  const all = series.flatMap(([k]) => l[k].buckets);
  if (all.length === 0) return svg;
  const lo = Math.log2(Math.max(1, Math.min(...all.map((b) => b[0])))) - 0.5;
  const hi = Math.log2(Math.max(...all.map((b) => b[1]))) + 0.5;
  const x = (ns) => ((Math.log2(Math.max(1, ns)) - lo) / (hi - lo)) * W;
  let top = 0;
  const dens = series.map(([k]) =>
    l[k].buckets.map(([a, b, c]) => {
      const d = c / l[k].count / (Math.log2(b) - Math.log2(Math.max(1, a)) || 1);
      top = Math.max(top, d);
      return [a, b, d];
    })
  );
  series.forEach(([k, color], i) => {
    if (dens[i].length === 0) return;
    let d = "";
    for (const [a, b, v] of dens[i]) {
      const y = H - (v / top) * (H - 4);
      d += `M${x(a).toFixed(1)},${H}V${y.toFixed(1)}H${x(b).toFixed(1)}V${H}`;
    }
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", color);
    path.setAttribute("fill-opacity", "0.35");
    path.setAttribute("stroke", color);
    path.dataset.series = k;
    svg.append(path);
  });
  // Axis ticks at powers of ten (ns).
  for (let t = 10; t < 2 ** hi; t *= 10) {
    if (Math.log2(t) < lo) continue;
    const text = document.createElementNS(NS, "text");
    text.setAttribute("x", x(t).toFixed(1));
    text.setAttribute("y", String(H + 14));
    text.setAttribute("font-size", "10");
    text.setAttribute("text-anchor", "middle");
    text.textContent = t >= 1e6 ? `${t / 1e6} ms` : t >= 1e3 ? `${t / 1e3} us` : `${t} ns`;
    svg.append(text);
  }
  // Legend: the series' colours.
  series.forEach(([k, color], i) => {
    const text = document.createElementNS(NS, "text");
    text.setAttribute("x", String(W - 4));
    text.setAttribute("y", String(10 + i * 11));
    text.setAttribute("font-size", "9");
    text.setAttribute("text-anchor", "end");
    text.setAttribute("fill", color);
    text.textContent = k === "xdp_to_handler" ? "XDP>handler" : "XDP>TX";
    svg.append(text);
  });
  svg.dataset.points = String(all.length);
  return svg;
}

/** The per-queue table: one column per queue, one row per counter. */
function renderQueues(s) {
  const table = $("queues");
  if (table.rows.length === 0) {
    const head = table.createTHead().insertRow();
    head.append(document.createElement("th"));
    for (const q of s.queues) {
      const th = document.createElement("th");
      th.textContent = `queue ${q.queue}`;
      head.append(th);
    }
  }
  const body = table.tBodies[0] ?? table.createTBody();
  const rows = [
    ...numbers(s.queues[0]).filter(([k]) => k !== "queue").map(([k]) => [k, (q) => q[k]]),
    ...numbers(s.queues[0]?.xdp_statistics).map(([k]) => [
      `xdp_statistics.${k}`,
      (q) => q.xdp_statistics[k],
    ]),
    ...[...new Set(s.queues.flatMap((q) => Object.keys(q.handler_counters ?? {})))].map((k) => [
      `handler_counters.${k}`,
      (q) => q.handler_counters?.[k] ?? 0,
    ]),
  ];
  for (const [key, get] of rows) {
    const path0 = `queues.0.${key}`;
    if (!cells.has(path0)) {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.textContent = key;
      tr.append(th);
      s.queues.forEach((_, i) => {
        const td = tr.insertCell();
        td.dataset.metric = `queues.${i}.${key}`;
        cells.set(td.dataset.metric, td);
      });
    }
    s.queues.forEach((q, i) => {
      const td = cells.get(`queues.${i}.${key}`);
      const v = get(q);
      td.dataset.value = String(v);
      td.textContent = fmt(v);
    });
  }
}

/** uPlot data: x (seconds since the epoch), then rx and tx packets per second of each queue. */
function chartData() {
  const xs = [];
  const cols = queueIds.flatMap(() => [[], []]);
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1], b = points[i], dt = b.e - a.e;
    if (!(dt > 0)) continue;
    xs.push(b.t / 1000);
    queueIds.forEach((_, j) => {
      cols[2 * j].push(Math.round((b.rx[j] - a.rx[j]) / dt));
      cols[2 * j + 1].push(Math.round((b.tx[j] - a.tx[j]) / dt));
    });
  }
  return [xs, ...cols];
}

function drawChart() {
  const box = $("chart");
  const data = chartData();
  if (!chart) {
    const series = [{}];
    queueIds.forEach((q, j) => {
      const stroke = COLORS[j % COLORS.length];
      series.push({ label: `rx q${q}`, stroke, width: 2 });
      series.push({ label: `tx q${q}`, stroke, width: 1, dash: [6, 4] });
    });
    chart = new uPlot(
      {
        width: Math.max(300, box.clientWidth),
        height: 260,
        series,
        axes: [{}, { label: "packets/s", size: 80 }],
        scales: { x: { time: true } },
      },
      data,
      box,
    );
    addEventListener("resize", () => chart.setSize({ width: box.clientWidth, height: 260 }));
  } else chart.setData(data);
  box.dataset.points = String(data[0].length);
}

function onHistory(e) {
  const h = JSON.parse(e.data);
  queueIds = h.queues;
  points = h.points;
  if (chart) {
    chart.destroy();
    chart = null;
  }
  drawChart();
}

function onSnapshot(e) {
  const { t, snapshot: s } = JSON.parse(e.data);
  if (queueIds.length === 0) queueIds = s.queues.map((q) => q.queue);
  const last = points[points.length - 1];
  if (!last || last.e < s.elapsed) {
    points.push({
      t,
      e: s.elapsed,
      rx: s.queues.map((q) => q.rx_packets),
      tx: s.queues.map((q) => q.tx_packets),
    });
    if (points.length > KEEP) points.shift();
  }
  renderFigures(s);
  prev = s;
  drawChart();
}

function setStatus(text, cls) {
  const st = $("status");
  st.textContent = text;
  st.className = cls;
}

const events = new EventSource("/events");
events.addEventListener("history", onHistory);
events.addEventListener("snapshot", onSnapshot);
events.onopen = () => setStatus("live", "live");
events.onerror = () => setStatus("disconnected: retrying", "down");
