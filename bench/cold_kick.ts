/**
 * What the first system call after a stretch of empty polls costs, with and without the loop's
 * keep-warm call (`Port.keepWarm`), untraced: `taskset -c 1 deno run -A bench/cold_kick.ts`.
 *
 * The polling loop makes no system call while nothing arrives, so at 1000 frames/s a frame's TX
 * kick (`sendto` through byPassRT's libc binding) is the first call after a millisecond. This
 * spins the way the idle loop does (an `Atomics.load` per loop, `performance.now()` every
 * {@link PUBLISH_EVERY} loops as the clock's keep-warm; with `warm`, also the keep-warm `sendto`
 * on fd -1 every {@link WARM_EVERY} loops), then times one `sendto(-1)` between two
 * `performance.now()` reads: the FFI trampoline, libc's wrapper and the kernel's system-call entry
 * a kick shares with the keep-warm call (the kick's own socket code comes after them). 400 times
 * per case, the two cases alternating, three rounds; p50 and p90 in us. The same after 20 us of spinning shows the warm cost.
 * BENCHMARKS.md, "Keeping the frame path warm", has a run.
 *
 * @module
 */
import { MSG_DONTWAIT, openLibc } from "../ffi/libc.ts";
import { PUBLISH_EVERY, WARM_EVERY } from "../engine/loop.ts";

const libc = openLibc();
const sendto = libc.fn.sendto;
const word = new Int32Array(new SharedArrayBuffer(4));
const scratch = new Float64Array(1);
const tickMask = PUBLISH_EVERY - 1, warmMask = WARM_EVERY - 1;

/** Spin for `ms` as the idle loop does; with `warm`, making its keep-warm call. */
function spin(ms: number, warm: boolean): void {
  const end = performance.now() + ms;
  for (let loops = 1;; loops++) {
    Atomics.load(word, 0);
    if ((loops & tickMask) !== 0) continue;
    const t = performance.now();
    scratch[0] = t;
    if (warm && (loops & warmMask) === 0) sendto(-1, null, 0n, MSG_DONTWAIT, null, 0);
    if (t >= end) return;
  }
}

/** One call after `ms` of spinning, in us. */
function once(ms: number, warm: boolean): number {
  spin(ms, warm);
  const t0 = performance.now();
  sendto(-1, null, 0n, MSG_DONTWAIT, null, 0);
  return (performance.now() - t0) * 1000;
}

const N = 400;
for (let round = 1; round <= 3; round++) {
  for (const ms of [1, 0.02]) {
    // Off and on alternate, so both see the same stretch of the machine's state.
    const off: number[] = [], on: number[] = [];
    for (let k = 0; k < N; k++) {
      off.push(once(ms, false));
      on.push(once(ms, true));
    }
    for (const [name, v] of [["off", off], ["on ", on]] as const) {
      v.sort((a, b) => a - b);
      console.log(
        `round ${round}: sendto after ${ms} ms of empty polls, keep-warm ${name}: ` +
          `p50 ${v[N / 2].toFixed(2)} us, p90 ${v[Math.floor(N * 0.9)].toFixed(2)} us`,
      );
    }
  }
}
libc.close();
