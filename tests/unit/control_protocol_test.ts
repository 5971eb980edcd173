/**
 * The control socket's wire format and commands, without a socket: line framing (partial lines,
 * several per chunk, the cap, bad UTF-8), request parsing, port lists, and every command against
 * a fake target, good and bad. No permission needed.
 */
import assert from "node:assert/strict";
import {
  controlSocketPath,
  type Framed,
  LineFramer,
  parseRequest,
} from "../../engine/control_protocol.ts";
import { CONTROL_COMMANDS, dispatch, parseUdpPorts } from "../../engine/control_commands.ts";
import { FakeTarget } from "./_fake_target.ts";

const enc = new TextEncoder();
const info = { iface: "fake0" };

function feed(f: LineFramer, ...chunks: (string | Uint8Array)[]): Framed[] {
  return chunks.flatMap((c) => f.push(typeof c === "string" ? enc.encode(c) : c));
}

Deno.test("framing: lines split anywhere, several per chunk, \\r\\n, empty lines", () => {
  const f = new LineFramer();
  assert.deepEqual(feed(f, '{"cmd":', '"help"'), []);
  assert.equal(f.pending, true);
  assert.deepEqual(feed(f, "}\n"), [{ line: '{"cmd":"help"}' }]);
  assert.equal(f.pending, false);
  assert.deepEqual(feed(f, "a\nb\r\n\nc"), [{ line: "a" }, { line: "b" }, { line: "" }]);
  assert.deepEqual(feed(f, "\n"), [{ line: "c" }]);
  // Byte by byte, a multi-byte character split across chunks.
  const bytes = enc.encode("é€\n");
  const out = [...bytes].flatMap((b) => f.push(Uint8Array.of(b)));
  assert.deepEqual(out, [{ line: "é€" }]);
});

Deno.test("framing: a line over the cap is reported once and skipped; the next one is framed", () => {
  const f = new LineFramer(8);
  assert.deepEqual(feed(f, "12345678\n"), [{ line: "12345678" }], "exactly the cap is fine");
  assert.deepEqual(feed(f, "12345"), []);
  assert.deepEqual(feed(f, "6789"), [{ oversized: true }], "reported as soon as it passes");
  assert.deepEqual(feed(f, "more and more"), [], "the rest is skipped, not reported again");
  assert.deepEqual(feed(f, "tail\nok\n"), [{ line: "ok" }]);
  assert.deepEqual(feed(f, "x".repeat(100) + "\ny\n"), [{ oversized: true }, { line: "y" }]);
});

Deno.test("framing: bytes that are not UTF-8 are reported, the stream goes on", () => {
  const f = new LineFramer();
  assert.deepEqual(feed(f, Uint8Array.of(0xff, 0xfe, 0x0a), "ok\n"), [
    { notText: true },
    { line: "ok" },
  ]);
});

Deno.test("requests: good ones, defaults, and each kind of malformed one", () => {
  assert.deepEqual(parseRequest('{"id":1,"cmd":"block add","args":["10.0.0.2/32"]}'), {
    id: 1,
    cmd: "block add",
    args: ["10.0.0.2/32"],
  });
  assert.deepEqual(parseRequest('{"cmd":"  steer   list "}'), {
    id: null,
    cmd: "steer list",
    args: [],
  });
  assert.deepEqual(parseRequest('{"id":"a","cmd":"stats"}'), { id: "a", cmd: "stats", args: [] });
  const bad: [string, RegExp, unknown][] = [
    ["nonsense", /^request is not JSON/, null],
    ['{"cmd":"help"', /^request is not JSON/, null],
    ["[1,2]", /not a JSON object/, null],
    ["42", /not a JSON object/, null],
    ["null", /not a JSON object/, null],
    ['{"id":{},"cmd":"help"}', /"id" must be a number or a string/, null],
    ['{"id":3}', /no "cmd"/, 3],
    ['{"id":4,"cmd":7}', /no "cmd"/, 4],
    ['{"id":5,"cmd":"block add","args":"10.0.0.2"}', /"args" must be an array of strings/, 5],
    ['{"id":6,"cmd":"block add","args":[1]}', /"args" must be an array of strings/, 6],
  ];
  for (const [line, re, id] of bad) {
    const r = parseRequest(line);
    assert.ok("ok" in r && !r.ok, line);
    assert.match((r as { error: string }).error, re, line);
    assert.equal(r.id, id, line);
  }
});

Deno.test("socket path: /run/bypassrt/<iface>.sock; names that are not interfaces refused", () => {
  assert.equal(controlSocketPath("eth0", "/run/bypassrt"), "/run/bypassrt/eth0.sock");
  assert.equal(controlSocketPath("veth-bypass", "/tmp/x/"), "/tmp/x/veth-bypass.sock");
  for (const bad of ["", "a/b", "..", ".", "sixteen-chars-xx", "a b"]) {
    assert.throws(() => controlSocketPath(bad, "/run/bypassrt"), TypeError, bad);
  }
});

Deno.test("port lists: udp:P[,P], 1-65535, duplicates dropped; bad ones named", () => {
  assert.deepEqual(parseUdpPorts("udp:4243"), [4243]);
  assert.deepEqual(parseUdpPorts("udp:1,65535,1"), [1, 65535]);
  for (const [spec, part] of [["udp:0", "0"], ["udp:65536", "65536"], ["udp:70000", "70000"]]) {
    assert.throws(() => parseUdpPorts(spec), new RegExp(`port "${part}" .* out of range`), spec);
  }
  for (const spec of ["udp:4243,", "udp:x", "udp:-1", "udp:1e3", "udp:1234567"]) {
    assert.throws(() => parseUdpPorts(spec), /out of range: give UDP ports from 1 to 65535/, spec);
  }
  for (const spec of ["udp:", "4243", "tcp:80", "UDP:53", ""]) {
    assert.throws(() => parseUdpPorts(spec), /is not a port list: give udp:PORT/, spec);
  }
});

Deno.test("commands: each one calls its target method and returns its result", async () => {
  const t = new FakeTarget();
  const ok = async (cmd: string, args: string[] = []) => {
    const r = await dispatch(t, { id: 9, cmd, args }, info);
    assert.ok(r.ok, `${cmd}: ${JSON.stringify(r)}`);
    assert.equal(r.id, 9);
    return r.result;
  };
  assert.deepEqual(await ok("hello"), {
    server: "bypassrt",
    protocol: 1,
    iface: "fake0",
    pid: Deno.pid,
  });
  const help = await ok("help") as { commands: { cmd: string }[] };
  assert.deepEqual(help.commands.map((c) => c.cmd), CONTROL_COMMANDS.map((c) => c.name));
  assert.deepEqual(await ok("block add", ["10.0.0.2"]), { prefix: "10.0.0.2/32" });
  assert.deepEqual(await ok("block add", ["2001:DB8::1"]), { prefix: "2001:db8::1/128" });
  assert.deepEqual(await ok("block del", ["2001:db8:0::1/128"]), { removed: "2001:db8::1/128" });
  assert.deepEqual(await ok("block add", ["10.0.0.2/32", "10.1.0.0/16"]), { added: 1, given: 2 });
  t.blocks.set("10.0.0.2/32", 17);
  assert.deepEqual(await ok("block list"), {
    prefixes: [{ prefix: "10.0.0.2/32", packets: 17 }, { prefix: "10.1.0.0/16", packets: 0 }],
  });
  assert.deepEqual(await ok("block del", ["10.1.0.0/16"]), { removed: "10.1.0.0/16" });
  assert.deepEqual(await ok("steer add", ["udp:4243,4244", "udp:4244"]), {
    all: false,
    udpPorts: [4242, 4243, 4244],
    respondIp: "10.0.0.1",
  });
  assert.deepEqual((await ok("steer del", ["udp:4244"]) as { udpPorts: number[] }).udpPorts, [
    4242,
    4243,
  ]);
  assert.deepEqual((await ok("steer list") as { udpPorts: number[] }).udpPorts, [4242, 4243]);
  assert.deepEqual((await ok("stats") as { total: unknown }).total, { rx_packets: 12 });
  assert.deepEqual(await ok("handler reload"), { message: "handler reloaded (generation 1)" });
  assert.deepEqual(t.calls, [
    "blockAdd 10.0.0.2",
    "blockAdd 2001:DB8::1",
    "blockDel 2001:db8:0::1/128",
    "blockAddMany 10.0.0.2/32 10.1.0.0/16",
    "blockList",
    "blockDel 10.1.0.0/16",
    "steerAdd 4243,4244",
    "steerList",
    "steerDel 4244",
    "steerList",
    "steerList",
    "snapshot",
    "reload",
  ]);
});

Deno.test("commands: every bad request is an error reply naming the problem", async () => {
  const t = new FakeTarget();
  const bad: [string, string[], RegExp][] = [
    ["bogus", [], /^unknown command "bogus": use one of hello, help, block add, /],
    ["block", ["add"], /^unknown command "block"/],
    ["block add", [], /^block add takes at least 1 argument, got 0: block add CIDR/],
    ["block del", ["a", "b"], /^block del takes 1 argument, got 2: block del CIDR$/],
    ["block list", ["x"], /^block list takes 0 arguments, got 1: block list$/],
    ["block add", ["10.0.0.300/32"], /^"10.0.0.300\/32" is not a CIDR/],
    ["block add", ["10.0.0.1/32", "nope"], /^"nope" is not a CIDR/],
    ["block add", ["10.0.0.1/24"], /10\.0\.0\.0\/24/],
    ["block del", ["10.0.0.09/32"], /^"10.0.0.09\/32" is not a CIDR/],
    ["block del", ["10.9.9.9/32"], /^10.9.9.9\/32 is not in the blocklist: see block list$/],
    ["steer add", ["udp:70000"], /^port "70000" in "udp:70000" is out of range/],
    ["steer add", ["4243"], /^"4243" is not a port list: give udp:PORT/],
    ["steer del", ["udp:9"], /^UDP port 9 is not steered/],
    ["stats", ["now"], /^stats takes 0 arguments/],
  ];
  for (const [cmd, args, re] of bad) {
    const r = await dispatch(t, { id: "x", cmd, args }, info);
    assert.ok(!r.ok, `${cmd} ${args}`);
    assert.equal(r.id, "x");
    assert.match(r.error, re, `${cmd} ${args}`);
  }
  assert.equal(t.blocks.size, 0, "a bulk add with one bad CIDR adds nothing");
  assert.deepEqual([...t.ports], [4242], "nothing changed");
  t.reloadResult = { ok: false, message: "handler.ts: does not type-check: ..." };
  const r = await dispatch(t, { id: 1, cmd: "handler reload", args: [] }, info);
  assert.deepEqual(r, { id: 1, ok: false, error: "handler.ts: does not type-check: ..." });
  // A target that throws something unexpected: still one line, still a reply.
  t.steerList = () => {
    throw new Error("map update failed\nwith detail");
  };
  assert.deepEqual(await dispatch(t, { id: 2, cmd: "steer list", args: [] }, info), {
    id: 2,
    ok: false,
    error: "map update failed",
  });
});
