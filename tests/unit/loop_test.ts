/**
 * The polling loops (engine/loop.ts) on a fake AF_XDP port: what each mode does with real
 * frames, the counters it publishes, and the frame audit after it stops.
 */
import assert from "node:assert/strict";
import { FAKE_DST_MAC, FAKE_HEADROOM, FAKE_SRC_MAC, fakePort } from "../../testing/fake_kernel.ts";
import { COUNTER_NAMES } from "../../engine/port.ts";
import { PUBLISH_EVERY, runLoop } from "../../engine/loop.ts";
import { Control, newControlBlock, newStatsBlock, Slot } from "../../engine/stats.ts";
import { assertBalanced, bytes } from "./_fake_assert.ts";

Deno.test("runLoop l2fwd on the fake port: MACs swapped, every packet sent and completed", () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel, hooks, calls } = f;
  const control = newControlBlock(), stats = newStatsBlock();
  const sentAddrs: number[] = [];
  kernel.tx.setNeedWakeup(true);
  hooks.sendto = () => {
    for (let i = kernel.tx.consumer[0]; i !== kernel.tx.producer[0]; i = (i + 1) >>> 0) {
      sentAddrs.push(kernel.tx.addrAt(i));
    }
    kernel.transmit();
  };
  // Safety net: if RX ever looked empty the FILL wake-up stops the loop instead of hanging.
  kernel.fill.setNeedWakeup(true);
  hooks.recvfrom = () => Atomics.store(control, Control.stop, 1);
  assert.equal(kernel.deliver(100, 64), 100);
  const rxAddrs: number[] = [];
  for (let i = 0; i < 100; i++) rxAddrs.push(kernel.rx.addrAt(i));
  runLoop(
    port,
    {
      mode: "l2fwd",
      burst: 32,
      idlePollMs: 0,
      count: 100,
      ip: 0,
      mac: new Uint8Array(6),
    },
    control,
    stats,
  );
  assert.equal(control[Control.state], 1);
  for (const a of rxAddrs) {
    assert.deepEqual(bytes(port.umem, a, 14), [...FAKE_SRC_MAC, ...FAKE_DST_MAC, 8, 0], `${a}`);
  }
  assert.deepEqual(sentAddrs, rxAddrs, "sent in received order");
  const c = port.counters;
  assert.equal(c.rxPackets, 100);
  assert.equal(c.rxBytes, 6400);
  assert.equal(c.txQueued, 100);
  assert.equal(c.txPackets, 100);
  assert.equal(c.txBytes, 6400);
  assert.equal(c.txRingFull, 0);
  assert.equal(
    c.txKicks,
    4,
    "4 bursts (32+32+32+4); drainTx needs none: the kernel already took every descriptor",
  );
  assert.equal(calls.sendto, 4);
  assert.equal(calls.recvfrom, 0, "RX never looked empty before the count was reached");
  assert.equal(kernel.transmitted, 100);
  assert.equal(stats[Slot.rxPackets], 100);
  assert.equal(stats[Slot.txPackets], 100);
  assert.equal(stats[Slot.txBytes], 6400);
  assert.equal(stats[Slot.poolFree], port.pool.available);
  assertBalanced(f, 0, "after the loop");
});

Deno.test("runLoop l2fwd stops on the control flag", () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel, hooks } = f;
  const control = newControlBlock(), stats = newStatsBlock();
  const opts = {
    mode: "l2fwd" as const,
    burst: 32,
    idlePollMs: 0,
    count: 0,
    ip: 0,
    mac: new Uint8Array(6),
  };
  kernel.deliver(40, 64);
  // Stop set before the call: the loop checks it first and handles nothing.
  control[Control.stop] = 1;
  runLoop(port, opts, control, stats);
  assert.equal(port.counters.rxPackets, 0);
  assert.equal(kernel.rx.count(), 40);
  // Stop set by the "kernel" once RX runs dry (inside the FILL wake-up); the loop looks at the
  // flag every PUBLISH_EVERY loops, so it sees it at loop PUBLISH_EVERY.
  control[Control.stop] = 0;
  kernel.fill.setNeedWakeup(true);
  kernel.tx.setNeedWakeup(true);
  hooks.recvfrom = () => Atomics.store(control, Control.stop, 1);
  hooks.sendto = () => kernel.transmit();
  runLoop(port, opts, control, stats);
  assert.equal(port.counters.rxPackets, 40);
  assert.equal(port.counters.txPackets, 40);
  assert.equal(port.counters.rxWakeups, PUBLISH_EVERY - 2, "every empty burst after 32 and 8");
  assert.equal(stats[Slot.loops], PUBLISH_EVERY, "stopped at the first tick after the flag");
  assert.equal(kernel.seqAt(FAKE_HEADROOM), 0);
  assert.deepEqual(bytes(port.umem, FAKE_HEADROOM, 12), [...FAKE_SRC_MAC, ...FAKE_DST_MAC]);
  assertBalanced(f, 0);
});

Deno.test("stats block: the port's counters occupy slots 0.. in the same order", () => {
  COUNTER_NAMES.forEach((name, i) => assert.equal(Slot[name], i, name));
  assert.ok(Slot.poolFree >= COUNTER_NAMES.length);
});
