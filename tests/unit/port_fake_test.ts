import assert from "node:assert/strict";
import { FAKE_DST_MAC, FAKE_HEADROOM, FAKE_SRC_MAC, fakePort } from "../../testing/fake_kernel.ts";
import { FrameOwnershipError } from "../../mempool/mempool.ts";
import { assertBalanced, bytes } from "./_fake_assert.ts";

const FS = 2048;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("port: the constructor posts fillFrames frames 0.. to FILL", () => {
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64 });
  assert.equal(f.port.options.fillFrames, 64);
  assert.equal(f.kernel.fill.count(), 64);
  for (let i = 0; i < 64; i++) assert.equal(f.kernel.fill.addrAt(i), i * FS);
  assert.equal(f.port.pool.available, 64);
  assertBalanced(f, 0, "fresh");
});

Deno.test("port: rxBurst returns exactly what deliver() put in", () => {
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64 });
  const { port, kernel } = f;
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  assert.equal(kernel.deliver(5, 60), 5);
  assertBalanced(f, 0, "after deliver");
  assert.equal(port.rxBurst(addrs, lens, 64), 5);
  assert.deepEqual([...addrs.subarray(0, 5)], [0, 1, 2, 3, 4].map((i) => i * FS + FAKE_HEADROOM));
  assert.deepEqual([...lens.subarray(0, 5)], [60, 60, 60, 60, 60]);
  assert.equal(addrs[5], 0, "nothing written past the burst");
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(bytes(port.umem, addrs[i], 14), [...FAKE_DST_MAC, ...FAKE_SRC_MAC, 8, 0]);
    assert.equal(kernel.seqAt(addrs[i]), i);
  }
  assert.equal(port.counters.rxPackets, 5);
  assert.equal(port.counters.rxBytes, 300);
  assert.equal(port.appHeld, 5);
  assertBalanced(f, 5, "after rx");

  // Smaller bursts than what is waiting.
  assert.equal(kernel.deliver(10, 100), 10);
  assert.equal(port.rxBurst(addrs, lens, 4), 4);
  assert.equal(addrs[0], 5 * FS + FAKE_HEADROOM);
  assert.equal(port.rxBurst(addrs, lens, 4), 4);
  assert.equal(addrs[3], 12 * FS + FAKE_HEADROOM);
  assert.equal(port.rxBurst(addrs, lens, 4), 2);
  assert.deepEqual([...addrs.subarray(0, 2)], [13 * FS + 256, 14 * FS + 256]);
  assert.equal(kernel.seqAt(addrs[1]), 14);
  assert.equal(port.counters.rxPackets, 15);
  assert.equal(port.counters.rxBytes, 1300);

  // Nothing waiting: no wake-up unless the kernel asks for one.
  assert.equal(port.rxBurst(addrs, lens, 64), 0);
  assert.equal(f.calls.recvfrom, 0);
  kernel.fill.setNeedWakeup(true);
  assert.equal(port.rxBurst(addrs, lens, 64), 0);
  assert.equal(f.calls.recvfrom, 1);
  assert.equal(port.counters.rxWakeups, 1);
  assertBalanced(f, 15, "end");
});

Deno.test("fake kernel: deliverFrame puts the given bytes on RX", () => {
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64 });
  const { port, kernel } = f;
  const a = Uint8Array.from({ length: 60 }, (_, i) => (i * 7 + 3) & 0xff);
  const b = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10); // shorter than deliver's 18-byte stamp
  assert.equal(kernel.deliverFrame(a), true);
  assert.equal(kernel.deliverFrame(b), true);
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  assert.equal(port.rxBurst(addrs, lens, 64), 2);
  assert.deepEqual([addrs[0], addrs[1]], [FAKE_HEADROOM, FS + FAKE_HEADROOM]);
  assert.deepEqual([lens[0], lens[1]], [60, 10]);
  assert.deepEqual(bytes(port.umem, addrs[0], 60), [...a]);
  assert.deepEqual(bytes(port.umem, addrs[1], 10), [...b]);
  assertBalanced(f, 2);

  const g = fakePort({ frames: 128, rxSize: 64, txSize: 64, fillFrames: 0 });
  assert.equal(g.kernel.deliverFrame(a), false, "FILL empty");
  assert.equal(g.kernel.dropped, 1);
  assert.equal(g.kernel.rx.count(), 0);
});

Deno.test("port: FILL refill keeps the ring topped up while the pool lasts", () => {
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64 });
  const { port, kernel } = f;
  const a1 = new Uint32Array(64), a2 = new Uint32Array(64), lens = new Uint32Array(64);
  assert.equal(kernel.deliver(64, 60), 64);
  assert.equal(kernel.fill.count(), 0);
  assert.equal(port.rxBurst(a1, lens, 64), 64);
  assert.equal(kernel.fill.count(), 64, "refilled with the remaining 64 pool frames");
  assert.equal(kernel.fill.addrAt(64), 64 * FS, "continues with frame 64");
  assert.equal(port.pool.available, 0);
  assertBalanced(f, 64);
  assert.equal(kernel.deliver(64, 60), 64);
  assert.equal(port.rxBurst(a2, lens, 64), 64);
  assert.equal(kernel.fill.count(), 0, "pool was empty: nothing to refill");
  assert.equal(kernel.deliver(1, 60), 0);
  assert.equal(kernel.dropped, 1);
  assertBalanced(f, 128);
  // Freed frames go to FILL on the next rxBurst, up to the ring size.
  port.free(a1, 0, 10);
  assert.equal(port.rxBurst(a1, lens, 64), 0);
  assert.equal(kernel.fill.count(), 10);
  assert.equal(port.pool.available, 0);
  assertBalanced(f, 118);
  port.free(a1, 10, 54);
  port.free(a2, 0, 64);
  assert.equal(port.pool.available, 118);
  assert.equal(port.rxBurst(a1, lens, 64), 0);
  assert.equal(kernel.fill.count(), 64);
  assert.equal(port.pool.available, 64);
  assertBalanced(f, 0);
});

Deno.test("port: the first empty poll after traffic tops FILL up completely", () => {
  // A refill after a short pool leaves the cached consumer index behind the kernel's; a later
  // burst-sized refill trusts the cache. Idle, FILL must still end up full (pool = the rest).
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64 });
  const { port, kernel } = f;
  const a1 = new Uint32Array(64), a2 = new Uint32Array(64), a3 = new Uint32Array(64);
  const lens = new Uint32Array(64);
  assert.equal(kernel.deliver(64, 60), 64);
  assert.equal(port.rxBurst(a1, lens, 64), 64); // pool -> FILL: pool empty, FILL full
  assert.equal(kernel.deliver(60, 60), 60);
  assert.equal(port.rxBurst(a2, lens, 64), 60); // nothing left to refill with
  port.free(a1, 0, 10);
  assert.equal(port.rxBurst(a3, lens, 64), 0); // idle: the 10 go to FILL, 50 slots stay empty
  assert.equal(kernel.fill.count(), 14);
  port.free(a1, 10, 54);
  port.free(a2, 0, 60);
  assert.equal(kernel.deliver(3, 60), 3);
  assert.equal(port.rxBurst(a3, lens, 64), 3); // refill of 3 from the cache: 50 known free
  port.free(a3, 0, 3);
  assertBalanced(f, 0, "all freed");
  assert.equal(port.rxBurst(a1, lens, 64), 0); // idle
  assert.equal(kernel.fill.count(), 64, "FILL full once idle");
  assert.equal(port.pool.available, 64);
  assert.equal(port.rxBurst(a1, lens, 64), 0);
  assert.equal(kernel.fill.count(), 64);
  assertBalanced(f, 0, "idle");
});

Deno.test("port: fillFrames = 0 never posts to FILL nor wakes it", () => {
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64, fillFrames: 0 });
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  f.kernel.fill.setNeedWakeup(true);
  assert.equal(f.kernel.fill.count(), 0);
  assert.equal(f.port.rxBurst(addrs, lens, 64), 0);
  assert.equal(f.kernel.fill.count(), 0);
  assert.equal(f.calls.recvfrom, 0);
  assert.equal(f.port.pool.available, 128);
  assertBalanced(f, 0);
});

Deno.test("port: txBurst, transmit and reclaim; tx counted at completion", () => {
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64 });
  const { port, kernel } = f;
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  kernel.deliver(8, 60);
  assert.equal(port.rxBurst(addrs, lens, 64), 8);
  for (let i = 0; i < 8; i++) lens[i] = 60 + i; // 60..67: 508 bytes
  const poolBefore = port.pool.available;
  assert.equal(port.txBurst(addrs, lens, 8), 8);
  for (let i = 0; i < 8; i++) {
    assert.equal(kernel.tx.addrAt(i), addrs[i]);
    assert.equal(kernel.tx.lenAt(i), 60 + i);
  }
  assert.equal(port.counters.txQueued, 8);
  assert.equal(port.counters.txPackets, 0, "not counted at queueing");
  assert.equal(port.counters.txBytes, 0);
  assert.equal(port.txOutstanding, 8);
  assert.equal(port.counters.txKicks, 0, "no kick without NEED_WAKEUP");
  assert.equal(f.calls.sendto, 0);
  assertBalanced(f, 0, "queued");

  assert.equal(kernel.transmit(), 8);
  assert.equal(kernel.transmittedBytes, 508);
  assert.equal(port.counters.txPackets, 0, "completed but not reclaimed");
  assertBalanced(f, 0, "on completion ring");
  assert.equal(port.reclaim(), 8);
  assert.equal(port.counters.txPackets, 8);
  assert.equal(port.counters.txBytes, 508);
  assert.equal(port.txOutstanding, 0);
  assert.equal(port.pool.available, poolBefore + 8);
  assert.equal(port.pool.contains(addrs[0]), true);
  assert.equal(port.reclaim(), 0);
  assertBalanced(f, 0, "reclaimed");

  // With NEED_WAKEUP on TX, each txBurst kicks once.
  kernel.tx.setNeedWakeup(true);
  kernel.deliver(3, 70);
  assert.equal(port.rxBurst(addrs, lens, 64), 3);
  assert.equal(port.txBurst(addrs, lens, 3), 3);
  assert.equal(f.calls.sendto, 1);
  assert.equal(port.counters.txKicks, 1);
  // The next txBurst reclaims what completed in the meantime.
  kernel.transmit();
  assert.equal(port.txBurst(addrs, lens, 0), 0);
  assert.equal(port.counters.txPackets, 11);
  assert.equal(port.counters.txBytes, 508 + 210);
  assert.equal(port.counters.txQueued, 11);
  assertBalanced(f, 0, "end");
});

Deno.test("port: with clockKicks every kick and keepWarm go through the clocked kick; its -errno is counted", () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64 });
  const { port, kernel } = f;
  const atNs = new Float64Array(1);
  const seen: number[] = [];
  let result = 0;
  // A stand-in for the helper's bpx_kick_at: it writes its "clock" and answers as sendto would.
  port.clockKicks((fd, at) => {
    assert.equal(at, atNs);
    seen.push(fd);
    at[0] = 1000 + seen.length;
    return result;
  }, atNs);
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  kernel.tx.setNeedWakeup(true);
  kernel.deliver(2, 60);
  assert.equal(port.rxBurst(addrs, lens, 64), 2);
  assert.equal(port.txBurst(addrs, lens, 2), 2);
  assert.deepEqual(seen, [port.fd]);
  assert.equal(atNs[0], 1001);
  assert.equal(f.calls.sendto, 0, "the plain sendto is not called");
  assert.equal(port.counters.txKicks, 1);
  assert.equal(port.counters.txKickErrors, 0);
  port.keepWarm();
  assert.deepEqual(seen, [port.fd, -1]);
  assert.equal(f.calls.warm, 0);
  // "Busy, try again" is no error; any other errno is.
  result = -11; // EAGAIN
  port.kick();
  assert.equal(port.counters.txKickErrors, 0);
  result = -9; // EBADF
  port.kick();
  assert.equal(port.counters.txKicks, 3);
  assert.equal(port.counters.txKickErrors, 1);
  result = 0;
  kernel.transmit();
  port.reclaim();
  assertBalanced(f, 0, "end");
});

Deno.test("port: txBurst on a full TX ring returns fewer; the caller frees the rest", () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64, fillFrames: 0 });
  const { port, kernel } = f;
  const addrs = new Uint32Array(128), lens = new Uint32Array(128).fill(60);
  assert.equal(port.alloc(addrs, 100), 100);
  assert.equal(port.appHeld, 100);
  assert.equal(port.txBurst(addrs, lens, 100), 64);
  assert.equal(port.counters.txRingFull, 36);
  assert.equal(port.counters.txQueued, 64);
  assert.equal(port.appHeld, 36);
  port.free(addrs, 64, 36);
  assert.equal(port.appHeld, 0);
  assert.equal(port.pool.available, 192);
  assertBalanced(f, 0, "after freeing the rest");

  assert.equal(port.alloc(addrs, 10), 10);
  assert.equal(port.txBurst(addrs, lens, 10), 0, "ring still full");
  assert.equal(port.counters.txRingFull, 46);
  port.free(addrs, 0, 10);
  assert.equal(kernel.transmit(), 64);
  assert.equal(port.alloc(addrs, 10), 10);
  assert.equal(port.txBurst(addrs, lens, 10), 10, "reclaim made room");
  assert.equal(port.counters.txPackets, 64);
  assert.equal(port.counters.txBytes, 64 * 60);
  assertBalanced(f, 0, "end");
});

Deno.test("port: the audit balances through 2000 random steps (indices wrap past 2^32)", () => {
  const start = 2 ** 32 - 700;
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64, startIndex: start });
  const { port, kernel, hooks } = f;
  const rnd = prng(0xb1a5);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const addrs = new Uint32Array(128), lens = new Uint32Array(128);
  const held: { addr: number; len: number }[] = [];
  let rxSeq = 0, rxTotal = 0;
  const did = new Uint32Array(8);
  hooks.sendto = () => {
    if (rnd() < 0.5) kernel.transmit();
  };
  for (let step = 0; step < 2000; step++) {
    const action = int(0, 7);
    did[action]++;
    switch (action) {
      case 0:
        kernel.deliver(int(0, 96), int(60, 1514));
        break;
      case 1: {
        const n = port.rxBurst(addrs, lens, int(1, 64));
        for (let i = 0; i < n; i++) {
          assert.equal(kernel.seqAt(addrs[i]), rxSeq++, "RX keeps delivery order");
          assert.equal(addrs[i] % FS, FAKE_HEADROOM);
          held.push({ addr: addrs[i], len: lens[i] });
        }
        rxTotal += n;
        break;
      }
      case 2: {
        const n = Math.min(int(0, 80), held.length);
        for (let i = 0; i < n; i++) {
          addrs[i] = held[i].addr;
          lens[i] = held[i].len;
        }
        const sent = port.txBurst(addrs, lens, n);
        const unsent = held.splice(0, n).slice(sent);
        if (rnd() < 0.5) {
          port.free(addrs, sent, n - sent);
        } else {
          held.push(...unsent);
        }
        break;
      }
      case 3: {
        const n = Math.min(int(0, 40), held.length);
        for (let i = 0; i < n; i++) addrs[i] = held[held.length - n + i].addr;
        held.splice(held.length - n, n);
        port.free(addrs, 0, n);
        break;
      }
      case 4:
        kernel.transmit();
        break;
      case 5:
        port.reclaim();
        break;
      case 6: {
        const n = port.alloc(addrs, int(0, 20));
        for (let i = 0; i < n; i++) held.push({ addr: addrs[i], len: 60 });
        break;
      }
      case 7:
        kernel.fill.setNeedWakeup(rnd() < 0.5);
        kernel.tx.setNeedWakeup(rnd() < 0.5);
        break;
    }
    assertBalanced(f, held.length, `step ${step} action ${action}`);
    assert.equal(port.appHeld, held.length);
    assert.equal(port.counters.rxPackets, rxTotal);
    assert.equal(port.counters.txPackets, kernel.transmitted - kernel.comp.count());
    assert.equal(port.counters.txQueued - port.counters.txPackets, port.txOutstanding);
  }
  for (let i = 0; i < 8; i++) assert.ok(did[i] > 150, `action ${i} ran ${did[i]} times`);
  assert.ok(rxTotal > 2000, `received ${rxTotal}`);
  assert.ok(kernel.fill.producer[0] < start && kernel.tx.producer[0] < start, "wrapped");
  // Drain: free everything, finish TX; every frame is then in the pool or on FILL.
  for (let i = 0; i < held.length; i++) addrs[i] = held[i].addr;
  port.free(addrs, 0, held.length);
  kernel.transmit();
  port.reclaim();
  assert.equal(port.counters.txPackets, kernel.transmitted);
  assert.equal(port.counters.txBytes, kernel.transmittedBytes);
  assert.equal(port.pool.available + kernel.fill.count() + kernel.rx.count(), 256);
  assertBalanced(f, 0, "drained");
});

Deno.test("port: the audit detects a frame in two places and a lost frame", () => {
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64, fillFrames: 32 });
  const { port, kernel } = f;
  assertBalanced(f, 0);
  let poolFrame = -1;
  port.pool.forEachFree((fr) => poolFrame = fr);
  assert.equal(poolFrame, 32, "top of the pool stack after 32 allocs");
  assert.equal(port.pool.contains(poolFrame * FS), true);

  kernel.fill.push(poolFrame * FS); // the same frame in the pool and on FILL
  let a = port.audit();
  assert.equal(a.duplicates, 1);
  assert.equal(a.fill, 33);
  assert.equal(a.inFlight, -1);
  assert.equal(a.balanced, false);
  kernel.fill.producer[0]--; // undo
  assertBalanced(f, 0, "undone");

  kernel.comp.push(poolFrame * FS + 256); // a completion for a frame that was never sent
  a = port.audit();
  assert.equal(a.duplicates, 1);
  assert.equal(a.balanced, false);
  assert.throws(() => port.reclaim(), FrameOwnershipError, "reclaim refuses the double free");

  const g = fakePort({ frames: 128, rxSize: 64, txSize: 64 });
  g.kernel.fill.drop(1); // the kernel took a frame from FILL and never returned it
  a = g.port.audit();
  assert.equal(a.duplicates, 0);
  assert.equal(a.inFlight, 1);
  assert.equal(a.balanced, false);
});

Deno.test("port: drainRx frees what is left on RX and counts it as received", () => {
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64, startIndex: 2 ** 32 - 5 });
  const { port, kernel } = f;
  assert.equal(kernel.deliver(10, 80), 10);
  const poolBefore = port.pool.available;
  assert.equal(port.drainRx(), 10);
  assert.equal(kernel.rx.count(), 0);
  assert.equal(port.pool.available, poolBefore + 10);
  assert.equal(port.counters.rxPackets, 10);
  assert.equal(port.counters.rxBytes, 800);
  assert.equal(port.counters.drainedAtStop, 10);
  assert.equal(port.drainRx(), 0);
  assertBalanced(f, 0);
});
