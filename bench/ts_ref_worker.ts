/**
 * The polling Worker of `bench/ts_ref.ts`: opens one copy-mode socket on a real interface and
 * runs the C reference's loop in TypeScript (`bench/ref_loop.ts`) on it until the main thread
 * sets the stop flag. A BASELINE for the benchmark only, never on byPassRT's product path.
 *
 * @module
 */
import { openPort } from "../engine/open_port.ts";
import { openLibc } from "../ffi/libc.ts";
import { pinThread, threadId } from "../engine/affinity.ts";
import { xskLayoutCheckedByMainThread } from "../engine/xsk_layout.ts";
import { FrameClock } from "../engine/frame_clock.ts";
import { openHelper } from "../ffi/helper.ts";
import {
  REF_FRAME_SIZE,
  REF_FRAMES,
  REF_RING_SIZE,
  RefLoop,
  type RefLoopOptions,
} from "./ref_loop.ts";

export { L2FWD, RESPOND, RXDROP } from "./ref_loop.ts";

/** The message that starts the Worker: the loop's options and where it runs. */
export interface TsRefStart extends Pick<RefLoopOptions, "mode" | "ip" | "mac" | "keepWarm"> {
  iface: string;
  xsksMapFd: number;
  /** CPU to pin the Worker to (-1: none). */
  cpu: number;
  /** [0]: stop flag (the main thread sets it). */
  control: Int32Array<SharedArrayBuffer>;
  /** [rx packets, tx packets, tx kicks, free frames], published every 64 loops. */
  stats: Float64Array<SharedArrayBuffer>;
  /**
   * `--stamp`: byPassRT's per-frame clock (engine/frame_clock.ts) over this block
   * (engine/latency_histogram.ts), read at the points byPassRT's loop reads it: once per RX
   * burst just before the frames are handled, and in C inside the kick (the helper's
   * `bpx_kick_at`), recorded after the kick; null without.
   */
  latency: Float64Array<SharedArrayBuffer> | null;
  /** The helper library (the main thread's `helperPath()`; a Worker has no main module). */
  helper: string;
}

/** What the Worker posts: ready (with its thread id), done, or an error. */
export type TsRefMessage =
  | { type: "ready"; tid: number }
  | { type: "done" }
  | { type: "error"; message: string };

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<TsRefStart>) => void) | null;
  postMessage(m: TsRefMessage): void;
  close(): void;
};

scope.onmessage = (e: MessageEvent<TsRefStart>) => {
  const s = e.data;
  const libc = openLibc();
  try {
    if (s.cpu >= 0) {
      const err = pinThread(libc, 0, [s.cpu]);
      if (err) throw new Error(`cannot pin to CPU ${s.cpu}: ${libc.strerror(err)}`);
    }
    xskLayoutCheckedByMainThread(); // ts_ref.ts checked it, as the Engine does
    const port = openPort({
      iface: s.iface,
      bind: "copy",
      frames: REF_FRAMES,
      frameSize: REF_FRAME_SIZE,
      rxSize: REF_RING_SIZE,
      txSize: REF_RING_SIZE,
      fillFrames: 0,
      xsksMapFd: s.xsksMapFd,
    });
    try {
      scope.postMessage({ type: "ready", tid: threadId(libc) });
      const helper = s.latency === null ? null : openHelper(s.helper);
      try {
        const loop = new RefLoop(port, libc, {
          ...s,
          clock: helper && new FrameClock(port.umem, s.latency!, helper.symbols.bpx_now),
          kickAt: helper?.symbols.bpx_kick_at ?? null,
        });
        loop.run();
        loop.finish();
      } finally {
        helper?.close();
      }
    } finally {
      port.close();
    }
    scope.postMessage({ type: "done" });
  } catch (err) {
    scope.postMessage({ type: "error", message: (err as Error).stack ?? String(err) });
  } finally {
    libc.close();
  }
  scope.close();
};
