/**
 * `--metrics HOST:PORT` on a real run: `/metrics` passes `promtool check metrics` and counts the
 * frames sent over a real veth exactly; the live page at `/`, opened in a real headless chromium
 * (npm puppeteer-core driving Debian's /usr/bin/chromium) while traffic flows, shows figures that
 * move and, once the traffic stops, equal the counters of `/metrics`, of `bypassrt ctl stats
 * --json` and of the run's final JSON; the page loads nothing but byPassRT's own URLs; the run
 * stops with the page still connected. A blocklist's drops are counted in both. Bad and busy
 * addresses fail with one line before anything is attached. And the server alone on
 * the loopback, with a fake snapshot source: every path, the history and the pushes of /events,
 * and close() with an event stream open.
 *
 * The metrics server listens on the loopback of the test's dut namespace (the CLI runs under
 * `ip netns exec`), so every client runs there too: python3 for plain fetches, and chromium
 * through a wrapper script that puppeteer starts with `--remote-debugging-pipe`.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "puppeteer-core";
import { chromiumIn } from "./_chromium.ts";
import {
  Bypassrt,
  cli,
  inNs,
  pktioSpawn,
  sendUdp,
  type Topology,
  withTopology,
  xdpAttached,
} from "./_netns.ts";
import { MetricsServer, parseMetricsAddress } from "../../cli/metrics_server.ts";
import { QUEUE_COUNTERS } from "../../engine/counters.ts";
import type { EngineSnapshot } from "../../engine/runtime.ts";
import { ZERO_XDP_STATISTICS } from "../../engine/xdp_stats.ts";
import { promtool } from "../../testing/promtool.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const ECHO = new URL("../../examples/udp_echo.ts", import.meta.url).pathname;
const FETCH = "import sys, urllib.request\n" +
  "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())";

/** GET `url` from inside namespace `ns`. */
function fetchIn(ns: string, url: string): Promise<string> {
  return inNs(ns, "python3", "-c", FETCH, url);
}

/** Poll `get` until `ok` holds for its value (bounded: a wait, not a timed assertion). */
async function waitFor<V>(
  what: string,
  get: () => Promise<V> | V,
  ok: (v: V) => boolean,
  ms = 30_000,
): Promise<V> {
  const end = Date.now() + ms;
  let v = await get();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}; last value: ${v}`);
    await new Promise((r) => setTimeout(r, 100));
    v = await get();
  }
  return v;
}

/** Every sample of the exposition: `name{labels}` -> value. */
function parseExposition(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

/** Sum of a metric's samples over every label set. */
function sum(samples: Map<string, number>, name: string): number {
  let total = 0, found = false;
  for (const [k, v] of samples) {
    if (k.startsWith(`${name}{`)) {
      total += v;
      found = true;
    }
  }
  assert.ok(found, `${name} is not in /metrics`);
  return total;
}

/** The exact number behind the page's `data-metric` element, or NaN while it is not there. */
function figure(page: Page, path: string): Promise<number> {
  // A string (this file is not type-checked against the DOM); `path` is one of ours.
  return page.evaluate(`(() => {
    const el = document.querySelector('[data-metric="${path}"]');
    return el && el.dataset.value !== undefined ? Number(el.dataset.value) : NaN;
  })()`) as Promise<number>;
}

/** The run's metrics base URL, from its stderr line. */
function metricsUrl(b: Bypassrt): Promise<string> {
  return waitFor(
    "the metrics line on stderr",
    () => /metrics on (http:\/\/\S+\/)metrics/.exec(b.stderr)?.[1] ?? "",
    (u) => u !== "",
  );
}

/** Open `base` in a new tab; every URL it requests is recorded, any other than ours refused. */
async function openPage(browser: Browser, base: string) {
  const page = await browser.newPage();
  const requested: string[] = [];
  await page.setRequestInterception(true);
  page.on("request", (r) => {
    requested.push(r.url());
    if (r.url().startsWith(base)) r.continue();
    else r.abort();
  });
  await page.goto(base);
  return { page, requested };
}

/** Counters that stop moving once the traffic has stopped (loops and idle polls never do). */
const STABLE = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "app_dropped", "unhandled"];

Deno.test("--metrics: /metrics and the live page under real traffic", T, async () => {
  await withTopology(async (t: Topology) => {
    const frames = 6000, size = 100;
    const b = new Bypassrt(t.dut, [
      "--iface",
      t.dutIf,
      "--handler",
      ECHO,
      "--handler-options",
      '{"port":9000}',
      "--no-handler-check",
      "--steer",
      "udp:9000",
      "--metrics",
      "127.0.0.1:0",
    ]);
    const dir = await Deno.makeTempDir({ prefix: "bypassrt-metrics-test-" });
    let browser: Browser | undefined;
    try {
      await b.ready();
      const base = await metricsUrl(b);
      assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/);

      // Before traffic: a valid exposition with every queue counter at 0.
      const before = await fetchIn(t.dut, `${base}metrics`);
      const check0 = await promtool(before);
      assert.equal(check0.code, 0, check0.out);
      assert.equal(sum(parseExposition(before), "bypassrt_rx_packets_total"), 0);

      browser = await chromiumIn(t.dut, dir);
      const { page, requested } = await openPage(browser, base);
      await waitFor(
        "the page's first snapshot",
        () => figure(page, "total.rx_packets"),
        (v) => v === 0,
      );

      // While the traffic flows, the page's figures and its chart move.
      const sender = pktioSpawn(
        t.peer,
        ...`send --iface ${t.peerIf} --dst-mac ${t.dutMac} --count ${frames} --port 9000 --size ${size} --gap-us 15000`
          .split(" "),
      );
      const first = await waitFor(
        "rx_packets on the page to leave 0",
        () => figure(page, "total.rx_packets"),
        (v) => v > 0,
      );
      assert.ok(first < frames, `the page saw ${first} only once all ${frames} had arrived`);
      const second = await waitFor(
        "rx_packets on the page to grow",
        () => figure(page, "total.rx_packets"),
        (v) => v > first,
      );
      assert.ok(second > first);
      const chart = await waitFor(
        "the chart to show a non-zero rx rate",
        () =>
          // A string: `chart` is a top-level binding of the page's script, not a property.
          page.evaluate(`({
            points: Number(document.getElementById("chart").dataset.points),
            canvas: document.querySelector("#chart canvas") !== null,
            maxRx: chart ? Math.max(0, ...chart.data[1]) : 0,
          })`) as Promise<{ points: number; canvas: boolean; maxRx: number }>,
        (c) => c.points >= 2 && c.canvas && c.maxRx > 0,
      );
      assert.ok(chart.maxRx > 0);
      assert.ok(await figure(page, "rates.rx_pps") >= 0);

      const sent = await sender.output();
      assert.equal(sent.code, 0, new TextDecoder().decode(sent.stderr));

      // After the traffic: /metrics counts every frame exactly, and passes promtool.
      const read = async () => parseExposition(await fetchIn(t.dut, `${base}metrics`));
      const after = await waitFor(
        `/metrics to count ${frames} frames received and sent`,
        read,
        (m) =>
          sum(m, "bypassrt_rx_packets_total") === frames &&
          sum(m, "bypassrt_tx_packets_total") === frames,
      );
      const text = await fetchIn(t.dut, `${base}metrics`);
      const check = await promtool(text);
      assert.equal(check.code, 0, check.out);
      assert.equal(sum(after, "bypassrt_rx_bytes_total"), frames * size);
      assert.equal(sum(after, "bypassrt_tx_bytes_total"), frames * size);
      assert.equal(sum(after, "bypassrt_xdp_program_redirected_total"), frames);
      assert.equal(
        after.get(`bypassrt_handler_count_total{iface="${t.dutIf}",queue="0",name="echoed"}`),
        frames,
      );
      assert.ok(after.has(`bypassrt_up{iface="${t.dutIf}"}`));
      assert.ok(after.has(`bypassrt_free_frames{iface="${t.dutIf}",queue="0"}`));
      // The per-frame clock: every frame received reached the handler and TX stamped.
      for (const point of ["xdp_to_handler", "xdp_to_tx"]) {
        const q0 = `iface="${t.dutIf}",queue="0"`;
        assert.equal(after.get(`bypassrt_${point}_seconds_count{${q0}}`), frames, point);
        assert.equal(after.get(`bypassrt_${point}_seconds_bucket{${q0},le="+Inf"}`), frames);
        assert.ok(after.get(`bypassrt_${point}_seconds_sum{${q0}}`)! > 0, point);
      }

      // The page's totals equal /metrics (the page updates once a second: wait for it).
      await waitFor(
        "the page's totals to settle",
        () => figure(page, "total.tx_packets"),
        (v) => v === frames,
      );
      for (const k of STABLE) {
        assert.equal(await figure(page, `total.${k}`), sum(after, `bypassrt_${k}_total`), k);
        assert.equal(await figure(page, `queues.0.${k}`), sum(after, `bypassrt_${k}_total`), k);
      }
      assert.equal(await figure(page, "handler_counters.echoed"), frames);
      assert.equal(await figure(page, "queues.0.handler_counters.echoed"), frames);
      assert.equal(await figure(page, "program.redirected"), frames);
      await waitFor(
        "the page's latency panel to count every frame",
        () => figure(page, "latency.xdp_to_tx.count"),
        (v) => v === frames,
      );
      assert.equal(await figure(page, "latency.xdp_to_handler.count"), frames);
      assert.ok(await figure(page, "latency.xdp_to_handler.p50") > 0);
      const plotted = await page.evaluate(
        `Number(document.querySelector("#latency-plot svg").dataset.points)`,
      ) as number;
      assert.ok(plotted > 0, "the latency plot has no buckets");
      // What the program passes to the kernel is not the test's traffic (the peer's kernel may
      // send a frame at any time): the page must catch up with /metrics, read afresh.
      for (const k of ["passed", "dropped"]) {
        await waitFor(
          `the page's program.${k} to equal /metrics'`,
          async () => [
            await figure(page, `program.${k}`),
            sum(await read(), `bypassrt_xdp_program_${k}_total`),
          ],
          ([p, m]) => p === m,
        );
      }
      assert.equal(
        await figure(page, "total.xdp_statistics.rx_dropped"),
        sum(after, "bypassrt_kernel_rx_dropped_total"),
      );
      await waitFor(
        "the page's free frames to equal /metrics'",
        async () => [
          await figure(page, "total.free_frames"),
          sum(await read(), "bypassrt_free_frames"),
        ],
        ([p, m]) => p === m && p > 0,
      );
      // And `bypassrt ctl stats --json` (the control socket is a file: no namespace needed).
      const ctl = await cli(["ctl", "--iface", t.dutIf, "stats", "--json"]);
      assert.equal(ctl.code, 0, ctl.stderr);
      const stats = JSON.parse(ctl.stdout) as {
        total: Record<string, number>;
        program: Record<string, number>;
        handler_counters: Record<string, number>;
      };
      for (const k of STABLE) {
        assert.equal(stats.total[k], sum(after, `bypassrt_${k}_total`), `ctl stats ${k}`);
        assert.equal(stats.total[k], await figure(page, `total.${k}`), `ctl stats ${k}`);
      }
      assert.equal(stats.program.redirected, await figure(page, "program.redirected"));
      assert.equal(stats.handler_counters.echoed, frames);

      // Nothing but byPassRT's own URLs, and the page's files came from it.
      const foreign = requested.filter((u) => !u.startsWith(base));
      assert.deepEqual(foreign, []);
      for (const p of ["", "app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css", "events"]) {
        assert.ok(requested.includes(base + p), `${p} was not requested: ${requested}`);
      }

      // Stop with the page still connected: the run ends, the page sees it go.
      const st = await Promise.race([
        b.stop("SIGINT"),
        new Promise<never>((_, rej) =>
          setTimeout(() => rej(new Error("the run did not stop with a page connected")), 30_000)
        ),
      ]);
      assert.equal(st.code, 0, b.stderr);
      const final = b.final();
      for (const k of STABLE) {
        assert.equal(final.total[k], sum(after, `bypassrt_${k}_total`), k);
      }
      assert.equal(final.total.rx_packets, frames);
      assert.ok(final.balanced);
      assert.equal(final.handler_counters.echoed, frames);
      await waitFor(
        "the page to see the run end",
        () => page.$eval("#status", (e) => e.textContent),
        (s) => s !== "live",
      );
    } finally {
      await browser?.close();
      await b.stop("SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("--metrics: blocklist drops in /metrics and on the page", T, async () => {
  await withTopology(async (t: Topology) => {
    const frames = 500;
    const dir = await Deno.makeTempDir({ prefix: "bypassrt-metrics-test-" });
    // pktio sends from 10.0.0.2: every frame is dropped at the XDP hook, none reaches the loop.
    await Deno.writeTextFile(`${dir}/block.txt`, `# the peer\n${t.peerIp}/32\n`);
    const b = new Bypassrt(t.dut, [
      ...`--iface ${t.dutIf} --mode rxdrop --steer all --block-file ${dir}/block.txt`.split(" "),
      ...["--metrics", "127.0.0.1:0"],
    ]);
    let browser: Browser | undefined;
    try {
      await b.ready();
      const base = await metricsUrl(b);
      browser = await chromiumIn(t.dut, dir);
      const { page, requested } = await openPage(browser, base);
      await sendUdp(t, frames, 9000);
      const m = await waitFor(
        `/metrics to count ${frames} blocked frames`,
        async () => parseExposition(await fetchIn(t.dut, `${base}metrics`)),
        (m) => sum(m, "bypassrt_blocklist_dropped_total") === frames,
      );
      assert.equal(sum(m, "bypassrt_xdp_program_blocked_total"), frames);
      assert.equal(sum(m, "bypassrt_blocklist_prefixes"), 1);
      assert.ok(sum(m, "bypassrt_blocklist_capacity") >= 1);
      assert.equal(sum(m, "bypassrt_rx_packets_total"), 0);
      const check = await promtool(await fetchIn(t.dut, `${base}metrics`));
      assert.equal(check.code, 0, check.out);
      await waitFor(
        "the page's blocklist drops",
        () => figure(page, "blocklist.dropped"),
        (v) => v === frames,
      );
      assert.equal(await figure(page, "program.blocked"), frames);
      assert.equal(await figure(page, "blocklist.prefixes"), 1);
      assert.equal(await figure(page, "total.rx_packets"), 0);
      assert.deepEqual(requested.filter((u) => !u.startsWith(base)), []);
      await browser.close();
      browser = undefined;
      const st = await b.stop("SIGINT");
      assert.equal(st.code, 0, b.stderr);
      assert.equal(b.final().program.blocked, frames);
    } finally {
      await browser?.close();
      await b.stop("SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("--metrics: a bad or busy address is one line, exit 1, nothing attached", T, async () => {
  await withTopology(async (t) => {
    for (const bad of ["nonsense", "127.0.0.1:70000", "127.0.0.1", ":9100"]) {
      const r = await cli(["--iface", t.dutIf, "--metrics", bad], { ns: t.dut });
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(r.stderr.trim().split("\n"), [
        `bypassrt: error: --metrics "${bad}" is invalid: give HOST:PORT, e.g. 127.0.0.1:9100 ` +
        `(port 0-65535, 0 picks a free one; [::1]:9100 for IPv6)`,
      ]);
      assert.equal(await xdpAttached(t.dut, t.dutIf), false);
    }
    // A port someone else holds, in the same namespace.
    const holder = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        t.dut,
        "python3",
        "-c",
        "import socket, sys\ns = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n" +
        "print(s.getsockname()[1], flush=True); sys.stdin.read()",
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    try {
      const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const port = Number((await reader.read()).value?.trim());
      assert.ok(port > 0);
      const r = await cli(["--iface", t.dutIf, "--metrics", `127.0.0.1:${port}`], { ns: t.dut });
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(r.stderr.trim().split("\n"), [
        `bypassrt: error: --metrics 127.0.0.1:${port}: the port is in use: ` +
        `pick another one (0 picks a free port)`,
      ]);
      assert.equal(await xdpAttached(t.dut, t.dutIf), false);
      // An address this host does not have.
      // An address the dut namespace does not have (the peer's): nothing is sent, bind fails.
      const r2 = await cli(["--iface", t.dutIf, "--metrics", `${t.peerIp}:9100`], { ns: t.dut });
      assert.equal(r2.code, 1, r2.stderr);
      assert.deepEqual(r2.stderr.trim().split("\n"), [
        `bypassrt: error: --metrics ${t.peerIp}:9100: no such local address: ` +
        `give one of this host's addresses, e.g. 127.0.0.1`,
      ]);
      assert.equal(await xdpAttached(t.dut, t.dutIf), false);
      reader.releaseLock();
    } finally {
      await holder.stdin.close();
      await holder.status;
    }
  });
});

/** A snapshot whose rx_packets is `n` on its one queue (queue 3). */
function fakeSnapshot(n: number): EngineSnapshot {
  const q = { queue: 3 } as EngineSnapshot["queues"][number];
  for (const d of QUEUE_COUNTERS) q[d.key] = 0;
  q.rx_packets = n;
  q.xdp_statistics = { ...ZERO_XDP_STATISTICS };
  q.handler_counters = { 'we"ird': n };
  const { queue: _q, handler_counters: _h, ...total } = q;
  // An assertion, not an annotation: the snapshot may grow keys (blocklist, ...) this one lacks.
  return {
    iface: "fake0",
    mode: "rxdrop",
    handler: "/x/rxdrop.ts",
    xdp_mode: "native",
    bind_mode: "copy",
    busy_poll: null,
    elapsed: n,
    queues: [q],
    total,
    program: { redirected: n, passed: 0, dropped: 0 } as EngineSnapshot["program"],
    blocklist: { prefixes: 2, capacity: 8, dropped: n },
    handler_counters: { 'we"ird': n },
    latency: { enabled: false, reason: "fake" },
  } as EngineSnapshot;
}

/** Read Server-Sent Events from `body` until `enough` says so; returns [event, data] pairs. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  enough: (events: [string, string][]) => boolean,
): Promise<{ events: [string, string][]; reader: ReadableStreamDefaultReader<string> }> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const events: [string, string][] = [];
  let buf = "";
  while (!enough(events)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the event stream ended after ${events.length} events`);
    buf += value;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (ev && data !== undefined) events.push([ev, data]);
    }
  }
  return { events, reader };
}

Deno.test(
  "metrics server on loopback: paths, history, pushes, close with a stream open",
  T,
  async () => {
    assert.deepEqual(parseMetricsAddress("127.0.0.1:9100"), { hostname: "127.0.0.1", port: 9100 });
    assert.deepEqual(parseMetricsAddress("[::1]:0"), { hostname: "::1", port: 0 });
    assert.deepEqual(parseMetricsAddress("localhost:80"), { hostname: "localhost", port: 80 });
    for (const bad of ["", "9100", "host:", "host:65536", "a b:1", "::1:9100", "[x]:1"]) {
      assert.throws(() => parseMetricsAddress(bad), /--metrics .* is invalid: give HOST:PORT/, bad);
    }
    const server = MetricsServer.listen({ hostname: "127.0.0.1", port: 0 }, {
      intervalMs: 50,
      historyLength: 4,
    });
    let closed = false;
    try {
      // Before serve(): up, but nothing to report yet.
      assert.equal((await fetch(`${server.url}metrics`)).status, 503);
      let n = 0;
      server.serve(() => fakeSnapshot(++n));
      const m = await fetch(`${server.url}metrics`);
      assert.equal(m.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const text = await m.text();
      assert.match(
        text,
        /^bypassrt_handler_count_total\{iface="fake0",queue="3",name="we\\"ird"\} \d+$/m,
      );
      assert.match(text, /^bypassrt_blocklist_dropped_total\{iface="fake0"\} \d+$/m);
      const check = await promtool(text);
      assert.equal(check.code, 0, check.out);
      const snap = await (await fetch(`${server.url}snapshot.json`)).json();
      assert.equal(snap.iface, "fake0");
      assert.equal((await fetch(`${server.url}nope`)).status, 404);
      assert.equal((await fetch(`${server.url}metrics`, { method: "POST" })).status, 405);
      for (
        const [p, type] of [["", "text/html"], ["app.js", "text/javascript"], [
          "uPlot.iife.min.js",
          "text/javascript",
        ], ["uPlot.min.css", "text/css"]]
      ) {
        const r = await fetch(server.url + p);
        assert.equal(r.status, 200, p);
        assert.ok(r.headers.get("content-type")?.startsWith(type), p);
        assert.equal(
          r.headers.get("content-security-policy"),
          "default-src 'self'; img-src 'self' data:",
        );
        assert.ok((await r.text()).length > 100, p);
      }

      // Wait for the history to be full (4 points), then connect: history first, then pushes.
      await waitFor("4 snapshots taken", () => n, (v) => v >= 6);
      const res = await fetch(`${server.url}events`);
      assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
      const { events, reader } = await readEvents(res.body!, (e) => e.length >= 4);
      assert.equal(events[0][0], "history");
      const history = JSON.parse(events[0][1]);
      assert.deepEqual(history.queues, [3]);
      assert.equal(history.points.length, 4);
      const rx = history.points.map((p: { rx: number[] }) => p.rx[0]);
      // In order (scrapes of /metrics take snapshots of their own: n may jump between points).
      for (let i = 1; i < 4; i++) assert.ok(rx[i] > rx[i - 1], `${rx}`);
      const pushed = events.slice(1).map(([e, d]) => {
        assert.equal(e, "snapshot");
        return JSON.parse(d).snapshot.queues[0].rx_packets;
      });
      // The latest snapshot right away, then each new one once.
      assert.equal(pushed[0], rx[3]);
      assert.deepEqual(pushed.slice(1), [pushed[0] + 1, pushed[0] + 2]);

      // close() ends the open stream and returns.
      await server.close();
      closed = true;
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
      }
    } finally {
      if (!closed) await server.close();
    }
  },
);
