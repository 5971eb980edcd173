/**
 * One AF_XDP port: a UMEM, its FILL and COMPLETION rings, a socket with its RX and TX rings, and
 * the mempool that owns every frame not on a ring. The burst API follows DPDK: `rxBurst` hands
 * frames to the caller, who must pass each one to `txBurst` or `free`. This module is the fast
 * path only; `open_port.ts` creates the port (system calls, error messages).
 *
 * @module
 */
import { Errno, type LibcHandle, MSG_DONTWAIT, POLLIN } from "../ffi/libc.ts";
import type { Libbpf } from "../ffi/libbpf.ts";
import { type Libxdp, XDP_PKT_CONTD } from "../ffi/libxdp.ts";
import { CompRing, FillRing, type RingMemory, RxRing, TxRing, type XskRing } from "../ring/mod.ts";
import { type FrameAudit, FrameTally, Mempool } from "../mempool/mod.ts";
import { PORT_COUNTERS, type PortCounters, PortSlot, readCounters } from "./counters.ts";
import { readXdpStatistics, type XdpStatistics } from "./xdp_stats.ts";
import type { ResolvedPortOptions } from "./options.ts";
import { FrameChains } from "./chains.ts";

export type { PortCounters } from "./counters.ts";

const S = PortSlot;

/**
 * A TX kick that reads the clock first: `bpx_kick_at(fd, atNs)` of the helper library
 * (CLOCK_MONOTONIC in ns into `atNs[0]`, then `sendto`); returns sendto's result or -errno.
 */
export type KickAt = (fd: number, atNs: Float64Array<ArrayBuffer>) => number;

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
   * The links of multi-buffer frames when the socket is bound with `XDP_USE_SG`
   * (`options.multiBuffer`), shared by the ports on one UMEM; null for a single-buffer port,
   * whose burst methods then never look at chains. See `chains.ts`.
   *
   * @internal The burst and the loop read the links; a caller of rxBurst/txBurst/free needs
   * nothing of it (they move and free whole chains).
   */
  readonly chains: FrameChains | null;
  /**
   * The software counters, one double each in {@link PORT_COUNTERS} order. A typed array, not
   * object fields: a field that grows past 2^31 changes representation (and deoptimises the
   * loop); a Float64Array slot never does, and copying it out allocates nothing.
   */
  readonly counterBlock: Float64Array = new Float64Array(PORT_COUNTERS.length);

  readonly #libc: LibcHandle;
  readonly #xdp: Libxdp;
  readonly #umemPtr: Deno.PointerValue;
  readonly #umemHandle: Deno.PointerValue;
  readonly #xsk: Deno.PointerValue;
  readonly #fill: FillRing;
  readonly #comp: CompRing;
  readonly #rx: RxRing;
  readonly #tx: TxRing;
  /** libbpf and the XSKMAP this socket was inserted into (see {@link Port.unsteer}). */
  readonly #steer?: { bpf: Libbpf; mapFd: number };
  readonly #frameShift: number;
  /** Length of the frame queued on TX, by frame index: tx bytes are counted at completion. */
  readonly #txLen: Uint32Array;
  readonly #pollfd = new Uint8Array(8);
  readonly #structs: Uint8Array[];
  #appHeld = 0;
  /**
   * FILL may have empty slots the pool could cover: frames were received (their refill used the
   * cached consumer index, which can be stale) or the pool ran short. The next empty poll then
   * tops FILL up against the kernel's current consumer index.
   */
  #topUp = false;
  /** Frames received since FILL was last refilled (they are owed to FILL). */
  #owed = 0;
  /**
   * Refill FILL once this many frames are owed: a quarter of the ring, at most 256 (DPDK's PMD
   * refills in bulk too). Each refill costs an acquire load and a release store of the shared
   * indices, which cost more than the frames; FILL stays at least three quarters full.
   */
  readonly #refillBatch: number;
  #closed = false;
  #steered = true;
  /** False for a socket on another port's UMEM (see {@link openPort}'s `shareWith`). */
  readonly ownsUmem: boolean;
  #txOutstanding = 0;
  /**
   * Busy polling is on (`busyPollUs` > 0): the kernel runs the NAPI poll from our system calls,
   * so an empty poll always wakes RX and every TX burst kicks (as xdpsock does).
   */
  readonly #busyPoll: boolean;
  /** The clocked kick (`bpx_kick_at`), or null: a plain `sendto`; see {@link Port.clockKicks}. */
  #kickAt: KickAt | null = null;
  /** Where the clocked kick writes its clock reading (unused while `#kickAt` is null). */
  #kickAtNs = new Float64Array(1);

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
      /** The XSKMAP the socket was inserted into, with the libbpf handle to remove it. */
      steer?: { bpf: Libbpf; mapFd: number };
      bindMode: "zerocopy" | "copy";
      zeroCopyFallback: string;
      /**
       * The pool of the port whose UMEM this one shares (shared-UMEM socket): the UMEM, its
       * handle and its mapping then belong to that port, which closes them.
       */
      sharedPool?: Mempool;
      /** The chains of the port whose UMEM this one shares (multi-buffer). */
      sharedChains?: FrameChains | null;
    },
  ) {
    this.options = opts;
    this.#libc = parts.libc;
    this.#structs = parts.structs ?? [];
    this.#steer = parts.steer;
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
    this.#fill = new FillRing(parts.fill);
    this.#comp = new CompRing(parts.comp);
    this.#rx = new RxRing(parts.rx);
    this.#tx = new TxRing(parts.tx);
    this.pool = parts.sharedPool ?? new Mempool(opts.frames, opts.frameSize);
    this.ownsUmem = parts.sharedPool === undefined;
    this.#busyPoll = opts.busyPollUs > 0;
    this.chains = !opts.multiBuffer ? null : parts.sharedChains ?? new FrameChains(this.pool);
    this.#frameShift = Math.log2(opts.frameSize);
    this.#txLen = new Uint32Array(opts.frames);
    new DataView(this.#pollfd.buffer).setInt32(0, this.fd, true);
    // Initial FILL: exactly `fillFrames` frames (later bursts top it up as frames come back).
    this.#refillBatch = Math.max(1, Math.min(256, opts.rxSize >>> 2));
    const k = this.#fill.reserve(Math.min(opts.fillFrames, this.pool.available));
    this.pool.allocToFill(this.#fill, k);
    this.#fill.submit(k);
  }

  /**
   * Receive up to `n` frames: `addrs[i]` is the UMEM address of packet i's first byte and
   * `lens[i]` its length (on a multi-buffer port: of its first segment; the rest of a chain is
   * linked in {@link Port.chains} and moves with it). The caller now owns these frames. Also
   * tops up the FILL ring.
   * Returns the number received (0..n). No allocation, at most one system call (a wake-up, only
   * when nothing arrived and the kernel asked for one or busy polling is on).
   */
  rxBurst(addrs: Uint32Array, lens: Uint32Array, n: number): number {
    // A multi-buffer port: one test per burst, and the chain walk lives in chains.ts.
    if (this.chains !== null) return this.#rxChains(addrs, lens, n, this.chains);
    const rx = this.#rx, filling = this.options.fillFrames > 0;
    const k = rx.peek(n);
    if (k === 0) return this.#rxEmpty(filling);
    const start = rx.cursor;
    let bytes = 0;
    for (let i = 0; i < k; i++) {
      addrs[i] = rx.descAddr(start + i);
      const len = rx.descLen(start + i);
      lens[i] = len;
      bytes += len;
    }
    rx.release(k);
    if (filling) this.#owe(k);
    this.#appHeld += k;
    this.counterBlock[S.rxPackets] += k;
    this.counterBlock[S.rxBytes] += bytes;
    return k;
  }

  /** {@link Port.rxBurst} of a multi-buffer port: whole frames, chains linked in `chains`. */
  #rxChains(addrs: Uint32Array, lens: Uint32Array, n: number, chains: FrameChains): number {
    const r = chains.rx(this.#rx, addrs, lens, n);
    const filling = this.options.fillFrames > 0;
    if (r.descs === 0) return this.#rxEmpty(filling);
    if (filling) this.#owe(r.descs);
    const c = this.counterBlock;
    this.#appHeld += r.descs - r.droppedDescs;
    c[S.rxPackets] += r.frames;
    c[S.rxBytes] += r.bytes;
    c[S.rxChained] += r.chained;
    if (r.dropped > 0) c[S.chainDropped] += r.dropped;
    return r.frames;
  }

  /**
   * An RX poll that found nothing: the kernel takes FILL entries only as frames arrive, which we
   * would see on RX, so FILL needs frames once after traffic and while the pool is short; wake
   * the kernel if it asked (or always, busy polling). Returns 0 (frames received).
   */
  #rxEmpty(filling: boolean): number {
    if (filling && this.#topUp) {
      this.#topUp = this.#refill(this.#fill.size);
      this.#owed = 0;
    }
    if (this.#busyPoll || (filling && this.#fill.needsWakeup())) {
      this.counterBlock[S.rxWakeups]++;
      this.#libc.fn.recvfrom(this.fd, null, 0n, MSG_DONTWAIT, null, null);
    }
    return 0;
  }

  /** `k` buffers were received: they are owed to FILL, refilled once a batch is owed. */
  #owe(k: number): void {
    this.#owed += k;
    if (this.#owed >= this.#refillBatch) {
      this.#refill(this.#owed);
      this.#owed = 0;
    }
    this.#topUp = true;
  }

  /**
   * Queue up to `n` frames for sending and kick the kernel if it asked. Frames `0..k-1` (k is the
   * return value) now belong to the port; frames `k..n-1` did not fit and are still the caller's
   * (send them later or `free` them). Then reclaims completed frames into the pool: after the
   * kick, so that a frame's way out does not wait for it (in copy mode the kick has usually
   * completed these frames already).
   */
  txBurst(addrs: Uint32Array, lens: Uint32Array, n: number): number {
    const chains = this.chains;
    const k = chains === null
      ? this.#txSingle(addrs, lens, n)
      : this.#txChains(addrs, lens, n, chains);
    this.reclaim();
    return k;
  }

  /** {@link Port.txBurst} of a single-buffer port, up to the reclaim. */
  #txSingle(addrs: Uint32Array, lens: Uint32Array, n: number): number {
    const tx = this.#tx;
    const k = tx.reserve(n);
    const start = tx.cursor, txLen = this.#txLen, shift = this.#frameShift;
    for (let i = 0; i < k; i++) {
      const addr = addrs[i], len = lens[i];
      tx.setDesc(start + i, addr, len);
      txLen[addr >>> shift] = len;
    }
    if (k > 0) tx.submit(k);
    this.#queued(n, k, k);
    return k;
  }

  /**
   * {@link Port.txBurst} of a multi-buffer port, up to the reclaim: each frame with its whole
   * chain, or (with the frames after it) not at all: those stay the caller's, chains intact.
   */
  #txChains(addrs: Uint32Array, lens: Uint32Array, n: number, chains: FrameChains): number {
    const r = chains.tx(this.#tx, addrs, lens, n, this.#txLen);
    this.counterBlock[S.txChained] += r.chained;
    this.#queued(n, r.frames, r.descs);
    return r.frames;
  }

  /**
   * `frames` of `n` frames (`descs` descriptors) were submitted to TX: count them, and kick if
   * the kernel asked (or always, busy polling). Just submitted, so descriptors are pending: no
   * need to read the kernel's index first.
   */
  #queued(n: number, frames: number, descs: number): void {
    const c = this.counterBlock;
    if (frames < n) c[S.txRingFull] += n - frames;
    this.#appHeld -= descs;
    this.#txOutstanding += descs;
    c[S.txQueued] += frames;
    if (descs === 0) this.kick();
    else if (this.#busyPoll || this.#tx.needsWakeup()) this.#sendKick();
  }

  /**
   * Kick the TX path if frames are outstanding and the kernel wants a wake-up (one sendto); with
   * busy polling, whenever frames are outstanding (the sendto also runs the NAPI poll).
   */
  kick(): void {
    if (this.#txOutstanding === 0) return;
    // The kernel did not ask, or it already took every descriptor (the frames are on their way
    // to COMPLETION): no system call.
    if (!this.#busyPoll && (!this.#tx.needsWakeup() || this.#tx.pending() === 0)) return;
    this.#sendKick();
  }

  /**
   * The kick itself: one sendto (through {@link Port.clockKicks}' helper, which reads the clock
   * first, when the run has the per-frame clock), its failure counted unless it only means
   * "busy, try again".
   */
  #sendKick(): void {
    this.counterBlock[S.txKicks]++;
    const kick = this.#kickAt;
    let err: number;
    if (kick !== null) {
      const r = kick(this.fd, this.#kickAtNs);
      if (r >= 0) return;
      err = -r;
    } else {
      const r = this.#libc.fn.sendto(this.fd, null, 0n, MSG_DONTWAIT, null, 0);
      if (r >= 0) return;
      err = this.#libc.errno();
    }
    if (
      err !== Errno.EAGAIN && err !== Errno.EBUSY && err !== Errno.ENOBUFS && err !== Errno.EINTR
    ) this.counterBlock[S.txKickErrors]++;
  }

  /**
   * @internal From now on every kick reads CLOCK_MONOTONIC (ns) into `atNs[0]` just before its
   * `sendto`, in the same FFI call (`kick`: the helper's `bpx_kick_at`, which returns sendto's
   * result or -errno): the per-frame clock's TX point is then the moment the frames are handed
   * to the kernel, at no extra call (see `FrameClock.kickClock`). {@link Port.keepWarm} then
   * warms that way too (it may overwrite `atNs[0]` while no burst is on its way).
   */
  clockKicks(kick: KickAt, atNs: Float64Array<ArrayBuffer>): void {
    this.#kickAt = kick;
    this.#kickAtNs = atNs;
  }

  /**
   * Keep the kick's way warm while nothing arrives: one `sendto` on fd -1, which the kernel
   * refuses at once (EBADF) after the same FFI trampoline, libc wrapper and system-call entry a
   * real kick runs through. At 1000 frames/s a kick otherwise comes after a millisecond of empty
   * polls, and on a shared VM that way is then cold: untraced, in paired runs, the call took
   * 0.1-1.8 us less at p50 with this keep-warm than without (`bench/cold_path.ts`; BENCHMARKS.md,
   * "Keeping the frame path warm"). Touches no ring and no counter. Not for the fast path: the
   * loop calls it once per 256 loops, after a round that brought nothing, while busy-polling
   * (`--poll-ms 0`), unless `--no-keep-warm`.
   */
  keepWarm(): void {
    const kick = this.#kickAt;
    if (kick !== null) kick(-1, this.#kickAtNs);
    else this.#libc.fn.sendto(-1, null, 0n, MSG_DONTWAIT, null, 0);
  }

  /** Move completed TX frames from the COMPLETION ring to the pool; returns how many. */
  reclaim(): number {
    const comp = this.#comp;
    const k = comp.peek(comp.size);
    if (k === 0) return 0;
    // A chain completes buffer by buffer: count its first only (multi-buffer ports).
    const tails = this.chains === null ? 0 : this.chains.completedTails(comp, k);
    const bytes = this.pool.freeFromComp(comp, k, this.#txLen);
    comp.release(k);
    this.#txOutstanding -= k;
    this.counterBlock[S.txPackets] += k - tails;
    this.counterBlock[S.txBytes] += bytes;
    return k;
  }

  /** Give `n` frames (`addrs[off..]`, with their chains on a multi-buffer port) to the pool. */
  free(addrs: Uint32Array, off: number, n: number): void {
    const chains = this.chains;
    if (chains !== null && chains.held > 0) {
      this.#appHeld -= chains.free(addrs, off, n);
      return;
    }
    this.pool.freeBurst(addrs, off, n);
    this.#appHeld -= n;
  }

  /**
   * Cut the multi-buffer frame at `addr` (held by the caller) to its first segment, giving the
   * other segments back to the pool. No-op for a single-buffer frame or port.
   *
   * @internal `b.send(i, len)` with a shorter `len` on a chained frame.
   */
  trimChain(addr: number): void {
    if (this.chains !== null) this.#appHeld -= this.chains.trim(addr);
  }

  /** Take up to `n` empty frames from the pool (for generating traffic); returns how many. */
  alloc(addrs: Uint32Array, n: number): number {
    const k = this.pool.allocBurst(addrs, 0, n);
    this.#appHeld += k;
    return k;
  }

  /** The counters as an object (allocates: for reports, not for the fast path). */
  get counters(): PortCounters {
    return readCounters(PORT_COUNTERS, this.counterBlock);
  }

  /** @internal The UMEM's mapping and libxdp handle, for a socket that shares it. */
  get sharedUmem(): { ptr: Deno.PointerValue; handle: Deno.PointerValue; umem: Uint8Array } {
    return { ptr: this.#umemPtr, handle: this.#umemHandle, umem: this.umem };
  }

  /** Frames received so far (cheap: for loop limits). */
  get rxPackets(): number {
    return this.counterBlock[S.rxPackets];
  }

  /** Frames queued on TX and not yet completed. */
  get txOutstanding(): number {
    return this.#txOutstanding;
  }

  /** Buffers the caller holds now (a multi-buffer frame holds one per segment). */
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

  /**
   * Sleep in poll() until one of `ports` is readable or `timeoutMs` passes (the idle path of a
   * Worker serving several interfaces). `pollfds` holds 8 bytes per port, built once by the
   * caller: each port's fd at offset 8 * k (little-endian), events POLLIN.
   */
  static waitAnyReadable(ports: readonly Port[], pollfds: Uint8Array, timeoutMs: number): void {
    ports[0].#libc.fn.poll(pollfds, BigInt(ports.length), timeoutMs);
  }

  /** The `struct pollfd` array {@link Port.waitAnyReadable} takes, for `ports` (setup path). */
  static pollfds(ports: readonly Port[]): Uint8Array {
    const buf = new Uint8Array(8 * ports.length), dv = new DataView(buf.buffer);
    ports.forEach((p, k) => {
      dv.setInt32(8 * k, p.fd, true);
      buf[8 * k + 4] = POLLIN;
    });
    return buf;
  }

  /** Kernel statistics of the socket (getsockopt XDP_STATISTICS). */
  statistics(): XdpStatistics {
    return readXdpStatistics(this.#libc, this.fd);
  }

  /**
   * Shutdown: take every frame left on the RX ring back into the pool (counted as received and
   * as `drainedAtStop`). Call after steering to this socket stopped, so the ring is quiet.
   * `seen` gets each batch of frames before they are freed (the capture records them).
   */
  drainRx(seen?: (addrs: Uint32Array, lens: Uint32Array, n: number) => void): number {
    const rx = this.#rx, pool = this.pool;
    const addrs = seen ? new Uint32Array(rx.size) : undefined;
    const lens = seen ? new Uint32Array(rx.size) : undefined;
    let total = 0, k: number, inChain = 0;
    // peek() refreshes the producer index only once its cached entries are used up: loop.
    while ((k = rx.peek(rx.size)) > 0) {
      const start = rx.cursor;
      let bytes = 0;
      if (seen) {
        // One record per frame: a multi-buffer chain by its first segment (as the loop does).
        let m = 0;
        for (let i = 0; i < k; i++) {
          if (inChain === 0) {
            addrs![m] = rx.descAddr(start + i);
            lens![m++] = rx.descLen(start + i);
          }
          inChain = rx.descOptions(start + i) & XDP_PKT_CONTD;
        }
        seen(addrs!, lens!, m);
      }
      let contd = 0;
      for (let i = 0; i < k; i++) {
        bytes += rx.descLen(start + i);
        contd += rx.descOptions(start + i) & XDP_PKT_CONTD;
        pool.free(rx.descAddr(start + i));
      }
      rx.release(k);
      // A chain is one frame: its descriptors but the last carry XDP_PKT_CONTD.
      this.counterBlock[S.rxPackets] += k - contd;
      this.counterBlock[S.rxBytes] += bytes;
      total += k - contd;
    }
    this.counterBlock[S.drainedAtStop] += total;
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
    return this.auditWith([]);
  }

  /**
   * {@link Port.audit} over one shared UMEM: this port's pool (shared by `others`, the ports
   * opened with `shareWith: this`) and the four rings of every port; frames held by the caller
   * are summed over them (a frame received on one and sent on another moves between them).
   */
  auditWith(others: readonly Port[]): FrameAudit {
    const tally = new FrameTally(this.options.frames);
    const shift = this.#frameShift;
    const walk = (ring: XskRing) => {
      const { producer, consumer } = ring.shared();
      const n = (producer - consumer) >>> 0;
      for (let i = 0; i < n; i++) tally.see(ring.addrAt(consumer + i) >>> shift);
      return n;
    };
    this.pool.forEachFree((f) => tally.see(f));
    const pool = tally.distinct + tally.duplicates;
    let fill = 0, rx = 0, tx = 0, completion = 0, app = 0;
    for (const p of [this, ...others]) {
      fill += walk(p.#fill);
      rx += walk(p.#rx);
      tx += walk(p.#tx);
      completion += walk(p.#comp);
      app += p.#appHeld;
    }
    const seen = pool + fill + rx + tx + completion;
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

  /**
   * The port's four rings, for a benchmark loop that drives them by hand (`bench/ts_ref.ts`,
   * the C reference's loop in TypeScript). Open such a port with `fillFrames: 0` and keep every
   * frame yourself: none of this port's burst methods may be used alongside.
   *
   * @internal Not part of the library API.
   */
  rings(): { fill: FillRing; comp: CompRing; rx: RxRing; tx: TxRing } {
    return { fill: this.#fill, comp: this.#comp, rx: this.#rx, tx: this.#tx };
  }

  /**
   * Remove the socket from the XSKMAP it was inserted into (`PortOptions.xsksMapFd`), so the XDP
   * program steers no more frames to it; frames already redirected may still land for a few
   * microseconds (wait briefly, then {@link Port.drainRx}). No-op without a map. Idempotent.
   */
  unsteer(): void {
    if (!this.#steer || this.#steered === false) return;
    this.#steered = false;
    this.#steer.bpf.symbols.bpf_map_delete_elem(
      this.#steer.mapFd,
      Uint32Array.of(this.options.queue),
    );
  }

  /**
   * Close the socket and the UMEM and unmap it (after {@link Port.unsteer}). The port must not be
   * used afterwards.
   */
  close(): void {
    if (this.#closed) return;
    this.unsteer();
    this.#steer?.bpf.close();
    this.#closed = true;
    this.#xdp.symbols.xsk_socket__delete(this.#xsk);
    if (this.ownsUmem) {
      this.#xdp.symbols.xsk_umem__delete(this.#umemHandle);
      this.#libc.fn.munmap(this.#umemPtr, BigInt(this.options.frames * this.options.frameSize));
    }
    this.#xdp.close();
    this.#libc.close();
  }

  /**
   * Post pool frames to the FILL ring, as many as fit. `hint` is the burst size: the kernel's
   * consumer index is re-read only when fewer than that many slots are known to be free (the
   * ring size forces a fresh look). Returns true when the pool could not cover every known free
   * slot.
   */
  #refill(hint: number): boolean {
    const fill = this.#fill, pool = this.pool;
    const free = fill.freeSlots(hint);
    const want = pool.available < free ? pool.available : free;
    if (want > 0) {
      const k = fill.reserve(want);
      pool.allocToFill(fill, k);
      fill.submit(k);
    }
    return want < free;
  }
}
