import assert from "node:assert/strict";
import { FrameOwnershipError, Mempool } from "../../mempool/mempool.ts";
import { FrameTally } from "../../mempool/audit.ts";

Deno.test("mempool: fresh pool hands out frames 0, 1, 2, ... in order", () => {
  const pool = new Mempool(4, 2048);
  assert.equal(pool.available, 4);
  assert.deepEqual([pool.alloc(), pool.alloc(), pool.alloc(), pool.alloc()], [0, 2048, 4096, 6144]);
  assert.equal(pool.available, 0);
});

Deno.test("mempool: exhaustion: alloc returns -1, allocBurst returns fewer", () => {
  const pool = new Mempool(4, 4096);
  const out = new Uint32Array(8).fill(7);
  assert.equal(pool.allocBurst(out, 1, 6), 4);
  assert.deepEqual([...out], [7, 0, 4096, 8192, 12288, 7, 7, 7]);
  assert.equal(pool.alloc(), -1);
  assert.equal(pool.allocBurst(out, 0, 3), 0);
  assert.equal(pool.available, 0);
  pool.free(8192);
  assert.equal(pool.allocBurst(out, 0, 3), 1);
  assert.equal(out[0], 8192);
  assert.equal(pool.allocBurst(out, 0, 0), 0);
});

Deno.test("mempool: LIFO: the last frame freed is the next one allocated", () => {
  const pool = new Mempool(8, 2048);
  const got = new Uint32Array(8);
  assert.equal(pool.allocBurst(got, 0, 8), 8);
  pool.free(5 * 2048);
  pool.free(2 * 2048);
  pool.free(7 * 2048);
  assert.equal(pool.alloc(), 7 * 2048);
  assert.equal(pool.alloc(), 2 * 2048);
  pool.freeBurst(Uint32Array.of(1 * 2048, 3 * 2048, 0), 0, 3);
  const out = new Uint32Array(4);
  assert.equal(pool.allocBurst(out, 0, 4), 4);
  assert.deepEqual([...out], [0, 3 * 2048, 1 * 2048, 5 * 2048]);
});

Deno.test("mempool: double free throws FrameOwnershipError and changes nothing", () => {
  const pool = new Mempool(4, 2048);
  assert.throws(() => pool.free(2048), FrameOwnershipError, "never allocated");
  const a = pool.alloc();
  pool.free(a);
  assert.equal(pool.available, 4);
  assert.throws(
    () => pool.free(a),
    (e: unknown) =>
      e instanceof FrameOwnershipError && e.name === "FrameOwnershipError" &&
      e.message === "frame 0 (address 0) freed twice: it is already in the pool",
  );
  assert.equal(pool.available, 4);
  const b = pool.alloc();
  pool.free(b + 300);
  assert.throws(() => pool.free(b + 300), FrameOwnershipError, "same interior address again");
  assert.throws(() => pool.free(b), FrameOwnershipError, "frame start of a pool frame");
  assert.equal(pool.available, 4);
});

Deno.test("mempool: out-of-range addresses throw", () => {
  const pool = new Mempool(4, 2048);
  pool.alloc();
  assert.throws(
    () => pool.free(4 * 2048),
    (e: unknown) =>
      e instanceof FrameOwnershipError &&
      e.message === "address 8192 is outside the UMEM (4 frames of 2048)",
  );
  assert.throws(() => pool.free(2 ** 32 - 1), FrameOwnershipError);
  assert.throws(() => pool.free(-1), FrameOwnershipError);
  assert.equal(pool.contains(4 * 2048), false);
  assert.equal(pool.available, 3);
});

Deno.test("mempool: freeing an interior address returns the whole frame", () => {
  const pool = new Mempool(4, 2048);
  const out = new Uint32Array(4);
  pool.allocBurst(out, 0, 4);
  assert.equal(pool.contains(2 * 2048), false);
  pool.free(2 * 2048 + 256); // packet start after the kernel's headroom
  assert.equal(pool.contains(2 * 2048), true);
  assert.equal(pool.contains(2 * 2048 + 2047), true);
  assert.equal(pool.frameOf(2 * 2048 + 2047), 2);
  pool.free(3 * 2048 + 2047);
  assert.equal(pool.alloc(), 3 * 2048, "masked to the frame start");
  assert.equal(pool.alloc(), 2 * 2048);
});

Deno.test("mempool: forEachFree visits exactly the pool's frames", () => {
  const pool = new Mempool(8, 2048);
  const out = new Uint32Array(8);
  pool.allocBurst(out, 0, 5);
  pool.free(out[3]);
  const seen: number[] = [];
  pool.forEachFree((f) => seen.push(f));
  assert.deepEqual(seen, [7, 6, 5, 3]);
});

Deno.test("mempool: constructor validation", () => {
  assert.throws(() => new Mempool(0, 2048), RangeError);
  assert.throws(() => new Mempool(1.5, 2048), RangeError);
  assert.throws(() => new Mempool((1 << 20) + 1, 2048), RangeError);
  assert.throws(() => new Mempool(4, 1024), RangeError);
  assert.throws(() => new Mempool(4, 3000), RangeError);
  assert.throws(() => new Mempool(1 << 20, 8192), RangeError, "UMEM larger than 4 GiB");
  assert.equal(new Mempool(1, 2048).available, 1);
});

Deno.test("mempool: a pool of 2^20 frames of 4 KiB addresses the top of the 4 GiB range", () => {
  const pool = new Mempool(1 << 20, 4096);
  const out = new Uint32Array(1 << 20);
  assert.equal(pool.allocBurst(out, 0, 1 << 20), 1 << 20);
  const last = out[(1 << 20) - 1];
  assert.equal(last, 2 ** 32 - 4096);
  pool.free(last + 100);
  pool.free(2 ** 31 + 5);
  assert.equal(pool.alloc(), 2 ** 31, "no sign wrap above 2^31");
  assert.equal(pool.alloc(), 2 ** 32 - 4096);
});

Deno.test("FrameTally counts distinct frames and duplicates", () => {
  const t = new FrameTally(4);
  for (const f of [0, 1, 1, 2, 2, 2]) t.see(f);
  assert.equal(t.distinct, 3);
  assert.equal(t.duplicates, 3);
  t.see(4);
  t.see(1000);
  assert.equal(t.duplicates, 5, "out of range counts as duplicate");
  t.see(3);
  assert.equal(t.distinct, 4);
  assert.equal(t.duplicates, 5);
});
