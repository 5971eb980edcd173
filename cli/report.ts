/**
 * Printers for engine snapshots: NDJSON, plain lines (not a terminal), and the final summary.
 * They read snapshots; they never touch the fast path.
 *
 * @module
 */
import type { EngineReport, EngineSnapshot } from "../engine/runtime.ts";
import { QUEUE_COUNTERS } from "../engine/counters.ts";
import { latencyFields, latencyLines } from "./latency_text.ts";

/** The counters shown in the table and the plain line: those with a `column` label. */
export const SHOWN_COUNTERS: readonly (typeof QUEUE_COUNTERS)[number][] = QUEUE_COUNTERS.filter((
  d,
) => d.column);

/** Rates between two snapshots. */
export interface Rates {
  rx_pps: number;
  tx_pps: number;
  rx_mbps: number;
  tx_mbps: number;
}

/** Packets and Mbit/s per second between `prev` and `cur`. */
export function rates(prev: EngineSnapshot | undefined, cur: EngineSnapshot): Rates {
  const dt = prev ? cur.elapsed - prev.elapsed : cur.elapsed;
  if (dt <= 0) return { rx_pps: 0, tx_pps: 0, rx_mbps: 0, tx_mbps: 0 };
  const d = (k: "rx_packets" | "tx_packets" | "rx_bytes" | "tx_bytes") =>
    (cur.total[k] - (prev?.total[k] ?? 0)) / dt;
  return {
    rx_pps: Math.round(d("rx_packets")),
    tx_pps: Math.round(d("tx_packets")),
    rx_mbps: Math.round(d("rx_bytes") * 8 / 1e4) / 100,
    tx_mbps: Math.round(d("tx_bytes") * 8 / 1e4) / 100,
  };
}

/** One NDJSON line. */
export function jsonLine(s: EngineSnapshot | EngineReport, r: Rates, final: boolean): string {
  return JSON.stringify({ ...s, elapsed: Math.round(s.elapsed * 1000) / 1000, rates: r, final });
}

/** One plain status line (for pipes and logs). */
export function plainLine(s: EngineSnapshot, r: Rates): string {
  const t = s.total;
  const counters = SHOWN_COUNTERS.map((d) => `${d.column}=${t[d.key]}`);
  return `t=${s.elapsed.toFixed(1)}s ${counters.join(" ")} ` +
    `rx_pps=${r.rx_pps} tx_pps=${r.tx_pps} ${programFields(s)} ` +
    `kernel_rx_dropped=${t.xdp_statistics.rx_dropped} xdp=${s.xdp_mode} bind=${s.bind_mode}` +
    (s.busy_poll
      ? ` busy_poll_us=${s.busy_poll.usec} busy_poll_budget=${s.busy_poll.budget}`
      : "") +
    " " + latencyFields(s.latency);
}

/** Our program's counters as `xdp_KEY=N` fields; `xdp_program=n/a` for a user's program. */
function programFields(s: EngineSnapshot): string {
  const p = s.program;
  return p
    ? `xdp_redirected=${p.redirected} xdp_passed=${p.passed} xdp_dropped=${p.dropped} ` +
      `xdp_blocked=${p.blocked}`
    : "xdp_program=n/a";
}

/** ` (your program NAME, section S, from FILE)` for a user's program (--xdp-prog), else "". */
export function userProgramNote(s: EngineSnapshot): string {
  const u = s.user_program;
  return u ? ` (your program ${u.name}, section ${u.section}, from ${u.file})` : "";
}

/** `, busy-poll N us (budget B)` when `--busy-poll` is on, else "" (for the start line). */
export function busyPollNote(s: EngineSnapshot): string {
  const b = s.busy_poll;
  return b ? `, busy-poll ${b.usec} us (budget ${b.budget})` : "";
}

/** `, multi-buffer (MTU M, B bytes per buffer)` when the sockets chain buffers, else "". */
export function multiBufferNote(s: EngineSnapshot): string {
  const m = s.multi_buffer;
  return m?.on ? `, multi-buffer (MTU ${m.mtu}, ${m.buffer_bytes} bytes per buffer)` : "";
}

/** `name value, name value, ...` of an object of numbers. */
function list(o: Record<string, number>): string {
  return Object.entries(o).map(([k, v]) => `${k} ${v}`).join(", ");
}

/** The human summary printed at exit: every counter (from the one definition), then audits. */
export function summary(r: EngineReport): string {
  const t = r.total;
  const lines = [
    `byPassRT ${r.mode === "handler" ? `handler ${r.handler}` : r.mode} on ${r.iface}: ` +
    `xdp ${r.xdp_mode}, bind ${r.bind_mode}${busyPollNote(r)}${multiBufferNote(r)}, ` +
    `${r.elapsed.toFixed(1)} s`,
    `  counters: ${QUEUE_COUNTERS.map((d) => `${d.key} ${t[d.key]}`).join(", ")}`,
    r.program
      ? `  xdp program: ${list({ ...r.program })}`
      : `  xdp program: ${r.user_program?.file ?? "yours"} (section ${
        r.user_program?.section ?? "?"
      }): counters n/a`,
    `  blocklist: ${r.blocklist ? list({ ...r.blocklist }) : "n/a"}`,
    `  kernel: ${list({ ...t.xdp_statistics })}`,
    ...latencyLines(r.latency),
  ];
  const hc = Object.fromEntries(Object.entries(r.handler_counters).filter(([, v]) => v !== 0));
  if (Object.keys(hc).length) lines.push(`  handler counters: ${list(hc)}`);
  if (r.capture) {
    const c = r.capture;
    lines.push(
      `  capture: ${c.file}: ${c.frames} frames written (${c.bytes} bytes), ` +
        `${t.pcap_dropped} not captured (capture ring full)` +
        (c.stopped ? `; stopped early: ${c.stopped}` : ""),
    );
  }
  for (const a of r.audits) {
    lines.push(
      `  frame audit q${a.queue}: ${a.balanced ? "balanced" : "NOT BALANCED"} ` +
        `(total ${a.total} = pool ${a.pool} + fill ${a.fill} + rx ${a.rx} + app ${a.app} + ` +
        `tx ${a.tx} + completion ${a.completion} + in flight ${a.inFlight}; duplicates ${a.duplicates})`,
    );
  }
  for (const e of r.errors) lines.push(`  error: ${e}`);
  return lines.join("\n");
}
