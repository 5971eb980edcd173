/**
 * The per-frame clock over a UMEM: stamps written as the XDP program writes them (u64 little-endian
 * just before the frame) are recorded with their age; absent, future and stale ones are counted
 * as unstamped; the two points go to their own histograms.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FrameClock, META_BYTES } from "../../engine/frame_clock.ts";
import {
  H,
  newLatencyBlock,
  summarize,
  TO_HANDLER,
  TO_TX,
} from "../../engine/latency_histogram.ts";

const FRAME = 2048, HEADROOM = 256;

/**
 * A real clock in ns for the clock and the test's stamps alike (the engine gives the clock the
 * helper's CLOCK_MONOTONIC; any clock works when the stamps come from the same one).
 */
function monoNow(): number {
  return performance.now() * 1e6 + 1e12;
}

function stamp(umem: Uint8Array, addr: number, ns: number): void {
  const v = new DataView(umem.buffer);
  v.setUint32(addr - META_BYTES, ns % 2 ** 32, true);
  v.setUint32(addr - META_BYTES + 4, Math.floor(ns / 2 ** 32), true);
}

Deno.test("frame clock: fresh stamps are recorded with their age; others are unstamped", () => {
  const umem = new Uint8Array(8 * FRAME);
  const block = newLatencyBlock();
  const clock = new FrameClock(umem, block, monoNow);
  const addrs = Uint32Array.from({ length: 6 }, (_, i) => i * FRAME + HEADROOM);
  const now = monoNow();
  stamp(umem, addrs[0], now - 50_000); // 50 us old
  stamp(umem, addrs[1], now - 2_000_000); // 2 ms old
  // addrs[2]: never stamped (zero headroom: a driver without metadata)
  stamp(umem, addrs[3], now + 1e9); // a second in the future
  stamp(umem, addrs[4], now - 10e9); // 10 s old: stale
  stamp(umem, addrs[5], now - 1_000);
  const before = monoNow();
  clock.rx();
  const took = monoNow() - before;
  // Read, nothing recorded: the loop records once the burst's frames are on their way.
  assert.equal(summarize([block], TO_HANDLER).count, 0);
  // Frames not sent (dropped, to the kernel): the RX point only.
  clock.handled(addrs, 6);
  const h = summarize([block], TO_HANDLER);
  assert.equal(h.count, 3);
  assert.equal(h.unstamped, 3);
  // Ages: at least what was written, at most that plus the time the call took (and 6.25 %).
  assert.ok(h.max >= 2_000_000 && h.max <= 2_000_000 + took + 1e6, `max ${h.max}`);
  assert.ok(h.p50 >= 50_000 && h.p50 <= (50_000 + took) * 1.07 + 1e6, `p50 ${h.p50}`);
  assert.equal(summarize([block], TO_TX).count, 0);
  // Frames sent: both points, the TX point in its own histogram and no earlier than the RX one.
  clock.rx();
  clock.sent(addrs, 2);
  const t = summarize([block], TO_TX);
  assert.equal(t.count, 2);
  assert.equal(summarize([block], TO_HANDLER).count, 5);
  assert.ok(t.max >= h.max);
  // An address without room for a stamp before it.
  clock.rx();
  clock.sent(Uint32Array.of(0), 1);
  assert.equal(block[TO_TX + H.unstamped], 1);
  assert.equal(block[TO_HANDLER + H.unstamped], 4);
  // Two TX bursts of one RX burst (two ports) share the TX point's reading, and records of no
  // frame record nothing.
  clock.rx();
  clock.sent(addrs, 1);
  clock.sent(addrs.subarray(1), 1);
  clock.sent(addrs, 0);
  clock.handled(addrs, 0);
  assert.equal(summarize([block], TO_TX).count, 4);
});

Deno.test("frame clock: rx and keepWarm read the clock and record nothing", () => {
  const umem = new Uint8Array(2 * FRAME);
  const block = newLatencyBlock();
  const clock = new FrameClock(umem, block, monoNow);
  stamp(umem, FRAME, monoNow() - 1000);
  const before = Float64Array.from(block);
  for (let i = 0; i < 1000; i++) {
    clock.keepWarm();
    clock.rx();
  }
  assert.deepEqual(Float64Array.from(block), before);
  assert.equal(summarize([block], TO_HANDLER).count, 0);
  assert.equal(summarize([block], TO_TX).count, 0);
});

Deno.test("frame clock: each burst's frames are aged at that burst's own RX read", () => {
  const umem = new Uint8Array(2 * FRAME);
  const block = newLatencyBlock();
  let t = 7e12;
  const clock = new FrameClock(umem, block, () => t);
  const addr = Uint32Array.of(FRAME);
  // keepWarm, 5 ms, then a fresh frame: its age comes from its burst's RX read, not from
  // keepWarm's (which would make it 5 ms old, or in the future and unstamped).
  clock.keepWarm();
  t += 5_000_000;
  stamp(umem, FRAME, t - 1_000);
  clock.rx();
  t += 2_000;
  clock.sent(addr, 1);
  // A second burst: a new RX read and a new TX point, not the first burst's.
  t += 10_000;
  stamp(umem, FRAME, t - 500);
  clock.rx();
  t += 300;
  clock.handled(addr, 1);
  clock.sent(addr, 1);
  assert.equal(block[TO_HANDLER + H.count], 3);
  assert.equal(block[TO_HANDLER + H.sum], 1_000 + 500 + 500);
  assert.equal(block[TO_TX + H.sum], 3_000 + 800);
  assert.equal(block[TO_HANDLER + H.unstamped] + block[TO_TX + H.unstamped], 0);
});

Deno.test("frame clock: with a kick clock the TX point is the kick's reading, else its own", () => {
  const umem = new Uint8Array(2 * FRAME);
  const block = newLatencyBlock();
  const clock = new FrameClock(umem, block, monoNow);
  const kickAt = clock.kickClock();
  assert.equal(clock.kickClock(), kickAt, "one array for every port of the queue");
  const addr = Uint32Array.of(FRAME);
  // The kick read CLOCK_MONOTONIC 5 ms after the stamp: the frame's XDP-to-TX is exactly that.
  const s1 = Math.round(monoNow()) - 1000;
  stamp(umem, FRAME, s1);
  clock.rx();
  kickAt[0] = s1 + 5_000_000;
  clock.sent(addr, 1);
  assert.equal(block[TO_TX + H.count], 1);
  assert.equal(block[TO_TX + H.max], 5_000_000);
  assert.equal(block[TO_TX + H.sum], 5_000_000);
  // A reading left from an earlier kick is not this burst's: with no kick since its RX read,
  // the TX point reads the clock itself (a fresh frame: well under the stale 9 ms).
  const s2 = Math.round(monoNow());
  stamp(umem, FRAME, s2);
  kickAt[0] = s2 + 9_000_000;
  clock.rx();
  assert.equal(kickAt[0], 0, "the RX read clears the kick's reading");
  clock.sent(addr, 1);
  assert.equal(block[TO_TX + H.count], 2);
  assert.equal(block[TO_TX + H.unstamped], 0);
  const second = block[TO_TX + H.sum] - 5_000_000;
  assert.ok(second >= 0 && second < 2e6, `the second frame's age ${second} ns`);
  assert.equal(summarize([block], TO_HANDLER).count, 2);
});

Deno.test("frame clock: every point is its reader's reading", () => {
  const umem = new Uint8Array(2 * FRAME);
  const block = newLatencyBlock();
  let t = 7e12; // the reader's ns (the helper's bpx_now in a live run)
  const clock = new FrameClock(umem, block, () => t);
  const addr = Uint32Array.of(FRAME);
  stamp(umem, FRAME, t - 3_000);
  clock.rx();
  t += 1_000_000;
  clock.sent(addr, 1); // the TX point: read now, once for the burst
  t += 5_000_000;
  clock.sent(addr, 1); // a second TX burst of the same RX burst: the same TX reading
  assert.equal(block[TO_HANDLER + H.sum], 6_000);
  assert.equal(block[TO_TX + H.sum], 2_006_000);
  // With a kick clock and a kick since the RX read, the kick's reading; the reader is not read.
  const kb = newLatencyBlock();
  const k2 = new FrameClock(umem, kb, () => t);
  const kickAt = k2.kickClock();
  stamp(umem, FRAME, t - 1_000);
  k2.rx();
  kickAt[0] = t + 2_000_000;
  t += 7_000_000;
  k2.sent(addr, 1);
  assert.equal(kb[TO_TX + H.sum], 2_001_000);
  assert.equal(kb[TO_HANDLER + H.sum], 1_000);
});
