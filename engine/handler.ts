/**
 * Handlers: your packet logic, as a plain module the engine loads into every polling Worker.
 *
 * A handler file default-exports an object; it needs no import (the types here are optional,
 * for `satisfies Handler`):
 *
 * ```ts
 * export default {
 *   counters: ["echoed", "other"],   // named counters, one Float64 slot each, in this order
 *   init(ctx) {},                    // optional: once per queue Worker, before traffic
 *   burst(b, ctx) {                  // required: once per received burst
 *     for (let i = 0; i < b.length; i++) {
 *       const s = b.start(i), n = b.size(i);   // frame i is b.bytes[s .. s + n)
 *       ctx.counters[0]++;
 *       b.send(i, n);                // transmit frame i, n bytes, on the port it came from
 *       // or b.forward(i, 1 - b.port(i)): out of the other interface of `--iface A,B`
 *     }
 *   },
 *   idle(ctx) {},                    // optional: a poll brought nothing
 *   close(ctx) {},                   // optional: at stop and before a reload
 * };
 * ```
 *
 * Rules: every frame of a burst is sent (`b.send`), handed back to the kernel stack
 * (`b.toKernel`, for a handler that declares `toKernel: true`) or dropped (`b.drop`); the last
 * call for a frame wins; a frame with none is dropped and counted as `unhandled`. The engine reuses the
 * same `b` and `ctx` objects for every burst and allocates nothing per burst or per frame. A
 * handler that throws in `burst` loses that burst's undecided frames (counted as `error_dropped`,
 * the throw as `handler_errors`) and keeps running, unless the engine runs strict.
 *
 * @module
 */

/** The parsed `--handler-options` JSON object (`{}` when none was given). */
export type HandlerOptions = Readonly<Record<string, unknown>>;

/**
 * One received burst, as a handler sees it. Frame `i` (0 <= i < length) is
 * `bytes[start(i) .. start(i) + size(i))`; `bytes` and `view` span the whole UMEM.
 *
 * Multi-buffer (jumbo) frames: on an interface whose MTU does not fit one UMEM frame (see
 * `--multi-buffer`), a long frame arrives in several buffers ("segments") and is still ONE
 * frame `i` of the burst. `start(i)`/`size(i)` are its first segment (the headers: at least the
 * first 1792 bytes with 2048-byte UMEM frames), so a handler that only reads and writes
 * `bytes[start(i) .. start(i) + size(i))` stays correct and memory-safe; `segments(i)`,
 * `segmentStart(i, s)` and `segmentSize(i, s)` reach the rest, `totalSize(i)` is the frame's
 * length. `send(i)`, `forward(i, p)` and `drop(i)` act on the whole chain. `send(i, len)` and
 * `forward(i, p, len)` with `len` equal to `size(i)` send the whole frame too (an echo that
 * passes `size(i)` stays correct); with a smaller `len` the frame is cut to those `len` bytes
 * from `start(i)` (a reply built in place) and its other segments go back to the pool.
 * `toKernel(i)` of a chained frame drops it, counted as `chain_dropped` (`toKernel(i, len)` with
 * a smaller `len` cuts it first, as `send`); `--pcap` records its first segment, with the whole
 * frame's length as the original length (`--pcap-tx`: the first segment's). Single-buffer runs:
 * `segments(i)` is always 1 and nothing else changes.
 */
export interface Burst {
  /** Frames in this burst. */
  readonly length: number;
  /** The whole UMEM as bytes. */
  readonly bytes: Uint8Array;
  /** The whole UMEM as a DataView (multi-byte fields; network order is big-endian). */
  readonly view: DataView;
  /** UMEM offset of frame `i`'s first byte. */
  start(i: number): number;
  /** Length of frame `i` in bytes (once `send(i, len)` was called: `len`). */
  size(i: number): number;
  /**
   * Send frame `i` back out of the port it came from with `len` bytes (default: its size) from
   * `start(i)`; `len` may grow up to the end of the frame's buffer. Throws a RangeError for a
   * bad `i` or `len`.
   */
  send(i: number, len?: number): void;
  /**
   * Hand frame `i` back to the kernel stack with `len` bytes (default: its size), as if the
   * served interface had received it without us: the kernel answers pings, accepts TCP, routes,
   * as usual (see `engine/to_kernel.ts` for how). Counted as `to_kernel` (`to_kernel_failed` if
   * the kernel refused it). Only for a handler whose default export declares `toKernel: true`;
   * otherwise it throws. Throws a RangeError for a bad `i` or `len`, as `send` does.
   */
  toKernel(i: number, len?: number): void;
  /** Give frame `i` back to the pool. */
  drop(i: number): void;
  /**
   * Buffers frame `i` occupies: 1 for a frame that fits one UMEM frame (always, on a
   * single-buffer run), more for a multi-buffer (jumbo) frame. Throws a RangeError for a bad `i`.
   *
   * @example
   * ```ts
   * import type { Handler } from "../mod.ts";
   * // Sum every byte of every frame, over all its segments, then send it back unchanged.
   * export default {
   *   counters: ["bytes", "sum"],
   *   burst(b, ctx) {
   *     for (let i = 0; i < b.length; i++) {
   *       for (let s = 0; s < b.segments(i); s++) {
   *         const a = b.segmentStart(i, s), n = b.segmentSize(i, s);
   *         for (let k = 0; k < n; k++) ctx.counters[1] += b.bytes[a + k];
   *       }
   *       ctx.counters[0] += b.totalSize(i);
   *       b.send(i);
   *     }
   *   },
   * } satisfies Handler;
   * ```
   */
  segments(i: number): number;
  /**
   * UMEM offset of segment `s` (0 <= s < segments(i)) of frame `i`: segment 0 is `start(i)`.
   * Throws a RangeError for a bad `i` or `s`.
   */
  segmentStart(i: number, s: number): number;
  /** Length of segment `s` of frame `i`: segment 0 is `size(i)`. Throws as `segmentStart`. */
  segmentSize(i: number, s: number): number;
  /** Length of frame `i` over all its segments (`size(i)` for a single-buffer frame). */
  totalSize(i: number): number;
  /**
   * Interfaces this run serves: 1, or how many `--iface A,B,...` named (the sockets of a Worker
   * share one UMEM, so forwarding between them copies nothing).
   */
  readonly ports: number;
  /**
   * The interface frame `i` came from: its index in `--iface` order (0 with one interface).
   * Throws a RangeError for a bad `i`.
   */
  port(i: number): number;
  /**
   * Send frame `i` out of interface `port` (index in `--iface` order, 0..ports-1) with `len`
   * bytes (default: its size), same queue; the descriptor moves, the bytes are not copied.
   * `forward(i, b.port(i))` is `send(i)`. Throws a RangeError for a bad `i`, `port` or `len`.
   *
   * @example
   * ```ts
   * import type { Handler } from "../mod.ts";
   * // A two-port bridge: what arrives on one interface leaves through the other.
   * export default {
   *   burst(b) {
   *     for (let i = 0; i < b.length; i++) b.forward(i, b.port(i) ^ 1);
   *   },
   * } satisfies Handler;
   * ```
   */
  forward(i: number, port: number, len?: number): void;
}

/** What a handler gets besides the burst: options, counters, where it runs, and frame I/O. */
export interface HandlerContext {
  /** The parsed `--handler-options` JSON (`{}` by default). */
  readonly options: HandlerOptions;
  /**
   * The handler's named counters, one slot per name of its `counters` list, in that order:
   * shared memory the main thread reads live (table, `--json`). Plain numbers: `counters[0]++`.
   */
  readonly counters: Float64Array;
  /** RX queue this Worker serves. */
  readonly queue: number;
  /** Interface name (with several: the first; originated frames leave through it). */
  readonly iface: string;
  /** The interface's MAC address (6 bytes). */
  readonly mac: Uint8Array;
  /** The whole UMEM as bytes (as `Burst.bytes`). */
  readonly bytes: Uint8Array;
  /** The whole UMEM as a DataView (as `Burst.view`). */
  readonly view: DataView;
  /** Bytes per UMEM frame (2048 or 4096): a frame from `alloc()` holds at most this many. */
  readonly frameSize: number;
  /**
   * Take an empty frame to originate a packet (e.g. a heartbeat from `idle`): returns the UMEM
   * offset of its first byte, or -1 when none is free (or `--count` is reached). The frame is
   * yours until you pass it to `send` or `free`. Allocates nothing.
   */
  alloc(): number;
  /**
   * Queue a frame from `alloc()` for sending with `len` bytes (1..frameSize); the engine sends it
   * with the next TX burst and owns it from now on. Throws a RangeError for a bad address or length.
   */
  send(addr: number, len: number): void;
  /** Give a frame from `alloc()` back without sending it. */
  free(addr: number): void;
}

/**
 * A handler module's default export. Write one as a plain object; `satisfies Handler` checks it
 * when you import this type (optional).
 *
 * @example
 * ```ts
 * import type { Handler } from "../mod.ts";
 * export default {
 *   counters: ["frames"],
 *   burst(b, ctx) {
 *     for (let i = 0; i < b.length; i++) b.drop(i);
 *     ctx.counters[0] += b.length;
 *   },
 * } satisfies Handler;
 * ```
 */
export interface Handler {
  /**
   * Counter names (unique, 1-64 characters of [A-Za-z0-9_]), or a function of the options that
   * returns them (e.g. one counter per configured rule). At most {@link MAX_HANDLER_COUNTERS}.
   */
  counters?: readonly string[] | ((options: HandlerOptions) => readonly string[]);
  /**
   * True when `burst` hands frames back to the kernel (`b.toKernel`): the engine then opens its
   * reinjection device at start (default false: `b.toKernel` throws).
   */
  toKernel?: boolean;
  /** Once per queue Worker before traffic, and after a reload. May be async. */
  init?(ctx: HandlerContext): void | Promise<void>;
  /**
   * Once per received burst. Must decide every frame: `b.send(i)`, `b.toKernel(i)` or
   * `b.drop(i)`.
   */
  burst(b: Burst, ctx: HandlerContext): void;
  /**
   * When a poll brought nothing (timers, housekeeping, originating frames, or keeping a long
   * per-frame path warm for the next sparse frame, as the built-in `respond` does).
   */
  idle?(ctx: HandlerContext): void;
  /** At stop and before a reload replaces this handler. May be async. */
  close?(ctx: HandlerContext): void | Promise<void>;
}

/** Most counters a handler may declare. */
export const MAX_HANDLER_COUNTERS = 256;

/** A handler module's problem, as one line (the file, what is wrong, what to do). */
export class HandlerError extends Error {
  /** `message`: one line naming the file, the problem and the fix. */
  constructor(message: string) {
    super(message);
    this.name = "HandlerError";
  }
}

/**
 * Check a module namespace's default export against the {@link Handler} contract and resolve its
 * counter names for `options`. Throws a {@link HandlerError} naming `where` and the problem.
 */
export function checkHandler(
  mod: unknown,
  options: HandlerOptions,
  where: string,
): { handler: Handler; counters: string[] } {
  const h = (mod as { default?: unknown })?.default as Record<string, unknown> | undefined;
  const bad = (what: string): never => {
    throw new HandlerError(`handler ${where}: ${what}`);
  };
  if (h === null || typeof h !== "object") {
    bad("no default export object: write `export default { burst(b, ctx) { ... } }`");
  }
  if (typeof h!.burst !== "function") bad("the default export has no burst(b, ctx) function");
  for (const f of ["init", "idle", "close"]) {
    if (h![f] !== undefined && typeof h![f] !== "function") bad(`${f} must be a function`);
  }
  if (h!.toKernel !== undefined && typeof h!.toKernel !== "boolean") {
    bad("toKernel must be true or false");
  }
  let names: unknown = h!.counters ?? [];
  if (typeof names === "function") {
    try {
      names = (names as (o: HandlerOptions) => unknown)(options);
    } catch (e) {
      bad(`counters(options) threw: ${(e as Error)?.message ?? e}`);
    }
  }
  if (!Array.isArray(names)) {
    bad("counters must be an array of names (or a function returning one)");
  }
  const list = names as unknown[];
  if (list.length > MAX_HANDLER_COUNTERS) {
    bad(`${list.length} counters: at most ${MAX_HANDLER_COUNTERS}`);
  }
  const seen = new Set<string>();
  for (const n of list) {
    if (typeof n !== "string" || !/^[A-Za-z0-9_]{1,64}$/.test(n)) {
      bad(`counter name ${JSON.stringify(n)} is invalid: use 1-64 of [A-Za-z0-9_]`);
    }
    if (seen.has(n as string)) bad(`counter name "${n}" appears twice`);
    seen.add(n as string);
  }
  return { handler: h as unknown as Handler, counters: list as string[] };
}

/**
 * Import the handler module at `url` (a file URL) and check it. `fresh` adds a query string so
 * the module is read again instead of coming from this isolate's module cache (a reload; the old
 * module stays in memory). Throws a {@link HandlerError} with one line.
 */
export async function importHandler(
  url: string,
  options: HandlerOptions,
  fresh = 0,
): Promise<{ handler: Handler; counters: string[] }> {
  const where = decodeURIComponent(new URL(url).pathname);
  let mod: unknown;
  try {
    mod = await import(fresh > 0 ? `${url}?reload=${fresh}` : url);
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).split("\n")[0];
    throw new HandlerError(`handler ${where} failed to load: ${msg}`);
  }
  return checkHandler(mod, options, where);
}

/** Parse `--handler-options`: a JSON object. Throws a {@link HandlerError} with one line. */
export function parseHandlerOptions(json: string | undefined): HandlerOptions {
  if (json === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    throw new HandlerError(`--handler-options is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new HandlerError(`--handler-options must be a JSON object, e.g. '{"port": 7}'`);
  }
  return v as HandlerOptions;
}
