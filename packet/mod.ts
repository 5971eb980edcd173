/**
 * Pure-TypeScript packet parsing and in-place rewriting over a UMEM `Uint8Array`: Internet
 * checksums, Ethernet/IPv4/IPv6 helpers, the ARP/ICMP/ICMPv6 responder and a UDP frame builder.
 * Per-packet functions take `(buf, off, len, ...)`, never allocate and never read past
 * `off + len`.
 *
 * @example
 * ```ts
 * import { DROP_REASON_NAMES, parseIPv4, parseMac, respondInPlace } from "./packet/mod.ts";
 * const ip = parseIPv4("192.0.2.1"), mac = parseMac("02:00:00:00:00:01");
 * const drops = new Float64Array(DROP_REASON_NAMES.length);
 * const n = respondInPlace(umem, off, len, ip, mac);
 * if (n > 0) tx(off, n);
 * else drops[-n]++;
 * ```
 * @module
 */

export { checksumAdjust, foldSum, inetChecksum, onesSum } from "./checksum.ts";
export { formatIPv4, formatMac, parseIPv4, parseMac } from "./addr.ts";
export {
  copyMac,
  ETH_ALEN,
  ETH_HLEN,
  ETH_ZLEN,
  etherType,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  isBroadcastMac,
  isMulticastMac,
  isZeroMac,
  macEquals,
  macSwap,
  macSwap16,
  macSwap32,
  macSwapAligned,
  writeMac,
} from "./ether.ts";
export {
  IP_DF,
  IP_MF,
  IP_OFFMASK,
  IPOPT_CIPSO,
  IPOPT_END,
  IPOPT_LSRR,
  IPOPT_NOOP,
  IPOPT_RA,
  IPOPT_RR,
  IPOPT_SSRR,
  IPOPT_TS,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  IPV4_HLEN,
  isMartianSource,
  readU32,
  writeIPv4Header,
  writeU32,
} from "./ipv4.ts";
export {
  DROP_REASON_NAMES,
  DropReason,
  type DropReasonCode,
  type DropReasonName,
  dropReasonName,
} from "./drop.ts";
export {
  ARP_FRAME_LEN,
  ARPHRD_ETHER,
  ARPHRD_IEEE802,
  ARPOP_REPLY,
  ARPOP_REQUEST,
  respondArp,
} from "./arp.ts";
export {
  echoReplyFast,
  type EchoRequestOptions,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HLEN,
  REPLY_TTL,
  respondIcmpEcho,
  writeEchoRequest,
} from "./icmp.ts";
export {
  ICMP6_ECHO_REPLY,
  ICMP6_ECHO_REQUEST,
  NA_FRAME_LEN,
  ND_HOP_LIMIT,
  ND_NA_FLAG_OVERRIDE,
  ND_NA_FLAG_SOLICITED,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  REPLY_HOP_LIMIT,
  respondIcmp6,
} from "./icmp6.ts";
export {
  formatIPv6,
  ip6Checksum,
  ip6Equals,
  IPPROTO_ICMPV6,
  IPV6_EXT_HEADERS,
  IPV6_HLEN,
  isBadSourceIPv6,
  isSolicitedNodeOf,
  isUnspecifiedIPv6,
  parseIPv6,
} from "./ipv6.ts";
export { respondInPlace } from "./respond.ts";
export { respondInVlan } from "./respond_vlan.ts";
export {
  UDP_FRAME_HLEN,
  UDP_FRAME_MAX,
  UDP_HLEN,
  udpDstPort,
  type UdpFrameOptions,
  writeUdpFrame,
} from "./udp.ts";
