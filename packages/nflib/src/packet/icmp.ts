/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443) header fields, read and written in place at the message's
 * absolute offset `off`, and the IP header embedded in error messages (which NAT and tracing NFs
 * need to find the flow an error belongs to).
 *
 * @module
 */

/** Length of the ICMP header (type, code, checksum, and the 4-byte rest-of-header). */
export const ICMP_HEADER_LEN = 8;
/** Byte offset of the checksum field inside an ICMP or ICMPv6 header. */
export const ICMP_CHECKSUM_OFFSET = 2;
/** ICMP type: echo reply. */
export const ICMP_ECHO_REPLY = 0;
/** ICMP type: destination unreachable (an error). */
export const ICMP_DEST_UNREACHABLE = 3;
/** ICMP type: source quench (an error, deprecated). */
export const ICMP_SOURCE_QUENCH = 4;
/** ICMP type: redirect (an error). */
export const ICMP_REDIRECT = 5;
/** ICMP type: echo request. */
export const ICMP_ECHO_REQUEST = 8;
/** ICMP type: time exceeded (an error). */
export const ICMP_TIME_EXCEEDED = 11;
/** ICMP type: parameter problem (an error). */
export const ICMP_PARAMETER_PROBLEM = 12;
/** ICMPv6 type: destination unreachable (an error). */
export const ICMP6_DEST_UNREACHABLE = 1;
/** ICMPv6 type: packet too big (an error). */
export const ICMP6_PACKET_TOO_BIG = 2;
/** ICMPv6 type: time exceeded (an error). */
export const ICMP6_TIME_EXCEEDED = 3;
/** ICMPv6 type: parameter problem (an error). */
export const ICMP6_PARAMETER_PROBLEM = 4;
/** ICMPv6 type: echo request. */
export const ICMP6_ECHO_REQUEST = 128;
/** ICMPv6 type: echo reply. */
export const ICMP6_ECHO_REPLY = 129;

/** Message type. */
export function icmpType(view: DataView, off: number): number {
  return view.getUint8(off);
}

/** Sets the message type. */
export function setIcmpType(view: DataView, off: number, type: number): void {
  view.setUint8(off, type);
}

/** Message code. */
export function icmpCode(view: DataView, off: number): number {
  return view.getUint8(off + 1);
}

/** Sets the message code. */
export function setIcmpCode(view: DataView, off: number, code: number): void {
  view.setUint8(off + 1, code);
}

/** The checksum field as stored. */
export function icmpChecksumField(view: DataView, off: number): number {
  return view.getUint16(off + 2);
}

/** Sets the checksum field. */
export function setIcmpChecksumField(view: DataView, off: number, checksum: number): void {
  view.setUint16(off + 2, checksum);
}

/** Identifier of an echo request/reply (and timestamp/information messages). */
export function icmpId(view: DataView, off: number): number {
  return view.getUint16(off + 4);
}

/** Sets the identifier. */
export function setIcmpId(view: DataView, off: number, id: number): void {
  view.setUint16(off + 4, id);
}

/** Sequence number of an echo request/reply. */
export function icmpSeq(view: DataView, off: number): number {
  return view.getUint16(off + 6);
}

/** Sets the sequence number. */
export function setIcmpSeq(view: DataView, off: number, seq: number): void {
  view.setUint16(off + 6, seq);
}

/** True for ICMPv4 error types, which carry the offending datagram's IP header. */
export function icmpIsError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACHABLE ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETER_PROBLEM
  );
}

/** True for ICMPv6 error types (1..127), which carry the offending packet's IPv6 header. */
export function icmp6IsError(type: number): boolean {
  return type >= ICMP6_DEST_UNREACHABLE && type < 128;
}

/**
 * Offset of the IPv4 header embedded in the ICMPv4 error message at `off`, whose message ends at
 * `end` (exclusive). Returns -1 when the message is not an error, or the embedded header is
 * truncated, not version 4, or has a bad IHL. The embedded datagram's first 8 payload bytes (the
 * ports) follow the header when the sender included them: check against `end` before reading.
 */
export function icmpInnerIp4Offset(view: DataView, off: number, end: number): number {
  if (end - off < ICMP_HEADER_LEN + 20 || !icmpIsError(view.getUint8(off))) return -1;
  const inner = off + ICMP_HEADER_LEN;
  const b0 = view.getUint8(inner);
  if (b0 >>> 4 !== 4) return -1;
  const ihl = (b0 & 0x0f) << 2;
  return ihl < 20 || inner + ihl > end ? -1 : inner;
}

/**
 * Offset of the IPv6 header embedded in the ICMPv6 error message at `off` (message ends at `end`).
 * Returns -1 when the message is not an error or the embedded header is truncated or not version 6.
 */
export function icmp6InnerIp6Offset(view: DataView, off: number, end: number): number {
  if (end - off < ICMP_HEADER_LEN + 40 || !icmp6IsError(view.getUint8(off))) return -1;
  const inner = off + ICMP_HEADER_LEN;
  return view.getUint8(inner) >>> 4 === 6 ? inner : -1;
}
