/**
 * The responder for `--vlan`: a request behind one 802.1Q/802.1ad tag with a non-zero VLAN id is
 * answered in that VLAN (tagged), as the kernel answers through a VLAN device on the interface.
 * Hot path: no allocation.
 * @module
 */

import { DropReason } from "./drop.ts";
import { ETHERTYPE_QINQ, ETHERTYPE_VLAN } from "./ether.ts";
import { respondInPlace } from "./respond.ts";

/**
 * Like `respondInPlace`, and a request behind one tag with a non-zero VLAN id (either TPID) is
 * answered too, with the same TPID and VLAN id and priority 0 (PCP and DEI cleared, as a VLAN
 * device's default egress map sends it); two tags are `-vlan`. Untagged and priority-tagged
 * frames go to `respondInPlace` unchanged. The tag is taken out by moving the MAC addresses up
 * four bytes, the inner frame is answered where it now lies, and the tag is put back (into the
 * reply, or the frame restored exactly when it is dropped).
 *
 * @param cap bytes writable from `off` (at least `len`)
 * @example
 * ```ts
 * const n = respondInVlan(umem, off, len, ip, mac, ip6, 2048 - 256);
 * if (n > 0) tx(off, n);
 * ```
 */
export function respondInVlan(
  buf: Uint8Array,
  off: number,
  len: number,
  ip: number,
  mac: Uint8Array,
  ip6: Uint8Array | undefined,
  cap: number,
): number {
  if (len < 18) return respondInPlace(buf, off, len, ip, mac, ip6, cap);
  const tpid = (buf[off + 12] << 8) | buf[off + 13];
  const hi = buf[off + 14], lo = buf[off + 15];
  if ((tpid !== ETHERTYPE_VLAN && tpid !== ETHERTYPE_QINQ) || ((hi & 0x0f) | lo) === 0) {
    return respondInPlace(buf, off, len, ip, mac, ip6, cap);
  }
  const inner = (buf[off + 16] << 8) | buf[off + 17];
  if (inner === ETHERTYPE_VLAN || inner === ETHERTYPE_QINQ) return -DropReason.vlan;
  buf.copyWithin(off + 4, off, off + 12);
  const r = respondInPlace(buf, off + 4, len - 4, ip, mac, ip6, cap - 4);
  buf.copyWithin(off, off + 4, off + 16);
  buf[off + 12] = tpid >>> 8;
  buf[off + 13] = tpid & 0xff;
  buf[off + 14] = r > 0 ? hi & 0x0f : hi;
  buf[off + 15] = lo;
  return r > 0 ? r + 4 : r;
}
