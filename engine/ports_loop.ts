/**
 * The polling loop over several ports (`--iface A,B,...`): one Worker serves one socket per
 * interface, all on one shared UMEM, so forwarding between them moves descriptors and copies
 * nothing. Each round takes an RX burst from every port in turn and hands it to the handler
 * (`b.port(i)` is that port); frames it sends or forwards go to their target port's TX burst
 * (one TX burst, so at most one kick, per target port per RX burst); completions of every port
 * return frames to the one shared pool. The one-port run keeps {@link runLoop}, untouched.
 *
 * @module
 */
import { Port } from "./port.ts";
import { FORWARD, type LoopExit, type LoopRun, PUBLISH_EVERY } from "./loop.ts";
import { DIR_INBOUND, DIR_OUTBOUND } from "../capture/pcapng.ts";
import { PORT_COUNTERS } from "./counters.ts";
import { Control, Slot } from "./stats.ts";

const TICK_MASK = PUBLISH_EVERY - 1;
const UNDECIDED = 0, DROP = -1, SEND = 1, TO_KERNEL = 2;
const NPORT = PORT_COUNTERS.length;

/** What {@link runPortsLoop} works with: a {@link LoopRun} whose `port` is `ports[0]`. */
export interface PortsLoopRun extends LoopRun {
  /** Every port, in `--iface` order; `ports[0]` owns the UMEM and the pool. */
  ports: readonly Port[];
  /** One block per port that gets that port's counters (per-interface counters), or none. */
  portStats?: readonly Float64Array[];
}

/**
 * Publish the sum of the ports' counters into `stats` (the queue's block) and each port's own
 * counters into `portStats[p]` (not per packet).
 */
export function publishPorts(
  ports: readonly Port[],
  stats: Float64Array,
  portStats?: readonly Float64Array[],
): void {
  for (let j = 0; j < NPORT; j++) {
    let sum = 0;
    for (let p = 0; p < ports.length; p++) sum += ports[p].counterBlock[j];
    stats[j] = sum;
  }
  stats[Slot.freeFrames] = ports[0].pool.available;
  if (portStats) { for (let p = 0; p < ports.length; p++) portStats[p].set(ports[p].counterBlock); }
}

/**
 * Run the polling loop over `r.ports` until stopped, reloaded, `count` frames were received or
 * originated, or (strict) the handler threw; as {@link runLoop} does for one port. Originated
 * frames (`ctx.send`) leave through `ports[0]`.
 */
export function runPortsLoop(r: PortsLoopRun): LoopExit {
  Atomics.store(r.control, Control.state, 1);
  const exit = loop(r);
  r.ctx.flush();
  for (const p of r.ports) p.drainTx(200);
  publishPorts(r.ports, r.stats, r.portStats);
  r.clock?.recheck();
  return exit;
}

function loop(r: PortsLoopRun): LoopExit {
  const { ports, handler, b, ctx, opts, control, stats, generation, onError } = r;
  const capRx = r.capture ?? null, capTx = ctx.captureTx, sink = r.toKernel ?? null;
  const clock = r.clock ?? null;
  if (Atomics.load(control, Control.stop) !== 0) return "stop";
  if (Atomics.load(control, Control.reload) !== generation) return "reload";
  const np = ports.length;
  const burst = opts.burst, strict = opts.strict === true, idle = handler.idle;
  const addrs = b.addrs, lens = b.lens, act = b.act;
  // Per target port: the frames to send this round (a whole burst, plus the originated ones).
  const cap = burst + ctx.pendAddrs.length;
  const txA: Uint32Array[] = [], txL: Uint32Array[] = [];
  for (let p = 0; p < np; p++) {
    txA.push(new Uint32Array(cap));
    txL.push(new Uint32Array(cap));
  }
  const txN = new Int32Array(np);
  const pollfds = Port.pollfds(ports);
  const dropAddrs = new Uint32Array(burst);
  const kAddrs = sink?.addrs ?? dropAddrs, kLens = sink?.lens ?? dropAddrs;
  if (kAddrs.length < burst || kLens.length < burst) {
    throw new RangeError("the kernel sink's arrays need room for a whole burst");
  }
  let received = 0;
  for (let p = 0; p < np; p++) received += ports[p].rxPackets;
  ctx.budget = opts.count > 0 ? opts.count - received - stats[Slot.originated] : Infinity;
  let loops = 0;
  while (ctx.budget >= 1) {
    let got = 0;
    for (let rp = 0; rp < np && ctx.budget >= 1; rp++) {
      const port = ports[rp];
      const room = ctx.budget;
      const n = port.rxBurst(addrs, lens, room < burst ? room : burst);
      if (n === 0) continue;
      got += n;
      if (capRx !== null) capRx.burst(addrs, lens, n, DIR_INBOUND);
      ctx.budget -= n;
      b.length = n;
      b.rxPort = rp;
      for (let i = 0; i < n; i++) act[i] = UNDECIDED;
      if (clock !== null) clock.rx(addrs, n);
      let threw = false;
      try {
        handler.burst(b, ctx);
      } catch (err) {
        threw = true;
        stats[Slot.handlerErrors]++;
        onError(err);
      }
      let d = 0, dropped = 0, kn = 0;
      for (let i = 0; i < n; i++) {
        const v = act[i];
        const t = v === SEND ? rp : v >= FORWARD ? v - FORWARD : -1;
        if (t >= 0) {
          const j = txN[t]++;
          txA[t][j] = addrs[i];
          txL[t][j] = lens[i];
        } else if (v === TO_KERNEL) {
          kAddrs[kn] = addrs[i];
          kLens[kn++] = lens[i];
        } else {
          dropAddrs[d++] = addrs[i];
          if (v === DROP) dropped++;
        }
      }
      // One pool: any port's free() returns frames to it.
      if (d > 0) {
        port.free(dropAddrs, 0, d);
        if (dropped > 0) stats[Slot.appDropped] += dropped;
        if (d > dropped) stats[threw ? Slot.errorDropped : Slot.unhandled] += d - dropped;
      }
      if (kn > 0) {
        const took = sink!.flush(kn);
        stats[Slot.toKernel] += took;
        if (took < kn) stats[Slot.toKernelFailed] += kn - took;
        port.free(kAddrs, 0, kn);
      }
      // The received frames to send reach TX now (originated ones, appended below, carry no stamp).
      if (clock !== null) { for (let t = 0; t < np; t++) if (txN[t] > 0) clock.tx(txA[t], txN[t]); }
      // Originated frames leave through port 0 with this round's frames for it.
      const pend = ctx.pending;
      if (pend > 0) {
        const pa = ctx.pendAddrs, pl = ctx.pendLens, a0 = txA[0], l0 = txL[0];
        let k = txN[0];
        for (let j = 0; j < pend; j++) {
          a0[k] = pa[j];
          l0[k++] = pl[j];
        }
        txN[0] = k;
        ctx.pending = 0;
      }
      for (let t = 0; t < np; t++) {
        const k = txN[t];
        if (k === 0) continue;
        txN[t] = 0;
        const tp = ports[t], ta = txA[t], tl = txL[t];
        const sent = tp.txBurst(ta, tl, k);
        if (capTx !== null) capTx.burst(ta, tl, sent, DIR_OUTBOUND);
        if (sent < k) tp.free(ta, sent, k - sent);
      }
      if (threw && strict) return "error";
    }
    if (got === 0) {
      if (idle !== undefined) {
        try {
          idle.call(handler, ctx);
        } catch (err) {
          stats[Slot.handlerErrors]++;
          onError(err);
          if (strict) return "error";
        }
      }
      if (ctx.pending > 0) ctx.flush();
      let outstanding = false;
      for (let p = 0; p < np; p++) {
        const port = ports[p];
        if (port.txOutstanding > 0) {
          outstanding = true;
          port.kick();
          port.reclaim();
        }
      }
      if (!outstanding && opts.idlePollMs > 0) {
        publishPorts(ports, stats, r.portStats);
        stats[Slot.idlePolls]++;
        Port.waitAnyReadable(ports, pollfds, opts.idlePollMs);
      }
    }
    if ((++loops & TICK_MASK) === 0) {
      // The clock read of a sparse frame's burst would otherwise run cold (1-3 us).
      if (clock !== null) clock.keepWarm();
      stats[Slot.loops] += PUBLISH_EVERY;
      publishPorts(ports, stats, r.portStats);
      if (Atomics.load(control, Control.stop) !== 0) return "stop";
      if (Atomics.load(control, Control.reload) !== generation) return "reload";
    }
  }
  stats[Slot.loops] += loops & TICK_MASK;
  return "count";
}
