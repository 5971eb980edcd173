/**
 * Where a round trip's time goes, from kernel tracepoints: `bench/latency_ab.ts --trace FILE`
 * records `perf record -a` of five tracepoints while the rounds run, then this module joins
 * them per round trip of `bench/rtt_probe.c` (one frame in flight at a time):
 *
 * 1. `net:net_dev_start_xmit` by the probe on the generator veth: the request leaves
 *    (where the probe's kernel TX timestamp is taken);
 * 2. `xdp:xdp_redirect`: the device veth's XDP program redirected it to the AF_XDP socket
 *    (the frame is being copied into the UMEM; the per-frame clock's stamp is a few
 *    instructions earlier);
 * 3. `syscalls:sys_enter_sendto` by the responder (not the probe): its TX kick;
 * 4. `net:netif_rx`: the answer enters the generator's receive path, inside that kick (where
 *    the probe's RX timestamp is taken);
 * 5. `syscalls:sys_exit_sendto` by the responder: the kick returns (it also ran the
 *    generator namespace's receive processing of the answer).
 *
 * So the segments are: request on its way (1-2), the responder's user space from the XDP
 * redirect to its kick (2-3: noticing the frame, the handler, TX descriptors, the FFI call),
 * the kick's way to the generator (3-4), and the kick's whole duration (3-5). Each tracepoint
 * costs the traced path some time, the same for every contender. The contender runs are told
 * apart by the pauses between them (> 50 ms without an event); the caller pairs each block
 * with its run. The kernel answering a ping itself has no XDP redirect and no kick: no trips.
 *
 * @module
 */

import { percentile } from "./latency_stats.ts";

/** The tracepoints `perf record -e` gets, in this order. */
export const TRACEPOINTS = [
  "net:net_dev_start_xmit",
  "xdp:xdp_redirect",
  "net:netif_rx",
  "syscalls:sys_enter_sendto",
  "syscalls:sys_exit_sendto",
] as const;

/**
 * The light set (`latency_ab --trace-light`): the request leaving, the XDP redirect, the answer
 * arriving; no system-call tracepoints. Those put every system call on the machine on the traced
 * slow path while recording, which lengthens a kick and rewards any code that keeps that path
 * warm; without them the trips give "XDP to answer" (the responder's user space plus its kick)
 * as it is untraced, but not the split at the kick.
 */
export const LIGHT_TRACEPOINTS = [
  "net:net_dev_start_xmit",
  "xdp:xdp_redirect",
  "net:netif_rx",
] as const;

/**
 * Kernel-side filters (`perf record --filter`) of some {@link TRACEPOINTS}: only `sendto` on a
 * real socket. byPassRT's idle loop keeps the kick's way warm with `sendto` on fd -1, which the
 * kernel refuses (EBADF, 9): not a kick, and at ~100 000 a second it would swamp the trace.
 */
export const TRACE_FILTERS: Readonly<Partial<Record<typeof TRACEPOINTS[number], string>>> = {
  "syscalls:sys_enter_sendto": "fd < 0x7fffffff",
  "syscalls:sys_exit_sendto": "ret != -9",
};

/** The `perf script` fields this parser reads (`-F` argument). */
export const SCRIPT_FIELDS = "comm,tid,cpu,time,event,trace";

/** The name the probe's process has in the trace. */
export const PROBE_COMM = "rtt_probe";

/** One traced event: time in us, the process (thread) name, the tracepoint. */
export interface TraceEvent {
  us: number;
  comm: string;
  event: string;
}

/**
 * One round trip's events (us, perf's clock) and the responder's thread name. From a light
 * trace ({@link LIGHT_TRACEPOINTS}) `kick` and `done` are NaN and `responder` is "".
 */
export interface Trip {
  tx: number;
  xdp: number;
  kick: number;
  rx: number;
  done: number;
  responder: string;
}

/** Segments of {@link Trip}, per run: p50 and p90 in us. */
export interface TripSegments {
  responder: string;
  trips: number;
  /** Trips summarised: the last `measured` of the block (the warm-up comes first). */
  measured: number;
  toXdp: [number, number];
  xdpToKick: [number, number];
  kickToRx: [number, number];
  kick: [number, number];
  /** XDP redirect to the answer's arrival: the responder's user space and its kick. */
  xdpToRx: [number, number];
  total: [number, number];
}

const LINE = /^\s*(.+?)\s+\d+\s+\[\d+\]\s+(\d+\.\d+):\s+(\S+):/;

/** Parse `perf script --ns -F comm,tid,cpu,time,event,trace` output. */
export function parsePerfScript(text: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (m === null) continue;
    // Seconds with 9 decimals: to us without losing the ns.
    const [s, frac] = m[2].split(".");
    out.push({ us: Number(s) * 1e6 + Number(frac.padEnd(9, "0")) / 1e3, comm: m[1], event: m[3] });
  }
  return out;
}

/**
 * Split the events into blocks at pauses longer than `gapUs`, and join each into trips. `light`:
 * the events are {@link LIGHT_TRACEPOINTS}, a trip ends at the answer's arrival.
 */
export function joinTrips(events: readonly TraceEvent[], gapUs = 50_000, light = false): Trip[][] {
  const blocks: Trip[][] = [];
  let trips: Trip[] = [];
  let cur: Partial<Trip> | null = null;
  let last = -Infinity;
  for (const e of events) {
    if (e.us - last > gapUs && trips.length > 0) {
      blocks.push(trips);
      trips = [];
      cur = null;
    }
    last = e.us;
    const probe = e.comm === PROBE_COMM;
    if (e.event === "net:net_dev_start_xmit" && probe) cur = { tx: e.us };
    else if (cur === null) continue;
    else if (e.event === "xdp:xdp_redirect" && cur.xdp === undefined) cur.xdp = e.us;
    else if (light) {
      if (e.event === "net:netif_rx" && cur.xdp !== undefined) {
        trips.push({ ...cur, kick: NaN, rx: e.us, done: NaN, responder: "" } as Trip);
        cur = null;
      }
    } else if (e.event === "syscalls:sys_enter_sendto" && !probe) {
      if (cur.xdp !== undefined && cur.kick === undefined) {
        cur.kick = e.us;
        cur.responder = e.comm;
      }
    } else if (e.event === "net:netif_rx" && cur.kick !== undefined) cur.rx ??= e.us;
    else if (e.event === "syscalls:sys_exit_sendto" && !probe && cur.rx !== undefined) {
      cur.done = e.us;
      trips.push(cur as Trip);
      cur = null;
    }
  }
  if (trips.length > 0) blocks.push(trips);
  return blocks;
}

/** p50 and p90 of each segment over the last `measured` trips of a block. */
export function segments(block: readonly Trip[], measured: number): TripSegments {
  const m = block.slice(-measured);
  const seg = (f: (t: Trip) => number): [number, number] => {
    const v = m.map(f).sort((a, b) => a - b);
    const r = (x: number) => Math.round(x * 100) / 100;
    return [r(percentile(v, 50)), r(percentile(v, 90))];
  };
  return {
    responder: m[0]?.responder ?? "",
    trips: block.length,
    measured: m.length,
    toXdp: seg((t) => t.xdp - t.tx),
    xdpToKick: seg((t) => t.kick - t.xdp),
    kickToRx: seg((t) => t.rx - t.kick),
    kick: seg((t) => t.done - t.kick),
    xdpToRx: seg((t) => t.rx - t.xdp),
    total: seg((t) => t.rx - t.tx),
  };
}
