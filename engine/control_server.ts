/**
 * The control socket of a run: a UNIX stream socket at `/run/bypassrt/<iface>.sock` (directory
 * 0700, socket 0600, both the runner's) that answers the requests of {@link CONTROL_COMMANDS}
 * against a {@link ControlTarget} (the Engine). One JSON object per line both ways (see
 * `control_protocol.ts`); many requests per connection, answered in order; many connections at
 * once. A bad request gets an error reply and the server goes on.
 *
 * Opening claims the name: a socket left by a killed run (nobody accepts on it) is replaced, a
 * live one is refused. Closing removes it; an `unload` handler removes it on `Deno.exit` too.
 * Serving runs on the main thread between timers and never touches the polling Workers.
 *
 * @module
 */
import { BypassError } from "./errors.ts";
import {
  controlSocketPath,
  encodeLine,
  framingError,
  LineFramer,
  MAX_LINE_BYTES,
  parseRequest,
  runDir,
} from "./control_protocol.ts";
import { type ControlTarget, dispatch } from "./control_commands.ts";

/** Options of {@link ControlServer.open}. */
export interface ControlServerOptions {
  /** Interface served: the socket is `<dir>/<iface>.sock`. */
  iface: string;
  /** Directory of the socket (default `BYPASSRT_RUN_DIR` or `/run/bypassrt`). */
  dir?: string;
  /** Longest request line in bytes (default 64 KiB). */
  maxLine?: number;
}

const enc = new TextEncoder();

/** The fix to add to a failure to set up the socket. */
const NO_CONTROL =
  "run as root, set BYPASSRT_RUN_DIR to a directory of yours, or pass --no-control";

function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound;
}

/** A system call on the control socket's path failed: what, why, and the ways out. */
function cannot(what: string, e: unknown): BypassError {
  return new BypassError(`cannot ${what} (${(e as Error).message}): ${NO_CONTROL}`);
}

/**
 * Make `dir` (0700) or check the one there: a directory nobody but its owner may enter (it is
 * not changed: pointed at /tmp, say, it is refused, not tightened). Its owner is checked after
 * bind.
 */
function ensureDir(dir: string): void {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(dir);
  } catch (e) {
    if (!isNotFound(e)) throw cannot(`use ${dir} for the control socket`, e);
    try {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      Deno.chmodSync(dir, 0o700); // whatever the umask
      st = Deno.lstatSync(dir);
    } catch (e) {
      throw cannot(`create ${dir} for the control socket`, e);
    }
  }
  if (!st.isDirectory) {
    throw new BypassError(`${dir} is not a directory: remove it, or ${NO_CONTROL}`);
  }
  const mode = st.mode! & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new BypassError(
      `${dir} is mode 0${mode.toString(8)}, open to other users: make it 0700 ` +
        `('chmod 700 ${dir}') or remove it, or set BYPASSRT_RUN_DIR to a directory of yours`,
    );
  }
}

/**
 * Free `path` for a new socket: nothing there, or a socket nobody accepts on (a run that was
 * killed) which is removed. A live socket or another kind of file is refused.
 */
async function claim(path: string, iface: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch (e) {
    if (isNotFound(e)) return;
    throw cannot(`use ${path}`, e);
  }
  if (!st.isSocket) throw new BypassError(`${path} exists and is not a socket: remove it`);
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
  } catch (e) {
    if (isNotFound(e)) return;
    if (!(e instanceof Deno.errors.ConnectionRefused)) throw cannot(`use ${path}`, e);
    try {
      Deno.removeSync(path); // stale: left by a run that was killed
    } catch (e) {
      if (!isNotFound(e)) throw cannot(`remove the stale socket ${path}`, e);
    }
    return;
  }
  throw liveError(path, iface);
}

function liveError(path: string, iface: string): BypassError {
  return new BypassError(
    `${iface} is already served by another byPassRT (its control socket ${path} answers): ` +
      `stop that instance first (an interface of the same name in another network namespace: ` +
      `set BYPASSRT_RUN_DIR or pass --no-control)`,
  );
}

/**
 * A run's control socket.
 *
 * @example
 * ```ts ignore
 * import { ControlServer } from "./control_server.ts";
 * const server = await ControlServer.open({ iface: "veth-bypass" }); // claims the name
 * const engine = await Engine.start(options);
 * server.serve(engine); // answers requests from now on
 * // ...
 * await server.close(); // the socket file is gone
 * await engine.stop();
 * ```
 */
export class ControlServer {
  /** Path of the socket. */
  readonly path: string;
  /** Interface served. */
  readonly iface: string;
  readonly #listener: Deno.UnixListener;
  readonly #ino: number | null;
  readonly #maxLine: number;
  readonly #conns = new Set<Deno.UnixConn>();
  readonly #onUnload = () => this.#unlink();
  #accepting?: Promise<void>;
  #closed = false;

  private constructor(
    path: string,
    iface: string,
    listener: Deno.UnixListener,
    ino: number | null,
    maxLine: number,
  ) {
    this.path = path;
    this.iface = iface;
    this.#listener = listener;
    this.#ino = ino;
    this.#maxLine = maxLine;
    addEventListener("unload", this.#onUnload);
  }

  /**
   * Create the directory (0700) and the socket (0600), replacing a stale socket of a killed run.
   * Connections wait in the backlog until {@link serve}. Throws {@link BypassError} when another
   * byPassRT serves the interface or the directory cannot be made.
   */
  static async open(o: ControlServerOptions): Promise<ControlServer> {
    const dir = o.dir ?? runDir();
    const path = controlSocketPath(o.iface, dir);
    ensureDir(dir);
    await claim(path, o.iface);
    let listener: Deno.UnixListener;
    try {
      listener = Deno.listen({ transport: "unix", path });
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) throw liveError(path, o.iface);
      throw cannot(`create the control socket ${path}`, e);
    }
    Deno.chmodSync(path, 0o600);
    // The socket is ours: a directory of someone else's could let them replace it.
    const sock = Deno.lstatSync(path), owner = Deno.lstatSync(dir).uid;
    if (owner !== sock.uid) {
      listener.close(); // Deno removes the socket file with it
      throw new BypassError(
        `${dir} belongs to uid ${owner}, not to this user (uid ${sock.uid}): remove it, or set ` +
          `BYPASSRT_RUN_DIR to a directory of yours`,
      );
    }
    return new ControlServer(path, o.iface, listener, sock.ino, o.maxLine ?? MAX_LINE_BYTES);
  }

  /** Answer requests against `target` from now on (once). */
  serve(target: ControlTarget): void {
    if (this.#accepting || this.#closed) return;
    this.#accepting = this.#acceptLoop(target);
  }

  /** Connections open now. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Stop serving, drop every connection, remove the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    removeEventListener("unload", this.#onUnload);
    try {
      this.#listener.close();
    } catch { /* already closed */ }
    this.#unlink();
    for (const c of this.#conns) closeQuietly(c);
    await this.#accepting;
  }

  /** Remove the socket file if it is still ours. */
  #unlink(): void {
    try {
      if (Deno.lstatSync(this.path).ino === this.#ino) Deno.removeSync(this.path);
    } catch { /* gone already */ }
  }

  async #acceptLoop(target: ControlTarget): Promise<void> {
    const info = { iface: this.iface };
    while (!this.#closed) {
      let conn: Deno.UnixConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        if (this.#closed) return;
        // Out of descriptors and the like: try again shortly rather than stop serving.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.#conns.add(conn);
      this.#session(conn, target, info).finally(() => {
        this.#conns.delete(conn);
        closeQuietly(conn);
      });
    }
  }

  /** One connection: read lines, answer each in order, until the client goes or we close. */
  async #session(
    conn: Deno.UnixConn,
    target: ControlTarget,
    info: { iface: string },
  ): Promise<void> {
    const framer = new LineFramer(this.#maxLine);
    const buf = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return; // the client is done (a partial line is dropped)
        for (const f of framer.push(buf.subarray(0, n))) {
          if ("line" in f && f.line.trim() === "") continue;
          const req = "line" in f ? parseRequest(f.line) : framingError(f, this.#maxLine);
          const reply = "cmd" in req ? await dispatch(target, req, info) : req;
          if (this.#closed) return;
          await writeAll(conn, enc.encode(encodeLine(reply)));
        }
      }
    } catch {
      // Reset or gone mid-request, or closed by close(): this connection ends, the server goes on.
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}
