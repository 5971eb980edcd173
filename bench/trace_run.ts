/**
 * `perf record` of {@link TRACEPOINTS} around a latency run, and its report per contender run
 * (see `trace_join.ts`). Needs `perf` (Debian's linux-perf) and root.
 *
 * @module
 */
import {
  joinTrips,
  LIGHT_TRACEPOINTS,
  parsePerfScript,
  SCRIPT_FIELDS,
  segments,
  TRACE_FILTERS,
  TRACEPOINTS,
} from "./trace_join.ts";

/** A running `perf record`. */
export interface Trace {
  /** Stop recording (idempotent). */
  stop(): Promise<void>;
  /**
   * Stop, read the trace and pair its blocks with `runs` (in the order they ran); one line per
   * run with the p50 (p90) of each segment over its last `measured` round trips.
   */
  report(runs: readonly string[], measured: number): Promise<string[]>;
}

/** Whether `perf` can be run here (before setting anything up for a traced run). */
export async function havePerf(): Promise<boolean> {
  try {
    return (await new Deno.Command("perf", { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

/**
 * Start `perf record -a` of the tracepoints into `file`; `light`: only
 * {@link LIGHT_TRACEPOINTS} (no system-call tracepoints).
 */
export async function startTrace(file: string, light = false): Promise<Trace> {
  const events = (light ? LIGHT_TRACEPOINTS : TRACEPOINTS).flatMap((e) => {
    const filter = TRACE_FILTERS[e as typeof TRACEPOINTS[number]];
    return filter === undefined ? ["-e", e] : ["-e", e, "--filter", filter];
  });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("perf", {
      args: ["record", "-q", "-a", ...events, "-o", file],
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new Error(
      "--trace needs perf: install linux-perf (BYPASSRT_BENCH_DEPS=1 bash scripts/install-deps.sh)",
    );
  }
  // perf needs a moment to open its events on every CPU before the first round trip.
  await new Promise((r) => setTimeout(r, 1000));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    child.kill("SIGINT");
    const st = await child.output();
    if (!st.success && st.code !== 130 && st.signal !== "SIGINT") {
      throw new Error(`perf record failed: ${new TextDecoder().decode(st.stderr).trim()}`);
    }
  };
  return {
    stop,
    async report(runs, measured) {
      await stop();
      const out = await new Deno.Command("perf", {
        args: ["script", "-i", file, "--ns", "-F", SCRIPT_FIELDS],
        stdout: "piped",
        stderr: "null",
      }).output();
      const blocks = joinTrips(parsePerfScript(new TextDecoder().decode(out.stdout)), 50_000, light)
        .filter((b) => b.length >= measured);
      const lines = [
        `trace ${file}: ${blocks.length} runs with round trips, ${runs.length} runs; ` +
        `p50 (p90) us of the last ${measured} round trips of each`,
      ];
      // The kernel answering itself leaves no trips: pair only runs whose responder kicks.
      const traced = runs.filter((r) => !/^round \d+ ping kernel$/.test(r));
      if (traced.length !== blocks.length) {
        lines.push(`  (cannot pair ${blocks.length} blocks with ${traced.length} runs: by order)`);
      }
      const f = (v: [number, number]) => `${v[0].toFixed(2)} (${v[1].toFixed(2)})`;
      blocks.forEach((b, i) => {
        const s = segments(b, measured);
        const kick = light ? "" : `XDP to kick ${f(s.xdpToKick)}, kick to answer ` +
          `${f(s.kickToRx)}, kick ${f(s.kick)}, `;
        lines.push(
          `  ${(traced[i] ?? "?").padEnd(28)} [${s.responder}] to XDP ${f(s.toXdp)}, ${kick}` +
            `XDP to answer ${f(s.xdpToRx)}, request to answer ${f(s.total)}`,
        );
      });
      return lines;
    },
  };
}
