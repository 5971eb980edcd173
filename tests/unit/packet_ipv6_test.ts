/**
 * IPv6 in packet/: address text, the ICMPv6 checksum, the Neighbor Solicitation and echo
 * responder (replies checked field by field and with an independent checksum), every drop
 * reason, and malformed frames (truncations, random bytes) never read or write out of bounds.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  DROP_REASON_NAMES,
  DropReason,
  dropReasonName,
  formatIPv6,
  ip6Checksum,
  IPPROTO_ICMPV6,
  parseIPv6,
  respondInPlace,
  respondInVlan,
} from "../../packet/mod.ts";
import {
  echo6Frame,
  icmp6ChecksumOk,
  ip6Bytes,
  macBytes,
  multicastMac,
  nsFrame,
  solicitedNode,
} from "../../testing/ipv6_frames.ts";
import { guarded } from "./_guarded.ts";

const MY_MAC = macBytes("02:00:00:00:00:01");
const PEER_MAC = macBytes("02:00:00:00:00:02");
const MY_IP = ip6Bytes("2001:db8::1");
const PEER_IP = ip6Bytes("2001:db8::2");
const mac = Uint8Array.from(MY_MAC), ip6 = Uint8Array.from(MY_IP);
const base = { dst: MY_MAC, src: PEER_MAC, srcIp: PEER_IP, dstIp: MY_IP };
const mcast = { ...base, dst: multicastMac(solicitedNode(MY_IP)), dstIp: solicitedNode(MY_IP) };

/** Run the responder on `f` placed at offset 8 of a guarded buffer with `cap` bytes of room. */
function answer(f: Uint8Array, cap = 256): { r: number; out: Uint8Array } {
  const buf = new Uint8Array(8 + Math.max(cap, f.length) + 8).fill(0xa5);
  buf.set(f, 8);
  const r = respondInPlace(buf, 8, f.length, 0, mac, ip6, cap);
  for (let i = 0; i < 8; i++) strictEqual(buf[i], 0xa5, "wrote before the frame");
  for (let i = 8 + Math.max(cap, f.length); i < buf.length; i++) {
    strictEqual(buf[i], 0xa5, "wrote past cap");
  }
  return { r, out: buf.slice(8, 8 + Math.max(r, 0)) };
}

Deno.test("parseIPv6/formatIPv6: RFC 4291 text in, RFC 5952 text out, bad text refused", () => {
  for (
    const [text, want] of [
      ["2001:db8::1", "2001:db8::1"],
      ["2001:0DB8:0:0:0:0:0:0001", "2001:db8::1"],
      ["fe80::1", "fe80::1"],
      ["::", "::"],
      ["::1", "::1"],
      ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
      ["::ffff:192.0.2.1", "::ffff:c000:201"],
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ]
  ) strictEqual(formatIPv6(parseIPv6(text)), want, text);
  for (
    const bad of ["", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "fe80::1%eth0", "::/64", "1.2.3.4"]
  ) {
    let threw = false;
    try {
      parseIPv6(bad);
    } catch {
      threw = true;
    }
    strictEqual(threw, true, bad);
  }
});

Deno.test("ip6Checksum: 0 over a message with a right checksum, not 0 with a wrong one", () => {
  const f = echo6Frame(base, 1, 2, [1, 2, 3]);
  strictEqual(ip6Checksum(f, 14, 54, f.length - 54, IPPROTO_ICMPV6), 0);
  const g = echo6Frame({ ...base, badSum: true }, 1, 2, [1, 2, 3]);
  strictEqual(ip6Checksum(g, 14, 54, g.length - 54, IPPROTO_ICMPV6) !== 0, true);
});

Deno.test("NS to the solicited-node group -> NA: S and O set, TLLA, to the SLLA's MAC", () => {
  const sll = macBytes("02:aa:bb:cc:dd:ee");
  const { r, out } = answer(nsFrame(mcast, MY_IP, sll));
  strictEqual(r, 86);
  deepStrictEqual([...out.subarray(0, 14)], [...sll, ...MY_MAC, 0x86, 0xdd]);
  deepStrictEqual([...out.subarray(14, 22)], [0x60, 0, 0, 0, 0, 32, 58, 255]);
  deepStrictEqual([...out.subarray(22, 38)], MY_IP);
  deepStrictEqual([...out.subarray(38, 54)], PEER_IP);
  deepStrictEqual([out[54], out[55], out[58], out[59], out[60], out[61]], [136, 0, 0x60, 0, 0, 0]);
  deepStrictEqual([...out.subarray(62, 78)], MY_IP);
  deepStrictEqual([...out.subarray(78, 86)], [2, 1, ...MY_MAC]);
  strictEqual(icmp6ChecksumOk(out), true);
});

Deno.test("unicast NS -> NA: S only, no option; DAD probe -> NA to ff02::1: O only, TLLA", () => {
  const uni = answer(nsFrame(base, MY_IP, PEER_MAC));
  strictEqual(uni.r, 78);
  deepStrictEqual([...uni.out.subarray(0, 6)], PEER_MAC);
  strictEqual(uni.out[19], 24);
  strictEqual(uni.out[58], 0x40);
  strictEqual(icmp6ChecksumOk(uni.out), true);
  // A DAD probe is 78 bytes; its answer 86: it grows into the buffer's room.
  const dad = answer(nsFrame({ ...mcast, srcIp: ip6Bytes("::") }, MY_IP), 86);
  strictEqual(dad.r, 86);
  deepStrictEqual([...dad.out.subarray(0, 6)], [0x33, 0x33, 0, 0, 0, 1]);
  deepStrictEqual([...dad.out.subarray(38, 54)], ip6Bytes("ff02::1"));
  strictEqual(dad.out[58], 0x20);
  deepStrictEqual([...dad.out.subarray(78, 86)], [2, 1, ...MY_MAC]);
  strictEqual(icmp6ChecksumOk(dad.out), true);
  strictEqual(
    answer(nsFrame({ ...mcast, srcIp: ip6Bytes("::") }, MY_IP), 85).r,
    -DropReason.no_room,
  );
});

Deno.test("echo request -> reply: type 129, addresses swapped, hop limit 64, rest kept", () => {
  for (const tags of [[], [0x2000]]) {
    const data = Array.from({ length: 100 }, (_, i) => i * 7 & 0xff);
    const req = echo6Frame({ ...base, tags, tclass: 0xb8, flowLabel: 0x12345 }, 0x4242, 7, data, 3);
    const { r, out } = answer(req);
    strictEqual(r, 14 + 40 + 108);
    deepStrictEqual([...out.subarray(0, 14)], [...PEER_MAC, ...MY_MAC, 0x86, 0xdd]);
    const l2 = 14 + tags.length * 4;
    deepStrictEqual([...out.subarray(14, 21)], [...req.subarray(l2, l2 + 7)]);
    strictEqual(out[21], 64);
    deepStrictEqual([...out.subarray(22, 38)], MY_IP);
    deepStrictEqual([...out.subarray(38, 54)], PEER_IP);
    deepStrictEqual([out[54], out[55]], [129, 3]);
    deepStrictEqual([...out.subarray(58)], [...req.subarray(l2 + 44)]);
    strictEqual(icmp6ChecksumOk(out), true);
  }
});

Deno.test("every IPv6 drop reason, and the frame left untouched", () => {
  const other = ip6Bytes("2001:db8::99");
  const cases: [string, Uint8Array, keyof typeof DropReason][] = [
    ["echo, bad checksum", echo6Frame({ ...base, badSum: true }, 1, 1, []), "icmp6_bad_checksum"],
    ["echo to another address", echo6Frame({ ...base, dstIp: other }, 1, 1, []), "ip6_not_for_us"],
    ["echo to another MAC", echo6Frame({ ...base, dst: PEER_MAC }, 1, 1, []), "not_for_our_mac"],
    ["echo from ::", echo6Frame({ ...base, srcIp: ip6Bytes("::") }, 1, 1, []), "ip6_bad_source"],
    [
      "echo from ff02::1",
      echo6Frame({ ...base, srcIp: ip6Bytes("ff02::1") }, 1, 1, []),
      "ip6_bad_source",
    ],
    ["echo from ourselves", echo6Frame({ ...base, srcIp: MY_IP }, 1, 1, []), "ip6_bad_source"],
    [
      "echo behind a hop-by-hop header",
      echo6Frame({ ...base, ext: [{ type: 0, bytes: [0, 1, 4, 0, 0, 0, 0] }] }, 1, 1, []),
      "ip6_ext_header",
    ],
    ["NS, hop limit 64", nsFrame({ ...mcast, hopLimit: 64 }, MY_IP, PEER_MAC), "nd_invalid"],
    ["NS, code 1", nsFrame(mcast, MY_IP, PEER_MAC, [], 1), "nd_invalid"],
    [
      "NS, zero-length option",
      nsFrame(mcast, MY_IP, PEER_MAC, [14, 0, 0, 0, 0, 0, 0, 0]),
      "nd_invalid",
    ],
    ["DAD with SLLA", nsFrame({ ...mcast, srcIp: ip6Bytes("::") }, MY_IP, PEER_MAC), "nd_invalid"],
    ["DAD to our unicast", nsFrame({ ...base, srcIp: ip6Bytes("::") }, MY_IP), "nd_invalid"],
    ["NS for another target", nsFrame(base, other, PEER_MAC), "nd_not_for_us"],
    [
      "NS for another group",
      nsFrame({ ...mcast, dstIp: solicitedNode(other) }, MY_IP, PEER_MAC),
      "ip6_not_for_us",
    ],
    [
      "NS, bad checksum",
      nsFrame({ ...mcast, badSum: true }, MY_IP, PEER_MAC),
      "icmp6_bad_checksum",
    ],
  ];
  const echo = echo6Frame(base, 1, 1, [1, 2, 3, 4]);
  const edit = (f: Uint8Array, at: number, v: number) => {
    const g = f.slice();
    g[at] = v;
    return g;
  };
  cases.push(
    ["IPv6 header cut short", echo.subarray(0, 53), "ip6_truncated"],
    ["version 4 in an IPv6 frame", edit(echo, 14, 0x40), "ip6_bad_version"],
    ["payload length past the frame", edit(echo, 19, 13), "ip6_bad_length"],
    ["payload length 0 (jumbogram)", edit(edit(echo, 18, 0), 19, 0), "ip6_bad_length"],
    ["UDP", edit(echo, 20, 17), "not_icmp6"],
    ["echo of 3 bytes", edit(echo.subarray(0, 57), 19, 3), "icmp6_truncated"],
    ["router solicitation", edit(echo, 54, 133), "icmp6_not_handled"],
  );
  const reached = new Set<string>();
  for (const [name, f, reason] of cases) {
    const before = f.slice();
    const { r } = answer(f);
    strictEqual(dropReasonName(r), reason, name);
    deepStrictEqual(f, before, name);
    reached.add(reason);
  }
  reached.add("no_room"); // the DAD test above
  for (const name of DROP_REASON_NAMES.slice(DropReason.ip6_truncated)) {
    strictEqual(reached.has(name), true, `${name} not reached`);
  }
  // No --ip6: IPv6 is the `ipv6` drop, as before.
  const f = echo6Frame(base, 1, 1, []);
  strictEqual(respondInPlace(f, 0, f.length, 0, mac), -DropReason.ipv6);
});

Deno.test("malformed IPv6 frames: every truncation and 20 000 random mutations stay in bounds", () => {
  const valid = [
    nsFrame(mcast, MY_IP, PEER_MAC),
    nsFrame({ ...mcast, srcIp: ip6Bytes("::") }, MY_IP),
    echo6Frame(base, 9, 9, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    echo6Frame({ ...base, tags: [0] }, 9, 9, [1, 2, 3]),
  ];
  for (const f of valid) {
    for (let n = 0; n <= f.length; n++) {
      const r = answer(f.subarray(0, n), n).r;
      strictEqual(Number.isInteger(r) && r !== 0, true);
      // The same through a view that throws on any access outside the frame.
      const copy = new Uint8Array(n + 16);
      copy.set(f.subarray(0, n), 8);
      strictEqual(respondInPlace(guarded(copy, 8, n), 8, n, 0, mac, ip6, n), r);
      strictEqual(respondInVlan(guarded(copy, 8, n), 8, n, 0, mac, ip6, n) !== 0, true);
    }
  }
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let k = 0; k < 20_000; k++) {
    const f = valid[k % valid.length].slice();
    for (let m = 1 + Math.floor(rnd() * 3); m > 0; m--) {
      f[Math.floor(rnd() * f.length)] = rnd() * 256;
    }
    const { r, out } = answer(f.subarray(0, Math.floor(rnd() * (f.length + 1))), 96);
    if (r > 0 && out[12] === 0x86) strictEqual(icmp6ChecksumOk(out), true, "reply checksum");
  }
});

Deno.test("respondInVlan: answers in the VLAN (tag kept, priority 0), restores a dropped frame", () => {
  const req = echo6Frame({ ...base, tags: [0xe000 | 100] }, 5, 6, [9, 8, 7]);
  const plain = echo6Frame(base, 5, 6, [9, 8, 7]);
  const want = answer(plain).out;
  const buf = new Uint8Array(256);
  buf.set(req, 4);
  const r = respondInVlan(buf, 4, req.length, 0, mac, ip6, 200);
  strictEqual(r, want.length + 4);
  deepStrictEqual(
    [...buf.subarray(4, 4 + r)],
    [...want.subarray(0, 12), 0x81, 0x00, 0x00, 100, ...want.subarray(12)],
  );
  const bad = echo6Frame({ ...base, tags: [0xe000 | 100], badSum: true }, 5, 6, [9, 8, 7]);
  const copy = bad.slice();
  strictEqual(
    respondInVlan(copy, 0, copy.length, 0, mac, ip6, copy.length),
    -DropReason.icmp6_bad_checksum,
  );
  deepStrictEqual(copy, bad);
  const two = echo6Frame({ ...base, tags: [100, 200] }, 5, 6, []);
  strictEqual(respondInVlan(two, 0, two.length, 0, mac, ip6, two.length), -DropReason.vlan);
});
