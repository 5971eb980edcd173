/**
 * The polling loops (engine/loop.ts) on a fake AF_XDP port: what each mode does with real
 * frames, the counters it publishes, and the frame audit after it stops.
 */
import assert from "node:assert/strict";
import { FAKE_DST_MAC, FAKE_SRC_MAC, type FakePort, fakePort } from "../../testing/fake_kernel.ts";
import { COUNTER_NAMES, type Port } from "../../engine/port.ts";
import { type LoopOptions, runLoop } from "../../engine/loop.ts";
import { Control, newControlBlock, newStatsBlock, Slot } from "../../engine/stats.ts";
import { assertBalanced, bytes } from "./_fake_assert.ts";

/** Options of a loop run; `count` 0 = until the stop flag. */
function loopOptions(mode: LoopOptions["mode"], burst: number, count: number): LoopOptions {
  return { mode, burst, idlePollMs: 0, count, ip: 0, mac: new Uint8Array(6) };
}

/** A TX descriptor as the kernel took it on a kick, with the bytes it sent. */
interface Sent {
  addr: number;
  len: number;
  bytes: number[];
}

/**
 * Make the fake kernel ask for TX kicks and, on each kick, record every queued descriptor (and
 * its bytes) and send it. Returns the record.
 */
function recordTx(f: FakePort): Sent[] {
  const { kernel, hooks } = f;
  const sent: Sent[] = [];
  kernel.tx.setNeedWakeup(true);
  hooks.sendto = () => {
    for (let i = kernel.tx.consumer[0]; i !== kernel.tx.producer[0]; i = (i + 1) >>> 0) {
      const addr = kernel.tx.addrAt(i), len = kernel.tx.lenAt(i);
      sent.push({ addr, len, bytes: bytes(kernel.umem, addr, len) });
    }
    kernel.transmit();
  };
  return sent;
}

/**
 * Make every empty burst call the FILL wake-up and run `onEmpty` there; after `limit` empty
 * bursts throw, so a loop that never stops fails the test instead of hanging it. Returns a
 * function giving the number of empty bursts so far.
 */
function onEmptyBurst(f: FakePort, onEmpty: () => void, limit = 100_000): () => number {
  let n = 0;
  f.kernel.fill.setNeedWakeup(true);
  f.hooks.recvfrom = () => {
    if (++n > limit) throw new Error(`the loop is still running after ${limit} empty bursts`);
    onEmpty();
  };
  return () => n;
}

/** The stats block holds the port's final counters and its free-frame count. */
function assertPublished(port: Port, stats: Float64Array): void {
  const c = port.counters;
  for (const name of COUNTER_NAMES) assert.equal(stats[Slot[name]], c[name], `stats ${name}`);
  assert.equal(stats[Slot.poolFree], port.pool.available, "stats poolFree");
}

Deno.test("runLoop l2fwd on the fake port: MACs swapped, every packet sent and completed", () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel, calls } = f;
  const control = newControlBlock(), stats = newStatsBlock();
  const sent = recordTx(f);
  // Safety net: if RX ever looked empty the FILL wake-up stops the loop instead of hanging.
  onEmptyBurst(f, () => Atomics.store(control, Control.stop, 1));
  assert.equal(kernel.deliver(100, 64), 100);
  const rxAddrs: number[] = [];
  for (let i = 0; i < 100; i++) rxAddrs.push(kernel.rx.addrAt(i));
  runLoop(port, loopOptions("l2fwd", 32, 100), control, stats);
  assert.equal(control[Control.state], 1);
  for (const a of rxAddrs) {
    assert.deepEqual(bytes(port.umem, a, 14), [...FAKE_SRC_MAC, ...FAKE_DST_MAC, 8, 0], `${a}`);
  }
  assert.deepEqual(sent.map((s) => s.addr), rxAddrs, "each sent once, in received order");
  assert.ok(sent.every((s) => s.len === 64));
  const c = port.counters;
  assert.equal(c.rxPackets, 100);
  assert.equal(c.rxBytes, 6400);
  assert.equal(c.txQueued, 100);
  assert.equal(c.txPackets, 100);
  assert.equal(c.txBytes, 6400);
  assert.equal(c.txRingFull, 0);
  // Kicks: each is one sendto, and there is at most one per burst (100 packets in bursts of 32:
  // 4 bursts). The fake kernel sends only when kicked, so the 100 completions show that every
  // burst that needed a kick got one.
  assert.equal(c.txKicks, calls.sendto);
  assert.ok(calls.sendto <= Math.ceil(100 / 32), `${calls.sendto} kicks for 4 bursts`);
  assert.equal(calls.recvfrom, 0, "RX never looked empty before the count was reached");
  assert.equal(kernel.transmitted, 100);
  assertPublished(port, stats);
  assertBalanced(f, 0, "after the loop");
});

Deno.test("runLoop l2fwd stops on the control flag; every packet before it handled once", () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel } = f;
  const control = newControlBlock(), stats = newStatsBlock();
  const opts = loopOptions("l2fwd", 32, 0);
  const rxAddrs: number[] = [];
  const deliver = (n: number) => {
    const start = kernel.rx.producer[0];
    assert.equal(kernel.deliver(n, 64), n);
    for (let i = 0; i < n; i++) rxAddrs.push(kernel.rx.addrAt((start + i) >>> 0));
  };
  deliver(40);
  // Stop already set: the loop returns at once and leaves every packet on RX.
  control[Control.stop] = 1;
  runLoop(port, opts, control, stats);
  assert.equal(port.counters.rxPackets, 0);
  assert.equal(kernel.rx.count(), 40);
  assertBalanced(f, 0, "stopped before starting");

  // The "kernel" sets the flag when RX first runs dry and delivers 40 more packets at that
  // moment: the loop may handle some of those before it notices the flag, but it must return,
  // and what it leaves on RX it must not have touched.
  control[Control.stop] = 0;
  const sent = recordTx(f);
  let flagged = false;
  onEmptyBurst(f, () => {
    if (flagged) return;
    flagged = true;
    Atomics.store(control, Control.stop, 1);
    deliver(40);
  }, 10_000);
  runLoop(port, opts, control, stats);
  const handled = port.counters.rxPackets;
  assert.ok(handled >= 40 && handled <= 80, `handled ${handled}`);
  assert.equal(handled + kernel.rx.count(), 80, "every packet handled or still on RX");
  assert.deepEqual(sent.map((s) => s.addr), rxAddrs.slice(0, handled), "each sent once, in order");
  assert.equal(port.counters.txQueued, handled);
  assert.equal(port.counters.txPackets, handled);
  assert.equal(port.counters.txBytes, handled * 64);
  assert.equal(kernel.transmitted, handled);
  rxAddrs.forEach((a, i) => {
    const swapped = [...FAKE_SRC_MAC, ...FAKE_DST_MAC],
      original = [...FAKE_DST_MAC, ...FAKE_SRC_MAC];
    assert.deepEqual(bytes(port.umem, a, 12), i < handled ? swapped : original, `packet ${i}`);
    assert.equal(kernel.seqAt(a), i);
  });
  assertPublished(port, stats);
  assertBalanced(f, 0, "after the loop");
  // What the loop left is taken back at shutdown (as the worker does).
  assert.equal(port.drainRx(), 80 - handled);
  assertBalanced(f, 0, "after drainRx");
});

Deno.test("stats block: the port's counters occupy slots 0.. in the same order", () => {
  COUNTER_NAMES.forEach((name, i) => assert.equal(Slot[name], i, name));
  assert.ok(Slot.poolFree >= COUNTER_NAMES.length);
});
