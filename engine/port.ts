/**
 * One AF_XDP port: a UMEM, its FILL and COMPLETION rings, a socket with its RX and TX rings, and
 * the mempool that owns every frame not on a ring. The burst API follows DPDK: `rxBurst` hands
 * frames to the caller, who must pass each one to `txBurst` or `free`.
 *
 * @module
 */
import {
  cstr,
  Errno,
  type LibcHandle,
  MAP_ANONYMOUS,
  MAP_POPULATE,
  MAP_PRIVATE,
  MSG_DONTWAIT,
  openLibc,
  POLLIN,
  PROT_READ,
  PROT_WRITE,
} from "../ffi/libc.ts";
import {
  type Libxdp,
  openLibxdp,
  SOL_XDP,
  XDP_COPY,
  XDP_OPTIONS,
  XDP_OPTIONS_ZEROCOPY,
  XDP_USE_NEED_WAKEUP,
  XDP_ZEROCOPY,
  XSK_LAYOUT,
  XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
} from "../ffi/libxdp.ts";
import { ADDR_WORDS, ConsRing, DESC_WORDS, ProdRing, type RingMemory } from "../ring/mod.ts";
import { type FrameAudit, FrameTally, Mempool } from "../mempool/mod.ts";
import { BypassError, PRIVILEGE_HINT } from "./errors.ts";
import { readXdpStatistics, type XdpStatistics } from "./xdp_stats.ts";
import { type PortOptions, type ResolvedPortOptions, resolvePortOptions } from "./options.ts";
import { checkXskLayout } from "./xsk_layout.ts";

/** Per-port software counters, updated once per burst (see {@link Port.counters}). */
export interface PortCounters {
  /** Frames taken from the RX ring. */
  rxPackets: number;
  /** Bytes of those frames. */
  rxBytes: number;
  /** Frames the kernel reported sent (COMPLETION ring), not merely queued. */
  txPackets: number;
  /** Bytes of the completed frames. */
  txBytes: number;
  /** TX descriptors queued; `txQueued - txPackets` are in flight. */
  txQueued: number;
  /** Frames the caller offered to txBurst that did not fit the TX ring. */
  txRingFull: number;
  /** sendto kicks issued for TX. */
  txKicks: number;
  /** Kicks that failed with something other than EAGAIN/EBUSY/ENOBUFS. */
  txKickErrors: number;
  /** recvfrom wake-ups issued for the FILL ring. */
  rxWakeups: number;
  /** Frames still on the RX ring at shutdown, counted as received and freed by `drainRx`. */
  drainedAtStop: number;
}

/** Index of each counter in {@link Port.counterBlock} (the stats block copies them as is). */
export const CounterSlot = {
  rxPackets: 0,
  rxBytes: 1,
  txPackets: 2,
  txBytes: 3,
  txQueued: 4,
  txRingFull: 5,
  txKicks: 6,
  txKickErrors: 7,
  rxWakeups: 8,
  drainedAtStop: 9,
} as const satisfies Record<keyof PortCounters, number>;

/** Counter names in {@link Port.counterBlock} order. */
export const COUNTER_NAMES: readonly (keyof PortCounters)[] = Object.keys(CounterSlot) as (
  keyof PortCounters
)[];

const C = CounterSlot;
const PROD = XSK_LAYOUT.xsk_ring_prod, CONS = XSK_LAYOUT.xsk_ring_cons;
const UMEM_CFG = XSK_LAYOUT.xsk_umem_config, SOCK_CFG = XSK_LAYOUT.xsk_socket_config;

/** The layout of the ring structs libxdp fills in (`struct xsk_ring_prod` / `xsk_ring_cons`). */
type RingLayout = typeof XSK_LAYOUT.xsk_ring_prod;

/**
 * Memory for one `struct xsk_ring_*` that libxdp keeps a pointer to (it reads it again when the
 * socket is deleted). Typed arrays of up to 64 bytes live inside V8's heap and may move, so each
 * struct gets its own larger, off-heap backing store, which never moves; the Port keeps it.
 */
function ringStruct(layout: RingLayout): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new ArrayBuffer(STABLE_BYTES), 0, layout.sizeof);
}

/** Bytes above V8's in-heap typed-array limit (64): such buffers are allocated off-heap. */
const STABLE_BYTES = 256;

function ringMemory(
  struct: Uint8Array<ArrayBuffer>,
  layout: RingLayout,
  words: number,
): RingMemory {
  const view = new Deno.UnsafePointerView(Deno.UnsafePointer.of(struct)!);
  const size = view.getUint32(layout.size);
  const buf = (off: number, len: number) =>
    Deno.UnsafePointerView.getArrayBuffer(view.getPointer(off)!, len);
  return {
    size,
    producer: buf(layout.producer, 4),
    consumer: buf(layout.consumer, 4),
    flags: buf(layout.flags, 4),
    ring: buf(layout.ring, size * words * 4),
  };
}

/**
 * An open AF_XDP port. Create it with {@link openPort}.
 *
 * Frame ownership: a frame is in the mempool, on one of the four rings, or held by the caller
 * between `rxBurst`/`alloc` and `txBurst`/`free`. {@link Port.audit} checks exactly that.
 */
export class Port {
  /** The options in force. */
  readonly options: ResolvedPortOptions;
  /** The whole UMEM: packet bytes of address `a` with length `l` are `umem[a .. a + l)`. */
  readonly umem: Uint8Array;
  /** The same memory as 16-bit words (for {@link macSwap16}; frame addresses are even). */
  readonly umem16: Uint16Array;
  /** The same memory as 32-bit words (for {@link macSwap32} on 4-byte aligned addresses). */
  readonly umem32: Uint32Array;
  /** The frames not on a ring and not held by the caller. */
  readonly pool: Mempool;
  /** The socket fd (for poll, and for inserting into an XSKMAP). */
  readonly fd: number;
  /** Interface index. */
  readonly ifindex: number;
  /** Actual bind mode: zero-copy or copy. */
  readonly bindMode: "zerocopy" | "copy";
  /** Why zero-copy was not used ("" when it was or was not asked for). */
  readonly zeroCopyFallback: string;
  /**
   * The software counters, one double each in {@link COUNTER_NAMES} order. A typed array, not
   * object fields: a field that grows past 2^31 changes representation (and deoptimises the
   * loop); a Float64Array slot never does, and copying it out allocates nothing.
   */
  readonly counterBlock: Float64Array = new Float64Array(COUNTER_NAMES.length);

  readonly #libc: LibcHandle;
  readonly #xdp: Libxdp;
  readonly #umemPtr: Deno.PointerValue;
  readonly #umemHandle: Deno.PointerValue;
  readonly #xsk: Deno.PointerValue;
  readonly #fill: ProdRing;
  readonly #comp: ConsRing;
  readonly #rx: ConsRing;
  readonly #tx: ProdRing;
  readonly #frameShift: number;
  /** Length of the frame queued on TX, by frame index: tx bytes are counted at completion. */
  readonly #txLen: Uint32Array;
  readonly #pollfd = new Uint8Array(8);
  readonly #structs: Uint8Array[];
  #appHeld = 0;
  /** The last refill left FILL slots empty because the pool was short. */
  #fillShort = false;
  #closed = false;
  #txOutstanding = 0;

  /** @internal Use {@link openPort}. */
  constructor(
    opts: ResolvedPortOptions,
    parts: {
      libc: LibcHandle;
      xdp: Libxdp;
      umemPtr: Deno.PointerValue;
      umem: Uint8Array;
      umemHandle: Deno.PointerValue;
      xsk: Deno.PointerValue;
      fd: number;
      ifindex: number;
      fill: RingMemory;
      comp: RingMemory;
      rx: RingMemory;
      tx: RingMemory;
      /** The `struct xsk_ring_*` memory libxdp points into: kept alive as long as the port. */
      structs?: Uint8Array[];
      bindMode: "zerocopy" | "copy";
      zeroCopyFallback: string;
    },
  ) {
    this.options = opts;
    this.#libc = parts.libc;
    this.#structs = parts.structs ?? [];
    this.#xdp = parts.xdp;
    this.#umemPtr = parts.umemPtr;
    this.umem = parts.umem;
    this.umem16 = new Uint16Array(
      parts.umem.buffer,
      parts.umem.byteOffset,
      parts.umem.length >>> 1,
    );
    this.umem32 = new Uint32Array(
      parts.umem.buffer,
      parts.umem.byteOffset,
      parts.umem.length >>> 2,
    );
    this.#umemHandle = parts.umemHandle;
    this.#xsk = parts.xsk;
    this.fd = parts.fd;
    this.ifindex = parts.ifindex;
    this.bindMode = parts.bindMode;
    this.zeroCopyFallback = parts.zeroCopyFallback;
    this.#fill = new ProdRing(parts.fill, ADDR_WORDS);
    this.#comp = new ConsRing(parts.comp, ADDR_WORDS);
    this.#rx = new ConsRing(parts.rx, DESC_WORDS);
    this.#tx = new ProdRing(parts.tx, DESC_WORDS);
    this.pool = new Mempool(opts.frames, opts.frameSize);
    this.#frameShift = Math.log2(opts.frameSize);
    this.#txLen = new Uint32Array(opts.frames);
    new DataView(this.#pollfd.buffer).setInt32(0, this.fd, true);
    // Initial FILL: exactly `fillFrames` frames (later bursts top it up as frames come back).
    const k = this.#fill.reserve(Math.min(opts.fillFrames, this.pool.available));
    this.pool.allocToRing(this.#fill.entries, this.#fill.cursor, this.#fill.mask, k);
    this.#fill.submit(k);
  }

  /**
   * Receive up to `n` frames: `addrs[i]` is the UMEM address of packet i's first byte and
   * `lens[i]` its length. The caller now owns these frames. Also tops up the FILL ring.
   * Returns the number received (0..n). No allocation, at most one system call (a wake-up, only
   * when nothing arrived and the kernel asked for one).
   */
  rxBurst(addrs: Uint32Array, lens: Uint32Array, n: number): number {
    const rx = this.#rx, filling = this.options.fillFrames > 0;
    const k = rx.peek(n);
    if (k === 0) {
      // The kernel takes FILL entries only as frames arrive, which we would see on RX: with
      // nothing received, FILL needs frames only if the pool ran short last time.
      if (filling && this.#fillShort) this.#refill(n);
      if (filling && this.#fill.needsWakeup()) {
        this.counterBlock[C.rxWakeups]++;
        this.#libc.fn.recvfrom(this.fd, null, 0n, MSG_DONTWAIT, null, null);
      }
      return 0;
    }
    const e = rx.entries, mask = rx.mask, start = rx.cursor;
    let bytes = 0;
    for (let i = 0; i < k; i++) {
      const w = ((start + i) & mask) << 2;
      addrs[i] = e[w];
      const len = e[w + 2];
      lens[i] = len;
      bytes += len;
    }
    rx.release(k);
    if (filling) this.#refill(k);
    this.#appHeld += k;
    this.counterBlock[C.rxPackets] += k;
    this.counterBlock[C.rxBytes] += bytes;
    return k;
  }

  /**
   * Queue up to `n` frames for sending and kick the kernel if it asked. Frames `0..k-1` (k is the
   * return value) now belong to the port; frames `k..n-1` did not fit and are still the caller's
   * (send them later or `free` them). Also reclaims completed frames into the pool.
   */
  txBurst(addrs: Uint32Array, lens: Uint32Array, n: number): number {
    this.reclaim();
    const tx = this.#tx;
    const k = tx.reserve(n);
    const e = tx.entries, mask = tx.mask, start = tx.cursor, txLen = this.#txLen;
    const shift = this.#frameShift;
    for (let i = 0; i < k; i++) {
      const w = ((start + i) & mask) << 2;
      const addr = addrs[i];
      // Words 1 (address high) and 3 (options) are zero from creation and never written.
      e[w] = addr;
      e[w + 2] = lens[i];
      txLen[addr >>> shift] = lens[i];
    }
    if (k > 0) tx.submit(k);
    if (k < n) this.counterBlock[C.txRingFull] += n - k;
    this.#appHeld -= k;
    this.#txOutstanding += k;
    this.counterBlock[C.txQueued] += k;
    this.kick();
    return k;
  }

  /** Kick the TX path if frames are outstanding and the kernel wants a wake-up (one sendto). */
  kick(): void {
    // Nothing queued, the kernel did not ask, or it already took every descriptor (the frames
    // are on their way to COMPLETION): no system call.
    if (this.#txOutstanding === 0 || !this.#tx.needsWakeup() || this.#tx.pending() === 0) return;
    this.counterBlock[C.txKicks]++;
    const r = this.#libc.fn.sendto(this.fd, null, 0n, MSG_DONTWAIT, null, 0);
    if (r < 0) {
      const err = this.#libc.errno();
      if (
        err !== Errno.EAGAIN && err !== Errno.EBUSY && err !== Errno.ENOBUFS &&
        err !== Errno.EINTR
      ) this.counterBlock[C.txKickErrors]++;
    }
  }

  /** Move completed TX frames from the COMPLETION ring to the pool; returns how many. */
  reclaim(): number {
    const comp = this.#comp;
    const k = comp.peek(comp.size);
    if (k === 0) return 0;
    const e = comp.entries, mask = comp.mask, start = comp.cursor;
    const bytes = this.pool.freeFromRing(e, start, mask, k, this.#txLen);
    comp.release(k);
    this.#txOutstanding -= k;
    this.counterBlock[C.txPackets] += k;
    this.counterBlock[C.txBytes] += bytes;
    return k;
  }

  /** Give `n` frames (`addrs[off..]`) back to the pool. */
  free(addrs: Uint32Array, off: number, n: number): void {
    this.pool.freeBurst(addrs, off, n);
    this.#appHeld -= n;
  }

  /** Take up to `n` empty frames from the pool (for generating traffic); returns how many. */
  alloc(addrs: Uint32Array, n: number): number {
    const k = this.pool.allocBurst(addrs, 0, n);
    this.#appHeld += k;
    return k;
  }

  /** The counters as an object (allocates: for reports, not for the fast path). */
  get counters(): PortCounters {
    const out = {} as PortCounters;
    COUNTER_NAMES.forEach((name, i) => out[name] = this.counterBlock[i]);
    return out;
  }

  /** Frames received so far (cheap: for loop limits). */
  get rxPackets(): number {
    return this.counterBlock[C.rxPackets];
  }

  /** Frames queued on TX so far (cheap: for loop limits). */
  get txQueued(): number {
    return this.counterBlock[C.txQueued];
  }

  /** Frames queued on TX and not yet completed. */
  get txOutstanding(): number {
    return this.#txOutstanding;
  }

  /** Frames the caller holds now. */
  get appHeld(): number {
    return this.#appHeld;
  }

  /** Sleep in poll() until the socket is readable or `timeoutMs` passes (the idle path). */
  waitReadable(timeoutMs: number): void {
    const p = this.#pollfd;
    p[4] = POLLIN;
    p[5] = 0;
    p[6] = 0;
    p[7] = 0;
    this.#libc.fn.poll(p, 1n, timeoutMs);
  }

  /** Kernel statistics of the socket (getsockopt XDP_STATISTICS). */
  statistics(): XdpStatistics {
    return readXdpStatistics(this.#libc, this.fd);
  }

  /**
   * Shutdown: take every frame left on the RX ring back into the pool (counted as received and
   * as `drainedAtStop`). Call after steering to this socket stopped, so the ring is quiet.
   */
  drainRx(): number {
    const rx = this.#rx, mask = rx.mask, e = rx.entries, pool = this.pool;
    let total = 0, k: number;
    // peek() refreshes the producer index only once its cached entries are used up: loop.
    while ((k = rx.peek(rx.size)) > 0) {
      const start = rx.cursor;
      let bytes = 0;
      for (let i = 0; i < k; i++) {
        const w = ((start + i) & mask) << 2;
        bytes += e[w + 2];
        pool.free(e[w]);
      }
      rx.release(k);
      this.counterBlock[C.rxPackets] += k;
      this.counterBlock[C.rxBytes] += bytes;
      total += k;
    }
    this.counterBlock[C.drainedAtStop] += total;
    return total;
  }

  /** Try to finish outstanding TX (kick and reclaim) for up to `ms` milliseconds. */
  drainTx(ms: number): void {
    const end = performance.now() + ms;
    while (this.#txOutstanding > 0 && performance.now() < end) {
      this.kick();
      this.reclaim();
    }
  }

  /**
   * Walk the pool and all four rings and check each frame is in exactly one place. Frames the
   * kernel holds between rings count as in flight. Call when the loop is stopped.
   */
  audit(): FrameAudit {
    const tally = new FrameTally(this.options.frames);
    const shift = this.#frameShift;
    const walk = (ring: ProdRing | ConsRing, words: number) => {
      const { producer, consumer } = ring.shared();
      const n = (producer - consumer) >>> 0;
      for (let i = 0; i < n; i++) {
        tally.see(ring.entries[((consumer + i) & ring.mask) * words] >>> shift);
      }
      return n;
    };
    let before = 0;
    this.pool.forEachFree((f) => tally.see(f));
    const pool = tally.distinct + tally.duplicates;
    before = pool;
    const fill = walk(this.#fill, ADDR_WORDS);
    const rx = walk(this.#rx, DESC_WORDS);
    const tx = walk(this.#tx, DESC_WORDS);
    const completion = walk(this.#comp, ADDR_WORDS);
    const seen = before + fill + rx + tx + completion;
    const app = this.#appHeld;
    const total = this.options.frames;
    const inFlight = total - seen - app;
    return {
      total,
      pool,
      fill,
      rx,
      app,
      tx,
      completion,
      inFlight,
      duplicates: tally.duplicates,
      balanced: tally.duplicates === 0 && inFlight === 0,
    };
  }

  /** Close the socket and the UMEM and unmap it. The port must not be used afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#xdp.symbols.xsk_socket__delete(this.#xsk);
    this.#xdp.symbols.xsk_umem__delete(this.#umemHandle);
    this.#libc.fn.munmap(this.#umemPtr, BigInt(this.options.frames * this.options.frameSize));
    this.#xdp.close();
    this.#libc.close();
  }

  /**
   * Post pool frames to the FILL ring, as many as fit. `hint` is the burst size: the kernel's
   * consumer index is re-read only when fewer than that many slots are known to be free.
   */
  #refill(hint: number): void {
    const fill = this.#fill, pool = this.pool;
    const free = fill.freeSlots(hint);
    const want = pool.available < free ? pool.available : free;
    this.#fillShort = want < free;
    if (want === 0) return;
    const k = fill.reserve(want);
    pool.allocToRing(fill.entries, fill.cursor, fill.mask, k);
    fill.submit(k);
  }
}

/**
 * Open an AF_XDP port on `iface`/`queue`. The XDP program that steers frames to it is separate
 * (see {@link loadXdpProgram}); pass its `xsksMapFd` to have the socket inserted. The first call
 * in an isolate checks libxdp's struct layouts against `XSK_LAYOUT` (see `checkXskLayout`, which
 * needs `build/libbypass_helper.so`) and throws a {@link BypassError} if they differ.
 *
 * @example
 * ```ts ignore
 * import { openPort } from "./port.ts";
 * const port = openPort({ iface: "veth-bypass", frames: 4096 });
 * const addrs = new Uint32Array(64), lens = new Uint32Array(64);
 * const n = port.rxBurst(addrs, lens, 64);
 * port.free(addrs, 0, n);
 * port.close();
 * ```
 */
export function openPort(options: PortOptions): Port {
  const opts = resolvePortOptions(options);
  // The structs below are built and read at XSK_LAYOUT's offsets: refuse a libxdp that differs.
  checkXskLayout();
  const libc = openLibc();
  const cleanup: (() => void)[] = [() => libc.close()];
  const fail = (msg: string, errno = 0): never => {
    for (const f of cleanup.reverse()) f();
    throw new BypassError(msg, errno);
  };
  const ifindex = libc.fn.if_nametoindex(cstr(opts.iface));
  if (ifindex === 0) {
    fail(`interface ${opts.iface} not found: check the name with 'ip link'`, Errno.ENODEV);
  }
  let xdp: Libxdp;
  try {
    xdp = openLibxdp();
  } catch (e) {
    return fail((e as Error).message);
  }
  cleanup.push(() => xdp.close());

  const umemBytes = opts.frames * opts.frameSize;
  const umemPtr = libc.fn.mmap(
    null,
    BigInt(umemBytes),
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
    -1,
    0n,
  );
  if (!umemPtr || Deno.UnsafePointer.value(umemPtr) === 0xffffffffffffffffn) {
    fail(`cannot map ${umemBytes} bytes of UMEM: lower --frames`, libc.errno());
  }
  cleanup.push(() => libc.fn.munmap(umemPtr, BigInt(umemBytes)));
  const umem = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(umemPtr!, umemBytes));

  const errText = (r: number) => `${libc.strerror(-r)} (errno ${-r})`;
  const createUmem = () => {
    const handleOut = new BigUint64Array(1);
    const fill = ringStruct(PROD), comp = ringStruct(CONS);
    const cfg = new Uint8Array(UMEM_CFG.sizeof);
    const dv = new DataView(cfg.buffer);
    dv.setUint32(UMEM_CFG.fill_size, opts.rxSize, true);
    dv.setUint32(UMEM_CFG.comp_size, opts.txSize, true);
    dv.setUint32(UMEM_CFG.frame_size, opts.frameSize, true);
    dv.setUint32(UMEM_CFG.frame_headroom, 0, true);
    dv.setUint32(UMEM_CFG.flags, 0, true);
    const r = xdp.symbols.xsk_umem__create(handleOut, umemPtr, BigInt(umemBytes), fill, comp, cfg);
    if (r < 0) {
      const hint = r === -Errno.EPERM ? `: ${PRIVILEGE_HINT}` : "";
      fail(`cannot create the UMEM on ${opts.iface}: ${errText(r)}${hint}`, -r);
    }
    return { handle: Deno.UnsafePointer.create(handleOut[0]), fill, comp };
  };
  const createSocket = (umemHandle: Deno.PointerValue, bindFlags: number) => {
    const xskOut = new BigUint64Array(1);
    const rx = ringStruct(CONS), tx = ringStruct(PROD);
    const cfg = new Uint8Array(SOCK_CFG.sizeof);
    const dv = new DataView(cfg.buffer);
    dv.setUint32(SOCK_CFG.rx_size, opts.rxSize, true);
    dv.setUint32(SOCK_CFG.tx_size, opts.txSize, true);
    dv.setUint32(SOCK_CFG.libxdp_flags, XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, true);
    dv.setUint32(SOCK_CFG.xdp_flags, 0, true);
    dv.setUint16(SOCK_CFG.bind_flags, bindFlags | XDP_USE_NEED_WAKEUP, true);
    let r = 0;
    // A queue just released by another socket can report EBUSY for a few tens of ms.
    for (let attempt = 0; attempt < 20; attempt++) {
      r = xdp.symbols.xsk_socket__create(
        xskOut,
        cstr(opts.iface),
        opts.queue,
        umemHandle,
        rx,
        tx,
        cfg,
      );
      if (r !== -Errno.EBUSY) break;
      const until = performance.now() + 10;
      while (performance.now() < until) { /* brief spin: setup path only */ }
    }
    return { r, xsk: r === 0 ? Deno.UnsafePointer.create(xskOut[0]) : null, rx, tx };
  };

  let umemParts = createUmem();
  let sock = createSocket(umemParts.handle, opts.bind === "copy" ? XDP_COPY : XDP_ZEROCOPY);
  let zeroCopyFallback = "";
  if (sock.r < 0 && opts.bind === "auto") {
    zeroCopyFallback = `zero-copy bind failed: ${errText(sock.r)}`;
    xdp.symbols.xsk_umem__delete(umemParts.handle);
    umemParts = createUmem();
    sock = createSocket(umemParts.handle, XDP_COPY);
  }
  if (sock.r < 0) {
    xdp.symbols.xsk_umem__delete(umemParts.handle);
    const r = sock.r;
    const why = r === -Errno.EBUSY
      ? `queue ${opts.queue} of ${opts.iface} is already used by another AF_XDP socket (another byPassRT?): stop it or pick another --queue`
      : r === -Errno.EINVAL
      ? `queue ${opts.queue} may not exist on ${opts.iface} (see 'ethtool -l ${opts.iface}'), or the sizes are not accepted`
      : r === -Errno.EOPNOTSUPP
      ? `${opts.iface} does not support ${opts.bind} mode: use --bind copy or auto`
      : r === -Errno.EPERM
      ? PRIVILEGE_HINT
      : "see 'dmesg'";
    fail(
      `cannot bind an AF_XDP socket to ${opts.iface} queue ${opts.queue}: ${errText(r)}: ${why}`,
      -r,
    );
  }
  const fd = xdp.symbols.xsk_socket__fd(sock.xsk);
  const optBuf = new Uint32Array(1), optLen = new Uint32Array([4]);
  const zc = libc.fn.getsockopt(
        fd,
        SOL_XDP,
        XDP_OPTIONS,
        new Uint8Array(optBuf.buffer),
        new Uint8Array(optLen.buffer),
      ) === 0 &&
    (optBuf[0] & XDP_OPTIONS_ZEROCOPY) !== 0;
  return new Port(opts, {
    libc,
    xdp: xdp!,
    umemPtr,
    umem,
    umemHandle: umemParts.handle,
    xsk: sock.xsk,
    fd,
    ifindex,
    fill: ringMemory(umemParts.fill, PROD, ADDR_WORDS),
    comp: ringMemory(umemParts.comp, CONS, ADDR_WORDS),
    rx: ringMemory(sock.rx, CONS, DESC_WORDS),
    tx: ringMemory(sock.tx, PROD, DESC_WORDS),
    structs: [umemParts.fill, umemParts.comp, sock.rx, sock.tx],
    bindMode: zc ? "zerocopy" : "copy",
    zeroCopyFallback,
  });
}
