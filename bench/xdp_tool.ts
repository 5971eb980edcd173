/**
 * Benchmark-side XDP tool (not part of byPassRT): runs inside one of the benchmark's own network
 * namespaces and prints NDJSON on stdout.
 *
 *   deno run -A bench/xdp_tool.ts gen --iface IF --dst-mac MAC [--interval S] [--repeat N]
 *     The traffic generator. Loads build/xdp_gen.o with libbpf, attaches `bpb_sink` to IF (counts
 *     and drops the UDP/9000 frames that come back, gives IF NAPI) and, while running, loops
 *     `bpx_live_frames` (BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES, a nonblocking FFI call, so
 *     on its own thread) over `bpb_gen`, which returns XDP_TX: 60-byte (64 with FCS) UDP frames
 *     10.0.0.2:10000 -> 10.0.0.1:9000 to MAC, `repeat` per call (default 2^24).
 *     Commands on stdin, one per line: `go`, `pause` (finishes the call in progress), `quit`.
 *     Every interval: {"t": s, "generated": n, "returned": n, "running": bool, "calls": n}.
 *
 *   deno run -A bench/xdp_tool.ts drop --iface IF [--interval S]
 *     The "kernel alone" ceiling: attaches build/xdp_drop.o (count + XDP_DROP) to IF. Every
 *     interval: {"elapsed": s, "rx_packets": n}; a last line with "final": true on SIGINT,
 *     SIGTERM or end of stdin.
 *
 * The bpf_link fd closes when the process exits, so nothing stays attached.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BPF_XDP, type Libbpf, openLibbpf, XDP_FLAGS_DRV_MODE } from "../ffi/libbpf.ts";
import { type Helper, lastLibLog, openHelper } from "../ffi/helper.ts";
import { cstr, openLibc } from "../ffi/libc.ts";
import { helperPath } from "../engine/paths.ts";

const libc = openLibc();
import { parseIPv4, parseMac, writeUdpFrame } from "../packet/mod.ts";

const BUILD = new URL("../build/", import.meta.url).pathname;

/** A loaded BPF object with its per-CPU `counters` map. */
interface Loaded {
  bpf: Libbpf;
  obj: Deno.PointerValue;
  progFd(name: string): number;
  attach(prog: string, ifindex: number): number;
  counter(idx: number): number;
}

function die(msg: string): never {
  console.error(`xdp_tool: ${msg}`);
  Deno.exit(1);
}

function load(file: string, helperLog: () => string): Loaded {
  const bpf = openLibbpf();
  const s = bpf.symbols;
  const path = `${BUILD}${file}`;
  const obj = s.bpf_object__open_file(cstr(path), null);
  if (!obj) die(`cannot open ${path}: ${helperLog() || "run bench/run.sh to build it"}`);
  const r = s.bpf_object__load(obj);
  if (r < 0) die(`cannot load ${path}: ${helperLog() || `errno ${-r}`}`);
  const countersFd = s.bpf_object__find_map_fd_by_name(obj, cstr("counters"));
  if (countersFd < 0) die(`${path} has no counters map`);
  const ncpus = s.libbpf_num_possible_cpus();
  const values = new BigUint64Array(ncpus);
  const key = new Uint32Array(1);
  const progFd = (name: string) => {
    const prog = s.bpf_object__find_program_by_name(obj, cstr(name));
    if (!prog) die(`${path} has no program ${name}`);
    return s.bpf_program__fd(prog);
  };
  return {
    bpf,
    obj,
    progFd,
    attach(prog: string, ifindex: number): number {
      const opts = new BigUint64Array(2);
      opts[0] = 16n; // struct bpf_link_create_opts: sz, then flags at offset 8
      new DataView(opts.buffer).setUint32(8, XDP_FLAGS_DRV_MODE, true);
      const fd = s.bpf_link_create(progFd(prog), ifindex, BPF_XDP, new Uint8Array(opts.buffer));
      if (fd < 0) die(`cannot attach ${prog} (native XDP): errno ${-fd}`);
      return fd;
    },
    counter(idx: number): number {
      key[0] = idx;
      if (s.bpf_map_lookup_elem(countersFd, key, values) !== 0) return 0;
      let sum = 0;
      for (const v of values) sum += Number(v);
      return sum;
    },
  };
}

async function* stdinLines(): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
    }
  }
}

/**
 * A typed array whose bytes live outside V8's heap. V8 keeps typed arrays of up to 64 bytes
 * inside its heap, where the garbage collector may move them; memory whose address is handed to
 * the kernel (baked into a struct, or used by a nonblocking FFI call on another thread) must not
 * move, so it is carved out of a larger ArrayBuffer.
 */
function offHeap<T>(ctor: new (b: ArrayBuffer, off: number, n: number) => T, n: number): T {
  return new ctor(new ArrayBuffer(4096), 0, n);
}

/** One live-frames run of `repeat` frames; resolves to 0 or a negative errno. */
type LiveFrames = (repeat: number) => Promise<number>;

/**
 * The live-frames call: ffi/helper.c `bpx_live_frames` (a nonblocking FFI call, so the kernel
 * loop runs on its own thread). `frame` must stay referenced and off-heap while calls run.
 */
async function liveFramesRunner(
  helper: Helper,
  progFd: number,
  ifindex: number,
  frame: Uint8Array<ArrayBuffer>,
): Promise<{ run: LiveFrames; via: string }> {
  const run: LiveFrames = (repeat) =>
    helper.symbols.bpx_live_frames(progFd, ifindex, frame, frame.length, repeat, 0);
  const probe = await run(1);
  if (probe !== 0) die(`bpx_live_frames (BPF_PROG_RUN, live frames): errno ${-probe}`);
  return { run, via: "ffi/helper.c bpx_live_frames" };
}

async function gen(iface: string, dstMac: string, intervalS: number, repeat: number) {
  const helper = openHelper(helperPath());
  helper.symbols.bpx_log_capture(0);
  const l = load("xdp_gen.o", () => lastLibLog(helper));
  const ifindex = libc.fn.if_nametoindex(cstr(iface));
  if (!ifindex) die(`no interface ${iface}`);
  l.attach("bpb_sink", ifindex);
  const genFd = l.progFd("bpb_gen");
  const srcMac = parseMac(Deno.readTextFileSync(`/sys/class/net/${iface}/address`).trim());
  const frame = offHeap(Uint8Array, 60);
  writeUdpFrame(frame, 0, {
    srcMac,
    dstMac: parseMac(dstMac),
    srcIp: parseIPv4("10.0.0.2"),
    dstIp: parseIPv4("10.0.0.1"),
    srcPort: 10000,
    dstPort: 9000,
    frameLen: 60,
  });
  const live = await liveFramesRunner(helper, genFd, ifindex, frame);
  const t0 = performance.now();
  let running = false, busy = false, quit = false, calls = 0, lastError = 0;
  let wake: (() => void) | undefined;
  const print = (extra: Record<string, unknown> = {}) =>
    console.log(JSON.stringify({
      t: Math.round(performance.now() - t0) / 1000,
      generated: l.counter(0),
      returned: l.counter(1),
      running,
      busy,
      calls,
      ...extra,
    }));
  const loop = (async () => {
    while (!quit) {
      if (!running) {
        await new Promise<void>((res) => wake = res);
        continue;
      }
      busy = true;
      const r = await live.run(repeat);
      busy = false;
      calls++;
      if (r !== 0 && r !== -4) { // EINTR: a signal interrupted the run; go on
        if (r !== lastError) console.error(`xdp_tool: live frames: errno ${-r}`);
        lastError = r;
        running = false;
        print({ error: -r });
      }
      if (!running) print(); // paused and the last call is done: idle now
    }
  })();
  const timer = setInterval(print, intervalS * 1000);
  const stop = () => {
    quit = true;
    running = false;
    wake?.();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  print({ via: live.via, repeat, frame_len: frame.length });
  (async () => {
    for await (const cmd of stdinLines()) {
      if (cmd === "go") {
        running = true;
        wake?.();
      } else if (cmd === "pause") running = false;
      else if (cmd === "quit") break;
      print();
    }
    stop();
  })();
  await loop;
  clearInterval(timer);
  print({ final: true });
  Deno.exit(0);
}

async function drop(iface: string, intervalS: number) {
  const helper = openHelper(helperPath());
  helper.symbols.bpx_log_capture(0);
  const l = load("xdp_drop.o", () => lastLibLog(helper));
  const ifindex = libc.fn.if_nametoindex(cstr(iface));
  if (!ifindex) die(`no interface ${iface}`);
  l.attach("bpb_drop", ifindex);
  const t0 = performance.now();
  const line = (final: boolean) =>
    console.log(JSON.stringify({
      elapsed: Math.round(performance.now() - t0) / 1000,
      rx_packets: l.counter(0),
      final,
    }));
  line(false);
  const timer = setInterval(() => line(false), intervalS * 1000);
  let done!: () => void;
  const stopped = new Promise<void>((res) => done = res);
  Deno.addSignalListener("SIGINT", () => done());
  Deno.addSignalListener("SIGTERM", () => done());
  (async () => {
    for await (const _ of stdinLines()) { /* wait for end of input */ }
    done();
  })();
  await stopped;
  clearInterval(timer);
  line(true);
  Deno.exit(0);
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      iface: { type: "string" },
      "dst-mac": { type: "string" },
      interval: { type: "string", default: "0.25" },
      repeat: { type: "string", default: String(1 << 24) },
    },
  });
  const iface = values.iface ?? die("--iface is required");
  const interval = Number(values.interval);
  if (positionals[0] === "gen") {
    await gen(iface, values["dst-mac"] ?? die("--dst-mac is required"), interval, +values.repeat);
  } else if (positionals[0] === "drop") await drop(iface, interval);
  else die("usage: xdp_tool.ts gen|drop --iface IF ...");
}
