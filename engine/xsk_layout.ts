/**
 * The load-time ABI check. byPassRT fills in libxdp's `struct xsk_umem_config` and
 * `struct xsk_socket_config` and reads the `struct xsk_ring_prod`/`xsk_ring_cons` that libxdp fills
 * in, from TypeScript, at the sizes and offsets in `XSK_LAYOUT` (ffi/libxdp.ts). Nothing checks
 * those numbers at compile time, so before the first UMEM is created {@link checkXskLayout} asks
 * the C helper for the real `sizeof`/`offsetof` values and refuses to run on any difference.
 *
 * What it covers: every size and offset byPassRT uses in those four structs, as the C compiler saw
 * them in the `<xdp/xsk.h>` installed when `deno task build` compiled the helper. A libxdp-dev
 * whose structs changed (a field added, moved or widened into the next one) or a different ABI is
 * refused with one line before anything is created or attached.
 *
 * What it does not cover: the `libxdp.so.1` loaded at run time is not necessarily the library
 * those headers came with (libxdp upgraded without `deno task build`, another copy found through
 * `LD_LIBRARY_PATH`); libxdp exports neither its version nor its layouts, so only its soname
 * guards that. Nor does it check what fields mean (flag bits, units), the width of the last field
 * of a struct, or the functions' parameter lists. The rings' entries (`struct xdp_desc`, u64
 * addresses) are the kernel's stable UAPI and are not checked.
 *
 * @module
 */
import { openHelper, readXskLayout } from "../ffi/helper.ts";
import { XSK_LAYOUT, xskLayoutMismatch } from "../ffi/libxdp.ts";
import { BypassError } from "./errors.ts";
import { helperPath } from "./paths.ts";

let checked = false;

/**
 * Check once per isolate (later calls return at once) that `XSK_LAYOUT` matches the helper's
 * compiled layout. Throws a {@link BypassError} whose message is one line: the first struct and
 * field that differ, expected and actual value, and the fix (install libxdp 1.3.x, rebuild). Costs
 * one dlopen and a few dozen FFI calls. `openPort` and `Engine.start` call it.
 *
 * @param helperFile the helper library (default: `build/libbypass_helper.so`, see engine/paths.ts)
 *
 * @example
 * ```ts ignore
 * import { checkXskLayout } from "./xsk_layout.ts";
 * checkXskLayout(); // throws BypassError("libxdp ABI mismatch: ...") on a different libxdp
 * ```
 */
export function checkXskLayout(helperFile?: string | URL): void {
  if (checked) return;
  let helper;
  try {
    helper = openHelper(helperFile ?? helperPath());
  } catch (e) {
    throw new BypassError((e as Error).message);
  }
  let mismatch: string | null;
  try {
    mismatch = xskLayoutMismatch(XSK_LAYOUT, readXskLayout(helper, XSK_LAYOUT));
  } finally {
    helper.close();
  }
  if (mismatch) throw new BypassError(mismatch);
  checked = true;
}

/**
 * For the Engine's polling Workers: the main thread of this process already passed
 * {@link checkXskLayout} before starting them (same headers, same helper), so their
 * `openPort` need not open the helper again (which, in the single binary, would copy the
 * native files out once more).
 */
export function xskLayoutCheckedByMainThread(): void {
  checked = true;
}
