/**
 * The control socket of real runs, driven with `bypassrt ctl` as a user types it: blocking the
 * pinger's address makes the pings fail at the XDP hook, counted exactly per prefix and in the
 * program's counters, and unblocking brings them back; steering a UDP port on a running l2fwd
 * makes its frames come back byte-exact with no restart; bad requests are one line and the run
 * goes on; the socket's modes, its removal at exit, a SIGKILLed run's socket replaced, a live
 * one refused, and a client that is not allowed in.
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import {
  argv,
  Bypassrt,
  CLI,
  cli,
  type CliResult,
  ping,
  pktio,
  sendUdp,
  type Topology,
  withTopology,
} from "./_netns.ts";
import { ControlClient } from "../../engine/control_client.ts";
import { controlSocketPath, DEFAULT_RUN_DIR } from "../../engine/control_protocol.ts";

const T = { sanitizeResources: false, sanitizeOps: false };

/** `bypassrt ctl --iface <dut> args...` (from the root namespace: the socket is a file). */
function ctl(t: Topology, ...args: string[]): Promise<CliResult> {
  return cli(["ctl", "--iface", t.dutIf, ...args]);
}

/** `ctl ... --json`, which must succeed; its parsed output. */
async function ctlJson<T = Record<string, unknown>>(t: Topology, ...args: string[]): Promise<T> {
  const r = await ctl(t, ...args, "--json");
  strictEqual(r.code, 0, `ctl ${args.join(" ")}: ${r.stderr}`);
  strictEqual(r.stdout.trim().split("\n").length, 1, r.stdout);
  return JSON.parse(r.stdout);
}

/** One line on stderr starting "bypassrt: error: ", exit 1, nothing on stdout. */
function oneErrorLine(r: CliResult, re: RegExp): void {
  strictEqual(r.code, 1, r.stderr);
  strictEqual(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  strictEqual(lines.length, 1, r.stderr);
  match(lines[0], /^bypassrt: error: /);
  match(lines[0], re);
}

function socketOf(t: Topology): string {
  return controlSocketPath(t.dutIf, DEFAULT_RUN_DIR);
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The result of `cmd` on the run serving `t.dutIf` once `done` holds for it (frames in flight
 * land within milliseconds; at most 3 s), read through the socket directly, then once more after
 * a pause so that a late extra frame would show.
 */
async function settled<R>(t: Topology, cmd: string, done: (r: R) => boolean): Promise<R> {
  const c = await ControlClient.connect(t.dutIf, DEFAULT_RUN_DIR);
  try {
    const read = async () => {
      const r = await c.request(cmd);
      if (!r.ok) throw new Error(r.error);
      return r.result as R;
    };
    for (let i = 0; i < 60 && !done(await read()); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 100));
    return await read();
  } finally {
    c.close();
  }
}

type Prefixes = { prefix: string; packets: number }[];

/** The blocklist once `done` holds for it (see {@link settled}). */
async function settledBlockList(t: Topology, done: (l: Prefixes) => boolean): Promise<Prefixes> {
  return (await settled<{ prefixes: Prefixes }>(t, "block list", (r) => done(r.prefixes)))
    .prefixes;
}

/** Total frames received, once they reached `n` (see {@link settled}). */
async function settledRx(t: Topology, n: number): Promise<number> {
  type S = { total: { rx_packets: number } };
  return (await settled<S>(t, "stats", (s) => s.total.rx_packets >= n)).total.rx_packets;
}

Deno.test("ctl --help: every command and option is there and in the README", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const top = await cli(["ctl", "--help"]);
  strictEqual(top.code, 0, top.stderr);
  ok(top.stdout.startsWith("Usage: bypassrt ctl --iface IF <command>"), top.stdout);
  for (const f of ["--iface", "--json"]) ok(top.stdout.includes(f) && readme.includes(f), f);
  const leaves = [
    ["block", "add"],
    ["block", "del"],
    ["block", "list"],
    ["steer", "add"],
    ["steer", "del"],
    ["steer", "list"],
    ["stats"],
    ["handler", "reload"],
  ];
  for (const leaf of leaves) {
    const h = await cli(["ctl", ...leaf, "--help"]);
    strictEqual(h.code, 0, h.stderr);
    ok(h.stdout.startsWith(`Usage: bypassrt ctl ${leaf.join(" ")}`), h.stdout);
    ok(readme.includes(`bypassrt ctl --iface IF ${leaf.join(" ")}`), `${leaf} not in the README`);
    ok(readme.includes(`| \`${leaf.join(" ")}\``), `${leaf} not in the README's protocol table`);
  }
  ok((await cli(["--help"])).stdout.includes("ctl"));
});

Deno.test(
  "ctl block: pings to respond fail at the XDP hook, counted per prefix and by the program; del restores them",
  T,
  () =>
    withTopology(async (t) => {
      const sock = socketOf(t);
      const b = new Bypassrt(t.dut, argv(`--iface ${t.dutIf} --mode respond --ip 10.0.0.1`));
      let status: Deno.CommandStatus;
      try {
        await b.ready();
        // The socket: 0600 in a 0700 directory, both root's.
        const st = Deno.lstatSync(sock), dir = Deno.lstatSync(DEFAULT_RUN_DIR);
        ok(st.isSocket);
        strictEqual(st.mode! & 0o777, 0o600);
        strictEqual(dir.mode! & 0o777, 0o700);
        strictEqual(st.uid, 0);

        const [before, , out0] = await ping(t.peer, "10.0.0.1", 3);
        ok(before, out0);
        const add = await ctl(t, "block", "add", "10.0.0.2/32");
        strictEqual(add.code, 0, add.stderr);
        strictEqual(add.stdout, "blocked 10.0.0.2/32\n");
        deepStrictEqual(await settledBlockList(t, () => true), [
          { prefix: "10.0.0.2/32", packets: 0 },
        ]);
        // An exact number of frames from 10.0.0.2, then pings: all dropped at the hook.
        await sendUdp(t, 25, 7777);
        deepStrictEqual(await settledBlockList(t, (l) => l[0]?.packets >= 25), [
          { prefix: "10.0.0.2/32", packets: 25 },
        ]);
        const [during, answered, out1] = await ping(t.peer, "10.0.0.1", 3);
        ok(!during && answered === 0, out1);
        await settledBlockList(t, (l) => l[0]?.packets >= 28);
        deepStrictEqual(await ctlJson(t, "block", "list"), {
          prefixes: [{ prefix: "10.0.0.2/32", packets: 28 }],
        });
        const human = await ctl(t, "block", "list");
        strictEqual(human.code, 0, human.stderr);
        match(human.stdout, /10\.0\.0\.2\/32\s*│\s*28\b/);
        // The same drops in the program's counters, and none of them reached user space.
        const s = await ctlJson<{
          queues: { queue: number }[];
          total: { rx_packets: number };
          program: { blocked: number };
          blocklist: { prefixes: number; dropped: number };
        }>(t, "stats");
        strictEqual(s.program.blocked, 28);
        deepStrictEqual({ ...s.blocklist, capacity: 0 }, { prefixes: 1, dropped: 28, capacity: 0 });
        deepStrictEqual(s.queues.map((q) => q.queue), [0]);
        const table = await ctl(t, "stats");
        strictEqual(table.code, 0, table.stderr);
        ok(table.stdout.includes("total") && !table.stdout.includes("Ctrl-C"), table.stdout);

        const del = await ctl(t, "block", "del", "10.0.0.2/32");
        strictEqual(del.code, 0, del.stderr);
        strictEqual(del.stdout, "unblocked 10.0.0.2/32\n");
        const [after, , out2] = await ping(t.peer, "10.0.0.1", 3);
        ok(after, out2);
        deepStrictEqual(await ctlJson(t, "block", "list"), { prefixes: [] });
        // handler reload: what SIGHUP does, answered on the socket.
        const reload = await ctl(t, "handler", "reload");
        strictEqual(reload.code, 0, reload.stderr);
        match(reload.stdout, /^handler reloaded \(generation 1\)\n$/);
        const [afterReload, , out3] = await ping(t.peer, "10.0.0.1", 3);
        ok(afterReload, out3);
      } finally {
        status = await b.stop("SIGINT");
      }
      strictEqual(status.code, 0, b.stderr);
      const f = b.final();
      strictEqual(f.balanced, true, JSON.stringify(f.audits));
      strictEqual(f.program.blocked, 28);
      strictEqual(exists(sock), false, `${sock} is left after exit`);
    }),
);

Deno.test(
  "ctl steer: l2fwd --steer udp:4242, steer add udp:4243: its frames come back byte-exact, no restart; audit balances",
  T,
  () =>
    withTopology(async (t) => {
      const echo = (port: number, count: number, timeout: number) =>
        pktio(
          t.peer,
          "echo",
          ...argv(
            `--iface ${t.peerIf} --dst-mac ${t.dutMac} --count ${count} --port ${port} ` +
              `--seed ${port} --timeout ${timeout}`,
          ),
        );
      const exact = (n: number) => ({
        sent: n,
        received: n,
        matched: n,
        mismatched: 0,
        duplicates: 0,
        unexpected: 0,
      });
      const none = (n: number) => ({ ...exact(0), sent: n });
      const b = new Bypassrt(t.dut, argv(`--iface ${t.dutIf} --mode l2fwd --steer udp:4242`));
      let status: Deno.CommandStatus;
      try {
        await b.ready();
        deepStrictEqual(await echo(4242, 200, 20), exact(200));
        deepStrictEqual(await echo(4243, 20, 1), none(20), "4243 is not steered yet");
        const add = await ctl(t, "steer", "add", "udp:4243");
        strictEqual(add.code, 0, add.stderr);
        strictEqual(add.stdout, "steered to user space: UDP to ports 4242, 4243\n");
        deepStrictEqual(await echo(4243, 500, 20), exact(500));
        deepStrictEqual(await echo(4242, 100, 20), exact(100));
        deepStrictEqual(await ctlJson(t, "steer", "list"), {
          all: false,
          udpPorts: [4242, 4243],
          respondIp: "",
          respondIp6: "",
          vlan: false,
        });
        const del = await ctl(t, "steer", "del", "udp:4243");
        strictEqual(del.code, 0, del.stderr);
        deepStrictEqual(await echo(4243, 20, 1), none(20), "4243 is not steered any more");
        const s = await ctlJson<{ total: { rx_packets: number; tx_packets: number } }>(t, "stats");
        strictEqual(s.total.rx_packets, 800);
      } finally {
        status = await b.stop("SIGINT");
      }
      strictEqual(status.code, 0, b.stderr);
      const f = b.final();
      strictEqual(f.balanced, true, JSON.stringify(f.audits));
      strictEqual(f.total.rx_packets, 800, "one run served all of it");
      strictEqual(f.total.tx_packets, 800);
      strictEqual(exists(socketOf(t)), false);
    }),
);

Deno.test(
  "ctl: bad requests are one line (exit 1, usage 2) and the run goes on serving",
  T,
  () =>
    withTopology(async (t) => {
      const b = new Bypassrt(t.dut, argv(`--iface ${t.dutIf} --mode rxdrop --steer udp:4242`));
      try {
        await b.ready();
        oneErrorLine(await ctl(t, "block", "add", "10.0.0.300/32"), /"10\.0\.0\.300\/32"/);
        oneErrorLine(await ctl(t, "block", "add", "10.0.0.1/24"), /10\.0\.0\.0\/24/);
        oneErrorLine(
          await ctl(t, "block", "del", "10.9.9.9/32"),
          /10\.9\.9\.9\/32 is not in the blocklist/,
        );
        oneErrorLine(await ctl(t, "steer", "add", "udp:70000"), /port "70000" .* out of range/);
        oneErrorLine(await ctl(t, "steer", "del", "udp:9999"), /9999/);
        for (const args of [["frob"], ["block"], ["block", "add"], ["stats", "now"]]) {
          const r = await ctl(t, ...args);
          strictEqual(r.code, 2, `${args}: ${r.stderr}`);
          strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
        }
        // Still serving, nothing changed.
        deepStrictEqual(await ctlJson(t, "block", "list"), { prefixes: [] });
        deepStrictEqual(await ctlJson(t, "steer", "list"), {
          all: false,
          udpPorts: [4242],
          respondIp: "",
          respondIp6: "",
          vlan: false,
        });
      } finally {
        strictEqual((await b.stop("SIGINT")).code, 0, b.stderr);
      }
      strictEqual(b.final().balanced, true);
    }),
);

Deno.test(
  "ctl handler reload: a handler that no longer loads is one error line, the old one goes on",
  T,
  () =>
    withTopology(async (t) => {
      const dir = await Deno.makeTempDir({ prefix: "bpt-ctl-handler-" });
      const file = `${dir}/h.ts`;
      await Deno.writeTextFile(
        file,
        `export default {
  counters: ["seen"],
  burst(b: { length: number; drop(i: number): void }, ctx: { counters: Float64Array }) {
    for (let i = 0; i < b.length; i++) {
      ctx.counters[0]++;
      b.drop(i);
    }
  },
};
`,
      );
      const b = new Bypassrt(t.dut, argv(`--iface ${t.dutIf} --handler ${file} --steer udp:4242`));
      try {
        await b.ready();
        await sendUdp(t, 5, 4242);
        strictEqual(await settledRx(t, 5), 5);
        await Deno.writeTextFile(file, "export default { burst(b, ctx) { for (;; }");
        oneErrorLine(await ctl(t, "handler", "reload"), /failed to load|does not type-check/);
        await sendUdp(t, 5, 4242);
        strictEqual(await settledRx(t, 10), 10);
      } finally {
        strictEqual((await b.stop("SIGINT")).code, 0, b.stderr);
        await Deno.remove(dir, { recursive: true });
      }
      const f = b.final();
      deepStrictEqual(f.handler_counters, { seen: 10 }, "the old handler counted both bursts");
      strictEqual(f.balanced, true);
    }),
);

Deno.test(
  "ctl: a SIGKILLed run's socket does not stop the next run; a live one is refused; --no-control",
  T,
  () =>
    withTopology(async (t) => {
      const sock = socketOf(t);
      const args = argv(`--iface ${t.dutIf} --mode rxdrop --steer udp:4242`);
      const first = new Bypassrt(t.dut, args);
      await first.ready();
      try {
        // A second run on the same interface: refused by the live socket, the first untouched.
        const second = new Bypassrt(t.dut, args);
        const st = await second.wait();
        strictEqual(st.code, 1, second.stderr);
        strictEqual(second.stderr.trim().split("\n").length, 1, second.stderr);
        match(
          second.stderr,
          new RegExp(`${t.dutIf} is already served by another byPassRT \\(its control socket`),
        );
        strictEqual((await ctlJson(t, "stats") as { iface: string }).iface, t.dutIf);
      } finally {
        const killed = await first.stop("SIGKILL");
        strictEqual(killed.signal, "SIGKILL");
      }
      ok(Deno.lstatSync(sock).isSocket, "a killed run leaves its socket");
      oneErrorLine(
        await ctl(t, "stats"),
        new RegExp(`no byPassRT is serving ${t.dutIf}: ${sock} is left over from a run that`),
      );
      const next = new Bypassrt(t.dut, args);
      try {
        await next.ready();
        await sendUdp(t, 10, 4242);
        const c = await ControlClient.connect(t.dutIf, DEFAULT_RUN_DIR);
        const hello = await c.request("hello");
        c.close();
        deepStrictEqual(hello.ok && hello.result, {
          server: "bypassrt",
          protocol: 1,
          iface: t.dutIf,
          pid: next.child.pid,
        });
      } finally {
        strictEqual((await next.stop("SIGTERM")).code, 0, next.stderr);
      }
      strictEqual(exists(sock), false);
      // --no-control: no socket while it runs.
      const quiet = new Bypassrt(t.dut, [...args, "--no-control"]);
      try {
        await quiet.ready();
        strictEqual(exists(sock), false);
        oneErrorLine(
          await ctl(t, "stats"),
          new RegExp(
            `^bypassrt: error: no byPassRT is serving ${t.dutIf} \\(no ${sock}\\): ` +
              `start one with bypassrt --iface ${t.dutIf}$`,
          ),
        );
      } finally {
        strictEqual((await quiet.stop("SIGINT")).code, 0, quiet.stderr);
      }
    }),
);

Deno.test(
  "ctl: the socket is gone after every way out: --duration, --count, a start that fails",
  T,
  () =>
    withTopology(async (t) => {
      const sock = socketOf(t);
      const base = argv(`--iface ${t.dutIf} --mode rxdrop --steer udp:4242`);
      // --duration: it served while it ran.
      const timed = new Bypassrt(t.dut, [...base, "--duration", "2"]);
      await timed.ready();
      strictEqual((await ctlJson<{ iface: string }>(t, "stats")).iface, t.dutIf);
      strictEqual((await timed.wait()).code, 0, timed.stderr);
      strictEqual(exists(sock), false, "after --duration");
      // --count: the run ends by itself once 10 frames arrived.
      const counted = new Bypassrt(t.dut, [...base, "--count", "10"]);
      await counted.ready();
      ok(exists(sock));
      await sendUdp(t, 10, 4242);
      strictEqual((await counted.wait()).code, 0, counted.stderr);
      strictEqual(counted.final().total.rx_packets, 10);
      strictEqual(exists(sock), false, "after --count");
      // The engine refuses to start (queue 5 does not exist) after the socket was made.
      const failed = await cli(["--iface", t.dutIf, "--queue", "5"], { ns: t.dut });
      strictEqual(failed.code, 1, failed.stderr);
      strictEqual(failed.stderr.trim().split("\n").length, 1, failed.stderr);
      match(failed.stderr, /queue 5/);
      strictEqual(exists(sock), false, "after a failed start");
    }),
);

Deno.test(
  "ctl: a user who may not open the socket gets one line naming the permission needed",
  T,
  () =>
    withTopology(async (t) => {
      // uid 65534 cannot read root's Deno cache: give it a DENO_DIR of its own holding a copy of
      // the npm cache, so the real CLI runs with --cached-only.
      const denoDir = await Deno.makeTempDir({ prefix: "bypassrt-ctl-nobody-" });
      const b = new Bypassrt(t.dut, argv(`--iface ${t.dutIf} --mode rxdrop --steer udp:4242`));
      try {
        await b.ready();
        const cache = JSON.parse(
          new TextDecoder().decode(
            (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
          ),
        ).npmCache as string;
        const cp = await new Deno.Command("cp", { args: ["-a", cache, `${denoDir}/npm`] })
          .output();
        strictEqual(cp.code, 0, new TextDecoder().decode(cp.stderr));
        const chown = await new Deno.Command("chown", { args: ["-R", "65534:65534", denoDir] })
          .output();
        strictEqual(chown.code, 0);
        const out = await new Deno.Command("setpriv", {
          args: [
            ...argv("--reuid=65534 --regid=65534 --clear-groups"),
            Deno.execPath(),
            ...argv(`run -A --cached-only ${CLI} ctl --iface ${t.dutIf} stats`),
          ],
          env: { PATH: "/usr/bin:/bin", DENO_DIR: denoDir, HOME: denoDir, NO_COLOR: "1" },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const r = {
          code: out.code,
          stdout: new TextDecoder().decode(out.stdout),
          stderr: new TextDecoder().decode(out.stderr),
        };
        oneErrorLine(
          r,
          new RegExp(
            `^bypassrt: error: permission denied opening ${socketOf(t)}: the control socket ` +
              `is only for root and the user that started byPassRT: run bypassrt ctl as root`,
          ),
        );
        // Root may: the same command answers.
        strictEqual((await ctl(t, "stats")).code, 0);
      } finally {
        try {
          strictEqual((await b.stop("SIGINT")).code, 0, b.stderr);
        } finally {
          await Deno.remove(denoDir, { recursive: true });
        }
      }
    }),
);
