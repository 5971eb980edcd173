/**
 * Multi-buffer chains on a Port over the fake kernel (`multiBuffer: true`): RX chains become one
 * frame each (first segment in the burst arrays, the rest linked), an incomplete chain waits for
 * its rest, TX puts a chain out whole with XDP_PKT_CONTD on all but its last descriptor or not at
 * all (a full TX ring leaves it the caller's, intact), COMPLETION returns every buffer and counts
 * frames, `free` returns whole chains; the audit balances at every step.
 */
import assert from "node:assert/strict";
import { FAKE_HEADROOM, type FakeKernel, fakePort } from "../../testing/fake_kernel.ts";
import { XDP_PKT_CONTD } from "../../ffi/libxdp.ts";
import { MAX_SEGMENTS } from "../../engine/chains.ts";
import { assertBalanced } from "./_fake_assert.ts";
import { BurstState } from "../../engine/loop.ts";

/**
 * Put one frame on RX as a chain of `lens.length` descriptors, taking a FILL frame for each
 * (what the kernel does); byte k of segment s is (s * 31 + k) & 0xff. Returns the addresses.
 */
function deliverChain(k: FakeKernel, lens: number[], contdOnLast = false): number[] {
  const out: number[] = [];
  lens.forEach((len, s) => {
    const addr = k.fill.addrAt(k.fill.consumer[0]) + FAKE_HEADROOM;
    k.fill.drop(1);
    const p = k.rx.producer[0];
    k.rx.push(addr, len);
    const last = s === lens.length - 1;
    k.rx.entries[((p & k.rx.mask) << 2) + 3] = last && !contdOnLast ? 0 : XDP_PKT_CONTD;
    for (let b = 0; b < len; b++) k.umem[addr + b] = (s * 31 + b) & 0xff;
    out.push(addr);
  });
  return out;
}

function txOptions(k: FakeKernel, i: number): number {
  return k.tx.entries[((i & k.tx.mask) << 2) + 3];
}

Deno.test("chains: RX chains are one frame each; TX sends them whole with XDP_PKT_CONTD", () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64, multiBuffer: true });
  const { port, kernel } = f;
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  const a = deliverChain(kernel, [1792, 1792, 500]);
  const b = deliverChain(kernel, [60]);
  const c = deliverChain(kernel, [1792, 10]);
  assert.equal(port.rxBurst(addrs, lens, 64), 3);
  assert.deepEqual([...addrs.subarray(0, 3)], [a[0], b[0], c[0]]);
  assert.deepEqual([...lens.subarray(0, 3)], [1792, 60, 1792]);
  const chains = port.chains!;
  assert.equal(chains.segments(a[0]), 3);
  assert.equal(chains.segments(b[0]), 1);
  assert.equal(chains.segmentStart(a[0], 2), a[2]);
  assert.equal(chains.segmentSize(a[0], 2), 500);
  assert.equal(chains.tailBytes(c[0]), 10);
  assert.equal(port.counters.rxPackets, 3);
  assert.equal(port.counters.rxBytes, 1792 * 3 + 500 + 60 + 10);
  assert.equal(port.counters.rxChained, 2);
  // Six buffers held by the application.
  assertBalanced(f, 6, "after rx");

  // The Burst view of the same frames.
  const burst = new BurstState(port, 64);
  burst.addrs.set(addrs.subarray(0, 3));
  burst.lens.set(lens.subarray(0, 3));
  burst.length = 3;
  assert.equal(burst.segments(0), 3);
  assert.equal(burst.segments(1), 1);
  assert.equal(burst.totalSize(0), 1792 * 2 + 500);
  assert.equal(burst.totalSize(1), 60);
  assert.equal(burst.segmentStart(0, 1), a[1]);
  assert.equal(burst.segmentSize(2, 1), 10);
  assert.equal(burst.segmentStart(1, 0), b[0]);
  assert.throws(() => burst.segmentStart(1, 1), /segment 1 of frame 1 does not exist \(0..0\)/);
  assert.throws(() => burst.segmentSize(0, 3), /segment 3 of frame 0 does not exist \(0..2\)/);

  assert.equal(port.txBurst(addrs, lens, 3), 3);
  assert.equal(kernel.tx.count(), 6);
  const t0 = kernel.tx.consumer[0];
  const want = [
    [a[0], 1792, XDP_PKT_CONTD],
    [a[1], 1792, XDP_PKT_CONTD],
    [a[2], 500, 0],
    [b[0], 60, 0],
    [c[0], 1792, XDP_PKT_CONTD],
    [c[1], 10, 0],
  ];
  want.forEach(([addr, len, opt], i) => {
    assert.equal(kernel.tx.addrAt(t0 + i), addr, `desc ${i}`);
    assert.equal(kernel.tx.lenAt(t0 + i), len, `desc ${i}`);
    assert.equal(txOptions(kernel, t0 + i), opt, `desc ${i}`);
  });
  assert.equal(chains.held, 0);
  assert.equal(port.counters.txQueued, 3);
  assert.equal(port.counters.txChained, 2);
  assertBalanced(f, 0, "after tx");
  assert.equal(kernel.transmit(), 6);
  assert.equal(port.reclaim(), 6);
  assert.equal(port.counters.txPackets, 3, "frames, not buffers");
  assert.equal(port.counters.txBytes, 1792 * 3 + 500 + 60 + 10);
  assertBalanced(f, 0, "after completion");
  assert.equal(port.txOutstanding, 0);
});

Deno.test("chains: an incomplete chain waits on RX for its rest", () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64, multiBuffer: true });
  const { port, kernel } = f;
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  const one = deliverChain(kernel, [100]);
  // The first two descriptors of a chain whose last is not there yet.
  const part = deliverChain(kernel, [1792, 1792], true);
  assert.equal(port.rxBurst(addrs, lens, 64), 1);
  assert.equal(addrs[0], one[0]);
  assert.equal(port.rxBurst(addrs, lens, 64), 0, "still incomplete");
  assertBalanced(f, 1, "partial chain left on RX");
  const rest = deliverChain(kernel, [7]);
  assert.equal(port.rxBurst(addrs, lens, 64), 1);
  assert.equal(addrs[0], part[0]);
  assert.equal(port.chains!.segments(addrs[0]), 3);
  assert.equal(port.chains!.segmentStart(addrs[0], 2), rest[0]);
  assertBalanced(f, 4, "whole chain taken");
  port.free(addrs, 0, 1);
  assert.equal(port.chains!.held, 0);
  assertBalanced(f, 1, "chain freed: every buffer back");
});

Deno.test("chains: a chain that does not fit the TX ring stays the caller's, whole", () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64, multiBuffer: true });
  const { port, kernel } = f;
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  // Fill the TX ring up to 2 free slots with single frames.
  const fill = new Uint32Array(62), flen = new Uint32Array(62).fill(60);
  assert.equal(port.alloc(fill, 62), 62);
  assert.equal(port.txBurst(fill, flen, 62), 62);
  deliverChain(kernel, [60]);
  deliverChain(kernel, [1792, 1792, 3]);
  deliverChain(kernel, [61]);
  assert.equal(port.rxBurst(addrs, lens, 64), 3);
  // Room for the single frame, not for the 3-buffer chain: it and the frame after it stay ours.
  assert.equal(port.txBurst(addrs, lens, 3), 1);
  assert.equal(kernel.tx.count(), 63);
  assert.equal(port.counters.txRingFull, 2);
  assert.equal(port.chains!.segments(addrs[1]), 3, "the chain is intact");
  assertBalanced(f, 4, "chain and last frame still held");
  // Freeing them returns all four buffers.
  port.free(addrs, 1, 2);
  assertBalanced(f, 0, "freed");
  assert.equal(kernel.transmit(), 63);
  port.reclaim();
  assert.equal(port.counters.txPackets, 63);
  assertBalanced(f, 0, "completed");
});

Deno.test("chains: drainRx counts a chain left on RX at stop as one frame", () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64, multiBuffer: true });
  const { port, kernel } = f;
  deliverChain(kernel, [1792, 1792, 1]);
  deliverChain(kernel, [60]);
  assert.equal(port.drainRx(), 2);
  assert.equal(port.counters.rxPackets, 2);
  assert.equal(port.counters.drainedAtStop, 2);
  assertBalanced(f, 0, "drained");
});

Deno.test("chains: a single-buffer port has no chains and a Burst of 1-segment frames", () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64 });
  assert.equal(f.port.chains, null);
  const b = new BurstState(f.port, 64);
  f.kernel.deliver(1, 60);
  b.length = f.port.rxBurst(b.addrs, b.lens, 64);
  assert.equal(b.segments(0), 1);
  assert.equal(b.totalSize(0), 60);
  assert.throws(() => b.segmentStart(0, 1), /segment 1 of frame 0 does not exist/);
  f.port.free(b.addrs, 0, 1);
  assertBalanced(f, 0);
});

Deno.test("chains: a chain longer than MAX_SEGMENTS is dropped and counted, buffers back", () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64, multiBuffer: true });
  const { port, kernel } = f;
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  deliverChain(kernel, new Array(MAX_SEGMENTS + 1).fill(100));
  const ok = deliverChain(kernel, new Array(MAX_SEGMENTS).fill(100));
  assert.equal(port.rxBurst(addrs, lens, 64), 1);
  assert.equal(addrs[0], ok[0]);
  assert.equal(port.chains!.segments(addrs[0]), MAX_SEGMENTS);
  assert.equal(port.counters.chainDropped, 1);
  assert.equal(port.counters.rxPackets, 1);
  assertBalanced(f, MAX_SEGMENTS, "the dropped chain's buffers are in the pool");
  port.free(addrs, 0, 1);
  assertBalanced(f, 0, "freed");
});

Deno.test("chains: send(i, len) below size(i) cuts a chain; toKernel(i) of a chain is counted", () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64, multiBuffer: true });
  const { port, kernel } = f;
  const b = new BurstState(port, 64, 0, { toKernel: true });
  deliverChain(kernel, [1792, 1792, 9]);
  deliverChain(kernel, [1792, 5]);
  deliverChain(kernel, [1792, 1792]);
  b.length = port.rxBurst(b.addrs, b.lens, 64);
  assert.equal(b.length, 3);
  assertBalanced(f, 7, "received");
  b.send(0, 1792); // size(0): the whole frame
  assert.equal(b.segments(0), 3);
  b.send(1, 100); // shorter: cut to one buffer
  assert.equal(b.segments(1), 1);
  assert.equal(b.totalSize(1), 100);
  assertBalanced(f, 6, "the cut segment is back in the pool");
  b.toKernel(2);
  assert.equal(b.act[2], -1, "dropped");
  assert.equal(port.counters.chainDropped, 1);
  port.free(b.addrs, 2, 1);
  assert.equal(port.txBurst(b.addrs, b.lens, 2), 2);
  assert.equal(kernel.tx.count(), 4);
  assertBalanced(f, 0, "sent and freed");
});
