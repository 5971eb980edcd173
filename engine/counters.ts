/**
 * Every per-queue counter, defined once. The port's software counters, the loop's counters, their
 * slots in the shared stats block, the `PortCounters` object, the snapshot and `--json` keys, the
 * live table's columns and the summary all derive from {@link QUEUE_COUNTERS}; metric names for
 * exporters derive from the same `key` (e.g. `bypassrt_<key>_total`).
 *
 * @module
 */

/** One counter of a queue. */
export interface CounterDef {
  /** camelCase name: the property in {@link PortCounters} / {@link QueueCounters}. */
  readonly name: string;
  /** snake_case name: the key in snapshots, `--json` and metric names. */
  readonly key: string;
  /** What it counts, one line (for `--json` readers, the README and metric HELP text). */
  readonly help: string;
  /** `counter` only grows; `gauge` is a level that goes up and down. */
  readonly kind: "counter" | "gauge";
  /** Column header in the live table and key in the plain line; absent: not shown there. */
  readonly column?: string;
}

/**
 * The port's own counters ({@link Port.counterBlock}, in this order), updated once per burst on
 * the fast path.
 */
export const PORT_COUNTERS = [
  { name: "rxPackets", help: "frames taken from the RX ring", kind: "counter", column: "rx" },
  { name: "rxBytes", help: "bytes of the received frames", kind: "counter" },
  {
    name: "txPackets",
    help: "frames the kernel reported sent (COMPLETION ring), not merely queued",
    kind: "counter",
    column: "tx",
  },
  { name: "txBytes", help: "bytes of the completed frames", kind: "counter" },
  {
    name: "txQueued",
    help: "frames queued on TX (a multi-buffer chain once); tx_queued - tx_packets are in flight",
    kind: "counter",
  },
  {
    name: "txRingFull",
    help: "frames offered to txBurst that did not fit the TX ring (freed by the built-in modes)",
    kind: "counter",
    column: "tx_ring_full",
  },
  { name: "txKicks", help: "sendto kicks issued for TX", kind: "counter" },
  {
    name: "txKickErrors",
    help: "TX kicks that failed with something other than EAGAIN, EBUSY, ENOBUFS or EINTR",
    kind: "counter",
    column: "kick_errors",
  },
  { name: "rxWakeups", help: "recvfrom wake-ups issued for the FILL ring", kind: "counter" },
  {
    name: "rxChained",
    help: "received frames that came in more than one buffer (multi-buffer, jumbo)",
    kind: "counter",
  },
  {
    name: "txChained",
    help: "frames queued on TX as a chain of descriptors (multi-buffer, jumbo)",
    kind: "counter",
  },
  {
    name: "chainDropped",
    help: "multi-buffer frames the engine dropped: longer than 18 buffers, or given to " +
      "b.toKernel (the reinjection device takes one buffer)",
    kind: "counter",
  },
  {
    name: "drainedAtStop",
    help: "frames still on the RX ring at shutdown, counted as received and freed",
    kind: "counter",
  },
] as const satisfies readonly Omit<CounterDef, "key">[];

/** The polling loop's counters, after the port's in the stats block. */
export const LOOP_COUNTERS = [
  {
    name: "appDropped",
    help: "frames the handler dropped (b.drop, or ctx.free of a frame it allocated)",
    kind: "counter",
    column: "dropped",
  },
  {
    name: "unhandled",
    help: "frames the handler neither sent nor dropped (dropped by the engine)",
    kind: "counter",
    column: "unhandled",
  },
  {
    name: "handlerErrors",
    help: "times the handler threw (in burst or idle)",
    kind: "counter",
    column: "errors",
  },
  {
    name: "errorDropped",
    help: "frames of a burst whose handler threw, still undecided, dropped by the engine",
    kind: "counter",
  },
  {
    name: "toKernel",
    help: "frames the handler handed back to the kernel stack (b.toKernel), written to the " +
      "reinjection device",
    kind: "counter",
    column: "to_kernel",
  },
  {
    name: "toKernelFailed",
    help: "frames b.toKernel gave that the reinjection device refused (the write failed): lost",
    kind: "counter",
  },
  {
    name: "originated",
    help: "frames the handler took with ctx.alloc() to originate (sent or freed by it)",
    kind: "counter",
  },
  { name: "handlerReloads", help: "times the handler was reloaded", kind: "counter" },
  { name: "loops", help: "iterations of the polling loop", kind: "counter" },
  {
    name: "idlePolls",
    help: "times the loop slept in poll() when idle (--poll-ms; 0 when busy-polling)",
    kind: "counter",
  },
  {
    name: "pcapCaptured",
    help: "frames copied into the capture ring (--pcap; sent ones too with --pcap-tx)",
    kind: "counter",
  },
  {
    name: "pcapDropped",
    help: "frames not captured because the capture ring was full (the writer fell behind)",
    kind: "counter",
  },
  {
    name: "freeFrames",
    help: "frames in the mempool",
    kind: "gauge",
    column: "free_frames",
  },
] as const satisfies readonly Omit<CounterDef, "key">[];

/** Name of a port counter. */
export type PortCounterName = typeof PORT_COUNTERS[number]["name"];
/** Name of any queue counter. */
export type QueueCounterName = PortCounterName | typeof LOOP_COUNTERS[number]["name"];
/** snake_case key of any queue counter. */
export type QueueCounterKey = SnakeCase<QueueCounterName>;

/** The port's counters as an object (see {@link PORT_COUNTERS} for each one's meaning). */
export type PortCounters = Record<PortCounterName, number>;
/** All of a queue's counters as an object. */
export type QueueCounters = Record<QueueCounterName, number>;

/** `rxPackets` -> `rx_packets`, at the type level. */
export type SnakeCase<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}`
  : S;

/** `rxPackets` -> `rx_packets`. */
export function snakeCase<S extends string>(name: S): SnakeCase<S> {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) as SnakeCase<S>;
}

/** Every queue counter in stats-block order: the port's, then the loop's. */
export const QUEUE_COUNTERS: readonly (CounterDef & {
  name: QueueCounterName;
  key: QueueCounterKey;
})[] = [...PORT_COUNTERS, ...LOOP_COUNTERS].map((d) =>
  Object.freeze({ ...d, key: snakeCase(d.name) })
);

function slots<N extends string>(defs: readonly { name: N }[]): Readonly<Record<N, number>> {
  return Object.freeze(Object.fromEntries(defs.map((d, i) => [d.name, i])) as Record<N, number>);
}

/** Index of each port counter in {@link Port.counterBlock}. */
export const PortSlot: Readonly<Record<PortCounterName, number>> = slots(PORT_COUNTERS);

/** Index of each queue counter in the stats block (the port's come first, in the same order). */
export const CounterSlot: Readonly<Record<QueueCounterName, number>> = slots(QUEUE_COUNTERS);

/**
 * Copy slot values into an object keyed by `name` (allocates: for reports, not the fast path).
 *
 * @example
 * ```ts
 * import { PORT_COUNTERS, readCounters } from "./counters.ts";
 * const c = readCounters(PORT_COUNTERS, new Float64Array(PORT_COUNTERS.length));
 * c.rxPackets; // 0
 * ```
 */
export function readCounters<N extends string>(
  defs: readonly { name: N }[],
  block: ArrayLike<number>,
  offset = 0,
): Record<N, number> {
  const out = {} as Record<N, number>;
  defs.forEach((d, i) => out[d.name] = block[offset + i]);
  return out;
}
