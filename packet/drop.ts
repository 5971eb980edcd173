/**
 * Drop reason codes of the ARP/ICMP responder. `respondInPlace` returns `-code` for a dropped
 * frame, so a caller can count drops in a `Float64Array(DROP_REASON_NAMES.length)` indexed by
 * `-result`, without allocation.
 * @module
 */

/**
 * Drop reason codes (1..37; 0 is never returned). The ethertype is dispatched first (after one
 * priority tag, if any), then the MAC checks, then the per-type checks in the order listed:
 *
 * - `runt`: frame shorter than 14 bytes, a tagged frame shorter than 18, or an ARP frame shorter
 *   than its Ethernet header + 28 bytes (42 untagged, 46 tagged).
 * - `not_for_our_mac`: ARP whose Ethernet dst is neither broadcast nor our MAC, or IPv4 whose
 *   Ethernet dst is not exactly our MAC (multicast/broadcast echo requests are not answered).
 * - `bad_source_mac`: Ethernet src is multicast/broadcast, all-zero, or our own MAC (a loop).
 * - `vlan`: an 802.1Q (0x8100) or 802.1ad (0x88a8) tag with a non-zero VLAN id, or a second tag.
 *   One tag with VLAN id 0 (a priority tag, any PCP/DEI bits) is not a drop: like the kernel,
 *   respond treats the frame as untagged and answers untagged.
 * - `ipv6`: ethertype 0x86dd while respond has no IPv6 address (`--ip6`).
 * - `other_ethertype`: any other ethertype (including 802.3 length fields).
 * - `arp_malformed`: ARP with htype other than 1 (Ethernet) or 6 (IEEE 802), ptype != 0x0800,
 *   hlen != 6 or plen != 4.
 * - `arp_not_request`: ARP oper != 1 (replies, RARP, ...).
 * - `arp_not_for_us`: ARP target protocol address is not our IP (includes gratuitous ARP).
 * - `arp_bad_sender`: sender hardware address multicast/zero, or sender protocol address in
 *   0.0.0.0/8 (but 0.0.0.0 itself, an RFC 5227 probe, is answered), 127/8, 224/4, 240/4, or our
 *   own IP (address conflict).
 * - `ip_truncated`: IPv4 frame shorter than its Ethernet header + 20 bytes.
 * - `ip_bad_version`: IP version field != 4.
 * - `ip_bad_ihl`: IHL < 5.
 * - `ip_bad_length`: IPv4 total length < the header length (IHL * 4) or > the frame length minus
 *   the Ethernet header (Ethernet padding after the datagram is allowed).
 * - `ip_bad_checksum`: IPv4 header checksum (over IHL * 4 bytes) does not verify.
 * - `ip_fragment`: MF set or fragment offset != 0 (fragments are not reassembled).
 * - `not_icmp`: IPv4 protocol != 1.
 * - `ip_not_for_us`: IPv4 destination != our IP.
 * - `ip_bad_source`: IPv4 source in 0/8, 127/8, 224/4, 240/4 (includes 255.255.255.255) or our IP.
 * - `ip_options`: an IP option respond deliberately does not answer: Timestamp (68), Loose or
 *   Strict Source Route (131, 137), CIPSO (134). Record Route is answered as the kernel does
 *   (our address recorded twice, see `respondIcmpEcho`); NOP, End of List, Router Alert and
 *   other options are accepted and, like the kernel, not echoed.
 * - `ip_bad_options`: a malformed option list, one the kernel rejects with an ICMP Parameter
 *   Problem (an option length < 2 or past the header, a lone type byte at its end, a second
 *   Record Route, Record Route with length < 3 or pointer < 4 or pointing at a partial slot,
 *   Router Alert shorter than 4); also a Record Route with room for one address but only a
 *   partial slot for the second, which the kernel leaves unanswered as well.
 * - `icmp_truncated`: ICMP message shorter than 8 bytes (total length < IHL * 4 + 8).
 * - `icmp_not_echo_request`: ICMP type != 8 (any code is answered, and kept in the reply).
 * - `icmp_bad_checksum`: ICMP checksum over the whole ICMP message does not verify.
 *
 * IPv6 (with an address to answer for, see `respondIcmp6`), checked in this order:
 * - `not_for_our_mac` as above, except that a Neighbor Solicitation may also go to our address's
 *   solicited-node group MAC (`33:33:ff:XX:XX:XX`); `bad_source_mac` as above.
 * - `ip6_truncated`: shorter than its Ethernet header + 40 bytes.
 * - `ip6_bad_version`: version field != 6.
 * - `ip6_bad_length`: payload length 0 (a jumbogram) or more than the frame holds.
 * - `ip6_ext_header`: the next header is an extension header (Hop-by-Hop, Routing, Fragment,
 *   ESP, AH, Destination Options, Mobility, HIP, Shim6): respond answers only bare ICMPv6.
 * - `not_icmp6`: any other next header but 58.
 * - `ip6_bad_source`: source multicast, `::1`, IPv4-mapped, our own address, or `::` (which only
 *   a DAD probe may use).
 * - `icmp6_truncated`: ICMPv6 message shorter than 8 bytes (an echo) or 4 (any other type).
 * - `icmp6_not_handled`: ICMPv6 type other than echo request (128) and Neighbor Solicitation (135).
 * - `ip6_not_for_us`: an echo request whose destination is not our address, or a Neighbor
 *   Solicitation whose destination is neither our address nor its solicited-node group.
 * - `icmp6_bad_checksum`: the checksum over pseudo-header and message does not verify.
 * - `nd_invalid`: a Neighbor Solicitation the kernel ignores (RFC 4861 7.1.1): hop limit != 255,
 *   code != 0, shorter than 24 bytes, multicast target, an option of length 0 or past the end, a
 *   Source Link-Layer Address option that is not 8 bytes, a DAD probe (source `::`) with that
 *   option or not sent to the solicited-node group.
 * - `nd_not_for_us`: Neighbor Solicitation whose target is not our address.
 * - `no_room`: the reply (86 bytes for a Neighbor Advertisement) does not fit the frame buffer.
 *
 * @example
 * ```ts
 * const r = respondInPlace(umem, off, len, ip, mac);
 * if (r === -DropReason.vlan) console.log("tagged frame");
 * ```
 */
export const DropReason = {
  runt: 1,
  not_for_our_mac: 2,
  bad_source_mac: 3,
  vlan: 4,
  ipv6: 5,
  other_ethertype: 6,
  arp_malformed: 7,
  arp_not_request: 8,
  arp_not_for_us: 9,
  arp_bad_sender: 10,
  ip_truncated: 11,
  ip_bad_version: 12,
  ip_bad_ihl: 13,
  ip_options: 14,
  ip_bad_length: 15,
  ip_bad_checksum: 16,
  ip_fragment: 17,
  ip_not_for_us: 18,
  ip_bad_source: 19,
  not_icmp: 20,
  icmp_truncated: 21,
  icmp_bad_checksum: 22,
  icmp_not_echo_request: 23,
  ip_bad_options: 24,
  ip6_truncated: 25,
  ip6_bad_version: 26,
  ip6_bad_length: 27,
  ip6_ext_header: 28,
  not_icmp6: 29,
  ip6_bad_source: 30,
  icmp6_truncated: 31,
  icmp6_not_handled: 32,
  ip6_not_for_us: 33,
  icmp6_bad_checksum: 34,
  nd_invalid: 35,
  nd_not_for_us: 36,
  no_room: 37,
} as const;

/** Name of a drop reason, e.g. `"vlan"`. */
export type DropReasonName = keyof typeof DropReason;
/** Numeric drop reason code (positive). */
export type DropReasonCode = typeof DropReason[DropReasonName];

function buildNames(): readonly string[] {
  const names: string[] = ["none"];
  for (const [name, code] of Object.entries(DropReason)) names[code] = name;
  return Object.freeze(names);
}

/**
 * Reason names indexed by code; index 0 is `"none"`. Its length is the size of a counter array.
 *
 * @example
 * ```ts
 * const drops = new Float64Array(DROP_REASON_NAMES.length);
 * const r = respondInPlace(umem, off, len, ip, mac);
 * if (r < 0) drops[-r]++;
 * ```
 */
export const DROP_REASON_NAMES: readonly string[] = buildNames();

/**
 * Name of the drop reason for a `respondInPlace` result (negative) or a code (positive);
 * `"none"` for 0 and `"unknown"` for anything else. Not for the hot path.
 *
 * @example
 * ```ts
 * dropReasonName(-DropReason.ipv6); // "ipv6"
 * ```
 */
export function dropReasonName(result: number): string {
  const code = Math.abs(result);
  return DROP_REASON_NAMES[code] ?? "unknown";
}
