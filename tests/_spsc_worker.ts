/**
 * Producer Worker of the SPSC two-thread test: enqueues `1..count` into the ring over the shared
 * memory in bursts of varying size (1..64), spinning while the ring is full, then posts an
 * ordered checksum of what it sent.
 *
 * @module
 */
import { SpscRing } from "../ring/spsc.ts";

interface Start {
  mem: SharedArrayBuffer;
  size: number;
  count: number;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Start>) => void) | null;
  postMessage(m: unknown): void;
};

scope.onmessage = (e: MessageEvent<Start>) => {
  const { mem, size, count } = e.data;
  const ring = new SpscRing(mem, size);
  const buf = new Uint32Array(64);
  let next = 1, hash = 0, sum = 0, fullSpins = 0, rnd = 12345;
  const deadline = performance.now() + 60_000;
  while (next <= count) {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    let n = 1 + ((rnd >>> 16) & 63);
    if (n > count - next + 1) n = count - next + 1;
    for (let i = 0; i < n; i++) buf[i] = next + i;
    let off = 0;
    while (off < n) {
      const k = ring.enqueueBurst(buf, off, n - off);
      if (k === 0 && ++fullSpins % 4096 === 0 && performance.now() > deadline) {
        scope.postMessage({ error: "producer timed out" });
        return;
      }
      off += k;
    }
    for (let i = 0; i < n; i++) {
      hash = (Math.imul(hash, 31) + buf[i]) >>> 0;
      sum += buf[i];
    }
    next += n;
  }
  scope.postMessage({ hash, sum, sent: count, fullSpins });
};
