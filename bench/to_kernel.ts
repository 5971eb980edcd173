/**
 * Cost of handing frames back to the kernel (`b.toKernel`): run inside a namespace whose
 * interface IF owns 10.0.0.1 (bench/to_kernel.sh sets it up). Opens the reinjection device for IF
 * as the engine does and writes bursts of 64 frames from a UMEM-like buffer through
 * {@link TapSink.flush} (one FFI call per burst), timing ns per frame: the write, the tc redirect
 * and the kernel's receive path of the frame. BENCH_VARIANT: `closed` (default: UDP port 9, nobody
 * listens: routing, the UDP lookup; the ICMP errors are rate-limited), `tap` (the TAP without its
 * redirect: the write alone), `port=N` (UDP port N: bind a socket there). Prints one JSON line.
 *
 * @module
 */
import { openReinjection, TapSink } from "../engine/to_kernel.ts";
import { openHelper } from "../ffi/helper.ts";
import { helperPath } from "../engine/paths.ts";
import { inetChecksum } from "../packet/mod.ts";

const iface = Deno.args[0];
const rounds = Number(Deno.args[1] ?? 5), perRound = Number(Deno.args[2] ?? 200_000);
const BURST = 64, FRAME = 2048, SIZE = 64;
const mac = (await Deno.readTextFile(`/sys/class/net/${iface}/address`)).trim()
  .split(":").map((x) => parseInt(x, 16));

const umem = new Uint8Array(BURST * FRAME);
for (let i = 0; i < BURST; i++) {
  const f = umem.subarray(i * FRAME, i * FRAME + SIZE), dv = new DataView(f.buffer, i * FRAME);
  f.set(mac, 0);
  f.set([2, 0, 0, 0, 0, 2], 6);
  dv.setUint16(12, 0x0800);
  f.set([0x45, 0, 0, SIZE - 14, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1], 14);
  dv.setUint16(24, inetChecksum(f, 14, 20));
  dv.setUint16(34, 40000 + i);
  dv.setUint16(36, 9); // discard: nobody listens
  dv.setUint16(38, SIZE - 34);
}
const r = openReinjection(iface);
// BENCH_VARIANT=tap: the TAP without its tc redirect (the write and the TAP alone: the frame is
// dropped at once, addressed to another MAC); port=N: UDP to port N (bind it yourself).
const variant = Deno.env.get("BENCH_VARIANT") ?? "closed";
if (variant === "tap") {
  await new Deno.Command("tc", { args: ["filter", "del", "dev", r.name, "ingress"] }).output();
}
const port = /^port=(\d+)$/.exec(variant)?.[1];
if (port) {
  for (let i = 0; i < BURST; i++) new DataView(umem.buffer, i * FRAME).setUint16(36, Number(port));
}
const helper = openHelper(helperPath());
const sink = new TapSink(r.fd, helper, umem, BURST);
for (let i = 0; i < BURST; i++) {
  sink.addrs[i] = i * FRAME;
  sink.lens[i] = SIZE;
}
const results: number[] = [];
let taken = 0, offered = 0;
for (let round = 0; round < rounds + 1; round++) {
  const t0 = performance.now();
  for (let n = 0; n < perRound; n += BURST) {
    taken += sink.flush(BURST);
    offered += BURST;
  }
  const ns = (performance.now() - t0) * 1e6 / perRound;
  if (round > 0) results.push(ns); // round 0 warms up (JIT, caches)
}
helper.close();
r.close();
results.sort((a, b) => a - b);
console.log(JSON.stringify({
  variant,
  what: "ns per frame, TapSink.flush in bursts of 64, 64-byte IPv4/UDP frames to 10.0.0.1",
  median: Math.round(results[results.length >> 1]),
  min: Math.round(results[0]),
  max: Math.round(results[results.length - 1]),
  rounds: results.map(Math.round),
  taken,
  offered,
}));
