/**
 * Busy polling: the options are validated, a failed setsockopt is one line naming the option and
 * errno, and a busy-polling port makes the system calls that drive the NAPI poll.
 */
import assert from "node:assert/strict";
import { fakePort } from "../../testing/fake_kernel.ts";
import { openLibc } from "../../ffi/libc.ts";
import { setBusyPoll } from "../../engine/busy_poll.ts";
import { resolvePortOptions } from "../../engine/options.ts";
import { BypassError } from "../../engine/errors.ts";

Deno.test("busy poll: off by default; bad times and budgets are refused before any system call", () => {
  const r = resolvePortOptions({ iface: "veth0" });
  assert.equal(r.busyPollUs, 0);
  assert.equal(r.busyPollBudget, 64);
  for (const busyPollUs of [-1, 1.5, 1_000_001, NaN]) {
    assert.throws(() => resolvePortOptions({ iface: "veth0", busyPollUs }), BypassError);
  }
  for (const busyPollBudget of [0, 65536, 2.5]) {
    assert.throws(
      () => resolvePortOptions({ iface: "veth0", busyPollUs: 20, busyPollBudget }),
      BypassError,
    );
  }
});

Deno.test("busy poll: a failed setsockopt names the option and the errno", () => {
  const libc = openLibc();
  try {
    const why = setBusyPoll(libc, -1, { usec: 20, budget: 64 });
    assert.equal(why, "setsockopt SO_PREFER_BUSY_POLL=1 failed: Bad file descriptor (errno 9)");
  } finally {
    libc.close();
  }
});

Deno.test("busy poll: every empty poll calls recvfrom and every TX burst kicks, wanted or not", () => {
  for (const busyPollUs of [0, 20]) {
    const { port, calls } = fakePort({ frames: 256, rxSize: 64, txSize: 64, busyPollUs });
    const addrs = new Uint32Array(8), lens = new Uint32Array(8);
    // The fake kernel has not set XDP_RING_NEED_WAKEUP: without busy polling no call is made.
    for (let i = 0; i < 3; i++) assert.equal(port.rxBurst(addrs, lens, 8), 0);
    assert.equal(calls.recvfrom, busyPollUs ? 3 : 0);
    assert.equal(port.alloc(addrs, 2), 2);
    lens.fill(60, 0, 2);
    assert.equal(port.txBurst(addrs, lens, 2), 2);
    assert.equal(calls.sendto, busyPollUs ? 1 : 0);
    port.kick(); // frames in flight: busy polling kicks again (the NAPI poll completes them)
    assert.equal(calls.sendto, busyPollUs ? 2 : 0);
  }
});
