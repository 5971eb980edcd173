/**
 * Parsing and formatting of IPv4 and MAC addresses. Not hot path (allocates strings).
 * @module
 */

const IPV4_RE = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * Parses dotted-quad IPv4 `"A.B.C.D"` (decimal, each part 0-255, no leading zeros, no
 * whitespace) into a host-order u32 (0..0xffffffff).
 *
 * @throws {RangeError} if `s` is not such an address.
 * @example
 * ```ts
 * parseIPv4("192.0.2.1"); // 0xc0000201
 * ```
 */
export function parseIPv4(s: string): number {
  const m = typeof s === "string" ? IPV4_RE.exec(s) : null;
  if (m !== null) {
    const a = +m[1], b = +m[2], c = +m[3], d = +m[4];
    if (a <= 255 && b <= 255 && c <= 255 && d <= 255) {
      return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    }
  }
  throw new RangeError(
    `invalid IPv4 address ${
      JSON.stringify(String(s))
    }: expected A.B.C.D with each part 0-255 (decimal, no leading zeros)`,
  );
}

/**
 * Formats a host-order u32 as dotted-quad IPv4.
 *
 * @throws {RangeError} if `n` is not an integer in 0..0xffffffff.
 * @example
 * ```ts
 * formatIPv4(0xc0000201); // "192.0.2.1"
 * ```
 */
export function formatIPv4(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`invalid IPv4 address ${n}: expected an integer 0..0xffffffff`);
  }
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/**
 * Parses a MAC address `"aa:bb:cc:dd:ee:ff"` (six two-digit hex bytes, colon separated,
 * either case) into a new 6-byte `Uint8Array`.
 *
 * @throws {RangeError} if `s` is not such an address.
 * @example
 * ```ts
 * parseMac("02:00:5e:10:00:01"); // Uint8Array [2, 0, 94, 16, 0, 1]
 * ```
 */
export function parseMac(s: string): Uint8Array {
  if (typeof s !== "string" || !MAC_RE.test(s)) {
    throw new RangeError(
      `invalid MAC address ${
        JSON.stringify(String(s))
      }: expected six two-digit hex bytes separated by colons, like 02:00:5e:10:00:01`,
    );
  }
  const mac = new Uint8Array(6);
  for (let i = 0; i < 6; i++) mac[i] = parseInt(s.slice(i * 3, i * 3 + 2), 16);
  return mac;
}

/**
 * Formats the 6 bytes at `buf[off]` as a lowercase `"aa:bb:cc:dd:ee:ff"` string.
 *
 * @throws {RangeError} if `buf` has fewer than `off + 6` bytes or `off` is not a
 *   non-negative integer.
 * @example
 * ```ts
 * formatMac(new Uint8Array([2, 0, 0x5e, 0x10, 0, 1])); // "02:00:5e:10:00:01"
 * ```
 */
export function formatMac(buf: Uint8Array, off = 0): string {
  if (!Number.isInteger(off) || off < 0 || off + 6 > buf.length) {
    throw new RangeError(
      `cannot format MAC at offset ${off}: need 6 bytes, buffer has ${buf.length}`,
    );
  }
  let s = "";
  for (let i = 0; i < 6; i++) {
    if (i > 0) s += ":";
    s += buf[off + i].toString(16).padStart(2, "0");
  }
  return s;
}
