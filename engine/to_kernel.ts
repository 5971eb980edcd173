/**
 * Kernel reinjection: how `b.toKernel(i)` hands a frame back to the kernel stack.
 *
 * The engine creates a TAP device of its own (`bpxk0`, `bpxk1`, ...: the kernel picks the
 * number) and attaches to its tc ingress a four-instruction program, `bpf_redirect(served
 * interface, BPF_F_INGRESS)`. A frame written to the TAP is thereby received by the served
 * interface itself: `skb->dev` is that interface, so its addresses, `rp_filter`, ARP and
 * neighbour entries, sockets and netfilter rules apply exactly as for a frame that never left the
 * kernel, and the kernel's replies leave through that interface as usual. The TAP has no address,
 * no ARP and no IPv6; nothing is routed to it. Our XDP program does not see a reinjected frame
 * again: native XDP runs in the driver's poll, and generic (skb-mode) XDP skips redirected skbs.
 *
 * The TAP is not persistent: it vanishes (with its tc program) when its fd closes, which the
 * engine does at stop and the kernel does on any exit, `kill -9` included.
 *
 * Each queue's Worker writes its burst's reinjected frames with one FFI call
 * ({@link TapSink.flush}: one `writev` per frame inside C, a virtio_net_hdr marking TCP/UDP frames
 * whose checksum a local sender left partial), then gives them back to the pool: the write copied
 * them.
 *
 * @module
 */
import { BypassError } from "./errors.ts";
import { type Helper, lastLibLog, openHelper } from "../ffi/helper.ts";
import { cstr } from "../ffi/libc.ts";
import { close, ifIndex } from "./_sys.ts";
import { helperPath } from "./paths.ts";

/** Where the loop hands the frames of a burst that `b.toKernel` decided (one per Worker). */
export interface KernelSink {
  /** Frame addresses of the batch (the loop fills `0 .. n)`), at least one burst long. */
  readonly addrs: Uint32Array;
  /** Their lengths. */
  readonly lens: Uint32Array;
  /**
   * Hand frames `0 .. n)` to the kernel; returns how many it took. The caller frees all `n`
   * afterwards (they were copied).
   */
  flush(n: number): number;
}

/** The reinjection device, opened by the main thread and shared by the queue Workers. */
export interface Reinjection {
  /** The TAP's name (e.g. `bpxk0`). */
  readonly name: string;
  /** The TAP's fd (O_NONBLOCK): what the Workers write to. */
  readonly fd: number;
  /** Close the fd: the TAP device and its tc program vanish. Idempotent. */
  close(): void;
}

/**
 * Create the reinjection TAP for `iface` (in this network namespace). Throws one line naming the
 * step that failed and the fix; nothing is left behind then.
 *
 * @example
 * ```ts ignore
 * import { openReinjection } from "./to_kernel.ts";
 * const r = openReinjection("veth-bypass"); // frames written to r.fd enter veth-bypass
 * r.close();
 * ```
 */
export function openReinjection(iface: string): Reinjection {
  const ifindex = ifIndex(iface);
  if (!ifindex) {
    throw new BypassError(`interface ${iface} not found: give --iface an existing interface`);
  }
  const path = helperPath();
  const helper = openHelper(path);
  const name = new Uint8Array(16);
  let fd: number;
  try {
    fd = helper.symbols.bpx_reinject_open(cstr("bpxk%d"), ifindex, name);
    if (fd < 0) {
      throw new BypassError(
        `cannot create the kernel reinjection device (b.toKernel, --mode inspect): ` +
          `${lastLibLog(helper)}: run as root (CAP_NET_ADMIN, CAP_BPF) with /dev/net/tun ` +
          `(modprobe tun)`,
        -fd,
      );
    }
  } finally {
    helper.close();
  }
  const tapName = new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
  let open = true;
  return {
    name: tapName,
    fd,
    close() {
      if (!open) return;
      open = false;
      close(fd);
    },
  };
}

/**
 * A Worker's {@link KernelSink} writing to the reinjection TAP `fd`: the batch arrays and their
 * pointers are made once, so {@link flush} is one FFI call with plain arguments.
 */
export class TapSink implements KernelSink {
  /** Frame addresses of the batch. */
  readonly addrs: Uint32Array;
  /** Their lengths. */
  readonly lens: Uint32Array;
  readonly #helper: Helper;
  readonly #fd: number;
  readonly #umem: Deno.PointerValue;
  readonly #addrsPtr: Deno.PointerValue;
  readonly #lensPtr: Deno.PointerValue;

  /**
   * A sink for batches of up to `burst` frames of `umem` (the port's UMEM) into TAP `fd`, through
   * the opened helper library `helper` (the caller's: it closes it when the sink is done).
   */
  constructor(fd: number, helper: Helper, umem: Uint8Array, burst: number) {
    this.#helper = helper;
    this.#fd = fd;
    this.addrs = new Uint32Array(burst);
    this.lens = new Uint32Array(burst);
    this.#umem = Deno.UnsafePointer.of(umem as Uint8Array<ArrayBuffer>);
    this.#addrsPtr = Deno.UnsafePointer.of(this.addrs);
    this.#lensPtr = Deno.UnsafePointer.of(this.lens);
  }

  /** Write frames `0 .. n)` to the TAP; how many the kernel took. */
  flush(n: number): number {
    return this.#helper.symbols.bpx_reinject_burst(
      this.#fd,
      this.#umem,
      this.#addrsPtr,
      this.#lensPtr,
      n,
    );
  }
}
