/**
 * libc bindings: memory for the UMEM, the socket kicks and the socket options AF_XDP needs.
 *
 * Return types are declared `i32` where the C type is `ssize_t` but the values stay small, so a
 * kick never boxes a BigInt.
 *
 * @module
 */

/** The libc symbols byPassRT calls. */
export const LIBC_SYMBOLS = {
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  sendto: { parameters: ["i32", "pointer", "usize", "i32", "pointer", "u32"], result: "i32" },
  recvfrom: { parameters: ["i32", "pointer", "usize", "i32", "pointer", "pointer"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  close: { parameters: ["i32"], result: "i32" },
  gettid: { parameters: [], result: "i32" },
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened libc. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** mmap protection and flags used for the UMEM area. */
export const PROT_READ = 1;
/** See {@link PROT_READ}. */
export const PROT_WRITE = 2;
/** See {@link PROT_READ}. */
export const MAP_PRIVATE = 0x02;
/** See {@link PROT_READ}. */
export const MAP_ANONYMOUS = 0x20;
/** See {@link PROT_READ}. */
export const MAP_POPULATE = 0x8000;
/** `send`/`recv` flag: never block. */
export const MSG_DONTWAIT = 0x40;
/** `poll` event: readable. */
export const POLLIN = 0x1;
/** `poll` event: writable. */
export const POLLOUT = 0x4;

/** errno values byPassRT reacts to. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ERANGE: 34,
  EOPNOTSUPP: 95,
  ENOBUFS: 105,
  ENETDOWN: 100,
} as const;

/** A libc handle plus errno access for the calling thread. */
export interface LibcHandle {
  /** The bound symbols. */
  readonly fn: Libc;
  /** errno of the calling thread, as left by the last failed call. */
  errno(): number;
  /** `strerror(code)` as a string. */
  strerror(code: number): string;
  /** Unload. */
  close(): void;
}

/**
 * Open libc for this thread (each Worker opens its own: errno is per thread).
 *
 * @example
 * ```ts ignore
 * const libc = openLibc();
 * console.log(libc.fn.if_nametoindex(new TextEncoder().encode("lo\0")));
 * libc.close();
 * ```
 */
export function openLibc(): LibcHandle {
  const lib = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  const errnoView = new Deno.UnsafePointerView(lib.symbols.__errno_location()!);
  return {
    fn: lib.symbols,
    errno: () => errnoView.getInt32(),
    strerror: (code: number) => {
      const p = lib.symbols.strerror(code);
      return p ? Deno.UnsafePointerView.getCString(p) : `errno ${code}`;
    },
    close: () => lib.close(),
  };
}

/** A NUL-terminated C string in a fresh buffer (setup paths only). */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

/**
 * Read socket option `opt` of `fd` (`getsockopt(fd, level, opt)`) into `out` (its whole length
 * offered); true if the call succeeded. Setup and reporting paths only: it allocates.
 *
 * @example
 * ```ts ignore
 * const stats = new BigUint64Array(8);
 * getsockoptInto(openLibc(), fd, 283, 7, new Uint8Array(stats.buffer)); // SOL_XDP, XDP_STATISTICS
 * ```
 */
export function getsockoptInto(
  libc: LibcHandle,
  fd: number,
  level: number,
  opt: number,
  out: Uint8Array<ArrayBuffer>,
): boolean {
  const len = Uint32Array.of(out.byteLength);
  return libc.fn.getsockopt(fd, level, opt, out, new Uint8Array(len.buffer)) === 0;
}

/**
 * A 4-byte socket option of `fd` as an unsigned number, or -1 if the call failed (see
 * {@link getsockoptInto}).
 *
 * @example
 * ```ts ignore
 * const napiId = getsockoptU32(openLibc(), fd, 1, 56); // SOL_SOCKET, SO_INCOMING_NAPI_ID
 * ```
 */
export function getsockoptU32(libc: LibcHandle, fd: number, level: number, opt: number): number {
  const v = new Uint32Array(1);
  return getsockoptInto(libc, fd, level, opt, new Uint8Array(v.buffer)) ? v[0] : -1;
}
