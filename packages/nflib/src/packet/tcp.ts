/**
 * TCP header fields (RFC 9293), read and written in place at the header's absolute offset `off`.
 * Setters write the field only; fix the checksum with {@link updateTcpChecksum} or the incremental
 * rewrite helpers.
 *
 * @module
 */

/** Length of a TCP header without options. */
export const TCP_MIN_HEADER_LEN = 20;
/** Byte offset of the checksum field inside the TCP header. */
export const TCP_CHECKSUM_OFFSET = 16;
/** FIN flag bit in {@link tcpFlags}. */
export const TCP_FIN = 0x01;
/** SYN flag bit in {@link tcpFlags}. */
export const TCP_SYN = 0x02;
/** RST flag bit in {@link tcpFlags}. */
export const TCP_RST = 0x04;
/** PSH flag bit in {@link tcpFlags}. */
export const TCP_PSH = 0x08;
/** ACK flag bit in {@link tcpFlags}. */
export const TCP_ACK = 0x10;
/** URG flag bit in {@link tcpFlags}. */
export const TCP_URG = 0x20;
/** ECE flag bit in {@link tcpFlags}. */
export const TCP_ECE = 0x40;
/** CWR flag bit in {@link tcpFlags}. */
export const TCP_CWR = 0x80;

/** Source port. */
export function tcpSrcPort(view: DataView, off: number): number {
  return view.getUint16(off);
}

/** Sets the source port. */
export function setTcpSrcPort(view: DataView, off: number, port: number): void {
  view.setUint16(off, port);
}

/** Destination port. */
export function tcpDstPort(view: DataView, off: number): number {
  return view.getUint16(off + 2);
}

/** Sets the destination port. */
export function setTcpDstPort(view: DataView, off: number, port: number): void {
  view.setUint16(off + 2, port);
}

/** Sequence number (unsigned 32-bit). */
export function tcpSeq(view: DataView, off: number): number {
  return view.getUint32(off + 4);
}

/** Sets the sequence number. */
export function setTcpSeq(view: DataView, off: number, seq: number): void {
  view.setUint32(off + 4, seq >>> 0);
}

/** Acknowledgment number (unsigned 32-bit). */
export function tcpAck(view: DataView, off: number): number {
  return view.getUint32(off + 8);
}

/** Sets the acknowledgment number. */
export function setTcpAck(view: DataView, off: number, ack: number): void {
  view.setUint32(off + 8, ack >>> 0);
}

/** Data offset in 32-bit words (5..15). */
export function tcpDataOffset(view: DataView, off: number): number {
  return view.getUint8(off + 12) >>> 4;
}

/** Header length in bytes (data offset × 4), options included. */
export function tcpHeaderLength(view: DataView, off: number): number {
  return (view.getUint8(off + 12) >>> 4) << 2;
}

/** Sets the data offset (in 32-bit words), keeping the reserved bits and the NS bit. */
export function setTcpDataOffset(view: DataView, off: number, words: number): void {
  view.setUint8(off + 12, ((words & 0x0f) << 4) | (view.getUint8(off + 12) & 0x0f));
}

/** The 8 flag bits (CWR..FIN); test with {@link TCP_SYN} and friends. */
export function tcpFlags(view: DataView, off: number): number {
  return view.getUint8(off + 13);
}

/** Sets the 8 flag bits. */
export function setTcpFlags(view: DataView, off: number, flags: number): void {
  view.setUint8(off + 13, flags);
}

/** Receive window. */
export function tcpWindow(view: DataView, off: number): number {
  return view.getUint16(off + 14);
}

/** Sets the receive window. */
export function setTcpWindow(view: DataView, off: number, window: number): void {
  view.setUint16(off + 14, window);
}

/** The checksum field as stored. */
export function tcpChecksumField(view: DataView, off: number): number {
  return view.getUint16(off + 16);
}

/** Sets the checksum field. */
export function setTcpChecksumField(view: DataView, off: number, checksum: number): void {
  view.setUint16(off + 16, checksum);
}

/** Urgent pointer. */
export function tcpUrgentPointer(view: DataView, off: number): number {
  return view.getUint16(off + 18);
}

/** Sets the urgent pointer. */
export function setTcpUrgentPointer(view: DataView, off: number, ptr: number): void {
  view.setUint16(off + 18, ptr);
}
