/**
 * A fake AF_XDP kernel for tests and benchmarks: the four rings (FILL, COMPLETION, RX, TX), the
 * UMEM and the kernel's side of the rings. The kernel itself is C (`testing/fake_kernel.c`, built
 * into `build/libfakekernel.so` and called through `Deno.dlopen`), the very code that
 * `bench/engine_loop.c` links too, so the TS/C engine benchmark compares the engines rather than
 * two fake kernels; like a real kernel it costs the engine one call per burst. The library owns
 * the ring and UMEM memory; this module views it once through `Deno.UnsafePointerView`.
 * `fakePort` builds a real {@link Port} over it with stub libc/libxdp handles, so the whole
 * rx → process → tx → complete path runs without a NIC or privileges (FFI is needed: run with -A).
 *
 * Kernel semantics modelled (aligned UMEM mode):
 * - `deliver(n, len)`: for each packet take one address from FILL, mask it to its frame, and
 *   produce an RX descriptor `{ addr: frame + 256 (XDP_PACKET_HEADROOM), len }`. Stops early
 *   (counting drops) when FILL is empty or RX is full, like `xsk_rcv` does. `deliverFrame(bytes)`
 *   delivers one packet with given contents (real ARP/ICMP frames in tests).
 * - `transmit()`: consume every TX descriptor and produce its address on COMPLETION (as much as
 *   COMPLETION has room for).
 *
 * Neither allocates, so they can sit in a benchmark loop. If the library is missing or older than
 * its source, loading this module's kernel builds it with gcc (`deno task build`
 * builds it too).
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

const LIB_URL = new URL("../build/libfakekernel.so", import.meta.url);
const SOURCES = ["fake_kernel.c", "fake_kernel.h"].map((f) => new URL(`./${f}`, import.meta.url));
/** The command that builds the library (what {@link loadFakeKernelLib} runs when needed). */
export const FAKE_KERNEL_BUILD =
  "gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o build/libfakekernel.so testing/fake_kernel.c";

const SYMBOLS = {
  fk_create: { parameters: ["u32", "u32", "u32", "u32", "u32"], result: "i32" },
  fk_deliver: { parameters: ["i32", "u32", "u32"], result: "u32" },
  fk_transmit: { parameters: ["i32"], result: "u32" },
  fk_umem: { parameters: ["i32"], result: "pointer" },
  fk_ring_shared: { parameters: ["i32", "u32"], result: "pointer" },
  fk_ring_entries: { parameters: ["i32", "u32"], result: "pointer" },
  fk_ring_size: { parameters: ["i32", "u32"], result: "u32" },
  fk_stats: { parameters: ["i32"], result: "pointer" },
} as const;

/** The fake kernel's C functions. */
export type FakeKernelLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Ring numbers of the C accessors (FK_FILL etc. in testing/fake_kernel.h). */
const FK_FILL = 0, FK_COMP = 1, FK_RX = 2, FK_TX = 3;
/** Offsets of the consumer and flags words in `struct fk_ring_shared` (one cache line each). */
const SHARED_CONSUMER = 64, SHARED_FLAGS = 128;

let lib: FakeKernelLib | null = null;

function mtime(url: URL): number {
  try {
    return Deno.statSync(url).mtime?.getTime() ?? 0;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return -1;
    throw e;
  }
}

function buildLib(): void {
  const out = decodeURIComponent(LIB_URL.pathname);
  const root = decodeURIComponent(new URL("..", import.meta.url).pathname);
  Deno.mkdirSync(new URL(".", LIB_URL), { recursive: true });
  const tmp = `${out}.${Deno.pid}.tmp`;
  const hint = `build it with \`deno task build\` or, from ${root}, \`${FAKE_KERNEL_BUILD}\``;
  let res: Deno.CommandOutput;
  try {
    res = new Deno.Command("gcc", {
      args: [
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-shared",
        "-fPIC",
        "-o",
        tmp,
        "testing/fake_kernel.c",
      ],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
  } catch (e) {
    throw new Error(
      `fake kernel: ${out} is missing or stale and gcc could not run (${e}); ${hint}`,
    );
  }
  if (!res.success) {
    const err = new TextDecoder().decode(res.stderr);
    throw new Error(`fake kernel: building ${out} failed; ${hint}\n${err}`);
  }
  Deno.renameSync(tmp, out); // atomic: a concurrent build or a process using the old one is fine
}

/**
 * Open `build/libfakekernel.so` (once per process), first building it with gcc when it is
 * missing or older than `testing/fake_kernel.c`/`.h`. Throws a clear error when that fails.
 */
export function loadFakeKernelLib(): FakeKernelLib {
  if (lib) return lib;
  // `deno task build` builds the library. With read and run permissions a missing or stale one
  // is rebuilt here too; `deno test --allow-ffi` (no other permission) only opens it.
  const may = (name: "read" | "run") => Deno.permissions.querySync({ name }).state === "granted";
  if (may("read") && may("run")) {
    const built = mtime(LIB_URL);
    const src = Math.max(...SOURCES.map(mtime));
    if (built < 0 || src > built) buildLib();
  }
  try {
    lib = Deno.dlopen(LIB_URL, SYMBOLS).symbols;
  } catch (e) {
    throw new Error(
      `fake kernel: cannot open ${decodeURIComponent(LIB_URL.pathname)} (${e}); build it with ` +
        `\`deno task build\` or \`${FAKE_KERNEL_BUILD}\``,
    );
  }
  return lib;
}

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

  /**
   * A ring of `size` entries of `words` u32 with both indices starting at `start` (null: as they
   * are in `mem`), over `mem` (e.g. the C kernel's memory) or, without it, over fresh
   * ArrayBuffers.
   */
  constructor(size: number, words: number, start: number | null = 0, mem?: RingMemory) {
    this.mem = mem ?? {
      producer: new ArrayBuffer(4),
      consumer: new ArrayBuffer(4),
      flags: new ArrayBuffer(4),
      ring: new ArrayBuffer(size * words * 4),
      size,
    };
    this.producer = new Uint32Array(this.mem.producer, 0, 1);
    this.consumer = new Uint32Array(this.mem.consumer, 0, 1);
    this.flags = new Uint32Array(this.mem.flags, 0, 1);
    this.entries = new Uint32Array(this.mem.ring, 0, size * words);
    this.size = size;
    this.mask = size - 1;
    this.words = words;
    if (start !== null) {
      this.producer[0] = start >>> 0;
      this.consumer[0] = start >>> 0;
    }
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
  /**
   * View the kernel with this {@link FakeKernel.id} instead of creating one: from another
   * thread of the process (its Worker sees the same C library). `frames` and `frameSize` must
   * be the kernel's; the ring sizes and indices are read from it.
   */
  attach?: number;
}

/**
 * The kernel side of one AF_XDP socket and its UMEM, in C (`testing/fake_kernel.c`). Its memory is
 * never freed: a process makes only a handful of these.
 */
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
  readonly #id: number;
  readonly #deliver: FakeKernelLib["fk_deliver"];
  readonly #transmit: FakeKernelLib["fk_transmit"];
  /** `struct fk_stats` as u32 words: four u64 counters (lo, hi), then seq. */
  readonly #stats: Uint32Array;

  constructor(opts: FakeKernelOptions = {}) {
    const fk = loadFakeKernelLib();
    this.frames = opts.frames ?? 4096;
    this.frameSize = opts.frameSize ?? 2048;
    const rxSize = opts.rxSize ?? 2048, txSize = opts.txSize ?? 2048;
    const start = (opts.startIndex ?? 0) >>> 0;
    const id = opts.attach ?? fk.fk_create(this.frames, this.frameSize, rxSize, txSize, start);
    if (id < 0) {
      throw new RangeError(
        `fake kernel: cannot create ${this.frames} frames of ${this.frameSize} bytes, rings ` +
          `${rxSize}/${txSize} (sizes must be powers of two, frames >= 512 bytes)`,
      );
    }
    this.#id = id;
    this.#deliver = fk.fk_deliver;
    this.#transmit = fk.fk_transmit;
    const buf = (p: Deno.PointerValue, len: number, off = 0) =>
      Deno.UnsafePointerView.getArrayBuffer(p!, len, off);
    this.umem = new Uint8Array(buf(fk.fk_umem(id), this.frames * this.frameSize));
    this.#stats = new Uint32Array(buf(fk.fk_stats(id), 40));
    const ring = (which: number, words: number) => {
      const size = fk.fk_ring_size(id, which);
      const sh = fk.fk_ring_shared(id, which);
      // fk_create set the indices to `start`.
      return new FakeRing(size, words, null, {
        producer: buf(sh, 4),
        consumer: buf(sh, 4, SHARED_CONSUMER),
        flags: buf(sh, 4, SHARED_FLAGS),
        ring: buf(fk.fk_ring_entries(id, which), size * words * 4),
        size,
      });
    };
    this.fill = ring(FK_FILL, ADDR_WORDS);
    this.rx = ring(FK_RX, DESC_WORDS);
    this.tx = ring(FK_TX, DESC_WORDS);
    this.comp = ring(FK_COMP, ADDR_WORDS);
  }

  /**
   * The kernel's number in the C library: another thread of this process views the same kernel
   * with `new FakeKernel({ attach: id, ... })`.
   */
  get id(): number {
    return this.#id;
  }

  /** Packets put on RX so far. */
  get delivered(): number {
    return this.#u64(0);
  }
  /** Packets `deliver` was asked for but could not deliver (FILL empty or RX full). */
  get dropped(): number {
    return this.#u64(2);
  }
  /** Packets moved from TX to COMPLETION so far. */
  get transmitted(): number {
    return this.#u64(4);
  }
  /** Sum of the lengths of the transmitted descriptors. */
  get transmittedBytes(): number {
    return this.#u64(6);
  }
  /** Sequence number stamped into the next delivered packet. */
  get seq(): number {
    return this.#stats[8];
  }
  set seq(v: number) {
    this.#stats[8] = v;
  }

  #u64(word: number): number {
    return this.#stats[word] + this.#stats[word + 1] * 2 ** 32;
  }

  /**
   * Receive `n` packets of `len` bytes into frames taken from FILL; returns how many made it
   * onto RX. Each packet gets dst MAC {@link FAKE_DST_MAC}, src MAC {@link FAKE_SRC_MAC},
   * ethertype 0x0800 and a u32 LE sequence number at byte 14 (18 bytes written whatever `len`).
   * One FFI call into `fk_deliver`.
   */
  deliver(n: number, len: number): number {
    return this.#deliver(this.#id, n, len);
  }

  /**
   * Receive one packet with the given bytes (for tests that need real frames): `deliver(1,
   * frame.length)`, then `frame` is copied over the packet. Bytes `deliver` stamps past the end
   * of a frame shorter than 18 bytes stay in the UMEM, outside the packet. Returns false, counted
   * as dropped, when FILL is empty or RX is full. No allocation; the benchmark uses `deliver`.
   */
  deliverFrame(frame: Uint8Array): boolean {
    if (this.deliver(1, frame.length) === 0) return false;
    this.umem.set(frame, this.rx.addrAt((this.rx.producer[0] - 1) >>> 0));
    return true;
  }

  /**
   * Send every queued TX descriptor: move its address to COMPLETION. Returns how many. One FFI
   * call into `fk_transmit`.
   */
  transmit(): number {
    return this.#transmit(this.#id);
  }

  /** Sequence number stamped into the packet at UMEM address `addr`. */
  seqAt(addr: number): number {
    const u = this.umem;
    return (u[addr + 14] | (u[addr + 15] << 8) | (u[addr + 16] << 16) | (u[addr + 17] << 24)) >>>
      0;
  }
}

/**
 * The fake port's socket descriptor: non-negative, as a real one, so that a kick (`sendto` on
 * the socket) and {@link Port.keepWarm}'s `sendto` on fd -1 can be told apart.
 */
export const FAKE_SOCKET_FD = 1000;

/** How often each stubbed libc/libxdp function was called. */
export interface FakeCalls {
  /** Kicks: `sendto` on the socket. */
  sendto: number;
  /** `sendto` on fd -1 ({@link Port.keepWarm}): refused, as the kernel does (EBADF). */
  warm: number;
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

/**
 * Make `f`'s kernel work like a real one under need_wakeup, driven only by the port's own
 * system calls: XDP_RING_NEED_WAKEUP is set on FILL and TX; every FILL wake-up (`recvfrom`, which
 * the port makes when it finds RX empty) delivers `n` packets of `len` bytes, and every TX kick
 * (`sendto`) transmits everything queued. With `deliverOnKick` (a loaded forwarder: the next burst
 * arrives while this one is processed) the kick also delivers `n` packets, so RX is never found
 * empty after the first burst. Each hook is one closure call around one or two FFI calls into the
 * C kernel, and allocates nothing. Replaces any `recvfrom`/`sendto` hooks set before.
 *
 * @example
 * ```ts
 * import { driveOnWakeups, fakePort } from "./fake_kernel.ts";
 * const f = fakePort({ frames: 256, rxSize: 64, txSize: 64 });
 * driveOnWakeups(f, 32, 64);
 * const addrs = new Uint32Array(32), lens = new Uint32Array(32);
 * f.port.rxBurst(addrs, lens, 32); // 0: RX was empty, the wake-up delivered 32
 * f.port.rxBurst(addrs, lens, 32); // 32
 * ```
 */
export function driveOnWakeups(f: FakePort, n: number, len: number, deliverOnKick = false): void {
  const kernel = f.kernel;
  kernel.fill.setNeedWakeup(true);
  kernel.tx.setNeedWakeup(true);
  f.hooks.recvfrom = () => {
    kernel.deliver(n, len);
  };
  f.hooks.sendto = deliverOnKick
    ? () => {
      kernel.transmit();
      kernel.deliver(n, len);
    }
    : () => {
      kernel.transmit();
    };
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
  /** The stub libc the port calls (`fn.sendto` etc.): e.g. to time the hook path itself. */
  libc: LibcHandle;
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
    warm: 0,
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
      sendto: (fd: number) => {
        if (fd < 0) {
          calls.warm++;
          return -1;
        }
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
      xsk_socket__fd: () => FAKE_SOCKET_FD,
      xsk_socket__create_shared: () => -1,
      xsk_umem__create: () => -1,
    },
    close: () => {
      calls.xdpClose++;
    },
  };
  const libc = fakeLibc as unknown as LibcHandle;
  const port = new Port(resolved, {
    libc,
    xdp: fakeXdp as unknown as Libxdp,
    umemPtr: null,
    umem: kernel.umem,
    umemHandle: null,
    xsk: null,
    // Not a descriptor of this process: every call on it goes to the stubs above.
    fd: FAKE_SOCKET_FD,
    ifindex: 1,
    fill: kernel.fill.mem,
    comp: kernel.comp.mem,
    rx: kernel.rx.mem,
    tx: kernel.tx.mem,
    bindMode: "copy",
    zeroCopyFallback: "",
  });
  return { port, kernel, calls, hooks, libc };
}
