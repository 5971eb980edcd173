/**
 * A sparse frame's way through byPassRT's polling loop against a bare TypeScript loop, in one
 * process, without a kernel: `deno run -A bench/rx_path.ts [--rounds 10] [--frames 200]
 * [--gap-us 1000]`. It runs itself again with byPassRT's V8 flags (as `cold_path.ts` does).
 *
 * A Worker on CPU 0 (`rx_path_worker.ts`) plays the kernel: after `--gap-us` of empty polls it
 * stamps a frame with CLOCK_MONOTONIC, as the XDP program does, and puts it on a fake kernel's
 * RX ring (`testing/fake_kernel.ts`). The main thread, on CPU 1, runs one contender at a time:
 * - **byPassRT**: the engine's real loop (`runLoop` through `testing/handler_loop.ts`) with the
 *   built-in `l2fwd` handler and the per-frame clock, as `--mode l2fwd` runs it;
 * - **nots**: the same without the clock (`--no-timestamps`);
 * - **bare**: `bench/ref_loop.ts`, xsk_ref.c's loop line for line over the same ring classes
 *   (what `bench/ts_ref.ts` runs), with byPassRT's own clock code read where byPassRT reads it
 *   (after the RX ring is released, before the frame is handled; recorded after the kick).
 * Every contender's TX kick goes to the fake libc's `sendto`, which reads the clock first and
 * asks the Worker for the next frame. So "to kick" is the stamp to the kick (the whole way
 * through the loop, as the real bench's XDP-to-TX), and "to handler" the stamp to the clock
 * read before the frames are handled (the real bench's XDP-to-handler). Both contenders pay the
 * same for the cross-CPU transfer of the ring and the frame; what differs is the loops' code.
 *
 * Each round runs `--frames` frames per contender, in a rotating order; p50 and p90 in ns per
 * round, and the median over the rounds of byPassRT's p50 minus the bare loop's. A BENCHMARK
 * only (BENCHMARKS.md, "The frame path at 1000 frames/s, instrumented").
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type FakePort, fakePort } from "../testing/fake_kernel.ts";
import { handlerLoop } from "../testing/handler_loop.ts";
import l2fwd from "../handlers/l2fwd.ts";
import { FrameClock } from "../engine/frame_clock.ts";
import { openHelper } from "../ffi/helper.ts";
import { helperPath } from "../engine/paths.ts";
import {
  newLatencyBlock,
  recordNs,
  summarize,
  TO_HANDLER,
  TO_TX,
} from "../engine/latency_histogram.ts";
import { openLibc } from "../ffi/libc.ts";
import { pinThread } from "../engine/affinity.ts";
import { rerunWithV8Flags } from "./contenders.ts";
import { median } from "./report.ts";
import {
  L2FWD,
  REF_BURST,
  REF_FRAME_SIZE,
  REF_FRAMES,
  REF_RING_SIZE,
  RefLoop,
} from "./ref_loop.ts";
import {
  ACTIVE,
  CONTROL_WORDS,
  GAP_US as GAP,
  GO,
  type RxPathKernelStart,
  STOP,
} from "./rx_path_worker.ts";

const v8 = await rerunWithV8Flags(import.meta.url, "BPB_RX_PATH_V8_FLAGS");

const args = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "10" },
    frames: { type: "string", default: "200" },
    "gap-us": { type: "string", default: "1000" },
    help: { type: "boolean", short: "h" },
  },
});
if (args.values.help) {
  console.log(
    "usage: deno run -A bench/rx_path.ts [--rounds N] [--frames N] [--gap-us US]\n" +
      "A sparse frame through byPassRT's loop (with and without the clock) against a bare loop,\n" +
      "in one process on a fake kernel; see the module doc.",
  );
  Deno.exit(0);
}
const num = (name: "rounds" | "frames" | "gap-us") => {
  const v = Number(args.values[name]);
  if (!(v > 0 && Number.isInteger(v))) {
    console.error(`rx_path: --${name} must be a positive integer`);
    Deno.exit(2);
  }
  return v;
};
const ROUNDS = num("rounds"), FRAMES = num("frames"), GAP_US = num("gap-us");
console.log(`rx_path: V8 flags ${v8}`);
// The reference loop's sizes, for every contender.
const FRAME_SIZE = REF_FRAME_SIZE, NFRAMES = REF_FRAMES, RING = REF_RING_SIZE, BURST = REF_BURST;
const LEN = 60;

const now = openHelper(helperPath()).symbols.bpx_now;
const libc = openLibc();
if (pinThread(libc, 0, [1]) !== 0) console.error("rx_path: cannot pin to CPU 1 (running unpinned)");

const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
const stamp = new Float64Array(new SharedArrayBuffer(8));
/** Frames still to come in the current block (the kick hook asks for the next while > 0). */
let remaining = 0;

/** One contender: its fake kernel and port, its latency block, and how to run N frames. */
interface Contender {
  name: string;
  fp: FakePort;
  /** The kick hook's histogram (TO_TX): the stamp to the kick. */
  lat: Float64Array;
  /** The per-frame clock's block (byPassRT with the clock, the bare loop), else null. */
  clockBlock: Float64Array | null;
  run(frames: number): void;
}

function newFake(fillFrames?: number): FakePort {
  const fp = fakePort({
    frames: NFRAMES,
    frameSize: FRAME_SIZE,
    rxSize: RING,
    txSize: RING,
    ...(fillFrames === undefined ? {} : { fillFrames }),
  });
  fp.kernel.tx.setNeedWakeup(true);
  return fp;
}

/** The kick: read the clock, transmit, record the frame's way, ask for the next frame. */
function hookKicks(c: Contender): void {
  const kernel = c.fp.kernel, lat = c.lat;
  c.fp.hooks.sendto = () => {
    const t = now();
    kernel.transmit();
    const s = stamp[0];
    if (s > 0) {
      stamp[0] = 0;
      recordNs(lat, TO_TX, t - s);
      if (--remaining > 0) Atomics.store(control, GO, 1);
    }
  };
}

async function engine(name: string, clocked: boolean): Promise<Contender> {
  const fp = newFake();
  const clockBlock = clocked ? newLatencyBlock() : null;
  const clock = clockBlock === null ? undefined : new FrameClock(fp.port.umem, clockBlock, now);
  const h = await handlerLoop(fp.port, l2fwd, { burst: BURST, clock });
  let total = 0;
  const c: Contender = {
    name,
    fp,
    lat: newLatencyBlock(),
    clockBlock,
    run(frames) {
      total += frames;
      h.loop.count = total;
      const exit = h.run();
      if (exit !== "count") throw new Error(`${name}: the loop ended with "${exit}"`);
    },
  };
  hookKicks(c);
  return c;
}

/** The bare loop: `ref_loop.ts` in l2fwd mode, with byPassRT's clock code (no clocked kick). */
function bare(): Contender {
  const fp = newFake(0);
  const clockBlock = newLatencyBlock();
  const loop = new RefLoop(fp.port, fp.libc, {
    mode: L2FWD,
    ip: new Uint8Array(4),
    mac: new Uint8Array(6),
    keepWarm: true,
    control: new Int32Array(1),
    stats: new Float64Array(4),
    clock: new FrameClock(fp.port.umem, clockBlock, now),
    kickAt: null,
  });
  const c: Contender = {
    name: "bare",
    fp,
    lat: newLatencyBlock(),
    clockBlock,
    run(n) {
      loop.run(n);
      loop.finish();
    },
  };
  hookKicks(c);
  return c;
}

const contenders = [await engine("byPassRT", true), await engine("nots", false), bare()];
const kernel = new Worker(new URL("./rx_path_worker.ts", import.meta.url), { type: "module" });
const ready = new Promise<void>((resolve, reject) => {
  kernel.onmessage = (e) => {
    if (e.data.type === "ready") resolve();
    else if (e.data.type === "error") reject(new Error(`rx_path kernel: ${e.data.message}`));
  };
});
const start: RxPathKernelStart = {
  kernels: contenders.map((c) => c.fp.kernel.id),
  frameSize: FRAME_SIZE,
  frames: NFRAMES,
  len: LEN,
  helper: helperPath(),
  cpu: 0,
  control,
  stamp,
};
kernel.postMessage(start);
await ready;

/** Run `frames` frames `gapUs` apart through contender `i` (its blocks zeroed first). */
function block(i: number, frames: number, gapUs: number): void {
  const c = contenders[i];
  c.lat.fill(0);
  c.clockBlock?.fill(0);
  remaining = frames;
  Atomics.store(control, GAP, gapUs);
  Atomics.store(control, ACTIVE, i);
  Atomics.store(control, GO, 1);
  c.run(frames);
}

// Warm-up: V8 compiles every contender's path before anything is measured.
for (let i = 0; i < contenders.length; i++) block(i, 5000, 10);

const us = (ns: number) => (ns / 1000).toFixed(2);
const rows: { name: string; handler: number[]; kick: number[] }[] = contenders.map((c) => ({
  name: c.name,
  handler: [],
  kick: [],
}));
for (let round = 1; round <= ROUNDS; round++) {
  const line: string[] = [];
  for (let j = 0; j < contenders.length; j++) {
    const i = (j + round) % contenders.length, c = contenders[i];
    block(i, FRAMES, GAP_US);
    const kick = summarize([c.lat], TO_TX);
    const toHandler = c.clockBlock === null ? null : summarize([c.clockBlock], TO_HANDLER);
    rows[i].kick.push(kick.p50);
    if (toHandler !== null) rows[i].handler.push(toHandler.p50);
    line.push(
      `${c.name} to handler ${toHandler ? `${us(toHandler.p50)}/${us(toHandler.p90)}` : "-"}` +
        ` to kick ${us(kick.p50)}/${us(kick.p90)}`,
    );
  }
  console.log(`round ${round} (p50/p90 us, ${FRAMES} frames each): ${line.join("; ")}`);
}
const bareRow = rows[contenders.findIndex((c) => c.name === "bare")];
for (const r of rows) {
  if (r === bareRow) continue;
  const dk = r.kick.map((v, k) => v - bareRow.kick[k]);
  const dh = r.handler.map((v, k) => v - bareRow.handler[k]);
  console.log(
    `${r.name} minus bare, median over ${ROUNDS} rounds of the p50s: to kick ${
      us(median(dk)!)
    } us` +
      (dh.length > 0 ? `, to handler ${us(median(dh)!)} us` : ""),
  );
}
Atomics.store(control, STOP, 1);
kernel.terminate();
libc.close();
