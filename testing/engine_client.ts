/**
 * Client of testing/engine_driver.ts: start an engine in a namespace and call its live methods
 * (blocklist, steering, snapshot) from the test or benchmark process.
 *
 * @module
 */
import type { EngineOptions, EngineReport, EngineSnapshot } from "../engine/runtime.ts";
import type { BlockEntry } from "../engine/blocklist.ts";

const DRIVER = new URL("./engine_driver.ts", import.meta.url).pathname;

/** An engine running in a namespace under the driver. */
export class DrivenEngine {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  /** How long the last call took inside the driver (ms). */
  lastMs = 0;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines(child.stdout)[Symbol.asyncIterator]();
  }

  /** Start an engine in `ns` with `options` (JSON-serialisable); rejects with its error. */
  static async start(
    ns: string,
    options: Omit<EngineOptions, "onEvent">,
  ): Promise<DrivenEngine> {
    const env = { ...Deno.env.toObject() };
    delete env.RUST_BACKTRACE;
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", DRIVER, JSON.stringify(options)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      env,
      clearEnv: true,
    }).spawn();
    const d = new DrivenEngine(child);
    const first = await d.#next();
    if (first.error) {
      await child.status;
      throw new Error(String(first.error));
    }
    return d;
  }

  async #next(): Promise<Record<string, unknown>> {
    const r = await this.#lines.next();
    if (r.done) throw new Error("engine driver ended");
    return JSON.parse(r.value);
  }

  /** Call `op` with `args`; rejects with the engine's error message. */
  async call<T>(op: string, ...args: unknown[]): Promise<T> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ op, args }) + "\n"));
    const r = await this.#next();
    this.lastMs = Number(r.ms ?? 0);
    if ("error" in r) throw new Error(String(r.error));
    return r.result as T;
  }

  /** Engine.blockAdd. */
  blockAdd(cidr: string): Promise<string> {
    return this.call("blockAdd", cidr);
  }
  /** Engine.blockAddMany. */
  blockAddMany(cidrs: string[]): Promise<number> {
    return this.call("blockAddMany", cidrs);
  }
  /** Engine.blockDel. */
  blockDel(cidr: string): Promise<boolean> {
    return this.call("blockDel", cidr);
  }
  /** Engine.blockList. */
  blockList(): Promise<BlockEntry[]> {
    return this.call("blockList");
  }
  /** Engine.steerAdd. */
  steerAdd(ports: number[]): Promise<void> {
    return this.call("steerAdd", ports);
  }
  /** Engine.steerDel. */
  steerDel(ports: number[]): Promise<void> {
    return this.call("steerDel", ports);
  }
  /** Engine.steerList. */
  steerList(): Promise<{ all: boolean; udpPorts: number[]; respondIp: string }> {
    return this.call("steerList");
  }
  /** Engine.snapshot. */
  snapshot(): Promise<EngineSnapshot> {
    return this.call("snapshot");
  }

  /** Engine.stop; waits for the driver to exit. */
  async stop(): Promise<EngineReport> {
    const report = await this.call<EngineReport>("stop");
    await this.#writer.close().catch(() => {});
    await this.#child.status;
    return report;
  }

  /** Kill the driver (cleanup after a failure). */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#child.status;
  }
}

/** Lines of `stream`; a line of many megabytes (a long list) is joined once, not rescanned. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let parts: string[] = [];
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    let start = 0, i;
    while ((i = chunk.indexOf("\n", start)) >= 0) {
      parts.push(chunk.slice(start, i));
      yield parts.join("");
      parts = [];
      start = i + 1;
    }
    if (start < chunk.length) parts.push(chunk.slice(start));
  }
}
