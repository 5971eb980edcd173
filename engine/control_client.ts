/**
 * A client of a run's control socket (what `bypassrt ctl` uses): connect by interface name,
 * send requests, get their replies. Failing to connect is one {@link BypassError} line saying
 * why and what to do (nobody serves that interface, a killed run's socket, a permission).
 *
 * @module
 */
import { BypassError } from "./errors.ts";
import {
  type ControlReply,
  controlSocketPath,
  encodeLine,
  LineFramer,
  MAX_LINE_BYTES,
  runDir,
} from "./control_protocol.ts";

/** Longest reply line accepted (a long blocklist or many queues make big replies). */
const MAX_REPLY_BYTES = 256 * 1024 * 1024;

const enc = new TextEncoder();

/** Who may use the socket at `path`: root, or the owner of its directory. */
function permissionHint(path: string): string {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  let owner = "";
  try {
    const uid = Deno.statSync(dir).uid;
    if (uid !== null && uid !== 0) owner = ` or as uid ${uid}`;
  } catch { /* cannot even see the directory */ }
  return `permission denied opening ${path}: the control socket is only for root and the user ` +
    `that started byPassRT: run bypassrt ctl as root (e.g. sudo)${owner}`;
}

/**
 * A connection to the control socket of one interface.
 *
 * @example
 * ```ts ignore
 * import { ControlClient } from "./control_client.ts";
 * const c = await ControlClient.connect("veth-bypass");
 * const reply = await c.request("block add", ["10.0.0.2/32"]);
 * if (!reply.ok) console.error(reply.error);
 * c.close();
 * ```
 */
export class ControlClient {
  /** Path of the socket. */
  readonly path: string;
  readonly #conn: Deno.UnixConn;
  readonly #framer = new LineFramer(MAX_REPLY_BYTES);
  readonly #lines: string[] = [];
  readonly #buf = new Uint8Array(64 * 1024);
  #nextId = 1;

  private constructor(path: string, conn: Deno.UnixConn) {
    this.path = path;
    this.#conn = conn;
  }

  /**
   * Connect to the socket of `iface` in `dir` (default `BYPASSRT_RUN_DIR` or `/run/bypassrt`).
   * Throws {@link BypassError} with the reason and the fix.
   */
  static async connect(iface: string, dir: string = runDir()): Promise<ControlClient> {
    let path: string;
    try {
      path = controlSocketPath(iface, dir);
    } catch (e) {
      throw new BypassError(`--iface: ${(e as Error).message}: give the interface byPassRT serves`);
    }
    try {
      return new ControlClient(path, await Deno.connect({ transport: "unix", path }));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new BypassError(
          `no byPassRT is serving ${iface} (no ${path}): start one with bypassrt --iface ${iface}`,
        );
      }
      if (e instanceof Deno.errors.ConnectionRefused) {
        throw new BypassError(
          `no byPassRT is serving ${iface}: ${path} is left over from a run that was killed ` +
            `(the next run replaces it): start one with bypassrt --iface ${iface}`,
        );
      }
      if (e instanceof Deno.errors.PermissionDenied) {
        throw new BypassError(permissionHint(path), 13);
      }
      throw new BypassError(`cannot connect to ${path}: ${(e as Error).message}`);
    }
  }

  /** Send one request and wait for its reply. */
  async request(cmd: string, args: string[] = []): Promise<ControlReply> {
    const id = this.#nextId++;
    const line = enc.encode(encodeLine({ id, cmd, args }));
    if (line.length - 1 > MAX_LINE_BYTES) {
      throw new BypassError(
        `${cmd}: the request is ${line.length - 1} bytes, over the control socket's limit of ` +
          `${MAX_LINE_BYTES}: split it into several (block add: fewer prefixes at a time, or ` +
          `--block-file at start)`,
      );
    }
    try {
      for (let at = 0; at < line.length;) at += await this.#conn.write(line.subarray(at));
    } catch (e) {
      throw new BypassError(`byPassRT closed the control connection: ${(e as Error).message}`);
    }
    for (;;) {
      const line = this.#lines.shift() ?? await this.#readLine();
      let reply: ControlReply;
      try {
        reply = JSON.parse(line);
      } catch {
        throw new BypassError(
          `${this.path} answered something that is not JSON: is it byPassRT's?`,
        );
      }
      if (reply.id === id) return reply;
      if (reply.id === null && !reply.ok) return { ...reply, id };
    }
  }

  async #readLine(): Promise<string> {
    for (;;) {
      let n: number | null;
      try {
        n = await this.#conn.read(this.#buf);
      } catch (e) {
        throw new BypassError(`byPassRT closed the control connection: ${(e as Error).message}`);
      }
      if (n === null) {
        throw new BypassError("byPassRT closed the control connection before answering (stopped?)");
      }
      for (const f of this.#framer.push(this.#buf.subarray(0, n))) {
        if (!("line" in f)) throw new BypassError("byPassRT sent a reply that is not a JSON line");
        this.#lines.push(f.line);
      }
      const line = this.#lines.shift();
      if (line !== undefined) return line;
    }
  }

  /** Close the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}
