/**
 * The V8 flags byPassRT runs with (`deno run --v8-flags=...`: the `start` task, the installed
 * `bypassrt` shim and the benchmark pass them; V8 reads them only at process start, and Deno's
 * `node:v8` `setFlagsFromString` does not change them later).
 *
 * Why: V8 tiers a function up by how often it runs (TurboFan after 3000 invocations, and not
 * before 500 invocations since its last inline-cache change). The polling loop spins on the
 * empty path millions of times a second, so that path is optimised at once; the frame path
 * (the handler, `txBurst`, reclaim) runs once per frame, and at a low rate (1000 frames/s) it stays
 * in Maglev code for seconds, while the loop's first TurboFan code, compiled before any frame,
 * deoptimises at the first frame. Lower thresholds get the frame path to TurboFan within the
 * first few hundred frames. BENCHMARKS.md ("Where the per-frame time goes") has the numbers.
 *
 * @module
 */

/** The flags, comma separated, as `--v8-flags=` takes them. */
export const BYPASSRT_V8_FLAGS =
  "--invocation-count-for-maglev=50,--invocation-count-for-turbofan=200," +
  "--minimum-invocations-after-ic-update=20";
