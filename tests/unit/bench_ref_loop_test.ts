/**
 * The benchmark's TypeScript baseline (bench/ref_loop.ts, run by bench/ts_ref.ts and
 * bench/rx_path.ts) on the fake kernel: it must forward exactly the frames it got, MACs swapped,
 * and time each of them with byPassRT's clock, or its figures would flatter or wrong byPassRT.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  L2FWD,
  REF_FRAME_SIZE,
  REF_FRAMES,
  REF_RING_SIZE,
  RefLoop,
  RXDROP,
} from "../../bench/ref_loop.ts";
import { FAKE_DST_MAC, FAKE_SRC_MAC, fakePort } from "../../testing/fake_kernel.ts";
import { FrameClock } from "../../engine/frame_clock.ts";
import { H, newLatencyBlock, TO_HANDLER, TO_TX } from "../../engine/latency_histogram.ts";

/** A fake clock: always `NOW` ns; every frame is stamped {@link AGE} ns before it. */
const NOW = 5e9, AGE = 1500;

function setup(mode: number) {
  const fp = fakePort({
    frames: REF_FRAMES,
    frameSize: REF_FRAME_SIZE,
    rxSize: REF_RING_SIZE,
    txSize: REF_RING_SIZE,
    fillFrames: 0,
  });
  fp.kernel.tx.setNeedWakeup(true);
  fp.hooks.sendto = () => {
    fp.kernel.transmit();
  };
  const block = newLatencyBlock();
  const loop = new RefLoop(fp.port, fp.libc, {
    mode,
    ip: new Uint8Array(4),
    mac: new Uint8Array(6),
    keepWarm: true,
    control: new Int32Array(1),
    stats: new Float64Array(4),
    clock: new FrameClock(fp.port.umem, block, () => NOW),
    kickAt: null,
  });
  return { fp, loop, block };
}

/** Deliver `n` 60-byte frames and stamp each one AGE ns before NOW; returns their addresses. */
function deliverStamped(fp: ReturnType<typeof fakePort>, n: number): number[] {
  const rx = fp.kernel.rx, before = rx.producer[0];
  assert.equal(fp.kernel.deliver(n, 60), n);
  const words = new Uint32Array(fp.kernel.umem.buffer);
  const addrs: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rx.addrAt(before + i);
    words[(a - 8) >>> 2] = (NOW - AGE) % 2 ** 32;
    words[(a - 4) >>> 2] = Math.floor((NOW - AGE) / 2 ** 32);
    addrs.push(a);
  }
  return addrs;
}

Deno.test("RefLoop l2fwd: forwards exactly the frames it got, MACs swapped, each timed", () => {
  const { fp, loop, block } = setup(L2FWD);
  const addrs = deliverStamped(fp, 100);
  loop.run(100);
  loop.finish();
  assert.equal(loop.rxPackets, 100);
  assert.equal(fp.kernel.transmitted, 100);
  assert.equal(loop.txPackets, 100);
  assert.equal(loop.top, REF_FRAMES - REF_RING_SIZE, "every frame back on the stack or FILL");
  const u = fp.kernel.umem, tx = fp.kernel.tx;
  for (let i = 0; i < 100; i++) {
    const a = tx.addrAt(i);
    assert.equal(a, addrs[i], "sent in the order received");
    assert.deepEqual([...u.subarray(a, a + 6)], FAKE_SRC_MAC);
    assert.deepEqual([...u.subarray(a + 6, a + 12)], FAKE_DST_MAC);
  }
  // The clock: every frame recorded at both points, AGE ns old at each (the clock stands still).
  assert.equal(block[TO_HANDLER + H.count], 100);
  assert.equal(block[TO_TX + H.count], 100);
  assert.equal(block[TO_HANDLER + H.sum], 100 * AGE);
  assert.equal(block[TO_TX + H.unstamped], 0);
});

Deno.test("RefLoop rxdrop: drops every frame, sends none, times each at the RX point", () => {
  const { fp, loop, block } = setup(RXDROP);
  deliverStamped(fp, 64);
  deliverStamped(fp, 10);
  loop.run(74);
  assert.equal(loop.rxPackets, 74);
  assert.equal(fp.kernel.transmitted, 0);
  assert.equal(block[TO_HANDLER + H.count], 74);
  assert.equal(block[TO_TX + H.count], 0);
});
