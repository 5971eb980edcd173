/**
 * The topology and small helpers the forwarding benchmarks share (bench/fwd.ts, 64-byte frames
 * against testpmd; bench/fwd_jumbo.ts, 9000-byte frames against the kernel's bridge): three
 * namespaces, gen --veth-- dut(d0) and dut(d1) --veth-- sink, with unique names per run, and
 * removed again by {@link deleteFwdTopology} (also after a failure).
 *
 * @module
 */
import { deleteVethPair, ensureVethPair, inNs } from "../topology/veth.ts";
import { run } from "./proc.ts";
import { type Topology, topologyTag } from "./topology.ts";

/** Namespace and interface names of one run. */
export interface FwdNames {
  ns: { gen: string; dut: string; snk: string };
  ifs: { gen: string; d0: string; d1: string; snk: string };
}

/** Fresh names (unique per run: the tag carries the pid). */
export function fwdNames(tag = topologyTag()): FwdNames {
  return {
    ns: { gen: `bpb-${tag}-gen`, dut: `bpb-${tag}-dut`, snk: `bpb-${tag}-snk` },
    ifs: { gen: `bpbg${tag}`, d0: `bpba${tag}`, d1: `bpbb${tag}`, snk: `bpbs${tag}` },
  };
}

/**
 * Create both veth pairs (and the namespaces), every end at `mtu` when given. Returns the
 * generator-side {@link Topology} (dutIf d0) and the sink's MAC.
 */
export async function createFwdTopology(
  n: FwdNames,
  o: { mtu?: number } = {},
): Promise<{ topo: Topology; sinkMac: string }> {
  const { ns, ifs } = n;
  const p0 = await ensureVethPair({
    dev: ifs.d0,
    peer: ifs.gen,
    devNs: ns.dut,
    peerNs: ns.gen,
    peerAddr: "10.0.0.2/24",
    ipv6: false,
  });
  const p1 = await ensureVethPair({
    dev: ifs.d1,
    peer: ifs.snk,
    devNs: ns.dut,
    peerNs: ns.snk,
    ipv6: false,
  });
  if (o.mtu !== undefined) {
    const ends = [[ns.gen, ifs.gen], [ns.dut, ifs.d0], [ns.dut, ifs.d1], [ns.snk, ifs.snk]];
    for (const [k, i] of ends) await run(["ip", "-n", k, "link", "set", i, "mtu", String(o.mtu)]);
  }
  const topo: Topology = {
    gen: ns.gen,
    dut: ns.dut,
    genIf: ifs.gen,
    dutIf: ifs.d0,
    genMac: p0.peerMac,
    dutMac: p0.devMac,
    threaded: "0",
  };
  return { topo, sinkMac: p1.peerMac };
}

/** Remove both pairs and the three namespaces (what exists of them). */
export async function deleteFwdTopology(n: FwdNames): Promise<void> {
  await deleteVethPair({ devNs: n.ns.dut, peerNs: n.ns.gen }, { namespaces: true });
  await deleteVethPair({ devNs: n.ns.snk }, { namespaces: true });
}

/** An interface's kernel counter (`/sys/class/net/IF/statistics/WHAT`) read inside `ns`. */
export async function ifaceCounter(ns: string, iface: string, what: string): Promise<number> {
  return Number((await run(inNs(ns, "cat", `/sys/class/net/${iface}/statistics/${what}`))).trim());
}

/** Median (upper middle) of `xs`; NaN when empty. */
export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

/** A started contender: something to stop. */
export interface Started {
  stop(): Promise<unknown>;
}

/**
 * Start a contender, run `body` while it runs and stop it; if it does not start, the result is
 * `failed(reason)` (the benchmark reports it and goes on).
 */
export async function withContender<R>(
  start: () => Promise<Started>,
  body: () => Promise<R>,
  failed: (reason: string) => R,
): Promise<R> {
  let c: Started;
  try {
    c = await start();
  } catch (e) {
    return failed(String(e));
  }
  try {
    return await body();
  } finally {
    await c.stop();
  }
}
