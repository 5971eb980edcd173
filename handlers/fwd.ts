/**
 * `--mode fwd`: forward between the interfaces of `--iface A,B,...` (at least two). With two,
 * what arrives on A leaves through B and what arrives on B leaves through A; with more, frames go
 * round: interface k forwards to interface k+1, the last to the first. Frames are not changed
 * and not copied (the sockets share one UMEM: the descriptor moves).
 *
 * @module
 */
import type { Handler } from "../engine/handler.ts";

export default {
  counters: ["forwarded"],
  burst(b, ctx) {
    const n = b.length;
    if (n === 0) return;
    // Every frame of a burst came from the same port.
    const from = b.port(0);
    const to = from + 1 === b.ports ? 0 : from + 1;
    for (let i = 0; i < n; i++) b.forward(i, to);
    ctx.counters[0] += n;
  },
} satisfies Handler;
