/**
 * Reading the kernel's per-socket AF_XDP statistics (getsockopt SOL_XDP/XDP_STATISTICS). Any
 * thread may read them: socket fds are process-wide.
 *
 * @module
 */
import { getsockoptInto, type LibcHandle } from "../ffi/libc.ts";
import { SOL_XDP, XDP_STATISTICS } from "../ffi/libxdp.ts";

/** Kernel AF_XDP statistics (`struct xdp_statistics`). */
export interface XdpStatistics {
  /** Frames dropped for reasons other than invalid descriptors (e.g. frame too large). */
  rx_dropped: number;
  /** Invalid descriptors on the FILL ring. */
  rx_invalid_descs: number;
  /** Invalid descriptors on the TX ring. */
  tx_invalid_descs: number;
  /** Frames dropped because the RX ring was full (the app did not keep up). */
  rx_ring_full: number;
  /** Times the kernel found the FILL ring empty (no frame to receive into). */
  rx_fill_ring_empty_descs: number;
  /** Times the kernel found the TX ring empty when kicked. */
  tx_ring_empty_descs: number;
}

/** All zero, e.g. for a socket already closed. */
export const ZERO_XDP_STATISTICS: Readonly<XdpStatistics> = {
  rx_dropped: 0,
  rx_invalid_descs: 0,
  tx_invalid_descs: 0,
  rx_ring_full: 0,
  rx_fill_ring_empty_descs: 0,
  tx_ring_empty_descs: 0,
};

const NAMES = Object.keys(ZERO_XDP_STATISTICS) as (keyof XdpStatistics)[];

/**
 * Statistics of socket `fd`; all zero when the call fails (socket gone).
 *
 * @example
 * ```ts ignore
 * import { openLibc } from "../ffi/libc.ts";
 * import { readXdpStatistics } from "./xdp_stats.ts";
 * console.log(readXdpStatistics(openLibc(), 28).rx_dropped);
 * ```
 */
export function readXdpStatistics(libc: LibcHandle, fd: number): XdpStatistics {
  const buf = new BigUint64Array(NAMES.length);
  const ok = getsockoptInto(libc, fd, SOL_XDP, XDP_STATISTICS, new Uint8Array(buf.buffer));
  const out = { ...ZERO_XDP_STATISTICS };
  if (ok) NAMES.forEach((name, i) => out[name] = Number(buf[i]));
  return out;
}

/** Sum of several statistics. */
export function sumXdpStatistics(all: readonly XdpStatistics[]): XdpStatistics {
  const out = { ...ZERO_XDP_STATISTICS };
  for (const s of all) for (const k of NAMES) out[k] += s[k];
  return out;
}
