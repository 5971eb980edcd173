/**
 * Port options: the sizes and modes of one AF_XDP port, validated before any system call.
 *
 * @module
 */
import { MAX_BUSY_POLL_US } from "./busy_poll.ts";
import { BypassError } from "./errors.ts";

/** How to bind the socket: zero-copy, copy, or zero-copy with a fallback to copy. */
export type BindMode = "auto" | "copy" | "zerocopy";

/** Options of {@link openPort}. Every size is a count of entries or bytes. */
export interface PortOptions {
  /** Interface name, e.g. `veth-bypass`. */
  iface: string;
  /** RX queue to bind (default 0). */
  queue?: number;
  /** UMEM frames (power of two, default 4096). */
  frames?: number;
  /** Bytes per frame: 2048 or 4096 (default 2048). */
  frameSize?: number;
  /** FILL and RX ring entries (power of two, default 2048). */
  rxSize?: number;
  /** TX and COMPLETION ring entries (power of two, default 2048). */
  txSize?: number;
  /** Bind mode (default `auto`: try zero-copy, fall back to copy). */
  bind?: BindMode;
  /** Frames to post to the FILL ring at start (default: min(rxSize, frames / 2)); 0 for tx-only. */
  fillFrames?: number;
  /** fd of the XSKMAP to insert the socket into, keyed by queue (optional). */
  xsksMapFd?: number;
  /**
   * Busy polling (`--busy-poll`): SO_BUSY_POLL microseconds, 0 = off (default). The socket also
   * gets SO_PREFER_BUSY_POLL and SO_BUSY_POLL_BUDGET = {@link PortOptions.busyPollBudget}.
   */
  busyPollUs?: number;
  /** SO_BUSY_POLL_BUDGET with busy polling: packets per NAPI run (default 64, the burst). */
  busyPollBudget?: number;
  /**
   * Bind with `XDP_USE_SG` (default false): a frame longer than one chunk (`frameSize` - 256
   * bytes) arrives and leaves as a chain of descriptors (see `chains.ts`). Without it the
   * kernel drops such frames (counted in XDP_STATISTICS `rx_dropped`).
   */
  multiBuffer?: boolean;
}

/** {@link PortOptions} with every default applied (see {@link resolvePortOptions}). */
export type ResolvedPortOptions = Required<Omit<PortOptions, "xsksMapFd">> & {
  xsksMapFd: number;
};

const MAX_RING = 1 << 16;

function powerOfTwo(name: string, flag: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max || (v & (v - 1)) !== 0) {
    throw new BypassError(
      `${name} ${v} is invalid: ${flag} must be a power of two between ${min} and ${max}`,
    );
  }
}

/**
 * Apply defaults and validate sizes (powers of two, kernel limits).
 *
 * @example
 * ```ts
 * import { resolvePortOptions } from "./options.ts";
 * resolvePortOptions({ iface: "veth-bypass" }).frames; // 4096
 * ```
 */
export function resolvePortOptions(o: PortOptions): ResolvedPortOptions {
  if (!o.iface || o.iface.length > 15 || /[\s/:]/.test(o.iface)) {
    throw new BypassError(`interface name "${o.iface}" is invalid: give --iface NAME (1-15 chars)`);
  }
  const r: ResolvedPortOptions = {
    iface: o.iface,
    queue: o.queue ?? 0,
    frames: o.frames ?? 4096,
    frameSize: o.frameSize ?? 2048,
    rxSize: o.rxSize ?? 2048,
    txSize: o.txSize ?? 2048,
    bind: o.bind ?? "auto",
    fillFrames: 0,
    xsksMapFd: o.xsksMapFd ?? -1,
    busyPollUs: o.busyPollUs ?? 0,
    busyPollBudget: o.busyPollBudget ?? 64,
    multiBuffer: o.multiBuffer ?? false,
  };
  if (!Number.isInteger(r.queue) || r.queue < 0 || r.queue > 63) {
    throw new BypassError(`queue ${r.queue} is invalid: --queue must be between 0 and 63`);
  }
  if (r.frameSize !== 2048 && r.frameSize !== 4096) {
    throw new BypassError(
      `frame size ${r.frameSize} is invalid: --frame-size must be 2048 or 4096`,
    );
  }
  powerOfTwo("frame count", "--frames", r.frames, 64, 1 << 18);
  powerOfTwo("RX ring size", "--ring-size", r.rxSize, 64, MAX_RING);
  powerOfTwo("TX ring size", "--ring-size", r.txSize, 64, MAX_RING);
  if (!["auto", "copy", "zerocopy"].includes(r.bind)) {
    throw new BypassError(
      `bind mode "${r.bind}" is invalid: --bind must be auto, copy or zerocopy`,
    );
  }
  if (!Number.isInteger(r.busyPollUs) || r.busyPollUs < 0 || r.busyPollUs > MAX_BUSY_POLL_US) {
    throw new BypassError(
      `busy-poll time ${r.busyPollUs} is invalid: --busy-poll takes 1..${MAX_BUSY_POLL_US} ` +
        `microseconds`,
    );
  }
  if (!Number.isInteger(r.busyPollBudget) || r.busyPollBudget < 1 || r.busyPollBudget > 65535) {
    throw new BypassError(
      `busy-poll budget ${r.busyPollBudget} is invalid: it is the --burst size (1..1024)`,
    );
  }
  r.fillFrames = o.fillFrames ?? Math.min(r.rxSize, r.frames / 2);
  if (!Number.isInteger(r.fillFrames) || r.fillFrames < 0 || r.fillFrames > r.rxSize) {
    throw new BypassError(`fill frames ${r.fillFrames} must be between 0 and the RX ring size`);
  }
  if (r.fillFrames > r.frames) {
    throw new BypassError(`--frames ${r.frames} is smaller than the FILL ring needs`);
  }
  return r;
}
