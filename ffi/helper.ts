/**
 * Binding of byPassRT's own small C helper (`ffi/helper.c`, built to
 * `build/libbypass_helper.so` by `deno task build`).
 *
 * @module
 */

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
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened helper. */
export type Helper = Deno.DynamicLibrary<typeof HELPER_SYMBOLS>;

/** Open the helper .so at `path`. Throws a clear error naming the fix when it is missing. */
export function openHelper(path: string): Helper {
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`helper library ${path} not found: run 'deno task build' first`);
  }
  return Deno.dlopen(path, HELPER_SYMBOLS);
}

/** The last libbpf/libxdp warning the helper captured ("" if none). */
export function lastLibLog(helper: Helper): string {
  const p = helper.symbols.bpx_last_log();
  return p ? Deno.UnsafePointerView.getCString(p) : "";
}
