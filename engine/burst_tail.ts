/**
 * The parts of a burst's tail that the one-port loop ({@link runLoop}) and the several-port loop
 * (`runPortsLoop`) share: calling the handler, freeing what it dropped, handing frames to the
 * kernel, appending the originated frames to a TX batch, sending a batch, calling `idle`. Each is called once per
 * burst (or per empty poll), never per packet, and allocates nothing.
 *
 * @module
 */
import type { Handler } from "./handler.ts";
import type { Port } from "./port.ts";
import type { BurstState, LoopContext, OnHandlerError } from "./loop.ts";
import type { CaptureProducer } from "../capture/ring.ts";
import { DIR_OUTBOUND } from "../capture/pcapng.ts";
import { Slot } from "./stats.ts";
import type { KernelSink } from "./to_kernel.ts";

/**
 * Call `handler.burst(b, ctx)`; a throw is counted in `stats` and passed to `onError`.
 * Returns whether it threw.
 */
export function callBurst(
  handler: Handler,
  b: BurstState,
  ctx: LoopContext,
  stats: Float64Array,
  onError: OnHandlerError,
): boolean {
  try {
    handler.burst(b, ctx);
    return false;
  } catch (err) {
    stats[Slot.handlerErrors]++;
    onError(err);
    return true;
  }
}

/**
 * Call `handler.idle(ctx)` when there is one; a throw is counted in `stats` and passed to
 * `onError`. Returns whether it threw.
 */
export function callIdle(
  handler: Handler,
  ctx: LoopContext,
  stats: Float64Array,
  onError: OnHandlerError,
): boolean {
  const idle = handler.idle;
  if (idle === undefined) return false;
  try {
    idle.call(handler, ctx);
    return false;
  } catch (err) {
    stats[Slot.handlerErrors]++;
    onError(err);
    return true;
  }
}

/**
 * Free the burst's `d` frames in `dropAddrs` (one shared pool: any port's free returns them) and
 * count them: `dropped` of them the handler dropped, the rest it left undecided (or, when it
 * `threw`, lost to the error).
 */
export function freeDropped(
  port: Port,
  dropAddrs: Uint32Array,
  d: number,
  dropped: number,
  threw: boolean,
  stats: Float64Array,
): void {
  port.free(dropAddrs, 0, d);
  if (dropped > 0) stats[Slot.appDropped] += dropped;
  if (d > dropped) stats[threw ? Slot.errorDropped : Slot.unhandled] += d - dropped;
}

/**
 * Hand the sink's first `kn` frames to the kernel in one FFI call (it copies them), count what
 * it took and what it refused, and return every frame to the pool at once.
 */
export function flushToKernel(
  sink: KernelSink,
  port: Port,
  kn: number,
  stats: Float64Array,
): void {
  const took = sink.flush(kn);
  stats[Slot.toKernel] += took;
  if (took < kn) stats[Slot.toKernelFailed] += kn - took;
  port.free(sink.addrs, 0, kn);
}

/**
 * Append the context's originated frames (`ctx.send`) to the TX batch `addrs`/`lens` after its
 * first `k` frames, clear them from the context, and return the batch's new length.
 */
export function appendPending(
  ctx: LoopContext,
  addrs: Uint32Array,
  lens: Uint32Array,
  k: number,
): number {
  const p = ctx.pending;
  if (p === 0) return k;
  const pa = ctx.pendAddrs, pl = ctx.pendLens;
  for (let j = 0; j < p; j++) {
    addrs[k] = pa[j];
    lens[k++] = pl[j];
  }
  ctx.pending = 0;
  return k;
}

/**
 * Send the batch's first `k` frames on `port` (one TX burst, at most one kick), capture what
 * went out (`--pcap`), and free what the TX ring had no room for.
 */
export function sendBatch(
  port: Port,
  addrs: Uint32Array,
  lens: Uint32Array,
  k: number,
  capTx: CaptureProducer | null,
): void {
  const sent = port.txBurst(addrs, lens, k);
  if (capTx !== null) capTx.burst(addrs, lens, sent, DIR_OUTBOUND);
  if (sent < k) port.free(addrs, sent, k - sent);
}
