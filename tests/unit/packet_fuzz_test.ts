/**
 * Deterministic fuzz of the ARP/ICMP responder: random frames and mutated valid requests, with
 * an independent validator for the input and an independent checker for the reply.
 */
import assert from "node:assert/strict";
import { DROP_REASON_NAMES, respondInPlace } from "../../packet/mod.ts";
import { guarded } from "./_guarded.ts";

const OUR_IP = 0xc0000201; // 192.0.2.1
const OUR_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0x01]);
const MAX_LEN = 3100;
const BAND = 64; // canary bytes checked on each side of the frame
const SEED = 0x2545f491;

/** xorshift32 (Marsaglia), fixed seed. */
class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 1;
  }
  u32(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s;
  }
  /** Uniform-ish integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }
  fill(b: Uint8Array, start: number, end: number): void {
    for (let i = start; i < end; i++) b[i] = this.u32() >>> 24;
  }
}

// ---------------------------------------------------------------------------------------------
// Independent model (big-endian reads via DataView, mod-0xffff checksum)

function sumValid(b: Uint8Array, start: number, n: number): boolean {
  let s = 0;
  for (let i = 0; i < n; i += 2) s += b[start + i] * 256 + (i + 1 < n ? b[start + i + 1] : 0);
  return s !== 0 && s % 0xffff === 0;
}

function fixSum(b: Uint8Array, start: number, n: number, at: number): void {
  b[at] = 0;
  b[at + 1] = 0;
  let s = 0;
  for (let i = 0; i < n; i += 2) s += b[start + i] * 256 + (i + 1 < n ? b[start + i + 1] : 0);
  const folded = s === 0 ? 0 : s % 0xffff === 0 ? 0xffff : s % 0xffff;
  const c = 0xffff - folded;
  b[at] = c >> 8;
  b[at + 1] = c & 0xff;
}

const eq6 = (a: Uint8Array, i: number, b: Uint8Array, j: number): boolean =>
  a[i] === b[j] && a[i + 1] === b[j + 1] && a[i + 2] === b[j + 2] && a[i + 3] === b[j + 3] &&
  a[i + 4] === b[j + 4] && a[i + 5] === b[j + 5];
const allIs = (a: Uint8Array, i: number, v: number): boolean => {
  for (let k = 0; k < 6; k++) if (a[i + k] !== v) return false;
  return true;
};
const goodSrcMac = (a: Uint8Array, i: number): boolean =>
  (a[i] & 1) === 0 && !allIs(a, i, 0) && !eq6(a, i, OUR_MAC, 0);
const goodSrcIp = (ip: number): boolean => {
  const first = ip >>> 24;
  return first !== 0 && first !== 127 && first < 224 && ip !== OUR_IP;
};

/** Is `f[0, len)` an ARP request or ICMP echo request we must answer? */
function isValidRequest(f: Uint8Array, len: number): "arp" | "icmp" | null {
  if (len < 14) return null;
  const dv = new DataView(f.buffer, f.byteOffset, len);
  const et = dv.getUint16(12);
  if (et === 0x0806) {
    if (len < 42) return null;
    if (!allIs(f, 0, 0xff) && !eq6(f, 0, OUR_MAC, 0)) return null;
    if (!goodSrcMac(f, 6)) return null;
    if (dv.getUint16(14) !== 1 || dv.getUint16(16) !== 0x0800) return null;
    if (dv.getUint8(18) !== 6 || dv.getUint8(19) !== 4 || dv.getUint16(20) !== 1) return null;
    if (dv.getUint32(38) !== OUR_IP) return null;
    if ((f[22] & 1) !== 0 || allIs(f, 22, 0) || !goodSrcIp(dv.getUint32(28))) return null;
    return "arp";
  }
  if (et === 0x0800) {
    if (len < 34 || !eq6(f, 0, OUR_MAC, 0) || !goodSrcMac(f, 6)) return null;
    if (dv.getUint8(14) !== 0x45) return null;
    const tot = dv.getUint16(16);
    if (tot < 28 || tot > len - 14) return null;
    if (!sumValid(f, 14, 20)) return null;
    if ((dv.getUint16(20) & 0x3fff) !== 0 || dv.getUint8(23) !== 1) return null;
    if (dv.getUint32(30) !== OUR_IP || !goodSrcIp(dv.getUint32(26))) return null;
    if (dv.getUint8(34) !== 8 || dv.getUint8(35) !== 0 || !sumValid(f, 34, tot - 20)) return null;
    return "icmp";
  }
  return null;
}

/** Checks `out[0, n)` is the correct reply to the valid request `req[0, len)`. */
function checkReply(
  kind: "arp" | "icmp",
  req: Uint8Array,
  len: number,
  out: Uint8Array,
  n: number,
): void {
  const q = new DataView(req.buffer, req.byteOffset, len);
  const o = new DataView(out.buffer, out.byteOffset, len);
  assert.ok(n <= len, "reply longer than request");
  assert.equal(out[0] & 1, 0, "reply to a multicast MAC");
  assert.ok(eq6(out, 6, OUR_MAC, 0), "eth src");
  if (kind === "arp") {
    assert.equal(n, 42);
    assert.ok(eq6(out, 0, req, 22), "eth dst = requester sha");
    assert.equal(o.getUint16(12), 0x0806);
    assert.equal(o.getUint32(14), 0x00010800);
    assert.equal(o.getUint32(18), 0x06040002);
    assert.ok(eq6(out, 22, OUR_MAC, 0), "sha");
    assert.equal(o.getUint32(28), OUR_IP);
    assert.ok(eq6(out, 32, req, 22), "tha");
    assert.equal(o.getUint32(38), q.getUint32(28), "tpa");
  } else {
    const tot = q.getUint16(16);
    assert.equal(n, 14 + tot);
    assert.ok(eq6(out, 0, req, 6), "eth dst = requester");
    assert.equal(o.getUint16(12), 0x0800);
    for (const i of [14, 15, 16, 17, 18, 19, 20, 21, 23]) assert.equal(out[i], req[i], `ip[${i}]`);
    assert.equal(out[22], 64, "ttl");
    assert.ok(sumValid(out, 14, 20), "reply IP checksum");
    assert.equal(o.getUint32(26), OUR_IP);
    assert.equal(o.getUint32(30), q.getUint32(26));
    assert.equal(o.getUint16(34), 0, "type 0 code 0");
    assert.ok(sumValid(out, 34, tot - 20), "reply ICMP checksum");
    for (let i = 38; i < n; i++) if (out[i] !== req[i]) assert.fail(`payload byte ${i}`);
  }
  for (let i = n; i < len; i++) if (out[i] !== req[i]) assert.fail(`byte ${i} after reply`);
}

// ---------------------------------------------------------------------------------------------
// Generators

function writeArpRequest(rng: Rng, f: Uint8Array): number {
  const len = rng.below(4) === 0 ? 42 : 60 + rng.below(4) * rng.below(40);
  rng.fill(f, 0, len);
  if (rng.below(2)) f.fill(0xff, 0, 6);
  else f.set(OUR_MAC, 0);
  f[6] = f[6] & 0xfe | 0x02; // unicast, locally administered (never zero, maybe == ours: no)
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1], 12);
  f.set(f.subarray(6, 12), 22);
  f.set([10, rng.below(256), rng.below(256), 1 + rng.below(254)], 28);
  f.set([192, 0, 2, 1], 38);
  return len;
}

function writeEchoRequest(rng: Rng, f: Uint8Array): number {
  const r = rng.below(10);
  const icmpLen = 8 + (r < 3 ? rng.below(64) : r < 9 ? rng.below(1500) : rng.below(MAX_LEN - 42));
  const tot = 20 + icmpLen;
  const pad = rng.below(3) === 0 ? rng.below(Math.min(40, MAX_LEN - 14 - tot) + 1) : 0;
  const len = 14 + tot + pad;
  rng.fill(f, 0, len);
  f.set(OUR_MAC, 0);
  f[6] = f[6] & 0xfe | 0x02;
  f.set([0x08, 0x00, 0x45, f[15], tot >> 8, tot & 0xff], 12);
  f[20] = rng.below(2) ? 0x40 : 0;
  f[21] = 0;
  f[22] = 1 + rng.below(255);
  f[23] = 1;
  f.set([172, 16 + rng.below(16), rng.below(256), 1 + rng.below(254)], 26);
  f.set([192, 0, 2, 1], 30);
  f[34] = 8;
  f[35] = 0;
  fixSum(f, 14, 20, 24);
  fixSum(f, 34, icmpLen, 36);
  return len;
}

const INTERESTING = [0, 1, 2, 4, 5, 6, 8, 0x20, 0x40, 0x45, 0x46, 0x7f, 0x80, 0xe0, 0xfe, 0xff];

const ADDR_OFFSETS = [0, 6, 22, 26, 28, 30, 32, 38];
const SPECIAL = [
  OUR_MAC,
  new Uint8Array([192, 0, 2, 1]),
  new Uint8Array([255, 255, 255, 255]),
  new Uint8Array([0, 0, 0, 0]),
  new Uint8Array([224, 0, 0, 251]),
  new Uint8Array([127, 0, 0, 1]),
  new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
];

/** Applies 0..4 random mutations; returns the (possibly changed) length. */
function mutate(rng: Rng, f: Uint8Array, len: number): number {
  let n = len;
  const count = rng.below(5);
  for (let m = 0; m < count; m++) {
    const what = rng.below(10);
    if (what === 0 && n > 0) n = rng.below(n + 1); // truncate
    else if (what === 8 && n >= 18) { // IPv4 total length near the frame length
      const tot = Math.max(0, Math.min(0xffff, n - 14 + rng.below(5) - 2));
      f[16] = tot >> 8;
      f[17] = tot & 0xff;
    } else if (what === 9) { // our/special addresses at address offsets
      const at = ADDR_OFFSETS[rng.below(ADDR_OFFSETS.length)];
      const v = SPECIAL[rng.below(SPECIAL.length)];
      if (at + v.length <= n) f.set(v, at);
    } else if (what === 1 && n < MAX_LEN) { // extend with random bytes
      const extra = rng.below(Math.min(64, MAX_LEN - n) + 1);
      rng.fill(f, n, n + extra);
      n += extra;
    } else if (n > 0) {
      // Mostly hit the headers (first 48 bytes), sometimes anywhere.
      const at = rng.below(4) === 0 ? rng.below(n) : rng.below(Math.min(n, 48));
      if (what === 2) f[at] ^= 1 << rng.below(8);
      else if (what === 3) f[at] = INTERESTING[rng.below(INTERESTING.length)];
      else f[at] = rng.u32() >>> 24;
    }
  }
  // Half of the time re-fix the checksums so the checks behind them are reached.
  if (rng.below(2) && n >= 34 && f[12] === 0x08 && f[13] === 0x00) {
    fixSum(f, 14, 20, 24);
    const tot = f[16] * 256 + f[17];
    if (tot >= 28 && 14 + tot <= n) fixSum(f, 34, tot - 20, 36);
  }
  return n;
}

function writeRandom(rng: Rng, f: Uint8Array): number {
  const len = rng.below(MAX_LEN + 1);
  rng.fill(f, 0, len);
  if (len >= 14 && rng.below(2)) {
    if (rng.below(2)) f.set(OUR_MAC, 0);
    else f.fill(0xff, 0, 6);
    const ets = [0x0800, 0x0806, 0x8100, 0x88a8, 0x86dd];
    const et = ets[rng.below(ets.length)];
    f[12] = et >> 8;
    f[13] = et & 0xff;
    if (len >= 34 && et === 0x0800 && rng.below(2)) {
      f[14] = 0x45;
      fixSum(f, 14, 20, 24);
    }
  }
  return len;
}

// ---------------------------------------------------------------------------------------------

Deno.test("fuzz: respondInPlace on 200k random and mutated frames", () => {
  const rng = new Rng(SEED);
  const orig = new Uint8Array(MAX_LEN);
  const buf = new Uint8Array(BAND + 8 + MAX_LEN + BAND);
  const reasons = new Float64Array(DROP_REASON_NAMES.length);
  const answered = { random: 0, arp: 0, icmp: 0, arpMutated: 0, icmpMutated: 0 };
  const total = { random: 0, arp: 0, icmp: 0 };
  /** Requests passed through unmutated (valid by construction of the generators). */
  const unmutated = { arp: 0, icmp: 0 };
  const FRAMES = 200_000;
  let guardedRuns = 0;

  for (let iter = 0; iter < FRAMES; iter++) {
    const kind = iter % 10 < 3 ? "random" : iter % 2 === 0 ? "arp" : "icmp";
    total[kind]++;
    let len: number;
    let mutated = false;
    if (kind === "random") len = writeRandom(rng, orig);
    else {
      const base = kind === "arp" ? writeArpRequest(rng, orig) : writeEchoRequest(rng, orig);
      if (rng.below(5) === 0) {
        len = base;
        unmutated[kind]++;
      } else {
        len = mutate(rng, orig, base);
        mutated = true;
      }
    }

    const off = BAND + rng.below(8);
    const canary = (iter * 31 + 7) & 0xff;
    buf.fill(canary, off - BAND, off);
    buf.set(orig.subarray(0, len), off);
    buf.fill(canary ^ 0x5a, off + len, off + len + BAND);

    const r = respondInPlace(buf, off, len, OUR_IP, OUR_MAC);

    for (let i = off - BAND; i < off; i++) {
      if (buf[i] !== canary) assert.fail(`iter ${iter}: wrote before the frame at ${i - off}`);
    }
    for (let i = off + len; i < off + len + BAND; i++) {
      if (buf[i] !== (canary ^ 0x5a)) {
        assert.fail(`iter ${iter}: wrote after the frame (+${i - off})`);
      }
    }
    assert.ok(Number.isInteger(r) && r !== 0, `iter ${iter}: result ${r}`);

    // Every 8th short frame again through a proxy that throws on any access outside the frame.
    if (iter % 8 === 0 && len <= 256) {
      const copy = new Uint8Array(len + 2 * BAND);
      copy.set(orig.subarray(0, len), BAND);
      assert.equal(respondInPlace(guarded(copy, BAND, len), BAND, len, OUR_IP, OUR_MAC), r);
      guardedRuns++;
    }

    const expected = isValidRequest(orig, len);
    const out = buf.subarray(off, off + len);
    if (r > 0) {
      if (expected === null) assert.fail(`iter ${iter}: answered an invalid ${kind} frame`);
      checkReply(expected, orig, len, out, r);
      if (kind === "random") answered.random++;
      else if (expected === "arp") mutated ? answered.arpMutated++ : answered.arp++;
      else mutated ? answered.icmpMutated++ : answered.icmp++;
    } else {
      if (expected !== null) {
        assert.fail(`iter ${iter}: valid ${expected} request dropped as ${DROP_REASON_NAMES[-r]}`);
      }
      assert.ok(-r < DROP_REASON_NAMES.length, `iter ${iter}: unknown reason ${r}`);
      reasons[-r]++;
      for (let i = 0; i < len; i++) {
        if (out[i] !== orig[i]) assert.fail(`iter ${iter}: dropped frame modified at ${i}`);
      }
    }
  }

  const hist = Object.fromEntries(
    DROP_REASON_NAMES.map((n, i) => [n, reasons[i]]).filter(([, c]) => c !== 0),
  );
  console.log("answered", answered, "total", total, "drops", hist);
  assert.ok(guardedRuns > 5000, `guarded runs ${guardedRuns}`);
  // Every unmutated request (1 in 5) was answered: the generators really build valid requests
  // (were they to drift, the model and the responder could agree on dropping them all), and the
  // responder answered each one.
  assert.deepEqual({ arp: answered.arp, icmp: answered.icmp }, unmutated);
  assert.ok(unmutated.arp > 10_000 && unmutated.icmp > 10_000, JSON.stringify(unmutated));
  // Mutated requests still reach the answer path (mutations outside the checked fields).
  assert.ok(answered.arpMutated > 1000, `arp mutated ${answered.arpMutated}`);
  assert.ok(answered.icmpMutated > 1000, `icmp mutated ${answered.icmpMutated}`);
  // Every drop reason is reached by the fuzz.
  for (let i = 1; i < DROP_REASON_NAMES.length; i++) {
    assert.ok(reasons[i] > 0, `drop reason ${DROP_REASON_NAMES[i]} never reached`);
  }
});
