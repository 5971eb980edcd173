/**
 * A UDP echo server as a handler: every UDP/IPv4 datagram to the port in the options comes back
 * to its sender, built in place in the received frame (Ethernet, IPv4 and UDP source and
 * destination swapped, nothing else changed). Swapping the two IPv4 addresses and the two ports
 * moves 16-bit words around inside the checksummed data without changing their one's-complement
 * sum, so the request's IP header checksum and UDP checksum are still correct in the reply: the
 * handler verifies them on the request and writes neither.
 *
 * Options (`--handler-options`): `{"port": 7}`, the UDP port to echo (1..65535, default 7).
 *
 * Counters: `echoed` (replies sent); `other` (not IPv4/UDP to the port, or not sent to our MAC:
 * dropped); `not_echoable` (to the port, but with IP options, fragmented, lengths that do not
 * add up, or from/to a group or zero address: dropped); `bad_checksum` (IP header or UDP checksum
 * wrong: dropped, as the kernel would).
 *
 * Run (as root; steering defaults to every frame, `--steer udp:7` sends only UDP/7 to it):
 * `deno run -A cli/main.ts --iface veth-bypass --handler examples/udp_echo.ts --handler-options
 * '{"port": 7}' --steer udp:7`
 *
 * No runtime import: the file is plain TypeScript over the frame's bytes (the type import is
 * erased).
 *
 * @module
 */
import type { Handler } from "../mod.ts";

/** Counter slots, in the order of `counters`. */
const ECHOED = 0, OTHER = 1, NOT_ECHOABLE = 2, BAD_CHECKSUM = 3;

/** The port to echo (set in init). */
let port = 7;

/**
 * One's-complement sum of the big-endian 16-bit words of `m[off, off + len)` added to `sum`,
 * folded to 16 bits (an odd last byte is padded with zero). Returns 0xffff over data whose
 * checksum is correct.
 */
function sum16(m: Uint8Array, off: number, len: number, sum: number): number {
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) sum += (m[i] << 8) | m[i + 1];
  if (i === end) sum += m[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The UDP echo handler (see the module comment). */
export default {
  counters: ["echoed", "other", "not_echoable", "bad_checksum"],
  init(ctx) {
    for (const k of Object.keys(ctx.options)) {
      if (k !== "port") throw new Error(`udp_echo: unknown option "${k}": the only one is "port"`);
    }
    const p = ctx.options.port ?? 7;
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) {
      throw new Error(`udp_echo: "port" must be an integer 1..65535, got ${JSON.stringify(p)}`);
    }
    port = p;
  },
  burst(b, ctx) {
    const m = b.bytes, v = b.view, c = ctx.counters, mac = ctx.mac;
    for (let i = 0; i < b.length; i++) {
      const s = b.start(i), n = b.size(i), ip = s + 14;
      // IPv4 (EtherType 0x0800, version 4), UDP (protocol 17), sent to our MAC.
      if (
        n < 34 || v.getUint16(s + 12) !== 0x0800 || (m[ip] >> 4) !== 4 || m[ip + 9] !== 17 ||
        m[s] !== mac[0] || m[s + 1] !== mac[1] || m[s + 2] !== mac[2] || m[s + 3] !== mac[3] ||
        m[s + 4] !== mac[4] || m[s + 5] !== mac[5]
      ) {
        c[OTHER]++;
        b.drop(i);
        continue;
      }
      const ihl = (m[ip] & 15) << 2, udp = ip + ihl;
      if (ihl < 20 || udp + 8 > s + n || v.getUint16(udp + 2) !== port) {
        c[OTHER]++;
        b.drop(i);
        continue;
      }
      // For us. Echo only a whole datagram without IP options, between unicast addresses.
      const total = v.getUint16(ip + 2), ulen = v.getUint16(udp + 4);
      if (
        ihl !== 20 || total < 28 || 14 + total > n || ulen < 8 || ulen > total - 20 ||
        (v.getUint16(ip + 6) & 0x3fff) !== 0 || // MF flag or a fragment offset
        (m[s + 6] & 1) !== 0 || // group source MAC
        m[ip + 12] === 0 || m[ip + 12] >= 224 || m[ip + 16] === 0 || m[ip + 16] >= 224
      ) {
        c[NOT_ECHOABLE]++;
        b.drop(i);
        continue;
      }
      // Checksums: the IP header sums to 0xffff; so does the UDP pseudo-header + datagram,
      // unless the sender sent none (0).
      let ok = sum16(m, ip, 20, 0) === 0xffff;
      if (ok && v.getUint16(udp + 6) !== 0) {
        const pseudo = v.getUint16(ip + 12) + v.getUint16(ip + 14) + v.getUint16(ip + 16) +
          v.getUint16(ip + 18) + 17 + ulen;
        ok = sum16(m, udp, ulen, pseudo) === 0xffff;
      }
      if (!ok) {
        c[BAD_CHECKSUM]++;
        b.drop(i);
        continue;
      }
      // Ethernet: back to the sender, from our MAC (what the destination was).
      for (let k = 0; k < 6; k++) {
        m[s + k] = m[s + 6 + k];
        m[s + 6 + k] = mac[k];
      }
      // IPv4 addresses and UDP ports swapped: both checksums stay valid.
      const src = v.getUint32(ip + 12);
      v.setUint32(ip + 12, v.getUint32(ip + 16));
      v.setUint32(ip + 16, src);
      const sport = v.getUint16(udp);
      v.setUint16(udp, v.getUint16(udp + 2));
      v.setUint16(udp + 2, sport);
      c[ECHOED]++;
      b.send(i, 14 + total); // the datagram, without any Ethernet padding
    }
  },
} satisfies Handler;
