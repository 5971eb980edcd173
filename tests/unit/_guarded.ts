/**
 * Test helper: a bounds-checking view of a buffer.
 *
 * @module
 */

/**
 * A view of `buf` that throws on any indexed read or write outside [off, off+len), and on a
 * `copyWithin` whose source or destination leaves it, to prove the hot-path functions never touch
 * bytes beyond the frame. Any other method call throws: it could reach past the frame unseen.
 */
export function guarded(buf: Uint8Array, off: number, len: number): Uint8Array {
  const inBounds = (p: string | symbol): boolean => {
    if (typeof p !== "string" || !/^\d+$/.test(p)) return true;
    const i = Number(p);
    return i >= off && i < off + len;
  };
  // copyWithin runs inside the engine, past the index traps: check both of its ranges here.
  const copyWithin = (target: number, start: number, end: number): Uint8Array => {
    const n = end - start;
    if (
      ![target, start, end].every(Number.isInteger) || n < 0 || target < off || start < off ||
      target + n > off + len || end > off + len
    ) {
      throw new Error(`copyWithin(${target}, ${start}, ${end}) outside [${off}, ${off + len})`);
    }
    return buf.copyWithin(target, start, end);
  };
  return new Proxy(buf, {
    get(t, p) {
      if (!inBounds(p)) {
        throw new Error(`read of index ${String(p)} outside [${off}, ${off + len})`);
      }
      if (p === "copyWithin") return copyWithin;
      const v = Reflect.get(t, p);
      if (typeof v === "function" && p !== "constructor") {
        throw new Error(`unguarded method ${String(p)} called on the frame`);
      }
      return v;
    },
    set(t, p, v) {
      if (!inBounds(p)) {
        throw new Error(`write of index ${String(p)} outside [${off}, ${off + len})`);
      }
      return Reflect.set(t, p, v);
    },
  });
}
