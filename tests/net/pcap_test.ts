/**
 * `--pcap`: real frames from the peer namespace, the capture file read back twice (our pcapng
 * reader and `tcpdump -r -xx -nn -tt`) and compared with what was sent: exactly those frames,
 * bytes equal, in order, lengths and timestamps right; `--pcap-tx`, `--pcap-snaplen`,
 * `--pcap-max-mb`, and a bad path (one line, exit 1, nothing attached). Every stop path leaves a
 * complete file: SIGINT, SIGTERM, --count, --duration.
 */
import assert from "node:assert/strict";
import { type PcapngPacket, readPcapng } from "../../capture/pcapng.ts";
import { Bypassrt, cli, pktio, type Topology, withTopology, xdpAttached } from "./_netns.ts";

const SIZES = [60, 61, 62, 63, 64, 65, 66, 67, 99, 128, 129, 255, 256, 511, 1000, 1499, 1513, 1514];

function ones(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** IPv4/UDP frame `seq` of `size` bytes to the dut: payload "PCAP", seq, then a pattern. */
function testFrame(t: Topology, seq: number, size: number): Uint8Array {
  const f = new Uint8Array(size), dv = new DataView(f.buffer);
  const mac = (s: string) => s.split(":").map((x) => parseInt(x, 16));
  f.set(mac(t.dutMac), 0);
  f.set(mac(t.peerMac), 6);
  dv.setUint16(12, 0x0800);
  const ip = f.subarray(14, 34);
  ip.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1]);
  dv.setUint16(16, size - 14);
  dv.setUint16(24, ones(ip));
  dv.setUint16(34, 20000 + (seq & 0xfff));
  dv.setUint16(36, 9000);
  dv.setUint16(38, size - 34);
  f.set([0x50, 0x43, 0x41, 0x50], 42); // "PCAP"
  dv.setUint32(46, seq);
  for (let j = 50; j < size; j++) f[j] = (seq * 7 + j) & 0xff;
  return f;
}

/** `n` distinct frames, sizes cycling through {@link SIZES}. */
function frames(t: Topology, n: number, first = 0, sizes = SIZES): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => testFrame(t, first + i, sizes[i % sizes.length]));
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Send `fs` from the peer end, back to back (pktio raw). */
async function send(t: Topology, fs: Uint8Array[]): Promise<void> {
  const file = await Deno.makeTempFile({ prefix: "bypassrt-pcap-", suffix: ".hex" });
  try {
    await Deno.writeTextFile(file, fs.map(hex).join("\n") + "\n");
    const r = await pktio(t.peer, "raw", "--iface", t.peerIf, "--hexfile", file);
    assert.equal(r.sent, fs.length);
  } finally {
    await Deno.remove(file);
  }
}

/** Wait until the engine's last report shows at least `n` frames received. */
async function waitRx(b: Bypassrt, n: number, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const last = b.lines.at(-1) as { total?: { rx_packets: number } } | undefined;
    if ((last?.total?.rx_packets ?? 0) >= n) return;
    if (Date.now() > end) {
      throw new Error(`rx_packets ${last?.total?.rx_packets} < ${n}; stderr: ${b.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One packet as `tcpdump -r FILE -xx -nn -tt` prints it. */
interface Dumped {
  /** Timestamp, microseconds since the epoch. */
  us: number;
  /** The captured bytes. */
  bytes: string;
  /** The header line. */
  line: string;
}

/** Read `file` with tcpdump (which must read it without complaint). */
async function tcpdump(file: string): Promise<Dumped[]> {
  const out = await new Deno.Command("tcpdump", {
    args: ["-r", file, "-xx", "-nn", "-tt"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `tcpdump -r failed: ${err}`);
  // The file's random name may hold "bad" (hex): judge tcpdump's words, not the name.
  assert.doesNotMatch(err.replaceAll(file, "FILE"), /truncated|bad|error|invalid/i, err);
  const pk: Dumped[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = /^(\d+)\.(\d{6}) /.exec(line);
    if (m) pk.push({ us: Number(m[1]) * 1e6 + Number(m[2]), bytes: "", line });
    else if (/^\s+0x[0-9a-f]{4}:/.test(line)) {
      pk.at(-1)!.bytes += line.replace(/^\s+0x[0-9a-f]{4}:\s+/, "").replace(/\s+/g, "");
    }
  }
  return pk;
}

/** The file read by both readers, checked against each other; our reader's packets. */
async function readBoth(file: string): Promise<PcapngPacket[]> {
  const p = readPcapng(await Deno.readFile(file));
  const d = await tcpdump(file);
  assert.equal(d.length, p.packets.length, "tcpdump and our reader see the same packets");
  p.packets.forEach((x, i) => {
    assert.equal(d[i].bytes, hex(x.data), `packet ${i}: tcpdump's bytes`);
    assert.equal(d[i].us, x.timestampUs, `packet ${i}: tcpdump's timestamp`);
  });
  return p.packets;
}

/** Check `got` holds exactly `sent`, in order, with times inside [t0, t1] (ms). */
function assertExactly(got: PcapngPacket[], sent: Uint8Array[], t0: number, t1: number): void {
  assert.equal(got.length, sent.length, "exactly the frames sent");
  let prev = 0;
  got.forEach((p, i) => {
    assert.equal(p.origlen, sent[i].length, `frame ${i}: length`);
    assert.equal(p.caplen, sent[i].length, `frame ${i}: captured length`);
    assert.equal(hex(p.data), hex(sent[i]), `frame ${i}: bytes`);
    assert.ok(p.timestampUs >= t0 * 1000 && p.timestampUs <= t1 * 1000, `frame ${i}: time`);
    assert.ok(p.timestampUs >= prev, `frame ${i}: time goes forward`);
    prev = p.timestampUs;
  });
}

async function tempPcap(): Promise<string> {
  return await Deno.makeTempFile({ prefix: "bypassrt-", suffix: ".pcapng" });
}

Deno.test("pcap: rxdrop --pcap holds exactly the frames received (SIGINT), tcpdump agrees", async () => {
  await withTopology(async (t) => {
    const file = await tempPcap();
    try {
      const sent = frames(t, 60);
      const t0 = Date.now();
      const b = new Bypassrt(t.dut, [
        ...["--iface", t.dutIf, "--mode", "rxdrop", "--pcap", file, "--interval", "0.2"],
      ]);
      await b.ready();
      await send(t, sent);
      await waitRx(b, sent.length);
      const st = await b.stop("SIGINT");
      const t1 = Date.now();
      assert.equal(st.code, 0, b.stderr);
      const f = b.final() as ReturnType<Bypassrt["final"]> & {
        capture: { frames: number; file: string; stopped: string };
      };
      assert.equal(f.total.rx_packets, sent.length);
      assert.equal(f.total.pcap_captured, sent.length);
      assert.equal(f.total.pcap_dropped, 0);
      assert.equal(f.capture.frames, sent.length);
      assert.equal(f.capture.stopped, "");
      const p = readPcapng(await Deno.readFile(file));
      assert.equal(p.interfaces.length, 1);
      assert.equal(p.interfaces[0].name, t.dutIf);
      assert.equal(p.interfaces[0].snaplen, 262144);
      assert.equal(p.interfaces[0].tsresol, 6);
      const got = await readBoth(file);
      assertExactly(got, sent, t0, t1);
      assert.ok(got.every((x) => x.direction === 0), "no direction without --pcap-tx");
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  });
});

Deno.test("pcap: l2fwd --pcap-tx records each frame in and its MAC-swapped copy out (SIGTERM)", async () => {
  await withTopology(async (t) => {
    const file = await tempPcap();
    try {
      const sent = frames(t, 40);
      const t0 = Date.now();
      const b = new Bypassrt(t.dut, [
        ...["--iface", t.dutIf, "--mode", "l2fwd", "--pcap", file, "--pcap-tx"],
        ...["--interval", "0.2"],
      ]);
      await b.ready();
      await send(t, sent);
      await waitRx(b, sent.length);
      // Wait for the sends to complete too (tx_packets counts completions).
      const end = Date.now() + 10_000;
      while (((b.lines.at(-1)?.total as Record<string, number>)?.tx_packets ?? 0) < sent.length) {
        if (Date.now() > end) throw new Error(`not all sent: ${b.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const st = await b.stop("SIGTERM");
      const t1 = Date.now();
      assert.equal(st.code, 0, b.stderr);
      const f = b.final();
      assert.equal(f.total.rx_packets, sent.length);
      assert.equal(f.total.tx_packets, sent.length);
      assert.equal(f.total.pcap_captured, 2 * sent.length);
      const got = await readBoth(file);
      const inb = got.filter((p) => p.direction === 1), out = got.filter((p) => p.direction === 2);
      assert.equal(inb.length + out.length, got.length, "every record has a direction");
      assertExactly(inb, sent, t0, t1);
      const swapped = sent.map((s) => {
        const c = s.slice();
        c.set(s.subarray(6, 12), 0);
        c.set(s.subarray(0, 6), 6);
        return c;
      });
      assertExactly(out, swapped, t0, t1);
      // Each frame's copy out comes after the frame in.
      const at = (p: PcapngPacket) => got.indexOf(p);
      inb.forEach((p, i) => assert.ok(at(p) < at(out[i]), `frame ${i}: in before out`));
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  });
});

Deno.test("pcap: --pcap-snaplen 64 cuts caplen, keeps origlen; --count stops, drained frames too", async () => {
  await withTopology(async (t) => {
    const file = await tempPcap();
    try {
      const sent = frames(t, 36), count = 24;
      const t0 = Date.now();
      const b = new Bypassrt(t.dut, [
        ...["--iface", t.dutIf, "--mode", "rxdrop", "--pcap", file, "--pcap-snaplen", "64"],
        ...["--count", String(count), "--interval", "0.2"],
      ]);
      await b.ready();
      await send(t, sent);
      const st = await b.wait();
      const t1 = Date.now();
      assert.equal(st.code, 0, b.stderr);
      // The loop stops after `count` frames; the frames behind them on the RX ring are drained
      // at stop and count as received: the file holds those too.
      const f = b.final().total;
      assert.ok(f.rx_packets >= count, `rx_packets ${f.rx_packets}`);
      assert.equal(f.drained_at_stop, f.rx_packets - count);
      console.log(`${f.rx_packets} received, ${f.drained_at_stop} of them drained at stop`);
      assert.equal(readPcapng(await Deno.readFile(file)).interfaces[0].snaplen, 64);
      const got = await readBoth(file);
      assert.equal(got.length, f.rx_packets);
      got.forEach((p, i) => {
        assert.equal(p.origlen, sent[i].length, `frame ${i}: origlen`);
        assert.equal(p.caplen, Math.min(64, sent[i].length), `frame ${i}: caplen`);
        assert.equal(hex(p.data), hex(sent[i].subarray(0, 64)), `frame ${i}: bytes`);
        assert.ok(p.timestampUs >= t0 * 1000 && p.timestampUs <= t1 * 1000);
      });
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  });
});

Deno.test("pcap: --duration stops the run; the file holds every frame received", async () => {
  await withTopology(async (t) => {
    const file = await tempPcap();
    try {
      const sent = frames(t, 30);
      const b = new Bypassrt(t.dut, [
        ...["--iface", t.dutIf, "--mode", "rxdrop", "--pcap", file, "--duration", "2"],
      ]);
      await b.ready();
      await send(t, sent);
      const st = await b.wait();
      assert.equal(st.code, 0, b.stderr);
      const rx = b.final().total.rx_packets;
      const got = await readBoth(file);
      // However many arrived before the end (normally all): exactly those, the first sent.
      assert.equal(got.length, rx);
      got.forEach((p, i) => assert.equal(hex(p.data), hex(sent[i]), `frame ${i}`));
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  });
});

Deno.test("pcap: --pcap-max-mb 1 stops writing, says so, and the run goes on", async () => {
  await withTopology(async (t) => {
    const file = await tempPcap();
    try {
      const big = frames(t, 800, 0, [1514]); // 800 x 1546 bytes of records: over 1 MB
      const b = new Bypassrt(t.dut, [
        ...["--iface", t.dutIf, "--mode", "rxdrop", "--pcap", file, "--pcap-max-mb", "1"],
        ...["--interval", "0.2"],
      ]);
      await b.ready();
      await send(t, big);
      await waitRx(b, big.length);
      const end = Date.now() + 10_000;
      while (!b.stderr.includes("--pcap-max-mb reached")) {
        if (Date.now() > end) throw new Error(`no max-mb message: ${b.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // After the limit: more frames are still received and counted, just not written.
      const more = frames(t, 50, 1000);
      await send(t, more);
      await waitRx(b, big.length + more.length);
      const st = await b.stop("SIGINT");
      assert.equal(st.code, 0, b.stderr);
      const lines = b.stderr.split("\n").filter((l) => l.includes("--pcap-max-mb reached"));
      assert.equal(lines.length, 1, "said once");
      const f = b.final() as ReturnType<Bypassrt["final"]> & {
        capture: { frames: number; bytes: number; stopped: string };
      };
      assert.equal(f.total.rx_packets, big.length + more.length, "the run kept processing");
      assert.match(f.capture.stopped, /--pcap-max-mb reached/);
      const size = (await Deno.stat(file)).size;
      assert.ok(size <= 1e6, `file ${size} bytes <= 1 MB`);
      assert.ok(size > 1e6 - 1546, `file ${size} bytes: filled up to the last whole record`);
      assert.equal(f.capture.bytes, size);
      const got = await readBoth(file);
      assert.equal(got.length, f.capture.frames);
      assert.ok(got.length > 600 && got.length < big.length, `${got.length} frames written`);
      got.forEach((p, i) => assert.equal(hex(p.data), hex(big[i]), `frame ${i}`));
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  });
});

Deno.test("pcap: a bad --pcap path fails with one line, exit 1, nothing attached", async () => {
  await withTopology(async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "bypassrt-pcap-" });
    try {
      const cases: [string[], RegExp][] = [
        [["--pcap", "/nonexistent-bypassrt/x.pcapng"], /directory .* does not exist/],
        [["--pcap", dir], /is a directory/],
        [["--pcap", "/proc/bypassrt.pcapng"], /cannot create the file/],
        [["--pcap", `${dir}/x`, "--pcap-snaplen", "0"], /--pcap-snaplen "0" is invalid/],
        [["--pcap", `${dir}/x`, "--pcap-max-mb", "1.5"], /--pcap-max-mb "1.5" is invalid/],
        [["--pcap-tx"], /--pcap-tx goes with --pcap FILE/],
      ];
      for (const [args, want] of cases) {
        const r = await cli(["--iface", t.dutIf, "--mode", "rxdrop", ...args], { ns: t.dut });
        assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], want);
        assert.equal(await xdpAttached(t.dut, t.dutIf), false, `${args.join(" ")}: attached`);
      }
      assert.deepEqual([...Deno.readDirSync(dir)], [], "no file left for a refused option");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("pcap: txonly --pcap-tx records every frame it sent (originated in idle)", async () => {
  await withTopology(async (t) => {
    const file = await tempPcap();
    try {
      const count = 500;
      const b = new Bypassrt(t.dut, [
        ...["--iface", t.dutIf, "--mode", "txonly", "--pcap", file, "--pcap-tx"],
        ...["--count", String(count), "--dst-mac", t.peerMac, "--interval", "0.2"],
      ]);
      const st = await b.wait();
      assert.equal(st.code, 0, b.stderr);
      const f = b.final().total;
      assert.equal(f.originated, count);
      const got = await readBoth(file);
      // Exactly the frames queued for sending (the ones the TX ring refused were freed, not sent).
      assert.equal(got.length, f.tx_queued);
      assert.equal(f.pcap_captured, f.tx_queued);
      assert.ok(got.length > 0);
      const mac = (s: string) => s.replaceAll(":", "");
      for (const p of got) {
        assert.equal(p.direction, 2, "outbound");
        assert.equal(p.caplen, 60);
        assert.equal(hex(p.data.subarray(0, 6)), mac(t.peerMac));
        assert.equal(hex(p.data.subarray(6, 12)), mac(t.dutMac));
        assert.equal(hex(p.data.subarray(36, 38)), (4242).toString(16).padStart(4, "0"));
      }
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  });
});

Deno.test("pcap: two queues, one interface each; together exactly the frames sent", async () => {
  await withTopology(async (t) => {
    const file = await tempPcap();
    try {
      const sent = frames(t, 60);
      const b = new Bypassrt(t.dut, [
        ...["--iface", t.dutIf, "--mode", "rxdrop", "--queue", "0,1", "--pcap", file],
        ...["--interval", "0.2"],
      ]);
      await b.ready();
      await send(t, sent);
      await waitRx(b, sent.length);
      const st = await b.stop("SIGINT");
      assert.equal(st.code, 0, b.stderr);
      const p = readPcapng(await Deno.readFile(file));
      assert.deepEqual(p.interfaces.map((i) => [i.name, i.description]), [
        [t.dutIf, "queue 0"],
        [t.dutIf, "queue 1"],
      ]);
      const got = await readBoth(file);
      assert.equal(got.length, sent.length);
      const seqOf = (x: PcapngPacket) => new DataView(x.data.buffer).getUint32(46);
      // Each queue's frames in order; all of them together: every frame sent, once, intact.
      for (const q of [0, 1]) {
        const seqs = got.filter((x) => x.interfaceId === q).map(seqOf);
        assert.deepEqual(seqs, [...seqs].sort((a, c) => a - c), `queue ${q} in order`);
      }
      const bySeq = [...got].sort((a, c) => seqOf(a) - seqOf(c));
      bySeq.forEach((x, i) => assert.equal(hex(x.data), hex(sent[i]), `frame ${i}`));
      const q = b.final().queues as { pcap_captured: number; rx_packets: number }[];
      q.forEach((x) => assert.equal(x.pcap_captured, x.rx_packets));
      console.log(`per queue: ${q.map((x) => x.rx_packets).join(" + ")} frames`);
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  }, { queues: 2 });
});
