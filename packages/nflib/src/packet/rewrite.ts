/**
 * In-place header rewrites that keep every affected checksum correct by incremental update
 * (RFC 1624) instead of recomputation: TTL decrement for routers, address and port translation for
 * NAT, ICMP echo identifier translation. An address change touches the IPv4 header checksum and,
 * through the pseudo-header, the TCP or UDP checksum; a UDP checksum of 0 ("none") stays 0.
 *
 * `l4Off` is the L4 header offset, or -1 when there is none to fix (non-first fragments, or a
 * protocol without a pseudo-header checksum): {@link parsePacket} stores exactly that as `l4Offset`.
 *
 * @module
 */

import { checksumAdjust16, checksumAdjust32, udpChecksumAdjust16, udpChecksumAdjust32 } from './checksum.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './ipv4.js';
import { TCP_CHECKSUM_OFFSET } from './tcp.js';
import { UDP_CHECKSUM_OFFSET } from './udp.js';
import { ICMP_CHECKSUM_OFFSET } from './icmp.js';

/**
 * Decrements the TTL of the IPv4 header at `off` and adjusts its checksum. Returns the new TTL.
 * A TTL of 0 is left unchanged (0 is returned): routers drop packets whose TTL is ≤ 1 before
 * forwarding them.
 */
export function decrementIp4Ttl(view: DataView, off: number): number {
  const word = view.getUint16(off + 8);
  if (word < 0x100) return 0;
  const next = word - 0x100;
  view.setUint16(off + 8, next);
  view.setUint16(off + 10, checksumAdjust16(view.getUint16(off + 10), word, next));
  return next >>> 8;
}

/** Fixes the TCP/UDP checksum at `l4Off` for a 32-bit pseudo-header value change. */
function adjustL4For32(view: DataView, l4Off: number, proto: number, oldValue: number, newValue: number): void {
  if (l4Off < 0) return;
  if (proto === IPPROTO_TCP) {
    const at = l4Off + TCP_CHECKSUM_OFFSET;
    view.setUint16(at, checksumAdjust32(view.getUint16(at), oldValue, newValue));
  } else if (proto === IPPROTO_UDP) {
    const at = l4Off + UDP_CHECKSUM_OFFSET;
    view.setUint16(at, udpChecksumAdjust32(view.getUint16(at), oldValue, newValue));
  }
}

/** Rewrites the IPv4 address at `l3Off + field` and fixes the IP and L4 checksums. */
function rewriteIp4Address(view: DataView, l3Off: number, l4Off: number, proto: number, field: number, addr: number): void {
  const oldAddr = view.getUint32(l3Off + field);
  const newAddr = addr >>> 0;
  view.setUint32(l3Off + field, newAddr);
  view.setUint16(l3Off + 10, checksumAdjust32(view.getUint16(l3Off + 10), oldAddr, newAddr));
  adjustL4For32(view, l4Off, proto, oldAddr, newAddr);
}

/**
 * Sets the source address of the IPv4 header at `l3Off` to `addr` and fixes the header checksum and,
 * for TCP or UDP (`proto`) with a header at `l4Off`, the L4 checksum.
 */
export function rewriteIp4Src(view: DataView, l3Off: number, l4Off: number, proto: number, addr: number): void {
  rewriteIp4Address(view, l3Off, l4Off, proto, 12, addr);
}

/** Like {@link rewriteIp4Src}, for the destination address. */
export function rewriteIp4Dst(view: DataView, l3Off: number, l4Off: number, proto: number, addr: number): void {
  rewriteIp4Address(view, l3Off, l4Off, proto, 16, addr);
}

/** Rewrites a 16-bit word of a TCP/UDP header and fixes its checksum; false for other protocols. */
function rewriteL4Word(view: DataView, l4Off: number, proto: number, field: number, value: number): boolean {
  let ck: number;
  if (proto === IPPROTO_TCP) ck = l4Off + TCP_CHECKSUM_OFFSET;
  else if (proto === IPPROTO_UDP) ck = l4Off + UDP_CHECKSUM_OFFSET;
  else return false;
  const oldValue = view.getUint16(l4Off + field);
  const newValue = value & 0xffff;
  view.setUint16(l4Off + field, newValue);
  const c = view.getUint16(ck);
  view.setUint16(ck, proto === IPPROTO_UDP ? udpChecksumAdjust16(c, oldValue, newValue) : checksumAdjust16(c, oldValue, newValue));
  return true;
}

/**
 * Sets the source port of the TCP or UDP header at `l4Off` and fixes its checksum. Returns false
 * (and writes nothing) when `proto` is neither TCP nor UDP.
 */
export function rewriteSrcPort(view: DataView, l4Off: number, proto: number, port: number): boolean {
  return rewriteL4Word(view, l4Off, proto, 0, port);
}

/** Like {@link rewriteSrcPort}, for the destination port. */
export function rewriteDstPort(view: DataView, l4Off: number, proto: number, port: number): boolean {
  return rewriteL4Word(view, l4Off, proto, 2, port);
}

/** Sets the identifier of the ICMPv4 echo message at `off` and fixes the ICMP checksum. */
export function rewriteIcmpId(view: DataView, off: number, id: number): void {
  const oldId = view.getUint16(off + 4);
  const newId = id & 0xffff;
  view.setUint16(off + 4, newId);
  const at = off + ICMP_CHECKSUM_OFFSET;
  view.setUint16(at, checksumAdjust16(view.getUint16(at), oldId, newId));
}
