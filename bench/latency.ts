/**
 * Latency: ping round trips (byPassRT `respond`, the C reference reflecting, the kernel replying
 * itself) and UDP round trips through a MAC-swapping forwarder (byPassRT l2fwd, testpmd macswap,
 * the C reference l2fwd). The generator is paused; the pinger runs in the generator namespace on
 * the generator's CPU, the responder on the application CPU.
 *
 * @module
 */
import { type Contender, GEN_CPU } from "./contenders.ts";
import { inNs, type Topology } from "./topology.ts";
import { run, sleep } from "./proc.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DUT_IP = "10.0.0.1";

/** Round-trip statistics in microseconds. */
export interface RttStats {
  samples: number;
  lost: number;
  min_us?: number;
  p50_us?: number;
  p90_us?: number;
  p99_us?: number;
  max_us?: number;
  mean_us?: number;
  error?: string;
  skipped?: string;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.round(p / 100 * (sorted.length - 1))));
  return sorted[k];
}

/** Statistics of a list of RTTs (us). */
export function rttStats(rtts: number[], sent: number): RttStats {
  const s = [...rtts].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  if (s.length === 0) return { samples: 0, lost: sent };
  return {
    samples: s.length,
    lost: sent - s.length,
    min_us: r(s[0]),
    p50_us: r(percentile(s, 50)),
    p90_us: r(percentile(s, 90)),
    p99_us: r(percentile(s, 99)),
    max_us: r(s[s.length - 1]),
    mean_us: r(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

/** Parse the per-reply lines of iputils ping (`... time=0.045 ms`) into microseconds. */
export function parsePing(out: string): number[] {
  const rtts: number[] = [];
  for (const m of out.matchAll(/time=([\d.]+) ms/g)) rtts.push(Number(m[1]) * 1000);
  return rtts;
}

/** Round trips sent and discarded before measuring (JIT tier-up, caches, ARP): 10%, 50..500. */
export function warmupCount(count: number): number {
  return Math.min(500, Math.max(50, Math.round(count / 10)));
}

async function ping(topo: Topology, count: number): Promise<RttStats> {
  // Fresh ARP every time: the responder has to answer it (and the kernel's cached entry of the
  // previous responder would not matter on one veth, but keep runs independent).
  await run(["ip", "-n", topo.gen, "neigh", "flush", "dev", topo.genIf], true);
  const warmup = warmupCount(count);
  const out = await run(
    [
      "taskset",
      "-c",
      GEN_CPU,
      ...inNs(
        topo.gen,
        "ping",
        "-n",
        "-c",
        String(count + warmup),
        "-i",
        "0.002",
        "-W",
        "1",
        DUT_IP,
      ),
    ],
    true,
  );
  return rttStats(parsePing(out).slice(warmup), count);
}

/** Ping through a responder contender (byPassRT respond, C reference respond). */
export async function pingVia(c: Contender, topo: Topology, count: number): Promise<RttStats> {
  const why = await c.unavailable();
  if (why) return { samples: 0, lost: 0, skipped: why };
  let r;
  try {
    r = await c.start("respond", topo, { intervalS: 1, ip: DUT_IP });
  } catch (e) {
    return { samples: 0, lost: 0, error: (e as Error).message };
  }
  try {
    return await ping(topo, count);
  } finally {
    await r.stop();
  }
}

/** Ping the kernel itself: the device namespace owns 10.0.0.1, no XDP program. */
export async function pingKernel(topo: Topology, count: number): Promise<RttStats> {
  await run(["ip", "-n", topo.dut, "addr", "add", `${DUT_IP}/24`, "dev", topo.dutIf]);
  try {
    await sleep(100);
    return await ping(topo, count);
  } finally {
    await run(["ip", "-n", topo.dut, "addr", "del", `${DUT_IP}/24`, "dev", topo.dutIf], true);
  }
}

/** UDP round trips through a MAC-swapping forwarder (contender in l2fwd mode). */
export async function udpRttVia(c: Contender, topo: Topology, count: number): Promise<RttStats> {
  const why = await c.unavailable();
  if (why) return { samples: 0, lost: 0, skipped: why };
  let r;
  try {
    r = await c.start("l2fwd", topo, { intervalS: 1 });
  } catch (e) {
    return { samples: 0, lost: 0, error: (e as Error).message };
  }
  try {
    const out = await run([
      "taskset",
      "-c",
      GEN_CPU,
      ...inNs(
        topo.gen,
        "python3",
        `${ROOT}bench/udp_rtt.py`,
        "--iface",
        topo.genIf,
        "--dst-mac",
        topo.dutMac,
        "--count",
        String(count),
        "--warmup",
        String(warmupCount(count)),
      ),
    ]);
    return JSON.parse(out.trim().split("\n").at(-1)!);
  } catch (e) {
    return { samples: 0, lost: count, error: (e as Error).message };
  } finally {
    await r.stop();
  }
}
