/**
 * Enso's packet helpers (`enso/helpers.h`) for frames held in a `Uint8Array`, plus IPv4 address
 * conversions for `bind`. All functions read bytes in place and allocate nothing.
 *
 * @module
 */

import { DEFAULT_RTT_OFFSET, FLIT_SIZE } from './constants.js';

/**
 * Bytes a frame of `length` bytes occupies in a pipe: `length` rounded up to a multiple of 64.
 * A length of 0 occupies 0 bytes.
 */
export function flitAlign(length: number): number {
  return (length + (FLIT_SIZE - 1)) & ~(FLIT_SIZE - 1);
}

/**
 * Enso's `get_pkt_len`: the frame length an IPv4 packet announces, i.e. the IPv4 total length at
 * bytes 16-17 plus the 14-byte Ethernet header. It does not check the EtherType, exactly like Enso:
 * for a non-IPv4 frame the result is meaningless. Use `MessageBatch.length()` for the true length
 * the NIC recorded for any frame (ARP, IPv6, VLAN, padded runts).
 *
 * Precondition: `offset + 18 <= buf.length`.
 */
export function pktLen(buf: Uint8Array, offset: number): number {
  return ((buf[offset + 16] << 8) | buf[offset + 17]) + 14;
}

/**
 * Enso's `get_next_pkt`: the offset of the packet after the one at `offset`, using
 * {@link pktLen} rounded up to whole flits (so IPv4 packets only; see {@link pktLen}).
 */
export function nextPkt(buf: Uint8Array, offset: number): number {
  return offset + flitAlign(pktLen(buf, offset));
}

/**
 * Enso's `get_pkt_rtt`: the round-trip time the NIC wrote into a received packet when timestamping
 * is on, in timestamp cycles of {@link NS_PER_TIMESTAMP_CYCLE} ns (a big-endian 32-bit value at
 * `rttOffset`). Meaningless when timestamping is off.
 */
export function pktRtt(buf: Uint8Array, offset: number, rttOffset: number = DEFAULT_RTT_OFFSET): number {
  const p = offset + rttOffset;
  return ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
}

/**
 * Parses a dotted-quad IPv4 address into the host-order number `bind` takes
 * (`'10.0.0.1'` → `0x0a000001`). Throws a `RangeError` naming the input when it is not an address.
 */
export function ipv4ToNumber(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: '${address}'`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new RangeError(`not an IPv4 address: '${address}'`);
    value = value * 256 + Number(part);
  }
  return value;
}

/** Formats a host-order IPv4 number as a dotted quad (`0x0a000001` → `'10.0.0.1'`). */
export function numberToIpv4(value: number): string {
  const v = value >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}
