/**
 * The polling loop: one flat loop for every mode, every handler and any number of ports, in the
 * manner of DPDK's l2fwd. RX burst, hand the burst to the handler, send what it sent and free
 * what it dropped (one TX burst, at most one kick, per target port), repeat; call the handler's
 * `idle` when a round brought nothing. A run over one interface is a run over `ports = [port]`;
 * with `--iface A,B,...` one Worker serves one socket per interface, all on one shared UMEM, so
 * forwarding between them (`b.forward(i, p)`) moves descriptors and copies nothing: each round
 * takes an RX burst from every port in turn, and completions of every port return frames to the
 * one shared pool. Frames going back out of their own port are compacted in place; only
 * forwarded ones are copied into their target port's arrays. Nothing is allocated inside the
 * loop: the burst arrays, the {@link Burst} and the {@link HandlerContext} are created once per
 * Worker. Counters go to the shared block every {@link PUBLISH_EVERY} loops, before each idle
 * sleep, and at the end. Busy-polling with nothing arriving, it runs the burst path with no frame
 * every {@link PUBLISH_EVERY} loops (see `BurstPath`) and keeps the kick's way warm every
 * {@link WARM_EVERY} loops ({@link Port.keepWarm}), so that a sparse frame's path and kick do not
 * run cold.
 *
 * @module
 */
import type { Burst, Handler, HandlerContext, HandlerOptions } from "./handler.ts";
import { Port } from "./port.ts";
import type { CaptureProducer } from "../capture/ring.ts";
import { DIR_INBOUND, DIR_OUTBOUND } from "../capture/pcapng.ts";
import { Control, Slot } from "./stats.ts";
import type { KernelSink } from "./to_kernel.ts";
import type { FrameChains } from "./chains.ts";
import { PORT_COUNTERS, PortSlot } from "./counters.ts";
import type { FrameClock } from "./frame_clock.ts";

/** Options of {@link runLoop}. */
export interface LoopOptions {
  /** Packets per burst (1..1024, default 64). */
  burst: number;
  /** Sleep in poll() for this many ms after an empty poll; 0 = busy-poll (default). */
  idlePollMs: number;
  /** Stop after this many frames received or originated; 0 = no limit. */
  count: number;
  /** Stop at the handler's first throw (default false: count it and go on). */
  strict?: boolean;
  /**
   * Busy-polling with nothing arriving, run the burst path with no frame every
   * {@link PUBLISH_EVERY} loops and keep the kick's way warm ({@link Port.keepWarm}, every
   * {@link WARM_EVERY} loops); default true. `--no-keep-warm` turns both off.
   */
  keepWarm?: boolean;
}

/** Why {@link runLoop} returned. */
export type LoopExit = "stop" | "count" | "reload" | "error";

/**
 * Loops between two publications of the counters and two looks at the control block (a power of
 * two). Not per packet: `Atomics.load` alone costs 6-14 ns here.
 */
export const PUBLISH_EVERY = 64;
const TICK_MASK = PUBLISH_EVERY - 1;
/**
 * While busy-polling with nothing arriving, the loop keeps the kick's way warm
 * ({@link Port.keepWarm}: one refused system call) every this many loops (a multiple of
 * {@link PUBLISH_EVERY}): about every 10 us here, well within the ~1 ms in which this VM evicts an
 * idle path from the caches, and about 3 % of an idle loop's time.
 */
export const WARM_EVERY = 256;
const WARM_MASK = WARM_EVERY - 1;
/** Counters of a port (the first slots of a stats block). */
const NPORT = PORT_COUNTERS.length;

/**
 * Verdicts in {@link BurstState.act}: 0 undecided, -1 dropped, 1 send (`lens[i]` bytes, out of
 * the port it came from), 2 to the kernel (`lens[i]` bytes), {@link FORWARD} + p: out of port p
 * (another port than the frame's own: only in a run over several interfaces).
 */
const UNDECIDED = 0, DROP = -1, SEND = 1, TO_KERNEL = 2;
/** Verdict base of `b.forward(i, p)` to another port: `FORWARD + p`. */
export const FORWARD = 16;

/**
 * Copy the port's counters and the pool level into the shared block (not per packet). The
 * loop's own counters (dropped, unhandled, loops, ...) are written into the block directly.
 */
export function publish(port: Port, stats: Float64Array): void {
  // The port's counters occupy the first slots of the block, in the same order.
  stats.set(port.counterBlock, 0);
  stats[Slot.freeFrames] = port.pool.available;
}

/** Bytes from UMEM offset `addr` to the end of its frame (`frameSize` a power of two). */
function roomInFrame(addr: number, frameSize: number): number {
  return frameSize - (addr & (frameSize - 1));
}

/** The engine's {@link Burst}: one per Worker, reused for every burst. */
export class BurstState implements Burst {
  /** Frames in this burst. */
  length = 0;
  /** The whole UMEM. */
  readonly bytes: Uint8Array;
  /** The whole UMEM as a DataView. */
  readonly view: DataView;
  /**
   * Frame addresses (from rxBurst); after the handler, the loop compacts the frames to send to
   * the front and appends the originated ones, so they go to txBurst without a copy.
   */
  readonly addrs: Uint32Array;
  /** Frame lengths (from rxBurst; `send(i, len)` sets the length to send). */
  readonly lens: Uint32Array;
  /** Verdict per frame: 0 undecided, -1 drop, 1 send, 2 to the kernel. */
  readonly act: Int32Array;
  /** Interfaces of this run (1 unless `--iface A,B,...`). */
  readonly ports: number;
  /** The port (index in `--iface` order) the frames of this burst came from. */
  rxPort = 0;
  readonly #frameSize: number;
  /** True when the engine has a reinjection device (`b.toKernel` works). */
  readonly #toKernel: boolean;
  /** The multi-buffer links of the UMEM (null: single-buffer sockets, every frame 1 segment). */
  readonly #chains: FrameChains | null;
  /** The port (`send(i, len)` cuts a chain through it). */
  readonly #port: Port;
  /** The counters of the port a refused chain is counted on (`chain_dropped`). */
  readonly #portCounters: Float64Array;

  /**
   * Buffers for bursts of up to `burst` frames over `port`'s UMEM, with room for `extra` more
   * (the originated frames that go out with a burst). `o.toKernel`: the engine has a
   * reinjection device, so `toKernel(i)` may be used.
   */
  constructor(
    port: Port,
    burst: number,
    extra = 0,
    o: { toKernel?: boolean; ports?: number } = {},
  ) {
    this.ports = o.ports ?? 1;
    this.bytes = port.umem;
    this.view = new DataView(port.umem.buffer, port.umem.byteOffset, port.umem.byteLength);
    this.addrs = new Uint32Array(burst + extra);
    this.lens = new Uint32Array(burst + extra);
    this.act = new Int32Array(burst);
    this.#frameSize = port.options.frameSize;
    this.#toKernel = o.toKernel === true;
    this.#chains = port.chains;
    this.#port = port;
    this.#portCounters = port.counterBlock;
  }

  /** Buffers frame `i` occupies: 1, or more for a multi-buffer (jumbo) frame. */
  segments(i: number): number {
    if ((i >>> 0) !== i || i >= this.length) this.#badIndex(i);
    return this.#chains === null ? 1 : this.#chains.segments(this.addrs[i]);
  }

  /** UMEM offset of segment `s` of frame `i` (segment 0: `start(i)`). */
  segmentStart(i: number, s: number): number {
    return s === 0 ? this.start(i) : this.#segment(i, s);
  }

  /** Length of segment `s` of frame `i` (segment 0: `size(i)`). */
  segmentSize(i: number, s: number): number {
    if (s === 0) return this.size(i);
    this.#segment(i, s);
    return this.#chains!.segmentSize(this.addrs[i], s);
  }

  /** Length of frame `i` over all its segments (`size(i)` for a single-buffer frame). */
  totalSize(i: number): number {
    if ((i >>> 0) !== i || i >= this.length) this.#badIndex(i);
    const c = this.#chains;
    return c === null ? this.lens[i] : this.lens[i] + c.tailBytes(this.addrs[i]);
  }

  /** Segment `s` (>= 1) of frame `i`'s address, or a RangeError. */
  #segment(i: number, s: number): number {
    if ((i >>> 0) !== i || i >= this.length) this.#badIndex(i);
    const a = this.#chains === null || (s >>> 0) !== s
      ? -1
      : this.#chains.segmentStart(this.addrs[i], s);
    if (a < 0) {
      throw new RangeError(
        `segment ${s} of frame ${i} does not exist (0..${this.segments(i) - 1})`,
      );
    }
    return a;
  }

  /** UMEM offset of frame `i`'s first byte. */
  start(i: number): number {
    return this.addrs[i];
  }

  /** Length of frame `i` (after `send(i, len)`: `len`). */
  size(i: number): number {
    return this.lens[i];
  }

  /**
   * Send frame `i` with `len` bytes (default its size), up to the end of its buffer. A
   * multi-buffer frame goes whole; with a `len` below `size(i)` it is cut to those bytes.
   */
  send(i: number, len?: number): void {
    // (i >>> 0) === i: a non-negative integer below 2^32 (not NaN, not 1.5, not -1).
    if ((i >>> 0) !== i || i >= this.length) this.#badIndex(i);
    if (len !== undefined) {
      const room = roomInFrame(this.addrs[i], this.#frameSize);
      if (!(len >= 1 && len <= room && len === (len | 0))) this.#badLength(i, len, room);
      // A shorter reply built in place from a chained frame: its other segments go.
      if (this.#chains !== null && len < this.lens[i]) this.#port.trimChain(this.addrs[i]);
      this.lens[i] = len;
    }
    this.act[i] = SEND;
  }

  /** The port (index in `--iface` order) frame `i` came from. */
  port(i: number): number {
    if ((i >>> 0) !== i || i >= this.length) this.#badIndex(i);
    return this.rxPort;
  }

  /** Send frame `i` out of port `port` with `len` bytes (default its size). */
  forward(i: number, port: number, len?: number): void {
    if ((port >>> 0) !== port || port >= this.ports) this.#badPort(port);
    this.send(i, len);
    if (port !== this.rxPort) this.act[i] = FORWARD + port;
  }

  /**
   * Hand frame `i` back to the kernel stack with `len` bytes (default its size). A multi-buffer
   * frame cannot go whole (the reinjection device takes one buffer): it is dropped and counted
   * as `chain_dropped` (and, as a `drop(i)`, as `app_dropped`), unless a `len` below `size(i)`
   * cuts it to part of its first segment.
   */
  toKernel(i: number, len?: number): void {
    if (!this.#toKernel) this.#noKernel();
    if ((i >>> 0) !== i || i >= this.length) this.#badIndex(i);
    if (this.#chains !== null && this.#chains.segments(this.addrs[i]) > 1) {
      if (len === undefined || !(len < this.lens[i])) {
        this.#portCounters[PortSlot.chainDropped]++;
        this.act[i] = DROP;
        return;
      }
      // Cut to `len` bytes of its first segment (checked below): that fits the device.
      if (len >= 1 && len === (len | 0)) this.#port.trimChain(this.addrs[i]);
    }
    if (len !== undefined) {
      const room = roomInFrame(this.addrs[i], this.#frameSize);
      if (!(len >= 1 && len <= room && len === (len | 0))) this.#badLength(i, len, room);
      this.lens[i] = len;
    }
    this.act[i] = TO_KERNEL;
  }

  /** Drop frame `i`. */
  drop(i: number): void {
    if ((i >>> 0) !== i || i >= this.length) this.#badIndex(i);
    this.act[i] = DROP;
  }

  // The throws live out of line: inlined into every handler's loop they cost it time per frame.
  #badIndex(i: number): never {
    throw new RangeError(`frame index ${i} is outside this burst (0..${this.length - 1})`);
  }

  #badLength(i: number, len: number | undefined, room: number): never {
    throw new RangeError(`send(${i}, ${len}): length must be 1..${room} for this frame`);
  }

  #badPort(p: number): never {
    throw new RangeError(`forward(): port ${p} does not exist (0..${this.ports - 1})`);
  }

  #noKernel(): never {
    throw new Error(
      "b.toKernel(): this run has no way back to the kernel: declare `toKernel: true` in the " +
        "handler's default export (the engine then opens its reinjection device at start)",
    );
  }
}

/**
 * The engine's {@link HandlerContext}: one per Worker (and per handler generation), with the
 * queue of originated frames the loop sends with its next TX burst.
 */
export class LoopContext implements HandlerContext {
  /** The handler's options. */
  readonly options: HandlerOptions;
  /** The handler's counters (shared memory). */
  readonly counters: Float64Array;
  /** RX queue. */
  readonly queue: number;
  /** Interface name. */
  readonly iface: string;
  /** Interface MAC. */
  readonly mac: Uint8Array;
  /** The whole UMEM. */
  readonly bytes: Uint8Array;
  /** The whole UMEM as a DataView. */
  readonly view: DataView;
  /** Bytes per frame. */
  readonly frameSize: number;
  /** Originated frames waiting for the next TX burst: addresses. */
  readonly pendAddrs: Uint32Array;
  /** Originated frames waiting for the next TX burst: lengths. */
  readonly pendLens: Uint32Array;
  /** How many are waiting. */
  pending = 0;
  /** Frames that may still be received or originated (`--count`); Infinity without a limit. */
  budget = Infinity;
  /** Where sent frames are captured (`--pcap-tx`), or null. */
  readonly captureTx: CaptureProducer | null;
  readonly #port: Port;
  readonly #stats: Float64Array;
  readonly #one = new Uint32Array(1);

  /** A context for `port`; `capacity` originated frames wait at most before a TX burst. */
  constructor(
    port: Port,
    o: {
      options: HandlerOptions;
      counters: Float64Array;
      queue: number;
      mac: Uint8Array;
      capacity: number;
      stats: Float64Array;
      /** Capture sent frames here (`--pcap-tx`). */
      captureTx?: CaptureProducer | null;
    },
  ) {
    this.#port = port;
    this.captureTx = o.captureTx ?? null;
    this.#stats = o.stats;
    this.options = o.options;
    this.counters = o.counters;
    this.queue = o.queue;
    this.iface = port.options.iface;
    this.mac = o.mac;
    this.bytes = port.umem;
    this.view = new DataView(port.umem.buffer, port.umem.byteOffset, port.umem.byteLength);
    this.frameSize = port.options.frameSize;
    this.pendAddrs = new Uint32Array(o.capacity);
    this.pendLens = new Uint32Array(o.capacity);
  }

  /** A free frame's first byte, or -1. */
  alloc(): number {
    if (this.budget < 1) return -1;
    if (this.#port.alloc(this.#one, 1) === 0) return -1;
    this.budget--;
    this.#stats[Slot.originated]++;
    return this.#one[0];
  }

  /** Queue an allocated frame for sending. */
  send(addr: number, len: number): void {
    if (!(addr >= 0 && addr < this.bytes.length && addr === (addr >>> 0))) {
      throw new RangeError(`send(${addr}, ${len}): ${addr} is not a UMEM offset from alloc()`);
    }
    const room = roomInFrame(addr, this.frameSize);
    if (!(len >= 1 && len <= room && len === (len | 0))) {
      throw new RangeError(`send(${addr}, ${len}): length must be 1..${room} for this frame`);
    }
    if (this.pending === this.pendAddrs.length) this.flush();
    this.pendAddrs[this.pending] = addr;
    this.pendLens[this.pending++] = len;
  }

  /** Give an allocated frame back (counted as dropped by the handler). */
  free(addr: number): void {
    this.#one[0] = addr;
    this.#port.free(this.#one, 0, 1);
    this.#stats[Slot.appDropped]++;
  }

  /** Send the waiting originated frames now (the frames that do not fit the TX ring are freed). */
  flush(): void {
    const k = this.pending;
    if (k === 0) return;
    this.pending = 0;
    const sent = this.#port.txBurst(this.pendAddrs, this.pendLens, k);
    if (this.captureTx !== null) {
      this.captureTx.burst(this.pendAddrs, this.pendLens, sent, DIR_OUTBOUND);
    }
    if (sent < k) this.#port.free(this.pendAddrs, sent, k - sent);
  }
}

/** Reports a handler's throw (the Worker rate-limits and forwards it); not called per packet. */
export type OnHandlerError = (err: unknown) => void;

/** What one run of the polling loop works with (see {@link runLoop}). */
export interface LoopRun {
  /** The port (one queue); with `ports`, the first of them (it owns the UMEM and the pool). */
  port: Port;
  /**
   * Every port of the run, in `--iface` order, all on `port`'s UMEM (`--iface A,B,...`);
   * default `[port]`. Originated frames (`ctx.send`) leave through `ports[0]`.
   */
  ports?: readonly Port[];
  /** One block per port that gets that port's counters (per-interface counters), or none. */
  portStats?: readonly Float64Array[];
  /** The handler module's default export. */
  handler: Handler;
  /** The burst object handed to `handler.burst` (one per Worker). */
  b: BurstState;
  /** The handler's context (one per handler generation). */
  ctx: LoopContext;
  /** Burst size, idle poll, count, strict. */
  opts: LoopOptions;
  /** Control block: `Control.stop`, `Control.reload`; the loop sets `Control.state`. */
  control: Int32Array;
  /** Stats block the loop publishes to. */
  stats: Float64Array;
  /** The handler generation this run serves: a different `Control.reload` ends the run. */
  generation: number;
  /** Gets every throw of the handler (rate-limited by the caller). */
  onError: OnHandlerError;
  /** Where received frames are captured (`--pcap`), or null; sent ones: `ctx.captureTx`. */
  capture?: CaptureProducer | null;
  /** Where `b.toKernel` frames go (the reinjection device), or null when the run has none. */
  toKernel?: KernelSink | null;
  /** The per-frame clock (XDP stamp to handler, to TX), or null (`--no-timestamps`). */
  clock?: FrameClock | null;
}

/**
 * Publish the ports' counters into `stats` (the queue's block: their sum over several ports)
 * and each port's own counters into `portStats[p]` (not per packet).
 */
export function publishPorts(
  ports: readonly Port[],
  stats: Float64Array,
  portStats?: readonly Float64Array[],
): void {
  if (ports.length === 1) publish(ports[0], stats);
  else {
    for (let j = 0; j < NPORT; j++) {
      let sum = 0;
      for (let p = 0; p < ports.length; p++) sum += ports[p].counterBlock[j];
      stats[j] = sum;
    }
    stats[Slot.freeFrames] = ports[0].pool.available;
  }
  if (portStats) { for (let p = 0; p < ports.length; p++) portStats[p].set(ports[p].counterBlock); }
}

/**
 * Run the polling loop over `r.ports` (default `[r.port]`) with `r.handler` until the control
 * block asks to stop (`Control.stop`) or to reload (`Control.reload` differs from
 * `r.generation`), `r.opts.count` frames were received or originated, or (strict) the handler
 * threw. Each round takes an RX burst from every port in turn (`b.port(i)` is that port); the
 * frames the handler sends or forwards go out in one TX burst per target port, so at most one
 * kick per port per RX burst. Counters are published to `r.stats` every {@link PUBLISH_EVERY}
 * loops, before each idle sleep, and at the end.
 */
export function runLoop(r: LoopRun): LoopExit {
  Atomics.store(r.control, Control.state, 1);
  const ports = r.ports ?? [r.port];
  if (ports[0] !== r.port) throw new RangeError("the run's `port` must be `ports[0]`");
  const exit = loop(r, ports);
  r.ctx.flush();
  for (const p of ports) p.drainTx(200);
  publishPorts(ports, r.stats, r.portStats);
  return exit;
}

/** Send `a/l[0..k)` out of `port` (one TX burst); capture what went, free what did not fit. */
function transmit(
  port: Port,
  a: Uint32Array,
  l: Uint32Array,
  k: number,
  capTx: CaptureProducer | null,
): void {
  const sent = port.txBurst(a, l, k);
  if (capTx !== null) capTx.burst(a, l, sent, DIR_OUTBOUND);
  if (sent < k) port.free(a, sent, k - sent);
}

/**
 * One RX burst's way from the handler to TX (everything the loop does with frames it received),
 * made once per run. Its own function, called for every burst, so that the loop can run this
 * very code with no frame while idle ({@link BurstPath.rehearse}): V8 compiles a function called
 * from the loop once, where code inlined into the loop would have its own copy for each call
 * site, and a copy that only a frame runs is cold when a frame comes after a millisecond of
 * empty polls.
 */
class BurstPath {
  readonly #r: LoopRun;
  readonly #ports: readonly Port[];
  readonly #capRx: CaptureProducer | null;
  readonly #capTx: CaptureProducer | null;
  readonly #sink: KernelSink | null;
  readonly #clock: FrameClock | null;
  readonly #txA: Uint32Array[] = [];
  readonly #txL: Uint32Array[] = [];
  readonly #txN: Int32Array;
  /**
   * With the clock: how many received frames the burst forwarded to each port (`#txN` before
   * originated frames join it and the TX bursts reset it), for the clock's records after the kick.
   */
  readonly #fwdN: Int32Array;
  /** Frames to free. */
  readonly #dropAddrs: Uint32Array;
  /** Frames for the kernel: the sink's own arrays (see the constructor). */
  readonly #kAddrs: Uint32Array;
  readonly #kLens: Uint32Array;

  constructor(r: LoopRun, ports: readonly Port[]) {
    const { b, ctx, opts } = r, np = ports.length, burst = opts.burst;
    this.#r = r;
    this.#ports = ports;
    this.#capRx = r.capture ?? null;
    this.#capTx = ctx.captureTx;
    this.#sink = r.toKernel ?? null;
    this.#clock = r.clock ?? null;
    const cap = burst + ctx.pendAddrs.length;
    if (b.addrs.length < cap) {
      throw new RangeError("the burst's arrays need room for the originated frames too");
    }
    // Frames sent out of the port they came from are compacted in place in addrs/lens; frames
    // forwarded to another port (several ports only) wait in that port's arrays, with the
    // originated ones when the frames came from another port than ports[0].
    for (let p = 0; p < np; p++) {
      this.#txA.push(np === 1 ? b.addrs : new Uint32Array(cap));
      this.#txL.push(np === 1 ? b.lens : new Uint32Array(cap));
    }
    this.#txN = new Int32Array(np);
    this.#fwdN = new Int32Array(np);
    this.#dropAddrs = new Uint32Array(burst);
    // An empty stand-in when the run has no sink: b.toKernel then throws before any frame gets
    // that verdict.
    this.#kAddrs = this.#sink?.addrs ?? this.#dropAddrs;
    this.#kLens = this.#sink?.lens ?? this.#dropAddrs;
    if (this.#kAddrs.length < burst || this.#kLens.length < burst) {
      throw new RangeError("the kernel sink's arrays need room for a whole burst");
    }
  }

  /**
   * Run the burst path with no frame: the clock's RX read, an empty TX burst on `ports[0]` (no
   * descriptor; its kick only if frames are still in flight, as an empty poll makes anyway) and
   * the clock's records of nothing, so that a sparse frame finds this code warm. The
   * handler is not called (see `respond`'s `idle` for a handler's own rehearsal). Sends,
   * counts and frees nothing.
   */
  rehearse(): void {
    this.run(0, 0);
  }

  /**
   * The `n` frames in the burst's arrays came from port `rp` (0: a rehearsal): hand them to
   * the handler, send what it sent (one TX burst per target port), give the kernel what it
   * asked for and free the rest. Returns true when the handler threw.
   */
  run(rp: number, n: number): boolean {
    const r = this.#r, { handler, b, ctx, stats, onError } = r;
    const ports = this.#ports, np = ports.length, port = ports[rp], clock = this.#clock;
    const addrs = b.addrs, lens = b.lens, act = b.act;
    const txA = this.#txA, txL = this.#txL, txN = this.#txN, capTx = this.#capTx;
    const dropAddrs = this.#dropAddrs, kAddrs = this.#kAddrs, kLens = this.#kLens;
    // The frames as received, before the handler changes them.
    if (this.#capRx !== null) this.#capRx.burst(addrs, lens, n, DIR_INBOUND);
    ctx.budget -= n;
    b.length = n;
    b.rxPort = rp;
    for (let i = 0; i < n; i++) act[i] = UNDECIDED;
    if (clock !== null) clock.rx();
    let threw = false;
    if (n > 0) {
      try {
        handler.burst(b, ctx);
      } catch (err) {
        threw = true;
        stats[Slot.handlerErrors]++;
        onError(err);
      }
    }
    // Frames to send out of their own port move to the front, in order (in place: k <= i);
    // forwarded ones go to their target port's arrays, those for the kernel to the sink's
    // batch; the rest are freed.
    let k = 0, f = 0, d = 0, dropped = 0, kn = 0;
    for (let i = 0; i < n; i++) {
      const v = act[i];
      if (v === SEND) {
        if (k !== i) {
          addrs[k] = addrs[i];
          lens[k] = lens[i];
        }
        k++;
      } else if (v === TO_KERNEL) {
        kAddrs[kn] = addrs[i];
        kLens[kn++] = lens[i];
      } else if (v >= FORWARD) {
        const t = v - FORWARD, j = txN[t]++;
        txA[t][j] = addrs[i];
        txL[t][j] = lens[i];
        f++;
      } else {
        dropAddrs[d++] = addrs[i];
        if (v === DROP) dropped++;
      }
    }
    // One pool: any port's free() returns frames to it.
    if (d > 0) {
      port.free(dropAddrs, 0, d);
      if (dropped > 0) stats[Slot.appDropped] += dropped;
      if (d > dropped) stats[threw ? Slot.errorDropped : Slot.unhandled] += d - dropped;
    }
    // One FFI call hands them all to the kernel, which copies them: back to the pool at once.
    if (kn > 0) {
      const took = this.#sink!.flush(kn);
      stats[Slot.toKernel] += took;
      if (took < kn) stats[Slot.toKernelFailed] += kn - took;
      port.free(kAddrs, 0, kn);
    }
    // The received frames sent, for the clock: originated ones (appended below) are not stamped.
    const kr = k, fr = f, fwdN = this.#fwdN;
    if (clock !== null && fr > 0) { for (let t = 0; t < np; t++) fwdN[t] = txN[t]; }
    // Originated frames leave through ports[0] with this burst's frames for it.
    const p = ctx.pending;
    if (p > 0) {
      const pa = ctx.pendAddrs, pl = ctx.pendLens;
      if (rp === 0) {
        for (let j = 0; j < p; j++) {
          addrs[k] = pa[j];
          lens[k++] = pl[j];
        }
      } else {
        const a0 = txA[0], l0 = txL[0];
        let j0 = txN[0];
        for (let j = 0; j < p; j++) {
          a0[j0] = pa[j];
          l0[j0++] = pl[j];
        }
        txN[0] = j0;
        f += p;
      }
      ctx.pending = 0;
    }
    // One TX burst per target port, in port order (a rehearsal: an empty one, the same code).
    if (f === 0) {
      if (k > 0 || n === 0) transmit(port, addrs, lens, k, capTx);
    } else {
      for (let t = 0; t < np; t++) {
        if (t === rp) {
          if (k > 0) transmit(port, addrs, lens, k, capTx);
        } else if (txN[t] > 0) {
          const j = txN[t];
          txN[t] = 0;
          transmit(ports[t], txA[t], txL[t], j, capTx);
        }
      }
    }
    // The frames are on their way: only now the clock reads their stamps into its buckets (the
    // freed ones go back on FILL at the next poll, so theirs are intact too).
    if (clock !== null) {
      clock.sent(addrs, kr);
      if (fr > 0) { for (let t = 0; t < np; t++) clock.sent(txA[t], fwdN[t]); }
      clock.handled(dropAddrs, d);
      clock.handled(kAddrs, kn);
    }
    return threw;
  }
}

function loop(r: LoopRun, ports: readonly Port[]): LoopExit {
  const { handler, b, ctx, opts, control, stats, generation, onError } = r;
  const clock = r.clock ?? null, portStats = r.portStats;
  if (Atomics.load(control, Control.stop) !== 0) return "stop";
  if (Atomics.load(control, Control.reload) !== generation) return "reload";
  const np = ports.length;
  const burst = opts.burst, strict = opts.strict === true, idle = handler.idle;
  const warm = opts.idlePollMs === 0 && opts.keepWarm !== false;
  const addrs = b.addrs, lens = b.lens;
  const path = new BurstPath(r, ports);
  const pollfds = np === 1 ? null : Port.pollfds(ports);
  let received = 0;
  for (let p = 0; p < np; p++) received += ports[p].rxPackets;
  ctx.budget = opts.count > 0 ? opts.count - received - stats[Slot.originated] : Infinity;
  let loops = 0;
  while (ctx.budget >= 1) {
    let got = 0;
    for (let rp = 0; rp < np && ctx.budget >= 1; rp++) {
      const room = ctx.budget;
      const n = ports[rp].rxBurst(addrs, lens, room < burst ? room : burst);
      if (n === 0) continue;
      got += n;
      if (path.run(rp, n) && strict) return "error";
    }
    if (got === 0) {
      if (idle !== undefined) {
        try {
          idle.call(handler, ctx);
        } catch (err) {
          stats[Slot.handlerErrors]++;
          onError(err);
          if (strict) return "error";
        }
      }
      if (ctx.pending > 0) ctx.flush();
      onEmpty(ports, pollfds, opts, stats, portStats);
    }
    if ((++loops & TICK_MASK) === 0) {
      if (got === 0 && warm) {
        // A sparse frame's burst path would otherwise run cold (1-3 us): run it with no frame.
        path.rehearse();
        // So would its kick's way into the kernel (bench/cold_path.ts).
        if ((loops & WARM_MASK) === 0) ports[0].keepWarm();
      } else if (clock !== null) {
        // The clock's part of that path, where the loop does not rehearse it.
        clock.keepWarm();
      }
      stats[Slot.loops] += PUBLISH_EVERY;
      publishPorts(ports, stats, portStats);
      if (Atomics.load(control, Control.stop) !== 0) return "stop";
      if (Atomics.load(control, Control.reload) !== generation) return "reload";
    }
  }
  stats[Slot.loops] += loops & TICK_MASK;
  return "count";
}

/**
 * After a round with no frame: finish TX while frames are in flight (kick, reclaim, per port);
 * otherwise, with `idlePollMs`, publish and sleep in poll() until a frame arrives on any port.
 */
function onEmpty(
  ports: readonly Port[],
  pollfds: Uint8Array | null,
  opts: LoopOptions,
  stats: Float64Array,
  portStats: readonly Float64Array[] | undefined,
): void {
  if (pollfds === null) {
    // One port: the same steps without the loop (this path runs once per burst under wake-ups).
    const port = ports[0];
    if (port.txOutstanding > 0) {
      port.kick();
      port.reclaim();
    } else if (opts.idlePollMs > 0) {
      publish(port, stats);
      stats[Slot.idlePolls]++;
      port.waitReadable(opts.idlePollMs);
    }
    return;
  }
  let outstanding = false;
  for (let p = 0; p < ports.length; p++) {
    const port = ports[p];
    if (port.txOutstanding > 0) {
      outstanding = true;
      port.kick();
      port.reclaim();
    }
  }
  if (!outstanding && opts.idlePollMs > 0) {
    publishPorts(ports, stats, portStats);
    stats[Slot.idlePolls]++;
    Port.waitAnyReadable(ports, pollfds, opts.idlePollMs);
  }
}
