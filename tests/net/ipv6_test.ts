/**
 * IPv6 and 802.1Q over a real veth: `--steer udp:P` steers IPv6/UDP by port (behind up to four
 * Hop-by-Hop/Routing/Destination Options headers, never fragments), live steering covers both
 * families, `--vlan` steers tagged frames by their inner header, and `respond --ip6` answers
 * ping -6 and Neighbor Solicitations the way the kernel does, byte for byte.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { cli, inNs, nonZero, ping, run, serve, type Topology, withTopology } from "./_netns.ts";
import {
  echo6Frame,
  icmp6ChecksumOk,
  ip6Bytes,
  macBytes,
  multicastMac,
  nsFrame,
  solicitedNode,
  udp6Frame,
} from "../../testing/ipv6_frames.ts";
import { exchange, hex } from "./_exchange.ts";

const T = { sanitizeResources: false, sanitizeOps: false };

/** `f` with its MAC addresses swapped: what l2fwd sends back. */
function swapped(f: Uint8Array): string {
  return hex(Uint8Array.from([...f.subarray(6, 12), ...f.subarray(0, 6), ...f.subarray(12)]));
}

/** A UDP/IPv4 frame from the peer to the dut (checksum 0: allowed over IPv4). */
function udp4Frame(
  dst: number[],
  src: number[],
  port: number,
  payload: number[],
  tags: number[] = [],
) {
  const ulen = 8 + payload.length, tot = 20 + ulen;
  const ip = [0x45, 0, tot >> 8, tot & 0xff, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1];
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (ip[i] << 8) | ip[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  ip[10] = (~s >> 8) & 0xff;
  ip[11] = ~s & 0xff;
  const tagBytes = tags.flatMap((tci) => [0x81, 0x00, tci >> 8, tci & 0xff]);
  return Uint8Array.from([
    ...dst,
    ...src,
    ...tagBytes,
    0x08,
    0x00,
    ...ip,
    0x4e,
    0x20,
    port >> 8,
    port & 0xff,
    ulen >> 8,
    ulen & 0xff,
    0,
    0,
    ...payload,
  ]);
}

const PEER6 = ip6Bytes("2001:db8::2"), DUT6 = ip6Bytes("2001:db8::1");
const payload = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
/** Hop-by-Hop header body: PadN filling the 8 bytes. */
const HBH = { type: 0, bytes: [0, 1, 4, 0, 0, 0, 0] };
/** Destination Options header body, 16 bytes (hdrlen 1). */
const DSTOPT = { type: 60, bytes: [1, 1, 12, ...new Array(12).fill(0)] };
/** A Fragment header (first fragment, M set). */
const FRAG = { type: 44, bytes: [0, 0, 1, 0, 0, 0, 7] };

Deno.test(
  "--steer udp:P steers IPv6/UDP by port: exactly those frames come back from l2fwd, byte-exact; " +
    "live steering adds a port for both families",
  T,
  () =>
    withTopology(async (t) => {
      const dst = macBytes(t.dutMac), src = macBytes(t.peerMac);
      const o = { dst, src, srcIp: PEER6, dstIp: DUT6 };
      const steered: Uint8Array[] = [], other: Uint8Array[] = [], later: Uint8Array[] = [];
      for (let i = 0; i < 40; i++) {
        const size = [0, 1, 18, 200, 1000, 1452][i % 6];
        steered.push(udp6Frame(o, 9000, payload(size, i)));
        other.push(udp6Frame(o, 9001, payload(size, i)));
      }
      // Behind extension headers the port is still found; behind a fragment header it is not.
      steered.push(udp6Frame({ ...o, ext: [HBH] }, 9000, payload(30, 1)));
      steered.push(udp6Frame({ ...o, ext: [HBH, DSTOPT] }, 9000, payload(30, 2)));
      steered.push(udp4Frame(dst, src, 9000, payload(30, 3)));
      other.push(udp6Frame({ ...o, ext: [FRAG] }, 9000, payload(30, 4)));
      other.push(udp6Frame({ ...o, ext: [HBH, HBH, HBH, HBH, HBH] }, 9000, payload(30, 5)));
      // A tagged frame is not steered without --vlan.
      other.push(udp6Frame({ ...o, tags: [5] }, 9000, payload(30, 6)));
      later.push(udp6Frame(o, 9001, payload(64, 7)), udp4Frame(dst, src, 9001, payload(64, 8)));

      let first: Uint8Array[] = [], second: Uint8Array[] = [];
      const b = await serve(t, "--mode l2fwd --steer udp:9000 --poll-ms 1", async () => {
        // Interleaved: the kernel (IPv6 off, no such port) drops what is not steered.
        const mixed = steered.flatMap((f, i) => other[i] ? [f, other[i]] : [f]);
        first = await exchange(t, [...mixed, ...other.slice(steered.length)]);
        const add = await cli(["ctl", "--iface", t.dutIf, "steer", "add", "udp:9001"]);
        strictEqual(add.code, 0, add.stderr);
        second = await exchange(t, later);
      });
      deepStrictEqual(first.map(hex), steered.map(swapped));
      deepStrictEqual(second.map(hex), later.map(swapped));
      const f = b.final();
      strictEqual(f.total.rx_packets, steered.length + later.length);
      strictEqual(f.total.tx_packets, steered.length + later.length);
      strictEqual(f.program.redirected, steered.length + later.length);
      ok(f.program.passed >= other.length, JSON.stringify(f.program));
      strictEqual(f.balanced, true);
    }),
);

Deno.test(
  "--vlan: tagged IPv4 and IPv6 UDP to a steered port is steered and echoed; without it the " +
    "kernel gets it",
  T,
  () =>
    withTopology(async (t) => {
      const dst = macBytes(t.dutMac), src = macBytes(t.peerMac);
      const o = { dst, src, srcIp: PEER6, dstIp: DUT6 };
      const tagged = [
        udp6Frame({ ...o, tags: [100] }, 9000, payload(100, 1)),
        udp4Frame(dst, src, 9000, payload(100, 2), [0x3000 | 4094]),
        udp6Frame({ ...o, tags: [0] }, 9000, payload(10, 3)),
      ];
      const notSteered = [
        udp6Frame({ ...o, tags: [100] }, 9001, payload(100, 4)),
        udp6Frame({ ...o, tags: [100, 200] }, 9000, payload(100, 5)), // two tags: kernel
      ];
      for (const vlan of [true, false]) {
        let got: Uint8Array[] = [];
        const b = await serve(
          t,
          `--mode l2fwd --steer udp:9000 --poll-ms 1${vlan ? " --vlan" : ""}`,
          async () => {
            got = await exchange(t, [...tagged, ...notSteered]);
          },
        );
        const f = b.final();
        if (vlan) {
          deepStrictEqual(got.map(hex), tagged.map(swapped));
          strictEqual(f.total.rx_packets, tagged.length);
        } else {
          deepStrictEqual(got.map(hex), []);
          strictEqual(f.total.rx_packets, 0);
          ok(f.program.passed >= tagged.length + notSteered.length, JSON.stringify(f.program));
        }
        strictEqual(f.balanced, true);
      }
    }),
);

const DUT6_TEXT = "2001:db8::1", PEER6_TEXT = "2001:db8::2";

/** Give the peer (and, if `dut`, the dut kernel) their IPv6 addresses, no DAD delay. */
async function addAddrs(t: Topology, dut: boolean): Promise<void> {
  await run("ip", "-n", t.peer, "-6", "addr", "add", `${PEER6_TEXT}/64`, "dev", t.peerIf, "nodad");
  if (dut) {
    await run("ip", "-n", t.dut, "-6", "addr", "add", `${DUT6_TEXT}/64`, "dev", t.dutIf, "nodad");
  }
}

Deno.test(
  "respond --ip6: ping -6 from the peer works (its kernel resolves the address by NDP first), " +
    "to a global and to a link-local address",
  T,
  () =>
    withTopology(async (t) => {
      await addAddrs(t, false);
      for (
        const [addr, target] of [[DUT6_TEXT, DUT6_TEXT], ["fe80::1234", `fe80::1234%${t.peerIf}`]]
      ) {
        const b = await serve(t, `--mode respond --ip6 ${addr}`, async () => {
          const [all, , out] = await ping(t.peer, target, 5);
          ok(all, out);
          const neigh = await inNs(t.peer, "ip", "-6", "neigh", "show", addr, "dev", t.peerIf);
          ok(neigh.includes(`lladdr ${t.dutMac}`), neigh);
        });
        const f = b.final();
        deepStrictEqual(nonZero(f.handler_counters), {});
        // 5 echo requests and at least one Neighbor Solicitation, every one answered.
        ok(f.total.rx_packets >= 6, JSON.stringify(f.total));
        strictEqual(f.total.tx_packets, f.total.rx_packets);
        strictEqual(f.balanced, true);
      }
    }, { ipv6: true }),
);

/** One differential case: frames sent in one exchange, what is expected of kernel and respond. */
interface Case6 {
  name: string;
  frame: Uint8Array;
  /** "same": both answer, same bytes (flow label masked); "silent"; "kernel only". */
  expect: "same" | "silent" | "kernel only";
  /** respond's drop counts for it (none: left to the kernel by the XDP program). */
  drops?: Record<string, number>;
}

function cases6(dutMac: string, peerMac: string): Case6[] {
  const dm = macBytes(dutMac), pm = macBytes(peerMac);
  const uni = { dst: dm, src: pm, srcIp: PEER6, dstIp: DUT6 };
  const grp = { ...uni, dst: multicastMac(solicitedNode(DUT6)), dstIp: solicitedNode(DUT6) };
  const dad = { ...grp, srcIp: ip6Bytes("::") };
  const other = ip6Bytes("2001:db8::99");
  const c: Case6[] = [
    { name: "NS to the solicited-node group", frame: nsFrame(grp, DUT6, pm), expect: "same" },
    { name: "NS unicast, with SLLA", frame: nsFrame(uni, DUT6, pm), expect: "same" },
    { name: "NS unicast, no SLLA", frame: nsFrame(uni, DUT6), expect: "same" },
    { name: "DAD probe", frame: nsFrame(dad, DUT6), expect: "same" },
    {
      name: "NS with an unknown option after the SLLA",
      frame: nsFrame(grp, DUT6, pm, [200, 1, 1, 2, 3, 4, 5, 6]),
      expect: "same",
    },
    { name: "NS padded", frame: nsFrame({ ...grp, pad: 10 }, DUT6, pm), expect: "same" },
    {
      name: "NS, hop limit 64",
      frame: nsFrame({ ...grp, hopLimit: 64 }, DUT6, pm),
      expect: "silent",
      drops: { nd_invalid: 1 },
    },
    {
      name: "NS, code 1",
      frame: nsFrame(grp, DUT6, pm, [], 1),
      expect: "silent",
      drops: { nd_invalid: 1 },
    },
    {
      name: "NS, bad checksum",
      frame: nsFrame({ ...grp, badSum: true }, DUT6, pm),
      expect: "silent",
      drops: { icmp6_bad_checksum: 1 },
    },
    {
      name: "NS, zero-length option",
      frame: nsFrame(grp, DUT6, pm, [200, 0, 0, 0, 0, 0, 0, 0]),
      expect: "silent",
      drops: { nd_invalid: 1 },
    },
    {
      name: "DAD probe with SLLA",
      frame: nsFrame(dad, DUT6, pm),
      expect: "silent",
      drops: { nd_invalid: 1 },
    },
    // The kernel answers it because it knows the peer (permanent entry); respond answers the
    // frame's source MAC.
    { name: "NS to the group without SLLA", frame: nsFrame(grp, DUT6), expect: "same" },
    { name: "NS for another target", frame: nsFrame(uni, other, pm), expect: "silent" },
    {
      name: "echo, bad checksum",
      frame: echo6Frame({ ...uni, badSum: true }, 1, 1, payload(56, 0)),
      expect: "silent",
      drops: { icmp6_bad_checksum: 1 },
    },
    {
      name: "echo behind a Hop-by-Hop header",
      frame: echo6Frame({ ...uni, ext: [HBH] }, 1, 1, payload(56, 0)),
      expect: "kernel only",
      drops: { ip6_ext_header: 1 },
    },
    {
      name: "echo, priority tag",
      frame: echo6Frame({ ...uni, tags: [0x6000] }, 0x77, 3, payload(56, 9)),
      expect: "same",
    },
    {
      name: "echo, code 5, traffic class 0xb8, flow label 0x12345",
      frame: echo6Frame({ ...uni, tclass: 0xb8, flowLabel: 0x12345 }, 9, 9, payload(20, 1), 5),
      expect: "same",
    },
    { name: "echo, padded", frame: echo6Frame({ ...uni, pad: 6 }, 2, 2, []), expect: "same" },
  ];
  for (const [i, size] of [0, 1, 56, 333, 1000, 1452].entries()) {
    c.push({
      name: `echo, ${size} data bytes`,
      frame: echo6Frame(uni, 0x1000 + i * 77, i, payload(size, i)),
      expect: "same",
    });
  }
  return c;
}

/** The answers among what came back: ICMPv6 echo replies and NAs (not the kernel's MLD/RS). */
function answers(frames: Uint8Array[]): Uint8Array[] {
  return frames.filter((f) =>
    f.length >= 55 && f[12] === 0x86 && f[13] === 0xdd && f[20] === 58 &&
    (f[54] === 129 || f[54] === 136)
  );
}

/** Flow label masked: the kernel's is its auto flow label (a hash), respond keeps the request's. */
function masked6(f: Uint8Array): string {
  const m = f.slice();
  m[15] &= 0xf0;
  m[16] = m[17] = 0;
  return hex(m);
}

Deno.test(
  "differential: respond --ip6 answers NS and echo requests as the kernel does, byte for byte",
  T,
  () =>
    withTopology(async (t) => {
      const cases = cases6(t.dutMac, t.peerMac);
      await addAddrs(t, true);
      // A permanent entry for the peer: the kernel never resolves it before answering.
      await run(
        ...["ip", "-n", t.dut, "-6", "neigh", "replace", PEER6_TEXT, "lladdr", t.peerMac],
        ...["dev", t.dutIf, "nud", "permanent"],
      );
      const kernel: Uint8Array[][] = [];
      for (const c of cases) kernel.push(answers(await exchange(t, [c.frame], 0.15)));
      await run("ip", "-n", t.dut, "-6", "addr", "del", `${DUT6_TEXT}/64`, "dev", t.dutIf);
      const ours: Uint8Array[][] = [];
      const b = await serve(t, `--mode respond --ip6 ${DUT6_TEXT} --poll-ms 1`, async () => {
        for (const c of cases) ours.push(answers(await exchange(t, [c.frame], 0.15)));
      });
      const failures: string[] = [];
      cases.forEach((c, i) => {
        const k = kernel[i], o = ours[i];
        const fail = (why: string) =>
          failures.push(
            `${c.name}: ${why}\n  kernel: ${k.map(hex).join(" ")}\n  respond: ${
              o.map(hex).join(" ")
            }`,
          );
        if (c.expect === "silent") {
          if (k.length + o.length !== 0) fail("expected both silent");
        } else if (c.expect === "kernel only") {
          if (k.length !== 1 || o.length !== 0) fail("expected the kernel only to answer");
        } else if (k.length !== 1 || o.length !== 1) fail("expected one answer from each");
        else if (masked6(k[0]) !== masked6(o[0])) fail("answers differ");
        else if (!icmp6ChecksumOk(o[0])) fail("respond's checksum is wrong");
      });
      strictEqual(failures.length, 0, failures.join("\n"));
      const f = b.final();
      const drops: Record<string, number> = {};
      for (const c of cases) {
        for (const [r, n] of Object.entries(c.drops ?? {})) drops[r] = (drops[r] ?? 0) + n;
      }
      deepStrictEqual(nonZero(f.handler_counters), drops);
      const answered = ours.reduce((n, r) => n + r.length, 0);
      strictEqual(f.total.tx_packets, answered);
      strictEqual(f.balanced, true);
    }, { ipv6: true }),
);

/** Internet checksum of `b[start, end)` written at `at`. */
function putSum(b: number[], start: number, end: number, at: number): void {
  let s = 0;
  for (let i = start; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  b[at] = (~s >> 8) & 0xff;
  b[at + 1] = ~s & 0xff;
}

/** ARP request who-has `tpa` tell `spa`, broadcast, behind the 802.1Q tag `tci`. */
function arpTagged(src: number[], tci: number, spa: number[], tpa: number[]): Uint8Array {
  return Uint8Array.from([
    ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...src, 0x81, 0x00, tci >> 8, tci & 0xff, 0x08, 0x06],
    ...[0, 1, 8, 0, 6, 4, 0, 1, ...src, ...spa, 0, 0, 0, 0, 0, 0, ...tpa],
  ]);
}

/** ICMPv4 echo request `spa` -> `dpa` behind the 802.1Q tag `tci`. */
function echo4Tagged(
  dst: number[],
  src: number[],
  tci: number,
  spa: number[],
  dpa: number[],
  data: number[],
): Uint8Array {
  const tot = 28 + data.length;
  const ip = [0x45, 0, tot >> 8, tot & 0xff, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, ...spa, ...dpa];
  putSum(ip, 0, 20, 10);
  const icmp = [8, 0, 0, 0, 0x0b, 0xad, 0, 1, ...data];
  putSum(icmp, 0, icmp.length, 2);
  return Uint8Array.from([...dst, ...src, 0x81, 0x00, tci >> 8, tci & 0xff, 8, 0, ...ip, ...icmp]);
}

/** `f` with a tag (TPID 0x8100, `tci`) after the MAC addresses. */
function withTag(f: Uint8Array, tci: number): Uint8Array {
  return Uint8Array.from([
    ...f.subarray(0, 12),
    0x81,
    0x00,
    tci >> 8,
    tci & 0xff,
    ...f.subarray(12),
  ]);
}

Deno.test(
  "respond --vlan answers ARP, ping, NS and ping6 in VLAN 100 with the tag, priority 0, and " +
    "otherwise the bytes of its (kernel-checked) untagged answers",
  T,
  () =>
    withTopology(async (t) => {
      // This kernel has no CONFIG_VLAN_8021Q, so there is no VLAN device to compare with: the
      // tagged answers are compared with respond's untagged ones, which the differential tests
      // above and in respond_kernel_test.ts compare with the kernel's.
      const dm = macBytes(t.dutMac), pm = macBytes(t.peerMac);
      const peer4 = [10, 0, 1, 2], dut4 = [10, 0, 1, 1];
      const uni = { dst: dm, src: pm, srcIp: PEER6, dstIp: DUT6 };
      const grp = { ...uni, dst: multicastMac(solicitedNode(DUT6)), dstIp: solicitedNode(DUT6) };
      const untagged = [
        arpTagged(pm, 0, peer4, dut4),
        echo4Tagged(dm, pm, 0, peer4, dut4, payload(56, 1)),
        nsFrame(grp, DUT6, pm),
        nsFrame({ ...grp, srcIp: ip6Bytes("::") }, DUT6),
        echo6Frame(uni, 0x55, 1, payload(56, 2)),
      ].map((f) => f[12] === 0x81 ? Uint8Array.from([...f.subarray(0, 12), ...f.subarray(16)]) : f);
      const tci = 0x6000 | 100; // priority 3, VLAN 100
      const tagged = untagged.map((f) => withTag(f, tci));
      const qinq = withTag(untagged[1], 0x0064);
      qinq[12] = 0x88;
      qinq[13] = 0xa8;
      let plain: Uint8Array[] = [], inVlan: Uint8Array[] = [], inQinq: Uint8Array[] = [];
      const b = await serve(
        t,
        `--mode respond --vlan --ip 10.0.1.1 --ip6 ${DUT6_TEXT} --poll-ms 1`,
        async () => {
          plain = await exchange(t, untagged);
          inVlan = await exchange(t, tagged);
          inQinq = await exchange(t, [qinq]);
        },
      );
      strictEqual(plain.length, untagged.length);
      deepStrictEqual(inVlan.map(hex), plain.map((f) => hex(withTag(f, 100))));
      const q = withTag(plain[1], 100);
      q[12] = 0x88;
      q[13] = 0xa8;
      deepStrictEqual(inQinq.map(hex), [hex(q)]);
      const f = b.final();
      deepStrictEqual(nonZero(f.handler_counters), {});
      strictEqual(f.total.tx_packets, 2 * untagged.length + 1);
      strictEqual(f.balanced, true);
    }),
);
