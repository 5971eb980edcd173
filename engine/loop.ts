/**
 * The polling loops, one flat loop per mode in the manner of DPDK's l2fwd: rx burst, process each
 * packet in place, tx burst, free what was not sent. Nothing is allocated inside a loop; the
 * burst arrays are created once. Counters go to the shared block every {@link PUBLISH_EVERY} loops
 * and before each idle sleep.
 *
 * @module
 */
import {
  macSwapAligned,
  respondInPlace,
  type UdpFrameOptions,
  writeUdpFrame,
} from "../packet/mod.ts";
import type { Port } from "./port.ts";
import { Control, Slot } from "./stats.ts";

/** The built-in packet modes. */
export type Mode = "respond" | "l2fwd" | "rxdrop" | "txonly";

/** All modes, for validation and help. */
export const MODES: readonly Mode[] = ["respond", "l2fwd", "rxdrop", "txonly"];

/** What `txonly` sends: one UDP/IPv4 frame, `frameLen` bytes without FCS (60..frame size - 256). */
export type TxOnlyFrame = UdpFrameOptions;

/** Options of {@link runLoop}. */
export interface LoopOptions {
  /** What the loop does with each packet. */
  mode: Mode;
  /** Packets per burst (1..1024, default 64). */
  burst: number;
  /** Sleep in poll() for this many ms after an empty burst; 0 = busy-poll (default). */
  idlePollMs: number;
  /** Stop after this many packets (rx, or tx completed for txonly); 0 = no limit. */
  count: number;
  /** respond: our IPv4 address (host order) and MAC. */
  ip: number;
  /** respond: our MAC (replies go out with it as source). */
  mac: Uint8Array;
  /** txonly: the frame to send. */
  txFrame?: TxOnlyFrame;
}

/**
 * Loops between two publications of the counters and two looks at the stop flag (a power of
 * two). Not per packet: `Atomics.load` alone costs 6-14 ns here.
 */
export const PUBLISH_EVERY = 64;
const TICK_MASK = PUBLISH_EVERY - 1;

/** Copy the port's counters into the shared block (not per packet). */
export function publish(port: Port, stats: Float64Array, appDropped: number): void {
  // The port's counters occupy the first slots of the block, in the same order.
  stats.set(port.counterBlock, 0);
  stats[Slot.poolFree] = port.pool.available;
  stats[Slot.appDropped] = appDropped;
}

/**
 * Run the loop of `opts.mode` on `port` until `control[Control.stop]` becomes non-zero (seen
 * within {@link PUBLISH_EVERY} loops) or `opts.count` packets were handled. Counters are
 * published to `stats` every {@link PUBLISH_EVERY} loops, before each idle sleep, and at the end.
 */
export function runLoop(port: Port, opts: LoopOptions, control: Int32Array, stats: Float64Array) {
  Atomics.store(control, Control.state, 1);
  const mode = Atomics.load(control, Control.stop) === 0 ? opts.mode : "stopped";
  switch (mode) {
    case "rxdrop":
      rxdrop(port, opts, control, stats);
      break;
    case "l2fwd":
      l2fwd(port, opts, control, stats);
      break;
    case "respond":
      respond(port, opts, control, stats);
      break;
    case "txonly":
      txonly(port, opts, control, stats);
      break;
  }
  port.drainTx(200);
  publish(port, stats, stats[Slot.appDropped]);
}

/**
 * After an empty burst: finish TX while frames are in flight (kick, reclaim); otherwise, with
 * `idlePollMs`, publish and sleep in poll() until a frame arrives.
 */
function onEmpty(port: Port, opts: LoopOptions, stats: Float64Array, dropped: number): void {
  if (port.txOutstanding > 0) {
    port.kick();
    port.reclaim();
  } else if (opts.idlePollMs > 0) {
    publish(port, stats, dropped);
    stats[Slot.idlePolls]++;
    port.waitReadable(opts.idlePollMs);
  }
}

/** Every {@link PUBLISH_EVERY} loops: publish the counters; true when asked to stop. */
function tick(
  port: Port,
  control: Int32Array,
  stats: Float64Array,
  loops: number,
  dropped: number,
): boolean {
  stats[Slot.loops] = loops;
  publish(port, stats, dropped);
  return Atomics.load(control, Control.stop) !== 0;
}

function rxdrop(port: Port, opts: LoopOptions, control: Int32Array, stats: Float64Array): void {
  const burst = opts.burst, limit = opts.count > 0 ? opts.count : Infinity;
  const addrs = new Uint32Array(burst), lens = new Uint32Array(burst);
  let loops = 0;
  while (port.rxPackets < limit) {
    const room = limit - port.rxPackets;
    const n = port.rxBurst(addrs, lens, room < burst ? room : burst);
    if (n > 0) port.free(addrs, 0, n);
    else onEmpty(port, opts, stats, 0);
    if ((++loops & TICK_MASK) === 0 && tick(port, control, stats, loops, 0)) break;
  }
}

function l2fwd(port: Port, opts: LoopOptions, control: Int32Array, stats: Float64Array): void {
  const burst = opts.burst, limit = opts.count > 0 ? opts.count : Infinity;
  const addrs = new Uint32Array(burst), lens = new Uint32Array(burst);
  const umem16 = port.umem16, umem32 = port.umem32;
  let loops = 0;
  while (port.rxPackets < limit) {
    const room = limit - port.rxPackets;
    const n = port.rxBurst(addrs, lens, room < burst ? room : burst);
    if (n > 0) {
      for (let i = 0; i < n; i++) macSwapAligned(umem16, umem32, addrs[i]);
      const sent = port.txBurst(addrs, lens, n);
      if (sent < n) port.free(addrs, sent, n - sent);
    } else {
      onEmpty(port, opts, stats, 0);
    }
    if ((++loops & TICK_MASK) === 0 && tick(port, control, stats, loops, 0)) break;
  }
}

function respond(port: Port, opts: LoopOptions, control: Int32Array, stats: Float64Array): void {
  const burst = opts.burst, limit = opts.count > 0 ? opts.count : Infinity;
  const addrs = new Uint32Array(burst), lens = new Uint32Array(burst);
  const outAddrs = new Uint32Array(burst), outLens = new Uint32Array(burst);
  const umem = port.umem, ip = opts.ip, mac = opts.mac;
  let loops = 0, dropped = 0;
  while (port.rxPackets < limit) {
    const room = limit - port.rxPackets;
    const n = port.rxBurst(addrs, lens, room < burst ? room : burst);
    if (n > 0) {
      let k = 0;
      for (let i = 0; i < n; i++) {
        const r = respondInPlace(umem, addrs[i], lens[i], ip, mac);
        if (r > 0) {
          outAddrs[k] = addrs[i];
          outLens[k++] = r;
        } else {
          stats[Slot.dropReasonBase - r]++;
          dropped++;
          port.free(addrs, i, 1);
        }
      }
      const sent = port.txBurst(outAddrs, outLens, k);
      if (sent < k) port.free(outAddrs, sent, k - sent);
    } else {
      onEmpty(port, opts, stats, dropped);
    }
    if ((++loops & TICK_MASK) === 0 && tick(port, control, stats, loops, dropped)) break;
  }
  // Ended on the count between two ticks: runLoop's last publication reads it from here.
  stats[Slot.appDropped] = dropped;
}

function txonly(port: Port, opts: LoopOptions, control: Int32Array, stats: Float64Array): void {
  const f = opts.txFrame;
  if (!f) throw new Error("txonly needs a txFrame");
  // Write the frame once into every UMEM frame: the TX path never modifies them, so each burst
  // only queues descriptors (as xdpsock does).
  const umem = port.umem, frameSize = port.options.frameSize;
  for (let a = 0; a < umem.length; a += frameSize) writeUdpFrame(umem, a, f);
  const burst = opts.burst, limit = opts.count > 0 ? opts.count : Infinity;
  const addrs = new Uint32Array(burst), lens = new Uint32Array(burst).fill(f.frameLen);
  let loops = 0;
  while (port.txQueued < limit) {
    const room = limit - port.txQueued;
    const n = port.alloc(addrs, room < burst ? room : burst);
    const sent = n > 0 ? port.txBurst(addrs, lens, n) : 0;
    if (sent < n) port.free(addrs, sent, n - sent);
    if (n === 0) onEmpty(port, opts, stats, 0);
    if ((++loops & TICK_MASK) === 0 && tick(port, control, stats, loops, 0)) break;
  }
}
