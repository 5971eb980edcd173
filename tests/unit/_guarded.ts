/**
 * Test helper: a bounds-checking view of a buffer.
 *
 * @module
 */

/**
 * A view of `buf` that throws on any indexed read or write outside [off, off+len), to prove the
 * hot-path functions never touch bytes beyond the frame.
 */
export function guarded(buf: Uint8Array, off: number, len: number): Uint8Array {
  const inBounds = (p: string | symbol): boolean => {
    if (typeof p !== "string" || !/^\d+$/.test(p)) return true;
    const i = Number(p);
    return i >= off && i < off + len;
  };
  return new Proxy(buf, {
    get(t, p) {
      if (!inBounds(p)) {
        throw new Error(`read of index ${String(p)} outside [${off}, ${off + len})`);
      }
      const v = Reflect.get(t, p);
      return typeof v === "function" ? v.bind(t) : v;
    },
    set(t, p, v) {
      if (!inBounds(p)) {
        throw new Error(`write of index ${String(p)} outside [${off}, ${off + len})`);
      }
      return Reflect.set(t, p, v);
    },
  });
}
