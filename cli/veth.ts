/**
 * setup-veth / teardown-veth: the test pair byPassRT runs on. Idempotent: running setup twice
 * leaves the same state; teardown removes only what setup makes.
 *
 * @module
 */
import { BypassError } from "../engine/errors.ts";
import { mustSh, sh } from "./sh.ts";

/** Default names and addresses (byPassRT answers for 10.0.0.1 on the dev side). */
export const VETH_DEFAULTS = {
  dev: "veth-bypass",
  peer: "veth-peer",
  peerAddr: "10.0.0.2/24",
  respondIp: "10.0.0.1",
} as const;

/** Options of {@link setupVeth}. */
export interface VethOptions {
  dev?: string;
  peer?: string;
  peerAddr?: string;
  /** "devns,peerns". */
  netns?: string;
}

function splitNetns(v: string | undefined): [string, string] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(",");
  if (parts.length !== 2 || parts.some((p) => !/^[A-Za-z0-9_.-]{1,64}$/.test(p))) {
    throw new BypassError(`--netns "${v}" is invalid: give two names, e.g. bp-dut,bp-peer`);
  }
  return [parts[0], parts[1]];
}

const inNs = (ns: string | undefined, ...args: string[]) => ns ? ["-n", ns, ...args] : args;

async function linkExists(ns: string | undefined, name: string): Promise<boolean> {
  return (await sh("ip", ...inNs(ns, "link", "show", "dev", name))).code === 0;
}

async function ensureNetns(name: string): Promise<void> {
  const list = await mustSh("ip", "netns", "list");
  if (!list.split("\n").some((l) => l.split(" ")[0] === name)) {
    await mustSh("ip", "netns", "add", name);
  }
}

/** Create (or complete) the veth pair. */
export async function setupVeth(o: VethOptions): Promise<void> {
  const dev = o.dev ?? VETH_DEFAULTS.dev, peer = o.peer ?? VETH_DEFAULTS.peer;
  const addr = o.peerAddr ?? VETH_DEFAULTS.peerAddr;
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(addr)) {
    throw new BypassError(`--peer-addr "${addr}" is invalid: give A.B.C.D/LEN`);
  }
  const ns = splitNetns(o.netns);
  const [devNs, peerNs] = ns ?? [undefined, undefined];
  if (ns) { for (const n of ns) await ensureNetns(n); }
  const devThere = await linkExists(devNs, dev), peerThere = await linkExists(peerNs, peer);
  if (!devThere || !peerThere) {
    if (devThere) await mustSh("ip", ...inNs(devNs, "link", "del", dev));
    if (peerThere) await mustSh("ip", ...inNs(peerNs, "link", "del", peer));
    await mustSh(
      "ip",
      ...inNs(devNs, "link", "add", dev, "type", "veth", "peer", "name", peer),
      ...(peerNs ? ["netns", peerNs] : []),
    );
  }
  for (const [n, name] of [[devNs, dev], [peerNs, peer]] as const) {
    await mustSh("ip", ...inNs(n, "link", "set", name, "up"));
    // GRO off: AF_XDP copy mode and our benchmarks want plain per-frame NAPI behaviour.
    const ethtool = n ? ["ip", "netns", "exec", n, "ethtool"] : ["ethtool"];
    await mustSh(ethtool[0], ...ethtool.slice(1), "-K", name, "gro", "off");
  }
  const have = await mustSh("ip", ...inNs(peerNs, "-br", "addr", "show", "dev", peer));
  if (!have.includes(addr)) await mustSh("ip", ...inNs(peerNs, "addr", "add", addr, "dev", peer));
  console.log(
    `${dev}${devNs ? ` (netns ${devNs})` : ""} <-> ${peer}${peerNs ? ` (netns ${peerNs})` : ""} ` +
      `ready; peer has ${addr}; run: bypassrt --iface ${dev} --mode respond --ip ${VETH_DEFAULTS.respondIp}`,
  );
}

/** Remove the pair (and the namespaces named by --netns). */
export async function teardownVeth(o: { dev?: string; netns?: string }): Promise<void> {
  const dev = o.dev ?? VETH_DEFAULTS.dev;
  const ns = splitNetns(o.netns);
  if (await linkExists(ns?.[0], dev)) await mustSh("ip", ...inNs(ns?.[0], "link", "del", dev));
  if (ns) {
    const list = await mustSh("ip", "netns", "list");
    for (const n of ns) {
      if (list.split("\n").some((l) => l.split(" ")[0] === n)) {
        await mustSh("ip", "netns", "del", n);
      }
    }
  }
  console.log(`removed ${dev}${ns ? ` and namespaces ${ns.join(", ")}` : ""}`);
}
