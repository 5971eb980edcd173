/**
 * What our steering program ({@link XdpProgram}) and a user's own program
 * ({@link UserXdpProgram}) have in common once loaded and attached: the interface, the attach
 * mode, the XSKMAP the sockets go into, the link that keeps it attached, and the way it is
 * detached and freed.
 *
 * @module
 */
import { close as closeFd } from "./_sys.ts";
import type { Libbpf } from "../ffi/libbpf.ts";
import type { Helper } from "../ffi/helper.ts";

/** What {@link AttachedProgram}'s constructor takes. */
export interface AttachedProgramParts {
  /** Interface name. */
  iface: string;
  /** Interface index. */
  ifindex: number;
  /** Attach mode in use. */
  mode: "native" | "skb";
  /** Why native mode was not used ("" if it was, or was not tried). */
  nativeFallback: string;
  /** fd of the XSKMAP. */
  xsksMapFd: number;
  /** bpf_link fd; closing it detaches. */
  linkFd: number;
  /** Program id in the kernel. */
  progId: number;
  /** libbpf, closed by {@link AttachedProgram.close}. */
  bpf: Libbpf;
  /** The helper library, closed by {@link AttachedProgram.close}. */
  helper: Helper;
  /** The bpf_object, freed by {@link AttachedProgram.close}. */
  obj: Deno.PointerValue;
}

/** An XDP program loaded and attached to an interface, with an XSKMAP for our sockets. */
export abstract class AttachedProgram {
  /** Interface name. */
  readonly iface: string;
  /** Interface index. */
  readonly ifindex: number;
  /** Attach mode in use. */
  readonly mode: "native" | "skb";
  /** Why native mode was not used ("" if it was, or was not tried). */
  readonly nativeFallback: string;
  /** fd of the XSKMAP (pass to openPort). */
  readonly xsksMapFd: number;
  /** bpf_link fd; closing it detaches. */
  readonly linkFd: number;
  /** Program id in the kernel. */
  readonly progId: number;
  readonly #bpf: Libbpf;
  readonly #helper: Helper;
  readonly #obj: Deno.PointerValue;
  #closed = false;

  /** @internal Takes over `p`'s fds, libraries and object: {@link close} releases them. */
  protected constructor(p: AttachedProgramParts) {
    this.iface = p.iface;
    this.ifindex = p.ifindex;
    this.mode = p.mode;
    this.nativeFallback = p.nativeFallback;
    this.xsksMapFd = p.xsksMapFd;
    this.linkFd = p.linkFd;
    this.progId = p.progId;
    this.#bpf = p.bpf;
    this.#helper = p.helper;
    this.#obj = p.obj;
  }

  /** Remove the socket of `queue` from the XSKMAP. */
  removeSocket(queue: number): void {
    this.#bpf.symbols.bpf_map_delete_elem(this.xsksMapFd, Uint32Array.of(queue));
  }

  /** Detach (close the link) and free the object (its maps go with it). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeFd(this.linkFd);
    this.#bpf.symbols.bpf_object__close(this.#obj);
    this.#bpf.close();
    this.#helper.close();
  }
}
