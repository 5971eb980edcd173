/**
 * Benchmark-side blocklist probe (not part of byPassRT): runs in the benchmark's device
 * namespace, loads byPassRT's steering program on the device veth (steering none: no AF_XDP
 * socket, nothing but the program) and answers one JSON request per stdin line with one JSON
 * line on stdout:
 *
 *   {"op":"load","v4":N,"v6":N,"peer":bool,"via":"strings"|"file","object":PATH?}
 *     detach the previous program, attach a fresh one, and block N random IPv4 /32 and N random
 *     IPv6 /64 prefixes (seeded, so every run blocks the same ones) plus 10.0.0.2/32 and
 *     2001:db8::2/128 (the "blocked" test sources) when N > 0 or "peer" is true. "strings": the
 *     path of Engine.blockAddMany (parseCidr each string, then one batched insert); "file": the
 *     path of --block-file (write the list to a temporary file, readBlockFile, insert).
 *     Answers {parse_ms, insert_ms, prefixes}.
 *   {"op":"testrun","frame":"v4-blocked"|"v4-clear"|"v6-blocked"|"v6-clear","repeat":R}
 *     BPF_PROG_RUN (bpf_prog_test_run_opts) of the program on a crafted 60/74-byte UDP frame,
 *     R times in the kernel: answers {ns, retval} (kernel-measured average per run).
 *   {"op":"engine","v4":N}
 *     detach the program, start an Engine in this process (rxdrop, steering none, one
 *     busy-polling Worker), time Engine.blockAddMany of N IPv4 prefixes on it (the library
 *     call, in-process), stop it. Answers {ms, prefixes}.
 *   {"op":"blocked"}   the program's `blocked` counter now: {blocked, at}.
 *   {"op":"detach"}    take the program off the interface.
 *   {"op":"quit"}
 *
 * @module
 */
import { loadXdpProgram, type XdpProgram } from "../engine/xdp_program.ts";
import { type Cidr, parseCidr, readBlockFile } from "../engine/blocklist.ts";
import { openLibbpf } from "../ffi/libbpf.ts";
import { LineFramer } from "../engine/control_protocol.ts";
import { Engine } from "../engine/runtime.ts";
import { builtinHandler } from "../engine/modes.ts";
import { benchPrefixes as prefixes } from "./blocklist_prefixes.ts";
import { openLibc } from "../ffi/libc.ts";

const iface = Deno.args[0];
const out = (o: unknown) => console.log(JSON.stringify(o));
const bpf = openLibbpf();
const libc = openLibc();
const testRun = Deno.dlopen("libbpf.so.1", {
  bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },
}).symbols.bpf_prog_test_run_opts;

/** The test frames: UDP 20000 -> 9999 (not steered: XDP_PASS unless blocked). */
function frame(kind: string): Uint8Array<ArrayBuffer> {
  const v6 = kind.startsWith("v6");
  const src = kind === "v4-blocked"
    ? "10.0.0.2"
    : kind === "v4-clear"
    ? "10.0.0.3"
    : kind === "v6-blocked"
    ? "2001:db8::2"
    : "2001:db8::3";
  // Off V8's heap (typed arrays of <= 64 bytes live on it and may move): a 4 KiB buffer.
  const f = new Uint8Array(new ArrayBuffer(4096), 0, v6 ? 14 + 40 + 8 + 12 : 60);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  v.setUint16(12, v6 ? 0x86dd : 0x0800);
  const a = parseCidr(src).addr, b = parseCidr(v6 ? "2001:db8::1" : "10.0.0.1").addr;
  if (v6) {
    v.setUint32(14, 0x60000000);
    v.setUint16(18, 20);
    v.setUint8(20, 17);
    v.setUint8(21, 64);
    f.set(a, 22);
    f.set(b, 38);
  } else {
    v.setUint8(14, 0x45);
    v.setUint16(16, 46);
    v.setUint8(22, 64);
    v.setUint8(23, 17);
    f.set(a, 26);
    f.set(b, 30);
  }
  const l4 = v6 ? 54 : 34;
  v.setUint16(l4, 20000);
  v.setUint16(l4 + 2, 9999);
  v.setUint16(l4 + 4, f.length - l4);
  return f;
}

let prog: XdpProgram | undefined;
let progFd = -1;

function detach() {
  if (progFd >= 0) libc.fn.close(progFd); // our fd holds the old program and its maps
  progFd = -1;
  prog?.close();
  prog = undefined;
}

function load(n4: number, n6: number, peer: boolean, via: string, object?: string) {
  detach();
  const list = prefixes(n4, n6);
  if (peer || n4 + n6 > 0) list.push("10.0.0.2/32", "2001:db8::2/128");
  let parsed: Cidr[] = [];
  const file = via === "file" ? Deno.makeTempFileSync({ suffix: ".block" }) : "";
  if (file) Deno.writeTextFileSync(file, "# benchmark list\n" + list.join("\n") + "\n");
  prog = loadXdpProgram({
    iface,
    steering: { all: false, udpPorts: [], respondIp: 0 },
    objectPath: object,
  });
  const t0 = performance.now();
  parsed = file ? readBlockFile(file) : list.map(parseCidr);
  const t1 = performance.now();
  prog.blocklist.addMany(parsed);
  const t2 = performance.now();
  if (file) Deno.removeSync(file);
  progFd = bpf.symbols.bpf_prog_get_fd_by_id(prog.progId);
  return { parse_ms: t1 - t0, insert_ms: t2 - t1, prefixes: prog.blocklist.size };
}

function run(kind: string, repeat: number) {
  const f = frame(kind);
  const opts = new BigUint64Array(10); // struct bpf_test_run_opts, 80 bytes
  const u32 = new Uint32Array(opts.buffer);
  opts[0] = 80n; // sz
  opts[1] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(f)));
  u32[6] = f.length; // data_size_in
  u32[15] = repeat; // repeat (int at 60)
  const r = testRun(progFd, new Uint8Array(opts.buffer));
  if (r !== 0) return { error: `bpf_prog_test_run_opts: errno ${-r}` };
  return { ns: u32[16], retval: u32[14] }; // duration at 64, retval at 56
}

async function engineAddMany(n: number) {
  detach();
  const list = prefixes(n, 0);
  const engine = await Engine.start({
    port: { iface },
    loop: { burst: 64, idlePollMs: 0, count: 0 },
    handler: builtinHandler("rxdrop"),
    steering: { all: false, udpPorts: [], respondIp: 0 },
    onEvent: () => {},
  });
  try {
    const t0 = performance.now();
    engine.blockAddMany(list);
    const ms = performance.now() - t0;
    return { ms, prefixes: engine.snapshot().blocklist!.prefixes };
  } finally {
    await engine.stop();
  }
}

/** The requests on stdin, one per line (the control protocol's framer). */
// deno-lint-ignore no-explicit-any
async function* requests(): AsyncGenerator<Record<string, any> & { op: string }> {
  const framer = new LineFramer();
  for await (const chunk of Deno.stdin.readable) {
    for (const f of framer.push(chunk)) {
      if (!("line" in f)) throw new Error("probe: a request line is not text or too long");
      yield JSON.parse(f.line);
    }
  }
}

out({ ready: true });
loop: for await (const req of requests()) {
  try {
    if (req.op === "load") {
      out(load(req.v4 ?? 0, req.v6 ?? 0, req.peer ?? false, req.via ?? "strings", req.object));
    } else if (req.op === "detach") {
      detach();
      out({ detached: true });
    } else if (req.op === "testrun") out(run(req.frame, req.repeat ?? 1_000_000));
    else if (req.op === "blocked") out({ blocked: prog?.counters().blocked ?? 0, at: Date.now() });
    else if (req.op === "engine") out(await engineAddMany(req.v4));
    else if (req.op === "quit") break loop;
    else out({ error: `unknown op ${req.op}` });
  } catch (e) {
    out({ error: (e as Error).message });
  }
}
prog?.close();
