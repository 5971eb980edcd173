/**
 * Small libc conveniences for setup paths (not the fast path): one libc handle per thread,
 * opened lazily.
 *
 * @module
 */
import { cstr, type LibcHandle, openLibc } from "../ffi/libc.ts";

let libc: LibcHandle | undefined;

function get(): LibcHandle {
  return libc ??= openLibc();
}

/** Interface index of `name`, 0 if there is none. */
export function ifIndex(name: string): number {
  return get().fn.if_nametoindex(cstr(name));
}

/** close(2). */
export function close(fd: number): number {
  return get().fn.close(fd);
}
