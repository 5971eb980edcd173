/**
 * The l2fwd engine loop on the {@link FakeKernel}, timed: per burst the fake kernel delivers 64
 * packets (from FILL to RX), the application does `rxBurst` → MAC swap each (as engine/loop.ts's l2fwd) → `txBurst`, and the
 * fake kernel transmits (TX to COMPLETION); the next `txBurst` reclaims the completions into the
 * pool. No NIC, no system call (NEED_WAKEUP stays clear): this measures the TypeScript runtime's
 * own cost per packet. `bench/engine_loop.c` is the same loop in C.
 *
 * The fake kernel is C on both sides: `deliver`/`transmit` are one FFI call each into
 * `build/libfakekernel.so` (`testing/fake_kernel.c`), the library the C loop links, much as a real
 * engine pays one system call per burst into a C kernel. So the TS/C ratio compares the engines.
 *
 * Run: `deno run -A bench/engine_loop.ts [packets=50000000] [burst=64]`. Prints
 * `ts: packets=N burst=B ns_per_pkt=X mpps=Y`; the measured section is bracketed by the lines
 * `== measure begin` / `== measure end` so that `--v8-flags=--trace-gc` lines between them can be
 * counted (bench/engine.sh does).
 *
 * @module
 */
import { macSwapAligned } from "../packet/ether.ts";
import type { Port } from "../engine/port.ts";
import { type FakeKernel, fakePort } from "../testing/fake_kernel.ts";

/** Packet length the fake kernel puts in each RX descriptor. */
export const LOOP_PKT_LEN = 64;

/**
 * `iters` bursts of the l2fwd loop; returns the packets forwarded. No allocation inside.
 * `addrs`/`lens` must hold `burst` entries.
 */
export function l2fwdBursts(
  port: Port,
  kernel: FakeKernel,
  addrs: Uint32Array,
  lens: Uint32Array,
  burst: number,
  iters: number,
): number {
  const umem16 = port.umem16, umem32 = port.umem32;
  let pkts = 0;
  for (let it = 0; it < iters; it++) {
    kernel.deliver(burst, LOOP_PKT_LEN);
    const n = port.rxBurst(addrs, lens, burst);
    for (let i = 0; i < n; i++) macSwapAligned(umem16, umem32, addrs[i]);
    const sent = port.txBurst(addrs, lens, n);
    if (sent < n) port.free(addrs, sent, n - sent);
    kernel.transmit();
    pkts += n;
  }
  return pkts;
}

/** A port over a fake kernel with the default sizes (4096 frames, rings of 2048). */
export function loopSetup(burst: number): {
  port: Port;
  kernel: FakeKernel;
  addrs: Uint32Array;
  lens: Uint32Array;
} {
  const { port, kernel } = fakePort({ frames: 4096, rxSize: 2048, txSize: 2048 });
  return { port, kernel, addrs: new Uint32Array(burst), lens: new Uint32Array(burst) };
}

function main(): void {
  const packets = Number(Deno.args[0] ?? 50_000_000);
  const burst = Number(Deno.args[1] ?? 64);
  if (!(packets >= burst) || !Number.isInteger(burst) || burst < 1 || burst > 1024) {
    console.error("usage: engine_loop.ts [packets >= burst] [burst 1..1024]");
    Deno.exit(2);
  }
  const { port, kernel, addrs, lens } = loopSetup(burst);
  const iters = Math.floor(packets / burst);
  // Calls of CHUNK bursts each: V8 then optimises l2fwdBursts as a whole function (entered many
  // times) rather than only by on-stack replacement of one long-running call.
  const CHUNK = 1024;
  const run = (bursts: number) => {
    let pkts = 0;
    for (let left = bursts; left > 0; left -= CHUNK) {
      pkts += l2fwdBursts(port, kernel, addrs, lens, burst, left < CHUNK ? left : CHUNK);
    }
    return pkts;
  };
  // Warm-up (a tenth of the run, at least 200 calls): let the JIT optimise the loop first.
  const warm = run(Math.max(200 * CHUNK, Math.floor(iters / 10)));
  console.log("== measure begin");
  const t0 = performance.now();
  const done = run(iters);
  const t1 = performance.now();
  console.log("== measure end");
  const ns = ((t1 - t0) * 1e6) / done;
  // Sanity after timing: every packet forwarded, every frame accounted for.
  const total = warm + done;
  const c = port.counters;
  const audit = port.audit();
  if (c.rxPackets !== total || c.txQueued !== total || kernel.transmitted !== total) {
    throw new Error(`lost packets: rx ${c.rxPackets} tx ${c.txQueued} sent ${kernel.transmitted}`);
  }
  if (!audit.balanced) throw new Error(`frame audit failed: ${JSON.stringify(audit)}`);
  console.log(
    `ts: packets=${done} burst=${burst} ns_per_pkt=${ns.toFixed(2)} mpps=${
      (1e3 / ns).toFixed(2)
    } tx_completed=${c.txPackets} audit=balanced`,
  );
}

if (import.meta.main) main();
