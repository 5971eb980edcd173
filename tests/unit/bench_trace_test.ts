/**
 * bench/trace_join.ts: kernel tracepoints joined into round trips and segments, on a
 * hand-written `perf script` excerpt (two runs, a pause between them, unrelated events).
 */
import assert from "node:assert/strict";
import { joinTrips, parsePerfScript, segments } from "../../bench/trace_join.ts";

/** One round trip starting at `t` s, with the given gaps in us. */
function trip(t: number, who: string, toXdp: number, toKick: number, toRx: number): string {
  const at = (us: number) => (t + us / 1e6).toFixed(9);
  const x = toXdp, k = x + toKick, r = k + toRx;
  return [
    `       rtt_probe  2001 [000] ${at(0)}: syscalls:sys_enter_sendto: fd: 0x00000003`,
    `       rtt_probe  2001 [000] ${at(0.5)}:    net:net_dev_start_xmit: dev=bpbg1 len=60`,
    `       rtt_probe  2001 [000] ${at(x)}:          xdp:xdp_redirect: prog_id=1 action=REDIRECT`,
    `       rtt_probe  2001 [000] ${at(x + 0.1)}:  syscalls:sys_exit_sendto: 0x3c`,
    `  ${who}  3003 [001] ${at(k)}: syscalls:sys_enter_sendto: fd: 0x00000029`,
    `  ${who}  3003 [001] ${at(r)}:              net:netif_rx: dev=bpbg1 len=46`,
    `  ${who}  3003 [001] ${at(r + 6)}:  syscalls:sys_exit_sendto: 0x0`,
  ].join("\n");
}

Deno.test("trace join: round trips per run, segments from the last ones", () => {
  const lines: string[] = [];
  // Run 1: worker-1, 10 trips 1 ms apart, XDP to kick 5 us (the first 4: 50 us, "warm-up").
  for (let i = 0; i < 10; i++) lines.push(trip(100 + i / 1000, "worker-1", 7, i < 4 ? 50 : 5, 4));
  lines.push("       ip 999 [000] 100.020000000: net:netif_rx: dev=lo len=10");
  // Run 2 after a pause of 1 s: a thread name with a space; XDP to kick 3 us.
  for (let i = 0; i < 5; i++) lines.push(trip(101.1 + i / 1000, "xsk ref", 8, 3, 5));
  const blocks = joinTrips(parsePerfScript(lines.join("\n")));
  assert.equal(blocks.length, 2);
  assert.equal(blocks[0].length, 10);
  assert.equal(blocks[1].length, 5);
  const a = segments(blocks[0], 6);
  assert.equal(a.responder, "worker-1");
  assert.equal(a.measured, 6);
  assert.deepEqual(a.xdpToKick, [5, 5]);
  assert.deepEqual(a.toXdp, [6.5, 6.5]);
  assert.deepEqual(a.kickToRx, [4, 4]);
  assert.deepEqual(a.kick, [10, 10]);
  assert.deepEqual(a.xdpToRx, [9, 9]);
  assert.deepEqual(a.total, [15.5, 15.5]);
  const b = segments(blocks[1], 5);
  assert.equal(b.responder, "xsk ref");
  assert.deepEqual(b.xdpToKick, [3, 3]);
  // All 10 of run 1: the warm-up's slow trips show in p90.
  assert.deepEqual(segments(blocks[0], 10).xdpToKick, [5, 50]);
});

Deno.test("trace join: a request nobody kicked for (the kernel answering) makes no trip", () => {
  const text = [
    "rtt_probe 1 [000] 5.000000000: net:net_dev_start_xmit: dev=g",
    "rtt_probe 1 [000] 5.000010000: net:netif_rx: dev=g len=46",
    "rtt_probe 1 [000] 5.000020000: syscalls:sys_exit_sendto: 0x3c",
  ].join("\n");
  assert.deepEqual(joinTrips(parsePerfScript(text)), []);
});

Deno.test("trace join, light: without the system-call events a trip ends at the answer", () => {
  // The same trips with only the three network tracepoints kept.
  const keep = /net_dev_start_xmit|xdp_redirect|netif_rx/;
  const lines: string[] = [];
  for (let i = 0; i < 6; i++) {
    lines.push(
      ...trip(200 + i / 1000, "worker-1", 7, 5, 4).split("\n").filter((l) => keep.test(l)),
    );
  }
  // Unrelated traffic between the first request and its XDP redirect is no answer.
  lines.splice(1, 0, "       ip 999 [000] 200.000001000: net:netif_rx: dev=lo len=10");
  const events = parsePerfScript(lines.join("\n"));
  assert.deepEqual(joinTrips(events), [], "the full join needs the kick");
  const blocks = joinTrips(events, 50_000, true);
  assert.equal(blocks.length, 1);
  assert.equal(blocks[0].length, 6);
  const s = segments(blocks[0], 6);
  assert.deepEqual(s.toXdp, [6.5, 6.5]);
  assert.deepEqual(s.xdpToRx, [9, 9]);
  assert.deepEqual(s.total, [15.5, 15.5]);
  assert.equal(s.responder, "");
  assert.ok(Number.isNaN(s.xdpToKick[0]));
});
