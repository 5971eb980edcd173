/**
 * The Prometheus exposition (engine/metrics.ts) of a fixed snapshot: names, labels, escaping,
 * HELP/TYPE lines, and the real parser's verdict (`promtool check metrics`, from Debian's
 * prometheus package; `deno task test:unit` allows running it and nothing else).
 */
import assert from "node:assert/strict";
import { QUEUE_COUNTERS } from "../../engine/counters.ts";
import { escapeLabel, prometheusText } from "../../engine/metrics.ts";
import type { EngineSnapshot, QueueSnapshot } from "../../engine/runtime.ts";
import { ZERO_XDP_STATISTICS } from "../../engine/xdp_stats.ts";

/** Queue `q` with counter i (definition order) = 1000 * (q + 1) + i. */
function queue(q: number, handler: Record<string, number>): QueueSnapshot {
  const s = { queue: q } as QueueSnapshot;
  QUEUE_COUNTERS.forEach((d, i) => s[d.key] = 1000 * (q + 1) + i);
  s.xdp_statistics = { ...ZERO_XDP_STATISTICS, rx_dropped: 7 + q, rx_ring_full: 3 };
  s.handler_counters = handler;
  return s;
}

const WEIRD = 'a "quoted" \\ back\nslash';

/** A snapshot with two queues, a blocklist, odd handler counter names and an odd handler path. */
function fixture(): EngineSnapshot & { blocklist: Record<string, number> } {
  const queues = [queue(0, { echoed: 5, [WEIRD]: 1 }), queue(1, { echoed: 6, [WEIRD]: 0 })];
  return {
    iface: "veth-bypass",
    mode: "handler",
    handler: '/tmp/my "x".ts',
    xdp_mode: "native",
    bind_mode: "copy",
    elapsed: 12.3456,
    queues,
    total: {} as EngineSnapshot["total"], // not exported: Prometheus sums per-queue series
    program: { redirected: 100, passed: 20, dropped: 1, blocked: 9 } as EngineSnapshot["program"],
    handler_counters: { echoed: 11, [WEIRD]: 1 },
    blocklist: { prefixes: 2, capacity: 1048576, dropped: 9 },
  };
}

/** Samples of one metric: labels string -> value. */
function samples(text: string, name: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`)) {
      const end = line.lastIndexOf("} ");
      m.set(line.slice(name.length + 1, end), line.slice(end + 2));
    }
  }
  return m;
}

Deno.test("exposition: every queue counter per queue, with HELP from counters.ts and its TYPE", () => {
  const text = prometheusText(fixture());
  QUEUE_COUNTERS.forEach((d, i) => {
    const name = d.kind === "counter" ? `bypassrt_${d.key}_total` : `bypassrt_${d.key}`;
    assert.ok(text.includes(`# HELP ${name} ${d.help}\n# TYPE ${name} ${d.kind}\n`), name);
    assert.deepEqual(
      samples(text, name),
      new Map([
        ['iface="veth-bypass",queue="0"', String(1000 + i)],
        ['iface="veth-bypass",queue="1"', String(2000 + i)],
      ]),
      name,
    );
  });
  assert.ok(text.includes("# TYPE bypassrt_free_frames gauge\n"));
  assert.ok(!text.includes("bypassrt_free_frames_total"));
  assert.ok(text.endsWith("\n"));
});

Deno.test("exposition: kernel statistics per queue, program, blocklist totals, up, info", () => {
  const text = prometheusText(fixture());
  assert.deepEqual(
    samples(text, "bypassrt_kernel_rx_dropped_total"),
    new Map([['iface="veth-bypass",queue="0"', "7"], ['iface="veth-bypass",queue="1"', "8"]]),
  );
  for (const k of Object.keys(ZERO_XDP_STATISTICS)) {
    assert.ok(text.includes(`# TYPE bypassrt_kernel_${k}_total counter\n`), k);
  }
  for (const [k, v] of [["redirected", 100], ["passed", 20], ["dropped", 1], ["blocked", 9]]) {
    assert.deepEqual(
      samples(text, `bypassrt_xdp_program_${k}_total`),
      new Map([['iface="veth-bypass"', String(v)]]),
    );
  }
  assert.deepEqual(
    samples(text, "bypassrt_blocklist_dropped_total"),
    new Map([['iface="veth-bypass"', "9"]]),
  );
  assert.ok(text.includes("# TYPE bypassrt_blocklist_prefixes gauge\n"));
  assert.ok(text.includes('bypassrt_blocklist_capacity{iface="veth-bypass"} 1048576\n'));
  assert.ok(text.includes('bypassrt_up{iface="veth-bypass"} 1\n'));
  assert.ok(text.includes('bypassrt_uptime_seconds{iface="veth-bypass"} 12.346\n'));
  assert.ok(
    text.includes(
      'bypassrt_info{iface="veth-bypass",mode="handler",handler="/tmp/my \\"x\\".ts",' +
        'xdp_mode="native",bind_mode="copy"} 1\n',
    ),
  );
});

Deno.test("exposition: handler counters by name, label values escaped", () => {
  assert.equal(escapeLabel(WEIRD), 'a \\"quoted\\" \\\\ back\\nslash');
  const text = prometheusText(fixture());
  assert.deepEqual(
    samples(text, "bypassrt_handler_count_total"),
    new Map([
      ['iface="veth-bypass",queue="0",name="echoed"', "5"],
      [`iface="veth-bypass",queue="0",name="${escapeLabel(WEIRD)}"`, "1"],
      ['iface="veth-bypass",queue="1",name="echoed"', "6"],
      [`iface="veth-bypass",queue="1",name="${escapeLabel(WEIRD)}"`, "0"],
    ]),
  );
  // Every line is a comment or one sample: the escaped newline split nothing.
  for (const line of text.trimEnd().split("\n")) {
    assert.match(line, /^(# (HELP|TYPE) bypassrt_\w+ .+|bypassrt_\w+\{.*\} [-+0-9.eInfNa]+)$/);
  }
});

Deno.test("exposition: each family once, HELP then TYPE then its samples together", () => {
  const text = prometheusText(fixture());
  const seen = new Set<string>();
  let current = "";
  for (const line of text.trimEnd().split("\n")) {
    const help = /^# HELP (\w+) /.exec(line);
    if (help) {
      assert.ok(!seen.has(help[1]), `${help[1]} twice`);
      seen.add(help[1]);
      current = help[1];
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      assert.ok(line.startsWith(`# TYPE ${current} `), line);
      continue;
    }
    assert.ok(line.startsWith(`${current}{`), `${line} outside its family ${current}`);
  }
});

Deno.test("exposition without a blocklist, handler counters or program keys we know", () => {
  const s: EngineSnapshot = { ...fixture(), program: { newthing: 4 } as never };
  delete (s as { blocklist?: unknown }).blocklist;
  s.queues.forEach((q) => q.handler_counters = {});
  const text = prometheusText(s);
  assert.ok(!text.includes("bypassrt_blocklist"));
  assert.ok(!text.includes("bypassrt_handler_count_total"));
  assert.ok(text.includes('bypassrt_xdp_program_newthing_total{iface="veth-bypass"} 4\n'));
});

/** `promtool check metrics` on `text`: its exit code and what it printed. */
async function promtool(text: string): Promise<{ code: number; out: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const r = await child.output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("promtool check metrics accepts the exposition (lint included)", async () => {
  const r = await promtool(prometheusText(fixture()));
  assert.equal(r.code, 0, r.out);
  // The checker can fail: a counter without _total is reported.
  const bad = await promtool("# HELP x_bytes b\n# TYPE x_bytes counter\nx_bytes 1\n");
  assert.notEqual(bad.code, 0, bad.out);
});
