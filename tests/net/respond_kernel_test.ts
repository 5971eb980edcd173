/**
 * `respond` next to the Linux kernel: on one interface byPassRT answers for its address while the
 * kernel keeps its own, and, frame for frame, respond answers what the kernel answers.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { inNs, nonZero, ping, run, serve, type Topology, withTopology } from "./_netns.ts";
import { parseMac } from "../../packet/mod.ts";
import { exchange, hex } from "./_exchange.ts";

const T = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "respond next to the kernel: both answer on one interface, also after an ARP flush",
  T,
  () =>
    withTopology(async (t) => {
      // The dut kernel owns 10.0.0.3; byPassRT serves 10.0.0.1, which the kernel does not own.
      const addrs = await run("ip", "-n", t.dut, "-4", "-br", "addr", "show", "dev", t.dutIf);
      ok(addrs.includes("10.0.0.3/24") && !addrs.includes("10.0.0.1"), addrs);
      const b = await serve(t, "--mode respond --ip 10.0.0.1", async () => {
        for (const round of ["first", "after flush"]) {
          if (round === "after flush") {
            await run("ip", "-n", t.peer, "neigh", "flush", "dev", t.peerIf);
            // The dut kernel has to resolve the peer again too: its request and the peer's
            // reply (target 10.0.0.3) must reach the kernel, not user space.
            await run("ip", "-n", t.dut, "neigh", "flush", "dev", t.dutIf);
          }
          for (const ip of ["10.0.0.1", "10.0.0.3"]) {
            const [all, , out] = await ping(t.peer, ip, 5);
            ok(all, `${round}: ping ${ip}\n${out}`);
          }
        }
        // The peer learnt both addresses at the dut's MAC: one from byPassRT, one from the kernel.
        const neigh = await inNs(t.peer, "ip", "-4", "neigh", "show", "dev", t.peerIf);
        for (const ip of ["10.0.0.1", "10.0.0.3"]) {
          ok(
            new RegExp(`^${ip.replaceAll(".", "\\.")} lladdr ${t.dutMac}\\b`, "m").test(neigh),
            neigh,
          );
        }
      });
      const f = b.final();
      // No ARP meant for the kernel reached user space; nothing else was dropped either.
      const dropped = nonZero(f.handler_counters);
      strictEqual(dropped.arp_not_for_us, undefined, JSON.stringify(dropped));
      deepStrictEqual(dropped, {});
      // 10 echo requests and at least one ARP request per round for 10.0.0.1, all answered.
      ok(f.total.rx_packets >= 12, JSON.stringify(f.total));
      strictEqual(f.total.tx_packets, f.total.rx_packets);
      // The kernel's traffic (10 pings, its ARP) went past user space.
      ok(f.program.passed >= 12, JSON.stringify(f.program));
      strictEqual(f.balanced, true);
    }, { dutIp: "10.0.0.3/24" }),
);

// ---- differential: the kernel's replies and respond's, frame by frame ----------------------

/** What the two phases must show for one case. */
type Expect =
  /** The kernel answers; respond's replies are the same bytes (IP id, TTL, checksum masked). */
  | "same"
  /** Neither answers. */
  | "silent"
  /** A documented difference: the kernel answers, respond does not. */
  | "kernel only"
  /** A documented difference: respond answers, the kernel does not. */
  | "respond only"
  /** A documented difference: both answer the same bytes, to different destination MACs. */
  | "other dst mac";

interface DiffCase {
  name: string;
  /** Sent back to back in one exchange (a fragmented datagram is two frames). */
  frames: Uint8Array[];
  expect: Expect;
  /** What respond's final report must count for these frames (none: passed to the kernel). */
  drops?: Record<string, number>;
}

const PEER_IP = [10, 0, 0, 2], DUT_IP = [10, 0, 0, 1];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const OTHER_MAC = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const MCAST_MAC = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];

function sum16(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function setSum(b: Uint8Array, start: number, end: number, at: number): void {
  b[at] = b[at + 1] = 0;
  const c = sum16(b, start, end);
  b[at] = c >> 8;
  b[at + 1] = c & 0xff;
}

interface ArpOpts {
  dst?: number[];
  src?: number[];
  sha?: number[];
  spa?: number[];
  tpa?: number[];
  oper?: number;
  htype?: number;
  pad?: number;
}

/** An ARP frame from the peer (who-has 10.0.0.1 tell 10.0.0.2, broadcast, unless told). */
function arpFrame(peer: number[], o: ArpOpts = {}): Uint8Array {
  const src = o.src ?? peer;
  return Uint8Array.from([
    ...(o.dst ?? BCAST),
    ...src,
    0x08,
    0x06,
    0,
    o.htype ?? 1,
    0x08,
    0,
    6,
    4,
    0,
    o.oper ?? 1,
    ...(o.sha ?? src),
    ...(o.spa ?? PEER_IP),
    0,
    0,
    0,
    0,
    0,
    0,
    ...(o.tpa ?? DUT_IP),
    ...new Array(o.pad ?? 0).fill(0xa5),
  ]);
}

interface EchoOpts {
  dst?: number[];
  src?: number[];
  payload?: number;
  options?: number[];
  type?: number;
  code?: number;
  tos?: number;
  df?: boolean;
  srcIp?: number[];
  dstIp?: number[];
  pad?: number;
  badIp?: boolean;
  badIcmp?: boolean;
}

/** An ICMP echo request from the peer to 10.0.0.1 (DF, TTL 63, 56 bytes, unless told). */
function echoFrame(dut: number[], peer: number[], o: EchoOpts = {}): Uint8Array {
  const opts = o.options ?? [];
  const payload = o.payload ?? 56;
  const hl = 20 + opts.length, tot = hl + 8 + payload;
  const f = new Uint8Array(14 + tot + (o.pad ?? 0));
  f.set([...(o.dst ?? dut), ...(o.src ?? peer), 0x08, 0x00], 0);
  f.set([
    0x40 | (hl / 4),
    o.tos ?? 0,
    tot >> 8,
    tot & 0xff,
    0x4b,
    0x1d,
    o.df === false ? 0 : 0x40,
    0,
  ], 14);
  f.set([63, 1, 0, 0, ...(o.srcIp ?? PEER_IP), ...(o.dstIp ?? DUT_IP), ...opts], 22);
  const c = 14 + hl;
  f.set([o.type ?? 8, o.code ?? 0, 0, 0, 0x0b, 0xad, 0x00, 0x07], c);
  for (let i = 0; i < payload; i++) f[c + 8 + i] = i & 0xff;
  setSum(f, 14, 14 + hl, 24);
  setSum(f, c, 14 + tot, c + 2);
  if (o.badIp) f[25] ^= 0x5a;
  if (o.badIcmp) f[c + 3] ^= 0x5a;
  return f;
}

/** `f` with a tag (TPID, TCI) inserted after the MAC addresses. */
function tag(f: Uint8Array, tci: number, tpid = 0x8100): Uint8Array {
  return Uint8Array.from([
    ...f.subarray(0, 12),
    tpid >> 8,
    tpid & 0xff,
    tci >> 8,
    tci & 0xff,
    ...f.subarray(12),
  ]);
}

/** The echo request of `echoFrame` cut into two IP fragments (first 32 bytes of ICMP, the rest). */
function fragments(dut: number[], peer: number[]): Uint8Array[] {
  const whole = echoFrame(dut, peer);
  const icmp = whole.subarray(34);
  return [[icmp.subarray(0, 32), 0x2000], [icmp.subarray(32), 32 / 8]].map(([data, flags]) => {
    const d = data as Uint8Array, fl = flags as number;
    const f = new Uint8Array(34 + d.length);
    f.set(whole.subarray(0, 34));
    f.set([(20 + d.length) >> 8, (20 + d.length) & 0xff], 16);
    f.set([fl >> 8, fl & 0xff], 20);
    f.set(d, 34);
    setSum(f, 14, 34, 24);
    return f;
  });
}

const z = (n: number) => new Array(n).fill(0);
const rr = (len: number, ptr: number, filled: number[] = []) => [
  7,
  len,
  ptr,
  ...filled,
  ...z(len - 3 - filled.length),
];
const SLOT = [10, 0, 0, 9];

function diffCases(dutMac: string, peerMac: string): DiffCase[] {
  const dut = [...parseMac(dutMac)], peer = [...parseMac(peerMac)];
  const arp = (o?: ArpOpts) => arpFrame(peer, o);
  const echo = (o?: EchoOpts) => echoFrame(dut, peer, o);
  return [
    // ARP
    { name: "ARP request, broadcast", frames: [arp()], expect: "same" },
    { name: "ARP request unicast to the dut MAC", frames: [arp({ dst: dut })], expect: "same" },
    { name: "ARP probe (sender 0.0.0.0)", frames: [arp({ spa: [0, 0, 0, 0] })], expect: "same" },
    { name: "ARP request padded to 60 bytes", frames: [arp({ pad: 18 })], expect: "same" },
    {
      name: "ARP sender MAC not the frame's source",
      frames: [arp({ sha: OTHER_MAC })],
      expect: "same",
    },
    { name: "ARP hardware type 6 (IEEE 802)", frames: [arp({ htype: 6 })], expect: "same" },
    { name: "ARP, priority tag", frames: [tag(arp(), 0)], expect: "same" },
    { name: "ARP, priority tag PCP 5", frames: [tag(arp({ pad: 18 }), 0xa000)], expect: "same" },
    { name: "ARP, 802.1ad priority tag", frames: [tag(arp(), 0, 0x88a8)], expect: "same" },
    // ICMP echo
    { name: "echo, no payload", frames: [echo({ payload: 0 })], expect: "same" },
    {
      name: "echo, no payload, padded to 60",
      frames: [echo({ payload: 0, pad: 18 })],
      expect: "same",
    },
    { name: "echo, 56 bytes", frames: [echo()], expect: "same" },
    {
      name: "echo, 57 bytes, DF clear",
      frames: [echo({ payload: 57, df: false })],
      expect: "same",
    },
    { name: "echo, 1000 bytes", frames: [echo({ payload: 1000 })], expect: "same" },
    {
      name: "echo, 1472 bytes (1514-byte frame)",
      frames: [echo({ payload: 1472 })],
      expect: "same",
    },
    { name: "echo, TOS 0xb9 (DSCP and ECN)", frames: [echo({ tos: 0xb9 })], expect: "same" },
    { name: "echo, code 5", frames: [echo({ code: 5 })], expect: "same" },
    { name: "echo, code 255", frames: [echo({ code: 255 })], expect: "same" },
    { name: "echo, priority tag", frames: [tag(echo(), 0)], expect: "same" },
    { name: "echo, priority tag PCP 6 DEI", frames: [tag(echo(), 0xd000)], expect: "same" },
    { name: "echo, 802.1ad priority tag", frames: [tag(echo(), 0x2000, 0x88a8)], expect: "same" },
    // IP options
    {
      name: "echo, ping -R (NOP, RR 39 ptr 4)",
      frames: [echo({ options: [1, ...rr(39, 4)] })],
      expect: "same",
    },
    {
      name: "echo, RR partly filled (ptr 12)",
      frames: [echo({ options: [1, ...rr(39, 12, [...SLOT, 10, 0, 0, 8])] })],
      expect: "same",
    },
    {
      name: "echo, RR one slot left (ptr 36)",
      frames: [echo({ options: [1, ...rr(39, 36, new Array(8).fill(SLOT).flat())] })],
      expect: "same",
    },
    {
      name: "echo, RR full (ptr 40)",
      frames: [echo({ options: [1, ...rr(39, 40, new Array(9).fill(SLOT).flat())] })],
      expect: "same",
    },
    {
      name: "echo, RR length 7 (one slot)",
      frames: [echo({ options: [...rr(7, 4), 0] })],
      expect: "same",
    },
    {
      name: "echo, Router Alert then RR length 11",
      frames: [echo({ options: [0x94, 4, 0, 0, ...rr(11, 4), 0] })],
      expect: "same",
    },
    { name: "echo, Router Alert", frames: [echo({ options: [0x94, 4, 0, 0] })], expect: "same" },
    {
      name: "echo, unknown option 0x9e",
      frames: [echo({ options: [0x9e, 4, 1, 2] })],
      expect: "same",
    },
    {
      name: "echo, End of List then garbage",
      frames: [echo({ options: [0, 7, 3, 4] })],
      expect: "same",
    },
    {
      name: "echo, priority tag and ping -R",
      frames: [tag(echo({ options: [1, ...rr(39, 4)] }), 0)],
      expect: "same",
    },
    // Both silent
    {
      name: "echo, bad IP checksum",
      frames: [echo({ badIp: true })],
      expect: "silent",
      drops: { ip_bad_checksum: 1 },
    },
    {
      name: "echo, bad ICMP checksum",
      frames: [echo({ badIcmp: true })],
      expect: "silent",
      drops: { icmp_bad_checksum: 1 },
    },
    { name: "echo reply to 10.0.0.1", frames: [echo({ type: 0 })], expect: "silent" },
    {
      name: "echo to the subnet broadcast",
      frames: [echo({ dstIp: [10, 0, 0, 255] })],
      expect: "silent",
    },
    {
      name: "echo from 0.1.2.3",
      frames: [echo({ srcIp: [0, 1, 2, 3] })],
      expect: "silent",
      drops: { ip_bad_source: 1 },
    },
    { name: "echo, VLAN 5", frames: [tag(echo(), 5)], expect: "silent" },
    { name: "ARP, VLAN 5", frames: [tag(arp(), 0xa005)], expect: "silent" },
    { name: "ARP for another address", frames: [arp({ tpa: [10, 0, 0, 9] })], expect: "silent" },
    {
      name: "ARP reply to the dut",
      frames: [arp({ dst: dut, oper: 2 })],
      expect: "silent",
      drops: { arp_not_request: 1 },
    },
    {
      name: "ARP from our own address",
      frames: [arp({ spa: DUT_IP })],
      expect: "silent",
      drops: { arp_bad_sender: 1 },
    },
    {
      name: "ARP from 127.0.0.1",
      frames: [arp({ spa: [127, 0, 0, 1] })],
      expect: "silent",
      drops: { arp_bad_sender: 1 },
    },
    // Its first data byte is 24, not an echo request's type, so the XDP program passes it on.
    { name: "a last fragment alone", frames: [fragments(dut, peer)[1]], expect: "silent" },
    {
      name: "echo, loose source route, exhausted",
      frames: [echo({ options: [0x83, 7, 8, 10, 0, 0, 9, 0] })],
      expect: "silent",
      drops: { ip_options: 1 },
    },
    {
      name: "echo, RR length 10: no whole slot for the reply",
      frames: [echo({ options: [...rr(10, 4), 0, 0] })],
      expect: "silent",
      drops: { ip_bad_options: 1 },
    },
    // Documented differences (README: "How respond differs from the kernel")
    {
      name: "echo, Timestamp option",
      frames: [echo({ options: [0x44, 12, 5, 0, ...z(8)] })],
      expect: "kernel only",
      drops: { ip_options: 1 },
    },
    {
      name: "echo, malformed option (length 1): kernel sends Parameter Problem",
      frames: [echo({ options: [7, 1, 0, 0] })],
      expect: "kernel only",
      drops: { ip_bad_options: 1 },
    },
    {
      name: "echo in two fragments: the kernel reassembles",
      frames: fragments(dut, peer),
      expect: "kernel only",
      drops: { ip_fragment: 1 },
    },
    {
      name: "echo to the broadcast MAC (RFC 1122 3.3.6)",
      frames: [echo({ dst: BCAST })],
      expect: "kernel only",
      drops: { not_for_our_mac: 1 },
    },
    {
      name: "echo from a multicast source MAC",
      frames: [echo({ src: MCAST_MAC })],
      expect: "kernel only",
      drops: { bad_source_mac: 1 },
    },
    {
      name: "ARP to a multicast MAC",
      frames: [arp({ dst: MCAST_MAC })],
      expect: "kernel only",
      drops: { not_for_our_mac: 1 },
    },
    {
      name: "ARP, multicast sender MAC",
      frames: [arp({ sha: MCAST_MAC })],
      expect: "kernel only",
      drops: { arp_bad_sender: 1 },
    },
    {
      name: "ARP, zero sender MAC",
      frames: [arp({ sha: z(6) })],
      expect: "kernel only",
      drops: { arp_bad_sender: 1 },
    },
    {
      name: "ARP from 0.1.2.3",
      frames: [arp({ spa: [0, 1, 2, 3] })],
      expect: "kernel only",
      drops: { arp_bad_sender: 1 },
    },
    {
      name: "ARP from 240.0.0.1",
      frames: [arp({ spa: [240, 0, 0, 1] })],
      expect: "kernel only",
      drops: { arp_bad_sender: 1 },
    },
    {
      // The XDP program looks behind one tag only: this one goes to the kernel.
      name: "echo, two priority tags",
      frames: [tag(tag(echo(), 0), 0)],
      expect: "kernel only",
    },
    {
      name: "echo from off-link 192.168.7.7: no route",
      frames: [echo({ srcIp: [192, 168, 7, 7] })],
      expect: "respond only",
    },
    {
      name: "echo from another MAC: no neighbour table",
      frames: [echo({ src: OTHER_MAC })],
      expect: "other dst mac",
    },
    {
      name: "echo from the subnet broadcast 10.0.0.255",
      frames: [echo({ srcIp: [10, 0, 0, 255] })],
      expect: "other dst mac",
    },
  ];
}

/** Send each case's frames from the peer, one exchange per case; the frames that came back. */
async function exchangeAll(t: Topology, cases: DiffCase[]): Promise<Uint8Array[][]> {
  const out: Uint8Array[][] = [];
  for (const c of cases) out.push(await exchange(t, c.frames, 0.15, c.name));
  return out;
}

/** The request's IP header (behind its tags): its id (hex) and DF bit. */
function requestIdDf(f: Uint8Array): [string, number] {
  let l2 = 14;
  for (let et = (f[12] << 8) | f[13]; et === 0x8100 || et === 0x88a8; l2 += 4) {
    et = (f[l2 + 2] << 8) | f[l2 + 3];
  }
  return [hex(f.subarray(l2 + 4, l2 + 6)), f[l2 + 6] & 0x40];
}

/**
 * A reply with the fields that legitimately differ blanked: IP id, TTL and header checksum, and
 * DF (checked on its own before). ARP replies are compared whole.
 */
function masked(f: Uint8Array): string {
  const m = f.slice();
  if (m[12] === 0x08 && m[13] === 0x00 && m.length >= 34) {
    for (const i of [18, 19, 22, 24, 25]) m[i] = 0;
    m[20] &= ~0x40;
  }
  return hex(m);
}

Deno.test(
  "differential: respond answers what the kernel answers, byte for byte",
  T,
  () =>
    withTopology(async (t) => {
      const cases = diffCases(t.dutMac, t.peerMac);
      // Phase 1: the kernel owns 10.0.0.1. A permanent neighbour entry for the peer means it
      // never sends an ARP request of its own before a reply.
      await run(
        ...["ip", "-n", t.dut, "neigh", "replace", "10.0.0.2", "lladdr", t.peerMac],
        ...["dev", t.dutIf, "nud", "permanent"],
      );
      const kernel = await exchangeAll(t, cases);
      // Phase 2: the kernel gives the address up; byPassRT answers for it (sleeping in poll()
      // when idle, to leave the CPU to the exchanges: the replies are the same either way).
      await run("ip", "-n", t.dut, "addr", "del", "10.0.0.1/24", "dev", t.dutIf);
      let ours: Uint8Array[][] = [];
      const b = await serve(t, "--mode respond --ip 10.0.0.1 --poll-ms 1", async () => {
        ours = await exchangeAll(t, cases);
      });

      const failures: string[] = [];
      const seen = new Set<Expect>();
      cases.forEach((c, i) => {
        const k = kernel[i], o = ours[i];
        const show = () =>
          `\n  kernel: ${k.map(hex).join(" ")}\n  respond: ${o.map(hex).join(" ")}`;
        const fail = (why: string) => failures.push(`${c.name}: ${why}${show()}`);
        seen.add(c.expect);
        if (c.expect === "silent") {
          if (k.length + o.length !== 0) fail("expected both silent");
          return;
        }
        if (c.expect === "kernel only") {
          if (k.length === 0 || o.length !== 0) fail("expected the kernel only to answer");
          return;
        }
        if (c.expect === "respond only") {
          if (k.length !== 0 || o.length !== 1) fail("expected respond only to answer");
          return;
        }
        // "same" and "other dst mac": the kernel did answer, once, and so did respond.
        if (k.length !== 1 || o.length !== 1) return fail("expected one reply from each");
        if (k[0][12] === 0x08 && k[0][13] === 0x00) {
          // Known difference: respond keeps the request's DF and IP id (both masked below).
          const [id, df] = requestIdDf(c.frames[0]);
          if ((k[0][20] & 0x40) !== 0) fail("the kernel's echo reply has DF set");
          if ((o[0][20] & 0x40) !== df) fail("respond's DF is not the request's");
          if (hex(o[0].subarray(18, 20)) !== id) fail("respond's IP id is not the request's");
        }
        if (c.expect === "other dst mac") {
          if (hex(o[0].subarray(0, 6)) !== hex(c.frames[0].subarray(6, 12))) {
            fail("respond did not answer the frame's source MAC");
          }
          if (hex(k[0].subarray(0, 6)) === hex(o[0].subarray(0, 6))) fail("same destination MAC");
          if (masked(k[0]).slice(12) !== masked(o[0]).slice(12)) {
            fail("replies differ past the dst MAC");
          }
        } else if (masked(k[0]) !== masked(o[0])) fail("replies differ");
      });
      strictEqual(failures.length, 0, failures.join("\n"));
      strictEqual(seen.size, 5, "every kind of expectation is exercised");

      // Respond's own account: exactly the drops listed, every answer sent, nothing lost.
      const f = b.final();
      const drops: Record<string, number> = {};
      for (const c of cases) {
        for (const [r, n] of Object.entries(c.drops ?? {})) drops[r] = (drops[r] ?? 0) + n;
      }
      deepStrictEqual(nonZero(f.handler_counters), drops);
      const answered = ours.reduce((n, r) => n + r.length, 0);
      strictEqual(f.total.tx_packets, answered);
      strictEqual(f.total.rx_packets, answered + Object.values(drops).reduce((a, n) => a + n, 0));
      strictEqual(f.balanced, true);
    }, { dutIp: "10.0.0.1/24" }),
);
