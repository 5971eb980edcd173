/**
 * What one call costs in a Worker right after the thread spun for a while without making it
 * (`taskset -c 1 deno run -A bench/cold_call.ts`): the per-frame clock reads the time once per
 * burst, and at 1000 frames/s a burst comes after a millisecond of empty polls. For each
 * candidate (`performance.now()`, FFI `clock_gettime`, `Date.now()`, an empty function), 300
 * times: spin 1 ms (or 0.01 ms) on Atomics.load and an FFI clock, then time the one call between
 * two FFI clock reads. Prints p50 and p90 in ns (the bracket's own cost included: compare the
 * rows with each other, not with zero). BENCHMARKS.md "Per-frame clock" has a run.
 *
 * @module
 */
const code = `
const lib = Deno.dlopen("libc.so.6", {
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
});
const ts = new Uint8Array(16), t32 = new Uint32Array(ts.buffer);
const mono = () => { lib.symbols.clock_gettime(1, ts); return t32[0] * 1e9 + t32[2]; };
const sab = new Int32Array(new SharedArrayBuffer(8));
function spin(ms) {
  const e = mono() + ms * 1e6;
  while (mono() < e) for (let j = 0; j < 25; j++) Atomics.load(sab, 0);
}
const fns = {
  "performance.now()": () => performance.now(),
  "FFI clock_gettime": () => mono(),
  "Date.now()": () => Date.now(),
  "empty function": () => 0,
};
for (let r = 0; r < 2; r++) {
  for (const [name, f] of Object.entries(fns)) {
    for (const gap of [1, 0.01]) {
      const v = [];
      for (let k = 0; k < 300; k++) {
        spin(gap);
        const x = mono();
        f();
        v.push(mono() - x);
      }
      v.sort((a, b) => a - b);
      postMessage(name + " after " + gap + " ms: p50 " + v[150] + " p90 " + v[270] + " ns");
    }
  }
}
postMessage("done");`;
const w = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })), {
  type: "module",
});
w.onmessage = (e: MessageEvent<string>) => {
  console.log(e.data);
  if (e.data === "done") w.terminate();
};
