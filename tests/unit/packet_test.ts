import assert from "node:assert/strict";
import {
  checksumAdjust,
  copyMac,
  DROP_REASON_NAMES,
  DropReason,
  type DropReasonName,
  dropReasonName,
  etherType,
  ETHERTYPE_ARP,
  foldSum,
  formatIPv4,
  formatMac,
  inetChecksum,
  isBroadcastMac,
  isMartianSource,
  isMulticastMac,
  isZeroMac,
  macEquals,
  macSwap,
  onesSum,
  parseIPv4,
  parseMac,
  readU32,
  respondArp,
  respondIcmpEcho,
  respondInPlace,
  udpDstPort,
  writeEchoRequest,
  writeMac,
  writeU32,
  writeUdpFrame,
} from "../../packet/mod.ts";
import { guarded } from "./_guarded.ts";

// ---------------------------------------------------------------------------------------------
// Test helpers (independent of the module under test)

const OUR_IP = 0xc0000201; // 192.0.2.1
const OUR_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0x01]);
const PEER_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Reference ones-complement sum (mod 0xffff arithmetic, not the module's fold). */
function refSum(b: Uint8Array, start: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i += 2) s += b[start + i] * 256 + (i + 1 < n ? b[start + i + 1] : 0);
  if (s === 0) return 0;
  const m = s % 0xffff;
  return m === 0 ? 0xffff : m;
}

/** True iff a region containing its checksum field verifies. */
function refValid(b: Uint8Array, start: number, n: number): boolean {
  return refSum(b, start, n) === 0xffff;
}

/** Stores the reference checksum of `b[start, start+n)` at `b[at]` (field zeroed first). */
function refFix(b: Uint8Array, start: number, n: number, at: number): void {
  b[at] = 0;
  b[at + 1] = 0;
  const c = 0xffff - refSum(b, start, n);
  b[at] = c >> 8;
  b[at + 1] = c & 0xff;
}

/** Fixes IPv4 header and ICMP checksums of an untagged frame (IHL 5, tot from the header). */
function fixIcmp(f: Uint8Array): void {
  const tot = f[16] * 256 + f[17];
  refFix(f, 14, 20, 24);
  if (tot >= 28 && 14 + tot <= f.length) refFix(f, 34, tot - 20, 36);
}

/** Runs respondInPlace on a copy of `frame` placed at an odd offset in a guarded buffer. */
function respond(frame: Uint8Array, len = frame.length): { r: number; out: Uint8Array } {
  const off = 37;
  const backing = new Uint8Array(off + frame.length + 64).fill(0xcc);
  backing.set(frame, off);
  const r = respondInPlace(guarded(backing, off, len), off, len, OUR_IP, OUR_MAC);
  for (let i = 0; i < off; i++) assert.equal(backing[i], 0xcc);
  for (let i = off + frame.length; i < backing.length; i++) assert.equal(backing[i], 0xcc);
  return { r, out: backing.slice(off, off + frame.length) };
}

// Vectors generated independently (Python struct + RFC 1071 sum).
// ARP request who-has 192.0.2.1 tell 192.0.2.10 (52:54:00:12:34:56), padded to 60 with 0xa5.
const ARP_REQ = hex(
  "ffffffffffff 525400123456 0806  0001 0800 06 04 0001 525400123456 c000020a" +
    "000000000000 c0000201  a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5",
);
const ARP_REP = hex(
  "525400123456 020000000001 0806  0001 0800 06 04 0002 020000000001 c0000201" +
    "525400123456 c000020a",
);
// ICMP echo request 192.0.2.10 -> 192.0.2.1, TTL 63, DF, id 0x1c46, ICMP id 0x1234 seq 1,
// 56 payload bytes 0x10..0x47. IP checksum 0x9b57, ICMP checksum 0x2cf6.
const ICMP_REQ = hex(
  "020000000001 525400123456 0800" +
    "4500 0054 1c46 4000 3f01 9b57 c000020a c0000201" +
    "0800 2cf6 1234 0001" +
    "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f" +
    "303132333435363738393a3b3c3d3e3f4041424344454647",
);
// Expected reply: TTL 64, IP checksum 0x9a57, ICMP checksum 0x34f6.
const ICMP_REP = hex(
  "525400123456 020000000001 0800" +
    "4500 0054 1c46 4000 4001 9a57 c0000201 c000020a" +
    "0000 34f6 1234 0001" +
    "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f" +
    "303132333435363738393a3b3c3d3e3f4041424344454647",
);

// RFC 5227 probe: who-has 192.0.2.1, sender 0.0.0.0 (52:54:00:12:34:56). Linux answers it with a
// reply unicast to the prober whose target protocol address is 0.0.0.0.
const ARP_PROBE = hex(
  "ffffffffffff 525400123456 0806  0001 0800 06 04 0001 525400123456 00000000" +
    "000000000000 c0000201",
);
const ARP_PROBE_REP = hex(
  "525400123456 020000000001 0806  0001 0800 06 04 0002 020000000001 c0000201" +
    "525400123456 00000000",
);
// ICMP_REQ with the options of `ping -R` (NOP, Record Route length 39 pointer 4, 9 empty slots):
// IHL 15, total length 124. The reply carries Record Route first, padded with one End of List,
// our address in the first two slots (request received, reply sent) and pointer 12, as Linux's
// ip_options_compile + ip_options_echo + ip_options_build produce it.
const PAYLOAD_56 = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f" +
  "303132333435363738393a3b3c3d3e3f4041424344454647";
const ICMP_RR_REQ = hex(
  "020000000001 525400123456 0800" +
    "4f00 007c 1c46 4000 3f01 6924 c000020a c0000201" +
    "01 072704 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000" +
    "0800 2cf6 1234 0001" + PAYLOAD_56,
);
const ICMP_RR_REP = hex(
  "525400123456 020000000001 0800" +
    "4f00 007c 1c46 4000 4001 7984 c0000201 c000020a" +
    "07270c c0000201 c0000201 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00" +
    "0000 34f6 1234 0001" + PAYLOAD_56,
);
// ICMP_REQ with code 3: the reply keeps the code (IP checksum 0x9a57, ICMP 0x2cf3 -> 0x34f3).
const ICMP_CODE3_REQ = hex(
  "020000000001 525400123456 0800" +
    "4500 0054 1c46 4000 3f01 9b57 c000020a c0000201" +
    "0803 2cf3 1234 0001" + PAYLOAD_56,
);
const ICMP_CODE3_REP = hex(
  "525400123456 020000000001 0800" +
    "4500 0054 1c46 4000 4001 9a57 c0000201 c000020a" +
    "0003 34f3 1234 0001" + PAYLOAD_56,
);

/** `frame` with a 4-byte tag (TPID `tpid`, TCI `tci`) inserted after the MAC addresses. */
function tagged(frame: Uint8Array, tci: number, tpid = 0x8100): Uint8Array {
  const f = new Uint8Array(frame.length + 4);
  f.set(frame.subarray(0, 12), 0);
  f.set([tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff], 12);
  f.set(frame.subarray(12), 16);
  return f;
}

/**
 * An untagged echo request like ICMP_REQ (56-byte payload) carrying IP options `opts` (a multiple
 * of 4 bytes, at most 40), checksums fixed.
 */
function withOptions(opts: number[], base = ICMP_REQ): Uint8Array {
  const f = new Uint8Array(base.length + opts.length);
  f.set(base.subarray(0, 34), 0);
  f.set(opts, 34);
  f.set(base.subarray(34), 34 + opts.length);
  const hl = 20 + opts.length, tot = base[16] * 256 + base[17] + opts.length;
  f[14] = 0x40 | (hl >> 2);
  f[16] = tot >> 8;
  f[17] = tot & 0xff;
  refFix(f, 14, hl, 24);
  return f;
}

/** Builds an echo request to us with `payloadLen` payload bytes and `pad` bytes of padding. */
function icmpRequest(payloadLen: number, pad = 0, seed = 1): Uint8Array {
  const tot = 28 + payloadLen;
  const f = new Uint8Array(14 + tot + pad);
  f.set(OUR_MAC, 0);
  f.set(PEER_MAC, 6);
  f.set([0x08, 0x00, 0x45, 0x00, tot >> 8, tot & 0xff, 0xab, 0xcd, 0x40, 0x00, 0x40, 0x01], 12);
  f.set([198, 51, 100, 7, 192, 0, 2, 1], 26);
  f.set([0x08, 0x00, 0, 0, 0xbe, 0xef, 0x00, 0x2a], 34);
  let x = seed;
  for (let i = 0; i < payloadLen + pad; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    f[42 + i] = x >>> 24;
  }
  fixIcmp(f);
  return f;
}

function withChanges(base: Uint8Array, fn: (f: Uint8Array) => void, fix = false): Uint8Array {
  const f = base.slice();
  fn(f);
  if (fix) fixIcmp(f);
  return f;
}

// ---------------------------------------------------------------------------------------------
// checksum

Deno.test("checksum: RFC 1071 example", () => {
  const b = hex("0001 f203 f4f5 f6f7");
  assert.equal(onesSum(b, 0, 8, 0), 0xddf2);
  assert.equal(inetChecksum(b, 0, 8), 0x220d);
});

Deno.test("checksum: real IPv4 header", () => {
  const h = hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7");
  assert.equal(inetChecksum(h, 0, 20), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  assert.equal(inetChecksum(h, 0, 20), 0);
  // Same header at an odd offset inside a larger buffer.
  const big = new Uint8Array(41).fill(0x77);
  big.set(h, 13);
  assert.equal(inetChecksum(big, 13, 20), 0);
});

Deno.test("checksum: odd lengths, empty, carries", () => {
  assert.equal(inetChecksum(hex("01"), 0, 1), 0xfeff);
  assert.equal(inetChecksum(hex("123456"), 0, 3), 0x97cb);
  assert.equal(inetChecksum(hex("123456ff"), 0, 3), 0x97cb); // trailing byte outside len ignored
  assert.equal(inetChecksum(new Uint8Array(0), 0, 0), 0xffff);
  assert.equal(inetChecksum(hex("ffffffff"), 0, 4), 0);
  assert.equal(onesSum(hex("ffff0001"), 0, 4, 0), 0x0001);
  assert.equal(inetChecksum(new Uint8Array(65536).fill(0xff), 0, 65536), 0);
  assert.equal(foldSum(0x1fffe), 0xffff);
  assert.equal(foldSum(0x3_0000_0002), 0x0005); // beyond 32 bits
  assert.equal(onesSum(hex("0001"), 0, 2, 0xffff), 0x0001);
});

Deno.test("checksum: matches reference on pseudo-random data", () => {
  const b = new Uint8Array(4099);
  let x = 12345;
  for (let i = 0; i < b.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  for (let off = 0; off < 5; off++) {
    for (const n of [0, 1, 2, 3, 19, 20, 21, 1499, 1500, 4090]) {
      assert.equal(onesSum(b, off, n, 0), n === 0 ? 0 : refSum(b, off, n), `off ${off} n ${n}`);
    }
  }
});

Deno.test("checksum: RFC 1624 incremental update stays valid", () => {
  assert.equal(checksumAdjust(0x2cf6, 0x0800, 0x0000), 0x34f6); // the echo vector
  assert.equal(checksumAdjust(0xf7fe, 0x0800, 0x0000), 0xfffe);
  const b = new Uint8Array(22);
  let x = 99;
  for (let t = 0; t < 2000; t++) {
    for (let i = 0; i < b.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = t % 7 === 0 ? (x >>> 31) * 0xff : x >>> 24; // include all-0/all-ff words
    }
    refFix(b, 0, 22, 0);
    const w = 2 + 2 * (t % 10);
    const oldWord = b[w] * 256 + b[w + 1];
    x = (x * 1103515245 + 12345) >>> 0;
    const newWord = t % 5 === 0 ? 0 : x >>> 16;
    b[w] = newWord >> 8;
    b[w + 1] = newWord & 0xff;
    const c = checksumAdjust(b[0] * 256 + b[1], oldWord, newWord);
    b[0] = c >> 8;
    b[1] = c & 0xff;
    assert.equal(inetChecksum(b, 0, 22), 0, `iteration ${t}`);
  }
});

// ---------------------------------------------------------------------------------------------
// addr

Deno.test("addr: parseIPv4 / formatIPv4", () => {
  assert.equal(parseIPv4("192.0.2.1"), 0xc0000201);
  assert.equal(parseIPv4("0.0.0.0"), 0);
  assert.equal(parseIPv4("255.255.255.255"), 0xffffffff);
  assert.equal(parseIPv4("10.0.0.255"), 0x0a0000ff);
  assert.equal(formatIPv4(0xc0000201), "192.0.2.1");
  assert.equal(formatIPv4(0), "0.0.0.0");
  assert.equal(formatIPv4(0xffffffff), "255.255.255.255");
  assert.equal(formatIPv4(parseIPv4("172.16.254.3")), "172.16.254.3");
  assert.throws(() => parseIPv4("256.1.2.3"), {
    name: "RangeError",
    message: 'invalid IPv4 address "256.1.2.3": expected A.B.C.D with each part 0-255 ' +
      "(decimal, no leading zeros)",
  });
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      " 1.2.3.4",
      "1.2.3.4 ",
      "1.2.3.4\n",
      "a.b.c.d",
      "1..2.3",
      "-1.2.3.4",
      "1.2.3.1000",
      "0x1.2.3.4",
      "1.2.3.4/24",
    ]
  ) {
    assert.throws(() => parseIPv4(bad), RangeError, JSON.stringify(bad));
  }
  assert.throws(() => parseIPv4(undefined as unknown as string), RangeError);
  for (const bad of [-1, 2 ** 32, 1.5, NaN]) {
    assert.throws(() => formatIPv4(bad), RangeError, String(bad));
  }
});

Deno.test("addr: parseMac / formatMac", () => {
  assert.deepEqual(parseMac("02:00:5e:10:00:01"), new Uint8Array([2, 0, 0x5e, 0x10, 0, 1]));
  assert.deepEqual(
    parseMac("AA:bb:CC:dd:EE:ff"),
    new Uint8Array([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]),
  );
  assert.throws(() => parseMac("aa:bb:cc:dd:ee"), {
    name: "RangeError",
    message: 'invalid MAC address "aa:bb:cc:dd:ee": expected six two-digit hex bytes separated ' +
      "by colons, like 02:00:5e:10:00:01",
  });
  for (
    const bad of [
      "",
      "aa-bb-cc-dd-ee-ff",
      "aabb.ccdd.eeff",
      "aa:bb:cc:dd:ee:fg",
      "a:bb:cc:dd:ee:ff",
      "aa:bb:cc:dd:ee:ff:00",
      "aa:bb:cc:dd:ee:ff ",
      "aabbccddeeff",
    ]
  ) {
    assert.throws(() => parseMac(bad), RangeError, JSON.stringify(bad));
  }
  const b = new Uint8Array([9, 9, 0x02, 0x00, 0x5e, 0x10, 0xab, 0xff]);
  assert.equal(formatMac(b, 2), "02:00:5e:10:ab:ff");
  assert.equal(formatMac(parseMac("de:ad:be:ef:00:01")), "de:ad:be:ef:00:01");
  assert.throws(() => formatMac(b, 3), RangeError);
  assert.throws(() => formatMac(b, -1), RangeError);
});

// ---------------------------------------------------------------------------------------------
// ether / ipv4 helpers

Deno.test("ether: MAC helpers and ethertype", () => {
  const f = hex("010203040506 0a0b0c0d0e0f 0806");
  macSwap(f, 0);
  assert.equal(toHex(f), "0a0b0c0d0e0f0102030405060806");
  assert.equal(etherType(f, 0, 14), ETHERTYPE_ARP);
  assert.equal(etherType(f, 0, 13), -1);
  assert.equal(isMulticastMac(hex("01005e000001"), 0), true);
  assert.equal(isMulticastMac(hex("ffffffffffff"), 0), true);
  assert.equal(isMulticastMac(hex("020000000001"), 0), false);
  assert.equal(isBroadcastMac(hex("ffffffffffff"), 0), true);
  assert.equal(isBroadcastMac(hex("fffffffffffe"), 0), false);
  assert.equal(isZeroMac(hex("000000000000"), 0), true);
  assert.equal(isZeroMac(hex("000000000100"), 0), false);
  assert.equal(macEquals(hex("ff020000000001"), 1, OUR_MAC), true);
  assert.equal(macEquals(hex("ff020000000002"), 1, OUR_MAC), false);
  const g = new Uint8Array(12);
  writeMac(g, 6, OUR_MAC);
  copyMac(g, 0, 6);
  assert.equal(toHex(g), "020000000001020000000001");
  const h = new Uint8Array(5);
  writeU32(h, 1, 0xc0000201);
  assert.equal(toHex(h), "00c0000201");
  assert.equal(readU32(h, 1), 0xc0000201);
  assert.equal(isMartianSource(0), true);
  assert.equal(isMartianSource(0x7f000001), true);
  assert.equal(isMartianSource(0xe0000001), true);
  assert.equal(isMartianSource(0xffffffff), true);
  assert.equal(isMartianSource(0xdfffffff), false);
  assert.equal(isMartianSource(0x01000000), false);
});

Deno.test("drop reasons: names indexed by code", () => {
  assert.equal(DROP_REASON_NAMES.length, 38);
  assert.equal(DROP_REASON_NAMES[0], "none");
  for (const [name, code] of Object.entries(DropReason)) {
    assert.equal(DROP_REASON_NAMES[code], name);
  }
  assert.equal(new Set(Object.values(DropReason)).size, 37);
  assert.deepEqual(
    Object.values(DropReason).sort((a, b) => a - b),
    [...Array(37).keys()].map((i) => i + 1),
  );
  assert.equal(dropReasonName(-DropReason.ipv6), "ipv6");
  assert.equal(dropReasonName(DropReason.vlan), "vlan");
  assert.equal(dropReasonName(0), "none");
  assert.equal(dropReasonName(-99), "unknown");
  assert.throws(() => (DROP_REASON_NAMES as string[]).push("x"));
});

// ---------------------------------------------------------------------------------------------
// ARP responder

Deno.test("arp: broadcast request -> exact reply bytes, padding untouched", () => {
  const { r, out } = respond(ARP_REQ);
  assert.equal(r, 42);
  assert.equal(toHex(out.subarray(0, 42)), toHex(ARP_REP));
  assert.equal(toHex(out.subarray(42)), "a5".repeat(18));
});

Deno.test("arp: unicast request to our MAC, minimal 42-byte frame, ip as int32", () => {
  const req = withChanges(ARP_REQ.subarray(0, 42), (f) => f.set(OUR_MAC, 0));
  const buf = req.slice();
  assert.equal(respondInPlace(buf, 0, 42, OUR_IP | 0, OUR_MAC), 42);
  assert.equal(toHex(buf), toHex(ARP_REP));
  const buf2 = req.slice();
  assert.equal(respondArp(buf2, 0, 42, OUR_IP, OUR_MAC), 42);
  assert.equal(toHex(buf2), toHex(ARP_REP));
});

Deno.test("arp: RFC 5227 probe (sender 0.0.0.0) -> reply to the prober, target 0.0.0.0", () => {
  const { r, out } = respond(ARP_PROBE);
  assert.equal(r, 42);
  assert.equal(toHex(out), toHex(ARP_PROBE_REP));
});

Deno.test("arp: hardware type 6 (IEEE 802) is answered with hardware type 1, as Linux does", () => {
  const { r, out } = respond(withChanges(ARP_REQ, (f) => (f[15] = 6)));
  assert.equal(r, 42);
  assert.equal(toHex(out.subarray(0, 42)), toHex(ARP_REP));
});

Deno.test("arp: priority-tagged request (VLAN id 0, any PCP/DEI, 802.1Q or 802.1ad) -> untagged reply", () => {
  for (const [tci, tpid] of [[0, 0x8100], [0xa000, 0x8100], [0xf000, 0x8100], [0x2000, 0x88a8]]) {
    const req = tagged(ARP_REQ, tci, tpid);
    const what = `TPID ${tpid.toString(16)} TCI ${tci.toString(16)}`;
    const { r, out } = respond(req);
    assert.equal(r, 42, what);
    assert.equal(toHex(out.subarray(0, 42)), toHex(ARP_REP), what);
    assert.equal(toHex(out.subarray(46)), "a5".repeat(18), `${what}: padding untouched`);
    // The shortest tagged request: 46 bytes.
    assert.equal(respond(req.subarray(0, 46)).r, 42, what);
    assert.equal(toHex(respond(req.subarray(0, 46)).out.subarray(0, 42)), toHex(ARP_REP), what);
  }
});

// ---------------------------------------------------------------------------------------------
// ICMP responder

Deno.test("icmp: echo request -> exact reply bytes", () => {
  const { r, out } = respond(ICMP_REQ);
  assert.equal(r, 98);
  assert.equal(toHex(out), toHex(ICMP_REP));
  const buf = ICMP_REQ.slice();
  assert.equal(respondIcmpEcho(buf, 0, 98, OUR_IP, OUR_MAC), 98);
  assert.equal(toHex(buf), toHex(ICMP_REP));
});

function checkEchoReply(req: Uint8Array, out: Uint8Array, n: number): void {
  const tot = req[16] * 256 + req[17];
  assert.equal(n, 14 + tot);
  assert.deepEqual(out.subarray(0, 6), req.subarray(6, 12));
  assert.deepEqual(out.subarray(6, 12), OUR_MAC);
  assert.equal(toHex(out.subarray(12, 22)), toHex(req.subarray(12, 22))); // type..flags
  assert.equal(out[22], 64);
  assert.equal(out[23], 1);
  assert.equal(readU32(out, 26), OUR_IP);
  assert.deepEqual(out.subarray(30, 34), req.subarray(26, 30));
  assert.equal(inetChecksum(out, 14, 20), 0);
  assert.ok(refValid(out, 14, 20));
  assert.equal(out[34], 0);
  assert.equal(out[35], 0);
  assert.equal(inetChecksum(out, 34, tot - 20), 0);
  assert.ok(refValid(out, 34, tot - 20));
  assert.deepEqual(out.subarray(38, out.length), req.subarray(38, req.length));
}

Deno.test("icmp: writeEchoRequest writes a checked request that respondInPlace answers", () => {
  const buf = new Uint8Array(120).fill(0xee);
  const o = {
    srcMac: Uint8Array.from(PEER_MAC),
    dstMac: OUR_MAC,
    srcIp: 0xc000020a,
    dstIp: OUR_IP,
    id: 0x1234,
    seq: 7,
    payloadLen: 56,
  };
  assert.equal(writeEchoRequest(buf, 10, o), 98);
  const req = buf.slice(10, 108);
  assert.equal(buf[9], 0xee, "nothing written before the frame");
  assert.equal(buf[108], 0xee, "nothing written after the frame");
  // Headers as ping's, both checksums valid by the independent reference sum.
  assert.equal(toHex(req.subarray(0, 14)), "020000000001525400123456" + "0800");
  assert.equal(toHex(req.subarray(14, 24)), "45000054000040004001");
  assert.equal(toHex(req.subarray(26, 34)), "c000020ac0000201");
  assert.ok(refValid(req, 14, 20));
  assert.equal(toHex(req.subarray(34, 36)), "0800");
  assert.equal(toHex(req.subarray(38, 42)), "12340007");
  assert.deepEqual([...req.subarray(42)], Array.from({ length: 56 }, (_, i) => i));
  assert.ok(refValid(req, 34, 64));
  const out = req.slice();
  const n = respondInPlace(out, 0, 98, OUR_IP, OUR_MAC);
  checkEchoReply(req, out, n);
  assert.throws(() => writeEchoRequest(new Uint8Array(97), 0, o), /98-byte request/);
  assert.throws(() => writeEchoRequest(buf, 0, { ...o, seq: 65536 }), RangeError);
});

Deno.test("icmp: odd payload, Ethernet padding, max-size 3000-byte frame", () => {
  for (const [payload, pad] of [[0, 18], [1, 0], [57, 3], [1000, 0], [3000 - 42, 0]]) {
    const req = icmpRequest(payload, pad, payload + 7);
    const { r, out } = respond(req);
    assert.equal(r, 42 + payload, `payload ${payload}`);
    checkEchoReply(req, out, r);
  }
  const req = icmpRequest(3000 - 42);
  assert.equal(req.length, 3000);
  assert.equal(respond(req).r, 3000);
  assert.equal(respond(req, 2999).r, -DropReason.ip_bad_length);
});

Deno.test("icmp: non-zero code is answered and kept in the reply", () => {
  const { r, out } = respond(ICMP_CODE3_REQ);
  assert.equal(r, 98);
  assert.equal(toHex(out), toHex(ICMP_CODE3_REP));
  for (const code of [1, 0x80, 0xff]) {
    const req = withChanges(ICMP_REQ, (f) => (f[35] = code), true);
    const res = respond(req);
    assert.equal(res.r, 98, `code ${code}`);
    assert.equal(res.out[34], 0);
    assert.equal(res.out[35], code);
    assert.ok(refValid(res.out, 34, 64), `code ${code}: ICMP checksum`);
  }
});

Deno.test("icmp: priority-tagged request (VLAN id 0, 802.1Q or 802.1ad) -> untagged reply", () => {
  for (const [tci, tpid] of [[0, 0x8100], [0xe000, 0x8100], [0x1000, 0x8100], [0, 0x88a8]]) {
    const what = `TPID ${tpid.toString(16)} TCI ${tci.toString(16)}`;
    const { r, out } = respond(tagged(ICMP_REQ, tci, tpid));
    assert.equal(r, 98, what);
    assert.equal(toHex(out.subarray(0, 98)), toHex(ICMP_REP), what);
    // Tagged with options: both the tag and the ignorable option go.
    const ra = respond(tagged(withOptions([0x94, 4, 0, 0]), tci, tpid));
    assert.equal(ra.r, 98, what);
    assert.equal(toHex(ra.out.subarray(0, 98)), toHex(ICMP_REP), `${what} + Router Alert`);
    const rr = respond(tagged(ICMP_RR_REQ, tci, tpid));
    assert.equal(rr.r, 138, what);
    assert.equal(toHex(rr.out.subarray(0, 138)), toHex(ICMP_RR_REP), `${what} + Record Route`);
  }
  // A padded 60-byte tagged echo with no payload: the reply is 42 bytes.
  const small = tagged(icmpRequest(0, 14), 0);
  const { r, out } = respond(small);
  assert.equal(r, 42);
  assert.equal(toHex(out.subarray(0, 42)), toHex(respond(icmpRequest(0, 14)).out.subarray(0, 42)));
});

Deno.test("icmp: Record Route as ping -R sends it -> our address recorded twice, END padded", () => {
  const { r, out } = respond(ICMP_RR_REQ);
  assert.equal(r, 138);
  assert.equal(toHex(out), toHex(ICMP_RR_REP));
});

/** The reply's Record Route option bytes for a request carrying `opts`, via respondInPlace. */
function rrReply(opts: number[]): { ihl: number; rr: string } {
  const { r, out } = respond(withOptions(opts));
  assert.ok(r > 0, `dropped: ${dropReasonName(r)}`);
  const ihl = out[14] & 0x0f;
  assert.equal(r, 14 + ihl * 4 + 64);
  assert.ok(refValid(out, 14, ihl * 4), "IP checksum");
  assert.ok(refValid(out, 14 + ihl * 4, 64), "ICMP checksum");
  assert.equal(toHex(out.subarray(14 + ihl * 4 + 8, r)), PAYLOAD_56);
  return { ihl, rr: toHex(out.subarray(34, 14 + ihl * 4)) };
}

Deno.test("icmp: Record Route partly filled, one slot left, full, short lengths", () => {
  const us = "c0000201", a = [10, 0, 0, 9], b = [10, 0, 0, 8];
  const z = (n: number) => new Array(n).fill(0);
  // Two addresses already recorded (pointer 12): ours go to slots 3 and 4, pointer 20.
  assert.deepEqual(rrReply([1, 7, 39, 12, ...a, ...b, ...z(28)]), {
    ihl: 15,
    rr: "072714" + "0a000009" + "0a000008" + us + us + "00".repeat(20) + "00",
  });
  // One slot left (pointer 36): our address once, pointer 40 (full).
  const eight = new Array(8).fill(a).flat();
  assert.deepEqual(rrReply([1, 7, 39, 36, ...eight, ...z(4)]), {
    ihl: 15,
    rr: "072728" + "0a000009".repeat(8) + us + "00",
  });
  // Full (pointer 40 > length 39): returned as it came.
  assert.deepEqual(rrReply([1, 7, 39, 40, ...eight, ...b]), {
    ihl: 15,
    rr: "072728" + "0a000009".repeat(8) + "0a000008" + "00",
  });
  // Length 7, one slot: recorded once (as the request arrives), pointer 8, no room for the reply.
  assert.deepEqual(rrReply([7, 7, 4, ...z(4), 0]), { ihl: 7, rr: "070708" + us + "00" });
  // Length 11, two slots, behind a NOP and a Router Alert: only Record Route comes back.
  assert.deepEqual(rrReply([1, 0x94, 4, 0, 0, 7, 11, 4, ...z(8), 1, 1, 0, 0]), {
    ihl: 8,
    rr: "070b0c" + us + us + "00",
  });
  // A pointer not on a slot boundary (5) is honoured as the kernel does: slots at 4..7, 8..11.
  assert.deepEqual(rrReply([7, 15, 5, ...z(12), 0]), {
    ihl: 9,
    rr: "070f0d00" + us + us + "000000" + "00",
  });
});

Deno.test("icmp: NOP, End of List, Router Alert, unknown options -> accepted, not echoed", () => {
  for (
    const opts of [
      [1, 1, 1, 1],
      [0, 0, 0, 0],
      [0x94, 4, 0, 0],
      [0x94, 4, 0x12, 0x34], // Router Alert with a non-zero value: ignored too
      [0x9e, 4, 0x12, 0x34], // an experimental option (RFC 4727)
      [0x82, 11, ...new Array(9).fill(0), 0], // Security (130): ignored by the kernel on input
      [0, 7, 3, 4], // End of List, then bytes that would be a malformed Record Route
      [1, 0x94, 4, 0, 0, 0, 0, 0],
      new Array(40).fill(1),
    ]
  ) {
    const what = toHex(new Uint8Array(opts));
    const { r, out } = respond(withOptions(opts));
    assert.equal(r, 98, what);
    assert.equal(toHex(out.subarray(0, 98)), toHex(ICMP_REP), what);
  }
});

// ---------------------------------------------------------------------------------------------
// Every drop reason

const setIp = (f: Uint8Array, at: number, ip: string) => writeU32(f, at, parseIPv4(ip));
const setEt = (et: number) => (f: Uint8Array) => f.set([et >> 8, et & 0xff], 12);

const DROP_CASES: [DropReasonName, string, Uint8Array, number?][] = [
  ["runt", "empty", new Uint8Array(0)],
  ["runt", "13 bytes", ICMP_REQ.slice(0, 13)],
  ["runt", "ARP 41 bytes", ARP_REQ.slice(0, 41)],
  ["runt", "ARP len 41 of 60", ARP_REQ, 41],
  ["runt", "tag cut at 17", tagged(ICMP_REQ, 0).subarray(0, 17)],
  ["runt", "tagged ARP 45 bytes", tagged(ARP_REQ, 0).subarray(0, 45)],
  ["not_for_our_mac", "ICMP to broadcast", withChanges(ICMP_REQ, (f) => f.fill(0xff, 0, 6))],
  [
    "not_for_our_mac",
    "ICMP to multicast",
    withChanges(ICMP_REQ, (f) => f.set(hex("01005e000001"))),
  ],
  ["not_for_our_mac", "ICMP to other", withChanges(ICMP_REQ, (f) => (f[5] = 2))],
  ["not_for_our_mac", "ARP to other unicast", withChanges(ARP_REQ, (f) => f.set(PEER_MAC, 0))],
  ["not_for_our_mac", "ARP to multicast", withChanges(ARP_REQ, (f) => f.set(hex("01005e000001")))],
  ["bad_source_mac", "ICMP from multicast", withChanges(ICMP_REQ, (f) => (f[6] = 0x01))],
  ["bad_source_mac", "ICMP from zero", withChanges(ICMP_REQ, (f) => f.fill(0, 6, 12))],
  ["bad_source_mac", "ICMP from our MAC", withChanges(ICMP_REQ, (f) => f.set(OUR_MAC, 6))],
  ["bad_source_mac", "ARP from broadcast", withChanges(ARP_REQ, (f) => f.fill(0xff, 6, 12))],
  ["vlan", "802.1Q", hex("020000000001 525400123456 8100 0064 0800 4500")],
  ["vlan", "802.1ad", withChanges(ICMP_REQ, setEt(0x88a8))],
  ["vlan", "VLAN 5", tagged(ICMP_REQ, 5)],
  ["vlan", "VLAN 4095, PCP 7", tagged(ARP_REQ, 0xefff)],
  ["vlan", "two priority tags", tagged(tagged(ICMP_REQ, 0), 0)],
  ["vlan", "priority tag, then VLAN 5", tagged(tagged(ICMP_REQ, 5), 0, 0x88a8)],
  ["ipv6", "priority-tagged IPv6", tagged(withChanges(ICMP_REQ, setEt(0x86dd)), 0)],
  ["ipv6", "IPv6", withChanges(ICMP_REQ, setEt(0x86dd))],
  ["other_ethertype", "LLDP", withChanges(ICMP_REQ, setEt(0x88cc))],
  ["other_ethertype", "802.3 length", withChanges(ARP_REQ, setEt(0x002e))],
  ["other_ethertype", "priority-tagged LLDP", tagged(withChanges(ICMP_REQ, setEt(0x88cc)), 0)],
  ["arp_malformed", "htype 2", withChanges(ARP_REQ, (f) => (f[15] = 2))],
  ["arp_malformed", "htype 0x0101", withChanges(ARP_REQ, (f) => (f[14] = 1))],
  ["arp_malformed", "ptype IPv6", withChanges(ARP_REQ, (f) => f.set([0x86, 0xdd], 16))],
  ["arp_malformed", "hlen 8", withChanges(ARP_REQ, (f) => (f[18] = 8))],
  ["arp_malformed", "plen 16", withChanges(ARP_REQ, (f) => (f[19] = 16))],
  ["arp_not_request", "reply", withChanges(ARP_REQ, (f) => (f[21] = 2))],
  ["arp_not_request", "oper 0x0101", withChanges(ARP_REQ, (f) => (f[20] = 1))],
  ["arp_not_for_us", "other target", withChanges(ARP_REQ, (f) => setIp(f, 38, "192.0.2.2"))],
  ["arp_not_for_us", "gratuitous", withChanges(ARP_REQ, (f) => setIp(f, 38, "192.0.2.10"))],
  ["arp_bad_sender", "spa 0.1.2.3", withChanges(ARP_REQ, (f) => setIp(f, 28, "0.1.2.3"))],
  ["arp_bad_sender", "probe from sha 0", withChanges(ARP_PROBE, (f) => f.fill(0, 22, 28))],
  ["arp_bad_sender", "spa = our ip", withChanges(ARP_REQ, (f) => setIp(f, 28, "192.0.2.1"))],
  ["arp_bad_sender", "spa broadcast", withChanges(ARP_REQ, (f) => setIp(f, 28, "255.255.255.255"))],
  ["arp_bad_sender", "sha multicast", withChanges(ARP_REQ, (f) => (f[22] = 0x01))],
  ["arp_bad_sender", "sha zero", withChanges(ARP_REQ, (f) => f.fill(0, 22, 28))],
  ["ip_truncated", "33 bytes", ICMP_REQ.slice(0, 33)],
  ["ip_truncated", "eth header only", ICMP_REQ.slice(0, 14)],
  ["ip_bad_version", "version 6", withChanges(ICMP_REQ, (f) => (f[14] = 0x65), true)],
  ["ip_bad_ihl", "IHL 4", withChanges(ICMP_REQ, (f) => (f[14] = 0x44))],
  ["ip_bad_ihl", "IHL 0", withChanges(ICMP_REQ, (f) => (f[14] = 0x40))],
  ["ip_bad_length", "IHL 15 > tot", withChanges(ICMP_REQ, (f) => f.set([0x4f, 0, 0, 59], 14))],
  ["ip_bad_checksum", "IHL 6, checksum over 20", withChanges(ICMP_REQ, (f) => (f[14] = 0x46))],
  ["ip_options", "Timestamp", withOptions([0x44, 12, 5, 0, ...new Array(8).fill(0)])],
  ["ip_options", "LSRR", withOptions([0x83, 7, 8, 10, 0, 0, 9, 0])],
  ["ip_options", "SSRR after a NOP", withOptions([1, 0x89, 7, 4, 10, 0, 0, 9])],
  ["ip_options", "CIPSO", withOptions([0x86, 8, 0, 0, 0, 1, 0, 0])],
  ["ip_bad_options", "length 1", withOptions([0x94, 1, 0, 0])],
  ["ip_bad_options", "length past the header", withOptions([0x9e, 5, 0, 0])],
  ["ip_bad_options", "type byte alone at the end", withOptions([1, 1, 1, 0x9e])],
  ["ip_bad_options", "RR length 2", withOptions([7, 2, 0, 0])],
  ["ip_bad_options", "RR pointer 3", withOptions([7, 7, 3, 0, 0, 0, 0, 0])],
  ["ip_bad_options", "RR pointer on a partial slot", withOptions([7, 6, 4, 0, 0, 0, 0, 0])],
  [
    "ip_bad_options",
    "RR: no whole slot for the reply",
    withOptions([
      7,
      10,
      4,
      ...new Array(9)
        .fill(0),
    ]),
  ],
  ["ip_bad_options", "two RR", withOptions([7, 3, 4, 7, 3, 4, 0, 0])],
  ["ip_bad_options", "Router Alert length 2", withOptions([0x94, 2, 0, 0])],
  ["ip_bad_options", "RR pointer 3, tagged", tagged(withOptions([7, 7, 3, 0, 0, 0, 0, 0]), 0)],
  ["ip_bad_length", "tot > frame", withChanges(ICMP_REQ, (f) => (f[17] = 85), true)],
  ["ip_bad_length", "frame cut by 1", ICMP_REQ.slice(0, 97)],
  ["ip_bad_length", "tot 19", withChanges(ICMP_REQ, (f) => f.set([0, 19], 16), true)],
  ["ip_bad_checksum", "bad header checksum", withChanges(ICMP_REQ, (f) => (f[25] ^= 1))],
  ["ip_bad_checksum", "TTL changed", withChanges(ICMP_REQ, (f) => (f[22] = 64))],
  ["ip_fragment", "MF", withChanges(ICMP_REQ, (f) => (f[20] = 0x20), true)],
  ["ip_fragment", "offset 8", withChanges(ICMP_REQ, (f) => f.set([0x40, 0x01], 20), true)],
  ["ip_fragment", "offset max", withChanges(ICMP_REQ, (f) => f.set([0x1f, 0xff], 20), true)],
  ["not_icmp", "UDP", withChanges(ICMP_REQ, (f) => (f[23] = 17), true)],
  ["ip_not_for_us", "other dst", withChanges(ICMP_REQ, (f) => setIp(f, 30, "192.0.2.2"), true)],
  ["ip_not_for_us", "bcast dst", withChanges(ICMP_REQ, (f) => setIp(f, 30, "192.0.2.255"), true)],
  ["ip_bad_source", "src 0", withChanges(ICMP_REQ, (f) => setIp(f, 26, "0.0.0.0"), true)],
  [
    "ip_bad_source",
    "src bcast",
    withChanges(ICMP_REQ, (f) => setIp(f, 26, "255.255.255.255"), true),
  ],
  ["ip_bad_source", "src mcast", withChanges(ICMP_REQ, (f) => setIp(f, 26, "224.0.0.1"), true)],
  ["ip_bad_source", "src mcast 239", withChanges(ICMP_REQ, (f) => setIp(f, 26, "239.1.1.1"), true)],
  ["ip_bad_source", "src = our ip", withChanges(ICMP_REQ, (f) => setIp(f, 26, "192.0.2.1"), true)],
  ["ip_bad_source", "src loopback", withChanges(ICMP_REQ, (f) => setIp(f, 26, "127.0.0.1"), true)],
  ["icmp_truncated", "tot 27", withChanges(ICMP_REQ, (f) => f.set([0, 27], 16), true)],
  ["icmp_truncated", "tot 20", withChanges(ICMP_REQ, (f) => f.set([0, 20], 16), true)],
  ["icmp_bad_checksum", "payload flipped", withChanges(ICMP_REQ, (f) => (f[97] ^= 0x80))],
  ["icmp_bad_checksum", "checksum flipped", withChanges(ICMP_REQ, (f) => (f[36] ^= 0x01))],
  [
    "icmp_bad_checksum",
    "tot shortened",
    withChanges(ICMP_REQ, (f) => {
      f[17] = 83;
      refFix(f, 14, 20, 24);
    }),
  ],
  ["icmp_not_echo_request", "echo reply", withChanges(ICMP_REQ, (f) => (f[34] = 0), true)],
  [
    "icmp_not_echo_request",
    "echo reply code 3",
    withChanges(ICMP_CODE3_REQ, (f) => (f[34] = 0), true),
  ],
  ["icmp_not_echo_request", "timestamp", withChanges(ICMP_REQ, (f) => (f[34] = 13), true)],
];

Deno.test("drops: every reason reached, frame left untouched, no out-of-frame access", () => {
  const reached = new Set<string>();
  for (const [reason, what, frame, len] of DROP_CASES) {
    const { r, out } = respond(frame, len);
    assert.equal(dropReasonName(r), reason, what);
    assert.equal(r, -DropReason[reason], what);
    assert.equal(toHex(out), toHex(frame), `${what}: frame modified`);
    reached.add(reason);
  }
  // The IPv4/ARP reasons (codes up to ip_bad_options); tests/unit/packet_ipv6_test.ts reaches
  // the IPv6 ones.
  assert.deepEqual(
    [...reached].sort(),
    DROP_REASON_NAMES.slice(1, DropReason.ip_bad_options + 1).sort(),
  );
});

Deno.test("drops: tot-shortened frame with fixed IP checksum is still answered correctly", () => {
  // Same request with tot 84 -> 83 and both checksums recomputed: 1 byte becomes padding.
  const req = withChanges(ICMP_REQ, (f) => (f[17] = 83), true);
  const { r, out } = respond(req);
  assert.equal(r, 97);
  checkEchoReply(req.subarray(0, 97), out.subarray(0, 97), r);
});

// ---------------------------------------------------------------------------------------------
// UDP builder

const UDP_OPTS = {
  srcMac: OUR_MAC,
  dstMac: new Uint8Array([0x02, 0, 0, 0, 0, 0x02]),
  srcIp: 0xc0000201,
  dstIp: 0xc0000202,
  srcPort: 9000,
  dstPort: 9001,
  frameLen: 60,
};

function udpChecksumValid(f: Uint8Array, off: number): boolean {
  const udpLen = f[off + 38] * 256 + f[off + 39];
  const pseudo = new Uint8Array(12 + udpLen);
  pseudo.set(f.subarray(off + 26, off + 34), 0);
  pseudo[9] = 17;
  pseudo[10] = udpLen >> 8;
  pseudo[11] = udpLen & 0xff;
  pseudo.set(f.subarray(off + 34, off + 34 + udpLen), 12);
  return refValid(pseudo, 0, pseudo.length) && inetChecksum(pseudo, 0, pseudo.length) === 0;
}

Deno.test("udp: 60-byte frame exact bytes", () => {
  const buf = new Uint8Array(64).fill(0xee);
  assert.equal(writeUdpFrame(buf, 2, UDP_OPTS), 60);
  assert.equal(
    toHex(buf.subarray(2, 62)),
    "020000000002020000000001080045000" +
      "02e000040004011b6bbc0000201c000020223282329001aed13000102030405060708090a0b0c0d0e0f1011",
  );
  assert.equal(toHex(buf.subarray(0, 2)) + toHex(buf.subarray(62)), "eeeeeeee");
  assert.equal(udpDstPort(buf, 2, 60), 9001);
});

Deno.test("udp: checksums verify for many sizes", () => {
  const buf = new Uint8Array(70000);
  for (const frameLen of [42, 43, 59, 61, 1514, 3000, 9000, 65549]) {
    const off = frameLen & 3;
    const opts = {
      ...UDP_OPTS,
      frameLen,
      srcPort: frameLen & 0xffff,
      srcIp: 0x0a000001 + frameLen,
    };
    assert.equal(writeUdpFrame(buf, off, opts), frameLen);
    const payLen = frameLen - 42;
    for (const i of [0, payLen >> 1, payLen - 1]) {
      if (i >= 0) assert.equal(buf[off + 42 + i], i & 0xff, `payload[${i}]`);
    }
    assert.equal((buf[off + 16] << 8) | buf[off + 17], frameLen - 14);
    assert.equal(buf[off + 20], 0x40); // DF
    assert.equal(buf[off + 22], 64);
    assert.equal(inetChecksum(buf, off + 14, 20), 0, `IP checksum, ${frameLen}`);
    assert.ok(refValid(buf, off + 14, 20));
    assert.ok(udpChecksumValid(buf, off), `UDP checksum, ${frameLen}`);
    assert.equal(udpDstPort(buf, off, frameLen), 9001);
    assert.equal(udpDstPort(buf, off, 41), -1);
  }
});

Deno.test("udp: a computed checksum of 0 is sent as 0xffff", () => {
  const buf = new Uint8Array(42);
  let ffff = 0;
  for (let p = 0; p <= 0xffff; p++) {
    writeUdpFrame(buf, 0, { ...UDP_OPTS, frameLen: 42, srcPort: p });
    const c = buf[40] * 256 + buf[41];
    assert.notEqual(c, 0);
    if (c === 0xffff) {
      ffff++;
      assert.ok(udpChecksumValid(buf, 0));
    }
  }
  assert.ok(ffff >= 1 && ffff <= 2, `${ffff}`);
});

Deno.test("udp: udpDstPort honours IHL and rejects non-UDP", () => {
  const base = new Uint8Array(64);
  writeUdpFrame(base, 0, UDP_OPTS);
  // Insert 4 bytes of options (IHL 6): the port moves 4 bytes further.
  const opt = new Uint8Array(64);
  opt.set(base.subarray(0, 34));
  opt.set([1, 1, 1, 0], 34);
  opt.set(base.subarray(34, 60), 38);
  opt[14] = 0x46;
  assert.equal(udpDstPort(opt, 0, 64), 9001);
  assert.equal(udpDstPort(opt, 0, 45), -1); // UDP header cut
  assert.equal(udpDstPort(opt, 0, 46), 9001);
  const g = guarded(opt, 0, 46);
  assert.equal(udpDstPort(g, 0, 46), 9001);
  assert.equal(udpDstPort(guarded(opt, 0, 45), 0, 45), -1);
  const mut = (fn: (f: Uint8Array) => void) => {
    const f = base.slice();
    fn(f);
    return udpDstPort(guarded(f, 0, 60), 0, 60);
  };
  assert.equal(mut(() => {}), 9001);
  assert.equal(mut((f) => (f[23] = 6)), -1); // TCP
  assert.equal(mut((f) => (f[14] = 0x44)), -1); // IHL 4
  assert.equal(mut((f) => (f[14] = 0x65)), -1); // version 6
  assert.equal(mut((f) => (f[21] = 1)), -1); // non-first fragment
  assert.equal(mut((f) => (f[20] = 0x20)), 9001); // first fragment (MF) still has the header
  assert.equal(mut((f) => (f[12] = 0x81)), -1); // VLAN
  assert.equal(mut((f) => (f[14] = 0x4f)), -1); // IHL 15 beyond frame
  assert.equal(udpDstPort(base, 0, 13), -1);
});

Deno.test("udp: writeUdpFrame validation errors", () => {
  const buf = new Uint8Array(100);
  const bad = (patch: Record<string, unknown>, re: RegExp, off = 0) =>
    assert.throws(
      () => writeUdpFrame(buf, off, { ...UDP_OPTS, ...patch } as typeof UDP_OPTS),
      (e: unknown) => e instanceof RangeError && re.test(e.message),
    );
  bad({ frameLen: 41 }, /frameLen must be an integer 42\.\.65549, got 41/);
  bad({ frameLen: 65550 }, /frameLen must be an integer 42\.\.65549/);
  bad({ frameLen: 60.5 }, /frameLen/);
  bad({ frameLen: 101 }, /frame of 101 bytes at offset 0 does not fit in a buffer of 100 bytes/);
  bad({ frameLen: 60 }, /does not fit/, 41);
  bad({ frameLen: 60 }, /off must be/, -1);
  bad({ srcMac: new Uint8Array(5) }, /srcMac must be a 6-byte Uint8Array/);
  bad({ dstMac: [2, 0, 0, 0, 0, 1] }, /dstMac must be a 6-byte Uint8Array/);
  bad({ srcPort: 65536 }, /srcPort must be an integer 0\.\.65535, got 65536/);
  bad({ dstPort: -1 }, /dstPort/);
  bad({ srcIp: -1 }, /srcIp must be an integer 0\.\.4294967295/);
  bad({ dstIp: 2 ** 32 }, /dstIp/);
  assert.equal(buf.every((b) => b === 0), true); // nothing written on error
});
