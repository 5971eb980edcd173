/**
 * Binding of byPassRT's own small C helper (`ffi/helper.c`, built to
 * `build/libbypass_helper.so` by `deno task build`).
 *
 * @module
 */
import { cstr } from "./libc.ts";
import type { XskLayout } from "./libxdp.ts";

/** The helper's symbols. */
export const HELPER_SYMBOLS = {
  bpx_log_capture: { parameters: ["i32"], result: "void" },
  bpx_last_log: { parameters: [], result: "pointer" },
  bpx_clear_log: { parameters: [], result: "void" },
  bpx_live_frames: {
    parameters: ["i32", "i32", "buffer", "u32", "u32", "u32"],
    result: "i32",
    nonblocking: true,
  },
  bpx_xsk_layout: { parameters: ["buffer"], result: "i32" },
  bpx_reinject_open: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  bpx_reinject_burst: {
    parameters: ["i32", "pointer", "pointer", "pointer", "u32"],
    result: "u32",
  },
  bpx_kick_at: { parameters: ["i32", "buffer"], result: "i32" },
  bpx_now: { parameters: [], result: "f64" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened helper. */
export type Helper = Deno.DynamicLibrary<typeof HELPER_SYMBOLS>;

/**
 * Open the helper .so at `path`. Needs only the FFI permission. Throws one line naming the fix when
 * it is missing or older than this code (a symbol it lacks).
 *
 * @example
 * ```ts ignore
 * import { openHelper } from "./helper.ts";
 * const helper = openHelper(new URL("../build/libbypass_helper.so", import.meta.url));
 * helper.close();
 * ```
 */
export function openHelper(path: string | URL): Helper {
  try {
    return Deno.dlopen(path, HELPER_SYMBOLS);
  } catch (e) {
    const file = path instanceof URL ? decodeURIComponent(path.pathname) : path;
    const why = (e as Error).message.replace(/\s*\n\s*/g, " ");
    const missing = /No such file/i.test(why);
    throw new Error(
      missing
        ? `helper library ${file} not found: run 'deno task build' first`
        : `cannot load the helper library ${file} (${why}): rebuild it with 'deno task build'`,
    );
  }
}

/** The last libbpf/libxdp warning the helper captured ("" if none). */
export function lastLibLog(helper: Helper): string {
  const p = helper.symbols.bpx_last_log();
  return p ? Deno.UnsafePointerView.getCString(p) : "";
}

/**
 * The layout the helper was compiled with, for every struct and field named in `names` (a value
 * the helper does not know is left out). Compare it with `xskLayoutMismatch` (ffi/libxdp.ts).
 *
 * @example
 * ```ts ignore
 * import { openHelper, readXskLayout } from "./helper.ts";
 * import { XSK_LAYOUT, xskLayoutMismatch } from "./libxdp.ts";
 * const helper = openHelper(new URL("../build/libbypass_helper.so", import.meta.url));
 * console.log(xskLayoutMismatch(XSK_LAYOUT, readXskLayout(helper, XSK_LAYOUT))); // null
 * helper.close();
 * ```
 */
export function readXskLayout(
  helper: Helper,
  names: XskLayout,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [struct, fields] of Object.entries(names)) {
    out[struct] = {};
    for (const field of Object.keys(fields)) {
      const v = helper.symbols.bpx_xsk_layout(cstr(`${struct}.${field}`));
      if (v >= 0) out[struct][field] = v;
    }
  }
  return out;
}
