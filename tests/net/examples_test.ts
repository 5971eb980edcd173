/**
 * The examples users copy from, run as a user would, with real frames across a real veth.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  argv,
  type Bypassrt,
  cli,
  inNs,
  ourStderr,
  pktio,
  serve,
  type Topology,
  withTopology,
  xdpAttached,
} from "./_netns.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test(
  "examples/burst_api.ts (the README's burst-API example): 500 frames back byte-exact, audit balanced",
  T,
  () =>
    withTopology(async (t) => {
      const file = `${ROOT}examples/burst_api.ts`;
      // The README shows this file's code as it is (everything after the module comment).
      const body = (await Deno.readTextFile(file)).split(" */\n").slice(1).join(" */\n").trim();
      ok((await Deno.readTextFile(`${ROOT}README.md`)).includes(body), "README shows the example");
      const child = new Deno.Command("ip", {
        args: ["netns", "exec", t.dut, Deno.execPath(), "run", "-A", file, t.dutIf, "500"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stdout = new Response(child.stdout).text();
      const err = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let stderr = "";
      while (!stderr.includes("serving UDP/9000")) {
        const { value, done } = await err.read();
        if (done) break;
        stderr += value;
      }
      ok(stderr.includes("serving UDP/9000"), ourStderr(stderr));
      const r = await pktio(
        t.peer,
        "echo",
        ...argv(`--iface ${t.peerIf} --dst-mac ${t.dutMac} --count 500 --port 9000 --seed 3`),
      );
      const rest = (async () => {
        for (let c = await err.read(); !c.done; c = await err.read()) stderr += c.value;
      })();
      const st = await child.status;
      await rest;
      strictEqual(st.code, 0, ourStderr(stderr));
      deepStrictEqual(r, {
        sent: 500,
        received: 500,
        matched: 500,
        mismatched: 0,
        duplicates: 0,
        unexpected: 0,
      });
      const res = JSON.parse(await stdout);
      strictEqual(res.counters.rxPackets, 500);
      strictEqual(res.counters.txPackets, 500);
      strictEqual(res.audit.balanced, true, JSON.stringify(res.audit));
      strictEqual(res.audit.inFlight, 0);
      strictEqual(await xdpAttached(t.dut, t.dutIf), false, "prog.close() detached");
    }),
);

// ---- Frames built by the test itself (its own checksum, its own layouts) ----------------------

/** RFC 1071 Internet checksum of `b` (the complemented one's-complement sum of 16-bit words). */
function inetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) + (i + 1 < b.length ? b[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

const concat = (...parts: Iterable<number>[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const be16 = (x: number) => [x >> 8 & 255, x & 255];
const ipBytes = (s: string) => s.split(".").map(Number);
const macBytes = (s: string) => s.split(":").map((x) => parseInt(x, 16));
const be32 = (x: number) => [x >>> 24, x >> 16 & 255, x >> 8 & 255, x & 255];
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const u16at = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];

/** The fields of {@link ipv4}'s packet (TTL 64, TOS 0, id 0, DF, no options by default). */
interface IpFields {
  src: string;
  dst: string;
  proto: number;
  body: Uint8Array;
  ttl?: number;
  tos?: number;
  id?: number;
  /** Flags and fragment offset (0x4000: DF). */
  frag?: number;
  /** IP option bytes (a multiple of 4). */
  options?: number[];
  /** Write a wrong header checksum. */
  badSum?: boolean;
}

/** An IPv4 packet: header (checksum computed unless `badSum`) and `body`. */
function ipv4(o: IpFields): Uint8Array {
  const opts = o.options ?? [];
  const h = concat(
    [0x40 | (5 + opts.length / 4), o.tos ?? 0],
    be16(20 + opts.length + o.body.length),
    be16(o.id ?? 0),
    be16(o.frag ?? 0x4000),
    [o.ttl ?? 64, o.proto, 0, 0],
    ipBytes(o.src),
    ipBytes(o.dst),
    opts,
  );
  const sum = inetChecksum(h) ^ (o.badSum ? 0x5a5a : 0);
  h.set(be16(sum), 10);
  return concat(h, o.body);
}

/** A UDP datagram from `src`:`sport` to `dst`:`dport`; checksum computed, 0, or wrong. */
function udp(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload: Uint8Array,
  sum: "ok" | "zero" | "bad" = "ok",
  lenField?: number,
): Uint8Array {
  const len = 8 + payload.length;
  const d = concat(be16(sport), be16(dport), be16(lenField ?? len), [0, 0], payload);
  if (sum !== "zero") {
    const pseudo = concat(ipBytes(src), ipBytes(dst), [0, 17], be16(len));
    const c = inetChecksum(concat(pseudo, d)) || 0xffff;
    d.set(be16(sum === "bad" ? c ^ 0x0101 : c), 6);
  }
  return d;
}

/** An Ethernet frame, zero-padded to `minLen` bytes. */
function eth(dst: string, src: string, type: number, body: Uint8Array, minLen = 0): Uint8Array {
  const f = concat(macBytes(dst), macBytes(src), be16(type), body);
  return f.length >= minLen ? f : concat(f, new Uint8Array(minLen - f.length));
}

/** `n` bytes of a fixed pattern. */
const payload = (n: number, k = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 255);

/** An ARP request (who has `target`, tell `sender`) from `mac`, broadcast. */
const arpRequest = (mac: string, sender: string, target: string) =>
  eth(
    "ff:ff:ff:ff:ff:ff",
    mac,
    0x0806,
    concat(
      [0, 1, 8, 0, 6, 4, 0, 1],
      macBytes(mac),
      ipBytes(sender),
      [0, 0, 0, 0, 0, 0],
      ipBytes(target),
    ),
  );

/** Send `frames` from the peer (pktio exchange) and return every frame it received, as hex. */
async function exchange(t: Topology, frames: Uint8Array[], timeout = 1): Promise<string[]> {
  const file = await Deno.makeTempFile({ prefix: "bypassrt-frames-", suffix: ".hex" });
  try {
    await Deno.writeTextFile(file, frames.map(hex).join("\n") + "\n");
    const r = await pktio(
      t.peer,
      "exchange",
      ...argv(`--iface ${t.peerIf} --hexfile ${file} --timeout ${timeout}`),
    ) as unknown as { sent: number; received: string[] };
    strictEqual(r.sent, frames.length);
    return r.received;
  } finally {
    await Deno.remove(file);
  }
}

/** The handler counters of a finished run, total and queue 0 (one queue: the same). */
function handlerCounters(b: Bypassrt): Record<string, number> {
  const f = b.final();
  strictEqual(f.balanced, true, JSON.stringify(f.audits));
  const q = (f as unknown as { queues: { handler_counters: Record<string, number> }[] }).queues;
  deepStrictEqual(q[0].handler_counters, f.handler_counters);
  return f.handler_counters;
}

/** How many of `list` have each `kind`, for every name in `names` (0 when none). */
function tally(names: string[], list: { kind: string }[]): Record<string, number> {
  const out = Object.fromEntries(names.map((n) => [n, 0]));
  for (const x of list) {
    ok(x.kind in out, x.kind);
    out[x.kind]++;
  }
  return out;
}

// ---- examples/udp_echo.ts ---------------------------------------------------------------------

Deno.test(
  "examples/udp_echo.ts: UDP/7 datagrams come back byte-exact with addresses and ports swapped " +
    "and both checksums still valid; everything else dropped and counted",
  T,
  () =>
    withTopology(async (t) => {
      // The sender's address is none of the peer's: the echoes reach the peer's socket, and the
      // peer's kernel drops them silently (no ICMP port unreachable back into the count).
      const me = "10.0.0.99", it = "10.0.0.1";
      /** An IPv4 frame from the peer to the dut (UDP from `me` to `it` unless told otherwise). */
      const v4 = (o: Partial<IpFields> & { body: Uint8Array }, minLen = 0) =>
        eth(t.dutMac, t.peerMac, 0x0800, ipv4({ src: me, dst: it, proto: 17, ...o }), minLen);
      const dgram = (sport: number, dport: number, body: Uint8Array, sum?: "zero" | "bad") =>
        udp(me, it, sport, dport, body, sum);
      // The requests to echo: sizes, TTL, TOS, id and flags vary; one has no UDP checksum.
      const good: { sport: number; body: Uint8Array; sum?: "zero"; ip?: Partial<IpFields> }[] = [
        { sport: 40000, body: payload(18) },
        { sport: 40001, body: payload(101, 3) }, // odd length: the checksum's padding byte
        { sport: 40002, body: payload(1000, 5), sum: "zero" },
        { sport: 40003, body: payload(4, 9), ip: { ttl: 3, tos: 0xb8, id: 0x1234, frag: 0 } },
        { sport: 40004, body: payload(1472, 11), ip: { id: 0xffff } }, // a full 1500-byte MTU
      ];
      // Ethernet padding to 60 bytes, as a NIC adds to short frames (the echo carries none).
      const request = (g: (typeof good)[number]) =>
        v4({ body: dgram(g.sport, 7, g.body, g.sum), ...g.ip }, 60);
      const cases: { frame: Uint8Array; kind: string }[] = [
        ...good.map((g) => ({ frame: request(g), kind: "echoed" })),
        { kind: "other", frame: v4({ body: dgram(40100, 8, payload(20)) }) },
        {
          kind: "other",
          frame: v4({ proto: 1, body: Uint8Array.of(8, 0, 0xf7, 0xff, 0, 0, 0, 0) }),
        },
        { kind: "other", frame: arpRequest(t.peerMac, me, it) },
        {
          kind: "other", // not to our MAC
          frame: eth(
            "ff:ff:ff:ff:ff:ff",
            t.peerMac,
            0x0800,
            ipv4({ src: me, dst: it, proto: 17, body: dgram(40106, 7, payload(20)) }),
          ),
        },
        {
          kind: "not_echoable",
          frame: v4({ body: dgram(40101, 7, payload(20)), options: [1, 1, 1, 1] }),
        },
        { kind: "not_echoable", frame: v4({ body: dgram(40102, 7, payload(24)), frag: 0x2000 }) },
        {
          kind: "not_echoable", // the UDP length says more than the IP packet holds
          frame: v4({ body: udp(me, it, 40103, 7, payload(20), "zero", 60) }),
        },
        { kind: "bad_checksum", frame: v4({ body: dgram(40104, 7, payload(30), "bad") }) },
        { kind: "bad_checksum", frame: v4({ body: dgram(40105, 7, payload(30)), badSum: true }) },
      ];
      // The echo each good request must get, built from scratch: from `it`:7 back to `me`,
      // checksums computed anew by this test. Same TTL, TOS, id, flags, payload; no padding.
      const expected = good.map((g) =>
        eth(
          t.peerMac,
          t.dutMac,
          0x0800,
          ipv4({
            src: it,
            dst: me,
            proto: 17,
            body: udp(it, me, 7, g.sport, g.body, g.sum),
            ...g.ip,
          }),
        )
      );
      // The claim behind the handler: swapping addresses and ports leaves both sums as they were.
      good.forEach((g, k) => {
        const req = request(g), rep = expected[k];
        strictEqual(u16at(rep, 24), u16at(req, 24), `IP checksum of echo ${k}`);
        strictEqual(u16at(rep, 40), u16at(req, 40), `UDP checksum of echo ${k}`);
      });
      ok(request(good[3]).length === 60 && expected[3].length < 60, "a padded request");
      let got: string[] = [];
      const b = await serve(
        t,
        `--handler ${ROOT}examples/udp_echo.ts --handler-options {"port":7}`,
        async () => {
          got = await exchange(t, cases.map((c) => c.frame));
        },
      );
      deepStrictEqual(got, expected.map(hex));
      deepStrictEqual(
        handlerCounters(b),
        tally(["echoed", "other", "not_echoable", "bad_checksum"], cases),
      );
      strictEqual(b.final().total.rx_packets, cases.length);
    }),
);

// ---- examples/feed_handler.ts and examples/feed_gen.py ----------------------------------------

const FEED_GEN = `${ROOT}examples/feed_gen.py`;

/** A feed packet's UDP payload (the format of examples/feed_handler.ts), built by the test. */
function feedPayload(seq: number, count: number, msgs: number[][]): Uint8Array {
  return concat(
    be32(Math.floor(seq / 2 ** 32)),
    be32(seq % 2 ** 32),
    be16(count),
    [0, 0, 0, 0, 0, 0],
    ...msgs.map(([id, side, px, qty]) => concat(be32(id), [side, 0, 0, 0], be32(px), be32(qty))),
  );
}

Deno.test(
  "examples/feed_handler.ts driven by examples/feed_gen.py: exact packet, message, gap and " +
    "duplicate counts; snapshot replies carry the book the generator sent, checksums valid",
  T,
  () =>
    withTopology(async (t) => {
      // The generator draws instruments 0..9, the handler keeps 0..7: messages for 8 and 9 are
      // counted as bad and skipped.
      const N = 300, kept = 8, gaps = [10, 11, 12, 50], dups = [20, 21, 100], late = [150];
      const gen = async (...args: string[]) =>
        JSON.parse(await inNs(t.peer, "python3", FEED_GEN, ...args, "--iface", t.peerIf));
      const snapshot = (id: number) =>
        gen("snapshot", "--dst-mac", t.dutMac, "--instrument", String(id));
      let fed: {
        frames: number;
        expected: Record<string, unknown>;
        sent: [number, number[][]][];
      } = { frames: 0, expected: {}, sent: [] };
      const replies: Record<string, unknown>[] = [];
      let stray: string[] = [];
      const me = t.peerIp, it = "10.0.0.1";
      const toDut = (o: Partial<IpFields> & { body: Uint8Array }) =>
        eth(t.dutMac, t.peerMac, 0x0800, ipv4({ src: me, dst: it, proto: 17, ...o }));
      const b = await serve(
        t,
        `--handler ${ROOT}examples/feed_handler.ts --handler-options {"instruments":${kept}}`,
        async () => {
          fed = await gen(
            ...argv(`feed --seed 11 --packets ${N} --instruments 10 --max-messages 6 --dump`),
            ...argv(`--gap ${gaps} --dup ${dups} --late ${late}`),
          );
          // Frames that must change nothing: a feed packet with a wrong UDP checksum, one whose
          // count promises more messages than it holds, another port, a request with IP options.
          stray = await exchange(t, [
            toDut({ body: udp(me, it, 45001, 9000, feedPayload(1000, 1, [[1, 0, 5, 5]]), "bad") }),
            toDut({ body: udp(me, it, 45001, 9000, feedPayload(1001, 5, [[1, 0, 5, 5]])) }),
            toDut({ body: udp(me, it, 45001, 9002, feedPayload(1002, 1, [[1, 0, 5, 5]])) }),
            toDut({
              body: udp(me, it, 45000, 9001, Uint8Array.of(0, 0, 0, 3)),
              options: [1, 1, 1, 1],
            }),
          ], 0.3);
          for (const id of [3, 5, kept + 1]) replies.push(await snapshot(id));
        },
      );
      strictEqual(stray.length, 0, "nothing answers feed packets or bad requests");

      // What the handler must have made of it, from the injections alone: every sequence number
      // but the gaps is applied once, in order, except the late ones (they arrive after their
      // successor and count as duplicates). Gaps: {10,11,12}, {50} and one per late packet.
      strictEqual(fed.frames, N - gaps.length + dups.length);
      const skipped = new Set([...gaps, ...late]);
      const applied = fed.sent.filter(([seq], k) =>
        !skipped.has(seq) && fed.sent.findIndex(([s]) => s === seq) === k
      ).sort((x, y) => x[0] - y[0]);
      strictEqual(applied.length, N - skipped.size);
      const book = new Map<number, number[]>();
      let good = 0, bad = 0;
      for (const [, msgs] of applied) {
        for (const [id, side, px, qty] of msgs) {
          if (id >= kept) {
            bad++;
            continue;
          }
          good++;
          const e = book.get(id) ?? [0, 0, 0, 0];
          e.splice(side * 2, 2, px, qty);
          book.set(id, e);
        }
      }
      ok(bad > 0 && good > 0);
      deepStrictEqual(handlerCounters(b), {
        packets: fed.frames,
        messages: good,
        gaps: 2 + late.length,
        missing: gaps.length + late.length,
        duplicates: dups.length + late.length,
        bad_messages: bad,
        snapshots: 3,
        malformed: 2,
        bad_checksum: 1,
        other: 1,
      });
      // The generator's own prediction (what a user reads) agrees, for what both can know.
      const e = fed.expected as Record<string, number>;
      deepStrictEqual(
        [e.packets, e.messages, e.gaps, e.missing, e.duplicates, e.last_seq],
        [
          fed.frames,
          good + bad,
          2 + late.length,
          gaps.length + late.length,
          dups.length + late.length,
          N,
        ],
      );

      // Snapshots: the decoded values are the book this test built from what was sent; the
      // frame is checked byte by byte with this test's own checksum.
      for (const r of replies) {
        const id = r.instrument as number, known = id < kept;
        const [bp, bq, ap, aq] = known ? book.get(id)! : [0, 0, 0, 0];
        ok(!known || (bp > 0 && ap > 0), `instrument ${id} has both sides in the feed`);
        deepStrictEqual(
          [r.status, r.bid_price, r.bid_qty, r.ask_price, r.ask_qty, r.last_seq],
          [known ? 0 : 1, bp, bq, ap, aq, N],
          `snapshot of ${id}`,
        );
        const f = unhex(r.frame as string);
        const expected = eth(
          t.peerMac,
          t.dutMac,
          0x0800,
          ipv4({
            src: it,
            dst: me,
            proto: 17,
            body: udp(
              it,
              me,
              9001,
              45000,
              concat(be32(id), [known ? 0 : 1, 0, 0, 0], ...[bp, bq, ap, aq, 0, N].map(be32)),
            ),
          }),
        );
        strictEqual(hex(f), hex(expected), `reply frame for ${id}`);
        strictEqual(inetChecksum(f.subarray(14, 34)), 0, "IP header checksum");
        const pseudo = concat(f.subarray(26, 34), [0, 17], f.subarray(38, 40));
        strictEqual(inetChecksum(concat(pseudo, f.subarray(34))), 0, "UDP checksum");
        strictEqual(r.ip_checksum_ok && r.udp_checksum_ok, true);
      }
      strictEqual(b.final().total.rx_packets, fed.frames + 4 + replies.length);
    }),
);

// ---- examples/firewall.ts ---------------------------------------------------------------------

/** A TCP SYN segment header from `sport` to `dport` (the firewall reads only the ports). */
const tcpSyn = (sport: number, dport: number) =>
  concat(be16(sport), be16(dport), be32(1), be32(0), [0x50, 0x02], be16(65535), [0, 0, 0, 0]);
/** An ICMP echo request with a correct checksum. */
const icmpEcho = (() => {
  const m = Uint8Array.of(8, 0, 0, 0, 0, 1, 0, 1, ...payload(16));
  m.set(be16(inetChecksum(m)), 2);
  return m;
})();

/** Every frame of `cases` whose kind ends in `_allow`, MAC-swapped, as hex (what comes back). */
const allowedBack = (cases: { frame: Uint8Array; kind: string }[]) =>
  cases.filter((c) => c.kind.endsWith("_allow")).map((c) =>
    hex(concat(c.frame.subarray(6, 12), c.frame.subarray(0, 6), c.frame.subarray(12)))
  );

Deno.test(
  "examples/firewall.ts: first matching rule decides, per-rule counters exact, exactly the " +
    "allowed frames come back MAC-swapped, non-IPv4 follows the default (drop, then allow)",
  T,
  () =>
    withTopology(async (t) => {
      const it = "10.0.0.1";
      const v4 = (src: string, proto: number, body: Uint8Array, frag?: number) =>
        eth(t.dutMac, t.peerMac, 0x0800, ipv4({ src, dst: it, proto, body, frag }));
      const u = (src: string, dport: number) => v4(src, 17, udp(src, it, 1000, dport, payload(8)));
      const tcp = (src: string, dport: number) => v4(src, 6, tcpSyn(1000, dport));
      const arp = arpRequest(t.peerMac, "10.0.0.66", "10.0.0.77"); // for nobody on the peer
      const ipv6 = eth(
        t.dutMac,
        t.peerMac,
        0x86dd,
        concat([0x60, 0, 0, 0, 0, 8, 17, 64], payload(40)),
      );
      const firewall = `--handler ${ROOT}examples/firewall.ts --handler-options`;

      const strict = {
        rules: [
          { src: "10.0.0.0/24", proto: "udp", dport: 53, action: "allow" },
          { src: "10.0.0.0/24", proto: "udp", action: "drop" },
          { src: "192.168.7.0/24", proto: "tcp", dport: 22, action: "allow" },
          { src: "192.168.7.9", action: "drop" },
          { proto: "icmp", action: "allow" },
        ],
        default: "drop",
      };
      const strictCases = [
        { kind: "rule0_allow", frame: u("10.0.0.5", 53) },
        { kind: "rule0_allow", frame: u("10.0.0.200", 53) },
        { kind: "rule1_drop", frame: u("10.0.0.5", 54) },
        { kind: "default_drop", frame: u("10.0.1.5", 53) }, // outside 10.0.0.0/24
        { kind: "default_drop", frame: tcp("10.0.0.5", 53) }, // TCP: no UDP rule
        { kind: "rule2_allow", frame: tcp("192.168.7.3", 22) },
        { kind: "rule2_allow", frame: tcp("192.168.7.9", 22) }, // rule 3 would drop it: rule 2 first
        { kind: "rule3_drop", frame: tcp("192.168.7.9", 80) },
        { kind: "rule3_drop", frame: v4("192.168.7.9", 1, icmpEcho) }, // before the ICMP rule
        { kind: "rule4_allow", frame: v4("172.16.0.1", 1, icmpEcho) },
        // A later fragment of UDP: its first bytes look like port 53, but it carries no port.
        {
          kind: "rule1_drop",
          frame: v4("10.0.0.5", 17, udp("10.0.0.5", it, 1000, 53, payload(8)), 185),
        },
        { kind: "default_drop", frame: arp },
        { kind: "default_drop", frame: ipv6 },
      ];
      let got: string[] = [];
      let b = await serve(t, `${firewall} ${JSON.stringify(strict)}`, async () => {
        got = await exchange(t, strictCases.map((c) => c.frame));
      });
      deepStrictEqual(got, allowedBack(strictCases));
      deepStrictEqual(
        handlerCounters(b),
        tally([
          "rule0_allow",
          "rule1_drop",
          "rule2_allow",
          "rule3_drop",
          "rule4_allow",
          "default_drop",
        ], strictCases),
      );
      strictEqual(b.final().total.rx_packets, strictCases.length);

      const open = {
        rules: [{ src: "10.0.0.0/8", proto: "udp", action: "drop" }],
        default: "allow",
      };
      const openCases = [
        { kind: "rule0_drop", frame: u("10.1.2.3", 53) },
        { kind: "default_allow", frame: u("192.168.7.3", 53) },
        { kind: "default_allow", frame: tcp("10.1.2.3", 53) },
        { kind: "default_allow", frame: v4("10.0.0.5", 1, icmpEcho) },
        { kind: "default_allow", frame: arp },
        { kind: "default_allow", frame: ipv6 },
      ];
      b = await serve(t, `${firewall} ${JSON.stringify(open)}`, async () => {
        got = await exchange(t, openCases.map((c) => c.frame));
      });
      deepStrictEqual(got, allowedBack(openCases));
      deepStrictEqual(handlerCounters(b), tally(["rule0_drop", "default_allow"], openCases));
    }),
);

Deno.test(
  "examples/firewall.ts: a bad rule stops the start with one line naming the rule, nothing attached",
  T,
  () =>
    withTopology(async (t) => {
      const bad: [unknown[], string][] = [
        [
          [{ src: "10.0.0.0/24", action: "allow" }, {
            src: "10.0.0.1/24",
            proto: "udp",
            action: "drop",
          }],
          `rule 1 {"src":"10.0.0.1/24","proto":"udp","action":"drop"}: src "10.0.0.1/24" has host ` +
          `bits set: write 10.0.0.0/24`,
        ],
        [
          [{ proto: "icmp", dport: 53, action: "allow" }],
          `rule 0 {"proto":"icmp","dport":53,"action":"allow"}: "dport" needs "proto": "udp" or "tcp"`,
        ],
      ];
      for (const [rules, message] of bad) {
        const r = await cli([
          "--iface",
          t.dutIf,
          "--handler",
          `${ROOT}examples/firewall.ts`,
          "--handler-options",
          JSON.stringify({ rules }),
        ], { ns: t.dut });
        strictEqual(r.code, 1, r.stderr);
        const lines = r.stderr.trim().split("\n");
        strictEqual(lines.length, 1, r.stderr);
        ok(
          lines[0].startsWith("bypassrt: error: ") && lines[0].endsWith(`firewall: ${message}`),
          lines[0],
        );
        strictEqual(await xdpAttached(t.dut, t.dutIf), false);
      }
    }),
);
