/**
 * A fake AF_XDP kernel for tests and benchmarks: the four rings (FILL, COMPLETION, RX, TX) and the
 * UMEM over plain ArrayBuffers, plus the kernel's side of the rings written as plain typed-array
 * code. `fakePort` builds a real {@link Port} over it with stub libc/libxdp handles, so the whole
 * rx → process → tx → complete path runs without a NIC, privileges or FFI.
 *
 * Kernel semantics modelled (aligned UMEM mode):
 * - `deliver(n, len)`: for each packet take one address from FILL, mask it to its frame, and
 *   produce an RX descriptor `{ addr: frame + 256 (XDP_PACKET_HEADROOM), len }`. Stops early
 *   (counting drops) when FILL is empty or RX is full, like `xsk_rcv` does.
 * - `transmit()`: consume every TX descriptor and produce its address on COMPLETION (as much as
 *   COMPLETION has room for).
 *
 * Neither allocates, so they can sit in a benchmark loop.
 *
 * @module
 */
import type { LibcHandle } from "../ffi/libc.ts";
import type { Libxdp } from "../ffi/libxdp.ts";
import { Port } from "../engine/port.ts";
import { type PortOptions, resolvePortOptions } from "../engine/options.ts";
import { ADDR_WORDS, DESC_WORDS, type RingMemory } from "../ring/xsk_ring.ts";

/** Headroom the kernel leaves in front of a received packet (XDP_PACKET_HEADROOM). */
export const FAKE_HEADROOM = 256;
/** Destination MAC written by {@link FakeKernel.deliver}. */
export const FAKE_DST_MAC: readonly number[] = [0x02, 0x00, 0x00, 0x00, 0x00, 0xd1];
/** Source MAC written by {@link FakeKernel.deliver}. */
export const FAKE_SRC_MAC: readonly number[] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x51];
/** Offset of the u32 (little-endian) sequence number `deliver` stamps after the ethertype. */
export const FAKE_SEQ_OFFSET = 14;

/** One ring: its shared memory, and the kernel's typed views of it. */
export class FakeRing {
  /** What a {@link ProdRing}/{@link ConsRing} is constructed over. */
  readonly mem: RingMemory;
  /** Shared producer index (u32). */
  readonly producer: Uint32Array;
  /** Shared consumer index (u32). */
  readonly consumer: Uint32Array;
  /** Shared flags word (bit 0: XDP_RING_NEED_WAKEUP). */
  readonly flags: Uint32Array;
  /** Entry array, `size * words` u32. */
  readonly entries: Uint32Array;
  /** Entries. */
  readonly size: number;
  /** `size - 1`. */
  readonly mask: number;
  /** u32 words per entry (2 for addresses, 4 for descriptors). */
  readonly words: number;

  /** A ring of `size` entries of `words` u32 with both indices starting at `start`. */
  constructor(size: number, words: number, start = 0) {
    this.mem = {
      producer: new ArrayBuffer(4),
      consumer: new ArrayBuffer(4),
      flags: new ArrayBuffer(4),
      ring: new ArrayBuffer(size * words * 4),
      size,
    };
    this.producer = new Uint32Array(this.mem.producer);
    this.consumer = new Uint32Array(this.mem.consumer);
    this.flags = new Uint32Array(this.mem.flags);
    this.entries = new Uint32Array(this.mem.ring);
    this.size = size;
    this.mask = size - 1;
    this.words = words;
    this.producer[0] = start >>> 0;
    this.consumer[0] = start >>> 0;
  }

  /** Entries produced and not yet consumed. */
  count(): number {
    return (this.producer[0] - this.consumer[0]) >>> 0;
  }

  /** Room left. */
  free(): number {
    return this.size - this.count();
  }

  /** Set or clear XDP_RING_NEED_WAKEUP (what `needsWakeup()` reads). */
  setNeedWakeup(on: boolean): void {
    this.flags[0] = on ? this.flags[0] | 1 : this.flags[0] & ~1;
  }

  /** Low address word of the entry at free-running index `i`. */
  addrAt(i: number): number {
    return this.entries[(i & this.mask) * this.words];
  }

  /** Length word of the descriptor at free-running index `i` (RX/TX rings). */
  lenAt(i: number): number {
    return this.entries[(i & this.mask) * this.words + 2];
  }

  /** Produce one entry by hand (address rings: `addr`; descriptor rings: `addr`, `len`). */
  push(addr: number, len = 0): void {
    const p = this.producer[0];
    const w = (p & this.mask) * this.words;
    this.entries[w] = addr;
    this.entries[w + 1] = 0;
    if (this.words === DESC_WORDS) {
      this.entries[w + 2] = len;
      this.entries[w + 3] = 0;
    }
    this.producer[0] = (p + 1) >>> 0;
  }

  /** Consume `n` entries by hand without producing anything (a kernel that loses frames). */
  drop(n: number): void {
    this.consumer[0] = (this.consumer[0] + n) >>> 0;
  }
}

/** Sizes of a {@link FakeKernel}. */
export interface FakeKernelOptions {
  /** UMEM frames (default 4096). */
  frames?: number;
  /** Bytes per frame (default 2048). */
  frameSize?: number;
  /** FILL and RX ring entries (default 2048). */
  rxSize?: number;
  /** TX and COMPLETION ring entries (default 2048). */
  txSize?: number;
  /** Initial value of every ring's producer and consumer (default 0; try 2**32 - 3). */
  startIndex?: number;
}

/** The kernel side of one AF_XDP socket and its UMEM. */
export class FakeKernel {
  /** The UMEM. */
  readonly umem: Uint8Array<ArrayBuffer>;
  /** Bytes per frame. */
  readonly frameSize: number;
  /** Frames. */
  readonly frames: number;
  /** FILL ring (application produces, kernel consumes). */
  readonly fill: FakeRing;
  /** COMPLETION ring (kernel produces). */
  readonly comp: FakeRing;
  /** RX ring (kernel produces). */
  readonly rx: FakeRing;
  /** TX ring (application produces, kernel consumes). */
  readonly tx: FakeRing;
  /** Packets put on RX so far. */
  delivered = 0;
  /** Packets `deliver` was asked for but could not deliver (FILL empty or RX full). */
  dropped = 0;
  /** Packets moved from TX to COMPLETION so far. */
  transmitted = 0;
  /** Sum of the lengths of the transmitted descriptors. */
  transmittedBytes = 0;
  /** Sequence number stamped into the next delivered packet. */
  seq = 0;
  readonly #frameMask: number;

  constructor(opts: FakeKernelOptions = {}) {
    this.frames = opts.frames ?? 4096;
    this.frameSize = opts.frameSize ?? 2048;
    const rxSize = opts.rxSize ?? 2048, txSize = opts.txSize ?? 2048;
    const start = opts.startIndex ?? 0;
    this.umem = new Uint8Array(this.frames * this.frameSize);
    this.fill = new FakeRing(rxSize, ADDR_WORDS, start);
    this.rx = new FakeRing(rxSize, DESC_WORDS, start);
    this.tx = new FakeRing(txSize, DESC_WORDS, start);
    this.comp = new FakeRing(txSize, ADDR_WORDS, start);
    this.#frameMask = ~(this.frameSize - 1) >>> 0;
  }

  /**
   * Receive `n` packets of `len` bytes into frames taken from FILL; returns how many made it
   * onto RX. Each packet gets dst MAC {@link FAKE_DST_MAC}, src MAC {@link FAKE_SRC_MAC},
   * ethertype 0x0800 and a u32 LE sequence number at byte 14 (18 bytes written whatever `len`).
   */
  deliver(n: number, len: number): number {
    const fill = this.fill, rx = this.rx, umem = this.umem;
    const fc = fill.consumer[0], rp = rx.producer[0];
    const avail = (fill.producer[0] - fc) >>> 0;
    const room = rx.size - ((rp - rx.consumer[0]) >>> 0);
    let k = n < avail ? n : avail;
    if (room < k) k = room;
    const fe = fill.entries, fmask = fill.mask, re = rx.entries, rmask = rx.mask;
    const frameMask = this.#frameMask;
    let seq = this.seq;
    for (let i = 0; i < k; i++) {
      const pkt = ((fe[((fc + i) & fmask) << 1] & frameMask) >>> 0) + FAKE_HEADROOM;
      const w = ((rp + i) & rmask) << 2;
      re[w] = pkt;
      re[w + 1] = 0;
      re[w + 2] = len;
      re[w + 3] = 0;
      umem[pkt] = 0x02;
      umem[pkt + 1] = 0x00;
      umem[pkt + 2] = 0x00;
      umem[pkt + 3] = 0x00;
      umem[pkt + 4] = 0x00;
      umem[pkt + 5] = 0xd1;
      umem[pkt + 6] = 0x02;
      umem[pkt + 7] = 0x00;
      umem[pkt + 8] = 0x00;
      umem[pkt + 9] = 0x00;
      umem[pkt + 10] = 0x00;
      umem[pkt + 11] = 0x51;
      umem[pkt + 12] = 0x08;
      umem[pkt + 13] = 0x00;
      umem[pkt + 14] = seq;
      umem[pkt + 15] = seq >>> 8;
      umem[pkt + 16] = seq >>> 16;
      umem[pkt + 17] = seq >>> 24;
      seq = (seq + 1) >>> 0;
    }
    this.seq = seq;
    fill.consumer[0] = (fc + k) >>> 0;
    rx.producer[0] = (rp + k) >>> 0;
    this.delivered += k;
    this.dropped += n - k;
    return k;
  }

  /** Send every queued TX descriptor: move its address to COMPLETION. Returns how many. */
  transmit(): number {
    const tx = this.tx, comp = this.comp;
    const tc = tx.consumer[0], cp = comp.producer[0];
    const avail = (tx.producer[0] - tc) >>> 0;
    const room = comp.size - ((cp - comp.consumer[0]) >>> 0);
    const k = avail < room ? avail : room;
    const te = tx.entries, tmask = tx.mask, ce = comp.entries, cmask = comp.mask;
    let bytes = 0;
    for (let i = 0; i < k; i++) {
      const w = ((tc + i) & tmask) << 2;
      const c = ((cp + i) & cmask) << 1;
      ce[c] = te[w];
      ce[c + 1] = te[w + 1];
      bytes += te[w + 2];
    }
    tx.consumer[0] = (tc + k) >>> 0;
    comp.producer[0] = (cp + k) >>> 0;
    this.transmitted += k;
    this.transmittedBytes += bytes;
    return k;
  }

  /** Sequence number stamped into the packet at UMEM address `addr`. */
  seqAt(addr: number): number {
    const u = this.umem;
    return (u[addr + 14] | (u[addr + 15] << 8) | (u[addr + 16] << 16) | (u[addr + 17] << 24)) >>>
      0;
  }
}

/** How often each stubbed libc/libxdp function was called. */
export interface FakeCalls {
  sendto: number;
  recvfrom: number;
  poll: number;
  munmap: number;
  close: number;
  getsockopt: number;
  libcClose: number;
  xdpClose: number;
  socketDelete: number;
  umemDelete: number;
}

/** Side effects to run inside the stubbed system calls (e.g. transmit on a TX kick). */
export interface FakeHooks {
  /** Runs inside `sendto` (a TX kick). */
  sendto?: () => void;
  /** Runs inside `recvfrom` (a FILL wake-up). */
  recvfrom?: () => void;
  /** Runs inside `poll`. */
  poll?: () => void;
}

/** Options of {@link fakePort}: the port's sizes plus the fake kernel's. */
export interface FakePortOptions extends Omit<PortOptions, "iface"> {
  /** Interface name given to option validation (default "fake0"). */
  iface?: string;
  /** Initial value of every ring index (default 0). */
  startIndex?: number;
}

/** A Port over a FakeKernel, with the stub call counters and hooks. */
export interface FakePort {
  port: Port;
  kernel: FakeKernel;
  calls: FakeCalls;
  hooks: FakeHooks;
}

/**
 * Build a real {@link Port} over a fresh {@link FakeKernel}. libc/libxdp are stubs that return 0
 * and count their calls; `hooks` can add kernel behaviour to them.
 *
 * @example
 * ```ts
 * import { fakePort } from "./fake_kernel.ts";
 * const { port, kernel } = fakePort({ frames: 256, rxSize: 64, txSize: 64 });
 * kernel.deliver(4, 60);
 * const addrs = new Uint32Array(64), lens = new Uint32Array(64);
 * port.rxBurst(addrs, lens, 64); // 4
 * ```
 */
export function fakePort(opts: FakePortOptions = {}): FakePort {
  const { startIndex, ...portOpts } = opts;
  const resolved = resolvePortOptions({ ...portOpts, iface: portOpts.iface ?? "fake0" });
  const kernel = new FakeKernel({
    frames: resolved.frames,
    frameSize: resolved.frameSize,
    rxSize: resolved.rxSize,
    txSize: resolved.txSize,
    startIndex,
  });
  const calls: FakeCalls = {
    sendto: 0,
    recvfrom: 0,
    poll: 0,
    munmap: 0,
    close: 0,
    getsockopt: 0,
    libcClose: 0,
    xdpClose: 0,
    socketDelete: 0,
    umemDelete: 0,
  };
  const hooks: FakeHooks = {};
  const fakeLibc = {
    fn: {
      sendto: () => {
        calls.sendto++;
        hooks.sendto?.();
        return 0;
      },
      recvfrom: () => {
        calls.recvfrom++;
        hooks.recvfrom?.();
        return 0;
      },
      poll: () => {
        calls.poll++;
        hooks.poll?.();
        return 0;
      },
      munmap: () => {
        calls.munmap++;
        return 0;
      },
      close: () => {
        calls.close++;
        return 0;
      },
      getsockopt: () => {
        calls.getsockopt++;
        return 0;
      },
    },
    errno: () => 0,
    strerror: (code: number) => `errno ${code}`,
    close: () => {
      calls.libcClose++;
    },
  };
  const fakeXdp = {
    symbols: {
      xsk_socket__delete: () => {
        calls.socketDelete++;
      },
      xsk_umem__delete: () => {
        calls.umemDelete++;
        return 0;
      },
      xsk_socket__fd: () => -1,
      xsk_socket__create: () => -1,
      xsk_umem__create: () => -1,
    },
    close: () => {
      calls.xdpClose++;
    },
  };
  const port = new Port(resolved, {
    libc: fakeLibc as unknown as LibcHandle,
    xdp: fakeXdp as unknown as Libxdp,
    umemPtr: null,
    umem: kernel.umem,
    umemHandle: null,
    xsk: null,
    fd: -1,
    ifindex: 1,
    fill: kernel.fill.mem,
    comp: kernel.comp.mem,
    rx: kernel.rx.mem,
    tx: kernel.tx.mem,
    bindMode: "copy",
    zeroCopyFallback: "",
  });
  return { port, kernel, calls, hooks };
}
