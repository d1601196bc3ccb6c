/**
 * IPv4 header fields (RFC 791), read and written in place at the header's absolute offset `off`.
 * Addresses are unsigned 32-bit numbers (`10.0.0.1` is `0x0a000001`). Setters write the field only:
 * fix the header checksum afterwards with {@link updateIp4Checksum}, or use the rewrite helpers that
 * adjust it incrementally.
 *
 * @module
 */

/** Length of an IPv4 header without options. */
export const IPV4_MIN_HEADER_LEN = 20;
/** Largest IPv4 header (IHL 15). */
export const IPV4_MAX_HEADER_LEN = 60;
/** Flag bit "don't fragment" in {@link ip4Flags}. */
export const IPV4_FLAG_DF = 0x2;
/** Flag bit "more fragments" in {@link ip4Flags}. */
export const IPV4_FLAG_MF = 0x1;

/** IP protocol number of ICMP. */
export const IPPROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** IP protocol number of IPv6 encapsulated in IP. */
export const IPPROTO_IPV6 = 41;
/** IP protocol number of GRE. */
export const IPPROTO_GRE = 47;
/** IP protocol number of ESP (IPsec). */
export const IPPROTO_ESP = 50;
/** IP protocol number of AH (IPsec). */
export const IPPROTO_AH = 51;
/** IP protocol number of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;
/** IP protocol number of SCTP. */
export const IPPROTO_SCTP = 132;

/** IP version nibble (4 for IPv4). Works on IPv6 headers too. */
export function ipVersion(view: DataView, off: number): number {
  return view.getUint8(off) >>> 4;
}

/** Header length in 32-bit words (IHL, 5..15). */
export function ip4Ihl(view: DataView, off: number): number {
  return view.getUint8(off) & 0x0f;
}

/** Header length in bytes (IHL × 4). */
export function ip4HeaderLength(view: DataView, off: number): number {
  return (view.getUint8(off) & 0x0f) << 2;
}

/** Sets version 4 and the IHL (in 32-bit words). */
export function setIp4VersionIhl(view: DataView, off: number, ihl: number): void {
  view.setUint8(off, 0x40 | (ihl & 0x0f));
}

/** Type of service / DSCP+ECN byte. */
export function ip4Tos(view: DataView, off: number): number {
  return view.getUint8(off + 1);
}

/** Sets the type of service / DSCP+ECN byte. */
export function setIp4Tos(view: DataView, off: number, tos: number): void {
  view.setUint8(off + 1, tos);
}

/** Total length of the datagram (header + payload) in bytes. */
export function ip4TotalLength(view: DataView, off: number): number {
  return view.getUint16(off + 2);
}

/** Sets the total length. */
export function setIp4TotalLength(view: DataView, off: number, len: number): void {
  view.setUint16(off + 2, len);
}

/** Identification field. */
export function ip4Id(view: DataView, off: number): number {
  return view.getUint16(off + 4);
}

/** Sets the identification field. */
export function setIp4Id(view: DataView, off: number, id: number): void {
  view.setUint16(off + 4, id);
}

/** The 3 flag bits (reserved, DF = {@link IPV4_FLAG_DF}, MF = {@link IPV4_FLAG_MF}). */
export function ip4Flags(view: DataView, off: number): number {
  return view.getUint16(off + 6) >>> 13;
}

/** Fragment offset in 8-byte units (13 bits). */
export function ip4FragmentOffset(view: DataView, off: number): number {
  return view.getUint16(off + 6) & 0x1fff;
}

/** Sets flags (3 bits) and fragment offset (13 bits, 8-byte units) together. */
export function setIp4FlagsFragment(view: DataView, off: number, flags: number, fragOffset: number): void {
  view.setUint16(off + 6, ((flags & 0x7) << 13) | (fragOffset & 0x1fff));
}

/** True when the datagram is a fragment (MF set or a non-zero fragment offset). */
export function ip4IsFragment(view: DataView, off: number): boolean {
  return (view.getUint16(off + 6) & 0x3fff) !== 0;
}

/** Time to live. */
export function ip4Ttl(view: DataView, off: number): number {
  return view.getUint8(off + 8);
}

/** Sets the time to live. */
export function setIp4Ttl(view: DataView, off: number, ttl: number): void {
  view.setUint8(off + 8, ttl);
}

/** Protocol number of the payload ({@link IPPROTO_TCP}, {@link IPPROTO_UDP}, ...). */
export function ip4Protocol(view: DataView, off: number): number {
  return view.getUint8(off + 9);
}

/** Sets the protocol number. */
export function setIp4Protocol(view: DataView, off: number, proto: number): void {
  view.setUint8(off + 9, proto);
}

/** The header checksum field as stored. */
export function ip4Checksum(view: DataView, off: number): number {
  return view.getUint16(off + 10);
}

/** Sets the header checksum field. */
export function setIp4Checksum(view: DataView, off: number, checksum: number): void {
  view.setUint16(off + 10, checksum);
}

/** Source address as an unsigned 32-bit number. */
export function ip4Src(view: DataView, off: number): number {
  return view.getUint32(off + 12);
}

/** Sets the source address (unsigned 32-bit number). */
export function setIp4Src(view: DataView, off: number, addr: number): void {
  view.setUint32(off + 12, addr >>> 0);
}

/** Destination address as an unsigned 32-bit number. */
export function ip4Dst(view: DataView, off: number): number {
  return view.getUint32(off + 16);
}

/** Sets the destination address (unsigned 32-bit number). */
export function setIp4Dst(view: DataView, off: number, addr: number): void {
  view.setUint32(off + 16, addr >>> 0);
}

/** Absolute offset of the first option byte (always `off + 20`). */
export function ip4OptionsOffset(off: number): number {
  return off + IPV4_MIN_HEADER_LEN;
}

/** Length of the options in bytes (0 without options). */
export function ip4OptionsLength(view: DataView, off: number): number {
  return ((view.getUint8(off) & 0x0f) << 2) - IPV4_MIN_HEADER_LEN;
}

/** Copies the option bytes into `out` at `outOff` and returns how many were copied. */
export function copyIp4Options(bytes: Uint8Array, off: number, out: Uint8Array, outOff: number): number {
  const n = ((bytes[off] & 0x0f) << 2) - IPV4_MIN_HEADER_LEN;
  for (let k = 0; k < n; k++) out[outOff + k] = bytes[off + IPV4_MIN_HEADER_LEN + k];
  return n > 0 ? n : 0;
}
