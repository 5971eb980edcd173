/**
 * Built-in `l2fwd`: swap the MAC addresses of every frame and send it back out (DPDK l2fwd's
 * MAC-swap loopback). A handler like any other; `--mode l2fwd` loads this file.
 *
 * @module
 */
import type { Handler } from "../engine/handler.ts";
import { macSwapAligned } from "../packet/mod.ts";

/** The UMEM as 16- and 32-bit words (frame addresses are 4-byte aligned): made once in init. */
let u16: Uint16Array = new Uint16Array(0), u32: Uint32Array = new Uint32Array(0);

export default {
  init(ctx) {
    const m = ctx.bytes;
    u16 = new Uint16Array(m.buffer, m.byteOffset, m.length >>> 1);
    u32 = new Uint32Array(m.buffer, m.byteOffset, m.length >>> 2);
  },
  burst(b) {
    const n = b.length, w16 = u16, w32 = u32;
    for (let i = 0; i < n; i++) {
      macSwapAligned(w16, w32, b.start(i));
      b.send(i);
    }
  },
} satisfies Handler;
