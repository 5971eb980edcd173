/**
 * The run command: start the engine, print metrics every interval (live table on a terminal,
 * plain lines when piped, NDJSON with --json), stop on Ctrl-C/SIGTERM, --duration or --count,
 * print the final summary, and exit non-zero if the frame audit did not balance.
 *
 * @module
 */
import { describeEvent, Engine, type EngineSnapshot } from "../engine/runtime.ts";
import { engineOptionsFromFlags, type RunFlags } from "./run_options.ts";
import { jsonLine, plainLine, rates, summary } from "./report.ts";
import { LiveTable } from "./table.ts";
import { MetricsServer, parseMetricsAddress } from "./metrics_server.ts";
import { ControlServer } from "../engine/control_server.ts";
import { withReload } from "../engine/control_commands.ts";
import { busyPollNote, multiBufferNote, userProgramNote } from "./report.ts";

/** Output flags of the run command. */
export interface OutputFlags {
  json?: boolean;
  interval: string;
  /** `HOST:PORT` to serve /metrics and the live page on. */
  metrics?: string;
}

/** `--no-control` (commander's `control: false`): no control socket. */
export interface ControlFlags {
  control?: boolean;
}

/** Run until stopped; returns the process exit code. */
export async function runCommand(
  flags: RunFlags & OutputFlags & ControlFlags,
): Promise<number> {
  const opts = engineOptionsFromFlags(flags);
  const intervalS = Number(flags.interval);
  if (!(intervalS >= 0.1 && intervalS <= 3600)) {
    throw new Error(`--interval "${flags.interval}" is invalid: give seconds from 0.1 to 3600`);
  }
  // Bound before the engine starts: a bad or busy address attaches nothing.
  const metrics = flags.metrics !== undefined
    ? MetricsServer.listen(parseMetricsAddress(flags.metrics))
    : undefined;
  // The control socket first: if another byPassRT answers on it, nothing is attached.
  const control = flags.control === false
    ? undefined
    : await ControlServer.open({ iface: opts.port.iface }).catch(async (e) => {
      await metrics?.close();
      throw e;
    });
  const engine = await Engine.start({
    ...opts,
    onEvent: (e) => console.error(`bypassrt: ${describeEvent(e)}`),
  }).catch(async (e) => {
    await control?.close();
    await metrics?.close();
    throw e;
  });
  metrics?.serve(() => engine.snapshot());
  if (metrics) {
    console.error(`bypassrt: metrics on ${metrics.url}metrics, live page ${metrics.url}`);
  }
  const out = (line: string) => console.log(line);
  const table = !flags.json && Deno.stdout.isTerminal() ? new LiveTable() : undefined;
  let prev: EngineSnapshot | undefined;

  let stopReason = "";
  let wake!: () => void;
  const stopped = new Promise<void>((res) => wake = res);
  const onSignal = (name: string) => () => {
    stopReason = name;
    wake();
  };
  const sigint = onSignal("SIGINT"), sigterm = onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", sigint);
  Deno.addSignalListener("SIGTERM", sigterm);
  // SIGHUP and `ctl handler reload`: reload the handler file (built-in modes too: they are
  // handler files), one reload at a time.
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = () => {
    const r = reloading.then(() => engine.reload());
    reloading = r.then((res) => res.ok && !flags.json && console.error(`bypassrt: ${res.message}`));
    return r;
  };
  const sighup = () => void reload();
  Deno.addSignalListener("SIGHUP", sighup);
  control?.serve(withReload(engine, reload));
  engine.finished.then(() => {
    stopReason ||= "done";
    wake();
  });
  if (opts.durationS > 0) {
    setTimeout(() => {
      stopReason ||= "duration";
      wake();
    }, opts.durationS * 1000);
  }
  const first = engine.snapshot();
  if (!flags.json) {
    console.error(
      `byPassRT ${first.mode} on ${[opts.port.iface, ...(opts.moreIfaces ?? [])].join(",")} ` +
        `queue ${opts.queues?.join(",")}: ` +
        `xdp ${engine.program.mode}${
          engine.program.nativeFallback ? ` (${engine.program.nativeFallback})` : ""
        }${userProgramNote(first)}, bind ${first.bind_mode}${busyPollNote(first)}${
          multiBufferNote(first)
        }. Ctrl-C stops.`,
    );
  }
  // First line right away: consumers know the sockets are bound and steering is live.
  if (flags.json) out(jsonLine(first, rates(undefined, first), false));
  const timer = setInterval(() => {
    const s = engine.snapshot();
    const r = rates(prev, s);
    if (flags.json) out(jsonLine(s, r, false));
    else if (table) table.draw(s, r);
    else out(plainLine(s, r));
    prev = s;
  }, intervalS * 1000);

  // Interface faults: down -> keep serving and say so (traffic resumes when it is back up);
  // gone (deleted or moved) -> stop cleanly with a clear message.
  let lastLink = "up";
  const watchdog = setInterval(() => {
    const state = engine.linkState();
    if (state === lastLink) return;
    if (state === "gone") {
      stopReason = "interface-gone";
      wake();
    } else if (!flags.json) {
      console.error(
        state === "down"
          ? `bypassrt: ${opts.port.iface} is down: waiting for it to come back (Ctrl-C stops)`
          : `bypassrt: ${opts.port.iface} is up again`,
      );
    }
    lastLink = state;
  }, 200);

  await stopped;
  clearInterval(timer);
  clearInterval(watchdog);
  Deno.removeSignalListener("SIGINT", sigint);
  Deno.removeSignalListener("SIGTERM", sigterm);
  Deno.removeSignalListener("SIGHUP", sighup);
  await control?.close();
  await reloading;
  await metrics?.close(); // ends open event streams: the stop below never waits for a page
  const report = await engine.stop();
  const r = rates(undefined, report);
  table?.done();
  if (flags.json) {
    out(jsonLine({ ...report, stop_reason: stopReason, link: lastLink } as typeof report, r, true));
  } else console.error(summary(report));
  if (stopReason === "interface-gone") {
    console.error(
      `bypassrt: error: interface ${opts.port.iface} disappeared while running: stopped ` +
        `(frame audit ${report.balanced ? "balanced" : "NOT balanced"})`,
    );
    return 4;
  }
  if (!report.balanced) return 3;
  if (report.errors.length > 0) {
    for (const e of report.errors) console.error(`bypassrt: error: ${e}`);
    return 1;
  }
  return 0;
}
