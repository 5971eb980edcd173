/**
 * The commands of the control socket and what each does to the running engine: the one table
 * the server dispatches on, the `help` command lists, and the README documents. Each command
 * validates its arguments and calls one method of a {@link ControlTarget} (the Engine, or a fake
 * in tests); whatever it throws becomes an error reply, never a crash of the server.
 *
 * @module
 */
import type { EngineSnapshot } from "./runtime.ts";
import { type BlockEntry, parseCidr } from "./blocklist.ts";
import type { ControlReply, ControlRequest } from "./control_protocol.ts";
import { PROTOCOL_VERSION } from "./control_protocol.ts";

/** What is steered to user space besides ARP/ICMP for the respond address. */
export interface SteerState {
  /** Everything is steered (`--steer all`). */
  all: boolean;
  /** UDP destination ports steered, sorted. */
  udpPorts: number[];
  /** The respond address, dotted, or "". */
  respondIp: string;
  /** The respond IPv6 address (RFC 5952 text), or "" (absent from older servers). */
  respondIp6?: string;
  /** Tagged frames are steered by their inner header (`--vlan`). */
  vlan?: boolean;
}

/**
 * What the control socket drives: exactly the {@link Engine}'s blocklist and steering methods,
 * `snapshot()` and `reload()`. Serving calls nothing else, and none of these touches the polling
 * Workers (they read shared counters and update BPF maps).
 */
export interface ControlTarget {
  /** Add a prefix; returns its canonical form. Throws on a bad CIDR. */
  blockAdd(cidr: string): string;
  /** Add several; returns how many were new. Validates all first. */
  blockAddMany(cidrs: string[]): number;
  /** Remove a prefix; false when it was not there. Throws on a bad CIDR. */
  blockDel(cidr: string): boolean;
  /** Every prefix with its drops, sorted. */
  blockList(): BlockEntry[];
  /** Steer these UDP destination ports too. */
  steerAdd(ports: number[]): void;
  /** Stop steering these ports; throws naming one that is not steered. */
  steerDel(ports: number[]): void;
  /** What is steered now. */
  steerList(): SteerState;
  /** Every counter now. */
  snapshot(): EngineSnapshot;
  /** Reload the handler (what SIGHUP does). */
  reload(): Promise<{ ok: boolean; message: string }>;
}

/**
 * `target` with its methods bound, its `reload` replaced by `reload` (e.g. one queued behind
 * SIGHUP's, so two reloads never overlap).
 */
export function withReload(
  target: ControlTarget,
  reload: () => Promise<{ ok: boolean; message: string }>,
): ControlTarget {
  return {
    blockAdd: (c) => target.blockAdd(c),
    blockAddMany: (c) => target.blockAddMany(c),
    blockDel: (c) => target.blockDel(c),
    blockList: () => target.blockList(),
    steerAdd: (p) => target.steerAdd(p),
    steerDel: (p) => target.steerDel(p),
    steerList: () => target.steerList(),
    snapshot: () => target.snapshot(),
    reload,
  };
}

/** What the server tells about itself (`hello`). */
export interface ServerInfo {
  /** Interface served. */
  iface: string;
}

/** A command of the control socket. */
export interface ControlCommand {
  /** As sent in `cmd`, e.g. `"block add"`. */
  readonly name: string;
  /** Its arguments, as shown in help (e.g. `"CIDR [CIDR...]"`). */
  readonly usage: string;
  /** What it does, one line. */
  readonly summary: string;
  /** Fewest and most arguments. */
  readonly arity: readonly [number, number];
  /** Do it; the return value is the reply's `result`. */
  run(t: ControlTarget, args: string[], info: ServerInfo): unknown;
}

/** A request the command cannot take: the message is the error reply. */
export class ControlRequestError extends Error {
  /** `message`: one line naming the problem. */
  constructor(message: string) {
    super(message);
    this.name = "ControlRequestError";
  }
}

/**
 * The ports of `udp:P[,P...]` (1-65535, duplicates dropped), or an error naming the bad part.
 *
 * @example
 * ```ts
 * import { parseUdpPorts } from "./control_commands.ts";
 * parseUdpPorts("udp:4243,4244"); // [4243, 4244]
 * ```
 */
export function parseUdpPorts(spec: string): number[] {
  const m = /^udp:(.+)$/.exec(spec);
  if (!m) {
    throw new ControlRequestError(`"${spec}" is not a port list: give udp:PORT[,PORT...]`);
  }
  const ports = m[1].split(",").map((p) => {
    const n = /^\d{1,6}$/.test(p) ? Number(p) : NaN;
    if (!(n >= 1 && n <= 65535)) {
      throw new ControlRequestError(
        `port "${p}" in "${spec}" is out of range: give UDP ports from 1 to 65535`,
      );
    }
    return n;
  });
  return [...new Set(ports)];
}

function portsOf(args: string[]): number[] {
  return [...new Set(args.flatMap(parseUdpPorts))];
}

/** Every command, in the order `help` lists them. */
export const CONTROL_COMMANDS: readonly ControlCommand[] = [
  {
    name: "hello",
    usage: "",
    summary: "protocol version, server and interface",
    arity: [0, 0],
    run: (_t, _a, info) => ({
      server: "bypassrt",
      protocol: PROTOCOL_VERSION,
      iface: info.iface,
      pid: Deno.pid,
    }),
  },
  {
    name: "help",
    usage: "",
    summary: "the commands",
    arity: [0, 0],
    run: () => ({
      commands: CONTROL_COMMANDS.map((c) => ({ cmd: c.name, args: c.usage, summary: c.summary })),
    }),
  },
  {
    name: "block add",
    usage: "CIDR [CIDR...]",
    summary: "drop frames from these source prefixes at the XDP hook; one: {prefix} " +
      "(canonical), several: {added (new ones), given}",
    arity: [1, Infinity],
    run: (t, args) =>
      args.length === 1
        ? { prefix: t.blockAdd(args[0]) }
        : { added: t.blockAddMany(args), given: args.length },
  },
  {
    name: "block del",
    usage: "CIDR",
    summary: "stop dropping a prefix",
    arity: [1, 1],
    run: (t, [cidr]) => {
      const removed = t.blockDel(cidr); // throws on a bad CIDR
      const prefix = parseCidr(cidr).prefix;
      if (!removed) {
        throw new ControlRequestError(`${prefix} is not in the blocklist: see block list`);
      }
      return { removed: prefix };
    },
  },
  {
    name: "block list",
    usage: "",
    summary: "every blocked prefix and the frames it dropped",
    arity: [0, 0],
    run: (t) => ({ prefixes: t.blockList() }),
  },
  {
    name: "steer add",
    usage: "udp:PORT[,PORT...]",
    summary: "steer these UDP destination ports to user space too (no restart)",
    arity: [1, Infinity],
    run: (t, args) => {
      t.steerAdd(portsOf(args));
      return t.steerList();
    },
  },
  {
    name: "steer del",
    usage: "udp:PORT[,PORT...]",
    summary: "stop steering these UDP ports",
    arity: [1, Infinity],
    run: (t, args) => {
      t.steerDel(portsOf(args));
      return t.steerList();
    },
  },
  {
    name: "steer list",
    usage: "",
    summary: "what the XDP program steers to user space",
    arity: [0, 0],
    run: (t) => t.steerList(),
  },
  {
    name: "stats",
    usage: "",
    summary: "every counter, per queue and total (the --json snapshot)",
    arity: [0, 0],
    run: (t) => t.snapshot(),
  },
  {
    name: "handler reload",
    usage: "",
    summary: "reload the handler file (what SIGHUP does)",
    arity: [0, 0],
    run: async (t) => {
      const r = await t.reload();
      if (!r.ok) throw new ControlRequestError(r.message);
      return { message: r.message };
    },
  },
];

const BY_NAME = new Map(CONTROL_COMMANDS.map((c) => [c.name, c]));

/**
 * Run one request against `target`; never throws: every failure is an error reply.
 *
 * @example
 * ```ts ignore
 * import { dispatch } from "./control_commands.ts";
 * await dispatch(engine, { id: 1, cmd: "block list", args: [] }, { iface: "eth0" });
 * // { id: 1, ok: true, result: { prefixes: [...] } }
 * ```
 */
export async function dispatch(
  target: ControlTarget,
  req: ControlRequest,
  info: ServerInfo,
): Promise<ControlReply> {
  const c = BY_NAME.get(req.cmd);
  if (!c) {
    return {
      id: req.id,
      ok: false,
      error: `unknown command "${req.cmd}": use one of ${
        CONTROL_COMMANDS.map((c) => c.name).join(", ")
      }`,
    };
  }
  const [min, max] = c.arity;
  if (req.args.length < min || req.args.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min}-${max}`;
    const plural = /(^| )1$/.test(want) ? "" : "s";
    return {
      id: req.id,
      ok: false,
      error: `${c.name} takes ${want} argument${plural}, got ${req.args.length}: ` +
        `${c.name}${c.usage ? ` ${c.usage}` : ""}`,
    };
  }
  try {
    return { id: req.id, ok: true, result: await c.run(target, req.args, info) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { id: req.id, ok: false, error: msg.split("\n")[0] || `${c.name} failed` };
  }
}
