/**
 * Frames from the peer, answers back: `pktio exchange` with a file of hex frames, for the tests
 * that compare replies byte for byte.
 *
 * @module
 */
import { strictEqual } from "node:assert/strict";
import { argv, pktio, type Topology } from "./_netns.ts";

/** `f` as lowercase hex, two digits a byte. */
export const hex = (f: Uint8Array): string =>
  [...f].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The bytes of the hex text `h`. */
export const unhex = (h: string): Uint8Array =>
  Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));

/**
 * Send `frames` from the peer back to back (asserting all were sent; `what` names them in the
 * message); every frame that arrived at the peer within `timeout` seconds.
 */
export async function exchange(
  t: Topology,
  frames: Uint8Array[],
  timeout = 0.3,
  what = "",
): Promise<Uint8Array[]> {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, frames.map(hex).join("\n") + "\n");
    const r = await pktio(
      t.peer,
      ...argv(`exchange --iface ${t.peerIf} --hexfile ${file} --timeout ${timeout}`),
    ) as unknown as { sent: number; received: string[] };
    strictEqual(r.sent, frames.length, what);
    return r.received.map(unhex);
  } finally {
    await Deno.remove(file);
  }
}
