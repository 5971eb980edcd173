/**
 * Blocklist prefixes: parse an IPv4 or IPv6 CIDR into the bytes the XDP program's LPM tries
 * use, print it back in canonical form, and read a block file (one CIDR per line, `#`
 * comments, blank lines). No system calls except reading the file.
 *
 * @module
 */
import { BypassError } from "./errors.ts";

/** A blocked prefix and the frames it dropped (per-CPU counters summed). */
export interface BlockEntry {
  /** Canonical prefix, e.g. `10.0.0.2/32` or `2001:db8::/32`. */
  prefix: string;
  /** Frames dropped because their source address is in this prefix. */
  packets: number;
}

/** A parsed prefix. */
export interface Cidr {
  /** Address family. */
  family: 4 | 6;
  /** Network address, 4 or 16 bytes, host bits zero (a view into a shared slab: read only). */
  addr: Uint8Array;
  /** Prefix length (0-32 or 0-128). */
  len: number;
  /** Canonical text form (see {@link formatCidr}). */
  prefix: string;
}

const V4_PART = /^(0|[1-9]\d{0,2})$/;

/**
 * Address bytes come out of shared slabs: a Uint8Array of its own costs ~2 us in V8, which is
 * most of the time of loading 10^6 prefixes; a view into a slab costs a fifth of that.
 */
let slab = new Uint8Array(0);
let slabAt = 0;

function addrBytes(n: 4 | 16): Uint8Array {
  if (slabAt + n > slab.length) slab = new Uint8Array(64 * 1024), slabAt = 0;
  const out = slab.subarray(slabAt, slabAt + n);
  slabAt += n;
  return out;
}

/**
 * The common case without regular expressions: `A.B.C.D` or `A.B.C.D/N`, decimal, no leading
 * zeros. Returns the 32-bit address and the length (-1 for none), or undefined when `s` is not
 * of that form (the general parser then decides).
 */
function scanV4(s: string): [number, number] | undefined {
  let ip = 0, part = 0, digits = 0, dots = 0, i = 0;
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // leading zero
      part = part * 10 + c - 48;
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 46 && digits > 0 && dots < 3) {
      ip = ip * 256 + part, part = 0, digits = 0, dots++;
    } else break;
  }
  if (dots !== 3 || digits === 0) return undefined;
  ip = ip * 256 + part;
  if (i === n) return [ip, -1];
  if (s.charCodeAt(i) !== 47 || i === n - 1 || n - i > 3) return undefined;
  let len = 0;
  for (let j = i + 1; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57 || (j > i + 1 && len === 0)) return undefined;
    len = len * 10 + c - 48;
  }
  return len > 32 ? undefined : [ip, len];
}
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function invalid(s: string): BypassError {
  return new BypassError(
    `"${s}" is not a CIDR: give A.B.C.D/N (N 0-32) or an IPv6 prefix like 2001:db8::/32`,
  );
}

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => V4_PART.test(p) && Number(p) <= 255)) {
    return undefined;
  }
  return Uint8Array.from(parts, Number);
}

function parseV6(s: string): Uint8Array | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  // Embedded IPv4 (::ffff:192.0.2.1) only as the last two groups of the address.
  const groups = (h: string, v4Last: boolean): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (HEX_GROUP.test(p)) out.push(parseInt(p, 16));
      else if (v4Last && i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        out.push(v4[0] << 8 | v4[1], v4[2] << 8 | v4[3]);
      } else return undefined;
    }
    return out;
  };
  const head = groups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1], true) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => (out[2 * i] = g >> 8, out[2 * i + 1] = g & 0xff));
  return out;
}

/** Canonical text of an address: dotted IPv4, or RFC 5952 IPv6 (lower case, longest zero run). */
export function formatAddr(addr: Uint8Array): string {
  if (addr.length === 4) return addr.join(".");
  const g = Array.from({ length: 8 }, (_, i) => addr[2 * i] << 8 | addr[2 * i + 1]);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) best = i, bestLen = j - i;
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Canonical text of a prefix: `formatAddr(addr)/len`. */
export function formatCidr(addr: Uint8Array, len: number): string {
  return `${formatAddr(addr)}/${len}`;
}

/**
 * Parse an IPv4 or IPv6 prefix. A bare address means /32 (IPv4) or /128 (IPv6). Host bits
 * set (10.0.0.1/24) are refused with the network form in the message.
 *
 * @example
 * ```ts
 * import { parseCidr } from "./blocklist.ts";
 * parseCidr("10.0.0.2").prefix; // "10.0.0.2/32"
 * parseCidr("2001:DB8:0:0::/32").prefix; // "2001:db8::/32"
 * ```
 * @throws {BypassError} naming the problem and the expected form.
 */
export function parseCidr(s: string): Cidr {
  const text = s.trim();
  const v4 = scanV4(text);
  if (v4) return parseV4Cidr(text, v4[0], v4[1] < 0 ? 32 : v4[1]);
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const family = addrText.includes(":") ? 16 : 4;
  const addr = family === 4 ? parseV4(addrText) : parseV6(addrText);
  const max = family * 8;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!addr || !/^(0|[1-9]\d{0,2})$/.test(lenText) || Number(lenText) > max) throw invalid(text);
  const len = Number(lenText);
  const net = addrBytes(family);
  net.set(addr);
  for (let bit = len; bit < max; bit++) net[bit >> 3] &= ~(0x80 >> (bit & 7));
  if (!net.every((b, i) => b === addr[i])) {
    throw new BypassError(
      `"${text}" has host bits set: give the network ${formatCidr(net, len)} (or /${max} for ` +
        `one address)`,
    );
  }
  return { family: family === 4 ? 4 : 6, addr: net, len, prefix: formatCidr(net, len) };
}

/** {@link parseCidr} of an IPv4 prefix {@link scanV4} read (setup path for 10^6 lines). */
function parseV4Cidr(text: string, ip: number, len: number): Cidr {
  const net = len === 0 ? 0 : (ip & (0xffffffff << (32 - len))) >>> 0;
  const addr = addrBytes(4);
  addr[0] = net >>> 24, addr[1] = (net >>> 16) & 255, addr[2] = (net >>> 8) & 255;
  addr[3] = net & 255;
  if (net !== ip) {
    throw new BypassError(
      `"${text}" has host bits set: give the network ${formatCidr(addr, len)} (or /32 for one ` +
        `address)`,
    );
  }
  return { family: 4, addr, len, prefix: `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}/${len}` };
}

/**
 * Parse the text of a block file: one CIDR per line; `#` starts a comment (whole line or after
 * the prefix); blank lines are skipped. `name` labels errors (`name:LINE: problem`).
 *
 * @example
 * ```ts
 * import { parseBlockText } from "./blocklist.ts";
 * parseBlockText("# bad hosts\n192.0.2.7\n2001:db8::/32 # lab\n", "list").length; // 2
 * ```
 * @throws {BypassError} at the first bad line.
 */
export function parseBlockText(text: string, name: string): Cidr[] {
  const out: Cidr[] = [];
  let line = 0;
  for (const raw of text.split("\n")) {
    line++;
    const hash = raw.indexOf("#");
    const body = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (body === "") continue;
    try {
      out.push(parseCidr(body));
    } catch (e) {
      throw new BypassError(`${name}:${line}: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * Read and parse a block file (see {@link parseBlockText}).
 *
 * @example
 * ```ts ignore
 * import { readBlockFile } from "./blocklist.ts";
 * const prefixes = readBlockFile("/etc/bypassrt/block.txt");
 * ```
 * @throws {BypassError} when the file cannot be read or a line is bad.
 */
export function readBlockFile(path: string): Cidr[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new BypassError(
      `block file ${path}: ${why}: give a file with one CIDR per line ('#' comments)`,
    );
  }
  return parseBlockText(text, path);
}

/** Order of prefixes in listings: IPv4 first, then by address bytes, then by length. */
export function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.addr.length; i++) {
    if (a.addr[i] !== b.addr[i]) return a.addr[i] - b.addr[i];
  }
  return a.len - b.len;
}
