/**
 * The control socket's wire format, shared by the server ({@link ControlServer}) and the client
 * ({@link ControlClient}): one JSON object per line (`\n`), both ways, one reply per request, in
 * the order the requests came. Also where the socket lives: `/run/bypassrt/<iface>.sock`.
 *
 * Request: `{"id": 1, "cmd": "block add", "args": ["10.0.0.2/32"]}` (`id` optional, a number or
 * a string echoed in the reply; `args` optional, strings). Reply: `{"id": 1, "ok": true,
 * "result": ...}` or `{"id": 1, "ok": false, "error": "one line naming the problem"}`. A line
 * that is not a request (not JSON, wrong shape, longer than {@link MAX_LINE_BYTES}) gets an error
 * reply with `"id": null`, and the connection goes on.
 *
 * @module
 */

/** Version of this protocol, reported by the `hello` command. */
export const PROTOCOL_VERSION = 1;

/** Longest request or reply line accepted, in bytes without the `\n`. */
export const MAX_LINE_BYTES = 64 * 1024;

/** Where the control sockets live unless `BYPASSRT_RUN_DIR` says otherwise. */
export const DEFAULT_RUN_DIR = "/run/bypassrt";

/** A request id: what the client chose, echoed in the reply (`null` when it gave none). */
export type RequestId = number | string | null;

/** One request, as the server understands it. */
export interface ControlRequest {
  /** Echoed in the reply. */
  id: RequestId;
  /** The command, e.g. `"block add"`; see the server's `help` command for the list. */
  cmd: string;
  /** Its arguments (strings). */
  args: string[];
}

/** One reply: `ok` with a `result`, or not with an `error` line. */
export type ControlReply =
  | { id: RequestId; ok: true; result: unknown }
  | { id: RequestId; ok: false; error: string };

/**
 * The directory of the control sockets: `BYPASSRT_RUN_DIR` if set (tests), else `/run/bypassrt`.
 *
 * @example
 * ```ts
 * import { runDir } from "./control_protocol.ts";
 * runDir(); // "/run/bypassrt" unless BYPASSRT_RUN_DIR is set
 * ```
 */
export function runDir(): string {
  let env: string | undefined;
  try {
    env = Deno.env.get("BYPASSRT_RUN_DIR");
  } catch { /* no env permission: the default */ }
  return env || DEFAULT_RUN_DIR;
}

/**
 * Path of the control socket of `iface`: `<dir>/<iface>.sock`.
 *
 * @example
 * ```ts
 * import { controlSocketPath } from "./control_protocol.ts";
 * controlSocketPath("eth0", "/run/bypassrt"); // "/run/bypassrt/eth0.sock"
 * ```
 */
export function controlSocketPath(iface: string, dir: string = runDir()): string {
  if (!/^[^/\0\s]{1,15}$/.test(iface) || iface === "." || iface === "..") {
    throw new TypeError(`"${iface}" is not an interface name`);
  }
  return `${dir.replace(/\/+$/, "")}/${iface}.sock`;
}

/** Error reply for a line that is not a request. */
function bad(error: string, id: RequestId = null): ControlReply {
  return { id, ok: false, error };
}

/**
 * Parse one request line. Returns the request, or the error reply to send for it.
 *
 * @example
 * ```ts
 * import { parseRequest } from "./control_protocol.ts";
 * parseRequest('{"id":1,"cmd":"block list"}'); // { id: 1, cmd: "block list", args: [] }
 * parseRequest("nonsense"); // { id: null, ok: false, error: "request is not JSON: ..." }
 * ```
 */
export function parseRequest(line: string): ControlRequest | ControlReply {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return bad(
      `request is not JSON (${(e as Error).message}): send one object per line, ` +
        `e.g. {"id":1,"cmd":"help"}`,
    );
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return bad('request is not a JSON object: send e.g. {"id":1,"cmd":"help"}');
  }
  const o = v as Record<string, unknown>;
  const id = o.id ?? null;
  if (id !== null && typeof id !== "number" && typeof id !== "string") {
    return bad('"id" must be a number or a string');
  }
  if (typeof o.cmd !== "string" || o.cmd.trim() === "") {
    return bad('request has no "cmd": give a command such as "help" or "block list"', id);
  }
  const args = o.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    return bad('"args" must be an array of strings, e.g. ["10.0.0.2/32"]', id);
  }
  return { id, cmd: o.cmd.trim().split(/\s+/).join(" "), args };
}

/** One reply (or request) as a line, `\n` included. */
export function encodeLine(message: ControlReply | ControlRequest): string {
  return JSON.stringify(message) + "\n";
}

/** What {@link LineFramer.push} found: a complete line, or a line longer than the cap. */
export type Framed = { line: string } | { oversized: true } | { notText: true };

const NL = 0x0a;

/**
 * Splits a byte stream into lines (`\n`, a trailing `\r` dropped) of at most `max` bytes. A
 * longer line is reported once, as soon as it passes the cap, and skipped up to its `\n`; the
 * lines after it are framed as usual. A line that is not UTF-8 is reported as such.
 *
 * @example
 * ```ts
 * import { LineFramer } from "./control_protocol.ts";
 * const f = new LineFramer();
 * const enc = new TextEncoder();
 * f.push(enc.encode('{"cmd":"he')); // []
 * f.push(enc.encode('lp"}\n')); // [{ line: '{"cmd":"help"}' }]
 * ```
 */
export class LineFramer {
  /** The cap in bytes. */
  readonly max: number;
  #parts: Uint8Array[] = [];
  #length = 0;
  #skipping = false;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });

  /** `max`: the longest line accepted (default {@link MAX_LINE_BYTES}). */
  constructor(max: number = MAX_LINE_BYTES) {
    this.max = max;
  }

  /** True while bytes of a line not yet ended are held (or skipped). */
  get pending(): boolean {
    return this.#length > 0 || this.#skipping;
  }

  /** Feed bytes; returns what they completed. `chunk` may be reused by the caller after. */
  push(chunk: Uint8Array): Framed[] {
    const out: Framed[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      const piece = chunk.subarray(start, nl < 0 ? chunk.length : nl);
      if (!this.#skipping) {
        if (this.#length + piece.length > this.max) {
          this.#reset();
          this.#skipping = true;
          out.push({ oversized: true });
        } else if (piece.length > 0) {
          this.#parts.push(piece.slice());
          this.#length += piece.length;
        }
      }
      if (nl < 0) return out;
      if (!this.#skipping) out.push(this.#take());
      this.#reset();
      start = nl + 1;
    }
  }

  #take(): Framed {
    const bytes = new Uint8Array(this.#length);
    let at = 0;
    for (const p of this.#parts) {
      bytes.set(p, at);
      at += p.length;
    }
    try {
      return { line: this.#decoder.decode(bytes).replace(/\r$/, "") };
    } catch {
      return { notText: true };
    }
  }

  #reset(): void {
    this.#parts = [];
    this.#length = 0;
    this.#skipping = false;
  }
}

/** The error reply for what the framer reported instead of a line. */
export function framingError(
  f: { oversized: true } | { notText: true },
  max: number = MAX_LINE_BYTES,
): ControlReply {
  return "oversized" in f
    ? bad(`request line longer than ${max} bytes: skipped up to its end`)
    : bad("request line is not UTF-8 text: send one JSON object per line");
}
