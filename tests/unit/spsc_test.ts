import assert from "node:assert/strict";
import { SPSC_HEADER_BYTES, spscBytes, SpscRing } from "../../ring/spsc.ts";

const U32 = 2 ** 32;

function pair(size: number, start = 0): { p: SpscRing; c: SpscRing; mem: SharedArrayBuffer } {
  const mem = new SharedArrayBuffer(spscBytes(size));
  const idx = new Uint32Array(mem, 0, SPSC_HEADER_BYTES / 4);
  idx[0] = start >>> 0; // producer
  idx[16] = start >>> 0; // consumer
  return { p: new SpscRing(mem, size), c: new SpscRing(mem, size), mem };
}

Deno.test("spsc: invalid sizes, short memory and unaligned offsets throw", () => {
  for (const size of [0, 1, 3, 6, 100, 1.5, NaN, -4, 2 ** 31]) {
    assert.throws(() => new SpscRing(new ArrayBuffer(spscBytes(64)), size), RangeError, `${size}`);
  }
  assert.throws(() => new SpscRing(new ArrayBuffer(spscBytes(64) - 4), 64), RangeError);
  assert.throws(() => new SpscRing(new ArrayBuffer(spscBytes(8) + 32), 8, 32), RangeError);
  assert.equal(new SpscRing(new ArrayBuffer(spscBytes(8) + 64), 8, 64).size, 8);
  assert.equal(new SpscRing(new ArrayBuffer(spscBytes(2)), 2).mask, 1);
  assert.equal(spscBytes(8), 128 + 32);
});

Deno.test("spsc: full and empty", () => {
  const { p, c } = pair(8);
  const out = new Uint32Array(16);
  assert.equal(c.dequeueBurst(out, 0, 8), 0, "empty");
  assert.equal(p.enqueueBurst(Uint32Array.of(1, 2, 3, 4, 5), 0, 5), 5);
  assert.equal(p.enqueueBurst(Uint32Array.of(6, 7, 8, 9, 10), 0, 5), 3, "only 3 fit");
  assert.equal(p.count(), 8);
  assert.equal(p.enqueueBurst(Uint32Array.of(11), 0, 1), 0, "full");
  assert.equal(c.dequeueBurst(out, 0, 16), 8);
  assert.deepEqual([...out.subarray(0, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(c.dequeueBurst(out, 0, 16), 0, "empty again");
  assert.equal(c.count(), 0);
});

Deno.test("spsc: partial bursts honour offsets and counts", () => {
  const { p, c } = pair(16);
  const src = Uint32Array.of(10, 11, 12, 13, 14, 15);
  assert.equal(p.enqueueBurst(src, 2, 3), 3); // 12, 13, 14
  assert.equal(p.enqueueBurst(src, 0, 0), 0);
  const out = new Uint32Array(8).fill(99);
  assert.equal(c.dequeueBurst(out, 5, 2), 2);
  assert.deepEqual([...out], [99, 99, 99, 99, 99, 12, 13, 99]);
  assert.equal(c.dequeueBurst(out, 0, 0), 0);
  assert.equal(c.count(), 1);
  assert.equal(c.dequeueBurst(out, 0, 5), 1);
  assert.equal(out[0], 14);
});

Deno.test("spsc: wrap-around of slots and of the u32 indices", () => {
  for (const start of [0, 5, U32 - 3]) {
    const { p, c, mem } = pair(8, start);
    const src = new Uint32Array(8), out = new Uint32Array(8);
    let next = 0, expect = 0;
    for (let round = 0; round < 100; round++) {
      const n = 1 + (round * 5) % 8;
      for (let i = 0; i < n; i++) src[i] = next + i;
      const free = 8 - p.count();
      const k = p.enqueueBurst(src, 0, n);
      assert.equal(k, Math.min(n, free));
      next += k;
      const m = c.dequeueBurst(out, 0, 1 + (round * 3) % 8);
      for (let i = 0; i < m; i++) assert.equal(out[i], expect++, `start ${start} round ${round}`);
    }
    expect += c.dequeueBurst(out, 0, 8);
    assert.equal(expect, next);
    const idx = new Uint32Array(mem, 0, 32);
    assert.equal(idx[0], (start + next) >>> 0);
    assert.equal(idx[16], idx[0]);
  }
});

/**
 * The producer Worker: enqueues `1..count` in bursts of varying size (1..64), spinning while the
 * ring is full, then posts an ordered checksum of what it sent. It runs as a blob Worker built
 * from this function's and {@link SpscRing}'s own source, so `deno test --allow-ffi` (no read
 * permission, which a Worker from a file needs) runs it too.
 */
function producer(mem: SharedArrayBuffer, size: number, count: number): unknown {
  const ring = new SpscRing(mem, size);
  const buf = new Uint32Array(64);
  let next = 1, hash = 0, sum = 0, fullSpins = 0, rnd = 12345;
  const deadline = performance.now() + 60_000;
  while (next <= count) {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    let n = 1 + ((rnd >>> 16) & 63);
    if (n > count - next + 1) n = count - next + 1;
    for (let i = 0; i < n; i++) buf[i] = next + i;
    let off = 0;
    while (off < n) {
      const k = ring.enqueueBurst(buf, off, n - off);
      if (k === 0 && ++fullSpins % 4096 === 0 && performance.now() > deadline) {
        return { error: "producer timed out" };
      }
      off += k;
    }
    for (let i = 0; i < n; i++) {
      hash = (Math.imul(hash, 31) + buf[i]) >>> 0;
      sum += buf[i];
    }
    next += n;
  }
  return { hash, sum, sent: count, fullSpins };
}

function producerWorker(): Worker {
  const src = `const SPSC_HEADER_BYTES = ${SPSC_HEADER_BYTES};
${spscBytes.toString()}
${SpscRing.toString()}
${producer.toString()}
self.onmessage = (e) => self.postMessage(producer(e.data.mem, e.data.size, e.data.count));`;
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  return new Worker(url, { type: "module" });
}

Deno.test("spsc: a producer Worker and the main-thread consumer, 1e6 values in order", async () => {
  const size = 1024, count = 1_000_000;
  const mem = new SharedArrayBuffer(spscBytes(size));
  const ring = new SpscRing(mem, size);
  const worker = producerWorker();
  let failed: Error | undefined;
  try {
    const done = new Promise<Record<string, number | string>>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        failed = new Error(e.message);
        reject(failed);
      };
    });
    worker.postMessage({ mem, size, count });
    const out = new Uint32Array(256);
    let expect = 1, hash = 0, sum = 0, spins = 0, outOfOrder = 0;
    const deadline = performance.now() + 60_000;
    while (expect <= count) {
      const k = ring.dequeueBurst(out, 0, 1 + (expect & 255));
      if (k === 0) {
        // Let the worker's error event through now and then: a failed start ends the test.
        if (++spins % 4096 === 0) {
          if (performance.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 0));
          if (failed) throw failed;
        }
        continue;
      }
      for (let i = 0; i < k; i++) {
        const v = out[i];
        if (v !== expect) outOfOrder++;
        hash = (Math.imul(hash, 31) + v) >>> 0;
        sum += v;
        expect++;
      }
    }
    assert.equal(expect, count + 1, "consumer timed out");
    assert.equal(outOfOrder, 0);
    const res = await done;
    assert.equal(res.error, undefined);
    assert.equal(res.sent, count);
    assert.equal(res.hash, hash);
    assert.equal(res.sum, sum);
    assert.equal(sum, count * (count + 1) / 2);
    assert.equal(ring.count(), 0);
    assert.equal(ring.dequeueBurst(out, 0, 256), 0);
  } finally {
    worker.terminate();
  }
});
