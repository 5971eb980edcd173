/**
 * Several interfaces, the parts without a kernel: `b.port`/`b.forward` verdicts and their
 * checks, the interface-list checks, the per-interface snapshot and its metrics. (The fake kernel
 * models one socket over its own UMEM, so two ports on one shared UMEM are tested on real veths:
 * tests/net/fwd_test.ts.)
 */
import assert from "node:assert/strict";
import { fakePort } from "../../testing/fake_kernel.ts";
import { BurstState, FORWARD } from "../../engine/loop.ts";
import {
  checkIfaces,
  interfaceSnapshots,
  MAX_IFACES,
  sumProgramCounters,
} from "../../engine/more_ports.ts";
import { PORT_COUNTERS } from "../../engine/counters.ts";
import { prometheusText } from "../../engine/metrics.ts";
import { fixture } from "./_metrics_fixture.ts";
import fwd from "../../handlers/fwd.ts";
import { LoopContext } from "../../engine/loop.ts";
import { newStatsBlock } from "../../engine/stats.ts";

Deno.test("b.forward: another port gets FORWARD + port, the frame's own port is send", () => {
  const { port } = fakePort({ frames: 64 });
  const b = new BurstState(port, 8, 0, { ports: 3 });
  b.length = 4;
  b.rxPort = 1;
  b.lens.set([60, 60, 60, 60]);
  b.forward(0, 0);
  b.forward(1, 1);
  b.forward(2, 2, 42);
  b.drop(3);
  assert.deepEqual([...b.act.slice(0, 4)], [FORWARD + 0, 1, FORWARD + 2, -1]);
  assert.equal(b.lens[2], 42);
  assert.equal(b.port(0), 1);
  assert.equal(b.ports, 3);
  assert.throws(() => b.forward(0, 3), /port 3 does not exist \(0\.\.2\)/);
  assert.throws(() => b.forward(0, -1), RangeError);
  assert.throws(() => b.forward(4, 0), /outside this burst/);
  assert.throws(() => b.port(4), /outside this burst/);
  assert.throws(() => b.forward(0, 2, 5000), /length must be/);
  port.close();
});

Deno.test("b.forward with one interface: port 0 is send, any other throws", () => {
  const { port } = fakePort({ frames: 64 });
  const b = new BurstState(port, 8);
  b.length = 1;
  b.forward(0, 0);
  assert.equal(b.act[0], 1);
  assert.equal(b.port(0), 0);
  assert.throws(() => b.forward(0, 1), /port 1 does not exist \(0\.\.0\)/);
  port.close();
});

Deno.test("--mode fwd: A -> B, B -> A; with three: round (0 -> 1 -> 2 -> 0)", () => {
  const { port } = fakePort({ frames: 64 });
  for (const [ports, from, to] of [[2, 0, 1], [2, 1, 0], [3, 1, 2], [3, 2, 0]]) {
    const b = new BurstState(port, 8, 0, { ports });
    const ctx = new LoopContext(port, {
      options: {},
      counters: new Float64Array(1),
      queue: 0,
      mac: new Uint8Array(6),
      capacity: 8,
      stats: newStatsBlock(),
    });
    b.length = 3;
    b.rxPort = from;
    fwd.burst(b, ctx);
    assert.deepEqual([...b.act.slice(0, 3)], [FORWARD + to, FORWARD + to, FORWARD + to]);
    assert.equal(ctx.counters[0], 3);
  }
  port.close();
});

Deno.test("interface lists: duplicates, too many, fwd with one, with --xdp-prog or toKernel", () => {
  const ok = { fwd: true, userProgram: false };
  checkIfaces(["a", "b"], ok);
  checkIfaces(["a"], { fwd: false, userProgram: true, toKernel: true });
  assert.throws(() => checkIfaces(["a", "a"], ok), /--iface names a twice/);
  assert.throws(() => checkIfaces(["a", ""], ok), /empty name/);
  const many = Array.from({ length: MAX_IFACES + 1 }, (_, i) => `v${i}`);
  assert.throws(() => checkIfaces(many, ok), /at most 8 per run/);
  assert.throws(() => checkIfaces(["a"], ok), /--mode fwd forwards between interfaces: name two/);
  assert.throws(() => checkIfaces(["a", "b"], { ...ok, userProgram: true }), /--xdp-prog/);
  assert.throws(() => checkIfaces(["a", "b"], { ...ok, toKernel: true }), /serves one interface/);
});

Deno.test("per-interface snapshot sums each interface over the queues; metrics by iface", () => {
  const block = (base: number) => Float64Array.from(PORT_COUNTERS, (_, j) => base + j);
  const progs = [
    { redirected: 5, passed: 1, dropped: 0, blocked: 2 },
    { redirected: 7, passed: 0, dropped: 3, blocked: 0 },
  ];
  const s = interfaceSnapshots(
    ["d0", "d1"],
    [[block(0), block(100)], [block(1000), block(2000)]],
    progs,
  );
  assert.equal(s[0].xdp_redirected, 5);
  assert.equal(s[1].xdp_dropped, 3);
  assert.deepEqual(sumProgramCounters(progs), {
    redirected: 12,
    passed: 1,
    dropped: 3,
    blocked: 2,
  });
  assert.equal(sumProgramCounters([progs[0]]), progs[0]);
  assert.equal(s[0].iface, "d0");
  assert.equal(s[0].rx_packets, 1000);
  assert.equal(s[1].rx_packets, 2100);
  assert.equal(s[1].tx_packets, 2104);
  const text = prometheusText({ ...fixture(), interfaces: s });
  assert.match(text, /^bypassrt_interface_rx_packets_total\{iface="d0"\} 1000$/m);
  assert.match(text, /^bypassrt_interface_tx_packets_total\{iface="d1"\} 2104$/m);
  assert.match(text, /^# TYPE bypassrt_interface_tx_packets_total counter$/m);
  assert.match(text, /^bypassrt_interface_xdp_program_redirected_total\{iface="d1"\} 7$/m);
  // One interface: no such series.
  assert.doesNotMatch(prometheusText(fixture()), /bypassrt_interface_/);
});
