/**
 * Turns the run command's flags into engine options, validating each with a one-line error.
 *
 * @module
 */
import type { MultiBufferMode } from "../engine/multi_buffer.ts";
import { checkIfaces } from "../engine/more_ports.ts";
import { BypassError } from "../engine/errors.ts";
import type { LoopOptions } from "../engine/loop.ts";
import { builtinHandler, type HandlerSpec, type Mode, MODES } from "../engine/modes.ts";
import { parseHandlerOptions } from "../engine/handler.ts";
import type { EngineOptions } from "../engine/runtime.ts";
import { MAX_BLOCK_MAX, type Steering, type XdpMode } from "../engine/xdp_program.ts";
import type { BindMode } from "../engine/options.ts";
import { DEFAULT_BUSY_POLL_US, MAX_BUSY_POLL_US } from "../engine/busy_poll.ts";
import { checkUserObjectFile } from "../engine/user_xdp_program.ts";
import { isBadSourceIPv6, parseIPv4, parseIPv6, parseMac } from "../packet/mod.ts";
import { type CaptureFlags, captureFromFlags } from "./capture_options.ts";

/** Flags of the run command as commander hands them over (strings). */
export interface RunFlags extends CaptureFlags {
  iface?: string;
  /** A built-in mode (default l2fwd); excludes `handler`. */
  mode?: string;
  ip?: string;
  /** respond: the IPv6 address to answer for. */
  ip6?: string;
  /** Steer tagged frames by their inner header. */
  vlan?: boolean;
  steer?: string;
  queue: string;
  burst: string;
  frames: string;
  frameSize: string;
  ringSize: string;
  xdpMode: string;
  bind: string;
  /** `--multi-buffer`: auto, on or off. */
  multiBuffer?: string;
  duration?: string;
  count?: string;
  pollMs: string;
  force?: boolean;
  cpu?: string;
  /** `--busy-poll [usec]`: true without a value. */
  busyPoll?: string | boolean;
  dstMac?: string;
  srcIp?: string;
  dstIp?: string;
  udpPort: string;
  size: string;
  /** A handler file instead of a built-in mode. */
  handler?: string;
  /** Its options as JSON. */
  handlerOptions?: string;
  /** Stop at the handler's first throw. */
  handlerStrict?: boolean;
  /** false: do not type-check the handler file (`--no-handler-check`). */
  handlerCheck?: boolean;
  /** A file of source prefixes to drop at the XDP hook (one CIDR per line). */
  blockFile?: string;
  /** Blocklist capacity in prefixes. */
  blockMax?: string;
  /** A compiled XDP object of the user's, attached instead of ours. */
  xdpProg?: string;
  /** Its ELF section to attach (default: its only XDP program). */
  xdpSection?: string;
  /** false: no per-frame clock (`--no-timestamps`). */
  timestamps?: boolean;
  /** false: no keep-warm calls or burst-path rehearsals while idle (`--no-keep-warm`). */
  keepWarm?: boolean;
}

function int(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new BypassError(`${name} "${v}" is invalid: give a whole number from ${min} to ${max}`);
  }
  return Number(v);
}

function ip(name: string, v: string): number {
  try {
    return parseIPv4(v);
  } catch (e) {
    throw new BypassError(`${name}: ${(e as Error).message}`);
  }
}

/** Parse `all`, `none` (only ARP/ICMP for --ip) or `udp:PORT[,PORT...]`. */
export function parseSteer(v: string): Pick<Steering, "all" | "udpPorts"> {
  if (v === "all") return { all: true, udpPorts: [] };
  if (v === "none") return { all: false, udpPorts: [] };
  const m = /^udp:(.+)$/.exec(v);
  if (!m) throw new BypassError(`--steer "${v}" is invalid: use all, none or udp:PORT[,PORT...]`);
  const udpPorts = m[1].split(",").map((p) => int("--steer port", p, 1, 65535));
  return { all: false, udpPorts };
}

/** Validate every flag and build the engine options. Throws BypassError on bad input. */
export function engineOptionsFromFlags(f: RunFlags): EngineOptions & { durationS: number } {
  if (!f.iface) throw new BypassError("--iface is required: name the interface to serve");
  if (f.mode !== undefined && !MODES.includes(f.mode as Mode)) {
    throw new BypassError(`--mode "${f.mode}" is invalid: use one of ${MODES.join(", ")}`);
  }
  if (f.handler !== undefined && f.mode !== undefined) {
    throw new BypassError("--mode and --handler exclude each other: give one of them");
  }
  const mode: Mode | "handler" = f.handler !== undefined ? "handler" : (f.mode ?? "l2fwd") as Mode;
  if (f.handlerOptions !== undefined && mode !== "handler") {
    throw new BypassError("--handler-options goes with --handler FILE");
  }
  const ifaces = f.iface.split(",");
  checkIfaces(ifaces, {
    fwd: mode === "fwd",
    userProgram: f.xdpProg !== undefined,
    toKernel: mode === "inspect",
  });
  const queues = f.queue.split(",").map((q) => int("--queue", q, 0, 63));
  const respondIp = f.ip !== undefined ? ip("--ip", f.ip) : 0;
  const respondIp6 = f.ip6 !== undefined ? ip6Flag(f.ip6) : undefined;
  if (mode === "respond" && !respondIp && !respondIp6) {
    throw new BypassError(
      "--mode respond needs --ip A.B.C.D and/or --ip6 ADDR: the address(es) to answer for",
    );
  }
  if (f.xdpProg !== undefined) userProgramFlags(f);
  else if (f.xdpSection !== undefined) {
    throw new BypassError("--xdp-section goes with --xdp-prog FILE: give the object too");
  }
  const steer = f.xdpProg !== undefined
    ? parseSteer("none")
    : parseSteer(f.steer ?? (mode === "respond" || mode === "txonly" ? "none" : "all"));
  const size = int("--size", f.size, 60, 3000);
  const frameSize = int("--frame-size", f.frameSize, 0, 1 << 20);
  if (size > frameSize - 256) {
    throw new BypassError(
      `--size ${size} does not fit a ${frameSize}-byte frame: at most ${frameSize - 256}`,
    );
  }
  const loop: LoopOptions = {
    burst: int("--burst", f.burst, 1, 1024),
    idlePollMs: int("--poll-ms", f.pollMs, 0, 1000),
    count: f.count !== undefined ? int("--count", f.count, 1, 2 ** 52) : 0,
    strict: f.handlerStrict ?? false,
    keepWarm: f.keepWarm ?? true,
  };
  let handler: HandlerSpec;
  if (mode === "handler") {
    const path = f.handler!;
    try {
      if (!Deno.statSync(path).isFile) throw new Error();
    } catch {
      throw new BypassError(`--handler ${path}: no such file: give the path of a handler module`);
    }
    let options;
    try {
      options = parseHandlerOptions(f.handlerOptions);
    } catch (e) {
      throw new BypassError((e as Error).message);
    }
    handler = { module: toFileUrl(path), options };
  } else if (mode === "respond") {
    handler = builtinHandler(mode, { ip: f.ip, ip6: f.ip6, vlan: f.vlan ?? false });
  } else if (mode === "txonly") {
    const port = int("--udp-port", f.udpPort, 1, 65535);
    parseMacFlag(f.dstMac ?? "ff:ff:ff:ff:ff:ff");
    ip("--src-ip", f.srcIp ?? "10.0.0.2");
    ip("--dst-ip", f.dstIp ?? "10.0.0.1");
    handler = builtinHandler(mode, {
      dst_mac: f.dstMac ?? "ff:ff:ff:ff:ff:ff",
      src_ip: f.srcIp ?? "10.0.0.2",
      dst_ip: f.dstIp ?? "10.0.0.1",
      udp_port: port,
      size,
    });
  } else {
    handler = builtinHandler(mode);
  }
  const frames = int("--frames", f.frames, 1, 1 << 20);
  const ringSize = int("--ring-size", f.ringSize, 1, 1 << 20);
  return {
    ...(ifaces.length > 1 ? { moreIfaces: ifaces.slice(1) } : {}),
    port: {
      iface: ifaces[0],
      frames,
      frameSize,
      rxSize: ringSize,
      txSize: ringSize,
      bind: f.bind as BindMode,
      fillFrames: mode === "txonly" ? 0 : undefined,
      ...busyPollFlag(f.busyPoll, loop.burst),
    },
    queues,
    loop,
    handler,
    typeCheck: f.handlerCheck ?? true,
    xdpMode: f.xdpMode as XdpMode,
    steering: { ...steer, respondIp, respondIp6, vlan: f.vlan ?? false },
    force: f.force ?? false,
    cpus: f.cpu !== undefined ? f.cpu.split(",").map((c) => int("--cpu", c, 0, 1023)) : undefined,
    blockFile: f.blockFile,
    blockMax: f.blockMax !== undefined
      ? int("--block-max", f.blockMax, 1, MAX_BLOCK_MAX)
      : undefined,
    durationS: f.duration !== undefined ? int("--duration", f.duration, 1, 10 ** 7) : 0,
    capture: captureFromFlags(f),
    xdpProg: f.xdpProg !== undefined ? { path: f.xdpProg, section: f.xdpSection } : undefined,
    multiBuffer: (f.multiBuffer ?? "auto") as MultiBufferMode,
    timestamps: f.timestamps ?? true,
  };
}

/** `--xdp-prog`: the file must exist; flags that need our program are refused. */
function userProgramFlags(f: RunFlags): void {
  const clash = f.steer !== undefined
    ? "--steer"
    : f.blockFile !== undefined
    ? "--block-file"
    : f.blockMax !== undefined
    ? "--block-max"
    : "";
  if (clash) {
    throw new BypassError(
      `${clash} does not go with --xdp-prog: it needs byPassRT's own XDP program (your program ` +
        `decides what reaches user space by redirecting into xsks_map); drop ${clash}`,
    );
  }
  checkUserObjectFile(f.xdpProg!);
}

/** `path` (relative to the working directory) as a file URL. */
function toFileUrl(path: string): URL {
  return new URL(path.startsWith("/") ? `file://${path}` : path, `file://${Deno.cwd()}/`);
}

/** `--ip6`: a unicast IPv6 address (global, unique-local or link-local). */
function ip6Flag(v: string): Uint8Array {
  let a: Uint8Array;
  try {
    a = parseIPv6(v);
  } catch (e) {
    throw new BypassError(`--ip6: ${(e as Error).message}`);
  }
  if (isBadSourceIPv6(a, 0, false)) {
    throw new BypassError(
      `--ip6 ${v} is not a unicast address (multicast, ::, ::1 or IPv4-mapped): ` +
        "give the unicast address to answer for, e.g. 2001:db8::1 or fe80::1",
    );
  }
  return a;
}

function parseMacFlag(v: string): Uint8Array {
  try {
    return parseMac(v);
  } catch (e) {
    throw new BypassError(`--dst-mac: ${(e as Error).message}`);
  }
}

/** `--busy-poll [usec]`: the port options it sets (none without the flag). */
function busyPollFlag(
  v: string | boolean | undefined,
  burst: number,
): { busyPollUs?: number; busyPollBudget?: number } {
  if (v === undefined || v === false) return {};
  const usec = v === true ? DEFAULT_BUSY_POLL_US : int("--busy-poll", v, 1, MAX_BUSY_POLL_US);
  return { busyPollUs: usec, busyPollBudget: burst };
}
