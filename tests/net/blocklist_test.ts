/**
 * The blocklist at the XDP hook and live steering, with real frames over a veth, driven the way
 * users drive them: real CLI runs (`bypassrt --iface ... --json`) and their control socket (one
 * JSON request per line, as `bypassrt ctl` sends them, or `bypassrt ctl` itself). Blocked IPv4
 * and IPv6 sources (also behind a VLAN tag) are dropped and counted exactly, per prefix and in
 * the program's `blocked` counter, steered or kernel-bound; deleting a prefix lets them through
 * again; `--block-file` at start; steering a UDP port on and off with no restart and no frame
 * lost; 1,000,000 prefixes in one list. (tests/net/ctl_test.ts covers the `ctl` client itself:
 * its output, errors, the socket's life and permissions.)
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import {
  argv,
  Bypassrt,
  cli,
  type CliResult,
  ping,
  pktio,
  type Topology,
  withTopology,
  xdpAttached,
} from "./_netns.ts";
import { ControlClient } from "../../engine/control_client.ts";
import { DEFAULT_RUN_DIR } from "../../engine/control_protocol.ts";
import type { SteerState } from "../../engine/control_commands.ts";
import type { EngineSnapshot } from "../../engine/runtime.ts";
import { type BlockEntry, parseCidr } from "../../engine/blocklist.ts";
import { parseMac } from "../../packet/mod.ts";

const T = { sanitizeResources: false, sanitizeOps: false };

/** A UDP frame from `src` (IPv4 or IPv6 address) to `dst`, optionally behind an 802.1Q tag. */
function udpFrame(
  t: Topology,
  src: string,
  dst: string,
  o: { vlan?: number; port?: number } = {},
): string {
  const a = parseCidr(src).addr, b = parseCidr(dst).addr;
  const payload = new Uint8Array(18).fill(0x5a);
  const udp = new Uint8Array(8 + payload.length);
  const uv = new DataView(udp.buffer);
  uv.setUint16(0, 20000);
  uv.setUint16(2, o.port ?? 9999);
  uv.setUint16(4, udp.length);
  udp.set(payload, 8);
  let l3: Uint8Array;
  if (a.length === 4) {
    l3 = new Uint8Array(20);
    const v = new DataView(l3.buffer);
    v.setUint8(0, 0x45);
    v.setUint16(2, 20 + udp.length);
    v.setUint8(8, 64);
    v.setUint8(9, 17);
    l3.set(a, 12);
    l3.set(b, 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    v.setUint16(10, ~sum & 0xffff);
  } else {
    l3 = new Uint8Array(40);
    const v = new DataView(l3.buffer);
    v.setUint32(0, 0x60000000);
    v.setUint16(4, udp.length);
    v.setUint8(6, 17);
    v.setUint8(7, 64);
    l3.set(a, 8);
    l3.set(b, 24);
  }
  const type = a.length === 4 ? [0x08, 0x00] : [0x86, 0xdd];
  const tag = o.vlan === undefined ? [] : [0x81, 0x00, o.vlan >> 8, o.vlan & 0xff];
  const frame = [
    ...parseMac(t.dutMac),
    ...parseMac(t.peerMac),
    ...tag,
    ...type,
    ...l3,
    ...udp,
  ];
  return frame.map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Send `count` copies of `frame` (hex) from the peer with pktio. */
async function sendRaw(t: Topology, frame: string, count: number): Promise<void> {
  const file = await Deno.makeTempFile({ suffix: ".hex" });
  try {
    await Deno.writeTextFile(file, (frame + "\n").repeat(count));
    const r = await pktio(t.peer, "raw", "--iface", t.peerIf, "--hexfile", file);
    strictEqual(r.sent, count);
  } finally {
    await Deno.remove(file);
  }
}

/** Final report of a run (its last `--json` line). */
type Final = ReturnType<Bypassrt["final"]> & {
  blocklist: { prefixes: number; capacity: number; dropped: number };
};

/**
 * A run of the CLI on the dut end and one connection to its control socket, through which the
 * test drives it: every call is one request of the protocol, as `bypassrt ctl` sends it.
 */
class Served {
  constructor(readonly b: Bypassrt, readonly c: ControlClient) {}

  /** `cmd args` on the socket; its result, or an Error with the reply's one line. */
  async call<R = unknown>(cmd: string, ...args: string[]): Promise<R> {
    const r = await this.c.request(cmd, args);
    if (!r.ok) throw new Error(r.error);
    return r.result as R;
  }
  /** `block add` of one prefix: its canonical form. */
  async blockAdd(cidr: string): Promise<string> {
    return (await this.call<{ prefix: string }>("block add", cidr)).prefix;
  }
  /** `block del`: the prefix removed. */
  async blockDel(cidr: string): Promise<string> {
    return (await this.call<{ removed: string }>("block del", cidr)).removed;
  }
  /** `block list`. */
  async blockList(): Promise<BlockEntry[]> {
    return (await this.call<{ prefixes: BlockEntry[] }>("block list")).prefixes;
  }
  /** `steer add udp:P,P...`; what is steered after. */
  steerAdd(ports: number[]): Promise<SteerState> {
    return this.call("steer add", `udp:${ports.join(",")}`);
  }
  /** `steer del udp:P,P...`; what is steered after. */
  steerDel(ports: number[]): Promise<SteerState> {
    return this.call("steer del", `udp:${ports.join(",")}`);
  }
  /** `steer list`. */
  steerList(): Promise<SteerState> {
    return this.call("steer list");
  }
  /** `stats`: the snapshot. */
  snapshot(): Promise<EngineSnapshot> {
    return this.call("stats");
  }
}

/** Rejects unless `p` rejects; the error's message. */
async function refused(p: Promise<unknown>, what: string): Promise<string> {
  return await p.then(
    () => {
      throw new Error(`${what} was accepted`);
    },
    (e: Error) => e.message,
  );
}

/** Snapshots until `done` holds (frames in flight land within milliseconds), at most 3 s. */
async function settle(
  e: Served,
  done: (s: EngineSnapshot) => boolean,
): Promise<EngineSnapshot> {
  let s = await e.snapshot();
  for (let i = 0; i < 60 && !done(s); i++) {
    await new Promise((r) => setTimeout(r, 50));
    s = await e.snapshot();
  }
  await new Promise((r) => setTimeout(r, 100)); // and nothing more after that
  return await e.snapshot();
}

/**
 * Run `bypassrt --iface <dut> args --json` in the dut namespace, call `fn` with a connection to
 * its control socket once it is up, then stop it with SIGINT; it must exit 0. Returns its final
 * report.
 */
async function withRun(t: Topology, args: string, fn: (e: Served) => Promise<void>) {
  const b = new Bypassrt(t.dut, argv(`--iface ${t.dutIf} ${args}`));
  let failure: unknown;
  try {
    await b.ready();
    const c = await ControlClient.connect(t.dutIf, DEFAULT_RUN_DIR);
    try {
      await fn(new Served(b, c));
    } finally {
      c.close();
    }
  } catch (e) {
    failure = e;
  }
  const st = await b.stop("SIGINT");
  if (failure) throw failure;
  strictEqual(st.code, 0, b.stderr);
  return b.final() as Final;
}

/** `bypassrt ctl --iface <dut> args...` from the root namespace (the socket is a file). */
function ctl(t: Topology, ...args: string[]): Promise<CliResult> {
  return cli(["ctl", "--iface", t.dutIf, ...args]);
}

Deno.test(
  "respond: a blocked /32 and IPv6 /64 drop exactly the frames sent from them (VLAN too); " +
    "deleting the /32 lets ping through again",
  T,
  () =>
    withTopology(async (t) => {
      const report = await withRun(t, "--mode respond --ip 10.0.0.1", async (e) => {
        const [before, , out1] = await ping(t.peer, "10.0.0.1", 3);
        ok(before, out1);
        const s0 = await e.snapshot();
        strictEqual(s0.program!.blocked, 0);

        strictEqual(await e.blockAdd("10.0.0.2"), "10.0.0.2/32");
        strictEqual(await e.blockAdd("10.0.0.2/32"), "10.0.0.2/32"); // already there: no error
        // Several prefixes in one request (Engine.blockAddMany), with `bypassrt ctl`.
        const many = await ctl(t, ...argv("block add 2001:db8::/64 10.0.0.2 2001:DB8:0:0::/64"));
        strictEqual(many.code, 0, many.stderr);
        strictEqual(many.stdout, "blocked 3 prefixes (1 new)\n");
        const [during] = await ping(t.peer, "10.0.0.1", 3); // 3 echo requests, all blocked
        ok(!during, "ping got through a blocked source");
        await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1"), 50);
        await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1", { vlan: 5 }), 7);
        await sendRaw(t, udpFrame(t, "2001:db8::2", "2001:db8::1"), 30);
        await sendRaw(t, udpFrame(t, "2001:db8::2", "2001:db8::1", { vlan: 0 }), 4);
        // Not blocked: another IPv4 source and an IPv6 source outside the /64.
        await sendRaw(t, udpFrame(t, "10.0.0.3", "10.0.0.1"), 11);
        await sendRaw(t, udpFrame(t, "2001:db8:0:1::2", "2001:db8::1"), 13);

        const s = await settle(e, (s) => s.program!.blocked >= 3 + 50 + 7 + 30 + 4);
        strictEqual(s.program!.blocked, 3 + 50 + 7 + 30 + 4);
        deepStrictEqual(s.blocklist, {
          prefixes: 2,
          capacity: 1 << 20,
          dropped: 3 + 50 + 7 + 30 + 4,
        });
        deepStrictEqual(await e.blockList(), [
          { prefix: "10.0.0.2/32", packets: 3 + 50 + 7 },
          { prefix: "2001:db8::/64", packets: 30 + 4 },
        ]);
        // The frames of sources not in the list went on to the kernel (plus any ARP).
        ok(s.program!.passed - s0.program!.passed >= 11 + 13, JSON.stringify(s.program));

        strictEqual(await e.blockDel("10.0.0.2"), "10.0.0.2/32");
        strictEqual(
          await refused(e.blockDel("10.0.0.2/32"), "deleting a prefix not in the list"),
          "10.0.0.2/32 is not in the blocklist: see block list",
        );
        const [after, , out2] = await ping(t.peer, "10.0.0.1", 3);
        ok(after, out2);
        deepStrictEqual(await e.blockList(), [{ prefix: "2001:db8::/64", packets: 34 }]);
        strictEqual((await e.snapshot()).program!.blocked, 94);
        // The next prefix reuses the freed counter slot, which starts from zero again.
        strictEqual(await e.blockAdd("10.0.0.9"), "10.0.0.9/32");
        deepStrictEqual(await e.blockList(), [
          { prefix: "10.0.0.9/32", packets: 0 },
          { prefix: "2001:db8::/64", packets: 34 },
        ]);
      });
      ok(report.balanced);
      strictEqual(report.program.blocked, 94);
      deepStrictEqual(report.blocklist, { prefixes: 2, capacity: 1 << 20, dropped: 94 });
    }),
);

Deno.test(
  "kernel-bound frames are blocked too: ping to the kernel's address fails while the peer is " +
    "blocked, then works again",
  T,
  () =>
    withTopology(async (t) => {
      const report = await withRun(t, "--mode l2fwd --steer udp:4242", async (e) => {
        const [before, , out1] = await ping(t.peer, "10.0.0.1", 3); // the dut kernel answers
        ok(before, out1);
        const s0 = await e.snapshot();
        strictEqual(s0.program!.redirected, 0);
        strictEqual(await e.blockAdd("10.0.0.0/30"), "10.0.0.0/30");
        const [during] = await ping(t.peer, "10.0.0.1", 4);
        ok(!during, "ping reached the kernel from a blocked source");
        await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1", { port: 4242 }), 9); // steered port
        const s = await settle(e, (s) => s.program!.blocked >= 4 + 9);
        strictEqual(s.program!.blocked, 4 + 9);
        strictEqual(s.program!.redirected, 0);
        deepStrictEqual(await e.blockList(), [{ prefix: "10.0.0.0/30", packets: 13 }]);
        strictEqual(await e.blockDel("10.0.0.0/30"), "10.0.0.0/30");
        const [after, , out2] = await ping(t.peer, "10.0.0.1", 3);
        ok(after, out2);
        deepStrictEqual(await e.blockList(), []);
        deepStrictEqual((await e.snapshot()).blocklist, {
          prefixes: 0,
          capacity: 1 << 20,
          dropped: 13,
        });
      });
      ok(report.balanced);
      strictEqual(report.program.blocked, 13);
    }, { dutIp: "10.0.0.1/24" }),
);

Deno.test(
  "steering live: UDP/4243 goes to the kernel, after steer add it comes back byte-exact " +
    "(MACs swapped), after steer del not any more; errors name the port; audit balanced",
  T,
  () =>
    withTopology(async (t) => {
      const echo = (port: number, count: number, timeout: number) =>
        pktio(
          t.peer,
          ...argv(
            `echo --iface ${t.peerIf} --dst-mac ${t.dutMac} --count ${count} --seed 7 ` +
              `--port ${port} --timeout ${timeout}`,
          ),
        );
      const report = await withRun(t, "--mode l2fwd --steer udp:4242", async (e) => {
        deepStrictEqual(await e.steerList(), {
          all: false,
          udpPorts: [4242],
          respondIp: "",
          respondIp6: "",
          vlan: false,
        });
        strictEqual((await echo(4242, 200, 5)).matched, 200);
        const off = await echo(4243, 100, 1);
        strictEqual(off.received, 0);

        // 4242 already steered: no error; the answer is what is steered after.
        deepStrictEqual(await e.steerAdd([4243, 4242]), {
          all: false,
          udpPorts: [4242, 4243],
          respondIp: "",
          respondIp6: "",
          vlan: false,
        });
        const on = await echo(4243, 300, 5);
        deepStrictEqual(on, {
          sent: 300,
          received: 300,
          matched: 300,
          mismatched: 0,
          duplicates: 0,
          unexpected: 0,
        });

        deepStrictEqual((await e.steerDel([4243])).udpPorts, [4242]);
        deepStrictEqual((await e.steerList()).udpPorts, [4242]);
        strictEqual((await echo(4243, 100, 1)).received, 0);
        strictEqual((await echo(4242, 100, 5)).matched, 100);

        strictEqual(
          await refused(e.steerDel([4243]), "steer del of a port not steered"),
          "UDP port 4243 is not steered: steered ports are 4242",
        );
        match(await refused(e.steerAdd([0]), "port 0"), /port "0" in "udp:0" is out of range/);
        deepStrictEqual((await e.steerList()).udpPorts, [4242]);
        const s = await e.snapshot();
        strictEqual(s.total.rx_packets, 200 + 300 + 100);
        strictEqual(s.total.tx_packets, 200 + 300 + 100);
      });
      ok(report.balanced, JSON.stringify(report.audits));
      strictEqual(report.program.redirected, 600);
    }),
);

Deno.test(
  "no frame lost while steering changes: 2000 frames to UDP/4242 all come back while 4243 is " +
    "steered on and off all along",
  T,
  () =>
    withTopology(async (t) => {
      const report = await withRun(t, "--mode l2fwd --steer udp:4242", async (e) => {
        const echo = pktio(
          t.peer,
          ...argv(
            `echo --iface ${t.peerIf} --dst-mac ${t.dutMac} --count 2000 --seed 3 --port 4242 ` +
              `--gap-us 25000 --timeout 20`,
          ),
        );
        // Toggle for as long as the frames flow (pktio takes ~1 s: 40 batches 25 ms apart).
        let flowing = true;
        echo.finally(() => flowing = false);
        let toggles = 0;
        while (flowing) {
          await e.steerAdd([4243]);
          await e.steerDel([4243]);
          toggles++;
        }
        ok(toggles >= 20, `only ${toggles} steering changes while the frames flowed`);
        deepStrictEqual(await echo, {
          sent: 2000,
          received: 2000,
          matched: 2000,
          mismatched: 0,
          duplicates: 0,
          unexpected: 0,
        });
        deepStrictEqual((await e.steerList()).udpPorts, [4242]);
      });
      ok(report.balanced);
      strictEqual(report.program.redirected, 2000);
      strictEqual(report.total.tx_packets, 2000);
    }),
);

Deno.test(
  "steer add with --steer all is refused with one line, and the run goes on as it was",
  T,
  () =>
    withTopology(async (t) => {
      await withRun(t, "--mode l2fwd --steer all", async (e) => {
        const r = await ctl(t, "steer", "add", "udp:53");
        strictEqual(r.code, 1, r.stderr);
        strictEqual(r.stdout, "");
        strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
        match(r.stderr, /^bypassrt: error: steering is 'all'/);
        deepStrictEqual(await e.steerList(), {
          all: true,
          udpPorts: [],
          respondIp: "",
          respondIp6: "",
          vlan: false,
        });
      });
    }),
);

Deno.test(
  "--block-file: a bad line is one error naming file:line, exit 1, nothing attached; a good " +
    "file blocks from the start, counted per prefix",
  T,
  () =>
    withTopology(async (t) => {
      const file = await Deno.makeTempFile({ suffix: ".txt" });
      try {
        await Deno.writeTextFile(file, "# test list\n192.0.2.0/24\n\n10.0.0.2/33 # typo\n");
        const bad = await cli(
          ["--iface", t.dutIf, "--mode", "respond", "--ip", "10.0.0.1", "--block-file", file],
          { ns: t.dut },
        );
        strictEqual(bad.code, 1);
        strictEqual(
          bad.stderr.trim(),
          `bypassrt: error: ${file}:4: "10.0.0.2/33" is not a CIDR: give A.B.C.D/N (N 0-32) ` +
            `or an IPv6 prefix like 2001:db8::/32`,
        );
        ok(!(await xdpAttached(t.dut, t.dutIf)));
        const missing = await cli(["--iface", t.dutIf, "--block-file", `${file}.none`], {
          ns: t.dut,
        });
        strictEqual(missing.code, 1);
        ok(/^bypassrt: error: block file .*: no such file/.test(missing.stderr.trim()));
        strictEqual(missing.stderr.trim().split("\n").length, 1);

        await Deno.writeTextFile(file, "# test list\n192.0.2.0/24\n10.0.0.2 # the peer\n");
        const f = await withRun(
          t,
          `--mode respond --ip 10.0.0.1 --block-file ${file}`,
          async (e) => {
            const [got] = await ping(t.peer, "10.0.0.1", 3);
            ok(!got, "ping got through a source blocked by --block-file");
            await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1"), 20);
            await settle(e, (s) => s.program!.blocked >= 23);
            deepStrictEqual(await e.blockList(), [
              { prefix: "10.0.0.2/32", packets: 23 },
              { prefix: "192.0.2.0/24", packets: 0 },
            ]);
          },
        );
        strictEqual(f.program.blocked, 23);
        deepStrictEqual(f.blocklist, { prefixes: 2, capacity: 1 << 20, dropped: 23 });
        ok(f.balanced);
      } finally {
        await Deno.remove(file);
      }
    }),
);

Deno.test(
  "capacity: 1,000,000 distinct prefixes from --block-file (--block-max 1000000), the next " +
    "one is refused, a freed slot is reused, and prefixes among them count exactly",
  T,
  () =>
    withTopology(async (t) => {
      // A control request line is capped at 64 KiB: a list this long is loaded at start.
      const file = await Deno.makeTempFile({ suffix: ".txt" });
      try {
        const many: string[] = [];
        for (let i = 0; i < 999_999; i++) {
          many.push(`11.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
        }
        many.push("2001:db8::2"); // one IPv6 among them
        await Deno.writeTextFile(file, many.join("\n") + "\n");
        const args = `--mode l2fwd --steer none --block-max 1000000 --block-file ${file}`;
        const report = await withRun(t, args, async (e) => {
          deepStrictEqual((await e.snapshot()).blocklist, {
            prefixes: 1_000_000,
            capacity: 1_000_000,
            dropped: 0,
          });
          match(
            await refused(e.blockAdd("10.0.0.2"), "a 1,000,001st prefix"),
            /^the blocklist is full: 1000000 of 1000000/,
          );
          strictEqual(await e.blockDel("11.0.0.0/32"), "11.0.0.0/32");
          strictEqual(await e.blockAdd("10.0.0.2"), "10.0.0.2/32"); // the freed slot
          await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1"), 25);
          await sendRaw(t, udpFrame(t, "2001:db8::2", "2001:db8::1"), 5);
          const s = await settle(e, (s) => s.program!.blocked >= 30);
          strictEqual(s.program!.blocked, 30);
          const list = await e.blockList();
          strictEqual(list.length, 1_000_000);
          deepStrictEqual(list[0], { prefix: "10.0.0.2/32", packets: 25 });
          deepStrictEqual(list[1], { prefix: "11.0.0.1/32", packets: 0 });
          deepStrictEqual(list[999_999], { prefix: "2001:db8::2/128", packets: 5 });
          strictEqual(list.reduce((a, x) => a + x.packets, 0), 30);
        });
        ok(report.balanced);
        strictEqual(report.program.blocked, 30);
      } finally {
        await Deno.remove(file);
      }
    }),
);
