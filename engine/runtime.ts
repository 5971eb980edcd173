/**
 * The runtime: attach the steering program, start one Worker (polling loop) per queue, expose
 * snapshots of every counter for printers, stop everything cleanly.
 *
 * @module
 */
import { type MultiBuffer, type MultiBufferMode, resolveMultiBuffer } from "./multi_buffer.ts";
import type { FrameAudit } from "../mempool/mod.ts";
import { BypassError } from "./errors.ts";
import { interfaceMac } from "./iface.ts";
import { ifIndex } from "./_sys.ts";
import { moveOthersOff, validateCpus } from "./affinity.ts";
import type { LoopExit, LoopOptions } from "./loop.ts";
import { HandlerError, importHandler } from "./handler.ts";
import { typeCheckHandler } from "./handler_check.ts";
import { builtinMode, type HandlerSpec } from "./modes.ts";
import {
  checkIfaces,
  type InterfaceSnapshot,
  interfaceSnapshots,
  loadMorePrograms,
  sumProgramCounters,
} from "./more_ports.ts";
import type { PortOptions } from "./options.ts";
import { resolvePortOptions } from "./options.ts";
import { QUEUE_COUNTERS, type QueueCounterKey } from "./counters.ts";
import { openLibc } from "../ffi/libc.ts";
import {
  readXdpStatistics,
  sumXdpStatistics,
  type XdpStatistics,
  ZERO_XDP_STATISTICS,
} from "./xdp_stats.ts";
import { Control, newControlBlock, newStatsBlock, Slot } from "./stats.ts";
import { checkXskLayout } from "./xsk_layout.ts";
import { newLatencyBlock } from "./latency_histogram.ts";
import { helperPath } from "./paths.ts";
import {
  type LatencySnapshot,
  latencySnapshot,
  NO_TIMESTAMPS,
  USER_PROGRAM_NO_TIMESTAMPS,
} from "./latency_report.ts";
import { type CaptureOptions, CaptureSession, type CaptureStatus } from "../capture/session.ts";
import type { HandlerCounterBlock, WorkerMessage, WorkerStart } from "./worker.ts";
import { openReinjection, type Reinjection } from "./to_kernel.ts";
import { type BlockEntry, type Cidr, parseCidr, readBlockFile } from "./blocklist.ts";
import {
  checkBlockMax,
  DEFAULT_BLOCK_MAX,
  loadXdpProgram,
  type ProgramCounters,
  type Steering,
  type XdpMode,
  type XdpProgram,
} from "./xdp_program.ts";
import { loadUserXdpProgram, type UserProgramInfo, UserXdpProgram } from "./user_xdp_program.ts";
import {
  refuseWithUserProgram,
  USER_PROGRAM_NO_BLOCKLIST,
  USER_PROGRAM_NO_STEERING,
} from "./user_program_rules.ts";

/** Everything {@link Engine.start} needs. */
export interface EngineOptions {
  /** Port sizes and bind mode; `queue` is ignored in favour of `queues`. */
  port: PortOptions;
  /** RX queues to serve, one Worker each (default [0]). */
  queues?: number[];
  /** Loop options shared by all queues (burst, idle poll, count, strict). */
  loop: LoopOptions;
  /** The handler every queue runs: a built-in mode (`builtinHandler`) or a file of yours. */
  handler: HandlerSpec;
  /**
   * Type-check a TypeScript handler file with `deno check` before loading it, at start and on
   * reload (default true; skipped where `deno` is not the running program).
   */
  typeCheck?: boolean;
  /** Called with what the Workers report about the handler (default: one line on stderr). */
  onEvent?: (event: EngineEvent) => void;
  /** XDP attach mode (default auto). */
  xdpMode?: XdpMode;
  /** What the XDP program steers to user space. */
  steering: Steering;
  /** Replace a foreign XDP program on the interface. */
  force?: boolean;
  /**
   * CPU for each queue's polling Worker (same order as `queues`). The process's other threads
   * are then kept off these CPUs. Default: no pinning.
   */
  cpus?: number[];
  /**
   * A block file (one CIDR per line, `#` comments): its prefixes are in the blocklist before
   * the program is attached; a bad line fails the start with nothing attached.
   */
  blockFile?: string;
  /** Prefixes to block from the start (with those of `blockFile`). */
  block?: string[];
  /** Blocklist capacity in prefixes (default 1 << 20; costs capacity x (8 x CPUs + 8) bytes). */
  blockMax?: number;
  /** Write the frames received (and sent, `tx`) to a pcapng file (default: no capture). */
  capture?: CaptureOptions;
  /**
   * Attach this compiled XDP object of yours instead of our program (`--xdp-prog`): it must
   * have a BPF_MAP_TYPE_XSKMAP named `xsks_map`, keyed by RX queue; byPassRT inserts its sockets
   * there. `section` picks the program (default: the object's only XDP program). Steering,
   * `block`/`blockFile`/`blockMax` and the program counters need our program: they are refused
   * (steering must be `{ all: false, udpPorts: [] }`), the counters are `null` in snapshots.
   */
  xdpProg?: { path: string; section?: string };
  /**
   * The other interfaces of `--iface A,B,...`, served by the same Workers (one socket each per
   * queue, on the Worker's one UMEM; `b.forward` moves frames between them). Default none.
   */
  moreIfaces?: string[];
  /**
   * Multi-buffer (jumbo) sockets, `XDP_USE_SG` (`--multi-buffer`): `auto` (default) when a
   * served interface's MTU plus 18 bytes does not fit one UMEM frame less 256 bytes of headroom;
   * `on`; `off` (the kernel then drops longer frames, counted in `rx_dropped`).
   */
  multiBuffer?: MultiBufferMode;
  /**
   * The per-frame clock (default true): our XDP program stamps each redirected frame and every
   * queue keeps XDP-to-handler and XDP-to-TX histograms (snapshot `latency`). false: neither
   * the program nor the loop carries any of it (`--no-timestamps`).
   */
  timestamps?: boolean;
}

/**
 * Counters of one queue: every counter of `counters.ts` under its snake_case key (`rx_packets`,
 * `tx_kick_errors`, `free_frames`, ...; see {@link QUEUE_COUNTERS} for each one's meaning), plus
 * the queue number and the kernel's AF_XDP statistics of its socket.
 */
export type QueueSnapshot =
  & { queue: number }
  & Record<QueueCounterKey, number>
  & { xdp_statistics: XdpStatistics; handler_counters: Record<string, number> };

/** What the engine reports about the handler while it runs. */
export type EngineEvent =
  | { type: "handler-error"; queue: number; message: string; suppressed: number }
  | { type: "reloaded"; queue: number; generation: number }
  | { type: "reload-failed"; queue?: number; message: string }
  | { type: "capture-stopped"; message: string };

/**
 * Generic (skb-mode) XDP runs again for every frame the reinjection device delivers to the served
 * interface and would steer it back to us, for ever: a `toKernel` handler needs native XDP.
 */
function skbReinjectionError(what: string): BypassError {
  return new BypassError(
    `${what}: a handler that hands frames back to the kernel (b.toKernel, --mode inspect) ` +
      `needs native XDP (generic XDP would steer every reinjected frame to us again): ` +
      `use --xdp-mode native on an interface whose driver supports it`,
  );
}

/** One line for an {@link EngineEvent} (what the default `onEvent` prints). */
export function describeEvent(e: EngineEvent): string {
  switch (e.type) {
    case "handler-error":
      return `handler threw on queue ${e.queue}` +
        (e.suppressed ? ` (and ${e.suppressed} more times since the last report)` : "") +
        `: ${e.message}`;
    case "reloaded":
      return `handler reloaded on queue ${e.queue} (generation ${e.generation})`;
    case "reload-failed":
      return `handler reload failed${
        e.queue === undefined ? "" : ` on queue ${e.queue}`
      }, the old one goes on: ${e.message}`;
    case "capture-stopped":
      return e.message;
  }
}

/** One reading of everything, as printed by the table and `--json`. */
export interface EngineSnapshot {
  /** Interface served. */
  iface: string;
  /** The built-in mode, or "handler" for a handler file of yours. */
  mode: string;
  /** Path of the handler module (the built-in mode's file for a mode). */
  handler: string;
  /** XDP attach mode in use: native or skb. */
  xdp_mode: string;
  /** AF_XDP bind mode in use: zerocopy or copy. */
  bind_mode: string;
  /** Busy polling on the sockets (`--busy-poll`): SO_BUSY_POLL and its budget; null when off. */
  busy_poll: { usec: number; budget: number } | null;
  /**
   * Multi-buffer sockets (`XDP_USE_SG`, jumbo frames as chains of buffers): on or not, the
   * largest MTU served and the bytes one buffer holds.
   */
  multi_buffer?: { on: boolean; mtu: number; buffer_bytes: number };
  /** Seconds since start. */
  elapsed: number;
  /** Per queue. */
  queues: QueueSnapshot[];
  /** Sums over the queues. */
  total: Omit<QueueSnapshot, "queue" | "handler_counters">;
  /** Our XDP program's counters; `null` (not available) when the program is yours (--xdp-prog). */
  program: ProgramCounters | null;
  /**
   * The blocklist: prefixes in it, its capacity, frames it dropped since start; `null` (not
   * available) when the program is yours (--xdp-prog).
   */
  blocklist: { prefixes: number; capacity: number; dropped: number } | null;
  /** The user's XDP program (--xdp-prog): file, section, name, kernel id. Absent otherwise. */
  user_program?: UserProgramInfo;
  /**
   * The handler's named counters summed over the queues (for `respond`: its drop reasons). A
   * name a reload removed keeps its last value.
   */
  handler_counters: Record<string, number>;
  /** The capture file (`--pcap`): frames and bytes written so far. */
  capture?: CaptureStatus;
  /** The kernel reinjection device (a TAP, see `engine/to_kernel.ts`) of a `toKernel` handler. */
  to_kernel_device?: string;
  /** Per interface (`--iface A,B,...` order) its port counters summed over the queues. */
  interfaces?: InterfaceSnapshot[];
  /** The per-frame clock's histograms (ns), or why there are none. */
  latency: LatencySnapshot;
}

/** The final report: last snapshot plus audits. */
export interface EngineReport extends EngineSnapshot {
  /** Frame audit of each queue after the loops stopped. */
  audits: (FrameAudit & { queue: number })[];
  /** True when every queue's audit balanced. */
  balanced: boolean;
  /** Errors workers reported (empty on a clean run), e.g. a strict handler's throw. */
  errors: string[];
  /** Why each queue's loop ended (stop, count, error), in queue order. */
  exits: LoopExit[];
}

interface QueueState {
  queue: number;
  worker: Worker;
  control: Int32Array<SharedArrayBuffer>;
  stats: Float64Array<SharedArrayBuffer>;
  fd: number;
  /** Sockets of the other interfaces (`moreIfaces`). */
  moreFds: number[];
  bindMode: string;
  tid: number;
  final?: Extract<WorkerMessage, { type: "done" }>;
  error?: string;
  finished: Promise<void>;
  /** The handler's counters now. */
  counters: HandlerCounterBlock;
  /** Last values of counters a reload removed. */
  retired: Record<string, number>;
  /** Settles the pending reload's wait for this queue. */
  reloadDone?: () => void;
  /** Per-interface counter blocks (`--iface A,B,...`): one per interface. */
  portStats: Float64Array<SharedArrayBuffer>[];
  /** The queue's latency histograms, when the run has the per-frame clock. */
  latency?: Float64Array<SharedArrayBuffer>;
}

/**
 * A running byPassRT instance.
 *
 * @example
 * ```ts ignore
 * import { Engine } from "./runtime.ts";
 * import { builtinHandler } from "./modes.ts";
 * const engine = await Engine.start({
 *   port: { iface: "veth-bypass" },
 *   loop: { burst: 64, idlePollMs: 0, count: 0 },
 *   handler: builtinHandler("rxdrop"),
 *   steering: { all: true, udpPorts: [], respondIp: 0 },
 * });
 * setTimeout(async () => console.log(await engine.stop()), 1000);
 * ```
 */
export class Engine {
  /** Options in force. */
  readonly options: EngineOptions;
  /** The attached program: ours, or the user's (`xdpProg`). */
  readonly program: XdpProgram | UserXdpProgram;
  /** Whether the sockets are multi-buffer (jumbo frames), decided once at start. */
  multiBuffer: MultiBuffer = { on: false, mtu: -1, capacity: 0 };
  /** Resolves once every worker has finished (count reached, error, or stop). */
  readonly finished: Promise<void>;
  readonly #queues: QueueState[];
  readonly #started = performance.now();
  readonly #libc = openLibc();
  readonly #handlerUrl: string;
  readonly #onEvent: (event: EngineEvent) => void;
  /** The capture (`--pcap`), if any. */
  #capture?: CaptureSession;
  /** The reinjection device, for a handler that declares `toKernel`. */
  #reinjection?: Reinjection;
  #generation = 0;
  /** Reloads asked for: each imports the file under a URL of its own (a failed one too). */
  #attempts = 0;
  #report?: EngineReport;
  /** Our program on each of `options.moreIfaces`. */
  #more: XdpProgram[] = [];

  private constructor(
    options: EngineOptions,
    program: XdpProgram | UserXdpProgram,
    queues: QueueState[],
    handlerUrl: string,
    onEvent: (event: EngineEvent) => void,
    capture?: CaptureSession,
    reinjection?: Reinjection,
  ) {
    this.options = options;
    this.#capture = capture;
    this.#reinjection = reinjection;
    this.#handlerUrl = handlerUrl;
    this.#onEvent = onEvent;
    this.program = program;
    this.#queues = queues;
    this.finished = Promise.all(queues.map((q) => q.finished)).then(() => {});
  }

  /** Attach the program and start the workers; resolves once every socket is bound. */
  static async start(options: EngineOptions): Promise<Engine> {
    const queues = options.queues ?? [0];
    if (queues.length === 0 || new Set(queues).size !== queues.length) {
      throw new BypassError("--queue needs distinct queue numbers, e.g. 0 or 0,1");
    }
    for (const q of queues) resolvePortOptions({ ...options.port, queue: q });
    const cpus = options.cpus ?? [];
    if (cpus.length > 0) validateCpus(cpus, queues);
    checkBlockMax(options.blockMax ?? DEFAULT_BLOCK_MAX);
    if (options.xdpProg) refuseWithUserProgram(options);
    // concat, not push(...): a block file of a million lines is more arguments than a call takes.
    const block: Cidr[] = (options.block ?? []).map(parseCidr).concat(
      options.blockFile !== undefined ? readBlockFile(options.blockFile) : [],
    );
    // Before anything is attached; the Workers' openPort then trusts this thread's check.
    checkXskLayout();
    // The handler too: a file that does not type-check, load or keep the contract is refused
    // here, with one line, before the program is attached (each Worker imports it again).
    const handlerUrl = new URL(options.handler.module, `file://${Deno.cwd()}/`).href;
    const handlerOptions = options.handler.options ?? {};
    let toKernel = false;
    try {
      toKernel = (await importHandler(handlerUrl, handlerOptions)).handler.toKernel === true;
      // The built-in modes are checked with the code base (`deno task check`).
      if (options.typeCheck !== false && !builtinMode(handlerUrl)) {
        await typeCheckHandler(handlerUrl);
      }
    } catch (e) {
      throw e instanceof HandlerError ? new BypassError(e.message) : e;
    }
    if (toKernel && options.xdpMode === "skb") throw skbReinjectionError("--xdp-mode skb");
    const moreIfaces = options.moreIfaces ?? [];
    checkIfaces([options.port.iface, ...moreIfaces], {
      fwd: builtinMode(handlerUrl) === "fwd",
      userProgram: options.xdpProg !== undefined,
      toKernel,
    });
    const mac = interfaceMac(options.port.iface);
    const multiBuffer = resolveMultiBuffer(
      options.multiBuffer,
      [options.port.iface, ...moreIfaces],
      resolvePortOptions(options.port).frameSize,
    );
    const onEvent = options.onEvent ?? ((e: EngineEvent) => console.error(describeEvent(e)));
    // The capture file is created before anything is attached: a bad path attaches nothing.
    const capture = options.capture
      ? CaptureSession.open(
        options.capture,
        options.port.iface,
        queues,
        (message) => onEvent({ type: "capture-stopped", message }),
      )
      : undefined;
    let program: XdpProgram | UserXdpProgram;
    let reinjection: Reinjection | undefined;
    // How our program is loaded, on the first interface and on every other one.
    const ours = {
      mode: options.xdpMode,
      steering: options.steering,
      force: options.force,
      blockMax: options.blockMax,
      block,
      timestamps: options.timestamps !== false,
    };
    try {
      // Before the program: frames steered to a toKernel handler always have their way back.
      if (toKernel) reinjection = openReinjection(options.port.iface);
      program = options.xdpProg
        ? loadUserXdpProgram({
          iface: options.port.iface,
          path: options.xdpProg.path,
          section: options.xdpProg.section,
          queues,
          mode: options.xdpMode,
          force: options.force,
        })
        : loadXdpProgram({ ...ours, iface: options.port.iface });
      if (reinjection && program.mode !== "native") {
        const why = `native XDP failed on ${options.port.iface} (${program.nativeFallback})`;
        program.close();
        throw skbReinjectionError(why);
      }
    } catch (e) {
      reinjection?.close();
      capture?.close();
      throw e;
    }
    let more: XdpProgram[];
    try {
      more = loadMorePrograms(moreIfaces, ours);
    } catch (e) {
      program.close();
      capture?.close();
      throw e;
    }
    const states: QueueState[] = [];
    const ready: Promise<void>[] = [];
    const clocked = options.timestamps !== false && !options.xdpProg;
    for (const queue of queues) {
      const control = newControlBlock();
      const stats = newStatsBlock();
      const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
      let resolveReady!: () => void, rejectReady!: (e: Error) => void;
      let resolveDone!: () => void;
      ready.push(new Promise((res, rej) => (resolveReady = res, rejectReady = rej)));
      const state: QueueState = {
        queue,
        worker,
        control,
        stats,
        fd: -1,
        moreFds: [],
        bindMode: "",
        tid: 0,
        finished: new Promise((res) => resolveDone = res),
        counters: { names: [], block: new Float64Array(new SharedArrayBuffer(8)) },
        retired: {},
        portStats: moreIfaces.length > 0
          ? [options.port.iface, ...moreIfaces].map(() => newStatsBlock())
          : [],
        latency: clocked ? newLatencyBlock() : undefined,
      };
      worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
        const m = e.data;
        if (m.type === "ready") {
          state.fd = m.fd;
          state.moreFds = m.moreFds;
          state.bindMode = m.bindMode;
          state.tid = m.tid;
          state.counters = m.counters;
          resolveReady();
        } else if (m.type === "reloaded") {
          const old = state.counters;
          old.names.forEach((n, i) => {
            if (!m.counters.names.includes(n)) state.retired[n] = old.block[i];
          });
          for (const n of m.counters.names) delete state.retired[n];
          state.counters = m.counters;
          onEvent({ type: "reloaded", queue: m.queue, generation: m.generation });
          state.reloadDone?.();
        } else if (m.type === "reload-failed") {
          onEvent({ type: "reload-failed", queue: m.queue, message: m.message });
          state.reloadDone?.();
        } else if (m.type === "handler-error") {
          onEvent({ type: "handler-error", queue, message: m.message, suppressed: m.suppressed });
        } else if (m.type === "done") {
          state.final = m;
          resolveDone();
        } else {
          state.error = m.message;
          rejectReady(new BypassError(m.message, m.errno));
          resolveDone();
        }
      };
      worker.onerror = (e) => {
        e.preventDefault();
        state.error = e.message;
        rejectReady(new Error(e.message));
        resolveDone();
      };
      const start: WorkerStart = {
        port: { ...options.port, queue, multiBuffer: multiBuffer.on },
        loop: options.loop,
        handler: { url: handlerUrl, options: handlerOptions },
        mac,
        xsksMapFd: program.xsksMapFd,
        control,
        stats,
        cpu: cpus[states.length] ?? -1,
        capture: capture?.producer(states.length),
        toKernel: reinjection ? { fd: reinjection.fd } : undefined,
        morePorts: moreIfaces.map((iface, k) => ({ iface, xsksMapFd: more[k].xsksMapFd })),
        portStats: state.portStats,
        latency: state.latency,
        helper: helperPath(),
      };
      worker.postMessage(start);
      states.push(state);
    }
    const engine = new Engine(
      options,
      program,
      states,
      handlerUrl,
      onEvent,
      capture,
      reinjection,
    );
    engine.#more = more;
    engine.multiBuffer = multiBuffer;
    capture?.start();
    try {
      await Promise.all(ready);
    } catch (err) {
      await engine.stop();
      throw err;
    }
    if (cpus.length > 0) moveOthersOff(engine.#libc, states.map((s) => s.tid), cpus);
    return engine;
  }

  /**
   * State of the served interface: "gone" once it no longer exists under the same index (deleted,
   * or moved away), "down" while administratively or operationally down, else "up".
   */
  linkState(): "up" | "down" | "gone" {
    const iface = this.options.port.iface;
    if (ifIndex(iface) !== this.program.ifindex) return "gone";
    try {
      const flags = parseInt(Deno.readTextFileSync(`/sys/class/net/${iface}/flags`), 16);
      const oper = Deno.readTextFileSync(`/sys/class/net/${iface}/operstate`).trim();
      return (flags & 1) === 0 || oper === "down" || oper === "lowerlayerdown" ? "down" : "up";
    } catch {
      return "up"; // sysfs of another namespace: only the index check applies
    }
  }

  /** A reading of every counter now (cheap; never touches the fast path). */
  snapshot(): EngineSnapshot {
    const queues = this.#queues.map((q) => this.#queueSnapshot(q));
    const handlerCounters: Record<string, number> = {};
    for (const q of queues) {
      for (const [n, v] of Object.entries(q.handler_counters)) {
        handlerCounters[n] = (handlerCounters[n] ?? 0) + v;
      }
    }
    const total = {} as EngineSnapshot["total"];
    for (const d of QUEUE_COUNTERS) total[d.key] = queues.reduce((a, q) => a + q[d.key], 0);
    total.xdp_statistics = sumXdpStatistics(queues.map((q) => q.xdp_statistics));
    const ours = this.program instanceof UserXdpProgram ? undefined : this.program;
    // Several interfaces: our program on each; `program` sums them, `interfaces` has each.
    const perProgram = ours ? [ours, ...this.#more].map((p) => p.counters()) : [];
    const program = ours ? sumProgramCounters(perProgram) : null;
    return {
      iface: this.options.port.iface,
      mode: builtinMode(this.#handlerUrl) ?? "handler",
      handler: decodeURIComponent(new URL(this.#handlerUrl).pathname),
      xdp_mode: this.program.mode,
      bind_mode: this.#queues.map((q) => q.bindMode).find((m) => m) ?? "",
      busy_poll: busyPollOf(this.options.port),
      multi_buffer: {
        on: this.multiBuffer.on,
        mtu: this.multiBuffer.mtu,
        buffer_bytes: this.multiBuffer.capacity,
      },
      elapsed: (performance.now() - this.#started) / 1000,
      queues,
      total,
      program,
      blocklist: ours && program
        ? {
          prefixes: ours.blocklist.size,
          capacity: ours.blocklist.capacity,
          dropped: program.blocked,
        }
        : null,
      ...(this.program instanceof UserXdpProgram ? { user_program: this.program.info } : {}),
      handler_counters: handlerCounters,
      ...(this.#capture ? { capture: this.#capture.status() } : {}),
      ...(this.#reinjection ? { to_kernel_device: this.#reinjection.name } : {}),
      ...(this.#more.length > 0
        ? {
          interfaces: interfaceSnapshots(
            [this.options.port.iface, ...(this.options.moreIfaces ?? [])],
            this.#queues.map((q) => q.portStats),
            perProgram,
          ),
        }
        : {}),
      latency: this.#latency(),
    };
  }

  /** The per-frame clock's histograms, or why there are none. */
  #latency(): LatencySnapshot {
    if (this.options.xdpProg) return { enabled: false, reason: USER_PROGRAM_NO_TIMESTAMPS };
    if (this.options.timestamps === false) return { enabled: false, reason: NO_TIMESTAMPS };
    return latencySnapshot(
      this.#queues.map((q) => q.queue),
      this.#queues.map((q) => q.latency!),
    );
  }

  /**
   * Reload the handler file in every Worker (what SIGHUP does): check and import it here first
   * (type-check, load, contract); if that fails, nothing changes and the result says why.
   * Otherwise each Worker switches between two bursts, counters carried over by name. Resolves
   * once every Worker answered (or after 10 s).
   */
  async reload(): Promise<{ ok: boolean; message: string }> {
    if (this.#report) return { ok: false, message: "the engine has stopped" };
    const generation = this.#generation + 1;
    try {
      const fresh = ++this.#attempts;
      const next = await importHandler(this.#handlerUrl, this.options.handler.options ?? {}, fresh);
      if (next.handler.toKernel === true && !this.#reinjection) {
        throw new HandlerError(
          `handler ${
            decodeURIComponent(new URL(this.#handlerUrl).pathname)
          }: now declares toKernel, but this run has no reinjection device: restart it`,
        );
      }
      if (this.options.typeCheck !== false && !builtinMode(this.#handlerUrl)) {
        await typeCheckHandler(this.#handlerUrl);
      }
    } catch (e) {
      const message = e instanceof HandlerError ? e.message : String((e as Error)?.message ?? e);
      this.#onEvent({ type: "reload-failed", message });
      return { ok: false, message };
    }
    this.#generation = generation;
    const answered = this.#queues.filter((q) => !q.final && !q.error).map((q) =>
      new Promise<void>((res) => {
        q.reloadDone = res;
        Atomics.store(q.control, Control.reload, generation);
      })
    );
    await Promise.race([Promise.all(answered), new Promise((r) => setTimeout(r, 10_000))]);
    return { ok: true, message: `handler reloaded (generation ${generation})` };
  }

  /**
   * Block a source prefix (IPv4 or IPv6 CIDR; a bare address is a /32 or /128) at the XDP hook,
   * live. Returns its canonical form; a prefix already in the list is no error.
   *
   * @throws {BypassError} on a bad CIDR, a full list, or a stopped engine.
   */
  blockAdd(cidr: string): string {
    const c = parseCidr(cidr);
    this.#live().blocklist.addMany([c]);
    return c.prefix;
  }

  /**
   * Block many prefixes at once (batched into the kernel); every one is validated first, so a
   * bad one adds none. Returns how many were new.
   *
   * @throws {BypassError} on a bad CIDR (naming it), a full list, or a stopped engine.
   */
  blockAddMany(cidrs: string[]): number {
    const parsed = cidrs.map(parseCidr);
    return this.#live().blocklist.addMany(parsed);
  }

  /**
   * Unblock a prefix; false when it was not in the list.
   *
   * @throws {BypassError} on a bad CIDR or a stopped engine.
   */
  blockDel(cidr: string): boolean {
    const c = parseCidr(cidr);
    return this.#live().blocklist.delete(c);
  }

  /** Every blocked prefix with the frames it dropped (per-CPU counters summed), sorted. */
  blockList(): BlockEntry[] {
    return this.#live().blocklist.list();
  }

  /**
   * Steer UDP destination ports to user space too, live (the program's port map is updated in
   * place: no restart, no frame lost).
   *
   * @throws {BypassError} on a port outside 1-65535, with `--steer all`, or a stopped engine.
   */
  steerAdd(ports: number[]): void {
    this.#live(USER_PROGRAM_NO_STEERING).steerAdd(ports);
  }

  /**
   * Stop steering UDP destination ports; their frames go to the kernel again.
   *
   * @throws {BypassError} naming a port that is not steered (nothing changes then).
   */
  steerDel(ports: number[]): void {
    this.#live(USER_PROGRAM_NO_STEERING).steerDel(ports);
  }

  /**
   * What is steered now: `all`, UDP ports (sorted), the respond addresses ("" if none), whether
   * tagged frames are steered by their inner header.
   *
   * @throws {BypassError} when the program is the user's (`xdpProg`): it decides alone.
   */
  steerList(): {
    all: boolean;
    udpPorts: number[];
    respondIp: string;
    respondIp6: string;
    vlan: boolean;
  } {
    if (this.program instanceof UserXdpProgram) {
      throw new BypassError(USER_PROGRAM_NO_STEERING);
    }
    return this.program.steering();
  }

  /** Our program, live; throws when it is stopped or the program is the user's. */
  #live(what = USER_PROGRAM_NO_BLOCKLIST): XdpProgram {
    if (this.#report) throw new BypassError("the engine has stopped: start it again first");
    if (this.program instanceof UserXdpProgram) throw new BypassError(what);
    return this.program;
  }

  /** Stop the loops, collect audits, detach the program. Idempotent. */
  async stop(): Promise<EngineReport> {
    if (this.#report) return this.#report;
    for (const q of this.#queues) Atomics.store(q.control, Control.stop, 1);
    const timeout = new Promise<void>((res) => setTimeout(res, 5000));
    await Promise.race([this.finished, timeout]);
    // A worker that finished removed its own socket from the map before its audit; this covers
    // one that failed or did not stop. Then the program comes off the interface.
    for (const q of this.#queues) this.program.removeSocket(q.queue);
    for (const p of this.#more) for (const q of this.#queues) p.removeSocket(q.queue);
    // Every frame the Workers copied (drained-at-stop ones too) goes to the file before it closes.
    this.#capture?.close();
    const snap = this.snapshot();
    for (const q of this.#queues) q.worker.terminate();
    this.program.close();
    for (const p of this.#more) p.close();
    // The Workers are gone: the TAP (and its tc program) vanishes with its fd.
    this.#reinjection?.close();
    this.#libc.close();
    const audits = this.#queues.flatMap((q) =>
      q.final ? [{ queue: q.queue, ...q.final.audit }] : []
    );
    const errors = this.#queues.flatMap((q) =>
      q.error
        ? [q.error]
        : !q.final
        ? [`queue ${q.queue}: worker did not stop`]
        : q.final.exit === "error"
        ? [`queue ${q.queue}: the handler threw (strict): stopped`]
        : []
    );
    this.#report = {
      ...snap,
      audits,
      // Every queue audited (a worker that failed has no audit) and every audit balanced.
      balanced: audits.length === this.#queues.length && audits.every((a) => a.balanced),
      errors,
      exits: this.#queues.map((q) => q.final?.exit ?? "error"),
    };
    return this.#report;
  }

  #queueSnapshot(q: QueueState): QueueSnapshot {
    // Kernel statistics: live from the socket while the loop runs, from the worker's last
    // message once it has finished (the socket is closed then).
    const xs = q.final?.xdpStatistics ??
      (q.fd >= 0 && Atomics.load(q.control, Control.state) === 1
        ? (q.moreFds.length === 0
          ? readXdpStatistics(this.#libc, q.fd)
          : sumXdpStatistics([q.fd, ...q.moreFds].map((fd) => readXdpStatistics(this.#libc, fd))))
        : ZERO_XDP_STATISTICS);
    const out = { queue: q.queue } as QueueSnapshot;
    for (const d of QUEUE_COUNTERS) out[d.key] = q.stats[Slot[d.name]];
    out.xdp_statistics = xs;
    const hc: Record<string, number> = { ...q.retired };
    q.counters.names.forEach((n, i) => hc[n] = q.counters.block[i]);
    out.handler_counters = hc;
    return out;
  }
}

/** The snapshot's `busy_poll` for these port options. */
function busyPollOf(p: PortOptions): EngineSnapshot["busy_poll"] {
  const r = resolvePortOptions(p);
  return r.busyPollUs > 0 ? { usec: r.busyPollUs, budget: r.busyPollBudget } : null;
}
