/**
 * Facts about the served interface that the engine reads once at start.
 *
 * @module
 */
import { parseMac } from "../packet/mod.ts";
import { BypassError } from "./errors.ts";

/**
 * The MAC address of `iface` in this network namespace (from sysfs). Throws a one-line
 * {@link BypassError} when there is no such interface.
 */
export function interfaceMac(iface: string): Uint8Array {
  try {
    return parseMac(Deno.readTextFileSync(`/sys/class/net/${iface}/address`).trim());
  } catch {
    throw new BypassError(`interface ${iface} not found: check the name with 'ip link'`);
  }
}
