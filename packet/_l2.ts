/**
 * The Ethernet checks both responders share (private to packet/).
 *
 * @module
 */
import { DropReason } from "./drop.ts";
import { ETH_HLEN, isBroadcastMac, isMulticastMac, isZeroMac, macEquals } from "./ether.ts";

/**
 * 0 when the frame is at least an Ethernet header of type `etherType`, addressed to `mac` (or to
 * broadcast when `broadcastOk`), from a unicast source that is neither zero nor `mac`; else the
 * negative drop reason. Reads only the first 14 bytes, after checking `len`.
 */
export function checkEthernet(
  buf: Uint8Array,
  off: number,
  len: number,
  etherType: number,
  mac: Uint8Array,
  broadcastOk: boolean,
): number {
  if (len < ETH_HLEN) return -DropReason.runt;
  if (((buf[off + 12] << 8) | buf[off + 13]) !== etherType) return -DropReason.other_ethertype;
  if (!macEquals(buf, off, mac) && !(broadcastOk && isBroadcastMac(buf, off))) {
    return -DropReason.not_for_our_mac;
  }
  if (isMulticastMac(buf, off + 6) || isZeroMac(buf, off + 6) || macEquals(buf, off + 6, mac)) {
    return -DropReason.bad_source_mac;
  }
  return 0;
}
