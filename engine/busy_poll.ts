/**
 * Busy polling on an AF_XDP socket (`--busy-poll`): SO_PREFER_BUSY_POLL, SO_BUSY_POLL and
 * SO_BUSY_POLL_BUDGET. With them the kernel runs the device's NAPI poll from the application's
 * own `recvfrom`/`sendto` on the socket (instead of, or before, softirq context), so the polling
 * loop must make those calls: {@link Port} then wakes RX on every empty poll and kicks TX after
 * every TX burst. On a real NIC it pays off together with `napi_defer_hard_irqs` and
 * `gro_flush_timeout` on the device (see README.md, "Busy polling").
 *
 * @module
 */
import { getsockoptU32, type LibcHandle } from "../ffi/libc.ts";

/** `SOL_SOCKET` (asm-generic). */
export const SOL_SOCKET = 1;
/** `SO_BUSY_POLL`: microseconds a blocking receive may busy-poll the device queue. */
export const SO_BUSY_POLL = 46;
/** `SO_INCOMING_NAPI_ID`: the NAPI instance the socket last received from (0: none yet). */
export const SO_INCOMING_NAPI_ID = 56;
/** `SO_PREFER_BUSY_POLL`: prefer busy polling over softirq processing of the NAPI. */
export const SO_PREFER_BUSY_POLL = 69;
/** `SO_BUSY_POLL_BUDGET`: packets per busy-poll NAPI run. */
export const SO_BUSY_POLL_BUDGET = 70;

/** Default `--busy-poll` time in microseconds (what xdpsock uses). */
export const DEFAULT_BUSY_POLL_US = 20;
/** Largest `--busy-poll` time accepted (SO_BUSY_POLL is an int; longer spins make no sense). */
export const MAX_BUSY_POLL_US = 1_000_000;

/** Busy-polling settings of a port. */
export interface BusyPoll {
  /** SO_BUSY_POLL, microseconds (1..{@link MAX_BUSY_POLL_US}). */
  usec: number;
  /** SO_BUSY_POLL_BUDGET, packets per NAPI run (1..65535): the burst size. */
  budget: number;
}

/**
 * Set the three busy-poll options on socket `fd`. Returns `null`, or a one-line reason naming the
 * option and the errno of the first one that failed (the caller closes the socket).
 *
 * @example
 * ```ts ignore
 * import { openLibc } from "../ffi/libc.ts";
 * import { setBusyPoll } from "./busy_poll.ts";
 * const why = setBusyPoll(openLibc(), fd, { usec: 20, budget: 64 });
 * if (why) throw new Error(why);
 * ```
 */
export function setBusyPoll(libc: LibcHandle, fd: number, bp: BusyPoll): string | null {
  const opts: [string, number, number][] = [
    ["SO_PREFER_BUSY_POLL", SO_PREFER_BUSY_POLL, 1],
    ["SO_BUSY_POLL", SO_BUSY_POLL, bp.usec],
    ["SO_BUSY_POLL_BUDGET", SO_BUSY_POLL_BUDGET, bp.budget],
  ];
  for (const [name, opt, value] of opts) {
    const v = new Int32Array([value]);
    if (libc.fn.setsockopt(fd, SOL_SOCKET, opt, new Uint8Array(v.buffer), 4) !== 0) {
      const err = libc.errno();
      return `setsockopt ${name}=${value} failed: ${libc.strerror(err)} (errno ${err})`;
    }
  }
  return null;
}

/** The socket's SO_INCOMING_NAPI_ID (0 until a frame arrived through a NAPI), or -1 on error. */
export function incomingNapiId(libc: LibcHandle, fd: number): number {
  return getsockoptU32(libc, fd, SOL_SOCKET, SO_INCOMING_NAPI_ID);
}
