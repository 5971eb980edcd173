/**
 * The "kernel" of `bench/rx_path.ts`: a Worker on another CPU that receives one frame at a
 * time into a fake kernel's rings, as the XDP program and the kernel's AF_XDP receive do on a
 * real veth: stamp the frame's metadata with CLOCK_MONOTONIC, take a buffer from FILL, write
 * the packet and its RX descriptor, publish RX. Each frame waits until the main thread asks for
 * the next one (`GO`, set by its TX kick), then `GAP_US` more: the polling loop under test has
 * that long of empty polls before each frame, as at 1000 frames/s. A BENCHMARK helper, never
 * on byPassRT's product path.
 *
 * @module
 */
import { FAKE_DST_MAC, FAKE_HEADROOM, FAKE_SRC_MAC, FakeKernel } from "../testing/fake_kernel.ts";
import { openHelper } from "../ffi/helper.ts";
import { openLibc } from "../ffi/libc.ts";
import { pinThread } from "../engine/affinity.ts";

/**
 * Words of the control block shared with the main thread: GO (the main thread asks for the next
 * frame), ACTIVE (the contender whose kernel gets it), STOP, GAP_US (empty-poll time before it).
 */
export const GO = 0, ACTIVE = 1, STOP = 2, GAP_US = 3, CONTROL_WORDS = 4;

/** The message that starts the Worker. */
export interface RxPathKernelStart {
  /** The fake kernels (`FakeKernel.id`), one per contender; `ACTIVE` picks one. */
  kernels: number[];
  /** UMEM bytes per frame (the same for every kernel). */
  frameSize: number;
  /** UMEM frames (the same for every kernel). */
  frames: number;
  /** Bytes per frame received. */
  len: number;
  /** The helper library (`helperPath()` of the main thread: a Worker has no main module). */
  helper: string;
  /** CPU to pin to (-1: none). */
  cpu: number;
  /** [GO, ACTIVE, STOP, GAP_US]. */
  control: Int32Array<SharedArrayBuffer>;
  /** [0]: the stamp of the frame in flight (CLOCK_MONOTONIC ns), 0 when none. */
  stamp: Float64Array<SharedArrayBuffer>;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<RxPathKernelStart>) => void) | null;
  postMessage(m: { type: "ready" } | { type: "done" } | { type: "error"; message: string }): void;
  close(): void;
};

scope.onmessage = (e: MessageEvent<RxPathKernelStart>) => {
  const s = e.data;
  try {
    if (s.cpu >= 0) {
      const libc = openLibc();
      const err = pinThread(libc, 0, [s.cpu]);
      libc.close();
      if (err) throw new Error(`cannot pin the kernel Worker to CPU ${s.cpu}`);
    }
    const kernels = s.kernels.map((id) =>
      new FakeKernel({ attach: id, frames: s.frames, frameSize: s.frameSize })
    );
    const now = openHelper(s.helper).symbols.bpx_now;
    scope.postMessage({ type: "ready" });
    run(s, kernels, now);
    scope.postMessage({ type: "done" });
  } catch (err) {
    scope.postMessage({ type: "error", message: (err as Error).stack ?? String(err) });
  }
  scope.close();
};

/**
 * Deliver one frame per GO, GAP_US after it, into the ACTIVE kernel: as `FakeKernel.deliver`
 * (fk_deliver) does, but with the stamp written first and both indices published with
 * `Atomics.store` after the entries: the C kernel stores them plainly, for one thread.
 */
function run(s: RxPathKernelStart, kernels: FakeKernel[], now: () => number): void {
  const ctl = s.control, frameMask = ~(s.frameSize - 1);
  const umem32 = kernels.map((k) => new Uint32Array(k.umem.buffer));
  for (;;) {
    while (Atomics.load(ctl, GO) === 0) if (Atomics.load(ctl, STOP) !== 0) return;
    Atomics.store(ctl, GO, 0);
    const due = now() + Atomics.load(ctl, GAP_US) * 1000;
    while (now() < due) if (Atomics.load(ctl, STOP) !== 0) return;
    const active = Atomics.load(ctl, ACTIVE);
    const k = kernels[active], fill = k.fill, rx = k.rx;
    const fc = fill.consumer[0], rp = rx.producer[0];
    if (Atomics.load(fill.producer, 0) === fc) throw new Error("FILL is empty");
    if (((rp - Atomics.load(rx.consumer, 0)) >>> 0) >= rx.size) throw new Error("RX is full");
    const pkt = (fill.addrAt(fc) & frameMask) + FAKE_HEADROOM;
    const u = k.umem;
    for (let i = 0; i < 6; i++) {
      u[pkt + i] = FAKE_DST_MAC[i];
      u[pkt + 6 + i] = FAKE_SRC_MAC[i];
    }
    u[pkt + 12] = 0x08;
    u[pkt + 13] = 0x00;
    // As the XDP program: the stamp first, in the 8 bytes of metadata before the packet.
    const t = now();
    umem32[active][(pkt - 8) >>> 2] = t % 4294967296;
    umem32[active][(pkt - 4) >>> 2] = Math.floor(t / 4294967296);
    s.stamp[0] = t;
    const w = (rp & rx.mask) * rx.words;
    rx.entries[w] = pkt;
    rx.entries[w + 1] = 0;
    rx.entries[w + 2] = s.len;
    rx.entries[w + 3] = 0;
    Atomics.store(fill.consumer, 0, (fc + 1) >>> 0);
    Atomics.store(rx.producer, 0, (rp + 1) >>> 0);
  }
}
