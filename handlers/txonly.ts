/**
 * Built-in `txonly`: generate one UDP/IPv4 frame over and over (a generator). Options:
 * `dst_mac`, `src_ip`, `dst_ip` (strings), `udp_port`, `size` (frame length without FCS).
 * The frame is written once into every UMEM frame at init; when idle (nothing is received)
 * each poll originates up to 64 frames. Received frames, if any are steered, are dropped.
 * `--mode txonly` loads this file.
 *
 * @module
 */
import type { Handler } from "../engine/handler.ts";
import { parseIPv4, parseMac, writeUdpFrame } from "../packet/mod.ts";

/** Frames originated per idle call (one TX burst). */
const BURST = 64;
let size = 60;

export default {
  init(ctx) {
    const o = ctx.options;
    const port = Number(o.udp_port ?? 4242);
    size = Number(o.size ?? 60);
    const frame = {
      srcMac: ctx.mac,
      dstMac: parseMac(String(o.dst_mac ?? "ff:ff:ff:ff:ff:ff")),
      srcIp: parseIPv4(String(o.src_ip ?? "10.0.0.2")),
      dstIp: parseIPv4(String(o.dst_ip ?? "10.0.0.1")),
      srcPort: port,
      dstPort: port,
      frameLen: size,
    };
    // The TX path never modifies a frame: write it once into every frame of the UMEM, then each
    // send only queues a descriptor (as xdpsock does).
    for (let a = 0; a < ctx.bytes.length; a += ctx.frameSize) writeUdpFrame(ctx.bytes, a, frame);
  },
  burst(b) {
    for (let i = 0; i < b.length; i++) b.drop(i);
  },
  idle(ctx) {
    for (let i = 0; i < BURST; i++) {
      const a = ctx.alloc();
      if (a < 0) return;
      ctx.send(a, size);
    }
  },
} satisfies Handler;
