/**
 * `bypassrt ctl --iface IF <command>`: the client of a run's control socket. Sends one request,
 * prints the result for people (lines, tables) or, with `--json`, the reply's result as one JSON
 * line. An error reply is one line on stderr and exit 1; a usage error exit 2.
 *
 * @module
 */
import type { Command } from "commander";
import Table from "cli-table3";
import { ControlClient } from "../engine/control_client.ts";
import type { SteerState } from "../engine/control_commands.ts";
import type { BlockEntry } from "../engine/blocklist.ts";
import { BypassError } from "../engine/errors.ts";
import type { EngineSnapshot } from "../engine/runtime.ts";
import { rates } from "./report.ts";
import { renderTable } from "./table.ts";

/** Options of every ctl command. */
export interface CtlFlags {
  iface: string;
  json?: boolean;
}

/** Send `cmd args` to the run serving `flags.iface`; print the result. */
export async function ctlCommand(flags: CtlFlags, cmd: string, args: string[]): Promise<void> {
  const client = await ControlClient.connect(flags.iface);
  let reply;
  try {
    reply = await client.request(cmd, args);
  } finally {
    client.close();
  }
  if (!reply.ok) throw new BypassError(reply.error);
  console.log(flags.json ? JSON.stringify(reply.result) : human(cmd, reply.result));
}

const n = (v: number) => v.toLocaleString("en-US");

function steering(s: SteerState): string {
  const what = s.all
    ? "everything (--steer all)"
    : s.udpPorts.length
    ? `UDP to port${s.udpPorts.length > 1 ? "s" : ""} ${s.udpPorts.join(", ")}`
    : "no UDP ports";
  return `steered to user space: ${what}` + (s.vlan ? " (also behind one VLAN tag)" : "") +
    (s.respondIp ? `; ARP and ICMP for ${s.respondIp}` : "") +
    (s.respondIp6 ? `; NDP and ICMPv6 echo for ${s.respondIp6}` : "");
}

/** The result of `cmd` for people. */
function human(cmd: string, r: unknown): string {
  switch (cmd) {
    case "block add": {
      const o = r as { prefix?: string; added?: number; given?: number };
      return o.prefix !== undefined
        ? `blocked ${o.prefix}`
        : `blocked ${o.given} prefixes (${o.added} new)`;
    }
    case "block del":
      return `unblocked ${(r as { removed: string }).removed}`;
    case "block list": {
      const list = (r as { prefixes: BlockEntry[] }).prefixes;
      if (list.length === 0) return "the blocklist is empty";
      const t = new Table({
        head: ["prefix", "frames dropped"],
        colAligns: ["left", "right"],
        style: { head: [], border: [] },
      });
      for (const e of list) t.push([e.prefix, n(e.packets)]);
      return t.toString();
    }
    case "steer add":
    case "steer del":
    case "steer list":
      return steering(r as SteerState);
    case "stats": {
      const s = r as EngineSnapshot;
      // The live table's rendering; pps are averages since start. Its last line is the live
      // run's key hint, which means nothing here.
      const lines = renderTable(s, rates(undefined, s)).split("\n");
      return [...lines.filter((l) => !l.startsWith("Ctrl-C")), "(pps: averages since start)"]
        .join("\n");
    }
    case "handler reload":
      return (r as { message: string }).message;
    default:
      return JSON.stringify(r);
  }
}

/** One command of `ctl`: `group` ("" for none), `name`, its arguments and what it does. */
interface Leaf {
  group: "" | "block" | "steer" | "handler";
  name: string;
  args: string;
  help: string;
}

const LEAVES: Leaf[] = [
  {
    group: "block",
    name: "add",
    args: "<cidr...>",
    help: "drop frames from these source prefixes (IPv4 or IPv6; a bare address is /32 or " +
      "/128) at the XDP hook",
  },
  { group: "block", name: "del", args: "<cidr>", help: "stop dropping a prefix" },
  {
    group: "block",
    name: "list",
    args: "",
    help: "every blocked prefix and the frames it dropped",
  },
  {
    group: "steer",
    name: "add",
    args: "<udp:P[,P]...>",
    help: "steer these UDP destination ports to user space too (no restart, no frame lost)",
  },
  { group: "steer", name: "del", args: "<udp:P[,P]...>", help: "stop steering these UDP ports" },
  { group: "steer", name: "list", args: "", help: "what the XDP program steers to user space" },
  {
    group: "",
    name: "stats",
    args: "",
    help: "every counter, per queue and total, as the live table (--json: the snapshot: " +
      "queues, total, program, ...)",
  },
  { group: "handler", name: "reload", args: "", help: "reload the handler file, as SIGHUP does" },
];

const GROUPS = {
  block: "the blocklist: source prefixes dropped at the XDP hook, before steering",
  steer: "what the XDP program steers to user space",
  handler: "the handler file",
};

/**
 * Action of a command that only has subcommands: reached without one (or with an unknown one),
 * it is bad usage (exit 2) naming the commands there are.
 */
function needsCommand(full: string) {
  return (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const sub = cmd.args[0];
    const subs = cmd.commands.map((c) => c.name()).join(", ");
    cmd.error(
      sub === undefined
        ? `${full} needs a command: ${subs}`
        : `unknown command '${sub}' for '${full}': use ${subs}`,
      { code: "commander.unknownCommand" },
    );
  };
}

/** Add `ctl` and its commands to the program. */
export function addCtlCommand(program: Command): void {
  const ctl = program.command("ctl")
    .description("talk to a running byPassRT through its control socket /run/bypassrt/IF.sock")
    .requiredOption("--iface <name>", "interface the byPassRT to talk to serves")
    .option("--json", "print the result as JSON (one line)")
    .usage("--iface IF <command> [args] [--json]")
    .addHelpText(
      "after",
      `
Examples:
  bypassrt ctl --iface veth-bypass block add 10.0.0.2/32    drop 10.0.0.2 at the XDP hook
  bypassrt ctl --iface veth-bypass block list --json        prefixes and frames each dropped
  bypassrt ctl --iface veth-bypass steer add udp:4243       steer UDP/4243 too, no restart
  bypassrt ctl --iface veth-bypass stats --json             {"queues": [...], "total": {...}, ...}

--iface and --json may also follow the command. The socket is /run/bypassrt/IF.sock
(BYPASSRT_RUN_DIR overrides the directory), mode 0600 in a 0700 directory: only root and the user
that started the run may use it. Protocol: one JSON object per line (README, "Control socket").
Exit codes: 0 ok, 1 error (one line on stderr: nobody serves IF, permission, or the run refused
the request), 2 bad usage.`,
    );
  const parents = new Map<string, Command>([["", ctl]]);
  for (const leaf of LEAVES) {
    let parent = parents.get(leaf.group);
    if (!parent) {
      parent = ctl.command(leaf.group).description(GROUPS[leaf.group as keyof typeof GROUPS])
        .usage("<command> [args]");
      parents.set(leaf.group, parent);
    }
    const c = parent.command(leaf.name).description(leaf.help);
    if (leaf.args) c.argument(leaf.args);
    c.action(async (...a: unknown[]) => {
      const cmd = a[a.length - 1] as Command;
      const args = leaf.args ? [a[0]].flat() as string[] : [];
      const name = leaf.group ? `${leaf.group} ${leaf.name}` : leaf.name;
      await ctlCommand(cmd.optsWithGlobals() as CtlFlags, name, args);
    });
  }
  // Set last: subcommands copy a parent's settings when they are made.
  for (const [g, parent] of parents) {
    parent.allowExcessArguments().action(needsCommand(g ? `ctl ${g}` : "ctl"));
  }
}
