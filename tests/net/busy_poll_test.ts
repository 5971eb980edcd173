/**
 * `--busy-poll`: the sockets get SO_PREFER_BUSY_POLL, SO_BUSY_POLL and SO_BUSY_POLL_BUDGET, the
 * loop issues the system calls that drive the NAPI poll, and every frame still comes back
 * byte-exact; a bad value is refused with one line and nothing attached.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { cli, echoUdp, serve, withTopology, xdpAttached } from "./_netns.ts";

const T = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "--busy-poll: l2fwd returns 1000 random UDP frames byte-exact; JSON reports the setting",
  T,
  () =>
    withTopology(async (t) => {
      const b = await serve(
        t,
        "--mode l2fwd --steer udp:9000 --busy-poll 50 --burst 32",
        () => echoUdp(t, 1000, 9000, "--seed 11"),
      );
      const f = b.final();
      deepStrictEqual(f.busy_poll, { usec: 50, budget: 32 });
      strictEqual(f.total.rx_packets, 1000);
      strictEqual(f.total.tx_packets, 1000);
      strictEqual(f.program.redirected, 1000);
      // Busy polling: every TX burst kicks, every empty poll calls recvfrom.
      ok(f.total.tx_kicks >= 1, `tx_kicks ${f.total.tx_kicks}`);
      ok(f.total.rx_wakeups > 0, `rx_wakeups ${f.total.rx_wakeups}`);
      strictEqual(f.balanced, true, JSON.stringify(f.audits));
      strictEqual(await xdpAttached(t.dut, t.dutIf), false);
    }),
);

Deno.test(
  "--busy-poll without a value takes 20 us; a bad value is refused with one line, nothing attached",
  T,
  () =>
    withTopology(async (t) => {
      const b = await serve(t, "--mode rxdrop --busy-poll", () => Promise.resolve());
      deepStrictEqual(b.final().busy_poll, { usec: 20, budget: 64 });
      for (const bad of ["0", "abc", "2000000", "-5"]) {
        const r = await cli(["--iface", t.dutIf, "--mode", "l2fwd", `--busy-poll=${bad}`], {
          ns: t.dut,
        });
        strictEqual(r.code, 1, `--busy-poll=${bad}: ${r.stderr}`);
        const lines = r.stderr.trim().split("\n");
        strictEqual(lines.length, 1, r.stderr);
        ok(lines[0].includes("--busy-poll"), r.stderr);
        strictEqual(await xdpAttached(t.dut, t.dutIf), false);
      }
    }),
);
