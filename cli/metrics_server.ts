/**
 * `--metrics HOST:PORT`: an HTTP server in the main thread (never in a polling Worker) that
 * serves Prometheus text at `/metrics`, the live page at `/` (its script, styles and uPlot are
 * served from here, nothing from elsewhere), `/events` (Server-Sent Events: the last minutes of
 * history on connect, then one snapshot a second) and `/snapshot.json`. It reads the engine's
 * snapshots, which read shared counters only: serving never touches the fast path.
 *
 * One snapshot a second is taken for all page clients together and kept for ~5 minutes
 * (RX/TX packets per queue) so a page opened later starts with its charts filled. A scrape of
 * `/metrics` or `/snapshot.json` reads a fresh snapshot.
 *
 * The page's files are imported as text (`with { type: "text" }`), uPlot's from the npm package:
 * they are part of the module graph, cached by `deno install` and embedded by `deno compile`.
 *
 * @module
 */
import { BypassError } from "../engine/errors.ts";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "../engine/metrics.ts";
import type { EngineSnapshot } from "../engine/runtime.ts";
import INDEX_HTML from "./web/index.html" with { type: "text" };
import APP_JS from "./web/app.js" with { type: "text" };
import APP_CSS from "./web/app.css" with { type: "text" };
import UPLOT_JS from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import UPLOT_CSS from "uplot/dist/uPlot.min.css" with { type: "text" };

/** Where to listen. */
export interface MetricsAddress {
  /** Host name or address (IPv6 without brackets). */
  hostname: string;
  /** TCP port; 0 picks a free one (the bound one is in {@link MetricsServer.url}). */
  port: number;
}

/**
 * Parse `HOST:PORT` (`[::1]:9100` for IPv6). Throws a {@link BypassError} naming the fix.
 *
 * @example
 * ```ts
 * import { parseMetricsAddress } from "./metrics_server.ts";
 * parseMetricsAddress("127.0.0.1:9100"); // { hostname: "127.0.0.1", port: 9100 }
 * ```
 */
export function parseMetricsAddress(v: string): MetricsAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new BypassError(
      `--metrics "${v}" is invalid: give HOST:PORT, e.g. 127.0.0.1:9100 ` +
        `(port 0-65535, 0 picks a free one; [::1]:9100 for IPv6)`,
    );
  }
  return { hostname: m[1] ?? m[2], port };
}

/** `host:port`, an IPv6 host in brackets. */
function hostPort(a: { hostname: string; port: number }): string {
  return `${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}`;
}

/** Options of {@link MetricsServer.listen}. */
export interface MetricsServerOptions {
  /** Milliseconds between the snapshots pushed to pages (default 1000). */
  intervalMs?: number;
  /** History kept for pages, in snapshots (default 300: 5 minutes at one a second). */
  historyLength?: number;
}

/** One point of the history the page charts: packets per queue at a moment. */
interface HistoryPoint {
  /** Wall clock, ms since the epoch. */
  t: number;
  /** Engine seconds since start (for rates). */
  e: number;
  /** rx_packets per queue, in `queues` order. */
  rx: number[];
  /** tx_packets per queue. */
  tx: number[];
}

const enc = new TextEncoder();

const ASSETS: Record<string, [string, string]> = {
  "/": [INDEX_HTML, "text/html; charset=utf-8"],
  "/index.html": [INDEX_HTML, "text/html; charset=utf-8"],
  "/app.js": [APP_JS, "text/javascript; charset=utf-8"],
  "/app.css": [APP_CSS, "text/css; charset=utf-8"],
  "/uPlot.iife.min.js": [UPLOT_JS, "text/javascript; charset=utf-8"],
  "/uPlot.min.css": [UPLOT_CSS, "text/css; charset=utf-8"],
};

/** Everything the page needs comes from here; the browser refuses anything else. */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:",
  "x-content-type-options": "nosniff",
};

/**
 * The metrics and live-page server. {@link MetricsServer.listen} binds at once (a bad or busy
 * address fails there, before the engine is started); {@link MetricsServer.serve} gives it the
 * snapshots to serve; {@link MetricsServer.close} ends every open event stream and stops it.
 *
 * @example
 * ```ts ignore
 * const metrics = MetricsServer.listen(parseMetricsAddress("127.0.0.1:9100"));
 * const engine = await Engine.start(options);
 * metrics.serve(() => engine.snapshot());
 * // ...
 * await metrics.close();
 * await engine.stop();
 * ```
 */
export class MetricsServer {
  /** Base URL, e.g. `http://127.0.0.1:9100/`, with the port actually bound. */
  readonly url: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  readonly #history: HistoryPoint[] = [];
  readonly #historyLength: number;
  readonly #intervalMs: number;
  #source?: () => EngineSnapshot;
  #last?: string;
  #queueIds: number[] = [];
  #timer?: ReturnType<typeof setInterval>;

  private constructor(addr: MetricsAddress, opts: MetricsServerOptions) {
    this.#intervalMs = opts.intervalMs ?? 1000;
    this.#historyLength = opts.historyLength ?? 300;
    this.#server = Deno.serve({
      hostname: addr.hostname,
      port: addr.port,
      onListen: () => {},
      onError: (e) => new Response(`error: ${(e as Error)?.message ?? e}\n`, { status: 500 }),
    }, (req) => this.#handle(req));
    const a = this.#server.addr;
    this.url = `http://${hostPort(a)}/`;
  }

  /** Bind `addr` now; throws a {@link BypassError} (one line) when that is impossible. */
  static listen(addr: MetricsAddress, opts: MetricsServerOptions = {}): MetricsServer {
    const where = `--metrics ${hostPort(addr)}`;
    try {
      return new MetricsServer(addr, opts);
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new BypassError(
          `${where}: the port is in use: pick another one (0 picks a free port)`,
        );
      }
      if (e instanceof Deno.errors.AddrNotAvailable) {
        throw new BypassError(
          `${where}: no such local address: give one of this host's addresses, e.g. 127.0.0.1`,
        );
      }
      if (e instanceof Deno.errors.PermissionDenied) {
        throw new BypassError(`${where}: permission denied: use a port above 1023 or run as root`);
      }
      throw new BypassError(`${where}: cannot listen: ${(e as Error).message}`);
    }
  }

  /** Start serving `source`'s snapshots (one taken now, then one per interval for pages). */
  serve(source: () => EngineSnapshot): void {
    this.#source = source;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
  }

  /** End every event stream, stop taking snapshots, close the listener. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#source = undefined;
    for (const c of this.#clients) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#clients.clear();
    await this.#server.shutdown();
  }

  #tick(): void {
    const source = this.#source;
    if (!source) return;
    let s: EngineSnapshot;
    try {
      s = source();
    } catch {
      return; // never let a page's feed stop the run; /metrics reports such an error itself
    }
    this.#queueIds = s.queues.map((q) => q.queue);
    this.#history.push({
      t: Date.now(),
      e: s.elapsed,
      rx: s.queues.map((q) => q.rx_packets),
      tx: s.queues.map((q) => q.tx_packets),
    });
    if (this.#history.length > this.#historyLength) this.#history.shift();
    this.#last = JSON.stringify({ t: Date.now(), snapshot: s });
    const chunk = enc.encode(`event: snapshot\ndata: ${this.#last}\n\n`);
    for (const c of this.#clients) {
      // A client a minute behind is not reading: let it go rather than queue for it forever.
      if ((c.desiredSize ?? 0) < -60) {
        this.#drop(c);
        continue;
      }
      try {
        c.enqueue(chunk);
      } catch {
        this.#clients.delete(c);
      }
    }
  }

  #drop(c: ReadableStreamDefaultController<Uint8Array>): void {
    this.#clients.delete(c);
    try {
      c.close();
    } catch { /* already closed */ }
  }

  #events(): Response {
    const first =
      `retry: 2000\n\nevent: history\ndata: ${
        JSON.stringify({ queues: this.#queueIds, points: this.#history })
      }\n\n` + (this.#last ? `event: snapshot\ndata: ${this.#last}\n\n` : "");
    let self: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        self = c;
        c.enqueue(enc.encode(first));
        this.#clients.add(c);
      },
      cancel: () => {
        this.#clients.delete(self);
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        ...SECURITY_HEADERS,
      },
    });
  }

  #handle(req: Request): Response {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("only GET\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const source = this.#source;
    const asset = ASSETS[path];
    if (asset) {
      return new Response(asset[0], {
        headers: { "content-type": asset[1], "cache-control": "no-cache", ...SECURITY_HEADERS },
      });
    }
    if (path === "/metrics" || path === "/snapshot.json" || path === "/events") {
      if (!source) return new Response("byPassRT is starting\n", { status: 503 });
      if (path === "/events") return this.#events();
      const s = source();
      return path === "/metrics"
        ? new Response(prometheusText(s), {
          headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
        })
        : Response.json(s, { headers: { "cache-control": "no-store" } });
    }
    return new Response("not found: try /, /metrics, /events or /snapshot.json\n", {
      status: 404,
    });
  }
}
