/**
 * Test and benchmark driver (not part of byPassRT's API): runs an {@link Engine} in the
 * namespace it is started in and calls its live methods on request, so tests in the host
 * namespace can drive an engine inside a test namespace without the control socket.
 *
 *   ip netns exec NS deno run -A testing/engine_driver.ts '<EngineOptions as JSON>'
 *
 * Prints `{"ready": true}` once the engine is up (or `{"error": "..."}` and exits 1), then
 * reads one JSON request per line on stdin, `{"op": "blockAdd", "args": ["10.0.0.2/32"]}`
 * (op: blockAdd, blockAddMany, blockDel, blockList, steerAdd, steerDel, steerList, snapshot,
 * stop), and answers each with one line: `{"result": ...}` or `{"error": "message"}`, plus
 * `"ms"`, the time the call took. `stop` answers with the final report and exits.
 *
 * @module
 */
import { Engine, type EngineOptions } from "../engine/runtime.ts";
import { lines } from "./engine_client.ts";

const out = (o: unknown) => console.log(JSON.stringify(o));

let engine: Engine;
try {
  engine = await Engine.start({ ...JSON.parse(Deno.args[0]) as EngineOptions, onEvent: () => {} });
} catch (e) {
  out({ error: (e as Error).message });
  Deno.exit(1);
}
out({ ready: true });

const calls: Record<string, (...a: never[]) => unknown> = {
  blockAdd: (c: string) => engine.blockAdd(c),
  blockAddMany: (c: string[]) => engine.blockAddMany(c),
  blockDel: (c: string) => engine.blockDel(c),
  blockList: () => engine.blockList(),
  steerAdd: (p: number[]) => engine.steerAdd(p),
  steerDel: (p: number[]) => engine.steerDel(p),
  steerList: () => engine.steerList(),
  snapshot: () => engine.snapshot(),
};

for await (const line of lines(Deno.stdin.readable)) {
  const req = JSON.parse(line) as { op: string; args?: unknown[] };
  if (req.op === "stop") {
    out({ result: await engine.stop() });
    Deno.exit(0);
  }
  const t0 = performance.now();
  try {
    const result = calls[req.op](...(req.args ?? []) as never[]);
    out({ result: result ?? null, ms: performance.now() - t0 });
  } catch (e) {
    out({ error: (e as Error).message, ms: performance.now() - t0 });
  }
}
await engine.stop();
