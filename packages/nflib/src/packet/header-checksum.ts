/**
 * Full checksums of real headers: the IPv4 header checksum, TCP and UDP with the IPv4 or IPv6
 * pseudo-header (chosen by the version nibble at `l3Off`), ICMP, and ICMPv6. "Compute" functions
 * return the value to store and treat the current checksum field as zero; "update" functions write
 * it; "valid" functions verify a received header.
 *
 * `l4Len` is the length of the L4 segment (header + payload) as the IP header gives it (IPv4 total
 * length − IHL, or the IPv6 payload length minus extension headers): {@link parsePacket} stores it
 * as `l4Length`. Frames may carry Ethernet padding after it, which is not covered. For IPv6 the
 * pseudo-header uses the fixed header's destination; a packet with a routing header would need the
 * final destination instead, which these helpers do not look for.
 *
 * @module
 */

import { checksumAdd, checksumFold } from './checksum.js';
import { IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './ipv4.js';
import { ICMP_CHECKSUM_OFFSET } from './icmp.js';
import { TCP_CHECKSUM_OFFSET } from './tcp.js';
import { UDP_CHECKSUM_OFFSET } from './udp.js';

/** The IPv4 header checksum of the header at `off` (its IHL decides the length). */
export function ip4HeaderChecksum(view: DataView, off: number): number {
  const hl = (view.getUint8(off) & 0x0f) << 2;
  const s = checksumAdd(view, off + 12, hl - 12, checksumAdd(view, off, 10, 0));
  return ~checksumFold(s) & 0xffff;
}

/** Computes and writes the IPv4 header checksum of the header at `off`. */
export function updateIp4Checksum(view: DataView, off: number): void {
  view.setUint16(off + 10, ip4HeaderChecksum(view, off));
}

/** True when the IPv4 header at `off` carries a correct checksum. */
export function ip4ChecksumValid(view: DataView, off: number): boolean {
  const hl = (view.getUint8(off) & 0x0f) << 2;
  return checksumFold(checksumAdd(view, off, hl, 0)) === 0xffff;
}

/**
 * Unfolded sum of the pseudo-header for upper-layer protocol `proto` and segment length `l4Len`,
 * for the IPv4 (RFC 793) or IPv6 (RFC 8200 §8.1) header at `l3Off`.
 */
export function pseudoHeaderSum(view: DataView, l3Off: number, proto: number, l4Len: number): number {
  if (view.getUint8(l3Off) >>> 4 === 6) return checksumAdd(view, l3Off + 8, 32, proto + l4Len);
  return view.getUint32(l3Off + 12) + view.getUint32(l3Off + 16) + proto + l4Len;
}

/** Checksum of a segment with a pseudo-header, skipping the 2-byte checksum field at `ckOff`. */
function segmentChecksum(view: DataView, l3Off: number, l4Off: number, l4Len: number, proto: number, ckOff: number): number {
  let s = l3Off < 0 ? 0 : pseudoHeaderSum(view, l3Off, proto, l4Len);
  s = checksumAdd(view, l4Off, ckOff, s);
  s = checksumAdd(view, l4Off + ckOff + 2, l4Len - ckOff - 2, s);
  return ~checksumFold(s) & 0xffff;
}

/** Folded sum over a segment and its pseudo-header, checksum field included (0xffff when valid). */
function segmentVerifySum(view: DataView, l3Off: number, l4Off: number, l4Len: number, proto: number): number {
  const s = l3Off < 0 ? 0 : pseudoHeaderSum(view, l3Off, proto, l4Len);
  return checksumFold(checksumAdd(view, l4Off, l4Len, s));
}

/** The TCP checksum for the segment at `l4Off` (`l4Len` bytes) under the IP header at `l3Off`. */
export function tcpChecksum(view: DataView, l3Off: number, l4Off: number, l4Len: number): number {
  return segmentChecksum(view, l3Off, l4Off, l4Len, IPPROTO_TCP, TCP_CHECKSUM_OFFSET);
}

/** Computes and writes the TCP checksum. */
export function updateTcpChecksum(view: DataView, l3Off: number, l4Off: number, l4Len: number): void {
  view.setUint16(l4Off + TCP_CHECKSUM_OFFSET, tcpChecksum(view, l3Off, l4Off, l4Len));
}

/** True when the TCP segment carries a correct checksum. */
export function tcpChecksumValid(view: DataView, l3Off: number, l4Off: number, l4Len: number): boolean {
  return segmentVerifySum(view, l3Off, l4Off, l4Len, IPPROTO_TCP) === 0xffff;
}

/**
 * The UDP checksum for the datagram at `l4Off` (`l4Len` bytes, normally its length field) under the
 * IP header at `l3Off`. A computed 0 is returned as 0xffff, since 0 means "no checksum" (RFC 768).
 */
export function udpChecksum(view: DataView, l3Off: number, l4Off: number, l4Len: number): number {
  const c = segmentChecksum(view, l3Off, l4Off, l4Len, IPPROTO_UDP, UDP_CHECKSUM_OFFSET);
  return c === 0 ? 0xffff : c;
}

/** Computes and writes the UDP checksum. */
export function updateUdpChecksum(view: DataView, l3Off: number, l4Off: number, l4Len: number): void {
  view.setUint16(l4Off + UDP_CHECKSUM_OFFSET, udpChecksum(view, l3Off, l4Off, l4Len));
}

/**
 * True when the UDP datagram's checksum is correct. A zero checksum ("none") is accepted over IPv4
 * and rejected over IPv6, where it is mandatory (RFC 8200 §8.1).
 */
export function udpChecksumValid(view: DataView, l3Off: number, l4Off: number, l4Len: number): boolean {
  if (view.getUint16(l4Off + UDP_CHECKSUM_OFFSET) === 0) return view.getUint8(l3Off) >>> 4 === 4;
  return segmentVerifySum(view, l3Off, l4Off, l4Len, IPPROTO_UDP) === 0xffff;
}

/** The ICMPv4 checksum of the message at `off` (`len` bytes; ICMPv4 has no pseudo-header). */
export function icmpChecksum(view: DataView, off: number, len: number): number {
  return segmentChecksum(view, -1, off, len, 0, ICMP_CHECKSUM_OFFSET);
}

/** Computes and writes the ICMPv4 checksum. */
export function updateIcmpChecksum(view: DataView, off: number, len: number): void {
  view.setUint16(off + ICMP_CHECKSUM_OFFSET, icmpChecksum(view, off, len));
}

/** True when the ICMPv4 message carries a correct checksum. */
export function icmpChecksumValid(view: DataView, off: number, len: number): boolean {
  return segmentVerifySum(view, -1, off, len, 0) === 0xffff;
}

/** The ICMPv6 checksum of the message at `l4Off` (with the IPv6 pseudo-header from `l3Off`). */
export function icmp6Checksum(view: DataView, l3Off: number, l4Off: number, l4Len: number): number {
  return segmentChecksum(view, l3Off, l4Off, l4Len, IPPROTO_ICMPV6, ICMP_CHECKSUM_OFFSET);
}

/** Computes and writes the ICMPv6 checksum. */
export function updateIcmp6Checksum(view: DataView, l3Off: number, l4Off: number, l4Len: number): void {
  view.setUint16(l4Off + ICMP_CHECKSUM_OFFSET, icmp6Checksum(view, l3Off, l4Off, l4Len));
}

/** True when the ICMPv6 message carries a correct checksum. */
export function icmp6ChecksumValid(view: DataView, l3Off: number, l4Off: number, l4Len: number): boolean {
  return segmentVerifySum(view, l3Off, l4Off, l4Len, IPPROTO_ICMPV6) === 0xffff;
}
