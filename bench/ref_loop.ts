/**
 * The C reference's loop (`bench/xsk_ref.c`) written again, line for line, in TypeScript over
 * byPassRT's ring classes, with none of byPassRT's engine around it: no handler, no BurstState,
 * no mempool, no counters beyond rx/tx/kicks; byPassRT's per-frame clock only when given one. A
 * BASELINE for the benchmarks only (what Deno, V8 and FFI cost by themselves on this path), never
 * on byPassRT's product path: `bench/ts_ref.ts` runs it on a real socket, `bench/rx_path.ts` on a
 * fake kernel.
 *
 * Same choices as xsk_ref.c: {@link REF_FRAMES} frames of {@link REF_FRAME_SIZE} bytes on a LIFO
 * free stack, rings of {@link REF_RING_SIZE}, 2048 frames on FILL at start, bursts of
 * {@link REF_BURST}, FILL topped up from the stack before each RX peek, COMPLETION reclaimed
 * before each TX burst, TX kicked with `sendto` only when the kernel set need_wakeup and has not
 * taken every descriptor yet. Modes: rxdrop, l2fwd (swap MACs), respond (ARP and ICMP echo for
 * one address, in place). With a clock (as `xsk_ref --stamp`), byPassRT's own per-frame clock,
 * read where byPassRT's loop reads it.
 *
 * @module
 */
import { MSG_DONTWAIT } from "../ffi/libc.ts";
import type { LibcHandle } from "../ffi/libc.ts";
import type { KickAt, Port } from "../engine/port.ts";
import type { FrameClock } from "../engine/frame_clock.ts";

/** Modes of {@link RefLoop}. */
export const RXDROP = 0, L2FWD = 1, RESPOND = 2;
/** UMEM frames, bytes per frame, ring entries and burst size of the reference loops. */
export const REF_FRAMES = 4096, REF_FRAME_SIZE = 2048, REF_RING_SIZE = 2048, REF_BURST = 64;
const FRAMES = REF_FRAMES, FRAME_SIZE = REF_FRAME_SIZE, RING_SIZE = REF_RING_SIZE;
const BURST = REF_BURST;
const FRAME_MASK = ~(FRAME_SIZE - 1);

/** How a {@link RefLoop} runs. */
export interface RefLoopOptions {
  /** {@link RXDROP}, {@link L2FWD} or {@link RESPOND}. */
  mode: number;
  /** Address answered in respond mode, network byte order (4 bytes). */
  ip: Uint8Array;
  /** The interface's MAC. */
  mac: Uint8Array;
  /**
   * Keep the kick's way warm while idle as byPassRT's loop does (`Port.keepWarm`): a `sendto`
   * on fd -1 every 256 empty loops. Off: xsk_ref.c's loop exactly (the only difference).
   */
  keepWarm: boolean;
  /** [0]: stop flag, read every 64 loops. */
  control: Int32Array;
  /** [rx packets, tx packets, tx kicks, free frames], published every 64 loops. */
  stats: Float64Array;
  /**
   * byPassRT's per-frame clock, read where byPassRT's loop reads it: once per RX burst just
   * before the frames are handled, recorded after the kick; null: none.
   */
  clock: FrameClock | null;
  /**
   * The clocked kick (the helper's `bpx_kick_at`: the clock read in C just before `sendto`, as
   * byPassRT's kick with the clock); null: a plain `sendto` (the clock then reads the TX point
   * itself when it records).
   */
  kickAt: KickAt | null;
}

/**
 * xsk_ref.c's state and functions (refill, reclaim, kick, tx_burst, respond, main loop) over a
 * port made with {@link REF_FRAMES} frames of {@link REF_FRAME_SIZE} bytes, rings of
 * {@link REF_RING_SIZE} and no frames on FILL (`fillFrames: 0`): the loop owns every frame.
 */
export class RefLoop {
  readonly fill;
  readonly comp;
  readonly rx;
  readonly tx;
  readonly umem: Uint8Array;
  readonly fd: number;
  readonly libc: LibcHandle;
  readonly mode: number;
  readonly keepWarm: boolean;
  readonly ip: Uint8Array;
  readonly mac: Uint8Array;
  readonly control: Int32Array;
  readonly stats: Float64Array;
  /** The LIFO free stack of frame addresses. */
  readonly stack = new Uint32Array(FRAMES);
  top = 0;
  /** The burst as read from RX (descriptors copied out before the ring is released). */
  readonly inAddr = new Uint32Array(BURST);
  readonly inLen = new Uint32Array(BURST);
  readonly outAddr = new Uint32Array(BURST);
  readonly outLen = new Uint32Array(BURST);
  /** With the clock: frames of this burst not sent (recorded at the RX point only). */
  readonly dropAddr = new Uint32Array(BURST);
  /** The per-frame clock and its clocked kick; null without. */
  readonly clock: FrameClock | null;
  readonly kickAt: KickAt | null;
  readonly kickAtNs: Float64Array<ArrayBuffer>;
  rxPackets = 0;
  txPackets = 0;
  txOutstanding = 0;
  txKicks = 0;

  constructor(port: Port, libc: LibcHandle, o: RefLoopOptions) {
    const r = port.rings();
    this.fill = r.fill;
    this.comp = r.comp;
    this.rx = r.rx;
    this.tx = r.tx;
    this.umem = port.umem;
    this.fd = port.fd;
    this.libc = libc;
    this.mode = o.mode;
    this.keepWarm = o.keepWarm;
    this.ip = o.ip;
    this.mac = o.mac;
    this.control = o.control;
    this.stats = o.stats;
    this.clock = o.clock;
    this.kickAt = o.clock !== null ? o.kickAt : null;
    this.kickAtNs = this.kickAt !== null ? o.clock!.kickClock() : new Float64Array(1);
    for (let i = 0; i < FRAMES; i++) this.stack[i] = (FRAMES - 1 - i) * FRAME_SIZE;
    this.top = FRAMES;
    // byPassRT posts min(ring, frames / 2) frames to FILL at start.
    const n = Math.min(RING_SIZE, FRAMES / 2);
    const k = this.fill.reserve(n), idx = this.fill.cursor;
    for (let i = 0; i < k; i++) this.fill.setAddr(idx + i, this.stack[--this.top]);
    this.fill.submit(k);
  }

  refill(): void {
    const fill = this.fill;
    let want = this.top;
    const free = fill.freeSlots(RING_SIZE);
    if (want > free) want = free;
    if (want === 0) return;
    const k = fill.reserve(want), idx = fill.cursor, stack = this.stack;
    for (let i = 0; i < k; i++) fill.setAddr(idx + i, stack[--this.top]);
    fill.submit(k);
  }

  reclaim(): void {
    const comp = this.comp, stack = this.stack;
    const n = comp.peek(RING_SIZE), idx = comp.cursor;
    for (let i = 0; i < n; i++) stack[this.top++] = comp.addr(idx + i) & FRAME_MASK;
    if (n > 0) {
      comp.release(n);
      this.txOutstanding -= n;
      this.txPackets += n;
    }
  }

  kick(): void {
    // Nothing queued, no wake-up wanted, or the kernel already took every descriptor.
    if (this.txOutstanding === 0 || !this.tx.needsWakeup() || this.tx.pending() === 0) return;
    this.txKicks++;
    if (this.kickAt !== null) this.kickAt(this.fd, this.kickAtNs);
    else this.libc.fn.sendto(this.fd, null, 0n, MSG_DONTWAIT, null, 0);
  }

  /** Queue outAddr/outLen[0..n) on TX (as many as fit); free the rest. */
  txBurst(n: number): void {
    const tx = this.tx;
    this.reclaim();
    const k = tx.reserve(n), idx = tx.cursor;
    for (let i = 0; i < k; i++) tx.setDesc(idx + i, this.outAddr[i], this.outLen[i]);
    if (k > 0) tx.submit(k);
    for (let i = k; i < n; i++) this.stack[this.top++] = this.outAddr[i] & FRAME_MASK;
    this.txOutstanding += k;
    this.kick();
  }

  /** Answer ARP and ICMP echo requests for `ip` in place; the reply length or 0. */
  respond(p: Uint8Array, o: number, len: number): number {
    if (len < 14) return 0;
    const type = (p[o + 12] << 8) | p[o + 13], ip = this.ip, mac = this.mac;
    if (type === 0x0806) {
      const a = o + 14;
      // Ethernet/IPv4 request for our address.
      if (
        len < 42 || ((p[a] << 8) | p[a + 1]) !== 1 || ((p[a + 2] << 8) | p[a + 3]) !== 0x0800 ||
        p[a + 4] !== 6 || p[a + 5] !== 4 || ((p[a + 6] << 8) | p[a + 7]) !== 1 ||
        p[a + 24] !== ip[0] || p[a + 25] !== ip[1] || p[a + 26] !== ip[2] || p[a + 27] !== ip[3]
      ) return 0;
      p[a + 7] = 2; // reply
      for (let i = 0; i < 10; i++) p[a + 18 + i] = p[a + 8 + i]; // target = sender (MAC + IP)
      for (let i = 0; i < 6; i++) p[a + 8 + i] = mac[i];
      for (let i = 0; i < 4; i++) p[a + 14 + i] = ip[i];
      for (let i = 0; i < 6; i++) p[o + i] = p[o + 6 + i];
      for (let i = 0; i < 6; i++) p[o + 6 + i] = mac[i];
      return len;
    }
    if (type === 0x0800) {
      const h = o + 14;
      if (len < 34 || (p[h] >> 4) !== 4) return 0;
      const ihl = (p[h] & 15) * 4;
      if (
        ihl < 20 || p[h + 9] !== 1 || len < 14 + ihl + 8 || p[h + 16] !== ip[0] ||
        p[h + 17] !== ip[1] || p[h + 18] !== ip[2] || p[h + 19] !== ip[3]
      ) return 0;
      const c = h + ihl;
      if (p[c] !== 8 || p[c + 1] !== 0) return 0;
      p[c] = 0;
      // RFC 1624: type 8 -> 0 lowers the sum by 0x0800, so the checksum rises by 0x0800.
      let sum = ((p[c + 2] << 8) | p[c + 3]) + 0x0800;
      sum = (sum & 0xffff) + (sum >>> 16);
      p[c + 2] = (sum >>> 8) & 0xff;
      p[c + 3] = sum & 0xff;
      for (let i = 0; i < 4; i++) { // swapping the addresses keeps the IP checksum
        const t = p[h + 12 + i];
        p[h + 12 + i] = p[h + 16 + i];
        p[h + 16 + i] = t;
      }
      for (let i = 0; i < 6; i++) p[o + i] = p[o + 6 + i];
      for (let i = 0; i < 6; i++) p[o + 6 + i] = mac[i];
      return len;
    }
    return 0;
  }

  /**
   * xsk_ref.c's main loop, until the stop flag is set or `frames` more frames were received
   * (checked after each burst; default: no limit).
   */
  run(frames = Infinity): void {
    const until = this.rxPackets + frames;
    const rx = this.rx, mode = this.mode, p = this.umem, stack = this.stack, clock = this.clock;
    const inAddr = this.inAddr, inLen = this.inLen, outAddr = this.outAddr, outLen = this.outLen;
    const dropAddr = this.dropAddr;
    for (let loops = 1;; loops++) {
      this.refill();
      const n = rx.peek(BURST), idx = rx.cursor;
      if (n === 0) {
        if (this.fill.needsWakeup()) {
          this.libc.fn.recvfrom(this.fd, null, 0n, MSG_DONTWAIT, null, null);
        }
        if (mode !== RXDROP) {
          this.kick();
          this.reclaim();
        }
        if (this.keepWarm && (loops & 255) === 0) {
          this.libc.fn.sendto(-1, null, 0n, MSG_DONTWAIT, null, 0);
        }
      } else {
        // The burst first, then the clock's RX point, just before the frames are handled:
        // where byPassRT (and xsk_ref.c) read it.
        for (let i = 0; i < n; i++) {
          inAddr[i] = rx.descAddr(idx + i);
          inLen[i] = rx.descLen(idx + i);
        }
        rx.release(n);
        if (clock !== null) clock.rx();
        if (mode === RXDROP) {
          if (clock !== null) clock.handled(inAddr, n);
          for (let i = 0; i < n; i++) stack[this.top++] = inAddr[i] & FRAME_MASK;
        } else {
          let k = 0, nd = 0;
          for (let i = 0; i < n; i++) {
            const addr = inAddr[i];
            let len = inLen[i];
            if (mode === L2FWD) {
              for (let j = 0; j < 6; j++) {
                const t = p[addr + j];
                p[addr + j] = p[addr + 6 + j];
                p[addr + 6 + j] = t;
              }
            } else len = this.respond(p, addr, len);
            if (len !== 0) {
              outAddr[k] = addr;
              outLen[k++] = len;
            } else {
              stack[this.top++] = addr & FRAME_MASK;
              dropAddr[nd++] = addr;
            }
          }
          this.txBurst(k);
          // After the kick, as byPassRT records: the TX point is the kick's clock read.
          if (clock !== null) {
            clock.sent(outAddr, k);
            clock.handled(dropAddr, nd);
          }
        }
        this.rxPackets += n;
        if (this.rxPackets >= until) break;
      }
      if ((loops & 63) === 0) {
        this.publish();
        if (Atomics.load(this.control, 0) !== 0) break;
      }
    }
  }

  publish(): void {
    const s = this.stats;
    s[0] = this.rxPackets;
    s[1] = this.txPackets;
    s[2] = this.txKicks;
    s[3] = this.top;
  }

  /** After the loop: finish outstanding TX for up to 200 ms, then publish the last counts. */
  finish(): void {
    const until = performance.now() + 200;
    while (this.txOutstanding > 0 && performance.now() < until) {
      this.kick();
      this.reclaim();
    }
    this.publish();
  }
}
