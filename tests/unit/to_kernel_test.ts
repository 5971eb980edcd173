/**
 * `b.toKernel` in the polling loop (engine/loop.ts) on the fake AF_XDP port, with a fake kernel
 * sink in place of the reinjection TAP: which frames reach it, with which bytes and lengths, one
 * flush per burst (one FFI call in the real sink) and none for a burst without such frames, the
 * `to_kernel` / `to_kernel_failed` counters, every frame back in the pool (the audit), the clear
 * error of a handler that did not declare `toKernel`, and `handlers/inspect.ts`' counters.
 */
import assert from "node:assert/strict";
import { fakePort } from "../../testing/fake_kernel.ts";
import { handlerLoop } from "../../testing/handler_loop.ts";
import { checkHandler, type Handler } from "../../engine/handler.ts";
import { Slot } from "../../engine/stats.ts";
import type { KernelSink } from "../../engine/to_kernel.ts";
import inspect from "../../handlers/inspect.ts";
import { FrameClock } from "../../engine/frame_clock.ts";
import { H, newLatencyBlock, TO_HANDLER, TO_TX } from "../../engine/latency_histogram.ts";
import { assertBalanced, bytes } from "./_fake_assert.ts";

/** A sink that records every flush (frames as bytes) and takes at most `take` frames of each. */
class FakeSink implements KernelSink {
  readonly addrs = new Uint32Array(64);
  readonly lens = new Uint32Array(64);
  readonly flushes: number[][][] = [];
  constructor(readonly umem: Uint8Array, readonly take = Infinity) {}
  flush(n: number): number {
    const got: number[][] = [];
    for (let i = 0; i < n; i++) got.push(bytes(this.umem, this.addrs[i], this.lens[i]));
    this.flushes.push(got);
    return Math.min(n, this.take);
  }
}

/** Frame `i` of a burst: to the kernel (i % 4 == 0, 14 bytes), send, drop, or left undecided. */
const mixed: Handler = {
  toKernel: true,
  burst(b) {
    for (let i = 0; i < b.length; i++) {
      const r = i % 4;
      if (r === 0) b.toKernel(i, 14); // Ethernet header only
      else if (r === 1) b.send(i);
      else if (r === 2) b.drop(i);
      // r === 3: undecided
    }
  },
};

Deno.test("toKernel: the frames reach the sink with their bytes and length, one flush per burst, counted, freed", async () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel } = f;
  const sink = new FakeSink(port.umem);
  const h = await handlerLoop(port, mixed, { burst: 32, count: 64, toKernel: sink });
  assert.equal(kernel.deliver(64, 60), 64);
  const expected: number[][] = [];
  for (let i = 0; i < 64; i += 4) expected.push(bytes(port.umem, kernel.rx.addrAt(i), 14));
  kernel.tx.setNeedWakeup(true);
  f.hooks.sendto = () => kernel.transmit();
  assert.equal(h.run(), "count");
  assert.equal(sink.flushes.length, 2, "one flush per burst of 32");
  assert.deepEqual(sink.flushes.map((x) => x.length), [8, 8]);
  assert.deepEqual(sink.flushes.flat(), expected, "in order, 14 bytes each");
  const s = h.stats;
  assert.equal(s[Slot.toKernel], 16);
  assert.equal(s[Slot.toKernelFailed], 0);
  assert.equal(s[Slot.appDropped], 16);
  assert.equal(s[Slot.unhandled], 16);
  port.drainTx(200);
  assert.equal(port.counters.txPackets, 16);
  // Every frame accounted for: rx = tx + dropped + unhandled + to_kernel (+ failed, errors: 0).
  const c = port.counters;
  assert.equal(
    c.rxPackets,
    c.txPackets + s[Slot.appDropped] + s[Slot.unhandled] + s[Slot.toKernel] +
      s[Slot.toKernelFailed] + s[Slot.errorDropped],
  );
  assertBalanced(f, 0, "every frame back in the pool");
});

Deno.test("toKernel with the clock: every frame is timed at the RX point, the sent ones at TX too", async () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel } = f;
  const block = newLatencyBlock();
  let t = 1e12;
  const clock = new FrameClock(port.umem, block, () => (t += 1000));
  const h = await handlerLoop(port, mixed, {
    burst: 32,
    count: 64,
    toKernel: new FakeSink(port.umem),
    clock,
  });
  assert.equal(kernel.deliver(64, 60), 64);
  // Each frame stamped as the XDP program would, at the reader's start.
  const view = new DataView(port.umem.buffer, port.umem.byteOffset);
  for (let i = 0; i < 64; i++) {
    const a = kernel.rx.addrAt(i);
    view.setUint32(a - 8, 1e12 % 2 ** 32, true);
    view.setUint32(a - 4, Math.floor(1e12 / 2 ** 32), true);
  }
  kernel.tx.setNeedWakeup(true);
  f.hooks.sendto = () => kernel.transmit();
  assert.equal(h.run(), "count");
  // Sent, dropped, to the kernel or undecided: each frame recorded once at the RX point (after
  // its burst went out); only the 16 sent ones at the TX point.
  assert.equal(block[TO_HANDLER + H.count], 64);
  assert.equal(block[TO_TX + H.count], 16);
  assert.equal(block[TO_HANDLER + H.unstamped] + block[TO_TX + H.unstamped], 0);
  assertBalanced(f, 0, "every frame back in the pool");
});

Deno.test("toKernel: a burst without such frames does not flush; refused frames are to_kernel_failed", async () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel } = f;
  const sink = new FakeSink(port.umem, 3); // the device takes 3 of each batch
  let toKernel = false;
  const h = await handlerLoop(port, {
    toKernel: true,
    burst(b) {
      for (let i = 0; i < b.length; i++) toKernel ? b.toKernel(i) : b.drop(i);
    },
  }, { burst: 16, count: 16, toKernel: sink });
  kernel.deliver(16, 60);
  h.run();
  assert.equal(sink.flushes.length, 0, "no FFI call for a burst that hands nothing back");
  toKernel = true;
  h.loop.count = 32;
  kernel.deliver(16, 60);
  h.run();
  assert.equal(sink.flushes.length, 1);
  assert.equal(h.stats[Slot.toKernel], 3);
  assert.equal(h.stats[Slot.toKernelFailed], 13);
  assert.equal(h.stats[Slot.appDropped], 16);
  assertBalanced(f, 0, "refused frames are freed too");
});

Deno.test("toKernel without `toKernel: true`: a clear error, the burst's frames error-dropped", async () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel } = f;
  const h = await handlerLoop(port, {
    burst(b) {
      for (let i = 0; i < b.length; i++) b.toKernel(i);
    },
  }, { burst: 8, count: 8 });
  kernel.deliver(8, 60);
  const errors: unknown[] = [];
  h.run((e) => errors.push(e));
  assert.equal(errors.length, 1);
  assert.match(String((errors[0] as Error).message), /declare `toKernel: true`/);
  assert.equal(h.stats[Slot.handlerErrors], 1);
  assert.equal(h.stats[Slot.errorDropped], 8);
  assert.equal(h.stats[Slot.toKernel], 0);
  assertBalanced(f, 0, "after the throw");
});

Deno.test("toKernel: a bad index or length is a RangeError, as for send", async () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const sink = new FakeSink(f.port.umem);
  const seen: string[] = [];
  const h = await handlerLoop(f.port, {
    toKernel: true,
    burst(b) {
      for (const [i, len] of [[b.length, undefined], [0, 0], [0, 1e6], [0, 1.5]]) {
        try {
          b.toKernel(i as number, len);
        } catch (e) {
          seen.push((e as Error).name);
        }
      }
      for (let i = 0; i < b.length; i++) b.drop(i);
    },
  }, { burst: 4, count: 4, toKernel: sink });
  f.kernel.deliver(4, 60);
  h.run();
  assert.deepEqual(seen, ["RangeError", "RangeError", "RangeError", "RangeError"]);
  assert.equal(sink.flushes.length, 0);
});

Deno.test("checkHandler: toKernel must be a boolean", () => {
  const burst = () => {};
  assert.equal(
    checkHandler({ default: { burst, toKernel: true } }, {}, "h").handler.toKernel,
    true,
  );
  assert.throws(
    () => checkHandler({ default: { burst, toKernel: "yes" } }, {}, "h"),
    /toKernel must be true or false/,
  );
});

/** A frame: Ethernet type `type`, IPv4 protocol `proto` at byte 23. */
function frame(type: number, proto = 0, len = 60): Uint8Array {
  const b = new Uint8Array(len);
  b[12] = type >> 8;
  b[13] = type & 0xff;
  b[14] = 0x45;
  b[23] = proto;
  return b;
}

Deno.test("inspect: counts by protocol, hands every frame back to the kernel unchanged", async () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const sink = new FakeSink(f.port.umem);
  const frames = [
    frame(0x0806),
    frame(0x0800, 1),
    frame(0x0800, 6),
    frame(0x0800, 6),
    frame(0x0800, 17),
    frame(0x0800, 47),
    frame(0x86dd),
    frame(0x8100),
    frame(0x0800, 1, 20), // too short for an IPv4 header
  ];
  const h = await handlerLoop(f.port, inspect, { burst: 64, count: frames.length, toKernel: sink });
  for (const fr of frames) assert.ok(f.kernel.deliverFrame(fr));
  h.run();
  assert.deepEqual(h.handlerCounters(), {
    arp: 1,
    ipv4_icmp: 1,
    ipv4_tcp: 2,
    ipv4_udp: 1,
    ipv6: 1,
    other: 3,
  });
  assert.deepEqual(sink.flushes, [frames.map((x) => [...x])], "every frame, unchanged, in order");
  assert.equal(h.stats[Slot.toKernel], frames.length);
  assertBalanced(f, 0);
});
