/**
 * Errors byPassRT raises for conditions a user can fix. Their message is one line that names the
 * problem and the fix; the CLI prints it as is, without a stack trace.
 *
 * @module
 */

/**
 * A user-fixable failure (bad option, missing interface, missing privilege, busy queue, ...).
 *
 * @example
 * ```ts
 * import { BypassError } from "./errors.ts";
 * const e = new BypassError("interface eth9 not found: check 'ip link'");
 * e.message; // "interface eth9 not found: check 'ip link'"
 * ```
 */
export class BypassError extends Error {
  /** errno behind the failure, when there was one. */
  readonly errno: number;

  /** `message`: one line naming the problem and the fix. */
  constructor(message: string, errno = 0) {
    super(message);
    this.name = "BypassError";
    this.errno = errno;
  }
}

/** Privilege hint appended to EPERM/EACCES failures. */
export const PRIVILEGE_HINT =
  "run as root or grant CAP_NET_ADMIN, CAP_BPF and CAP_NET_RAW (e.g. sudo)";
