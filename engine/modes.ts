/**
 * The built-in modes. Each is a handler module in `handlers/` loaded through the same path as
 * your own handler files: `respond`, `l2fwd`, `rxdrop`, `txonly`, `inspect`, `fwd` (between
 * the interfaces of `--iface A,B`).
 *
 * @module
 */
import type { HandlerOptions } from "./handler.ts";

/** The built-in packet modes. */
export type Mode = "respond" | "l2fwd" | "rxdrop" | "txonly" | "inspect" | "fwd";

/** All modes, for validation and help. */
export const MODES: readonly Mode[] = ["respond", "l2fwd", "rxdrop", "txonly", "inspect", "fwd"];

/** Which handler module the engine loads, with its options. */
export interface HandlerSpec {
  /** The module: a file URL (or path) of a handler file, e.g. from {@link builtinHandler}. */
  module: string | URL;
  /** Its options (`ctx.options`; `{}` by default). Must survive structured cloning. */
  options?: HandlerOptions;
}

/**
 * The spec of a built-in mode. Options: respond `{ ip: "A.B.C.D" }`; txonly `{ dst_mac, src_ip,
 * dst_ip, udp_port, size }` (see `handlers/txonly.ts`); l2fwd, rxdrop and inspect none.
 *
 * @example
 * ```ts
 * import { builtinHandler } from "./modes.ts";
 * const spec = builtinHandler("respond", { ip: "10.0.0.1" });
 * spec.module.toString().endsWith("/handlers/respond.ts"); // true
 * ```
 */
export function builtinHandler(mode: Mode, options: HandlerOptions = {}): HandlerSpec {
  return { module: new URL(`../handlers/${mode}.ts`, import.meta.url), options };
}

/** The built-in mode a module URL is, or undefined for a handler file of someone's own. */
export function builtinMode(module: string | URL): Mode | undefined {
  const href = new URL(module, "file:///").href;
  return MODES.find((m) => builtinHandler(m).module.toString() === href);
}
