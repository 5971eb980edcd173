/**
 * User-space ARP responder: answers ARP requests for our IPv4 address, in place.
 * Hot path: no allocation, every read bounds-checked against `len`.
 * @module
 */

import { DropReason } from "./drop.ts";
import { copyMac, ETH_HLEN, ETHERTYPE_ARP, isMulticastMac, isZeroMac, writeMac } from "./ether.ts";
import { isMartianSource, readU32, writeU32 } from "./ipv4.ts";
import { checkEthernet } from "./_l2.ts";

/** Length of an untagged Ethernet + IPv4-over-Ethernet ARP packet (14 + 28), and of our replies. */
export const ARP_FRAME_LEN = 42;
/** ARP hardware type of Ethernet. */
export const ARPHRD_ETHER = 1;
/** ARP hardware type of IEEE 802 networks; Linux accepts it on Ethernet as well. */
export const ARPHRD_IEEE802 = 6;
/** ARP operation: request. */
export const ARPOP_REQUEST = 1;
/** ARP operation: reply. */
export const ARPOP_REPLY = 2;

/** IPv4-over-Ethernet ARP body: htype, ptype, hlen, plen, oper, sha, spa, tha, tpa. */
const ARP_BODY_LEN = 28;

/**
 * Rewrites a valid ARP request for `ip` into the reply, in place, as the Linux kernel
 * (`arp_process`) answers it. Normally called by `respondInPlace` after its ethertype dispatch;
 * standalone calls return `-runt` for `len < 14` and `-other_ethertype` for any ethertype but
 * 0x0806 (untagged or behind one priority tag).
 *
 * Answered: requests (oper 1, htype 1 or 6, ptype 0x0800, hlen 6, plen 4) whose target protocol
 * address is `ip`, sent to broadcast or to `mac`, including RFC 5227 probes (sender protocol
 * address 0.0.0.0: the reply goes to the prober's hardware address with target protocol address
 * 0.0.0.0, as Linux sends it). A frame behind a priority tag (VLAN id 0) is answered untagged.
 *
 * Returns 42 (the reply is always the minimal untagged 42-byte frame at `off`; the NIC pads to 60
 * as for kernel-generated ARP), or `-reason`. For an untagged request the bytes after the reply
 * (Ethernet padding) are left untouched; nothing at all is written when the frame is dropped.
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
  if (l2 < 0) return l2;
  if (len < l2 + ARP_BODY_LEN) return -DropReason.runt;
  const q = off + l2;
  const htype = buf[q + 1];
  if (
    buf[q] !== 0 || (htype !== ARPHRD_ETHER && htype !== ARPHRD_IEEE802) || buf[q + 2] !== 0x08 ||
    buf[q + 3] !== 0x00 || buf[q + 4] !== 6 || buf[q + 5] !== 4
  ) return -DropReason.arp_malformed;
  if (buf[q + 6] !== 0 || buf[q + 7] !== ARPOP_REQUEST) return -DropReason.arp_not_request;
  if (readU32(buf, q + 24) !== myIp) return -DropReason.arp_not_for_us;
  const spa = readU32(buf, q + 14);
  if (
    isMulticastMac(buf, q + 8) || isZeroMac(buf, q + 8) || (spa !== 0 && isMartianSource(spa)) ||
    spa === myIp
  ) return -DropReason.arp_bad_sender;

  // The reply is untagged: its ARP body starts right after a 14-byte Ethernet header.
  const a = off + ETH_HLEN;
  if (q !== a) {
    buf.copyWithin(a, q, q + ARP_BODY_LEN);
    buf[off + 12] = ETHERTYPE_ARP >>> 8;
    buf[off + 13] = ETHERTYPE_ARP & 0xff;
  }
  // Ethernet: dst = requester (sha), src = us.
  copyMac(buf, off, a + 8);
  writeMac(buf, off + 6, mac);
  // ARP: htype 1, oper 2, tha = sha, tpa = spa (0.0.0.0 for a probe), then sha = us, spa = us.
  buf[a + 1] = ARPHRD_ETHER;
  buf[a + 7] = ARPOP_REPLY;
  copyMac(buf, a + 18, a + 8);
  writeU32(buf, a + 24, spa);
  writeMac(buf, a + 8, mac);
  writeU32(buf, a + 14, myIp);
  return ARP_FRAME_LEN;
}
