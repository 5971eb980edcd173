/**
 * Attaching an XDP program to an interface the way byPassRT does for its own program and for a
 * user's (`--xdp-prog`): refuse an interface another byPassRT serves, replace a foreign program
 * only with `--force`, attach through a bpf_link (detached by the kernel when the last fd closes,
 * also when the process is killed), native first in `auto` mode with a fallback to skb.
 *
 * @module
 */
import { BPF_XDP, type Libbpf, XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE } from "../ffi/libbpf.ts";
import { Errno } from "../ffi/libc.ts";
import { close as closeFd } from "./_sys.ts";
import { BypassError, PRIVILEGE_HINT } from "./errors.ts";

/** How the XDP program is attached: driver (native), generic (skb), or native with fallback. */
export type XdpMode = "auto" | "native" | "skb";

/** Name of byPassRT's own steering program in the kernel. */
export const OUR_PROGRAM_NAME = "bypass_steer";

/** id of the XDP program attached to `ifindex` in any mode (0 if none). */
export function attachedProgramId(bpf: Libbpf, ifindex: number): number {
  const id = new Uint32Array(1);
  return bpf.symbols.bpf_xdp_query_id(ifindex, 0, id) === 0 ? id[0] : 0;
}

/** Name of the BPF program with kernel id `id` ("" if it cannot be read). */
export function programName(bpf: Libbpf, id: number): string {
  const fd = bpf.symbols.bpf_prog_get_fd_by_id(id);
  if (fd < 0) return "";
  const info = new Uint8Array(256);
  const len = new Uint8Array(Uint32Array.of(info.length).buffer);
  const r = bpf.symbols.bpf_obj_get_info_by_fd(fd, info, len);
  closeFd(fd);
  if (r !== 0) return "";
  // struct bpf_prog_info: char name[16] at offset 64.
  const raw = info.subarray(64, 80);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(raw.subarray(0, end < 0 ? 16 : end));
}

/** Kernel id of the loaded program `progFd`. */
export function programId(bpf: Libbpf, progFd: number): number {
  const info = new Uint8Array(256);
  const infoLen = Uint32Array.of(info.length);
  bpf.symbols.bpf_obj_get_info_by_fd(progFd, info, new Uint8Array(infoLen.buffer));
  return new DataView(info.buffer).getUint32(4, true); // bpf_prog_info.id
}

/**
 * Make `iface` free for our attach: refuse when another byPassRT serves it; a foreign program
 * is refused without `force`, detached with it.
 *
 * @throws {BypassError} one line naming the program and the fix.
 */
export function claimInterface(bpf: Libbpf, ifindex: number, iface: string, force: boolean): void {
  const s = bpf.symbols;
  const existing = attachedProgramId(bpf, ifindex);
  if (existing === 0) return;
  const name = programName(bpf, existing);
  if (name === OUR_PROGRAM_NAME) {
    throw new BypassError(
      `${iface} is already served by another byPassRT (XDP program id ${existing}): ` +
        `stop that instance first (its bpf_link cannot be taken over)`,
      Errno.EBUSY,
    );
  }
  if (!force) {
    throw new BypassError(
      `${iface} already has an XDP program attached (${name || "?"}, id ${existing}): ` +
        `detach it ('ip link set ${iface} xdp off') or pass --force to replace it`,
      Errno.EBUSY,
    );
  }
  // --force: detach the foreign program in whichever mode it is attached.
  s.bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, null);
  s.bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, null);
  if (attachedProgramId(bpf, ifindex) !== 0) {
    throw new BypassError(
      `cannot remove the XDP program on ${iface} (id ${existing}): it is held by a bpf_link ` +
        `of another process (another byPassRT with --xdp-prog?); stop that process`,
      Errno.EBUSY,
    );
  }
}

/** What {@link attachLink} did. */
export interface Attached {
  /** bpf_link fd; closing it detaches. */
  linkFd: number;
  /** Attach mode in use. */
  mode: "native" | "skb";
  /** Why native mode was not used ("" if it was, or was not tried). */
  nativeFallback: string;
}

/**
 * Attach the loaded program `progFd` to `ifindex` with a bpf_link in `mode` (auto: native,
 * else skb).
 *
 * @throws {BypassError} one line with the reason and the fix.
 */
export function attachLink(
  bpf: Libbpf,
  progFd: number,
  ifindex: number,
  iface: string,
  mode: XdpMode,
): Attached {
  const attach = (flags: number) => {
    const opts = new BigUint64Array(2);
    opts[0] = 16n; // sz: libbpf reads only `flags` (offset 8)
    new DataView(opts.buffer).setUint32(8, flags, true);
    return bpf.symbols.bpf_link_create(progFd, ifindex, BPF_XDP, new Uint8Array(opts.buffer));
  };
  let linkFd = -1;
  let used: "native" | "skb" = "native";
  let nativeFallback = "";
  if (mode !== "skb") {
    linkFd = attach(XDP_FLAGS_DRV_MODE);
    if (linkFd < 0 && mode === "auto" && linkFd !== -Errno.EBUSY && linkFd !== -Errno.EPERM) {
      nativeFallback = `native attach failed: ${explainAttach(-linkFd, iface)}`;
      used = "skb";
      linkFd = attach(XDP_FLAGS_SKB_MODE);
    }
  } else {
    used = "skb";
    linkFd = attach(XDP_FLAGS_SKB_MODE);
  }
  if (linkFd < 0) {
    throw new BypassError(
      `cannot attach XDP (${used}) to ${iface}: ${explainAttach(-linkFd, iface)}`,
      -linkFd,
    );
  }
  return { linkFd, mode: used, nativeFallback };
}

function explainAttach(errno: number, iface: string): string {
  switch (errno) {
    case Errno.EBUSY:
    case Errno.EEXIST:
      return `another XDP program is attached to ${iface}: detach it or pass --force`;
    case Errno.EPERM:
    case Errno.EACCES:
      return PRIVILEGE_HINT;
    case Errno.ERANGE:
      return `MTU too large for native XDP (veth: the peer's MTU must be <= 3506), or use --xdp-mode skb`;
    case Errno.EOPNOTSUPP:
      return `driver has no native XDP: use --xdp-mode skb`;
    default:
      return `errno ${errno}`;
  }
}
