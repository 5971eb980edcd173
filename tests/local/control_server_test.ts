/**
 * The control server on a real UNIX socket in a temporary directory, driven by a fake target:
 * modes 0700/0600, pipelined and partial requests, several clients, every kind of bad request
 * answered while the server keeps serving, a client gone mid-request, a stale socket replaced, a
 * live one refused, the file gone after close; and the client's errors. Needs --allow-read and
 * --allow-write (the temporary directory), no root.
 */
import assert from "node:assert/strict";
import { ControlServer } from "../../engine/control_server.ts";
import { ControlClient } from "../../engine/control_client.ts";
import { type ControlReply, MAX_LINE_BYTES } from "../../engine/control_protocol.ts";
import { BypassError } from "../../engine/errors.ts";
import { FakeTarget } from "../unit/_fake_target.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A served fake target in a fresh directory `<tmp>/run` (not yet there: the server makes it). */
async function withServer(
  fn: (s: ControlServer, t: FakeTarget, dir: string) => Promise<void>,
): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "bypassrt-ctl-test-" });
  const dir = `${tmp}/run`;
  const server = await ControlServer.open({ iface: "fake0", dir });
  const target = new FakeTarget();
  server.serve(target);
  try {
    await fn(server, target, dir);
  } finally {
    await server.close();
    await Deno.remove(tmp, { recursive: true });
  }
}

/** A raw connection that reads reply lines. */
class Raw {
  readonly conn: Deno.UnixConn;
  #buf = "";
  constructor(conn: Deno.UnixConn) {
    this.conn = conn;
  }
  static async open(path: string): Promise<Raw> {
    return new Raw(await Deno.connect({ transport: "unix", path }));
  }
  async send(text: string | Uint8Array): Promise<void> {
    const b = typeof text === "string" ? enc.encode(text) : text;
    for (let at = 0; at < b.length;) at += await this.conn.write(b.subarray(at));
  }
  async replies(n: number): Promise<ControlReply[]> {
    const out: ControlReply[] = [];
    const chunk = new Uint8Array(65536);
    while (out.length < n) {
      const i = this.#buf.indexOf("\n");
      if (i >= 0) {
        out.push(JSON.parse(this.#buf.slice(0, i)));
        this.#buf = this.#buf.slice(i + 1);
        continue;
      }
      const got = await this.conn.read(chunk);
      if (got === null) throw new Error(`closed after ${out.length} of ${n} replies`);
      this.#buf += dec.decode(chunk.subarray(0, got));
    }
    return out;
  }
  close(): void {
    this.conn.close();
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("server: directory 0700, socket 0600, <dir>/<iface>.sock; gone after close", async () => {
  let path = "";
  await withServer((s, _t, dir) => {
    path = s.path;
    assert.equal(s.path, `${dir}/fake0.sock`);
    assert.equal(Deno.lstatSync(dir).mode! & 0o777, 0o700);
    const st = Deno.lstatSync(s.path);
    assert.ok(st.isSocket);
    assert.equal(st.mode! & 0o777, 0o600);
    return Promise.resolve();
  });
  assert.equal(exists(path), false, "the socket file is removed at close");
});

Deno.test("server: an existing directory other users may enter is refused, not changed", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.chmod(tmp, 0o755);
    await assert.rejects(
      ControlServer.open({ iface: "fake0", dir: tmp }),
      new BypassError(
        `${tmp} is mode 0755, open to other users: make it 0700 ('chmod 700 ${tmp}') or ` +
          `remove it, or set BYPASSRT_RUN_DIR to a directory of yours`,
      ),
    );
    assert.equal(Deno.lstatSync(tmp).mode! & 0o777, 0o755, "left as it was");
    assert.deepEqual([...Deno.readDirSync(tmp)], []);
    await Deno.chmod(tmp, 0o700);
    const s = await ControlServer.open({ iface: "fake0", dir: tmp });
    await s.close();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("server: a directory it makes (parents too) is 0700", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const s = await ControlServer.open({ iface: "fake0", dir: `${tmp}/a/b` });
    assert.equal(Deno.lstatSync(`${tmp}/a/b`).mode! & 0o777, 0o700);
    assert.equal(Deno.lstatSync(s.path).mode! & 0o777, 0o600);
    await s.close();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("server: pipelined requests on one connection are answered in order", async () => {
  await withServer(async (s, t) => {
    const c = await Raw.open(s.path);
    await c.send(
      '{"id":1,"cmd":"block add","args":["10.0.0.2/32"]}\n' +
        '{"id":2,"cmd":"block list"}\n{"id":"three","cmd":"steer add","args":["udp:4243"]}\n' +
        '{"id":4,"cmd":"stats"}\n{"cmd":"hello"}\n',
    );
    const r = await c.replies(5);
    assert.deepEqual(r.map((x) => x.id), [1, 2, "three", 4, null]);
    assert.ok(r.every((x) => x.ok), JSON.stringify(r));
    assert.deepEqual(r[1], {
      id: 2,
      ok: true,
      result: { prefixes: [{ prefix: "10.0.0.2/32", packets: 0 }] },
    });
    assert.deepEqual((r[2] as { result: { udpPorts: number[] } }).result.udpPorts, [4242, 4243]);
    assert.deepEqual(Object.keys((r[3] as { result: object }).result).sort(), [
      "iface",
      "queues",
      "total",
    ]);
    assert.deepEqual(t.ports, new Set([4242, 4243]));
    c.close();
  });
});

Deno.test("server: a request sent one byte at a time is answered once it is complete", async () => {
  await withServer(async (s) => {
    const c = await Raw.open(s.path);
    const line = enc.encode('{"id":7,"cmd":"block add","args":["10.0.0.9"]}\n');
    for (const b of line) await c.send(Uint8Array.of(b));
    assert.deepEqual(await c.replies(1), [{ id: 7, ok: true, result: { prefix: "10.0.0.9/32" } }]);
    c.close();
  });
});

Deno.test("server: every kind of bad request gets an error reply; the connection and server go on", async () => {
  await withServer(async (s, t) => {
    const c = await Raw.open(s.path);
    await c.send("this is not json\n");
    await c.send('{"id":1,"cmd":"frobnicate"}\n');
    await c.send('{"id":2,"cmd":"block add","args":["10.0.0.300/32"]}\n');
    await c.send('{"id":3,"cmd":"steer add","args":["udp:70000"]}\n');
    await c.send('{"id":4,"cmd":"block add"}\n');
    await c.send('{"id":5,"cmd":"block add","args":[1]}\n');
    await c.send("[]\n");
    await c.send(Uint8Array.of(0xc3, 0x28, 0x0a)); // not UTF-8
    await c.send('{"id":6,"cmd":"block add","args":["' + "1".repeat(MAX_LINE_BYTES) + '"]}\n');
    await c.send('{"id":7,"cmd":"block list"}\n');
    const r = await c.replies(10);
    const errors = r.slice(0, 9).map((x) => (assert.ok(!x.ok, JSON.stringify(x)), [x.id, x.error]));
    const expect: [unknown, RegExp][] = [
      [null, /^request is not JSON/],
      [1, /^unknown command "frobnicate"/],
      [2, /^"10.0.0.300\/32" is not a CIDR/],
      [3, /^port "70000" in "udp:70000" is out of range/],
      [4, /^block add takes at least 1 argument, got 0/],
      [5, /^"args" must be an array of strings/],
      [null, /^request is not a JSON object/],
      [null, /^request line is not UTF-8/],
      [null, new RegExp(`^request line longer than ${MAX_LINE_BYTES} bytes`)],
    ];
    errors.forEach(([id, error], i) => {
      assert.equal(id, expect[i][0], `reply ${i}: ${error}`);
      assert.match(error as string, expect[i][1]);
    });
    assert.deepEqual(r[9], { id: 7, ok: true, result: { prefixes: [] } });
    assert.deepEqual(t.calls.filter((x) => x.startsWith("block")), [
      "blockAdd 10.0.0.300/32",
      "blockList",
    ], "the oversized request never reached the target");
    c.close();
    // A new connection is served too.
    const c2 = await ControlClient.connect("fake0", s.path.replace(/\/fake0\.sock$/, ""));
    assert.deepEqual(await c2.request("steer list"), {
      id: 1,
      ok: true,
      result: { all: false, udpPorts: [4242], respondIp: "10.0.0.1" },
    });
    c2.close();
  });
});

Deno.test("server: several clients at once, each answered on its own connection", async () => {
  await withServer(async (s, _t, dir) => {
    const clients = await Promise.all(
      Array.from({ length: 8 }, () => ControlClient.connect("fake0", dir)),
    );
    const replies = await Promise.all(
      clients.map(async (c, i) => {
        const a = await c.request("block add", [`10.0.${i}.0/24`]);
        const b = await c.request("hello");
        return [a, b];
      }),
    );
    replies.forEach(([a, b], i) => {
      assert.deepEqual(a, { id: 1, ok: true, result: { prefix: `10.0.${i}.0/24` } });
      assert.equal(b.ok && (b.result as { iface: string }).iface, "fake0");
    });
    assert.equal(s.connections, 8);
    for (const c of clients) c.close();
    const list = await ControlClient.connect("fake0", dir);
    const r = await list.request("block list");
    assert.equal(r.ok && (r.result as { prefixes: unknown[] }).prefixes.length, 8);
    list.close();
  });
});

Deno.test("server: a client gone mid-request (or before its reply) does not stop the server", async () => {
  await withServer(async (s, t, dir) => {
    const a = await Raw.open(s.path);
    await a.send('{"id":1,"cmd":"block add","args":["10.0.0.5/32"]}\n{"id":2,"cmd":"blo');
    a.close(); // a whole request (maybe not yet answered) and half of one
    const b = await Raw.open(s.path);
    await b.send('{"id":1,"cmd":"stats"}\n');
    b.close(); // gone before the reply
    // Wait until the server has noticed both.
    while (s.connections > 0) await new Promise((r) => setTimeout(r, 5));
    const c = await ControlClient.connect("fake0", dir);
    const r = await c.request("block list");
    assert.deepEqual(r.ok && r.result, { prefixes: [{ prefix: "10.0.0.5/32", packets: 0 }] });
    c.close();
    assert.deepEqual(
      t.calls.filter((x) => x.startsWith("block")),
      ["blockAdd 10.0.0.5/32", "blockList"],
      "the half request was dropped",
    );
  });
});

Deno.test("server: a stale socket (nobody listening) is replaced; a live one is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A socket file nobody accepts on, as a SIGKILLed run leaves it: bind one elsewhere, move it
    // to the name, close the listener (which removes only the name it was bound to).
    const path = `${dir}/fake0.sock`;
    const l = Deno.listen({ transport: "unix", path: `${dir}/tmp.sock` });
    await Deno.rename(`${dir}/tmp.sock`, path);
    l.close();
    assert.ok(Deno.lstatSync(path).isSocket);
    await assert.rejects(
      ControlClient.connect("fake0", dir),
      (e: Error) =>
        e instanceof BypassError &&
        e.message === `no byPassRT is serving fake0: ${path} is left over from a run that was ` +
            `killed (the next run replaces it): start one with bypassrt --iface fake0`,
    );
    const s = await ControlServer.open({ iface: "fake0", dir });
    s.serve(new FakeTarget());
    const c = await ControlClient.connect("fake0", dir);
    assert.ok((await c.request("hello")).ok, "the new server answers on the name");
    c.close();
    await assert.rejects(
      ControlServer.open({ iface: "fake0", dir }),
      (e: Error) =>
        e instanceof BypassError &&
        e.message.startsWith(
          `fake0 is already served by another byPassRT (its control socket ${path} answers)`,
        ),
    );
    // The refused attempt left the live server's socket alone.
    const c2 = await ControlClient.connect("fake0", dir);
    assert.ok((await c2.request("hello")).ok);
    c2.close();
    await s.close();
    assert.equal(exists(path), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: something else at the socket's name, or a file as the directory: refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/fake0.sock`, "not a socket");
    await assert.rejects(
      ControlServer.open({ iface: "fake0", dir }),
      new BypassError(`${dir}/fake0.sock exists and is not a socket: remove it`),
    );
    assert.equal(await Deno.readTextFile(`${dir}/fake0.sock`), "not a socket", "left as it was");
    await assert.rejects(
      ControlServer.open({ iface: "x", dir: `${dir}/fake0.sock` }),
      /is not a directory: remove it, or run as root, set BYPASSRT_RUN_DIR/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: close() with clients connected ends them; their next request fails clearly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await ControlServer.open({ iface: "fake0", dir });
    s.serve(new FakeTarget());
    const c = await ControlClient.connect("fake0", dir);
    assert.ok((await c.request("hello")).ok);
    await s.close();
    await s.close(); // idempotent
    await assert.rejects(c.request("hello"), /byPassRT closed the control connection/);
    await assert.rejects(
      c.request(
        "block add",
        Array.from({ length: 5000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
      ),
      new RegExp(
        `^BypassError: block add: the request is \\d+ bytes, over the control socket's ` +
          `limit of ${MAX_LINE_BYTES}: split it`,
      ),
      "refused before sending",
    );
    c.close();
    await assert.rejects(
      ControlClient.connect("fake0", dir),
      new BypassError(
        `no byPassRT is serving fake0 (no ${dir}/fake0.sock): start one with bypassrt --iface fake0`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
