/**
 * UDP header fields (RFC 768), read and written in place at the header's absolute offset `off`.
 * A checksum of 0 means "none" on IPv4; see {@link updateUdpChecksum} and the incremental helpers,
 * which keep that rule.
 *
 * @module
 */

/** Length of the UDP header. */
export const UDP_HEADER_LEN = 8;
/** Byte offset of the checksum field inside the UDP header. */
export const UDP_CHECKSUM_OFFSET = 6;

/** Source port. */
export function udpSrcPort(view: DataView, off: number): number {
  return view.getUint16(off);
}

/** Sets the source port. */
export function setUdpSrcPort(view: DataView, off: number, port: number): void {
  view.setUint16(off, port);
}

/** Destination port. */
export function udpDstPort(view: DataView, off: number): number {
  return view.getUint16(off + 2);
}

/** Sets the destination port. */
export function setUdpDstPort(view: DataView, off: number, port: number): void {
  view.setUint16(off + 2, port);
}

/** Length field: header + payload in bytes. */
export function udpLength(view: DataView, off: number): number {
  return view.getUint16(off + 4);
}

/** Sets the length field. */
export function setUdpLength(view: DataView, off: number, len: number): void {
  view.setUint16(off + 4, len);
}

/** The checksum field as stored (0: no checksum, IPv4 only). */
export function udpChecksumField(view: DataView, off: number): number {
  return view.getUint16(off + 6);
}

/** Sets the checksum field. */
export function setUdpChecksumField(view: DataView, off: number, checksum: number): void {
  view.setUint16(off + 6, checksum);
}
