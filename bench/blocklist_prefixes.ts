/**
 * The prefixes the blocklist benchmark blocks: seeded random IPv4 /32 (outside 10/8) and IPv6
 * /64 (outside 2001:db8::/32), so every run and every load path blocks the same ones, and none
 * of them is a test source (10.0.0.2, 2001:db8::2).
 *
 * @module
 */

/** A small seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0);
  };
}

/**
 * `n4` distinct random IPv4 addresses (bare: /32) then `n6` distinct IPv6 /64, as strings.
 *
 * @example
 * ```ts
 * import { benchPrefixes } from "./blocklist_prefixes.ts";
 * benchPrefixes(2, 1).length; // 3
 * ```
 */
export function benchPrefixes(n4: number, n6: number): string[] {
  const r = rng(42);
  const seen = new Set<string>();
  const out: string[] = [];
  while (seen.size < n4) {
    const ip = r();
    if (ip >>> 24 === 10) continue;
    const s = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
    if (!seen.has(s)) seen.add(s), out.push(s);
  }
  seen.clear();
  while (seen.size < n6) {
    const a = r(), b = r();
    const g = [0x2000 | (a >>> 19), (a >>> 3) & 0xffff, b >>> 16, b & 0xffff];
    if (g[0] === 0x2001 && g[1] === 0xdb8) continue;
    const s = `${g.map((x) => x.toString(16)).join(":")}::/64`;
    if (!seen.has(s)) seen.add(s), out.push(s);
  }
  return out;
}
