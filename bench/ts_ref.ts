/**
 * ts_ref: the C reference (`bench/xsk_ref.c`) written again in TypeScript, as bare as it can
 * be: its loop runs in one Deno Worker (`bench/ts_ref_worker.ts`) over byPassRT's ring classes
 * and nothing else of the engine. A BASELINE for the benchmark only, never on byPassRT's product
 * path: side by side with byPassRT and xsk_ref it splits the difference between them into what
 * the runtime costs (Deno, V8, FFI: ts_ref against C) and what byPassRT's engine adds on top
 * (byPassRT against ts_ref).
 *
 * Set up like byPassRT with `--cpu 1 --no-timestamps`: our steering program
 * (`build/xdp_steer.o`, native, no stamping) steering everything (rxdrop, l2fwd) or ARP and
 * ping for `--ip` (respond), one copy-mode socket on queue 0 made by `openPort`, the polling
 * Worker pinned to `--cpu` and every other thread of the process moved off it.
 *
 *   deno run -A bench/ts_ref.ts --iface IF --mode rxdrop|l2fwd|respond [--ip A.B.C.D]
 *     [--interval S] [--cpu N|-1] [--no-keep-warm] [--stamp]
 *
 * While nothing arrives the loop makes one `sendto` on fd -1 every 256 loops, as byPassRT's loop
 * keeps its kick warm by default (`Port.keepWarm`); with `--no-keep-warm` it is xsk_ref.c's loop
 * exactly.
 *
 * `--stamp`, as `xsk_ref --stamp`: our program stamps every frame (byPassRT's default) and the
 * loop runs byPassRT's own per-frame clock (engine/frame_clock.ts) at the points byPassRT's loop
 * reads it; every line then carries byPassRT's own `"latency"` object (engine/latency_report.ts,
 * as `bypassrt --json` prints it). Against byPassRT, whose clock it is, the difference is
 * byPassRT's loop.
 *
 * Output (stdout, NDJSON), as xsk_ref's: every --interval {"elapsed", "rx_packets", "tx_packets",
 * "tx_kicks", "free_frames", "final": false}, then one with "final": true on SIGINT or SIGTERM.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadXdpProgram, type XdpProgram } from "../engine/xdp_program.ts";
import { interfaceMac } from "../engine/iface.ts";
import { moveOthersOff } from "../engine/affinity.ts";
import { openLibc } from "../ffi/libc.ts";
import { parseIPv4 } from "../packet/addr.ts";
import { checkXskLayout } from "../engine/xsk_layout.ts";
import { L2FWD, RESPOND, RXDROP, type TsRefMessage, type TsRefStart } from "./ts_ref_worker.ts";
import { helperPath } from "../engine/paths.ts";
import { newLatencyBlock } from "../engine/latency_histogram.ts";
import { latencySnapshot } from "../engine/latency_report.ts";

const MODES: Record<string, number> = { rxdrop: RXDROP, l2fwd: L2FWD, respond: RESPOND };

const { values } = parseArgs({
  args: Deno.args,
  options: {
    iface: { type: "string" },
    mode: { type: "string", default: "l2fwd" },
    ip: { type: "string", default: "10.0.0.1" },
    interval: { type: "string", default: "1" },
    cpu: { type: "string", default: "1" },
    "no-keep-warm": { type: "boolean", default: false },
    stamp: { type: "boolean", default: false },
  },
});
const mode = MODES[values.mode];
const interval = Number(values.interval), cpu = Number(values.cpu);
if (!values.iface || mode === undefined || !(interval > 0) || !Number.isInteger(cpu)) {
  console.error(
    "usage: ts_ref.ts --iface IF --mode rxdrop|l2fwd|respond [--ip A.B.C.D] [--interval S] " +
      "[--cpu N|-1] [--no-keep-warm] [--stamp]",
  );
  Deno.exit(2);
}
const iface = values.iface;
/** The setup's errors (bad --ip, no such interface, a program already attached) as one line. */
function setup(): { ip: number; program: XdpProgram } {
  try {
    const ip = parseIPv4(values.ip);
    checkXskLayout(); // the Worker's openPort relies on it, as byPassRT's Workers do
    const program = loadXdpProgram({
      iface,
      mode: "native",
      steering: { all: mode !== RESPOND, udpPorts: [], respondIp: mode === RESPOND ? ip : 0 },
      timestamps: values.stamp,
    });
    return { ip, program };
  } catch (e) {
    console.error(`ts_ref: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
const { ip, program } = setup();
const control = new Int32Array(new SharedArrayBuffer(4));
const stats = new Float64Array(new SharedArrayBuffer(8 * 4));
const latency = values.stamp ? newLatencyBlock() : null;

const worker = new Worker(new URL("./ts_ref_worker.ts", import.meta.url), { type: "module" });
const t0 = performance.now();

function line(final: boolean): void {
  const o = {
    elapsed: (performance.now() - t0) / 1000,
    rx_packets: stats[0],
    tx_packets: stats[1],
    tx_kicks: stats[2],
    free_frames: stats[3],
    ...(latency === null ? {} : { latency: latencySnapshot([0], [latency]) }),
    final,
  };
  console.log(JSON.stringify(o));
}

let timer: ReturnType<typeof setInterval> | undefined;
const stop = () => Atomics.store(control, 0, 1);
const done = new Promise<string | undefined>((resolve) => {
  worker.onmessage = (e: MessageEvent<TsRefMessage>) => {
    const m = e.data;
    if (m.type === "ready") {
      if (cpu >= 0) {
        const libc = openLibc();
        moveOthersOff(libc, [m.tid], [cpu]);
        libc.close();
      }
      line(false);
      timer = setInterval(() => line(false), interval * 1000);
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    } else resolve(m.type === "error" ? m.message : undefined);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    resolve(e.message);
  };
});
worker.postMessage(
  {
    iface,
    mode,
    ip: Uint8Array.of(ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255),
    mac: interfaceMac(iface),
    xsksMapFd: program.xsksMapFd,
    cpu,
    keepWarm: !values["no-keep-warm"],
    control,
    stats,
    latency,
    helper: helperPath(),
  } satisfies TsRefStart,
);
const error = await done;
clearInterval(timer);
worker.terminate();
program.close();
if (error !== undefined) {
  console.error(`ts_ref: ${error}`);
  Deno.exit(1);
}
line(true);
Deno.exit(0);
