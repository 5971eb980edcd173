/**
 * Internet checksum (RFC 1071) and incremental update (RFC 1624).
 *
 * Hot path: no allocation, big-endian 16-bit words read byte by byte.
 * @module
 */

/**
 * Folds a non-negative integer sum (up to 2^53) to 16 bits with end-around carry.
 *
 * @example
 * ```ts
 * foldSum(0x1fffe); // 0xffff
 * ```
 */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * Ones-complement sum of the big-endian 16-bit words of `buf[off, off+len)`, added to `initial`
 * (another folded sum, e.g. a pseudo-header). An odd trailing byte is padded with a zero byte.
 * Returns the folded sum 0..0xffff (NOT complemented).
 *
 * @example
 * ```ts
 * onesSum(new Uint8Array([0x00, 0x01, 0xf2, 0x03]), 0, 4, 0); // 0xf204
 * ```
 */
export function onesSum(buf: Uint8Array, off: number, len: number, initial: number): number {
  let sum = initial;
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i === end) sum += buf[i] << 8;
  return foldSum(sum);
}

/**
 * RFC 1071 Internet checksum of `buf[off, off+len)`: ones complement of the ones-complement sum,
 * 0..0xffff. Over a region that includes a correct checksum field the result is 0.
 *
 * @example
 * ```ts
 * const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
 * inetChecksum(b, 0, b.length); // 0x220d (RFC 1071 section 3 example)
 * ```
 */
export function inetChecksum(buf: Uint8Array, off: number, len: number): number {
  return ~onesSum(buf, off, len, 0) & 0xffff;
}

/**
 * RFC 1624 (eqn. 3) incremental update: the new checksum after one 16-bit word of the covered
 * data changes from `oldWord` to `newWord`. `HC' = ~(~HC + ~m + m')`.
 *
 * @example
 * ```ts
 * // ICMP echo request -> reply: type/code word 0x0800 becomes 0x0000
 * const newCheck = checksumAdjust(0xf7fe, 0x0800, 0x0000); // 0xfffe
 * ```
 */
export function checksumAdjust(check: number, oldWord: number, newWord: number): number {
  let sum = (~check & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
