/**
 * The engine benchmark, TypeScript side: the engine's own polling loop, timed on the fake kernel.
 *
 * - `real` (what the target is about): engine/loop.ts `runLoop` with the built-in l2fwd handler
 *   module (handlers/l2fwd.ts, imported and checked as the Worker does), through
 *   testing/handler_loop.ts, on a {@link fakePort}. Stopped by its `count` option.
 * - `direct` (a reference, for the cost of the handler indirection): the same port, the same
 *   wake-up protocol, rx burst → MAC swap → tx burst written out, no handler, no verdicts, no
 *   frame budget, no counter publication.
 * - `clocked`: `real` with the per-frame clock on (engine/frame_clock.ts, as without
 *   `--no-timestamps`): every frame carries an XDP metadata stamp written before the timed run
 *   ({@link stampFrames}), so both histograms record every frame. `clocked` against `real` is
 *   what the clock costs the loop.
 *
 * The fake kernel runs only inside the port's own system calls, as a real one under
 * need_wakeup ({@link driveOnWakeups}): when a poll finds RX empty the port makes the FILL wake-up
 * (`recvfrom`), in which the kernel delivers one burst (FILL → RX); the TX burst's kick
 * (`sendto`) transmits it (TX → COMPLETION). Protocol `loaded` (default: a forwarder under load)
 * has the kernel deliver the next burst in the kick too, so every poll finds a burst: one poll,
 * one kick, one `fk_transmit` and one `fk_deliver` per burst. Protocol `wakeup` delivers only in
 * the wake-up: one empty poll and one full poll per burst. Either way each side makes the same
 * calls into the same C kernel (`build/libfakekernel.so`, which `bench/engine_loop.c` links and
 * calls the same way). Here a system call is
 * the fake port's stub libc (a closure, then the hook's closure) and one FFI call: see
 * `bench/engine_bench.ts` for what that path costs against a plain FFI call.
 *
 * Run: `deno run -A bench/engine_loop.ts [packets=50000000] [burst=64] [real|direct|clocked]
 * [loaded|wakeup]`. Prints `ts: variant=V protocol=P packets=N burst=B ns_per_pkt=X mpps=Y
 * wakeups_per_burst=W kicks_per_burst=K ...`;
 * the timed section is bracketed by the lines `== measure begin` / `== measure end` so that
 * `--v8-flags=--trace-gc` lines between them can be counted (bench/engine.sh does).
 *
 * @module
 */
import { importHandler } from "../engine/handler.ts";
import type { Port } from "../engine/port.ts";
import { Slot } from "../engine/stats.ts";
import { macSwapAligned } from "../packet/ether.ts";
import { driveOnWakeups, FAKE_HEADROOM, type FakePort, fakePort } from "../testing/fake_kernel.ts";
import { FrameClock, META_BYTES, type MonotonicNs } from "../engine/frame_clock.ts";
import { openHelper } from "../ffi/helper.ts";
import { helperPath } from "../engine/paths.ts";
import { H, newLatencyBlock, TO_HANDLER, TO_TX } from "../engine/latency_histogram.ts";
import { type HandlerLoop, handlerLoop } from "../testing/handler_loop.ts";

/** Packet length the fake kernel puts in each RX descriptor. */
export const LOOP_PKT_LEN = 64;

/** The built-in l2fwd handler module (what `--mode l2fwd` loads). */
export const L2FWD_URL: string = new URL("../handlers/l2fwd.ts", import.meta.url).href;

/** Which loop to time. */
export type LoopVariant = "real" | "direct" | "clocked";

/** A loop set up on a fresh wake-up driven fake port, ready to run. */
export interface BenchLoop {
  /** The fake port (its `calls` count the wake-ups and kicks). */
  f: FakePort;
  /** Receive, process and send `packets` more packets (whole bursts); returns how many. */
  run(packets: number): number;
}

/**
 * How the fake kernel is driven: `loaded` delivers the next burst in each TX kick too (RX is
 * never empty, as in a forwarder under load); `wakeup` delivers only in the FILL wake-up of a
 * poll that found RX empty (one empty poll per burst).
 */
export type Protocol = "loaded" | "wakeup";

/** A fake port with byPassRT's default sizes whose kernel delivers `burst` packets per wake-up. */
export function benchPort(burst: number, protocol: Protocol = "loaded"): FakePort {
  const f = fakePort({ frames: 4096, rxSize: 2048, txSize: 2048 });
  driveOnWakeups(f, burst, LOOP_PKT_LEN, protocol === "loaded");
  return f;
}

/**
 * The real loop: `runLoop` with handlers/l2fwd.ts on a {@link benchPort}.
 *
 * @example
 * ```ts ignore
 * const loop = await realLoop(64);
 * loop.run(64_000); // 64000
 * ```
 */
export async function realLoop(
  burst: number,
  protocol: Protocol = "loaded",
  clocked = false,
): Promise<BenchLoop & { h: HandlerLoop; latency?: Float64Array; stamp(): void }> {
  const f = benchPort(burst, protocol);
  const { handler } = await importHandler(L2FWD_URL, {});
  const latency = clocked ? newLatencyBlock() : undefined;
  // As a live run: the RX point reads the clock through the helper (the kick is the fake's).
  const clock = latency ? new FrameClock(f.port.umem, latency, monotonicNs()) : undefined;
  const h = await handlerLoop(f.port, handler, { burst, clock });
  return {
    f,
    h,
    latency,
    stamp: () => stampFrames(f.port.umem, f.port.options.frameSize),
    run(packets) {
      const before = f.port.rxPackets;
      h.loop.count = before + packets; // a total since the port was made
      const exit = h.run();
      if (exit !== "count") throw new Error(`the loop returned "${exit}" before its count`);
      return f.port.rxPackets - before;
    },
  };
}

/**
 * The direct reference loop: rx burst → MAC swap each → tx burst until `packets` were received;
 * after an empty poll, with frames in flight, kick and reclaim (as the real loop's idle path).
 * No allocation inside.
 */
export function directBursts(
  port: Port,
  addrs: Uint32Array,
  lens: Uint32Array,
  burst: number,
  packets: number,
): number {
  const umem16 = port.umem16, umem32 = port.umem32;
  let pkts = 0;
  while (pkts < packets) {
    const left = packets - pkts;
    const n = port.rxBurst(addrs, lens, left < burst ? left : burst);
    if (n > 0) {
      for (let i = 0; i < n; i++) macSwapAligned(umem16, umem32, addrs[i]);
      const sent = port.txBurst(addrs, lens, n);
      if (sent < n) port.free(addrs, sent, n - sent);
      pkts += n;
    } else if (port.txOutstanding > 0) {
      port.kick();
      port.reclaim();
    }
  }
  return pkts;
}

/** The direct loop ({@link directBursts}) on a {@link benchPort}. */
export function directLoop(burst: number, protocol: Protocol = "loaded"): BenchLoop {
  const f = benchPort(burst, protocol);
  const addrs = new Uint32Array(burst), lens = new Uint32Array(burst);
  return { f, run: (packets) => directBursts(f.port, addrs, lens, burst, packets) };
}

let bpxNow: MonotonicNs | undefined;

/** The helper's CLOCK_MONOTONIC reader (opened once, for the process's lifetime). */
function monotonicNs(): MonotonicNs {
  return bpxNow ??= openHelper(helperPath()).symbols.bpx_now;
}

/**
 * Write the current CLOCK_MONOTONIC time as an XDP metadata stamp (u64 little-endian) before
 * every frame's packet (frame + headroom - 8), as our XDP program does: the `clocked` variant's
 * frames then carry plausible stamps (their age grows with the run: keep it under 4 s).
 */
export function stampFrames(umem: Uint8Array, frameSize: number): void {
  const now = monotonicNs()();
  const v = new DataView(umem.buffer, umem.byteOffset, umem.byteLength);
  for (let base = 0; base < umem.byteLength; base += frameSize) {
    const at = base + FAKE_HEADROOM - META_BYTES;
    v.setUint32(at, now % 4294967296, true);
    v.setUint32(at + 4, Math.floor(now / 4294967296), true);
  }
}

async function main(): Promise<void> {
  const packets = Number(Deno.args[0] ?? 50_000_000);
  const burst = Number(Deno.args[1] ?? 64);
  const variant = Deno.args[2] ?? "real";
  const protocol = (Deno.args[3] ?? "loaded") as Protocol;
  if (
    !(packets >= burst) || !Number.isInteger(burst) || burst < 1 || burst > 1024 ||
    (variant !== "real" && variant !== "direct" && variant !== "clocked") ||
    (protocol !== "loaded" && protocol !== "wakeup")
  ) {
    console.error(
      "usage: engine_loop.ts [packets >= burst] [burst 1..1024] [real|direct|clocked] " +
        "[loaded|wakeup]",
    );
    Deno.exit(2);
  }
  const real = variant !== "direct"
    ? await realLoop(burst, protocol, variant === "clocked")
    : undefined;
  const loop: BenchLoop = real ?? directLoop(burst, protocol);
  const { port, kernel, calls } = loop.f;
  // Whole bursts only: the kernel delivers `burst` per wake-up and the loop stops on a count.
  const timed = Math.floor(packets / burst) * burst;
  // Warm-up in four calls (a tenth of the run, at least 4M packets): the JIT optimises the loop
  // first on stack replacement, then as a function entered again, as after a handler reload.
  const warm = Math.floor(Math.max(4_000_000, timed / 10) / burst / 4) * burst;
  let warmed = 0;
  real?.stamp(); // clocked: the warm-up sees stamped frames too (the JIT learns that path)
  for (let i = 0; i < 4; i++) warmed += loop.run(warm);
  // Fresh stamps (clocked): the timed run's frames are at most its duration old.
  real?.stamp();
  if (real?.latency) real.latency.fill(0);
  console.log("== measure begin");
  const t0 = performance.now();
  const done = loop.run(timed);
  const t1 = performance.now();
  console.log("== measure end");
  const ns = ((t1 - t0) * 1e6) / done;
  // Sanity after timing: every packet delivered, received, queued and sent (loaded: the burst
  // the last kick delivered is still on RX); frames balanced.
  const total = warmed + done;
  const c = port.counters;
  const audit = port.audit();
  if (
    done !== timed || c.rxPackets !== total || c.txQueued !== total ||
    kernel.transmitted !== total || kernel.delivered !== total + kernel.rx.count() ||
    kernel.dropped !== 0
  ) {
    throw new Error(
      `lost packets: rx ${c.rxPackets} tx ${c.txQueued} delivered ${kernel.delivered} sent ` +
        `${kernel.transmitted} of ${total}`,
    );
  }
  if (!audit.balanced) throw new Error(`frame audit failed: ${JSON.stringify(audit)}`);
  let loops = 0;
  if (real) {
    const s = real.h.stats;
    if (s[Slot.unhandled] !== 0 || s[Slot.appDropped] !== 0 || s[Slot.handlerErrors] !== 0) {
      throw new Error("the handler dropped frames or threw");
    }
    loops = s[Slot.loops];
  }
  const bursts = total / burst;
  console.log(
    `ts: variant=${variant} protocol=${protocol} packets=${done} burst=${burst} ns_per_pkt=${
      ns.toFixed(2)
    } mpps=${(1e3 / ns).toFixed(2)} wakeups_per_burst=${
      (calls.recvfrom / bursts).toFixed(3)
    } kicks_per_burst=${(calls.sendto / bursts).toFixed(3)} loops_per_burst=${
      (loops / bursts).toFixed(3)
    } tx_completed=${c.txPackets} audit=balanced${clockFields(real?.latency)}`,
  );
}

if (import.meta.main) await main();

/** ` clock_rx=N clock_tx=N unstamped=N` for the clocked variant (timed section only), else "". */
function clockFields(latency?: Float64Array): string {
  if (!latency) return "";
  return ` clock_rx=${latency[TO_HANDLER + H.count]} clock_tx=${latency[TO_TX + H.count]} ` +
    `unstamped=${latency[TO_HANDLER + H.unstamped] + latency[TO_TX + H.unstamped]}`;
}
