/**
 * The live metrics table for a terminal: redrawn in place (cursor home + clear to end), no
 * flicker, one row per queue plus a total.
 *
 * @module
 */
import Table from "cli-table3";
import type { EngineSnapshot } from "../engine/runtime.ts";
import { type Rates, SHOWN_COUNTERS } from "./report.ts";
import { LATENCY_HEADS, latencyCells } from "./latency_text.ts";

const enc = new TextEncoder();

function n(v: number): string {
  return v.toLocaleString("en-US");
}

/** Render a snapshot as a table (string); rates per queue come from `prev`. */
export function renderTable(s: EngineSnapshot, r: Rates, prev?: EngineSnapshot): string {
  const t = new Table({
    head: [
      "queue",
      ...SHOWN_COUNTERS.map((d) => d.column!),
      "RX pps",
      "TX pps",
      "rx_dropped",
      "rx_ring_full",
      "fill_empty",
      "tx_empty",
      "invalid rx/tx",
      ...LATENCY_HEADS,
    ],
    style: { head: [], border: [] },
  });
  const dt = prev ? s.elapsed - prev.elapsed : s.elapsed;
  const per = (cur: number, old: number | undefined) => (dt > 0 ? (cur - (old ?? 0)) / dt : 0);
  const row = (
    name: string,
    q: EngineSnapshot["total"],
    p?: EngineSnapshot["total"],
    queue?: number,
  ) => [
    name,
    ...SHOWN_COUNTERS.map((d) => n(q[d.key])),
    n(Math.round(per(q.rx_packets, p?.rx_packets))),
    n(Math.round(per(q.tx_packets, p?.tx_packets))),
    n(q.xdp_statistics.rx_dropped),
    n(q.xdp_statistics.rx_ring_full),
    n(q.xdp_statistics.rx_fill_ring_empty_descs),
    n(q.xdp_statistics.tx_ring_empty_descs),
    `${q.xdp_statistics.rx_invalid_descs}/${q.xdp_statistics.tx_invalid_descs}`,
    ...latencyCells(s.latency, queue),
  ];
  for (const q of s.queues) {
    t.push(row(String(q.queue), q, prev?.queues.find((x) => x.queue === q.queue), q.queue));
  }
  t.push(row("total", s.total, prev?.total));
  // The handler's counters (respond: its drop reasons): all of a handler file's, the non-zero
  // ones of a built-in mode.
  const hc = Object.entries(s.handler_counters).filter(([, v]) => s.mode === "handler" || v !== 0)
    .map(([k, v]) => `${k}=${n(v)}`).join("  ");
  return [
    `byPassRT  ${s.mode} on ${s.iface}   xdp ${s.xdp_mode}   bind ${s.bind_mode}   ` +
    (s.busy_poll ? `busy-poll ${s.busy_poll.usec} us/${s.busy_poll.budget}   ` : "") +
    (s.multi_buffer?.on
      ? `multi-buffer MTU ${s.multi_buffer.mtu}/${s.multi_buffer.buffer_bytes} B   `
      : "") +
    `up ${s.elapsed.toFixed(0)} s`,
    t.toString(),
    `total RX ${n(r.rx_pps)} pps ${r.rx_mbps} Mbit/s   TX ${n(r.tx_pps)} pps ${r.tx_mbps} Mbit/s`,
    s.program
      ? `XDP program: redirected ` +
        `${n(s.program.redirected)}  passed ${n(s.program.passed)}  dropped ${
          n(s.program.dropped)
        }` +
        `  blocked ${n(s.program.blocked)} (${n(s.blocklist?.prefixes ?? 0)} prefixes)`
      : `XDP program: yours (${s.user_program?.file ?? "?"}, section ${
        s.user_program?.section ?? "?"
      }): counters n/a`,
    ...(s.interfaces ?? []).map((i) =>
      `interface ${i.iface}: rx ${n(Number(i.rx_packets))}  tx ${n(Number(i.tx_packets))}  ` +
      `tx_ring_full ${n(Number(i.tx_ring_full))}  kick_errors ${n(Number(i.tx_kick_errors))}`
    ),
    `handler${s.mode === "handler" ? ` ${s.handler}` : ` (${s.mode})`}: ${hc || "no counters"}`,
    "Ctrl-C: stop, print summary, detach",
  ].join("\n");
}

/** Redraws the table in place on a terminal. */
export class LiveTable {
  #drawn = false;

  #prev?: EngineSnapshot;

  /** Draw (or redraw over the previous drawing). */
  draw(s: EngineSnapshot, r: Rates): void {
    const body = renderTable(s, r, this.#prev).replaceAll("\n", "\x1b[K\n") + "\x1b[K\n\x1b[J";
    const prefix = this.#drawn ? "\x1b[H" : "\x1b[2J\x1b[H\x1b[?25l";
    this.#drawn = true;
    this.#prev = s;
    Deno.stdout.writeSync(enc.encode(prefix + body));
  }

  /** Restore the cursor. */
  done(): void {
    if (this.#drawn) Deno.stdout.writeSync(enc.encode("\x1b[?25h"));
  }
}
