/**
 * Run the engine's real polling loop (engine/loop.ts `runLoop`) with a handler on any port, as
 * the Worker does but without one: for unit tests on the fake kernel and for the engine
 * benchmark. The handler's contract is checked and its `init` run first.
 *
 * @module
 */
import { checkHandler, type Handler, type HandlerOptions } from "../engine/handler.ts";
import {
  BurstState,
  LoopContext,
  type LoopExit,
  type LoopOptions,
  runLoop,
} from "../engine/loop.ts";
import type { Port } from "../engine/port.ts";
import { newControlBlock, newStatsBlock } from "../engine/stats.ts";
import type { CaptureProducer } from "../capture/ring.ts";
import type { KernelSink } from "../engine/to_kernel.ts";
import type { FrameClock } from "../engine/frame_clock.ts";

/** A handler set up on a port, ready to run the loop (as often as wanted). */
export interface HandlerLoop {
  /** The loop's burst and context. */
  b: BurstState;
  ctx: LoopContext;
  /** Control block (set `Control.stop` to stop the loop). */
  control: Int32Array<SharedArrayBuffer>;
  /** Stats block the loop publishes to. */
  stats: Float64Array<SharedArrayBuffer>;
  /**
   * The loop options `run` passes (mutable). `count` is a total since the port was made
   * (frames received plus originated): to run N more frames set it to that total plus N.
   */
  loop: LoopOptions;
  /** The handler's counter names (slot order of `ctx.counters`). */
  counterNames: string[];
  /** The handler's counters by name (allocates: for assertions). */
  handlerCounters(): Record<string, number>;
  /** Run the loop until it stops; handler throws go to `onError` (default: rethrown after). */
  run(onError?: (err: unknown) => void): LoopExit;
}

/** Options of {@link handlerLoop}. */
export interface HandlerLoopOptions {
  /** `ctx.options` (default `{}`). */
  options?: HandlerOptions;
  /** Burst size (default 64). */
  burst?: number;
  /** Stop after this many frames received or originated (default 0: until the stop flag). */
  count?: number;
  /** The interface MAC the handler sees (default 02:00:00:00:00:01). */
  mac?: Uint8Array;
  /** Stop at the first throw. */
  strict?: boolean;
  /** Capture received frames (and sent ones with `captureTx`) here, as `--pcap` does. */
  capture?: CaptureProducer;
  /** Capture sent frames too. */
  captureTx?: boolean;
  /** Where `b.toKernel` frames go (a fake reinjection device); none: `b.toKernel` throws. */
  toKernel?: KernelSink;
  /** The per-frame clock (default none, as `--no-timestamps`). */
  clock?: FrameClock;
}

/**
 * Check `handler`, make its context on `port` and run its `init`.
 *
 * @example
 * ```ts ignore
 * import l2fwd from "../handlers/l2fwd.ts";
 * const h = await handlerLoop(fakePort().port, l2fwd, { count: 100 });
 * h.run();
 * ```
 */
export async function handlerLoop(
  port: Port,
  handler: Handler,
  o: HandlerLoopOptions = {},
): Promise<HandlerLoop> {
  const options = o.options ?? {};
  const { counters: names } = checkHandler({ default: handler }, options, "(test)");
  const burst = o.burst ?? 64;
  const control = newControlBlock(), stats = newStatsBlock();
  const block = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, names.length)));
  const ctx = new LoopContext(port, {
    options,
    counters: block,
    queue: port.options.queue,
    mac: o.mac ?? Uint8Array.of(2, 0, 0, 0, 0, 1),
    capacity: burst,
    stats,
    captureTx: o.captureTx ? o.capture : null,
  });
  await handler.init?.(ctx);
  const b = new BurstState(port, burst, burst, { toKernel: o.toKernel !== undefined });
  const loop: LoopOptions = { burst, idlePollMs: 0, count: o.count ?? 0, strict: o.strict };
  return {
    b,
    ctx,
    control,
    stats,
    loop,
    counterNames: names,
    handlerCounters: () => Object.fromEntries(names.map((n, i) => [n, block[i]])),
    run(onError) {
      let first: unknown;
      const exit = runLoop({
        port,
        handler,
        b,
        ctx,
        opts: loop,
        control,
        stats,
        generation: 0,
        capture: o.capture ?? null,
        toKernel: o.toKernel ?? null,
        clock: o.clock ?? null,
        onError: onError ?? ((e) => {
          first ??= e;
        }),
      });
      if (first !== undefined) throw first;
      return exit;
    },
  };
}
