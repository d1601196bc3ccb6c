/**
 * One pass over a batch of frames that fills struct-of-arrays header meta (L3/L4 offsets, protocol,
 * addresses, ports) in caller-owned typed arrays, and classifies malformed frames with a
 * {@link ParseStatus} code instead of throwing. Nothing is allocated per packet; a batch reuses the
 * same {@link PacketHeaders}.
 *
 * What is parsed: Ethernet II with at most one 802.1Q/802.1ad tag; IPv4 (options skipped); IPv6 with
 * hop-by-hop, routing, destination-options, fragment and AH extension headers skipped (up to
 * {@link IPV6_MAX_EXT_HEADERS}); ports of TCP, UDP and SCTP; minimal header length of ICMP/ICMPv6.
 * Other ethertypes and protocols are OK with the fields that apply left at their "absent" values.
 *
 * @module
 */

import { checksumAdd, checksumFold } from './checksum.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN, ETH_HEADER_LEN } from './ethernet.js';
import { IPPROTO_AH, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from './ipv4.js';
import { IPV6_EXT_DEST_OPTS, IPV6_EXT_FRAGMENT, IPV6_EXT_HOP_BY_HOP, IPV6_EXT_ROUTING, IPV6_HEADER_LEN } from './ipv6.js';

/** Why a frame was classified as malformed (`OK` when it was not). Stored per packet as a u8. */
export const ParseStatus = {
  /** Parsed; every field that applies is valid. */
  OK: 0,
  /** The frame's `[offset, offset + length)` lies outside the buffer (a bad offset or length). */
  OUT_OF_BOUNDS: 1,
  /** Shorter than the Ethernet header (and VLAN tag, when tagged). */
  TRUNCATED_L2: 2,
  /** Shorter than the IP header, its options, or its IPv6 extension headers. */
  TRUNCATED_L3: 3,
  /** The IP version nibble does not match the ethertype. */
  BAD_VERSION: 4,
  /** IPv4 IHL below 5. */
  BAD_IHL: 5,
  /** IPv4 total length smaller than the header it contains. */
  BAD_TOTAL_LENGTH: 6,
  /** IPv4 total length or IPv6 payload length runs past the end of the frame. */
  LENGTH_EXCEEDS_FRAME: 7,
  /** More IPv6 extension headers than {@link IPV6_MAX_EXT_HEADERS}. */
  BAD_EXT_HEADER: 8,
  /** The datagram ends inside the TCP/UDP/SCTP/ICMP header. */
  TRUNCATED_L4: 9,
  /** A TCP data offset below 5 or a UDP length below 8. */
  BAD_L4_HEADER: 10,
  /** IPv4 header checksum mismatch (checked only with {@link ParseOption}.VERIFY_IP4_CHECKSUM). */
  BAD_IP_CHECKSUM: 11,
} as const;

/** One of the {@link ParseStatus} codes. */
export type ParseStatusCode = (typeof ParseStatus)[keyof typeof ParseStatus];

/** Stable names of the {@link ParseStatus} codes, indexed by code, for counters and logs. */
export const PARSE_STATUS_NAMES: readonly string[] = Object.freeze([
  'ok',
  'out-of-bounds',
  'truncated-l2',
  'truncated-l3',
  'bad-version',
  'bad-ihl',
  'bad-total-length',
  'length-exceeds-frame',
  'bad-ext-header',
  'truncated-l4',
  'bad-l4-header',
  'bad-ip-checksum',
]);

/** The name of a status code (`unknown-<code>` for a code that does not exist). */
export function parseStatusName(code: number): string {
  return PARSE_STATUS_NAMES[code] ?? `unknown-${code}`;
}

/** Bits of {@link PacketHeaders.flags}. */
export const PacketFlag = {
  /** The frame carries a VLAN tag (its TCI is in `vlanTci`). */
  VLAN: 1,
  /** An IP fragment (IPv4 MF or offset, or an IPv6 fragment header); non-first ones have no L4. */
  FRAGMENT: 2,
  /** The IPv4 header has options. */
  IP_OPTIONS: 4,
  /** The IPv6 packet has extension headers before the upper-layer header. */
  IPV6_EXT_HEADERS: 8,
} as const;

/** Option bits for {@link parsePacket} and {@link parseBatch}. */
export const ParseOption = {
  /** Verify the IPv4 header checksum and classify mismatches as `BAD_IP_CHECKSUM`. */
  VERIFY_IP4_CHECKSUM: 1,
} as const;

/** How many IPv6 extension headers the parser walks before giving up with `BAD_EXT_HEADER`. */
export const IPV6_MAX_EXT_HEADERS = 8;

/**
 * Parsed header meta for a batch, one entry per packet index, in caller-owned typed arrays. Offsets
 * are absolute byte offsets into the buffer the packets live in, ready for the header helpers.
 * Fields are filled as far as parsing got; trust them only where `status` is `OK`.
 */
export interface PacketHeaders {
  /** How many packets the arrays hold. */
  readonly capacity: number;
  /** {@link ParseStatus} code. */
  readonly status: Uint8Array;
  /** {@link PacketFlag} bits. */
  readonly flags: Uint8Array;
  /** Ethertype after at most one VLAN tag (0 when the frame is too short to have one). */
  readonly ethType: Uint16Array;
  /** TCI of the VLAN tag when `flags` has VLAN, else 0. */
  readonly vlanTci: Uint16Array;
  /** Offset of the L3 header (the byte after the L2 header), -1 when the L2 header is truncated. */
  readonly l3Offset: Int32Array;
  /** Offset of the upper-layer (L4) header, -1 for non-IP frames and non-first fragments. */
  readonly l4Offset: Int32Array;
  /** Bytes from `l4Offset` to the end of the IP datagram (Ethernet padding excluded). */
  readonly l4Length: Uint16Array;
  /** IP protocol / IPv6 upper-layer next header, 0 for non-IP frames. */
  readonly proto: Uint8Array;
  /** IPv4 source address (unsigned), 0 for other frames. */
  readonly src: Uint32Array;
  /** IPv4 destination address (unsigned), 0 for other frames. */
  readonly dst: Uint32Array;
  /** IPv6 source address as 4 big-endian words at `[4i, 4i + 4)`; written only for IPv6 packets. */
  readonly src6: Uint32Array;
  /** IPv6 destination address as 4 big-endian words at `[4i, 4i + 4)`; written only for IPv6 packets. */
  readonly dst6: Uint32Array;
  /** TCP/UDP/SCTP source port, 0 for other protocols. */
  readonly sport: Uint16Array;
  /** TCP/UDP/SCTP destination port, 0 for other protocols. */
  readonly dport: Uint16Array;
}

/** Allocates {@link PacketHeaders} for up to `capacity` packets (once, outside the data path). */
export function createPacketHeaders(capacity: number): PacketHeaders {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`PacketHeaders capacity must be a positive integer, got ${capacity}`);
  }
  return {
    capacity,
    status: new Uint8Array(capacity),
    flags: new Uint8Array(capacity),
    ethType: new Uint16Array(capacity),
    vlanTci: new Uint16Array(capacity),
    l3Offset: new Int32Array(capacity),
    l4Offset: new Int32Array(capacity),
    l4Length: new Uint16Array(capacity),
    proto: new Uint8Array(capacity),
    src: new Uint32Array(capacity),
    dst: new Uint32Array(capacity),
    src6: new Uint32Array(capacity * 4),
    dst6: new Uint32Array(capacity * 4),
    sport: new Uint16Array(capacity),
    dport: new Uint16Array(capacity),
  };
}

/**
 * Parses the frame at `[off, off + len)` of `view` into entry `i` of `out` and returns its
 * {@link ParseStatus} code (also stored in `out.status[i]`). Never throws on frame contents.
 */
export function parsePacket(view: DataView, off: number, len: number, out: PacketHeaders, i: number, options = 0): number {
  return parseEntry(view, view.byteLength, off, len, out, i, options);
}

/** {@link parsePacket} with the view's length read once per batch (a getter that costs per call). */
function parseEntry(view: DataView, limit: number, off: number, len: number, out: PacketHeaders, i: number, options: number): number {
  out.flags[i] = 0;
  out.ethType[i] = 0;
  out.vlanTci[i] = 0;
  out.l3Offset[i] = -1;
  out.l4Offset[i] = -1;
  out.l4Length[i] = 0;
  out.proto[i] = 0;
  out.src[i] = 0;
  out.dst[i] = 0;
  out.sport[i] = 0;
  out.dport[i] = 0;
  const status = off >= 0 && len >= 0 && off + len <= limit ? parseFrame(view, off, len, out, i, options) : ParseStatus.OUT_OF_BOUNDS;
  out.status[i] = status;
  return status;
}

/**
 * Parses `count` frames, frame `i` being `[offsets[i], offsets[i] + lengths[i])` of `view`, into
 * entries `0..count-1` of `out`. Returns how many parsed `OK`. Throws a `RangeError` only when `count`
 * exceeds `out.capacity` or the offset/length arrays (a programming error, not bad traffic).
 */
export function parseBatch(
  view: DataView,
  offsets: ArrayLike<number>,
  lengths: ArrayLike<number>,
  count: number,
  out: PacketHeaders,
  options = 0,
): number {
  if (count > out.capacity || count > offsets.length || count > lengths.length) {
    throw new RangeError(
      `parseBatch: count ${count} exceeds capacity ${out.capacity} or offsets/lengths (${offsets.length}/${lengths.length})`,
    );
  }
  const limit = view.byteLength;
  let ok = 0;
  for (let i = 0; i < count; i++) {
    if (parseEntry(view, limit, offsets[i], lengths[i], out, i, options) === ParseStatus.OK) ok++;
  }
  return ok;
}

/** L2, then dispatch on the ethertype; `[off, off + len)` is inside the view. */
function parseFrame(view: DataView, off: number, len: number, out: PacketHeaders, i: number, options: number): number {
  if (len < ETH_HEADER_LEN) return ParseStatus.TRUNCATED_L2;
  let type = view.getUint16(off + 12);
  let l3 = off + ETH_HEADER_LEN;
  if (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) {
    if (len < ETH_HEADER_LEN + 4) return ParseStatus.TRUNCATED_L2;
    out.flags[i] = PacketFlag.VLAN;
    out.vlanTci[i] = view.getUint16(l3);
    type = view.getUint16(l3 + 2);
    l3 += 4;
  }
  out.ethType[i] = type;
  out.l3Offset[i] = l3;
  if (type === ETHERTYPE_IPV4) return parseIp4(view, l3, off + len, out, i, options);
  if (type === ETHERTYPE_IPV6) return parseIp6(view, l3, off + len, out, i);
  return ParseStatus.OK;
}

/** IPv4 header at `l3`, frame ending at `end`. */
function parseIp4(view: DataView, l3: number, end: number, out: PacketHeaders, i: number, options: number): number {
  const room = end - l3;
  if (room < 20) return ParseStatus.TRUNCATED_L3;
  const b0 = view.getUint8(l3);
  if (b0 >>> 4 !== 4) return ParseStatus.BAD_VERSION;
  const hl = (b0 & 0x0f) << 2;
  if (hl < 20) return ParseStatus.BAD_IHL;
  if (hl > room) return ParseStatus.TRUNCATED_L3;
  const proto = view.getUint8(l3 + 9);
  out.proto[i] = proto;
  out.src[i] = view.getUint32(l3 + 12);
  out.dst[i] = view.getUint32(l3 + 16);
  if (hl > 20) out.flags[i] |= PacketFlag.IP_OPTIONS;
  const total = view.getUint16(l3 + 2);
  if (total < hl) return ParseStatus.BAD_TOTAL_LENGTH;
  if (total > room) return ParseStatus.LENGTH_EXCEEDS_FRAME;
  if ((options & ParseOption.VERIFY_IP4_CHECKSUM) !== 0 && checksumFold(checksumAdd(view, l3, hl, 0)) !== 0xffff) {
    return ParseStatus.BAD_IP_CHECKSUM;
  }
  const frag = view.getUint16(l3 + 6);
  if ((frag & 0x3fff) !== 0) {
    out.flags[i] |= PacketFlag.FRAGMENT;
    // Only the first fragment carries the L4 header.
    if ((frag & 0x1fff) !== 0) return ParseStatus.OK;
  }
  return parseL4(view, proto, l3 + hl, l3 + total, out, i);
}

/** IPv6 header at `l3`, frame ending at `end`; walks the extension headers to the upper layer. */
function parseIp6(view: DataView, l3: number, end: number, out: PacketHeaders, i: number): number {
  if (end - l3 < IPV6_HEADER_LEN) return ParseStatus.TRUNCATED_L3;
  if (view.getUint8(l3) >>> 4 !== 6) return ParseStatus.BAD_VERSION;
  const w = i << 2;
  out.src6[w] = view.getUint32(l3 + 8);
  out.src6[w + 1] = view.getUint32(l3 + 12);
  out.src6[w + 2] = view.getUint32(l3 + 16);
  out.src6[w + 3] = view.getUint32(l3 + 20);
  out.dst6[w] = view.getUint32(l3 + 24);
  out.dst6[w + 1] = view.getUint32(l3 + 28);
  out.dst6[w + 2] = view.getUint32(l3 + 32);
  out.dst6[w + 3] = view.getUint32(l3 + 36);
  let nh = view.getUint8(l3 + 6);
  out.proto[i] = nh;
  const dgEnd = l3 + IPV6_HEADER_LEN + view.getUint16(l3 + 4);
  if (dgEnd > end) return ParseStatus.LENGTH_EXCEEDS_FRAME;
  let p = l3 + IPV6_HEADER_LEN;
  for (let k = 0; ; k++) {
    const generic = nh === IPV6_EXT_HOP_BY_HOP || nh === IPV6_EXT_ROUTING || nh === IPV6_EXT_DEST_OPTS;
    if (!generic && nh !== IPV6_EXT_FRAGMENT && nh !== IPPROTO_AH) break;
    if (k === IPV6_MAX_EXT_HEADERS) return ParseStatus.BAD_EXT_HEADER;
    if (p + 8 > dgEnd) return ParseStatus.TRUNCATED_L3;
    out.flags[i] |= PacketFlag.IPV6_EXT_HEADERS;
    const next = view.getUint8(p);
    if (nh === IPV6_EXT_FRAGMENT) {
      out.flags[i] |= PacketFlag.FRAGMENT;
      out.proto[i] = next;
      if ((view.getUint16(p + 2) & 0xfff8) !== 0) return ParseStatus.OK;
      p += 8;
    } else {
      // AH counts its length in 4-byte units minus 2; the others in 8-byte units minus 1.
      const hl = nh === IPPROTO_AH ? (view.getUint8(p + 1) + 2) << 2 : (view.getUint8(p + 1) + 1) << 3;
      if (p + hl > dgEnd) return ParseStatus.TRUNCATED_L3;
      p += hl;
    }
    nh = next;
    out.proto[i] = nh;
  }
  return parseL4(view, nh, p, dgEnd, out, i);
}

/** Upper-layer header of protocol `proto` at `l4`, datagram ending at `dgEnd`. */
function parseL4(view: DataView, proto: number, l4: number, dgEnd: number, out: PacketHeaders, i: number): number {
  const room = dgEnd - l4;
  out.l4Offset[i] = l4;
  out.l4Length[i] = room;
  switch (proto) {
    case IPPROTO_TCP: {
      if (room < 20) return ParseStatus.TRUNCATED_L4;
      out.sport[i] = view.getUint16(l4);
      out.dport[i] = view.getUint16(l4 + 2);
      const hl = (view.getUint8(l4 + 12) >>> 4) << 2;
      if (hl < 20) return ParseStatus.BAD_L4_HEADER;
      return hl > room ? ParseStatus.TRUNCATED_L4 : ParseStatus.OK;
    }
    case IPPROTO_UDP: {
      if (room < 8) return ParseStatus.TRUNCATED_L4;
      out.sport[i] = view.getUint16(l4);
      out.dport[i] = view.getUint16(l4 + 2);
      const ulen = view.getUint16(l4 + 4);
      if (ulen < 8) return ParseStatus.BAD_L4_HEADER;
      // A first fragment's UDP length covers the whole reassembled datagram.
      if ((out.flags[i] & PacketFlag.FRAGMENT) !== 0) return ParseStatus.OK;
      return ulen > room ? ParseStatus.TRUNCATED_L4 : ParseStatus.OK;
    }
    case IPPROTO_SCTP:
      if (room < 12) return ParseStatus.TRUNCATED_L4;
      out.sport[i] = view.getUint16(l4);
      out.dport[i] = view.getUint16(l4 + 2);
      return ParseStatus.OK;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return room < 8 ? ParseStatus.TRUNCATED_L4 : ParseStatus.OK;
    default:
      return ParseStatus.OK;
  }
}
