/**
 * CPU pinning: the polling Worker of a queue on a CPU of its own, and every other thread of the
 * process (main thread, V8's helper threads) off the pinned CPUs, so nothing preempts the loop.
 * Thread-level `sched_setaffinity` through libc; not on the fast path.
 *
 * @module
 */
import type { LibcHandle } from "../ffi/libc.ts";
import { BypassError } from "./errors.ts";

const MASK_BYTES = 128; // cpu_set_t: 1024 CPUs

/** Online CPU numbers of this machine (from /sys, else 0..hardwareConcurrency-1). */
export function onlineCpus(): number[] {
  try {
    const text = Deno.readTextFileSync("/sys/devices/system/cpu/online").trim();
    return text.split(",").flatMap((part) => {
      const [a, b] = part.split("-").map(Number);
      return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
    });
  } catch {
    return Array.from({ length: navigator.hardwareConcurrency }, (_, i) => i);
  }
}

/** Check `--cpu` against the queues and the online CPUs. */
export function validateCpus(cpus: number[], queues: number[]): void {
  if (cpus.length !== queues.length) {
    throw new BypassError(
      `--cpu lists ${cpus.length} CPU(s) for ${queues.length} queue(s): give one CPU per queue`,
    );
  }
  const online = onlineCpus();
  for (const c of cpus) {
    if (!online.includes(c)) {
      throw new BypassError(
        `--cpu ${c}: no such CPU online (this machine has ${online.join(",")})`,
      );
    }
  }
  if (new Set(cpus).size !== cpus.length) {
    throw new BypassError("--cpu needs a different CPU for each queue");
  }
}

function mask(cpus: number[]): Uint8Array {
  const m = new Uint8Array(MASK_BYTES);
  for (const c of cpus) m[c >> 3] |= 1 << (c & 7);
  return m;
}

/** Pin thread `tid` (0: the calling thread) to `cpus`; returns 0 or a positive errno. */
export function pinThread(libc: LibcHandle, tid: number, cpus: number[]): number {
  return libc.fn.sched_setaffinity(tid, BigInt(MASK_BYTES), mask(cpus)) === 0 ? 0 : libc.errno();
}

/** The calling thread's id. */
export function threadId(libc: LibcHandle): number {
  return libc.fn.gettid();
}

/**
 * Move every thread of this process except `keep` (the pinned Workers) onto the CPUs not in
 * `pinned`. Returns how many threads were moved. Does nothing when no CPU would be left.
 */
export function moveOthersOff(libc: LibcHandle, keep: number[], pinned: number[]): number {
  const rest = onlineCpus().filter((c) => !pinned.includes(c));
  if (rest.length === 0) return 0;
  let moved = 0;
  for (const e of Deno.readDirSync("/proc/self/task")) {
    const tid = Number(e.name);
    if (keep.includes(tid)) continue;
    if (pinThread(libc, tid, rest) === 0) moved++;
  }
  return moved;
}
