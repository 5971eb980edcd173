/**
 * Micro-benchmarks of the fast-path building blocks: `deno bench -A bench/engine_bench.ts`.
 *
 * Every case runs {@link ITERS} bursts of {@link BURST} inside one bench call, so each call
 * handles 64 × 1000 = 64,000 items and the per-call overhead of `Deno.bench` is amortised:
 * **per-item cost = reported time per call ÷ 64,000** (e.g. 3.2 ms/call = 50 ns per packet).
 *
 * - `spsc`: SpscRing enqueueBurst(64) + dequeueBurst(64), single thread (items = values).
 * - `mempool`: Mempool allocBurst(64) + freeBurst(64) (items = frames).
 * - `loop`: the engine's real polling loop (engine/loop.ts `runLoop` with handlers/l2fwd.ts) on
 *   the wake-up driven fake kernel, as `bench/engine_loop.ts real` times it; and the `direct`
 *   reference loop (rx burst → MAC swap → tx burst written out) on the same kind of port. The
 *   difference is the handler indirection (items = packets).
 * - `hook`: what one fake system call costs the TS side, per call (items = calls): a plain FFI
 *   call into the C kernel (`fk_deliver` of 0 packets) against the same call made the way the
 *   port makes it in the benchmark (the fake port's stub `recvfrom`, then the hook's closure,
 *   then the FFI call). The loops make two such calls per burst.
 *
 * @module
 */
import { spscBytes, SpscRing } from "../ring/spsc.ts";
import { Mempool } from "../mempool/mempool.ts";
import { MSG_DONTWAIT } from "../ffi/libc.ts";
import { fakePort } from "../testing/fake_kernel.ts";
import { directLoop, realLoop } from "./engine_loop.ts";

/** Items per burst. */
export const BURST = 64;
/** Bursts per bench call. */
export const ITERS = 1000;
/** Items per bench call: divide the reported time per call by this. */
export const ITEMS_PER_CALL = BURST * ITERS;

const items = `${ITEMS_PER_CALL / 1000}k items/call`;

{
  const mem = new SharedArrayBuffer(spscBytes(1024));
  const prod = new SpscRing(mem, 1024), cons = new SpscRing(mem, 1024);
  const src = new Uint32Array(BURST).map((_, i) => i), dst = new Uint32Array(BURST);
  Deno.bench(`spsc enqueue+dequeue burst ${BURST} (${items})`, { group: "parts" }, () => {
    for (let it = 0; it < ITERS; it++) {
      prod.enqueueBurst(src, 0, BURST);
      if (cons.dequeueBurst(dst, 0, BURST) !== BURST) throw new Error("spsc lost values");
    }
  });
}

{
  const pool = new Mempool(4096, 2048);
  const addrs = new Uint32Array(BURST);
  Deno.bench(`mempool allocBurst+freeBurst ${BURST} (${items})`, { group: "parts" }, () => {
    for (let it = 0; it < ITERS; it++) {
      const k = pool.allocBurst(addrs, 0, BURST);
      pool.freeBurst(addrs, 0, k);
    }
    if (pool.available !== 4096) throw new Error("mempool leaked");
  });
}

{
  const real = await realLoop(BURST);
  Deno.bench(
    `real loop: runLoop + handlers/l2fwd.ts, burst ${BURST}, wake-up driven fake kernel (${items})`,
    { group: "loop", baseline: true },
    () => {
      const n = real.run(ITEMS_PER_CALL);
      if (n !== ITEMS_PER_CALL) throw new Error(`forwarded ${n} of ${ITEMS_PER_CALL}`);
    },
  );
  const direct = directLoop(BURST);
  Deno.bench(
    `direct loop: rxBurst → macSwap → txBurst, burst ${BURST}, same kernel (${items})`,
    { group: "loop" },
    () => {
      const n = direct.run(ITEMS_PER_CALL);
      if (n !== ITEMS_PER_CALL) throw new Error(`forwarded ${n} of ${ITEMS_PER_CALL}`);
    },
  );
}

{
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64 });
  const kernel = f.kernel, libc = f.libc, fd = f.port.fd;
  f.hooks.recvfrom = () => {
    kernel.deliver(0, 64);
  };
  const calls = `${ITEMS_PER_CALL / 1000}k calls/call`;
  Deno.bench(`fk_deliver(0 packets) as a plain FFI call (${calls})`, {
    group: "hook",
    baseline: true,
  }, () => {
    for (let i = 0; i < ITEMS_PER_CALL; i++) kernel.deliver(0, 64);
  });
  Deno.bench(
    `the same through the stub recvfrom and its hook (${calls})`,
    { group: "hook" },
    () => {
      for (let i = 0; i < ITEMS_PER_CALL; i++) {
        libc.fn.recvfrom(
          fd,
          null,
          0n,
          MSG_DONTWAIT,
          null,
          null,
        );
      }
    },
  );
}
