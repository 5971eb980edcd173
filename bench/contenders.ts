/**
 * The contenders and the throughput measurement: each runs in the device namespace on the same
 * veth, fed by the same generator; the application side is pinned to CPU 1 (the generator, and
 * with it the veth receive softirq, runs on CPU 0).
 *
 * A run: start the contender, wait until it is up, tell the generator to go, skip `warmupS`,
 * then measure over `durationS` between two of the contender's periodic reports. At each report
 * the process's CPU time (/proc/<pid>/stat, all threads) and the machine's softirq time
 * (/proc/stat) are read, so that packets and CPU time cover exactly the same interval.
 *
 * @module
 */
import { BYPASSRT_V8_FLAGS } from "../engine/v8_flags.ts";
import { inNs, type Topology } from "./topology.ts";
import {
  cpuStatNs,
  foreignCpuNs,
  foreignDelta,
  type Line,
  Proc,
  processCpuNs,
  run,
  sleep,
} from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** Where the built artefacts are. */
export const BUILD = `${ROOT}build/`;
/** CPU the contenders' application side runs on. */
export const APP_CPU = "1";
/** CPU the generator (and so the veth receive path) runs on. */
export const GEN_CPU = "0";

/** A throughput mode. */
export type ThroughputMode = "rxdrop" | "l2fwd";

/** One periodic report of a contender, with CPU readings taken when it arrived. */
export interface Sample {
  /** Arrival time (performance.now(), ms). */
  at: number;
  /** Seconds on the contender's own clock (arrival clock for testpmd). */
  elapsed: number;
  rx: number;
  tx: number;
  /** Process CPU time, ns. */
  cpu: number;
  /** Machine softirq time, ns. */
  softirq: number;
  /** Machine steal time (vCPUs not running), ns. */
  steal: number;
  /** CPU time of processes not ours by pid, ns (noise indicator). */
  foreign: Map<number, number>;
  free?: number;
}

/** A started contender. */
export interface Running {
  proc: Proc;
  samples: Sample[];
  /** Stop it; resolves with the final report (parsed) if it printed one. */
  stop(): Promise<Record<string, unknown> | undefined>;
}

/** A contender definition. */
export interface Contender {
  /** Short name used in the JSON and the table. */
  name: string;
  /** Modes it runs ("respond" and "udp-rtt" are for latency). */
  modes: readonly string[];
  /** Why it cannot run here, or undefined. */
  unavailable(): Promise<string | undefined>;
  /** Start it in `mode` (rxdrop | l2fwd | respond) on the topology's device veth. */
  start(mode: string, topo: Topology, opts: { intervalS: number; ip?: string }): Promise<Running>;
}

function sampleFrom(proc: Proc, at: number, elapsed: number, rx: number, tx: number): Sample {
  return {
    at,
    elapsed,
    rx,
    tx,
    cpu: processCpuNs(proc.pid),
    ...cpuStatNs(),
    foreign: foreignCpuNs(),
  };
}

/** Contenders printing NDJSON with elapsed/rx/tx (byPassRT, the C reference, the XDP ceiling). */
function ndjsonRunning(
  proc: Proc,
  pick: (o: Record<string, unknown>) => { elapsed: number; rx: number; tx: number; free?: number },
  stopSignal: Deno.Signal = "SIGINT",
): Running {
  const samples: Sample[] = [];
  let final: Record<string, unknown> | undefined;
  proc.onLine = (l: Line) => {
    if (!l.text.startsWith("{")) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(l.text);
    } catch {
      return;
    }
    const v = pick(o);
    if (o.final === true) final = o;
    else samples.push({ ...sampleFrom(proc, l.at, v.elapsed, v.rx, v.tx), free: v.free });
  };
  return {
    proc,
    samples,
    async stop() {
      await proc.stop(stopSignal);
      return final;
    },
  };
}

async function readyOrThrow(proc: Proc, pred: (l: Line) => boolean, ms: number): Promise<void> {
  try {
    await proc.waitFor(pred, ms);
  } catch (e) {
    await proc.stop("SIGKILL", 1000);
    throw e;
  }
}

const isJson = (l: Line) => l.text.startsWith("{");

/** byPassRT, the product: `deno run -A cli/main.ts --json` in the device namespace. */
export const bypassrt: Contender = {
  name: "byPassRT",
  modes: ["rxdrop", "l2fwd", "respond"],
  unavailable: () => Promise.resolve(undefined),
  start: (mode, topo, opts) => startBypassrt("byPassRT", mode, topo, opts, []),
};

/**
 * byPassRT with `--pcap` to a fresh file (BPB_PCAP_DIR, default /tmp), removed when the run
 * stops: the capture's cost, side by side with {@link bypassrt} (`--only bypassrt,pcap`).
 */
export const bypassrtPcap: Contender = {
  name: "byPassRT --pcap",
  modes: ["rxdrop", "l2fwd"],
  unavailable: () => Promise.resolve(undefined),
  async start(mode, topo, opts) {
    const dir = Deno.env.get("BPB_PCAP_DIR") ?? "/tmp";
    const file = await Deno.makeTempFile({ dir, prefix: "bpb-", suffix: ".pcapng" });
    try {
      const r = await startBypassrt("byPassRT --pcap", mode, topo, opts, ["--pcap", file]);
      return {
        ...r,
        async stop() {
          try {
            return await r.stop();
          } finally {
            await Deno.remove(file).catch(() => {});
          }
        },
      };
    } catch (e) {
      await Deno.remove(file).catch(() => {});
      throw e;
    }
  },
};

/**
 * Run options added to every byPassRT start from BPB_BYPASSRT_ARGS (space separated, e.g.
 * `--busy-poll`): for A/B runs of an option (bench/latency_ab.ts).
 */
export function extraBypassrtArgs(): string[] {
  return (Deno.env.get("BPB_BYPASSRT_ARGS") ?? "").split(" ").filter((a) => a !== "");
}

/**
 * The `--v8-flags=` argument byPassRT runs with (as installed: {@link BYPASSRT_V8_FLAGS}), after
 * `extra` flags (e.g. `--trace-gc`); BPB_V8_FLAGS replaces byPassRT's own (empty: V8's
 * defaults) for A/B runs. No argument when there is no flag at all.
 */
export function v8Flags(...extra: string[]): string[] {
  const own = Deno.env.get("BPB_V8_FLAGS") ?? BYPASSRT_V8_FLAGS;
  const flags = own === "" ? extra : [...extra, own];
  return flags.length === 0 ? [] : [`--v8-flags=${flags.join(",")}`];
}

/**
 * For a benchmark script whose figures depend on V8's flags (which V8 reads only at process
 * start): unless environment variable `envName` is set, run the script at `moduleUrl` again in a
 * child Deno with byPassRT's flags ({@link v8Flags}) and the same arguments, and exit with its
 * status; in that child, return the flags it runs with (for its report).
 */
export async function rerunWithV8Flags(moduleUrl: string, envName: string): Promise<string> {
  const running = Deno.env.get(envName);
  if (running !== undefined) return running;
  const flags = v8Flags();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...flags, new URL(moduleUrl).pathname, ...Deno.args],
    env: { [envName]: flags[0] ?? "(V8's defaults)" },
  });
  Deno.exit((await child.spawn().status).code);
}

/**
 * byPassRT with `--no-timestamps` (no stamping code in the XDP program, no per-frame clock in
 * the loop): the clock's cost, side by side with {@link bypassrt} (`--only bypassrt,nots`).
 */
export const bypassrtNoTimestamps: Contender = {
  name: "byPassRT --no-timestamps",
  modes: ["rxdrop", "l2fwd"],
  unavailable: () => Promise.resolve(undefined),
  start: (mode, topo, opts) =>
    startBypassrt("byPassRT --no-timestamps", mode, topo, opts, ["--no-timestamps"]),
};

/** Start byPassRT as contender `name` in `mode` with `extra` run options. */
async function startBypassrt(
  name: string,
  mode: string,
  topo: Topology,
  opts: { intervalS: number; ip?: string },
  extra: string[],
): Promise<Running> {
  // --cpu pins the polling Worker to the application CPU and moves the process's other
  // threads (main, V8 helpers) off it, as the C reference runs alone there.
  const args = ["--iface", topo.dutIf, "--mode", mode, "--json", "--interval", "0.5"];
  args.push("--cpu", APP_CPU, ...extra, ...extraBypassrtArgs());
  if (mode === "respond") args.push("--ip", opts.ip ?? "10.0.0.1");
  // BPB_BYPASSRT_ROOT: run byPassRT from another checkout (A/B of two commits, one run).
  const root = Deno.env.get("BPB_BYPASSRT_ROOT") ?? ROOT;
  const proc = new Proc(
    name,
    inNs(topo.dut, Deno.execPath(), "run", "-A", ...v8Flags()).concat(
      `${root.endsWith("/") ? root : root + "/"}cli/main.ts`,
      ...args,
    ),
  );
  const r = ndjsonRunning(proc, (o) => {
    const t = o.total as Record<string, number>;
    return {
      elapsed: Number(o.elapsed),
      rx: t.rx_packets,
      tx: t.tx_packets,
      free: t.free_frames,
    };
  });
  await readyOrThrow(proc, isJson, 30000);
  return r;
}

/** The command-line arguments the references (xsk_ref.c, ts_ref.ts) share. */
function refArgs(mode: string, topo: Topology, opts: { intervalS: number; ip?: string }): string[] {
  const args = ["--iface", topo.dutIf, "--mode", mode, "--interval", String(opts.intervalS)];
  if (mode === "respond") args.push("--ip", opts.ip ?? "10.0.0.1");
  return args;
}

/** A started reference: its NDJSON lines (elapsed, rx/tx packets, free frames), once ready. */
async function refRunning(proc: Proc, readyMs: number): Promise<Running> {
  const r = ndjsonRunning(proc, (o) => ({
    elapsed: Number(o.elapsed),
    rx: Number(o.rx_packets),
    tx: Number(o.tx_packets),
    free: Number(o.free_frames),
  }));
  await readyOrThrow(proc, isJson, readyMs);
  return r;
}

/** The C reference on libxdp's xsk.h (bench/xsk_ref.c): a baseline only. */
export const cref: Contender = cRefContender("C xsk_ref", ["rxdrop", "l2fwd", "respond"]);

/**
 * The C reference once more under another name, for the latency rounds only: an A/A pair with
 * {@link cref}, measured in the same rounds, tells how far one program's figures differ from
 * themselves on this machine (the noise any verdict has to see through).
 */
export const crefAgain: Contender = cRefContender("C xsk_ref 2", ["respond", "udp-rtt"]);

/**
 * The C reference with the per-frame clock byPassRT has on by default (`xsk_ref --stamp`), in
 * rxdrop and in the latency rounds: our XDP program stamps every frame, and the loop reads
 * CLOCK_MONOTONIC once per RX burst (and, answering, once more just before the kick's `sendto`)
 * and records each frame's age from its stamp, as byPassRT's clock does. Its ratio to
 * {@link cref} is what the clock itself (the stamp in the kernel's receive path, its cache line
 * read on the other CPU, the clock reads) costs in C; byPassRT against it is byPassRT against C
 * when both time every frame.
 */
export const crefStamp: Contender = cRefContender(
  "C xsk_ref --stamp",
  ["rxdrop", "respond", "udp-rtt"],
  ["--stamp"],
);

/**
 * bench/xsk_ref.c as contender `name` (its process and its results carry that name), with
 * `extra` arguments.
 */
function cRefContender(name: string, modes: readonly string[], extra: string[] = []): Contender {
  return {
    name,
    modes,
    async unavailable() {
      try {
        await Deno.stat(`${BUILD}xsk_ref`);
        return undefined;
      } catch {
        return "build/xsk_ref missing (bench/run.sh builds it)";
      }
    },
    start(mode, topo, opts) {
      const argv = [
        `${BUILD}xsk_ref`,
        ...refArgs(mode, topo, opts),
        "--obj",
        `${BUILD}xdp_steer.o`,
        ...extra,
      ];
      const proc = new Proc(name, ["taskset", "-c", APP_CPU, ...inNs(topo.dut, ...argv)]);
      return refRunning(proc, 10000);
    },
  };
}

/**
 * The C reference's loop in TypeScript (bench/ts_ref.ts): a baseline only. Set up like byPassRT
 * with `--cpu 1 --no-timestamps` (same runtime, flags, Worker, pinning) but with none of its
 * engine, it tells what the runtime costs by itself (ts_ref against C) from what byPassRT's
 * engine adds (byPassRT against ts_ref).
 */
export const tsref: Contender = tsRefContender("TS ts_ref", []);

/**
 * {@link tsref} without keeping its kick warm while idle (`--no-keep-warm`): xsk_ref.c's loop
 * exactly.
 */
export const tsrefCold: Contender = tsRefContender("TS ts_ref cold", ["--no-keep-warm"]);

/**
 * {@link tsref} with byPassRT's per-frame clock (`--stamp`): our program stamps every frame and
 * the loop reads the clock where byPassRT's does, with byPassRT's own clock code. Its per-frame
 * figures against byPassRT's are byPassRT's loop against the bare loop, with the same clock.
 */
export const tsrefStamp: Contender = tsRefContender("TS ts_ref --stamp", ["--stamp"]);

function tsRefContender(name: string, extra: string[]): Contender {
  return {
    name,
    modes: ["rxdrop", "l2fwd", "respond"],
    unavailable: () => Promise.resolve(undefined),
    start(mode, topo, opts) {
      const proc = new Proc(
        name,
        inNs(topo.dut, Deno.execPath(), "run", "-A", ...v8Flags()).concat(
          `${ROOT}bench/ts_ref.ts`,
          ...refArgs(mode, topo, opts),
          "--cpu",
          APP_CPU,
          ...extra,
        ),
      );
      return refRunning(proc, 30000);
    },
  };
}

/** The "kernel alone" ceiling: XDP_DROP on the device veth (bench/xdp_drop.c). */
export const kernelDrop: Contender = {
  name: "kernel XDP_DROP",
  modes: ["rxdrop"],
  unavailable: () => Promise.resolve(undefined),
  async start(_mode, topo, opts) {
    const proc = new Proc(
      "xdp_drop",
      inNs(
        topo.dut,
        Deno.execPath(),
        "run",
        "-A",
        `${ROOT}bench/xdp_tool.ts`,
        "drop",
        "--iface",
        topo.dutIf,
        "--interval",
        String(opts.intervalS),
      ),
      { stdin: true },
    );
    const r = ndjsonRunning(proc, (o) => ({
      elapsed: Number(o.elapsed),
      rx: Number(o.rx_packets),
      tx: 0,
    }));
    await readyOrThrow(proc, isJson, 30000);
    return r;
  },
};

/** The exact testpmd command line (the notes' working AF_XDP setup). */
export function testpmdArgv(topo: Topology, fwd: string): string[] {
  const vdev = `net_af_xdp0,iface=${topo.dutIf},start_queue=0,queue_count=1,busy_budget=0`;
  const cmd = [
    "stdbuf -oL dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --no-huge -m 1024",
    `--vdev ${vdev} --`,
    `--forward-mode=${fwd} --auto-start --stats-period 1 --burst=64 --rxd=2048 --txd=2048`,
  ].join(" ");
  // `ip netns exec` gives a private mount namespace: DPDK's runtime files go to a private /run.
  return inNs(topo.dut, "sh", "-c", `mount -t tmpfs bpb-dpdk /run && exec ${cmd}`);
}

/** DPDK testpmd with the AF_XDP PMD (libxdp's own program, not ours). */
export const testpmd: Contender = {
  name: "DPDK testpmd",
  modes: ["rxdrop", "l2fwd"],
  async unavailable() {
    const which = await run(["sh", "-c", "command -v dpdk-testpmd stdbuf"], true);
    if (!which.includes("dpdk-testpmd")) {
      return "dpdk-testpmd not installed (apt-get install dpdk librte-net-af-xdp23)";
    }
    return undefined;
  },
  async start(mode, topo) {
    const fwd = mode === "l2fwd" ? "macswap" : mode === "rxdrop" ? "rxonly" : mode;
    const proc = new Proc("testpmd", testpmdArgv(topo, fwd), { stderrToo: true });
    const samples: Sample[] = [];
    let inNic = false, rx = 0;
    let finalRx = NaN, finalTx = NaN, inFwd = false;
    proc.onLine = (l) => {
      const t = l.text;
      if (t.includes("NIC statistics for port")) inNic = true;
      else if (t.includes("Forward statistics for port")) inFwd = true;
      const mrx = /RX-packets:\s+(\d+)/.exec(t), mtx = /TX-packets:\s+(\d+)/.exec(t);
      if (inNic && mrx) rx = Number(mrx[1]);
      if (inNic && mtx) {
        inNic = false;
        samples.push(
          sampleFrom(proc, l.at, (l.at - proc.started) / 1000, rx, Number(mtx[1])),
        );
      }
      if (inFwd && mrx) finalRx = Number(mrx[1]);
      if (inFwd && mtx) {
        finalTx = Number(mtx[1]);
        inFwd = false;
      }
    };
    await readyOrThrow(proc, (l) => l.text.includes("NIC statistics for port"), 60000);
    return {
      proc,
      samples,
      async stop() {
        await proc.stop("SIGINT", 15000);
        // testpmd leaves the port promiscuous.
        await run(["ip", "-n", topo.dut, "link", "set", topo.dutIf, "promisc", "off"], true);
        return { rx_packets: finalRx, tx_packets: finalTx };
      },
    };
  },
};

/** The generator process (bench/xdp_tool.ts gen) in the generator namespace, pinned to CPU 0. */
export class Generator {
  readonly proc: Proc;
  readonly samples: { at: number; generated: number; returned: number }[] = [];
  /** Errors the generator reported (errno), with their arrival time. */
  readonly errors: { at: number; errno: number }[] = [];
  via = "";
  repeat = 0;

  constructor(topo: Topology, repeat: number) {
    this.proc = new Proc(
      "generator",
      [
        "taskset",
        "-c",
        GEN_CPU,
        ...inNs(
          topo.gen,
          Deno.execPath(),
          "run",
          "-A",
          `${ROOT}bench/xdp_tool.ts`,
          "gen",
          "--iface",
          topo.genIf,
          "--dst-mac",
          topo.dutMac,
          "--interval",
          "0.25",
          "--repeat",
          String(repeat),
        ),
      ],
      { stdin: true },
    );
    this.proc.onLine = (l) => {
      if (!l.text.startsWith("{")) return;
      const o = JSON.parse(l.text);
      if (o.via) {
        this.via = o.via;
        this.repeat = o.repeat;
      }
      if (o.error) this.errors.push({ at: l.at, errno: o.error });
      this.samples.push({ at: l.at, generated: o.generated, returned: o.returned });
    };
  }

  /** Wait for the generator to be loaded and attached. */
  async ready(): Promise<void> {
    await this.proc.waitFor(isJson, 30000);
  }

  async go(): Promise<number> {
    const at = performance.now();
    await this.proc.send("go");
    await this.proc.waitFor((l) => l.text.includes('"running":true'), 5000, at);
    return at;
  }

  /** Stop generating and wait until the call in flight has finished (the link is quiet). */
  async pause(): Promise<void> {
    const at = performance.now();
    await this.proc.send("pause");
    await this.proc.waitFor(
      (l) => l.text.includes('"running":false,"busy":false'),
      60000,
      at,
    );
  }

  /** Linear interpolation of a counter at time `at`. */
  valueAt(at: number, key: "generated" | "returned"): number {
    const s = this.samples;
    let i = s.findIndex((x) => x.at >= at);
    if (i < 0) i = s.length - 1;
    if (i === 0) return s[0][key];
    const a = s[i - 1], b = s[i];
    if (b.at === a.at) return b[key];
    return a[key] + (b[key] - a[key]) * Math.min(1, (at - a.at) / (b.at - a.at));
  }

  async quit(): Promise<void> {
    await this.proc.send("quit");
    await this.proc.closeStdin();
    await this.proc.stop("SIGTERM", 60000);
  }
}

/** What one throughput run measured. */
export interface RunResult {
  contender: string;
  mode: ThroughputMode;
  rx_mpps: number | null;
  fwd_mpps: number | null;
  offered_mpps: number | null;
  cpu_ns_per_pkt: number | null;
  softirq_ns_per_pkt: number | null;
  /** Share of the machine's two CPUs used by processes not ours during the window (noise). */
  foreign_cpu_share: number | null;
  /** Share of the two vCPUs' time the hypervisor gave to others during the window. */
  steal_share: number | null;
  /** CPU time of the contender process / window (1.0: one CPU busy all the time). */
  app_cpu_share: number | null;
  window_s: number;
  free_frames_min?: number;
  final?: Record<string, unknown>;
  error?: string;
}

/** One throughput run of `c` in `mode`. */
export async function throughputRun(
  c: Contender,
  mode: ThroughputMode,
  topo: Topology,
  gen: Generator,
  o: { warmupS: number; durationS: number },
): Promise<RunResult> {
  const base: RunResult = {
    contender: c.name,
    mode,
    rx_mpps: null,
    fwd_mpps: null,
    offered_mpps: null,
    cpu_ns_per_pkt: null,
    softirq_ns_per_pkt: null,
    foreign_cpu_share: null,
    steal_share: null,
    app_cpu_share: null,
    window_s: 0,
  };
  let r: Running;
  try {
    r = await c.start(mode, topo, { intervalS: 0.5 });
  } catch (e) {
    return { ...base, error: `did not start: ${(e as Error).message}` };
  }
  let final: Record<string, unknown> | undefined;
  let a: Sample | undefined, b: Sample | undefined;
  try {
    const tGo = await gen.go();
    const from = tGo + o.warmupS * 1000, to = from + o.durationS * 1000;
    await r.proc.waitFor(
      (l) => l.at >= to && r.samples.length > 0 && r.samples[r.samples.length - 1].at === l.at,
      (o.warmupS + o.durationS + 10) * 1000,
    );
    a = r.samples.find((s) => s.at >= from);
    b = r.samples.at(-1);
  } catch (e) {
    base.error = (e as Error).message;
  } finally {
    await gen.pause();
    final = await r.stop();
  }
  const genErr = gen.errors.find((e) => a && e.at >= a.at - 1000);
  if (genErr && !base.error) base.error = `the generator failed: errno ${genErr.errno}`;
  if (!a || !b || b === a) return { ...base, final, error: base.error ?? "no samples" };
  const dt = b.elapsed - a.elapsed, dtWall = (b.at - a.at) / 1000;
  const rx = b.rx - a.rx;
  const offered = gen.valueAt(b.at, "generated") - gen.valueAt(a.at, "generated");
  const returned = gen.valueAt(b.at, "returned") - gen.valueAt(a.at, "returned");
  const cpu = b.cpu - a.cpu, soft = b.softirq - a.softirq;
  const frees = r.samples.filter((s) => s.at >= a!.at && s.at <= b!.at && s.free !== undefined)
    .map((s) => s.free!);
  return {
    ...base,
    ...(base.error ? { error: base.error } : {}),
    rx_mpps: rx / dt / 1e6,
    fwd_mpps: mode === "l2fwd" ? returned / dtWall / 1e6 : null,
    offered_mpps: offered / dtWall / 1e6,
    cpu_ns_per_pkt: c === kernelDrop || !(cpu >= 0) || rx === 0 ? null : cpu / rx,
    softirq_ns_per_pkt: rx > 0 ? soft / rx : null,
    foreign_cpu_share: foreignDelta(a.foreign, b.foreign) / (dtWall * 1e9) / 2,
    steal_share: (b.steal - a.steal) / (dtWall * 1e9) / 2,
    app_cpu_share: c === kernelDrop || !(cpu >= 0) ? null : cpu / (dtWall * 1e9),
    window_s: dt,
    free_frames_min: frees.length ? Math.min(...frees) : undefined,
    final,
  };
}

/** Wait a little between runs (EBUSY on a just-released queue, lingering NAPI). */
export function settle(): Promise<void> {
  return sleep(300);
}
