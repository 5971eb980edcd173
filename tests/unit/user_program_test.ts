/**
 * `--xdp-prog` without root: the flags (refusals before anything is attached), the verifier
 * line picked from a log, and every printer of a snapshot whose program is the user's (n/a,
 * never zeros).
 */
import { ok, strictEqual, throws } from "node:assert/strict";
import { engineOptionsFromFlags, type RunFlags } from "../../cli/run_options.ts";
import { lastVerifierText } from "../../engine/user_xdp_program.ts";
import { prometheusText } from "../../engine/metrics.ts";
import { plainLine, rates, summary } from "../../cli/report.ts";
import { renderTable } from "../../cli/table.ts";
import type { EngineReport, EngineSnapshot } from "../../engine/runtime.ts";
import { fixture } from "./_metrics_fixture.ts";

const BASE: RunFlags = {
  iface: "veth0",
  queue: "0",
  burst: "64",
  frames: "4096",
  frameSize: "2048",
  ringSize: "2048",
  xdpMode: "auto",
  bind: "auto",
  pollMs: "0",
  udpPort: "4242",
  size: "60",
};

// Runs with --allow-ffi only (deno task test:unit): these refusals come before the file is read;
// the file checks themselves are in tests/net/xdp_prog_test.ts.
Deno.test("--xdp-prog: flags that need our program are refused first, in one line", () => {
  for (
    const [flags, want] of [
      [{ steer: "udp:5000" }, /--steer does not go with --xdp-prog/],
      [{ steer: "all" }, /--steer does not go with --xdp-prog/],
      [{ blockFile: "/dev/null" }, /--block-file does not go with --xdp-prog/],
      [{ blockMax: "10" }, /--block-max does not go with --xdp-prog/],
    ] as const
  ) {
    throws(() => engineOptionsFromFlags({ ...BASE, xdpProg: "mine.o", ...flags }), want);
  }
  throws(
    () => engineOptionsFromFlags({ ...BASE, xdpSection: "xdp" }),
    /--xdp-section goes with --xdp-prog/,
  );
});

Deno.test("--no-keep-warm reaches the loop's options; keeping warm is the default", () => {
  strictEqual(engineOptionsFromFlags({ ...BASE }).loop.keepWarm, true);
  strictEqual(engineOptionsFromFlags({ ...BASE, keepWarm: false }).loop.keepWarm, false);
});

Deno.test("the verifier's last meaningful line, statistics and instructions skipped", () => {
  const log = [
    "0: R1=ctx(off=0,imm=0) R10=fp0",
    "; if (data[12] == 0x08)",
    "2: (71) r1 = *(u8 *)(r2 +12)",
    "invalid access to packet, off=12 size=1, R2(id=0,off=12,r=0)",
    "R2 offset is outside of the packet",
    "processed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0",
    "",
  ].join("\n");
  strictEqual(
    lastVerifierText(log),
    "invalid access to packet, off=12 size=1, R2(id=0,off=12,r=0): " +
      "R2 offset is outside of the packet",
  );
  strictEqual(lastVerifierText("2: (85) call foo#7\nunknown func foo#7\n"), "unknown func foo#7");
  strictEqual(lastVerifierText("processed 1 insns\n"), "");
});

function userSnapshot(): EngineSnapshot {
  const f = fixture();
  return {
    ...f,
    total: f.queues[0], // the printers read total; any queue's numbers do
    program: null,
    blocklist: null,
    user_program: { file: "my.o", section: "xdp", name: "mine", id: 42 },
  };
}

Deno.test("a user's program: printers say n/a, metrics have no program or blocklist series", () => {
  const s = userSnapshot();
  const text = prometheusText(s);
  ok(!text.includes("bypassrt_xdp_program_"), text);
  ok(!text.includes("bypassrt_blocklist_"), text);
  ok(text.includes("bypassrt_rx_packets_total"), text);
  const r = rates(undefined, s);
  ok(plainLine(s, r).includes("xdp_program=n/a"));
  ok(!/xdp_redirected/.test(plainLine(s, r)));
  ok(/XDP program: yours \(my\.o, section xdp\): counters n\/a/.test(renderTable(s, r)));
  const report: EngineReport = {
    ...s,
    audits: [],
    balanced: true,
    errors: [],
    exits: [],
  };
  const sum = summary(report);
  ok(sum.includes("xdp program: my.o (section xdp): counters n/a"), sum);
  ok(sum.includes("blocklist: n/a"), sum);
});

Deno.test("live table header: the multi-buffer mode shows when the sockets chain buffers", () => {
  const s = userSnapshot();
  const r = rates(undefined, s);
  const head = (x: EngineSnapshot) => renderTable(x, r).split("\n")[0];
  ok(!head({ ...s, multi_buffer: { on: false, mtu: 1500, buffer_bytes: 1792 } }).includes("multi"));
  const on = head({ ...s, multi_buffer: { on: true, mtu: 9000, buffer_bytes: 1792 } });
  ok(on.includes("multi-buffer MTU 9000/1792 B"), on);
});
