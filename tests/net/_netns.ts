/**
 * Test helpers for real packets: a topology of two network namespaces of our own (unique names)
 * joined by a veth pair, torn down in `finally` whatever happens (all test traffic stays between
 * them), byPassRT processes in them, and the packet I/O tool (testing/pktio.py).
 *
 * @module
 */
import { deepStrictEqual } from "node:assert/strict";
import { deleteVethPair, ensureVethPair } from "../../topology/veth.ts";

/** A pair of namespaces and the veth between them. */
export interface Topology {
  /** Device-under-test namespace (byPassRT runs here). */
  dut: string;
  /** Peer namespace (traffic generator / pinger). */
  peer: string;
  /** veth end in `dut`. */
  dutIf: string;
  /** veth end in `peer`. */
  peerIf: string;
  /** MAC of `dutIf`. */
  dutMac: string;
  /** MAC of `peerIf`. */
  peerMac: string;
  /** Address of the peer end (10.0.0.2); byPassRT answers for 10.0.0.1 in respond tests. */
  peerIp: string;
  /**
   * With `second: true`: a second veth pair from `dut` to a third namespace (A - dut - B, for
   * forwarding between two interfaces). No addresses on it.
   */
  b?: { peer: string; dutIf: string; peerIf: string; dutMac: string; peerMac: string };
}

const dec = new TextDecoder();

/** Run a command; throw with its stderr when it fails. */
export async function run(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

/** Run a command in a namespace. */
export function inNs(ns: string, cmd: string, ...args: string[]): Promise<string> {
  return run("ip", "netns", "exec", ns, cmd, ...args);
}

let seq = 0;

/** Build a fresh topology (the one builder, topology/veth.ts), run `fn`, always tear it down. */
export async function withTopology<T>(
  fn: (t: Topology) => Promise<T>,
  opts: {
    dutIp?: string;
    queues?: number;
    /** Leave IPv6 on in both namespaces (default off: no RS/MLD chatter, exact counts). */
    ipv6?: boolean;
    /** A second veth pair from the dut into a third namespace (see {@link Topology}). */
    second?: boolean;
  } = {},
): Promise<T> {
  const tag = `${Deno.pid.toString(36)}${(seq++).toString(36)}${
    Math.floor(Math.random() * 36 ** 3).toString(36)
  }`;
  const spec = {
    dev: `bd${tag}`.slice(0, 15),
    peer: `bp${tag}`.slice(0, 15),
    devNs: `bpt-${tag}-d`,
    peerNs: `bpt-${tag}-p`,
    peerAddr: "10.0.0.2/24",
    devAddr: opts.dutIp,
    queues: opts.queues ?? 1,
    // No IPv6 chatter (router solicitations, MLD): counts in tests must be exact.
    ipv6: opts.ipv6 ?? false,
  };
  const spec2 = {
    dev: `be${tag}`.slice(0, 15),
    peer: `bq${tag}`.slice(0, 15),
    devNs: spec.devNs,
    peerNs: `bpt-${tag}-q`,
    queues: opts.queues ?? 1,
    ipv6: false,
  };
  try {
    const pair = await ensureVethPair(spec);
    const pair2 = opts.second ? await ensureVethPair(spec2) : undefined;
    return await fn({
      ...(pair2
        ? {
          b: {
            peer: spec2.peerNs,
            dutIf: spec2.dev,
            peerIf: spec2.peer,
            dutMac: pair2.devMac,
            peerMac: pair2.peerMac,
          },
        }
        : {}),
      dut: spec.devNs,
      peer: spec.peerNs,
      dutIf: spec.dev,
      peerIf: spec.peer,
      dutMac: pair.devMac,
      peerMac: pair.peerMac,
      peerIp: "10.0.0.2",
    });
  } finally {
    // Deleting a namespace deletes the veth end in it, and with it the pair.
    if (opts.second) await deleteVethPair(spec2, { namespaces: true });
    await deleteVethPair(spec, { namespaces: true });
    // A run a test killed with SIGKILL leaves its control socket (nothing can remove it then; the
    // next run on that name replaces it). These names are the test's own: remove what is left.
    for (const dev of [spec.dev, spec2.dev]) {
      await Deno.remove(`${Deno.env.get("BYPASSRT_RUN_DIR") ?? "/run/bypassrt"}/${dev}.sock`)
        .catch(() => {});
    }
  }
}

/** True when an XDP program is attached to `dev` in `ns`. */
export async function xdpAttached(ns: string, dev: string): Promise<boolean> {
  const out = await run("ip", "-n", ns, "-d", "link", "show", "dev", dev);
  return /\bprog\/xdp\b|\bxdp(generic|drv)?\b/.test(out);
}

/** Path of the CLI entry point. */
export const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;
const PKTIO = new URL("../../testing/pktio.py", import.meta.url).pathname;

/**
 * `text` without Deno's own progress lines (`Download https://...`, printed by `deno run` on a
 * cold module cache): tests read byPassRT's stderr, not Deno's.
 */
export function ourStderr(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.split("\n").filter((l) => !/^(\x1b\[[0-9;]*m)*Download /.test(l)).join("\n");
}

/** Exit code, stdout and (ours only, see {@link ourStderr}) stderr of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI (`deno run -A cli/main.ts args...`) to completion, in namespace `ns` if given,
 * behind the `pre` command prefix (e.g. setpriv) if given, with `env` added to ours.
 */
export async function cli(
  args: string[],
  o: { ns?: string; env?: Record<string, string>; pre?: string[] } = {},
): Promise<CliResult> {
  const argv = [...(o.pre ?? []), Deno.execPath(), "run", "-A", CLI, ...args];
  const cmd = o.ns ? ["ip", "netns", "exec", o.ns, ...argv] : argv;
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: o.env ?? {},
  }).output();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: ourStderr(dec.decode(out.stderr)),
  };
}

/** A byPassRT process running in a namespace with --json. */
export class Bypassrt {
  readonly child: Deno.ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  #stderr = "";
  readonly #done: Promise<Deno.CommandStatus>;
  #firstLine: Promise<void>;

  constructor(ns: string, args: string[]) {
    const env = { ...Deno.env.toObject() };
    delete env.RUST_BACKTRACE;
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", CLI, ...args, "--json"],
      stdout: "piped",
      stderr: "piped",
      env,
      clearEnv: true,
    }).spawn();
    this.child = child;
    let gotFirst!: () => void;
    this.#firstLine = new Promise((res) => gotFirst = res);
    const readOut = (async () => {
      let buf = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          this.lines.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
          gotFirst();
        }
      }
      gotFirst();
    })();
    const readErr = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr += chunk;
      }
    })();
    this.#done = Promise.all([readOut, readErr]).then(() => child.status);
  }

  /** What the process printed on stderr so far (Deno's download lines left out). */
  get stderr(): string {
    return ourStderr(this.#stderr);
  }

  /** Resolves when the first JSON line arrived (the engine is up), or the process ended. */
  async ready(): Promise<void> {
    await this.#firstLine;
    if (this.lines.length === 0) throw new Error(`byPassRT did not start: ${this.stderr}`);
  }

  /** Send a signal and wait for the exit. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    return await this.wait();
  }

  /** Wait for the process to end by itself. */
  wait(): Promise<Deno.CommandStatus> {
    return this.#done;
  }

  /** The final JSON object (`"final": true`). */
  final(): Record<string, unknown> & {
    total: Record<string, number> & { xdp_statistics: Record<string, number> };
    program: Record<string, number>;
    balanced: boolean;
    audits: Record<string, unknown>[];
    handler_counters: Record<string, number>;
  } {
    const f = this.lines.find((l) => l.final === true);
    if (!f) throw new Error(`no final line; stderr: ${this.stderr}`);
    return f as ReturnType<Bypassrt["final"]>;
  }
}

/** Run tests/tools/pktio.py in a namespace and parse its last JSON line. */
export async function pktio(ns: string, ...args: string[]): Promise<Record<string, number>> {
  const out = await inNs(ns, "python3", PKTIO, ...args);
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** Spawn pktio in the background (for captures); returns the child. */
export function pktioSpawn(ns: string, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, "python3", PKTIO, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Ping `ip` from namespace `ns` (`count` requests, 50 ms apart, 1 s wait): whether every request
 * got its reply, how many did, and ping's output.
 */
export async function ping(
  ns: string,
  ip: string,
  count: number,
): Promise<[all: boolean, received: number, out: string]> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", ns, ...argv(`ping -c ${count} -i 0.05 -W 1 ${ip}`)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const received = Number(/(\d+) received/.exec(text)?.[1] ?? -1);
  return [received === count, received, text];
}

/** Split a space-separated argument string (no quoting needed in our tests). */
export function argv(s: string): string[] {
  return s.split(/\s+/).filter((a) => a.length > 0);
}

/**
 * Run byPassRT on the dut end with `args` (a space-separated string; `--iface` is added), call
 * `during` once it is up, then stop it with SIGINT and check it exited 0. Returns the process
 * (its `final()` report).
 */
export async function serve(
  t: Topology,
  args: string,
  during: () => Promise<void>,
): Promise<Bypassrt> {
  const b = new Bypassrt(t.dut, ["--iface", t.dutIf, ...argv(args)]);
  let failure: unknown;
  try {
    await b.ready();
    await during();
  } catch (e) {
    failure = e;
  }
  const st = await b.stop("SIGINT");
  if (failure) throw failure;
  if (st.code !== 0) throw new Error(`byPassRT exited ${st.code}: ${b.stderr}`);
  return b;
}

/** Send `count` UDP frames to `port` from the peer to the dut MAC; `extra` adds pktio flags. */
export async function sendUdp(t: Topology, count: number, port: number, extra = ""): Promise<void> {
  const r = await pktio(
    t.peer,
    "send",
    ...argv(
      `--iface ${t.peerIf} --dst-mac ${t.dutMac} --count ${count} --port ${port} ${extra}`,
    ),
  );
  if (r.sent !== count) throw new Error(`pktio sent ${r.sent} of ${count}`);
}

/**
 * pktio `echo` from the peer to the dut MAC: `count` random UDP frames to `port` (`extra` adds
 * pktio flags, e.g. `--seed 7`), each expected back byte-exact with the MACs swapped (an l2fwd
 * on the dut). Throws unless every frame came back exactly once and nothing else arrived.
 */
export async function echoUdp(t: Topology, count: number, port: number, extra = ""): Promise<void> {
  const r = await pktio(
    t.peer,
    "echo",
    ...argv(
      `--iface ${t.peerIf} --dst-mac ${t.dutMac} --count ${count} --port ${port} ` +
        `--timeout 20 ${extra}`,
    ),
  );
  const want = { sent: count, received: count, matched: count };
  const clean = { mismatched: 0, duplicates: 0, unexpected: 0 };
  deepStrictEqual(r, { ...want, ...clean });
}

/** The entries of `counters` that are not 0 (e.g. respond's drop reasons that happened). */
export function nonZero(counters: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).filter(([, v]) => v !== 0));
}
