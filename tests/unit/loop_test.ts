/**
 * The polling loop (engine/loop.ts) with the built-in handlers (handlers/) on a fake AF_XDP port:
 * what each mode does with real frames, the counters it publishes, and the frame audit after it
 * stops.
 */
import assert from "node:assert/strict";
import {
  driveOnWakeups,
  FAKE_DST_MAC,
  FAKE_SRC_MAC,
  type FakePort,
  fakePort,
} from "../../testing/fake_kernel.ts";
import { WARM_EVERY } from "../../engine/loop.ts";
import { FrameClock } from "../../engine/frame_clock.ts";
import { newLatencyBlock, summarize, TO_HANDLER, TO_TX } from "../../engine/latency_histogram.ts";
import type { Port } from "../../engine/port.ts";
import { PORT_COUNTERS } from "../../engine/counters.ts";
import { Control, Slot } from "../../engine/stats.ts";
import type { DropReasonName } from "../../packet/mod.ts";
import { handlerLoop } from "../../testing/handler_loop.ts";
import l2fwd from "../../handlers/l2fwd.ts";
import respond, { REHEARSE_EVERY } from "../../handlers/respond.ts";
import rxdrop from "../../handlers/rxdrop.ts";
import txonly from "../../handlers/txonly.ts";
import { writeUdpFrame } from "../../packet/mod.ts";
import { assertBalanced, bytes } from "./_fake_assert.ts";

/** A TX descriptor as the kernel took it on a kick, with the bytes it sent. */
interface Sent {
  addr: number;
  len: number;
  bytes: number[];
}

/**
 * Make the fake kernel ask for TX kicks and, on each kick, record every queued descriptor (and
 * its bytes) and send it. Returns the record.
 */
function recordTx(f: FakePort): Sent[] {
  const { kernel, hooks } = f;
  const sent: Sent[] = [];
  kernel.tx.setNeedWakeup(true);
  hooks.sendto = () => {
    for (let i = kernel.tx.consumer[0]; i !== kernel.tx.producer[0]; i = (i + 1) >>> 0) {
      const addr = kernel.tx.addrAt(i), len = kernel.tx.lenAt(i);
      sent.push({ addr, len, bytes: bytes(kernel.umem, addr, len) });
    }
    kernel.transmit();
  };
  return sent;
}

/**
 * Make every empty burst call the FILL wake-up and run `onEmpty` there; after `limit` empty
 * bursts throw, so a loop that never stops fails the test instead of hanging it. Returns a
 * function giving the number of empty bursts so far.
 */
function onEmptyBurst(f: FakePort, onEmpty: () => void, limit = 100_000): () => number {
  let n = 0;
  f.kernel.fill.setNeedWakeup(true);
  f.hooks.recvfrom = () => {
    if (++n > limit) throw new Error(`the loop is still running after ${limit} empty bursts`);
    onEmpty();
  };
  return () => n;
}

/** The stats block holds the port's final counters and its free-frame count. */
function assertPublished(port: Port, stats: Float64Array): void {
  const c = port.counters;
  for (const { name } of PORT_COUNTERS) assert.equal(stats[Slot[name]], c[name], `stats ${name}`);
  assert.equal(stats[Slot.freeFrames], port.pool.available, "stats freeFrames");
}

Deno.test("runLoop l2fwd on the fake port: MACs swapped, every packet sent and completed", async () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel, calls } = f;
  const h = await handlerLoop(port, l2fwd, { burst: 32, count: 100 });
  const { control, stats } = h;
  const sent = recordTx(f);
  // Safety net: if RX ever looked empty the FILL wake-up stops the loop instead of hanging.
  onEmptyBurst(f, () => Atomics.store(control, Control.stop, 1));
  assert.equal(kernel.deliver(100, 64), 100);
  const rxAddrs: number[] = [];
  for (let i = 0; i < 100; i++) rxAddrs.push(kernel.rx.addrAt(i));
  assert.equal(h.run(), "count");
  assert.equal(control[Control.state], 1);
  for (const a of rxAddrs) {
    assert.deepEqual(bytes(port.umem, a, 14), [...FAKE_SRC_MAC, ...FAKE_DST_MAC, 8, 0], `${a}`);
  }
  assert.deepEqual(sent.map((s) => s.addr), rxAddrs, "each sent once, in received order");
  assert.ok(sent.every((s) => s.len === 64));
  const c = port.counters;
  assert.equal(c.rxPackets, 100);
  assert.equal(c.rxBytes, 6400);
  assert.equal(c.txQueued, 100);
  assert.equal(c.txPackets, 100);
  assert.equal(c.txBytes, 6400);
  assert.equal(c.txRingFull, 0);
  // Kicks: each is one sendto, and there is at most one per burst (100 packets in bursts of 32:
  // 4 bursts). The fake kernel sends only when kicked, so the 100 completions show that every
  // burst that needed a kick got one.
  assert.equal(c.txKicks, calls.sendto);
  assert.ok(calls.sendto <= Math.ceil(100 / 32), `${calls.sendto} kicks for 4 bursts`);
  assert.equal(calls.recvfrom, 0, "RX never looked empty before the count was reached");
  assert.equal(kernel.transmitted, 100);
  assertPublished(port, stats);
  assertBalanced(f, 0, "after the loop");
});

Deno.test("runLoop keeps the kick warm only while busy-polling with nothing arriving", async () => {
  // Idle, busy-polling: one refused sendto(-1) per WARM_EVERY loops, no kick, no counter moved.
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const h = await handlerLoop(f.port, l2fwd, { burst: 32 });
  const empties = onEmptyBurst(f, () => {
    if (empties() === 1000) Atomics.store(h.control, Control.stop, 1);
  });
  assert.equal(h.run(), "stop");
  const loops = h.stats[Slot.loops];
  // The stop flag is read on the 64-loop tick after the 1000th empty poll.
  assert.equal(loops, 1024);
  assert.equal(f.calls.warm, loops / WARM_EVERY);
  assert.equal(f.calls.sendto, 0, "no kick");
  assert.equal(f.port.counters.txKicks, 0);
  assertBalanced(f, 0, "after the idle loop");

  // Sleeping in poll() when idle (--poll-ms): nothing to keep warm.
  const g = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const hg = await handlerLoop(g.port, l2fwd, { burst: 32 });
  hg.loop.idlePollMs = 1;
  const gEmpties = onEmptyBurst(g, () => {
    if (gEmpties() === 1000) Atomics.store(hg.control, Control.stop, 1);
  });
  assert.equal(hg.run(), "stop");
  assert.equal(hg.stats[Slot.loops], 1024);
  assert.ok(g.calls.poll >= 1000, `${g.calls.poll} idle sleeps`);
  assert.equal(g.calls.warm, 0);

  // --no-keep-warm: busy-polling, idle, and no warm call.
  const n = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const hn = await handlerLoop(n.port, l2fwd, { burst: 32 });
  hn.loop.keepWarm = false;
  const nEmpties = onEmptyBurst(n, () => {
    if (nEmpties() === 1000) Atomics.store(hn.control, Control.stop, 1);
  });
  assert.equal(hn.run(), "stop");
  assert.equal(hn.stats[Slot.loops], 1024);
  assert.equal(n.calls.warm, 0);

  // Frames in every round (each kick delivers the next burst): no round is empty, no warm call.
  const t = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const ht = await handlerLoop(t.port, l2fwd, { burst: 32, count: 32 * 600 });
  driveOnWakeups(t, 32, 64, true);
  assert.equal(ht.run(), "count");
  assert.equal(t.port.counters.rxPackets, 32 * 600);
  assert.ok(ht.stats[Slot.loops] >= 2 * WARM_EVERY, `${ht.stats[Slot.loops]} loops`);
  assert.equal(t.calls.warm, 0);
});

Deno.test("runLoop rehearses its burst path while idle: no frame sent, counted, freed or timed", async () => {
  /** A loop over a fresh fake port whose empty TX bursts (the rehearsals) are counted. */
  const idleRun = async (o: { keepWarm?: boolean; idlePollMs?: number } = {}) => {
    const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
    let now = 1e12;
    const block = newLatencyBlock();
    const clock = new FrameClock(f.port.umem, block, () => now++);
    const h = await handlerLoop(f.port, l2fwd, { burst: 32, clock });
    if (o.keepWarm !== undefined) h.loop.keepWarm = o.keepWarm;
    if (o.idlePollMs !== undefined) h.loop.idlePollMs = o.idlePollMs;
    const txBurst = f.port.txBurst.bind(f.port);
    let rehearsals = 0;
    f.port.txBurst = (a: Uint32Array, l: Uint32Array, n: number) => {
      if (n === 0) rehearsals++;
      return txBurst(a, l, n);
    };
    const empties = onEmptyBurst(f, () => {
      if (empties() === 1000) Atomics.store(h.control, Control.stop, 1);
    });
    assert.equal(h.run(), "stop");
    return { f, h, block, rehearsals };
  };
  // Busy-polling, nothing arriving: one rehearsal per 64-loop tick, and nothing else moves.
  const { f, h, block, rehearsals } = await idleRun();
  const loops = h.stats[Slot.loops];
  assert.equal(loops, 1024);
  assert.equal(rehearsals, loops / 64);
  const c = f.port.counters;
  assert.deepEqual([c.txQueued, c.txKicks, c.txPackets, c.rxPackets], [0, 0, 0, 0]);
  assert.equal(f.calls.sendto, 0, "no kick");
  assert.equal(f.kernel.tx.producer[0], 0, "no TX descriptor");
  assert.equal(summarize([block], TO_HANDLER).count + summarize([block], TO_TX).count, 0);
  assertBalanced(f, 0, "after the rehearsals");
  // A frame after them takes the same path as ever: MACs swapped, sent once, timed at both points.
  const sent = recordTx(f);
  assert.equal(f.kernel.deliver(1, 64), 1);
  const addr = f.kernel.rx.addrAt(f.kernel.rx.producer[0] - 1);
  const stampAt = new DataView(f.port.umem.buffer, f.port.umem.byteOffset);
  stampAt.setUint32(addr - 8, 1e12 % 2 ** 32, true);
  stampAt.setUint32(addr - 4, Math.floor(1e12 / 2 ** 32), true);
  h.control[Control.stop] = 0;
  h.loop.count = 1;
  assert.equal(h.run(), "count");
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].bytes.slice(0, 12), [...FAKE_SRC_MAC, ...FAKE_DST_MAC]);
  assert.equal(summarize([block], TO_HANDLER).count, 1);
  assert.equal(summarize([block], TO_TX).count, 1);
  assertBalanced(f, 0, "after the frame");
  // No rehearsal with --no-keep-warm, nor when the loop sleeps in poll() (--poll-ms).
  assert.equal((await idleRun({ keepWarm: false })).rehearsals, 0);
  assert.equal((await idleRun({ idlePollMs: 1 })).rehearsals, 0);
});

Deno.test("runLoop l2fwd stops on the control flag; every packet before it handled once", async () => {
  const f = fakePort({ frames: 256, rxSize: 128, txSize: 128 });
  const { port, kernel } = f;
  const h = await handlerLoop(port, l2fwd, { burst: 32 });
  const { control, stats } = h;
  const rxAddrs: number[] = [];
  const deliver = (n: number) => {
    const start = kernel.rx.producer[0];
    assert.equal(kernel.deliver(n, 64), n);
    for (let i = 0; i < n; i++) rxAddrs.push(kernel.rx.addrAt((start + i) >>> 0));
  };
  deliver(40);
  // Stop already set: the loop returns at once and leaves every packet on RX.
  control[Control.stop] = 1;
  assert.equal(h.run(), "stop");
  assert.equal(port.counters.rxPackets, 0);
  assert.equal(kernel.rx.count(), 40);
  assertBalanced(f, 0, "stopped before starting");

  // The "kernel" sets the flag when RX first runs dry and delivers 40 more packets at that
  // moment: the loop may handle some of those before it notices the flag, but it must return,
  // and what it leaves on RX it must not have touched.
  control[Control.stop] = 0;
  const sent = recordTx(f);
  let flagged = false;
  onEmptyBurst(f, () => {
    if (flagged) return;
    flagged = true;
    Atomics.store(control, Control.stop, 1);
    deliver(40);
  }, 10_000);
  assert.equal(h.run(), "stop");
  const handled = port.counters.rxPackets;
  assert.ok(handled >= 40 && handled <= 80, `handled ${handled}`);
  assert.equal(handled + kernel.rx.count(), 80, "every packet handled or still on RX");
  assert.deepEqual(sent.map((s) => s.addr), rxAddrs.slice(0, handled), "each sent once, in order");
  assert.equal(port.counters.txQueued, handled);
  assert.equal(port.counters.txPackets, handled);
  assert.equal(port.counters.txBytes, handled * 64);
  assert.equal(kernel.transmitted, handled);
  rxAddrs.forEach((a, i) => {
    const swapped = [...FAKE_SRC_MAC, ...FAKE_DST_MAC],
      original = [...FAKE_DST_MAC, ...FAKE_SRC_MAC];
    assert.deepEqual(bytes(port.umem, a, 12), i < handled ? swapped : original, `packet ${i}`);
    assert.equal(kernel.seqAt(a), i);
  });
  assertPublished(port, stats);
  assertBalanced(f, 0, "after the loop");
  // What the loop left is taken back at shutdown (as the worker does).
  assert.equal(port.drainRx(), 80 - handled);
  assertBalanced(f, 0, "after drainRx");
});

// ---- respond: real ARP and ICMP frames, built here by hand ------------------------------------

const OUR_MAC = [0x02, 0, 0, 0, 0, 0x0a], PEER_MAC = [0x02, 0, 0, 0, 0, 0x0b];
const BCAST_MAC = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const OUR_IP = [10, 0, 0, 1], PEER_IP = [10, 0, 0, 2], OTHER_IP = [10, 0, 0, 9];

/** RFC 1071 checksum of `b[start, end)`, written here independently of packet/. */
function csum(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i += 2) s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function putSum(b: Uint8Array, start: number, end: number, at: number): void {
  b[at] = b[at + 1] = 0;
  const c = csum(b, start, end);
  b[at] = c >> 8;
  b[at + 1] = c & 0xff;
}

/** An Ethernet + ARP frame of `len` bytes (padding zero). */
function arpFrame(
  op: number,
  ethDst: number[],
  sha: number[],
  spa: number[],
  tha: number[],
  tpa: number[],
  len = 42,
): Uint8Array {
  const f = new Uint8Array(len);
  f.set(ethDst, 0);
  f.set(sha, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op], 12);
  f.set(sha, 22);
  f.set(spa, 28);
  f.set(tha, 32);
  f.set(tpa, 38);
  return f;
}

/**
 * An Ethernet + IPv4 + ICMP echo frame (type 8 request or 0 reply) with valid checksums,
 * `payload` bytes of data and `pad` bytes of Ethernet padding (0xee) after the datagram.
 */
function icmpFrame(o: {
  ethDst: number[];
  ethSrc: number[];
  ipSrc: number[];
  ipDst: number[];
  ttl: number;
  type: number;
  payload: number;
  pad?: number;
}): Uint8Array {
  const tot = 20 + 8 + o.payload;
  const f = new Uint8Array(14 + tot + (o.pad ?? 0)).fill(0xee);
  f.set(o.ethDst, 0);
  f.set(o.ethSrc, 6);
  f.set([0x08, 0x00, 0x45, 0x00, tot >> 8, tot & 0xff, 0x12, 0x34, 0x40, 0x00, o.ttl, 1], 12);
  f.set(o.ipSrc, 26);
  f.set(o.ipDst, 30);
  putSum(f, 14, 34, 24);
  f.set([o.type, 0, 0, 0, 0xbe, 0xef, 0x00, 0x07], 34); // id 0xbeef, seq 7
  for (let i = 0; i < o.payload; i++) f[42 + i] = (i * 13 + 5) & 0xff;
  putSum(f, 34, 14 + tot, 36);
  return f;
}

function echoRequest(payload: number, over: Partial<Parameters<typeof icmpFrame>[0]> = {}) {
  return icmpFrame({
    ethDst: OUR_MAC,
    ethSrc: PEER_MAC,
    ipSrc: PEER_IP,
    ipDst: OUR_IP,
    ttl: 17,
    type: 8,
    payload,
    ...over,
  });
}

/** The reply byPassRT must send to `echoRequest(payload)`: what a correct host answers. */
function echoReply(payload: number): Uint8Array {
  return icmpFrame({
    ethDst: PEER_MAC,
    ethSrc: OUR_MAC,
    ipSrc: OUR_IP,
    ipDst: PEER_IP,
    ttl: 64,
    type: 0,
    payload,
  });
}

const ARP_REPLY = arpFrame(2, PEER_MAC, OUR_MAC, OUR_IP, PEER_MAC, PEER_IP);

/** Change bytes of a frame. */
function patch(f: Uint8Array, at: number, ...v: number[]): Uint8Array {
  f.set(v, at);
  return f;
}

interface RespondCase {
  name: string;
  frame: Uint8Array;
  /** The reply expected on TX, or the drop reason. */
  expect: Uint8Array | DropReasonName;
}

function respondCases(): RespondCase[] {
  const zero = [0, 0, 0, 0, 0, 0];
  return [
    {
      name: "ARP request, broadcast",
      frame: arpFrame(1, BCAST_MAC, PEER_MAC, PEER_IP, zero, OUR_IP),
      expect: ARP_REPLY,
    },
    { name: "runt", frame: Uint8Array.of(...OUR_MAC, ...PEER_MAC), expect: "runt" },
    { name: "echo request, 56 bytes of data", frame: echoRequest(56), expect: echoReply(56) },
    {
      name: "VLAN tagged",
      frame: patch(echoRequest(56), 12, 0x81, 0x00),
      expect: "vlan",
    },
    {
      name: "wrong IP checksum",
      frame: patch(echoRequest(56), 24, 0x00, 0x00),
      expect: "ip_bad_checksum",
    },
    {
      name: "ARP request, unicast, padded to 60 bytes",
      frame: arpFrame(1, OUR_MAC, PEER_MAC, PEER_IP, zero, OUR_IP, 60),
      expect: ARP_REPLY,
    },
    {
      name: "IPv6",
      frame: patch(new Uint8Array(54), 0, ...OUR_MAC, ...PEER_MAC, 0x86, 0xdd, 0x60),
      expect: "ipv6",
    },
    {
      name: "echo request padded to 60 bytes",
      frame: echoRequest(4, { pad: 14 }),
      expect: echoReply(4),
    },
    {
      name: "wrong ICMP checksum",
      frame: patch(echoRequest(56), 36, 0x00, 0x00),
      expect: "icmp_bad_checksum",
    },
    {
      name: "ARP request for another IP",
      frame: arpFrame(1, BCAST_MAC, PEER_MAC, PEER_IP, zero, OTHER_IP),
      expect: "arp_not_for_us",
    },
    {
      name: "IPv4 header cut short",
      frame: echoRequest(56).subarray(0, 30),
      expect: "ip_truncated",
    },
    {
      name: "echo request to another IP",
      frame: echoRequest(56, { ipDst: OTHER_IP }),
      expect: "ip_not_for_us",
    },
    {
      name: "echo request to the broadcast MAC",
      frame: echoRequest(56, { ethDst: BCAST_MAC }),
      expect: "not_for_our_mac",
    },
    {
      name: "echo request, 1472 bytes of data (1514-byte frame)",
      frame: echoRequest(1472),
      expect: echoReply(1472),
    },
    {
      name: "wrong IP checksum, again",
      frame: patch(echoRequest(8), 25, 0x01),
      expect: "ip_bad_checksum",
    },
  ];
}

Deno.test("runLoop respond: byte-exact ARP and echo replies, every other frame dropped by reason", async () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64 });
  const { port, kernel } = f;
  const cases = respondCases();
  const addrs: number[] = [];
  for (const c of cases) {
    assert.equal(kernel.deliverFrame(c.frame), true, c.name);
    addrs.push(kernel.rx.addrAt((kernel.rx.producer[0] - 1) >>> 0));
  }
  const sent = recordTx(f);
  onEmptyBurst(f, () => {}); // the loop stops at its count; a loop that does not fails
  const h = await handlerLoop(port, respond, {
    burst: 4, // bursts of 4 mix replies and drops
    count: cases.length,
    options: { ip: OUR_IP.join(".") },
    mac: Uint8Array.from(OUR_MAC),
  });
  const { stats } = h;
  assert.equal(h.run(), "count");

  // The replies, in order, from the frames of the requests, byte for byte.
  const replies = cases.flatMap((c, i) => c.expect instanceof Uint8Array ? [{ c, i }] : []);
  assert.deepEqual(sent.map((s) => s.addr), replies.map((r) => addrs[r.i]), "replied in place");
  sent.forEach((s, k) => {
    const { c } = replies[k];
    const want = c.expect as Uint8Array;
    assert.equal(s.len, want.length, `${c.name}: length`);
    assert.deepEqual(s.bytes, [...want], `${c.name}: bytes`);
    if (want[12] === 0x08 && want[13] === 0x00) {
      const r = Uint8Array.from(s.bytes);
      assert.equal(csum(r, 14, 34), 0, `${c.name}: IP checksum`);
      assert.equal(csum(r, 34, r.length), 0, `${c.name}: ICMP checksum`);
    }
  });
  // Dropped frames: counted by reason in the stats block, left as they were.
  const drops: Record<string, number> = {};
  cases.forEach((c, i) => {
    if (typeof c.expect !== "string") return;
    drops[c.expect] = (drops[c.expect] ?? 0) + 1;
    assert.deepEqual(bytes(port.umem, addrs[i], c.frame.length), [...c.frame], c.name);
  });
  const counted = Object.fromEntries(
    Object.entries(h.handlerCounters()).filter(([, v]) => v !== 0),
  );
  assert.deepEqual(counted, drops, "drop reasons in the handler's counters");
  const dropped = cases.length - replies.length;
  assert.equal(stats[Slot.appDropped], dropped);

  const c = port.counters;
  assert.equal(c.rxPackets, cases.length);
  assert.equal(c.rxBytes, cases.reduce((a, x) => a + x.frame.length, 0));
  assert.equal(c.txQueued, replies.length);
  assert.equal(c.txPackets, replies.length);
  assert.equal(c.txBytes, replies.reduce((a, r) => a + (r.c.expect as Uint8Array).length, 0));
  assert.equal(c.txRingFull, 0);
  assert.equal(c.rxPackets, c.txPackets + c.txRingFull + dropped + c.drainedAtStop);
  assertPublished(port, stats);
  assertBalanced(f, 0, "after the loop");
});

Deno.test("runLoop respond: rehearsing replies while idle sends, counts and writes nothing", async () => {
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64 });
  const { port, kernel } = f;
  const sent = recordTx(f);
  const h = await handlerLoop(port, respond, {
    burst: 4,
    options: { ip: OUR_IP.join(".") },
    mac: Uint8Array.from(OUR_MAC),
  });
  const umem = port.umem.slice();
  const empties = onEmptyBurst(f, () => {
    if (empties() === 4 * REHEARSE_EVERY) Atomics.store(h.control, Control.stop, 1);
  });
  assert.equal(h.run(), "stop");
  assert.equal(sent.length, 0);
  assert.deepEqual(port.umem, umem, "no frame written");
  assert.deepEqual(Object.values(h.handlerCounters()).filter((v) => v !== 0), []);
  assert.equal(h.stats[Slot.handlerErrors], 0);
  assert.equal(port.counters.txQueued, 0);
  assertBalanced(f, 0, "after idling");
  // A ping after the rehearsals is answered as before them.
  assert.equal(kernel.deliverFrame(echoRequest(56)), true);
  h.control[Control.stop] = 0;
  h.loop.count = 1;
  assert.equal(h.run(), "count");
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].bytes, [...echoReply(56)]);
});

Deno.test("runLoop rxdrop: every frame freed back and refilled, counts exact, nothing sent", async () => {
  // 256 frames, FILL 64: 1000 packets only get through if every frame is recycled.
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64 });
  const { port, kernel, calls } = f;
  const TOTAL = 1000, LEN = 90;
  const h = await handlerLoop(port, rxdrop, { burst: 16, count: TOTAL });
  const { stats } = h;
  const txProducer = kernel.tx.producer[0];
  // Traffic arrives whenever the loop finds RX empty, up to 50 packets at a time (as many as
  // FILL has frames for).
  onEmptyBurst(f, () => {
    const left = TOTAL - kernel.delivered;
    if (left > 0) kernel.deliver(Math.min(50, left), LEN);
  });
  assert.equal(h.run(), "count");
  assert.equal(kernel.delivered, TOTAL);
  const c = port.counters;
  assert.equal(c.rxPackets, TOTAL);
  assert.equal(c.rxBytes, TOTAL * LEN);
  assert.deepEqual(
    [c.txQueued, c.txPackets, c.txBytes, c.txRingFull, c.txKicks, calls.sendto],
    [0, 0, 0, 0, 0, 0],
    "nothing sent",
  );
  assert.equal(kernel.tx.producer[0], txProducer, "no TX descriptor");
  assert.equal(kernel.transmitted, 0);
  assert.equal(stats[Slot.appDropped], TOTAL, "every frame dropped by the handler");
  assert.equal(stats[Slot.unhandled], 0);
  assertPublished(port, stats);
  // Every frame is back: in the pool or on FILL, RX empty, none held.
  assert.equal(kernel.rx.count(), 0);
  assert.equal(port.pool.available + kernel.fill.count(), 256);
  assertBalanced(f, 0, "after the loop");
});

Deno.test("stats block: the port's counters occupy slots 0.. in the same order", () => {
  // publish() copies Port.counterBlock into the block's first slots as one block.
  PORT_COUNTERS.forEach((d, i) => assert.equal(Slot[d.name], i, d.name));
  assert.ok(Slot.freeFrames >= PORT_COUNTERS.length);
});

Deno.test("runLoop txonly: frames originated from idle, sent byte-exact, counted, audit balanced", async () => {
  // No FILL (txonly receives nothing): every frame starts in the pool.
  const f = fakePort({ frames: 256, rxSize: 64, txSize: 64, fillFrames: 0 });
  const { port, kernel } = f;
  const sent = recordTx(f);
  const h = await handlerLoop(port, txonly, {
    count: 500,
    options: { dst_mac: "02:00:00:00:00:0b", src_ip: "10.0.0.2", dst_ip: "10.0.0.1", size: 60 },
    mac: Uint8Array.from(OUR_MAC),
  });
  assert.equal(h.run(), "count");
  assert.equal(sent.length, 500, "exactly --count frames sent");
  const want = new Uint8Array(60);
  writeUdpFrame(want, 0, {
    srcMac: Uint8Array.from(OUR_MAC),
    dstMac: Uint8Array.from(PEER_MAC),
    srcIp: 0x0a000002,
    dstIp: 0x0a000001,
    srcPort: 4242,
    dstPort: 4242,
    frameLen: 60,
  });
  for (const s of sent) assert.deepEqual(s.bytes, [...want]);
  assert.equal(h.stats[Slot.originated], 500);
  const c = port.counters;
  assert.equal(c.txPackets, 500);
  assert.equal(c.rxPackets, 0);
  assert.equal(kernel.transmitted, 500);
  assertPublished(port, h.stats);
  assertBalanced(f, 0, "after the loop");
});

Deno.test("ctx.alloc/send/free: what a handler originates is sent or counted as dropped", async () => {
  const f = fakePort({ frames: 128, rxSize: 64, txSize: 64, fillFrames: 0 });
  const { port } = f;
  const sent = recordTx(f);
  let calls = 0;
  // Each idle call takes two frames: one sent (42 bytes, first byte = the call number), one
  // given back. Call 3 also tries to send a frame with a bad length (a RangeError, counted), and
  // gives that frame back. --count 20 ends the loop when 20 frames were taken.
  const h = await handlerLoop(port, {
    burst(b) {
      for (let i = 0; i < b.length; i++) b.drop(i);
    },
    idle(ctx) {
      const a = ctx.alloc(), z = ctx.alloc();
      if (a < 0) return;
      ctx.bytes[a] = ++calls;
      ctx.send(a, 42);
      if (z >= 0) ctx.free(z);
      if (calls === 3) {
        const x = ctx.alloc();
        try {
          ctx.send(x, ctx.frameSize + 1);
        } finally {
          ctx.free(x);
        }
      }
    },
  }, { count: 20 });
  const errors: unknown[] = [];
  assert.equal(h.run((e) => errors.push(e)), "count");
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof RangeError, String(errors[0]));
  const s = h.stats;
  assert.equal(s[Slot.handlerErrors], 1);
  // 20 frames: calls 1-9 take 2 (call 3 takes 3), call 10 takes the last one and sends it.
  assert.equal(s[Slot.originated], 20);
  assert.equal(calls, 10);
  assert.deepEqual(sent.map((x) => x.bytes[0]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "in order");
  assert.ok(sent.every((x) => x.len === 42));
  assert.equal(port.counters.txPackets, 10);
  assert.equal(s[Slot.appDropped], 10, "nine frames given back, and the one of the bad send");
  assertBalanced(f, 0, "after the loop");
});
