/**
 * Failure behaviour: signals, interface faults, contention, malformed traffic, bad input, and a
 * bounded soak. Every case runs in namespaces of its own and checks nothing is left behind.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  argv,
  Bypassrt,
  cli as runCli,
  inNs,
  nonZero,
  pktio,
  run,
  serve,
  withTopology,
  xdpAttached,
} from "./_netns.ts";
import { inetChecksum, parseMac } from "../../packet/mod.ts";
import { attachGenericXdp, compileBpf, FIXTURES } from "./_xdp.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const ROOT = new URL("../..", import.meta.url).pathname;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(ns: string, args: string[], env: Record<string, string> = {}, pre: string[] = []) {
  return runCli(args, { ns, env: { RUST_BACKTRACE: "1", ...env }, pre });
}

async function pingOk(ns: string, count: number): Promise<boolean> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", ns, "ping", "-c", String(count), "-i", "0.05", "-W", "1", "10.0.0.1"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).includes(`${count} received`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(
    `${signal} mid-stream: summary, audit balanced, program detached`,
    T,
    () =>
      withTopology(async (t) => {
        const b = new Bypassrt(t.dut, [
          "--iface",
          t.dutIf,
          "--mode",
          "l2fwd",
          "--steer",
          "udp:9000",
        ]);
        await b.ready();
        const traffic = pktio(
          t.peer,
          "send",
          "--iface",
          t.peerIf,
          "--dst-mac",
          t.dutMac,
          "--count",
          "20000",
          "--port",
          "9000",
          "--gap-us",
          "100",
        );
        await sleep(600);
        const st = await b.stop(signal);
        await traffic;
        strictEqual(st.code, 0, b.stderr);
        const f = b.final();
        strictEqual(f.stop_reason, signal);
        ok(f.total.rx_packets > 0, "traffic was flowing when the signal came");
        strictEqual(
          f.total.tx_packets + f.total.tx_ring_full + f.total.drained_at_stop,
          f.total.rx_packets,
          "every received frame was sent, or freed and counted",
        );
        strictEqual(f.balanced, true, JSON.stringify(f.audits));
        strictEqual(await xdpAttached(t.dut, t.dutIf), false);
      }),
  );
}

Deno.test(
  "SIGKILL: nothing stays attached; a new run starts cleanly on the same queue",
  T,
  () =>
    withTopology(async (t) => {
      const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--mode", "respond", "--ip", "10.0.0.1"]);
      await b.ready();
      ok(await xdpAttached(t.dut, t.dutIf));
      ok(await pingOk(t.peer, 3));
      await b.stop("SIGKILL");
      strictEqual(await xdpAttached(t.dut, t.dutIf), false);
      const b2 = new Bypassrt(t.dut, ["--iface", t.dutIf, "--mode", "respond", "--ip", "10.0.0.1"]);
      try {
        await b2.ready();
        ok(await pingOk(t.peer, 5), "the new instance answers");
      } finally {
        strictEqual((await b2.stop()).code, 0, b2.stderr);
      }
      strictEqual(b2.final().balanced, true);
    }),
);

Deno.test(
  "interface down then up: keeps serving; deleted: clean exit 4 with one line",
  T,
  () =>
    withTopology(async (t) => {
      const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--mode", "respond", "--ip", "10.0.0.1"]);
      await b.ready();
      ok(await pingOk(t.peer, 3));
      await run("ip", "-n", t.dut, "link", "set", t.dutIf, "down");
      await sleep(500);
      await run("ip", "-n", t.dut, "link", "set", t.dutIf, "up");
      await sleep(500);
      ok(await pingOk(t.peer, 3), "answers again after the link came back");
      await run("ip", "-n", t.dut, "link", "del", t.dutIf);
      const st = await Promise.race([b.wait(), sleep(5000).then(() => null)]);
      ok(st, "exited by itself within 5 s");
      strictEqual(st!.code, 4, b.stderr);
      const errLines = b.stderr.trim().split("\n").filter((l) => l.startsWith("bypassrt: error"));
      strictEqual(errLines.length, 1);
      ok(errLines[0].includes(`interface ${t.dutIf} disappeared`), errLines[0]);
      const f = b.final();
      strictEqual(f.stop_reason, "interface-gone");
      strictEqual(f.balanced, true, JSON.stringify(f.audits));
    }),
);

Deno.test(
  "a second byPassRT on the same interface is refused; the first keeps working",
  T,
  () =>
    withTopology(async (t) => {
      await serve(t, "--mode respond --ip 10.0.0.1", async () => {
        const r = await cli(t.dut, ["--iface", t.dutIf, "--mode", "rxdrop"]);
        strictEqual(r.code, 1);
        strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
        ok(r.stderr.includes("already served by another byPassRT"), r.stderr);
        ok(await pingOk(t.peer, 3), "the first instance still answers");
      });
    }),
);

Deno.test(
  "a foreign XDP program is not replaced without --force; --force replaces it",
  T,
  () =>
    withTopology(async (t) => {
      const obj = await Deno.makeTempFile({ suffix: ".o" });
      try {
        await compileBpf(`${FIXTURES}xdp_pass.c`, obj);
        await attachGenericXdp(t.dut, t.dutIf, obj);
        const idOf = async () =>
          /prog\/xdp id (\d+)/.exec(await run("ip", "-n", t.dut, "-d", "link", "show", t.dutIf))
            ?.[1];
        const foreign = await idOf();
        ok(foreign, "foreign program attached");
        const r = await cli(t.dut, ["--iface", t.dutIf, "--mode", "rxdrop", "--duration", "1"]);
        strictEqual(r.code, 1);
        strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
        ok(r.stderr.includes("--force") && r.stderr.includes(`id ${foreign}`), r.stderr);
        strictEqual(await idOf(), foreign, "still the foreign program");
        await serve(t, "--mode respond --ip 10.0.0.1 --force", async () => {
          ok(await pingOk(t.peer, 3));
        });
        strictEqual(await xdpAttached(t.dut, t.dutIf), false);
      } finally {
        await Deno.remove(obj);
      }
    }),
);

// ---- malformed traffic ---------------------------------------------------------------------

interface Case {
  name: string;
  frame: Uint8Array;
  /** Drop reason name, or "reply". */
  expect: string;
}

function echoRequest(dst: Uint8Array, src: Uint8Array, payload = 56): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + payload);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x08;
  const ip = 14;
  f[ip] = 0x45;
  const tot = 20 + 8 + payload;
  f[ip + 2] = tot >> 8;
  f[ip + 3] = tot & 0xff;
  f[ip + 6] = 0x40; // DF
  f[ip + 8] = 64;
  f[ip + 9] = 1;
  f.set([10, 0, 0, 2], ip + 12);
  f.set([10, 0, 0, 1], ip + 16);
  fixIp(f);
  const icmp = ip + 20;
  f[icmp] = 8;
  f[icmp + 5] = 7; // id
  f[icmp + 7] = 1; // seq
  for (let i = 0; i < payload; i++) f[icmp + 8 + i] = i & 0xff;
  fixIcmp(f);
  return f;
}

function fixIp(f: Uint8Array, off = 14): void {
  const ihl = (f[off] & 0xf) * 4;
  f[off + 10] = f[off + 11] = 0;
  const c = inetChecksum(f, off, Math.min(ihl, f.length - off));
  f[off + 10] = c >> 8;
  f[off + 11] = c & 0xff;
}

function fixIcmp(f: Uint8Array, ipOff = 14): void {
  const ihl = (f[ipOff] & 0xf) * 4, o = ipOff + ihl;
  f[o + 2] = f[o + 3] = 0;
  const c = inetChecksum(f, o, f.length - o);
  f[o + 2] = c >> 8;
  f[o + 3] = c & 0xff;
}

function arp(dst: Uint8Array, src: Uint8Array, op: number, targetIp: number[]): Uint8Array {
  const f = new Uint8Array(42);
  f.set(dst, 0);
  f.set(src, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op], 12);
  f.set(src, 22);
  f.set([10, 0, 0, 2], 28);
  f.set(targetIp, 38);
  return f;
}

function cases(dut: Uint8Array, peer: Uint8Array): Case[] {
  const bcast = parseMac("ff:ff:ff:ff:ff:ff"), mcast = parseMac("01:00:5e:00:00:01");
  const mut = (f: Uint8Array, fn: (f: Uint8Array) => void) => (fn(f), f);
  const withIpOptions = (opts: number[]) => {
    const base = echoRequest(dut, peer);
    const f = new Uint8Array(base.length + opts.length);
    f.set(base.subarray(0, 34), 0);
    f.set(opts, 34);
    f.set(base.subarray(34), 34 + opts.length);
    f[14] = 0x45 + opts.length / 4;
    const tot = base.length - 14 + opts.length;
    f[16] = tot >> 8;
    f[17] = tot & 0xff;
    fixIp(f);
    fixIcmp(f);
    return f;
  };
  const vlan = (vid: number) => {
    const base = echoRequest(dut, peer);
    const f = new Uint8Array(base.length + 4);
    f.set(base.subarray(0, 12), 0);
    f.set([0x81, 0x00, 0x00, vid], 12);
    f.set(base.subarray(12), 16);
    return f;
  };
  const ipv6 = () =>
    mut(
      new Uint8Array(54),
      (f) => (f.set(dut, 0), f.set(peer, 6), f[12] = 0x86, f[13] = 0xdd, f[14] = 0x60),
    );
  return [
    { name: "valid echo", frame: echoRequest(dut, peer), expect: "reply" },
    { name: "valid ARP request", frame: arp(bcast, peer, 1, [10, 0, 0, 1]), expect: "reply" },
    { name: "max-size echo (1514 bytes)", frame: echoRequest(dut, peer, 1472), expect: "reply" },
    { name: "header only", frame: echoRequest(dut, peer).subarray(0, 14), expect: "ip_truncated" },
    {
      name: "truncated IPv4",
      frame: echoRequest(dut, peer).subarray(0, 30),
      expect: "ip_truncated",
    },
    {
      name: "bad IHL",
      frame: mut(echoRequest(dut, peer), (f) => (f[14] = 0x44, fixIp(f))),
      expect: "ip_bad_ihl",
    },
    {
      name: "wrong IP checksum",
      frame: mut(echoRequest(dut, peer), (f) => f[24] ^= 0xff),
      expect: "ip_bad_checksum",
    },
    // Options the kernel accepts without echoing them: answered, the reply without options.
    { name: "IP options (End of List only)", frame: withIpOptions([0, 0, 0, 0]), expect: "reply" },
    {
      name: "IP Timestamp option",
      frame: withIpOptions([0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
      expect: "ip_options",
    },
    { name: "malformed IP option", frame: withIpOptions([7, 1, 0, 0]), expect: "ip_bad_options" },
    {
      name: "fragment",
      frame: mut(echoRequest(dut, peer), (f) => (f[20] = 0x20, fixIp(f))),
      expect: "ip_fragment",
    },
    { name: "VLAN tagged", frame: vlan(5), expect: "vlan" },
    { name: "priority tagged (VLAN id 0)", frame: vlan(0), expect: "reply" },
    { name: "IPv6", frame: ipv6(), expect: "ipv6" },
    { name: "broadcast dst MAC echo", frame: echoRequest(bcast, peer), expect: "not_for_our_mac" },
    { name: "multicast dst MAC echo", frame: echoRequest(mcast, peer), expect: "not_for_our_mac" },
    {
      name: "truncated ICMP",
      frame: mut(echoRequest(dut, peer, 0).subarray(0, 14 + 24), (f) => (f[17] = 24, fixIp(f))),
      expect: "icmp_truncated",
    },
    {
      name: "wrong ICMP checksum",
      frame: mut(echoRequest(dut, peer), (f) => f[36] ^= 0xff),
      expect: "icmp_bad_checksum",
    },
    {
      name: "echo reply",
      frame: mut(echoRequest(dut, peer), (f) => (f[34] = 0, fixIcmp(f))),
      expect: "icmp_not_echo_request",
    },
    {
      name: "echo to another IP",
      frame: mut(echoRequest(dut, peer), (f) => (f[33] = 9, fixIp(f), fixIcmp(f))),
      expect: "ip_not_for_us",
    },
    {
      name: "ARP for another IP",
      frame: arp(bcast, peer, 1, [10, 0, 0, 9]),
      expect: "arp_not_for_us",
    },
    { name: "ARP reply", frame: arp(dut, peer, 2, [10, 0, 0, 1]), expect: "arp_not_request" },
  ];
}

Deno.test(
  "malformed traffic: never crashes, drops by reason, answers only valid requests",
  T,
  () =>
    withTopology(async (t) => {
      const list = cases(parseMac(t.dutMac), parseMac(t.peerMac));
      const hexfile = await Deno.makeTempFile();
      const hex = (f: Uint8Array) => [...f].map((b) => b.toString(16).padStart(2, "0")).join("");
      await Deno.writeTextFile(hexfile, list.map((c) => hex(c.frame)).join("\n") + "\n");
      let got = { sent: 0, received: [] as string[] };
      let b: Bypassrt;
      try {
        b = await serve(t, "--mode respond --ip 10.0.0.1 --steer all", async () => {
          got = await pktio(
            t.peer,
            "exchange",
            ...argv(
              `--iface ${t.peerIf} --hexfile ${hexfile} --timeout 1`,
            ),
          ) as unknown as typeof got;
        });
      } finally {
        await Deno.remove(hexfile);
      }
      strictEqual(got.sent, list.length);
      const f = b.final();
      const expected: Record<string, number> = {};
      for (const c of list) {
        if (c.expect !== "reply") expected[c.expect] = (expected[c.expect] ?? 0) + 1;
      }
      deepStrictEqual(nonZero(f.handler_counters), expected, "respond's counters: drop reasons");
      strictEqual(f.total.rx_packets, list.length);
      const answers = list.filter((c) => c.expect === "reply").length;
      strictEqual(f.total.tx_packets, answers);
      // Exactly one reply per valid request reached the peer (one ARP, the rest echo), all correct.
      const replies = got.received.map((h) =>
        Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)))
      );
      strictEqual(replies.length, answers, JSON.stringify(got.received.map((h) => h.slice(0, 60))));
      const peerMac = parseMac(t.peerMac);
      for (const r of replies) {
        deepStrictEqual([...r.subarray(0, 6)], [...peerMac], "to the peer");
        deepStrictEqual([...r.subarray(6, 12)], [...parseMac(t.dutMac)], "from our MAC");
        if (r[12] === 0x08 && r[13] === 0x06) {
          strictEqual(r[21], 2, "ARP reply");
          deepStrictEqual([...r.subarray(28, 32)], [10, 0, 0, 1]);
        } else {
          strictEqual(r[14], 0x45, "untagged, no options");
          strictEqual(inetChecksum(r, 14, 20), 0, "IP checksum");
          strictEqual(r[34], 0, "echo reply");
          strictEqual(inetChecksum(r, 34, r.length - 34), 0, "ICMP checksum");
          deepStrictEqual([...r.subarray(26, 34)], [10, 0, 0, 1, 10, 0, 0, 2]);
        }
      }
      ok(replies.some((r) => r.length === 1514), "the max-size echo was answered in full");
      strictEqual(f.balanced, true);
    }),
);

// ---- bad input ----------------------------------------------------------------------------

Deno.test(
  "bad input: one line, non-zero exit, nothing attached or created",
  T,
  () =>
    withTopology(async (t) => {
      const i = ["--iface", t.dutIf];
      const bad: [string[], RegExp, Record<string, string>?, string[]?][] = [
        [["--iface", "nosuchdev0"], /interface nosuchdev0 not found/],
        [[...i, "--queue", "5"], /queue 5 may not exist/],
        [[...i, "--bind", "zerocopy"], /does not support zerocopy mode: use --bind copy or auto/],
        [[...i, "--queue", "99"], /--queue/],
        [[...i, "--frames", "1000"], /--frames must be a power of two/],
        [[...i, "--ring-size", "100"], /--ring-size must be a power of two/],
        [[...i, "--ring-size", "131072"], /--ring-size must be a power of two between/],
        [[...i, "--frame-size", "1024"], /frame-size/],
        [[...i, "--burst", "0"], /--burst/],
        [[...i, "--cpu", "99"], /--cpu 99: no such CPU online/],
        [[...i, "--cpu", "0,1"], /one CPU per queue/],
        [[...i, "--mode", "respond"], /needs --ip/],
        [[...i, "--mode", "respond", "--ip", "300.1.1.1"], /--ip: invalid IPv4 address/],
        [[...i, "--steer", "udp:70000"], /--steer port/],
        [[...i, "--steer", "tcp:80"], /--steer/],
        [i, /helper library \/nonexistent\/.* not found: run 'deno task build'/, {
          BYPASSRT_BUILD_DIR: "/nonexistent",
        }],
        [i, /CAP_NET_ADMIN/, {}, ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"]],
      ];
      const nsBefore = await run("ip", "netns", "list");
      const ours = () =>
        [...Deno.readDirSync("/tmp")].filter((e) => e.name.startsWith("bypassrt-"));
      const tmpBefore = ours().length;
      for (const [args, re, env, pre] of bad) {
        const r = await cli(t.dut, [...args, "--duration", "1"], env, pre);
        ok(r.code !== 0, `${args.join(" ")}: exit ${r.code}`);
        const lines = r.stderr.trim().split("\n");
        strictEqual(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
        ok(re.test(lines[0]), `${args.join(" ")}: ${lines[0]}`);
        strictEqual(
          await xdpAttached(t.dut, t.dutIf),
          false,
          `${args.join(" ")} left XDP attached`,
        );
      }
      strictEqual(await run("ip", "netns", "list"), nsBefore);
      strictEqual(ours().length, tmpBefore);
      deepStrictEqual(
        (await run("ip", "-n", t.dut, "-br", "link")).trim().split("\n").map((l) =>
          l.split(/\s+/)[0]
        )
          .sort(),
        ["lo", `${t.dutIf}@if2`].sort(),
      );
    }),
);

Deno.test(
  "libxdp ABI mismatch (helper built against a header whose struct grew): one line, exit 1",
  T,
  () =>
    withTopology(async (t) => {
      // A build dir whose helper saw a <xdp/xsk.h> with a field appended to struct xsk_umem_config.
      const dir = await Deno.makeTempDir({ prefix: "bpt-abi-" });
      try {
        const header = await Deno.readTextFile("/usr/include/xdp/xsk.h");
        const grown = header.replace(
          /(struct xsk_umem_config \{[^}]*__u32 flags;\n)/,
          "$1\t__u32 tx_metadata_len;\n",
        );
        ok(grown !== header, "struct xsk_umem_config not found in /usr/include/xdp/xsk.h");
        await Deno.mkdir(`${dir}/include/xdp`, { recursive: true });
        await Deno.writeTextFile(`${dir}/include/xdp/xsk.h`, grown);
        const cc = ["-O2", "-shared", "-fPIC", `-I${dir}/include`, `${ROOT}ffi/helper.c`];
        await run("gcc", ...cc, "-o", `${dir}/libbypass_helper.so`, "-lbpf", "-lxdp");
        await Deno.copyFile(`${ROOT}build/xdp_steer.o`, `${dir}/xdp_steer.o`);
        const r = await cli(t.dut, ["--iface", t.dutIf, "--duration", "1"], {
          BYPASSRT_BUILD_DIR: dir,
        });
        strictEqual(r.code, 1, r.stderr);
        strictEqual(r.stdout, "");
        const lines = stderrLines(r.stderr);
        strictEqual(lines.length, 1, r.stderr);
        strictEqual(
          lines[0],
          "bypassrt: error: libxdp ABI mismatch: sizeof(struct xsk_umem_config) is 24 in the " +
            "<xdp/xsk.h> the helper was built against, byPassRT expects 20: byPassRT supports " +
            "libxdp 1.3.x; install its headers and library (e.g. Debian 12's libxdp-dev and " +
            "libxdp1 1.3.1) and rebuild with 'deno task build'",
        );
        strictEqual(await xdpAttached(t.dut, t.dutIf), false, "refused before attaching");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
);

/** stderr lines without ANSI escapes and without Deno's own "Download ..." lines. */
function stderrLines(stderr: string): string[] {
  // deno-lint-ignore no-control-regex
  return stderr.replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n")
    .filter((l) => !l.startsWith("Download "));
}

// ---- soak -----------------------------------------------------------------------------------

const SOAK_S = Number(Deno.env.get("BYPASSRT_SOAK_S") ?? "60");
/** UMEM frames of a default run (`--frames` 4096). */
const FRAMES = 4096;

/** One counter of `dev` in `ns` (/sys/class/net/DEV/statistics/NAME). */
async function linkStat(ns: string, dev: string, name: string): Promise<number> {
  return Number((await inNs(ns, "cat", `/sys/class/net/${dev}/statistics/${name}`)).trim());
}

/** Poll `cond` every 100 ms until it holds; throw naming `what` after `ms`. */
async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

type Totals = { rx_packets: number; tx_packets: number; free_frames: number };

Deno.test(
  `soak: ${SOAK_S} s of l2fwd at full rate, every frame sent reached the peer, no leak, no stall`,
  T,
  () =>
    withTopology(async (t) => {
      // Nothing but byPassRT's TX reaches the peer end: the dut end has no address, IPv6 is off,
      // and the generator on the peer end only transmits. So the peer end's rx_packets counts
      // exactly the frames byPassRT put on the wire.
      const peerRx0 = await linkStat(t.peer, t.peerIf, "rx_packets");
      const dutTxDropped0 = await linkStat(t.dut, t.dutIf, "tx_dropped");
      const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--mode", "l2fwd", "--steer", "udp:4242"]);
      const intervals = () => b.lines.filter((l) => !l.final).map((l) => l.total as Totals);
      let genReady = 0, genExited = 0, sent = 0, freeBefore = -1;
      let failure: unknown;
      try {
        await b.ready();
        freeBefore = intervals()[0].free_frames;
        const gen = new Bypassrt(t.peer, [
          "--iface",
          t.peerIf,
          "--mode",
          "txonly",
          "--dst-mac",
          t.dutMac,
          "--duration",
          String(SOAK_S),
        ]);
        await gen.ready();
        genReady = intervals().length;
        const gst = await gen.wait();
        genExited = intervals().length;
        strictEqual(gst.code, 0, gen.stderr);
        sent = gen.final().total.tx_packets;
        // Idle: a whole interval after the generator stopped in which nothing was received or
        // completed (TX has drained).
        await until(
          () => {
            const l = intervals(), n = l.length;
            return n >= genExited + 2 && l[n - 1].rx_packets === l[n - 2].rx_packets &&
              l[n - 1].tx_packets === l[n - 2].tx_packets;
          },
          10_000,
          "an idle interval after the generator stopped",
        );
      } catch (e) {
        failure = e;
      }
      const st = await b.stop();
      if (failure) throw failure;
      strictEqual(st.code, 0, b.stderr);
      const f = b.final();
      const per = intervals();
      const idle = per[per.length - 1];
      ok(sent > 0, "the generator sent");
      ok(f.total.rx_packets > 0, "byPassRT received");

      // Every frame that reached user space was forwarded, or freed because the TX ring was
      // full or because it was still on the RX ring at stop (both counted).
      strictEqual(
        f.total.tx_packets + f.total.tx_ring_full + f.total.app_dropped + f.total.drained_at_stop,
        f.total.rx_packets,
        "rx = tx + tx_ring_full + app_dropped + drained_at_stop",
      );
      strictEqual(f.total.drained_at_stop, 0, "stopped while idle: nothing left on RX");

      // Every frame byPassRT counts as sent (completed on TX) arrived at the peer end. Read the
      // peer's counter once byPassRT has exited (its TX is finished) and it no longer moves.
      let peerRx = await linkStat(t.peer, t.peerIf, "rx_packets");
      await until(
        async () => {
          await sleep(200);
          const again = await linkStat(t.peer, t.peerIf, "rx_packets");
          const stable = again === peerRx;
          peerRx = again;
          return stable;
        },
        5000,
        "the peer's rx_packets to settle",
      );
      const vethDropped = (await linkStat(t.dut, t.dutIf, "tx_dropped")) - dutTxDropped0;
      strictEqual(
        peerRx - peerRx0,
        f.total.tx_packets,
        `frames the peer received vs frames byPassRT completed (dut veth tx_dropped +${vethDropped})`,
      );

      // No leak: stopped while idle (generator gone, TX drained), every frame is back in the
      // pool or on the FILL ring, none on RX, TX or COMPLETION, none held by the loop, none
      // twice.
      const a = f.audits[0] as Record<string, number>;
      deepStrictEqual(
        {
          frames: a.pool + a.fill,
          rx: a.rx,
          app: a.app,
          tx: a.tx,
          completion: a.completion,
          inFlight: a.inFlight,
          duplicates: a.duplicates,
        },
        { frames: FRAMES, rx: 0, app: 0, tx: 0, completion: 0, inFlight: 0, duplicates: 0 },
        JSON.stringify(a),
      );
      strictEqual(f.balanced, true, JSON.stringify(f.audits));
      // The free frames byPassRT reported in the idle interval are that pool, and the same as
      // before any traffic: idle, the port tops FILL up completely again, so a frame missing
      // from the pool after the run would be a frame lost during it.
      strictEqual(idle.free_frames, a.pool, "free_frames of the idle interval = pool in the audit");
      strictEqual(idle.free_frames, freeBefore, "free frames idle after the run = before it");

      // No stall: every interval that lay wholly within the generator's run received packets.
      for (let k = genReady + 1; k < genExited - 1; k++) {
        ok(per[k].rx_packets > per[k - 1].rx_packets, `stall in interval ${k}`);
      }
      ok(genExited - genReady >= SOAK_S - 2, `${genExited - genReady} intervals during the run`);
      console.log(
        `soak: generator sent ${sent}, byPassRT forwarded ${f.total.tx_packets} in ${SOAK_S} s ` +
          `(peer received ${peerRx - peerRx0}, kernel rx_dropped ` +
          `${f.total.xdp_statistics.rx_dropped}, ring full ${f.total.tx_ring_full}, ` +
          `free frames idle ${idle.free_frames}, fill ${a.fill})`,
      );
    }),
);
