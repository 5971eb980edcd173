/**
 * The Ethernet checks both responders share (private to packet/).
 *
 * @module
 */
import { DropReason } from "./drop.ts";
import {
  ETH_HLEN,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  isBroadcastMac,
  isMulticastMac,
  isZeroMac,
  macEquals,
} from "./ether.ts";

/** Length of an Ethernet header carrying one 802.1Q/802.1ad tag. */
export const ETH_TAGGED_HLEN = ETH_HLEN + 4;

/**
 * The ethertype of an untagged frame, or of a frame behind one priority tag (one 802.1Q or
 * 802.1ad tag with VLAN id 0, any PCP/DEI bits: the kernel takes such a frame as untagged); else
 * `-runt` (shorter than 14, or than 18 when tagged) or `-vlan` (non-zero VLAN id, or a second
 * tag). Reads only the first 14 (18) bytes, after checking `len`.
 */
export function l3EtherType(buf: Uint8Array, off: number, len: number): number {
  if (len < ETH_HLEN) return -DropReason.runt;
  const et = (buf[off + 12] << 8) | buf[off + 13];
  if (et !== ETHERTYPE_VLAN && et !== ETHERTYPE_QINQ) return et;
  if (len < ETH_TAGGED_HLEN) return -DropReason.runt;
  if (((buf[off + 14] & 0x0f) | buf[off + 15]) !== 0) return -DropReason.vlan;
  const inner = (buf[off + 16] << 8) | buf[off + 17];
  return inner === ETHERTYPE_VLAN || inner === ETHERTYPE_QINQ ? -DropReason.vlan : inner;
}

/**
 * The length of the Ethernet header (14, or 18 behind a priority tag, see `l3EtherType`) when
 * the frame is of type `etherType`, addressed to `mac` (or to broadcast when `broadcastOk`), from
 * a unicast source that is neither zero nor `mac`; else the negative drop reason.
 */
export function checkEthernet(
  buf: Uint8Array,
  off: number,
  len: number,
  etherType: number,
  mac: Uint8Array,
  broadcastOk: boolean,
): number {
  const et = l3EtherType(buf, off, len);
  if (et < 0) return et;
  if (et !== etherType) return -DropReason.other_ethertype;
  if (!macEquals(buf, off, mac) && !(broadcastOk && isBroadcastMac(buf, off))) {
    return -DropReason.not_for_our_mac;
  }
  if (isMulticastMac(buf, off + 6) || isZeroMac(buf, off + 6) || macEquals(buf, off + 6, mac)) {
    return -DropReason.bad_source_mac;
  }
  // `etherType` is never a tag's type: when it is at bytes 12..13 the frame is untagged.
  return ((buf[off + 12] << 8) | buf[off + 13]) === etherType ? ETH_HLEN : ETH_TAGGED_HLEN;
}
