/**
 * What `--pcap` costs the polling loop itself, without a NIC: the engine's real loop
 * (engine/loop.ts `runLoop`) with handlers/rxdrop.ts on the wake-up driven fake kernel (64-byte
 * frames, bursts of 64), without and with a capture ring, in alternating rounds. Only the loop
 * is timed; between timed chunks the ring is drained (records walked and released, as the main
 * thread does before it writes them). GC lines (`--v8-flags=--trace-gc`) between the
 * `== measure begin` / `== measure end` markers are GC in the timed loop.
 *
 * Run: `deno run -A --v8-flags=--trace-gc bench/pcap_loop.ts [rounds=5] [packets=20000000]`.
 * Prints one line per round and a last JSON line with the medians and the median ratio.
 *
 * @module
 */
import { importHandler } from "../engine/handler.ts";
import { Slot } from "../engine/stats.ts";
import { CaptureConsumer, CaptureProducer, captureRingMemory } from "../capture/ring.ts";
import { DEFAULT_CAPTURE_RING } from "../capture/session.ts";
import { driveOnWakeups, fakePort } from "../testing/fake_kernel.ts";
import { handlerLoop } from "../testing/handler_loop.ts";

const BURST = 64, LEN = 64;
/** Packets per timed chunk: the ring (16 MiB) holds them all (64 x 92-byte records = 5.9 MB). */
const CHUNK = 64_000;

const RXDROP = new URL("../handlers/rxdrop.ts", import.meta.url).href;

async function setup(capture: boolean) {
  const f = fakePort({ frames: 4096, rxSize: 2048, txSize: 2048 });
  driveOnWakeups(f, BURST, LEN, false);
  const { handler } = await importHandler(RXDROP, {});
  const mem = captureRingMemory(DEFAULT_CAPTURE_RING);
  const tally = new Float64Array(2);
  const producer = capture
    ? new CaptureProducer(mem, {
      umem: f.port.umem,
      interfaceId: 0,
      snaplen: 262144,
      direction: false,
      tally: { block: tally, captured: 0, dropped: 1 },
    })
    : undefined;
  const consumer = new CaptureConsumer(mem);
  const h = await handlerLoop(f.port, handler, { burst: BURST, capture: producer });
  let drained = 0;
  /** Run `packets` (whole chunks); returns the ms spent in the loop. */
  const run = (packets: number) => {
    let ms = 0;
    for (let done = 0; done < packets; done += CHUNK) {
      h.loop.count = f.port.rxPackets + CHUNK;
      const t0 = performance.now();
      if (h.run() !== "count") throw new Error("the loop stopped early");
      ms += performance.now() - t0;
      drained += consumer.drain(() => {});
    }
    return ms;
  };
  return { f, h, tally, run, drained: () => drained };
}

const rounds = Number(Deno.args[0] ?? 5), packets = Number(Deno.args[1] ?? 20_000_000);
const timed = Math.ceil(packets / CHUNK) * CHUNK;
const off = await setup(false), on = await setup(true);
off.run(4 * CHUNK * 10);
on.run(4 * CHUNK * 10);
const ns = { off: [] as number[], pcap: [] as number[] }, ratios: number[] = [];
console.log("== measure begin");
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? ["off", "pcap"] as const : ["pcap", "off"] as const;
  const got: Record<string, number> = {};
  for (const v of order) {
    const s = v === "off" ? off : on;
    got[v] = s.run(timed) * 1e6 / timed;
    ns[v].push(got[v]);
  }
  ratios.push(got.off / got.pcap);
  console.log(
    `round ${r + 1}: off ${got.off.toFixed(2)} ns/pkt, pcap ${got.pcap.toFixed(2)} ns/pkt, ` +
      `rate ratio pcap/off ${(got.off / got.pcap).toFixed(3)}`,
  );
}
console.log("== measure end");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const captured = on.tally[0], dropped = on.tally[1];
if (dropped !== 0 || on.drained() !== captured || captured !== on.f.port.rxPackets) {
  throw new Error(`capture lost frames: ${captured} captured, ${dropped} dropped`);
}
if (off.h.stats[Slot.unhandled] !== 0 || on.h.stats[Slot.unhandled] !== 0) {
  throw new Error("rxdrop left frames undecided");
}
console.log(JSON.stringify({
  rounds,
  packets_per_run: timed,
  off_ns_per_pkt: median(ns.off),
  pcap_ns_per_pkt: median(ns.pcap),
  copy_ns_per_pkt: median(ns.pcap) - median(ns.off),
  ratio: median(ratios),
  captured,
  dropped,
}));
