import assert from "node:assert/strict";
import {
  CAPTURE_HEADER_BYTES,
  CaptureConsumer,
  CaptureProducer,
  captureRingMemory,
  DIR_INBOUND,
  DIR_OUTBOUND,
  EPB_HEADER_BYTES,
  EPB_TYPE,
  epbLength,
  IDB_TYPE,
  interfaceDescription,
  LITTLE,
  readPcapng,
  sectionHeader,
  SHB_TYPE,
  validateCaptureOptions,
} from "../../capture/mod.ts";

/** A fake UMEM: frame `i` (2048 bytes) starts at `i * 2048 + 256` and holds a marked pattern. */
function umemWith(frames: number[][]): { umem: Uint8Array; addrs: Uint32Array; lens: Uint32Array } {
  const umem = new Uint8Array(frames.length * 2048 + 4096);
  umem.fill(0xee); // garbage past every frame: must never reach a record's padding
  const addrs = new Uint32Array(frames.length), lens = new Uint32Array(frames.length);
  frames.forEach((f, i) => {
    addrs[i] = i * 2048 + 256;
    lens[i] = f.length;
    umem.set(f, addrs[i]);
  });
  return { umem, addrs, lens };
}

function frame(seq: number, len: number): number[] {
  return Array.from({ length: len }, (_, j) => j < 4 ? (seq >>> (8 * j)) & 0xff : (seq + j) & 0xff);
}

/** Concatenate drained chunks (copies: the chunk views are only valid during the call). */
function drainAll(c: CaptureConsumer): { bytes: Uint8Array; blocks: number } {
  const parts: Uint8Array[] = [];
  const blocks = c.drain((chunk) => void parts.push(chunk.slice()));
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, blocks };
}

const header = (snaplen: number, interfaces = 1) =>
  new Uint8Array([
    ...sectionHeader("byPassRT test"),
    ...Array.from(
      { length: interfaces },
      (_, i) => [...interfaceDescription({ name: "veth0", description: `queue ${i}`, snaplen })],
    ).flat(),
  ]);

function tally() {
  return { block: new Float64Array(2), captured: 0, dropped: 1 };
}

Deno.test("pcapng: blocks are 32-bit aligned, lengths repeat, the reader gets every field", () => {
  const shb = sectionHeader("byPassRT test");
  const dv = new DataView(shb.buffer);
  assert.equal(dv.getUint32(0, LITTLE), SHB_TYPE);
  assert.equal(dv.getUint32(8, LITTLE), 0x1a2b3c4d);
  assert.equal(dv.getUint16(12, LITTLE), 1, "major version 1");
  assert.equal(dv.getUint16(14, LITTLE), 0, "minor version 0");
  assert.equal(dv.getBigInt64(16, LITTLE), -1n, "section length not specified");
  const idb = interfaceDescription({ name: "veth0", description: "queue 3", snaplen: 128 });
  for (const b of [shb, idb]) {
    const d = new DataView(b.buffer);
    assert.equal(b.length % 4, 0);
    assert.equal(d.getUint32(4, LITTLE), b.length);
    assert.equal(d.getUint32(b.length - 4, LITTLE), b.length);
  }
  assert.equal(new DataView(idb.buffer).getUint32(0, LITTLE), IDB_TYPE);
  assert.equal(new DataView(idb.buffer).getUint16(8, LITTLE), 1, "LINKTYPE_ETHERNET");
  assert.equal(new DataView(idb.buffer).getUint32(12, LITTLE), 128, "snaplen");
  for (let cap = 0; cap < 9; cap++) {
    assert.equal(epbLength(cap, false), 32 + ((cap + 3) & ~3));
    assert.equal(epbLength(cap, true), 44 + ((cap + 3) & ~3));
  }
  const p = readPcapng(idb.length ? new Uint8Array([...shb, ...idb]) : shb);
  assert.equal(p.userAppl, "byPassRT test");
  assert.deepEqual(p.interfaces, [{
    name: "veth0",
    description: "queue 3",
    snaplen: 128,
    linktype: 1,
    tsresol: 6,
  }]);
  assert.throws(() => readPcapng(idb), /Section Header/);
  const bad = new Uint8Array([...shb, ...idb]);
  new DataView(bad.buffer).setUint32(bad.length - 4, 99, LITTLE);
  assert.throws(() => readPcapng(bad), /trailing block length/);
});

Deno.test("capture ring: records are Enhanced Packet Blocks with caplen, origlen, time, data", () => {
  const frames = [frame(1, 60), frame(2, 61), frame(3, 62), frame(4, 63), frame(5, 1514)];
  const { umem, addrs, lens } = umemWith(frames);
  for (const [snaplen, direction] of [[262144, false], [64, true], [1, false]] as const) {
    const mem = captureRingMemory(1 << 16), t = tally();
    const prod = new CaptureProducer(mem, { umem, interfaceId: 2, snaplen, direction, tally: t });
    const before = Date.now();
    prod.burst(addrs, lens, 3, DIR_INBOUND);
    prod.burst(addrs.subarray(3), lens.subarray(3), 2, DIR_OUTBOUND);
    const after = Date.now();
    assert.deepEqual([...t.block], [5, 0]);
    const { bytes, blocks } = drainAll(new CaptureConsumer(mem));
    assert.equal(blocks, 5);
    assert.equal(
      bytes.length,
      frames.reduce((a, f) => a + epbLength(Math.min(f.length, snaplen), direction), 0),
    );
    const dv = new DataView(bytes.buffer);
    assert.equal(dv.getUint32(0, LITTLE), EPB_TYPE);
    const file = readPcapng(new Uint8Array([...header(snaplen, 3), ...bytes]));
    assert.equal(file.packets.length, 5);
    file.packets.forEach((p, i) => {
      const cap = Math.min(frames[i].length, snaplen);
      assert.equal(p.interfaceId, 2);
      assert.equal(p.origlen, frames[i].length);
      assert.equal(p.caplen, cap);
      assert.deepEqual([...p.data], frames[i].slice(0, cap), `frame ${i} bytes`);
      assert.ok(p.timestampUs >= before * 1000 && p.timestampUs <= (after + 1) * 1000, "time");
      assert.equal(p.direction, direction ? (i < 3 ? DIR_INBOUND : DIR_OUTBOUND) : 0);
    });
    // Padding after the data is zero (the UMEM beyond each frame is 0xee).
    let o = 0;
    for (let i = 0; i < 5; i++) {
      const total = dv.getUint32(o + 4, LITTLE), cap = dv.getUint32(o + 20, LITTLE);
      for (let j = o + EPB_HEADER_BYTES + cap; j < o + EPB_HEADER_BYTES + ((cap + 3) & ~3); j++) {
        assert.equal(bytes[j], 0, `padding of frame ${i}`);
      }
      o += total;
    }
  }
});

Deno.test("capture ring: an unaligned frame is copied byte by byte, padding zeroed", () => {
  const umem = new Uint8Array(8192).fill(0xee);
  const f = frame(9, 61);
  umem.set(f, 1001);
  const mem = captureRingMemory(1 << 16), t = tally();
  new CaptureProducer(mem, { umem, interfaceId: 0, snaplen: 262144, direction: false, tally: t })
    .burst(Uint32Array.of(1001), Uint32Array.of(61), 1, DIR_INBOUND);
  const { bytes } = drainAll(new CaptureConsumer(mem));
  const p = readPcapng(new Uint8Array([...header(262144), ...bytes])).packets;
  assert.deepEqual([...p[0].data], f);
  assert.deepEqual([...bytes.subarray(EPB_HEADER_BYTES + 61, EPB_HEADER_BYTES + 64)], [0, 0, 0]);
});

Deno.test("capture ring: wrap-around keeps every record whole and in order", () => {
  const size = 1 << 16;
  for (const start of [0, 2 ** 30 - 4096]) {
    const mem = captureRingMemory(size);
    const idx = new Int32Array(mem, 0, CAPTURE_HEADER_BYTES / 4);
    idx[0] = start; // producer and consumer start near the index wrap (2^30) too
    idx[16] = start;
    const sizes = Array.from({ length: 64 }, (_, i) => 60 + ((i * 97) % 1455));
    const frames = sizes.map((n, i) => frame(i, n));
    const { umem, addrs, lens } = umemWith(frames);
    const t = tally();
    const prod = new CaptureProducer(mem, {
      umem,
      interfaceId: 0,
      snaplen: 262144,
      direction: false,
      tally: t,
    });
    const cons = new CaptureConsumer(mem);
    const one = new Uint32Array(1), oneLen = new Uint32Array(1);
    let seq = 0, got = 0, wraps = 0, lastPos = 0;
    for (let round = 0; round < 200; round++) {
      // Bursts of 1..7 frames, then one drain: the ring wraps many times.
      for (let b = 0; b < 1 + round % 7; b++) {
        one[0] = addrs[seq % 64];
        oneLen[0] = lens[seq % 64];
        prod.burst(one, oneLen, 1, DIR_INBOUND);
        seq++;
      }
      const pos = idx[0] % size;
      if (pos < lastPos) wraps++;
      lastPos = pos;
      const { bytes, blocks } = drainAll(cons);
      const pk = readPcapng(new Uint8Array([...header(262144), ...bytes])).packets;
      assert.equal(pk.length, blocks);
      for (const p of pk) {
        assert.deepEqual([...p.data], frames[got % 64], `record ${got} (start ${start})`);
        got++;
      }
    }
    assert.ok(wraps >= 3, `the ring wrapped (${wraps})`);
    assert.equal(got, seq);
    assert.deepEqual([...t.block], [seq, 0]);
    assert.equal(cons.pending(), 0);
  }
});

Deno.test("capture ring: a full ring drops copies, counts them, never blocks", () => {
  const size = 1 << 16;
  const frames = Array.from({ length: 64 }, (_, i) => frame(i, 1000));
  const { umem, addrs, lens } = umemWith(frames);
  const mem = captureRingMemory(size), t = tally();
  const prod = new CaptureProducer(mem, {
    umem,
    interfaceId: 0,
    snaplen: 262144,
    direction: false,
    tally: t,
  });
  const per = epbLength(1000, false); // 1032
  const fit = Math.floor(size / per); // 63
  prod.burst(addrs, lens, 64, DIR_INBOUND);
  assert.deepEqual([...t.block], [fit, 64 - fit]);
  prod.burst(addrs, lens, 64, DIR_INBOUND); // still full: all 64 dropped
  assert.deepEqual([...t.block], [fit, 128 - fit]);
  const cons = new CaptureConsumer(mem);
  let { bytes } = drainAll(cons);
  let pk = readPcapng(new Uint8Array([...header(262144), ...bytes])).packets;
  assert.equal(pk.length, fit);
  pk.forEach((p, i) => assert.deepEqual([...p.data], frames[i]));
  // Room again: the next burst goes in (wrapping), the dropped ones are simply absent.
  prod.burst(addrs, lens, 10, DIR_INBOUND);
  assert.deepEqual([...t.block], [fit + 10, 128 - fit]);
  ({ bytes } = drainAll(cons));
  pk = readPcapng(new Uint8Array([...header(262144), ...bytes])).packets;
  assert.equal(pk.length, 10);
  pk.forEach((p, i) => assert.deepEqual([...p.data], frames[i]));
});

Deno.test("capture ring: stop() makes the producer copy nothing; a short take discards the rest", () => {
  const { umem, addrs, lens } = umemWith([frame(1, 60), frame(2, 60), frame(3, 60)]);
  const mem = captureRingMemory(1 << 16), t = tally();
  const prod = new CaptureProducer(mem, {
    umem,
    interfaceId: 0,
    snaplen: 262144,
    direction: false,
    tally: t,
  });
  const cons = new CaptureConsumer(mem);
  prod.burst(addrs, lens, 3, DIR_INBOUND);
  assert.equal(cons.drain(() => 1), 1, "took one block of three");
  assert.equal(cons.pending(), 0, "the rest left the ring");
  cons.stop();
  prod.burst(addrs, lens, 3, DIR_INBOUND);
  assert.deepEqual([...t.block], [3, 0], "not copied, not counted as dropped");
  assert.equal(cons.pending(), 0);
});

Deno.test("capture ring: sizes are checked", () => {
  for (const s of [0, 1000, 1 << 15, 3 << 16, 2 ** 29]) {
    assert.throws(() => captureRingMemory(s), RangeError, String(s));
  }
  assert.equal(captureRingMemory(1 << 16).byteLength, CAPTURE_HEADER_BYTES + (1 << 16));
  assert.equal(CaptureProducer.HEADER, CAPTURE_HEADER_BYTES);
  assert.equal(CaptureProducer.EPB, EPB_TYPE);
  assert.equal(CaptureProducer.EPB_HEADER, EPB_HEADER_BYTES);
});

/**
 * The producer Worker: `count` frames of sizes 60..1514 with their sequence number in the first
 * four bytes and a pattern after, in bursts of 1..64, into a small ring the main thread drains
 * concurrently. Built as a blob Worker from {@link CaptureProducer}'s own source (it is
 * self-contained), so `deno test --allow-ffi` (no read permission) runs it too.
 */
function producer(mem: SharedArrayBuffer, count: number): unknown {
  const umem = new Uint8Array(64 * 2048);
  const addrs = new Uint32Array(64), lens = new Uint32Array(64);
  const tally = new Float64Array(2);
  const p = new CaptureProducer(mem, {
    umem,
    interfaceId: 0,
    snaplen: 262144,
    direction: false,
    tally: { block: tally, captured: 0, dropped: 1 },
  });
  let seq = 0, rnd = 12345;
  while (seq < count) {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    let n = 1 + ((rnd >>> 16) & 63);
    if (n > count - seq) n = count - seq;
    for (let i = 0; i < n; i++) {
      const s = seq + i, a = i * 2048 + 256, len = 60 + (Math.imul(s, 2654435761) >>> 0) % 1455;
      addrs[i] = a;
      lens[i] = len;
      for (let j = 0; j < len; j++) umem[a + j] = j < 4 ? (s >>> (8 * j)) & 0xff : (s + j) & 0xff;
    }
    p.burst(addrs, lens, n, 1);
    seq += n;
  }
  return { captured: tally[0], dropped: tally[1] };
}

Deno.test("capture ring: a producer Worker and a draining main thread: no torn records", async () => {
  const count = 200_000;
  const mem = captureRingMemory(1 << 16);
  const src = `${CaptureProducer.toString()}
${producer.toString()}
self.onmessage = (e) => self.postMessage(producer(e.data.mem, e.data.count));`;
  const worker = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })), {
    type: "module",
  });
  try {
    let result: { captured: number; dropped: number } | undefined, failed: string | undefined;
    worker.onmessage = (e) => result = e.data;
    worker.onerror = (e) => {
      e.preventDefault();
      failed = e.message;
    };
    worker.postMessage({ mem, count });
    const cons = new CaptureConsumer(mem);
    let records = 0, last = -1, bad = 0;
    const check = (chunk: Uint8Array, blocks: number) => {
      const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let o = 0;
      for (let b = 0; b < blocks; b++) {
        const total = dv.getUint32(o + 4, LITTLE), cap = dv.getUint32(o + 20, LITTLE);
        const seq = dv.getUint32(o + EPB_HEADER_BYTES, LITTLE);
        const want = 60 + (Math.imul(seq, 2654435761) >>> 0) % 1455;
        let ok = dv.getUint32(o, LITTLE) === EPB_TYPE && cap === want &&
          dv.getUint32(o + total - 4, LITTLE) === total && total === epbLength(cap, false) &&
          seq > last;
        for (let j = 4; ok && j < cap; j++) {
          ok = chunk[o + EPB_HEADER_BYTES + j] === ((seq + j) & 0xff);
        }
        if (!ok) bad++;
        last = seq;
        records++;
        o += total;
      }
    };
    const deadline = performance.now() + 60_000;
    for (let spins = 0; result === undefined && failed === undefined; spins++) {
      cons.drain(check);
      // Spin mostly (drains race the producer), let the Worker's messages in now and then.
      if (spins % 256 === 0) {
        if (performance.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 0));
      }
    }
    cons.drain(check);
    assert.equal(failed, undefined);
    assert.ok(result, "the producer finished");
    assert.equal(bad, 0, "torn or out-of-order records");
    assert.equal(records, result.captured);
    assert.equal(result.captured + result.dropped, count);
    assert.ok(result.captured > 0);
    console.log(`worker: ${result.captured} captured, ${result.dropped} dropped (ring full)`);
  } finally {
    worker.terminate();
  }
});

Deno.test("capture options: bad snap length, size limit or ring size is one clear error", () => {
  const ok = { path: "/tmp/x.pcapng" };
  validateCaptureOptions(ok);
  for (
    const [o, want] of [
      [{ snaplen: 0 }, /--pcap-snaplen 0 is invalid/],
      [{ snaplen: 262145 }, /--pcap-snaplen 262145 is invalid/],
      [{ snaplen: 1.5 }, /--pcap-snaplen 1.5 is invalid/],
      [{ maxBytes: -1 }, /--pcap-max-mb is invalid/],
      [{ ringBytes: 1000 }, /capture ring of 1000 bytes is invalid/],
      [{ path: "" }, /--pcap needs a file name/],
    ] as const
  ) {
    assert.throws(() => validateCaptureOptions({ ...ok, ...o }), want);
  }
});
