/**
 * What the frame path's first steps cost after a stretch of empty polls, with and without what
 * byPassRT does to keep them warm while idle, untraced:
 * `taskset -c 1 deno run -A bench/cold_path.ts`. It runs itself again with byPassRT's V8 flags
 * (`engine/v8_flags.ts`, as the engine's Worker runs; `BPB_V8_FLAGS` replaces them, empty: V8's
 * defaults), since V8 reads flags only at process start and the figures depend on them: under
 * V8's defaults the steps stay in V8's lower tiers for longer and cost several times more after
 * 1 ms (BENCHMARKS.md, "Where the gap is").
 *
 * Three steps (name some to run only those, e.g. `cold_path.ts clock`), each timed between two
 * `performance.now()` reads after spinning the way the idle loop does (an `Atomics.load` per
 * loop, `performance.now()` every {@link PUBLISH_EVERY} loops as the clock's keep-warm):
 * - **kick**: one `sendto(-1)` through byPassRT's libc binding: the FFI trampoline, libc's
 *   wrapper and the kernel's system-call entry that a TX kick shares with the loop's keep-warm
 *   call (`Port.keepWarm`, made every {@link WARM_EVERY} loops when on);
 * - **respond**: the built-in `respond` handler's `burst` on one ping (a real `BurstState` over a
 *   fake port's UMEM), with its `idle` rehearsal called every loop when on (it answers a ping on
 *   scratch memory every 64th call), as the loop calls `idle` on every empty poll.
 * - **clock**: what the per-frame clock does on a frame's path, `FrameClock.rx` with the kick
 *   clock a live run has (one clock read; the kick's own clock read is C inside the kick; the
 *   frame's record after them is not timed, as the loop records after the kick). Off: a bare
 *   `performance.now()` on the tick; on: `FrameClock.keepWarm` (the same read, no frame).
 *
 * At 1000 frames/s each runs after a millisecond of empty polls. Off and on alternate, 400 times
 * each per round, three rounds; p50 and p90 in us. The same after 20 us of spinning shows the
 * warm cost. BENCHMARKS.md, "Keeping the frame path warm", has a run.
 *
 * @module
 */
import { MSG_DONTWAIT, openLibc } from "../ffi/libc.ts";
import { PUBLISH_EVERY, WARM_EVERY } from "../engine/loop.ts";
import { fakePort } from "../testing/fake_kernel.ts";
import { handlerLoop } from "../testing/handler_loop.ts";
import respond from "../handlers/respond.ts";
import { writeEchoRequest } from "../packet/mod.ts";
import { FrameClock } from "../engine/frame_clock.ts";
import { openHelper } from "../ffi/helper.ts";
import { helperPath } from "../engine/paths.ts";
import { newLatencyBlock } from "../engine/latency_histogram.ts";
import { rerunWithV8Flags } from "./contenders.ts";

// The flags byPassRT's contender runs with (BPB_V8_FLAGS honoured the same way).
console.log(
  `cold_path: V8 flags ${await rerunWithV8Flags(import.meta.url, "BPB_COLD_PATH_V8_FLAGS")}`,
);

const libc = openLibc();
const sendto = libc.fn.sendto;
const word = new Int32Array(new SharedArrayBuffer(4));
const scratch = new Float64Array(1);
const tickMask = PUBLISH_EVERY - 1, warmMask = WARM_EVERY - 1;

// respond on a fake port: a real BurstState holding one ping to 192.0.2.1 at UMEM offset 0.
const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
const h = await handlerLoop(fakePort({ frames: 64 }).port, respond, {
  options: { ip: "192.0.2.1" },
  mac,
});
const { b, ctx } = h;
const ping = new Uint8Array(98);
writeEchoRequest(ping, 0, {
  srcMac: Uint8Array.of(2, 0, 0, 0, 0, 2),
  dstMac: mac,
  srcIp: 0xc0000202,
  dstIp: 0xc0000201,
  id: 7,
  seq: 1,
  payloadLen: 56,
});
const idle = respond.idle!;

// A frame clock over its own 64 KiB of "UMEM", one frame at 4096 with a stamp before it.
const clockMem = new Uint8Array(1 << 16);
const clock = new FrameClock(
  clockMem,
  newLatencyBlock(),
  openHelper(helperPath()).symbols.bpx_now,
);
// As in a live run: the RX point reads CLOCK_MONOTONIC through the helper, and the TX point's
// clock is the kick's (not timed here: its clock_gettime runs in C inside the kick), so the
// clock's own part of the path is the RX read.
clock.kickClock();
const frame = Uint32Array.of(4096);

type Step = "kick" | "respond" | "clock";

/** Spin for `ms` as the idle loop does; with `warm`, keeping `step` warm as byPassRT does. */
function spin(ms: number, step: Step, warm: boolean): void {
  const end = performance.now() + ms;
  for (let loops = 1;; loops++) {
    Atomics.load(word, 0);
    if (warm && step === "respond") idle.call(respond, ctx);
    if ((loops & tickMask) !== 0) continue;
    const t = performance.now();
    scratch[0] = t;
    if (warm && step === "kick" && (loops & warmMask) === 0) {
      sendto(-1, null, 0n, MSG_DONTWAIT, null, 0);
    }
    if (step === "clock") {
      if (warm) clock.keepWarm();
      else scratch[0] = performance.now();
    }
    if (t >= end) return;
  }
}

/** The step once after `ms` of spinning, in us. */
function once(ms: number, step: Step, warm: boolean): number {
  if (step === "respond") {
    b.bytes.set(ping, 0);
    b.addrs[0] = 0;
    b.lens[0] = ping.length;
    b.act[0] = 0;
    b.length = 1;
  }
  spin(ms, step, warm);
  const t0 = performance.now();
  if (step === "kick") sendto(-1, null, 0n, MSG_DONTWAIT, null, 0);
  else if (step === "clock") {
    clock.rx();
  } else respond.burst(b, ctx);
  const us = (performance.now() - t0) * 1000;
  if (step === "clock") clock.sent(frame, 1);
  if (step === "respond" && b.act[0] !== 1) throw new Error("respond did not answer the ping");
  return us;
}

const N = 400;
const ALL_STEPS: Step[] = ["kick", "respond", "clock"];
const steps = Deno.args.length > 0 ? Deno.args as Step[] : ALL_STEPS;
for (const s of steps) {
  if (!ALL_STEPS.includes(s)) {
    console.error(`cold_path: unknown step "${s}": give some of ${ALL_STEPS.join(", ")}`);
    Deno.exit(2);
  }
}
for (let round = 1; round <= 3; round++) {
  for (const step of steps) {
    for (const ms of [1, 0.02]) {
      // Off and on alternate, so both see the same stretch of the machine's state.
      const off: number[] = [], on: number[] = [];
      for (let k = 0; k < N; k++) {
        off.push(once(ms, step, false));
        on.push(once(ms, step, true));
      }
      for (const [name, v] of [["off", off], ["on ", on]] as const) {
        v.sort((x, y) => x - y);
        console.log(
          `round ${round}: ${step.padEnd(7)} after ${ms} ms of empty polls, keep-warm ${name}: ` +
            `p50 ${v[N / 2].toFixed(2)} us, p90 ${v[Math.floor(N * 0.9)].toFixed(2)} us`,
        );
      }
    }
  }
}
libc.close();
