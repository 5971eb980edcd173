/**
 * Test helpers for the fake AF_XDP port (testing/fake_kernel.ts).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { FakePort } from "../../testing/fake_kernel.ts";

/** The audit must agree with the fake kernel's own view of every ring. */
export function assertBalanced(f: FakePort, app: number, where = ""): void {
  const a = f.port.audit();
  const k = f.kernel;
  assert.deepEqual(a, {
    total: f.port.options.frames,
    pool: f.port.pool.available,
    fill: k.fill.count(),
    rx: k.rx.count(),
    app,
    tx: k.tx.count(),
    completion: k.comp.count(),
    inFlight: 0,
    duplicates: 0,
    balanced: true,
  }, where);
  assert.equal(a.pool + a.fill + a.rx + a.app + a.tx + a.completion, a.total, where);
}

/** `n` bytes of `u` from `off`, as a plain array (for deepEqual). */
export function bytes(u: Uint8Array, off: number, n: number): number[] {
  return [...u.subarray(off, off + n)];
}
