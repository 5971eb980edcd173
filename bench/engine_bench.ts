/**
 * Micro-benchmarks of the fast-path building blocks: `deno bench -A bench/engine_bench.ts`.
 *
 * Every case runs {@link ITERS} bursts of {@link BURST} inside one bench call, so each call
 * handles 64 × 1000 = 64,000 items and the per-call overhead of `Deno.bench` is amortised:
 * **per-item cost = reported time per call ÷ 64,000** (e.g. 3.2 ms/call = 50 ns per packet).
 *
 * - `spsc`: SpscRing enqueueBurst(64) + dequeueBurst(64), single thread (items = values).
 * - `mempool`: Mempool allocBurst(64) + freeBurst(64) (items = frames).
 * - `l2fwd`: the whole loop on the {@link FakeKernel}: deliver 64 → rxBurst → macSwap each →
 *   txBurst (reclaims the previous completions) → transmit (items = packets); the same loop as
 *   `bench/engine_loop.ts` and `bench/engine_loop.c`.
 *
 * @module
 */
import { spscBytes, SpscRing } from "../ring/spsc.ts";
import { Mempool } from "../mempool/mempool.ts";
import { l2fwdBursts, loopSetup } from "./engine_loop.ts";

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
  const { port, kernel, addrs, lens } = loopSetup(BURST);
  Deno.bench(
    `l2fwd rx→macSwap→tx→complete burst ${BURST} on FakeKernel (${items})`,
    { group: "loop" },
    () => {
      const n = l2fwdBursts(port, kernel, addrs, lens, BURST, ITERS);
      if (n !== ITEMS_PER_CALL) throw new Error(`forwarded ${n} of ${ITEMS_PER_CALL}`);
    },
  );
}
