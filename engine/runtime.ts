/**
 * The runtime: attach the steering program, start one Worker (polling loop) per queue, expose
 * snapshots of every counter for printers, stop everything cleanly.
 *
 * @module
 */
import { DROP_REASON_NAMES } from "../packet/mod.ts";
import type { FrameAudit } from "../mempool/mod.ts";
import { BypassError } from "./errors.ts";
import { ifIndex } from "./_sys.ts";
import { moveOthersOff, validateCpus } from "./affinity.ts";
import type { LoopOptions } from "./loop.ts";
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
import type { WorkerMessage, WorkerStart } from "./worker.ts";
import {
  loadXdpProgram,
  type ProgramCounters,
  type Steering,
  type XdpMode,
  type XdpProgram,
} from "./xdp_program.ts";

/** Everything {@link Engine.start} needs. */
export interface EngineOptions {
  /** Port sizes and bind mode; `queue` is ignored in favour of `queues`. */
  port: PortOptions;
  /** RX queues to serve, one Worker each (default [0]). */
  queues?: number[];
  /** Loop options shared by all queues. */
  loop: LoopOptions;
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
}

/**
 * Counters of one queue: every counter of `counters.ts` under its snake_case key (`rx_packets`,
 * `tx_kick_errors`, `free_frames`, ...; see {@link QUEUE_COUNTERS} for each one's meaning), plus
 * the queue number and the kernel's AF_XDP statistics of its socket.
 */
export type QueueSnapshot =
  & { queue: number }
  & Record<QueueCounterKey, number>
  & { xdp_statistics: XdpStatistics };

/** One reading of everything, as printed by the table and `--json`. */
export interface EngineSnapshot {
  /** Interface served. */
  iface: string;
  /** Packet mode. */
  mode: string;
  /** XDP attach mode in use: native or skb. */
  xdp_mode: string;
  /** AF_XDP bind mode in use: zerocopy or copy. */
  bind_mode: string;
  /** Seconds since start. */
  elapsed: number;
  /** Per queue. */
  queues: QueueSnapshot[];
  /** Sums over the queues. */
  total: Omit<QueueSnapshot, "queue">;
  /** XDP program counters. */
  program: ProgramCounters;
  /** Frames the mode dropped, by reason name. */
  drop_reasons: Record<string, number>;
}

/** The final report: last snapshot plus audits. */
export interface EngineReport extends EngineSnapshot {
  /** Frame audit of each queue after the loops stopped. */
  audits: (FrameAudit & { queue: number })[];
  /** True when every queue's audit balanced. */
  balanced: boolean;
  /** Errors workers reported (empty on a clean run). */
  errors: string[];
}

interface QueueState {
  queue: number;
  worker: Worker;
  control: Int32Array<SharedArrayBuffer>;
  stats: Float64Array<SharedArrayBuffer>;
  fd: number;
  bindMode: string;
  tid: number;
  final?: Extract<WorkerMessage, { type: "done" }>;
  error?: string;
  finished: Promise<void>;
}

/**
 * A running byPassRT instance.
 *
 * @example
 * ```ts ignore
 * import { Engine } from "./runtime.ts";
 * const engine = await Engine.start({
 *   port: { iface: "veth-bypass" },
 *   loop: { mode: "rxdrop", burst: 64, idlePollMs: 0, count: 0, ip: 0, mac: new Uint8Array(6) },
 *   steering: { all: true, udpPorts: [], respondIp: 0 },
 * });
 * setTimeout(async () => console.log(await engine.stop()), 1000);
 * ```
 */
export class Engine {
  /** Options in force. */
  readonly options: EngineOptions;
  /** The attached program. */
  readonly program: XdpProgram;
  /** Resolves once every worker has finished (count reached, error, or stop). */
  readonly finished: Promise<void>;
  readonly #queues: QueueState[];
  readonly #started = performance.now();
  readonly #libc = openLibc();
  #report?: EngineReport;

  private constructor(options: EngineOptions, program: XdpProgram, queues: QueueState[]) {
    this.options = options;
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
    // Before anything is attached; the Workers' openPort then trusts this thread's check.
    checkXskLayout();
    const program = loadXdpProgram({
      iface: options.port.iface,
      mode: options.xdpMode,
      steering: options.steering,
      force: options.force,
    });
    const states: QueueState[] = [];
    const ready: Promise<void>[] = [];
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
        bindMode: "",
        tid: 0,
        finished: new Promise((res) => resolveDone = res),
      };
      worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
        const m = e.data;
        if (m.type === "ready") {
          state.fd = m.fd;
          state.bindMode = m.bindMode;
          state.tid = m.tid;
          resolveReady();
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
        port: { ...options.port, queue },
        loop: options.loop,
        xsksMapFd: program.xsksMapFd,
        control,
        stats,
        cpu: cpus[states.length] ?? -1,
      };
      worker.postMessage(start);
      states.push(state);
    }
    const engine = new Engine(options, program, states);
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
    const drop: Record<string, number> = {};
    for (const q of this.#queues) {
      DROP_REASON_NAMES.forEach((name, code) => {
        const v = q.stats[Slot.dropReasonBase + code];
        if (name && v) drop[name] = (drop[name] ?? 0) + v;
      });
    }
    const total = {} as EngineSnapshot["total"];
    for (const d of QUEUE_COUNTERS) total[d.key] = queues.reduce((a, q) => a + q[d.key], 0);
    total.xdp_statistics = sumXdpStatistics(queues.map((q) => q.xdp_statistics));
    return {
      iface: this.options.port.iface,
      mode: this.options.loop.mode,
      xdp_mode: this.program.mode,
      bind_mode: this.#queues.map((q) => q.bindMode).find((m) => m) ?? "",
      elapsed: (performance.now() - this.#started) / 1000,
      queues,
      total,
      program: this.program.counters(),
      drop_reasons: drop,
    };
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
    const snap = this.snapshot();
    for (const q of this.#queues) q.worker.terminate();
    this.program.close();
    this.#libc.close();
    const audits = this.#queues.flatMap((q) =>
      q.final ? [{ queue: q.queue, ...q.final.audit }] : []
    );
    const errors = this.#queues.flatMap((q) =>
      q.error ? [q.error] : q.final ? [] : [`queue ${q.queue}: worker did not stop`]
    );
    this.#report = {
      ...snap,
      audits,
      balanced: errors.length === 0 && audits.length === this.#queues.length &&
        audits.every((a) => a.balanced),
      errors,
    };
    return this.#report;
  }

  #queueSnapshot(q: QueueState): QueueSnapshot {
    // Kernel statistics: live from the socket while the loop runs, from the worker's last
    // message once it has finished (the socket is closed then).
    const xs = q.final?.xdpStatistics ??
      (q.fd >= 0 && Atomics.load(q.control, Control.state) === 1
        ? readXdpStatistics(this.#libc, q.fd)
        : ZERO_XDP_STATISTICS);
    const out = { queue: q.queue } as QueueSnapshot;
    for (const d of QUEUE_COUNTERS) out[d.key] = q.stats[Slot[d.name]];
    out.xdp_statistics = xs;
    return out;
  }
}
