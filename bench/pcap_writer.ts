/**
 * What the capture writer costs the main thread: a capture session's drain (walk the records,
 * `write` them to the file) timed alone, on records a producer put into the ring beforehand
 * (16,384 64-byte frames per drain: about 4 ms at 4 Mpps, the drain period).
 *
 * Run: `deno run -A bench/pcap_writer.ts [dir=/tmp] [drains=300]`; the file is removed after.
 *
 * @module
 */
import { CaptureProducer } from "../capture/ring.ts";
import { CaptureSession } from "../capture/session.ts";

const dir = Deno.args[0] ?? "/tmp", drains = Number(Deno.args[1] ?? 300);
const path = await Deno.makeTempFile({ dir, prefix: "bpb-writer-", suffix: ".pcapng" });
try {
  const s = CaptureSession.open({ path }, "bench0", [0], (m) => console.error(m));
  const umem = new Uint8Array(4096 * 2048);
  const tally = new Float64Array(2);
  const p = new CaptureProducer(s.rings[0], {
    umem,
    interfaceId: 0,
    snaplen: 262144,
    direction: false,
    tally: { block: tally, captured: 0, dropped: 1 },
  });
  const addrs = new Uint32Array(64).map((_, i) => i * 2048 + 256);
  const lens = new Uint32Array(64).fill(60);
  let ms = 0;
  for (let d = 0; d < drains; d++) {
    for (let b = 0; b < 256; b++) p.burst(addrs, lens, 64, 1);
    const t0 = performance.now();
    s.drain();
    ms += performance.now() - t0;
  }
  const st = s.close();
  if (tally[1] !== 0 || st.frames !== tally[0]) throw new Error(`lost frames: ${tally[1]} dropped`);
  console.log(JSON.stringify({
    dir,
    frames: st.frames,
    bytes: st.bytes,
    ns_per_frame: Math.round(ms * 1e6 / st.frames * 10) / 10,
    mb_per_s: Math.round(st.bytes / (ms / 1000) / 1e6),
  }));
} finally {
  await Deno.remove(path).catch(() => {});
}
