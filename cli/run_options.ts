/**
 * Turns the run command's flags into engine options, validating each with a one-line error.
 *
 * @module
 */
import { BypassError } from "../engine/errors.ts";
import { type LoopOptions, type Mode, MODES } from "../engine/loop.ts";
import type { EngineOptions } from "../engine/runtime.ts";
import type { Steering, XdpMode } from "../engine/xdp_program.ts";
import type { BindMode } from "../engine/options.ts";
import { parseIPv4, parseMac } from "../packet/mod.ts";

/** Flags of the run command as commander hands them over (strings). */
export interface RunFlags {
  iface?: string;
  mode: string;
  ip?: string;
  steer?: string;
  queue: string;
  burst: string;
  frames: string;
  frameSize: string;
  ringSize: string;
  xdpMode: string;
  bind: string;
  duration?: string;
  count?: string;
  pollMs: string;
  force?: boolean;
  cpu?: string;
  dstMac?: string;
  srcIp?: string;
  dstIp?: string;
  udpPort: string;
  size: string;
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

/** The MAC address of `iface` in this network namespace. */
export function interfaceMac(iface: string): Uint8Array {
  try {
    return parseMac(Deno.readTextFileSync(`/sys/class/net/${iface}/address`).trim());
  } catch {
    throw new BypassError(`interface ${iface} not found: check the name with 'ip link'`);
  }
}

/** Validate every flag and build the engine options. Throws BypassError on bad input. */
export function engineOptionsFromFlags(f: RunFlags): EngineOptions & { durationS: number } {
  if (!f.iface) throw new BypassError("--iface is required: name the interface to serve");
  if (!MODES.includes(f.mode as Mode)) {
    throw new BypassError(`--mode "${f.mode}" is invalid: use one of ${MODES.join(", ")}`);
  }
  const mode = f.mode as Mode;
  const queues = f.queue.split(",").map((q) => int("--queue", q, 0, 63));
  const respondIp = f.ip !== undefined ? ip("--ip", f.ip) : 0;
  if (mode === "respond" && !respondIp) {
    throw new BypassError("--mode respond needs --ip A.B.C.D: the address to answer for");
  }
  const steer = parseSteer(f.steer ?? (mode === "respond" || mode === "txonly" ? "none" : "all"));
  const mac = interfaceMac(f.iface);
  const size = int("--size", f.size, 60, 3000);
  const frameSize = int("--frame-size", f.frameSize, 0, 1 << 20);
  if (size > frameSize - 256) {
    throw new BypassError(
      `--size ${size} does not fit a ${frameSize}-byte frame: at most ${frameSize - 256}`,
    );
  }
  const loop: LoopOptions = {
    mode,
    burst: int("--burst", f.burst, 1, 1024),
    idlePollMs: int("--poll-ms", f.pollMs, 0, 1000),
    count: f.count !== undefined ? int("--count", f.count, 1, 2 ** 52) : 0,
    ip: respondIp,
    mac,
    txFrame: mode === "txonly"
      ? {
        srcMac: mac,
        dstMac: parseMacFlag(f.dstMac ?? "ff:ff:ff:ff:ff:ff"),
        srcIp: ip("--src-ip", f.srcIp ?? "10.0.0.2"),
        dstIp: ip("--dst-ip", f.dstIp ?? "10.0.0.1"),
        srcPort: int("--udp-port", f.udpPort, 1, 65535),
        dstPort: int("--udp-port", f.udpPort, 1, 65535),
        frameLen: size,
      }
      : undefined,
  };
  const frames = int("--frames", f.frames, 1, 1 << 20);
  const ringSize = int("--ring-size", f.ringSize, 1, 1 << 20);
  return {
    port: {
      iface: f.iface,
      frames,
      frameSize,
      rxSize: ringSize,
      txSize: ringSize,
      bind: f.bind as BindMode,
      fillFrames: mode === "txonly" ? 0 : undefined,
    },
    queues,
    loop,
    xdpMode: f.xdpMode as XdpMode,
    steering: { ...steer, respondIp },
    force: f.force ?? false,
    cpus: f.cpu !== undefined ? f.cpu.split(",").map((c) => int("--cpu", c, 0, 1023)) : undefined,
    durationS: f.duration !== undefined ? int("--duration", f.duration, 1, 10 ** 7) : 0,
  };
}

function parseMacFlag(v: string): Uint8Array {
  try {
    return parseMac(v);
  } catch (e) {
    throw new BypassError(`--dst-mac: ${(e as Error).message}`);
  }
}
