/**
 * Builds one generated Ethernet/IPv4 frame (UDP, TCP or ICMP echo request) with a correct IPv4
 * header checksum and L4 checksum, and patches a 32-bit word of its payload keeping the checksum
 * valid (RFC 1624 incremental update).
 *
 * @module
 */
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from './gen-flows.js';

/** Ethernet header bytes. */
export const ETH_BYTES = 14;
/** IPv4 header bytes (no options). */
export const IPV4_BYTES = 20;
const L4_AT = ETH_BYTES + IPV4_BYTES;
const ETHERTYPE_IPV4 = 0x0800;
const IP_FLAG_DF = 0x4000;
const TTL = 64;

/** The header fields of one generated frame. */
export interface FrameFields {
  /** Destination MAC (6 bytes). */
  dmac: Uint8Array;
  /** Source MAC (6 bytes). */
  smac: Uint8Array;
  /** IP protocol: 1 (ICMP), 6 (TCP) or 17 (UDP). */
  proto: number;
  /** Source IPv4 address (unsigned 32-bit). */
  src: number;
  /** Destination IPv4 address. */
  dst: number;
  /** Source port; ICMP echo identifier. */
  sport: number;
  /** Destination port; ICMP echo sequence number. */
  dport: number;
  /** IPv4 identification field. */
  ipId: number;
}

/** Bytes of the L4 header for `proto` (UDP 8, TCP 20, ICMP echo 8). */
export function l4HeaderBytes(proto: number): number {
  return proto === IPPROTO_TCP ? 20 : 8;
}

/** Offset in the frame of the first payload byte for `proto`. */
export function payloadOffset(proto: number): number {
  return L4_AT + l4HeaderBytes(proto);
}

/** Offset in the frame of the L4 checksum for `proto`. */
export function l4ChecksumOffset(proto: number): number {
  return proto === IPPROTO_TCP ? L4_AT + 16 : proto === IPPROTO_UDP ? L4_AT + 6 : L4_AT + 2;
}

/**
 * Writes a `size`-byte frame at `buf[at]` (payload zero-filled): Ethernet II, IPv4 (DF, TTL 64,
 * header checksum), then a UDP datagram, a TCP segment (PSH+ACK, seq 1, ack 1, window 65535) or an
 * ICMP echo request (identifier = sport, sequence = dport), with a valid L4 checksum. `size` must be
 * at least 60 and leave room for the headers.
 */
export function writeFrame(buf: Uint8Array, view: DataView, at: number, size: number, f: FrameFields): void {
  buf.fill(0, at, at + size);
  buf.set(f.dmac, at);
  buf.set(f.smac, at + 6);
  view.setUint16(at + 12, ETHERTYPE_IPV4);
  const ip = at + ETH_BYTES;
  view.setUint8(ip, 0x45);
  view.setUint16(ip + 2, size - ETH_BYTES);
  view.setUint16(ip + 4, f.ipId & 0xffff);
  view.setUint16(ip + 6, IP_FLAG_DF);
  view.setUint8(ip + 8, TTL);
  view.setUint8(ip + 9, f.proto);
  view.setUint32(ip + 12, f.src >>> 0);
  view.setUint32(ip + 16, f.dst >>> 0);
  view.setUint16(ip + 10, checksum(buf, ip, IPV4_BYTES, 0));
  const l4 = ip + IPV4_BYTES;
  const l4Len = size - L4_AT;
  if (f.proto === IPPROTO_UDP) {
    view.setUint16(l4, f.sport);
    view.setUint16(l4 + 2, f.dport);
    view.setUint16(l4 + 4, l4Len);
  } else if (f.proto === IPPROTO_TCP) {
    view.setUint16(l4, f.sport);
    view.setUint16(l4 + 2, f.dport);
    view.setUint32(l4 + 4, 1); // sequence number
    view.setUint32(l4 + 8, 1); // acknowledgement number
    view.setUint8(l4 + 12, 5 << 4); // data offset: 5 words
    view.setUint8(l4 + 13, 0x18); // PSH + ACK
    view.setUint16(l4 + 14, 0xffff); // window
  } else if (f.proto === IPPROTO_ICMP) {
    view.setUint8(l4, 8); // echo request
    view.setUint16(l4 + 4, f.sport);
    view.setUint16(l4 + 6, f.dport);
  } else {
    throw new Error(`gen: cannot build IP protocol ${f.proto}`);
  }
  // UDP and TCP checksums cover the IPv4 pseudo-header; ICMP's covers the message alone.
  const pseudo =
    f.proto === IPPROTO_ICMP
      ? 0
      : (f.src >>> 16) + (f.src & 0xffff) + (f.dst >>> 16) + (f.dst & 0xffff) + f.proto + l4Len;
  let sum = checksum(buf, l4, l4Len, pseudo);
  if (sum === 0 && f.proto === IPPROTO_UDP) sum = 0xffff; // 0 means "no checksum" in UDP
  view.setUint16(at + l4ChecksumOffset(f.proto), sum);
}

/**
 * The Internet checksum (RFC 1071) of `buf[at, at + len)` plus `initial` (a sum of 16-bit words
 * already accumulated, e.g. a pseudo-header): the ones' complement of the ones'-complement sum.
 */
export function checksum(buf: Uint8Array, at: number, len: number, initial: number): number {
  let sum = initial;
  const end = at + (len & ~1);
  for (let i = at; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if ((len & 1) !== 0) sum += buf[at + len - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/**
 * Overwrites the big-endian 32-bit word at `view[at]` with `value` and updates the 16-bit checksum
 * at `view[csumAt]` incrementally (RFC 1624: HC' = ~(~HC + ~m + m')), so the frame stays valid
 * without summing it again. `udp` keeps a result of 0 as 0xffff.
 */
export function patchWord32(view: DataView, at: number, value: number, csumAt: number, udp: boolean): void {
  const oldHi = view.getUint16(at);
  const oldLo = view.getUint16(at + 2);
  const newHi = value >>> 16;
  const newLo = value & 0xffff;
  view.setUint16(at, newHi);
  view.setUint16(at + 2, newLo);
  let sum = (~view.getUint16(csumAt) & 0xffff) + (~oldHi & 0xffff) + (~oldLo & 0xffff) + newHi + newLo;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  let hc = ~sum & 0xffff;
  if (hc === 0 && udp) hc = 0xffff;
  view.setUint16(csumAt, hc);
}
