/**
 * Jumbo frames on one interface (MTU 9000 on both veth ends, native XDP, multi-buffer AF_XDP
 * sockets): l2fwd sends every frame back byte-exact with the MACs swapped, whole chains; a
 * handler walks the segments (`b.segments`, `b.segmentStart`, `b.segmentSize`, `b.totalSize`)
 * and verifies each frame's UDP checksum over all of them; with `--multi-buffer off` the
 * kernel drops what does not fit one buffer and the run reports it (`rx_dropped`), while small
 * frames still pass. Counts exact, frame audit balanced.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { readPcapng } from "../../capture/pcapng.ts";
import {
  argv,
  cli,
  inNs,
  pktio,
  serve,
  type Topology,
  withTopology,
  xdpAttached,
} from "./_netns.ts";
import { compileBpf, FIXTURES } from "./_xdp.ts";

const T = { sanitizeResources: false, sanitizeOps: false };

async function setMtu(t: Topology, mtu: number): Promise<void> {
  await inNs(t.dut, "ip", "link", "set", "dev", t.dutIf, "mtu", String(mtu));
  await inNs(t.peer, "ip", "link", "set", "dev", t.peerIf, "mtu", String(mtu));
}

/** pktio echo of `count` frames with payloads of `min`..`max` bytes to UDP/`port`. */
function echo(t: Topology, count: number, min: number, max: number, port = 9000, timeout = 10) {
  return pktio(
    t.peer,
    ...argv(
      `echo --iface ${t.peerIf} --dst-mac ${t.dutMac} --count ${count} --seed 5 --port ${port} ` +
        `--payload-min ${min} --payload-max ${max} --timeout ${timeout} --gap-us 2000`,
    ),
  );
}

type Final = ReturnType<Awaited<ReturnType<typeof serve>>["final"]> & {
  multi_buffer: { on: boolean; mtu: number; buffer_bytes: number };
  xdp_mode: string;
};

const N = 1000;

Deno.test(
  "jumbo: l2fwd at MTU 9000 sends 1000 frames of 7000-9014 bytes back byte-exact, MACs swapped",
  T,
  () =>
    withTopology(async (t) => {
      await setMtu(t, 9000);
      let r: Record<string, number> = {};
      const bp = await serve(t, "--mode l2fwd --steer udp:9000 --json", async () => {
        r = await echo(t, N, 6954, 8968);
      });
      strictEqual(r.matched, N, JSON.stringify(r));
      strictEqual(r.mismatched, 0);
      const f = bp.final() as Final;
      ok(f.balanced, `audit: ${JSON.stringify(f.audits)}`);
      strictEqual(f.xdp_mode, "native");
      strictEqual(f.multi_buffer.on, true);
      strictEqual(f.total.rx_packets, N);
      strictEqual(f.total.tx_packets, N);
      strictEqual(f.total.rx_chained, N);
      strictEqual(f.total.tx_chained, N);
      strictEqual(f.total.xdp_statistics.rx_dropped, 0);
    }),
);

Deno.test(
  "jumbo: a handler sees each frame's segments and checks its UDP checksum over all of them",
  T,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "bpt-jumbo-" });
    const file = `${dir}/segments.ts`;
    // Sums the UDP checksum over every segment (pseudo header + UDP header and payload), swaps
    // the MACs in segment 0 and sends the whole chain back.
    await Deno.writeTextFile(
      file,
      `import type { Handler } from "${new URL("../../mod.ts", import.meta.url).href}";
export default {
  counters: ["frames", "chained", "segments", "csum_ok", "csum_bad", "lengths_ok"],
  burst(b, ctx) {
    const u = b.bytes;
    for (let i = 0; i < b.length; i++) {
      const n = b.segments(i);
      ctx.counters[0]++;
      if (n > 1) ctx.counters[1]++;
      ctx.counters[2] += n;
      let total = 0;
      for (let s = 0; s < n; s++) total += b.segmentSize(i, s);
      const s0 = b.start(i);
      const ipLen = (u[s0 + 16] << 8) | u[s0 + 17];
      if (total === b.totalSize(i) && total === 14 + ipLen && b.segmentSize(i, 0) === b.size(i)) {
        ctx.counters[5]++;
      }
      // Pseudo header: addresses, protocol, UDP length.
      let sum = 17 + ((u[s0 + 38] << 8) | u[s0 + 39]);
      for (let k = 26; k < 34; k += 2) sum += (u[s0 + k] << 8) | u[s0 + k + 1];
      // UDP header and payload from byte 34 of the frame, over the segments in order.
      let pos = 0, hi = true;
      for (let s = 0; s < n; s++) {
        const a = b.segmentStart(i, s), len = b.segmentSize(i, s);
        for (let k = 0; k < len; k++, pos++) {
          if (pos < 34) continue;
          sum += hi ? u[a + k] << 8 : u[a + k];
          hi = !hi;
        }
      }
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      ctx.counters[sum === 0xffff ? 3 : 4]++;
      for (let k = 0; k < 6; k++) {
        const x = u[s0 + k];
        u[s0 + k] = u[s0 + 6 + k];
        u[s0 + 6 + k] = x;
      }
      b.send(i);
    }
  },
} satisfies Handler;
`,
    );
    try {
      await withTopology(async (t) => {
        await setMtu(t, 9000);
        let r: Record<string, number> = {};
        // 200 jumbo frames (several segments each) and 200 small ones (one segment).
        let small: Record<string, number> = {};
        const bp = await serve(t, `--handler ${file} --steer udp:9000 --json`, async () => {
          r = await echo(t, 200, 3000, 8968);
          small = await echo(t, 200, 14, 1400);
        });
        strictEqual(r.matched, 200, JSON.stringify(r));
        strictEqual(small.matched, 200, JSON.stringify(small));
        const f = bp.final() as Final;
        ok(f.balanced, `audit: ${JSON.stringify(f.audits)}`);
        const c = f.handler_counters;
        strictEqual(c.frames, 400);
        strictEqual(c.chained, 200);
        strictEqual(c.csum_ok, 400, JSON.stringify(c));
        strictEqual(c.csum_bad, 0);
        strictEqual(c.lengths_ok, 400);
        // 2048-byte UMEM frames hold 1792 bytes each: a 3000-9014-byte frame takes 2-6.
        ok(c.segments >= 200 + 2 * 200 && c.segments <= 200 + 6 * 200, JSON.stringify(c));
        strictEqual(f.total.rx_chained, 200);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "jumbo: --multi-buffer off at MTU 9000: frames longer than one buffer are dropped by the " +
    "kernel and reported (rx_dropped), small ones pass",
  T,
  () =>
    withTopology(async (t) => {
      await setMtu(t, 9000);
      let big: Record<string, number> = {}, small: Record<string, number> = {};
      const bp = await serve(
        t,
        "--mode l2fwd --steer udp:9000 --multi-buffer off --json",
        async () => {
          big = await echo(t, 50, 3000, 8968, 9000, 2);
          small = await echo(t, 50, 14, 1400);
        },
      );
      strictEqual(big.received, 0, JSON.stringify(big));
      strictEqual(small.matched, 50, JSON.stringify(small));
      const f = bp.final() as Final;
      ok(f.balanced, `audit: ${JSON.stringify(f.audits)}`);
      strictEqual(f.multi_buffer.on, false);
      strictEqual(f.total.rx_packets, 50);
      strictEqual(f.total.xdp_statistics.rx_dropped, 50);
      // The program redirected all 100: the socket could take only the small ones.
      strictEqual(f.program.redirected, 100);
    }),
);

Deno.test(
  'jumbo: --xdp-prog at MTU 9000: a program in SEC("xdp") is refused with one line naming ' +
    'xdp.frags; the same program in SEC("xdp.frags") echoes jumbo frames with l2fwd',
  T,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "bpt-jumbo-prog-" });
    try {
      const plain = `${dir}/plain.o`, frags = `${dir}/frags.o`;
      await compileBpf(`${FIXTURES}xdp_udp_subset.c`, plain);
      const src = await Deno.readTextFile(`${FIXTURES}xdp_udp_subset.c`);
      await Deno.writeTextFile(`${dir}/frags.c`, src.replace('SEC("xdp")', 'SEC("xdp.frags")'));
      await compileBpf(`${dir}/frags.c`, frags);
      await withTopology(async (t) => {
        await setMtu(t, 9000);
        const r = await cli(argv(`--iface ${t.dutIf} --mode l2fwd --xdp-prog ${plain}`), {
          ns: t.dut,
        });
        strictEqual(r.code, 1, r.stderr);
        strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
        ok(/not frags-aware .* MTU 9000.*SEC\("xdp.frags"\)/.test(r.stderr), r.stderr);
        strictEqual(await xdpAttached(t.dut, t.dutIf), false, "nothing left attached");

        let got: Record<string, number> = {};
        const bp = await serve(t, `--mode l2fwd --xdp-prog ${frags} --json`, async () => {
          got = await echo(t, 300, 6954, 8968, 5003);
        });
        strictEqual(got.matched, 300, JSON.stringify(got));
        const f = bp.final() as Final;
        ok(f.balanced, `audit: ${JSON.stringify(f.audits)}`);
        strictEqual(f.xdp_mode, "native");
        strictEqual(f.total.rx_chained, 300);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "jumbo: --pcap records each multi-buffer frame once: its first segment, the whole length as origlen",
  T,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "bpt-jumbo-pcap-" });
    const file = `${dir}/j.pcapng`;
    try {
      await withTopology(async (t) => {
        await setMtu(t, 9000);
        let r: Record<string, number> = {};
        const bp = await serve(
          t,
          `--mode l2fwd --steer udp:9000 --json --pcap ${file}`,
          async () => {
            r = await echo(t, 50, 6954, 8968);
          },
        );
        strictEqual(r.matched, 50, JSON.stringify(r));
        const f = bp.final() as Final;
        ok(f.balanced);
        const p = readPcapng(await Deno.readFile(file));
        strictEqual(p.packets.length, 50);
        const mac = t.dutMac.split(":").map((h) => parseInt(h, 16));
        for (const k of p.packets) {
          // 2048-byte UMEM frames: the first segment holds 1792 bytes.
          strictEqual(k.caplen, 1792);
          ok(k.origlen >= 7000 && k.origlen <= 9014, `origlen ${k.origlen}`);
          deepStrictEqual([...k.data.subarray(0, 6)], mac);
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
