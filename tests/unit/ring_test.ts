import assert from "node:assert/strict";
import { ADDR_WORDS, ConsRing, DESC_WORDS, ProdRing } from "../../ring/xsk_ring.ts";
import { FakeRing } from "../../testing/fake_kernel.ts";

const U32 = 2 ** 32;

/** Kernel side: consume `n` entries of a ring we produce into, returning their low words. */
function kernelConsume(r: FakeRing, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.addrAt(r.consumer[0] + i));
  r.drop(n);
  return out;
}

Deno.test("ProdRing: reserve, write, submit publishes the producer index", () => {
  const k = new FakeRing(8, ADDR_WORDS);
  const fill = new ProdRing(k.mem, ADDR_WORDS);
  assert.equal(fill.reserve(3), 3);
  assert.equal(fill.cursor, 0);
  assert.equal(k.producer[0], 0, "reserve alone publishes nothing");
  for (let i = 0; i < 3; i++) fill.entries[((fill.cursor + i) & fill.mask) * 2] = 1000 + i;
  fill.submit(3);
  assert.equal(k.producer[0], 3);
  assert.equal(fill.pending(), 3);
  assert.deepEqual(fill.shared(), { producer: 3, consumer: 0 });
  assert.deepEqual(kernelConsume(k, 3), [1000, 1001, 1002]);
  assert.equal(fill.pending(), 0);
});

Deno.test("ProdRing: full ring reserves fewer, refreshes the consumer only when needed", () => {
  const k = new FakeRing(8, DESC_WORDS);
  const tx = new ProdRing(k.mem, DESC_WORDS);
  assert.equal(tx.reserve(5), 5);
  tx.submit(5);
  assert.equal(tx.reserve(5), 3, "only 3 of 8 left");
  assert.equal(tx.cursor, 5);
  tx.submit(3);
  assert.equal(tx.reserve(1), 0, "ring full");
  assert.equal(tx.cursor, 8);
  k.drop(2);
  assert.equal(tx.reserve(4), 2, "kernel consumed 2");
  assert.equal(tx.cursor, 8);
  tx.submit(2);
  assert.equal(k.producer[0], 10);
  assert.equal(tx.reserve(1), 0);
});

Deno.test("ProdRing: constructed over a ring that already has pending entries", () => {
  const k = new FakeRing(8, ADDR_WORDS, 100);
  k.producer[0] = 105;
  const fill = new ProdRing(k.mem, ADDR_WORDS);
  assert.equal(fill.reserve(8), 3);
  assert.equal(fill.cursor, 105);
});

Deno.test("ConsRing: empty ring peeks 0; peek/release hand entries back", () => {
  const k = new FakeRing(8, DESC_WORDS);
  const rx = new ConsRing(k.mem, DESC_WORDS);
  assert.equal(rx.peek(64), 0);
  assert.equal(rx.peek(1), 0);
  for (let i = 0; i < 5; i++) k.push(256 + i * 2048, 60 + i);
  assert.equal(rx.peek(3), 3);
  assert.equal(rx.cursor, 0);
  assert.equal(rx.entries[((rx.cursor + 2) & rx.mask) * 4], 256 + 2 * 2048);
  assert.equal(rx.entries[((rx.cursor + 2) & rx.mask) * 4 + 2], 62);
  assert.equal(k.consumer[0], 0, "peek alone releases nothing");
  rx.release(3);
  assert.equal(k.consumer[0], 3);
  // Two are still cached: a peek returns those without re-reading the producer (as libxdp).
  k.push(9999, 1);
  assert.equal(rx.peek(8), 2);
  assert.equal(rx.cursor, 3);
  assert.equal(rx.peek(8), 1, "cache empty: refreshed from the producer");
  assert.equal(rx.cursor, 5);
  assert.equal(rx.entries[(rx.cursor & rx.mask) * 4], 9999);
  rx.release(3);
  assert.equal(k.consumer[0], 6);
  assert.equal(rx.peek(8), 0);
});

Deno.test("burst edges: n = 0, n = size, n > size", () => {
  const kp = new FakeRing(16, ADDR_WORDS);
  const p = new ProdRing(kp.mem, ADDR_WORDS);
  assert.equal(p.reserve(0), 0);
  p.submit(0);
  assert.equal(kp.producer[0], 0);
  assert.equal(p.reserve(16), 16);
  p.submit(16);
  assert.equal(p.reserve(0), 0);
  kp.drop(16);
  assert.equal(p.reserve(40), 16, "n > size caps at size");
  p.submit(16);
  assert.equal(kp.producer[0], 32);

  const kc = new FakeRing(16, ADDR_WORDS);
  const c = new ConsRing(kc.mem, ADDR_WORDS);
  for (let i = 0; i < 16; i++) kc.push(i);
  assert.equal(c.peek(0), 0);
  assert.equal(c.cursor, 0);
  assert.equal(c.peek(40), 16);
  c.release(16);
  for (let i = 0; i < 16; i++) kc.push(i);
  assert.equal(c.peek(16), 16);
  assert.equal(c.cursor, 16);
  c.release(16);
  assert.equal(kc.consumer[0], 32);
});

Deno.test("wrap-around across the u32 boundary (start = 2^32 - 3)", () => {
  const start = U32 - 3;
  const kp = new FakeRing(8, DESC_WORDS, start);
  const kc = new FakeRing(8, ADDR_WORDS, start);
  const tx = new ProdRing(kp.mem, DESC_WORDS);
  const comp = new ConsRing(kc.mem, ADDR_WORDS);
  assert.equal(tx.reserve(6), 6);
  assert.equal(tx.cursor, start);
  const slots: number[] = [];
  for (let i = 0; i < 6; i++) {
    const slot = (tx.cursor + i) & tx.mask;
    slots.push(slot);
    tx.entries[slot * 4] = 7000 + i;
    tx.entries[slot * 4 + 2] = 100 + i;
  }
  assert.deepEqual(slots, [5, 6, 7, 0, 1, 2]);
  tx.submit(6);
  assert.equal(kp.producer[0], 3, "producer wrapped past 2^32");
  assert.equal(tx.pending(), 6);
  // Kernel: move the six to COMPLETION.
  for (let i = 0; i < 6; i++) {
    kc.push(kp.addrAt(kp.consumer[0] + i));
    assert.equal(kp.lenAt(kp.consumer[0] + i), 100 + i);
  }
  kp.drop(6);
  assert.equal(kp.consumer[0], 3);
  assert.equal(kc.producer[0], 3);
  assert.equal(comp.peek(8), 6);
  assert.equal(comp.cursor, start);
  const got: number[] = [];
  for (let i = 0; i < 6; i++) got.push(comp.entries[((comp.cursor + i) & comp.mask) * 2]);
  assert.deepEqual(got, [7000, 7001, 7002, 7003, 7004, 7005]);
  comp.release(6);
  assert.equal(kc.consumer[0], 3);
  // Full ring across the boundary: after the wrap, 8 fit and a 9th does not.
  assert.equal(tx.reserve(9), 8);
  assert.equal(tx.cursor, 3);
});

Deno.test("wrap-around: many rounds of uneven bursts keep values in order", () => {
  const start = U32 - 37;
  const k = new FakeRing(16, ADDR_WORDS, start);
  const p = new ProdRing(k.mem, ADDR_WORDS);
  const kc = new FakeRing(16, ADDR_WORDS, start);
  const c = new ConsRing(kc.mem, ADDR_WORDS);
  let next = 0, expect = 0;
  for (let round = 0; round < 200; round++) {
    const want = (round * 7) % 19;
    const r = p.reserve(want);
    assert.equal(r, Math.min(want, 16 - k.count()));
    for (let i = 0; i < r; i++) p.entries[((p.cursor + i) & p.mask) * 2] = next++;
    p.submit(r);
    const move = (round * 5) % 17;
    const m = Math.min(move, k.count(), kc.free());
    for (let i = 0; i < m; i++) kc.push(k.addrAt(k.consumer[0] + i));
    k.drop(m);
    const got = c.peek((round * 3) % 23);
    for (let i = 0; i < got; i++) {
      assert.equal(c.entries[((c.cursor + i) & c.mask) * 2], expect++);
    }
    c.release(got);
  }
  assert.ok(expect > 400, `moved ${expect}`);
  assert.ok(k.producer[0] < start, "indices crossed 2^32");
});

Deno.test("needsWakeup follows bit 0 of the flags word", () => {
  const k = new FakeRing(8, ADDR_WORDS);
  const p = new ProdRing(k.mem, ADDR_WORDS);
  const c = new ConsRing(k.mem, ADDR_WORDS);
  assert.equal(p.needsWakeup(), false);
  k.setNeedWakeup(true);
  assert.equal(k.flags[0], 1);
  assert.equal(p.needsWakeup(), true);
  assert.equal(c.needsWakeup(), true);
  k.setNeedWakeup(false);
  assert.equal(p.needsWakeup(), false);
  k.flags[0] = 2;
  assert.equal(p.needsWakeup(), false, "only XDP_RING_NEED_WAKEUP counts");
  k.flags[0] = 3;
  assert.equal(p.needsWakeup(), true);
});

Deno.test("ring sizes must be powers of two", () => {
  for (const size of [0, 3, 6, 12]) {
    const mem = {
      producer: new ArrayBuffer(4),
      consumer: new ArrayBuffer(4),
      flags: new ArrayBuffer(4),
      ring: new ArrayBuffer(64 * 16),
      size,
    };
    assert.throws(() => new ProdRing(mem, DESC_WORDS), RangeError);
    assert.throws(() => new ConsRing(mem, ADDR_WORDS), RangeError);
  }
});
