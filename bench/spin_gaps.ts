/**
 * How often a spinning Deno Worker stops running for a while, against a spinning C loop on the
 * same CPU in the same minutes: `deno run -A bench/spin_gaps.ts [--rounds 3] [--seconds 7]`
 * (needs `build/cold_cache`: `gcc -O2 -o build/cold_cache bench/cold_cache.c`). Not byPassRT's
 * code: a bare Worker that spins the way the idle loop does (an `Atomics.load` per loop,
 * `performance.now()` every 64 loops) and counts the gaps between two reads longer than 20, 50,
 * 100 and 500 us; then `build/cold_cache gaps` for as long. Both run under `taskset -c 1` (the
 * polling CPU of the benchmarks), alternating. BENCHMARKS.md ("The published run", the tails)
 * has a run: the byPassRT Worker's latency tail is compared against these.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { run } from "./proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "7" },
    worker: { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);

/** The spinner (run in a Worker): counts of gaps > 20, 50, 100, 500 us, and the longest. */
function spin(secs: number): string {
  const word = new Int32Array(new SharedArrayBuffer(4));
  const g = new Float64Array(5);
  let last = performance.now();
  const t0 = last;
  for (let loops = 1;; loops++) {
    Atomics.load(word, 0);
    if ((loops & 63) !== 0) continue;
    const t = performance.now(), d = (t - last) * 1000;
    last = t;
    if (d > 20) g[0]++;
    if (d > 50) g[1]++;
    if (d > 100) g[2]++;
    if (d > 500) g[3]++;
    if (d > g[4]) g[4] = d;
    if (t - t0 > secs * 1000) break;
  }
  return `>20us ${g[0]}, >50us ${g[1]}, >100us ${g[2]}, >500us ${g[3]}, max ${g[4].toFixed(0)} us`;
}

if (values.worker) {
  // Inside `taskset -c 1`: one Worker spins, the main thread waits for its line.
  const src = `${spin.toString()}\npostMessage(spin(${seconds}));`;
  const w = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })), {
    type: "module",
  });
  const line = await new Promise<string>((r) => (w.onmessage = (e) => r(e.data)));
  w.terminate();
  console.log(line);
} else {
  const self = new URL(import.meta.url).pathname;
  const cold = new URL("../build/cold_cache", import.meta.url).pathname;
  for (let r = 1; r <= Number(values.rounds); r++) {
    const js = await run([
      "taskset",
      "-c",
      "1",
      Deno.execPath(),
      "run",
      "-A",
      self,
      "--worker",
      "--seconds",
      String(seconds),
    ]);
    console.log(`round ${r}: Deno Worker ${seconds} s: ${js.trim()}`);
    const c = JSON.parse(await run(["taskset", "-c", "1", cold, "gaps", String(seconds)]));
    const gaps = c.gaps as Record<string, number>;
    console.log(
      `round ${r}: C loop ${seconds} s: 20-100us ${gaps["20-100us"]}, >100us ${gaps[">100us"]}, ` +
        `max ${Math.round(c.max_ns / 1000)} us`,
    );
  }
}
