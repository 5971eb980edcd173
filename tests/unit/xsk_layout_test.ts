/**
 * The libxdp ABI check: the C helper's sizeof/offsetof values against XSK_LAYOUT, and the one-line
 * refusal on any difference. FFI only (`deno test --allow-ffi`): the helper is opened by URL.
 */
import assert from "node:assert/strict";
import { openHelper, readXskLayout } from "../../ffi/helper.ts";
import { XSK_LAYOUT, type XskLayout, xskLayoutMismatch } from "../../ffi/libxdp.ts";
import { checkXskLayout } from "../../engine/xsk_layout.ts";
import { BypassError } from "../../engine/errors.ts";

const HELPER = new URL("../../build/libbypass_helper.so", import.meta.url);

function realLayout(names: XskLayout = XSK_LAYOUT) {
  const helper = openHelper(HELPER);
  try {
    return readXskLayout(helper, names);
  } finally {
    helper.close();
  }
}

/** The one-line message for `expected` against the real helper, asserting it is one line. */
function refusal(expected: XskLayout): string {
  const msg = xskLayoutMismatch(expected, realLayout(expected));
  assert.ok(msg !== null, "a differing table must be refused");
  assert.ok(!msg.includes("\n"), msg);
  return msg;
}

Deno.test("xsk layout: the helper compiled against <xdp/xsk.h> reports exactly XSK_LAYOUT", () => {
  // Every struct and field byPassRT uses, value for value (a missing name would be absent here).
  assert.deepEqual(realLayout(), structuredClone(XSK_LAYOUT));
  assert.equal(xskLayoutMismatch(XSK_LAYOUT, realLayout()), null);
});

Deno.test("xsk layout: a wrong offset is refused naming struct, field, values, the fix", () => {
  const wrong = {
    ...XSK_LAYOUT,
    xsk_socket_config: { ...XSK_LAYOUT.xsk_socket_config, bind_flags: 18 },
  };
  assert.equal(
    refusal(wrong),
    "libxdp ABI mismatch: offsetof(struct xsk_socket_config, bind_flags) is 16 in the " +
      "<xdp/xsk.h> the helper was built against, byPassRT expects 18: byPassRT supports libxdp " +
      "1.3.x; install its headers and library (e.g. Debian 12's libxdp-dev and libxdp1 1.3.1) " +
      "and rebuild with 'deno task build'",
  );
});

Deno.test("xsk layout: a wrong sizeof and several differences still give one line", () => {
  const ring = { ...XSK_LAYOUT.xsk_ring_cons, sizeof: 56, flags: 48 };
  const msg = refusal({ ...XSK_LAYOUT, xsk_ring_cons: ring });
  assert.ok(
    msg.startsWith(
      "libxdp ABI mismatch: sizeof(struct xsk_ring_cons) is 48 in the <xdp/xsk.h> the helper was " +
        "built against, byPassRT expects 56 (and 1 more): byPassRT supports libxdp 1.3.x;",
    ),
    msg,
  );
  assert.ok(msg.endsWith("and rebuild with 'deno task build'"), msg);
});

Deno.test("xsk layout: a header whose struct grew (simulated actual values) is refused", () => {
  // What a libxdp with a field appended to struct xsk_umem_config would report.
  const grown = {
    ...XSK_LAYOUT,
    xsk_umem_config: { ...XSK_LAYOUT.xsk_umem_config, sizeof: 24 },
  };
  const msg = xskLayoutMismatch(XSK_LAYOUT, grown);
  assert.match(msg ?? "", /sizeof\(struct xsk_umem_config\) is 24 .*, byPassRT expects 20: /);
  // Offsets moved as well: the first difference is named, the rest counted.
  const moved = {
    ...XSK_LAYOUT,
    xsk_socket_config: { ...XSK_LAYOUT.xsk_socket_config, xdp_flags: 16, bind_flags: 20 },
  };
  assert.match(
    xskLayoutMismatch(XSK_LAYOUT, moved) ?? "",
    /offsetof\(struct xsk_socket_config, xdp_flags\) is 16 .* expects 12 \(and 1 more\)/,
  );
});

Deno.test("xsk layout: a name the helper does not know asks for a rebuild", () => {
  const names = {
    ...XSK_LAYOUT,
    xsk_socket_config: { ...XSK_LAYOUT.xsk_socket_config, no_such_field: 4 },
  };
  const actual = realLayout(names);
  assert.equal(actual.xsk_socket_config.no_such_field, undefined, "helper returns -1: left out");
  assert.equal(
    xskLayoutMismatch(names, actual),
    "the helper library does not report offsetof(struct xsk_socket_config, no_such_field) " +
      "(it is older than this code): rebuild it with 'deno task build'",
  );
});

Deno.test("xsk layout: a missing helper library names the fix", () => {
  assert.throws(
    () => openHelper("/nonexistent/libbypass_helper.so"),
    {
      message:
        "helper library /nonexistent/libbypass_helper.so not found: run 'deno task build' first",
    },
  );
});

Deno.test("xsk layout: checkXskLayout refuses with a BypassError, passes, then is free", () => {
  const missing = "/nonexistent/libbypass_helper.so";
  assert.throws(() => checkXskLayout(missing), (e: unknown) => {
    assert.ok(e instanceof BypassError, String(e)); // the CLI prints it as one line, exit 1
    assert.match(e.message, /^helper library \/nonexistent\/.* not found: run 'deno task build'/);
    return true;
  });
  checkXskLayout(HELPER); // a failed check is not remembered: this one opens the real helper
  // Checked once per isolate: a later call opens no library (this path would throw).
  checkXskLayout(missing);
  // Nor does it resolve the default path (a Worker has no Deno.mainModule; here no env access).
  checkXskLayout();
});
