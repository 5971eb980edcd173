/**
 * Worker entry: owns one port (one queue), imports the handler module itself and runs the
 * polling loop with it. The main thread talks to it through one start message, the shared
 * control/stats blocks (stop, reload), and the messages below.
 *
 * A reload (the main thread bumps `Control.reload`): the loop returns between two bursts, the
 * Worker imports the module again (fresh), runs the new handler's `init`, then the old one's
 * `close`, carries the counters over by name, and loops on. Frames keep waiting in the rings
 * meanwhile. If the import, the contract check or `init` fails, the old handler goes on.
 *
 * @module
 */
import { openLibc } from "../ffi/libc.ts";
import { pinThread, threadId } from "./affinity.ts";
import type { FrameAudit } from "../mempool/mod.ts";
import { BypassError } from "./errors.ts";
import { type Handler, HandlerError, type HandlerOptions, importHandler } from "./handler.ts";
import {
  BurstState,
  LoopContext,
  type LoopExit,
  type LoopOptions,
  publishPorts,
  runLoop,
} from "./loop.ts";
import type { PortOptions } from "./options.ts";
import { openPort } from "./open_port.ts";
import type { Port } from "./port.ts";
import { sumXdpStatistics, type XdpStatistics } from "./xdp_stats.ts";
import { Control, Slot } from "./stats.ts";
import { xskLayoutCheckedByMainThread } from "./xsk_layout.ts";
import { CaptureProducer } from "../capture/ring.ts";
import type { CaptureProducerSpec } from "../capture/session.ts";
import { DIR_INBOUND } from "../capture/pcapng.ts";
import { TapSink } from "./to_kernel.ts";
import { FrameClock } from "./frame_clock.ts";
import { type Helper, openHelper } from "../ffi/helper.ts";

/** The message that starts a worker. */
export interface WorkerStart {
  port: PortOptions;
  loop: LoopOptions;
  /** The handler module (file URL) and its options. */
  handler: { url: string; options: HandlerOptions };
  /** The interface's MAC address. */
  mac: Uint8Array;
  xsksMapFd: number;
  control: Int32Array<SharedArrayBuffer>;
  stats: Float64Array<SharedArrayBuffer>;
  /** CPU to pin this Worker's thread to (-1: no pinning). */
  cpu: number;
  /** This queue's capture ring (`--pcap`), if capturing. */
  capture?: CaptureProducerSpec;
  /** The kernel reinjection TAP's fd, when the run has one. */
  toKernel?: { fd: number };
  /**
   * The other interfaces of `--iface A,B,...` (same queue): each gets a socket on this Worker's
   * UMEM, inserted into its own program's XSKMAP (`xsksMapFd`).
   */
  morePorts?: { iface: string; xsksMapFd: number }[];
  /** Per-interface counter blocks (one per interface, `--iface` order), with `morePorts`. */
  portStats?: Float64Array<SharedArrayBuffer>[];
  /** This queue's latency histograms (see `latency_histogram.ts`); absent: no per-frame clock. */
  latency?: Float64Array<SharedArrayBuffer>;
  /**
   * The helper library's path (resolved by the main thread: a Worker cannot), for the per-frame
   * clock's readings (`bpx_now` at the RX point, the clocked kick `bpx_kick_at` at the TX
   * point) and the kernel reinjection's
   * writes (`bpx_reinject_burst`): the Worker opens it once for both.
   */
  helper: string;
}

/** The handler's counters as the main thread reads them: names and their shared slots. */
export interface HandlerCounterBlock {
  /** Counter names, in slot order. */
  names: string[];
  /** One slot per name. */
  block: Float64Array<SharedArrayBuffer>;
}

/** What a worker posts back. */
export type WorkerMessage =
  | {
    type: "ready";
    queue: number;
    fd: number;
    /** The sockets of the other interfaces (`morePorts`), in order. */
    moreFds: number[];
    bindMode: string;
    zeroCopyFallback: string;
    /** Thread id of the Worker (for pinning the other threads away from its CPU). */
    tid: number;
    counters: HandlerCounterBlock;
  }
  | { type: "reloaded"; queue: number; generation: number; counters: HandlerCounterBlock }
  | { type: "reload-failed"; queue: number; generation: number; message: string }
  | {
    type: "handler-error";
    queue: number;
    /** The error's stack (or message). */
    message: string;
    /** Throws not reported since the previous report (at most one report a second). */
    suppressed: number;
  }
  | {
    type: "done";
    queue: number;
    audit: FrameAudit;
    xdpStatistics: XdpStatistics;
    /** Why the loop ended. */
    exit: LoopExit;
  }
  | { type: "error"; queue: number; message: string; errno: number; userError: boolean };

/** How long to wait after removing the socket from xsks_map for in-flight redirects to land. */
const QUIESCE_MS = 20;
/** At most one handler-error report per this many ms. */
const ERROR_REPORT_MS = 1000;

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerStart>) => void) | null;
  postMessage(m: WorkerMessage): void;
  close(): void;
};
const post = (m: WorkerMessage) => scope.postMessage(m);

/** The first line of an error's message. */
function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0];
}

function counterBlock(names: string[], from?: HandlerCounterBlock): HandlerCounterBlock {
  const block = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, names.length)));
  // Counters keep their values by name across a reload; new names start at 0.
  if (from) names.forEach((n, i) => block[i] = from.block[from.names.indexOf(n)] ?? 0);
  return { names, block };
}

scope.onmessage = async (e: MessageEvent<WorkerStart>) => {
  const { port: portOpts, loop, handler: spec, mac, xsksMapFd, control, stats, cpu, capture } =
    e.data;
  const reinject = e.data.toKernel;
  const queue = portOpts.queue ?? 0;
  const where = decodeURIComponent(new URL(spec.url).pathname);
  let port: Port | undefined;
  const others: Port[] = [];
  let helper: Helper | undefined;
  try {
    const libc = openLibc();
    const tid = threadId(libc);
    if (cpu >= 0) {
      const err = pinThread(libc, 0, [cpu]);
      if (err) {
        throw new BypassError(`cannot pin queue ${queue} to CPU ${cpu}: ${libc.strerror(err)}`);
      }
    }
    libc.close();
    let generation = Atomics.load(control, Control.reload);
    let loaded = await importHandler(spec.url, spec.options, generation);
    xskLayoutCheckedByMainThread(); // Engine.start checked it before starting this Worker
    const more = e.data.morePorts ?? [];
    // Several interfaces share one pool: each FILL ring starts with its share of half of it.
    const fillFrames = more.length > 0 && portOpts.fillFrames === undefined
      ? Math.min(
        portOpts.rxSize ?? 2048,
        Math.floor((portOpts.frames ?? 4096) / 2 / (more.length + 1)),
      )
      : portOpts.fillFrames;
    port = openPort({ ...portOpts, fillFrames, xsksMapFd });
    for (const m of more) {
      others.push(
        openPort({ ...portOpts, fillFrames, iface: m.iface, xsksMapFd: m.xsksMapFd }, port),
      );
    }
    const p = port;
    const ports = [port, ...others];
    // Per-interface counters: only a run over several interfaces has them.
    const portStats = others.length > 0 ? e.data.portStats : undefined;
    const cap = capture
      ? new CaptureProducer(capture.ring, {
        umem: port.umem,
        interfaceId: capture.interfaceId,
        snaplen: capture.snaplen,
        direction: capture.tx,
        tally: { block: stats, captured: Slot.pcapCaptured, dropped: Slot.pcapDropped },
        chains: port.chains,
      })
      : null;
    const captureTx = capture?.tx ? cap : null;
    const newContext = (counters: HandlerCounterBlock) =>
      new LoopContext(p, {
        options: spec.options,
        counters: counters.block,
        queue,
        mac,
        capacity: loop.burst,
        stats,
        captureTx,
      });
    let handler: Handler = loaded.handler;
    let counters = counterBlock(loaded.counters);
    let ctx = newContext(counters);
    try {
      await handler.init?.(ctx);
    } catch (err) {
      throw new HandlerError(`handler ${where}: init threw: ${firstLine(err)}`);
    }
    if (e.data.latency || reinject) helper = openHelper(e.data.helper);
    const h = helper;
    // The RX point reads CLOCK_MONOTONIC through the helper (the stamps' own clock).
    const clock = e.data.latency && h
      ? new FrameClock(port.umem, e.data.latency, h.symbols.bpx_now)
      : null;
    if (clock !== null && h) {
      // The TX point is each port's kick, which reads the clock in the same FFI call.
      const kickAt = clock.kickClock();
      for (const q of ports) q.clockKicks(h.symbols.bpx_kick_at, kickAt);
    }
    const sink = reinject && h ? new TapSink(reinject.fd, h, port.umem, loop.burst) : undefined;
    const b = new BurstState(port, loop.burst, loop.burst, {
      toKernel: sink !== undefined,
      ports: ports.length,
    });
    // Handler throws: reported at most once a second, with the stack (created once, not per burst).
    let lastReport = -Infinity, suppressed = 0;
    const onError = (err: unknown) => {
      const now = performance.now();
      if (now - lastReport < ERROR_REPORT_MS) {
        suppressed++;
        return;
      }
      lastReport = now;
      const message = (err as Error)?.stack ?? String(err);
      post({ type: "handler-error", queue, message, suppressed });
      suppressed = 0;
    };
    // The counters and the pool level as they are now, before anyone is told the queue is up:
    // a snapshot taken right after start must not read the block's initial zeros.
    publishPorts(ports, stats, portStats);
    post({
      type: "ready",
      queue,
      fd: port.fd,
      moreFds: others.map((q) => q.fd),
      bindMode: port.bindMode,
      zeroCopyFallback: port.zeroCopyFallback,
      tid,
      counters,
    });
    let exit: LoopExit;
    for (;;) {
      const run = {
        port,
        ports,
        portStats,
        handler,
        b,
        ctx,
        opts: loop,
        control,
        stats,
        generation,
        onError,
        capture: cap,
        toKernel: sink ?? null,
        clock,
      };
      exit = runLoop(run);
      if (exit !== "reload") break;
      generation = Atomics.load(control, Control.reload);
      try {
        loaded = await importHandler(spec.url, spec.options, generation);
        const nextCounters = counterBlock(loaded.counters, counters);
        const nextCtx = newContext(nextCounters);
        // init first: if it fails, the old handler (not yet closed) goes on.
        try {
          await loaded.handler.init?.(nextCtx);
        } catch (err) {
          throw new HandlerError(`handler ${where}: init threw: ${firstLine(err)}`);
        }
        try {
          await handler.close?.(ctx);
        } catch (err) {
          onError(err);
        }
        handler = loaded.handler;
        counters = nextCounters;
        ctx = nextCtx;
        stats[Slot.handlerReloads]++;
        post({ type: "reloaded", queue, generation, counters });
      } catch (err) {
        post({ type: "reload-failed", queue, generation, message: firstLine(err) });
      }
    }
    try {
      await handler.close?.(ctx);
    } catch (err) {
      onError(err);
    }
    // Quiesce before the audit: no more steering into this socket, let in-flight XDP runs on
    // other CPUs finish, then take back what is still on the RX ring and finish TX.
    for (const q of ports) q.unsteer();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, QUIESCE_MS);
    // Frames still on the RX ring count as received: the capture records them too.
    for (const q of ports) {
      q.drainRx(cap ? (a, l, n) => cap.burst(a, l, n, DIR_INBOUND) : undefined);
    }
    for (const q of ports) q.drainTx(200);
    // The final counters (drained frames included) in the block the main thread reads.
    publishPorts(ports, stats, portStats);
    // One UMEM: its pool and the rings of every socket on it.
    const audit = port.auditWith(others);
    const xdpStatistics = sumXdpStatistics(ports.map((q) => q.statistics()));
    Atomics.store(control, Control.state, 2);
    // The sockets on the shared UMEM first: the first port deletes the UMEM.
    for (const q of others) q.close();
    port.close();
    helper?.close();
    post({ type: "done", queue, audit, xdpStatistics, exit });
  } catch (err) {
    try {
      for (const q of others) q.close();
      port?.close();
      helper?.close();
    } catch { /* already failing */ }
    Atomics.store(control, Control.state, 2);
    post({
      type: "error",
      queue,
      message: (err as Error).message,
      errno: (err as BypassError).errno ?? 0,
      userError: err instanceof BypassError || err instanceof HandlerError,
    });
  }
  scope.close();
};
