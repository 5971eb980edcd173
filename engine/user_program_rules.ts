/**
 * What cannot go with a user's own XDP program (`--xdp-prog`): everything that needs our
 * program's maps (steering, the blocklist). One line each, said before anything is attached, and
 * the answers of `ctl block ...` / `ctl steer ...` while such a run is live.
 *
 * @module
 */
import { BypassError } from "./errors.ts";
import type { EngineOptions } from "./runtime.ts";

/** Why there is no blocklist (the error of `ctl block ...`). */
export const USER_PROGRAM_NO_BLOCKLIST =
  "the XDP program is the user's (--xdp-prog): no blocklist; drop in your program instead";

/** Why steering cannot be read or changed (the error of `ctl steer ...`). */
export const USER_PROGRAM_NO_STEERING =
  "the XDP program is the user's (--xdp-prog): no steering map; what reaches user space is " +
  "what your program redirects into xsks_map";

/**
 * Throw a BypassError naming the first option that needs our program while `o.xdpProg` is set.
 */
export function refuseWithUserProgram(o: EngineOptions): void {
  const { all, udpPorts } = o.steering;
  if (all || udpPorts.length > 0) {
    throw new BypassError(
      "--steer does not go with --xdp-prog: your program decides what reaches user space " +
        "(redirect it into xsks_map); drop --steer",
    );
  }
  if (o.blockFile !== undefined || (o.block?.length ?? 0) > 0 || o.blockMax !== undefined) {
    throw new BypassError(
      `--block-file/--block-max do not go with --xdp-prog: the blocklist lives in our XDP ` +
        `program; drop them or filter in yours`,
    );
  }
}
