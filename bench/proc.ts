/**
 * Child processes for the benchmark: line-by-line capture with arrival times, commands on stdin,
 * clean stops, CPU time from /proc, and a registry so that Ctrl-C kills every child we started
 * (and only those, by pid).
 *
 * @module
 */

/** One line of output and when it arrived (performance.now(), ms). */
export interface Line {
  at: number;
  text: string;
}

const live = new Set<Proc>();

/** Environment for children: no RUST_BACKTRACE (clean Deno errors). */
export function childEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.RUST_BACKTRACE;
  return env;
}

/** A running child with its stdout lines (and stderr text) collected as they arrive. */
export class Proc {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  readonly started = performance.now();
  readonly lines: Line[] = [];
  stderr = "";
  /** Called synchronously for every stdout line as it arrives. */
  onLine?: (l: Line) => void;
  readonly status: Promise<Deno.CommandStatus>;
  #waiters: { pred: (l: Line) => boolean; res: (l: Line) => void }[] = [];
  #writer?: WritableStreamDefaultWriter<Uint8Array>;
  #exited = false;

  constructor(name: string, argv: string[], opts: { stdin?: boolean; stderrToo?: boolean } = {}) {
    this.name = name;
    this.child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: opts.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      env: childEnv(),
      clearEnv: true,
    }).spawn();
    this.pid = this.child.pid;
    live.add(this);
    if (opts.stdin) this.#writer = this.child.stdin.getWriter();
    const pump = async (stream: ReadableStream<Uint8Array>, isErr: boolean) => {
      let buf = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        if (isErr) this.stderr += chunk;
        if (isErr && !opts.stderrToo) continue;
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          this.#push({ at: performance.now(), text: buf.slice(0, i) });
          buf = buf.slice(i + 1);
        }
      }
      if (buf) this.#push({ at: performance.now(), text: buf });
    };
    this.status = Promise.all([pump(this.child.stdout, false), pump(this.child.stderr, true)])
      .then(() => this.child.status)
      .finally(() => {
        this.#exited = true;
        live.delete(this);
        for (const w of this.#waiters) w.res({ at: performance.now(), text: "" });
        this.#waiters = [];
      });
  }

  #push(l: Line): void {
    this.lines.push(l);
    this.onLine?.(l);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pred(l)) return true;
      w.res(l);
      return false;
    });
  }

  /** True once the process has exited and its output is drained. */
  get exited(): boolean {
    return this.#exited;
  }

  /**
   * The first line (already seen or future) matching `pred`; rejects on timeout or if the
   * process exits first.
   */
  waitFor(pred: (l: Line) => boolean, timeoutMs: number, after = 0): Promise<Line> {
    const seen = this.lines.find((l) => l.at >= after && pred(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      if (this.#exited) {
        rej(new Error(`${this.name} exited: ${this.tail()}`));
        return;
      }
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        rej(new Error(`${this.name}: timed out after ${timeoutMs} ms: ${this.tail()}`));
      }, timeoutMs);
      const waiter = {
        pred: (l: Line) => l.at >= after && pred(l),
        res: (l: Line) => {
          clearTimeout(timer);
          if (l.text === "" && this.#exited && !pred(l)) {
            rej(new Error(`${this.name} exited: ${this.tail()}`));
          } else res(l);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Write one line to stdin (ignored once the process is gone). */
  async send(line: string): Promise<void> {
    if (!this.#writer || this.#exited) return;
    try {
      await this.#writer.write(new TextEncoder().encode(line + "\n"));
    } catch { /* process gone */ }
  }

  /** Close stdin. */
  async closeStdin(): Promise<void> {
    try {
      await this.#writer?.close();
    } catch { /* already closed */ }
  }

  /** Last part of stderr (or stdout) for error messages. */
  tail(n = 400): string {
    const s = (this.stderr || this.lines.map((l) => l.text).join("\n")).trim();
    return s.length > n ? "..." + s.slice(-n) : s || "(no output)";
  }

  /** Send `signal`, wait up to `graceMs`, then SIGKILL. Resolves with the exit status. */
  async stop(signal: Deno.Signal = "SIGINT", graceMs = 8000): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      try {
        this.child.kill(signal);
      } catch { /* gone */ }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((res) =>
      timer = setTimeout(() => res("timeout"), graceMs)
    );
    const r = await Promise.race([this.status, timeout]);
    clearTimeout(timer);
    if (r === "timeout") {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    return await this.status;
  }
}

/** Kill every child still running (SIGINT first, then SIGKILL). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop("SIGINT", 3000)));
}

const CLK_TCK = 100; // USER_HZ on Linux

/** utime + stime of process `pid` (all threads) in ns, or NaN when it is gone. */
export function processCpuNs(pid: number): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 1e9 / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Pids of the children still running (and our own). */
export function ourPids(): Set<number> {
  return new Set([Deno.pid, ...[...live].map((p) => p.pid)]);
}

/**
 * CPU time (ns) used so far by each user-space process that is not ours, by pid: a noise
 * indicator (see {@link foreignDelta}). Kernel threads (children of kthreadd, pid 2) are left
 * out: softirq work of our own traffic can run there.
 */
export function foreignCpuNs(): Map<number, number> {
  const ours = ourPids();
  const m = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    if (ours.has(pid) || pid === 2) continue;
    try {
      const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      if (f[1] === "2") continue; // ppid kthreadd
      m.set(pid, (Number(f[11]) + Number(f[12])) * 1e9 / CLK_TCK);
    } catch { /* gone */ }
  }
  return m;
}

/**
 * CPU time other processes used between two readings: the growth of those alive at both, plus
 * all of those born in between (processes that exited in between are missed: a lower bound).
 */
export function foreignDelta(a: Map<number, number>, b: Map<number, number>): number {
  let sum = 0;
  for (const [pid, ns] of b) sum += ns - (a.get(pid) ?? 0);
  return sum;
}

/** Busy share (0..1) of all CPUs over `ms` (from /proc/stat). */
export async function busyShare(ms: number): Promise<number> {
  const read = () => {
    const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
      .map(Number);
    const idle = f[3] + f[4];
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  return b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : 0;
}

/** Softirq and steal (hypervisor) time of all CPUs (from /proc/stat) in ns. */
export function cpuStatNs(): { softirq: number; steal: number } {
  const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/);
  return { softirq: Number(f[7]) * 1e9 / CLK_TCK, steal: Number(f[8]) * 1e9 / CLK_TCK };
}

const dec = new TextDecoder();

/** Run to completion; returns stdout (throws with stderr on failure unless `allowFail`). */
export async function run(argv: string[], allowFail = false): Promise<string> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: childEnv(),
    clearEnv: true,
  }).output();
  if (out.code !== 0 && !allowFail) {
    throw new Error(`${argv.join(" ")} failed (${out.code}): ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout);
}

/** Sleep `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}
