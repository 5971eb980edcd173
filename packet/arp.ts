/**
 * User-space ARP responder: answers ARP requests for our IPv4 address, in place.
 * Hot path: no allocation, every read bounds-checked against `len`.
 * @module
 */

import { DropReason } from "./drop.ts";
import { copyMac, ETHERTYPE_ARP, isMulticastMac, isZeroMac, writeMac } from "./ether.ts";
import { isMartianSource, readU32, writeU32 } from "./ipv4.ts";
import { checkEthernet } from "./_l2.ts";

/** Length of an Ethernet + IPv4-over-Ethernet ARP packet (14 + 28), and of our replies. */
export const ARP_FRAME_LEN = 42;
/** ARP hardware type of Ethernet. */
export const ARPHRD_ETHER = 1;
/** ARP operation: request. */
export const ARPOP_REQUEST = 1;
/** ARP operation: reply. */
export const ARPOP_REPLY = 2;

/**
 * Rewrites a valid ARP request for `ip` into the reply, in place. Normally called by
 * `respondInPlace` after its ethertype dispatch; standalone calls return `-runt` for
 * `len < 14` and `-other_ethertype` for any ethertype but 0x0806.
 *
 * Returns 42 (the reply is always the minimal 42-byte frame; any Ethernet padding after it is
 * left untouched and not sent, the NIC pads to 60 as for kernel-generated ARP), or `-reason`.
 * Nothing is written when the frame is dropped.
 *
 * @param ip our IPv4 address, host-order u32
 * @param mac our MAC, 6 bytes
 * @example
 * ```ts
 * const n = respondArp(umem, off, len, 0xc0000201, ourMac);
 * if (n > 0) tx(off, n);
 * ```
 */
export function respondArp(
  buf: Uint8Array,
  off: number,
  len: number,
  ip: number,
  mac: Uint8Array,
): number {
  const myIp = ip >>> 0;
  const l2 = checkEthernet(buf, off, len, ETHERTYPE_ARP, mac, true);
  if (l2 !== 0) return l2;
  if (len < ARP_FRAME_LEN) return -DropReason.runt;
  const a = off + 14;
  if (
    buf[a] !== 0 || buf[a + 1] !== ARPHRD_ETHER || buf[a + 2] !== 0x08 || buf[a + 3] !== 0x00 ||
    buf[a + 4] !== 6 || buf[a + 5] !== 4
  ) return -DropReason.arp_malformed;
  if (buf[a + 6] !== 0 || buf[a + 7] !== ARPOP_REQUEST) return -DropReason.arp_not_request;
  if (readU32(buf, a + 24) !== myIp) return -DropReason.arp_not_for_us;
  const spa = readU32(buf, a + 14);
  if (
    isMulticastMac(buf, a + 8) || isZeroMac(buf, a + 8) || isMartianSource(spa) || spa === myIp
  ) return -DropReason.arp_bad_sender;

  // Ethernet: dst = requester (sha), src = us.
  copyMac(buf, off, a + 8);
  writeMac(buf, off + 6, mac);
  // ARP: oper 2, tha = sha, tpa = spa, then sha = us, spa = us.
  buf[a + 7] = ARPOP_REPLY;
  copyMac(buf, a + 18, a + 8);
  writeU32(buf, a + 24, spa);
  writeMac(buf, a + 8, mac);
  writeU32(buf, a + 14, myIp);
  return ARP_FRAME_LEN;
}
