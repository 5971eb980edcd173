/**
 * The burst API on its own, without the engine: steer UDP/9000 to queue 0 of IFACE, swap the MACs
 * of every frame and send it back, until PACKETS frames came in (or 10 s passed), then stop
 * cleanly and print the counters and the frame audit as JSON.
 *
 * Run (as root, on a veth such as `deno task setup-veth` makes):
 * `deno run -A examples/burst_api.ts veth-bypass 1000`
 *
 * @module
 */
import { loadXdpProgram, macSwap, openPort } from "../mod.ts";

const iface = Deno.args[0] ?? "veth-bypass";
const packets = Number(Deno.args[1] ?? 1000);

const prog = loadXdpProgram({ iface, steering: { all: false, udpPorts: [9000], respondIp: 0 } });
// xsksMapFd: the socket goes into the program's map, so frames of queue 0 reach it.
const port = openPort({ iface, queue: 0, xsksMapFd: prog.xsksMapFd });
console.error(`serving UDP/9000 on ${iface} queue 0 (xdp ${prog.mode}, bind ${port.bindMode})`);
const addrs = new Uint32Array(64), lens = new Uint32Array(64); // allocated once
const deadline = Date.now() + 10_000;
while (port.rxPackets < packets && Date.now() < deadline) {
  const n = port.rxBurst(addrs, lens, 64); // frames 0..n-1 are now yours
  for (let j = 0; j < n; j++) {
    // packet j: port.umem[addrs[j] .. addrs[j] + lens[j])
    macSwap(port.umem, addrs[j]);
  }
  const sent = port.txBurst(addrs, lens, n); // 0..sent-1 now belong to the port
  port.free(addrs, sent, n - sent); // the rest did not fit the TX ring: free (or retry)
}
// Stop steering, let redirects in flight land, take back what is on the RX ring and finish TX:
// then every frame is in exactly one place and the audit can prove it.
port.unsteer();
await new Promise((r) => setTimeout(r, 20));
port.drainRx();
port.drainTx(200);
console.log(JSON.stringify({ counters: port.counters, audit: port.audit() }));
port.close();
prog.close();
