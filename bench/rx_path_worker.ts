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
import {
  FAKE_DST_MAC,
  FAKE_HEADROOM,
  FAKE_SRC_MAC,
  FK_FILL,
  FK_RX,
  loadFakeKernelLib,
  SHARED_CONSUMER,
} from "../testing/fake_kernel.ts";
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
  /** UMEM bytes (the same for every kernel). */
  umemBytes: number;
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

/** One fake kernel's FILL and RX rings and UMEM, as this thread sees them. */
interface Rings {
  umem: Uint8Array;
  umem32: Uint32Array;
  fillProd: Uint32Array;
  fillCons: Uint32Array;
  fill: Uint32Array;
  fillMask: number;
  rxProd: Uint32Array;
  rxCons: Uint32Array;
  rx: Uint32Array;
  rxMask: number;
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
    const fk = loadFakeKernelLib();
    const buf = (p: Deno.PointerValue, len: number, off = 0) =>
      Deno.UnsafePointerView.getArrayBuffer(p!, len, off);
    const rings: Rings[] = s.kernels.map((id) => {
      const fillSize = fk.fk_ring_size(id, FK_FILL), rxSize = fk.fk_ring_size(id, FK_RX);
      const fsh = fk.fk_ring_shared(id, FK_FILL), rsh = fk.fk_ring_shared(id, FK_RX);
      const umem = new Uint8Array(buf(fk.fk_umem(id), s.umemBytes));
      return {
        umem,
        umem32: new Uint32Array(umem.buffer),
        fillProd: new Uint32Array(buf(fsh, 4)),
        fillCons: new Uint32Array(buf(fsh, 4, SHARED_CONSUMER)),
        fill: new Uint32Array(buf(fk.fk_ring_entries(id, FK_FILL), fillSize * 8)),
        fillMask: fillSize - 1,
        rxProd: new Uint32Array(buf(rsh, 4)),
        rxCons: new Uint32Array(buf(rsh, 4, SHARED_CONSUMER)),
        rx: new Uint32Array(buf(fk.fk_ring_entries(id, FK_RX), rxSize * 16)),
        rxMask: rxSize - 1,
      };
    });
    const now = openHelper(s.helper).symbols.bpx_now;
    scope.postMessage({ type: "ready" });
    run(s, rings, now);
    scope.postMessage({ type: "done" });
  } catch (err) {
    scope.postMessage({ type: "error", message: (err as Error).stack ?? String(err) });
  }
  scope.close();
};

function run(s: RxPathKernelStart, rings: Rings[], now: () => number): void {
  const ctl = s.control, frameMask = ~(s.frameSize - 1);
  for (;;) {
    while (Atomics.load(ctl, GO) === 0) if (Atomics.load(ctl, STOP) !== 0) return;
    Atomics.store(ctl, GO, 0);
    const due = now() + Atomics.load(ctl, GAP_US) * 1000;
    while (now() < due) if (Atomics.load(ctl, STOP) !== 0) return;
    const r = rings[Atomics.load(ctl, ACTIVE)];
    const fc = r.fillCons[0], rp = r.rxProd[0];
    if (Atomics.load(r.fillProd, 0) === fc) throw new Error("FILL is empty");
    if (((rp - Atomics.load(r.rxCons, 0)) >>> 0) > r.rxMask) throw new Error("RX is full");
    const pkt = (r.fill[(fc & r.fillMask) * 2] & frameMask) + FAKE_HEADROOM;
    const u = r.umem;
    for (let i = 0; i < 6; i++) {
      u[pkt + i] = FAKE_DST_MAC[i];
      u[pkt + 6 + i] = FAKE_SRC_MAC[i];
    }
    u[pkt + 12] = 0x08;
    u[pkt + 13] = 0x00;
    // As the XDP program: the stamp first, in the 8 bytes of metadata before the packet.
    const t = now();
    r.umem32[(pkt - 8) >>> 2] = t % 4294967296;
    r.umem32[(pkt - 4) >>> 2] = Math.floor(t / 4294967296);
    s.stamp[0] = t;
    const w = (rp & r.rxMask) * 4;
    r.rx[w] = pkt;
    r.rx[w + 1] = 0;
    r.rx[w + 2] = s.len;
    r.rx[w + 3] = 0;
    Atomics.store(r.fillCons, 0, (fc + 1) >>> 0);
    Atomics.store(r.rxProd, 0, (rp + 1) >>> 0);
  }
}
