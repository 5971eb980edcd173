/**
 * The Prometheus exposition (engine/metrics.ts) of a fixed snapshot: names, labels, escaping,
 * HELP/TYPE lines. (The real parser's verdict on the same snapshot: tests/local/metrics_promtool_test.ts.)
 */
import assert from "node:assert/strict";
import { escapeLabel, prometheusText } from "../../engine/metrics.ts";
import { QUEUE_COUNTERS } from "../../engine/counters.ts";
import type { EngineSnapshot } from "../../engine/runtime.ts";
import { ZERO_XDP_STATISTICS } from "../../engine/xdp_stats.ts";
import { fixture, WEIRD } from "./_metrics_fixture.ts";

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
    // A histogram's samples are NAME_bucket, NAME_sum and NAME_count.
    const name = /^(\w+?)(_bucket|_sum|_count)?\{/.exec(line);
    assert.ok(
      line.startsWith(`${current}{`) ||
        (current.endsWith("_seconds") && name?.[1] === current && name[2] !== undefined),
      `${line} outside its family ${current}`,
    );
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
