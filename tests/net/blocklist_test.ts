/**
 * The blocklist at the XDP hook and live steering, with real frames over a veth: blocked IPv4
 * and IPv6 sources (also behind a VLAN tag) are dropped and counted exactly, per prefix and in
 * the program's `blocked` counter, steered or kernel-bound; deleting a prefix lets them through
 * again; `--block-file` at start; steering a UDP port on and off with no restart; 1,000,000
 * prefixes in one list.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  argv,
  Bypassrt,
  cli,
  pktio,
  run,
  type Topology,
  withTopology,
  xdpAttached,
} from "./_netns.ts";
import { DrivenEngine } from "../../testing/engine_client.ts";
import { builtinHandler } from "../../engine/modes.ts";
import type { EngineOptions, EngineSnapshot } from "../../engine/runtime.ts";
import { parseIPv4, parseMac } from "../../packet/mod.ts";
import { parseCidr } from "../../engine/blocklist.ts";

const T = { sanitizeResources: false, sanitizeOps: false };

/** Ping `ip` from the peer; true when every request got its reply. */
async function ping(ns: string, ip: string, count: number): Promise<[boolean, string]> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", ns, ...argv(`ping -c ${count} -i 0.05 -W 1 ${ip}`)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return [text.includes(`${count} packets transmitted, ${count} received`), text];
}

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

/** Snapshots until `done` holds (frames in flight land within milliseconds), at most 3 s. */
async function settle(
  e: DrivenEngine,
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

function options(t: Topology, o: Partial<EngineOptions>): Omit<EngineOptions, "onEvent"> {
  return {
    port: { iface: t.dutIf },
    loop: { burst: 64, idlePollMs: 0, count: 0 },
    handler: builtinHandler("l2fwd"),
    steering: { all: false, udpPorts: [], respondIp: 0 },
    ...o,
  };
}

/** Run `fn` against an engine in the dut namespace; stop it and return its final report. */
async function withEngine(
  t: Topology,
  o: Partial<EngineOptions>,
  fn: (e: DrivenEngine) => Promise<void>,
) {
  const e = await DrivenEngine.start(t.dut, options(t, o));
  try {
    await fn(e);
  } catch (err) {
    await e.kill();
    throw err;
  }
  return await e.stop();
}

Deno.test(
  "respond: a blocked /32 and IPv6 /64 drop exactly the frames sent from them (VLAN too); " +
    "deleting the /32 lets ping through again",
  T,
  () =>
    withTopology(async (t) => {
      const report = await withEngine(t, {
        handler: builtinHandler("respond", { ip: "10.0.0.1" }),
        steering: { all: false, udpPorts: [], respondIp: parseIPv4("10.0.0.1") },
      }, async (e) => {
        const [before, out1] = await ping(t.peer, "10.0.0.1", 3);
        ok(before, out1);
        const s0 = await e.snapshot();
        strictEqual(s0.program.blocked, 0);

        strictEqual(await e.blockAdd("10.0.0.2"), "10.0.0.2/32");
        strictEqual(await e.blockAdd("10.0.0.2/32"), "10.0.0.2/32"); // already there: no error
        strictEqual(await e.blockAddMany(["2001:db8::/64", "10.0.0.2", "2001:DB8:0:0::/64"]), 1);
        const [during] = await ping(t.peer, "10.0.0.1", 3); // 3 echo requests, all blocked
        ok(!during, "ping got through a blocked source");
        await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1"), 50);
        await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1", { vlan: 5 }), 7);
        await sendRaw(t, udpFrame(t, "2001:db8::2", "2001:db8::1"), 30);
        await sendRaw(t, udpFrame(t, "2001:db8::2", "2001:db8::1", { vlan: 0 }), 4);
        // Not blocked: another IPv4 source and an IPv6 source outside the /64.
        await sendRaw(t, udpFrame(t, "10.0.0.3", "10.0.0.1"), 11);
        await sendRaw(t, udpFrame(t, "2001:db8:0:1::2", "2001:db8::1"), 13);

        const s = await settle(e, (s) => s.program.blocked >= 3 + 50 + 7 + 30 + 4);
        strictEqual(s.program.blocked, 3 + 50 + 7 + 30 + 4);
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
        ok(s.program.passed - s0.program.passed >= 11 + 13, JSON.stringify(s.program));

        strictEqual(await e.blockDel("10.0.0.2"), true);
        strictEqual(await e.blockDel("10.0.0.2/32"), false);
        const [after, out2] = await ping(t.peer, "10.0.0.1", 3);
        ok(after, out2);
        deepStrictEqual(await e.blockList(), [{ prefix: "2001:db8::/64", packets: 34 }]);
        strictEqual((await e.snapshot()).program.blocked, 94);
        // The next prefix reuses the freed counter slot, which starts from zero again.
        strictEqual(await e.blockAdd("10.0.0.9"), "10.0.0.9/32");
        deepStrictEqual(await e.blockList(), [
          { prefix: "10.0.0.9/32", packets: 0 },
          { prefix: "2001:db8::/64", packets: 34 },
        ]);
      });
      ok(report.balanced);
      strictEqual(report.program.blocked, 94);
    }),
);

Deno.test(
  "kernel-bound frames are blocked too: ping to the kernel's address fails while the peer is " +
    "blocked, then works again",
  T,
  () =>
    withTopology(async (t) => {
      const report = await withEngine(t, {
        steering: { all: false, udpPorts: [4242], respondIp: 0 },
      }, async (e) => {
        const [before, out1] = await ping(t.peer, "10.0.0.1", 3); // the dut kernel answers
        ok(before, out1);
        const s0 = await e.snapshot();
        strictEqual(s0.program.redirected, 0);
        strictEqual(await e.blockAdd("10.0.0.0/30"), "10.0.0.0/30");
        const [during] = await ping(t.peer, "10.0.0.1", 4);
        ok(!during, "ping reached the kernel from a blocked source");
        await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1", { port: 4242 }), 9); // steered port
        const s = await settle(e, (s) => s.program.blocked >= 4 + 9);
        strictEqual(s.program.blocked, 4 + 9);
        strictEqual(s.program.redirected, 0);
        deepStrictEqual(await e.blockList(), [{ prefix: "10.0.0.0/30", packets: 13 }]);
        strictEqual(await e.blockDel("10.0.0.0/30"), true);
        const [after, out2] = await ping(t.peer, "10.0.0.1", 3);
        ok(after, out2);
        deepStrictEqual(await e.blockList(), []);
        deepStrictEqual((await e.snapshot()).blocklist, {
          prefixes: 0,
          capacity: 1 << 20,
          dropped: 13,
        });
      });
      ok(report.balanced);
    }, { dutIp: "10.0.0.1/24" }),
);

Deno.test(
  "steering live: UDP/4243 goes to the kernel, after steerAdd it comes back byte-exact " +
    "(MACs swapped), after steerDel not any more; audit balanced",
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
      const report = await withEngine(t, {
        steering: { all: false, udpPorts: [4242], respondIp: 0 },
      }, async (e) => {
        deepStrictEqual(await e.steerList(), { all: false, udpPorts: [4242], respondIp: "" });
        strictEqual((await echo(4242, 200, 5)).matched, 200);
        const off = await echo(4243, 100, 1);
        strictEqual(off.received, 0);

        await e.steerAdd([4243, 4242]); // 4242 already steered: no error
        deepStrictEqual((await e.steerList()).udpPorts, [4242, 4243]);
        const on = await echo(4243, 300, 5);
        deepStrictEqual(on, {
          sent: 300,
          received: 300,
          matched: 300,
          mismatched: 0,
          duplicates: 0,
          unexpected: 0,
        });

        await e.steerDel([4243]);
        deepStrictEqual((await e.steerList()).udpPorts, [4242]);
        strictEqual((await echo(4243, 100, 1)).received, 0);
        strictEqual((await echo(4242, 100, 5)).matched, 100);

        await e.steerDel([4243]).then(
          () => ok(false, "steerDel of a port not steered succeeded"),
          (err) => strictEqual(err.message, "UDP port 4243 is not steered: steered ports are 4242"),
        );
        await e.steerAdd([0]).then(
          () => ok(false, "port 0 accepted"),
          (err) => ok(/UDP port 0 is invalid/.test(err.message), err.message),
        );
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
      const report = await withEngine(t, {
        steering: { all: false, udpPorts: [4242], respondIp: 0 },
      }, async (e) => {
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
  "steerAdd with --steer all is refused with one line",
  T,
  () =>
    withTopology(async (t) => {
      await withEngine(t, { steering: { all: true, udpPorts: [], respondIp: 0 } }, async (e) => {
        await e.steerAdd([53]).then(
          () => ok(false, "steerAdd accepted with steer all"),
          (err) => ok(/^steering is 'all'/.test(err.message), err.message),
        );
        deepStrictEqual(await e.steerList(), { all: true, udpPorts: [], respondIp: "" });
      });
    }),
);

Deno.test(
  "--block-file: a bad line is one error naming file:line, exit 1, nothing attached; a good " +
    "file blocks from the start",
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
        const b = new Bypassrt(t.dut, [
          ...argv(`--iface ${t.dutIf} --mode respond --ip 10.0.0.1 --block-file ${file}`),
        ]);
        try {
          await b.ready();
          const [got] = await ping(t.peer, "10.0.0.1", 3);
          ok(!got, "ping got through a source blocked by --block-file");
          await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1"), 20);
          await new Promise((r) => setTimeout(r, 300));
        } finally {
          strictEqual((await b.stop()).code, 0, b.stderr);
        }
        const f = b.final();
        strictEqual(f.program.blocked, 23);
        deepStrictEqual(f.blocklist, { prefixes: 2, capacity: 1 << 20, dropped: 23 });
        ok(f.balanced);
      } finally {
        await Deno.remove(file);
      }
    }),
);

Deno.test(
  "capacity: 1,000,000 distinct prefixes in one list (--block-max 1000000), the next one is " +
    "refused, and a prefix among them still counts exactly",
  T,
  () =>
    withTopology(async (t) => {
      const report = await withEngine(t, { blockMax: 1_000_000 }, async (e) => {
        const many: string[] = [];
        for (let i = 0; i < 999_999; i++) {
          many.push(`11.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
        }
        many.push("2001:db8::2"); // one IPv6 among them
        strictEqual(await e.blockAddMany(many), 1_000_000);
        strictEqual((await e.snapshot()).blocklist.prefixes, 1_000_000);
        await e.blockAdd("10.0.0.2").then(
          () => ok(false, "a 1,000,001st prefix was accepted"),
          (err) => ok(/^the blocklist is full: 1000000 of 1000000/.test(err.message), err.message),
        );
        strictEqual(await e.blockDel("11.0.0.0/32"), true);
        strictEqual(await e.blockAdd("10.0.0.2"), "10.0.0.2/32"); // the freed slot
        await sendRaw(t, udpFrame(t, "10.0.0.2", "10.0.0.1"), 25);
        await sendRaw(t, udpFrame(t, "2001:db8::2", "2001:db8::1"), 5);
        const s = await settle(e, (s) => s.program.blocked >= 30);
        strictEqual(s.program.blocked, 30);
        const list = await e.blockList();
        strictEqual(list.length, 1_000_000);
        deepStrictEqual(list[0], { prefix: "10.0.0.2/32", packets: 25 });
        deepStrictEqual(list[1], { prefix: "11.0.0.1/32", packets: 0 });
        deepStrictEqual(list[999_999], { prefix: "2001:db8::2/128", packets: 5 });
        strictEqual(list.reduce((a, x) => a + x.packets, 0), 30);
      });
      ok(report.balanced);
      await run("true");
    }),
);
