/**
 * Several interfaces (`--iface A,B,...`): the checks, one steering program per extra interface
 * (the same steering as the first's, each with its own XSKMAP), and the per-interface counters
 * of the snapshot. The first interface keeps the engine's own program; see `engine/loop.ts`
 * (`runLoop` over several ports) for how one Worker serves them all on one UMEM.
 *
 * @module
 */
import { BypassError } from "./errors.ts";
import { PORT_COUNTERS, snakeCase } from "./counters.ts";
import {
  loadXdpProgram,
  type ProgramCounters,
  type XdpProgram,
  type XdpProgramOptions,
} from "./xdp_program.ts";

/** Most interfaces one run serves. */
export const MAX_IFACES = 8;

/**
 * The per-interface counters: the port's own (rx, tx, ...), summed over the queues, and our XDP
 * program's on that interface as `xdp_<key>` (`xdp_redirected`, `xdp_passed`, ...).
 */
export type InterfaceSnapshot = { iface: string } & Record<string, number | string>;

/**
 * Check the interface list of a run: distinct names, at most {@link MAX_IFACES}, and what a run
 * over several interfaces does not support. Throws a {@link BypassError} with one line.
 */
export function checkIfaces(
  ifaces: readonly string[],
  o: { fwd: boolean; userProgram: boolean; toKernel?: boolean },
): void {
  const seen = new Set<string>();
  for (const i of ifaces) {
    if (i === "") throw new BypassError("--iface has an empty name: write --iface A or A,B");
    if (seen.has(i)) {
      throw new BypassError(`--iface names ${i} twice: name each interface once, e.g. A,B`);
    }
    seen.add(i);
  }
  if (ifaces.length > MAX_IFACES) {
    throw new BypassError(
      `--iface names ${ifaces.length} interfaces: at most ${MAX_IFACES} per run`,
    );
  }
  if (o.fwd && ifaces.length < 2) {
    throw new BypassError("--mode fwd forwards between interfaces: name two, e.g. --iface A,B");
  }
  if (ifaces.length > 1 && o.userProgram) {
    throw new BypassError(
      "--xdp-prog serves one interface: drop --xdp-prog or name one interface in --iface",
    );
  }
  if (ifaces.length > 1 && o.toKernel) {
    throw new BypassError(
      "a handler that hands frames to the kernel (toKernel, --mode inspect) serves one " +
        "interface: name one in --iface",
    );
  }
}

/**
 * Load and attach our program on each of `ifaces` with `o`'s mode and steering; on a failure the
 * ones already attached are closed and the error goes on.
 */
export function loadMorePrograms(
  ifaces: readonly string[],
  o: Omit<XdpProgramOptions, "iface">,
): XdpProgram[] {
  const out: XdpProgram[] = [];
  try {
    for (const iface of ifaces) out.push(loadXdpProgram({ ...o, iface }));
  } catch (e) {
    for (const p of out) p.close();
    throw e;
  }
  return out;
}

/**
 * The per-interface section of a snapshot: each block's port counters, summed per interface, and
 * the program counters of each interface (`programs[k]`, when given).
 */
export function interfaceSnapshots(
  ifaces: readonly string[],
  /** Per queue: one block per interface (`--iface` order). */
  blocks: readonly (readonly Float64Array[])[],
  programs: readonly ProgramCounters[] = [],
): InterfaceSnapshot[] {
  return ifaces.map((iface, k) => {
    const out: InterfaceSnapshot = { iface };
    PORT_COUNTERS.forEach((d, j) => {
      out[snakeCase(d.name)] = blocks.reduce((a, q) => a + (q[k]?.[j] ?? 0), 0);
    });
    for (const [key, v] of Object.entries(programs[k] ?? {})) out[`xdp_${key}`] = v;
    return out;
  });
}

/** The sum of several programs' counters, key by key (one program: its counters as they are). */
export function sumProgramCounters(all: readonly ProgramCounters[]): ProgramCounters {
  if (all.length === 1) return all[0];
  const out: ProgramCounters = { redirected: 0, passed: 0, dropped: 0, blocked: 0 };
  for (const c of all) {
    for (const k of Object.keys(out) as (keyof ProgramCounters)[]) out[k] += c[k] ?? 0;
  }
  return out;
}
