/**
 * The one topology builder: a veth pair, each end optionally in a network namespace of its own.
 * `bypassrt setup-veth`, the tests and the benchmark all build their pair with it.
 *
 * {@link ensureVethPair} is idempotent: namespaces are created when missing, a half-made pair is
 * removed and made again, an address is added only when absent. Both ends come up with GRO off
 * (AF_XDP copy mode and the benchmarks want plain per-frame NAPI behaviour).
 *
 * @module
 */
import { BypassError } from "../engine/errors.ts";
import { mustSh, sh } from "../cli/sh.ts";

/** What to build. Names follow the kernel's limits: interfaces 1-15 characters. */
export interface VethSpec {
  /** The end byPassRT serves. */
  dev: string;
  /** The other end (traffic generator, pinger). */
  peer: string;
  /** Namespace of `dev` (created when missing); the current namespace when absent. */
  devNs?: string;
  /** Namespace of `peer` (created when missing); the current namespace when absent. */
  peerNs?: string;
  /** Address of `peer` as A.B.C.D/LEN (none when absent). */
  peerAddr?: string;
  /** Address of `dev` as A.B.C.D/LEN (none when absent). */
  devAddr?: string;
  /** RX and TX queues of each end (default 1; veth allows up to the number of CPUs). */
  queues?: number;
  /**
   * false: turn IPv6 off on both ends (no router solicitations or MLD reports: packet counts in
   * tests stay exact). Default true: IPv6 left as the system has it.
   */
  ipv6?: boolean;
}

/** Both ends' MAC addresses, read after creation. */
export interface VethPair extends Required<Pick<VethSpec, "dev" | "peer">> {
  /** MAC of `dev`. */
  devMac: string;
  /** MAC of `peer`. */
  peerMac: string;
}

/** `argv` run inside namespace `ns` (as is when `ns` is undefined). */
export function inNs(ns: string | undefined, ...argv: string[]): string[] {
  return ns ? ["ip", "netns", "exec", ns, ...argv] : argv;
}

/** Run `argv` (see `mustSh`), inside namespace `ns` when given. */
const shIn = (ns: string | undefined, argv: string[]) => mustSh(...(inNs(ns, ...argv) as [string]));

const ipIn = (ns: string | undefined, ...args: string[]) =>
  mustSh("ip", ...(ns ? ["-n", ns] : []), ...args);

/** The namespaces that exist now. */
export async function listNetns(): Promise<string[]> {
  return (await mustSh("ip", "netns", "list")).split("\n").map((l) => l.split(" ")[0]).filter((
    n,
  ) => n);
}

async function linkExists(ns: string | undefined, name: string): Promise<boolean> {
  return (await sh("ip", ...(ns ? ["-n", ns] : []), "link", "show", "dev", name)).code === 0;
}

function check(spec: VethSpec): void {
  for (const name of [spec.dev, spec.peer]) {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
      throw new BypassError(`interface name "${name}" is invalid: use 1-15 of [A-Za-z0-9_.-]`);
    }
  }
  for (const ns of [spec.devNs, spec.peerNs]) {
    if (ns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(ns)) {
      throw new BypassError(`namespace name "${ns}" is invalid: use 1-64 of [A-Za-z0-9_.-]`);
    }
  }
  for (const a of [spec.peerAddr, spec.devAddr]) {
    if (a !== undefined && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(a)) {
      throw new BypassError(`address "${a}" is invalid: give A.B.C.D/LEN`);
    }
  }
  const q = spec.queues ?? 1;
  if (!Number.isInteger(q) || q < 1 || q > 64) {
    throw new BypassError(`queue count ${q} is invalid: give 1 to 64`);
  }
}

/**
 * Create (or complete) the pair described by `spec` and return both MACs.
 *
 * @example
 * ```ts ignore
 * import { deleteVethPair, ensureVethPair } from "./veth.ts";
 * const spec = { dev: "bp-d", peer: "bp-p", devNs: "bp-dut", peerNs: "bp-peer", ipv6: false };
 * const pair = await ensureVethPair({ ...spec, peerAddr: "10.0.0.2/24" });
 * console.log(pair.devMac);
 * await deleteVethPair(spec, { namespaces: true });
 * ```
 */
export async function ensureVethPair(spec: VethSpec): Promise<VethPair> {
  check(spec);
  const { dev, peer, devNs, peerNs } = spec;
  const have = await listNetns();
  for (const ns of new Set([devNs, peerNs])) {
    if (ns !== undefined && !have.includes(ns)) await mustSh("ip", "netns", "add", ns);
  }
  const devThere = await linkExists(devNs, dev), peerThere = await linkExists(peerNs, peer);
  if (!devThere || !peerThere) {
    if (devThere) await ipIn(devNs, "link", "del", dev);
    if (peerThere) await ipIn(peerNs, "link", "del", peer);
    const q = String(spec.queues ?? 1);
    const queues = ["numrxqueues", q, "numtxqueues", q];
    await ipIn(
      devNs,
      "link",
      "add",
      dev,
      ...queues,
      "type",
      "veth",
      "peer",
      "name",
      peer,
      // The peer goes to its namespace, or to ours (by pid) when it has none.
      ...(peerNs !== devNs ? ["netns", peerNs ?? String(Deno.pid)] : []),
      ...queues,
    );
  }
  for (const [ns, name] of [[devNs, dev], [peerNs, peer]] as const) {
    if (spec.ipv6 === false) {
      await shIn(ns, ["sysctl", "-q", "-w", `net/ipv6/conf/${name}/disable_ipv6=1`]);
    }
    if (ns !== undefined) await ipIn(ns, "link", "set", "lo", "up");
    await ipIn(ns, "link", "set", name, "up");
    await shIn(ns, ["ethtool", "-K", name, "gro", "off"]);
  }
  for (const [ns, name, addr] of [[peerNs, peer, spec.peerAddr], [devNs, dev, spec.devAddr]]) {
    if (addr === undefined) continue;
    const cur = await ipIn(ns, "-br", "addr", "show", "dev", name!);
    if (!cur.split(/\s+/).includes(addr)) await ipIn(ns, "addr", "add", addr, "dev", name!);
  }
  const mac = async (ns: string | undefined, name: string) =>
    (await shIn(ns, ["cat", `/sys/class/net/${name}/address`])).trim();
  return { dev, peer, devMac: await mac(devNs, dev), peerMac: await mac(peerNs, peer) };
}

/**
 * Remove the pair (deleting `dev` deletes both ends); with `namespaces`, also delete `devNs` and
 * `peerNs` (which deletes whatever is left in them, the pair included). Quiet about what is
 * already gone.
 */
export async function deleteVethPair(
  spec: Partial<Pick<VethSpec, "dev" | "devNs" | "peerNs">>,
  o: { namespaces?: boolean } = {},
): Promise<void> {
  if (spec.dev !== undefined && await linkExists(spec.devNs, spec.dev)) {
    await ipIn(spec.devNs, "link", "del", spec.dev).catch(() => {});
  }
  if (!o.namespaces) return;
  const have = await listNetns();
  for (const ns of new Set([spec.devNs, spec.peerNs])) {
    if (ns !== undefined && have.includes(ns)) {
      await mustSh("ip", "netns", "del", ns).catch(() => {});
    }
  }
}
