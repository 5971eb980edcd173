/**
 * Choosing multi-buffer (jumbo) AF_XDP sockets for a run, once, before any socket exists: a
 * served interface whose largest frame (MTU + Ethernet header + one VLAN tag) does not fit one
 * descriptor (`frameSize` - 256 bytes of XDP headroom) needs `XDP_USE_SG`; `--multi-buffer`
 * forces it on or off. All sockets of a run share the decision (a chain received on one port
 * may leave through another). See `chains.ts` for the frames themselves.
 *
 * @module
 */
import { BypassError } from "./errors.ts";

/** `--multi-buffer`: decide from the MTUs (default), always, or never. */
export type MultiBufferMode = "auto" | "on" | "off";

/** Bytes of XDP headroom the kernel keeps at the start of every RX chunk (XDP_PACKET_HEADROOM). */
export const XDP_HEADROOM = 256;

/** Ethernet header plus one 802.1Q tag: what a frame adds to the MTU. */
export const L2_OVERHEAD = 14 + 4;

/**
 * Largest MTU native XDP takes with a program that is not frags-aware (veth: the peer's MTU;
 * one page minus headroom and `skb_shared_info`).
 */
export const NATIVE_LINEAR_MTU = 3506;

/** The MTU of `iface` (from sysfs), or -1 when it cannot be read. */
export function interfaceMtu(iface: string): number {
  try {
    return Number(Deno.readTextFileSync(`/sys/class/net/${iface}/mtu`).trim());
  } catch {
    return -1;
  }
}

/** Bytes one RX descriptor holds with `frameSize`-byte frames. */
export function descriptorCapacity(frameSize: number): number {
  return frameSize - XDP_HEADROOM;
}

/** The decision: on or off, and why (for the status line and the snapshot). */
export interface MultiBuffer {
  /** Bind every socket with `XDP_USE_SG`. */
  on: boolean;
  /** Largest MTU of the served interfaces (-1 if unknown). */
  mtu: number;
  /** Bytes per descriptor. */
  capacity: number;
}

/**
 * Decide for a run over `ifaces` with `frameSize`-byte frames. Throws a {@link BypassError} for
 * a mode that is not auto, on or off.
 *
 * @example
 * ```ts ignore
 * import { resolveMultiBuffer } from "./multi_buffer.ts";
 * resolveMultiBuffer("auto", ["d0", "d1"], 4096); // { on: true, mtu: 9000, capacity: 3840 }
 * ```
 */
export function resolveMultiBuffer(
  mode: MultiBufferMode | undefined,
  ifaces: readonly string[],
  frameSize: number,
): MultiBuffer {
  const m = mode ?? "auto";
  if (m !== "auto" && m !== "on" && m !== "off") {
    throw new BypassError(`--multi-buffer "${m}" is invalid: use auto, on or off`);
  }
  const mtu = Math.max(...ifaces.map(interfaceMtu));
  const capacity = descriptorCapacity(frameSize);
  const on = m === "on" || (m === "auto" && mtu + L2_OVERHEAD > capacity);
  return { on, mtu, capacity };
}

/**
 * The line for a user program that native XDP will refuse on `iface` (MTU above
 * {@link NATIVE_LINEAR_MTU}) because it is not frags-aware, or null when it is fine.
 */
export function fragsProblem(
  file: string,
  section: string,
  iface: string,
  xdpMode: string,
): string | null {
  if (section === "xdp.frags" || section.startsWith("xdp.frags/") || xdpMode === "skb") {
    return null;
  }
  const mtu = interfaceMtu(iface);
  if (mtu <= NATIVE_LINEAR_MTU) return null;
  return `--xdp-prog ${file}: its program (SEC("${section}")) is not frags-aware and ${iface} ` +
    `has MTU ${mtu}, above the ${NATIVE_LINEAR_MTU} native XDP takes without fragments: put it ` +
    `in SEC("xdp.frags") (libbpf then loads it with BPF_F_XDP_HAS_FRAGS), or pass --xdp-mode ` +
    `skb, or lower the MTU to ${NATIVE_LINEAR_MTU}`;
}
