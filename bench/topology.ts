/**
 * The benchmark's own topology: two network namespaces (`bpb-<tag>-gen`, `bpb-<tag>-dut`) joined
 * by one veth pair, IPv6 off, GRO off, default MTU (1500: fine for native XDP on veth). The
 * generator end gets 10.0.0.2/24; the device end has no address (the kernel-ping test adds
 * 10.0.0.1 for its duration). Deleting the namespaces deletes the pair. All benchmark traffic
 * stays on this pair.
 *
 * @module
 */
import { run } from "./proc.ts";
import { deleteVethPair, ensureVethPair, inNs, type VethSpec } from "../topology/veth.ts";

/** Names and addresses of the topology. */
export interface Topology {
  gen: string;
  dut: string;
  genIf: string;
  dutIf: string;
  genMac: string;
  dutMac: string;
  /** Value of /sys/class/net/<dutIf>/threaded at creation (must be 0). */
  threaded: string;
}

/** The tag in names: BPB_TAG (set by bench/run.sh to its pid) or our own pid. */
export function topologyTag(): string {
  const t = Deno.env.get("BPB_TAG") ?? String(Deno.pid);
  if (!/^[0-9a-z]{1,10}$/.test(t)) throw new Error(`BPB_TAG "${t}" must be 1-10 of [0-9a-z]`);
  return t;
}

/** Names for `tag` (nothing created). */
export function topologyNames(tag: string): Pick<Topology, "gen" | "dut" | "genIf" | "dutIf"> {
  return {
    gen: `bpb-${tag}-gen`,
    dut: `bpb-${tag}-dut`,
    genIf: `bpbg${tag}`,
    dutIf: `bpbd${tag}`,
  };
}

/** `ip netns exec ns argv...` (the topology builder's). */
export { inNs };

/** The pair as the one topology builder (topology/veth.ts) sees it. */
function vethSpec(n: Pick<Topology, "gen" | "dut" | "genIf" | "dutIf">): VethSpec {
  return { dev: n.dutIf, peer: n.genIf, devNs: n.dut, peerNs: n.gen, ipv6: false };
}

/**
 * Create the topology (after removing a leftover with the same names). If a step fails, what
 * was made is removed before the error goes on.
 */
export async function createTopology(tag: string): Promise<Topology> {
  const n = topologyNames(tag);
  await deleteTopology(n);
  try {
    const pair = await ensureVethPair({ ...vethSpec(n), peerAddr: "10.0.0.2/24" });
    for (const [ns, dev] of [[n.gen, n.genIf], [n.dut, n.dutIf]]) {
      // A fresh veth is not threaded; should it ever be, reset it as the notes say.
      const threaded = (await run(inNs(ns, "cat", `/sys/class/net/${dev}/threaded`))).trim();
      if (threaded !== "0") await resetThreaded(ns, dev);
    }
    return {
      ...n,
      genMac: pair.peerMac,
      dutMac: pair.devMac,
      threaded: (await run(inNs(n.dut, "cat", `/sys/class/net/${n.dutIf}/threaded`))).trim(),
    };
  } catch (e) {
    await deleteTopology(n).catch(() => {});
    throw e;
  }
}

/** GRO on, threaded 0, GRO off (what /sys/class/net/<dev>/threaded needs to really reset). */
export async function resetThreaded(ns: string, dev: string): Promise<void> {
  await run(inNs(ns, "ethtool", "-K", dev, "gro", "on"));
  await run(inNs(ns, "sh", "-c", `echo 0 > /sys/class/net/${dev}/threaded`));
  await run(inNs(ns, "ethtool", "-K", dev, "gro", "off"));
}

/** Delete both namespaces (and so the pair); quiet when they do not exist. */
export async function deleteTopology(t: Pick<Topology, "gen" | "dut">): Promise<void> {
  await deleteVethPair({ devNs: t.dut, peerNs: t.gen }, { namespaces: true });
}
