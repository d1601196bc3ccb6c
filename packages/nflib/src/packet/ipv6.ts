/**
 * IPv6 header fields (RFC 8200), read and written in place at the header's absolute offset `off`.
 * Addresses are copied into caller-provided arrays: 16 bytes into a `Uint8Array`, or four
 * big-endian 32-bit words into a `Uint32Array` (handy for hashing and prefix matching).
 *
 * @module
 */

/** Length of the fixed IPv6 header. */
export const IPV6_HEADER_LEN = 40;
/** Next-header value of the hop-by-hop options extension header. */
export const IPV6_EXT_HOP_BY_HOP = 0;
/** Next-header value of the routing extension header. */
export const IPV6_EXT_ROUTING = 43;
/** Next-header value of the fragment extension header. */
export const IPV6_EXT_FRAGMENT = 44;
/** Next-header value of the destination options extension header. */
export const IPV6_EXT_DEST_OPTS = 60;
/** Next-header value meaning "no next header". */
export const IPV6_NO_NEXT_HEADER = 59;

/** Traffic class (8 bits). */
export function ip6TrafficClass(view: DataView, off: number): number {
  return (view.getUint16(off) >>> 4) & 0xff;
}

/** Flow label (20 bits). */
export function ip6FlowLabel(view: DataView, off: number): number {
  return view.getUint32(off) & 0xfffff;
}

/** Writes the first word: version 6, `trafficClass` (8 bits) and `flowLabel` (20 bits). */
export function setIp6VersionClassFlow(view: DataView, off: number, trafficClass: number, flowLabel: number): void {
  view.setUint32(off, ((0x60000000 | ((trafficClass & 0xff) << 20) | (flowLabel & 0xfffff)) >>> 0));
}

/** Payload length: bytes after the fixed 40-byte header, extension headers included. */
export function ip6PayloadLength(view: DataView, off: number): number {
  return view.getUint16(off + 4);
}

/** Sets the payload length. */
export function setIp6PayloadLength(view: DataView, off: number, len: number): void {
  view.setUint16(off + 4, len);
}

/** Next header of the fixed header (an extension header or the upper-layer protocol). */
export function ip6NextHeader(view: DataView, off: number): number {
  return view.getUint8(off + 6);
}

/** Sets the next header of the fixed header. */
export function setIp6NextHeader(view: DataView, off: number, nextHeader: number): void {
  view.setUint8(off + 6, nextHeader);
}

/** Hop limit. */
export function ip6HopLimit(view: DataView, off: number): number {
  return view.getUint8(off + 7);
}

/** Sets the hop limit. */
export function setIp6HopLimit(view: DataView, off: number, hopLimit: number): void {
  view.setUint8(off + 7, hopLimit);
}

/** Copies the 16-byte source address into `out` at `outOff`. */
export function copyIp6Src(bytes: Uint8Array, off: number, out: Uint8Array, outOff: number): void {
  for (let k = 0; k < 16; k++) out[outOff + k] = bytes[off + 8 + k];
}

/** Copies the 16-byte destination address into `out` at `outOff`. */
export function copyIp6Dst(bytes: Uint8Array, off: number, out: Uint8Array, outOff: number): void {
  for (let k = 0; k < 16; k++) out[outOff + k] = bytes[off + 24 + k];
}

/** Writes the source address from 16 bytes of `src` at `srcOff`. */
export function setIp6Src(bytes: Uint8Array, off: number, src: Uint8Array, srcOff: number): void {
  for (let k = 0; k < 16; k++) bytes[off + 8 + k] = src[srcOff + k];
}

/** Writes the destination address from 16 bytes of `src` at `srcOff`. */
export function setIp6Dst(bytes: Uint8Array, off: number, src: Uint8Array, srcOff: number): void {
  for (let k = 0; k < 16; k++) bytes[off + 24 + k] = src[srcOff + k];
}

/** Reads the source address as four big-endian 32-bit words into `out[outOff..outOff+3]`. */
export function ip6SrcWords(view: DataView, off: number, out: Uint32Array, outOff: number): void {
  out[outOff] = view.getUint32(off + 8);
  out[outOff + 1] = view.getUint32(off + 12);
  out[outOff + 2] = view.getUint32(off + 16);
  out[outOff + 3] = view.getUint32(off + 20);
}

/** Reads the destination address as four big-endian 32-bit words into `out[outOff..outOff+3]`. */
export function ip6DstWords(view: DataView, off: number, out: Uint32Array, outOff: number): void {
  out[outOff] = view.getUint32(off + 24);
  out[outOff + 1] = view.getUint32(off + 28);
  out[outOff + 2] = view.getUint32(off + 32);
  out[outOff + 3] = view.getUint32(off + 36);
}
