/**
 * A stateless IPv4 firewall as a handler: rules from the options, first match wins, one counter
 * per rule; allowed frames are sent back out with their MACs swapped (as `l2fwd` does), dropped
 * frames are given back to the pool.
 *
 * Options (`--handler-options`):
 *
 * ```json
 * {
 *   "rules": [
 *     { "src": "10.0.0.0/24", "proto": "udp", "dport": 53, "action": "allow" },
 *     { "src": "192.168.1.7", "proto": "any", "action": "drop" },
 *     { "proto": "icmp", "action": "allow" }
 *   ],
 *   "default": "drop"
 * }
 * ```
 *
 * - `src`: source prefix `A.B.C.D/N` (`A.B.C.D` is `/32`; host bits must be zero); absent: any.
 * - `proto`: `udp`, `tcp`, `icmp` or `any` (absent: any).
 * - `dport`: destination port 0..65535, with `udp` or `tcp` only; a fragment other than the first
 *   carries no port and matches no rule with `dport`.
 * - `action`: `allow` or `drop` (required).
 * - `default`: what happens to a frame no rule matches, and to every frame that is not a
 *   well-formed IPv4 packet (ARP, IPv6, truncated): `allow` or `drop` (default `drop`).
 *
 * Counters: `rule<i>_<action>` for rule i (from 0), then `default_<action>`: frames decided by
 * that rule or by the default. A bad rule stops the start with one line naming the rule.
 *
 * Run (as root):
 * `deno run -A cli/main.ts --iface veth-bypass --handler examples/firewall.ts --handler-options
 * '{"rules": [{"src": "10.0.0.0/24", "proto": "udp", "dport": 53, "action": "allow"}],
 * "default": "drop"}'`
 *
 * @module
 */
import type { Handler, HandlerOptions } from "../mod.ts";

/** Protocol numbers; ANY matches every protocol. */
const ANY = -1, ICMP = 1, TCP = 6, UDP = 17;
const PROTOS: Record<string, number> = { any: ANY, icmp: ICMP, tcp: TCP, udp: UDP };
/** At most this many rules (one counter each, plus the default's). */
const MAX_RULES = 255;

/** The rules as typed arrays (made in init): prefix, mask, protocol, port (-1: any), allow. */
let net = new Uint32Array(0),
  mask = new Uint32Array(0),
  proto = new Int32Array(0),
  dport = new Int32Array(0),
  allow = new Uint8Array(0);
let rules = 0, defaultAllow = false;

/** The option's rules, as given (not yet checked: init checks them). */
function givenRules(o: HandlerOptions): unknown[] {
  return Array.isArray(o.rules) ? o.rules : [];
}

/** The counter name's action part: what init will accept, or `drop` for anything else. */
function actionName(x: unknown): string {
  return x === "allow" ? "allow" : "drop";
}

/** Parse "A.B.C.D" or "A.B.C.D/N" into [prefix, mask], or throw saying what is wrong. */
function parsePrefix(text: unknown): [number, number] {
  const m = typeof text === "string" ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(text) : null;
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const bits = m?.[5] === undefined ? 32 : Number(m[5]);
  if (!m || octets.some((x) => x > 255) || bits > 32) {
    throw new Error(`src ${JSON.stringify(text)} is not an IPv4 prefix A.B.C.D/N (N 0..32)`);
  }
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mk = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  if ((addr & mk) >>> 0 !== addr) {
    const p = (addr & mk) >>> 0;
    const fixed = `${p >>> 24}.${(p >>> 16) & 255}.${(p >>> 8) & 255}.${p & 255}/${bits}`;
    throw new Error(`src "${text}" has host bits set: write ${fixed}`);
  }
  return [addr, mk];
}

/** The firewall handler (see the module comment). */
export default {
  counters: (o) => [
    ...givenRules(o).map((r, i) => `rule${i}_${actionName((r as { action?: unknown })?.action)}`),
    `default_${actionName(o.default ?? "drop")}`,
  ],
  init(ctx) {
    const o = ctx.options;
    for (const k of Object.keys(o)) {
      if (k !== "rules" && k !== "default") {
        throw new Error(`firewall: unknown option "${k}": give "rules" and "default"`);
      }
    }
    if (!Array.isArray(o.rules) || o.rules.length > MAX_RULES) {
      throw new Error(`firewall: "rules" must be an array of at most ${MAX_RULES} rules`);
    }
    const d = o.default ?? "drop";
    if (d !== "allow" && d !== "drop") {
      throw new Error(`firewall: "default" must be "allow" or "drop", got ${JSON.stringify(d)}`);
    }
    const list: unknown[] = o.rules;
    rules = list.length;
    defaultAllow = d === "allow";
    net = new Uint32Array(rules);
    mask = new Uint32Array(rules);
    proto = new Int32Array(rules);
    dport = new Int32Array(rules);
    allow = new Uint8Array(rules);
    list.forEach((r, i) => {
      const bad = (what: string): never => {
        throw new Error(`firewall: rule ${i} ${JSON.stringify(r)}: ${what}`);
      };
      if (r === null || typeof r !== "object" || Array.isArray(r)) bad("not an object");
      const rule = r as Record<string, unknown>;
      for (const k of Object.keys(rule)) {
        if (!["src", "proto", "dport", "action"].includes(k)) {
          bad(`unknown key "${k}" (src, proto, dport, action)`);
        }
      }
      if (rule.action !== "allow" && rule.action !== "drop") {
        bad(`"action" must be "allow" or "drop"`);
      }
      if (rule.src !== undefined) {
        try {
          [net[i], mask[i]] = parsePrefix(rule.src);
        } catch (e) {
          bad((e as Error).message);
        }
      }
      const p = PROTOS[String(rule.proto ?? "any")];
      if (rule.proto !== undefined && (typeof rule.proto !== "string" || p === undefined)) {
        bad(`"proto" must be "udp", "tcp", "icmp" or "any"`);
      }
      proto[i] = p;
      dport[i] = ANY;
      if (rule.dport !== undefined) {
        const x = rule.dport;
        if (p !== UDP && p !== TCP) bad(`"dport" needs "proto": "udp" or "tcp"`);
        if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > 65535) {
          bad(`"dport" must be an integer 0..65535`);
        }
        dport[i] = x as number;
      }
      allow[i] = rule.action === "allow" ? 1 : 0;
    });
  },
  burst(b, ctx) {
    const m = b.bytes, v = b.view, c = ctx.counters;
    for (let i = 0; i < b.length; i++) {
      const s = b.start(i), n = b.size(i), ip = s + 14;
      let decided = rules; // the default's slot, unless a rule matches
      // A well-formed IPv4 header: EtherType 0x0800, version 4, IHL >= 5, all in the frame.
      const ihl = n >= 34 ? (m[ip] & 15) << 2 : 0;
      if (
        ihl >= 20 && 14 + ihl <= n && v.getUint16(s + 12) === 0x0800 && (m[ip] >> 4) === 4
      ) {
        const src = v.getUint32(ip + 12), p = m[ip + 9];
        // The destination port of UDP/TCP in a first fragment (offset 0), else -2 (no rule's).
        const port = (p === UDP || p === TCP) && (v.getUint16(ip + 6) & 0x1fff) === 0 &&
            14 + ihl + 4 <= n
          ? v.getUint16(ip + ihl + 2)
          : -2;
        for (let r = 0; r < rules; r++) {
          if (
            ((src & mask[r]) >>> 0) === net[r] && (proto[r] === ANY || proto[r] === p) &&
            (dport[r] === ANY || dport[r] === port)
          ) {
            decided = r;
            break;
          }
        }
      }
      c[decided]++;
      if (decided === rules ? defaultAllow : allow[decided] === 1) {
        // MAC swap: back out to the sender.
        for (let k = 0; k < 6; k++) {
          const t = m[s + k];
          m[s + k] = m[s + 6 + k];
          m[s + 6 + k] = t;
        }
        b.send(i);
      } else {
        b.drop(i);
      }
    }
  },
} satisfies Handler;
