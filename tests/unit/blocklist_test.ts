/**
 * Blocklist prefixes: parsing (IPv4, IPv6, bare addresses, host bits, /0), canonical form,
 * block files with comments and a bad line (reading a real file: tests/net/blocklist_test.ts).
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { compareCidr, formatAddr, parseBlockText, parseCidr } from "../../engine/blocklist.ts";
import { BypassError } from "../../engine/errors.ts";

Deno.test("parseCidr: IPv4 prefixes, bare address = /32, /0", () => {
  deepStrictEqual(parseCidr("10.0.0.0/8"), {
    family: 4,
    addr: Uint8Array.of(10, 0, 0, 0),
    len: 8,
    prefix: "10.0.0.0/8",
  });
  strictEqual(parseCidr("192.0.2.7").prefix, "192.0.2.7/32");
  strictEqual(parseCidr(" 192.0.2.7/32 ").len, 32);
  strictEqual(parseCidr("0.0.0.0/0").prefix, "0.0.0.0/0");
  strictEqual(parseCidr("255.255.255.255").prefix, "255.255.255.255/32");
});

Deno.test("parseCidr: IPv6 prefixes in canonical (RFC 5952) form, bare address = /128", () => {
  const c = parseCidr("2001:DB8:0:0::/32");
  strictEqual(c.family, 6);
  strictEqual(c.len, 32);
  strictEqual(c.prefix, "2001:db8::/32");
  deepStrictEqual([...c.addr.subarray(0, 4)], [0x20, 0x01, 0x0d, 0xb8]);
  strictEqual(parseCidr("fe80::1").prefix, "fe80::1/128");
  strictEqual(parseCidr("::/0").prefix, "::/0");
  strictEqual(parseCidr("::1").prefix, "::1/128");
  strictEqual(parseCidr("1:0:0:1:0:0:0:1").prefix, "1:0:0:1::1/128"); // first of equal runs
  strictEqual(parseCidr("2001:db8:0:0:1:0:0:1").prefix, "2001:db8::1:0:0:1/128");
  strictEqual(parseCidr("2001:db8:0:1:1:1:1:1").prefix, "2001:db8:0:1:1:1:1:1/128"); // no "::" for one group
  strictEqual(parseCidr("::ffff:192.0.2.1").prefix, "::ffff:c000:201/128");
  strictEqual(parseCidr("1:2:3:4:5:6:7:8/128").prefix, "1:2:3:4:5:6:7:8/128");
});

Deno.test("parseCidr: bad input is one BypassError naming the text and the expected form", () => {
  for (
    const bad of [
      "10.0.0.300/32",
      "10.0.0/8",
      "10.0.0.0/33",
      "10.0.0.0/",
      "10.0.0.0/-1",
      "010.0.0.1",
      "abc",
      "",
      "1.2.3.4::",
      "::1::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "12345::",
      "2001:db8::/129",
      "::1.2.3.4:5",
    ]
  ) {
    throws(() => parseCidr(bad), (e: Error) => {
      strictEqual(e instanceof BypassError, true);
      strictEqual(
        e.message,
        `"${bad}" is not a CIDR: give A.B.C.D/N (N 0-32) or an IPv6 prefix like 2001:db8::/32`,
      );
      return true;
    }, bad);
  }
});

Deno.test("parseCidr: host bits set are refused with the network form", () => {
  throws(() => parseCidr("10.0.0.1/24"), {
    message:
      '"10.0.0.1/24" has host bits set: give the network 10.0.0.0/24 (or /32 for one address)',
  });
  throws(() => parseCidr("2001:db8::1/64"), {
    message:
      '"2001:db8::1/64" has host bits set: give the network 2001:db8::/64 (or /128 for one address)',
  });
  throws(() => parseCidr("1.0.0.0/0"), /give the network 0\.0\.0\.0\/0/);
});

Deno.test("formatAddr and compareCidr: IPv4 before IPv6, then by address, then by length", () => {
  strictEqual(formatAddr(new Uint8Array(16)), "::");
  const sorted = ["2001:db8::/32", "10.0.0.0/8", "9.0.0.0/8", "10.0.0.0/16", "::1"]
    .map(parseCidr).sort(compareCidr).map((c) => c.prefix);
  deepStrictEqual(sorted, ["9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "::1/128", "2001:db8::/32"]);
});

Deno.test("parseBlockText: comments, blank lines, trailing comments", () => {
  const text = "# bad hosts\n\n192.0.2.7\n  10.1.0.0/16   # lab\n2001:db8::/32\n#10.9.9.9\n";
  deepStrictEqual(parseBlockText(text, "f").map((c) => c.prefix), [
    "192.0.2.7/32",
    "10.1.0.0/16",
    "2001:db8::/32",
  ]);
  deepStrictEqual(parseBlockText("", "f"), []);
  deepStrictEqual(parseBlockText("# only comments\r\n", "f"), []);
});

Deno.test("parseBlockText: a bad line is one error naming file:line and the problem", () => {
  throws(() => parseBlockText("10.0.0.0/8\n# ok\n10.0.0.300\n", "list.txt"), {
    message:
      'list.txt:3: "10.0.0.300" is not a CIDR: give A.B.C.D/N (N 0-32) or an IPv6 prefix like 2001:db8::/32',
  });
  throws(() => parseBlockText("10.0.0.1/8", "x"), {
    message:
      'x:1: "10.0.0.1/8" has host bits set: give the network 10.0.0.0/8 (or /32 for one address)',
  });
});
