/**
 * Forwarding between two interfaces: three namespaces A - dut - B joined by two veth pairs;
 * byPassRT in dut serves both ends (`--iface d0,d1 --mode fwd`, one Worker, one shared UMEM).
 * 2000 frames of random sizes 60-1514 from A arrive at B, and 2000 from B at A, byte-exact and
 * in order; the counts are exact (per interface too) and the frame audit balances. A user's
 * handler does the same with `b.forward`/`b.port`. Bad interface lists are refused with one line.
 */
import type { LatencySnapshot } from "../../engine/latency_report.ts";
import { ok, strictEqual } from "node:assert/strict";
import {
  argv,
  Bypassrt,
  cli,
  inNs,
  pktio,
  pktioSpawn,
  type Topology,
  withTopology,
  xdpAttached,
} from "./_netns.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const N = 2000;

/** Start `expect` in `ns` on `iface` for the stream of `srcMac` to `port`; resolves once listening. */
async function expectStream(
  ns: string,
  iface: string,
  srcMac: string,
  port: number,
  seed: number,
  timeout = 20,
  sizes = "",
) {
  const child = pktioSpawn(
    ns,
    ...argv(
      `expect --iface ${iface} --count ${N} --seed ${seed} --port ${port} --src-mac ${srcMac} ` +
        `--timeout ${timeout} --linger 0.5${sizes}`,
    ),
  );
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`pktio expect did not start: ${buf}`);
    buf += value;
  }
  const result = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
    }
    const err = await new Response(child.stderr).text();
    await child.status;
    const lines = buf.trim().split("\n");
    const last = JSON.parse(lines[lines.length - 1]);
    if (last.listening) throw new Error(`pktio expect gave no result: ${err}`);
    return last as Record<string, number>;
  })();
  // Wrapped: an async function returning a promise would wait for it.
  return { result };
}

/** Run byPassRT in dut with `args` over both dut ends; A and B stream at each other. */
async function forwardBothWays(
  t: Topology,
  args: string,
  o: { aTimeout?: number; min?: number; max?: number; gapUs?: number } = {},
) {
  const b = t.b!;
  const sizes = o.min !== undefined ? ` --min ${o.min} --max ${o.max}` : "";
  const gap = o.gapUs ?? 300;
  const bp = new Bypassrt(t.dut, ["--iface", `${t.dutIf},${b.dutIf}`, ...argv(args)]);
  let failure: unknown;
  let got: Record<string, number>[] = [];
  try {
    await bp.ready();
    const atB = await expectStream(b.peer, b.peerIf, t.peerMac, 9001, 11, 20, sizes);
    const atA = await expectStream(t.peer, t.peerIf, b.peerMac, 9002, 22, o.aTimeout, sizes);
    const [sa, sb] = await Promise.all([
      pktio(
        t.peer,
        ...argv(
          `stream --iface ${t.peerIf} --count ${N} --seed 11 --port 9001 --gap-us ${gap}${sizes}`,
        ),
      ),
      pktio(
        b.peer,
        ...argv(
          `stream --iface ${b.peerIf} --count ${N} --seed 22 --port 9002 --gap-us ${gap}${sizes}`,
        ),
      ),
    ]);
    strictEqual(sa.sent, N);
    strictEqual(sb.sent, N);
    got = await Promise.all([atB.result, atA.result]);
  } catch (e) {
    failure = e;
  }
  const st = await bp.stop("SIGINT");
  if (failure) throw failure;
  if (st.code !== 0) throw new Error(`byPassRT exited ${st.code}: ${bp.stderr}`);
  return { bp, rb: got[0], ra: got[1] };
}

function exact(r: Record<string, number>, what: string) {
  const want = { received: N, matched: N, mismatched: 0, out_of_order: 0, extra: 0 };
  for (const [k, v] of Object.entries(want)) {
    strictEqual(r[k], v, `${what}: ${k} ${JSON.stringify(r)}`);
  }
}

for (
  const [what, extra, queues] of [
    ["", "", 1],
    [", sleeping in poll() on both sockets", " --poll-ms 5", 1],
    [", two queues (a Worker each, both interfaces each)", " --queue 0,1", 2],
    [
      ", multi-buffer sockets at MTU 1500 (--multi-buffer on: the chain path, one buffer each)",
      " --multi-buffer on",
      1,
    ],
  ] as const
) {
  Deno.test(
    `fwd: A -> B and B -> A, 2000 frames each of 60-1514 bytes, byte-exact and in order${what}`,
    T,
    async () => {
      await withTopology(async (t) => {
        const { bp, rb, ra } = await forwardBothWays(t, `--mode fwd --steer all${extra}`);
        exact(rb, "A to B");
        exact(ra, "B to A");
        const f = bp.final() as ReturnType<Bypassrt["final"]> & {
          interfaces: Record<string, number | string>[];
        };
        ok(f.balanced, `audit: ${JSON.stringify(f.audits)}`);
        // Only the streams crossed (IPv6 is off on every end): counts are exact.
        strictEqual(f.total.rx_packets, 2 * N);
        strictEqual(f.total.tx_packets, 2 * N);
        strictEqual(f.handler_counters.forwarded, 2 * N);
        strictEqual(f.interfaces.length, 2);
        strictEqual(f.interfaces[0].iface, t.dutIf);
        strictEqual(f.interfaces[1].iface, t.b!.dutIf);
        for (const i of f.interfaces) {
          strictEqual(i.rx_packets, N, JSON.stringify(i));
          strictEqual(i.tx_packets, N, JSON.stringify(i));
          // Our program on each interface redirected exactly its stream.
          strictEqual(i.xdp_redirected, N, JSON.stringify(i));
        }
        strictEqual(f.program.redirected, 2 * N);
        // The per-frame clock over both ports: every frame stamped, handled and forwarded.
        const l = (f as unknown as { latency: LatencySnapshot }).latency;
        ok(l.enabled);
        strictEqual(l.xdp_to_handler.count, 2 * N);
        strictEqual(l.xdp_to_tx.count, 2 * N);
        strictEqual(l.xdp_to_handler.unstamped + l.xdp_to_tx.unstamped, 0);
        if (extra.includes("poll")) ok(f.total.idle_polls > 0, "the Worker slept in poll()");
        if (extra.includes("multi-buffer")) {
          strictEqual((f as { multi_buffer?: { on: boolean } }).multi_buffer?.on, true);
          strictEqual(f.total.rx_chained, 0);
        }
        strictEqual(f.audits.length, queues);
      }, { second: true, queues });
    },
  );
}

/** Set the MTU of all four ends of the A - dut - B topology. */
export async function setMtu(t: Topology, mtu: number): Promise<void> {
  const b = t.b!;
  for (
    const [ns, dev] of [[t.dut, t.dutIf], [t.peer, t.peerIf], [t.dut, b.dutIf], [b.peer, b.peerIf]]
  ) {
    await inNs(ns, "ip", "link", "set", "dev", dev, "mtu", String(mtu));
  }
}

for (const frameSize of [2048, 4096]) {
  Deno.test(
    `fwd: MTU 9000, 2000 frames each way of 8000-9014 bytes (multi-buffer, ${frameSize}-byte ` +
      `UMEM frames), byte-exact and in order`,
    T,
    async () => {
      await withTopology(async (t) => {
        await setMtu(t, 9000);
        const { bp, rb, ra } = await forwardBothWays(
          t,
          `--mode fwd --steer all --frame-size ${frameSize}`,
          { min: 8000, max: 9014, gapUs: 2000 },
        );
        exact(rb, "A to B");
        exact(ra, "B to A");
        const f = bp.final() as ReturnType<Bypassrt["final"]> & {
          interfaces: Record<string, number | string>[];
          multi_buffer: { on: boolean; mtu: number; buffer_bytes: number };
        };
        ok(f.balanced, `audit: ${JSON.stringify(f.audits)}`);
        strictEqual(f.xdp_mode, "native", "the frags-aware program attaches natively at MTU 9000");
        strictEqual(f.multi_buffer.on, true);
        strictEqual(f.multi_buffer.mtu, 9000);
        strictEqual(f.multi_buffer.buffer_bytes, frameSize - 256);
        strictEqual(f.total.rx_packets, 2 * N);
        strictEqual(f.total.tx_packets, 2 * N);
        // Every frame is longer than one buffer: each arrived and left as a chain.
        strictEqual(f.total.rx_chained, 2 * N);
        strictEqual(f.total.tx_chained, 2 * N);
        strictEqual(f.total.chain_dropped, 0);
        strictEqual(f.total.xdp_statistics.rx_dropped, 0);
        strictEqual(f.handler_counters.forwarded, 2 * N);
        for (const i of f.interfaces) {
          strictEqual(i.rx_packets, N, JSON.stringify(i));
          strictEqual(i.tx_packets, N, JSON.stringify(i));
        }
      }, { second: true });
    },
  );
}

Deno.test(
  "fwd: a user handler with b.port/b.forward forwards A -> B only (a one-way wire)",
  T,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "bpt-fwd-" });
    const file = `${dir}/oneway.ts`;
    await Deno.writeTextFile(
      file,
      `export default {
  counters: ["across", "blocked"],
  burst(b, ctx) {
    for (let i = 0; i < b.length; i++) {
      if (b.port(i) === 0) { b.forward(i, 1); ctx.counters[0]++; }
      else { b.drop(i); ctx.counters[1]++; }
    }
  },
};
`,
    );
    try {
      await withTopology(async (t) => {
        const { bp, rb, ra } = await forwardBothWays(t, `--handler ${file} --steer all`, {
          aTimeout: 3,
        });
        exact(rb, "A to B");
        strictEqual(ra.received, 0, JSON.stringify(ra));
        const f = bp.final();
        ok(f.balanced, `audit: ${JSON.stringify(f.audits)}`);
        strictEqual(f.handler_counters.across, N);
        strictEqual(f.handler_counters.blocked, N);
      }, { second: true });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("fwd: bad interface lists are refused with one line, nothing attached", T, async () => {
  await withTopology(async (t) => {
    const cases: [string, RegExp][] = [
      [`--iface ${t.dutIf},${t.dutIf} --mode fwd`, /names .* twice/],
      [`--iface ${t.dutIf} --mode fwd`, /--mode fwd forwards between interfaces: name two/],
      [`--iface a,b,c,d,e,f,g,h,i --mode fwd`, /at most 8/],
      [`--iface ${t.dutIf},${t.b!.dutIf} --mode inspect`, /serves one interface/],
      // The first interface's program is attached before the second is found missing: it comes
      // off again.
      [`--iface ${t.dutIf},nosuch0 --mode fwd`, /interface nosuch0 not found/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(argv(args), { ns: t.dut });
      strictEqual(r.code, 1, `${args}: ${r.stderr}`);
      ok(re.test(r.stderr), `${args}: ${r.stderr}`);
      strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
      strictEqual(await xdpAttached(t.dut, t.dutIf), false, `${args}: a program is left`);
      strictEqual(await xdpAttached(t.dut, t.b!.dutIf), false, `${args}: a program is left`);
    }
  }, { second: true });
});
