/**
 * `bypassrt`: the command-line entry. Parses arguments (commander), dispatches to the run,
 * setup-veth, teardown-veth, status and ctl commands, and turns every error into one line on
 * stderr and a non-zero exit code.
 *
 * @module
 */
import { Command, Option } from "commander";
import { MODES } from "../engine/modes.ts";
import { runCommand } from "./run.ts";
import { setupVeth, teardownVeth, VETH_DEFAULTS } from "./veth.ts";
import { statusCommand } from "./status.ts";
import { addCtlCommand } from "./ctl.ts";
import { BypassError } from "../engine/errors.ts";

/** Build the command tree (exported for tests of --help). */
export function buildProgram(): Command {
  const program = new Command("bypassrt")
    .description(
      "byPassRT: AF_XDP packet processing in TypeScript. Our XDP program steers frames into an " +
        "AF_XDP socket; a polling loop in a Worker reads, processes and sends them.",
    )
    .version("0.1.0")
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => {} })
    .exitOverride()
    .addHelpText(
      "after",
      `
Run options go straight after 'bypassrt' (run is the default command); see 'bypassrt run --help'.

Examples:
  bypassrt --iface veth-bypass --mode respond --ip 10.0.0.1     answer ARP and ping in user space
  bypassrt --iface veth-bypass --mode l2fwd --steer udp:9000    bounce UDP/9000 back, MACs swapped
  bypassrt --iface veth-bypass --mode rxdrop --json             count and drop everything, NDJSON
  bypassrt --iface veth-bypass --handler my_handler.ts          your own packet logic (kill -HUP reloads)
  bypassrt setup-veth --netns bp-dut,bp-peer                    a test pair in two namespaces
  bypassrt ctl --iface veth-bypass block add 10.0.0.2/32        drop a source in a running byPassRT

Privileges: run, setup-veth and teardown-veth need root (CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW,
and CAP_IPC_LOCK or a large enough RLIMIT_MEMLOCK); status needs CAP_NET_ADMIN to read the program;
ctl needs root or the user that started the run (its socket is /run/bypassrt/IF.sock, mode 0600).
Exit codes: 0 ok, 1 error (one line on stderr), 2 bad usage, 3 frame audit did not balance,
4 the interface disappeared while running.`,
    );

  program.command("run", { isDefault: true })
    .description("serve an interface (the default command)")
    .option("--iface <name>", "interface to attach to (required); A,B: several (--mode fwd)")
    .addOption(
      new Option("--mode <mode>", "what to do with each packet [default: l2fwd]").choices([
        ...MODES,
      ]),
    )
    .option(
      "--handler <file>",
      "run your own handler module (a .ts/.js file default-exporting { burst(b, ctx) }) " +
        "instead of a built-in --mode; SIGHUP reloads it",
    )
    .option("--handler-options <json>", "JSON object the handler gets as ctx.options")
    .option(
      "--handler-strict",
      "stop the run (exit 1) at the handler's first throw; default: count it and go on",
    )
    .option("--no-handler-check", "do not type-check the handler file (deno check) before loading")
    .option("--ip <A.B.C.D>", "respond: the IPv4 address to answer ARP and ping for")
    .option(
      "--ip6 <addr>",
      "respond: the IPv6 address to answer Neighbor Solicitations and ping for",
    )
    .option(
      "--vlan",
      "steer 802.1Q/802.1ad-tagged frames (one tag, any VLAN id) by their inner header",
    )
    .option(
      "--steer <what>",
      "frames the XDP program sends to us: all | none | udp:PORT[,PORT] " +
        "(ARP/ICMP for --ip are always steered) [default: none for respond/txonly, else all]",
    )
    .option("--queue <n[,n]>", "RX queue(s), one Worker each", "0")
    .option("--burst <n>", "packets per burst (1-1024)", "64")
    .option("--frames <n>", "UMEM frames (power of two)", "4096")
    .addOption(
      new Option("--frame-size <n>", "bytes per frame").choices(["2048", "4096"]).default("2048"),
    )
    .option("--ring-size <n>", "entries of each of the four rings (power of two)", "2048")
    .addOption(
      new Option("--xdp-mode <mode>", "XDP attach mode").choices(["auto", "native", "skb"])
        .default("auto"),
    )
    .addOption(
      new Option("--bind <mode>", "AF_XDP bind mode (auto: zero-copy, else copy)")
        .choices(["auto", "copy", "zerocopy"]).default("auto"),
    )
    .addOption(
      new Option(
        "--multi-buffer <mode>",
        "jumbo frames as chains of buffers (XDP_USE_SG); auto: when MTU + 18 > frame size - 256",
      ).choices(["auto", "on", "off"]).default("auto"),
    )
    .option("--poll-ms <ms>", "sleep in poll() up to this long when idle; 0 = busy-poll", "0")
    .option(
      "--no-keep-warm",
      "busy-polling with nothing arriving, make no keep-warm calls (by default one sendto on " +
        "fd -1, refused with EBADF, every 256 empty polls, ~100 000/s, and a run of the burst " +
        "path with no frame every 64: keeps a sparse frame's path and TX kick warm)",
    )
    .option(
      "--busy-poll [usec]",
      "kernel busy polling on the sockets: SO_PREFER_BUSY_POLL, SO_BUSY_POLL=usec " +
        "(default 20) and SO_BUSY_POLL_BUDGET=--burst; the loop's syscalls then run the NAPI poll",
    )
    .option("--duration <s>", "stop after this many seconds")
    .option("--count <n>", "stop after this many frames received or originated (txonly: sent)")
    .option("--force", "replace an XDP program already attached to the interface")
    .option(
      "--no-timestamps",
      "no per-frame clock: the XDP program does not stamp frames, no latency histograms",
    )
    .option(
      "--cpu <n[,n]>",
      "pin each queue's polling Worker to a CPU (one per queue); the process's other threads " +
        "are moved off those CPUs",
    )
    .option(
      "--block-file <file>",
      "drop frames from these source prefixes at the XDP hook, before anything else (one IPv4 " +
        "or IPv6 CIDR per line, '#' comments)",
    )
    .option("--block-max <n>", "blocklist capacity in prefixes [default: 1048576]")
    .option(
      "--xdp-prog <file.o>",
      "attach your own compiled XDP object instead of ours: it must redirect into a " +
        "BPF_MAP_TYPE_XSKMAP named xsks_map keyed by RX queue (no --steer, no blocklist)",
    )
    .option("--xdp-section <name>", "with --xdp-prog: the section of the program to attach")
    .option("--dst-mac <mac>", "txonly: destination MAC", "ff:ff:ff:ff:ff:ff")
    .option("--src-ip <A.B.C.D>", "txonly: source IPv4", "10.0.0.2")
    .option("--dst-ip <A.B.C.D>", "txonly: destination IPv4", "10.0.0.1")
    .option("--udp-port <n>", "txonly: UDP source and destination port", "4242")
    .option("--size <n>", "txonly: frame length in bytes without FCS (60-3000)", "60")
    .option("--pcap <file>", "write the frames received to FILE (pcapng; created or truncated)")
    .option("--pcap-tx", "with --pcap: capture the frames sent too (direction in each record)")
    .option("--pcap-snaplen <n>", "with --pcap: bytes captured per frame at most (1-262144)")
    .option("--pcap-max-mb <n>", "with --pcap: stop writing at N MB (10^6 bytes); the run goes on")
    .option("--json", 'print NDJSON: one object per interval, then one with "final": true')
    .option("--interval <s>", "seconds between metric prints", "1")
    .option(
      "--metrics <host:port>",
      "serve Prometheus /metrics and a live page at / on HOST:PORT (port 0: any free one)",
    )
    .option(
      "--no-control",
      "do not open the control socket /run/bypassrt/IF.sock (for bypassrt ctl)",
    )
    .action(async (flags) => {
      Deno.exitCode = await runCommand(flags);
    });

  program.command("setup-veth")
    .description(
      `create the test pair ${VETH_DEFAULTS.dev} <-> ${VETH_DEFAULTS.peer} (GRO off); ` +
        `peer gets ${VETH_DEFAULTS.peerAddr}; idempotent`,
    )
    .option("--dev <name>", "byPassRT side", VETH_DEFAULTS.dev)
    .option("--peer <name>", "peer side", VETH_DEFAULTS.peer)
    .option("--peer-addr <cidr>", "address of the peer side", VETH_DEFAULTS.peerAddr)
    .option("--netns <dev-ns,peer-ns>", "put each end in its own namespace (created if missing)")
    .action(async (o) => await setupVeth(o));

  program.command("teardown-veth")
    .description("remove what setup-veth made (the pair, and the namespaces with --netns)")
    .option("--dev <name>", "byPassRT side", VETH_DEFAULTS.dev)
    .option("--netns <dev-ns,peer-ns>", "the namespaces setup-veth created")
    .action(async (o) => await teardownVeth(o));

  program.command("status")
    .description("what is attached to an interface: XDP program, mode, link, maps")
    .requiredOption("--iface <name>", "interface to inspect")
    .option("--json", "print JSON")
    .action(async (o) => await statusCommand(o));
  addCtlCommand(program);
  return program;
}

/** Run the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const program = buildProgram();
  // `deno task start -- --iface X` hands the "--" on (npm habit). bypassrt takes no positional
  // arguments, so a leading "--" can only mean that: drop it rather than fail on what follows.
  const argv = args[0] === "--" ? args.slice(1) : args;
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(Deno.exitCode ?? 0);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message: string };
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return 0;
    if (e.code?.startsWith("commander.")) {
      const msg = e.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ");
      console.error(`bypassrt: ${msg} (see bypassrt --help)`);
      return 2;
    }
    const msg = err instanceof BypassError ? e.message : `unexpected: ${e.message}`;
    console.error(`bypassrt: error: ${msg}`);
    if (Deno.env.get("BYPASSRT_DEBUG")) console.error((err as Error).stack);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
