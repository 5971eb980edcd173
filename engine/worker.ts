/**
 * Worker entry: owns one port (one queue) and runs its polling loop. The main thread talks to it
 * through one start message, the shared control/stats blocks, and the worker's final message.
 *
 * @module
 */
import { openLibc } from "../ffi/libc.ts";
import { pinThread, threadId } from "./affinity.ts";
import type { FrameAudit } from "../mempool/mod.ts";
import { BypassError } from "./errors.ts";
import { type LoopOptions, publish, runLoop } from "./loop.ts";
import type { PortOptions } from "./options.ts";
import { openPort } from "./open_port.ts";
import type { Port } from "./port.ts";
import type { XdpStatistics } from "./xdp_stats.ts";
import { Control } from "./stats.ts";
import { xskLayoutCheckedByMainThread } from "./xsk_layout.ts";

/** The message that starts a worker. */
export interface WorkerStart {
  port: PortOptions;
  loop: LoopOptions;
  xsksMapFd: number;
  control: Int32Array<SharedArrayBuffer>;
  stats: Float64Array<SharedArrayBuffer>;
  /** CPU to pin this Worker's thread to (-1: no pinning). */
  cpu: number;
}

/** What a worker posts back. */
export type WorkerMessage =
  | {
    type: "ready";
    queue: number;
    fd: number;
    bindMode: string;
    zeroCopyFallback: string;
    /** Thread id of the Worker (for pinning the other threads away from its CPU). */
    tid: number;
  }
  | {
    type: "done";
    queue: number;
    audit: FrameAudit;
    xdpStatistics: XdpStatistics;
  }
  | { type: "error"; queue: number; message: string; errno: number; userError: boolean };

/** How long to wait after removing the socket from xsks_map for in-flight redirects to land. */
const QUIESCE_MS = 20;

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerStart>) => void) | null;
  postMessage(m: WorkerMessage): void;
  close(): void;
};
const post = (m: WorkerMessage) => scope.postMessage(m);

scope.onmessage = (e: MessageEvent<WorkerStart>) => {
  const { port: portOpts, loop, xsksMapFd, control, stats, cpu } = e.data;
  const queue = portOpts.queue ?? 0;
  let port: Port | undefined;
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
    xskLayoutCheckedByMainThread(); // Engine.start checked it before starting this Worker
    port = openPort({ ...portOpts, xsksMapFd });
    post({
      type: "ready",
      queue,
      fd: port.fd,
      bindMode: port.bindMode,
      zeroCopyFallback: port.zeroCopyFallback,
      tid,
    });
    runLoop(port, loop, control, stats);
    // Quiesce before the audit: no more steering into this socket, let in-flight XDP runs on
    // other CPUs finish, then take back what is still on the RX ring and finish TX.
    port.unsteer();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, QUIESCE_MS);
    port.drainRx();
    port.drainTx(200);
    // The final counters (drained frames included) in the block the main thread reads.
    publish(port, stats);
    const audit = port.audit();
    const xdpStatistics = port.statistics();
    Atomics.store(control, Control.state, 2);
    port.close();
    post({ type: "done", queue, audit, xdpStatistics });
  } catch (err) {
    try {
      port?.close();
    } catch { /* already failing */ }
    Atomics.store(control, Control.state, 2);
    post({
      type: "error",
      queue,
      message: (err as Error).message,
      errno: (err as BypassError).errno ?? 0,
      userError: err instanceof BypassError,
    });
  }
  scope.close();
};
