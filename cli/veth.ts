/**
 * setup-veth / teardown-veth: the test pair byPassRT runs on, built by the one topology builder
 * (`topology/veth.ts`). Idempotent: running setup twice leaves the same state; teardown removes
 * only what setup makes.
 *
 * @module
 */
import { BypassError } from "../engine/errors.ts";
import { deleteVethPair, ensureVethPair } from "../topology/veth.ts";

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

/** Create (or complete) the veth pair. */
export async function setupVeth(o: VethOptions): Promise<void> {
  const dev = o.dev ?? VETH_DEFAULTS.dev, peer = o.peer ?? VETH_DEFAULTS.peer;
  const peerAddr = o.peerAddr ?? VETH_DEFAULTS.peerAddr;
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(peerAddr)) {
    throw new BypassError(`--peer-addr "${peerAddr}" is invalid: give A.B.C.D/LEN`);
  }
  const [devNs, peerNs] = splitNetns(o.netns) ?? [undefined, undefined];
  await ensureVethPair({ dev, peer, devNs, peerNs, peerAddr });
  console.log(
    `${dev}${devNs ? ` (netns ${devNs})` : ""} <-> ${peer}${peerNs ? ` (netns ${peerNs})` : ""} ` +
      `ready; peer has ${peerAddr}; run: bypassrt --iface ${dev} --mode respond --ip ${VETH_DEFAULTS.respondIp}`,
  );
}

/** Remove the pair (and the namespaces named by --netns). */
export async function teardownVeth(o: { dev?: string; netns?: string }): Promise<void> {
  const dev = o.dev ?? VETH_DEFAULTS.dev;
  const ns = splitNetns(o.netns);
  await deleteVethPair({ dev, devNs: ns?.[0], peerNs: ns?.[1] }, { namespaces: ns !== undefined });
  console.log(`removed ${dev}${ns ? ` and namespaces ${ns.join(", ")}` : ""}`);
}
