/**
 * Ethernet II header fields, read and written in place.
 *
 * Conventions shared by every packet helper: header fields are read and written through a `DataView`
 * (network byte order), byte ranges (MACs, IPv6 addresses, options) are copied through a `Uint8Array`;
 * both views cover the same buffer from the same byte, and `off` is an absolute byte offset into them.
 * Nothing here allocates or checks bounds beyond the typed array's own: callers pass offsets that
 * {@link parsePacket} (or their own checks) validated.
 *
 * MAC addresses are 48-bit unsigned integers held in a JS number (exact below 2^53).
 *
 * @module
 */

/** Length of an Ethernet II header without VLAN tags (dst, src, ethertype). */
export const ETH_HEADER_LEN = 14;
/** Length of one 802.1Q / 802.1ad tag (TPID is the ethertype slot, then the 16-bit TCI). */
export const VLAN_TAG_LEN = 4;
/** Ethertype of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** Ethertype of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** Ethertype (TPID) of an 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** Ethertype of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** Ethertype (TPID) of an 802.1ad service (outer, QinQ) tag. */
export const ETHERTYPE_QINQ = 0x88a8;

const TWO_POW_32 = 4294967296;

/** Reads the 48-bit MAC at `off` as a number. */
function readMac(view: DataView, off: number): number {
  return view.getUint16(off) * TWO_POW_32 + view.getUint32(off + 2);
}

/** Writes the 48-bit number `mac` at `off`. */
function writeMac(view: DataView, off: number, mac: number): void {
  view.setUint16(off, Math.floor(mac / TWO_POW_32) & 0xffff);
  view.setUint32(off + 2, mac >>> 0);
}

/** Destination MAC of the frame at `off`, as a 48-bit number. */
export function ethDst(view: DataView, off: number): number {
  return readMac(view, off);
}

/** Source MAC of the frame at `off`, as a 48-bit number. */
export function ethSrc(view: DataView, off: number): number {
  return readMac(view, off + 6);
}

/** Sets the destination MAC of the frame at `off` from a 48-bit number. */
export function setEthDst(view: DataView, off: number, mac: number): void {
  writeMac(view, off, mac);
}

/** Sets the source MAC of the frame at `off` from a 48-bit number. */
export function setEthSrc(view: DataView, off: number, mac: number): void {
  writeMac(view, off + 6, mac);
}

/** Copies the 6 destination-MAC bytes of the frame at `off` into `out` at `outOff`. */
export function copyEthDst(bytes: Uint8Array, off: number, out: Uint8Array, outOff: number): void {
  for (let k = 0; k < 6; k++) out[outOff + k] = bytes[off + k];
}

/** Copies the 6 source-MAC bytes of the frame at `off` into `out` at `outOff`. */
export function copyEthSrc(bytes: Uint8Array, off: number, out: Uint8Array, outOff: number): void {
  for (let k = 0; k < 6; k++) out[outOff + k] = bytes[off + 6 + k];
}

/** Swaps source and destination MAC of the frame at `off` (a reflector's reply). */
export function swapEthAddresses(bytes: Uint8Array, off: number): void {
  for (let k = 0; k < 6; k++) {
    const d = bytes[off + k];
    bytes[off + k] = bytes[off + 6 + k];
    bytes[off + 6 + k] = d;
  }
}

/** The outer ethertype field (at byte 12): a TPID when the frame is VLAN-tagged. */
export function ethType(view: DataView, off: number): number {
  return view.getUint16(off + 12);
}

/** Sets the outer ethertype field. */
export function setEthType(view: DataView, off: number, type: number): void {
  view.setUint16(off + 12, type);
}

/** True when `type` is a VLAN TPID (802.1Q or 802.1ad). */
export function isVlanTpid(type: number): boolean {
  return type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ;
}

/**
 * Length of the L2 header of the frame at `off` after skipping at most one VLAN tag: 14, or 18 when
 * tagged. Returns -1 when the frame (`len` bytes) is too short to hold that header.
 */
export function ethHeaderLength(view: DataView, off: number, len: number): number {
  if (len < ETH_HEADER_LEN) return -1;
  if (!isVlanTpid(view.getUint16(off + 12))) return ETH_HEADER_LEN;
  return len < ETH_HEADER_LEN + VLAN_TAG_LEN ? -1 : ETH_HEADER_LEN + VLAN_TAG_LEN;
}

/**
 * The ethertype of the payload after skipping at most one VLAN tag (so 0x0800 for IPv4 in a
 * single-tagged frame). Returns -1 when the frame (`len` bytes) is truncated.
 */
export function ethPayloadType(view: DataView, off: number, len: number): number {
  const hl = ethHeaderLength(view, off, len);
  return hl < 0 ? -1 : view.getUint16(off + hl - 2);
}

/** The 16-bit TCI (PCP, DEI, VLAN id) of the first tag; only meaningful when the frame is tagged. */
export function vlanTci(view: DataView, off: number): number {
  return view.getUint16(off + 14);
}

/** The 12-bit VLAN id of the first tag; only meaningful when the frame is tagged. */
export function vlanId(view: DataView, off: number): number {
  return view.getUint16(off + 14) & 0x0fff;
}

/** Sets the TCI of the first tag; only meaningful when the frame is tagged. */
export function setVlanTci(view: DataView, off: number, tci: number): void {
  view.setUint16(off + 14, tci);
}
